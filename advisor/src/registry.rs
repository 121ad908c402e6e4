//! Every rule's identity and documentation ([`RuleMeta`]), the typed rule set ([`Rule`], [`RuleSet`]), the one
//! code table ([`all`]), and lookup by code, name or code prefix ([`select`]).
//!
//! A rule is declared once, in its own file, with [`declare_rule!`](crate::declare_rule): its doc comment *is*
//! the text `conc-advisor explain` prints, and its properties (family, what it takes from the call graph,
//! whether it can fire outside async code) are declared there, never inferred from its code. Each language
//! lists its rules once with [`rule_list!`](crate::rule_list) (one line per rule); that list makes the
//! language's part of [`Rule`]. Codes are stable and never reused:
//!
//! | family ([`Family`]) | what |
//! |--------|------|
//! | `CA0xx` ([`Tool`](Family::Tool)) | the tool itself (syntax errors, unknown suppressions) |
//! | `CA1xx` ([`Blocking`](Family::Blocking)) | Rust: blocking the async executor |
//! | `CA2xx` ([`ExecutorLoad`](Family::ExecutorLoad)) | Rust: CPU-heavy work in the wrong place (executor load) |
//! | `CA3xx` ([`Threads`](Family::Threads)) | Rust: threads and pools (oversubscription) |
//! | `CA4xx` ([`Locks`](Family::Locks)) | Rust: locks, guards and shared mutable state |
//! | `CA5xx` ([`Python`](Family::Python)) | Python: threads, processes and asyncio |

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

/// What a rule is about: the hundreds of its code, declared with the rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `CA0xx`: the tool's own diagnostics.
    Tool,
    /// `CA1xx`: blocking the async executor (Rust).
    Blocking,
    /// `CA2xx`: CPU-heavy work in the wrong place (Rust).
    ExecutorLoad,
    /// `CA3xx`: threads and pools (Rust).
    Threads,
    /// `CA4xx`: locks, guards and shared mutable state (Rust).
    Locks,
    /// `CA5xx`: threads, processes and asyncio (Python).
    Python,
}

/// What a Rust rule takes from the crate-wide call graph (`rust::callgraph`), declared with the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallGraph {
    /// Nothing: the rule judges each file alone.
    None,
    /// Blocking chains: the rule's blocking calls in sync functions go into their callers' summaries
    /// ([`Checker::report_on_executor`](crate::rust::rules::Checker::report_on_executor)), its hooks see every
    /// function where the graph is needed, and chains from async code to them are reported.
    Blocking,
    /// Chains and CPU-heavy summaries: where the graph is needed, every sync function is visited and every loop
    /// judged once for the summaries the rule reads.
    Heavy,
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
    /// The rule's family (`family:`; Python and tool rules have theirs by language).
    #[serde(skip)]
    pub family: Family,
    /// What the rule takes from the crate-wide call graph (`call_graph:`, default [`CallGraph::None`]).
    #[serde(skip)]
    pub call_graph: CallGraph,
    /// Whether the rule can fire only in async code (`async_only: true`): then it is off in a crate without
    /// async code.
    #[serde(skip)]
    pub async_only: bool,
    /// The measured verdicts that confirm a finding of this rule at run time (`check --profile`), as its
    /// *Runtime evidence* section says: declared with `confirmed_by: [Verdict, …]`, else the family's
    /// (blocking: `blocks-executor`; executor load: `cpu-heavy-polls`; locks: `lock-serialized`; threads:
    /// `cpu-bound`, `oversubscribed`; others: none, so their findings are never confirmed).
    #[serde(skip)]
    pub confirmed_by: &'static [conc_report::classify::Verdict],
    /// Whether the rule runs unless selected by name (`default: off` in [`declare_rule!`](crate::declare_rule)
    /// makes it `false`). A rule off by default is run only when a selector names it exactly — its code or its
    /// name, in `select`, `extend-select`, `--select` or `--extend-select`; `ALL` and code prefixes (`CA4`) select
    /// only rules on by default (as ruff's preview rules under `explicit-preview-rules`, or Clippy's allow-by-default
    /// lints). Its documentation says why it is off (*Known problems*, with its measured precision).
    pub default_enabled: bool,
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
///     pub static META = {
///         code: "CA101", name: "blocking-sleep-in-async", severity: Warning, language: Rust,
///         family: Blocking, // Rust rules only: a `Family` variant
///         summary: "`std::thread::sleep` in async context blocks the executor thread",
///         equivalent: "clippy::…",  // optional
///         call_graph: Blocking,     // optional `CallGraph` variant (default `None`)
///         async_only: true,         // optional (default false)
///         confirmed_by: [CpuBound], // optional (default: the family's verdicts)
///         default: off,             // optional `on` | `off` (default on): off runs only when selected by name
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
            $(family: $family:ident,)?
            summary: $summary:literal
            $(, equivalent: $equiv:literal)?
            $(, call_graph: $graph:ident)?
            $(, async_only: $async_only:literal)?
            $(, confirmed_by: [$($verdict:ident),* $(,)?])?
            $(, default: $default:ident)?
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
            family: $crate::declare_rule!(@family $lang $($family)?),
            call_graph: $crate::declare_rule!(@graph $($graph)?),
            async_only: $crate::declare_rule!(@or false $($async_only)?),
            confirmed_by: $crate::declare_rule!(@confirms [$($($verdict),*)?] $lang $($family)?),
            default_enabled: $crate::declare_rule!(@default $($default)?),
        };
    };
    (@default) => { true };
    (@default on) => { true };
    (@default off) => { false };
    (@default $other:ident) => { compile_error!("`default:` is `on` or `off`") };
    (@confirms [$($verdict:ident),+] $($rest:ident)*) => { &[$(::conc_report::classify::Verdict::$verdict),+] };
    (@confirms [] Rust Blocking) => { &[::conc_report::classify::Verdict::BlocksExecutor] };
    (@confirms [] Rust ExecutorLoad) => { &[::conc_report::classify::Verdict::CpuHeavyPolls] };
    (@confirms [] Rust Locks) => { &[::conc_report::classify::Verdict::LockSerialized] };
    (@confirms [] Rust Threads) => {
        &[::conc_report::classify::Verdict::CpuBound, ::conc_report::classify::Verdict::Oversubscribed]
    };
    (@confirms [] $($rest:ident)*) => { &[] };
    (@equiv) => { None };
    (@equiv $e:literal) => { Some($e) };
    (@family $lang:ident $family:ident) => { $crate::registry::Family::$family };
    (@family Any) => { $crate::registry::Family::Tool };
    (@family Python) => { $crate::registry::Family::Python };
    (@family Rust) => { compile_error!("a Rust rule declares its `family:` (a `registry::Family` variant)") };
    (@graph) => { $crate::registry::CallGraph::None };
    (@graph $graph:ident) => { $crate::registry::CallGraph::$graph };
    (@or $default:tt) => { $default };
    (@or $default:tt $value:tt) => { $value };
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

    crate::rule_list! {
        /// The tool's own rules.
        ids:
        SyntaxError = SYNTAX_ERROR,
        UnknownSuppression = UNKNOWN_SUPPRESSION,
    }
}

/// Lists one language's rules, one line each, and makes from that list the language's `Id` enum (its part of
/// [`Rule`]), `RULES` (their [`RuleMeta`]s) and what the language runs:
///
/// - `rust: Variant = module, …` (in `rust/rules/mod.rs`): declares `pub mod module;` (a file with `META` and
///   `pub struct Rule` implementing [`RustRule`](crate::rust::rules::RustRule)) and `IMPLS`, the rules
///   registered for dispatch (their hooks found from the traits `Rule` implements);
/// - `ids: Variant = path::TO_META, …`: only the enum and `RULES` (the tool's own rules; the Python rules'
///   `python_rules!` list in `python/rules/mod.rs` uses it and adds their dispatch).
#[macro_export]
macro_rules! rule_list {
    ($(#[doc = $doc:literal])* rust: $($variant:ident = $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        $crate::rule_list! { $(#[doc = $doc])* ids: $($variant = $module::META),* }

        /// Every Rust rule, registered for dispatch, in the order of [`Id`].
        pub static IMPLS: &[&dyn $crate::rust::rules::DynRule] =
            &[$($crate::register_rust_rule!($module::Rule, $crate::registry::Rule::Rust(Id::$variant))),*];
    };
    ($(#[doc = $doc:literal])* ids: $($variant:ident = $meta:path),* $(,)?) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Id {
            $(#[doc = concat!("[`", stringify!($meta), "`]")] $variant),*
        }

        impl Id {
            /// Every rule of the list, in its order.
            pub const ALL: &'static [Id] = &[$(Id::$variant),*];

            /// The rule's identity and documentation.
            pub fn meta(self) -> &'static $crate::registry::RuleMeta {
                match self {
                    $(Id::$variant => &$meta),*
                }
            }
        }

        /// Every rule of the list (its [`RuleMeta`](crate::registry::RuleMeta)), in the order of [`Id`].
        pub static RULES: &[&$crate::registry::RuleMeta] = &[$(&$meta),*];
    };
}

/// Any rule: the tool's own (`CA0xx`), a Rust rule or a Python rule. Each language's list
/// ([`rule_list!`](crate::rule_list)) makes its variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// `CA0xx`.
    Tool(builtin::Id),
    /// A Rust rule.
    Rust(crate::rust::rules::Id),
    /// A Python rule.
    Python(crate::python::rules::Id),
}

impl Rule {
    const TOOL: usize = builtin::Id::ALL.len();
    const RUST: usize = crate::rust::rules::Id::ALL.len();
    /// How many rules there are.
    pub const COUNT: usize = Self::TOOL + Self::RUST + crate::python::rules::Id::ALL.len();

    /// The rule's identity and documentation.
    pub fn meta(self) -> &'static RuleMeta {
        match self {
            Rule::Tool(r) => r.meta(),
            Rule::Rust(r) => r.meta(),
            Rule::Python(r) => r.meta(),
        }
    }

    /// The rule's position among all rules (its bit in a [`RuleSet`]).
    pub const fn index(self) -> usize {
        match self {
            Rule::Tool(r) => r as usize,
            Rule::Rust(r) => Self::TOOL + r as usize,
            Rule::Python(r) => Self::TOOL + Self::RUST + r as usize,
        }
    }

    /// The rule at position `i` (see [`Rule::index`]).
    pub fn from_index(i: usize) -> Option<Rule> {
        if i < Self::TOOL {
            Some(Rule::Tool(builtin::Id::ALL[i]))
        } else if i < Self::TOOL + Self::RUST {
            Some(Rule::Rust(crate::rust::rules::Id::ALL[i - Self::TOOL]))
        } else {
            crate::python::rules::Id::ALL.get(i - Self::TOOL - Self::RUST).copied().map(Rule::Python)
        }
    }

    /// Every rule, in list order (tool, Rust, Python).
    pub fn iter() -> impl Iterator<Item = Rule> {
        (0..Self::COUNT).filter_map(Rule::from_index)
    }

    /// The rule whose identity `meta` is (by code).
    pub fn of(meta: &RuleMeta) -> Rule {
        Rule::from_code(meta.code).unwrap_or_else(|| panic!("{} is declared but not listed", meta.code))
    }

    /// The rule with this exact code (`CA101`).
    pub fn from_code(code: &str) -> Option<Rule> {
        static BY_CODE: std::sync::OnceLock<Vec<(&'static str, Rule)>> = std::sync::OnceLock::new();
        let table = BY_CODE.get_or_init(|| {
            let mut v: Vec<_> = Rule::iter().map(|r| (r.meta().code, r)).collect();
            v.sort_unstable_by_key(|&(code, _)| code);
            v
        });
        table.binary_search_by_key(&code, |&(c, _)| c).ok().map(|i| table[i].1)
    }
}

impl From<&RuleMeta> for Rule {
    fn from(meta: &RuleMeta) -> Rule {
        Rule::of(meta)
    }
}

/// A set of [`Rule`]s, one bit each: what `--select`/`--ignore` and the configuration enable.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RuleSet(u128);

const _: () = assert!(Rule::COUNT <= 128, "RuleSet holds 128 rules: widen it");

impl RuleSet {
    /// No rule.
    pub const EMPTY: RuleSet = RuleSet(0);

    /// Every rule, those off by default included.
    pub fn all() -> RuleSet {
        Rule::iter().collect()
    }

    /// The rules that run when nothing is selected: every rule but those declared `default: off`.
    pub fn defaults() -> RuleSet {
        Rule::iter().filter(|r| r.meta().default_enabled).collect()
    }

    /// Whether `rule` is in the set.
    pub fn contains(self, rule: Rule) -> bool {
        self.0 & 1 << rule.index() != 0
    }

    /// Adds `rule`.
    pub fn insert(&mut self, rule: Rule) {
        self.0 |= 1 << rule.index();
    }

    /// Removes `rule`.
    pub fn remove(&mut self, rule: Rule) {
        self.0 &= !(1 << rule.index());
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many rules the set holds.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The rules of the set, in list order.
    pub fn iter(self) -> impl Iterator<Item = Rule> {
        Rule::iter().filter(move |&r| self.contains(r))
    }
}

impl FromIterator<Rule> for RuleSet {
    fn from_iter<I: IntoIterator<Item = Rule>>(iter: I) -> Self {
        let mut s = RuleSet::EMPTY;
        s.extend(iter);
        s
    }
}

impl Extend<Rule> for RuleSet {
    fn extend<I: IntoIterator<Item = Rule>>(&mut self, iter: I) {
        for r in iter {
            self.insert(r);
        }
    }
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter().map(|r| r.meta().code)).finish()
    }
}

/// Every rule, in code order. The one code table: `rules`, `explain`, `--select` and SARIF read it.
pub fn all() -> &'static [&'static RuleMeta] {
    static ALL: std::sync::OnceLock<Vec<&'static RuleMeta>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<&'static RuleMeta> = Rule::iter().map(Rule::meta).collect();
        v.sort_by_key(|r| r.code);
        v
    })
}

/// Finds a rule by exact code (`CA101`) or name (`blocking-sleep-in-async`), both case-insensitive.
pub fn find(key: &str) -> Option<&'static RuleMeta> {
    all().iter().copied().find(|r| r.code.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
}

/// The rules a selector names: an exact code or name, a code prefix (`CA1`, `CA10`), or `ALL`, rules off by
/// default included (what `ignore`, `per-file-ignores` and severity keys act on).
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

/// The rules a selector turns on (`select`, `extend-select`, `--select`, `--extend-select`): those of
/// [`select`], except that a rule off by default ([`RuleMeta::default_enabled`]) is turned on only by its own
/// code or name, never by `ALL` or a code prefix. Returns an empty list when the selector names no rule, and
/// also when it names only rules off by default through a prefix (e.g. a prefix matching only such a rule).
pub fn select_to_enable(selector: &str) -> Vec<&'static RuleMeta> {
    if let Some(rule) = find(selector.trim()) {
        return vec![rule];
    }
    select(selector).into_iter().filter(|r| r.default_enabled).collect()
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

    #[test]
    fn rules_off_by_default() {
        // CA412 is off (issue 12: 86 % on the corpus, every true finding a deliberate racy cache).
        let ca412 = Rule::from_code("CA412").unwrap();
        assert!(!ca412.meta().default_enabled);
        assert!(!RuleSet::defaults().contains(ca412) && RuleSet::all().contains(ca412));
        assert!(RuleSet::defaults().contains(Rule::from_code("CA101").unwrap()));
        assert!(RuleSet::defaults().iter().all(|r| r.meta().default_enabled));
        // Only an exact code or name turns it on; `ALL` and prefixes select it for `ignore` and `[severity]`.
        assert_eq!(select_to_enable("CA412"), vec![ca412.meta()]);
        assert_eq!(select_to_enable("atomic-check-then-act"), vec![ca412.meta()]);
        for broad in ["ALL", "CA4", "CA41"] {
            assert!(select(broad).contains(&ca412.meta()), "{broad}");
            assert!(!select_to_enable(broad).contains(&ca412.meta()), "{broad}");
            assert!(!select_to_enable(broad).is_empty(), "{broad}");
        }
        assert_eq!(select_to_enable("ALL").len(), all().iter().filter(|r| r.default_enabled).count());
        // Every rule off by default says so, and why, in its documentation (with the measured precision).
        for r in all().iter().filter(|r| !r.default_enabled) {
            let known = r.doc.split("## Known problems").nth(1).unwrap_or_default();
            assert!(known.contains("Off by default") || known.contains("**Off by default**"), "{}", r.code);
            assert!(known.contains('%'), "{}: give the measured precision", r.code);
        }
    }

    #[test]
    fn every_rule_has_one_bit_and_is_found_by_its_code() {
        assert_eq!(Rule::iter().count(), Rule::COUNT);
        assert_eq!(RuleSet::all().len(), Rule::COUNT);
        for (i, r) in Rule::iter().enumerate() {
            assert_eq!(r.index(), i);
            assert_eq!(Rule::from_code(r.meta().code), Some(r));
            let mut s = RuleSet::EMPTY;
            s.insert(r);
            assert_eq!(s.iter().collect::<Vec<_>>(), vec![r]);
            s.remove(r);
            assert!(s.is_empty());
        }
        assert_eq!(Rule::from_code("CA999"), None);
    }

    #[test]
    fn families_match_the_code_table() {
        // The family is declared with each rule; the code's hundreds must agree with it.
        for r in Rule::iter() {
            let m = r.meta();
            let expected = match &m.code[..3] {
                "CA0" => Family::Tool,
                "CA1" => Family::Blocking,
                "CA2" => Family::ExecutorLoad,
                "CA3" => Family::Threads,
                "CA4" => Family::Locks,
                _ => Family::Python,
            };
            assert_eq!(m.family, expected, "{}", m.code);
            assert_eq!(m.language == Language::Python, matches!(r, Rule::Python(_)), "{}", m.code);
        }
    }
}

/// Serde for `&'static RuleMeta` fields (the cache, [`crate::cache`]): written as the rule's code, read back
/// through [`find`]; an unknown code is an error, so a cache entry naming a rule this build lacks is not trusted.
pub mod by_code {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::RuleMeta;

    /// Writes the rule's code.
    pub fn serialize<S: Serializer>(rule: &&'static RuleMeta, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rule.code)
    }

    /// Reads a code and finds its rule.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static RuleMeta, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::all()
            .iter()
            .copied()
            .find(|r| r.code == code)
            .ok_or_else(|| serde::de::Error::custom(format_args!("unknown rule code {code}")))
    }
}
