//! CA509 `fork-with-threads`: `os.fork()` or the `fork` start method in a program that starts threads.

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;
use crate::python::ast::ExprKind;
use crate::python::ast::Range;
use crate::python::semantic::{Exec, FuncId, Model};

declare_rule! {
    /// ## What it does
    /// Finds `os.fork()`, `os.forkpty()`, `pty.fork()`, `multiprocessing.set_start_method("fork")` and
    /// `multiprocessing.get_context("fork")` where the same program path also starts threads
    /// (`threading.Thread`, thread pools, `asyncio.to_thread`, `loop.run_in_executor`): in the same function, in
    /// a method of the same class, in a function that calls (or is called by) it, or at import time.
    ///
    /// ## Why is this bad?
    /// `fork()` copies only the calling thread. Locks held by the other threads at that moment — inside
    /// `logging`, `malloc`, an import, a queue — stay locked forever in the child, which then deadlocks.
    /// CPython 3.12+ warns (`DeprecationWarning: This process is multi-threaded, use of fork() may lead to
    /// deadlocks in the child`), and 3.14 no longer uses `fork` by default on Linux.
    ///
    /// ## Known problems
    /// The rule sees that both happen on related code paths, not their order: forking before any thread starts is
    /// safe. Forks and threads in unrelated classes of one module (`ForkingMixIn` / `ThreadingMixIn`) are not
    /// reported.
    ///
    /// ## Example
    /// ```python
    /// threading.Thread(target=heartbeat, daemon=True).start()
    /// multiprocessing.set_start_method("fork")
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// threading.Thread(target=heartbeat, daemon=True).start()
    /// multiprocessing.set_start_method("forkserver")  # or "spawn"
    /// ```
    pub static META = {
        code: "CA509",
        name: "fork-with-threads",
        severity: Warning,
        language: Python,
        summary: "forking a process that runs threads can deadlock the child",
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

/// Whether a fork in `fork` and a thread start in `thread` belong to the same program path: the same function,
/// threads started at import time, methods of one class, or one function calling the other.
fn related(model: &Model<'_, '_>, fork: Option<FuncId>, thread: Option<FuncId>) -> bool {
    let (Some(f), Some(t)) = (fork, thread) else { return true };
    if f == t {
        return true;
    }
    let class = |x: FuncId| model.funcs[x].class.or_else(|| model.funcs[x].parent.and_then(|p| model.funcs[p].class));
    if class(f).is_some() && class(f) == class(t) {
        return true;
    }
    model.callees(f).any(|(_, g)| g == t) || model.callees(t).any(|(_, g)| g == f)
}

/// Reports fork calls in modules that start threads.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    let thread_starts: Vec<(Range, Option<FuncId>)> = model
        .spawns
        .iter()
        .filter(|s| s.exec == Exec::Threads && s.site.is_some())
        .map(|s| (s.range, s.scope))
        .chain(model.pools.iter().filter(|p| p.exec == Exec::Threads).map(|p| {
            let c = &model.calls[p.site];
            (c.range, c.scope)
        }))
        .collect();
    if thread_starts.is_empty() {
        return;
    }
    for c in &model.calls {
        let Some(q) = c.qual.as_deref() else { continue };
        let is_fork = match q {
            "os.fork" | "os.forkpty" | "pty.fork" => true,
            "multiprocessing.set_start_method" | "multiprocessing.get_context" => {
                matches!(c.call.arg(0, "method").map(|e| &e.kind), Some(ExprKind::Str("fork")))
            }
            _ => false,
        };
        if !is_fork {
            continue;
        }
        let Some(&(thread_start, _)) = thread_starts.iter().find(|(_, t)| related(model, c.scope, *t)) else {
            continue;
        };
        let shown = if q == "multiprocessing.get_context" {
            "get_context(\"fork\")".to_string()
        } else if q.starts_with("multiprocessing") {
            "set_start_method(\"fork\")".into()
        } else {
            format!("{q}()")
        };
        let d = cx
            .diagnostic(
                &META,
                c.range,
                format!("`{shown}` in a program that starts threads: the child gets only the forking thread, and locks the others held stay locked"),
            )
            .with_help("use the `spawn` or `forkserver` start method (`multiprocessing.get_context(\"forkserver\")`), or fork before starting any thread")
            .with_note("a thread is started here", Some(cx.span(thread_start)));
        cx.report(d);
    }
}
