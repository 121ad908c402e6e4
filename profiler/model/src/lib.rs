//! conc-report: what a concurrency report is and how a measurement becomes a verdict, with no
//! platform-specific dependency. [`report`] is the JSON schema (`conc-advisor-report`) written by the
//! in-process profiler (`conc-profiler`) and the external sampler (`conc-sampler`); [`classify`] is the one
//! classifier both use; [`waits`] the wait kinds and the one Linux system-call table both samplers use.
//! `conc-profiler` re-exports `classify` and `report`.

#![forbid(unsafe_code)]

pub mod classify;
pub mod report;
pub mod waits;
