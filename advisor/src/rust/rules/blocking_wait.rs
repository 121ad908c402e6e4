//! CA105 `blocking-wait-in-async`: blocking waits (thread joins, std/crossbeam channel receives, condition
//! variables, barriers, stdin reads, `thread::park`) in async context.

use super::{CallSite, Checker, Hooks, MethodCallSite, RustRule, Ty, CrateGraph, LinkContext};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports calls that block the thread until another thread acts, in async context:
    /// - `JoinHandle::join` of a `std::thread` (also scoped threads);
    /// - `recv`, `recv_timeout`, `recv_deadline` and `iter` on a `std::sync::mpsc` or `crossbeam_channel`
    ///   receiver, and `send` on a bounded `std::sync::mpsc::SyncSender`;
    /// - `Condvar::wait`, `wait_while`, `wait_timeout`, `wait_timeout_while`; `Barrier::wait`;
    /// - reading stdin (`std::io::stdin().read_line(..)`, `.lines()`, `read_to_string`);
    /// - `std::thread::park`/`park_timeout`.
    ///
    /// The receiver must be known (from `std::sync::mpsc::channel()`, `crossbeam_channel::bounded()`,
    /// `thread::spawn(..)`, a typed parameter or a struct field declared in this file), except for
    /// `recv_timeout`/`recv_deadline`/`wait_timeout_while`, which only blocking APIs have. tokio's channels
    /// (`rx.recv().await`) are never reported.
    ///
    /// ## Why is this bad?
    /// The executor's worker thread sleeps until the other side acts. If that other side is a task on the
    /// same runtime, it may never get to run: with a current-thread runtime (or as many blocked tasks as
    /// workers) this deadlocks; otherwise it stalls every task on that worker.
    ///
    /// ## Known problems
    /// A `try_recv` loop is not reported (it does not block). Receivers whose type cannot be seen in this file
    /// are not reported, except for the unambiguous method names above.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn next_job(rx: &std::sync::mpsc::Receiver<Job>) -> Job {
    ///     rx.recv().unwrap()
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn next_job(rx: &mut tokio::sync::mpsc::Receiver<Job>) -> Job {
    ///     rx.recv().await.unwrap()
    /// }
    /// ```
    /// For a thread: spawn it with `tokio::task::spawn_blocking` and `.await` its `JoinHandle`. For a
    /// condition variable: `tokio::sync::Notify`. For a barrier: `tokio::sync::Barrier`. For stdin:
    /// `tokio::io::stdin()` with `AsyncBufReadExt`.
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the async function's poll blocked (off-CPU, not runnable) for as long
    /// as the other thread takes; if the waited-for work is a task on the same runtime the poll never returns.
    pub static META = {
        code: "CA105",
        name: "blocking-wait-in-async",
        severity: Warning,
        language: Rust,
        summary: "a blocking wait (join, channel recv, Condvar, Barrier, stdin) in async context stalls the executor",
    };
}

/// What is being waited on, and the async replacement, for a receiver type and method.
fn classify(r: &Ty, m: &str) -> Option<(&'static str, &'static str)> {
    const RECV: &[&str] = &["recv", "recv_timeout", "recv_deadline", "iter"];
    let mpsc = "use `tokio::sync::mpsc` and `rx.recv().await`, or receive in `tokio::task::spawn_blocking`";
    if r.is_any(&["std::thread::JoinHandle", "std::thread::ScopedJoinHandle"]) && m == "join" {
        return Some((
            "joining a thread",
            "run the work with `tokio::task::spawn_blocking` and `.await` its `JoinHandle`, or join inside \
             `spawn_blocking`",
        ));
    }
    if r.is_any(&["std::sync::mpsc::Receiver", "crossbeam_channel::Receiver"]) && RECV.contains(&m) {
        return Some(("receiving from a blocking channel", mpsc));
    }
    if r.is("std::sync::mpsc::SyncSender") && m == "send" {
        return Some(("sending on a bounded blocking channel", "use `tokio::sync::mpsc` and `tx.send(v).await`"));
    }
    if r.is_any(&["std::sync::Condvar", "parking_lot::Condvar"])
        && matches!(m, "wait" | "wait_while" | "wait_timeout" | "wait_timeout_while" | "wait_until" | "wait_for")
    {
        return Some(("waiting on a `Condvar`", "use `tokio::sync::Notify` (`notify.notified().await`)"));
    }
    if r.is("std::sync::Barrier") && m == "wait" {
        return Some(("waiting on a `std::sync::Barrier`", "use `tokio::sync::Barrier` and `barrier.wait().await`"));
    }
    if r.is_any(&["std::io::Stdin", "std::io::StdinLock"])
        && matches!(m, "read_line" | "lines" | "read_to_string" | "read_to_end" | "read" | "read_exact")
    {
        return Some((
            "reading stdin",
            "use `tokio::io::stdin()` with `AsyncBufReadExt` (`BufReader::new(tokio::io::stdin()).lines()`)",
        ));
    }
    // Names only blocking APIs have: any receiver not known to be tokio's.
    let maybe_blocking = !r.starts_with("tokio::");
    if maybe_blocking && matches!(m, "recv_timeout" | "recv_deadline") {
        return Some(("receiving from a blocking channel", mpsc));
    }
    if maybe_blocking && m == "wait_timeout_while" {
        return Some(("waiting on a `Condvar`", "use `tokio::sync::Notify` (`notify.notified().await`)"));
    }
    None
}

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
        if call.is_any(&["std::thread::park", "std::thread::park_timeout"]) {
            cx.report_on_executor(
                &META,
                call.span(),
                "`std::thread::park` blocks the executor's worker thread until it is unparked",
                "wait on a `tokio::sync::Notify` (`notify.notified().await`) instead",
            );
        }
    }

    fn on_method_call(&self, cx: &mut Checker<'_>, call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let Some((what, help)) = classify(call.receiver, call.method) else { return };
        cx.report_on_executor(
            &META,
            call.span(),
            format!("{what} (`.{}()`) blocks the executor's worker thread", call.method),
            help,
        );
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}
