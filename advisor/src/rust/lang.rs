//! Rust as the engine, suppressions and fixtures see it: [`Lang`], its [`Language`] implementation.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::diagnostic::Diagnostic;
use crate::enclosing::Items;
use crate::language::{FileFacts, Language, Probe, RunState};
use crate::registry::RuleMeta;
use crate::settings::Settings;

use super::callgraph::{self, crate_root};

/// The Rust language (`*.rs`), registered in [`LANGUAGES`](crate::language::LANGUAGES).
#[derive(Debug, Clone, Copy)]
pub struct Lang;

/// The crates ([`crate_root`]) of which some Rust file holds code the call graph starts from
/// ([`GRAPH_ROOT_IDENTS`](super::GRAPH_ROOT_IDENTS)): a pass over the text alone, crates in parallel, before
/// the analysis reads each file again. Texts are not kept, so memory stays bounded by the files in flight, and
/// a crate's files are read only until one holds a root. A file that cannot be read is reported by the
/// analysis.
struct Rooted(HashSet<PathBuf>);

impl Language for Lang {
    fn name(&self) -> &'static str {
        "rust"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["rs"]
    }

    fn rules(&self) -> &'static [&'static RuleMeta] {
        super::rules::RULES
    }

    fn marker_opener(&self) -> &'static str {
        "//~"
    }

    fn line_comment_opener(&self) -> &'static str {
        "//"
    }

    fn comments(&self, source: &str) -> Vec<Range<usize>> {
        super::scan::line_comments(source).collect()
    }

    fn directive_texts<'c>(&self, comment: &'c str) -> Vec<&'c str> {
        let after = comment.strip_prefix("//").unwrap_or(comment);
        if after.starts_with('/') || after.starts_with('!') {
            return Vec::new(); // a doc comment
        }
        vec![after.trim_start()]
    }

    fn prepare(&self, paths: &[&Path], probe: &Probe<'_>) -> RunState {
        let mut crates: std::collections::HashMap<PathBuf, Vec<&Path>> = std::collections::HashMap::new();
        for &p in paths {
            crates.entry(crate_root(p)).or_default().push(p);
        }
        let rooted = crates
            .into_par_iter()
            .filter(|(_, paths)| paths.iter().any(|p| probe(p, &|b| super::has_graph_roots(b)) == Some(true)))
            .map(|(root, _)| root)
            .collect();
        // A test, example or bench crate is linked against its package's library ([`super::package`]) when the
        // library is rooted itself: rooting every library whose tests are would visit whole the sync
        // libraries whose tests merely spawn a thread (measured: too slow for what it finds).
        Box::new(Rooted(rooted))
    }

    fn analyze(&self, path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
        super::analyze(path, source, settings)
    }

    fn analyze_file(
        &self,
        path: &Path,
        source: &str,
        settings: &Settings,
        state: &RunState,
    ) -> (Vec<Diagnostic>, Option<FileFacts>) {
        let graph = state.downcast_ref::<Rooted>().is_some_and(|r| r.0.contains(&crate_root(path)));
        let (d, f) = super::analyze_with_facts(path, source, settings, graph);
        (d, f.map(|f| Box::new(f) as FileFacts))
    }

    fn may_report(&self, facts: &FileFacts) -> bool {
        facts.downcast_ref::<callgraph::FileFacts>().is_some_and(callgraph::FileFacts::may_report)
    }

    fn cache_context(&self, path: &Path, state: &RunState) -> String {
        // Whether the file's crate needs the call graph, and the package library it is linked against.
        let graph = state.downcast_ref::<Rooted>().is_some_and(|r| r.0.contains(&crate_root(path)));
        match super::package::lib_of(path).filter(|_| graph) {
            Some(lib) => format!("{graph} {}", lib.name),
            None => graph.to_string(),
        }
    }

    fn encode_facts(&self, facts: &FileFacts) -> Option<Vec<u8>> {
        serde_json::to_vec(facts.downcast_ref::<callgraph::FileFacts>()?).ok()
    }

    fn decode_facts(&self, bytes: &[u8]) -> Option<FileFacts> {
        serde_json::from_slice::<callgraph::FileFacts>(bytes).ok().map(|f| Box::new(f) as FileFacts)
    }

    fn link(&self, facts: Vec<FileFacts>) -> Vec<Diagnostic> {
        let facts = facts.into_iter().filter_map(|f| f.downcast::<callgraph::FileFacts>().ok().map(|f| *f)).collect();
        super::link::link_all(facts, super::rules::IMPLS, &Settings::default())
    }

    fn items(&self, source: &str) -> Items {
        crate::enclosing::rust_items(source)
    }

    fn path_is_test_code(&self, dirs: &[&str], name: &str) -> bool {
        dirs.iter().any(|d| matches!(*d, "tests" | "benches" | "examples")) || name == "tests.rs"
    }
}
