//! What a thread waits on while it is inside an instrumented function: lock/futex, I/O, sleep or other.
//!
//! Each thread publishes the call site of its innermost in-flight instrumented call (sync call or async poll) in
//! a [`Published`] slot: one relaxed load and two relaxed stores per call, no lock, no read-modify-write. A
//! low-rate sampler thread (started with the first instrumented thread; `CONC_PROFILER_WAITS=0` turns it off)
//! reads `/proc/self/task/<tid>/syscall` of the threads with a published call and counts, per call site, the
//! kind of system call they are blocked in. The report splits each function's blocked time in proportion.
//!
//! Cost: the sampler wakes every [`INTERVAL`] and then sleeps at least 100× what its round cost in CPU, so it
//! stays at or below 1 % of a core however many threads there are (rounds just get rarer).
//!
//! Known limit: a futex wait is any `futex(2)` — a contended mutex, but also a condition variable, a channel
//! receive or a join; the "lock/futex" kind counts them all.

use std::collections::HashMap;
use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::classify::WaitKinds;

/// Environment variable that turns the wait sampler off (`0`, `off`, `false`).
pub const WAITS_ENV: &str = "CONC_PROFILER_WAITS";

/// Time between two sampling rounds (before the CPU budget stretches it).
pub const INTERVAL: Duration = Duration::from_millis(10);

/// The sampler sleeps at least this many times the CPU time its last round used (≤ 1 % of a core).
const BUDGET_FACTOR: u32 = 100;

/// One thread's published current call.
#[derive(Debug)]
pub struct Published {
    tid: Option<u32>,
    /// Index + 1 of the call site the thread is inside (innermost), 0 when none.
    current: AtomicUsize,
}

impl Published {
    /// Enters call site `idx`; returns what to pass to [`Published::leave`].
    #[inline]
    pub fn enter(&self, idx: usize) -> usize {
        let prev = self.current.load(Relaxed);
        // Single writer (the owning thread); the sampler only loads.
        self.current.store(idx + 1, Relaxed);
        prev
    }

    /// Leaves the call entered with [`Published::enter`].
    #[inline]
    pub fn leave(&self, prev: usize) {
        self.current.store(prev, Relaxed);
    }
}

#[derive(Default)]
struct Shared {
    threads: Vec<Arc<Published>>,
    /// Per call site: samples per kind.
    counts: Vec<WaitKinds>,
    /// Per call site: the load seen in rounds when a thread was inside it.
    loads: Vec<Load>,
}

/// How busy the machine and the program were, summed over the sampler's rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Load {
    /// Sampling rounds.
    pub rounds: u64,
    /// Sum over rounds of this program's runnable threads (state `R`, the sampler excluded).
    pub own_runnable: u64,
    /// Sum over rounds of the machine's runnable tasks (`/proc/loadavg`, the sampler excluded).
    pub machine_runnable: u64,
}

impl Load {
    /// This program's runnable threads on average.
    pub fn own_avg(&self) -> f64 {
        if self.rounds == 0 { 0.0 } else { self.own_runnable as f64 / self.rounds as f64 }
    }

    /// The machine's runnable tasks on average.
    pub fn machine_avg(&self) -> f64 {
        if self.rounds == 0 { 0.0 } else { self.machine_runnable as f64 / self.rounds as f64 }
    }
}

static SHARED: Mutex<Shared> = Mutex::new(Shared { threads: Vec::new(), counts: Vec::new(), loads: Vec::new() });
static STARTED: AtomicBool = AtomicBool::new(false);

fn shared() -> MutexGuard<'static, Shared> {
    SHARED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the sampler may run (Linux, not turned off).
fn wanted() -> bool {
    cfg!(target_os = "linux")
        && !matches!(
            std::env::var(WAITS_ENV).map(|v| v.trim().to_ascii_lowercase()).as_deref(),
            Ok("0" | "off" | "false" | "no")
        )
}

/// The calling thread's id, from `/proc/thread-self` (a link to `<pid>/task/<tid>`).
fn own_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Registers the calling thread (once per thread) and starts the sampler on first use.
pub fn register() -> Arc<Published> {
    let p = Arc::new(Published { tid: if wanted() { own_tid() } else { None }, current: AtomicUsize::new(0) });
    if p.tid.is_some() {
        shared().threads.push(Arc::clone(&p));
        if !STARTED.swap(true, Relaxed) {
            let spawned = std::thread::Builder::new().name("conc-profiler-waits".into()).spawn(sampler);
            if spawned.is_err() {
                STARTED.store(false, Relaxed);
            }
        }
    }
    p
}

/// Unregisters a thread that exits.
pub fn unregister(p: &Arc<Published>) {
    if p.tid.is_some() {
        shared().threads.retain(|t| !Arc::ptr_eq(t, p));
    }
}

/// Samples counted so far for call site `idx`.
pub fn counts(idx: usize) -> WaitKinds {
    shared().counts.get(idx).copied().unwrap_or_default()
}

/// Clears the counts (with [`crate::reset`]).
pub fn reset() {
    let mut s = shared();
    s.counts.clear();
    s.loads.clear();
}

/// The load seen so far while a thread was inside call site `idx`.
pub fn load_of(idx: usize) -> Load {
    shared().loads.get(idx).copied().unwrap_or_default()
}

/// Runnable threads of this process (state `R`), not counting `skip`.
fn own_runnable(skip: Option<u32>) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0 };
    let mut n = 0;
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(tid) = name.to_str().and_then(|t| t.parse::<u32>().ok()) else { continue };
        if Some(tid) == skip {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else { continue };
        // The state follows the command name, which is in parentheses and may contain anything.
        if stat.rsplit_once(')').and_then(|(_, rest)| rest.trim_start().chars().next()) == Some('R') {
            n += 1;
        }
    }
    n
}

/// Runnable tasks on the machine (`/proc/loadavg`'s fourth field, `running/total`), not counting the caller.
fn machine_runnable() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/loadavg") else { return 0 };
    s.split_ascii_whitespace()
        .nth(3)
        .and_then(|f| f.split('/').next())
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(0, |n| n.saturating_sub(1))
}

/// The system call number in a `/proc/…/syscall` line: `None` for "running"; `-1` (blocked outside a system
/// call, e.g. a page fault) is returned as is.
pub fn parse_syscall(s: &str) -> Option<i64> {
    s.split_ascii_whitespace().next()?.parse().ok()
}

/// The [`WaitKinds`] index of a thread blocked in system call `nr`: the table shared with the external sampler
/// ([`conc_report::waits::syscall_kind`]; disk waits count as I/O, a child wait as other).
#[cfg(target_os = "linux")]
pub fn kind_of(nr: i64) -> usize {
    conc_report::waits::syscall_kind(nr).wait_kinds_index()
}

/// Not Linux: everything is "other" (the sampler does not run).
#[cfg(not(target_os = "linux"))]
pub fn kind_of(_nr: i64) -> usize {
    WaitKinds::OTHER
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8]) -> Option<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, 0).ok()
}

#[cfg(not(unix))]
fn read_at(_f: &File, _buf: &mut [u8]) -> Option<usize> {
    None
}

/// The sampler thread's loop.
fn sampler() {
    let mut files: HashMap<u32, File> = HashMap::new();
    let mut live: Vec<(u32, usize)> = Vec::new();
    let mut buf = [0u8; 256];
    let me = own_tid();
    loop {
        let cpu0 = crate::sys::thread_cpu_ns();
        live.clear();
        {
            let s = shared();
            live.extend(
                s.threads.iter().filter_map(|t| Some((t.tid?, t.current.load(Relaxed)))).filter(|(_, c)| *c != 0),
            );
        }
        // The load is read only while something is being measured, and counted for the call sites in flight.
        let (own, machine) = if live.is_empty() { (0, 0) } else { (own_runnable(me), machine_runnable()) };
        let mut seen: Vec<(usize, usize)> = Vec::with_capacity(live.len());
        for &(tid, cur) in &live {
            let file = match files.get(&tid) {
                Some(f) => f,
                None => match File::open(format!("/proc/self/task/{tid}/syscall")) {
                    Ok(f) => files.entry(tid).or_insert(f),
                    Err(_) => continue,
                },
            };
            let Some(n) = read_at(file, &mut buf) else { continue };
            let text = String::from_utf8_lossy(&buf[..n]);
            let kind = match parse_syscall(&text) {
                // "running": on a CPU or runnable, not waiting.
                None if text.starts_with("running") => WaitKinds::RUNNING,
                None => continue,
                Some(nr) if nr < 0 => WaitKinds::OTHER,
                Some(nr) => kind_of(nr),
            };
            seen.push((cur - 1, kind));
        }
        {
            let mut s = shared();
            let mut sites: Vec<usize> = live.iter().map(|&(_, cur)| cur - 1).collect();
            sites.sort_unstable();
            sites.dedup();
            for idx in sites {
                if s.loads.len() <= idx {
                    s.loads.resize(idx + 1, Load::default());
                }
                let l = &mut s.loads[idx];
                l.rounds += 1;
                l.own_runnable += own;
                l.machine_runnable += machine;
            }
            for (idx, kind) in seen {
                if s.counts.len() <= idx {
                    s.counts.resize(idx + 1, WaitKinds::default());
                }
                s.counts[idx].add(kind);
            }
            // Forget descriptors of threads that exited.
            if files.len() > s.threads.len() {
                files.retain(|tid, _| s.threads.iter().any(|t| t.tid == Some(*tid)));
            }
        }
        let used = match (cpu0, crate::sys::thread_cpu_ns()) {
            (Some(a), Some(b)) => Duration::from_nanos(b.saturating_sub(a)),
            _ => Duration::ZERO,
        };
        std::thread::sleep(INTERVAL.max(used * BUDGET_FACTOR));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_syscall_lines() {
        assert_eq!(parse_syscall("running\n"), None);
        assert_eq!(parse_syscall("202 0x7f 0x80 0x0 0x0 0x0 0x0 0x7ffc 0x7f12\n"), Some(202));
        assert_eq!(parse_syscall("-1 0x7ffc 0x7f12\n"), Some(-1));
        assert_eq!(parse_syscall(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kinds_of_common_calls() {
        assert_eq!(kind_of(libc::SYS_futex), WaitKinds::LOCK);
        assert_eq!(kind_of(libc::SYS_read), WaitKinds::IO);
        assert_eq!(kind_of(libc::SYS_clock_nanosleep), WaitKinds::SLEEP);
        assert_eq!(kind_of(libc::SYS_wait4), WaitKinds::OTHER);
        assert_eq!(kind_of(libc::SYS_fsync), WaitKinds::IO);
    }
}
