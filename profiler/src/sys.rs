//! The profiler's only FFI: the per-thread CPU clock (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), per-thread
//! context-switch counts (`getrusage(RUSAGE_THREAD)`), the run-queue delay in `/proc/thread-self/schedstat` (read
//! with `pread` on a descriptor kept open per thread), `atexit` for the end-of-process report, and [`PerfRing`],
//! the read side of a perf event's ring buffer (`mmap`), through which `profile` counts the forks of the
//! profiled tree exactly (`PERF_RECORD_FORK`). With the `mimalloc` feature, also [`mimalloc_purge_delay`], an
//! allocator option of the `conc-advisor` binary.
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

/// mimalloc's `mi_option_purge_delay` (the 16th entry of `enum mi_option_e` in mimalloc v2's `mimalloc.h`; the
/// Rust bindings name no constant for it). The test `the_purge_delay_option_is_mimallocs` reads its default back.
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets how long mimalloc keeps freed memory before it hands it back to the OS (`ms` milliseconds; negative:
/// never). Its default, 10 ms, makes a process that builds and drops many large short-lived trees (the checker:
/// one syntax tree per file) give pages back and fault them in again all the time: on the Rust corpus, 165,000
/// page faults and about a tenth of the CPU time. For the `conc-advisor` binary, whose global allocator is
/// mimalloc; in a process with another allocator the call only sets an unused option.
#[cfg(feature = "mimalloc")]
pub fn mimalloc_purge_delay(ms: i64) {
    let ms = std::ffi::c_long::try_from(ms).unwrap_or(-1);
    // SAFETY: mi_option_set stores an integer in mimalloc's option table; every value is valid for this option
    // (mimalloc reads it at each purge), and the option index is in range (see MI_OPTION_PURGE_DELAY).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ms) }
}

/// The ring buffer of a perf event opened by the caller (`perf_event_open` with records enabled, e.g. `task`),
/// mapped read-write so that the consumed position can be handed back to the kernel.
///
/// Only the byte stream is read here; what the records mean is parsed by safe code elsewhere (the sampler's
/// `forks` module). Layout (the kernel's `struct perf_event_mmap_page`, a fixed ABI): the first page holds
/// `data_head` at byte 1024 (written by the kernel), `data_tail` at 1032 (written by the reader), then the data
/// area of `data_pages` pages follows. Linux only.
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub struct PerfRing {
    base: std::ptr::NonNull<u8>,
    len: usize,
    data_size: u64,
}

// SAFETY: the mapping is owned by the `PerfRing` alone (no other handle to it exists in this program), and every
// access goes through `&mut self`; the kernel's concurrent writes are synchronised through `data_head`/`data_tail`.
#[cfg(target_os = "linux")]
unsafe impl Send for PerfRing {}

#[cfg(target_os = "linux")]
const DATA_HEAD_OFFSET: usize = 1024;
#[cfg(target_os = "linux")]
const DATA_TAIL_OFFSET: usize = 1032;

#[cfg(target_os = "linux")]
impl PerfRing {
    /// Maps the ring of the perf event `counter` with a data area of `data_pages` pages (a power of two). Taking
    /// the `Counter` (not any descriptor) guarantees the mapping is a perf ring, whose pages all exist.
    pub fn map(counter: &perf_event::Counter, data_pages: usize) -> std::io::Result<PerfRing> {
        use std::os::fd::AsRawFd;
        if !data_pages.is_power_of_two() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "data pages must be a power of two"));
        }
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = usize::try_from(page).ok().filter(|p| *p >= 4096).unwrap_or(4096);
        let len = page * (1 + data_pages);
        // SAFETY: a fresh shared mapping of `len` bytes of the perf event descriptor `counter` owns (the mapping
        // stays valid after the descriptor is closed); the kernel checks the size (1 + 2^n pages).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                counter.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = std::ptr::NonNull::new(ptr.cast::<u8>()).ok_or_else(|| std::io::Error::other("mmap gave null"))?;
        Ok(PerfRing { base, len, data_size: (page * data_pages) as u64 })
    }

    /// Appends the bytes the kernel wrote since the last call to `out` (records are whole: the kernel publishes
    /// `data_head` only after a complete record) and hands the space back. Returns how many bytes were appended.
    pub fn drain(&mut self, out: &mut Vec<u8>) -> usize {
        use std::sync::atomic::{AtomicU64, Ordering};
        // SAFETY: both offsets are inside the first (metadata) page of the live mapping, 8-byte aligned (the
        // mapping is page-aligned), and the kernel accesses these words only as whole u64s; AtomicU64 has the
        // layout of u64.
        let (head_word, tail_word) = unsafe {
            (
                &*self.base.as_ptr().add(DATA_HEAD_OFFSET).cast::<AtomicU64>(),
                &*self.base.as_ptr().add(DATA_TAIL_OFFSET).cast::<AtomicU64>(),
            )
        };
        // Acquire: the record bytes before `data_head` are visible once it is read (the kernel's smp_wmb pairs).
        let head = head_word.load(Ordering::Acquire);
        let tail = tail_word.load(Ordering::Relaxed);
        let avail = head.wrapping_sub(tail).min(self.data_size);
        let page = self.len as u64 - self.data_size;
        let mut done = 0u64;
        while done < avail {
            let off = (tail.wrapping_add(done)) % self.data_size;
            let n = (self.data_size - off).min(avail - done);
            // SAFETY: `page + off .. page + off + n` lies inside the data area of the live mapping (`off < size`,
            // `off + n <= size`); the kernel does not write there until `data_tail` passes it.
            let bytes =
                unsafe { std::slice::from_raw_parts(self.base.as_ptr().add((page + off) as usize), n as usize) };
            out.extend_from_slice(bytes);
            done += n;
        }
        // Release: our reads of the data happen before the kernel may overwrite it.
        tail_word.store(tail.wrapping_add(avail), Ordering::Release);
        avail as usize
    }
}

#[cfg(target_os = "linux")]
impl Drop for PerfRing {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly the mapping made in `map`, unmapped once (Drop runs once).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
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

    #[cfg(feature = "mimalloc")]
    #[test]
    fn the_purge_delay_option_is_mimallocs() {
        // SAFETY: mi_option_get only reads mimalloc's option table.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 10, "not mimalloc's purge delay (default 10 ms)");
        }
        mimalloc_purge_delay(1_000);
        assert_eq!(get(), 1_000);
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
