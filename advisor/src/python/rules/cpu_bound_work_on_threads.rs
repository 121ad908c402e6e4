//! CA501 `cpu-bound-work-on-threads`: CPU-bound Python work handed to threads, which the GIL serialises.

use std::path::Path;

use crate::declare_rule;
use crate::python::linker::{FactsCx, Linker};
use crate::python::rules::{LinkFacts, PythonRule};
use crate::registry::RuleMeta;
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::python::Checker;
use crate::python::ast::{ExprKind, Range, Stmt, StmtKind};
use crate::python::semantic::{Exec, FuncId, Model};
use crate::python::summary::Kind;

declare_rule! {
    /// ## What it does
    /// Finds CPU-bound functions run on threads: `threading.Thread(target=…)`, `ThreadPoolExecutor.submit/map`,
    /// `multiprocessing.dummy.Pool` / `ThreadPool`, `loop.run_in_executor(None, …)` and `asyncio.to_thread(…)`.
    /// The target is followed to its definition, in the same module or another module of the project, and
    /// through the functions it calls (across modules too); it counts as CPU-bound only on clear evidence (loops doing arithmetic, nested loops, large ranges, arithmetic
    /// recursion, parsing in a loop) and no I/O.
    ///
    /// ## Why is this bad?
    /// On the standard (GIL) CPython build only one thread runs Python bytecode at a time. CPU-bound threads take
    /// turns: four threads finish no sooner than one, and often later (switching and contention). Processes each
    /// have their own interpreter and GIL and do run in parallel.
    ///
    /// ## Free-threaded CPython (3.13t / 3.14t)
    /// On a free-threaded build (`python3.13t`, `python3.14t`; `sys._is_gil_enabled()` returns `False`) threads
    /// do run Python code in parallel. With `python.free-threaded = true` this rule reports at `info` severity
    /// and says so, reminding you that importing an extension not marked free-threading-safe re-enables the GIL.
    ///
    /// A worker whose arithmetic is updating shared module state (`global hits; hits += 1`, `counts[k] += 1`,
    /// often under a lock) gets different advice: its threads contend on that state, which is not parallel
    /// computation; restructure it to return results and combine them. Processes are not advised there: each
    /// would update its own copy of the state. This holds for a worker defined in another module of the project
    /// too.
    ///
    /// ## Known problems
    /// Hashing and compression (`hashlib`, `zlib`, `bz2`, `lzma`) release the GIL on large buffers, so threads
    /// running only those are *not* reported. Targets defined in another module of the project are followed
    /// there (`from pkg.work import crunch`), but a target that calls a third-party library stays unknown. A function
    /// whose loops are tiny in practice is still reported: the rule sees code, not data sizes.
    ///
    /// ## Example
    /// ```python
    /// def crunch(n):
    ///     return sum(i * i for i in range(n))
    ///
    /// with ThreadPoolExecutor() as ex:
    ///     results = list(ex.map(crunch, [10**7] * 4))
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// with ProcessPoolExecutor() as ex:
    ///     results = list(ex.map(crunch, [10**7] * 4))
    /// ```
    ///
    /// ## Runtime evidence
    /// Under `conc-advisor profile`, the threads running the target take turns: the run is `serialised` (each
    /// thread `lock-serialized`, blocked on the GIL's futex while the group keeps about one core busy), or a
    /// lone thread is `cpu-bound`. `check --profile` confirms the finding with either verdict.
    pub static META = {
        code: "CA501",
        name: "cpu-bound-work-on-threads",
        severity: Warning,
        language: Python,
        summary: "CPU-bound Python work on threads is serialised by the GIL",
        confirmed_by: [LockSerialized, CpuBound],
    };
}

/// The rule: per file, and across files in the link phase (targets defined in another module).
pub struct Rule;

/// Loops of this module's functions whose work is updating shared module state, for the link step's advice.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct SharedLoops {
    /// The loops.
    pub loops: Vec<SharedLoopFact>,
}

impl LinkFacts for SharedLoops {}

/// A CPU-heavy loop (as in a function's facts) whose arithmetic is updating shared module state.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct SharedLoopFact {
    /// The loop (the span of the CPU evidence).
    pub span: Span,
    /// The module-level names it updates.
    pub names: Vec<String>,
    /// The first update.
    pub at: Span,
    /// Some update is made under a lock.
    pub locked: bool,
}

impl PythonRule for Rule {
    type Facts = SharedLoops;

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    /// The CPU evidence of the module's top-level functions (what other modules may run on threads) whose work
    /// is updating shared module state.
    fn facts(&self, fx: &FactsCx<'_, '_, '_, '_, '_>) -> SharedLoops {
        let (cx, model) = (fx.cx, fx.cx.model);
        let mut loops = Vec::new();
        // Only modules with `global` names or module-level names can hold such a worker.
        if model.module_names.is_empty() {
            return SharedLoops { loops };
        }
        for (f, info) in model.funcs.iter().enumerate() {
            if info.parent.is_some() || info.class.is_some() {
                continue;
            }
            for ev in fx.project.summary(f).cpu.iter().filter(|e| !e.releases_gil) {
                if loops.iter().any(|l: &SharedLoopFact| l.span == cx.span(ev.range)) {
                    continue;
                }
                if let Some(sh) = shared_state_worker(model, ev.func, ev.range) {
                    loops.push(SharedLoopFact {
                        span: cx.span(ev.range),
                        names: sh.names,
                        at: cx.span(sh.at),
                        locked: sh.locked,
                    });
                }
            }
        }
        SharedLoops { loops }
    }

    /// Thread sites whose target, joined across modules, is CPU-bound.
    fn link(&self, p: &Linker<'_>, facts: &[&SharedLoops], out: &mut Vec<Diagnostic>) {
        for s in p.sites() {
            if s.site.exec != Exec::Threads || s.joined.kind() != Kind::CpuHeavy {
                continue;
            }
            let Some((ef, ev)) = s.joined.cpu.iter().find(|(_, e)| !e.releases_gil) else { continue };
            let file = &p.files[s.file];
            // A worker whose work is updating shared module state: contention, never processes.
            if let Some(sh) = facts[*ef].loops.iter().find(|l| l.span == ev.span) {
                let d = contention_finding(&file.path, s.site.span, s.name, &s.site.api, &sh.names, sh.locked);
                let d = p.note(d, s.file, *ef, format!("shared-state update of `{}`", sh.names.join("`, `")), sh.at);
                out.push(p.def_note(d, s.file, s.target));
                continue;
            }
            let place = p.place(s.file, *ef, ev, s.name);
            let d = finding(&file.path, s.site.span, s.name, &ev.what, &place, &s.site.api, file.free_threaded);
            let d = p.note(d, s.file, *ef, format!("CPU-heavy: {}", ev.what), ev.span);
            out.push(p.def_note(d, s.file, s.target));
        }
    }
}

/// Reports CPU-bound targets of thread spawns.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for spawn in &model.spawns {
        if spawn.exec != Exec::Threads {
            continue;
        }
        let Some(f) = spawn.target_fn else { continue };
        let s = cx.summaries.summary(f);
        if s.kind() != Kind::CpuHeavy || !s.holds_gil() {
            continue;
        }
        let Some(ev) = s.cpu.iter().find(|e| !e.releases_gil) else { continue };
        let name = cx.func_name(f).to_string();
        let ev_line = cx.evidence_place(ev, f);
        if let Some(shared) = shared_state_worker(cx.model, ev.func, ev.range) {
            let d = contention_finding(cx.path, cx.span(spawn.range), &name, &spawn.api, &shared.names, shared.locked)
                .with_note(format!("shared-state update of `{}`", shared.names.join("`, `")), Some(cx.span(shared.at)));
            let (msg, span) = cx.def_note(f);
            cx.report(d.with_note(msg, span));
            continue;
        }
        let d = finding(
            cx.path,
            cx.span(spawn.range),
            &name,
            &ev.what,
            &ev_line,
            &spawn.api,
            cx.settings.python.free_threaded,
        )
        .with_note(format!("CPU-heavy: {}", ev.what), Some(cx.span(ev.range)));
        let (msg, span) = cx.def_note(f);
        cx.report(d.with_note(msg, span));
    }
}

/// What a worker updates in shared module state.
struct SharedUpdate {
    /// The module-level names it updates (`hits`, `counts`).
    names: Vec<String>,
    /// The first update.
    at: Range,
    /// Some update is made under a lock (`with lock:`).
    locked: bool,
}

/// A worker whose arithmetic is updating module state: it declares `global` names (or uses module-level
/// containers) and every augmented assignment in its CPU-heavy loop `cpu` updates those (`global hits; hits += 1`,
/// `counts[k] += 1`), none a local. Its threads contend on that state; processes would each update a copy.
fn shared_state_worker(model: &Model<'_, '_>, f: FuncId, cpu: Range) -> Option<SharedUpdate> {
    fn walk<'s, 'a>(body: &'s [Stmt<'a>], locked: bool, out: &mut Vec<(&'s Stmt<'a>, bool)>, globals: &mut Vec<&'a str>) {
        for s in body {
            match &s.kind {
                StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => continue,
                StmtKind::Global(names) => globals.extend(names.iter().copied()),
                StmtKind::AugAssign { .. } => out.push((s, locked)),
                StmtKind::With { items, body, .. } => {
                    let lock = items.iter().any(|i| {
                        i.context.dotted().is_some_and(|d| d.to_ascii_lowercase().contains("lock"))
                    });
                    walk(body, locked || lock, out, globals);
                    continue;
                }
                _ => {}
            }
            s.for_each_block(&mut |b| walk(b, locked, out, globals));
        }
    }
    let def = model.funcs[f].def;
    let mut updates = Vec::new();
    let mut globals = Vec::new();
    walk(&def.body, false, &mut updates, &mut globals);
    let mut names: Vec<String> = Vec::new();
    let mut locked = false;
    let mut at = None;
    // Only the updates in the CPU-heavy loop count: that loop is what the worker spends its time on.
    for (s, l) in updates.iter().filter(|(s, _)| cpu.contains(s.range)) {
        let StmtKind::AugAssign { target, .. } = &s.kind else { continue };
        let base = match &target.kind {
            ExprKind::Name(n) => globals.contains(n).then_some(*n),
            ExprKind::Subscript { value, .. } => value
                .as_name()
                .filter(|n| globals.contains(n) || model.module_names.contains_key(n) && !assigned_in(&def.body, n)),
            _ => None,
        };
        // A local accumulator: the worker computes something of its own.
        let base = base?;
        if !names.iter().any(|x| x == base) {
            names.push(base.to_string());
        }
        locked |= *l;
        at.get_or_insert(s.range);
    }
    Some(SharedUpdate { names, at: at?, locked })
}

/// `name` is assigned (bound) in `body`: a local, not the module's.
fn assigned_in(body: &[Stmt<'_>], name: &str) -> bool {
    let mut hit = false;
    for s in body {
        if let StmtKind::Assign { targets, .. } = &s.kind
            && targets.iter().any(|t| t.as_name() == Some(name))
        {
            hit = true;
        }
        s.for_each_block(&mut |b| hit = hit || assigned_in(b, name));
    }
    hit
}

/// The finding for a thread worker `name` whose work is updating shared module state: contention, not
/// parallel computation. Processes are never advised: each would update its own copy.
fn contention_finding(path: &Path, span: Span, name: &str, api: &str, names: &[String], locked: bool) -> Diagnostic {
    let state = format!("`{}`", names.join("`, `"));
    let how = if locked {
        "under a lock, so the threads wait for each other at every update"
    } else {
        "and the threads take turns on it under the GIL"
    };
    Diagnostic::new(
        &META,
        path,
        span,
        format!(
            "`{name}` runs on threads (`{api}`) and its work is updating shared module state ({state}) {how}: this is contention on shared state, not parallel computation"
        ),
    )
    .with_help(format!(
        "restructure: let each worker compute its own result (a local total) and return it, then combine the results once (`sum(ex.map(…))`), or update {state} once per worker; do not move it to processes — each process would update its own copy of {state}, which would no longer be shared"
    ))
}

/// The finding for CPU-bound `name` (evidence `what` at `place`) run on threads through `api`, without notes.
fn finding(
    path: &Path,
    span: Span,
    name: &str,
    what: &str,
    place: &str,
    api: &str,
    free_threaded: bool,
) -> Diagnostic {
    if free_threaded {
        let mut d = Diagnostic::new(
            &META,
            path,
            span,
            format!(
                "`{name}` is CPU-bound ({what} at {place}) and runs on threads (`{api}`): on free-threaded \
                 CPython (3.13t/3.14t) these threads run in parallel, as long as the GIL stays disabled"
            ),
        )
        .with_help(
            "keep the threads on the free-threaded build, and check at run time that `sys._is_gil_enabled()` \
             is False (importing an extension that is not free-threading-ready re-enables the GIL); on a \
             standard build use `ProcessPoolExecutor`",
        );
        d.severity = Severity::Info;
        d
    } else {
        Diagnostic::new(
            &META,
            path,
            span,
            format!(
                "`{name}` is CPU-bound ({what} at {place}) but runs on threads (`{api}`): the GIL lets one \
                 thread run Python code at a time, so they take turns instead of running in parallel"
            ),
        )
        .with_help(
            "run it in processes (`concurrent.futures.ProcessPoolExecutor` or `multiprocessing.Pool`); \
             on free-threaded CPython 3.13t/3.14t (`sys._is_gil_enabled()` is False) threads do run it in parallel",
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;
    use std::path::Path;

    fn ca501(src: &str) -> Vec<crate::diagnostic::Diagnostic> {
        crate::python::analyze(Path::new("t.py"), src, &Settings::default())
            .into_iter()
            .filter(|d| d.rule.code == "CA501")
            .collect()
    }

    /// Issue 13: a worker whose purpose is updating shared module state is contention, and processes (which
    /// would each update a copy) are never advised for it.
    #[test]
    fn shared_state_workers_get_contention_advice_not_processes() {
        let spawn = "ts = [threading.Thread(target=count, args=(10**6,)) for _ in range(4)]\n";
        for body in [
            "hits = 0\ndef count(n):\n    global hits\n    for i in range(n):\n        with lock:\n            hits += i\n",
            "counts = {}\ndef count(n):\n    for i in range(n):\n        counts[i % 7] += i * i\n",
        ] {
            let src = format!("import threading\nlock = threading.Lock()\n{body}{spawn}");
            let d = ca501(&src);
            assert_eq!(d.len(), 1, "{src}: {d:?}");
            assert!(d[0].message.contains("contention on shared state"), "{}", d[0].message);
            let help = d[0].help.as_deref().unwrap_or_default();
            assert!(help.contains("return it") && help.contains("do not move it to processes"), "{help}");
            assert!(!help.contains("ProcessPoolExecutor"), "{help}");
        }
        // Computation with a local accumulator keeps the advice to use processes.
        let src = format!(
            "import threading\nhits = 0\ndef count(n):\n    global hits\n    t = 0\n    for i in range(n):\n        t += i * i\n    hits += t\n{spawn}"
        );
        let d = ca501(&src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].help.as_deref().is_some_and(|h| h.contains("ProcessPoolExecutor")), "{:?}", d[0].help);
        assert!(!d[0].message.contains("contention"), "{}", d[0].message);
    }
}
