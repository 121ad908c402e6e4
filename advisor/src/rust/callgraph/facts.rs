//! The facts one visit of a file records for the crate-wide call graph: per function what it calls, whether
//! it blocks or is CPU-heavy, and the places where locks are taken in order; per file the calls made from
//! async (or `spawn_blocking`) context and the findings waiting for callee summaries. Plain data (strings and
//! spans): no syntax tree is kept between the per-file and the crate phase.

use std::path::PathBuf;

use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::rust::semantic::Ty;

/// Which function a call names, before the crate-level phase resolves it.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq, Hash)]
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
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct BlockFact {
    /// The blocking rule (CA1xx) that recognised it.
    #[serde(with = "crate::registry::by_code")]
    pub rule: &'static RuleMeta,
    /// Where the blocking call is.
    pub span: Span,
    /// The rule's message for it (what blocks).
    pub message: String,
    /// The rule's help for it.
    pub help: String,
}

/// Evidence that a function does CPU-heavy work itself.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct HeavyFact {
    /// Why (e.g. "nested loops", "a loop over 0..1000000").
    pub reason: String,
    /// Where.
    pub span: Span,
}

/// A call from a function to a crate-local function.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct CallEdge {
    /// What is called.
    pub callee: Callee,
    /// The call's span.
    pub span: Span,
}

/// A lock as one place takes or holds it, named crate-wide (locks in local variables have no such name and are
/// not recorded).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LockUse {
    /// The lock's crate-wide name: a field path qualified by the `impl`'s type (`crate::bank::Bank.accounts`
    /// for `self.accounts` in `impl Bank`), or a static's qualified path (`crate::state::CONFIG`).
    pub lock: String,
    /// A read lock of an `RwLock`: two of them do not exclude each other.
    pub shared: bool,
    /// For a held lock, its guard's binding; for a taken lock, the acquisition (`lock()`).
    pub span: Span,
    /// The lock is a field reached through `self` (`self.state`): another value of the type has its own, so
    /// a call chain reaches the same lock only through calls on `self` (a static is one lock everywhere).
    #[serde(default)]
    pub on_self: bool,
    /// A read of this `RwLock` waits behind a queued writer (std, parking_lot, tokio): a second read while a
    /// read is held can deadlock. Not for `spin`, whose reads only wait for a writer holding the lock.
    #[serde(default)]
    pub fair: bool,
    /// `try_lock`/`try_read`/`try_write`: never waits.
    #[serde(default)]
    pub is_try: bool,
}

/// Lock `held` is held (its guard alive) while lock `taken` is acquired, in function `func` of the file.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
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
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct HeldCall {
    /// Index into [`FileFacts::fns`] of the caller.
    pub func: usize,
    /// The lock held.
    pub held: LockUse,
    /// The call's span (as the call graph records it).
    pub span: Span,
}

/// A lock a sync function acquires in its own body (not in closures run elsewhere), for [`HeldCall`]s.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct LockAcquire {
    /// Index into [`FileFacts::fns`] of the function.
    pub func: usize,
    /// The lock.
    pub lock: LockUse,
}

/// A call to a crate-local function that runs as part of function `func`'s own body (sync or async; through
/// plain closures, not in async blocks or closures run elsewhere), for the lock rules' walks through the call
/// graph (double lock, lock order, blocking while locked across calls).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct LockCall {
    /// Index into [`FileFacts::fns`] of the caller.
    pub func: usize,
    /// What is called.
    pub callee: Callee,
    /// The call's span (as the call graph records it).
    pub span: Span,
    /// The receiver is `self` (`self.helper()`): the callee's `self` is the caller's.
    pub on_self: bool,
    /// The call is `.await`ed (an async callee's body runs only then).
    pub awaited: bool,
}

/// What the visit learned about one function.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
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
    /// Hashing, compression or crypto calls in its body: not heavy once, but heavy when called on every round
    /// of a loop.
    #[serde(default)]
    pub hashes: Vec<HeavyFact>,
    /// Crate-local calls in its body.
    pub calls: Vec<CallEdge>,
}

/// Where a call site runs.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteContext {
    /// On the async executor.
    Async,
    /// In a closure handed to `spawn_blocking` (or a similar blocking pool).
    SpawnBlocking,
}

/// A call to a crate-local function from code that runs on the executor (or in `spawn_blocking`).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
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
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// One of the callees is CPU-heavy (itself or through its callees).
    Heavy,
    /// One of the callees is CPU-heavy or hashes (compresses, encrypts), itself or through its callees: the
    /// call is made on every round of a loop.
    HeavyPerRound,
}

/// A finding a rule prepared but that holds only if one of `callees` turns out to have the property `want`
/// once the crate is linked; the chain is added as notes.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct Deferred {
    /// The crate-local calls that would justify it.
    pub callees: Vec<Callee>,
    /// The property wanted.
    pub want: Want,
    /// The finding to report.
    pub diagnostic: Diagnostic,
}

/// A step from a receiver's root to the receiver: a field access or a method call.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub enum TyStep {
    /// `.name`
    Field(String),
    /// `.name(..)` (`?` is `unwrap`)
    Method(String),
}

/// The type facts of a file the crate phase joins across files (declarations the per-file visit cannot see
/// when they are in another file of the crate).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct TypeFacts {
    /// (struct's qualified name, field, declared type).
    pub fields: Vec<(String, String, Ty)>,
    /// (function's or method's qualified name, declared return type with `Result`/`Option` stripped).
    pub returns: Vec<(String, Ty)>,
    /// (alias's qualified name, the type it stands for).
    pub aliases: Vec<(String, Ty)>,
}

/// A possibly blocking method call in async code whose receiver's type the visit could not tell: the type
/// is worked out at link time from the crate's [`TypeFacts`] (a field declared in another file).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct TypedCall {
    /// The type of the receiver's root (`self`, a typed binding): a crate type.
    pub root: Ty,
    /// From the root to the receiver.
    pub steps: Vec<TyStep>,
    /// The method called on the receiver.
    pub method: String,
    /// The call's span.
    pub span: Span,
    /// The note that points at the enclosing async function or block.
    pub frame_note: (String, Span),
}

/// Everything the crate-level phase needs from one file.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
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
    /// The file's declarations of struct fields, return types and type aliases.
    #[serde(default)]
    pub types: TypeFacts,
    /// Method calls in async code whose receiver's type needs the crate's [`TypeFacts`].
    #[serde(default)]
    pub typed_calls: Vec<TypedCall>,
    /// Locks async functions acquire in their own body (kept apart from [`FileFacts::lock_acquires`], whose
    /// readers take callees to be sync).
    #[serde(default)]
    pub async_lock_acquires: Vec<LockAcquire>,
    /// Crate-local calls each function makes inline, recorded while a lock rule is enabled ([`LockCall`]).
    #[serde(default)]
    pub lock_calls: Vec<LockCall>,
    /// Calls made while a guard that CA407 counts is alive (any guard, named or local: `held.lock` is the
    /// guard's name or the lock's receiver path, for the message), for blocking while locked across calls.
    #[serde(default)]
    pub guarded_calls: Vec<HeldCall>,
}

impl FileFacts {
    /// Whether the file holds facts for the crate-wide lock-order comparison (CA404), which needs no async
    /// code: these facts are kept even in a crate that needs no call graph otherwise.
    pub fn has_lock_facts(&self) -> bool {
        !self.lock_orders.is_empty()
            || !self.held_calls.is_empty()
            || !self.lock_acquires.is_empty()
            || !self.async_lock_acquires.is_empty()
            || !self.lock_calls.is_empty()
            || !self.guarded_calls.is_empty()
    }

    /// Whether the file holds anything a link step starts from: call sites in async or `spawn_blocking`
    /// context, deferred findings, lock orders or calls made while a guard is held. A crate none of whose
    /// files does is not linked.
    pub fn has_link_facts(&self) -> bool {
        !self.typed_calls.is_empty()
            || !self.sites.is_empty()
            || !self.deferred.is_empty()
            || !self.lock_orders.is_empty()
            || !self.held_calls.is_empty()
            || !self.guarded_calls.is_empty()
    }

    /// Whether the crate phase may report a finding in this file (the engine keeps its text for snippets): it
    /// has call sites in async context, deferred findings, lock orders, or calls to crate-local functions made
    /// while a guard is held.
    pub fn may_report(&self) -> bool {
        !self.typed_calls.is_empty()
            || !self.sites.is_empty()
            || !self.deferred.is_empty()
            || !self.lock_orders.is_empty()
            || self.held_calls.iter().chain(&self.guarded_calls).any(|h| {
                self.fns.get(h.func).is_some_and(|f| f.calls.iter().any(|c| c.span == h.span))
                    || self.lock_calls.iter().any(|c| c.func == h.func && c.span == h.span)
            })
    }
}
