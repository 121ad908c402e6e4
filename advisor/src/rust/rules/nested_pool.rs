//! CA304 `nested-pool`: a thread pool or runtime built inside work that a pool runs (inside a rayon closure,
//! a nested `install`), or a thread per item whose body runs rayon work.

use syn::Expr;

use super::{CallSite, Checker, MethodCallSite, OnCall, OnExpr, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::rust::context::{FrameKind, OffExecutor};
use crate::rust::rules::thread_per_item::{self, LoopClass, Spawn};

declare_rule! {
    /// ## What it does
    /// Reports pools nested in pool work:
    /// - a rayon `ThreadPoolBuilder::build`/`build_global`, a tokio `Runtime::new()` or runtime `Builder::build`
    ///   inside a closure rayon runs (`par_iter().map(|x| …)`, `rayon::join`, `scope`, `install`);
    /// - `pool.install(..)` inside rayon work (a nested `install`);
    /// - a thread spawned per item of a loop, per chunk, or per round of a literal range, whose closure runs
    ///   rayon parallel work (threads × rayon's pool);
    /// - an OS thread spawned inside rayon work (a thread per item on top of rayon's pool of one thread per
    ///   core).
    ///
    /// Nested parallel iterators (`par_iter` inside a `par_iter` closure) share rayon's global pool and are
    /// fine: they are not reported.
    ///
    /// ## Why is this bad?
    /// Each pool sizes itself to the cores. A pool built per work item (or per thread) multiplies the
    /// threads: N items × cores threads compete for the same cores, and building a pool or runtime costs
    /// thread creation every time. A nested `install` blocks a worker of the outer pool while the inner pool
    /// works. Threads per item that each fan out on rayon make the items compete with each other for the one
    /// global pool while adding their own threads.
    ///
    /// ## Known problems
    /// Only closures passed directly to rayon are seen as rayon work; a pool built in a function that rayon
    /// work calls is not followed.
    ///
    /// ## Example
    /// ```rust,ignore
    /// files.par_iter().for_each(|f| {
    ///     let rt = tokio::runtime::Runtime::new().unwrap();
    ///     rt.block_on(upload(f));
    /// });
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let rt = tokio::runtime::Runtime::new()?; // once, outside
    /// files.par_iter().for_each(|f| rt.block_on(upload(f)));
    /// // better: make the I/O async end to end and drop rayon for it.
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows thread counts far above the cores and run-queue wait on the pool's work
    /// (classified *oversubscribed*).
    pub static META = {
        code: "CA304",
        name: "nested-pool",
        severity: Warning,
        language: Rust,
        family: Threads,
        summary: "a pool or runtime built inside pool work, a nested `install`, or a thread per item running rayon",
        call_graph: Heavy,
    };
}

/// Whether the current code runs in a closure handed to rayon (up to the enclosing function).
fn in_rayon(cx: &Checker<'_>) -> bool {
    for f in cx.context().frames().iter().rev() {
        match f.kind {
            FrameKind::OffExecutor(OffExecutor::Rayon) => return true,
            FrameKind::Fn | FrameKind::AsyncFn | FrameKind::OffExecutor(_) => return false,
            _ => continue,
        }
    }
    false
}

const HELP: &str = "build the pool or runtime once, outside the parallel work, and share it (or use rayon's global \
                    pool: nested `par_iter` is fine)";

fn chain_starts_at(cx: &Checker<'_>, mut e: &Expr, pred: &dyn Fn(&str) -> bool) -> bool {
    for _ in 0..32 {
        match e {
            Expr::MethodCall(m) => e = &m.receiver,
            Expr::Paren(p) => e = &p.expr,
            Expr::Call(c) => return cx.semantic().resolve_callee(&c.func).is_some_and(|p| pred(&p)),
            _ => return false,
        }
    }
    false
}

fn check_spawn(cx: &mut Checker<'_>, spawn: Spawn<'_>) {
    if in_rayon(cx) {
        // A thread started from rayon work: each of rayon's workers (one per core) starts a thread per item and
        // waits for it.
        let d = cx
            .diagnostic(
                &META,
                spawn.span,
                "an OS thread is spawned inside rayon work, once per item: each of rayon's workers (one per core) \
                 starts a thread and waits for it, 2 × cores threads where cores would do, and a thread start-up \
                 for every item",
            )
            .with_help("do the work in rayon's closure: rayon already runs the items in parallel on its pool");
        cx.report(d);
        return;
    }
    let Some(class) = thread_per_item::spawn_in_loop(cx, spawn.span) else { return };
    let facts = thread_per_item::closure_facts(cx, spawn.closure);
    let Some(r) = facts.rayon else { return };
    let mut help = "drop the per-item threads and run the items on rayon directly (`items.par_iter()…`)";
    let message = match class {
        LoopClass::Data | LoopClass::Connections => format!(
            "a thread is spawned per item and each runs rayon parallel work (`{r}`): the threads compete for \
             one pool on top of their own"
        ),
        LoopClass::Count { n, .. } if n > 1 => format!(
            "{n} threads each drive rayon parallel work (`{r}`): {n} threads on top of rayon's pool of one \
             thread per core = {n} + cores threads, the {n} waiting while their work shares one pool of cores"
        ),
        LoopClass::Count { .. } => return,
        LoopClass::Bounded => {
            help = "drop the per-chunk threads and run the items on rayon directly (`items.par_iter()…`)";
            format!(
            "a thread per round of the loop (per chunk), each driving rayon parallel work (`{r}`): one thread per \
             round on top of rayon's pool of one thread per core = rounds + cores threads, the round threads \
             waiting while their work shares one pool of cores"
            )
        }
    };
    let d = cx
        .diagnostic(&META, spawn.span, message)
        .with_help(help);
    cx.report(d);
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// Rayon work or a spawned thread must be in this text for a pool built inside it.
    fn prefilter(&self) -> &'static [&'static str] {
        &["par_", "rayon", "spawn", "install", "join", "scope"]
    }

    /// Rayon work is recognised by rayon's paths and types, `par_` iterators or `install`: without one of
    /// them in the file, `join`, `scope` and `spawn` are someone else's.
    fn file_may_fire(&self, source: &str) -> bool {
        ["rayon", "par_", "install"].iter().any(|w| source.contains(w))
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        thread_per_item::track_loop(cx, e);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        thread_per_item::track_scope(cx, call);
        if let Some(s) = thread_per_item::spawn_of_call(call) {
            check_spawn(cx, s);
            return;
        }
        if call.is("tokio::runtime::Runtime::new") && in_rayon(cx) {
            let d = cx
                .diagnostic(&META, call.span(), "a tokio runtime is built inside rayon work: one runtime (and its worker threads) per item")
                .with_help(HELP);
            cx.report(d);
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        if let Some(s) = thread_per_item::spawn_of_method(cx, call) {
            check_spawn(cx, s);
            return;
        }
        let what = match call.method {
            "build" | "build_global" | "build_scoped"
                if call.receiver.is_any(&["rayon::ThreadPoolBuilder", "tokio::runtime::Builder"])
                    || chain_starts_at(cx, &call.expr.receiver, &|p| {
                        p.ends_with("ThreadPoolBuilder::new")
                            || p.ends_with("ThreadPoolBuilder::default")
                            || p.starts_with("tokio::runtime::Builder::new")
                    }) =>
            {
                "a thread pool or runtime is built inside rayon work: one pool (and its threads) per item"
            }
            "install"
                if call.receiver.starts_with("rayon::")
                    || matches!(call.expr.args.first(), Some(Expr::Closure(_))) && call.receiver.name().is_none() =>
            {
                "a nested `install`: a worker of the outer pool blocks while the inner pool runs the closure"
            }
            _ => return,
        };
        if in_rayon(cx) {
            let d = cx.diagnostic(&META, call.span(), what).with_help(HELP);
            cx.report(d);
        }
    }
}
