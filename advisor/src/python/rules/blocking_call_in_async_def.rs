//! CA503 `blocking-call-in-async-def`: blocking calls made directly inside `async def`.

use crate::declare_rule;
use crate::python::rules::PythonRule;
use crate::registry::RuleMeta;
use crate::python::Checker;

declare_rule! {
    /// ## What it does
    /// Finds blocking calls made directly in the body of an `async def`: `time.sleep`, synchronous HTTP clients
    /// (`requests`, `httpx.get`/`httpx.Client`, `urllib.request.urlopen`, `urllib3`), `open` and `pathlib` file
    /// reads and writes, `subprocess.run/call/check_call/check_output`, `os.system`/`os.popen`/`os.waitpid`,
    /// blocking socket calls (`socket.create_connection`, `getaddrinfo`, `recv`/`accept`/`connect`/`sendall` on a
    /// `socket.socket()`), `input`, and database connections (`sqlite3`, `psycopg2`, `pymysql`).
    ///
    /// The innermost function decides: a call inside a nested `def` or a `lambda` in an `async def` is not
    /// reported (it runs wherever that function is called, e.g. in `asyncio.to_thread`).
    ///
    /// ## Why is this bad?
    /// An event loop runs one task at a time on one thread. A blocking call stops the loop: every other task —
    /// other requests, timeouts, heartbeats — waits until it returns.
    ///
    /// ## Known problems
    /// Calls through helper functions (an `async def` calling a sync `def` that sleeps) are not followed. An
    /// `open` of a small local file is fast in practice; suppress it if you accept the pause.
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
        equivalent: "ruff ASYNC210/ASYNC220/ASYNC230/ASYNC251",
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

/// The blocking calls, by qualified name or prefix, and what to use instead.
const BLOCKING: &[(&str, &str)] = &[
    ("time.sleep", "use `await asyncio.sleep(…)`"),
    ("builtins.open", "use `await asyncio.to_thread(…)` for the file work (or `aiofiles`)"),
    ("pathlib.Path().read_text", "use `await asyncio.to_thread(path.read_text)`"),
    ("pathlib.Path().read_bytes", "use `await asyncio.to_thread(path.read_bytes)`"),
    ("pathlib.Path().write_text", "use `await asyncio.to_thread(path.write_text, …)`"),
    ("pathlib.Path().write_bytes", "use `await asyncio.to_thread(path.write_bytes, …)`"),
    ("pathlib.Path().open", "use `await asyncio.to_thread(…)` for the file work"),
    ("builtins.input", "use `await asyncio.to_thread(input, …)`"),
    ("subprocess.run", "use `await asyncio.create_subprocess_exec(…)`"),
    ("subprocess.call", "use `await asyncio.create_subprocess_exec(…)`"),
    ("subprocess.check_call", "use `await asyncio.create_subprocess_exec(…)`"),
    ("subprocess.check_output", "use `await asyncio.create_subprocess_exec(…)` and `communicate()`"),
    ("subprocess.getoutput", "use `await asyncio.create_subprocess_shell(…)`"),
    ("subprocess.getstatusoutput", "use `await asyncio.create_subprocess_shell(…)`"),
    ("subprocess.Popen().wait", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    ("subprocess.Popen().communicate", "use `asyncio.create_subprocess_exec` and `await proc.communicate()`"),
    ("os.system", "use `await asyncio.create_subprocess_shell(…)`"),
    ("os.popen", "use `await asyncio.create_subprocess_shell(…)`"),
    ("os.wait", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    ("os.waitpid", "use `asyncio.create_subprocess_exec` and `await proc.wait()`"),
    ("requests.get", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.post", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.put", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.patch", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.delete", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.head", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.options", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.request", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("requests.Session().", "use an async client (`httpx.AsyncClient`, `aiohttp`) or `await asyncio.to_thread(…)`"),
    ("httpx.get", "use `httpx.AsyncClient` and `await client.get(…)`"),
    ("httpx.post", "use `httpx.AsyncClient` and `await client.post(…)`"),
    ("httpx.put", "use `httpx.AsyncClient`"),
    ("httpx.patch", "use `httpx.AsyncClient`"),
    ("httpx.delete", "use `httpx.AsyncClient`"),
    ("httpx.head", "use `httpx.AsyncClient`"),
    ("httpx.request", "use `httpx.AsyncClient`"),
    ("httpx.stream", "use `httpx.AsyncClient.stream`"),
    ("httpx.Client().", "use `httpx.AsyncClient` and await its methods"),
    ("urllib.request.urlopen", "use an async client (`aiohttp`, `httpx.AsyncClient`) or `asyncio.to_thread`"),
    ("urllib.request.urlretrieve", "use an async client or `asyncio.to_thread`"),
    ("urllib3.request", "use an async client (`aiohttp`, `httpx.AsyncClient`) or `asyncio.to_thread`"),
    ("urllib3.PoolManager().", "use an async client (`aiohttp`, `httpx.AsyncClient`) or `asyncio.to_thread`"),
    ("socket.create_connection", "use `await asyncio.open_connection(…)`"),
    ("socket.getaddrinfo", "use `await loop.getaddrinfo(…)`"),
    ("socket.gethostbyname", "use `await loop.getaddrinfo(…)`"),
    ("socket.socket().recv", "use `await loop.sock_recv(…)` or asyncio streams"),
    ("socket.socket().recv_into", "use `await loop.sock_recv_into(…)` or asyncio streams"),
    ("socket.socket().recvfrom", "use an asyncio datagram endpoint"),
    ("socket.socket().accept", "use `await loop.sock_accept(…)` or `asyncio.start_server`"),
    ("socket.socket().connect", "use `await loop.sock_connect(…)` or `asyncio.open_connection`"),
    ("socket.socket().sendall", "use `await loop.sock_sendall(…)` or asyncio streams"),
    ("socket.socket().send", "use `await loop.sock_sendall(…)` or asyncio streams"),
    ("sqlite3.connect", "use an async driver (`aiosqlite`) or `await asyncio.to_thread(…)`"),
    ("psycopg2.connect", "use an async driver (`asyncpg`, `psycopg` async) or `asyncio.to_thread`"),
    ("pymysql.connect", "use an async driver (`aiomysql`) or `asyncio.to_thread`"),
];

fn blocking(q: &str) -> Option<&'static str> {
    // Constructors and exceptions of these modules do not block; only their calls that do I/O are listed.
    if q.ends_with("()") || q.rsplit('.').next().is_some_and(|last| last.starts_with(char::is_uppercase)) {
        return None;
    }
    BLOCKING.iter().find_map(|(p, help)| {
        let hit = if p.ends_with('.') { q.starts_with(p) } else { q == *p };
        hit.then_some(*help)
    })
}

/// Reports blocking calls whose innermost function is `async def`.
fn check(cx: &mut Checker<'_, '_, '_>) {
    let model = cx.model;
    for c in &model.calls {
        if !c.in_async {
            continue;
        }
        let Some(q) = c.qual.as_deref() else { continue };
        let Some(help) = blocking(q) else { continue };
        let Some(f) = c.scope else { continue };
        let shown = q.strip_prefix("builtins.").unwrap_or(q).replace("()", "(…)");
        let d = cx
            .diagnostic(
                &META,
                c.range,
                format!(
                    "blocking call `{shown}` inside `async def {}`: it stops the event loop, and every other task, \
                     until it returns",
                    cx.func_name(f)
                ),
            )
            .with_help(help)
            .with_note("the enclosing `async def`", Some(cx.span(model.funcs[f].def.name_range)));
        cx.report(d);
    }
}
