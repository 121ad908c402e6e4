//! The link step of the blocking family (CA101–CA109), shared by its rules: a call in async context to a
//! crate-local function that blocks, itself or through its callees, in this file or another file of the crate,
//! is reported at the call with the chain (`handler` → `load_config` → `read_settings` →
//! `std::fs::read_to_string`), a note per step and a note at the blocking call. Each rule reports the chains
//! that end at its own blocking calls (the facts its hooks recorded in sync functions, see
//! [`Checker::report_on_executor`](super::Checker::report_on_executor)).

use super::call_chain::{chain_notes, chain_text, push_notes, site_calls};
use crate::registry::RuleMeta;
use crate::rust::callgraph::{CrateGraph, SiteContext};
use crate::rust::link::LinkContext;

/// Reports, for the blocking rule `rule`, every call from async context to a crate function that blocks under
/// it.
pub(crate) fn link(rule: &'static RuleMeta, g: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
    if rule.code == super::blocking_wait::META.code {
        link_typed_waits(g, cx);
    }
    for (file, site, id) in site_calls(g, SiteContext::Async) {
        let Some(reach) = g.summary(id).and_then(|s| s.blocks.get(rule.code)) else { continue };
        let callee = g.fn_facts(id);
        let chain = g.chain(id, |s| s.blocks.get(rule.code));
        let (end_fn, bi) = reach.end;
        let fact = &g.fn_facts(end_fn).blocks[bi];
        let (notes, names) = chain_notes(g, &file.path, &chain);
        let msg = format!(
            "{} calls {}, which blocks the executor's worker thread: {} → {}",
            site.caller,
            names[0],
            chain_text(site, &names),
            first_code_span(&fact.message)
        );
        let mut d = cx
            .diagnostic(fact.rule, &file.path, site.span, msg)
            .with_help(format!(
                "run `{}` in `tokio::task::spawn_blocking` (or make it async); at the blocking call: {}",
                callee.name, fact.help
            ))
            .with_note(site.frame_note.0.clone(), Some(site.frame_note.1));
        d = push_notes(d, notes);
        let end_file = g.file_of(end_fn);
        let end_msg = format!("{} ({})", fact.message, fact.rule.name);
        d = if end_file == file.path {
            d.with_note(end_msg, Some(fact.span))
        } else {
            d.with_note(format!("{end_msg} at {}", super::call_chain::at(end_file, fact.span)), None)
        };
        cx.report(d);
    }
}

/// Blocking waits (CA105) on receivers whose type only the crate's other files declare: a field of a struct
/// declared in another file (`self.accept_handle.take().unwrap().join()`, `self.jobs.recv()`), through type
/// aliases and declared return types.
fn link_typed_waits(g: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
    if g.files().iter().all(|f| f.typed_calls.is_empty()) {
        return;
    }
    let types = crate::rust::types::CrateTypes::new(g.files());
    for file in g.files() {
        for c in &file.typed_calls {
            let ty = types.eval(&c.root, &c.steps);
            let Some((what, help)) = super::blocking_wait::classify(&ty, &c.method) else { continue };
            let shown = ty.deref_guards().name().unwrap_or("?");
            let d = cx
                .diagnostic(
                    &super::blocking_wait::META,
                    &file.path,
                    c.span,
                    format!("{what} (`.{}()`) blocks the executor's worker thread", c.method),
                )
                .with_help(help)
                .with_note(c.frame_note.0.clone(), Some(c.frame_note.1))
                .with_note(
                    format!("the receiver is a `{shown}`: its type is declared in another file of the crate"),
                    None,
                );
            cx.report(d);
        }
    }
}

/// The first backquoted code in a message (`std::fs::read_to_string`), or the whole message.
fn first_code_span(msg: &str) -> String {
    let mut parts = msg.split('`');
    match (parts.next(), parts.next()) {
        (Some(_), Some(code)) if !code.is_empty() => format!("`{code}`"),
        _ => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::rust::callgraph::FileFacts;
    use crate::rust::link::link_all;
    use crate::rust::rules::IMPLS;
    use crate::settings::Settings;

    fn facts(path: &str, src: &str) -> FileFacts {
        let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), true);
        f.expect("parses")
    }

    const LIB: &str =
        "mod config;\nuse crate::config::load_config;\n\nasync fn handler() {\n    let _ = load_config();\n}\n";
    const CONFIG: &str = "pub fn load_config() -> String {\n    read_settings()\n}\n\nfn read_settings() -> String {\n    std::fs::read_to_string(\"app.toml\").unwrap()\n}\n";

    #[test]
    fn a_chain_across_files_is_reported_at_the_async_call_with_each_step() {
        let files = vec![facts("proj/src/lib.rs", LIB), facts("proj/src/config.rs", CONFIG)];
        let out = link_all(files, IMPLS, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        assert_eq!(d.rule.code, "CA102");
        assert_eq!(d.path, Path::new("proj/src/lib.rs"));
        assert_eq!((d.span.start.line, d.span.start.column), (5, 13));
        assert!(
            d.message.contains("`handler` → `load_config` → `read_settings` → `std::fs::read_to_string`"),
            "{}",
            d.message
        );
        let texts: Vec<&str> = d.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            texts.iter().any(|t| t.contains("`load_config` calls `read_settings` here (proj/src/config.rs:2)")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.contains("proj/src/config.rs:6")), "{texts:?}");
        // Steps in another file cannot carry a span into this one.
        assert!(d.notes.iter().filter(|n| n.message.contains("config.rs")).all(|n| n.span.is_none()));
    }

    #[test]
    fn recursion_terminates_and_the_shortest_chain_is_reported() {
        let src = "fn a(n: u32) { if n > 0 { b(n - 1) } }\nfn b(n: u32) { a(n); c(); }\nfn c() { std::thread::sleep(d); }\n\
                   fn d1() { d2() }\nfn d2() { d1() }\nasync fn f() { a(1); d1(); }\n";
        let out = link_all(vec![facts("p/src/lib.rs", src)], IMPLS, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("`f` → `a` → `b` → `c` → `std::thread::sleep`"), "{}", out[0].message);
    }

    #[test]
    fn each_method_call_of_an_async_fn_is_a_chain() {
        let src = "struct Bank { a: std::sync::Mutex<u32>, b: std::sync::Mutex<u32> }\n\
                   impl Bank {\n  fn transfer(&self) { let x = self.a.lock(); self.audit_log(); }\n\
                   fn audit_log(&self) { let y = self.b.lock(); std::thread::sleep(d); }\n\
                   async fn run(&self, other: &Bank) { self.transfer(); other.audit_log(); }\n}\n";
        let out = link_all(vec![facts("p/src/bank.rs", src)], IMPLS, &Settings::default());
        // (`transfer` also sleeps below its guard of `a`: CA407, not a chain from async code.)
        let mut chains: Vec<&str> = out.iter().filter(|d| d.rule.code == "CA101").map(|d| d.message.as_str()).collect();
        chains.sort_unstable();
        assert_eq!(chains.len(), 2, "{out:#?}");
        assert!(chains[0].contains("`run` → `audit_log` → `std::thread::sleep`"), "{chains:?}");
        assert!(chains[1].contains("`run` → `transfer` → `audit_log` → `std::thread::sleep`"), "{chains:?}");
    }

    /// Issue 12: a field declared in another file keeps its type through aliases and `Option` chains.
    #[test]
    fn receivers_declared_in_another_file_keep_their_type() {
        let state = "pub type Jobs = std::sync::mpsc::Receiver<u32>;\n\
                     pub struct W { pub jobs: Jobs, pub h: Option<std::thread::JoinHandle<()>>, pub t: tokio::sync::mpsc::Receiver<u32> }\n";
        let lib = "mod state;\nuse crate::state::W;\nimpl W {\n    async fn f(&mut self) {\n        self.jobs.recv();\n        \
                   self.h.take().unwrap().join();\n        self.t.recv();\n    }\n}\n";
        let files = vec![facts("p/src/lib.rs", lib), facts("p/src/state.rs", state)];
        let out = link_all(files, IMPLS, &Settings::default());
        let got: Vec<(&str, usize)> = out.iter().map(|d| (d.rule.code, d.span.start.line)).collect();
        assert_eq!(got.len(), 2, "{out:#?}");
        assert!(got.contains(&("CA105", 5)) && got.contains(&("CA105", 6)), "{got:?}");
        // Alone, the file cannot tell.
        assert!(link_all(vec![facts("p/src/lib.rs", lib)], IMPLS, &Settings::default()).is_empty());
    }

    #[test]
    fn ambiguous_method_names_are_not_followed() {
        let src = "struct S;\nimpl S { fn get(&self) { std::thread::sleep(d); } }\n\
                   async fn f(m: std::collections::HashMap<u32, u32>) { m.get(&1); }\n";
        assert!(link_all(vec![facts("p/src/lib.rs", src)], IMPLS, &Settings::default()).is_empty());
    }
}
