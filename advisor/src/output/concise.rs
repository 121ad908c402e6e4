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
            "{}:{}:{}: {} [{}] {}",
            d.path.display(),
            d.span.start.line,
            d.span.start.column,
            d.rule.code,
            d.severity,
            d.message
        )?;
    }
    if !opts.quiet {
        writeln!(out, "{}", super::summary(report))?;
    }
    Ok(())
}
