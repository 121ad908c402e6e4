use conc_profiler::profile_concurrency;

#[profile_concurrency(level = "info")]
fn work() {}

fn main() {
    work();
}
