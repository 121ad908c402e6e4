//! CA403 `double-lock`: the same lock taken again while its guard is alive (self-deadlock).

use syn::Expr;

use super::call_chain::note_at;
use super::guard_across_await::scrutinee;
use super::lock_facts::{self, LockFacts, Reach};
use super::locking::{self, Acq, AcqScanner, Guard, Guards, LockLib};
use super::{Checker, CrateGraph, FnBody, LinkContext, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::rust::callgraph::LockUse;

declare_rule! {
    /// ## What it does
    /// Reports a `Mutex` or `RwLock` (std, parking_lot or tokio) locked again, in the same function or in a
    /// closure it runs inline, while a guard of the same lock (the same receiver path, e.g. `self.state`) is
    /// still alive: a guard bound with `let`, or the temporary guard of a `match`, `if let` or `while let`
    /// scrutinee, which lives until the end of the whole `match`/`if let`/loop body. Two read locks of an
    /// `RwLock` in one function are not reported; `try_lock` is not reported (it does not wait).
    ///
    /// Across calls: a call made while such a guard of a named lock (a field of `self`, a static) is alive,
    /// whose callee — or a function it calls, any depth up to 8 calls, through the crate's call graph, `.await`ed
    /// async functions included — takes the same lock again. A field of `self` counts only through calls on
    /// `self` (another value has its own lock). Here a read while a read guard is alive is reported too for
    /// std's, parking_lot's and tokio's `RwLock` (not `spin`'s): their reads queue behind a waiting writer. The
    /// chain of calls is in the notes.
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
    /// In one function, locks are identified by their receiver path: the same lock reached through two
    /// different names (`let a = arc.clone()`) is not seen. Across calls, only named locks are followed (not a
    /// lock passed as an argument), calls on receivers of unknown type are not followed, and a callee taking the
    /// lock only on some path (behind a flag) is reported all the same. In a crate without async code or
    /// threads, the calls are known only in files that hold a lock acquisition.
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
    /// The crate-wide lock facts, when this rule records them ([`lock_facts::records`]).
    facts: LockFacts,
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

    fn follows_lock_calls(&self) -> bool {
        true
    }

    /// A lock taken again some calls below a live guard of it.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        if graph.files().iter().all(|f| f.held_calls.is_empty()) {
            return;
        }
        let reach = Reach::new(graph);
        for (fi, file) in graph.files().iter().enumerate() {
            let mut done: Vec<Span> = Vec::new();
            for hc in &file.held_calls {
                if done.contains(&hc.span) {
                    continue;
                }
                let found = reach.reached_from((fi, hc.func), hc.span, hc.held.on_self, false).into_iter().find_map(|r| {
                    let l = reach.acquires.get(&r.func)?.iter().copied().find(|l| relocks(&hc.held, l))?;
                    Some((r, l))
                });
                let Some((r, l)) = found else { continue };
                done.push(hc.span);
                cx.report(across_calls(graph, cx, fi, hc.span, &hc.held, &r, l));
            }
        }
    }
}

/// Whether `taken` (in a callee) deadlocks against `held`: the same lock (on the same value: a field of `self`
/// only through calls on `self`), and exclusive on either side, or two reads of a lock whose reads wait for a
/// queued writer.
fn relocks(held: &LockUse, taken: &LockUse) -> bool {
    taken.lock == held.lock
        && taken.on_self == held.on_self
        && !taken.is_try
        && (!(held.shared && taken.shared) || (held.fair && taken.fair))
}

fn across_calls(
    g: &CrateGraph<'_>,
    cx: &LinkContext<'_>,
    fi: usize,
    site: Span,
    held: &LockUse,
    r: &lock_facts::Reached,
    taken: &LockUse,
) -> Diagnostic {
    let path = &g.files()[fi].path;
    let lock = lock_facts::short_lock(&held.lock);
    let names: Vec<String> = r.chain.iter().map(|(id, _)| format!("`{}`", g.fn_facts(*id).name)).collect();
    let callee = &names[0];
    let through = if names.len() > 1 { format!(" (through {})", names[1..].join(" → ")) } else { String::new() };
    let (msg, why) = if held.shared && taken.shared {
        (
            format!("`{lock}` is read-locked again by {callee}{through} while a read guard of it is alive here"),
            "a writer queued between the two reads waits for the first, and the second waits for the writer: deadlock",
        )
    } else {
        (format!("`{lock}` is locked again by {callee}{through} while a guard of it is alive here: this deadlocks"), "")
    };
    let mut d = cx
        .diagnostic(&META, path, site, if why.is_empty() { msg } else { format!("{msg}: {why}") })
        .with_help("release the guard before the call, or pass the guarded data to the callee instead of relocking")
        .with_note("the guard is alive from here", Some(held.span));
    for w in r.chain.windows(2) {
        let msg = format!("`{}` calls `{}` here", g.fn_facts(w[0].0).name, g.fn_facts(w[1].0).name);
        d = note_at(d, path, msg, g.file_of(w[0].0), w[1].1);
    }
    let last = r.chain.last().map_or(r.func, |(id, _)| *id);
    d = note_at(d, path, format!("`{}` locks `{lock}` here", g.fn_facts(last).name), g.file_of(last), taken.span);
    d
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        if lock_facts::records(cx, &META) {
            st.facts.on_local(cx, local);
        }
        st.guards.on_local(cx, local);
        st.guards.live.retain(|g| counts(&g.acq));
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        if lock_facts::records(cx, &META) {
            st.facts.on_expr(cx, e);
        }
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
        st.facts.on_scope_exit(scope);
    }
}

impl OnFnExit for Rule {
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut State, _body: &FnBody<'_>) {
        st.guards.on_fn_exit(cx);
        st.facts.on_fn_exit(cx);
    }
}
