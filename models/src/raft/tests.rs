//! Model-check tests: pinned state counts, every property, and a counterexample per bug.

use super::*;
use crate::cluster::ClusterStep;
use stateright::actor::ActorModelAction;
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};

/// 3 servers, `clients` clients with `requests` requests each, no crashes, terms up to
/// `max_term`, logs up to `max_log`.
fn cfg(clients: usize, requests: usize, max_term: Term, max_log: Index) -> RaftConfig {
    RaftConfig {
        cluster: ClusterConfig {
            servers: 3,
            clients,
            crashes: 0,
            ..ClusterConfig::default()
        },
        max_term,
        max_log,
        requests,
        retries: 0,
        noop: false,
        log_reads: false,
        discard_obsolete: true,
        wipes: 0,
        snapshots: false,
        appends: false,
        membership: false,
        spares: 1,
        changes: 2,
        learners: true,
        heartbeats: 0,
        pipeline: 0,
        volatile_applied: false,
        parallel_write: false,
        bug: None,
    }
}

fn with(mut c: RaftConfig, f: impl FnOnce(&mut RaftConfig)) -> RaftConfig {
    f(&mut c);
    c
}

/// Checks `c` exhaustively (BFS, or DFS with symmetry reduction): every "always" property
/// holds. Returns the unique state count and the "sometimes" properties witnessed.
fn safe(c: RaftConfig, symmetric: bool) -> (usize, Vec<&'static str>) {
    let builder = c.into_model().checker();
    if symmetric {
        verdicts(builder.symmetry_fn(symmetry).spawn_dfs().join())
    } else {
        verdicts(builder.spawn_bfs().join())
    }
}

fn verdicts(checker: impl Checker<RaftModel>) -> (usize, Vec<&'static str>) {
    assert!(checker.is_done());
    // The correct handlers ignore every message the model discards, in every state reached.
    let revived = checker.model().revived.lock().unwrap().clone();
    assert_eq!(revived, None, "a discarded message was acted on");
    let mut witnessed = Vec::new();
    for p in checker.model().properties() {
        let found = checker.discovery(p.name).is_some();
        match p.expectation {
            Expectation::Always => assert!(!found, "{} violated", p.name),
            Expectation::Sometimes if found => witnessed.push(p.name),
            Expectation::Sometimes | Expectation::Eventually => {}
        }
    }
    (checker.unique_state_count(), witnessed)
}

/// With one client there is no conflicting entry to repair and no second uncommitted entry.
const ALL_WITNESSED: [&str; 5] = [
    "Leader elected",
    "Entry committed",
    "Happy path: a client's request committed and answered",
    "Re-election: another leader in a later term",
    "New leader commits after a leader crash",
];

/// Unique state counts of small configurations, pinned so that a behaviour change is seen.
#[test]
fn correct_raft_holds_with_pinned_state_counts() {
    let crashes = |c: &mut RaftConfig| c.cluster.crashes = 1;
    // One write, two terms, crash-restarts (BFS).
    assert_eq!(
        safe(with(cfg(1, 1, 2, 1), crashes), false),
        (68_285, ALL_WITNESSED.to_vec())
    );
    // Two writes, no crashes (BFS): no leader crashes.
    assert_eq!(
        safe(cfg(1, 2, 2, 2), false),
        (56_904, ALL_WITNESSED[..4].to_vec())
    );
    // Two writes, two terms, crash-restarts (DFS with symmetry): everything witnessed.
    assert_eq!(
        safe(with(cfg(1, 2, 2, 2), crashes), true),
        (178_628, ALL_WITNESSED.to_vec())
    );
}

/// Log compaction (§7, `--snapshots`): every property holds, stated over the logical logs, and
/// a leader's InstallSnapshot reaches a follower that lacks the snapshot's entries. Pinned (BFS):
/// one term with two writes (the second write sends InstallSnapshot to the follower that has not
/// answered yet); one write over two terms with crash-restarts (a new or restarted leader's
/// `nextIndex` probing goes below its snapshot).
#[test]
fn snapshots_keep_every_property_with_pinned_state_counts() {
    let snapshots = |c: &mut RaftConfig| c.snapshots = true;
    let installed = "Snapshot: a leader's InstallSnapshot reaches a follower";
    assert_eq!(
        safe(with(cfg(1, 2, 1, 2), snapshots), false),
        (
            76_683,
            vec![
                "Leader elected",
                "Entry committed",
                installed,
                "Happy path: a client's request committed and answered",
            ]
        )
    );
    let (states, witnessed) = safe(
        with(cfg(1, 1, 2, 1), |c| {
            c.snapshots = true;
            c.cluster.crashes = 1;
        }),
        false,
    );
    assert_eq!(states, 125_573);
    assert!(witnessed.contains(&installed), "{witnessed:?}");
    for w in ALL_WITNESSED {
        assert!(witnessed.contains(&w), "{w} not witnessed");
    }
}

/// `--heartbeats 1`: a leader's heartbeat timer fires once a term, sending every follower
/// AppendEntries from its `nextIndex` again. Every property holds, with a pinned count (BFS).
#[test]
fn heartbeats_keep_every_property_with_pinned_state_counts() {
    let (states, _) = safe(with(cfg(1, 1, 2, 1), |c| c.heartbeats = 1), false);
    assert_eq!(states, 84_198);
}

/// `--pipeline N` (dissertation §10.2.2): a leader sends a follower in step with it each entry
/// once, on its replicate timer, ahead of the answers, at most N unacknowledged. Every property
/// holds, with pinned counts (BFS): two entries appended by leaders of two terms with a window
/// of 1 (147,675 states without pipelining, in the test below); and, since a follower comes in
/// step with its first success, three entries in one term for a window of 2, on two servers to
/// keep it small (454 states without pipelining, 562 with a window of 1, 930 with 2). The
/// match-on-send mutant, caught in the catalog test, shows that the replicate timer's sends are
/// reached and counted only when acknowledged.
#[test]
fn pipelining_keeps_every_property_with_pinned_state_counts() {
    let appends = |window| {
        move |c: &mut RaftConfig| {
            c.appends = true;
            c.pipeline = window;
        }
    };
    assert_eq!(safe(with(cfg(0, 1, 2, 2), appends(1)), false).0, 273_897);
    let two = |window| {
        with(cfg(0, 1, 1, 3), |c| {
            appends(window)(c);
            c.cluster.servers = 2;
        })
    };
    assert_eq!(safe(two(0), false).0, 454);
    assert_eq!(safe(two(1), false).0, 562);
    assert_eq!(safe(two(2), false).0, 930);
}

/// `--volatile-applied` (Figure 2's volatile `lastApplied`, as real nodes run): applying an
/// entry saves nothing by itself, so a crash-restart may take applied entries back. Every
/// property holds, the witness that a crash took applied entries back included, with pinned
/// counts for one write through two terms with crash-restarts (BFS; 68,285 states when each
/// applied entry is saved, in the test above) and for two entries appended by a leader in one
/// term (BFS; the apply-step-unsaved mutant, in the catalog test, needs a second term).
#[test]
fn volatile_applied_keeps_every_property_with_pinned_state_counts() {
    let volatile = |c: &mut RaftConfig| {
        c.volatile_applied = true;
        c.cluster.crashes = 1;
    };
    let mut expected = ALL_WITNESSED.to_vec();
    expected.push("A crash takes applied entries back");
    assert_eq!(
        safe(with(cfg(1, 1, 2, 1), volatile), false),
        (74_773, expected)
    );
    // Two entries in one term (BFS): a step appends one while it applies the other. The same
    // through two terms, where a later leader would lack an entry acknowledged unsaved, is the
    // suite's `volatile-applied` (530,213 states, DFS with symmetry; half a minute).
    let (states, witnessed) = safe(
        with(cfg(0, 1, 1, 2), |c| {
            volatile(c);
            c.appends = true;
        }),
        false,
    );
    assert!(witnessed.contains(&"A crash takes applied entries back"));
    assert_eq!(states, 177_783);
}

/// `--parallel-write` (dissertation §10.2.1, as real nodes run): a leader sends the entries it
/// appends before it saves them, saves them on its write timer, and counts itself only then; a
/// crash before the write loses them on the leader. Every property holds, with the witness
/// that a follower stored an entry its leader had not saved, and pinned counts (BFS) for one
/// write through two terms with crash-restarts (74,773 states when the leader saves first, in
/// the test above) and for one entry per log appended by leaders of two terms. The
/// count-unwritten mutant, in the catalog test, shows that the leader's own count matters.
#[test]
fn parallel_write_keeps_every_property_with_pinned_state_counts() {
    let parallel = |c: &mut RaftConfig| {
        c.volatile_applied = true;
        c.parallel_write = true;
        c.cluster.crashes = 1;
    };
    let mut expected = ALL_WITNESSED.to_vec();
    expected.insert(
        2,
        "Parallel write: a follower stores an entry before its leader",
    );
    expected.push("A crash takes applied entries back");
    assert_eq!(
        safe(with(cfg(1, 1, 2, 1), parallel), false),
        (147_523, expected)
    );
    let (states, witnessed) = safe(
        with(cfg(0, 1, 2, 1), |c| {
            parallel(c);
            c.appends = true;
        }),
        false,
    );
    assert!(witnessed.contains(&"Parallel write: a follower stores an entry before its leader"));
    assert_eq!(states, 145_445);
}

/// A client that re-sends its request to the next server (`--retries`): every property holds,
/// with a pinned count (BFS). The count also guards the leader's test for a request it already
/// has (`on_client_request`: the unapplied entries and the session table): a leader that missed
/// one would append it again, which deduplication at apply keeps safe but which adds states
/// (214,017 instead of 42,721 for one such slip tried by hand).
#[test]
fn retries_keep_every_property_with_a_pinned_state_count() {
    let (states, witnessed) = safe(with(cfg(1, 1, 2, 2), |c| c.retries = 1), false);
    assert!(witnessed.contains(&"Happy path: a client's request committed and answered"));
    assert_eq!(states, 42_721);
}

/// `--appends` (the TLA+ spec's `ClientRequest`: leaders append no-ops of their term on their
/// own, no clients): every property holds, with pinned counts for one entry per log through
/// two terms, and two entries (BFS).
#[test]
fn leader_appends_keep_every_property_with_pinned_state_counts() {
    let appends = |c: &mut RaftConfig| c.appends = true;
    let expected = vec![
        "Leader elected",
        "Entry committed",
        "Re-election: another leader in a later term",
    ];
    assert_eq!(
        safe(with(cfg(0, 1, 2, 1), appends), false),
        (5_535, expected.clone())
    );
    assert_eq!(
        safe(with(cfg(0, 1, 2, 2), appends), false),
        (147_675, expected)
    );
}

/// `--membership` on `servers` servers, one of them a spare, new leaders appending a no-op
/// (the entry of their term a leader must commit before a change), no clients, no crashes.
fn membership(servers: usize, max_term: Term, max_log: Index, changes: usize) -> RaftConfig {
    with(cfg(0, 0, max_term, max_log), |c| {
        c.cluster.servers = servers;
        c.membership = true;
        c.noop = true;
        c.changes = changes;
    })
}

const CONFIG_COMMITTED: &str = "Membership: a configuration change commits";
const LEADER_REMOVED: &str = "Membership: a removed leader steps down";

/// Single-server membership changes (dissertation §4.1, with the 2015 correction): every
/// property holds, a configuration change commits, and a leader that removed itself steps
/// down. Pinned (BFS): three servers and a spare, one change in a log (3 → 4, or any member
/// removed, the leader included); the spare is caught up as a learner first (§4.2.1), or
/// added at once (`--learners false`, §4.1 alone: more states, as the entry that adds it may
/// be appended before the spare has answered anything).
#[test]
fn membership_changes_keep_every_property_with_pinned_state_counts() {
    let witnessed = vec![
        "Leader elected",
        "Entry committed",
        CONFIG_COMMITTED,
        LEADER_REMOVED,
        "Re-election: another leader in a later term",
    ];
    assert_eq!(
        safe(with(membership(4, 2, 2, 1), |c| c.learners = false), false),
        (120_267, witnessed.clone())
    );
    assert_eq!(safe(membership(4, 2, 2, 1), false), (115_437, witnessed));
}

/// The configuration is the latest configuration entry of the log, committed or not, and
/// otherwise the initial one; quorums are majorities of it (dissertation §4.1).
#[test]
fn the_configuration_is_the_latest_entry_of_the_log() {
    let server = match &membership(4, 2, 3, 2).into_model().inner.actors[0] {
        RaftActor::Server(s) => s.clone(),
        RaftActor::Client(_) => unreachable!("actor 0 is a server"),
    };
    let mut d: RaftStorage<ModelKey, ModelValue> = RaftStorage::default();
    assert_eq!(
        server.config(&d),
        ServerSet::first(3),
        "the initial configuration"
    );
    d.log.push(LogEntry {
        term: 1,
        entry: Entry::Noop,
    });
    d.log.push(LogEntry {
        term: 1,
        entry: Entry::Config(ServerSet::first(4)),
    });
    assert_eq!(server.config(&d), ServerSet::first(4));
    assert_eq!(d.latest_config(), Some((2, ServerSet::first(4))));
    d.log.push(LogEntry {
        term: 1,
        entry: Entry::Config(ServerSet::first(4).toggled(0)),
    });
    assert_eq!(server.config(&d).iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(d.config_entries(), 2);
    // A conflicting suffix deleted: the configuration goes back with it.
    d.truncate_after(1);
    assert_eq!(server.config(&d), ServerSet::first(3));
}

/// The latest configuration entry, by reading the whole log backwards (what
/// [`RaftLog`] answers without reading it).
fn latest_config_by_scan(d: &RaftStorage<ModelKey, ModelValue>) -> Option<(Index, ServerSet)> {
    (d.snapshot_index + 1..=d.last_log_index())
        .rev()
        .find_map(|i| match d.entry(i).map(|e| &e.entry) {
            Some(Entry::Config(members)) => Some((i, *members)),
            Some(Entry::Noop | Entry::Cmd(_)) | None => None,
        })
        .or(d.snapshot_config.0)
}

proptest::proptest! {
    /// [`RaftLog`] keeps where its configuration entries are through appends, deletions of a
    /// suffix and compactions, and a log read back from its serialized form (a real node's
    /// file) finds them too: always what a scan of the log finds.
    #[test]
    fn the_latest_configuration_is_kept_as_the_log_changes(
        steps in proptest::collection::vec((0u8..4, 0usize..8), 1..60)
    ) {
        let mut d: RaftStorage<ModelKey, ModelValue> = RaftStorage::default();
        for (kind, n) in steps {
            let len = d.log.len();
            match kind {
                0 => d.log.push(LogEntry { term: 1, entry: Entry::Noop }),
                1 => d.log.push(LogEntry {
                    term: 1,
                    entry: Entry::Config(ServerSet::first(n % 4 + 1)),
                }),
                2 => d.truncate_after(d.snapshot_index + (n % (len + 1)) as Index),
                _ if len > 0 => {
                    let index = d.snapshot_index + 1 + (n % len) as Index;
                    // `compact` reads the discarded entries' terms only, not `applied`.
                    d.compact(index);
                }
                _ => {}
            }
            proptest::prop_assert_eq!(d.latest_config(), latest_config_by_scan(&d));
            let configs = d.log.iter().filter(|e| matches!(e.entry, Entry::Config(_))).count();
            proptest::prop_assert_eq!(d.config_entries(), configs);
            let read: RaftLog<ModelKey, ModelValue> =
                serde_json::from_str(&serde_json::to_string(&d.log).unwrap()).unwrap();
            proptest::prop_assert_eq!(read.latest_config(), d.log.latest_config());
            proptest::prop_assert_eq!(&read, &d.log);
        }
    }
}

/// The 2015 correction left out (Ongaro, raft-dev, "bug in single-server membership changes"):
/// in a cluster of four, the leader of term 1 removes a server without committing anything of
/// its term, the leader of term 2 removes another, and the two configurations' majorities are
/// disjoint. DFS meets two leaders in term 3 (and a leader without a committed entry) in
/// seconds; BFS needs minutes (docs/raft.md).
#[test]
fn membership_change_before_a_commit_of_the_term_elects_two_leaders() {
    let checker = smallest(RaftBug::MembershipUncorrected)
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
    assert!(checker.discovery("Election Safety").is_some());
}

/// The logical log (§7): a snapshot answers for the entries it discarded through its last
/// included index and term, and the properties read the discarded entries from the applied
/// ones.
#[test]
fn a_compacted_log_answers_for_the_logical_log() {
    let cmd = |n: u32| {
        Entry::Cmd(crate::kv::Command {
            client: Id::from(3),
            req: n,
            op: KvOp::Put('x', 'A'),
        })
    };
    let mut d: RaftStorage<ModelKey, ModelValue> = RaftStorage::default();
    for (term, n) in [(1, 1), (1, 2), (2, 3)] {
        d.log.push(LogEntry {
            term,
            entry: cmd(n),
        });
    }
    for (i, term) in [(1u64, 1), (2, 1)] {
        d.applied.push((i as Slot, cmd(i as u32)));
        d.applied_terms.push(Applied { term, at: 2 });
    }
    let before = logical_log(&d).into_owned();
    d.compact(2);
    assert_eq!((d.snapshot_index, d.snapshot_term, d.log.len()), (2, 1, 1));
    assert_eq!((d.last_log_index(), d.last_log_term()), (3, 2));
    assert_eq!(d.term_at(1), None, "discarded by the snapshot");
    assert_eq!(d.term_at(2), Some(1), "the snapshot's last included term");
    assert_eq!(d.term_at(3), Some(2));
    assert_eq!(d.term_at(4), None);
    assert!(d.entry(2).is_none() && d.entry(3).is_some());
    assert_eq!(d.entries_after(2).len(), 1);
    assert_eq!(logical_log(&d).into_owned(), before);
    d.truncate_after(2);
    assert_eq!((d.last_log_index(), d.last_log_term()), (2, 1));
}

/// Reads served by ReadIndex (dissertation §6.4): with one client that puts, compares-and-swaps,
/// then reads, and no-ops, every property holds and the get is answered without the log (BFS,
/// pinned). With two clients (a put and a get), the get as a command in the log
/// (`--log-reads`) explores exactly the states of the model before ReadIndex (37,630; pinned in
/// this test since then), and ReadIndex fewer.
#[test]
fn reads_served_by_read_index_are_linearizable() {
    let read = "A read answered without the log";
    let (states, witnessed) = safe(reads(), false);
    assert_eq!(states, READS_STATES);
    assert!(witnessed.contains(&read), "{witnessed:?}");
    let two = cfg(2, 1, 2, 1);
    let (log_reads, witnessed) = safe(with(two.clone(), |c| c.log_reads = true), false);
    assert_eq!(log_reads, 37_630);
    assert!(!witnessed.contains(&read));
    let (read_index, witnessed) = safe(two, false);
    assert_eq!(read_index, TWO_CLIENTS_READ_INDEX);
    assert!(witnessed.contains(&read), "{witnessed:?}");
}

/// Unique states (BFS) of [`reads`] and of two clients (a put, a get by ReadIndex), terms up
/// to 2, one-entry logs, no crash.
const READS_STATES: usize = 492_516;
const TWO_CLIENTS_READ_INDEX: usize = 175_526;

/// A leader that answers a get without a confirmation round, or that counts an AppendEntries
/// result sent before the get arrived, answers with a deposed leader's stale value:
/// Linearizability fails, and nothing else does (the log is untouched by reads).
#[test]
fn reads_without_a_fresh_majority_are_caught() {
    for bug in [RaftBug::ReadWithoutConfirmation, RaftBug::ReadWithStaleAcks] {
        let (properties, steps) = violated(smallest(bug));
        assert_eq!(properties, ["Linearizability"], "{bug:?}");
        assert!(steps >= 14, "{bug:?}: {steps} steps");
    }
}

/// With a server losing its storage once (`--wipes 1`), every always-property holds and the
/// server rejoins; count pinned (DFS with symmetry). Pure elections, two terms: no entry to
/// commit. With one write (an entry committed, which elected leaders must hold) the same
/// configuration has 1,146,928 states, about 50 s: it is the suite's `wipes` configuration, which
/// `.ci/run` checks after the tests (`ballot suite raft`), not a test of its own.
#[test]
fn a_server_that_lost_its_storage_rejoins_safely() {
    let wipe = |c: &mut RaftConfig| c.wipes = 1;
    assert_eq!(
        safe(with(cfg(0, 0, 2, 1), wipe), true),
        (
            PURE_ELECTIONS_WIPE,
            vec![
                "Leader elected",
                "A server that lost its storage rejoins",
                "Re-election: another leader in a later term"
            ]
        )
    );
}

/// Unique states of the `--wipes 1` configuration above.
const PURE_ELECTIONS_WIPE: usize = 42_302;

/// The always-properties violated when single-threaded BFS stops, and the length of the
/// (first) counterexample.
fn violated(c: RaftConfig) -> (Vec<&'static str>, usize) {
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    found(&checker)
}

/// The properties `checker` found violated and the length of the first one's counterexample.
fn found(checker: &impl Checker<RaftModel>) -> (Vec<&'static str>, usize) {
    let names: Vec<_> = checker
        .model()
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always)
        .filter(|p| checker.discovery(p.name).is_some())
        .map(|p| p.name)
        .collect();
    let len = names
        .first()
        .map(|n| checker.discovery(n).unwrap().into_actions().len())
        .expect("the checker finds a counterexample");
    (names, len)
}

/// One client that puts, compares-and-swaps, then reads; new leaders append a no-op (as real
/// runs do): a leader of term 2 can commit the compare-and-swap that the leader of term 1
/// appended, and answer it, while the client's read goes to the leader of term 1.
fn reads() -> RaftConfig {
    with(cfg(1, 3, 2, 3), |c| c.noop = true)
}

/// The smallest configuration that shows each bug (see docs/raft.md).
fn smallest(bug: RaftBug) -> RaftConfig {
    let c = match bug {
        RaftBug::VoteTwice => cfg(0, 0, 1, 1),
        RaftBug::UnsavedVote => with(cfg(0, 0, 1, 1), |c| c.cluster.crashes = 1),
        RaftBug::VoteWithoutLogCheck => cfg(1, 1, 2, 1),
        RaftBug::TruncateWithoutConflict => cfg(1, 2, 2, 2),
        // Two commands compete for index 1: client 1's get is one only in the log.
        RaftBug::AcceptStaleAppend => with(cfg(2, 1, 2, 1), |c| c.log_reads = true),
        RaftBug::CommitPreviousTerm => with(cfg(2, 1, 4, 1), |c| c.log_reads = true),
        RaftBug::CountStaleVote => cfg(0, 0, 2, 1),
        RaftBug::RejoinVotesAtOnce => with(cfg(0, 0, 1, 1), |c| c.wipes = 1),
        RaftBug::RejoinHearsAnyMessage => with(cfg(0, 0, 2, 1), |c| c.wipes = 1),
        RaftBug::CountEarlierIncarnationVote => with(cfg(0, 0, 2, 1), |c| c.wipes = 2),
        RaftBug::RejoinAcksEarly | RaftBug::RejoinOnStaleAppend => {
            with(cfg(1, 1, 2, 1), |c| c.wipes = 1)
        }
        RaftBug::ReadWithoutConfirmation | RaftBug::ReadWithStaleAcks => reads(),
        RaftBug::SnapshotUncommitted => with(cfg(1, 1, 2, 1), |c| c.snapshots = true),
        RaftBug::MembershipUncorrected => with(cfg(0, 0, 3, 1), |c| {
            c.cluster.servers = 4;
            c.membership = true;
            c.spares = 0;
            c.changes = 1;
        }),
        RaftBug::MembershipTwoAtOnce => with(membership(3, 2, 3, 2), |c| c.spares = 0),
        // A leader of term 1 commits its appended entry with the learner's copy alone; the
        // other two members elect a leader of term 2 without it.
        RaftBug::LearnerCountsForCommit => with(membership(4, 2, 2, 1), |c| c.appends = true),
        // Two entries of term 1 (`--appends`) sent together: the leader snapshots the first,
        // committed without the follower, and its heartbeat sends the follower InstallSnapshot,
        // which discards the second, committed with the follower's acknowledgement.
        RaftBug::InstallDiscardsMatchingSuffix => with(cfg(0, 0, 2, 2), |c| {
            c.snapshots = true;
            c.appends = true;
            c.heartbeats = 1;
        }),
        // The leader of term 1 pipelines its second entry to both followers, counts both as
        // stored, and commits it; the followers, which never got it, elect a leader of term 2.
        RaftBug::MatchOnSend => with(cfg(0, 0, 2, 2), |c| {
            c.appends = true;
            c.pipeline = 1;
        }),
        // A follower takes the second entry with the commit index of the first, applies the
        // first, and acknowledges the second unsaved; the leader commits it, and the
        // follower, restarted without it, is elected for term 2 by the third server.
        RaftBug::ApplyStepUnsaved => with(cfg(0, 0, 2, 2), |c| {
            c.appends = true;
            c.volatile_applied = true;
            c.cluster.crashes = 1;
        }),
        // The leader of term 1 commits its entry with one follower's copy and its own unsaved
        // one, applies it, and crashes before its write; restarted without it, it is elected
        // for term 2 by the third server, whose log is as empty as its own (10 steps).
        RaftBug::CountUnwritten => with(cfg(0, 0, 2, 1), |c| {
            c.appends = true;
            c.volatile_applied = true;
            c.parallel_write = true;
            c.cluster.crashes = 1;
        }),
    };
    RaftConfig {
        bug: Some(bug),
        ..c
    }
}

#[test]
fn every_bug_is_caught_breaking_its_catalogued_property() {
    for (bug, info) in BUGS {
        if matches!(
            *bug,
            RaftBug::CommitPreviousTerm
                | RaftBug::MembershipUncorrected
                | RaftBug::InstallDiscardsMatchingSuffix
        ) {
            continue; // The slowest; their own tests.
        }
        let c = smallest(*bug);
        // The shortest counterexample (breadth-first) unless the configuration wipes storage:
        // those take minutes breadth-first, seconds depth-first with symmetry (as `ballot
        // check` runs them), and the path found then is at least as long as the shortest.
        let (properties, steps) = if c.wipes > 0 {
            found(
                &c.into_model()
                    .checker()
                    .symmetry_fn(symmetry)
                    .finish_when(HasDiscoveries::AnyFailures)
                    .spawn_dfs()
                    .join(),
            )
        } else {
            violated(c)
        };
        assert!(
            properties.contains(&info.breaks),
            "bug {}: {properties:?}",
            info.name
        );
        assert!(steps >= 5, "bug {}: {steps} steps", info.name);
    }
}

/// A candidate that counts a vote from an earlier term (a plausible edit of the term rule) is
/// caught by the default `ballot check raft`, although the model discards stale vote results:
/// the discard is checked against the handler. Without that check (the model discarding what
/// the term rule calls obsolete, whatever the handler does) the same default check was green,
/// with the correct protocol's state count (docs/raft.md).
#[test]
fn the_default_check_catches_a_candidate_counting_stale_votes() {
    let bug = RaftConfig {
        bug: Some(RaftBug::CountStaleVote),
        ..RaftConfig::default()
    };
    let checker = bug
        .into_model()
        .checker()
        .symmetry_fn(symmetry)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
    assert!(checker.discovery("Election Safety").is_some());
}

/// A message discarded as obsolete comes back when its receiver's handler would act on it:
/// with crash-restarts, the stale-vote mutant meets a stale vote result that the model had
/// already discarded, and the model records that the reduction was not exact for it.
#[test]
fn a_discarded_message_the_handler_acts_on_is_put_back() {
    let c = with(cfg(0, 0, 2, 1), |c| {
        c.cluster.crashes = 1;
        c.bug = Some(RaftBug::CountStaleVote);
    });
    let checker = c.into_model().checker().spawn_bfs().join();
    assert!(checker.discovery("Election Safety").is_some());
    let revived = checker.model().revived.lock().unwrap().clone();
    let revived = revived.expect("a discarded vote result is put back");
    assert!(
        revived.message.starts_with("RequestVoteReply"),
        "{revived:?}"
    );
}

/// Figure 8: the leader of term 3 counts the replicas of a term-1 entry and commits it; the
/// leader of term 4, elected without it, would overwrite it.
#[test]
fn figure_8_commit_by_counting_breaks_leader_completeness() {
    let checker = smallest(RaftBug::CommitPreviousTerm)
        .into_model()
        .checker()
        .symmetry_fn(symmetry)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
    assert!(checker.discovery("Leader Completeness").is_some());
}

/// Figure 13, rule 7: a follower that installs a snapshot keeps the entries after its last
/// included one when its log matches there. The mutant discards them, although it has
/// acknowledged them: the leader commits an entry with that acknowledgement, and the follower
/// then votes for a server without it.
#[test]
fn install_snapshot_discarding_a_matching_suffix_loses_a_committed_entry() {
    // Breadth-first it takes 3.0 M states (a minute): the counterexample is 16 steps long.
    // Depth-first with symmetry, bounded to 18 steps, finds one in a quarter of that.
    let checker = smallest(RaftBug::InstallDiscardsMatchingSuffix)
        .into_model()
        .checker()
        .symmetry_fn(symmetry)
        .target_max_depth(18)
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_dfs()
        .join();
    assert!(checker.discovery("Leader Completeness").is_some());
    // The correct protocol in the same configuration: `snapshots-heartbeats-two-terms` in
    // docs/raft.md (outside the suite: three minutes).
}

/// The bug of Stateright's own Raft example: a server that forgets its vote when it
/// crashes votes twice in one term. Ballot's servers save their vote before answering, so
/// a recovered server keeps it; the unsaved-vote mutant is caught, and only with crashes.
#[test]
fn a_recovered_server_keeps_its_vote() {
    let crashes = with(cfg(0, 0, 1, 1), |c| c.cluster.crashes = 1);
    let unsaved = |c: RaftConfig| RaftConfig {
        bug: Some(RaftBug::UnsavedVote),
        ..c
    };
    let (properties, _) = violated(unsaved(crashes.clone()));
    assert_eq!(properties, ["Election Safety"]);
    safe(crashes, false);
    let checker = unsaved(cfg(0, 0, 1, 1))
        .into_model()
        .checker()
        .spawn_bfs()
        .join();
    checker.assert_no_discovery("Election Safety");
    assert!(checker.is_done());
}

/// Symmetry reduction (DFS) explores fewer states, keeps the correct protocol green and
/// still finds a bug.
#[test]
fn symmetry_reduction_is_sound_on_small_configurations() {
    let c = with(cfg(1, 1, 2, 1), |c| c.cluster.crashes = 1);
    let plain = c.clone().into_model().checker().spawn_dfs().join();
    // The handlers treat servers alike: checked at every state the reduced search expands.
    let model = c.into_model().check_symmetry(1);
    let broken = std::sync::Arc::clone(&model.symmetry_broken);
    let reduced = model.checker().symmetry_fn(symmetry).spawn_dfs().join();
    assert_eq!(*broken.lock().unwrap(), None);
    for checker in [&plain, &reduced] {
        assert!(checker.is_done());
        for p in checker.model().properties() {
            let found = checker.discovery(p.name).is_some();
            match p.expectation {
                Expectation::Always => assert!(!found, "{} violated", p.name),
                Expectation::Sometimes => assert!(found, "{} not witnessed", p.name),
                Expectation::Eventually => unreachable!("no eventually properties"),
            }
        }
    }
    assert_eq!(
        (plain.unique_state_count(), reduced.unique_state_count()),
        (68_285, 20_625)
    );
    for (bug, info) in BUGS {
        if matches!(
            *bug,
            RaftBug::CommitPreviousTerm | RaftBug::InstallDiscardsMatchingSuffix
        ) {
            // Their own tests run with symmetry (unbounded, the install mutant takes 3.8 M
            // states).
            continue;
        }
        if smallest(*bug).membership {
            continue; // Spares are not interchangeable with members: no symmetry reduction.
        }
        let checker = smallest(*bug)
            .into_model()
            .checker()
            .symmetry_fn(symmetry)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_dfs()
            .join();
        assert!(
            checker.discovery(info.breaks).is_some(),
            "bug {} with symmetry",
            info.name
        );
    }
}

/// The model discards a message only if its receiver ignores it for good. Explored without
/// discarding (the first `max_states` states, BFS), every state must satisfy: a message the predicate calls obsolete is ignored
/// when delivered (a no-op), and stays obsolete after any step (so it is ignored forever).
fn obsolete_messages_are_ignored_forever(c: RaftConfig, max_states: usize) -> usize {
    let mut model = c.into_model();
    model.obsolete = None;
    let hasher = RandomState::new();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<RaftModelState> = model.init_states().into();
    let mut checked = 0;
    while let Some(state) = queue.pop_front() {
        if seen.len() >= max_states {
            break;
        }
        if !seen.insert(hasher.hash_one(&state)) {
            continue;
        }
        let dead: Vec<_> = state
            .network
            .iter_all()
            .filter(|env| obsolete(&model, &state, *env))
            .map(|env| env.to_cloned_msg())
            .collect();
        let mut actions = Vec::new();
        model.actions(&state, &mut actions);
        for env in &dead {
            checked += 1;
            let deliver = ActorModelAction::Deliver {
                src: env.src,
                dst: env.dst,
                msg: env.msg.clone(),
            };
            assert!(
                model.next_state(&state, deliver.into()).is_none(),
                "delivering {env:?} changes something"
            );
        }
        for action in actions {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            for env in &dead {
                let still_there = next
                    .network
                    .iter_all()
                    .any(|e| e.src == env.src && e.dst == env.dst && *e.msg == env.msg);
                assert!(
                    !still_there
                        || obsolete(
                            &model,
                            &next,
                            Envelope {
                                src: env.src,
                                dst: env.dst,
                                msg: &env.msg
                            }
                        ),
                    "{env:?} became useful again"
                );
            }
            queue.push_back(next);
        }
    }
    checked
}

#[test]
fn discarding_obsolete_messages_hides_no_behaviour() {
    let small = |bug| {
        with(cfg(1, 1, 1, 1), |c| {
            c.cluster.crashes = 1;
            c.bug = bug;
        })
    };
    assert!(obsolete_messages_are_ignored_forever(small(None), 20_000) > 0);
    for bug in [
        RaftBug::UnsavedVote,
        RaftBug::AcceptStaleAppend,
        RaftBug::VoteTwice,
    ] {
        obsolete_messages_are_ignored_forever(small(Some(bug)), 20_000);
    }
    assert!(obsolete_messages_are_ignored_forever(cfg(0, 0, 2, 1), 20_000) > 0);
    // Reads: a result that acknowledges no new round is ignored for good; the stale-acks
    // mutant counts every result, and so ignores none.
    assert!(obsolete_messages_are_ignored_forever(reads(), 20_000) > 0);
    obsolete_messages_are_ignored_forever(
        with(reads(), |c| c.bug = Some(RaftBug::ReadWithStaleAcks)),
        20_000,
    );
    // With losses of storage: the predicate's rules for probe answers, and its other rules
    // once no loss is left.
    for wipes in [1, 2] {
        let c = with(cfg(1, 1, 2, 1), |c| c.wipes = wipes);
        assert!(obsolete_messages_are_ignored_forever(c, 20_000) > 0);
    }
}

#[test]
fn validation_names_the_flag() {
    let bad = with(RaftConfig::default(), |c| c.max_term = 0);
    assert!(bad.validate().unwrap_err().contains("--max-term"));
    let bad = with(RaftConfig::default(), |c| c.max_log = 99);
    assert!(bad.validate().unwrap_err().contains("--max-log"));
    let bad = with(RaftConfig::default(), |c| c.requests = 10);
    assert!(bad.validate().unwrap_err().contains("--requests"));
    assert!(RaftConfig::default().validate().is_ok());
}

#[test]
fn bug_names_round_trip() {
    for (bug, info) in BUGS {
        assert_eq!(RaftBug::from_name(info.name), Some(*bug));
        assert_eq!(bug.info().name, info.name);
    }
    assert_eq!(RaftBug::from_name("nope"), None);
}

/// "New leader commits after a leader crash" asks for an order on the path: on the witness, a server crashes while it is leader, and only in a later state has a leader of a
/// later term applied an entry in its own term. (Before the property required it, the shortest
/// witness crashed the old leader last, after the new one committed.)
/// With `--crash-stop` too, where the crashed leader stays down with its last state (a
/// leader's), which the witness once failed to recognize.
#[test]
fn the_failover_witness_crashes_a_leader_before_the_new_leader_commits() {
    for crash_stop in [false, true] {
        failover_witness_orders_crash_and_commit(crash_stop);
    }
}

fn failover_witness_orders_crash_and_commit(crash_stop: bool) {
    let c = with(cfg(1, 1, 2, 1), |c| {
        c.cluster.crashes = 1;
        c.cluster.crash_stop = crash_stop;
    });
    let checker = c.into_model().checker().spawn_bfs().join();
    let steps = checker
        .discovery("New leader commits after a leader crash")
        .expect("witnessed")
        .into_vec();
    let server = |s: &RaftModelState, i: usize| match &*s.actor_states[i] {
        RaftState::Server(x) => x.clone(),
        RaftState::Client(_) => unreachable!("actors 0..3 are servers"),
    };
    // The step that crashes a leader: (index of the state after it, the leader's term).
    let (crashed, term) = steps
        .iter()
        .enumerate()
        .find_map(|(k, (s, a))| match a {
            Some(ClusterStep::Actor(ActorModelAction::Crash(id))) => {
                let old = server(s, usize::from(*id));
                old.is_leader().then_some((k + 1, old.durable.current_term))
            }
            _ => None,
        })
        .expect("a leader crashes");
    let committed = steps
        .iter()
        .position(|(s, _)| {
            (0..3).any(|i| {
                let x = server(s, i);
                let now = x.durable.current_term;
                x.is_leader() && now > term && x.durable.applied_terms.iter().any(|a| a.at == now)
            })
        })
        .expect("a leader of a later term commits");
    assert!(
        committed > crashed,
        "crash-stop {crash_stop}: commit in state {committed}, crash before state {crashed}"
    );
}

/// With one partition: every property holds, a leader on each side of the split is
/// witnessed; with crash-restarts, and with a loss of storage, under symmetry reduction
/// checked against the handlers at every expanded state. Counts pinned.
#[test]
fn correct_raft_is_safe_under_a_partition() {
    let split = |c: &mut RaftConfig| c.cluster.partitions = 1;
    let (count, witnessed) = safe(with(cfg(1, 1, 2, 1), split), false);
    assert_eq!(count, RAFT_PARTITION[0]);
    assert!(
        witnessed.contains(&"A leader on each side of a partition"),
        "{witnessed:?}"
    );
    let symmetric = |c: RaftConfig| {
        let model = c.into_model().check_symmetry(1);
        let broken = std::sync::Arc::clone(&model.symmetry_broken);
        let counts = verdicts(model.checker().symmetry_fn(symmetry).spawn_dfs().join());
        assert_eq!(*broken.lock().unwrap(), None);
        counts.0
    };
    let crashes = |c: &mut RaftConfig| {
        c.cluster.partitions = 1;
        c.cluster.crashes = 1;
    };
    assert_eq!(symmetric(with(cfg(0, 0, 2, 1), crashes)), RAFT_PARTITION[1]);
    let wipe = |c: &mut RaftConfig| {
        c.cluster.partitions = 1;
        c.wipes = 1;
    };
    assert_eq!(symmetric(with(cfg(0, 0, 2, 1), wipe)), RAFT_PARTITION[2]);
    let claims =
        crate::cluster::verify_obsolete_claims(with(cfg(1, 1, 2, 1), split).into_model(), 30_000);
    assert!(claims.unwrap() > 0);
}

/// Unique states of `correct_raft_is_safe_under_a_partition`: one write (BFS); pure elections
/// with crash-restarts, and with a loss of storage (DFS with symmetry).
const RAFT_PARTITION: [usize; 3] = [47_640, 6_490, 195_111];

/// `cfg(2 clients, 1 request, max_term, max_log)` with the last of `servers` servers
/// Byzantine, sending at most `sends` forged messages of the kinds `forge` (every kind if
/// empty).
fn byzantine(servers: usize, max_term: Term, sends: usize, forge: &[&str]) -> RaftConfig {
    let c = with(cfg(2, 1, max_term, 1), |c| {
        c.cluster.servers = servers;
        c.cluster.byzantine = 1;
        c.cluster.byzantine_sends = sends;
        c.cluster.byzantine_forge = forge.iter().map(|k| k.to_string()).collect();
    });
    c.validate().unwrap();
    c
}

/// Asserts that the shortest counterexample to `property` has `steps` steps: at most `steps` (BFS bounded to
/// that many steps finds one) and no shorter (bounded to one step fewer, it finds none).
fn shortest_violation(c: RaftConfig, property: &'static str, steps: usize) {
    let within = |steps: usize| {
        c.clone()
            .into_model()
            .checker()
            // Stateright numbers the initial state's depth 1 and explores below the target.
            .target_max_depth(steps + 2)
            .finish_when(HasDiscoveries::AnyOf([property].into()))
            .spawn_bfs()
            .join()
            .discovery(property)
            .is_some()
    };
    assert!(
        within(steps),
        "no counterexample to {property} in {steps} steps"
    );
    assert!(
        !within(steps - 1),
        "a counterexample to {property} shorter than {steps} steps"
    );
}

/// One Byzantine server of three breaks State Machine Safety in two steps: it sends each
/// honest server an AppendEntries with a different entry at index 1 and a commit index of 1
/// (a follower believes its leader).
#[test]
fn a_byzantine_server_breaks_state_machine_safety_among_three() {
    shortest_violation(byzantine(3, 1, 2, &[]), "State Machine Safety", 2);
}

/// A voter that only votes twice — for each of two candidates of the same term — makes two
/// leaders of one term with 3 servers, where two majorities meet in that voter alone, and not
/// with 4 (3f + 1), where any two majorities of 3 meet in an honest voter too. Pinned: the
/// 4-server check is exhaustive (client 1's get is served by ReadIndex; 4,729 states with
/// `--log-reads`).
#[test]
fn a_double_voter_breaks_election_safety_among_three_not_four() {
    shortest_violation(
        byzantine(3, 1, 2, &["RequestVoteReply"]),
        "Election Safety",
        4,
    );
    let (states, _) = safe(byzantine(4, 1, 2, &["RequestVoteReply"]), false);
    assert_eq!(states, 22_639);
}

/// §7: compaction keeps the latest configuration as of the snapshot's last included index
/// ([`RaftStorage::snapshot_config`]), so that a server whose configuration entries were all
/// discarded still uses the latest one, not the initial configuration.
#[test]
fn compaction_keeps_the_latest_configuration() {
    let server = match &membership(4, 2, 3, 2).into_model().inner.actors[0] {
        RaftActor::Server(s) => s.clone(),
        RaftActor::Client(_) => unreachable!("actor 0 is a server"),
    };
    let mut d: RaftStorage<ModelKey, ModelValue> = RaftStorage::default();
    let four = ServerSet::first(4);
    let three = four.toggled(0);
    for entry in [
        Entry::Noop,
        Entry::Config(four),
        Entry::Noop,
        Entry::Config(three),
        Entry::Noop,
    ] {
        d.log.push(LogEntry { term: 1, entry });
    }
    d.compact(3);
    assert_eq!(d.snapshot_config, SnapshotConfig(Some((2, four))));
    assert_eq!(
        d.latest_config(),
        Some((4, three)),
        "the log's entry is later"
    );
    d.compact(5);
    assert_eq!(d.snapshot_config, SnapshotConfig(Some((4, three))));
    assert_eq!(d.latest_config(), Some((4, three)));
    assert_eq!(server.config(&d), three, "not the initial configuration");
    // A snapshot without a configuration entry keeps the one it had.
    d.log.push(LogEntry {
        term: 1,
        entry: Entry::Noop,
    });
    d.compact(6);
    assert_eq!(d.snapshot_config, SnapshotConfig(Some((4, three))));
}

/// An administrator's request (a real run's `ballot admin`) runs the model's rule
/// ([`RaftServer::reconfigure_refusal`]) and step ([`RaftServer::on_reconfigure`]): a leader
/// that has not committed an entry of its term refuses (the 2015 correction); then it catches
/// the new server up as a learner (§4.2.1: `CatchingUp`, other changes refused, removing the
/// learner ends it), appends the change once the learner holds its log, and answers
/// `Pending`; a second change waits for the first (one at a time); a
/// request naming an older configuration is refused; a retry of the first, once committed, is
/// `Done` without a second entry. No reconfigure timer is ever set (`by_request`).
#[test]
fn an_administrators_request_runs_the_models_rule() {
    use stateright::actor::Command;
    let peers: Vec<Id> = (0..3).map(Id::from).collect();
    let mut server = RaftServer::for_real_runs(peers.clone(), ServerSet::first(2));
    // The model's catch-up rule: a round with any entry appended is followed by another.
    server
        .membership
        .as_mut()
        .expect("real runs have membership")
        .learners = Some(0);
    let actor: RaftActor<ModelKey, ModelValue> = RaftActor::Server(server);
    let (me, admin) = (peers[0], Id::from(9));
    let mut out = Out::new();
    let mut state = actor.on_start(me, &None, &mut out);
    let step = |state: &mut RaftState<ModelKey, ModelValue>,
                event: Result<(Id, RaftMsg<ModelKey, ModelValue>), RaftTimer>| {
        let mut cow = Cow::Owned(state.clone());
        let mut out = Out::new();
        match event {
            Ok((src, msg)) => actor.on_msg(me, &mut cow, src, msg, &mut out),
            Err(timer) => actor.on_timeout(me, &mut cow, &timer, &mut out),
        }
        // The leader's write (§10.2.1) ends the step's batch, as in a real node.
        if matches!(&*cow, RaftState::Server(s) if s.written.is_some()) {
            actor.on_timeout(me, &mut cow, &RaftTimer::Write, &mut out);
        }
        *state = cow.into_owned();
        let mut answers = Vec::new();
        for command in out {
            match command {
                Command::SetTimer(RaftTimer::Reconfigure(_), _) => {
                    panic!("a reconfigure timer with by_request")
                }
                Command::Send(dst, RaftMsg::AdminReply { answer, .. }) => {
                    assert_eq!(dst, admin);
                    answers.push(answer);
                }
                Command::Send(..)
                | Command::SetTimer(..)
                | Command::CancelTimer(..)
                | Command::ChooseRandom(..)
                | Command::Save(..) => {}
            }
        }
        answers
    };
    let ask = |op| Ok((admin, RaftMsg::Admin(AdminRequest { req: 1, op })));
    let ack_from = |peer: usize, index| {
        Ok((
            peers[peer],
            RaftMsg::AppendEntriesReply {
                term: 1,
                success: true,
                index,
                read_round: 0,
            },
        ))
    };
    let ack = |index| ack_from(1, index);
    let add2 = AdminOp::AddServer {
        server: peers[2],
        from: 0,
    };
    step(&mut state, Err(RaftTimer::Election));
    step(
        &mut state,
        Ok((
            peers[1],
            RaftMsg::RequestVoteReply {
                term: 1,
                vote_granted: true,
                incarnation: 0,
            },
        )),
    );
    let view = |members: &[usize], index, committed| ConfigView {
        members: members.iter().map(|&i| peers[i]).collect(),
        index,
        committed,
    };
    // The leader's no-op (index 1) is not committed yet: the 2015 correction.
    assert_eq!(
        step(&mut state, ask(add2.clone())),
        [AdminAnswer::Refused {
            reason: AdminRefusal::TermNotCommitted,
            config: view(&[0, 1], 0, true),
        }]
    );
    step(&mut state, ack(1));
    // Server 2 is caught up as a learner first (§4.2.1): not in the configuration yet, and
    // no other change meanwhile.
    let catching_up = |matched| {
        [AdminAnswer::CatchingUp {
            config: view(&[0, 1], 0, true),
            matched,
            last: 1,
        }]
    };
    assert_eq!(step(&mut state, ask(add2.clone())), catching_up(0));
    assert_eq!(
        step(&mut state, ask(add2.clone())),
        catching_up(0),
        "a retry"
    );
    let remove1 = AdminOp::RemoveServer {
        server: peers[1],
        from: 0,
    };
    assert_eq!(
        step(&mut state, ask(remove1)),
        [AdminAnswer::Refused {
            reason: AdminRefusal::CatchingUp,
            config: view(&[0, 1], 0, true),
        }]
    );
    // Removing the learner ends its catch-up; asking again starts it again.
    let remove2 = AdminOp::RemoveServer {
        server: peers[2],
        from: 0,
    };
    assert_eq!(
        step(&mut state, ask(remove2)),
        [AdminAnswer::Done(view(&[0, 1], 0, true))]
    );
    assert_eq!(step(&mut state, ask(add2.clone())), catching_up(0));
    // A client's command is appended during the first round (index 2): when the learner holds
    // index 1, the end of that round, another round begins, up to index 2.
    let put = ClientRequest {
        req: 1,
        op: KvOp::Put('x', 'A'),
    };
    step(&mut state, Ok((Id::from(8), RaftMsg::Request(put))));
    step(&mut state, ack_from(2, 1));
    assert_eq!(
        step(&mut state, ask(add2.clone())),
        [AdminAnswer::CatchingUp {
            config: view(&[0, 1], 0, true),
            matched: 1,
            last: 2,
        }]
    );
    // The learner holds the whole log: the leader adds it (index 3), and counts it from now.
    step(&mut state, ack_from(2, 2));
    assert_eq!(
        step(&mut state, ask(add2.clone())),
        [AdminAnswer::Pending(view(&[0, 1, 2], 3, false))]
    );
    assert_eq!(
        step(
            &mut state,
            ask(AdminOp::RemoveServer {
                server: peers[1],
                from: 3,
            })
        ),
        [AdminAnswer::Refused {
            reason: AdminRefusal::ChangeInProgress,
            config: view(&[0, 1, 2], 3, false),
        }]
    );
    assert_eq!(
        step(
            &mut state,
            ask(AdminOp::RemoveServer {
                server: peers[1],
                from: 0,
            })
        ),
        [AdminAnswer::Refused {
            reason: AdminRefusal::ConfigChanged,
            config: view(&[0, 1, 2], 3, false),
        }]
    );
    step(&mut state, ack(3));
    assert_eq!(
        step(&mut state, ask(add2)),
        [AdminAnswer::Done(view(&[0, 1, 2], 3, true))]
    );
    let RaftState::Server(s) = &state else {
        unreachable!("a server's state")
    };
    assert_eq!(s.durable.config_entries(), 1, "the retry appended nothing");
}
