//! The off switches: with the `enabled` feature, `set_enabled(false)` stops recording at run time; without it,
//! nothing is ever recorded. (A separate test binary, so the global switch cannot disturb other tests.)

use conc_profiler::profile_concurrency;

#[profile_concurrency]
fn work(x: u64) -> u64 {
    x * 2
}

#[profile_concurrency]
async fn async_work(x: u64) -> u64 {
    x + 1
}

fn poll_once<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("ready future"),
    }
}

#[cfg_attr(not(feature = "enabled"), allow(dead_code))]
fn calls(suffix: &str) -> Option<u64> {
    conc_profiler::report().entries.iter().find(|e| e.name.ends_with(suffix)).and_then(|e| e.calls)
}

#[cfg(feature = "enabled")]
#[test]
fn run_time_switch_stops_and_resumes_recording() {
    assert_eq!(work(1), 2);
    conc_profiler::set_enabled(false);
    for i in 0..10 {
        assert_eq!(work(i), i * 2);
        assert_eq!(poll_once(async_work(i)), i + 1);
    }
    assert_eq!(calls("::work"), Some(1));
    assert_eq!(calls("::async_work"), None);
    conc_profiler::set_enabled(true);
    work(2);
    assert_eq!(calls("::work"), Some(2));
}

#[cfg(not(feature = "enabled"))]
#[test]
fn without_the_feature_nothing_is_recorded() {
    assert_eq!(work(1), 2);
    assert_eq!(poll_once(async_work(1)), 2);
    conc_profiler::set_enabled(true);
    assert_eq!(work(2), 4);
    assert!(conc_profiler::report().entries.is_empty());
}
