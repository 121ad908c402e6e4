//! CA401 `lock-guard-across-await`: a std or parking_lot `Mutex`/`RwLock` guard alive across an `.await`.

use syn::Expr;

use super::locking::{self, Acq, AcqScanner, Guards, LockLib};
use super::{Checker, FnBody, OnAwait, OnExpr, OnFn, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports a guard of a thread lock — `std::sync::Mutex`/`RwLock` or `parking_lot::Mutex`/`RwLock` — that
    /// is bound with `let` and still alive at an `.await` of the same async function or block. The guard ends
    /// at the end of its block, at `drop(guard)`, or when it is moved into a call; a guard ended before the
    /// `.await` is not reported. Moved to another binding (`let h = g;`) it lives on as `h`; shadowed
    /// (`let g = *g + 1;`) or reborrowed (`let g = &mut *g;`) it stays alive to the end of its block. It also reports a lock taken in the scrutinee of a `match`, `if let` or
    /// `while let` (the temporary guard lives through the whole body) when the body `.await`s, and a lock
    /// taken as a temporary of a statement that `.await`s after it (`serve(m.read().unwrap().port,
    /// bind().await?);`, `m.lock().unwrap().push(fetch().await);`): the temporary lives to the end of the
    /// statement.
    ///
    /// tokio's and other async locks (`lock().await`) are made for this and are never reported.
    ///
    /// ## Why is this bad?
    /// While the task is suspended at the `.await`, the lock stays taken. Any other task that locks it blocks
    /// its executor thread (not just itself) until this task is polled again; if that task is on the same
    /// worker thread (or the runtime is current-thread), this task can never be polled again: a deadlock.
    /// The future is also `!Send`, so it cannot be `tokio::spawn`ed.
    ///
    /// ## Known problems
    /// A guard stored in a struct, returned from a helper, or bound by a pattern in `if let`/`match` is not
    /// tracked. A guard dropped in only one branch of an `if` is treated as dropped.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn bump(state: &std::sync::Mutex<State>) {
    ///     let mut s = state.lock().unwrap();
    ///     s.count += 1;
    ///     save(&s).await;
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn bump(state: &std::sync::Mutex<State>) {
    ///     let snapshot = {
    ///         let mut s = state.lock().unwrap();
    ///         s.count += 1;
    ///         s.clone()
    ///     }; // guard dropped here
    ///     save(&snapshot).await;
    /// }
    /// ```
    /// or, when the lock must be held across the `.await`, `tokio::sync::Mutex` (`state.lock().await`).
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` classifies the functions contending for the lock as lock-serialized: their
    /// blocked time grows with the time this task spends suspended while holding it.
    pub static META = {
        code: "CA401",
        name: "lock-guard-across-await",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a std or parking_lot lock guard is held across an `.await`",
        equivalent: "clippy::await_holding_lock",
        async_only: true,
    };
}

#[derive(Default)]
pub struct State {
    guards: Guards,
    reported: Vec<Span>,
    /// Statement temporaries already reported (a closure's block body is seen as its body and as a block).
    temps_reported: Vec<Span>,
}

/// The thread-lock acquisitions and the `.await`s of one statement that belong to it (not to a nested block,
/// closure, async block, loop, `match` or `if let`, whose temporaries end elsewhere or are checked there).
struct StmtWalk<'c, 'a> {
    cx: &'c Checker<'a>,
    scanner: AcqScanner,
    acqs: Vec<Acq>,
    awaits: Vec<Span>,
    depth: usize,
}

impl<'ast> syn::visit::Visit<'ast> for StmtWalk<'_, '_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if let Some(a) = self.scanner.on_expr(self.cx, e) {
            self.acqs.push(a);
        }
        match e {
            Expr::Await(a) => self.awaits.push(Span::from_pm2(a.await_token.span)),
            Expr::Closure(_)
            | Expr::Async(_)
            | Expr::Block(_)
            | Expr::Unsafe(_)
            | Expr::Loop(_)
            | Expr::ForLoop(_)
            | Expr::While(_)
            | Expr::Match(_)
            | Expr::Let(_)
            | Expr::TryBlock(_)
            | Expr::Const(_) => return,
            // The condition's temporaries end before a branch runs; the branches are blocks.
            Expr::If(i) => {
                if !matches!(&*i.cond, Expr::Let(_)) {
                    self.visit_expr(&i.cond);
                }
                return;
            }
            _ => {}
        }
        if self.depth < locking::MAX_WALK_DEPTH {
            self.depth += 1;
            syn::visit::visit_expr(self, e);
            self.depth -= 1;
        }
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

/// A lock taken as a temporary of a statement (`serve(m.read()?.network, bind(port).await?);`) lives to the end
/// of the statement: reported when the statement `.await`s after it.
fn statement_temps(cx: &mut Checker<'_>, st: &mut State, stmts: &[syn::Stmt]) {
    for s in stmts {
        let e = match s {
            // A `let` whose value is the guard itself is a bound guard, tracked as such.
            syn::Stmt::Local(l) => match &l.init {
                Some(init) if locking::unwrap_acq(&init.expr).is_none() => &*init.expr,
                _ => continue,
            },
            syn::Stmt::Expr(e, _) => e,
            _ => continue,
        };
        temps_across_await(cx, st, e);
    }
}

fn temps_across_await(cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
    let mut w = StmtWalk { cx, scanner: AcqScanner::default(), acqs: Vec::new(), awaits: Vec::new(), depth: 0 };
    syn::visit::Visit::visit_expr(&mut w, e);
    let (acqs, awaits) = (w.acqs, w.awaits);
    for a in acqs.iter().filter(|a| is_thread_lock(a.lib) && !a.is_try) {
        let Some(&at) = awaits.iter().find(|w| w.start > a.span.end) else { continue };
        if st.temps_reported.contains(&a.span) {
            continue;
        }
        st.temps_reported.push(a.span);
        let d = cx
            .diagnostic(&META, a.span, "this lock's guard is a temporary that lives to the end of the statement, across its `.await`")
            .with_help("read what you need from the lock in a statement of its own (`let v = m.lock().unwrap().v;`), then await")
            .with_note("the guard is still held at this `.await`", Some(at));
        cx.report(d);
    }
}

/// The rule.
pub struct Rule;

fn is_thread_lock(lib: LockLib) -> bool {
    matches!(lib, LockLib::Std | LockLib::ParkingLot)
}

/// The first `.await` that runs in `e` (not in closures or async blocks).
pub(crate) fn first_await(e: &Expr) -> Option<Span> {
    let mut found = None;
    locking::walk_inline(e, &mut |x| {
        if found.is_none()
            && let Expr::Await(a) = x
        {
            found = Some(Span::from_pm2(a.await_token.span));
        }
    });
    found
}

/// The first `.await` in a block.
pub(crate) fn first_await_block(b: &syn::Block) -> Option<Span> {
    let mut found = None;
    locking::walk_block_inline(b, &mut |x| {
        if found.is_none()
            && let Expr::Await(a) = x
        {
            found = Some(Span::from_pm2(a.await_token.span));
        }
    });
    found
}

/// The scrutinee and the body a temporary in the scrutinee lives through: `match s { arms }`, `if let P = s
/// { then }`, `while let P = s { body }`.
pub(crate) enum Body<'a> {
    Arms(&'a [syn::Arm]),
    Block(&'a syn::Block),
}

/// The scrutinee of a `match`/`if let`/`while let` and the body its temporaries live through.
pub(crate) fn scrutinee(e: &Expr) -> Option<(&Expr, Body<'_>)> {
    match e {
        Expr::Match(m) => Some((&m.expr, Body::Arms(&m.arms))),
        Expr::If(i) => match &*i.cond {
            Expr::Let(l) => Some((&l.expr, Body::Block(&i.then_branch))),
            _ => None,
        },
        Expr::While(w) => match &*w.cond {
            Expr::Let(l) => Some((&l.expr, Body::Block(&w.body))),
            _ => None,
        },
        _ => None,
    }
}

impl Body<'_> {
    /// The first `.await` the body runs.
    pub(crate) fn first_await(&self) -> Option<Span> {
        match self {
            Body::Arms(arms) => arms.iter().find_map(|a| {
                a.guard.as_ref().and_then(|(_, g)| first_await(g)).or_else(|| first_await(&a.body))
            }),
            Body::Block(b) => first_await_block(b),
        }
    }

    /// The acquisitions the body runs.
    pub(crate) fn acquisitions(&self, cx: &Checker<'_>) -> Vec<Acq> {
        match self {
            Body::Arms(arms) => arms
                .iter()
                .flat_map(|a| {
                    let mut v = a.guard.as_ref().map(|(_, g)| locking::acquisitions_in(cx, g)).unwrap_or_default();
                    v.extend(locking::acquisitions_in(cx, &a.body));
                    v
                })
                .collect(),
            Body::Block(b) => locking::acquisitions_in_block(cx, b),
        }
    }
}

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
        st.guards.live.retain(|g| is_thread_lock(g.acq.lib) && !g.acq.is_try);
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        st.guards.on_expr(e);
        if !cx.context().in_async() {
            return;
        }
        match e {
            Expr::Block(b) => statement_temps(cx, st, &b.block.stmts),
            Expr::Unsafe(b) => statement_temps(cx, st, &b.block.stmts),
            Expr::If(i) => {
                statement_temps(cx, st, &i.then_branch.stmts);
            }
            Expr::While(w) => statement_temps(cx, st, &w.body.stmts),
            Expr::ForLoop(f) => statement_temps(cx, st, &f.body.stmts),
            Expr::Loop(l) => statement_temps(cx, st, &l.body.stmts),
            _ => {}
        }
        let Some((scrut, body)) = scrutinee(e) else { return };
        let Some(acq) = locking::acquisitions_in(cx, scrut).into_iter().find(|a| is_thread_lock(a.lib) && !a.is_try)
        else {
            return;
        };
        let Some(at) = body.first_await() else { return };
        let d = cx
            .diagnostic(&META, acq.span, "this lock's guard is a temporary of the scrutinee and lives across an `.await`")
            .with_help("bind the value you need before the `match`/`if let` (`let v = m.lock().unwrap().get(k).cloned();`) so the guard drops first")
            .with_note("the guard is still held at this `.await`", Some(at));
        cx.report(d);
    }
}

impl OnFn for Rule {
    fn on_fn(&self, cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        if !cx.context().in_async() {
            return;
        }
        if let Some(b) = body.block {
            statement_temps(cx, st, &b.stmts);
        } else if let Some(e) = body.expr
            && !matches!(e, Expr::Block(_))
        {
            temps_across_await(cx, st, e);
        }
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
            let what = match g.acq.lib {
                LockLib::ParkingLot => "parking_lot",
                _ => "std",
            };
            let d = cx
                .diagnostic(&META, g.span, format!("`{}` holds a {what} lock guard across an `.await`", g.name))
                .with_help(format!(
                    "end the guard before the `.await` (put it in a block, or `drop({})`), or use `tokio::sync::Mutex` if it must be held",
                    g.name
                ))
                .with_note("the guard is still held at this `.await`", Some(at));
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
