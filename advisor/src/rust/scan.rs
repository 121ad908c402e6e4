//! The one Rust lexer of the checker (comments, literals, identifiers, delimiters), for every text pass that
//! runs besides the parser: whether a crate holds code the call graph starts from
//! ([`has_graph_roots`](super::has_graph_roots)), which function bodies no rule looks at ([`blank_bodies`]),
//! how deep the syntax tree can get ([`nesting`]: the guard before parsing) and where the line comments are
//! (suppressions, [`line_comments`]).
//!
//! It knows nested block comments, strings (raw `r#"…"#`, byte `b"…"`, C `c"…"`, raw byte and raw C strings),
//! character and byte literals and tells them from lifetimes and labels. It is not a full lexer: it only has to
//! tell code from comments and literals, and find identifiers and delimiters. Where it could be wrong
//! (unbalanced delimiters, unterminated literals) it says so ([`Tokens::broken`]), and the callers then fall
//! back to what they would do without it.

use std::ops::Range;

/// What a token is, as far as the scan cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An identifier or keyword (raw identifiers with their `r#`).
    Ident,
    /// A string, character or number literal.
    Literal,
    /// `(`, `[` or `{`.
    Open(u8),
    /// `)`, `]` or `}`.
    Close(u8),
    /// Any other single punctuation byte (`'` of a lifetime included).
    Punct(u8),
    /// A line or block comment (doc comments included); only from [`Tokens::with_comments`].
    Comment,
}

/// Where and why a scan stopped before the end of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Broken {
    /// Byte offset of the start of the unterminated comment or literal.
    pub(crate) at: usize,
    /// `"block comment"`, `"string"`, `"raw string"`.
    pub(crate) what: &'static str,
}

/// The tokens of a text, with their byte ranges; comments and whitespace are skipped. Ends at the end of the
/// text, or early at an unterminated block comment or literal ([`Tokens::complete`] then says so).
pub(crate) struct Tokens<'a> {
    b: &'a [u8],
    i: usize,
    broken: Option<Broken>,
    comments: bool,
}

impl<'a> Tokens<'a> {
    /// The tokens of `text`; a leading byte order mark is skipped (it is not part of an identifier).
    pub(crate) fn new(text: &'a [u8]) -> Self {
        Tokens { b: text, i: bom_len(text), broken: None, comments: false }
    }

    /// Like [`Tokens::new`], and comments are tokens too ([`Kind::Comment`]).
    pub(crate) fn with_comments(text: &'a [u8]) -> Self {
        Tokens { b: text, i: bom_len(text), broken: None, comments: true }
    }

    /// Whether the scan reached the end of the text without meeting an unterminated comment or literal.
    pub(crate) fn complete(&self) -> bool {
        self.broken.is_none()
    }

    /// The unterminated comment or literal the scan stopped at, if any.
    pub(crate) fn broken(&self) -> Option<Broken> {
        self.broken
    }

    fn stop(&mut self, at: usize, what: &'static str) -> Option<(Kind, Range<usize>)> {
        self.broken = Some(Broken { at, what });
        self.i = self.b.len();
        None
    }

    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    /// Skips a quoted literal whose opening `"` is at `self.i`; `escapes`: whether `\` escapes (not in raw
    /// strings), `hashes`: the `#`s that must follow the closing quote.
    fn string(&mut self, escapes: bool, hashes: usize) -> bool {
        let mut i = self.i + 1;
        loop {
            let rest = self.b.get(i..).unwrap_or_default();
            let Some(off) = (if escapes { memchr::memchr2(b'"', b'\\', rest) } else { memchr::memchr(b'"', rest) })
            else {
                return false;
            };
            i += off;
            if self.b[i] == b'\\' {
                i += 2;
                continue;
            }
            let end = i + 1 + hashes;
            if self.b.get(i + 1..end).is_some_and(|h| h.iter().all(|&c| c == b'#')) {
                self.i = end;
                return true;
            }
            i += 1;
        }
    }

    /// Skips a character literal at `self.i` (`'x'`, `'\n'`, `'\u{1F600}'`, `'é'`); false for a lifetime or label.
    fn char_literal(&mut self) -> bool {
        let i = self.i + 1;
        if self.at(i) == b'\\' {
            let Some(off) = self.b.get(i + 2..).and_then(|rest| rest.iter().position(|&c| c == b'\'' || c == b'\n'))
            else {
                return false;
            };
            self.i = i + 2 + off + 1;
            return true;
        }
        let len = match self.at(i) {
            0..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            _ => 4,
        };
        if self.at(i + len) == b'\'' && self.at(i) != b'\'' {
            self.i = i + len + 1;
            return true;
        }
        false
    }

    fn ident_end(&self, mut i: usize) -> usize {
        while i < self.b.len() && is_ident_byte(self.b[i]) {
            i += 1;
        }
        i
    }
}

/// 3 when `text` starts with a UTF-8 byte order mark, else 0.
fn bom_len(text: &[u8]) -> usize {
    if text.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

impl Iterator for Tokens<'_> {
    type Item = (Kind, Range<usize>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            let start = self.i;
            let c = *self.b.get(start)?;
            match c {
                b'/' if self.at(start + 1) == b'/' => {
                    self.i = memchr::memchr(b'\n', &self.b[start..]).map_or(self.b.len(), |n| start + n);
                    if self.comments {
                        return Some((Kind::Comment, start..self.i));
                    }
                }
                b'/' if self.at(start + 1) == b'*' => {
                    let (mut i, mut depth) = (start + 2, 1usize);
                    while depth > 0 {
                        // Only `/` and `*` matter inside a block comment.
                        let Some(off) = memchr::memchr2(b'/', b'*', self.b.get(i..).unwrap_or_default()) else {
                            return self.stop(start, "block comment");
                        };
                        i += off;
                        match (self.b[i], self.at(i + 1)) {
                            (b'/', b'*') => (depth, i) = (depth + 1, i + 2),
                            (b'*', b'/') => (depth, i) = (depth - 1, i + 2),
                            _ => i += 1,
                        }
                    }
                    self.i = i;
                    if self.comments {
                        return Some((Kind::Comment, start..i));
                    }
                }
                b'"' => {
                    if !self.string(true, 0) {
                        return self.stop(start, "string");
                    }
                    return Some((Kind::Literal, start..self.i));
                }
                b'\'' => {
                    if self.char_literal() {
                        return Some((Kind::Literal, start..self.i));
                    }
                    self.i += 1;
                    return Some((Kind::Punct(c), start..self.i));
                }
                b'0'..=b'9' => {
                    let mut i = start + 1;
                    while i < self.b.len()
                        && (is_ident_byte(self.b[i]) || self.b[i] == b'.' && self.at(i + 1).is_ascii_digit())
                    {
                        i += 1;
                    }
                    self.i = i;
                    return Some((Kind::Literal, start..i));
                }
                b'(' | b'[' | b'{' => {
                    self.i += 1;
                    return Some((Kind::Open(c), start..self.i));
                }
                b')' | b']' | b'}' => {
                    self.i += 1;
                    return Some((Kind::Close(c), start..self.i));
                }
                c if is_ident_byte(c) => {
                    let end = self.ident_end(start);
                    let word = &self.b[start..end];
                    let raw = matches!(word, b"r" | b"br" | b"cr");
                    match self.at(end) {
                        b'"' if raw || matches!(word, b"b" | b"c") => {
                            self.i = end;
                            if !self.string(!raw, 0) {
                                return self.stop(start, if raw { "raw string" } else { "string" });
                            }
                            return Some((Kind::Literal, start..self.i));
                        }
                        b'#' if raw => {
                            let hashes = self.b[end..].iter().take_while(|&&c| c == b'#').count();
                            if self.at(end + hashes) == b'"' {
                                self.i = end + hashes;
                                if !self.string(false, hashes) {
                                    return self.stop(start, "raw string");
                                }
                                return Some((Kind::Literal, start..self.i));
                            }
                            if word == b"r" && hashes == 1 && is_ident_byte(self.at(end + 1)) {
                                // A raw identifier `r#name` (its text keeps the `r#`: `r#fn` is not `fn`).
                                self.i = self.ident_end(end + 1);
                                return Some((Kind::Ident, start..self.i));
                            }
                        }
                        b'\'' if word == b"b" => {
                            self.i = end;
                            if self.char_literal() {
                                return Some((Kind::Literal, start..self.i));
                            }
                        }
                        _ => {}
                    }
                    self.i = end;
                    return Some((Kind::Ident, start..end));
                }
                _ => {
                    self.i += 1;
                    return Some((Kind::Punct(c), start..self.i));
                }
            }
        }
    }
}

/// The line comments (`//` to the end of the line, doc comments included) of a text, as byte ranges; comments
/// after an unterminated literal or block comment are not found.
pub(crate) fn line_comments(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let b = text.as_bytes();
    Tokens::with_comments(b).filter(move |(k, r)| *k == Kind::Comment && b[r.start + 1] == b'/').map(|(_, r)| r)
}

/// One measure of [`Nesting`]: the largest count met, and the byte offset where it was reached.
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

/// How deep the syntax tree of a text can get, as the lexer sees it: each of these makes syn's parser, its
/// `Drop` and the visitor recurse once per level.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Nesting {
    /// Bracket nesting (`(`, `[`, `{`).
    pub(crate) brackets: Deepest,
    /// The longest chain of operators and prefix keywords in one expression, between `,`, `;`, `{` and `}`:
    /// `a + a + …`, `- - - x`, `x.m().m()…`, `return return …`, `x as u8 as u8 …`.
    pub(crate) chain: Deepest,
    /// The longest `else if` chain (`if a {} else if b {} …`).
    pub(crate) else_if: Deepest,
    /// Whether proc-macro2's lexer (the one `syn` parses with) is sure to accept the text: the scan reached
    /// the end, every delimiter is matched, and every token is of the plain kinds whose rules [`plain_token`]
    /// checks. `false` means only "not sure": the text is then lexed by proc-macro2 itself.
    pub(crate) lexes: bool,
}

/// Measures [`Nesting`] with the lexer (so brackets, operators and keywords inside comments, raw strings, byte
/// strings and character literals do not count). A text the lexer cannot finish is measured up to where it
/// stopped.
pub(crate) fn nesting(text: &[u8]) -> Nesting {
    let mut n = Nesting::default();
    // Per open bracket: the `else` arms met at that level since the last statement boundary.
    let mut else_runs: Vec<usize> = vec![0];
    let mut run = 0usize;
    let mut after_brace = false;
    let mut after_close = false;
    // Generic arguments nest without brackets (`Result<T, Result<T, …>>`): `<` opens and `>` closes a level,
    // counted with the brackets until the statement ends (a `<` that compares only makes the count larger), and
    // counted three times: syn's parser recurses deeper per generic level than per bracket (in a debug build,
    // 48 levels of `Result<T, …>` overflowed a 2 MiB worker stack; 24 did not).
    let mut angles = 0usize;
    // The open delimiters, to tell whether they match; `plain`: every token so far is one proc-macro2 accepts.
    let mut delims: Vec<u8> = Vec::new();
    // Bare carriage returns are errors in doc comments and literals: a text holding any is left to proc-macro2.
    let mut plain = memchr::memchr(b'\r', text).is_none();
    let mut tokens = Tokens::new(text);
    for (kind, range) in tokens.by_ref() {
        match kind {
            Kind::Open(c) => delims.push(c),
            Kind::Close(c) => plain &= delims.pop() == Some(matching(c)),
            _ => plain &= plain_token(text, kind, range.clone()),
        }
        let was_after_brace = std::mem::take(&mut after_brace);
        // `x()()…` and `x[0][0]…` nest one call or index expression per link, as `.` and `?` do.
        if std::mem::replace(&mut after_close, matches!(kind, Kind::Close(_)))
            && matches!(kind, Kind::Open(b'(' | b'['))
        {
            run += 1;
            n.chain.see(run, range.start);
        }
        match kind {
            Kind::Open(c) => {
                else_runs.push(0);
                n.brackets.see(else_runs.len() - 1 + 3 * angles, range.start);
                if c == b'{' {
                    run = 0;
                    angles = 0;
                }
            }
            Kind::Punct(b';') => angles = 0,
            Kind::Punct(b'<') => {
                angles += 1;
                n.brackets.see(else_runs.len() - 1 + 3 * angles, range.start);
            }
            Kind::Punct(b'>') => angles = angles.saturating_sub(1),
            _ => {}
        }
        match kind {
            Kind::Close(c) => {
                if else_runs.len() > 1 {
                    else_runs.pop();
                }
                if c == b'}' {
                    run = 0;
                    angles = 0;
                    after_brace = true;
                }
            }
            Kind::Punct(b',' | b';') => {
                run = 0;
                if let Some(top) = else_runs.last_mut() {
                    *top = 0;
                }
            }
            Kind::Punct(
                b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'.' | b'<' | b'>' | b'=' | b'!' | b'?',
            ) => {
                run += 1;
                n.chain.see(run, range.start);
            }
            Kind::Ident => match &text[range.clone()] {
                b"else" if was_after_brace => {
                    let top = else_runs.last_mut().expect("the outermost level is never popped");
                    *top += 1;
                    n.else_if.see(*top, range.start);
                }
                b"as" | b"return" | b"break" | b"yield" | b"move" | b"box" | b"become" | b"do" => {
                    run += 1;
                    n.chain.see(run, range.start);
                }
                _ => {}
            },
            _ => {}
        }
        if was_after_brace
            && !after_brace
            && !(kind == Kind::Ident && &text[range] == b"else")
            && let Some(top) = else_runs.last_mut()
        {
            *top = 0;
        }
    }
    n.lexes = plain && tokens.complete() && delims.is_empty();
    n
}

/// Whether proc-macro2's lexer accepts the token `kind` at `range` of `text` (a scan token other than a
/// delimiter), as far as the rules below can tell; `false` when unsure. The rules follow proc-macro2's
/// `parse.rs`: punctuation is one of ``~!@#$%^&*-=+|;:,<.>/?'``; a `'` that is no character literal starts a
/// lifetime (an ASCII identifier not followed by `'` or `#`); an identifier is ASCII and not raw, and not a
/// literal prefix (`r`, `b`, `br`, `c`, `cr`) followed by a quote or `#`; a literal is checked by
/// [`plain_literal`]. Non-ASCII code (outside comments and literals) is always "unsure".
fn plain_token(text: &[u8], kind: Kind, range: Range<usize>) -> bool {
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    match kind {
        Kind::Punct(b'\'') => {
            let start = range.end;
            if !(at(start).is_ascii_alphabetic() || at(start) == b'_') || (at(start) == b'r' && at(start + 1) == b'#') {
                return false;
            }
            let end = start + text[start..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == b'_').count();
            !matches!(at(end), b'\'' | b'#') && at(end) < 0x80
        }
        Kind::Punct(c) => matches!(
            c,
            b'~' | b'!'
                | b'@'
                | b'#'
                | b'$'
                | b'%'
                | b'^'
                | b'&'
                | b'*'
                | b'-'
                | b'='
                | b'+'
                | b'|'
                | b';'
                | b':'
                | b','
                | b'<'
                | b'.'
                | b'>'
                | b'/'
                | b'?'
        ),
        Kind::Ident => {
            let word = &text[range.clone()];
            word.is_ascii()
                && !word.starts_with(b"r#")
                && !(matches!(word, b"r" | b"b" | b"br" | b"c" | b"cr") && matches!(at(range.end), b'"' | b'#' | b'\''))
        }
        Kind::Literal => plain_literal(&text[range]),
        Kind::Comment | Kind::Open(_) | Kind::Close(_) => true,
    }
}

/// Whether proc-macro2 accepts the literal `lit` (as the scan cut it): numbers whose base prefix is followed by
/// a digit of that base (`0x`, `0o`, `0b`; decimal numbers always lex); strings, byte strings and raw strings
/// whose escapes are valid and whose bytes are ASCII where that is required; character and byte literals of one
/// character or one valid escape. C strings (`c"…"`, `cr"…"`) are left to proc-macro2.
fn plain_literal(lit: &[u8]) -> bool {
    let Some(quote) = lit.iter().position(|&c| c == b'"' || c == b'\'') else {
        return plain_number(lit);
    };
    let (prefix, rest) = lit.split_at(quote);
    let raw_hashes = |p: &[u8]| p.len() - p.iter().rposition(|&c| c != b'#').map_or(0, |i| i + 1);
    match (prefix, rest[0]) {
        (b"", b'"') => escapes_ok(&rest[1..rest.len() - 1], Escapes::Str),
        (b"b", b'"') => rest.is_ascii() && escapes_ok(&rest[1..rest.len() - 1], Escapes::Byte),
        (b"", b'\'') | (b"b", b'\'') => {
            // The scan ends a character literal whose escape runs on at the end of the line; proc-macro2 does not.
            if rest.len() < 3 || rest.last() != Some(&b'\'') {
                return false;
            }
            let body = &rest[1..rest.len() - 1];
            let byte = prefix == b"b";
            if body.first() == Some(&b'\\') {
                let mode = if byte { Escapes::Byte } else { Escapes::Str };
                escape_len(&body[1..], mode).is_some_and(|n| n + 1 == body.len())
            } else {
                !body.is_empty() && (!byte || body.len() == 1 && body[0] < 0x80)
            }
        }
        (p, b'"') if p.first() == Some(&b'r') || p.starts_with(b"br") => {
            raw_hashes(p) <= 255 && (!p.starts_with(b"br") || rest.is_ascii())
        }
        _ => false,
    }
}

/// What escapes a quoted literal allows: `Str` (strings, characters: `\x` up to `7F`, `\u{…}`) or `Byte`
/// (byte strings, bytes: `\x` any two hex digits, no `\u`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    Str,
    Byte,
}

/// Whether every `\` escape in the body of a cooked string is valid (a backslash before a newline continues
/// the string).
fn escapes_ok(body: &[u8], mode: Escapes) -> bool {
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'\\', &body[i..]) {
        i += off + 1;
        match body.get(i) {
            Some(b'\n') => i += 1,
            _ => match escape_len(&body[i..], mode) {
                Some(n) => i += n,
                None => return false,
            },
        }
    }
    true
}

/// The length of the valid escape that starts `rest` (the bytes after a `\`), or `None`.
fn escape_len(rest: &[u8], mode: Escapes) -> Option<usize> {
    let hex = |c: u8| c.is_ascii_hexdigit();
    match *rest.first()? {
        b'n' | b'r' | b't' | b'\\' | b'0' | b'\'' | b'"' => Some(1),
        b'x' => {
            let (a, b) = (*rest.get(1)?, *rest.get(2)?);
            let first_ok = if mode == Escapes::Str { (b'0'..=b'7').contains(&a) } else { hex(a) };
            (first_ok && hex(b)).then_some(3)
        }
        b'u' if mode == Escapes::Str && rest.get(1) == Some(&b'{') => {
            let close = 2 + rest[2..].iter().position(|&c| c == b'}')?;
            let digits = &rest[2..close];
            let count = digits.iter().filter(|&&c| c != b'_').count();
            let valid = digits.first().is_some_and(|&c| hex(c))
                && (1..=6).contains(&count)
                && digits.iter().all(|&c| hex(c) || c == b'_');
            if !valid {
                return None;
            }
            // At most six hex digits: no overflow.
            let value = digits.iter().filter_map(|&c| (c as char).to_digit(16)).fold(0u32, |v, d| v * 16 + d);
            char::from_u32(value).map(|_| close + 1)
        }
        _ => None,
    }
}

/// Whether proc-macro2 accepts the number literal `lit`: a decimal number always lexes; after `0x`, `0o` or
/// `0b` (and any `_`) a digit of that base must come, and no decimal digit outside the base may follow.
fn plain_number(lit: &[u8]) -> bool {
    if !lit.is_ascii() {
        return false;
    }
    let base = match lit.get(..2) {
        Some(b"0x") => 16,
        Some(b"0o") => 8,
        Some(b"0b") => 2,
        _ => return true,
    };
    let digits: Vec<u8> = lit[2..].iter().copied().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').collect();
    let value = |c: u8| (c as char).to_digit(16).filter(|&d| d < base);
    let Some(first) = digits.iter().copied().find(|&c| c != b'_') else {
        return false;
    };
    // Decimal digits at or above the base are an error; a letter ends the digits (the suffix starts there).
    value(first).is_some()
        && digits.iter().take_while(|c| c.is_ascii_digit() || **c == b'_').all(|&c| c == b'_' || value(c).is_some())
}

/// What the lexer finds wrong in a text that the parser could not tokenize, and where (byte offset): an
/// unterminated literal or block comment, a closing delimiter that matches nothing, a delimiter never closed,
/// a NUL byte. `None` when the lexer sees nothing wrong.
pub(crate) fn lex_problem(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let loc = |at: usize| {
        let l = crate::diagnostic::Location::from_offset(text, at);
        format!("{}:{}", l.line, l.column)
    };
    let mut tokens = Tokens::new(b);
    let mut open: Vec<(u8, usize)> = Vec::new();
    for (kind, range) in tokens.by_ref() {
        match kind {
            Kind::Open(c) => open.push((c, range.start)),
            Kind::Close(c) => match open.pop() {
                Some((o, _)) if o == matching(c) => {}
                Some((o, at)) => {
                    let msg = format!(
                        "`{}` at {} does not close `{}` opened at {}",
                        c as char,
                        loc(range.start),
                        o as char,
                        loc(at)
                    );
                    return Some((range.start, msg));
                }
                None => return Some((range.start, format!("`{}` at {} closes nothing", c as char, loc(range.start)))),
            },
            Kind::Punct(0) => return Some((range.start, format!("NUL byte at {}", loc(range.start)))),
            _ => {}
        }
    }
    if let Some(Broken { at, what }) = tokens.broken() {
        return Some((at, format!("unterminated {what} starting at {}", loc(at))));
    }
    let (c, at) = open.pop()?;
    Some((at, format!("`{}` opened at {} is never closed", c as char, loc(at))))
}

/// An open delimiter of [`blank_bodies`]'s stack.
struct Open {
    delim: u8,
    /// Byte offset of the delimiter.
    at: usize,
    /// The group is the body of a macro invocation or definition (`m!( .. )`, `macro_rules! m { .. }`).
    macro_body: bool,
    /// The group is the body of a function that may be blanked (not `async`, not inside a macro).
    fn_body: bool,
}

/// Where a `fn` item's header is being read.
struct Header {
    /// The delimiter depth at the `fn` keyword.
    depth: usize,
    /// `<` minus `>` at that depth (the generics).
    angle: usize,
    is_async: bool,
}

/// A copy of `source` in which the inside of every function body for which `unneeded(range of `{ .. }`)` holds
/// is replaced by spaces (newlines are kept, so lines, byte offsets and the columns of the code that is left do
/// not change), with the byte ranges of the blanked bodies (braces included); `None` when no body was blanked.
/// Never blanked: `async fn` bodies, functions inside macro invocations or definitions (their tokens may not be
/// Rust), bodies whose last line holds a non-ASCII character (columns after the `}` would move), and anything
/// in a text the scan cannot follow (unterminated literals, unbalanced delimiters): the parser then sees the
/// text as it is.
pub(crate) fn blank_bodies(
    source: &str,
    unneeded: impl Fn(Range<usize>) -> bool,
) -> Option<(String, Vec<Range<usize>>)> {
    let b = source.as_bytes();
    let mut tokens = Tokens::new(b);
    let mut stack: Vec<Open> = Vec::new();
    let mut in_macro = 0usize;
    let mut blank: Vec<Range<usize>> = Vec::new();
    // The kinds of the last three tokens, most recent first.
    let mut prev: [Option<Kind>; 3] = [None; 3];
    // Token numbers of the last `async` and of the last `;`, `{` or `}` (an item boundary).
    let (mut last_async, mut last_boundary, mut n) = (None::<usize>, 0usize, 0usize);
    let mut header: Option<Header> = None;
    // After `fn`: the next token must be the function's name (else it is a `fn(..)` pointer type).
    let mut after_fn: Option<bool> = None;
    for (kind, range) in tokens.by_ref() {
        n += 1;
        if let Some(is_async) = after_fn.take()
            && kind == Kind::Ident
        {
            header = Some(Header { depth: stack.len(), angle: 0, is_async });
        }
        match kind {
            Kind::Ident => match &b[range.clone()] {
                b"fn" if in_macro == 0 && header.is_none() => {
                    after_fn = Some(last_async.is_some_and(|a| a > last_boundary));
                }
                b"async" => last_async = Some(n),
                _ => {}
            },
            Kind::Open(delim) => {
                let macro_body = matches!(prev, [Some(Kind::Punct(b'!')), Some(Kind::Ident), _])
                    || matches!(prev, [Some(Kind::Ident), Some(Kind::Punct(b'!')), Some(Kind::Ident)]);
                let mut fn_body = false;
                if let Some(h) = &header
                    && h.depth == stack.len()
                    && delim == b'{'
                    && h.angle == 0
                {
                    fn_body = !h.is_async;
                    header = None;
                }
                if delim == b'{' {
                    last_boundary = n;
                }
                in_macro += usize::from(macro_body);
                stack.push(Open { delim, at: range.start, macro_body, fn_body: fn_body && in_macro == 0 });
            }
            Kind::Close(delim) => {
                let open = stack.pop()?;
                if open.delim != matching(delim) {
                    return None;
                }
                in_macro -= usize::from(open.macro_body);
                if header.as_ref().is_some_and(|h| stack.len() < h.depth) {
                    header = None;
                }
                if delim == b'}' {
                    last_boundary = n;
                }
                let body = open.at..range.end;
                if open.fn_body && ascii_last_line(&b[body.clone()]) && unneeded(body.clone()) {
                    // Bodies inside this one were blanked already: this one covers them.
                    while blank.last().is_some_and(|inner| inner.start > body.start) {
                        blank.pop();
                    }
                    blank.push(body.start + 1..body.end - 1);
                }
            }
            Kind::Punct(c) => {
                if c == b';' {
                    last_boundary = n;
                }
                if let Some(h) = header.as_mut()
                    && h.depth == stack.len()
                {
                    match c {
                        b';' => header = None,
                        b'<' => h.angle += 1,
                        b'>' if !matches!(range.start.checked_sub(1).map(|i| b[i]), Some(b'-' | b'=')) => {
                            h.angle = h.angle.saturating_sub(1);
                        }
                        _ => {}
                    }
                }
            }
            Kind::Literal | Kind::Comment => {}
        }
        prev = [Some(kind), prev[0], prev[1]];
    }
    if !tokens.complete() || !stack.is_empty() || blank.is_empty() {
        return None;
    }
    let mut out = source.as_bytes().to_vec();
    for r in &blank {
        for c in &mut out[r.clone()] {
            if !matches!(*c, b'\n' | b'\r') {
                *c = b' ';
            }
        }
    }
    // Every blanked range starts after a `{` and ends before a `}` (both ASCII), so whole characters were
    // replaced and the text is still UTF-8.
    let text = String::from_utf8(out).ok()?;
    Some((text, blank.into_iter().map(|r| r.start - 1..r.end + 1).collect()))
}

/// Whether the last line of `text` is ASCII (then blanking it moves no column on that line).
fn ascii_last_line(text: &[u8]) -> bool {
    text.iter().rev().take_while(|&&c| c != b'\n').all(u8::is_ascii)
}

fn matching(close: u8) -> u8 {
    match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether proc-macro2's lexer (what `syn` parses with) accepts `text`.
    fn pm2_accepts(text: &str) -> bool {
        let ok = text.parse::<proc_macro2::TokenStream>().is_ok();
        proc_macro2::extra::invalidate_current_thread_spans();
        ok
    }

    /// `nesting(text).lexes` may say "unsure" of a text proc-macro2 accepts, never "sure" of one it rejects.
    fn assert_vouches_soundly(text: &str) {
        if nesting(text.as_bytes()).lexes {
            assert!(pm2_accepts(text), "the scan vouched for a text proc-macro2 rejects: {text:?}");
        }
    }

    #[test]
    fn the_scan_vouches_only_for_texts_proc_macro2_lexes() {
        // Each of these is rejected by proc-macro2 (asserted), so the scan must not vouch for it.
        let rejected = [
            "fn f() { \"\\q\" }",
            "fn f() { \"\\x80\" }",
            "fn f() { \"\\u{110000}\" }",
            "fn f() { \"\\u{1234567}\" }",
            "fn f() { \"\\u{_1}\" }",
            "fn f() { \"\\u{}\" }",
            "fn f() { b\"\\u{41}\" }",
            "fn f() { b\"é\" }",
            "fn f() { br\"é\" }",
            "fn f() { b'é' }",
            "fn f() { b'\\u{41}' }",
            "fn f() { '\\q' }",
            "fn f() { '\\x80' }",
            "fn f() { 0b102 }",
            "fn f() { 0o9 }",
            "fn f() { 0x }",
            "fn f() { 0xg }",
            "fn f() { 0b_ }",
            "fn f() { r#self }",
            "fn f() { r##x }",
            "fn f() { b'ab }",
            "fn f() { 'ab' }",
            "fn f<'1>() {}",
            "fn f() { a ` b }",
            "fn f() { a \\ b }",
            "fn f() { a \u{0} b }",
            "fn f() { a \u{7f} b }",
            "/// a\rb\nfn f() {}",
            "fn f() { \"a\rb\" }",
            "fn f() { '\\n\nx }",
            "fn f() { ( }",
            "fn f() { ) }",
            "fn f() { (] }",
            "fn f() { \"a }",
            "fn f() { /* a }",
        ];
        for text in rejected {
            assert!(!pm2_accepts(text), "proc-macro2 accepts {text:?}; the case tests nothing");
            assert!(!nesting(text.as_bytes()).lexes, "the scan vouched for {text:?}, which proc-macro2 rejects");
        }
        // Plain texts the scan does vouch for (else the fast path never runs).
        let accepted = [
            "fn f() { \"a\\n\\t\\\\\\0\\'\\\"\\x7F\\u{1F600}\\u{1_0}é\" }",
            "fn f() { \"a \\\n   b\" }",
            "fn f() { b\"\\xFF\\n\"; b'\\''; b'\\x80'; b'a'; br#\"x\"#; r##\"é\"## }",
            "fn f<'a>(x: &'a str) -> &'static str { 'outer: loop { break 'outer; } 'é'; '\\''; '\\u{41}'; x }",
            "fn f() { 0x1F + 0xFFu8 + 0o17 + 0b1010_1010 + 0b1e3 + 1_000 + 1.5e-3 + 2f32 + 1e10 }",
            "fn f() { a ~ ! @ # $ % ^ & * - = + | ; : , < . > / ? b }",
            "/* é /* nested */ */ // é\n/// doc é\nfn f() {}",
            "\u{feff}fn f() {}",
        ];
        for text in accepted {
            assert!(pm2_accepts(text), "proc-macro2 rejects {text:?}");
            assert!(nesting(text.as_bytes()).lexes, "the scan is unsure of plain {text:?}");
        }
    }

    #[test]
    fn the_scan_vouches_soundly_for_every_fixture_and_its_mutations() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let files = crate::test_support::files_under(root, "rs");
        assert!(files.len() > 50, "fixtures not found");
        // Bytes and pieces that make or break tokens, spliced in at pseudo-random places (a fixed LCG, so a
        // failure reproduces).
        let pieces = [
            "\\", "'", "\"", "#", "r#", "b'", "0x", "0b2", "\\x", "\\u{", "}", ")", "/*", "*/", "//", "\r", "é", "`",
            "\0", "r", "b", "_", "'a", "\n",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n.max(1)
        };
        let mut vouched = 0;
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else { continue };
            assert_vouches_soundly(&text);
            vouched += usize::from(nesting(text.as_bytes()).lexes);
            for _ in 0..40 {
                let mut t = text.clone();
                for _ in 0..1 + next(3) {
                    let mut at = next(t.len() + 1);
                    while !t.is_char_boundary(at) {
                        at -= 1;
                    }
                    t.insert_str(at, pieces[next(pieces.len())]);
                }
                assert_vouches_soundly(&t);
            }
        }
        assert!(vouched * 2 > files.len(), "the scan vouched for only {vouched} of {} fixtures", files.len());
    }

    fn tokens(text: &str) -> Vec<(Kind, &str)> {
        Tokens::new(text.as_bytes()).map(|(k, r)| (k, &text[r])).collect()
    }

    fn idents(text: &str) -> Vec<&str> {
        tokens(text).into_iter().filter(|(k, _)| *k == Kind::Ident).map(|(_, t)| t).collect()
    }

    #[test]
    fn comments_and_literals_hold_no_identifiers() {
        let text = r####"
            // line async
            /* block /* nested spawn */ still comment */
            /// doc spawn_blocking
            let a = "str \" async \\"; let b = r#"raw " spawn }"#; let c = br##"x"# y"##;
            let d = b"bytes"; let e = c"cstr"; let f = '{'; let g = '\''; let h = '\u{7b}'; let i = b'}';
            let j = 'é'; 'outer: loop {} fn k<'a>(x: &'a str) {} let l = 1.5e3 + 0x1F;
            let r#async = 1;
        "####;
        assert_eq!(
            idents(text),
            [
                "let", "a", "let", "b", "let", "c", "let", "d", "let", "e", "let", "f", "let", "g", "let", "h", "let",
                "i", "let", "j", "outer", "loop", "fn", "k", "a", "x", "a", "str", "let", "l", "let", "r#async"
            ]
        );
        let t = tokens("{ '{' } ( ) [ ]");
        assert_eq!(t.iter().filter(|(k, _)| matches!(k, Kind::Open(_))).count(), 3);
        assert_eq!(t.iter().filter(|(k, _)| matches!(k, Kind::Close(_))).count(), 3);
    }

    #[test]
    fn an_unterminated_comment_or_literal_ends_the_scan_incomplete() {
        for text in ["/* open", "let s = \"open", "let s = r#\"open\"", "let s = b\"open"] {
            let mut t = Tokens::new(text.as_bytes());
            t.by_ref().for_each(drop);
            assert!(!t.complete(), "{text}");
        }
        let mut t = Tokens::new(b"let s = \"closed\"; // trailing");
        t.by_ref().for_each(drop);
        assert!(t.complete());
    }

    /// Blanks every body that does not hold `KEEP`.
    fn blank(text: &str) -> Option<String> {
        let (out, bodies) = blank_bodies(text, |r| !text[r].contains("KEEP"))?;
        for b in &bodies {
            assert!(text[b.clone()].starts_with('{') && text[b.clone()].ends_with('}'), "{text}: {b:?}");
        }
        Some(out)
    }

    /// The code left after blanking, whitespace squeezed.
    fn left(text: &str) -> String {
        let out = blank(text).unwrap_or_else(|| text.to_string());
        assert_eq!(out.len(), text.len());
        assert_eq!(out.matches('\n').count(), text.matches('\n').count());
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn bodies_without_the_words_are_blanked_keeping_offsets_and_lines() {
        let body = "\n    let x = \"}\"; '{';\n    x\n";
        let text = format!("fn a() {{{body}}}\nfn b() {{ KEEP(); }}\n");
        let out = blank(&text).unwrap();
        let spaces: String = body.chars().map(|c| if c == '\n' { c } else { ' ' }).collect();
        assert_eq!(out, format!("fn a() {{{spaces}}}\nfn b() {{ KEEP(); }}\n"));
        assert!(syn::parse_file(&out).is_ok());
        assert_eq!(left("fn a(cb: fn(u8) -> u8) -> u8 { cb(1) }"), "fn a(cb: fn(u8) -> u8) -> u8 { }");
        assert_eq!(
            left("fn f<const N: usize>() -> Foo<{ N + 1 }> { g() }"),
            "fn f<const N: usize>() -> Foo<{ N + 1 }> { }"
        );
        assert_eq!(
            left("fn f<F>(f: F) -> u8 where F: Fn() -> u8 { f() }"),
            "fn f<F>(f: F) -> u8 where F: Fn() -> u8 { }"
        );
        assert_eq!(left("trait T { fn a(&self); fn b(&self) { x() } }"), "trait T { fn a(&self); fn b(&self) { } }");
        assert_eq!(
            left("impl S { pub(crate) const unsafe fn c() -> u8 { 1 } }"),
            "impl S { pub(crate) const unsafe fn c() -> u8 { } }"
        );
        // A kept body is scanned for the functions inside it.
        assert_eq!(left("fn outer() { KEEP(); fn inner() { x() } }"), "fn outer() { KEEP(); fn inner() { } }");
        // An outer body without the words covers the ones inside.
        assert_eq!(left("fn outer() { fn inner() { x() } y() }"), "fn outer() { }");
    }

    #[test]
    fn what_is_never_blanked() {
        for text in [
            "async fn a() { x() }",
            "pub async unsafe fn a() { x() }",
            "#[tokio::main] async fn main() { x() }",
            "m! { fn a() { x() } }",
            "m!(fn a() { x() });",
            "macro_rules! m { () => { fn a() { x() } } }",
            "let f: fn() = g; { x() }",
            // A non-ASCII character on the body's last line would move the columns after the `}`.
            "fn a() { \"é\" } fn b() {}",
            // Texts the scan cannot follow.
            "fn a() { x( } fn b() { y() }",
            "fn a() { \"open }",
            "fn a() { x() }}",
        ] {
            let out = blank(text);
            assert!(out.as_deref().is_none_or(|o| o == text || o.contains("x()")), "{text} -> {out:?}");
        }
        // Non-ASCII on an earlier line of the body is blanked with it.
        assert_eq!(left("fn a() {\n \"é\";\n x() } fn b() { KEEP }"), "fn a() { } fn b() { KEEP }");
    }
}
