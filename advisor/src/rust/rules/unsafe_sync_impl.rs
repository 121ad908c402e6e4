//! CA410 `unsafe-sync-impl`: `unsafe impl Sync`/`Send` for a type holding unsynchronised interior
//! mutability (`Cell`, `RefCell`, `UnsafeCell`, `Rc`, raw pointers) and no lock or atomic.

use std::collections::HashMap;

use syn::visit::{self, Visit};

use super::{Checker, OnFileEnd, OnItem, RustRule};
use crate::declare_rule;
use crate::diagnostic::Span;

declare_rule! {
    /// ## What it does
    /// Reports `unsafe impl Sync for T` where the struct `T` (declared in this file) has a field of type
    /// `Cell`, `RefCell` or `Rc` (at any depth of its type, outside `PhantomData`), and `unsafe impl Send for
    /// T` where it holds an `Rc` — when no field of `T` is a lock, an atomic or a `Once`/`OnceCell`
    /// (`Lazy`-style types guard their `Cell` with one). Raw pointers and `UnsafeCell` are not reported: they
    /// are how correct synchronised types are built. The rule is `info`: on the bench corpus every remaining
    /// case was a deliberate single-owner design.
    ///
    /// ## Why is this bad?
    /// `Cell` and `RefCell` mutate through shared references without any synchronisation; `Rc` updates its
    /// reference count non-atomically. Declaring the containing type `Sync` (or, for `Rc`, `Send`) lets two
    /// threads do that at the same time: a data race, undefined behaviour that shows up as corrupted counts,
    /// double frees or use-after-free.
    ///
    /// ## Known problems
    /// Only structs declared in the same file as the `impl` are inspected. Synchronisation done outside the
    /// type (every access under an external lock) is not seen. Clippy's `non_send_fields_in_send_ty`
    /// (nursery) covers the `Send` half for generic fields.
    ///
    /// ## Example
    /// ```rust,ignore
    /// struct Stats { hits: Cell<u64> }
    /// unsafe impl Sync for Stats {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// struct Stats { hits: AtomicU64 } // Sync without `unsafe`
    /// ```
    ///
    /// ## Runtime evidence
    /// ThreadSanitizer reports data races on the field; counters come out wrong under load.
    pub static META = {
        code: "CA410",
        name: "unsafe-sync-impl",
        severity: Info,
        language: Rust,
        family: Locks,
        summary: "`unsafe impl Sync`/`Send` for a type with unsynchronised interior mutability",
    };
}

#[derive(Default, Clone)]
struct Fields {
    /// (field name, what is unsynchronised, span, strong): strong = Cell/RefCell/Rc, else a raw pointer or
    /// `UnsafeCell` (kept for the message, not reported).
    bad: Vec<(String, &'static str, Span, bool)>,
    has_rc: Option<(String, Span)>,
    synced: bool,
}

struct Impl {
    ty: String,
    trait_name: &'static str,
    span: Span,
}

#[derive(Default)]
pub struct State {
    structs: HashMap<String, Fields>,
    impls: Vec<Impl>,
}

/// The rule.
pub struct Rule;

#[derive(Default)]
struct TypeScan {
    cell: Option<&'static str>,
    raw: Option<&'static str>,
    rc: bool,
    synced: bool,
}

impl<'a> Visit<'a> for TypeScan {
    fn visit_type_path(&mut self, p: &'a syn::TypePath) {
        if let Some(last) = p.path.segments.last() {
            let n = last.ident.to_string();
            match n.as_str() {
                "Cell" => self.cell = Some("Cell"),
                "RefCell" => self.cell = Some("RefCell"),
                "Rc" => {
                    self.rc = true;
                    self.cell = self.cell.or(Some("Rc"));
                }
                "PhantomData" => return,
                "UnsafeCell" => self.raw = Some("UnsafeCell"),
                "NonNull" => self.raw = Some("NonNull"),
                "Mutex" | "RwLock" | "Condvar" | "OnceLock" | "Once" | "OnceCell" | "LazyLock" | "ReentrantMutex" => {
                    self.synced = true;
                }
                _ if n.starts_with("Atomic") => self.synced = true,
                _ => {}
            }
        }
        visit::visit_type_path(self, p);
    }

    fn visit_type_ptr(&mut self, p: &'a syn::TypePtr) {
        self.raw = Some("a raw pointer");
        visit::visit_type_ptr(self, p);
    }
}

fn scan_fields(fields: &syn::Fields) -> Fields {
    let mut out = Fields::default();
    for (i, f) in fields.iter().enumerate() {
        let name = f.ident.as_ref().map_or_else(|| i.to_string(), ToString::to_string);
        let mut s = TypeScan::default();
        s.visit_type(&f.ty);
        let span = Span::from_pm2(f.ident.as_ref().map_or_else(|| syn::spanned::Spanned::span(&f.ty), |id| id.span()));
        out.synced |= s.synced;
        if s.rc {
            out.has_rc = Some((name.clone(), span));
        }
        if let Some(c) = s.cell {
            out.bad.push((name, c, span, true));
        } else if let Some(r) = s.raw {
            out.bad.push((name, r, span, false));
        }
    }
    out
}

impl RustRule for Rule {
    type FileState = State;

    fn meta(&self) -> &'static crate::registry::RuleMeta {
        &META
    }

    fn prefilter(&self) -> &'static [&'static str] {
        &["unsafe impl"]
    }

    /// The struct is declared in this file with a `Cell`, `RefCell` or `Rc` field.
    fn file_may_fire(&self, source: &str) -> bool {
        super::arc_of_non_sync::may_name_non_sync(source)
    }
}

impl OnItem for Rule {
    fn on_item(&self, _cx: &mut Checker<'_>, st: &mut State, item: &syn::Item) {
        match item {
            syn::Item::Struct(s) => {
                st.structs.insert(s.ident.to_string(), scan_fields(&s.fields));
            }
            syn::Item::Impl(i) if i.unsafety.is_some() => {
                let Some((_, path, _)) = &i.trait_ else { return };
                let trait_name = match path.segments.last().map(|s| s.ident.to_string()).as_deref() {
                    Some("Sync") => "Sync",
                    Some("Send") => "Send",
                    _ => return,
                };
                let syn::Type::Path(tp) = &*i.self_ty else { return };
                let Some(last) = tp.path.segments.last() else { return };
                let start = Span::from_pm2(i.impl_token.span).start;
                let span = Span::new(start, Span::from_pm2(syn::spanned::Spanned::span(&i.self_ty)).end);
                let start = i.unsafety.map_or(start, |u| Span::from_pm2(u.span).start);
                st.impls.push(Impl {
                    ty: last.ident.to_string(),
                    trait_name,
                    span: Span::new(start, span.end),
                });
            }
            _ => {}
        }
    }
}

impl OnFileEnd for Rule {
    fn on_file_end(&self, cx: &mut Checker<'_>, st: &mut State) {
        for imp in &st.impls {
            let Some(fields) = st.structs.get(&imp.ty) else { continue };
            // Only `Cell`/`RefCell`/`Rc` count, and only in a struct with no lock, atomic or `Once` anywhere:
            // raw pointers and `UnsafeCell` are how sound synchronised types are built.
            if fields.synced {
                continue;
            }
            let found = if imp.trait_name == "Send" {
                fields.has_rc.as_ref().map(|(n, s)| (n.clone(), "Rc", *s))
            } else {
                fields.bad.iter().find(|b| b.3).map(|(n, w, s, _)| (n.clone(), *w, *s))
            };
            let Some((field, what, field_span)) = found else { continue };
            let d = cx
                .diagnostic(
                    &META,
                    imp.span,
                    format!(
                        "`{}` is declared `{}` but its field `{field}` holds {} without a lock or atomic",
                        imp.ty,
                        imp.trait_name,
                        if what.starts_with('a') { what.to_string() } else { format!("a `{what}`") }
                    ),
                )
                .with_help(match what {
                    "Cell" | "RefCell" => "use an atomic (`AtomicU64`, …) or a `Mutex`/`RwLock` for the field, and drop the `unsafe impl`",
                    "Rc" => "use `Arc` for the field, and drop the `unsafe impl`",
                    _ => "document the synchronisation that makes this sound (`// SAFETY: …`), or guard the field with a lock or atomics",
                })
                .with_note(format!("`{field}` is declared here"), Some(field_span));
            cx.report(d);
        }
    }
}
