//! CA103 `blocking-net-in-async`: blocking `std::net` network I/O in async context.

use syn::Expr;

use super::{CallSite, Checker, CrateGraph, LinkContext, MethodCallSite, OnCall, OnMethodCall, RustRule, strip_wrappers};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports blocking network calls in async context: `std::net::TcpStream::connect`/`connect_timeout`,
    /// `TcpListener::accept`/`incoming`, reads, writes and `peek` on a `std::net::TcpStream`, `recv`/`send`
    /// (and `_from`/`_to`) on a `std::net::UdpSocket`, and name resolution with `to_socket_addrs` (the
    /// `std::net::ToSocketAddrs` trait, which has no async counterpart of the same name).
    ///
    /// ## Why is this bad?
    /// A blocking socket call waits for the peer: a connect can take a full TCP timeout, an `accept` waits for
    /// the next client, a `read` waits for data, and `to_socket_addrs` runs a blocking DNS lookup. Meanwhile the
    /// executor's worker thread runs no other task; with one such call per worker the whole server stops.
    ///
    /// ## Known problems
    /// Sockets whose type cannot be seen in this file (returned by a function in another file) are not
    /// reported. A `std::net::TcpListener` converted with `tokio::net::TcpListener::from_std` is async and is
    /// not reported once converted.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn serve(listener: std::net::TcpListener) {
    ///     for stream in listener.incoming() {
    ///         tokio::spawn(handle(stream.unwrap()));
    ///     }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn serve(listener: tokio::net::TcpListener) {
    ///     loop {
    ///         let (stream, _) = listener.accept().await.unwrap();
    ///         tokio::spawn(handle(stream));
    ///     }
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows polls of the async function lasting as long as the network wait with
    /// near-zero CPU time, and run-queue wait rising for every other task on the runtime.
    pub static META = {
        code: "CA103",
        name: "blocking-net-in-async",
        severity: Warning,
        language: Rust,
        family: Blocking,
        summary: "blocking `std::net` socket I/O or DNS lookup in async context stalls the executor thread",
        call_graph: Blocking,
        async_only: true,
    };
}

const CONNECTS: &[&str] = &["std::net::TcpStream::connect", "std::net::TcpStream::connect_timeout"];
const STREAM_METHODS: &[&str] = &[
    "read",
    "read_exact",
    "read_to_end",
    "read_to_string",
    "read_line",
    "lines",
    "read_vectored",
    "write",
    "write_all",
    "write_fmt",
    "write_vectored",
    "flush",
    "peek",
];
const UDP_METHODS: &[&str] = &["recv", "recv_from", "send", "send_to", "peek", "peek_from"];

fn is_reported_receiver(cx: &Checker<'_>, e: &Expr) -> bool {
    match strip_wrappers(e) {
        Expr::Call(c) => cx.semantic().resolve_callee(&c.func).is_some_and(|p| CONNECTS.contains(&p.as_str())),
        _ => false,
    }
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
        if call.awaited {
            return;
        }
        let help = if call.is_any(CONNECTS) {
            "use `tokio::net::TcpStream::connect(addr).await` (with `tokio::time::timeout` for a deadline)"
        } else if call.is("std::net::ToSocketAddrs::to_socket_addrs") {
            "use `tokio::net::lookup_host(addr).await`"
        } else {
            return;
        };
        let name = call.path.unwrap_or_default();
        cx.report_on_executor(
            &META,
            call.span(),
            format!("`{name}` blocks the executor's worker thread on the network"),
            help,
        );
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let m = call.method;
        let r = call.receiver;
        let (what, help) = if m == "to_socket_addrs" {
            ("DNS resolution with `to_socket_addrs`", "use `tokio::net::lookup_host(addr).await`".to_string())
        } else if r.is("std::net::TcpListener") && (m == "accept" || m == "incoming") {
            (
                "accepting on a `std::net::TcpListener`",
                "use `tokio::net::TcpListener` and `listener.accept().await` (convert with `TcpListener::from_std`)"
                    .to_string(),
            )
        } else if r.is("std::net::TcpStream") && STREAM_METHODS.contains(&m) {
            (
                "I/O on a `std::net::TcpStream`",
                format!("use `tokio::net::TcpStream` with `AsyncReadExt`/`AsyncWriteExt` (`.{m}(..).await`)"),
            )
        } else if r.is("std::net::UdpSocket") && UDP_METHODS.contains(&m) {
            ("I/O on a `std::net::UdpSocket`", format!("use `tokio::net::UdpSocket` and `.{m}(..).await`"))
        } else {
            return;
        };
        if is_reported_receiver(cx, &call.expr.receiver) {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            format!("{what} (`.{m}()`) blocks the executor's worker thread on the network"),
            help,
        );
    }

}
