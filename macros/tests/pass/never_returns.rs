// Functions that never return (issue 14: `async fn … -> !`).
use conc_profiler::profile_concurrency;

#[profile_concurrency]
async fn serve_forever() -> ! {
    loop {
        std::future::pending::<()>().await;
    }
}

#[profile_concurrency]
async fn fail(msg: &str) -> ! {
    panic!("{msg}")
}

#[profile_concurrency]
fn exit_now() -> ! {
    std::process::exit(0)
}

fn main() {
    let _ = serve_forever();
    let _ = fail("x");
    if std::env::args().count() > 99 {
        exit_now();
    }
}
