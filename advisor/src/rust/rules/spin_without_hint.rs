//! CA413 `spin-without-hint`: an empty busy-wait loop on an atomic, without `std::hint::spin_loop`.

use syn::{Expr, Stmt};

use super::locking;
use super::{Checker, OnExpr, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a loop that does nothing but re-test an atomic: `while !ready.load(o) {}`,
    /// `while lock.swap(true, o) {}`, `while x.compare_exchange_weak(..).is_err() {}`, or
    /// `loop { if flag.load(o) { break; } }`. A body that calls `std::hint::spin_loop()`,
    /// `thread::yield_now()`, sleeps or does any other work is not reported.
    ///
    /// ## Why is this bad?
    /// An empty spin keeps a core at 100% and, on a hyper-threaded core, starves its sibling — which may be
    /// the very thread that would set the flag. Without the spin-loop hint (`pause` on x86, `yield` on ARM)
    /// the CPU also speculates through the loop and pays a memory-order flush on exit. If the wait can
    /// be long, spinning at all is the wrong tool.
    ///
    /// ## Known problems
    /// Spins hidden behind a helper function or a macro are not seen.
    ///
    /// ## Example
    /// ```rust,ignore
    /// while !ready.load(Ordering::Acquire) {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// while !ready.load(Ordering::Acquire) {
    ///     std::hint::spin_loop();
    /// }
    /// // for waits longer than a few microseconds: `thread::park`/`unpark`, a `Condvar`, or a channel
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the waiting function fully on-CPU (CPU-bound) while doing no work.
    pub static META = {
        code: "CA413",
        name: "spin-without-hint",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "an empty busy-wait loop on an atomic, without `std::hint::spin_loop()`",
    };
}

/// The rule.
pub struct Rule;

/// Whether `e` tests an atomic: `load(ordering)`, `swap(_, ordering)`, `compare_exchange(_weak)(..)`.
pub(crate) fn tests_atomic(e: &Expr) -> bool {
    let mut found = false;
    locking::walk_inline(e, &mut |x| {
        if let Expr::MethodCall(m) = x {
            let name = m.method.to_string();
            let ordering_last = m.args.last().is_some_and(locking::is_ordering);
            found |= match name.as_str() {
                "load" => m.args.len() == 1 && ordering_last,
                "swap" => m.args.len() == 2 && ordering_last,
                "compare_exchange" | "compare_exchange_weak" => m.args.len() == 4 && ordering_last,
                _ => false,
            };
        }
    });
    found
}

/// Whether a loop body is empty (`{}`, `{ continue; }`, `{ ; }`).
fn is_empty(b: &syn::Block) -> bool {
    b.stmts.iter().all(|s| match s {
        Stmt::Expr(Expr::Continue(_), _) => true,
        Stmt::Expr(Expr::Tuple(t), _) => t.elems.is_empty(),
        _ => false,
    })
}

/// `if <atomic test> { break; }` as the only statement.
fn only_break_on_atomic(b: &syn::Block) -> Option<&Expr> {
    let [Stmt::Expr(Expr::If(i), _)] = b.stmts.as_slice() else { return None };
    if i.else_branch.is_some() || !tests_atomic(&i.cond) {
        return None;
    }
    let [Stmt::Expr(Expr::Break(_), _)] = i.then_branch.stmts.as_slice() else { return None };
    Some(&i.cond)
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["load(", "swap(", "compare_exchange"]
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        let span = match e {
            Expr::While(w) if !matches!(&*w.cond, Expr::Let(_)) && is_empty(&w.body) && tests_atomic(&w.cond) => {
                Span::new(
                    Span::from_pm2(w.while_token.span).start,
                    Span::from_pm2(syn::spanned::Spanned::span(&w.cond)).end,
                )
            }
            Expr::Loop(l) => match only_break_on_atomic(&l.body) {
                Some(_) => Span::from_pm2(l.loop_token.span),
                None => return,
            },
            _ => return,
        };
        let d = cx
            .diagnostic(&META, span, "this loop spins on an atomic without `std::hint::spin_loop()`")
            .with_help(
                "call `std::hint::spin_loop()` in the loop body; if the wait can last more than microseconds, block \
                 instead (`thread::park`/`unpark`, a `Condvar`, a channel)",
            );
        cx.report(d);
    }
}
