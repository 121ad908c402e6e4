//! One `check` run: walk the roots, read and analyse every file in parallel (rayon), apply suppressions, and
//! return the findings in a deterministic order together with what could not be read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::settings::Settings;
use crate::walk::{self, SourceFile, SourceKind};

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Files or directories to check.
    pub roots: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    pub jobs: usize,
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Findings sorted by path, line, column.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file that has a finding, for snippets.
    pub sources: HashMap<PathBuf, Arc<str>>,
    /// Files read and analysed.
    pub files_checked: usize,
    /// Problems that are not findings: unreadable files, missing paths, symlink loops. Each makes the exit
    /// code 2.
    pub errors: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// The result of analysing one file's text.
pub type FileResult = Vec<Diagnostic>;

/// A file's text with its findings.
type Analysed = (Arc<str>, FileResult);

/// Analyses one file's text with the analysis its kind calls for. Pure: no I/O, no global state.
pub fn analyze_source(path: &Path, kind: SourceKind, source: &str, settings: &Settings) -> FileResult {
    let mut diags = match kind {
        SourceKind::Rust => crate::rust::analyze(path, source, settings),
        SourceKind::Python => crate::python::analyze(path, source, settings),
    };
    for d in &mut diags {
        d.severity = settings.severity_of(d.rule);
    }
    diags
}

/// Runs a check with one set of settings for every file.
pub fn check(opts: &CheckOptions, settings: &Settings) -> CheckReport {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build();
    let run = || {
        let walked = walk::walk(&opts.roots, &|_| false, opts.jobs.max(1));
        let results: Vec<(SourceFile, Result<Analysed, String>)> = walked
            .files
            .into_par_iter()
            .map(|file| {
                let r = read_source(&file.path).map(|text| {
                    let diags = analyze_source(&file.path, file.kind, &text, settings);
                    (text, diags)
                });
                (file, r)
            })
            .collect();
        let mut report = CheckReport { errors: walked.errors, ..CheckReport::default() };
        for (file, r) in results {
            match r {
                Ok((text, diags)) => {
                    report.files_checked += 1;
                    if !diags.is_empty() {
                        report.sources.insert(file.path.clone(), text);
                        report.diagnostics.extend(diags);
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        report.diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        report
    };
    let mut report = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    };
    report.elapsed = start.elapsed();
    report
}

/// Reads a file as UTF-8, with a message that says what went wrong when it cannot.
pub fn read_source(path: &Path) -> Result<Arc<str>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("{}: cannot read: {}", path.display(), walk::io_message(&e)))?;
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Arc::from(s)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(format!("{}: not valid UTF-8 (first bad byte at line {line}); skipped", path.display()))
        }
    }
}
