//! [`Collector`]: what the [`Checker`](crate::rust::checker::Checker) and the rules record into a file's
//! [`FileFacts`] during the one visit, placed by where the code runs (a sync function's body, async
//! context, `spawn_blocking`).

use std::path::Path;

use super::facts::{
    BlockFact, CallEdge, Callee, Deferred, FileFacts, FnFacts, HeavyFact, HeldCall, LockAcquire, LockCall, LockOrder,
    LockUse, Site, SiteContext, TyStep, TypeFacts, TypedCall,
};
use crate::diagnostic::Span;
use crate::registry::RuleMeta;
use crate::rust::context::{ContextStack, FrameKind, OffExecutor};
use crate::rust::semantic::Ty;

/// Collects [`FileFacts`] during the visit.
#[derive(Debug, Default)]
pub struct Collector {
    facts: FileFacts,
    /// Indices into `facts.fns` of the functions being visited, innermost last.
    stack: Vec<usize>,
    /// Whether each function on `stack` has a foreign ABI (`extern "C" fn`).
    extern_fn: Vec<bool>,
}

/// Where the current code runs, for recording.
enum Here {
    /// In the body of the innermost sync function (through plain closures).
    SyncFn,
    Site(SiteContext),
    Elsewhere,
}

fn here(cx: &ContextStack) -> Here {
    for f in cx.frames().iter().rev() {
        match f.kind {
            FrameKind::Closure => continue,
            FrameKind::Fn => return Here::SyncFn,
            k if k.is_async() => return Here::Site(SiteContext::Async),
            FrameKind::OffExecutor(OffExecutor::SpawnBlocking) => return Here::Site(SiteContext::SpawnBlocking),
            _ => return Here::Elsewhere,
        }
    }
    Here::Elsewhere
}

impl Collector {
    /// A collector for the file at `path`.
    pub fn new(path: &Path) -> Self {
        Collector { facts: FileFacts { path: path.to_path_buf(), ..FileFacts::default() }, ..Collector::default() }
    }

    /// Entering a function body.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn enter_fn(
        &mut self,
        key: String,
        name: String,
        is_method: bool,
        has_self: bool,
        is_async: bool,
        is_extern: bool,
        span: Span,
    ) {
        self.extern_fn.push(is_extern);
        self.facts.fns.push(FnFacts {
            key,
            name,
            is_method,
            has_self,
            is_async,
            span,
            blocks: Vec::new(),
            heavy: Vec::new(),
            hashes: Vec::new(),
            calls: Vec::new(),
        });
        self.stack.push(self.facts.fns.len() - 1);
    }

    /// Leaving it.
    pub(crate) fn exit_fn(&mut self) {
        self.stack.pop();
        self.extern_fn.pop();
    }

    fn current_sync(&mut self, cx: &ContextStack) -> Option<&mut FnFacts> {
        if !matches!(here(cx), Here::SyncFn) {
            return None;
        }
        let i = *self.stack.last()?;
        self.facts.fns.get_mut(i)
    }

    /// A call to a crate-local function at `span`.
    pub(crate) fn on_call(&mut self, cx: &ContextStack, callee: Callee, span: Span) {
        match here(cx) {
            Here::SyncFn => {
                if let Some(f) = self.current_sync(cx) {
                    f.calls.push(CallEdge { callee, span });
                }
            }
            Here::Site(context) => {
                let Some(frame) = cx.async_frame().or_else(|| cx.enclosing_fn()) else { return };
                let caller = frame.name.clone().map_or_else(|| "this async block".to_string(), |n| format!("`{n}`"));
                let frame_note = match context {
                    SiteContext::Async => (frame.executor_note(), frame.span()),
                    SiteContext::SpawnBlocking => match cx.innermost() {
                        Some(inner) => ("this closure runs on the blocking pool".to_string(), inner.span()),
                        None => (String::new(), span),
                    },
                };
                self.facts.sites.push(Site { callee, span, context, caller, frame_note });
            }
            Here::Elsewhere => {}
        }
    }

    /// A blocking call that is not on the executor: recorded for the enclosing sync function, if any.
    pub(crate) fn on_block(
        &mut self,
        cx: &ContextStack,
        rule: &'static RuleMeta,
        span: Span,
        message: &str,
        help: &str,
    ) {
        // Only in the function's own body (not in a closure, which may run on another thread: `Arbiter::new(||
        // …)`, a callback), and not in an `extern` callback (called by foreign code, often on its own thread).
        if cx.innermost().is_none_or(|f| f.kind != FrameKind::Fn) || self.extern_fn.last() == Some(&true) {
            return;
        }
        if let Some(f) = self.current_sync(cx) {
            f.blocks.push(BlockFact { rule, span, message: message.to_string(), help: help.to_string() });
        }
    }

    /// CPU-heavy evidence at `span`: recorded for the enclosing sync function, if any.
    pub(crate) fn on_heavy(&mut self, cx: &ContextStack, reason: &str, span: Span) {
        if let Some(f) = self.current_sync(cx) {
            f.heavy.push(HeavyFact { reason: reason.to_string(), span });
        }
    }

    /// A hashing, compression or crypto call at `span` (heavy when made on every round of a loop): recorded for
    /// the enclosing sync function, if any.
    pub(crate) fn on_hash(&mut self, cx: &ContextStack, what: &str, span: Span) {
        if let Some(f) = self.current_sync(cx) {
            f.hashes.push(HeavyFact { reason: what.to_string(), span });
        }
    }

    /// Lock `held` is held while `taken` is acquired, in the innermost function being visited.
    pub(crate) fn on_lock_order(&mut self, held: LockUse, taken: LockUse) {
        if let Some(&func) = self.stack.last() {
            self.facts.lock_orders.push(LockOrder { func, held, taken });
        }
    }

    /// A call at `span` made while `held` is held, in the innermost function being visited.
    pub(crate) fn on_held_call(&mut self, held: LockUse, span: Span) {
        if let Some(&func) = self.stack.last() {
            self.facts.held_calls.push(HeldCall { func, held, span });
        }
    }

    /// A call at `span` made while a guard CA407 counts is alive, in the innermost function being visited.
    pub(crate) fn on_guarded_call(&mut self, held: LockUse, span: Span) {
        if let Some(&func) = self.stack.last() {
            self.facts.guarded_calls.push(HeldCall { func, held, span });
        }
    }

    /// A lock acquired at this point: recorded when it runs as part of the innermost sync function's body
    /// (through plain closures), so that callers holding another lock see it.
    pub(crate) fn on_lock_acquire(&mut self, cx: &ContextStack, lock: LockUse) {
        if self.current_sync(cx).is_some()
            && let Some(&func) = self.stack.last()
        {
            self.facts.lock_acquires.push(LockAcquire { func, lock });
        }
    }

    /// A method call in async code whose receiver's type is worked out at link time.
    pub(crate) fn on_typed_call(&mut self, cx: &ContextStack, root: Ty, steps: Vec<TyStep>, method: &str, span: Span) {
        let Some(frame) = cx.async_frame() else { return };
        let frame_note = (frame.executor_note(), frame.span());
        self.facts.typed_calls.push(TypedCall { root, steps, method: method.to_string(), span, frame_note });
    }

    /// The file's type declarations, for the crate phase.
    pub(crate) fn set_types(&mut self, types: TypeFacts) {
        self.facts.types = types;
    }

    /// The innermost function whose own body (sync or async, through plain closures) the current code runs in.
    fn inline_fn(&self, cx: &ContextStack) -> Option<usize> {
        let f = cx.frames().iter().rev().find(|f| f.kind != FrameKind::Closure)?;
        matches!(f.kind, FrameKind::Fn | FrameKind::AsyncFn).then_some(())?;
        self.stack.last().copied()
    }

    /// A crate-local call at `span` (for the lock rules' walks through calls): recorded when it runs in the
    /// innermost function's own body.
    pub(crate) fn on_lock_call(&mut self, cx: &ContextStack, callee: Callee, span: Span, on_self: bool, awaited: bool) {
        if let Some(func) = self.inline_fn(cx) {
            self.facts.lock_calls.push(LockCall { func, callee, span, on_self, awaited });
        }
    }

    /// A lock acquired at this point of an async function's own body (the sync case is
    /// [`on_lock_acquire`](Self::on_lock_acquire)).
    pub(crate) fn on_async_lock_acquire(&mut self, cx: &ContextStack, lock: LockUse) {
        if let Some(func) = self.inline_fn(cx)
            && self.facts.fns.get(func).is_some_and(|f| f.is_async)
        {
            self.facts.async_lock_acquires.push(LockAcquire { func, lock });
        }
    }

    /// A finding to report at link time if a callee has the wanted property.
    pub(crate) fn defer(&mut self, d: Deferred) {
        self.facts.deferred.push(d);
    }

    /// The facts collected so far.
    pub fn facts(&self) -> &FileFacts {
        &self.facts
    }

    /// The collected facts.
    pub(crate) fn finish(self) -> FileFacts {
        self.facts
    }
}
