//! The human summary of an external profile: a table of processes and threads with their shares and verdicts,
//! then the whole-run verdicts and recommendations in plain sentences with the evidence numbers.

use std::fmt::Write as _;

use super::model::WaitKind;
use super::model::{ExternalReport, Report, Shares};

fn blocked_cell(s: &Shares) -> String {
    let mut parts = Vec::new();
    for k in WaitKind::ALL {
        let v = s.pct_of_thread_time(s.blocked_by_kind.get(k));
        if v >= 1.0 {
            let short = match k {
                WaitKind::Lock => "lock",
                WaitKind::Io => "io",
                WaitKind::Disk => "disk",
                WaitKind::Sleep => "sleep",
                WaitKind::Child => "child",
                WaitKind::Other => "other",
            };
            parts.push(format!("{short} {v:.0}"));
        }
    }
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n - 1).chain(['…']).collect() }
}

/// Cores used over time as one line of block characters (at most 60), scaled to the cores available.
pub fn sparkline(r: &ExternalReport) -> Option<String> {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if r.timeline.len() < 2 {
        return None;
    }
    let width = r.timeline.len().min(60);
    let per = r.timeline.len().div_ceil(width);
    let cores = r.cores() as f64;
    Some(
        r.timeline
            .chunks(per)
            .map(|c| {
                let v = c.iter().map(|p| p.cores_used).sum::<f64>() / c.len() as f64;
                BARS[((v / cores).clamp(0.0, 1.0) * 7.0).round() as usize]
            })
            .collect(),
    )
}

/// One table row. CPU%, RUNQ%, BLOCKED% and the kinds are shares of the row's thread-time (a process: summed
/// over its threads, so each stays within 100 %); CORES is CPU seconds per wall second (a process can exceed 1).
fn row(o: &mut String, pid: &str, tid: &str, name: &str, s: &Shares, verdict: &str) {
    let _ = writeln!(
        o,
        "{:>7} {:>7}  {:<16} {:>6.2} {:>5.2} {:>5.0} {:>5.0} {:>8.0}  {:<26} {:>7.0} {:>7.0}  {}",
        pid,
        tid,
        name,
        s.wall_s,
        s.cores_busy(),
        s.on_cpu_pct,
        s.runq_pct,
        s.blocked_pct,
        truncate(&blocked_cell(s), 26),
        s.voluntary_per_s,
        s.involuntary_per_s,
        verdict
    );
}

/// Renders the summary.
pub fn render(r: &ExternalReport) -> String {
    let mut o = String::new();
    let cmd = if r.command().is_empty() {
        format!("pid {}", r.root_pid)
    } else {
        crate::escape_control(&r.command().join(" "))
    };
    let exit = match r.exit_code {
        Some(c) => format!(", exit {c}"),
        None => String::new(),
    };
    let _ = writeln!(
        o,
        "conc-advisor profile: {} — {:.2} s on {} cores{}{}",
        truncate(&cmd, 80),
        r.duration_s,
        r.cores(),
        exit,
        if r.python { " (Python)" } else { "" }
    );
    let _ = writeln!(
        o,
        "{:>7} {:>7}  {:<16} {:>6} {:>5} {:>5} {:>5} {:>8}  {:<26} {:>7} {:>7}  VERDICT",
        "PID", "TID", "NAME", "WALL s", "CORES", "CPU%", "RUNQ%", "BLOCKED%", "BLOCKED BY KIND (%)", "VOL/s", "INVOL/s"
    );
    // Processes seen for less than 0.1 s (shell subshells such as a version manager's shim forks, `$(…)`
    // helpers) are summarised in one line below the table; the command's own process is always a row.
    let short = |p: &&super::model::ProcessReport| {
        p.verdict == super::model::Verdict::Insufficient && p.shares.wall_s < 0.1 && p.pid != r.root_pid
    };
    for p in r.processes.iter().filter(|p| !short(p)) {
        row(&mut o, &p.pid.to_string(), "", &truncate(&p.name, 16), &p.shares, p.verdict.as_str());
        if p.threads.len() > 1 {
            for t in &p.threads {
                let name = truncate(&format!("└ {}", t.name), 16);
                row(&mut o, "", &t.tid.to_string(), &name, &t.shares, t.verdict.as_str());
            }
        }
    }
    let hidden: Vec<&super::model::ProcessReport> = r.processes.iter().filter(|p| short(p)).collect();
    if !hidden.is_empty() {
        let mut names: Vec<&str> = hidden.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let _ = writeln!(
            o,
            "{:>7}          + {} short-lived process{} ({}), each seen < 0.1 s; in the totals, not in the table",
            "",
            hidden.len(),
            if hidden.len() == 1 { "" } else { "es" },
            truncate(&names.join(", "), 60)
        );
    }
    if let Some(c) = r.tasks_created {
        if c.unseen > 0 {
            let _ = writeln!(
                o,
                "{:>7}          + {} more task{} came and went between samples, never seen: of {} process{} and {} \
                 thread{} the command created (exact: the kernel's fork records)",
                "",
                c.unseen,
                if c.unseen == 1 { "" } else { "s" },
                c.processes,
                if c.processes == 1 { "" } else { "es" },
                c.threads,
                if c.threads == 1 { "" } else { "s" }
            );
        }
    } else if let Some(n) = r.unseen_tasks_at_most.filter(|n| *n > 0) {
        let _ = writeln!(
            o,
            "{:>7}          + at most {n} more task{} (processes or threads) came and went between samples, never \
             seen: an upper bound (pids allocated between samples, less those seen here or still alive elsewhere)",
            "",
            if n == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(
        o,
        "{:>7}          CPU%, RUNQ%, BLOCKED%: shares of thread time (a process's summed over its threads); \
         CORES: CPU s per wall s",
        ""
    );
    let _ = writeln!(
        o,
        "\nCores used: {:.2} on average, {:.2} at peak, of {}; {:.1} runnable threads on average.",
        r.mean_cores_used,
        r.peak_cores_used,
        r.cores(),
        r.mean_runnable
    );
    if let Some(line) = sparkline(r) {
        let _ = writeln!(o, "Cores used over time (0 to {} cores): {line}", r.cores());
    }
    if let Some(tc) = r.perf.task_clock_s {
        let sampled: f64 = r.processes.iter().map(|p| p.shares.cpu_s).sum();
        let _ = write!(o, "perf totals (every thread and child, however short): {tc:.2} CPU s (sampled: {sampled:.2})");
        if let Some(cs) = r.perf.context_switches {
            let _ = write!(o, ", {cs} context switches");
        }
        if let Some(m) = r.perf.cpu_migrations {
            let _ = write!(o, ", {m} migrations");
        }
        if let Some(pf) = r.perf.page_faults {
            let _ = write!(o, ", {pf} page faults");
        }
        let _ = writeln!(o, ".");
    }
    for n in &r.base.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let _ = writeln!(
        o,
        "Sampler: {} ticks at {:.0} Hz, {:.3} CPU s ({:.2}% of one core, {:.0} µs per tick).",
        r.sampler.ticks, r.sampler.rate_hz, r.sampler.cpu_s, r.sampler.cpu_pct_of_core, r.sampler.mean_tick_us
    );
    let _ = writeln!(o);
    for f in &r.findings {
        let _ = writeln!(o, "* {}", f.message);
        let _ = writeln!(o, "  → {}", f.recommendation);
    }
    o
}

/// The summary of an in-process report: the shared human table, then one line per finding.
pub fn render_in_process(r: &Report) -> String {
    let mut o =
        format!("conc-advisor report (in-process, {} {}, {} cores)\n", r.tool.name, r.tool.version, r.host.cores);
    o.push_str(&r.human_table());
    let lines = r.summary_lines();
    if !lines.is_empty() {
        o.push('\n');
    }
    for l in lines {
        let _ = writeln!(o, "* {l}");
    }
    o
}

// The tests build shares with the sampler's analysis, which is Linux-only.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use conc_report::report::ReportKind;

    use super::super::analysis::{process_shares, shares_of};
    use super::super::model::{
        BlockedByKind, PerfTotals, ProcessReport, SamplerCost, Sources, ThreadReport, TimelinePoint, Verdict,
    };
    use super::*;

    fn thread(tid: i32, cpu: f64, runq: f64, lock: f64) -> ThreadReport {
        let b = BlockedByKind { lock, ..Default::default() };
        ThreadReport {
            tid,
            name: format!("worker-{tid}"),
            first_seen_s: 0.0,
            last_seen_s: 2.0,
            shares: shares_of(2.0, cpu, runq, b, 100, 10),
            verdict: Verdict::LockSerialized,
            evidence: String::new(),
        }
    }

    /// A process of three threads, each 2 s: 0.3 s on a CPU, 0.1 s runnable, 1.6 s blocked on a lock.
    fn three_thread_report() -> ExternalReport {
        let threads = vec![thread(11, 0.3, 0.1, 1.6), thread(12, 0.3, 0.1, 1.6), thread(13, 0.3, 0.1, 1.6)];
        let shares = process_shares(2.0, &threads.iter().map(|t| &t.shares).collect::<Vec<_>>());
        let mut base = Report::new(ReportKind::External, "t", "0");
        base.host.cores = 2;
        ExternalReport {
            base,
            root_pid: 10,
            attached: false,
            exit_code: Some(0),
            duration_s: 2.0,
            python: false,
            sources: Sources::default(),
            sampler: SamplerCost::default(),
            perf: PerfTotals::default(),
            mean_cores_used: 0.45,
            peak_cores_used: 0.5,
            mean_runnable: 1.0,
            processes: vec![ProcessReport {
                pid: 10,
                ppid: 1,
                name: "app".into(),
                cmdline: Vec::new(),
                python: false,
                first_seen_s: 0.0,
                last_seen_s: 2.0,
                shares,
                max_threads: 3,
                verdict: Verdict::LockSerialized,
                evidence: String::new(),
                threads,
            }],
            timeline: vec![TimelinePoint {
                t_s: 2.0,
                cores_used: 0.45,
                runnable: 1,
                threads: 3,
                machine_runnable: None,
            }],
            findings: Vec::new(),
            python_targets: Vec::new(),
            unseen_tasks_at_most: None,
            tasks_created: None,
        }
    }

    #[test]
    fn process_row_shows_shares_of_thread_time_and_cores() {
        let r = three_thread_report();
        let p = &r.processes[0].shares;
        assert!((p.thread_s - 6.0).abs() < 1e-9);
        assert!((p.on_cpu_pct - 15.0).abs() < 1e-6 && (p.runq_pct - 5.0).abs() < 1e-6, "{p:?}");
        assert!((p.blocked_pct - 80.0).abs() < 1e-6, "blocked {}", p.blocked_pct);
        assert!((p.cores - 0.45).abs() < 1e-9);
        assert!((p.voluntary_per_s - 150.0).abs() < 1e-9, "switches per second of the process's wall time");
        let out = render(&r);
        let header = out.lines().find(|l| l.contains("VERDICT")).unwrap();
        assert!(header.contains("CORES") && header.contains("BLOCKED%"), "{header}");
        let row = out.lines().find(|l| l.trim_start().starts_with("10 ")).unwrap_or_else(|| panic!("{out}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        // PID NAME WALL CORES CPU% RUNQ% BLOCKED% lock N VOL/s INVOL/s VERDICT
        assert_eq!(&cols[..9], ["10", "app", "2.00", "0.45", "15", "5", "80", "lock", "80"], "{row}");
        assert_eq!(&cols[9..11], ["150", "15"], "{row}");
        // Each thread row: the same shares, 0.15 cores.
        let t = out.lines().find(|l| l.contains("worker-12")).unwrap();
        let tc: Vec<&str> = t.split_whitespace().collect();
        assert_eq!(&tc[..10], ["12", "└", "worker-12", "2.00", "0.15", "15", "5", "80", "lock", "80"], "{t}");
        assert!(out.contains("shares of thread time"), "{out}");
        // The HTML table says the same.
        let page = super::super::html::render(&r);
        assert!(page.contains("<td>2.00</td><td>0.45</td><td>15</td><td>5</td><td>80</td><td>80</td>"), "{page}");
    }

    #[test]
    fn short_lived_helper_processes_are_one_line() {
        let mut r = three_thread_report();
        for pid in [21, 22, 23] {
            let mut p = r.processes[0].clone();
            (p.pid, p.name, p.verdict, p.threads) = (pid, "bash".into(), Verdict::Insufficient, Vec::new());
            p.shares = process_shares(0.02, &[&shares_of(0.02, 0.0, 0.0, BlockedByKind::default(), 1, 0)]);
            r.processes.push(p);
        }
        let out = render(&r);
        assert!(!out.lines().any(|l| l.trim_start().starts_with("21 ")), "{out}");
        assert!(out.contains("+ 3 short-lived processes (bash), each seen < 0.1 s"), "{out}");
        // The command's own process stays a row however short.
        r.root_pid = 21;
        let out = render(&r);
        assert!(out.lines().any(|l| l.trim_start().starts_with("21 ")), "{out}");
        assert!(out.contains("+ 2 short-lived processes (bash)"), "{out}");
    }

    #[test]
    fn old_reports_without_thread_time_still_render() {
        let mut r = three_thread_report();
        let s = &mut r.processes[0].shares;
        (s.thread_s, s.cores) = (0.0, 0.0);
        assert!((s.cores_busy() - 0.45).abs() < 1e-9);
        assert!((s.pct_of_thread_time(1.0) - 50.0).abs() < 1e-9, "falls back to wall time");
        assert!(render(&r).contains(" 0.45 "));
    }
}
