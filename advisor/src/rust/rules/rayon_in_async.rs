//! CA203 `rayon-in-async`: rayon parallel work (`par_iter`, `rayon::join`, `scope`, `install`) called directly
//! in async context, which blocks the executor thread until the rayon pool is done.

use super::{CallSite, Checker, MethodCallSite, OnCall, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::rust::heavy;

declare_rule! {
    /// ## What it does
    /// Reports rayon work that the calling thread waits for, run directly in async context: parallel
    /// iterators (`par_iter`, `into_par_iter`, `par_chunks`, `par_bridge`, `par_sort*`, `par_extend`, …),
    /// `rayon::join`, `rayon::scope`/`in_place_scope`, and `ThreadPool::install`. `rayon::spawn` (which does
    /// not wait) is not reported.
    ///
    /// ## Why is this bad?
    /// The executor's worker thread blocks until every rayon task finishes: no other task runs on it in the
    /// meantime, and on a current-thread runtime the whole program stalls. The work itself is fine on rayon;
    /// only the waiting is in the wrong place.
    ///
    /// ## Known problems
    /// Receivers are not typed: a method named like a rayon parallel iterator on another type is reported.
    /// `install` is reported on a receiver of unknown type when its argument is a closure.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn score(items: Vec<Item>) -> f64 {
    ///     items.par_iter().map(score_one).sum()
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn score(items: Vec<Item>) -> f64 {
    ///     let (tx, rx) = tokio::sync::oneshot::channel();
    ///     rayon::spawn(move || { let _ = tx.send(items.par_iter().map(score_one).sum()); });
    ///     rx.await.unwrap()
    /// }
    /// ```
    /// (or `tokio::task::spawn_blocking(move || items.par_iter().map(score_one).sum()).await`).
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the async function's poll blocked (off-CPU) for as long as the parallel
    /// work runs, while the rayon threads are on-CPU; other tasks on the runtime show run-queue wait.
    pub static META = {
        code: "CA203",
        name: "rayon-in-async",
        severity: Warning,
        language: Rust,
        family: ExecutorLoad,
        summary: "rayon parallel work called directly in async context blocks the executor thread until it ends",
        call_graph: Heavy,
        async_only: true,
    };
}

const HELP: &str = "hand the work to rayon without waiting on the executor: `rayon::spawn` and send the result back \
                    over a `tokio::sync::oneshot` channel, or wrap it in `tokio::task::spawn_blocking`";

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// Fires only in async code.
    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        let Some(p) = call.path else { return };
        if heavy::RAYON_FNS.contains(&p) {
            cx.report_on_executor(
                &META,
                call.span(),
                format!("`{p}` blocks the executor's worker thread until all its rayon tasks finish"),
                HELP,
            );
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        let m = call.method;
        let is_install = m == "install"
            && (call.receiver.starts_with("rayon::")
                || (call.receiver.name().is_none()
                    && call.expr.args.len() == 1
                    && matches!(call.expr.args.first(), Some(syn::Expr::Closure(_)))));
        if !(heavy::RAYON_METHODS.contains(&m) || is_install) {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            format!("rayon parallel work (`.{m}()`) blocks the executor's worker thread until it finishes"),
            HELP,
        );
    }
}
