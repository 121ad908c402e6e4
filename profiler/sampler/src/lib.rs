//! `conc-advisor profile` and `conc-advisor report`: classify any program's threads and processes from outside
//! (spawn a command or attach to a pid), follow its process tree through `/proc` and `perf-event`, and report
//! per-thread verdicts and the whole-run answer as a human summary, JSON, a self-contained HTML page and a
//! Chrome trace.
//!
//! Layout: [`procfs`] (parsers and kept-open files), [`collect`] (the sampler), [`perf`] (inherited counters),
//! [`analysis`] (verdicts and findings), [`model`] (the `kind: "external"` report), [`human`], [`html`] and
//! [`trace`] (renderers).

#![forbid(unsafe_code)]

pub mod analysis;
pub mod collect;
pub mod html;
pub mod human;
pub mod model;
pub mod perf;
pub mod procfs;
pub mod trace;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use collect::{Progress, Sampler};
use model::{ExternalReport, PerfTotals, SamplerCost, Sources};

/// `conc-advisor profile [OPTIONS] -- CMD [ARGS…]` or `conc-advisor profile --pid PID`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "The command's own exit status is returned (signal N → 128 + N). The report goes to stderr \
                        unless -o is given.")]
pub struct ProfileArgs {
    /// Attach to a running process (and its children) instead of running a command.
    #[arg(long, conflicts_with = "command")]
    pub pid: Option<i32>,
    /// With --pid: how long to profile (e.g. 500ms, 10s, 2m); default until it exits or Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Samples per second.
    #[arg(long, default_value_t = 25.0, value_parser = parse_rate)]
    pub rate: f64,
    /// Write the human summary here instead of stderr.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Write the JSON report (schema conc-advisor-report, kind "external").
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML page (inline SVG: per-thread bars and a timeline).
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write a Chrome trace-event JSON of per-thread states over time (opens in Perfetto).
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// Do not open perf counters (sample /proc only).
    #[arg(long)]
    pub no_perf: bool,
    /// No progress line, even on a terminal.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// The command to run, after `--`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// `conc-advisor report FILE.json [--html OUT]`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// A saved JSON report (from `profile --json` or the in-process profiler).
    pub file: PathBuf,
    /// Write a self-contained HTML page.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Write the human summary here instead of stdout.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

/// Parses `500ms`, `10s`, `2m`, `1.5` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a duration (try 500ms, 10s, 2m)"))?;
    if !v.is_finite() || v <= 0.0 || v * mult > 1e7 {
        return Err(format!("`{s}` is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(v * mult))
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of samples per second"))?;
    if !(0.5..=1000.0).contains(&v) {
        return Err("the rate must be between 0.5 and 1000 samples per second".into());
    }
    Ok(v)
}

/// Options of a profiling run, for library callers (tests) as well as the CLI.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub rate_hz: f64,
    pub perf: bool,
    pub progress: bool,
    pub duration: Option<Duration>,
}

/// What a profiling run produced.
pub struct Outcome {
    pub report: ExternalReport,
    pub sampler: Sampler,
}

fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    }
}

struct Signals {
    int: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
}

impl Signals {
    /// Catches SIGINT/SIGQUIT (the terminal sends them to the command too; we keep going and report, like
    /// `time`) and SIGTERM/SIGHUP (forwarded to a spawned command; stops an attached profile).
    fn install() -> Signals {
        let int = Arc::new(AtomicBool::new(false));
        let term = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGQUIT] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&int));
        }
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
            let _ = signal_hook::flag::register(sig, Arc::clone(&term));
        }
        Signals { int, term }
    }
}

fn state_of(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    procfs::parse_stat(&s).map(|st| st.state)
}

/// A spawned command, possibly held stopped at its start so that counters can be attached first.
struct Spawned {
    child: Child,
    /// Stopped in the `/bin/sh` trampoline, waiting for SIGCONT to `exec` the command.
    held: bool,
}

/// Spawns `cmd`. With `hold`, a `/bin/sh` trampoline stops itself before `exec CMD`, so the sampler and the
/// perf counters (opened with `inherit`) see the command from its first instruction; [`release`] continues it.
fn spawn(cmd: &[String], hold: bool, notes: &mut Vec<String>) -> std::io::Result<Spawned> {
    let sh = Path::new("/bin/sh");
    if hold && sh.exists() {
        let child = Command::new(sh).arg("-c").arg(collect::TRAMPOLINE).arg("conc-advisor").args(cmd).spawn()?;
        let pid = child.id() as i32;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match state_of(pid) {
                Some('T') => return Ok(Spawned { child, held: true }),
                Some('Z') | None => return Ok(Spawned { child, held: false }),
                _ if Instant::now() > deadline => {
                    notes.push("the command did not stop at its start point; perf counters not used".into());
                    let mut s = Spawned { child, held: true };
                    release(&mut s)?;
                    return Ok(s);
                }
                _ => std::thread::sleep(Duration::from_micros(200)),
            }
        }
    }
    Ok(Spawned { child: Command::new(&cmd[0]).args(&cmd[1..]).spawn()?, held: false })
}

/// Continues a held command.
fn release(s: &mut Spawned) -> std::io::Result<()> {
    if s.held {
        s.held = false;
        if let Err(e) =
            rustix::process::kill_process(rustix::process::Pid::from_child(&s.child), rustix::process::Signal::CONT)
        {
            let _ = s.child.kill();
            let _ = s.child.wait();
            return Err(std::io::Error::other(format!("cannot continue the command: {e}")));
        }
    }
    Ok(())
}

fn open_perf(tids: &[i32], notes: &mut Vec<String>) -> Option<perf::PerfSet> {
    match perf::PerfSet::open(tids).and_then(|mut s| s.enable().map(|()| s)) {
        Ok(s) => {
            if s.user_only {
                notes.push("perf counters count user space only (kernel counting refused): no switch totals".into());
            }
            Some(s)
        }
        Err(e) => {
            notes.push(e);
            None
        }
    }
}

fn sources_of(s: &Sampler, perf: bool, notes: &mut Vec<String>) -> Sources {
    let r = s.refused;
    if r.schedstat {
        notes.push(
            "no /proc/…/schedstat (kernel without schedstats): CPU time from stat ticks, run-queue wait unknown".into(),
        );
    }
    if r.syscall && r.wchan {
        notes.push("neither /proc/…/syscall nor wchan readable: blocked time not split by kind of wait".into());
    } else if r.syscall {
        notes.push("/proc/…/syscall not readable (ptrace permission): kinds of wait from wchan only".into());
    }
    if !s.children_files() {
        notes.push("no /proc/…/children on this kernel: children found by scanning /proc (costlier)".into());
    }
    Sources { schedstat: !r.schedstat, syscall: !r.syscall, wchan: !r.wchan, children_file: s.children_files(), perf }
}

/// `measurement.perf_counters` of the shared report: "enabled", "disabled" or "unavailable: <reason>".
fn perf_status(wanted: bool, opened: bool, notes: &[String]) -> String {
    match (wanted, opened) {
        (false, _) => "disabled".into(),
        (true, true) => "enabled".into(),
        (true, false) => format!(
            "unavailable: {}",
            notes.iter().find(|n| n.contains("perf")).map(String::as_str).unwrap_or("not opened")
        ),
    }
}

fn run_loop(sampler: &mut Sampler, opts: &RunOptions, mut done: impl FnMut(&mut Sampler) -> bool, stop: &AtomicBool) {
    let period = Duration::from_secs_f64(1.0 / opts.rate_hz);
    let mut progress = Progress::new(opts.progress);
    let mut next = Instant::now();
    loop {
        sampler.tick();
        progress.update(sampler);
        if done(sampler) || stop.load(Ordering::Relaxed) {
            break;
        }
        if opts.duration.is_some_and(|d| sampler.t0.elapsed() >= d) {
            break;
        }
        next += period;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    progress.finish();
}

fn cost(sampler: &Sampler, rate: f64, cpu_before: u64) -> SamplerCost {
    let cpu_s = collect::own_thread_cpu_ns().saturating_sub(cpu_before) as f64 / 1e9;
    let wall = sampler.now_s().max(1e-9);
    SamplerCost {
        rate_hz: rate,
        ticks: sampler.ticks,
        cpu_s,
        cpu_pct_of_core: 100.0 * cpu_s / wall,
        mean_tick_us: sampler.tick_time.as_secs_f64() * 1e6 / sampler.ticks.max(1) as f64,
    }
}

/// Runs `cmd` under the profiler; returns the report and the command's exit code.
pub fn profile_command(cmd: &[String], opts: &RunOptions) -> Result<(Outcome, i32), (String, u8)> {
    if cmd.is_empty() {
        return Err(("no command given: `conc-advisor profile -- CMD [ARGS…]`".into(), 2));
    }
    let signals = Signals::install();
    let cpu_before = collect::own_thread_cpu_ns();
    let mut notes = Vec::new();
    if !opts.perf {
        notes.push("perf counters off (--no-perf)".into());
    }
    let mut spawned = match spawn(cmd, true, &mut notes) {
        Ok(x) => x,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
            return Err((format!("cannot run `{}`: {e}", cmd[0]), code));
        }
    };
    let pid = spawned.child.id() as i32;
    let mut sampler = Sampler::new(pid, true);
    let mut perf = if opts.perf && spawned.held { open_perf(&[pid], &mut notes) } else { None };
    if let Err(e) = release(&mut spawned) {
        return Err((e.to_string(), 126));
    }
    let mut child = spawned.child;
    let rpid = rustix::process::Pid::from_child(&child);
    let term = Arc::clone(&signals.term);
    let mut forwarded = false;
    let never = AtomicBool::new(false);
    run_loop(
        &mut sampler,
        opts,
        |s| {
            if term.load(Ordering::Relaxed) && !forwarded {
                forwarded = true;
                let _ = rustix::process::kill_process(rpid, rustix::process::Signal::TERM);
            }
            let exited = matches!(
                rustix::process::waitid(
                    rustix::process::WaitId::Pid(rpid),
                    rustix::process::WaitIdOptions::EXITED
                        | rustix::process::WaitIdOptions::NOHANG
                        | rustix::process::WaitIdOptions::NOWAIT,
                ),
                Ok(Some(_))
            );
            if exited {
                // One last reading while the exited command is still a zombie.
                s.tick();
            }
            exited
        },
        &never,
    );
    let status = child.wait();
    let code = match status {
        Ok(st) => exit_code_of(st),
        Err(_) => 1,
    };
    let _ = &signals.int;
    let totals = perf.as_mut().map(|p| p.read()).unwrap_or_default();
    let info = analysis::RunInfo {
        command: cmd.to_vec(),
        root_pid: pid,
        attached: false,
        exit_code: Some(code),
        sampler: cost(&sampler, opts.rate_hz, cpu_before),
        perf: totals,
        perf_status: perf_status(opts.perf, perf.is_some(), &notes),
        sources: sources_of(&sampler, perf.is_some(), &mut notes),
        notes,
    };
    let report = analysis::build_report(&sampler, info, &analysis::Thresholds::default());
    Ok((Outcome { report, sampler }, code))
}

/// At most this many existing threads get perf counters when attaching (four descriptors each).
const MAX_PERF_TASKS: usize = 256;

/// Attaches to `pid` and its children until they exit, `duration` passes, or SIGINT/SIGTERM.
pub fn profile_pid(pid: i32, opts: &RunOptions) -> Result<Outcome, String> {
    if pid <= 0 || !Path::new(&format!("/proc/{pid}/stat")).exists() {
        return Err(format!("no process with pid {pid}"));
    }
    let signals = Signals::install();
    let cpu_before = collect::own_thread_cpu_ns();
    let mut notes = Vec::new();
    let mut sampler = Sampler::new(pid, false);
    sampler.discover_tree();
    let mut perf = None;
    if opts.perf {
        // Counters on every thread of the tree as found now; what they create from now on is inherited.
        let tids: Vec<i32> = sampler.threads.values().filter(|t| t.alive).map(|t| t.tid).take(MAX_PERF_TASKS).collect();
        if tids.len() == MAX_PERF_TASKS {
            notes.push(format!("perf counters opened on the first {MAX_PERF_TASKS} threads only"));
        }
        perf = open_perf(&tids, &mut notes);
        if perf.is_some() {
            notes.push(
                "perf totals count from the moment of attaching (existing threads and what they create since)".into(),
            );
        }
    } else {
        notes.push("perf counters off (--no-perf)".into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (int, term) = (Arc::clone(&signals.int), Arc::clone(&signals.term));
    run_loop(
        &mut sampler,
        opts,
        |s| {
            if int.load(Ordering::Relaxed) || term.load(Ordering::Relaxed) {
                return true;
            }
            !s.any_alive()
        },
        &stop,
    );
    let totals: PerfTotals = perf.as_mut().map(|p| p.read()).unwrap_or_default();
    let info = analysis::RunInfo {
        command: procfs::read_cmdline(pid),
        root_pid: pid,
        attached: true,
        exit_code: None,
        sampler: cost(&sampler, opts.rate_hz, cpu_before),
        perf: totals,
        perf_status: perf_status(opts.perf, perf.is_some(), &notes),
        sources: sources_of(&sampler, perf.is_some(), &mut notes),
        notes,
    };
    let report = analysis::build_report(&sampler, info, &analysis::Thresholds::default());
    Ok(Outcome { report, sampler })
}

fn write_file(path: &Path, what: &str, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write the {what} to {}: {e}", path.display()))
}

/// Writes every output the arguments ask for; returns the error messages.
fn write_outputs(args: &ProfileArgs, out: &Outcome) -> Vec<String> {
    let mut errors = Vec::new();
    let summary = human::render(&out.report);
    match &args.output {
        Some(p) => errors.extend(write_file(p, "summary", &summary).err()),
        None => {
            let _ = std::io::stderr().lock().write_all(summary.as_bytes());
        }
    }
    if let Some(p) = &args.json {
        match serde_json::to_string_pretty(&out.report) {
            Ok(j) => errors.extend(write_file(p, "JSON report", &j).err()),
            Err(e) => errors.push(format!("cannot serialise the report: {e}")),
        }
    }
    if let Some(p) = &args.html {
        errors.extend(write_file(p, "HTML report", &html::render(&out.report)).err());
    }
    if let Some(p) = &args.trace {
        errors.extend(write_file(p, "trace", &trace::render(&out.sampler, &out.report)).err());
    }
    errors
}

/// Entry point of `conc-advisor profile`.
pub fn run_profile(args: ProfileArgs) -> ExitCode {
    let opts = RunOptions {
        rate_hz: args.rate,
        perf: !args.no_perf,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        duration: args.duration,
    };
    let (outcome, code) = match (args.pid, args.command.is_empty()) {
        (Some(pid), true) => match profile_pid(pid, &opts) {
            Ok(o) => (o, 0),
            Err(e) => {
                eprintln!("conc-advisor: {e}");
                return ExitCode::from(2);
            }
        },
        (Some(_), false) => {
            eprintln!("conc-advisor: give either --pid PID or -- CMD, not both");
            return ExitCode::from(2);
        }
        (None, _) => {
            if args.duration.is_some() {
                eprintln!("conc-advisor: --duration applies to --pid only");
                return ExitCode::from(2);
            }
            match profile_command(&args.command, &opts) {
                Ok(x) => x,
                Err((e, code)) => {
                    eprintln!("conc-advisor: {e}");
                    return ExitCode::from(code);
                }
            }
        }
    };
    let errors = write_outputs(&args, &outcome);
    for e in &errors {
        eprintln!("conc-advisor: {e}");
    }
    let code = if !errors.is_empty() && code == 0 { 2 } else { code };
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}

/// Entry point of `conc-advisor report`.
pub fn run_report(args: ReportArgs) -> ExitCode {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("conc-advisor: cannot read {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let report = match model::parse_report(&text) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conc-advisor: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let (summary, page) = match &report {
        model::AnyReport::External(r) => (human::render(r), html::render(r)),
        model::AnyReport::InProcess(r) => (human::render_in_process(r), html::render_in_process(r)),
    };
    let mut errors = Vec::new();
    match &args.output {
        Some(p) => errors.extend(write_file(p, "summary", &summary).err()),
        None => {
            let _ = std::io::stdout().lock().write_all(summary.as_bytes());
        }
    }
    if let Some(p) = &args.html {
        errors.extend(write_file(p, "HTML report", &page).err());
    }
    for e in &errors {
        eprintln!("conc-advisor: {e}");
    }
    if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("0").is_err());
        assert!(parse_rate("0").is_err());
        assert_eq!(parse_rate("25").unwrap(), 25.0);
    }

    /// The held command exec's before the first tick finds its threads: the process takes the new name
    /// (once seen as `sh` in CI, when the exec won that race).
    #[test]
    fn a_command_that_execs_before_the_first_tick_is_named_after_it() {
        let mut notes = Vec::new();
        let mut spawned = spawn(&["sleep".into(), "0.3".into()], true, &mut notes).unwrap();
        if !spawned.held {
            return; // no /bin/sh here: nothing is exec'd, nothing to rename
        }
        let pid = spawned.child.id() as i32;
        let mut sampler = Sampler::new(pid, true);
        assert_eq!(sampler.procs[&pid].name, "sh");
        release(&mut spawned).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while procfs::read_cmdline(pid).first().is_some_and(|a| a != "sleep") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        sampler.tick();
        let _ = spawned.child.wait();
        assert_eq!(sampler.procs[&pid].name, "sleep");
    }
}
