//! The profiler's only FFI: the per-thread CPU clock (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), per-thread
//! context-switch counts (`getrusage(RUSAGE_THREAD)`), the run-queue delay in `/proc/thread-self/schedstat` (read
//! with `pread` on a descriptor kept open per thread) and `atexit` for the end-of-process report.
//!
//! Every `unsafe` block is a single libc call with a `SAFETY` comment. Everything is Linux-first: on other
//! platforms the functions return `None` (the profiler then reports wall time only) and `register_atexit`
//! returns `false`.

#![allow(unsafe_code)]

use std::fs::File;

/// On-CPU time of the calling thread, in nanoseconds.
#[cfg(target_os = "linux")]
#[inline]
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable `timespec` that outlives the call; the clock id is a constant the
    // kernel knows. clock_gettime writes only into `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some((ts.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(ts.tv_nsec as u64))
}

/// On-CPU time of the calling thread: not available on this platform.
#[cfg(not(target_os = "linux"))]
#[inline]
pub fn thread_cpu_ns() -> Option<u64> {
    None
}

/// Voluntary and involuntary context switches of the calling thread so far.
#[cfg(target_os = "linux")]
#[inline]
pub fn thread_switches() -> Option<(u64, u64)> {
    // SAFETY: `rusage` is a plain C struct of integers for which all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` that outlives the call; RUSAGE_THREAD is supported since Linux
    // 2.6.26. getrusage writes only into `ru`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    if rc != 0 {
        return None;
    }
    Some((ru.ru_nvcsw as u64, ru.ru_nivcsw as u64))
}

/// Context switches of the calling thread: not available on this platform.
#[cfg(not(target_os = "linux"))]
#[inline]
pub fn thread_switches() -> Option<(u64, u64)> {
    None
}

/// `/proc/thread-self/schedstat` of the thread that opened it, kept open so that each read is one `pread`.
///
/// The file holds three numbers: time on the CPU (ns), time waiting on a run queue (ns), and time slices run.
/// Only the second is used: the first is not brought up to date for the running thread (the CPU clock is).
#[derive(Debug)]
pub struct Schedstat {
    file: File,
}

impl Schedstat {
    /// Opens the calling thread's schedstat file. `None` when it does not exist (not Linux, or a kernel built
    /// without `CONFIG_SCHED_INFO`).
    pub fn open() -> Option<Schedstat> {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let file = File::open("/proc/thread-self/schedstat").ok()?;
        let s = Schedstat { file };
        s.run_delay_ns().map(|_| s)
    }

    /// Nanoseconds the thread has spent runnable but waiting for a CPU, so far.
    #[cfg(unix)]
    pub fn run_delay_ns(&self) -> Option<u64> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 96];
        // `read_at` is `pread(2)`: no seek, so the kept-open descriptor always reads from offset 0.
        let n = self.file.read_at(&mut buf, 0).ok()?;
        parse_run_delay(buf.get(..n)?)
    }

    /// Not available on this platform.
    #[cfg(not(unix))]
    pub fn run_delay_ns(&self) -> Option<u64> {
        None
    }
}

/// The second whitespace-separated number of a schedstat line.
pub fn parse_run_delay(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.split_ascii_whitespace().nth(1)?.parse().ok()
}

/// Registers `f` to run when the process exits normally (`exit`, return from `main`). Returns whether it was
/// registered.
#[cfg(unix)]
pub fn register_atexit(f: extern "C" fn()) -> bool {
    // SAFETY: `f` is a plain `extern "C" fn()` with no arguments, as atexit requires; it lives for the whole
    // program (it is a function item). atexit only stores the pointer.
    unsafe { libc::atexit(f) == 0 }
}

/// Not available on this platform.
#[cfg(not(unix))]
pub fn register_atexit(_f: extern "C" fn()) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schedstat_lines() {
        assert_eq!(parse_run_delay(b"123 456 7\n"), Some(456));
        assert_eq!(parse_run_delay(b"123"), None);
        assert_eq!(parse_run_delay(b"a b c"), None);
        assert_eq!(parse_run_delay(&[0xff, 0xfe]), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_sources_are_available_and_monotonic() {
        let a = thread_cpu_ns().expect("thread CPU clock");
        let mut x = 0u64;
        for i in 0..100_000u64 {
            x = x.wrapping_mul(31).wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let b = thread_cpu_ns().expect("thread CPU clock");
        assert!(b >= a);
        let (v1, i1) = thread_switches().expect("getrusage");
        std::thread::yield_now();
        let (v2, i2) = thread_switches().expect("getrusage");
        assert!(v2 >= v1 && i2 >= i1);
        if let Some(s) = Schedstat::open() {
            let d1 = s.run_delay_ns().unwrap();
            let d2 = s.run_delay_ns().unwrap();
            assert!(d2 >= d1);
        }
    }
}
