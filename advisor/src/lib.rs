//! conc-advisor's library: static checks (`check`) and the command-line front end that drives them.
//!
//! Layout: [`diagnostic`] (what a finding is), [`registry`] (every rule's code, name, severity and docs),
//! [`settings`] (what a run is configured to do), [`config`] (configuration files, their discovery, and how
//! they combine with the command line into settings), [`walk`] (which files a run reads), [`engine`] (reads,
//! analyses and orders findings in parallel), [`suppress`] (suppression comments), [`rust`] and [`python`]
//! (the per-language analyses and their rules), [`output`] (the report formats) and [`cli`] (argument
//! parsing and exit codes).

#![forbid(unsafe_code)]

pub mod baseline;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod enclosing;
pub mod engine;
pub mod output;
pub mod profile;
pub mod python;
pub mod registry;
pub mod rust;
pub mod settings;
pub mod suppress;
pub mod walk;

pub use diagnostic::{Diagnostic, Location, Note, Severity, Span};
pub use registry::RuleMeta;
pub use settings::Settings;
