//! The crate phase of the Rust analysis: after every file of a run is analysed, the facts of the files of each
//! crate ([`crate_root`]) are joined into one [`CrateGraph`] and every enabled rule's link step
//! ([`RustRule::link`]) runs on it. The engine decides *when* (once per crate, after all of its files, no
//! second parse); each rule decides *what* it reports there and with which message, through [`LinkContext`].

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::callgraph::{Callee, CrateGraph, FileFacts, TypeFacts, crate_root};
use super::package;
use super::rules::DynRule;
use super::semantic::Ty;
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

/// Groups per-file facts by crate ([`crate_root`]) and links each crate ([`link_crate`]). A test, example or
/// bench crate that calls into its package's library ([`package::lib_of`]) is linked with the library's
/// functions and type declarations besides its own ([`lib_facts`]). Deterministic order of findings is the
/// caller's job (the engine sorts).
pub fn link_all(files: Vec<FileFacts>, rules: &[&'static dyn DynRule], settings: &Settings) -> Vec<Diagnostic> {
    let mut crates: HashMap<PathBuf, Vec<FileFacts>> = HashMap::new();
    for f in files {
        crates.entry(crate_root(&f.path)).or_default().push(f);
    }
    // The library each crate calls into, with its facts renamed for that crate (made once per library).
    let mut libs: HashMap<PathBuf, Lib> = HashMap::new();
    let mut uses: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (root, files) in &crates {
        let Some(lib) = files.first().and_then(|f| package::lib_of(&f.path)) else { continue };
        if !files.iter().any(|f| names_lib(f, &lib.prefix)) {
            continue;
        }
        if !libs.contains_key(&lib.root) {
            // A library not in this run, or not rooted (its files hold no facts): none of its paths resolves.
            let lib_files = crates.get(&lib.root).map_or(&[][..], Vec::as_slice);
            libs.insert(lib.root.clone(), Lib::new(lib_files, &lib.name));
        }
        uses.push((root.clone(), lib.root.clone()));
    }
    for (root, lib_root) in uses {
        let (Some(files), Some(lib)) = (crates.get_mut(&root), libs.get(&lib_root)) else { continue };
        for f in files.iter_mut() {
            lib.canonicalize(f);
        }
        files.extend(lib.files.iter().cloned());
    }
    let mut out = Vec::new();
    for files in crates.values() {
        out.extend(link_crate(files, rules, settings));
    }
    out
}

/// Whether a file's link facts name an item of the library whose paths start with `prefix`.
fn names_lib(f: &FileFacts, prefix: &str) -> bool {
    let callee = |c: &Callee| match c {
        Callee::Path(p) => p.starts_with(prefix),
        Callee::Method { ty, .. } => ty.as_deref().is_some_and(|t| t.starts_with(prefix)),
    };
    f.sites.iter().any(|s| callee(&s.callee))
        || f.fns.iter().any(|func| func.calls.iter().any(|c| callee(&c.callee)))
        || f.deferred.iter().any(|d| d.callees.iter().any(callee))
        || f.typed_calls.iter().any(|c| c.root.name().is_some_and(|n| n.starts_with(prefix)))
}

/// A library's facts as another crate of its package sees them: its functions (what they call, whether they
/// block or are heavy) and type declarations, with `crate::` paths renamed to the library's crate name
/// (`crate::arbiter::Arbiter::join` → `actix_rt::arbiter::Arbiter::join`). Nothing a link step reports from
/// (call sites, deferred findings, lock facts) is kept: the library's own findings come from its own crate.
struct Lib {
    /// The library's crate name.
    name: String,
    files: Vec<FileFacts>,
    /// The last segment of each type with methods or fields (`Arbiter`) → its path, `None` when several types
    /// share it: what a re-export (`pub use arbiter::Arbiter;`, then `actix_rt::Arbiter`) names.
    types: HashMap<String, Option<String>>,
    /// The same for free functions (`actix_rt::spawn` → `actix_rt::system::spawn`).
    fns: HashMap<String, Option<String>>,
    /// Every function's and type's path.
    known: HashSet<String>,
}

impl Lib {
    fn new(lib_files: &[FileFacts], name: &str) -> Self {
        let rename = |s: &str| match s.strip_prefix("crate") {
            Some(rest) if rest.is_empty() || rest.starts_with("::") => format!("{name}{rest}"),
            _ => s.to_string(),
        };
        let rename_callee = |c: &Callee| match c {
            Callee::Path(p) => Callee::Path(rename(p)),
            Callee::Method { name, ty } => Callee::Method { name: name.clone(), ty: ty.as_deref().map(rename) },
        };
        let rename_ty = |t: &Ty| rename_ty(t, &rename);
        let mut lib = Lib {
            name: name.to_string(),
            files: Vec::new(),
            types: HashMap::new(),
            fns: HashMap::new(),
            known: HashSet::new(),
        };
        let add = |map: &mut HashMap<String, Option<String>>, path: &str| {
            let last = path.rsplit("::").next().unwrap_or(path).to_string();
            match map.get(&last) {
                Some(Some(p)) if p != path => {
                    map.insert(last, None);
                }
                Some(_) => {}
                None => {
                    map.insert(last, Some(path.to_string()));
                }
            }
        };
        for f in lib_files {
            let mut fns = f.fns.clone();
            for func in &mut fns {
                func.key = rename(&func.key);
                for c in &mut func.calls {
                    c.callee = rename_callee(&c.callee);
                }
                if func.is_method {
                    if let Some((owner, _)) = func.key.rsplit_once("::") {
                        add(&mut lib.types, owner);
                        lib.known.insert(owner.to_string());
                    }
                } else {
                    add(&mut lib.fns, &func.key);
                }
                lib.known.insert(func.key.clone());
            }
            let t = &f.types;
            let types = TypeFacts {
                fields: t.fields.iter().map(|(s, n, ty)| (rename(s), n.clone(), rename_ty(ty))).collect(),
                returns: t.returns.iter().map(|(k, ty)| (rename(k), rename_ty(ty))).collect(),
                aliases: t.aliases.iter().map(|(k, ty)| (rename(k), rename_ty(ty))).collect(),
            };
            for (s, _, _) in &types.fields {
                add(&mut lib.types, s);
                lib.known.insert(s.clone());
            }
            lib.files.push(FileFacts { path: f.path.clone(), fns, types, ..FileFacts::default() });
        }
        lib
    }

    /// The library path a path of another crate names: itself when the library has it, else through a
    /// re-export (the type's, or the free function's, last segment, when one item of the library has it).
    fn canonical(&self, path: &str, is_type: bool) -> Canon {
        if self.known.contains(path) {
            return Canon::Keep;
        }
        let unique = |map: &HashMap<String, Option<String>>, last: &str| map.get(last).cloned().flatten();
        if is_type {
            let last = path.rsplit("::").next().unwrap_or(path);
            return unique(&self.types, last).map_or(Canon::Keep, Canon::Rename);
        }
        let Some((owner, name)) = path.rsplit_once("::") else { return Canon::Drop };
        let owner_last = owner.rsplit("::").next().unwrap_or(owner);
        let found = if owner_last.starts_with(|c: char| c.is_ascii_uppercase()) {
            // `actix_rt::Arbiter::new`: an associated function of a re-exported type.
            let owner =
                if self.known.contains(owner) { Some(owner.to_string()) } else { unique(&self.types, owner_last) };
            owner.map(|o| format!("{o}::{name}")).filter(|k| self.known.contains(k))
        } else {
            unique(&self.fns, name)
        };
        // A path of the library that names none of its functions (a re-export of another crate's,
        // `futures::future::ready`) must not resolve by its last segment to one of this crate's own.
        found.map_or(Canon::Drop, Canon::Rename)
    }

    /// Renames the paths a crate's facts name into the library to the library's own (see [`Lib::canonical`]),
    /// and forgets calls of library paths that are none of its functions.
    fn canonicalize(&self, f: &mut FileFacts) {
        let prefix = format!("{}::", self.name);
        let keep = |c: &mut Callee| match c {
            Callee::Path(p) if p.starts_with(&prefix) => match self.canonical(p, false) {
                Canon::Keep => true,
                Canon::Rename(q) => {
                    *p = q;
                    true
                }
                Canon::Drop => false,
            },
            Callee::Method { ty: Some(t), .. } if t.starts_with(&prefix) => {
                if let Canon::Rename(q) = self.canonical(t, true) {
                    *t = q;
                }
                true
            }
            _ => true,
        };
        f.sites.retain_mut(|s| keep(&mut s.callee));
        f.fns.iter_mut().for_each(|func| func.calls.retain_mut(|c| keep(&mut c.callee)));
        f.deferred.iter_mut().for_each(|d| d.callees.retain_mut(|c| keep(c)));
        f.lock_calls.retain_mut(|c| keep(&mut c.callee));
        for c in &mut f.typed_calls {
            if let Ty::Named(n, _) = &mut c.root
                && n.starts_with(&prefix)
                && let Canon::Rename(q) = self.canonical(n, true)
            {
                *n = q;
            }
        }
    }
}

/// What [`Lib::canonical`] makes of a path.
enum Canon {
    /// The library's own path (or one nothing better is known for).
    Keep,
    /// The library's path for it.
    Rename(String),
    /// No function of the library.
    Drop,
}

/// `t` with every type name renamed by `rename`.
fn rename_ty(t: &Ty, rename: &dyn Fn(&str) -> String) -> Ty {
    match t {
        Ty::Unknown => Ty::Unknown,
        Ty::Named(n, args) => Ty::Named(rename(n), args.iter().map(|a| rename_ty(a, rename)).collect()),
        Ty::Tuple(parts) => Ty::Tuple(parts.iter().map(|a| rename_ty(a, rename)).collect()),
    }
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

    /// Issue 12: a test crate is linked against its package's library: a library path reaches the library's
    /// function (through a re-export), and a library path that is none of its functions (a re-export of another
    /// crate's, futures' `future::ready`) does not reach a same-named function of the test crate.
    #[test]
    fn test_crates_reach_the_librarys_functions_and_only_them() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let pkg = t.path().join("pkg");
        std::fs::create_dir_all(pkg.join("src")).expect("mkdir");
        std::fs::write(pkg.join("Cargo.toml"), "[package]\nname = \"my-lib\"\n").expect("write");
        let lib = "mod io;\npub use io::load;\n";
        std::fs::write(pkg.join("src/lib.rs"), lib).expect("write");
        let path = |p: &str| pkg.join(p).display().to_string();
        let test = "async fn t() { my_lib::load(); my_lib::future::ready(); }\n";
        let other = "fn ready() { std::thread::sleep(d); }\n";
        let files = vec![
            facts(&path("src/lib.rs"), lib),
            facts(&path("src/io.rs"), "pub fn load() { std::thread::sleep(d); }\n"),
            facts(&path("tests/a.rs"), test),
            facts(&path("tests/b.rs"), other),
        ];
        let out = link_all(files, IMPLS, &Settings::default());
        let found: Vec<_> =
            out.iter().map(|d| (d.path.display().to_string(), d.span.start.line, d.span.start.column)).collect();
        assert_eq!(found, [(path("tests/a.rs"), 1, 16)], "{out:#?}");
        // The library's facts absent (not in the run, or not rooted): its paths still reach nothing of the tests.
        let tests_only = vec![facts(&path("tests/a.rs"), test), facts(&path("tests/b.rs"), other)];
        let out = link_all(tests_only, IMPLS, &Settings::default());
        assert!(out.is_empty(), "{out:#?}");
    }

    #[test]
    fn a_call_reaching_cfg_variants_is_reported_once() {
        let src = "#[cfg(unix)]\nfn load() { std::thread::sleep(d); }\n#[cfg(not(unix))]\nfn load() { std::thread::sleep(d); }\n\
                   async fn f() { load(); }\n";
        let files = [facts("p/src/lib.rs", src)];
        let both = CrateGraph::new(&files).resolve(&Callee::Path("crate::load".into()));
        assert_eq!(both.len(), 2, "the call reaches both variants");
        let out = link_crate(&files, IMPLS, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].span.start.line, 5);
    }
}
