//! CA101 `blocking-sleep-in-async`: `std::thread::sleep` in async context.

use super::{CallSite, Checker, CrateGraph, LinkContext, OnCall, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports `std::thread::sleep` (under any import name, e.g. `use std::thread::sleep as nap`) called in
    /// async context: an `async fn`, an async block or an async closure — but not in a closure handed to
    /// `spawn_blocking`, `block_in_place`, `std::thread::spawn` or rayon, nor in a nested non-async `fn`.
    ///
    /// ## Why is this bad?
    /// An async executor runs many tasks on a few worker threads (one, on a current-thread runtime).
    /// `std::thread::sleep` parks the worker thread itself: every other task scheduled on it stalls for the
    /// whole duration, timers fire late, and on a current-thread runtime the program stops making progress.
    ///
    /// ## Known problems
    /// Only the code in this file is seen: an async fn calling a helper in another file that sleeps is not
    /// reported by this rule. A closure stored in a variable and later handed to `spawn_blocking` is
    /// treated as running where it is defined.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn poll_status(client: &Client) {
    ///     loop {
    ///         client.refresh().await;
    ///         std::thread::sleep(Duration::from_secs(1));
    ///     }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn poll_status(client: &Client) {
    ///     loop {
    ///         client.refresh().await;
    ///         tokio::time::sleep(Duration::from_secs(1)).await;
    ///     }
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// Under `#[profile_concurrency]` the async function shows polls as long as the sleep with almost no CPU
    /// time in them (blocked time ≈ wall time of the poll), and other tasks on the same runtime show run-queue
    /// wait of the same length.
    pub static META = {
        code: "CA101",
        name: "blocking-sleep-in-async",
        severity: Warning,
        language: Rust,
        family: Blocking,
        summary: "`std::thread::sleep` in async context blocks the executor thread",
        call_graph: Blocking,
        async_only: true,
    };
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        if !call.is_any(&["std::thread::sleep", "std::thread::sleep_ms"]) {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            "`std::thread::sleep` blocks the executor's worker thread",
            "use `tokio::time::sleep(d).await`, which suspends only this task",
        );
    }

}
