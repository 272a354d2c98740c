//! The suite (`ballot suite paxos`): named configurations, each exhaustive within its bounds
//! and each there to exercise one class of behaviour. docs/paxos.md has the table with figures
//! and says what the bounds leave unchecked.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite paxos`, cheapest first (so that `--fail-fast` with a
/// mutant stops early). Budgets are about three times the time measured on a quiet 2-core
/// machine.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "ordered-lossy",
        args: &["--network", "ordered", "--lossy", "--max-round", "1"],
        exercises: "FIFO links that may lose messages: gaps in a channel (on unordered links a loss looks like a delay, so this is where loss adds behaviour)",
        unreachable: &[],
        budget_secs: 90,
    },
    SuiteEntry {
        name: "default",
        args: &[],
        exercises: "two proposers with competing values and a read each, up to round 3: a proposer is pre-empted twice, so a quorum can report votes of two ballots and the new proposer must adopt the higher; server 2, which no client proposes to, learns the decision for a read by its own read ballot",
        unreachable: &[],
        budget_secs: 90,
    },
    SuiteEntry {
        name: "duplicating",
        args: &["--network", "duplicating", "--max-round", "2"],
        exercises: "every message may be delivered any number of times (UDP duplicates): repeated Prepare, Promise, Accept, Accepted and Decided",
        unreachable: &[],
        budget_secs: 90,
    },
    SuiteEntry {
        name: "five-servers",
        args: &["--servers", "5", "--max-round", "1"],
        exercises: "five acceptors (quorums of three that intersect in one) with two competing proposers",
        unreachable: &[],
        budget_secs: 120,
    },
    SuiteEntry {
        name: "crash-restart",
        args: &["--crashes", "1", "--strategy", "dfs"],
        exercises: "any server crashes and restarts at any moment, up to round 3: a proposer's ballot, an acceptor's promise and vote, and a learner's decision come back only from what was saved",
        unreachable: &[],
        budget_secs: 120,
    },
    SuiteEntry {
        name: "three-proposers",
        args: &["--clients", "3", "--max-round", "2", "--strategy", "dfs"],
        exercises: "three proposers with three values on three servers at once",
        unreachable: &[],
        budget_secs: 180,
    },
    SuiteEntry {
        name: "four-rounds",
        args: &["--max-round", "4", "--strategy", "dfs"],
        exercises: "dueling proposers pre-empting each other three times: votes of three ballots spread over the acceptors",
        unreachable: &[],
        budget_secs: 300,
    },
];
