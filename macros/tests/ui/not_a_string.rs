use conc_profiler::profile_concurrency;

#[profile_concurrency(name = work)]
fn work() {}

fn main() {
    work();
}
