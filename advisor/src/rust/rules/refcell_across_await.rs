//! CA402 `refcell-borrow-across-await`: a `RefCell` borrow alive across an `.await`.

use syn::Expr;

use super::guard_across_await::scrutinee;
use super::locking::{self, Guards, LockLib};
use super::{Checker, FnBody, OnAwait, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a `RefCell` borrow (`Ref`/`RefMut` from `borrow()`/`borrow_mut()`) bound with `let` and still
    /// alive at an `.await` of the same async function or block, and a borrow taken in the scrutinee of a
    /// `match`/`if let`/`while let` whose body `.await`s. Borrows ended by their block, by `drop`, or by a
    /// move before the `.await` are not reported.
    ///
    /// ## Why is this bad?
    /// While the task is suspended, the borrow is still active. Any other code that runs meanwhile on the same
    /// thread — another task of a `LocalSet`, a callback — and borrows the same cell mutably panics with
    /// `already borrowed: BorrowMutError`. The panic depends on scheduling, so tests rarely catch it.
    ///
    /// ## Known problems
    /// `borrow()` is recognised only on values known to be `RefCell`s (a constructor, a typed parameter or a
    /// field declared in this file); `borrow_mut()` also on receivers of unknown type.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn refresh(cache: Rc<RefCell<Cache>>) {
    ///     let mut c = cache.borrow_mut();
    ///     c.entries = fetch().await;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn refresh(cache: Rc<RefCell<Cache>>) {
    ///     let entries = fetch().await;
    ///     cache.borrow_mut().entries = entries;
    /// }
    /// ```
    ///
    /// ## Runtime evidence
    /// A `BorrowMutError` panic in a task that runs concurrently with this one on the same thread.
    pub static META = {
        code: "CA402",
        name: "refcell-borrow-across-await",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a `RefCell` borrow is held across an `.await`",
        equivalent: "clippy::await_holding_refcell_ref",
        async_only: true,
    };
}

#[derive(Default)]
pub struct State {
    guards: Guards,
    reported: Vec<Span>,
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["await"]
    }

    fn needs_types(&self) -> bool {
        true
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        st.guards.on_local(cx, local);
        st.guards.live.retain(|g| g.acq.lib == LockLib::Cell && !g.acq.is_try);
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        st.guards.on_expr(e);
        if !cx.context().in_async() {
            return;
        }
        let Some((scrut, body)) = scrutinee(e) else { return };
        let Some(acq) = locking::acquisitions_in(cx, scrut).into_iter().find(|a| a.lib == LockLib::Cell && !a.is_try)
        else {
            return;
        };
        let Some(at) = body.first_await() else { return };
        let d = cx
            .diagnostic(&META, acq.span, "this `RefCell` borrow is a temporary of the scrutinee and lives across an `.await`")
            .with_help("copy or clone what you need out of the cell before the `match`/`if let`, so the borrow ends first")
            .with_note("the borrow is still active at this `.await`", Some(at));
        cx.report(d);
    }
}

impl OnAwait for Rule {
    fn on_await(&self, cx: &mut Checker<'_>, st: &mut State, aw: &syn::ExprAwait) {
        let at = Span::from_pm2(aw.await_token.span);
        let held = st.guards.in_frame(cx);
        for g in held {
            if st.reported.contains(&g.span) {
                continue;
            }
            st.reported.push(g.span);
            let d = cx
                .diagnostic(&META, g.span, format!("`{}` holds a `RefCell` borrow across an `.await`", g.name))
                .with_help(format!(
                    "end the borrow before the `.await` (put it in a block, or `drop({})`); borrow again after it",
                    g.name
                ))
                .with_note("the borrow is still active at this `.await`", Some(at));
            cx.report(d);
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
