//! Python analysis (issue 6): not yet implemented; the walker does not hand Python files to it yet.

pub mod rules;

use std::path::Path;

use crate::diagnostic::Diagnostic;
use crate::settings::Settings;

/// Analyses one Python file's text.
pub fn analyze(_path: &Path, _source: &str, _settings: &Settings) -> Vec<Diagnostic> {
    Vec::new()
}
