// A function returning `impl Future + '_` that reborrows `&mut self` or a `&'a mut` argument into the future
// (issue 14: "captured variable cannot escape FnMut closure body").
use std::future::Future;

use conc_profiler::profile_concurrency;

struct Counter {
    n: u32,
}

impl Counter {
    async fn inner(&mut self) -> u32 {
        self.n += 1;
        self.n
    }

    #[profile_concurrency]
    fn bump(&mut self) -> impl Future<Output = u32> + '_ {
        self.inner()
    }

    #[profile_concurrency]
    fn early(&mut self, skip: bool) -> impl Future<Output = u32> + '_ {
        if skip {
            return self.inner();
        }
        self.inner()
    }
}

#[profile_concurrency]
fn bump_arg<'a>(c: &'a mut Counter) -> impl Future<Output = u32> + 'a {
    c.inner()
}

#[profile_concurrency]
fn bump_two<'a>(c: &'a mut Counter, v: &'a mut Vec<u32>) -> impl Future<Output = ()> + 'a {
    async move {
        let n = c.inner().await;
        v.push(n);
    }
}

fn main() {
    let mut c = Counter { n: 0 };
    let _ = c.bump();
    let _ = c.early(true);
    let _ = bump_arg(&mut c);
    let mut v = Vec::new();
    let _ = bump_two(&mut c, &mut v);
}
