//! The exact number of processes and threads the profiled tree created (issue 14: 300 forks were shown as "+ 10
//! short-lived processes", then as the upper bound "+ at most 300 more tasks").
//!
//! One perf `dummy` software event per CPU is opened on the command before it runs, with `inherit` (every task it
//! creates gets a copy, whose records go to the parent event's buffer) and `task` (the kernel writes a
//! `PERF_RECORD_FORK` for every process or thread created in the tree, and a `PERF_RECORD_EXIT`). The ring buffers
//! (mapped by `conc_profiler::sys::PerfRing`, the workspace's one FFI module) are drained every tick and the records
//! counted here. Per-CPU events are required: the kernel refuses to map an inherited per-task event.
//!
//! When the events cannot be opened or mapped (perf refused, a container, no `mmap`) or records were lost (the
//! buffer overflowed), the count is not exact: the report then keeps the pid-allocation upper bound, labelled as
//! such, with the reason in a note.

use conc_profiler::sys::PerfRing;
use perf_event::events::Software;
use perf_event::{Builder, Counter};

/// `PERF_RECORD_LOST`: the kernel dropped records (the buffer was full).
const RECORD_LOST: u32 = 2;
/// `PERF_RECORD_EXIT`.
const RECORD_EXIT: u32 = 4;
/// `PERF_RECORD_FORK`: `{ pid, ppid, tid, ptid: u32, time: u64 }` after the header.
const RECORD_FORK: u32 = 7;
/// Data pages per CPU (256 KiB with 4 KiB pages: about 4,000 forks and exits between two drains).
const DATA_PAGES: usize = 64;

/// What the records said so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForkCounts {
    /// New processes (`fork`, `clone` without `CLONE_THREAD`): records whose pid is the new tid.
    pub processes: u64,
    /// New threads of existing processes.
    pub threads: u64,
    /// Tasks that exited.
    pub exits: u64,
    /// Records the kernel reported lost: when non-zero, the counts are a lower bound.
    pub lost: u64,
}

impl ForkCounts {
    /// Counts the records in `bytes` (a whole number of records, as drained from a ring); a truncated tail is
    /// ignored.
    pub fn add_records(&mut self, mut bytes: &[u8]) {
        let u32_at = |b: &[u8], i: usize| b.get(i..i + 4).map(|s| u32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
        let u64_at = |b: &[u8], i: usize| {
            b.get(i..i + 8).map(|s| u64::from_ne_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        };
        // Header: type u32, misc u16, size u16 (the whole record, header included).
        while bytes.len() >= 8 {
            let kind = u32_at(bytes, 0).unwrap_or(0);
            let size = usize::from(u16::from_ne_bytes([bytes[6], bytes[7]]));
            if size < 8 || size > bytes.len() {
                break;
            }
            let body = &bytes[8..size];
            match kind {
                RECORD_FORK => {
                    if let (Some(pid), Some(tid)) = (u32_at(body, 0), u32_at(body, 8)) {
                        if pid == tid {
                            self.processes += 1;
                        } else {
                            self.threads += 1;
                        }
                    }
                }
                RECORD_EXIT => self.exits += 1,
                // { id: u64, lost: u64 }
                RECORD_LOST => self.lost += u64_at(body, 8).unwrap_or(1).max(1),
                _ => {}
            }
            bytes = &bytes[size..];
        }
    }
}

/// The open events and their rings.
#[derive(Debug)]
pub struct ForkCounter {
    events: Vec<(Counter, PerfRing)>,
    counts: ForkCounts,
    buf: Vec<u8>,
}

/// Why the exact count is not available (the note the report carries).
#[derive(Debug, thiserror::Error)]
#[error("exact fork count unavailable ({0}): the count of tasks that came and went is an upper bound")]
pub struct ForksUnavailable(String);

/// The CPUs the kernel has online (`/sys/devices/system/cpu/online`: "0-3,6"), else 0..available_parallelism.
fn online_cpus() -> Vec<usize> {
    let parsed = std::fs::read_to_string("/sys/devices/system/cpu/online").ok().and_then(|s| parse_cpu_list(&s));
    parsed.unwrap_or_else(|| (0..crate::procfs::cores()).collect())
}

/// Parses a kernel CPU list ("0-3,6").
pub fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.trim().parse::<usize>().ok()?..=b.trim().parse::<usize>().ok()?),
            None => cpus.push(part.trim().parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

impl ForkCounter {
    /// Opens one event per online CPU on `pid` (a spawned command held before it runs anything), maps the rings
    /// and enables the events.
    pub fn open(pid: i32) -> Result<ForkCounter, ForksUnavailable> {
        let mut events = Vec::new();
        for cpu in online_cpus() {
            let mut b = Builder::new().kind(Software::DUMMY).observe_pid(pid).one_cpu(cpu);
            b.inherit(true).task(true);
            let counter = match b.build() {
                Ok(c) => c,
                // A CPU that went offline meanwhile.
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
                Err(e) => return Err(ForksUnavailable(format!("perf_event_open of a task event on CPU {cpu}: {e}"))),
            };
            let ring = PerfRing::map(&counter, DATA_PAGES)
                .map_err(|e| ForksUnavailable(format!("mapping the perf ring buffer: {e}")))?;
            events.push((counter, ring));
        }
        if events.is_empty() {
            return Err(ForksUnavailable("no online CPU to open a task event on".into()));
        }
        for (c, _) in &mut events {
            c.enable().map_err(|e| ForksUnavailable(format!("enabling the task events: {e}")))?;
        }
        Ok(ForkCounter { events, counts: ForkCounts::default(), buf: Vec::new() })
    }

    /// Drains every ring and counts the records (call it every tick, so the buffers never fill).
    pub fn poll(&mut self) {
        for (_, ring) in &mut self.events {
            self.buf.clear();
            ring.drain(&mut self.buf);
            self.counts.add_records(&self.buf);
        }
    }

    /// The counts so far (after a last [`ForkCounter::poll`]).
    pub fn counts(&mut self) -> ForkCounts {
        self.poll();
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut r = kind.to_ne_bytes().to_vec();
        r.extend_from_slice(&0u16.to_ne_bytes());
        r.extend_from_slice(&((8 + body.len()) as u16).to_ne_bytes());
        r.extend_from_slice(body);
        r
    }

    fn fork(pid: u32, ppid: u32, tid: u32, ptid: u32) -> Vec<u8> {
        let mut b = Vec::new();
        for x in [pid, ppid, tid, ptid] {
            b.extend_from_slice(&x.to_ne_bytes());
        }
        b.extend_from_slice(&123u64.to_ne_bytes());
        record(RECORD_FORK, &b)
    }

    #[test]
    fn counts_processes_threads_exits_and_losses() {
        let mut bytes = Vec::new();
        bytes.extend(fork(200, 100, 200, 100)); // a process
        bytes.extend(fork(200, 200, 201, 200)); // a thread of it
        bytes.extend(fork(202, 200, 202, 201)); // a process forked by that thread
        bytes.extend(record(RECORD_EXIT, &[0; 24]));
        bytes.extend(record(3, &[0; 16])); // PERF_RECORD_COMM: ignored
        let mut lost = 9u64.to_ne_bytes().to_vec();
        lost.extend_from_slice(&5u64.to_ne_bytes());
        bytes.extend(record(RECORD_LOST, &lost));
        let mut c = ForkCounts::default();
        c.add_records(&bytes);
        assert_eq!(c, ForkCounts { processes: 2, threads: 1, exits: 1, lost: 5 });
        // A truncated or corrupt tail stops the walk without panicking.
        let mut more = ForkCounts::default();
        more.add_records(&bytes[..bytes.len() - 3]);
        assert_eq!(more.processes, 2);
        more.add_records(&[7, 0, 0, 0, 0, 0, 2, 0]);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-3,6\n"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_cpu_list("0\n"), Some(vec![0]));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list(""), None);
    }
}
