//! The command line: argument parsing (clap), the `check`, `rules` and `explain` subcommands, and exit codes
//! (0 nothing at or above `--fail-on`, 1 findings, 2 usage or I/O error).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::engine::{self, CheckOptions};
use crate::registry;
use crate::settings::Settings;

/// Tells whether concurrent work is CPU-bound or I/O-bound, and whether the threads, processes, pools and
/// async tasks chosen fit it.
#[derive(Debug, Parser)]
#[command(name = "conc-advisor", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes:\n  0  no finding at or above --fail-on\n  1  findings\n  2  usage or I/O error";

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Rust and Python sources for concurrency mistakes.
    Check(CheckArgs),
    /// List every rule.
    Rules,
    /// Run a command (or attach to a pid) and classify its threads and processes from outside.
    Profile(crate::profile::ProfileArgs),
    /// Render a saved JSON report again (summary, --html).
    Report(crate::profile::ReportArgs),
    /// Print a rule's full documentation.
    Explain {
        /// Rule code (`CA101`) or name.
        rule: String,
    },
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Files or directories to check.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    jobs: usize,
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Check(args) => {
            let report = engine::check(&CheckOptions { roots: args.paths, jobs: args.jobs }, &Settings::default());
            let mut out = std::io::stdout().lock();
            if let Err(e) = crate::output::write_concise(&report, &mut out) {
                eprintln!("conc-advisor: cannot write output: {e}");
                return ExitCode::from(2);
            }
            for e in &report.errors {
                eprintln!("conc-advisor: {e}");
            }
            if !report.errors.is_empty() {
                ExitCode::from(2)
            } else if report.diagnostics.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Command::Profile(args) => crate::profile::run_profile(args),
        Command::Report(args) => crate::profile::run_report(args),
        Command::Rules => {
            for r in registry::all() {
                println!("{}  {:<32} {:<8} {}", r.code, r.name, r.severity, r.summary);
            }
            ExitCode::SUCCESS
        }
        Command::Explain { rule } => match registry::find(&rule) {
            Some(r) => {
                println!("{} ({}) — {}\n\n{}", r.name, r.code, r.summary, r.doc);
                ExitCode::SUCCESS
            }
            None => {
                eprintln!("conc-advisor: no rule named `{rule}`; `conc-advisor rules` lists them");
                ExitCode::from(2)
            }
        },
    }
}
