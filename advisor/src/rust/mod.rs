//! Rust analysis: parse a file once with `syn`, run one visit that dispatches to the enabled Rust rules, and
//! turn parse errors into `syntax-error` diagnostics.
//!
//! Layout: [`semantic`] (scopes, `use` resolution, binding types) and [`types`] (what is known about std and
//! common crates), [`context`] (is this code on the async executor?), `macros` (code inside macro
//! invocations), [`checker`] (the visitor and the API rules use), [`rules`] (one file per rule, the rule
//! interface and how to add one), `scan` (the text scans before parsing: call-graph roots, bodies to blank).

pub mod callgraph;
pub mod checker;
pub(crate) mod chunks;
pub mod context;
pub(crate) mod edition;
pub mod heavy;
mod lang;
pub mod link;
pub(crate) mod macros;
pub mod package;
pub mod rules;
pub(crate) mod scan;
pub mod semantic;
pub mod types;

use std::path::Path;

pub use lang::Lang;

use crate::diagnostic::{Diagnostic, Location, Span};
use crate::registry::builtin::SYNTAX_ERROR;
use crate::settings::Settings;

/// Bracket nesting, chain length (operators and prefix keywords) and `else if` arms above which a file is
/// analysed on a thread with a large stack: syn's parser, its `Drop` and the visitor all recurse once per level
/// (see [`scan::nesting`]).
const DEEP: [usize; 3] = [48, 150, 40];
/// Above any of these the file is not parsed at all (no stack is safe); it gets a `syntax-error` finding
/// saying what is too deep and where.
pub const TOO_DEEP: [usize; 3] = [3_000, 20_000, 2_000];
/// The stack of the big-stack thread (reserved, not committed).
const BIG_STACK: usize = 512 << 20;

/// The identifiers without which a text holds no code the crate-wide call graph starts from: the `async`
/// keyword (CA1xx and CA201 chains), `spawn_blocking` (any name starting so) and the wrappers `unblock`,
/// `asyncify`, `run_blocking` whose closures CA202 follows, and `spawn`/`spawn_scoped`, the threads whose
/// deferred findings CA301 completes. A crate none of whose files holds one of them in its code (comments,
/// literals, raw identifiers such as `r#async` and longer names such as `fdatasync` or `posix_spawnattr_t` do
/// not count) needs no call graph: then its sync functions are visited only for the rules whose words they
/// hold, and a file no rule can fire in is only lexed.
pub const GRAPH_ROOT_IDENTS: &[&str] = &["async", "spawn", "spawn_scoped", "unblock", "asyncify", "run_blocking"];

/// Whether an identifier is one of [`GRAPH_ROOT_IDENTS`].
fn is_graph_root(ident: &[u8]) -> bool {
    GRAPH_ROOT_IDENTS.iter().any(|r| r.as_bytes() == ident) || ident.starts_with(b"spawn_blocking")
}

/// Whether `source` (text or bytes) holds one of [`GRAPH_ROOT_IDENTS`] in its code.
pub fn has_graph_roots(source: impl AsRef<[u8]>) -> bool {
    static WORDS: std::sync::OnceLock<aho_corasick::AhoCorasick> = std::sync::OnceLock::new();
    let text = source.as_ref();
    // Each root identifier holds one of these words: most texts hold none, and in the others only the
    // identifiers that hold one are compared.
    let words = WORDS.get_or_init(|| {
        aho_corasick::AhoCorasick::new(["async", "spawn", "unblock", "asyncify", "run_blocking"])
            .expect("five short literal words compile")
    });
    let mut found = words.find_iter(text).map(|m| m.range()).peekable();
    if found.peek().is_none() {
        return false;
    }
    scan::Tokens::new(text).filter(|(kind, _)| *kind == scan::Kind::Ident).any(|(_, ident)| {
        while found.next_if(|w| w.start < ident.start).is_some() {}
        found.peek().is_some_and(|w| w.end <= ident.end) && is_graph_root(&text[ident])
    })
}

/// Analyses one Rust file's text with every registered Rust rule that `settings` enables, as a crate of its
/// own: the file's findings plus those the rules' link steps find in the call graph of its own functions (see
/// [`link`]). Never
/// panics; a file nested too deeply to parse safely is reported, not parsed.
pub fn analyze(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    analyze_with_rules(path, source, settings, rules::IMPLS)
}

/// Like [`analyze`], with an explicit rule list (of which `settings` still selects): for testing a rule
/// before it is registered, or a rule in isolation.
pub fn analyze_with_rules(
    path: &Path,
    source: &str,
    settings: &Settings,
    rules: &[&'static dyn rules::DynRule],
) -> Vec<Diagnostic> {
    let (mut diags, facts) = analyze_collect(path, source, settings, rules, has_graph_roots(source));
    if let Some(facts) = facts {
        diags.extend(link::link_crate(std::slice::from_ref(&facts), rules, settings));
    }
    diags
}

/// Analyses one Rust file's text and returns its findings and its facts for the crate-wide call graph
/// (`None` when the file was not parsed). The caller joins the facts of all files of a crate with
/// [`link::link_all`]. `graph`: whether some file of the crate holds [`GRAPH_ROOT_IDENTS`] (else no
/// facts are gathered, see there). Never panics.
pub fn analyze_with_facts(
    path: &Path,
    source: &str,
    settings: &Settings,
    graph: bool,
) -> (Vec<Diagnostic>, Option<callgraph::FileFacts>) {
    analyze_collect(path, source, settings, rules::IMPLS, graph)
}

fn analyze_collect(
    path: &Path,
    source: &str,
    settings: &Settings,
    rules: &[&'static dyn rules::DynRule],
    graph: bool,
) -> (Vec<Diagnostic>, Option<callgraph::FileFacts>) {
    let nesting = scan::nesting(source.as_bytes());
    let measures = [nesting.brackets, nesting.chain, nesting.else_if];
    if let Some(k) = (0..3).find(|&k| measures[k].count > TOO_DEEP[k]) {
        return (vec![too_deep(path, source, k, measures[k])], None);
    }
    let dispatch = rules::Dispatch::new(rules, settings, source, graph);
    if !dispatch.any {
        // No rule can fire here and the call graph needs nothing from it: the text is only lexed, so that
        // unbalanced delimiters and unterminated literals are still reported. The nesting scan has lexed it
        // already; proc-macro2 lexes it again only where that scan cannot vouch for the text.
        if nesting.lexes {
            return (Vec::new(), None);
        }
        let lexed = source.parse::<proc_macro2::TokenStream>().map(drop);
        let diags = lexed.err().map(|e| syntax_error(path, source, &syn::Error::from(e))).into_iter().collect();
        proc_macro2::extra::invalidate_current_thread_spans();
        return (diags, None);
    }
    if (0..3).all(|k| measures[k].count <= DEEP[k]) {
        return analyze_here(path, source, settings, &dispatch);
    }
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("conc-advisor-deep".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, || analyze_here(path, source, settings, &dispatch))
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| {
        let at = Span::new(Location::new(1, 1), Location::new(1, 1));
        (vec![Diagnostic::new(&SYNTAX_ERROR, path, at, "cannot analyse: the analysis of this file failed")], None)
    })
}

fn analyze_here(
    path: &Path,
    source: &str,
    settings: &Settings,
    dispatch: &rules::Dispatch,
) -> (Vec<Diagnostic>, Option<callgraph::FileFacts>) {
    analyze_here_chunked(path, source, settings, dispatch, chunks::chunk_target(source.len()))
}

/// [`analyze_here`] with the size chunks of a large file are cut at ([`chunks`]); a file shorter than
/// [`chunks::THRESHOLD`] is parsed whole unless `target` is below it (tests force chunks so).
fn analyze_here_chunked(
    path: &Path,
    source: &str,
    settings: &Settings,
    dispatch: &rules::Dispatch,
    target: usize,
) -> (Vec<Diagnostic>, Option<callgraph::FileFacts>) {
    if (source.len() > chunks::THRESHOLD || target < chunks::THRESHOLD)
        && let Some(found) = analyze_in_chunks(path, source, settings, dispatch, target)
    {
        let (d, f) = found;
        let keep = dispatch.chains || f.has_lock_facts();
        return (d, keep.then_some(f));
    }
    // Should the blanked text not parse, or anything but the bodies of sync functions have been blanked, the
    // text itself is parsed (and its error reported).
    let parsed = match blank_unneeded(source, dispatch).map(|(text, bodies)| (syn::parse_file(&text), bodies)) {
        Some((Ok(file), bodies)) if only_sync_fn_bodies(&file, &bodies) => Ok(file),
        _ => syn::parse_file(source),
    };
    // What the file's crate accepts and syn does not (front matter, edition-2015 syntax) is no syntax error.
    let parsed = parsed.or_else(|err| edition::reparse(path, source).ok_or(err));
    let diags = match parsed {
        Ok(file) => {
            let (d, f) = checker::Checker::new(path, settings, dispatch).run_with_facts(&file);
            // Lock orders (CA404) are compared crate-wide in every crate, with or without async code.
            let keep = dispatch.chains || f.has_lock_facts();
            (d, keep.then_some(f))
        }
        Err(err) => (vec![syntax_error(path, source, &err)], None),
    };
    // Spans index a thread-local source map that grows with every file parsed on this thread; without this,
    // offsets wrap after about 4 GiB of source on one thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    diags
}

/// The chunked visit ([`chunks::visit`]) of the blanked text (as [`analyze_here`] parses it), else of the
/// source itself; `None` when neither can be visited in chunks (the file is then parsed whole).
fn analyze_in_chunks(
    path: &Path,
    source: &str,
    settings: &Settings,
    dispatch: &rules::Dispatch,
    target: usize,
) -> Option<(Vec<Diagnostic>, callgraph::FileFacts)> {
    if let Some((text, bodies)) = blank_unneeded(source, dispatch)
        && let Some(cuts) = chunks::bounds(&text, target)
        && let Some(found) = chunks::visit(path, &text, Some(&bodies), &cuts, settings, dispatch)
    {
        return Some(found);
    }
    let cuts = chunks::bounds(source, target)?;
    chunks::visit(path, source, None, &cuts, settings, dispatch)
}

/// `source` with the bodies the checker would skip unvisited blanked (see [`scan::blank_bodies`]), so that
/// they are not parsed either; `None` when there are none. Where the call graph needs every function
/// ([`Dispatch::chains`](rules::Dispatch::chains)) nothing is skipped. Otherwise a non-async `fn` whose body
/// holds none of the active rules' words is skipped by `Checker::enter_fn`; the same test decides here.
fn blank_unneeded(source: &str, dispatch: &rules::Dispatch) -> Option<(String, Vec<std::ops::Range<usize>>)> {
    if dispatch.chains || dispatch.lock_fns || !dispatch.gated {
        return None;
    }
    scan::blank_bodies(source, |body| dispatch.words_in(body) & dispatch.all == 0)
}

/// Whether each of `bodies` (byte ranges, braces included) is the block of a non-async `fn`, method or trait
/// method of `file`: the check that the text scan blanked nothing else. Expressions are not entered (a `fn`
/// declared inside one makes the check fail, and the text is then parsed whole).
fn only_sync_fn_bodies(file: &syn::File, bodies: &[std::ops::Range<usize>]) -> bool {
    use syn::visit::Visit;
    struct Blocks(Vec<std::ops::Range<usize>>);
    impl Blocks {
        fn add(&mut self, sig: &syn::Signature, block: &syn::Block) {
            if sig.asyncness.is_none() {
                self.0.push(block.brace_token.span.join().byte_range());
            }
        }
    }
    impl<'ast> Visit<'ast> for Blocks {
        fn visit_expr(&mut self, _: &'ast syn::Expr) {}
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.add(&f.sig, &f.block);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.add(&f.sig, &f.block);
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            if let Some(block) = &f.default {
                self.add(&f.sig, block);
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let mut blocks = Blocks(Vec::new());
    blocks.visit_file(file);
    blocks.0.sort_unstable_by_key(|r| r.start);
    bodies.iter().all(|b| blocks.0.binary_search_by_key(&b.start, |r| r.start).is_ok_and(|i| blocks.0[i] == *b))
}

/// Runs `f` (a parse of `source` and a walk of its tree) where the nesting of `source` allows: on this thread
/// when it is within [`DEEP`], else on a thread with [`BIG_STACK`]. `None` when `source` is past [`TOO_DEEP`]
/// (never parsed), or the big-stack thread cannot start or `f` panics there.
pub(crate) fn on_parse_stack<T: Send>(source: &str, f: impl FnOnce() -> T + Send) -> Option<T> {
    let nesting = scan::nesting(source.as_bytes());
    let measures = [nesting.brackets, nesting.chain, nesting.else_if];
    if (0..3).any(|k| measures[k].count > TOO_DEEP[k]) {
        return None;
    }
    if (0..3).all(|k| measures[k].count <= DEEP[k]) {
        return Some(f());
    }
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("conc-advisor-deep".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, f)
            .ok()
            .and_then(|h| h.join().ok())
    })
}

/// The `syntax-error` finding of a file past one of the [`TOO_DEEP`] limits (`kind` indexes them).
fn too_deep(path: &Path, source: &str, kind: usize, at: scan::Deepest) -> Diagnostic {
    let count = crate::diagnostic::thousands(at.count);
    let what = match kind {
        0 => format!("{count} levels of nested brackets"),
        1 => format!("a chain of {count} operators or prefix keywords (`+`, `.`, `as`, `return`, …)"),
        _ => format!("{count} `else if` arms"),
    };
    let loc = Location::from_offset(source, at.at);
    let d = Diagnostic::new(
        &SYNTAX_ERROR,
        path,
        Span::new(loc, loc),
        format!("too deeply nested to analyse safely: {what} (limit {})", crate::diagnostic::thousands(TOO_DEEP[kind])),
    );
    d.with_help("split the expression or the nesting; the rest of the run goes on without this file")
}

/// The `syntax-error` finding of a parse error. proc-macro2's tokenizer says only "cannot parse string into
/// token stream"; then the lexer says what is wrong and where (unterminated literal, unbalanced delimiter, NUL).
fn syntax_error(path: &Path, source: &str, err: &syn::Error) -> Diagnostic {
    let text = err.to_string();
    if text.contains("cannot parse string into token stream")
        && let Some((at, what)) = scan::lex_problem(source)
    {
        let loc = Location::from_offset(source, at);
        return Diagnostic::new(&SYNTAX_ERROR, path, Span::new(loc, loc), format!("cannot parse: {what}"));
    }
    let text = crate::diagnostic::escape_controls(&text);
    Diagnostic::new(&SYNTAX_ERROR, path, Span::from_pm2(err.span()), format!("cannot parse: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> Vec<Diagnostic> {
        analyze(Path::new("src/lib.rs"), src, &Settings::default())
    }

    #[test]
    fn odd_inputs_never_panic() {
        let deep_parens = format!("fn f() {{ let x = {}1{}; }}", "(".repeat(1_000), ")".repeat(1_000));
        let deep_blocks = format!("async fn f() {{ {} std::thread::sleep(d); {} }}", "{".repeat(500), "}".repeat(500));
        let long_chain = format!("fn f() {{ let x = 1{}; }}", " + 1".repeat(40_000));
        let long_method_chain = format!("async fn f() {{ x{}; }}", ".m()".repeat(20_000));
        let nested_closures = format!("async fn f() {{ {} std::thread::sleep(d) {} }}", "|| ".repeat(300), "");
        let nested_async =
            format!("fn f() {{ {} std::thread::sleep(d); {} }}", "async { ".repeat(300), "}".repeat(300));
        let nested_macros =
            format!("async fn f() {{ {} std::thread::sleep(d) {} ; }}", "vec![".repeat(200), "]".repeat(200));
        let inputs: Vec<String> = vec![
            String::new(),
            " \n\t\n".into(),
            "// only a comment\n/* and a block */".into(),
            "#!/usr/bin/env rust\nfn main() {}".into(),
            "#![no_std]".into(),
            "macro_rules! m { ($x:expr) => { $x }; } m!(1); m! { fn g() {} } m![];".into(),
            "}".into(),
            "fn f() { let s = \"unterminated; }".into(),
            "fn é() { let r = r#\"a \" b\"#; let c = '\\''; }".into(),
            "async fn f() { tokio::select! { } futures::join!(); println!(); vec![;]; assert!(); }".into(),
            "async fn f() { tokio::select! { x = => {} } m!(,,,); m!{ let = ; } }".into(),
            "use ::*; use self::*; use super::super::super::*; use a::{self as b, c::*}; fn f() { b(); super::x(); }"
                .into(),
            "use a as b; use b as a; async fn f() { a(); b::c(); }".into(),
            "impl<T> X<T> for [u8; 3] { async fn f(&self) { Self::g(); self.0.h(); } }".into(),
            "async fn f() { let (a, b, c) = std::sync::mpsc::channel(); let [x, ..] = y; a.recv(); }".into(),
            deep_parens,
            deep_blocks,
            long_chain,
            long_method_chain,
            nested_closures,
            nested_async,
            nested_macros,
            "(".repeat(10_000),
            format!("fn f() {{ {} }}", "-".repeat(100_000)),
        ];
        for src in &inputs {
            let _ = run(src);
        }
        // Just under the big-stack thresholds: analysed on the caller's thread (a test thread has the same
        // 2 MiB stack as a rayon worker), in a debug build, without overflowing.
        let mixed = format!("async fn f() {{ {} std::thread::sleep(d) {} }}", "{ g((".repeat(15), ")) }".repeat(15));
        assert_eq!(scan::nesting(mixed.as_bytes()).brackets.count, 47);
        assert!(run(&mixed).iter().any(|d| d.rule.code == "CA101"));
        let chain = format!("async fn f() {{ std::thread::sleep(d{}); }}", " + 1".repeat(DEEP[1] - 1));
        assert!(scan::nesting(chain.as_bytes()).chain.count <= DEEP[1]);
        assert!(run(&chain).iter().any(|d| d.rule.code == "CA101"));
        // Nesting found in the blocks case is still analysed: the sleep is reported.
        assert!(run(&inputs[16]).iter().any(|d| d.rule.code == "CA101"));
        let twenty = format!("async fn f() {{ {} std::thread::sleep(d) {} ; }}", "vec![".repeat(20), "]".repeat(20));
        assert!(run(&twenty).iter().any(|d| d.rule.code == "CA101"), "inside nested vec! macros");
        // Too deep to parse safely: one finding, no crash.
        let too_deep = run(&inputs[22]);
        assert_eq!(too_deep.len(), 1);
        assert!(too_deep[0].message.contains("too deep"), "{}", too_deep[0].message);
    }

    /// The inputs of issue 11 that overflowed the stack: each is analysed (on the big-stack thread) or refused
    /// with a `CA001` saying what is too deep and where, never a crash.
    #[test]
    fn chains_and_hidden_nesting_of_issue_11_do_not_overflow() {
        let sleep = "std::thread::sleep(d);";
        let cases = [
            // Nesting hidden from the old pre-scan by a raw string or by nested block comments.
            (
                format!("async fn f() {{ {sleep} let s = r\"\\\"; let x = {}1{}; }}", "(".repeat(700), ")".repeat(700)),
                Some("CA101"),
            ),
            (
                format!("async fn f() {{ {sleep} /* /* */ \" */ let x = {}1{}; }}", "(".repeat(700), ")".repeat(700)),
                Some("CA101"),
            ),
            (format!("async fn f() {{ {sleep} {}1; }}", "return ".repeat(830)), Some("CA101")),
            (format!("async fn f() {{ {sleep} x{}; }}", " as u8".repeat(3_900)), Some("CA101")),
            (format!("async fn f() {{ if a {{}} {} }}", "else if a { x(); } ".repeat(1_500)), None),
            (format!("async fn f() {{ if a {{}} {} }}", "else if a { x(); } ".repeat(3_000)), Some("CA001")),
            (format!("fn f() {{ {}1; }}", "return ".repeat(30_000)), Some("CA001")),
        ];
        for (src, expect) in &cases {
            let d = run(src);
            match expect {
                Some(code) => assert!(d.iter().any(|d| d.rule.code == *code), "{}: {d:?}", &src[..60]),
                None => assert!(d.is_empty(), "{}: {d:?}", &src[..60]),
            }
        }
        let refused = run(&cases[5].0);
        assert_eq!(refused[0].message, "too deeply nested to analyse safely: 3,000 `else if` arms (limit 2,000)");
        // It points at the `else` of the last arm.
        let last_else = cases[5].0.rfind("else").unwrap();
        assert_eq!((refused[0].span.start.line, refused[0].span.start.column), (1, last_else + 1));
    }

    /// Issue 11: every tokenizer error said only "cannot parse string into token stream".
    #[test]
    fn syntax_errors_say_what_and_where() {
        for (src, message, at) in [
            ("fn f() {\n    let s = \"open;\n}\n", "unterminated string starting at 2:13", (2, 13)),
            ("fn f() {\n    g(1;\n}\n", "`}` at 3:1 does not close `(` opened at 2:6", (3, 1)),
            ("async fn f() {\n  (\n", "`(` opened at 2:3 is never closed", (2, 3)),
            ("fn f() {}\n}\n", "`}` at 2:1 closes nothing", (2, 1)),
            ("fn f() { x\0 }", "NUL byte at 1:11", (1, 11)),
            ("fn f() { /* /* */ }", "unterminated block comment starting at 1:10", (1, 10)),
            ("fn f() { r#\"x\"; }", "unterminated raw string starting at 1:10", (1, 10)),
        ] {
            let d = run(src);
            assert_eq!(d.len(), 1, "{src:?}: {d:?}");
            assert_eq!(d[0].message, format!("cannot parse: {message}"), "{src:?}");
            assert_eq!((d[0].span.start.line, d[0].span.start.column), at, "{src:?}");
        }
    }

    #[test]
    fn diagnostics_carry_help_and_a_note_at_the_async_fn() {
        let src = "use std::thread::sleep as nap;\n\nasync fn handler() {\n    nap(d);\n}\n";
        let d = run(src);
        assert_eq!(d.len(), 1, "{d:?}");
        let d = &d[0];
        assert_eq!(d.rule.code, "CA101");
        assert_eq!((d.span.start.line, d.span.start.column, d.span.end.column), (4, 5, 11));
        assert!(d.help.as_deref().unwrap_or_default().contains("tokio::time::sleep(d).await"));
        let note = &d.notes[0];
        assert!(note.message.contains("`handler` is an async function"), "{}", note.message);
        let at = note.span.expect("the note points at the async fn");
        assert_eq!((at.start.line, at.start.column), (3, 1));
    }

    #[test]
    fn disabled_rules_do_no_work_and_report_nothing() {
        let src = "async fn f() { std::thread::sleep(d); std::fs::read(p); }";
        let only_fs = Settings::only(&[&rules::blocking_fs::META]);
        let d = analyze(Path::new("a.rs"), src, &only_fs);
        assert_eq!(d.iter().map(|d| d.rule.code).collect::<Vec<_>>(), vec!["CA102"]);
        let none = Settings::only(&[]);
        assert!(analyze(Path::new("a.rs"), src, &none).is_empty());
        assert_eq!(analyze(Path::new("a.rs"), "fn (", &none)[0].rule.code, "CA001");
    }

    /// Every fixture, with all rules and with each rule alone: the checker's findings and call-graph facts are
    /// the same whether the bodies it skips were blanked before parsing or not.
    #[test]
    fn blanking_the_bodies_the_checker_skips_changes_nothing() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rust");
        let files = crate::test_support::files_under(root, "rs");
        let mut configs = vec![Settings::default()];
        configs.extend(rules::RULES.iter().map(|m| Settings::only(&[m])));
        let mut blanked_runs = 0;
        for path in &files {
            let src = std::fs::read_to_string(path).expect("fixtures are UTF-8");
            if syn::parse_file(&src).is_err() {
                // Front matter or edition-2015 syntax: parsed only after `edition::reparse`, never blanked.
                continue;
            }
            for settings in &configs {
                let dispatch = rules::Dispatch::new(rules::IMPLS, settings, &src, has_graph_roots(&src));
                let Some((blanked, bodies)) = blank_unneeded(&src, &dispatch) else { continue };
                blanked_runs += 1;
                let file = syn::parse_file(&blanked).expect("blanked fixtures parse");
                assert!(only_sync_fn_bodies(&file, &bodies), "{}", path.display());
                let run = |text: &str| {
                    let file = syn::parse_file(text).expect("fixtures parse, blanked or not");
                    let (d, f) = checker::Checker::new(path, settings, &dispatch).run_with_facts(&file);
                    proc_macro2::extra::invalidate_current_thread_spans();
                    (format!("{d:?}"), format!("{f:?}"))
                };
                assert_eq!(run(&src), run(&blanked), "{}", path.display());
            }
        }
        assert!(blanked_runs > 50, "only {blanked_runs} runs blanked anything: the test would prove little");
    }

    /// Issue 11 (memory bounded by what is in flight): a file visited in chunks ([`chunks`], forced here with
    /// the smallest chunk size, so every top-level item boundary is a cut) gives exactly the findings and
    /// call-graph facts of a whole-file parse, with every rule and with each rule alone.
    #[test]
    fn chunked_visits_equal_whole_file_visits() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        let files = crate::test_support::files_under(root, "rs");
        let mut configs = vec![Settings::default()];
        configs.extend(rules::RULES.iter().map(|m| Settings::only(&[m])));
        let (mut chunked_runs, mut chunked_files) = (0, 0);
        for path in &files {
            let src = std::fs::read_to_string(path).expect("fixtures are UTF-8");
            if chunks::bounds(&src, 1).is_none_or(|c| c.len() < 2) {
                continue;
            }
            chunked_files += 1;
            // On the stack `check` gives this file's nesting (fixtures/crashes holds inputs deep enough to
            // overflow a test thread's default stack); a panic inside still fails the test.
            let runs = on_parse_stack(&src, || {
                let mut runs = 0;
                for settings in &configs {
                    let dispatch = rules::Dispatch::new(rules::IMPLS, settings, &src, has_graph_roots(&src));
                    let whole = analyze_here_chunked(path, &src, settings, &dispatch, usize::MAX);
                    let Some((d, f)) = analyze_in_chunks(path, &src, settings, &dispatch, 1) else { continue };
                    runs += 1;
                    let keep = dispatch.chains || f.has_lock_facts();
                    let chunked = (d, keep.then_some(f));
                    let show = |r: &(Vec<Diagnostic>, Option<callgraph::FileFacts>)| {
                        let mut lines: Vec<String> =
                            r.0.iter()
                                .map(|d| format!("{} {:?} {} {:?}", d.rule.code, d.span, d.message, d.notes))
                                .collect();
                        lines.push(format!("{:#?}", r.1));
                        lines.join("\n")
                    };
                    let (w, c) = (show(&whole), show(&chunked));
                    if w != c {
                        let at = w.lines().zip(c.lines()).position(|(a, b)| a != b).unwrap_or(0);
                        panic!(
                            "{} with {:?}: whole {:?} chunked {:?}",
                            path.display(),
                            rules::RULES.iter().filter(|m| settings.is_enabled(m)).map(|m| m.code).collect::<Vec<_>>(),
                            w.lines().nth(at),
                            c.lines().nth(at)
                        );
                    }
                    assert_eq!(
                        w,
                        show(&analyze_here_chunked(path, &src, settings, &dispatch, 1)),
                        "{}",
                        path.display()
                    );
                }
                runs
            });
            chunked_runs += runs
                .unwrap_or_else(|| panic!("{}: too deep to parse, or a comparison failed (see above)", path.display()));
        }
        assert!(chunked_files > 100, "only {chunked_files} fixtures have two items or more");
        assert!(chunked_runs > 2_000, "only {chunked_runs} runs were visited in chunks: the test would prove little");
    }

    /// Cuts fall between top-level items only, at line starts, with doc comments and attributes kept with
    /// their item; a text the lexer cannot read whole is not cut.
    #[test]
    fn chunks_are_cut_between_top_level_items() {
        let src = "use a::b;\n/// doc\n#[attr]\nfn f() { g(); }\nimpl X<{ 1 }>\nfor Y {}\nm! { }\nstruct S { a: u8 } // c\nfn h() {}\n";
        let cuts = chunks::bounds(src, 1).expect("cut");
        let texts: Vec<&str> = cuts.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(
            texts,
            [
                "use a::b;\n",
                "/// doc\n#[attr]\nfn f() { g(); }\n",
                "impl X<{ 1 }>\nfor Y {}\n",
                "m! { }\n",
                "struct S { a: u8 } // c\nfn h() {}\n"
            ]
        );
        assert_eq!(chunks::bounds("fn f() {}\nfn g() { \"open }\n", 1), None);
        assert_eq!(chunks::bounds("fn f() {}", 1), None);
    }

    #[test]
    fn only_the_blocks_of_sync_functions_pass_the_check_after_blanking() {
        let src = "impl S { fn a() { } async fn b() { } }\nfn c() { let f = || { fn d() { } }; }";
        let file = syn::parse_file(src).unwrap();
        let block = |from: &str| {
            let start = src.find(from).unwrap() + from.find('{').unwrap();
            start..start + src[start..].find('}').unwrap() + 1
        };
        assert!(only_sync_fn_bodies(&file, &[block("fn a() {")]));
        assert!(!only_sync_fn_bodies(&file, &[block("fn a() {"), block("async fn b() {")]));
        let impl_block = src.find('{').unwrap()..src.find("}\n").unwrap() + 1;
        assert!(!only_sync_fn_bodies(&file, &[impl_block]));
        // A `fn` inside an expression is not looked for: the text is then parsed whole.
        assert!(!only_sync_fn_bodies(&file, &[block("fn d() {")]));
        assert!(only_sync_fn_bodies(&file, &[]));
    }

    #[test]
    fn graph_roots_are_identifiers_of_code() {
        for (text, rooted) in [
            ("async fn f() {}", true),
            ("fn f() { let x = async { 1 }; }", true),
            ("fn f() { tokio::task::spawn_blocking(|| ()); }", true),
            ("fn f() { rt.spawn_blocking_with(g); }", true),
            ("fn f() { std::thread::spawn(g); }", true),
            ("fn f() { s.spawn_scoped(g); }", true),
            ("fn f() { smol::unblock(g); }", true),
            ("// async spawn\nfn f() {}", false),
            ("/// runs `tokio::spawn`\nfn f() {}", false),
            ("fn f() { let s = \"spawn async\"; }", false),
            ("fn fdatasync() {} type T = posix_spawnattr_t; fn spawner() {}", false),
            ("struct S { r#async: u8 }", false),
            ("\u{feff}async fn f() {}", true),
        ] {
            assert_eq!(has_graph_roots(text), rooted, "{text}");
        }
    }

    #[test]
    fn nesting_scan_skips_comments_and_strings() {
        let n = |t: &str| {
            let n = scan::nesting(t.as_bytes());
            (n.brackets.count, n.chain.count, n.else_if.count)
        };
        assert_eq!(n("fn f() { g((1)) }"), (3, 0, 0));
        assert_eq!(n("// ((((((\n\"((((\" '(' x"), (0, 0, 0));
        assert_eq!(n("a + b + c; d"), (0, 2, 0));
        // Raw strings, nested block comments and byte strings hide nothing from the count.
        assert_eq!(n(r#"let s = r"\"; /* /* */ " */ ((x))"#), (2, 1, 0));
        assert_eq!(n(r#"let s = br"\"; let c = b'\''; ((x))"#), (2, 1, 0));
        assert_eq!(n("return return x as u8 as u8"), (0, 4, 0));
        assert_eq!(n("fn f() { if a { x } else if b { y; } else if c { if d {} z } else { w } }"), (3, 0, 3));
        // Two separate `if … else` statements are not one chain.
        assert_eq!(n("fn f() { if a {} else {} if b {} else {} }").2, 1);
        assert_eq!(n("fn f() { if a {} else {}; if b {} else {} }").2, 1);
    }
}
