//! The lock facts the crate-wide lock rules share (CA403 across calls, CA404, CA407 across calls): recorded
//! once per file during the visit by the first enabled of those rules ([`records`]), and walked at link time
//! from a call made while a guard is alive through the crate's calls ([`Reach`]).
//!
//! Recorded ([`LockFacts`]): pairs of named locks taken in order ([`LockOrder`](crate::rust::callgraph::LockOrder)),
//! calls made while a guard is alive ([`HeldCall`](crate::rust::callgraph::HeldCall)), the locks each function
//! takes in its own body; the calls themselves are recorded by the checker
//! ([`LockCall`](crate::rust::callgraph::LockCall)). A local bound to a clone of a named lock (`let a =
//! self.a.clone()`, `Arc::clone(&inner.a)`) names that lock.

use std::collections::{HashMap, HashSet, VecDeque};

use syn::Expr;

use super::guard_across_await::{Body, scrutinee};
use super::locking::{self, Acq, AcqScanner, Guards, LockLib, LockMode};
use super::{Checker, CrateGraph};
use crate::diagnostic::Span;
use crate::registry::RuleMeta;
use crate::rust::callgraph::{Callee, FnId, LockCall, LockUse};

/// The rules that share these facts, in the order that decides which one records them.
fn recorders() -> [&'static RuleMeta; 2] {
    [&super::lock_order_inversion::META, &super::double_lock::META]
}

/// Whether `me` records the lock facts of this run: the first enabled of the rules that use them.
pub(crate) fn records(cx: &Checker<'_>, me: &RuleMeta) -> bool {
    recorders().into_iter().find(|r| cx.settings().is_enabled(r)).is_some_and(|r| r.code == me.code)
}

fn counts(a: &Acq) -> bool {
    a.lib != LockLib::Cell && a.global.is_some()
}

/// The fact of an acquisition (or of the guard bound at `span`), when the lock has a crate-wide name.
pub(crate) fn lock_use(a: &Acq, span: Span) -> Option<LockUse> {
    let on_self = a.key.as_deref().is_some_and(|k| locking::key_root(k) == "self");
    Some(LockUse {
        lock: a.global.clone()?,
        shared: a.mode == LockMode::Shared,
        span,
        on_self,
        fair: a.fair,
        is_try: a.is_try,
    })
}

/// The span the call graph records for a call (the callee's path or the method name to the closing
/// parenthesis).
pub(crate) fn call_span(e: &Expr) -> Option<Span> {
    let (start, close) = match e {
        Expr::Call(c) => (Span::from_pm2(syn::spanned::Spanned::span(&c.func)).start, c.paren_token.span.close()),
        Expr::MethodCall(m) => (Span::from_pm2(m.method.span()).start, m.paren_token.span.close()),
        _ => return None,
    };
    Some(Span::new(start, Span::from_pm2(close).end))
}

/// The calls a `match`/`if let`/`while let` body runs (not in closures or async blocks), by the span the call
/// graph records.
pub(crate) fn body_calls(body: &Body<'_>) -> Vec<Span> {
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

/// A local bound to a clone of a named lock.
struct Alias {
    name: String,
    scope: usize,
    global: String,
}

/// The per-file recorder.
#[derive(Default)]
pub(crate) struct LockFacts {
    guards: Guards,
    scanner: AcqScanner,
    aliases: Vec<Alias>,
}

/// `x.clone()`, `Arc::clone(&x)`, `Rc::clone(&x)`, `&x`: the expression cloned or borrowed.
fn cloned(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::MethodCall(m) if m.args.is_empty() && m.method == "clone" => Some(&m.receiver),
        Expr::Call(c) if c.args.len() == 1 => match &*c.func {
            Expr::Path(p)
                if p.path.segments.len() >= 2
                    && p.path.segments.last().is_some_and(|s| s.ident == "clone")
                    && p.path.segments.iter().rev().nth(1).is_some_and(|s| s.ident == "Arc" || s.ident == "Rc") =>
            {
                match &c.args[0] {
                    Expr::Reference(r) => Some(&r.expr),
                    other => Some(other),
                }
            }
            _ => None,
        },
        Expr::Reference(r) => Some(&r.expr),
        Expr::Paren(p) => cloned(&p.expr),
        _ => None,
    }
}

impl LockFacts {
    fn alias_of(&self, key: Option<&str>) -> Option<String> {
        let k = key?;
        if k.contains(['.', ':']) {
            return None;
        }
        self.aliases.iter().rev().find(|a| a.name == k).map(|a| a.global.clone())
    }

    fn named(&self, mut a: Acq) -> Acq {
        if a.global.is_none() {
            a.global = self.alias_of(a.key.as_deref());
        }
        a
    }

    /// The hook for `let`.
    pub fn on_local(&mut self, cx: &mut Checker<'_>, local: &syn::Local) {
        let before = self.guards.live.len();
        self.guards.on_local(cx, local);
        if self.guards.live.len() > before
            && let Some(g) = self.guards.live.last()
            && g.acq.global.is_none()
        {
            let global = self.alias_of(g.acq.key.as_deref());
            if let Some(g) = self.guards.live.last_mut() {
                g.acq.global = global;
            }
        }
        self.guards.live.retain(|g| counts(&g.acq));
        let syn::Pat::Ident(id) = &local.pat else { return };
        let name = id.ident.to_string();
        self.aliases.retain(|a| a.name != name);
        let Some(init) = &local.init else { return };
        let Some(src) = cloned(&init.expr) else { return };
        // What the clone names: a field of a crate type, a static, or another alias.
        let global = locking::lock_name(cx, src).or_else(|| self.alias_of(locking::path_key(src).as_deref()));
        if let Some(global) = global {
            let scope = cx.semantic().local(&name).map_or_else(|| cx.semantic().scope_id(), |b| b.scope);
            self.aliases.push(Alias { name, scope, global });
        }
    }

    /// A lock taken in the scrutinee of a `match`/`if let`/`while let` is held through its body (the guard is a
    /// temporary of the scrutinee, or moved into the pattern): the locks the body takes, and the calls it
    /// makes, come after it.
    fn scrutinee_orders(&self, cx: &mut Checker<'_>, e: &Expr) {
        let Some((scrut, body)) = scrutinee(e) else { return };
        let held: Vec<LockUse> = locking::acquisitions_in(cx, scrut)
            .into_iter()
            .map(|a| self.named(a))
            .filter(counts)
            .filter_map(|a| lock_use(&a, a.span))
            .collect();
        if held.is_empty() {
            return;
        }
        let taken: Vec<LockUse> = body
            .acquisitions(cx)
            .into_iter()
            .map(|a| self.named(a))
            .filter(|a| counts(a) && !a.is_try)
            .filter_map(|a| lock_use(&a, a.span))
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

    /// The hook for every expression.
    pub fn on_expr(&mut self, cx: &mut Checker<'_>, e: &Expr) {
        self.scrutinee_orders(cx, e);
        self.guards.on_expr(e);
        let acq = self.scanner.on_expr(cx, e).map(|a| self.named(a)).filter(|a| counts(a) && !a.is_try);
        let wanted = acq.is_some() || matches!(e, Expr::Call(_) | Expr::MethodCall(_));
        let held = if self.guards.live.is_empty() || !wanted { Vec::new() } else { self.guards.held(cx) };
        if let Some(acq) = acq {
            let Some(taken) = lock_use(&acq, acq.span) else { return };
            for g in &held {
                if g.acq.global != acq.global
                    && let Some(h) = lock_use(&g.acq, g.span)
                {
                    cx.facts().0.on_lock_order(h, taken.clone());
                }
            }
            let (facts, context) = cx.facts();
            facts.on_lock_acquire(context, taken.clone());
            facts.on_async_lock_acquire(context, taken);
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

    /// The hook for the end of a scope.
    pub fn on_scope_exit(&mut self, scope: usize) {
        self.guards.on_scope_exit(scope);
        self.aliases.retain(|a| a.scope < scope);
    }

    /// The hook for the end of a function.
    pub fn on_fn_exit(&mut self, cx: &Checker<'_>) {
        self.guards.on_fn_exit(cx);
    }
}

/// The short name of a crate-wide lock name for messages: `crate::bank::Bank.accounts` → `Bank.accounts`,
/// `crate::state::CONFIG` → `CONFIG`.
pub(crate) fn short_lock(lock: &str) -> &str {
    let head = lock.split('.').next().unwrap_or(lock);
    head.rfind("::").map_or(lock, |i| &lock[i + 2..])
}

/// How deep the walks through calls go (calls below are not followed).
pub(crate) const MAX_CALL_DEPTH: usize = 8;
/// How many functions one walk visits at most.
const MAX_VISITED: usize = 256;

/// The crate's recorded calls and acquisitions, indexed once per link step.
pub(crate) struct Reach<'f> {
    graph: &'f CrateGraph<'f>,
    calls: HashMap<FnId, Vec<&'f LockCall>>,
    /// Each function's own acquisitions (sync: [`lock_acquires`](crate::rust::callgraph::FileFacts::lock_acquires),
    /// async: `async_lock_acquires`).
    pub acquires: HashMap<FnId, Vec<&'f LockUse>>,
}

/// One function reached from a call made while a guard is alive: the calls from the site to it (the first is the
/// call at the site; each step the function called and the call's span in its caller).
#[derive(Debug, Clone)]
pub(crate) struct Reached {
    /// The function reached.
    pub func: FnId,
    /// The calls from the site to it.
    pub chain: Vec<(FnId, Span)>,
}

impl<'f> Reach<'f> {
    /// Indexes the crate's lock calls and acquisitions.
    pub fn new(graph: &'f CrateGraph<'f>) -> Self {
        let mut calls: HashMap<FnId, Vec<&LockCall>> = HashMap::new();
        let mut acquires: HashMap<FnId, Vec<&LockUse>> = HashMap::new();
        for (fi, file) in graph.files().iter().enumerate() {
            for c in &file.lock_calls {
                calls.entry((fi, c.func)).or_default().push(c);
            }
            for a in file.lock_acquires.iter().chain(&file.async_lock_acquires) {
                let v = acquires.entry((fi, a.func)).or_default();
                if !v.iter().any(|l| l.lock == a.lock.lock && l.span == a.lock.span) {
                    v.push(&a.lock);
                }
            }
        }
        Reach { graph, calls, acquires }
    }

    /// The recorded call at `span` in function `id`.
    pub fn call_at(&self, id: FnId, span: Span) -> Option<&'f LockCall> {
        self.calls.get(&id)?.iter().copied().find(|c| c.span == span)
    }

    /// The functions a recorded call runs: resolved (a method by name only when `by_name`), an async callee
    /// only when the call is awaited.
    /// Of same-named functions in several files (files whose module path is not known, such as test files
    /// outside `src`), only those in the caller's file; `#[cfg]` variants in one file are all kept.
    fn targets(&self, c: &LockCall, by_name: bool, caller_file: usize) -> Vec<FnId> {
        if !by_name && matches!(&c.callee, Callee::Method { ty: None, .. }) {
            return Vec::new();
        }
        let g = self.graph;
        let mut ids: Vec<FnId> =
            g.resolve(&c.callee).into_iter().filter(|&id| c.awaited || !g.fn_facts(id).is_async).collect();
        if ids.len() > 1 && ids.iter().any(|id| id.0 != ids[0].0) {
            // Same-named functions of several files: the caller's own, else none (which one runs is not known).
            ids.retain(|id| id.0 == caller_file);
        }
        ids
    }

    /// Breadth-first from the call at `span` of function `from` (shortest chains first): every function it
    /// runs, up to [`MAX_CALL_DEPTH`] calls deep. `self_only`: follow only calls on `self` (the held lock is a
    /// field of `self`: another value has its own). `by_name`: resolve methods of unknown receivers by their
    /// unique name at the first call (else, and at every deeper call, only typed receivers, `self` and paths).
    pub fn reached_from(&self, from: FnId, span: Span, self_only: bool, by_name: bool) -> Vec<Reached> {
        let Some(first) = self.call_at(from, span) else { return Vec::new() };
        if self_only && !first.on_self {
            return Vec::new();
        }
        let mut seen: HashSet<FnId> = HashSet::from([from]);
        let mut queue: VecDeque<Reached> = VecDeque::new();
        for id in self.targets(first, by_name, from.0) {
            if seen.insert(id) {
                queue.push_back(Reached { func: id, chain: vec![(id, span)] });
            }
        }
        let mut out = Vec::new();
        while let Some(r) = queue.pop_front() {
            if r.chain.len() < MAX_CALL_DEPTH {
                for c in self.calls.get(&r.func).map_or(&[][..], Vec::as_slice) {
                    if self_only && !c.on_self {
                        continue;
                    }
                    for id in self.targets(c, false, r.func.0) {
                        if seen.len() < MAX_VISITED && seen.insert(id) {
                            let mut chain = r.chain.clone();
                            chain.push((id, c.span));
                            queue.push_back(Reached { func: id, chain });
                        }
                    }
                }
            }
            out.push(r);
        }
        out
    }
}
