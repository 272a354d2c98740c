//! Multi-Paxos over UDP: a 3-node loopback cluster with loss, duplication and delay, three
//! concurrent key-value clients, the leader SIGKILLed and restarted from its data directory
//! twice; the history (final reads included) must be linearizable. A busy cluster keeps its
//! leader: the leader's Accepts and heartbeats must hold off the followers' elections. And a
//! server restarted far behind catches up, although the entries it lacks do not fit in one
//! datagram.

use crate::udp_common;

use ballot_models::multi_paxos::MpStorage;
use ballot_properties::kv::KvOp;
use std::time::{Duration, Instant};
use udp_common::*;

#[test]
fn multi_paxos_survives_leader_kills_with_loss_and_duplication() {
    kv_fault_test("multi-paxos", "multi-paxos-kill-restart");
}

/// Node `i`'s saved storage.
fn storage(nodes: &Nodes, i: usize) -> MpStorage<String, String> {
    saved(nodes, i)
}

/// The highest ballot round any node promised (a server saves its promise before it answers).
fn highest_round(nodes: &Nodes) -> u32 {
    (0..nodes.peers.len())
        .filter_map(|i| storage(nodes, i).promised.map(|b| b.round))
        .max()
        .unwrap_or(0)
}

#[test]
fn a_busy_multi_paxos_cluster_keeps_its_leader() {
    let started = Instant::now();
    let dir = tmp_dir("multi-paxos-stable");
    let nodes = Nodes::start("multi-paxos", 3, &dir, &[]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    client
        .call(KvOp::Put("x".into(), "0".into()), deadline)
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let before = highest_round(&nodes);
    // About four election timeouts (0.5-1 s) of writes, then as long again idle. Followers
    // that never restart their election timer take over every 0.5-1 s whatever the leader
    // does; with it, only the leader's silence starts an election.
    let busy = Instant::now() + Duration::from_secs(3);
    let mut j = 0;
    while Instant::now() < busy {
        j += 1;
        client
            .call(KvOp::Put(format!("k{}", j % 5), j.to_string()), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
    }
    std::thread::sleep(Duration::from_secs(3));
    let after = highest_round(&nodes);
    // One takeover is tolerated: on a loaded machine a node can be descheduled for longer than
    // an election timeout.
    assert!(
        after <= before + 1,
        "the highest promised round went from {before} to {after} in 3 s of writes ({j} of \
         them) and 3 s idle"
    );
    let value = client
        .call(KvOp::Get(format!("k{}", j % 5)), deadline)
        .unwrap();
    assert_eq!(format!("{value:?}"), format!("Kv(GetOk(Some(\"{j}\")))"));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_server_restarted_far_behind_catches_up() {
    let started = Instant::now();
    let dir = tmp_dir("multi-paxos-catch-up");
    let mut nodes = Nodes::start("multi-paxos", 3, &dir, &[]);
    let mut client = nodes.client();
    // The catch-up must come in several answers.
    let (leader, behind) = leave_one_far_behind(&mut nodes, &mut client);
    let executed = |nodes: &Nodes, i: usize| storage(nodes, i).log.len();
    let lacked = executed(&nodes, leader) - executed(&nodes, behind);
    // The leader's saved log may lack the last entry it executed: it is saved with its next
    // vote.
    assert!(
        lacked + 1 >= FAR_BEHIND_WRITES,
        "the restarted server lacks {lacked} entries"
    );
    // Within 15 s, the restarted server executes every entry the leader executed: it learns
    // the leader's commit point from its heartbeats and asks for the entries it missed. What
    // it executed is saved with its next vote (executing alone saves nothing,
    // `MpServer::volatile_applied`), so a write every 100 ms makes the nodes save; the two
    // saved logs must agree as far as both go.
    let caught_up = |nodes: &Nodes| {
        let (l, b) = (storage(nodes, leader), storage(nodes, behind));
        b.log.len() > FAR_BEHIND_WRITES && (l.log.starts_with(&b.log) || b.log.starts_with(&l.log))
    };
    let end = Instant::now() + Duration::from_secs(15);
    let mut writes = 0;
    while !caught_up(&nodes) && Instant::now() < end {
        writes += 1;
        client
            .call(
                KvOp::Put("after".into(), writes.to_string()),
                Duration::from_secs(5),
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        caught_up(&nodes),
        "server {behind} executed {} entries; leader {leader} {}\n{}",
        executed(&nodes, behind),
        executed(&nodes, leader),
        nodes.logs()
    );
    // Shortened Chosen answers, and the restarted server holds the writes it missed.
    read_back_without_the_leader(&mut nodes, &mut client, leader);
    assert!(started.elapsed() < Duration::from_secs(60));
}
