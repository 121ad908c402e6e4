//! The crate-wide call graph: per-file facts about every function, collected during the one visit of each
//! file, and the crate graph that joins the facts of all files of a crate, resolves calls and propagates the
//! blocking / CPU-heavy summaries. It reports nothing: the rules turn it into findings in their link steps
//! ([`RustRule::link`](crate::rust::rules::RustRule::link)), which the engine runs once per crate after all of
//! its files ([`crate::rust::link`]).
//!
//! # Phases
//! 1. During the visit of a file, [`Collector`] (owned by the [`Checker`](crate::rust::checker::Checker))
//!    records a [`FileFacts`] ([`facts`]):
//!    - one [`FnFacts`] per `fn`/method with a body: its qualified name (`crate::config::load`,
//!      `crate::db::Pool::get`), the blocking calls the rules found in it ([`BlockFact`], fed by
//!      [`Checker::report_on_executor`](crate::rust::checker::Checker::report_on_executor) when the code is
//!      not on the executor), CPU-heavy evidence ([`HeavyFact`]) and the crate-local calls it makes
//!      ([`CallEdge`]);
//!    - every call from async context to a crate-local function ([`Site`]), findings rules deferred until
//!      callees are known ([`Deferred`]), and the lock facts of CA404 ([`LockOrder`], [`HeldCall`],
//!      [`LockAcquire`]).
//! 2. After every file of a crate is analysed, [`CrateGraph`] ([`graph`]) indexes its functions, resolves calls
//!    (by qualified name, re-exported names by unique last segment, methods by receiver type or by a unique
//!    name not in [`AMBIGUOUS_METHODS`]) and, when first asked, computes [`Summary`]s by a reverse
//!    breadth-first search from the functions that block or are heavy themselves (shortest chains).
//!
//! Only facts are kept between the phases (strings and spans): no syntax tree, no second parse.

mod collect;
pub mod facts;
pub mod graph;
mod std_methods;

pub use collect::Collector;
pub use facts::{
    BlockFact, CallEdge, Callee, Deferred, FileFacts, FnFacts, HeavyFact, HeldCall, LockAcquire, LockCall, LockOrder,
    LockUse, Site, SiteContext, TyStep, TypeFacts, TypedCall, Want,
};
pub use graph::{CrateGraph, FnId, Reach, Step, Summary, crate_root};
pub use std_methods::AMBIGUOUS_METHODS;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::settings::Settings;

    fn facts(path: &str, src: &str) -> FileFacts {
        let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), true);
        f.expect("parses")
    }

    #[test]
    fn crate_roots_are_the_directory_above_src() {
        assert_eq!(crate_root(Path::new("vendor/tokio/src/net/tcp.rs")), Path::new("vendor/tokio"));
        assert_eq!(crate_root(Path::new("x/tests/it.rs")), Path::new("x/tests"));
        assert_eq!(crate_root(Path::new("lib.rs")), Path::new(""));
    }

    #[test]
    fn recursion_terminates_and_summaries_propagate() {
        let src = "fn a(n: u32) { if n > 0 { b(n - 1) } }\nfn b(n: u32) { a(n); c(); }\nfn c() { std::thread::sleep(d); }\n\
                   fn d1() { d2() }\nfn d2() { d1() }\nasync fn f() { a(1); d1(); }\n";
        let files = vec![facts("p/src/lib.rs", src)];
        let g = CrateGraph::new(&files);
        let id = |name: &str| g.functions().find(|i| g.fn_facts(*i).name == name).unwrap();
        for f in ["a", "b", "c"] {
            assert!(g.summary(id(f)).is_some_and(|s| s.blocks.contains_key("CA101")), "{f} blocks");
        }
        assert!(g.summary(id("d1")).is_none_or(|s| s.blocks.is_empty()));
        // The shortest chain from `a`: `a` → `b` → `c`, which blocks itself.
        let chain = g.chain(id("a"), |s| s.blocks.get("CA101"));
        let names: Vec<&str> = chain.iter().map(|(f, _)| g.fn_facts(*f).name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(chain.last().is_some_and(|(_, step)| step.is_none()));
    }

    #[test]
    fn methods_resolve_by_self_type_and_by_unique_name() {
        let src = "struct Bank { a: std::sync::Mutex<u32>, b: std::sync::Mutex<u32> }\n\
                   impl Bank {\n  fn transfer(&self) { let x = self.a.lock(); self.audit_log(); }\n\
                   fn audit_log(&self) { let y = self.b.lock(); std::thread::sleep(d); }\n\
                   async fn run(&self, other: &Bank) { self.transfer(); other.audit_log(); }\n}\n";
        let files = vec![facts("p/src/bank.rs", src)];
        let g = CrateGraph::new(&files);
        let id = |name: &str| g.functions().find(|i| g.fn_facts(*i).name == name).unwrap();
        assert_eq!(g.fn_facts(id("transfer")).key, "crate::bank::Bank::transfer");
        // `self.audit_log()` in `impl Bank`: by the receiver's type.
        let by_type = Callee::Method { name: "audit_log".into(), ty: Some("crate::bank::Bank".into()) };
        assert_eq!(g.resolve(&by_type), vec![id("audit_log")]);
        // An untyped receiver: by the unique method of that name.
        assert_eq!(g.resolve(&Callee::Method { name: "audit_log".into(), ty: None }), vec![id("audit_log")]);
        // A type from outside the crate is not this crate's method.
        assert!(g.resolve(&Callee::Method { name: "audit_log".into(), ty: Some("std::Foo".into()) }).is_empty());
        assert!(g.resolve(&Callee::Path("crate::bank::transfer".into())).is_empty(), "a method is not a free fn");
        assert!(g.summary(id("transfer")).is_some_and(|s| s.blocks.contains_key("CA101")));
        // Both calls of `run` are sites in async context.
        assert_eq!(files[0].sites.len(), 2, "{:#?}", files[0].sites);
    }

    #[test]
    fn ambiguous_method_names_are_not_resolved_by_name() {
        let src = "struct S;\nimpl S { fn get(&self) { std::thread::sleep(d); } }\n\
                   async fn f(m: std::collections::HashMap<u32, u32>) { m.get(&1); }\n";
        let files = vec![facts("p/src/lib.rs", src)];
        let g = CrateGraph::new(&files);
        assert!(g.resolve(&Callee::Method { name: "get".into(), ty: None }).is_empty());
        assert!(files[0].sites.iter().all(|s| g.resolve(&s.callee).is_empty()), "{:#?}", files[0].sites);
    }

    #[test]
    fn re_exported_free_functions_resolve_by_a_unique_last_segment() {
        let files = vec![
            facts("p/src/config.rs", "pub fn load() { std::thread::sleep(d); }\n"),
            facts("p/src/lib.rs", "mod config;\npub use config::load;\nasync fn f() { crate::load(); }\n"),
        ];
        let g = CrateGraph::new(&files);
        let load = g.resolve(&Callee::Path("crate::load".into()));
        assert_eq!(load.len(), 1);
        assert_eq!(g.fn_facts(load[0]).key, "crate::config::load");
        assert_eq!(g.file_of(load[0]), Path::new("p/src/config.rs"));
    }
}
