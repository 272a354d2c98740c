//! The suite (`ballot suite primary-backup`): each replication mode with a crash, and failover
//! under message loss. Each configuration names, with `--expect`, the properties it is there
//! to break; it passes when exactly those break and everything else holds. docs/primary-backup.md
//! has the table with figures.

use crate::cluster::SuiteEntry;

/// The configurations of `ballot suite primary-backup`.
pub const SUITE: &[SuiteEntry] = &[
    SuiteEntry {
        name: "no-faults",
        args: &["--crashes", "0"],
        exercises: "sync replication without faults: every write completes, one primary, linearizable",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "sync-crash",
        args: &["--replication", "sync", "--expect", "Writes complete"],
        exercises: "sync replication, one server crashes for good: no acknowledged write is lost, but a write blocks while a server is down",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "async-crash",
        args: &["--replication", "async", "--expect", "Linearizability"],
        exercises: "async replication, the primary crashes: the backup takes over without a write the primary acknowledged",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "semi-sync-crash",
        args: &["--replication", "semi-sync", "--expect", "Linearizability"],
        exercises: "semi-sync replication: writes never block (the primary stops waiting after a timeout), and a write answered after the timeout is lost at failover",
        unreachable: &[],
        budget_secs: 30,
    },
    SuiteEntry {
        name: "lossy-split-brain",
        args: &["--crashes", "0", "--lossy", "--expect", "Single primary"],
        exercises: "failover on a heartbeat timeout when heartbeats can be lost: the backup takes over from a live primary (split brain)",
        unreachable: &[],
        budget_secs: 30,
    },
];
