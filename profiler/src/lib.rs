//! conc-profiler: the runtime half of conc-advisor — classification of measured timings and the versioned report
//! (the instrumentation behind `#[profile_concurrency]` builds on these).

#![deny(unsafe_code)]

pub mod classify;
pub mod report;
