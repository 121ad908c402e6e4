//! What a function's work is: CPU-heavy, I/O-bound or unknown, with the evidence, followed through the calls it
//! makes to other functions of the same module.
//!
//! Evidence, deliberately strict so that rules act only on clear cases:
//! - **CPU**: a loop (`for`, `while`, comprehension) with no I/O, no `await` and no call into unknown code that
//!   iterates a literal range of at least `heavy-range`, or does arithmetic while iterating `range(n)`, looping
//!   inside another loop, or spinning in a `while`; hashing, compression or parsing calls inside such a loop;
//!   `hashlib.pbkdf2_hmac`/`scrypt`; recursion whose results are combined arithmetically (`fib(n-1) + fib(n-2)`).
//! - **I/O**: `time.sleep`, `open`, `input`, `subprocess`, `os.system`, sockets, `requests`/`httpx`/`urllib`,
//!   database drivers; methods called on objects these return.
//! - I/O only under an `if` or in an `except` block is conditional, so *weak*: the function may not do it.
//! - `print` and logging are *weak* I/O: they neither make a function I/O-bound nor leave a loop CPU-heavy (a
//!   thread that only prints is not CPU-bound).
//!
//! A function with both kinds of evidence, or with a call into code the model cannot see (another module, a
//! third-party library), is **unknown**; rules stay silent on unknown targets.
//!
//! In *project mode* ([`Summarizer::for_project`]) a call to an imported name that no list above knows
//! (`from pkg.work import crunch`, `w.crunch(…)` after `import pkg.work as w`, `from .util import f`) is not
//! unknown but an [`ExtCall`] naming the absolute target (`pkg.work.crunch`): the project phase
//! ([`super::project`]) resolves it to the other file's function and joins the summaries. A loop that makes
//! such a call is not counted as CPU evidence (its callee is not seen here).

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};

use super::ast::{BinOp, Expr, ExprKind, Range, Stmt, StmtKind, walk_body_exprs};
use super::project::ModuleName;
use super::semantic::{FuncId, Model};

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Where it is.
    pub range: Range,
    /// What it is, for messages (`loop doing arithmetic over range(n)`, `time.sleep`).
    pub what: String,
    /// The function it is in.
    pub func: FuncId,
    /// The work runs in C code that releases the GIL (hashlib, zlib, bz2, lzma): threads do run it in parallel.
    pub releases_gil: bool,
    /// Strong evidence of *much* work (a large literal range, nested arithmetic loops, hashing/compression/parsing
    /// in a loop, arithmetic recursion); weak evidence (`range(n)` or `while` with arithmetic) only says what
    /// *kind* of work a function does, which is enough for a function handed to a thread or a pool.
    pub strong: bool,
}

/// The classification of a function's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Clear CPU work and no I/O.
    CpuHeavy,
    /// Clear I/O and no CPU work.
    IoBound,
    /// Neither, both, or calls into code we cannot see.
    Unknown,
}

/// The evidence gathered for a function (including the functions it calls in this module).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// CPU evidence.
    pub cpu: Vec<Evidence>,
    /// Strong I/O evidence.
    pub io: Vec<Evidence>,
    /// Printing, logging, or I/O-looking methods on objects of unknown type.
    pub weak_io: bool,
    /// The first call into code the model cannot see.
    pub unknown: Option<Evidence>,
    /// Calls to functions of other modules of the project (project mode only; empty otherwise).
    pub external: Vec<ExtCall>,
}

/// A call to an imported function, named absolutely, for the project phase to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtCall {
    /// The absolute dotted name of the callee (`pkg.work.crunch`).
    pub qual: String,
    /// The call.
    pub range: Range,
    /// The function it is made in.
    pub func: FuncId,
    /// Made only under an `if` or in an `except` block: the callee's I/O is conditional.
    pub conditional: bool,
}

impl Summary {
    /// The classification.
    pub fn kind(&self) -> Kind {
        if self.unknown.is_some() || !self.external.is_empty() {
            Kind::Unknown
        } else if !self.cpu.is_empty() && self.io.is_empty() {
            Kind::CpuHeavy
        } else if !self.io.is_empty() && self.cpu.is_empty() {
            Kind::IoBound
        } else {
            Kind::Unknown
        }
    }

    /// Whether some of the CPU work holds the GIL (pure Python bytecode).
    pub fn holds_gil(&self) -> bool {
        self.cpu.iter().any(|e| !e.releases_gil)
    }
}

/// How a call counts.
#[derive(Debug, Clone, PartialEq)]
enum CallClass {
    Pure,
    Io(String),
    WeakIo,
    /// Hashing, compression or parsing: CPU work when repeated in a loop.
    HeavyInLoop(String, bool),
    /// CPU-heavy on its own (key derivation).
    Heavy(String, bool),
    Func(FuncId),
    /// A function of another module of the project (project mode).
    External(String),
    Unknown(String),
}

const IO_PREFIXES: &[&str] = &[
    "time.sleep",
    "builtins.open",
    "builtins.input",
    "os.system",
    "os.popen",
    "os.read",
    "os.write",
    "os.wait",
    "os.waitpid",
    "os.listdir",
    "os.scandir",
    "os.walk",
    "os.stat",
    "os.remove",
    "os.rename",
    "os.makedirs",
    "shutil.",
    "subprocess.",
    "socket.",
    "ssl.",
    "select.",
    "requests.",
    "httpx.",
    "urllib.request.",
    "urllib3.",
    "http.client.",
    "ftplib.",
    "smtplib.",
    "imaplib.",
    "poplib.",
    "telnetlib.",
    "sqlite3.",
    "psycopg2.",
    "psycopg.",
    "pymysql.",
    "MySQLdb.",
    "mysql.connector.",
    "redis.",
    "pymongo.",
    "boto3.",
    "paramiko.",
    "pathlib.Path().read_text",
    "pathlib.Path().write_text",
    "pathlib.Path().read_bytes",
    "pathlib.Path().write_bytes",
    "pathlib.Path().open",
    "gzip.open",
    "bz2.open",
    "lzma.open",
    "tarfile.",
    "zipfile.",
    "json.load",
    "json.dump",
    "pickle.load",
    "pickle.dump",
    "csv.",
];

const WEAK_IO: &[&str] = &["builtins.print", "logging.", "sys.stdout.", "sys.stderr.", "warnings.warn"];

const PURE_PREFIXES: &[&str] = &[
    "builtins.",
    "math.",
    "cmath.",
    "operator.",
    "itertools.",
    "functools.",
    "random.",
    "statistics.",
    "collections.",
    "heapq.",
    "bisect.",
    "copy.",
    "struct.",
    "string.",
    "decimal.",
    "fractions.",
    "array.",
    "base64.",
    "binascii.",
    "time.time",
    "time.perf_counter",
    "time.monotonic",
    "time.process_time",
    "threading.",
    "queue.",
    "dataclasses.",
    "typing.",
    "enum.",
    "numbers.",
    "os.getpid",
    "os.cpu_count",
    "os.path.join",
    "os.path.basename",
    "os.path.dirname",
];

/// Hashing, compression and parsing: CPU work when done in a loop. `true`: releases the GIL on large buffers.
const HEAVY_IN_LOOP: &[(&str, bool)] = &[
    ("hashlib.", true),
    ("zlib.", true),
    ("bz2.", true),
    ("lzma.", true),
    ("gzip.compress", true),
    ("gzip.decompress", true),
    ("json.loads", false),
    ("json.dumps", false),
    ("pickle.loads", false),
    ("pickle.dumps", false),
    ("ast.parse", false),
    ("re.", false),
    ("xml.etree.ElementTree.fromstring", false),
    ("tomllib.loads", false),
];

/// Library calls measured to hold the GIL for their whole run (`bench/gil-calls.py`: a probe thread counting in
/// Python makes under 25 % of its normal progress during one large call, against ~45 % beside hashing or
/// compression, which release it). One such call is weak CPU evidence for a function that does nothing else
/// (no I/O, no other CPU work): enough for a thread target (CA501), not for `async def` (CA504 wants strong
/// evidence). In a loop they are strong evidence already ([`HEAVY_IN_LOOP`]).
pub const GIL_HOLDING_CALLS: &[&str] = &[
    "json.loads",
    "json.dumps",
    "pickle.loads",
    "pickle.dumps",
    "re.findall",
    "ast.parse",
    "xml.etree.ElementTree.fromstring",
];

/// A name in a configured list (`[python] cpu-heavy-calls`, `blocking-calls`): equal, or under a prefix that
/// ends in `.`.
pub fn in_configured(q: &str, list: &[String]) -> bool {
    list.iter().any(|p| q == p || (p.ends_with('.') && q.starts_with(p.as_str())))
}

const HEAVY_ALONE: &[(&str, bool)] = &[("hashlib.pbkdf2_hmac", true), ("hashlib.scrypt", true), ("bcrypt.", true)];

/// Methods of unknown receivers that are cheap data-structure operations.
const PURE_METHODS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "pop",
    "popleft",
    "appendleft",
    "remove",
    "clear",
    "copy",
    "items",
    "keys",
    "values",
    "update",
    "add",
    "discard",
    "setdefault",
    "sort",
    "reverse",
    "index",
    "count",
    "split",
    "rsplit",
    "join",
    "strip",
    "lstrip",
    "rstrip",
    "lower",
    "upper",
    "replace",
    "startswith",
    "endswith",
    "format",
    "encode",
    "decode",
    "hexdigest",
    "digest",
    "isdigit",
    "isalpha",
    "zfill",
    "ljust",
    "rjust",
    "find",
    "put",
    "put_nowait",
    "task_done",
    "bit_length",
    "to_bytes",
    "from_bytes",
    "is_integer",
    "union",
    "intersection",
    "difference",
];

/// Methods of unknown receivers that wait or do I/O.
const IO_METHODS: &[&str] = &[
    "recv",
    "recv_into",
    "recvfrom",
    "send",
    "sendall",
    "sendto",
    "accept",
    "connect",
    "read",
    "readline",
    "readlines",
    "write",
    "writelines",
    "flush",
    "execute",
    "executemany",
    "fetchone",
    "fetchall",
    "fetchmany",
    "commit",
    "request",
    "urlopen",
    "communicate",
    "wait",
    "get",
    "join",
    "acquire",
    "result",
    "sleep",
    "poll",
    "select",
];

fn starts(q: &str, list: &[&str]) -> bool {
    list.iter().any(|p| q == *p || (q.starts_with(p) && (p.ends_with('.') || q[p.len()..].starts_with(['.', '(']))))
}

/// Whether a qualified name is one the summaries classify by list (I/O, printing and logging, pure, hashing
/// and parsing): a call to it is never a call into another module of the project.
pub fn is_listed_api(q: &str) -> bool {
    starts(q, IO_PREFIXES)
        || starts(q, WEAK_IO)
        || starts(q, PURE_PREFIXES)
        || HEAVY_IN_LOOP.iter().chain(HEAVY_ALONE).any(|(p, _)| starts(q, &[p]))
}

/// Computes and caches function summaries for one module.
pub struct Summarizer<'x, 'm, 'a> {
    model: &'x Model<'m, 'a>,
    heavy_range: i64,
    /// The module's name, in project mode.
    project: Option<&'x ModuleName>,
    cache: RefCell<HashMap<FuncId, Summary>>,
    in_progress: RefCell<Vec<FuncId>>,
    /// Depth of `if`/`except` blocks around the statement being scanned: I/O there is conditional, so weak.
    conditional: Cell<u32>,
    /// `[python] cpu-heavy-calls`.
    heavy_calls: &'x [String],
    /// `[python] blocking-calls`.
    blocking_calls: &'x [String],
}

#[derive(Default)]
struct Scan {
    arith: bool,
    io: Vec<Evidence>,
    weak_io: bool,
    unknown_fn: Option<Evidence>,
    unknown_method: bool,
    external: Vec<ExtCall>,
    awaits: bool,
    loops: u32,
    heavy_calls: Vec<Evidence>,
    cpu: Vec<Evidence>,
    /// The depth of conditionals (`if`, `except`) at the start of the loop body this scan reads.
    cond_base: u32,
}

impl Scan {
    fn absorb(&mut self, inner: Scan) {
        self.arith |= inner.arith;
        self.io.extend(inner.io);
        self.weak_io |= inner.weak_io;
        if self.unknown_fn.is_none() {
            self.unknown_fn = inner.unknown_fn;
        }
        self.unknown_method |= inner.unknown_method;
        self.external.extend(inner.external);
        self.awaits |= inner.awaits;
        self.loops += inner.loops;
        self.heavy_calls.extend(inner.heavy_calls);
        self.cpu.extend(inner.cpu);
    }
}

fn is_arith(op: BinOp) -> bool {
    !matches!(op, BinOp::BitOr | BinOp::MatMult)
}

/// Whether an annotation names a string type: `str`, `bytes`, `"str"`, `str | None`, `Optional[str]`,
/// `typing.AnyStr`.
fn is_str_annotation(a: &Expr<'_>) -> bool {
    match &a.kind {
        ExprKind::Name(n) => matches!(*n, "str" | "bytes" | "bytearray" | "AnyStr" | "LiteralString"),
        ExprKind::Str(s) => matches!(s.trim(), "str" | "bytes"),
        ExprKind::Attribute { attr, .. } => matches!(*attr, "AnyStr" | "LiteralString"),
        ExprKind::BinOp { op: BinOp::BitOr, left, right } => {
            let none = |e: &Expr<'_>| matches!(e.kind, ExprKind::NoneLiteral);
            (is_str_annotation(left) && (none(right) || is_str_annotation(right)))
                || (none(left) && is_str_annotation(right))
        }
        ExprKind::Subscript { value, slice } => {
            let optional = matches!(value.kind, ExprKind::Name("Optional"))
                || matches!(&value.kind, ExprKind::Attribute { attr: "Optional", .. });
            optional && is_str_annotation(slice)
        }
        _ => false,
    }
}

/// A name bound more often than this is not followed to its values (string or literal collection).
const MAX_BINDINGS: usize = 4;

/// Builtins that return a string.
const STR_BUILTINS: &[&str] = &[
    "builtins.str",
    "builtins.repr",
    "builtins.format",
    "builtins.chr",
    "builtins.hex",
    "builtins.oct",
    "builtins.bin",
    "builtins.ascii",
];

/// Methods that return a string (or bytes).
const STR_METHODS: &[&str] = &[
    "join",
    "format",
    "format_map",
    "upper",
    "lower",
    "title",
    "capitalize",
    "casefold",
    "swapcase",
    "strip",
    "lstrip",
    "rstrip",
    "replace",
    "zfill",
    "ljust",
    "rjust",
    "center",
    "removeprefix",
    "removesuffix",
    "expandtabs",
    "encode",
    "decode",
    "hexdigest",
];

impl<'x, 'm, 'a> Summarizer<'x, 'm, 'a> {
    /// A summarizer over `model`; loops over literal ranges of at least `heavy_range` are CPU-heavy.
    pub fn new(model: &'x Model<'m, 'a>, heavy_range: u64) -> Self {
        Summarizer {
            model,
            heavy_range: i64::try_from(heavy_range).unwrap_or(i64::MAX),
            project: None,
            cache: RefCell::new(HashMap::default()),
            in_progress: RefCell::new(Vec::new()),
            conditional: Cell::new(0),
            heavy_calls: &[],
            blocking_calls: &[],
        }
    }

    /// The same, knowing the project's own CPU-heavy and blocking callables (`[python] cpu-heavy-calls`,
    /// `blocking-calls`).
    #[must_use]
    pub fn with_calls(mut self, heavy_calls: &'x [String], blocking_calls: &'x [String]) -> Self {
        self.heavy_calls = heavy_calls;
        self.blocking_calls = blocking_calls;
        self
    }

    /// A summarizer in project mode: calls to imported names become [`ExtCall`]s (resolved against `module`
    /// for relative imports) instead of unknown calls.
    pub fn for_project(model: &'x Model<'m, 'a>, heavy_range: u64, module: &'x ModuleName) -> Self {
        Summarizer { project: Some(module), ..Self::new(model, heavy_range) }
    }

    /// In project mode, the absolute name of a callable expression rooted in an import (`crunch` after
    /// `from pkg.work import crunch` → `pkg.work.crunch`; `w.crunch` after `import pkg.work as w`; relative
    /// imports resolved against the module's name). `None` outside project mode, for names defined in this
    /// module, and for anything else.
    pub fn external_name(&self, func: &Expr<'a>) -> Option<String> {
        let module = self.project?;
        let dotted = func.dotted()?;
        let (root, rest) = match dotted.split_once('.') {
            Some((r, rest)) => (r, Some(rest)),
            None => (dotted.as_str(), None),
        };
        if self.model.lookup_function(root, None).is_some() || self.model.classes.contains_key(root) {
            return None;
        }
        let base = if let Some(q) = self.model.imports.get(root) {
            q.clone()
        } else {
            let (level, name) = self.model.rel_imports.get(root)?;
            module.resolve_relative(*level, name)?
        };
        Some(match rest {
            Some(rest) => format!("{base}.{rest}"),
            None => base,
        })
    }

    /// The model.
    pub fn model(&self) -> &'x Model<'m, 'a> {
        self.model
    }

    /// The summary of function `f`, including what it calls in this module.
    pub fn summary(&self, f: FuncId) -> Summary {
        if let Some(s) = self.cache.borrow().get(&f) {
            return s.clone();
        }
        if self.in_progress.borrow().contains(&f) || self.in_progress.borrow().len() > 16 {
            return Summary::default();
        }
        self.in_progress.borrow_mut().push(f);
        let mut scan = Scan::default();
        let body = &self.model.funcs[f].def.body;
        let saved = self.conditional.replace(0);
        self.stmts(f, body, &mut scan);
        self.conditional.set(saved);
        // One GIL-holding library call is the function's only work: weak CPU evidence.
        if scan.cpu.is_empty() && scan.io.is_empty() && !scan.weak_io && !scan.arith {
            for e in &scan.heavy_calls {
                if !e.releases_gil && starts(&e.what, GIL_HOLDING_CALLS) {
                    scan.cpu.push(Evidence {
                        what: format!("`{}`, which holds the GIL", e.what),
                        strong: false,
                        ..e.clone()
                    });
                }
            }
        }
        let mut s = Summary {
            cpu: scan.cpu,
            io: scan.io,
            weak_io: scan.weak_io,
            unknown: scan.unknown_fn,
            external: scan.external,
        };
        if s.io.is_empty()
            && let Some(r) = self.arithmetic_recursion(f)
        {
            s.cpu.push(Evidence {
                range: r,
                what: "recursion combining its results arithmetically".into(),
                func: f,
                releases_gil: false,
                strong: true,
            });
        }
        self.in_progress.borrow_mut().retain(|&g| g != f);
        self.cache.borrow_mut().insert(f, s.clone());
        s
    }

    /// Heavy loops written directly in `f` (not in the functions it calls), for rules that report loops.
    pub fn heavy_loops(&self, f: FuncId) -> Vec<Evidence> {
        let mut s = self.summary(f).cpu;
        s.retain(|e| e.func == f);
        s
    }

    /// `return f(n - 1) + f(n - 2)`: a self-call that is an operand of arithmetic — not of string building
    /// (`"vectorize_" + funcname(f.func)`, or any `+` in a function annotated `-> str`).
    fn arithmetic_recursion(&self, f: FuncId) -> Option<Range> {
        let def = self.model.funcs[f].def;
        if def.returns().is_some_and(is_str_annotation) {
            return None;
        }
        let name = def.name;
        let mut found: Vec<&Expr<'a>> = Vec::new();
        fn is_self_call(e: &Expr<'_>, name: &str) -> bool {
            matches!(&e.kind, ExprKind::Call(c) if c.func.as_name() == Some(name))
        }
        fn visit<'s, 'a>(e: &'s Expr<'a>, name: &str, found: &mut Vec<&'s Expr<'a>>) {
            if let ExprKind::BinOp { left, right, op } = &e.kind
                && is_arith(*op)
                && (is_self_call(left, name) || is_self_call(right, name))
            {
                found.push(e);
                return;
            }
            e.for_each_child(&mut |c| visit(c, name, found));
        }
        walk_body_exprs(&def.body, &mut |e| visit(e, name, &mut found));
        found
            .into_iter()
            .find(|e| {
                let ExprKind::BinOp { left, right, .. } = &e.kind else { return false };
                !(self.stringy(f, left, 0) || self.stringy(f, right, 0))
            })
            .map(|e| e.range)
    }

    fn classify_call(&self, f: FuncId, call_expr: &Expr<'a>) -> CallClass {
        let Some(call) = call_expr.as_call() else { return CallClass::Pure };
        let scope = Some(f);
        if let Some(g) = self.model.resolve_function(&call.func, scope) {
            return CallClass::Func(g);
        }
        if let Some(q) = self.model.qualify(&call.func, scope) {
            if in_configured(&q, self.heavy_calls) {
                return CallClass::Heavy(q, false);
            }
            if in_configured(&q, self.blocking_calls) {
                return CallClass::Io(q);
            }
            if let Some((_, rel)) = HEAVY_ALONE.iter().find(|(p, _)| starts(&q, &[p])) {
                return CallClass::Heavy(q, *rel);
            }
            if starts(&q, WEAK_IO) {
                return CallClass::WeakIo;
            }
            if starts(&q, IO_PREFIXES) {
                return CallClass::Io(q);
            }
            if let Some((_, rel)) = HEAVY_IN_LOOP.iter().find(|(p, _)| starts(&q, &[p])) {
                return CallClass::HeavyInLoop(q, *rel);
            }
            if starts(&q, PURE_PREFIXES) {
                return CallClass::Pure;
            }
            // A method of a known object (`builtins.open().read`): judge by the method name.
            if q.contains("()") {
                return self.method_class(call_expr);
            }
            if let Some(e) = self.external_name(&call.func) {
                return CallClass::External(e);
            }
            return CallClass::Unknown(q);
        }
        if let Some(e) = self.external_name(&call.func) {
            return CallClass::External(e);
        }
        match &call.func.kind {
            ExprKind::Attribute { .. } => self.method_class(call_expr),
            ExprKind::Name(n) if self.model.classes.contains_key(n) => CallClass::Pure,
            _ => CallClass::Unknown(call.func.dotted().unwrap_or_else(|| "a computed callable".into())),
        }
    }

    fn method_class(&self, call_expr: &Expr<'a>) -> CallClass {
        let Some(call) = call_expr.as_call() else { return CallClass::Pure };
        let ExprKind::Attribute { attr, .. } = &call.func.kind else { return CallClass::Pure };
        if PURE_METHODS.contains(attr) {
            CallClass::Pure
        } else if IO_METHODS.contains(attr) {
            CallClass::WeakIo
        } else {
            CallClass::Unknown(format!(".{attr}()"))
        }
    }

    fn stmts(&self, f: FuncId, body: &'m [Stmt<'a>], scan: &mut Scan) {
        for s in body {
            // In project mode a function that calls unknown code has no facts: the rest need not be read.
            if self.project.is_some() && scan.unknown_fn.is_some() {
                return;
            }
            self.stmt(f, s, scan);
        }
    }

    fn stmt(&self, f: FuncId, s: &'m Stmt<'a>, scan: &mut Scan) {
        match &s.kind {
            StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => {}
            StmtKind::For { is_async, iter, target, body, orelse } => {
                self.expr(f, iter, scan);
                let mut inner = Scan { awaits: *is_async, cond_base: self.conditional.get(), ..Scan::default() };
                self.expr(f, target, &mut inner);
                self.stmts(f, body, &mut inner);
                let range_bound = self.range_bound(f, iter);
                self.close_loop(f, s.range, "`for` loop", range_bound, inner, scan);
                self.stmts(f, orelse, scan);
            }
            StmtKind::While { test, body, orelse } => {
                let mut inner = Scan { cond_base: self.conditional.get(), ..Scan::default() };
                self.expr(f, test, &mut inner);
                self.stmts(f, body, &mut inner);
                self.close_loop(f, s.range, "`while` loop", Some(RangeBound::Unbounded), inner, scan);
                self.stmts(f, orelse, scan);
            }
            StmtKind::AugAssign { target, op, value } => {
                if is_arith(*op) && !self.stringy(f, value, 0) && !self.stringy(f, target, 0) {
                    scan.arith = true;
                }
                self.expr(f, value, scan);
                self.expr(f, target, scan);
            }
            StmtKind::If { test, body, orelse } => {
                self.expr(f, test, scan);
                self.conditional.set(self.conditional.get() + 1);
                self.stmts(f, body, scan);
                self.stmts(f, orelse, scan);
                self.conditional.set(self.conditional.get() - 1);
            }
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                self.stmts(f, body, scan);
                self.conditional.set(self.conditional.get() + 1);
                handlers.iter().for_each(|h| self.stmts(f, h, scan));
                self.conditional.set(self.conditional.get() - 1);
                self.stmts(f, orelse, scan);
                self.stmts(f, finalbody, scan);
            }
            StmtKind::With { is_async, .. } => {
                scan.awaits |= *is_async;
                s.for_each_expr(&mut |e| self.expr(f, e, scan));
                s.for_each_block(&mut |b| self.stmts(f, b, scan));
            }
            _ => {
                s.for_each_expr(&mut |e| self.expr(f, e, scan));
                s.for_each_block(&mut |b| self.stmts(f, b, scan));
            }
        }
    }

    /// The integer value of a constant expression, or of a name bound only to one (`LOOPS = 5`).
    fn const_of(&self, e: &Expr<'a>, f: FuncId) -> Option<i64> {
        if let Some(v) = e.const_int() {
            return Some(v);
        }
        let values = self.model.binding(e.as_name()?, Some(f))?;
        let first = values.first()?.const_int()?;
        values.iter().all(|v| v.const_int() == Some(first)).then_some(first)
    }

    /// Whether `e` is a string (or another sequence) rather than a number, so that `+`/`%`/`*` on it is
    /// concatenation or formatting, not arithmetic: literals, f-strings, `str(…)`/`repr(…)`/`format(…)`, string
    /// methods (`"_".join(…)`, `name.upper()`), a concatenation with any of those (`"vectorize_" + f(x) +
    /// suffix`), and names bound only to such values.
    fn stringy(&self, f: FuncId, e: &Expr<'a>, depth: u32) -> bool {
        if depth > 4 {
            return false;
        }
        match &e.kind {
            ExprKind::Str(_)
            | ExprKind::Literal
            | ExprKind::Other(_)
            | ExprKind::Sequence(_)
            | ExprKind::Comprehension { .. } => true,
            ExprKind::BinOp { op: BinOp::Add | BinOp::Mod, left, right } => {
                self.stringy(f, left, depth + 1) || self.stringy(f, right, depth + 1)
            }
            ExprKind::Call(c) => match &c.func.kind {
                ExprKind::Attribute { attr, .. } if STR_METHODS.contains(attr) => true,
                _ => {
                    // A function of this module annotated `-> str`.
                    if let Some(g) = self.model.resolve_function(&c.func, Some(f)) {
                        return self.model.funcs[g].def.returns().is_some_and(is_str_annotation);
                    }
                    self.model.qualify(&c.func, Some(f)).is_some_and(|q| STR_BUILTINS.contains(&q.as_str()))
                }
            },
            // A parameter annotated `str`; a name bound a few times (more bindings are not followed: the search
            // stays small).
            ExprKind::Name(n) => {
                if let Some(a) = self.param_annotation(n, f) {
                    return is_str_annotation(a);
                }
                self.model.binding(n, Some(f)).is_some_and(|vs| {
                    (1..=MAX_BINDINGS).contains(&vs.len())
                        && vs.iter().all(|v| !std::ptr::eq(*v, e) && self.stringy(f, v, depth + 1))
                })
            }
            _ => false,
        }
    }

    /// The annotation of `n` if it is a parameter of `f` or of a function `f` is nested in (and not rebound in
    /// between).
    fn param_annotation(&self, n: &str, f: FuncId) -> Option<&'m Expr<'a>> {
        let mut s = Some(f);
        while let Some(g) = s {
            let def = self.model.funcs[g].def;
            if def.params.contains(&n) {
                return def.annotation(n);
            }
            s = self.model.funcs[g].parent;
        }
        None
    }

    /// The number of items of a literal collection `e` iterates (`[a, b]`, `{"k": v}.items()`, a name bound only
    /// to literals, `enumerate`/`sorted`/`reversed`/`zip` of those).
    fn literal_len(&self, f: FuncId, e: &Expr<'a>, depth: u32) -> Option<i64> {
        if depth > 4 {
            return None;
        }
        match &e.kind {
            ExprKind::Sequence(items) => Some(i64::try_from(items.len()).unwrap_or(i64::MAX)),
            // A comprehension over literal collections (`{name: [] for name in ["disk", "net"]}`) has at most
            // the product of their lengths.
            ExprKind::Comprehension { generators, .. } if !generators.is_empty() => generators
                .iter()
                .try_fold(1i64, |n, g| Some(n.saturating_mul(self.literal_len(f, &g.iter, depth + 1)?))),
            ExprKind::Name(n) => {
                let vs = self.model.binding(n, Some(f)).filter(|vs| vs.len() <= MAX_BINDINGS)?;
                let lens: Option<Vec<i64>> = vs.iter().map(|v| self.literal_len(f, v, depth + 1)).collect();
                lens?.into_iter().max()
            }
            ExprKind::Call(c) => {
                if let ExprKind::Attribute { value, attr } = &c.func.kind
                    && matches!(*attr, "items" | "keys" | "values")
                    && c.args.is_empty()
                {
                    return self.literal_len(f, value, depth + 1);
                }
                match self.model.qualify(&c.func, Some(f)).as_deref()? {
                    "builtins.enumerate" | "builtins.sorted" | "builtins.reversed" | "builtins.list"
                    | "builtins.tuple" | "builtins.set" => self.literal_len(f, c.args.first()?, depth + 1),
                    "builtins.zip" if !c.args.is_empty() => {
                        let lens: Option<Vec<i64>> = c.args.iter().map(|a| self.literal_len(f, a, depth + 1)).collect();
                        lens?.into_iter().min()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// What a `for` iterates: a literal collection or range (its length), a computed `range(n)`, or something
    /// else.
    fn range_bound(&self, f: FuncId, iter: &Expr<'a>) -> Option<RangeBound> {
        if let Some(n) = self.literal_len(f, iter, 0) {
            return Some(RangeBound::Literal(n));
        }
        let call = iter.as_call()?;
        if self.model.qualify(&call.func, Some(f)).as_deref() != Some("builtins.range") {
            return None;
        }
        let consts: Vec<Option<i64>> = call.args.iter().map(|a| self.const_of(a, f)).collect();
        match consts.as_slice() {
            [Some(n)] => Some(RangeBound::Literal(*n)),
            [Some(a), Some(b), ..] => Some(RangeBound::Literal(b.saturating_sub(*a))),
            _ => {
                // `range(len(xs))` iterates a collection: no more CPU evidence than `for x in xs`.
                let over_len = call.args.iter().any(|a| {
                    a.as_call().is_some_and(|c| self.model.qualify(&c.func, Some(f)).as_deref() == Some("builtins.len"))
                });
                (!over_len).then_some(RangeBound::Unbounded)
            }
        }
    }

    fn close_loop(
        &self,
        f: FuncId,
        range: Range,
        what: &str,
        bound: Option<RangeBound>,
        mut inner: Scan,
        outer: &mut Scan,
    ) {
        let clean = inner.io.is_empty()
            && !inner.weak_io
            && !inner.awaits
            && inner.unknown_fn.is_none()
            && inner.external.is_empty();
        let big = matches!(bound, Some(RangeBound::Literal(n)) if n >= self.heavy_range);
        // A loop over a small literal range or a short literal list is evidence of little work, not much.
        let small = matches!(bound, Some(RangeBound::Literal(n)) if n < self.heavy_range);
        let computing = inner.arith && !inner.unknown_method;
        let heavy = clean
            && !small
            && (big
                || (computing && (inner.loops > 0 || bound.is_some()))
                || (!inner.heavy_calls.is_empty() && !inner.unknown_method));
        if heavy {
            let desc = if big {
                format!(
                    "{what} over a range of {}",
                    match bound {
                        Some(RangeBound::Literal(n)) => n.to_string(),
                        _ => String::new(),
                    }
                )
            } else if let Some(h) = inner.heavy_calls.first() {
                format!("{what} calling `{}`", h.what)
            } else if inner.loops > 0 {
                format!("nested {what} doing arithmetic")
            } else {
                format!("{what} doing arithmetic")
            };
            let strong = big || (computing && inner.loops > 0) || inner.heavy_calls.iter().any(|h| h.strong);
            // Index bookkeeping around GIL-releasing calls (`pos += size`) does not make the loop hold the GIL.
            let releases_gil = !big
                && inner.loops == 0
                && !inner.heavy_calls.is_empty()
                && inner.heavy_calls.iter().all(|h| h.releases_gil);
            // Report the outermost heavy loop only.
            inner.cpu.retain(|e| !range.contains(e.range) || e.func != f);
            inner.cpu.push(Evidence { range, what: desc, func: f, releases_gil, strong });
        }
        // A loop that runs only under a condition inside the enclosing loop (`for t in tasks: if over: for w in
        // …`) may run for few of its iterations: it is no evidence of nested work (distributed's `replicate`).
        if !small && self.conditional.get() <= outer.cond_base {
            inner.loops += 1;
        }
        outer.absorb(inner);
    }

    fn expr(&self, f: FuncId, e: &'m Expr<'a>, scan: &mut Scan) {
        match &e.kind {
            ExprKind::Lambda { .. } => {}
            ExprKind::Await(v) => {
                scan.awaits = true;
                self.expr(f, v, scan);
            }
            ExprKind::BinOp { op, left, right } => {
                if is_arith(*op) && !(self.stringy(f, left, 0) || self.stringy(f, right, 0)) {
                    scan.arith = true;
                }
                self.expr(f, left, scan);
                self.expr(f, right, scan);
            }
            ExprKind::Comprehension { generators, elts } => {
                if let Some(first) = generators.first() {
                    self.expr(f, &first.iter, scan);
                }
                let mut inner = Scan {
                    awaits: generators.iter().any(|g| g.is_async),
                    cond_base: self.conditional.get(),
                    ..Scan::default()
                };
                for (i, g) in generators.iter().enumerate() {
                    if i > 0 {
                        self.expr(f, &g.iter, &mut inner);
                        inner.loops += 1;
                    }
                    self.expr(f, &g.target, &mut inner);
                    for c in &g.ifs {
                        self.expr(f, c, &mut inner);
                    }
                }
                for x in elts {
                    self.expr(f, x, &mut inner);
                }
                let bound = generators.first().and_then(|g| self.range_bound(f, &g.iter));
                self.close_loop(f, e.range, "comprehension", bound, inner, scan);
            }
            ExprKind::Call(call) => {
                match self.classify_call(f, e) {
                    CallClass::Pure => {}
                    CallClass::Io(_) if self.conditional.get() > 0 => scan.weak_io = true,
                    CallClass::Io(q) => {
                        scan.io.push(Evidence { range: e.range, what: q, func: f, releases_gil: true, strong: true });
                    }
                    CallClass::WeakIo => scan.weak_io = true,
                    CallClass::HeavyInLoop(q, rel) => {
                        scan.heavy_calls.push(Evidence {
                            range: e.range,
                            what: q,
                            func: f,
                            releases_gil: rel,
                            strong: true,
                        });
                    }
                    CallClass::Heavy(q, rel) => {
                        scan.cpu.push(Evidence {
                            range: e.range,
                            what: format!("`{q}`"),
                            func: f,
                            releases_gil: rel,
                            strong: true,
                        });
                    }
                    CallClass::Func(g) => {
                        let s = self.summary(g);
                        if self.conditional.get() > 0 {
                            scan.weak_io |= !s.io.is_empty();
                        } else {
                            scan.io.extend(s.io.iter().cloned());
                        }
                        scan.weak_io |= s.weak_io;
                        if scan.unknown_fn.is_none() {
                            scan.unknown_fn.clone_from(&s.unknown);
                        }
                        let conditional = self.conditional.get() > 0;
                        scan.external.extend(
                            s.external
                                .iter()
                                .map(|x| ExtCall { conditional: x.conditional || conditional, ..x.clone() }),
                        );
                        if !s.cpu.is_empty() {
                            // A call to CPU-heavy code counts as a heavy call inside a loop, and as CPU evidence.
                            scan.cpu.extend(s.cpu.iter().cloned());
                            scan.heavy_calls.push(Evidence {
                                range: e.range,
                                what: self.model.funcs[g].def.name.to_string(),
                                func: f,
                                releases_gil: !s.holds_gil(),
                                strong: s.cpu.iter().any(|e| e.strong),
                            });
                        }
                    }
                    CallClass::External(qual) => {
                        scan.external.push(ExtCall {
                            qual,
                            range: e.range,
                            func: f,
                            conditional: self.conditional.get() > 0,
                        });
                    }
                    CallClass::Unknown(q) => {
                        if matches!(call.func.kind, ExprKind::Attribute { .. }) && q.starts_with('.') {
                            scan.unknown_method = true;
                        } else if scan.unknown_fn.is_none() {
                            scan.unknown_fn =
                                Some(Evidence { range: e.range, what: q, func: f, releases_gil: false, strong: false });
                        }
                    }
                }
                e.for_each_child(&mut |c| self.expr(f, c, scan));
            }
            _ => e.for_each_child(&mut |c| self.expr(f, c, scan)),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum RangeBound {
    Literal(i64),
    Unbounded,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse::parse;

    fn kinds(src: &str) -> Vec<(String, Kind)> {
        let p = parse(src).unwrap();
        let m = p.module();
        let model = Model::build(&m);
        let s = Summarizer::new(&model, 10_000);
        model.funcs.iter().enumerate().map(|(i, f)| (f.def.name.to_string(), s.summary(i).kind())).collect()
    }

    #[test]
    fn classic_examples() {
        let src = r#"
import time, hashlib, requests, threading
def cpu_bound(number):
    return sum(i * i for i in range(number))
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
def big():
    for _ in range(10**7):
        pass
def nested(m):
    t = 0
    for row in m:
        for x in row:
            t += x * x
    return t
def io_bound(url):
    return requests.get(url).text
def sleeper():
    time.sleep(1)
def printer(i):
    for k in range(3):
        print(i, k)
def mixed(url):
    data = requests.get(url).content
    return sum(b * b for b in range(len(data)) for c in range(3))
def calls_cpu():
    return cpu_bound(10)
def unknown(x):
    return thirdparty.compute(x)
def hashing(blocks):
    for b in blocks:
        hashlib.sha256(b).digest()
def just_print():
    print("hello")
"#;
        let k = kinds(src);
        let get = |n: &str| k.iter().find(|(name, _)| name == n).unwrap().1;
        assert_eq!(get("cpu_bound"), Kind::CpuHeavy);
        assert_eq!(get("fib"), Kind::CpuHeavy);
        assert_eq!(get("big"), Kind::CpuHeavy);
        assert_eq!(get("nested"), Kind::CpuHeavy);
        assert_eq!(get("io_bound"), Kind::IoBound);
        assert_eq!(get("sleeper"), Kind::IoBound);
        assert_eq!(get("printer"), Kind::Unknown);
        assert_eq!(get("mixed"), Kind::Unknown);
        assert_eq!(get("calls_cpu"), Kind::CpuHeavy);
        assert_eq!(get("unknown"), Kind::Unknown);
        assert_eq!(get("hashing"), Kind::CpuHeavy);
        assert_eq!(get("just_print"), Kind::Unknown);
    }

    #[test]
    fn hashing_releases_the_gil() {
        let src = "import hashlib\ndef h(bs):\n    for b in bs:\n        hashlib.sha256(b).digest()\n";
        let p = parse(src).unwrap();
        let m = p.module();
        let model = Model::build(&m);
        let s = Summarizer::new(&model, 10_000).summary(0);
        assert_eq!(s.kind(), Kind::CpuHeavy);
        assert!(!s.holds_gil());
    }
}
