//! The per-file result cache of `check` (issue 15): a file's findings (after its settings and suppressions)
//! and its facts for the link phases, stored under a key made of everything its per-file analysis reads —
//! this build of the tool, the file's path and kind, its content, its effective settings, and what the engine
//! tells the analysis about its neighbours (for Rust whether its crate needs the call graph, for Python its
//! module name). Nothing cross-file is stored: the link phases always run again over the facts, cached or
//! fresh, so editing a callee in another file makes a chain finding appear or disappear exactly as a cold run
//! would.
//!
//! Layout: `DIR/.gitignore` (`*`, so the cache is never committed), `DIR/CACHEDIR.TAG`, and one JSON entry a
//! key, `DIR/files/<128-bit xxh3 key in hex>.json`. An entry is written to a temporary file in the same
//! directory and renamed into place, so concurrent runs never see a half-written entry (the last writer wins,
//! and both wrote the same content). An entry that cannot be read, does not parse, names a rule this build
//! does not know, or was written by another build is ignored and written again: the cache is never trusted
//! over a fresh analysis. Entries of older contents stay until `conc-advisor clean` removes the directory.

use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;
use xxhash_rust::xxh3::Xxh3;

use crate::settings::Settings;
use crate::walk::SourceKind;

/// The default cache directory's name, at the project root ([`project_root`]).
pub const DEFAULT_DIR: &str = ".conc-advisor-cache";

/// Bumped whenever the layout or an entry's shape changes.
const FORMAT: u32 = 1;

/// An open cache directory.
#[derive(Debug)]
pub struct Cache {
    /// The cache directory (`.conc-advisor-cache`).
    dir: PathBuf,
    /// `dir/files`.
    files: PathBuf,
    /// This build's identity, written into every entry and hashed into every key.
    tool: String,
    /// Entries found and used.
    hits: AtomicUsize,
    /// Entries (re)written.
    stored: AtomicUsize,
}

/// A file's cache key: 128 bits of xxh3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(u128);

/// What an entry holds: the build that wrote it, its key, and the value.
#[derive(Serialize, serde::Deserialize)]
struct Entry<T> {
    tool: String,
    key: String,
    value: T,
}

impl Cache {
    /// Opens (creating it if needed) the cache at `dir`, with its `.gitignore` and `CACHEDIR.TAG`. An error is
    /// for the caller to report; a run goes on without the cache.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        let files = dir.join("files");
        std::fs::create_dir_all(&files)?;
        let gitignore = dir.join(".gitignore");
        if !gitignore.exists() {
            write_atomic(&gitignore, b"# Written by conc-advisor: its cache is never committed.\n*\n")?;
        }
        let tag = dir.join("CACHEDIR.TAG");
        if !tag.exists() {
            write_atomic(
                &tag,
                b"Signature: 8a477f597d28d172789f06886806bc55\n# The conc-advisor cache (conc-advisor clean removes it).\n",
            )?;
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            files,
            tool: tool_identity(),
            hits: AtomicUsize::new(0),
            stored: AtomicUsize::new(0),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many entries this run used.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many entries this run wrote.
    pub fn stored(&self) -> usize {
        self.stored.load(Ordering::Relaxed)
    }

    /// The key of one file's per-file analysis: this build, the path and kind, the effective settings, `extra`
    /// (what else the analysis is told: the crate's need of a call graph, the module name) and the content.
    pub fn key(&self, path: &Path, kind: SourceKind, settings: &Settings, extra: &str, text: &str) -> Key {
        let mut h = Xxh3::new();
        let mut field = |bytes: &[u8]| {
            h.write_u64(bytes.len() as u64);
            h.write(bytes);
        };
        field(self.tool.as_bytes());
        field(path.as_os_str().as_encoded_bytes());
        field(kind.name().as_bytes());
        field(settings_fingerprint(settings).as_bytes());
        field(extra.as_bytes());
        field(text.as_bytes());
        Key(h.digest128())
    }

    fn entry_path(&self, key: Key) -> PathBuf {
        self.files.join(format!("{:032x}.json", key.0))
    }

    /// The value stored under `key`, if there is a valid one written by this build.
    pub fn load<T: DeserializeOwned>(&self, key: Key) -> Option<T> {
        let bytes = std::fs::read(self.entry_path(key)).ok()?;
        let entry: Entry<T> = serde_json::from_slice(&bytes).ok()?;
        if entry.tool != self.tool || entry.key != format!("{:032x}", key.0) {
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(entry.value)
    }

    /// Stores `value` under `key` (atomically: temporary file, then rename). Failures are ignored: the cache
    /// only saves time.
    pub fn store<T: Serialize>(&self, key: Key, value: &T) {
        let entry = Entry { tool: self.tool.clone(), key: format!("{:032x}", key.0), value };
        let Ok(bytes) = serde_json::to_vec(&entry) else { return };
        if write_atomic(&self.entry_path(key), &bytes).is_ok() {
            self.stored.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed into place.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    let r = write();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// The settings as a stable string (the severity overrides sorted: a map's order changes between runs).
fn settings_fingerprint(s: &Settings) -> String {
    let mut severity: Vec<_> = s.severity.iter().map(|(k, v)| format!("{k}={v}")).collect();
    severity.sort();
    format!("{:?}|{}|{:?}|{:?}|{:?}", s.enabled, severity.join(","), s.rust, s.python, s.test_code)
}

/// This build: the format, the version, and the running executable's size and modification time, so that a
/// rebuilt binary (whose analysis may differ under the same version) never reads its predecessor's entries.
fn tool_identity() -> String {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let mtime = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{mtime}", m.len())
        })
        .unwrap_or_default();
    format!("conc-advisor {} format {FORMAT} exe {exe}", env!("CARGO_PKG_VERSION"))
}

/// The project root the default cache directory goes in: the nearest directory from `start` upwards that holds
/// `.git`, `conc-advisor.toml`, `pyproject.toml` or a `Cargo.toml` with `[workspace]`; else `start` itself.
pub fn project_root(start: &Path) -> PathBuf {
    for dir in start.ancestors() {
        let is_root = dir.join(".git").exists()
            || dir.join("conc-advisor.toml").is_file()
            || dir.join("pyproject.toml").is_file()
            || std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"));
        if is_root {
            return dir.to_path_buf();
        }
    }
    start.to_path_buf()
}

/// Removes a cache directory (`conc-advisor clean`). Refuses a directory that does not look like one (no
/// `CACHEDIR.TAG` written by us), so a mistyped `--cache-dir` never deletes a user's files. Returns whether
/// there was a cache to remove.
pub fn clean(dir: &Path) -> std::io::Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    let tag = std::fs::read_to_string(dir.join("CACHEDIR.TAG")).unwrap_or_default();
    if !tag.contains("conc-advisor") {
        return Err(std::io::Error::other(format!(
            "{} does not look like a conc-advisor cache (no CACHEDIR.TAG of ours); not removed",
            dir.display()
        )));
    }
    std::fs::remove_dir_all(dir)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> SourceKind {
        SourceKind::of(Path::new("a.rs")).expect("Rust")
    }

    #[test]
    fn entries_round_trip_and_foreign_or_corrupt_ones_are_ignored() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let dir = t.path().join(DEFAULT_DIR);
        let cache = Cache::open(&dir).expect("open");
        assert_eq!(std::fs::read_to_string(dir.join(".gitignore")).expect("gitignore").lines().last(), Some("*"));
        let s = Settings::default();
        let k = cache.key(Path::new("a.rs"), rs(), &s, "graph", "fn f() {}");
        assert_eq!(cache.load::<Vec<u32>>(k), None);
        cache.store(k, &vec![1u32, 2]);
        assert_eq!(cache.load::<Vec<u32>>(k), Some(vec![1, 2]));
        // Every input of the key changes it.
        assert_ne!(k, cache.key(Path::new("a.rs"), rs(), &s, "graph", "fn f() { }"));
        assert_ne!(k, cache.key(Path::new("b.rs"), rs(), &s, "graph", "fn f() {}"));
        assert_ne!(k, cache.key(Path::new("a.rs"), rs(), &s, "", "fn f() {}"));
        let only = Settings::only(&[crate::registry::find("CA101").expect("CA101")]);
        assert_ne!(k, cache.key(Path::new("a.rs"), rs(), &only, "graph", "fn f() {}"));
        // Another build's entry under the same name is not trusted.
        let path = cache.entry_path(k);
        let foreign = std::fs::read_to_string(&path).expect("entry").replace("conc-advisor ", "conc-advisor 9.9.9 ");
        std::fs::write(&path, foreign).expect("write");
        assert_eq!(cache.load::<Vec<u32>>(k), None);
        // Nor a corrupt one.
        std::fs::write(&path, b"{\"tool\": \"trunc").expect("write");
        assert_eq!(cache.load::<Vec<u32>>(k), None);
        // Clean removes it; a directory that is not a cache is refused.
        assert!(clean(&dir).expect("clean"));
        assert!(!dir.exists());
        std::fs::create_dir(&dir).expect("mkdir");
        assert!(clean(&dir).is_err());
    }

    use crate::config::{ConfigResolver, Overrides};
    use crate::engine::{CheckOptions, check_cached};

    type Found = Vec<(String, usize, &'static str, String)>;

    /// One run over `root` (configuration discovered as the CLI does), with or without `cache`.
    fn run_with(root: &Path, cache: Option<&Cache>, overrides: Overrides) -> Found {
        let opts = CheckOptions { roots: vec![root.to_path_buf()], jobs: 2 };
        let r = check_cached(&opts, &ConfigResolver::discover(overrides), cache);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        r.diagnostics
            .iter()
            .map(|d| {
                let rel = d.path.strip_prefix(root).unwrap_or(&d.path).display().to_string();
                let notes: Vec<_> = d.notes.iter().map(|n| n.message.as_str()).collect();
                (rel, d.span.start.line, d.rule.code, format!("{} | {}", d.message, notes.join(" | ")))
            })
            .collect()
    }

    fn run(root: &Path, cache: Option<&Cache>) -> Found {
        run_with(root, cache, Overrides::default())
    }

    /// A fresh handle on the same directory, so its counters are this run's.
    fn reopen(dir: &Path) -> Cache {
        Cache::open(dir).expect("open")
    }

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Issue 15: a chain `async fn` → a crate function in another file that blocks is relinked from cached
    /// facts: editing only the callee's file makes the finding disappear and appear again, as a cold run does.
    #[test]
    fn a_rust_chain_follows_an_edit_of_the_callee_in_another_file() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(
            &root,
            "app/src/lib.rs",
            "mod config;\nuse crate::config::load;\n\nasync fn handler() {\n    let _ = load();\n}\n",
        );
        let blocking = "pub fn load() -> String {\n    std::fs::read_to_string(\"a.toml\").unwrap()\n}\n";
        write(&root, "app/src/config.rs", blocking);

        let cold = run(&root, Some(&reopen(&dir)));
        assert_eq!(cold.iter().map(|f| (f.1, f.2)).collect::<Vec<_>>(), vec![(5, "CA102")], "{cold:?}");
        let warm_cache = reopen(&dir);
        assert_eq!(run(&root, Some(&warm_cache)), cold);
        assert_eq!((warm_cache.hits(), warm_cache.stored()), (2, 0), "both files come from the cache");

        // The callee no longer blocks: only config.rs is analysed again, lib.rs's facts come from the cache.
        write(&root, "app/src/config.rs", "pub fn load() -> String {\n    String::from(\"a = 1\")\n}\n");
        let c = reopen(&dir);
        let edited = run(&root, Some(&c));
        assert_eq!((c.hits(), c.stored()), (1, 1));
        assert_eq!(edited, run(&root, None));
        assert!(edited.is_empty(), "{edited:?}");

        // And back: the finding reappears, with its chain, from two cached files.
        write(&root, "app/src/config.rs", blocking);
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!(c.hits(), 2);
    }

    /// Issue 15: a thread target defined in another module; editing the target's module, or the settings of
    /// the spawning file (a `conc-advisor.toml`, `--select`), changes the findings as a cold run would.
    #[test]
    fn a_python_target_in_another_module_follows_edits_and_settings() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        let cpu = "def crunch(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n";
        write(&root, "pkg/__init__.py", "");
        write(&root, "pkg/work.py", cpu);
        write(
            &root,
            "pkg/a.py",
            "import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()\n",
        );

        let cold = run(&root, Some(&reopen(&dir)));
        assert_eq!(cold.iter().map(|f| (f.0.as_str(), f.2)).collect::<Vec<_>>(), vec![("pkg/a.py", "CA501")]);
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!(c.hits(), 3);

        // The target now waits on I/O: CA501 goes, as in a cold run.
        write(&root, "pkg/work.py", "import time\ndef crunch(n):\n    time.sleep(n)\n");
        let c = reopen(&dir);
        let edited = run(&root, Some(&c));
        assert_eq!(c.stored(), 1, "only the edited module is analysed again");
        assert_eq!(edited, run(&root, None));
        assert!(!edited.iter().any(|f| f.2 == "CA501"), "{edited:?}");

        // Back to CPU work, then a configuration file that ignores CA501 for the spawning package.
        write(&root, "pkg/work.py", cpu);
        assert_eq!(run(&root, Some(&reopen(&dir))), cold);
        write(&root, "pkg/conc-advisor.toml", "ignore = [\"CA501\"]\n");
        let quiet = run(&root, Some(&reopen(&dir)));
        assert!(quiet.is_empty(), "{quiet:?}");
        assert_eq!(quiet, run(&root, None));
        std::fs::remove_file(root.join("pkg/conc-advisor.toml")).expect("rm");

        // Changing the selection (`--select`) is a different key: nothing stale is served.
        let sel = || Overrides { select: Some(vec!["CA505".into()]), ..Overrides::default() };
        let c = reopen(&dir);
        let selected = run_with(&root, Some(&c), sel());
        assert_eq!(c.hits(), 0);
        assert!(selected.is_empty(), "{selected:?}");
        assert_eq!(selected, run_with(&root, None, sel()));
        assert_eq!(run(&root, Some(&reopen(&dir))), cold);
    }

    /// Issue 15: corrupt entries (truncated, garbage, another build's) are ignored and rewritten, never trusted.
    #[test]
    fn corrupt_and_foreign_entries_are_analysed_again() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(&root, "a.rs", "async fn f() { std::thread::sleep(d); }\n");
        write(&root, "b.py", "import time\nasync def f():\n    time.sleep(1)\n");
        let cold = run(&root, Some(&reopen(&dir)));
        assert_eq!(cold.len(), 2, "{cold:?}");
        let entries: Vec<_> =
            std::fs::read_dir(dir.join("files")).expect("ls").map(|e| e.expect("entry").path()).collect();
        assert_eq!(entries.len(), 2);
        // One entry made to claim no finding, but by another build; the other cut short.
        let first = std::fs::read_to_string(&entries[0]).expect("read");
        let v: serde_json::Value = serde_json::from_str(&first).expect("json");
        let forged = serde_json::json!({ "tool": "conc-advisor 0.0.0 format 1 exe 0-0", "key": v["key"], "value": [[], "None"] });
        std::fs::write(&entries[0], forged.to_string()).expect("write");
        std::fs::write(&entries[1], &first.as_bytes()[..first.len() / 2]).expect("write");
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!((c.hits(), c.stored()), (0, 2));
        // A forged entry by this build under the right key is what a valid one looks like: it is used.
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!(c.hits(), 2);
        // An entry naming a rule this build does not know is not trusted either.
        let first = std::fs::read_to_string(&entries[0]).expect("read");
        let renamed = first.replace("\"CA101\"", "\"CA999\"").replace("\"CA503\"", "\"CA999\"");
        assert_ne!(renamed, first);
        std::fs::write(&entries[0], renamed).expect("write");
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!(c.hits(), 1);
    }
}
