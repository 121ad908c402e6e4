//! Verdicts for the external profile: per-thread and per-process shares and verdicts, and the whole-run answer
//! (serialised by a lock/GIL, I/O-bound with a pool size, oversubscribed, fine, single-core, idle, machine busy),
//! built from the sampler's tracks. Thresholds are the documented constants of [`Thresholds`].

use super::collect::{Sampler, ThreadTrack};
use super::model::{
    BlockedByKind, ExternalReport, Finding, FindingKind, KIND, PerfTotals, ProcessReport, SCHEMA, SamplerCost, Shares,
    Sources, TaskVerdict, ThreadReport, VERSION,
};

/// Classification thresholds (fractions of a thread's observed wall time unless said otherwise).
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Below this observed lifetime (seconds) a thread is "too short" to judge.
    pub min_wall_s: f64,
    /// On-CPU share at or above which a thread is CPU-bound.
    pub cpu_bound: f64,
    /// Run-queue wait as a share of (on-CPU + run-queue) at or above which a CPU-hungry thread is oversubscribed.
    pub runq_of_busy: f64,
    /// (on-CPU + run-queue) share a thread needs before it can be called oversubscribed.
    pub hungry: f64,
    /// I/O (+ disk) blocked share at or above which a thread is I/O-bound.
    pub io_bound: f64,
    /// An I/O-bound thread computes at least this share, or wakes at least `io_min_switches_per_s` times a second.
    pub io_min_cpu: f64,
    pub io_min_switches_per_s: f64,
    /// Busy (on-CPU + run-queue) share below which a thread that does not wait on I/O is idle.
    pub idle_busy: f64,
    /// Futex share at or above which a CPU-hungry thread counts as serialised behind a lock.
    pub lock_share: f64,
    /// Together, serialised threads use at most this many cores.
    pub serialised_max_cores: f64,
    /// Serialised threads switch voluntarily at least this often per second (each).
    pub serialised_min_switches_per_s: f64,
    /// The tree is oversubscribed when its mean runnable threads exceed cores × this.
    pub oversubscribed_factor: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_wall_s: 0.1,
            cpu_bound: 0.7,
            runq_of_busy: 0.25,
            hungry: 0.5,
            io_bound: 0.5,
            io_min_cpu: 0.02,
            io_min_switches_per_s: 20.0,
            idle_busy: 0.1,
            lock_share: 0.15,
            serialised_max_cores: 1.35,
            serialised_min_switches_per_s: 10.0,
            oversubscribed_factor: 1.25,
        }
    }
}

fn shares_of(wall_s: f64, cpu_s: f64, runq_s: f64, blocked: BlockedByKind, vol: u64, invol: u64) -> Shares {
    let wall = wall_s.max(1e-9);
    let blocked_s = (wall_s - cpu_s - runq_s).max(0.0);
    Shares {
        wall_s,
        cpu_s,
        runq_s,
        blocked_s,
        blocked_by_kind: blocked,
        on_cpu_pct: 100.0 * cpu_s / wall,
        runq_pct: 100.0 * runq_s / wall,
        blocked_pct: 100.0 * blocked_s / wall,
        voluntary_switches: vol,
        involuntary_switches: invol,
        voluntary_per_s: vol as f64 / wall,
        involuntary_per_s: invol as f64 / wall,
    }
}

fn thread_shares(t: &ThreadTrack) -> Shares {
    let d = t.delta();
    let wall = (t.last_seen_s - t.first_seen_s).max(0.0);
    // The blocked split is sampled; scale it so it adds up to wall − cpu − run-queue.
    let cpu = d.cpu_ns as f64 / 1e9;
    let runq = d.runq_ns as f64 / 1e9;
    let cpu = cpu.min(wall.max(cpu));
    shares_of(wall.max(cpu + runq), cpu, runq, t.blocked.clone(), d.vol, d.invol)
}

/// The verdict for one thread's shares.
pub fn classify_shares(s: &Shares, th: &Thresholds) -> TaskVerdict {
    if s.wall_s < th.min_wall_s {
        return TaskVerdict::TooShort;
    }
    let w = s.wall_s;
    let cpu = s.cpu_s / w;
    let runq = s.runq_s / w;
    let busy = cpu + runq;
    let b = &s.blocked_by_kind;
    let io = (b.io + b.disk) / w;
    let lock = b.lock / w;
    if busy >= th.hungry && runq / busy.max(1e-9) >= th.runq_of_busy {
        TaskVerdict::Oversubscribed
    } else if cpu >= th.cpu_bound {
        TaskVerdict::CpuBound
    } else if io >= th.io_bound && (cpu >= th.io_min_cpu || s.voluntary_per_s >= th.io_min_switches_per_s) {
        // Waiting on I/O and doing something with it; a thread parked on a silent pipe is idle instead.
        TaskVerdict::IoBound
    } else if busy + lock >= th.cpu_bound && lock >= th.lock_share && cpu >= th.idle_busy {
        TaskVerdict::LockBound
    } else if busy < th.idle_busy {
        TaskVerdict::Idle
    } else {
        TaskVerdict::Mixed
    }
}

/// Python is recognised by process name or command line.
pub fn is_python(name: &str, cmdline: &[String]) -> bool {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_ascii_lowercase();
    base(name).starts_with("python") || cmdline.first().is_some_and(|a| base(a).starts_with("python"))
}

/// Inputs to the report besides the sampler.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    pub command: Vec<String>,
    pub root_pid: i32,
    pub attached: bool,
    pub exit_code: Option<i32>,
    pub cores: usize,
    pub sampler: SamplerCost,
    pub perf: PerfTotals,
    pub sources: Sources,
}

/// Builds the whole report.
pub fn build_report(s: &Sampler, info: RunInfo, th: &Thresholds) -> ExternalReport {
    let duration_s = s.timeline.last().map(|p| p.t_s).unwrap_or(0.0);
    let mut processes = Vec::new();
    for p in s.procs.values() {
        let mut threads = Vec::new();
        let mut cpu = 0.0;
        let mut runq = 0.0;
        let mut blocked = BlockedByKind::default();
        let (mut vol, mut invol) = (0, 0);
        for key in &p.threads {
            let Some(t) = s.thread(key) else { continue };
            let sh = thread_shares(t);
            cpu += sh.cpu_s;
            runq += sh.runq_s;
            blocked.add(&sh.blocked_by_kind);
            vol += sh.voluntary_switches;
            invol += sh.involuntary_switches;
            threads.push(ThreadReport {
                tid: t.tid,
                name: t.name.clone(),
                first_seen_s: t.first_seen_s,
                last_seen_s: t.last_seen_s,
                verdict: classify_shares(&sh, th),
                shares: sh,
            });
        }
        let first = threads.iter().map(|t| t.first_seen_s).fold(p.first_seen_s, f64::min);
        let last = threads.iter().map(|t| t.last_seen_s).fold(p.last_seen_s, f64::max);
        let wall = (last - first).max(0.0);
        let mut shares = shares_of(wall, cpu, runq, blocked, vol, invol);
        // A process's blocked time is the sum of its threads' blocked time (it can exceed its wall time).
        shares.blocked_s = shares.blocked_by_kind.lock
            + shares.blocked_by_kind.io
            + shares.blocked_by_kind.disk
            + shares.blocked_by_kind.sleep
            + shares.blocked_by_kind.child
            + shares.blocked_by_kind.other;
        shares.blocked_pct = 100.0 * shares.blocked_s / wall.max(1e-9);
        let verdict = process_verdict(&threads);
        processes.push(ProcessReport {
            pid: p.pid,
            ppid: p.ppid,
            name: p.name.clone(),
            python: is_python(&p.name, &p.cmdline),
            cmdline: p.cmdline.clone(),
            first_seen_s: first,
            last_seen_s: last,
            shares,
            max_threads: p.max_threads.max(threads.len().min(1)),
            verdict,
            threads,
        });
    }
    let total_cpu: f64 = processes.iter().map(|p| p.shares.cpu_s).sum();
    let n = s.timeline.len().max(1) as f64;
    let mean_runnable = s.timeline.iter().map(|p| f64::from(p.runnable)).sum::<f64>() / n;
    let mut report = ExternalReport {
        schema: SCHEMA.into(),
        version: VERSION,
        kind: KIND.into(),
        python: processes.iter().any(|p| p.python),
        command: info.command,
        root_pid: info.root_pid,
        attached: info.attached,
        exit_code: info.exit_code,
        cores: info.cores.max(1),
        duration_s,
        sources: info.sources,
        sampler: info.sampler,
        perf: info.perf,
        mean_cores_used: if duration_s > 0.0 { total_cpu / duration_s } else { 0.0 },
        peak_cores_used: s.timeline.iter().map(|p| p.cores_used).fold(0.0, f64::max),
        mean_runnable,
        processes,
        timeline: s.timeline.clone(),
        findings: Vec::new(),
    };
    report.findings = findings(&report, th);
    report
}

fn process_verdict(threads: &[ThreadReport]) -> TaskVerdict {
    use TaskVerdict::*;
    let judged: Vec<&ThreadReport> = threads.iter().filter(|t| t.verdict != TooShort).collect();
    if judged.is_empty() {
        return TooShort;
    }
    let lock_bound = judged.iter().filter(|t| t.verdict == LockBound).count();
    if lock_bound >= 2 {
        return LockBound;
    }
    // The most active thread (computing, waiting for a CPU, or waiting on I/O) decides.
    let activity = |t: &ThreadReport| {
        let b = &t.shares.blocked_by_kind;
        t.shares.cpu_s + t.shares.runq_s + b.io + b.disk + b.lock * 0.5
    };
    let best = judged.iter().max_by(|a, b| activity(a).total_cmp(&activity(b)));
    best.map(|t| t.verdict).unwrap_or(Idle)
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
    let cores = r.cores as f64;
    let python = r.python;
    let judged: Vec<(&ProcessReport, &ThreadReport)> =
        r.threads().filter(|(_, t)| t.verdict != TaskVerdict::TooShort).collect();

    // 1. Serialised: CPU-hungry threads of one process that together use about one core, blocking on a futex.
    let mut serialised_tids = Vec::new();
    for p in &r.processes {
        let hungry: Vec<&ThreadReport> = p
            .threads
            .iter()
            .filter(|t| t.verdict != TaskVerdict::TooShort && t.shares.wall_s >= 0.3 * r.duration_s.min(1.0))
            .filter(|t| {
                let w = t.shares.wall_s.max(1e-9);
                let cpu = t.shares.cpu_s / w;
                let lock = t.shares.blocked_by_kind.lock / w;
                cpu >= th.idle_busy && lock >= th.lock_share && (cpu + t.shares.runq_s / w + lock) >= th.cpu_bound
            })
            .collect();
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
        if used <= th.serialised_max_cores && switches >= th.serialised_min_switches_per_s {
            let k = hungry.len();
            let who = if p.python { "for CPython: the GIL" } else { "a shared lock" };
            let rec = if p.python {
                format!(
                    "use processes instead of threads for this CPU-bound work: `multiprocessing.Pool({})` or \
                     `concurrent.futures.ProcessPoolExecutor(max_workers={})`, or a free-threaded build \
                     (python3.13t / 3.14t), where threads do run in parallel",
                    r.cores, r.cores
                )
            } else {
                format!(
                    "find the lock these threads share and shrink what it guards (shard the data, give each worker \
                     its own state, merge results at the end), or run the work in {} separate processes",
                    r.cores
                )
            };
            out.push(Finding {
                kind: FindingKind::Serialised,
                message: format!(
                    "serialised by a lock ({who}): {k} threads of {} ({}) want to run all the time, yet together \
                     use {used:.2} of {} cores; each spends {} of its time blocked on a futex and gives up the CPU \
                     {switches:.0} times a second",
                    p.name,
                    p.pid,
                    r.cores,
                    pct(lock)
                ),
                recommendation: rec,
                pids: vec![p.pid],
                tids: hungry.iter().map(|t| t.tid).collect(),
                suggested_workers: Some(r.cores),
            });
            serialised_tids.extend(hungry.iter().map(|t| t.tid));
        }
    }

    // 2. Oversubscribed (the tree's own runnable threads exceed the cores) or a busy machine.
    let hungry: Vec<&(&ProcessReport, &ThreadReport)> = judged
        .iter()
        .filter(|(_, t)| matches!(t.verdict, TaskVerdict::CpuBound | TaskVerdict::Oversubscribed))
        .collect();
    let busy_cpu: f64 = hungry.iter().map(|(_, t)| t.shares.cpu_s).sum();
    let busy_runq: f64 = hungry.iter().map(|(_, t)| t.shares.runq_s).sum();
    let runq_share = busy_runq / (busy_cpu + busy_runq).max(1e-9);
    // Mean runnable over the ticks where the tree had work (so a slow start or a tail does not dilute it).
    let active: Vec<f64> = r.timeline.iter().filter(|p| p.runnable > 0).map(|p| f64::from(p.runnable)).collect();
    let active_runnable = if active.is_empty() { 0.0 } else { active.iter().sum::<f64>() / active.len() as f64 };
    let oversubscribed =
        !hungry.is_empty() && active_runnable > cores * th.oversubscribed_factor && runq_share >= th.runq_of_busy * 0.8;
    if oversubscribed {
        let n = active_runnable.round() as usize;
        let procs = hungry.iter().map(|(p, _)| p.pid).collect::<std::collections::BTreeSet<_>>();
        let rec = if python {
            format!(
                "size the pool to the cores: `multiprocessing.Pool({c})` / `ProcessPoolExecutor(max_workers={c})` \
                 (`os.cpu_count()` is {c}); more CPU-bound workers than cores only add switching and memory",
                c = r.cores
            )
        } else {
            format!(
                "size the pool to the cores ({c}: `std::thread::available_parallelism()`, rayon's default, \
                 `nproc`); more CPU-bound workers than cores only add switching and memory",
                c = r.cores
            )
        };
        out.push(Finding {
            kind: FindingKind::Oversubscribed,
            message: format!(
                "oversubscribed: {n} runnable for {} cores on average while busy; {} CPU-hungry threads in {} \
                 processes waited {} of their busy time for a CPU",
                r.cores,
                hungry.len(),
                procs.len(),
                pct(runq_share)
            ),
            recommendation: rec,
            pids: procs.into_iter().collect(),
            tids: hungry.iter().map(|(_, t)| t.tid).collect(),
            suggested_workers: Some(r.cores),
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
                r.cores,
                m.map(|m| format!(" (the whole machine: {m:.1} runnable)")).unwrap_or_default()
            ),
            recommendation: "measure again on a quieter machine before resizing anything".into(),
            pids: Vec::new(),
            tids: Vec::new(),
            suggested_workers: None,
        });
    }

    // 3. I/O-bound threads: threads or asyncio are right, and could go to N.
    let io: Vec<&(&ProcessReport, &ThreadReport)> =
        judged.iter().filter(|(_, t)| t.verdict == TaskVerdict::IoBound).collect();
    if !io.is_empty() {
        let wait: f64 = io.iter().map(|(_, t)| t.shares.blocked_by_kind.io + t.shares.blocked_by_kind.disk).sum();
        let compute: f64 = io.iter().map(|(_, t)| t.shares.cpu_s).sum::<f64>().max(1e-3 * io.len() as f64);
        let ratio = wait / compute;
        let n = ((cores * (1.0 + ratio)).round() as usize).clamp(r.cores, 4096);
        let tids: Vec<(i32, i32)> = io.iter().map(|(p, t)| (p.pid, t.tid)).collect();
        let rec = if python {
            format!(
                "threads (or asyncio) are the right tool for this: they wait, and the GIL is released while they \
                 wait; they could go to N = cores × (1 + wait/compute) = {} × (1 + {ratio:.0}) ≈ {n} \
                 (`ThreadPoolExecutor(max_workers={n})`, or asyncio for thousands)",
                r.cores
            )
        } else {
            format!(
                "threads or async tasks are the right tool for this: they wait; concurrency could go to \
                 N = cores × (1 + wait/compute) = {} × (1 + {ratio:.0}) ≈ {n}",
                r.cores
            )
        };
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

    // 4. CPU-bound work: fine (parallel, sized) or on a single core.
    let cpu_workers: Vec<&(&ProcessReport, &ThreadReport)> =
        hungry.iter().copied().filter(|(_, t)| !serialised_tids.contains(&t.tid)).collect();
    if !oversubscribed && serialised_tids.is_empty() {
        if cpu_workers.len() >= 2 {
            let first = cpu_workers.iter().map(|(_, t)| t.first_seen_s).fold(f64::INFINITY, f64::min);
            let last = cpu_workers.iter().map(|(_, t)| t.last_seen_s).fold(0.0, f64::max);
            let used = cpu_workers.iter().map(|(_, t)| t.shares.cpu_s).sum::<f64>() / (last - first).max(1e-9);
            let procs = cpu_workers.iter().map(|(p, _)| p.pid).collect::<std::collections::BTreeSet<_>>();
            out.push(Finding {
                kind: FindingKind::Fine,
                message: format!(
                    "fine: parallel and sized to the cores — {} CPU-bound threads in {} processes used {used:.2} of \
                     {} cores together",
                    cpu_workers.len(),
                    procs.len(),
                    r.cores
                ),
                recommendation: "nothing to change in how the work is spread; to go faster, make each worker do \
                                 less"
                    .into(),
                pids: procs.into_iter().collect(),
                tids: cpu_workers.iter().map(|(_, t)| t.tid).collect(),
                suggested_workers: None,
            });
        } else if cpu_workers.len() == 1 {
            let (p, t) = cpu_workers[0];
            let rec = if r.cores < 2 {
                "one core is all this machine has; nothing to gain from more workers".to_string()
            } else if p.python {
                format!(
                    "if the work splits into independent pieces, `multiprocessing.Pool({c})` or \
                     `ProcessPoolExecutor(max_workers={c})` could use all {c} cores (threads would not: the GIL)",
                    c = r.cores
                )
            } else {
                format!(
                    "if the work splits into independent pieces, a pool of {c} threads (rayon) or processes could use \
                     all {c} cores",
                    c = r.cores
                )
            };
            out.push(Finding {
                kind: FindingKind::SingleCore,
                message: format!(
                    "CPU-bound on one core: thread {} of {} ({}) was on a CPU {:.0}% of its {:.1} s; {} of {} cores \
                     stayed free",
                    t.tid,
                    p.name,
                    p.pid,
                    t.shares.on_cpu_pct,
                    t.shares.wall_s,
                    r.cores - 1,
                    r.cores
                ),
                recommendation: rec,
                pids: vec![p.pid],
                tids: vec![t.tid],
                suggested_workers: Some(r.cores),
            });
        }
    }

    // 5. Idle: nothing computed, nothing waited on I/O.
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
    if out.is_empty() {
        out.push(Finding {
            kind: FindingKind::Mixed,
            message: format!(
                "mixed: the program used {:.2} of {} cores on average with no dominant pattern (see the table)",
                r.mean_cores_used, r.cores
            ),
            recommendation: "profile the busiest threads in process (conc-profiler) to see which functions wait \
                             and which compute"
                .into(),
            pids: Vec::new(),
            tids: Vec::new(),
            suggested_workers: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(wall: f64, cpu: f64, runq: f64, b: BlockedByKind, vol: u64) -> Shares {
        shares_of(wall, cpu, runq, b, vol, 0)
    }

    #[test]
    fn thread_verdicts_from_synthetic_shares() {
        let th = Thresholds::default();
        let none = BlockedByKind::default();
        assert_eq!(classify_shares(&sh(2.0, 1.9, 0.05, none.clone(), 1), &th), TaskVerdict::CpuBound);
        assert_eq!(classify_shares(&sh(2.0, 1.0, 0.9, none.clone(), 1), &th), TaskVerdict::Oversubscribed);
        let io = BlockedByKind { io: 1.8, ..Default::default() };
        assert_eq!(classify_shares(&sh(2.0, 0.1, 0.0, io.clone(), 100), &th), TaskVerdict::IoBound);
        // Parked on a pipe that never delivers: idle, not I/O-bound.
        assert_eq!(classify_shares(&sh(2.0, 0.0, 0.0, io, 2), &th), TaskVerdict::Idle);
        let lock = BlockedByKind { lock: 0.9, ..Default::default() };
        assert_eq!(classify_shares(&sh(2.0, 1.0, 0.05, lock, 400), &th), TaskVerdict::LockBound);
        let sleep = BlockedByKind { sleep: 2.0, ..Default::default() };
        assert_eq!(classify_shares(&sh(2.0, 0.0, 0.0, sleep, 1), &th), TaskVerdict::Idle);
        assert_eq!(classify_shares(&sh(0.01, 0.01, 0.0, none, 1), &th), TaskVerdict::TooShort);
        let mixed = BlockedByKind { io: 0.7, ..Default::default() };
        assert_eq!(classify_shares(&sh(2.0, 1.0, 0.0, mixed, 1), &th), TaskVerdict::Mixed);
    }

    #[test]
    fn python_recognised() {
        assert!(is_python("python3.11", &[]));
        assert!(is_python("worker", &["/usr/bin/python3".into(), "x.py".into()]));
        assert!(!is_python("cargo", &["cargo".into()]));
    }
}
