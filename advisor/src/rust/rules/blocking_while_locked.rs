//! CA407 `blocking-while-locked`: sleeping, blocking I/O, joining a thread or receiving from a channel while a
//! lock guard is alive.

use syn::Expr;

use super::guard_across_await::{Body, scrutinee};
use super::call_chain::note_at;
use super::lock_facts::{Reach, Reached};
use super::locking::{self, Guard, Guards, LockLib};
use super::{CallSite, Checker, CrateGraph, LinkContext, FnBody, MethodCallSite, OnCall, OnExpr, OnFnExit, OnLocal, OnMethodCall, OnScopeExit, RustRule, Ty};
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::rust::callgraph::{BlockFact, HeldCall, LockUse};

declare_rule! {
    /// ## What it does
    /// Reports a blocking call made while a guard of a thread lock (std or parking_lot `Mutex`/`RwLock`)
    /// bound with `let` is alive in the same function: `std::thread::sleep`, `thread::park`, `std::fs`
    /// functions and `File::open`/`create`, `TcpStream::connect`, joining a thread, receiving from a std or
    /// crossbeam channel (`recv`, `recv_timeout`, `iter`), sending on a bounded std channel, running a child
    /// process to completion (`output`, `status`, `wait`), and blocking HTTP requests.
    ///
    /// Blocking calls in the branch of an `if` that tests the guard (`if cache.is_none() { *cache =
    /// Some(load()?) }`) are lazy initialisation under the lock and are not reported. Guards named with a
    /// leading underscore (`let _lock = MUTEX.lock()`) are not considered: such a lock
    /// exists to serialise the code that follows, blocking calls included. Calls on the guarded value itself (`let mut f = file.lock().unwrap(); f.write_all(..)`,
    /// `rx_guard.recv()`) are what the lock is for and are not reported; neither is `Condvar::wait`, which
    /// releases the lock.
    ///
    /// ## Why is this bad?
    /// Every other thread that needs the lock waits for the whole sleep, disk or network round-trip, or for
    /// another thread to finish: the lock turns parallel work into serial work, and if the awaited thread
    /// needs the same lock, it deadlocks.
    ///
    /// The temporary guard of a lock taken in a `match`/`if let`/`while let` scrutinee
    /// (`while let Some(job) = queue.lock().unwrap().pop() { … }`) lives until the end of the body and counts
    /// too. Across calls: a call made while a guard is alive to a crate function that blocks — itself or in a
    /// function it calls, up to 8 calls deep, as the blocking rules (CA101–CA106) recognise it — is reported
    /// with the chain in the notes; a call handed the guarded value (`save(&guard)`) is not.
    ///
    /// ## Known problems
    /// Blocking in called functions is known only where the crate has the call graph (async code or threads
    /// started in it) and the blocking rules are enabled. Guards bound by `if let`/`match` patterns are not
    /// tracked apart from the scrutinee's temporary.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let mut cache = self.cache.lock().unwrap();
    /// let body = std::fs::read_to_string(path)?;
    /// cache.insert(path.to_owned(), body);
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let body = std::fs::read_to_string(path)?;
    /// self.cache.lock().unwrap().insert(path.to_owned(), body);
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` classifies the other functions that take this lock as lock-serialized, and
    /// this one as blocked (off-CPU) while holding it.
    pub static META = {
        code: "CA407",
        name: "blocking-while-locked",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "a blocking call (sleep, I/O, join, recv) is made while a lock guard is held",
    };
}

#[derive(Default)]
pub struct State {
    guards: Guards,
    /// Branches of an `if` whose condition reads a held guard (`if g.is_none() { g = Some(load()) }`): lazy
    /// initialisation under the lock, which is what a `OnceLock` would do too. (guard name, branch span).
    lazy_init: Vec<(String, Span)>,
    /// Temporary guards of `match`/`if let`/`while let` scrutinees, alive through their bodies.
    temps: Vec<TempGuard>,
}

/// A lock taken in a scrutinee: its guard is a temporary that lives until the end of the body.
struct TempGuard {
    /// The innermost frame that is not a plain closure, where the scrutinee is.
    frame: usize,
    /// The spans of the body (the block, or each arm).
    body: Vec<Span>,
    /// The acquisition.
    acq: Span,
    /// The lock's receiver path.
    key: String,
    /// The names the patterns bind (values borrowed from the guard, or the guard itself).
    bindings: Vec<String>,
}

/// The frame code runs in, seen through plain closures (which run inline).
fn inline_frame(cx: &Checker<'_>) -> usize {
    let frames = cx.context().frames();
    frames.iter().rposition(|f| f.kind != crate::rust::context::FrameKind::Closure).map_or(0, |i| i + 1)
}

fn pat_names(p: &syn::Pat, out: &mut Vec<String>) {
    struct Names<'o>(&'o mut Vec<String>);
    impl<'ast> syn::visit::Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, i: &'ast syn::PatIdent) {
            self.0.push(i.ident.to_string());
            syn::visit::visit_pat_ident(self, i);
        }
    }
    syn::visit::Visit::visit_pat(&mut Names(out), p);
}

/// Records the temporary guards of a scrutinee's locks (std and parking_lot) as alive through its body.
fn scrutinee_temps(cx: &Checker<'_>, st: &mut State, e: &Expr) {
    let Some((scrut, body)) = scrutinee(e) else { return };
    let acqs: Vec<_> = locking::acquisitions_in(cx, scrut)
        .into_iter()
        .filter(|a| matches!(a.lib, LockLib::Std | LockLib::ParkingLot) && !a.is_try)
        .collect();
    let Some(acq) = acqs.first() else { return };
    let mut bindings = Vec::new();
    let spans = match (&body, e) {
        (Body::Arms(arms), _) => arms
            .iter()
            .map(|a| {
                pat_names(&a.pat, &mut bindings);
                Span::from_pm2(syn::spanned::Spanned::span(a))
            })
            .collect(),
        (Body::Block(b), Expr::If(syn::ExprIf { cond, .. }) | Expr::While(syn::ExprWhile { cond, .. })) => {
            if let Expr::Let(l) = &**cond {
                pat_names(&l.pat, &mut bindings);
            }
            vec![Span::new(
                Span::from_pm2(b.brace_token.span.open()).start,
                Span::from_pm2(b.brace_token.span.close()).end,
            )]
        }
        _ => return,
    };
    let key = acq.key.clone().unwrap_or_else(|| "the lock".to_string());
    st.temps.push(TempGuard { frame: inline_frame(cx), body: spans, acq: acq.span, key, bindings });
}

/// The temporary scrutinee guard alive at `span`, if any (the innermost).
fn temp_at<'s>(cx: &Checker<'_>, st: &'s State, span: Span, receiver_root: Option<&str>) -> Option<&'s TempGuard> {
    let frame = inline_frame(cx);
    st.temps.iter().rev().find(|t| {
        t.frame == frame
            && t.body.iter().any(|b| b.start <= span.start && span.end <= b.end)
            && receiver_root.is_none_or(|r| !t.bindings.iter().any(|n| n == r))
    })
}

/// Whether the call hands `name` (or a field of it) to the callee, as the receiver or an argument (`f(&g)`,
/// `g.flush()`, `f(&mut g.file)`): blocking on the guarded value is what the lock is for.
fn passes(e: &Expr, name: &str) -> bool {
    let (recv, args): (Option<&Expr>, Vec<&Expr>) = match e {
        Expr::Call(c) => (None, c.args.iter().collect()),
        Expr::MethodCall(m) => (Some(&m.receiver), m.args.iter().collect()),
        _ => return true,
    };
    let is_guarded = |x: &Expr| locking::path_key(x).is_some_and(|k| locking::key_root(&k) == name);
    recv.is_some_and(is_guarded) || args.into_iter().any(is_guarded)
}

/// Records a call made while a guard this rule counts is alive (a `let` guard outside its lazy-initialisation
/// branch, or a scrutinee's temporary), for the link step to look for blocking below it.
fn guarded_call(cx: &mut Checker<'_>, st: &State, e: &Expr) {
    if st.guards.live.is_empty() && st.temps.is_empty() {
        return;
    }
    let Some(span) = super::lock_facts::call_span(e) else { return };
    let lazy = |g: &Guard| st.lazy_init.iter().any(|(n, r)| *n == g.name && r.start <= span.start && span.end <= r.end);
    let held = if st.guards.live.is_empty() { Vec::new() } else { st.guards.held(cx) };
    let found = match held.into_iter().rev().find(|g| !lazy(g) && !passes(e, &g.name)) {
        Some(g) => Some((g.name, g.span)),
        None => {
            let root = match e {
                Expr::MethodCall(m) => locking::path_key(&m.receiver).map(|k| locking::key_root(&k).to_string()),
                _ => None,
            };
            temp_at(cx, st, span, root.as_deref())
                .filter(|t| !t.bindings.iter().any(|b| passes(e, b)))
                .map(|t| (format!("the temporary guard of `{}`", t.key), t.acq))
        }
    };
    let Some((name, at)) = found else { return };
    let held = LockUse { lock: name, shared: false, span: at, on_self: false, fair: false, is_try: false };
    cx.facts().0.on_guarded_call(held, span);
}

fn report_temp(cx: &mut Checker<'_>, span: Span, what: &str, t: &TempGuard) {
    let (acq, key) = (t.acq, t.key.clone());
    let d = cx
        .diagnostic(&META, span, format!("{what} while the temporary guard of `{key}` taken in the scrutinee is held"))
        .with_help("take what you need from the lock in its own `let` statement (the guard is dropped at its end), then match on it")
        .with_note("this guard is a temporary of the `match`/`if let`/`while let` scrutinee: it lives until the end of the body", Some(acq));
    cx.report(d);
}

/// The rule.
pub struct Rule;

const BLOCKING_FNS: &[&str] = &[
    "std::thread::sleep",
    "std::thread::park",
    "std::thread::park_timeout",
    "std::fs::read",
    "std::fs::read_to_string",
    "std::fs::write",
    "std::fs::copy",
    "std::fs::read_dir",
    "std::fs::create_dir_all",
    "std::fs::remove_dir_all",
    "std::fs::remove_file",
    "std::fs::rename",
    "std::fs::File::open",
    "std::fs::File::create",
    "std::net::TcpStream::connect",
    "std::net::TcpStream::connect_timeout",
    "reqwest::blocking::get",
];

fn blocking_method(r: &Ty, m: &str) -> Option<&'static str> {
    if r.is_any(&["std::thread::JoinHandle", "std::thread::ScopedJoinHandle"]) && m == "join" {
        return Some("joining a thread");
    }
    if r.is_any(&["std::sync::mpsc::Receiver", "crossbeam_channel::Receiver"])
        && matches!(m, "recv" | "recv_timeout" | "recv_deadline" | "iter")
    {
        return Some("receiving from a channel");
    }
    if r.is("std::sync::mpsc::SyncSender") && m == "send" {
        return Some("sending on a bounded channel");
    }
    if r.is("std::process::Command") && matches!(m, "output" | "status") {
        return Some("running a child process");
    }
    if r.is("std::process::Child") && matches!(m, "wait" | "wait_with_output") {
        return Some("waiting for a child process");
    }
    if (r.is("reqwest::blocking::RequestBuilder") && m == "send") || (r.is("ureq::Request") && m == "call") {
        return Some("a blocking HTTP request");
    }
    if r.name().is_none() && matches!(m, "recv_timeout" | "recv_deadline") {
        return Some("receiving from a channel");
    }
    None
}

fn report(cx: &mut Checker<'_>, st: &State, span: Span, what: &str, g: &Guard) {
    let lazy = st.lazy_init.iter().any(|(n, r)| *n == g.name && r.start <= span.start && span.end <= r.end);
    if lazy {
        return;
    }
    let d = cx
        .diagnostic(&META, span, format!("{what} while the lock guard `{}` is held", g.name))
        .with_help(format!(
            "do the blocking work before taking the lock or after releasing it (end `{}`'s block or `drop({})` first)",
            g.name, g.name
        ))
        .with_note(format!("`{}` holds the lock from here", g.name), Some(g.span));
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

    fn follows_lock_calls(&self) -> bool {
        true
    }

    /// Blocking some calls below a call made while a guard is alive (the blocking calls the CA1xx rules found
    /// in the crate's sync functions).
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        if graph.files().iter().all(|f| f.guarded_calls.is_empty()) {
            return;
        }
        let reach = Reach::new(graph);
        for (fi, file) in graph.files().iter().enumerate() {
            let mut done: Vec<Span> = Vec::new();
            for gc in &file.guarded_calls {
                if done.contains(&gc.span) {
                    continue;
                }
                let found = reach.reached_from((fi, gc.func), gc.span, false, false).into_iter().find_map(|r| {
                    let f = graph.fn_facts(r.func);
                    let b = f.blocks.iter().find(|b| BLOCKING_CODES.contains(&b.rule.code))?;
                    Some((r, b))
                });
                let Some((r, b)) = found else { continue };
                done.push(gc.span);
                cx.report(across_calls(graph, cx, fi, gc, &r, b));
            }
        }
    }
}

/// The blocking rules whose facts count below a guard: sleep, file system, network, processes, waits, HTTP.
const BLOCKING_CODES: &[&str] = &["CA101", "CA102", "CA103", "CA104", "CA105", "CA106"];

fn across_calls(
    g: &CrateGraph<'_>,
    cx: &LinkContext<'_>,
    fi: usize,
    gc: &HeldCall,
    r: &Reached,
    b: &BlockFact,
) -> Diagnostic {
    let path = &g.files()[fi].path;
    let names: Vec<String> = r.chain.iter().map(|(id, _)| format!("`{}`", g.fn_facts(*id).name)).collect();
    let through = if names.len() > 1 { format!(" (through {})", names[1..].join(" → ")) } else { String::new() };
    let guard = if gc.held.lock.starts_with("the temporary") { gc.held.lock.clone() } else { format!("the lock guard `{}`", gc.held.lock) };
    let msg = format!("{}{through} blocks while {guard} is held", names[0]);
    let mut d = cx
        .diagnostic(&META, path, gc.span, msg)
        .with_help("do the blocking work before taking the lock or after releasing it, or release the guard before the call")
        .with_note("the guard is alive from here", Some(gc.held.span));
    for w in r.chain.windows(2) {
        let msg = format!("`{}` calls `{}` here", g.fn_facts(w[0].0).name, g.fn_facts(w[1].0).name);
        d = note_at(d, path, msg, g.file_of(w[0].0), w[1].1);
    }
    let last = r.chain.last().map_or(r.func, |(id, _)| *id);
    // The blocking rules' messages speak of the executor: keep what blocks (`std::fs::write`, …).
    let call = b.message.split(" blocks").next().unwrap_or(&b.message);
    let what = format!("`{}` blocks here: {call}", g.fn_facts(last).name);
    note_at(d, path, what, g.file_of(last), b.span)
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        st.guards.on_local(cx, local);
        // A guard named `_x` is never used to reach data: it serialises the code after it, blocking included.
        st.guards.live.retain(|g| matches!(g.acq.lib, LockLib::Std | LockLib::ParkingLot) && !g.name.starts_with('_'));
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        st.guards.on_expr(e);
        scrutinee_temps(cx, st, e);
        guarded_call(cx, st, e);
        if let Expr::If(i) = e
            && !st.guards.live.is_empty()
        {
            let names: Vec<String> = st.guards.held(cx).into_iter().map(|g| g.name).collect();
            let open = Span::from_pm2(i.then_branch.brace_token.span.open()).start;
            let close = Span::from_pm2(i.then_branch.brace_token.span.close()).end;
            for n in names {
                if locking::mentions(&i.cond, &n) {
                    st.lazy_init.push((n, Span::new(open, close)));
                }
            }
        }
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &CallSite<'_>) {
        if (st.guards.live.is_empty() && st.temps.is_empty()) || !call.is_any(BLOCKING_FNS) {
            return;
        }
        let Some(g) = st.guards.held(cx).into_iter().last() else {
            if let Some(t) = temp_at(cx, st, call.span(), None) {
                let what = format!("`{}`", call.path.unwrap_or_default());
                report_temp(cx, call.span(), &what, t);
            }
            return;
        };
        let what = format!("`{}`", call.path.unwrap_or_default());
        report(cx, st, call.span(), &what, &g);
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &MethodCallSite<'_>) {
        if st.guards.live.is_empty() && st.temps.is_empty() {
            return;
        }
        let Some(what) = blocking_method(call.receiver, call.method) else { return };
        let held = st.guards.held(cx);
        // Blocking on the guarded value itself is what the lock is for.
        let root = locking::path_key(&call.expr.receiver);
        let root = root.as_deref().map(locking::key_root);
        if held.iter().any(|g| Some(g.name.as_str()) == root) {
            return;
        }
        let Some(g) = held.into_iter().last() else {
            // A receiver that is no plain path may be the guarded value: only named receivers count here.
            if let Some(r) = root
                && let Some(t) = temp_at(cx, st, call.span(), Some(r))
            {
                report_temp(cx, call.span(), &format!("{what} (`.{}()`)", call.method), t);
            }
            return;
        };
        report(cx, st, call.span(), &format!("{what} (`.{}()`)", call.method), &g);
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
        let frame = inline_frame(cx);
        st.temps.retain(|t| t.frame < frame);
    }
}
