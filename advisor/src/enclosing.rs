//! Where a finding sits in its file: the items enclosing it, whether that is test code, and a fingerprint that
//! does not depend on line numbers.
//!
//! The engine calls [`annotate`] once a run's findings are known. It works from the findings' spans against the
//! item ranges of each file that has findings, collected once per file (its text parsed again: files with
//! findings are few, and the rules need to know nothing of it). With a cache, the per-file phase collects them
//! and the cache stores them with the findings ([`Items::encode`]), so an unchanged file is not parsed again
//! ([`annotate_with`]). A file that does not parse gets no items: its findings are placed at the top level, and
//! only its path can make it test code.
//!
//! # Test code
//!
//! - Rust: a file below a `tests/`, `benches/` or `examples/` directory, a file named `tests.rs` (by convention
//!   the body of `#[cfg(test)] mod tests;`), a file with `#![cfg(test)]`; an item under `#[cfg(test)]` (or a
//!   `cfg` that needs `test`, such as `all(test, unix)`); a function with a test attribute: `#[test]`,
//!   `#[bench]`, `#[rstest]`, `#[test_case(..)]`, `#[quickcheck]`, and any attribute whose last segment is
//!   `test` or ends in `_test` (`#[tokio::test]`, `#[async_std::test]`, `#[wasm_bindgen_test]`).
//! - Python: `test_*.py`, `*_test.py`, `conftest.py`, a file below a `tests/` or `test/` directory (the layout of
//!   CPython's own `Lib/test`); a function or method whose name is `test` or starts with `test_` or `testX`
//!   (unittest's `testSomething`), a class named `Test…` (pytest) or deriving from a `…TestCase`.
//!
//! Directories are judged on the path relative to the working directory when the file is below it (else on
//! the whole path), so a checkout under `/home/me/tests/` is not all test code when checked from inside.
//!
//! # Fingerprint
//!
//! [`Placement::local_hash`] hashes the rule code, the enclosing item, the finding's text on its first line
//! (from its start column to its end or the end of that line, runs of whitespace made one space) and its rank
//! among the findings of the file with the same three, in line order. Lines inserted or removed elsewhere,
//! and edits in other items, leave it unchanged. The hash is SipHash-1-3 with zero keys over length-prefixed
//! fields: the same on every platform and run.

use std::collections::HashMap;
use std::hash::Hasher;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use siphasher::sip::SipHasher13;
use syn::visit::{self, Visit};

use crate::diagnostic::{Diagnostic, Location, Placement, Severity, Span};
use crate::settings::TestCode;
use crate::walk::SourceKind;

/// One item of a file: a function, method, module, `impl`, trait, constant or static (Rust), a function or
/// class (Python).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// Its name as it appears in an item path (`it_works`, `<Pool as Drop>`, `TestPool`).
    pub name: String,
    /// From its first attribute or decorator (or keyword) to its end.
    pub span: Span,
    /// Whether the item itself marks test code (`#[cfg(test)]`, `#[test]`, `def test_x`, `class TestX`).
    pub test: bool,
}

/// The items of one file, in source order (an item before the items nested in it).
#[derive(Debug, Clone, Default)]
pub struct Items {
    items: Vec<Item>,
    /// Per item, the index of the innermost item before it that contains its start ([`Items::link`]).
    parents: Vec<Option<usize>>,
    /// `::` for Rust, `.` for Python.
    separator: &'static str,
    /// The whole file is test code (`#![cfg(test)]`).
    file_test: bool,
}

impl Items {
    /// The items of a file of `kind`; none when the file does not parse.
    pub fn of(kind: SourceKind, source: &str) -> Items {
        kind.items(source)
    }

    /// The path of the items enclosing `at` (outermost first, joined; empty at the top level) and whether
    /// any of them, or the file, marks test code.
    pub fn enclosing(&self, at: Location) -> (String, bool) {
        let mut names: Vec<&str> = Vec::new();
        let mut test = self.file_test;
        // The items containing `at` are the last item starting at or before it and the items it nests in
        // (issue 11: a scan of every item per finding was quadratic in a file with thousands of findings).
        let mut next = self.items.partition_point(|i| i.span.start <= at).checked_sub(1);
        while let Some(k) = next {
            let item = &self.items[k];
            if at < item.span.end {
                names.push(&item.name);
                test |= item.test;
            }
            next = self.parents.get(k).copied().flatten();
        }
        names.reverse();
        (names.join(self.separator), test)
    }

    /// Sorts the items by start and links each to the innermost earlier item containing its start (items nest:
    /// they are functions, classes, modules, `impl`s).
    fn link(mut self) -> Self {
        self.items.sort_by_key(|i| i.span.start);
        let mut open: Vec<usize> = Vec::new();
        self.parents = self
            .items
            .iter()
            .enumerate()
            .map(|(k, item)| {
                while open.last().is_some_and(|&o| self.items[o].span.end <= item.span.start) {
                    open.pop();
                }
                let parent = open.last().copied();
                open.push(k);
                parent
            })
            .collect();
        self
    }

    /// Every item, in source order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The items as the cache stores them with a file's findings (so that an unchanged file with findings is
    /// not parsed again to place them); [`Items::decode`] reads them back.
    pub fn encode(&self) -> Option<Vec<u8>> {
        serde_json::to_vec(&(self.separator == ".", self.file_test, &self.items)).ok()
    }

    /// Items written by [`Items::encode`]; `None` when `bytes` are not such.
    pub fn decode(bytes: &[u8]) -> Option<Items> {
        let (python, file_test, items): (bool, bool, Vec<Item>) = serde_json::from_slice(bytes).ok()?;
        let separator = if python { "." } else { "::" };
        Some(Items { items, parents: Vec::new(), separator, file_test }.link())
    }
}

/// Whether the path alone makes a file test code (see the module documentation).
pub fn path_is_test_code(path: &Path, kind: SourceKind) -> bool {
    let rel = crate::output::relative_to_cwd(path);
    let dirs: Vec<&str> = rel
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    kind.path_is_test_code(&dirs, name)
}

/// Places every finding (see [`Placement`]), then applies each file's `test-code` setting: `info` lowers a
/// finding in test code to info, `ignore` drops it. `diags` must be sorted by path (the engine's order);
/// `sources` holds the text of every file with findings; `test_code` gives a file's setting.
pub fn annotate(
    diags: &mut Vec<Diagnostic>,
    sources: &HashMap<PathBuf, Arc<str>>,
    test_code: &(dyn Fn(&Path) -> TestCode + Sync),
) {
    annotate_with(diags, sources, &HashMap::new(), test_code);
}

/// [`annotate`], with `known`: the items of the files whose items were collected already (from the cache, or
/// by the per-file phase); the other files with findings are parsed for theirs.
pub fn annotate_with(
    diags: &mut Vec<Diagnostic>,
    sources: &HashMap<PathBuf, Arc<str>>,
    known: &HashMap<PathBuf, Items>,
    test_code: &(dyn Fn(&Path) -> TestCode + Sync),
) {
    let groups: Vec<&mut [Diagnostic]> = diags.chunk_by_mut(|a, b| a.path == b.path).collect();
    let dropped: Vec<bool> = groups
        .into_par_iter()
        .map(|group| {
            let path = group[0].path.clone();
            place_file(group, sources.get(&path).map(|s| &**s), known.get(&path));
            match test_code(&path) {
                TestCode::Report => false,
                TestCode::Info => {
                    for d in group.iter_mut().filter(|d| d.in_test_code()) {
                        d.severity = Severity::Info;
                    }
                    false
                }
                TestCode::Ignore => group.iter().any(Diagnostic::in_test_code),
            }
        })
        .collect();
    if dropped.iter().any(|&d| d) {
        let mut paths = dropped.into_iter();
        let mut keep_tests = true;
        let mut last: Option<PathBuf> = None;
        diags.retain(|d| {
            if last.as_deref() != Some(d.path.as_path()) {
                keep_tests = !paths.next().unwrap_or(false);
                last = Some(d.path.clone());
            }
            keep_tests || !d.in_test_code()
        });
    }
}

/// Places the findings of one file (all with the same path, in line order), with the file's items when they are
/// known already (else its text is parsed for them).
pub fn place_file(group: &mut [Diagnostic], source: Option<&str>, known: Option<&Items>) {
    let Some(first) = group.first() else { return };
    let kind = SourceKind::of(&first.path);
    let path_test = kind.is_some_and(|k| path_is_test_code(&first.path, k));
    let source = source.unwrap_or_default();
    let parsed;
    let items = match (known, kind) {
        (Some(items), _) => items,
        (None, Some(k)) if !source.is_empty() => {
            parsed = Items::of(k, source);
            &parsed
        }
        _ => {
            parsed = Items::default();
            &parsed
        }
    };
    let lines = LineStarts::new(source);
    let mut ranks: HashMap<(&'static str, String, String), u32> = HashMap::new();
    for d in group.iter_mut() {
        let (item, item_test) = items.enclosing(d.span.start);
        let snippet = lines.snippet(source, d.span);
        let rank = ranks.entry((d.rule.code, item.clone(), snippet.clone())).or_insert(0);
        let mut h = SipHasher13::new();
        for field in [d.rule.code.as_bytes(), item.as_bytes(), snippet.as_bytes()] {
            h.write(&(field.len() as u64).to_le_bytes());
            h.write(field);
        }
        h.write(&rank.to_le_bytes());
        *rank += 1;
        d.placement = Some(Box::new(Placement { item, test_code: path_test || item_test, local_hash: h.finish() }));
    }
}

/// Byte offsets of line starts, to cut a finding's text out of its file.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(source: &str) -> Self {
        let mut v = vec![0];
        v.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(v)
    }

    /// The text of `span` on its first line, whitespace runs made one space, trimmed; the whole line's text
    /// when that is empty (a zero-width span).
    fn snippet(&self, source: &str, span: Span) -> String {
        let Some(&start) = self.0.get(span.start.line.wrapping_sub(1)) else { return String::new() };
        let end = self.0.get(span.start.line).copied().unwrap_or(source.len());
        let line = source.get(start..end).unwrap_or_default().trim_end_matches(['\n', '\r']);
        let from = span.start.column.saturating_sub(1);
        let text: String = if span.end.line == span.start.line {
            line.chars().skip(from).take(span.end.column.saturating_sub(span.start.column)).collect()
        } else {
            line.chars().skip(from).collect()
        };
        let text = if text.trim().is_empty() { line } else { &text };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The items of a Rust file, or none when it does not parse (or nests too deeply to parse safely).
pub fn rust_items(source: &str) -> Items {
    // Parsed on a stack sized for its nesting, as the analysis parses it (issue 11: a file just within the
    // limits overflowed here, on a worker's stack, once it had a finding).
    crate::rust::on_parse_stack(source, || rust_items_here(source))
        .unwrap_or_else(|| Items { separator: "::", ..Items::default() })
}

fn rust_items_here(source: &str) -> Items {
    let mut items = Items { separator: "::", ..Items::default() };
    let Ok(file) = syn::parse_file(source) else { return items };
    items.file_test = cfg_test(&file.attrs);
    let mut c = RustItems { items: Vec::new() };
    c.visit_file(&file);
    items.items = c.items;
    items.link()
}

struct RustItems {
    items: Vec<Item>,
}

fn loc(s: proc_macro2::Span) -> Location {
    let lc = s.start();
    Location::new(lc.line, lc.column + 1)
}

fn loc_end(s: proc_macro2::Span) -> Location {
    let lc = s.end();
    Location::new(lc.line, lc.column + 1)
}

impl RustItems {
    /// Records an item from its first attribute (or `keyword`) to `end`.
    fn push(&mut self, name: String, attrs: &[syn::Attribute], keyword: proc_macro2::Span, end: proc_macro2::Span) {
        self.push_fn(name, attrs, keyword, end, false);
    }

    fn push_fn(
        &mut self,
        name: String,
        attrs: &[syn::Attribute],
        keyword: proc_macro2::Span,
        end: proc_macro2::Span,
        is_fn: bool,
    ) {
        let start = attrs.first().map_or(loc(keyword), |a| loc(a.pound_token.span).min(loc(keyword)));
        let test = cfg_test(attrs) || (is_fn && attrs.iter().any(is_test_attribute));
        self.items.push(Item { name, span: Span::new(start, loc_end(end)), test });
    }
}

/// The span of a signature's first keyword (`const`, `async`, `unsafe`, `extern` or `fn`).
fn sig_start(sig: &syn::Signature) -> proc_macro2::Span {
    use syn::spanned::Spanned;
    sig.constness
        .map(|t| t.span)
        .or(sig.asyncness.map(|t| t.span))
        .or(sig.unsafety.map(|t| t.span))
        .or(sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or_else(|| sig.fn_token.span())
}

/// The last segment of a type's path (`Pool` for `crate::pool::Pool<T>`, `&Pool`), or `_`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map_or_else(|| "_".into(), |s| s.ident.to_string()),
        syn::Type::Reference(r) => type_name(&r.elem),
        syn::Type::Paren(p) => type_name(&p.elem),
        syn::Type::Group(g) => type_name(&g.elem),
        _ => "_".into(),
    }
}

impl<'ast> Visit<'ast> for RustItems {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        self.push_fn(i.sig.ident.to_string(), &i.attrs, sig_start(&i.sig), i.block.brace_token.span.close(), true);
        visit::visit_item_fn(self, i);
    }

    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        self.push_fn(i.sig.ident.to_string(), &i.attrs, sig_start(&i.sig), i.block.brace_token.span.close(), true);
        visit::visit_impl_item_fn(self, i);
    }

    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        let end = match (&i.default, &i.semi_token) {
            (Some(b), _) => b.brace_token.span.close(),
            (None, Some(s)) => s.span,
            (None, None) => i.sig.ident.span(),
        };
        self.push_fn(i.sig.ident.to_string(), &i.attrs, sig_start(&i.sig), end, true);
        visit::visit_trait_item_fn(self, i);
    }

    fn visit_item_mod(&mut self, i: &'ast syn::ItemMod) {
        if let Some((brace, _)) = &i.content {
            self.push(i.ident.to_string(), &i.attrs, i.mod_token.span, brace.span.close());
        }
        visit::visit_item_mod(self, i);
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let ty = type_name(&i.self_ty);
        let name = match &i.trait_ {
            Some((_, path, _)) => {
                let tr = path.segments.last().map_or_else(|| "_".into(), |s| s.ident.to_string());
                format!("<{ty} as {tr}>")
            }
            None => ty,
        };
        self.push(name, &i.attrs, i.impl_token.span, i.brace_token.span.close());
        visit::visit_item_impl(self, i);
    }

    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        self.push(i.ident.to_string(), &i.attrs, i.trait_token.span, i.brace_token.span.close());
        visit::visit_item_trait(self, i);
    }

    fn visit_item_const(&mut self, i: &'ast syn::ItemConst) {
        self.push(i.ident.to_string(), &i.attrs, i.const_token.span, i.semi_token.span);
        visit::visit_item_const(self, i);
    }

    fn visit_item_static(&mut self, i: &'ast syn::ItemStatic) {
        self.push(i.ident.to_string(), &i.attrs, i.static_token.span, i.semi_token.span);
        visit::visit_item_static(self, i);
    }
}

/// Whether the attributes hold a `cfg` that needs `test` (`#[cfg(test)]`, `#[cfg(all(test, unix))]`).
fn cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| a.path().is_ident("cfg") && a.parse_args::<syn::Meta>().is_ok_and(|m| needs_test(&m)))
}

/// Whether a `cfg` predicate can only hold in a test build.
fn needs_test(m: &syn::Meta) -> bool {
    match m {
        syn::Meta::Path(p) => p.is_ident("test"),
        syn::Meta::List(l) => {
            let Ok(args) =
                l.parse_args_with(syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
            else {
                return false;
            };
            if l.path.is_ident("all") {
                args.iter().any(needs_test)
            } else if l.path.is_ident("any") {
                !args.is_empty() && args.iter().all(needs_test)
            } else {
                false
            }
        }
        syn::Meta::NameValue(_) => false,
    }
}

/// Whether an attribute makes its function a test or benchmark.
fn is_test_attribute(a: &syn::Attribute) -> bool {
    let Some(last) = a.path().segments.last() else { return false };
    let name = last.ident.to_string();
    matches!(name.as_str(), "test" | "bench" | "rstest" | "test_case" | "quickcheck") || name.ends_with("_test")
}

/// The items of a Python file (functions and classes), or none when it does not parse.
pub fn python_items(source: &str) -> Items {
    use crate::python::ast::LineIndex;
    let mut items = Items { separator: ".", ..Items::default() };
    let arena = crate::python::parse::Arena::default();
    let Ok(parsed) = crate::python::parse::parse_in(source, &arena) else { return items };
    let module = parsed.module();
    let lines = LineIndex::new(source);
    python_walk(&module.body, &lines, &mut items.items);
    items.link()
}

fn python_walk(body: &[crate::python::ast::Stmt<'_>], lines: &crate::python::ast::LineIndex<'_>, out: &mut Vec<Item>) {
    use crate::python::ast::{ExprKind, StmtKind};
    for s in body {
        match &s.kind {
            StmtKind::FunctionDef(f) => {
                let n = f.name;
                let test = n == "test"
                    || n.starts_with("test_")
                    || n.strip_prefix("test").and_then(|r| r.chars().next()).is_some_and(char::is_uppercase);
                out.push(Item { name: n.to_string(), span: lines.span(s.range), test });
                python_walk(&f.body, lines, out);
            }
            StmtKind::ClassDef(c) => {
                let base_is_test_case = c.bases.iter().any(|b| match &b.kind {
                    ExprKind::Name(n) => n.ends_with("TestCase"),
                    ExprKind::Attribute { attr, .. } => attr.ends_with("TestCase"),
                    _ => false,
                });
                let test = c.name.starts_with("Test") || base_is_test_case;
                out.push(Item { name: c.name.to_string(), span: lines.span(s.range), test });
                python_walk(&c.body, lines, out);
            }
            StmtKind::For { body, orelse, .. }
            | StmtKind::While { body, orelse, .. }
            | StmtKind::If { body, orelse, .. } => {
                python_walk(body, lines, out);
                python_walk(orelse, lines, out);
            }
            StmtKind::With { body, .. } | StmtKind::Other { body, .. } => python_walk(body, lines, out),
            StmtKind::Try { body, handlers, orelse, finalbody } => {
                python_walk(body, lines, out);
                for h in handlers {
                    python_walk(h, lines, out);
                }
                python_walk(orelse, lines, out);
                python_walk(finalbody, lines, out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Location {
        Location::new(line, column)
    }

    #[test]
    fn rust_items_nest_and_mark_tests() {
        let src = "\
fn plain() {
    work();
}
#[cfg(test)]
mod tests {
    fn helper() {}
    #[tokio::test(flavor = \"multi_thread\")]
    async fn fetches() {
        std::fs::read(\"x\");
    }
}
impl Drop for crate::pool::Pool<u8> {
    fn drop(&mut self) {}
}
#[cfg(all(test, unix))]
fn unix_only() {}
#[cfg(any(test, feature = \"x\"))]
fn maybe() {}
#[cfg(not(test))]
fn never() {}
#[rstest]
fn cases() {}
";
        let items = rust_items(src);
        assert_eq!(items.enclosing(at(2, 5)), ("plain".into(), false));
        assert_eq!(items.enclosing(at(6, 5)), ("tests::helper".into(), true));
        assert_eq!(items.enclosing(at(9, 9)), ("tests::fetches".into(), true));
        // The attribute of a test function is inside it.
        assert_eq!(items.enclosing(at(7, 5)), ("tests::fetches".into(), true));
        assert_eq!(items.enclosing(at(13, 10)), ("<Pool as Drop>::drop".into(), false));
        assert_eq!(items.enclosing(at(16, 1)), ("unix_only".into(), true));
        assert_eq!(items.enclosing(at(18, 1)), ("maybe".into(), false), "any(test, x) also builds outside tests");
        assert_eq!(items.enclosing(at(20, 1)), ("never".into(), false));
        assert_eq!(items.enclosing(at(22, 1)), ("cases".into(), true));
        assert_eq!(items.enclosing(at(23, 1)), (String::new(), false), "past the last item");
    }

    #[test]
    fn a_file_with_inner_cfg_test_is_test_code_and_a_broken_one_has_no_items() {
        let items = rust_items("#![cfg(test)]\nfn f() {}\n");
        assert_eq!(items.enclosing(at(2, 4)), ("f".into(), true));
        let broken = rust_items("fn f( {}\n");
        assert!(broken.items().is_empty());
        assert_eq!(broken.enclosing(at(1, 1)), (String::new(), false));
    }

    #[test]
    fn python_items_nest_and_mark_tests() {
        let src = "\
import unittest

def work():
    pass

class TestPool:
    def helper(self):
        pass

class Cases(unittest.TestCase):
    def testRuns(self):
        pass

if True:
    def test_nested():
        pass

def testing_mode():
    pass
";
        let items = python_items(src);
        assert_eq!(items.enclosing(at(4, 5)), ("work".into(), false));
        assert_eq!(items.enclosing(at(8, 9)), ("TestPool.helper".into(), true));
        assert_eq!(items.enclosing(at(12, 9)), ("Cases.testRuns".into(), true));
        assert_eq!(items.enclosing(at(16, 9)), ("test_nested".into(), true));
        assert_eq!(items.enclosing(at(19, 5)), ("testing_mode".into(), false));
        assert_eq!(items.enclosing(at(1, 1)), (String::new(), false));
    }

    #[test]
    fn paths_that_are_test_code() {
        let rust = |p: &str| path_is_test_code(Path::new(p), SourceKind::of(Path::new("f.rs")).expect("rust"));
        let py = |p: &str| path_is_test_code(Path::new(p), SourceKind::of(Path::new("f.py")).expect("python"));
        assert!(rust("tests/it.rs") && rust("crate/benches/b.rs") && rust("examples/demo/main.rs"));
        assert!(rust("src/pool/tests.rs"));
        assert!(!rust("src/lib.rs") && !rust("src/testing.rs") && !rust("src/tests_util/x.rs"));
        assert!(py("tests/a.py") && py("Lib/test/test_os.py") && py("pkg/test_x.py") && py("pkg/x_test.py"));
        assert!(py("conftest.py"));
        assert!(!py("pkg/testing.py") && !py("pkg/contest.py") && !py("pkg/latest_test_data/a.txt.py"));
    }

    #[test]
    fn snippets_are_cut_on_the_first_line_and_normalised() {
        let src = "fn f() {\n    let x = std::fs::read(  \"a\" );\n    g(\n        1,\n    );\n}\n";
        let lines = LineStarts::new(src);
        let s = |a: (usize, usize), b: (usize, usize)| lines.snippet(src, Span::new(at(a.0, a.1), at(b.0, b.1)));
        assert_eq!(s((2, 13), (2, 34)), "std::fs::read( \"a\" )");
        assert_eq!(s((3, 5), (5, 6)), "g(");
        assert_eq!(s((3, 5), (3, 5)), "g(", "an empty span takes its line");
        assert_eq!(s((40, 1), (40, 2)), "", "a span past the end");
    }
}
