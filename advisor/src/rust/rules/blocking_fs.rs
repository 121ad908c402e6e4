//! CA102 `blocking-fs-in-async`: blocking file-system I/O (`std::fs`) in async context.

use syn::Expr;

use super::{CallSite, Checker, CrateGraph, FnBody, LinkContext, MethodCallSite, OnCall, OnFn, OnMethodCall, RustRule, strip_wrappers};
use crate::diagnostic::Span;
use crate::declare_rule;
use crate::rust::types::STD_FS_FNS;

declare_rule! {
    /// ## What it does
    /// Reports blocking file-system calls in async context: the `std::fs` functions (`read`,
    /// `read_to_string`, `write`, `read_dir`, `metadata`, `copy`, `rename`, `remove_*`, `create_dir*`, …),
    /// `std::fs::File::open`/`create`, `OpenOptions::open`, reads and writes on a `std::fs::File` (including
    /// through a `BufReader`/`BufWriter` over one), and file-system queries on `std::path::Path`/`PathBuf`
    /// (`exists`, `is_file`, `metadata`, `read_dir`, …). The receiver must be known to be a std file or path:
    /// from its constructor (`File::open(p)?`), a typed parameter (`f: &mut std::fs::File`) or a struct field
    /// declared in the same file.
    ///
    /// ## Why is this bad?
    /// File-system calls block the calling thread until the kernel answers. On a local SSD that is usually
    /// short, but on a network file system, a slow disk, a large file or under memory pressure it can take
    /// milliseconds to seconds, during which the executor's worker thread runs no other task.
    ///
    /// ## Known problems
    /// Reading a small configuration file once at startup is harmless in practice; suppress the finding there
    /// (`// conc-advisor: allow(blocking-fs-in-async)`). Receivers whose type cannot be seen in this file
    /// (returned by a function in another file) are not reported. A read or write that is the scrutinee of a
    /// `match` with an `io::ErrorKind::WouldBlock` arm is taken for I/O on a descriptor set non-blocking (a
    /// pipe, a jobserver fd), and not reported; so is `OpenOptions::open` with `custom_flags(O_NONBLOCK)` set
    /// in the same function (opening a FIFO so does not wait for its other end).
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn handler(path: PathBuf) -> Result<String> {
    ///     let text = std::fs::read_to_string(&path)?;
    ///     Ok(text)
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn handler(path: PathBuf) -> Result<String> {
    ///     let text = tokio::fs::read_to_string(&path).await?;
    ///     Ok(text)
    /// }
    /// ```
    /// or, for many small operations, one `tokio::task::spawn_blocking` around all of them.
    ///
    /// ## Runtime evidence
    /// `#[profile_concurrency]` shows the async function's polls spending most of their wall time blocked
    /// (off-CPU in I/O wait) rather than on CPU, and other tasks' run-queue wait growing while it runs.
    pub static META = {
        code: "CA102",
        name: "blocking-fs-in-async",
        severity: Warning,
        language: Rust,
        family: Blocking,
        summary: "blocking `std::fs` file I/O in async context stalls the executor thread",
        call_graph: Blocking,
        async_only: true,
    };
}


const FILE_CTORS: &[&str] = &["std::fs::File::open", "std::fs::File::create", "std::fs::File::create_new"];

const FILE_METHODS: &[&str] = &[
    "read",
    "read_to_string",
    "read_to_end",
    "read_exact",
    "read_line",
    "lines",
    "read_vectored",
    "write",
    "write_all",
    "write_fmt",
    "write_vectored",
    "flush",
    "sync_all",
    "sync_data",
    "set_len",
    "metadata",
    "seek",
];

const PATH_METHODS: &[&str] =
    &["exists", "try_exists", "is_file", "is_dir", "is_symlink", "metadata", "symlink_metadata", "read_dir", "canonicalize", "read_link"];

/// Whether `path` is a blocking `std::fs` function or file constructor.
fn is_fs_call(path: &str) -> bool {
    FILE_CTORS.contains(&path) || path.strip_prefix("std::fs::").is_some_and(|f| STD_FS_FNS.contains(&f))
}

/// Whether `e` (a receiver, wrappers stripped) is itself a reported call, so the chain is reported once.
fn is_reported_receiver(cx: &Checker<'_>, e: &Expr) -> bool {
    match strip_wrappers(e) {
        Expr::Call(c) => cx.semantic().resolve_callee(&c.func).is_some_and(|p| is_fs_call(&p)),
        Expr::MethodCall(m) => {
            m.method == "open" && cx.semantic().type_of(&m.receiver).is("std::fs::OpenOptions")
                || is_reported_receiver(cx, &m.receiver) && FILE_METHODS.contains(&m.method.to_string().as_str())
        }
        _ => false,
    }
}

/// The rule.
pub struct Rule;

/// Per file: I/O calls whose result is matched with a `WouldBlock` arm (see [`nonblocking_io`]).
#[derive(Default)]
pub struct State {
    nonblocking: Vec<Span>,
}

/// The I/O method calls in the scrutinee of a `match` (in `body`, not in closures or async blocks) one of whose
/// arms handles `io::ErrorKind::WouldBlock`: the file (a pipe, a FIFO, a jobserver fd) was set non-blocking,
/// and the read returns at once.
fn nonblocking_io(body: &FnBody<'_>) -> Vec<Span> {
    use syn::visit::{self, Visit};
    fn mentions_would_block(arm: &syn::Arm) -> bool {
        struct W(bool);
        impl<'a> Visit<'a> for W {
            fn visit_path(&mut self, p: &'a syn::Path) {
                if p.segments.last().is_some_and(|s| s.ident == "WouldBlock") {
                    self.0 = true;
                }
                visit::visit_path(self, p);
            }
        }
        let mut w = W(false);
        w.visit_arm(arm);
        w.0
    }
    struct V(Vec<Span>);
    impl<'a> Visit<'a> for V {
        fn visit_expr_match(&mut self, m: &'a syn::ExprMatch) {
            if m.arms.iter().any(mentions_would_block) {
                super::locking::walk_inline(&m.expr, &mut |x| {
                    if let Expr::MethodCall(mc) = x
                        && FILE_METHODS.contains(&mc.method.to_string().as_str())
                    {
                        self.0.push(super::locking::method_span(mc));
                    }
                });
            }
            visit::visit_expr_match(self, m);
        }
        fn visit_expr_closure(&mut self, _: &'a syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'a syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut v = V(Vec::new());
    if let Some(b) = body.block {
        v.visit_block(b);
        v.0.extend(nonblocking_opens(b));
    } else if let Some(e) = body.expr {
        v.visit_expr(e);
    }
    v.0
}

/// The `open(..)` calls (in `b`, not in closures or async blocks) of `OpenOptions` given `custom_flags(..)`
/// with `O_NONBLOCK`, in the chain (`OpenOptions::new().custom_flags(libc::O_NONBLOCK).open(p)`) or on the
/// binding opened (`options.custom_flags(libc::O_NONBLOCK); options.open(p)`): opening a FIFO so returns at
/// once (issue 12: tokio's `pipe::OpenOptions::open_receiver`, made to be called from async code).
fn nonblocking_opens(b: &syn::Block) -> Vec<Span> {
    /// The root binding of a method chain, and whether the chain sets `O_NONBLOCK`.
    fn chain(mut e: &Expr) -> (Option<&syn::Ident>, bool) {
        let mut nonblock = false;
        loop {
            match e {
                Expr::MethodCall(m) => {
                    nonblock |= m.method == "custom_flags" && m.args.iter().any(names_o_nonblock);
                    e = &m.receiver;
                }
                Expr::Paren(p) => e = &p.expr,
                Expr::Reference(r) => e = &r.expr,
                Expr::Path(p) => return (p.path.get_ident(), nonblock),
                _ => return (None, nonblock),
            }
        }
    }
    fn names_o_nonblock(e: &Expr) -> bool {
        use syn::visit::Visit;
        struct W(bool);
        impl<'a> Visit<'a> for W {
            fn visit_path(&mut self, p: &'a syn::Path) {
                self.0 |= p.segments.last().is_some_and(|s| s.ident == "O_NONBLOCK");
            }
        }
        let mut w = W(false);
        w.visit_expr(e);
        w.0
    }
    let mut flagged: Vec<&syn::Ident> = Vec::new();
    let mut opens: Vec<(&syn::ExprMethodCall, Option<&syn::Ident>, bool)> = Vec::new();
    super::locking::walk_block_inline(b, &mut |x| {
        let Expr::MethodCall(m) = x else { return };
        if m.method == "custom_flags" {
            if let (Some(root), true) = chain(x) {
                flagged.push(root);
            }
        } else if m.method == "open" {
            let (root, nonblock) = chain(&m.receiver);
            opens.push((m, root, nonblock));
        }
    });
    opens
        .into_iter()
        .filter(|(_, root, nonblock)| *nonblock || root.is_some_and(|r| flagged.contains(&r)))
        .map(|(m, _, _)| super::locking::method_span(m))
        .collect()
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["async"]
    }

    /// Calls from async code to crate functions that block under this rule, across the crate's files.
    fn link(&self, graph: &CrateGraph<'_>, cx: &mut LinkContext<'_>) {
        super::blocking_chain::link(&META, graph, cx);
    }
}

impl OnFn for Rule {
    fn on_fn(&self, _cx: &mut Checker<'_>, st: &mut State, body: &FnBody<'_>) {
        let found = nonblocking_io(body);
        st.nonblocking.extend(found);
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut State, call: &CallSite<'_>) {
        let Some(path) = call.path else { return };
        if !is_fs_call(path) || call.awaited {
            return;
        }
        let short = path.strip_prefix("std::fs::").unwrap_or(path);
        cx.report_on_executor(
            &META,
            call.span(),
            format!("`std::fs::{short}` blocks the executor's worker thread on file I/O"),
            format!("use `tokio::fs::{short}(..).await`, or move the file work into `tokio::task::spawn_blocking`"),
        );
    }
}

impl OnMethodCall for Rule {
    fn on_method_call(&self, cx: &mut Checker<'_>, st: &mut State, call: &MethodCallSite<'_>) {
        if call.awaited {
            return;
        }
        let m = call.method;
        let (what, help) = if call.receiver.is("std::fs::OpenOptions") && m == "open" {
            ("`OpenOptions::open`", "use `tokio::fs::OpenOptions::open(..).await`".to_string())
        } else if call.receiver.is("std::fs::File") && FILE_METHODS.contains(&m) {
            (
                "reading or writing a `std::fs::File`",
                format!(
                    "open it as a `tokio::fs::File` and use `AsyncReadExt`/`AsyncWriteExt` (`.{m}(..).await`), or \
                     do the whole read or write in `tokio::task::spawn_blocking`"
                ),
            )
        } else if call.receiver.is_any(&["std::path::Path", "std::path::PathBuf"]) && PATH_METHODS.contains(&m) {
            (
                "a file-system query on a `Path`",
                format!("use `tokio::fs::{}(path).await`", if m.starts_with("is_") { "metadata" } else { m }),
            )
        } else {
            return;
        };
        if is_reported_receiver(cx, &call.expr.receiver) || st.nonblocking.contains(&call.span()) {
            return;
        }
        cx.report_on_executor(
            &META,
            call.span(),
            format!("{what} (`.{m}()`) blocks the executor's worker thread on file I/O"),
            help,
        );
    }

}
