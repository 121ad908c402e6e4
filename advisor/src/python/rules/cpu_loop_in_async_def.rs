//! CA504 `cpu-loop-in-async-def`: CPU-heavy loops (or calls to CPU-heavy functions) inside `async def` that never
//! await.

use std::path::Path;

use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::python::Checker;
use crate::python::ast::is_generator;
use crate::python::summary::Kind;

declare_rule! {
    /// ## What it does
    /// Finds CPU-heavy loops written directly in an `async def` that contain no `await`, and direct, non-awaited
    /// calls from an `async def` to a (non-generator) function of the same module, or of another module of the
    /// project, that is CPU-heavy. Only strong
    /// evidence counts here: loops over a literal range of at least `python.heavy-range`, nested loops doing
    /// arithmetic, hashing/compression/parsing in a loop, arithmetic recursion. (A single `for i in range(n)`
    /// with arithmetic says what kind of work it is, not how much.)
    ///
    /// ## Why is this bad?
    /// The event loop runs one task at a time; a task only gives way at an `await`. A long computation without
    /// one holds the loop: every other task — requests, timeouts, heartbeats — waits for it.
    ///
    /// ## Known problems
    /// The rule sees code, not data: a nested loop over two lists is reported even if they are short in
    /// practice. Suppress it there. Functions of third-party libraries are not followed.
    ///
    /// ## Example
    /// ```python
    /// async def handler(n):
    ///     total = 0
    ///     for i in range(n):
    ///         total += i * i
    ///     return total
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// def crunch(n):
    ///     return sum(i * i for i in range(n))
    ///
    /// async def handler(n):
    ///     loop = asyncio.get_running_loop()
    ///     return await loop.run_in_executor(process_pool, crunch, n)
    /// ```
    pub static RULE = {
        code: "CA504",
        name: "cpu-loop-in-async-def",
        severity: Warning,
        language: Python,
        summary: "a CPU-heavy loop inside `async def` holds the event loop",
    };
}

const HELP: &str = "move the computation into a plain function and run it with \
                    `await loop.run_in_executor(process_pool, fn, …)` on a `ProcessPoolExecutor` \
                    (`asyncio.to_thread` only helps if the work releases the GIL)";

/// Reports heavy loops and calls to heavy functions in `async def`s.
pub fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for (f, info) in model.funcs.iter().enumerate() {
        if !info.def.is_async {
            continue;
        }
        let mut loops = cx.summaries.heavy_loops(f);
        loops.retain(|e| e.strong);
        for ev in &loops {
            let d = cx
                .diagnostic(
                    &RULE,
                    ev.range,
                    format!(
                        "CPU-heavy {} inside `async def {}` never awaits: it holds the event loop until it finishes",
                        ev.what, info.def.name
                    ),
                )
                .with_help(HELP);
            cx.report(d);
        }
        for &i in &model.calls_by_func[f] {
            let c = &model.calls[i];
            if !c.in_async || c.awaited || loops.iter().any(|l| l.range.contains(c.range)) {
                continue;
            }
            let Some(g) = model.resolve_function(&c.call.func, c.scope) else { continue };
            // Calling a generator function only makes a generator; an `async def` is awaited elsewhere.
            if model.funcs[g].def.is_async || is_generator(&model.funcs[g].def.body) {
                continue;
            }
            let s = cx.summaries.summary(g);
            if s.kind() != Kind::CpuHeavy {
                continue;
            }
            let Some(ev) = s.cpu.iter().find(|e| e.strong) else { continue };
            let d = call_finding(cx.path, cx.span(c.range), model.funcs[g].def.name, info.def.name)
                .with_note(format!("CPU-heavy: {}", ev.what), Some(cx.span(ev.range)));
            cx.report(d);
        }
    }
}

/// The finding for a call to CPU-heavy `callee` inside `async def caller`, without notes; shared with the
/// project phase ([`crate::python::project`]), which follows calls into other modules.
pub fn call_finding(path: &Path, span: Span, callee: &str, caller: &str) -> Diagnostic {
    Diagnostic::new(
        &RULE,
        path,
        span,
        format!("call to CPU-heavy `{callee}` inside `async def {caller}` holds the event loop until it returns"),
    )
    .with_help(HELP)
}
