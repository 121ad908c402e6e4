//! The semantic model the Rust rules share: scopes, `use` resolution to fully qualified paths, local bindings
//! with the types their initialisers make likely, struct-field and function-return types declared in the file.
//!
//! Paths resolve the way rustc resolves them, as far as one file allows:
//! - `use` items at module level and inside blocks, with renames, groups, `self`, `super`, `crate::`,
//!   leading `::`, `extern crate … as …`, and globs whose members are known (std/tokio modules the rules care
//!   about, and modules declared in the same file, e.g. `use super::*` in a test module);
//! - items declared in the file resolve to `crate::<module path>::<name>`, the module path being derived from
//!   the file's path (`src/a/b.rs` → `crate::a::b`, `src/a/mod.rs` → `crate::a`) plus inline `mod` blocks;
//! - a local binding (`let`, parameter, pattern) shadows an import of the same name;
//! - std prelude names (`Vec`, `drop`, `Some`, …) resolve to their std paths;
//! - anything else is taken as an extern crate path. `core::`/`alloc::` are normalised to `std::`.
//!
//! Types ([`Ty`]) are tracked only where the evidence is local and cheap: constructors (`File::open(p)?` is a
//! `std::fs::File`), known std/tokio return types, builder chains, tuple patterns of `channel()`, type
//! annotations, typed parameters, and fields of structs declared in the same file. An unknown type is
//! [`Ty::Unknown`]; rules must not guess from a method name alone when the receiver is unknown, except for
//! names that are unambiguous.

use std::collections::{HashMap, HashSet};

use syn::{Expr, Item, Pat, Stmt, Type, UseTree};

use super::types;

/// Flag in the resolution depth: do not look names up through glob imports.
const NO_GLOBS: u8 = 0x80;

/// A fully qualified path such as `std::thread::sleep` or `crate::config::load`.
pub type QualifiedName = String;

/// The type the model believes an expression has.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Ty {
    /// Nothing is known.
    #[default]
    Unknown,
    /// A named type with its generic arguments, e.g. `std::sync::Mutex` with `[std::fs::File]`. Smart pointers
    /// (`Arc`, `Rc`, `Box`) and references are seen through; `Result`/`Option` of fallible constructors are
    /// dropped (`?`, `unwrap()` and friends are identities).
    Named(QualifiedName, Vec<Ty>),
    /// A tuple, e.g. the `(Sender, Receiver)` of `std::sync::mpsc::channel()`.
    Tuple(Vec<Ty>),
}

impl Ty {
    /// A named type without generic arguments.
    pub fn named(path: impl Into<String>) -> Ty {
        Ty::Named(path.into(), Vec::new())
    }

    /// The qualified name, if the type is named.
    pub fn name(&self) -> Option<&str> {
        match self {
            Ty::Named(n, _) => Some(n),
            _ => None,
        }
    }

    /// The type after auto-deref through lock guards and `RefCell` borrows (`MutexGuard<T>` → `T`).
    pub fn deref_guards(&self) -> &Ty {
        let mut t = self;
        while let Ty::Named(n, args) = t {
            if types::is_guard(n)
                && let Some(inner) = args.first()
            {
                t = inner;
                continue;
            }
            break;
        }
        t
    }

    /// Whether the type (after auto-deref through guards) is `path`.
    pub fn is(&self, path: &str) -> bool {
        self.deref_guards().name() == Some(path) || self.name() == Some(path)
    }

    /// Whether the type (after auto-deref through guards) is one of `paths`.
    pub fn is_any(&self, paths: &[&str]) -> bool {
        paths.iter().any(|p| self.is(p))
    }

    /// Whether the type's name (after auto-deref through guards) starts with `prefix` (e.g. `reqwest::blocking::`).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.deref_guards().name().is_some_and(|n| n.starts_with(prefix))
            || self.name().is_some_and(|n| n.starts_with(prefix))
    }

    /// The first generic argument, if any.
    pub fn arg(&self, i: usize) -> Option<&Ty> {
        match self {
            Ty::Named(_, args) => args.get(i),
            _ => None,
        }
    }
}

/// A local binding: a `let`, a parameter, a pattern variable.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Its type, as far as the model can tell.
    pub ty: Ty,
    /// The span of the bound identifier.
    pub span: proc_macro2::Span,
    /// Index of the scope it lives in (see [`SemanticModel::scope_id`]); it dies when that scope is popped.
    pub scope: usize,
    /// When `ty` is unknown here but the value comes from a crate type's fields and methods declared in
    /// another file (`let h = self.worker.take().unwrap()`, `if let Some(h) = self.worker.take()`): that type
    /// and the steps from it, for the crate phase ([`types::receiver_chain`]).
    pub chain: Option<Box<Chain>>,
}

/// A type and the field and method steps from it to a value (see [`Binding::chain`]).
pub type Chain = (Ty, Vec<crate::rust::callgraph::TyStep>);

/// What kind of scope the innermost scope is (see [`SemanticModel::scope_kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// A module: the file, or an inline `mod m { … }`. Name lookup stops here.
    Module,
    /// The parameters of a function item: outer locals are not visible inside.
    Fn,
    /// The parameters of a closure: outer locals stay visible.
    Closure,
    /// A block `{ … }`, a match arm, the body of an `if let`/`while let`/`for`.
    Block,
}

#[derive(Debug, Clone)]
struct Import {
    target: Vec<String>,
    leading_colon: bool,
}

#[derive(Debug)]
struct Scope {
    kind: ScopeKind,
    module: usize,
    imports: HashMap<String, Import>,
    globs: Vec<(Vec<String>, bool)>,
    items: HashSet<String>,
    locals: HashMap<String, Binding>,
}

impl Scope {
    fn new(kind: ScopeKind, module: usize) -> Self {
        Scope {
            kind,
            module,
            imports: HashMap::new(),
            globs: Vec::new(),
            items: HashSet::new(),
            locals: HashMap::new(),
        }
    }
}

/// The shared semantic model of one file. Built as the visitor walks: it always reflects the scope the
/// visitor is in.
#[derive(Debug)]
pub struct SemanticModel {
    modules: Vec<Vec<String>>,
    scopes: Vec<Scope>,
    impls: Vec<Ty>,
    structs: HashMap<QualifiedName, HashMap<String, Ty>>,
    returns: HashMap<QualifiedName, Ty>,
    /// Type aliases declared in this file (`type Jobs = Receiver<u32>;`), by qualified name.
    aliases: HashMap<QualifiedName, Ty>,
    track_types: bool,
    /// Structs (by name) with a `Cell`/`RefCell`/`UnsafeCell` field, and types with an `unsafe impl Sync`.
    cell_structs: HashSet<String>,
    sync_impls: HashSet<String>,
    /// The package's library, when this file is in another crate of the package (an integration test, an
    /// example, a bench) and the call graph is built: its items are linked like the crate's own.
    lib: Option<std::sync::Arc<super::package::LibCrate>>,
}

/// `Cell<..>`, `RefCell<..>`, `UnsafeCell<..>` (any path), directly.
fn is_cell_type(t: &Type) -> bool {
    matches!(t, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Cell" || s.ident == "RefCell" || s.ident == "UnsafeCell"))
}

/// The module path of a file, from its path: `src/a/b.rs` → `["crate", "a", "b"]`, `src/a/mod.rs` →
/// `["crate", "a"]`, `src/lib.rs`, `src/main.rs`, `src/bin/x.rs`, `tests/x.rs` → `["crate"]`. Outside a `src`
/// tree, a file beside a `main.rs` or `lib.rs` (a build script's modules: `builder/main.rs` with
/// `builder/probe.rs`) is that root's module `["crate", "probe"]`, so that same-named functions of two such
/// modules stay apart (issue 12: aws-lc-sys's builder).
pub fn module_path_of(path: &std::path::Path) -> Vec<String> {
    let comps: Vec<&str> = path.iter().filter_map(|c| c.to_str()).collect();
    let mut out = vec!["crate".to_string()];
    let Some(src) = comps.iter().rposition(|c| *c == "src") else {
        if let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            && !matches!(stem, "main" | "lib" | "mod" | "build")
            && let Some(dir) = path.parent()
            && (dir.join("main.rs").is_file() || dir.join("lib.rs").is_file())
        {
            out.push(stem.to_string());
        }
        return out;
    };
    let rest = &comps[src + 1..];
    if rest.first() == Some(&"bin") {
        return out;
    }
    for (i, c) in rest.iter().enumerate() {
        if i + 1 < rest.len() {
            out.push((*c).to_string());
            continue;
        }
        let stem = c.strip_suffix(".rs").unwrap_or(c);
        let root_file = rest.len() == 1 && matches!(stem, "lib" | "main");
        if stem != "mod" && !root_file {
            out.push(stem.to_string());
        }
    }
    out
}

fn ident_str(i: &syn::Ident) -> String {
    let s = i.to_string();
    match s.strip_prefix("r#") {
        Some(raw) => raw.to_string(),
        None => s,
    }
}

fn normalize(mut segs: Vec<String>) -> Vec<String> {
    if let Some(first) = segs.first_mut()
        && (first == "core" || first == "alloc")
    {
        *first = "std".to_string();
    }
    if segs.len() >= 2 && segs[0] == "crossbeam" && segs[1] == "channel" {
        segs.remove(0);
        segs[0] = "crossbeam_channel".to_string();
    }
    if segs.first().is_some_and(|s| s == "futures_executor") {
        segs[0] = "executor".to_string();
        segs.insert(0, "futures".to_string());
    }
    segs
}

impl SemanticModel {
    /// A model for a file at `path` (whose module path it derives); `track_types` turns type inference of
    /// bindings on (off when no enabled rule looks at types).
    pub fn new(path: &std::path::Path, track_types: bool) -> Self {
        SemanticModel {
            modules: vec![module_path_of(path)],
            scopes: Vec::new(),
            impls: Vec::new(),
            structs: HashMap::new(),
            returns: HashMap::new(),
            aliases: HashMap::new(),
            track_types,
            cell_structs: HashSet::new(),
            sync_impls: HashSet::new(),
            lib: None,
        }
    }

    /// Links the file against its package's library ([`super::package::lib_of`]): paths and types of that
    /// library are then [`linked`](Self::linked) like the crate's own.
    pub(crate) fn link_package_lib(&mut self, path: &std::path::Path) {
        self.lib = super::package::lib_of(path);
    }

    /// Whether a qualified path or type names an item the crate phase links: one of this crate
    /// (`crate::…`), or of the package's library when this file is a test, example or bench of the package.
    pub fn linked(&self, name: &str) -> bool {
        name.starts_with("crate::") || self.lib.as_ref().is_some_and(|l| name.starts_with(l.prefix.as_str()))
    }

    /// Whether binding types are inferred.
    pub fn tracks_types(&self) -> bool {
        self.track_types
    }

    /// The module path the visitor is in, e.g. `["crate", "config"]`.
    pub fn module_path(&self) -> &[String] {
        let m = self.scopes.last().map_or(0, |s| s.module);
        &self.modules[m]
    }

    /// The index of the innermost scope (bindings record it; it is what [`OnScopeExit`]
    /// receives). Scopes nest: a larger id is an inner scope.
    ///
    /// [`OnScopeExit`]: crate::rust::rules::OnScopeExit
    pub fn scope_id(&self) -> usize {
        self.scopes.len().saturating_sub(1)
    }

    /// The kind of the innermost scope.
    pub fn scope_kind(&self) -> Option<ScopeKind> {
        self.scopes.last().map(|s| s.kind)
    }

    /// Whether a struct of this (last-segment) name, declared in this file, is visibly not `Sync`: it has a
    /// `Cell`/`RefCell`/`UnsafeCell` field and no `unsafe impl Sync` in this file. Its `&self` methods then
    /// run on one thread at a time.
    pub fn visibly_not_sync(&self, name: &str) -> bool {
        let last = name.rsplit("::").next().unwrap_or(name);
        self.cell_structs.contains(last) && !self.sync_impls.contains(last)
    }

    /// The type of the `impl` block the visitor is in (`Self`), if any.
    pub fn self_ty(&self) -> Option<&Ty> {
        self.impls.last()
    }

    // ---- scope management (called by the checker) ----

    /// Enters a module: the file (`name` = `None`) or an inline `mod name { items }`.
    pub(crate) fn push_module(&mut self, name: Option<&syn::Ident>, items: &[Item]) {
        let module = match name {
            None => 0,
            Some(n) => {
                let mut p = self.module_path().to_vec();
                p.push(ident_str(n));
                self.modules.push(p);
                self.modules.len() - 1
            }
        };
        self.scopes.push(Scope::new(ScopeKind::Module, module));
        self.collect_items(items.iter());
    }

    /// Enters a block: its items and `use`s are visible in the whole block.
    pub(crate) fn push_block(&mut self, stmts: &[Stmt]) {
        let module = self.scopes.last().map_or(0, |s| s.module);
        self.scopes.push(Scope::new(ScopeKind::Block, module));
        if stmts.iter().any(|s| matches!(s, Stmt::Item(_))) {
            self.collect_items(stmts.iter().filter_map(|s| match s {
                Stmt::Item(i) => Some(i),
                _ => None,
            }));
        }
    }

    /// Enters a scope of `kind` with no items (function parameters, closures, arms).
    pub(crate) fn push_scope(&mut self, kind: ScopeKind) {
        let module = self.scopes.last().map_or(0, |s| s.module);
        self.scopes.push(Scope::new(kind, module));
    }

    /// Leaves the innermost scope; its bindings die.
    pub(crate) fn pop_scope(&mut self) {
        self.scopes.pop();
    }

    /// Enters an `impl` block for `self_ty`.
    pub(crate) fn push_impl(&mut self, self_ty: &Type) {
        let t = self.type_from_syn(self_ty);
        self.impls.push(t);
    }

    /// Leaves an `impl` block.
    pub(crate) fn pop_impl(&mut self) {
        self.impls.pop();
    }

    /// Binds the identifiers of `pat` in the innermost scope, with `ty` where the pattern's shape allows.
    pub(crate) fn bind_pat(&mut self, pat: &Pat, ty: Ty) {
        self.bind_pat_chain(pat, ty, None);
    }

    /// [`bind_pat`](Self::bind_pat), with the [`Chain`] the bound value comes from when its type is only known
    /// crate-wide.
    pub(crate) fn bind_pat_chain(&mut self, pat: &Pat, ty: Ty, chain: Option<Box<Chain>>) {
        match pat {
            Pat::Ident(p) => {
                if let Some((_, sub)) = &p.subpat {
                    self.bind_pat(sub, Ty::Unknown);
                }
                let scope = self.scope_id();
                let b = Binding { ty, span: p.ident.span(), scope, chain };
                if let Some(s) = self.scopes.last_mut() {
                    s.locals.insert(ident_str(&p.ident), b);
                }
            }
            Pat::Type(pt) => {
                let t = if self.track_types { self.type_from_syn(&pt.ty) } else { Ty::Unknown };
                match t {
                    Ty::Unknown => self.bind_pat_chain(&pt.pat, ty, chain),
                    t => self.bind_pat(&pt.pat, t),
                }
            }
            Pat::Reference(r) => self.bind_pat_chain(&r.pat, ty, chain),
            Pat::Paren(p) => self.bind_pat_chain(&p.pat, ty, chain),
            Pat::Tuple(t) => {
                let parts = match ty {
                    Ty::Tuple(parts) if parts.len() == t.elems.len() => parts,
                    _ => Vec::new(),
                };
                for (i, e) in t.elems.iter().enumerate() {
                    self.bind_pat(e, parts.get(i).cloned().unwrap_or_default());
                }
            }
            Pat::TupleStruct(t) => {
                // `Some(x)` / `Ok(x)` / `Err(e)` of an `Option<T>` / `Result<T, E>`: `T` / `E` (issue 12: `if let
                // Some(h) = self.worker.take() { h.join() }`); `Some(x)` / `Ok(x)` of a value whose `Option` or
                // `Result` the model already dropped (declared return types): that value's type.
                let variant = match t.path.segments.last() {
                    Some(s) if t.qself.is_none() && t.elems.len() == 1 => s.ident.to_string(),
                    _ => String::new(),
                };
                let (inner, chain) = match (variant.as_str(), ty) {
                    ("Some", Ty::Named(n, mut args)) if n == "std::option::Option" => {
                        (if args.is_empty() { Ty::Unknown } else { args.swap_remove(0) }, None)
                    }
                    ("Ok", Ty::Named(n, mut args)) if n.ends_with("Result") => {
                        (if args.is_empty() { Ty::Unknown } else { args.swap_remove(0) }, None)
                    }
                    ("Err", Ty::Named(n, mut args)) if n == "std::result::Result" && args.len() == 2 => {
                        (args.swap_remove(1), None)
                    }
                    ("Some" | "Ok", Ty::Unknown) => {
                        let unwrap = crate::rust::callgraph::TyStep::Method("unwrap".into());
                        (
                            Ty::Unknown,
                            chain.map(|mut c| {
                                c.1.push(unwrap);
                                c
                            }),
                        )
                    }
                    ("Some" | "Ok", ty) => (ty, None),
                    _ => (Ty::Unknown, None),
                };
                let mut bound = Some((inner, chain));
                for e in &t.elems {
                    let (ty, chain) = bound.take().unwrap_or_default();
                    self.bind_pat_chain(e, ty, chain);
                }
            }
            Pat::Struct(s) => s.fields.iter().for_each(|f| self.bind_pat(&f.pat, Ty::Unknown)),
            Pat::Slice(s) => s.elems.iter().for_each(|e| self.bind_pat(e, Ty::Unknown)),
            Pat::Or(o) => {
                if let Some(first) = o.cases.first() {
                    self.bind_pat(first, Ty::Unknown);
                }
            }
            _ => {}
        }
    }

    fn collect_items<'i>(&mut self, items: impl Iterator<Item = &'i Item> + Clone) {
        let Some(scope) = self.scopes.last_mut() else { return };
        for item in items.clone() {
            match item {
                Item::Use(u) => add_use_tree(scope, &u.tree, &mut Vec::new(), u.leading_colon.is_some()),
                Item::ExternCrate(e) => {
                    let target = ident_str(&e.ident);
                    let name = e.rename.as_ref().map_or_else(|| target.clone(), |(_, r)| ident_str(r));
                    if target != "self" {
                        scope.imports.insert(name, Import { target: vec![target], leading_colon: true });
                    }
                }
                Item::Fn(f) => {
                    scope.items.insert(ident_str(&f.sig.ident));
                }
                Item::Struct(s) => {
                    scope.items.insert(ident_str(&s.ident));
                    if s.fields.iter().any(|f| is_cell_type(&f.ty)) {
                        self.cell_structs.insert(ident_str(&s.ident));
                    }
                }
                Item::Impl(i) if i.unsafety.is_some() => {
                    if let Some((_, tr, _)) = &i.trait_
                        && tr.segments.last().is_some_and(|s| s.ident == "Sync")
                        && let Type::Path(p) = &*i.self_ty
                        && let Some(last) = p.path.segments.last()
                    {
                        self.sync_impls.insert(ident_str(&last.ident));
                    }
                }
                Item::Enum(e) => {
                    scope.items.insert(ident_str(&e.ident));
                }
                Item::Union(u) => {
                    scope.items.insert(ident_str(&u.ident));
                }
                Item::Trait(t) => {
                    scope.items.insert(ident_str(&t.ident));
                }
                Item::Type(t) => {
                    scope.items.insert(ident_str(&t.ident));
                }
                Item::Const(c) => {
                    scope.items.insert(ident_str(&c.ident));
                }
                Item::Static(s) => {
                    scope.items.insert(ident_str(&s.ident));
                }
                Item::Mod(m) => {
                    scope.items.insert(ident_str(&m.ident));
                }
                _ => {}
            }
        }
        if !self.track_types {
            return;
        }
        // Second pass, now that names resolve: type aliases, then field types, function return types.
        let module = self.module_path().to_vec();
        for item in items.clone() {
            if let Item::Type(t) = item
                && t.generics.params.is_empty()
            {
                let ty = self.type_from_syn(&t.ty);
                if ty != Ty::Unknown {
                    self.aliases.insert(format!("{}::{}", module.join("::"), ident_str(&t.ident)), ty);
                }
            }
        }
        for item in items {
            match item {
                Item::Struct(s) => {
                    let mut fields = HashMap::new();
                    for f in &s.fields {
                        if let Some(id) = &f.ident {
                            let t = self.type_from_syn(&f.ty);
                            if t != Ty::Unknown {
                                fields.insert(ident_str(id), t);
                            }
                        }
                    }
                    if !fields.is_empty() {
                        let mut q = module.join("::");
                        q.push_str("::");
                        q.push_str(&ident_str(&s.ident));
                        self.structs.insert(q, fields);
                    }
                }
                Item::Fn(f) => {
                    if let syn::ReturnType::Type(_, t) = &f.sig.output {
                        let t = types::strip_fallible(self.type_from_syn(t));
                        if t != Ty::Unknown {
                            let q = format!("{}::{}", module.join("::"), ident_str(&f.sig.ident));
                            self.returns.insert(q, t);
                        }
                    }
                }
                Item::Impl(i) => {
                    let Ty::Named(self_name, _) = self.type_from_syn(&i.self_ty) else { continue };
                    for ii in &i.items {
                        if let syn::ImplItem::Fn(f) = ii
                            && let syn::ReturnType::Type(_, t) = &f.sig.output
                        {
                            let t = match &**t {
                                Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self") => {
                                    Ty::named(self_name.clone())
                                }
                                _ => types::strip_fallible(self.type_from_syn(t)),
                            };
                            if t != Ty::Unknown {
                                self.returns.insert(format!("{self_name}::{}", ident_str(&f.sig.ident)), t);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    // ---- lookups ----

    /// The local binding `name` refers to here, if it names one.
    pub fn local(&self, name: &str) -> Option<&Binding> {
        let mut locals_visible = true;
        for s in self.scopes.iter().rev() {
            if locals_visible && let Some(b) = s.locals.get(name) {
                return Some(b);
            }
            match s.kind {
                ScopeKind::Fn => locals_visible = false,
                ScopeKind::Module => return None,
                _ => {}
            }
        }
        None
    }

    /// Resolves a path as written in expression or type position to its fully qualified name. A
    /// single-segment path naming a local binding resolves to `None` (it is not an item).
    pub fn resolve_path(&self, path: &syn::Path) -> Option<QualifiedName> {
        let segs: Vec<String> = path.segments.iter().map(|s| ident_str(&s.ident)).collect();
        if segs.len() == 1 && self.local(&segs[0]).is_some() {
            return None;
        }
        self.resolve_segments(segs, path.leading_colon.is_some(), 0).map(|v| v.join("::"))
    }

    /// Resolves the callee of a call (`foo(..)`, `a::b(..)`, `<T>::f(..)` is not resolved).
    pub fn resolve_callee(&self, func: &Expr) -> Option<QualifiedName> {
        match func {
            Expr::Path(p) if p.qself.is_none() => self.resolve_path(&p.path),
            Expr::Paren(p) => self.resolve_callee(&p.expr),
            Expr::Group(g) => self.resolve_callee(&g.expr),
            _ => None,
        }
    }

    /// Resolves path segments (as strings) from the current scope.
    pub fn resolve_segments(&self, segs: Vec<String>, leading_colon: bool, depth: u8) -> Option<Vec<String>> {
        if depth & !NO_GLOBS > 8 || segs.is_empty() {
            return None;
        }
        if leading_colon {
            return Some(normalize(segs));
        }
        let first = segs[0].as_str();
        match first {
            "crate" => {
                let mut out = vec!["crate".to_string()];
                out.extend(segs.into_iter().skip(1));
                return Some(self.through_ancestor_import(out, depth));
            }
            "self" | "super" => {
                let mut base = self.module_path().to_vec();
                let mut rest = segs.into_iter().peekable();
                if rest.peek().is_some_and(|s| s == "self") {
                    rest.next();
                }
                while rest.peek().is_some_and(|s| s == "super") {
                    rest.next();
                    if base.len() > 1 {
                        base.pop();
                    }
                }
                base.extend(rest);
                return Some(self.through_ancestor_import(base, depth));
            }
            "Self" => {
                let name = self.self_ty()?.name()?.to_string();
                let mut out: Vec<String> = name.split("::").map(str::to_string).collect();
                out.extend(segs.into_iter().skip(1));
                return Some(out);
            }
            _ => {}
        }
        if let Some(mut base) = self.lookup_name(first, depth) {
            base.extend(segs.into_iter().skip(1));
            return Some(base);
        }
        if let Some(p) = types::prelude(first) {
            let mut out: Vec<String> = p.split("::").map(str::to_string).collect();
            out.extend(segs.into_iter().skip(1));
            return Some(out);
        }
        Some(normalize(segs))
    }

    /// The fully qualified path a single name refers to through imports, items and known globs.
    fn lookup_name(&self, name: &str, depth: u8) -> Option<Vec<String>> {
        for s in self.scopes.iter().rev() {
            if let Some(imp) = s.imports.get(name) {
                return self.resolve_import(name, imp, depth);
            }
            if s.items.contains(name) {
                let mut p = self.modules[s.module].clone();
                p.push(name.to_string());
                return Some(p);
            }
            if s.kind == ScopeKind::Module {
                break;
            }
        }
        if depth & NO_GLOBS != 0 {
            return None;
        }
        for s in self.scopes.iter().rev() {
            for (glob, lc) in &s.globs {
                if let Some(found) = self.lookup_in_glob(glob, *lc, name, depth) {
                    return Some(found);
                }
            }
            if s.kind == ScopeKind::Module {
                break;
            }
        }
        None
    }

    fn resolve_import(&self, name: &str, imp: &Import, depth: u8) -> Option<Vec<String>> {
        if imp.leading_colon || imp.target.first().is_some_and(|f| f == name) {
            return Some(normalize(imp.target.clone()));
        }
        self.resolve_segments(imp.target.clone(), false, depth + 1)
    }

    /// `crate::m::Name…` where `crate::m` is a module of this file enclosing the current scope and `Name` is
    /// imported there (`use std::process::Command;` at the top, `use super::Command;` in an inline module):
    /// the import's target. Otherwise the path as is.
    fn through_ancestor_import(&self, path: Vec<String>, depth: u8) -> Vec<String> {
        for k in (1..path.len()).rev() {
            let Some(idx) = self.modules.iter().position(|m| *m == path[..k]) else { continue };
            let Some(scope) = self.scopes.iter().find(|s| s.kind == ScopeKind::Module && s.module == idx) else {
                return path;
            };
            let Some(imp) = scope.imports.get(&path[k]) else { return path };
            let Some(mut out) = self.resolve_import(&path[k], imp, depth + 1) else { return path };
            out.extend(path[k + 1..].iter().cloned());
            return out;
        }
        path
    }

    fn lookup_in_glob(&self, glob: &[String], leading_colon: bool, name: &str, depth: u8) -> Option<Vec<String>> {
        // Globs resolving through globs: the search is exponential in the depth (files with many `use …::*`
        // took minutes); three levels cover real code.
        if depth & !NO_GLOBS > 3 {
            return None;
        }
        // The module path of a glob resolves through explicit names only: a glob naming a module that another
        // glob brought in is rare, and allowing it makes every lookup try every glob of every glob.
        let module = self.resolve_segments(glob.to_vec(), leading_colon, (depth + 1) | NO_GLOBS)?;
        if module.first().is_some_and(|f| f == "crate") {
            // A module of this file that is on the scope stack (an ancestor): look at its own names.
            let idx = self.modules.iter().position(|m| *m == module)?;
            let scope = self.scopes.iter().find(|s| s.kind == ScopeKind::Module && s.module == idx)?;
            if let Some(imp) = scope.imports.get(name) {
                return self.resolve_import(name, imp, depth + 1);
            }
            if scope.items.contains(name) {
                let mut p = module;
                p.push(name.to_string());
                return Some(p);
            }
            return None;
        }
        let joined = module.join("::");
        if types::glob_member(&joined, name) {
            let mut p = module;
            p.push(name.to_string());
            return Some(p);
        }
        None
    }

    // ---- types ----

    /// The type a `syn::Type` denotes (smart pointers and references seen through).
    pub fn type_from_syn(&self, t: &Type) -> Ty {
        match t {
            Type::Path(p) if p.qself.is_none() => {
                if let Some(id) = p.path.get_ident()
                    && id != "Self"
                {
                    // A bare name that names nothing visible here: a generic parameter, or a type from a glob
                    // or another file. Not evidence of anything.
                    let n = ident_str(id);
                    if self.lookup_name(&n, 0).is_none() && types::prelude(&n).is_none() {
                        return Ty::Unknown;
                    }
                }
                let Some(name) = self.resolve_path_type(&p.path) else { return Ty::Unknown };
                let args: Vec<Ty> = match p.path.segments.last().map(|s| &s.arguments) {
                    Some(syn::PathArguments::AngleBracketed(a)) => a
                        .args
                        .iter()
                        .filter_map(|g| match g {
                            syn::GenericArgument::Type(t) => Some(self.type_from_syn(t)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                if types::is_transparent(&name) {
                    return args.into_iter().next().unwrap_or_default();
                }
                if name == "Self" {
                    return self.self_ty().cloned().unwrap_or_default();
                }
                if args.is_empty()
                    && let Some(t) = self.aliases.get(&name)
                {
                    return t.clone();
                }
                Ty::Named(name, args)
            }
            Type::Reference(r) => self.type_from_syn(&r.elem),
            Type::Paren(p) => self.type_from_syn(&p.elem),
            Type::Group(g) => self.type_from_syn(&g.elem),
            Type::Tuple(t) => Ty::Tuple(t.elems.iter().map(|e| self.type_from_syn(e)).collect()),
            _ => Ty::Unknown,
        }
    }

    fn resolve_path_type(&self, path: &syn::Path) -> Option<QualifiedName> {
        if path.is_ident("Self") {
            return self.self_ty().and_then(Ty::name).map(str::to_string);
        }
        let segs: Vec<String> = path.segments.iter().map(|s| ident_str(&s.ident)).collect();
        self.resolve_segments(segs, path.leading_colon.is_some(), 0).map(|v| v.join("::"))
    }

    /// The type of a field `name` of a struct `ty` declared in this file.
    pub fn field_type(&self, ty: &Ty, name: &str) -> Option<&Ty> {
        let n = ty.deref_guards().name()?;
        self.structs.get(n)?.get(name)
    }

    /// The declared return type (with `Result`/`Option` stripped) of a function or method declared in this
    /// file, by qualified name (`crate::m::f`, `crate::m::Type::method`).
    pub fn declared_return(&self, qualified: &str) -> Option<&Ty> {
        self.returns.get(qualified)
    }

    /// The type facts of this file the crate phase joins across files: struct fields, declared returns, type
    /// aliases (empty unless types are tracked).
    pub fn type_facts(&self) -> crate::rust::callgraph::TypeFacts {
        let mut fields: Vec<(String, String, Ty)> = self
            .structs
            .iter()
            .flat_map(|(s, fs)| fs.iter().map(move |(f, t)| (s.clone(), f.clone(), t.clone())))
            .collect();
        fields.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let mut returns: Vec<(String, Ty)> = self.returns.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        returns.sort_by(|a, b| a.0.cmp(&b.0));
        let mut aliases: Vec<(String, Ty)> = self.aliases.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        aliases.sort_by(|a, b| a.0.cmp(&b.0));
        crate::rust::callgraph::TypeFacts { fields, returns, aliases }
    }

    /// The type an expression has, as far as local evidence tells. See [`Ty`].
    pub fn type_of(&self, e: &Expr) -> Ty {
        types::infer(self, e, 0)
    }
}

fn add_use_tree(scope: &mut Scope, tree: &UseTree, prefix: &mut Vec<String>, leading_colon: bool) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(ident_str(&p.ident));
            add_use_tree(scope, &p.tree, prefix, leading_colon);
            prefix.pop();
        }
        UseTree::Name(n) => {
            let name = ident_str(&n.ident);
            if name == "self" {
                if let Some(last) = prefix.last() {
                    scope.imports.insert(last.clone(), Import { target: prefix.clone(), leading_colon });
                }
            } else {
                let mut target = prefix.clone();
                target.push(name.clone());
                scope.imports.insert(name, Import { target, leading_colon });
            }
        }
        UseTree::Rename(r) => {
            let alias = ident_str(&r.rename);
            if alias == "_" {
                return;
            }
            let name = ident_str(&r.ident);
            let mut target = prefix.clone();
            if name != "self" {
                target.push(name);
            }
            if !target.is_empty() {
                scope.imports.insert(alias, Import { target, leading_colon });
            }
        }
        UseTree::Glob(_) => scope.globs.push((prefix.clone(), leading_colon)),
        UseTree::Group(g) => {
            for t in &g.items {
                add_use_tree(scope, t, prefix, leading_colon);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn module_paths_follow_the_file_layout() {
        let m = |p: &str| module_path_of(Path::new(p)).join("::");
        assert_eq!(m("src/lib.rs"), "crate");
        assert_eq!(m("src/main.rs"), "crate");
        assert_eq!(m("proj/src/a/b.rs"), "crate::a::b");
        assert_eq!(m("src/a/mod.rs"), "crate::a");
        assert_eq!(m("src/a.rs"), "crate::a");
        assert_eq!(m("src/bin/tool.rs"), "crate");
        assert_eq!(m("tests/it.rs"), "crate");
        assert_eq!(m("fixtures/rust/x.rs"), "crate");
        // Outside `src`, beside a `main.rs`: a module of that root (a build script's modules).
        let t = tempfile::TempDir::new().expect("tempdir");
        std::fs::write(t.path().join("main.rs"), "mod probe;\n").expect("write");
        let probe = t.path().join("probe.rs");
        assert_eq!(module_path_of(&probe).join("::"), "crate::probe");
        assert_eq!(module_path_of(&t.path().join("main.rs")).join("::"), "crate");
    }

    fn model_for(src: &str) -> SemanticModel {
        let file = syn::parse_file(src).unwrap();
        let mut m = SemanticModel::new(Path::new("src/net/client.rs"), true);
        m.push_module(None, &file.items);
        m
    }

    fn res(m: &SemanticModel, p: &str) -> Option<String> {
        m.resolve_path(&syn::parse_str::<syn::Path>(p).unwrap())
    }

    #[test]
    fn resolves_through_use_items() {
        let m = model_for(
            "use std::thread::sleep as nap; use std::{fs::{self, File}, sync::mpsc}; use tokio::time::sleep;
             use super::config; use self::inner::Thing; use ::reqwest::blocking; use core::time::Duration;
             use crossbeam::channel; mod inner {} fn local() {}",
        );
        assert_eq!(res(&m, "nap").as_deref(), Some("std::thread::sleep"));
        assert_eq!(res(&m, "sleep").as_deref(), Some("tokio::time::sleep"));
        assert_eq!(res(&m, "fs::read").as_deref(), Some("std::fs::read"));
        assert_eq!(res(&m, "File::open").as_deref(), Some("std::fs::File::open"));
        assert_eq!(res(&m, "mpsc::channel").as_deref(), Some("std::sync::mpsc::channel"));
        assert_eq!(res(&m, "config::load").as_deref(), Some("crate::net::config::load"));
        assert_eq!(res(&m, "Thing").as_deref(), Some("crate::net::client::inner::Thing"));
        assert_eq!(res(&m, "blocking::get").as_deref(), Some("reqwest::blocking::get"));
        assert_eq!(res(&m, "Duration").as_deref(), Some("std::time::Duration"));
        assert_eq!(res(&m, "channel::unbounded").as_deref(), Some("crossbeam_channel::unbounded"));
        assert_eq!(res(&m, "local").as_deref(), Some("crate::net::client::local"));
        assert_eq!(res(&m, "crate::x::y").as_deref(), Some("crate::x::y"));
        assert_eq!(res(&m, "drop").as_deref(), Some("std::mem::drop"));
        assert_eq!(res(&m, "std::thread::sleep").as_deref(), Some("std::thread::sleep"));
    }

    #[test]
    fn locals_shadow_imports_and_globs_resolve_when_known() {
        let mut m = model_for("use std::thread::*; use std::fs::read;");
        assert_eq!(res(&m, "sleep").as_deref(), Some("std::thread::sleep"));
        m.push_scope(ScopeKind::Block);
        m.bind_pat(&syn::parse_quote!(read), Ty::Unknown);
        assert_eq!(res(&m, "read"), None);
        m.pop_scope();
        assert_eq!(res(&m, "read").as_deref(), Some("std::fs::read"));
    }

    #[test]
    fn nested_modules_see_their_own_imports() {
        let file = syn::parse_file("use std::thread::sleep; mod t { use super::*; use tokio::fs; }").unwrap();
        let mut m = SemanticModel::new(Path::new("src/lib.rs"), true);
        m.push_module(None, &file.items);
        let Item::Mod(md) = &file.items[1] else { unreachable!() };
        m.push_module(Some(&md.ident), &md.content.as_ref().unwrap().1);
        assert_eq!(res(&m, "sleep").as_deref(), Some("std::thread::sleep"));
        assert_eq!(res(&m, "fs::read").as_deref(), Some("tokio::fs::read"));
        assert_eq!(m.module_path().join("::"), "crate::t");
    }
}

#[cfg(test)]
mod type_tests {
    use std::path::Path;

    use super::*;

    /// The type of the last expression statement of `body`, after binding the `let`s before it.
    fn ty(items: &str, body: &str) -> Ty {
        let file = syn::parse_file(items).unwrap();
        let mut m = SemanticModel::new(Path::new("src/lib.rs"), true);
        m.push_module(None, &file.items);
        let block: syn::Block = syn::parse_str(&format!("{{ {body} }}")).unwrap();
        m.push_block(&block.stmts);
        let mut last = Ty::Unknown;
        for s in &block.stmts {
            match s {
                Stmt::Local(l) => {
                    let t = l.init.as_ref().map(|i| m.type_of(&i.expr)).unwrap_or_default();
                    m.bind_pat(&l.pat, t);
                }
                Stmt::Expr(e, _) => last = m.type_of(e),
                _ => {}
            }
        }
        last
    }

    #[test]
    fn constructors_chains_tuples_fields_and_annotations() {
        let uses = "use std::fs::File; use std::sync::{mpsc, Arc, Mutex}; use std::process::Command;
                    struct S { rx: Arc<Mutex<mpsc::Receiver<u8>>>, log: File }
                    fn open_log() -> std::io::Result<File> { todo!() }";
        assert_eq!(ty(uses, "File::open(p)?"), Ty::named("std::fs::File"));
        assert_eq!(ty(uses, "let f = File::open(p).unwrap(); f"), Ty::named("std::fs::File"));
        assert_eq!(ty(uses, "let (tx, rx) = mpsc::channel::<u8>(); rx"), Ty::named("std::sync::mpsc::Receiver"));
        assert_eq!(ty(uses, "let (tx, rx) = mpsc::channel::<u8>(); tx"), Ty::named("std::sync::mpsc::Sender"));
        assert_eq!(ty(uses, "Command::new(\"ls\").arg(\"-l\").spawn()?"), Ty::named("std::process::Child"));
        assert_eq!(ty(uses, "let s = S { rx, log }; s.log"), Ty::named("std::fs::File"));
        assert!(ty(uses, "let s: S = make(); s.rx.lock().unwrap()").is("std::sync::mpsc::Receiver"));
        assert_eq!(ty(uses, "open_log()?"), Ty::named("std::fs::File"));
        assert_eq!(
            ty(uses, "let v: Arc<Mutex<File>> = x; v"),
            Ty::Named("std::sync::Mutex".into(), vec![Ty::named("std::fs::File")])
        );
        assert_eq!(ty(uses, "let f = File::open(p)?; let f = Vec::<u8>::new(); f"), Ty::named("std::vec::Vec"));
        assert_eq!(ty(uses, "unknown_fn()"), Ty::Unknown);
        assert_eq!(ty(uses, "let t: T = x; t"), Ty::Unknown, "a bare unknown name is no evidence");
    }
}

#[cfg(test)]
mod glob_tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn many_unknown_globs_resolve_in_bounded_time() {
        // 40 globs of unknown modules: each lookup of an unknown name tries every glob, whose path's first
        // segment is looked up again through every glob, …; the depth cap keeps this polynomial.
        let src: String = (0..40).map(|i| format!("use m{i}::*;\n")).collect();
        let file = syn::parse_file(&src).unwrap();
        let mut m = SemanticModel::new(Path::new("src/lib.rs"), true);
        m.push_module(None, &file.items);
        let p: syn::Path = syn::parse_str("unknown_name").unwrap();
        assert_eq!(m.resolve_path(&p).as_deref(), Some("unknown_name"));
    }
}
