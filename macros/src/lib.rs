//! `#[profile_concurrency]` (issue 4 fills it in).

#![forbid(unsafe_code)]
