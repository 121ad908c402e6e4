//! CA301 `thread-per-item`: `std::thread::spawn` (or a scoped or `Builder` spawn) once per item of
//! data-dependent input, for CPU-heavy work: more CPU-bound threads than cores. Also the loop tracking the
//! other thread rules share ([`spawn_in_loop`]).

use syn::Expr;
use syn::visit::Visit;

use super::call_chain::{chain_notes, push_notes};
use super::{CallSite, Checker, CrateGraph, LinkContext, MethodCallSite, OnCall, OnExpr, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;
use crate::rust::callgraph::{Deferred, Want};
use crate::rust::heavy::{self, BodyFacts};
use crate::rust::semantic::SemanticModel;

declare_rule! {
    /// ## What it does
    /// Reports a thread spawned on every iteration of a loop over data-dependent or unbounded input (a
    /// collection's items, `lines()`, `while let Some(job) = rx.recv()`, `loop { … }`, `0..items.len()`) or
    /// over a literal range of more than `assumed-cores` × `oversubscription-factor` rounds (`[rust]`,
    /// default 16 × 4 = 64; `for i in 0..500`, `(0..500).map(|i| …)`) when the thread's closure is CPU-heavy:
    /// a heavy loop,
    /// hashing per iteration, rayon work, or a call to a crate-local CPU-heavy function (crate-wide call
    /// graph). `std::thread::spawn`, `thread::Builder::spawn` and scoped threads (`s.spawn` in
    /// `std::thread::scope`) count.
    ///
    /// For a literal count the message gives the arithmetic: `500 threads … on N cores: ≈ 500/N× oversubscribed
    /// (31× on 16 cores)`.
    ///
    /// Not reported: loops over chunks (`data.chunks(len / cores)`: the fix), over a literal range of at most
    /// `assumed-cores` × `oversubscription-factor` rounds or whose body joins each thread before the next round,
    /// over `0..n` where `n` is not a collection's length, and threads whose work is not
    /// CPU-heavy by evidence (I/O-bound thread-per-connection is `thread-per-connection`'s advice).
    ///
    /// ## Why is this bad?
    /// Rust has no GIL: CPU-bound threads run in parallel only up to the number of cores. One thread per item
    /// runs as many CPU-bound threads as there are items; beyond the cores they only time-slice, each costs a
    /// stack (2 MiB reserved by default) and a kernel thread, and a large input exhausts memory or the thread
    /// limit (`spawn` panics, `Builder::spawn` errors).
    ///
    /// ## Known problems
    /// Whether the closure is CPU-heavy is judged from syntax and from the crate's own functions; a closure
    /// calling heavy code in another crate is not reported. A loop known to have few items (a fixed list of
    /// shards) is reported when its work is heavy; suppress it.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let handles: Vec<_> = files.into_iter().map(|f| f).collect::<Vec<_>>();
    /// for file in files {
    ///     handles.push(std::thread::spawn(move || hash_file(&file)));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let results: Vec<_> = files.par_iter().map(|f| hash_file(f)).collect();
    /// // or scoped threads over one chunk per core:
    /// let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// std::thread::scope(|s| {
    ///     for chunk in files.chunks(files.len().div_ceil(cores)) {
    ///         s.spawn(move || chunk.iter().map(hash_file).collect::<Vec<_>>());
    ///     }
    /// });
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` classifies the spawned work as *oversubscribed*: CPU-bound with run-queue
    /// wait growing with the number of threads, and recommends a pool of `available_parallelism()` threads.
    pub static META = {
        code: "CA301",
        name: "thread-per-item",
        severity: Warning,
        language: Rust,
        family: Threads,
        summary: "a CPU-heavy thread spawned per item of unbounded input: more CPU-bound threads than cores",
        call_graph: Heavy,
    };
}

/// What a loop iterates, as far as the thread rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopClass {
    /// A bounded number of iterations: a small literal range, chunks, `0..n_workers`.
    Bounded,
    /// One iteration per item of data-dependent or unbounded input.
    Data,
    /// One iteration per accepted connection (`incoming()`, `accept()`).
    Connections,
    /// A literal number of iterations (`for i in 0..500`, `(0..500).map(|i| …)`); `joined`: the loop's body
    /// joins a thread handle, so the threads it spawns do not run all at once.
    Count {
        /// The number of iterations.
        n: u64,
        /// Whether each round joins what it spawned.
        joined: bool,
    },
}

#[derive(Default)]
pub(crate) struct Loops {
    /// Loops seen, (address, whole span, class); pruned as the visit moves past them.
    open: Vec<(usize, Span, LoopClass)>,
    /// Names bound to a `std::thread::scope` closure's scope parameter.
    scope_params: Vec<String>,
}

impl Loops {
    /// Forgets the loops of a syntax tree that is dropped (keyed by address; see `Checker::between_chunks`):
    /// they all ended before the next chunk starts.
    pub(crate) fn forget_nodes(&mut self) {
        self.open.clear();
    }
}

fn chain_has(e: &Expr, pred: &dyn Fn(&str) -> bool) -> bool {
    let mut e = e;
    for _ in 0..32 {
        match e {
            Expr::MethodCall(m) => {
                if pred(&m.method.to_string()) {
                    return true;
                }
                e = &m.receiver;
            }
            Expr::Paren(p) => e = &p.expr,
            Expr::Reference(r) => e = &r.expr,
            Expr::Try(t) => e = &t.expr,
            _ => return false,
        }
    }
    false
}

struct FindMethod<'a> {
    names: &'a [&'a str],
    found: bool,
    level: u32,
}

impl<'ast> Visit<'ast> for FindMethod<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.found || self.level >= heavy::MAX_NESTING {
            return;
        }
        self.level += 1;
        syn::visit::visit_expr(self, e);
        self.level -= 1;
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if self.names.iter().any(|n| m.method == n) {
            self.found = true;
        }
        if !self.found {
            syn::visit::visit_expr_method_call(self, m);
        }
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

fn calls_method(e: &Expr, names: &[&str]) -> bool {
    let mut f = FindMethod { names, found: false, level: 0 };
    f.visit_expr(e);
    f.found
}

fn block_calls_method(b: &syn::Block, names: &[&str]) -> bool {
    let mut f = FindMethod { names, found: false, level: 0 };
    f.visit_block(b);
    f.found
}

fn classify_iter(e: &Expr, body: &syn::Block) -> LoopClass {
    if let Some(n) = heavy::literal_range_len(e) {
        // A literal count is not data-dependent: compared with the cores for CPU-heavy threads.
        return LoopClass::Count { n, joined: block_calls_method(body, &["join"]) };
    }
    let stripped = crate::rust::rules::strip_wrappers(e);
    if let Expr::Range(r) = stripped {
        let len_bound = r.end.as_deref().is_some_and(|end| calls_method(end, &["len", "count"]));
        return if len_bound { LoopClass::Data } else { LoopClass::Bounded };
    }
    if chain_has(stripped, &|m| m.contains("chunks") || m == "take") {
        return LoopClass::Bounded;
    }
    if chain_has(stripped, &|m| m == "incoming") {
        return LoopClass::Connections;
    }
    LoopClass::Data
}

/// Records a loop for the thread rules (idempotent: several rules call it for the same loop).
pub fn track_loop(cx: &mut Checker<'_>, e: &Expr) {
    let class = match e {
        Expr::ForLoop(f) => classify_iter(&f.expr, &f.body),
        Expr::While(w) => {
            if calls_method(&w.cond, &["accept", "incoming"]) {
                LoopClass::Connections
            } else {
                LoopClass::Data
            }
        }
        Expr::Loop(l) => {
            if block_calls_method(&l.body, &["accept"]) { LoopClass::Connections } else { LoopClass::Data }
        }
        _ => return,
    };
    open_loop(cx, e, class);
}

/// Opens the loop region of `node` (keyed by its address, spanning its text) with `class`, once; regions that
/// ended before it are closed.
fn open_loop(cx: &mut Checker<'_>, node: &impl syn::spanned::Spanned, class: LoopClass) {
    let key = std::ptr::from_ref(node) as *const () as usize;
    let span = Span::from_pm2(node.span());
    let st = &mut cx.thread_loops;
    if st.open.iter().any(|(k, _, _)| *k == key) {
        return;
    }
    st.open.retain(|(_, s, _)| s.end > span.start);
    st.open.push((key, span, class));
}

/// Records the closure of `(0..n).map(|i| …)` / `.for_each(..)` over a literal range as a loop of `n` rounds.
pub fn track_range_closure(cx: &mut Checker<'_>, call: &MethodCallSite<'_>) {
    if !matches!(call.method, "map" | "for_each" | "flat_map" | "filter_map") {
        return;
    }
    let Some(n) = heavy::literal_range_len(&call.expr.receiver) else { return };
    let Some(Expr::Closure(c)) = call.expr.args.first() else { return };
    open_loop(cx, c, LoopClass::Count { n, joined: calls_method(&c.body, &["join"]) });
}

/// Records the scope parameter of `std::thread::scope(|s| …)` so `s.spawn(..)` is known to spawn a thread.
pub fn track_scope(cx: &mut Checker<'_>, call: &CallSite<'_>) {
    if !call.is("std::thread::scope") {
        return;
    }
    if let Some(Expr::Closure(c)) = call.expr.args.first()
        && let Some(syn::Pat::Ident(p)) = c.inputs.first()
    {
        let name = p.ident.to_string();
        let st = &mut cx.thread_loops;
        if !st.scope_params.contains(&name) {
            st.scope_params.push(name);
        }
    }
}

/// A thread spawn found at a call: its closure and the span to report.
pub struct Spawn<'a> {
    /// The closure run on the new thread.
    pub closure: &'a syn::ExprClosure,
    /// The span of the spawn call.
    pub span: Span,
}

fn first_closure(args: &syn::punctuated::Punctuated<Expr, syn::Token![,]>) -> Option<&syn::ExprClosure> {
    args.iter().find_map(|a| match a {
        Expr::Closure(c) => Some(c),
        Expr::Paren(p) => match &*p.expr {
            Expr::Closure(c) => Some(c),
            _ => None,
        },
        _ => None,
    })
}

/// The spawn of an OS thread a call is, if it is one: `std::thread::spawn(closure)`.
pub fn spawn_of_call<'a>(call: &CallSite<'a>) -> Option<Spawn<'a>> {
    if !call.is("std::thread::spawn") {
        return None;
    }
    Some(Spawn { closure: first_closure(&call.expr.args)?, span: call.span() })
}

/// The spawn of an OS thread a method call is: `Builder::new()…spawn(closure)`, `s.spawn(closure)` in a
/// `std::thread::scope`.
pub fn spawn_of_method<'a>(cx: &mut Checker<'_>, call: &MethodCallSite<'a>) -> Option<Spawn<'a>> {
    if !matches!(call.method, "spawn" | "spawn_scoped") {
        return None;
    }
    let builder = call.receiver.is_any(&["std::thread::Builder", "std::thread::Scope"])
        || receiver_chain_calls(cx.semantic(), &call.expr.receiver, "std::thread::Builder::new");
    let scoped = match crate::rust::rules::strip_wrappers(&call.expr.receiver) {
        Expr::Path(p) => p.path.get_ident().is_some_and(|id| cx.thread_loops.scope_params.contains(&id.to_string())),
        _ => false,
    };
    if !(builder || scoped) {
        return None;
    }
    Some(Spawn { closure: first_closure(&call.expr.args)?, span: call.span() })
}

fn receiver_chain_calls(sem: &SemanticModel, mut e: &Expr, path: &str) -> bool {
    for _ in 0..32 {
        match e {
            Expr::MethodCall(m) => e = &m.receiver,
            Expr::Try(t) => e = &t.expr,
            Expr::Paren(p) => e = &p.expr,
            Expr::Call(c) => return sem.resolve_callee(&c.func).is_some_and(|p| p == path),
            _ => return false,
        }
    }
    false
}

/// The class of the innermost loop enclosing `at` (in the current function), if any.
pub fn spawn_in_loop(cx: &mut Checker<'_>, at: Span) -> Option<LoopClass> {
    let st = &mut cx.thread_loops;
    st.open.retain(|(_, s, _)| s.end > at.start);
    st.open.iter().rev().find(|(_, s, _)| s.start <= at.start && at.end <= s.end).map(|(_, _, c)| *c)
}

/// What the closure's body shows.
pub fn closure_facts(cx: &Checker<'_>, c: &syn::ExprClosure) -> BodyFacts {
    heavy::body_facts(cx.semantic(), &c.body)
}

fn check(cx: &mut Checker<'_>, spawn: Spawn<'_>) {
    let count = match spawn_in_loop(cx, spawn.span) {
        Some(LoopClass::Data | LoopClass::Connections) => None,
        Some(LoopClass::Count { n, joined: false }) if n > cx.settings().rust.max_heavy_threads() => Some(n),
        _ => return,
    };
    let mut facts = closure_facts(cx, spawn.closure);
    if count.is_some() {
        // Threads per round of a literal range are often a stress test of a channel or lock (`for i in 0..10_000
        // { tx.send(i) }` on each of 100 threads): a long literal loop alone is no evidence of CPU-heavy work
        // there; nesting, hashing, rayon or a CPU-heavy crate function is.
        facts.max_range = 0;
    }
    let reason = facts.heavy_reason_per_item(&cx.settings().rust);
    let cores = cx.settings().rust.assumed_cores.max(1);
    let message = |why: &str| match count {
        None => format!(
            "a thread is spawned for every item of the loop and its work is CPU-heavy ({why}): more CPU-bound threads than cores"
        ),
        Some(n) => format!(
            "{n} threads for CPU-heavy work ({why}) on N cores: ≈ {n}/N× oversubscribed ({}× on {cores} cores); only \
             N run at a time, the rest wait in the run queue, each with its own stack",
            (n + cores / 2) / cores
        ),
    };
    let help = match count {
        None => "run the items on a pool sized to the cores: `items.par_iter().for_each(..)` (rayon), or \
                 `std::thread::scope` with one thread per chunk of `available_parallelism()` chunks"
            .to_string(),
        Some(n) => format!(
            "use a pool of `available_parallelism()` threads: `(0..{n}).into_par_iter()` (rayon), or \
             `std::thread::scope` with one thread per core, each taking {n}/N of the rounds"
        ),
    };
    if let Some(r) = reason {
        let d = cx.diagnostic(&META, spawn.span, message(&r)).with_help(help);
        cx.report(d);
    } else if !facts.crate_calls.is_empty() {
        let d = cx.diagnostic(&META, spawn.span, message("it calls a CPU-heavy function of this crate")).with_help(help);
        let (f, _) = cx.facts();
        f.defer(Deferred { callees: facts.crate_calls, want: Want::Heavy, diagnostic: d });
    }
}

/// The rule.
pub struct Rule;

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    /// The spawn must be in this text.
    fn prefilter(&self) -> &'static [&'static str] {
        &["spawn"]
    }

    /// The findings deferred until the crate is linked: a thread per item whose closure calls a crate function
    /// that turns out CPU-heavy, with the chain to the evidence as notes.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        for file in graph.files() {
            for d in file.deferred.iter().filter(|d| d.diagnostic.rule.code == META.code && d.want == Want::Heavy) {
                let hit = d
                    .callees
                    .iter()
                    .flat_map(|c| graph.resolve(c))
                    .find(|id| graph.summary(*id).is_some_and(|s| s.heavy.is_some()));
                let Some(id) = hit else { continue };
                let chain = graph.chain(id, |s| s.heavy.as_ref());
                let (notes, names) = chain_notes(graph, &file.path, &chain);
                let mut diag = d.diagnostic.clone();
                if let Some(r) = graph.summary(id).and_then(|s| s.heavy.as_ref()) {
                    let ev = &graph.fn_facts(r.end.0).heavy[r.end.1];
                    diag = push_notes(diag, notes);
                    diag = diag.with_note(
                        format!("CPU-heavy: {} → {}", names.join(" → "), ev.reason),
                        (graph.file_of(r.end.0) == file.path).then_some(ev.span),
                    );
                }
                cx.report(diag);
            }
        }
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        // The call-graph summaries (CPU-heavy functions) that deferred findings wait for are filled by the
        // checker, which judges every loop (`Dispatch::heavy_facts`).
        track_loop(cx, e);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        track_scope(cx, call);
        if let Some(s) = spawn_of_call(call) {
            check(cx, s);
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        track_range_closure(cx, call);
        if let Some(s) = spawn_of_method(cx, call) {
            check(cx, s);
        }
    }

}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::settings::Settings;

    fn ca301(src: &str, settings: &Settings) -> Vec<String> {
        crate::rust::analyze(Path::new("src/lib.rs"), src, settings)
            .into_iter()
            .filter(|d| d.rule.code == "CA301")
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn the_literal_thread_count_limit_is_cores_times_the_factor() {
        let src = "fn f() { for i in 0..40 { std::thread::spawn(move || { for a in 0..i { for b in v { g(a, b); } } }); } }";
        assert!(ca301(src, &Settings::default()).is_empty(), "40 ≤ 16 × 4");
        let mut s = Settings::default();
        s.rust.assumed_cores = 8;
        s.rust.oversubscription_factor = 2;
        let out = ca301(src, &s);
        assert_eq!(out.len(), 1, "40 > 8 × 2");
        assert!(out[0].contains("40 threads") && out[0].contains("40/N×") && out[0].contains("5× on 8 cores"), "{out:?}");
    }
}
