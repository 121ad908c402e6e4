//! What the semantic model knows about std and well-known crates: prelude names, glob-importable members,
//! constructor and method return types, and the type inference of expressions built on them.
//!
//! The tables are deliberately small: they cover the receivers the rules ask about (files, sockets, child
//! processes, channels, locks, runtimes, blocking HTTP clients). Anything else is [`Ty::Unknown`].

use syn::Expr;

use super::semantic::{SemanticModel, Ty};

/// The std path of a prelude name (`Vec` → `std::vec::Vec`), if it is one.
pub fn prelude(name: &str) -> Option<&'static str> {
    Some(match name {
        "Vec" => "std::vec::Vec",
        "String" => "std::string::String",
        "Box" => "std::boxed::Box",
        "Option" => "std::option::Option",
        "Some" => "std::option::Option::Some",
        "None" => "std::option::Option::None",
        "Result" => "std::result::Result",
        "Ok" => "std::result::Result::Ok",
        "Err" => "std::result::Result::Err",
        "drop" => "std::mem::drop",
        "ToString" => "std::string::ToString",
        "ToOwned" => "std::borrow::ToOwned",
        "Default" => "std::default::Default",
        "Iterator" => "std::iter::Iterator",
        "IntoIterator" => "std::iter::IntoIterator",
        "From" => "std::convert::From",
        "Into" => "std::convert::Into",
        _ => return None,
    })
}

/// The free functions of `std::fs`: each is a member of `use std::fs::*`, and each does blocking file I/O (CA102
/// reads this same list).
pub const STD_FS_FNS: &[&str] = &[
    "read",
    "read_to_string",
    "write",
    "read_dir",
    "metadata",
    "symlink_metadata",
    "copy",
    "rename",
    "remove_file",
    "remove_dir",
    "remove_dir_all",
    "create_dir",
    "create_dir_all",
    "canonicalize",
    "read_link",
    "hard_link",
    "set_permissions",
    "exists",
];

/// Members of modules commonly glob-imported, so `use std::thread::*; sleep(d)` resolves. `std::fs`'s free
/// functions are [`STD_FS_FNS`].
const GLOB_MEMBERS: &[(&str, &[&str])] = &[
    ("std::thread", &["sleep", "spawn", "scope", "park", "park_timeout", "yield_now", "JoinHandle", "Builder"]),
    ("std::fs", &["File", "OpenOptions"]),
    ("std::net", &["TcpStream", "TcpListener", "UdpSocket", "ToSocketAddrs"]),
    ("std::process", &["Command", "Child", "Stdio"]),
    ("std::sync::mpsc", &["channel", "sync_channel", "Sender", "SyncSender", "Receiver"]),
    ("std::sync", &["Mutex", "RwLock", "Condvar", "Barrier", "Arc", "mpsc"]),
    ("std::io", &["stdin", "Read", "Write", "BufRead", "BufReader", "BufWriter"]),
    ("tokio::time", &["sleep", "sleep_until", "interval", "timeout", "Duration", "Instant"]),
    ("tokio::fs", &["File", "OpenOptions", "read", "read_to_string", "write", "read_dir", "metadata"]),
    ("tokio::task", &["spawn", "spawn_blocking", "block_in_place", "spawn_local", "yield_now"]),
    ("tokio::runtime", &["Runtime", "Builder", "Handle"]),
    ("tokio::sync", &["Mutex", "RwLock", "mpsc", "oneshot", "Notify", "Semaphore"]),
    ("futures::executor", &["block_on"]),
    ("crossbeam_channel", &["unbounded", "bounded", "Sender", "Receiver"]),
    ("reqwest::blocking", &["get", "Client"]),
];

/// Whether `module::*` is known to bring `name` into scope.
pub fn glob_member(module: &str, name: &str) -> bool {
    GLOB_MEMBERS.iter().any(|(m, names)| *m == module && names.contains(&name))
        || (module == "std::fs" && STD_FS_FNS.contains(&name))
}

/// Lock guards and `RefCell` borrows: method calls auto-deref through them.
pub fn is_guard(name: &str) -> bool {
    name.ends_with("Guard") || name == "std::cell::Ref" || name == "std::cell::RefMut"
}

/// Smart pointers seen through when tracking types.
pub fn is_transparent(name: &str) -> bool {
    matches!(name, "std::sync::Arc" | "std::rc::Rc" | "std::boxed::Box" | "std::pin::Pin")
}

/// `Result<T, _>`/`Option<T>` → `T` (for declared return types: callers use `?` or `unwrap`).
pub fn strip_fallible(t: Ty) -> Ty {
    match &t {
        Ty::Named(n, args) if n.ends_with("Result") || n == "std::option::Option" => {
            args.first().cloned().unwrap_or_default()
        }
        _ => t,
    }
}

/// Containers whose `new(v)` keeps `v`'s type as their argument.
const WRAPPERS: &[&str] = &[
    "std::sync::Mutex",
    "std::sync::RwLock",
    "tokio::sync::Mutex",
    "tokio::sync::RwLock",
    "parking_lot::Mutex",
    "parking_lot::RwLock",
    "std::cell::RefCell",
    "std::cell::Cell",
];

/// Functions (not constructors of the form `Type::new`) whose return type the rules need.
fn fn_return(path: &str) -> Option<Ty> {
    let pair = |a: &str, b: &str| Some(Ty::Tuple(vec![Ty::named(a), Ty::named(b)]));
    match path {
        "std::thread::spawn" => Some(Ty::named("std::thread::JoinHandle")),
        "std::sync::mpsc::channel" => pair("std::sync::mpsc::Sender", "std::sync::mpsc::Receiver"),
        "std::sync::mpsc::sync_channel" => pair("std::sync::mpsc::SyncSender", "std::sync::mpsc::Receiver"),
        "crossbeam_channel::unbounded" | "crossbeam_channel::bounded" => {
            pair("crossbeam_channel::Sender", "crossbeam_channel::Receiver")
        }
        "tokio::sync::mpsc::channel" => pair("tokio::sync::mpsc::Sender", "tokio::sync::mpsc::Receiver"),
        "tokio::sync::mpsc::unbounded_channel" => {
            pair("tokio::sync::mpsc::UnboundedSender", "tokio::sync::mpsc::UnboundedReceiver")
        }
        "tokio::sync::oneshot::channel" => pair("tokio::sync::oneshot::Sender", "tokio::sync::oneshot::Receiver"),
        "flume::unbounded" | "flume::bounded" => pair("flume::Sender", "flume::Receiver"),
        "std::io::stdin" => Some(Ty::named("std::io::Stdin")),
        "std::fs::File::options" => Some(Ty::named("std::fs::OpenOptions")),
        "tokio::runtime::Builder::new_current_thread" => {
            Some(Ty::Named("tokio::runtime::Builder".into(), vec![Ty::named("current_thread")]))
        }
        "tokio::runtime::Builder::new_multi_thread" => {
            Some(Ty::Named("tokio::runtime::Builder".into(), vec![Ty::named("multi_thread")]))
        }
        "reqwest::blocking::get" => Some(Ty::named("reqwest::blocking::Response")),
        "reqwest::blocking::Client::builder" => Some(Ty::named("reqwest::blocking::ClientBuilder")),
        "ureq::agent" => Some(Ty::named("ureq::Agent")),
        "tokio::spawn" | "tokio::task::spawn" | "tokio::task::spawn_blocking" => {
            Some(Ty::named("tokio::task::JoinHandle"))
        }
        p if p.starts_with("ureq::")
            && matches!(
                p.rsplit("::").next(),
                Some("get" | "post" | "put" | "delete" | "head" | "patch" | "request")
            ) =>
        {
            Some(Ty::named("ureq::Request"))
        }
        _ => None,
    }
}

/// Associated functions that construct their type (`T::new`, `File::open`, `TcpStream::connect`, …).
const CONSTRUCTORS: &[&str] = &[
    "new",
    "open",
    "create",
    "create_new",
    "bind",
    "connect",
    "connect_timeout",
    "with_capacity",
    "default",
    "from",
    "current",
    "from_std",
];

fn ctor_return(sem: &SemanticModel, path: &str, args: &[&Expr], depth: u8) -> Ty {
    if let Some(t) = fn_return(path) {
        return t;
    }
    if let Some((ty, func)) = path.rsplit_once("::") {
        if is_transparent(ty) && func == "new" {
            return args.first().map(|a| infer(sem, a, depth + 1)).unwrap_or_default();
        }
        if WRAPPERS.contains(&ty) && func == "new" {
            let inner = args.first().map(|a| infer(sem, a, depth + 1)).unwrap_or_default();
            return Ty::Named(ty.to_string(), vec![inner]);
        }
        if matches!(ty, "std::io::BufReader" | "std::io::BufWriter" | "std::io::LineWriter") && func == "new" {
            // A buffered reader over a file or socket blocks like the file or socket.
            return args.first().map(|a| infer(sem, a, depth + 1)).unwrap_or_default();
        }
        let type_like = ty.rsplit("::").next().is_some_and(|s| s.starts_with(|c: char| c.is_ascii_uppercase()));
        if type_like && CONSTRUCTORS.contains(&func) {
            return Ty::named(ty);
        }
    }
    sem.declared_return(path).cloned().unwrap_or_default()
}

/// Methods that return their receiver's type (or that `?`/`unwrap` make an identity).
fn is_identity_method(m: &str) -> bool {
    matches!(
        m,
        "unwrap"
            | "expect"
            | "unwrap_or_default"
            | "unwrap_or_else"
            | "unwrap_or"
            | "clone"
            | "to_owned"
            | "as_ref"
            | "as_mut"
            | "by_ref"
            | "try_clone"
            | "borrow_mut_unchecked"
    )
}

/// The return type of `recv.method(..)`, as far as the tables know.
pub fn method_return(sem: &SemanticModel, recv: &Ty, method: &str) -> Ty {
    method_return_with(recv, method, &|q| sem.declared_return(q).cloned())
}

/// [`method_return`], with the declared return types of the crate's own methods looked up by `declared`
/// (qualified name → type): the file's model, or the crate's [`CrateTypes`] at link time.
pub fn method_return_with(recv: &Ty, method: &str, declared: &dyn Fn(&str) -> Option<Ty>) -> Ty {
    // `Option<T>`/`Result<T, _>` (a field's declared type): `take()`, `as_mut()`, `as_ref()` keep it, the
    // unwrapping methods give `T` (`self.handle.take().unwrap().join()` joins a `JoinHandle`).
    if let Ty::Named(n, args) = recv
        && (n == "std::option::Option" || n == "std::result::Result")
    {
        return match method {
            "take" | "as_mut" | "as_ref" | "as_deref" | "as_deref_mut" | "clone" | "replace" | "or" | "or_else" => {
                recv.clone()
            }
            "unwrap" | "expect" | "unwrap_or_default" | "unwrap_or_else" | "unwrap_or" | "unwrap_unchecked" => {
                args.first().cloned().unwrap_or_default()
            }
            _ => Ty::Unknown,
        };
    }
    if is_identity_method(method) {
        return recv.clone();
    }
    let Ty::Named(name, args) = recv else { return Ty::Unknown };
    let arg0 = || args.first().cloned().unwrap_or_default();
    let same = || recv.clone();
    let named = |n: &str| Ty::named(n);
    let guard = |n: &str| Ty::Named(n.to_string(), vec![arg0()]);
    match (name.as_str(), method) {
        ("std::process::Command", "spawn") => named("std::process::Child"),
        ("std::process::Command", "output") => named("std::process::Output"),
        ("std::process::Command", "status") => named("std::process::ExitStatus"),
        ("std::process::Command", _) => same(),
        ("tokio::process::Command", "spawn") => named("tokio::process::Child"),
        ("tokio::process::Command", "output" | "status") => Ty::Unknown,
        ("tokio::process::Command", _) => same(),
        ("std::fs::OpenOptions", "open") => named("std::fs::File"),
        ("std::fs::OpenOptions", _) => same(),
        ("tokio::fs::OpenOptions", "open") => named("tokio::fs::File"),
        ("tokio::fs::OpenOptions", _) => same(),
        ("std::net::TcpListener", "accept") => {
            Ty::Tuple(vec![named("std::net::TcpStream"), named("std::net::SocketAddr")])
        }
        ("std::net::TcpListener", "incoming") => named("std::net::Incoming"),
        ("std::io::Stdin", "lock") => named("std::io::StdinLock"),
        ("std::sync::Mutex", "lock" | "try_lock") => guard("std::sync::MutexGuard"),
        ("std::sync::RwLock", "read" | "try_read") => guard("std::sync::RwLockReadGuard"),
        ("std::sync::RwLock", "write" | "try_write") => guard("std::sync::RwLockWriteGuard"),
        ("parking_lot::Mutex", "lock" | "try_lock") => guard("parking_lot::MutexGuard"),
        ("parking_lot::RwLock", "read") => guard("parking_lot::RwLockReadGuard"),
        ("parking_lot::RwLock", "write") => guard("parking_lot::RwLockWriteGuard"),
        ("tokio::sync::Mutex", "lock" | "blocking_lock" | "try_lock") => guard("tokio::sync::MutexGuard"),
        ("tokio::sync::RwLock", "read" | "blocking_read") => guard("tokio::sync::RwLockReadGuard"),
        ("tokio::sync::RwLock", "write" | "blocking_write") => guard("tokio::sync::RwLockWriteGuard"),
        ("std::cell::RefCell", "borrow") => guard("std::cell::Ref"),
        ("std::cell::RefCell", "borrow_mut") => guard("std::cell::RefMut"),
        ("event_listener::Event", "listen") => named("event_listener::EventListener"),
        ("std::thread::Builder", "spawn") => named("std::thread::JoinHandle"),
        ("std::thread::Builder", _) => same(),
        ("tokio::runtime::Builder", "build") => Ty::Named("tokio::runtime::Runtime".into(), args.clone()),
        ("tokio::runtime::Builder", _) => same(),
        ("tokio::runtime::Runtime", "handle") => Ty::Named("tokio::runtime::Handle".into(), args.clone()),
        ("reqwest::blocking::ClientBuilder", "build") => named("reqwest::blocking::Client"),
        ("reqwest::blocking::ClientBuilder", _) => same(),
        ("reqwest::blocking::Client", "get" | "post" | "put" | "delete" | "patch" | "head" | "request") => {
            named("reqwest::blocking::RequestBuilder")
        }
        ("reqwest::blocking::RequestBuilder", "send") => named("reqwest::blocking::Response"),
        ("reqwest::blocking::RequestBuilder", _) => same(),
        ("ureq::Agent", "get" | "post" | "put" | "delete" | "patch" | "head" | "request") => named("ureq::Request"),
        ("ureq::Request", "call" | "send_string" | "send_json" | "send_form" | "send_bytes" | "send") => {
            named("ureq::Response")
        }
        ("ureq::Request", _) => same(),
        _ => {
            if is_guard(name) {
                return method_return_with(&arg0(), method, declared);
            }
            declared(&format!("{name}::{method}")).unwrap_or_default()
        }
    }
}

/// Collections whose iteration yields their first generic argument.
const COLLECTIONS: &[&str] = &[
    "std::vec::Vec",
    "std::collections::VecDeque",
    "std::collections::HashSet",
    "std::collections::BTreeSet",
    "std::collections::LinkedList",
    "std::option::Option",
];

/// The type of the items `for x in e` binds: elements of `Vec<T>` (and `iter()`, `iter_mut()`,
/// `into_iter()`, `drain(..)` of it), the streams of `TcpListener::incoming()`.
pub fn element_of(sem: &SemanticModel, e: &Expr) -> Ty {
    let (base, method) = match e {
        Expr::MethodCall(m) => (&*m.receiver, Some(m.method.to_string())),
        Expr::Reference(r) => (&*r.expr, None),
        _ => (e, None),
    };
    let t = infer(sem, base, 0);
    match (&t, method.as_deref()) {
        (Ty::Named(n, _), Some("incoming")) if n == "std::net::TcpListener" => Ty::named("std::net::TcpStream"),
        (Ty::Named(n, args), None | Some("iter" | "iter_mut" | "into_iter" | "drain"))
            if COLLECTIONS.contains(&n.as_str()) =>
        {
            args.first().cloned().unwrap_or_default()
        }
        _ => Ty::Unknown,
    }
}

/// Infers the type of `e` (see [`SemanticModel::type_of`]).
pub fn infer(sem: &SemanticModel, e: &Expr, depth: u8) -> Ty {
    if depth > 32 {
        return Ty::Unknown;
    }
    match e {
        Expr::Paren(p) => infer(sem, &p.expr, depth + 1),
        Expr::Group(g) => infer(sem, &g.expr, depth + 1),
        Expr::Reference(r) => infer(sem, &r.expr, depth + 1),
        Expr::Try(t) => infer(sem, &t.expr, depth + 1),
        Expr::Await(a) => infer(sem, &a.base, depth + 1),
        Expr::Path(p) if p.qself.is_none() => {
            if let Some(id) = p.path.get_ident() {
                let name = id.to_string();
                if let Some(b) = sem.local(&name) {
                    return b.ty.clone();
                }
                if name == "self" {
                    return sem.self_ty().cloned().unwrap_or_default();
                }
            }
            Ty::Unknown
        }
        Expr::Call(c) => {
            let Some(path) = sem.resolve_callee(&c.func) else { return Ty::Unknown };
            let args: Vec<&Expr> = c.args.iter().collect();
            ctor_return(sem, &path, &args, depth)
        }
        Expr::MethodCall(m) => {
            let recv = infer(sem, &m.receiver, depth + 1);
            method_return(sem, &recv, &m.method.to_string())
        }
        Expr::Field(f) => {
            let base = infer(sem, &f.base, depth + 1);
            match &f.member {
                syn::Member::Named(n) => sem.field_type(&base, &n.to_string()).cloned().unwrap_or_default(),
                syn::Member::Unnamed(i) => match base {
                    Ty::Tuple(parts) => parts.get(i.index as usize).cloned().unwrap_or_default(),
                    _ => Ty::Unknown,
                },
            }
        }
        Expr::Struct(s) if s.qself.is_none() => sem.resolve_path(&s.path).map(Ty::named).unwrap_or_default(),
        Expr::Cast(c) => sem.type_from_syn(&c.ty),
        Expr::Tuple(t) => Ty::Tuple(t.elems.iter().map(|x| infer(sem, x, depth + 1)).collect()),
        _ => Ty::Unknown,
    }
}

/// Methods that block on some receivers (a std `JoinHandle`, a std `mpsc::Receiver`, a `Condvar` or `Barrier`)
/// and whose receiver's type may be declared in another file of the crate.
pub const WAIT_METHODS: &[&str] = &["join", "recv", "wait"];

/// The root and the steps of a receiver expression (`self.accept_handle.take().unwrap()` → `self`, [field
/// `accept_handle`, `take`, `unwrap`]), when the root is a binding or `self` of a crate type, or a binding
/// bound from such a chain ([`Binding::chain`](super::semantic::Binding::chain)).
pub fn receiver_chain(sem: &SemanticModel, e: &Expr) -> Option<(Ty, Vec<crate::rust::callgraph::TyStep>)> {
    use crate::rust::callgraph::TyStep;
    let mut steps = Vec::new();
    let mut e = e;
    for _ in 0..32 {
        match e {
            Expr::Paren(p) => e = &p.expr,
            Expr::Group(g) => e = &g.expr,
            Expr::Reference(r) => e = &r.expr,
            Expr::Try(t) => {
                steps.push(TyStep::Method("unwrap".into()));
                e = &t.expr;
            }
            Expr::Field(f) => {
                let syn::Member::Named(n) = &f.member else { return None };
                steps.push(TyStep::Field(n.to_string()));
                e = &f.base;
            }
            Expr::MethodCall(m) => {
                steps.push(TyStep::Method(m.method.to_string()));
                e = &m.receiver;
            }
            Expr::Path(p) => {
                let root = infer(sem, e, 0);
                steps.reverse();
                if root.name().is_some_and(|n| sem.linked(n)) {
                    return Some((root, steps));
                }
                // A binding whose value comes from such a chain (`if let Some(h) = self.worker.take()`).
                let (root, mut before) =
                    *p.path.get_ident().and_then(|id| sem.local(&id.to_string()))?.chain.clone()?;
                before.extend(steps);
                return Some((root, before));
            }
            _ => return None,
        }
    }
    None
}

/// The type declarations of a crate's files joined ([`TypeFacts`](crate::rust::callgraph::TypeFacts)), for
/// working out at link time the types the per-file visit could not see.
#[derive(Default)]
pub struct CrateTypes<'f> {
    fields: std::collections::HashMap<(&'f str, &'f str), &'f Ty>,
    returns: std::collections::HashMap<&'f str, &'f Ty>,
    aliases: std::collections::HashMap<&'f str, &'f Ty>,
}

impl<'f> CrateTypes<'f> {
    /// Joins the type facts of a crate's files.
    pub fn new(files: &'f [crate::rust::callgraph::FileFacts]) -> Self {
        let mut t = CrateTypes::default();
        for f in files {
            for (s, field, ty) in &f.types.fields {
                t.fields.insert((s.as_str(), field.as_str()), ty);
            }
            for (k, ty) in &f.types.returns {
                t.returns.insert(k.as_str(), ty);
            }
            for (k, ty) in &f.types.aliases {
                t.aliases.insert(k.as_str(), ty);
            }
        }
        t
    }

    /// `t` with crate type aliases replaced by what they stand for (a few levels).
    fn unalias(&self, t: Ty) -> Ty {
        let mut t = t;
        for _ in 0..8 {
            match &t {
                Ty::Named(n, args) if args.is_empty() => match self.aliases.get(n.as_str()) {
                    Some(a) => t = (*a).clone(),
                    None => break,
                },
                _ => break,
            }
        }
        t
    }

    /// The type at the end of `steps` from `root`.
    pub fn eval(&self, root: &Ty, steps: &[crate::rust::callgraph::TyStep]) -> Ty {
        use crate::rust::callgraph::TyStep;
        let mut t = self.unalias(root.clone());
        for s in steps {
            t = match s {
                TyStep::Field(f) => {
                    let Some(n) = t.deref_guards().name() else { return Ty::Unknown };
                    match self.fields.get(&(n, f.as_str())) {
                        Some(ty) => (*ty).clone(),
                        None => return Ty::Unknown,
                    }
                }
                TyStep::Method(m) => method_return_with(&t, m, &|q| self.returns.get(q).map(|t| (*t).clone())),
            };
            t = self.unalias(t);
            if t == Ty::Unknown {
                return t;
            }
        }
        t
    }
}
