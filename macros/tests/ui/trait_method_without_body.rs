use conc_profiler::profile_concurrency;

trait Job {
    #[profile_concurrency]
    fn run(&self);
}

fn main() {}
