//! CA404 `lock-order-inversion`: two locks taken in opposite orders in two places.

use syn::Expr;

use super::locking::{Acq, AcqScanner, FnNames, Guards, LockLib};
use super::{Checker, FnBody, Hooks, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports two locks taken in opposite orders: lock `A` then (while `A`'s guard is alive) lock `B` in one
    /// function, and `B` then `A` in another place. Locks are named crate-wide by their field path
    /// (`self.accounts` in `impl Bank` is `Bank.accounts`) or by the static they are (`CONFIG`); locks in local
    /// variables have no crate-wide name and are not compared. Both places are shown. Two read locks of an
    /// `RwLock` do not exclude each other and do not count.
    ///
    /// ## Why is this bad?
    /// When two threads run the two places at the same time, each takes its first lock and waits forever
    /// for the other's: a deadlock that appears only under load and is hard to reproduce. The fix is one
    /// global order: always take `A` before `B`.
    ///
    /// ## Known problems
    /// Only orders visible in one file are compared, and only guards bound with `let` count as held. Two
    /// values of the same type (`self.a` of two different `Bank`s) count as the same lock, as they do for a
    /// lock-order discipline.
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
        summary: "two locks are taken in opposite orders in two places: a deadlock under contention",
    };
}

#[derive(Debug, Clone)]
struct Edge {
    first: String,
    second: String,
    first_acq: Acq,
    second_acq: Acq,
    guard_span: Span,
    func: String,
}

#[derive(Default)]
struct State {
    guards: Guards,
    scanner: AcqScanner,
    edges: Vec<Edge>,
    fns: FnNames,
}

/// The rule.
pub struct Rule;

fn counts(a: &Acq) -> bool {
    a.lib != LockLib::Cell && a.global.is_some()
}

impl RustRule for Rule {
    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["lock(", "read(", "write("]
    }

    fn hooks(&self) -> Hooks {
        Hooks::LOCAL | Hooks::EXPR | Hooks::SCOPE_EXIT | Hooks::FN | Hooks::FN_EXIT | Hooks::FILE_END | Hooks::TYPES
    }

    fn on_local(&self, cx: &mut Checker<'_>, local: &syn::Local) {
        let mut st = std::mem::take(cx.state::<State>());
        st.guards.on_local(cx, local);
        st.guards.live.retain(|g| counts(&g.acq));
        *cx.state::<State>() = st;
    }

    fn on_expr(&self, cx: &mut Checker<'_>, e: &Expr) {
        let mut st = std::mem::take(cx.state::<State>());
        st.guards.on_expr(e);
        if let Some(acq) = st.scanner.on_expr(cx, e).filter(|a| counts(a) && !a.is_try) {
            let func = st.fns.current().unwrap_or_default().to_string();
            for g in st.guards.held(cx) {
                if g.acq.global != acq.global {
                    st.edges.push(Edge {
                        first: g.acq.global.clone().unwrap_or_default(),
                        second: acq.global.clone().unwrap_or_default(),
                        first_acq: g.acq.clone(),
                        second_acq: acq.clone(),
                        guard_span: g.span,
                        func: func.clone(),
                    });
                }
            }
        }
        *cx.state::<State>() = st;
    }

    fn on_scope_exit(&self, cx: &mut Checker<'_>, scope: usize) {
        cx.state::<State>().guards.on_scope_exit(scope);
    }

    fn on_fn(&self, cx: &mut Checker<'_>, body: &FnBody<'_>) {
        cx.state::<State>().fns.enter(body);
    }

    fn on_fn_exit(&self, cx: &mut Checker<'_>, _body: &FnBody<'_>) {
        let mut st = std::mem::take(cx.state::<State>());
        st.fns.exit();
        st.guards.on_fn_exit(cx);
        *cx.state::<State>() = st;
    }

    fn on_file_end(&self, cx: &mut Checker<'_>) {
        let edges = std::mem::take(&mut cx.state::<State>().edges);
        let mut done: Vec<(String, String)> = Vec::new();
        for (j, later) in edges.iter().enumerate() {
            for earlier in &edges[..j] {
                if earlier.first != later.second || earlier.second != later.first {
                    continue;
                }
                if earlier.guard_span == later.guard_span {
                    continue;
                }
                // `A` held in one place and acquired in the other must exclude each other, and so must `B`.
                if !earlier.first_acq.conflicts(&later.second_acq) || !earlier.second_acq.conflicts(&later.first_acq) {
                    continue;
                }
                let pair = if later.first < later.second {
                    (later.first.clone(), later.second.clone())
                } else {
                    (later.second.clone(), later.first.clone())
                };
                if done.contains(&pair) {
                    continue;
                }
                done.push(pair);
                let place = |f: &str| if f.is_empty() { String::new() } else { format!(" in `{f}`") };
                let d = cx
                    .diagnostic(
                        &META,
                        later.second_acq.span,
                        format!(
                            "`{}` is locked while `{}` is held{}, but elsewhere{} `{}` is locked while `{}` is held",
                            later.second,
                            later.first,
                            place(&later.func),
                            place(&earlier.func),
                            earlier.second,
                            earlier.first
                        ),
                    )
                    .with_help(format!(
                        "take the two locks in one order everywhere (e.g. always `{}` before `{}`), or never hold both",
                        earlier.first, earlier.second
                    ))
                    .with_note(format!("`{}` is held from here", later.first), Some(later.guard_span))
                    .with_note(
                        format!("the opposite order: `{}` is locked here while `{}` is held", earlier.second, earlier.first),
                        Some(earlier.second_acq.span),
                    )
                    .with_note(format!("`{}` is held from here", earlier.first), Some(earlier.guard_span));
                cx.report(d);
            }
        }
    }
}
