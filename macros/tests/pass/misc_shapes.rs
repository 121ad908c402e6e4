// Further shapes that compile without the attribute and must compile with it.
use std::fmt::Display;
use std::future::Future;

use conc_profiler::profile_concurrency;

struct W(Vec<u32>);

impl W {
    #[profile_concurrency]
    async fn first(&self) -> Option<&u32> {
        self.0.first()
    }

    #[profile_concurrency]
    async fn push(&mut self, x: u32) -> &mut Self {
        self.0.push(x);
        self
    }

    #[profile_concurrency]
    fn iter(&self) -> impl Iterator<Item = &u32> + '_ {
        self.0.iter()
    }

    #[profile_concurrency]
    async fn consume(self) -> Self {
        self
    }
}

trait Fetch {
    // Native `async fn` in traits.
    async fn fetch(&self) -> u32;
}

impl Fetch for W {
    #[profile_concurrency]
    async fn fetch(&self) -> u32 {
        self.0.len() as u32
    }
}

#[profile_concurrency]
async fn impl_arg(s: impl AsRef<str>, mut n: u32, (a, b): (u32, u32)) -> usize {
    n += a + b;
    s.as_ref().len() + n as usize
}

#[profile_concurrency]
async fn impl_ret() -> impl Display {
    3
}

#[profile_concurrency]
async fn generic<T: Display + Send, const N: usize>(xs: [T; N]) -> String
where
    T: Clone,
{
    xs.iter().map(ToString::to_string).collect()
}

#[profile_concurrency]
async fn with_inner_items() -> u32 {
    const K: u32 = 2;
    fn helper() -> u32 {
        K
    }
    helper()
}

#[profile_concurrency]
unsafe fn raw(p: *const u8) -> u8 {
    unsafe { *p }
}

#[profile_concurrency]
async unsafe fn raw_async(p: *const u8) -> u8 {
    unsafe { *p }
}

#[profile_concurrency]
extern "C" fn c_abi(x: u32) -> u32 {
    x
}

#[profile_concurrency]
#[must_use]
#[inline]
fn attrs(x: u32) -> u32 {
    x
}

#[profile_concurrency]
fn future_send<'a>(s: &'a str) -> impl Future<Output = usize> + Send + 'a {
    async move { s.len() }
}

#[profile_concurrency]
async fn result_unit() -> Result<(), std::io::Error> {
    std::fs::metadata("/")?; // conc-advisor: allow(blocking-fs-in-async)
    Ok(())
}

#[profile_concurrency]
async fn recursive(n: u32) -> u32 {
    if n == 0 { 0 } else { Box::pin(recursive(n - 1)).await + 1 }
}

fn main() {
    let mut w = W(vec![1]);
    let _ = w.first();
    let _ = w.push(1);
    let _ = w.iter().count();
    let _ = W(vec![]).consume();
    let _ = w.fetch();
    let _ = impl_arg("x", 1, (1, 2));
    let _ = impl_ret();
    let _ = generic([1, 2]);
    let _ = with_inner_items();
    let b = 1u8;
    let _ = unsafe { raw(&b) };
    let _ = unsafe { raw_async(&b) };
    let _ = c_abi(1);
    let _ = attrs(1);
    let _ = future_send("x");
    let _ = result_unit();
    let _ = recursive(2);
}
