//! CA502 `io-bound-work-on-processes`: I/O-bound work handed to worker processes.

use crate::declare_rule;
use crate::python::Checker;
use crate::python::semantic::Exec;
use crate::python::summary::Kind;

declare_rule! {
    /// ## What it does
    /// Finds I/O-bound functions (sleeping, network, files, subprocesses, database drivers — and no CPU-heavy
    /// work) run in worker processes: `ProcessPoolExecutor.submit/map`, `multiprocessing.Pool.map/apply_async/…`,
    /// `multiprocessing.Process(target=…)`, `loop.run_in_executor(process_pool, …)`.
    ///
    /// ## Why is this bad?
    /// A worker process costs a whole interpreter (tens of MB) and start-up time, and every argument and result
    /// is pickled across a pipe. Waiting on I/O does not need another interpreter: blocking I/O releases the GIL,
    /// so threads (or asyncio tasks) wait in parallel at a fraction of the cost, and can be many more than cores.
    ///
    /// ## Known problems
    /// Only targets whose I/O is clear and whose other calls the analysis can see are reported; a worker that
    /// also calls a library it cannot see is left alone. A process may be chosen on purpose for isolation (a
    /// crashing driver, a memory leak): suppress the finding there.
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
    pub static RULE = {
        code: "CA502",
        name: "io-bound-work-on-processes",
        severity: Info,
        language: Python,
        summary: "I/O-bound work on processes pays for interpreters it does not need",
    };
}

/// Reports I/O-bound targets of process spawns.
pub fn check(cx: &mut Checker<'_, '_, '_>) {
    for spawn in &cx.model.spawns {
        if spawn.exec != Exec::Processes {
            continue;
        }
        let Some(f) = spawn.target_fn else { continue };
        let s = cx.summaries.summary(f);
        if s.kind() != Kind::IoBound {
            continue;
        }
        let Some(ev) = s.io.first() else { continue };
        let name = cx.func_name(f).to_string();
        let d = cx
            .diagnostic(
                &RULE,
                spawn.range,
                format!(
                    "`{name}` is I/O-bound (`{}` at line {}) but runs in worker processes (`{}`): each process \
                     costs an interpreter and pickling, and waiting on I/O does not need one",
                    ev.what,
                    cx.line(ev.range),
                    spawn.api
                ),
            )
            .with_help("use `concurrent.futures.ThreadPoolExecutor` (blocking I/O releases the GIL) or asyncio")
            .with_note(format!("I/O: `{}`", ev.what), Some(cx.span(ev.range)));
        let (msg, span) = cx.def_note(f);
        cx.report(d.with_note(msg, span));
    }
}
