use conc_profiler::profile_concurrency;

#[profile_concurrency]
struct Config {
    threads: usize,
}

fn main() {}
