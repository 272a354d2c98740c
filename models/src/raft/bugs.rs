//! The bug catalog: Raft with one rule of Figure 2 broken, and the configuration that shows it.

use super::*;

/// The named bugs (mutants): each departs from Figure 2 in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RaftBug {
    /// The leader commits an entry of an earlier term once it is stored on a majority (the
    /// situation of Figure 8, §5.4.2).
    CommitPreviousTerm,
    /// A server grants its vote to a second candidate in the same term.
    VoteTwice,
    /// A server grants its vote without checking that the candidate's log is at least as
    /// up-to-date as its own (§5.4.1).
    VoteWithoutLogCheck,
    /// A server answers RequestVote without saving `currentTerm` and `votedFor` first.
    UnsavedVote,
    /// A server accepts AppendEntries from a stale term instead of rejecting it.
    AcceptStaleAppend,
    /// A follower truncates its log after the entries of an AppendEntries even when nothing
    /// conflicts (for example on a heartbeat, or a reordered request).
    TruncateWithoutConflict,
    /// A candidate counts a granted vote from an earlier term as a vote in its current one
    /// (the term rule of §5.1 skipped for RequestVote results).
    CountStaleVote,
    /// A server that lost its storage votes at once, as if it were a member of a new cluster
    /// (it grants votes while rejoining).
    RejoinVotesAtOnce,
    /// A rejoining server acknowledges AppendEntries before every peer has answered its probe
    /// (and of terms below those reported).
    RejoinAcksEarly,
    /// A rejoining server takes any message with a term from a peer for that peer's answer to
    /// its probe, although the message may have been sent before the loss.
    RejoinHearsAnyMessage,
    /// A rejoining server finishes on an AppendEntries that reaches the leader's last index
    /// when it was sent, without checking that it was sent after the leader answered the probe.
    RejoinOnStaleAppend,
    /// A candidate counts a vote meant for an earlier incarnation of itself (before it lost its
    /// storage).
    CountEarlierIncarnationVote,
    /// The leader answers a get from its state machine once it has applied the read index,
    /// without a confirmation round: a leader deposed without knowing it answers stale reads
    /// (dissertation §6.4, step 2 left out).
    ReadWithoutConfirmation,
    /// The leader takes any AppendEntries result that arrives after a read for an
    /// acknowledgement of the read's round, although the result may have been sent before the
    /// read arrived (the round number it echoes is not compared).
    ReadWithStaleAcks,
    /// A server's snapshot includes entries it does not know to be committed (§7: only the
    /// applied prefix may be compacted): it applies its whole log and compacts it.
    SnapshotUncommitted,
    /// A leader starts a membership change before it has committed an entry of its current
    /// term: the dissertation's single-server changes (§4.1) without the 2015 correction.
    MembershipUncorrected,
    /// A leader starts a second membership change while the first is uncommitted (§4.1: one
    /// at a time).
    MembershipTwoAtOnce,
    /// A leader counts the learner it is catching up (dissertation §4.2.1) in the majorities
    /// that commit entries, as if it were a member already.
    LearnerCountsForCommit,
    /// A follower that installs a snapshot discards its whole log, although it holds an entry
    /// with the snapshot's last included index and term: the entries after it, which it may have
    /// acknowledged, are lost (Figure 13, rule 7 left out).
    InstallDiscardsMatchingSuffix,
    /// Pipelined replication (dissertation §10.2.2): the leader advances a follower's
    /// `matchIndex`, not only its `nextIndex`, when it sends entries, so that it counts them as
    /// stored before the follower answered.
    MatchOnSend,
    /// With `--volatile-applied`, a step that applies entries saves nothing at all, taken for
    /// an applying step: the entries a follower appends from the same AppendEntries (which
    /// also carried the commit index) are acknowledged before they are saved.
    ApplyStepUnsaved,
    /// With `--parallel-write` (dissertation §10.2.1), the leader counts the entries it has
    /// appended but not yet saved as stored on itself: it may commit an entry that only one
    /// follower has on disk, and a crash of the leader before its write loses it.
    CountUnwritten,
}

/// The catalog printed by `ballot bugs raft`: each entry is exposed by
/// `ballot check raft <args> --bug <name>`.
pub const BUGS: &[(RaftBug, BugInfo)] = &[
    (
        RaftBug::CommitPreviousTerm,
        BugInfo {
            name: "figure-8",
            breaks: "Leader Completeness",
            args: &[
                "--clients",
                "2",
                "--requests",
                "1",
                "--max-term",
                "4",
                "--crashes",
                "0",
                "--max-log",
                "1",
                "--log-reads",
            ],
            summary: "the leader commits an earlier-term entry by counting its replicas (Figure 8)",
        },
    ),
    (
        RaftBug::VoteTwice,
        BugInfo {
            name: "vote-twice",
            breaks: "Election Safety",
            args: &["--clients", "0", "--crashes", "0", "--max-term", "1"],
            summary: "a server votes for a second candidate in the same term",
        },
    ),
    (
        RaftBug::VoteWithoutLogCheck,
        BugInfo {
            name: "vote-without-log-check",
            breaks: "Leader Completeness",
            args: &[
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
            ],
            summary: "a server grants its vote without the up-to-date-log check (§5.4.1)",
        },
    ),
    (
        RaftBug::UnsavedVote,
        BugInfo {
            name: "unsaved-vote",
            breaks: "Election Safety",
            args: &["--clients", "0", "--crashes", "1", "--max-term", "1"],
            summary: "a server answers RequestVote before saving currentTerm and votedFor (needs crashes)",
        },
    ),
    (
        RaftBug::AcceptStaleAppend,
        BugInfo {
            name: "accept-stale-append",
            breaks: "Leader Append-Only",
            args: &[
                "--clients",
                "2",
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--log-reads",
            ],
            summary: "a server accepts AppendEntries from a stale term instead of rejecting it",
        },
    ),
    (
        RaftBug::TruncateWithoutConflict,
        BugInfo {
            name: "truncate-without-conflict",
            breaks: "Leader Completeness",
            args: &["--crashes", "0", "--max-term", "2"],
            summary: "a follower truncates its log after a heartbeat's entries even without a conflict",
        },
    ),
    (
        RaftBug::CountStaleVote,
        BugInfo {
            name: "count-stale-vote",
            breaks: "Election Safety",
            args: &[],
            summary: "a candidate counts a vote granted in an earlier term (caught by the default check)",
        },
    ),
    (
        RaftBug::RejoinVotesAtOnce,
        BugInfo {
            name: "rejoin-votes-at-once",
            breaks: "Election Safety",
            args: &[
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "1",
                "--wipes",
                "1",
            ],
            summary: "a server that lost its storage votes at once, before it has rejoined",
        },
    ),
    (
        RaftBug::RejoinHearsAnyMessage,
        BugInfo {
            name: "rejoin-hears-any-message",
            breaks: "Election Safety",
            args: &[
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--wipes",
                "1",
            ],
            summary: "a rejoining server takes a message sent before its loss of storage for an answer to its probe",
        },
    ),
    (
        RaftBug::RejoinOnStaleAppend,
        BugInfo {
            name: "rejoin-on-stale-append",
            breaks: "Leader Completeness",
            args: &[
                "--clients",
                "1",
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--wipes",
                "1",
            ],
            summary: "a rejoining server finishes on an AppendEntries sent before the leader answered its probe",
        },
    ),
    (
        RaftBug::RejoinAcksEarly,
        BugInfo {
            name: "rejoin-acks-early",
            breaks: "Leader Completeness",
            args: &[
                "--clients",
                "1",
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--wipes",
                "1",
            ],
            summary: "a rejoining server acknowledges AppendEntries before every peer has answered its probe",
        },
    ),
    (
        RaftBug::CountEarlierIncarnationVote,
        BugInfo {
            name: "count-earlier-incarnation-vote",
            breaks: "Election Safety",
            args: &[
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--wipes",
                "2",
            ],
            summary: "a candidate counts a vote meant for its incarnation before it lost its storage",
        },
    ),
    (
        RaftBug::ReadWithoutConfirmation,
        BugInfo {
            name: "read-without-confirmation",
            breaks: "Linearizability",
            args: &[
                "--clients",
                "1",
                "--requests",
                "3",
                "--max-log",
                "3",
                "--noop",
                "--crashes",
                "0",
            ],
            summary: "the leader answers a get from its state machine without a confirmation round (§6.4)",
        },
    ),
    (
        RaftBug::ReadWithStaleAcks,
        BugInfo {
            name: "read-with-stale-acks",
            breaks: "Linearizability",
            args: &[
                "--clients",
                "1",
                "--requests",
                "3",
                "--max-log",
                "3",
                "--noop",
                "--crashes",
                "0",
            ],
            summary: "the leader confirms a read with AppendEntries results that may predate it (the round is not compared)",
        },
    ),
    (
        RaftBug::SnapshotUncommitted,
        BugInfo {
            name: "snapshot-uncommitted",
            breaks: "Leader Completeness",
            args: &[
                "--clients",
                "1",
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--snapshots",
            ],
            summary: "a server's snapshot includes log entries not known to be committed (§7)",
        },
    ),
    (
        RaftBug::MembershipUncorrected,
        BugInfo {
            name: "membership-uncorrected",
            breaks: "Election Safety",
            args: &[
                "--servers",
                "4",
                "--membership",
                "--spares",
                "0",
                "--changes",
                "1",
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "3",
                "--max-log",
                "1",
            ],
            summary: "a leader starts a membership change before committing an entry of its term (the dissertation's §4.1 without the 2015 correction)",
        },
    ),
    (
        RaftBug::MembershipTwoAtOnce,
        BugInfo {
            name: "membership-two-at-once",
            breaks: "Leader Completeness",
            args: &[
                "--servers",
                "3",
                "--membership",
                "--spares",
                "0",
                "--changes",
                "2",
                "--noop",
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "3",
            ],
            summary: "a leader starts a second membership change while the first is uncommitted (§4.1)",
        },
    ),
    (
        RaftBug::LearnerCountsForCommit,
        BugInfo {
            name: "learner-counts-for-commit",
            breaks: "Leader Completeness",
            args: &[
                "--servers",
                "4",
                "--membership",
                "--changes",
                "1",
                "--noop",
                "--appends",
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "2",
            ],
            summary: "a leader counts the server it catches up as a learner in the majorities that commit entries (§4.2.1)",
        },
    ),
    (
        RaftBug::InstallDiscardsMatchingSuffix,
        BugInfo {
            name: "install-discards-matching-suffix",
            breaks: "Leader Completeness",
            args: &[
                "--snapshots",
                "--heartbeats",
                "1",
                "--appends",
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "2",
            ],
            summary: "a follower installing a snapshot discards the entries after its last included one although its log matches there (Figure 13, rule 7)",
        },
    ),
    (
        RaftBug::MatchOnSend,
        BugInfo {
            name: "match-on-send",
            breaks: "Leader Completeness",
            args: &[
                "--pipeline",
                "1",
                "--appends",
                "--clients",
                "0",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "2",
            ],
            summary: "pipelining, the leader advances matchIndex (not only nextIndex) when it sends entries, and counts them stored before the follower answers (§10.2.2)",
        },
    ),
    (
        RaftBug::ApplyStepUnsaved,
        BugInfo {
            name: "apply-step-unsaved",
            breaks: "Leader Completeness",
            args: &[
                "--volatile-applied",
                "--clients",
                "0",
                "--appends",
                "--max-term",
                "2",
                "--max-log",
                "2",
                // The state where one of two DFS threads stops may break State Machine Safety
                // alone; breadth-first (one thread) meets Leader Completeness first, 13 steps.
                "--strategy",
                "bfs",
            ],
            summary: "with --volatile-applied, a step that applies entries saves nothing, so a follower acknowledges the entries it appended in that step before they are durable",
        },
    ),
    (
        RaftBug::CountUnwritten,
        BugInfo {
            name: "count-unwritten",
            breaks: "Leader Completeness",
            args: &[
                "--parallel-write",
                "--volatile-applied",
                "--clients",
                "0",
                "--appends",
                "--max-term",
                "2",
                "--max-log",
                "1",
            ],
            summary: "writing to the leader's disk in parallel (§10.2.1), the leader counts itself for entries it has sent but not saved, so an entry may be committed while only one follower has it on disk",
        },
    ),
];

impl RaftBug {
    /// The catalog entry of this bug.
    pub fn info(self) -> &'static BugInfo {
        crate::cluster::catalog_info(BUGS, self)
    }

    /// The bug called `name` in the catalog.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::cluster::catalog_lookup(BUGS, name)
    }
}
