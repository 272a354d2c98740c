//! Forged server messages against the default, authenticated runtime.
//!
//! Without a key, any host that can send a node datagrams can forge a server message from a
//! peer's address: an AppendEntries with term 2^64 - 1 makes a Raft node adopt that term, after
//! which no election can win a higher one and the cluster is wedged. Nodes are now keyed by
//! default (`ballot cluster` creates a key; `ballot node` needs `--key-file` or `--insecure`), and
//! a keyed node drops such a datagram, unauthenticated or with a wrong MAC, before it reaches the
//! actor.

use crate::udp_common;

use ballot::runtime::codec::{Codec, Key, Kind};
use ballot::runtime::node::{Node, NodeConfig, Received};
use ballot::runtime::served::Raft;
use ballot::runtime::transport::Faults;
use ballot_models::raft::{RaftMsg, Term};
use ballot_properties::kv::KvOp;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use udp_common::*;

/// An AppendEntries (a heartbeat) of `term`.
fn heartbeat(term: Term) -> RaftMsg<String, String> {
    RaftMsg::AppendEntries {
        term,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: Arc::new(Vec::new()),
        leader_commit: 0,
        leader_last: 0,
        read_round: 0,
    }
}

/// The forgeries of a message from a host without the cluster's key: no MAC, and a MAC under
/// another key.
fn forgeries(msg: &RaftMsg<String, String>) -> [Vec<u8>; 2] {
    let other = Key::from_bytes(b"not the cluster's key, 32 bytes.").unwrap();
    [
        Codec::default().encode(Kind::Peer, msg).unwrap(),
        Codec::new(Some(other)).encode(Kind::Peer, msg).unwrap(),
    ]
}

fn term(node: &Node<Raft>) -> Term {
    node.saved().map_or(0, |s| s.current_term)
}

/// A keyed Raft node (in this process; the two other servers played by the test) at term 1
/// receives AppendEntries of term 2^64 - 1 from a peer's address, unauthenticated and under a
/// wrong key: both are dropped as bad MACs, and its term and files stay as they were. The same
/// datagram reaches an `--insecure` node's actor and sets its term to 2^64 - 1: the check can
/// fail.
#[test]
fn forged_append_entries_change_nothing_on_a_keyed_raft_node() {
    let key = Key::from_bytes(b"the cluster's shared key, 32 b..").unwrap();
    let keyed = Codec::new(Some(key));
    let (mut node, peers, _others) = node_at_0::<Raft>(&tmp_dir("auth-keyed"), keyed.clone());
    let genuine = keyed.encode(Kind::Peer, &heartbeat(1)).unwrap();
    let leader = SocketAddr::V4(peers[1]);
    assert_eq!(node.receive(leader, &genuine).unwrap(), Received::Delivered);
    assert_eq!(term(&node), 1);
    let files = |n: &Node<Raft>| {
        (
            std::fs::read(n.storage_path()).unwrap_or_default(),
            std::fs::read(n.journal_path()).unwrap_or_default(),
        )
    };
    let before = files(&node);
    for from in [peers[1], peers[2]] {
        for forged in forgeries(&heartbeat(Term::MAX)) {
            let got = node.receive(SocketAddr::V4(from), &forged).unwrap();
            assert_eq!(got, Received::Malformed);
        }
    }
    assert_eq!(node.counters().dropped_bad_mac, 4);
    assert_eq!(term(&node), 1);
    assert_eq!(files(&node), before);

    // Without a key, the unauthenticated forgery is delivered and wedges the term.
    let (mut open, peers, _others) = node_at_0::<Raft>(&tmp_dir("auth-insecure"), Codec::default());
    let [unauthenticated, _] = forgeries(&heartbeat(Term::MAX));
    let got = open
        .receive(SocketAddr::V4(peers[1]), &unauthenticated)
        .unwrap();
    assert_eq!(got, Received::Delivered);
    assert_eq!(term(&open), Term::MAX);
}

/// A default (keyed) Raft cluster of node processes; one node is replaced by the same node run in
/// this process (same data, address and key), which receives forged AppendEntries of term
/// 2^64 - 1 from both other servers' addresses, and the same forgeries reach the other nodes as
/// real datagrams from the test's address. Nothing changes: the node's term stays, every
/// forgery is counted as a bad MAC, and the cluster answers writes and reads afterwards, the
/// in-process node included (it stores the new write).
#[test]
fn a_keyed_raft_cluster_answers_after_forged_datagrams() {
    let started = Instant::now();
    let dir = tmp_dir("auth-cluster");
    let mut nodes = Nodes::start("raft", 3, &dir, &[]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    client
        .call(KvOp::Put("x".into(), "1".into()), deadline)
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    nodes.kill(2);
    let cfg = NodeConfig {
        index: 2,
        peers: nodes.peers.clone(),
        data: nodes.data(2),
        codec: nodes.codec(),
        faults: Faults::default(),
        stats_every: None,
        partition_file: None,
        snapshot_every: ballot::runtime::node::DEFAULT_SNAPSHOT_EVERY,
        members: None,
    };
    let mut node = Node::<Raft>::start(cfg).unwrap();
    let before = term(&node);
    assert!(before >= 1, "node 2 saved a term before it was stopped");
    let forged = forgeries(&heartbeat(Term::MAX));
    for from in [nodes.peers[0], nodes.peers[1]] {
        for f in &forged {
            assert_eq!(
                node.receive(SocketAddr::V4(from), f).unwrap(),
                Received::Malformed
            );
        }
    }
    assert_eq!(term(&node), before);
    assert_eq!(node.counters().dropped_bad_mac, 4);
    // The same forgeries as real datagrams to the two node processes.
    let (sockets, _) = loopback_sockets(1);
    for to in [nodes.peers[0], nodes.peers[1]] {
        for f in &forged {
            sockets[0].send_to(f, to).unwrap();
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    let running = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            node.run(&stop).unwrap();
            node
        })
    };
    for (key, value) in [("y", "2"), ("z", "3")] {
        client
            .call(KvOp::Put(key.into(), value.into()), deadline)
            .unwrap_or_else(|e| panic!("write after the forgeries: {e}\n{}", nodes.logs()));
    }
    let got = client.call(KvOp::Get("x".into()), deadline).unwrap();
    assert_eq!(format!("{got:?}"), r#"Kv(GetOk(Some("1")))"#);
    let bad_macs: u64 = [0, 1]
        .map(|i| {
            client.stats(i, Duration::from_secs(2)).unwrap()["counters"]["dropped_bad_mac"]
                .as_u64()
                .unwrap()
        })
        .iter()
        .sum();
    assert_eq!(bad_macs, 4, "each node process dropped both forgeries");
    // The in-process node takes part: it stores the writes made after the forgeries.
    let holds_z = |node: &Node<Raft>| {
        node.saved().is_some_and(|s| {
            s.log
                .iter()
                .any(|e| format!("{:?}", e.entry).contains(r#"Put("z", "3")"#))
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let node = running.join().unwrap();
    assert!(holds_z(&node), "{:?}\n{}", node.saved(), nodes.logs());
    assert!(term(&node) < before + 10, "term {}", term(&node));
    assert!(started.elapsed() < Duration::from_secs(60));
}
