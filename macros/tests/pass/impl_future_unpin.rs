// `-> impl Future + Unpin` (issue 14): the wrapper must stay `Unpin`.
use std::future::{Future, Ready, ready};

use conc_profiler::profile_concurrency;

#[profile_concurrency]
fn ready_u8() -> impl Future<Output = u8> + Unpin {
    ready(7)
}

#[profile_concurrency]
fn send_unpin() -> impl Future<Output = u8> + Unpin + Send + 'static {
    let r: Ready<u8> = ready(8);
    r
}

fn needs_unpin<F: Future + Unpin>(_: F) {}
fn needs_send<F: Future + Send>(_: F) {}

fn main() {
    needs_unpin(ready_u8());
    needs_unpin(send_unpin());
    needs_send(send_unpin());
}
