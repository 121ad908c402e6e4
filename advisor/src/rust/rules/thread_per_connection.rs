//! CA302 `thread-per-connection`: advice on one OS thread per accepted connection (`listener.incoming()`,
//! `accept()` loops) for I/O-bound work.

use super::{CallSite, Checker, MethodCallSite, OnCall, OnExpr, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::rust::rules::thread_per_item::{self, LoopClass, Spawn};

declare_rule! {
    /// ## What it does
    /// Gives advice (severity `info`) where a thread is spawned for every accepted connection
    /// (`for stream in listener.incoming() { thread::spawn(..) }`, `loop { let (s, _) = l.accept()?; … }`)
    /// and the thread's work is not CPU-heavy by evidence (when it is, `thread-per-item` warns instead).
    ///
    /// ## Why is this bad?
    /// It is not wrong: I/O-bound threads mostly wait, so more threads than cores is fine, and for a few
    /// hundred connections thread-per-connection is simple and fast. But the number of threads is set by the
    /// clients: each costs a stack and a kernel thread, and a burst of connections (or a slow-loris client)
    /// can exhaust memory or the thread limit. Past a few thousand concurrent connections, async tasks or a
    /// bounded pool scale where threads do not.
    ///
    /// ## Known problems
    /// Advice only; servers with a known small number of clients can ignore or disable it.
    ///
    /// ## Example
    /// ```rust,ignore
    /// for stream in listener.incoming() {
    ///     let stream = stream?;
    ///     std::thread::spawn(move || handle(stream));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// loop {
    ///     let (stream, _) = listener.accept().await?; // tokio::net::TcpListener
    ///     tokio::spawn(handle(stream));
    /// }
    /// ```
    /// or cap the threads (a bounded pool, or a counting semaphore around `spawn`).
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the connection handlers I/O-bound (blocked time ≫ on-CPU time), with
    /// the thread count growing with the number of open connections.
    pub static META = {
        code: "CA302",
        name: "thread-per-connection",
        severity: Info,
        language: Rust,
        family: Threads,
        summary: "one OS thread per accepted connection: fine for I/O-bound work, but unbounded",
        call_graph: Heavy,
    };
}

fn check(cx: &mut Checker<'_>, spawn: Spawn<'_>) {
    if thread_per_item::spawn_in_loop(cx, spawn.span) != Some(LoopClass::Connections) {
        return;
    }
    let facts = thread_per_item::closure_facts(cx, spawn.closure);
    if facts.heavy_reason_per_item(&cx.settings().rust).is_some() {
        return;
    }
    let d = cx
        .diagnostic(
            &META,
            spawn.span,
            "one OS thread per accepted connection: fine while connections are few, but the thread count is set by \
             the clients",
        )
        .with_help(
            "for many connections serve them as async tasks (`tokio::net::TcpListener` + `tokio::spawn`), or bound \
             the threads with a pool or a semaphore",
        );
    cx.report(d);
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// The spawn must be in this text.
    fn prefilter(&self) -> &'static [&'static str] {
        &["spawn"]
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &syn::Expr) {
        thread_per_item::track_loop(cx, e);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        thread_per_item::track_scope(cx, call);
        if let Some(s) = thread_per_item::spawn_of_call(call) {
            check(cx, s);
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        if let Some(s) = thread_per_item::spawn_of_method(cx, call) {
            check(cx, s);
        }
    }
}
