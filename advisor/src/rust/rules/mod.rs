//! The Rust rules, one file each. To add a rule: write its file here with `declare_rule!` and a check function,
//! add it to [`RULES`], and add `fixtures/rust/<rule-name>.rs`.

use crate::registry::RuleMeta;

/// Every Rust rule.
pub static RULES: &[&RuleMeta] = &[];
