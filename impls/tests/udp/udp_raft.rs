//! Raft over UDP: a 3-node loopback cluster with loss, duplication and delay, three concurrent
//! key-value clients, the leader SIGKILLed and restarted from its data directory twice; the
//! history (final reads included) must be linearizable. An idle cluster keeps its leader:
//! heartbeats must hold off the followers' elections, so the term stays where it is. And a
//! follower restarted far behind catches up, although the entries it lacks do not fit in one
//! datagram.

use crate::udp_common;

use ballot::runtime::codec;
use ballot_models::raft::{RaftStorage, Term};
use ballot_properties::kv::KvOp;
use std::time::{Duration, Instant};
use udp_common::*;

#[test]
fn raft_survives_leader_kills_with_loss_and_duplication() {
    kv_fault_test("raft", "raft-kill-restart");
}

/// Node `i`'s saved storage.
fn storage(nodes: &Nodes, i: usize) -> RaftStorage<String, String> {
    saved(nodes, i)
}

/// Every node's saved `currentTerm` (a node saves its term before it sends anything in it).
fn terms(nodes: &Nodes) -> Vec<Term> {
    (0..nodes.peers.len())
        .map(|i| storage(nodes, i).current_term)
        .collect()
}

#[test]
fn an_idle_raft_cluster_keeps_its_leader() {
    let started = Instant::now();
    let dir = tmp_dir("raft-idle");
    let nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    client
        .call(KvOp::Put("x".into(), "1".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(&nodes).expect("a leader answers after a write");
    let before = terms(&nodes);
    // About ten election timeouts (150-300 ms) with no client traffic: only heartbeats (every
    // 50-60 ms) keep the followers from starting elections.
    std::thread::sleep(Duration::from_secs(3));
    let after = terms(&nodes);
    let (max_before, max_after) = (*before.iter().max().unwrap(), *after.iter().max().unwrap());
    // One election is tolerated: on a loaded machine a node can be descheduled for longer than
    // an election timeout. Followers whose timers are not reset by heartbeats start one every
    // 150-300 ms.
    assert!(
        max_after <= max_before + 1,
        "terms went from {before:?} to {after:?} in 3 s of idleness (leader was node {leader})"
    );
    let value = client
        .call(KvOp::Get("x".into()), Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        format!("{value:?}"),
        r#"Kv(GetOk(Some("1")))"#,
        "the write survives"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_follower_restarted_far_behind_catches_up() {
    let started = Instant::now();
    let dir = tmp_dir("raft-catch-up");
    let mut nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    // The leader must send what the follower lacks in several AppendEntries.
    let (leader, follower) = leave_one_far_behind(&mut nodes, &mut client);
    let lacked = storage(&nodes, leader).log.len() - storage(&nodes, follower).log.len();
    assert!(
        lacked >= FAR_BEHIND_WRITES,
        "the follower lacks {lacked} entries"
    );
    // Within 15 s, the follower stores every entry and applies those committed (it learns the
    // commit index from the leader's AppendEntries).
    let caught_up = |nodes: &Nodes| {
        let (l, f) = (storage(nodes, leader), storage(nodes, follower));
        f.log.len() > FAR_BEHIND_WRITES
            && l.log.starts_with(&f.log)
            && f.applied.len() > FAR_BEHIND_WRITES
    };
    let end = Instant::now() + Duration::from_secs(15);
    while !caught_up(&nodes) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (l, f) = (storage(&nodes, leader), storage(&nodes, follower));
    assert!(
        caught_up(&nodes),
        "follower {follower}: log {} applied {}; leader {leader}: log {} applied {}; terms {:?}\n{}",
        f.log.len(),
        f.applied.len(),
        l.log.len(),
        l.applied.len(),
        terms(&nodes),
        nodes.logs()
    );
    // Shortened AppendEntries, and the follower holds the writes it missed.
    read_back_without_the_leader(&mut nodes, &mut client, leader);
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// An operation too large to travel between servers is refused up front, with a reason, and the
/// cluster keeps serving. The value here fits in a client's datagram but not in an AppendEntries
/// around it: accepted, it would never be replicated, and every later entry would wait behind it
/// (without the node's size check this test times out instead of being refused).
#[test]
fn an_operation_too_large_to_replicate_is_refused() {
    let started = Instant::now();
    let dir = tmp_dir("raft-too-large");
    let nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    let big = "v".repeat(codec::MAX_PAYLOAD - 100);
    let refused = client.call(KvOp::Put("x".into(), big), Duration::from_secs(5));
    let message = format!("{}", refused.expect_err("the large value is refused"));
    assert!(message.contains("too large"), "{message}");
    let small = client
        .call(KvOp::Put("x".into(), "1".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("a small write after the refusal: {e}\n{}", nodes.logs()));
    assert_eq!(format!("{small:?}"), "Kv(PutOk)");
    assert!(started.elapsed() < Duration::from_secs(60));
}
