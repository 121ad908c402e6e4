// An error in the attribute's own options is reported once; the function is still emitted unchanged, so its
// callers do not get "cannot find function" errors on top (as tracing-attributes does).
use conc_profiler::profile_concurrency;

#[profile_concurrency(nme = "typo")]
fn work(x: u32) -> u32 {
    x + 1
}

#[profile_concurrency(expect = "gpu")]
async fn fetch() -> u32 {
    1
}

fn main() {
    let _ = work(1);
    let _ = fetch();
}
