//! The bug catalog: Multi-Paxos with one rule broken, and the configuration that shows it.

use super::*;

/// The named bugs (mutants): each departs from the protocol in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MpBug {
    /// A new leader ignores the votes reported in Promises: it treats every prepared slot as
    /// free.
    IgnorePromisedValues,
    /// Replicas do not deduplicate requests: a retried request chosen in two slots runs twice.
    NoDedup,
    /// A replica executes a chosen entry as soon as it learns it, not in slot order.
    OutOfOrder,
    /// Quorums of n/2 servers instead of a majority (⌊n/2⌋ + 1).
    MinorityQuorum,
    /// An acceptor forgets its votes across a crash (it saves only its promise).
    ForgetVotes,
    /// A learner takes the leader's commit point as covering its votes of any ballot, not only
    /// the votes it cast in the leader's ballot.
    CommitAnyBallot,
    /// A follower takes the ballot of any heartbeat as its promise, even below the one it made.
    HeartbeatSetsPromise,
    /// The leader answers a get from its state machine once it has executed up to the read
    /// index, without a confirmation round: a leader that a higher ballot replaced without its
    /// knowing answers stale reads.
    ReadWithoutConfirmation,
    /// The leader takes any Accepted or heartbeat answer of its ballot that arrives after a
    /// read for an acknowledgement of the read's round, although it may have been sent before
    /// the read arrived (the round number it echoes is not compared).
    ReadWithStaleAcks,
    /// With `--volatile-applied`, a step that executes chosen entries saves nothing at all (the
    /// optimisation applied to the whole step): an acceptor that accepts a proposal and, with
    /// the commit point of the same Accept, executes earlier slots answers Accepted before its
    /// vote is saved.
    ExecuteStepUnsaved,
    /// The leader takes an Accepted for some slots as acknowledging every slot below them too,
    /// as if acceptors accepted in slot order (Raft's `matchIndex`); but a Multi-Paxos
    /// acceptor may have missed an earlier Accept, so a proposal only the leader voted for
    /// counts as chosen.
    CumulativeAccepted,
    /// With log compaction, an acceptor's Promise does not say that it discarded its votes in
    /// the slots it executed: the new leader takes those slots for free (or for an older
    /// ballot's value reported by another acceptor) and proposes in them again.
    CompactionUnreported,
}

/// The catalog printed by `ballot bugs multi-paxos`: each entry is exposed by
/// `ballot check multi-paxos <args> --bug <name>`.
pub const BUGS: &[(MpBug, BugInfo)] = &[
    (
        MpBug::IgnorePromisedValues,
        BugInfo {
            name: "ignore-promised-values",
            breaks: "Agreement",
            args: &["--log-reads"],
            summary: "a new leader ignores the accepted values reported in Promises and reuses their slots",
        },
    ),
    (
        MpBug::NoDedup,
        BugInfo {
            name: "no-dedup",
            breaks: "Integrity",
            args: &["--retries", "1"],
            summary: "replicas apply a retried request again when it is chosen in a second slot (needs retries)",
        },
    ),
    (
        MpBug::OutOfOrder,
        BugInfo {
            name: "out-of-order",
            breaks: "Agreement",
            args: &["--log-reads"],
            summary: "a replica applies a chosen entry as soon as it learns it, not in slot order",
        },
    ),
    (
        MpBug::MinorityQuorum,
        BugInfo {
            name: "minority-quorum",
            breaks: "Agreement",
            args: &["--log-reads"],
            summary: "quorums of n/2 servers instead of a majority",
        },
    ),
    (
        MpBug::ForgetVotes,
        BugInfo {
            name: "forget-votes",
            breaks: "Agreement",
            args: &["--crashes", "1", "--log-reads"],
            summary: "an acceptor forgets the slots it accepted across a crash (needs crashes)",
        },
    ),
    (
        MpBug::CommitAnyBallot,
        BugInfo {
            name: "commit-any-ballot",
            breaks: "Agreement",
            args: &["--requests", "2", "--log-reads"],
            summary: "a learner below the leader's commit point learns its vote of any ballot, not only of the leader's (needs two requests)",
        },
    ),
    (
        MpBug::HeartbeatSetsPromise,
        BugInfo {
            name: "heartbeat-sets-promise",
            breaks: "Agreement",
            args: &["--heartbeats", "1", "--max-round", "2", "--log-reads"],
            summary: "a follower takes a heartbeat's ballot as its promise, even one below the promise it made (needs heartbeats)",
        },
    ),
    (
        MpBug::ReadWithoutConfirmation,
        BugInfo {
            name: "read-without-confirmation",
            breaks: "Linearizability",
            args: &["--clients", "1", "--requests", "3", "--max-round", "2"],
            summary: "the leader answers a get from its state machine without confirming its ballot with a majority",
        },
    ),
    (
        MpBug::ReadWithStaleAcks,
        BugInfo {
            name: "read-with-stale-acks",
            breaks: "Linearizability",
            args: &["--clients", "1", "--requests", "3", "--max-round", "2"],
            summary: "the leader confirms a read with Accepted or heartbeat answers that may predate it (the round is not compared)",
        },
    ),
    (
        MpBug::ExecuteStepUnsaved,
        BugInfo {
            name: "execute-step-unsaved",
            breaks: "Agreement",
            args: &[
                "--volatile-applied",
                "--crashes",
                "1",
                "--clients",
                "1",
                "--requests",
                "3",
                "--max-round",
                "2",
                "--log-reads",
            ],
            summary: "with --volatile-applied, a step that executes entries saves nothing, not even the vote it answers Accepted for (needs crashes)",
        },
    ),
    (
        MpBug::CumulativeAccepted,
        BugInfo {
            name: "cumulative-accepted",
            breaks: "Agreement",
            args: &["--batch", "--log-reads"],
            summary: "the leader takes an Accepted as acknowledging every earlier slot too, though the acceptor may have missed their Accepts",
        },
    ),
    (
        MpBug::CompactionUnreported,
        BugInfo {
            name: "compaction-unreported",
            breaks: "Agreement",
            args: &[
                "--compact",
                "--clients",
                "2",
                "--max-round",
                "2",
                "--log-reads",
            ],
            summary: "with --compact, a Promise omits the acceptor's compaction point: a new leader proposes again in slots that are chosen",
        },
    ),
];

impl MpBug {
    /// The catalog entry of this bug.
    pub fn info(self) -> &'static BugInfo {
        crate::cluster::catalog_info(BUGS, self)
    }

    /// The bug called `name` in the catalog.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::cluster::catalog_lookup(BUGS, name)
    }
}
