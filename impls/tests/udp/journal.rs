//! The journal round-trips: for random sequences of storages (Raft's, Multi-Paxos's, Paxos's),
//! each change (`Journaled::delta`) applied to the value before gives exactly the value after,
//! and a store that saved them (snapshots, journal records, new snapshots now and then) loads
//! exactly the last one saved, from its files, in a new process's place (a new `Store`).

use crate::udp_common;

use ballot::runtime::journal::Journaled;
use ballot::runtime::storage::Store;
use ballot_models::cluster::ServerSet;
use ballot_models::kv::{Command, Entry};
use ballot_models::multi_paxos::{MpStorage, Vote};
use ballot_models::paxos::{Ballot, PaxosStorage};
use ballot_models::raft::{Applied, LogEntry, RaftStorage, SnapshotConfig};
use ballot_properties::kv::KvOp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stateright::actor::Id;
use std::fmt::Debug;
use std::net::{Ipv4Addr, SocketAddrV4};
use udp_common::tmp_dir;

const ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000);

fn cmd(client: u8, req: u64, value: u16) -> Entry<String, String> {
    Entry::Cmd(Command {
        client: Id::from(client as usize),
        req: req as u32,
        op: KvOp::Put(format!("k{}", value % 5), format!("v\"{value}\\é")),
    })
}

/// One change to a Raft storage.
#[derive(Clone, Debug)]
enum RaftOp {
    Term(u8),
    Vote(Option<u8>),
    Append(u8, u16),
    Noop,
    Truncate(u16),
    Apply,
    /// The storage is lost: the node restarts empty, rejoining, of a new incarnation.
    Lose(u64),
    /// A peer answers the rejoining node's probe.
    Heard(u8, u8),
    /// The node has rejoined.
    Rejoined,
    /// A snapshot folds the applied entries into their state machine.
    Fold,
    /// The snapshot's configuration (§7) becomes the first `k` servers (none: 0).
    Config(u8),
}

fn raft_op() -> impl Strategy<Value = RaftOp> {
    prop_oneof![
        1 => (0..4u8).prop_map(RaftOp::Term),
        1 => proptest::option::of(0..3u8).prop_map(RaftOp::Vote),
        4 => (0..3u8, any::<u16>()).prop_map(|(c, v)| RaftOp::Append(c, v)),
        1 => Just(RaftOp::Noop),
        1 => (0..200u16).prop_map(RaftOp::Truncate),
        3 => Just(RaftOp::Apply),
        1 => any::<u64>().prop_map(RaftOp::Lose),
        1 => (0..3u8, 0..4u8).prop_map(|(p, t)| RaftOp::Heard(p, t)),
        1 => Just(RaftOp::Rejoined),
        1 => Just(RaftOp::Fold),
        1 => (0..4u8).prop_map(RaftOp::Config),
    ]
}

fn raft_step(s: &mut RaftStorage<String, String>, op: &RaftOp, n: u64) {
    match op {
        RaftOp::Term(t) => s.current_term += *t as u64,
        RaftOp::Vote(v) => s.voted_for = *v,
        RaftOp::Append(c, v) => {
            // Several entries at once, so that logs span many chunks.
            for k in 0..(*v % 90) {
                s.log.push(LogEntry {
                    term: s.current_term,
                    entry: cmd(*c, n * 100 + k as u64, *v),
                });
            }
        }
        RaftOp::Noop => s.log.push(LogEntry {
            term: s.current_term,
            entry: Entry::Noop,
        }),
        RaftOp::Truncate(k) => s.log.truncate(s.log.len().saturating_sub(*k as usize)),
        RaftOp::Apply => {
            while s.applied.len() < s.log.len() {
                let i = s.applied.len();
                let e = s.log[i].clone();
                s.applied.push((i as u32 + 1, e.entry));
                s.applied_terms.push(Applied {
                    term: e.term,
                    at: s.current_term,
                });
            }
        }
        RaftOp::Lose(incarnation) => *s = RaftStorage::lost(*incarnation),
        RaftOp::Heard(peer, term) => {
            if let Some(r) = &mut s.rejoin {
                r.heard.resize(3, None);
                r.heard[*peer as usize] = Some((*term as u64, s.log.len() as u64));
            }
        }
        RaftOp::Rejoined => s.rejoin = None,
        RaftOp::Fold => {
            let sm = ballot_models::raft::state_machine(s);
            s.fold_applied(&sm);
        }
        RaftOp::Config(k) => {
            s.snapshot_config =
                SnapshotConfig((*k > 0).then(|| (n, ServerSet::first(*k as usize))));
        }
    }
}

/// One change to a Multi-Paxos storage.
#[derive(Clone, Debug)]
enum MpOp {
    Promise(u32, u8),
    /// A vote in a slot: replaces the slot's vote, or is inserted in slot order.
    Vote(u32, u32, u16),
    Decide(u16),
    /// Log compaction: the votes of executed slots discarded, the log folded into a state
    /// machine (a real node's `MpServer::compact_when`).
    Compact,
}

fn mp_op() -> impl Strategy<Value = MpOp> {
    prop_oneof![
        1 => (0..10u32, 0..3u8).prop_map(|(r, p)| MpOp::Promise(r, p)),
        4 => (0..300u32, 0..10u32, any::<u16>()).prop_map(|(s, r, v)| MpOp::Vote(s, r, v)),
        2 => any::<u16>().prop_map(MpOp::Decide),
        1 => Just(MpOp::Compact),
    ]
}

fn mp_step(s: &mut MpStorage<String, String>, op: &MpOp, n: u64) {
    match op {
        MpOp::Promise(round, proposer) => {
            s.promised = Some(Ballot {
                round: *round,
                proposer: *proposer,
            })
        }
        MpOp::Vote(slot, round, v) => {
            let vote = Vote {
                slot: *slot,
                ballot: Ballot {
                    round: *round,
                    proposer: 0,
                },
                entry: cmd(1, n, *v),
            };
            match s.votes.binary_search_by_key(slot, |v| v.slot) {
                Ok(i) => s.votes.set(i, vote),
                Err(i) => s.votes.insert(i, vote),
            }
        }
        MpOp::Decide(v) => {
            for k in 0..(*v % 40) {
                let slot = s.executed_count();
                s.log.push((slot, cmd(2, n * 100 + k as u64, *v)));
                s.executed.insert(slot);
            }
        }
        MpOp::Compact => {
            s.compact();
            let sm = s.state_machine(true);
            s.fold_log(&sm);
        }
    }
}

fn paxos_op() -> impl Strategy<Value = (u32, u8, Option<u16>)> {
    (0..10u32, 0..3u8, proptest::option::of(any::<u16>()))
}

fn paxos_step(s: &mut PaxosStorage<String>, op: &(u32, u8, Option<u16>)) {
    let b = Ballot {
        round: op.0,
        proposer: op.1,
    };
    s.promised = Some(b);
    s.last_round = s.last_round.max(op.0);
    match op.2 {
        Some(v) if v % 3 == 0 => s.decisions.push((0, format!("d{v}"))),
        Some(v) => s.accepted = Some((b, format!("a{v}"))),
        None => {}
    }
}

/// Builds the sequence of storages `ops` lead through (with a save after the ops marked so),
/// checks the delta contract between consecutive saved values, saves them all in a store whose
/// snapshots come early (`compact_min`), and checks what a new store loads, from time to time
/// and at the end.
fn round_trip<T: Journaled + Debug + Default, O>(
    dir: &std::path::Path,
    protocol: &str,
    compact_min: u64,
    ops: &[(O, bool)],
    step: impl Fn(&mut T, &O, u64),
) -> Result<(), TestCaseError> {
    let _ = std::fs::remove_dir_all(dir);
    let mut store: Store<T> = Store::open(dir, protocol, ADDR)
        .unwrap()
        .with_compact_min(compact_min);
    let mut value = T::default();
    let mut saved: Option<T> = None;
    for (n, (op, save)) in ops.iter().enumerate() {
        step(&mut value, op, n as u64);
        if !*save {
            continue;
        }
        if let Some(prev) = &saved {
            match prev.delta(&value) {
                None => prop_assert!(*prev == value, "no change between different values"),
                Some(d) => {
                    prop_assert!(*prev != value, "a change between equal values");
                    let mut replayed = prev.clone();
                    replayed.apply(d).unwrap();
                    prop_assert!(replayed == value, "the change does not round-trip");
                }
            }
        }
        let written = store.save(&value).unwrap();
        prop_assert_eq!(written.is_none(), saved.as_ref() == Some(&value));
        saved = Some(value.clone());
        if n % 7 == 0 {
            let read: Option<T> = Store::open(dir, protocol, ADDR).unwrap().read().unwrap();
            prop_assert!(
                read.as_ref() == saved.as_ref(),
                "read differs after save {}",
                n
            );
        }
    }
    // One owner at a time (a node owns its directory): the old store's background snapshot,
    // if any, is waited for (and left unswitched) when it is dropped.
    drop(store);
    let mut fresh: Store<T> = Store::open(dir, protocol, ADDR).unwrap();
    let loaded = fresh.load().unwrap();
    prop_assert!(loaded == saved, "load differs at the end");
    // The reloaded store goes on saving where the old one stopped.
    if let Some(v) = saved {
        step(&mut value, &ops[0].0, 999);
        fresh.save(&value).unwrap();
        let again: Option<T> = Store::open(dir, protocol, ADDR).unwrap().load().unwrap();
        prop_assert!(
            again.as_ref() == Some(&value),
            "load after a reload differs"
        );
        let _ = v;
    }
    Ok(())
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn raft_storages_round_trip_through_the_journal() {
    let dir = tmp_dir("journal-raft");
    runner(48)
        .run(
            &(
                prop::collection::vec((raft_op(), any::<bool>()), 1..60),
                prop_oneof![Just(0u64), Just(4096), Just(1 << 30)],
            ),
            |(ops, compact)| round_trip(&dir, "raft", compact, &ops, raft_step),
        )
        .unwrap();
}

#[test]
fn multi_paxos_storages_round_trip_through_the_journal() {
    let dir = tmp_dir("journal-mp");
    runner(48)
        .run(
            &(
                prop::collection::vec((mp_op(), any::<bool>()), 1..60),
                prop_oneof![Just(0u64), Just(4096), Just(1 << 30)],
            ),
            |(ops, compact)| round_trip(&dir, "multi-paxos", compact, &ops, mp_step),
        )
        .unwrap();
}

#[test]
fn paxos_storages_round_trip_through_the_journal() {
    let dir = tmp_dir("journal-paxos");
    runner(48)
        .run(
            &(
                prop::collection::vec((paxos_op(), any::<bool>()), 1..40),
                prop_oneof![Just(0u64), Just(1 << 30)],
            ),
            |(ops, compact)| round_trip(&dir, "paxos", compact, &ops, |s, o, _| paxos_step(s, o)),
        )
        .unwrap();
}

/// `Store::with_synced_appends(false)` (the journal benchmark's "append alone") leaves out the
/// append's `fdatasync` and nothing else: the records are written and load back; a store as
/// every node opens it syncs each append.
#[test]
fn unsynced_appends_skip_only_the_sync() {
    for synced in [true, false] {
        let dir = tmp_dir(&format!("journal-synced-{synced}"));
        let mut store = Store::open(&dir, "raft", ADDR)
            .unwrap()
            .with_synced_appends(synced);
        let mut s = RaftStorage::<String, String>::default();
        store.save(&s).unwrap(); // a snapshot and an empty journal
        let after_snapshot = store.syncs();
        for n in 0..5u16 {
            s.log.push(LogEntry {
                term: 1,
                entry: cmd(1, u64::from(n) + 1, n),
            });
            assert!(store.save(&s).unwrap().is_some());
        }
        assert_eq!(
            store.snapshots(),
            1,
            "five small records fit in the journal"
        );
        let appends_synced = store.syncs() - after_snapshot;
        assert_eq!(appends_synced, if synced { 5 } else { 0 });
        let mut again = Store::<RaftStorage<String, String>>::open(&dir, "raft", ADDR).unwrap();
        assert_eq!(again.load().unwrap(), Some(s));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A snapshot longer than several [`SNAPSHOT_PIECE`]s (written, in the background, a piece at a
/// time with a sync after each) replaces the old one and loads exactly as saved.
///
/// [`SNAPSHOT_PIECE`]: ballot::runtime::storage::SNAPSHOT_PIECE
#[test]
fn a_snapshot_of_several_pieces_is_written_in_the_background_and_loads() {
    use ballot::runtime::storage::SNAPSHOT_PIECE;
    let dir = tmp_dir("journal-pieces");
    let _ = std::fs::remove_dir_all(&dir);
    let mut store: Store<MpStorage<String, String>> = Store::open(&dir, "multi-paxos", ADDR)
        .unwrap()
        .with_compact_min(4096);
    let mut value = MpStorage::default();
    let long = "v".repeat(1000);
    let mut largest = 0;
    for save in 0..80u64 {
        for k in 0..500u64 {
            let slot = value.log.len() as u32;
            let entry = Entry::Cmd(Command {
                client: Id::from(2),
                req: (save * 1000 + k) as u32,
                op: KvOp::Put(format!("k{k}"), long.clone()),
            });
            value.log.push((slot, entry));
            value.executed.insert(slot);
        }
        store.save(&value).unwrap();
        largest = largest.max(std::fs::metadata(store.path()).unwrap().len());
    }
    assert!(
        largest > 2 * SNAPSHOT_PIECE as u64,
        "the largest snapshot written, {largest} bytes, is not of several pieces"
    );
    drop(store);
    let loaded: Option<MpStorage<String, String>> = Store::open(&dir, "multi-paxos", ADDR)
        .unwrap()
        .load()
        .unwrap();
    assert!(
        loaded == Some(value),
        "the value loaded differs from the value saved"
    );
}
