//! CA510 `dangling-task-or-nested-run`: `asyncio.create_task(…)` whose task is dropped, and `asyncio.run` inside a
//! running event loop.

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;
use crate::python::ast::ExprKind;

declare_rule! {
    /// ## What it does
    /// Finds two asyncio mistakes:
    /// - `asyncio.create_task(…)`, `asyncio.ensure_future(…)` or `loop.create_task(…)` as a statement, its task
    ///   dropped (a `TaskGroup`'s `tg.create_task` keeps its tasks and is not reported);
    /// - `asyncio.run(…)` or `loop.run_until_complete(…)` called inside an `async def` (the innermost function
    ///   decides: a nested `def` is not async).
    ///
    /// A line already marked for ruff's overlapping rule (`# noqa: RUF006`) is not reported either.
    ///
    /// ## Why is this bad?
    /// The event loop keeps only a weak reference to tasks: a task nobody references can be garbage-collected
    /// before it finishes, silently, and its exception is never seen. `asyncio.run` inside a running loop raises
    /// `RuntimeError: asyncio.run() cannot be called from a running event loop`.
    ///
    /// ## Known problems
    /// A task kept alive some other way (a callback registered on it elsewhere) is still reported.
    ///
    /// ## Example
    /// ```python
    /// async def main():
    ///     asyncio.create_task(heartbeat())
    ///     asyncio.run(other())
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// background = set()
    ///
    /// async def main():
    ///     task = asyncio.create_task(heartbeat())
    ///     background.add(task)
    ///     task.add_done_callback(background.discard)
    ///     await other()
    /// ```
    pub static META = {
        code: "CA510",
        name: "dangling-task-or-nested-run",
        severity: Warning,
        language: Python,
        summary: "a dropped `create_task` result, or `asyncio.run` inside a running loop",
        equivalent: "ruff RUF006 (dangling task)",
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

fn loopish(e: &crate::python::ast::Expr<'_>) -> bool {
    e.dotted().is_some_and(|d| {
        let last = d.rsplit('.').next().unwrap_or_default();
        matches!(last, "loop" | "_loop" | "event_loop" | "ev_loop")
    })
}

/// Reports dropped tasks and nested `asyncio.run`.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for c in &model.calls {
        let q = c.qual.as_deref().unwrap_or_default();
        let (recv, attr) = match &c.call.func.kind {
            ExprKind::Attribute { value, attr } => (Some(&**value), *attr),
            _ => (None, ""),
        };
        let on_loop = q.starts_with("asyncio.loop.") || recv.is_some_and(loopish);
        let spawn = matches!(q, "asyncio.create_task" | "asyncio.ensure_future") || (attr == "create_task" && on_loop);
        if spawn && c.dropped {
            let d = cx
                .diagnostic(&META, c.range, "the task is dropped: the event loop keeps only a weak reference, so it can be garbage-collected before it finishes")
                .with_help("keep a reference (`task = …`, add it to a set and discard it in `add_done_callback`), or use `asyncio.TaskGroup`");
            cx.report(d);
        }
        let nested = q == "asyncio.run" || (attr == "run_until_complete" && on_loop);
        if nested && c.in_async {
            let name = c.scope.map(|f| cx.func_name(f).to_string()).unwrap_or_default();
            let d = cx
                .diagnostic(
                    &META,
                    c.range,
                    format!(
                        "`{}` inside `async def {name}` runs a loop inside the running one: it raises `RuntimeError`",
                        if q == "asyncio.run" { "asyncio.run" } else { "run_until_complete" }
                    ),
                )
                .with_help("`await` the coroutine instead (or `asyncio.create_task` it and keep the task)");
            cx.report(d);
        }
    }
}
