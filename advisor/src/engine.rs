//! One `check` run: walk the roots, find each file's configuration, read and analyse every file in parallel
//! (rayon, `--jobs`), apply suppressions, and return the findings in a deterministic order (path, line, column,
//! then rule and message) together with what could not be read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::config::{ConfigResolver, Resolved};
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
    /// The text of every file that has a finding, for snippets. Files without findings are not kept.
    pub sources: HashMap<PathBuf, Arc<str>>,
    /// Files read and analysed.
    pub files_checked: usize,
    /// Problems that are not findings: unreadable or non-UTF-8 files, missing paths. Each makes the exit
    /// code 2.
    pub errors: Vec<String>,
    /// Problems that do not change the exit code: symlink loops.
    pub warnings: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl CheckReport {
    /// How many distinct files have at least one finding.
    pub fn files_with_findings(&self) -> usize {
        let mut n = 0;
        let mut last: Option<&Path> = None;
        for d in &self.diagnostics {
            if last != Some(d.path.as_path()) {
                n += 1;
                last = Some(&d.path);
            }
        }
        n
    }
}

/// The result of analysing one file's text.
pub type FileResult = Vec<Diagnostic>;

/// What a worker hands back for one file: the text (only when there are findings) and the findings.
type Analysed = (Option<Arc<str>>, FileResult);

/// Analyses one file's text with the analysis its kind calls for, then applies what every language shares:
/// disabled rules are dropped, severity overrides applied, and suppression comments honoured (see
/// [`suppress`](crate::suppress)). Pure: no I/O, no global state.
pub fn analyze_source(path: &Path, kind: SourceKind, source: &str, settings: &Settings) -> FileResult {
    let mut diags = match kind {
        SourceKind::Rust => crate::rust::analyze(path, source, settings),
        SourceKind::Python => crate::python::analyze(path, source, settings),
    };
    diags.retain(|d| settings.is_enabled(d.rule));
    for d in &mut diags {
        d.severity = settings.severity_of(d.rule);
    }
    crate::suppress::apply(path, kind, source, diags, settings)
}

/// Runs a check with one set of settings for every file (no configuration files are read).
pub fn check(opts: &CheckOptions, settings: &Settings) -> CheckReport {
    let resolver = ConfigResolver::fixed(Resolved::fixed(settings.clone()));
    match check_with(opts, &resolver) {
        Ok(r) => r,
        // A fixed resolver has no configuration files to get wrong.
        Err(errors) => CheckReport { errors, ..CheckReport::default() },
    }
}

/// Runs a check where each file's settings come from `resolver` (its configuration file and the command line).
/// Returns the configuration errors instead when any configuration met on the way is invalid: then nothing
/// is analysed.
pub fn check_with(opts: &CheckOptions, resolver: &ConfigResolver) -> Result<CheckReport, Vec<String>> {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(opts.jobs).build();
    let run = || {
        // Load the configuration of every root first (explicit files are never asked about exclusion), then
        // the walk loads those of the directories below.
        for root in &opts.roots {
            if root.is_dir() {
                resolver.for_dir(root);
            } else {
                resolver.for_path(root);
            }
        }
        let exclude = |p: &Path| resolver.for_path(p).is_excluded(p);
        let walked = walk::walk(&opts.roots, &exclude, opts.jobs);
        let config_errors = resolver.errors();
        if !config_errors.is_empty() {
            return Err(config_errors);
        }
        let results: Vec<(SourceFile, Result<Analysed, String>)> = walked
            .files
            .into_par_iter()
            .map(|file| {
                let r = read_source(&file.path).map(|text| {
                    let settings = resolver.for_path(&file.path).settings_for(&file.path);
                    let diags = analyze_source(&file.path, file.kind, &text, &settings);
                    // Keep the text only for snippets of findings: memory stays bounded by the files in flight.
                    (if diags.is_empty() { None } else { Some(text) }, diags)
                });
                (file, r)
            })
            .collect();
        let mut report = CheckReport { errors: walked.errors, warnings: walked.warnings, ..CheckReport::default() };
        for (file, r) in results {
            match r {
                Ok((text, diags)) => {
                    report.files_checked += 1;
                    if let Some(text) = text {
                        report.sources.insert(file.path.clone(), text);
                        report.diagnostics.extend(diags);
                    }
                }
                Err(e) => report.errors.push(e),
            }
        }
        // Every configuration was loaded before the analysis; this only guards against a path the walk did
        // not ask about.
        let config_errors = resolver.errors();
        if !config_errors.is_empty() {
            return Err(config_errors);
        }
        report.diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Ok(report)
    };
    let mut report = match pool {
        Ok(pool) => pool.install(run),
        Err(_) => run(),
    }?;
    report.elapsed = start.elapsed();
    Ok(report)
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
