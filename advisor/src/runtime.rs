//! `check --profile`: static findings fused with run-time measurements (issue 16).
//!
//! Reads saved reports of the `conc-advisor-report` family — in-process ones written by `#[profile_concurrency]`
//! (`kind: "in-process"`, one entry per instrumented function with its `file:line`) and external ones written by
//! `conc-advisor profile --json` (`kind: "external"`, with the Python thread and pool-worker targets) — and
//! matches each finding with the measurements of the code it is about:
//!
//! - **Rust**: the instrumented function that contains the finding, or that contains any step of its call chain
//!   (the notes the chain findings carry), by path and `file:line` span. The entry's `location` names the line
//!   of the function's name; when no function of that name is there any more (moved, or renamed), the entry is
//!   matched by path + name and reported as stale, and an entry whose function is gone is reported, never
//!   matched to whatever now sits at its line.
//! - **Python**: the functions that named threads and pool workers ran (`python_targets`, `file:line` of the
//!   `def`): a finding inside such a function, or whose notes point into it (CA501 notes where its target is
//!   defined), is matched with the threads that ran it.
//!
//! A matched finding is **confirmed** when the measured verdict is one its rule declares as confirming
//! ([`RuleMeta::confirmed_by`]), **contradicted** when measured and different, **not exercised** when no
//! measurement covers it. Measurements with a verdict that signals a problem and that no finding explains are
//! listed as `runtime_only`.
//!
//! Bad reports are [`ProfileReportError`]s naming the file; the binary prints them and exits 2 after printing
//! the findings.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use conc_report::classify::{Subject, Verdict};
use conc_report::report::{Report, ReportKind, SCHEMA, VERSION};
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};
use crate::engine::CheckReport;
use crate::registry::Language;

/// Why a `--profile` report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileReportError {
    /// The file could not be read.
    #[error("{}: cannot read the report: {message}", path.display())]
    Read {
        /// The report's path.
        path: PathBuf,
        /// The I/O error, in words.
        message: String,
    },
    /// Not JSON at all.
    #[error("{}: not a JSON report: {source}", path.display())]
    NotJson {
        /// The report's path.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// JSON, but not of the `conc-advisor-report` family.
    #[error("{}: not a conc-advisor report (schema is `{schema}`, expected `{SCHEMA}`)", path.display())]
    NotAReport {
        /// The report's path.
        path: PathBuf,
        /// The schema it names.
        schema: String,
    },
    /// A version this build does not read.
    #[error("{}: report version {version} is not supported (this build reads version {VERSION})", path.display())]
    Version {
        /// The report's path.
        path: PathBuf,
        /// The version it names.
        version: u64,
    },
    /// The right header, a body that does not fit the schema.
    #[error("{}: malformed {kind} report: {source}", path.display())]
    Malformed {
        /// The report's path.
        path: PathBuf,
        /// `in-process` or `external`.
        kind: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

/// One Python thread or pool worker's target, as `profile` records it.
#[derive(Debug, Clone, Deserialize)]
struct PyTarget {
    tid: i32,
    #[serde(default)]
    kind: String,
    target: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct ExtThread {
    tid: i32,
    verdict: Verdict,
    #[serde(default)]
    evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
struct ExtProcess {
    #[serde(default)]
    threads: Vec<ExtThread>,
}

#[derive(Debug, Clone, Deserialize)]
struct ExtFinding {
    kind: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    tids: Vec<i32>,
}

/// The part of an external report fusion reads (the rest is the sampler's business).
#[derive(Debug, Clone, Deserialize)]
struct ExternalBody {
    processes: Vec<ExtProcess>,
    #[serde(default)]
    findings: Vec<ExtFinding>,
    #[serde(default)]
    python_targets: Vec<PyTarget>,
}

/// A measured function: an instrumented Rust function, or a Python function threads ran.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The report it comes from.
    pub report: PathBuf,
    /// The function's name as the report gives it (`crate::module::name`, or the Python qualified name).
    pub name: String,
    /// Where the report says it is defined: file (as recorded) and line.
    pub file: String,
    /// The line of the function's name (Rust) or `def` (Python).
    pub line: usize,
    /// The language of the code measured.
    pub language: Language,
    /// The verdict.
    pub verdict: Verdict,
    /// The sentence behind the verdict, with the numbers.
    pub evidence: String,
    /// Completed calls (Rust), or threads that ran it (Python).
    pub calls: u64,
}

impl Measured {
    /// The function's own name: the last `::` or `.` segment.
    fn short_name(&self) -> &str {
        let s = self.name.rsplit("::").next().unwrap_or(&self.name);
        s.rsplit('.').next().unwrap_or(s)
    }
}

/// A loaded `--profile` report.
#[derive(Debug, Clone)]
pub struct ProfileReport {
    /// Where it was read from.
    pub path: PathBuf,
    /// In-process or external.
    pub kind: ReportKind,
    /// The functions it measured.
    pub measured: Vec<Measured>,
}

/// Reads one report, in-process or external.
pub fn load(path: &Path) -> Result<ProfileReport, ProfileReportError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProfileReportError::Read { path: path.to_path_buf(), message: crate::walk::io_message(&e) })?;
    parse(path, &text)
}

/// Parses one report's text; `path` names it in errors and results.
pub fn parse(path: &Path, text: &str) -> Result<ProfileReport, ProfileReportError> {
    let p = || path.to_path_buf();
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ProfileReportError::NotJson { path: p(), source })?;
    let schema = value.get("schema").and_then(|v| v.as_str()).unwrap_or("");
    if schema != SCHEMA {
        return Err(ProfileReportError::NotAReport { path: p(), schema: schema.to_string() });
    }
    let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(VERSION) {
        return Err(ProfileReportError::Version { path: p(), version });
    }
    let base: Report = serde_json::from_value(value.clone()).map_err(|source| ProfileReportError::Malformed {
        path: p(),
        kind: if value.get("kind").and_then(|k| k.as_str()) == Some("external") { "external" } else { "in-process" },
        source,
    })?;
    let mut measured = Vec::new();
    match base.kind {
        ReportKind::InProcess => {
            for e in &base.entries {
                if !matches!(e.subject, Subject::SyncFn | Subject::AsyncFn) {
                    continue;
                }
                let Some((file, line)) = e.location.as_deref().and_then(split_location) else { continue };
                measured.push(Measured {
                    report: p(),
                    name: e.name.clone(),
                    file,
                    line,
                    language: Language::Rust,
                    verdict: e.classification.verdict,
                    evidence: describe_entry(e),
                    calls: e.calls.unwrap_or(0),
                });
            }
        }
        ReportKind::External => {
            let body: ExternalBody = serde_json::from_value(value).map_err(|source| ProfileReportError::Malformed {
                path: p(),
                kind: "external",
                source,
            })?;
            measured = python_measurements(path, &body);
        }
    }
    Ok(ProfileReport { path: p(), kind: base.kind, measured })
}

/// `src/lib.rs:12` → (`src/lib.rs`, 12).
fn split_location(loc: &str) -> Option<(String, usize)> {
    let (file, line) = loc.rsplit_once(':')?;
    Some((file.to_string(), line.parse().ok()?))
}

/// "`fetch_user` polls blocked 82 % of 1.3 s in 40 calls".
fn describe_entry(e: &conc_report::report::Entry) -> String {
    let short = e.name.rsplit("::").next().unwrap_or(&e.name);
    let c = &e.classification;
    // Long polls are what the executor verdicts judge: their CPU share says computing or blocked.
    let long = e.timing.polls.filter(|p| p.long_poll_wall_ns > 0);
    let long_cpu = long.map(|p| (p.long_poll_cpu_ns as f64 / p.long_poll_wall_ns as f64).min(1.0));
    let (what, share) = match (c.verdict, long_cpu) {
        (Verdict::BlocksExecutor, Some(cpu)) => ("blocked", 1.0 - cpu),
        (Verdict::CpuHeavyPolls, Some(cpu)) => ("on CPU", cpu),
        (Verdict::CpuHeavyPolls | Verdict::CpuBound | Verdict::Oversubscribed, _) => ("on CPU", c.cpu_share),
        (Verdict::ExecutorStarved | Verdict::LockSerialized, _) => ("waiting", c.runqueue_share.max(c.blocked_share)),
        _ => ("blocked", c.blocked_share),
    };
    let polls = match (e.subject, long) {
        (Subject::AsyncFn, Some(_)) if matches!(c.verdict, Verdict::BlocksExecutor | Verdict::CpuHeavyPolls) => {
            "long polls "
        }
        (Subject::AsyncFn, _) => "polls ",
        _ => "",
    };
    let calls = e.calls.unwrap_or(0);
    format!(
        "`{short}` {polls}{what} {:.0} % of {} in {calls} call{}",
        share * 100.0,
        conc_report::classify::fmt_ns(e.total_wall_ns),
        if calls == 1 { "" } else { "s" }
    )
}

/// A Python target: file, line of its `def`, qualified name.
type TargetKey = (String, usize, String);

/// One measurement per Python target function: the verdict of the threads that ran it (a whole-run `serialised`
/// finding about them wins: that is the GIL seen from outside).
fn python_measurements(path: &Path, body: &ExternalBody) -> Vec<Measured> {
    let threads: HashMap<i32, &ExtThread> =
        body.processes.iter().flat_map(|p| &p.threads).map(|t| (t.tid, t)).collect();
    let mut groups: Vec<(TargetKey, Vec<&PyTarget>)> = Vec::new();
    for t in &body.python_targets {
        let (Some(file), Some(line)) = (&t.file, t.line) else { continue };
        let key = (file.clone(), line, t.target.clone());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(t),
            None => groups.push((key, vec![t])),
        }
    }
    let mut out = Vec::new();
    for ((file, line, target), ts) in groups {
        let tids: BTreeSet<i32> = ts.iter().map(|t| t.tid).collect();
        let kind = ts[0].kind.replace('-', " ");
        let who = format!("{} {kind}{} running `{target}`", tids.len(), if tids.len() == 1 { "" } else { "s" });
        let serialised =
            body.findings.iter().find(|f| f.kind == "serialised" && f.tids.iter().any(|t| tids.contains(t)));
        let (verdict, evidence) = match serialised {
            // The sampler's message names the target when its hook saw it.
            Some(f) if f.message.contains(&format!("running `{target}`")) => {
                (Verdict::LockSerialized, f.message.clone())
            }
            Some(f) => (Verdict::LockSerialized, format!("{who}: {}", f.message)),
            None => {
                // The most common verdict among the threads measured.
                let mut counts: Vec<(Verdict, usize, &str)> = Vec::new();
                for t in tids.iter().filter_map(|tid| threads.get(tid)) {
                    match counts.iter_mut().find(|(v, _, _)| *v == t.verdict) {
                        Some(c) => c.1 += 1,
                        None => counts.push((t.verdict, 1, &t.evidence)),
                    }
                }
                match counts.into_iter().max_by_key(|c| c.1) {
                    Some((v, _, ev)) => (v, format!("{who}: {ev}")),
                    None => continue,
                }
            }
        };
        out.push(Measured {
            report: path.to_path_buf(),
            name: target,
            file,
            line,
            language: Language::Python,
            verdict,
            evidence,
            calls: tids.len() as u64,
        });
    }
    out
}

/// Whether a finding's rule is confirmed, contradicted, or not measured at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeStatus {
    /// The measured verdict is one the rule predicts.
    Confirmed,
    /// Measured, with another verdict.
    Contradicted,
    /// No measurement covers the finding.
    NotExercised,
}

impl RuntimeStatus {
    /// `confirmed`, `contradicted`, `not-exercised`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeStatus::Confirmed => "confirmed",
            RuntimeStatus::Contradicted => "contradicted",
            RuntimeStatus::NotExercised => "not-exercised",
        }
    }
}

/// The run-time side of one finding (JSON `"runtime"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuntimeMatch {
    /// Confirmed, contradicted or not exercised.
    pub status: RuntimeStatus,
    /// The measured verdict (`None` when not exercised).
    pub verdict: Option<&'static str>,
    /// The measurement in words.
    pub evidence: String,
    /// The report it comes from (`None` when not exercised).
    pub report: Option<String>,
    /// The measured function and where it is defined (`file:line`), for related locations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The measured function's `file:line` in the checked source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The severity before a confirmed finding was raised one step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raised_from: Option<Severity>,
}

impl RuntimeMatch {
    /// The `= note:` line of the human formats.
    pub fn note(&self) -> String {
        match self.status {
            RuntimeStatus::NotExercised => format!("not exercised at run time: {}", self.evidence),
            s => format!("{} at run time: {} — {}", s.as_str(), self.evidence, self.verdict.unwrap_or("?")),
        }
    }
}

/// A measurement no finding explains (JSON `"runtime_only"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuntimeOnly {
    /// The function's name as measured.
    pub function: String,
    /// Where it is defined, `file:line` (the checked file when found).
    pub location: String,
    /// The verdict.
    pub verdict: &'static str,
    /// The measurement in words.
    pub evidence: String,
    /// The report it comes from.
    pub report: String,
}

impl RuntimeOnly {
    /// The human line.
    pub fn message(&self) -> String {
        let short = self.function.rsplit("::").next().unwrap_or(&self.function);
        let doing = match self.verdict {
            "cpu-heavy-polls" => "computes on the executor",
            "blocks-executor" => "blocks the executor",
            "executor-starved" => "waits for a busy executor",
            "lock-serialized" => "is serialised on a lock",
            "oversubscribed" => "runs on more threads than cores",
            _ => "is flagged",
        };
        format!(
            "`{short}` ({}) {doing} at run time ({}); no static finding explains it — the work may be in a \
             dependency or behind a call the analysis cannot follow ({})",
            self.location, self.verdict, self.evidence
        )
    }
}

/// A report entry whose function is not where the report says (JSON `"runtime_stale"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleEntry {
    /// The function's name as measured.
    pub function: String,
    /// Where the report says it is.
    pub recorded: String,
    /// Where a function of that name is now, if anywhere (then it was matched by name).
    pub now: Option<String>,
    /// The report it comes from.
    pub report: String,
}

impl StaleEntry {
    /// The human line.
    pub fn message(&self) -> String {
        match &self.now {
            Some(now) => format!(
                "`{}` was measured at {} but is now at {now}: matched by name (the report is older than the source)",
                self.function, self.recorded
            ),
            None => format!(
                "`{}` was measured at {} but no function of that name is there any more: its measurements are not used",
                self.function, self.recorded
            ),
        }
    }
}

/// The run-time summary of a fused check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuntimeSummary {
    /// The reports read.
    pub reports: Vec<String>,
    /// Measurements no finding explains.
    pub runtime_only: Vec<RuntimeOnly>,
    /// Report entries that no longer match the source.
    pub stale: Vec<StaleEntry>,
}

/// How to fuse.
#[derive(Debug, Clone, Copy)]
pub struct FuseOptions {
    /// Raise the severity of confirmed findings one step (`--no-runtime-severity` turns it off).
    pub raise_confirmed: bool,
}

impl Default for FuseOptions {
    fn default() -> Self {
        FuseOptions { raise_confirmed: true }
    }
}

/// Verdicts that signal a problem worth listing when no finding explains them.
fn is_problem(v: Verdict) -> bool {
    matches!(
        v,
        Verdict::BlocksExecutor
            | Verdict::CpuHeavyPolls
            | Verdict::ExecutorStarved
            | Verdict::LockSerialized
            | Verdict::Oversubscribed
    )
}

/// A function in a checked file: its name, the line of its name, and its lines.
#[derive(Debug, Clone)]
struct FnSpan {
    name: String,
    name_line: usize,
    start: usize,
    end: usize,
}

/// Rust functions of a file (free functions, methods, trait methods with bodies, nested ones).
fn rust_functions(text: &str) -> Vec<FnSpan> {
    use syn::spanned::Spanned;
    use syn::visit::Visit;
    struct V(Vec<FnSpan>);
    impl V {
        fn add(&mut self, ident: &syn::Ident, whole: proc_macro2::Span) {
            self.0.push(FnSpan {
                name: ident.to_string(),
                name_line: ident.span().start().line,
                start: whole.start().line,
                end: whole.end().line,
            });
        }
    }
    impl<'a> Visit<'a> for V {
        fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
            self.add(&f.sig.ident, f.span());
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
            self.add(&f.sig.ident, f.span());
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
            if f.default.is_some() {
                self.add(&f.sig.ident, f.span());
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    match syn::parse_file(text) {
        Ok(file) => {
            let mut v = V(Vec::new());
            v.visit_file(&file);
            v.0
        }
        Err(_) => Vec::new(),
    }
}

/// Python functions of a file: each `def` (or `async def`) to the last line indented deeper than it. A text
/// scan: enough to tell which lines a function holds.
fn python_functions(text: &str) -> Vec<FnSpan> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let rest = t.strip_prefix("async def ").or_else(|| t.strip_prefix("def "));
        let Some(rest) = rest else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let own = indent(l);
        let mut end = i;
        for (j, m) in lines.iter().enumerate().skip(i + 1) {
            if m.trim().is_empty() || m.trim_start().starts_with('#') {
                continue;
            }
            if indent(m) <= own {
                break;
            }
            end = j;
        }
        // A decorated function's code object starts at its first decorator.
        let mut start = i;
        while start > 0 && lines[start - 1].trim_start().starts_with('@') {
            start -= 1;
        }
        out.push(FnSpan { name, name_line: i + 1, start: start + 1, end: end + 1 });
    }
    out
}

/// The functions of the same file that `root` calls, directly or through each other (by name: `name(`).
fn python_callees(text: &str, fns: &[FnSpan], root: &FnSpan) -> Vec<FnSpan> {
    let lines: Vec<&str> = text.lines().collect();
    let body = |f: &FnSpan| lines.get(f.name_line..f.end.min(lines.len())).map(|l| l.join("\n")).unwrap_or_default();
    let calls = |code: &str, name: &str| {
        code.match_indices(&format!("{name}(")).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
    };
    let mut seen: Vec<FnSpan> = vec![root.clone()];
    let mut i = 0;
    while i < seen.len() {
        let code = body(&seen[i]);
        for g in fns {
            if !seen.iter().any(|s| s.name_line == g.name_line) && calls(&code, &g.name) {
                seen.push(g.clone());
            }
        }
        i += 1;
    }
    seen.remove(0);
    seen
}

/// Whether `checked` (a path as the user named it) is the file a report recorded as `recorded`: the same file
/// once both are resolved, or `recorded` (relative, as `file!()` gives it) is a tail of `checked`.
fn same_file(checked: &Path, recorded: &str) -> bool {
    let rec = &normalize(Path::new(recorded));
    if rec.is_absolute() {
        return match (checked.canonicalize(), rec.canonicalize()) {
            (Ok(a), Ok(b)) => a == b,
            _ => checked.ends_with(rec),
        };
    }
    if checked.ends_with(rec) {
        return true;
    }
    checked.canonicalize().is_ok_and(|c| c.ends_with(rec))
}

/// `tests/../fixtures/a.rs` → `fixtures/a.rs` (a `file!()` of a target outside its package's directory).
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// A measured function resolved in the checked source.
#[derive(Debug, Clone)]
struct Resolved {
    measured: usize,
    path: PathBuf,
    span: FnSpan,
}

/// Fuses `reports` into `report`: sets each finding's `runtime`, raises confirmed findings' severity (unless
/// told not to), and fills `report.runtime` with the measurements no finding explains and the stale entries.
/// `roots` are the paths checked (to find the files of measurements without findings).
pub fn fuse(report: &mut CheckReport, reports: &[ProfileReport], roots: &[PathBuf], opts: FuseOptions) {
    let measured: Vec<&Measured> = reports.iter().flat_map(|r| &r.measured).collect();
    let mut summary = RuntimeSummary {
        reports: reports.iter().map(|r| r.path.display().to_string()).collect(),
        ..Default::default()
    };
    let rust = reports.iter().any(|r| r.kind == ReportKind::InProcess);
    let python = reports.iter().any(|r| r.kind == ReportKind::External);

    // Where each measured function is in the checked source.
    let mut texts: HashMap<PathBuf, Option<String>> = HashMap::new();
    let candidates = candidate_files(report, roots);
    let mut resolved: Vec<Resolved> = Vec::new();
    let mut spans_of: HashMap<PathBuf, Vec<FnSpan>> = HashMap::new();
    for (i, m) in measured.iter().enumerate() {
        let Some(path) = candidates.iter().find(|c| same_file(c, &m.file)).cloned().or_else(|| locate(&m.file, roots))
        else {
            continue;
        };
        let fns = spans_of.entry(path.clone()).or_insert_with(|| {
            let text = texts
                .entry(path.clone())
                .or_insert_with(|| match report.sources.get(&path) {
                    Some(t) => Some(t.to_string()),
                    None => std::fs::read_to_string(&path).ok(),
                })
                .clone()
                .unwrap_or_default();
            match m.language {
                Language::Python => python_functions(&text),
                _ => rust_functions(&text),
            }
        });
        let recorded = format!("{}:{}", m.file, m.line);
        let at_line = |f: &&FnSpan| match m.language {
            Language::Python => f.start == m.line || f.name_line == m.line,
            _ => f.name_line == m.line,
        };
        let renamed = m.name.contains("::") && m.language == Language::Rust;
        match fns.iter().find(|f| at_line(f) && (f.name == m.short_name() || !renamed)) {
            Some(f) => {
                resolved.push(Resolved { measured: i, path: path.clone(), span: f.clone() });
                // Python: what the thread ran includes the module's functions its target calls.
                if m.language == Language::Python
                    && let Some(Some(text)) = texts.get(&path)
                {
                    for g in python_callees(text, fns, f) {
                        resolved.push(Resolved { measured: i, path: path.clone(), span: g });
                    }
                }
            }
            None => {
                let by_name: Vec<&FnSpan> = fns.iter().filter(|f| f.name == m.short_name()).collect();
                let now = (by_name.len() == 1).then(|| format!("{}:{}", path.display(), by_name[0].name_line));
                if let Some(f) = by_name.first().filter(|_| by_name.len() == 1) {
                    resolved.push(Resolved { measured: i, path: path.clone(), span: (*f).clone() });
                }
                summary.stale.push(StaleEntry {
                    function: m.name.clone(),
                    recorded,
                    now,
                    report: m.report.display().to_string(),
                });
            }
        }
    }

    // Each finding: the measured functions holding it or a step of its chain, innermost first.
    let mut explained: BTreeSet<usize> = BTreeSet::new();
    for d in &mut report.diagnostics {
        let covered = match d.rule.language {
            Language::Rust => rust,
            Language::Python => python,
            Language::Any => false,
        };
        if !covered {
            continue;
        }
        // The finding, then each step of its chain: notes with a span (same file) or ending `(path:line)`.
        let places: Vec<(PathBuf, usize)> = std::iter::once((d.path.clone(), d.span.start.line))
            .chain(d.notes.iter().filter_map(|n| match n.span {
                Some(s) => Some((d.path.clone(), s.start.line)),
                None => note_place(&n.message),
            }))
            .collect();
        let mut hits: Vec<&Resolved> = Vec::new();
        for (path, line) in places {
            let mut here: Vec<&Resolved> = resolved
                .iter()
                .filter(|r| r.span.start <= line && line <= r.span.end && same_path(&r.path, &path))
                .filter(|r| !hits.iter().any(|h| h.measured == r.measured))
                .collect();
            here.sort_by_key(|r| r.span.end - r.span.start);
            hits.extend(here);
        }
        explained.extend(hits.iter().map(|h| h.measured));
        d.runtime = Some(judge(d, &hits, &measured));
        if opts.raise_confirmed
            && let Some(rt) = &mut d.runtime
            && rt.status == RuntimeStatus::Confirmed
        {
            let raised = match d.severity {
                Severity::Info => Severity::Warning,
                _ => Severity::Error,
            };
            if raised != d.severity {
                rt.raised_from = Some(d.severity);
                d.severity = raised;
            }
        }
    }

    // Measurements nothing explains.
    for (i, m) in measured.iter().enumerate() {
        if explained.contains(&i) || !is_problem(m.verdict) {
            continue;
        }
        let location = resolved
            .iter()
            .find(|r| r.measured == i)
            .map_or_else(|| format!("{}:{}", m.file, m.line), |r| format!("{}:{}", r.path.display(), r.span.name_line));
        summary.runtime_only.push(RuntimeOnly {
            function: m.name.clone(),
            location,
            verdict: m.verdict.as_str(),
            evidence: m.evidence.clone(),
            report: m.report.display().to_string(),
        });
    }
    report.runtime = Some(summary);
}

/// The place a chain note into another file names at its end: "`a` calls `b` here (src/db.rs:12)".
fn note_place(message: &str) -> Option<(PathBuf, usize)> {
    let inner = message.strip_suffix(')')?;
    let (_, place) = inner.rsplit_once('(')?;
    let (file, line) = place.rsplit_once(':')?;
    Some((PathBuf::from(file), line.parse().ok()?))
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The verdict for one finding from the measurements that cover it (innermost first).
fn judge(d: &Diagnostic, hits: &[&Resolved], measured: &[&Measured]) -> RuntimeMatch {
    let with = |status: RuntimeStatus, r: &Resolved| {
        let m = measured[r.measured];
        RuntimeMatch {
            status,
            verdict: Some(m.verdict.as_str()),
            evidence: m.evidence.clone(),
            report: Some(m.report.display().to_string()),
            function: Some(m.name.clone()),
            location: Some(format!("{}:{}", r.path.display(), r.span.name_line)),
            raised_from: None,
        }
    };
    let ran = |r: &&&Resolved| measured[r.measured].calls > 0;
    if let Some(r) = hits.iter().filter(ran).find(|r| d.rule.confirmed_by.contains(&measured[r.measured].verdict)) {
        return with(RuntimeStatus::Confirmed, r);
    }
    if let Some(r) = hits.iter().find(ran) {
        return with(RuntimeStatus::Contradicted, r);
    }
    RuntimeMatch {
        status: RuntimeStatus::NotExercised,
        verdict: None,
        evidence: "no measurement covers this code (instrument the function or one on its call chain)".to_string(),
        report: None,
        function: None,
        location: None,
        raised_from: None,
    }
}

/// The files findings are in (so a report's relative `file!()` path resolves to the path the user named).
fn candidate_files(report: &CheckReport, roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = report.diagnostics.iter().map(|d| d.path.clone()).collect();
    v.extend(roots.iter().filter(|r| r.is_file()).cloned());
    v.dedup();
    v
}

/// A recorded file found under a root or one of its ancestors (a `file!()` path is relative to the workspace).
fn locate(recorded: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let rec = Path::new(recorded);
    if rec.is_absolute() {
        return rec.is_file().then(|| rec.to_path_buf());
    }
    for root in roots {
        let dir = if root.is_file() { root.parent().map(Path::to_path_buf).unwrap_or_default() } else { root.clone() };
        let abs = dir.canonicalize().ok()?;
        for a in abs.ancestors() {
            let c = a.join(rec);
            if c.is_file() {
                return Some(crate::output::relative_to_cwd(&c.canonicalize().unwrap_or(c)));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_function_spans_follow_indentation() {
        let src =
            "import x\n\n@deco\ndef spin(end):\n    x = 0\n\n    while x:\n        x += 1\n    return x\n\nend = 1\n";
        let f = python_functions(src);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].name.as_str(), f[0].start, f[0].name_line, f[0].end), ("spin", 3, 4, 9));
    }

    #[test]
    fn python_callees_are_followed_through_the_module() {
        let src = "def worker(n):\n    return helper(n)\n\ndef helper(n):\n    return deep(n) + obj.helper2(n)\n\ndef deep(n):\n    return n\n\ndef helper2(n):\n    return n\n";
        let fns = python_functions(src);
        let names: Vec<String> = python_callees(src, &fns, &fns[0]).into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["helper", "deep"], "methods of other objects are not followed");
    }

    #[test]
    fn rust_function_spans_name_the_line_of_the_ident() {
        let src = "#[inline]\nasync fn fetch(\n) {\n    work();\n}\nimpl A {\n    fn m(&self) {}\n}\n";
        let f = rust_functions(src);
        let names: Vec<_> = f.iter().map(|f| (f.name.as_str(), f.name_line, f.start, f.end)).collect();
        assert_eq!(names, vec![("fetch", 2, 1, 5), ("m", 7, 7, 7)]);
    }

    #[test]
    fn bad_reports_are_typed_errors_naming_the_file() {
        let p = Path::new("r.json");
        let e = parse(p, "nope").unwrap_err();
        assert!(matches!(e, ProfileReportError::NotJson { .. }) && e.to_string().starts_with("r.json: "), "{e}");
        let e = parse(p, r#"{"schema":"other","version":1}"#).unwrap_err();
        assert!(matches!(e, ProfileReportError::NotAReport { .. }), "{e}");
        let e = parse(p, r#"{"schema":"conc-advisor-report","version":7}"#).unwrap_err();
        assert!(matches!(e, ProfileReportError::Version { version: 7, .. }), "{e}");
        let e = parse(p, r#"{"schema":"conc-advisor-report","version":1,"kind":"in-process"}"#).unwrap_err();
        assert!(matches!(e, ProfileReportError::Malformed { .. }), "{e}");
    }
}
