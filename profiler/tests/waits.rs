//! Wait kinds in process (issue 14): a function that works while holding a mutex shared by 4 threads per core is
//! `lock-serialized` with lock advice — never an I/O pool size — and functions that sleep or read a pipe have
//! their blocked time sampled as sleep and I/O. Verdicts and kinds are asserted, never timings; the amount of
//! work is counted in CPU time, so a loaded machine only makes the run longer.

use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::Duration;

use conc_profiler::classify::{RecommendationKind, Verdict};
use conc_profiler::profile_concurrency;
use conc_profiler::report::Entry;

static SHARED: Mutex<u64> = Mutex::new(0);

fn entry(suffix: &str) -> Entry {
    let r = conc_profiler::report();
    r.entries.into_iter().find(|e| e.name.ends_with(suffix)).unwrap_or_else(|| panic!("no entry ending in {suffix}"))
}

fn spin(iters: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..iters {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(std::hint::black_box(i));
    }
    x
}

/// Does all its work inside the critical section.
#[profile_concurrency]
fn update_under_lock() {
    let mut g = SHARED.lock().unwrap();
    *g = g.wrapping_add(spin(200_000));
}

#[profile_concurrency]
fn naps() {
    std::thread::sleep(Duration::from_millis(5));
}

#[profile_concurrency]
fn reads_pipe(r: &mut std::io::PipeReader) -> usize {
    let mut b = [0u8; 1];
    r.read(&mut b).unwrap()
}

#[test]
fn lock_bound_function_is_lock_serialized_not_io() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let threads = 4 * cores.max(2);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..60 {
                    update_under_lock();
                }
            });
        }
    });
    let e = entry("::update_under_lock");
    let w = e.timing.waits.expect("wait kinds sampled");
    assert!(w.lock > w.io + w.sleep, "{}", w.describe());
    assert_eq!(e.classification.verdict, Verdict::LockSerialized, "{} / {}", e.classification.evidence, w.describe());
    assert_eq!(e.recommendation.kind, RecommendationKind::ReduceLockContention, "{}", e.recommendation.text);
    assert!(e.recommendation.text.contains("critical section"), "{}", e.recommendation.text);
    assert!(conc_profiler::report().human_table().contains("waits of "), "the table shows the split");
    assert!(conc_profiler::report().to_json_pretty().contains("\"waits\""), "the JSON carries the split");
}

#[test]
fn sleeps_and_pipe_reads_are_sampled_as_such() {
    for _ in 0..60 {
        naps();
    }
    let w = entry("::naps").timing.waits.expect("wait kinds sampled");
    assert!(w.sleep > w.lock + w.io, "{}", w.describe());
    assert_ne!(entry("::naps").classification.verdict, Verdict::LockSerialized);
    // Sleeping is not I/O the function does: its advice never grows a pool past the cores (issue 14).
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let naps = entry("::naps");
    assert!(naps.recommendation.pool_size.is_none_or(|n| n <= cores), "{}", naps.recommendation.text);
    if matches!(naps.classification.verdict, Verdict::IoBound | Verdict::Mixed) {
        assert!(naps.recommendation.text.contains("Wait counted: I/O only"), "{}", naps.recommendation.text);
    }

    let (mut r, mut wr) = std::io::pipe().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(5));
            wr.write_all(b"x").unwrap();
        }
    });
    for _ in 0..40 {
        assert_eq!(reads_pipe(&mut r), 1);
    }
    writer.join().unwrap();
    let e = entry("::reads_pipe");
    let w = e.timing.waits.expect("wait kinds sampled");
    assert!(w.io > w.lock + w.sleep, "{}", w.describe());
    assert_eq!(e.classification.verdict, Verdict::IoBound, "{}", e.classification.evidence);
    assert!(e.recommendation.text.contains("Wait counted: I/O"), "{}", e.recommendation.text);
}
