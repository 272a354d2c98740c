//! The suite (`ballot suite raft`): named configurations, each exhaustive within its bounds
//! and each there to exercise one class of behaviour. docs/raft.md has the table with figures
//! and says what the bounds leave unchecked.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite raft`, cheapest first.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "five-servers",
        args: &[
            "--servers",
            "5",
            "--clients",
            "1",
            "--requests",
            "1",
            "--max-term",
            "2",
            "--max-log",
            "1",
            "--crashes",
            "0",
        ],
        exercises: "five servers (majorities of three): elections with split votes, and \
                    replication to a majority that is not everyone",
        budget_secs: 60,
    },
    SuiteEntry {
        name: "default",
        args: &[],
        exercises: "a put and a read from two clients, crash-restarts of any server, terms up \
                    to 2: a leader holding two uncommitted entries, a leader crash and a new \
                    leader committing",
        budget_secs: 120,
    },
    SuiteEntry {
        name: "figure-8",
        args: &[
            "--clients",
            "2",
            "--max-term",
            "4",
            "--max-log",
            "1",
            "--crashes",
            "0",
        ],
        exercises: "four terms with two competing commands: an index holds entries of \
                    different terms on different servers, the situation of Figure 8 (§5.4.2)",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "three-terms-two-clients",
        args: &["--clients", "2", "--max-term", "3", "--crashes", "0"],
        exercises: "two leader changes with two commands: conflicting entries overwritten by \
                    a later leader, several uncommitted entries",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "three-terms-crashes",
        args: &["--clients", "1", "--requests", "2", "--max-term", "3"],
        exercises: "a put then a compare-and-swap through three terms with crash-restarts: \
                    votes and logs come back only from what was saved",
        budget_secs: 120,
    },
    SuiteEntry {
        name: "noop",
        args: &[
            "--clients",
            "1",
            "--requests",
            "2",
            "--max-term",
            "3",
            "--noop",
            "--crashes",
            "0",
        ],
        exercises: "new leaders append a no-op (§8) to commit entries of earlier terms",
        budget_secs: 60,
    },
    SuiteEntry {
        name: "follower-far-behind",
        args: &[
            "--clients",
            "1",
            "--requests",
            "3",
            "--max-log",
            "3",
            "--max-term",
            "2",
            "--crashes",
            "0",
        ],
        exercises: "three entries: a follower that missed several AppendEntries is repaired \
                    by nextIndex probing and a multi-entry AppendEntries",
        budget_secs: 60,
    },
    SuiteEntry {
        name: "duplicating",
        args: &[
            "--network",
            "duplicating",
            "--clients",
            "1",
            "--requests",
            "1",
            "--max-term",
            "2",
            "--max-log",
            "1",
            "--crashes",
            "0",
        ],
        exercises: "every message may be delivered any number of times: repeated votes, \
                    AppendEntries and their results",
        budget_secs: 60,
    },
    SuiteEntry {
        name: "wipes",
        args: &[
            "--wipes",
            "1",
            "--clients",
            "1",
            "--requests",
            "1",
            "--max-term",
            "2",
            "--max-log",
            "1",
            "--crashes",
            "0",
        ],
        exercises: "a server loses its storage and restarts empty: it must not vote or \
                    acknowledge until it has heard from every peer and copied a current \
                    leader's log; leaders lower matchIndex when a follower's log shrank",
        budget_secs: 90,
    },
    SuiteEntry {
        name: "retries-dedup",
        args: &[
            "--retries",
            "1",
            "--symmetry",
            "false",
            "--clients",
            "1",
            "--requests",
            "1",
            "--max-term",
            "2",
            "--max-log",
            "2",
            "--crashes",
            "0",
        ],
        exercises: "a client re-sends to the next server: the leader must not append a known \
                    request twice or apply it twice (sessions)",
        budget_secs: 60,
    },
];
