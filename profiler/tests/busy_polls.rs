//! Load is not oversubscription, for async polls too (issue 14: under heavy load the in-process profiler once
//! classified CPU-only polls as `blocks-executor`). An async fn whose every poll computes about 200 µs of CPU and
//! yields runs beside competing spinner processes (twice as many as the cores, not part of this program): its
//! polls are preempted and wait for a CPU for milliseconds, but that wait is the machine's. The verdict must
//! follow what the polls themselves do — short CPU work, so `cpu-bound` — never `blocks-executor`, and the report
//! must carry the "machine busy" note.
//!
//! The work is counted in thread CPU time, so a loaded machine only makes the run longer; verdicts are asserted,
//! never timings. One test in this file: other tests' threads would be this program's own load.

#![cfg(target_os = "linux")]

use std::future::Future;
use std::pin::Pin;
use std::process::{Child, Command};
use std::task::{Context, Poll};

use conc_profiler::classify::Verdict;
use conc_profiler::profile_concurrency;

/// Returns `Pending` once (waking itself at once), then `Ready`: one poll boundary.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Spins until this thread has used `ns` more nanoseconds of CPU.
fn spin_cpu(ns: u64) -> u64 {
    let start = conc_profiler::sys::thread_cpu_ns().expect("thread CPU clock");
    let mut x = 0u64;
    while conc_profiler::sys::thread_cpu_ns().unwrap_or(u64::MAX) < start + ns {
        for i in 0..200u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(i));
        }
    }
    x
}

#[profile_concurrency]
async fn short_cpu_polls(polls: u32) -> u64 {
    let mut x = 0;
    for _ in 0..polls {
        x ^= spin_cpu(200_000);
        YieldNow(false).await;
    }
    x
}

/// Kills the spinners however the test ends.
struct Spinners(Vec<Child>);

impl Drop for Spinners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn cpu_only_polls_beside_a_competing_spinner_are_not_blocking_the_executor() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let _spinners = Spinners(
        (0..2 * cores)
            .map(|_| Command::new("sh").args(["-c", "while :; do :; done"]).spawn().expect("spawn a spinner"))
            .collect(),
    );
    std::hint::black_box(futures::executor::block_on(short_cpu_polls(400)));

    let r = conc_profiler::report();
    let e = r.entries.iter().find(|e| e.name.ends_with("::short_cpu_polls")).expect("recorded");
    let c = &e.classification;
    let polls = e.timing.polls.expect("poll statistics");
    assert!(polls.polls >= 400, "{polls:?}");
    assert_ne!(c.verdict, Verdict::BlocksExecutor, "{} / {polls:?}", c.evidence);
    assert_ne!(c.verdict, Verdict::CpuHeavyPolls, "200 µs polls are short: {} / {polls:?}", c.evidence);
    // Preempted polls are not long polls: at most a few (a poll the probes straddle badly), never the time share.
    assert!(polls.long_poll_wall_ns * 2 < polls.poll_wall_ns.max(1), "{polls:?}");
    assert!(r.notes.iter().any(|n| n.contains("machine busy")), "no machine-busy note: {:?} / {}", r.notes, c.evidence);
    assert_eq!(c.verdict, Verdict::CpuBound, "{} / {:?}", c.evidence, e.timing);
}
