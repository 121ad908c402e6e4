//! The command line: argument parsing (clap), the `check`, `rules` and `explain` subcommands, and exit codes
//! (0 nothing at or above `--fail-on`, 1 findings, 2 usage, configuration or I/O error).
//!
//! `check` reads its configuration as [`config`](conc_advisor::config) describes, prints findings in the format
//! [`output`] describes, and writes every problem that is not a finding (a missing path, an
//! unreadable or non-UTF-8 file, a symlink loop) to stderr as it goes on with the other files.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit::ExitStatus;

use clap::{Parser, Subcommand, ValueEnum};

use conc_advisor::config::{ConfigResolver, Overrides};
use conc_advisor::diagnostic::Severity;
use conc_advisor::engine::{self, CheckOptions, CheckReport};
use conc_advisor::output::{self, Format, OutputOptions};
use conc_advisor::registry;
use conc_advisor::settings::TestCode;

/// Tells whether concurrent work is CPU-bound or I/O-bound, and whether the threads, processes, pools and
/// async tasks chosen fit it.
#[derive(Debug, Parser)]
#[command(name = "conc-advisor", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on (or --exit-zero)
  1  at least one finding at or above --fail-on (default: warning)
  2  usage or configuration error, or a path that could not be checked (missing, unreadable, not UTF-8),
     even when there are findings";

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Rust and Python sources for concurrency mistakes.
    #[command(after_help = CHECK_HELP)]
    Check(Box<CheckArgs>),
    /// List every rule: code, name, default severity, whether it runs by default, summary.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Human)]
        format: RulesFormat,
    },
    /// Run a command (or attach to a pid) and classify its threads and processes from outside.
    Profile(conc_sampler::ProfileArgs),
    /// Render a saved JSON report again (summary, --html).
    Report(conc_sampler::ReportArgs),
    /// Remove the cache of `check` (`.conc-advisor-cache` at the project root, or --cache-dir).
    Clean {
        /// The cache directory to remove.
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Print a rule's full documentation.
    Explain {
        /// Rule code (`CA101`) or name (`blocking-sleep-in-async`).
        rule: String,
    },
}

const CHECK_HELP: &str = "\
Rule selectors are codes (CA101), names (blocking-sleep-in-async), code prefixes (CA1) or ALL. A rule off by
default (`conc-advisor rules`) runs only when --select/--extend-select names its code or name; ALL and prefixes
select only the rules on by default.
Without --config, each file uses the nearest conc-advisor.toml (or pyproject.toml with [tool.conc-advisor])
found upwards from it.

Suppress a finding with `// conc-advisor: allow(CODE-or-name)` on its line or the line above,
`// conc-advisor: allow-file(...)` anywhere in the file, or in Python `# noqa: CODE`.

Exit codes:
  0  no finding at or above --fail-on (or --exit-zero)
  1  at least one finding at or above --fail-on (default: warning)
  2  usage or configuration error, or a path that could not be checked (missing, unreadable, not UTF-8),
     even when there are findings";

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Files or directories to check.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0, value_name = "N")]
    jobs: usize,
    /// Run only these rules (replaces the configuration's selection). Comma-separated, repeatable.
    #[arg(long, value_delimiter = ',', value_parser = parse_selector, value_name = "RULES")]
    select: Option<Vec<String>>,
    /// Run these rules in addition to the selection. Comma-separated, repeatable.
    #[arg(long, value_delimiter = ',', value_parser = parse_selector, value_name = "RULES")]
    extend_select: Vec<String>,
    /// Do not run these rules. Comma-separated, repeatable.
    #[arg(long, value_delimiter = ',', value_parser = parse_selector, value_name = "RULES")]
    ignore: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    format: FormatArg,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Use this configuration file for every path (no discovery).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// When to colour the human format.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
    /// Print findings only: no closing summary.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Exit with 0 even when there are findings (2 still reports errors).
    #[arg(long)]
    exit_zero: bool,
    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    fail_on: FailOn,
    /// Print the number of findings per rule instead of the findings (a JSON array with --format json; not
    /// with sarif or github).
    #[arg(long)]
    statistics: bool,
    /// What to do with findings in test code [default: the configuration's `test-code`, else info].
    #[arg(long, value_enum, value_name = "MODE")]
    test_code: Option<TestCodeArg>,
    /// Report only findings this baseline file does not record (see --write-baseline).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record the findings in this baseline file instead of reporting them (exit 0); entries that no longer
    /// occur are dropped, those of files outside the checked paths kept.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Check standard input as if it were this file (its configuration, suppressions, test code, and the
    /// call-graph facts of its crate or project, from the cache where it holds them); give `-` as the path.
    #[arg(long, value_name = "PATH")]
    stdin_filename: Option<PathBuf>,
    /// Keep the cache in DIR (default: `.conc-advisor-cache` at the project root: the nearest directory upwards
    /// from the current one with `.git`, `conc-advisor.toml`, `pyproject.toml` or a workspace `Cargo.toml`).
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache: analyse every file.
    #[arg(long)]
    no_cache: bool,
    /// A saved run-time report (`#[profile_concurrency]`'s CONC_PROFILER_REPORT, or `profile --json`) to
    /// confirm or contradict findings with. Repeatable.
    #[arg(long = "profile", value_name = "REPORT.json")]
    profiles: Vec<PathBuf>,
    /// With --profile: exit 1 only for confirmed findings at or above --fail-on.
    #[arg(long, requires = "profiles")]
    fail_on_confirmed: bool,
    /// With --profile: keep confirmed findings at their severity (by default raised one step).
    #[arg(long, requires = "profiles")]
    no_runtime_severity: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestCodeArg {
    /// Report findings in test code like any other.
    Report,
    /// Report them as info: they never fail the run under the default --fail-on.
    Info,
    /// Do not report them.
    Ignore,
}

impl From<TestCodeArg> for TestCode {
    fn from(t: TestCodeArg) -> TestCode {
        match t {
            TestCodeArg::Report => TestCode::Report,
            TestCodeArg::Info => TestCode::Info,
            TestCodeArg::Ignore => TestCode::Ignore,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// rustc-style snippets and a summary.
    Human,
    /// One line a finding: `path:line:col: CODE [severity] message`.
    Concise,
    /// A stable JSON document.
    Json,
    /// SARIF 2.1.0 (code scanning).
    Sarif,
    /// GitHub Actions annotations.
    Github,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Human => Format::Human,
            FormatArg::Concise => Format::Concise,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RulesFormat {
    /// A table.
    Human,
    /// A JSON array.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    /// Colour when writing to a terminal (honours NO_COLOR and CLICOLOR_FORCE).
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any finding fails.
    Info,
    /// Warnings and errors fail; info is advice.
    Warning,
    /// Only errors fail.
    Error,
}

impl From<FailOn> for Severity {
    fn from(f: FailOn) -> Severity {
        match f {
            FailOn::Info => Severity::Info,
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }
    }
}

/// Validates one rule selector (clap calls it for every comma-separated item).
fn parse_selector(s: &str) -> Result<String, String> {
    let s = s.trim();
    if registry::select(s).is_empty() {
        Err(format!(
            "unknown rule selector `{s}` (expected a code such as CA101, a rule name, a code prefix such as CA1, \
             or ALL; `conc-advisor rules` lists them)"
        ))
    } else {
        Ok(s.to_string())
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return (if e.use_stderr() { ExitStatus::Error } else { ExitStatus::Success }).into();
        }
    };
    match cli.command {
        Command::Check(args) => run_check(&args).into(),
        Command::Rules { format } => run_rules(format).into(),
        Command::Explain { rule } => run_explain(&rule).into(),
        Command::Clean { cache_dir } => run_clean(cache_dir).into(),
        Command::Profile(args) => run_profile(args).into(),
        Command::Report(args) => run_report(args).into(),
    }
}

/// `profile`: the command's own status, or why it could not be profiled; a failed output turns success into 2.
fn run_profile(args: conc_sampler::ProfileArgs) -> ExitStatus {
    match conc_sampler::run_profile(args) {
        Ok(done) => {
            for e in &done.output_errors {
                eprintln!("conc-advisor: {e}");
            }
            if !done.output_errors.is_empty() && done.exit_code == 0 {
                ExitStatus::Error
            } else {
                ExitStatus::Child(done.exit_code)
            }
        }
        Err(e) => {
            eprintln!("conc-advisor: {e}");
            ExitStatus::from(&e)
        }
    }
}

/// `report`: 0, or 2 when the input cannot be read or an output cannot be written.
fn run_report(args: conc_sampler::ReportArgs) -> ExitStatus {
    match conc_sampler::run_report(args) {
        Ok(done) => {
            for e in &done.output_errors {
                eprintln!("conc-advisor: {e}");
            }
            if done.output_errors.is_empty() { ExitStatus::Success } else { ExitStatus::Error }
        }
        Err(e) => {
            eprintln!("conc-advisor: {e}");
            ExitStatus::Error
        }
    }
}

/// Writes `error: msg` to stderr (coloured on a terminal; `anstream` strips the colour elsewhere).
fn error(msg: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "\x1b[1;91merror\x1b[0m: {msg}");
}

/// Writes `warning: msg` to stderr.
fn warning(msg: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "\x1b[1;93mwarning\x1b[0m: {msg}");
}

fn run_check(args: &CheckArgs) -> ExitStatus {
    // Messages on stderr follow --color too.
    match args.color {
        ColorArg::Always => anstream::ColorChoice::Always.write_global(),
        ColorArg::Never => anstream::ColorChoice::Never.write_global(),
        ColorArg::Auto => {}
    }
    let overrides = Overrides {
        select: args.select.clone(),
        extend_select: args.extend_select.clone(),
        ignore: args.ignore.clone(),
        test_code: args.test_code.map(TestCode::from),
    };
    let resolver = match &args.config {
        Some(path) => match ConfigResolver::from_file(path, &overrides) {
            Ok(r) => r,
            Err(e) => {
                error(&e.to_string());
                return ExitStatus::Error;
            }
        },
        None => ConfigResolver::discover(overrides),
    };
    if args.statistics && matches!(args.format, FormatArg::Sarif | FormatArg::Github) {
        error(&format!(
            "--statistics prints a table (or JSON with --format json); it cannot be combined with --format {}",
            if matches!(args.format, FormatArg::Sarif) { "sarif" } else { "github" }
        ));
        return ExitStatus::Error;
    }
    if let Some(out) = &args.output_file
        && let Some(src) = checked_file_at(out, &args.paths)
    {
        error(&format!(
            "refusing to write the report over {}: it is a source file being checked (choose another `-o` file)",
            src.display()
        ));
        return ExitStatus::Error;
    }
    let max_jobs = engine::max_jobs();
    if args.jobs > max_jobs {
        warning(&format!("--jobs {} lowered to {max_jobs} (4 threads per core)", args.jobs));
    }
    let mut report = match check_paths_or_stdin(args, &resolver, args.jobs.min(max_jobs)) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                error(e);
            }
            return ExitStatus::Error;
        }
    };
    let profile_errors = fuse_profiles(args, &mut report);
    for w in &report.warnings {
        warning(w);
    }
    for e in &report.errors {
        error(e);
    }
    if let Some(code) = apply_baseline_args(args, &mut report) {
        return code;
    }
    // A closed pipe or a full disk loses the report: that is an error too.
    if let Err(e) = write_output(args, &report) {
        match &args.output_file {
            Some(p) => error(&format!("cannot write {}: {}", p.display(), conc_advisor::walk::io_message(&e))),
            None => error(&format!("cannot write the report: {}", conc_advisor::walk::io_message(&e))),
        }
        return ExitStatus::Error;
    }
    // A report that could not be read is an error too, after the findings are out.
    for e in &profile_errors {
        error(&e.to_string());
    }
    if !profile_errors.is_empty() {
        return ExitStatus::Error;
    }
    if args.fail_on_confirmed {
        report.diagnostics.retain(|d| {
            d.runtime.as_ref().is_some_and(|r| r.status == conc_advisor::runtime::RuntimeStatus::Confirmed)
        });
    }
    exit_code(&report, args.fail_on.into(), args.exit_zero)
}

/// The cache of a run (issue 15): none with `--no-cache`; a directory that cannot be used is a warning, and the
/// run goes on without it.
fn open_cache(args: &CheckArgs) -> Option<conc_advisor::cache::Cache> {
    if args.no_cache {
        return None;
    }
    let dir = args.cache_dir.clone().unwrap_or_else(default_cache_dir);
    match conc_advisor::cache::Cache::open(&dir) {
        Ok(c) => Some(c),
        Err(e) => {
            warning(&format!(
                "cannot use the cache {}: {}; checking without it",
                dir.display(),
                conc_advisor::walk::io_message(&e)
            ));
            None
        }
    }
}

/// `.conc-advisor-cache` at the project root of the current directory.
fn default_cache_dir() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    conc_advisor::cache::project_root(&cwd).join(conc_advisor::cache::DEFAULT_DIR)
}

/// `clean`: removes the cache directory; 0, or 2 when it cannot be removed.
fn run_clean(cache_dir: Option<PathBuf>) -> ExitStatus {
    let dir = cache_dir.unwrap_or_else(default_cache_dir);
    match conc_advisor::cache::clean(&dir) {
        Ok(true) => {
            eprintln!("removed {}", dir.display());
            ExitStatus::Success
        }
        Ok(false) => {
            eprintln!("no cache at {}", dir.display());
            ExitStatus::Success
        }
        Err(e) => {
            error(&format!("cannot remove {}: {}", dir.display(), conc_advisor::walk::io_message(&e)));
            ExitStatus::Error
        }
    }
}

/// `--profile`: reads each report and fuses the readable ones into `report`; returns the reports' errors.
fn fuse_profiles(args: &CheckArgs, report: &mut CheckReport) -> Vec<conc_advisor::runtime::ProfileReportError> {
    use conc_advisor::runtime;
    if args.profiles.is_empty() {
        return Vec::new();
    }
    let (mut loaded, mut errors) = (Vec::new(), Vec::new());
    for p in &args.profiles {
        match runtime::load(p) {
            Ok(r) => loaded.push(r),
            Err(e) => errors.push(e),
        }
    }
    runtime::fuse(
        report,
        &loaded,
        &run_roots(args),
        runtime::FuseOptions { raise_confirmed: !args.no_runtime_severity },
    );
    errors
}

/// Writes `note: msg` to stderr.
fn note(msg: &str) {
    let mut err = anstream::stderr().lock();
    let _ = writeln!(err, "\x1b[1;96mnote\x1b[0m: {msg}");
}

/// The paths a run covers: those given, or the file `--stdin-filename` names.
fn run_roots(args: &CheckArgs) -> Vec<PathBuf> {
    match &args.stdin_filename {
        Some(name) => vec![name.clone()],
        None => args.paths.clone(),
    }
}

/// Runs the check of the paths, or with `--stdin-filename PATH -` of standard input as that file.
fn check_paths_or_stdin(args: &CheckArgs, resolver: &ConfigResolver, jobs: usize) -> Result<CheckReport, Vec<String>> {
    let dash = args.paths.iter().any(|p| p.as_os_str() == "-");
    let Some(name) = &args.stdin_filename else {
        if dash {
            return Err(vec![
                "`-` reads standard input: name the file it stands for with --stdin-filename PATH".into(),
            ]);
        }
        let cache = open_cache(args);
        return Ok(engine::check_cached(&CheckOptions { roots: args.paths.clone(), jobs }, resolver, cache.as_ref()));
    };
    // `.` is the default when no path is given.
    if let Some(other) = args.paths.iter().find(|p| p.as_os_str() != "-" && p.as_os_str() != ".") {
        return Err(vec![format!(
            "--stdin-filename checks standard input only; `{}` cannot be checked with it (give `-` as the path)",
            other.display()
        )]);
    }
    let mut text = String::new();
    if let Err(e) = io::Read::read_to_string(&mut io::stdin().lock(), &mut text) {
        return Err(vec![match e.kind() {
            io::ErrorKind::InvalidData => "standard input is not valid UTF-8".to_string(),
            _ => format!("cannot read standard input: {}", conc_advisor::walk::io_message(&e)),
        }]);
    }
    let cache = open_cache(args);
    engine::check_buffer(name, &text, resolver, cache.as_ref(), jobs)
}

/// `--write-baseline` (records the findings and ends the run: returns its exit code) and `--baseline` (hides
/// the recorded findings from `report`, says how many, and how many entries no longer occur).
fn apply_baseline_args(args: &CheckArgs, report: &mut CheckReport) -> Option<ExitStatus> {
    use conc_advisor::baseline::{self, Baseline};
    let roots = run_roots(args);
    if let Some(file) = &args.write_baseline {
        let old = match Baseline::read(file) {
            Ok(b) => b,
            Err(e) => {
                if file.exists() {
                    warning(&format!("{e}; it is replaced"));
                }
                Baseline::empty(file)
            }
        };
        let (doc, dropped) = old.rewrite(&report.diagnostics, &roots);
        if let Err(e) = baseline::write(file, &doc) {
            error(&e);
            return Some(ExitStatus::Error);
        }
        note(&baseline::written_note(file, doc.findings.len(), dropped));
        return Some(if report.errors.is_empty() { ExitStatus::Success } else { ExitStatus::Error });
    }
    if let Some(file) = &args.baseline {
        let base = match Baseline::read(file) {
            Ok(b) => b,
            Err(e) => {
                error(&e);
                return Some(ExitStatus::Error);
            }
        };
        let applied = base.apply(&mut report.diagnostics, &roots);
        if !args.quiet {
            for msg in applied.notes(file) {
                note(&msg);
            }
        }
    }
    None
}

/// The existing source file that `-o out` would overwrite: `out` itself when it is a Rust or Python file named
/// among `roots` or below one of them (compared after resolving links, so `./src/../src/lib.rs` is caught).
fn checked_file_at(out: &std::path::Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let real = out.canonicalize().ok()?;
    let checked = conc_advisor::walk::SourceKind::of(&real).is_some()
        && roots.iter().filter_map(|r| r.canonicalize().ok()).any(|r| real.starts_with(r));
    checked.then(|| out.to_path_buf())
}

/// The exit code of a finished check: 2 when a path could not be checked, else 1 when a finding is at or above
/// `fail_on` (unless `exit_zero`), else 0.
pub fn exit_code(report: &CheckReport, fail_on: Severity, exit_zero: bool) -> ExitStatus {
    if !report.errors.is_empty() {
        ExitStatus::Error
    } else if !exit_zero && report.diagnostics.iter().any(|d| d.severity >= fail_on) {
        ExitStatus::Findings
    } else {
        ExitStatus::Success
    }
}

fn write_output(args: &CheckArgs, report: &CheckReport) -> io::Result<()> {
    let format: Format = args.format.into();
    let color = match (args.color, &args.output_file) {
        (ColorArg::Always, _) => true,
        (ColorArg::Never, _) | (ColorArg::Auto, Some(_)) => false,
        (ColorArg::Auto, None) => anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never,
    };
    let opts = OutputOptions { color, quiet: args.quiet };
    let mut sink: Box<dyn Write> = match &args.output_file {
        Some(p) => Box::new(io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    if args.statistics {
        output::write_statistics(report, format == Format::Json, &mut sink)?;
    } else {
        output::write_report(report, format, opts, &mut sink)?;
    }
    sink.flush()
}

fn run_rules(format: RulesFormat) -> ExitStatus {
    let mut out = io::stdout().lock();
    let r = match format {
        RulesFormat::Json => {
            serde_json::to_writer_pretty(&mut out, registry::all()).map_err(io::Error::from).and_then(|_| writeln!(out))
        }
        RulesFormat::Human => write_rules_table(&mut out),
    };
    match r {
        Ok(()) => ExitStatus::Success,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitStatus::Success,
        Err(e) => {
            error(&format!("cannot write: {}", conc_advisor::walk::io_message(&e)));
            ExitStatus::Error
        }
    }
}

/// The `rules` table: code, name, default severity, whether the rule runs by default, summary.
pub fn write_rules_table(out: &mut dyn Write) -> io::Result<()> {
    let rules = registry::all();
    let w = rules.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    writeln!(out, "{:<6} {:<w$} {:<8} {:<7} SUMMARY", "CODE", "NAME", "SEVERITY", "DEFAULT")?;
    for r in rules {
        let default = if r.default_enabled { "on" } else { "off" };
        writeln!(out, "{:<6} {:<w$} {:<8} {:<7} {}", r.code, r.name, r.severity.as_str(), default, r.summary)?;
    }
    let off: Vec<_> = rules.iter().filter(|r| !r.default_enabled).map(|r| r.code).collect();
    if !off.is_empty() {
        writeln!(
            out,
            "\nRules marked `off` run only when selected by code or name (`--extend-select {}`); `ALL` and code \
             prefixes do not turn them on. `conc-advisor explain CODE` says why each is off.",
            off.join(",")
        )?;
    }
    Ok(())
}

fn run_explain(key: &str) -> ExitStatus {
    match registry::find(key.trim()) {
        Some(r) => {
            let mut out = io::stdout().lock();
            let _ = write!(out, "{}", explain_text(r));
            ExitStatus::Success
        }
        None => {
            error(&format!("no rule with code or name `{key}`; `conc-advisor rules` lists them"));
            ExitStatus::Error
        }
    }
}

/// What `explain` prints for a rule.
pub fn explain_text(r: &registry::RuleMeta) -> String {
    let mut s = format!("# {} ({})\n\n{}\n\nDefault severity: {}.", r.name, r.code, r.summary, r.severity);
    if !r.default_enabled {
        s.push_str(" Off by default: runs only when selected by its code or name (see *Known problems*).");
    }
    if let Some(eq) = r.equivalent {
        s.push_str(&format!(" Overlaps with `{eq}`."));
    }
    s.push_str("\n\n");
    s.push_str(output::rule_doc(r).trim());
    s.push('\n');
    s
}
