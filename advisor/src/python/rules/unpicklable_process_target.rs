//! CA508 `unpicklable-process-target`: lambdas, nested functions and methods of local classes sent to processes.

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;
use crate::python::ast::{Expr, ExprKind};
use crate::python::semantic::{Exec, FuncId, Model};

declare_rule! {
    /// ## What it does
    /// Finds callables that cannot be pickled given to worker processes (`ProcessPoolExecutor.submit/map`,
    /// `multiprocessing.Pool.map/apply_async/…`, `multiprocessing.Process(target=…)`): a `lambda`, a function
    /// defined inside another function, a method of a class defined inside a function, or a
    /// `functools.partial` of one of these; and the same as a process pool's `initializer=` (also positional:
    /// `Pool(4, init)`, `ProcessPoolExecutor(4, ctx, init)`), which every worker process receives pickled.
    ///
    /// ## Why is this bad?
    /// Processes receive their work pickled, and pickle stores functions by their importable name: a lambda or a
    /// nested function has none. Pools fail with `PicklingError` / `AttributeError: Can't pickle local object`.
    /// `Process(target=…)` works under the `fork` start method only, and fails under `spawn` and `forkserver`
    /// (macOS, Windows, and Linux from Python 3.14).
    ///
    /// ## Known problems
    /// `multiprocess`/`loky`/`cloudpickle`-based pools can pickle these; suppress the rule where you use them.
    ///
    /// ## Example
    /// ```python
    /// with ProcessPoolExecutor() as ex:
    ///     squares = list(ex.map(lambda x: x * x, range(10)))
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def square(x):
    ///     return x * x
    ///
    /// with ProcessPoolExecutor() as ex:
    ///     squares = list(ex.map(square, range(10)))
    /// ```
    pub static META = {
        code: "CA508",
        name: "unpicklable-process-target",
        severity: Error,
        language: Python,
        summary: "a lambda, nested function or local-class method sent to a process cannot be pickled",
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

fn why_unpicklable(model: &Model<'_, '_>, e: &Expr<'_>, scope: Option<FuncId>, depth: u32) -> Option<String> {
    if depth > 4 {
        return None;
    }
    match &e.kind {
        ExprKind::Lambda { .. } => Some("a lambda".into()),
        ExprKind::Name(_) => {
            let f = model.resolve_function(e, scope)?;
            model.funcs[f]
                .is_local
                .then(|| format!("`{}`, a function nested in another function,", model.funcs[f].def.name))
        }
        ExprKind::Attribute { value, attr } => {
            // `obj.method` where `obj` is an instance of a class defined in a function.
            let instance_class = |v: &Expr<'_>| -> Option<String> {
                let c = v.as_call()?;
                let name = c.func.as_name()?;
                let (_, local) = model.classes.get(name)?;
                local.then(|| name.to_string())
            };
            let class =
                instance_class(value).or_else(|| model.values_of(value, scope).into_iter().find_map(instance_class))?;
            Some(format!("`{class}.{attr}`, a method of the local class `{class}`,"))
        }
        ExprKind::Call(c) if model.qualify(&c.func, scope).as_deref() == Some("functools.partial") => {
            why_unpicklable(model, c.args.first()?, scope, depth + 1).map(|w| format!("a `functools.partial` of {w}"))
        }
        _ => None,
    }
}

/// Reports unpicklable targets of process spawns.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for s in &model.spawns {
        if s.exec != Exec::Processes {
            continue;
        }
        let Some(t) = s.target else { continue };
        let Some(why) = why_unpicklable(model, t, s.scope, 0) else { continue };
        let why = why.trim_end_matches(',');
        let consequence = if s.api == "multiprocessing.Process" {
            "it works only under the `fork` start method, and fails under `spawn`/`forkserver` (macOS, Windows, Linux from Python 3.14)"
        } else {
            "the pool fails to pickle it when the work is submitted"
        };
        let d = cx
            .diagnostic(
                &META,
                t.range,
                format!("{why} cannot be pickled, but `{}` sends it to another process: {consequence}", s.api),
            )
            .with_help("define the target as a module-level function (and pass its data as arguments)");
        cx.report(d);
    }
    // A process pool's `initializer` is pickled and sent to every worker process the same way (issue 13).
    for pool in &model.pools {
        if pool.exec != Exec::Processes {
            continue;
        }
        let c = &model.calls[pool.site];
        let positional = if pool.api.ends_with("ProcessPoolExecutor") { 2 } else { 1 };
        let Some(init) = c.call.keyword("initializer").or_else(|| c.call.args.get(positional)) else { continue };
        let Some(why) = why_unpicklable(model, init, c.scope, 0) else { continue };
        let why = why.trim_end_matches(',');
        let d = cx
            .diagnostic(
                &META,
                init.range,
                format!(
                    "{why} cannot be pickled, but `{}` sends its `initializer` to every worker process: starting \
                     the workers fails under `spawn`/`forkserver` (macOS, Windows, Linux from Python 3.14)",
                    pool.api
                ),
            )
            .with_help("define the initializer as a module-level function (and pass its data with `initargs=`)");
        cx.report(d);
    }
}
