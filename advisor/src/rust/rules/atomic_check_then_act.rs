//! CA412 `atomic-check-then-act`: an atomic `load`, a decision or computation on the value, then a `store`
//! to the same atomic.

use syn::visit::{self, Visit};
use syn::{Expr, Stmt};

use super::locking::{self, atomic_load, atomic_store};
use super::{Checker, FnBody, OnFn, RustRule};
use crate::declare_rule;
use crate::diagnostic::{Location, Span};

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
    /// Not reported where the running thread visibly owns the atomic: after a read-modify-write
    /// (`compare_exchange`, `fetch_*`, `swap`) between the load and the store (winning it gave this thread the
    /// slot); under a lock taken before the store (also around a closure, and in the closures
    /// `parking_lot_core::park`/`unpark_*` run under its queue lock); in a method taking `self` by value or
    /// `&mut self` (and so `Drop`); when the loaded local was shadowed by a binding not computed from it; when
    /// the loaded value is written back after the function stored the atomic itself (save and restore); when
    /// the decision compares with the running thread's identity; on a field of a `self` type that is visibly
    /// not `Sync` (a `Cell`/`RefCell`/`UnsafeCell` field and no `unsafe impl Sync` in the file).
    ///
    /// ## Known problems
    /// **Off by default**: it runs only when selected by name (`--extend-select CA412`, or
    /// `extend-select = ["atomic-check-then-act"]` in the configuration; `ALL` and `CA4` do not turn it on).
    /// Measured on `bench/corpus` (issue 12, hand review in `bench/README.md`): 7 findings, 6 where the race
    /// exists — about 86 %, below the 90 % a rule needs to be on by default — and every one of those 6 a
    /// deliberate, benign racy cache (`if X.load() == 0 { X.store(compute()) }` where every thread computes the
    /// same value: getrandom, httparse, tempfile, jobserver, security-framework, wasm-bindgen), so on real code
    /// its findings are rarely bugs to fix. Before the ownership reasoning below, 6 of 29.
    ///
    /// Ownership the file does not show is not seen: a single-writer field written only by an owner thread
    /// whose type is `Sync`, an owner check against a value only the caller holds (zeroize's test allocator
    /// clears a registered pointer only in the `dealloc` of that very pointer). An idempotent cache cannot be
    /// told from a double initialisation: both store after seeing the initial value.
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
        default: off,
    };
}

#[derive(Default)]
pub struct State {
    reported: Vec<Span>,
    /// Where a lock is known held: from a lock taken in a function to the function's end, and the closures
    /// `parking_lot_core` runs under its queue lock. Closures are bodies of their own, visited after the
    /// function around them.
    locked: Vec<(Location, Location)>,
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
    /// The local the load was bound to, and whether the store writes exactly it back.
    name: Option<String>,
    restores: bool,
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
                        let restores = matches!(strip(v), Expr::Path(p) if p.path.is_ident(&name));
                        self.found.push(Finding {
                            key: k,
                            store,
                            load,
                            how: "computed from",
                            name: Some(name.clone()),
                            restores,
                        });
                    }
                    if let Expr::If(ifx) = x
                        && !matches!(&*ifx.cond, Expr::Let(_))
                        && locking::mentions(&ifx.cond, &name)
                    {
                        for (k, _, store) in stores_in_block(&ifx.then_branch) {
                            if k == key {
                                self.found.push(Finding {
                                    key: k,
                                    store,
                                    load,
                                    how: "decided on",
                                    name: Some(name.clone()),
                                    restores: false,
                                });
                            }
                        }
                    }
                });
            }
        }
    }
}

/// What in a function body tells that the thread running it owns what it stores (see [`owned`]).
#[derive(Default)]
struct Facts {
    /// Read-modify-write operations on any atomic (`compare_exchange*`, `fetch_*`, `swap`).
    rmw: Vec<Span>,
    /// Lock acquisitions: `.lock()`, `.write()`, `.try_lock()`, calls of `lock_*` functions.
    locks: Vec<Span>,
    /// Atomic stores, by receiver path.
    stores: Vec<(String, Span)>,
    /// `let` bindings: the name, where, and whether the initialiser mentions the same name.
    lets: Vec<(String, Span, bool)>,
    /// Whether the body compares with the running thread's identity (`THREAD_ID`, `thread::current().id()`).
    thread_id: bool,
    /// Closures handed to `parking_lot_core::park`/`unpark_*`, which runs them under its queue lock.
    park_closures: Vec<Span>,
}

impl Facts {
    fn of(body: &FnBody<'_>) -> Facts {
        struct V {
            f: Facts,
            depth: usize,
            /// Locals bound to closures, with the closures' spans.
            closures: Vec<(String, Span)>,
        }
        impl<'a> Visit<'a> for V {
            fn visit_expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::MethodCall(m) => {
                        let name = m.method.to_string();
                        let ordered = m.args.iter().any(locking::is_ordering);
                        if ordered
                            && (name.starts_with("compare_exchange")
                                || name == "compare_and_swap"
                                || name.starts_with("fetch_")
                                || name == "swap")
                        {
                            self.f.rmw.push(locking::method_span(m));
                        }
                        if m.args.is_empty() && matches!(name.as_str(), "lock" | "write" | "try_lock" | "try_write") {
                            self.f.locks.push(locking::method_span(m));
                        }
                        if name == "id"
                            && let Expr::Call(c) = &*m.receiver
                            && let Expr::Path(p) = &*c.func
                            && p.path.segments.last().is_some_and(|s| s.ident == "current")
                        {
                            self.f.thread_id = true;
                        }
                        if let Some((k, _, span)) = atomic_store(e) {
                            self.f.stores.push((k, span));
                        }
                    }
                    Expr::Call(c) => {
                        if let Expr::Path(p) = &*c.func
                            && let Some(last) = p.path.segments.last()
                        {
                            let name = last.ident.to_string();
                            if name.starts_with("lock_") {
                                self.f.locks.push(Span::from_pm2(last.ident.span()));
                            }
                            let parking = p.path.segments.iter().any(|s| s.ident == "parking_lot_core");
                            if parking
                                && matches!(
                                    name.as_str(),
                                    "park" | "unpark_one" | "unpark_all" | "unpark_requeue" | "unpark_filter"
                                )
                            {
                                for a in &c.args {
                                    match strip(a) {
                                        Expr::Closure(cl) => self.f.park_closures.push(span_of(cl)),
                                        Expr::Path(p) => {
                                            if let Some(id) = p.path.get_ident()
                                                && let Some((_, sp)) =
                                                    self.closures.iter().rev().find(|(n, _)| id == n)
                                            {
                                                self.f.park_closures.push(*sp);
                                            }
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                    Expr::Path(p)
                        if p.path.segments.iter().any(|s| {
                            let n = s.ident.to_string();
                            n == "THREAD_ID" || n == "thread_id" || n == "current_thread_id"
                        }) =>
                    {
                        self.f.thread_id = true;
                    }
                    _ => {}
                }
                if self.depth < 2 * locking::MAX_WALK_DEPTH {
                    self.depth += 1;
                    visit::visit_expr(self, e);
                    self.depth -= 1;
                }
            }
            fn visit_local(&mut self, l: &'a syn::Local) {
                if let syn::Pat::Ident(id) = &l.pat {
                    let name = id.ident.to_string();
                    let same = l.init.as_ref().is_some_and(|i| locking::mentions(&i.expr, &name));
                    if let Some(i) = &l.init
                        && let Expr::Closure(c) = strip(&i.expr)
                    {
                        self.closures.push((name.clone(), span_of(c)));
                    }
                    self.f.lets.push((name, Span::from_pm2(id.ident.span()), same));
                }
                visit::visit_local(self, l);
            }
            fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
            fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
            fn visit_item(&mut self, _: &'a syn::Item) {}
        }
        let mut v = V { f: Facts::default(), depth: 0, closures: Vec::new() };
        if let Some(b) = body.block {
            v.visit_block(b);
        } else if let Some(e) = body.expr {
            v.visit_expr(e);
        }
        v.f
    }
}

/// Whether the thread running this code visibly owns the atomic it stores, so that the load-then-store is no
/// race (issue 12):
/// - the method takes `self` by value or `&mut self` (nobody else can reach `self` meanwhile);
/// - the store follows a read-modify-write (`compare_exchange`, `fetch_*`, `swap`) after the load: winning it
///   gave this thread the slot (a queue's stamp, a `Once`'s state);
/// - a lock is taken before the store (also in the function around a closure, or by `parking_lot_core`
///   around the closures it is handed);
/// - the loaded local is shadowed between the load and the store by a binding not computed from it (the stored
///   value comes from a later `fetch_add`, not from the load);
/// - the value loaded is written back unchanged after the function stored the same atomic itself (save and
///   restore by its owner);
/// - the decision compares with the running thread's identity (an owner-thread fast path);
/// - the atomic is a field of `self` whose type is visibly not `Sync` (a `Cell` field, no `unsafe impl Sync`):
///   only one thread at a time runs its `&self` methods.
fn span_of(c: &syn::ExprClosure) -> Span {
    Span::from_pm2(syn::spanned::Spanned::span(c))
}

fn owned(cx: &Checker<'_>, st: &State, body: &FnBody<'_>, facts: &Facts, f: &Finding) -> bool {
    if st.locked.iter().any(|(a, b)| *a <= f.store.start && f.store.start < *b) {
        return true;
    }
    if let Some(syn::FnArg::Receiver(r)) = body.sig.and_then(|s| s.inputs.first())
        && r.colon_token.is_none()
        && (r.reference.is_none() || r.mutability.is_some())
    {
        return true;
    }
    let between = |s: &Span| f.load.start < s.start && s.start < f.store.start;
    if facts.rmw.iter().any(between) || facts.locks.iter().any(|s| s.start < f.store.start) {
        return true;
    }
    if let Some(name) = &f.name {
        if facts.lets.iter().any(|(n, s, same)| n == name && !same && between(s)) {
            return true;
        }
        if f.restores && facts.stores.iter().any(|(k, s)| *k == f.key && between(s)) {
            return true;
        }
    }
    if f.how == "decided on" && facts.thread_id {
        return true;
    }
    locking::key_root(&f.key) == "self"
        && cx.semantic().self_ty().and_then(|t| t.name()).is_some_and(|n| cx.semantic().visibly_not_sync(n))
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
                            self.found.push(Finding {
                                key: k,
                                store,
                                load: *load,
                                how: "decided on",
                                name: None,
                                restores: false,
                            });
                        }
                    }
                }
            }
            Expr::MethodCall(_) => {
                if let Some((k, v, store)) = atomic_store(e)
                    && let Some((_, load)) = loads_in(v).into_iter().find(|(lk, _)| *lk == k)
                {
                    self.found.push(Finding { key: k, store, load, how: "computed from", name: None, restores: false });
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
        let facts = Facts::of(body);
        let end = body.block.map(|b| Span::from_pm2(b.brace_token.span.close()).end);
        if let Some(end) = end {
            st.locked.extend(facts.locks.iter().map(|l| (l.start, end)));
        }
        st.locked.extend(facts.park_closures.iter().map(|c| (c.start, c.end)));
        for f in w.found {
            if owned(cx, st, body, &facts, &f) {
                continue;
            }
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
