//! CA414 `sleep-polling-loop`: a loop that only sleeps until a flag (atomic or locked value) changes.

use syn::{Expr, Stmt};

use super::locking;
use super::spin_without_hint::tests_atomic;
use super::{Checker, OnExpr, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a loop whose condition reads a flag shared with another thread — an atomic `load`, or a value
    /// read through a lock (`*done.lock().unwrap()`) — and whose body only sleeps
    /// (`std::thread::sleep`, `tokio::time::sleep(..).await`, `async_std::task::sleep(..).await`):
    /// `while !done.load(o) { thread::sleep(ms(10)) }`, or `loop { if done.load(o) { break; } sleep(..) }`.
    /// Loops that do any other work per iteration (periodic jobs) are not reported.
    ///
    /// ## Why is this bad?
    /// The waiting thread wakes up for nothing on every tick and still reacts up to one full period late:
    /// the sleep trades latency against wasted wake-ups, and there is no good value. The thread that sets
    /// the flag could just as well wake the waiter exactly when it changes.
    ///
    /// ## Known problems
    /// Flags set by another process, or by code that cannot be changed to notify, need polling; suppress the
    /// finding there.
    ///
    /// ## Example
    /// ```rust,ignore
    /// while !done.load(Ordering::Acquire) {
    ///     std::thread::sleep(Duration::from_millis(10));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// // threads: a Condvar (`cvar.wait_while(guard, |done| !*done)`), a channel (`rx.recv()`), or
    /// // `thread::park` + `unpark`; async: `tokio::sync::Notify` (`notify.notified().await`) or a
    /// // `tokio::sync::watch` channel.
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the waiting function almost entirely blocked, with a regular stream of
    /// tiny wake-ups.
    pub static META = {
        code: "CA414",
        name: "sleep-polling-loop",
        severity: Info,
        language: Rust,
        family: Locks,
        summary: "a loop sleeps until a shared flag changes (use a Condvar, channel or `Notify`)",
    };
}

/// The rule.
pub struct Rule;

const SLEEPS: &[&str] = &["std::thread::sleep", "tokio::time::sleep", "async_std::task::sleep"];

/// Whether the condition reads a shared flag: an atomic test, or a value read through a lock.
fn reads_flag(cx: &Checker<'_>, e: &Expr) -> bool {
    tests_atomic(e) || !locking::acquisitions_in(cx, e).is_empty()
}

/// Whether the statement is only a sleep call (awaited or not).
fn is_sleep(cx: &Checker<'_>, s: &Stmt) -> bool {
    let e = match s {
        Stmt::Expr(e, _) => e,
        _ => return false,
    };
    let e = match e {
        Expr::Await(a) => &*a.base,
        other => other,
    };
    match e {
        Expr::Call(c) => cx.semantic().resolve_callee(&c.func).is_some_and(|p| SLEEPS.contains(&p.as_str())),
        _ => false,
    }
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["sleep"]
    }

    fn needs_types(&self) -> bool {
        true
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        let span = match e {
            Expr::While(w) => {
                if matches!(&*w.cond, Expr::Let(_))
                    || w.body.stmts.is_empty()
                    || !w.body.stmts.iter().all(|s| is_sleep(cx, s))
                    || !reads_flag(cx, &w.cond)
                {
                    return;
                }
                Span::new(
                    Span::from_pm2(w.while_token.span).start,
                    Span::from_pm2(syn::spanned::Spanned::span(&w.cond)).end,
                )
            }
            Expr::Loop(l) => {
                let stmts = &l.body.stmts;
                let Some(Stmt::Expr(Expr::If(i), _)) = stmts.first() else { return };
                let breaks = matches!(i.then_branch.stmts.as_slice(), [Stmt::Expr(Expr::Break(_), _)]);
                if !breaks
                    || i.else_branch.is_some()
                    || stmts.len() < 2
                    || !stmts[1..].iter().all(|s| is_sleep(cx, s))
                    || !reads_flag(cx, &i.cond)
                {
                    return;
                }
                Span::from_pm2(l.loop_token.span)
            }
            _ => return,
        };
        let async_ctx = cx.context().in_async();
        let help = if async_ctx {
            "wait on a `tokio::sync::Notify` (`notify.notified().await`) or a `tokio::sync::watch` channel that the \
             setter signals"
        } else {
            "block on a `Condvar` (`wait_while`), a channel (`recv`), or `thread::park` that the setter signals"
        };
        let d = cx
            .diagnostic(&META, span, "this loop sleeps until a shared flag changes: it wakes up for nothing and reacts late")
            .with_help(help);
        cx.report(d);
    }
}
