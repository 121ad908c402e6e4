//! The `conc-advisor` binary: a thin shell over [`cli`], which parses arguments and drives the checker
//! (`conc_advisor`) and the external sampler (`conc_sampler`).

#![forbid(unsafe_code)]

mod cli;
mod exit;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How long freed memory stays with the allocator before it goes back to the OS. mimalloc's 10 ms makes each
/// file's syntax tree fault its pages in anew (bench/README.md, "Allocator"); a second keeps them for the next
/// file and still returns memory during long idle phases. `MIMALLOC_PURGE_DELAY` in the environment wins.
const PURGE_DELAY_MS: i64 = 1_000;

fn main() -> std::process::ExitCode {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        conc_profiler::sys::mimalloc_purge_delay(PURGE_DELAY_MS);
    }
    cli::main()
}
