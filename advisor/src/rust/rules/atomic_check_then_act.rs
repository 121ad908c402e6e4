//! CA412 `atomic-check-then-act`: an atomic `load`, a decision or computation on the value, then a `store`
//! to the same atomic.

use syn::visit::{self, Visit};
use syn::{Expr, Stmt};

use super::locking::{self, atomic_load, atomic_store};
use super::{Checker, FnBody, OnFn, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a `store` to an atomic that depends on an earlier `load` of the same atomic (same receiver
    /// path, in the same function), with nothing making the pair atomic:
    /// - `if FLAG.load(o) == x { FLAG.store(y, o) }` (the store in the branch of a condition that loads);
    /// - `let v = n.load(o); … n.store(v + 1, o)` (the stored value computed from the loaded one);
    /// - `let v = n.load(o); if v < m { n.store(m, o) }`;
    /// - `n.store(n.load(o) + 1, o)`.
    ///
    /// ## Why is this bad?
    /// Another thread can change the atomic between the `load` and the `store`: two threads both see
    /// `false` and both initialise, or both read 41 and both store 42 — one increment is lost. Each
    /// operation is atomic; the sequence is not.
    ///
    /// ## Known problems
    /// Code that only one thread runs (an owner thread, a `Drop` impl, code under a lock) is reported all the
    /// same; there the pattern is safe, if misleading.
    ///
    /// ## Example
    /// ```rust,ignore
    /// if !INITIALISED.load(Ordering::Acquire) {
    ///     INITIALISED.store(true, Ordering::Release);
    ///     init();
    /// }
    /// let n = COUNT.load(Ordering::Relaxed);
    /// COUNT.store(n + 1, Ordering::Relaxed);
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// if INITIALISED.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_ok() {
    ///     init();
    /// } // or `std::sync::Once`/`OnceLock`
    /// COUNT.fetch_add(1, Ordering::Relaxed);
    /// MAX.fetch_max(v, Ordering::Relaxed);
    /// ```
    ///
    /// ## Runtime evidence
    /// Counters that come out short under load; initialisation that runs twice.
    pub static META = {
        code: "CA412",
        name: "atomic-check-then-act",
        severity: Info,
        language: Rust,
        family: Locks,
        summary: "an atomic is loaded, then stored based on the loaded value (use `compare_exchange`/`fetch_*`)",
    };
}

#[derive(Default)]
pub struct State {
    reported: Vec<Span>,
}

/// The rule.
pub struct Rule;

fn loads_in(e: &Expr) -> Vec<(String, Span)> {
    let mut out = Vec::new();
    locking::walk_inline(e, &mut |x| out.extend(atomic_load(x)));
    out
}

fn stores_in_block(b: &syn::Block) -> Vec<(String, &Expr, Span)> {
    let mut out = Vec::new();
    locking::walk_block_inline(b, &mut |x| out.extend(atomic_store(x)));
    out
}

struct Finding {
    key: String,
    store: Span,
    load: Span,
    how: &'static str,
}

/// Walks a body (not closures, async blocks or items: they are bodies of their own).
struct Walk {
    found: Vec<Finding>,
    depth: usize,
}

impl Walk {
    fn check_block(&mut self, b: &syn::Block) {
        for (i, s) in b.stmts.iter().enumerate() {
            let Stmt::Local(l) = s else { continue };
            let (syn::Pat::Ident(id), Some(init)) = (&l.pat, &l.init) else { continue };
            let Some((key, load)) = atomic_load(strip(&init.expr)) else { continue };
            let name = id.ident.to_string();
            for later in &b.stmts[i + 1..] {
                let e = match later {
                    Stmt::Expr(e, _) => e,
                    Stmt::Local(l) => match &l.init {
                        Some(init) => &*init.expr,
                        None => continue,
                    },
                    _ => continue,
                };
                locking::walk_inline(e, &mut |x| {
                    if let Some((k, v, store)) = atomic_store(x)
                        && k == key
                        && locking::mentions(v, &name)
                    {
                        self.found.push(Finding { key: k, store, load, how: "computed from" });
                    }
                    if let Expr::If(ifx) = x
                        && !matches!(&*ifx.cond, Expr::Let(_))
                        && locking::mentions(&ifx.cond, &name)
                    {
                        for (k, _, store) in stores_in_block(&ifx.then_branch) {
                            if k == key {
                                self.found.push(Finding { key: k, store, load, how: "decided on" });
                            }
                        }
                    }
                });
            }
        }
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        _ => e,
    }
}

impl<'a> Visit<'a> for Walk {
    fn visit_block(&mut self, b: &'a syn::Block) {
        self.check_block(b);
        visit::visit_block(self, b);
    }
    fn visit_expr(&mut self, e: &'a Expr) {
        match e {
            Expr::If(i) if !matches!(&*i.cond, Expr::Let(_)) => {
                let loads = loads_in(&i.cond);
                if !loads.is_empty() {
                    for (k, _, store) in stores_in_block(&i.then_branch) {
                        if let Some((_, load)) = loads.iter().find(|(lk, _)| *lk == k) {
                            self.found.push(Finding { key: k, store, load: *load, how: "decided on" });
                        }
                    }
                }
            }
            Expr::MethodCall(_) => {
                if let Some((k, v, store)) = atomic_store(e)
                    && let Some((_, load)) = loads_in(v).into_iter().find(|(lk, _)| *lk == k)
                {
                    self.found.push(Finding { key: k, store, load, how: "computed from" });
                }
            }
            _ => {}
        }
        if self.depth < 2 * locking::MAX_WALK_DEPTH {
            self.depth += 1;
            visit::visit_expr(self, e);
            self.depth -= 1;
        }
    }
    fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
    fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
    fn visit_item(&mut self, _: &'a syn::Item) {}
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["load("]
    }
}

impl OnFn for Rule {
    fn on_fn(&self, cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        let mut w = Walk { found: Vec::new(), depth: 0 };
        if let Some(b) = body.block {
            w.visit_block(b);
        } else if let Some(e) = body.expr {
            w.visit_expr(e);
        }
        for f in w.found {
            if st.reported.contains(&f.store) {
                continue;
            }
            st.reported.push(f.store);
            let help = if f.how == "decided on" {
                format!("make the check and the update one atomic step: `{}.compare_exchange(..)` or `.swap(..)`", f.key)
            } else {
                format!("use a read-modify-write operation: `{}.fetch_add(..)`, `fetch_max`, `fetch_update`, or `compare_exchange` in a loop", f.key)
            };
            let d = cx
                .diagnostic(
                    &META,
                    f.store,
                    if f.how == "decided on" {
                        format!("`{}` is stored in a branch decided on an earlier load: another thread can change it in between", f.key)
                    } else {
                        format!("`{}` is stored with a value computed from an earlier load: another thread can change it in between", f.key)
                    },
                )
                .with_help(help)
                .with_note("loaded here", Some(f.load));
            cx.report(d);
        }
    }
}
