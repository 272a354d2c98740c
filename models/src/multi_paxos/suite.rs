//! The suite (`ballot suite multi-paxos`): named configurations, each exhaustive within its
//! bounds and each there to exercise one class of behaviour. docs/multi-paxos.md has the table
//! with figures and says what the bounds leave unchecked.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite multi-paxos`, cheapest first.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "default",
        args: &[],
        exercises: "a put and a read from two clients through two takeovers (rounds up to \
                    3): a slot can hold votes of two ballots when the third leader prepares it",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "crash-restart",
        args: &["--crashes", "1", "--max-round", "2"],
        exercises: "any server crashes and restarts at any moment: promises, votes and the \
                    executed log come back only from what was saved",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "retries-dedup",
        args: &["--retries", "1", "--max-round", "2"],
        exercises: "a client re-sends its request to the next server: a command can be chosen \
                    in two slots and must be executed once (sessions)",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "heartbeats-catch-up",
        args: &["--heartbeats", "1", "--max-round", "2"],
        exercises: "leaders re-send unanswered Accepts and heartbeats with their commit point; \
                    learners that missed entries catch up (CatchUp/Chosen)",
        budget_secs: 120,
    },
    SuiteEntry {
        name: "duplicating",
        args: &[
            "--network",
            "duplicating",
            "--clients",
            "1",
            "--requests",
            "2",
            "--max-round",
            "2",
        ],
        exercises: "every message may be delivered any number of times: duplicate Prepare, \
                    Promise, Accept and Accepted across a takeover",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "four-rounds-two-commands",
        args: &[
            "--clients",
            "1",
            "--requests",
            "2",
            "--max-round",
            "4",
            "--strategy",
            "dfs",
            "--symmetry",
        ],
        exercises: "three takeovers while one client puts then compares-and-swaps: the \
                    re-proposal of earlier slots by later leaders",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "three-clients",
        args: &[
            "--clients",
            "3",
            "--max-round",
            "2",
            "--strategy",
            "dfs",
            "--symmetry",
        ],
        exercises: "two writers and a reader at once: several slots in flight at a leader, \
                    chosen out of order",
        budget_secs: 120,
    },
    SuiteEntry {
        name: "five-servers",
        args: &[
            "--servers",
            "5",
            "--clients",
            "1",
            "--max-round",
            "2",
            "--strategy",
            "dfs",
            "--symmetry",
        ],
        exercises: "five acceptors (quorums of three) with one takeover",
        budget_secs: 120,
    },
];
