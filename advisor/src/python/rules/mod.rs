//! The Python rules, one file each (family `CA5xx`), and the interface they implement ([`PythonRule`]).
//!
//! # How the analysis runs
//! [`crate::python::analyze_with_facts`] parses a file once, builds its semantic model and summaries, and calls
//! [`PythonRule::check`] of every enabled rule with one [`Checker`]. When the run is a project (`check` over a
//! tree), each enabled rule may also gather per-file facts ([`PythonRule::facts`]); after every Python file is
//! analysed, the engine runs the link phase ([`crate::python::linker::link`]), which calls each rule's
//! [`PythonRule::link`] with every file's facts, the module index and the summaries joined across modules. The
//! engine decides when; the rule decides what: it builds its own findings and messages in its file.
//!
//! # How to add a rule
//! 1. Create `src/python/rules/<snake_name>.rs` with `declare_rule! { /// ## What it does … pub static META =
//!    { code: "CA5xx", name: "kebab-name", severity: Warning, language: Python, summary: "…" }; }` (the static
//!    must be called `META`; the doc comment is the `explain` text), and `pub struct Rule;` implementing
//!    [`PythonRule`] (`type Facts = ();` for a rule without a link step).
//! 2. Add `Variant = module_name` to the [`python_rules!`] list at the bottom of this file (that one list
//!    defines [`Id`] and [`RULES`] — the rule's place in [`crate::registry::Rule`] and the code table — the
//!    dispatch, and [`RuleFacts`]).
//! 3. Add `fixtures/python/<kebab-name>.py` with `# ~ kebab-name` markers on bad lines and unmarked good
//!    (tricky negative) cases.

use crate::diagnostic::Diagnostic;
use crate::registry::RuleMeta;

use super::Checker;
use super::linker::{FactsCx, Linker};

/// A rule's per-file facts for its link step.
pub trait LinkFacts:
    Default + Clone + std::fmt::Debug + Send + Sync + serde::Serialize + serde::de::DeserializeOwned
{
    /// The file holds sites or calls the link step starts from (the link phase runs only if some file does).
    fn starts_link(&self) -> bool {
        false
    }

    /// The link step may report in this file (its text is kept for snippets and suppressions).
    fn may_report(&self) -> bool {
        self.starts_link()
    }
}

impl LinkFacts for () {}

/// A Python rule: a per-file check, and optionally per-file facts and a project-level link step.
pub trait PythonRule: Sync {
    /// What [`PythonRule::facts`] gathers per file (`()` for a rule without a link step).
    type Facts: LinkFacts;

    /// The rule's identity.
    fn meta(&self) -> &'static RuleMeta;

    /// The per-file check: reports through [`Checker::report`].
    fn check(&self, cx: &mut Checker<'_, '_, '_>);

    /// The facts of one file the link step needs (called only where the rule is enabled).
    fn facts(&self, _cx: &FactsCx<'_, '_, '_, '_, '_>) -> Self::Facts {
        Self::Facts::default()
    }

    /// The link step, after every Python file of the run: `facts[i]` are this rule's facts of `p.files[i]`.
    /// Findings go to `out`; the engine applies each finding's file's settings and suppressions.
    fn link(&self, _p: &Linker<'_>, _facts: &[&Self::Facts], _out: &mut Vec<Diagnostic>) {}
}

/// Declares the Python rules, one line each (`Variant = module`): their modules, [`Id`] and [`RULES`] (through
/// [`rule_list!`](crate::rule_list), as for every language), the dispatch of [`run`], [`facts`] and [`link`], and
/// [`RuleFacts`] (one field per rule, named after its module).
macro_rules! python_rules {
    ($($variant:ident = $module:ident),* $(,)?) => {
        $(pub mod $module;)*

        crate::rule_list! {
            /// The Python rules (their part of [`crate::registry::Rule`]).
            ids: $($variant = $module::META),*
        }

        /// Every rule's per-file facts for the link phase.
        #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Default)]
        #[allow(clippy::struct_field_names)]
        pub struct RuleFacts {
            $(
                #[doc = concat!("The facts of [`", stringify!($module), "`].")]
                pub $module: <$module::Rule as PythonRule>::Facts,
            )*
        }

        impl RuleFacts {
            /// Some rule's link step starts from this file.
            pub fn starts_link(&self) -> bool {
                false $(|| self.$module.starts_link())*
            }

            /// Some rule's link step may report in this file.
            pub fn may_report(&self) -> bool {
                false $(|| self.$module.may_report())*
            }
        }

        /// Runs every enabled rule's per-file check.
        pub fn run(cx: &mut Checker<'_, '_, '_>) {
            $(
                if cx.settings.is_enabled(&$module::META) {
                    PythonRule::check(&$module::Rule, cx);
                }
            )*
        }

        /// Gathers every enabled rule's facts of one file.
        pub fn facts(fx: &FactsCx<'_, '_, '_, '_, '_>) -> RuleFacts {
            RuleFacts {
                $(
                    $module: if fx.cx.settings.is_enabled(&$module::META) {
                        PythonRule::facts(&$module::Rule, fx)
                    } else {
                        Default::default()
                    },
                )*
            }
        }

        /// Runs every rule's link step, in list order.
        pub fn link(p: &Linker<'_>, out: &mut Vec<Diagnostic>) {
            $(
                {
                    let facts: Vec<&<$module::Rule as PythonRule>::Facts> =
                        p.files.iter().map(|f| &f.rules.$module).collect();
                    PythonRule::link(&$module::Rule, p, &facts, out);
                }
            )*
        }

        /// Every rule's implementation's meta, in list order (for tests).
        #[cfg(test)]
        fn metas() -> Vec<&'static RuleMeta> {
            vec![$(PythonRule::meta(&$module::Rule)),*]
        }
    };
}

python_rules! {
    CpuBoundWorkOnThreads = cpu_bound_work_on_threads,
    IoBoundWorkOnProcesses = io_bound_work_on_processes,
    BlockingCallInAsyncDef = blocking_call_in_async_def,
    CpuLoopInAsyncDef = cpu_loop_in_async_def,
    UnlockedSharedStateInThreads = unlocked_shared_state_in_threads,
    OversizedOrPerCallPool = oversized_or_per_call_pool,
    MissingMainGuard = missing_main_guard,
    UnpicklableProcessTarget = unpicklable_process_target,
    ForkWithThreads = fork_with_threads,
    DanglingTaskOrNestedRun = dangling_task_or_nested_run,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_its_meta_and_docs() {
        let metas = metas();
        assert_eq!(RULES.len(), metas.len());
        for (r, m) in RULES.iter().zip(metas) {
            assert_eq!(r.code, m.code);
            assert_eq!(r.language, crate::registry::Language::Python);
            for section in
                ["## What it does", "## Why is this bad?", "## Known problems", "## Example", "## Use instead"]
            {
                assert!(r.doc.contains(section), "{} lacks {section}", r.code);
            }
        }
    }
}
