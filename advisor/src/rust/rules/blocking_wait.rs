//! CA105 `blocking-wait-in-async`: blocking waits (thread joins, std/crossbeam channel receives, condition
//! variables, barriers, stdin reads, `thread::park`) in async context.

use syn::visit::{self, Visit};
use syn::{Expr, Stmt};

use super::{CallSite, Checker, CrateGraph, FnBody, LinkContext, MethodCallSite, OnCall, OnFn, OnMethodCall, RustRule, Ty};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports calls that block the thread until another thread acts, in async context:
    /// - `JoinHandle::join` of a `std::thread` (also scoped threads);
    /// - `recv`, `recv_timeout`, `recv_deadline` and `iter` on a `std::sync::mpsc` or `crossbeam_channel`
    ///   receiver, and `send` on a bounded `std::sync::mpsc::SyncSender`;
    /// - `Condvar::wait`, `wait_while`, `wait_timeout`, `wait_timeout_while`; `Barrier::wait`;
    /// - reading stdin (`std::io::stdin().read_line(..)`, `.lines()`, `read_to_string`);
    /// - `std::thread::park`/`park_timeout`;
    /// - the blocking forms of well-known crates' async primitives: `event_listener::EventListener::wait`
    ///   (`wait_timeout`, `wait_deadline`; the listener of `Event::listen()`), `flume::Receiver::recv`
    ///   (`recv_timeout`, `recv_deadline`, `iter`), `crossbeam_utils::sync::WaitGroup::wait`,
    ///   `crossbeam_utils::sync::Parker::park`, and any `recv_blocking`/`send_blocking` (async-channel's).
    ///   A project's own blocking functions go in `[rust] blocking-calls`.
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
    /// A `send` on a `std::sync::mpsc::sync_channel(N)` sender (bound by `let` in the same function, never
    /// cloned or passed on) that no path sends on more than `N` times cannot block, and is not reported.
    ///
    /// ## Known problems
    /// A `try_recv` loop is not reported (it does not block). Receivers whose type cannot be seen in the crate
    /// are not reported, except for the unambiguous method names above; a field, alias or return type declared
    /// in another file of the crate is followed (`self.handle.take().unwrap().join()`), a binding of a pattern
    /// (`if let Some(h) = self.handle.take()`) is not.
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
        family: Blocking,
        summary: "a blocking wait (join, channel recv, Condvar, Barrier, stdin) in async context stalls the executor",
        call_graph: Blocking,
        async_only: true,
    };
}

/// What is being waited on, and the async replacement, for a receiver type and method.
pub(crate) fn classify(r: &Ty, m: &str) -> Option<(&'static str, &'static str)> {
    const RECV: &[&str] = &["recv", "recv_timeout", "recv_deadline", "iter"];
    let mpsc = "use `tokio::sync::mpsc` and `rx.recv().await`, or receive in `tokio::task::spawn_blocking`";
    if r.is_any(&["std::thread::JoinHandle", "std::thread::ScopedJoinHandle"]) && m == "join" {
        return Some((
            "joining a thread",
            "run the work with `tokio::task::spawn_blocking` and `.await` its `JoinHandle`, or join inside \
             `spawn_blocking`",
        ));
    }
    if r.is_any(&["std::sync::mpsc::Receiver", "crossbeam_channel::Receiver", "flume::Receiver"]) && RECV.contains(&m)
    {
        let help = if r.is("flume::Receiver") { "await `rx.recv_async()` instead" } else { mpsc };
        return Some(("receiving from a blocking channel", help));
    }
    // Well-known crates' blocking waits (xline-kv/Xline#94: `EventListener::wait` in an async fn).
    if r.is("event_listener::EventListener") && matches!(m, "wait" | "wait_timeout" | "wait_deadline") {
        return Some(("waiting on an `event_listener::EventListener`", "`.await` the listener instead"));
    }
    if r.is_any(&["crossbeam_utils::sync::WaitGroup", "crossbeam::sync::WaitGroup"]) && m == "wait" {
        return Some((
            "waiting on a `crossbeam` `WaitGroup`",
            "wait in `tokio::task::spawn_blocking`, or use a `tokio::sync::Barrier` or a `JoinSet`",
        ));
    }
    if r.is_any(&["crossbeam_utils::sync::Parker", "crossbeam::sync::Parker"])
        && matches!(m, "park" | "park_timeout" | "park_deadline")
    {
        return Some(("parking the thread", "wait on a `tokio::sync::Notify` (`notify.notified().await`) instead"));
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
    if matches!(m, "recv_blocking" | "send_blocking") {
        return Some((
            "the blocking form of an async channel",
            "`.await` the async form (`recv().await`, `send(v).await`) instead",
        ));
    }
    if maybe_blocking && m == "wait_timeout_while" {
        return Some(("waiting on a `Condvar`", "use `tokio::sync::Notify` (`notify.notified().await`)"));
    }
    None
}

/// The rule.
pub struct Rule;

/// Per file: the `send` calls on bounded senders that never send more than the channel's capacity.
#[derive(Default)]
pub struct State {
    within_capacity: Vec<Span>,
}

/// The most sends on `name` along one path through `e`: `(continuing, exiting)` — the sends of paths that run
/// on past `e`, and of paths that leave the body (`return`) inside it. `u32::MAX` when a loop may send again.
fn max_sends(e: &Expr, name: &str, sends: &mut Vec<Span>, depth: usize) -> (u32, u32) {
    const MANY: u32 = u32::MAX / 4;
    if depth > 64 {
        return (MANY, MANY);
    }
    let d = depth + 1;
    let seq = |parts: &[(u32, u32)]| {
        let (mut cont, mut exit) = (0u32, 0u32);
        for (c, x) in parts {
            exit = exit.max(cont.saturating_add(*x));
            cont = cont.saturating_add(*c);
        }
        (cont.min(MANY), exit.min(MANY))
    };
    match e {
        Expr::MethodCall(m) => {
            let mut parts = vec![max_sends(&m.receiver, name, sends, d)];
            parts.extend(m.args.iter().map(|a| max_sends(a, name, sends, d)));
            if m.method == "send" && matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(name)) {
                sends.push(super::locking::method_span(m));
                parts.push((1, 0));
            }
            seq(&parts)
        }
        Expr::Block(b) => block_sends(&b.block, name, sends, d),
        Expr::Async(a) => block_sends(&a.block, name, sends, d),
        Expr::Unsafe(u) => block_sends(&u.block, name, sends, d),
        Expr::Closure(c) => {
            // Run once: the closures a sender is moved into (`thread::spawn(move || ..)`) are `FnOnce`.
            let (c, x) = max_sends(&c.body, name, sends, d);
            (c.max(x), 0)
        }
        Expr::If(i) => {
            let cond = max_sends(&i.cond, name, sends, d);
            let then = block_sends(&i.then_branch, name, sends, d);
            let els = i.else_branch.as_ref().map_or((0, 0), |(_, e)| max_sends(e, name, sends, d));
            seq(&[cond, (then.0.max(els.0), then.1.max(els.1))])
        }
        Expr::Match(m) => {
            let scrut = max_sends(&m.expr, name, sends, d);
            let arms = m.arms.iter().map(|a| max_sends(&a.body, name, sends, d)).fold((0, 0), |(c, x), (ac, ax)| {
                (c.max(ac), x.max(ax))
            });
            seq(&[scrut, arms])
        }
        Expr::ForLoop(f) => {
            let head = max_sends(&f.expr, name, sends, d);
            let (c, x) = block_sends(&f.body, name, sends, d);
            seq(&[head, (if c > 0 { MANY } else { 0 }, x)])
        }
        Expr::While(w) => {
            let (cc, cx) = max_sends(&w.cond, name, sends, d);
            let (c, x) = block_sends(&w.body, name, sends, d);
            (if c > 0 || cc > 0 { MANY } else { 0 }, x.max(cx))
        }
        Expr::Loop(l) => {
            let (c, x) = block_sends(&l.body, name, sends, d);
            (if c > 0 { MANY } else { 0 }, x)
        }
        Expr::Return(r) => {
            let (c, x) = r.expr.as_ref().map_or((0, 0), |e| max_sends(e, name, sends, d));
            (0, c.max(x))
        }
        _ => {
            // Anything else: its sub-expressions in sequence.
            struct Sub<'n, 's> {
                parts: Vec<(u32, u32)>,
                name: &'n str,
                sends: &'s mut Vec<Span>,
                depth: usize,
            }
            impl<'a> Visit<'a> for Sub<'_, '_> {
                fn visit_expr(&mut self, e: &'a Expr) {
                    self.parts.push(max_sends(e, self.name, self.sends, self.depth));
                }
                fn visit_item(&mut self, _: &'a syn::Item) {}
            }
            let mut v = Sub { parts: Vec::new(), name, sends, depth: d };
            visit::visit_expr(&mut v, e);
            seq(&v.parts)
        }
    }
}

fn block_sends(b: &syn::Block, name: &str, sends: &mut Vec<Span>, depth: usize) -> (u32, u32) {
    let (mut cont, mut exit) = (0u32, 0u32);
    for s in &b.stmts {
        let e = match s {
            Stmt::Local(l) => match &l.init {
                Some(i) => &*i.expr,
                None => continue,
            },
            Stmt::Expr(e, _) => e,
            _ => continue,
        };
        let (c, x) = max_sends(e, name, sends, depth);
        exit = exit.max(cont.saturating_add(x));
        if matches!(e, Expr::Return(_)) {
            return (0, exit.max(cont.saturating_add(c)));
        }
        cont = cont.saturating_add(c);
    }
    (cont, exit)
}

/// Whether `name` is only ever used as the receiver of `send`/`try_send` (never cloned, moved into a call or
/// stored), in `b`.
fn only_sent_on(b: &syn::Block, name: &str) -> bool {
    struct V<'n> {
        name: &'n str,
        ok: bool,
    }
    impl<'a> Visit<'a> for V<'_> {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::MethodCall(m) if matches!(&*m.receiver, Expr::Path(p) if p.path.is_ident(self.name)) => {
                    if m.method == "clone" || m.method == "by_ref" {
                        self.ok = false;
                    }
                    m.args.iter().for_each(|a| self.visit_expr(a));
                }
                Expr::Path(p) if p.path.is_ident(self.name) => self.ok = false,
                _ => visit::visit_expr(self, e),
            }
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V { name, ok: true };
    v.visit_block(b);
    v.ok
}

/// The senders of `let (tx, _) = std::sync::mpsc::sync_channel(N);` in `b` (not in nested items) whose sends
/// stay within `N` on every path: their `send` spans.
fn sends_within_capacity(cx: &Checker<'_>, b: &syn::Block) -> Vec<Span> {
    let mut out = Vec::new();
    let mut lets = Vec::new();
    collect_channel_lets(cx, b, &mut lets);
    for (name, cap) in lets {
        if !only_sent_on(b, &name) {
            continue;
        }
        let mut sends = Vec::new();
        let (c, x) = block_sends(b, &name, &mut sends, 0);
        if c.max(x) <= cap {
            out.extend(sends);
        }
    }
    out
}

fn collect_channel_lets(cx: &Checker<'_>, b: &syn::Block, out: &mut Vec<(String, u32)>) {
    struct V<'c, 'o, 'x> {
        cx: &'c Checker<'x>,
        out: &'o mut Vec<(String, u32)>,
    }
    impl<'a> Visit<'a> for V<'_, '_, '_> {
        fn visit_local(&mut self, l: &'a syn::Local) {
            if let syn::Pat::Tuple(t) = &l.pat
                && let Some(syn::Pat::Ident(tx)) = t.elems.first()
                && let Some(init) = &l.init
                && let Expr::Call(c) = &*init.expr
                && c.args.len() == 1
                && let Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) = &c.args[0]
                && let Ok(cap) = n.base10_parse::<u32>()
                && self.cx.semantic().resolve_callee(&c.func).is_some_and(|p| p == "std::sync::mpsc::sync_channel")
            {
                self.out.push((tx.ident.to_string(), cap));
            }
            visit::visit_local(self, l);
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    V { cx, out }.visit_block(b);
}

impl RustRule for Rule {
    type FileState = State;

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

impl OnFn for Rule {
    fn on_fn(&self, cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        if let Some(b) = body.block {
            st.within_capacity.extend(sends_within_capacity(cx, b));
        }
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut State, call: &CallSite<'_>) {
        if call.is_any(&["std::thread::park", "std::thread::park_timeout"]) {
            cx.report_on_executor(
                &META,
                call.span(),
                "`std::thread::park` blocks the executor's worker thread until it is unparked",
                "wait on a `tokio::sync::Notify` (`notify.notified().await`) instead",
            );
        } else if let Some(p) = call.path
            && crate::settings::RustSettings::lists_path(&cx.settings().rust.blocking_calls, p)
        {
            cx.report_on_executor(
                &META,
                call.span(),
                format!("`{p}` (listed in `rust.blocking-calls`) blocks the executor's worker thread"),
                "run it with `tokio::task::spawn_blocking`, or use an async counterpart",
            );
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        if crate::settings::RustSettings::lists_method(&cx.settings().rust.blocking_calls, call.method) {
            cx.report_on_executor(
                &META,
                call.span(),
                format!("`.{}()` (listed in `rust.blocking-calls`) blocks the executor's worker thread", call.method),
                "run it with `tokio::task::spawn_blocking`, or use an async counterpart",
            );
            return;
        }
        let Some((what, help)) = classify(call.receiver, call.method) else { return };
        if call.method == "send" && st.within_capacity.contains(&call.span()) {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            format!("{what} (`.{}()`) blocks the executor's worker thread", call.method),
            help,
        );
    }

}

#[cfg(test)]
mod configured_tests {
    use crate::settings::Settings;
    use std::path::Path;

    /// Issue 13: `[rust] blocking-calls` and `cpu-heavy-calls` name a project's own blocking or heavy functions
    /// (by path) and methods (by `.name`), e.g. `event_listener`'s blocking `.wait()` (xline-kv/Xline#94).
    #[test]
    fn configured_blocking_and_heavy_calls_in_async() {
        let src = "use mycrate::io::fetch_blocking;\nasync fn h(l: Listener) {\n    fetch_blocking();\n    l.wait_blocking();\n    mycrate::render(1);\n}\n";
        let codes = |s: &Settings| -> Vec<(&'static str, usize)> {
            crate::rust::analyze(Path::new("t.rs"), src, s).iter().map(|d| (d.rule.code, d.span.start.line)).collect()
        };
        assert!(codes(&Settings::default()).is_empty(), "{:?}", codes(&Settings::default()));
        let mut s = Settings::default();
        s.rust.blocking_calls = vec!["mycrate::io::fetch_blocking".into(), ".wait_blocking".into()];
        s.rust.cpu_heavy_calls = vec!["mycrate::render".into()];
        assert_eq!(codes(&s), [("CA105", 3), ("CA105", 4), ("CA201", 5)], "{:?}", codes(&s));
    }
}
