//! CA405 `lock-check-then-act`: a lock taken in an `if` condition and taken again in the branch.

use syn::{Expr, Stmt};

use super::locking::{self, Acq, LockLib};
use super::{Checker, FnBody, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports an `if` whose condition locks a `Mutex`/`RwLock` (the guard is a temporary, released when the
    /// condition has been evaluated) and whose branch locks the same lock again to act on what the condition
    /// saw: `if !m.lock().unwrap().contains_key(&k) { m.lock().unwrap().insert(k, v); }`. Also when the check
    /// was made into a local under its own guard (`let present = m.lock().unwrap().contains_key(&k);` or a block
    /// with a `let` guard) and the `if` tests that local (`if !present { … }`).
    ///
    /// Not reported: a branch that re-checks under its new guard (`let mut w = m.write(); if
    /// !w.contains_key(&k) { … }`, double-checked locking) or uses the `entry` API, and `if let`/`match`
    /// scrutinees (there the guard is still held: that is [`double-lock`](CA403)).
    ///
    /// ## Why is this bad?
    /// Between the check and the act the lock is free: another thread can insert the same key, take the last
    /// item or change the state the branch relies on. The result is lost updates, duplicate work, or a
    /// panic on a value that is no longer there — a race that tests rarely hit.
    ///
    /// ## Known problems
    /// Only the same receiver path in one function is compared, and a check kept in a local only when the `if`
    /// tests the local itself (`present` or `!present`).
    ///
    /// ## Example
    /// ```rust,ignore
    /// if !cache.lock().unwrap().contains_key(&url) {
    ///     let page = fetch(&url);
    ///     cache.lock().unwrap().insert(url, page);
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let mut c = cache.lock().unwrap();
    /// if !c.contains_key(&url) {
    ///     c.insert(url.clone(), fetch(&url));
    /// }
    /// // or, to fetch without holding the lock: re-check under the second guard, or use `entry`
    /// ```
    ///
    /// ## Runtime evidence
    /// Duplicate work or lost updates under concurrency; not visible in timing profiles.
    pub static META = {
        code: "CA405",
        name: "lock-check-then-act",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a lock is released between checking a condition and acting on it (check-then-act race)",
    };
}

/// The rule.
pub struct Rule;

/// A `let` whose value was computed under a guard released at the end of its statement (`let present =
/// m.lock().unwrap().contains_key(&k);`, or a block whose own guard ends with it).
pub struct Checked {
    name: String,
    scope: usize,
    depth: usize,
    acq: Acq,
}

/// The checks made into locals, alive until their scope ends.
#[derive(Default)]
pub struct State {
    checked: Vec<Checked>,
}

fn counts(a: &Acq) -> bool {
    a.lib != LockLib::Cell && a.key.is_some() && !a.is_try
}

/// Whether the branch re-checks under a guard of `key` it binds, or uses the `entry` API.
fn rechecks(cx: &Checker<'_>, b: &syn::Block, key: &str) -> bool {
    let mut guards = Vec::new();
    for s in &b.stmts {
        if let Stmt::Local(l) = s
            && let (syn::Pat::Ident(id), Some(init)) = (&l.pat, &l.init)
            && let Some((m, w, a)) = locking::unwrap_acq(&init.expr)
            && locking::classify(cx, m, w, a).is_some_and(|acq| acq.key.as_deref() == Some(key))
        {
            guards.push(id.ident.to_string());
        }
    }
    let mut found = false;
    locking::walk_block_inline(b, &mut |e| {
        match e {
            Expr::MethodCall(m) if m.method == "entry" || m.method.to_string().starts_with("or_insert") => found = true,
            Expr::If(i) if guards.iter().any(|g| locking::mentions(&i.cond, g)) => found = true,
            Expr::Match(m) if guards.iter().any(|g| locking::mentions(&m.expr, g)) => found = true,
            _ => {}
        }
    });
    found
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

/// The flag an `if` tests: `x` or `!x`.
fn flag(cond: &Expr) -> Option<String> {
    match cond {
        Expr::Paren(p) => flag(&p.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Not(_)) => flag(&u.expr),
        Expr::Path(p) => p.path.get_ident().map(ToString::to_string),
        _ => None,
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        let syn::Pat::Ident(id) = &local.pat else { return };
        let name = id.ident.to_string();
        st.checked.retain(|c| c.name != name);
        let Some(init) = &local.init else { return };
        // The value itself a guard (`let g = m.lock()…`) is not a check.
        if locking::unwrap_acq(&init.expr).and_then(|(m, w, a)| locking::classify(cx, m, w, a)).is_some() {
            return;
        }
        let acqs: Vec<Acq> = locking::acquisitions_in(cx, &init.expr).into_iter().filter(counts).collect();
        if acqs.len() != 1 {
            return;
        }
        let Some(acq) = acqs.into_iter().next() else { return };
        let scope = cx.semantic().local(&name).map_or_else(|| cx.semantic().scope_id(), |b| b.scope);
        st.checked.push(Checked { name, scope, depth: cx.context().frames().len(), acq });
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        let Expr::If(i) = e else { return };
        if matches!(&*i.cond, Expr::Let(_)) {
            return;
        }
        let mut has_let = false;
        locking::walk_inline(&i.cond, &mut |x| has_let |= matches!(x, Expr::Let(_)));
        if has_let {
            return;
        }
        let mut checks: Vec<Acq> = locking::acquisitions_in(cx, &i.cond).into_iter().filter(counts).collect();
        let from_local = checks.is_empty();
        if from_local
            && let Some(f) = flag(&i.cond)
        {
            let depth = cx.context().frames().len();
            checks.extend(st.checked.iter().rev().find(|c| c.name == f && c.depth == depth).map(|c| c.acq.clone()));
        }
        if checks.is_empty() {
            return;
        }
        let mut branches = vec![&i.then_branch];
        if let Some((_, els)) = &i.else_branch
            && let Expr::Block(b) = &**els
        {
            branches.push(&b.block);
        }
        for b in branches {
            for act in locking::acquisitions_in_block(cx, b).into_iter().filter(counts) {
                let Some(check) = checks.iter().find(|c| c.key == act.key) else { continue };
                let key = act.key.clone().unwrap_or_default();
                if rechecks(cx, b, &key) {
                    continue;
                }
                let d = cx
                    .diagnostic(
                        &META,
                        act.span,
                        format!("`{key}` is locked again to act on a check made under an earlier, released guard"),
                    )
                    .with_help(format!(
                        "take one guard for both (`let mut g = {key}.lock()…; if … {{ g.… }}`), or re-check under this guard or use the `entry` API"
                    ))
                    .with_note(
                        if from_local {
                            "the check's guard is released at the end of its statement, before the branch runs"
                        } else {
                            "the condition's guard is released here, before the branch runs"
                        },
                        Some(check.span),
                    );
                cx.report(d);
                return;
            }
        }
    }
}

impl OnScopeExit for Rule {
    fn on_scope_exit(&self, _cx: &mut Checker<'_>, st: &mut State, scope: usize) {
        st.checked.retain(|c| c.scope < scope);
    }
}

impl OnFnExit for Rule {
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut State, _body: &FnBody<'_>) {
        let depth = cx.context().frames().len();
        st.checked.retain(|c| c.depth < depth);
    }
}
