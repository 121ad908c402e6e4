//! The HTML report: one self-contained page (no network, no script) with the findings, a stacked bar per thread
//! (on-CPU / run-queue / blocked by kind) and a timeline of cores used and runnable threads, as inline SVG,
//! followed by the table of processes and threads.

use std::fmt::Write as _;

use super::model::WaitKind;
use super::model::{ExternalReport, Report};

/// Escapes text for HTML content and attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CPU: &str = "#2e9d4f";
const RUNQ: &str = "#f29d38";

fn kind_color(k: WaitKind) -> &'static str {
    match k {
        WaitKind::Lock => "#d64545",
        WaitKind::Io => "#3b7dd8",
        WaitKind::Disk => "#8b5cc7",
        WaitKind::Sleep => "#9aa3ad",
        WaitKind::Child => "#c9ced4",
        WaitKind::Other => "#e4e7ea",
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2329;max-width:1100px}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}.meta{color:#5b6670}\
.finding{border-left:4px solid #3b7dd8;padding:6px 10px;margin:8px 0;background:#f4f7fb}\
.finding.serialised,.finding.oversubscribed{border-color:#d64545}.finding.fine{border-color:#2e9d4f}\
.rec{color:#33414d;margin-top:2px}table{border-collapse:collapse;font-size:12px}\
td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eceff1}td.l,th.l{text-align:left}\
svg text{font:11px system-ui,sans-serif;fill:#1d2329}.legend span{display:inline-block;margin-right:12px}\
.sw{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}";

/// The page for an external report.
pub fn render(r: &ExternalReport) -> String {
    let mut o = String::new();
    let cmd = if r.command().is_empty() {
        format!("pid {}", r.root_pid)
    } else {
        crate::escape_control(&r.command().join(" "))
    };
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>conc-advisor profile: {}</title>\
         <style>{STYLE}</style></head><body>",
        esc(&cmd)
    );
    let _ = write!(
        o,
        "<h1>conc-advisor profile</h1><div class=\"meta\"><code>{}</code> — {:.2} s on {} cores{}{}; \
         cores used {:.2} on average, {:.2} at peak</div>",
        esc(&cmd),
        r.duration_s,
        r.cores(),
        r.exit_code.map(|c| format!(", exit {c}")).unwrap_or_default(),
        if r.python { " (Python)" } else { "" },
        r.mean_cores_used,
        r.peak_cores_used
    );
    o.push_str("<h2>Verdicts</h2>");
    for f in &r.findings {
        let kind = serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let _ = write!(
            o,
            "<div class=\"finding {}\"><div>{}</div><div class=\"rec\">→ {}</div></div>",
            esc(&kind),
            esc(&f.message),
            esc(&f.recommendation)
        );
    }
    o.push_str("<h2>Where each thread's time went</h2>");
    legend(&mut o);
    bars(&mut o, r);
    o.push_str("<h2>Cores used and runnable threads over time</h2>");
    timeline(&mut o, r);
    o.push_str("<h2>Processes and threads</h2>");
    table(&mut o, r);
    let _ = write!(
        o,
        "<p class=\"meta\">Sampler: {} ticks at {:.0} Hz, {:.2}% of one core. {}</p></body></html>",
        r.sampler.ticks,
        r.sampler.rate_hz,
        r.sampler.cpu_pct_of_core,
        r.base.notes.iter().map(|n| esc(n)).collect::<Vec<_>>().join(" · ")
    );
    o
}

fn legend(o: &mut String) {
    o.push_str("<div class=\"legend\">");
    let _ = write!(o, "<span><i class=\"sw\" style=\"background:{CPU}\"></i>on-CPU</span>");
    let _ = write!(o, "<span><i class=\"sw\" style=\"background:{RUNQ}\"></i>run-queue (waiting for a CPU)</span>");
    for k in WaitKind::ALL {
        let _ = write!(
            o,
            "<span><i class=\"sw\" style=\"background:{}\"></i>blocked: {}</span>",
            kind_color(k),
            esc(k.label())
        );
    }
    o.push_str("</div>");
}

const MAX_BARS: usize = 200;

fn bars(o: &mut String, r: &ExternalReport) {
    let rows: Vec<_> = r.threads().take(MAX_BARS).collect();
    let (label_w, bar_w, row_h) = (330.0, 600.0, 20.0);
    let h = rows.len() as f64 * row_h + 30.0;
    let _ = write!(
        o,
        "<svg id=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\" \
         aria-label=\"per-thread time shares\">",
        label_w + bar_w + 20.0
    );
    for (i, (p, t)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let label = format!("{} / {} {} — {}", p.pid, t.tid, t.name, t.verdict.as_str());
        let _ = write!(o, "<text x=\"0\" y=\"{:.1}\">{}</text>", y + 12.0, esc(&label));
        let w = t.shares.wall_s.max(1e-9);
        let mut x = label_w;
        let mut seg = |o: &mut String, v: f64, color: &str, what: &str| {
            let width = (v / w).clamp(0.0, 1.0) * bar_w;
            if width >= 0.05 {
                let _ = write!(
                    o,
                    "<rect class=\"seg\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{color}\">\
                     <title>{}: {:.0}%</title></rect>",
                    row_h - 6.0,
                    esc(what),
                    100.0 * v / w
                );
                x += width;
            }
        };
        seg(o, t.shares.cpu_s, CPU, "on-CPU");
        seg(o, t.shares.runq_s, RUNQ, "run-queue");
        let b = &t.shares.blocked_by_kind;
        let sum: f64 = WaitKind::ALL.iter().map(|k| b.get(*k)).sum();
        // The sampled split of blocked time, scaled to the measured blocked total.
        let scale = if sum > 0.0 { t.shares.blocked_s / sum } else { 0.0 };
        for k in WaitKind::ALL {
            seg(o, b.get(k) * scale, kind_color(k), &format!("blocked: {}", k.label()));
        }
    }
    let y = rows.len() as f64 * row_h + 20.0;
    for pctv in [0, 25, 50, 75, 100] {
        let x = label_w + bar_w * f64::from(pctv) / 100.0;
        let _ = write!(o, "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{pctv}%</text>");
    }
    o.push_str("</svg>");
    let total = r.threads().count();
    if total > MAX_BARS {
        let _ = write!(o, "<p class=\"meta\">{} more threads in the table below.</p>", total - MAX_BARS);
    }
}

fn timeline(o: &mut String, r: &ExternalReport) {
    let (w, h, left, bottom, top) = (900.0, 260.0, 50.0, 30.0, 10.0);
    let pw = w - left - 20.0;
    let ph = h - bottom - top;
    let tmax = r.duration_s.max(r.timeline.last().map(|p| p.t_s).unwrap_or(0.0)).max(1e-3);
    let ymax_data = r.timeline.iter().map(|p| p.cores_used.max(f64::from(p.runnable))).fold(0.0, f64::max);
    let ymax = ymax_data.max(r.cores() as f64).ceil().max(1.0) + 1.0;
    let xs = |t: f64| left + pw * (t / tmax);
    let ys = |v: f64| top + ph * (1.0 - (v / ymax).min(1.0));
    let _ = write!(
        o,
        "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"cores used and runnable threads over time\">"
    );
    // Axes and grid.
    let step = (ymax / 6.0).ceil().max(1.0);
    let mut v = 0.0;
    while v <= ymax {
        let y = ys(v);
        let _ = write!(
            o,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eceff1\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>",
            left + pw,
            left - 6.0,
            y + 4.0
        );
        v += step;
    }
    for i in 0..=5 {
        let t = tmax * f64::from(i) / 5.0;
        let _ =
            write!(o, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{t:.1} s</text>", xs(t), top + ph + 18.0);
    }
    // Cores available.
    let yc = ys(r.cores() as f64);
    let _ = write!(
        o,
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{yc:.1}\" y2=\"{yc:.1}\" stroke=\"#d64545\" stroke-dasharray=\"6 4\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" style=\"fill:#d64545\">{} cores</text>",
        left + pw,
        left + pw,
        yc - 4.0,
        r.cores()
    );
    if !r.timeline.is_empty() {
        // Cores used: a filled area.
        let mut d = format!("M{:.1},{:.1}", xs(0.0), ys(0.0));
        let mut prev_t = 0.0;
        for p in &r.timeline {
            let y = ys(p.cores_used);
            let _ = write!(d, " L{:.1},{y:.1} L{:.1},{y:.1}", xs(prev_t), xs(p.t_s));
            prev_t = p.t_s;
        }
        let _ = write!(d, " L{:.1},{:.1} Z", xs(prev_t), ys(0.0));
        let _ = write!(
            o,
            "<path class=\"cores\" d=\"{d}\" fill=\"{CPU}\" fill-opacity=\"0.35\" stroke=\"{CPU}\" stroke-width=\"1.5\"/>"
        );
        // Runnable threads: a step line.
        let mut d = String::new();
        let mut prev_t = 0.0;
        for (i, p) in r.timeline.iter().enumerate() {
            let y = ys(f64::from(p.runnable));
            let _ = write!(d, "{}{:.1},{y:.1} L{:.1},{y:.1}", if i == 0 { "M" } else { " L" }, xs(prev_t), xs(p.t_s));
            prev_t = p.t_s;
        }
        let _ = write!(o, "<path class=\"runnable\" d=\"{d}\" fill=\"none\" stroke=\"{RUNQ}\" stroke-width=\"2\"/>");
    }
    let _ = write!(
        o,
        "<rect x=\"{:.1}\" y=\"{top}\" width=\"10\" height=\"10\" fill=\"{CPU}\"/><text x=\"{:.1}\" y=\"{:.1}\">cores \
         used</text><rect x=\"{:.1}\" y=\"{top}\" width=\"10\" height=\"10\" fill=\"{RUNQ}\"/><text x=\"{:.1}\" \
         y=\"{:.1}\">runnable threads</text>",
        left + 10.0,
        left + 24.0,
        top + 9.0,
        left + 110.0,
        left + 124.0,
        top + 9.0
    );
    o.push_str("</svg>");
}

fn table(o: &mut String, r: &ExternalReport) {
    o.push_str(
        "<table><tr><th>PID</th><th>TID</th><th class=\"l\">name</th><th>wall s</th><th title=\"CPU seconds per wall second; a \
         process can exceed 1\">cores</th><th>CPU %</th><th>run-queue %</th><th>blocked %</th><th>lock %</th><th>I/O %</th><th>sleep %</th><th>vol/s</th><th>invol/s</th>\
         <th class=\"l\">verdict</th></tr>",
    );
    let row = |o: &mut String, pid: String, tid: String, name: &str, s: &super::model::Shares, v: &str| {
        let b = &s.blocked_by_kind;
        let _ = write!(
            o,
            "<tr><td>{pid}</td><td>{tid}</td><td class=\"l\">{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.0}</td>\
             <td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td><td>{:.0}</td>\
             <td class=\"l\">{}</td></tr>",
            esc(name),
            s.wall_s,
            s.cores_busy(),
            s.on_cpu_pct,
            s.runq_pct,
            s.blocked_pct,
            s.pct_of_thread_time(b.lock),
            s.pct_of_thread_time(b.io + b.disk),
            s.pct_of_thread_time(b.sleep),
            s.voluntary_per_s,
            s.involuntary_per_s,
            esc(v)
        );
    };
    for p in &r.processes {
        row(o, p.pid.to_string(), String::new(), &p.name, &p.shares, p.verdict.as_str());
        if p.threads.len() > 1 {
            for t in &p.threads {
                row(o, String::new(), t.tid.to_string(), &t.name, &t.shares, t.verdict.as_str());
            }
        }
    }
    o.push_str(
        "</table><p class=\"meta\">CPU, run-queue and blocked % are shares of thread time (a process's summed over \
         its threads, so none exceeds 100 %); cores is CPU seconds per wall second.</p>",
    );
}

/// The page for the in-process profiler's report: a stacked bar per function (on-CPU / run-queue / blocked), its
/// verdict and recommendation, and the notes.
pub fn render_in_process(r: &Report) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>conc-advisor report (in-process)</title>\
         <style>{STYLE}</style></head><body><h1>conc-advisor report: in-process</h1><div class=\"meta\">{} {} on {} \
         cores ({} {}); {}</div>",
        esc(&r.tool.name),
        esc(&r.tool.version),
        r.host.cores,
        esc(&r.host.os),
        esc(&r.host.arch),
        esc(&r.measurement.sampling)
    );
    o.push_str("<h2>Where each function's time went</h2><div class=\"legend\">");
    let blocked = kind_color(WaitKind::Io);
    let _ = write!(
        o,
        "<span><i class=\"sw\" style=\"background:{CPU}\"></i>on-CPU</span><span><i class=\"sw\" \
         style=\"background:{RUNQ}\"></i>run-queue</span><span><i class=\"sw\" style=\"background:{blocked}\"></i>\
         blocked</span></div>"
    );
    let (label_w, bar_w, row_h) = (330.0, 600.0, 20.0);
    let rows: Vec<_> = r.entries.iter().take(MAX_BARS).collect();
    let _ = write!(
        o,
        "<svg id=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\">",
        label_w + bar_w + 20.0,
        rows.len() as f64 * row_h + 10.0
    );
    for (i, e) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let c = &e.classification;
        let _ = write!(o, "<text x=\"0\" y=\"{:.1}\">{} — {}</text>", y + 12.0, esc(&e.name), c.verdict.as_str());
        let mut x = label_w;
        for (v, color, what) in
            [(c.cpu_share, CPU, "on-CPU"), (c.runqueue_share, RUNQ, "run-queue"), (c.blocked_share, blocked, "blocked")]
        {
            let width = v.clamp(0.0, 1.0) * bar_w;
            if width >= 0.05 {
                let _ = write!(
                    o,
                    "<rect class=\"seg\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{:.1}\" \
                     fill=\"{color}\"><title>{what}: {:.0}%</title></rect>",
                    row_h - 6.0,
                    v * 100.0
                );
                x += width;
            }
        }
    }
    o.push_str("</svg><h2>Verdicts and recommendations</h2>");
    for e in &r.entries {
        let _ = write!(
            o,
            "<div class=\"finding\"><div><b>{}</b>: {} — {}</div><div class=\"rec\">→ {}</div></div>",
            esc(&e.name),
            esc(e.classification.verdict.as_str()),
            esc(&e.classification.evidence),
            esc(&e.recommendation.text)
        );
    }
    for m in &r.expectations {
        let _ = write!(o, "<div class=\"finding serialised\">expectation failed: {}</div>", esc(&m.to_string()));
    }
    for n in &r.notes {
        let _ = write!(o, "<p class=\"meta\">note: {}</p>", esc(n));
    }
    o.push_str("</body></html>");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
