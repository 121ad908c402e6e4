//! CPU of threads and processes too short-lived for the sampler's ticks (issue 14: 500 short Python threads
//! showed 0.095 CPU s and "idle" while perf counted 1.54 s). A process's `/proc/PID/stat` utime + stime include
//! its exited threads, and cutime + cstime the children it reaped: what the ticks did not see is the difference,
//! added to the process's figures with a sentence saying how much, from which measurement.

use std::collections::BTreeMap;

use conc_report::classify::{self, Context, Thresholds, Timing, Verdict};
use conc_report::report::Entry;

use crate::collect::ProcTrack;
use crate::model::ProcessReport;

/// Unseen CPU below this many seconds is clock-tick rounding, not short-lived work.
pub const MIN_UNSEEN_S: f64 = 0.05;

/// Adds the unseen CPU to each process's shares and, when it is most of what the process did, re-judges it.
pub fn account(
    processes: &mut [ProcessReport],
    entries: &mut [Entry],
    procs: &BTreeMap<i32, ProcTrack>,
    th: &Thresholds,
    cores: usize,
) {
    let seen_cpu: BTreeMap<i32, f64> = processes.iter().map(|p| (p.pid, p.shares.cpu_s)).collect();
    for p in processes.iter_mut() {
        let Some(track) = procs.get(&p.pid) else { continue };
        let threads_unseen = (track.stat_cpu_s - p.shares.cpu_s).max(0.0);
        // Children it reaped, minus those the ticks followed as processes of their own.
        let kids_seen: f64 = procs.values().filter(|c| c.ppid == p.pid).filter_map(|c| seen_cpu.get(&c.pid)).sum();
        let kids_unseen = (track.child_cpu_s - kids_seen).max(0.0);
        let mut parts = Vec::new();
        if threads_unseen >= MIN_UNSEEN_S {
            parts.push(format!("{threads_unseen:.2} CPU s in threads that came and went between samples"));
        }
        if kids_unseen >= MIN_UNSEEN_S {
            parts.push(format!("{kids_unseen:.2} CPU s in child processes that came and went between samples"));
        }
        if parts.is_empty() {
            continue;
        }
        let unseen = threads_unseen + if kids_unseen >= MIN_UNSEEN_S { kids_unseen } else { 0.0 };
        let seen = p.shares.cpu_s;
        let span = (p.last_seen_s - p.first_seen_s).max(1e-3);
        p.shares.cpu_s += unseen;
        p.shares.cores = p.shares.cpu_s / span;
        let why = format!("+{} (from /proc/{}/stat utime+stime and cutime+cstime)", parts.join(", "), p.pid);
        if unseen > seen
            && matches!(p.verdict, Verdict::Idle | Verdict::Insufficient | Verdict::IoBound | Verdict::Mixed)
        {
            // Most of its work was done by the short-lived tasks: judge the process by all of it (the unseen CPU
            // counted as running time).
            let ns = |s: f64| (s * 1e9) as u64;
            let group = Timing {
                wall_ns: ns(p.shares.thread_s + unseen),
                cpu_ns: ns(p.shares.cpu_s),
                runqueue_ns: ns(p.shares.runq_s),
                threads: 1,
                ..Timing::default()
            };
            let c = classify::classify(&group, th);
            if c.verdict != Verdict::Insufficient {
                p.verdict = c.verdict;
            }
        }
        p.evidence = format!("{}; {why}", p.evidence);
        let pid = u32::try_from(p.pid).ok();
        for e in entries.iter_mut().filter(|e| e.pid == pid && e.subject == classify::Subject::Process) {
            e.timing.cpu_ns = (p.shares.cpu_s * 1e9) as u64;
            e.classification.verdict = p.verdict;
            e.classification.evidence = p.evidence.clone();
            e.recommendation =
                classify::recommend(&e.classification, cores, Context { subject: e.subject, runtime: e.runtime });
        }
    }
}
