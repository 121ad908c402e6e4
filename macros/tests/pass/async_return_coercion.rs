// `async fn` bodies that rely on coercion to the declared return type (issue 14).
use std::error::Error;
use std::fmt::Display;

use conc_profiler::profile_concurrency;

#[profile_concurrency]
async fn deref_coercion(s: &String) -> &str {
    s
}

#[profile_concurrency]
async fn unsize_coercion() -> Box<dyn Display> {
    Box::new(1)
}

#[profile_concurrency]
async fn unsize_in_return(flag: bool) -> Box<dyn Display> {
    if flag {
        return Box::new("early");
    }
    Box::new(2.5)
}

#[profile_concurrency]
async fn question_mark_into_box_dyn_error(s: &str) -> Result<u32, Box<dyn Error>> {
    let n: u32 = s.parse()?;
    let _ = std::str::from_utf8(b"ok")?;
    Ok(n)
}

#[profile_concurrency]
async fn question_mark_send_sync(s: &str) -> Result<u32, Box<dyn Error + Send + Sync>> {
    Ok(s.parse()?)
}

#[profile_concurrency]
async fn unit() {}

#[profile_concurrency]
async fn explicit_unit() -> () {}

#[profile_concurrency]
async fn closure_out() -> Box<dyn Fn(u32) -> u32 + Send> {
    Box::new(|x| x + 1)
}

#[profile_concurrency]
async fn slice_coercion(v: &Vec<u8>) -> &[u8] {
    v
}

fn main() {
    let s = String::from("3");
    let _ = deref_coercion(&s);
    let _ = unsize_coercion();
    let _ = unsize_in_return(true);
    let _ = question_mark_into_box_dyn_error("4");
    let _ = question_mark_send_sync("4");
    let _ = unit();
    let _ = explicit_unit();
    let _ = closure_out();
    let v = vec![1u8];
    let _ = slice_coercion(&v);
}
