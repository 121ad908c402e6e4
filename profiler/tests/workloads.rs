//! Real workloads through the whole pipeline (instrumentation → probes → registry → classification): spinning
//! is CPU-bound, sleeping and reading a local socket are I/O-bound, four spinning threads per core are
//! oversubscribed, an async fn that calls `std::thread::sleep` blocks the executor, a task woken from another
//! thread while the executor is blocked is executor-starved, nested calls keep self and
//! inclusive figures apart, expectations are checked, and concurrent counting loses nothing.
//!
//! Assertions are on verdicts only (never on durations); the workloads are long enough (tens of milliseconds)
//! that the verdicts have wide margins even on a shared, noisy machine.

#![cfg(unix)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use conc_profiler::classify::{Thresholds, Verdict, classify};
use conc_profiler::profile_concurrency;
use conc_profiler::report::Entry;

/// The workloads run one at a time: a test spinning eight threads would otherwise put every other test's
/// threads in the run queue and change their verdicts.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn entry(suffix: &str) -> Entry {
    let r = conc_profiler::report();
    r.entries.into_iter().find(|e| e.name.ends_with(suffix)).unwrap_or_else(|| panic!("no entry ending in {suffix}"))
}

fn spin_for(d: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        for i in 0..1000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(i));
        }
    }
    x
}

#[profile_concurrency(expect = "cpu")]
fn spinning() -> u64 {
    spin_for(Duration::from_millis(20))
}

#[test]
fn spinning_is_cpu_bound() {
    let _serial = serial();
    for _ in 0..5 {
        std::hint::black_box(spinning());
    }
    let e = entry("::spinning");
    let c = &e.classification;
    // On a machine shared with other work, a spinning thread may also wait for a core: that is still CPU work.
    assert!(
        matches!(c.verdict, Verdict::CpuBound | Verdict::Oversubscribed),
        "spinning classified {:?}: {}",
        c.verdict,
        c.evidence
    );
    assert!(c.cpu_share + c.runqueue_share > 0.7, "{}", c.evidence);
    assert_eq!(e.sampled_calls, Some(5));
}

#[profile_concurrency(expect = "io")]
fn sleeping() {
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn sleeping_is_io_bound() {
    let _serial = serial();
    for _ in 0..5 {
        sleeping();
    }
    let e = entry("::sleeping");
    assert_eq!(e.classification.verdict, Verdict::IoBound, "{}", e.classification.evidence);
    assert!(e.timing.voluntary_switches >= 5, "{:?}", e.timing);
    assert_eq!(e.recommendation.kind, conc_profiler::classify::RecommendationKind::ThreadsOrAsync);
}

#[profile_concurrency(expect = "io")]
fn read_one(stream: &mut std::os::unix::net::UnixStream) -> u8 {
    let mut b = [0u8; 1];
    stream.read_exact(&mut b).expect("read");
    b[0]
}

#[test]
fn socket_reader_is_io_bound() {
    let _serial = serial();
    let (mut reader, mut writer) = std::os::unix::net::UnixStream::pair().expect("socketpair");
    let w = std::thread::spawn(move || {
        for i in 0..8u8 {
            std::thread::sleep(Duration::from_millis(5));
            writer.write_all(&[i]).expect("write");
        }
    });
    for i in 0..8u8 {
        assert_eq!(read_one(&mut reader), i);
    }
    w.join().unwrap();
    let e = entry("::read_one");
    assert_eq!(e.classification.verdict, Verdict::IoBound, "{}", e.classification.evidence);
}

#[profile_concurrency]
fn crowded_spin() -> u64 {
    spin_for(Duration::from_millis(60))
}

#[test]
fn four_spinning_threads_per_core_are_oversubscribed() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cores < 2 {
        eprintln!("skipped: one core — oversubscription cannot be told from plain CPU-bound work here");
        return;
    }
    let threads: Vec<_> = (0..4 * cores)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..3 {
                    std::hint::black_box(crowded_spin());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let e = entry("::crowded_spin");
    assert_eq!(e.calls, Some(12 * cores as u64));
    assert_eq!(e.classification.verdict, Verdict::Oversubscribed, "{}", e.classification.evidence);
    assert_eq!(e.recommendation.pool_size, Some(cores));
}

#[profile_concurrency]
async fn sleeps_on_executor() {
    // The point of this test: a blocking sleep on the executor, which the profiler must call out.
    std::thread::sleep(Duration::from_millis(10)); // conc-advisor: allow(blocking-sleep-in-async)
}

#[profile_concurrency]
async fn awaits_timer() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[test]
fn async_fn_calling_thread_sleep_blocks_the_executor() {
    let _serial = serial();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        for _ in 0..4 {
            sleeps_on_executor().await;
            awaits_timer().await;
        }
    });
    let e = entry("::sleeps_on_executor");
    assert_eq!(e.classification.verdict, Verdict::BlocksExecutor, "{}", e.classification.evidence);
    assert_eq!(e.recommendation.kind, conc_profiler::classify::RecommendationKind::MoveOffExecutor);
    // The well-behaved one waits between short polls: I/O-bound, and its idle time was seen by the waker.
    let good = entry("::awaits_timer");
    assert_eq!(good.classification.verdict, Verdict::IoBound, "{}", good.classification.evidence);
    let polls = good.timing.polls.expect("poll figures");
    assert!(polls.polls >= 8, "{polls:?}");
    assert!(polls.idle_ns > polls.scheduled_ns, "{polls:?}");
}

#[profile_concurrency]
async fn hogs_the_executor() {
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(15)); // conc-advisor: allow(blocking-sleep-in-async)
        tokio::task::yield_now().await;
    }
}

#[profile_concurrency]
async fn waits_for_messages(mut rx: tokio::sync::mpsc::UnboundedReceiver<u32>) -> u32 {
    let mut n = 0;
    while rx.recv().await.is_some() {
        n += 1;
    }
    n
}

#[test]
fn task_woken_from_another_thread_behind_a_blocking_task_is_executor_starved() {
    let _serial = serial();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    // Another OS thread wakes the receiver every 2 ms; the executor thread is busy with the hog.
    let sender = std::thread::spawn(move || {
        for i in 0..30 {
            std::thread::sleep(Duration::from_millis(2));
            if tx.send(i).is_err() {
                break;
            }
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let received = rt.block_on(async {
        let waiter = tokio::spawn(waits_for_messages(rx));
        let hog = tokio::spawn(async {
            for _ in 0..3 {
                hogs_the_executor().await;
            }
        });
        hog.await.unwrap();
        waiter.await.unwrap()
    });
    sender.join().unwrap();
    assert_eq!(received, 30);
    let e = entry("::waits_for_messages");
    assert_eq!(e.classification.verdict, Verdict::ExecutorStarved, "{}", e.classification.evidence);
    assert_eq!(entry("::hogs_the_executor").classification.verdict, Verdict::BlocksExecutor);
}

#[profile_concurrency]
fn child_sleeps() {
    std::thread::sleep(Duration::from_millis(30));
}

#[profile_concurrency]
fn parent_computes_then_waits() -> u64 {
    let x = spin_for(Duration::from_millis(15));
    child_sleeps();
    x
}

#[test]
fn nested_calls_keep_self_and_inclusive_apart() {
    let _serial = serial();
    for _ in 0..3 {
        std::hint::black_box(parent_computes_then_waits());
    }
    let parent = entry("::parent_computes_then_waits");
    // Its own work is the spinning: not I/O-bound for its child's sleep.
    assert!(
        matches!(parent.classification.verdict, Verdict::CpuBound | Verdict::Oversubscribed),
        "{}",
        parent.classification.evidence
    );
    let inclusive = parent.inclusive.expect("inclusive figures differ from self");
    assert!(inclusive.wall_ns > parent.timing.wall_ns);
    let c = classify(&inclusive, &Thresholds::default());
    assert!(!c.verdict.is_cpu_like(), "{}", c.evidence);
    assert_eq!(entry("::child_sleeps").classification.verdict, Verdict::IoBound);
}

#[profile_concurrency(expect = "io")]
fn claims_io_but_spins() -> u64 {
    spin_for(Duration::from_millis(20))
}

#[test]
fn check_expectations_reports_a_cpu_bound_io_function() {
    let _serial = serial();
    for _ in 0..3 {
        std::hint::black_box(claims_io_but_spins());
    }
    let mismatches = conc_profiler::check_expectations();
    let m = mismatches.iter().find(|m| m.name.ends_with("::claims_io_but_spins")).expect("mismatch reported");
    assert_eq!(m.expected, conc_profiler::Expectation::Io);
    assert!(m.verdict.is_cpu_like());
    assert!(m.to_string().contains("expected io"));
    // The honest declarations of this file are not reported (other tests may not have run yet; those that have
    // must hold).
    for honest in ["::spinning", "::sleeping", "::read_one"] {
        assert!(!mismatches.iter().any(|m| m.name.ends_with(honest)), "{honest} reported: {mismatches:#?}");
    }
}

#[profile_concurrency]
fn counted(x: u64) -> u64 {
    x.wrapping_add(1)
}

#[test]
fn sixty_four_threads_times_100k_calls_lose_no_count() {
    let _serial = serial();
    const THREADS: u64 = 64;
    const CALLS: u64 = 100_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut acc = t;
                for _ in 0..CALLS {
                    acc = counted(std::hint::black_box(acc));
                }
                acc
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let e = entry("::counted");
    assert_eq!(e.calls, Some(THREADS * CALLS));
    assert_eq!(e.unwound, Some(0));
}

#[test]
fn report_json_round_trips_and_table_lists_functions() {
    let _serial = serial();
    sleeping();
    let r = conc_profiler::report();
    let json = r.to_json_pretty();
    let back = conc_profiler::Report::from_json(&json).expect("valid report");
    assert_eq!(back.kind, conc_profiler::report::ReportKind::InProcess);
    assert!(back.measurement.probe_cost_ns.is_some_and(|c| c > 0));
    assert!(r.human_table().contains("::sleeping"));
}

/// Spins for `ms` milliseconds of this thread's CPU time (so a loaded machine only stretches the wall time).
fn spin_cpu_ms(ms: u64) -> u64 {
    let cpu = || conc_profiler::sys::thread_cpu_ns().unwrap_or(0);
    let start = cpu();
    let mut x = 0u64;
    while cpu().saturating_sub(start) < ms * 1_000_000 {
        for i in 0..1000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(i));
        }
    }
    x
}

#[profile_concurrency]
fn one_per_core_beside_spinners() -> u64 {
    spin_cpu_ms(40)
}

/// Load is not oversubscription (issue 14): one CPU-bound thread per core, beside competing spinner processes
/// (one more than the cores), waits for a core a lot — but the program's own runnable threads do not exceed the
/// cores, so the verdict is CPU-bound (pool sized to the cores) and the report says the machine was busy.
#[cfg(target_os = "linux")]
#[test]
fn one_thread_per_core_beside_a_competing_spinner_is_not_oversubscribed() {
    let _serial = serial();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut spinners: Vec<std::process::Child> = (0..=cores)
        .map(|_| std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().expect("sh"))
        .collect();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..8 {
                    std::hint::black_box(one_per_core_beside_spinners());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for s in &mut spinners {
        let _ = s.kill();
        let _ = s.wait();
    }
    let r = conc_profiler::report();
    let e = r.entries.iter().find(|e| e.name.ends_with("::one_per_core_beside_spinners")).expect("entry");
    assert_eq!(e.classification.verdict, Verdict::CpuBound, "{}", e.classification.evidence);
    assert_eq!(e.recommendation.pool_size, Some(cores), "{}", e.recommendation.text);
    assert!(e.classification.evidence.contains("machine busy"), "{}", e.classification.evidence);
    assert!(r.notes.iter().any(|n| n.starts_with("machine busy")), "{:?}", r.notes);
}
