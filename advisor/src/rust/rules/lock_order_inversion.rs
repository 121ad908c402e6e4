//! CA404 `lock-order-inversion`: two locks taken in opposite orders in two places.

use syn::Expr;

use std::collections::BTreeMap;

use super::call_chain::note_at;
use super::lock_facts::{self, LockFacts, Reach, Reached};
use super::locking;
use super::{Checker, CrateGraph, FnBody, LinkContext, OnExpr, OnFnExit, OnLocal, OnScopeExit, RustRule};
use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::rust::callgraph::{FnId, LockUse};

declare_rule! {
    /// ## What it does
    /// Reports two locks taken in opposite orders anywhere in the crate: lock `A` then (while `A`'s guard is
    /// alive) lock `B` in one function, and `B` then `A` in another place, in the same file or another file of
    /// the crate. Locks are named crate-wide by their field path qualified by the `impl`'s type
    /// (`self.accounts` in `impl Bank` is `crate::bank::Bank.accounts`, shown as `Bank.accounts`) or by the
    /// static they are (`CONFIG`); a field reached through a value of a crate type (`self.inner.paused` with
    /// `inner: Arc<Inner>`) is named by that type (`Inner.paused`), and a local bound to a clone of a named lock
    /// (`let p = Arc::clone(&inner.paused)`, `self.a.clone()`) names that lock; other locals have no crate-wide
    /// name and are not compared. A lock counts as taken also when, while `A` is held, the function calls a
    /// crate-local function that takes `B` — in its own body or in a function it calls, up to 8 calls deep
    /// (`.await`ed async functions included); the chain is in the notes. Both places are shown (a place in another file as
    /// `path:line`); each inverted pair is reported once. Two read locks of an `RwLock` do not exclude each
    /// other and do not count.
    ///
    /// ## Why is this bad?
    /// When two threads run the two places at the same time, each takes its first lock and waits forever
    /// for the other's: a deadlock that appears only under load and is hard to reproduce. The fix is one
    /// global order: always take `A` before `B`.
    ///
    /// ## Known problems
    /// Only guards bound with `let`, and locks taken in the scrutinee of a `match`/`if let`/`while let` (held
    /// through its body), count as held. Calls are followed up to 8 levels, and a callee is found only where
    /// the call graph resolves it (below the first call, only calls on `self`, typed receivers and paths). Two values
    /// of the same type (`self.a` of two different `Bank`s) count as the same lock, as they do for a
    /// lock-order discipline. Locks reached through a getter, or a local whose value is not a clone or borrow
    /// of a named lock, have no crate-wide name and are not compared. A lock must be recognisable in its file: a std or
    /// parking_lot type known there, or a `lock()` whose result is unwrapped; a crate's own wrapper type
    /// (tokio's `loom` `Mutex`) is not. The comparison runs when the crate is linked (facts of
    /// each file, no second parse); a file analysed alone is a crate of its own.
    ///
    /// ## Example
    /// ```rust,ignore
    /// fn deposit(&self) { let a = self.accounts.lock().unwrap(); let l = self.log.lock().unwrap(); … }
    /// fn audit(&self)   { let l = self.log.lock().unwrap(); let a = self.accounts.lock().unwrap(); … }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// fn audit(&self)   { let a = self.accounts.lock().unwrap(); let l = self.log.lock().unwrap(); … }
    /// ```
    ///
    /// ## Runtime evidence
    /// Under contention two threads hang with zero CPU time, each inside a `lock()` call;
    /// `#[profile_concurrency]` shows both functions blocked for the rest of the run.
    pub static META = {
        code: "CA404",
        name: "lock-order-inversion",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "two locks are taken in opposite orders in two places: a deadlock under contention",
    };
}

#[derive(Default)]
pub struct State {
    facts: LockFacts,
}

/// The rule: its hooks record facts for the call graph (pairs of locks taken in order, calls made while a
/// guard is alive, the locks each function takes, see [`lock_facts`](super::lock_facts)); its link step
/// compares them across the crate.
pub struct Rule;

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

    /// Compares the lock orders of all files of the crate.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        if graph.files().iter().all(|f| f.lock_orders.is_empty() && f.held_calls.is_empty()) {
            return;
        }
        for d in lock_order_findings(graph, cx) {
            cx.report(d);
        }
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, st: &mut State, local: &syn::Local) {
        if lock_facts::records(cx, &META) {
            st.facts.on_local(cx, local);
        }
    }
}

impl OnExpr for Rule {
    fn on_expr(&self, cx: &mut Checker<'_>, st: &mut State, e: &Expr) {
        if lock_facts::records(cx, &META) {
            st.facts.on_expr(cx, e);
        }
    }
}

impl OnScopeExit for Rule {
    fn on_scope_exit(&self, _cx: &mut Checker<'_>, st: &mut State, scope: usize) {
        st.facts.on_scope_exit(scope);
    }
}

impl OnFnExit for Rule {
    fn on_fn_exit(&self, cx: &mut Checker<'_>, st: &mut State, _body: &FnBody<'_>) {
        st.facts.on_fn_exit(cx);
    }
}

/// One place where a lock is acquired while another is held: directly, or (`via`) by a call to a crate-local
/// function that acquires it (the callee and its acquisition's span).
struct OrderAt<'f> {
    file: usize,
    func: usize,
    held: &'f LockUse,
    taken: &'f LockUse,
    via: Option<(FnId, Span)>,
    /// For a call, the calls from the site to the function that acquires (more than one: a deeper callee).
    chain: Vec<(FnId, Span)>,
}

use super::lock_facts::short_lock;

/// Every place of the crate where one named lock is acquired while another is held: the recorded orders, and
/// through the calls made while a guard is alive, any depth ([`Reach`]; the shortest chain to each lock).
fn lock_orders<'f>(g: &'f CrateGraph<'f>, reach: &Reach<'f>) -> Vec<OrderAt<'f>> {
    let mut out = Vec::new();
    for (fi, file) in g.files().iter().enumerate() {
        for o in &file.lock_orders {
            out.push(OrderAt { file: fi, func: o.func, held: &o.held, taken: &o.taken, via: None, chain: Vec::new() });
        }
        for hc in &file.held_calls {
            let from = (fi, hc.func);
            let reached: Vec<Reached> = if reach.call_at(from, hc.span).is_some() {
                reach.reached_from(from, hc.span, false, true)
            } else {
                // A call the lock walk did not record (in an async block): one level, sync callees.
                let Some(callee) = g.callee_at(fi, hc.func, hc.span) else { continue };
                g.resolve(callee)
                    .into_iter()
                    .filter(|&id| id != from && !g.fn_facts(id).is_async)
                    .map(|id| Reached { func: id, chain: vec![(id, hc.span)] })
                    .collect()
            };
            let mut taken: Vec<&str> = Vec::new();
            for r in reached {
                for l in reach.acquires.get(&r.func).map_or(&[][..], Vec::as_slice) {
                    if l.lock != hc.held.lock && !taken.contains(&l.lock.as_str()) {
                        taken.push(&l.lock);
                        out.push(OrderAt {
                            file: fi,
                            func: hc.func,
                            held: &hc.held,
                            taken: l,
                            via: Some((r.func, hc.span)),
                            chain: r.chain.clone(),
                        });
                    }
                }
            }
        }
    }
    out
}

/// CA404 across the crate: two locks acquired in opposite orders in two places (each place: one lock held
/// while the other is acquired, directly or by a call). Reported once per pair of locks, at the place that
/// comes later in (path, line) order, with notes at both places.
fn lock_order_findings(g: &CrateGraph<'_>, cx: &LinkContext<'_>) -> Vec<Diagnostic> {
    let reach = Reach::new(g);
    let orders = lock_orders(g, &reach);
    // Where a place is: for a call, the call site (`via`'s span is the call; `taken.span` is in the callee).
    let site = |o: &OrderAt<'_>| o.via.map_or(o.taken.span, |(_, s)| s);
    let mut pairs: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, o) in orders.iter().enumerate() {
        let (a, b) = (o.held.lock.as_str(), o.taken.lock.as_str());
        if a != b {
            pairs.entry(if a < b { (a, b) } else { (b, a) }).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for idx in pairs.values_mut() {
        // By place, then (for calls reaching several functions, `#[cfg]` variants) by the callee's acquisition:
        // the same finding whatever the order of the files.
        let key = |o: &OrderAt<'_>| {
            let callee = o.via.map(|(id, _)| (g.file_of(id), o.taken.span.start));
            (&g.files()[o.file].path, site(o).start, callee)
        };
        idx.sort_by(|&x, &y| key(&orders[x]).cmp(&key(&orders[y])));
        let found = idx.iter().enumerate().find_map(|(j, &l)| {
            let later = &orders[l];
            idx[..j]
                .iter()
                .map(|&e| &orders[e])
                .find(|earlier| {
                    earlier.held.lock == later.taken.lock
                    && earlier.taken.lock == later.held.lock
                    && !(earlier.file == later.file && earlier.held.span == later.held.span)
                    // `A` held in one place and acquired in the other must exclude each other, and so must `B`.
                    && !(earlier.held.shared && later.taken.shared)
                    && !(earlier.taken.shared && later.held.shared)
                })
                .map(|earlier| (earlier, later))
        });
        let Some((earlier, later)) = found else { continue };
        out.push(inversion(g, cx, earlier, later));
    }
    out
}

fn inversion(g: &CrateGraph<'_>, cx: &LinkContext<'_>, earlier: &OrderAt<'_>, later: &OrderAt<'_>) -> Diagnostic {
    let path = &g.files()[later.file].path;
    let name = |o: &OrderAt<'_>| g.files()[o.file].fns.get(o.func).map_or("?", |f| f.name.as_str());
    let (a, b) = (short_lock(&later.held.lock), short_lock(&later.taken.lock));
    // The function called at the place, and the one below it that locks when that is deeper.
    let called = |o: &OrderAt<'_>, id: FnId| match o.chain.first() {
        Some(&(first, _)) if first != id => {
            format!("`{}` → `{}`", g.fn_facts(first).name, g.fn_facts(id).name)
        }
        _ => format!("`{}`", g.fn_facts(id).name),
    };
    let how = |o: &OrderAt<'_>| match o.via {
        Some((id, _)) => format!(" (by the call to {})", called(o, id)),
        None => String::new(),
    };
    let msg = format!(
        "`{b}` is locked{} while `{a}` is held in `{}`, but `{}` locks `{a}`{} while `{b}` is held: the two can deadlock",
        how(later),
        name(later),
        name(earlier),
        how(earlier),
    );
    let later_site = later.via.map_or(later.taken.span, |(_, s)| s);
    let mut d = cx
        .diagnostic(&META, path, later_site, msg)
        .with_help(format!(
            "take the two locks in one order everywhere (e.g. always `{b}` before `{a}`), or never hold both"
        ))
        .with_note(format!("`{a}` is held from here"), Some(later.held.span));
    d = chain_steps(g, d, path, later);
    if let Some((id, _)) = later.via {
        let msg = format!("`{}` locks `{b}` here", g.fn_facts(id).name);
        d = note_at(d, path, msg, g.file_of(id), later.taken.span);
    }
    let earlier_site = earlier.via.map_or(earlier.taken.span, |(_, s)| s);
    let what = match earlier.via {
        Some((id, _)) => format!(
            "the opposite order: `{}` calls {}, which locks `{a}`, while `{b}` is held",
            name(earlier),
            called(earlier, id)
        ),
        None => format!("the opposite order: `{}` locks `{a}` here while `{b}` is held", name(earlier)),
    };
    let earlier_file = &g.files()[earlier.file].path;
    d = note_at(d, path, what, earlier_file, earlier_site);
    d = note_at(d, path, format!("`{b}` is held from here"), earlier_file, earlier.held.span);
    d = chain_steps(g, d, path, earlier);
    if let Some((id, _)) = earlier.via {
        let msg = format!("`{}` locks `{a}` here", g.fn_facts(id).name);
        d = note_at(d, path, msg, g.file_of(id), earlier.taken.span);
    }
    d
}

/// Notes for the calls between a place's call and the function that acquires (a callee deeper than one level).
fn chain_steps(g: &CrateGraph<'_>, mut d: Diagnostic, path: &std::path::Path, o: &OrderAt<'_>) -> Diagnostic {
    for w in o.chain.windows(2) {
        let (caller, _) = w[0];
        let (callee, span) = w[1];
        let msg = format!("`{}` calls `{}` here", g.fn_facts(caller).name, g.fn_facts(callee).name);
        d = note_at(d, path, msg, g.file_of(caller), span);
    }
    d
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::rust::callgraph::FileFacts;
    use crate::rust::link::{link_all, link_crate};
    use crate::rust::rules::IMPLS;
    use crate::settings::Settings;

    fn facts(path: &str, src: &str) -> FileFacts {
        let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), true);
        f.expect("parses")
    }

    const BANK: &str = "use std::sync::Mutex;\npub struct Bank { pub a: Mutex<u32>, pub b: Mutex<u32> }\n\
                        impl Bank {\n    pub fn ab(&self) {\n        let x = self.a.lock().unwrap();\n        \
                        let y = self.b.lock().unwrap();\n    }\n}\n";
    const AUDIT: &str = "use crate::bank::Bank;\nimpl Bank {\n    fn ba(&self) {\n        \
                         let y = self.b.lock().unwrap();\n        let x = self.a.lock().unwrap();\n    }\n}\n";

    fn lock_findings(files: Vec<FileFacts>) -> Vec<Diagnostic> {
        let mut out = link_all(files, IMPLS, &Settings::default());
        out.retain(|d| d.rule.code == "CA404");
        out
    }

    #[test]
    fn lock_orders_are_compared_across_files_and_reported_once() {
        let bank = facts("p/src/bank.rs", BANK);
        let audit = facts("p/src/audit.rs", AUDIT);
        assert_eq!(bank.lock_orders.len(), 1);
        assert_eq!(bank.lock_orders[0].held.lock, "crate::bank::Bank.a");
        assert_eq!(audit.lock_orders[0].held.lock, "crate::bank::Bank.b");
        let out = lock_findings(vec![bank.clone(), audit.clone()]);
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        // The later of the two places by path: bank.rs sorts after audit.rs.
        assert_eq!(d.path, Path::new("p/src/bank.rs"));
        assert_eq!(d.span.start.line, 6);
        assert!(d.message.contains("`Bank.b` is locked while `Bank.a` is held in `ab`"), "{}", d.message);
        let texts: Vec<&str> = d.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            texts.iter().any(|t| t.contains("`ba` locks `Bank.a` here") && t.contains("p/src/audit.rs:5")),
            "{texts:?}"
        );
        assert!(d.notes.iter().filter(|n| n.message.contains("audit.rs")).all(|n| n.span.is_none()));
        assert!(d.notes.iter().any(|n| n.span.is_some_and(|s| s.start.line == 5)), "a note at the held guard");
        // The order of the files does not change the finding.
        let swapped = lock_findings(vec![audit.clone(), bank.clone()]);
        assert_eq!(swapped.len(), 1);
        assert_eq!((&swapped[0].path, swapped[0].span), (&d.path, d.span));
        // Another crate's `Bank` is another lock.
        assert!(lock_findings(vec![bank, facts("q/src/audit.rs", AUDIT)]).is_empty());
    }

    #[test]
    fn lock_orders_are_compared_in_a_crate_without_async_code() {
        let sync = |path: &str, src: &str| {
            let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), false);
            f.expect("lock facts are kept without the call graph")
        };
        let out = lock_findings(vec![sync("p/src/bank.rs", BANK), sync("p/src/audit.rs", AUDIT)]);
        assert_eq!(out.len(), 1, "{out:#?}");
        // And through a call.
        let src = "use std::sync::Mutex;\nstatic A: Mutex<u32> = Mutex::new(0);\nstatic B: Mutex<u32> = Mutex::new(0);\n\
                   fn take_b() { *B.lock().unwrap() += 1; }\n\
                   fn holds_a() { let a = A.lock().unwrap(); take_b(); }\n";
        let other = "fn b_then_a() { let b = crate::B.lock().unwrap(); let a = crate::A.lock().unwrap(); }\n";
        let out = lock_findings(vec![sync("p/src/lib.rs", src), sync("p/src/other.rs", other)]);
        assert_eq!(out.len(), 1, "{out:#?}");
    }

    #[test]
    fn an_inversion_inside_one_file_is_reported_once_also_when_another_file_repeats_it() {
        let both = format!(
            "{BANK}impl Bank {{\n    fn ba(&self) {{\n        let y = self.b.lock().unwrap();\n        \
                            let x = self.a.lock().unwrap();\n    }}\n}}\n"
        );
        let one = facts("p/src/bank.rs", &both);
        let single = link_crate(std::slice::from_ref(&one), IMPLS, &Settings::default());
        assert_eq!(single.iter().filter(|d| d.rule.code == "CA404").count(), 1, "{single:#?}");
        let out = lock_findings(vec![one, facts("p/src/audit.rs", AUDIT)]);
        assert_eq!(out.len(), 1, "{out:#?}");
        // Disabled: nothing.
        let only_other = Settings::only(&[&super::super::blocking_sleep::META]);
        assert!(link_crate(&[facts("p/src/bank.rs", &both)], IMPLS, &only_other).is_empty());
    }

    #[test]
    fn a_lock_taken_by_callees_while_a_guard_is_held_counts_at_any_depth_within_the_bound() {
        let src = "use std::sync::Mutex;\nstatic A: Mutex<u32> = Mutex::new(0);\nstatic B: Mutex<u32> = Mutex::new(0);\n\
                   fn take_b() { *B.lock().unwrap() += 1; }\n\
                   fn via() { take_c_then_b(); }\n\
                   fn take_c_then_b() { take_b(); }\n\
                   fn holds_a() { let a = A.lock().unwrap(); take_b(); }\n\
                   fn holds_a_two_levels() { let a = A.lock().unwrap(); via(); }\n\
                   fn b_then_a() { let b = B.lock().unwrap(); let a = A.lock().unwrap(); }\n";
        let f = facts("p/src/lib.rs", src);
        assert_eq!(f.held_calls.iter().filter(|h| h.held.lock == "crate::A").count(), 2, "{:#?}", f.held_calls);
        assert!(f.may_report());
        // Calls made under a guard that reach no crate function give the crate phase nothing to report here.
        let other = facts("p/src/other.rs", "fn f(v: &mut Vec<u8>) { let a = crate::A.lock().unwrap(); v.push(1); }");
        assert!(!other.held_calls.is_empty() && !other.may_report(), "{other:#?}");
        let out = lock_findings(vec![f.clone()]);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].span.start.line, 9, "{out:#?}");
        assert!(out[0].notes.iter().any(|n| n.message.contains("`take_b` locks `B` here")), "{:#?}", out[0].notes);
        // Any depth: without `holds_a`, the chain `via` → `take_c_then_b` → `take_b` is followed, and shown.
        let src2 = src.replace("fn holds_a() { let a = A.lock().unwrap(); take_b(); }", "");
        let deep = lock_findings(vec![facts("p/src/lib.rs", &src2)]);
        assert_eq!(deep.len(), 1, "{deep:#?}");
        let notes: Vec<&str> = deep[0].notes.iter().map(|n| n.message.as_str()).collect();
        assert!(notes.iter().any(|n| n.contains("`via` calls `take_c_then_b` here")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("`take_c_then_b` calls `take_b` here")), "{notes:?}");
        // Past the depth bound, nothing.
        let mut chain = String::from("fn hold() { let a = A.lock().unwrap(); f0(); }\n");
        for i in 0..lock_facts::MAX_CALL_DEPTH + 1 {
            chain.push_str(&format!("fn f{i}() {{ f{}(); }}\n", i + 1));
        }
        chain.push_str(&format!("fn f{}() {{ *B.lock().unwrap() += 1; }}\n", lock_facts::MAX_CALL_DEPTH + 1));
        let head = "use std::sync::Mutex;\nstatic A: Mutex<u32> = Mutex::new(0);\nstatic B: Mutex<u32> = Mutex::new(0);\n\
                    fn b_then_a() { let b = B.lock().unwrap(); let a = A.lock().unwrap(); }\n";
        assert!(lock_findings(vec![facts("p/src/lib.rs", &format!("{head}{chain}"))]).is_empty());
        let near = chain.replace("fn f0() { f1(); }", "fn f0() { f9(); }");
        assert_eq!(lock_findings(vec![facts("p/src/lib.rs", &format!("{head}{near}"))]).len(), 1);
        assert_eq!(short_lock("crate::bank::Bank.accounts.inner"), "Bank.accounts.inner");
        assert_eq!(short_lock("crate::CONFIG"), "CONFIG");
        assert_eq!(short_lock("X"), "X");
    }
}
