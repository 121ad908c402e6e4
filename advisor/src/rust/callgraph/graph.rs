//! The crate-level graph: the functions of one crate's files ([`crate_root`]) indexed by qualified name,
//! calls resolved (by qualified name, re-exported names by unique last segment, methods by receiver type or
//! by a unique name), and the blocking / CPU-heavy [`Summary`]s propagated from the functions that block or
//! are heavy themselves to their callers (reverse breadth-first search: shortest chains; recursion terminates
//! because each function is settled once). Rules read it in their link step; it reports nothing itself.

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

use super::facts::{Callee, FileFacts, FnFacts, Site};
use super::std_methods::AMBIGUOUS_METHODS;
use crate::diagnostic::Span;

/// Identifies a function of the crate: (file index, function index).
pub type FnId = (usize, usize);

/// A step of a chain: the function called and the span of the call (in the caller's file).
#[derive(Debug, Clone)]
pub struct Step {
    /// The callee.
    pub callee: FnId,
    /// Where the caller calls it.
    pub span: Span,
}

/// How a function ends up blocking or being heavy: the next step (none when the function does it itself),
/// and the fact at the end of the chain.
#[derive(Debug, Clone)]
pub struct Reach<T> {
    /// The call to follow (none: the function itself holds the fact).
    pub next: Option<Step>,
    /// The fact the chain ends at: (function holding it, index into its facts).
    pub end: (FnId, T),
}

/// The propagated summary of one function.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// For each blocking rule (by code) the function blocks under, the shortest chain to the blocking call.
    pub blocks: HashMap<&'static str, Reach<usize>>,
    /// If the function is CPU-heavy, the shortest chain to the evidence.
    pub heavy: Option<Reach<usize>>,
    /// If the function hashes (compresses, encrypts) on every call, itself or through its callees, the
    /// shortest chain to the call (an index into [`FnFacts::hashes`](super::FnFacts::hashes)).
    pub hashes: Option<Reach<usize>>,
}

/// The functions of one crate with their resolved calls and propagated summaries.
pub struct CrateGraph<'f> {
    files: &'f [FileFacts],
    by_key: HashMap<&'f str, Vec<FnId>>,
    by_last: HashMap<&'f str, Vec<FnId>>,
    methods: HashMap<&'f str, Vec<FnId>>,
    /// Propagated on first use: a crate whose link steps only resolve calls (lock orders) never pays for it.
    summaries: OnceCell<HashMap<FnId, Summary>>,
    /// The functions each call site of each file resolves to, resolved once on first use for every link step.
    site_callees: OnceCell<Vec<Vec<Vec<FnId>>>>,
}

impl<'f> CrateGraph<'f> {
    /// Indexes the functions of a crate's files for resolving calls; summaries are propagated when first
    /// asked for ([`summary`](Self::summary), [`chain`](Self::chain)).
    pub fn new(files: &'f [FileFacts]) -> Self {
        let mut by_key: HashMap<&str, Vec<FnId>> = HashMap::new();
        let mut by_last: HashMap<&str, Vec<FnId>> = HashMap::new();
        let mut methods: HashMap<&str, Vec<FnId>> = HashMap::new();
        for (fi, file) in files.iter().enumerate() {
            for (ni, f) in file.fns.iter().enumerate() {
                by_key.entry(&f.key).or_default().push((fi, ni));
                if f.is_method {
                    if f.has_self {
                        methods.entry(&f.name).or_default().push((fi, ni));
                    }
                } else {
                    by_last.entry(&f.name).or_default().push((fi, ni));
                }
            }
        }
        CrateGraph { files, by_key, by_last, methods, summaries: OnceCell::new(), site_callees: OnceCell::new() }
    }

    /// The facts of the crate's files, in the order they were given.
    pub fn files(&self) -> &'f [FileFacts] {
        self.files
    }

    /// The facts of a function.
    pub fn fn_facts(&self, id: FnId) -> &'f FnFacts {
        &self.files[id.0].fns[id.1]
    }

    /// The file a function is in.
    pub fn file_of(&self, id: FnId) -> &'f Path {
        &self.files[id.0].path
    }

    /// The propagated summary of a function.
    pub fn summary(&self, id: FnId) -> Option<&Summary> {
        self.summaries().get(&id)
    }

    fn summaries(&self) -> &HashMap<FnId, Summary> {
        self.summaries.get_or_init(|| self.propagate())
    }

    /// Every function of the crate.
    pub fn functions(&self) -> impl Iterator<Item = FnId> + '_ {
        self.files.iter().enumerate().flat_map(|(fi, f)| (0..f.fns.len()).map(move |ni| (fi, ni)))
    }

    /// The functions a call may reach (several for `#[cfg]` variants of one name; none when unresolved or
    /// ambiguous).
    pub fn resolve(&self, callee: &Callee) -> Vec<FnId> {
        match callee {
            Callee::Path(p) => {
                if let Some(ids) = self.by_key.get(p.as_str()) {
                    return ids.clone();
                }
                // A re-export (`pub use config::load;` then `crate::load()`): a unique free function of that name.
                let last = callee.short();
                match self.by_last.get(last) {
                    Some(ids) if same_key(self, ids) => ids.clone(),
                    _ => Vec::new(),
                }
            }
            Callee::Method { name, ty } => {
                if let Some(t) = ty {
                    let key = format!("{t}::{name}");
                    if let Some(ids) = self.by_key.get(key.as_str()) {
                        return ids.clone();
                    }
                    if !t.starts_with("crate::") {
                        return Vec::new();
                    }
                }
                if AMBIGUOUS_METHODS.contains(&name.as_str()) {
                    return Vec::new();
                }
                match self.methods.get(name.as_str()) {
                    Some(ids) if same_key(self, ids) => ids.clone(),
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Every call site in async or `spawn_blocking` context ([`Site`]) of the crate, in file order, with the
    /// functions it resolves to (see [`resolve`](Self::resolve); resolved once, whichever rule asks first).
    pub fn sites(&self) -> impl Iterator<Item = (&'f FileFacts, &'f Site, &[FnId])> + '_ {
        let callees = self.site_callees.get_or_init(|| {
            self.files.iter().map(|f| f.sites.iter().map(|s| self.resolve(&s.callee)).collect()).collect()
        });
        self.files
            .iter()
            .zip(callees)
            .flat_map(|(file, ids)| file.sites.iter().zip(ids).map(move |(site, ids)| (file, site, ids.as_slice())))
    }

    /// The callee of the call at `span` in function `func` of file `fi`, as the visit recorded it: among the
    /// function's own calls, else among the file's call sites in async context.
    pub fn callee_at(&self, fi: usize, func: usize, span: Span) -> Option<&'f Callee> {
        let file = &self.files[fi];
        let own = file.fns.get(func).and_then(|f| f.calls.iter().find(|c| c.span == span)).map(|c| &c.callee);
        own.or_else(|| file.sites.iter().find(|s| s.span == span).map(|s| &s.callee))
    }

    fn propagate(&self) -> HashMap<FnId, Summary> {
        // Resolve every edge once; build the reverse graph (callee → callers with the call's span).
        let ids: Vec<FnId> = self.functions().collect();
        let mut callers: HashMap<FnId, Vec<(FnId, Span)>> = HashMap::new();
        for &id in &ids {
            let f = self.fn_facts(id);
            if f.is_async {
                continue;
            }
            for e in &f.calls {
                for c in self.resolve(&e.callee) {
                    if c != id && !self.fn_facts(c).is_async {
                        callers.entry(c).or_default().push((id, e.span));
                    }
                }
            }
        }
        let mut summaries: HashMap<FnId, Summary> = HashMap::new();
        // Blocking, per rule: from the functions that block themselves.
        let mut rules: Vec<&'static str> = Vec::new();
        for &id in &ids {
            for b in &self.fn_facts(id).blocks {
                if !rules.contains(&b.rule.code) {
                    rules.push(b.rule.code);
                }
            }
        }
        let own = |id: &FnId| !self.fn_facts(*id).is_async;
        for code in rules {
            let seeds = ids
                .iter()
                .filter(|id| own(id))
                .filter_map(|&id| self.fn_facts(id).blocks.iter().position(|b| b.rule.code == code).map(|i| (id, i)));
            spread(&mut summaries, &callers, seeds, |s, reach| match s.blocks.entry(code) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(reach);
                    true
                }
                std::collections::hash_map::Entry::Occupied(_) => false,
            });
        }
        // CPU-heavy, and hashing on every call: the same search.
        let heavy = ids.iter().filter(|id| own(id) && !self.fn_facts(**id).heavy.is_empty()).map(|&id| (id, 0));
        spread(&mut summaries, &callers, heavy, |s, reach| fill(&mut s.heavy, reach));
        let hashes = ids.iter().filter(|id| own(id) && !self.fn_facts(**id).hashes.is_empty()).map(|&id| (id, 0));
        spread(&mut summaries, &callers, hashes, |s, reach| fill(&mut s.hashes, reach));
        summaries
    }

    /// The chain from `start` following `next` steps of a reach (bounded by the number of functions).
    pub fn chain<T: Copy>(
        &self,
        start: FnId,
        get: impl Fn(&Summary) -> Option<&Reach<T>>,
    ) -> Vec<(FnId, Option<Step>)> {
        let summaries = self.summaries();
        let mut out = Vec::new();
        let mut cur = start;
        let limit = summaries.len() + 1;
        while out.len() <= limit {
            let Some(r) = summaries.get(&cur).and_then(&get) else { break };
            out.push((cur, r.next.clone()));
            match &r.next {
                Some(s) => cur = s.callee,
                None => break,
            }
        }
        out
    }
}

/// Reverse breadth-first search over `callers` from `seeds` (a function and the index of the fact it holds
/// itself): every function that reaches one gets the shortest chain to it, through `put` (which stores a reach
/// in its summary's slot when that is still empty, and says whether it did).
fn spread(
    summaries: &mut HashMap<FnId, Summary>,
    callers: &HashMap<FnId, Vec<(FnId, Span)>>,
    seeds: impl Iterator<Item = (FnId, usize)>,
    put: impl Fn(&mut Summary, Reach<usize>) -> bool,
) {
    let mut queue = VecDeque::new();
    for (id, i) in seeds {
        let end = (id, i);
        if put(summaries.entry(id).or_default(), Reach { next: None, end }) {
            queue.push_back((id, end));
        }
    }
    while let Some((id, end)) = queue.pop_front() {
        for &(caller, span) in callers.get(&id).map_or(&[][..], Vec::as_slice) {
            if put(summaries.entry(caller).or_default(), Reach { next: Some(Step { callee: id, span }), end }) {
                queue.push_back((caller, end));
            }
        }
    }
}

/// Stores `reach` in `slot` when it is empty; whether it did.
fn fill(slot: &mut Option<Reach<usize>>, reach: Reach<usize>) -> bool {
    let empty = slot.is_none();
    if empty {
        *slot = Some(reach);
    }
    empty
}

fn same_key(g: &CrateGraph<'_>, ids: &[FnId]) -> bool {
    ids.split_first().is_some_and(|(first, rest)| {
        let k = &g.fn_facts(*first).key;
        rest.iter().all(|i| &g.fn_facts(*i).key == k)
    })
}

/// The directory that roots the crate a file belongs to: the part of its path before the last `src`
/// component (`vendor/tokio/src/net/tcp.rs` → `vendor/tokio`), or its parent directory for files outside a
/// `src` tree (tests, examples, loose files). A `src` above the package the file is in does not count: in
/// `~/src/app/tests/t.rs` (`app/Cargo.toml` lies between that `src` and the file) the file is outside a `src`
/// tree, and its crate is `~/src/app/tests`, not `~`.
pub fn crate_root(path: &Path) -> PathBuf {
    let comps: Vec<_> = path.components().collect();
    if let Some(i) = comps.iter().rposition(|c| c.as_os_str() == "src")
        && !manifest_between(&comps[..i], &comps[i + 1..comps.len().saturating_sub(1)])
    {
        return comps[..i].iter().collect();
    }
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Whether a directory below `above/src` and above the file (`dirs`: the directories between them) holds a
/// `Cargo.toml` while `above` holds none: then that `src` is not the file's package's. Only looked up when the
/// `src` is not directly above the package (one `stat` per directory of such paths).
fn manifest_between(above: &[std::path::Component<'_>], dirs: &[std::path::Component<'_>]) -> bool {
    if dirs.is_empty() {
        return false;
    }
    let root: PathBuf = above.iter().collect();
    if root.join("Cargo.toml").is_file() {
        return false;
    }
    let mut d = root.join("src");
    dirs.iter().any(|c| {
        d.push(c);
        d.join("Cargo.toml").is_file()
    })
}
