//! Rust analysis: parse a file once with `syn`, run one visit that dispatches to the enabled Rust rules, and
//! turn parse errors into `syntax-error` diagnostics.
//!
//! Layout: [`semantic`] (scopes, `use` resolution, binding types) and [`types`] (what is known about std and
//! common crates), [`context`] (is this code on the async executor?), [`macros`] (code inside macro
//! invocations), [`checker`] (the visitor and the API rules use), [`rules`] (one file per rule, the rule
//! interface and how to add one).

pub mod checker;
pub mod context;
pub(crate) mod macros;
pub mod rules;
pub mod semantic;
pub mod types;

use std::path::Path;

use crate::diagnostic::{Diagnostic, Location, Span};
use crate::registry::builtin::SYNTAX_ERROR;
use crate::settings::Settings;

/// Nesting (delimiters) or operator-chain length above which a file is analysed on a thread with a large stack:
/// syn's parser, its `Drop` and the visitor all recurse once per level.
const DEEP: (usize, usize) = (48, 300);
/// Above this the file is not parsed at all (no stack is safe); it gets a `syntax-error` finding instead.
const TOO_DEEP: (usize, usize) = (3_000, 60_000);
/// The stack of the big-stack thread (reserved, not committed).
const BIG_STACK: usize = 512 << 20;

/// Analyses one Rust file's text. Never panics; a file nested too deeply to parse safely is reported, not
/// parsed.
pub fn analyze(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let (depth, chain) = nesting(source.as_bytes());
    if depth > TOO_DEEP.0 || chain > TOO_DEEP.1 {
        let at = Span::new(Location::new(1, 1), Location::new(1, 1));
        let what = if depth > TOO_DEEP.0 {
            format!("{depth} levels of nested brackets")
        } else {
            format!("an expression of {chain} chained operators")
        };
        return vec![Diagnostic::new(
            &SYNTAX_ERROR,
            path,
            at,
            format!("cannot analyse: {what} is too deep to parse safely"),
        )];
    }
    if depth <= DEEP.0 && chain <= DEEP.1 {
        return analyze_here(path, source, settings);
    }
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("conc-advisor-deep".into())
            .stack_size(BIG_STACK)
            .spawn_scoped(s, || analyze_here(path, source, settings))
            .ok()
            .and_then(|h| h.join().ok())
    })
    .unwrap_or_else(|| {
        let at = Span::new(Location::new(1, 1), Location::new(1, 1));
        vec![Diagnostic::new(&SYNTAX_ERROR, path, at, "cannot analyse: the analysis of this file failed")]
    })
}

fn analyze_here(path: &Path, source: &str, settings: &Settings) -> Vec<Diagnostic> {
    let diags = match syn::parse_file(source) {
        Ok(file) => {
            let dispatch = rules::Dispatch::new(settings);
            if dispatch.any { checker::Checker::new(path, settings, &dispatch).run(&file) } else { Vec::new() }
        }
        Err(err) => vec![syntax_error(path, &err)],
    };
    // Spans index a thread-local source map that grows with every file parsed on this thread; without this,
    // offsets wrap after about 4 GiB of source on one thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    diags
}

fn syntax_error(path: &Path, err: &syn::Error) -> Diagnostic {
    Diagnostic::new(&SYNTAX_ERROR, path, Span::from_pm2(err.span()), format!("cannot parse: {err}"))
}

/// A cheap scan for how deep the syntax tree can get: the maximum bracket nesting, and the longest run of
/// operator characters between `,`, `;`, `{` and `}` (a left-deep chain such as `a + a + … + a`). Comments,
/// string and character literals are skipped.
fn nesting(b: &[u8]) -> (usize, usize) {
    let (mut depth, mut max_depth, mut run, mut max_run) = (0usize, 0usize, 0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
            b'(' | b'[' | b'{' => {
                depth += 1;
                max_depth = max_depth.max(depth);
                if b[i] == b'{' {
                    run = 0;
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if b[i] == b'}' {
                    run = 0;
                }
            }
            b',' | b';' => run = 0,
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'.' | b'<' | b'>' | b'=' | b'!' | b'?' => {
                run += 1;
                max_run = max_run.max(run);
            }
            _ => {}
        }
        i += 1;
    }
    (max_depth, max_run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_scan_skips_comments_and_strings() {
        assert_eq!(nesting(b"fn f() { g((1)) }"), (3, 0));
        assert_eq!(nesting(b"// ((((((\n\"((((\" '(' x"), (0, 0));
        assert_eq!(nesting(b"a + b + c; d"), (0, 2));
    }
}
