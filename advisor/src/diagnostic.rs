//! What a finding is: [`Diagnostic`], its [`Severity`], its [`Span`] in the source, and its notes.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::registry::RuleMeta;

/// How serious a finding is. Ordered: `Info < Warning < Error`, so `--fail-on` compares with `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice: worth knowing, rarely wrong to leave.
    Info,
    /// Probably a mistake in how work is scheduled.
    Warning,
    /// Will misbehave (panic, deadlock, or a file that cannot be read).
    Error,
}

impl Severity {
    /// The lowercase word used in output and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `info`, `warning` (or `warn`) and `error`, case-insensitively.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "note" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" | "deny" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `text` with its control characters escaped (`\0`, `\u{1b}`, `\n`): messages that quote a file's text
/// never carry raw control bytes to a terminal or a log.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\0' => "\\0".to_string(),
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// `n` with a comma every three digits (`3,000`), for counts in messages.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A position in a file: 1-based line, 1-based column counted in characters (as rustc and ruff print them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters (not bytes).
    pub column: usize,
}

impl Location {
    /// A location from 1-based line and column.
    pub const fn new(line: usize, column: usize) -> Self {
        Location { line, column }
    }

    /// The location of byte offset `at` of `text` (clamped to the text; a byte inside a character counts as
    /// that character).
    pub fn from_offset(text: &str, at: usize) -> Self {
        let b = &text.as_bytes()[..at.min(text.len())];
        let line_start = b.iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
        let line = 1 + b.iter().filter(|&&c| c == b'\n').count();
        // Characters start at every byte that is not a UTF-8 continuation byte.
        let column = 1 + b[line_start..].iter().filter(|&&c| (c as i8) >= -0x40).count();
        Location { line, column }
    }
}

/// A half-open range of the source, `start` inclusive and `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Span {
    /// First character of the range.
    pub start: Location,
    /// One past the last character of the range.
    pub end: Location,
}

impl Span {
    /// A span from its two ends.
    pub const fn new(start: Location, end: Location) -> Self {
        Span { start, end }
    }

    /// Converts a `proc_macro2` span (with the `span-locations` feature: 1-based lines, 0-based char columns).
    pub fn from_pm2(span: proc_macro2::Span) -> Self {
        let (s, e) = (span.start(), span.end());
        Span { start: Location::new(s.line, s.column + 1), end: Location::new(e.line, e.column + 1) }
    }
}

/// A secondary message, optionally pointing at a place in the same file (rustc's `note:` with a span).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Note {
    /// The text of the note.
    pub message: String,
    /// Where the note points, if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub span: Option<Span>,
}

/// One finding of one rule in one file. Serialisable for the cache ([`crate::cache`]): the rule by its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The rule that made it.
    #[serde(with = "crate::registry::by_code")]
    pub rule: &'static RuleMeta,
    /// Its severity after configuration overrides.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The file, as the user named it (relative paths stay relative).
    pub path: PathBuf,
    /// The primary span.
    pub span: Span,
    /// What to do instead (printed as `= help:`).
    pub help: Option<String>,
    /// Further context: the enclosing async function, each step of a call chain, a Clippy equivalent.
    pub notes: Vec<Note>,
    /// Where the finding sits in its file: set by the engine after the analysis
    /// ([`enclosing::annotate`](crate::enclosing::annotate)); `None` as the rules make it.
    pub placement: Option<Box<Placement>>,
    /// What run-time measurements say about it (`check --profile`), once fused.
    #[serde(skip)]
    pub runtime: Option<crate::runtime::RuntimeMatch>,
}

/// Where a finding sits in its file, for test-code handling, baselines and SARIF fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Placement {
    /// The items enclosing the finding, outermost first, joined with `::` (Rust: `tests::it_works`,
    /// `<Pool as Drop>::drop`) or `.` (Python: `TestPool.test_run`); empty at the top level of a file.
    pub item: String,
    /// Whether the finding is in test code (a test file or directory, a `#[cfg(test)]` item, a test function).
    pub test_code: bool,
    /// A hash of the rule, the enclosing item, the normalised text of the finding's first line and its rank
    /// among findings with the same three in the file: no line number, so it survives edits elsewhere. The
    /// fingerprint of a baseline or SARIF adds the path ([`crate::baseline::fingerprint`]).
    pub local_hash: u64,
}

impl Diagnostic {
    /// A diagnostic at `span` with the rule's default severity and no help or notes.
    pub fn new(rule: &'static RuleMeta, path: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity: rule.severity,
            message: message.into(),
            path: path.into(),
            span,
            help: None,
            notes: Vec::new(),
            runtime: None,
            placement: None,
        }
    }

    /// Sets the `help:` line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note, pointing at `span` if given.
    #[must_use]
    pub fn with_note(mut self, message: impl Into<String>, span: Option<Span>) -> Self {
        self.notes.push(Note { message: message.into(), span });
        self
    }

    /// Whether the finding is in test code (known once the engine has placed it).
    pub fn in_test_code(&self) -> bool {
        self.placement.as_ref().is_some_and(|p| p.test_code)
    }

    /// The order findings are printed in: path, line, column, then rule code and message as tie-breakers,
    /// so output is the same whatever the thread scheduling.
    pub fn sort_key(&self) -> (&std::path::Path, Location, Location, &'static str, &str) {
        (&self.path, self.span.start, self.span.end, self.rule.code, &self.message)
    }
}
