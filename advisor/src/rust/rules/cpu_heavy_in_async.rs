//! CA201 `cpu-heavy-in-async`: CPU-heavy work (a heavy loop that never yields, password hashing, a call to a
//! crate-local CPU-heavy function) run directly on the async executor.

use syn::Expr;

use super::call_chain::{at, chain_notes, chain_text, push_notes, site_calls};
use super::{CallSite, Checker, CrateGraph, LinkContext, MethodCallSite, OnCall, OnExpr, OnMethodCall, RustRule};
use crate::declare_rule;
use crate::registry::RuleMeta;
use crate::rust::callgraph::{Deferred, FnId, SiteContext, Want};
use crate::rust::heavy;

declare_rule! {
    /// ## What it does
    /// Reports CPU-heavy work run directly in async context (an `async fn`, an async block or closure, a
    /// future handed to `tokio::spawn`), when it is heavy by clear evidence:
    /// - a loop with no `.await` (or `yield_now`) in its body that iterates a literal range of at least
    ///   `heavy-range` items (`[rust] heavy-range`, default 10 000), nests loops at least `heavy-loop-depth`
    ///   deep (default 2; loops over a literal range of at most 16 items do not count), or calls a hashing,
    ///   compression, crypto, serialisation or sort function on every iteration;
    /// - a call that is slow by design (`bcrypt::hash`/`verify`, `argon2`'s `hash_password`/`verify_password`,
    ///   `scrypt`, `pbkdf2`);
    /// - a call to a function of the same crate that does any of the above, directly or through its callees
    ///   (the crate-wide call graph; the chain is shown, with a note at each step).
    ///
    /// An `.await` that rarely yields does not make a loop cooperative: an async lock's acquisition
    /// (`.lock().await`, `.read().await`, `.write().await` return at once when uncontended) and an `.await`
    /// under a branch taken once every N rounds (`if i % 1000 == 0 { yield_now().await }`). Such a loop is
    /// reported when each round is heavy (nested loops, hashing), and, in async code, also when it hashes,
    /// compresses or encrypts on every round, directly or through a crate function (a mining loop calling
    /// `hash_header(&h)` each round; the chain is shown).
    ///
    /// A short loop (over the headers of a request, a small literal range), a loop that awaits in its body on
    /// every round, and nested loops inside a loop that awaits on every round (the items of one page of a
    /// paginated download: the I/O bounds the work) are not reported.
    ///
    /// ## Why is this bad?
    /// An executor runs many tasks on a few worker threads and switches tasks only at `.await`. A loop that
    /// computes for milliseconds without awaiting holds its worker thread the whole time: every other task on
    /// that thread waits (latency spikes, timeouts, missed heartbeats); on a current-thread runtime the whole
    /// program stops.
    ///
    /// ## Known problems
    /// The evidence is syntactic: a nested loop over two tiny collections is reported although it is cheap
    /// (suppress it), and a single loop over a huge collection doing arithmetic is not. Iterator chains
    /// (`.iter().map(..).sum()`) are not loops here. Functions called through trait objects or generics are
    /// not followed by the call graph.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn checksum(data: Vec<u8>) -> u64 {
    ///     let mut h = 0u64;
    ///     for round in 0..1_000_000 {
    ///         h = h.rotate_left(5) ^ u64::from(data[round % data.len()]);
    ///     }
    ///     h
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn checksum(data: Vec<u8>) -> u64 {
    ///     // A short burst: the blocking pool.
    ///     tokio::task::spawn_blocking(move || compute(&data)).await.unwrap()
    /// }
    /// // Real compute: rayon, with the result sent back over a oneshot channel.
    /// let (tx, rx) = tokio::sync::oneshot::channel();
    /// rayon::spawn(move || { let _ = tx.send(compute(&data)); });
    /// let sum = rx.await?;
    /// ```
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` classifies the async function as CPU-bound (on-CPU time ≈ wall time of its
    /// polls), with single polls lasting milliseconds; other tasks on the runtime show run-queue wait of the
    /// same length.
    pub static META = {
        code: "CA201",
        name: "cpu-heavy-in-async",
        severity: Warning,
        language: Rust,
        family: ExecutorLoad,
        summary: "CPU-heavy work (a loop that never yields, password hashing, a heavy crate function) on the async executor",
        call_graph: Heavy,
        async_only: true,
    };
}

/// The help every finding of this rule carries.
pub const HELP: &str = "for a short burst move it into `tokio::task::spawn_blocking`; for real compute run it on \
                        rayon (`rayon::spawn`) and send the result back over a `tokio::sync::oneshot` channel";

/// The rule.
pub struct Rule;

fn mark_or_report(cx: &mut Checker<'_>, span: crate::diagnostic::Span, what: &str) {
    if cx.context().in_async() {
        cx.report_on_executor(
            &META,
            span,
            format!("{what} runs on the executor's worker thread: no other task runs there until it returns"),
            HELP,
        );
    } else {
        let (facts, ctx) = cx.facts();
        facts.on_heavy(ctx, what, span);
    }
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// It reports only in async code; in sync code it records the call graph's evidence (password hashing,
    /// rayon work; loops are judged by the checker), so it sees every function where the graph is needed.
    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }

    fn feeds_graph(&self) -> bool {
        true
    }

    /// Calls from async code to crate functions that are CPU-heavy, themselves or through their callees.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        link_loops(graph, cx);
        link_heavy_calls(&META, SiteContext::Async, "on the executor's worker thread", graph, cx, |callee| {
            format!(
                "for a short burst run `{callee}` in `tokio::task::spawn_blocking`; for real compute run it on rayon \
                 (`rayon::spawn`) and send the result back over a `tokio::sync::oneshot` channel"
            )
        });
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, _: &mut (), e: &Expr) {
        if !matches!(e, Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) {
            return;
        }
        let Some(reason) = heavy::loop_evidence(cx, e) else {
            if cx.context().in_async()
                && let Some(callees) = heavy::loop_crate_callees(cx, e)
                && let Some(span) = heavy::loop_header_span(e)
            {
                // Heavy once the crate is linked if a callee hashes (or is heavy): on every round.
                let Some(note) = cx.context().async_frame().map(|f| (f.executor_note(), f.span())) else { return };
                // The message is completed with the chain at link time.
                let d = cx.diagnostic(&META, span, "CPU-heavy loop").with_note(note.0, Some(note.1));
                let (f, _) = cx.facts();
                f.defer(Deferred { callees, want: Want::HeavyPerRound, diagnostic: d });
            }
            return;
        };
        if !cx.context().in_async() {
            return;
        }
        let Some(span) = heavy::loop_header_span(e) else { return };
        let yields = if heavy::loop_awaits_rarely(cx, e) {
            "whose `.await`s rarely yield (an async lock's acquisition returns at once when uncontended; a branch \
             taken once every N rounds)"
        } else {
            "with no `.await` in its body"
        };
        cx.report_on_executor(
            &META,
            span,
            format!(
                "CPU-heavy loop ({reason}) {yields} runs on the executor's worker thread: no other task runs there \
                 until it ends"
            ),
            HELP,
        );
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        let Some(p) = call.path else { return };
        if !cx.context().in_async() && heavy::hashing_path(p) {
            let (facts, ctx) = cx.facts();
            facts.on_hash(ctx, &format!("`{p}`"), call.span());
        }
        if heavy::heavy_by_design(p) {
            mark_or_report(cx, call.span(), &format!("`{p}` (slow by design)"));
        } else if crate::settings::RustSettings::lists_path(&cx.settings().rust.cpu_heavy_calls, p) {
            mark_or_report(cx, call.span(), &format!("`{p}` (listed in `rust.cpu-heavy-calls`)"));
        } else if heavy::RAYON_FNS.contains(&p) && !cx.context().in_async() {
            // rayon in async is CA203's finding; in a sync function it is evidence the function is heavy.
            mark_or_report(cx, call.span(), &format!("rayon parallel work (`{p}`)"));
        }
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &MethodCallSite<'_>) {
        if heavy::heavy_method_by_design(call.method) && !call.awaited {
            mark_or_report(cx, call.span(), &format!("`{}` (password hashing, slow by design)", call.method));
        } else if crate::settings::RustSettings::lists_method(&cx.settings().rust.cpu_heavy_calls, call.method)
            && !call.awaited
        {
            mark_or_report(cx, call.span(), &format!("`{}` (listed in `rust.cpu-heavy-calls`)", call.method));
        } else if heavy::RAYON_METHODS.contains(&call.method) && !cx.context().in_async() {
            mark_or_report(cx, call.span(), &format!("rayon parallel work (`{}`)", call.method));
        }
    }

}

/// The loops deferred until the crate is linked: an async loop with nothing that yields each round that
/// calls a crate function that is heavy or hashes, with the chain to the evidence as notes.
fn link_loops(g: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
    for file in g.files() {
        for d in file.deferred.iter().filter(|d| d.diagnostic.rule.code == META.code && d.want == Want::HeavyPerRound) {
            let ids: Vec<FnId> = d.callees.iter().flat_map(|c| g.resolve(c)).collect();
            let heavy = ids.iter().find(|id| g.summary(**id).is_some_and(|s| s.heavy.is_some()));
            let (id, chain, ev) = if let Some(&id) = heavy {
                let chain = g.chain(id, |s| s.heavy.as_ref());
                let Some(r) = g.summary(id).and_then(|s| s.heavy.as_ref()) else { continue };
                (id, chain, (r.end.0, &g.fn_facts(r.end.0).heavy[r.end.1]))
            } else {
                let Some(&id) = ids.iter().find(|id| g.summary(**id).is_some_and(|s| s.hashes.is_some())) else {
                    continue;
                };
                let chain = g.chain(id, |s| s.hashes.as_ref());
                let Some(r) = g.summary(id).and_then(|s| s.hashes.as_ref()) else { continue };
                (id, chain, (r.end.0, &g.fn_facts(r.end.0).hashes[r.end.1]))
            };
            let (notes, names) = chain_notes(g, &file.path, &chain);
            let mut diag = d.diagnostic.clone();
            diag.message = format!(
                "CPU-heavy loop (it calls {} on every iteration, which ends in {}) with no `.await` that yields \
                 each round runs on the executor's worker thread: no other task runs there until it ends",
                names[0], ev.1.reason
            );
            diag = diag.with_help(format!(
                "move the loop into `tokio::task::spawn_blocking` (or onto rayon) and send the result back; \
                 `{}` runs on every round",
                g.fn_facts(id).name
            ));
            diag = push_notes(diag, notes);
            let end_file = g.file_of(ev.0);
            diag = if end_file == file.path {
                diag.with_note(format!("CPU-heavy on every round: {}", ev.1.reason), Some(ev.1.span))
            } else {
                diag.with_note(format!("CPU-heavy on every round: {} at {}", ev.1.reason, at(end_file, ev.1.span)), None)
            };
            cx.report(diag);
        }
    }
}

/// The link step of CA201 and CA202: each call from a site in `context` to a crate function that is CPU-heavy,
/// itself or through its callees, reported as `rule` at the call with the chain, a note per step and a note at
/// the evidence. `where_` says where the work runs; `help` gets the callee's name.
pub(super) fn link_heavy_calls(
    rule: &'static RuleMeta,
    context: SiteContext,
    where_: &str,
    g: &CrateGraph<'_>,
    cx: &mut LinkContext<'_>,
    help: impl Fn(&str) -> String,
) {
    for (file, site, id) in site_calls(g, context) {
        let Some(reach) = g.summary(id).and_then(|s| s.heavy.as_ref()) else { continue };
        let callee = g.fn_facts(id);
        let chain = g.chain(id, |s| s.heavy.as_ref());
        let (notes, names) = chain_notes(g, &file.path, &chain);
        let ev = &g.fn_facts(reach.end.0).heavy[reach.end.1];
        let msg = format!(
            "{} calls {}, which does CPU-heavy work {where_}: {} → {}",
            site.caller,
            names[0],
            chain_text(site, &names),
            ev.reason
        );
        let mut d = cx
            .diagnostic(rule, &file.path, site.span, msg)
            .with_help(help(&callee.name))
            .with_note(site.frame_note.0.clone(), Some(site.frame_note.1));
        d = push_notes(d, notes);
        let end_file = g.file_of(reach.end.0);
        d = if end_file == file.path {
            d.with_note(format!("CPU-heavy: {}", ev.reason), Some(ev.span))
        } else {
            d.with_note(format!("CPU-heavy: {} at {}", ev.reason, at(end_file, ev.span)), None)
        };
        cx.report(d);
    }
}
