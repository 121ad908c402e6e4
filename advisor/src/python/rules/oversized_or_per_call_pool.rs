//! CA506 `oversized-or-per-call-pool`: pools sized far above the cores for CPU-bound work, and pools created
//! on every call of a function that runs in a loop or per request.

use std::path::Path;

use crate::declare_rule;
use crate::python::linker::{FactsCx, Linker};
use crate::python::rules::{LinkFacts, PythonRule};
use crate::registry::RuleMeta;
use rustc_hash::FxHashSet as HashSet;
use crate::diagnostic::{Diagnostic, Span};
use crate::python::Checker;
use crate::python::ast::{Call, ExprKind, Range, Stmt, StmtKind};
use crate::python::semantic::{Exec, FuncId, Model};
use crate::python::summary::Kind;

declare_rule! {
    /// ## What it does
    /// Reports two ways a pool is misplaced:
    /// - a literal `max_workers=`/`processes=` above `python.max-workers` (default 32) on a pool whose targets
    ///   are CPU-bound (targets in other modules of the project are followed);
    /// - a `ThreadPoolExecutor`, `ProcessPoolExecutor` or `multiprocessing.Pool` created inside a loop, inside a
    ///   function called in a loop (directly, or through one more function: per iteration two calls down), or
    ///   inside a request handler (`@app.route`/`@app.get`/…, `do_GET`, …, and an `async def` with a request-like
    ///   parameter — `request`, `websocket`, `message`, `event`, … — or a handler-like name, `handle_…`,
    ///   `…_handler`, `on_…`, unless the module runs it once with `asyncio.run`).
    ///
    /// ## Why is this bad?
    /// CPU-bound work cannot go faster than the cores: workers beyond them only add switching, memory and (for
    /// processes) start-up time. A pool created per call pays thread or process start-up every time and throws
    /// away the warm workers; for processes that is tens of milliseconds and megabytes per worker, per call.
    ///
    /// ## Known problems
    /// Only literal sizes are checked. A pool stored in an attribute or item (`self._pool = Pool()`) or created
    /// under `if … is None:` counts as cached and is not reported as per-call, and neither is a pool created in
    /// a test function (`def test…`: tests create pools per case, per start method, or in stress loops on
    /// purpose; on the CPython 3.10–3.13 standard libraries those were 3 of the 4 distinct findings). A
    /// function called in a loop a handful of times (a test's setup) is reported like one called per request.
    /// A pool built only under `if param:` counts only for calls that pass `param` something other than
    /// `False`/`None`/`0`; a call leaving it to its default is assumed not to build one.
    ///
    /// ## Example
    /// ```python
    /// def handle(job):
    ///     with ProcessPoolExecutor(max_workers=128) as ex:
    ///         return list(ex.map(crunch, job.parts))
    ///
    /// for job in jobs:
    ///     handle(job)
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// EXECUTOR = ProcessPoolExecutor()  # sized to os.cpu_count(), created once
    ///
    /// def handle(job):
    ///     return list(EXECUTOR.map(crunch, job.parts))
    /// ```
    pub static META = {
        code: "CA506",
        name: "oversized-or-per-call-pool",
        severity: Warning,
        language: Python,
        summary: "a pool far larger than the cores for CPU-bound work, or created on every call",
    };
}

/// The rule: per file, and across files in the link phase (oversized pools whose CPU-bound target is in
/// another module).
pub struct Rule;

/// The file's oversized pools the per-file check could not judge (no local target is CPU-bound).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct Pools {
    /// The pools.
    pub pools: Vec<PoolFact>,
}

impl LinkFacts for Pools {}

/// A pool with a literal size above the limit.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct PoolFact {
    /// The pool (index into the file's [`Model::pools`], as in [`crate::python::linker::SiteFact::pool`]).
    pub pool: usize,
    /// The size expression.
    pub span: Span,
    /// The literal size.
    pub workers: i64,
    /// `processes` or `threads`.
    pub kind_word: String,
    /// The file's `python.max-workers`.
    pub limit: i64,
}

impl PythonRule for Rule {
    type Facts = Pools;

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    fn facts(&self, fx: &FactsCx<'_, '_, '_, '_, '_>) -> Pools {
        let (cx, model) = (fx.cx, fx.cx.model);
        let limit = i64::try_from(cx.settings.python.max_workers).unwrap_or(i64::MAX);
        let mut pools = Vec::new();
        for (p, ctor) in model.pools.iter().enumerate() {
            let (Some(n), Some(expr)) = (ctor.workers, ctor.workers_expr) else { continue };
            if n <= limit {
                continue;
            }
            // The per-file check reported it if a local target of the pool is CPU-bound.
            let reported = model.spawns.iter().any(|s| {
                s.pool == Some(p) && s.target_fn.is_some_and(|f| cx.summaries.summary(f).kind() == Kind::CpuHeavy)
            });
            if !reported {
                pools.push(PoolFact {
                    pool: p,
                    span: cx.span(expr.range),
                    workers: n,
                    kind_word: if ctor.exec == Exec::Processes { "processes" } else { "threads" }.to_string(),
                    limit,
                });
            }
        }
        Pools { pools }
    }

    /// An oversized pool (once) whose target, joined across modules, is CPU-bound.
    fn link(&self, p: &Linker<'_>, facts: &[&Pools], out: &mut Vec<Diagnostic>) {
        let mut done: HashSet<(usize, usize)> = HashSet::default();
        for s in p.sites() {
            let Some(id) = s.site.pool else { continue };
            if s.joined.kind() != Kind::CpuHeavy {
                continue;
            }
            let Some(pool) = facts[s.file].pools.iter().find(|x| x.pool == id) else { continue };
            if !done.insert((s.file, id)) {
                continue;
            }
            let file = &p.files[s.file];
            let d = oversized_finding(&file.path, pool.span, pool.workers, &pool.kind_word, s.name, pool.limit);
            out.push(p.def_note(d, s.file, s.target));
        }
    }
}

const HANDLER_DECORATORS: &[&str] =
    &["route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "task", "handler"];
const HANDLER_METHODS: &[&str] = &["do_GET", "do_POST", "do_PUT", "do_DELETE", "do_HEAD", "handle", "handle_request"];

fn is_handler(model: &Model<'_, '_>, f: FuncId) -> bool {
    let def = model.funcs[f].def;
    HANDLER_METHODS.contains(&def.name)
        || def.decorators.iter().any(|d| {
            let callee = d.as_call().map_or(d, |c| &c.func);
            matches!(&callee.kind, ExprKind::Attribute { attr, .. } if HANDLER_DECORATORS.contains(attr))
        })
}

/// Parameter names that say an `async def` handles one request, message or event.
const HANDLER_PARAMS: &[&str] = &["request", "req", "websocket", "ws", "message", "msg", "event", "update"];

/// An `async def` that handles requests, messages or events (issue 13: a pool built per call of such a
/// handler): a request-like parameter, or a handler-like name (`handle_…`, `…_handler`, `on_…`). An `async
/// def` run by `asyncio.run(…)` in the module runs once: it is not one.
fn is_async_handler(model: &Model<'_, '_>, f: FuncId) -> bool {
    let def = model.funcs[f].def;
    if !def.is_async {
        return false;
    }
    let run_once = model.calls.iter().any(|c| {
        c.qual.as_deref() == Some("asyncio.run")
            && c.call.args.first().and_then(|a| a.as_call()).is_some_and(|a| model.resolve_function(&a.func, c.scope) == Some(f))
    });
    !run_once
        && (def.params.iter().any(|p| HANDLER_PARAMS.contains(p))
            || def.name.starts_with("handle")
            || def.name.ends_with("_handler")
            || def.name.starts_with("on_"))
}

/// A function `g` that calls `f` (not in a loop) and is itself called in a loop: `f` runs once per iteration,
/// two calls down. Returns `g` and the call in the loop.
fn called_in_loop_two_down<'c, 'm, 'a>(
    model: &'c Model<'m, 'a>,
    f: FuncId,
    builds: &dyn Fn(&Call<'a>) -> bool,
) -> Option<(FuncId, &'c crate::python::semantic::CallSite<'m, 'a>)> {
    model.calls.iter().find_map(|c| {
        let g = c.scope?;
        if g == f || model.resolve_function(&c.call.func, c.scope) != Some(f) || !builds(c.call) {
            return None;
        }
        let outer = model
            .calls
            .iter()
            .find(|o| o.loop_range.is_some() && o.scope != Some(f) && model.resolve_function(&o.call.func, o.scope) == Some(g))?;
        Some((g, outer))
    })
}

/// The parameter of `f` that decides whether the pool at `at` is built: it is built only under `if param:`
/// (`if multiprocess: pool = multiprocessing.Pool()`, as luigi's `Worker.add` does).
fn gating_param<'a>(model: &Model<'_, 'a>, f: FuncId, at: Range) -> Option<&'a str> {
    fn visit<'a>(body: &[Stmt<'a>], params: &[&'a str], at: Range) -> Option<&'a str> {
        for s in body {
            if !s.range.contains(at) {
                continue;
            }
            if let StmtKind::If { test, body, .. } = &s.kind
                && let Some(p) = test.as_name()
                && params.contains(&p)
                && body.iter().any(|b| b.range.contains(at))
            {
                return Some(p);
            }
            if matches!(s.kind, StmtKind::FunctionDef(_) | StmtKind::ClassDef(_)) {
                return None;
            }
            let mut found = None;
            s.for_each_block(&mut |b| {
                if found.is_none() {
                    found = visit(b, params, at);
                }
            });
            return found;
        }
        None
    }
    let def = model.funcs[f].def;
    visit(&def.body, &def.params, at)
}

/// Whether `call` (a call of `f`) passes parameter `param` a value that may be true: by keyword or by position
/// (not the literals `False`/`None`/`0`). A call that leaves it to its default does not build the pool: luigi's
/// `self.add(t)` beside `def add(self, task, multiprocess=False)` (precision first: a default is assumed false).
fn passes_truthy(cx: &Checker<'_, '_, '_>, f: FuncId, call: &Call<'_>, param: &str) -> bool {
    let def = cx.model.funcs[f].def;
    let arg = call.keyword(param).or_else(|| {
        let mut i = def.params.iter().position(|p| *p == param)?;
        // A method called through its instance (`self.add(t)`) does not pass `self`.
        if matches!(def.params.first(), Some(&"self" | &"cls")) && matches!(call.func.kind, ExprKind::Attribute { .. })
        {
            i = i.checked_sub(1)?;
        }
        call.args.get(i)
    });
    arg.is_some_and(|a| !matches!(cx.lines.text(a.range).trim(), "False" | "None" | "0"))
}

/// Reports oversized pools for CPU-bound targets and pools created per call.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    let limit = i64::try_from(cx.settings.python.max_workers).unwrap_or(i64::MAX);
    for (p, pool) in model.pools.iter().enumerate() {
        let site = &model.calls[pool.site];
        let kind_word = if pool.exec == Exec::Processes { "processes" } else { "threads" };
        // Oversized for CPU-bound targets.
        if let (Some(n), Some(expr)) = (pool.workers, pool.workers_expr)
            && n > limit
        {
            let cpu_target = model.spawns.iter().filter(|s| s.pool == Some(p)).find_map(|s| {
                let f = s.target_fn?;
                (cx.summaries.summary(f).kind() == Kind::CpuHeavy).then_some(f)
            });
            if let Some(f) = cpu_target {
                let d = oversized_finding(cx.path, cx.span(expr.range), n, kind_word, cx.func_name(f), limit);
                let (msg, span) = cx.def_note(f);
                cx.report(d.with_note(msg, span));
            }
        }
        // Created per call (unless cached: `self._pool = …`, or lazily under `if … is None:`). Tests create
        // pools per case, per start method or in stress loops on purpose.
        if site.cached || model.in_test_function(site.scope) {
            continue;
        }
        let short = pool.api.rsplit('.').next().unwrap_or(pool.api);
        if let Some(l) = site.loop_range {
            let d = cx
                .diagnostic(
                    &META,
                    site.range,
                    format!("a new `{short}` is created on every iteration of a loop: its {kind_word} start each time"),
                )
                .with_help("create the pool once, before the loop, and submit every iteration's work to it")
                .with_note("the loop", Some(cx.span(l)));
            cx.report(d);
            continue;
        }
        let Some(f) = site.scope else { continue };
        let gate = gating_param(model, f, site.range);
        let builds = |c: &Call<'_>| gate.is_none_or(|g| passes_truthy(cx, f, c, g));
        let called_in_loop = model
            .calls
            .iter()
            .find(|c| c.loop_range.is_some() && model.resolve_function(&c.call.func, c.scope) == Some(f) && builds(c.call));
        let why = if let Some(c) = called_in_loop {
            Some((format!("`{}` is called in a loop", cx.func_name(f)), Some(cx.span(c.range))))
        } else if let Some((g, c)) = called_in_loop_two_down(model, f, &builds) {
            Some((
                format!("`{}` calls `{}`, and `{}` is called in a loop", cx.func_name(g), cx.func_name(f), cx.func_name(g)),
                Some(cx.span(c.range)),
            ))
        } else if is_async_handler(model, f) {
            Some((
                format!("`async def {}` handles requests or events: it runs once per request", cx.func_name(f)),
                Some(cx.span(model.funcs[f].def.name_range)),
            ))
        } else if is_handler(model, f) {
            Some((format!("`{}` handles requests", cx.func_name(f)), Some(cx.span(model.funcs[f].def.name_range))))
        } else {
            None
        };
        if let Some((why, span)) = why {
            let d = cx
                .diagnostic(
                    &META,
                    site.range,
                    format!(
                        "a new `{short}` is created on every call of `{}`: its {kind_word} start each time",
                        cx.func_name(f)
                    ),
                )
                .with_help("create the pool once (at start-up, or lazily in a module-level variable) and reuse it")
                .with_note(why, span);
            cx.report(d);
        }
    }
}

/// The finding for a pool of `n` `kind_word` (above `limit`) running CPU-bound `name`, without notes.
fn oversized_finding(path: &Path, span: Span, n: i64, kind_word: &str, name: &str, limit: i64) -> Diagnostic {
    Diagnostic::new(
        &META,
        path,
        span,
        format!(
            "{n} {kind_word} for CPU-bound `{name}`: CPU-bound work cannot use more workers than cores \
             (limit `python.max-workers` = {limit}); the extra ones only add switching and memory"
        ),
    )
    .with_help("size the pool to the cores: `max_workers=os.cpu_count()` (the default of `ProcessPoolExecutor`)")
}
