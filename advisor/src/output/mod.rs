//! Report formats: how a [`CheckReport`] is written out (`--format`), plus the closing summary and
//! `--statistics`.
//!
//! | format | for | module |
//! |--------|-----|--------|
//! | `human` (default) | people at a terminal: rustc-style snippets, colour, a closing summary | [`human`] |
//! | `concise` | people and `grep`: `path:line:col: CODE [severity] message`, one line a finding, then the summary | [`concise`] |
//! | `json` | programs: a stable, versioned schema | [`json`] |
//! | `sarif` | code-scanning services (GitHub code scanning): SARIF 2.1.0 | [`sarif`] |
//! | `github` | GitHub Actions workflow commands: annotations on the pull request | [`github`] |
//!
//! Findings are always written in the order the engine sorted them (path, line, column). Machine formats
//! (`json`, `sarif`, `github`) carry no timing, no colour and no summary line, so the same input gives the same
//! bytes.

pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::diagnostic::Severity;
use crate::engine::CheckReport;
use crate::registry::RuleMeta;

/// An output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style snippets.
    Human,
    /// One line a finding.
    Concise,
    /// The JSON schema of [`json`].
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands.
    Github,
}

/// How to write a report.
#[derive(Debug, Clone, Copy, Default)]
pub struct OutputOptions {
    /// Emit ANSI colours (human format only).
    pub color: bool,
    /// Leave out the closing summary.
    pub quiet: bool,
}

/// Writes `report` in `format`.
pub fn write_report(report: &CheckReport, format: Format, opts: OutputOptions, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, opts, out),
        Format::Concise => concise::write(report, opts, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Github => github::write(report, out),
    }
}

/// A rule's documentation as Markdown: its doc comment with the one space after each `///` removed.
pub fn rule_doc(rule: &RuleMeta) -> String {
    let mut out = String::with_capacity(rule.doc.len());
    for line in rule.doc.trim_end().lines() {
        out.push_str(line.strip_prefix(' ').unwrap_or(line));
        out.push('\n');
    }
    out
}

/// An absolute `path` below the working directory made relative to it; any other path unchanged.
pub fn relative_to_cwd(path: &std::path::Path) -> std::path::PathBuf {
    if path.is_absolute()
        && let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.to_path_buf();
    }
    path.to_path_buf()
}

/// `1 finding`, `2 findings`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") }
}

/// The closing summary of the text formats:
///
/// ```text
/// 3 findings in 2 files (1 error, 2 warnings); 14 files checked in 35 ms
/// 5 findings in 3 files (1 warning, 4 info; 4 in test code); 14 files checked in 35 ms
/// 1 path could not be checked (see the messages above)
/// ```
///
/// An empty run says so: `0 findings; 0 files checked in 1 ms (no Rust or Python files found)`.
pub fn summary(report: &CheckReport) -> String {
    let n = report.diagnostics.len();
    let ms = report.elapsed.as_millis();
    let checked = format!("{} checked in {ms} ms", plural(report.files_checked, "file"));
    let mut s = if n == 0 {
        let mut s = format!("0 findings; {checked}");
        if report.files_checked == 0 && report.errors.is_empty() {
            s.push_str(" (no Rust or Python files found)");
        }
        s
    } else {
        let mut by = Vec::new();
        for (sev, word) in [(Severity::Error, "error"), (Severity::Warning, "warning"), (Severity::Info, "info")] {
            let k = report.diagnostics.iter().filter(|d| d.severity == sev).count();
            if k > 0 {
                by.push(if sev == Severity::Info { format!("{k} info") } else { plural(k, word) });
            }
        }
        let tests = report.diagnostics.iter().filter(|d| d.in_test_code()).count();
        let tests = if tests > 0 { format!("; {tests} in test code") } else { String::new() };
        format!(
            "{} in {} ({}{tests}); {checked}",
            plural(n, "finding"),
            plural(report.files_with_findings(), "file"),
            by.join(", ")
        )
    };
    if !report.errors.is_empty() {
        s.push('\n');
        s.push_str(&format!(
            "{} could not be checked (see the messages above)",
            if report.errors.len() == 1 { "1 path".to_string() } else { format!("{} paths", report.errors.len()) }
        ));
    }
    if !report.warnings.is_empty() {
        s.push('\n');
        s.push_str(&format!("{} not followed", plural(report.warnings.len(), "symlink loop")));
    }
    s
}

/// Findings per rule, most frequent first (ties by code).
pub fn statistics(report: &CheckReport) -> Vec<(&'static RuleMeta, usize)> {
    let mut counts: BTreeMap<&'static str, (&'static RuleMeta, usize)> = BTreeMap::new();
    for d in &report.diagnostics {
        counts.entry(d.rule.code).or_insert((d.rule, 0)).1 += 1;
    }
    let mut v: Vec<_> = counts.into_values().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code.cmp(b.0.code)));
    v
}

/// `--statistics`: a table of findings per rule (`count  code  name`), or a JSON array
/// (`[{"code", "name", "count"}]`) when `json` is set.
pub fn write_statistics(report: &CheckReport, json: bool, out: &mut dyn Write) -> io::Result<()> {
    let stats = statistics(report);
    if json {
        let v: Vec<_> =
            stats.iter().map(|(r, n)| serde_json::json!({ "code": r.code, "name": r.name, "count": n })).collect();
        serde_json::to_writer_pretty(&mut *out, &v)?;
        return writeln!(out);
    }
    let width = stats.iter().map(|(_, n)| n.to_string().len()).max().unwrap_or(1);
    for (r, n) in stats {
        writeln!(out, "{n:>width$}  {}  {}", r.code, r.name)?;
    }
    Ok(())
}
