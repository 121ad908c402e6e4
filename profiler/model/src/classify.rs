//! Pure classification: turns measured timings into a verdict (CPU-bound, I/O-bound, …) with its evidence, and a
//! verdict into a recommendation (threads, a pool sized to the cores, processes, async) with a concrete pool size.
//!
//! Nothing here measures anything or reads a clock: the functions take numbers and return numbers and sentences,
//! so the in-process profiler (per function), the external profiler (`conc-advisor profile`, per thread or per
//! process) and tests on synthetic timings all share one implementation.
//!
//! # Definitions
//!
//! For one subject (a function, a thread, a process) over the measured interval:
//!
//! - **wall** — elapsed real time (for a group of threads, the *sum* of each member's wall time; the elapsed
//!   real time of the group goes in [`Timing::span_ns`]).
//! - **cpu** — time actually running on a CPU (thread CPU clock, `task-clock`, or `/proc/…/stat` utime+stime).
//! - **run-queue** — time runnable but waiting for a CPU (`/proc/thread-self/schedstat`, second field).
//!   *Interpretation*: a large share means more runnable threads than cores.
//! - **blocked** — time neither running nor runnable: waiting for I/O, a sleep, a lock, a condition variable.
//!   Measured directly where possible, otherwise derived as `wall − cpu − run-queue` (saturating at zero).
//!
//! The shares are these times divided by wall, each clamped to `0.0..=1.0`.
//!
//! # Decision order
//!
//! [`classify`] applies the first rule that matches, in this order (all thresholds in [`Thresholds`]):
//!
//! 1. `wall < min_wall_ns`, or CPU time was not measured → [`Verdict::Insufficient`].
//! 2. Async subjects with poll statistics ([`PollTiming`]): long polls (≥ `long_poll_ns`) make up at least
//!    `long_poll_time_share` of the time spent inside polls → [`Verdict::CpuHeavyPolls`] if the CPU share
//!    during those long polls is at least `long_poll_cpu_share`, else [`Verdict::BlocksExecutor`].
//! 3. Async subjects: woken-but-not-yet-polled time is at least `executor_starved_share` of wall →
//!    [`Verdict::ExecutorStarved`].
//! 4. Groups (`threads ≥ 2` and `span_ns > 0`): blocked share ≥ `lock_blocked_share` while the group as a
//!    whole uses about one core (`|cpu / span − 1| ≤ lock_parallelism_tolerance`) → [`Verdict::LockSerialized`]
//!    (threads taking turns on one lock; in CPython, the GIL). Also (sampled wait kinds, [`Timing::waits`], at
//!    least [`WaitKinds::MIN_SAMPLES`]): blocked share, or the share of samples inside the call that found it
//!    on a lock, ≥ `lock_blocked_share` with at least [`LOCK_WAIT_SHARE`] of the waits on a lock/futex →
//!    [`Verdict::LockSerialized`] (a function queueing on a mutex: never given an I/O pool size).
//! 5. runnable share (cpu + run-queue) ≥ `cpu_bound_share` and run-queue share ≥ `oversubscribed_runqueue_share`
//!    → [`Verdict::Oversubscribed`].
//! 6. runnable share ≥ `cpu_bound_share` → [`Verdict::CpuBound`].
//! 7. CPU share < `idle_cpu_share`, wall ≥ `idle_min_wall_ns` and voluntary switches per second of wall
//!    < `idle_switches_per_sec` (parked, not waiting on I/O) → [`Verdict::Idle`].
//! 8. blocked share ≥ `io_bound_share` → [`Verdict::IoBound`].
//! 9. otherwise → [`Verdict::Mixed`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Measured times of one subject. All durations in nanoseconds.
///
/// Build it with struct-update syntax: `Timing { wall_ns: …, cpu_ns: …, ..Timing::default() }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// Elapsed real time (summed over members for a group).
    pub wall_ns: u64,
    /// On-CPU time. Zero together with `runqueue_ns == 0` means "not measured" (wall-time-only platforms).
    pub cpu_ns: u64,
    /// Time runnable but waiting for a CPU.
    pub runqueue_ns: u64,
    /// Time blocked (neither running nor runnable). Zero means "not measured": [`Timing::blocked`] derives it.
    pub blocked_ns: u64,
    /// Voluntary context switches (the subject gave up the CPU: I/O, sleep, lock wait).
    pub voluntary_switches: u64,
    /// Involuntary context switches (preempted: its time slice ran out while others were runnable).
    pub involuntary_switches: u64,
    /// Number of threads this timing aggregates (0 or 1: a single thread or a function).
    pub threads: u64,
    /// Elapsed real time of a group as a whole (0: not a group). Used to compute the group's parallelism.
    pub span_ns: u64,
    /// Per-poll figures of an async subject, if it is one.
    pub polls: Option<PollTiming>,
    /// What the blocked time was spent waiting on, sampled (in-process wait sampler), if measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waits: Option<WaitKinds>,
}

/// Samples of what a blocked subject was waiting on, by kind of system call. The blocked time splits in
/// proportion ([`WaitKinds::split`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WaitKinds {
    /// `futex`: a contended lock, a condition variable, a channel receive, a join.
    pub lock: u64,
    /// read/write/recv/send/accept/connect/poll/epoll/fsync…: I/O the subject does.
    pub io: u64,
    /// nanosleep/clock_nanosleep: timers.
    pub sleep: u64,
    /// Any other system call, or blocked outside one (page faults).
    pub other: u64,
    /// Samples that found the thread running or runnable (not waiting).
    pub running: u64,
}

impl WaitKinds {
    /// Index of [`WaitKinds::lock`] for [`WaitKinds::add`].
    pub const LOCK: usize = 0;
    /// Index of [`WaitKinds::io`].
    pub const IO: usize = 1;
    /// Index of [`WaitKinds::sleep`].
    pub const SLEEP: usize = 2;
    /// Index of [`WaitKinds::other`].
    pub const OTHER: usize = 3;
    /// Index of [`WaitKinds::running`].
    pub const RUNNING: usize = 4;
    /// Fewest samples from which the split is used in a verdict or a pool size.
    pub const MIN_SAMPLES: u64 = 5;

    /// Counts one sample of kind `k` (one of the index constants).
    pub fn add(&mut self, k: usize) {
        match k {
            Self::LOCK => self.lock += 1,
            Self::IO => self.io += 1,
            Self::SLEEP => self.sleep += 1,
            Self::RUNNING => self.running += 1,
            _ => self.other += 1,
        }
    }

    /// Samples that found the thread waiting.
    pub fn samples(&self) -> u64 {
        self.lock.saturating_add(self.io).saturating_add(self.sleep).saturating_add(self.other)
    }

    /// Whether there are enough waiting samples to act on.
    pub fn usable(&self) -> bool {
        self.samples() >= Self::MIN_SAMPLES
    }

    /// Share of all samples (waiting or not) that found the thread waiting on a lock/futex: robust to run-queue
    /// time other processes cause, which shrinks the blocked share without changing what the waits are.
    pub fn lock_share_of_time(&self) -> f64 {
        share(self.lock, self.samples().saturating_add(self.running))
    }

    /// [`WaitKinds::lock_share_of_time`] with the run-queue wait left out: of the samples that found the thread
    /// running or runnable, only the part it was on a CPU (`cpu : runqueue`, from the timing) counts. Under other
    /// processes' load a lock-bound thread spends most of its time waiting for a core — after each wake-up and
    /// while holding the lock — which diluted its lock share until it looked oversubscribed (issue 14: the verdict
    /// follows the program's own behaviour, not the machine's).
    pub fn lock_share_of_own_time(&self, cpu_ns: u64, runqueue_ns: u64) -> f64 {
        let on_cpu = if cpu_ns.saturating_add(runqueue_ns) == 0 {
            self.running as f64
        } else {
            self.running as f64 * cpu_ns as f64 / (cpu_ns as f64 + runqueue_ns as f64)
        };
        let total = self.samples() as f64 + on_cpu;
        if total <= 0.0 { 0.0 } else { self.lock as f64 / total }
    }

    /// Share of the samples that are a lock/futex wait.
    pub fn lock_share(&self) -> f64 {
        share(self.lock, self.samples())
    }

    /// Share of the samples that are I/O or sleeps: the waiting more threads (or tasks) can overlap.
    pub fn io_share(&self) -> f64 {
        share(self.io.saturating_add(self.sleep), self.samples())
    }

    /// Share of the samples that are I/O the subject itself does (read/write/recv/send/poll…): the only waiting
    /// that may grow a pool past the cores (a lock, a sleep or an unknown wait is not overlapped by more threads).
    pub fn own_io_share(&self) -> f64 {
        share(self.io, self.samples())
    }

    /// `blocked_ns` split in proportion: `[lock, io, sleep, other]`.
    pub fn split(&self, blocked_ns: u64) -> [u64; 4] {
        let n = self.samples();
        if n == 0 {
            return [0, 0, 0, blocked_ns];
        }
        let part = |k: u64| ((blocked_ns as u128 * k as u128) / n as u128) as u64;
        [part(self.lock), part(self.io), part(self.sleep), part(self.other)]
    }

    /// "lock/futex 80%, I/O 10%, sleep 0%, other 10% of blocked (42 samples)".
    pub fn describe(&self) -> String {
        let n = self.samples().max(1) as f64;
        format!(
            "lock/futex {:.0}%, I/O {:.0}%, sleep {:.0}%, other {:.0}% of blocked time ({} waiting samples, {} running)",
            self.lock as f64 * 100.0 / n,
            self.io as f64 * 100.0 / n,
            self.sleep as f64 * 100.0 / n,
            self.other as f64 * 100.0 / n,
            self.samples(),
            self.running
        )
    }
}

/// Per-poll figures of an async function (a future), gathered by a wrapping future and waker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PollTiming {
    /// Number of polls.
    pub polls: u64,
    /// Wall time spent inside `poll`, less the run-queue wait inside it (where measured): time the thread was
    /// preempted by other work is not the poll's own.
    pub poll_wall_ns: u64,
    /// CPU time spent inside `poll` (of the sampled polls, scaled).
    pub poll_cpu_ns: u64,
    /// Polls that held their thread at least the long-poll threshold on their own (running or blocked; waiting
    /// for a CPU does not count).
    pub long_polls: u64,
    /// Wall time of the long polls, run-queue wait excluded.
    pub long_poll_wall_ns: u64,
    /// CPU time of the long polls.
    pub long_poll_cpu_ns: u64,
    /// Time between a `Pending` return and the next wake-up: waiting for I/O or a timer (healthy).
    pub idle_ns: u64,
    /// Time between a wake-up and the next poll: scheduled but not yet polled (executor saturation).
    pub scheduled_ns: u64,
}

impl Timing {
    /// Blocked time: the measured value if any, else `wall − cpu − run-queue`, saturating at zero.
    pub fn blocked(&self) -> u64 {
        if self.blocked_ns > 0 {
            self.blocked_ns
        } else {
            self.wall_ns.saturating_sub(self.cpu_ns).saturating_sub(self.runqueue_ns)
        }
    }

    /// Whether CPU time was measured at all (false on platforms that only report wall time).
    pub fn cpu_measured(&self) -> bool {
        self.cpu_ns > 0 || self.runqueue_ns > 0 || self.blocked_ns > 0
    }

    /// Component-wise sum, for merging aggregates (saturating).
    pub fn merged(&self, other: &Timing) -> Timing {
        Timing {
            wall_ns: self.wall_ns.saturating_add(other.wall_ns),
            cpu_ns: self.cpu_ns.saturating_add(other.cpu_ns),
            runqueue_ns: self.runqueue_ns.saturating_add(other.runqueue_ns),
            blocked_ns: self.blocked_ns.saturating_add(other.blocked_ns),
            voluntary_switches: self.voluntary_switches.saturating_add(other.voluntary_switches),
            involuntary_switches: self.involuntary_switches.saturating_add(other.involuntary_switches),
            threads: self.threads.saturating_add(other.threads),
            span_ns: self.span_ns.max(other.span_ns),
            polls: match (self.polls, other.polls) {
                (Some(a), Some(b)) => Some(a.merged(&b)),
                (a, b) => a.or(b),
            },
            waits: match (self.waits, other.waits) {
                (Some(a), Some(b)) => Some(WaitKinds {
                    lock: a.lock.saturating_add(b.lock),
                    io: a.io.saturating_add(b.io),
                    sleep: a.sleep.saturating_add(b.sleep),
                    other: a.other.saturating_add(b.other),
                    running: a.running.saturating_add(b.running),
                }),
                (a, b) => a.or(b),
            },
        }
    }
}

impl PollTiming {
    /// Component-wise sum (saturating).
    pub fn merged(&self, o: &PollTiming) -> PollTiming {
        PollTiming {
            polls: self.polls.saturating_add(o.polls),
            poll_wall_ns: self.poll_wall_ns.saturating_add(o.poll_wall_ns),
            poll_cpu_ns: self.poll_cpu_ns.saturating_add(o.poll_cpu_ns),
            long_polls: self.long_polls.saturating_add(o.long_polls),
            long_poll_wall_ns: self.long_poll_wall_ns.saturating_add(o.long_poll_wall_ns),
            long_poll_cpu_ns: self.long_poll_cpu_ns.saturating_add(o.long_poll_cpu_ns),
            idle_ns: self.idle_ns.saturating_add(o.idle_ns),
            scheduled_ns: self.scheduled_ns.saturating_add(o.scheduled_ns),
        }
    }
}

/// Decision thresholds of [`classify`]. Every field has a documented `pub const` default; override any field with
/// struct-update syntax: `Thresholds { cpu_bound_share: 0.8, ..Thresholds::default() }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Runnable share (cpu + run-queue) at or above which a subject is CPU-bound. Default [`Thresholds::CPU_BOUND_SHARE`].
    pub cpu_bound_share: f64,
    /// Blocked share at or above which a subject is I/O-bound. Default [`Thresholds::IO_BOUND_SHARE`].
    pub io_bound_share: f64,
    /// Run-queue share at or above which a CPU-bound subject is oversubscribed. Default
    /// [`Thresholds::OVERSUBSCRIBED_RUNQUEUE_SHARE`].
    pub oversubscribed_runqueue_share: f64,
    /// Blocked share of a thread group that, with ~1 core of parallelism, means lock serialization. Default
    /// [`Thresholds::LOCK_BLOCKED_SHARE`].
    pub lock_blocked_share: f64,
    /// How far the group's parallelism (cpu / span) may be from 1.0 and still count as "one core". Default
    /// [`Thresholds::LOCK_PARALLELISM_TOLERANCE`].
    pub lock_parallelism_tolerance: f64,
    /// A poll lasting at least this long is a long poll. Default [`Thresholds::LONG_POLL_NS`] (1 ms).
    pub long_poll_ns: u64,
    /// Share of in-poll time spent in long polls at or above which the long polls decide the verdict. Default
    /// [`Thresholds::LONG_POLL_TIME_SHARE`].
    pub long_poll_time_share: f64,
    /// CPU share during long polls separating CPU-heavy polls (≥) from polls that block (<). Default
    /// [`Thresholds::LONG_POLL_CPU_SHARE`].
    pub long_poll_cpu_share: f64,
    /// Scheduled-but-not-polled share of wall at or above which an async subject is executor-starved. Default
    /// [`Thresholds::EXECUTOR_STARVED_SHARE`].
    pub executor_starved_share: f64,
    /// Minimum wall time for any verdict. Default [`Thresholds::MIN_WALL_NS`].
    pub min_wall_ns: u64,
    /// CPU share below which a long-parked subject may be idle. Default [`Thresholds::IDLE_CPU_SHARE`].
    pub idle_cpu_share: f64,
    /// Minimum wall time for the idle verdict. Default [`Thresholds::IDLE_MIN_WALL_NS`].
    pub idle_min_wall_ns: u64,
    /// Voluntary switches per second below which a blocked subject is parked (idle) rather than doing I/O.
    /// Default [`Thresholds::IDLE_SWITCHES_PER_SEC`].
    pub idle_switches_per_sec: f64,
}

impl Thresholds {
    /// 70 %: most of the time running or wanting to run.
    pub const CPU_BOUND_SHARE: f64 = 0.70;
    /// 70 %: most of the time waiting.
    pub const IO_BOUND_SHARE: f64 = 0.70;
    /// 20 %: a fifth of the time waiting for a core is far above what an idle-enough machine shows (≈ 0–5 %).
    pub const OVERSUBSCRIBED_RUNQUEUE_SHARE: f64 = 0.20;
    /// 30 % blocked while the group keeps about one core busy.
    pub const LOCK_BLOCKED_SHARE: f64 = 0.30;
    /// ±0.25 core around 1.0.
    pub const LOCK_PARALLELISM_TOLERANCE: f64 = 0.25;
    /// 1 ms, the common "don't block the executor longer than this" budget (tokio guidance: 10–100 µs between
    /// `.await`s; 1 ms is clearly over it).
    pub const LONG_POLL_NS: u64 = 1_000_000;
    /// 50 % of in-poll time.
    pub const LONG_POLL_TIME_SHARE: f64 = 0.50;
    /// 50 % CPU during long polls.
    pub const LONG_POLL_CPU_SHARE: f64 = 0.50;
    /// 20 % of the future's lifetime spent woken but not polled.
    pub const EXECUTOR_STARVED_SHARE: f64 = 0.20;
    /// 1 µs: below it, timer and probe noise dominate.
    pub const MIN_WALL_NS: u64 = 1_000;
    /// 1 % CPU.
    pub const IDLE_CPU_SHARE: f64 = 0.01;
    /// 1 s.
    pub const IDLE_MIN_WALL_NS: u64 = 1_000_000_000;
    /// 1 voluntary switch per second.
    pub const IDLE_SWITCHES_PER_SEC: f64 = 1.0;
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu_bound_share: Self::CPU_BOUND_SHARE,
            io_bound_share: Self::IO_BOUND_SHARE,
            oversubscribed_runqueue_share: Self::OVERSUBSCRIBED_RUNQUEUE_SHARE,
            lock_blocked_share: Self::LOCK_BLOCKED_SHARE,
            lock_parallelism_tolerance: Self::LOCK_PARALLELISM_TOLERANCE,
            long_poll_ns: Self::LONG_POLL_NS,
            long_poll_time_share: Self::LONG_POLL_TIME_SHARE,
            long_poll_cpu_share: Self::LONG_POLL_CPU_SHARE,
            executor_starved_share: Self::EXECUTOR_STARVED_SHARE,
            min_wall_ns: Self::MIN_WALL_NS,
            idle_cpu_share: Self::IDLE_CPU_SHARE,
            idle_min_wall_ns: Self::IDLE_MIN_WALL_NS,
            idle_switches_per_sec: Self::IDLE_SWITCHES_PER_SEC,
        }
    }
}

/// What the measurements say a subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Running (or runnable) most of the time, with little run-queue wait.
    CpuBound,
    /// Blocked most of the time (I/O, sleeps, waits).
    IoBound,
    /// Neither dominates.
    Mixed,
    /// CPU-bound, but a large share of the time waiting in the run queue: more runnable threads than cores.
    Oversubscribed,
    /// Threads taking turns on one lock (in CPython, the GIL): blocked a lot while the group uses about one core.
    LockSerialized,
    /// Parked: almost no CPU and almost no wake-ups over a long time.
    Idle,
    /// Async: long polls with low CPU share — a blocking call on an executor thread.
    BlocksExecutor,
    /// Async: long polls with high CPU share — computation on an executor thread.
    CpuHeavyPolls,
    /// Async: woken but waiting to be polled for a large share of the time — the executor's workers are busy.
    ExecutorStarved,
    /// Not enough measured time (or no CPU clock on this platform) to judge.
    Insufficient,
}

impl Verdict {
    /// All verdicts, in declaration order.
    pub const ALL: [Verdict; 10] = [
        Verdict::CpuBound,
        Verdict::IoBound,
        Verdict::Mixed,
        Verdict::Oversubscribed,
        Verdict::LockSerialized,
        Verdict::Idle,
        Verdict::BlocksExecutor,
        Verdict::CpuHeavyPolls,
        Verdict::ExecutorStarved,
        Verdict::Insufficient,
    ];

    /// The kebab-case name used in JSON and in `expect = "…"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::CpuBound => "cpu-bound",
            Verdict::IoBound => "io-bound",
            Verdict::Mixed => "mixed",
            Verdict::Oversubscribed => "oversubscribed",
            Verdict::LockSerialized => "lock-serialized",
            Verdict::Idle => "idle",
            Verdict::BlocksExecutor => "blocks-executor",
            Verdict::CpuHeavyPolls => "cpu-heavy-polls",
            Verdict::ExecutorStarved => "executor-starved",
            Verdict::Insufficient => "insufficient",
        }
    }

    /// Whether the work is CPU-bound in nature (whatever the scheduling problem around it).
    pub fn is_cpu_like(self) -> bool {
        matches!(self, Verdict::CpuBound | Verdict::Oversubscribed | Verdict::CpuHeavyPolls)
    }

    /// Whether the work is waiting-bound in nature.
    pub fn is_io_like(self) -> bool {
        matches!(self, Verdict::IoBound | Verdict::BlocksExecutor)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::CpuBound => "CPU-bound: it spends most of its time computing on a core",
            Verdict::IoBound => "I/O-bound: it spends most of its time blocked, waiting for I/O, a timer or another thread",
            Verdict::Mixed => "mixed: neither computing nor waiting dominates",
            Verdict::Oversubscribed => {
                "oversubscribed: CPU-bound, but it waits for a free core a large share of the time (more runnable threads than cores)"
            }
            Verdict::LockSerialized => {
                "lock-serialized: its threads take turns on one lock (the GIL in CPython), so they use about one core together"
            }
            Verdict::Idle => "idle: parked almost all the time, with almost no CPU and few wake-ups",
            Verdict::BlocksExecutor => {
                "blocks the executor: its polls last long while using little CPU (a blocking call on an async worker thread)"
            }
            Verdict::CpuHeavyPolls => {
                "CPU-heavy polls: its polls compute for long stretches on an async worker thread"
            }
            Verdict::ExecutorStarved => {
                "executor-starved: once woken it waits a large share of the time before being polled (busy executor workers)"
            }
            Verdict::Insufficient => "insufficient data: too little measured time, or no CPU clock on this platform",
        })
    }
}

/// A verdict with the shares and a sentence giving the numbers that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The verdict.
    pub verdict: Verdict,
    /// cpu / wall, clamped to 0..=1.
    pub cpu_share: f64,
    /// run-queue / wall, clamped to 0..=1.
    pub runqueue_share: f64,
    /// blocked / wall, clamped to 0..=1.
    pub blocked_share: f64,
    /// The numbers that decided the verdict, as a sentence.
    pub evidence: String,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 / whole as f64).clamp(0.0, 1.0) }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// Formats nanoseconds with a unit a human reads at a glance (`850ns`, `12.3µs`, `4.5ms`, `2.31s`).
pub fn fmt_ns(ns: u64) -> String {
    let n = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", n / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.1}ms", n / 1e6)
    } else {
        format!("{:.2}s", n / 1e9)
    }
}

/// Share of sampled waits on a lock/futex from which a blocked subject is lock-serialized (rule 4b).
pub const LOCK_WAIT_SHARE: f64 = 0.5;

/// Classifies one subject. Pure and total: any input, including zeros, gives a verdict.
pub fn classify(t: &Timing, th: &Thresholds) -> Classification {
    let wall = t.wall_ns;
    let blocked = t.blocked();
    // Probes read the clocks at slightly different instants, so cpu + run-queue can exceed wall by a little:
    // divide by the larger, so the three shares never add up to more than 100 %.
    let denom = wall.max(t.cpu_ns.saturating_add(t.runqueue_ns).saturating_add(blocked));
    let cpu_share = share(t.cpu_ns, denom);
    let runqueue_share = share(t.runqueue_ns, denom);
    let blocked_share = share(blocked, denom);
    let runnable_share = share(t.cpu_ns.saturating_add(t.runqueue_ns), denom);
    let shares = format!(
        "CPU {}, run queue {}, blocked {} of {} wall",
        pct(cpu_share),
        pct(runqueue_share),
        pct(blocked_share),
        fmt_ns(wall)
    );
    let done = |verdict: Verdict, evidence: String| Classification {
        verdict,
        cpu_share,
        runqueue_share,
        blocked_share,
        evidence,
    };

    // 1. Not enough evidence.
    if wall < th.min_wall_ns {
        return done(
            Verdict::Insufficient,
            format!("only {} of wall time measured (minimum {})", fmt_ns(wall), fmt_ns(th.min_wall_ns)),
        );
    }
    if !t.cpu_measured() {
        return done(
            Verdict::Insufficient,
            format!("{} of wall time, but no CPU clock on this platform", fmt_ns(wall)),
        );
    }

    // 2-3. Async subjects.
    if let Some(p) = &t.polls {
        let long_time_share = share(p.long_poll_wall_ns, p.poll_wall_ns);
        if p.long_polls > 0 && long_time_share >= th.long_poll_time_share {
            let long_cpu = share(p.long_poll_cpu_ns, p.long_poll_wall_ns);
            let what = format!(
                "{} of {} polls lasted ≥ {} ({} of in-poll time; {} in long polls) with {} CPU during them",
                p.long_polls,
                p.polls,
                fmt_ns(th.long_poll_ns),
                pct(long_time_share),
                fmt_ns(p.long_poll_wall_ns),
                pct(long_cpu)
            );
            let verdict =
                if long_cpu >= th.long_poll_cpu_share { Verdict::CpuHeavyPolls } else { Verdict::BlocksExecutor };
            return done(verdict, what);
        }
        let sched_share = share(p.scheduled_ns, wall);
        if sched_share >= th.executor_starved_share {
            return done(
                Verdict::ExecutorStarved,
                format!(
                    "woken but not yet polled for {} ({} of {} wall, threshold {}) over {} polls",
                    fmt_ns(p.scheduled_ns),
                    pct(sched_share),
                    fmt_ns(wall),
                    pct(th.executor_starved_share),
                    p.polls
                ),
            );
        }
    }

    // 4. Thread groups serialized on one lock.
    if t.threads >= 2 && t.span_ns > 0 {
        let parallelism = t.cpu_ns as f64 / t.span_ns as f64;
        if blocked_share >= th.lock_blocked_share && (parallelism - 1.0).abs() <= th.lock_parallelism_tolerance {
            return done(
                Verdict::LockSerialized,
                format!(
                    "{} threads used {:.2} cores together over {} while blocked {} of their time ({shares})",
                    t.threads,
                    parallelism,
                    fmt_ns(t.span_ns),
                    pct(blocked_share)
                ),
            );
        }
    }

    // 4 (continued). Blocked mostly on a lock (sampled wait kinds): the function queues on a lock, more threads would only
    // queue longer.
    if let Some(w) = t.waits.filter(WaitKinds::usable)
        && (blocked_share >= th.lock_blocked_share
            || w.lock_share_of_own_time(t.cpu_ns, t.runqueue_ns) >= th.lock_blocked_share)
        && w.lock_share() >= LOCK_WAIT_SHARE
    {
        return done(
            Verdict::LockSerialized,
            format!(
                "waiting on a lock or futex in {} of the samples inside the call ({} of the time it was not waiting \
                 for a core), {} of its waits ({}) — {shares}",
                pct(w.lock_share_of_time()),
                pct(w.lock_share_of_own_time(t.cpu_ns, t.runqueue_ns)),
                pct(w.lock_share()),
                w.describe()
            ),
        );
    }

    // 5-6. CPU-bound, possibly oversubscribed.
    if runnable_share >= th.cpu_bound_share {
        if runqueue_share >= th.oversubscribed_runqueue_share {
            return done(
                Verdict::Oversubscribed,
                format!(
                    "runnable {} of the time, of which waiting for a core {} (threshold {}; {} involuntary switches) — {shares}",
                    pct(runnable_share),
                    pct(runqueue_share),
                    pct(th.oversubscribed_runqueue_share),
                    t.involuntary_switches
                ),
            );
        }
        return done(
            Verdict::CpuBound,
            format!(
                "running or runnable {} of the time (threshold {}) — {shares}",
                pct(runnable_share),
                pct(th.cpu_bound_share)
            ),
        );
    }

    // 7. Parked.
    let secs = wall as f64 / 1e9;
    let switch_rate = if secs > 0.0 { t.voluntary_switches as f64 / secs } else { 0.0 };
    if cpu_share < th.idle_cpu_share && wall >= th.idle_min_wall_ns && switch_rate < th.idle_switches_per_sec {
        return done(
            Verdict::Idle,
            format!(
                "CPU {} and {:.2} voluntary switches/s over {} (parked, not waiting on I/O)",
                pct(cpu_share),
                switch_rate,
                fmt_ns(wall)
            ),
        );
    }

    // 8. Waiting.
    if blocked_share >= th.io_bound_share {
        return done(
            Verdict::IoBound,
            format!(
                "blocked {} of the time (threshold {}; {} voluntary switches) — {shares}",
                pct(blocked_share),
                pct(th.io_bound_share),
                t.voluntary_switches
            ),
        );
    }

    // 9. Neither.
    done(
        Verdict::Mixed,
        format!(
            "neither runnable ({}) nor blocked ({}) reaches {} — {shares}",
            pct(runnable_share),
            pct(blocked_share),
            pct(th.cpu_bound_share.min(th.io_bound_share))
        ),
    )
}

/// Largest factor [`io_pool_size`] multiplies the cores by.
pub const MAX_IO_POOL_FACTOR: usize = 64;
/// Largest pool [`io_pool_size`] ever recommends (threads are not free: ~8 MiB of virtual stack and a kernel task
/// each; past a thousand, async tasks are the better tool).
pub const MAX_IO_POOL_SIZE: usize = 1024;

/// Pool size for work that waits `wait_ns` for every `compute_ns` it computes: `cores × (1 + wait / compute)`,
/// rounded to the nearest integer.
///
/// Bounds: `cores` of 0 counts as 1; the result is at least `cores`, at most `cores ×` [`MAX_IO_POOL_FACTOR`] and
/// at most [`MAX_IO_POOL_SIZE`] (but never below `cores`). Zero compute with non-zero wait gives the upper bound.
pub fn io_pool_size(cores: usize, wait_ns: u64, compute_ns: u64) -> usize {
    let cores = cores.max(1);
    let upper = cores.saturating_mul(MAX_IO_POOL_FACTOR).min(MAX_IO_POOL_SIZE).max(cores);
    if wait_ns == 0 {
        return cores;
    }
    if compute_ns == 0 {
        return upper;
    }
    // cores * (compute + wait) / compute, rounded, in u128 so nothing overflows.
    let num = (cores as u128).saturating_mul(compute_ns as u128 + wait_ns as u128);
    let den = compute_ns as u128;
    let size = num.saturating_add(den / 2) / den;
    (size.min(upper as u128) as usize).max(cores)
}

/// What is being profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// A synchronous Rust function (`#[profile_concurrency] fn`).
    SyncFn,
    /// An async Rust function or a function returning a future.
    AsyncFn,
    /// An OS thread of an external program.
    Thread,
    /// A whole external process.
    Process,
}

/// The language runtime of the subject, which changes the advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// Rust (or any native program without an interpreter lock).
    #[default]
    Native,
    /// CPython with the GIL.
    Python,
    /// Free-threaded CPython (3.13t / 3.14t builds, GIL disabled).
    PythonFreeThreaded,
}

impl Runtime {
    /// Whether this is a CPython interpreter of either kind.
    pub fn is_python(self) -> bool {
        matches!(self, Runtime::Python | Runtime::PythonFreeThreaded)
    }
}

/// Where the subject runs, so the advice speaks its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Context {
    /// What is being profiled.
    pub subject: Subject,
    /// Its language runtime.
    pub runtime: Runtime,
}

impl Context {
    /// A synchronous Rust function.
    pub const fn sync_fn() -> Context {
        Context { subject: Subject::SyncFn, runtime: Runtime::Native }
    }
    /// An async Rust function.
    pub const fn async_fn() -> Context {
        Context { subject: Subject::AsyncFn, runtime: Runtime::Native }
    }
    /// A thread of an external program.
    pub const fn thread(runtime: Runtime) -> Context {
        Context { subject: Subject::Thread, runtime }
    }
    /// A whole external process.
    pub const fn process(runtime: Runtime) -> Context {
        Context { subject: Subject::Process, runtime }
    }
}

/// The kind of change recommended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecommendationKind {
    /// Run on a pool sized to the cores (rayon, `available_parallelism`).
    PoolSizedToCores,
    /// Run on processes (Python with the GIL; or where isolation is needed).
    Processes,
    /// Run on threads or async tasks; concurrency may exceed the cores.
    ThreadsOrAsync,
    /// Split the computing part from the waiting part.
    SplitWork,
    /// Fewer runnable threads: at most one per core for CPU-bound work.
    ReduceThreads,
    /// Shorten or shard the lock the threads queue on (or, for the GIL, use processes).
    ReduceLockContention,
    /// Move the work off the async executor's worker threads (`spawn_blocking`, rayon).
    MoveOffExecutor,
    /// Relieve the executor: find the tasks that block or compute on it, or give it more workers.
    RelieveExecutor,
    /// Nothing to change.
    NoChange,
    /// Measure longer or on a platform with thread CPU clocks.
    MeasureMore,
}

/// Advice for one subject, with the numbers that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The kind of change.
    pub kind: RecommendationKind,
    /// A concrete pool size (threads, processes or concurrent tasks) when one applies.
    pub pool_size: Option<usize>,
    /// The advice as sentences, naming the tools of the subject's language.
    pub text: String,
}

/// [`recommend`], with the waits the subject's timing measured: when its wait kinds were sampled, only the I/O
/// part of the blocked time counts as wait in the pool formula (waiting on a lock, a timer or anything else does
/// not grow a pool past the cores), and the text says which measurement the size comes from.
///
/// For an instrumented function (in process: [`Subject::SyncFn`], [`Subject::AsyncFn`]) whose wait kinds were not
/// sampled, or sampled fewer than [`WaitKinds::MIN_SAMPLES`] times, no wait counts: the pool stays at the cores
/// and the text says the wait kind was not measured. (Threads and processes of `profile` are sized from their own
/// per-kind blocked time afterwards, so they keep the plain advice here.)
pub fn recommend_measured(c: &Classification, t: &Timing, cores: usize, ctx: Context) -> Recommendation {
    if !matches!(c.verdict, Verdict::IoBound | Verdict::Mixed) {
        return recommend(c, cores, ctx);
    }
    let Some(w) = t.waits.filter(WaitKinds::usable) else {
        if !matches!(ctx.subject, Subject::SyncFn | Subject::AsyncFn) {
            return recommend(c, cores, ctx);
        }
        let no_wait = Classification { blocked_share: 0.0, ..c.clone() };
        let mut r = recommend(&no_wait, cores, ctx);
        let samples = t.waits.map_or(0, |w| w.samples());
        r.text.push_str(&format!(
            " Wait counted: none — what the {} blocked time waits on was not measured ({samples} waiting sample{},              fewer than {}), so the pool is not grown past the {} cores.",
            pct(c.blocked_share),
            if samples == 1 { "" } else { "s" },
            WaitKinds::MIN_SAMPLES,
            cores.max(1)
        ));
        return r;
    };
    let io_wait = Classification { blocked_share: c.blocked_share * w.own_io_share(), ..c.clone() };
    let mut r = recommend(&io_wait, cores, ctx);
    r.text.push_str(&format!(
        " Wait counted: I/O only (not locks or sleeps), {} of the time ({}).",
        pct(io_wait.blocked_share),
        w.describe()
    ));
    r
}

/// Recommends what to run a classified subject on. `cores` is the number of usable cores (0 counts as 1).
pub fn recommend(c: &Classification, cores: usize, ctx: Context) -> Recommendation {
    let cores = cores.max(1);
    let py = ctx.runtime.is_python();
    let rec = |kind, pool_size, text: String| Recommendation { kind, pool_size, text };
    // Wait and compute as shares: the pool formula only needs their ratio.
    let wait = (c.blocked_share * 1e6) as u64;
    let compute = ((c.cpu_share + c.runqueue_share) * 1e6) as u64;
    match c.verdict {
        Verdict::CpuBound => match (ctx.subject, ctx.runtime) {
            (Subject::Thread, Runtime::Python) | (Subject::Process, Runtime::Python) => rec(
                RecommendationKind::Processes,
                Some(cores),
                format!(
                    "CPU-bound Python code: threads cannot run bytecode in parallel under the GIL, so use processes — \
                     multiprocessing.Pool({cores}) or concurrent.futures.ProcessPoolExecutor(max_workers={cores}), one per core. \
                     On free-threaded CPython (3.13t/3.14t) threads run in parallel and a ThreadPoolExecutor(max_workers={cores}) also works."
                ),
            ),
            (_, Runtime::PythonFreeThreaded) => rec(
                RecommendationKind::PoolSizedToCores,
                Some(cores),
                format!(
                    "CPU-bound on free-threaded CPython: threads run in parallel, so a ThreadPoolExecutor(max_workers={cores}) — one per core — fits; \
                     a ProcessPoolExecutor(max_workers={cores}) if the code relies on C extensions that re-enable the GIL."
                ),
            ),
            (Subject::AsyncFn, _) => rec(
                RecommendationKind::MoveOffExecutor,
                Some(cores),
                format!(
                    "CPU-bound async work: run the computation on rayon (a pool of {cores} threads, one per core) or tokio::task::spawn_blocking, \
                     not on the executor's worker threads."
                ),
            ),
            _ => rec(
                RecommendationKind::PoolSizedToCores,
                Some(cores),
                format!(
                    "CPU-bound: run it on a pool sized to the cores — {cores} threads (rayon, or std::thread::available_parallelism()); \
                     more threads than cores only adds switching. Use processes only where isolation is needed. Keep it off async executors."
                ),
            ),
        },
        Verdict::IoBound => {
            let n = io_pool_size(cores, wait, compute);
            let unbounded = cores as f64 * (1.0 + wait as f64 / (compute.max(1)) as f64);
            let capped = if unbounded > n as f64 + 0.5 { ", capped" } else { "" };
            let formula = format!(
                "cores × (1 + wait/compute) = {cores} × (1 + {:.0}%/{:.0}%) ≈ {n}{capped}",
                c.blocked_share * 100.0,
                (c.cpu_share + c.runqueue_share) * 100.0
            );
            let text = if py {
                format!(
                    "I/O-bound: threads work despite the GIL (it is released while waiting) — ThreadPoolExecutor(max_workers={n}) ({formula}), \
                     or asyncio if the libraries are async; processes would only add overhead."
                )
            } else if ctx.subject == Subject::AsyncFn {
                format!(
                    "I/O-bound async work: fine on the executor; concurrency may exceed the cores — about {n} concurrent tasks keep the cores busy ({formula})."
                )
            } else {
                format!(
                    "I/O-bound: run it on async tasks (tokio) or on threads; concurrency may exceed the cores — a pool of about {n} ({formula})."
                )
            };
            rec(RecommendationKind::ThreadsOrAsync, Some(n), text)
        }
        Verdict::Mixed => {
            let n = io_pool_size(cores, wait, compute);
            let tools = if py {
                "ProcessPoolExecutor for the computing part, threads or asyncio for the waiting part"
            } else {
                "rayon or spawn_blocking for the computing part, async tasks or threads for the waiting part"
            };
            rec(
                RecommendationKind::SplitWork,
                Some(n),
                format!(
                    "Mixed: split the computing part from the waiting part ({tools}); as one unit, a pool of about {n} \
                     (cores × (1 + wait/compute) = {cores} × (1 + {:.0}%/{:.0}%)).",
                    c.blocked_share * 100.0,
                    (c.cpu_share + c.runqueue_share) * 100.0
                ),
            )
        }
        Verdict::Oversubscribed => {
            let what = if py {
                format!("use at most {cores} worker processes (ProcessPoolExecutor(max_workers={cores}))")
            } else {
                format!("cap CPU-bound threads at {cores} (one pool sized to the cores, e.g. rayon's global pool; avoid nested pools)")
            };
            rec(
                RecommendationKind::ReduceThreads,
                Some(cores),
                format!(
                    "Oversubscribed: it waits for a core {:.0}% of the time — more runnable threads than the {cores} cores; {what}.",
                    c.runqueue_share * 100.0
                ),
            )
        }
        Verdict::LockSerialized => {
            let text = if py && ctx.runtime == Runtime::Python {
                format!(
                    "Serialized by the GIL: its threads use about one core together. For CPU-bound Python use processes \
                     (ProcessPoolExecutor(max_workers={cores})), or free-threaded CPython (3.13t/3.14t) where threads run in parallel."
                )
            } else {
                "Lock-serialized: its threads take turns on a lock and use about one core together. Shorten the critical \
                 sections, shard the state, or use per-thread accumulation merged at the end."
                    .to_string()
            };
            let kind = if ctx.runtime == Runtime::Python {
                RecommendationKind::Processes
            } else {
                RecommendationKind::ReduceLockContention
            };
            rec(kind, Some(cores), text)
        }
        Verdict::BlocksExecutor => {
            let text = if py {
                "Blocks the event loop: move the blocking call off it (await asyncio.to_thread(…) or loop.run_in_executor(…)) \
                 or use an async library."
                    .to_string()
            } else {
                "Blocks the executor: move the blocking call into tokio::task::spawn_blocking (or a dedicated thread), \
                 or use its async equivalent (tokio::time::sleep, tokio::fs, tokio::net)."
                    .to_string()
            };
            rec(RecommendationKind::MoveOffExecutor, None, text)
        }
        Verdict::CpuHeavyPolls => {
            let text = if py {
                format!("Computes on the event loop: move it to a ProcessPoolExecutor(max_workers={cores}) via loop.run_in_executor.")
            } else {
                format!(
                    "Computes on the executor: move the computation to rayon ({cores} threads, one per core) and await the result \
                     through a oneshot channel, or use tokio::task::spawn_blocking."
                )
            };
            rec(RecommendationKind::MoveOffExecutor, Some(cores), text)
        }
        Verdict::ExecutorStarved => rec(
            RecommendationKind::RelieveExecutor,
            None,
            "Executor-starved: it waits to be polled after being woken. Look for tasks that block or compute on the executor \
             (blocks-executor / cpu-heavy-polls verdicts) and move them off; only then consider more worker threads."
                .to_string(),
        ),
        Verdict::Idle => rec(RecommendationKind::NoChange, None, "Idle: nothing to change.".to_string()),
        Verdict::Insufficient => rec(
            RecommendationKind::MeasureMore,
            None,
            "Not enough data: run it longer, or on Linux where per-thread CPU clocks are available.".to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn th() -> Thresholds {
        Thresholds::default()
    }

    fn t(wall: u64, cpu: u64, rq: u64) -> Timing {
        Timing { wall_ns: wall, cpu_ns: cpu, runqueue_ns: rq, ..Timing::default() }
    }

    #[test]
    fn blocked_is_derived_and_saturates() {
        assert_eq!(t(100, 30, 20).blocked(), 50);
        assert_eq!(t(100, 80, 40).blocked(), 0);
        let measured = Timing { blocked_ns: 7, ..t(100, 30, 20) };
        assert_eq!(measured.blocked(), 7);
    }

    #[test]
    fn spinning_is_cpu_bound() {
        let c = classify(&t(100 * MS, 97 * MS, 2 * MS), &th());
        assert_eq!(c.verdict, Verdict::CpuBound);
        assert!(c.evidence.contains("99%"), "{}", c.evidence);
        assert!((c.cpu_share - 0.97).abs() < 1e-9);
    }

    #[test]
    fn sleeping_is_io_bound() {
        let c = classify(&Timing { voluntary_switches: 10, ..t(100 * MS, MS, 0) }, &th());
        assert_eq!(c.verdict, Verdict::IoBound);
        assert!(c.evidence.contains("blocked 99%"), "{}", c.evidence);
    }

    #[test]
    fn runqueue_heavy_is_oversubscribed() {
        let c = classify(&Timing { involuntary_switches: 400, ..t(100 * MS, 25 * MS, 74 * MS) }, &th());
        assert_eq!(c.verdict, Verdict::Oversubscribed);
        assert!(c.evidence.contains("74%"), "{}", c.evidence);
        // Just under the run-queue threshold stays CPU-bound.
        let c = classify(&t(100 * MS, 85 * MS, 15 * MS), &th());
        assert_eq!(c.verdict, Verdict::CpuBound);
    }

    #[test]
    fn half_and_half_is_mixed() {
        assert_eq!(classify(&t(100 * MS, 50 * MS, 0), &th()).verdict, Verdict::Mixed);
    }

    #[test]
    fn thresholds_are_overridable() {
        let timing = t(100 * MS, 60 * MS, 0);
        assert_eq!(classify(&timing, &th()).verdict, Verdict::Mixed);
        let lax = Thresholds { cpu_bound_share: 0.5, ..Thresholds::default() };
        assert_eq!(classify(&timing, &lax).verdict, Verdict::CpuBound);
    }

    #[test]
    fn tiny_or_unmeasured_is_insufficient() {
        assert_eq!(classify(&t(500, 400, 0), &th()).verdict, Verdict::Insufficient);
        assert_eq!(classify(&t(0, 0, 0), &th()).verdict, Verdict::Insufficient);
        let c = classify(&t(100 * MS, 0, 0), &th());
        assert_eq!(c.verdict, Verdict::Insufficient);
        assert!(c.evidence.contains("no CPU clock"));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let c = classify(
            &Timing {
                wall_ns: u64::MAX,
                cpu_ns: u64::MAX,
                runqueue_ns: u64::MAX,
                blocked_ns: u64::MAX,
                voluntary_switches: u64::MAX,
                involuntary_switches: u64::MAX,
                threads: u64::MAX,
                span_ns: 1,
                polls: Some(PollTiming { polls: u64::MAX, long_polls: u64::MAX, ..PollTiming::default() }),
                waits: Some(WaitKinds { lock: u64::MAX, io: u64::MAX, sleep: 1, other: 1, running: u64::MAX }),
            },
            &th(),
        );
        assert!(c.cpu_share <= 1.0 && c.runqueue_share <= 1.0 && c.blocked_share <= 1.0);
        // cpu > wall (clock skew) is clamped.
        assert_eq!(classify(&t(10_000, 20_000, 0), &th()).cpu_share, 1.0);
        assert_eq!(t(100, 200, 0).merged(&t(1000, 0, 0)), t(1100, 200, 0));
        // cpu + run-queue over wall: shares are scaled so they sum to at most 1.
        let c = classify(&t(100 * MS, 10 * MS, 95 * MS), &th());
        assert!(c.cpu_share + c.runqueue_share + c.blocked_share <= 1.0 + 1e-9, "{c:?}");
        assert_eq!(c.verdict, Verdict::Oversubscribed);
    }

    #[test]
    fn parked_thread_is_idle_but_a_long_sleep_is_io() {
        let parked = Timing { voluntary_switches: 2, ..t(10_000 * MS, MS / 10, 0) };
        assert_eq!(classify(&parked, &th()).verdict, Verdict::Idle);
        let sleeping = Timing { voluntary_switches: 1000, ..t(10_000 * MS, MS / 10, 0) };
        assert_eq!(classify(&sleeping, &th()).verdict, Verdict::IoBound);
    }

    #[test]
    fn gil_like_group_is_lock_serialized() {
        // 4 threads over 1 s: together 1.0 s CPU (one core), 3.0 s blocked.
        let group =
            Timing { threads: 4, span_ns: 1000 * MS, voluntary_switches: 800, ..t(4000 * MS, 1000 * MS, 20 * MS) };
        let c = classify(&group, &th());
        assert_eq!(c.verdict, Verdict::LockSerialized);
        assert!(c.evidence.contains("1.00 cores"), "{}", c.evidence);
        // The same blocked share with a group using almost no CPU is plain I/O.
        let io_group = Timing { threads: 4, span_ns: 1000 * MS, voluntary_switches: 800, ..t(4000 * MS, 40 * MS, 0) };
        assert_eq!(classify(&io_group, &th()).verdict, Verdict::IoBound);
        // 4 threads using 4 cores are CPU-bound, not serialized.
        let par = Timing { threads: 4, span_ns: 1000 * MS, ..t(4000 * MS, 3900 * MS, 50 * MS) };
        assert_eq!(classify(&par, &th()).verdict, Verdict::CpuBound);
    }

    fn async_timing(p: PollTiming, wall: u64, cpu: u64) -> Timing {
        Timing { polls: Some(p), ..t(wall, cpu, 0) }
    }

    #[test]
    fn long_low_cpu_polls_block_the_executor() {
        let p = PollTiming {
            polls: 3,
            poll_wall_ns: 50 * MS,
            poll_cpu_ns: MS / 2,
            long_polls: 1,
            long_poll_wall_ns: 49 * MS,
            long_poll_cpu_ns: MS / 10,
            ..PollTiming::default()
        };
        let c = classify(&async_timing(p, 60 * MS, MS / 2), &th());
        assert_eq!(c.verdict, Verdict::BlocksExecutor);
        assert!(c.evidence.contains("1 of 3 polls"), "{}", c.evidence);
    }

    #[test]
    fn long_high_cpu_polls_are_cpu_heavy() {
        let p = PollTiming {
            polls: 2,
            poll_wall_ns: 20 * MS,
            poll_cpu_ns: 19 * MS,
            long_polls: 1,
            long_poll_wall_ns: 19 * MS,
            long_poll_cpu_ns: 18 * MS,
            ..PollTiming::default()
        };
        assert_eq!(classify(&async_timing(p, 20 * MS, 19 * MS), &th()).verdict, Verdict::CpuHeavyPolls);
    }

    #[test]
    fn short_polls_waiting_on_wakeups_are_io_bound() {
        let p = PollTiming {
            polls: 10,
            poll_wall_ns: MS / 10,
            poll_cpu_ns: MS / 20,
            idle_ns: 99 * MS,
            ..PollTiming::default()
        };
        assert_eq!(classify(&async_timing(p, 100 * MS, MS / 20), &th()).verdict, Verdict::IoBound);
    }

    #[test]
    fn woken_but_unpolled_is_executor_starved() {
        let p = PollTiming {
            polls: 10,
            poll_wall_ns: MS,
            poll_cpu_ns: MS,
            idle_ns: 60 * MS,
            scheduled_ns: 40 * MS,
            ..PollTiming::default()
        };
        let c = classify(&async_timing(p, 100 * MS, MS), &th());
        assert_eq!(c.verdict, Verdict::ExecutorStarved);
        assert!(c.evidence.contains("40%"), "{}", c.evidence);
    }

    #[test]
    fn io_pool_size_follows_the_formula_and_its_bounds() {
        assert_eq!(io_pool_size(4, 0, 100), 4);
        assert_eq!(io_pool_size(4, 100, 100), 8);
        assert_eq!(io_pool_size(4, 900, 100), 40);
        assert_eq!(io_pool_size(2, 1, 3), 3); // 2 × 4/3 = 2.67 → 3
        assert_eq!(io_pool_size(0, 100, 100), 2);
        assert_eq!(io_pool_size(4, 1, 0), 4 * MAX_IO_POOL_FACTOR);
        assert_eq!(io_pool_size(64, u64::MAX, 1), MAX_IO_POOL_SIZE);
        assert_eq!(io_pool_size(2000, u64::MAX, 1), 2000); // never below the cores
        assert_eq!(io_pool_size(usize::MAX, u64::MAX, u64::MAX), usize::MAX);
    }

    #[test]
    fn verdict_serde_is_kebab_case() {
        for v in Verdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
            assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), v);
            assert!(!v.to_string().is_empty());
        }
    }

    fn class(v: Verdict, cpu: f64, rq: f64, blocked: f64) -> Classification {
        Classification {
            verdict: v,
            cpu_share: cpu,
            runqueue_share: rq,
            blocked_share: blocked,
            evidence: String::new(),
        }
    }

    #[test]
    fn cpu_bound_rust_gets_a_pool_sized_to_cores() {
        let r = recommend(&class(Verdict::CpuBound, 0.95, 0.0, 0.05), 8, Context::sync_fn());
        assert_eq!(r.kind, RecommendationKind::PoolSizedToCores);
        assert_eq!(r.pool_size, Some(8));
        assert!(r.text.contains("rayon") && r.text.contains("8 threads"), "{}", r.text);
    }

    #[test]
    fn cpu_bound_python_thread_gets_processes_and_free_threading_note() {
        let r = recommend(&class(Verdict::CpuBound, 0.95, 0.0, 0.05), 4, Context::thread(Runtime::Python));
        assert_eq!(r.kind, RecommendationKind::Processes);
        assert!(r.text.contains("ProcessPoolExecutor(max_workers=4)"), "{}", r.text);
        assert!(r.text.contains("3.13t"), "{}", r.text);
        let ft = recommend(&class(Verdict::CpuBound, 0.95, 0.0, 0.05), 4, Context::thread(Runtime::PythonFreeThreaded));
        assert_eq!(ft.kind, RecommendationKind::PoolSizedToCores);
        assert!(ft.text.contains("ThreadPoolExecutor(max_workers=4)"), "{}", ft.text);
    }

    #[test]
    fn io_bound_gets_the_formula_pool() {
        // 90 % blocked, 10 % compute: 4 × (1 + 9) = 40.
        let r = recommend(&class(Verdict::IoBound, 0.10, 0.0, 0.90), 4, Context::sync_fn());
        assert_eq!(r.kind, RecommendationKind::ThreadsOrAsync);
        assert_eq!(r.pool_size, Some(40));
        assert!(r.text.contains("tokio") && r.text.contains("≈ 40"), "{}", r.text);
        let py = recommend(&class(Verdict::IoBound, 0.10, 0.0, 0.90), 4, Context::thread(Runtime::Python));
        assert!(py.text.contains("ThreadPoolExecutor(max_workers=40)") && py.text.contains("asyncio"), "{}", py.text);
        // 99.9 % waiting would ask for 2 × 1000 threads: capped, and the text says so.
        let r = recommend(&class(Verdict::IoBound, 0.001, 0.0, 0.999), 2, Context::sync_fn());
        assert_eq!(r.pool_size, Some(2 * MAX_IO_POOL_FACTOR));
        assert!(r.text.contains("capped"), "{}", r.text);
    }

    #[test]
    fn async_problems_move_off_the_executor() {
        let r = recommend(&class(Verdict::BlocksExecutor, 0.01, 0.0, 0.99), 2, Context::async_fn());
        assert_eq!(r.kind, RecommendationKind::MoveOffExecutor);
        assert!(r.text.contains("spawn_blocking"));
        let r = recommend(&class(Verdict::CpuHeavyPolls, 0.99, 0.0, 0.01), 2, Context::async_fn());
        assert!(r.text.contains("rayon") && r.pool_size == Some(2));
        let r = recommend(&class(Verdict::BlocksExecutor, 0.01, 0.0, 0.99), 2, Context::thread(Runtime::Python));
        assert!(r.text.contains("asyncio.to_thread"));
    }

    #[test]
    fn oversubscribed_and_serialized_advice() {
        let r = recommend(&class(Verdict::Oversubscribed, 0.25, 0.74, 0.01), 2, Context::sync_fn());
        assert_eq!((r.kind, r.pool_size), (RecommendationKind::ReduceThreads, Some(2)));
        assert!(r.text.contains("74%"));
        let r = recommend(&class(Verdict::LockSerialized, 0.25, 0.0, 0.75), 4, Context::process(Runtime::Python));
        assert_eq!(r.kind, RecommendationKind::Processes);
        assert!(r.text.contains("GIL") && r.text.contains("3.13t"));
        let r = recommend(&class(Verdict::LockSerialized, 0.25, 0.0, 0.75), 4, Context::sync_fn());
        assert_eq!(r.kind, RecommendationKind::ReduceLockContention);
    }

    #[test]
    fn every_verdict_gets_advice_in_every_context() {
        let contexts = [
            Context::sync_fn(),
            Context::async_fn(),
            Context::thread(Runtime::Native),
            Context::thread(Runtime::Python),
            Context::process(Runtime::PythonFreeThreaded),
        ];
        for v in Verdict::ALL {
            for ctx in contexts {
                for cores in [0, 1, 2, 128] {
                    let r = recommend(&class(v, 0.3, 0.3, 0.4), cores, ctx);
                    assert!(!r.text.is_empty());
                    if let Some(n) = r.pool_size {
                        assert!(n >= 1);
                    }
                }
            }
        }
    }

    #[test]
    fn lock_waits_make_a_blocked_function_lock_serialized_without_pool_growth() {
        let locked = Timing {
            waits: Some(WaitKinds { lock: 40, io: 2, sleep: 0, other: 1, running: 10 }),
            ..t(100 * MS, 20 * MS, 5 * MS)
        };
        let c = classify(&locked, &th());
        assert_eq!(c.verdict, Verdict::LockSerialized, "{}", c.evidence);
        let r = recommend_measured(&c, &locked, 4, Context::sync_fn());
        assert_eq!(r.kind, RecommendationKind::ReduceLockContention);
        // The same shares waiting on I/O: I/O-bound, and the pool counts only the I/O part.
        let io = Timing { waits: Some(WaitKinds { io: 40, lock: 2, ..WaitKinds::default() }), ..locked };
        let c = classify(&io, &th());
        assert_eq!(c.verdict, Verdict::IoBound, "{}", c.evidence);
        let half = Timing { waits: Some(WaitKinds { io: 20, other: 20, ..WaitKinds::default() }), ..locked };
        let full = recommend(&c, 4, Context::sync_fn()).pool_size.unwrap();
        let counted = recommend_measured(&c, &half, 4, Context::sync_fn());
        assert!(counted.pool_size.unwrap() < full, "{counted:?} vs {full}");
        assert!(counted.text.contains("Wait counted: I/O"), "{}", counted.text);
        // Waiting that is all sleeps (or all lock) never grows the pool past the cores.
        for waits in [WaitKinds { sleep: 40, ..WaitKinds::default() }, WaitKinds { lock: 40, ..WaitKinds::default() }] {
            let r = recommend_measured(&c, &Timing { waits: Some(waits), ..locked }, 4, Context::sync_fn());
            assert!(r.pool_size.is_none_or(|n| n <= 4), "{r:?}");
        }
        // Under other processes' load (issue 14): the same lock waits, but the threads spent 95% of their time
        // waiting for a core (after each wake-up, and while holding the lock): still lock-serialized, not
        // oversubscribed — the run-queue wait is left out of the lock share.
        let loaded = Timing {
            waits: Some(WaitKinds { lock: 98, other: 1, running: 375, ..WaitKinds::default() }),
            ..t(6_000 * MS, 300 * MS, 5_700 * MS)
        };
        let c = classify(&loaded, &th());
        assert_eq!(c.verdict, Verdict::LockSerialized, "{}", c.evidence);
        // Spinning threads with no lock wait under the same run-queue wait stay oversubscribed.
        let spinning = Timing { waits: Some(WaitKinds { running: 400, other: 5, ..WaitKinds::default() }), ..loaded };
        assert_eq!(classify(&spinning, &th()).verdict, Verdict::Oversubscribed);
        // Too few samples: ignored by the verdict, and (issue 14) no pool past the cores for an instrumented
        // function, with the reason in the text; a thread of `profile` keeps the plain advice (measured.rs sizes it
        // from its per-kind blocked time).
        let few = Timing { waits: Some(WaitKinds { lock: 2, ..WaitKinds::default() }), ..t(100 * MS, 20 * MS, 5 * MS) };
        let c = classify(&few, &th());
        assert_eq!(c.verdict, Verdict::IoBound);
        for (timing, ctx) in [(few, Context::sync_fn()), (Timing { waits: None, ..few }, Context::async_fn())] {
            let r = recommend_measured(&c, &timing, 4, ctx);
            assert_eq!(r.pool_size, Some(4), "{}", r.text);
            assert!(r.text.contains("was not measured"), "{}", r.text);
        }
        assert!(recommend(&c, 4, Context::sync_fn()).pool_size.unwrap() > 4);
        let r = recommend_measured(&c, &few, 4, Context::thread(Runtime::Native));
        assert!(r.pool_size.unwrap() > 4, "{}", r.text);
    }
}
