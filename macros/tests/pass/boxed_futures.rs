// Functions returning boxed futures, measured as futures (issue 14): `BoxFuture`, `LocalBoxFuture`,
// `Pin<Box<dyn Future…>>`, and `#[async_trait]` methods with the attribute inside the impl.
use std::future::Future;
use std::pin::Pin;

use conc_profiler::profile_concurrency;
use futures::future::{BoxFuture, FutureExt, LocalBoxFuture};

#[profile_concurrency]
fn boxed(x: u32) -> BoxFuture<'static, u32> {
    async move { x }.boxed()
}

#[profile_concurrency]
fn boxed_borrow(x: &u32) -> BoxFuture<'_, u32> {
    Box::pin(async move { *x })
}

#[profile_concurrency]
fn local(x: std::rc::Rc<u32>) -> LocalBoxFuture<'static, u32> {
    async move { *x }.boxed_local()
}

#[profile_concurrency]
fn pinned(x: u32) -> Pin<Box<dyn Future<Output = u32> + Send>> {
    Box::pin(async move { x })
}

#[profile_concurrency]
fn pinned_std(x: u32) -> std::pin::Pin<std::boxed::Box<dyn std::future::Future<Output = u32> + Send + 'static>> {
    Box::pin(async move { x })
}

#[async_trait::async_trait]
trait Service {
    async fn call(&self, x: u32) -> u32;
    #[profile_concurrency]
    async fn default_call(&self) -> u32 {
        1
    }
}

struct S;

#[async_trait::async_trait]
impl Service for S {
    #[profile_concurrency]
    async fn call(&self, x: u32) -> u32 {
        x + 1
    }
}

#[async_trait::async_trait(?Send)]
trait LocalService {
    async fn call(&self, x: std::rc::Rc<u32>) -> u32;
}

#[async_trait::async_trait(?Send)]
impl LocalService for S {
    #[profile_concurrency(name = "local_call")]
    async fn call(&self, x: std::rc::Rc<u32>) -> u32 {
        *x
    }
}

fn needs_send<F: Future + Send>(_: F) {}

fn main() {
    needs_send(boxed(1));
    needs_send(boxed_borrow(&1));
    let _ = local(std::rc::Rc::new(1));
    needs_send(pinned(1));
    needs_send(pinned_std(1));
    needs_send(Service::call(&S, 1));
    needs_send(S.default_call());
    let _ = LocalService::call(&S, std::rc::Rc::new(1));
}
