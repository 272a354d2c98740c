//! The suite (`ballot suite`): named configurations, each exhaustive within its bounds and
//! each there to exercise one class of behaviour; docs/raft.md has the table with figures.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite raft`, cheapest first.
pub const SUITE: &[SuiteEntry] = &[SuiteEntry {
    name: "default",
    args: &[],
    exercises: "the default check",
    budget_secs: 60,
}];
