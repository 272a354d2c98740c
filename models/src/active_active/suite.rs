//! The suite (`ballot suite active-active`). docs/active-active.md has the table with figures.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite active-active`.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "lost-update",
        args: &["--expect", "Linearizability"],
        exercises: "two clients compare-and-set the same key at different replicas: both succeed, last writer wins erases one (the replicas still converge)",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "lost-update-then-read",
        args: &["--requests", "2", "--expect", "Linearizability"],
        exercises: "the same, each client then reading the key: a client can read the other's value after its own compare-and-set succeeded",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "one-client",
        args: &["--clients", "1", "--requests", "2"],
        exercises: "a single client: with no concurrent writer nothing is lost, and the history is linearizable",
        unreachable: &["Concurrent writes reconciled"],
        budget_secs: 30,
    },
];
