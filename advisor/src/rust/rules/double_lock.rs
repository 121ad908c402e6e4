//! CA403 `double-lock`: the same lock taken again while its guard is alive (self-deadlock).

use syn::Expr;

use super::guard_across_await::scrutinee;
use super::locking::{self, Acq, AcqScanner, Guard, Guards, LockLib};
use super::{Checker, FnBody, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a `Mutex` or `RwLock` (std, parking_lot or tokio) locked again, in the same function or in a
    /// closure it runs inline, while a guard of the same lock (the same receiver path, e.g. `self.state`) is
    /// still alive: a guard bound with `let`, or the temporary guard of a `match`, `if let` or `while let`
    /// scrutinee, which lives until the end of the whole `match`/`if let`/loop body. Two read locks of an
    /// `RwLock` are not reported; `try_lock` is not reported (it does not wait).
    ///
    /// ## Why is this bad?
    /// std's and tokio's locks are not reentrant: the second `lock()` waits for a guard that only this same
    /// thread (task) can release — it never returns (std may also panic). A `read()` followed by a `write()`
    /// of the same `RwLock` deadlocks the same way.
    ///
    /// ```rust,ignore
    /// match cache.lock().unwrap().get(&k) {    // the guard lives until the end of the match
    ///     Some(v) => v.clone(),
    ///     None => { cache.lock().unwrap().insert(k, v); … } // deadlock
    /// }
    /// ```
    ///
    /// ## Known problems
    /// Locks are identified by their receiver path in one function: the same lock reached through two
    /// different names (`let a = arc.clone()`) is not seen, nor a relock inside a called function.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let n = self.items.lock().unwrap();
    /// if n.is_empty() {
    ///     self.items.lock().unwrap().push(x);
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let mut n = self.items.lock().unwrap();
    /// if n.is_empty() {
    ///     n.push(x);
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// The thread hangs with zero CPU time inside the second `lock()` (in `futex_wait` on Linux);
    /// `#[profile_concurrency]` shows the function blocked for the rest of the run.
    pub static META = {
        code: "CA403",
        name: "double-lock",
        severity: Error,
        language: Rust,
        family: Locks,
        summary: "the same lock is taken again while its guard is alive: self-deadlock",
    };
}

#[derive(Default)]
pub struct State {
    guards: Guards,
    scanner: AcqScanner,
    reported: Vec<Span>,
}

/// The rule.
pub struct Rule;

fn counts(a: &Acq) -> bool {
    a.lib != LockLib::Cell && a.key.is_some()
}

fn report(cx: &mut Checker<'_>, st: &mut State, second: &Acq, first_span: Span, first_what: String) {
    if st.reported.contains(&second.span) {
        return;
    }
    st.reported.push(second.span);
    let key = second.key.clone().unwrap_or_default();
    let d = cx
        .diagnostic(&META, second.span, format!("`{key}` is locked again while a guard of it is still alive: this deadlocks"))
        .with_help("use the guard you already hold, or end it (end its block, `drop(guard)`) before locking again")
        .with_note(first_what, Some(first_span));
    cx.report(d);
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        locking::ACQUIRE_WORDS
    }

    fn needs_types(&self) -> bool {
        true
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        st.guards.on_local(cx, local);
        st.guards.live.retain(|g| counts(&g.acq));
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        st.guards.on_expr(e);
        let acq = st.scanner.on_expr(cx, e);
        let held: Vec<Guard> = if acq.is_some() { st.guards.held(cx) } else { Vec::new() };
        if let Some(acq) = acq.filter(|a| counts(a) && !a.is_try)
            && let Some(g) = held.iter().find(|g| g.acq.key == acq.key && g.acq.conflicts(&acq))
        {
            let what = format!("`{}` holds the guard of this lock until the end of its scope", g.name);
            report(cx, st, &acq, g.span, what);
        }
        let Some((scrut, body)) = scrutinee(e) else { return };
        let temps: Vec<Acq> = locking::acquisitions_in(cx, scrut).into_iter().filter(|a| counts(a) && !a.is_try).collect();
        if temps.is_empty() {
            return;
        }
        for second in body.acquisitions(cx) {
            if second.is_try || second.lib == LockLib::Cell {
                continue;
            }
            if let Some(first) = temps.iter().find(|t| t.key == second.key && t.conflicts(&second)) {
                let what = "the temporary guard taken here lives until the end of the `match`/`if let`/`while let` body"
                    .to_string();
                report(cx, st, &second, first.span, what);
            }
        }
    }
}

impl OnScopeExit for Rule {
    fn on_scope_exit(&self, _cx: &mut Checker<'_>, st: &mut State, scope: usize) {
        st.guards.on_scope_exit(scope);
    }
}

impl OnFnExit for Rule {
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut State, _body: &FnBody<'_>) {
        st.guards.on_fn_exit(cx);
    }
}
