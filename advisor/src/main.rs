//! The `conc-advisor` binary: a thin shell over the library's `cli` module.

#![forbid(unsafe_code)]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    conc_advisor::cli::main()
}
