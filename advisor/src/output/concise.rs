//! The `concise` format: one line a finding, `path:line:col: CODE [severity] message`, then the summary
//! (unless `--quiet`). Easy to grep, and editors jump to `path:line:col`.

use std::io::{self, Write};

use super::OutputOptions;
use crate::engine::CheckReport;

/// Writes one line a finding and the summary.
pub fn write(report: &CheckReport, opts: OutputOptions, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        writeln!(
            out,
            "{}:{}:{}: {} [{}] {}{}",
            d.path.display(),
            d.span.start.line,
            d.span.start.column,
            d.rule.code,
            d.severity,
            d.message,
            runtime_suffix(d)
        )?;
    }
    super::human::write_runtime_summary(report, out)?;
    if !opts.quiet {
        writeln!(out, "{}", super::summary(report))?;
    }
    Ok(())
}

/// `check --profile`: ` (runtime: confirmed, blocks-executor)`; empty without it.
fn runtime_suffix(d: &crate::diagnostic::Diagnostic) -> String {
    match &d.runtime {
        Some(rt) => match rt.verdict {
            Some(v) => format!(" (runtime: {}, {v})", rt.status.as_str()),
            None => format!(" (runtime: {})", rt.status.as_str()),
        },
        None => String::new(),
    }
}
