//! The link phase of the Python analysis: work handed to threads or processes (and calls from `async def`)
//! followed across the files of a project.
//!
//! Each file's analysis returns small [`FileFacts`] (strings and spans): the facts every linking rule reads —
//! its module name and imports, its top-level functions with their own summary evidence and their calls to
//! imported names, and the sites whose target lives in another module — and each rule's own facts
//! ([`PythonRule::facts`](super::rules::PythonRule::facts), in [`FileFacts::rules`]). After every file is
//! analysed, [`link`] builds a [`Linker`] — the module index ([`super::project`]) and the summaries joined
//! through any number of modules (cycles terminate: each function is visited once) — and runs each rule's
//! [`link`](super::rules::PythonRule::link) step, which makes that rule's findings. The engine decides when
//! (after all Python files); the rule decides what.
//!
//! Findings are created with each rule's default severity (CA501 lowers its own on a free-threaded build); the
//! engine applies the settings and the suppressions of the file each finding is in. No source is parsed again.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::rc::Rc;

use super::Checker;
use super::ast::{ExprKind, is_generator};
use super::project::{ModuleName, ProjectIndex};
use super::rules::{self, RuleFacts};
use super::semantic::{Exec, FuncId};
use super::summary::{Evidence, Kind, Summarizer, is_listed_api};
use crate::diagnostic::{Diagnostic, Span};

/// A piece of summary evidence, as facts.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct EvidenceFact {
    /// What it is (`\`for\` loop doing arithmetic`, `time.sleep`).
    pub what: String,
    /// Where it is, in the function's file.
    pub span: Span,
    /// The function it is in (the function itself or one it calls in the same module).
    pub in_fn: String,
    /// The work releases the GIL (hashing, compression).
    pub releases_gil: bool,
    /// Evidence of much work, not only of its kind.
    pub strong: bool,
}

/// A call to an imported name, for the link phase to resolve.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallFact {
    /// Absolute dotted name (`pkg.work.crunch`).
    pub qual: String,
    /// Made only under an `if` or in an `except` block.
    pub conditional: bool,
}

/// A function's facts: its own summary (through the functions it calls in its module) and its calls into
/// other modules.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct FnFacts {
    /// Its name. (Functions whose summary is unknown whatever the other modules hold — they call code no
    /// module can hold, or do both CPU work and I/O — have no facts: a name that resolves to nothing is unknown
    /// too.)
    pub name: String,
    /// The span of its name.
    pub span: Span,
    /// A module-level function (importable by name).
    pub top_level: bool,
    /// `async def`.
    pub is_async: bool,
    /// Its body yields: calling it only makes a generator.
    pub is_generator: bool,
    /// CPU evidence.
    pub cpu: Vec<EvidenceFact>,
    /// Unconditional I/O evidence.
    pub io: Vec<EvidenceFact>,
    /// Printing, logging, conditional I/O.
    pub weak_io: bool,
    /// Its calls to imported names.
    pub calls: Vec<CallFact>,
}

/// What a site runs.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub enum Target {
    /// A function of this file (index into [`FileFacts::funcs`]) whose summary depends on other modules.
    Local(usize),
    /// An imported function, by absolute name.
    Imported(String),
}

/// Work handed to threads or processes whose target (or what it calls) is in another module.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct SiteFact {
    /// Where to report.
    pub span: Span,
    /// Threads or processes.
    pub exec: Exec,
    /// The API (`threading.Thread`, `ProcessPoolExecutor.map`).
    pub api: String,
    /// The target.
    pub target: Target,
    /// CA502 judges it: a pool, or processes started in a loop.
    pub judged_for_io: bool,
    /// The pool it is submitted to (an index into the file's pools, [`super::semantic::Model::pools`]).
    pub pool: Option<usize>,
    /// The target runs on several threads at once whatever other sites do: it is submitted to a pool or
    /// started in a loop (as CA505 judges targets of its own module).
    pub several: bool,
}

/// Everything the link phase needs from one Python file.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct FileFacts {
    /// The file.
    pub path: PathBuf,
    /// Its module name.
    pub module: ModuleName,
    /// Its module-level functions, then local targets with calls into other modules.
    pub funcs: Vec<FnFacts>,
    /// Sites whose target depends on other modules.
    pub sites: Vec<SiteFact>,
    /// Every import of the file, local name → absolute name (for re-exports: `from .work import crunch` in
    /// `pkg/__init__.py` makes `pkg.crunch` name `pkg.work.crunch`).
    pub imports: Vec<(String, String)>,
    /// The file's `python.free-threaded` setting (CA501's advice).
    pub free_threaded: bool,
    /// Each rule's own facts (the default for rules disabled in this file).
    pub rules: RuleFacts,
}

impl FileFacts {
    /// Whether this file holds sites or calls the link phase starts from.
    pub fn has_sites(&self) -> bool {
        !self.sites.is_empty() || self.rules.starts_link()
    }

    /// Whether the link phase may report anything in this file: at its sites, or where a rule's facts say
    /// (CA505 reports at the races of functions that another file runs on threads).
    pub fn may_report(&self) -> bool {
        self.has_sites() || self.rules.may_report()
    }
}

/// What a rule's facts step sees: the file's checker (its model, per-file summaries and settings) and the same
/// model summarised in project mode (calls to imported names are kept, not unknown).
pub struct FactsCx<'c, 'x, 'p, 'm, 'a> {
    /// The per-file checker, after the per-file rules ran.
    pub cx: &'c Checker<'x, 'm, 'a>,
    /// Project-mode summaries.
    pub project: &'c Summarizer<'p, 'm, 'a>,
    /// The file's module name.
    pub module: &'c ModuleName,
}

/// At most this many pieces of evidence of each kind are kept per function.
const MAX_EVIDENCE: usize = 8;

/// Collects the facts of one analysed module. `cx` holds the per-file (single-module) summaries, whose
/// findings the per-file rules already made; `project` summarises the same model in project mode.
pub(super) fn collect(cx: &Checker<'_, '_, '_>, project: &Summarizer<'_, '_, '_>, module: ModuleName) -> FileFacts {
    let model = cx.model;
    let mut b = Builder { cx, project, funcs: Vec::new(), index: HashMap::default() };
    for (id, f) in model.funcs.iter().enumerate() {
        if f.parent.is_none() && f.class.is_none() {
            b.add(id, true);
        }
    }
    // Stored functions are few: most call code no module of the project holds.
    b.funcs.shrink_to_fit();
    let mut sites = Vec::new();
    for spawn in &model.spawns {
        let target = match spawn.target_fn {
            Some(f) => {
                // The per-file rules already decided on targets whose summary is clear in their module.
                if cx.summaries.summary(f).kind() != Kind::Unknown {
                    continue;
                }
                let s = project.summary(f);
                if s.unknown.is_some() || s.external.is_empty() {
                    continue;
                }
                match b.add(f, false) {
                    Some(i) => Target::Local(i),
                    None => continue,
                }
            }
            None => {
                let Some(mut t) = spawn.target else { continue };
                if let ExprKind::Call(c) = &t.kind
                    && model.qualify(&c.func, spawn.scope).as_deref() == Some("functools.partial")
                    && let Some(inner) = c.args.first()
                {
                    t = inner;
                }
                if model.qualify(t, spawn.scope).is_some_and(|q| is_listed_api(&q)) {
                    continue;
                }
                match project.external_name(t) {
                    Some(q) => Target::Imported(q),
                    None => continue,
                }
            }
        };
        // As in CA502's per-file check: pools and processes started in a loop, outside test functions.
        let judged_for_io = (spawn.pool.is_some() || spawn.site.is_some_and(|c| model.calls[c].loop_range.is_some()))
            && !model.in_test_function(spawn.scope);
        let several = spawn.pool.is_some() || spawn.site.is_some_and(|c| model.calls[c].loop_range.is_some());
        sites.push(SiteFact {
            span: cx.span(spawn.range),
            exec: spawn.exec,
            api: spawn.api.clone(),
            target,
            judged_for_io,
            pool: spawn.pool,
            several,
        });
    }
    let mut imports: Vec<(String, String)> = model.imports.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    for (k, (level, rest)) in &model.rel_imports {
        if let Some(q) = module.resolve_relative(*level, rest) {
            imports.push(((*k).to_string(), q));
        }
    }
    imports.sort();
    let rules = rules::facts(&FactsCx { cx, project, module: &module });
    FileFacts {
        path: cx.path.to_path_buf(),
        module,
        funcs: b.funcs,
        sites,
        imports,
        free_threaded: cx.settings.python.free_threaded,
        rules,
    }
}

struct Builder<'c, 'x, 'm, 'a, 'p> {
    cx: &'c Checker<'x, 'm, 'a>,
    project: &'c Summarizer<'p, 'm, 'a>,
    funcs: Vec<FnFacts>,
    index: HashMap<FuncId, usize>,
}

impl Builder<'_, '_, '_, '_, '_> {
    /// Stores the facts of `f` and returns their index; `None` (nothing stored) when its summary is unknown
    /// whatever the other modules hold: it calls code no module can hold, or does both CPU work and I/O. The
    /// link phase treats a name it cannot resolve the same way.
    fn add(&mut self, f: FuncId, top_level: bool) -> Option<usize> {
        if let Some(&i) = self.index.get(&f) {
            return Some(i);
        }
        let cx = self.cx;
        let def = cx.model.funcs[f].def;
        let s = self.project.summary(f);
        if s.unknown.is_some() || (!s.cpu.is_empty() && !s.io.is_empty()) {
            return None;
        }
        let ev = |e: &Evidence| EvidenceFact {
            what: e.what.clone(),
            span: cx.span(e.range),
            in_fn: cx.func_name(e.func).to_string(),
            releases_gil: e.releases_gil,
            strong: e.strong,
        };
        // Keep the first of each kind the rules quote, then the rest up to the cap.
        let mut cpu: Vec<EvidenceFact> = Vec::new();
        let firsts = [s.cpu.iter().find(|e| !e.releases_gil), s.cpu.iter().find(|e| e.strong)];
        for e in firsts.into_iter().flatten().chain(s.cpu.iter()) {
            let e = ev(e);
            if cpu.len() < MAX_EVIDENCE && !cpu.contains(&e) {
                cpu.push(e);
            }
        }
        let io: Vec<EvidenceFact> = s.io.iter().take(MAX_EVIDENCE).map(ev).collect();
        let mut seen = HashSet::default();
        let calls: Vec<CallFact> = s
            .external
            .iter()
            .map(|x| CallFact { qual: x.qual.clone(), conditional: x.conditional })
            .filter(|c| seen.insert(c.clone()))
            .collect();
        self.funcs.push(FnFacts {
            name: def.name.to_string(),
            span: cx.span(def.name_range),
            top_level,
            is_async: def.is_async,
            is_generator: is_generator(&def.body),
            cpu,
            io,
            weak_io: s.weak_io,
            calls,
        });
        self.index.insert(f, self.funcs.len() - 1);
        Some(self.funcs.len() - 1)
    }
}

/// A function of the project: (file index, function index).
pub type Node = (usize, usize);

/// A target's summary joined across modules: each piece of evidence with the index of its file.
pub struct Joined {
    /// CPU evidence.
    pub cpu: Vec<(usize, EvidenceFact)>,
    /// Unconditional I/O evidence.
    pub io: Vec<(usize, EvidenceFact)>,
}

impl Joined {
    /// The classification, as [`super::summary::Summary::kind`].
    pub fn kind(&self) -> Kind {
        match (self.cpu.is_empty(), self.io.is_empty()) {
            (false, true) => Kind::CpuHeavy,
            (true, false) => Kind::IoBound,
            _ => Kind::Unknown,
        }
    }
}

/// At most this many functions are visited to join one summary; beyond, the summary is unknown.
const MAX_VISITED: usize = 512;

/// A site whose target the link phase resolved and summarised.
pub struct LinkedSite<'f> {
    /// The site's file (index into [`Linker::files`]).
    pub file: usize,
    /// The site.
    pub site: &'f SiteFact,
    /// Its target.
    pub target: Node,
    /// The target's name.
    pub name: &'f str,
    /// The target's joined summary.
    pub joined: Rc<Joined>,
}

/// What a rule's link step sees: every file's facts, the module index, and summaries joined across modules.
pub struct Linker<'f> {
    /// The files, in walk order.
    pub files: &'f [FileFacts],
    index: ProjectIndex<'f>,
    /// Per file, its module-level functions with facts by name (index into [`FileFacts::funcs`]).
    top: Vec<HashMap<&'f str, usize>>,
    joined: RefCell<HashMap<Node, Option<Rc<Joined>>>>,
}

impl<'f> Linker<'f> {
    /// Indexes `files`.
    pub fn new(files: &'f [FileFacts]) -> Self {
        let index = ProjectIndex::new(files.iter().map(|f| (f.path.as_path(), &f.module, f.imports.as_slice())));
        let top = files
            .iter()
            .map(|f| {
                let mut m = HashMap::default();
                for (i, func) in f.funcs.iter().enumerate().filter(|(_, func)| func.top_level) {
                    // A later `def` of the same name replaces an earlier one, as in Python.
                    m.insert(func.name.as_str(), i);
                }
                m
            })
            .collect();
        Linker { files, index, top, joined: RefCell::new(HashMap::default()) }
    }

    /// The module index (for rules that resolve names to their own facts).
    pub fn index(&self) -> &ProjectIndex<'f> {
        &self.index
    }

    /// The module-level function with facts named `name` in file `file`.
    pub fn top_level(&self, file: usize, name: &str) -> Option<usize> {
        self.top[file].get(name).copied()
    }

    /// The function an absolute dotted name denotes, seen from file `from`.
    pub fn resolve(&self, qual: &str, from: usize) -> Option<Node> {
        self.index.resolve(qual, from, |m, name| match self.top_level(m, name) {
            Some(f) => ControlFlow::Break(Some((m, f))),
            None => ControlFlow::Continue(()),
        })
    }

    /// The function a site runs.
    pub fn target(&self, file: usize, site: &SiteFact) -> Option<Node> {
        match &site.target {
            Target::Local(i) => Some((file, *i)),
            Target::Imported(q) => self.resolve(q, file),
        }
    }

    /// The function facts of a node.
    pub fn func(&self, node: Node) -> &'f FnFacts {
        &self.files[node.0].funcs[node.1]
    }

    /// Every site whose target resolves and whose summary joins, in file and site order.
    pub fn sites(&self) -> impl Iterator<Item = LinkedSite<'f>> + '_ {
        self.files.iter().enumerate().flat_map(move |(fi, file)| {
            file.sites.iter().filter_map(move |site| {
                let target = self.target(fi, site)?;
                let joined = self.joined(target)?;
                Some(LinkedSite { file: fi, site, target, name: self.func(target).name.as_str(), joined })
            })
        })
    }

    /// The summary of `start` joined through every module it reaches; `None` when any reached function calls
    /// code the project does not hold.
    pub fn joined(&self, start: Node) -> Option<Rc<Joined>> {
        if let Some(j) = self.joined.borrow().get(&start) {
            return j.clone();
        }
        let j = self.join(start).map(Rc::new);
        self.joined.borrow_mut().insert(start, j.clone());
        j
    }

    fn join(&self, start: Node) -> Option<Joined> {
        let mut out = Joined { cpu: Vec::new(), io: Vec::new() };
        let mut seen: HashSet<(Node, bool)> = HashSet::default();
        let mut stack = vec![(start, false)];
        while let Some((node, conditional)) = stack.pop() {
            if !seen.insert((node, conditional)) {
                continue;
            }
            if seen.len() > MAX_VISITED {
                return None;
            }
            let f = self.func(node);
            out.cpu.extend(f.cpu.iter().map(|e| (node.0, e.clone())));
            if !conditional {
                out.io.extend(f.io.iter().map(|e| (node.0, e.clone())));
            }
            for c in &f.calls {
                let next = self.resolve(&c.qual, node.0)?;
                stack.push((next, conditional || c.conditional));
            }
        }
        // Deterministic order: evidence by file and position.
        let key = |(file, e): &(usize, EvidenceFact)| (self.files[*file].path.clone(), e.span.start);
        out.cpu.sort_by_key(key);
        out.io.sort_by_key(key);
        out.cpu.dedup();
        out.io.dedup();
        Some(out)
    }

    /// `line 12` in the site's own file, `pkg/work.py:12` elsewhere; `, in `helper`` when the evidence is not
    /// in the target itself.
    pub fn place(&self, site_file: usize, ev_file: usize, ev: &EvidenceFact, target: &str) -> String {
        let at = if ev_file == site_file {
            format!("line {}", ev.span.start.line)
        } else {
            format!("{}:{}", self.files[ev_file].path.display(), ev.span.start.line)
        };
        if ev.in_fn == target { at } else { format!("{at}, in `{}`", ev.in_fn) }
    }

    /// A note at a piece of evidence (or a definition): with its span in the finding's own file, else with
    /// `path:line` in the text.
    pub fn note(&self, d: Diagnostic, site_file: usize, file: usize, text: String, span: Span) -> Diagnostic {
        if file == site_file {
            d.with_note(text, Some(span))
        } else {
            let at = format!("{}:{}", self.files[file].path.display(), span.start.line);
            d.with_note(format!("{text} at {at}"), None)
        }
    }

    /// A note at the definition of `node`.
    pub fn def_note(&self, d: Diagnostic, site_file: usize, node: Node) -> Diagnostic {
        let f = self.func(node);
        let text = if node.0 == site_file {
            format!("`{}` is defined here", f.name)
        } else {
            format!("`{}` is defined", f.name)
        };
        self.note(d, site_file, node.0, text, f.span)
    }
}

/// What the link phase saw, for the survey: sites by target, how many resolved, and the joined kinds.
#[cfg(test)]
pub(super) fn describe(files: &[FileFacts]) -> String {
    let p = Linker::new(files);
    let (mut local, mut imported, mut resolved, mut cpu, mut io, mut unknown) = (0, 0, 0, 0, 0, 0);
    let mut unresolved: HashMap<&str, usize> = HashMap::default();
    for (fi, file) in files.iter().enumerate() {
        for site in &file.sites {
            let node = p.target(fi, site);
            match &site.target {
                Target::Local(_) => local += 1,
                Target::Imported(q) => {
                    imported += 1;
                    if node.is_none() {
                        *unresolved.entry(q.as_str()).or_default() += 1;
                    }
                }
            }
            let Some(node) = node else { continue };
            resolved += 1;
            match p.joined(node).map(|j| j.kind()) {
                Some(Kind::CpuHeavy) => cpu += 1,
                Some(Kind::IoBound) => io += 1,
                _ => unknown += 1,
            }
        }
    }
    let funcs: usize = files.iter().map(|f| f.funcs.len()).sum();
    let calls: usize = files.iter().map(|f| f.rules.cpu_loop_in_async_def.calls.len()).sum();
    let mut top: Vec<_> = unresolved.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    top.truncate(10);
    format!(
        "project phase: {} files, {funcs} functions; sites {} (local target {local}, imported {imported}), \
         resolved {resolved}: CPU-heavy {cpu}, I/O-bound {io}, unknown {unknown}; async calls {calls}; \
         most frequent unresolved targets: {top:?}",
        files.len(),
        local + imported
    )
}

/// The link phase: joins the facts of all Python files of a run and returns the findings each rule's link step
/// makes. Findings are not yet filtered by settings; their order is the caller's job.
pub fn link(files: &[FileFacts]) -> Vec<Diagnostic> {
    if !files.iter().any(FileFacts::has_sites) {
        return Vec::new();
    }
    let p = Linker::new(files);
    let mut out = Vec::new();
    rules::link(&p, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn name(path: &str, packages: &[&str]) -> ModuleName {
        ModuleName::for_path(Path::new(path), &|d| packages.iter().any(|p| Path::new(p) == d))
    }

    use crate::settings::Settings;

    /// Analyses `(path, source)` pairs as one project whose package directories are `packages`.
    fn run(files: &[(&str, &str)], packages: &[&str], settings: &Settings) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let mut per_file = Vec::new();
        let mut facts = Vec::new();
        for (path, src) in files {
            let module = name(path, packages);
            let (d, f) = crate::python::analyze_with_facts(Path::new(path), src, settings, Some(module));
            assert_eq!(d, crate::python::analyze(Path::new(path), src, settings), "facts change no finding");
            per_file.extend(d);
            facts.extend(f);
        }
        (per_file, link(&facts))
    }

    const WORK: &str = "def crunch(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n";
    const MAIN: &str = "import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()\n";

    #[test]
    fn imported_targets_are_followed_and_single_file_analysis_is_unchanged() {
        let files = [("r/pkg/work.py", WORK), ("r/pkg/main.py", MAIN)];
        let (per_file, linked) = run(&files, &["r/pkg"], &Settings::default());
        assert!(per_file.is_empty(), "{per_file:?}");
        assert_eq!(linked.len(), 1, "{linked:?}");
        let d = &linked[0];
        assert_eq!((d.rule.code, d.path.as_path(), d.span.start.line), ("CA501", Path::new("r/pkg/main.py"), 3));
        assert!(d.message.contains("at r/pkg/work.py:3"), "{}", d.message);
        assert!(d.notes.iter().any(|n| n.message == "`crunch` is defined at r/pkg/work.py:1" && n.span.is_none()));
        // Free-threaded advice comes from the settings of the file the finding is in.
        let mut ft = Settings::default();
        ft.python.free_threaded = true;
        let (_, linked) = run(&files, &["r/pkg"], &ft);
        assert_eq!(linked[0].severity, crate::diagnostic::Severity::Info);
        assert!(linked[0].message.contains("free-threaded"), "{}", linked[0].message);
    }

    #[test]
    fn namespace_packages_resolve_by_path_and_ambiguity_stays_silent() {
        // No `__init__.py` anywhere: `pkg.work` is matched by the end of the path.
        let (_, linked) = run(&[("r/pkg/work.py", WORK), ("r/main.py", MAIN)], &[], &Settings::default());
        assert_eq!(linked.len(), 1, "{linked:?}");
        // Two files end in `pkg/work.py`: which one is imported is not known.
        let files = [("a/pkg/work.py", WORK), ("b/pkg/work.py", WORK), ("r/main.py", MAIN)];
        let (_, linked) = run(&files, &[], &Settings::default());
        assert!(linked.is_empty(), "{linked:?}");
    }

    #[test]
    fn unknown_callees_and_io_keep_thread_targets_silent() {
        let work = "import thirdparty, time\ndef crunch(n):\n    thirdparty.go()\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n";
        let (_, linked) = run(&[("r/pkg/work.py", work), ("r/pkg/main.py", MAIN)], &["r/pkg"], &Settings::default());
        assert!(linked.is_empty(), "{linked:?}");
        let work = "import time\ndef crunch(n):\n    time.sleep(1)\n";
        let (_, linked) = run(&[("r/pkg/work.py", work), ("r/pkg/main.py", MAIN)], &["r/pkg"], &Settings::default());
        assert!(linked.is_empty(), "{linked:?}");
    }

    /// Counters without any concurrency word: the module is only indexed by the per-file analysis.
    const COUNTERS: &str = "hits = 0\nseen = {}\nlock = make_lock()\n\ndef bump(n):\n    global hits\n    hits += n\n\ndef remember(k, v):\n    if k not in seen:\n        seen[k] = v\n    bump(1)\n\ndef guarded(n):\n    global hits\n    with lock:\n        hits += n\n\ndef acquires(n):\n    global hits\n    lock.acquire()\n    hits += n\n    lock.release()\n";

    fn ca505(linked: &[Diagnostic]) -> Vec<(&Path, usize)> {
        linked.iter().filter(|d| d.rule.code == "CA505").map(|d| (d.path.as_path(), d.span.start.line)).collect()
    }

    #[test]
    fn unlocked_updates_of_functions_run_on_threads_elsewhere_are_reported_where_they_are() {
        assert!(!crate::python::may_concern_rules(COUNTERS), "the counters module is only indexed");
        let main = "import threading\nfrom pkg.counters import bump, remember\nfor _ in range(4):\n    threading.Thread(target=bump, args=(1,)).start()\nfrom concurrent.futures import ThreadPoolExecutor\nwith ThreadPoolExecutor() as ex:\n    ex.submit(remember, 1, 2)\n";
        let files = [("r/pkg/counters.py", COUNTERS), ("r/pkg/main.py", main)];
        let (per_file, linked) = run(&files, &["r/pkg"], &Settings::default());
        assert!(per_file.iter().all(|d| d.rule.code != "CA505"), "{per_file:?}");
        // `hits += n` once, though `bump` is reached from two sites (directly and through `remember`).
        let counters = Path::new("r/pkg/counters.py");
        assert_eq!(ca505(&linked), [(counters, 7), (counters, 10)], "{linked:?}");
        let d = linked.iter().find(|d| d.rule.code == "CA505").expect("finding");
        assert!(d.message.contains("in `bump`, which runs on several threads: the GIL"), "{}", d.message);
        assert!(d.help.as_deref().is_some_and(|h| h.contains("threading.Lock")));
        assert_eq!(d.notes[0].message, "`bump` is defined here");
        assert_eq!(d.notes[0].span.map(|s| s.start.line), Some(5));
        assert_eq!(d.notes[1].message, "`bump` is run on threads (`threading.Thread`) at r/pkg/main.py:4");
        // The definition file's setting decides the advice.
        let mut ft = Settings::default();
        ft.python.free_threaded = true;
        let (_, linked) = run(&files, &["r/pkg"], &ft);
        assert!(linked.iter().filter(|d| d.rule.code == "CA505").all(|d| d.message.contains("free-threaded")));
        // CA505 off in the definition's file: no facts, no finding.
        let mut off = Settings::default();
        off.enabled.remove(crate::registry::Rule::from_code("CA505").expect("CA505 is listed"));
        let (_, linked) = run(&files, &["r/pkg"], &off);
        assert!(ca505(&linked).is_empty(), "{linked:?}");
    }

    #[test]
    fn one_thread_processes_locks_and_local_spawns_stay_silent_or_are_not_repeated() {
        let counters = Path::new("r/pkg/counters.py");
        let silent = [
            // Started once, on one thread.
            "import threading\nfrom pkg.counters import bump\nthreading.Thread(target=bump, args=(1,)).start()\n",
            // A process pool: each process has its own globals.
            "from concurrent.futures import ProcessPoolExecutor\nfrom pkg.counters import bump\nwith ProcessPoolExecutor() as px:\n    px.submit(bump, 1)\n",
            // Under `with lock:`, or with `acquire()`.
            "import threading\nfrom pkg.counters import guarded, acquires\nfor _ in range(4):\n    threading.Thread(target=guarded, args=(1,)).start()\n    threading.Thread(target=acquires, args=(1,)).start()\n",
            // Imported, never handed to threads.
            "import threading\nfrom pkg.counters import bump\nfor _ in range(4):\n    threading.Thread(target=print).start()\n    bump(1)\n",
        ];
        for main in silent {
            let (_, linked) =
                run(&[("r/pkg/counters.py", COUNTERS), ("r/pkg/main.py", main)], &["r/pkg"], &Settings::default());
            assert!(ca505(&linked).is_empty(), "{main}: {linked:?}");
        }
        // A module with a `global` counter and no container, one with neither (nothing to search), one that
        // redefines the function, and one whose function checks-then-sets a container of its enclosing function
        // through a nested helper.
        let loop_main =
            "import threading\nfrom pkg.c import bump\nfor _ in range(4):\n    threading.Thread(target=bump).start()\n";
        for (c, want) in [
            ("hits = 0\ndef bump():\n    global hits\n    hits += 1\n", vec![4]),
            ("hits = 0\ndef bump():\n    x = 1\n    x += 1\n    return x\n", vec![]),
            // The later `def` is the one imported.
            ("hits = 0\ndef bump():\n    global hits\n    hits += 1\ndef bump():\n    pass\n", vec![]),
            (
                "def bump():\n    memo = {}\n    def put(k):\n        if k not in memo:\n            memo[k] = 1\n    put(1)\n",
                vec![4],
            ),
        ] {
            let (_, linked) = run(&[("r/pkg/c.py", c), ("r/pkg/main.py", loop_main)], &["r/pkg"], &Settings::default());
            let lines: Vec<usize> = ca505(&linked).into_iter().map(|(_, l)| l).collect();
            assert_eq!(lines, want, "{c}: {linked:?}");
        }
        // Two sites starting it once each: several threads; one finding, both sites named.
        let a = "import threading\nfrom pkg.counters import bump\nthreading.Thread(target=bump, args=(1,)).start()\n";
        let files = [("r/pkg/a.py", a), ("r/pkg/b.py", a), ("r/pkg/counters.py", COUNTERS)];
        let (_, linked) = run(&files, &["r/pkg"], &Settings::default());
        assert_eq!(ca505(&linked), [(counters, 7)], "{linked:?}");
        assert!(linked[0].notes.iter().any(|n| n.message.ends_with("at r/pkg/a.py:3")), "{:?}", linked[0].notes);
        assert!(linked[0].notes.iter().any(|n| n.message.contains("1 more site")), "{:?}", linked[0].notes);
        // Its own module already runs it on several threads: reported once, by the per-file rule.
        let own = format!(
            "import threading\n{COUNTERS}for _ in range(2):\n    threading.Thread(target=bump, args=(1,)).start()\n"
        );
        let main = "import threading\nfrom pkg.counters import bump\nfor _ in range(4):\n    threading.Thread(target=bump, args=(1,)).start()\n";
        let (per_file, linked) =
            run(&[("r/pkg/counters.py", &own), ("r/pkg/main.py", main)], &["r/pkg"], &Settings::default());
        assert_eq!(ca505(&per_file), [(counters, 8)], "{per_file:?}");
        assert!(ca505(&linked).is_empty(), "{linked:?}");
    }

    #[test]
    fn facts_exist_for_files_without_concurrency_words_but_not_when_python_rules_are_off() {
        let (_, f) = crate::python::analyze_with_facts(
            Path::new("r/pkg/work.py"),
            WORK,
            &Settings::default(),
            Some(name("r/pkg/work.py", &["r/pkg"])),
        );
        let f = f.expect("facts");
        assert_eq!(f.module.name, "pkg.work");
        assert_eq!(f.funcs.len(), 1);
        assert!(!f.funcs[0].cpu.is_empty() && f.funcs[0].calls.is_empty() && !f.has_sites());
        let off = Settings::only(&[]);
        let (_, f) = crate::python::analyze_with_facts(Path::new("w.py"), WORK, &off, Some(ModuleName::default()));
        assert!(f.is_none());
    }
}
