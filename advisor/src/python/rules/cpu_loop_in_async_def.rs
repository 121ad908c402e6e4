//! CA504 `cpu-loop-in-async-def`: CPU-heavy loops (or calls to CPU-heavy functions) inside `async def` that never
//! await.

use std::path::Path;

use crate::declare_rule;
use crate::python::linker::{FactsCx, Linker};
use crate::python::rules::{LinkFacts, PythonRule};
use crate::python::summary::{Evidence, is_listed_api};
use crate::registry::RuleMeta;
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
    /// practice. Suppress it there. Functions of third-party libraries are not followed. String building is not
    /// arithmetic (`str(x) + suffix`, `"prefix_" + name.upper()`, f-strings, names bound to strings, parameters
    /// annotated `str`, calls to functions annotated `-> str`, a recursive name builder `"v_" + name(f.inner)`),
    /// and a loop over a small literal collection (`for k in {"a": 1, "b": 2}`, a name bound to one or to a
    /// comprehension over one, its `.items()`) counts as little work; an inner loop that runs only under a
    /// condition of the outer one (`for t in tasks: if over(t): for w in …`) is no evidence of nested work. A string returned by a function of another
    /// module, or known only from a local's annotation, is still read as a number.
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
    pub static META = {
        code: "CA504",
        name: "cpu-loop-in-async-def",
        severity: Warning,
        language: Python,
        summary: "a CPU-heavy loop inside `async def` holds the event loop",
    };
}

/// The rule: per file, and across files in the link phase (calls to CPU-heavy functions of another module).
pub struct Rule;

/// Direct, non-awaited calls from `async def` to imported functions.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct AsyncCalls {
    /// The calls.
    pub calls: Vec<AsyncCallFact>,
}

/// A direct, non-awaited call from an `async def` to an imported function.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct AsyncCallFact {
    /// The `async def`'s name.
    pub caller: String,
    /// The call.
    pub span: Span,
    /// The callee's absolute name.
    pub qual: String,
}

impl LinkFacts for AsyncCalls {
    fn starts_link(&self) -> bool {
        !self.calls.is_empty()
    }
}

impl PythonRule for Rule {
    type Facts = AsyncCalls;

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    /// The calls the per-file check cannot judge: to names imported from other modules, outside heavy loops.
    fn facts(&self, fx: &FactsCx<'_, '_, '_, '_, '_>) -> AsyncCalls {
        let (cx, model) = (fx.cx, fx.cx.model);
        let mut calls = Vec::new();
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
                if model.resolve_function(&c.call.func, c.scope).is_some()
                    || c.qual.as_deref().is_some_and(is_listed_api)
                {
                    continue;
                }
                if let Some(qual) = fx.project.external_name(&c.call.func) {
                    calls.push(AsyncCallFact { caller: info.def.name.to_string(), span: cx.span(c.range), qual });
                }
            }
        }
        AsyncCalls { calls }
    }

    /// Calls from `async def` to a function of another module whose summary, joined across modules, is
    /// CPU-heavy.
    fn link(&self, p: &Linker<'_>, facts: &[&AsyncCalls], out: &mut Vec<Diagnostic>) {
        for (fi, file) in p.files.iter().enumerate() {
            for call in &facts[fi].calls {
                let Some(node) = p.resolve(&call.qual, fi) else { continue };
                let callee = p.func(node);
                if callee.is_async || callee.is_generator {
                    continue;
                }
                let Some(j) = p.joined(node) else { continue };
                if j.kind() != Kind::CpuHeavy {
                    continue;
                }
                let Some((ef, ev)) = j.cpu.iter().find(|(_, e)| e.strong) else { continue };
                let d = call_finding(&file.path, call.span, &callee.name, &call.caller);
                let d = p.note(d, fi, *ef, format!("CPU-heavy: {}", ev.what), ev.span);
                out.push(p.def_note(d, fi, node));
            }
        }
    }
}

const HELP: &str = "move the computation into a plain function and run it with \
                    `await loop.run_in_executor(process_pool, fn, …)` on a `ProcessPoolExecutor` \
                    (`asyncio.to_thread` only helps if the work releases the GIL)";

/// Reports heavy loops and calls to heavy functions in `async def`s.
fn check(cx: &mut Checker<'_, '_, '_>) {
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
                    &META,
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

/// The finding for a call to CPU-heavy `callee` inside `async def caller`, without notes.
fn call_finding(path: &Path, span: Span, callee: &str, caller: &str) -> Diagnostic {
    Diagnostic::new(
        &META,
        path,
        span,
        format!("call to CPU-heavy `{callee}` inside `async def {caller}` holds the event loop until it returns"),
    )
    .with_help(HELP)
}
