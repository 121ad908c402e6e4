//! The on/off switches: the `enabled` cargo feature (compile time), the `CONC_PROFILER` environment variable and
//! [`set_enabled`] (run time), plus the sampling policy constants.
//!
//! | Variable | Effect |
//! |---|---|
//! | `CONC_PROFILER=0` (or `off`, `false`) | instrumented functions only check one relaxed atomic and return |
//! | `CONC_PROFILER_REPORT=PATH` | write the report when the process exits: JSON, or the human table if `PATH` ends in `.txt`; `-` writes the table to stderr; `{pid}` in `PATH` becomes the process id |
//! | `CONC_PROFILER_PERF=1` | also read perf software counters on sampled calls (when the kernel allows it) |

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Environment variable that disables the profiler at run time (`0`, `off`, `false`).
pub const ENABLE_ENV: &str = "CONC_PROFILER";

/// The first calls of each function on each thread are always sampled.
pub const WARMUP_CALLS: u64 = 16;
/// After the warm-up, a call is sampled only while the probe time spent on that function on that thread stays
/// within this fraction of its wall time (1 %): long calls are therefore always sampled, and a 10 µs function
/// with ~3 µs probes is sampled about once every 300 calls.
pub const PROBE_BUDGET_DIVISOR: u64 = 100;

const UNKNOWN: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether instrumented functions record anything. Always `false` without the `enabled` feature.
#[inline(always)]
pub fn enabled() -> bool {
    if !cfg!(feature = "enabled") {
        return false;
    }
    match STATE.load(Relaxed) {
        ON => true,
        OFF => false,
        _ => init(),
    }
}

#[cold]
fn init() -> bool {
    let off = std::env::var(ENABLE_ENV)
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "off" | "false" | "no"));
    let want = if off { OFF } else { ON };
    if STATE.compare_exchange(UNKNOWN, want, Relaxed, Relaxed).is_ok() && !off {
        crate::export::install_exit_hook();
    }
    STATE.load(Relaxed) == ON
}

/// Turns recording on or off for the whole process, overriding `CONC_PROFILER`. Without the `enabled` feature
/// this does nothing.
pub fn set_enabled(on: bool) {
    if on {
        crate::export::install_exit_hook();
    }
    STATE.store(if on { ON } else { OFF }, Relaxed);
}
