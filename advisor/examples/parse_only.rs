//! The speed baseline for `conc-advisor check` on Rust code: walk the same files with the same walker
//! (`conc_advisor::walk::walk`), read each, `syn::parse_file` it and drop the tree, on a rayon pool of
//! `--jobs N` threads — nothing else. `bench/run.sh` times `check` against this.
//!
//! Allocator: this example runs on the **system allocator**. The `conc-advisor` binary installs mimalloc as
//! its `#[global_allocator]` in `src/main.rs`, but a `#[global_allocator]` belongs to the final artifact, so
//! examples do not inherit it; the baseline is thus "a plain single-allocator parse", as the issue asks. (To
//! see what mimalloc would do for the baseline, run it under `LD_PRELOAD` of a mimalloc shared library; see
//! `bench/README.md`.)
//!
//! As in the real analysis, `proc_macro2::extra::invalidate_current_thread_spans()` is called after each file,
//! or span offsets of the thread-local source map wrap after about 4 GiB of source on one thread.
//!
//! Usage: `cargo run --release -p conc-advisor --example parse_only -- [--jobs N] [--read-only] PATH...`
//!
//! `--read-only` walks and reads but does not parse (to separate walk + read cost from parse cost).
//! Prints one line: `parse_only: files=… lines=… bytes=… parse_errors=… read_errors=… jobs=… walk_ms=… total_ms=…
//! lines_per_s=…`. Exit code 0, or 2 on a usage error or when no file was found.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

struct Args {
    jobs: usize,
    read_only: bool,
    roots: Vec<PathBuf>,
}

const USAGE: &str = "usage: parse_only [--jobs N] [--read-only] PATH...";

fn parse_args() -> Result<Args, String> {
    let mut args = Args { jobs: 0, read_only: false, roots: Vec::new() };
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--jobs" | "-j") => {
                let v = it.next().ok_or("--jobs needs a number")?;
                args.jobs = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("--jobs: `{}` is not a number", v.to_string_lossy()))?;
            }
            Some(s) if s.starts_with("--jobs=") => {
                args.jobs = s["--jobs=".len()..].parse().map_err(|_| format!("--jobs: `{s}` is not a number"))?;
            }
            Some("--read-only") => args.read_only = true,
            Some("-h" | "--help") => return Err(String::new()),
            Some(s) if s.starts_with('-') => return Err(format!("unknown option `{s}`")),
            _ => args.roots.push(PathBuf::from(a)),
        }
    }
    if args.roots.is_empty() {
        return Err("no PATH given".to_string());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("parse_only: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    // Same pool set-up as `engine::check`: `jobs` threads (0: one per core), walk inside the pool.
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(args.jobs).build() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("parse_only: cannot start the thread pool: {e}");
            return ExitCode::from(2);
        }
    };
    let lines = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let parse_errors = AtomicUsize::new(0);
    let read_errors = AtomicUsize::new(0);
    let (files, walk_ms) = pool.install(|| {
        let walked = conc_advisor::walk::walk(&args.roots, &|_| false, args.jobs.max(1));
        let walk_ms = start.elapsed().as_secs_f64() * 1e3;
        for e in &walked.errors {
            eprintln!("parse_only: {e}");
        }
        let rust: Vec<_> = walked.files.into_iter().filter(|f| f.kind.name() == "rust").collect();
        rust.par_iter().for_each(|f| {
            let text = match std::fs::read_to_string(&f.path) {
                Ok(t) => t,
                Err(_) => {
                    read_errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            lines.fetch_add(text.bytes().filter(|&b| b == b'\n').count(), Ordering::Relaxed);
            bytes.fetch_add(text.len(), Ordering::Relaxed);
            if !args.read_only {
                if syn::parse_file(&text).is_err() {
                    parse_errors.fetch_add(1, Ordering::Relaxed);
                }
                proc_macro2::extra::invalidate_current_thread_spans();
            }
        });
        (rust.len(), walk_ms)
    });
    let secs = start.elapsed().as_secs_f64();
    let lines = lines.into_inner();
    println!(
        "parse_only: files={files} lines={lines} bytes={} parse_errors={} read_errors={} jobs={} walk_ms={walk_ms:.1} \
         total_ms={:.1} lines_per_s={:.0}",
        bytes.into_inner(),
        parse_errors.into_inner(),
        read_errors.into_inner(),
        pool.current_num_threads(),
        secs * 1e3,
        lines as f64 / secs.max(1e-9),
    );
    if files == 0 {
        eprintln!("parse_only: no Rust file found");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
