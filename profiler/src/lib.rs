//! conc-profiler: the runtime half of conc-advisor. `#[profile_concurrency]` instruments functions (sync and
//! async); this crate measures on-CPU time, run-queue wait and blocked time per function, classifies each as
//! CPU-bound, I/O-bound, mixed, oversubscribed, lock-serialized or executor-unfriendly, and recommends what to
//! run it on, with a concrete pool size.
//!
//! ```
//! use conc_profiler::profile_concurrency;
//!
//! #[profile_concurrency(expect = "cpu")]
//! fn checksum(data: &[u8]) -> u64 {
//!     data.iter().fold(0u64, |h, &b| h.rotate_left(5) ^ u64::from(b))
//! }
//!
//! checksum(&[1, 2, 3]);
//! let report = conc_profiler::report();
//! assert!(report.entries.iter().any(|e| e.name.ends_with("checksum")));
//! println!("{}", report.human_table());
//! ```
//!
//! # Getting the report out
//!
//! - In code: [`report()`] (JSON via [`Report::to_json_pretty`], [`Report::human_table`],
//!   [`Report::summary_lines`]), [`check_expectations()`] / [`assert_expectations()`] in tests.
//! - Without code: run the program (or `cargo test`) with `CONC_PROFILER_REPORT=out.json` — the report is written
//!   when the process exits (`out.txt` writes the table; `-` prints the table to stderr; `{pid}` is replaced by
//!   the process id, useful when several test binaries run). A [`ReportGuard`] writes it when dropped instead.
//!
//! # Switches
//!
//! - Cargo feature `enabled` (default): without it every instrumented function compiles to its plain body plus
//!   an unused `static`.
//! - `CONC_PROFILER=0` at run time, or [`set_enabled(false)`](set_enabled): one relaxed atomic load per call.
//! - `CONC_PROFILER_PERF=1`: also read perf software counters (task-clock, context switches, migrations, page
//!   faults) on sampled calls, where `perf_event_open` is allowed; when refused, the profiler says so once and
//!   the report carries a note.
//!
//! # What is measured (Linux; other platforms get wall time only)
//!
//! Every call: wall time and a call count, in thread-local slots (no lock, no allocation per call). Sampled
//! calls (the first 16 per function and thread, then as many as keep the probe cost ≤ 1 % of the function's wall
//! time, so long calls are always sampled): thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), run-queue wait
//! (`/proc/thread-self/schedstat`), voluntary/involuntary context switches (`getrusage(RUSAGE_THREAD)`);
//! blocked = wall − CPU − run-queue. Nested instrumented calls are subtracted to give self figures (the report
//! keeps inclusive ones too). Async functions are measured per poll, with a wrapping waker on sampled futures
//! to split idle time (waiting for a wake-up) from scheduled-but-not-polled time (executor saturation).
//! A low-rate sampler thread reads `/proc/self/task/<tid>/syscall` of threads inside an instrumented call and
//! splits blocked time into lock/futex, I/O, sleep and other ([`waits`]; `CONC_PROFILER_WAITS=0` turns it off):
//! a function blocked mostly on a lock is `lock-serialized`, and pool sizes count only I/O waits (not locks or sleeps).

#![deny(unsafe_code)]
// Without the `enabled` feature the recording machinery is compiled but never called.
#![cfg_attr(not(feature = "enabled"), allow(dead_code))]

pub mod control;
pub mod export;
mod future;
pub mod probe;
pub mod registry;
mod span;
pub mod sys;
pub mod waits;

// The report schema and the classifier live in `conc-report` (no perf-event), shared with the external
// sampler (`conc-sampler`); re-exported so `conc_profiler::classify` and `conc_profiler::report` keep working.
pub use conc_report::{classify, report};

pub use classify::{Classification, Recommendation, Thresholds, Timing, Verdict};
pub use control::set_enabled;
pub use export::{ReportGuard, assert_expectations, check_expectations, report, set_thresholds};
pub use report::{Expectation, ExpectationMismatch, Report};

/// Clears everything recorded so far (all threads). Useful to measure phases separately.
pub fn reset() {
    registry::reset();
    waits::reset();
}

#[cfg(feature = "macros")]
pub use conc_profiler_macros::profile_concurrency;

/// Used by the code `#[profile_concurrency]` generates; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::registry::{Callsite, Kind};
    pub use crate::report::Expectation;
    #[cfg(feature = "enabled")]
    pub use crate::span::{Guard, enter};

    /// Without the `enabled` feature: a guard with no fields and no `Drop`, so nothing is left to run.
    #[cfg(not(feature = "enabled"))]
    #[derive(Debug)]
    pub struct Guard;

    /// Without the `enabled` feature: does nothing.
    #[cfg(not(feature = "enabled"))]
    #[inline(always)]
    pub fn enter(_cs: &'static Callsite) -> Guard {
        Guard
    }

    /// Calls the body of a function returning a future. The `FnOnce` bound lets the closure move a captured
    /// `&mut` into the future it returns.
    #[inline(always)]
    pub fn call_once<R, F: ::core::ops::FnOnce() -> R>(f: F) -> R {
        f()
    }

    /// Wraps an instrumented async body.
    #[cfg(feature = "enabled")]
    #[inline]
    pub fn instrument<F: ::core::future::Future>(
        cs: &'static Callsite,
        fut: F,
    ) -> impl ::core::future::Future<Output = F::Output> {
        crate::future::instrument(cs, fut)
    }

    /// Without the `enabled` feature: returns the body's future unchanged.
    #[cfg(not(feature = "enabled"))]
    #[inline(always)]
    pub fn instrument<F: ::core::future::Future>(_cs: &'static Callsite, fut: F) -> F {
        fut
    }
}
