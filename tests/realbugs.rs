//! The real-bug suite: `fixtures/realbugs/{rust,python}/` hold minimal reproductions (written for this project) of
//! concurrency bugs that public projects fixed, each `<project>-<short>.<ext>` with the link in its header and
//! inline markers (`//~ rule`, `# ~ rule`) on the lines that should be reported, and its fixed version as the
//! sibling `<project>-<short>_fixed.<ext>`.
//!
//! Unlike `tests/fixtures.rs`, a bug file need not match exactly: this test measures recall (markers found, by
//! line and rule) and prints a table; it asserts
//! - precision: no finding at all on a fixed version, unless its header has a `KNOWN-FP: <rule> <reason>` line
//!   naming that rule (and a rule so named must still be reported: a stale line fails);
//! - recall: the markers found per language are at least the floor recorded below (what is measured now), so the
//!   suite cannot regress; raise the floor when a change catches more;
//! - every file parses (no `syntax-error`), every bug file has a link, a marker and a fixed sibling.
//!
//! Run: `cargo test -p conc-advisor-tests --test realbugs -- --nocapture`.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use conc_advisor::diagnostic::Diagnostic;
use conc_advisor::engine::{CheckOptions, check};
use conc_advisor::registry;
use conc_advisor::settings::Settings;
use conc_advisor::walk::SourceKind;
use conc_advisor_tests::{parse_markers, workspace_root};

/// Markers found (line and rule) over all Rust bug files, measured when the floor was last raised.
const RUST_MARKERS_FOUND_FLOOR: usize = 29;
/// Markers found over all Python bug files.
const PYTHON_MARKERS_FOUND_FLOOR: usize = 23;

/// What one bug file gave.
struct BugResult {
    name: String,
    found: usize,
    total: usize,
    /// Findings on a marked line with another rule than the marker's (`line:code`).
    other_rule: Vec<String>,
    /// Findings on unmarked lines (`line:code`).
    extra: Vec<String>,
}

fn run(path: &Path) -> Vec<Diagnostic> {
    let report = check(&CheckOptions { roots: vec![path.to_path_buf()], jobs: 1 }, &Settings::default());
    assert!(report.errors.is_empty(), "{}: {:?}", path.display(), report.errors);
    report.diagnostics
}

/// The rule codes a fixed file's header allows (`KNOWN-FP: <rule name or code> <reason>`); an error when the rule
/// is unknown or no reason is given.
fn known_fps(source: &str, path: &Path) -> Result<BTreeSet<&'static str>, String> {
    let mut out = BTreeSet::new();
    for line in source.lines() {
        let Some(rest) = line.split_once("KNOWN-FP:").map(|(_, r)| r.trim()) else { continue };
        let (rule, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let meta =
            registry::find(rule).ok_or_else(|| format!("{}: KNOWN-FP names unknown rule `{rule}`", path.display()))?;
        if reason.trim().is_empty() {
            return Err(format!("{}: KNOWN-FP {rule} gives no reason", path.display()));
        }
        out.insert(meta.code);
    }
    Ok(out)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && SourceKind::of(p).is_some())
        .collect();
    v.sort();
    v
}

fn fmt_diag(d: &Diagnostic) -> String {
    format!("{}:{}", d.span.start.line, d.rule.code)
}

/// Runs one language's suite; returns (markers found, markers total, bugs, table, failures).
fn suite(lang: &str, ext: &str) -> (usize, usize, usize, String, String) {
    let dir = workspace_root().join("fixtures/realbugs").join(lang);
    let mut failures = String::new();
    let mut results = Vec::new();
    let all = files(&dir);
    for path in &all {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let kind = SourceKind::of(path).expect("filtered by kind");
        let source = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let diags = run(path);
        for d in diags.iter().filter(|d| d.rule.code == registry::builtin::SYNTAX_ERROR.code) {
            let _ = writeln!(failures, "{}: does not parse: {}: {}", path.display(), d.span.start.line, d.message);
        }
        if !source.contains("https://github.com/") {
            let _ = writeln!(failures, "{}: no link to the issue, pull request or commit", path.display());
        }
        if let Some(base) = stem.strip_suffix("_fixed") {
            if !dir.join(format!("{base}.{ext}")).is_file() {
                let _ = writeln!(failures, "{}: a fixed version without its bug file", path.display());
            }
            let allowed = match known_fps(&source, path) {
                Ok(a) => a,
                Err(e) => {
                    let _ = writeln!(failures, "{e}");
                    BTreeSet::new()
                }
            };
            for code in allowed.iter().filter(|c| !diags.iter().any(|d| d.rule.code == **c)) {
                let _ = writeln!(
                    failures,
                    "{}: stale KNOWN-FP: {code} is not reported any more; remove the line",
                    path.display()
                );
            }
            for d in diags.iter().filter(|d| !allowed.contains(d.rule.code)) {
                let _ = writeln!(
                    failures,
                    "{}:{}: false positive on the fixed version: {} ({}): {}",
                    path.display(),
                    d.span.start.line,
                    d.rule.name,
                    d.rule.code,
                    d.message
                );
            }
            continue;
        }
        if !dir.join(format!("{stem}_fixed.{ext}")).is_file() {
            let _ = writeln!(failures, "{}: no `{stem}_fixed.{ext}` sibling", path.display());
        }
        let expected = match parse_markers(&source, kind) {
            Ok(e) => e,
            Err(e) => {
                let _ = writeln!(failures, "{}: {e}", path.display());
                continue;
            }
        };
        if expected.is_empty() {
            let _ = writeln!(failures, "{}: a bug file without any marker", path.display());
        }
        let mut remaining = expected.clone();
        let mut other_rule = Vec::new();
        let mut extra = Vec::new();
        for d in &diags {
            let key = (d.span.start.line, d.rule.code);
            if let Some(i) = remaining.iter().position(|e| *e == key) {
                remaining.remove(i);
            } else if expected.iter().any(|(line, _)| *line == d.span.start.line) {
                other_rule.push(fmt_diag(d));
            } else {
                extra.push(fmt_diag(d));
            }
        }
        results.push(BugResult {
            name: stem,
            found: expected.len() - remaining.len(),
            total: expected.len(),
            other_rule,
            extra,
        });
    }
    let found: usize = results.iter().map(|r| r.found).sum();
    let total: usize = results.iter().map(|r| r.total).sum();
    let caught = results.iter().filter(|r| r.found == r.total && r.total > 0).count();
    let mut table = format!("\n{lang}: {} bugs\n", results.len());
    let _ = writeln!(table, "{:<44} {:>7}  {:<9} other findings", "bug", "markers", "status");
    for r in &results {
        let status = match r.found {
            0 => "missed",
            f if f == r.total => "caught",
            _ => "partial",
        };
        let mut other = String::new();
        if !r.other_rule.is_empty() {
            let _ = write!(other, "other rule on a marked line: {} ", r.other_rule.join(" "));
        }
        if !r.extra.is_empty() {
            let _ = write!(other, "unmarked: {}", r.extra.join(" "));
        }
        let _ = writeln!(table, "{:<44} {:>3}/{:<3}  {:<9} {}", r.name, r.found, r.total, status, other.trim_end());
    }
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    let _ = writeln!(
        table,
        "{lang} recall: {found}/{total} markers ({:.0} %), {caught}/{} bugs fully caught ({:.0} %)",
        pct(found, total),
        results.len(),
        pct(caught, results.len())
    );
    (found, total, results.len(), table, failures)
}

#[test]
fn rust_real_bugs() {
    let (found, _total, bugs, table, failures) = suite("rust", "rs");
    eprintln!("{table}");
    assert!(failures.is_empty(), "real-bug suite (Rust):\n{failures}");
    assert!(bugs >= 20, "the Rust suite should hold at least 20 bugs, found {bugs}");
    assert!(
        found >= RUST_MARKERS_FOUND_FLOOR,
        "Rust real-bug recall regressed: {found} markers found, the floor is {RUST_MARKERS_FOUND_FLOOR}"
    );
}

#[test]
fn python_real_bugs() {
    let (found, _total, bugs, table, failures) = suite("python", "py");
    eprintln!("{table}");
    assert!(failures.is_empty(), "real-bug suite (Python):\n{failures}");
    assert!(bugs >= 15, "the Python suite should hold at least 15 bugs, found {bugs}");
    assert!(
        found >= PYTHON_MARKERS_FOUND_FLOOR,
        "Python real-bug recall regressed: {found} markers found, the floor is {PYTHON_MARKERS_FOUND_FLOOR}"
    );
}

#[test]
fn known_fp_lines_name_a_rule_and_a_reason() {
    let p = Path::new("x_fixed.rs");
    let ok = known_fps("// KNOWN-FP: blocking-sleep-in-async the fix sleeps on purpose\n// KNOWN-FP: CA102 ditto\n", p);
    assert_eq!(ok, Ok(BTreeSet::from(["CA101", "CA102"])));
    assert!(known_fps("// KNOWN-FP: no-such-rule because\n", p).unwrap_err().contains("unknown rule"));
    assert!(known_fps("// KNOWN-FP: CA101\n", p).unwrap_err().contains("no reason"));
    assert_eq!(known_fps("fn main() {}\n", p), Ok(BTreeSet::new()));
}
