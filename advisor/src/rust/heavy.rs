//! Evidence that code is CPU-heavy, shared by the executor-load (CA2xx) and oversubscription (CA3xx) rules:
//! loops that are heavy by clear evidence (nested loops, long literal ranges, hashing/compression/crypto/
//! parsing/sorting per iteration), calls that are heavy by design (password hashing), rayon parallel work, and
//! the crate-local calls whose heaviness the call graph decides later.
//!
//! Every analysis here walks only the subtree it is given (a loop or a closure body), and [`loop_evidence`]
//! caches its answer per loop and skips loops nested in one already judged, so each node is walked at most
//! twice in all.

use syn::visit::{self, Visit};
use syn::{Expr, ExprLit, Lit};

use super::callgraph::Callee;
use super::checker::Checker;
use super::semantic::SemanticModel;
use crate::diagnostic::Span;
use crate::settings::RustSettings;

/// Calls that are CPU-heavy by design wherever they are (key-derivation and password hashing).
const HEAVY_BY_DESIGN: &[&str] = &[
    "bcrypt::hash",
    "bcrypt::verify",
    "bcrypt::hash_with_result",
    "scrypt::scrypt",
    "scrypt::scrypt_simple",
    "scrypt::scrypt_check",
    "pbkdf2::pbkdf2",
    "pbkdf2::pbkdf2_hmac",
    "ring::pbkdf2::derive",
    "ring::pbkdf2::verify",
    "argon2::hash_encoded",
    "argon2::verify_encoded",
];

/// Methods that are CPU-heavy by design (argon2's `PasswordHasher`/`PasswordVerifier`).
const HEAVY_METHODS_BY_DESIGN: &[&str] = &["hash_password", "verify_password"];

/// Crate prefixes whose calls do hashing, compression, crypto or parsing over their input: heavy when done
/// once per iteration of a loop over data.
const HEAVY_PREFIXES: &[&str] = &[
    "sha1::",
    "sha2::",
    "sha3::",
    "md5::",
    "md-5::",
    "blake2::",
    "blake3::",
    "ring::digest",
    "ring::hmac",
    "hmac::",
    "crc32fast::",
    "xxhash_rust::",
    "flate2::",
    "zstd::",
    "brotli::",
    "lz4::",
    "lz4_flex::",
    "snap::",
    "miniz_oxide::",
    "image::",
    "regex::Regex::new",
    "aes_gcm::",
    "chacha20poly1305::",
    "rsa::",
    "ed25519_dalek::",
    "bcrypt::",
    "argon2::",
    "scrypt::",
    "pbkdf2::",
];

/// Methods that sort or otherwise do super-linear work over a collection.
const HEAVY_METHODS: &[&str] = &[
    "sort",
    "sort_unstable",
    "sort_by",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "sort_by_cached_key",
];

/// rayon methods and functions that run parallel work and wait for it.
pub const RAYON_METHODS: &[&str] = &[
    "par_iter",
    "par_iter_mut",
    "into_par_iter",
    "par_chunks",
    "par_chunks_mut",
    "par_bridge",
    "par_sort",
    "par_sort_unstable",
    "par_sort_by",
    "par_sort_by_key",
    "par_sort_unstable_by",
    "par_extend",
    "par_lines",
    "par_split",
];

/// rayon functions that run parallel work and wait for it.
pub const RAYON_FNS: &[&str] = &["rayon::join", "rayon::scope", "rayon::in_place_scope", "rayon::scope_fifo"];

/// Whether a resolved call path is heavy by design (password hashing and key derivation).
pub fn heavy_by_design(path: &str) -> bool {
    HEAVY_BY_DESIGN.contains(&path)
}

/// Whether a resolved call path hashes, compresses, encrypts or parses its input (heavy once per round of a
/// loop).
pub fn hashing_path(path: &str) -> bool {
    HEAVY_PREFIXES.iter().any(|h| path.starts_with(h))
}

/// Whether a method name is heavy by design.
pub fn heavy_method_by_design(name: &str) -> bool {
    HEAVY_METHODS_BY_DESIGN.contains(&name)
}

fn lit_u64(e: &Expr) -> Option<u64> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => i.base10_parse::<u64>().ok(),
        Expr::Paren(p) => lit_u64(&p.expr),
        Expr::Group(g) => lit_u64(&g.expr),
        Expr::Binary(b) => {
            let (l, r) = (lit_u64(&b.left)?, lit_u64(&b.right)?);
            match b.op {
                syn::BinOp::Mul(_) => l.checked_mul(r),
                syn::BinOp::Add(_) => l.checked_add(r),
                syn::BinOp::Shl(_) => u32::try_from(r).ok().and_then(|r| l.checked_shl(r)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The literal length of a range expression (`0..1_000_000`, `1..=n` is unknown), looking through method
/// chains on it (`(0..n).rev()`, `.step_by(k)` is ignored).
pub fn literal_range_len(e: &Expr) -> Option<u64> {
    match e {
        Expr::Range(r) => {
            let start = r.start.as_deref().map_or(Some(0), lit_u64)?;
            let end = lit_u64(r.end.as_deref()?)?;
            let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
            Some(end.saturating_sub(start) + u64::from(inclusive))
        }
        Expr::Paren(p) => literal_range_len(&p.expr),
        Expr::Group(g) => literal_range_len(&g.expr),
        Expr::MethodCall(m) if matches!(m.method.to_string().as_str(), "rev" | "into_iter" | "map" | "filter") => {
            literal_range_len(&m.receiver)
        }
        _ => None,
    }
}

/// What a walk over a loop or closure body found.
#[derive(Debug, Default)]
pub struct BodyFacts {
    /// An `.await` (or `yield_now`) outside nested async blocks and items that yields on every round: not an
    /// async lock's acquisition (`.lock().await`, `.read().await`, `.write().await`: an uncontended lock returns
    /// at once) and not under an `if` taken once every N rounds (`if i % N == 0 { yield_now().await }`).
    pub awaits: bool,
    /// An `.await` that rarely yields: an async lock's acquisition, or one under an `if` taken once every N
    /// rounds.
    pub rare_awaits: bool,
    /// The deepest nesting of loops that do real iteration (loops over a literal range of at most 16 are not
    /// counted).
    pub loop_depth: u32,
    /// The longest literal range iterated.
    pub max_range: u64,
    /// A heavy call inside a loop: its name.
    pub heavy_call_in_loop: Option<String>,
    /// A hashing, compression, crypto, serialisation or sort call anywhere: its name.
    pub heavy_call: Option<String>,
    /// A call heavy by design anywhere: its name.
    pub heavy_by_design: Option<String>,
    /// rayon parallel work anywhere: the method or function.
    pub rayon: Option<String>,
    /// Crate-local calls (for deferred checks).
    pub crate_calls: Vec<Callee>,
    /// When the walk's root is a loop: a hashing, compression, crypto or sort call made on every round (in its
    /// body or `while` condition, not in the iterable evaluated once).
    pub heavy_call_per_round: Option<String>,
    /// When the walk's root is a loop: the crate-local calls made on every round.
    pub crate_calls_per_round: Vec<Callee>,
}

impl BodyFacts {
    /// Why the body is CPU-heavy, if it is by clear evidence.
    pub fn heavy_reason(&self, settings: &RustSettings) -> Option<String> {
        if self.max_range >= settings.heavy_range {
            return Some(format!("a loop of {} iterations", self.max_range));
        }
        if self.loop_depth >= settings.heavy_loop_depth.max(2) {
            return Some(format!("loops nested {} deep", self.loop_depth));
        }
        if let Some(c) = &self.heavy_call_in_loop {
            return Some(format!("`{c}` on every iteration of a loop"));
        }
        if let Some(c) = &self.heavy_by_design {
            return Some(format!("`{c}`, which is slow by design"));
        }
        if let Some(r) = &self.rayon {
            return Some(format!("rayon parallel work (`{r}`)"));
        }
        None
    }

    /// Why a body that runs once per item (a thread's closure spawned per item) is CPU-heavy: as
    /// [`heavy_reason`](Self::heavy_reason), plus a hashing, compression, crypto or sort call anywhere in it.
    pub fn heavy_reason_per_item(&self, settings: &RustSettings) -> Option<String> {
        self.heavy_reason(settings).or_else(|| self.heavy_call.as_ref().map(|c| format!("`{c}` per item")))
    }
}

struct Walker<'s> {
    sem: &'s SemanticModel,
    facts: BodyFacts,
    depth: u32,
    /// Whether the walk is inside an async block nested in the body (its awaits do not count).
    nested_async: u32,
    /// Whether the walk is inside the branch of an `if` taken once every N rounds (`if i % N == 0`).
    rare: u32,
    /// Whether the walk has entered its root loop (its first loop).
    entered_root: bool,
    /// Whether the walk is in the root loop's body or condition (code run on every round).
    per_round: bool,
    /// Expression nesting below the walk's root: past [`MAX_NESTING`] the walk stops descending, so it never
    /// adds more than a bounded amount of stack to the visit it runs inside.
    level: u32,
}

/// How deep below its root an evidence walk descends.
pub const MAX_NESTING: u32 = 96;

impl Walker<'_> {
    /// Only `for` loops over something other than a small literal range count as nesting: `loop`/`while`
    /// (retry, poll and state-machine loops) run an unknown, usually small, number of times.
    fn enter_loop(&mut self, iter: Option<&Expr>, body: &syn::Block, cond: Option<&Expr>) {
        let len = iter.and_then(literal_range_len);
        if let Some(n) = len {
            self.facts.max_range = self.facts.max_range.max(n);
        }
        if let Some(e) = iter {
            self.visit_expr(e);
        }
        let root = !self.entered_root && self.level <= 1;
        self.entered_root = true;
        if root {
            self.per_round = true;
        }
        if let Some(c) = cond {
            self.visit_expr(c);
        }
        let counts = iter.is_some() && len.is_none_or(|n| n > 16);
        if counts {
            self.depth += 1;
            self.facts.loop_depth = self.facts.loop_depth.max(self.depth);
        }
        self.visit_block(body);
        if counts {
            self.depth -= 1;
        }
        if root {
            self.per_round = false;
        }
    }

    fn note_call(&mut self, name: String, heavy: bool) {
        if heavy && self.per_round && self.facts.heavy_call_per_round.is_none() {
            self.facts.heavy_call_per_round = Some(name.clone());
        }
        if heavy && self.facts.heavy_call.is_none() {
            self.facts.heavy_call = Some(name.clone());
        }
        if heavy && self.depth > 0 && self.facts.heavy_call_in_loop.is_none() {
            self.facts.heavy_call_in_loop = Some(name);
        }
    }
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_expr(&mut self, e: &'ast Expr) {
        if self.level >= MAX_NESTING {
            return;
        }
        self.level += 1;
        visit::visit_expr(self, e);
        self.level -= 1;
    }
    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.enter_loop(Some(&f.expr), &f.body, None);
    }
    fn visit_expr_while(&mut self, w: &'ast syn::ExprWhile) {
        self.enter_loop(None, &w.body, Some(&w.cond));
    }
    fn visit_expr_loop(&mut self, l: &'ast syn::ExprLoop) {
        self.enter_loop(None, &l.body, None);
    }
    fn visit_expr_await(&mut self, a: &'ast syn::ExprAwait) {
        if self.nested_async == 0 {
            if self.rare > 0 || is_lock_acquisition(&a.base) {
                self.facts.rare_awaits = true;
            } else {
                self.facts.awaits = true;
            }
        }
        visit::visit_expr_await(self, a);
    }
    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        if !is_rare_condition(&i.cond) {
            visit::visit_expr_if(self, i);
            return;
        }
        self.visit_expr(&i.cond);
        self.rare += 1;
        self.visit_block(&i.then_branch);
        self.rare -= 1;
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
    }
    fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {
        // A nested async block is another future (usually a spawned task): judged on its own when visited.
    }
    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        if c.asyncness.is_none() {
            visit::visit_expr_closure(self, c);
        }
    }
    fn visit_item(&mut self, _: &'ast syn::Item) {}
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let Some(p) = self.sem.resolve_callee(&c.func) {
            if p.ends_with("yield_now") && self.nested_async == 0 {
                if self.rare > 0 {
                    self.facts.rare_awaits = true;
                } else {
                    self.facts.awaits = true;
                }
            }
            if heavy_by_design(&p) && self.facts.heavy_by_design.is_none() {
                self.facts.heavy_by_design = Some(p.clone());
            }
            if RAYON_FNS.contains(&p.as_str()) && self.facts.rayon.is_none() {
                self.facts.rayon = Some(p.clone());
            }
            if self.sem.linked(&p) {
                self.facts.crate_calls.push(Callee::Path(p.clone()));
                if self.per_round {
                    self.facts.crate_calls_per_round.push(Callee::Path(p.clone()));
                }
            }
            let heavy = hashing_path(&p);
            let elsewhere = runs_elsewhere(p.rsplit("::").next().unwrap_or_default());
            self.note_call(p, heavy);
            if elsewhere {
                // The closure runs on another thread or pool: not this body's work.
                self.visit_expr(&c.func);
                return;
            }
        }
        visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let name = m.method.to_string();
        if RAYON_METHODS.contains(&name.as_str()) && self.facts.rayon.is_none() {
            self.facts.rayon = Some(name.clone());
        }
        if heavy_method_by_design(&name) && self.facts.heavy_by_design.is_none() {
            self.facts.heavy_by_design = Some(name.clone());
        }
        if !super::callgraph::AMBIGUOUS_METHODS.contains(&name.as_str()) {
            self.facts.crate_calls.push(Callee::Method { name: name.clone(), ty: None });
            if self.per_round {
                self.facts.crate_calls_per_round.push(Callee::Method { name: name.clone(), ty: None });
            }
        }
        let heavy = HEAVY_METHODS.contains(&name.as_str());
        let elsewhere = runs_elsewhere(&name);
        self.note_call(name, heavy);
        if elsewhere {
            self.visit_expr(&m.receiver);
            return;
        }
        visit::visit_expr_method_call(self, m);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(body) = super::macros::parse(mac) {
            for e in &body.exprs {
                self.visit_expr(e);
            }
            if self.level < MAX_NESTING {
                self.level += 8;
                for s in &body.stmts {
                    self.visit_stmt(s);
                }
                self.level -= 8;
            }
        }
    }
}

/// Whether an awaited expression acquires an async lock (`m.lock()`, `rw.read()`, `rw.write()` without
/// arguments): uncontended, it returns without yielding.
fn is_lock_acquisition(e: &Expr) -> bool {
    match e {
        Expr::MethodCall(m) => m.args.is_empty() && matches!(m.method.to_string().as_str(), "lock" | "read" | "write"),
        Expr::Paren(p) => is_lock_acquisition(&p.expr),
        _ => false,
    }
}

/// Whether an `if` condition holds once every N rounds: a remainder compared with a literal
/// (`i % 1000 == 0`), a mask (`n & 0xfff == 0`) or `is_multiple_of(..)`.
fn is_rare_condition(c: &Expr) -> bool {
    match c {
        Expr::Paren(p) => is_rare_condition(&p.expr),
        Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)) => {
            is_rare_condition(&b.left) || is_rare_condition(&b.right)
        }
        Expr::Binary(b) if matches!(b.op, syn::BinOp::Eq(_)) => {
            let modulo = |e: &Expr| {
                let e = match e {
                    Expr::Paren(p) => &*p.expr,
                    e => e,
                };
                matches!(e, Expr::Binary(m) if matches!(m.op, syn::BinOp::Rem(_) | syn::BinOp::BitAnd(_)) && is_period(&m.right))
            };
            (modulo(&b.left) && lit_u64(&b.right).is_some()) || (modulo(&b.right) && lit_u64(&b.left).is_some())
        }
        Expr::MethodCall(m) => m.method == "is_multiple_of",
        _ => false,
    }
}

/// A period of at least 8 rounds: a literal, or a constant (`YIELD_EVERY`).
fn is_period(e: &Expr) -> bool {
    match e {
        Expr::Path(p) => p.path.segments.last().is_some_and(|s| {
            let s = s.ident.to_string();
            s.len() > 1 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }),
        e => lit_u64(e).is_some_and(|n| n >= 8),
    }
}

/// Whether a call or method of this name runs its closure argument on another thread or pool.
fn runs_elsewhere(name: &str) -> bool {
    name.starts_with("spawn") || matches!(name, "unblock" | "block_in_place" | "execute" | "block")
}

/// Walks `e` (a loop, a closure body) and returns what it found.
pub fn body_facts(sem: &SemanticModel, e: &Expr) -> BodyFacts {
    let mut w = Walker {
        sem,
        facts: BodyFacts::default(),
        depth: 0,
        nested_async: 0,
        rare: 0,
        entered_root: false,
        per_round: false,
        level: 0,
    };
    w.visit_expr(e);
    w.facts
}

/// The span of a loop's header: from its label or keyword to the end of its iterable or condition.
pub fn loop_header_span(e: &Expr) -> Option<Span> {
    use syn::spanned::Spanned;
    let (start, end) = match e {
        Expr::ForLoop(f) => (f.for_token.span, f.expr.span()),
        Expr::While(w) => (w.while_token.span, w.cond.span()),
        Expr::Loop(l) => (l.loop_token.span, l.loop_token.span),
        _ => return None,
    };
    Some(Span::new(Span::from_pm2(start).start, Span::from_pm2(end).end))
}

/// Per-file state of [`loop_evidence`]: the end of the last loop judged heavy (loops inside it are not judged
/// again), the answers by loop address, and the loops being visited whose body awaits on every round.
/// The loops of a file judged so far (the checker keeps one per file: the rules that read loop evidence and
/// the call graph's facts share the answers).
#[derive(Default)]
pub(crate) struct LoopState {
    covered_until: Option<(crate::diagnostic::Location, usize)>,
    answers: std::collections::HashMap<usize, Option<String>>,
    /// Loops judged so far that enclose the current point, (end, whether their body awaits on every round):
    /// pruned as the visit moves past them.
    enclosing: Vec<(crate::diagnostic::Location, bool)>,
    /// For loops in async code with no heavy evidence of their own and nothing that yields every round: the
    /// crate functions they call (a call that hashes makes the loop CPU-heavy once the crate is linked).
    callees: std::collections::HashMap<usize, Vec<Callee>>,
    /// Loops in async code whose `.await`s all rarely yield (by address).
    rare_awaits: std::collections::HashSet<usize>,
}

impl LoopState {
    /// Forgets the answers keyed by the address of loops of a syntax tree that is dropped (see
    /// `Checker::between_chunks`).
    pub(crate) fn forget_nodes(&mut self) {
        self.answers.clear();
        self.callees.clear();
        self.enclosing.clear();
        self.rare_awaits.clear();
    }
}

/// Whether the evidence is only the nesting of loops (no long range, no heavy call, no rayon).
fn nesting_only(facts: &BodyFacts, settings: &RustSettings) -> bool {
    facts.max_range < settings.heavy_range
        && facts.heavy_call_in_loop.is_none()
        && facts.heavy_by_design.is_none()
        && facts.rayon.is_none()
}

/// Whether the loop `e` (a `for`, `while` or `loop`) is CPU-heavy by clear evidence and does not yield: the
/// reason, or `None`. Loops inside a loop already judged heavy answer `None` (the outer one is reported).
/// A heavy loop in the body of a sync function is recorded in that function's call-graph summary.
///
/// Awaits that rarely yield do not count: an async lock's acquisition, an `.await` under `if i % N == 0`. In
/// async code a loop is also heavy when it hashes (compresses, encrypts) on every round with nothing that
/// yields; a loop whose heaviness is only its nesting is not, inside a loop whose body awaits on every round
/// (a page of a paginated download: the I/O bounds the work).
pub fn loop_evidence(cx: &mut Checker<'_>, e: &Expr) -> Option<String> {
    let span = loop_header_span(e)?;
    let key = std::ptr::from_ref(e) as usize;
    if let Some(a) = cx.loops.answers.get(&key) {
        return a.clone();
    }
    let inside = cx.loops.covered_until.is_some_and(|(end, _)| span.start < end);
    cx.loops.enclosing.retain(|(end, _)| span.start < *end);
    let answer = if inside {
        None
    } else {
        let mut facts = body_facts(cx.semantic(), e);
        let settings = &cx.settings().rust;
        let in_async = cx.context().in_async();
        let mut reason = if facts.awaits { None } else { facts.heavy_reason(settings) };
        // A long range of trivial rounds that yields every N rounds is cooperative enough: with rare awaits the
        // evidence must be the work of each round (nesting, hashing), not the count.
        if facts.rare_awaits && facts.max_range >= settings.heavy_range {
            let range = std::mem::take(&mut facts.max_range);
            reason = facts.heavy_reason(settings);
            facts.max_range = range;
        }
        if reason.is_some() && in_async && nesting_only(&facts, settings) && cx.loops.enclosing.iter().any(|(_, a)| *a)
        {
            reason = None;
        }
        if in_async && !facts.awaits && facts.rare_awaits {
            cx.loops.rare_awaits.insert(key);
        }
        if reason.is_none() && in_async && !facts.awaits {
            reason = facts.heavy_call_per_round.as_ref().map(|c| format!("`{c}` on every iteration of a loop"));
            if reason.is_none() && !facts.crate_calls_per_round.is_empty() {
                cx.loops.callees.insert(key, std::mem::take(&mut facts.crate_calls_per_round));
            }
        }
        use syn::spanned::Spanned;
        let end = Span::from_pm2(e.span()).end;
        if reason.is_some() {
            cx.loops.covered_until = Some((end, key));
        }
        cx.loops.enclosing.push((end, facts.awaits));
        reason
    };
    if let Some(r) = &answer {
        let (facts, ctx) = cx.facts();
        facts.on_heavy(ctx, r, span);
    }
    cx.loops.answers.insert(key, answer.clone());
    answer
}

/// Whether the loop (judged by [`loop_evidence`] in async code) awaits, but only in ways that rarely yield.
pub fn loop_awaits_rarely(cx: &Checker<'_>, e: &Expr) -> bool {
    cx.loops.rare_awaits.contains(&(std::ptr::from_ref(e) as usize))
}

/// For a loop in async code that [`loop_evidence`] found no heavy evidence in and nothing yielding every round:
/// the crate functions it calls (taken once).
pub fn loop_crate_callees(cx: &mut Checker<'_>, e: &Expr) -> Option<Vec<Callee>> {
    cx.loops.callees.remove(&(std::ptr::from_ref(e) as usize))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::settings::Settings;

    fn codes(src: &str) -> Vec<&'static str> {
        crate::rust::analyze(Path::new("src/lib.rs"), src, &Settings::default()).iter().map(|d| d.rule.code).collect()
    }

    #[test]
    fn literal_ranges_and_thresholds() {
        let r = |s: &str| super::literal_range_len(&syn::parse_str(s).unwrap());
        assert_eq!(r("0..1_000_000"), Some(1_000_000));
        assert_eq!(r("1..=10"), Some(10));
        assert_eq!(r("(0..1 << 20).rev()"), Some(1 << 20));
        assert_eq!(r("0..n"), None);
        assert!(codes("async fn f() { for i in 0..10_000 { g(i); } }").contains(&"CA201"));
        assert!(!codes("async fn f() { for i in 0..9_999 { g(i); } }").contains(&"CA201"));
        let mut strict = Settings::default();
        strict.rust.heavy_range = 100;
        let d = crate::rust::analyze(Path::new("src/lib.rs"), "async fn f() { for i in 0..500 { g(i); } }", &strict);
        assert_eq!(d.iter().filter(|d| d.rule.code == "CA201").count(), 1);
    }

    #[test]
    fn only_the_outermost_heavy_loop_is_reported() {
        let src = "async fn f(g: Vec<Vec<Vec<u8>>>) { for a in &g { for b in a { for c in b { h(c); } } } }";
        assert_eq!(codes(src).iter().filter(|c| **c == "CA201").count(), 1);
    }

    #[test]
    fn deep_loop_bodies_stay_within_a_small_stack() {
        let src =
            format!("async fn f(v: Vec<u8>) {{ for x in v {{ for y in w {{ let z = a{}; }} }} }}", ".m()".repeat(250));
        let out = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || codes(&src))
            .expect("thread")
            .join()
            .expect("no overflow");
        assert!(out.contains(&"CA201"), "{out:?}");
    }
}
