//! CA507 `missing-main-guard`: processes started when the module is imported, outside
//! `if __name__ == "__main__":`.

use rustc_hash::FxHashSet as HashSet;

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;
use crate::python::semantic::{Exec, FuncId, Model};

declare_rule! {
    /// ## What it does
    /// Finds code that runs when the module is imported (top level, not in a `def`, not under
    /// `if __name__ == "__main__":`) and starts processes: `multiprocessing.Process(…)`, `multiprocessing.Pool(…)`,
    /// `ProcessPoolExecutor(…)`, `multiprocessing.Manager()`, or a call to a function of the module that does.
    ///
    /// ## Why is this bad?
    /// With the `spawn` and `forkserver` start methods — the default on macOS and Windows, and on Linux from
    /// Python 3.14 — every worker process starts by importing the main module. Unguarded code then tries to start
    /// processes again from inside the worker: `multiprocessing` raises a `RuntimeError` about the bootstrapping
    /// phase, or the program forks without end.
    ///
    /// ## Known problems
    /// A module that forces the `fork` start method works on Linux and macOS without the guard; it is still
    /// reported, since `fork` is unsafe with threads and unavailable on Windows.
    ///
    /// ## Example
    /// ```python
    /// from multiprocessing import Pool
    ///
    /// with Pool() as pool:
    ///     print(pool.map(square, range(10)))
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// if __name__ == "__main__":
    ///     with Pool() as pool:
    ///         print(pool.map(square, range(10)))
    /// ```
    pub static META = {
        code: "CA507",
        name: "missing-main-guard",
        severity: Warning,
        language: Python,
        summary: "processes started at import time, without an `if __name__ == \"__main__\":` guard",
    };
}

/// The rule (per-file only).
pub struct Rule;

impl PythonRule for Rule {
    type Facts = ();

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }
}

fn starts_processes_directly(model: &Model<'_, '_>, q: &str) -> bool {
    matches!(q, "multiprocessing.Process" | "multiprocessing.Manager")
        || model.pools.iter().any(|p| p.exec == Exec::Processes && p.api == q)
}

/// Whether calling `f` starts processes (through at most a few calls in this module).
fn starts_processes(model: &Model<'_, '_>, f: FuncId, seen: &mut HashSet<FuncId>) -> bool {
    if seen.len() > 64 || !seen.insert(f) {
        return false;
    }
    model.calls_by_func[f].iter().any(|&i| {
        let c = &model.calls[i];
        c.qual.as_deref().is_some_and(|q| starts_processes_directly(model, q))
            || model.resolve_function(&c.call.func, c.scope).is_some_and(|g| starts_processes(model, g, seen))
    })
}

/// Reports process starts reachable at import time.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for c in &model.calls {
        if !c.at_import || c.scope.is_some() {
            continue;
        }
        let direct = c.qual.as_deref().filter(|q| starts_processes_directly(model, q));
        let via = if direct.is_none() {
            match model.resolve_function(&c.call.func, None) {
                Some(f) if starts_processes(model, f, &mut HashSet::default()) => Some(f),
                _ => continue,
            }
        } else {
            None
        };
        let what = match (direct, via) {
            (Some(q), _) => format!("`{}(…)`", q.rsplit('.').next().unwrap_or(q)),
            (None, Some(f)) => format!("`{}()`, which starts processes,", cx.func_name(f)),
            _ => continue,
        };
        let d = cx
            .diagnostic(
                &META,
                c.range,
                format!("{what} runs when the module is imported, outside `if __name__ == \"__main__\":`"),
            )
            .with_help(
                "move it under `if __name__ == \"__main__\":` — with the spawn and forkserver start methods (macOS, \
                 Windows, Linux from Python 3.14) each worker re-imports this module and would start processes again",
            );
        cx.report(d);
    }
}
