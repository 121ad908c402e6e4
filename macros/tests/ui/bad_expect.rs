use conc_profiler::profile_concurrency;

#[profile_concurrency(expect = "gpu")]
fn work() {}

fn main() {
    work();
}
