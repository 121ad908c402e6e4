//! The one Python scanner of the checker, for the text passes beside ruff's parser: where the comments are
//! (suppressions, `# noqa`) and how deep the tree can get (the guard before parsing, [`nesting`], which runs only
//! when the quicker [`surely_within`] cannot vouch for the text: it reads strings the same way, [`skip_string`]).
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
    #[inline]
    fn string(&mut self, q_at: usize) -> bool {
        match skip_string(self.b, q_at) {
            Ok(end) => {
                self.i = end;
                true
            }
            Err(end) => {
                self.i = end;
                false
            }
        }
    }
}

/// Where the string whose opening quote is at `q_at` ends: `Ok(end)` past its closing quote, or at the line
/// break that ends a single-quoted one (the break is not consumed), or at the end of the text; `Err(len)` for
/// an unterminated triple-quoted one.
fn skip_string(b: &[u8], q_at: usize) -> Result<usize, usize> {
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let q = b[q_at];
    let triple = at(q_at + 1) == q && at(q_at + 2) == q;
    let mut k = q_at + if triple { 3 } else { 1 };
    loop {
        let Some(off) = b.get(k..).and_then(|r| memchr::memchr3(q, b'\\', b'\n', r)) else {
            return if triple { Err(b.len()) } else { Ok(b.len()) };
        };
        k += off;
        match b[k] {
            b'\\' => k += 2,
            b'\n' if !triple => return Ok(k),
            b'\n' => k += 1,
            _ if !triple => return Ok(k + 1),
            _ if at(k + 1) == q && at(k + 2) == q => return Ok(k + 3),
            _ => k += 1,
        }
    }
}

#[inline]
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Whether `word` is a string prefix (`r`, `b`, `u`, `f`, `t`, and `rb`, `br`, `fr`, `rf`, `tr`, `rt`, any case).
fn is_prefix(word: &[u8]) -> bool {
    match *word {
        [a] => matches!(a.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't'),
        [a, b] => matches!(
            [a.to_ascii_lowercase(), b.to_ascii_lowercase()],
            [b'r', b'b'] | [b'b', b'r'] | [b'f', b'r'] | [b'r', b'f'] | [b't', b'r'] | [b'r', b't']
        ),
        _ => false,
    }
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
                self.i = memchr::memchr(b'\n', &self.b[start..]).map_or(self.b.len(), |n| start + n);
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

/// Whether [`nesting`] of `text` is surely within `max_brackets` (bracket nesting) and `max_chain` (chain of
/// operators): a quick test, false when it cannot tell (then [`nesting`] measures). It tracks strings,
/// comments, brackets, `,`, `;` and line breaks as [`nesting`] does, so the bracket depth is the same, and counts
/// every other byte between them as a link of the chain (an operator or an operator keyword is at least one
/// byte; an opening bracket counts too): at least the chain [`nesting`] counts. Most files have neither
/// limit within reach, and the bytes between those tokens are found 32 at a time ([`Structural`]).
pub(crate) fn surely_within(text: &[u8], max_brackets: usize, max_chain: usize) -> bool {
    let b = text;
    let mut blocks = Structural::new(b);
    let (mut depth, mut run) = (0usize, 0usize);
    let mut i = 0;
    loop {
        let at = blocks.next_from(i);
        run += at - i;
        if run > max_chain {
            return false;
        }
        let Some(&c) = b.get(at) else { return true };
        i = at + 1;
        match c {
            b'"' | b'\'' => match skip_string(b, at) {
                Ok(end) => i = end,
                // An unterminated triple-quoted string ends the scan of [`nesting`] too.
                Err(_) => return true,
            },
            b'#' => i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k),
            b'\n' => {
                if depth == 0 {
                    run = 0;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                run += 1;
                if depth > max_brackets || run > max_chain {
                    return false;
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            // `,` and `;`
            _ => run = 0,
        }
    }
}

/// Finds the bytes [`surely_within`] stops at (quotes, `#`, line breaks, brackets, `,` and `;`) through a
/// mask of each block of 32 bytes, made once per block (its comparisons compile to vector instructions).
struct Structural<'a> {
    b: &'a [u8],
    /// Where the current block starts (`usize::MAX` before the first).
    base: usize,
    /// Bit `j`: byte `base + j` is one of them.
    mask: u32,
}

impl<'a> Structural<'a> {
    fn new(b: &'a [u8]) -> Self {
        Structural { b, base: usize::MAX, mask: 0 }
    }

    fn block_mask(chunk: &[u8; 32]) -> u32 {
        // One byte per byte (0 or 1) first: these comparisons compile to vector instructions.
        let mut hits = [0u8; 32];
        for (h, &c) in hits.iter_mut().zip(chunk) {
            // `(` `)` and `"` `#` differ in the lowest bit; `[` `{` and `]` `}` in the 0x20 bit.
            *h = u8::from(
                (c & 0xFE == b'(')
                    | (c & 0xFE == b'"')
                    | (c | 0x20 == b'{')
                    | (c | 0x20 == b'}')
                    | (c == b'\'')
                    | (c == b',')
                    | (c == b';')
                    | (c == b'\n'),
            );
        }
        // Then eight of them into eight bits: the multiplication moves byte `k`'s bit to bit `56 + k`.
        let mut mask = 0u32;
        for (k, eight) in hits.chunks_exact(8).enumerate() {
            let w = u64::from_le_bytes(eight.try_into().unwrap_or_default());
            mask |= ((w.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32) << (8 * k);
        }
        mask
    }

    /// The offset of the first such byte at or after `i`, or the length of the text.
    fn next_from(&mut self, mut i: usize) -> usize {
        loop {
            if let Some(off) = i.checked_sub(self.base).filter(|&off| off < 32) {
                let m = self.mask >> off;
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i = self.base + 32;
            }
            if i >= self.b.len() {
                return self.b.len();
            }
            let mut chunk = [0u8; 32];
            match self.b.get(i..i + 32) {
                Some(c) => chunk.copy_from_slice(c),
                None => chunk[..self.b.len() - i].copy_from_slice(&self.b[i..]),
            }
            self.base = i;
            self.mask = Self::block_mask(&chunk);
        }
    }
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

    /// The quick test never says "within" when [`nesting`] is not: over every Python fixture, the odd inputs
    /// below and their prefixes cut at line breaks (unterminated strings, open brackets), for limits from zero
    /// up. (Python `check` no slower than ruff: the quick test runs before every parse instead of the scan.)
    #[test]
    fn surely_within_is_never_wrong() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut texts: Vec<Vec<u8>> =
            crate::test_support::files_under(root, "py").iter().map(|p| std::fs::read(p).expect("readable")).collect();
        assert!(texts.len() > 50, "only {} fixtures", texts.len());
        for odd in [
            "x = a.b.c.d(e)(f)[g][h] + - ~ not y and z or w if v else u\n",
            "s = '((((' # ((((\nt = \"\"\"\n)))\n\"\"\" + rb'\\'(' + f\"{x}(\"\n",
            "f(\n  a +\n  b;c,d\n)) ))\n((\n",
            "s = '''open ( ( (\n",
            "x = ((((((((((((((((((((((((((((((((((((((((1))))))))))))))))))))))))))))))))))))))))\r\ny = 2\r",
            "print('unterminated\n(((\n",
            // Chains that go on over line breaks inside brackets, and after closing brackets.
            "x = (\n-\n-\n-\n-\n-\n)\n",
            "a(\n)(\n)(\n)(\n)[\n][\n]\n",
            "y = [\n# ]]]\n'])',\n\"\"\"\n]\n\"\"\" - - - -\n]\n",
            "\u{feff}é = [ü, {'k': (1, 2)}]  # ((\n",
        ] {
            texts.push(odd.as_bytes().to_vec());
        }
        let mut said_within = 0;
        for text in &texts {
            let breaks = text.iter().enumerate().filter(|(_, c)| **c == b'\n').map(|(i, _)| i);
            for cut in std::iter::once(text.len()).chain(breaks.take(40)) {
                let t = &text[..cut];
                let n = nesting(t);
                for max_brackets in [0, 1, 2, 3, 5, 8, 40] {
                    for max_chain in [0, 1, 2, 4, 8, 16, 64, 256, 1000] {
                        if surely_within(t, max_brackets, max_chain) {
                            said_within += 1;
                            assert!(
                                n.brackets.count <= max_brackets && n.chain.count <= max_chain,
                                "{n:?} past ({max_brackets}, {max_chain}) in {:?}",
                                String::from_utf8_lossy(t)
                            );
                        }
                    }
                }
            }
        }
        // And it does say so often enough to be worth running.
        assert!(said_within > 1000, "{said_within}");
        assert!(surely_within(b"x = f(a, b)\n", 1, 8));
        assert!(!surely_within(b"x = ((1))\n", 1, 1000));
        assert!(!surely_within(format!("x = {}1\n", "- ".repeat(600)).as_bytes(), 200, 1000));
    }

    #[test]
    fn blocks_find_every_structural_byte() {
        // Offsets around the 32-byte blocks, and the padded last block.
        let marks = b"(,;\n\"#'[]{})";
        let text: Vec<u8> =
            (0..100usize).map(|i| if i % 7 == 3 || i % 32 == 31 { marks[i % marks.len()] } else { b'a' }).collect();
        let want: Vec<usize> = text.iter().enumerate().filter(|(_, c)| marks.contains(c)).map(|(i, _)| i).collect();
        let found = |text: &[u8]| {
            let mut s = Structural::new(text);
            let (mut at_all, mut i) = (Vec::new(), 0);
            while i < text.len() {
                let at = s.next_from(i);
                if at < text.len() {
                    at_all.push(at);
                }
                i = at + 1;
            }
            at_all
        };
        assert_eq!(found(&text), want);
        // Of every byte value, only the twelve are found.
        let all: Vec<u8> = (0..=255u8).collect();
        let bytes: Vec<u8> = found(&all).into_iter().map(|i| all[i]).collect();
        assert_eq!(bytes, b"\n\"#'(),;[]{}");
    }
}
