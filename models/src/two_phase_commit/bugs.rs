//! The bug catalog: two-phase commit with one rule broken, and the configuration that shows it.

use super::*;

/// The named bugs (mutants): each departs from the protocol in one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TpcBug {
    /// The coordinator commits once a majority of the participants voted Yes.
    MajorityCommit,
    /// The coordinator commits, instead of aborting, when the votes do not all come in time.
    CommitOnTimeout,
    /// An uncertain participant that hears nothing aborts on its own instead of asking.
    AbortWhenUncertain,
}

/// The catalog printed by `ballot bugs two-phase-commit`: each entry is exposed by
/// `ballot check two-phase-commit <args> --bug <name>`.
pub const BUGS: &[(TpcBug, BugInfo)] = &[
    (
        TpcBug::MajorityCommit,
        BugInfo {
            name: "majority-commit",
            breaks: "Atomicity",
            args: &["--servers", "4", "--crashes", "0"],
            summary: "the coordinator commits on a majority of Yes votes, without waiting for the other participants' votes",
        },
    ),
    (
        TpcBug::CommitOnTimeout,
        BugInfo {
            name: "commit-on-timeout",
            breaks: "Atomicity",
            args: &["--crashes", "0"],
            summary: "the coordinator commits, instead of aborting, when the votes do not all come in time",
        },
    ),
    (
        TpcBug::AbortWhenUncertain,
        BugInfo {
            name: "abort-when-uncertain",
            breaks: "Atomicity",
            args: &["--crashes", "0"],
            summary: "a participant that voted Yes and hears nothing aborts on its own (the coordinator may have committed)",
        },
    ),
];

impl TpcBug {
    /// The catalog entry of this bug.
    pub fn info(self) -> &'static BugInfo {
        crate::cluster::catalog_info(BUGS, self)
    }

    /// The bug called `name` in the catalog.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::cluster::catalog_lookup(BUGS, name)
    }
}
