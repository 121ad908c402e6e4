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
    // Threads are keyed by (tid, start time), so a reused tid comes after its earlier holder: one name per track.
    let mut named = std::collections::BTreeSet::new();
    for t in s.threads.values() {
        if named.insert((t.pid, t.tid)) {
            ev.push(json!({"ph": "M", "name": "thread_name", "pid": t.pid, "tid": t.tid,
                           "args": {"name": format!("{} ({})", t.name, t.tid)}}));
        }
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

/// What [`validate`] found in a valid trace.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TraceSummary {
    /// Complete (`X`) slices, thread tracks that have them, named processes and threads, counter samples.
    pub slices: usize,
    pub tracks: usize,
    pub processes: usize,
    pub threads: usize,
    pub counters: usize,
}

fn int_field(e: &Value, key: &str) -> Result<i64, String> {
    e.get(key).and_then(Value::as_i64).ok_or_else(|| format!("`{key}` missing or not an integer in {e}"))
}

fn num_field(e: &Value, key: &str) -> Result<f64, String> {
    match e.get(key).and_then(Value::as_f64) {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("`{key}` missing, negative or not a number in {e}")),
    }
}

/// Why [`validate`] rejects a trace: the first rule it breaks, with the offending event.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidTrace(String);

/// Checks a trace against the Trace Event Format (the JSON Object Format that Perfetto's and `chrome://tracing`'s
/// JSON importers read) as far as this renderer uses it: a `traceEvents` array; every event has a one-letter
/// `ph` this renderer emits (`X`, `M`, `C`, `i`) and an integer `pid`; `X` slices have a string `name`,
/// integer `tid`, `ts` ≥ 0 and `dur` > 0 in microseconds, and on one thread track they come in time order and do
/// not overlap (states of one thread at one depth); metadata events are `process_name` / `thread_name` with a
/// string `args.name`, at most one per process / thread, and every track with slices has both; counter events
/// have numeric `args` and strictly increasing `ts` per counter; instant events a scope `s` of `g`, `p` or `t`;
/// `displayTimeUnit`, when present, is `ms` or `ns`.
pub fn validate(trace: &str) -> Result<TraceSummary, InvalidTrace> {
    first_violation(trace).map_err(InvalidTrace)
}

/// [`validate`]'s checks, in order; the first broken rule is the message.
fn first_violation(trace: &str) -> Result<TraceSummary, String> {
    use std::collections::{BTreeMap, BTreeSet};
    let doc: Value = serde_json::from_str(trace).map_err(|e| format!("not JSON: {e}"))?;
    let events = doc.get("traceEvents").and_then(Value::as_array).ok_or("no `traceEvents` array")?;
    if let Some(u) = doc.get("displayTimeUnit")
        && !matches!(u.as_str(), Some("ms" | "ns"))
    {
        return Err(format!("displayTimeUnit {u} is neither \"ms\" nor \"ns\""));
    }
    let mut sum = TraceSummary::default();
    let mut last_end: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    let mut proc_names = BTreeSet::new();
    let mut thread_names = BTreeSet::new();
    let mut counter_ts: BTreeMap<(i64, String), f64> = BTreeMap::new();
    for e in events {
        let ph = e.get("ph").and_then(Value::as_str).ok_or_else(|| format!("`ph` missing in {e}"))?;
        let pid = int_field(e, "pid")?;
        let name = e.get("name").and_then(Value::as_str).ok_or_else(|| format!("`name` missing in {e}"))?;
        match ph {
            "X" => {
                let tid = int_field(e, "tid")?;
                let (ts, dur) = (num_field(e, "ts")?, num_field(e, "dur")?);
                if dur <= 0.0 {
                    return Err(format!("zero-length slice {e}"));
                }
                let end = last_end.entry((pid, tid)).or_insert(0.0);
                if ts < *end {
                    return Err(format!("slice at {ts} µs on {pid}/{tid} starts before the previous one ends ({end})"));
                }
                *end = ts + dur;
                sum.slices += 1;
            }
            "M" => {
                let tid = int_field(e, "tid")?;
                e.pointer("/args/name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("metadata without args.name: {e}"))?;
                let fresh = match name {
                    "process_name" => proc_names.insert(pid),
                    "thread_name" => thread_names.insert((pid, tid)),
                    other => return Err(format!("unexpected metadata event `{other}`")),
                };
                if !fresh {
                    return Err(format!("{name} given twice for {pid}/{tid}"));
                }
            }
            "C" => {
                let ts = num_field(e, "ts")?;
                let args =
                    e.get("args").and_then(Value::as_object).ok_or_else(|| format!("counter without args: {e}"))?;
                if args.is_empty() || !args.values().all(Value::is_number) {
                    return Err(format!("counter args must be numbers: {e}"));
                }
                if let Some(prev) = counter_ts.insert((pid, name.to_string()), ts)
                    && ts <= prev
                {
                    return Err(format!("counter `{name}` goes back in time at {ts} µs"));
                }
                sum.counters += 1;
            }
            "i" => {
                num_field(e, "ts")?;
                if !matches!(e.get("s").and_then(Value::as_str), Some("g" | "p" | "t")) {
                    return Err(format!("instant event without scope g/p/t: {e}"));
                }
            }
            other => return Err(format!("phase `{other}` is not one this renderer emits")),
        }
    }
    for (pid, tid) in last_end.keys() {
        if !thread_names.contains(&(*pid, *tid)) {
            return Err(format!("thread track {pid}/{tid} has slices but no thread_name"));
        }
        if !proc_names.contains(pid) {
            return Err(format!("process {pid} has slices but no process_name"));
        }
    }
    sum.tracks = last_end.len();
    sum.processes = proc_names.len();
    sum.threads = thread_names.len();
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(events: Value) -> String {
        json!({"traceEvents": events, "displayTimeUnit": "ms"}).to_string()
    }

    fn names() -> Vec<Value> {
        vec![
            json!({"ph": "M", "name": "process_name", "pid": 1, "tid": 1, "args": {"name": "p"}}),
            json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "t"}}),
        ]
    }

    fn with(extra: Vec<Value>) -> String {
        let mut ev = names();
        ev.extend(extra);
        doc(Value::Array(ev))
    }

    #[test]
    fn validate_accepts_the_format_and_rejects_each_violation() {
        let x = |ts: f64, dur: f64| json!({"ph": "X", "name": "running", "pid": 1, "tid": 2, "ts": ts, "dur": dur});
        let c = |ts: f64| json!({"ph": "C", "name": "cores used", "pid": 1, "ts": ts, "args": {"cores": 1.5}});
        let ok = validate(&with(vec![x(0.0, 10.0), x(10.0, 5.0), c(0.0), c(40.0)])).unwrap();
        assert_eq!(ok, TraceSummary { slices: 2, tracks: 1, processes: 1, threads: 1, counters: 2 });
        assert!(
            validate(&with(vec![x(0.0, 10.0), x(9.0, 5.0)])).unwrap_err().to_string().contains("before the previous")
        );
        assert!(validate(&with(vec![x(0.0, 0.0)])).is_err(), "zero duration");
        assert!(validate(&with(vec![x(-1.0, 3.0)])).is_err(), "negative ts");
        assert!(validate(&with(vec![c(5.0), c(5.0)])).unwrap_err().to_string().contains("back in time"));
        let unnamed = json!({"ph": "X", "name": "running", "pid": 1, "tid": 3, "ts": 0, "dur": 1});
        assert!(validate(&with(vec![unnamed])).unwrap_err().to_string().contains("no thread_name"));
        let string_tid = json!({"ph": "X", "name": "running", "pid": 1, "tid": "2", "ts": 0, "dur": 1});
        assert!(validate(&with(vec![string_tid])).is_err());
        assert!(validate(&with(vec![names()[1].clone()])).unwrap_err().to_string().contains("twice"));
        assert!(validate(&with(vec![json!({"ph": "B", "name": "x", "pid": 1, "tid": 2, "ts": 0})])).is_err());
        assert!(validate(&with(vec![json!({"ph": "i", "name": "x", "pid": 1, "ts": 0})])).is_err(), "no scope");
        assert!(validate("[]").is_err() && validate("nope").is_err());
        assert!(validate(&json!({"traceEvents": [], "displayTimeUnit": "s"}).to_string()).is_err());
    }
}
