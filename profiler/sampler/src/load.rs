//! Load is not oversubscription (issue 14): per-thread and per-process verdicts said "oversubscribed: cap
//! CPU-bound threads at 2" for a program running one CPU-bound thread per core on a machine other processes kept
//! busy. A subject is oversubscribed only when the program's own runnable threads exceed the cores; otherwise
//! its run-queue wait is other processes' load: the verdict follows its own behaviour (CPU-bound) and the
//! evidence gives the load seen.

use conc_report::classify::{self, Context, Verdict};
use conc_report::report::Entry;

use crate::analysis::Thresholds;
use crate::model::{ProcessReport, TimelinePoint};

/// The program's mean runnable threads over the ticks where it had work, and the machine's mean runnable tasks.
pub fn seen(timeline: &[TimelinePoint]) -> (f64, Option<f64>) {
    let active: Vec<f64> = timeline.iter().filter(|p| p.runnable > 0).map(|p| f64::from(p.runnable)).collect();
    let own = if active.is_empty() { 0.0 } else { active.iter().sum::<f64>() / active.len() as f64 };
    let machine: Vec<f64> = timeline.iter().filter_map(|p| p.machine_runnable).map(f64::from).collect();
    let m = (!machine.is_empty()).then(|| machine.iter().sum::<f64>() / machine.len() as f64);
    (own, m)
}

/// Rewrites oversubscribed verdicts to CPU-bound when the program's own runnable threads fit the cores.
pub fn not_oversubscribed(
    processes: &mut [ProcessReport],
    entries: &mut [Entry],
    timeline: &[TimelinePoint],
    cores: usize,
    th: &Thresholds,
) {
    let (own, machine) = seen(timeline);
    if own > cores as f64 * th.oversubscribed_factor {
        return;
    }
    let why = format!(
        "machine busy: the program had {own:.1} runnable threads on average for {cores} cores{} — its run-queue \
         wait is other processes' load, not oversubscription",
        machine.map(|m| format!(" (the whole machine: {m:.1} runnable)")).unwrap_or_default()
    );
    for p in processes.iter_mut() {
        if p.verdict == Verdict::Oversubscribed {
            p.verdict = Verdict::CpuBound;
            p.evidence = format!("{}; {why}", p.evidence);
        }
        for t in p.threads.iter_mut().filter(|t| t.verdict == Verdict::Oversubscribed) {
            t.verdict = Verdict::CpuBound;
            t.evidence = format!("{}; {why}", t.evidence);
        }
    }
    for e in entries.iter_mut().filter(|e| e.classification.verdict == Verdict::Oversubscribed) {
        e.classification.verdict = Verdict::CpuBound;
        e.classification.evidence = format!("{}; {why}", e.classification.evidence);
        e.recommendation =
            classify::recommend(&e.classification, cores, Context { subject: e.subject, runtime: e.runtime });
    }
}
