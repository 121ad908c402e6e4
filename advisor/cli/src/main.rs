//! The `conc-advisor` binary: a thin shell over [`cli`], which parses arguments and drives the checker
//! (`conc_advisor`) and the external sampler (`conc_sampler`).

#![forbid(unsafe_code)]

mod cli;
mod exit;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
