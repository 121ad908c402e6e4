//! CA411 `arc-of-non-sync`: `Arc<RefCell<_>>`, `Arc<Cell<_>>`, `Arc<Rc<_>>`.

use syn::visit::{self, Visit};
use syn::Expr;

use super::{CallSite, Checker, OnCall, OnItem, OnLocal, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports an `Arc` of a `RefCell`, `Cell` or `Rc`: in types (struct fields, signatures, type aliases,
    /// `let` annotations) and in constructors (`Arc::new(RefCell::new(x))`).
    ///
    /// ## Why is this bad?
    /// `Arc` exists to share a value between threads, but `Arc<T>` is `Send`/`Sync` only if `T` is `Sync`
    /// (and `Send`). `RefCell`, `Cell` and `Rc` are not `Sync`, so the `Arc` can never cross a thread: it
    /// pays for atomic reference counting while giving nothing an `Rc` would not — or it signals that the
    /// author meant to share mutable state across threads, which needs `Arc<Mutex<_>>`/`Arc<RwLock<_>>` or
    /// atomics.
    ///
    /// ## Known problems
    /// Types are matched by resolved path (`std::cell::RefCell`, `std::rc::Rc`); a same-named type from
    /// another crate is not reported.
    ///
    /// ## Example
    /// ```rust,ignore
    /// let state = Arc::new(RefCell::new(State::default()));
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let state = Arc::new(Mutex::new(State::default())); // shared across threads
    /// let state = Rc::new(RefCell::new(State::default())); // one thread only
    /// ```
    ///
    /// ## Runtime evidence
    /// None: the compiler rejects sending it to another thread; on one thread it costs atomic increments.
    pub static META = {
        code: "CA411",
        name: "arc-of-non-sync",
        severity: Warning,
        language: Rust,
        family: Locks,
        summary: "`Arc<RefCell<_>>`/`Arc<Cell<_>>`/`Arc<Rc<_>>`: the `Arc` cannot be shared across threads",
        equivalent: "clippy::arc_with_non_send_sync",
    };
}

/// The rule.
pub struct Rule;

/// Whether `source` can name one of the types [`non_sync_name`] knows (`Cell`, `RefCell`, `Rc`): without one,
/// neither this rule nor CA410 (`unsafe_sync_impl`, the same three field types) can fire in the file.
pub(crate) fn may_name_non_sync(source: &str) -> bool {
    source.contains("Cell") || source.contains("Rc")
}

fn non_sync_name(p: &str) -> Option<&'static str> {
    match p {
        "std::cell::RefCell" => Some("RefCell"),
        "std::cell::Cell" => Some("Cell"),
        "std::rc::Rc" => Some("Rc"),
        _ => None,
    }
}

fn report(cx: &mut Checker<'_>, span: Span, inner: &str) {
    let help = if inner == "Rc" {
        "use `Arc<T>` itself (an `Arc<Rc<T>>` adds a non-atomic count that cannot cross threads), or `Rc<T>` on one thread"
    } else {
        "use `Arc<Mutex<_>>`/`Arc<RwLock<_>>` (or atomics) to share across threads, or `Rc` if it stays on one thread"
    };
    let d = cx
        .diagnostic(&META, span, format!("`Arc<{inner}<_>>` is neither `Send` nor `Sync`: it cannot be shared across threads"))
        .with_help(help);
    cx.report(d);
}

struct TypeScan<'c, 'x> {
    cx: &'c Checker<'x>,
    found: Vec<(Span, &'static str)>,
}

impl<'a> Visit<'a> for TypeScan<'_, '_> {
    fn visit_type_path(&mut self, p: &'a syn::TypePath) {
        if p.qself.is_none()
            && self.cx.semantic().resolve_path(&p.path).as_deref() == Some("std::sync::Arc")
            && let Some(syn::PathArguments::AngleBracketed(a)) = p.path.segments.last().map(|s| &s.arguments)
            && let Some(syn::GenericArgument::Type(syn::Type::Path(inner))) = a.args.first()
            && inner.qself.is_none()
            && let Some(n) = self.cx.semantic().resolve_path(&inner.path).as_deref().and_then(non_sync_name)
        {
            self.found.push((Span::from_pm2(syn::spanned::Spanned::span(p)), n));
        }
        visit::visit_type_path(self, p);
    }
    fn visit_block(&mut self, _: &'a syn::Block) {}
}

fn scan_types(cx: &mut Checker<'_>, f: impl FnOnce(&mut TypeScan<'_, '_>)) {
    let found = {
        let mut s = TypeScan { cx, found: Vec::new() };
        f(&mut s);
        s.found
    };
    for (span, n) in found {
        report(cx, span, n);
    }
}

impl RustRule for Rule {
    type FileState = ();

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["Arc"]
    }

    /// The wrapped type is named in the file: `Cell`, `RefCell` or `Rc`.
    fn file_may_fire(&self, source: &str) -> bool {
        may_name_non_sync(source)
    }
}

impl OnCall for Rule {
    fn on_call(&self, cx: &mut Checker<'_>, _: &mut (), call: &CallSite<'_>) {
        if !call.is("std::sync::Arc::new") {
            return;
        }
        let Some(Expr::Call(inner)) = call.expr.args.first() else { return };
        let Some(path) = cx.semantic().resolve_callee(&inner.func) else { return };
        let Some((ty, ctor)) = path.rsplit_once("::") else { return };
        if !matches!(ctor, "new" | "default") {
            return;
        }
        if let Some(n) = non_sync_name(ty) {
            report(cx, call.span(), n);
        }
    }
}

impl OnItem for Rule {
    fn on_item(&self, cx: &mut Checker<'_>, _: &mut (), item: &syn::Item) {
        match item {
            syn::Item::Struct(s) => scan_types(cx, |v| v.visit_fields(&s.fields)),
            syn::Item::Enum(e) => scan_types(cx, |v| e.variants.iter().for_each(|x| v.visit_fields(&x.fields))),
            syn::Item::Type(t) => scan_types(cx, |v| v.visit_type(&t.ty)),
            syn::Item::Fn(f) => scan_types(cx, |v| v.visit_signature(&f.sig)),
            syn::Item::Impl(i) => scan_types(cx, |v| {
                for ii in &i.items {
                    if let syn::ImplItem::Fn(f) = ii {
                        v.visit_signature(&f.sig);
                    }
                }
            }),
            _ => {}
        }
    }
}

impl OnLocal for Rule {
    fn on_local(&self, cx: &mut Checker<'_>, _: &mut (), local: &syn::Local) {
        if let syn::Pat::Type(pt) = &local.pat {
            scan_types(cx, |v| v.visit_type(&pt.ty));
        }
    }
}
