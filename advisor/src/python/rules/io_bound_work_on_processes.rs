//! CA502 `io-bound-work-on-processes`: I/O-bound work handed to worker processes.

use std::path::Path;

use crate::declare_rule;
use crate::python::linker::Linker;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::diagnostic::{Diagnostic, Span};
use crate::python::Checker;
use crate::python::semantic::Exec;
use crate::python::summary::Kind;

declare_rule! {
    /// ## What it does
    /// Finds I/O-bound functions (sleeping, network, files, subprocesses, database drivers — and no CPU-heavy
    /// work) run in worker processes: `ProcessPoolExecutor.submit/map`, `multiprocessing.Pool.map/apply_async/…`,
    /// `loop.run_in_executor(process_pool, …)`, and `multiprocessing.Process(target=…)` started in a loop.
    ///
    /// ## Why is this bad?
    /// A worker process costs a whole interpreter (tens of MB) and start-up time, and every argument and result
    /// is pickled across a pipe. Waiting on I/O does not need another interpreter: blocking I/O releases the GIL,
    /// so threads (or asyncio tasks) wait in parallel at a fraction of the cost, and can be many more than cores.
    ///
    /// ## Known problems
    /// Only targets whose I/O is clear and whose other calls the analysis can see are reported; a worker that
    /// also calls a library it cannot see is left alone. A single `Process(target=…)` is not judged: it is
    /// often there for isolation (a per-process lock, a signal, a crashing driver). Processes started inside a
    /// test function (`def test…`) are not judged either: tests start processes to exercise them. Suppress the
    /// finding where a pool of processes is chosen on purpose for isolation.
    ///
    /// Precision: on the CPython 3.10–3.13 standard libraries, the packages installed for Python 3.11
    /// (site-packages and Debian's dist-packages) and ten projects that use process pools (black, flake8, pylint, joblib, loky, pebble, mpire, dask, pytest-xdist, sphinx), the only
    /// finding before the test-function exclusion was a false positive in multiprocessing's own tests; after it,
    /// there is none. Real code rarely hands a process pool work whose every call the analysis can see, so the
    /// rule keeps `info` severity until a larger sample of findings has been reviewed.
    ///
    /// ## Example
    /// ```python
    /// def fetch(url):
    ///     return requests.get(url).text
    ///
    /// with ProcessPoolExecutor() as ex:
    ///     pages = list(ex.map(fetch, urls))
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// with ThreadPoolExecutor(max_workers=32) as ex:
    ///     pages = list(ex.map(fetch, urls))
    /// ```
    pub static META = {
        code: "CA502",
        name: "io-bound-work-on-processes",
        severity: Info,
        language: Python,
        summary: "I/O-bound work on processes pays for interpreters it does not need",
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

    /// Process sites (pools, processes started in a loop) whose target, joined across modules, is I/O-bound.
    fn link(&self, p: &Linker<'_>, _: &[&()], out: &mut Vec<Diagnostic>) {
        for s in p.sites() {
            if s.site.exec != Exec::Processes || !s.site.judged_for_io || s.joined.kind() != Kind::IoBound {
                continue;
            }
            let Some((ef, ev)) = s.joined.io.first() else { continue };
            let file = &p.files[s.file];
            let place = p.place(s.file, *ef, ev, s.name);
            let d = finding(&file.path, s.site.span, s.name, &ev.what, &place, &s.site.api);
            let d = p.note(d, s.file, *ef, format!("I/O: `{}`", ev.what), ev.span);
            out.push(p.def_note(d, s.file, s.target));
        }
    }
}

/// Reports I/O-bound targets of process spawns.
fn check(cx: &mut Checker<'_, '_, '_>) {
    for spawn in &cx.model.spawns {
        if spawn.exec != Exec::Processes {
            continue;
        }
        // A single `Process` is often there for isolation (a lock, a signal, a crash), not throughput: only
        // pools and processes started in a loop are judged.
        if spawn.pool.is_none() && spawn.site.is_none_or(|c| cx.model.calls[c].loop_range.is_none()) {
            continue;
        }
        // Tests start processes to test processes (or the code that runs in them), not for throughput.
        if cx.model.in_test_function(spawn.scope) {
            continue;
        }
        let Some(f) = spawn.target_fn else { continue };
        let s = cx.summaries.summary(f);
        if s.kind() != Kind::IoBound {
            continue;
        }
        let Some(ev) = s.io.first() else { continue };
        let name = cx.func_name(f).to_string();
        let d = finding(cx.path, cx.span(spawn.range), &name, &ev.what, &cx.evidence_place(ev, f), &spawn.api)
            .with_note(format!("I/O: `{}`", ev.what), Some(cx.span(ev.range)));
        let (msg, span) = cx.def_note(f);
        cx.report(d.with_note(msg, span));
    }
}

/// The finding for I/O-bound `name` (evidence `what` at `place`) run in processes through `api`, without notes.
fn finding(path: &Path, span: Span, name: &str, what: &str, place: &str, api: &str) -> Diagnostic {
    Diagnostic::new(
        &META,
        path,
        span,
        format!(
            "`{name}` is I/O-bound (`{what}` at {place}) but runs in worker processes (`{api}`): each process \
             costs an interpreter and pickling, and waiting on I/O does not need one"
        ),
    )
    .with_help("use `concurrent.futures.ThreadPoolExecutor` (blocking I/O releases the GIL) or asyncio")
}
