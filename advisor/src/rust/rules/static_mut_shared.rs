//! CA409 `static-mut-shared`: a `static mut` read or written from code that runs on spawned threads or tasks.

use std::collections::{HashMap, HashSet};

use syn::Expr;

use super::locking::{self, FnNames, Guards};
use super::{CallSite, Checker, FnBody, OnCall, OnExpr, OnFileEnd, OnFn, OnFnExit, OnItem, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;
use crate::rust::context::{FrameKind, OffExecutor};

declare_rule! {
    /// ## What it does
    /// Reports a read or write of a `static mut` declared in this file from code that runs concurrently with
    /// other code: a closure handed to `std::thread::spawn`, a scoped thread, `spawn_blocking` or rayon; an
    /// async block handed to `tokio::spawn`/`async_std::task::spawn`; or a function of this file that such
    /// code calls or that is itself handed to a spawn function (`thread::spawn(worker)`,
    /// `tokio::spawn(handler(x))`). One finding per static and function.
    ///
    /// ## Why is this bad?
    /// A `static mut` has no synchronisation: two threads touching it at the same time, at least one writing,
    /// is a data race — undefined behaviour, not merely a wrong value. The compiler may keep the value in a
    /// register, tear a write, or reorder it past other memory operations. rustc's `static_mut_refs` lint
    /// catches references to it, not plain reads and writes.
    ///
    /// ## Known problems
    /// Only calls one level deep from the spawned code, within this file, are followed. An access that is
    /// made while a lock guard bound with `let` is alive, or in a function that runs a `Once`
    /// (`call_once`, `get_or_init`), is taken as ordered by it and not reported; other synchronisation
    /// is not seen. Outside async code, accesses inside macro arguments (`println!("{}", X)`) are seen only
    /// when the macro's text mentions `unsafe` or `spawn`.
    ///
    /// ## Example
    /// ```rust,ignore
    /// static mut HITS: u64 = 0;
    /// for _ in 0..4 {
    ///     std::thread::spawn(|| unsafe { HITS += 1 });
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// static HITS: AtomicU64 = AtomicU64::new(0);
    /// for _ in 0..4 {
    ///     std::thread::spawn(|| HITS.fetch_add(1, Ordering::Relaxed));
    /// }
    /// ```
    /// (or a `static M: Mutex<T>`, or a `OnceLock` for one-time initialisation).
    ///
    /// ## Runtime evidence
    /// ThreadSanitizer (`-Zsanitizer=thread`) reports a data race on the static; counts come out short
    /// under load.
    pub static META = {
        code: "CA409",
        name: "static-mut-shared",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a `static mut` is accessed from code that runs on spawned threads or tasks (a data race)",
    };
}

struct Access {
    name: String,
    span: Span,
    /// Why this code runs concurrently, when the frame stack says so.
    concurrent: Option<&'static str>,
    func: Option<String>,
}

#[derive(Default)]
pub struct State {
    statics: HashMap<String, Span>,
    accesses: Vec<Access>,
    spawned_fns: HashMap<String, &'static str>,
    spawned_blocks: Vec<Span>,
    fns: FnNames,
    guards: Guards,
    /// Functions that run a `Once` (`call_once`, `get_or_init`): their accesses are ordered by it.
    once_fns: HashSet<String>,
}

/// The rule.
pub struct Rule;

const SPAWNS: &[&str] = &[
    "std::thread::spawn",
    "std::thread::Builder::spawn",
    "tokio::spawn",
    "tokio::task::spawn",
    "tokio::task::spawn_blocking",
    "tokio::task::spawn_local",
    "async_std::task::spawn",
    "smol::spawn",
    "rayon::spawn",
    "rayon::join",
];

fn concurrency(cx: &Checker<'_>) -> Option<&'static str> {
    for f in cx.context().frames().iter().rev() {
        match f.kind {
            FrameKind::OffExecutor(OffExecutor::Thread) => return Some("this closure runs on a spawned thread"),
            FrameKind::OffExecutor(OffExecutor::Rayon) => return Some("this closure runs on rayon's worker threads"),
            FrameKind::OffExecutor(OffExecutor::SpawnBlocking) => {
                return Some("this closure runs on the blocking thread pool");
            }
            FrameKind::Fn | FrameKind::AsyncFn => return None,
            _ => {}
        }
    }
    None
}

/// Whether `text` holds `static` then `mut` (whitespace between, not the lifetime `'static`): a `static mut`
/// declaration could be there.
fn declares_static_mut(text: &str) -> bool {
    text.match_indices("static").any(|(i, _)| {
        let rest = text[i + "static".len()..].trim_start();
        i.checked_sub(1).is_none_or(|p| text.as_bytes()[p] != b'\'')
            && rest.strip_prefix("mut").is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
    })
}

fn last_segment(e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["unsafe", "spawn"]
    }

    /// Only a `static mut` declared in this file is reported.
    fn file_may_fire(&self, source: &str) -> bool {
        declares_static_mut(source)
    }

    fn needs_types(&self) -> bool {
        true
    }
}

impl OnItem for Rule {
    fn on_item(&self, _cx: &mut Checker<'_>, st: &mut State, item: &syn::Item) {
        if let syn::Item::Static(s) = item
            && matches!(s.mutability, syn::StaticMutability::Mut(_))
        {
            st.statics.insert(s.ident.to_string(), Span::from_pm2(s.ident.span()));
        }
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &CallSite<'_>) {
        let spawn = call.is_any(SPAWNS);
        let inside = concurrency(cx);
        if spawn {
            for a in &call.expr.args {
                match a {
                    Expr::Path(_) => {
                        if let Some(n) = last_segment(a) {
                            st.spawned_fns.insert(n, "this function is handed to a spawn function");
                        }
                    }
                    Expr::Call(c) => {
                        if let Some(n) = last_segment(&c.func) {
                            st.spawned_fns.insert(n, "this function's future is spawned as a task");
                        }
                    }
                    Expr::Async(b) => {
                        let s = Span::from_pm2(b.async_token.span).start;
                        let e = Span::from_pm2(b.block.brace_token.span.close()).end;
                        st.spawned_blocks.push(Span::new(s, e));
                    }
                    _ => {}
                }
            }
        } else if inside.is_some()
            && let Some(n) = last_segment(&call.expr.func)
        {
            st.spawned_fns.entry(n).or_insert("this function is called from a spawned thread");
        }
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        st.guards.on_local(cx, local);
        // Here any `let g = x.lock()` (of a lock type this file cannot see, e.g. a static `SpinMutex`) counts:
        // a guard only silences findings.
        if let syn::Pat::Ident(id) = &local.pat
            && let Some(init) = &local.init
            && let Some((m, _, false)) = locking::unwrap_acq(&init.expr)
            && m.args.is_empty()
            && matches!(m.method.to_string().as_str(), "lock" | "write" | "read")
            && !st.guards.live.iter().any(|g| id.ident == g.name)
        {
            let name = id.ident.to_string();
            let scope = cx.semantic().local(&name).map_or_else(|| cx.semantic().scope_id(), |b| b.scope);
            let span = Span::from_pm2(id.ident.span());
            let acq = locking::Acq {
                mode: locking::LockMode::Exclusive,
                lib: locking::LockLib::ParkingLot,
                key: None,
                global: None,
                span,
                is_try: false,
                fair: false,
            };
            st.guards.live.push(locking::Guard { name, acq, scope, depth: cx.context().frames().len(), span, shadowed: false });
        }
    }
}

impl OnScopeExit for Rule {
    fn on_scope_exit(&self, _cx: &mut Checker<'_>, st: &mut State, scope: usize) {
        st.guards.on_scope_exit(scope);
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        st.guards.on_expr(e);
        if let Expr::MethodCall(m) = e
            && matches!(
                m.method.to_string().as_str(),
                "call_once" | "call_once_force" | "get_or_init" | "get_or_try_init" | "init" | "initialize"
            )
            && m.args.iter().any(|a| matches!(a, Expr::Closure(_)))
        {
            if let Some(f) = st.fns.current().map(str::to_string) {
                st.once_fns.insert(f);
            }
            return;
        }
        let Expr::Path(p) = e else { return };
        let Some(id) = p.path.get_ident() else { return };
        let name = id.to_string();
        if !name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) || cx.semantic().local(&name).is_some() {
            return;
        }
        // Under a lock guard the access is ordered by the lock.
        let locked = !st.guards.held(cx).is_empty();
        if locked {
            return;
        }
        let concurrent = concurrency(cx);
        let func = st.fns.current().map(str::to_string);
        st.accesses.push(Access { name, span: Span::from_pm2(id.span()), concurrent, func });
    }
}

impl OnFn for Rule {
    fn on_fn(&self, _cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        st.fns.enter(body);
    }
}

impl OnFnExit for Rule {
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut State, _body: &FnBody<'_>) {
        st.fns.exit();
        st.guards.on_fn_exit(cx);
    }
}

impl OnFileEnd for Rule {
    fn on_file_end(&self, cx: &mut Checker<'_>, st: &mut State) {
        let mut done: HashSet<(String, Option<String>)> = HashSet::new();
        for a in &st.accesses {
            let Some(decl) = st.statics.get(&a.name) else { continue };
            if a.func.as_ref().is_some_and(|f| st.once_fns.contains(f)) {
                continue;
            }
            let why = a
                .concurrent
                .or_else(|| {
                    st.spawned_blocks
                        .iter()
                        .any(|b| b.start <= a.span.start && a.span.end <= b.end)
                        .then_some("this async block is spawned as a task")
                })
                .or_else(|| a.func.as_ref().and_then(|f| st.spawned_fns.get(f).copied()));
            let Some(why) = why else { continue };
            if !done.insert((a.name.clone(), a.func.clone())) {
                continue;
            }
            let d = cx
                .diagnostic(
                    &META,
                    a.span,
                    format!("`static mut {}` is accessed from code that runs concurrently: a data race", a.name),
                )
                .with_help(format!(
                    "make `{}` an atomic (`AtomicUsize`, `AtomicBool`, …), a `static Mutex<_>`, or a `OnceLock` if it is set once",
                    a.name
                ))
                .with_note(why, None)
                .with_note(format!("`{}` is declared `static mut` here", a.name), Some(*decl));
            cx.report(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::declares_static_mut;

    #[test]
    fn a_static_mut_declaration_is_recognised_in_the_text() {
        assert!(declares_static_mut("static mut X: u32 = 0;"));
        assert!(declares_static_mut("pub(crate) static\n    mut COUNT: u32 = 0;"));
        assert!(!declares_static_mut("static X: u32 = 0; unsafe { f() }"));
        assert!(!declares_static_mut("fn f(x: &'static mut u8) {}"));
        assert!(!declares_static_mut("static mutex: u8 = 0;"));
    }
}
