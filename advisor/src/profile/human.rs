//! The human summary of an external profile: a table of processes and threads with their shares and verdicts,
//! then the whole-run verdicts and recommendations in plain sentences with the evidence numbers.

use std::fmt::Write as _;

use super::model::{ExternalReport, Report, Shares};
use super::procfs::WaitKind;

fn blocked_cell(s: &Shares) -> String {
    let w = s.wall_s.max(1e-9);
    let mut parts = Vec::new();
    for k in WaitKind::ALL {
        let v = s.blocked_by_kind.get(k) / w * 100.0;
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

/// Renders the summary.
pub fn render(r: &ExternalReport) -> String {
    let mut o = String::new();
    let cmd = if r.command().is_empty() { format!("pid {}", r.root_pid) } else { r.command().join(" ") };
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
        "{:>7} {:>7}  {:<16} {:>6} {:>6} {:>6} {:>8}  {:<26} {:>7} {:>7}  VERDICT",
        "PID", "TID", "NAME", "WALL s", "CPU%", "RUNQ%", "BLOCKED%", "BLOCKED BY KIND (%)", "VOL/s", "INVOL/s"
    );
    let short = |p: &&super::model::ProcessReport| {
        p.verdict == super::model::Verdict::Insufficient && p.shares.wall_s < 0.1 && r.processes.len() > 8
    };
    for p in r.processes.iter().filter(|p| !short(p)) {
        let s = &p.shares;
        let _ = writeln!(
            o,
            "{:>7} {:>7}  {:<16} {:>6.2} {:>6.0} {:>6.0} {:>8.0}  {:<26} {:>7.0} {:>7.0}  {}",
            p.pid,
            "",
            truncate(&p.name, 16),
            s.wall_s,
            s.on_cpu_pct,
            s.runq_pct,
            s.blocked_pct,
            truncate(&blocked_cell(s), 26),
            s.voluntary_per_s,
            s.involuntary_per_s,
            p.verdict.as_str()
        );
        if p.threads.len() > 1 {
            for t in &p.threads {
                let s = &t.shares;
                let _ = writeln!(
                    o,
                    "{:>7} {:>7}  {:<16} {:>6.2} {:>6.0} {:>6.0} {:>8.0}  {:<26} {:>7.0} {:>7.0}  {}",
                    "",
                    t.tid,
                    truncate(&format!("└ {}", t.name), 16),
                    s.wall_s,
                    s.on_cpu_pct,
                    s.runq_pct,
                    s.blocked_pct,
                    truncate(&blocked_cell(s), 26),
                    s.voluntary_per_s,
                    s.involuntary_per_s,
                    t.verdict.as_str()
                );
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
            "{:>7}          + {} short-lived processes ({}), each seen < 0.1 s; in the totals, not in the table",
            "",
            hidden.len(),
            truncate(&names.join(", "), 60)
        );
    }
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
