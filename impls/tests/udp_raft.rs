//! Raft over UDP: a 3-node loopback cluster with loss, duplication and delay, three concurrent
//! key-value clients, the leader SIGKILLed and restarted from its data directory twice; the
//! history (final reads included) must be linearizable. And an idle cluster keeps its leader:
//! heartbeats must hold off the followers' elections, so the term stays where it is.

mod udp_common;

use ballot::runtime::client::Client;
use ballot::runtime::codec::Codec;
use ballot::runtime::storage::Store;
use ballot_models::raft::{RaftStorage, Term};
use ballot_properties::kv::KvOp;
use std::time::{Duration, Instant};
use udp_common::*;

#[test]
fn raft_survives_leader_kills_with_loss_and_duplication() {
    kv_fault_test("raft", "raft-kill-restart");
}

/// Every node's saved `currentTerm` (a node saves its term before it sends anything in it).
fn terms(nodes: &Nodes) -> Vec<Term> {
    (0..nodes.peers.len())
        .map(|i| {
            Store::open(&nodes.data(i), "raft", nodes.peers[i])
                .unwrap()
                .load::<RaftStorage<String, String>>()
                .unwrap()
                .map_or(0, |s| s.current_term)
        })
        .collect()
}

#[test]
fn an_idle_raft_cluster_keeps_its_leader() {
    let started = Instant::now();
    let dir = tmp_dir("raft-idle");
    let nodes = Nodes::start("raft", 3, &dir, &[]);
    let peers = nodes.peers.clone();
    let mut client = Client::new(peers.clone(), Codec::default()).unwrap();
    client
        .call(KvOp::Put("x".into(), "1".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(&peers).expect("a leader answers after a write");
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
