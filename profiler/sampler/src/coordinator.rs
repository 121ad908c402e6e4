//! Coordinators: a process that mostly waits on the processes it started — on their pipes (multiprocessing's
//! task and result handler threads, a `ProcessPoolExecutor`'s manager thread) or in `wait` — is coordinating,
//! not doing I/O. It gets no pool advice (issue 14: the parent of `multiprocessing.Pool(16).map(…)` was told
//! "I/O-bound — ThreadPoolExecutor(max_workers=128)"); the whole-run answer is about its workers.

use conc_report::classify::{Recommendation, RecommendationKind, Verdict};
use conc_report::report::Entry;

use crate::model::{ProcessReport, ThreadReport};

/// At most this many cores of CPU (on average over its life) for a process with children to be a coordinator.
pub const MAX_COORDINATOR_CORES: f64 = 0.5;

/// Whether verdict `v` would give a pool size for waiting.
fn waits(v: Verdict) -> bool {
    matches!(v, Verdict::IoBound | Verdict::Mixed | Verdict::Idle)
}

/// Marks coordinators among `processes` and rewrites their (and their threads') entries: verdict idle,
/// recommendation "no change", evidence saying what they wait on. Returns the pids marked.
pub fn mark(processes: &mut [ProcessReport], entries: &mut [Entry]) -> Vec<i32> {
    let children = |pid: i32, ps: &[ProcessReport]| ps.iter().filter(|c| c.ppid == pid && c.pid != pid).count();
    let mut marked = Vec::new();
    for i in 0..processes.len() {
        let kids = children(processes[i].pid, processes);
        let p = &processes[i];
        if kids == 0 || !waits(p.verdict) || p.shares.cores > MAX_COORDINATOR_CORES {
            continue;
        }
        let b = &p.shares.blocked_by_kind;
        // What it waits on: its children's pipes (I/O), their exit (child), or its own handler threads (futex).
        if b.io + b.child + b.lock + b.other < p.shares.cpu_s {
            continue;
        }
        marked.push(p.pid);
        let why = format!(
            "coordinator: it waits on the {kids} process{} it started (pipes, wait) and uses {:.2} cores — \
             the advice is about its workers, not a pool for it",
            if kids == 1 { "" } else { "es" },
            p.shares.cores
        );
        let p = &mut processes[i];
        p.evidence = format!("{why}; {}", p.evidence);
        p.verdict = Verdict::Idle;
        for t in p.threads.iter_mut().filter(|t| waits(t.verdict)) {
            t.verdict = Verdict::Idle;
            t.evidence = format!("{why}; {}", t.evidence);
        }
        let pid = u32::try_from(p.pid).ok();
        for e in entries.iter_mut().filter(|e| e.pid == pid && waits(e.classification.verdict)) {
            e.classification.verdict = Verdict::Idle;
            e.classification.evidence = format!("{why}; {}", e.classification.evidence);
            e.recommendation = Recommendation {
                kind: RecommendationKind::NoChange,
                pool_size: None,
                text: format!("Coordinator: no pool for it — {why}."),
            };
        }
    }
    marked
}

/// Marks one thread known to coordinate worker processes (named by the Python hook): a waiting verdict becomes
/// idle, with `why` in its evidence.
pub fn mark_thread(t: &mut ThreadReport, why: &str) {
    if waits(t.verdict) {
        t.verdict = Verdict::Idle;
    }
    t.evidence = format!("{why}; {}", t.evidence);
}

/// The same for its shared-schema entry: no pool advice for a waiting coordinator.
pub fn mark_entry(e: &mut Entry, why: &str) {
    if waits(e.classification.verdict) {
        e.classification.verdict = Verdict::Idle;
        e.recommendation = Recommendation {
            kind: RecommendationKind::NoChange,
            pool_size: None,
            text: format!("Coordinator: no pool for it — {why}."),
        };
    }
    e.classification.evidence = format!("{why}; {}", e.classification.evidence);
}
