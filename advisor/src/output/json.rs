//! The `json` format: one JSON object, a stable schema for programs. Version 1:
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": { "name": "conc-advisor", "version": "0.1.0" },
//!   "diagnostics": [
//!     {
//!       "code": "CA101",                      // stable rule code
//!       "name": "blocking-sleep-in-async",    // stable rule name
//!       "severity": "warning",                // "info" | "warning" | "error", after configuration
//!       "message": "…",                       // one sentence
//!       "help": "…",                          // what to do instead, or null
//!       "path": "src/main.rs",                // as the user named it; `/`-separated on every platform
//!       "start": { "line": 3, "column": 5 },  // 1-based; column in characters
//!       "end": { "line": 3, "column": 30 },   // exclusive
//!       "notes": [
//!         { "message": "…", "span": { "start": { "line": 1, "column": 1 }, "end": { "line": 1, "column": 9 } } },
//!         { "message": "…", "span": null }
//!       ],
//!       "item": "handlers::report",           // enclosing items (`::` Rust, `.` Python); "" at top level
//!       "test_code": false,                   // in test code (then `test-code = "info"` made it info)
//!       "fingerprint": "5f1c0d9e2b7a4c38"     // as in baselines and SARIF partialFingerprints; no line number
//!     }
//!   ],
//!   // with `--profile` only: each diagnostic has
//!   //   "runtime": { "status": "confirmed" | "contradicted" | "not-exercised", "verdict": "blocks-executor" | null,
//!   //                "evidence": "…", "report": "report.json" | null, "function", "location", "raised_from" }
//!   // and the document "runtime_only": [{ "function", "location", "verdict", "evidence", "report" }],
//!   // "runtime_stale": [{ "function", "recorded", "now", "report" }]
//!   "summary": {
//!     "findings": 1,               // diagnostics.len()
//!     "files_with_findings": 1,
//!     "files_checked": 14,
//!     "by_severity": { "error": 0, "warning": 1, "info": 0 },
//!     "errors": ["…"]              // paths that could not be checked (each made the exit code 2)
//!   }
//! }
//! ```
//!
//! Diagnostics are sorted by path, line, column. Fields are only ever added under the same `version`; a
//! change to an existing field's meaning bumps it. No timing is included, so equal inputs give equal output.

use std::io::{self, Write};

use serde::Serialize;

use crate::diagnostic::{Diagnostic, Location, Severity, Span};
use crate::engine::CheckReport;

/// The schema version written in `version`.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary<'a>,
    /// `check --profile` only: measurements no finding explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_only: Option<&'a [crate::runtime::RuntimeOnly]>,
    /// `check --profile` only: report entries that no longer match the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_stale: Option<&'a [crate::runtime::StaleEntry]>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'static str,
    name: &'static str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    path: String,
    start: Location,
    end: Location,
    notes: Vec<JsonNote<'a>>,
    item: Option<&'a str>,
    test_code: bool,
    fingerprint: Option<String>,
    /// `check --profile` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime: Option<&'a crate::runtime::RuntimeMatch>,
}

#[derive(Serialize)]
struct JsonNote<'a> {
    message: &'a str,
    span: Option<Span>,
}

#[derive(Serialize)]
struct Summary<'a> {
    findings: usize,
    files_with_findings: usize,
    files_checked: usize,
    by_severity: BySeverity,
    errors: &'a [String],
}

#[derive(Serialize)]
struct BySeverity {
    error: usize,
    warning: usize,
    info: usize,
}

/// A path as written in machine formats: `/`-separated.
pub(crate) fn portable_path(path: &std::path::Path) -> String {
    let s = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '\\' { s.replace('\\', "/") } else { s.into_owned() }
}

/// The working directory (fingerprints of machine formats are relative to it), or `.`.
pub(crate) fn cwd() -> std::path::PathBuf {
    std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."))
}

fn diagnostic(d: &Diagnostic) -> JsonDiagnostic<'_> {
    JsonDiagnostic {
        code: d.rule.code,
        name: d.rule.name,
        severity: d.severity,
        message: &d.message,
        help: d.help.as_deref(),
        path: portable_path(&d.path),
        start: d.span.start,
        end: d.span.end,
        notes: d.notes.iter().map(|n| JsonNote { message: &n.message, span: n.span }).collect(),
        item: d.placement.as_ref().map(|p| p.item.as_str()),
        test_code: d.in_test_code(),
        fingerprint: crate::baseline::fingerprint(d, &cwd()),
        runtime: d.runtime.as_ref(),
    }
}

/// Writes the report as one pretty-printed JSON object and a newline.
pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let count = |s: Severity| report.diagnostics.iter().filter(|d| d.severity == s).count();
    let doc = Document {
        version: SCHEMA_VERSION,
        tool: Tool { name: "conc-advisor", version: env!("CARGO_PKG_VERSION") },
        diagnostics: report.diagnostics.iter().map(diagnostic).collect(),
        summary: Summary {
            findings: report.diagnostics.len(),
            files_with_findings: report.files_with_findings(),
            files_checked: report.files_checked,
            by_severity: BySeverity {
                error: count(Severity::Error),
                warning: count(Severity::Warning),
                info: count(Severity::Info),
            },
            errors: &report.errors,
        },
        runtime_only: report.runtime.as_ref().map(|r| r.runtime_only.as_slice()),
        runtime_stale: report.runtime.as_ref().map(|r| r.stale.as_slice()),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
