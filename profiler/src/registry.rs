//! Where measurements accumulate: call sites (one `static` per instrumented function), per-thread slots of
//! counters written without locks, the per-thread stack of nested instrumented frames, and the global registry
//! that merges every thread's slots on demand and when a thread exits.
//!
//! # Concurrency design
//!
//! Each thread owns a [`ThreadData`]: pages of [`Slot`]s, one slot per call site, allocated the first time the
//! thread calls a function on that page (never per call). Only the owning thread writes a slot, with a relaxed
//! load followed by a relaxed store (plain moves on common hardware — no lock, no read-modify-write). Readers
//! (`report()`) load the same atomics from other threads at any time, so no torn values exist, and exactly-once
//! accounting holds because a thread's data is either in the live list or folded into the retired totals, and
//! the move from one to the other happens under the registry lock at thread exit.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use crate::probe::ThreadProbes;
use crate::report::Expectation;

/// Sync function or async function (future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A synchronous function.
    Sync,
    /// An `async fn` or a function returning a future.
    Async,
}

/// One instrumented function. The macro emits one `static` per function.
#[derive(Debug)]
pub struct Callsite {
    pub(crate) name: &'static str,
    pub(crate) custom_name: bool,
    pub(crate) module: &'static str,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
    pub(crate) kind: Kind,
    pub(crate) expect: Option<Expectation>,
    /// 0: not registered yet; otherwise index + 1 in the registry.
    id: AtomicUsize,
}

impl Callsite {
    /// A call site. `name` is the function's identifier, or the `name = "…"` option when `custom_name`.
    pub const fn new(
        name: &'static str,
        custom_name: bool,
        module: &'static str,
        file: &'static str,
        line: u32,
        kind: Kind,
        expect: Option<Expectation>,
    ) -> Callsite {
        Callsite { name, custom_name, module, file, line, kind, expect, id: AtomicUsize::new(0) }
    }

    /// The name shown in reports: `module::function`, or the custom name.
    pub fn full_name(&self) -> String {
        if self.custom_name { self.name.to_string() } else { format!("{}::{}", self.module, self.name) }
    }

    /// Source location, `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Index in the registry, registering on first use (takes the registry lock once per call site).
    #[inline]
    pub(crate) fn index(&'static self) -> usize {
        match self.id.load(Relaxed) {
            0 => self.register(),
            n => n - 1,
        }
    }

    #[cold]
    fn register(&'static self) -> usize {
        let mut g = global();
        // Re-check under the lock: another thread may have registered it meanwhile.
        let n = self.id.load(Relaxed);
        if n != 0 {
            return n - 1;
        }
        g.callsites.push(self);
        let idx = g.callsites.len() - 1;
        self.id.store(idx + 1, Relaxed);
        idx
    }
}

/// Indices of the counters in a [`Slot`].
#[allow(missing_docs)]
pub mod f {
    // All calls (cheap path).
    pub const CALLS: usize = 0;
    pub const UNWOUND: usize = 1;
    pub const CANCELLED: usize = 2;
    /// Sync: inclusive wall of calls. Async: lifetime of futures.
    pub const WALL: usize = 3;
    // Sampled calls (sync) or sampled futures (async).
    pub const S_CALLS: usize = 4;
    /// Sync: inclusive wall. Async: lifetime.
    pub const S_WALL: usize = 5;
    pub const S_CPU: usize = 6;
    pub const S_RQ: usize = 7;
    pub const S_VOL: usize = 8;
    pub const S_INVOL: usize = 9;
    /// In-stack figures of instrumented callees during sampled calls/polls.
    pub const S_CHILD_WALL: usize = 10;
    pub const S_CHILD_CPU: usize = 11;
    pub const S_CHILD_RQ: usize = 12;
    pub const S_CHILD_VOL: usize = 13;
    pub const S_CHILD_INVOL: usize = 14;
    /// Waiting time of async callees awaited by a sampled future (their lifetime outside polls).
    pub const S_CHILD_WAIT: usize = 15;
    /// Probe time spent on this function on this thread (the sampling budget).
    pub const PROBE_NS: usize = 16;
    // Async polls, sampled futures.
    pub const S_POLLS: usize = 17;
    pub const S_POLL_WALL: usize = 18;
    pub const S_LONG_POLLS: usize = 19;
    pub const S_LONG_POLL_WALL: usize = 20;
    pub const S_LONG_POLL_CPU: usize = 21;
    pub const S_IDLE: usize = 22;
    pub const S_SCHEDULED: usize = 23;
    // Async polls, all futures.
    pub const POLLS: usize = 24;
    pub const LONG_POLLS: usize = 25;
    // perf mode, sampled calls.
    pub const PERF_TASK_CLOCK: usize = 26;
    pub const PERF_CS: usize = 27;
    pub const PERF_MIGRATIONS: usize = 28;
    pub const PERF_FAULTS: usize = 29;
    /// Number of counters.
    pub const N: usize = 30;
}

/// One function's counters on one thread.
#[derive(Debug)]
pub struct Slot([AtomicU64; f::N]);

impl Default for Slot {
    fn default() -> Self {
        Slot(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

impl Slot {
    /// Reads one counter.
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        self.0[i].load(Relaxed)
    }

    /// Adds to one counter. Only the owning thread may call this (single writer).
    #[inline]
    pub fn add(&self, i: usize, v: u64) {
        let a = &self.0[i];
        // Single writer: no other thread stores to this slot, so load + store cannot lose an update, and it is
        // cheaper than a locked `fetch_add` on the per-call path. Readers only need a torn-free value.
        // conc-advisor: allow(atomic-check-then-act)
        a.store(a.load(Relaxed).wrapping_add(v), Relaxed);
    }

    fn add_into(&self, out: &mut [u64; f::N]) {
        for (o, a) in out.iter_mut().zip(&self.0) {
            *o = o.wrapping_add(a.load(Relaxed));
        }
    }
}

const PAGE: usize = 32;
const PAGES: usize = 128;
/// Most call sites a program can instrument; calls to further ones are counted in `dropped_calls`.
pub const MAX_CALLSITES: usize = PAGE * PAGES;

/// One thread's slots.
#[derive(Debug)]
pub struct ThreadData {
    pages: [OnceLock<Box<[Slot]>>; PAGES],
}

impl ThreadData {
    fn new() -> ThreadData {
        ThreadData { pages: std::array::from_fn(|_| OnceLock::new()) }
    }

    /// The slot of call site `idx`, allocating its page on first use. `None` past [`MAX_CALLSITES`].
    #[inline]
    pub fn slot(&self, idx: usize) -> Option<&Slot> {
        let page = self.pages.get(idx / PAGE)?;
        let page = page.get_or_init(|| (0..PAGE).map(|_| Slot::default()).collect());
        page.get(idx % PAGE)
    }

    fn add_into(&self, totals: &mut Vec<[u64; f::N]>) {
        for (p, page) in self.pages.iter().enumerate() {
            if let Some(slots) = page.get() {
                for (i, slot) in slots.iter().enumerate() {
                    let idx = p * PAGE + i;
                    if totals.len() <= idx {
                        totals.resize(idx + 1, [0; f::N]);
                    }
                    slot.add_into(&mut totals[idx]);
                }
            }
        }
    }
}

/// The global registry.
#[derive(Debug, Default)]
pub struct Global {
    pub(crate) callsites: Vec<&'static Callsite>,
    threads: Vec<Arc<ThreadData>>,
    retired: Vec<[u64; f::N]>,
    pub(crate) threads_seen: u64,
}

static GLOBAL: Mutex<Global> =
    Mutex::new(Global { callsites: Vec::new(), threads: Vec::new(), retired: Vec::new(), threads_seen: 0 });

/// Calls that could not be recorded (past [`MAX_CALLSITES`], or during thread-local teardown).
pub static DROPPED_CALLS: AtomicU64 = AtomicU64::new(0);

/// Locks the registry, recovering from poisoning (the data is counters; a panic cannot leave them invalid).
pub(crate) fn global() -> MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Totals per call site over every thread, live and exited: `(call site, counters)`.
pub fn snapshot() -> Vec<(&'static Callsite, [u64; f::N])> {
    let g = global();
    let mut totals = g.retired.clone();
    for t in &g.threads {
        t.add_into(&mut totals);
    }
    g.callsites.iter().enumerate().map(|(i, cs)| (*cs, totals.get(i).copied().unwrap_or([0; f::N]))).collect()
}

/// Clears every counter of every thread (for tests and for measuring phases separately). Calls in flight
/// finish into the cleared counters.
pub fn reset() {
    let mut g = global();
    g.retired.clear();
    for t in &g.threads {
        for page in t.pages.iter().filter_map(|p| p.get()) {
            for slot in page.iter() {
                for a in &slot.0 {
                    // Racing with the owner's load+store can lose this reset for one counter of a call in
                    // flight; documented as "calls in flight finish into the cleared counters".
                    a.store(0, Relaxed);
                }
            }
        }
    }
}

/// In-stack figures of instrumented callees, accumulated into the caller's frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct Frame {
    pub wall: u64,
    pub cpu: u64,
    pub rq: u64,
    pub vol: u64,
    pub invol: u64,
    /// Async callees' waiting time (lifetime outside polls).
    pub wait: u64,
}

impl Frame {
    pub(crate) fn add(&mut self, o: &Frame) {
        self.wall = self.wall.wrapping_add(o.wall);
        self.cpu = self.cpu.wrapping_add(o.cpu);
        self.rq = self.rq.wrapping_add(o.rq);
        self.vol = self.vol.wrapping_add(o.vol);
        self.invol = self.invol.wrapping_add(o.invol);
        self.wait = self.wait.wrapping_add(o.wait);
    }
}

/// Deepest nesting of instrumented frames tracked per thread; deeper frames still count calls and wall time but
/// do not feed self figures.
pub const MAX_DEPTH: usize = 128;

/// Per-thread state: the thread's slots, its frame stack and its probe sources.
pub struct Local {
    pub(crate) data: Arc<ThreadData>,
    frames: [Cell<Frame>; MAX_DEPTH],
    depth: Cell<usize>,
    pub(crate) probes: RefCell<Option<ThreadProbes>>,
    /// The innermost in-flight call, published for the wait sampler.
    pub(crate) waits: Arc<crate::waits::Published>,
}

impl Local {
    fn new() -> Local {
        let data = Arc::new(ThreadData::new());
        {
            let mut g = global();
            g.threads.push(Arc::clone(&data));
            g.threads_seen += 1;
        }
        Local {
            data,
            frames: std::array::from_fn(|_| Cell::new(Frame::default())),
            depth: Cell::new(0),
            probes: RefCell::new(None),
            waits: crate::waits::register(),
        }
    }

    /// Pushes an empty frame; returns the depth to pass to [`Local::pop`].
    #[inline]
    pub fn push(&self) -> usize {
        let d = self.depth.get();
        if let Some(f) = self.frames.get(d) {
            f.set(Frame::default());
        }
        self.depth.set(d + 1);
        d
    }

    /// Pops the frame pushed at depth `d` and returns what its callees accumulated. Frames above `d` left by
    /// a callee that never popped (it cannot happen with guards, but is tolerated) are discarded.
    #[inline]
    pub fn pop(&self, d: usize) -> Frame {
        self.depth.set(d);
        self.frames.get(d).map(Cell::get).unwrap_or_default()
    }

    /// Adds a finished callee's in-stack figures to the current caller's frame, if any.
    #[inline]
    pub fn add_to_parent(&self, fig: &Frame) {
        let d = self.depth.get();
        if d == 0 {
            return;
        }
        if let Some(cell) = self.frames.get(d - 1) {
            let mut fr = cell.get();
            fr.add(fig);
            cell.set(fr);
        }
    }

    /// Runs `f` with this thread's probe sources, opening them on first use.
    pub fn with_probes<R>(&self, f: impl FnOnce(&mut ThreadProbes) -> R) -> R {
        let mut p = self.probes.borrow_mut();
        f(p.get_or_insert_with(ThreadProbes::open))
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        crate::waits::unregister(&self.waits);
        let mut g = global();
        let mut retired = std::mem::take(&mut g.retired);
        self.data.add_into(&mut retired);
        g.retired = retired;
        g.threads.retain(|t| !Arc::ptr_eq(t, &self.data));
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// Runs `f` with this thread's state; `None` during thread-local teardown (the call is then counted in
/// [`DROPPED_CALLS`] by the caller).
#[inline]
pub fn with_local<R>(f: impl FnOnce(&Local) -> R) -> Option<R> {
    LOCAL.try_with(f).ok()
}
