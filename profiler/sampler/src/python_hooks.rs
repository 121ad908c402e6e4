//! Python threads and processes named after their work (issue 14). When `profile` runs Python (unless
//! `--no-python-hooks`), a `sitecustomize` put first on `PYTHONPATH` (it runs any other `sitecustomize` after
//! itself) names each `threading.Thread`'s native thread after its name and records, for every thread and pool
//! worker (`threading`, `ThreadPoolExecutor`, `multiprocessing.Pool`, `ProcessPoolExecutor`), the function it
//! runs with its `file:line`, one JSON line each in a side file read here after the run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::ExternalReport;

/// The hook's source.
pub const SITECUSTOMIZE: &str = include_str!("python/sitecustomize.py");

/// Environment variable naming the side file.
pub const TARGETS_ENV: &str = "CONC_ADVISOR_PY_TARGETS";

/// What one Python thread or pool worker ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonTarget {
    pub pid: i32,
    pub tid: i32,
    /// `thread`, `thread-pool-worker`, `process-pool-worker` or `coordinator`.
    pub kind: String,
    /// The `threading.Thread` name.
    pub thread: String,
    /// The function's qualified name.
    pub target: String,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

impl PythonTarget {
    /// `worker (app/jobs.py:12)`, the file relative to `base` when under it.
    pub fn describe(&self, base: Option<&Path>) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => {
                let f = base
                    .and_then(|b| Path::new(f).strip_prefix(b).ok())
                    .map_or_else(|| f.clone(), |p| p.display().to_string());
                format!("`{}` ({f}:{l})", self.target)
            }
            _ => format!("`{}`", self.target),
        }
    }
}

/// The hook installed for one run: a private directory holding `sitecustomize.py` and the side file.
#[derive(Debug)]
pub struct Hooks {
    dir: PathBuf,
}

impl Hooks {
    /// Writes the hook; `None` (and the run goes on without names) if the directory cannot be made.
    pub fn install() -> Option<Hooks> {
        let dir = std::env::temp_dir().join(format!("conc-advisor-py-{}-{}", std::process::id(), unique()));
        std::fs::create_dir(&dir).ok()?;
        let hooks = Hooks { dir };
        std::fs::write(hooks.dir.join("sitecustomize.py"), SITECUSTOMIZE).ok()?;
        Some(hooks)
    }

    /// The environment the command gets: `PYTHONPATH` with the hook first, and the side file's path.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut path = self.dir.display().to_string();
        if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path.push(':');
            path.push_str(&old.to_string_lossy());
        }
        vec![("PYTHONPATH".into(), path), (TARGETS_ENV.into(), self.targets_file().display().to_string())]
    }

    fn targets_file(&self) -> PathBuf {
        self.dir.join("targets.jsonl")
    }

    /// What the run recorded (malformed lines skipped).
    pub fn read(&self) -> Vec<PythonTarget> {
        let text = std::fs::read_to_string(self.targets_file()).unwrap_or_default();
        text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

impl Drop for Hooks {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The kind recorded for threads that coordinate worker processes: a `ProcessPoolExecutor`'s manager thread,
/// `multiprocessing.Pool`'s worker, task and result handler threads.
pub const COORDINATOR: &str = "coordinator";

fn coordinator_why(x: &PythonTarget) -> String {
    let what = if x.thread == "ppe-manager" {
        "ProcessPoolExecutor's manager thread"
    } else {
        "a multiprocessing.Pool handler thread"
    };
    format!(
        "coordinator: {what} (`{}`) hands tasks to the worker processes and collects their results — the advice \
         is about the workers, not a pool for it",
        x.target
    )
}

/// Names threads after their work, says in thread evidence and findings which function threads run, and keeps
/// the targets in the report.
pub fn apply(r: &mut ExternalReport, targets: Vec<PythonTarget>) {
    let base = std::env::current_dir().ok();
    let find = |pid: i32, tid: i32| targets.iter().find(|t| t.pid == pid && t.tid == tid);
    let named = |x: &PythonTarget| matches!(x.kind.as_str(), "thread" | COORDINATOR) && !x.thread.is_empty();
    let mut coordinators = 0_usize;
    for p in &mut r.processes {
        for t in &mut p.threads {
            if let Some(x) = find(p.pid, t.tid) {
                if named(x) {
                    t.name = x.thread.clone();
                }
                t.evidence = format!("runs {}; {}", x.describe(base.as_deref()), t.evidence);
                if x.kind == COORDINATOR {
                    coordinators += 1;
                    crate::coordinator::mark_thread(t, &coordinator_why(x));
                }
            }
        }
    }
    for e in &mut r.base.entries {
        let (Some(pid), Some(tid)) = (e.pid, e.tid) else { continue };
        if let Some(x) = find(pid as i32, tid as i32) {
            e.location = x.file.as_ref().map(|f| format!("{f}:{}", x.line.unwrap_or(0)));
            if named(x) {
                e.name = format!("{pid}/{tid} {}", x.thread);
            }
            if x.kind == COORDINATOR {
                crate::coordinator::mark_entry(e, &coordinator_why(x));
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = coordinators;
    #[cfg(target_os = "linux")]
    if coordinators > 0 {
        // The whole-run answer is about the workers: judge it again without the coordinator threads' waiting.
        r.findings = crate::analysis::findings(r, &crate::analysis::Thresholds::default());
    }
    for f in &mut r.findings {
        let mut groups: Vec<(String, usize)> = Vec::new();
        let mut add = |d: String| match groups.iter_mut().find(|(g, _)| *g == d) {
            Some((_, n)) => *n += 1,
            None => groups.push((d, 1)),
        };
        for tid in &f.tids {
            if let Some(x) = targets.iter().find(|t| t.tid == *tid) {
                add(x.describe(base.as_deref()));
            }
        }
        for pid in f.pids.iter().filter(|p| !f.tids.contains(p)) {
            if let Some(x) = targets.iter().find(|t| t.pid == *pid && t.tid == *pid && t.kind == "process-pool-worker")
            {
                add(x.describe(base.as_deref()));
            }
        }
        if !groups.is_empty() {
            let what: Vec<String> = groups
                .iter()
                .map(|(d, n)| {
                    let unit = if f.tids.is_empty() { "process" } else { "thread" };
                    format!("{n} {unit}{} running {d}", if *n == 1 { "" } else { "s" })
                })
                .collect();
            f.message = format!("{} — {}", f.message, what.join(", "));
        }
    }
    r.python_targets = targets;
    crate::measured::annotate(r);
}
