//! Shared support for the lock and shared-state rules (CA4xx): recognising lock acquisitions and `RefCell`
//! borrows, naming the lock they take (its receiver path), tracking let-bound guards through scopes, `drop`
//! and moves, and small syntax walkers that stop at closures, async blocks and nested items.
//!
//! Not a rule: the rules in this family embed a [`Guards`] tracker in their per-file state and feed it from
//! their hooks.

use syn::visit::{self, Visit};
use syn::{Expr, ExprMethodCall, Pat};

use super::{Checker, Ty};
use crate::diagnostic::Span;
use crate::rust::context::FrameKind;

/// The prefilter words of the rules that track lock guards: an acquisition takes no argument (`lock()`,
/// `read()`, `write()`, and `try_*` variants), so an I/O `read(&mut buf)` does not count.
pub(crate) const ACQUIRE_WORDS: &[&str] = &["lock()", "read()", "write()"];

/// What an acquisition takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// `Mutex::lock`.
    Exclusive,
    /// `RwLock::read`.
    Shared,
    /// `RwLock::write`.
    Write,
    /// `RefCell::borrow`.
    Borrow,
    /// `RefCell::borrow_mut`.
    BorrowMut,
}

/// Which implementation the lock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockLib {
    /// `std::sync` (or a lock whose result is unwrapped: only std's are).
    Std,
    /// `parking_lot` (no poisoning, guard returned directly).
    ParkingLot,
    /// An async lock (`tokio::sync`, `futures`, `async_lock`): `lock().await`.
    Async,
    /// `std::cell::RefCell`.
    Cell,
}

/// One acquisition: `m.lock()`, `rw.write()`, `cell.borrow_mut()`.
#[derive(Debug, Clone)]
pub(crate) struct Acq {
    /// The mode.
    pub mode: LockMode,
    /// The implementation.
    pub lib: LockLib,
    /// The lock's receiver path in this function (`self.state`, `m`), when it is a plain path.
    pub key: Option<String>,
    /// A crate-wide name for the lock (`crate::net::Server.state` for `self.state` in `impl Server`, a
    /// static's qualified path), when there is one.
    pub global: Option<String>,
    /// The span of the method name to the closing parenthesis.
    pub span: Span,
    /// `try_lock`/`try_read`/`try_write`/`try_borrow*`: never blocks.
    pub is_try: bool,
    /// A read waits behind a queued writer (std, parking_lot and async `RwLock`s, not `spin`'s): a second read
    /// of the lock while a read guard is alive can deadlock.
    pub fair: bool,
}

impl Acq {
    /// Whether two acquisitions of the same lock exclude each other.
    pub fn conflicts(&self, other: &Acq) -> bool {
        !matches!((self.mode, other.mode), (LockMode::Shared, LockMode::Shared) | (LockMode::Borrow, LockMode::Borrow))
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        Expr::Group(g) => strip_parens(&g.expr),
        _ => e,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip(&p.expr),
        Expr::Group(g) => strip(&g.expr),
        Expr::Reference(r) => strip(&r.expr),
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => strip(&u.expr),
        _ => e,
    }
}

/// The receiver path of `e` as written: `self.a.b`, `m`, `STATE`. `None` for anything else (calls, indexing).
pub(crate) fn path_key(e: &Expr) -> Option<String> {
    match strip(e) {
        Expr::Path(p) if p.qself.is_none() => {
            let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
            Some(segs.join("::"))
        }
        Expr::Field(f) => {
            let base = path_key(&f.base)?;
            let member = match &f.member {
                syn::Member::Named(n) => n.to_string(),
                syn::Member::Unnamed(i) => i.index.to_string(),
            };
            Some(format!("{base}.{member}"))
        }
        Expr::MethodCall(m) if m.args.is_empty() && matches!(m.method.to_string().as_str(), "as_ref" | "clone") => {
            path_key(&m.receiver)
        }
        _ => None,
    }
}

/// The root identifier of a receiver path (`self` for `self.a.b`).
pub(crate) fn key_root(key: &str) -> &str {
    key.split(['.', ':']).next().unwrap_or(key)
}

fn global_key(cx: &Checker<'_>, key: &str) -> Option<String> {
    let root = key_root(key);
    if root == "self" {
        let ty = cx.semantic().self_ty()?.name()?;
        return Some(format!("{ty}{}", &key[4..]));
    }
    if key.contains("::") || root.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        if cx.semantic().local(root).is_some() {
            return None;
        }
        let segs: Vec<String> = key.split('.').next()?.split("::").map(str::to_string).collect();
        let resolved = cx.semantic().resolve_segments(segs, false, 0)?.join("::");
        let rest = key.split_once('.').map(|(_, r)| format!(".{r}")).unwrap_or_default();
        return Some(format!("{resolved}{rest}"));
    }
    None
}

/// `base.field` where `base` (not `self` itself, which [`global_key`] names by the `impl`) is a value of a crate
/// type known here (through `Arc`/`Box`/`&`): the lock is named by that type's field, `crate::m::Inner.paused`,
/// whichever path reaches it (`self.inner.paused`, `inner.paused` for an `inner: Arc<Inner>`), as a lock-order
/// discipline names it.
fn field_of_crate_type(cx: &Checker<'_>, receiver: &Expr) -> Option<String> {
    let Expr::Field(f) = strip(receiver) else { return None };
    if matches!(strip(&f.base), Expr::Path(p) if p.path.is_ident("self")) {
        return None;
    }
    let syn::Member::Named(member) = &f.member else { return None };
    let ty = cx.semantic().type_of(&f.base);
    let mut t = &ty;
    for _ in 0..4 {
        match t {
            Ty::Named(n, args) if crate::rust::types::is_transparent(n) => match args.first() {
                Some(inner) => t = inner,
                None => return None,
            },
            _ => break,
        }
    }
    let name = t.name()?;
    name.starts_with("crate::").then(|| format!("{name}.{member}"))
}

/// The crate-wide name of the lock `e` is (see [`Acq::global`]), when it has one.
pub(crate) fn lock_name(cx: &Checker<'_>, e: &Expr) -> Option<String> {
    field_of_crate_type(cx, e).or_else(|| path_key(e).and_then(|k| global_key(cx, &k)))
}

fn names_resolve_to(cx: &Checker<'_>, name: &str, prefix: &str) -> bool {
    cx.semantic().resolve_segments(vec![name.to_string()], false, 0).is_some_and(|p| p.join("::").starts_with(prefix))
}

/// Classifies `m` as an acquisition. `wrapped`: its result is unwrapped (`.unwrap()`, `.expect(..)`, `?`,
/// `.unwrap_or_else(..)`), which only std's poisoning locks need; `awaited`: its result is `.await`ed.
pub(crate) fn classify(cx: &Checker<'_>, m: &ExprMethodCall, wrapped: bool, awaited: bool) -> Option<Acq> {
    if !m.args.is_empty() {
        return None;
    }
    let method = m.method.to_string();
    let (mode, is_try) = match method.as_str() {
        "lock" => (LockMode::Exclusive, false),
        "try_lock" => (LockMode::Exclusive, true),
        "read" => (LockMode::Shared, false),
        "try_read" => (LockMode::Shared, true),
        "write" => (LockMode::Write, false),
        "try_write" => (LockMode::Write, true),
        "borrow" => (LockMode::Borrow, false),
        "try_borrow" => (LockMode::Borrow, true),
        "borrow_mut" => (LockMode::BorrowMut, false),
        "try_borrow_mut" => (LockMode::BorrowMut, true),
        _ => return None,
    };
    let ty: Ty = cx.semantic().type_of(&m.receiver);
    let ty = ty.deref_guards();
    let name = ty.name().unwrap_or("");
    let cell = matches!(mode, LockMode::Borrow | LockMode::BorrowMut);
    let lib = if cell {
        match name {
            "std::cell::RefCell" => LockLib::Cell,
            "" if mode == LockMode::BorrowMut && !awaited => LockLib::Cell,
            _ => return None,
        }
    } else {
        let mutex = mode == LockMode::Exclusive;
        match name {
            "std::sync::Mutex" if mutex => LockLib::Std,
            "std::sync::RwLock" if !mutex => LockLib::Std,
            "parking_lot::Mutex" | "parking_lot::FairMutex" | "spin::Mutex" if mutex => LockLib::ParkingLot,
            "parking_lot::RwLock" | "spin::RwLock" if !mutex => LockLib::ParkingLot,
            n if n.starts_with("tokio::sync::") || n.starts_with("futures::") || n.starts_with("async_lock::") => {
                LockLib::Async
            }
            "" => {
                let ty_name = if mutex { "Mutex" } else { "RwLock" };
                if awaited {
                    LockLib::Async
                } else if wrapped {
                    LockLib::Std
                } else if names_resolve_to(cx, ty_name, "parking_lot::") || names_resolve_to(cx, ty_name, "spin::") {
                    LockLib::ParkingLot
                } else {
                    return None;
                }
            }
            _ => return None,
        }
    };
    let fair = matches!(mode, LockMode::Shared | LockMode::Write)
        && !name.starts_with("spin::")
        && !(name.is_empty() && names_resolve_to(cx, "RwLock", "spin::"));
    if lib == LockLib::Async && !awaited && !is_try {
        return None;
    }
    let key = path_key(&m.receiver);
    let global = field_of_crate_type(cx, &m.receiver).or_else(|| key.as_deref().and_then(|k| global_key(cx, k)));
    let start = Span::from_pm2(m.method.span()).start;
    let span = Span::new(start, Span::from_pm2(m.paren_token.span.close()).end);
    Some(Acq { mode, lib, key, global, span, is_try, fair })
}

/// Strips the wrappers of an acquisition's result; returns the acquisition call and whether it was unwrapped
/// and whether it was awaited.
pub(crate) fn unwrap_acq(e: &Expr) -> Option<(&ExprMethodCall, bool, bool)> {
    let (mut wrapped, mut awaited) = (false, false);
    let mut e = e;
    for _ in 0..8 {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Try(t) => {
                wrapped = true;
                &t.expr
            }
            Expr::Await(a) => {
                awaited = true;
                &a.base
            }
            Expr::MethodCall(m)
                if matches!(m.method.to_string().as_str(), "unwrap" | "expect" | "unwrap_or_else")
                    && matches!(strip(&m.receiver), Expr::MethodCall(_)) =>
            {
                wrapped = true;
                &m.receiver
            }
            Expr::MethodCall(m) => return Some((m, wrapped, awaited)),
            _ => return None,
        };
    }
    None
}

/// Recognises acquisitions in the order the visit meets them (outermost expression first): call
/// [`AcqScanner::on_expr`] from a rule's `on_expr`; each acquisition is returned once, classified with the
/// wrappers around it.
#[derive(Default)]
pub(crate) struct AcqScanner {
    done: Vec<usize>,
}

impl AcqScanner {
    /// The acquisition `e` starts, if any.
    pub fn on_expr(&mut self, cx: &Checker<'_>, e: &Expr) -> Option<Acq> {
        let is_wrapper = matches!(e, Expr::Try(_) | Expr::Await(_))
            || matches!(e, Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "unwrap" | "expect" | "unwrap_or_else"));
        if let Expr::MethodCall(m) = e
            && !is_wrapper
        {
            let a = std::ptr::from_ref(m) as usize;
            if let Some(i) = self.done.iter().position(|d| *d == a) {
                self.done.swap_remove(i);
                return None;
            }
            return classify(cx, m, false, false);
        }
        if !is_wrapper {
            return None;
        }
        let (m, wrapped, awaited) = unwrap_acq(e)?;
        let acq = classify(cx, m, wrapped, awaited)?;
        self.done.push(std::ptr::from_ref(m) as usize);
        Some(acq)
    }
}

/// A let-bound guard.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    /// The binding's name.
    pub name: String,
    /// What it holds.
    pub acq: Acq,
    /// The scope id of the binding.
    pub scope: usize,
    /// The depth of the frame stack where it was bound.
    pub depth: usize,
    /// The span of the binding's identifier.
    pub span: Span,
    /// A later `let` reused the name: the guard is alive but `name` now means another value.
    pub shadowed: bool,
}

/// The let-bound guards alive at the current point of the visit.
#[derive(Default)]
pub(crate) struct Guards {
    /// Alive guards, oldest first.
    pub live: Vec<Guard>,
}

fn pat_ident(p: &Pat) -> Option<&syn::Ident> {
    match p {
        Pat::Ident(i) if i.subpat.is_none() => Some(&i.ident),
        Pat::Type(t) => pat_ident(&t.pat),
        _ => None,
    }
}

impl Guards {
    /// Records the guard a `let` binds (call after the binding is in the semantic model). A guard moved to a
    /// new binding (`let h = g;`) lives on under that name; one moved into a pattern is forgotten; one
    /// borrowed (`let r = &mut *g;`) or shadowed (`let g = *g + 1;`) stays alive under its own name until its
    /// scope ends (shadowing drops nothing).
    pub fn on_local(&mut self, cx: &Checker<'_>, local: &syn::Local) {
        let init = local.init.as_ref().map(|i| &*i.expr);
        let bound = pat_ident(&local.pat);
        let moves = init.is_some_and(|i| matches!(strip_parens(i), Expr::Path(_)));
        if !moves && let Some(id) = bound {
            // A shadowed guard can no longer be named (`drop(g)` now means the new `g`), but it is still alive.
            let name = id.to_string();
            for g in self.live.iter_mut().filter(|g| g.name == name) {
                g.shadowed = true;
            }
        }
        if let Some(init) = init
            && let Expr::Path(p) = strip(init)
            && let Some(src) = p.path.get_ident()
        {
            let src = src.to_string();
            if moves && let Some(i) = self.live.iter().rposition(|g| !g.shadowed && g.name == src) {
                match bound {
                    Some(id) => {
                        let name = id.to_string();
                        self.live[i].scope =
                            cx.semantic().local(&name).map_or_else(|| cx.semantic().scope_id(), |b| b.scope);
                        self.live[i].name = name;
                    }
                    // `let _ = g;` binds nothing and moves nothing.
                    None if matches!(local.pat, Pat::Wild(_)) => {}
                    None => {
                        self.live.remove(i);
                    }
                }
            }
            return;
        }
        let Some(id) = bound else { return };
        let name = id.to_string();
        let Some(init) = init else { return };
        let Some((m, wrapped, awaited)) = unwrap_acq(init) else { return };
        let Some(acq) = classify(cx, m, wrapped, awaited) else { return };
        let scope = cx.semantic().local(&name).map_or_else(|| cx.semantic().scope_id(), |b| b.scope);
        let depth = cx.context().frames().len();
        self.live.push(Guard { name, acq, scope, depth, span: Span::from_pm2(id.span()), shadowed: false });
    }

    /// Forgets guards passed by value to a call (`drop(g)`, `consume(g)`, `cv.wait(g)`).
    pub fn on_expr(&mut self, e: &Expr) {
        let args: Vec<&Expr> = match e {
            Expr::Call(c) => c.args.iter().collect(),
            Expr::MethodCall(m) => m.args.iter().collect(),
            Expr::Return(r) => r.expr.iter().map(|b| &**b).collect(),
            _ => return,
        };
        for a in args {
            let a = match a {
                Expr::Paren(p) => &*p.expr,
                other => other,
            };
            if let Expr::Path(p) = a
                && let Some(id) = p.path.get_ident()
            {
                let n = id.to_string();
                self.live.retain(|g| g.shadowed || g.name != n);
            }
        }
    }

    /// Forgets guards whose scope ends.
    pub fn on_scope_exit(&mut self, scope: usize) {
        self.live.retain(|g| g.scope < scope);
    }

    /// Forgets guards of the frame being left.
    pub fn on_fn_exit(&mut self, cx: &Checker<'_>) {
        let depth = cx.context().frames().len();
        self.live.retain(|g| g.depth < depth);
    }

    /// Guards held by the code being visited: bound in this frame, or in an enclosing frame reached only
    /// through plain closures (which run inline, e.g. `iter().for_each(|x| …)`).
    pub fn held(&self, cx: &Checker<'_>) -> Vec<Guard> {
        let frames = cx.context().frames();
        let depth = frames.len();
        let mut reach = depth;
        while reach > 0 && frames[reach - 1].kind == FrameKind::Closure {
            reach -= 1;
        }
        // `frames[reach - 1]` is the innermost frame that is not a plain closure: guards bound at its depth
        // (`reach`) or deeper are held.
        self.live.iter().filter(|g| g.depth >= reach.max(1) && g.depth <= depth).cloned().collect()
    }

    /// Guards bound in exactly the current frame.
    pub fn in_frame(&self, cx: &Checker<'_>) -> Vec<Guard> {
        let depth = cx.context().frames().len();
        self.live.iter().filter(|g| g.depth == depth).cloned().collect()
    }
}

/// How deep the rules' own walks descend into an expression (deeper code is not looked at).
pub(crate) const MAX_WALK_DEPTH: usize = 24;

/// Calls `f` for every expression in `e` that runs when `e` runs: closures, async blocks and items are not
/// entered.
pub(crate) fn walk_inline<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    struct W<'f, 'a> {
        f: &'f mut dyn FnMut(&'a Expr),
        depth: usize,
    }
    impl<'a> Visit<'a> for W<'_, 'a> {
        fn visit_expr(&mut self, e: &'a Expr) {
            (self.f)(e);
            // The rules' walks run inside the checker's own recursion: bound theirs so that together they
            // stay within the stack the checker sized for its visit.
            if self.depth < MAX_WALK_DEPTH {
                self.depth += 1;
                visit::visit_expr(self, e);
                self.depth -= 1;
            }
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    W { f, depth: 0 }.visit_expr(e);
}

/// Like [`walk_inline`] over a block.
pub(crate) fn walk_block_inline<'a>(b: &'a syn::Block, f: &mut dyn FnMut(&'a Expr)) {
    for s in &b.stmts {
        match s {
            syn::Stmt::Local(l) => {
                if let Some(init) = &l.init {
                    walk_inline(&init.expr, f);
                    if let Some((_, d)) = &init.diverge {
                        walk_inline(d, f);
                    }
                }
            }
            syn::Stmt::Expr(e, _) => walk_inline(e, f),
            syn::Stmt::Macro(_) | syn::Stmt::Item(_) => {}
        }
    }
}

/// The acquisitions in `e` that run when `e` runs (not in closures or async blocks), classified from syntax
/// and the types known at this point.
pub(crate) fn acquisitions_in(cx: &Checker<'_>, e: &Expr) -> Vec<Acq> {
    let mut scanner = AcqScanner::default();
    let mut out = Vec::new();
    walk_inline(e, &mut |x| {
        if let Some(a) = scanner.on_expr(cx, x) {
            out.push(a);
        }
    });
    out
}

/// Like [`acquisitions_in`] over a block.
pub(crate) fn acquisitions_in_block(cx: &Checker<'_>, b: &syn::Block) -> Vec<Acq> {
    let mut scanner = AcqScanner::default();
    let mut out = Vec::new();
    walk_block_inline(b, &mut |x| {
        if let Some(a) = scanner.on_expr(cx, x) {
            out.push(a);
        }
    });
    out
}

/// Whether the method call's argument is an atomic memory ordering (`Ordering::SeqCst`, `Relaxed`, …).
pub(crate) fn is_ordering(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            matches!(s.ident.to_string().as_str(), "Relaxed" | "Acquire" | "Release" | "AcqRel" | "SeqCst")
        }),
        _ => false,
    }
}

/// `k.load(ordering)`: the atomic's receiver path.
pub(crate) fn atomic_load(e: &Expr) -> Option<(String, Span)> {
    match e {
        Expr::MethodCall(m) if m.method == "load" && m.args.len() == 1 && is_ordering(&m.args[0]) => {
            Some((path_key(&m.receiver)?, method_span(m)))
        }
        _ => None,
    }
}

/// `k.store(v, ordering)`: the atomic's receiver path and the stored value.
pub(crate) fn atomic_store(e: &Expr) -> Option<(String, &Expr, Span)> {
    match e {
        Expr::MethodCall(m) if m.method == "store" && m.args.len() == 2 && is_ordering(&m.args[1]) => {
            Some((path_key(&m.receiver)?, &m.args[0], method_span(m)))
        }
        _ => None,
    }
}

/// The span from a method call's name to its closing parenthesis.
pub(crate) fn method_span(m: &ExprMethodCall) -> Span {
    let start = Span::from_pm2(m.method.span()).start;
    Span::new(start, Span::from_pm2(m.paren_token.span.close()).end)
}

/// Whether `e` mentions the identifier `name` (as a path expression) anywhere.
pub(crate) fn mentions(e: &Expr, name: &str) -> bool {
    let mut found = false;
    walk_inline(e, &mut |x| {
        if let Expr::Path(p) = x
            && p.path.get_ident().is_some_and(|i| i == name)
        {
            found = true;
        }
    });
    found
}

/// The names of the enclosing `fn` items and methods (closures and async blocks push `None`): feed it from
/// `on_fn`/`on_fn_exit`.
#[derive(Default)]
pub(crate) struct FnNames {
    stack: Vec<Option<String>>,
}

impl FnNames {
    /// Entering a body.
    pub fn enter(&mut self, body: &super::FnBody<'_>) {
        self.stack.push(body.sig.map(|s| s.ident.to_string()));
    }

    /// Leaving a body.
    pub fn exit(&mut self) {
        self.stack.pop();
    }

    /// The innermost named function.
    pub fn current(&self) -> Option<&str> {
        self.stack.iter().rev().find_map(|n| n.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::settings::Settings;

    fn expr(s: &str) -> Expr {
        syn::parse_str(s).expect("test expression parses")
    }

    #[test]
    fn receiver_paths() {
        assert_eq!(path_key(&expr("self.state.inner")).as_deref(), Some("self.state.inner"));
        assert_eq!(path_key(&expr("(&*m)")).as_deref(), Some("m"));
        assert_eq!(path_key(&expr("self.0.clone()")).as_deref(), Some("self.0"));
        assert_eq!(path_key(&expr("crate::STATE")).as_deref(), Some("crate::STATE"));
        assert_eq!(path_key(&expr("self.get()")), None);
        assert_eq!(path_key(&expr("v[0]")), None);
        assert_eq!(key_root("self.a.b"), "self");
    }

    #[test]
    fn atomics_need_an_ordering_argument() {
        assert!(atomic_load(&expr("x.load(Ordering::SeqCst)")).is_some());
        assert!(atomic_load(&expr("x.load(Relaxed)")).is_some());
        assert!(atomic_load(&expr("cache.load(\"k\")")).is_none());
        assert!(atomic_store(&expr("x.store(1, Ordering::Release)")).is_some());
        assert!(atomic_store(&expr("x.store(1, 2)")).is_none());
        assert!(mentions(&expr("a + f(b)"), "b"));
        assert!(!mentions(&expr("a + f(|b| b)"), "c"));
    }

    #[test]
    fn same_field_in_two_types_is_two_locks() {
        let src = "struct A { m: std::sync::Mutex<u8>, n: std::sync::Mutex<u8> }
                   struct B { m: std::sync::Mutex<u8>, n: std::sync::Mutex<u8> }
                   impl A { fn f(&self) { let a = self.m.lock().unwrap(); let b = self.n.lock().unwrap(); } }
                   impl B { fn g(&self) { let b = self.n.lock().unwrap(); let a = self.m.lock().unwrap(); } }";
        let settings = Settings::only(&[&super::super::lock_order_inversion::META]);
        assert!(crate::rust::analyze(Path::new("src/lib.rs"), src, &settings).is_empty());
        let swapped = src.replace("impl B", "impl A");
        let d = crate::rust::analyze(Path::new("src/lib.rs"), &swapped, &settings);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].notes.len(), 3);
    }
}
