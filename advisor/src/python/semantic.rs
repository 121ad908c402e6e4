//! The per-module semantic model the Python rules share: import resolution (`import threading as t`,
//! `from concurrent.futures import ThreadPoolExecutor as TPE`), a function index with scopes, flow-insensitive
//! variable bindings (`ex = ProcessPoolExecutor()`, `with Pool() as p`, `self.pool = …`), every call site with
//! its context (async or not, in a loop, at module level outside the `__main__` guard), and the places work is
//! handed to threads or processes ([`Spawn`]) with their target followed to its definition.
//!
//! Resolution is deliberately conservative: a name the model cannot resolve stays unresolved, and rules stay
//! silent on it. Only the module being analysed is indexed (calls into other files are "unknown" here; the
//! project phase, [`super::project`], follows them using the relative imports kept in [`Model::rel_imports`]).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::ast::{BinOp, Call, ClassDef, CmpOp, Expr, ExprKind, FunctionDef, Module, Range, Stmt, StmtKind};

/// Index of a function in [`Model::funcs`].
pub type FuncId = usize;

/// Where work runs.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exec {
    /// OS threads of this interpreter (under the GIL unless free-threaded).
    Threads,
    /// Worker processes.
    Processes,
}

/// One function definition and where it sits.
#[derive(Debug)]
pub struct FuncInfo<'m, 'a> {
    /// The definition.
    pub def: &'m FunctionDef<'a>,
    /// The whole `def` statement.
    pub range: Range,
    /// The function it is nested in.
    pub parent: Option<FuncId>,
    /// The class it is a method of (directly).
    pub class: Option<&'a str>,
    /// Whether it is nested in a function (directly or through a local class): such functions cannot be pickled.
    pub is_local: bool,
}

/// A call and the context it is made in.
#[derive(Debug)]
pub struct CallSite<'m, 'a> {
    /// The call.
    pub call: &'m Call<'a>,
    /// The call expression's range.
    pub range: Range,
    /// The qualified name of the callee (`time.sleep`, `concurrent.futures.ThreadPoolExecutor().submit`).
    pub qual: Option<String>,
    /// The innermost function around the call (a lambda does not count; see `in_async`).
    pub scope: Option<FuncId>,
    /// The innermost function is `async def` (and the call is not inside a lambda).
    pub in_async: bool,
    /// The call is inside a lambda.
    pub in_lambda: bool,
    /// The call is inside a loop of its function (or of the module's top level).
    pub loop_range: Option<Range>,
    /// The call runs when the module is imported: top level, outside `if __name__ == "__main__":`, not in a
    /// `def`.
    pub at_import: bool,
    /// The call is an expression statement: its result is dropped.
    pub dropped: bool,
    /// The call is the operand of `await`.
    pub awaited: bool,
    /// The result is cached: the call is assigned to an attribute or item (`self._pool = …`), or made under
    /// `if … is None:` (lazy initialisation).
    pub cached: bool,
}

/// A pool constructor call (`ThreadPoolExecutor(…)`, `multiprocessing.Pool(…)`).
#[derive(Debug)]
pub struct PoolCtor<'m, 'a> {
    /// Index of the call in [`Model::calls`].
    pub site: usize,
    /// What the pool runs on.
    pub exec: Exec,
    /// Canonical name of the constructor.
    pub api: &'static str,
    /// The literal worker count, if given as one.
    pub workers: Option<i64>,
    /// The expression giving the worker count.
    pub workers_expr: Option<&'m Expr<'a>>,
}

/// Work handed to threads or processes.
#[derive(Debug)]
pub struct Spawn<'m, 'a> {
    /// Index of the call in [`Model::calls`] (for a `Thread` subclass: the class statement's range is used).
    pub site: Option<usize>,
    /// Where to report: the target argument, or the call.
    pub range: Range,
    /// Threads or processes.
    pub exec: Exec,
    /// Human name of the API (`threading.Thread`, `ProcessPoolExecutor.submit`).
    pub api: String,
    /// The target expression.
    pub target: Option<&'m Expr<'a>>,
    /// The target's definition in this module, when found.
    pub target_fn: Option<FuncId>,
    /// The pool's constructor, for pool submissions.
    pub pool: Option<usize>,
    /// The function the spawn happens in.
    pub scope: Option<FuncId>,
}

/// The semantic model of one module.
#[derive(Debug)]
pub struct Model<'m, 'a> {
    /// The module.
    pub module: &'m Module<'a>,
    /// Local name → qualified name, from every import in the file.
    pub imports: HashMap<&'a str, String>,
    /// Local name → `(level, dotted rest)` of relative imports (`from ..work import crunch as c` gives
    /// `c → (2, "work.crunch")`). Kept apart from `imports`: only the project phase, which knows the module's
    /// name, resolves them ([`super::project`]); within one module they stay unresolved.
    pub rel_imports: HashMap<&'a str, (u32, String)>,
    /// Every function.
    pub funcs: Vec<FuncInfo<'m, 'a>>,
    /// Functions by name.
    funcs_by_name: HashMap<&'a str, Vec<FuncId>>,
    /// Functions by the start of their `def` statement.
    funcs_by_start: HashMap<u32, FuncId>,
    /// Every class, by name, with whether it is local to a function.
    pub classes: HashMap<&'a str, (&'m ClassDef<'a>, bool)>,
    /// Values assigned to names, by name and scope (`None`: module level). Keyed by both, so a name bound in
    /// every function of a large module is looked up in its scope without a scan of every binding (issue 11).
    bindings: HashMap<(&'a str, Option<FuncId>), Vec<&'m Expr<'a>>>,
    /// Every import with the function it is made in (`None`: module level), by local name: a name imported in a
    /// function names that import only there and in the functions nested in it.
    scoped_imports: HashMap<&'a str, Vec<(Option<FuncId>, String)>>,
    /// Annotations of names (`client: httpx.Client = make()`), by scope.
    annotated: HashMap<&'a str, Vec<(Option<FuncId>, &'m Expr<'a>)>>,
    /// Values assigned to attributes (`self.pool`), module-wide.
    attr_bindings: HashMap<String, Vec<&'m Expr<'a>>>,
    /// The last names of the keys of `attr_bindings` (`pool` of `self.pool`): an attribute whose name is not
    /// here has no binding, and its dotted text need not be made to look it up.
    bound_attrs: HashSet<&'a str>,
    /// Names assigned at module level.
    pub module_names: HashMap<&'a str, Vec<&'m Expr<'a>>>,
    /// Every call.
    pub calls: Vec<CallSite<'m, 'a>>,
    /// Every pool constructor.
    pub pools: Vec<PoolCtor<'m, 'a>>,
    /// Every hand-off of work to threads or processes.
    pub spawns: Vec<Spawn<'m, 'a>>,
    /// Calls made by each function (indices into `calls`), including calls in its lambdas.
    pub calls_by_func: Vec<Vec<usize>>,
}

/// Builtins the rules care about; a name is a builtin only when the module does not define it.
const BUILTINS: &[&str] = &[
    "open",
    "input",
    "print",
    "range",
    "len",
    "sum",
    "min",
    "max",
    "abs",
    "int",
    "float",
    "str",
    "bool",
    "list",
    "dict",
    "set",
    "tuple",
    "sorted",
    "reversed",
    "enumerate",
    "zip",
    "map",
    "filter",
    "any",
    "all",
    "divmod",
    "pow",
    "round",
    "isinstance",
    "hash",
    "ord",
    "chr",
    "bin",
    "hex",
    "oct",
    "repr",
    "iter",
    "next",
    "bytes",
    "bytearray",
    "format",
    "frozenset",
    "complex",
    "id",
    "type",
    "hasattr",
    "getattr",
    "callable",
    "issubclass",
    "object",
    "super",
    "exec",
    "eval",
    "compile",
    "memoryview",
    "slice",
];

/// Whether `name` is one of [`BUILTINS`] (looked up in a set: it is asked for almost every called name).
fn is_builtin(name: &str) -> bool {
    static SET: std::sync::LazyLock<HashSet<&'static str>> =
        std::sync::LazyLock::new(|| BUILTINS.iter().copied().collect());
    SET.contains(name)
}

fn canonical(q: String) -> String {
    const MAP: &[(&str, &str)] = &[
        ("multiprocessing.pool.Pool", "multiprocessing.Pool"),
        ("multiprocessing.pool.ThreadPool", "multiprocessing.dummy.Pool"),
        ("multiprocessing.context.Process", "multiprocessing.Process"),
        ("multiprocessing.process.BaseProcess", "multiprocessing.Process"),
        ("concurrent.futures.thread.ThreadPoolExecutor", "concurrent.futures.ThreadPoolExecutor"),
        ("concurrent.futures.process.ProcessPoolExecutor", "concurrent.futures.ProcessPoolExecutor"),
        ("io.open", "builtins.open"),
    ];
    for (from, to) in MAP {
        if let Some(rest) = q.strip_prefix(from)
            && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('('))
        {
            return format!("{to}{rest}");
        }
    }
    q
}

/// Pool constructors: canonical name, what they run on, the worker-count keyword.
const POOL_CTORS: &[(&str, Exec, &str)] = &[
    ("concurrent.futures.ThreadPoolExecutor", Exec::Threads, "max_workers"),
    ("concurrent.futures.ProcessPoolExecutor", Exec::Processes, "max_workers"),
    ("multiprocessing.Pool", Exec::Processes, "processes"),
    ("multiprocessing.dummy.Pool", Exec::Threads, "processes"),
];

/// Methods of executors and pools that run a callable given as their first argument.
const SUBMIT_METHODS: &[&str] =
    &["submit", "map", "apply", "apply_async", "map_async", "imap", "imap_unordered", "starmap", "starmap_async"];

/// Whether `test` is `__name__ == "__main__"` (either way round).
pub fn is_main_guard(test: &Expr<'_>) -> bool {
    let ExprKind::Compare { left, ops, comparators } = &test.kind else { return false };
    if ops.len() != 1 || ops[0] != CmpOp::Eq {
        return false;
    }
    let pair = (&left.kind, &comparators[0].kind);
    matches!(pair, (ExprKind::Name("__name__"), ExprKind::Str("__main__")))
        || matches!(pair, (ExprKind::Str("__main__"), ExprKind::Name("__name__")))
}

impl<'m, 'a> Model<'m, 'a> {
    /// Builds the model of `module`.
    pub fn build(module: &'m Module<'a>) -> Self {
        let mut m = Self::build_index(module);
        let mut col = Collector { m: &mut m, scope: None, in_async: false, loop_range: None, at_import: true, lazy: 0 };
        col.block(&module.body);
        for (i, c) in m.calls.iter().enumerate() {
            if let Some(f) = c.scope {
                m.calls_by_func[f].push(i);
            }
        }
        m.find_pools_and_spawns();
        m
    }

    /// Builds only the index of `module` (imports, functions, classes, bindings): enough for summaries
    /// ([`super::summary`]), with no call sites, pools or spawns. For modules no rule reports on, whose functions
    /// other modules may still run on threads.
    pub fn build_index(module: &'m Module<'a>) -> Self {
        let mut m = Model {
            module,
            imports: HashMap::default(),
            rel_imports: HashMap::default(),
            funcs: Vec::new(),
            funcs_by_name: HashMap::default(),
            funcs_by_start: HashMap::default(),
            classes: HashMap::default(),
            bindings: HashMap::default(),
            attr_bindings: HashMap::default(),
            bound_attrs: HashSet::default(),
            scoped_imports: HashMap::default(),
            annotated: HashMap::default(),
            module_names: HashMap::default(),
            calls: Vec::new(),
            pools: Vec::new(),
            spawns: Vec::new(),
            calls_by_func: Vec::new(),
        };
        let mut idx = Indexer { m: &mut m, scope: None, class: None, local: false };
        idx.block(&module.body);
        for (i, f) in m.funcs.iter().enumerate() {
            m.funcs_by_name.entry(f.def.name).or_default().push(i);
            m.funcs_by_start.insert(f.range.start, i);
        }
        m.calls_by_func = vec![Vec::new(); m.funcs.len()];
        m
    }

    /// The function named `name` visible from `scope` (nested defs first, then enclosing functions, then the
    /// module), unless the name is imported.
    pub fn lookup_function(&self, name: &str, scope: Option<FuncId>) -> Option<FuncId> {
        if self.imports.contains_key(name) {
            return None;
        }
        let candidates = self.funcs_by_name.get(name)?;
        let mut s = scope;
        loop {
            if let Some(&id) = candidates.iter().find(|&&f| self.funcs[f].parent == s && self.funcs[f].class.is_none())
            {
                return Some(id);
            }
            match s {
                Some(id) => s = self.funcs[id].parent,
                None => return None,
            }
        }
    }

    /// Whether `scope` is, or is nested in, a test function (`def test…`: unittest and pytest style).
    pub fn in_test_function(&self, scope: Option<FuncId>) -> bool {
        let mut s = scope;
        while let Some(f) = s {
            if self.funcs[f].def.name.starts_with("test") {
                return true;
            }
            s = self.funcs[f].parent;
        }
        false
    }

    /// The method `name` of class `class`.
    pub fn method(&self, class: &str, name: &str) -> Option<FuncId> {
        self.funcs_by_name.get(name)?.iter().copied().find(|&f| self.funcs[f].class == Some(class))
    }

    /// The definition a callable expression names: a function, `self.method`, `Class.method`, or the first
    /// argument of `functools.partial(…)`.
    pub fn resolve_function(&self, e: &Expr<'a>, scope: Option<FuncId>) -> Option<FuncId> {
        match &e.kind {
            ExprKind::Name(n) => self.lookup_function(n, scope),
            ExprKind::Attribute { value, attr } => {
                let base = value.as_name()?;
                if base == "self" || base == "cls" {
                    let class = scope.and_then(|s| self.funcs[s].class)?;
                    self.method(class, attr)
                } else if self.classes.contains_key(base) {
                    self.method(base, attr)
                } else {
                    None
                }
            }
            ExprKind::Call(c) if self.qualify(&c.func, scope).as_deref() == Some("functools.partial") => {
                self.resolve_function(c.args.first()?, scope)
            }
            _ => None,
        }
    }

    /// The qualified name of an expression: an imported name or attribute chain (`time.sleep`), a builtin
    /// (`builtins.open`), or the instance made by a known constructor (`concurrent.futures.ThreadPoolExecutor()`),
    /// following variable bindings.
    pub fn qualify(&self, e: &Expr<'a>, scope: Option<FuncId>) -> Option<String> {
        self.qualify_depth(e, scope, 0).map(canonical)
    }

    fn qualify_depth(&self, e: &Expr<'a>, scope: Option<FuncId>, depth: u32) -> Option<String> {
        if depth > 8 {
            return None;
        }
        match &e.kind {
            ExprKind::Name(n) => {
                if let Some(q) = self.import_in_scope(n, scope) {
                    return Some(q.clone());
                }
                if let Some(v) = self.binding_values(n, scope) {
                    if let Some(q) = v.iter().find_map(|v| self.qualify_value(v, scope, depth + 1)) {
                        return Some(q);
                    }
                    return self.annotated_type(n, scope, depth + 1);
                }
                if let Some(q) = self.annotated_type(n, scope, depth + 1) {
                    return Some(q);
                }
                if !is_builtin(n) {
                    return None;
                }
                let defined = self.lookup_function(n, scope).is_some() || self.classes.contains_key(n);
                (!defined).then(|| format!("builtins.{n}"))
            }
            ExprKind::Attribute { value, attr } => {
                if self.bound_attrs.contains(attr)
                    && let Some(d) = e.dotted()
                    && let Some(v) = self.attr_bindings.get(&d)
                    && let Some(q) = v.iter().find_map(|v| self.qualify_value(v, scope, depth + 1))
                {
                    return Some(q);
                }
                let base = self.qualify_depth(value, scope, depth + 1)?;
                Some(format!("{base}.{attr}"))
            }
            // `Path(p) / "name"` is a path too.
            ExprKind::BinOp { op: BinOp::Div, left, .. } => {
                let l = self.qualify_depth(left, scope, depth + 1)?;
                (l.starts_with("pathlib.") && l.ends_with("()")).then_some(l)
            }
            ExprKind::Call(c) => {
                let f = canonical(self.qualify_depth(&c.func, scope, depth + 1)?);
                match f.as_str() {
                    "multiprocessing.get_context" => Some("multiprocessing".into()),
                    "asyncio.get_event_loop" | "asyncio.get_running_loop" | "asyncio.new_event_loop" => {
                        Some("asyncio.loop".into())
                    }
                    _ => Some(format!("{f}()")),
                }
            }
            _ => None,
        }
    }

    /// The qualified name `n` is imported as, seen from `scope`: the import made in the innermost enclosing
    /// function (or the module) that imports it. A name imported only in other functions is not imported here.
    fn import_in_scope(&self, n: &str, scope: Option<FuncId>) -> Option<&String> {
        let all = self.scoped_imports.get(n)?;
        let mut s = scope;
        loop {
            if let Some((_, q)) = all.iter().rev().find(|(sc, _)| *sc == s) {
                return Some(q);
            }
            s = self.funcs[s?].parent;
        }
    }

    /// The type of the instance a name holds by its annotation, seen from `scope`: a parameter's annotation, or
    /// `name: T` in the scope that binds it (`httpx.Client`, `httpx.Client | None`, `Optional[httpx.Client]`
    /// give `httpx.Client()`).
    fn annotated_type(&self, n: &str, scope: Option<FuncId>, depth: u32) -> Option<String> {
        let annotated = self.annotated.get(n);
        let mut s = scope;
        loop {
            if let Some(a) = annotated.and_then(|v| v.iter().rev().find(|(sc, _)| *sc == s)) {
                return self.type_of_annotation(a.1, s, depth + 1);
            }
            let f = s?;
            let def = self.funcs[f].def;
            if def.params.contains(&n) {
                let (_, a) = def.annotations.iter().find(|(p, _)| *p == n)?;
                return self.type_of_annotation(a, self.funcs[f].parent, depth + 1);
            }
            s = self.funcs[f].parent;
        }
    }

    /// The instance type an annotation names: `T`, `T | None`, `Optional[T]`, `Union[T, None]` give `T()`.
    fn type_of_annotation(&self, a: &Expr<'a>, scope: Option<FuncId>, depth: u32) -> Option<String> {
        if depth > 8 {
            return None;
        }
        let is_none = |e: &Expr<'_>| matches!(e.kind, ExprKind::NoneLiteral);
        match &a.kind {
            ExprKind::Name(_) | ExprKind::Attribute { .. } => {
                let q = canonical(self.qualify_depth(a, scope, depth + 1)?);
                (!q.ends_with(')')).then(|| format!("{q}()"))
            }
            ExprKind::BinOp { op: BinOp::BitOr, left, right } if is_none(right) => {
                self.type_of_annotation(left, scope, depth + 1)
            }
            ExprKind::BinOp { op: BinOp::BitOr, left, right } if is_none(left) => {
                self.type_of_annotation(right, scope, depth + 1)
            }
            ExprKind::Subscript { value, slice } => match self.qualify_depth(value, scope, depth + 1)?.as_str() {
                "typing.Optional" => self.type_of_annotation(slice, scope, depth + 1),
                "typing.Union" => {
                    let ExprKind::Sequence(elts) = &slice.kind else { return None };
                    let mut types = elts.iter().filter(|e| !is_none(e));
                    let t = types.next()?;
                    if types.next().is_some() {
                        return None;
                    }
                    self.type_of_annotation(t, scope, depth + 1)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// A bound value: constructor calls and aliases qualify; anything else does not.
    fn qualify_value(&self, v: &Expr<'a>, scope: Option<FuncId>, depth: u32) -> Option<String> {
        match &v.kind {
            ExprKind::Call(_) | ExprKind::Name(_) | ExprKind::Attribute { .. } => self.qualify_depth(v, scope, depth),
            _ => None,
        }
    }

    /// The values assigned to `name` in `scope` or, failing that, its enclosing scopes. A parameter of the scope
    /// shadows outer bindings.
    pub fn binding(&self, name: &'a str, scope: Option<FuncId>) -> Option<Vec<&'m Expr<'a>>> {
        self.binding_values(name, scope).map(<[_]>::to_vec)
    }

    /// [`Model::binding`], borrowed.
    fn binding_values(&self, name: &'a str, scope: Option<FuncId>) -> Option<&[&'m Expr<'a>]> {
        let mut s = scope;
        loop {
            if let Some(here) = self.bindings.get(&(name, s)) {
                return Some(here);
            }
            match s {
                Some(id) => {
                    if self.funcs[id].def.params.contains(&name) {
                        return None;
                    }
                    s = self.funcs[id].parent;
                }
                None => return None,
            }
        }
    }

    /// Every value assigned to a name at module level (class bodies included: their scope is the module's).
    pub fn module_level_values(&self) -> impl Iterator<Item = &'m Expr<'a>> + '_ {
        self.bindings.iter().filter(|((_, scope), _)| scope.is_none()).flat_map(|(_, v)| v.iter().copied())
    }

    /// The values assigned to a name or attribute expression (`pool`, `self.pool`).
    pub fn values_of(&self, e: &Expr<'a>, scope: Option<FuncId>) -> Vec<&'m Expr<'a>> {
        match &e.kind {
            ExprKind::Name(n) => self.binding(n, scope).unwrap_or_default(),
            ExprKind::Attribute { attr, .. } if self.bound_attrs.contains(attr) => {
                e.dotted().and_then(|d| self.attr_bindings.get(&d).cloned()).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// `self.auth.refresh` / `auth.refresh`: a method of a module-level class of this module, known from the
    /// receiver — every value assigned to it is `Class(…)`; or, when it is only given from outside (a parameter,
    /// `self.auth = auth`), its name is the class's name in snake case or that name's last words (`auth` for
    /// `WinixAuth`, `winix_auth`), and that class alone of those so named defines the method.
    pub fn resolve_held_method(&self, func: &Expr<'a>, scope: Option<FuncId>) -> Option<FuncId> {
        let ExprKind::Attribute { value: recv, attr: m } = &func.kind else { return None };
        let name = match &recv.kind {
            ExprKind::Name(n) => *n,
            ExprKind::Attribute { attr, .. } => *attr,
            _ => return None,
        };
        if matches!(name, "self" | "cls") || self.classes.contains_key(name) || self.imports.contains_key(name) {
            return None;
        }
        let module_class = |c: &str| self.classes.get(c).is_some_and(|(_, local)| !local);
        let mut from_values: Option<&'a str> = None;
        for v in self.values_of(recv, scope) {
            match &v.kind {
                ExprKind::Call(c) => {
                    let c = c.func.as_name().filter(|c| module_class(c))?;
                    if from_values.is_some_and(|k| k != c) {
                        return None;
                    }
                    from_values = Some(c);
                }
                // A parameter passed in (`self.auth = auth`): judged by its name below.
                ExprKind::Name(n) if *n == name => {}
                _ => return None,
            }
        }
        if let Some(c) = from_values {
            return self.method(c, m);
        }
        let want = name.trim_start_matches('_').to_ascii_lowercase();
        if want.len() < 3 {
            return None;
        }
        let mut found = None;
        for (c, (_, local)) in &self.classes {
            if *local {
                continue;
            }
            let snake = snake_case(c);
            if (snake == want || snake.ends_with(&format!("_{want}")))
                && let Some(g) = self.method(c, m)
            {
                if found.is_some() {
                    return None;
                }
                found = Some(g);
            }
        }
        found
    }

    /// The innermost class around a function (through nested functions).
    pub fn class_of(&self, f: FuncId) -> Option<&'a str> {
        self.funcs[f].class
    }

    fn pool_of_receiver(&self, recv: &Expr<'a>, scope: Option<FuncId>) -> Option<usize> {
        let direct = |e: &Expr<'a>| self.pools.iter().position(|p| self.calls[p.site].range == e.range);
        if let Some(p) = direct(recv) {
            return Some(p);
        }
        self.values_of(recv, scope).into_iter().find_map(direct)
    }

    fn find_pools_and_spawns(&mut self) {
        // Pool constructors first, so submissions can point at them.
        for (i, c) in self.calls.iter().enumerate() {
            let Some(q) = c.qual.as_deref() else { continue };
            if let Some((api, exec, kw)) = POOL_CTORS.iter().find(|(n, ..)| *n == q) {
                let workers_expr = c.call.arg(0, kw);
                self.pools.push(PoolCtor {
                    site: i,
                    exec: *exec,
                    api,
                    workers: workers_expr.and_then(Expr::const_int),
                    workers_expr,
                });
            }
        }
        let mut spawns = Vec::new();
        for (i, c) in self.calls.iter().enumerate() {
            let Some(q) = c.qual.as_deref() else { continue };
            let direct: Option<(Exec, &str, Option<&'m Expr<'a>>)> = match q {
                "threading.Thread" => Some((Exec::Threads, "threading.Thread", c.call.arg(1, "target"))),
                "threading.Timer" => Some((Exec::Threads, "threading.Timer", c.call.arg(1, "function"))),
                "multiprocessing.dummy.Process" => {
                    Some((Exec::Threads, "multiprocessing.dummy.Process", c.call.arg(1, "target")))
                }
                "_thread.start_new_thread" => Some((Exec::Threads, "_thread.start_new_thread", c.call.args.first())),
                "asyncio.to_thread" => Some((Exec::Threads, "asyncio.to_thread", c.call.args.first())),
                "multiprocessing.Process" => {
                    Some((Exec::Processes, "multiprocessing.Process", c.call.arg(1, "target")))
                }
                _ => None,
            };
            if let Some((exec, api, target)) = direct {
                spawns.push(self.spawn(i, exec, api.to_string(), target, None));
                continue;
            }
            let ExprKind::Attribute { value: recv, attr } = &c.call.func.kind else { continue };
            if *attr == "run_in_executor" {
                let (Some(ex), Some(target)) = (c.call.args.first(), c.call.args.get(1)) else { continue };
                let (exec, pool) = if matches!(ex.kind, ExprKind::NoneLiteral) {
                    (Exec::Threads, None)
                } else if let Some(p) = self.pool_of_receiver(ex, c.scope) {
                    (self.pools[p].exec, Some(p))
                } else {
                    continue;
                };
                spawns.push(self.spawn(i, exec, "loop.run_in_executor".into(), Some(target), pool));
            } else if SUBMIT_METHODS.contains(attr)
                && let Some(p) = self.pool_of_receiver(recv, c.scope)
            {
                let short = self.pools[p].api.rsplit('.').next().unwrap_or_default();
                let short = if self.pools[p].api == "multiprocessing.dummy.Pool" { "ThreadPool" } else { short };
                let target = c.call.arg(0, if attr.starts_with("submit") { "fn" } else { "func" });
                spawns.push(self.spawn(i, self.pools[p].exec, format!("{short}.{attr}"), target, Some(p)));
            }
        }
        // `class W(threading.Thread)` / `class P(multiprocessing.Process)` with a `run` method.
        let mut classes: Vec<&'m ClassDef<'a>> = self.classes.values().map(|(c, _)| *c).collect();
        classes.sort_by_key(|c| c.name);
        for class in classes {
            for base in &class.bases {
                let exec = match self.qualify(base, None).as_deref() {
                    Some("threading.Thread") => Exec::Threads,
                    Some("multiprocessing.Process") => Exec::Processes,
                    _ => continue,
                };
                if let Some(run) = self.method(class.name, "run") {
                    spawns.push(Spawn {
                        site: None,
                        range: self.funcs[run].def.name_range,
                        exec,
                        api: format!("{}.run", class.name),
                        target: None,
                        target_fn: Some(run),
                        pool: None,
                        scope: None,
                    });
                }
            }
        }
        self.spawns = spawns;
    }

    fn spawn(
        &self,
        site: usize,
        exec: Exec,
        api: String,
        target: Option<&'m Expr<'a>>,
        pool: Option<usize>,
    ) -> Spawn<'m, 'a> {
        let c = &self.calls[site];
        let target_fn = target.and_then(|t| self.resolve_function(t, c.scope));
        Spawn {
            site: Some(site),
            range: target.map_or(c.range, |t| t.range),
            exec,
            api,
            target,
            target_fn,
            pool,
            scope: c.scope,
        }
    }

    /// The functions `f` calls directly that are defined in this module.
    pub fn callees(&self, f: FuncId) -> impl Iterator<Item = (usize, FuncId)> + '_ {
        self.calls_by_func[f].iter().filter_map(move |&i| {
            let c = &self.calls[i];
            self.resolve_function(&c.call.func, c.scope).map(|g| (i, g))
        })
    }
}

/// First pass: imports, functions, classes and bindings.
struct Indexer<'x, 'm, 'a> {
    m: &'x mut Model<'m, 'a>,
    scope: Option<FuncId>,
    class: Option<&'a str>,
    local: bool,
}

impl<'m, 'a> Indexer<'_, 'm, 'a> {
    fn block(&mut self, body: &'m [Stmt<'a>]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn bind(&mut self, target: &'m Expr<'a>, value: &'m Expr<'a>) {
        match &target.kind {
            ExprKind::Name(n) => {
                self.m.bindings.entry((n, self.scope)).or_default().push(value);
                if self.scope.is_none() && self.class.is_none() {
                    self.m.module_names.entry(n).or_default().push(value);
                }
            }
            ExprKind::Attribute { attr, .. } => {
                if let Some(d) = target.dotted() {
                    self.m.attr_bindings.entry(d).or_default().push(value);
                    self.m.bound_attrs.insert(attr);
                }
            }
            // `a, b = Path(x), Path(y)`: element by element.
            ExprKind::Sequence(targets) => {
                if let ExprKind::Sequence(values) = &value.kind
                    && values.len() == targets.len()
                {
                    for (t, v) in targets.iter().zip(values) {
                        self.bind(t, v);
                    }
                }
            }
            _ => {}
        }
    }

    fn stmt(&mut self, s: &'m Stmt<'a>) {
        match &s.kind {
            StmtKind::Import(names) => {
                for a in names {
                    match a.asname {
                        Some(asname) => {
                            self.m.imports.insert(asname, a.name.to_string());
                            self.m.scoped_imports.entry(asname).or_default().push((self.scope, a.name.to_string()));
                        }
                        None => {
                            let first = a.name.split('.').next().unwrap_or(a.name);
                            self.m.imports.insert(first, first.to_string());
                            self.m.scoped_imports.entry(first).or_default().push((self.scope, first.to_string()));
                        }
                    }
                }
            }
            StmtKind::ImportFrom { module, level, names } => {
                if *level > 0 {
                    for a in names.iter().filter(|a| a.name != "*") {
                        let rest = match module {
                            Some(m) => format!("{m}.{}", a.name),
                            None => a.name.to_string(),
                        };
                        self.m.rel_imports.insert(a.asname.unwrap_or(a.name), (*level, rest));
                    }
                    return;
                }
                let Some(module) = module else { return };
                for a in names {
                    if a.name == "*" {
                        continue;
                    }
                    let local = a.asname.unwrap_or(a.name);
                    self.m.imports.insert(local, format!("{module}.{}", a.name));
                    self.m.scoped_imports.entry(local).or_default().push((self.scope, format!("{module}.{}", a.name)));
                }
            }
            StmtKind::FunctionDef(d) => {
                let id = self.m.funcs.len();
                self.m.funcs.push(FuncInfo {
                    def: d,
                    range: s.range,
                    parent: self.scope,
                    class: self.class,
                    is_local: self.local,
                });
                let saved = (self.scope, self.class, self.local);
                self.scope = Some(id);
                self.class = None;
                self.local = true;
                self.block(&d.body);
                (self.scope, self.class, self.local) = saved;
            }
            StmtKind::ClassDef(c) => {
                self.m.classes.entry(c.name).or_insert((c, self.local));
                let saved = self.class;
                self.class = Some(c.name);
                self.block(&c.body);
                self.class = saved;
            }
            StmtKind::Assign { targets, value, annotation } => {
                if let (Some(a), [t]) = (annotation, targets.as_slice())
                    && let ExprKind::Name(n) = t.kind
                {
                    self.m.annotated.entry(n).or_default().push((self.scope, a));
                }
                if let Some(v) = value {
                    for t in targets {
                        self.bind(t, v);
                    }
                }
            }
            StmtKind::With { items, body, .. } => {
                for i in items {
                    if let Some(var) = &i.var {
                        self.bind(var, &i.context);
                    }
                }
                self.block(body);
            }
            _ => s.for_each_block(&mut |b| self.block(b)),
        }
    }
}

/// Second pass: every call with its context.
struct Collector<'x, 'm, 'a> {
    m: &'x mut Model<'m, 'a>,
    scope: Option<FuncId>,
    in_async: bool,
    loop_range: Option<Range>,
    at_import: bool,
    lazy: u32,
}

#[derive(Clone, Copy, Default)]
struct ExprCtx {
    in_lambda: bool,
    dropped: bool,
    awaited: bool,
    cached: bool,
}

/// `x is None`, `x == None`.
fn tests_none(test: &Expr<'_>) -> bool {
    matches!(&test.kind, ExprKind::Compare { comparators, .. } if comparators.iter().any(|c| matches!(c.kind, ExprKind::NoneLiteral)))
}

impl<'m, 'a> Collector<'_, 'm, 'a> {
    fn block(&mut self, body: &'m [Stmt<'a>]) {
        for s in body {
            self.stmt(s);
        }
    }

    fn func_id(&self, range: Range) -> Option<FuncId> {
        self.m.funcs_by_start.get(&range.start).copied()
    }

    fn stmt(&mut self, s: &'m Stmt<'a>) {
        match &s.kind {
            StmtKind::FunctionDef(d) => {
                for e in d.decorators.iter().chain(&d.defaults) {
                    self.expr(e, ExprCtx::default());
                }
                let saved = (self.scope, self.in_async, self.loop_range, self.at_import);
                self.scope = self.func_id(s.range);
                self.in_async = d.is_async;
                self.loop_range = None;
                self.at_import = false;
                self.block(&d.body);
                (self.scope, self.in_async, self.loop_range, self.at_import) = saved;
            }
            StmtKind::If { test, body, orelse } if self.at_import && self.scope.is_none() && is_main_guard(test) => {
                self.expr(test, ExprCtx::default());
                self.at_import = false;
                self.block(body);
                self.at_import = true;
                self.block(orelse);
            }
            StmtKind::For { iter, target, body, orelse, .. } => {
                self.expr(iter, ExprCtx::default());
                self.expr(target, ExprCtx::default());
                let saved = self.loop_range;
                self.loop_range = Some(s.range);
                self.block(body);
                self.loop_range = saved;
                self.block(orelse);
            }
            StmtKind::While { test, body, orelse } => {
                let saved = self.loop_range;
                self.loop_range = Some(s.range);
                self.expr(test, ExprCtx::default());
                self.block(body);
                self.loop_range = saved;
                self.block(orelse);
            }
            StmtKind::Expr(e) => self.expr(e, ExprCtx { dropped: true, ..ExprCtx::default() }),
            StmtKind::If { test, body, orelse } if tests_none(test) => {
                self.expr(test, ExprCtx::default());
                self.lazy += 1;
                self.block(body);
                self.lazy -= 1;
                self.block(orelse);
            }
            StmtKind::Assign { targets, value: Some(v), .. }
                if targets
                    .iter()
                    .any(|t| matches!(t.kind, ExprKind::Attribute { .. } | ExprKind::Subscript { .. })) =>
            {
                self.expr(v, ExprCtx { cached: true, ..ExprCtx::default() });
                for t in targets {
                    self.expr(t, ExprCtx::default());
                }
            }
            StmtKind::ClassDef(c) => {
                for e in c.decorators.iter().chain(&c.bases) {
                    self.expr(e, ExprCtx::default());
                }
                let saved = self.at_import;
                self.block(&c.body);
                self.at_import = saved;
            }
            _ => {
                s.for_each_expr(&mut |e| self.expr(e, ExprCtx::default()));
                s.for_each_block(&mut |b| self.block(b));
            }
        }
    }

    fn expr(&mut self, e: &'m Expr<'a>, ctx: ExprCtx) {
        match &e.kind {
            ExprKind::Call(call) => {
                let qual = self.m.qualify(&call.func, self.scope);
                self.m.calls.push(CallSite {
                    call,
                    range: e.range,
                    qual,
                    scope: self.scope,
                    in_async: self.in_async && !ctx.in_lambda,
                    in_lambda: ctx.in_lambda,
                    loop_range: self.loop_range,
                    at_import: self.at_import && !ctx.in_lambda,
                    dropped: ctx.dropped,
                    awaited: ctx.awaited,
                    cached: ctx.cached || self.lazy > 0,
                });
                let inner = ExprCtx { dropped: false, awaited: false, cached: false, ..ctx };
                e.for_each_child(&mut |c| self.expr(c, inner));
            }
            ExprKind::Await(v) => self.expr(v, ExprCtx { awaited: true, dropped: false, ..ctx }),
            ExprKind::Lambda { body, .. } => {
                self.expr(body, ExprCtx { in_lambda: true, ..ExprCtx::default() });
            }
            ExprKind::Comprehension { .. } => {
                let saved = self.loop_range;
                self.loop_range = Some(e.range);
                let inner = ExprCtx { dropped: false, awaited: false, ..ctx };
                e.for_each_child(&mut |c| self.expr(c, inner));
                self.loop_range = saved;
            }
            _ => {
                let inner = ExprCtx { dropped: false, awaited: false, ..ctx };
                e.for_each_child(&mut |c| self.expr(c, inner));
            }
        }
    }
}

/// `WinixAuth` → `winix_auth`, `HTTPClient` → `http_client`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() {
            let prev_lower = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_uppercase())) && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::parse::parse;

    fn with_model(src: &str, f: impl FnOnce(&Model<'_, '_>)) {
        let p = parse(src).unwrap();
        let m = p.module();
        f(&Model::build(&m));
    }

    #[test]
    fn class_names_in_snake_case() {
        assert_eq!(snake_case("WinixAuth"), "winix_auth");
        assert_eq!(snake_case("HTTPClient"), "http_client");
        assert_eq!(snake_case("Auth2Token"), "auth2_token");
        assert_eq!(snake_case("auth"), "auth");
    }

    #[test]
    fn imports_resolve_through_aliases() {
        let src = "import threading as t\nimport concurrent.futures\nfrom concurrent.futures import ThreadPoolExecutor as TPE\nfrom multiprocessing import Pool\nimport multiprocessing as mp\n\
t.Thread(target=None)\nconcurrent.futures.ProcessPoolExecutor()\nTPE(4)\nPool()\nmp.get_context('spawn').Pool(2)\nopen('x')\n";
        with_model(src, |m| {
            let quals: Vec<_> = m.calls.iter().filter_map(|c| c.qual.clone()).collect();
            assert_eq!(
                quals,
                vec![
                    "threading.Thread",
                    "concurrent.futures.ProcessPoolExecutor",
                    "concurrent.futures.ThreadPoolExecutor",
                    "multiprocessing.Pool",
                    "multiprocessing.Pool",
                    "multiprocessing.get_context",
                    "builtins.open",
                ]
            );
            assert_eq!(m.pools.len(), 4);
            assert_eq!(m.pools[1].workers, Some(4));
        });
    }

    #[test]
    fn targets_are_followed_to_their_definitions() {
        let src = "from concurrent.futures import ProcessPoolExecutor\nimport asyncio, threading\n\
def work(n):\n    return n\n\
def main():\n    def inner():\n        pass\n    with ProcessPoolExecutor() as ex:\n        ex.submit(work, 1)\n        list(ex.map(inner, []))\n    threading.Thread(target=inner).start()\n\
async def amain():\n    loop = asyncio.get_running_loop()\n    await loop.run_in_executor(None, work, 1)\n    await asyncio.to_thread(work, 2)\n";
        with_model(src, |m| {
            let got: Vec<_> =
                m.spawns.iter().map(|s| (s.api.as_str(), s.exec, s.target_fn.map(|f| m.funcs[f].def.name))).collect();
            assert_eq!(
                got,
                vec![
                    ("ProcessPoolExecutor.submit", Exec::Processes, Some("work")),
                    ("ProcessPoolExecutor.map", Exec::Processes, Some("inner")),
                    ("threading.Thread", Exec::Threads, Some("inner")),
                    ("loop.run_in_executor", Exec::Threads, Some("work")),
                    ("asyncio.to_thread", Exec::Threads, Some("work")),
                ]
            );
            assert!(m.funcs[m.spawns[1].target_fn.unwrap()].is_local);
        });
    }

    #[test]
    fn call_context_flags() {
        let src = "import asyncio\nasyncio.run(main())\nif __name__ == '__main__':\n    go()\nasync def f():\n    asyncio.create_task(g())\n    await h()\n    cb = lambda: k()\n    for x in y:\n        z()\n";
        with_model(src, |m| {
            let by = |name: &str| m.calls.iter().find(|c| c.call.func.dotted().as_deref() == Some(name)).unwrap();
            assert!(by("asyncio.run").at_import);
            assert!(!by("go").at_import);
            assert!(by("asyncio.create_task").dropped && by("asyncio.create_task").in_async);
            assert!(by("h").awaited);
            assert!(!by("k").in_async && by("k").in_lambda);
            assert!(by("z").loop_range.is_some());
        });
    }
}
