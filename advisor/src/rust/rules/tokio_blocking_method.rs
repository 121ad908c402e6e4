//! CA108 `tokio-blocking-in-async`: tokio's `blocking_*` methods in async context (documented to panic).

use super::{Checker, CrateGraph, LinkContext, MethodCallSite, OnMethodCall, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports tokio's synchronous bridge methods called in async context: `Mutex::blocking_lock`
    /// (`blocking_lock_owned`), `RwLock::blocking_read`/`blocking_write`, `mpsc::Receiver::blocking_recv`
    /// (`blocking_recv_many`), `mpsc::Sender::blocking_send`, `oneshot::Receiver::blocking_recv`. These names
    /// are unambiguous, so the receiver need not be known; a receiver known to be a non-tokio type is not
    /// reported.
    ///
    /// ## Why is this bad?
    /// These methods exist for sync code *outside* the runtime. tokio documents that they panic when called
    /// from within an asynchronous execution context ("Cannot block the current thread from within a
    /// runtime").
    ///
    /// ## Known problems
    /// Calling them in a closure given to `spawn_blocking` is correct and is not reported; calling them in a
    /// sync helper that an async function calls is a panic this rule cannot see.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn bump(counter: &tokio::sync::Mutex<u64>) {
    ///     *counter.blocking_lock() += 1;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn bump(counter: &tokio::sync::Mutex<u64>) {
    ///     *counter.lock().await += 1;
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// The program panics at the call with "Cannot block the current thread from within a runtime".
    pub static META = {
        code: "CA108",
        name: "tokio-blocking-in-async",
        severity: Error,
        language: Rust,
        family: Blocking,
        summary: "tokio's `blocking_lock`/`blocking_recv`/`blocking_send`/… panic in async context",
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

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        let fix = match call.method {
            "blocking_lock" => ".lock().await",
            "blocking_lock_owned" => ".lock_owned().await",
            "blocking_read" => ".read().await",
            "blocking_write" => ".write().await",
            "blocking_recv" => ".recv().await",
            "blocking_recv_many" => ".recv_many(..).await",
            "blocking_send" => ".send(value).await",
            _ => return,
        };
        if call.receiver.name().is_some() && !call.receiver.starts_with("tokio::") {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            format!("`{}` panics when called in async context", call.method),
            format!("use `{fix}`"),
        );
    }

}
