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
    ///   decides: a nested `def` is not async), or in a sync function of the module that an `async def` calls,
    ///   directly or through other sync functions (reported at the call, with the chain). A helper that checks
    ///   for a running loop itself (`get_running_loop`, `except RuntimeError`, a thread of its own) is left
    ///   alone.
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
    check_helpers(cx);
}

/// At most this many functions are searched from one call for a nested run.
const MAX_HELPERS: usize = 32;

/// Words of a helper that decides by itself whether a loop is running (`asyncio.get_running_loop()`, `except
/// RuntimeError`, a thread of its own): it may be meant to be called from `async def`.
const GUARDED: &[&str] = &["running", "get_event_loop", "RuntimeError", "Thread", "to_thread", "run_coroutine_threadsafe"];

/// `asyncio.run` (or `loop.run_until_complete`) in a sync function of this module called, directly or through
/// other sync functions of the module, from `async def` (issue 13: annetutil/annet#238): reported at the call in
/// the `async def`, with the chain.
fn check_helpers(cx: &mut Checker<'_, '_, '_>) {
    use std::collections::VecDeque;
    use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
    let model = cx.model;
    let runs = |i: usize| {
        let c = &model.calls[i];
        let q = c.qual.as_deref().unwrap_or_default();
        let on_loop = match &c.call.func.kind {
            ExprKind::Attribute { value, attr } => {
                *attr == "run_until_complete" && (q.starts_with("asyncio.loop.") || loopish(value))
            }
            _ => false,
        };
        !c.in_lambda && (q == "asyncio.run" || on_loop)
    };
    // The first nested run a sync function reaches, with the chain from it.
    let mut memo: HashMap<usize, Option<(Vec<usize>, usize)>> = HashMap::default();
    let mut found = Vec::new();
    for (ci, c) in model.calls.iter().enumerate() {
        if !c.in_async || c.awaited || c.in_lambda {
            continue;
        }
        let (Some(f), Some(g)) = (c.scope, model.resolve_function(&c.call.func, c.scope)) else { continue };
        if g == f {
            continue;
        }
        let hit = memo
            .entry(g)
            .or_insert_with(|| {
                let mut parent: HashMap<usize, usize> = HashMap::default();
                let mut queue = VecDeque::from([g]);
                let mut seen = HashSet::from_iter([g]);
                while let Some(h) = queue.pop_front() {
                    let def = model.funcs[h].def;
                    if def.is_async || crate::python::ast::is_generator(&def.body) {
                        continue;
                    }
                    if GUARDED.iter().any(|w| cx.lines.text(model.funcs[h].range).contains(w)) {
                        continue;
                    }
                    if let Some(&i) = model.calls_by_func[h].iter().find(|&&i| runs(i)) {
                        let mut chain = vec![h];
                        while let Some(&p) = parent.get(chain.last()?) {
                            chain.push(p);
                        }
                        chain.reverse();
                        return Some((chain, i));
                    }
                    for (_, k) in model.callees(h) {
                        if seen.len() < MAX_HELPERS && seen.insert(k) {
                            parent.insert(k, h);
                            queue.push_back(k);
                        }
                    }
                }
                None
            })
            .clone();
        if let Some((chain, i)) = hit {
            found.push((ci, f, chain, i));
        }
    }
    for (ci, f, chain, i) in found {
        let names: Vec<String> = chain.iter().map(|&h| format!("`{}`", cx.func_name(h))).collect();
        let what = if model.calls[i].qual.as_deref() == Some("asyncio.run") { "asyncio.run" } else { "run_until_complete" };
        let d = cx
            .diagnostic(
                &META,
                model.calls[ci].range,
                format!(
                    "call to `{}` inside `async def {}` reaches `{what}`, which runs a loop inside the running one: it \
                     raises `RuntimeError`",
                    cx.func_name(chain[0]),
                    cx.func_name(f),
                ),
            )
            .with_help("make the helper `async` and `await` it, or run it with `await asyncio.to_thread(…)` (its own loop in its own thread)")
            .with_note(format!("`{what}`, reached through {}", names.join(" → ")), Some(cx.span(model.calls[i].range)))
            .with_note("the enclosing `async def`", Some(cx.span(model.funcs[f].def.name_range)));
        cx.report(d);
    }
}
