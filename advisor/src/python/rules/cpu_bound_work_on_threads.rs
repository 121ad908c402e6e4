//! CA501 `cpu-bound-work-on-threads`: CPU-bound Python work handed to threads, which the GIL serialises.

use std::path::Path;

use crate::declare_rule;
use crate::python::linker::Linker;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::python::Checker;
use crate::python::semantic::Exec;
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

impl PythonRule for Rule {
    type Facts = ();

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    /// Thread sites whose target, joined across modules, is CPU-bound.
    fn link(&self, p: &Linker<'_>, _: &[&()], out: &mut Vec<Diagnostic>) {
        for s in p.sites() {
            if s.site.exec != Exec::Threads || s.joined.kind() != Kind::CpuHeavy {
                continue;
            }
            let Some((ef, ev)) = s.joined.cpu.iter().find(|(_, e)| !e.releases_gil) else { continue };
            let file = &p.files[s.file];
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
