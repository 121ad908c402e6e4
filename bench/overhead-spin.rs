//! The workload of `bench/profile-overhead.sh`: `overhead-spin THREADS ITERS` runs ITERS rounds of register-only
//! integer mixing on each of THREADS threads (a fixed amount of work, no clock in the loop), then prints
//! `wall_s cpu_user_s cpu_sys_s` for itself (wall from its first to its last instruction; getrusage, all threads).
//! Built by the script with plain `rustc -O`; not part of the workspace.
use std::hint::black_box;
use std::time::Instant;
extern "C" {
    fn getrusage(who: i32, usage: *mut i64) -> i32;
}
fn main() {
    let a: Vec<u64> = std::env::args().skip(1).map(|s| s.parse().expect("number")).collect();
    let (threads, iters) = (a[0], a[1]);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            s.spawn(move || {
                let mut x = black_box(0x9e37_79b9_7f4a_7c15u64 ^ t);
                for _ in 0..iters {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x = black_box(x);
                }
                black_box(x)
            });
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    let mut ru = [0i64; 18];
    // SAFETY: getrusage writes one struct rusage (18 longs on 64-bit Linux) into the buffer.
    unsafe { getrusage(0, ru.as_mut_ptr()) };
    let tv = |i: usize| ru[i] as f64 + ru[i + 1] as f64 / 1e6;
    println!("{wall:.6} {:.6} {:.6}", tv(0), tv(2));
}
