//! The Python rules, one file each (family `CA5xx`). To add a rule: write its file here with `declare_rule!` and
//! a `check(&mut Checker)` function, list it in [`RULES`] and [`CHECKS`], and add
//! `fixtures/python/<rule-name>.py` with `# ~ rule-name` markers.

use crate::registry::RuleMeta;

use super::Checker;

pub mod blocking_call_in_async_def;
pub mod cpu_bound_work_on_threads;
pub mod cpu_loop_in_async_def;
pub mod dangling_task_or_nested_run;
pub mod fork_with_threads;
pub mod io_bound_work_on_processes;
pub mod missing_main_guard;
pub mod oversized_or_per_call_pool;
pub mod unlocked_shared_state_in_threads;
pub mod unpicklable_process_target;

/// Every Python rule.
pub static RULES: &[&RuleMeta] = &[
    &cpu_bound_work_on_threads::RULE,
    &io_bound_work_on_processes::RULE,
    &blocking_call_in_async_def::RULE,
    &cpu_loop_in_async_def::RULE,
    &unlocked_shared_state_in_threads::RULE,
    &oversized_or_per_call_pool::RULE,
    &missing_main_guard::RULE,
    &unpicklable_process_target::RULE,
    &fork_with_threads::RULE,
    &dangling_task_or_nested_run::RULE,
];

type Check = fn(&mut Checker<'_, '_, '_>);

/// Each rule with its check function.
static CHECKS: &[(&RuleMeta, Check)] = &[
    (&cpu_bound_work_on_threads::RULE, cpu_bound_work_on_threads::check),
    (&io_bound_work_on_processes::RULE, io_bound_work_on_processes::check),
    (&blocking_call_in_async_def::RULE, blocking_call_in_async_def::check),
    (&cpu_loop_in_async_def::RULE, cpu_loop_in_async_def::check),
    (&unlocked_shared_state_in_threads::RULE, unlocked_shared_state_in_threads::check),
    (&oversized_or_per_call_pool::RULE, oversized_or_per_call_pool::check),
    (&missing_main_guard::RULE, missing_main_guard::check),
    (&unpicklable_process_target::RULE, unpicklable_process_target::check),
    (&fork_with_threads::RULE, fork_with_threads::check),
    (&dangling_task_or_nested_run::RULE, dangling_task_or_nested_run::check),
];

/// Runs every enabled rule.
pub fn run(cx: &mut Checker<'_, '_, '_>) {
    for (rule, check) in CHECKS {
        if cx.settings.is_enabled(rule) {
            check(cx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_check_and_docs() {
        assert_eq!(RULES.len(), CHECKS.len());
        for (r, (c, _)) in RULES.iter().zip(CHECKS) {
            assert_eq!(r.code, c.code);
            assert_eq!(r.language, crate::registry::Language::Python);
            for section in
                ["## What it does", "## Why is this bad?", "## Known problems", "## Example", "## Use instead"]
            {
                assert!(r.doc.contains(section), "{} lacks {section}", r.code);
            }
        }
    }
}
