//! CA404 `lock-order-inversion`: two locks taken in opposite orders in two places.

use syn::Expr;

use super::guard_across_await::{Body, scrutinee};
use super::locking::{self, Acq, AcqScanner, Guards, LockLib, LockMode};
use super::{Checker, FnBody, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;
use crate::rust::callgraph::LockUse;

declare_rule! {
    /// ## What it does
    /// Reports two locks taken in opposite orders anywhere in the crate: lock `A` then (while `A`'s guard is
    /// alive) lock `B` in one function, and `B` then `A` in another place, in the same file or another file of
    /// the crate. Locks are named crate-wide by their field path qualified by the `impl`'s type
    /// (`self.accounts` in `impl Bank` is `crate::bank::Bank.accounts`, shown as `Bank.accounts`) or by the
    /// static they are (`CONFIG`); locks in local variables have no crate-wide name and are not compared.
    /// A lock counts as taken also when, while `A` is held, the function calls a crate-local function that
    /// takes `B` in its own body (one level of calls). Both places are shown (a place in another file as
    /// `path:line`); each inverted pair is reported once. Two read locks of an `RwLock` do not exclude each
    /// other and do not count.
    ///
    /// ## Why is this bad?
    /// When two threads run the two places at the same time, each takes its first lock and waits forever
    /// for the other's: a deadlock that appears only under load and is hard to reproduce. The fix is one
    /// global order: always take `A` before `B`.
    ///
    /// ## Known problems
    /// Only guards bound with `let`, and locks taken in the scrutinee of a `match`/`if let`/`while let` (held
    /// through its body), count as held. Calls are followed one level only (a lock taken by a
    /// callee's callee is not seen), and a callee is found only where the call graph resolves it. Two values
    /// of the same type (`self.a` of two different `Bank`s) count as the same lock, as they do for a
    /// lock-order discipline. Locks reached through a binding (`let s = &self.state; s.lock()`) or a getter
    /// have no crate-wide name and are not compared. A lock must be recognisable in its file: a std or
    /// parking_lot type known there, or a `lock()` whose result is unwrapped; a crate's own wrapper type
    /// (tokio's `loom` `Mutex`) is not. The comparison runs when the crate is linked (facts of
    /// each file, no second parse); a file analysed alone is a crate of its own.
    ///
    /// ## Example
    /// ```rust,ignore
    /// fn deposit(&self) { let a = self.accounts.lock().unwrap(); let l = self.log.lock().unwrap(); … }
    /// fn audit(&self)   { let l = self.log.lock().unwrap(); let a = self.accounts.lock().unwrap(); … }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// fn audit(&self)   { let a = self.accounts.lock().unwrap(); let l = self.log.lock().unwrap(); … }
    /// ```
    ///
    /// ## Runtime evidence
    /// Under contention two threads hang with zero CPU time, each inside a `lock()` call;
    /// `#[profile_concurrency]` shows both functions blocked for the rest of the run.
    pub static META = {
        code: "CA404",
        name: "lock-order-inversion",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "two locks are taken in opposite orders in two places: a deadlock under contention",
    };
}

#[derive(Default)]
pub struct State {
    guards: Guards,
    scanner: AcqScanner,
}

/// The rule: it records facts for the call graph (pairs of locks taken in order, calls made while a guard is
/// alive, the locks each function takes); [`crate::rust::callgraph::link`] compares them across the crate.
pub struct Rule;

fn counts(a: &Acq) -> bool {
    a.lib != LockLib::Cell && a.global.is_some()
}

fn lock_use(a: &Acq, span: Span) -> Option<LockUse> {
    Some(LockUse { lock: a.global.clone()?, shared: a.mode == LockMode::Shared, span })
}

/// The span the call graph records for a call (the callee's path or the method name to the closing
/// parenthesis).
fn call_span(e: &Expr) -> Option<Span> {
    let (start, close) = match e {
        Expr::Call(c) => (Span::from_pm2(syn::spanned::Spanned::span(&c.func)).start, c.paren_token.span.close()),
        Expr::MethodCall(m) => (Span::from_pm2(m.method.span()).start, m.paren_token.span.close()),
        _ => return None,
    };
    Some(Span::new(start, Span::from_pm2(close).end))
}

/// The calls a `match`/`if let`/`while let` body runs (not in closures or async blocks), by the span the call
/// graph records.
fn body_calls(body: &Body<'_>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut add = |x: &Expr| out.extend(call_span(x));
    match body {
        Body::Arms(arms) => {
            for a in *arms {
                if let Some((_, g)) = &a.guard {
                    locking::walk_inline(g, &mut add);
                }
                locking::walk_inline(&a.body, &mut add);
            }
        }
        Body::Block(b) => locking::walk_block_inline(b, &mut add),
    }
    out
}

/// A lock taken in the scrutinee of a `match`/`if let`/`while let` is held through its body (the guard is a
/// temporary of the scrutinee, or moved into the pattern): the locks the body takes, and the calls it makes,
/// come after it.
fn scrutinee_orders(cx: &mut Checker<'_>, e: &Expr) {
    let Some((scrut, body)) = scrutinee(e) else { return };
    let held: Vec<LockUse> =
        locking::acquisitions_in(cx, scrut).iter().filter(|a| counts(a)).filter_map(|a| lock_use(a, a.span)).collect();
    if held.is_empty() {
        return;
    }
    let taken: Vec<LockUse> = body
        .acquisitions(cx)
        .iter()
        .filter(|a| counts(a) && !a.is_try)
        .filter_map(|a| lock_use(a, a.span))
        .collect();
    let calls = body_calls(&body);
    let (facts, _) = cx.facts();
    for h in &held {
        for t in taken.iter().filter(|t| t.lock != h.lock) {
            facts.on_lock_order(h.clone(), t.clone());
        }
        for &span in &calls {
            facts.on_held_call(h.clone(), span);
        }
    }
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
        scrutinee_orders(cx, e);
        st.guards.on_expr(e);
        let acq = st.scanner.on_expr(cx, e).filter(|a| counts(a) && !a.is_try);
        let wanted = acq.is_some() || matches!(e, Expr::Call(_) | Expr::MethodCall(_));
        let held = if st.guards.live.is_empty() || !wanted { Vec::new() } else { st.guards.held(cx) };
        if let Some(acq) = acq {
            if let Some(taken) = lock_use(&acq, acq.span) {
                for g in &held {
                    if g.acq.global != acq.global
                        && let Some(h) = lock_use(&g.acq, g.span)
                    {
                        cx.facts().0.on_lock_order(h, taken.clone());
                    }
                }
                let (facts, context) = cx.facts();
                facts.on_lock_acquire(context, taken);
            }
        } else if !held.is_empty()
            && let Some(span) = call_span(e)
        {
            for g in &held {
                if let Some(h) = lock_use(&g.acq, g.span) {
                    cx.facts().0.on_held_call(h, span);
                }
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
