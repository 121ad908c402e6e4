//! The crate-wide call graph: per-file facts about every function (what it calls, whether it blocks, whether
//! it is CPU-heavy, which locks it takes in what order), collected during the one visit of each file, and the
//! cheap crate-level phase ([`link`]) that joins the facts of all files of a crate, propagates the summaries
//! to a fixpoint and turns call sites in async (or `spawn_blocking`, thread) context into findings with the
//! call chain.
//!
//! # Phases
//! 1. During the visit of a file, [`Collector`] (owned by the [`Checker`](super::checker::Checker)) records:
//!    - one [`FnFacts`] per `fn`/method with a body: its qualified name (`crate::config::load`,
//!      `crate::db::Pool::get`), the blocking calls the rules found in it ([`BlockFact`], fed by
//!      [`Checker::report_on_executor`](super::checker::Checker::report_on_executor) when the code is not
//!      on the executor), CPU-heavy evidence ([`HeavyFact`]), the crate-local calls it makes ([`CallEdge`])
//!      and the locks it takes, in order ([`LockFact`]);
//!    - every call from async context to a crate-local function ([`Site`]), and checks rules deferred until
//!      callees are known ([`Deferred`]).
//! 2. After every file of a crate is analysed, [`link`] builds a [`CrateGraph`] (callees resolved by
//!    qualified name, re-exported names by unique last segment, methods by receiver type or by a unique name),
//!    computes [`Summary`]s by a reverse breadth-first search from the functions that block or are heavy
//!    themselves (shortest chains; recursion terminates because each function is settled once), and reports.
//!
//! Only facts are kept between the phases (strings and spans): no syntax tree, no second parse.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use super::context::{ContextStack, FrameKind, OffExecutor};
use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::settings::Settings;

/// Which function a call names, before the crate-level phase resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Callee {
    /// A path call resolved to a `crate::…` path (`crate::config::load`, `crate::db::Pool::open`).
    Path(String),
    /// A method call `recv.name(..)`: `ty` is the receiver's qualified type when known (`self` in an `impl`,
    /// a typed binding), else the method is resolved by name when exactly one crate method has it.
    Method {
        /// The method's name.
        name: String,
        /// The receiver's qualified type, when known.
        ty: Option<String>,
    },
}

impl Callee {
    /// A short name for messages: the last path segment or the method name.
    pub fn short(&self) -> &str {
        match self {
            Callee::Path(p) => p.rsplit("::").next().unwrap_or(p),
            Callee::Method { name, .. } => name,
        }
    }
}

/// A blocking call found in a function that does not run on the executor itself.
#[derive(Debug, Clone)]
pub struct BlockFact {
    /// The blocking rule (CA1xx) that recognised it.
    pub rule: &'static RuleMeta,
    /// Where the blocking call is.
    pub span: Span,
    /// The rule's message for it (what blocks).
    pub message: String,
    /// The rule's help for it.
    pub help: String,
}

/// Evidence that a function does CPU-heavy work itself.
#[derive(Debug, Clone)]
pub struct HeavyFact {
    /// Why (e.g. "nested loops", "a loop over 0..1000000").
    pub reason: String,
    /// Where.
    pub span: Span,
}

/// A call from a function to a crate-local function.
#[derive(Debug, Clone)]
pub struct CallEdge {
    /// What is called.
    pub callee: Callee,
    /// The call's span.
    pub span: Span,
}

/// A lock taken in a function (`m.lock()`, `rw.read()`, `rw.write()`), in source order.
#[derive(Debug, Clone)]
pub struct LockFact {
    /// The lock by field path: `crate::bank::Bank.accounts` for `self.accounts.lock()` in `impl Bank`,
    /// `crate::state::CONFIG` for a static, else the receiver as written (`shared.inner`).
    pub path: String,
    /// `lock`, `read` or `write`.
    pub method: String,
    /// The call's span.
    pub span: Span,
}

/// A lock as one place takes or holds it, named crate-wide (locks in local variables have no such name and are
/// not recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockUse {
    /// The lock's crate-wide name: a field path qualified by the `impl`'s type (`crate::bank::Bank.accounts`
    /// for `self.accounts` in `impl Bank`), or a static's qualified path (`crate::state::CONFIG`).
    pub lock: String,
    /// A read lock of an `RwLock`: two of them do not exclude each other.
    pub shared: bool,
    /// For a held lock, its guard's binding; for a taken lock, the acquisition (`lock()`).
    pub span: Span,
}

/// Lock `held` is held (its guard alive) while lock `taken` is acquired, in function `func` of the file.
#[derive(Debug, Clone)]
pub struct LockOrder {
    /// Index into [`FileFacts::fns`] of the function.
    pub func: usize,
    /// The lock held.
    pub held: LockUse,
    /// The lock acquired while it is held.
    pub taken: LockUse,
}

/// A call made while a guard is alive, in function `func` of the file: the crate phase resolves the call (by its
/// span, through the function's [`CallEdge`]s or the file's [`Site`]s) and takes the callee's own acquisitions as
/// taken while `held` is held (one level).
#[derive(Debug, Clone)]
pub struct HeldCall {
    /// Index into [`FileFacts::fns`] of the caller.
    pub func: usize,
    /// The lock held.
    pub held: LockUse,
    /// The call's span (as the call graph records it).
    pub span: Span,
}

/// A lock a sync function acquires in its own body (not in closures run elsewhere), for [`HeldCall`]s.
#[derive(Debug, Clone)]
pub struct LockAcquire {
    /// Index into [`FileFacts::fns`] of the function.
    pub func: usize,
    /// The lock.
    pub lock: LockUse,
}

/// What the visit learned about one function.
#[derive(Debug, Clone)]
pub struct FnFacts {
    /// Qualified name: `crate::m::f`, or `crate::m::Type::method` for methods.
    pub key: String,
    /// The bare name.
    pub name: String,
    /// Whether it is a method or associated function in an `impl` (or trait) block.
    pub is_method: bool,
    /// Whether it takes `self` (resolvable by method-call syntax).
    pub has_self: bool,
    /// `async fn`: its body is checked directly, callers of it are not chained.
    pub is_async: bool,
    /// The span of its name.
    pub span: Span,
    /// Blocking calls in its body (outside closures handed to other threads).
    pub blocks: Vec<BlockFact>,
    /// CPU-heavy evidence in its body.
    pub heavy: Vec<HeavyFact>,
    /// Crate-local calls in its body.
    pub calls: Vec<CallEdge>,
    /// Locks taken in its body, in source order.
    pub locks: Vec<LockFact>,
}

/// Where a call site runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteContext {
    /// On the async executor.
    Async,
    /// In a closure handed to `spawn_blocking` (or a similar blocking pool).
    SpawnBlocking,
}

/// A call to a crate-local function from code that runs on the executor (or in `spawn_blocking`).
#[derive(Debug, Clone)]
pub struct Site {
    /// What is called.
    pub callee: Callee,
    /// The call's span.
    pub span: Span,
    /// Where the call runs.
    pub context: SiteContext,
    /// The name of the async function (or "this async block") the call is in.
    pub caller: String,
    /// The note that points at the enclosing async function or block.
    pub frame_note: (String, Span),
}

/// What a deferred check waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// One of the callees is CPU-heavy (itself or through its callees).
    Heavy,
}

/// A finding a rule prepared but that holds only if one of `callees` turns out to have the property `want`
/// once the crate is linked; the chain is added as notes.
#[derive(Debug, Clone)]
pub struct Deferred {
    /// The crate-local calls that would justify it.
    pub callees: Vec<Callee>,
    /// The property wanted.
    pub want: Want,
    /// The finding to report.
    pub diagnostic: Diagnostic,
}

/// Everything the crate-level phase needs from one file.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    /// The file.
    pub path: PathBuf,
    /// Its functions with bodies.
    pub fns: Vec<FnFacts>,
    /// Calls to crate-local functions from async or `spawn_blocking` context.
    pub sites: Vec<Site>,
    /// Findings waiting for callee summaries.
    pub deferred: Vec<Deferred>,
    /// Pairs of locks taken in order (one held while the other is acquired), for the crate-wide lock-order
    /// comparison (CA404).
    pub lock_orders: Vec<LockOrder>,
    /// Calls made while a guard is alive (CA404, one level through calls).
    pub held_calls: Vec<HeldCall>,
    /// Locks the sync functions acquire themselves (CA404, the callee side of [`HeldCall`]s).
    pub lock_acquires: Vec<LockAcquire>,
}

impl FileFacts {
    /// Whether the file holds facts for the crate-wide lock-order comparison (CA404), which needs no async
    /// code: these facts are kept even in a crate that needs no call graph otherwise.
    pub fn has_lock_facts(&self) -> bool {
        !self.lock_orders.is_empty() || !self.held_calls.is_empty() || !self.lock_acquires.is_empty()
    }

    /// Whether the crate phase may report a finding in this file (the engine keeps its text for snippets): it
    /// has call sites in async context, deferred findings, lock orders, or calls to crate-local functions made
    /// while a guard is held.
    pub fn may_report(&self) -> bool {
        !self.sites.is_empty()
            || !self.deferred.is_empty()
            || !self.lock_orders.is_empty()
            || self
                .held_calls
                .iter()
                .any(|h| self.fns.get(h.func).is_some_and(|f| f.calls.iter().any(|c| c.span == h.span)))
    }
}

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
            calls: Vec::new(),
            locks: Vec::new(),
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

    /// A lock taken at `span`: recorded for the enclosing function (sync or async).
    pub(crate) fn on_lock(&mut self, path: String, method: &str, span: Span) {
        if let Some(&i) = self.stack.last()
            && let Some(f) = self.facts.fns.get_mut(i)
        {
            f.locks.push(LockFact { path, method: method.to_string(), span });
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

    /// A lock acquired at this point: recorded when it runs as part of the innermost sync function's body
    /// (through plain closures), so that callers holding another lock see it.
    pub(crate) fn on_lock_acquire(&mut self, cx: &ContextStack, lock: LockUse) {
        if self.current_sync(cx).is_some()
            && let Some(&func) = self.stack.last()
        {
            self.facts.lock_acquires.push(LockAcquire { func, lock });
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

// ---------------------------------------------------------------------------------------------------------
// The crate-level phase.

/// Identifies a function of the crate: (file index, function index).
pub type FnId = (usize, usize);

/// A step of a chain: the function called and the span of the call (in the caller's file).
#[derive(Debug, Clone)]
pub struct Step {
    /// The callee.
    pub callee: FnId,
    /// Where the caller calls it.
    pub span: Span,
}

/// How a function ends up blocking or being heavy: the next step (none when the function does it itself),
/// and the fact at the end of the chain.
#[derive(Debug, Clone)]
pub struct Reach<T> {
    /// The call to follow (none: the function itself holds the fact).
    pub next: Option<Step>,
    /// The fact the chain ends at: (function holding it, index into its facts).
    pub end: (FnId, T),
}

/// The propagated summary of one function.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// For each blocking rule (by code) the function blocks under, the shortest chain to the blocking call.
    pub blocks: HashMap<&'static str, Reach<usize>>,
    /// If the function is CPU-heavy, the shortest chain to the evidence.
    pub heavy: Option<Reach<usize>>,
}

/// The functions of one crate with their resolved calls and propagated summaries.
pub struct CrateGraph<'f> {
    files: &'f [FileFacts],
    by_key: HashMap<&'f str, Vec<FnId>>,
    by_last: HashMap<&'f str, Vec<FnId>>,
    methods: HashMap<&'f str, Vec<FnId>>,
    summaries: HashMap<FnId, Summary>,
    /// Resolved calls of the sync functions (to sync functions).
    forward: HashMap<FnId, Vec<FnId>>,
}

/// Method names too common on std and extern types to resolve by name alone.
pub const AMBIGUOUS_METHODS: &[&str] = &[
    "new",
    "get",
    "get_mut",
    "set",
    "insert",
    "remove",
    "push",
    "pop",
    "len",
    "is_empty",
    "clear",
    "contains",
    "iter",
    "iter_mut",
    "into_iter",
    "next",
    "map",
    "filter",
    "read",
    "write",
    "flush",
    "send",
    "recv",
    "lock",
    "try_lock",
    "clone",
    "to_string",
    "as_str",
    "as_ref",
    "as_mut",
    "borrow",
    "borrow_mut",
    "unwrap",
    "expect",
    "run",
    "call",
    "poll",
    "start",
    "stop",
    "close",
    "open",
    "load",
    "store",
    "update",
    "entry",
    "extend",
    "take",
    "replace",
    "drain",
    "join",
    "spawn",
    "wait",
    "build",
    "finish",
    "parse",
    "from",
    "into",
    "fmt",
    "eq",
    "cmp",
    "hash",
    "default",
    "drop",
    "deref",
    "index",
    "apply",
    "handle",
    "process",
    "execute",
    "connect",
    "accept",
    "bind",
    "listen",
    "shutdown",
    "with",
    "init",
    "reset",
    "first",
    "last",
    "find",
    "unwrap_or",
    "unwrap_or_else",
    "unwrap_or_default",
    "ok",
    "err",
    "map_err",
    "and_then",
    "or_else",
    "ok_or",
    "ok_or_else",
    "collect",
    "as_bytes",
    "to_owned",
    "to_vec",
    "chars",
    "bytes",
    "lines",
    "split",
    "trim",
    "starts_with",
    "ends_with",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "cloned",
    "copied",
    "enumerate",
    "zip",
    "rev",
    "skip",
    "chain",
    "for_each",
    "fold",
    "any",
    "all",
    "count",
    "sum",
    "max",
    "min",
    "position",
    "keys",
    "values",
    "contains_key",
    "get_or_insert_with",
    "or_insert",
    "or_insert_with",
    "or_default",
    "as_slice",
    "as_ptr",
    "set_len",
    "capacity",
    "reserve",
    "truncate",
    "split_at",
    "sort",
    "dedup",
    "format",
    "write_all",
    "write_str",
    "write_fmt",
    "read_exact",
    "read_to_end",
    "read_to_string",
    "await",
    "try_into",
    "try_from",
    "into_inner",
    "get_ref",
    "get_mut",
    "as_deref",
    "filter_map",
    "flat_map",
    "peekable",
    "step_by",
    "windows",
    "chunks",
    "then",
    "then_some",
    "push_str",
    "len_utf8",
    "is_ascii",
];

impl<'f> CrateGraph<'f> {
    /// Builds the graph of a crate from its files' facts and propagates the summaries.
    pub fn build(files: &'f [FileFacts]) -> Self {
        let mut g = Self::index(files);
        g.propagate();
        g
    }

    /// Indexes the functions of a crate for resolving calls, without propagating summaries.
    pub fn index(files: &'f [FileFacts]) -> Self {
        let mut by_key: HashMap<&str, Vec<FnId>> = HashMap::new();
        let mut by_last: HashMap<&str, Vec<FnId>> = HashMap::new();
        let mut methods: HashMap<&str, Vec<FnId>> = HashMap::new();
        for (fi, file) in files.iter().enumerate() {
            for (ni, f) in file.fns.iter().enumerate() {
                by_key.entry(&f.key).or_default().push((fi, ni));
                if f.is_method {
                    if f.has_self {
                        methods.entry(&f.name).or_default().push((fi, ni));
                    }
                } else {
                    by_last.entry(&f.name).or_default().push((fi, ni));
                }
            }
        }
        CrateGraph { files, by_key, by_last, methods, summaries: HashMap::new(), forward: HashMap::new() }
    }

    /// The facts of a function.
    pub fn fn_facts(&self, id: FnId) -> &'f FnFacts {
        &self.files[id.0].fns[id.1]
    }

    /// The file a function is in.
    pub fn file_of(&self, id: FnId) -> &'f Path {
        &self.files[id.0].path
    }

    /// The propagated summary of a function.
    pub fn summary(&self, id: FnId) -> Option<&Summary> {
        self.summaries.get(&id)
    }

    /// Every function of the crate.
    pub fn functions(&self) -> impl Iterator<Item = FnId> + '_ {
        self.files.iter().enumerate().flat_map(|(fi, f)| (0..f.fns.len()).map(move |ni| (fi, ni)))
    }

    /// The functions a call may reach (several for `#[cfg]` variants of one name; none when unresolved or
    /// ambiguous).
    pub fn resolve(&self, callee: &Callee) -> Vec<FnId> {
        match callee {
            Callee::Path(p) => {
                if let Some(ids) = self.by_key.get(p.as_str()) {
                    return ids.clone();
                }
                // A re-export (`pub use config::load;` then `crate::load()`): a unique free function of that name.
                let last = callee.short();
                match self.by_last.get(last) {
                    Some(ids) if same_key(self, ids) => ids.clone(),
                    _ => Vec::new(),
                }
            }
            Callee::Method { name, ty } => {
                if let Some(t) = ty {
                    let key = format!("{t}::{name}");
                    if let Some(ids) = self.by_key.get(key.as_str()) {
                        return ids.clone();
                    }
                    if !t.starts_with("crate::") {
                        return Vec::new();
                    }
                }
                if AMBIGUOUS_METHODS.contains(&name.as_str()) {
                    return Vec::new();
                }
                match self.methods.get(name.as_str()) {
                    Some(ids) if same_key(self, ids) => ids.clone(),
                    _ => Vec::new(),
                }
            }
        }
    }

    fn propagate(&mut self) {
        // Resolve every edge once; build the reverse graph (callee → callers with the call's span).
        let ids: Vec<FnId> = self.functions().collect();
        let mut callers: HashMap<FnId, Vec<(FnId, Span)>> = HashMap::new();
        let mut forward: HashMap<FnId, Vec<FnId>> = HashMap::new();
        for &id in &ids {
            let f = self.fn_facts(id);
            if f.is_async {
                continue;
            }
            for e in &f.calls {
                for c in self.resolve(&e.callee) {
                    if c != id && !self.fn_facts(c).is_async {
                        callers.entry(c).or_default().push((id, e.span));
                        forward.entry(id).or_default().push(c);
                    }
                }
            }
        }
        let mut summaries: HashMap<FnId, Summary> = HashMap::new();
        // Blocking, per rule: reverse BFS from the functions that block themselves (shortest chains first).
        let mut rules: Vec<&'static str> = Vec::new();
        for &id in &ids {
            for b in &self.fn_facts(id).blocks {
                if !rules.contains(&b.rule.code) {
                    rules.push(b.rule.code);
                }
            }
        }
        for code in rules {
            let mut queue = VecDeque::new();
            for &id in &ids {
                let f = self.fn_facts(id);
                if f.is_async {
                    continue;
                }
                if let Some(i) = f.blocks.iter().position(|b| b.rule.code == code) {
                    summaries.entry(id).or_default().blocks.insert(code, Reach { next: None, end: (id, i) });
                    queue.push_back(id);
                }
            }
            while let Some(id) = queue.pop_front() {
                let end = summaries[&id].blocks[code].end;
                for &(caller, span) in callers.get(&id).map_or(&[][..], Vec::as_slice) {
                    let s = summaries.entry(caller).or_default();
                    if let std::collections::hash_map::Entry::Vacant(v) = s.blocks.entry(code) {
                        v.insert(Reach { next: Some(Step { callee: id, span }), end });
                        queue.push_back(caller);
                    }
                }
            }
        }
        // CPU-heavy: the same search.
        let mut queue = VecDeque::new();
        for &id in &ids {
            let f = self.fn_facts(id);
            if !f.is_async && !f.heavy.is_empty() {
                summaries.entry(id).or_default().heavy = Some(Reach { next: None, end: (id, 0) });
                queue.push_back(id);
            }
        }
        while let Some(id) = queue.pop_front() {
            let end = summaries[&id].heavy.as_ref().map(|r| r.end);
            let Some(end) = end else { continue };
            for &(caller, span) in callers.get(&id).map_or(&[][..], Vec::as_slice) {
                let s = summaries.entry(caller).or_default();
                if s.heavy.is_none() {
                    s.heavy = Some(Reach { next: Some(Step { callee: id, span }), end });
                    queue.push_back(caller);
                }
            }
        }
        self.summaries = summaries;
        self.forward = forward;
    }

    /// Every lock a function takes itself or through its (sync, crate-local) callees, by path, each once: its
    /// own in source order first, then its callees' depth-first. Computed on demand (a DFS with a visited
    /// set, so recursion terminates); this is what a crate-wide lock-order analysis asks for the calls made
    /// while a guard is held.
    pub fn transitive_locks(&self, id: FnId) -> Vec<&'f str> {
        let mut seen: HashSet<FnId> = HashSet::new();
        let mut locks: Vec<&'f str> = Vec::new();
        let mut stack = vec![id];
        while let Some(cur) = stack.pop() {
            if !seen.insert(cur) {
                continue;
            }
            for l in &self.fn_facts(cur).locks {
                if !locks.contains(&l.path.as_str()) {
                    locks.push(&l.path);
                }
            }
            if let Some(next) = self.forward.get(&cur) {
                stack.extend(next.iter().rev());
            }
        }
        locks
    }

    /// The chain from `start` following `next` steps of a reach (bounded by the number of functions).
    fn chain<T: Copy>(&self, start: FnId, get: impl Fn(&Summary) -> Option<&Reach<T>>) -> Vec<(FnId, Option<Step>)> {
        let mut out = Vec::new();
        let mut cur = start;
        let limit = self.summaries.len() + 1;
        while out.len() <= limit {
            let Some(r) = self.summaries.get(&cur).and_then(&get) else { break };
            out.push((cur, r.next.clone()));
            match &r.next {
                Some(s) => cur = s.callee,
                None => break,
            }
        }
        out
    }
}

fn same_key(g: &CrateGraph<'_>, ids: &[FnId]) -> bool {
    ids.split_first().is_some_and(|(first, rest)| {
        let k = &g.fn_facts(*first).key;
        rest.iter().all(|i| &g.fn_facts(*i).key == k)
    })
}

/// `path:line` of a span in a file, for notes that cannot point into another file.
fn at(path: &Path, span: Span) -> String {
    format!("{}:{}", path.display(), span.start.line)
}

/// Notes for each step of a chain, as seen from a finding in `site_file`: a note at the call span when the
/// step is in that file, else the location in the text. Returns the notes and the names along the chain.
fn chain_notes(
    g: &CrateGraph<'_>,
    site_file: &Path,
    chain: &[(FnId, Option<Step>)],
) -> (Vec<(String, Option<Span>)>, Vec<String>) {
    let mut notes = Vec::new();
    let mut names = Vec::new();
    for (id, step) in chain {
        let f = g.fn_facts(*id);
        names.push(format!("`{}`", f.name));
        if let Some(step) = step {
            let callee = g.fn_facts(step.callee);
            let file = g.file_of(*id);
            let msg = format!("`{}` calls `{}` here", f.name, callee.name);
            if file == site_file {
                notes.push((msg, Some(step.span)));
            } else {
                notes.push((format!("{msg} ({})", at(file, step.span)), None));
            }
        }
    }
    (notes, names)
}

/// A finding of `rule` in `path` with the configured severity and the rule's Clippy-equivalent note (as
/// [`Checker::diagnostic`](super::checker::Checker::diagnostic) makes them).
fn new_diagnostic(rule: &'static RuleMeta, path: &Path, span: Span, msg: String, settings: &Settings) -> Diagnostic {
    let mut d = Diagnostic::new(rule, path, span, msg);
    d.severity = settings.severity_of(rule);
    if let Some(eq) = rule.equivalent {
        d = d.with_note(format!("same as `{eq}`: enable one of the two"), None);
    }
    d
}

fn push_notes(mut d: Diagnostic, notes: Vec<(String, Option<Span>)>) -> Diagnostic {
    for (m, s) in notes {
        d = d.with_note(m, s);
    }
    d
}

/// The crate-level phase: joins the facts of the files of one crate and returns the findings that need the
/// call graph (a call in async context to a crate-local function that blocks; deferred checks whose callees
/// turned out CPU-heavy). `heavy_rules` gives the rules reported for calls to CPU-heavy functions, by site
/// context. Findings are created with each rule's default severity and are not yet filtered by settings.
pub fn link(files: &[FileFacts], settings: &Settings) -> Vec<Diagnostic> {
    let orders = settings.is_enabled(&super::rules::lock_order_inversion::META)
        && files.iter().any(|f| !f.lock_orders.is_empty() || !f.held_calls.is_empty());
    if !orders && files.iter().all(|f| f.sites.is_empty() && f.deferred.is_empty()) {
        return Vec::new();
    }
    let calls = files.iter().any(|f| !f.sites.is_empty() || !f.deferred.is_empty());
    // The lock-order comparison only resolves calls: without call sites, the summaries are not computed.
    let g = if calls { CrateGraph::build(files) } else { CrateGraph::index(files) };
    let mut out = Vec::new();
    if orders {
        out.extend(lock_order_findings(&g, settings));
    }
    for file in files {
        for site in &file.sites {
            for id in g.resolve(&site.callee) {
                out.extend(site_findings(&g, file, site, id, settings));
            }
        }
        for d in &file.deferred {
            let Want::Heavy = d.want;
            let hit = d
                .callees
                .iter()
                .flat_map(|c| g.resolve(c))
                .find(|id| g.summary(*id).is_some_and(|s| s.heavy.is_some()));
            if let Some(id) = hit {
                let chain = g.chain(id, |s| s.heavy.as_ref());
                let (notes, names) = chain_notes(&g, &file.path, &chain);
                let mut diag = d.diagnostic.clone();
                if let Some(r) = g.summary(id).and_then(|s| s.heavy.as_ref()) {
                    let ev = &g.fn_facts(r.end.0).heavy[r.end.1];
                    diag = push_notes(diag, notes);
                    diag = diag.with_note(
                        format!("CPU-heavy: {} → {}", names.join(" → "), ev.reason),
                        (g.file_of(r.end.0) == file.path).then_some(ev.span),
                    );
                }
                out.push(diag);
            }
        }
    }
    dedup(&mut out);
    out.retain(|d| settings.is_enabled(d.rule));
    out
}

/// One place where a lock is acquired while another is held: directly, or (`via`) by a call to a crate-local
/// function that acquires it (the callee and its acquisition's span).
struct OrderAt<'f> {
    file: usize,
    func: usize,
    held: &'f LockUse,
    taken: &'f LockUse,
    via: Option<(FnId, Span)>,
}

/// The short name of a crate-wide lock name for messages: `crate::bank::Bank.accounts` → `Bank.accounts`,
/// `crate::state::CONFIG` → `CONFIG`.
fn short_lock(lock: &str) -> &str {
    let head = lock.split('.').next().unwrap_or(lock);
    head.rfind("::").map_or(lock, |i| &lock[i + 2..])
}

/// The callee of the call at `span` in function `func` of file `fi`, as the visit recorded it.
fn callee_at<'f>(g: &CrateGraph<'f>, fi: usize, func: usize, span: Span) -> Option<&'f Callee> {
    let file = &g.files[fi];
    let own = file.fns.get(func).and_then(|f| f.calls.iter().find(|c| c.span == span)).map(|c| &c.callee);
    own.or_else(|| file.sites.iter().find(|s| s.span == span).map(|s| &s.callee))
}

/// Every place of the crate where one named lock is acquired while another is held: the recorded orders, and
/// one level through calls made while a guard is alive (the callee's own acquisitions, each lock once).
fn lock_orders<'f>(g: &CrateGraph<'f>) -> Vec<OrderAt<'f>> {
    let mut acquires: HashMap<FnId, Vec<&'f LockUse>> = HashMap::new();
    for (fi, file) in g.files.iter().enumerate() {
        for a in &file.lock_acquires {
            let v = acquires.entry((fi, a.func)).or_default();
            if !v.iter().any(|l| l.lock == a.lock.lock) {
                v.push(&a.lock);
            }
        }
    }
    let mut out = Vec::new();
    for (fi, file) in g.files.iter().enumerate() {
        for o in &file.lock_orders {
            out.push(OrderAt { file: fi, func: o.func, held: &o.held, taken: &o.taken, via: None });
        }
        for hc in &file.held_calls {
            let Some(callee) = callee_at(g, fi, hc.func, hc.span) else { continue };
            for id in g.resolve(callee) {
                if id == (fi, hc.func) || g.fn_facts(id).is_async {
                    continue;
                }
                for l in acquires.get(&id).map_or(&[][..], Vec::as_slice) {
                    if l.lock != hc.held.lock {
                        out.push(OrderAt {
                            file: fi,
                            func: hc.func,
                            held: &hc.held,
                            taken: l,
                            via: Some((id, hc.span)),
                        });
                    }
                }
            }
        }
    }
    out
}

/// CA404 across the crate: two locks acquired in opposite orders in two places (each place: one lock held
/// while the other is acquired, directly or by a call). Reported once per pair of locks, at the place that
/// comes later in (path, line) order, with notes at both places.
fn lock_order_findings(g: &CrateGraph<'_>, settings: &Settings) -> Vec<Diagnostic> {
    use std::collections::BTreeMap;
    let rule = &super::rules::lock_order_inversion::META;
    let orders = lock_orders(g);
    // Where a place is: for a call, the call site (`via`'s span is the call; `taken.span` is in the callee).
    let site = |o: &OrderAt<'_>| o.via.map_or(o.taken.span, |(_, s)| s);
    let mut pairs: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, o) in orders.iter().enumerate() {
        let (a, b) = (o.held.lock.as_str(), o.taken.lock.as_str());
        if a != b {
            pairs.entry(if a < b { (a, b) } else { (b, a) }).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for idx in pairs.values_mut() {
        // By place, then (for calls reaching several functions, `#[cfg]` variants) by the callee's acquisition:
        // the same finding whatever the order of the files.
        let key = |o: &OrderAt<'_>| {
            let callee = o.via.map(|(id, _)| (g.file_of(id), o.taken.span.start));
            (&g.files[o.file].path, site(o).start, callee)
        };
        idx.sort_by(|&x, &y| key(&orders[x]).cmp(&key(&orders[y])));
        let found = idx.iter().enumerate().find_map(|(j, &l)| {
            let later = &orders[l];
            idx[..j]
                .iter()
                .map(|&e| &orders[e])
                .find(|earlier| {
                    earlier.held.lock == later.taken.lock
                    && earlier.taken.lock == later.held.lock
                    && !(earlier.file == later.file && earlier.held.span == later.held.span)
                    // `A` held in one place and acquired in the other must exclude each other, and so must `B`.
                    && !(earlier.held.shared && later.taken.shared)
                    && !(earlier.taken.shared && later.held.shared)
                })
                .map(|earlier| (earlier, later))
        });
        let Some((earlier, later)) = found else { continue };
        out.push(inversion(g, rule, earlier, later, settings));
    }
    out
}

fn inversion(
    g: &CrateGraph<'_>,
    rule: &'static RuleMeta,
    earlier: &OrderAt<'_>,
    later: &OrderAt<'_>,
    settings: &Settings,
) -> Diagnostic {
    let path = &g.files[later.file].path;
    let name = |o: &OrderAt<'_>| g.files[o.file].fns.get(o.func).map_or("?", |f| f.name.as_str());
    let (a, b) = (short_lock(&later.held.lock), short_lock(&later.taken.lock));
    let how = |o: &OrderAt<'_>| match o.via {
        Some((id, _)) => format!(" (by the call to `{}`)", g.fn_facts(id).name),
        None => String::new(),
    };
    let msg = format!(
        "`{b}` is locked{} while `{a}` is held in `{}`, but `{}` locks `{a}`{} while `{b}` is held: the two can deadlock",
        how(later),
        name(later),
        name(earlier),
        how(earlier),
    );
    let later_site = later.via.map_or(later.taken.span, |(_, s)| s);
    let mut d = new_diagnostic(rule, path, later_site, msg, settings)
        .with_help(format!(
            "take the two locks in one order everywhere (e.g. always `{b}` before `{a}`), or never hold both"
        ))
        .with_note(format!("`{a}` is held from here"), Some(later.held.span));
    if let Some((id, _)) = later.via {
        d = with_note_at(d, g, path, format!("`{}` locks `{b}` here", g.fn_facts(id).name), id.0, later.taken.span);
    }
    let earlier_site = earlier.via.map_or(earlier.taken.span, |(_, s)| s);
    let what = match earlier.via {
        Some((id, _)) => format!(
            "the opposite order: `{}` calls `{}`, which locks `{a}`, while `{b}` is held",
            name(earlier),
            g.fn_facts(id).name
        ),
        None => format!("the opposite order: `{}` locks `{a}` here while `{b}` is held", name(earlier)),
    };
    d = with_note_at(d, g, path, what, earlier.file, earlier_site);
    d = with_note_at(d, g, path, format!("`{b}` is held from here"), earlier.file, earlier.held.span);
    if let Some((id, _)) = earlier.via {
        d = with_note_at(d, g, path, format!("`{}` locks `{a}` here", g.fn_facts(id).name), id.0, earlier.taken.span);
    }
    d
}

/// A note at `span` of file `fi`: with the span when that file is the finding's, else as `path:line` text.
fn with_note_at(d: Diagnostic, g: &CrateGraph<'_>, finding: &Path, msg: String, fi: usize, span: Span) -> Diagnostic {
    let file = &g.files[fi].path;
    if file == finding {
        d.with_note(msg, Some(span))
    } else {
        d.with_note(format!("{msg} ({})", at(file, span)), None)
    }
}

fn dedup(out: &mut Vec<Diagnostic>) {
    let mut seen = HashSet::new();
    out.retain(|d| seen.insert((d.path.clone(), d.span, d.rule.code)));
}

fn site_findings(g: &CrateGraph<'_>, file: &FileFacts, site: &Site, id: FnId, settings: &Settings) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some(summary) = g.summary(id) else { return out };
    let callee = g.fn_facts(id);
    if site.context == SiteContext::Async {
        let mut codes: Vec<&&'static str> = summary.blocks.keys().collect();
        codes.sort();
        for code in codes {
            let chain = g.chain(id, |s| s.blocks.get(*code));
            let Some(reach) = summary.blocks.get(*code) else { continue };
            let (end_fn, bi) = reach.end;
            let fact = &g.fn_facts(end_fn).blocks[bi];
            let (notes, names) = chain_notes(g, &file.path, &chain);
            let what = first_code_span(&fact.message);
            let msg = format!(
                "{} calls {}, which blocks the executor's worker thread: {} → {}",
                site.caller,
                names[0],
                std::iter::once(site.caller.clone()).chain(names.iter().cloned()).collect::<Vec<_>>().join(" → "),
                what
            );
            let mut d = new_diagnostic(fact.rule, &file.path, site.span, msg, settings);
            d = d
                .with_help(format!(
                    "run `{}` in `tokio::task::spawn_blocking` (or make it async); at the blocking call: {}",
                    callee.name, fact.help
                ))
                .with_note(site.frame_note.0.clone(), Some(site.frame_note.1));
            d = push_notes(d, notes);
            let end_file = g.file_of(end_fn);
            let end_msg = format!("{} ({})", fact.message, fact.rule.name);
            d = if end_file == file.path {
                d.with_note(end_msg, Some(fact.span))
            } else {
                d.with_note(format!("{end_msg} at {}", at(end_file, fact.span)), None)
            };
            out.push(d);
        }
    }
    if let Some(reach) = &summary.heavy {
        let rule: &'static RuleMeta = match site.context {
            SiteContext::Async => &super::rules::cpu_heavy_in_async::META,
            SiteContext::SpawnBlocking => &super::rules::cpu_heavy_in_spawn_blocking::META,
        };
        let chain = g.chain(id, |s| s.heavy.as_ref());
        let (notes, names) = chain_notes(g, &file.path, &chain);
        let ev = &g.fn_facts(reach.end.0).heavy[reach.end.1];
        let where_ = match site.context {
            SiteContext::Async => "on the executor's worker thread",
            SiteContext::SpawnBlocking => "on tokio's blocking pool (sized for blocking I/O, up to 512 threads)",
        };
        let msg = format!(
            "{} calls {}, which does CPU-heavy work {where_}: {} → {}",
            site.caller,
            names[0],
            std::iter::once(site.caller.clone()).chain(names.iter().cloned()).collect::<Vec<_>>().join(" → "),
            ev.reason
        );
        let help = match site.context {
            SiteContext::Async => format!(
                "for a short burst run `{}` in `tokio::task::spawn_blocking`; for real compute run it on rayon \
                 (`rayon::spawn`) and send the result back over a `tokio::sync::oneshot` channel",
                callee.name
            ),
            SiteContext::SpawnBlocking => format!(
                "run `{}` on rayon (`rayon::spawn` + a `tokio::sync::oneshot` channel) or a pool sized to \
                 `std::thread::available_parallelism()`",
                callee.name
            ),
        };
        let mut d = new_diagnostic(rule, &file.path, site.span, msg, settings);
        d = d.with_help(help).with_note(site.frame_note.0.clone(), Some(site.frame_note.1));
        d = push_notes(d, notes);
        let end_file = g.file_of(reach.end.0);
        d = if end_file == file.path {
            d.with_note(format!("CPU-heavy: {}", ev.reason), Some(ev.span))
        } else {
            d.with_note(format!("CPU-heavy: {} at {}", ev.reason, at(end_file, ev.span)), None)
        };
        out.push(d);
    }
    out
}

/// The first backquoted code in a message (`std::fs::read_to_string`), or the whole message.
fn first_code_span(msg: &str) -> String {
    let mut parts = msg.split('`');
    match (parts.next(), parts.next()) {
        (Some(_), Some(code)) if !code.is_empty() => format!("`{code}`"),
        _ => msg.to_string(),
    }
}

/// The directory that roots the crate a file belongs to: the part of its path before the last `src`
/// component (`vendor/tokio/src/net/tcp.rs` → `vendor/tokio`), or its parent directory for files outside a
/// `src` tree (tests, examples, loose files).
pub fn crate_root(path: &Path) -> PathBuf {
    let comps: Vec<_> = path.components().collect();
    if let Some(i) = comps.iter().rposition(|c| c.as_os_str() == "src") {
        return comps[..i].iter().collect();
    }
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Groups per-file facts by crate ([`crate_root`]) and links each crate. Deterministic order of findings is
/// the caller's job (the engine sorts).
pub fn link_all(files: Vec<FileFacts>, settings: &Settings) -> Vec<Diagnostic> {
    let mut crates: HashMap<PathBuf, Vec<FileFacts>> = HashMap::new();
    for f in files {
        crates.entry(crate_root(&f.path)).or_default().push(f);
    }
    let mut out = Vec::new();
    for (_, files) in crates {
        out.extend(link(&files, settings));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(path: &str, src: &str) -> FileFacts {
        let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), true);
        f.expect("parses")
    }

    const LIB: &str =
        "mod config;\nuse crate::config::load_config;\n\nasync fn handler() {\n    let _ = load_config();\n}\n";
    const CONFIG: &str = "pub fn load_config() -> String {\n    read_settings()\n}\n\nfn read_settings() -> String {\n    std::fs::read_to_string(\"app.toml\").unwrap()\n}\n";

    #[test]
    fn a_chain_across_files_is_reported_at_the_async_call_with_each_step() {
        let files = vec![facts("proj/src/lib.rs", LIB), facts("proj/src/config.rs", CONFIG)];
        let out = link_all(files, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        assert_eq!(d.rule.code, "CA102");
        assert_eq!(d.path, Path::new("proj/src/lib.rs"));
        assert_eq!((d.span.start.line, d.span.start.column), (5, 13));
        assert!(
            d.message.contains("`handler` → `load_config` → `read_settings` → `std::fs::read_to_string`"),
            "{}",
            d.message
        );
        let texts: Vec<&str> = d.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            texts.iter().any(|t| t.contains("`load_config` calls `read_settings` here (proj/src/config.rs:2)")),
            "{texts:?}"
        );
        assert!(texts.iter().any(|t| t.contains("proj/src/config.rs:6")), "{texts:?}");
        // Steps in another file cannot carry a span into this one.
        assert!(d.notes.iter().filter(|n| n.message.contains("config.rs")).all(|n| n.span.is_none()));
    }

    #[test]
    fn files_of_different_crates_are_not_joined() {
        let files = vec![facts("a/src/lib.rs", LIB), facts("b/src/config.rs", CONFIG)];
        assert!(link_all(files, &Settings::default()).is_empty());
        assert_eq!(crate_root(Path::new("vendor/tokio/src/net/tcp.rs")), Path::new("vendor/tokio"));
        assert_eq!(crate_root(Path::new("x/tests/it.rs")), Path::new("x/tests"));
    }

    #[test]
    fn recursion_terminates_and_summaries_propagate() {
        let src = "fn a(n: u32) { if n > 0 { b(n - 1) } }\nfn b(n: u32) { a(n); c(); }\nfn c() { std::thread::sleep(d); }\n\
                   fn d1() { d2() }\nfn d2() { d1() }\nasync fn f() { a(1); d1(); }\n";
        let files = vec![facts("p/src/lib.rs", src)];
        let g = CrateGraph::build(&files);
        let id = |name: &str| g.functions().find(|i| g.fn_facts(*i).name == name).unwrap();
        for f in ["a", "b", "c"] {
            assert!(g.summary(id(f)).is_some_and(|s| s.blocks.contains_key("CA101")), "{f} blocks");
        }
        assert!(g.summary(id("d1")).is_none_or(|s| s.blocks.is_empty()));
        let out = link(&files, &Settings::default());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert!(out[0].message.contains("`f` → `a` → `b` → `c` → `std::thread::sleep`"), "{}", out[0].message);
    }

    #[test]
    fn methods_resolve_by_self_type_and_by_unique_name_and_locks_are_ordered() {
        let src = "struct Bank { a: std::sync::Mutex<u32>, b: std::sync::Mutex<u32> }\n\
                   impl Bank {\n  fn transfer(&self) { let x = self.a.lock(); self.audit_log(); }\n\
                   fn audit_log(&self) { let y = self.b.lock(); std::thread::sleep(d); }\n\
                   async fn run(&self, other: &Bank) { self.transfer(); other.audit_log(); }\n}\n";
        let files = vec![facts("p/src/bank.rs", src)];
        let g = CrateGraph::build(&files);
        let t = g.functions().find(|i| g.fn_facts(*i).name == "transfer").unwrap();
        assert_eq!(g.fn_facts(t).key, "crate::bank::Bank::transfer");
        assert_eq!(g.fn_facts(t).locks[0].path, "crate::bank::Bank.a");
        assert_eq!(g.transitive_locks(t), vec!["crate::bank::Bank.a", "crate::bank::Bank.b"]);
        let out = link(&files, &Settings::default());
        assert_eq!(out.len(), 2, "{out:#?}");
    }

    const BANK: &str = "use std::sync::Mutex;\npub struct Bank { pub a: Mutex<u32>, pub b: Mutex<u32> }\n\
                        impl Bank {\n    pub fn ab(&self) {\n        let x = self.a.lock().unwrap();\n        \
                        let y = self.b.lock().unwrap();\n    }\n}\n";
    const AUDIT: &str = "use crate::bank::Bank;\nimpl Bank {\n    fn ba(&self) {\n        \
                         let y = self.b.lock().unwrap();\n        let x = self.a.lock().unwrap();\n    }\n}\n";

    fn lock_findings(files: Vec<FileFacts>) -> Vec<Diagnostic> {
        let mut out = link_all(files, &Settings::default());
        out.retain(|d| d.rule.code == "CA404");
        out
    }

    #[test]
    fn lock_orders_are_compared_across_files_and_reported_once() {
        let bank = facts("p/src/bank.rs", BANK);
        let audit = facts("p/src/audit.rs", AUDIT);
        assert_eq!(bank.lock_orders.len(), 1);
        assert_eq!(bank.lock_orders[0].held.lock, "crate::bank::Bank.a");
        assert_eq!(audit.lock_orders[0].held.lock, "crate::bank::Bank.b");
        let out = lock_findings(vec![bank.clone(), audit.clone()]);
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        // The later of the two places by path: bank.rs sorts after audit.rs.
        assert_eq!(d.path, Path::new("p/src/bank.rs"));
        assert_eq!(d.span.start.line, 6);
        assert!(d.message.contains("`Bank.b` is locked while `Bank.a` is held in `ab`"), "{}", d.message);
        let texts: Vec<&str> = d.notes.iter().map(|n| n.message.as_str()).collect();
        assert!(
            texts.iter().any(|t| t.contains("`ba` locks `Bank.a` here") && t.contains("p/src/audit.rs:5")),
            "{texts:?}"
        );
        assert!(d.notes.iter().filter(|n| n.message.contains("audit.rs")).all(|n| n.span.is_none()));
        assert!(d.notes.iter().any(|n| n.span.is_some_and(|s| s.start.line == 5)), "a note at the held guard");
        // The order of the files does not change the finding.
        let swapped = lock_findings(vec![audit.clone(), bank.clone()]);
        assert_eq!(swapped.len(), 1);
        assert_eq!((&swapped[0].path, swapped[0].span), (&d.path, d.span));
        // Another crate's `Bank` is another lock.
        assert!(lock_findings(vec![bank, facts("q/src/audit.rs", AUDIT)]).is_empty());
    }

    #[test]
    fn lock_orders_are_compared_in_a_crate_without_async_code() {
        let sync = |path: &str, src: &str| {
            let (_, f) = crate::rust::analyze_with_facts(Path::new(path), src, &Settings::default(), false);
            f.expect("lock facts are kept without the call graph")
        };
        let out = lock_findings(vec![sync("p/src/bank.rs", BANK), sync("p/src/audit.rs", AUDIT)]);
        assert_eq!(out.len(), 1, "{out:#?}");
        // And through a call.
        let src = "use std::sync::Mutex;\nstatic A: Mutex<u32> = Mutex::new(0);\nstatic B: Mutex<u32> = Mutex::new(0);\n\
                   fn take_b() { *B.lock().unwrap() += 1; }\n\
                   fn holds_a() { let a = A.lock().unwrap(); take_b(); }\n";
        let other = "fn b_then_a() { let b = crate::B.lock().unwrap(); let a = crate::A.lock().unwrap(); }\n";
        let out = lock_findings(vec![sync("p/src/lib.rs", src), sync("p/src/other.rs", other)]);
        assert_eq!(out.len(), 1, "{out:#?}");
    }

    #[test]
    fn an_inversion_inside_one_file_is_reported_once_also_when_another_file_repeats_it() {
        let both = format!(
            "{BANK}impl Bank {{\n    fn ba(&self) {{\n        let y = self.b.lock().unwrap();\n        \
                            let x = self.a.lock().unwrap();\n    }}\n}}\n"
        );
        let one = facts("p/src/bank.rs", &both);
        let single = link(std::slice::from_ref(&one), &Settings::default());
        assert_eq!(single.iter().filter(|d| d.rule.code == "CA404").count(), 1, "{single:#?}");
        let out = lock_findings(vec![one, facts("p/src/audit.rs", AUDIT)]);
        assert_eq!(out.len(), 1, "{out:#?}");
        // Disabled: nothing.
        let only_other = Settings::only(&[&super::super::rules::blocking_sleep::META]);
        assert!(link(&[facts("p/src/bank.rs", &both)], &only_other).is_empty());
    }

    #[test]
    fn a_lock_taken_by_a_callee_while_a_guard_is_held_counts_one_level() {
        let src = "use std::sync::Mutex;\nstatic A: Mutex<u32> = Mutex::new(0);\nstatic B: Mutex<u32> = Mutex::new(0);\n\
                   fn take_b() { *B.lock().unwrap() += 1; }\n\
                   fn via() { take_c_then_b(); }\n\
                   fn take_c_then_b() { take_b(); }\n\
                   fn holds_a() { let a = A.lock().unwrap(); take_b(); }\n\
                   fn holds_a_two_levels() { let a = A.lock().unwrap(); via(); }\n\
                   fn b_then_a() { let b = B.lock().unwrap(); let a = A.lock().unwrap(); }\n";
        let f = facts("p/src/lib.rs", src);
        assert_eq!(f.held_calls.iter().filter(|h| h.held.lock == "crate::A").count(), 2, "{:#?}", f.held_calls);
        assert!(f.may_report());
        // Calls made under a guard that reach no crate function give the crate phase nothing to report here.
        let other = facts("p/src/other.rs", "fn f(v: &mut Vec<u8>) { let a = crate::A.lock().unwrap(); v.push(1); }");
        assert!(!other.held_calls.is_empty() && !other.may_report(), "{other:#?}");
        let out = lock_findings(vec![f.clone()]);
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(out[0].span.start.line, 9, "{out:#?}");
        assert!(out[0].notes.iter().any(|n| n.message.contains("`take_b` locks `B` here")), "{:#?}", out[0].notes);
        // Only one level: without `holds_a`, the two-level chain is not followed.
        let src2 = src.replace("fn holds_a() { let a = A.lock().unwrap(); take_b(); }", "");
        assert!(lock_findings(vec![facts("p/src/lib.rs", &src2)]).is_empty());
        assert_eq!(short_lock("crate::bank::Bank.accounts.inner"), "Bank.accounts.inner");
        assert_eq!(short_lock("crate::CONFIG"), "CONFIG");
        assert_eq!(short_lock("X"), "X");
    }

    #[test]
    fn ambiguous_method_names_are_not_resolved_by_name() {
        let src = "struct S;\nimpl S { fn get(&self) { std::thread::sleep(d); } }\n\
                   async fn f(m: std::collections::HashMap<u32, u32>) { m.get(&1); }\n";
        assert!(link(&[facts("p/src/lib.rs", src)], &Settings::default()).is_empty());
    }
}
