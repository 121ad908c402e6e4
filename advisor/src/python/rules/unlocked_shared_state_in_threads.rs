//! CA505 `unlocked-shared-state-in-threads`: shared mutable state updated without a lock by functions that run
//! on several threads.

use std::collections::BTreeMap;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::ops::ControlFlow;

use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::python::linker::{FactsCx, Linker, SiteFact, Target};
use crate::python::rules::{LinkFacts, PythonRule};
use crate::registry::RuleMeta;
use crate::python::Checker;
use crate::python::ast::{CmpOp, Expr, ExprKind, Range, Stmt, StmtKind, walk_body_exprs};
use crate::python::semantic::{Exec, FuncId, Model};

declare_rule! {
    /// ## What it does
    /// In functions that run on more than one thread (a thread target started in a loop or more than once, or
    /// submitted to a thread pool, and the functions it calls in the same module), finds shared mutable state
    /// updated outside `with lock:` (a `threading.Lock`/`RLock`/`Condition`/`Semaphore`, or anything named
    /// `*lock*`/`*mutex*`):
    /// - `global`/`nonlocal` counters: `hits += 1`, `hits = hits + 1`;
    /// - check-then-set on a shared dict: `if key not in cache: cache[key] = …`;
    /// - reads of a shared list after appending to it (`items.append(x)` then `len(items)`, `items[0]`, `for …
    ///   in items`).
    ///
    /// Shared means a module-level name (or a `nonlocal` of the enclosing function) bound to a plain `{}`, `[]`,
    /// `dict()`, `list()` or `defaultdict(…)`; a `queue.Queue` is not reported.
    ///
    /// A target imported from another file of the project (`from pkg.work import bump;
    /// threading.Thread(target=bump)`) is followed by the project phase: the finding is in `bump`'s file, with
    /// a note at the spawn site. It counts as running on several threads when it is submitted to a thread pool,
    /// started in a loop, or started by more than one site.
    ///
    /// ## Why is this bad?
    /// `hits += 1` is a read, an add and a write: a thread switch between them loses an update. The GIL does not
    /// make it atomic; it only makes the race rarer. Check-then-set lets two threads both miss and both compute
    /// (or overwrite each other's value).
    ///
    /// ## Free-threaded CPython (3.13t / 3.14t)
    /// Without the GIL threads really run at the same time, so these races stop being rare: lost updates show up
    /// under any load. Built-in `dict` and `list` keep their own consistency (per-object locks), but a
    /// read-modify-write sequence still needs a lock. With `python.free-threaded = true` the message says so.
    ///
    /// ## Known problems
    /// Locks taken with `lock.acquire()` are recognised only coarsely (the whole function counts as locked).
    /// Attributes are tracked only on `self`, in methods of an object whose bound method is handed to a thread
    /// pool or to threads started in a loop (`ex.submit(self._visit, root)`), and the methods they call on
    /// `self`, and the methods of objects it holds (`self.stats = Stats()` in the class, `self.stats.record(…)`
    /// on the threads; the class in this module or imported from another of the project): `self.count += 1`
    /// there is reported; other objects are not tracked. Across files, only the imported target and the
    /// functions it calls in its own module are searched: a local target that calls an imported function, or an
    /// imported target that calls into a third module, is not followed.
    ///
    /// ## Example
    /// ```python
    /// hits = 0
    /// def worker():
    ///     global hits
    ///     for _ in range(1000):
    ///         hits += 1
    /// threads = [threading.Thread(target=worker) for _ in range(8)]
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// hits = 0
    /// hits_lock = threading.Lock()
    /// def worker():
    ///     global hits
    ///     for _ in range(1000):
    ///         with hits_lock:
    ///             hits += 1
    /// ```
    pub static META = {
        code: "CA505",
        name: "unlocked-shared-state-in-threads",
        severity: Warning,
        language: Python,
        summary: "shared mutable state updated from several threads without a lock",
    };
}

/// The rule: per file, and across files in the link phase (functions of one module run on several threads by
/// another).
pub struct Rule;

/// What the link step needs of a module: the unlocked updates of shared state CA505 would report if a function
/// reaching them ran on several threads, with the finding's text already made with the file's settings.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct Races {
    /// The updates, in source order.
    pub races: Vec<RaceFact>,
    /// Module-level functions reaching some of them.
    pub racy: Vec<RacyFnFacts>,
    /// Methods of this module's classes with unlocked `self.x op= …` (through the methods they call on `self`),
    /// for objects of those classes that another module's threads share.
    #[serde(default)]
    pub class_races: Vec<ClassRaces>,
    /// Calls, in methods this module runs on several threads, to a method of an object they hold whose class is
    /// imported (`self.progress.on_new_object(…)` with `self.progress = CrawlerProgress()`).
    #[serde(default)]
    pub held_calls: Vec<HeldCall>,
}

impl LinkFacts for Races {
    fn starts_link(&self) -> bool {
        !self.held_calls.is_empty()
    }

    fn may_report(&self) -> bool {
        !self.racy.is_empty() || !self.class_races.is_empty() || !self.held_calls.is_empty()
    }
}

/// A method's unlocked updates of `self`'s attributes (CA505 reports them when the object is shared by threads).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct ClassRaces {
    /// The class (module-level).
    pub class: String,
    /// The method.
    pub method: String,
    /// Its races and those of the methods it calls on `self`: indices into [`Races::races`], in source order.
    pub races: Vec<usize>,
}

/// A call from a method run on several threads to a method of an object of an imported class the shared object
/// holds.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct HeldCall {
    /// The class's absolute name.
    pub class: String,
    /// The method called.
    pub method: String,
    /// The call.
    pub span: Span,
    /// The method making it.
    pub caller: String,
}

/// A statement CA505 would report if a function reaching it ran on several threads: an unlocked update of
/// shared state, with the finding's text already made with the file's settings.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct RaceFact {
    /// The statement (or the read).
    pub span: Span,
    /// The finding's message.
    pub message: String,
    /// The finding's help.
    pub help: String,
    /// The function the statement is in.
    pub in_fn: String,
    /// The span of that function's name.
    pub fn_span: Span,
}

/// A module-level function that would race if run on several threads (through itself or the functions it calls
/// in its module), and whose races the per-file rule did not already report.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct RacyFnFacts {
    /// Its name.
    pub name: String,
    /// How many times its own module starts it on threads.
    pub local_thread_spawns: usize,
    /// Its races: indices into [`Races::races`], in source order.
    pub races: Vec<usize>,
}

impl PythonRule for Rule {
    type Facts = Races;

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    fn facts(&self, fx: &FactsCx<'_, '_, '_, '_, '_>) -> Races {
        let (mut races, racy) = collect_races(fx.cx);
        let class_races = collect_class_races(fx.cx, &mut races);
        let held_calls = collect_held_calls(fx);
        Races { races, racy, class_races, held_calls }
    }

    /// A function of one module that another module runs on several threads (submitted to a thread pool,
    /// started in a loop, or started by more than one site) gets the findings the per-file check would have made
    /// had the spawn been in its own module, in its own file, each with a note at a spawn site. One finding per
    /// statement, in file and source order.
    fn link(&self, p: &Linker<'_>, facts: &[&Races], out: &mut Vec<Diagnostic>) {
        let by_name: Vec<HashMap<&str, usize>> =
            facts.iter().map(|f| f.racy.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect()).collect();
        // The racy function (file, index into `racy`) a name denotes: `None` when it is a function without
        // races, or nothing the project holds.
        let resolve_racy = |qual: &str, from: usize| {
            p.index().resolve(qual, from, |m, name| {
                if let Some(&r) = by_name[m].get(name) {
                    ControlFlow::Break(Some((m, r)))
                } else if p.top_level(m, name).is_some() {
                    ControlFlow::Break(None)
                } else {
                    ControlFlow::Continue(())
                }
            })
        };
        // Racy function → its thread sites in other files (file, site), in file and site order.
        let mut spawned: BTreeMap<(usize, usize), Vec<(usize, &SiteFact)>> = BTreeMap::new();
        for (fi, file) in p.files.iter().enumerate() {
            for site in file.sites.iter().filter(|s| s.exec == Exec::Threads) {
                let Target::Imported(q) = &site.target else { continue };
                let Some(node) = resolve_racy(q, fi) else { continue };
                if node.0 != fi {
                    spawned.entry(node).or_default().push((fi, site));
                }
            }
        }
        let mut done: HashSet<(usize, usize)> = HashSet::default();
        for ((df, ri), sites) in spawned {
            let (file, races) = (&p.files[df], facts[df]);
            let racy = &races.racy[ri];
            let several = sites.iter().any(|(_, s)| s.several) || sites.len() + racy.local_thread_spawns > 1;
            if !several {
                continue;
            }
            let (sf, site) = sites[0];
            for &i in &racy.races {
                if !done.insert((df, i)) {
                    continue;
                }
                let race = &races.races[i];
                let d = Diagnostic::new(&META, &file.path, race.span, &race.message)
                    .with_help(race.help.as_str())
                    .with_note(format!("`{}` is defined here", race.in_fn), Some(race.fn_span));
                let text = format!("`{}` is run on threads (`{}`)", racy.name, site.api);
                let mut d = p.note(d, df, sf, text, site.span);
                if sites.len() > 1 {
                    d = d.with_note(format!("and at {} more site(s)", sites.len() - 1), None);
                }
                out.push(d);
            }
        }
        // Methods of an imported class whose object a multi-threaded object holds.
        let mut done_class: HashSet<(usize, usize)> = HashSet::default();
        for (fi, f) in facts.iter().enumerate() {
            for h in &f.held_calls {
                let found = p.index().resolve(&h.class, fi, |m, name| {
                    if facts[m].class_races.iter().any(|c| c.class == name) {
                        ControlFlow::Break(Some((m, name.to_string())))
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                let Some((df, class)) = found else { continue };
                let Some(cr) = facts[df].class_races.iter().find(|c| c.class == class && c.method == h.method) else {
                    continue;
                };
                for &i in &cr.races {
                    if !done_class.insert((df, i)) {
                        continue;
                    }
                    let race = &facts[df].races[i];
                    let d = Diagnostic::new(&META, &p.files[df].path, race.span, &race.message)
                        .with_help(race.help.as_str())
                        .with_note(format!("`{}` is defined here", race.in_fn), Some(race.fn_span));
                    let text = format!(
                        "`{}` runs on several threads and calls `{}.{}` on an object it holds",
                        h.caller, class, h.method
                    );
                    out.push(p.note(d, df, fi, text, h.span));
                }
            }
        }
    }
}

/// Words of the augmented assignments `self.x op= …` is written with.
const AUG_OPS: &[&str] = &["+=", "-=", "*=", "/=", "|=", "&=", "^=", "%=", "<<=", ">>=", "@="];

/// CA505's facts for objects shared from other modules: each method of a module-level class with unlocked
/// `self.x op= …`, itself or through the methods it calls on `self` (messages made for the method the update is
/// in). Methods this module already runs on several threads are left out (the per-file rule reports them).
fn collect_class_races(cx: &Checker<'_, '_, '_>, races: &mut Vec<RaceFact>) -> Vec<ClassRaces> {
    let model = cx.model;
    let is_method = |f: FuncId| {
        model.funcs[f].class.is_some()
            && model.funcs[f].parent.is_none()
            && model.classes.get(model.funcs[f].class.unwrap_or_default()).is_some_and(|(_, local)| !local)
    };
    let mut own: HashMap<FuncId, Vec<usize>> = HashMap::default();
    let mut shared: Option<HashSet<FuncId>> = None;
    for f in (0..model.funcs.len()).filter(|&f| is_method(f)) {
        // Most methods update no attribute in place: not searched.
        let text = cx.lines.text(model.funcs[f].range);
        if !text.contains("self.") || !AUG_OPS.iter().any(|op| text.contains(op)) {
            continue;
        }
        if shared.get_or_insert_with(|| shared_self_methods(model)).contains(&f) {
            continue;
        }
        let name = cx.func_name(f);
        for (range, what) in unlocked_updates_of_self(model, f) {
            let (message, help) = advice(&what, name, cx.settings.python.free_threaded);
            races.push(RaceFact {
                span: cx.span(range),
                message,
                help: help.to_string(),
                in_fn: name.to_string(),
                fn_span: cx.span(model.funcs[f].def.name_range),
            });
            own.entry(f).or_default().push(races.len() - 1);
        }
    }
    if own.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for f in (0..model.funcs.len()).filter(|&f| is_method(f)) {
        let class = model.funcs[f].class;
        let mut seen: HashSet<FuncId> = HashSet::default();
        let mut stack = vec![f];
        let mut found: Vec<usize> = Vec::new();
        while let Some(g) = stack.pop() {
            if seen.len() > MAX_RACE_CALLEES || !seen.insert(g) {
                continue;
            }
            found.extend(own.get(&g).into_iter().flatten().copied());
            stack.extend(model.callees(g).filter_map(|(i, h)| {
                let on_self = matches!(&model.calls[i].call.func.kind,
                    ExprKind::Attribute { value, .. } if value.as_name() == Some("self"));
                (on_self && model.funcs[h].class == class).then_some(h)
            }));
        }
        if found.is_empty() {
            continue;
        }
        found.sort_by_key(|&i| races[i].span);
        found.dedup();
        out.push(ClassRaces {
            class: class.unwrap_or_default().to_string(),
            method: model.funcs[f].def.name.to_string(),
            races: found,
        });
    }
    out
}

/// CA505's facts for the link step: in methods this module runs on several threads, calls to a method of an
/// object they hold whose class is imported from another module.
fn collect_held_calls(fx: &FactsCx<'_, '_, '_, '_, '_>) -> Vec<HeldCall> {
    let (cx, model) = (fx.cx, fx.cx.model);
    if model.spawns.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut methods: Vec<FuncId> = shared_self_methods(model).into_iter().collect();
    methods.sort_unstable();
    for f in methods {
        for &i in &model.calls_by_func[f] {
            let c = &model.calls[i];
            let Some((recv, m)) = held_object_call(&c.call.func) else { continue };
            let mut class: Option<String> = None;
            let mut ok = true;
            for v in model.values_of(recv, c.scope) {
                let q = match &v.kind {
                    ExprKind::Call(k) => fx.project.external_name(&k.func),
                    _ => None,
                };
                match (q, &class) {
                    (Some(q), None) => class = Some(q),
                    (Some(q), Some(k)) if &q == k => {}
                    _ => ok = false,
                }
            }
            if let (true, Some(class)) = (ok, class) {
                out.push(HeldCall { class, method: m.to_string(), span: cx.span(c.range), caller: cx.func_name(f).to_string() });
            }
        }
    }
    out
}

/// At most this many functions of a module are followed from one function for CA505.
const MAX_RACE_CALLEES: usize = 256;

/// CA505's facts: for each module-level function, the unlocked updates of shared state it reaches in its module
/// (what CA505 reports when the function runs on several threads), leaving out the functions the per-file rule
/// already reports on (they run on several threads from this module).
fn collect_races(cx: &Checker<'_, '_, '_>) -> (Vec<RaceFact>, Vec<RacyFnFacts>) {
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
                help: help.to_string(),
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
    let mut callees: HashMap<FuncId, Vec<FuncId>> = HashMap::default();
    let mut racy = Vec::new();
    let top_level = |f: FuncId| model.funcs[f].parent.is_none() && model.funcs[f].class.is_none();
    // A later `def` of the same name is the one importers get.
    let mut last: HashMap<&str, FuncId> = HashMap::default();
    for f in (0..model.funcs.len()).filter(|&f| top_level(f)) {
        last.insert(model.funcs[f].def.name, f);
    }
    for (f, info) in model.funcs.iter().enumerate() {
        if !top_level(f) || last.get(info.def.name) != Some(&f) {
            continue;
        }
        let mut seen: HashSet<FuncId> = HashSet::default();
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


/// Functions that run on more than one thread, with the functions they call in this module.
fn multi_threaded(model: &Model<'_, '_>) -> Vec<FuncId> {
    let mut roots: Vec<FuncId> = Vec::new();
    for (i, s) in model.spawns.iter().enumerate() {
        if s.exec != Exec::Threads {
            continue;
        }
        let Some(f) = s.target_fn else { continue };
        let in_loop = s.site.is_some_and(|c| model.calls[c].loop_range.is_some());
        let repeated = model.spawns.iter().enumerate().any(|(j, o)| j != i && o.target_fn == Some(f));
        if s.pool.is_some() || in_loop || repeated {
            roots.push(f);
        }
    }
    let mut seen: HashSet<FuncId> = HashSet::default();
    let mut stack = roots;
    while let Some(f) = stack.pop() {
        if seen.len() > 256 || !seen.insert(f) {
            continue;
        }
        stack.extend(model.callees(f).map(|(_, g)| g));
    }
    let mut v: Vec<_> = seen.into_iter().collect();
    v.sort_unstable();
    v
}

fn is_lockish(model: &Model<'_, '_>, e: &Expr<'_>, scope: Option<FuncId>) -> bool {
    let target = match &e.kind {
        ExprKind::Call(c) => &c.func,
        _ => e,
    };
    if let Some(q) = model.qualify(target, scope)
        && [
            "threading.Lock",
            "threading.RLock",
            "threading.Condition",
            "threading.Semaphore",
            "threading.BoundedSemaphore",
            "multiprocessing.Lock",
            "multiprocessing.RLock",
        ]
        .iter()
        .any(|l| q.starts_with(l))
    {
        return true;
    }
    let text = target.dotted().unwrap_or_default().to_ascii_lowercase();
    let last = text.rsplit('.').next().unwrap_or_default();
    ["lock", "mutex", "cond", "sem"].iter().any(|k| last.contains(k))
}

/// A module-level (or enclosing) name bound to a plain dict or list.
fn container_kind(model: &Model<'_, '_>, name: &str, f: FuncId) -> Option<&'static str> {
    let info = &model.funcs[f];
    if info.def.params.contains(&name) || local_binding(model, name, f) {
        return None;
    }
    let values = model.binding(name, info.parent).or_else(|| model.module_names.get(name).cloned())?;
    let mut kind = None;
    for v in values {
        kind = kind.or(Some(container_value(model, v, info.parent)?));
    }
    kind
}

/// A plain dict or list value, seen from `scope`.
fn container_value(model: &Model<'_, '_>, v: &Expr<'_>, scope: Option<FuncId>) -> Option<&'static str> {
    match &v.kind {
        // `{}`/`{…: …}` and `[]` are the plain containers; a tuple is immutable.
        ExprKind::Sequence(_) => Some("container"),
        ExprKind::Call(c) => match model.qualify(&c.func, scope).as_deref() {
            Some("builtins.dict" | "collections.defaultdict" | "collections.OrderedDict") => Some("dict"),
            Some("builtins.list") => Some("list"),
            _ => None,
        },
        _ => None,
    }
}

/// Whether some module-level name is bound to a plain dict or list. When none is, a module-level function can
/// only race through its `global` names.
fn module_has_containers(model: &Model<'_, '_>) -> bool {
    model.module_level_values().any(|v| container_value(model, v, None).is_some())
}

fn local_binding(model: &Model<'_, '_>, name: &str, f: FuncId) -> bool {
    // `binding` walks outwards; a binding of `f` itself shadows the shared one.
    let mut found = false;
    for s in &model.funcs[f].def.body {
        assigns_name(s, name, &mut found);
    }
    found
}

fn assigns_name(s: &Stmt<'_>, name: &str, found: &mut bool) {
    match &s.kind {
        StmtKind::Assign { targets, .. } if targets.iter().any(|t| t.as_name() == Some(name)) => *found = true,
        StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => {}
        _ => s.for_each_block(&mut |b| b.iter().for_each(|s| assigns_name(s, name, found))),
    }
}

struct Finder<'x, 'm, 'a> {
    model: &'x Model<'m, 'a>,
    f: FuncId,
    declared: HashSet<&'a str>,
    locked: u32,
    appended: HashSet<&'a str>,
    out: Vec<(Range, String)>,
    /// Report `self.x op= …` too.
    self_attrs: bool,
}

impl<'a> Finder<'_, '_, 'a> {
    fn block(&mut self, body: &[Stmt<'a>]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, s: &Stmt<'a>) {
        match &s.kind {
            StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => {}
            StmtKind::With { items, body, .. } => {
                let lock = items.iter().any(|i| is_lockish(self.model, &i.context, Some(self.f)));
                self.locked += u32::from(lock);
                for i in items {
                    self.expr(&i.context);
                }
                self.block(body);
                self.locked -= u32::from(lock);
            }
            StmtKind::AugAssign { target, value, .. } => {
                if let Some(n) = target.as_name()
                    && self.declared.contains(n)
                    && self.locked == 0
                {
                    self.out.push((s.range, format!("`{n} op= …` updates shared `{n}`")));
                } else if self.self_attrs
                    && self.locked == 0
                    && let ExprKind::Attribute { value, attr } = &target.kind
                    && value.as_name() == Some("self")
                {
                    self.out.push((
                        s.range,
                        format!("`self.{attr} op= …` updates `self.{attr}`, an attribute of an object shared by those threads,"),
                    ));
                }
                self.expr(value);
            }
            StmtKind::Assign { targets, value: Some(v), .. } => {
                for t in targets {
                    if let Some(n) = t.as_name()
                        && self.declared.contains(n)
                        && self.locked == 0
                        && mentions(v, n)
                    {
                        self.out.push((s.range, format!("`{n} = {n} …` updates shared `{n}`")));
                    }
                }
                self.expr(v);
            }
            StmtKind::If { test, body, orelse } => {
                if self.locked == 0
                    && let Some(dict) = not_in_test(test)
                    && body.iter().any(|b| sets_item(b, dict))
                    && container_kind(self.model, dict, self.f).is_some()
                {
                    self.out.push((
                        s.range,
                        format!("check-then-set on shared `{dict}`: two threads can both miss and both set"),
                    ));
                }
                self.expr(test);
                self.block(body);
                self.block(orelse);
            }
            _ => {
                s.for_each_expr(&mut |e| self.expr(e));
                if let StmtKind::For { iter, .. } = &s.kind {
                    self.read(iter);
                }
                s.for_each_block(&mut |b| self.block(b));
            }
        }
    }

    fn read(&mut self, e: &Expr<'a>) {
        if let Some(n) = e.as_name()
            && self.appended.contains(n)
            && self.locked == 0
        {
            self.out.push((e.range, format!("reads shared list `{n}` after appending to it")));
            self.appended.remove(n);
        }
    }

    fn expr(&mut self, e: &Expr<'a>) {
        match &e.kind {
            ExprKind::Call(c) => {
                if let ExprKind::Attribute { value, attr } = &c.func.kind
                    && let Some(n) = value.as_name()
                {
                    if matches!(*attr, "append" | "extend" | "insert")
                        && self.locked == 0
                        && container_kind(self.model, n, self.f).is_some()
                    {
                        self.appended.insert(n);
                    } else if matches!(*attr, "pop" | "clear" | "copy" | "index") {
                        self.read(value);
                    }
                }
                if self.model.qualify(&c.func, Some(self.f)).as_deref() == Some("builtins.len")
                    && let Some(a) = c.args.first()
                {
                    self.read(a);
                }
            }
            ExprKind::Subscript { value, .. } => self.read(value),
            ExprKind::Lambda { .. } => return,
            _ => {}
        }
        e.for_each_child(&mut |c| self.expr(c));
    }
}

fn mentions(e: &Expr<'_>, name: &str) -> bool {
    let mut hit = e.as_name() == Some(name);
    if !hit {
        e.for_each_child(&mut |c| hit |= mentions(c, name));
    }
    hit
}

/// `key not in d` → `d`.
fn not_in_test<'a>(test: &Expr<'a>) -> Option<&'a str> {
    let ExprKind::Compare { ops, comparators, .. } = &test.kind else { return None };
    (ops.len() == 1 && ops[0] == CmpOp::NotIn).then(|| comparators[0].as_name()).flatten()
}

fn sets_item(s: &Stmt<'_>, dict: &str) -> bool {
    match &s.kind {
        StmtKind::Assign { targets, .. } => targets
            .iter()
            .any(|t| matches!(&t.kind, ExprKind::Subscript { value, .. } if value.as_name() == Some(dict))),
        _ => false,
    }
}

fn declared_names<'a>(body: &[Stmt<'a>], out: &mut HashSet<&'a str>) {
    for s in body {
        match &s.kind {
            StmtKind::Global(names) | StmtKind::Nonlocal(names) => out.extend(names.iter().copied()),
            StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => {}
            _ => s.for_each_block(&mut |b| declared_names(b, out)),
        }
    }
}

/// Whether `f` calls some `….acquire()` (outside nested functions and classes). Read from the syntax tree, so
/// that it also works on a model built as an index only (a module no rule reports on, whose functions other
/// modules may run on threads).
fn calls_acquire(model: &Model<'_, '_>, f: FuncId) -> bool {
    fn visit(e: &Expr<'_>, found: &mut bool) {
        if *found {
            return;
        }
        if let ExprKind::Call(c) = &e.kind
            && matches!(&c.func.kind, ExprKind::Attribute { attr: "acquire", .. })
        {
            *found = true;
            return;
        }
        e.for_each_child(&mut |c| visit(c, found));
    }
    let mut found = false;
    walk_body_exprs(&model.funcs[f].def.body, &mut |e| visit(e, &mut found));
    found
}

/// The unlocked updates of shared state written in `f` itself (not in the functions it calls): their ranges and
/// what they are. Empty when `f` takes a lock with `acquire()` (coarsely, the whole function counts as locked).
fn unlocked_updates(model: &Model<'_, '_>, f: FuncId) -> Vec<(Range, String)> {
    unlocked_updates_with(model, f, true)
}

/// Words one of which is in the text of any function with a finding that declares no `global` or `nonlocal`
/// name: check-then-set needs `not in`, reads after appending need `append`, `extend` or `insert`.
const CONTAINER_WORDS: &[&str] = &["not", "append", "extend", "insert"];

/// Whether `f` declares some `global` or `nonlocal` name.
fn declares_shared(model: &Model<'_, '_>, f: FuncId) -> bool {
    let mut declared = HashSet::default();
    declared_names(&model.funcs[f].def.body, &mut declared);
    !declared.is_empty()
}

/// [`unlocked_updates`], told whether the module binds some name to a plain container
/// ([`module_has_containers`]): a module-level function of a module that binds none, and that declares no
/// `global`, has none and is not searched.
fn unlocked_updates_with(model: &Model<'_, '_>, f: FuncId, containers: bool) -> Vec<(Range, String)> {
    let mut declared = HashSet::default();
    declared_names(&model.funcs[f].def.body, &mut declared);
    if (declared.is_empty() && !containers && model.funcs[f].parent.is_none()) || calls_acquire(model, f) {
        return Vec::new();
    }
    let mut finder =
        Finder { model, f, declared, locked: 0, appended: HashSet::default(), out: Vec::new(), self_attrs: false };
    finder.block(&model.funcs[f].def.body);
    finder.out
}

/// Like [`unlocked_updates`], also reporting `self.x op= …` (`f` is a method of an object whose methods run on
/// several threads).
fn unlocked_updates_of_self(model: &Model<'_, '_>, f: FuncId) -> Vec<(Range, String)> {
    if calls_acquire(model, f) {
        return Vec::new();
    }
    let mut declared = HashSet::default();
    declared_names(&model.funcs[f].def.body, &mut declared);
    let mut finder =
        Finder { model, f, declared, locked: 0, appended: HashSet::default(), out: Vec::new(), self_attrs: true };
    finder.block(&model.funcs[f].def.body);
    finder.out
}

/// Methods of one object that run on several threads: a bound method of `self` handed to a thread pool, or to
/// threads started in a loop or more than once (`ex.submit(self._visit, root)`), and the methods it calls on
/// `self` (issue 13). Every thread shares that `self`.
fn shared_self_methods(model: &Model<'_, '_>) -> HashSet<FuncId> {
    let mut roots: Vec<FuncId> = Vec::new();
    for (i, s) in model.spawns.iter().enumerate() {
        if s.exec != Exec::Threads {
            continue;
        }
        let (Some(f), Some(t)) = (s.target_fn, s.target) else { continue };
        let on_self = matches!(&t.kind, ExprKind::Attribute { value, .. } if value.as_name() == Some("self"));
        if !on_self || model.funcs[f].class.is_none() {
            continue;
        }
        let in_loop = s.site.is_some_and(|c| model.calls[c].loop_range.is_some());
        let repeated = model.spawns.iter().enumerate().any(|(j, o)| j != i && o.target_fn == Some(f));
        if s.pool.is_some() || in_loop || repeated {
            roots.push(f);
        }
    }
    let mut seen: HashSet<FuncId> = HashSet::default();
    let mut stack = roots;
    while let Some(f) = stack.pop() {
        if seen.len() > 256 || !seen.insert(f) {
            continue;
        }
        let class = model.funcs[f].class;
        stack.extend(model.callees(f).filter_map(|(i, g)| {
            let on_self = matches!(&model.calls[i].call.func.kind,
                ExprKind::Attribute { value, .. } if value.as_name() == Some("self"));
            (on_self && model.funcs[g].class == class).then_some(g)
        }));
        // `self.progress.on_new_object(…)`: an object held by the shared one is shared too (forseti's crawler).
        for &i in &model.calls_by_func[f] {
            let c = &model.calls[i];
            if let Some((recv, m)) = held_object_call(&c.call.func)
                && let Some(d) = held_object_class(model, recv, c.scope)
                && let Some(g) = model.method(d, m)
            {
                stack.push(g);
            }
        }
    }
    seen
}

/// `self.attr.method(…)`'s callee: (`self.attr`, `method`).
fn held_object_call<'e, 'a>(func: &'e Expr<'a>) -> Option<(&'e Expr<'a>, &'a str)> {
    let ExprKind::Attribute { value: recv, attr: m } = &func.kind else { return None };
    let ExprKind::Attribute { value: base, .. } = &recv.kind else { return None };
    (base.as_name() == Some("self")).then_some((&**recv, *m))
}

/// The class of this module whose instance `self.attr` holds: every value assigned to it is `Class(…)` (the
/// same class).
fn held_object_class<'a>(model: &Model<'_, 'a>, recv: &Expr<'a>, scope: Option<FuncId>) -> Option<&'a str> {
    let values = model.values_of(recv, scope);
    let mut class = None;
    for v in values {
        let ExprKind::Call(c) = &v.kind else { return None };
        let n = c.func.as_name()?;
        if !model.classes.contains_key(n) || class.is_some_and(|k| k != n) {
            return None;
        }
        class = Some(n);
    }
    class
}

/// The functions `f` calls that are defined in the same module, found from the syntax tree (so that it also works
/// on a model built as an index only), in order of first call.
fn module_callees(model: &Model<'_, '_>, f: FuncId) -> Vec<FuncId> {
    let mut out = Vec::new();
    let mut visit = |e: &Expr<'_>| {
        fn calls<'s, 'a>(e: &'s Expr<'a>, out: &mut Vec<&'s Expr<'a>>) {
            if let ExprKind::Call(c) = &e.kind {
                out.push(&c.func);
            }
            e.for_each_child(&mut |c| calls(c, out));
        }
        let mut funcs = Vec::new();
        calls(e, &mut funcs);
        for func in funcs {
            if let Some(g) = model.resolve_function(func, Some(f))
                && !out.contains(&g)
            {
                out.push(g);
            }
        }
    };
    walk_body_exprs(&model.funcs[f].def.body, &mut visit);
    out
}

/// The message and help of a finding: `what` was found in `name`, which runs on several threads.
fn advice(what: &str, name: &str, free_threaded: bool) -> (String, &'static str) {
    if free_threaded {
        (
            format!(
                "{what} without a lock in `{name}`, which runs on several threads: on free-threaded CPython the \
                 threads run truly in parallel and updates are lost under any load"
            ),
            "guard the update with a `threading.Lock` (`with lock:`), or hand results over a `queue.Queue`; \
             built-in dicts and lists stay consistent without the GIL, read-modify-write sequences do not",
        )
    } else {
        (
            format!(
                "{what} without a lock in `{name}`, which runs on several threads: the GIL does not make \
                 read-modify-write atomic, so updates can be lost"
            ),
            "guard the update with a `threading.Lock` (`with lock:`), or hand results over a `queue.Queue`",
        )
    }
}

/// Reports unlocked updates of shared state in multi-threaded functions.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    let on_self = shared_self_methods(model);
    let mut funcs = multi_threaded(model);
    let mut extra: Vec<FuncId> = on_self.iter().copied().filter(|f| !funcs.contains(f)).collect();
    extra.sort_unstable();
    funcs.extend(extra);
    for f in funcs {
        let updates = if on_self.contains(&f) { unlocked_updates_of_self(model, f) } else { unlocked_updates(model, f) };
        for (range, what) in updates {
            let (message, help) = advice(&what, cx.func_name(f), cx.settings.python.free_threaded);
            let d = cx.diagnostic(&META, range, message).with_help(help);
            let (msg, span) = cx.def_note(f);
            cx.report(d.with_note(msg, span));
        }
    }
}
