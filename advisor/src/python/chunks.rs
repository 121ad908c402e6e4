//! Where a large Python file is cut to be parsed in chunks (issue 11: memory bounded by what is in flight; the
//! Rust side is `rust/chunks.rs`). ruff's tree and tokens take about twice the memory of our own tree; a file
//! above [`THRESHOLD`] is cut at top-level statements into chunks of about [`THRESHOLD`] bytes, each chunk is
//! parsed alone and converted into our tree with its ranges moved by the chunk's offset, and its ruff tree is
//! dropped before the next chunk is parsed (`parse::parse_in`). Our tree of the whole module is the same as
//! from a whole-file parse, so the semantic model, the summaries and every rule see the same module (imports,
//! module-level names, `if __name__ == "__main__":` in any chunk): the test
//! `chunked_parses_equal_whole_parses` runs every Python fixture both ways.
//!
//! A cut is made only at the start of a line that starts a statement at column 0 outside any bracket, string
//! or backslash continuation (found by the one scanner, [`super::lex::Tokens`]), never between a decorator and
//! what it decorates, nor before `else`, `elif`, `except` or `finally`. Whatever the scanner misreads makes a
//! chunk fail to parse (an unclosed bracket or string, a dangling decorator or clause), and the file is then
//! parsed whole, with the same tree or the same error as before.

use std::ops::Range;

use super::lex::{Kind, Tokens};

/// Files longer than this (bytes) are parsed in chunks of at least this size.
pub(crate) const THRESHOLD: usize = 1 << 20;

/// The size chunks are cut at for a text of `len` bytes, or `None` when it is parsed whole.
pub(crate) fn target(len: usize) -> Option<usize> {
    (len > THRESHOLD).then_some(THRESHOLD)
}

/// The words that continue the compound statement before them at column 0.
const CLAUSES: &[&[u8]] = &[b"else", b"elif", b"except", b"finally"];

/// The chunks of `text` (consecutive ranges covering it), each at least `target` bytes long but the last, cut
/// where a top-level statement starts (see the module documentation). `None` when the text gives fewer than two
/// chunks or the scanner cannot read it whole (an unterminated triple-quoted string, unbalanced brackets).
pub(crate) fn bounds(text: &str, target: usize) -> Option<Vec<Range<usize>>> {
    let b = text.as_bytes();
    let mut tokens = Tokens::new(b);
    let mut depth = 0usize;
    let mut start = 0;
    let mut out = Vec::new();
    // The next token starts a logical line (the last line break was outside brackets and not escaped).
    let mut line_start = true;
    // The last logical line at column 0 was a decorator.
    let mut decorated = false;
    let mut prev = Kind::Newline;
    for (kind, range) in tokens.by_ref() {
        match kind {
            Kind::Comment => continue,
            Kind::Newline => {
                if depth == 0 && prev != Kind::Punct(b'\\') {
                    line_start = true;
                }
                prev = kind;
                continue;
            }
            _ => {}
        }
        if std::mem::take(&mut line_start) && range.start > 0 && b[range.start - 1] == b'\n' {
            let clause = kind == Kind::Word && CLAUSES.contains(&&b[range.clone()]);
            if !clause {
                if !decorated && range.start - start >= target {
                    out.push(start..range.start);
                    start = range.start;
                }
                decorated = kind == Kind::Punct(b'@');
            }
        }
        match kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.checked_sub(1)?,
            _ => {}
        }
        prev = kind;
    }
    if !tokens.complete() || depth != 0 || out.is_empty() {
        return None;
    }
    out.push(start..text.len());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of the chunks of `text` cut as often as possible.
    fn cut(text: &str) -> Vec<&str> {
        bounds(text, 1).map(|b| b.into_iter().map(|r| &text[r]).collect()).unwrap_or_default()
    }

    #[test]
    fn cuts_only_between_top_level_statements() {
        let src = "import os\n@dec\n@dec2(\n  1)\ndef f():\n    x = (\n1)\n    return x\nif a:\n    pass\nelse:\n    pass\ns = '''\nx = 1\n'''\ny = 1 + \\\n2\ntry:\n    pass\nexcept E:\n    pass\nfinally:\n    pass\n# c\nz = [\n]\n";
        assert_eq!(
            cut(src),
            [
                "import os\n",
                "@dec\n@dec2(\n  1)\ndef f():\n    x = (\n1)\n    return x\n",
                "if a:\n    pass\nelse:\n    pass\n",
                "s = '''\nx = 1\n'''\n",
                "y = 1 + \\\n2\n",
                "try:\n    pass\nexcept E:\n    pass\nfinally:\n    pass\n# c\n",
                "z = [\n]\n",
            ]
        );
    }

    #[test]
    fn unreadable_texts_are_not_cut() {
        assert!(cut("x = 1\ny = (\nz = 2\n").is_empty());
        assert!(cut("x = 1\ns = '''open\ny = 2\n").is_empty());
        assert!(cut("x = 1\n").is_empty());
        assert_eq!(target(THRESHOLD), None);
        assert_eq!(target(THRESHOLD + 1), Some(THRESHOLD));
    }

    /// Issue 11 (memory bounded by what is in flight): every Python fixture parsed in chunks (forced with the
    /// smallest chunk size, so every top-level statement is a cut) gives the same tree as a whole-file parse,
    /// and the same findings and link facts, with every rule and with each rule alone.
    #[test]
    fn chunked_parses_equal_whole_parses() {
        use crate::python::{analyze_chunked, parse, project, rules};
        use crate::settings::Settings;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let mut configs = vec![Settings::default()];
        configs.extend(rules::RULES.iter().map(|m| Settings::only(&[m])));
        let (mut chunked_files, mut cuts, mut findings) = (0, 0, 0);
        for path in crate::test_support::files_under(root, "py") {
            let src = std::fs::read_to_string(&path).expect("fixtures are UTF-8");
            let Some(b) = bounds(&src, 1) else { continue };
            let arena = parse::Arena::default();
            let (Ok(whole), Ok(chunked)) = (parse::parse(&src), parse::parse_with(&src, &arena, Some(1))) else {
                continue;
            };
            let tree = format!("{:?}", whole.module());
            assert!(format!("{chunked:?}").contains("chunked"), "{}", path.display());
            assert_eq!(tree, format!("{:?}", chunked.module()), "{}", path.display());
            let arena = parse::Arena::default();
            let outline = parse::parse_with(&src, &arena, Some(1)).expect("parses");
            assert_eq!(format!("{:?}", whole.module_outline()), format!("{:?}", outline.module_outline()));
            chunked_files += 1;
            cuts += b.len() - 1;
            for settings in &configs {
                let module = project::ModuleName::for_path(&path, &|_| false);
                let run = |chunk| {
                    let (d, f) = analyze_chunked(&path, &src, settings, Some(module.clone()), chunk);
                    format!("{d:#?}\n{f:#?}")
                };
                let w = run(None);
                findings += w.matches("rule:").count();
                assert_eq!(w, run(Some(1)), "{} with {:?}", path.display(), settings);
            }
        }
        eprintln!("{chunked_files} files, {cuts} cuts, {findings} findings");
        assert!(chunked_files > 50, "only {chunked_files} fixtures were cut: the test would prove little");
        assert!(cuts > 400 && findings > 100, "{cuts} cuts, {findings} findings: the test would prove little");
    }
}
