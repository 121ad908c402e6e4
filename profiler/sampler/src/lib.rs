//! `conc-advisor profile` and `conc-advisor report`: classify any program's threads and processes from outside
//! (spawn a command or attach to a pid), follow its process tree through `/proc` and `perf-event`, and report
//! per-thread verdicts and the whole-run answer as a human summary, JSON, a self-contained HTML page and a
//! Chrome trace.
//!
//! Layout: [`procfs`] (parsers and kept-open files), [`collect`] (the sampler), [`perf`] (inherited counters),
//! [`analysis`] (verdicts and findings), [`model`] (the `kind: "external"` report), [`human`], [`html`] and
//! [`trace`] (renderers).

#![forbid(unsafe_code)]

// Sampling reads /proc and opens perf counters: Linux only. Reading and rendering a saved report is portable.
#[cfg(target_os = "linux")]
pub mod analysis;
#[cfg(target_os = "linux")]
pub mod collect;
pub mod coordinator;
#[cfg(target_os = "linux")]
pub mod forks;
pub mod html;
pub mod human;
#[cfg(target_os = "linux")]
pub mod load;
pub mod measured;
pub mod model;
#[cfg(target_os = "linux")]
pub mod perf;
#[cfg(target_os = "linux")]
pub mod procfs;
pub mod python_hooks;
#[cfg(target_os = "linux")]
pub mod short_lived;
#[cfg(target_os = "linux")]
pub mod trace;

#[cfg(target_os = "linux")]
use std::io::IsTerminal;
use std::io::Write;
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::process::{Child, Command};
#[cfg(target_os = "linux")]
use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
#[cfg(target_os = "linux")]
use std::time::Instant;

#[cfg(target_os = "linux")]
use collect::{Progress, Sampler};
#[cfg(target_os = "linux")]
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
    /// Do not install the Python hook that names threads and records what each thread and pool worker runs.
    #[arg(long)]
    pub no_python_hooks: bool,
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

/// Why `profile` could not run or attach. The binary decides the exit status of each.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Bad arguments, or a pid that cannot be profiled.
    #[error("{0}")]
    Usage(String),
    /// The command does not exist (a shell says 127).
    #[error("{0}")]
    NotFound(String),
    /// The command exists but cannot be run (a shell says 126).
    #[error("{0}")]
    CannotRun(String),
    #[error(
        "`profile` is available on Linux only (it samples /proc and perf counters); `check` and `report` work here"
    )]
    Unsupported,
}

/// An output (`-o`, `--json`, `--html`, `--trace`, or the summary on stderr) that could not be written; the
/// other outputs still are.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OutputError(String);

/// Why `report` could not read its input.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Parse { path: PathBuf, source: model::ReportParseError },
}

/// What `profile` ended with.
#[derive(Debug)]
pub struct Profiled {
    /// The command's exit status as a shell reports it (killed by signal N: 128 + N); 0 when attached.
    pub exit_code: i32,
    /// Outputs that could not be written.
    pub output_errors: Vec<OutputError>,
}

/// What `report` ended with.
#[derive(Debug)]
pub struct Rendered {
    /// Outputs that could not be written.
    pub output_errors: Vec<OutputError>,
}

/// Longest `--duration`, in seconds.
pub const MAX_DURATION_S: f64 = 1e7;

/// Parses `500ms`, `10s`, `2m`, `1.5` (seconds); at most [`MAX_DURATION_S`].
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
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("`{s}` is not a positive duration"));
    }
    if v * mult > MAX_DURATION_S {
        return Err(format!(
            "`{s}` is longer than the longest supported duration, {MAX_DURATION_S} s (about 115 days)"
        ));
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
    /// Install the Python hook when the command is Python (see [`python_hooks`]).
    pub python_hooks: bool,
}

#[cfg(target_os = "linux")]
/// What a profiling run produced.
pub struct Outcome {
    pub report: ExternalReport,
    pub sampler: Sampler,
}

#[cfg(target_os = "linux")]
fn exit_code_of(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    }
}

#[cfg(target_os = "linux")]
struct Signals {
    int: Arc<AtomicBool>,
    quit: Arc<AtomicBool>,
    term: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
}

#[cfg(target_os = "linux")]
impl Signals {
    /// Catches SIGINT, SIGQUIT, SIGTERM and SIGHUP: forwarded to a spawned command ([`Forwarder`]); they stop an
    /// attached profile (the report is written either way).
    fn install() -> Signals {
        let flag = |sig| {
            let f = Arc::new(AtomicBool::new(false));
            let _ = signal_hook::flag::register(sig, Arc::clone(&f));
            f
        };
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        Signals { int: flag(SIGINT), quit: flag(SIGQUIT), term: flag(SIGTERM), hup: flag(SIGHUP) }
    }

    fn any(&self) -> bool {
        [&self.int, &self.quit, &self.term, &self.hup].iter().any(|f| f.load(Ordering::Relaxed))
    }
}

#[cfg(target_os = "linux")]
fn state_of(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    procfs::parse_stat(&s).map(|st| st.state)
}

#[cfg(target_os = "linux")]
/// A spawned command, possibly held stopped at its start so that counters can be attached first.
struct Spawned {
    child: Child,
    /// Stopped in the `/bin/sh` trampoline, waiting for SIGCONT to `exec` the command.
    held: bool,
}

#[cfg(target_os = "linux")]
/// Spawns `cmd`. With `hold`, a `/bin/sh` trampoline stops itself before `exec CMD`, so the sampler and the
/// perf counters (opened with `inherit`) see the command from its first instruction; [`release`] continues it.
fn spawn(cmd: &[String], hold: bool, env: &[(String, String)], notes: &mut Vec<String>) -> std::io::Result<Spawned> {
    let sh = Path::new("/bin/sh");
    if hold && sh.exists() {
        let child = Command::new(sh)
            .arg("-c")
            .arg(collect::TRAMPOLINE)
            .arg("conc-advisor")
            .args(cmd)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn()?;
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
    Ok(Spawned {
        child: Command::new(&cmd[0]).args(&cmd[1..]).envs(env.iter().map(|(k, v)| (k, v))).spawn()?,
        held: false,
    })
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
fn open_perf(tids: &[i32], notes: &mut Vec<String>) -> Option<perf::PerfSet> {
    match perf::PerfSet::open(tids).and_then(|mut s| s.enable().map(|()| s)) {
        Ok(s) => {
            if s.user_only {
                notes.push("perf counters count user space only (kernel counting refused): no switch totals".into());
            }
            Some(s)
        }
        Err(e) => {
            notes.push(e.to_string());
            None
        }
    }
}

/// The exact fork counter of a spawned command (see [`forks`]); `None` with the reason in a note.
#[cfg(target_os = "linux")]
fn open_forks(pid: i32, notes: &mut Vec<String>) -> Option<forks::ForkCounter> {
    forks::ForkCounter::open(pid).map_err(|e| notes.push(e.to_string())).ok()
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
/// Longest sleep between two checks of `wake` while waiting for the next tick, so a command that exits (or a
/// signal) ends a slow-rate run promptly instead of after a whole period.
const WAKE_CHECK: Duration = Duration::from_millis(20);

#[cfg(target_os = "linux")]
fn run_loop(
    sampler: &mut Sampler,
    opts: &RunOptions,
    mut done: impl FnMut(&mut Sampler) -> bool,
    stop: &AtomicBool,
    wake: &dyn Fn() -> bool,
) {
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
        loop {
            let now = Instant::now();
            if next <= now {
                next = now;
                break;
            }
            std::thread::sleep((next - now).min(WAKE_CHECK));
            if wake() {
                break;
            }
        }
    }
    progress.finish();
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
/// Checks that `program` can be executed, the way a shell would look it up: a path containing `/` as is,
/// otherwise the first match in `PATH`. Err: [`ProfileError::NotFound`] or [`ProfileError::CannotRun`].
fn check_executable(program: &str) -> Result<(), ProfileError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = escape_control(program);
    let executable =
        |p: &Path| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if program.is_empty() {
        return Err(ProfileError::NotFound("the command is an empty string".into()));
    }
    if program.contains('/') {
        let p = Path::new(program);
        if !p.exists() {
            return Err(ProfileError::NotFound(format!("cannot run `{shown}`: no such file")));
        }
        if !executable(p) {
            return Err(ProfileError::CannotRun(format!(
                "cannot run `{shown}`: not an executable file (permission denied)"
            )));
        }
        return Ok(());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut found_not_executable = false;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(program);
        if executable(&p) {
            return Ok(());
        }
        found_not_executable |= p.is_file();
    }
    if found_not_executable {
        Err(ProfileError::CannotRun(format!(
            "cannot run `{shown}`: found in PATH but not executable (permission denied)"
        )))
    } else {
        Err(ProfileError::NotFound(format!("cannot run `{shown}`: command not found in PATH")))
    }
}

/// `s` with control characters (newlines, escapes, …) written as escapes, for messages and reports.
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(target_os = "linux")]
/// How the profiler reacts to SIGINT/SIGQUIT/SIGTERM/SIGHUP while it runs a command, like `timeout`: the first
/// is forwarded to the command (which decides what to do; the report is still written when it exits), a second
/// one kills the command (SIGKILL). The profiler then exits with the command's status (128+N after a signal).
#[derive(Debug, Default)]
struct Forwarder {
    forwarded: u32,
}

#[cfg(target_os = "linux")]
impl Forwarder {
    fn poll(&mut self, signals: &Signals, pid: rustix::process::Pid) {
        use rustix::process::Signal;
        let got = [
            (&signals.int, Signal::INT),
            (&signals.quit, Signal::QUIT),
            (&signals.term, Signal::TERM),
            (&signals.hup, Signal::HUP),
        ];
        for (flag, sig) in got {
            if flag.swap(false, Ordering::Relaxed) {
                self.forwarded += 1;
                let sig = if self.forwarded >= 2 { Signal::KILL } else { sig };
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    }
}

#[cfg(target_os = "linux")]
/// Runs `cmd` under the profiler; returns the report and the command's exit code.
pub fn profile_command(cmd: &[String], opts: &RunOptions) -> Result<(Outcome, i32), ProfileError> {
    if cmd.is_empty() {
        return Err(ProfileError::Usage("no command given: `conc-advisor profile -- CMD [ARGS…]`".into()));
    }
    // Checked before spawning: a command the trampoline shell could not `exec` would otherwise be profiled as
    // the shell that reports it.
    check_executable(&cmd[0])?;
    let signals = Signals::install();
    let cpu_before = collect::own_thread_cpu_ns();
    let mut notes = Vec::new();
    if !opts.perf {
        notes.push("perf counters off (--no-perf)".into());
    }
    let program = Path::new(&cmd[0]).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let hooks =
        if opts.python_hooks && analysis::is_python(&program, cmd) { python_hooks::Hooks::install() } else { None };
    let env = hooks.as_ref().map(python_hooks::Hooks::env).unwrap_or_default();
    let mut spawned = match spawn(cmd, true, &env, &mut notes) {
        Ok(x) => x,
        Err(e) => {
            let message = format!("cannot run `{}`: {e}", escape_control(&cmd[0]));
            return Err(if e.kind() == std::io::ErrorKind::NotFound {
                ProfileError::NotFound(message)
            } else {
                ProfileError::CannotRun(message)
            });
        }
    };
    let pid = spawned.child.id() as i32;
    let mut sampler = Sampler::new(pid, true);
    let mut perf = if opts.perf && spawned.held { open_perf(&[pid], &mut notes) } else { None };
    let mut forks = if perf.is_some() { open_forks(pid, &mut notes) } else { None };
    release(&mut spawned).map_err(|e| ProfileError::CannotRun(e.to_string()))?;
    let mut child = spawned.child;
    let rpid = rustix::process::Pid::from_child(&child);
    let mut forwarder = Forwarder::default();
    let never = AtomicBool::new(false);
    let has_exited = || {
        matches!(
            rustix::process::waitid(
                rustix::process::WaitId::Pid(rpid),
                rustix::process::WaitIdOptions::EXITED
                    | rustix::process::WaitIdOptions::NOHANG
                    | rustix::process::WaitIdOptions::NOWAIT,
            ),
            Ok(Some(_))
        )
    };
    run_loop(
        &mut sampler,
        opts,
        |s| {
            forwarder.poll(&signals, rpid);
            if let Some(f) = forks.as_mut() {
                f.poll();
            }
            let exited = has_exited();
            if exited {
                // One last reading while the exited command is still a zombie.
                s.tick();
            }
            exited
        },
        &never,
        &|| has_exited() || signals.any(),
    );
    let status = child.wait();
    let code = match status {
        Ok(st) => exit_code_of(st),
        Err(_) => 1,
    };
    let totals = perf.as_mut().map(|p| p.read()).unwrap_or_default();
    let forks = forks.as_mut().map(forks::ForkCounter::counts).filter(|c| {
        if c.lost > 0 {
            notes.push(format!(
                "exact fork count unavailable ({} fork/exit records lost: the buffer overflowed): the count of tasks \
                 that came and went is an upper bound",
                c.lost
            ));
        }
        c.lost == 0
    });
    let info = analysis::RunInfo {
        forks,
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
    let mut report = analysis::build_report(&sampler, info, &analysis::Thresholds::default());
    if let Some(h) = &hooks {
        python_hooks::apply(&mut report, h.read());
    }
    Ok((Outcome { report, sampler }, code))
}

#[cfg(target_os = "linux")]
/// At most this many existing threads get perf counters when attaching (four descriptors each).
const MAX_PERF_TASKS: usize = 256;

#[cfg(target_os = "linux")]
/// Attaches to `pid` and its children until they exit, `duration` passes, or SIGINT/SIGTERM.
pub fn profile_pid(pid: i32, opts: &RunOptions) -> Result<Outcome, ProfileError> {
    match state_of(pid) {
        _ if pid <= 0 => return Err(ProfileError::Usage(format!("no process with pid {pid}"))),
        None => return Err(ProfileError::Usage(format!("no process with pid {pid}"))),
        Some('Z') => {
            return Err(ProfileError::Usage(format!(
                "process {pid} has exited (a zombie its parent has not reaped): nothing to profile"
            )));
        }
        Some('X') => return Err(ProfileError::Usage(format!("process {pid} is exiting: nothing to profile"))),
        Some(_) => {}
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
    let gone = || !matches!(state_of(pid), Some(st) if st != 'Z' && st != 'X');
    run_loop(
        &mut sampler,
        opts,
        |s| {
            if signals.any() {
                return true;
            }
            !s.any_alive()
        },
        &stop,
        &|| signals.any() || gone(),
    );
    let totals: PerfTotals = perf.as_mut().map(|p| p.read()).unwrap_or_default();
    let info = analysis::RunInfo {
        forks: None,
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

#[cfg(target_os = "linux")]
/// Writes every output the arguments ask for; returns the error messages.
fn write_outputs(args: &ProfileArgs, out: &Outcome) -> Vec<String> {
    let mut errors = Vec::new();
    let summary = human::render(&out.report);
    match &args.output {
        Some(p) => errors.extend(write_file(p, "summary", &summary).err()),
        None => {
            if let Err(e) = std::io::stderr().lock().write_all(summary.as_bytes()) {
                errors.push(format!("cannot write the summary to stderr: {e}"));
            }
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

#[cfg(target_os = "linux")]
/// An output file (`-o`, `--json`, `--html`, `--trace`) that is the profiled program or a file named among its
/// arguments (`profile -o app.py -- python app.py` would replace the script with the summary): the message
/// refusing it. Paths are compared after resolving links; the program is looked up in `PATH` like `exec`.
fn output_over_input(args: &ProfileArgs) -> Option<String> {
    let real = |p: &Path| p.canonicalize().ok();
    let mut inputs: Vec<PathBuf> = args.command.iter().skip(1).filter_map(|a| real(Path::new(a))).collect();
    if let Some(program) = args.command.first() {
        let program = Path::new(program);
        let found = if program.components().count() > 1 {
            real(program)
        } else {
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path).find_map(|d| real(&d.join(program)).filter(|p| p.is_file()))
            })
        };
        inputs.extend(found);
    }
    [&args.output, &args.json, &args.html, &args.trace].into_iter().flatten().find_map(|out| {
        let r = real(out)?;
        inputs.contains(&r).then(|| {
            format!(
                "refusing to write over {}: it is the profiled program or one of its arguments (choose another file)",
                out.display()
            )
        })
    })
}

#[cfg(target_os = "linux")]
/// Entry point of `conc-advisor profile`: runs or attaches, then writes every output asked for.
pub fn run_profile(args: ProfileArgs) -> Result<Profiled, ProfileError> {
    let opts = RunOptions {
        rate_hz: args.rate,
        perf: !args.no_perf,
        progress: !args.quiet && std::io::stderr().is_terminal(),
        duration: args.duration,
        python_hooks: !args.no_python_hooks,
    };
    if let Some(clash) = output_over_input(&args) {
        return Err(ProfileError::Usage(clash));
    }
    let (outcome, exit_code) = match (args.pid, args.command.is_empty()) {
        (Some(pid), true) => (profile_pid(pid, &opts)?, 0),
        (Some(_), false) => return Err(ProfileError::Usage("give either --pid PID or -- CMD, not both".into())),
        (None, _) => {
            if args.duration.is_some() {
                return Err(ProfileError::Usage("--duration applies to --pid only".into()));
            }
            profile_command(&args.command, &opts)?
        }
    };
    let output_errors = write_outputs(&args, &outcome).into_iter().map(OutputError).collect();
    Ok(Profiled { exit_code, output_errors })
}

/// `conc-advisor profile` where the sampler does not exist: says so (usage error).
#[cfg(not(target_os = "linux"))]
pub fn run_profile(_args: ProfileArgs) -> Result<Profiled, ProfileError> {
    Err(ProfileError::Unsupported)
}

/// Entry point of `conc-advisor report`: reads a saved report, prints its summary (or writes it to `-o`) and
/// writes the HTML page when asked.
pub fn run_report(args: ReportArgs) -> Result<Rendered, ReportError> {
    let text =
        std::fs::read_to_string(&args.file).map_err(|source| ReportError::Read { path: args.file.clone(), source })?;
    let report = model::parse_report(&text).map_err(|source| ReportError::Parse { path: args.file.clone(), source })?;
    let (summary, page) = match &report {
        model::AnyReport::External(r) => (human::render(r), html::render(r)),
        model::AnyReport::InProcess(r) => (human::render_in_process(r), html::render_in_process(r)),
    };
    let mut output_errors = Vec::new();
    match &args.output {
        Some(p) => output_errors.extend(write_file(p, "summary", &summary).err().map(OutputError)),
        None => {
            let _ = std::io::stdout().lock().write_all(summary.as_bytes());
        }
    }
    if let Some(p) = &args.html {
        output_errors.extend(write_file(p, "HTML report", &page).err().map(OutputError));
    }
    Ok(Rendered { output_errors })
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
        // Too long is its own message, naming the bound (issue 14: it said "not a positive duration").
        let e = parse_duration("1000000000s").unwrap_err();
        assert!(e.contains("longest supported duration"), "{e}");
        assert!(parse_rate("1001").unwrap_err().contains("between 0.5 and 1000"));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("python3 app.py"), "python3 app.py");
        assert_eq!(escape_control("a\nb\x1b[31m"), "a\\nb\\u{1b}[31m");
    }

    /// The held command exec's before the first tick finds its threads: the process takes the new name
    /// (once seen as `sh` in CI, when the exec won that race).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_command_that_execs_before_the_first_tick_is_named_after_it() {
        let mut notes = Vec::new();
        let mut spawned = spawn(&["sleep".into(), "0.3".into()], true, &[], &mut notes).unwrap();
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
