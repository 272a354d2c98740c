//! Raft over UDP: a server that lost its storage rejoins (issue 12, item 3), and a new cluster,
//! every node without storage, starts and serves.
//!
//! The rejoin scenario, as an outside user runs it: a 3-node cluster takes 160 writes of 1 KB
//! (so that catching up takes many datagrams), a follower is SIGKILLed, its data directory
//! deleted and the node restarted; once it has caught up, the *other* follower is SIGKILLed.
//! The leader and the restarted node are a majority: the cluster must still answer, and every
//! acknowledged write must read back. Then the other follower comes back and the leader is
//! SIGKILLed: the two others must elect a leader (the restarted node votes again) and still
//! hold every write.

use crate::udp_common;

use ballot::runtime::client::Client;
use ballot_models::raft::RaftStorage;
use ballot_properties::kv::KvOp;
use std::time::{Duration, Instant};
use udp_common::*;

/// Writes before the wipe: 160 values of 1000 bytes under distinct keys, 160 KB in all.
const WRITES: usize = 160;

fn storage(nodes: &Nodes, i: usize) -> RaftStorage<String, String> {
    saved(nodes, i)
}

fn value(j: usize) -> String {
    format!("{j:0>1000}")
}

/// Reads back every write (and `extra`, written later), failing with the nodes' logs.
fn read_back(nodes: &Nodes, client: &mut Client, extra: &[(String, String)], when: &str) {
    let expected = (0..WRITES)
        .map(|j| (format!("k{j}"), value(j)))
        .chain(extra.iter().cloned());
    for (key, want) in expected {
        let got = client
            .call(KvOp::Get(key.clone()), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{when}: read of {key}: {e}\n{}", nodes.logs()));
        assert_eq!(
            format!("{got:?}"),
            format!("Kv(GetOk(Some({want:?})))"),
            "{when}: {key}"
        );
    }
}

#[test]
fn a_follower_that_lost_its_storage_rejoins_and_the_cluster_survives_another_loss() {
    let started = Instant::now();
    let dir = tmp_dir("raft-rejoin");
    let mut nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    for j in 0..WRITES {
        client
            .call(KvOp::Put(format!("k{j}"), value(j)), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
    }
    let leader = find_leader(&nodes).expect("a leader answers after the writes");
    let wiped = (leader + 1) % 3;
    let other = (leader + 2) % 3;

    // kill -9 a follower, delete its data directory, restart it.
    nodes.kill(wiped);
    std::fs::remove_dir_all(nodes.data(wiped)).unwrap();
    nodes.restart(wiped);

    // Wait (at most 20 s) until it holds the leader's whole log and has rejoined.
    let caught_up = |nodes: &Nodes| {
        let (l, f) = (storage(nodes, leader), storage(nodes, wiped));
        l.log.len() >= WRITES
            && f.log.len() == l.log.len()
            && l.log.starts_with(&f.log)
            && f.rejoin.is_none()
    };
    let end = Instant::now() + Duration::from_secs(20);
    while !caught_up(&nodes) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (l, f) = (storage(&nodes, leader), storage(&nodes, wiped));
    let progress = format!(
        "node {wiped} (wiped) holds {} entries, node {leader} (leader) {}",
        f.log.len(),
        l.log.len()
    );
    // Before the fix the wiped node stayed at the first prefix the leader sent it.
    assert!(
        caught_up(&nodes),
        "{progress}, rejoining: {:?}\n{}",
        f.rejoin,
        nodes.logs()
    );

    // kill -9 the other follower: the leader and the restarted node are a majority.
    nodes.kill(other);
    let after = ("after".to_string(), "1".to_string());
    client
        .call(KvOp::Put(after.0.clone(), after.1.clone()), deadline)
        .unwrap_or_else(|e| {
            panic!(
                "write with node {other} down ({progress}): {e}\n{}",
                nodes.logs()
            )
        });
    read_back(
        &nodes,
        &mut client,
        std::slice::from_ref(&after),
        &format!("node {other} down"),
    );

    // The other follower comes back and the leader goes: the restarted node must vote.
    nodes.restart(other);
    nodes.kill(leader);
    let last = ("last".to_string(), "2".to_string());
    client
        .call(KvOp::Put(last.0.clone(), last.1.clone()), deadline)
        .unwrap_or_else(|e| panic!("write with the leader down: {e}\n{}", nodes.logs()));
    read_back(&nodes, &mut client, &[after, last], "the leader down");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// A new cluster: every node starts without storage. They must find out that they are all new
/// (no node may wait for a cluster that does not exist) and serve.
#[test]
fn a_new_cluster_of_nodes_without_storage_starts_and_serves() {
    let started = Instant::now();
    let dir = tmp_dir("raft-new-cluster");
    let nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    let put = client
        .call(KvOp::Put("x".into(), "1".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    assert_eq!(format!("{put:?}"), "Kv(PutOk)");
    let got = client
        .call(KvOp::Get("x".into()), Duration::from_secs(10))
        .unwrap();
    assert_eq!(format!("{got:?}"), r#"Kv(GetOk(Some("1")))"#);
    assert!(started.elapsed() < Duration::from_secs(60));
}
