//! Shared test support: the fixture harness. A fixture is source text with inline expected-diagnostic
//! markers; [`run_fixture`] analyses it and reports both missing and unexpected findings. A directory fixture
//! (a small multi-file project) is checked as one run by [`check_dir_fixture`], with the markers of all its
//! files.
//!
//! Markers (Rust `//~`, Python `#~` or `# ~`), naming a rule by name or code, comma-separated for several:
//! - `//~ name` — a finding of `name` starts on this line;
//! - `//~^ name` — on the line above (`//~^^` two above, and so on);
//! - `//~v name` — on the line below (for lines that cannot carry a comment, such as inside a string).

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use conc_advisor::diagnostic::Diagnostic;
use conc_advisor::engine::{CheckOptions, analyze_source, check};
use conc_advisor::registry::{self, RuleMeta};
use conc_advisor::settings::Settings;
use conc_advisor::walk::SourceKind;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// One expected finding: a rule (by code) starting on a 1-based line.
pub type Expectation = (usize, &'static str);

/// Parses the markers of a fixture. Returns the expectations, or an error naming a marker whose rule is unknown.
pub fn parse_markers(source: &str, kind: SourceKind) -> Result<Vec<Expectation>, String> {
    let mut out = Vec::new();
    for (idx, line) in source.lines().enumerate() {
        let lineno = idx + 1;
        let Some(rest) = marker_text(line, kind) else { continue };
        let mut rest = rest;
        let mut target = lineno as isize;
        if let Some(r) = rest.strip_prefix('v') {
            target += 1;
            rest = r;
        } else {
            while let Some(r) = rest.strip_prefix('^') {
                target -= 1;
                rest = r;
            }
        }
        if target < 1 {
            return Err(format!("line {lineno}: marker points above the first line"));
        }
        for key in rest.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            let rule =
                registry::find(key).ok_or_else(|| format!("line {lineno}: marker names unknown rule `{key}`"))?;
            out.push((target as usize, rule.code));
        }
    }
    out.sort();
    Ok(out)
}

/// The text after the line's fixture marker, in its language's syntax
/// ([`Language::marker`](conc_advisor::language::Language::marker): `//~` in Rust, `# ~` in Python).
fn marker_text(line: &str, kind: SourceKind) -> Option<&str> {
    kind.marker(line)
}

/// Analyses `path` with only `rule` enabled (and `syntax-error`, unless `rule` is `None`, in which case every rule
/// is enabled) and compares the findings with the file's markers. Returns a report of what was missing and what
/// was unexpected, or `Ok(count)` of matched findings.
pub fn run_fixture(path: &Path, rule: Option<&'static RuleMeta>) -> Result<usize, String> {
    let kind = SourceKind::of(path).ok_or_else(|| format!("{}: unknown extension", path.display()))?;
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let expected = parse_markers(&source, kind).map_err(|e| format!("{}: {e}", path.display()))?;
    let settings = match rule {
        Some(r) => Settings::only(&[r]),
        None => Settings::default(),
    };
    let diags = analyze_source(path, kind, &source, &settings);
    compare(&[(path.to_path_buf(), expected)], &diags)
}

/// Compares findings with the expectations of each file (by path); `Ok(count)` of matched findings, or a report
/// of what was missing and what was unexpected, per file.
fn compare(expected: &[(PathBuf, Vec<Expectation>)], diags: &[Diagnostic]) -> Result<usize, String> {
    let mut remaining: BTreeMap<(&Path, Expectation), usize> = BTreeMap::new();
    for (path, exps) in expected {
        for e in exps {
            *remaining.entry((path.as_path(), *e)).or_default() += 1;
        }
    }
    let mut unexpected = Vec::new();
    for d in diags {
        let key = (d.path.as_path(), (d.span.start.line, d.rule.code));
        match remaining.get_mut(&key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => unexpected.push(d),
        }
    }
    let missing: Vec<_> = remaining.iter().filter(|(_, n)| **n > 0).collect();
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(diags.len());
    }
    let mut msg = String::new();
    for (path, _) in expected {
        let missing: Vec<_> = missing.iter().filter(|((p, _), _)| *p == path.as_path()).collect();
        let unexpected: Vec<_> = unexpected.iter().filter(|d| d.path == *path).collect();
        if missing.is_empty() && unexpected.is_empty() {
            continue;
        }
        let _ = writeln!(msg, "{}:", path.display());
        for ((_, (line, code)), n) in missing {
            let name = registry::find(code).map_or(*code, |r| r.name);
            let _ = writeln!(msg, "  missing:    line {line}: {name} ({code}) x{n}");
        }
        for d in unexpected {
            let _ = writeln!(
                msg,
                "  unexpected: line {}:{}: {} ({}): {}",
                d.span.start.line, d.span.start.column, d.rule.name, d.rule.code, d.message
            );
        }
    }
    for d in unexpected.iter().filter(|d| !expected.iter().any(|(p, _)| *p == d.path)) {
        let _ = writeln!(msg, "{}:\n  unexpected: {}: {}", d.path.display(), d.rule.code, d.message);
    }
    Err(msg)
}

/// The findings of a fixture as reviewers read them, one block per finding: position, code, severity and message,
/// then the help and every note (with its position when it has one). Paths are shown relative to `base`, so
/// the text is the same on every machine. The fixture snapshot test keeps this text, so a changed message, help
/// or note shows in review. Absolute paths inside messages are shown from `<root>/`, the workspace root.
pub fn render_findings(diags: &[Diagnostic], base: &Path) -> String {
    let rel = |p: &Path| p.strip_prefix(base).unwrap_or(p).display().to_string();
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(
            out,
            "{}:{}:{}: {} [{}] {}",
            rel(&d.path),
            d.span.start.line,
            d.span.start.column,
            d.rule.code,
            d.severity,
            d.message
        );
        if let Some(help) = &d.help {
            let _ = writeln!(out, "    = help: {help}");
        }
        for note in &d.notes {
            match note.span {
                Some(s) => {
                    let _ = writeln!(out, "    = note ({}:{}): {}", s.start.line, s.start.column, note.message);
                }
                None => {
                    let _ = writeln!(out, "    = note: {}", note.message);
                }
            }
        }
    }
    if out.is_empty() {
        out.push_str("(no findings)\n");
    }
    // Messages of cross-file findings name other files by the path the run was given (absolute here): shown
    // from the workspace root, so the text is the same in every checkout.
    out.replace(&format!("{}/", workspace_root().display()), "<root>/")
}

/// The findings of a single-file fixture, with the settings [`run_fixture`] uses.
pub fn fixture_findings(path: &Path, rule: Option<&'static RuleMeta>) -> Result<Vec<Diagnostic>, String> {
    let kind = SourceKind::of(path).ok_or_else(|| format!("{}: unknown extension", path.display()))?;
    let source = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let settings = match rule {
        Some(r) => Settings::only(&[r]),
        None => Settings::default(),
    };
    Ok(analyze_source(path, kind, &source, &settings))
}

/// The findings of a directory fixture, with the settings [`check_dir_fixture`] uses.
pub fn dir_fixture_findings(dir: &Path, rule: Option<&'static RuleMeta>) -> Vec<Diagnostic> {
    let settings = match rule {
        Some(r) => Settings::only(&[r]),
        None => Settings::default(),
    };
    check(&CheckOptions { roots: vec![dir.to_path_buf()], jobs: 1 }, &settings).diagnostics
}

/// Runs `engine::check` on the directory `dir` as one project (every crate in it linked as a whole, as
/// `conc-advisor check` does; one job) with only `rule` enabled (every rule when `None`), and compares the
/// findings with the markers of all its `.rs` and `.py` files. Returns the number of matched findings, or a
/// report of what was missing and what was unexpected, by file (paths relative to `dir`). Files that cannot be
/// read, and other run errors, fail the fixture too.
pub fn check_dir_fixture(dir: &Path, rule: Option<&'static RuleMeta>) -> Result<usize, String> {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries {
            let p = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            if p.is_dir() {
                files(&p, out)?;
            } else if SourceKind::of(&p).is_some() {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut paths = Vec::new();
    files(dir, &mut paths)?;
    paths.sort();
    let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    let mut remaining: BTreeMap<(String, usize, &'static str), usize> = BTreeMap::new();
    for p in &paths {
        let kind = SourceKind::of(p).ok_or_else(|| format!("{}: unknown extension", p.display()))?;
        let source = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        for (line, code) in parse_markers(&source, kind).map_err(|e| format!("{}: {e}", p.display()))? {
            *remaining.entry((rel(p), line, code)).or_default() += 1;
        }
    }
    let settings = match rule {
        Some(r) => Settings::only(&[r]),
        None => Settings::default(),
    };
    let report = check(&CheckOptions { roots: vec![dir.to_path_buf()], jobs: 1 }, &settings);
    let mut msg = String::new();
    for e in &report.errors {
        let _ = writeln!(msg, "  error:      {e}");
    }
    let mut matched = 0;
    let mut unexpected = Vec::new();
    for d in &report.diagnostics {
        match remaining.get_mut(&(rel(&d.path), d.span.start.line, d.rule.code)) {
            Some(n) if *n > 0 => {
                *n -= 1;
                matched += 1;
            }
            _ => unexpected.push(d),
        }
    }
    for ((file, line, code), n) in remaining.iter().filter(|(_, n)| **n > 0) {
        let name = registry::find(code).map_or(*code, |r| r.name);
        let _ = writeln!(msg, "  missing:    {file}:{line}: {name} ({code}) x{n}");
    }
    for d in unexpected {
        let _ = writeln!(
            msg,
            "  unexpected: {}:{}:{}: {} ({}): {}",
            rel(&d.path),
            d.span.start.line,
            d.span.start.column,
            d.rule.name,
            d.rule.code,
            d.message
        );
    }
    if msg.is_empty() { Ok(matched) } else { Err(format!("{}:\n{msg}", dir.display())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_point_at_the_right_lines() {
        let src = "a //~ syntax-error\nb\n//~^ CA001, CA002\n//~v CA001\nc\n";
        let m = parse_markers(src, SourceKind::named("rust").unwrap()).unwrap();
        assert_eq!(m, vec![(1, "CA001"), (2, "CA001"), (2, "CA002"), (5, "CA001")]);
        let py = "x = 1  # ~ CA001\ny #~^ syntax-error\n";
        assert_eq!(parse_markers(py, SourceKind::named("python").unwrap()).unwrap(), vec![(1, "CA001"), (1, "CA001")]);
    }

    #[test]
    fn unknown_marker_rule_is_an_error() {
        let err = parse_markers("x //~ no-such-rule\n", SourceKind::named("rust").unwrap()).unwrap_err();
        assert!(err.contains("no-such-rule"), "{err}");
    }

    #[test]
    fn harness_reports_missing_and_unexpected() {
        let dir = tempfile::tempdir().unwrap();
        // A syntax error on line 2, but the marker claims line 1: one missing, one unexpected.
        let p = dir.path().join("bad.rs");
        std::fs::write(&p, "fn ok() {} //~ syntax-error\nfn broken( {\n").unwrap();
        let err = run_fixture(&p, Some(&registry::builtin::SYNTAX_ERROR)).unwrap_err();
        assert!(err.contains("missing:    line 1: syntax-error"), "{err}");
        assert!(err.contains("unexpected: line 2"), "{err}");
        std::fs::write(&p, "fn ok() {}\nfn broken( { //~ syntax-error\n").unwrap();
        assert_eq!(run_fixture(&p, Some(&registry::builtin::SYNTAX_ERROR)), Ok(1));
    }

    #[test]
    fn directory_harness_reports_missing_and_unexpected_by_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/__init__.py"), "").unwrap();
        std::fs::write(
            dir.path().join("pkg/work.py"),
            "def crunch(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n",
        )
        .unwrap();
        let main = dir.path().join("pkg/main.py");
        // The finding is on line 3 (found through `pkg/work.py`), but the marker claims line 2.
        std::fs::write(&main, "import threading  # ~ cpu-bound-work-on-threads\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()\n").unwrap();
        std::fs::write(dir.path().join("lib.rs"), "fn broken( {\n").unwrap();
        let err = check_dir_fixture(dir.path(), None).unwrap_err();
        assert!(err.contains("missing:    pkg/main.py:1: cpu-bound-work-on-threads"), "{err}");
        assert!(err.contains("unexpected: pkg/main.py:3:"), "{err}");
        assert!(err.contains("unexpected: lib.rs:1:"), "{err}");
        std::fs::write(
            &main,
            "import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()  # ~ CA501\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("lib.rs"), "fn broken( { //~ syntax-error\n").unwrap();
        assert_eq!(check_dir_fixture(dir.path(), None), Ok(2));
    }
}
