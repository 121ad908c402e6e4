//! CA509 `fork-with-threads`: `os.fork()` or the `fork` start method in a program that starts threads.

use crate::declare_rule;
use crate::python::Checker;
use crate::python::ast::ExprKind;
use crate::python::semantic::Exec;

declare_rule! {
    /// ## What it does
    /// Finds `os.fork()`, `os.forkpty()`, `pty.fork()`, `multiprocessing.set_start_method("fork")` and
    /// `multiprocessing.get_context("fork")` in a module that also starts threads (`threading.Thread`,
    /// thread pools, `asyncio.to_thread`, `loop.run_in_executor`).
    ///
    /// ## Why is this bad?
    /// `fork()` copies only the calling thread. Locks held by the other threads at that moment — inside
    /// `logging`, `malloc`, an import, a queue — stay locked forever in the child, which then deadlocks.
    /// CPython 3.12+ warns (`DeprecationWarning: This process is multi-threaded, use of fork() may lead to
    /// deadlocks in the child`), and 3.14 no longer uses `fork` by default on Linux.
    ///
    /// ## Known problems
    /// The rule sees that both happen in the module, not their order: forking before any thread starts is safe.
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
    pub static RULE = {
        code: "CA509",
        name: "fork-with-threads",
        severity: Warning,
        language: Python,
        summary: "forking a process that runs threads can deadlock the child",
    };
}

/// Reports fork calls in modules that start threads.
pub fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    let thread_start = model
        .spawns
        .iter()
        .filter(|s| s.exec == Exec::Threads)
        .map(|s| s.range)
        .chain(model.pools.iter().filter(|p| p.exec == Exec::Threads).map(|p| model.calls[p.site].range))
        .min();
    let Some(thread_start) = thread_start else { return };
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
        let shown = if q == "multiprocessing.get_context" {
            "get_context(\"fork\")".to_string()
        } else if q.starts_with("multiprocessing") {
            "set_start_method(\"fork\")".into()
        } else {
            format!("{q}()")
        };
        let d = cx
            .diagnostic(
                &RULE,
                c.range,
                format!("`{shown}` in a program that starts threads: the child gets only the forking thread, and locks the others held stay locked"),
            )
            .with_help("use the `spawn` or `forkserver` start method (`multiprocessing.get_context(\"forkserver\")`), or fork before starting any thread")
            .with_note("a thread is started here", Some(cx.span(thread_start)));
        cx.report(d);
    }
}
