//! CA303 `oversized-pool`: a hard-coded pool size above the configured limit, or `available_parallelism() * k`
//! (k > 1) for a CPU pool.

use syn::Expr;
use syn::visit::Visit;

use super::{CallSite, Checker, MethodCallSite, OnCall, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::rust::semantic::SemanticModel;

declare_rule! {
    /// ## What it does
    /// Reports pool sizes that oversubscribe the cores:
    /// - a literal size above `max-pool-threads` (`[rust] max-pool-threads`, default 64) for
    ///   `rayon::ThreadPoolBuilder::num_threads(N)`, tokio's `Builder::worker_threads(N)`, and
    ///   `threadpool::ThreadPool::new(N)`; for tokio's `max_blocking_threads(N)` the limit is the larger of
    ///   `max-pool-threads` and tokio's own default, 512;
    /// - `available_parallelism() * k` (or `num_cpus::get() * k`) with a literal k > 1 as the size of a CPU
    ///   pool (`num_threads`, `worker_threads`).
    ///
    /// ## Why is this bad?
    /// CPU-bound work runs in parallel only up to the number of cores. A CPU pool larger than that only adds
    /// time-slicing, cache thrashing and memory; a literal size is also wrong on every machine but the one it
    /// was tuned on. The pool should be sized from `std::thread::available_parallelism()` (rayon's and tokio's
    /// defaults already are). I/O-bound work needs more concurrency, but async tasks provide it without
    /// threads.
    ///
    /// ## Known problems
    /// A size computed into a variable first (`let n = cores * 4; b.num_threads(n)`) is not followed. Pools
    /// that run blocking I/O legitimately use more threads than cores (up to cores × (1 + wait/compute));
    /// raise `max-pool-threads` or suppress the finding there.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(256).build()?;
    /// let rt = tokio::runtime::Builder::new_multi_thread()
    ///     .worker_threads(num_cpus::get() * 4)
    ///     .build()?;
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(cores).build()?;
    /// let rt = tokio::runtime::Builder::new_multi_thread().build()?; // one worker per core
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` on the pool's work shows run-queue wait comparable to or larger than on-CPU
    /// time (classified *oversubscribed*) and recommends `available_parallelism()` threads.
    pub static META = {
        code: "CA303",
        name: "oversized-pool",
        severity: Warning,
        language: Rust,
        family: Threads,
        summary: "a pool hard-coded larger than the cores (literal size above the limit, or cores × k)",
        call_graph: Heavy,
    };
}

fn lit(e: &Expr) -> Option<u64> {
    match e {
        Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(i), .. }) => i.base10_parse().ok(),
        Expr::Paren(p) => lit(&p.expr),
        Expr::Group(g) => lit(&g.expr),
        Expr::Cast(c) => lit(&c.expr),
        _ => None,
    }
}

struct FindCores<'s> {
    sem: &'s SemanticModel,
    found: bool,
    level: u32,
}

impl<'ast> Visit<'ast> for FindCores<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.found || self.level >= crate::rust::heavy::MAX_NESTING {
            return;
        }
        self.level += 1;
        syn::visit::visit_expr(self, e);
        self.level -= 1;
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(p) = self.sem.resolve_callee(&c.func)
            && matches!(p.as_str(), "std::thread::available_parallelism" | "num_cpus::get" | "num_cpus::get_physical")
        {
            self.found = true;
        }
        syn::visit::visit_expr_call(self, c);
    }
}

fn mentions_cores(sem: &SemanticModel, e: &Expr) -> bool {
    let mut f = FindCores { sem, found: false, level: 0 };
    f.visit_expr(e);
    f.found
}

/// `cores * k` with literal k > 1: k.
fn cores_times(sem: &SemanticModel, e: &Expr) -> Option<u64> {
    match e {
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Mul(_)) => {
            let (k, other) = match (lit(&b.left), lit(&b.right)) {
                (Some(k), None) => (k, &b.right),
                (None, Some(k)) => (k, &b.left),
                _ => return None,
            };
            (k > 1 && mentions_cores(sem, other)).then_some(k)
        }
        Expr::Paren(p) => cores_times(sem, &p.expr),
        Expr::MethodCall(m) if m.method == "max" || m.method == "min" => cores_times(sem, &m.receiver),
        _ => None,
    }
}

const HELP: &str = "size CPU pools from `std::thread::available_parallelism()` (rayon's and tokio's defaults \
                    already do); for I/O-bound work use async tasks rather than more threads";

fn check_size(cx: &mut Checker<'_>, what: &str, arg: &Expr, span: crate::diagnostic::Span, cpu_pool: bool) {
    let limit = cx.settings().rust.max_pool_threads;
    let limit = if cpu_pool { limit } else { limit.max(512) };
    if let Some(n) = lit(arg) {
        if n > limit {
            let d = cx
                .diagnostic(
                    &META,
                    span,
                    format!("{what} hard-codes {n} threads (limit {limit}): more threads than cores oversubscribe the CPU"),
                )
                .with_help(HELP);
            cx.report(d);
        }
    } else if cpu_pool && let Some(k) = cores_times(cx.semantic(), arg) {
        let d = cx
            .diagnostic(
                &META,
                span,
                format!(
                    "{what} sizes a CPU pool at {k} × the cores: CPU-bound threads beyond the cores only time-slice"
                ),
            )
            .with_help(HELP);
        cx.report(d);
    }
}

/// Whether the receiver chain of a builder method starts at a pool builder.
fn is_pool_builder(cx: &Checker<'_>, call: &MethodCallSite<'_>) -> bool {
    if call.receiver.starts_with("rayon::") || call.receiver.starts_with("tokio::runtime::") {
        return true;
    }
    let mut e = &*call.expr.receiver;
    for _ in 0..32 {
        match e {
            Expr::MethodCall(m) => e = &m.receiver,
            Expr::Paren(p) => e = &p.expr,
            Expr::Call(c) => {
                return cx.semantic().resolve_callee(&c.func).is_some_and(|p| {
                    p.ends_with("ThreadPoolBuilder::new")
                        || p.ends_with("ThreadPoolBuilder::default")
                        || p.starts_with("tokio::runtime::Builder::")
                        || p.starts_with("threadpool::Builder::")
                });
            }
            Expr::Path(_) => return true,
            _ => return false,
        }
    }
    false
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// Pool constructors and size setters.
    fn prefilter(&self) -> &'static [&'static str] {
        &["ThreadPool", "Pool::new", "num_threads", "worker_threads", "max_blocking_threads"]
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        if call.is_any(&["threadpool::ThreadPool::new", "scoped_threadpool::Pool::new"])
            && let Some(arg) = call.expr.args.first()
        {
            check_size(cx, "`ThreadPool::new`", arg, call.span(), true);
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        let cpu_pool = match call.method {
            "num_threads" | "worker_threads" => true,
            "max_blocking_threads" => false,
            _ => return,
        };
        if call.expr.args.len() != 1 || !is_pool_builder(cx, call) {
            return;
        }
        let Some(arg) = call.expr.args.first() else { return };
        check_size(cx, &format!("`.{}(..)`", call.method), arg, call.span(), cpu_pool);
    }
}
