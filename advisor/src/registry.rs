//! Every rule's identity and documentation ([`RuleMeta`]), the one code table ([`all`]), and lookup by code,
//! name or code prefix ([`select`]).
//!
//! A rule is declared once, in its own file, with [`declare_rule!`](crate::declare_rule): its doc comment *is*
//! the text `conc-advisor explain` prints. Codes are stable and never reused:
//!
//! | family | what |
//! |--------|------|
//! | `CA0xx` | the tool itself (syntax errors, unknown suppressions) |
//! | `CA1xx` | Rust: blocking the async executor |
//! | `CA2xx` | Rust: CPU-heavy work in the wrong place (executor load) |
//! | `CA3xx` | Rust: threads and pools (oversubscription) |
//! | `CA4xx` | Rust: locks, guards and shared mutable state |
//! | `CA5xx` | Python: threads, processes and asyncio |

use serde::Serialize;

use crate::diagnostic::Severity;

/// The language a rule analyses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Applies to every language (the tool's own diagnostics).
    Any,
    /// Rust sources (`*.rs`).
    Rust,
    /// Python sources (`*.py`, `*.pyi`).
    Python,
}

/// A rule's identity and documentation. Declared with [`declare_rule!`](crate::declare_rule).
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable code, e.g. `CA101`.
    pub code: &'static str,
    /// Stable kebab-case name, e.g. `blocking-sleep-in-async`.
    pub name: &'static str,
    /// Severity unless configuration overrides it.
    pub severity: Severity,
    /// The language the rule analyses.
    pub language: Language,
    /// One line for `conc-advisor rules`.
    pub summary: &'static str,
    /// The full documentation (the rule's doc comment, Markdown), for `conc-advisor explain`.
    #[serde(skip)]
    pub doc: &'static str,
    /// The Clippy or ruff lint that overlaps this rule, if any (e.g. `clippy::await_holding_lock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equivalent: Option<&'static str>,
}

impl PartialEq for RuleMeta {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
    }
}
impl Eq for RuleMeta {}

/// Declares a rule: its doc comment becomes both rustdoc and the `explain` text.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub static BLOCKING_SLEEP = {
///         code: "CA101", name: "blocking-sleep-in-async", severity: Warning, language: Rust,
///         summary: "`std::thread::sleep` in async context blocks the executor thread",
///     };
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis static $ident:ident = {
            code: $code:literal,
            name: $name:literal,
            severity: $sev:ident,
            language: $lang:ident,
            summary: $summary:literal
            $(, equivalent: $equiv:literal)?
            $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        $vis static $ident: $crate::registry::RuleMeta = $crate::registry::RuleMeta {
            code: $code,
            name: $name,
            severity: $crate::diagnostic::Severity::$sev,
            language: $crate::registry::Language::$lang,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            equivalent: $crate::declare_rule!(@equiv $($equiv)?),
        };
    };
    (@equiv) => { None };
    (@equiv $e:literal) => { Some($e) };
}

pub mod builtin {
    //! The tool's own diagnostics (`CA0xx`): they exist in every language.

    declare_rule! {
        /// ## What it does
        /// Reports a file that could not be parsed, at the parser's error location.
        ///
        /// ## Why is this bad?
        /// A file that does not parse cannot be checked: none of its findings can be reported. The run goes
        /// on with the other files.
        ///
        /// ## Known problems
        /// A Rust file that no enabled rule can fire in and whose crate needs no call graph (no file of it holds
        /// `async`, `spawn`, … in its code) is only lexed, not parsed: unbalanced delimiters and unterminated
        /// literals are reported there, other syntax errors are left to `rustc`. Likewise, where no call graph
        /// is needed, the body of a sync function that holds none of the enabled rules' words is not parsed
        /// (its delimiters and literals are still checked). Everything the analysis needs is parsed.
        ///
        /// ## Example
        /// ```rust,ignore
        /// fn main( {
        /// ```
        pub static SYNTAX_ERROR = {
            code: "CA001",
            name: "syntax-error",
            severity: Error,
            language: Any,
            summary: "a file that does not parse cannot be checked",
        };
    }

    declare_rule! {
        /// ## What it does
        /// Reports a suppression comment (`conc-advisor: allow(...)`, `allow-file(...)`, `noqa: ...`) that names
        /// no known rule.
        ///
        /// ## Why is this bad?
        /// A misspelt suppression silences nothing, and the finding it was meant for still fires — or worse,
        /// the reader believes a rule is silenced when it is not.
        ///
        /// ## Example
        /// ```rust,ignore
        /// // conc-advisor: allow(blocking-slep)
        /// ```
        ///
        /// ## Use instead
        /// ```rust,ignore
        /// // conc-advisor: allow(blocking-sleep-in-async)
        /// ```
        pub static UNKNOWN_SUPPRESSION = {
            code: "CA002",
            name: "unknown-suppression",
            severity: Warning,
            language: Any,
            summary: "a suppression comment names a rule that does not exist",
        };
    }

    /// The tool's own rules.
    pub static RULES: &[&crate::registry::RuleMeta] = &[&SYNTAX_ERROR, &UNKNOWN_SUPPRESSION];
}

/// Every rule, in code order. The one code table: `rules`, `explain`, `--select` and SARIF read it.
pub fn all() -> &'static [&'static RuleMeta] {
    static ALL: std::sync::OnceLock<Vec<&'static RuleMeta>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<&'static RuleMeta> = builtin::RULES
            .iter()
            .chain(crate::rust::rules::RULES)
            .chain(crate::python::rules::RULES)
            .copied()
            .collect();
        v.sort_by_key(|r| r.code);
        v
    })
}

/// Finds a rule by exact code (`CA101`) or name (`blocking-sleep-in-async`), both case-insensitive.
pub fn find(key: &str) -> Option<&'static RuleMeta> {
    all().iter().copied().find(|r| r.code.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
}

/// The rules a selector names: an exact code or name, a code prefix (`CA1`, `CA10`), or `ALL`.
/// Returns an empty list when nothing matches.
pub fn select(selector: &str) -> Vec<&'static RuleMeta> {
    let s = selector.trim();
    if s.eq_ignore_ascii_case("ALL") {
        return all().to_vec();
    }
    if let Some(rule) = find(s) {
        return vec![rule];
    }
    let upper = s.to_ascii_uppercase();
    all().iter().copied().filter(|r| upper.starts_with("CA") && r.code.starts_with(&upper)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let mut codes = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        for r in all() {
            assert!(codes.insert(r.code), "duplicate code {}", r.code);
            assert!(names.insert(r.name), "duplicate name {}", r.name);
            assert!(r.code.len() == 5 && r.code.starts_with("CA"), "bad code {}", r.code);
            assert!(
                r.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "name {} is not kebab-case",
                r.name
            );
            assert!(r.doc.contains("## What it does"), "{} has no `## What it does`", r.code);
            assert!(r.doc.contains("## Why is this bad?"), "{} has no `## Why is this bad?`", r.code);
        }
    }

    #[test]
    fn selectors() {
        assert_eq!(select("CA001"), vec![&builtin::SYNTAX_ERROR]);
        assert_eq!(select("syntax-error"), vec![&builtin::SYNTAX_ERROR]);
        assert!(select("CA0").len() >= 2);
        assert!(select("CA0").iter().all(|r| r.code.starts_with("CA0")));
        assert!(select("nonsense").is_empty());
        assert_eq!(select("ALL").len(), all().len());
    }
}
