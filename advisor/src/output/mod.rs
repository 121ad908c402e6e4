//! Report formats: how a [`CheckReport`](crate::engine::CheckReport) is written out.

use std::io::{self, Write};

use crate::engine::CheckReport;

/// `path:line:col: CODE [severity] message` — one line a finding.
pub fn write_concise(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
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
    Ok(())
}
