//! The workload of `bench/profile-overhead.sh`: `overhead-spin THREADS ITERS` runs ITERS rounds of register-only
//! integer mixing on each of THREADS threads (a fixed amount of work, no clock in the loop), then prints
//! `wall_s cpu_user_s cpu_sys_s runq_s` for itself, all measured from the start of `main` to the end (so neither
//! the exec nor a launcher's time before it counts): wall time, getrusage's CPU time over all threads, and the
//! time its worker threads spent runnable but waiting for a CPU (each one's schedstat).
//! Built by the script with plain `rustc -O`; not part of the workspace.
use std::hint::black_box;
use std::time::Instant;
extern "C" {
    fn getrusage(who: i32, usage: *mut i64) -> i32;
}
fn main() {
    let a: Vec<u64> = std::env::args().skip(1).map(|s| s.parse().expect("number")).collect();
    let (threads, iters) = (a[0], a[1]);
    let ru0 = rusage();
    let t0 = Instant::now();
    let runq_ns: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                let mut x = black_box(0x9e37_79b9_7f4a_7c15u64 ^ t);
                for _ in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x = black_box(x);
                }
                black_box(x);
                // schedstat: on-CPU ns, run-queue wait ns, timeslices.
                std::fs::read_to_string("/proc/thread-self/schedstat")
                    .ok()
                    .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
                    .unwrap_or(0)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let wall = t0.elapsed().as_secs_f64();
    let ru1 = rusage();
    println!("{wall:.6} {:.6} {:.6} {:.6}", ru1.0 - ru0.0, ru1.1 - ru0.1, runq_ns as f64 / 1e9);
}

/// (user, sys) CPU seconds of this process so far.
fn rusage() -> (f64, f64) {
    let mut ru = [0i64; 18];
    // SAFETY: getrusage writes one struct rusage (18 longs on 64-bit Linux) into the buffer.
    unsafe { getrusage(0, ru.as_mut_ptr()) };
    let tv = |i: usize| ru[i] as f64 + ru[i + 1] as f64 / 1e6;
    (tv(0), tv(2))
}
