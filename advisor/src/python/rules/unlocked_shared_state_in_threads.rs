//! CA505 `unlocked-shared-state-in-threads`: shared mutable state updated without a lock by functions that run
//! on several threads.

use std::collections::HashSet;

use crate::declare_rule;
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
    /// Attributes (`self.count += 1`) are not tracked. Across files, only the imported target and the
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
    pub static RULE = {
        code: "CA505",
        name: "unlocked-shared-state-in-threads",
        severity: Warning,
        language: Python,
        summary: "shared mutable state updated from several threads without a lock",
    };
}

/// Functions that run on more than one thread, with the functions they call in this module.
pub(crate) fn multi_threaded(model: &Model<'_, '_>) -> Vec<FuncId> {
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
    let mut seen: HashSet<FuncId> = HashSet::new();
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
pub(crate) fn module_has_containers(model: &Model<'_, '_>) -> bool {
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
                }
                self.expr(value);
            }
            StmtKind::Assign { targets, value: Some(v) } => {
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
pub(crate) fn unlocked_updates(model: &Model<'_, '_>, f: FuncId) -> Vec<(Range, String)> {
    unlocked_updates_with(model, f, true)
}

/// Words one of which is in the text of any function with a finding that declares no `global` or `nonlocal`
/// name: check-then-set needs `not in`, reads after appending need `append`, `extend` or `insert`.
pub(crate) const CONTAINER_WORDS: &[&str] = &["not", "append", "extend", "insert"];

/// Whether `f` declares some `global` or `nonlocal` name.
pub(crate) fn declares_shared(model: &Model<'_, '_>, f: FuncId) -> bool {
    let mut declared = HashSet::new();
    declared_names(&model.funcs[f].def.body, &mut declared);
    !declared.is_empty()
}

/// [`unlocked_updates`], told whether the module binds some name to a plain container
/// ([`module_has_containers`]): a module-level function of a module that binds none, and that declares no
/// `global`, has none and is not searched.
pub(crate) fn unlocked_updates_with(model: &Model<'_, '_>, f: FuncId, containers: bool) -> Vec<(Range, String)> {
    let mut declared = HashSet::new();
    declared_names(&model.funcs[f].def.body, &mut declared);
    if (declared.is_empty() && !containers && model.funcs[f].parent.is_none()) || calls_acquire(model, f) {
        return Vec::new();
    }
    let mut finder = Finder { model, f, declared, locked: 0, appended: HashSet::new(), out: Vec::new() };
    finder.block(&model.funcs[f].def.body);
    finder.out
}

/// The functions `f` calls that are defined in the same module, found from the syntax tree (so that it also works
/// on a model built as an index only), in order of first call.
pub(crate) fn module_callees(model: &Model<'_, '_>, f: FuncId) -> Vec<FuncId> {
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
pub(crate) fn advice(what: &str, name: &str, free_threaded: bool) -> (String, &'static str) {
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
pub fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for f in multi_threaded(model) {
        for (range, what) in unlocked_updates(model, f) {
            let (message, help) = advice(&what, cx.func_name(f), cx.settings.python.free_threaded);
            let d = cx.diagnostic(&RULE, range, message).with_help(help);
            let (msg, span) = cx.def_note(f);
            cx.report(d.with_note(msg, span));
        }
    }
}
