//! The suite (`ballot suite two-phase-commit`): atomic commitment without and with a crash.
//! docs/two-phase-commit.md has the table with figures.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite two-phase-commit`.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "no-crash",
        args: &["--crashes", "0"],
        exercises: "a coordinator and two participants voting either way: everyone decides, and the same",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "crash",
        args: &["--expect", "Termination"],
        exercises: "any process may crash for good: Atomicity holds, but participants that voted Yes block when the coordinator is down",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "three-participants-crash",
        args: &["--servers", "4", "--expect", "Termination"],
        exercises: "three participants, the termination protocol asking each other: still blocked when all voted Yes",
        unreachable: &[],
        budget_secs: 60,
    },
];
