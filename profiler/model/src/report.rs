//! The report: a serialisable, versioned record of what was measured, the verdict per subject and the advice, with
//! its JSON form, a human table and a one-line-per-finding summary. Pure data and formatting; shared by the
//! in-process profiler (`"kind": "in-process"`) and the external `conc-advisor profile` (`"kind": "external"`).
//!
//! # JSON schema, version 1
//!
//! ```text
//! {
//!   "schema": "conc-advisor-report",      // always this string
//!   "version": 1,                          // bumped on any incompatible change; readers reject unknown versions
//!   "kind": "in-process" | "external",
//!   "tool": { "name": "conc-profiler", "version": "0.1.0" },
//!   "host": { "cores": 2, "os": "linux", "arch": "x86_64" },
//!   "command": ["python3", "job.py"] | null,          // external: the profiled command line
//!   "measurement": {
//!     "cpu_clock": true,          // per-thread CPU clock available (else wall time only)
//!     "schedstat": true,          // run-queue wait from /proc/thread-self/schedstat
//!     "rusage": true,             // context switches from getrusage(RUSAGE_THREAD) or /proc
//!     "perf_counters": "…",       // "enabled", "disabled", or "unavailable: <reason>"
//!     "probe_cost_ns": 120 | null,  // calibrated cost of one sampled probe
//!     "sampling": "…"             // how calls were sampled, in words
//!   },
//!   "thresholds": { …classify::Thresholds fields… },
//!   "entries": [
//!     {
//!       "name": "my_crate::parse",           // function path, or thread/process name
//!       "subject": "sync-fn" | "async-fn" | "thread" | "process",
//!       "runtime": "native" | "python" | "python-free-threaded",
//!       "pid": 1234 | null, "tid": 1235 | null,
//!       "location": "src/lib.rs:12" | null,  // functions: where it is defined
//!       "calls": 10 | null,                  // functions: calls completed (including unwound ones)
//!       "sampled_calls": 10 | null,          // functions: calls whose CPU/run-queue were probed
//!       "unwound": 0 | null,                 // functions: calls that ended by a panic
//!       "cancelled": 0 | null,               // async functions: futures dropped before completion
//!       "total_wall_ns": 123,                // inclusive wall time of all calls (or the thread's lifetime)
//!       "timing": { "wall_ns", "cpu_ns", "runqueue_ns", "blocked_ns", "voluntary_switches",
//!                   "involuntary_switches", "threads", "span_ns", "polls": {…} | null },
//!                                            // what was classified: self figures of the sampled calls
//!       "inclusive": { …timing… } | null,    // the same including instrumented callees, when it differs
//!       "expect": "cpu" | "io" | null,
//!       "classification": { "verdict": "cpu-bound" | "io-bound" | "mixed" | "oversubscribed" |
//!                           "lock-serialized" | "idle" | "blocks-executor" | "cpu-heavy-polls" |
//!                           "executor-starved" | "insufficient",
//!                           "cpu_share": 0.97, "runqueue_share": 0.01, "blocked_share": 0.02, "evidence": "…" },
//!       "recommendation": { "kind": "pool-sized-to-cores" | …, "pool_size": 2 | null, "text": "…" },
//!       "perf": { "task_clock_ns", "context_switches", "cpu_migrations", "page_faults" }  // perf mode only
//!     }
//!   ],
//!   "expectations": [ { "name", "expected": "cpu" | "io", "verdict", "evidence" } ],  // mismatches only
//!   "notes": [ "perf_event_open refused (…); using the thread CPU clock", … ]
//! }
//! ```
//!
//! Durations are integer nanoseconds; shares are fractions in `0.0..=1.0`.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

use crate::classify::{
    Classification, Context, Recommendation, Runtime, Subject, Thresholds, Timing, Verdict, classify, fmt_ns,
    recommend_measured,
};

/// The value of the `schema` field.
pub const SCHEMA: &str = "conc-advisor-report";
/// The schema version this crate writes and reads.
pub const VERSION: u32 = 1;

/// Where the measurements came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// `#[profile_concurrency]` inside the program.
    InProcess,
    /// `conc-advisor profile -- CMD`, from outside.
    External,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Crate or binary name.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The machine the measurements were taken on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// Usable cores (`available_parallelism`).
    pub cores: usize,
    /// `std::env::consts::OS`.
    pub os: String,
    /// `std::env::consts::ARCH`.
    pub arch: String,
}

impl Host {
    /// This machine.
    pub fn current() -> Host {
        Host {
            cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
        }
    }
}

/// Which measurement sources were available.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Measurement {
    /// Per-thread CPU clock available.
    pub cpu_clock: bool,
    /// Run-queue wait from schedstat available.
    pub schedstat: bool,
    /// Context-switch counts available.
    pub rusage: bool,
    /// `"enabled"`, `"disabled"`, or `"unavailable: <reason>"`.
    pub perf_counters: String,
    /// Calibrated cost of one sampled probe, in nanoseconds.
    pub probe_cost_ns: Option<u64>,
    /// How calls were sampled, in words.
    pub sampling: String,
}

/// A declared intention: `#[profile_concurrency(expect = "cpu")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Expected to be CPU-bound.
    Cpu,
    /// Expected to be I/O-bound (waiting).
    Io,
}

impl Expectation {
    /// Parses `"cpu"` or `"io"`.
    pub fn parse(s: &str) -> Option<Expectation> {
        match s {
            "cpu" => Some(Expectation::Cpu),
            "io" => Some(Expectation::Io),
            _ => None,
        }
    }

    /// `"cpu"` or `"io"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expectation::Cpu => "cpu",
            Expectation::Io => "io",
        }
    }

    /// Whether a verdict satisfies the expectation; `None` when the verdict cannot tell (insufficient data, idle).
    ///
    /// `cpu` holds for CPU-bound, oversubscribed and CPU-heavy polls; `io` holds for I/O-bound and for async
    /// functions that block the executor or are starved by it (the work itself waits). Mixed satisfies neither.
    pub fn holds_for(self, v: Verdict) -> Option<bool> {
        match v {
            Verdict::Insufficient | Verdict::Idle => None,
            _ => Some(match self {
                Expectation::Cpu => v.is_cpu_like(),
                Expectation::Io => v.is_io_like() || v == Verdict::ExecutorStarved,
            }),
        }
    }
}

/// An `expect = …` that the measurements contradict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationMismatch {
    /// The subject's name.
    pub name: String,
    /// What was declared.
    pub expected: Expectation,
    /// What was measured.
    pub verdict: Verdict,
    /// The evidence of the verdict.
    pub evidence: String,
}

impl fmt::Display for ExpectationMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {} but measured {} ({})",
            self.name,
            self.expected.as_str(),
            self.verdict.as_str(),
            self.evidence
        )
    }
}

/// One subject: a function, a thread or a process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Function path, or thread/process name.
    pub name: String,
    /// What it is.
    pub subject: Subject,
    /// Its language runtime.
    #[serde(default)]
    pub runtime: Runtime,
    /// Process id (external).
    #[serde(default)]
    pub pid: Option<u32>,
    /// Thread id (external).
    #[serde(default)]
    pub tid: Option<u32>,
    /// Functions: source location, `file:line`.
    #[serde(default)]
    pub location: Option<String>,
    /// Functions: completed calls, including unwound ones.
    #[serde(default)]
    pub calls: Option<u64>,
    /// Functions: calls whose CPU and run-queue were probed.
    #[serde(default)]
    pub sampled_calls: Option<u64>,
    /// Functions: calls that ended by a panic.
    #[serde(default)]
    pub unwound: Option<u64>,
    /// Async functions: futures dropped before completion.
    #[serde(default)]
    pub cancelled: Option<u64>,
    /// Inclusive wall time of all calls (or the thread's lifetime).
    pub total_wall_ns: u64,
    /// What was classified (self figures of sampled calls).
    pub timing: Timing,
    /// Inclusive figures, when instrumented callees make them differ.
    #[serde(default)]
    pub inclusive: Option<Timing>,
    /// Declared expectation.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// The verdict and its evidence.
    pub classification: Classification,
    /// The advice.
    pub recommendation: Recommendation,
    /// perf software counters of the sampled calls (perf mode only), a cross-check of `timing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf: Option<PerfCounts>,
}

/// perf software counters summed over sampled calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PerfCounts {
    /// task-clock (ns): on-CPU time as perf sees it.
    pub task_clock_ns: u64,
    /// context switches.
    pub context_switches: u64,
    /// CPU migrations.
    pub cpu_migrations: u64,
    /// page faults.
    pub page_faults: u64,
}

impl Entry {
    /// Classifies `timing` and recommends, filling in everything else with "unknown" (`None`); set the optional
    /// fields afterwards.
    pub fn new(
        name: impl Into<String>,
        ctx: Context,
        timing: Timing,
        total_wall_ns: u64,
        th: &Thresholds,
        cores: usize,
    ) -> Entry {
        let classification = classify(&timing, th);
        let recommendation = recommend_measured(&classification, &timing, cores, ctx);
        Entry {
            name: name.into(),
            subject: ctx.subject,
            runtime: ctx.runtime,
            pid: None,
            tid: None,
            location: None,
            calls: None,
            sampled_calls: None,
            unwound: None,
            cancelled: None,
            total_wall_ns,
            timing,
            inclusive: None,
            expect: None,
            classification,
            recommendation,
            perf: None,
        }
    }

    /// The mismatch, if this entry declared an expectation the measurement contradicts.
    pub fn mismatch(&self) -> Option<ExpectationMismatch> {
        let expected = self.expect?;
        match expected.holds_for(self.classification.verdict) {
            Some(false) => Some(ExpectationMismatch {
                name: self.name.clone(),
                expected,
                verdict: self.classification.verdict,
                evidence: self.classification.evidence.clone(),
            }),
            _ => None,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always [`VERSION`] when written by this crate.
    pub version: u32,
    /// In-process or external.
    pub kind: ReportKind,
    /// Who wrote it.
    pub tool: Tool,
    /// Where it was measured.
    pub host: Host,
    /// External: the profiled command line.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Which sources were available.
    #[serde(default)]
    pub measurement: Measurement,
    /// The thresholds used.
    #[serde(default)]
    pub thresholds: Thresholds,
    /// One per subject.
    pub entries: Vec<Entry>,
    /// Declared expectations the measurements contradict.
    #[serde(default)]
    pub expectations: Vec<ExpectationMismatch>,
    /// Anything the reader should know (e.g. a refused perf_event_open).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Why a JSON document is not a report this crate can read.
#[derive(Debug)]
pub enum ReportError {
    /// Not JSON, or not the expected shape.
    Json(serde_json::Error),
    /// `schema` is not [`SCHEMA`].
    WrongSchema(String),
    /// `version` is not [`VERSION`].
    UnsupportedVersion(u64),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Json(e) => write!(f, "not a conc-advisor report: {e}"),
            ReportError::WrongSchema(s) => write!(f, "not a conc-advisor report: schema is {s:?}, expected {SCHEMA:?}"),
            ReportError::UnsupportedVersion(v) => {
                write!(f, "conc-advisor report version {v} is not supported (this build reads version {VERSION})")
            }
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl Report {
    /// An empty report of this kind, for this host, written by `tool_name`/`tool_version`.
    pub fn new(kind: ReportKind, tool_name: &str, tool_version: &str) -> Report {
        Report {
            schema: SCHEMA.to_string(),
            version: VERSION,
            kind,
            tool: Tool { name: tool_name.to_string(), version: tool_version.to_string() },
            host: Host::current(),
            command: None,
            measurement: Measurement::default(),
            thresholds: Thresholds::default(),
            entries: Vec::new(),
            expectations: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Recomputes [`Report::expectations`] from the entries.
    pub fn refresh_expectations(&mut self) {
        self.expectations = self.entries.iter().filter_map(Entry::mismatch).collect();
    }

    /// Pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }

    /// Parses and validates a report (schema and version).
    pub fn from_json(s: &str) -> Result<Report, ReportError> {
        let value: serde_json::Value = serde_json::from_str(s).map_err(ReportError::Json)?;
        let schema = value.get("schema").and_then(|v| v.as_str()).unwrap_or("");
        if schema != SCHEMA {
            return Err(ReportError::WrongSchema(schema.to_string()));
        }
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
        if version != u64::from(VERSION) {
            return Err(ReportError::UnsupportedVersion(version));
        }
        serde_json::from_value(value).map_err(ReportError::Json)
    }

    /// The human table: subject, calls, wall, CPU %, run-queue %, blocked %, verdict, recommendation.
    pub fn human_table(&self) -> String {
        let first = match self.kind {
            ReportKind::InProcess => "function",
            ReportKind::External => "subject",
        };
        let header = [first, "calls", "wall", "CPU %", "run-queue %", "blocked %", "verdict", "recommendation"];
        let mut rows: Vec<[String; 8]> = vec![header.map(str::to_string)];
        for e in &self.entries {
            let c = &e.classification;
            let mut rec = short_recommendation(&e.recommendation);
            if e.mismatch().is_some() {
                rec.push_str(" [EXPECTATION FAILED]");
            }
            rows.push([
                e.name.clone(),
                e.calls.map_or_else(|| "-".to_string(), |n| n.to_string()),
                fmt_ns(e.total_wall_ns),
                format!("{:.1}", c.cpu_share * 100.0),
                format!("{:.1}", c.runqueue_share * 100.0),
                format!("{:.1}", c.blocked_share * 100.0),
                c.verdict.as_str().to_string(),
                rec,
            ]);
        }
        let mut widths = [0usize; 8];
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (j, cell) in row.iter().enumerate() {
                let pad = widths[j] - cell.chars().count();
                // Left-align text columns, right-align numbers.
                let numeric = (1..=5).contains(&j);
                if j > 0 {
                    line.push_str("  ");
                }
                if numeric {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if j + 1 < row.len() {
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if i == 0 {
                let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
                let _ = writeln!(out, "{}", "-".repeat(total));
            }
        }
        for e in &self.entries {
            if let Some(w) = e.timing.waits.filter(|w| w.samples() > 0) {
                let _ = writeln!(out, "waits of {}: {}", e.name, w.describe());
            }
        }
        if let Some(cost) = self.measurement.probe_cost_ns {
            let _ = writeln!(out, "probe cost: {cost} ns per sampled call; {}", self.measurement.sampling);
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    /// One line per finding: every entry whose verdict calls for a change, plus every failed expectation.
    pub fn summary_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for e in &self.entries {
            use crate::classify::RecommendationKind as K;
            if matches!(e.recommendation.kind, K::NoChange | K::MeasureMore) {
                continue;
            }
            lines.push(format!(
                "{}: {} — {}. {}",
                e.name,
                e.classification.verdict.as_str(),
                e.classification.evidence,
                e.recommendation.text
            ));
        }
        for m in self.entries.iter().filter_map(Entry::mismatch) {
            lines.push(format!("{m}"));
        }
        lines
    }
}

/// The first sentence of the recommendation, for the table.
fn short_recommendation(r: &Recommendation) -> String {
    use crate::classify::RecommendationKind as K;
    let n = r.pool_size.map(|n| n.to_string()).unwrap_or_default();
    match r.kind {
        K::PoolSizedToCores => format!("pool of {n} (one per core)"),
        K::Processes => format!("{n} processes"),
        K::ThreadsOrAsync => format!("threads/async, pool ≈ {n}"),
        K::SplitWork => format!("split compute/wait, pool ≈ {n}"),
        K::ReduceThreads => format!("reduce to {n} threads"),
        K::ReduceLockContention => "reduce lock contention".to_string(),
        K::MoveOffExecutor => "move off the executor".to_string(),
        K::RelieveExecutor => "relieve the executor".to_string(),
        K::NoChange => "none".to_string(),
        K::MeasureMore => "measure more".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn sample() -> Report {
        let th = Thresholds::default();
        let mut r = Report::new(ReportKind::InProcess, "conc-profiler", "0.1.0");
        r.host = Host { cores: 2, os: "linux".into(), arch: "x86_64".into() };
        let mut spin = Entry::new(
            "demo::spin",
            Context::sync_fn(),
            Timing { wall_ns: 100 * MS, cpu_ns: 98 * MS, runqueue_ns: MS, ..Timing::default() },
            100 * MS,
            &th,
            2,
        );
        spin.calls = Some(10);
        spin.expect = Some(Expectation::Io);
        let mut sleep = Entry::new(
            "demo::sleep",
            Context::sync_fn(),
            Timing { wall_ns: 100 * MS, cpu_ns: MS, ..Timing::default() },
            100 * MS,
            &th,
            2,
        );
        sleep.calls = Some(5);
        sleep.expect = Some(Expectation::Io);
        r.entries = vec![spin, sleep];
        r.measurement.probe_cost_ns = Some(150);
        r.refresh_expectations();
        r
    }

    #[test]
    fn json_has_schema_version_kind_and_round_trips() {
        let r = sample();
        let json = r.to_json_pretty();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["schema"], "conc-advisor-report");
        assert_eq!(v["version"], 1);
        assert_eq!(v["kind"], "in-process");
        assert_eq!(v["entries"][0]["classification"]["verdict"], "cpu-bound");
        assert_eq!(v["entries"][0]["subject"], "sync-fn");
        assert_eq!(v["entries"][1]["recommendation"]["kind"], "threads-or-async");
        assert_eq!(Report::from_json(&json).unwrap(), r);
    }

    #[test]
    fn from_json_rejects_other_schemas_and_versions() {
        assert!(matches!(Report::from_json("not json"), Err(ReportError::Json(_))));
        assert!(matches!(Report::from_json(r#"{"schema":"x","version":1}"#), Err(ReportError::WrongSchema(_))));
        let e = Report::from_json(r#"{"schema":"conc-advisor-report","version":99}"#).unwrap_err();
        assert!(matches!(e, ReportError::UnsupportedVersion(99)));
        assert!(e.to_string().contains("version 99"));
        // Right header, wrong body: a clear error, not a panic.
        assert!(matches!(
            Report::from_json(r#"{"schema":"conc-advisor-report","version":1}"#),
            Err(ReportError::Json(_))
        ));
    }

    #[test]
    fn expectations_report_only_contradictions() {
        let r = sample();
        assert_eq!(r.expectations.len(), 1);
        assert_eq!(r.expectations[0].name, "demo::spin");
        assert_eq!(r.expectations[0].verdict, Verdict::CpuBound);
        assert!(r.expectations[0].to_string().starts_with("demo::spin: expected io but measured cpu-bound"));
    }

    #[test]
    fn expectation_semantics() {
        assert_eq!(Expectation::Cpu.holds_for(Verdict::Oversubscribed), Some(true));
        assert_eq!(Expectation::Cpu.holds_for(Verdict::IoBound), Some(false));
        assert_eq!(Expectation::Io.holds_for(Verdict::BlocksExecutor), Some(true));
        assert_eq!(Expectation::Io.holds_for(Verdict::Mixed), Some(false));
        assert_eq!(Expectation::Io.holds_for(Verdict::Insufficient), None);
        assert_eq!(Expectation::parse("cpu"), Some(Expectation::Cpu));
        assert_eq!(Expectation::parse("gpu"), None);
    }

    #[test]
    fn human_table_has_columns_and_rows() {
        let table = sample().human_table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("function") && lines[0].contains("run-queue %") && lines[0].contains("recommendation")
        );
        assert!(lines[1].chars().all(|c| c == '-'));
        assert!(
            lines[2].starts_with("demo::spin")
                && lines[2].contains("cpu-bound")
                && lines[2].contains("EXPECTATION FAILED")
        );
        assert!(
            lines[3].starts_with("demo::sleep") && lines[3].contains("io-bound") && !lines[3].contains("EXPECTATION")
        );
        assert!(table.contains("probe cost: 150 ns"));
    }

    #[test]
    fn summary_has_one_line_per_finding() {
        let lines = sample().summary_lines();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[0].starts_with("demo::spin: cpu-bound — "));
        assert!(lines[2].contains("expected io"));
    }
}
