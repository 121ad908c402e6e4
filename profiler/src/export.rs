//! Getting results out: [`report()`] builds a [`Report`] from the registry (classifying every instrumented
//! function), [`check_expectations()`] returns the `expect = …` mismatches, and the end-of-process dump driven by
//! `CONC_PROFILER_REPORT` (see [`crate::control`]) or a [`ReportGuard`].

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::classify::{Context, PollTiming, Thresholds, Timing};
use crate::probe::caps;
use crate::registry::{self, Kind, f};
use crate::report::{Entry, ExpectationMismatch, PerfCounts, Report, ReportKind};

/// Environment variable naming where to write the report when the process exits.
pub const REPORT_ENV: &str = "CONC_PROFILER_REPORT";

static THRESHOLDS: Mutex<Option<Thresholds>> = Mutex::new(None);
static LONG_POLL_NS: AtomicU64 = AtomicU64::new(Thresholds::LONG_POLL_NS);

/// Replaces the thresholds used by [`report()`] (the long-poll threshold also applies to polls measured from
/// now on, if set before the first async call).
pub fn set_thresholds(th: Thresholds) {
    *THRESHOLDS.lock().unwrap_or_else(|e| e.into_inner()) = Some(th);
    LONG_POLL_NS.store(th.long_poll_ns, Ordering::Relaxed);
}

/// The long-poll threshold in effect (read on every poll: one relaxed load).
#[inline]
pub(crate) fn long_poll_ns() -> u64 {
    LONG_POLL_NS.load(Ordering::Relaxed)
}

/// The thresholds in effect.
pub fn thresholds() -> Thresholds {
    THRESHOLDS.lock().unwrap_or_else(|e| e.into_inner()).unwrap_or_default()
}

fn timing_of(kind: Kind, c: &[u64; f::N]) -> (Timing, Timing) {
    let sub = |a: usize, b: usize| c[a].saturating_sub(c[b]);
    let inclusive = Timing {
        wall_ns: c[f::S_WALL],
        cpu_ns: c[f::S_CPU],
        runqueue_ns: c[f::S_RQ],
        voluntary_switches: c[f::S_VOL],
        involuntary_switches: c[f::S_INVOL],
        ..Timing::default()
    };
    let mut own = Timing {
        wall_ns: sub(f::S_WALL, f::S_CHILD_WALL),
        cpu_ns: sub(f::S_CPU, f::S_CHILD_CPU),
        runqueue_ns: sub(f::S_RQ, f::S_CHILD_RQ),
        voluntary_switches: sub(f::S_VOL, f::S_CHILD_VOL),
        involuntary_switches: sub(f::S_INVOL, f::S_CHILD_INVOL),
        ..Timing::default()
    };
    if kind == Kind::Async {
        own.wall_ns = own.wall_ns.saturating_sub(c[f::S_CHILD_WAIT]);
        let polls = PollTiming {
            polls: c[f::S_POLLS],
            // In-poll time the thread spent waiting for a CPU is the machine's, not the poll's (issue 14: CPU-only
            // polls preempted under load looked like polls that block the executor).
            poll_wall_ns: sub(f::S_POLL_WALL, f::S_CHILD_WALL).saturating_sub(own.runqueue_ns),
            poll_cpu_ns: own.cpu_ns,
            long_polls: c[f::S_LONG_POLLS],
            long_poll_wall_ns: c[f::S_LONG_POLL_WALL],
            long_poll_cpu_ns: c[f::S_LONG_POLL_CPU],
            idle_ns: c[f::S_IDLE],
            scheduled_ns: c[f::S_SCHEDULED],
        };
        own.polls = Some(polls);
        let mut inc = inclusive;
        inc.polls = Some(PollTiming {
            poll_wall_ns: c[f::S_POLL_WALL].saturating_sub(c[f::S_RQ]),
            poll_cpu_ns: c[f::S_CPU],
            ..polls
        });
        return (own, inc);
    }
    (own, inclusive)
}

/// Fewest sampler rounds from which the load seen is used.
const MIN_LOAD_ROUNDS: u64 = 3;

/// Load is not oversubscription: a function waiting for a core while this program's own runnable threads did
/// not exceed the cores waited because *other* processes kept the machine busy. Its verdict then follows its own
/// behaviour (classified without the run-queue wait), its evidence states the load seen, and
/// the returned note ("machine busy: …") goes in the report.
pub(crate) fn machine_busy(e: &mut Entry, load: crate::waits::Load, cores: usize, th: &Thresholds) -> Option<String> {
    if load.rounds < MIN_LOAD_ROUNDS {
        return None;
    }
    let (own, machine) = (load.own_avg(), load.machine_avg());
    if own > cores as f64 || machine <= cores as f64 {
        return None;
    }
    let seen = format!(
        "machine busy: {machine:.1} runnable tasks on average on {cores} cores while it ran, of which this program's \
         {own:.1} ({} samples)",
        load.rounds
    );
    if e.timing.runqueue_ns > 0 {
        // Without the run-queue wait others caused: what the function itself did (ran, or waited).
        let mut wall = e.timing.wall_ns.saturating_sub(e.timing.runqueue_ns);
        if let Some(p) = e.timing.polls {
            // A future's own time is its polls (on a CPU, or blocked inside them), its idle time (waiting for a
            // wake-up) and its scheduled time (woken, waiting for a poll). The rest of its lifetime is the
            // executor's between polls, and under load mostly preemption there, outside the probes' windows:
            // counted as blocked, it turned CPU-only polls into "mixed" (issue 14).
            let in_polls = p.poll_wall_ns.max(e.timing.cpu_ns);
            wall = wall.min(in_polls.saturating_add(p.idle_ns).saturating_add(p.scheduled_ns));
        }
        let own_behaviour = Timing { wall_ns: wall, runqueue_ns: 0, ..e.timing };
        let ctx = Context { subject: e.subject, runtime: e.runtime };
        let fixed = Entry::new(e.name.clone(), ctx, own_behaviour, e.total_wall_ns, th, cores);
        if fixed.classification.verdict != crate::Verdict::Insufficient {
            e.classification.evidence = format!(
                "{} without the run-queue wait ({}) — {seen}; the program's own runnable threads do not exceed the \
                 cores, so that wait is other processes' load",
                fixed.classification.evidence,
                crate::classify::fmt_ns(e.timing.runqueue_ns),
            );
            e.classification.verdict = fixed.classification.verdict;
            e.recommendation = fixed.recommendation;
        }
    }
    Some(format!("{seen}: run-queue wait there is other processes' load, not oversubscription"))
}

/// Builds the report of everything recorded so far, on every thread (live threads are read without stopping
/// them; exited threads were merged when they exited).
pub fn report() -> Report {
    let th = thresholds();
    let caps = caps();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut r = Report::new(ReportKind::InProcess, "conc-profiler", env!("CARGO_PKG_VERSION"));
    r.thresholds = th;
    r.measurement.cpu_clock = caps.cpu_clock;
    r.measurement.schedstat = caps.schedstat;
    r.measurement.rusage = caps.rusage;
    r.measurement.perf_counters = caps.perf_status.clone();
    r.measurement.probe_cost_ns = Some(caps.probe_cost_ns);
    r.measurement.sampling = format!(
        "first {} calls per function and thread, then while probe time stays ≤ 1/{} of the function's wall time",
        crate::control::WARMUP_CALLS,
        crate::control::PROBE_BUDGET_DIVISOR
    );
    if !caps.cpu_clock {
        r.notes.push("no per-thread CPU clock on this platform: wall time only, verdicts are `insufficient`".into());
    }
    if !caps.schedstat {
        r.notes.push("/proc/thread-self/schedstat unavailable: run-queue wait counted as blocked".into());
    }
    if caps.perf_status.starts_with("unavailable") {
        r.notes
            .push(format!("perf counters {}; using the thread CPU clock, getrusage and schedstat", caps.perf_status));
    }
    let dropped = registry::DROPPED_CALLS.load(Ordering::Relaxed);
    if dropped > 0 {
        r.notes.push(format!("{dropped} calls could not be recorded (thread-local teardown or too many call sites)"));
    }
    let mut busy_note = None;
    for (cs, c) in registry::snapshot() {
        if c[f::CALLS] == 0 {
            continue;
        }
        let load = crate::waits::load_of(cs.index());
        let (mut own, inclusive) = timing_of(cs.kind, &c);
        let waits = crate::waits::counts(cs.index());
        if waits.samples() > 0 {
            own.waits = Some(waits);
        }
        let ctx = match cs.kind {
            Kind::Sync => Context::sync_fn(),
            Kind::Async => Context::async_fn(),
        };
        let mut e = Entry::new(cs.full_name(), ctx, own, c[f::WALL], &th, cores);
        e.location = Some(cs.location());
        e.calls = Some(c[f::CALLS]);
        e.sampled_calls = Some(c[f::S_CALLS]);
        e.unwound = Some(c[f::UNWOUND]);
        e.cancelled = (cs.kind == Kind::Async).then_some(c[f::CANCELLED]);
        if inclusive != own {
            e.inclusive = Some(inclusive);
        }
        e.expect = cs.expect;
        if let Some(seen) = machine_busy(&mut e, load, cores, &th) {
            busy_note.get_or_insert(seen);
        }
        if caps.perf_mode {
            e.perf = Some(PerfCounts {
                task_clock_ns: c[f::PERF_TASK_CLOCK],
                context_switches: c[f::PERF_CS],
                cpu_migrations: c[f::PERF_MIGRATIONS],
                page_faults: c[f::PERF_FAULTS],
            });
        }
        r.entries.push(e);
    }
    if let Some(note) = busy_note {
        r.notes.push(note);
    }
    r.entries.sort_by(|a, b| b.total_wall_ns.cmp(&a.total_wall_ns).then_with(|| a.name.cmp(&b.name)));
    r.refresh_expectations();
    r
}

/// The `expect = "cpu" | "io"` declarations the measurements contradict (empty when all held or could not be
/// judged). Use in a test: `assert!(conc_profiler::check_expectations().is_empty())`.
pub fn check_expectations() -> Vec<ExpectationMismatch> {
    report().expectations
}

/// Panics with every failed expectation, one per line, if any failed.
pub fn assert_expectations() {
    let m = check_expectations();
    if !m.is_empty() {
        let lines: Vec<String> = m.iter().map(ToString::to_string).collect();
        panic!("conc-profiler: {} expectation(s) failed:\n{}", m.len(), lines.join("\n"));
    }
}

/// Where and how to write a report.
fn write_to(target: &str, r: &Report) -> std::io::Result<()> {
    if target == "-" {
        eprint!("{}", r.human_table());
        return Ok(());
    }
    let path = target.replace("{pid}", &std::process::id().to_string());
    let body = if path.ends_with(".txt") {
        let mut s = r.human_table();
        for l in r.summary_lines() {
            s.push_str(&l);
            s.push('\n');
        }
        s
    } else {
        r.to_json_pretty()
    };
    std::fs::write(&path, body)
}

/// Writes the report where `CONC_PROFILER_REPORT` says, if it is set. Errors are printed, never panicked on.
pub fn write_report_from_env() {
    let Ok(target) = std::env::var(REPORT_ENV) else { return };
    if target.is_empty() {
        return;
    }
    let r = report();
    if let Err(e) = write_to(&target, &r) {
        eprintln!("conc-profiler: cannot write the report to {target}: {e}");
    }
}

static HOOK: AtomicBool = AtomicBool::new(false);
static WRITTEN: AtomicBool = AtomicBool::new(false);

extern "C" fn at_exit() {
    if !WRITTEN.swap(true, Ordering::AcqRel) {
        // Never unwind out of an atexit handler.
        let _ = std::panic::catch_unwind(write_report_from_env);
    }
}

/// Registers the end-of-process writer once, if `CONC_PROFILER_REPORT` is set.
pub(crate) fn install_exit_hook() {
    if std::env::var_os(REPORT_ENV).is_some() && !HOOK.swap(true, Ordering::AcqRel) {
        crate::sys::register_atexit(at_exit);
    }
}

/// Writes the report when dropped (to `CONC_PROFILER_REPORT`, or to the path given to [`ReportGuard::to_path`]).
/// For programs that leave through `std::process::exit` paths that skip `atexit`, or to write at a chosen point.
#[must_use = "the report is written when the guard drops"]
#[derive(Debug)]
pub struct ReportGuard {
    target: Option<String>,
}

impl ReportGuard {
    /// Writes where `CONC_PROFILER_REPORT` says (nothing if unset).
    pub fn from_env() -> ReportGuard {
        ReportGuard { target: std::env::var(REPORT_ENV).ok().filter(|s| !s.is_empty()) }
    }

    /// Writes to `path` (`-` for the table on stderr; `.txt` for the table; otherwise JSON).
    pub fn to_path(path: impl Into<String>) -> ReportGuard {
        ReportGuard { target: Some(path.into()) }
    }
}

impl Drop for ReportGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.target {
            WRITTEN.store(true, Ordering::Release);
            if let Err(e) = write_to(t, &report()) {
                eprintln!("conc-profiler: cannot write the report to {t}: {e}");
            }
        }
    }
}
