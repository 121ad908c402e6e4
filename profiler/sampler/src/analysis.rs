//! Verdicts for the external profile, as a layer on the shared classifier (`conc_report::classify`): each
//! thread and process is classified from its [`Timing`], then [`refine`] uses what only the outside view knows —
//! where blocked time went (futex, I/O, sleep, child wait) — to tell idle and lock-serialised threads from
//! I/O-bound ones. The whole-run answer (serialised by a lock/GIL, I/O-bound with a pool size, oversubscribed,
//! fine, single-core, idle, machine busy) is built from those verdicts and the tree's timeline.

use conc_report::classify::{
    self, Classification, Context, Runtime, Subject, Thresholds as SharedThresholds, Timing, Verdict,
};
use conc_report::report::{Entry, Measurement, Report, ReportKind};

use super::collect::{ProcTrack, Sampler, ThreadTrack};
use super::model::{
    BlockedByKind, ExternalReport, Finding, FindingKind, PerfTotals, ProcessReport, SamplerCost, Shares, Sources,
    TasksCreated, ThreadReport,
};
use super::procfs::WaitKind;

/// Thresholds of the external layer (fractions of a thread's observed wall time unless said otherwise); the
/// per-subject verdicts use [`SharedThresholds`] first.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// The shared classifier's thresholds.
    pub shared: SharedThresholds,
    /// Below this observed lifetime (seconds) a thread is insufficient to judge: a few ticks say little.
    pub min_wall_s: f64,
    /// On-CPU share below which a thread that only waits on timers, children or a futex is idle.
    pub idle_cpu: f64,
    /// A thread blocked on I/O that computes less than this share and wakes less than
    /// `io_min_switches_per_s` times a second is parked on a silent pipe or socket: idle.
    pub io_min_cpu: f64,
    pub io_min_switches_per_s: f64,
    /// Futex share at or above which a CPU-hungry thread counts as serialised behind a lock.
    pub lock_share: f64,
    /// On-CPU + run-queue + futex share a lock-serialised thread reaches (it would run if it could).
    pub hungry: f64,
    /// Together, serialised threads use at most this many cores.
    pub serialised_max_cores: f64,
    /// Serialised threads switch voluntarily at least this often per second (each).
    pub serialised_min_switches_per_s: f64,
    /// Threads shorter than this share of the run (and than `min_wall_s`) do not enter the whole-run answer.
    pub significant_share: f64,
    /// On-CPU + run-queue share a serialised thread reaches at least (on a busy machine most of its wanting to
    /// run is spent on the run queue).
    pub serialised_min_busy: f64,
    /// Run-queue wait as a share of (on-CPU + run-queue) of CPU-hungry threads above which the machine is busy.
    pub runq_of_busy: f64,
    /// The tree is oversubscribed when its mean runnable threads (while it has work) exceed cores × this.
    pub oversubscribed_factor: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            shared: SharedThresholds::default(),
            min_wall_s: 0.1,
            idle_cpu: 0.1,
            io_min_cpu: 0.02,
            io_min_switches_per_s: 20.0,
            lock_share: 0.15,
            hungry: 0.7,
            serialised_max_cores: 1.35,
            serialised_min_switches_per_s: 30.0,
            oversubscribed_factor: 1.25,
            runq_of_busy: 0.25,
            significant_share: 0.2,
            serialised_min_busy: 0.1,
        }
    }
}

/// A thread's shares: blocked time is what is left of `wall_s` after CPU and run-queue; percentages and rates are
/// of `wall_s`.
pub fn shares_of(wall_s: f64, cpu_s: f64, runq_s: f64, blocked: BlockedByKind, vol: u64, invol: u64) -> Shares {
    let blocked_s = (wall_s - cpu_s - runq_s).max(0.0);
    from_sums(wall_s, wall_s, cpu_s, runq_s, blocked_s, blocked, (vol, invol))
}

/// A process's shares from its threads' and its lifetime (`span_s`): seconds and switches summed over the
/// threads; percentages are shares of the threads' summed time (so they stay within 100 % and add up like a
/// thread's), `cores` is CPU seconds per second of the lifetime (two busy threads: 2.0), rates are per second
/// of the lifetime.
pub fn process_shares(span_s: f64, threads: &[&Shares]) -> Shares {
    let mut blocked_by_kind = BlockedByKind::default();
    for t in threads {
        blocked_by_kind.add(&t.blocked_by_kind);
    }
    let sum = |f: fn(&Shares) -> f64| threads.iter().map(|t| f(t)).sum::<f64>();
    let vol: u64 = threads.iter().map(|t| t.voluntary_switches).sum();
    let invol: u64 = threads.iter().map(|t| t.involuntary_switches).sum();
    let (thread_s, cpu_s, runq_s, blocked_s) =
        (sum(|t| t.wall_s), sum(|t| t.cpu_s), sum(|t| t.runq_s), sum(|t| t.blocked_s));
    from_sums(span_s, thread_s, cpu_s, runq_s, blocked_s, blocked_by_kind, (vol, invol))
}

/// Shares from summed seconds: percentages of `thread_s`, `cores` and switch rates per second of `span_s`.
/// Below a millisecond of observation, shares and rates would be noise (or infinite): they are zero.
fn from_sums(
    span_s: f64,
    thread_s: f64,
    cpu_s: f64,
    runq_s: f64,
    blocked_s: f64,
    blocked_by_kind: BlockedByKind,
    (vol, invol): (u64, u64),
) -> Shares {
    let tt = if thread_s < 1e-3 { f64::INFINITY } else { thread_s };
    let span = if span_s < 1e-3 { f64::INFINITY } else { span_s };
    Shares {
        wall_s: span_s,
        thread_s,
        cpu_s,
        cores: cpu_s / span,
        runq_s,
        blocked_s,
        blocked_by_kind,
        on_cpu_pct: 100.0 * cpu_s / tt,
        runq_pct: 100.0 * runq_s / tt,
        blocked_pct: 100.0 * blocked_s / tt,
        voluntary_switches: vol,
        involuntary_switches: invol,
        voluntary_per_s: vol as f64 / span,
        involuntary_per_s: invol as f64 / span,
    }
}

fn thread_shares(t: &ThreadTrack) -> Shares {
    let d = t.delta();
    let wall = (t.last_seen_s - t.first_seen_s).max(0.0);
    let cpu = d.cpu_ns as f64 / 1e9;
    let runq = d.runq_ns as f64 / 1e9;
    shares_of(wall.max(cpu + runq), cpu, runq, t.blocked.clone(), d.vol, d.invol)
}

fn ns(s: f64) -> u64 {
    (s.max(0.0) * 1e9) as u64
}

/// The shared classifier's input for one thread.
pub fn timing_of(s: &Shares) -> Timing {
    Timing {
        wall_ns: ns(s.wall_s),
        cpu_ns: ns(s.cpu_s),
        runqueue_ns: ns(s.runq_s),
        blocked_ns: ns(s.blocked_s),
        voluntary_switches: s.voluntary_switches,
        involuntary_switches: s.involuntary_switches,
        ..Timing::default()
    }
}

fn blocked_evidence(s: &Shares) -> String {
    let w = s.wall_s.max(1e-9);
    let parts: Vec<String> = WaitKind::ALL
        .iter()
        .filter(|k| s.blocked_by_kind.get(**k) / w >= 0.01)
        .map(|k| format!("{} {:.0}%", k.label(), 100.0 * s.blocked_by_kind.get(*k) / w))
        .collect();
    if parts.is_empty() { String::new() } else { format!("; blocked on {}", parts.join(", ")) }
}

/// The external layer: refines the shared verdict with the kinds of wait.
///
/// - observed less than `min_wall_s` → insufficient (a few ticks);
/// - waiting that is mostly timers, child processes or a futex, with little CPU → idle;
/// - blocked on I/O but parked (little CPU, few wake-ups) → idle;
/// - wanting to run (on-CPU + run-queue + futex ≥ `hungry`) with a large futex share → lock-serialised;
/// - I/O-bound requires the I/O kinds (read/recv/poll/epoll, disk) to dominate the waiting.
pub fn refine(c: Classification, s: &Shares, th: &Thresholds) -> Classification {
    let w = s.wall_s.max(1e-9);
    let cpu = s.cpu_s / w;
    let runq = s.runq_s / w;
    let b = &s.blocked_by_kind;
    let (lock, io, idle_wait) = (b.lock / w, (b.io + b.disk) / w, (b.sleep + b.child + b.other) / w);
    let more = blocked_evidence(s);
    let with = |verdict: Verdict, why: &str| Classification {
        verdict,
        evidence: format!("{}{more}{}", c.evidence, if why.is_empty() { String::new() } else { format!(" — {why}") }),
        ..c.clone()
    };
    if s.wall_s < th.min_wall_s {
        return with(Verdict::Insufficient, "seen for less than a few samples");
    }
    match c.verdict {
        Verdict::IoBound | Verdict::Mixed | Verdict::Idle => {
            if cpu + runq + lock >= th.hungry && lock >= th.lock_share && cpu >= th.idle_cpu {
                with(Verdict::LockSerialized, "it would run, but waits on a futex: taking turns on a lock")
            } else if cpu < th.idle_cpu && lock + idle_wait >= io {
                with(Verdict::Idle, "waiting on timers, child processes or a futex, not on I/O")
            } else if io >= lock + idle_wait && cpu < th.io_min_cpu && s.voluntary_per_s < th.io_min_switches_per_s {
                with(Verdict::Idle, "parked on a pipe or socket that delivers nothing")
            } else if c.verdict == Verdict::Idle || (c.verdict == Verdict::IoBound && io < lock + idle_wait) {
                with(Verdict::Mixed, "")
            } else {
                with(c.verdict, "")
            }
        }
        _ => with(c.verdict, ""),
    }
}

/// Python is recognised by process name or command line.
pub fn is_python(name: &str, cmdline: &[String]) -> bool {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    base(name).starts_with("python") || cmdline.first().is_some_and(|a| base(a).starts_with("python"))
}

/// The runtime a process runs, for the advice (free-threaded builds are named `python3.13t` and the like).
pub fn runtime_of(name: &str, cmdline: &[String]) -> Runtime {
    if !is_python(name, cmdline) {
        return Runtime::Native;
    }
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    let ft = |s: String| s.ends_with('t') && s.chars().rev().nth(1).is_some_and(|c| c.is_ascii_digit());
    if ft(base(name)) || cmdline.first().is_some_and(|a| ft(base(a))) {
        Runtime::PythonFreeThreaded
    } else {
        Runtime::Python
    }
}

/// Inputs to the report besides the sampler.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub command: Vec<String>,
    pub root_pid: i32,
    pub attached: bool,
    pub exit_code: Option<i32>,
    pub sampler: SamplerCost,
    pub perf: PerfTotals,
    pub sources: Sources,
    pub notes: Vec<String>,
    pub perf_status: String,
    /// Fork records counted while the command ran (`forks.rs`), when available and nothing was lost.
    pub forks: Option<crate::forks::ForkCounts>,
}

/// Builds the whole report.
pub fn build_report(s: &Sampler, info: RunInfo, th: &Thresholds) -> ExternalReport {
    let mut base = Report::new(ReportKind::External, "conc-advisor", env!("CARGO_PKG_VERSION"));
    let cores = base.host.cores.max(1);
    let duration_s = s.timeline.last().map(|p| p.t_s).unwrap_or(0.0);
    let mut processes: Vec<ProcessReport> =
        s.procs.values().map(|p| process_report(s, p, th, cores, &mut base.entries)).collect();
    crate::short_lived::account(&mut processes, &mut base.entries, &s.procs, &th.shared, cores);
    crate::coordinator::mark(&mut processes, &mut base.entries);
    crate::load::not_oversubscribed(&mut processes, &mut base.entries, &s.timeline, cores, th);
    let total_cpu: f64 = processes.iter().map(|p| p.shares.cpu_s).sum();
    let n = s.timeline.len().max(1) as f64;
    let mean_runnable = s.timeline.iter().map(|p| f64::from(p.runnable)).sum::<f64>() / n;
    base.command = Some(info.command);
    base.notes = info.notes;
    base.thresholds = th.shared;
    base.measurement = measurement(&info.sources, info.perf_status, &info.sampler);
    // Consistent figures: the average never above the peak, neither above the cores, no negative zero (`+ 0.0`
    // turns -0.0 into 0.0). The peak is of sampled intervals; the average also counts short-lived tasks' CPU.
    let cores_f = cores as f64;
    let mean_cores_used = if duration_s > 0.0 { (total_cpu / duration_s).clamp(0.0, cores_f) } else { 0.0 } + 0.0;
    let peak_cores_used =
        s.timeline.iter().map(|p| p.cores_used).fold(0.0, f64::max).max(mean_cores_used).min(cores_f) + 0.0;
    let mut report = ExternalReport {
        base,
        python: processes.iter().any(|p| p.python),
        root_pid: info.root_pid,
        attached: info.attached,
        exit_code: info.exit_code,
        duration_s,
        sources: info.sources,
        sampler: info.sampler,
        perf: info.perf,
        mean_cores_used,
        peak_cores_used,
        mean_runnable: mean_runnable.max(0.0) + 0.0,
        processes,
        timeline: s.timeline.clone(),
        findings: Vec::new(),
        python_targets: Vec::new(),
        unseen_tasks_at_most: Some(s.unseen_tasks_at_most),
        tasks_created: info.forks.map(|f| {
            // Every task seen but the command's first one was created while profiling (a spawned command).
            // A process may be seen (in its parent's `children`) before any of its threads was read.
            let mut tasks: std::collections::BTreeSet<i32> = s.threads.keys().map(|(tid, _)| *tid).collect();
            tasks.extend(s.tree_ever.iter().copied());
            tasks.remove(&info.root_pid);
            let seen = tasks.len() as u64;
            TasksCreated {
                processes: f.processes,
                threads: f.threads,
                unseen: (f.processes + f.threads).saturating_sub(seen),
            }
        }),
    };
    report.findings = findings(&report, th);
    mark_serialised(&mut report, cores);
    crate::measured::annotate(&mut report);
    report
}

/// A process's row and its threads' rows; their shared-schema entries go to `entries`.
fn process_report(
    s: &Sampler,
    p: &ProcTrack,
    th: &Thresholds,
    cores: usize,
    entries: &mut Vec<Entry>,
) -> ProcessReport {
    let runtime = runtime_of(&p.name, &p.cmdline);
    let threads: Vec<ThreadReport> = p
        .threads
        .iter()
        .filter_map(|key| s.thread(key))
        .map(|t| thread_report(p, t, runtime, th, cores, entries))
        .collect();
    let first = threads.iter().map(|t| t.first_seen_s).fold(p.first_seen_s, f64::min);
    let last = threads.iter().map(|t| t.last_seen_s).fold(p.last_seen_s, f64::max);
    let span = (last - first).max(0.0);
    let shares = process_shares(span, &threads.iter().map(|t| &t.shares).collect::<Vec<_>>());
    // The process as a group for the shared classifier: wall summed over threads, span its lifetime.
    let group = Timing {
        wall_ns: ns(shares.thread_s),
        cpu_ns: ns(shares.cpu_s),
        runqueue_ns: ns(shares.runq_s),
        blocked_ns: ns(shares.blocked_s),
        voluntary_switches: shares.voluntary_switches,
        involuntary_switches: shares.involuntary_switches,
        threads: threads.len() as u64,
        span_ns: ns(span),
        ..Timing::default()
    };
    let (verdict, evidence) = process_verdict(&threads, &group, th);
    let mut e =
        Entry::new(format!("{} {}", p.pid, p.name), Context::process(runtime), group, ns(span), &th.shared, cores);
    e.pid = u32::try_from(p.pid).ok();
    e.classification.verdict = verdict;
    e.classification.evidence = evidence.clone();
    e.recommendation = classify::recommend(&e.classification, cores, Context::process(runtime));
    entries.push(e);
    ProcessReport {
        pid: p.pid,
        ppid: p.ppid,
        name: p.name.clone(),
        python: runtime.is_python(),
        cmdline: p.cmdline.clone(),
        first_seen_s: first,
        last_seen_s: last,
        shares,
        max_threads: p.max_threads.max(threads.len().min(1)),
        verdict,
        evidence,
        threads,
    }
}

/// A thread's row, classified on its own; its shared-schema entry goes to `entries`.
fn thread_report(
    p: &ProcTrack,
    t: &ThreadTrack,
    runtime: Runtime,
    th: &Thresholds,
    cores: usize,
    entries: &mut Vec<Entry>,
) -> ThreadReport {
    let sh = thread_shares(t);
    let c = refine(classify::classify(&timing_of(&sh), &th.shared), &sh, th);
    let mut e = Entry::new(
        format!("{}/{} {}", p.pid, t.tid, t.name),
        Context::thread(runtime),
        timing_of(&sh),
        ns(sh.wall_s),
        &th.shared,
        cores,
    );
    e.pid = u32::try_from(p.pid).ok();
    e.tid = u32::try_from(t.tid).ok();
    e.recommendation = classify::recommend(&c, cores, Context::thread(runtime));
    e.classification = c.clone();
    entries.push(e);
    ThreadReport {
        tid: t.tid,
        name: t.name.clone(),
        first_seen_s: t.first_seen_s,
        last_seen_s: t.last_seen_s,
        verdict: c.verdict,
        evidence: c.evidence,
        shares: sh,
    }
}

/// How the run was measured, for the shared schema.
fn measurement(sources: &Sources, perf_status: String, sampler: &SamplerCost) -> Measurement {
    Measurement {
        cpu_clock: sources.schedstat,
        schedstat: sources.schedstat,
        rusage: true,
        perf_counters: perf_status,
        probe_cost_ns: Some((sampler.mean_tick_us * 1e3) as u64),
        sampling: format!(
            "/proc/…/task/…/{{stat,status,schedstat,syscall}} read with pread at {:.0} Hz over the whole process \
             tree; probe cost is the mean cost of one tick",
            sampler.rate_hz
        ),
    }
}

/// A process whose threads the whole-run answer found serialised is lock-serialised, whatever its busiest
/// thread's own verdict (on a busy machine they also wait for a CPU).
fn mark_serialised(report: &mut ExternalReport, cores: usize) {
    for f in report.findings.iter().filter(|f| f.kind == FindingKind::Serialised) {
        for p in report.processes.iter_mut().filter(|p| f.pids.contains(&p.pid)) {
            p.verdict = Verdict::LockSerialized;
            p.evidence = format!("{}; {}", f.message, p.evidence);
            let rt = runtime_of(&p.name, &p.cmdline);
            let pid = u32::try_from(p.pid).ok();
            for e in report.base.entries.iter_mut().filter(|e| e.pid == pid && e.subject == Subject::Process) {
                e.classification.verdict = Verdict::LockSerialized;
                e.classification.evidence = p.evidence.clone();
                e.recommendation = classify::recommend(&e.classification, cores, Context::process(rt));
            }
        }
    }
}

/// A process's verdict: lock-serialised when two or more of its threads are; otherwise the verdict of its most
/// active thread (computing, waiting for a CPU, or waiting on I/O), with the group's figures as evidence.
fn process_verdict(threads: &[ThreadReport], group: &Timing, th: &Thresholds) -> (Verdict, String) {
    let shared = classify::classify(group, &th.shared);
    let judged: Vec<&ThreadReport> = threads.iter().filter(|t| t.verdict != Verdict::Insufficient).collect();
    if judged.is_empty() {
        return (Verdict::Insufficient, format!("no thread observed long enough ({})", shared.evidence));
    }
    let serialised = judged.iter().filter(|t| t.verdict == Verdict::LockSerialized).count();
    if serialised >= 2 {
        return (Verdict::LockSerialized, format!("{serialised} threads take turns on a lock; {}", shared.evidence));
    }
    let activity = |t: &ThreadReport| {
        let b = &t.shares.blocked_by_kind;
        t.shares.cpu_s + t.shares.runq_s + b.io + b.disk + b.lock * 0.5
    };
    // Idle threads (parked acceptors, joins, timers) do not speak for the process unless all are idle.
    let active: Vec<&ThreadReport> = judged.iter().copied().filter(|t| t.verdict != Verdict::Idle).collect();
    let pool = if active.is_empty() { &judged } else { &active };
    let best = pool.iter().max_by(|a, b| activity(a).total_cmp(&activity(b))).copied();
    match best {
        Some(t) if judged.len() == 1 => (t.verdict, t.evidence.clone()),
        Some(t) => (t.verdict, format!("busiest thread {} ({}): {}", t.tid, t.name, t.evidence)),
        None => (Verdict::Idle, shared.evidence),
    }
}

fn runtime(p: &ProcessReport) -> Runtime {
    runtime_of(&p.name, &p.cmdline)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn names(report: &ExternalReport, tids: &[(i32, i32)]) -> String {
    let mut pids: Vec<i32> = tids.iter().map(|&(p, _)| p).collect();
    pids.dedup();
    let procs: Vec<String> = pids
        .iter()
        .filter_map(|pid| report.processes.iter().find(|p| p.pid == *pid))
        .map(|p| format!("{} ({})", p.name, p.pid))
        .collect();
    procs.join(", ")
}

/// The whole-run answer.
pub fn findings(r: &ExternalReport, th: &Thresholds) -> Vec<Finding> {
    let mut out = Vec::new();
    // The whole-run answer is about the main work: threads that lived a good part of the run.
    let min_wall = (r.duration_s * th.significant_share).max(th.min_wall_s);
    let judged: Vec<Judged<'_>> =
        r.threads().filter(|(_, t)| t.verdict != Verdict::Insufficient && t.shares.wall_s >= min_wall).collect();
    let serialised_tids = serialised(r, th, &mut out);
    let hungry: Vec<&Judged<'_>> =
        judged.iter().filter(|(_, t)| matches!(t.verdict, Verdict::CpuBound | Verdict::Oversubscribed)).collect();
    let oversubscribed = oversubscribed_or_busy(r, th, &hungry, &mut out);
    io_bound(r, &judged, &mut out);
    cpu_bound(r, &hungry, &serialised_tids, oversubscribed, &mut out);
    idle(r, &mut out);
    if out.is_empty() {
        out.push(mixed(r));
    }
    out
}

/// A thread of the run with its process.
type Judged<'a> = (&'a ProcessReport, &'a ThreadReport);

/// No dominant pattern.
fn mixed(r: &ExternalReport) -> Finding {
    Finding {
        kind: FindingKind::Mixed,
        message: format!(
            "mixed: the program used {:.2} of {} cores on average with no dominant pattern (see the table)",
            r.mean_cores_used,
            r.cores()
        ),
        recommendation: "profile the busiest threads in process (conc-profiler) to see which functions wait \
                             and which compute"
            .into(),
        pids: Vec::new(),
        tids: Vec::new(),
        suggested_workers: None,
    }
}

/// Serialised: CPU-hungry threads of one process that together use about one core, blocking on a futex.
/// Returns the threads found serialised.
fn serialised(r: &ExternalReport, th: &Thresholds, out: &mut Vec<Finding>) -> Vec<i32> {
    let cores = r.cores() as f64;
    let mut serialised_tids = Vec::new();
    for p in &r.processes {
        let hungry: Vec<&ThreadReport> = p
            .threads
            .iter()
            .filter(|t| t.verdict != Verdict::Insufficient && t.shares.wall_s >= 0.3 * r.duration_s.min(1.0))
            .filter(|t| {
                // Serialised threads want to run (on a CPU, waiting for one, or waiting for the lock) and spend a
                // real share on the futex. Their own verdict may say oversubscribed when the machine is busy.
                let w = t.shares.wall_s.max(1e-9);
                let (cpu, runq, lock) = (t.shares.cpu_s / w, t.shares.runq_s / w, t.shares.blocked_by_kind.lock / w);
                (t.verdict == Verdict::LockSerialized
                    || (cpu + runq >= th.serialised_min_busy
                        && lock >= th.lock_share
                        && cpu + runq + lock >= th.hungry))
                    && t.shares.voluntary_per_s >= th.serialised_min_switches_per_s
            })
            .collect();
        // A thread that mostly waits (a main thread in `join`) is not one of the workers taking turns.
        let busy = |t: &ThreadReport| (t.shares.cpu_s + t.shares.runq_s) / t.shares.wall_s.max(1e-9);
        let top = hungry.iter().map(|t| busy(t)).fold(0.0, f64::max);
        let hungry: Vec<&ThreadReport> = hungry.into_iter().filter(|t| busy(t) >= 0.25 * top).collect();
        if hungry.len() < 2 || cores < 2.0 {
            continue;
        }
        let first = hungry.iter().map(|t| t.first_seen_s).fold(f64::INFINITY, f64::min);
        let last = hungry.iter().map(|t| t.last_seen_s).fold(0.0, f64::max);
        let window = (last - first).max(1e-9);
        let cpu: f64 = hungry.iter().map(|t| t.shares.cpu_s).sum();
        let used = cpu / window;
        let lock: f64 = hungry.iter().map(|t| t.shares.blocked_by_kind.lock / t.shares.wall_s.max(1e-9)).sum::<f64>()
            / hungry.len() as f64;
        let switches: f64 = hungry.iter().map(|t| t.shares.voluntary_per_s).sum::<f64>() / hungry.len() as f64;
        if used <= th.serialised_max_cores {
            let k = hungry.len();
            let who = if p.python { "for CPython: the GIL" } else { "a shared lock" };
            let c = Classification {
                verdict: Verdict::LockSerialized,
                cpu_share: (used / k as f64).min(1.0),
                runqueue_share: 0.0,
                blocked_share: lock.min(1.0),
                evidence: String::new(),
            };
            let rec = classify::recommend(&c, r.cores(), Context::process(runtime(p))).text;
            out.push(Finding {
                kind: FindingKind::Serialised,
                message: format!(
                    "serialised by a lock ({who}): {k} threads of {} ({}) want to run all the time, yet together \
                     use {used:.2} of {} cores; each spends {} of its time blocked on a futex and gives up the CPU \
                     {switches:.0} times a second",
                    p.name,
                    p.pid,
                    r.cores(),
                    pct(lock)
                ),
                recommendation: rec,
                pids: vec![p.pid],
                tids: hungry.iter().map(|t| t.tid).collect(),
                suggested_workers: Some(r.cores()),
            });
            serialised_tids.extend(hungry.iter().map(|t| t.tid));
        }
    }
    serialised_tids
}

/// Oversubscribed (the tree's own runnable threads exceed the cores) or a busy machine.
/// `hungry` are the judged CPU-bound or oversubscribed threads. Returns whether the run is oversubscribed.
fn oversubscribed_or_busy(r: &ExternalReport, th: &Thresholds, hungry: &[&Judged<'_>], out: &mut Vec<Finding>) -> bool {
    let cores = r.cores() as f64;
    let busy_cpu: f64 = hungry.iter().map(|(_, t)| t.shares.cpu_s).sum();
    let busy_runq: f64 = hungry.iter().map(|(_, t)| t.shares.runq_s).sum();
    let runq_share = busy_runq / (busy_cpu + busy_runq).max(1e-9);
    // Mean runnable over the ticks where the tree had work (so a slow start or a tail does not dilute it).
    let active: Vec<f64> = r.timeline.iter().filter(|p| p.runnable > 0).map(|p| f64::from(p.runnable)).collect();
    let active_runnable = if active.is_empty() { 0.0 } else { active.iter().sum::<f64>() / active.len() as f64 };
    let oversubscribed = !hungry.is_empty()
        && active_runnable > cores * th.oversubscribed_factor
        && runq_share >= th.shared.oversubscribed_runqueue_share;
    if oversubscribed {
        let n = active_runnable.round() as usize;
        let procs = hungry.iter().map(|(p, _)| p.pid).collect::<std::collections::BTreeSet<_>>();
        let c = Classification {
            verdict: Verdict::Oversubscribed,
            cpu_share: 1.0 - runq_share,
            runqueue_share: runq_share,
            blocked_share: 0.0,
            evidence: String::new(),
        };
        let rt = hungry.iter().map(|(p, _)| runtime(p)).next().unwrap_or_default();
        let rec = classify::recommend(&c, r.cores(), Context::process(rt)).text;
        out.push(Finding {
            kind: FindingKind::Oversubscribed,
            message: format!(
                "oversubscribed: {n} runnable for {} cores on average while busy; {} CPU-hungry threads in {} \
                 processes waited {} of their busy time for a CPU",
                r.cores(),
                hungry.len(),
                procs.len(),
                pct(runq_share)
            ),
            recommendation: rec,
            pids: procs.into_iter().collect(),
            tids: hungry.iter().map(|(_, t)| t.tid).collect(),
            suggested_workers: Some(r.cores()),
        });
    } else if !hungry.is_empty() && runq_share >= th.runq_of_busy {
        let machine = r.timeline.iter().filter_map(|p| p.machine_runnable).map(f64::from).collect::<Vec<_>>();
        let m = if machine.is_empty() { None } else { Some(machine.iter().sum::<f64>() / machine.len() as f64) };
        out.push(Finding {
            kind: FindingKind::MachineBusy,
            message: format!(
                "the machine is busy with other work: CPU-hungry threads waited {} of their busy time for a CPU, \
                 while the program itself had only {active_runnable:.1} runnable threads for {} cores{}",
                pct(runq_share),
                r.cores(),
                m.map(|m| format!(" (the whole machine: {m:.1} runnable)")).unwrap_or_default()
            ),
            recommendation: "measure again on a quieter machine before resizing anything".into(),
            pids: Vec::new(),
            tids: Vec::new(),
            suggested_workers: None,
        });
    }
    oversubscribed
}

/// I/O-bound threads: threads or asyncio are right, and could go to N.
fn io_bound(r: &ExternalReport, judged: &[Judged<'_>], out: &mut Vec<Finding>) {
    let io: Vec<&(&ProcessReport, &ThreadReport)> =
        judged.iter().filter(|(_, t)| t.verdict == Verdict::IoBound).collect();
    if !io.is_empty() {
        let wait: f64 = io.iter().map(|(_, t)| t.shares.blocked_by_kind.io + t.shares.blocked_by_kind.disk).sum();
        let compute: f64 = io.iter().map(|(_, t)| t.shares.cpu_s).sum::<f64>().max(1e-3 * io.len() as f64);
        let ratio = wait / compute;
        let n = classify::io_pool_size(r.cores(), ns(wait), ns(compute));
        let tids: Vec<(i32, i32)> = io.iter().map(|(p, t)| (p.pid, t.tid)).collect();
        let c = Classification {
            verdict: Verdict::IoBound,
            cpu_share: compute / (wait + compute),
            runqueue_share: 0.0,
            blocked_share: wait / (wait + compute),
            evidence: String::new(),
        };
        let rt = io.iter().map(|(p, _)| runtime(p)).next().unwrap_or_default();
        let rec = classify::recommend(&c, r.cores(), Context::thread(rt)).text;
        out.push(Finding {
            kind: FindingKind::IoBound,
            message: format!(
                "I/O-bound: {} threads of {} spent {:.1} s waiting on I/O for {:.2} s on a CPU (wait/compute = \
                 {ratio:.0})",
                io.len(),
                names(r, &tids),
                wait,
                compute
            ),
            recommendation: rec,
            pids: tids.iter().map(|&(p, _)| p).collect::<std::collections::BTreeSet<_>>().into_iter().collect(),
            tids: tids.iter().map(|&(_, t)| t).collect(),
            suggested_workers: Some(n),
        });
    }
}

/// CPU-bound work: fine (parallel, sized) or on a single core. Not judged when the run is serialised or oversubscribed.
fn cpu_bound(
    r: &ExternalReport,
    hungry: &[&Judged<'_>],
    serialised_tids: &[i32],
    oversubscribed: bool,
    out: &mut Vec<Finding>,
) {
    let cpu_workers: Vec<&Judged<'_>> =
        hungry.iter().copied().filter(|(_, t)| !serialised_tids.contains(&t.tid)).collect();
    if !oversubscribed && serialised_tids.is_empty() {
        let busy = out.iter().any(|f| f.kind == FindingKind::MachineBusy);
        if cpu_workers.len() >= 2 {
            out.push(parallel(r, &cpu_workers, busy));
        } else if let [(p, t)] = cpu_workers[..]
            && !busy
        {
            // On a machine other work keeps busy, no core "stayed free": the busy-machine finding says to measure
            // again rather than resize (seen in CI: a 2-process pool, one worker slowed by other builds, was
            // told to use a process pool).
            out.push(single_core(r, p, t));
        }
    }
}

/// Several CPU-bound threads: fine when together they use the cores they could (or the machine was busy),
/// else they do not overlap.
fn parallel(r: &ExternalReport, cpu_workers: &[&Judged<'_>], busy: bool) -> Finding {
    let cores = r.cores() as f64;
    let first = cpu_workers.iter().map(|(_, t)| t.first_seen_s).fold(f64::INFINITY, f64::min);
    let last = cpu_workers.iter().map(|(_, t)| t.last_seen_s).fold(0.0, f64::max);
    let used = cpu_workers.iter().map(|(_, t)| t.shares.cpu_s).sum::<f64>() / (last - first).max(1e-9);
    let procs = cpu_workers.iter().map(|(p, _)| p.pid).collect::<std::collections::BTreeSet<_>>();
    let expected = (cpu_workers.len() as f64).min(cores);
    Finding {
        kind: if used >= 0.6 * expected || busy { FindingKind::Fine } else { FindingKind::Mixed },
        message: if used >= 0.6 * expected || busy {
            format!(
                "fine: parallel and sized to the cores — {} CPU-bound threads in {} processes used {used:.2} of \
                     {} cores together{}",
                cpu_workers.len(),
                procs.len(),
                r.cores(),
                if busy { " (less than they could: the machine was busy with other work)" } else { "" }
            )
        } else {
            format!(
                "{} CPU-bound threads in {} processes used only {used:.2} of {} cores together: they do not \
                     overlap much (started one after another, or waiting on each other)",
                cpu_workers.len(),
                procs.len(),
                r.cores()
            )
        },
        recommendation: if used >= 0.6 * expected || busy {
            "nothing to change in how the work is spread; to go faster, make each worker do less".into()
        } else {
            "check that the workers run at the same time (one pool, work handed out up front) and do not wait \
                 on each other"
                .into()
        },
        pids: procs.into_iter().collect(),
        tids: cpu_workers.iter().map(|(_, t)| t.tid).collect(),
        suggested_workers: None,
    }
}

/// One CPU-bound thread while other cores stay free.
fn single_core(r: &ExternalReport, p: &ProcessReport, t: &ThreadReport) -> Finding {
    let rec = if r.cores() < 2 {
        "one core is all this machine has; nothing to gain from more workers".to_string()
    } else {
        let c = Classification {
            verdict: Verdict::CpuBound,
            cpu_share: t.shares.on_cpu_pct / 100.0,
            runqueue_share: t.shares.runq_pct / 100.0,
            blocked_share: 0.0,
            evidence: String::new(),
        };
        format!(
            "if the work splits into independent pieces: {}",
            classify::recommend(&c, r.cores(), Context::thread(runtime(p))).text
        )
    };
    Finding {
        kind: FindingKind::SingleCore,
        message: format!(
            "CPU-bound on one core: thread {} of {} ({}) was on a CPU {:.0}% of its {:.1} s; {} of {} cores \
                 stayed free",
            t.tid,
            p.name,
            p.pid,
            t.shares.on_cpu_pct,
            t.shares.wall_s,
            r.cores() - 1,
            r.cores()
        ),
        recommendation: rec,
        pids: vec![p.pid],
        tids: vec![t.tid],
        suggested_workers: Some(r.cores()),
    }
}

/// Idle: nothing computed, nothing waited on I/O. Only when nothing else was found but a busy machine.
fn idle(r: &ExternalReport, out: &mut Vec<Finding>) {
    if out.iter().all(|f| f.kind == FindingKind::MachineBusy) && r.mean_cores_used < 0.1 {
        let mut b = BlockedByKind::default();
        for p in &r.processes {
            b.add(&p.shares.blocked_by_kind);
        }
        let total = (b.lock + b.io + b.disk + b.sleep + b.child + b.other).max(1e-9);
        out.push(Finding {
            kind: FindingKind::Idle,
            message: format!(
                "idle/waiting: the program used {:.2} cores on average; its threads' waiting was {} asleep on timers, \
                 {} waiting for child processes, {} on locks/futexes, {} on I/O",
                r.mean_cores_used,
                pct(b.sleep / total),
                pct(b.child / total),
                pct(b.lock / total),
                pct((b.io + b.disk) / total)
            ),
            recommendation: "nothing here is CPU- or I/O-limited: it waits on timers or other programs; more threads \
                             or processes would not make it faster"
                .into(),
            pids: r.processes.iter().map(|p| p.pid).collect(),
            tids: Vec::new(),
            suggested_workers: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(wall: f64, cpu: f64, runq: f64, b: BlockedByKind, vol: u64) -> Shares {
        shares_of(wall, cpu, runq, b, vol, 0)
    }

    fn verdict(s: &Shares) -> Verdict {
        let th = Thresholds::default();
        refine(classify::classify(&timing_of(s), &th.shared), s, &th).verdict
    }

    #[test]
    fn layered_verdicts_from_synthetic_shares() {
        let none = BlockedByKind::default();
        assert_eq!(verdict(&sh(2.0, 1.9, 0.05, none.clone(), 1)), Verdict::CpuBound);
        assert_eq!(verdict(&sh(2.0, 0.5, 1.45, none.clone(), 1)), Verdict::Oversubscribed);
        let io = BlockedByKind { io: 1.8, ..Default::default() };
        assert_eq!(verdict(&sh(2.0, 0.1, 0.0, io.clone(), 100)), Verdict::IoBound);
        // Parked on a pipe that never delivers: idle, not I/O-bound.
        assert_eq!(verdict(&sh(2.0, 0.0, 0.0, io, 2)), Verdict::Idle);
        // GIL-like: a third on the CPU, the rest mostly on a futex, switching often.
        let lock = BlockedByKind { lock: 1.2, ..Default::default() };
        assert_eq!(verdict(&sh(2.0, 0.7, 0.1, lock.clone(), 400)), Verdict::LockSerialized);
        // A worker parked on a condition variable: idle.
        assert_eq!(verdict(&sh(2.0, 0.01, 0.0, BlockedByKind { lock: 1.99, ..Default::default() }, 3)), Verdict::Idle);
        let sleep = BlockedByKind { sleep: 1.99, ..Default::default() };
        assert_eq!(verdict(&sh(2.0, 0.0, 0.0, sleep.clone(), 100)), Verdict::Idle);
        assert_eq!(verdict(&sh(0.05, 0.05, 0.0, none, 1)), Verdict::Insufficient);
        let mixed = BlockedByKind { io: 0.9, ..Default::default() };
        assert_eq!(verdict(&sh(2.0, 1.1, 0.0, mixed, 50)), Verdict::Mixed);
    }

    #[test]
    fn evidence_names_the_kinds_of_wait() {
        let th = Thresholds::default();
        let s = sh(2.0, 0.1, 0.0, BlockedByKind { io: 1.5, sleep: 0.4, ..Default::default() }, 100);
        let c = refine(classify::classify(&timing_of(&s), &th.shared), &s, &th);
        assert!(c.evidence.contains("I/O 75%") && c.evidence.contains("sleep 20%"), "{}", c.evidence);
    }

    fn thread(tid: i32, wall: f64, cpu: f64, runq: f64, b: BlockedByKind, vol: u64) -> ThreadReport {
        let shares = sh(wall, cpu, runq, b, vol);
        ThreadReport {
            tid,
            name: format!("t{tid}"),
            first_seen_s: 0.0,
            last_seen_s: wall,
            verdict: verdict(&shares),
            evidence: String::new(),
            shares,
        }
    }

    fn report(threads: Vec<ThreadReport>, python: bool, runnable: u32, cores: usize) -> ExternalReport {
        let mut base = Report::new(ReportKind::External, "t", "0");
        base.host.cores = cores;
        let timeline = (1..=20)
            .map(|i| super::super::model::TimelinePoint {
                t_s: f64::from(i) * 0.1,
                cores_used: 1.0,
                runnable,
                threads: threads.len() as u32,
                machine_runnable: Some(runnable),
            })
            .collect();
        let p = ProcessReport {
            pid: 1,
            ppid: 0,
            name: if python { "python3".into() } else { "app".into() },
            cmdline: Vec::new(),
            python,
            first_seen_s: 0.0,
            last_seen_s: 2.0,
            shares: Shares::default(),
            max_threads: threads.len(),
            verdict: Verdict::Mixed,
            evidence: String::new(),
            threads,
        };
        ExternalReport {
            base,
            root_pid: 1,
            attached: false,
            exit_code: Some(0),
            duration_s: 2.0,
            python,
            sources: Sources::default(),
            sampler: SamplerCost::default(),
            perf: PerfTotals::default(),
            mean_cores_used: 1.0,
            peak_cores_used: 1.0,
            mean_runnable: f64::from(runnable),
            processes: vec![p],
            timeline,
            findings: Vec::new(),
            python_targets: Vec::new(),
            unseen_tasks_at_most: None,
            tasks_created: None,
        }
    }

    fn kinds(r: &ExternalReport) -> Vec<FindingKind> {
        findings(r, &Thresholds::default()).iter().map(|f| f.kind).collect()
    }

    #[test]
    fn whole_run_answers_from_synthetic_runs() {
        let lock = || BlockedByKind { lock: 1.2, ..Default::default() };
        // Three GIL-bound threads taking turns, plus a main thread parked in join.
        let mut gil: Vec<ThreadReport> = (2..5).map(|t| thread(t, 2.0, 0.66, 0.1, lock(), 200)).collect();
        gil.push(thread(1, 2.0, 0.02, 0.0, BlockedByKind { lock: 1.98, ..Default::default() }, 5));
        let r = report(gil, true, 1, 2);
        let f = findings(&r, &Thresholds::default());
        assert_eq!(f[0].kind, FindingKind::Serialised, "{f:?}");
        assert_eq!(f[0].tids, vec![2, 3, 4]);
        assert!(f[0].recommendation.contains("ProcessPoolExecutor"), "{}", f[0].recommendation);
        // The same threads on one core: nothing to gain from processes, so not called serialised.
        let one_core: Vec<ThreadReport> = (2..5).map(|t| thread(t, 2.0, 0.66, 0.1, lock(), 200)).collect();
        assert!(!kinds(&report(one_core, true, 1, 1)).contains(&FindingKind::Serialised));
        // Eight spinning threads with 8 runnable on 2 cores: oversubscribed.
        let spin: Vec<ThreadReport> = (1..9).map(|t| thread(t, 2.0, 0.5, 1.5, BlockedByKind::default(), 1)).collect();
        assert_eq!(kinds(&report(spin.clone(), false, 8, 2)), vec![FindingKind::Oversubscribed]);
        // One such thread on a busy machine: no core is known to have stayed free, so no single-core advice.
        let one: Vec<ThreadReport> = spin.iter().take(1).cloned().collect();
        assert_eq!(kinds(&report(one.clone(), false, 1, 2)), vec![FindingKind::MachineBusy]);
        // On a quiet machine the same thread is CPU-bound on one core.
        let quiet: Vec<ThreadReport> =
            (1..2).map(|t| thread(t, 2.0, 1.95, 0.02, BlockedByKind::default(), 1)).collect();
        assert_eq!(kinds(&report(quiet, false, 1, 2)), vec![FindingKind::SingleCore]);
        // The same run-queue wait with only 2 runnable threads of ours: the machine is busy, ours is fine.
        let two: Vec<ThreadReport> = spin.into_iter().take(2).collect();
        assert_eq!(kinds(&report(two, false, 2, 2)), vec![FindingKind::MachineBusy, FindingKind::Fine]);
        // Two threads each on a core: fine.
        let par: Vec<ThreadReport> = (1..3).map(|t| thread(t, 2.0, 1.95, 0.02, BlockedByKind::default(), 1)).collect();
        assert_eq!(kinds(&report(par, false, 2, 2)), vec![FindingKind::Fine]);
        // Threads blocked on sockets: I/O-bound, with a pool size above the cores.
        let io: Vec<ThreadReport> =
            (1..5).map(|t| thread(t, 2.0, 0.1, 0.0, BlockedByKind { io: 1.9, ..Default::default() }, 50)).collect();
        let f = findings(&report(io, true, 0, 2), &Thresholds::default());
        assert_eq!(f[0].kind, FindingKind::IoBound);
        assert!(f[0].suggested_workers.unwrap() > 2);
    }

    #[test]
    fn python_recognised() {
        assert!(is_python("python3.11", &[]));
        assert!(is_python("worker", &["/usr/bin/python3".into(), "x.py".into()]));
        assert!(!is_python("cargo", &["cargo".into()]));
        assert_eq!(runtime_of("python3.13t", &[]), Runtime::PythonFreeThreaded);
        assert_eq!(runtime_of("python3", &[]), Runtime::Python);
        assert_eq!(runtime_of("sh", &["sh".into()]), Runtime::Native);
    }
}
