//! The execution context of the code being visited: a stack of frames (functions, closures, async blocks)
//! that says whether the current code runs on an async executor, which async function or block that is, and
//! which runtime flavour (current-thread or multi-thread) it runs under when that is known.

use crate::diagnostic::Span;

/// Why a closure does not run on the executor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffExecutor {
    /// `tokio::task::spawn_blocking`, `Handle::spawn_blocking`, `smol::unblock`, `actix_web::web::block`, …
    SpawnBlocking,
    /// `tokio::task::block_in_place`: the closure may block; the runtime moves other tasks away.
    BlockInPlace,
    /// `std::thread::spawn`, `thread::Builder::spawn`, a scoped thread's `s.spawn`.
    Thread,
    /// Work handed to rayon (`rayon::spawn`, `join`, `scope`, `install`, parallel iterator closures).
    Rayon,
}

/// The kind of a frame on the context stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// `async fn` (free function, method, trait method with a body).
    AsyncFn,
    /// `async { … }` / `async move { … }`.
    AsyncBlock,
    /// `async |x| …` / `async move || …`.
    AsyncClosure,
    /// A non-async function item: its body never runs on the executor merely because it is nested in async code.
    Fn,
    /// A plain closure: runs wherever it is called; treated as running in the enclosing context.
    Closure,
    /// A closure handed to something that runs it off the executor.
    OffExecutor(OffExecutor),
}

impl FrameKind {
    /// Whether this frame is async (its code runs on the executor).
    pub fn is_async(self) -> bool {
        matches!(self, FrameKind::AsyncFn | FrameKind::AsyncBlock | FrameKind::AsyncClosure)
    }
}

/// The flavour of the tokio runtime code runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeFlavor {
    /// Not known from this file.
    #[default]
    Unknown,
    /// A current-thread runtime: `#[tokio::test]` (default), `flavor = "current_thread"`,
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// A multi-thread runtime: `#[tokio::main]` (default), `flavor = "multi_thread"`.
    MultiThread,
}

/// One frame: a function, closure or async block being visited.
#[derive(Debug, Clone)]
pub struct Frame {
    /// What it is.
    pub kind: FrameKind,
    /// Where its header starts and ends (`async fn name`, the `async` keyword of a block, the closure's
    /// `|…|`), as raw spans: converted to a [`Span`] by [`Frame::span`] only when a diagnostic needs it.
    pub header: (proc_macro2::Span, proc_macro2::Span),
    /// The function's name, for async functions (what notes print).
    pub name: Option<String>,
    /// The runtime flavour this frame is known to run under.
    pub flavor: RuntimeFlavor,
}

impl Frame {
    /// The span of the frame's header.
    pub fn span(&self) -> Span {
        Span::new(Span::from_pm2(self.header.0).start, Span::from_pm2(self.header.1).end)
    }

    /// The note diagnostics attach to point at this frame ("this async function runs on the executor").
    pub fn executor_note(&self) -> String {
        match (self.kind, &self.name) {
            (FrameKind::AsyncFn, Some(n)) => {
                format!("`{n}` is an async function: its body runs on the async executor's worker threads")
            }
            (FrameKind::AsyncClosure, _) => {
                "this async closure's future runs on the async executor's worker threads".to_string()
            }
            (FrameKind::AsyncBlock, _) => "this async block runs on the async executor's worker threads".to_string(),
            _ => "this async function runs on the async executor's worker threads".to_string(),
        }
    }
}

/// The stack of frames, innermost last.
#[derive(Debug, Default)]
pub struct ContextStack {
    frames: Vec<Frame>,
}

impl ContextStack {
    /// Every frame, outermost first.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }

    /// The async function, block or closure whose code is being visited, if the current code runs on the
    /// executor: the innermost frame that is not a plain closure, if it is async. A nested non-async `fn` or a
    /// closure handed to `spawn_blocking`/`thread::spawn`/rayon ends the search.
    pub fn async_frame(&self) -> Option<&Frame> {
        for f in self.frames.iter().rev() {
            match f.kind {
                FrameKind::Closure => continue,
                k if k.is_async() => return Some(f),
                _ => return None,
            }
        }
        None
    }

    /// Whether the current code runs on the executor.
    pub fn in_async(&self) -> bool {
        self.async_frame().is_some()
    }

    /// The innermost frame, if any.
    pub fn innermost(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The innermost function frame (`fn` or `async fn`), skipping closures and async blocks.
    pub fn enclosing_fn(&self) -> Option<&Frame> {
        self.frames.iter().rev().find(|f| matches!(f.kind, FrameKind::Fn | FrameKind::AsyncFn))
    }

    /// The runtime flavour the current code is known to run under: the innermost frame with a known flavour,
    /// up to the nearest non-async function.
    pub fn flavor(&self) -> RuntimeFlavor {
        for f in self.frames.iter().rev() {
            if f.flavor != RuntimeFlavor::Unknown {
                return f.flavor;
            }
            if matches!(f.kind, FrameKind::Fn | FrameKind::OffExecutor(_)) {
                break;
            }
        }
        RuntimeFlavor::Unknown
    }

    pub(crate) fn push(&mut self, frame: Frame) {
        self.frames.push(frame);
    }

    pub(crate) fn pop(&mut self) {
        self.frames.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: FrameKind) -> Frame {
        let s = proc_macro2::Span::call_site();
        Frame { kind, header: (s, s), name: None, flavor: RuntimeFlavor::Unknown }
    }

    #[test]
    fn closures_inherit_and_fns_and_spawn_blocking_do_not() {
        let mut s = ContextStack::default();
        assert!(!s.in_async());
        s.push(frame(FrameKind::AsyncFn));
        assert!(s.in_async());
        s.push(frame(FrameKind::Closure));
        assert!(s.in_async());
        s.push(frame(FrameKind::OffExecutor(OffExecutor::SpawnBlocking)));
        assert!(!s.in_async());
        s.push(frame(FrameKind::AsyncBlock));
        assert_eq!(s.async_frame().map(|f| f.kind), Some(FrameKind::AsyncBlock));
        s.pop();
        s.pop();
        s.push(frame(FrameKind::Fn));
        assert!(!s.in_async());
    }

    #[test]
    fn flavor_is_inherited_until_a_sync_fn() {
        let mut s = ContextStack::default();
        s.push(Frame { flavor: RuntimeFlavor::CurrentThread, ..frame(FrameKind::AsyncFn) });
        s.push(frame(FrameKind::AsyncBlock));
        assert_eq!(s.flavor(), RuntimeFlavor::CurrentThread);
        s.push(frame(FrameKind::Fn));
        assert_eq!(s.flavor(), RuntimeFlavor::Unknown);
    }
}
