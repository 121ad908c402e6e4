//! The per-file result cache of `check` (issue 15): a file's findings (after its settings and suppressions)
//! and its facts for the link phases, stored under what its per-file analysis reads — this build of the tool,
//! the file's path and kind, its effective settings, what the engine tells the analysis about its neighbours
//! (for Rust whether its crate needs the call graph, for Python its module name) — and its content. Nothing
//! cross-file is trusted without its inputs: the link phases run again over the facts, cached or fresh, unless
//! the facts of every file of the language are exactly those the last link step saw (then its findings are
//! reused), so editing a callee in another file makes a chain finding appear or disappear exactly as a cold
//! run would.
//!
//! Layout: `DIR/.gitignore` (`*`, so the cache is never committed), `DIR/CACHEDIR.TAG`, and one packed file,
//! `DIR/pack.bin`, read once at the start of a run and written once at its end (to a temporary file in the
//! same directory, renamed into place: concurrent runs never see a half-written pack; the last writer wins and
//! the other run's new entries are analysed again next time). The pack starts with a header (format, this
//! build's identity, a checksum of the rest); a pack that is cut short, fails its checksum or was written by
//! another build is ignored as a whole. Its entries are one per file path: the file's stamp (modification
//! time, change time, size, inode), the xxh3 hash of its text, the key of its settings and context, its
//! findings (JSON, checked again when read: a rule this build does not know makes the entry a miss), its
//! facts (each language's encoding, decoded only when a link step needs them) and, when it has findings, its
//! items (what places the findings: an unchanged file with findings is read for their snippets, not parsed). The link step's findings per
//! language are stored with the hash of the facts they came from.
//!
//! A file whose stamp is the stored one is not read at all unless its text is needed (it has findings, or the
//! link step may report in it); otherwise its text is read and hashed, and an equal hash is a hit too. Like
//! git's "racily clean" rule, a stamp whose modification time is less than two seconds before the run is never trusted (a file
//! written twice within one tick of the clock keeps its stamp), so those files are always hashed.
//!
//! Pruning: at the end of a run an entry that was not used is dropped when its file was checked by this run
//! under other settings or contents (the new entry replaces it), when its file no longer exists, or when it
//! was last used more than [`MAX_UNUSED_DAYS`] days ago; so a run over the whole project keeps exactly one
//! entry per file, and a run over part of it keeps the others'.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use xxhash_rust::xxh3::{Xxh3, xxh3_64, xxh3_128};

use crate::diagnostic::Diagnostic;
use crate::enclosing::Items;
use crate::settings::Settings;
use crate::walk::SourceKind;

/// The default cache directory's name, at the project root ([`project_root`]).
pub const DEFAULT_DIR: &str = ".conc-advisor-cache";

/// Bumped whenever the layout or an entry's shape changes.
const FORMAT: u32 = 3;

/// The pack's name in the cache directory.
const PACK: &str = "pack.bin";

/// The first bytes of a pack.
const MAGIC: &[u8] = b"conc-advisor cache pack\n";

/// An entry not used for this many days is dropped at the end of a run.
pub const MAX_UNUSED_DAYS: u64 = 30;

/// A stamp younger than this (relative to the run's start) is not trusted: the file is hashed.
const RACY_SECS: u64 = 2;

/// What identifies a file's state without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp {
    mtime_ns: u128,
    ctime_ns: u128,
    size: u64,
    ino: u64,
}

impl Stamp {
    /// The stamp of the file at `path` (`None` when it cannot be read).
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        let ns = |t: std::io::Result<SystemTime>| {
            t.ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
        };
        #[cfg(unix)]
        let (ctime_ns, ino) = {
            use std::os::unix::fs::MetadataExt;
            let c =
                u128::try_from(m.ctime()).unwrap_or(0) * 1_000_000_000 + u128::try_from(m.ctime_nsec()).unwrap_or(0);
            (c, m.ino())
        };
        #[cfg(not(unix))]
        let (ctime_ns, ino) = (0, 0);
        Some(Stamp { mtime_ns: ns(m.modified()), ctime_ns, size: m.len(), ino })
    }

    /// Whether the stamp is old enough, relative to `start_ns`, to stand for the content: a write within the
    /// same tick of the clock as the one stamped could leave the stamp as it was. (A write sets the
    /// modification time to now, so a file whose modification time was set back, with a recent change time,
    /// is settled too: writing it again changes its stamp.)
    fn settled(&self, start_ns: u128) -> bool {
        self.mtime_ns.saturating_add(u128::from(RACY_SECS) * 1_000_000_000) < start_ns
    }
}

/// One file's stored results.
#[derive(Debug, Default)]
struct Stored {
    stamp: Stamp,
    /// xxh3-128 of the text.
    content: u128,
    /// The key of everything else the analysis read ([`Cache::meta_key`]).
    meta: u128,
    /// Whether the text must be kept (findings, or the link step may report in the file).
    keep: bool,
    /// The language's run-wide test of the file's bytes (Rust: does it hold a call-graph root).
    probe: Option<bool>,
    /// When the entry was last used (seconds since the epoch).
    last_used: u64,
    /// The findings, as JSON.
    diags: Bytes,
    /// The facts in the language's encoding.
    facts: Option<Bytes>,
    /// The file's items ([`Items::encode`]), stored when it has findings: placing them needs no parse.
    items: Option<Bytes>,
    /// Used by this run.
    used: AtomicBool,
}

impl Clone for Stored {
    fn clone(&self) -> Self {
        Stored {
            stamp: self.stamp,
            content: self.content,
            meta: self.meta,
            keep: self.keep,
            probe: self.probe,
            last_used: self.last_used,
            diags: self.diags.clone(),
            facts: self.facts.clone(),
            items: self.items.clone(),
            used: AtomicBool::new(self.used.load(Ordering::Relaxed)),
        }
    }
}

/// Bytes shared with the buffer they were read in (the pack), or owned.
#[derive(Debug, Clone, Default)]
pub struct Bytes {
    buf: Arc<Vec<u8>>,
    at: std::ops::Range<usize>,
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        let at = 0..v.len();
        Bytes { buf: Arc::new(v), at }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.at.clone()]
    }
}

/// What [`Cache::lookup_stamp`] or [`Cache::lookup_content`] found for a file.
#[derive(Debug)]
pub struct Hit {
    /// Its findings.
    pub diags: Vec<Diagnostic>,
    /// Its facts, in its language's encoding.
    pub facts: Option<Bytes>,
    /// Whether its text must be kept.
    pub keep: bool,
    /// The identity of its analysis (for the link step's key).
    pub ident: u128,
    /// Its items, when it has findings (and they were stored and decode).
    pub items: Option<Items>,
}

/// An open cache directory.
#[derive(Debug)]
pub struct Cache {
    /// The cache directory (`.conc-advisor-cache`).
    dir: PathBuf,
    /// This build's identity, written into the pack's header and hashed into every key.
    tool: String,
    /// When this handle was opened (nanoseconds since the epoch): stamps close to it are not trusted.
    start_ns: u128,
    /// The pack as read.
    old: Entries,
    /// The link steps' findings as read.
    old_links: Links,
    /// Entries written by this run.
    fresh: Mutex<Entries>,
    /// Probes computed by this run: path → (stamp, result).
    probes: Mutex<HashMap<PathBuf, (Stamp, bool)>>,
    /// Link findings computed by this run.
    fresh_links: Mutex<Links>,
    /// Paths this run looked up (its files).
    seen: Mutex<HashSet<PathBuf>>,
    /// Settings already fingerprinted (pointer-equal `Arc`s are the same settings).
    fingerprints: Mutex<Vec<(Arc<Settings>, u128)>>,
    /// Entries found and used.
    hits: AtomicUsize,
    /// Entries (re)written.
    stored: AtomicUsize,
}

impl Cache {
    /// Opens (creating it if needed) the cache at `dir`, with its `.gitignore` and `CACHEDIR.TAG`, and reads
    /// its pack (one that cannot be used is ignored: the run starts from an empty cache). An error is for the
    /// caller to report; a run goes on without the cache.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
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
        let tool = tool_identity();
        let (old, old_links) =
            std::fs::read(dir.join(PACK)).ok().and_then(|bytes| decode_pack(bytes, &tool)).unwrap_or_default();
        Ok(Cache {
            dir: dir.to_path_buf(),
            tool,
            start_ns: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
            old,
            old_links,
            fresh: Mutex::default(),
            probes: Mutex::default(),
            fresh_links: Mutex::default(),
            seen: Mutex::default(),
            fingerprints: Mutex::default(),
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

    /// The key of everything one file's per-file analysis reads but its text: this build, the path and kind,
    /// the effective settings and `context` (what else the analysis is told: the crate's need of a call graph,
    /// the module name).
    pub fn meta_key(&self, path: &Path, kind: SourceKind, settings: &Arc<Settings>, context: &str) -> u128 {
        let mut h = Xxh3::new();
        let mut field = |bytes: &[u8]| {
            h.write_u64(bytes.len() as u64);
            h.write(bytes);
        };
        field(self.tool.as_bytes());
        field(path.as_os_str().as_encoded_bytes());
        field(kind.name().as_bytes());
        field(&self.settings_key(settings).to_le_bytes());
        field(context.as_bytes());
        h.digest128()
    }

    /// The settings' fingerprint, computed once per distinct `Arc` of a run.
    fn settings_key(&self, settings: &Arc<Settings>) -> u128 {
        let mut known = self.fingerprints.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, k)) = known.iter().find(|(s, _)| Arc::ptr_eq(s, settings)) {
            return *k;
        }
        let k = xxh3_128(settings_fingerprint(settings).as_bytes());
        if known.len() < 1024 {
            known.push((Arc::clone(settings), k));
        }
        k
    }

    /// The hash of a text, as entries store it.
    pub fn content_key(text: &str) -> u128 {
        xxh3_128(text.as_bytes())
    }

    /// The identity of one analysis (its inputs): what the link step's key is made of.
    pub fn ident(meta: u128, content: u128) -> u128 {
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&meta.to_le_bytes());
        b[16..].copy_from_slice(&content.to_le_bytes());
        xxh3_128(&b)
    }

    /// The entry of `path` when its stamp is the stored one (and old enough to be trusted) and it was
    /// analysed with the same `meta`: the file need not be read.
    pub fn lookup_stamp(&self, path: &Path, meta: u128, stamp: Option<Stamp>) -> Option<Hit> {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_path_buf());
        let stamp = stamp?;
        let e = self.old.get(path)?;
        if e.meta != meta || e.stamp != stamp || !stamp.settled(self.start_ns) {
            return None;
        }
        self.hit(e)
    }

    /// The entry of `path` when its text hashes to `content` and it was analysed with the same `meta`.
    pub fn lookup_content(&self, path: &Path, meta: u128, content: u128) -> Option<Hit> {
        self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_path_buf());
        let e = self.old.get(path)?;
        if e.meta != meta || e.content != content {
            return None;
        }
        self.hit(e)
    }

    fn hit(&self, e: &Stored) -> Option<Hit> {
        // Findings are checked now (a rule this build does not know is a miss); facts when they are needed.
        let diags: Vec<Diagnostic> = serde_json::from_slice(&e.diags).ok()?;
        e.used.store(true, Ordering::Relaxed);
        self.hits.fetch_add(1, Ordering::Relaxed);
        let items = e.items.as_deref().and_then(Items::decode);
        Some(Hit { diags, facts: e.facts.clone(), keep: e.keep, ident: Self::ident(e.meta, e.content), items })
    }

    /// Stores one file's results. Entries are written to the pack by [`Cache::persist`].
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &self,
        path: &Path,
        meta: u128,
        stamp: Option<Stamp>,
        content: u128,
        keep: bool,
        diags: &[Diagnostic],
        facts: Option<Vec<u8>>,
        items: Option<&Items>,
    ) {
        let Ok(diags) = serde_json::to_vec(diags).map(Bytes::from) else { return };
        let items = items.and_then(Items::encode).map(Bytes::from);
        let entry = Stored {
            stamp: stamp.unwrap_or_default(),
            content,
            meta,
            keep,
            probe: None,
            last_used: now_secs(),
            diags,
            facts: facts.map(Bytes::from),
            items,
            used: AtomicBool::new(true),
        };
        self.fresh.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(path.to_path_buf(), entry);
        self.stored.fetch_add(1, Ordering::Relaxed);
    }

    /// The language's run-wide test of a file's bytes, as stored for this stamp.
    pub fn probe(&self, path: &Path, stamp: Stamp) -> Option<bool> {
        let e = self.old.get(path)?;
        (e.stamp == stamp && stamp.settled(self.start_ns)).then_some(e.probe).flatten()
    }

    /// Records the language's run-wide test of a file's bytes (stored with the file's entry).
    pub fn record_probe(&self, path: &Path, stamp: Stamp, result: bool) {
        self.probes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.to_path_buf(), (stamp, result));
    }

    /// The findings a language's link step made from facts whose identity hashes to `inputs`.
    pub fn link(&self, language: &str, inputs: u128) -> Option<Vec<Diagnostic>> {
        let (h, diags) = self.old_links.get(language)?;
        if *h != inputs {
            return None;
        }
        serde_json::from_slice(diags).ok()
    }

    /// Stores what a language's link step found from facts whose identity hashes to `inputs`.
    pub fn store_link(&self, language: &str, inputs: u128, diags: &[Diagnostic]) {
        if let Ok(json) = serde_json::to_vec(diags) {
            self.fresh_links
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(language.to_string(), (inputs, json));
        }
    }

    /// Writes the pack: the entries used or written by this run, and the unused ones that are not stale (see
    /// the module documentation). Failures are for the caller to ignore: the cache only saves time.
    pub fn persist(&self) -> std::io::Result<()> {
        // Copies, so that no lock is held while the file system is asked (the entries' bytes are shared).
        fn copy<T: Clone>(m: &Mutex<T>) -> T {
            m.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
        }
        let (fresh, seen, probes, fresh_links) =
            (copy(&self.fresh), copy(&self.seen), copy(&self.probes), copy(&self.fresh_links));
        let (now, max_age) = (now_secs(), MAX_UNUSED_DAYS * 24 * 3600);
        let mut entries: Vec<(&Path, Stored)> = Vec::with_capacity(self.old.len().max(fresh.len()));
        let mut changed = !fresh.is_empty() || !fresh_links.is_empty();
        for (path, e) in &self.old {
            if fresh.contains_key(path) {
                continue;
            }
            let mut e = e.clone();
            if e.used.load(Ordering::Relaxed) {
                // Refresh the date once a day at most, so an unchanged re-run writes nothing.
                if now.saturating_sub(e.last_used) > 24 * 3600 {
                    e.last_used = now;
                    changed = true;
                }
            } else if seen.contains(path) || now.saturating_sub(e.last_used) > max_age || !path.exists() {
                changed = true;
                continue;
            }
            entries.push((path, e));
        }
        entries.extend(fresh.iter().map(|(p, e)| (p.as_path(), e.clone())));
        for (path, e) in &mut entries {
            if let Some(&(stamp, result)) = probes.get(*path)
                && stamp == e.stamp
                && e.probe != Some(result)
            {
                e.probe = Some(result);
                changed = true;
            }
        }
        let mut links: Vec<(&str, &(u128, Vec<u8>))> = self
            .old_links
            .iter()
            .filter(|(l, _)| !fresh_links.contains_key(*l))
            .map(|(l, v)| (l.as_str(), v))
            .collect();
        links.extend(fresh_links.iter().map(|(l, v)| (l.as_str(), v)));
        // The entries of the first format, one file each, are not read any more.
        let legacy = self.dir.join("files");
        if legacy.is_dir() {
            let _ = std::fs::remove_dir_all(&legacy);
        }
        if !changed && self.dir.join(PACK).is_file() {
            return Ok(());
        }
        entries.sort_by(|a, b| a.0.cmp(b.0));
        links.sort_by(|a, b| a.0.cmp(b.0));
        write_atomic(&self.dir.join(PACK), &encode_pack(&self.tool, &entries, &links))
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The pack's bytes: [`MAGIC`], the format, the tool, the xxh3-64 of the body, then the body (entries, then
/// link findings), every number little-endian, every byte string prefixed with its length.
fn encode_pack(tool: &str, entries: &[(&Path, Stored)], links: &[(&str, &(u128, Vec<u8>))]) -> Vec<u8> {
    let mut body = Vec::with_capacity(
        entries
            .iter()
            .map(|(_, e)| {
                128 + e.diags.len()
                    + [&e.facts, &e.items].iter().map(|b| b.as_ref().map_or(0, |f| f.len())).sum::<usize>()
            })
            .sum(),
    );
    let bytes = |out: &mut Vec<u8>, b: &[u8]| {
        out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        out.extend_from_slice(b);
    };
    body.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (path, e) in entries {
        bytes(&mut body, path.as_os_str().as_encoded_bytes());
        for n in [e.stamp.mtime_ns, e.stamp.ctime_ns, e.content, e.meta] {
            body.extend_from_slice(&n.to_le_bytes());
        }
        for n in [e.stamp.size, e.stamp.ino, e.last_used] {
            body.extend_from_slice(&n.to_le_bytes());
        }
        body.push(u8::from(e.keep));
        body.push(match e.probe {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        bytes(&mut body, &e.diags);
        for blob in [&e.facts, &e.items] {
            match blob {
                None => body.push(0),
                Some(f) => {
                    body.push(1);
                    bytes(&mut body, f);
                }
            }
        }
    }
    body.extend_from_slice(&(links.len() as u64).to_le_bytes());
    for (language, (inputs, diags)) in links {
        bytes(&mut body, language.as_bytes());
        body.extend_from_slice(&inputs.to_le_bytes());
        bytes(&mut body, diags);
    }
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    bytes(&mut out, tool.as_bytes());
    out.extend_from_slice(&xxh3_64(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A pack's entries, by path.
type Entries = HashMap<PathBuf, Stored>;

/// A pack's link findings: language → (the hash of the facts they came from, the findings as JSON).
type Links = HashMap<String, (u128, Vec<u8>)>;

/// The pack's entries and link findings; `None` when it is not a pack of this format and build, or is
/// corrupt (cut short, a wrong checksum, lengths past its end).
fn decode_pack(buf: Vec<u8>, tool: &str) -> Option<(Entries, Links)> {
    let buf = Arc::new(buf);
    let mut r = Reader { buf: &buf, pos: 0 };
    if r.take(MAGIC.len())? != MAGIC || u32::from_le_bytes(r.array()?) != FORMAT || r.bytes()? != tool.as_bytes() {
        return None;
    }
    let sum = u64::from_le_bytes(r.array()?);
    if xxh3_64(&buf[r.pos..]) != sum {
        return None;
    }
    // Findings and facts stay in the pack's buffer: an entry holds where they are.
    let shared = |r: &mut Reader<'_>| -> Option<Bytes> {
        let n = usize::try_from(r.u64()?).ok()?;
        let at = r.pos..r.pos.checked_add(n)?;
        r.take(n)?;
        Some(Bytes { buf: Arc::clone(&buf), at })
    };
    let n = usize::try_from(r.u64()?).ok()?;
    let mut entries = HashMap::with_capacity(n.min(buf.len() / 64));
    for _ in 0..n {
        let path = PathBuf::from(os_str(r.bytes()?)?);
        let (mtime_ns, ctime_ns, content, meta) = (r.u128()?, r.u128()?, r.u128()?, r.u128()?);
        let (size, ino, last_used) = (r.u64()?, r.u64()?, r.u64()?);
        let keep = match r.take(1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let probe = match r.take(1)?[0] {
            0 => None,
            1 => Some(false),
            2 => Some(true),
            _ => return None,
        };
        let diags = shared(&mut r)?;
        let blob = |r: &mut Reader<'_>| match r.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(shared(r)?)),
            _ => None,
        };
        let facts = blob(&mut r)?;
        let items = blob(&mut r)?;
        let stamp = Stamp { mtime_ns, ctime_ns, size, ino };
        let used = AtomicBool::new(false);
        entries.insert(path, Stored { stamp, content, meta, keep, probe, last_used, diags, facts, items, used });
    }
    let n = usize::try_from(r.u64()?).ok()?;
    let mut links = HashMap::new();
    for _ in 0..n {
        let language = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let inputs = r.u128()?;
        links.insert(language, (inputs, r.bytes()?.to_vec()));
    }
    (r.pos == buf.len()).then_some((entries, links))
}

/// A path's bytes as written by [`encode_pack`] (`as_encoded_bytes`), read back.
fn os_str(b: &[u8]) -> Option<std::ffi::OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Some(std::ffi::OsStr::from_bytes(b).to_os_string())
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(b).ok().map(std::ffi::OsString::from)
    }
}

/// A bounds-checked reader of the pack.
struct Reader<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let end = self.pos.checked_add(n)?;
        let a = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(a)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.array()?))
    }
    fn u128(&mut self) -> Option<u128> {
        Some(u128::from_le_bytes(self.array()?))
    }
    fn bytes(&mut self) -> Option<&'b [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
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
            let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
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

    /// Opens `t` with its modification time an hour ago (a settled stamp).
    fn settled(t: &str) -> std::fs::File {
        let f = std::fs::OpenOptions::new().write(true).open(t).expect("open");
        f.set_modified(SystemTime::now() - std::time::Duration::from_secs(3600)).expect("set mtime");
        f
    }

    #[test]
    fn entries_round_trip_and_foreign_or_corrupt_packs_are_ignored() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let dir = t.path().join(DEFAULT_DIR);
        let src = t.path().join("a.rs");
        std::fs::write(&src, "fn f() {}").expect("write");
        let cache = Cache::open(&dir).expect("open");
        assert_eq!(std::fs::read_to_string(dir.join(".gitignore")).expect("gitignore").lines().last(), Some("*"));
        let s = Arc::new(Settings::default());
        let meta = cache.meta_key(&src, rs(), &s, "graph");
        let content = Cache::content_key("fn f() {}");
        assert!(cache.lookup_content(&src, meta, content).is_none());
        // A file's items go with its findings (placing those needs no parse then).
        let items = Items::of(rs(), "mod m {\n    #[test]\n    fn t() {}\n}\n");
        assert_eq!(items.items().len(), 2);
        cache.store(&src, meta, Stamp::of(&src), content, false, &[], Some(b"facts".to_vec()), Some(&items));
        cache.store_link("rust", 7, &[]);
        cache.persist().expect("persist");
        let again = Cache::open(&dir).expect("open");
        let hit = again.lookup_content(&src, meta, content).expect("hit");
        assert_eq!((hit.diags.len(), hit.facts.as_deref(), hit.keep), (0, Some(&b"facts"[..]), false));
        let back = hit.items.expect("items stored");
        assert_eq!(back.items(), items.items());
        let at = crate::diagnostic::Location::new(3, 8);
        assert_eq!(back.enclosing(at), items.enclosing(at));
        assert_eq!(back.enclosing(at), ("m::t".to_string(), true));
        assert_eq!(again.link("rust", 7), Some(vec![]));
        assert_eq!(again.link("rust", 8), None);
        // Every input of the key changes it.
        assert_ne!(meta, cache.meta_key(Path::new("b.rs"), rs(), &s, "graph"));
        assert_ne!(meta, cache.meta_key(&src, rs(), &s, ""));
        let only = Arc::new(Settings::only(&[crate::registry::find("CA101").expect("CA101")]));
        assert_ne!(meta, cache.meta_key(&src, rs(), &only, "graph"));
        assert!(again.lookup_content(&src, meta, Cache::content_key("fn f() { }")).is_none());
        // A stamp is trusted only when it is old enough (racily clean files are hashed).
        assert!(again.lookup_stamp(&src, meta, Stamp::of(&src)).is_none(), "written just now");
        drop(settled(src.to_str().expect("utf-8")));
        let c = Cache::open(&dir).expect("open");
        c.store(&src, meta, Stamp::of(&src), content, false, &[], None, None);
        c.persist().expect("persist");
        let c = Cache::open(&dir).expect("open");
        assert!(c.lookup_stamp(&src, meta, Stamp::of(&src)).is_some(), "an old stamp stands for the content");
        assert!(c.lookup_stamp(&src, meta ^ 1, Stamp::of(&src)).is_none(), "other settings");
        // Another build's pack is not trusted; nor a corrupt one (cut short, or one byte changed).
        let pack = std::fs::read(dir.join(PACK)).expect("pack");
        let foreign = String::from_utf8_lossy(&pack).replacen("conc-advisor ", "conc-advisor 9.9.9 ", 1);
        for bad in [foreign.into_bytes(), pack[..pack.len() / 2].to_vec(), {
            let mut p = pack.clone();
            let last = p.len() - 3;
            p[last] ^= 0x20;
            p
        }] {
            std::fs::write(dir.join(PACK), &bad).expect("write");
            let c = Cache::open(&dir).expect("open");
            assert!(c.lookup_content(&src, meta, content).is_none());
        }
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

    /// The caller of the two-file crate the link tests use: an `async fn` calling `config::load`.
    const CALLS_LOAD: &str = "mod config;\nuse crate::config::load;\n\nasync fn handler() {\n    let _ = load();\n}\n";

    /// The callee of that crate: `config::load`, which reads the file `name` (a blocking call).
    fn blocking_load(name: &str) -> String {
        format!("pub fn load() -> String {{\n    std::fs::read_to_string(\"{name}\").unwrap()\n}}\n")
    }

    /// Issue 15: a chain `async fn` → a crate function in another file that blocks is relinked from cached
    /// facts: editing only the callee's file makes the finding disappear and appear again, as a cold run does.
    #[test]
    fn a_rust_chain_follows_an_edit_of_the_callee_in_another_file() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(&root, "app/src/lib.rs", CALLS_LOAD);
        let blocking = blocking_load("a.toml");
        write(&root, "app/src/config.rs", &blocking);

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

        // And back: the finding reappears, with its chain (one entry a file: config.rs is analysed again).
        write(&root, "app/src/config.rs", &blocking);
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!((c.hits(), c.stored()), (1, 1));
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

    /// The pack's entries, read back (tests forge and inspect them).
    fn entries(dir: &Path) -> (Entries, Links) {
        decode_pack(std::fs::read(dir.join(PACK)).expect("pack"), &tool_identity()).expect("a valid pack")
    }

    fn rewrite(dir: &Path, entries: &Entries, links: &Links) {
        let e: Vec<(&Path, Stored)> = entries.iter().map(|(p, e)| (p.as_path(), e.clone())).collect();
        let l: Vec<(&str, &(u128, Vec<u8>))> = links.iter().map(|(l, v)| (l.as_str(), v)).collect();
        std::fs::write(dir.join(PACK), encode_pack(&tool_identity(), &e, &l)).expect("write");
    }

    /// Issue 15: corrupt packs (truncated, garbage, another build's) are ignored and rewritten, never trusted;
    /// so are entries with findings of a rule this build does not know, or facts it cannot read.
    #[test]
    fn corrupt_and_foreign_entries_are_analysed_again() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(&root, "a.rs", "async fn f() { std::thread::sleep(d); }\n");
        write(&root, "b.py", "import time\nasync def f():\n    time.sleep(1)\n");
        let cold = run(&root, Some(&reopen(&dir)));
        assert_eq!(cold.len(), 2, "{cold:?}");
        let pack = std::fs::read(dir.join(PACK)).expect("pack");
        for bad in [b"garbage".to_vec(), pack[..pack.len() - 1].to_vec(), vec![]] {
            std::fs::write(dir.join(PACK), bad).expect("write");
            let c = reopen(&dir);
            assert_eq!(run(&root, Some(&c)), cold);
            assert_eq!((c.hits(), c.stored()), (0, 2));
        }
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!(c.hits(), 2);
        // A finding naming a rule this build does not know is not trusted.
        let (mut e, links) = entries(&dir);
        let a = e.get_mut(&root.join("a.rs")).expect("a.rs");
        let renamed = String::from_utf8(a.diags.to_vec()).expect("json").replace("\"CA101\"", "\"CA999\"");
        assert_ne!(renamed.as_bytes(), &a.diags[..]);
        a.diags = Bytes::from(renamed.into_bytes());
        rewrite(&dir, &e, &links);
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
        assert_eq!((c.hits(), c.stored()), (1, 1));
        // Facts this build cannot read, with no link findings to fall back on: the file is analysed again.
        let (mut e, _) = entries(&dir);
        for s in e.values_mut() {
            s.facts = s.facts.as_ref().map(|_| Bytes::from(b"{not facts".to_vec()));
        }
        rewrite(&dir, &e, &HashMap::new());
        let c = reopen(&dir);
        assert_eq!(run(&root, Some(&c)), cold);
    }

    /// Issue 15: an unchanged re-run reuses the link step's findings; editing one file makes it run again.
    #[test]
    fn the_link_step_is_reused_only_for_the_same_facts() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(&root, "app/src/lib.rs", CALLS_LOAD);
        write(&root, "app/src/config.rs", &blocking_load("a"));
        let cold = run(&root, Some(&reopen(&dir)));
        assert_eq!(cold.len(), 1, "{cold:?}");
        // Forge the stored link findings: a re-run with the same facts reports them, proving they are reused.
        let (e, mut links) = entries(&dir);
        let (inputs, _) = links["rust"].clone();
        links.insert("rust".into(), (inputs, b"[]".to_vec()));
        rewrite(&dir, &e, &links);
        assert!(run(&root, Some(&reopen(&dir))).is_empty());
        // Other facts (an edited file) are other inputs: the link step runs again.
        write(&root, "app/src/config.rs", &blocking_load("b"));
        let edited = run(&root, Some(&reopen(&dir)));
        assert_eq!(edited.len(), 1, "{edited:?}");
        assert_eq!(edited, run(&root, None));
    }

    /// Files whose stamps are settled are not read on a re-run, but the text of one a linked finding lands in
    /// is read then (its snippet and suppressions), whether the link step's findings are reused or made again.
    #[test]
    fn settled_files_are_read_only_when_a_linked_finding_needs_them() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        let lib = CALLS_LOAD;
        write(&root, "app/src/lib.rs", lib);
        write(&root, "app/src/config.rs", &blocking_load("a"));
        for f in ["app/src/lib.rs", "app/src/config.rs"] {
            drop(settled(root.join(f).to_str().expect("utf-8")));
        }
        let opts = CheckOptions { roots: vec![root.clone()], jobs: 1 };
        let resolver = || ConfigResolver::discover(Overrides::default());
        let cold = check_cached(&opts, &resolver(), Some(&reopen(&dir)));
        assert_eq!(cold.diagnostics.len(), 1);
        let c = reopen(&dir);
        let warm = check_cached(&opts, &resolver(), Some(&c));
        assert_eq!(c.hits(), 2);
        assert_eq!(warm.diagnostics, cold.diagnostics);
        assert_eq!(warm.sources.get(&root.join("app/src/lib.rs")).map(|t| &**t), Some(lib));
        // The callee edited: the link step runs again, and the settled caller is read for its finding.
        write(&root, "app/src/config.rs", &blocking_load("b"));
        let c = reopen(&dir);
        let edited = check_cached(&opts, &resolver(), Some(&c));
        assert_eq!((c.hits(), c.stored()), (1, 1));
        assert_eq!(edited.diagnostics.len(), 1);
        assert_eq!(edited.sources.get(&root.join("app/src/lib.rs")).map(|t| &**t), Some(lib));
    }

    /// Issue 15: entries of deleted files, and older entries of files checked again, are pruned; a run over
    /// part of the project keeps the others'.
    #[test]
    fn a_cached_file_with_findings_is_placed_from_its_stored_items() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let root = t.path().join("p");
        let (rs_text, py_text) = (
            "mod jobs {\n    async fn run() {\n        std::thread::sleep(D);\n    }\n}\n",
            "import time\n\nclass Worker:\n    async def run(self):\n        time.sleep(1)\n",
        );
        write(&root, "src/lib.rs", rs_text);
        write(&root, "app.py", py_text);
        for f in ["src/lib.rs", "app.py"] {
            drop(settled(root.join(f).to_str().expect("utf-8")));
        }
        let dir = t.path().join("cache");
        let placed = |c: &Cache| {
            let opts = CheckOptions { roots: vec![root.clone()], jobs: 2 };
            let r = check_cached(&opts, &ConfigResolver::discover(Overrides::default()), Some(c));
            let placements: Vec<_> = r
                .diagnostics
                .iter()
                .map(|d| {
                    let p = d.placement.as_deref().expect("placed");
                    (p.item.clone(), p.test_code, p.local_hash)
                })
                .collect();
            placements
        };
        let cold = placed(&Cache::open(&dir).expect("open"));
        let names: Vec<&str> = cold.iter().map(|(item, _, _)| item.as_str()).collect();
        assert_eq!(names, ["Worker.run", "jobs::run"]);
        // The items went into the cache with the findings.
        let (stored_entries, _) = entries(&dir);
        for f in ["src/lib.rs", "app.py"] {
            let stored = stored_entries[&root.join(f)].items.as_deref().and_then(Items::decode).expect("items stored");
            assert_eq!(stored.items().len(), 2, "{f}");
        }
        let warm_cache = reopen(&dir);
        let warm = placed(&warm_cache);
        assert_eq!(warm_cache.hits(), 2);
        assert_eq!(warm, cold, "same items, test flags and fingerprints from the stored items");
        // Stored items are what places the findings of an unchanged file: items that differ from the text show.
        let (mut edited, links) = entries(&dir);
        let python = SourceKind::of(Path::new("x.py")).expect("python");
        let other =
            Items::of(python, "class Other:\n    async def run(self):\n        a\n        b\n        time.sleep(2)\n");
        edited.get_mut(&root.join("app.py")).expect("entry").items = other.encode().map(Bytes::from);
        rewrite(&dir, &edited, &links);
        let names: Vec<String> = placed(&reopen(&dir)).into_iter().map(|(item, _, _)| item).collect();
        assert_eq!(names, ["Other.run", "jobs::run"]);
    }

    #[test]
    fn stale_entries_are_pruned() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        for f in ["a/x.py", "a/y.py", "b/z.py"] {
            write(&root, f, "import time\ndef f():\n    time.sleep(1)\n");
        }
        run(&root, Some(&reopen(&dir)));
        let names = |dir: &Path| {
            let mut v: Vec<String> = entries(dir)
                .0
                .keys()
                .map(|p| p.strip_prefix(&root).expect("under root").display().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&dir), ["a/x.py", "a/y.py", "b/z.py"]);
        // A run over `a` only keeps b's entry; a deleted file's entry goes.
        std::fs::remove_file(root.join("a/y.py")).expect("rm");
        let opts = CheckOptions { roots: vec![root.join("a")], jobs: 1 };
        check_cached(&opts, &ConfigResolver::discover(Overrides::default()), Some(&reopen(&dir)));
        assert_eq!(names(&dir), ["a/x.py", "b/z.py"]);
        // Under other settings a file's entry is replaced, not added to.
        let sel = Overrides { select: Some(vec!["CA503".into()]), ..Overrides::default() };
        run_with(&root, Some(&reopen(&dir)), sel);
        assert_eq!(names(&dir), ["a/x.py", "b/z.py"]);
        // An entry unused for longer than the limit goes, even when its file exists (b is not checked here).
        let (mut e, links) = entries(&dir);
        e.get_mut(&root.join("b/z.py")).expect("z").last_used = now_secs() - (MAX_UNUSED_DAYS + 1) * 24 * 3600;
        rewrite(&dir, &e, &links);
        check_cached(&opts, &ConfigResolver::discover(Overrides::default()), Some(&reopen(&dir)));
        assert_eq!(names(&dir), ["a/x.py"]);
        // The entries of the first format (one file each) are removed.
        std::fs::create_dir_all(dir.join("files")).expect("mkdir");
        std::fs::write(dir.join("files/0.json"), "{}").expect("write");
        write(&root, "a/x.py", "x = 1\n");
        run(&root, Some(&reopen(&dir)));
        assert!(!dir.join("files").exists());
    }

    /// Issue 15: `--stdin-filename`: a buffer is checked with its crate's facts (cached or read), so a chain
    /// through a function in another file appears as in a run over the crate; what is checked is the buffer,
    /// not the file on disk.
    #[test]
    fn a_rust_buffer_is_linked_with_its_crates_other_files() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        let calls = CALLS_LOAD;
        let no_call = "mod config;\n\nasync fn handler() {\n    let _ = 1;\n}\n";
        write(&root, "app/src/lib.rs", no_call);
        write(&root, "app/src/config.rs", &blocking_load("a"));
        let lib = root.join("app/src/lib.rs");
        let resolver = || ConfigResolver::discover(Overrides::default());
        let stdin = |text: &str, cache: Option<&Cache>| -> Found {
            let r = crate::engine::check_buffer(&lib, text, &resolver(), cache, 2).expect("checked");
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            assert_eq!(r.files_checked, 1);
            r.diagnostics
                .iter()
                .map(|d| {
                    let notes: Vec<_> = d.notes.iter().map(|n| n.message.as_str()).collect();
                    (
                        d.path.display().to_string(),
                        d.span.start.line,
                        d.rule.code,
                        format!("{} | {}", d.message, notes.join(" | ")),
                    )
                })
                .collect()
        };
        assert!(run(&root, Some(&reopen(&dir))).is_empty(), "on disk, nothing calls load");
        let whole_run_links = entries(&dir).1;
        // The buffer calls it: the chain into config.rs is found, config.rs's facts from the cache.
        let c = reopen(&dir);
        let found = stdin(calls, Some(&c));
        assert_eq!(c.hits(), 1, "config.rs from the cache; the buffer is analysed");
        assert_eq!(c.stored(), 0, "the buffer is never stored");
        assert_eq!(entries(&dir).1, whole_run_links, "a buffer's link findings do not replace a whole run's");
        // Exactly what a run over the crate reports once the file says the same.
        write(&root, "app/src/lib.rs", calls);
        let full: Found =
            run(&root, None).into_iter().map(|(p, l, r, m)| (root.join(p).display().to_string(), l, r, m)).collect();
        assert_eq!(found.iter().map(|f| (f.1, f.2)).collect::<Vec<_>>(), vec![(5, "CA102")], "{found:?}");
        assert_eq!(found, full);
        // Without a cache the crate's other files are read.
        assert_eq!(stdin(calls, None), full);
        // The buffer without the call: gone, though the file on disk still calls it.
        assert!(stdin(no_call, Some(&reopen(&dir))).is_empty());
        assert!(stdin(no_call, None).is_empty());
    }

    /// Issue 12: a buffer of an integration test is checked with its package's library, as in a run over the
    /// package.
    #[test]
    fn a_rust_test_buffer_is_linked_with_its_packages_library() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let root = t.path().join("proj");
        write(&root, "app/Cargo.toml", "[package]\nname = \"app\"\n");
        // The library holds async code itself (a library whose own files have none gathers no facts).
        write(&root, "app/src/lib.rs", "mod config;\npub use config::load;\npub async fn serve() {}\n");
        write(&root, "app/src/config.rs", &blocking_load("a"));
        let test = root.join("app/tests/it.rs");
        let text = "async fn t() {\n    let _ = app::load();\n}\n";
        let r = crate::engine::check_buffer(&test, text, &ConfigResolver::discover(Overrides::default()), None, 2)
            .expect("checked");
        let found: Vec<_> = r.diagnostics.iter().map(|d| (d.span.start.line, d.rule.code)).collect();
        assert_eq!(found, [(2, "CA102")], "{:#?}", r.diagnostics);
    }

    /// The same for Python: a thread target defined in another module of the project.
    #[test]
    fn a_python_buffer_is_linked_with_its_projects_other_modules() {
        let t = tempfile::TempDir::new().expect("tempdir");
        let (root, dir) = (t.path().join("proj"), t.path().join("cache"));
        write(&root, "pyproject.toml", "[project]\nname = \"p\"\n");
        write(&root, "pkg/__init__.py", "");
        write(
            &root,
            "pkg/work.py",
            "def crunch(n):\n    t = 0\n    for i in range(n):\n        t += i * i\n    return t\n",
        );
        let spawns = "import threading\nfrom pkg.work import crunch\nthreading.Thread(target=crunch).start()\n";
        let quiet = "import threading\nfrom pkg.work import crunch\nprint(crunch(3))\n";
        write(&root, "pkg/a.py", quiet);
        let a = root.join("pkg/a.py");
        let stdin = |text: &str, cache: Option<&Cache>| -> Vec<(usize, &'static str, String)> {
            let r = crate::engine::check_buffer(&a, text, &ConfigResolver::discover(Overrides::default()), cache, 2)
                .expect("checked");
            r.diagnostics.iter().map(|d| (d.span.start.line, d.rule.code, d.message.clone())).collect()
        };
        assert!(run(&root, Some(&reopen(&dir))).is_empty());
        let c = reopen(&dir);
        let found = stdin(spawns, Some(&c));
        assert_eq!(c.hits(), 2, "work.py and __init__.py from the cache");
        write(&root, "pkg/a.py", spawns);
        let full: Vec<_> = run(&root, None)
            .into_iter()
            .map(|(_, l, r, m)| (l, r, m.split(" | ").next().unwrap_or_default().to_string()))
            .collect();
        assert_eq!(found.iter().map(|f| f.1).collect::<Vec<_>>(), vec!["CA501"], "{found:?}");
        assert_eq!(found, full);
        assert_eq!(stdin(spawns, None), full);
        assert!(stdin(quiet, Some(&reopen(&dir))).is_empty());
    }
}
