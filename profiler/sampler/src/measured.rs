//! Every recommendation states the measurement it comes from, and no advice grows a pool past the cores unless
//! the measured wait is I/O the program itself does (issue 14). A pass over the finished report: each process
//! and thread entry whose advice is a pool larger than the cores is sized again with only its I/O wait (pipes,
//! sockets, disk) counted — waiting on a lock, a child process, a timer or anything else is not overlapped by
//! more threads — and every entry's and finding's advice ends with the samples and seconds it rests on.

use conc_report::classify::{self, Classification, Context, RecommendationKind};
use conc_report::report::Entry;

use crate::model::{ExternalReport, Shares};

/// The marker that ends every annotated recommendation (the pass runs once per text).
const MARK: &str = " Measured:";

/// Annotates `r`'s entries and findings (idempotent).
pub fn annotate(r: &mut ExternalReport) {
    let cores = r.cores();
    let rate = r.sampler.rate_hz;
    let mut entries = std::mem::take(&mut r.base.entries);
    for e in &mut entries {
        let Some((sh, threads)) = shares_of(r, e) else { continue };
        io_only_pool(e, &sh, cores);
        if !e.recommendation.text.contains(MARK) {
            let pool = pool_formula(e, &sh, cores);
            e.recommendation.text =
                format!("{}{pool}{MARK} {}.", e.recommendation.text, describe(&[(&sh, threads)], rate));
        }
    }
    r.base.entries = entries;
    let mut findings = std::mem::take(&mut r.findings);
    for f in &mut findings {
        if f.recommendation.contains(MARK) {
            continue;
        }
        let mut parts: Vec<(&Shares, usize)> = Vec::new();
        if !f.tids.is_empty() {
            parts.extend(r.threads().filter(|(_, t)| f.tids.contains(&t.tid)).map(|(_, t)| (&t.shares, 1)));
        } else if !f.pids.is_empty() {
            parts.extend(r.processes.iter().filter(|p| f.pids.contains(&p.pid)).map(|p| (&p.shares, p.threads.len())));
        }
        if parts.is_empty() {
            parts.extend(r.processes.iter().map(|p| (&p.shares, p.threads.len())));
        }
        f.recommendation = format!("{}.{MARK} {}.", f.recommendation.trim_end_matches('.'), describe(&parts, rate));
    }
    r.findings = findings;
}

/// The shares an entry was judged on and its thread count.
fn shares_of(r: &ExternalReport, e: &Entry) -> Option<(Shares, usize)> {
    let pid = e.pid? as i32;
    let p = r.processes.iter().find(|p| p.pid == pid)?;
    match e.tid {
        Some(tid) => p.threads.iter().find(|t| t.tid == tid as i32).map(|t| (t.shares.clone(), 1)),
        None => Some((p.shares.clone(), p.threads.len())),
    }
}

/// Thread seconds an entry's shares cover (a process's summed over its threads).
fn span(sh: &Shares) -> f64 {
    if sh.thread_s > 0.0 { sh.thread_s } else { sh.wall_s }.max(1e-9)
}

/// A pool past the cores only from I/O wait: the advice is sized again with the I/O and disk waits alone.
fn io_only_pool(e: &mut Entry, sh: &Shares, cores: usize) {
    if e.recommendation.pool_size.is_none_or(|n| n <= cores) {
        return;
    }
    let w = span(sh);
    let b = &sh.blocked_by_kind;
    let c = Classification {
        blocked_share: ((b.io + b.disk) / w).min(1.0),
        cpu_share: (sh.cpu_s / w).min(1.0),
        runqueue_share: (sh.runq_s / w).min(1.0),
        ..e.classification.clone()
    };
    e.recommendation = classify::recommend(&c, cores, Context { subject: e.subject, runtime: e.runtime });
}

/// "; pool of 6 = 2 cores × (1 + 410 ms I/O wait / 160 ms compute)" for pool advice from waiting.
fn pool_formula(e: &Entry, sh: &Shares, cores: usize) -> String {
    let (Some(n), RecommendationKind::ThreadsOrAsync | RecommendationKind::SplitWork) =
        (e.recommendation.pool_size, e.recommendation.kind)
    else {
        return String::new();
    };
    let b = &sh.blocked_by_kind;
    format!(
        " Pool of {n} ≈ {cores} cores × (1 + {:.0} ms I/O wait / {:.0} ms compute), I/O wait only.",
        (b.io + b.disk) * 1e3,
        (sh.cpu_s + sh.runq_s) * 1e3
    )
}

/// "1,200 samples at 25 Hz of 4 threads over 12.0 thread-s: 3.10 s on a CPU, 0.20 s waiting for one, blocked
/// 8.70 s (I/O 8.00 s, lock 0.70 s)".
fn describe(parts: &[(&Shares, usize)], rate: f64) -> String {
    let mut total = Shares::default();
    let mut threads = 0;
    for (s, n) in parts {
        total.thread_s += span(s);
        total.cpu_s += s.cpu_s;
        total.runq_s += s.runq_s;
        total.blocked_by_kind.add(&s.blocked_by_kind);
        threads += n;
    }
    let samples = (total.thread_s * rate).round() as u64;
    let b = &total.blocked_by_kind;
    let kinds: Vec<String> =
        [("I/O", b.io + b.disk), ("lock", b.lock), ("sleep", b.sleep), ("child", b.child), ("other", b.other)]
            .iter()
            .filter(|(_, s)| *s >= 0.005)
            .map(|(k, s)| format!("{k} {s:.2} s"))
            .collect();
    let blocked: f64 = b.io + b.disk + b.lock + b.sleep + b.child + b.other;
    format!(
        "{samples} samples at {rate:.0} Hz of {threads} thread{} over {:.2} thread-s: {:.2} s on a CPU, {:.2} s \
         waiting for one, blocked {blocked:.2} s{}",
        if threads == 1 { "" } else { "s" },
        total.thread_s,
        total.cpu_s,
        total.runq_s,
        if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) }
    )
}
