//! What the rules that report across functions and files share in their link steps
//! ([`RustRule::link`](super::RustRule::link)): the calls from async or `spawn_blocking` context that reach a
//! crate function, the notes for each step of a call chain, and notes that point into another file (a note's
//! span can only point into the finding's own file, so a place elsewhere is given as `path:line` text).
//! Used by the blocking family ([`super::blocking_chain`]), CA201 and CA202 ([`link_heavy_calls`]), CA301 and
//! CA404.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::registry::RuleMeta;
use crate::rust::callgraph::{CrateGraph, FileFacts, FnId, Site, SiteContext, Step};
use crate::rust::link::LinkContext;

/// `path:line` of a span in a file, for notes that cannot point into another file.
pub(crate) fn at(path: &Path, span: Span) -> String {
    format!("{}:{}", path.display(), span.start.line)
}

/// `d` with a note at `span` of `file`: with the span when that file is the finding's (`finding`), else with
/// the place as `path:line` text appended to the message.
pub(crate) fn note_at(d: Diagnostic, finding: &Path, msg: String, file: &Path, span: Span) -> Diagnostic {
    if file == finding {
        d.with_note(msg, Some(span))
    } else {
        d.with_note(format!("{msg} ({})", at(file, span)), None)
    }
}

/// `d` with `notes` appended.
pub(crate) fn push_notes(mut d: Diagnostic, notes: Vec<(String, Option<Span>)>) -> Diagnostic {
    for (m, s) in notes {
        d = d.with_note(m, s);
    }
    d
}

/// Notes for each step of a chain ([`CrateGraph::chain`]), as seen from a finding in `site_file`: a note at
/// the call span when the step is in that file, else the location in the text. Returns the notes and the
/// backquoted names along the chain.
pub(crate) fn chain_notes(
    g: &CrateGraph<'_>,
    site_file: &Path,
    chain: &[(FnId, Option<Step>)],
) -> (Vec<(String, Option<Span>)>, Vec<String>) {
    let mut notes = Vec::new();
    let mut names = Vec::new();
    for (id, step) in chain {
        let f = g.fn_facts(*id);
        names.push(format!("`{}`", f.name));
        if let Some(step) = step {
            let callee = g.fn_facts(step.callee);
            let file = g.file_of(*id);
            let msg = format!("`{}` calls `{}` here", f.name, callee.name);
            if file == site_file {
                notes.push((msg, Some(step.span)));
            } else {
                notes.push((format!("{msg} ({})", at(file, step.span)), None));
            }
        }
    }
    (notes, names)
}

/// Each call from a site in `context` to a crate function, once for every function the call resolves to
/// (several for `#[cfg]` variants of one name): the site's file, the site, the callee.
pub(crate) fn site_calls<'a, 'f: 'a>(
    g: &'a CrateGraph<'f>,
    context: SiteContext,
) -> impl Iterator<Item = (&'f FileFacts, &'f Site, FnId)> + 'a {
    g.sites()
        .filter(move |(_, site, _)| site.context == context)
        .flat_map(|(file, site, ids)| ids.iter().map(move |&id| (file, site, id)))
}

/// `caller → a → b → …`: the site's caller followed by the names along the chain.
pub(crate) fn chain_text(site: &Site, names: &[String]) -> String {
    std::iter::once(site.caller.clone()).chain(names.iter().cloned()).collect::<Vec<_>>().join(" → ")
}

/// The link step CA201 and CA202 share: each call from a site in `context` to a crate function that is
/// CPU-heavy, itself or through its callees, reported as `rule` at the call with the chain, a note per step and
/// a note at the evidence. `where_` says where the work runs; `help` gets the callee's name.
pub(crate) fn link_heavy_calls(
    rule: &'static RuleMeta,
    context: SiteContext,
    where_: &str,
    g: &CrateGraph<'_>,
    cx: &mut LinkContext<'_>,
    help: impl Fn(&str) -> String,
) {
    for (file, site, id) in site_calls(g, context) {
        let Some(reach) = g.summary(id).and_then(|s| s.heavy.as_ref()) else { continue };
        let callee = g.fn_facts(id);
        let chain = g.chain(id, |s| s.heavy.as_ref());
        let (notes, names) = chain_notes(g, &file.path, &chain);
        let ev = &g.fn_facts(reach.end.0).heavy[reach.end.1];
        let msg = format!(
            "{} calls {}, which does CPU-heavy work {where_}: {} → {}",
            site.caller,
            names[0],
            chain_text(site, &names),
            ev.reason
        );
        let mut d = cx
            .diagnostic(rule, &file.path, site.span, msg)
            .with_help(help(&callee.name))
            .with_note(site.frame_note.0.clone(), Some(site.frame_note.1));
        d = push_notes(d, notes);
        let end_file = g.file_of(reach.end.0);
        d = if end_file == file.path {
            d.with_note(format!("CPU-heavy: {}", ev.reason), Some(ev.span))
        } else {
            d.with_note(format!("CPU-heavy: {} at {}", ev.reason, at(end_file, ev.span)), None)
        };
        cx.report(d);
    }
}
