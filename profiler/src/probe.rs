//! Probes: what one sampled call reads at its start and end (thread CPU clock, run-queue delay, context
//! switches, optionally perf counters), the start-up calibration of their cost, and the perf-event mode.
//!
//! A probe is a [`Snapshot`] of monotonically increasing per-thread counters; a sampled call's figures are the
//! difference of its end and start snapshots. Reads are ordered so the measured window hugs the call: at the
//! start the CPU clock is read last, at the end first.

use std::sync::OnceLock;
use std::time::Instant;

use crate::sys;

/// Per-thread counters at one instant. Missing sources read as zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Thread CPU time (ns).
    pub cpu: u64,
    /// Run-queue delay (ns).
    pub rq: u64,
    /// Voluntary context switches.
    pub vol: u64,
    /// Involuntary context switches.
    pub invol: u64,
    /// perf task-clock (ns), perf mode only.
    pub perf_task_clock: u64,
    /// perf context switches, perf mode only.
    pub perf_cs: u64,
    /// perf CPU migrations, perf mode only.
    pub perf_migrations: u64,
    /// perf page faults, perf mode only.
    pub perf_faults: u64,
}

impl Snapshot {
    /// `later − self`, component-wise, saturating.
    pub fn delta(&self, later: &Snapshot) -> Snapshot {
        Snapshot {
            cpu: later.cpu.saturating_sub(self.cpu),
            rq: later.rq.saturating_sub(self.rq),
            vol: later.vol.saturating_sub(self.vol),
            invol: later.invol.saturating_sub(self.invol),
            perf_task_clock: later.perf_task_clock.saturating_sub(self.perf_task_clock),
            perf_cs: later.perf_cs.saturating_sub(self.perf_cs),
            perf_migrations: later.perf_migrations.saturating_sub(self.perf_migrations),
            perf_faults: later.perf_faults.saturating_sub(self.perf_faults),
        }
    }
}

/// Per-thread probe sources, opened once per thread.
#[derive(Debug, Default)]
pub struct ThreadProbes {
    sched: Option<sys::Schedstat>,
    perf: Option<PerfCounters>,
}

impl ThreadProbes {
    /// Opens this thread's sources (schedstat; perf counters when perf mode is on and allowed).
    pub fn open() -> ThreadProbes {
        let perf = if caps().perf_mode { PerfCounters::open().ok() } else { None };
        ThreadProbes { sched: sys::Schedstat::open(), perf }
    }

    /// Snapshot at the start of a sampled window (CPU clock last).
    #[inline]
    pub fn start(&mut self) -> Snapshot {
        let mut s = Snapshot::default();
        if let Some(p) = &mut self.perf {
            p.read_into(&mut s);
        }
        if let Some((v, i)) = sys::thread_switches() {
            s.vol = v;
            s.invol = i;
        }
        if let Some(sched) = &self.sched {
            s.rq = sched.run_delay_ns().unwrap_or(0);
        }
        s.cpu = sys::thread_cpu_ns().unwrap_or(0);
        s
    }

    /// Snapshot at the end of a sampled window (CPU clock first).
    #[inline]
    pub fn end(&mut self) -> Snapshot {
        let mut s = Snapshot { cpu: sys::thread_cpu_ns().unwrap_or(0), ..Snapshot::default() };
        if let Some(sched) = &self.sched {
            s.rq = sched.run_delay_ns().unwrap_or(0);
        }
        if let Some((v, i)) = sys::thread_switches() {
            s.vol = v;
            s.invol = i;
        }
        if let Some(p) = &mut self.perf {
            p.read_into(&mut s);
        }
        s
    }
}

/// perf software counters of one thread. They are read outermost (first at the start, last at the end), so
/// their window also holds the other probes: a cross-check, slightly larger than the CPU clock's figure.
#[derive(Debug)]
pub struct PerfCounters {
    #[cfg(target_os = "linux")]
    counters: [perf_event::Counter; 4],
}

impl PerfCounters {
    /// Opens task-clock, context-switches, cpu-migrations and page-faults for the calling thread.
    #[cfg(target_os = "linux")]
    pub fn open() -> std::io::Result<PerfCounters> {
        use perf_event::Builder;
        use perf_event::events::Software;
        // Context switches and page faults happen in the kernel: count kernel-side events where allowed
        // (perf_event_paranoid < 2 or privileged), else user-side only.
        let mk = |kind: Software| -> std::io::Result<perf_event::Counter> {
            let mut b = Builder::new().kind(kind).observe_self().any_cpu();
            b.include_kernel();
            let mut c = match b.build() {
                Ok(c) => c,
                Err(_) => Builder::new().kind(kind).observe_self().any_cpu().build()?,
            };
            c.enable()?;
            Ok(c)
        };
        Ok(PerfCounters {
            counters: [
                mk(Software::TASK_CLOCK)?,
                mk(Software::CONTEXT_SWITCHES)?,
                mk(Software::CPU_MIGRATIONS)?,
                mk(Software::PAGE_FAULTS)?,
            ],
        })
    }

    /// Not available on this platform.
    #[cfg(not(target_os = "linux"))]
    pub fn open() -> std::io::Result<PerfCounters> {
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "perf_event_open is Linux-only"))
    }

    #[cfg(target_os = "linux")]
    fn read_into(&mut self, s: &mut Snapshot) {
        let [a, b, c, d] = &mut self.counters;
        s.perf_task_clock = a.read().unwrap_or(0);
        s.perf_cs = b.read().unwrap_or(0);
        s.perf_migrations = c.read().unwrap_or(0);
        s.perf_faults = d.read().unwrap_or(0);
    }

    #[cfg(not(target_os = "linux"))]
    fn read_into(&mut self, _s: &mut Snapshot) {}
}

/// What this process can measure, found once at start-up.
#[derive(Debug, Clone)]
pub struct Caps {
    /// Thread CPU clock works.
    pub cpu_clock: bool,
    /// schedstat can be read.
    pub schedstat: bool,
    /// getrusage(RUSAGE_THREAD) works.
    pub rusage: bool,
    /// perf counters are read on sampled calls (`CONC_PROFILER_PERF=1` and the kernel allows it).
    pub perf_mode: bool,
    /// `"enabled"`, `"available (set CONC_PROFILER_PERF=1 to use)"` or `"unavailable: <reason>"`.
    pub perf_status: String,
    /// Calibrated cost of one sampled call's probes (start + end), in ns.
    pub probe_cost_ns: u64,
}

static CAPS: OnceLock<Caps> = OnceLock::new();

/// The environment variable that turns on perf counters.
pub const PERF_ENV: &str = "CONC_PROFILER_PERF";

/// This process's capabilities; the first call calibrates (about a millisecond).
pub fn caps() -> &'static Caps {
    CAPS.get_or_init(detect)
}

fn detect() -> Caps {
    let wanted = std::env::var(PERF_ENV).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("on"));
    let (perf_ok, perf_status) = match PerfCounters::open() {
        Ok(_) if wanted => (true, "enabled".to_string()),
        Ok(_) => (false, format!("available (set {PERF_ENV}=1 to read them on sampled calls)")),
        Err(e) => {
            if wanted {
                eprintln!(
                    "conc-profiler: perf_event_open refused ({e}); falling back to the thread CPU clock, getrusage and schedstat"
                );
            }
            (false, format!("unavailable: perf_event_open refused ({e})"))
        }
    };
    let mut caps = Caps {
        cpu_clock: sys::thread_cpu_ns().is_some(),
        schedstat: sys::Schedstat::open().is_some(),
        rusage: sys::thread_switches().is_some(),
        perf_mode: perf_ok,
        perf_status,
        probe_cost_ns: 0,
    };
    caps.probe_cost_ns = calibrate(caps.perf_mode);
    caps
}

/// Cost of a start + end probe pair: the average over a batch of pairs, taking the cheapest of several batches
/// so that a preemption during calibration (a busy machine) does not inflate it.
fn calibrate(perf_mode: bool) -> u64 {
    const BATCHES: u32 = 10;
    const ROUNDS: u32 = 20;
    let mut probes =
        ThreadProbes { sched: sys::Schedstat::open(), perf: if perf_mode { PerfCounters::open().ok() } else { None } };
    // Warm up (first reads fault in pages and vDSO data).
    for _ in 0..8 {
        std::hint::black_box(probes.start());
        std::hint::black_box(probes.end());
    }
    let mut best = u128::MAX;
    for _ in 0..BATCHES {
        let t0 = Instant::now();
        for _ in 0..ROUNDS {
            std::hint::black_box(probes.start());
            std::hint::black_box(probes.end());
        }
        best = best.min(t0.elapsed().as_nanos() / u128::from(ROUNDS));
    }
    best.max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_saturates() {
        let a = Snapshot { cpu: 10, rq: 5, vol: 3, ..Snapshot::default() };
        let b = Snapshot { cpu: 25, rq: 4, vol: 7, ..Snapshot::default() };
        let d = a.delta(&b);
        assert_eq!((d.cpu, d.rq, d.vol), (15, 0, 4));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn caps_are_detected_and_calibrated() {
        let c = caps();
        assert!(c.cpu_clock && c.rusage);
        assert!(c.probe_cost_ns > 0);
        assert!(!c.perf_status.is_empty());
    }
}
