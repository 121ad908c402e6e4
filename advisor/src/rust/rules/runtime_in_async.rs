//! CA107 `runtime-in-async`: building a runtime or calling `block_on` inside async context.

use super::{CallSite, Checker, Hooks, MethodCallSite, RustRule, CrateGraph, LinkContext};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports, in async context: `tokio::runtime::Runtime::new()` and `Builder::…::build()`;
    /// `block_on` on a tokio `Runtime` or `Handle` (and any `.block_on(..)` whose result is not awaited);
    /// `futures::executor::block_on`, `futures_lite::future::block_on`, `pollster::block_on`,
    /// `async_std::task::block_on`, `smol::block_on`.
    ///
    /// ## Why is this bad?
    /// tokio panics with "Cannot start a runtime from within a runtime" when `block_on` is called on a thread
    /// that is already driving a runtime, and "Cannot drop a runtime in a context where blocking is not
    /// allowed" when a runtime built inside async code is dropped there. Executor-agnostic `block_on`s
    /// (futures, pollster) do not panic but block the worker thread until the future completes; if that
    /// future needs the blocked runtime (a tokio timer, socket or channel) it deadlocks.
    ///
    /// ## Known problems
    /// `block_on` reached through a sync helper defined in another file is not reported by this rule.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn handler() -> Data {
    ///     let rt = tokio::runtime::Runtime::new().unwrap();
    ///     rt.block_on(fetch())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn handler() -> Data {
    ///     fetch().await
    /// }
    /// ```
    /// Sync code that must call async code from inside the runtime belongs in `tokio::task::spawn_blocking`,
    /// where `Handle::current().block_on(..)` is allowed.
    ///
    /// ## Runtime evidence
    /// The program panics at the call; with an executor-agnostic `block_on`, `#[profile_concurrency]` shows the
    /// async function's poll blocked for the whole inner future, or never returning.
    pub static META = {
        code: "CA107",
        name: "runtime-in-async",
        severity: Error,
        language: Rust,
        summary: "a runtime built or `block_on` called inside async context panics or deadlocks",
    };
}

const BLOCK_ONS: &[&str] = &[
    "futures::executor::block_on",
    "futures_lite::future::block_on",
    "pollster::block_on",
    "async_std::task::block_on",
    "smol::block_on",
    "tokio::runtime::Handle::block_on",
    "tokio::runtime::Runtime::block_on",
];

const HELP: &str = "`.await` the future instead; sync code that must block on async work belongs in \
                    `tokio::task::spawn_blocking`, where `Handle::current().block_on(..)` is allowed";

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }

    fn hooks(&self) -> Hooks {
        Hooks::CALL | Hooks::METHOD_CALL
    }

    fn on_call(&self, cx: &mut Checker<'_>, call: &CallSite<'_>) {
        let msg = if call.is("tokio::runtime::Runtime::new") {
            "building a tokio runtime inside async context: using it panics (`Cannot start a runtime from within a \
             runtime`), and so does dropping it here"
                .to_string()
        } else if call.is_any(BLOCK_ONS) {
            format!(
                "`{}` blocks the executor's worker thread until the future completes (tokio panics; others can \
                 deadlock)",
                call.path.unwrap_or_default()
            )
        } else {
            return;
        };
        cx.report_on_executor(&META, call.span(), msg, HELP);
    }

    fn on_method_call(&self, cx: &mut Checker<'_>, call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let r = call.receiver;
        let msg = match call.method {
            "build" if r.is("tokio::runtime::Builder") => {
                "building a tokio runtime inside async context: using it panics (`Cannot start a runtime from within \
                 a runtime`), and so does dropping it here"
            }
            "block_on" if r.is_any(&["tokio::runtime::Runtime", "tokio::runtime::Handle"]) => {
                "`block_on` inside async context panics: `Cannot start a runtime from within a runtime`"
            }
            "block_on" => {
                "`block_on` inside async context blocks the executor's worker thread until the future completes \
                 (tokio panics; other executors can deadlock)"
            }
            _ => return,
        };
        cx.report_on_executor(&META, call.span(), msg, HELP);
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}
