//! The Python rules, one file each (family `CA5xx`).

use crate::registry::RuleMeta;

/// Every Python rule.
pub static RULES: &[&RuleMeta] = &[];
