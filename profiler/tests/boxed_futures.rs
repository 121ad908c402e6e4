//! Functions returning boxed futures are measured as futures — per poll, with the waker split — not as the
//! constructor that builds them (issue 14: each was "0.001 ms per call, cpu-bound"). Each shape sleeps 50 ms on
//! tokio's timer: the verdict must be I/O-bound or idle, never CPU-bound, and the recorded wall time must cover
//! the sleeps (a lower bound, robust to a loaded machine).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use conc_profiler::classify::{Subject, Verdict};
use conc_profiler::profile_concurrency;
use conc_profiler::report::Entry;
use futures::future::{BoxFuture, FutureExt, LocalBoxFuture};

const SLEEP: Duration = Duration::from_millis(50);
const CALLS: u64 = 4;

#[profile_concurrency]
fn sleeps_box_future() -> BoxFuture<'static, u32> {
    async {
        tokio::time::sleep(SLEEP).await;
        1
    }
    .boxed()
}

#[profile_concurrency]
fn sleeps_local_box_future() -> LocalBoxFuture<'static, u32> {
    async {
        tokio::time::sleep(SLEEP).await;
        2
    }
    .boxed_local()
}

#[profile_concurrency]
fn sleeps_pin_box_dyn() -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async {
        tokio::time::sleep(SLEEP).await;
        3
    })
}

#[async_trait::async_trait]
trait Sleeper {
    async fn sleeps_async_trait(&self) -> u32;
}

struct S;

#[async_trait::async_trait]
impl Sleeper for S {
    #[profile_concurrency]
    async fn sleeps_async_trait(&self) -> u32 {
        tokio::time::sleep(SLEEP).await;
        4
    }
}

fn entry(suffix: &str) -> Entry {
    let r = conc_profiler::report();
    r.entries.into_iter().find(|e| e.name.ends_with(suffix)).unwrap_or_else(|| panic!("no entry ending in {suffix}"))
}

#[test]
fn a_sleep_in_a_boxed_future_is_waiting_not_cpu() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sum = rt.block_on(async {
        let mut sum = 0;
        for _ in 0..CALLS {
            sum += sleeps_box_future().await;
            sum += sleeps_local_box_future().await;
            sum += sleeps_pin_box_dyn().await;
            sum += S.sleeps_async_trait().await;
        }
        sum
    });
    assert_eq!(sum, CALLS as u32 * 10);
    for name in ["::sleeps_box_future", "::sleeps_local_box_future", "::sleeps_pin_box_dyn", "::sleeps_async_trait"] {
        let e = entry(name);
        assert_eq!(e.subject, Subject::AsyncFn, "{name} is measured as a future");
        assert_eq!(e.calls, Some(CALLS), "{name}");
        // Measured over the future's life, not the constructor's microseconds.
        assert!(e.total_wall_ns >= CALLS * SLEEP.as_nanos() as u64, "{name}: {} ns", e.total_wall_ns);
        let v = e.classification.verdict;
        assert!(matches!(v, Verdict::IoBound | Verdict::Idle), "{name}: {v:?} — {}", e.classification.evidence);
    }
}
