//! A large file visited item by item (issue 11: memory bounded by what is in flight). syn's tree takes about
//! 150 bytes per source byte; a file above [`THRESHOLD`] is cut at top-level item boundaries (found by the one
//! lexer, [`scan::Tokens`]) into chunks of about [`chunk_target`] bytes, and each chunk is parsed, visited and
//! dropped before the next, so the peak is one chunk's tree.
//!
//! Each chunk is parsed from a text of the same length as the file up to the chunk's end, whose earlier bytes
//! are blanked (spaces, newlines kept): lines, columns and byte offsets are those of a whole-file parse. The
//! file's scope (its `use`s and names, the return types and fields the semantic model reads) needs every
//! top-level item before the first is visited: a first pass parses each chunk and keeps only a skeleton of
//! its items ([`skeleton`]: signatures without bodies, `use`s, structs), a second pass visits the chunks with
//! one [`Checker`], so rule state and call-graph facts run across chunks as across items. Anything the chunked
//! path does not handle (a chunk that does not parse, a cut that is not between items, a blanked body that is
//! not a sync function's) makes the caller parse the whole file as before: the results are the same either
//! way (the test `chunked_visits_equal_whole_file_visits` runs every fixture both ways).

use std::ops::Range;
use std::path::Path;

use super::checker::Checker;
use super::scan::{Kind, Tokens};
use super::{callgraph, rules};
use crate::diagnostic::Diagnostic;
use crate::settings::Settings;

/// Files longer than this (bytes) are visited in chunks.
pub(crate) const THRESHOLD: usize = 1 << 20;

/// The size chunks are cut at for a text of `len` bytes: at least [`THRESHOLD`], and at most about 32 chunks
/// (each chunk's parse reads a text as long as the file up to its end).
pub(crate) fn chunk_target(len: usize) -> usize {
    THRESHOLD.max(len / 32)
}

/// The keywords an item can start with after its attributes and doc comments (contextual ones included).
const ITEM_START: &[&[u8]] = &[
    b"pub",
    b"fn",
    b"async",
    b"const",
    b"unsafe",
    b"extern",
    b"impl",
    b"struct",
    b"enum",
    b"union",
    b"trait",
    b"type",
    b"mod",
    b"use",
    b"static",
    b"macro_rules",
    b"default",
    b"auto",
];

/// The start of the content `syn::parse_file` parses: after a byte order mark and a shebang line, which it
/// strips; every chunk's text keeps these bytes verbatim so that it strips them the same way.
fn head_len(text: &str) -> usize {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let rest = &text[bom..];
    if rest.starts_with("#!") && !rest[2..].trim_start().starts_with('[') {
        return bom + rest.find('\n').unwrap_or(rest.len());
    }
    bom
}

/// The chunks of `text` (consecutive ranges covering it) cut at least `target` bytes apart, each cut at the
/// start of a line that begins a top-level item right after the line where the previous one ended. `None`
/// when the text gives fewer than two chunks or the lexer cannot read it whole.
pub(crate) fn bounds(text: &str, target: usize) -> Option<Vec<Range<usize>>> {
    let b = text.as_bytes();
    let head = head_len(text);
    let mut tokens = Tokens::with_comments(b);
    let mut depth = 0usize;
    let mut start = 0;
    let mut out = Vec::new();
    // The end of the token that closed a top-level item, until the next token is seen.
    let mut closed: Option<usize> = None;
    // The start of the line after that token, when the next token is on a later line: a cut there is made
    // if the next code token (after comments, which belong to the item that follows) starts an item.
    let mut pending: Option<usize> = None;
    for (kind, range) in tokens.by_ref() {
        if let Some(end) = closed.take()
            && let Some(nl) = b[end..range.start].iter().position(|&c| c == b'\n')
        {
            pending = Some(end + nl + 1);
        }
        if kind == Kind::Comment {
            continue;
        }
        if let Some(cut) = pending.take() {
            let starts_item = match kind {
                Kind::Punct(b'#') => true,
                Kind::Ident => ITEM_START.contains(&&b[range.clone()]) || next_is_bang(b, range.end),
                _ => false,
            };
            if starts_item && cut > head && cut - start >= target {
                out.push(start..cut);
                start = cut;
            }
        }
        match kind {
            Kind::Open(_) => depth += 1,
            Kind::Close(c) => {
                depth = depth.checked_sub(1)?;
                // A `}` ends an item; a `]` at depth 0 ends an attribute, a `)` a tuple struct's fields.
                if depth == 0 && c == b'}' {
                    closed = Some(range.end);
                }
            }
            Kind::Punct(b';') if depth == 0 => closed = Some(range.end),
            _ => {}
        }
    }
    if !tokens.complete() || depth != 0 || out.is_empty() {
        return None;
    }
    out.push(start..text.len());
    Some(out)
}

/// Whether the first non-blank byte at or after `i` is `!` (a macro invocation `name! …`).
fn next_is_bang(b: &[u8], i: usize) -> bool {
    b[i..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'!')
}

/// The text syn parses for `chunk` of `text`: the head ([`head_len`]) verbatim, the rest before the chunk
/// blanked to spaces and newlines, then the chunk. Same length, lines and columns as `text` up to its end.
fn chunk_text(text: &str, head: usize, chunk: &Range<usize>) -> String {
    if chunk.start == 0 {
        return text[..chunk.end].to_string();
    }
    let mut s = String::with_capacity(chunk.end);
    s.push_str(&text[..head]);
    s.extend(text.as_bytes()[head..chunk.start].iter().map(|&c| if c == b'\n' { '\n' } else { ' ' }));
    s.push_str(&text[chunk.clone()]);
    s
}

fn parse_chunk(text: &str, head: usize, chunk: &Range<usize>) -> Option<syn::File> {
    let t = chunk_text(text, head, chunk);
    syn::parse_file(&t).ok()
}

/// What the semantic model reads of a top-level item when it enters the file's scope
/// (`SemanticModel::push_module`): names, `use`s, struct fields, signatures; no function body, no expression.
fn skeleton(item: &syn::Item) -> Option<syn::Item> {
    use syn::Item;
    let zero = || -> Box<syn::Expr> { Box::new(syn::parse_quote!(0)) };
    Some(match item {
        Item::Use(_) | Item::ExternCrate(_) | Item::Struct(_) | Item::Union(_) | Item::Type(_) => item.clone(),
        Item::Fn(f) => Item::Fn(f.clone_sig()),
        Item::Impl(i) => {
            let items = i
                .items
                .iter()
                .filter_map(|ii| match ii {
                    syn::ImplItem::Fn(f) => Some(syn::ImplItem::Fn(syn::ImplItemFn {
                        attrs: Vec::new(),
                        vis: syn::Visibility::Inherited,
                        defaultness: None,
                        sig: f.sig.clone(),
                        block: syn::Block { brace_token: Default::default(), stmts: Vec::new() },
                    })),
                    _ => None,
                })
                .collect();
            let mut head = clone_impl_head(i);
            head.items = items;
            Item::Impl(head)
        }
        Item::Enum(e) => Item::Enum(syn::ItemEnum { attrs: Vec::new(), variants: Default::default(), ..e.clone() }),
        Item::Trait(t) => Item::Trait(syn::ItemTrait { attrs: Vec::new(), items: Vec::new(), ..t.clone() }),
        Item::Const(c) => Item::Const(syn::ItemConst { attrs: Vec::new(), expr: zero(), ..c.clone() }),
        Item::Static(s) => Item::Static(syn::ItemStatic { attrs: Vec::new(), expr: zero(), ..s.clone() }),
        Item::Mod(m) => Item::Mod(syn::ItemMod { attrs: Vec::new(), content: None, ..m.clone() }),
        _ => return None,
    })
}

/// An `impl` block's header (no items cloned).
fn clone_impl_head(i: &syn::ItemImpl) -> syn::ItemImpl {
    syn::ItemImpl {
        attrs: Vec::new(),
        defaultness: i.defaultness,
        unsafety: i.unsafety,
        impl_token: i.impl_token,
        generics: i.generics.clone(),
        trait_: i.trait_.clone(),
        self_ty: i.self_ty.clone(),
        brace_token: i.brace_token,
        items: Vec::new(),
    }
}

trait CloneSig {
    fn clone_sig(&self) -> syn::ItemFn;
}

impl CloneSig for syn::ItemFn {
    /// The function with its signature and an empty body (the body is never cloned).
    fn clone_sig(&self) -> syn::ItemFn {
        syn::ItemFn {
            attrs: Vec::new(),
            vis: self.vis.clone(),
            sig: self.sig.clone(),
            block: Box::new(syn::Block { brace_token: self.block.brace_token, stmts: Vec::new() }),
        }
    }
}

/// Visits `text` (the source, or the source with unneeded bodies blanked: `bodies`) in `chunks` with one
/// checker. `None` when a chunk does not parse or a blanked body is not a sync function's block (the caller
/// then parses the whole text).
pub(crate) fn visit(
    path: &Path,
    text: &str,
    bodies: Option<&[Range<usize>]>,
    chunks: &[Range<usize>],
    settings: &Settings,
    dispatch: &rules::Dispatch,
) -> Option<(Vec<Diagnostic>, callgraph::FileFacts)> {
    let head = head_len(text);
    let invalidate = proc_macro2::extra::invalidate_current_thread_spans;
    // First pass: the skeleton of every top-level item, for the file's scope.
    let mut items = Vec::new();
    for chunk in chunks {
        let Some(file) = parse_chunk(text, head, chunk) else {
            invalidate();
            return None;
        };
        if let Some(bodies) = bodies {
            let inside: Vec<_> = bodies.iter().filter(|b| chunk.contains(&b.start)).cloned().collect();
            if !super::only_sync_fn_bodies(&file, &inside) {
                invalidate();
                return None;
            }
        }
        items.extend(file.items.iter().filter_map(skeleton));
        drop(file);
        invalidate();
    }
    let mut checker = Checker::new(path, settings, dispatch);
    checker.begin_file(&items);
    drop(items);
    // Second pass: the visit, chunk by chunk. The texts parsed in the first pass parse again.
    for chunk in chunks {
        let file = parse_chunk(text, head, chunk)?;
        checker.visit_items(&file.items);
        drop(file);
        checker.between_chunks();
        invalidate();
    }
    Some(checker.finish_file())
}
