//! CA109 `block-in-place-current-thread`: `tokio::task::block_in_place` under a current-thread runtime.

use super::{CallSite, Checker, CrateGraph, LinkContext, OnCall, RustRule};
use crate::declare_rule;
use crate::rust::context::RuntimeFlavor;

declare_rule! {
    /// ## What it does
    /// Reports `tokio::task::block_in_place` called from async code that runs on a current-thread runtime:
    /// inside `#[tokio::test]` (whose default flavour is current-thread), `#[tokio::main(flavor =
    /// "current_thread")]`, actix's runtimes, or an async block passed to `block_on` of a runtime built with
    /// `Builder::new_current_thread()`.
    ///
    /// ## Why is this bad?
    /// `block_in_place` works by handing the current worker's other tasks to another worker thread. A
    /// current-thread runtime has no other worker, so tokio panics: "can call blocking only when running on
    /// the multi-threaded runtime". Code that passes its tests under `#[tokio::main]` panics under
    /// `#[tokio::test]`, or the other way round.
    ///
    /// ## Known problems
    /// Only flavours visible in the same file are known; an async fn with no runtime attribute is not
    /// reported.
    ///
    /// ## Example
    /// ```rust,ignore
    /// #[tokio::test]
    /// async fn loads() {
    ///     let cfg = tokio::task::block_in_place(|| load_config());
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[tokio::test]
    /// async fn loads() {
    ///     let cfg = tokio::task::spawn_blocking(load_config).await.unwrap();
    /// }
    /// ```
    /// or `#[tokio::test(flavor = "multi_thread")]`.
    ///
    /// ## Runtime evidence
    /// The program panics at the call with "can call blocking only when running on the multi-threaded
    /// runtime".
    pub static META = {
        code: "CA109",
        name: "block-in-place-current-thread",
        severity: Error,
        language: Rust,
        family: Blocking,
        summary: "`block_in_place` panics on a current-thread runtime (`#[tokio::test]` by default)",
        call_graph: Blocking,
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
        &["block_in_place"]
    }

    fn needs_types(&self) -> bool {
        true
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        if !call.is("tokio::task::block_in_place") || cx.context().flavor() != RuntimeFlavor::CurrentThread {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            "`block_in_place` panics on a current-thread runtime (`#[tokio::test]` is current-thread by default)",
            "use `tokio::task::spawn_blocking(f).await`, or run on a multi-thread runtime \
             (`#[tokio::test(flavor = \"multi_thread\")]`)",
        );
    }

}
