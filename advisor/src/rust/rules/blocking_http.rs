//! CA106 `blocking-http-in-async`: blocking HTTP clients (`reqwest::blocking`, `ureq`) in async context.

use super::{CallSite, Checker, CrateGraph, LinkContext, MethodCallSite, OnCall, OnMethodCall, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports blocking HTTP clients used in async context: any `reqwest::blocking` request
    /// (`reqwest::blocking::get`, `RequestBuilder::send`, `Client::execute`) or client construction
    /// (`reqwest::blocking::Client::new`/`builder`), and `ureq` requests (`.call()`, `.send_string()`,
    /// `.send_json()`, `.send_form()`, `.send_bytes()`, `.send()` on a `ureq` request).
    ///
    /// ## Why is this bad?
    /// A blocking HTTP request holds the executor's worker thread for the whole round trip: DNS, connect,
    /// TLS, server time, body transfer — easily hundreds of milliseconds. `reqwest::blocking` is worse: it
    /// runs its own tokio runtime internally, and creating or dropping one of its clients inside async code
    /// panics ("Cannot drop a runtime in a context where blocking is not allowed").
    ///
    /// ## Known problems
    /// A client or request whose type cannot be seen in this file (returned by a function in another file) is
    /// not reported.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn fetch(url: &str) -> reqwest::Result<String> {
    ///     reqwest::blocking::get(url)?.text()
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn fetch(url: &str) -> reqwest::Result<String> {
    ///     reqwest::get(url).await?.text().await
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows polls of the async function as long as the HTTP round trip, spent
    /// blocked on the network with little CPU; throughput of the whole runtime drops as concurrency rises.
    pub static META = {
        code: "CA106",
        name: "blocking-http-in-async",
        severity: Warning,
        language: Rust,
        family: Blocking,
        summary: "a blocking HTTP client (`reqwest::blocking`, `ureq`) in async context stalls the executor",
        call_graph: Blocking,
        async_only: true,
    };
}

const HELP: &str = "use the async `reqwest::Client` (`client.get(url).send().await`), or run the blocking \
                    request in `tokio::task::spawn_blocking`";

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
        let msg = if call.is_any(&["reqwest::blocking::get"]) {
            "`reqwest::blocking::get` performs a blocking HTTP request on the executor's worker thread"
        } else if call.is_any(&["reqwest::blocking::Client::new", "reqwest::blocking::Client::builder"]) {
            "a `reqwest::blocking::Client` runs its own runtime: creating or dropping it in async code panics, and \
             its requests block the executor"
        } else {
            return;
        };
        cx.report_on_executor(&META, call.span(), msg, HELP);
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let m = call.method;
        let r = call.receiver;
        let reqwest = r.is("reqwest::blocking::RequestBuilder") && m == "send"
            || r.is("reqwest::blocking::Client") && m == "execute";
        let ureq = r.starts_with("ureq::")
            && matches!(m, "call" | "send" | "send_string" | "send_json" | "send_form" | "send_bytes");
        if reqwest {
            cx.report_on_executor(
                &META,
                call.span(),
                format!("`.{m}()` on a `reqwest::blocking` client blocks the executor's worker thread for the request"),
                HELP,
            );
        } else if ureq {
            cx.report_on_executor(
                &META,
                call.span(),
                format!("`ureq` is a blocking HTTP client: `.{m}()` blocks the executor's worker thread for the request"),
                "use an async client such as `reqwest::Client` (`.send().await`), or run the `ureq` request in \
                 `tokio::task::spawn_blocking`",
            );
        }
    }

}
