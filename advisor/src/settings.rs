//! What one run is configured to do: which rules are on, at what severity, with which thresholds.
//!
//! [`Settings`] is what analyses read. It is built by the CLI from `conc-advisor.toml` (or
//! `[tool.conc-advisor]` in `pyproject.toml`) and the command-line flags; analyses never parse either.

use std::collections::HashMap;

use crate::diagnostic::Severity;
use crate::registry::{self, Rule, RuleMeta, RuleSet};

/// The configuration one analysis runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The enabled rules.
    pub enabled: RuleSet,
    /// Severity overrides by rule code.
    pub severity: HashMap<&'static str, Severity>,
    /// Thresholds of the Rust analyses.
    pub rust: RustSettings,
    /// Thresholds and switches of the Python analyses.
    pub python: PythonSettings,
    /// What happens to findings in test code (`test-code`).
    pub test_code: TestCode,
}

/// What happens to a finding in test code (`test-code` in configuration, `--test-code`): test files and
/// directories, `#[cfg(test)]` items, test functions (see [`enclosing`](crate::enclosing)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TestCode {
    /// Reported like any other finding.
    Report,
    /// Reported at `info` severity, so it never fails a run under the default `--fail-on warning` (default).
    #[default]
    Info,
    /// Not reported.
    Ignore,
}

impl TestCode {
    /// Parses `report`, `info` or `ignore`.
    pub fn parse(s: &str) -> Option<TestCode> {
        match s {
            "report" => Some(TestCode::Report),
            "info" => Some(TestCode::Info),
            "ignore" => Some(TestCode::Ignore),
            _ => None,
        }
    }

    /// The word used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            TestCode::Report => "report",
            TestCode::Info => "info",
            TestCode::Ignore => "ignore",
        }
    }
}

/// Thresholds of the Rust rules (`[rust]` in `conc-advisor.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct RustSettings {
    /// A literal pool size above this is reported as oversubscribing the cores (`max-pool-threads`).
    pub max_pool_threads: u64,
    /// A literal range at least this long makes a loop CPU-heavy (`heavy-range`).
    pub heavy_range: u64,
    /// Loops nested at least this deep make a loop CPU-heavy (`heavy-loop-depth`).
    pub heavy_loop_depth: u32,
    /// The core count the static checks assume where a literal thread count is compared with the cores
    /// (`assumed-cores`): the machine the code runs on is not known.
    pub assumed_cores: u64,
    /// A literal count of CPU-heavy threads above `assumed-cores` × this factor oversubscribes the cores
    /// (`oversubscription-factor`; CA301 on a thread per item of a literal range).
    pub oversubscription_factor: u64,
    /// The project's own CPU-heavy functions, by path (`mycrate::render`), or methods by name (`.render_all`):
    /// a call in async code is CA201's finding (`cpu-heavy-calls`).
    pub cpu_heavy_calls: Vec<String>,
    /// The project's own blocking functions, by path (`mycrate::io::fetch_blocking`), or methods by name
    /// (`.wait_blocking`): a call in async code is CA105's finding (`blocking-calls`).
    pub blocking_calls: Vec<String>,
}

impl RustSettings {
    /// The largest literal count of CPU-heavy threads that does not oversubscribe the cores:
    /// `assumed-cores` × `oversubscription-factor`.
    pub fn max_heavy_threads(&self) -> u64 {
        self.assumed_cores.max(1).saturating_mul(self.oversubscription_factor.max(1))
    }

    /// A function path listed in `list` (exactly).
    pub fn lists_path(list: &[String], path: &str) -> bool {
        list.iter().any(|p| p == path)
    }

    /// A method name listed in `list` (as `.name`).
    pub fn lists_method(list: &[String], method: &str) -> bool {
        list.iter().any(|p| p.strip_prefix('.') == Some(method))
    }
}

impl Default for RustSettings {
    fn default() -> Self {
        RustSettings {
            max_pool_threads: 64,
            heavy_range: 10_000,
            heavy_loop_depth: 2,
            assumed_cores: 16,
            oversubscription_factor: 4,
            cpu_heavy_calls: Vec::new(),
            blocking_calls: Vec::new(),
        }
    }
}

/// Switches and thresholds of the Python rules (`[python]` in `conc-advisor.toml`).
#[derive(Debug, Clone, PartialEq)]
pub struct PythonSettings {
    /// The code runs on a free-threaded CPython (3.13t/3.14t): threads run Python code in parallel.
    pub free_threaded: bool,
    /// A literal `max_workers`/`processes` above this is reported for CPU-bound targets (`max-workers`).
    pub max_workers: u64,
    /// A literal range at least this long makes a loop CPU-heavy (`heavy-range`).
    pub heavy_range: u64,
    /// The project's own CPU-heavy callables, by qualified name (`mylib.render`; a name ending in `.` is a
    /// prefix): a call to one is strong CPU evidence (`cpu-heavy-calls`).
    pub cpu_heavy_calls: Vec<String>,
    /// The project's own blocking callables, by qualified name (`mylib.fetch`, or a prefix ending in `.`):
    /// CA503 reports them in `async def`, and they are I/O evidence (`blocking-calls`).
    pub blocking_calls: Vec<String>,
}

impl Default for PythonSettings {
    fn default() -> Self {
        PythonSettings {
            free_threaded: false,
            max_workers: 32,
            heavy_range: 10_000,
            cpu_heavy_calls: Vec::new(),
            blocking_calls: Vec::new(),
        }
    }
}

impl Default for Settings {
    /// The rules on by default ([`RuleSet::defaults`]: every rule but those declared `default: off`) at their
    /// default severity, default thresholds — what `check` runs without configuration.
    fn default() -> Self {
        Settings {
            enabled: RuleSet::defaults(),
            severity: HashMap::new(),
            rust: RustSettings::default(),
            python: PythonSettings::default(),
            test_code: TestCode::default(),
        }
    }
}

impl Settings {
    /// Settings with only the given rules enabled (plus `syntax-error`, which is always on).
    pub fn only(rules: &[&'static RuleMeta]) -> Self {
        let mut enabled: RuleSet = rules.iter().map(|r| Rule::of(r)).collect();
        enabled.insert(Rule::Tool(registry::builtin::Id::SyntaxError));
        Settings { enabled, ..Settings::default() }
    }

    /// Whether `rule` runs.
    pub fn is_enabled(&self, rule: &RuleMeta) -> bool {
        self.enabled.contains(Rule::of(rule))
    }

    /// The severity `rule`'s findings carry.
    pub fn severity_of(&self, rule: &RuleMeta) -> Severity {
        self.severity.get(rule.code).copied().unwrap_or(rule.severity)
    }
}
