//! CA503 `blocking-call-in-async-def`: blocking calls made directly inside `async def`.

use std::ops::ControlFlow;

use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Span};
use crate::python::linker::{FactsCx, Linker, Target};
use crate::python::rules::{LinkFacts, PythonRule};
use crate::registry::RuleMeta;
use crate::python::Checker;
use std::collections::VecDeque;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::python::ast::{Call, Expr, ExprKind, Range, Stmt, StmtKind, is_generator, walk_body_exprs};
use crate::python::semantic::{CallSite, FuncId, Model};
use crate::python::summary::in_configured;

declare_rule! {
    /// ## What it does
    /// Finds blocking calls made directly in the body of an `async def`, one table per family, each with its
    /// advice: `time.sleep`; HTTP requests (`requests`, `httpx.get`, `urllib.request.urlopen`, `urllib3`,
    /// `http.client`, and the *sending* methods of `requests.Session` / `httpx.Client` / `urllib3.PoolManager`
    /// — not `build_request` or `prepare_request`); processes (`subprocess.run/call/check_*/Popen`,
    /// `os.system`/`popen`, `os.spawn*`, `os.posix_spawn*`) and waiting for them (`os.wait*`,
    /// `Popen.wait/communicate`); file I/O (`open`, `io.open_code`, `codecs.open`); file-system calls
    /// (`os.path.exists/isfile/getsize/…`, `os.listdir/scandir/walk/makedirs/remove/rename/unlink/stat/…`,
    /// `glob`, `shutil` copy/move/rmtree, and `pathlib.Path` methods such as `exists`, `is_file`, `stat`,
    /// `read_text`, `unlink`, `mkdir`, `iterdir`, `glob`); `input`; blocking sockets and DNS lookups
    /// (`socket.create_connection`, `getaddrinfo`, `gethostbyname`, `recv`/`accept`/`connect`/`sendall` on a
    /// `socket.socket()`); databases (`sqlite3` connections and their `execute`/`commit`, `psycopg2`, `pymysql`).
    ///
    /// Receivers are known from their constructor (`s = requests.Session()`), from tuple unpacking, from `Path(p)
    /// / "name"`, or from an annotation: a parameter or local typed `httpx.Client`, `httpx.Client | None`,
    /// `Optional[httpx.Client]` or `Union[httpx.Client, None]`. Imports are scoped: `from trio import Path`
    /// inside one function changes `Path` only there.
    ///
    /// Not reported: `getaddrinfo(…, flags=AI_NUMERICHOST)` and `getnameinfo(…, NI_NUMERICHOST | NI_NUMERICSERV)`
    /// (no DNS query; the flags written in the call or in a name bound only to them, `FLAGS = AI_NUMERICHOST |
    /// AI_NUMERICSERV`), and methods of a socket set non-blocking earlier in the same function
    /// (`sock.setblocking(False)`, `sock.settimeout(0)`) or called in a `try` whose handler catches
    /// `BlockingIOError` (the code expects a non-blocking socket), and a generator-making call (`Path.walk`,
    /// `glob`, `rglob`, `iterdir`, `os.walk`) stored in a name the `async def` never iterates itself (the steps
    /// are taken elsewhere, e.g. `next(gen)` in a worker thread).
    ///
    /// The project's own blocking callables are listed in `[python] blocking-calls` (qualified names such as
    /// `mylib.fetch`, or prefixes ending in `.`); they are reported like the tables' calls.
    ///
    /// A line already marked for ruff (`# noqa: ASYNC230`, or any code of `equivalent` below) is not reported
    /// either.
    ///
    /// The innermost function decides: a call inside a nested `def` or a `lambda` in an `async def` is not
    /// reported (it runs wherever that function is called, e.g. in `asyncio.to_thread`).
    ///
    /// ## Why is this bad?
    /// An event loop runs one task at a time on one thread. A blocking call stops the loop: every other task —
    /// other requests, timeouts, heartbeats — waits until it returns.
    ///
    /// ## Known problems
    /// A direct call to a sync function that blocks — itself or through the sync functions it calls (up to 64
    /// of them in its module), in this module or, when `check` runs over a project, in other modules through
    /// any number of imports — is reported at the call, with a note at each step of the chain. Methods of
    /// another object are followed when its class is a class of this module known from the receiver: every
    /// value assigned to it is `Class(…)`, or, given from outside (`self.auth = auth`), its name is the class's
    /// name in snake case or its last words (`auth` for `WinixAuth`) and no other class so named has the
    /// method. Methods of other objects, and methods imported from other modules, are not followed. An
    /// `open` or `os.path.exists` of a small local file is fast in practice; suppress it if you accept the
    /// pause. A receiver whose type is known only from a string annotation or a return type is not followed.
    ///
    /// ## Example
    /// ```python
    /// async def poll(url):
    ///     time.sleep(1)
    ///     return requests.get(url).json()
    /// ```
    ///
    /// ## Use instead
    /// ```python
    /// async def poll(url):
    ///     await asyncio.sleep(1)
    ///     async with httpx.AsyncClient() as client:
    ///         return (await client.get(url)).json()
    /// ```
    pub static META = {
        code: "CA503",
        name: "blocking-call-in-async-def",
        severity: Warning,
        language: Python,
        summary: "a blocking call inside `async def` stops the event loop",
        equivalent: "ruff ASYNC210/ASYNC212/ASYNC220/ASYNC221/ASYNC222/ASYNC230/ASYNC240/ASYNC250/ASYNC251",
    };
}

/// The rule: per file, and across files in the link phase (calls from `async def` to sync helpers of other
/// modules that block, through any number of modules).
pub struct Rule;

impl PythonRule for Rule {
    type Facts = Blocking;

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
    }

    fn facts(&self, fx: &FactsCx<'_, '_, '_, '_, '_>) -> Blocking {
        facts(fx)
    }

    fn link(&self, p: &Linker<'_>, facts: &[&Blocking], out: &mut Vec<Diagnostic>) {
        link(p, facts, out);
    }
}

/// A family of blocking calls with one piece of advice: module-level callables by qualified name, and methods
/// of objects made by known constructors (`pathlib.Path()`) by receiver and method name.
struct Family {
    /// What the calls do, for the message (`file-system call`).
    what: &'static str,
    /// What to use instead.
    help: &'static str,
    /// Callables by qualified name.
    calls: &'static [&'static str],
    /// `(receiver, methods)`: the blocking methods of objects whose qualified name is `receiver`.
    methods: &'static [(&'static str, &'static [&'static str])],
}

/// Methods of HTTP clients that send a request (not `build_request`, `prepare_request`, `close`, …).
const HTTP_SEND: &[&str] =
    &["get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream", "urlopen"];

/// Blocking methods of a `pathlib.Path`: they query or change the file system (`ruff` ASYNC230/ASYNC240, and
/// more).
const PATH_METHODS: &[&str] = &[
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "exists", "is_file", "is_dir", "is_symlink",
    "is_mount", "is_socket", "is_fifo", "is_block_device", "is_char_device", "stat", "lstat", "owner", "group",
    "samefile", "iterdir", "glob", "rglob", "walk", "touch", "mkdir", "rmdir", "unlink", "rename", "replace",
    "chmod", "lchmod", "readlink", "resolve", "symlink_to", "hardlink_to", "copy", "move",
];

/// What a `pathlib.Path` can be made by.
const PATH_RECEIVERS: &[(&str, &[&str])] = &[
    ("pathlib.Path()", PATH_METHODS),
    ("pathlib.PosixPath()", PATH_METHODS),
    ("pathlib.WindowsPath()", PATH_METHODS),
    ("pathlib.Path.cwd()", PATH_METHODS),
    ("pathlib.Path.home()", PATH_METHODS),
];

/// The blocking calls, one table per family (`ruff` ASYNC210/212/220/221/222/230/240/250/251 and more).
const FAMILIES: &[Family] = &[
    Family { what: "sleep", help: "use `await asyncio.sleep(…)`", calls: &["time.sleep"], methods: &[] },
    Family {
        what: "HTTP request",
        help: "use an async client (`httpx.AsyncClient`, `aiohttp`) and await it, or `await asyncio.to_thread(…)`",
        calls: &[
            "requests.get", "requests.post", "requests.put", "requests.patch", "requests.delete", "requests.head",
            "requests.options", "requests.request", "urllib.request.urlopen", "urllib.request.urlretrieve",
            "urllib3.request",
        ],
        methods: &[
            ("requests.Session()", HTTP_SEND),
            ("requests.session()", HTTP_SEND),
            ("urllib3.PoolManager()", &["request", "urlopen", "request_encode_url", "request_encode_body"]),
            ("urllib3.HTTPConnectionPool()", &["request", "urlopen"]),
            ("urllib3.HTTPSConnectionPool()", &["request", "urlopen"]),
            ("http.client.HTTPConnection()", &["request", "getresponse", "connect"]),
            ("http.client.HTTPSConnection()", &["request", "getresponse", "connect"]),
        ],
    },
    Family {
        what: "HTTP request",
        help: "use `httpx.AsyncClient` and await its methods",
        calls: &[
            "httpx.get", "httpx.post", "httpx.put", "httpx.patch", "httpx.delete", "httpx.head", "httpx.options",
            "httpx.request", "httpx.stream",
        ],
        methods: &[("httpx.Client()", HTTP_SEND)],
    },
    Family {
        what: "process call",
        help: "use `await asyncio.create_subprocess_exec(…)` (or `create_subprocess_shell`) and await the process",
        calls: &[
            "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output",
            "subprocess.getoutput", "subprocess.getstatusoutput", "subprocess.Popen", "os.system", "os.popen",
            "os.spawnl", "os.spawnle", "os.spawnlp", "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp",
            "os.spawnvpe", "os.posix_spawn", "os.posix_spawnp",
        ],
        methods: &[],
    },
    Family {
        what: "wait for a process",
        help: "use `asyncio.create_subprocess_exec` and `await proc.wait()` (or `await proc.communicate()`)",
        calls: &["os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid"],
        methods: &[("subprocess.Popen()", &["wait", "communicate"])],
    },
    Family {
        what: "file I/O",
        help: "use `await asyncio.to_thread(…)` for the file work, or `aiofiles` / `anyio.Path`",
        calls: &["builtins.open", "io.open_code", "codecs.open"],
        methods: &[],
    },
    Family {
        what: "file-system call",
        help: "use `anyio.Path` / `aiofiles.os` methods, or `await asyncio.to_thread(…)`",
        calls: &[
            "os.path.exists", "os.path.lexists", "os.path.isfile", "os.path.isdir", "os.path.islink",
            "os.path.ismount", "os.path.getsize", "os.path.getmtime", "os.path.getatime", "os.path.getctime",
            "os.path.samefile", "os.path.realpath", "os.listdir", "os.scandir", "os.walk", "os.makedirs",
            "os.mkdir", "os.remove", "os.unlink", "os.rename", "os.renames", "os.replace", "os.rmdir",
            "os.removedirs", "os.stat", "os.lstat", "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink",
            "os.readlink", "os.access", "glob.glob", "glob.iglob", "shutil.copy", "shutil.copy2",
            "shutil.copyfile", "shutil.copyfileobj", "shutil.copytree", "shutil.move", "shutil.rmtree",
            "shutil.make_archive", "shutil.unpack_archive", "shutil.disk_usage",
        ],
        methods: PATH_RECEIVERS,
    },
    Family { what: "console read", help: "use `await asyncio.to_thread(input, …)`", calls: &["builtins.input"], methods: &[] },
    Family {
        what: "network call",
        help: "use asyncio's socket API (`await loop.sock_connect/sock_recv/sock_sendall/sock_accept(…)`) or \
               streams (`asyncio.open_connection`, `asyncio.start_server`)",
        calls: &["socket.create_connection", "socket.create_server"],
        methods: &[(
            "socket.socket()",
            &["recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "accept", "connect", "sendall", "send",
              "sendto", "sendfile", "makefile"],
        )],
    },
    Family {
        what: "DNS lookup",
        help: "use `await loop.getaddrinfo(…)`",
        calls: &[
            "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex", "socket.gethostbyaddr",
            "socket.getnameinfo", "socket.getfqdn",
        ],
        methods: &[],
    },
    Family {
        what: "database call",
        help: "use an async driver (`aiosqlite`, `asyncpg`, `psycopg` async, `aiomysql`) or `await asyncio.to_thread(…)`",
        calls: &["sqlite3.connect", "psycopg2.connect", "pymysql.connect"],
        methods: &[
            ("sqlite3.connect()", &["execute", "executemany", "executescript", "commit", "rollback", "backup"]),
            ("sqlite3.connect().cursor()", &["execute", "executemany", "executescript", "fetchone", "fetchall", "fetchmany"]),
        ],
    },
];

/// A callable the project lists as blocking (`[python] blocking-calls`).
static CONFIGURED: Family = Family {
    what: "listed in `python.blocking-calls`",
    help: "run it with `await asyncio.to_thread(…)`, or use an async counterpart",
    calls: &[],
    methods: &[],
};

/// The family of a blocking call by its qualified name, the project's own list (`[python] blocking-calls`)
/// included.
fn blocking_in(settings: &crate::settings::Settings, q: &str) -> Option<&'static Family> {
    blocking(q).or_else(|| in_configured(q, &settings.python.blocking_calls).then_some(&CONFIGURED))
}

/// The family of a blocking call by its qualified name.
fn blocking(q: &str) -> Option<&'static Family> {
    // The first family that lists `q` as a call, or as `receiver.method` (method names have no dot, so that is
    // `q` split at its last dot), from a map made once: this is asked for every call of every function.
    static BY_NAME: std::sync::LazyLock<HashMap<String, &'static Family>> = std::sync::LazyLock::new(|| {
        let mut by_name = HashMap::default();
        for f in FAMILIES {
            for c in f.calls {
                by_name.entry((*c).to_string()).or_insert(f);
            }
            for (r, ms) in f.methods {
                for m in *ms {
                    by_name.entry(format!("{r}.{m}")).or_insert(f);
                }
            }
        }
        by_name
    });
    BY_NAME.get(q).copied()
}

/// `getaddrinfo(…, flags=AI_NUMERICHOST)` and `getnameinfo(…, NI_NUMERICHOST | NI_NUMERICSERV)` resolve no
/// name: they parse numbers and return at once. The flags may be written in the call or in a name bound only
/// to such flags (`_NUMERIC_ONLY = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV`, as in distributed's
/// `comm/tcp.py`).
fn numeric_lookup(cx: &Checker<'_, '_, '_>, q: &str, call: &Call<'_>, scope: Option<FuncId>) -> bool {
    let flags = match q {
        "socket.getaddrinfo" => call.keyword("flags").or_else(|| call.args.get(5)),
        "socket.getnameinfo" => call.keyword("flags").or_else(|| call.args.get(1)),
        _ => return false,
    };
    let Some(flags) = flags else { return false };
    let numeric = |text: &str| match q {
        "socket.getaddrinfo" => text.contains("AI_NUMERICHOST"),
        _ => text.contains("NI_NUMERICHOST") && text.contains("NI_NUMERICSERV"),
    };
    if numeric(cx.lines.text(flags.range)) {
        return true;
    }
    // A constant: every value bound to the name (a few at most) carries the flags.
    let Some(name) = flags.as_name() else { return false };
    cx.model.binding(name, scope).is_some_and(|vs| {
        (1..=4).contains(&vs.len()) && vs.iter().all(|v| numeric(cx.lines.text(v.range)))
    })
}

/// A method of a socket set non-blocking earlier in the same function (`sock.setblocking(False)`,
/// `sock.settimeout(0)`): it returns at once (or raises `BlockingIOError`) instead of waiting.
fn on_non_blocking_socket(cx: &Checker<'_, '_, '_>, q: &str, c: &CallSite<'_, '_>) -> bool {
    if !q.starts_with("socket.socket().") {
        return false;
    }
    if in_try_catching_blocking_io(cx, c) {
        return true;
    }
    let ExprKind::Attribute { value, .. } = &c.call.func.kind else { return false };
    let Some(recv) = value.dotted() else { return false };
    cx.model.calls.iter().any(|o| {
        o.scope == c.scope
            && o.range.start < c.range.start
            && matches!(&o.call.func.kind, ExprKind::Attribute { value, attr }
                if matches!(*attr, "setblocking" | "settimeout") && value.dotted().as_deref() == Some(recv.as_str()))
            && o.call.args.first().is_some_and(|a| matches!(cx.lines.text(a.range).trim(), "False" | "0" | "0.0"))
    })
}

/// A call in the `try:` block of a `try` with an `except BlockingIOError` handler: the code expects the socket
/// to be non-blocking (anyio's `create_unix_datagram_socket`: `connect`, then `add_writer` on
/// `BlockingIOError`).
fn in_try_catching_blocking_io(cx: &Checker<'_, '_, '_>, c: &CallSite<'_, '_>) -> bool {
    fn visit(cx: &Checker<'_, '_, '_>, body: &[Stmt<'_>], at: Range) -> bool {
        for s in body {
            if !s.range.contains(at) {
                continue;
            }
            if let StmtKind::Try { body: tb, .. } = &s.kind
                && let Some(last) = tb.last()
                && tb.iter().any(|b| b.range.contains(at))
            {
                let rest = cx.lines.text(Range { start: last.range.end, end: s.range.end });
                if rest.lines().any(|l| l.trim_start().starts_with("except") && l.contains("BlockingIOError")) {
                    return true;
                }
            }
            if matches!(s.kind, StmtKind::FunctionDef(_) | StmtKind::ClassDef(_)) {
                return false;
            }
            let mut hit = false;
            s.for_each_block(&mut |b| hit = hit || visit(cx, b, at));
            return hit;
        }
        false
    }
    let body = match c.scope {
        Some(f) => &cx.model.funcs[f].def.body,
        None => &cx.model.module.body,
    };
    visit(cx, body, c.range)
}

/// At most this many functions are searched from one call for a blocking call.
const MAX_HELPERS: usize = 64;

/// A blocking call a sync function of this module makes, directly or through the sync functions it calls (in
/// this module): the chain of functions from `start` to the one making the call, the call, and its family.
type Reached<'c, 'm, 'a> = (Vec<FuncId>, &'c CallSite<'m, 'a>, &'static Family);

fn blocking_in_helper<'c, 'm, 'a>(cx: &'c Checker<'_, 'm, 'a>, start: FuncId) -> Option<Reached<'c, 'm, 'a>> {
    let model = cx.model;
    // Breadth first: the shortest chain; `parent` leads back to `start`.
    let mut parent: HashMap<FuncId, FuncId> = HashMap::default();
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from_iter([start]);
    while let Some(h) = queue.pop_front() {
        let def = model.funcs[h].def;
        if def.is_async || is_generator(&def.body) {
            continue;
        }
        for &i in &model.calls_by_func[h] {
            let c = &model.calls[i];
            if c.in_lambda {
                continue;
            }
            let Some(q) = c.qual.as_deref() else { continue };
            let Some(family) = blocking_in(cx.settings, q) else { continue };
            if numeric_lookup(cx, q, c.call, c.scope) || on_non_blocking_socket(cx, q, c) {
                continue;
            }
            let mut chain = vec![h];
            while let Some(&p) = parent.get(chain.last()?) {
                chain.push(p);
            }
            chain.reverse();
            return Some((chain, c, family));
        }
        for &i in &model.calls_by_func[h] {
            let c = &model.calls[i];
            let Some(g) = model
                .resolve_function(&c.call.func, c.scope)
                .or_else(|| model.resolve_held_method(&c.call.func, c.scope))
            else {
                continue;
            };
            if !c.in_lambda && seen.len() < MAX_HELPERS && seen.insert(g) {
                parent.insert(g, h);
                queue.push_back(g);
            }
        }
    }
    None
}

/// A helper's blocking call: the chain of functions, the call (index into the model's calls), its family.
type Hit = (Vec<FuncId>, usize, &'static Family);

/// Reports direct calls from `async def` to sync functions of this module that block (through any number of
/// them), at the call, with the chain and the blocking call as notes.
fn check_helpers(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    let mut found = Vec::new();
    let mut memo: HashMap<FuncId, Option<Hit>> = HashMap::default();
    for (ci, c) in model.calls.iter().enumerate() {
        if !c.in_async || c.awaited || c.in_lambda {
            continue;
        }
        let g = model.resolve_function(&c.call.func, c.scope).or_else(|| model.resolve_held_method(&c.call.func, c.scope));
        let (Some(f), Some(g)) = (c.scope, g) else { continue };
        if g == f {
            continue;
        }
        let hit = memo
            .entry(g)
            .or_insert_with(|| {
                blocking_in_helper(cx, g).map(|(chain, b, fam)| {
                    let bi = model.calls.iter().position(|x| std::ptr::eq(x, b)).unwrap_or(ci);
                    (chain, bi, fam)
                })
            })
            .clone();
        if let Some((chain, bi, family)) = hit {
            found.push((ci, f, chain, bi, family));
        }
    }
    for (ci, f, chain, bi, family) in found {
        let (c, b) = (&model.calls[ci], &model.calls[bi]);
        let q = b.qual.as_deref().unwrap_or_default();
        let shown = q.strip_prefix("builtins.").unwrap_or(q).replace("()", "(…)");
        let names: Vec<String> = chain.iter().map(|&h| format!("`{}`", cx.func_name(h))).collect();
        let d = cx
            .diagnostic(
                &META,
                c.range,
                format!(
                    "call to `{}` inside `async def {}` blocks: it makes the blocking call `{shown}` ({}), which \
                     stops the event loop, and every other task, until it returns",
                    cx.func_name(chain[0]),
                    cx.func_name(f),
                    family.what,
                ),
            )
            .with_help(format!("{}; or run the helper with `await asyncio.to_thread(…)`", family.help))
            .with_note(format!("blocking call `{shown}`, reached through {}", names.join(" → ")), Some(cx.span(b.range)))
            .with_note("the enclosing `async def`", Some(cx.span(model.funcs[f].def.name_range)));
        cx.report(d);
    }
}

/// Calls that only make a generator: the file-system work happens at each `next`.
const LAZY: &[&str] = &["pathlib.Path().walk", "pathlib.Path().glob", "pathlib.Path().rglob", "pathlib.Path().iterdir", "os.walk"];

/// A generator-making call (`Path.walk`, `glob`, `iterdir`, `os.walk`) whose generator is stored in a name that
/// the `async def` `f` itself never iterates (no `for … in gen`, `list(gen)`, `next(gen)`, comprehension over it
/// outside nested functions): the blocking steps happen elsewhere — anyio's `Path.walk` hands `next(gen)` to a
/// worker thread (anyio 4.4.0, `_core/_fileio.py`).
fn generator_kept_for_later(model: &Model<'_, '_>, q: &str, call: Range, f: FuncId) -> bool {
    if !LAZY.contains(&q) {
        return false;
    }
    fn stored_in<'a>(body: &[Stmt<'a>], call: Range) -> Option<&'a str> {
        for s in body {
            if !s.range.contains(call) {
                continue;
            }
            if let StmtKind::Assign { targets, value: Some(v), .. } = &s.kind
                && v.range == call
                && let [t] = targets.as_slice()
            {
                return t.as_name();
            }
            if matches!(s.kind, StmtKind::FunctionDef(_) | StmtKind::ClassDef(_)) {
                return None;
            }
            let mut found = None;
            s.for_each_block(&mut |b| found = found.or_else(|| stored_in(b, call)));
            return found;
        }
        None
    }
    fn iterates(body: &[Stmt<'_>], name: &str) -> bool {
        let mut hit = false;
        for s in body {
            if let StmtKind::For { iter, .. } = &s.kind
                && iter.as_name() == Some(name)
            {
                return true;
            }
            if matches!(s.kind, StmtKind::FunctionDef(_) | StmtKind::ClassDef(_)) {
                continue;
            }
            s.for_each_block(&mut |b| hit = hit || iterates(b, name));
        }
        hit
    }
    fn consumed(e: &Expr<'_>, name: &str) -> bool {
        let hit = match &e.kind {
            ExprKind::Call(c) => {
                matches!(c.func.as_name(), Some("list" | "tuple" | "sorted" | "set" | "next" | "enumerate" | "zip" | "any" | "all" | "sum" | "max" | "min"))
                    && c.args.iter().any(|a| a.as_name() == Some(name))
            }
            ExprKind::Comprehension { generators, .. } => generators.iter().any(|g| g.iter.as_name() == Some(name)),
            ExprKind::Lambda { .. } => return false,
            _ => false,
        };
        let mut any = hit;
        if !any {
            e.for_each_child(&mut |c| any = any || consumed(c, name));
        }
        any
    }
    let body = &model.funcs[f].def.body;
    let Some(name) = stored_in(body, call) else { return false };
    if iterates(body, name) {
        return false;
    }
    let mut used = false;
    walk_body_exprs(body, &mut |e| used = used || consumed(e, name));
    !used
}

/// Reports blocking calls whose innermost function is `async def`.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for c in &model.calls {
        if !c.in_async {
            continue;
        }
        let Some(q) = c.qual.as_deref() else { continue };
        let Some(family) = blocking_in(cx.settings, q) else { continue };
        let Some(f) = c.scope else { continue };
        if numeric_lookup(cx, q, c.call, c.scope)
            || on_non_blocking_socket(cx, q, c)
            || generator_kept_for_later(model, q, c.range, f)
        {
            continue;
        }
        let shown = q.strip_prefix("builtins.").unwrap_or(q).replace("()", "(…)");
        let d = cx
            .diagnostic(
                &META,
                c.range,
                format!(
                    "blocking call `{shown}` ({}) inside `async def {}`: it stops the event loop, and every other \
                     task, until it returns",
                    family.what,
                    cx.func_name(f)
                ),
            )
            .with_help(family.help)
            .with_note("the enclosing `async def`", Some(cx.span(model.funcs[f].def.name_range)));
        cx.report(d);
    }
    check_helpers(cx);
}

/// CA503's facts for the link phase: the sync functions of the file that block or call into other modules, and
/// the calls from `async def` that may reach them.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
pub struct Blocking {
    /// Sync functions: module-level ones by name, then local targets of [`Blocking::calls`].
    pub funcs: Vec<BlockFn>,
    /// Non-awaited calls from `async def` to imported functions, or to local ones that call into other modules.
    pub calls: Vec<HelperCall>,
}

impl LinkFacts for Blocking {
    fn starts_link(&self) -> bool {
        !self.calls.is_empty()
    }
}

/// One step of a chain: in function `func`, the call at `span` (to the next function, or the blocking call).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct Step {
    /// The function making the call.
    pub func: String,
    /// The call.
    pub span: Span,
}

/// A blocking call a function reaches in its own module.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct BlockHit {
    /// From the function itself to the blocking call.
    pub steps: Vec<Step>,
    /// The blocking call, as shown (`open`, `requests.get`).
    pub call: String,
    /// Its family (`file I/O`).
    pub what: String,
    /// The family's advice.
    pub help: String,
}

/// A call to an imported name a function makes, itself or through sync functions of its module.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct ExtCall {
    /// From the function itself to the call.
    pub steps: Vec<Step>,
    /// The callee's absolute name.
    pub qual: String,
}

/// A sync function's facts.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct BlockFn {
    /// Its name.
    pub name: String,
    /// The span of its name.
    pub span: Span,
    /// Module-level (importable by name).
    pub top_level: bool,
    /// The blocking call it reaches in its module, if any.
    pub hit: Option<BlockHit>,
    /// Otherwise, its calls into other modules.
    pub calls: Vec<ExtCall>,
}

/// A call from `async def` for the link phase.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq)]
pub struct HelperCall {
    /// The `async def`.
    pub caller: String,
    /// The span of its name.
    pub caller_span: Span,
    /// The call.
    pub span: Span,
    /// The callee.
    pub target: Target,
}

/// At most this many calls into other modules are kept per function.
const MAX_EXT_CALLS: usize = 16;

/// The calls a function makes itself, outside nested functions and lambdas.
fn own_calls<'m, 'a>(body: &'m [Stmt<'a>]) -> Vec<(&'m Call<'a>, Range)> {
    fn visit<'m, 'a>(e: &'m Expr<'a>, out: &mut Vec<(&'m Call<'a>, Range)>) {
        if matches!(e.kind, ExprKind::Lambda { .. }) {
            return;
        }
        if let ExprKind::Call(c) = &e.kind {
            out.push((c, e.range));
        }
        e.for_each_child(&mut |c| visit(c, out));
    }
    let mut out = Vec::new();
    walk_body_exprs(body, &mut |e| visit(e, &mut out));
    out
}

/// What a sync function reaches through the sync functions of its module (breadth first, up to
/// [`MAX_HELPERS`]): the first blocking call, or else its calls into other modules. Works on index-only models
/// (modules without concurrency words have no call sites): it walks the bodies itself.
fn reach(fx: &FactsCx<'_, '_, '_, '_, '_>, start: FuncId) -> (Option<BlockHit>, Vec<ExtCall>) {
    let (cx, model) = (fx.cx, fx.cx.model);
    let mut parent: HashMap<FuncId, (FuncId, Range)> = HashMap::default();
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from_iter([start]);
    let mut ext = Vec::new();
    let steps = |parent: &HashMap<FuncId, (FuncId, Range)>, h: FuncId, at: Range| {
        let mut out = vec![Step { func: cx.func_name(h).to_string(), span: cx.span(at) }];
        let mut cur = h;
        while let Some(&(p, r)) = parent.get(&cur) {
            out.push(Step { func: cx.func_name(p).to_string(), span: cx.span(r) });
            cur = p;
        }
        out.reverse();
        out
    };
    while let Some(h) = queue.pop_front() {
        let def = model.funcs[h].def;
        if def.is_async || is_generator(&def.body) {
            continue;
        }
        for (call, range) in own_calls(&def.body) {
            if let Some(q) = model.qualify(&call.func, Some(h))
                && let Some(family) = blocking_in(cx.settings, &q)
            {
                if numeric_lookup(cx, &q, call, Some(h)) {
                    continue;
                }
                if q.starts_with("socket.socket().") {
                    // Whether the socket was set non-blocking is only known per file.
                    continue;
                }
                let shown = q.strip_prefix("builtins.").unwrap_or(&q).replace("()", "(…)");
                let hit = BlockHit {
                    steps: steps(&parent, h, range),
                    call: shown,
                    what: family.what.to_string(),
                    help: family.help.to_string(),
                };
                return (Some(hit), Vec::new());
            }
            if let Some(g) = model.resolve_function(&call.func, Some(h)) {
                if seen.len() < MAX_HELPERS && seen.insert(g) {
                    parent.insert(g, (h, range));
                    queue.push_back(g);
                }
            } else if ext.len() < MAX_EXT_CALLS
                && let Some(qual) = fx.project.external_name(&call.func)
                && !ext.iter().any(|e: &ExtCall| e.qual == qual)
            {
                ext.push(ExtCall { steps: steps(&parent, h, range), qual });
            }
        }
    }
    (None, ext)
}

/// Gathers the file's facts.
fn facts(fx: &FactsCx<'_, '_, '_, '_, '_>) -> Blocking {
    let (cx, model) = (fx.cx, fx.cx.model);
    let mut out = Blocking::default();
    let mut index: HashMap<FuncId, usize> = HashMap::default();
    let mut add = |out: &mut Blocking, f: FuncId, top_level: bool| -> Option<usize> {
        if let Some(&i) = index.get(&f) {
            return Some(i);
        }
        let def = model.funcs[f].def;
        if def.is_async || is_generator(&def.body) {
            return None;
        }
        let (hit, calls) = reach(fx, f);
        if hit.is_none() && calls.is_empty() {
            return None;
        }
        out.funcs.push(BlockFn { name: def.name.to_string(), span: cx.span(def.name_range), top_level, hit, calls });
        index.insert(f, out.funcs.len() - 1);
        Some(out.funcs.len() - 1)
    };
    for (f, info) in model.funcs.iter().enumerate() {
        if info.parent.is_none() && info.class.is_none() {
            add(&mut out, f, true);
        }
    }
    for c in &model.calls {
        if !c.in_async || c.awaited || c.in_lambda {
            continue;
        }
        let Some(f) = c.scope else { continue };
        if c.qual.as_deref().is_some_and(|q| blocking_in(cx.settings, q).is_some()) {
            continue;
        }
        let target = match model.resolve_function(&c.call.func, c.scope) {
            Some(g) if g != f => {
                // The per-file check reports helpers that block in this module.
                let Some(i) = add(&mut out, g, false) else { continue };
                if out.funcs[i].hit.is_some() {
                    continue;
                }
                Target::Local(i)
            }
            Some(_) => continue,
            None => match fx.project.external_name(&c.call.func) {
                Some(q) => Target::Imported(q),
                None => continue,
            },
        };
        let def = model.funcs[f].def;
        out.calls.push(HelperCall {
            caller: def.name.to_string(),
            caller_span: cx.span(def.name_range),
            span: cx.span(c.range),
            target,
        });
    }
    if out.calls.is_empty() {
        // Only module-level functions other files may call are worth keeping.
        out.funcs.retain(|f| f.top_level);
    }
    out.funcs.shrink_to_fit();
    out
}

/// At most this many functions are visited across modules from one call.
const MAX_LINKED: usize = 512;

/// Calls from `async def` to sync functions of other modules that block, followed through any number of
/// modules; reported at the call with a note at each step of the chain.
fn link(p: &Linker<'_>, facts: &[&Blocking], out: &mut Vec<Diagnostic>) {
    let top: Vec<HashMap<&str, usize>> = facts
        .iter()
        .map(|b| b.funcs.iter().enumerate().filter(|(_, f)| f.top_level).map(|(i, f)| (f.name.as_str(), i)).collect())
        .collect();
    let resolve = |qual: &str, from: usize| {
        p.index().resolve(qual, from, |m, name| match top[m].get(name) {
            Some(&i) => ControlFlow::Break(Some((m, i))),
            None => ControlFlow::Continue(()),
        })
    };
    type Node = (usize, usize);
    for (fi, file) in p.files.iter().enumerate() {
        for call in &facts[fi].calls {
            let start = match &call.target {
                Target::Local(i) => (fi, *i),
                Target::Imported(q) => {
                    let Some(n) = resolve(q, fi) else { continue };
                    n
                }
            };
            // Breadth first: the shortest chain; `parent` leads back to `start` with the call taken.
            let mut parent: HashMap<Node, (Node, usize)> = HashMap::default();
            let mut queue = VecDeque::from([start]);
            let mut seen = HashSet::from_iter([start]);
            let mut found = None;
            while let Some(n) = queue.pop_front() {
                let f = &facts[n.0].funcs[n.1];
                if f.hit.is_some() {
                    found = Some(n);
                    break;
                }
                for (ei, e) in f.calls.iter().enumerate() {
                    let Some(next) = resolve(&e.qual, n.0) else { continue };
                    if seen.len() < MAX_LINKED && seen.insert(next) {
                        parent.insert(next, (n, ei));
                        queue.push_back(next);
                    }
                }
            }
            let Some(end) = found else { continue };
            // The chain of (file, step): each cross-module call, then the blocking call's steps.
            let mut hops: Vec<(usize, &Step)> = Vec::new();
            let mut cur = end;
            while let Some(&(prev, ei)) = parent.get(&cur) {
                let steps = &facts[prev.0].funcs[prev.1].calls[ei].steps;
                hops.splice(0..0, steps.iter().map(|s| (prev.0, s)));
                cur = prev;
            }
            let hit = facts[end.0].funcs[end.1].hit.as_ref().expect("found a hit");
            hops.extend(hit.steps.iter().map(|s| (end.0, s)));
            let first = &facts[start.0].funcs[start.1];
            let mut d = Diagnostic::new(
                &META,
                &file.path,
                call.span,
                format!(
                    "call to `{}` inside `async def {}` blocks: it makes the blocking call `{}` ({}), which stops the \
                     event loop, and every other task, until it returns",
                    first.name, call.caller, hit.call, hit.what
                ),
            )
            .with_help(format!("{}; or run the helper with `await asyncio.to_thread(…)`", hit.help));
            let last = hops.len() - 1;
            for (k, (hf, step)) in hops.iter().enumerate() {
                let text = if k == last {
                    format!("`{}` makes the blocking call `{}`", step.func, hit.call)
                } else {
                    format!("`{}` calls `{}`", step.func, hops[k + 1].1.func)
                };
                d = p.note(d, fi, *hf, text, step.span);
            }
            out.push(d.with_note("the enclosing `async def`", Some(call.caller_span)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FAMILIES, Family, blocking};
    use crate::settings::Settings;
    use std::path::Path;

    fn codes(src: &str, settings: &Settings) -> Vec<(&'static str, usize)> {
        crate::python::analyze(Path::new("t.py"), src, settings).iter().map(|d| (d.rule.code, d.span.start.line)).collect()
    }

    /// The map [`blocking`] looks names up in gives the family the list order gives: the first that names the
    /// call, or the receiver and method the name splits into at its last dot.
    #[test]
    fn blocking_families_come_from_the_map_as_from_the_lists() {
        let linear = |q: &str| {
            FAMILIES.iter().position(|f| {
                f.calls.contains(&q)
                    || q.rsplit_once('.').is_some_and(|(recv, m)| {
                        f.methods.iter().any(|(r, ms)| *r == recv && ms.contains(&m))
                    })
            })
        };
        // `FAMILIES` is a constant: compared by contents, not address.
        let index = |f: Option<&'static Family>| {
            f.map(|f| FAMILIES.iter().position(|g| (g.what, g.help, g.calls) == (f.what, f.help, f.calls)))
        };
        let mut names: Vec<String> = Vec::new();
        for f in FAMILIES {
            names.extend(f.calls.iter().map(|c| (*c).to_string()));
            for (r, ms) in f.methods {
                assert!(ms.iter().all(|m| !m.contains('.')), "{r}: a method name with a dot");
                names.extend(ms.iter().map(|m| format!("{r}.{m}")));
                names.push(format!("{r}.not_a_method"));
            }
        }
        names.extend(["time", "time.sleepy", "os.path", "", ".", "pathlib.Path().open.x"].map(String::from));
        assert!(names.len() > 50);
        for q in &names {
            assert_eq!(index(blocking(q)), linear(q).map(Some), "{q}");
        }
    }

    /// Issue 13: `[python] blocking-calls` and `cpu-heavy-calls` name a project's own wrappers and libraries.
    #[test]
    fn configured_blocking_and_cpu_heavy_calls() {
        let src = "import asyncio, threading\nimport mylib\nfrom vendor.render import draw\n\nasync def h(x):\n    mylib.fetch(x)\n    return draw(x)\n\ndef work(x):\n    return draw(x)\n\nfor _ in range(4):\n    threading.Thread(target=work, args=(1,)).start()\n";
        assert!(codes(src, &Settings::default()).is_empty(), "{:?}", codes(src, &Settings::default()));
        let mut s = Settings::default();
        s.python.blocking_calls = vec!["mylib.".into()];
        s.python.cpu_heavy_calls = vec!["vendor.render.draw".into()];
        assert_eq!(codes(src, &s), [("CA501", 13), ("CA503", 6), ("CA504", 7)], "{:?}", codes(src, &s));
    }

    /// The measured GIL-holding calls (`bench/gil-calls.py`) are weak CPU evidence: a thread target whose only
    /// work is one is reported (CA501), an `async def` making one is not (CA504 wants strong evidence), and one
    /// that also does I/O stays I/O-bound.
    #[test]
    fn gil_holding_library_calls_are_weak_cpu_evidence() {
        let spawn = "for _ in range(4):\n    threading.Thread(target=work, args=(1,)).start()\n";
        let parse = format!("import threading, json\ndef work(s):\n    return json.loads(s)\n{spawn}");
        assert_eq!(codes(&parse, &Settings::default()), [("CA501", 5)]);
        let with_io = format!("import threading, json\ndef work(p):\n    return json.loads(open(p).read())\n{spawn}");
        assert!(codes(&with_io, &Settings::default()).is_empty());
        let in_async = "import json\nasync def h(s):\n    return json.loads(s)\n";
        assert!(codes(in_async, &Settings::default()).is_empty());
    }
}
