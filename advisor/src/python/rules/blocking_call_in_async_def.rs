//! CA503 `blocking-call-in-async-def`: blocking calls made directly inside `async def`.

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;
use std::collections::{HashMap, HashSet, VecDeque};

use crate::python::ast::{Call, ExprKind, is_generator};
use crate::python::semantic::{CallSite, FuncId};

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
    /// (no DNS query), and methods of a socket set non-blocking earlier in the same function
    /// (`sock.setblocking(False)`, `sock.settimeout(0)`).
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
    /// A direct call to a sync function of the same module that blocks — itself or through the sync functions
    /// it calls in the module (up to 64 of them) — is reported at the call, with the chain as a note; helpers in
    /// other modules and methods of objects whose class is not known are not followed. An
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

/// The rule (per-file only).
pub struct Rule;

impl PythonRule for Rule {
    type Facts = ();

    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &mut Checker<'_, '_, '_>) {
        check(cx);
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

/// The family of a blocking call by its qualified name.
fn blocking(q: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| {
        f.calls.contains(&q)
            || q.rsplit_once('.').is_some_and(|(recv, m)| {
                f.methods.iter().any(|(r, ms)| *r == recv && ms.contains(&m))
            })
    })
}

/// `getaddrinfo(…, flags=AI_NUMERICHOST)` and `getnameinfo(…, NI_NUMERICHOST | NI_NUMERICSERV)` resolve no
/// name: they parse numbers and return at once.
fn numeric_lookup(cx: &Checker<'_, '_, '_>, q: &str, call: &Call<'_>) -> bool {
    let flags = match q {
        "socket.getaddrinfo" => call.keyword("flags").or_else(|| call.args.get(5)),
        "socket.getnameinfo" => call.keyword("flags").or_else(|| call.args.get(1)),
        _ => return false,
    };
    let Some(flags) = flags else { return false };
    let text = cx.lines.text(flags.range);
    match q {
        "socket.getaddrinfo" => text.contains("AI_NUMERICHOST"),
        _ => text.contains("NI_NUMERICHOST") && text.contains("NI_NUMERICSERV"),
    }
}

/// A method of a socket set non-blocking earlier in the same function (`sock.setblocking(False)`,
/// `sock.settimeout(0)`): it returns at once (or raises `BlockingIOError`) instead of waiting.
fn on_non_blocking_socket(cx: &Checker<'_, '_, '_>, q: &str, c: &CallSite<'_, '_>) -> bool {
    if !q.starts_with("socket.socket().") {
        return false;
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

/// At most this many functions are searched from one call for a blocking call.
const MAX_HELPERS: usize = 64;

/// A blocking call a sync function of this module makes, directly or through the sync functions it calls (in
/// this module): the chain of functions from `start` to the one making the call, the call, and its family.
type Reached<'c, 'm, 'a> = (Vec<FuncId>, &'c CallSite<'m, 'a>, &'static Family);

fn blocking_in_helper<'c, 'm, 'a>(cx: &'c Checker<'_, 'm, 'a>, start: FuncId) -> Option<Reached<'c, 'm, 'a>> {
    let model = cx.model;
    // Breadth first: the shortest chain; `parent` leads back to `start`.
    let mut parent: HashMap<FuncId, FuncId> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut seen = HashSet::from([start]);
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
            let Some(family) = blocking(q) else { continue };
            if numeric_lookup(cx, q, c.call) || on_non_blocking_socket(cx, q, c) {
                continue;
            }
            let mut chain = vec![h];
            while let Some(&p) = parent.get(chain.last()?) {
                chain.push(p);
            }
            chain.reverse();
            return Some((chain, c, family));
        }
        for (i, g) in model.callees(h) {
            if !model.calls[i].in_lambda && seen.len() < MAX_HELPERS && seen.insert(g) {
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
    let mut memo: HashMap<FuncId, Option<Hit>> = HashMap::new();
    for (ci, c) in model.calls.iter().enumerate() {
        if !c.in_async || c.awaited || c.in_lambda {
            continue;
        }
        let (Some(f), Some(g)) = (c.scope, model.resolve_function(&c.call.func, c.scope)) else { continue };
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

/// Reports blocking calls whose innermost function is `async def`.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for c in &model.calls {
        if !c.in_async {
            continue;
        }
        let Some(q) = c.qual.as_deref() else { continue };
        let Some(family) = blocking(q) else { continue };
        let Some(f) = c.scope else { continue };
        if numeric_lookup(cx, q, c.call) || on_non_blocking_socket(cx, q, c) {
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
