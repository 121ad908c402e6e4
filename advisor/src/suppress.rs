//! Suppression comments, applied to every file's findings after analysis, for every language.
//!
//! # Syntax
//!
//! Rust (plain `//` line comments; doc comments `///` and `//!` never suppress):
//!
//! ```text
//! std::thread::sleep(d); // conc-advisor: allow(blocking-sleep-in-async)
//! // conc-advisor: allow(CA101, CA2)
//! std::thread::sleep(d);
//! // conc-advisor: allow-file(CA4)
//! ```
//!
//! Python: the same with `#` (`# conc-advisor: allow(...)`, `# conc-advisor: allow-file(...)`), plus flake8's
//! `# noqa: CA501, CA502` (codes separated by commas or spaces) and a bare `# noqa`, which suppresses every
//! finding on its line. `# noqa` may follow another comment on the line (`# type: ignore  # noqa: CA501`).
//!
//! Inside `allow(...)` and `allow-file(...)` each item is a selector: a code (`CA101`), a name, a code prefix
//! (`CA1`) or `ALL`.
//!
//! # Scope
//!
//! - A comment after code applies to findings that start on its own line.
//! - A comment alone on its line applies to its own line and to the next line that is not itself a comment
//!   (so several suppression lines can be stacked above one statement).
//! - `allow-file(...)` applies to the whole file wherever it is written.
//!
//! # Unknown rules
//!
//! An item that names no rule is reported as `CA002 unknown-suppression` at the item, and so is a
//! `conc-advisor:` directive that is neither `allow(...)` nor `allow-file(...)`. In `# noqa`, codes that do
//! not start with `CA` belong to other tools (ruff, flake8): one that a rule names as its `equivalent`
//! (`# noqa: ASYNC230` for CA503, `RUF006` for CA510) suppresses that rule too, the others are left alone; an
//! unknown `CA…` code is reported.
//!
//! # Cost and limits
//!
//! Only files whose text contains `conc-advisor:` (or, in Python, `noqa`/`NOQA`) are scanned at all; for
//! them a small lexer finds the line comments (skipping string, raw-string and character literals and block
//! comments; Python triple-quoted strings), and only comments holding those words are parsed. Nothing is
//! parsed by `syn` or ruff again. Directives in block comments (`/* … */`) are not recognised.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::diagnostic::{Diagnostic, Location, Span};
use crate::registry::{self, RuleMeta, builtin::UNKNOWN_SUPPRESSION};
use crate::settings::Settings;
use crate::walk::SourceKind;

const DIRECTIVE: &str = "conc-advisor:";

/// Which rules a suppression silences.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rules {
    All,
    Codes(HashSet<&'static str>),
}

impl Rules {
    fn covers(&self, rule: &RuleMeta) -> bool {
        match self {
            Rules::All => true,
            Rules::Codes(c) => c.contains(rule.code),
        }
    }

    fn add(&mut self, other: Rules) {
        match (self, other) {
            (Rules::All, _) => {}
            (me @ Rules::Codes(_), Rules::All) => *me = Rules::All,
            (Rules::Codes(a), Rules::Codes(b)) => a.extend(b),
        }
    }
}

/// The suppressions of one file.
#[derive(Debug, Default)]
pub struct Suppressions {
    file: Option<Rules>,
    lines: HashMap<usize, Rules>,
    /// `unknown-suppression` findings for items that name no rule.
    pub unknown: Vec<Diagnostic>,
}

impl Suppressions {
    /// Whether `d` is suppressed.
    pub fn covers(&self, d: &Diagnostic) -> bool {
        self.file.as_ref().is_some_and(|r| r.covers(d.rule))
            || self.lines.get(&d.span.start.line).is_some_and(|r| r.covers(d.rule))
    }

    fn add_line(&mut self, line: usize, rules: Rules) {
        match self.lines.get_mut(&line) {
            Some(r) => r.add(rules),
            None => {
                self.lines.insert(line, rules);
            }
        }
    }

    fn add_file(&mut self, rules: Rules) {
        match &mut self.file {
            Some(r) => r.add(rules),
            None => self.file = Some(rules),
        }
    }
}

/// Applies a file's suppression comments to its findings, adds `unknown-suppression` findings (when that rule
/// is enabled), and returns what remains.
pub fn apply(
    path: &Path,
    kind: SourceKind,
    source: &str,
    mut diags: Vec<Diagnostic>,
    settings: &Settings,
) -> Vec<Diagnostic> {
    if !might_have_suppressions(kind, source) {
        return diags;
    }
    let sup = scan(path, kind, source);
    if settings.is_enabled(&UNKNOWN_SUPPRESSION) {
        diags.extend(sup.unknown.iter().cloned().map(|mut d| {
            d.severity = settings.severity_of(d.rule);
            d
        }));
    }
    diags.retain(|d| !sup.covers(d));
    diags
}

/// A cheap test: can `source` hold any suppression at all?
pub fn might_have_suppressions(kind: SourceKind, source: &str) -> bool {
    source.contains(DIRECTIVE) || (kind.honours_noqa() && (source.contains("noqa") || source.contains("NOQA")))
}

/// Finds every suppression comment of a file, in the comments its language's lexer finds
/// ([`Language::comments`](crate::language::Language::comments)).
pub fn scan(path: &Path, kind: SourceKind, source: &str) -> Suppressions {
    let mut sup = Suppressions::default();
    if !might_have_suppressions(kind, source) {
        return sup;
    }
    let noqa = kind.honours_noqa();
    let has_needle = |t: &str| t.contains(DIRECTIVE) || (noqa && (t.contains("noqa") || t.contains("NOQA")));
    let comments = kind.comments(source);
    let mut line_starts: Option<Vec<usize>> = None;
    for c_start in comments.into_iter().filter(|r| has_needle(&source[r.clone()])).map(|r| r.start) {
        let starts = line_starts
            .get_or_insert_with(|| std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect());
        let idx = starts.partition_point(|&s| s <= c_start) - 1;
        let lineno = idx + 1;
        let start = starts[idx];
        let end = starts.get(idx + 1).map_or(source.len(), |&e| e - 1);
        let line = source[start..end].trim_end_matches('\r');
        let comment_at = c_start - start;
        let own_line = line[..comment_at].trim().is_empty();
        let mut found = Vec::new();
        for text in kind.directive_texts(&line[comment_at..]) {
            if let Some(rest) = text.strip_prefix(DIRECTIVE) {
                let at = line.len() - rest.len();
                found.push(parse_directive(path, line, lineno, at, rest, &mut sup.unknown));
            } else if noqa && text.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("noqa")) {
                let rest = &text[4..];
                if rest.chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue; // `# noqaX` is not a noqa
                }
                found.push(parse_noqa(path, line, lineno, rest, &mut sup.unknown));
            }
        }
        for f in found {
            match f {
                Some(Directive::File(r)) => sup.add_file(r),
                Some(Directive::Line(r)) => {
                    if own_line {
                        let target = next_code_line(source, starts, idx, kind);
                        sup.add_line(target, r.clone());
                    }
                    sup.add_line(lineno, r);
                }
                None => {}
            }
        }
    }
    sup
}

enum Directive {
    Line(Rules),
    File(Rules),
}

/// The 1-based number of the first line after line index `idx` that is not a comment-only line.
fn next_code_line(source: &str, line_starts: &[usize], idx: usize, kind: SourceKind) -> usize {
    let opener = kind.line_comment_opener();
    let mut j = idx + 1;
    while j < line_starts.len() {
        let start = line_starts[j];
        let end = line_starts.get(j + 1).map_or(source.len(), |&e| e - 1);
        if !source[start..end].trim_start().starts_with(opener) {
            break;
        }
        j += 1;
    }
    j + 1
}

/// 1-based character column of byte offset `at` in `line`.
fn column(line: &str, at: usize) -> usize {
    line.char_indices().take_while(|&(b, _)| b < at).count() + 1
}

fn unknown(path: &Path, line: &str, lineno: usize, at: usize, len: usize, message: String) -> Diagnostic {
    let span = Span::new(Location::new(lineno, column(line, at)), Location::new(lineno, column(line, at + len)));
    Diagnostic::new(&UNKNOWN_SUPPRESSION, path, span, message)
        .with_help("`conc-advisor rules` lists every rule's code and name")
}

/// Parses what follows `conc-advisor:` (`rest`, starting at byte `at` of `line`).
fn parse_directive(
    path: &Path,
    line: &str,
    lineno: usize,
    at: usize,
    rest: &str,
    unknowns: &mut Vec<Diagnostic>,
) -> Option<Directive> {
    let trimmed = rest.trim_start();
    let at = at + (rest.len() - trimmed.len());
    let (file, args) = if let Some(a) = trimmed.strip_prefix("allow-file") {
        (true, a)
    } else if let Some(a) = trimmed.strip_prefix("allow") {
        (false, a)
    } else {
        let word_len = trimmed.find(|c: char| c.is_whitespace() || c == '(').unwrap_or(trimmed.len()).max(1);
        unknowns.push(unknown(
            path,
            line,
            lineno,
            at,
            word_len.min(trimmed.len()),
            format!(
                "unrecognised suppression `conc-advisor: {}`; expected `allow(...)` or `allow-file(...)`",
                trimmed.trim_end()
            ),
        ));
        return None;
    };
    let open_at = line.len() - args.len();
    let Some(inner) = args.trim_start().strip_prefix('(') else {
        unknowns.push(unknown(
            path,
            line,
            lineno,
            at,
            open_at - at,
            "suppression without a rule list; expected `allow(rule, ...)`".to_string(),
        ));
        return None;
    };
    let inner_at = line.len() - inner.len();
    let Some(close) = inner.find(')') else {
        unknowns.push(unknown(
            path,
            line,
            lineno,
            at,
            open_at - at,
            "suppression's rule list is not closed with `)`".to_string(),
        ));
        return None;
    };
    let mut rules = Rules::Codes(HashSet::new());
    let mut pos = 0;
    for item in inner[..close].split(',') {
        let item_at = inner_at + pos + (item.len() - item.trim_start().len());
        pos += item.len() + 1;
        let key = item.trim();
        if key.is_empty() {
            continue;
        }
        if key.eq_ignore_ascii_case("all") {
            rules.add(Rules::All);
            continue;
        }
        let found = registry::select(key);
        if found.is_empty() {
            unknowns.push(unknown(
                path,
                line,
                lineno,
                item_at,
                key.len(),
                format!("suppression names unknown rule `{key}`"),
            ));
        } else {
            rules.add(Rules::Codes(found.iter().map(|r| r.code).collect()));
        }
    }
    Some(if file { Directive::File(rules) } else { Directive::Line(rules) })
}

/// Whether `code` (another tool's, `ASYNC230`) is one of the codes in `rule`'s `equivalent`.
fn overlaps(rule: &RuleMeta, code: &str) -> bool {
    rule.equivalent.is_some_and(|e| e.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == code))
}

/// Parses what follows `noqa` (`rest`, a suffix of `line`).
fn parse_noqa(path: &Path, line: &str, lineno: usize, rest: &str, unknowns: &mut Vec<Diagnostic>) -> Option<Directive> {
    let Some(list) = rest.trim_start().strip_prefix(':') else {
        return Some(Directive::Line(Rules::All));
    };
    let list_at = line.len() - list.len();
    let mut codes = HashSet::new();
    let mut any = false;
    let mut pos = 0;
    for tok in list.split([',', ' ', '\t']) {
        let tok_at = list_at + pos;
        pos += tok.len() + 1;
        if tok.is_empty() {
            continue;
        }
        let is_code = tok.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && tok.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && tok.chars().any(|c| c.is_ascii_digit());
        if !is_code {
            break; // the code list ends at the first word that is not a code
        }
        any = true;
        if !tok.starts_with("CA") {
            // Another tool's code: it suppresses the rules it overlaps (`# noqa: ASYNC230` → CA503).
            codes.extend(registry::all().iter().filter(|r| overlaps(r, tok)).map(|r| r.code));
            continue;
        }
        match registry::all().iter().find(|r| r.code == tok) {
            Some(r) => {
                codes.insert(r.code);
            }
            None => unknowns.push(unknown(
                path,
                line,
                lineno,
                tok_at,
                tok.len(),
                format!("`noqa` names unknown rule `{tok}`"),
            )),
        }
    }
    if any { Some(Directive::Line(Rules::Codes(codes))) } else { Some(Directive::Line(Rules::All)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::builtin::SYNTAX_ERROR;

    fn rs() -> SourceKind {
        SourceKind::of(Path::new("f.rs")).expect("rust is registered")
    }

    fn py() -> SourceKind {
        SourceKind::of(Path::new("f.py")).expect("python is registered")
    }

    // Built at run time so this file holds no directive itself.
    fn d(kw: &str) -> String {
        format!("conc-{}: {kw}", "advisor")
    }

    fn diag_at(line: usize, rule: &'static RuleMeta) -> Diagnostic {
        Diagnostic::new(rule, "f", Span::new(Location::new(line, 1), Location::new(line, 2)), "m")
    }

    fn kept(kind: SourceKind, src: &str, lines: &[usize]) -> Vec<(usize, &'static str)> {
        let diags = lines.iter().map(|&l| diag_at(l, &SYNTAX_ERROR)).collect();
        let mut out: Vec<_> = apply(Path::new("f"), kind, src, diags, &Settings::default())
            .iter()
            .map(|d| (d.span.start.line, d.rule.code))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn rust_line_and_line_above() {
        let src =
            format!("a(); // {}\n// {}\n// just a comment\nb();\nc();\n", d("allow(syntax-error)"), d("allow(CA001)"));
        assert_eq!(kept(rs(), &src, &[1, 4, 5]), vec![(5, "CA001")]);
        // A trailing comment does not reach the next line.
        let src = format!("a(); // {}\nb();\n", d("allow(CA0)"));
        assert_eq!(kept(rs(), &src, &[1, 2]), vec![(2, "CA001")]);
    }

    #[test]
    fn rust_file_and_unknown() {
        let src = format!("fn f() {{}}\n// {}\n", d("allow-file(ALL)"));
        assert!(kept(rs(), &src, &[1, 7]).is_empty());
        let src = format!("x(); // {}\n", d("allow(syntax-error, no-such-rule)"));
        let out = apply(Path::new("f"), rs(), &src, vec![diag_at(1, &SYNTAX_ERROR)], &Settings::default());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule.code, "CA002");
        assert_eq!(out[0].span.start.column, src.find("no-such").unwrap() + 1);
        assert!(out[0].message.contains("no-such-rule"));
    }

    #[test]
    fn rust_strings_and_doc_comments_do_not_suppress() {
        let src = format!("let s = \"// {}\";\n/// {}\n//! {}\n", d("allow(x)"), d("allow(x)"), d("allow(x)"));
        let sup = scan(Path::new("f"), rs(), &src);
        assert!(sup.unknown.is_empty() && sup.lines.is_empty() && sup.file.is_none());
    }

    #[test]
    fn python_noqa() {
        let src = "a()  # noqa\nb()  # noqa: E501, CA001\nc()  # NOQA:E501\nd()  # type: ignore  # noqa: CA999\n";
        let out = apply(
            Path::new("f"),
            py(),
            src,
            (1..=4).map(|l| diag_at(l, &SYNTAX_ERROR)).collect(),
            &Settings::default(),
        );
        let got: Vec<_> = out.iter().map(|d| (d.span.start.line, d.rule.code)).collect();
        // line 3 names only another tool's code; line 4 names an unknown CA code (reported) and nothing else.
        assert_eq!(got, vec![(3, "CA001"), (4, "CA001"), (4, "CA002")]);
    }

    #[test]
    fn another_tools_code_suppresses_the_rules_it_overlaps() {
        let blocking = registry::find("blocking-call-in-async-def").unwrap();
        let dangling = registry::find("dangling-task-or-nested-run").unwrap();
        let src = "a()  # noqa: ASYNC230\nb()  # noqa: RUF006\nc()  # noqa: ASYNC23\n";
        let diags = (1..=3).flat_map(|l| [diag_at(l, blocking), diag_at(l, dangling)]).collect();
        let out = apply(Path::new("f"), py(), src, diags, &Settings::default());
        let got: Vec<_> = out.iter().map(|d| (d.span.start.line, d.rule.code)).collect();
        // `ASYNC23` is no code of either rule's `equivalent`.
        assert_eq!(got, vec![(1, "CA510"), (2, "CA503"), (3, "CA503"), (3, "CA510")]);
    }

    #[test]
    fn python_directive() {
        let src = format!("# {}\nx = 1\ny = 2  # {}\n", d("allow(CA001)"), d("allow-file(CA0)"));
        assert!(kept(py(), &src, &[2, 3, 9]).is_empty());
        let src = format!("x = '# {}'\n", d("allow(bogus)"));
        assert!(scan(Path::new("f"), py(), &src).unknown.is_empty());
    }

    #[test]
    fn malformed_directive_is_reported() {
        for bad in ["alow(CA001)", "allow CA001", "allow(CA001"] {
            let src = format!("// {}\n", d(bad));
            let sup = scan(Path::new("f"), rs(), &src);
            assert_eq!(sup.unknown.len(), 1, "{bad}");
        }
    }

    #[test]
    fn lexers_skip_literals() {
        let src = "let a = \"x // no\";\nlet b = r#\"// \"no\" \"#; let c = '\"'; // yes\nlet d = '\\''; /* // no */ let e: &'static str = \"\\\" // no\"; // yes2\nlet s = \"multi\n// no\n\";\n";
        let got: Vec<_> = rs().comments(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(got, vec!["// yes", "// yes2"], "{src}");
        let src = "a = '# no'  # yes\nb = \"\"\"\n# no\n\"\"\"\nc = \"\\\"# no\"  # yes2\n";
        let got: Vec<_> = py().comments(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(got, vec!["# yes", "# yes2"], "{src}");
    }

    #[test]
    fn multi_line_strings_do_not_suppress() {
        let src = format!("const H: &str = \"\nsee `// {}`\n\";\n", d("allow(nope)"));
        assert!(scan(Path::new("f"), rs(), &src).unknown.is_empty());
        let src = format!("H = \"\"\"\n# {}\n\"\"\"\n", d("allow(nope)"));
        assert!(scan(Path::new("f"), py(), &src).unknown.is_empty());
    }

    #[test]
    fn odd_input_never_panics() {
        let dir = d("allow(");
        let cases = [
            "\"",
            "'",
            "r#",
            "r#\"",
            "b'",
            "'\\",
            "\"\\",
            "/*",
            "/* /* */",
            "//",
            "#",
            "'''",
            "\"\"\"\\",
            "é'",
            "'é",
            "'é'",
            "r\"é",
            "// é conc-advisor: allow(é)",
            "x = 'é  # noqa: CAé",
            "# noqa:",
            "# noqa: ,,, ",
            "#noqa",
            "# NOQA: CA001\r\n",
            "\r\n//\r\n",
        ];
        for c in cases {
            for text in [c.to_string(), format!("{c} // {dir}"), format!("// {dir}{c}"), format!("# {dir}{c}\n{c}")] {
                for kind in [rs(), py()] {
                    let _ = apply(Path::new("f"), kind, &text, vec![diag_at(1, &SYNTAX_ERROR)], &Settings::default());
                }
            }
        }
    }

    #[test]
    fn disabled_unknown_suppression_is_not_reported() {
        let src = format!("// {}\n", d("allow(nope)"));
        let settings = Settings::only(&[]);
        assert!(apply(Path::new("f"), rs(), &src, vec![], &settings).is_empty());
    }
}
