//! What the rules that report across functions and files share in their link steps
//! ([`RustRule::link`](super::RustRule::link)): the calls from async or `spawn_blocking` context that reach a
//! crate function, the notes for each step of a call chain, and notes that point into another file (a note's
//! span can only point into the finding's own file, so a place elsewhere is given as `path:line` text).
//! Used by the blocking family ([`super::blocking_chain`]), CA201, CA202, CA301 and CA404.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Span};
use crate::rust::callgraph::{CrateGraph, FileFacts, FnId, Site, SiteContext, Step};

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
