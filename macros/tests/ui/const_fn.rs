use conc_profiler::profile_concurrency;

#[profile_concurrency]
const fn answer() -> u32 {
    42
}

fn main() {
    let _ = answer();
}
