//! conc-profiler: the runtime half of conc-advisor (issue 4 fills it in).
