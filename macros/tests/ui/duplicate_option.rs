use conc_profiler::profile_concurrency;

#[profile_concurrency(name = "a", expect = "cpu", name = "b")]
fn work() {}

fn main() {
    work();
}
