//! CA202 `cpu-heavy-in-spawn-blocking`: CPU-heavy work handed to `spawn_blocking`, whose pool is sized for
//! blocking I/O.

use syn::Expr;

use super::{Checker, CrateGraph, LinkContext, OnExpr, RustRule};
use crate::declare_rule;
use crate::rust::callgraph::SiteContext;
use crate::rust::context::{FrameKind, OffExecutor};
use crate::rust::heavy;

declare_rule! {
    /// ## What it does
    /// Reports CPU-heavy work inside a closure handed to `tokio::task::spawn_blocking` (or
    /// `Handle::spawn_blocking`, `async_std::task::spawn_blocking`, `smol::unblock`, `actix_web::web::block`):
    /// a loop heavy by clear evidence (see `cpu-heavy-in-async`: a long literal range, nested loops, hashing or
    /// sorting per iteration), or a call to a crate-local function that is CPU-heavy (through the crate-wide
    /// call graph, with the chain in the notes).
    ///
    /// ## Why is this bad?
    /// tokio's blocking pool is sized for threads that wait on I/O: up to 512 threads by default. CPU-bound
    /// closures sent there under load run on hundreds of threads at once on a handful of cores, so each one
    /// takes many times longer, memory grows with every thread stack, and the blocking I/O that the pool is
    /// for queues behind them. A pool sized to the cores (rayon) runs the same work at full speed.
    ///
    /// ## Known problems
    /// A short burst of CPU work (a few milliseconds, rarely) in `spawn_blocking` is what tokio's
    /// documentation suggests, and is fine; the evidence here cannot tell how often the closure runs.
    /// Suppress the finding for one-off work.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let digest = tokio::task::spawn_blocking(move || {
    ///     let mut h = 0u64;
    ///     for i in 0..50_000_000u64 { h = h.wrapping_mul(31).wrapping_add(i); }
    ///     h
    /// }).await?;
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// rayon::spawn(move || {
    ///     let mut h = 0u64;
    ///     for i in 0..50_000_000u64 { h = h.wrapping_mul(31).wrapping_add(i); }
    ///     let _ = tx.send(h);
    /// });
    /// let digest = rx.await?;
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` on the closure's work shows it CPU-bound with a large run-queue wait (more
    /// runnable threads than cores): classified *oversubscribed*, with a recommended pool of
    /// `available_parallelism()` threads.
    pub static META = {
        code: "CA202",
        name: "cpu-heavy-in-spawn-blocking",
        severity: Warning,
        language: Rust,
        family: ExecutorLoad,
        summary: "CPU-heavy work handed to `spawn_blocking`, a pool sized for blocking I/O (up to 512 threads)",
        call_graph: Heavy,
    };
}

/// The rule.
pub struct Rule;

/// Whether the current code runs in a closure handed to `spawn_blocking` (through plain closures).
pub fn in_spawn_blocking(cx: &Checker<'_>) -> bool {
    for f in cx.context().frames().iter().rev() {
        match f.kind {
            FrameKind::Closure => continue,
            FrameKind::OffExecutor(OffExecutor::SpawnBlocking) => return true,
            _ => return false,
        }
    }
    false
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// The closure must be handed to `spawn_blocking` (or a wrapper recognised by name) in this text; in async
    /// code (`actix_web::web::block`) the rule sees everything.
    fn prefilter(&self) -> &'static [&'static str] {
        &["spawn_blocking", "unblock", "asyncify", "run_blocking"]
    }

    /// Calls from `spawn_blocking` closures to crate functions that are CPU-heavy, themselves or through their
    /// callees.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        let where_ = "on tokio's blocking pool (sized for blocking I/O, up to 512 threads)";
        super::cpu_heavy_in_async::link_heavy_calls(&META, SiteContext::SpawnBlocking, where_, graph, cx, |callee| {
            format!(
                "run `{callee}` on rayon (`rayon::spawn` + a `tokio::sync::oneshot` channel) or a pool sized to \
                 `std::thread::available_parallelism()`"
            )
        });
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        if !matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) {
            return;
        }
        let Some(reason) = heavy::loop_evidence(cx, e) else { return };
        if !in_spawn_blocking(cx) {
            return;
        }
        let Some(span) = heavy::loop_header_span(e) else { return };
        let d = cx
            .diagnostic(
                &META,
                span,
                format!(
                    "CPU-heavy loop ({reason}) handed to `spawn_blocking`: that pool is sized for blocking I/O (up \
                     to 512 threads), not for the cores"
                ),
            )
            .with_help(
                "run CPU-bound work on rayon (`rayon::spawn` + a `tokio::sync::oneshot` channel back) or on a pool \
                 sized to `std::thread::available_parallelism()`",
            );
        cx.report(d);
    }

}
