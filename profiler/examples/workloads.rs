//! Example: three instrumented functions — one CPU-bound, one I/O-bound, one run on far more threads than cores
//! (oversubscribed) — and the report conc-profiler gives for them.
//!
//! ```text
//! cargo run -p conc-profiler --example workloads --release
//! CONC_PROFILER_REPORT=report.json cargo run -p conc-profiler --example workloads --release   # JSON at exit
//! ```

use std::time::{Duration, Instant};

use conc_profiler::profile_concurrency;

/// Hashes a buffer many times: pure computation.
#[profile_concurrency(expect = "cpu")]
fn checksum(data: &[u8], rounds: u32) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for _ in 0..rounds {
        for &b in data {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Waits for a reply over a loopback TCP connection: the other end answers after a delay.
#[profile_concurrency(expect = "io")]
fn request(stream: &mut std::net::TcpStream) -> std::io::Result<u8> {
    use std::io::{Read, Write};
    stream.write_all(b"?")?;
    let mut b = [0u8; 1];
    stream.read_exact(&mut b)?;
    Ok(b[0])
}

/// CPU work for a fixed wall-clock slice, called from 4 threads per core at once.
#[profile_concurrency(name = "render_tile")]
fn render_tile(ms: u64) -> u64 {
    let start = Instant::now();
    let mut x = 1u64;
    while start.elapsed() < Duration::from_millis(ms) {
        for i in 0..1000u64 {
            x = x.rotate_left(7) ^ std::hint::black_box(i);
        }
    }
    x
}

fn main() -> std::io::Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);

    // CPU-bound.
    let data = vec![7u8; 64 * 1024];
    for _ in 0..20 {
        std::hint::black_box(checksum(&data, 20));
    }

    // I/O-bound: a server thread answers each request after 2 ms.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let mut client = std::net::TcpStream::connect(listener.local_addr()?)?;
    client.set_nodelay(true)?;
    let (mut server, _) = listener.accept()?;
    server.set_nodelay(true)?;
    let srv = std::thread::spawn(move || -> std::io::Result<()> {
        use std::io::{Read, Write};
        let mut b = [0u8; 1];
        while server.read_exact(&mut b).is_ok() {
            std::thread::sleep(Duration::from_millis(2));
            server.write_all(b"!")?;
        }
        Ok(())
    });
    for _ in 0..50 {
        request(&mut client)?;
    }
    drop(client);
    srv.join().expect("server thread")?;

    // Oversubscribed: 4 threads per core all computing at once.
    let workers: Vec<_> = (0..4 * cores)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..5 {
                    std::hint::black_box(render_tile(20));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }

    let report = conc_profiler::report();
    print!("{}", report.human_table());
    println!();
    for line in report.summary_lines() {
        println!("- {line}");
    }
    Ok(())
}
