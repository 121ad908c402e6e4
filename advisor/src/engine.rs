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

/// A file's text with its findings and, for Rust, its call-graph facts.
type Analysed = (Arc<str>, FileResult, Option<crate::rust::callgraph::FileFacts>);

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

/// Like [`analyze_source`], but a Rust file's call-graph facts are returned instead of being linked as a
/// crate of their own: [`check`] links the facts of all files of a crate with
/// [`link_all`](crate::rust::callgraph::link_all).
pub fn analyze_source_for_crate(
    path: &Path,
    kind: SourceKind,
    source: &str,
    settings: &Settings,
) -> (FileResult, Option<crate::rust::callgraph::FileFacts>) {
    let (mut diags, facts) = match kind {
        SourceKind::Rust => crate::rust::analyze_with_facts(path, source, settings),
        SourceKind::Python => (crate::python::analyze(path, source, settings), None),
    };
    for d in &mut diags {
        d.severity = settings.severity_of(d.rule);
    }
    (diags, facts)
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
                    let (diags, facts) = analyze_source_for_crate(&file.path, file.kind, &text, settings);
                    (text, diags, facts)
                });
                (file, r)
            })
            .collect();
        let mut report = CheckReport { errors: walked.errors, ..CheckReport::default() };
        // The crate-level phase of the call graph (facts only; no source is parsed again).
        let mut crate_facts = Vec::new();
        let mut texts: HashMap<PathBuf, Arc<str>> = HashMap::new();
        for (file, r) in results {
            match r {
                Ok((text, diags, facts)) => {
                    if let Some(f) = facts {
                        if !f.sites.is_empty() || !f.deferred.is_empty() {
                            texts.insert(file.path.clone(), text.clone());
                        }
                        crate_facts.push(f);
                    }
                    report.files_checked += 1;
                    if !diags.is_empty() {
                        report.sources.insert(file.path.clone(), text);
                        report.diagnostics.extend(diags);
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        for mut d in crate::rust::callgraph::link_all(crate_facts, settings) {
            d.severity = settings.severity_of(d.rule);
            if let Some(text) = texts.get(&d.path) {
                report.sources.entry(d.path.clone()).or_insert_with(|| text.clone());
            }
            report.diagnostics.push(d);
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
