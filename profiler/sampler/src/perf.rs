//! `perf-event` counters (task-clock, context switches, CPU migrations, page faults) opened with `inherit` on
//! the profiled command, for exact totals that include threads and children too short-lived for the sampler.
//! Refusal (permissions, `perf_event_paranoid`, seccomp) is reported as a note, never an error.

use perf_event::events::Software;
use perf_event::{Builder, Counter};

use super::model::PerfTotals;

/// The open counters on one or more tasks.
#[derive(Debug)]
pub struct PerfSet {
    task_clock: Vec<Counter>,
    switches: Vec<Counter>,
    migrations: Vec<Counter>,
    faults: Vec<Counter>,
    /// Whether kernel-side events are excluded (the fallback when only user-space counting is allowed).
    pub user_only: bool,
}

fn open_one(pid: i32, kind: Software, include_kernel: bool) -> std::io::Result<Counter> {
    let mut b = Builder::new().kind(kind).observe_pid(pid).any_cpu();
    b.inherit(true);
    if include_kernel {
        b.include_kernel();
    }
    b.build()
}

fn explain(e: &std::io::Error) -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    match e.raw_os_error() {
        Some(libc::EACCES) | Some(libc::EPERM) => format!(
            "perf counters refused ({e}; kernel.perf_event_paranoid = {paranoid}; a container may also block \
             perf_event_open): totals come from /proc sampling only, so threads shorter than a tick are missed"
        ),
        Some(libc::ENOSYS) | Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) => {
            format!("perf counters unavailable on this kernel ({e}): totals come from /proc sampling only")
        }
        _ => format!("perf counters could not be opened ({e}): totals come from /proc sampling only"),
    }
}

/// Why perf counters are not used: the note the report carries (what was refused and what replaces it).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PerfUnavailable(String);

impl PerfSet {
    /// Opens the four counters on each of `tids` (a spawned command: its one pid before it runs anything;
    /// an attached process: its existing threads), counting them and everything they create afterwards.
    pub fn open(tids: &[i32]) -> Result<PerfSet, PerfUnavailable> {
        let mut set = PerfSet {
            task_clock: Vec::new(),
            switches: Vec::new(),
            migrations: Vec::new(),
            faults: Vec::new(),
            user_only: false,
        };
        for (i, &tid) in tids.iter().enumerate() {
            let mut try_open = |kind: Software| -> Result<Counter, String> {
                match open_one(tid, kind, !set.user_only) {
                    Ok(c) => Ok(c),
                    Err(e)
                        if i == 0 && !set.user_only && matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) =>
                    {
                        set.user_only = true;
                        open_one(tid, kind, false).map_err(|e| explain(&e))
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(String::new()),
                    Err(e) => Err(explain(&e)),
                }
            };
            let opened = (|| {
                Ok::<_, String>((
                    try_open(Software::TASK_CLOCK)?,
                    try_open(Software::CONTEXT_SWITCHES)?,
                    try_open(Software::CPU_MIGRATIONS)?,
                    try_open(Software::PAGE_FAULTS)?,
                ))
            })();
            match opened {
                Ok((a, b, c, d)) => {
                    set.task_clock.push(a);
                    set.switches.push(b);
                    set.migrations.push(c);
                    set.faults.push(d);
                }
                // A thread that exited meanwhile: skip it.
                Err(e) if e.is_empty() => continue,
                Err(e) => return Err(PerfUnavailable(e)),
            }
        }
        if set.task_clock.is_empty() {
            return Err(PerfUnavailable("perf counters: no task to observe".into()));
        }
        Ok(set)
    }

    /// Starts counting.
    pub fn enable(&mut self) -> Result<(), PerfUnavailable> {
        for c in self.all_mut() {
            c.enable().map_err(|e| PerfUnavailable(format!("perf counters could not be enabled ({e})")))?;
        }
        Ok(())
    }

    fn all_mut(&mut self) -> impl Iterator<Item = &mut Counter> {
        self.task_clock
            .iter_mut()
            .chain(self.switches.iter_mut())
            .chain(self.migrations.iter_mut())
            .chain(self.faults.iter_mut())
    }

    /// Reads the totals (including exited inheriting children).
    pub fn read(&mut self) -> PerfTotals {
        fn sum(cs: &mut [Counter]) -> Option<u64> {
            let mut total = 0u64;
            for c in cs {
                total = total.saturating_add(c.read().ok()?);
            }
            Some(total)
        }
        PerfTotals {
            task_clock_s: sum(&mut self.task_clock).map(|ns| ns as f64 / 1e9),
            context_switches: if self.user_only { None } else { sum(&mut self.switches) },
            cpu_migrations: if self.user_only { None } else { sum(&mut self.migrations) },
            page_faults: sum(&mut self.faults),
        }
    }
}
