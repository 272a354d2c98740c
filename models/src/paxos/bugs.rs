//! The bug catalog: Paxos with one rule of the paper broken, and the configuration that
//! shows it.

use super::*;

/// The named bugs (mutants): each departs from the protocol in one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaxosBug {
    /// The acceptor accepts an Accept whose ballot is below its promise (violates P1a).
    AcceptBelowPromise,
    /// The proposer ignores the accepted proposals reported in Promises and proposes its own value.
    IgnorePromisedValues,
    /// The proposer adopts the last reported accepted value, not the highest-numbered one.
    AnyReportedValue,
    /// Quorums of n/2 servers instead of a majority (⌊n/2⌋ + 1).
    MinorityQuorum,
    /// The acceptor replies to Prepare without saving its promise first.
    UnsavedPromise,
    /// The proposer proposes a placeholder (the default value) when no value was reported.
    UnproposedValue,
    /// The learner decides again on every Decided message, even when it already decided.
    Redecide,
    /// A server answers Get with its acceptor's accepted value before the value is decided.
    ReadAccepted,
    /// A read ballot answers its Get with the value the first peer's Promise reports, without
    /// a majority of Promises or Phase 2.
    ReadOnePromise,
}

/// The catalog printed by `ballot bugs paxos`: each entry is exposed by
/// `ballot check paxos <args> --bug <name>`.
pub const BUGS: &[(PaxosBug, BugInfo)] = &[
    (
        PaxosBug::AcceptBelowPromise,
        BugInfo {
            name: "accept-below-promise",
            breaks: "Agreement",
            args: &[],
            summary: "the acceptor accepts an Accept numbered below the ballot it promised",
        },
    ),
    (
        PaxosBug::IgnorePromisedValues,
        BugInfo {
            name: "ignore-promised-values",
            breaks: "Agreement",
            args: &[],
            summary: "the proposer ignores the accepted values reported in Promises",
        },
    ),
    (
        PaxosBug::AnyReportedValue,
        BugInfo {
            name: "any-reported-value",
            breaks: "Agreement",
            args: &[],
            summary: "the proposer adopts the last reported value instead of the highest-numbered one",
        },
    ),
    (
        PaxosBug::MinorityQuorum,
        BugInfo {
            name: "minority-quorum",
            breaks: "Agreement",
            args: &[],
            summary: "quorums of n/2 servers instead of a majority",
        },
    ),
    (
        PaxosBug::UnsavedPromise,
        BugInfo {
            name: "unsaved-promise",
            breaks: "Agreement",
            args: &["--crashes", "1"],
            summary: "the acceptor answers Prepare without saving its promise (needs crashes)",
        },
    ),
    (
        PaxosBug::UnproposedValue,
        BugInfo {
            name: "unproposed-value",
            breaks: "Validity",
            args: &[],
            summary: "with no value reported, the proposer proposes a placeholder instead of its client's value",
        },
    ),
    (
        PaxosBug::Redecide,
        BugInfo {
            name: "redecide",
            breaks: "Integrity",
            args: &[],
            summary: "the learner decides again on every Decided message",
        },
    ),
    (
        PaxosBug::ReadAccepted,
        BugInfo {
            name: "read-accepted",
            breaks: "Linearizability",
            args: &[],
            summary: "a server answers Get with a value it accepted but that is not yet decided",
        },
    ),
    (
        PaxosBug::ReadOnePromise,
        BugInfo {
            name: "read-one-promise",
            breaks: "Linearizability",
            args: &[],
            summary: "a server that does not know the decision answers Get with the value one peer's Promise reports, without a majority or Phase 2",
        },
    ),
];

impl PaxosBug {
    /// The catalog entry of this bug.
    pub fn info(self) -> &'static BugInfo {
        crate::cluster::catalog_info(BUGS, self)
    }

    /// The bug called `name` in the catalog.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::cluster::catalog_lookup(BUGS, name)
    }
}
