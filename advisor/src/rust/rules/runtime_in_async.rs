//! CA107 `runtime-in-async`: building a runtime or calling `block_on` inside async context.

use super::{CallSite, Checker, CrateGraph, FnBody, LinkContext, MethodCallSite, OnCall, OnFn, OnMethodCall, RustRule, locking};
use crate::diagnostic::Span;
use crate::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports, in async context: `tokio::runtime::Runtime::new()` and `Builder::…::build()`;
    /// `block_on` on a tokio `Runtime` or `Handle` (and any `.block_on(..)` whose result is not awaited);
    /// `futures::executor::block_on`, `futures_lite::future::block_on`, `pollster::block_on`,
    /// `async_std::task::block_on`, `smol::block_on`.
    ///
    /// A runtime bound by `let` and consumed in the same block by `shutdown_timeout` or
    /// `shutdown_background`, or moved into a closure handed to a thread's `spawn` (`thread::spawn(move ||
    /// run(rt))`), is not reported where it is built: it is never dropped in async context (a `block_on` on it
    /// still is).
    ///
    /// ## Why is this bad?
    /// tokio panics with "Cannot start a runtime from within a runtime" when `block_on` is called on a thread
    /// that is already driving a runtime, and "Cannot drop a runtime in a context where blocking is not
    /// allowed" when a runtime built inside async code is dropped there. Executor-agnostic `block_on`s
    /// (futures, pollster) do not panic but block the worker thread until the future completes; if that
    /// future needs the blocked runtime (a tokio timer, socket or channel) it deadlocks.
    ///
    /// ## Known problems
    /// `block_on` reached through a sync helper defined in another file is not reported by this rule.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn handler() -> Data {
    ///     let rt = tokio::runtime::Runtime::new().unwrap();
    ///     rt.block_on(fetch())
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn handler() -> Data {
    ///     fetch().await
    /// }
    /// ```
    /// Sync code that must call async code from inside the runtime belongs in `tokio::task::spawn_blocking`,
    /// where `Handle::current().block_on(..)` is allowed.
    ///
    /// ## Runtime evidence
    /// The program panics at the call; with an executor-agnostic `block_on`, `#[profile_concurrency]` shows the
    /// async function's poll blocked for the whole inner future, or never returning.
    pub static META = {
        code: "CA107",
        name: "runtime-in-async",
        severity: Error,
        language: Rust,
        family: Blocking,
        summary: "a runtime built or `block_on` called inside async context panics or deadlocks",
        call_graph: Blocking,
        async_only: true,
    };
}

const BLOCK_ONS: &[&str] = &[
    "futures::executor::block_on",
    "futures_lite::future::block_on",
    "pollster::block_on",
    "async_std::task::block_on",
    "smol::block_on",
    "tokio::runtime::Handle::block_on",
    "tokio::runtime::Runtime::block_on",
];

const HELP: &str = "`.await` the future instead; sync code that must block on async work belongs in \
                    `tokio::task::spawn_blocking`, where `Handle::current().block_on(..)` is allowed";

/// The rule.
pub struct Rule;

/// Per file: where the runtime-building calls end whose runtime is consumed by `shutdown_timeout` /
/// `shutdown_background` or moved into a spawned thread (dropping it then does not panic; using it is reported
/// at the use).
#[derive(Default)]
pub struct State {
    consumed: Vec<crate::diagnostic::Location>,
}

/// `let rt = <build>; … rt.shutdown_timeout(..)` / `rt.shutdown_background()` in one block of `body` (not in
/// closures or async blocks, which are bodies of their own): the ends of the calls in `<build>`.
fn consumed_runtimes(body: &FnBody<'_>) -> Vec<crate::diagnostic::Location> {
    use syn::visit::{self, Visit};
    struct V(Vec<crate::diagnostic::Location>);
    impl<'a> Visit<'a> for V {
        fn visit_block(&mut self, b: &'a syn::Block) {
            for (i, s) in b.stmts.iter().enumerate() {
                let syn::Stmt::Local(l) = s else { continue };
                let (syn::Pat::Ident(id), Some(init)) = (&l.pat, &l.init) else { continue };
                let shut_down = b.stmts[i + 1..].iter().any(|later| {
                    let e = match later {
                        syn::Stmt::Expr(e, _) => e,
                        syn::Stmt::Local(syn::Local { init: Some(init), .. }) => &*init.expr,
                        _ => return false,
                    };
                    let mut found = false;
                    locking::walk_inline(e, &mut |x| match x {
                        syn::Expr::MethodCall(m)
                            if matches!(m.method.to_string().as_str(), "shutdown_timeout" | "shutdown_background")
                                && matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident(&id.ident)) =>
                        {
                            found = true;
                        }
                        // Moved into a thread: `thread::spawn(move || run(rt))` (issue 12: tokio-util's
                        // `LocalPoolHandle::new` builds each worker's runtime, then hands it to the worker).
                        syn::Expr::Call(c) if spawns(&c.func) => found |= moves_into(c.args.iter(), &id.ident),
                        syn::Expr::MethodCall(m) if m.method == "spawn" || m.method == "spawn_scoped" => {
                            found |= moves_into(m.args.iter(), &id.ident);
                        }
                        _ => {}
                    });
                    found
                });
                if shut_down {
                    locking::walk_inline(&init.expr, &mut |x| match x {
                        syn::Expr::MethodCall(m) => self.0.push(Span::from_pm2(m.paren_token.span.close()).end),
                        syn::Expr::Call(c) => self.0.push(Span::from_pm2(c.paren_token.span.close()).end),
                        _ => {}
                    });
                }
            }
            visit::visit_block(self, b);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    if let Some(b) = body.block {
        v.visit_block(b);
    }
    v.0
}

/// `thread::spawn`, `std::thread::spawn` (a path whose last segment is `spawn` after a `thread` segment).
fn spawns(func: &syn::Expr) -> bool {
    let syn::Expr::Path(p) = func else { return false };
    let segs = &p.path.segments;
    segs.len() >= 2 && segs[segs.len() - 1].ident == "spawn" && segs[segs.len() - 2].ident == "thread"
}

/// Whether one of `args` is a closure whose body names `ident`: the value is moved (or borrowed) into
/// the thread, which drops it there.
fn moves_into<'a>(args: impl Iterator<Item = &'a syn::Expr>, ident: &syn::Ident) -> bool {
    use syn::visit::Visit;
    struct Names<'i>(&'i syn::Ident, bool);
    impl<'a> Visit<'a> for Names<'_> {
        fn visit_expr_path(&mut self, p: &'a syn::ExprPath) {
            self.1 |= p.path.is_ident(self.0);
        }
    }
    args.filter_map(|a| match a {
        syn::Expr::Closure(c) => Some(c),
        _ => None,
    })
    .any(|c| {
        let mut n = Names(ident, false);
        n.visit_expr(&c.body);
        n.1
    })
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}

impl OnFn for Rule {
    fn on_fn(&self, _cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        st.consumed.extend(consumed_runtimes(body));
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &CallSite<'_>) {
        let msg = if call.is("tokio::runtime::Runtime::new") {
            if st.consumed.contains(&call.span().end) {
                return;
            }
            "building a tokio runtime inside async context: using it panics (`Cannot start a runtime from within a \
             runtime`), and so does dropping it here"
                .to_string()
        } else if call.is_any(BLOCK_ONS) {
            format!(
                "`{}` blocks the executor's worker thread until the future completes (tokio panics; others can \
                 deadlock)",
                call.path.unwrap_or_default()
            )
        } else {
            return;
        };
        cx.report_on_executor(&META, call.span(), msg, HELP);
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let r = call.receiver;
        let msg = match call.method {
            "build" if r.is("tokio::runtime::Builder") => {
                if st.consumed.contains(&call.span().end) {
                    return;
                }
                "building a tokio runtime inside async context: using it panics (`Cannot start a runtime from within \
                 a runtime`), and so does dropping it here"
            }
            "block_on" if r.is_any(&["tokio::runtime::Runtime", "tokio::runtime::Handle"]) => {
                "`block_on` inside async context panics: `Cannot start a runtime from within a runtime`"
            }
            "block_on" => {
                "`block_on` inside async context blocks the executor's worker thread until the future completes \
                 (tokio panics; other executors can deadlock)"
            }
            _ => return,
        };
        cx.report_on_executor(&META, call.span(), msg, HELP);
    }

}
