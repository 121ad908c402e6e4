//! One `check` run: walk the roots, find each file's configuration, read and analyse every file in parallel
//! (rayon, `--jobs`), apply suppressions, and return the findings in a deterministic order (path, line, column,
//! then rule and message) together with what could not be read.
//!
//! After the per-file phase come two link phases over the facts the files returned (no file is parsed again):
//! Rust call-graph facts are linked per crate by the rules' link steps ([`link_all`](crate::rust::link::link_all)), Python facts
//! across all Python files of the run ([`python::link`](crate::python::link)). Their findings
//! go through the settings and suppressions of the file they are in, like every other finding.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::cache::{Cache, Stamp};
use crate::config::{ConfigResolver, Resolved};
use crate::diagnostic::Diagnostic;
use crate::language::{FileFacts, RunState};
use crate::settings::Settings;
use crate::walk::{self, SourceFile, SourceKind};

/// What to check and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Files or directories to check.
    pub roots: Vec<PathBuf>,
    /// Worker threads (0: one per core).
    pub jobs: usize,
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Findings sorted by path, line, column.
    pub diagnostics: Vec<Diagnostic>,
    /// The text of every file that has a finding, for snippets. Files without findings are not kept.
    pub sources: HashMap<PathBuf, Arc<str>>,
    /// Files read and analysed.
    pub files_checked: usize,
    /// Problems that are not findings: unreadable or non-UTF-8 files, missing paths. Each makes the exit
    /// code 2.
    pub errors: Vec<String>,
    /// Problems that do not change the exit code: symlink loops.
    pub warnings: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// With `--profile`: measurements no finding explains, stale report entries (see [`crate::runtime`]).
    pub runtime: Option<crate::runtime::RuntimeSummary>,
}

/// The texts a run keeps (files with findings, and files the link phase may report in) and the items of the
/// files with findings that are known already (from the cache, or collected when the file was analysed for
/// it), so that placing those findings parses nothing.
#[derive(Default)]
struct Kept {
    texts: HashMap<PathBuf, Arc<str>>,
    items: HashMap<PathBuf, crate::enclosing::Items>,
}

impl CheckReport {
    /// How many distinct files have at least one finding.
    pub fn files_with_findings(&self) -> usize {
        let mut n = 0;
        let mut last: Option<&Path> = None;
        for d in &self.diagnostics {
            if last != Some(d.path.as_path()) {
                n += 1;
                last = Some(&d.path);
            }
        }
        n
    }
}

/// The UTF-8 byte order mark, dropped from the start of every text before analysis.
const BOM: char = '\u{feff}';

/// The result of analysing one file's text.
pub type FileResult = Vec<Diagnostic>;

/// Analyses one file's text with the analysis its kind calls for, then applies what every language shares:
/// disabled rules are dropped, severity overrides applied, and suppression comments honoured (see
/// [`suppress`](crate::suppress)). Pure: no I/O, no global state.
pub fn analyze_source(path: &Path, kind: SourceKind, source: &str, settings: &Settings) -> FileResult {
    let source = source.strip_prefix(BOM).unwrap_or(source);
    let diags = kind.analyze(path, source, settings);
    finish(path, kind, source, diags, settings)
}

/// What every language shares after analysis: disabled rules dropped, explicit severity overrides applied (a
/// rule may lower its own finding — CA501 is advice on a free-threaded build — and that must survive), and
/// suppression comments honoured.
fn finish(path: &Path, kind: SourceKind, source: &str, mut diags: FileResult, settings: &Settings) -> FileResult {
    apply_settings(&mut diags, settings);
    crate::suppress::apply(path, kind, source, diags, settings)
}

fn apply_settings(diags: &mut FileResult, settings: &Settings) {
    diags.retain(|d| settings.is_enabled(d.rule));
    for d in diags {
        if let Some(&severity) = settings.severity.get(d.rule.code) {
            d.severity = severity;
        }
    }
}

/// The most worker threads a run starts: 4 per core (more only adds threads that wait; 100,000 of them
/// exhausted memory). `--jobs` above it is lowered to it.
pub fn max_jobs() -> usize {
    4 * std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Runs a check with one set of settings for every file (no configuration files are read).
pub fn check(opts: &CheckOptions, settings: &Settings) -> CheckReport {
    let resolver = ConfigResolver::fixed(Resolved::fixed(settings.clone()));
    check_with(opts, &resolver)
}

/// Runs a check where each file's settings come from `resolver` (its configuration file and the command line).
/// An invalid configuration is an error of the report (each names its file); the files it governs are not
/// checked, every other file is.
///
/// The steps, each a private function of this module: walk the roots (`walk_roots`) → analyse every file in
/// parallel (`analyse_files`: lex, parse, per-file rules and facts, settings and suppressions) → gather the
/// results (`gather`) → link the facts (`link_phase`: Rust per crate, Python per project) → filter the linked
/// findings by their file's settings and suppressions (`filter_linked`) → attach texts and sort
/// (`finish_report`).
pub fn check_with(opts: &CheckOptions, resolver: &ConfigResolver) -> CheckReport {
    check_cached(opts, resolver, None)
}

/// [`check_with`], reading and writing each file's per-file results and facts in `cache` when given
/// ([`crate::cache`]): a file whose entry is found is not analysed again; the link phases run again unless the
/// facts of every file of the language are those of the last run. The cache is written back at the end (a
/// failure to write it only costs time next run).
pub fn check_cached(opts: &CheckOptions, resolver: &ConfigResolver, cache: Option<&Cache>) -> CheckReport {
    let start = Instant::now();
    let run = || {
        let walked = walk_roots(opts, resolver);
        let mut report = CheckReport { errors: walked.errors, warnings: walked.warnings, ..CheckReport::default() };
        let kept = analyse_and_link(walked.files, resolver, cache, None, &mut report);
        finish_report(report, &kept, resolver)
    };
    let mut report = in_pool(opts.jobs, run);
    if let Some(c) = cache {
        let _ = c.persist();
    }
    report.elapsed = start.elapsed();
    report
}

/// Runs `f` on a rayon pool of `jobs` threads (at most [`max_jobs`]), or on the global one when a pool cannot
/// be built.
fn in_pool<R: Send>(jobs: usize, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().num_threads(jobs.min(max_jobs())).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// The per-file phase, the link phase and the filtering of linked findings, over `files` (with `buffer`'s
/// text for its path instead of the file's): findings and errors into `report`, and the texts kept for
/// snippets returned.
fn analyse_and_link(
    files: Vec<SourceFile>,
    resolver: &ConfigResolver,
    cache: Option<&Cache>,
    buffer: Option<&Buffer>,
    report: &mut CheckReport,
) -> Kept {
    let states = prepare(&files, &|p: &Path, test: &dyn Fn(&[u8]) -> bool| probe(p, test, cache, buffer));
    let mut analysed = analyse_files(files, resolver, &states, cache, buffer);
    // A buffer's run covers its crate or project only: its link findings are not kept for a whole run's.
    let linked = link_phase(&mut analysed, resolver, &states, cache, buffer.is_none());
    let (mut kept, unread) = gather(analysed, report);
    filter_linked(linked, &mut kept.texts, &unread, resolver, report);
    kept
}

/// The language's run-wide test of one file's bytes (see [`crate::language::Probe`]): the buffer's text for
/// its path, else the cache's answer for an unchanged file, else the file read (and the answer recorded).
fn probe(path: &Path, test: &dyn Fn(&[u8]) -> bool, cache: Option<&Cache>, buffer: Option<&Buffer>) -> Option<bool> {
    if let Some(b) = buffer.filter(|b| b.path == path) {
        return Some(test(b.text.as_bytes()));
    }
    let Some(c) = cache else { return std::fs::read(path).ok().map(|b| test(&b)) };
    let stamp = Stamp::of(path)?;
    if let Some(r) = c.probe(path, stamp) {
        return Some(r);
    }
    let r = test(&std::fs::read(path).ok()?);
    c.record_probe(path, stamp, r);
    Some(r)
}

/// A buffer checked as if it were the file at `path` (`--stdin-filename`).
struct Buffer {
    path: PathBuf,
    text: Arc<str>,
}

/// Analyses one file's text (read already) with its settings: findings after settings and suppressions, and the
/// facts for the link phases. `states`: what each language prepared for the run, by position in
/// [`LANGUAGES`](crate::language::LANGUAGES).
fn analyse_one(
    file: &SourceFile,
    text: &str,
    settings: &Settings,
    states: &[RunState],
) -> (FileResult, Option<FileFacts>) {
    let (d, f) = file.kind.analyze_file(&file.path, text, settings, &states[file.kind.index()]);
    (finish(&file.path, file.kind, text, d, settings), f)
}

/// [`analyse_one`], a panic of the analysis becoming the file's finding (a bug met in one file; the run goes
/// on with the others). The flag says whether it panicked.
fn analyse_guarded(
    file: &SourceFile,
    text: &str,
    settings: &Settings,
    states: &[RunState],
) -> (FileResult, Option<FileFacts>, bool) {
    let analysed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(test)]
        tests::panic_if_asked(&file.path);
        analyse_one(file, text, settings, states)
    }));
    match analysed {
        Ok((diags, facts)) => (diags, facts, false),
        Err(payload) => (vec![panicked(&file.path, &*payload)], None, true),
    }
}

/// The `CA001` finding of a file whose analysis panicked (a bug of conc-advisor, not of the file).
fn panicked(path: &Path, payload: &(dyn std::any::Any + Send)) -> Diagnostic {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    let at = crate::diagnostic::Location::new(1, 1);
    Diagnostic::new(
        &crate::registry::builtin::SYNTAX_ERROR,
        path,
        crate::diagnostic::Span::new(at, at),
        format!("conc-advisor panicked while checking {}: {what}", path.display()),
    )
    .with_help("this is a bug in conc-advisor: please report it with the file; the other files were checked")
}

/// Loads the configuration of every root first (explicit files are never asked about exclusion), then walks
/// them, loading those of the directories below. Files under an invalid configuration are left out (its error
/// is listed by [`finish_report`]); every other file is kept.
fn walk_roots(opts: &CheckOptions, resolver: &ConfigResolver) -> walk::Walk {
    for root in &opts.roots {
        if root.is_dir() {
            resolver.for_dir(root);
        } else {
            resolver.for_path(root);
        }
    }
    let exclude = |p: &Path| resolver.for_path(p).is_excluded(p);
    let mut walked = walk::walk(&opts.roots, &exclude, opts.jobs.min(max_jobs()));
    walked.files.retain(|f| !resolver.for_path(&f.path).is_broken());
    walked
}

/// A file's facts for the link phase: fresh from its analysis, or as the cache stored them (decoded only when
/// the link step runs).
enum Facts {
    Live(FileFacts),
    Stored(crate::cache::Bytes),
}

/// What a worker hands back for one file.
struct Analysed {
    /// The text, kept only when the file has findings or call sites the link phase may report on.
    text: Option<Arc<str>>,
    /// The link phase may report in the file, but its text was not read (an unchanged cached file).
    unread: bool,
    /// Its findings, after its settings and suppressions.
    diags: FileResult,
    /// Its facts for the link phase.
    facts: Option<Facts>,
    /// With a cache: the identity of the analysis's inputs (what the link step's results are keyed by).
    ident: Option<u128>,
    /// With a cache: the file's items, when it has findings ([`crate::enclosing::Items`]).
    items: Option<crate::enclosing::Items>,
}

/// Reads and analyses every file in parallel (on the current rayon pool), in walk order.
fn analyse_files(
    files: Vec<SourceFile>,
    resolver: &ConfigResolver,
    states: &[RunState],
    cache: Option<&Cache>,
    buffer: Option<&Buffer>,
) -> Vec<(SourceFile, Result<Analysed, String>)> {
    files
        .into_par_iter()
        .map(|file| {
            let r = analyse_file(&file, resolver, states, cache, buffer);
            (file, r)
        })
        .collect()
}

/// One file's per-file phase: its findings through its settings and suppressions, and its facts for the link
/// phase, from the cache when it holds them. `states`: what each language prepared for the run ([`prepare`]).
fn analyse_file(
    file: &SourceFile,
    resolver: &ConfigResolver,
    states: &[RunState],
    cache: Option<&Cache>,
    buffer: Option<&Buffer>,
) -> Result<Analysed, String> {
    let settings = resolver.for_path(&file.path).settings_for(&file.path);
    let buffered = buffer.filter(|b| b.path == file.path).map(|b| Arc::clone(&b.text));
    let Some(c) = cache else {
        let text = match buffered {
            Some(t) => t,
            None => read_source(&file.path)?,
        };
        let (diags, facts, _) = analyse_guarded(file, &text, &settings, states);
        return Ok(keep_text(file, text, diags, facts, None));
    };
    // The cache (issue 15): the language says what else its per-file phase reads (its context) and how its
    // facts are stored.
    let context = file.kind.cache_context(&file.path, &states[file.kind.index()]);
    let meta = c.meta_key(&file.path, file.kind, &settings, &context);
    if let Some(text) = buffered {
        // The buffer is not the file on disk: analysed, never stored.
        let ident = Cache::ident(meta, Cache::content_key(&text));
        let (diags, facts, _) = analyse_guarded(file, &text, &settings, states);
        return Ok(keep_text(file, text, diags, facts, Some(ident)));
    }
    let stamp = Stamp::of(&file.path);
    if let Some(hit) = c.lookup_stamp(&file.path, meta, stamp) {
        // Unchanged since it was stored: read now for its findings' snippets; for the link step's, only when
        // one lands in it ([`filter_linked`]).
        let text = if hit.diags.is_empty() { None } else { Some(read_source(&file.path)?) };
        return Ok(Analysed {
            unread: hit.keep && text.is_none(),
            text,
            diags: hit.diags,
            facts: hit.facts.map(Facts::Stored),
            ident: Some(hit.ident),
            items: hit.items,
        });
    }
    let text = read_source(&file.path)?;
    let content = Cache::content_key(&text);
    if let Some(hit) = c.lookup_content(&file.path, meta, content) {
        let keep = hit.keep || !hit.diags.is_empty();
        return Ok(Analysed {
            text: keep.then_some(text),
            unread: false,
            diags: hit.diags,
            facts: hit.facts.map(Facts::Stored),
            ident: Some(hit.ident),
            items: hit.items,
        });
    }
    let (diags, facts, panicked) = analyse_guarded(file, &text, &settings, states);
    // The items that will place the findings, collected now so that they are stored with them.
    let items = (!diags.is_empty()).then(|| crate::enclosing::Items::of(file.kind, &text));
    if !panicked {
        let encoded = facts.as_ref().map(|f| file.kind.encode_facts(f));
        // Facts the language cannot store: the file is not cached.
        if !matches!(encoded, Some(None)) {
            let keep = !diags.is_empty() || facts.as_ref().is_some_and(|f| file.kind.may_report(f));
            c.store(&file.path, meta, stamp, content, keep, &diags, encoded.flatten(), items.as_ref());
        }
    }
    let mut analysed = keep_text(file, text, diags, facts, Some(Cache::ident(meta, content)));
    analysed.items = items;
    Ok(analysed)
}

/// A file's results with its text when it must be kept.
fn keep_text(
    file: &SourceFile,
    text: Arc<str>,
    diags: FileResult,
    facts: Option<FileFacts>,
    ident: Option<u128>,
) -> Analysed {
    // Keep the text only for snippets of findings and for call sites the link phases may report on: memory
    // stays bounded by the files in flight.
    let keep = !diags.is_empty() || facts.as_ref().is_some_and(|f| file.kind.may_report(f));
    Analysed { text: keep.then_some(text), unread: false, diags, facts: facts.map(Facts::Live), ident, items: None }
}

/// Moves the per-file findings and read errors into `report`; returns the texts kept for snippets and for the
/// link phase's findings, and the files the link phase may report in whose text was not read.
fn gather(results: Vec<(SourceFile, Result<Analysed, String>)>, report: &mut CheckReport) -> (Kept, HashSet<PathBuf>) {
    let (mut kept, mut unread) = (Kept::default(), HashSet::new());
    for (file, r) in results {
        match r {
            Ok(a) => {
                report.files_checked += 1;
                if let Some(items) = a.items {
                    kept.items.insert(file.path.clone(), items);
                }
                if let Some(text) = a.text {
                    kept.texts.insert(file.path, text);
                } else if a.unread {
                    unread.insert(file.path);
                }
                report.diagnostics.extend(a.diags);
            }
            Err(e) => report.errors.push(e),
        }
    }
    (kept, unread)
}

/// The link phase over the facts the files returned (no file is parsed again): each language's link step once
/// over its files' facts (Rust: per crate; Python: once over all Python files), taking them out of `results`.
/// With a cache, a language whose files' facts are all those its last link step saw gets that step's findings
/// back without decoding them (when `reuse`: not for a buffer's run); else stored facts are decoded (a file
/// whose stored facts cannot be is analysed again). Findings carry the default severity; the settings of their own file are applied by
/// [`filter_linked`].
fn link_phase(
    results: &mut [(SourceFile, Result<Analysed, String>)],
    resolver: &ConfigResolver,
    states: &[RunState],
    cache: Option<&Cache>,
    reuse: bool,
) -> Vec<(SourceKind, Diagnostic)> {
    let mut linked = Vec::new();
    for kind in SourceKind::all() {
        let mut mine: Vec<&mut (SourceFile, Result<Analysed, String>)> =
            results.iter_mut().filter(|(f, r)| f.kind == kind && r.as_ref().is_ok_and(|a| a.facts.is_some())).collect();
        // The identity of every input of the link step, when each file's is known.
        let inputs = cache.filter(|_| reuse).and_then(|_| {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for (_, r) in &mine {
                h.update(&r.as_ref().ok()?.ident?.to_le_bytes());
            }
            Some(h.digest128())
        });
        if let (Some(c), Some(inputs)) = (cache, inputs)
            && let Some(diags) = c.link(kind.name(), inputs)
        {
            linked.extend(diags.into_iter().map(|d| (kind, d)));
            continue;
        }
        mine.par_iter_mut().for_each(|(file, r)| {
            let Ok(a) = r else { return };
            let Some(Facts::Stored(bytes)) = &a.facts else { return };
            match file.kind.decode_facts(bytes) {
                Some(f) => a.facts = Some(Facts::Live(f)),
                None => {
                    // Stored facts this build cannot read: the file is analysed again.
                    let settings = resolver.for_path(&file.path).settings_for(&file.path);
                    *r = read_source(&file.path).map(|text| {
                        let (diags, facts, _) = analyse_guarded(file, &text, &settings, states);
                        keep_text(file, text, diags, facts, None)
                    });
                }
            }
        });
        let facts: Vec<FileFacts> = mine
            .iter_mut()
            .filter_map(|(_, r)| match r.as_mut().ok()?.facts.take()? {
                Facts::Live(f) => Some(f),
                Facts::Stored(_) => None,
            })
            .collect();
        let diags = kind.link(facts);
        if let (Some(c), Some(inputs)) = (cache, inputs) {
            c.store_link(kind.name(), inputs, &diags);
        }
        linked.extend(diags.into_iter().map(|d| (kind, d)));
    }
    linked
}

/// Linked findings go through the same settings and suppressions as the others, with those of their own file
/// (each file's suppression comments scanned once, however many findings it has). The text of a file in
/// `unread` is read the first time a finding lands in it; a finding in a file whose text was not kept is
/// dropped: no link step reports there.
fn filter_linked(
    linked: Vec<(SourceKind, Diagnostic)>,
    texts: &mut HashMap<PathBuf, Arc<str>>,
    unread: &HashSet<PathBuf>,
    resolver: &ConfigResolver,
    report: &mut CheckReport,
) {
    let mut per_file: HashMap<PathBuf, (Arc<Settings>, crate::suppress::Suppressions)> = HashMap::new();
    for (kind, d) in linked {
        if !texts.contains_key(&d.path) && unread.contains(&d.path) {
            match read_source(&d.path) {
                Ok(text) => {
                    texts.insert(d.path.clone(), text);
                }
                Err(e) => {
                    report.errors.push(e);
                    continue;
                }
            }
        }
        let Some(text) = texts.get(&d.path) else { continue };
        let (settings, suppressions) = per_file.entry(d.path.clone()).or_insert_with(|| {
            let settings = resolver.for_path(&d.path).settings_for(&d.path);
            (settings, crate::suppress::scan(&d.path, kind, text))
        });
        let mut one = vec![d];
        apply_settings(&mut one, settings);
        one.retain(|d| !suppressions.covers(d));
        report.diagnostics.extend(one);
    }
}

/// Attaches the texts of the files with findings (for snippets), lists the configuration errors and sorts the
/// findings (path, line, column, rule, message).
fn finish_report(mut report: CheckReport, kept: &Kept, resolver: &ConfigResolver) -> CheckReport {
    for d in &report.diagnostics {
        if let Some(text) = kept.texts.get(&d.path) {
            report.sources.entry(d.path.clone()).or_insert_with(|| text.clone());
        }
    }
    report.errors.extend(resolver.errors().iter().map(ToString::to_string));
    report.diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    // Enclosing items, test code (and each file's `test-code` setting), fingerprints.
    let test_code = |p: &Path| resolver.for_path(p).settings_for(p).test_code;
    crate::enclosing::annotate_with(&mut report.diagnostics, &report.sources, &kept.items, &test_code);
    report
}

/// Checks one buffer as if it were the file `path` (`check --stdin-filename PATH -`, for editors): that file's
/// configuration (found from `path` as for a file on disk), its suppressions and its `test-code` setting, and
/// the link steps over the facts of its crate (Rust: the files under [`crate_root`](crate::rust::callgraph::crate_root)
/// of `path`) or project (Python: the Python files under [`project_root`](crate::cache::project_root) of its
/// directory), the buffer's facts standing for the file's: a chain through a function defined in another file
/// is reported as in a run over the whole crate or project. The other files' facts come from `cache` where it
/// holds them; the others are read and analysed (and stored in it). Only the buffer's findings are reported;
/// the file on disk is never read, and the buffer is never stored in the cache. The language comes from
/// `path`'s extension.
pub fn check_buffer(
    path: &Path,
    text: &str,
    resolver: &ConfigResolver,
    cache: Option<&Cache>,
    jobs: usize,
) -> Result<CheckReport, Vec<String>> {
    let start = Instant::now();
    let Some(kind) = SourceKind::of(path) else {
        return Err(vec![format!(
            "{}: cannot tell the language of the buffer: --stdin-filename must end in {}",
            path.display(),
            crate::language::extension_list()
        )]);
    };
    resolver.for_path(path);
    let config_errors = resolver.errors();
    if !config_errors.is_empty() {
        return Err(config_errors.iter().map(ToString::to_string).collect());
    }
    let (root, internal) = buffer_scope(path, kind);
    let run = || {
        let mut files = Vec::new();
        if root.is_dir() {
            let walked = walk_roots(&CheckOptions { roots: vec![root.clone()], jobs }, resolver);
            files.extend(walked.files.into_iter().filter(|f| f.kind == kind && f.path != internal));
        }
        // Where the buffer's file falls in walk order does not matter: the link steps sort what they report.
        files.push(SourceFile { path: internal.clone(), kind });
        let buffer = Buffer { path: internal.clone(), text: Arc::from(text.strip_prefix(BOM).unwrap_or(text)) };
        // The other files' findings, errors and warnings are not the buffer's.
        let mut all = CheckReport::default();
        let kept = analyse_and_link(files, resolver, cache, Some(&buffer), &mut all);
        let mut report = CheckReport { files_checked: 1, ..CheckReport::default() };
        report.diagnostics = all.diagnostics.into_iter().filter(|d| d.path == internal).collect();
        let mut report = finish_report(report, &kept, resolver);
        report.errors.clear();
        report
    };
    let mut report = in_pool(jobs, run);
    if let Some(c) = cache {
        let _ = c.persist();
    }
    // The buffer's findings under the name it was given.
    if internal != path {
        for d in &mut report.diagnostics {
            d.path = path.to_path_buf();
        }
        if let Some(t) = report.sources.remove(&internal) {
            report.sources.insert(path.to_path_buf(), t);
        }
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// The directory whose files a buffer named `path` is checked with (its crate or project), and the buffer's
/// path as the walk of that directory names it (`./src/lib.rs` when the directory is the current one).
fn buffer_scope(path: &Path, kind: SourceKind) -> (PathBuf, PathBuf) {
    let root = if kind.name() == "rust" {
        // A test, example or bench is linked against its package's library: the package is walked.
        crate::rust::package::lib_of(path).map_or_else(|| crate::rust::callgraph::crate_root(path), |l| l.root.clone())
    } else {
        crate::cache::project_root(path.parent().unwrap_or(Path::new("")))
    };
    if root.as_os_str().is_empty() {
        (PathBuf::from("."), Path::new(".").join(path))
    } else {
        (root, path.to_path_buf())
    }
}

/// What each language needs to know of the whole run before the per-file phase
/// ([`Language::prepare`](crate::language::Language::prepare), by position in [`LANGUAGES`](crate::language::LANGUAGES)): Rust tests the
/// texts of its crates until one holds a call-graph root.
fn prepare(files: &[SourceFile], probe: &crate::language::Probe<'_>) -> Vec<RunState> {
    SourceKind::all()
        .map(|kind| {
            let paths: Vec<&Path> = files.iter().filter(|f| f.kind == kind).map(|f| f.path.as_path()).collect();
            kind.prepare(&paths, probe)
        })
        .collect()
}

/// Reads a file as UTF-8 (a Python file in the encoding it declares, PEP 263), with a message that says what
/// went wrong when it cannot.
pub fn read_source(path: &Path) -> Result<Arc<str>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("{}: cannot read: {}", path.display(), walk::io_message(&e)))?;
    match String::from_utf8(bytes) {
        // A byte order mark is not code (else `\u{feff}async` would be one identifier); lines and columns are
        // those an editor shows, which do not count it.
        Ok(s) if s.starts_with(BOM) => Ok(Arc::from(&s[BOM.len_utf8()..])),
        Ok(s) => Ok(Arc::from(s)),
        // A Python file may declare its encoding (PEP 263).
        // A language may let a file declare its encoding (Python: PEP 263).
        Err(e) => match SourceKind::of(path).map_or(Ok(None), |k| k.decode(e.as_bytes())) {
            Ok(Some(text)) => Ok(Arc::from(text)),
            Ok(None) => Err(not_utf8(path, &e)),
            Err(why) => Err(format!("{}: {why}; skipped", path.display())),
        },
    }
}

fn not_utf8(path: &Path, e: &std::string::FromUtf8Error) -> String {
    let at = e.utf8_error().valid_up_to();
    let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    format!("{}: not valid UTF-8 (first bad byte at line {line}); skipped", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;
    use crate::registry;

    fn py() -> SourceKind {
        SourceKind::of(Path::new("t.py")).expect("python is registered")
    }

    fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let t = tempfile::TempDir::new().expect("tempdir");
        for (rel, text) in files {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        t
    }

    #[test]
    fn a_severity_a_rule_chose_survives_unless_configuration_overrides_it() {
        let src = "import threading\n\ndef crunch():\n    total = 0\n    for i in range(10**7):\n        total += i\n    return total\n\nthreading.Thread(target=crunch).start()\n";
        let rule = registry::find("cpu-bound-work-on-threads").expect("CA501");
        let mut settings = Settings::only(&[rule]);
        let gil = analyze_source(Path::new("t.py"), py(), src, &settings);
        assert_eq!(gil.len(), 1, "{gil:?}");
        assert_eq!(gil[0].severity, rule.severity);
        // On a free-threaded build the rule itself lowers the finding to advice; the engine must keep that.
        settings.python.free_threaded = true;
        let free = analyze_source(Path::new("t.py"), py(), src, &settings);
        assert_eq!(free.len(), 1, "{free:?}");
        assert_eq!(free[0].severity, crate::diagnostic::Severity::Info);
        // An explicit override in configuration still wins.
        settings.severity.insert(rule.code, crate::diagnostic::Severity::Error);
        let forced = analyze_source(Path::new("t.py"), py(), src, &settings);
        assert_eq!(forced[0].severity, crate::diagnostic::Severity::Error);
    }

    /// A file named so panics inside the analysis (the test seam of [`a_panic_in_one_file_is_that_files_finding`]).
    pub(super) fn panic_if_asked(path: &Path) {
        if path.file_name().is_some_and(|n| n == "panic-for-test.rs") {
            panic!("asked to panic by the test");
        }
    }

    #[test]
    fn a_panic_in_one_file_is_that_files_finding() {
        let t = tree(&[
            ("a.rs", b"async fn f() { std::thread::sleep(d); }\n"),
            ("panic-for-test.rs", b"fn g() {}\n"),
            ("z.py", b"import time\nasync def f():\n    time.sleep(1)\n"),
        ]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 2 }, &Settings::default());
        let got: Vec<_> = r.diagnostics.iter().map(|d| (d.path.file_name().unwrap().to_owned(), d.rule.code)).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[1], ("panic-for-test.rs".into(), "CA001"));
        assert!(r.diagnostics[1].message.contains("panicked while checking"), "{}", r.diagnostics[1].message);
        assert!(r.diagnostics[1].message.contains("asked to panic by the test"));
    }

    /// Issue 11: a BOM right before the only `async` switched the async rules off.
    #[test]
    fn a_byte_order_mark_changes_nothing() {
        let t = tree(&[
            ("a.rs", b"\xEF\xBB\xBFasync fn f() { std::thread::sleep(d); }"),
            ("b.py", b"\xEF\xBB\xBFimport time\nasync def f():\n    time.sleep(1)\n"),
        ]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 1 }, &Settings::default());
        let got: Vec<_> = r.diagnostics.iter().map(|d| (d.rule.code, d.span.start.line, d.span.start.column)).collect();
        assert_eq!(got[0], ("CA101", 1, 16), "{got:?}");
        assert!(got[1..].iter().any(|g| g.1 == 3), "{got:?}");
        let direct = analyze_source(
            Path::new("a.rs"),
            SourceKind::of(Path::new("a.rs")).expect("rust"),
            "\u{feff}async fn f() { std::thread::sleep(d); }",
            &Settings::default(),
        );
        assert_eq!(direct.first().map(|d| d.rule.code), Some("CA101"));
    }

    #[test]
    fn keeps_text_only_of_files_with_findings_and_goes_past_bad_files() {
        let t = tree(&[
            ("a.rs", b"fn f( {}\n"),
            ("b.rs", b"fn g() {}\n"),
            ("c.rs", b"\xff\xfe\n"),
            ("d.py", b"x = 1\n"),
            ("notes.txt", b"not source\n"),
        ]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 2 }, &Settings::default());
        assert_eq!(r.files_checked, 3, "a.rs, b.rs and d.py are read; c.rs is not UTF-8");
        assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
        assert!(r.errors[0].contains("c.rs") && r.errors[0].contains("UTF-8"));
        assert_eq!(r.diagnostics.len(), 1);
        assert_eq!(r.sources.len(), 1);
        assert!(r.sources.keys().all(|p| p.ends_with("a.rs")));
        assert_eq!(r.files_with_findings(), 1);
    }

    #[test]
    fn per_directory_configuration_and_config_errors() {
        let t = tree(&[
            ("a.rs", b"fn f( {}\n"),
            ("quiet/conc-advisor.toml", b"ignore = [\"CA001\"]\n"),
            ("quiet/b.rs", b"fn f( {}\n"),
        ]);
        let opts = CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 1 };
        let r = check_with(&opts, &ConfigResolver::discover(Overrides::default()));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let files: Vec<_> = r.diagnostics.iter().map(|d| d.path.file_name().map(|n| n.to_owned())).collect();
        assert_eq!(files, vec![Some("a.rs".into())]);

        // Issue 11: a broken configuration in one directory lost every other directory's findings.
        std::fs::write(t.path().join("quiet/conc-advisor.toml"), "ignore = 3\n").expect("write");
        let r = check_with(&opts, &ConfigResolver::discover(Overrides::default()));
        let errors = &r.errors;
        assert!(errors.iter().any(|e| e.contains("conc-advisor.toml") && e.contains("ignore")), "{errors:?}");
        let files: Vec<_> = r.diagnostics.iter().map(|d| d.path.file_name().map(|n| n.to_owned())).collect();
        assert_eq!(files, vec![Some("a.rs".into())], "the files of the other directory are still checked");
        assert_eq!(r.files_checked, 1);

        // A configuration path that is not a regular file is an error naming it, not ignored.
        std::fs::remove_file(t.path().join("quiet/conc-advisor.toml")).expect("rm");
        std::fs::create_dir(t.path().join("quiet/conc-advisor.toml")).expect("mkdir");
        let r = check_with(&opts, &ConfigResolver::discover(Overrides::default()));
        assert!(
            r.errors.iter().any(|e| e.contains("conc-advisor.toml") && e.contains("a directory")),
            "{:?}",
            r.errors
        );
        assert_eq!(r.files_checked, 1);
    }

    #[test]
    fn call_graph_facts_come_from_files_without_roots_of_a_rooted_crate() {
        let t = tree(&[
            (
                "app/src/lib.rs",
                b"mod config;\nuse crate::config::load;\n\nasync fn handler() {\n    let _ = load();\n}\n",
            ),
            // No async code, no rule's word: parsed only because the crate's call graph needs it.
            ("app/src/config.rs", b"pub fn load() -> String {\n    std::fs::read_to_string(\"a.toml\").unwrap()\n}\n"),
        ]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 2 }, &Settings::default());
        let found: Vec<_> = r.diagnostics.iter().map(|d| (d.rule.code, d.span.start.line)).collect();
        assert_eq!(found, vec![("CA102", 5)], "{:?}", r.diagnostics);
        assert!(r.diagnostics[0].notes.iter().any(|n| n.message.contains("read_to_string")), "{:?}", r.diagnostics);
    }

    #[test]
    fn a_file_no_rule_needs_is_only_lexed() {
        let t = tree(&[
            // Unbalanced: the lexer reports it.
            ("util/src/a.rs", b"fn f( {}\n"),
            // A grammar error with no rule's word and no root in the crate: not parsed, so not reported.
            ("util/src/b.rs", b"fn g() { let = 1; }\n"),
            // The same in a crate that needs parsing is reported.
            ("app/src/lib.rs", b"async fn g() { let = 1; }\n"),
        ]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 1 }, &Settings::default());
        let found: Vec<_> = r
            .diagnostics
            .iter()
            .map(|d| (d.path.strip_prefix(t.path()).expect("inside").to_owned(), d.rule.code))
            .collect();
        assert_eq!(
            found,
            vec![(PathBuf::from("app/src/lib.rs"), "CA001"), (PathBuf::from("util/src/a.rs"), "CA001")],
            "{:?}",
            r.diagnostics
        );
        assert_eq!(r.files_checked, 3);
    }

    #[test]
    fn python_targets_in_other_files_are_linked_with_each_files_settings_and_suppressions() {
        let work = b"def crunch(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n";
        let spawn = b"import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()\n";
        let t = tree(&[
            ("pkg/__init__.py", b""),
            ("pkg/work.py", work),
            ("pkg/a.py", spawn),
            ("pkg/b.py", b"import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()  # noqa: CA501\n"),
            ("pkg/quiet/__init__.py", b""),
            ("pkg/quiet/conc-advisor.toml", b"ignore = [\"CA501\"]\n"),
            ("pkg/quiet/c.py", spawn),
        ]);
        let opts = CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 2 };
        let r = check_with(&opts, &ConfigResolver::discover(Overrides::default()));
        let found: Vec<_> = r
            .diagnostics
            .iter()
            .map(|d| (d.path.strip_prefix(t.path()).unwrap_or(&d.path).to_path_buf(), d.span.start.line, d.rule.code))
            .collect();
        // `b.py` is suppressed by `# noqa`, `quiet/c.py` by its directory's configuration.
        assert_eq!(found, vec![(PathBuf::from("pkg/a.py"), 3, "CA501")], "{:?}", r.diagnostics);
        // The text of the file with the linked finding is kept for its snippet.
        assert!(r.sources.keys().any(|p| p.ends_with("pkg/a.py")));
    }

    #[test]
    fn empty_directory_checks_nothing() {
        let t = tree(&[]);
        let r = check(&CheckOptions { roots: vec![t.path().to_path_buf()], jobs: 0 }, &Settings::default());
        assert_eq!((r.files_checked, r.diagnostics.len(), r.errors.len()), (0, 0, 0));
    }
}
