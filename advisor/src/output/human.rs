//! The `human` format (default): rustc-style diagnostics rendered with `annotate-snippets`, then a summary.
//!
//! ```text
//! warning[CA101]: `std::thread::sleep` blocks the executor thread
//!   --> src/main.rs:4:5
//!    |
//!  2 | async fn handler() {
//!    | ------------------ in this async fn
//!  3 |     let d = Duration::from_millis(10);
//!  4 |     std::thread::sleep(d);
//!    |     ^^^^^^^^^^^^^^^^^^^^^
//!    |
//!    = help: use `tokio::time::sleep(d).await`
//!    = note: …
//!
//! 1 finding in 1 file (1 warning); 3 files checked in 12 ms
//! ```
//!
//! The primary span is underlined with `^`; every note that carries a span is drawn in the same snippet as a
//! labelled secondary span (`-`); notes without a span and the help follow as `= note:` / `= help:` lines.
//! Lines between distant spans are folded. Colour follows `--color` (auto: only on a terminal, honouring
//! `NO_COLOR` and `CLICOLOR_FORCE`). The summary is left out with `--quiet`.

use std::io::{self, Write};
use std::ops::Range;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use super::OutputOptions;
use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::engine::CheckReport;

/// Writes every finding, a blank line after each, then the summary.
pub fn write(report: &CheckReport, opts: OutputOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut index: Option<(&std::path::Path, LineIndex)> = None;
    for d in &report.diagnostics {
        let source = report.sources.get(&d.path).map(|s| &**s);
        let lines = match (&index, source) {
            (Some((p, li)), Some(_)) if *p == d.path.as_path() => Some(li),
            (_, Some(src)) => {
                index = Some((d.path.as_path(), LineIndex::new(src)));
                index.as_ref().map(|(_, li)| li)
            }
            (_, None) => None,
        };
        let text = match (source, lines) {
            (Some(src), Some(li)) => render(d, Some((src, li)), opts.color),
            _ => render(d, None, opts.color),
        };
        writeln!(out, "{text}\n")?;
    }
    write_runtime_summary(report, out)?;
    if !opts.quiet {
        writeln!(out, "{}", super::summary(report))?;
    }
    Ok(())
}

/// `check --profile`: the measurements no finding explains, and the stale report entries.
pub fn write_runtime_summary(report: &CheckReport, out: &mut dyn Write) -> io::Result<()> {
    let Some(rt) = &report.runtime else { return Ok(()) };
    if !rt.runtime_only.is_empty() {
        writeln!(out, "measured at run time, not explained by any finding:")?;
        for r in &rt.runtime_only {
            writeln!(out, "  - {}", r.message())?;
        }
        writeln!(out)?;
    }
    if !rt.stale.is_empty() {
        writeln!(out, "report entries that no longer match the source:")?;
        for s in &rt.stale {
            writeln!(out, "  - {}", s.message())?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Renders one finding; `source` is the file's text (with its line index), when it is known.
pub fn render_diagnostic(d: &Diagnostic, source: Option<&str>, color: bool) -> String {
    match source {
        Some(src) => render(d, Some((src, &LineIndex::new(src))), color),
        None => render(d, None, color),
    }
}

/// Byte offsets of the start of every line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        LineIndex { starts: std::iter::once(0).chain(src.match_indices('\n').map(|(i, _)| i + 1)).collect() }
    }

    fn lines(&self) -> usize {
        self.starts.len()
    }

    /// The byte range of 1-based `line`, without its line break.
    fn line_range(&self, src: &str, line: usize) -> Range<usize> {
        let i = line.clamp(1, self.lines()) - 1;
        let start = self.starts[i];
        let mut end = self.starts.get(i + 1).map_or(src.len(), |&e| e - 1);
        if end > start && src.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// The byte offset of `loc` (clamped into the file).
    fn offset(&self, src: &str, loc: Location) -> usize {
        let range = self.line_range(src, loc.line);
        let text = &src[range.clone()];
        let col = loc.column.max(1) - 1;
        let within = text.char_indices().nth(col).map_or(text.len(), |(b, _)| b);
        range.start + within
    }
}

fn level(s: Severity) -> Level<'static> {
    match s {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

fn render(d: &Diagnostic, source: Option<(&str, &LineIndex)>, color: bool) -> String {
    let renderer = if color { Renderer::styled() } else { Renderer::plain() };
    let path = d.path.display().to_string();
    let title = level(d.severity).primary_title(d.message.as_str()).id(d.rule.code);
    let mut group: Group<'_> = match source {
        Some((src, li)) if !src.is_empty() => {
            // The snippet covers the lines from the first to the last span; folding hides the gaps.
            let spans = std::iter::once(d.span).chain(d.notes.iter().filter_map(|n| n.span));
            let lo = spans.clone().map(|s| s.start.line.clamp(1, li.lines())).min().unwrap_or(1);
            let hi = spans.map(|s| s.end.line.max(s.start.line).clamp(1, li.lines())).max().unwrap_or(lo);
            let base = li.line_range(src, lo).start;
            let end = li.line_range(src, hi).end;
            let text = &src[base..end];
            let range = |s: crate::diagnostic::Span| -> Range<usize> {
                let a = li.offset(src, s.start).clamp(base, end) - base;
                let mut b = li.offset(src, s.end).clamp(base, end) - base;
                if b < a {
                    b = a;
                }
                if b == a {
                    // Widen an empty span to the character under it, so it shows.
                    b = text[a..].chars().next().filter(|c| *c != '\n' && *c != '\r').map_or(a, |c| a + c.len_utf8());
                }
                a..b
            };
            let mut snippet = Snippet::source(text).line_start(lo).path(path).fold(true);
            snippet = snippet.annotation(AnnotationKind::Primary.span(range(d.span)));
            for n in &d.notes {
                if let Some(s) = n.span {
                    snippet = snippet.annotation(AnnotationKind::Context.span(range(s)).label(n.message.as_str()));
                }
            }
            title.element(snippet)
        }
        _ => title.element(Origin::path(path).line(d.span.start.line.max(1)).char_column(d.span.start.column.max(1))),
    };
    for n in d.notes.iter().filter(|n| n.span.is_none() || source.is_none()) {
        group = group.element(Level::NOTE.message(n.message.as_str()));
    }
    let runtime = d.runtime.as_ref().map(crate::runtime::RuntimeMatch::note);
    if let Some(note) = &runtime {
        group = group.element(Level::NOTE.message(note.as_str()));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    renderer.render(&[group])
}
