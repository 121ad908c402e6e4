//! CA408 `condvar-wait-without-loop`: `Condvar::wait` not inside a loop that re-checks the predicate.

use syn::visit::{self, Visit};
use syn::{Expr, Pat};

use super::locking;
use super::{Checker, FnBody, MethodCallSite, OnExpr, OnFn, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports `Condvar::wait` and `wait_timeout` (std) and `wait`/`wait_for`/`wait_until` (parking_lot)
    /// called outside any `loop`, `while` or `for` of the same function. The receiver must be known to be a
    /// `Condvar` (a constructor, a typed parameter, a field declared in this file), or be named like one
    /// (`cvar`, `condvar`, `cond`, `cv`) and be passed one guard.
    ///
    /// ## Why is this bad?
    /// A condition variable can wake up spuriously, and by the time the woken thread re-acquires the lock
    /// another thread may already have consumed what was signalled. Code that waits once and then assumes
    /// the condition holds reads an empty queue or an unset flag. The predicate must be re-checked under
    /// the lock after every wake-up.
    ///
    /// A std wait whose returned guard is thrown away (`let (_m, _timed_out) = cvar.wait_timeout(m, d)?;`,
    /// `let _ = cvar.wait(m);`, `cvar.wait(m).unwrap();`) is not reported: the code does not read the protected
    /// state as if the condition held. This is the `park`/`park_timeout` idiom (tokio, `parking`), where a
    /// spurious wake-up is allowed and the caller re-checks an atomic state. It is reported when the wait sits in
    /// an `if` whose condition tests the very guard it is passed (`if !*done { let _done = cvar.wait(done)?; }`):
    /// that code checked the predicate once and waits for it to become true, so a spurious wake-up lets it go on
    /// as if it were (surrealdb/affinitypool#8).
    ///
    /// ## Known problems
    /// A wait inside a loop is accepted without checking that the loop re-tests the predicate.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let mut ready = lock.lock().unwrap();
    /// if !*ready {
    ///     ready = cvar.wait(ready).unwrap();
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let ready = cvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
    /// ```
    ///
    /// ## Runtime evidence
    /// Intermittent failures (an empty queue, a missing value) right after a wake-up, more frequent under
    /// load.
    pub static META = {
        code: "CA408",
        name: "condvar-wait-without-loop",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "`Condvar::wait` outside a loop re-checking the predicate (use `wait_while`)",
    };
}

#[derive(Default)]
pub struct State {
    /// Loop bodies seen so far: (start, end, frame depth).
    loops: Vec<(Span, usize)>,
    /// Method calls whose result (the guard) is thrown away, by the span of the method name.
    discarded: Vec<Span>,
    /// Waits (by the span of the method name) in the `then` branch of an `if` whose condition reads the guard
    /// the wait is passed: the predicate was checked once, the wait is meant to make it true.
    checked_once: Vec<Span>,
}

/// Collects the waits of a body that sit in an `if` testing the guard they are passed
/// (`if !*done { cvar.wait(done) }`), by the span of the method name; not into loops (a wait in a loop is
/// accepted) nor nested items.
#[derive(Default)]
struct CheckedOnce(Vec<Span>);

impl<'a> Visit<'a> for CheckedOnce {
    fn visit_expr_if(&mut self, i: &'a syn::ExprIf) {
        if !matches!(&*i.cond, Expr::Let(_)) {
            locking::walk_block_inline(&i.then_branch, &mut |x| {
                if let Expr::MethodCall(m) = x
                    && matches!(m.method.to_string().as_str(), "wait" | "wait_timeout")
                    && let Some(Expr::Path(g)) = m.args.first()
                    && let Some(guard) = g.path.get_ident()
                    && locking::mentions(&i.cond, &guard.to_string())
                {
                    self.0.push(Span::from_pm2(m.method.span()));
                }
            });
        }
        visit::visit_expr_if(self, i);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// Whether a pattern throws its value away: `_`, `_name`, or a tuple whose first element (the guard of
/// `wait_timeout`'s `(guard, timeout)`) does.
fn discards(p: &Pat) -> bool {
    match p {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.subpat.is_none() && i.ident.to_string().starts_with('_'),
        Pat::Type(t) => discards(&t.pat),
        Pat::Tuple(t) => t.elems.first().is_some_and(discards),
        _ => false,
    }
}

/// The method call an expression's value comes from, through `.unwrap()`, `.expect(..)`, `?`, parentheses and
/// `.0`.
fn value_call(mut e: &Expr) -> Option<&syn::ExprMethodCall> {
    for _ in 0..8 {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Try(t) => &t.expr,
            Expr::Field(f) if matches!(&f.member, syn::Member::Unnamed(i) if i.index == 0) => &f.base,
            Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "unwrap" | "expect") => &m.receiver,
            Expr::MethodCall(m) => return Some(m),
            _ => return None,
        };
    }
    None
}

/// Collects the method calls of a body whose value is thrown away.
#[derive(Default)]
struct Discarded(Vec<Span>);

impl Discarded {
    fn push(&mut self, e: &Expr) {
        if let Some(m) = value_call(e) {
            self.0.push(Span::from_pm2(m.method.span()));
        }
    }
}

impl<'a> Visit<'a> for Discarded {
    fn visit_local(&mut self, l: &'a syn::Local) {
        if let Some(init) = &l.init
            && discards(&l.pat)
        {
            self.push(&init.expr);
        }
        visit::visit_local(self, l);
    }

    fn visit_stmt(&mut self, s: &'a syn::Stmt) {
        if let syn::Stmt::Expr(e, Some(_)) = s {
            self.push(e);
        }
        visit::visit_stmt(self, s);
    }

    fn visit_item(&mut self, _: &'a syn::Item) {}
}

/// The rule.
pub struct Rule;

fn looks_like_condvar(key: &str) -> bool {
    let last = key.rsplit(['.', ':']).next().unwrap_or(key).to_ascii_lowercase();
    last.contains("cvar") || last.contains("condvar") || last.contains("cond") || last == "cv" || last.ends_with("_cv")
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["wait"]
    }

    /// The receiver is a `Condvar` this file names, or is named like one (`cond`, `cvar`, `cv`, any case).
    fn file_may_fire(&self, source: &str) -> bool {
        static NAMES: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
        NAMES
            .get_or_init(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(["cond", "cv"])
                    .expect("two short literal words compile")
            })
            .is_match(source)
    }
}

impl OnFn for Rule {
    fn on_fn(&self, _cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        // Closures and async blocks are scanned with their enclosing function.
        let Some(block) = body.block.filter(|_| body.sig.is_some()) else { return };
        let mut d = Discarded::default();
        d.visit_block(block);
        st.discarded.extend(d.0);
        let mut c = CheckedOnce::default();
        c.visit_block(block);
        st.checked_once.extend(c.0);
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        let body = match e {
            Expr::While(w) => &w.body,
            Expr::Loop(l) => &l.body,
            Expr::ForLoop(f) => &f.body,
            _ => return,
        };
        let open = Span::from_pm2(body.brace_token.span.open());
        let close = Span::from_pm2(body.brace_token.span.close());
        let depth = cx.context().frames().len();
        st.loops.push((Span::new(open.start, close.end), depth));
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &MethodCallSite<'_>) {
        let m = call.method;
        let n = call.expr.args.len();
        let std_cv = call.receiver.is("std::sync::Condvar");
        let pl_cv = call.receiver.is("parking_lot::Condvar");
        let named = call.receiver.name().is_none()
            && locking::path_key(&call.expr.receiver).is_some_and(|k| looks_like_condvar(&k));
        let is_wait = (std_cv && matches!((m, n), ("wait", 1) | ("wait_timeout", 2)))
            || (pl_cv && matches!((m, n), ("wait", 1) | ("wait_for" | "wait_until", 2)))
            || (named && matches!((m, n), ("wait", 1) | ("wait_timeout", 2)));
        if !is_wait {
            return;
        }
        // A std guard thrown away: the code does not go on as if the condition held (parking_lot's waits take
        // `&mut guard` and return no guard).
        let method_span = Span::from_pm2(call.expr.method.span());
        if !pl_cv && st.discarded.contains(&method_span) && !st.checked_once.contains(&method_span) {
            return;
        }
        let span = call.span();
        let depth = cx.context().frames().len();
        let in_loop =
            st.loops.iter().any(|(l, d)| *d <= depth && l.start <= span.start && span.end <= l.end);
        if in_loop {
            return;
        }
        let d = cx
            .diagnostic(&META, span, format!("`Condvar::{m}` is not in a loop that re-checks the condition"))
            .with_help(format!(
                "use `{}` with the predicate, or call it in `while !condition {{ guard = cvar.{m}(guard)…; }}`",
                if m == "wait" { "cvar.wait_while(guard, |state| !ready(state))" } else { "wait_timeout_while" }
            ));
        cx.report(d);
    }
}
