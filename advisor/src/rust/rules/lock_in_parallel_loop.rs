//! CA406 `lock-in-parallel-loop`: a shared lock taken in the body of a rayon parallel iterator.

use std::collections::HashSet;

use syn::visit::{self, Visit};
use syn::{Expr, ExprClosure};

use super::locking::{self, LockLib, LockMode};
use super::{Checker, MethodCallSite, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a `Mutex`/`RwLock` that lives outside a rayon parallel iterator (`par_iter()`,
    /// `into_par_iter()`, `par_chunks()`, `par_bridge()`, …) and is locked in the closure of one of its
    /// adapters (`for_each`, `map`, `filter`, `fold`, …): `items.par_iter().for_each(|x| out.lock().unwrap().push(f(x)))`.
    /// A lock created per item, or reached through the closure's own parameters (a lock per element), is not
    /// reported.
    ///
    /// ## Why is this bad?
    /// Every worker thread of the pool takes the same lock for every item: the workers queue on it, and the
    /// cache line holding it bounces between cores. The parallel loop runs close to serially (or slower, with
    /// the contention), while the work it protects is what rayon does for free: collecting results.
    ///
    /// ## Known problems
    /// A lock taken once per large chunk (`par_chunks(100_000)`) costs little; it is reported all the same.
    /// `RwLock::read()` is not reported: readers run in parallel (they still contend on the lock's cache line).
    ///
    /// ## Example
    /// ```rust,ignore
    /// let out = Mutex::new(Vec::new());
    /// items.par_iter().for_each(|x| out.lock().unwrap().push(score(x)));
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let out: Vec<_> = items.par_iter().map(score).collect();
    /// // or for sums/maps: .fold(..).reduce(..), or .map(..).collect::<HashMap<_, _>>()
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the parallel section lock-serialized: high blocked time per worker and
    /// a speed-up far below the number of cores.
    pub static META = {
        code: "CA406",
        name: "lock-in-parallel-loop",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a shared lock taken in a parallel iterator's closure serialises the workers",
    };
}

/// The rule.
pub struct Rule;

/// The parallel-iterator method in a receiver chain, if any.
fn parallel_source(mut e: &Expr) -> Option<Span> {
    for _ in 0..32 {
        match e {
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                if name.starts_with("par_") || name.starts_with("into_par_") {
                    return Some(locking::method_span(m));
                }
                e = &m.receiver;
            }
            Expr::Paren(p) => e = &p.expr,
            _ => return None,
        }
    }
    None
}

/// Names bound inside a closure: its parameters and the patterns in its body.
fn bound_names(c: &ExprClosure) -> HashSet<String> {
    struct W(HashSet<String>);
    impl<'a> Visit<'a> for W {
        fn visit_pat_ident(&mut self, p: &'a syn::PatIdent) {
            self.0.insert(p.ident.to_string());
            visit::visit_pat_ident(self, p);
        }
    }
    let mut w = W(HashSet::new());
    for p in &c.inputs {
        w.visit_pat(p);
    }
    w.visit_expr(&c.body);
    w.0
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["par_"]
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        let closures: Vec<&ExprClosure> = call
            .expr
            .args
            .iter()
            .filter_map(|a| match a {
                Expr::Closure(c) => Some(c),
                _ => None,
            })
            .collect();
        if closures.is_empty() {
            return;
        }
        let Some(source) = parallel_source(&call.expr.receiver) else { return };
        for c in closures {
            let local = bound_names(c);
            let found = locking::acquisitions_in(cx, &c.body).into_iter().find(|a| {
                matches!(a.lib, LockLib::Std | LockLib::ParkingLot)
                    // Readers of an `RwLock` do not exclude each other.
                    && !matches!(a.mode, LockMode::Shared)
                    && !a.is_try
                    && a.key.as_deref().is_some_and(|k| !local.contains(locking::key_root(k)))
            });
            let Some(acq) = found else { continue };
            let key = acq.key.clone().unwrap_or_default();
            let d = cx
                .diagnostic(
                    &META,
                    acq.span,
                    format!("every worker of the parallel loop takes the shared lock `{key}`: the loop runs serialised"),
                )
                .with_help(
                    "return values from the closure and let rayon combine them: `.map(..).collect()`, \
                     `.fold(..).reduce(..)`, or `.sum()`",
                )
                .with_note(format!("`.{}()` runs this closure on every worker thread", call.method), Some(source));
            cx.report(d);
            return;
        }
    }
}
