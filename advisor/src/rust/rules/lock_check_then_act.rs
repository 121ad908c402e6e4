//! CA405 `lock-check-then-act`: a lock taken in an `if` condition and taken again in the branch.

use syn::{Expr, Stmt};

use super::locking::{self, Acq, LockLib};
use super::{Checker, OnExpr, RustRule};
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports an `if` whose condition locks a `Mutex`/`RwLock` (the guard is a temporary, released when the
    /// condition has been evaluated) and whose branch locks the same lock again to act on what the condition
    /// saw: `if !m.lock().unwrap().contains_key(&k) { m.lock().unwrap().insert(k, v); }`.
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
    /// Only the same receiver path in one `if` is compared.
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
    type FileState = ();

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

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        let Expr::If(i) = e else { return };
        if matches!(&*i.cond, Expr::Let(_)) {
            return;
        }
        let mut has_let = false;
        locking::walk_inline(&i.cond, &mut |x| has_let |= matches!(x, Expr::Let(_)));
        if has_let {
            return;
        }
        let checks: Vec<Acq> = locking::acquisitions_in(cx, &i.cond).into_iter().filter(counts).collect();
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
                    .with_note("the condition's guard is released here, before the branch runs", Some(check.span));
                cx.report(d);
                return;
            }
        }
    }
}
