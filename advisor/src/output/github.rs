//! The `github` format: GitHub Actions workflow commands, which become annotations on the files of a pull
//! request. One line a finding:
//!
//! ```text
//! ::warning file=src/main.rs,line=3,col=5,endLine=3,endColumn=30,title=CA101 blocking-sleep-in-async::message
//! ```
//!
//! `file` is relative to the working directory (where the workflow checked the repository out) when the path
//! lies below it. Severity `error` gives `::error`, `warning` gives `::warning`, `info` gives `::notice`. The help is appended
//! to the message on a new line. Values are escaped as the Actions runner expects (`%`, CR and LF everywhere;
//! `:` and `,` in properties too).

use std::io::{self, Write};

use crate::diagnostic::Severity;
use crate::engine::CheckReport;
use crate::output::relative_to_cwd;

/// Writes one workflow command a finding.
pub fn write(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    for d in &report.diagnostics {
        let cmd = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        if let Some(rt) = &d.runtime {
            message.push_str("\nnote: ");
            message.push_str(&rt.note());
        }
        writeln!(
            out,
            "::{cmd} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&super::json::portable_path(&relative_to_cwd(&d.path))),
            d.span.start.line,
            d.span.start.column,
            d.span.end.line,
            d.span.end.column,
            escape_property(&format!("{} {}", d.rule.code, d.rule.name)),
            escape_data(&message)
        )?;
    }
    Ok(())
}

/// Escapes a command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escaping() {
        assert_eq!(super::escape_data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(super::escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
