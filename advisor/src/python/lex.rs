//! The one Python scanner of the checker, for the text passes beside ruff's parser: where the comments are
//! (suppressions, `# noqa`) and how deep the tree can get (the guard before parsing, [`nesting`]).
//!
//! It knows comments and string literals: single, double and triple quoted, with any prefix (`r`, `b`, `u`,
//! `f`, `t` and their pairs: `rb"…"`, `Rb'…'`, `f"""…"""`); a backslash escapes the next character in every
//! kind (in a raw string too, as far as the closing quote is concerned). It does not parse f-string
//! replacement fields. A single-quoted string ends at the end of its line at the latest, as CPython reports it.

use std::ops::Range;

/// What a token is, as far as the scanner cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#` to the end of the line.
    Comment,
    /// A string or bytes literal, prefix included.
    Str,
    /// An identifier, keyword or number.
    Word,
    /// `(`, `[` or `{`.
    Open,
    /// `)`, `]` or `}`.
    Close,
    /// A line break.
    Newline,
    /// Any other single byte that is not whitespace.
    Punct(u8),
}

/// The tokens of a Python text with their byte ranges (whitespace other than newlines is skipped). An
/// unterminated triple-quoted string ends the scan (`broken` then holds where it started).
pub(crate) struct Tokens<'a> {
    b: &'a [u8],
    i: usize,
    broken: Option<usize>,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Tokens { b: text, i: 0, broken: None }
    }

    /// Whether the scan read the whole text (no unterminated triple-quoted string stopped it).
    pub(crate) fn complete(&self) -> bool {
        self.broken.is_none()
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// Skips a string whose opening quote is at `q_at`; returns false at an unterminated triple-quoted one.
    fn string(&mut self, q_at: usize) -> bool {
        let q = self.b[q_at];
        let triple = self.at(q_at + 1) == q && self.at(q_at + 2) == q;
        let mut k = q_at + if triple { 3 } else { 1 };
        loop {
            let Some(off) = self.b.get(k..).and_then(|r| r.iter().position(|&c| c == q || c == b'\\' || c == b'\n'))
            else {
                self.i = self.b.len();
                return !triple;
            };
            k += off;
            match self.b[k] {
                b'\\' => k += 2,
                b'\n' if !triple => {
                    self.i = k;
                    return true;
                }
                b'\n' => k += 1,
                _ if !triple => {
                    self.i = k + 1;
                    return true;
                }
                _ if self.at(k + 1) == q && self.at(k + 2) == q => {
                    self.i = k + 3;
                    return true;
                }
                _ => k += 1,
            }
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Whether `word` is a string prefix (`r`, `b`, `u`, `f`, `t`, and `rb`, `br`, `fr`, `rf`, `tr`, `rt`, any case).
fn is_prefix(word: &[u8]) -> bool {
    let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
    matches!(&lower[..], b"r" | b"b" | b"u" | b"f" | b"t" | b"rb" | b"br" | b"fr" | b"rf" | b"tr" | b"rt")
}

impl Iterator for Tokens<'_> {
    type Item = (Kind, Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\r' | b'\x0c') {
            self.i += 1;
        }
        let start = self.i;
        let c = *self.b.get(start)?;
        let kind = match c {
            b'#' => {
                self.i = self.b[start..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |n| start + n);
                Kind::Comment
            }
            b'"' | b'\'' => {
                if !self.string(start) {
                    self.broken = Some(start);
                    return None;
                }
                Kind::Str
            }
            b'\n' => {
                self.i += 1;
                Kind::Newline
            }
            b'(' | b'[' | b'{' => {
                self.i += 1;
                Kind::Open
            }
            b')' | b']' | b'}' => {
                self.i += 1;
                Kind::Close
            }
            c if is_word_byte(c) => {
                let mut end = start;
                while end < self.b.len() && is_word_byte(self.b[end]) {
                    end += 1;
                }
                if matches!(self.at(end), b'"' | b'\'') && is_prefix(&self.b[start..end]) {
                    if !self.string(end) {
                        self.broken = Some(start);
                        return None;
                    }
                    Kind::Str
                } else {
                    self.i = end;
                    Kind::Word
                }
            }
            _ => {
                self.i += 1;
                Kind::Punct(c)
            }
        };
        Some((kind, start..self.i))
    }
}

/// The comments (`#` to the end of the line) of a text, as byte ranges.
pub(crate) fn comments(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    Tokens::new(text.as_bytes()).filter(|(k, _)| *k == Kind::Comment).map(|(_, r)| r)
}

/// One measure of [`Nesting`]: the largest count met and the byte offset where it was reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Deepest {
    pub(crate) count: usize,
    pub(crate) at: usize,
}

impl Deepest {
    fn see(&mut self, count: usize, at: usize) {
        if count > self.count {
            *self = Deepest { count, at };
        }
    }
}

/// How deep the tree of a Python text can get: ruff's parser recurses once per bracket and once per link of a
/// chain of operators (`- - - 1`, `a.b.b.b…`, `not not x`, `a + a + …`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Nesting {
    /// Bracket nesting.
    pub(crate) brackets: Deepest,
    /// The longest chain of operators and operator keywords in one logical line, between `,` and `;`.
    pub(crate) chain: Deepest,
}

/// Measures [`Nesting`] (brackets and operators inside comments and strings do not count).
pub(crate) fn nesting(text: &[u8]) -> Nesting {
    let mut n = Nesting::default();
    let (mut depth, mut run) = (0usize, 0usize);
    let mut after_close = false;
    for (kind, range) in Tokens::new(text) {
        // `a()()…` and `a[0][0]…` nest one call or subscript per link, as `a.b.b…` does.
        if std::mem::replace(&mut after_close, kind == Kind::Close) && kind == Kind::Open {
            run += 1;
            n.chain.see(run, range.start);
        }
        match kind {
            Kind::Open => {
                depth += 1;
                n.brackets.see(depth, range.start);
            }
            Kind::Close => depth = depth.saturating_sub(1),
            Kind::Newline if depth == 0 => run = 0,
            Kind::Punct(b',' | b';') => run = 0,
            Kind::Punct(
                b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'~' | b'<' | b'>' | b'=' | b'!' | b'@' | b'.',
            ) => {
                run += 1;
                n.chain.see(run, range.start);
            }
            Kind::Word
                if matches!(
                    &text[range.clone()],
                    b"not" | b"and" | b"or" | b"await" | b"lambda" | b"if" | b"else" | b"in" | b"is"
                ) =>
            {
                run += 1;
                n.chain.see(run, range.start);
            }
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comments_of(text: &str) -> Vec<&str> {
        comments(text).map(|r| &text[r]).collect()
    }

    #[test]
    fn comments_are_found_outside_strings() {
        let text =
            "a = '#x' # one\nb = \"\"\"\n# not\n\"\"\" # two\nc = rb'\\'#' # three\nd = f\"{x}#\"\ne = 'open # four\n";
        assert_eq!(comments_of(text), ["# one", "# two", "# three"]);
        // A single-quoted string ends at its line: the next line is code again.
        assert_eq!(comments_of("s = 'open\n# real\n"), ["# real"]);
        assert_eq!(comments_of("x = 1 # a # b\n"), ["# a # b"]);
    }

    #[test]
    fn an_unterminated_triple_quoted_string_stops_the_scan() {
        let mut t = Tokens::new(b"x = 1\ns = '''open\n# not a comment\n");
        assert_eq!(t.by_ref().filter(|(k, _)| *k == Kind::Comment).count(), 0);
        assert_eq!(t.broken, Some(10));
    }

    #[test]
    fn nesting_counts_brackets_and_chains_of_code() {
        let n = nesting(b"x = ((1))\ny = - - - 1\n");
        assert_eq!((n.brackets.count, n.chain.count), (2, 4));
        let n = nesting(b"s = '((((' # ((((\nz = a.b.b.b\n");
        assert_eq!((n.brackets.count, n.chain.count), (0, 4));
        let n = nesting(b"x = not not not y, 1\n");
        assert_eq!(n.chain.count, 4);
    }
}
