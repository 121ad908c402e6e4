//! Chrome trace-event JSON of an external profile (opens in Perfetto and `chrome://tracing`): one track per
//! thread with a complete event per run of ticks in one state (running, runnable, blocked by kind), process and
//! thread names, and counter tracks of cores used and runnable threads.

use serde_json::{Value, json};

use super::collect::Sampler;
use super::model::ExternalReport;

fn us(s: f64) -> f64 {
    (s * 1e6).round()
}

/// Renders the trace.
pub fn render(s: &Sampler, r: &ExternalReport) -> String {
    let mut ev: Vec<Value> = Vec::new();
    for p in s.procs.values() {
        ev.push(json!({"ph": "M", "name": "process_name", "pid": p.pid, "tid": p.pid,
                       "args": {"name": format!("{} ({})", p.name, p.pid)}}));
    }
    for t in s.threads.values() {
        ev.push(json!({"ph": "M", "name": "thread_name", "pid": t.pid, "tid": t.tid,
                       "args": {"name": format!("{} ({})", t.name, t.tid)}}));
        for sp in &t.spans {
            let dur = us(sp.end_s) - us(sp.start_s);
            if dur <= 0.0 {
                continue;
            }
            ev.push(json!({"ph": "X", "cat": "state", "name": sp.state.label(), "pid": t.pid, "tid": t.tid,
                           "ts": us(sp.start_s), "dur": dur}));
        }
    }
    for p in &r.timeline {
        ev.push(json!({"ph": "C", "name": "cores used", "pid": r.root_pid, "ts": us(p.t_s),
                       "args": {"cores": (p.cores_used * 1000.0).round() / 1000.0}}));
        ev.push(json!({"ph": "C", "name": "runnable threads", "pid": r.root_pid, "ts": us(p.t_s),
                       "args": {"runnable": p.runnable}}));
    }
    for f in &r.findings {
        ev.push(json!({"ph": "i", "s": "g", "name": f.message, "pid": r.root_pid, "tid": r.root_pid,
                       "ts": us(r.duration_s), "args": {"recommendation": f.recommendation}}));
    }
    let doc = json!({
        "traceEvents": ev,
        "displayTimeUnit": "ms",
        "otherData": {"tool": "conc-advisor profile", "command": r.command().join(" "), "cores": r.cores()},
    });
    serde_json::to_string(&doc).unwrap_or_else(|_| "{\"traceEvents\":[]}".into())
}
