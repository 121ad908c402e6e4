//! CA104 `blocking-process-wait-in-async`: waiting for a child process with `std::process` in async context.

use super::{Checker, CrateGraph, LinkContext, MethodCallSite, OnMethodCall, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports `std::process::Command::output()`/`status()` and `std::process::Child::wait()`/
    /// `wait_with_output()` in async context. Builder chains are followed
    /// (`Command::new("git").arg("pull").output()`), and `tokio::process::Command` is never confused with the
    /// std one.
    ///
    /// ## Why is this bad?
    /// These calls block until the child exits, which can take arbitrarily long: the executor's worker thread
    /// runs no other task until then. `Command::spawn` alone does not wait and is not reported.
    ///
    /// ## Known problems
    /// A `Child` or `Command` whose type cannot be seen in this file (returned by a function in another file)
    /// is not reported.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn git_pull() -> std::io::Result<()> {
    ///     let out = std::process::Command::new("git").arg("pull").output()?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn git_pull() -> std::io::Result<()> {
    ///     let out = tokio::process::Command::new("git").arg("pull").output().await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows one poll of the async function as long as the child's run time, spent
    /// blocked in `wait`, with no CPU time of its own.
    pub static META = {
        code: "CA104",
        name: "blocking-process-wait-in-async",
        severity: Warning,
        language: Rust,
        family: Blocking,
        summary: "waiting for a `std::process` child in async context blocks the executor thread",
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
        if call.awaited {
            return;
        }
        let m = call.method;
        let (what, help) = if call.receiver.is("std::process::Command") && (m == "output" || m == "status") {
            ("`std::process::Command`", format!("use `tokio::process::Command` and `.{m}().await`"))
        } else if call.receiver.is("std::process::Child") && (m == "wait" || m == "wait_with_output") {
            (
                "`std::process::Child`",
                format!("spawn it with `tokio::process::Command` and call `.{m}().await` on the `tokio::process::Child`"),
            )
        } else {
            return;
        };
        cx.report_on_executor(
            &META,
            call.span(),
            format!("`.{m}()` on a {what} blocks the executor's worker thread until the child process exits"),
            help,
        );
    }

}
