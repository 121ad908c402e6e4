//! `#[profile_concurrency]` on every supported kind of function: each compiles, behaves as before (return
//! values, early returns, `?`, panics) and is recorded under the expected name with the expected call count.

#![allow(dead_code, clippy::multiple_bound_locations)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use conc_profiler::profile_concurrency;
use conc_profiler::report::Entry;

// A user's `Result` alias, `Option`, and a local `core` module must not break generated code.
type Result = ();
#[allow(non_camel_case_types)]
type Option = u8;
mod core {}

fn entry(suffix: &str) -> Entry {
    let r = conc_profiler::report();
    r.entries.into_iter().find(|e| e.name.ends_with(suffix)).unwrap_or_else(|| panic!("no entry ending in {suffix}"))
}

fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[profile_concurrency]
fn free_fn(x: u32) -> u32 {
    x + 1
}

#[test]
fn free_function() {
    assert_eq!(free_fn(1), 2);
    assert_eq!(free_fn(2), 3);
    let e = entry("::free_fn");
    assert_eq!(e.name, "attribute::free_fn");
    assert_eq!(e.calls, Some(2));
    assert_eq!(e.unwound, Some(0));
    assert!(e.location.unwrap().contains("attribute.rs"));
}

#[profile_concurrency]
fn early(x: i32) -> &'static str {
    if x < 0 {
        return "negative";
    }
    "non-negative"
}

#[profile_concurrency]
fn question(s: &str) -> std::result::Result<i64, std::num::ParseIntError> {
    let v: i64 = s.parse()?;
    Ok(v * 2)
}

#[test]
fn early_return_and_question_mark() {
    assert_eq!(early(-1), "negative");
    assert_eq!(early(1), "non-negative");
    assert_eq!(question("21"), Ok(42));
    assert!(question("x").is_err());
    assert_eq!(entry("::early").calls, Some(2));
    assert_eq!(entry("::question").calls, Some(2));
}

struct Counter(u64);

impl Counter {
    #[profile_concurrency(name = "Counter::bump")]
    fn bump(&mut self, by: u64) -> u64 {
        self.0 += by;
        self.0
    }

    #[profile_concurrency]
    fn by_value(self) -> u64 {
        self.0
    }
}

trait Greeter {
    #[profile_concurrency]
    fn greet_default(&self) -> String {
        format!("hello {}", self.who())
    }
    fn who(&self) -> String;
}

impl Greeter for Counter {
    fn who(&self) -> String {
        self.0.to_string()
    }
}

#[test]
fn methods_and_trait_defaults() {
    let mut c = Counter(0);
    assert_eq!(c.bump(2), 2);
    assert_eq!(c.bump(3), 5);
    assert_eq!(c.greet_default(), "hello 5");
    assert_eq!(c.by_value(), 5);
    let e = entry("Counter::bump");
    assert_eq!(e.name, "Counter::bump");
    assert_eq!(e.calls, Some(2));
    assert_eq!(entry("::greet_default").calls, Some(1));
    assert_eq!(entry("::by_value").calls, Some(1));
}

#[profile_concurrency]
fn generic<T: Clone + std::fmt::Debug, const N: usize>(items: [T; N]) -> Vec<T>
where
    T: PartialEq,
{
    items.to_vec()
}

#[test]
fn generic_functions_share_one_entry() {
    assert_eq!(generic([1, 2, 3]), vec![1, 2, 3]);
    assert_eq!(generic(["a"]), vec!["a"]);
    assert_eq!(entry("::generic").calls, Some(2));
}

#[profile_concurrency(expect = "io")]
async fn async_fn(x: u32) -> std::result::Result<u32, String> {
    let y = std::future::ready(x).await;
    if y == 0 {
        return Err("zero".into());
    }
    let z: u32 = "5".parse().map_err(|_| String::from("bad"))?;
    Ok(y + z)
}

#[profile_concurrency]
async fn async_impl_trait() -> impl std::fmt::Display {
    7
}

#[profile_concurrency]
fn returns_future(x: u32) -> impl Future<Output = u32> + Send {
    if x == 0 {
        return std::future::ready(0);
    }
    std::future::ready(x * 10)
}

struct Svc;

impl Svc {
    #[profile_concurrency]
    async fn method(&self, v: &str) -> usize {
        v.len()
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[test]
fn async_functions_and_impl_future() {
    assert_eq!(block_on(assert_send(async_fn(1))), Ok(6));
    assert_eq!(block_on(async_fn(0)), Err("zero".to_string()));
    assert_eq!(block_on(async_impl_trait()).to_string(), "7");
    assert_eq!(block_on(returns_future(0)), 0);
    assert_eq!(block_on(assert_send(returns_future(2))), 20);
    assert_eq!(block_on(Svc.method("abc")), 3);
    let e = entry("::async_fn");
    assert_eq!(e.calls, Some(2));
    assert_eq!(e.subject, conc_profiler::classify::Subject::AsyncFn);
    assert_eq!(e.expect, Some(conc_profiler::Expectation::Io));
    assert_eq!(entry("::returns_future").calls, Some(2));
    assert_eq!(entry("::method").calls, Some(1));
    assert_eq!(entry("::async_impl_trait").calls, Some(1));
}

#[profile_concurrency]
async fn never_finishes() {
    std::future::pending::<()>().await
}

#[test]
fn dropped_futures_are_counted_as_cancelled() {
    let mut fut = Box::pin(never_finishes());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    drop(fut);
    // Never polled: not a call.
    drop(never_finishes());
    let e = entry("::never_finishes");
    assert_eq!(e.calls, Some(1));
    assert_eq!(e.cancelled, Some(1));
}

#[profile_concurrency(target = "custom::module")]
fn targeted() {}

#[test]
fn target_replaces_the_module_path() {
    targeted();
    assert_eq!(entry("::targeted").name, "custom::module::targeted");
}

#[profile_concurrency]
fn panics(x: u32) -> u32 {
    if x > 0 {
        panic!("boom {x}");
    }
    x
}

#[test]
fn panicking_calls_are_recorded_as_unwound() {
    assert_eq!(panics(0), 0);
    let r = std::panic::catch_unwind(|| panics(1));
    assert!(r.is_err());
    let e = entry("::panics");
    assert_eq!(e.calls, Some(2));
    assert_eq!(e.unwound, Some(1));
}

#[profile_concurrency]
fn uses_shadowed_names() -> Result {
    let _o: Option = 1;
}

#[test]
fn user_aliases_do_not_break_expansion() {
    uses_shadowed_names();
    assert_eq!(entry("::uses_shadowed_names").calls, Some(1));
}

#[profile_concurrency]
async fn async_panics() -> u32 {
    std::future::ready(()).await;
    panic!("async boom")
}

#[test]
fn panicking_async_calls_are_recorded_as_unwound() {
    let r = std::panic::catch_unwind(|| block_on(async_panics()));
    assert!(r.is_err());
    let e = entry("::async_panics");
    assert_eq!(e.calls, Some(1));
    assert_eq!(e.unwound, Some(1));
    assert_eq!(e.cancelled, Some(0));
}
