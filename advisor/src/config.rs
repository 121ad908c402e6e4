//! Configuration files: parsing `conc-advisor.toml` (or `[tool.conc-advisor]` in `pyproject.toml`), discovering
//! the nearest one for each file, and resolving it together with the command-line flags into the
//! [`Settings`] analyses read.
//!
//! # Keys
//!
//! ```toml
//! # Rule selection. Selectors are codes (`CA101`), names (`blocking-sleep-in-async`), code prefixes (`CA1`)
//! # or `ALL`. Default: every rule on by default (`conc-advisor rules` shows which are off).
//! select = ["ALL"]
//! extend-select = []            # added to `select`
//! ignore = ["CA3"]              # removed from the selection
//!
//! exclude = ["vendor/**", "generated"]   # globs of files and directories not to check
//! test-code = "info"            # findings in test code: "report", "info" (default: never fails) or "ignore"
//!
//! [severity]                    # severity overrides: info | warning | error
//! CA101 = "error"
//! CA4 = "info"                  # any selector works as a key
//!
//! [per-file-ignores]            # glob -> selectors turned off for matching files
//! "tests/**" = ["CA1"]
//! "benches/*.rs" = ["ALL"]
//!
//! [rust]
//! max-pool-threads = 64         # a literal pool size above this oversubscribes the cores
//! heavy-range = 10000           # a literal range at least this long makes a loop CPU-heavy
//! heavy-loop-depth = 2          # loops nested this deep make a loop CPU-heavy
//! assumed-cores = 16            # the core count assumed where a literal thread count meets the cores
//! oversubscription-factor = 4   # a literal count of CPU-heavy threads above cores × this oversubscribes
//! cpu-heavy-calls = []          # the project's own CPU-heavy fns (`mycrate::render`) or methods (`.render_all`)
//! blocking-calls = []           # the project's own blocking fns (`mycrate::fetch`) or methods (`.wait_blocking`)
//!
//! [python]
//! free-threaded = false         # the code runs on free-threaded CPython (3.13t/3.14t)
//! max-workers = 32              # a literal max_workers/processes above this is reported for CPU-bound work
//! heavy-range = 10000
//! cpu-heavy-calls = []          # the project's own CPU-heavy callables (`mylib.render`, `mylib.` a prefix)
//! blocking-calls = []           # the project's own blocking callables (CA503; I/O evidence)
//! ```
//!
//! In `pyproject.toml` the same keys live under `[tool.conc-advisor]` (`[tool.conc-advisor.severity]`, …); a
//! `pyproject.toml` without that table is not a configuration file. An unknown key, a malformed value or a
//! selector that names no rule is an error that names the file and the key, and stops the run (exit code 2).
//!
//! # Globs
//!
//! `exclude` and `per-file-ignores` patterns are matched against the path relative to the directory of the
//! configuration file (`/`-separated; `*` stays within one path component, `**` crosses them). A pattern with
//! no `/` also matches a file's or directory's name anywhere below that directory, so `exclude = ["generated"]`
//! prunes every `generated/` directory. An excluded directory is not descended into. Paths named explicitly on
//! the command line are checked even when excluded (as ruff and ripgrep do).
//!
//! # Discovery (hierarchical, like ruff)
//!
//! Without `--config`, each file uses the *nearest* configuration: the first directory, from the file's own
//! upwards to the filesystem root, holding a `conc-advisor.toml` or a `pyproject.toml` with a
//! `[tool.conc-advisor]` table (`conc-advisor.toml` wins when a directory has both). The nearest file applies
//! alone — configurations are not merged with their parents'. With `--config FILE`, that one file applies to
//! every path and nothing is discovered.
//!
//! # Precedence of the command line
//!
//! The rules of a file are: the config's `select` (default `ALL`) plus its `extend-select`, minus its
//! `ignore`, minus the file's `per-file-ignores`. `--select` on the command line replaces the config's
//! `select`, `extend-select` and `ignore`; `--extend-select` adds to the result and `--ignore` removes from it.
//! `syntax-error` (`CA001`) stays on unless a selector in an `ignore` names it.
//!
//! # Rules off by default
//!
//! A rule declared `default: off` (its `explain` text says why, with its measured precision; `conc-advisor
//! rules` marks it `off`) runs only when a selector that turns rules on names it exactly, by code or name:
//! `select = ["ALL", "CA412"]`, `extend-select = ["atomic-check-then-act"]`, `--extend-select CA412`. `ALL` and
//! code prefixes (`CA4`) turn on only the rules on by default — as ruff's preview rules under
//! `explicit-preview-rules` and Clippy's allow-by-default lints, a broad selector never opts a project into a
//! noisier rule. `ignore`, `per-file-ignores` and `[severity]` keys act on every rule they match.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::diagnostic::Severity;
use crate::registry::{self, Rule, RuleMeta, RuleSet};
use crate::settings::Settings;

/// The file name searched for in every directory.
pub const CONFIG_FILE: &str = "conc-advisor.toml";
/// The Python project file whose `[tool.conc-advisor]` table is a configuration.
pub const PYPROJECT_FILE: &str = "pyproject.toml";

/// The keys of a configuration file, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// Rules to run (selectors).
    pub select: Option<Vec<String>>,
    /// Rules added to `select`.
    pub extend_select: Option<Vec<String>>,
    /// Rules removed from the selection.
    pub ignore: Option<Vec<String>>,
    /// Severity overrides: selector → `info` | `warning` | `error`.
    pub severity: Option<BTreeMap<String, String>>,
    /// Globs of paths not to check.
    pub exclude: Option<Vec<String>>,
    /// Glob → selectors turned off for matching files.
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    /// `report` | `info` | `ignore`: what happens to findings in test code.
    pub test_code: Option<String>,
    /// `[rust]` thresholds.
    pub rust: Option<RawRust>,
    /// `[python]` switches and thresholds.
    pub python: Option<RawPython>,
}

/// `[rust]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRust {
    /// See [`RustSettings::max_pool_threads`](crate::settings::RustSettings::max_pool_threads).
    pub max_pool_threads: Option<u64>,
    /// See [`RustSettings::heavy_range`](crate::settings::RustSettings::heavy_range).
    pub heavy_range: Option<u64>,
    /// See [`RustSettings::heavy_loop_depth`](crate::settings::RustSettings::heavy_loop_depth).
    pub heavy_loop_depth: Option<u32>,
    /// See [`RustSettings::assumed_cores`](crate::settings::RustSettings::assumed_cores).
    pub assumed_cores: Option<u64>,
    /// See [`RustSettings::oversubscription_factor`](crate::settings::RustSettings::oversubscription_factor).
    pub oversubscription_factor: Option<u64>,
    /// See [`RustSettings::cpu_heavy_calls`](crate::settings::RustSettings::cpu_heavy_calls).
    pub cpu_heavy_calls: Option<Vec<String>>,
    /// See [`RustSettings::blocking_calls`](crate::settings::RustSettings::blocking_calls).
    pub blocking_calls: Option<Vec<String>>,
}

/// `[python]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPython {
    /// See [`PythonSettings::free_threaded`](crate::settings::PythonSettings::free_threaded).
    pub free_threaded: Option<bool>,
    /// See [`PythonSettings::max_workers`](crate::settings::PythonSettings::max_workers).
    pub max_workers: Option<u64>,
    /// See [`PythonSettings::heavy_range`](crate::settings::PythonSettings::heavy_range).
    pub heavy_range: Option<u64>,
    /// See [`PythonSettings::cpu_heavy_calls`](crate::settings::PythonSettings::cpu_heavy_calls).
    pub cpu_heavy_calls: Option<Vec<String>>,
    /// See [`PythonSettings::blocking_calls`](crate::settings::PythonSettings::blocking_calls).
    pub blocking_calls: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTool>,
}

#[derive(Deserialize)]
struct PyprojectTool {
    #[serde(rename = "conc-advisor")]
    conc_advisor: Option<RawConfig>,
}

/// A configuration that cannot be used; the message names the file (or the command line) and the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read configuration: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}: cannot read configuration: not a regular file ({file_type})", path.display())]
    NotRegularFile { path: PathBuf, file_type: String },
    #[error("{}: invalid configuration: not valid UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}: invalid configuration: {}", path.display(), source.to_string().trim_end())]
    Invalid { path: PathBuf, source: toml::de::Error },
    #[error("{}: no [tool.conc-advisor] table; nothing to configure", path.display())]
    NoTable { path: PathBuf },
    #[error("{origin}: invalid glob `{pattern}`: {source}")]
    Glob { origin: String, pattern: String, source: globset::Error },
    #[error("{origin}: {source}")]
    GlobSet { origin: String, source: globset::Error },
    #[error(
        "{origin}: `{key}` names unknown rule selector `{selector}` (expected a code such as `CA101`, a rule name, \
         a code prefix such as `CA1`, or `ALL`; `conc-advisor rules` lists them)"
    )]
    UnknownSelector { origin: String, key: String, selector: String },
    #[error("{origin}: `severity.{key}` must be \"info\", \"warning\" or \"error\", not \"{value}\"")]
    Severity { origin: String, key: String, value: String },
    /// `test-code` is not one of its three words.
    #[error("{origin}: `test-code` must be \"report\", \"info\" or \"ignore\", not \"{value}\"")]
    TestCode { origin: String, value: String },
}

/// Reads a configuration file: `conc-advisor.toml` (any name but `pyproject.toml`) or a `pyproject.toml`.
/// Returns `Ok(None)` for a `pyproject.toml` without a `[tool.conc-advisor]` table.
/// Anything but a regular file (a directory, a FIFO, a device) is an error naming it, found without opening it
/// (so a FIFO never blocks the run).
pub fn read_config_file(path: &Path) -> Result<Option<RawConfig>, ConfigError> {
    let cannot =
        |e: std::io::Error| ConfigError::Read { path: path.to_path_buf(), message: crate::walk::io_message(&e) };
    let meta = std::fs::metadata(path).map_err(cannot)?;
    if !meta.is_file() {
        return Err(ConfigError::NotRegularFile {
            path: path.to_path_buf(),
            file_type: crate::walk::file_type(&meta).to_string(),
        });
    }
    let bytes = std::fs::read(path).map_err(cannot)?;
    // A pyproject.toml that never mentions us is not ours to judge, whether its TOML or its UTF-8 is broken.
    if is_pyproject(path) && !bytes.windows(12).any(|w| w == b"conc-advisor") {
        return Ok(None);
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 { path: path.to_path_buf() })?;
    parse_config_text(path, &text)
}

fn is_pyproject(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n == PYPROJECT_FILE)
}

/// Parses the text of a configuration file named `path` (see [`read_config_file`]).
pub fn parse_config_text(path: &Path, text: &str) -> Result<Option<RawConfig>, ConfigError> {
    let bad = |source: toml::de::Error| ConfigError::Invalid { path: path.to_path_buf(), source };
    if is_pyproject(path) {
        // A pyproject.toml that never mentions us is not ours to judge, even if it is broken.
        if !text.contains("conc-advisor") {
            return Ok(None);
        }
        let p: Pyproject = toml::from_str(text).map_err(bad)?;
        Ok(p.tool.and_then(|t| t.conc_advisor))
    } else {
        toml::from_str(text).map(Some).map_err(bad)
    }
}

/// Rule selection given on the command line, applied on top of every configuration.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--select`: replaces the config's selection when given.
    pub select: Option<Vec<String>>,
    /// `--extend-select`.
    pub extend_select: Vec<String>,
    /// `--ignore`.
    pub ignore: Vec<String>,
    /// `--test-code`: replaces the configuration's `test-code` when given.
    pub test_code: Option<crate::settings::TestCode>,
}

/// One configuration, resolved: the settings its files run with, and the globs that exclude or relax files.
#[derive(Debug)]
pub struct Resolved {
    /// The file it came from (`None`: built-in defaults).
    pub source: Option<PathBuf>,
    /// The directory globs are relative to.
    pub base: PathBuf,
    /// Settings of every file it governs (before per-file ignores).
    pub settings: Arc<Settings>,
    exclude: PathGlobs,
    per_file_ignores: Vec<(PathGlobs, Vec<&'static RuleMeta>)>,
    /// The configuration file is invalid: the files it governs are not checked (the error says why).
    broken: bool,
}

/// Globs matched against a path relative to a base directory, and (for patterns without `/`) against names.
#[derive(Debug, Default)]
struct PathGlobs {
    full: Option<GlobSet>,
    names: Option<GlobSet>,
}

impl PathGlobs {
    fn new(patterns: &[String], origin: &str) -> Result<Self, ConfigError> {
        let mut full = GlobSetBuilder::new();
        let mut names = GlobSetBuilder::new();
        let (mut any_full, mut any_name) = (false, false);
        for p in patterns {
            let pat = p.trim_start_matches("./").trim_end_matches('/');
            let glob = build_glob(pat).map_err(|source| ConfigError::Glob {
                origin: origin.to_string(),
                pattern: p.clone(),
                source,
            })?;
            if pat.contains('/') {
                full.add(glob);
                any_full = true;
            } else {
                names.add(glob.clone());
                full.add(glob);
                any_name = true;
                any_full = true;
            }
        }
        let build = |b: GlobSetBuilder, any: bool| -> Result<Option<GlobSet>, ConfigError> {
            if any {
                b.build().map(Some).map_err(|source| ConfigError::GlobSet { origin: origin.to_string(), source })
            } else {
                Ok(None)
            }
        };
        Ok(PathGlobs { full: build(full, any_full)?, names: build(names, any_name)? })
    }

    fn is_empty(&self) -> bool {
        self.full.is_none() && self.names.is_none()
    }

    fn matches(&self, base: &Path, path: &Path) -> bool {
        if self.is_empty() {
            return false;
        }
        let rel = relative_to(base, path);
        if let Some(full) = &self.full
            && full.is_match(&rel)
        {
            return true;
        }
        if let Some(names) = &self.names
            && let Some(name) = path.file_name()
            && names.is_match(name)
        {
            return true;
        }
        false
    }
}

fn build_glob(pat: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pat).literal_separator(true).build()
}

/// `path` relative to `base` when it lies below it, else `path` itself.
fn relative_to(base: &Path, path: &Path) -> PathBuf {
    let abs = absolute(path);
    abs.strip_prefix(base).map(Path::to_path_buf).unwrap_or(abs)
}

/// `path` (absolute) as messages show it: relative to the working directory when below it.
fn shown(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) => path.strip_prefix(&cwd).map_or_else(|_| path.to_path_buf(), Path::to_path_buf),
        Err(_) => path.to_path_buf(),
    }
}

/// The absolute, lexically normalised form of a path (`.` dropped, `..` pops a component), without resolving
/// symlinks. The working directory is read once per process.
pub fn absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let joined;
    let path = if path.is_absolute() {
        path
    } else {
        match CWD.get_or_init(|| std::env::current_dir().ok()) {
            Some(cwd) => {
                joined = cwd.join(path);
                &joined
            }
            None => path,
        }
    };
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn select_all(selectors: &[String], origin: &str, key: &str) -> Result<Vec<&'static RuleMeta>, ConfigError> {
    let mut out = Vec::new();
    for s in selectors {
        let rules = registry::select(s);
        if rules.is_empty() {
            return Err(ConfigError::UnknownSelector {
                origin: origin.to_string(),
                key: key.to_string(),
                selector: s.clone(),
            });
        }
        out.extend(rules);
    }
    Ok(out)
}

/// The rules `selectors` turn on: like [`select_all`] (same errors), but a rule off by default only when a
/// selector names it exactly ([`registry::select_to_enable`]).
fn enable_all(selectors: &[String], origin: &str, key: &str) -> Result<Vec<Rule>, ConfigError> {
    select_all(selectors, origin, key)?;
    Ok(selectors.iter().flat_map(|s| registry::select_to_enable(s)).map(Rule::of).collect())
}

impl Resolved {
    /// Resolves a configuration (or the defaults, for `None`) with the command-line overrides.
    /// `source` names the file in messages; `base` is the directory its globs are relative to.
    pub fn new(
        raw: Option<&RawConfig>,
        source: Option<&Path>,
        base: &Path,
        overrides: &Overrides,
    ) -> Result<Resolved, ConfigError> {
        let default = RawConfig::default();
        let raw = raw.unwrap_or(&default);
        let origin = source.map_or_else(|| "command line".to_string(), |p| p.display().to_string());
        let mut enabled = RuleSet::EMPTY;
        let mut ignored: Vec<&'static RuleMeta> = Vec::new();
        match &overrides.select {
            Some(sel) => enabled.extend(enable_all(sel, "command line", "--select")?),
            None => {
                match &raw.select {
                    Some(sel) => enabled.extend(enable_all(sel, &origin, "select")?),
                    None => enabled = RuleSet::defaults(),
                }
                if let Some(ext) = &raw.extend_select {
                    enabled.extend(enable_all(ext, &origin, "extend-select")?);
                }
                if let Some(ign) = &raw.ignore {
                    ignored.extend(select_all(ign, &origin, "ignore")?);
                }
            }
        }
        enabled.extend(enable_all(&overrides.extend_select, "command line", "--extend-select")?);
        ignored.extend(select_all(&overrides.ignore, "command line", "--ignore")?);
        // syntax-error is always reported unless explicitly ignored.
        enabled.insert(Rule::of(&registry::builtin::SYNTAX_ERROR));
        for r in &ignored {
            enabled.remove(Rule::of(r));
        }

        let mut settings = Settings { enabled, ..Settings::default() };
        for (key, value) in raw.severity.iter().flatten() {
            let sev = Severity::parse(value).ok_or_else(|| ConfigError::Severity {
                origin: origin.to_string(),
                key: key.clone(),
                value: value.clone(),
            })?;
            for r in select_all(std::slice::from_ref(key), &origin, "severity")? {
                settings.severity.insert(r.code, sev);
            }
        }
        if let Some(word) = &raw.test_code {
            settings.test_code = crate::settings::TestCode::parse(word)
                .ok_or_else(|| ConfigError::TestCode { origin: origin.clone(), value: word.clone() })?;
        }
        if let Some(t) = overrides.test_code {
            settings.test_code = t;
        }
        if let Some(r) = &raw.rust {
            let s = &mut settings.rust;
            s.max_pool_threads = r.max_pool_threads.unwrap_or(s.max_pool_threads);
            s.heavy_range = r.heavy_range.unwrap_or(s.heavy_range);
            s.heavy_loop_depth = r.heavy_loop_depth.unwrap_or(s.heavy_loop_depth);
            s.assumed_cores = r.assumed_cores.unwrap_or(s.assumed_cores);
            s.oversubscription_factor = r.oversubscription_factor.unwrap_or(s.oversubscription_factor);
            if let Some(v) = &r.cpu_heavy_calls {
                s.cpu_heavy_calls.clone_from(v);
            }
            if let Some(v) = &r.blocking_calls {
                s.blocking_calls.clone_from(v);
            }
        }
        if let Some(p) = &raw.python {
            let s = &mut settings.python;
            s.free_threaded = p.free_threaded.unwrap_or(s.free_threaded);
            s.max_workers = p.max_workers.unwrap_or(s.max_workers);
            s.heavy_range = p.heavy_range.unwrap_or(s.heavy_range);
            if let Some(v) = &p.cpu_heavy_calls {
                s.cpu_heavy_calls.clone_from(v);
            }
            if let Some(v) = &p.blocking_calls {
                s.blocking_calls.clone_from(v);
            }
        }

        let exclude = PathGlobs::new(raw.exclude.as_deref().unwrap_or(&[]), &format!("{origin}: `exclude`"))?;
        let mut per_file_ignores = Vec::new();
        for (pat, sels) in raw.per_file_ignores.iter().flatten() {
            let globs = PathGlobs::new(std::slice::from_ref(pat), &format!("{origin}: `per-file-ignores`"))?;
            per_file_ignores.push((globs, select_all(sels, &origin, &format!("per-file-ignores.\"{pat}\""))?));
        }
        Ok(Resolved {
            source: source.map(Path::to_path_buf),
            base: absolute(base),
            settings: Arc::new(settings),
            exclude,
            per_file_ignores,
            broken: false,
        })
    }

    /// Resolved settings that apply `settings` to every file, with no globs (the library's plain entry point).
    pub fn fixed(settings: Settings) -> Resolved {
        Resolved {
            source: None,
            base: PathBuf::new(),
            settings: Arc::new(settings),
            exclude: PathGlobs::default(),
            per_file_ignores: Vec::new(),
            broken: false,
        }
    }

    /// The stand-in for an invalid configuration (`source`, or the command line for `None`): the files it
    /// governs are not checked; the other files of the run are.
    pub fn broken(source: Option<&Path>, base: &Path) -> Resolved {
        Resolved {
            source: source.map(Path::to_path_buf),
            base: absolute(base),
            broken: true,
            ..Resolved::fixed(Settings::default())
        }
    }

    /// Whether the configuration is invalid (see [`Resolved::broken`]).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Whether `exclude` matches `path` (a file or directory found by the walk).
    pub fn is_excluded(&self, path: &Path) -> bool {
        self.exclude.matches(&self.base, path)
    }

    /// The settings of one file: this configuration's, minus its matching `per-file-ignores`.
    pub fn settings_for(&self, path: &Path) -> Arc<Settings> {
        let mut off = self.per_file_ignores.iter().filter(|(g, _)| g.matches(&self.base, path)).peekable();
        if off.peek().is_none() {
            return Arc::clone(&self.settings);
        }
        let mut s = (*self.settings).clone();
        for (_, rules) in off {
            for r in rules {
                s.enabled.remove(Rule::of(r));
            }
        }
        Arc::new(s)
    }
}

/// Finds the configuration of every file of a run: one fixed configuration (`--config`, or the library's
/// plain [`Settings`]) or the nearest one discovered upwards from each file, cached by directory. Thread-safe:
/// the walk and the analysis ask it from many threads.
#[derive(Debug)]
pub struct ConfigResolver {
    fixed: Option<Arc<Resolved>>,
    overrides: Overrides,
    defaults: Mutex<Option<Arc<Resolved>>>,
    /// Directory (absolute) → its configuration.
    cache: Mutex<HashMap<PathBuf, Arc<Resolved>>>,
    errors: Mutex<Vec<ConfigError>>,
}

impl ConfigResolver {
    /// Every file runs with `resolved`.
    pub fn fixed(resolved: Resolved) -> Self {
        ConfigResolver {
            fixed: Some(Arc::new(resolved)),
            overrides: Overrides::default(),
            defaults: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Every file runs with the configuration in `path` (`--config`); an error names the file and the key.
    pub fn from_file(path: &Path, overrides: &Overrides) -> Result<Self, ConfigError> {
        let raw = read_config_file(path)?.ok_or_else(|| ConfigError::NoTable { path: path.to_path_buf() })?;
        let abs = absolute(path);
        let base = abs.parent().unwrap_or(Path::new("/"));
        Ok(Self::fixed(Resolved::new(Some(&raw), Some(path), base, overrides)?))
    }

    /// Each file runs with the nearest configuration found upwards from its directory.
    pub fn discover(overrides: Overrides) -> Self {
        ConfigResolver {
            fixed: None,
            overrides,
            defaults: Mutex::new(None),
            cache: Mutex::new(HashMap::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// Configuration errors met so far (each names a file). The files an invalid configuration governs are not
    /// checked; the others are.
    pub fn errors(&self) -> Vec<ConfigError> {
        let mut e = self.errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
        e.sort_by_cached_key(ToString::to_string);
        e.dedup_by(|a, b| a.to_string() == b.to_string());
        e
    }

    /// The configuration of the file or directory `path` (that of its parent directory; a directory's own
    /// configuration governs what is below it, not the directory itself).
    pub fn for_path(&self, path: &Path) -> Arc<Resolved> {
        if let Some(f) = &self.fixed {
            return Arc::clone(f);
        }
        let abs = absolute(path);
        match abs.parent() {
            Some(dir) => self.for_dir(dir),
            None => self.defaults(),
        }
    }

    /// The configuration of the files directly in `dir`.
    pub fn for_dir(&self, dir: &Path) -> Arc<Resolved> {
        if let Some(f) = &self.fixed {
            return Arc::clone(f);
        }
        let dir = absolute(dir);
        if let Some(r) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&dir) {
            return Arc::clone(r);
        }
        let resolved = match self.load_in(&dir) {
            Some(r) => r,
            None => match dir.parent() {
                Some(parent) => self.for_dir(parent),
                None => self.defaults(),
            },
        };
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(dir, Arc::clone(&resolved));
        resolved
    }

    /// The configuration file in `dir` itself, if any. A broken one (or one that is not a regular file) is
    /// recorded and stands for a [`Resolved::broken`]: the files below it are not checked.
    fn load_in(&self, dir: &Path) -> Option<Arc<Resolved>> {
        for name in [CONFIG_FILE, PYPROJECT_FILE] {
            let path = shown(&dir.join(name));
            if std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            let resolved = read_config_file(&path).and_then(|raw| {
                raw.map(|raw| Resolved::new(Some(&raw), Some(&path), dir, &self.overrides)).transpose()
            });
            match resolved {
                Ok(Some(r)) => return Some(Arc::new(r)),
                Ok(None) => continue,
                Err(e) => {
                    self.errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                    return Some(Arc::new(Resolved::broken(Some(&path), dir)));
                }
            }
        }
        None
    }

    fn defaults(&self) -> Arc<Resolved> {
        let mut d = self.defaults.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = &*d {
            return Arc::clone(r);
        }
        let r = match Resolved::new(None, None, Path::new("/"), &self.overrides) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                self.errors.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                Arc::new(Resolved::broken(None, Path::new("/")))
            }
        };
        *d = Some(Arc::clone(&r));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<RawConfig>, ConfigError> {
        parse_config_text(Path::new("conc-advisor.toml"), text)
    }

    #[test]
    fn unknown_key_names_the_key_and_file() {
        let e = parse("selct = [\"CA1\"]\n").unwrap_err().to_string();
        assert!(e.contains("conc-advisor.toml") && e.contains("selct"), "{e}");
        let e = parse("[rust]\nmax-threads = 3\n").unwrap_err().to_string();
        assert!(e.contains("max-threads"), "{e}");
    }

    #[test]
    fn pyproject_without_table_is_not_a_config() {
        let p = Path::new("pyproject.toml");
        assert!(parse_config_text(p, "[project]\nname = \"x\"\n").unwrap().is_none());
        assert!(parse_config_text(p, "this is not toml [").unwrap().is_none());
        let c = parse_config_text(p, "[tool.conc-advisor]\nignore = [\"CA1\"]\n").unwrap().unwrap();
        assert_eq!(c.ignore, Some(vec!["CA1".to_string()]));
        let e = parse_config_text(p, "[tool.conc-advisor]\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn selection_severity_and_thresholds() {
        let raw = parse(
            "ignore = [\"syntax-error\"]\n[severity]\nCA002 = \"error\"\n[rust]\nheavy-range = 5\n\
             assumed-cores = 8\noversubscription-factor = 2\nblocking-calls = [\".wait_blocking\"]\n\
             [python]\nfree-threaded = true\nblocking-calls = [\"mylib.\"]\ncpu-heavy-calls = [\"mylib.render\"]\n",
        )
        .unwrap()
        .unwrap();
        let r = Resolved::new(Some(&raw), None, Path::new("/p"), &Overrides::default()).unwrap();
        assert!(!r.settings.enabled.contains(Rule::from_code("CA001").unwrap()));
        assert!(r.settings.enabled.contains(Rule::from_code("CA002").unwrap()));
        assert_eq!(r.settings.severity_of(&registry::builtin::UNKNOWN_SUPPRESSION), Severity::Error);
        assert_eq!(r.settings.rust.heavy_range, 5);
        assert_eq!(r.settings.rust.max_heavy_threads(), 16);
        assert!(r.settings.python.free_threaded);
        assert_eq!(r.settings.python.blocking_calls, ["mylib."]);
        assert_eq!(r.settings.python.cpu_heavy_calls, ["mylib.render"]);
        assert_eq!(r.settings.rust.blocking_calls, [".wait_blocking"]);

        let cli = Overrides { select: Some(vec!["CA002".into()]), ..Overrides::default() };
        let r = Resolved::new(Some(&raw), None, Path::new("/p"), &cli).unwrap();
        // --select replaces the config's ignore; syntax-error stays on.
        assert!(
            r.settings.enabled.contains(Rule::from_code("CA001").unwrap())
                && r.settings.enabled.contains(Rule::from_code("CA002").unwrap())
        );

        let bad = parse("[severity]\nCA002 = \"loud\"\n").unwrap().unwrap();
        let e = Resolved::new(Some(&bad), Some(Path::new("c.toml")), Path::new("/p"), &cli).unwrap_err().to_string();
        assert!(e.contains("severity.CA002") && e.contains("c.toml"), "{e}");
        let bad = parse("select = [\"CA9\"]\n").unwrap().unwrap();
        let e = Resolved::new(Some(&bad), Some(Path::new("c.toml")), Path::new("/p"), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`CA9`"), "{e}");
    }

    /// A rule off by default (CA412 today) runs only when a selector that turns rules on names it exactly.
    #[test]
    fn rules_off_by_default_need_their_code_or_name() {
        let off = *registry::all().iter().find(|r| !r.default_enabled).expect("a rule off by default");
        let on = |raw: Option<&str>, cli: Overrides| {
            let raw = raw.map(|t| parse(t).unwrap().unwrap());
            let r = Resolved::new(raw.as_ref(), None, Path::new("/p"), &cli).unwrap();
            r.settings.enabled.contains(Rule::of(off))
        };
        let prefix = &off.code[..3];
        // Not by default, nor through `ALL` or a code prefix, in the config or on the command line.
        assert!(!on(None, Overrides::default()));
        assert!(!on(Some("select = [\"ALL\"]\n"), Overrides::default()));
        assert!(!on(Some(&format!("extend-select = [\"ALL\", \"{prefix}\"]\n")), Overrides::default()));
        assert!(!on(None, Overrides { select: Some(vec!["ALL".into(), prefix.into()]), ..Overrides::default() }));
        assert!(!on(None, Overrides { extend_select: vec!["all".into()], ..Overrides::default() }));
        // By its code or name, wherever rules are turned on.
        assert!(on(Some(&format!("select = [\"{}\"]\n", off.code)), Overrides::default()));
        assert!(on(Some(&format!("extend-select = [\"{}\"]\n", off.name)), Overrides::default()));
        assert!(on(None, Overrides { select: Some(vec![off.code.to_lowercase()]), ..Overrides::default() }));
        assert!(on(None, Overrides { extend_select: vec![off.name.into()], ..Overrides::default() }));
        // `ignore` acts on every rule it matches: `ALL` and the prefix remove it again.
        let ext = Overrides { extend_select: vec![off.code.into()], ..Overrides::default() };
        assert!(!on(Some("ignore = [\"ALL\"]\n"), ext.clone()));
        assert!(!on(None, Overrides { ignore: vec![prefix.into()], ..ext.clone() }));
        // `ALL` still turns on every rule on by default, and the prefix the others of its family.
        let r = Resolved::new(None, None, Path::new("/p"), &Overrides::default()).unwrap();
        assert_eq!(r.settings.enabled, RuleSet::defaults());
        assert!(r.settings.enabled.len() < RuleSet::all().len());
        let cli = Overrides { select: Some(vec![prefix.into()]), ..Overrides::default() };
        let r = Resolved::new(None, None, Path::new("/p"), &cli).unwrap();
        assert!(registry::select(prefix).iter().all(|m| r.settings.enabled.contains(Rule::of(m)) == m.default_enabled));
        // A selector naming only rules off by default through a prefix is still a known selector (no error).
        let raw = parse(&format!("select = [\"{}\"]\n", off.code)).unwrap().unwrap();
        assert!(Resolved::new(Some(&raw), Some(Path::new("c.toml")), Path::new("/p"), &Overrides::default()).is_ok());
    }

    #[test]
    fn absolute_is_lexical() {
        assert_eq!(absolute(Path::new("/a/b/../c/./d.rs")), Path::new("/a/c/d.rs"));
        assert!(absolute(Path::new("x/../y.rs")).ends_with("y.rs"));
        assert!(absolute(Path::new("x/../y.rs")).is_absolute());
    }

    #[test]
    fn globs() {
        let raw = parse("exclude = [\"gen\", \"vendor/**\"]\n[per-file-ignores]\n\"tests/**\" = [\"CA0\"]\n")
            .unwrap()
            .unwrap();
        let r = Resolved::new(Some(&raw), None, Path::new("/p"), &Overrides::default()).unwrap();
        assert!(r.is_excluded(Path::new("/p/vendor/a/b.rs")));
        assert!(r.is_excluded(Path::new("/p/src/gen")));
        assert!(!r.is_excluded(Path::new("/p/src/generated.rs")));
        assert!(!r.is_excluded(Path::new("/p/src/a.rs")));
        assert!(!r.settings_for(Path::new("/p/tests/x/t.rs")).enabled.contains(Rule::from_code("CA002").unwrap()));
        assert!(r.settings_for(Path::new("/p/src/t.rs")).enabled.contains(Rule::from_code("CA002").unwrap()));
    }
}
