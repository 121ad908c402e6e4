//! Per-call overhead of `#[profile_concurrency]`, in one run, against an uninstrumented function and against
//! `#[tracing::instrument]` with a `tracing-subscriber` registry; plus the run-time-disabled path and the extra
//! cost of sampled probes on a ~10 µs function.
//!
//! ```text
//! cargo bench -p conc-profiler --bench overhead
//! ```

use std::hint::black_box;

use conc_profiler::profile_concurrency;
use divan::Bencher;

/// CPU time (ns, from schedstat) of this process's wait-sampler thread, if it runs.
fn wait_sampler_cpu_ns() -> Option<u64> {
    for e in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with("conc-profiler-w") {
            let sched = std::fs::read_to_string(e.path().join("schedstat")).ok()?;
            return sched.split_ascii_whitespace().next()?.parse().ok();
        }
    }
    None
}

fn main() {
    let started = std::time::Instant::now();
    tracing::subscriber::set_global_default(tracing_subscriber::registry()).expect("global subscriber");
    // Calibrate before measuring.
    let _ = conc_profiler::probe::caps();
    divan::main();
    // What the adaptive sampling spent on the 10 µs function during the run (calibrated probe cost × sampled
    // calls, over the function's total wall time).
    // The wait sampler (a thread reading /proc/self/task/<tid>/syscall while calls are in flight): its CPU over
    // the whole run, as a share of one core.
    match wait_sampler_cpu_ns() {
        Some(ns) => println!(
            "wait sampler: {:.3} CPU s over {:.1} s = {:.2}% of one core",
            ns as f64 / 1e9,
            started.elapsed().as_secs_f64(),
            ns as f64 * 100.0 / started.elapsed().as_nanos().max(1) as f64
        ),
        None => println!("wait sampler: not running"),
    }
    let report = conc_profiler::report();
    let cost = report.measurement.probe_cost_ns.unwrap_or(0);
    if let Some(e) = report.entries.iter().find(|e| e.name.ends_with("::profiled")) {
        println!("profiled: {} calls recorded, {} sampled", e.calls.unwrap_or(0), e.sampled_calls.unwrap_or(0));
    }
    if let Some(e) = report.entries.iter().find(|e| e.name.ends_with("profiled_10us")) {
        let (calls, sampled) = (e.calls.unwrap_or(0), e.sampled_calls.unwrap_or(0));
        println!(
            "profiled_10us: {sampled} of {calls} calls sampled; probe cost {cost} ns each = {:.2}% of its {:.1} ms wall time",
            (sampled * cost) as f64 * 100.0 / e.total_wall_ns.max(1) as f64,
            e.total_wall_ns as f64 / 1e6
        );
    }
}

#[inline(never)]
fn plain(x: u64) -> u64 {
    x.wrapping_mul(31).wrapping_add(7)
}

#[inline(never)]
#[profile_concurrency]
fn profiled(x: u64) -> u64 {
    x.wrapping_mul(31).wrapping_add(7)
}

#[inline(never)]
#[tracing::instrument(skip_all)]
fn traced(x: u64) -> u64 {
    x.wrapping_mul(31).wrapping_add(7)
}

/// A tiny function: the per-call cost of each kind of instrumentation.
#[divan::bench_group(sample_count = 500, sample_size = 1000)]
mod tiny {
    use super::*;

    #[divan::bench]
    fn uninstrumented() -> u64 {
        plain(black_box(3))
    }

    #[divan::bench]
    fn profile_concurrency() -> u64 {
        profiled(black_box(3))
    }

    #[divan::bench]
    fn profile_concurrency_disabled_at_run_time(b: Bencher<'_, '_>) {
        conc_profiler::set_enabled(false);
        b.bench(|| profiled(black_box(3)));
        conc_profiler::set_enabled(true);
    }

    #[divan::bench]
    fn tracing_instrument_registry() -> u64 {
        traced(black_box(3))
    }
}

#[inline(always)]
fn work_10us(seed: u64) -> u64 {
    let mut x = seed;
    for i in 0..12_000u64 {
        x = x.rotate_left(5) ^ black_box(i);
    }
    x
}

#[inline(never)]
fn plain_10us(seed: u64) -> u64 {
    work_10us(seed)
}

#[inline(never)]
#[profile_concurrency]
fn profiled_10us(seed: u64) -> u64 {
    work_10us(seed)
}

/// A ~10 µs function: the extra CPU of the adaptive sampled probes (target ≤ 1 %).
#[divan::bench_group(sample_count = 200, sample_size = 100)]
mod ten_micros {
    use super::*;

    #[divan::bench]
    fn uninstrumented() -> u64 {
        plain_10us(black_box(3))
    }

    #[divan::bench]
    fn profile_concurrency() -> u64 {
        profiled_10us(black_box(3))
    }
}
