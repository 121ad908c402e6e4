//! The project phase of the Python analysis: work handed to threads or processes (and calls from `async def`)
//! followed across the files of a project. Each file's analysis returns small [`FileFacts`] (strings and
//! spans: its module name, its top-level functions with their own summary evidence and their calls to
//! imported names, and the sites whose target lives in another module); after every file is analysed,
//! [`link`] resolves `from pkg.work import crunch` / `import pkg.work as w; w.crunch` / `from .work import
//! crunch` to that module's function, joins the summaries through any number of modules (cycles terminate:
//! each function is visited once), and reports what the per-file rules would have reported had the target been
//! in the same file:
//! - CA501 `cpu-bound-work-on-threads`, CA502 `io-bound-work-on-processes` (the target's summary),
//! - CA504 `cpu-loop-in-async-def` (an `async def` calling a CPU-heavy function of another module),
//! - CA506 `oversized-or-per-call-pool` (an oversized pool whose CPU-bound target is in another module),
//! - CA505 `unlocked-shared-state-in-threads` (a function of another module run on several threads updates
//!   shared state without a lock: reported in the function's file, with a note at the spawn site).
//!
//! Module names come from the path: the nearest directory upward without `__init__.py` is the import root
//! ([`ModuleName::discover`]); a dotted name that matches no module exactly may still match a file by the end
//! of its path (namespace packages, `src/` layouts). A name that resolves to nothing — a third-party library,
//! a class, a method — makes the target unknown, and unknown stays silent. Findings are created with each
//! rule's default severity (CA501 lowers its own on a free-threaded build); the engine applies the settings
//! and the suppressions of the file each finding is in. No source is parsed again.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::Checker;
use super::ast::{ExprKind, is_generator};
use super::rules::{
    cpu_bound_work_on_threads, cpu_loop_in_async_def, io_bound_work_on_processes, oversized_or_per_call_pool,
    unlocked_shared_state_in_threads,
};
use super::semantic::{Exec, FuncId};
use super::summary::{Evidence, Kind, Summarizer, is_listed_api};
use crate::diagnostic::{Diagnostic, Span};

/// A module's dotted name, found from its path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ModuleName {
    /// `pkg.work` for `root/pkg/work.py`, `pkg` for `root/pkg/__init__.py`.
    pub name: String,
    /// The file is a package's `__init__.py`.
    pub is_package: bool,
    /// The import root: the nearest directory upward that is not a package.
    pub root: PathBuf,
}

impl ModuleName {
    /// The module name of `path`, asking the file system which directories are packages (hold an
    /// `__init__.py`).
    pub fn discover(path: &Path) -> Self {
        thread_local! {
            /// Directories already asked about, per worker thread (the files of a directory are usually
            /// analysed one after another).
            static PACKAGES: RefCell<HashMap<std::ffi::OsString, bool>> = RefCell::new(HashMap::new());
        }
        Self::for_path(path, &|d| {
            PACKAGES.with(|c| {
                if let Some(&p) = c.borrow().get(d.as_os_str()) {
                    return p;
                }
                let p = d.join("__init__.py").is_file();
                let mut c = c.borrow_mut();
                if c.len() > 4096 {
                    c.clear();
                }
                c.insert(d.as_os_str().to_owned(), p);
                p
            })
        })
    }

    /// The module name of `path`, with `is_package_dir` telling which directories are packages.
    pub fn for_path(path: &Path, is_package_dir: &dyn Fn(&Path) -> bool) -> Self {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let is_package = stem == "__init__";
        let mut parts: Vec<String> = if is_package { Vec::new() } else { vec![stem.to_string()] };
        let mut dir = path.parent().unwrap_or(Path::new(""));
        while let Some(name) = dir.file_name().and_then(|n| n.to_str()) {
            if !is_package_dir(dir) || parts.len() > 64 {
                break;
            }
            parts.push(name.to_string());
            dir = dir.parent().unwrap_or(Path::new(""));
        }
        parts.reverse();
        ModuleName { name: parts.join("."), is_package, root: dir.to_path_buf() }
    }

    /// The absolute name of a relative import's target: `level` leading dots, then `rest` (`work.crunch`).
    /// `None` when the dots climb above the top-level package.
    pub fn resolve_relative(&self, level: u32, rest: &str) -> Option<String> {
        let mut package: Vec<&str> = if self.name.is_empty() { Vec::new() } else { self.name.split('.').collect() };
        if !self.is_package {
            package.pop()?;
        }
        for _ in 1..level {
            package.pop()?;
        }
        // `from . import x` in a module outside any package (a namespace package, whose directories have no
        // `__init__.py`) names a sibling; more dots climb above the import root.
        if package.is_empty() && level > 1 {
            return None;
        }
        package.extend(rest.split('.').filter(|s| !s.is_empty()));
        (!package.is_empty()).then(|| package.join("."))
    }
}

/// A piece of summary evidence, as facts.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallFact {
    /// Absolute dotted name (`pkg.work.crunch`).
    pub qual: String,
    /// Made only under an `if` or in an `except` block.
    pub conditional: bool,
}

/// A function's facts: its own summary (through the functions it calls in its module) and its calls into
/// other modules.
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A function of this file (index into [`FileFacts::funcs`]) whose summary depends on other modules.
    Local(usize),
    /// An imported function, by absolute name.
    Imported(String),
}

/// Work handed to threads or processes whose target (or what it calls) is in another module.
#[derive(Debug, Clone, PartialEq)]
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
    /// The oversized pool it is submitted to (index into [`FileFacts::pools`]).
    pub pool: Option<usize>,
    /// The target runs on several threads at once whatever other sites do: it is submitted to a pool or
    /// started in a loop (as CA505 judges targets of its own module).
    pub several: bool,
}

/// A statement CA505 would report if a function reaching it ran on several threads: an unlocked update of
/// shared state, with the finding's text already made with the file's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RaceFact {
    /// The statement (or the read).
    pub span: Span,
    /// The finding's message.
    pub message: String,
    /// The finding's help.
    pub help: &'static str,
    /// The function the statement is in.
    pub in_fn: String,
    /// The span of that function's name.
    pub fn_span: Span,
}

/// A module-level function that would race if run on several threads (through itself or the functions it calls
/// in its module), and whose races the per-file rule did not already report.
#[derive(Debug, Clone, PartialEq)]
pub struct RacyFnFacts {
    /// Its name.
    pub name: String,
    /// How many times its own module starts it on threads.
    pub local_thread_spawns: usize,
    /// Its races: indices into [`FileFacts::races`], in source order.
    pub races: Vec<usize>,
}

/// A pool with a literal size above the limit that the per-file analysis could not judge.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFact {
    /// The size expression.
    pub span: Span,
    /// The literal size.
    pub workers: i64,
    /// `processes` or `threads`.
    pub kind_word: &'static str,
    /// The file's `python.max-workers`.
    pub limit: i64,
}

/// A direct, non-awaited call from an `async def` to an imported function.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncCallFact {
    /// The `async def`'s name.
    pub caller: String,
    /// The call.
    pub span: Span,
    /// The callee's absolute name.
    pub qual: String,
}

/// Everything the project phase needs from one Python file.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// The file.
    pub path: PathBuf,
    /// Its module name.
    pub module: ModuleName,
    /// Its module-level functions, then local targets with calls into other modules.
    pub funcs: Vec<FnFacts>,
    /// Sites whose target depends on other modules.
    pub sites: Vec<SiteFact>,
    /// Oversized pools of those sites.
    pub pools: Vec<PoolFact>,
    /// Calls from `async def` to imported functions.
    pub async_calls: Vec<AsyncCallFact>,
    /// Every import of the file, local name → absolute name (for re-exports: `from .work import crunch` in
    /// `pkg/__init__.py` makes `pkg.crunch` name `pkg.work.crunch`).
    pub imports: Vec<(String, String)>,
    /// The file's `python.free-threaded` setting (CA501's advice).
    pub free_threaded: bool,
    /// Unlocked updates of shared state that CA505 would report if a function reaching them ran on several
    /// threads (empty when CA505 is off for this file).
    pub races: Vec<RaceFact>,
    /// Module-level functions reaching some of [`FileFacts::races`].
    pub racy: Vec<RacyFnFacts>,
}

impl FileFacts {
    /// Whether this file holds sites the link phase reports on (CA501, CA502, CA504, CA506) or that make it
    /// report in another file (CA505).
    pub fn has_sites(&self) -> bool {
        !self.sites.is_empty() || !self.async_calls.is_empty()
    }

    /// Whether the link phase may report anything in this file: at its sites, or at its races when another file
    /// runs its functions on threads.
    pub fn may_report(&self) -> bool {
        self.has_sites() || !self.racy.is_empty()
    }
}

/// At most this many pieces of evidence of each kind are kept per function.
const MAX_EVIDENCE: usize = 8;

/// Collects the facts of one analysed module. `cx` holds the per-file (single-module) summaries, whose
/// findings the per-file rules already made; `project` summarises the same model in project mode.
pub(super) fn collect(cx: &Checker<'_, '_, '_>, project: &Summarizer<'_, '_, '_>, module: ModuleName) -> FileFacts {
    let model = cx.model;
    let mut b = Builder { cx, project, funcs: Vec::new(), index: HashMap::new() };
    for (id, f) in model.funcs.iter().enumerate() {
        if f.parent.is_none() && f.class.is_none() {
            b.add(id, true);
        }
    }
    // Stored functions are few: most call code no module of the project holds.
    b.funcs.shrink_to_fit();
    let mut sites = Vec::new();
    let mut pools: Vec<PoolFact> = Vec::new();
    let mut pool_index: HashMap<usize, usize> = HashMap::new();
    let limit = i64::try_from(cx.settings.python.max_workers).unwrap_or(i64::MAX);
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
        let pool = spawn.pool.and_then(|p| {
            let ctor = &model.pools[p];
            let (n, expr) = (ctor.workers?, ctor.workers_expr?);
            if n <= limit {
                return None;
            }
            // The per-file rule reported it if a local target of the pool is CPU-bound.
            let reported = model.spawns.iter().any(|s| {
                s.pool == Some(p) && s.target_fn.is_some_and(|f| cx.summaries.summary(f).kind() == Kind::CpuHeavy)
            });
            if reported {
                return None;
            }
            Some(*pool_index.entry(p).or_insert_with(|| {
                pools.push(PoolFact {
                    span: cx.span(expr.range),
                    workers: n,
                    kind_word: if ctor.exec == Exec::Processes { "processes" } else { "threads" },
                    limit,
                });
                pools.len() - 1
            }))
        });
        let several = spawn.pool.is_some() || spawn.site.is_some_and(|c| model.calls[c].loop_range.is_some());
        sites.push(SiteFact {
            span: cx.span(spawn.range),
            exec: spawn.exec,
            api: spawn.api.clone(),
            target,
            judged_for_io,
            pool,
            several,
        });
    }
    let mut async_calls = Vec::new();
    for (f, info) in model.funcs.iter().enumerate() {
        if !info.def.is_async {
            continue;
        }
        let loops: Vec<Evidence> = cx.summaries.heavy_loops(f).into_iter().filter(|e| e.strong).collect();
        for &i in &model.calls_by_func[f] {
            let c = &model.calls[i];
            if !c.in_async || c.awaited || loops.iter().any(|l| l.range.contains(c.range)) {
                continue;
            }
            if model.resolve_function(&c.call.func, c.scope).is_some() || c.qual.as_deref().is_some_and(is_listed_api) {
                continue;
            }
            if let Some(qual) = project.external_name(&c.call.func) {
                async_calls.push(AsyncCallFact { caller: info.def.name.to_string(), span: cx.span(c.range), qual });
            }
        }
    }
    let mut imports: Vec<(String, String)> = model.imports.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    for (k, (level, rest)) in &model.rel_imports {
        if let Some(q) = module.resolve_relative(*level, rest) {
            imports.push(((*k).to_string(), q));
        }
    }
    imports.sort();
    let (races, racy) = if cx.settings.is_enabled(&unlocked_shared_state_in_threads::RULE) {
        collect_races(cx)
    } else {
        (Vec::new(), Vec::new())
    };
    FileFacts {
        path: cx.path.to_path_buf(),
        module,
        funcs: b.funcs,
        sites,
        pools,
        async_calls,
        imports,
        free_threaded: cx.settings.python.free_threaded,
        races,
        racy,
    }
}

/// At most this many functions of a module are followed from one function for CA505.
const MAX_RACE_CALLEES: usize = 256;

/// CA505's facts: for each module-level function, the unlocked updates of shared state it reaches in its module
/// (what CA505 reports when the function runs on several threads), leaving out the functions the per-file rule
/// already reports on (they run on several threads from this module).
fn collect_races(cx: &Checker<'_, '_, '_>) -> (Vec<RaceFact>, Vec<RacyFnFacts>) {
    use unlocked_shared_state_in_threads::{
        CONTAINER_WORDS, advice, declares_shared, module_callees, module_has_containers, multi_threaded,
        unlocked_updates_with,
    };
    let model = cx.model;
    let reported: HashSet<FuncId> = multi_threaded(model).into_iter().collect();
    let containers = module_has_containers(model);
    // Nothing can race: no container at module level, no `global`, no nested function (whose enclosing
    // function may hold containers).
    if !containers && (0..model.funcs.len()).all(|f| model.funcs[f].parent.is_none() && !declares_shared(model, f)) {
        return (Vec::new(), Vec::new());
    }
    // Each function's own races (indices into `races`), computed once; a function the per-file rule already
    // reports on has none here.
    let mut races: Vec<RaceFact> = Vec::new();
    let mut own: Vec<Vec<usize>> = vec![Vec::new(); model.funcs.len()];
    for (g, slot) in own.iter_mut().enumerate() {
        if reported.contains(&g) {
            continue;
        }
        // Most functions hold none of the words a container update needs: not searched.
        let text = cx.lines.text(model.funcs[g].range);
        if !declares_shared(model, g) && !CONTAINER_WORDS.iter().any(|w| text.contains(w)) {
            continue;
        }
        let name = cx.func_name(g);
        for (range, what) in unlocked_updates_with(model, g, containers) {
            let (message, help) = advice(&what, name, cx.settings.python.free_threaded);
            races.push(RaceFact {
                span: cx.span(range),
                message,
                help,
                in_fn: name.to_string(),
                fn_span: cx.span(model.funcs[g].def.name_range),
            });
            slot.push(races.len() - 1);
        }
    }
    if races.is_empty() {
        return (races, Vec::new());
    }
    // Then what each module-level function reaches through the functions it calls in this module.
    let mut callees: HashMap<FuncId, Vec<FuncId>> = HashMap::new();
    let mut racy = Vec::new();
    let top_level = |f: FuncId| model.funcs[f].parent.is_none() && model.funcs[f].class.is_none();
    // A later `def` of the same name is the one importers get.
    let mut last: HashMap<&str, FuncId> = HashMap::new();
    for f in (0..model.funcs.len()).filter(|&f| top_level(f)) {
        last.insert(model.funcs[f].def.name, f);
    }
    for (f, info) in model.funcs.iter().enumerate() {
        if !top_level(f) || last.get(info.def.name) != Some(&f) {
            continue;
        }
        let mut seen: HashSet<FuncId> = HashSet::new();
        let mut stack = vec![f];
        let mut found: Vec<usize> = Vec::new();
        while let Some(g) = stack.pop() {
            if seen.len() > MAX_RACE_CALLEES || !seen.insert(g) {
                continue;
            }
            found.extend(own[g].iter().copied());
            stack.extend(callees.entry(g).or_insert_with(|| module_callees(model, g)).iter().copied());
        }
        if found.is_empty() {
            continue;
        }
        found.sort_by_key(|&i| races[i].span);
        found.dedup();
        let local_thread_spawns =
            model.spawns.iter().filter(|s| s.exec == Exec::Threads && s.target_fn == Some(f)).count();
        racy.push(RacyFnFacts { name: info.def.name.to_string(), local_thread_spawns, races: found });
    }
    if racy.is_empty() {
        races.clear();
    }
    (races, racy)
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
        let mut seen = HashSet::new();
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
type Node = (usize, usize);

/// A target's summary joined across modules.
struct Joined {
    cpu: Vec<(usize, EvidenceFact)>,
    io: Vec<(usize, EvidenceFact)>,
}

impl Joined {
    fn kind(&self) -> Kind {
        match (self.cpu.is_empty(), self.io.is_empty()) {
            (false, true) => Kind::CpuHeavy,
            (true, false) => Kind::IoBound,
            _ => Kind::Unknown,
        }
    }
}

/// At most this many functions are visited to join one summary; beyond, the summary is unknown.
const MAX_VISITED: usize = 512;
/// Re-exports are followed this deep (`pkg.crunch` → `pkg.work.crunch`).
const MAX_REEXPORT: u32 = 8;

struct Project<'f> {
    files: &'f [FileFacts],
    modules: HashMap<&'f str, Vec<usize>>,
    /// Files by the last component of their module name (the stem, or the package directory), for the
    /// fallback lookup by path.
    by_last: HashMap<&'f str, Vec<usize>>,
    top: Vec<HashMap<&'f str, usize>>,
    /// Per file, its racy functions by name (index into [`FileFacts::racy`]).
    racy: Vec<HashMap<&'f str, usize>>,
    imports: Vec<HashMap<&'f str, &'f str>>,
    by_suffix: RefCell<HashMap<String, Option<usize>>>,
    joined: RefCell<HashMap<Node, Option<std::rc::Rc<Joined>>>>,
}

impl<'f> Project<'f> {
    fn new(files: &'f [FileFacts]) -> Self {
        let mut modules: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_last: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            modules.entry(f.module.name.as_str()).or_default().push(i);
            let last = f.module.name.rsplit('.').next().unwrap_or_default();
            by_last.entry(last).or_default().push(i);
        }
        let top = files
            .iter()
            .map(|f| {
                let mut m = HashMap::new();
                for (i, func) in f.funcs.iter().enumerate().filter(|(_, func)| func.top_level) {
                    // A later `def` of the same name replaces an earlier one, as in Python.
                    m.insert(func.name.as_str(), i);
                }
                m
            })
            .collect();
        let imports = files.iter().map(|f| f.imports.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()).collect();
        let racy =
            files.iter().map(|f| f.racy.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect()).collect();
        Project {
            files,
            modules,
            by_last,
            top,
            racy,
            imports,
            by_suffix: RefCell::new(HashMap::new()),
            joined: RefCell::new(HashMap::new()),
        }
    }

    /// The file of module `name`, seen from file `from`: an exact name (preferring the importer's import root
    /// when several files claim it), else the one file whose path ends with the name's components.
    fn module(&self, name: &str, from: usize) -> Option<usize> {
        if let Some(c) = self.modules.get(name) {
            if c.len() == 1 {
                return Some(c[0]);
            }
            let root = &self.files[from].module.root;
            let same: Vec<usize> = c.iter().copied().filter(|&i| &self.files[i].module.root == root).collect();
            return (same.len() == 1).then(|| same[0]);
        }
        if let Some(r) = self.by_suffix.borrow().get(name) {
            return *r;
        }
        let want: Vec<&str> = name.split('.').collect();
        let mut found = None;
        let mut n = 0;
        let last = want.last().copied().unwrap_or_default();
        for &i in self.by_last.get(last).map(Vec::as_slice).unwrap_or_default() {
            let f = &self.files[i];
            let mut comps: Vec<&str> = f.path.components().filter_map(|c| c.as_os_str().to_str()).collect();
            let Some(file) = comps.pop() else { continue };
            let stem = file.strip_suffix(".py").unwrap_or(file);
            if stem != "__init__" {
                comps.push(stem);
            }
            if comps.ends_with(&want) {
                found = Some(i);
                n += 1;
            }
        }
        let r = if n == 1 { found } else { None };
        self.by_suffix.borrow_mut().insert(name.to_string(), r);
        r
    }

    /// The function an absolute dotted name denotes, seen from file `from`.
    fn resolve(&self, qual: &str, from: usize) -> Option<Node> {
        let mut qual = qual.to_string();
        let mut from = from;
        for _ in 0..MAX_REEXPORT {
            let (module, name) = qual.rsplit_once('.')?;
            let m = self.module(module, from)?;
            if let Some(&f) = self.top[m].get(name) {
                return Some((m, f));
            }
            let next = self.imports[m].get(name)?;
            qual = (*next).to_string();
            from = m;
        }
        None
    }

    /// The racy function (file index, index into [`FileFacts::racy`]) an absolute dotted name denotes, seen from
    /// file `from`; `None` when it denotes a function without races, or nothing the project holds.
    fn resolve_racy(&self, qual: &str, from: usize) -> Option<Node> {
        let mut qual = qual.to_string();
        let mut from = from;
        for _ in 0..MAX_REEXPORT {
            let (module, name) = qual.rsplit_once('.')?;
            let m = self.module(module, from)?;
            if let Some(&r) = self.racy[m].get(name) {
                return Some((m, r));
            }
            if self.top[m].contains_key(name) {
                return None;
            }
            let next = self.imports[m].get(name)?;
            qual = (*next).to_string();
            from = m;
        }
        None
    }

    /// The summary of `start` joined through every module it reaches; `None` when any reached function calls
    /// code the project does not hold.
    fn joined(&self, start: Node) -> Option<std::rc::Rc<Joined>> {
        if let Some(j) = self.joined.borrow().get(&start) {
            return j.clone();
        }
        let j = self.join(start).map(std::rc::Rc::new);
        self.joined.borrow_mut().insert(start, j.clone());
        j
    }

    fn join(&self, start: Node) -> Option<Joined> {
        let mut out = Joined { cpu: Vec::new(), io: Vec::new() };
        let mut seen: HashSet<(Node, bool)> = HashSet::new();
        let mut stack = vec![(start, false)];
        while let Some((node, conditional)) = stack.pop() {
            if !seen.insert((node, conditional)) {
                continue;
            }
            if seen.len() > MAX_VISITED {
                return None;
            }
            let f = &self.files[node.0].funcs[node.1];
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
    fn place(&self, site_file: usize, ev_file: usize, ev: &EvidenceFact, target: &str) -> String {
        let at = if ev_file == site_file {
            format!("line {}", ev.span.start.line)
        } else {
            format!("{}:{}", self.files[ev_file].path.display(), ev.span.start.line)
        };
        if ev.in_fn == target { at } else { format!("{at}, in `{}`", ev.in_fn) }
    }

    /// A note at a piece of evidence (or a definition): with its span in the finding's own file, else with
    /// `path:line` in the text.
    fn note(&self, d: Diagnostic, site_file: usize, file: usize, text: String, span: Span) -> Diagnostic {
        if file == site_file {
            d.with_note(text, Some(span))
        } else {
            let at = format!("{}:{}", self.files[file].path.display(), span.start.line);
            d.with_note(format!("{text} at {at}"), None)
        }
    }

    fn def_note(&self, d: Diagnostic, site_file: usize, node: Node) -> Diagnostic {
        let f = &self.files[node.0].funcs[node.1];
        let text = if node.0 == site_file {
            format!("`{}` is defined here", f.name)
        } else {
            format!("`{}` is defined", f.name)
        };
        self.note(d, site_file, node.0, text, f.span)
    }
}

/// What the project phase saw, for the survey: sites by target, how many resolved, and the joined kinds.
#[cfg(test)]
pub(super) fn describe(files: &[FileFacts]) -> String {
    let p = Project::new(files);
    let (mut local, mut imported, mut resolved, mut cpu, mut io, mut unknown) = (0, 0, 0, 0, 0, 0);
    let mut unresolved: HashMap<&str, usize> = HashMap::new();
    for (fi, file) in files.iter().enumerate() {
        for site in &file.sites {
            let node = match &site.target {
                Target::Local(i) => {
                    local += 1;
                    Some((fi, *i))
                }
                Target::Imported(q) => {
                    imported += 1;
                    let n = p.resolve(q, fi);
                    if n.is_none() {
                        *unresolved.entry(q.as_str()).or_default() += 1;
                    }
                    n
                }
            };
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
    let calls: usize = files.iter().map(|f| f.async_calls.len()).sum();
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

/// The project phase: joins the facts of all Python files of a run and returns the findings that need another
/// module's functions. Findings are not yet filtered by settings; their order is the caller's job.
pub fn link(files: &[FileFacts]) -> Vec<Diagnostic> {
    if !files.iter().any(FileFacts::has_sites) {
        return Vec::new();
    }
    let p = Project::new(files);
    let mut out = Vec::new();
    for (fi, file) in files.iter().enumerate() {
        let mut pools_done = vec![false; file.pools.len()];
        for site in &file.sites {
            let node = match &site.target {
                Target::Local(i) => Some((fi, *i)),
                Target::Imported(q) => p.resolve(q, fi),
            };
            let Some(node) = node else { continue };
            let Some(j) = p.joined(node) else { continue };
            let name = p.files[node.0].funcs[node.1].name.as_str();
            let kind = j.kind();
            match (site.exec, kind) {
                (Exec::Threads, Kind::CpuHeavy) => {
                    if let Some((ef, ev)) = j.cpu.iter().find(|(_, e)| !e.releases_gil) {
                        let place = p.place(fi, *ef, ev, name);
                        let d = cpu_bound_work_on_threads::finding(
                            &file.path,
                            site.span,
                            name,
                            &ev.what,
                            &place,
                            &site.api,
                            file.free_threaded,
                        );
                        let d = p.note(d, fi, *ef, format!("CPU-heavy: {}", ev.what), ev.span);
                        out.push(p.def_note(d, fi, node));
                    }
                }
                (Exec::Processes, Kind::IoBound) if site.judged_for_io => {
                    if let Some((ef, ev)) = j.io.first() {
                        let place = p.place(fi, *ef, ev, name);
                        let d = io_bound_work_on_processes::finding(
                            &file.path, site.span, name, &ev.what, &place, &site.api,
                        );
                        let d = p.note(d, fi, *ef, format!("I/O: `{}`", ev.what), ev.span);
                        out.push(p.def_note(d, fi, node));
                    }
                }
                _ => {}
            }
            if let Some(pi) = site.pool
                && kind == Kind::CpuHeavy
                && !pools_done[pi]
            {
                pools_done[pi] = true;
                let pool = &file.pools[pi];
                let d = oversized_or_per_call_pool::oversized_finding(
                    &file.path,
                    pool.span,
                    pool.workers,
                    pool.kind_word,
                    name,
                    pool.limit,
                );
                out.push(p.def_note(d, fi, node));
            }
        }
        for call in &file.async_calls {
            let Some(node) = p.resolve(&call.qual, fi) else { continue };
            let callee = &p.files[node.0].funcs[node.1];
            if callee.is_async || callee.is_generator {
                continue;
            }
            let Some(j) = p.joined(node) else { continue };
            if j.kind() != Kind::CpuHeavy {
                continue;
            }
            let Some((ef, ev)) = j.cpu.iter().find(|(_, e)| e.strong) else { continue };
            let d = cpu_loop_in_async_def::call_finding(&file.path, call.span, &callee.name, &call.caller);
            let d = p.note(d, fi, *ef, format!("CPU-heavy: {}", ev.what), ev.span);
            out.push(p.def_note(d, fi, node));
        }
    }
    link_races(&p, &mut out);
    out
}

/// CA505 across files: a function of one module that another module runs on several threads (submitted to a
/// thread pool, started in a loop, or started by more than one site) gets the findings CA505 would have made
/// had the spawn been in its own module, in its own file, each with a note at a spawn site. One finding per
/// statement, in file and source order.
fn link_races(p: &Project<'_>, out: &mut Vec<Diagnostic>) {
    // Racy function → its thread sites in other files (file, site), in file and site order.
    let mut spawned: std::collections::BTreeMap<Node, Vec<(usize, &SiteFact)>> = std::collections::BTreeMap::new();
    for (fi, file) in p.files.iter().enumerate() {
        for site in file.sites.iter().filter(|s| s.exec == Exec::Threads) {
            let Target::Imported(q) = &site.target else { continue };
            let Some(node) = p.resolve_racy(q, fi) else { continue };
            if node.0 != fi {
                spawned.entry(node).or_default().push((fi, site));
            }
        }
    }
    let mut done: HashSet<(usize, usize)> = HashSet::new();
    for ((df, ri), sites) in spawned {
        let file = &p.files[df];
        let racy = &file.racy[ri];
        let several = sites.iter().any(|(_, s)| s.several) || sites.len() + racy.local_thread_spawns > 1;
        if !several {
            continue;
        }
        let (sf, site) = sites[0];
        for &i in &racy.races {
            if !done.insert((df, i)) {
                continue;
            }
            let race = &file.races[i];
            let d = Diagnostic::new(&unlocked_shared_state_in_threads::RULE, &file.path, race.span, &race.message)
                .with_help(race.help)
                .with_note(format!("`{}` is defined here", race.in_fn), Some(race.fn_span));
            let text = format!("`{}` is run on threads (`{}`)", racy.name, site.api);
            let mut d = p.note(d, df, sf, text, site.span);
            if sites.len() > 1 {
                d = d.with_note(format!("and at {} more site(s)", sites.len() - 1), None);
            }
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(path: &str, packages: &[&str]) -> ModuleName {
        ModuleName::for_path(Path::new(path), &|d| packages.iter().any(|p| Path::new(p) == d))
    }

    #[test]
    fn module_names_come_from_package_directories() {
        let m = name("proj/src/pkg/sub/work.py", &["proj/src/pkg", "proj/src/pkg/sub"]);
        assert_eq!((m.name.as_str(), m.is_package, m.root.as_path()), ("pkg.sub.work", false, Path::new("proj/src")));
        let init = name("proj/src/pkg/__init__.py", &["proj/src/pkg"]);
        assert_eq!((init.name.as_str(), init.is_package), ("pkg", true));
        let script = name("tools/run.py", &[]);
        assert_eq!((script.name.as_str(), script.root.as_path()), ("run", Path::new("tools")));
        assert_eq!(name("run.py", &[]).name, "run");
        assert_eq!(name("/abs/run.py", &["/abs", "/"]).name, "abs.run");
    }

    #[test]
    fn relative_imports_resolve_against_the_package() {
        let m = name("r/pkg/sub/work.py", &["r/pkg", "r/pkg/sub"]);
        assert_eq!(m.resolve_relative(1, "util.f").as_deref(), Some("pkg.sub.util.f"));
        assert_eq!(m.resolve_relative(2, "core.g").as_deref(), Some("pkg.core.g"));
        assert_eq!(m.resolve_relative(3, "x"), None, "above the root");
        let init = name("r/pkg/__init__.py", &["r/pkg"]);
        assert_eq!(init.resolve_relative(1, "work.crunch").as_deref(), Some("pkg.work.crunch"));
        let script = name("r/main.py", &[]);
        assert_eq!(script.resolve_relative(1, "helpers.f").as_deref(), Some("helpers.f"));
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
