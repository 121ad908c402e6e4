//! Issue 14: "No advice grows a pool past the cores unless the measured wait is I/O the program itself does;
//! every recommendation states the measurement it comes from." An instrumented function that blocks, but whose
//! wait kind was not sampled (the wait sampler turned off with `CONC_PROFILER_WAITS=0`, or fewer than
//! `WaitKinds::MIN_SAMPLES` samples because it blocked only a few milliseconds in all), keeps a pool at the cores
//! and says the wait kind was not measured. The work runs in a child (its own process, so the environment
//! variable is read before the first instrumented call); verdicts and texts are asserted, never timings.

#![cfg(unix)]

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use conc_profiler::classify::{Verdict, WaitKinds};
use conc_profiler::profile_concurrency;

const CHILD: &str = "CONC_PROFILER_TEST_CHILD";

/// Blocks on a pipe that another thread writes after a short sleep: blocked time, all of it I/O.
#[profile_concurrency]
fn reads_pipe(r: &mut std::io::PipeReader) -> usize {
    let mut b = [0u8; 1];
    r.read(&mut b).unwrap()
}

fn read_pipe_times(n: usize, pause: Duration) {
    let (mut r, mut w) = std::io::pipe().unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..n {
            std::thread::sleep(pause);
            w.write_all(b"x").unwrap();
        }
    });
    for _ in 0..n {
        assert_eq!(reads_pipe(&mut r), 1);
    }
    writer.join().unwrap();
}

/// The workload, only when run as the child: `CHILD=many` reads 20 times (the sampler off), `CHILD=few` three
/// times for about 2 ms each (the sampler on, but it wakes every 10 ms or less often: at most a sample or two).
#[test]
fn child() {
    match std::env::var(CHILD).as_deref() {
        Ok("many") => read_pipe_times(20, Duration::from_millis(5)),
        Ok("few") => read_pipe_times(3, Duration::from_millis(2)),
        _ => {}
    }
}

fn run_child(mode: &str, waits: &str) -> conc_profiler::Report {
    let dir = std::env::temp_dir().join(format!("conc-profiler-unmeasured-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child", "--test-threads=1"])
        .env(CHILD, mode)
        .env("CONC_PROFILER_REPORT", &path)
        .env("CONC_PROFILER_WAITS", waits)
        .output()
        .expect("run child");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = conc_profiler::Report::from_json(&std::fs::read_to_string(&path).unwrap()).expect("valid report");
    let _ = std::fs::remove_dir_all(&dir);
    report
}

fn assert_not_grown(report: &conc_profiler::Report, why: &str) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let e = report.entries.iter().find(|e| e.name.ends_with("::reads_pipe")).expect("reads_pipe recorded");
    let samples = e.timing.waits.map_or(0, |w| w.samples());
    assert!(samples < WaitKinds::MIN_SAMPLES, "{why}: {samples} waiting samples");
    let v = e.classification.verdict;
    assert!(
        matches!(v, Verdict::IoBound | Verdict::Mixed | Verdict::Idle),
        "{why}: {v:?} {}",
        e.classification.evidence
    );
    let r = &e.recommendation;
    assert!(r.pool_size.is_none_or(|n| n <= cores), "{why}: a pool past the {cores} cores: {}", r.text);
    if matches!(v, Verdict::IoBound | Verdict::Mixed) {
        assert!(r.text.contains("was not measured"), "{why}: the text names the missing measurement: {}", r.text);
    }
}

#[test]
fn blocked_time_of_an_unmeasured_kind_grows_no_pool() {
    let report = run_child("many", "0");
    assert_not_grown(&report, "wait sampler off");
    let e = report.entries.iter().find(|e| e.name.ends_with("::reads_pipe")).unwrap();
    // Twenty blocking reads are a clear I/O-shaped wait: the verdict still says so, only the pool is not grown.
    assert_eq!(e.classification.verdict, Verdict::IoBound, "{}", e.classification.evidence);
    assert!(e.timing.waits.is_none());

    assert_not_grown(&run_child("few", "1"), "fewer than MIN_SAMPLES samples");
}
