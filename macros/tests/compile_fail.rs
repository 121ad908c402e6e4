//! Wrong uses of `#[profile_concurrency]` fail to compile with an error pointing at the offending tokens.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

/// Every shape that compiles without the attribute compiles with it (issue 14).
#[test]
fn pass() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
}
