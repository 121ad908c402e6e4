//! The crate phase of the Rust analysis: after every file of a run is analysed, the facts of the files of each
//! crate ([`crate_root`]) are joined into one [`CrateGraph`] and every enabled rule's link step
//! ([`RustRule::link`]) runs on it. The engine decides *when* (once per crate, after all of its files, no
//! second parse); each rule decides *what* it reports there and with which message, through [`LinkContext`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::callgraph::{CrateGraph, FileFacts, crate_root};
use super::rules::DynRule;
use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::settings::Settings;

/// What a rule's link step gets besides the [`CrateGraph`]: the settings, and where its findings go.
pub struct LinkContext<'a> {
    settings: &'a Settings,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> LinkContext<'a> {
    fn new(settings: &'a Settings) -> Self {
        LinkContext { settings, diagnostics: Vec::new() }
    }

    /// The run's settings.
    pub fn settings(&self) -> &Settings {
        self.settings
    }

    /// A finding of `rule` at `span` of the file at `path`, with the configured severity and the rule's
    /// Clippy-equivalent note (as [`Checker::diagnostic`](super::checker::Checker::diagnostic) makes them).
    pub fn diagnostic(&self, rule: &'static RuleMeta, path: &Path, span: Span, message: String) -> Diagnostic {
        let mut d = Diagnostic::new(rule, path, span, message);
        d.severity = self.settings.severity_of(rule);
        if let Some(eq) = rule.equivalent {
            d = d.with_note(format!("same as `{eq}`: enable one of the two"), None);
        }
        d
    }

    /// Records a finding.
    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Links one crate: runs the link step of each of `rules` that `settings` enables over the graph of `files`,
/// and returns their findings, one per (file, span, rule). Findings carry the severity `settings` gives; the
/// caller applies the settings and suppressions of the file each is in.
pub fn link_crate(files: &[FileFacts], rules: &[&'static dyn DynRule], settings: &Settings) -> Vec<Diagnostic> {
    if !files.iter().any(FileFacts::has_link_facts) {
        return Vec::new();
    }
    let graph = CrateGraph::new(files);
    let mut cx = LinkContext::new(settings);
    for rule in rules.iter().filter(|r| settings.is_enabled(r.meta())) {
        rule.link(&graph, &mut cx);
    }
    let mut out = cx.diagnostics;
    // A call reaching several functions of one name (`#[cfg]` variants) is reported once: the first kept.
    let mut seen = HashSet::new();
    out.retain(|d| seen.insert((d.path.clone(), d.span, d.rule.code)));
    out
}

/// Groups per-file facts by crate ([`crate_root`]) and links each crate ([`link_crate`]). Deterministic order
/// of findings is the caller's job (the engine sorts).
pub fn link_all(files: Vec<FileFacts>, rules: &[&'static dyn DynRule], settings: &Settings) -> Vec<Diagnostic> {
    let mut crates: HashMap<PathBuf, Vec<FileFacts>> = HashMap::new();
    for f in files {
        crates.entry(crate_root(&f.path)).or_default().push(f);
    }
    let mut out = Vec::new();
    for files in crates.values() {
        out.extend(link_crate(files, rules, settings));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rust::rules::IMPLS;

    fn facts(path: &str, src: &str) -> FileFacts {
        let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), true);
        f.expect("parses")
    }

    const LIB: &str =
        "mod config;\nuse crate::config::load_config;\n\nasync fn handler() {\n    let _ = load_config();\n}\n";
    const CONFIG: &str = "pub fn load_config() -> String {\n    read_settings()\n}\n\nfn read_settings() -> String {\n    std::fs::read_to_string(\"app.toml\").unwrap()\n}\n";

    #[test]
    fn files_of_one_crate_are_joined_and_those_of_different_crates_are_not() {
        let joined = link_all(
            vec![facts("proj/src/lib.rs", LIB), facts("proj/src/config.rs", CONFIG)],
            IMPLS,
            &Settings::default(),
        );
        assert_eq!(joined.iter().map(|d| d.rule.code).collect::<Vec<_>>(), ["CA102"], "{joined:#?}");
        let apart =
            link_all(vec![facts("a/src/lib.rs", LIB), facts("b/src/config.rs", CONFIG)], IMPLS, &Settings::default());
        assert!(apart.is_empty(), "{apart:#?}");
    }

    #[test]
    fn only_enabled_rules_link_and_severity_follows_the_settings() {
        let files = vec![facts("proj/src/lib.rs", LIB), facts("proj/src/config.rs", CONFIG)];
        let fs = &crate::rust::rules::blocking_fs::META;
        assert!(link_crate(&files, IMPLS, &Settings::only(&[&crate::rust::rules::blocking_sleep::META])).is_empty());
        let mut settings = Settings::only(&[fs]);
        settings.severity.insert(fs.code, crate::diagnostic::Severity::Error);
        let out = link_crate(&files, IMPLS, &settings);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].severity, crate::diagnostic::Severity::Error);
        // A rule list without the rule: it does not link.
        assert!(link_crate(&files, &[IMPLS[0]], &Settings::default()).is_empty());
        assert_eq!(IMPLS[0].meta(), &crate::rust::rules::blocking_sleep::META);
    }

    #[test]
    fn a_call_reaching_cfg_variants_is_reported_once() {
        let src = "#[cfg(unix)]\nfn load() { std::thread::sleep(d); }\n#[cfg(not(unix))]\nfn load() { std::thread::sleep(d); }\n\
                   async fn f() { load(); }\n";
        let files = [facts("p/src/lib.rs", src)];
        let both = CrateGraph::new(&files).resolve(&crate::rust::callgraph::Callee::Path("crate::load".into()));
        assert_eq!(both.len(), 2, "the call reaches both variants");
        let out = link_crate(&files, IMPLS, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].span.start.line, 5);
    }
}
