//! conc-advisor's library: the static checker behind `conc-advisor check`, with no platform-specific dependency
//! (the binary and its argument parsing are the `conc-advisor-cli` package in `advisor/cli`; the external sampler
//! of `conc-advisor profile` is `conc-sampler` in `profiler/sampler`).
//!
//! Layout: [`diagnostic`] (what a finding is), [`registry`] (every rule's code, name, severity and docs),
//! [`settings`] (what a run is configured to do), [`config`] (configuration files, their discovery, and how
//! they combine with the command line into settings), [`walk`] (which files a run reads), [`language`] (what a language is to the rest: one trait, one list), [`engine`] (reads,
//! analyses and orders findings in parallel), [`suppress`] (suppression comments), [`rust`] and [`python`]
//! (the per-language analyses and their rules) and [`output`] (the report formats).

#![forbid(unsafe_code)]

pub mod baseline;
pub mod cache;
pub mod config;
pub mod diagnostic;
pub mod enclosing;
pub mod engine;
pub mod language;
pub mod output;
pub mod python;
pub mod registry;
pub mod runtime;
pub mod rust;
pub mod settings;
pub mod suppress;
pub mod walk;

pub use diagnostic::{Diagnostic, Location, Note, Severity, Span};
pub use registry::RuleMeta;
pub use settings::Settings;

/// What the unit tests of several modules share.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// Every file under `root`, at any depth, whose extension is `ext`, sorted.
    pub(crate) fn files_under(root: PathBuf, ext: &str) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).expect("fixtures are readable").flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == ext) {
                    files.push(p);
                }
            }
        }
        files.sort();
        files
    }
}
