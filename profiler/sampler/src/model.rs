//! The external profile's report: the serialisable `kind: "external"` member of the versioned
//! `conc-advisor-report` schema family (threads, processes, timeline, findings), and its JSON reading/writing.

use serde::{Deserialize, Serialize};

pub use conc_report::classify::Verdict;
pub use conc_report::report::{Report, ReportKind, SCHEMA, VERSION};

/// Where a blocked thread waits (shared with the in-process profiler, with the system-call table).
pub use conc_report::waits::WaitKind;

/// What a thread or process did over its observed lifetime.
///
/// The percentages are shares of the subject's *thread-time* (`thread_s`): for a thread its observed wall time,
/// for a process the sum of its threads' observed wall times, so on-CPU + run-queue + blocked ≈ 100 % in every
/// row and a process of three threads blocked 80 % of the time shows 80 %, not 240 %. How many cores a process
/// kept busy (what `top` shows as a CPU % above 100) is `cores` = CPU seconds per second of its wall time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Shares {
    /// Observed wall time, seconds (a process: from its first thread seen to its last).
    pub wall_s: f64,
    /// Thread-seconds observed: `wall_s` for a thread, the sum over its threads for a process (the denominator
    /// of the percentages). Reports written before this field existed read it as 0 (then `wall_s` is used).
    #[serde(default)]
    pub thread_s: f64,
    /// Time on a CPU, seconds (schedstat; summed over threads for a process).
    pub cpu_s: f64,
    /// Cores kept busy on average: `cpu_s / wall_s` (at most 1 for a thread; up to the thread count for a
    /// process).
    #[serde(default)]
    pub cores: f64,
    /// Time runnable but waiting for a CPU, seconds (summed over threads for a process).
    pub runq_s: f64,
    /// Time blocked, seconds (thread-time − cpu − run-queue, summed over threads for a process), and how it
    /// splits by kind of wait (sampled).
    pub blocked_s: f64,
    pub blocked_by_kind: BlockedByKind,
    /// Shares of `thread_s`, in percent (each at most 100).
    pub on_cpu_pct: f64,
    pub runq_pct: f64,
    pub blocked_pct: f64,
    pub voluntary_switches: u64,
    pub involuntary_switches: u64,
    /// Switches per second of `wall_s` (a process: summed over its threads).
    pub voluntary_per_s: f64,
    pub involuntary_per_s: f64,
}

impl Shares {
    /// The denominator of the percentages: thread-seconds (`wall_s` for reports that predate `thread_s`).
    pub fn thread_time_s(&self) -> f64 {
        if self.thread_s > 0.0 { self.thread_s } else { self.wall_s }
    }

    /// Cores kept busy on average (`cores`, or computed for reports that predate it).
    pub fn cores_busy(&self) -> f64 {
        if self.cores > 0.0 || self.wall_s < 1e-3 { self.cores } else { self.cpu_s / self.wall_s }
    }

    /// A number of seconds as a percentage of the thread-time (0 when nothing was observed).
    pub fn pct_of_thread_time(&self, seconds: f64) -> f64 {
        let d = self.thread_time_s();
        if d < 1e-9 { 0.0 } else { 100.0 * seconds / d }
    }
}

/// Blocked seconds split by kind of wait.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockedByKind {
    pub lock: f64,
    pub io: f64,
    pub disk: f64,
    pub sleep: f64,
    pub child: f64,
    pub other: f64,
}

impl BlockedByKind {
    pub fn get(&self, k: WaitKind) -> f64 {
        match k {
            WaitKind::Lock => self.lock,
            WaitKind::Io => self.io,
            WaitKind::Disk => self.disk,
            WaitKind::Sleep => self.sleep,
            WaitKind::Child => self.child,
            WaitKind::Other => self.other,
        }
    }

    pub fn get_mut(&mut self, k: WaitKind) -> &mut f64 {
        match k {
            WaitKind::Lock => &mut self.lock,
            WaitKind::Io => &mut self.io,
            WaitKind::Disk => &mut self.disk,
            WaitKind::Sleep => &mut self.sleep,
            WaitKind::Child => &mut self.child,
            WaitKind::Other => &mut self.other,
        }
    }

    /// The kind with the most blocked time, if any.
    pub fn dominant(&self) -> Option<WaitKind> {
        WaitKind::ALL.into_iter().filter(|k| self.get(*k) > 0.0).max_by(|a, b| self.get(*a).total_cmp(&self.get(*b)))
    }

    pub fn add(&mut self, other: &BlockedByKind) {
        for k in WaitKind::ALL {
            *self.get_mut(k) += other.get(k);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadReport {
    pub tid: i32,
    pub name: String,
    /// Seconds from the start of profiling when first and last seen.
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    pub shares: Shares,
    /// The shared classifier's verdict, refined by the kinds of wait (see `analysis::refine`).
    pub verdict: Verdict,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessReport {
    pub pid: i32,
    pub ppid: i32,
    pub name: String,
    pub cmdline: Vec<String>,
    /// Recognised as a Python interpreter (name or command line).
    pub python: bool,
    pub first_seen_s: f64,
    pub last_seen_s: f64,
    /// Totals over the process's threads; percentages are shares of its threads' summed time (at most 100 %),
    /// `shares.cores` the cores it kept busy (two busy threads: 2.0).
    pub shares: Shares,
    pub max_threads: usize,
    pub verdict: Verdict,
    pub evidence: String,
    pub threads: Vec<ThreadReport>,
}

/// One tick of the whole tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    pub t_s: f64,
    /// CPU seconds used per second over the last interval by the whole tree.
    pub cores_used: f64,
    /// Threads of the tree in state R (running or waiting for a CPU) at the tick.
    pub runnable: u32,
    /// Threads of the tree alive at the tick.
    pub threads: u32,
    /// Runnable tasks on the whole machine (`procs_running`), when readable.
    pub machine_runnable: Option<u32>,
}

/// The kind of whole-run answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// CPU-hungry threads serialised by a lock (for CPython: the GIL).
    Serialised,
    /// I/O-bound threads or processes: threads or async are right, and could go to N.
    IoBound,
    /// More runnable threads than cores.
    Oversubscribed,
    /// CPU-bound and parallel, sized to the cores.
    Fine,
    /// One CPU-bound thread where cores are free.
    SingleCore,
    /// Mostly sleeping or waiting.
    Idle,
    /// The machine is busy with other work (run-queue wait without the tree's own oversubscription).
    MachineBusy,
    /// Mixed or unclear.
    Mixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The verdict in one sentence, with the evidence numbers.
    pub message: String,
    /// What to do.
    pub recommendation: String,
    /// The pids (and tids) the finding is about.
    pub pids: Vec<i32>,
    pub tids: Vec<i32>,
    /// Suggested pool size, where the finding gives one.
    pub suggested_workers: Option<usize>,
}

/// Exact totals from perf counters opened with `inherit` on the command (None where refused).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PerfTotals {
    pub task_clock_s: Option<f64>,
    pub context_switches: Option<u64>,
    pub cpu_migrations: Option<u64>,
    pub page_faults: Option<u64>,
}

/// Which sources were used, and which refused (said once in the report).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub schedstat: bool,
    pub syscall: bool,
    pub wchan: bool,
    pub children_file: bool,
    pub perf: bool,
}

/// The sampler's own cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SamplerCost {
    pub rate_hz: f64,
    pub ticks: u64,
    /// CPU seconds the profiler itself used while sampling.
    pub cpu_s: f64,
    /// That, as a percentage of one core over the run.
    pub cpu_pct_of_core: f64,
    pub mean_tick_us: f64,
}

/// The whole external report: the shared report (`schema`, `version`, `kind: "external"`, `tool`, `host`,
/// `command`, `measurement`, `thresholds`, one entry per process and thread with its classification and
/// recommendation, `notes`) plus what only an outside view has (processes with threads, blocked time by kind of
/// wait, the timeline, perf totals, the whole-run findings). `conc_report::report::Report::from_json` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalReport {
    #[serde(flatten)]
    pub base: Report,
    /// The root pid (the spawned command or the attached process).
    pub root_pid: i32,
    pub attached: bool,
    /// Exit code of the command (signal N → 128 + N), when it was spawned and reaped.
    pub exit_code: Option<i32>,
    pub duration_s: f64,
    pub python: bool,
    pub sources: Sources,
    pub sampler: SamplerCost,
    pub perf: PerfTotals,
    /// Tree CPU seconds per wall second, averaged over the run, and the peak.
    pub mean_cores_used: f64,
    pub peak_cores_used: f64,
    pub mean_runnable: f64,
    pub processes: Vec<ProcessReport>,
    pub timeline: Vec<TimelinePoint>,
    pub findings: Vec<Finding>,
    /// Python commands: the function each thread and pool worker ran (from the `sitecustomize` hook).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub python_targets: Vec<crate::python_hooks::PythonTarget>,
    /// At most this many tasks (processes or threads) of the tree came and went between samples, never seen:
    /// pids the kernel allocated between ticks (`/proc/loadavg`'s last pid), less those seen in the tree and
    /// those still alive outside it. An upper bound (other programs' short-lived tasks of the same intervals
    /// count too); absent in older reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unseen_tasks_at_most: Option<u64>,
    /// The processes and threads the command created, counted exactly from perf fork records (`forks.rs`);
    /// absent when those could not be opened (then `unseen_tasks_at_most` is the only count, a bound).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_created: Option<TasksCreated>,
}

/// The tasks a spawned command created while profiled, from the kernel's fork records: exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TasksCreated {
    /// New processes (fork, or clone without CLONE_THREAD).
    pub processes: u64,
    /// New threads.
    pub threads: u64,
    /// Of those, how many the sampler never saw (they came and went between two ticks).
    pub unseen: u64,
}

impl ExternalReport {
    /// Cores of the machine the run was measured on.
    pub fn cores(&self) -> usize {
        self.base.host.cores.max(1)
    }

    /// The profiled command line (empty when attached to a pid whose command line was unreadable).
    pub fn command(&self) -> &[String] {
        self.base.command.as_deref().unwrap_or(&[])
    }

    /// Every thread with its process.
    pub fn threads(&self) -> impl Iterator<Item = (&ProcessReport, &ThreadReport)> {
        self.processes.iter().flat_map(|p| p.threads.iter().map(move |t| (p, t)))
    }
}

/// A saved report of any kind in the family.
#[derive(Debug)]
pub enum AnyReport {
    External(Box<ExternalReport>),
    /// The in-process profiler's report.
    InProcess(Box<Report>),
}

/// Why a saved report cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReportParseError {
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("not a conc-advisor report (schema is `{0}`, expected `{SCHEMA}`)")]
    NotAReport(String),
    #[error("report version {0} is not supported (this build reads version {VERSION})")]
    Version(u64),
    #[error("malformed {kind} report: {source}")]
    Malformed { kind: &'static str, source: serde_json::Error },
    #[error("unknown report kind `{0}`")]
    UnknownKind(String),
    #[error("not a conc-advisor report: missing field `{0}`")]
    MissingField(&'static str),
    #[error("malformed {kind} report: missing field `{field}` (is `kind` right?)")]
    WrongBody { kind: &'static str, field: &'static str },
    /// A value no measurement can have (see `check_values`).
    #[error("{0}")]
    InvalidValue(String),
}

/// Rejects values no measurement can have: a negative number anywhere, durations in seconds (`*_s`) above a
/// century, percentages above 10^6, and a host with 0 cores. `at` is the path of `value` in the report.
fn check_values(value: &serde_json::Value, at: &str) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
                if let Some(n) = v.as_f64() {
                    let bad = if n < 0.0 {
                        Some("negative")
                    } else if !n.is_finite() || (key.ends_with("_s") && n > 3.2e9) || (key.ends_with("_pct") && n > 1e6)
                    {
                        Some("out of range")
                    } else if key == "cores" && at.ends_with("host") && n < 1.0 {
                        Some("not a core count (at least 1)")
                    } else {
                        None
                    };
                    if let Some(why) = bad {
                        return Err(format!("invalid report: `{path}` is {why} ({v})"));
                    }
                }
                check_values(v, &path)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| check_values(v, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

/// Reads any report of the family, checking schema and version.
pub fn parse_report(text: &str) -> Result<AnyReport, ReportParseError> {
    use ReportParseError as E;
    let value: serde_json::Value = serde_json::from_str(text).map_err(E::NotJson)?;
    for field in ["schema", "version", "kind"] {
        if value.get(field).is_none() {
            return Err(E::MissingField(field));
        }
    }
    let schema = value.get("schema").and_then(|v| v.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(E::NotAReport(schema.to_string()));
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(E::Version(version));
    }
    check_values(&value, "").map_err(E::InvalidValue)?;
    let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or("");
    // The body must be that of its kind (a swapped `kind` would render an empty report).
    for (k, needs) in [("external", "processes"), ("in-process", "entries")] {
        if kind == k && value.get(needs).is_none() {
            return Err(E::WrongBody { kind: k, field: needs });
        }
    }
    match kind {
        "external" => serde_json::from_value(value)
            .map(|r| AnyReport::External(Box::new(r)))
            .map_err(|source| E::Malformed { kind: "external", source }),
        "in-process" => serde_json::from_value(value)
            .map(|r| AnyReport::InProcess(Box::new(r)))
            .map_err(|source| E::Malformed { kind: "in-process", source }),
        other => Err(E::UnknownKind(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use conc_report::classify::{Context, Thresholds, Timing};
    use conc_report::report::Entry;

    use super::*;

    #[test]
    fn in_process_reports_are_read_and_rendered() {
        let mut r = Report::new(ReportKind::InProcess, "conc-profiler", "0.1.0");
        let t = Timing { wall_ns: 100_000_000, cpu_ns: 98_000_000, ..Timing::default() };
        r.entries.push(Entry::new("demo::spin", Context::sync_fn(), t, 100_000_000, &Thresholds::default(), 2));
        let json = r.to_json_pretty();
        let AnyReport::InProcess(back) = parse_report(&json).unwrap() else { panic!("not in-process") };
        assert_eq!(back.entries.len(), 1);
        let summary = crate::human::render_in_process(&back);
        assert!(summary.contains("demo::spin") && summary.contains("cpu-bound"), "{summary}");
        let page = crate::html::render_in_process(&back);
        assert!(page.contains("<svg id=\"bars\"") && page.contains("demo::spin"));
        assert!(parse_report(&json.replace("in-process", "sideways")).is_err());
    }

    /// Issue 11: a report without `schema` said "schema is ``"; negative durations, 0 cores, a 309-digit
    /// duration and a swapped `kind` rendered with exit 0.
    #[test]
    fn reports_with_missing_fields_or_impossible_values_are_refused() {
        let mut r = Report::new(ReportKind::InProcess, "conc-profiler", "0.1.0");
        let t = Timing { wall_ns: 100_000_000, cpu_ns: 98_000_000, ..Timing::default() };
        r.entries.push(Entry::new("demo::spin", Context::sync_fn(), t, 100_000_000, &Thresholds::default(), 2));
        let good: serde_json::Value = serde_json::from_str(&r.to_json_pretty()).unwrap();
        assert!(parse_report(&good.to_string()).is_ok());
        let mut no_schema = good.clone();
        no_schema.as_object_mut().unwrap().remove("schema");
        assert_eq!(
            parse_report(&no_schema.to_string()).unwrap_err().to_string(),
            "not a conc-advisor report: missing field `schema`"
        );
        let mut zero_cores = good.clone();
        zero_cores["host"]["cores"] = 0.into();
        assert!(parse_report(&zero_cores.to_string()).unwrap_err().to_string().contains("host.cores"));
        let mut swapped = good.clone();
        swapped["kind"] = "external".into();
        assert!(parse_report(&swapped.to_string()).unwrap_err().to_string().contains("missing field `processes`"));
        let text = good.to_string();
        let negative = text.replacen("\"wall_ns\":100000000", "\"wall_ns\":-100000000", 1);
        assert_ne!(negative, text, "the report has a wall_ns to negate");
        assert!(parse_report(&negative).unwrap_err().to_string().contains("negative"));
        let mut absurd = good.clone();
        absurd["duration_s"] = serde_json::Value::from(1e300);
        assert!(parse_report(&absurd.to_string()).unwrap_err().to_string().contains("out of range"));
    }
}
