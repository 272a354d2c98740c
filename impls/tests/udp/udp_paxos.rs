//! Paxos over UDP: concurrent clients propose different values while the network drops and
//! duplicates datagrams and a node is SIGKILLed and restarted from its data directory. All
//! clients and all nodes must report the same decided value, and the recorded client history
//! must be linearizable for a write-once register.

use crate::udp_common;

use ballot::runtime::client::Client;
use ballot::runtime::codec::WireRet;
use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot::runtime::storage::Store;
use ballot_models::paxos::PaxosStorage;
use ballot_properties::kv::{KvOp, KvRet};
use std::time::{Duration, Instant};
use udp_common::*;

const DEADLINE: Duration = Duration::from_secs(15);

fn decided(ret: &WireRet) -> String {
    match ret {
        WireRet::Decided(v) | WireRet::Kv(KvRet::GetOk(Some(v))) => v.clone(),
        other => panic!("unexpected answer {other:?}"),
    }
}

#[test]
fn clients_and_nodes_agree_on_one_value_across_kill_restart_loss_and_duplication() {
    let started = Instant::now();
    let dir = tmp_dir("paxos-agree");
    let faults = [
        "--drop",
        "0.15",
        "--duplicate",
        "0.15",
        "--delay-ms",
        "0..3",
    ];
    let mut nodes = Nodes::start("paxos", 3, &dir, &faults);
    let peers = nodes.peers.clone();
    let recorder = Recorder::create(&history_path("paxos-kill-restart")).unwrap();

    // Three clients propose different values, each to a different first server, concurrently.
    let proposers: Vec<_> = (0..3)
        .map(|c| {
            let client = nodes.client().with_first(c);
            let mut client = RecordingClient::new(client, recorder.clone());
            std::thread::spawn(move || {
                let put = client.call(KvOp::Put("r".into(), format!("value-{c}")), DEADLINE);
                let get = client.call(KvOp::Get("r".into()), DEADLINE);
                (put.map(|r| decided(&r)), get.map(|r| decided(&r)))
            })
        })
        .collect();
    // Meanwhile node 0 (client 0's first server) is killed and restarted from its directory.
    std::thread::sleep(Duration::from_millis(5));
    nodes.kill(0);
    std::thread::sleep(Duration::from_millis(300));
    nodes.restart(0);

    let mut seen = Vec::new();
    for p in proposers {
        let (put, get) = p.join().unwrap();
        seen.push(put.unwrap_or_else(|e| panic!("put: {e}\n{}", nodes.logs())));
        seen.push(get.unwrap_or_else(|e| panic!("get: {e}\n{}", nodes.logs())));
    }
    let value = seen[0].clone();
    assert!(
        ["value-0", "value-1", "value-2"].contains(&value.as_str()),
        "decided {value}, which no client proposed"
    );
    assert!(
        seen.iter().all(|v| *v == value),
        "clients disagree: {seen:?}"
    );

    // Kill and restart node 1 after the decision, then ask every node directly: a node that
    // missed the decision learns it by running a ballot (Put), then answers reads.
    nodes.kill(1);
    nodes.restart(1);
    for (i, peer) in peers.iter().enumerate() {
        // A client of node i alone: no redirect, no rotation.
        let only_i = Client::new(vec![*peer], nodes.codec()).unwrap();
        let mut client = RecordingClient::new(only_i, recorder.clone());
        let put = client
            .call(KvOp::Put("r".into(), format!("probe-{i}")), DEADLINE)
            .unwrap_or_else(|e| panic!("node {i}: {e}\n{}", nodes.logs()));
        assert_eq!(decided(&put), value, "node {i} decided otherwise");
        let got = client.call(KvOp::Get("r".into()), DEADLINE).unwrap();
        assert_eq!(decided(&got), value, "node {i} reads otherwise");
    }

    // Every node's durable storage records exactly that one decision.
    for (i, peer) in peers.iter().enumerate() {
        let store = Store::open(&nodes.data(i), "paxos", *peer).unwrap();
        let saved: PaxosStorage<String> = store.read().unwrap().expect("a storage file");
        assert_eq!(
            saved.decisions,
            vec![(0, value.clone())],
            "node {i} storage"
        );
    }

    // The faults were really on, and no handler panicked.
    assert_faults_injected(&nodes);

    let checked = history::check_register(&recorder.events())
        .unwrap_or_else(|e| panic!("{e}; see traces/histories/paxos-kill-restart.jsonl"));
    assert_eq!(checked.timed_out, 0);
    assert_eq!(checked.answered, 12);
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Issue 12, "Paxos reads learn": a node that missed the decision answers `get` on its own. Node
/// 2 is down while a put is decided by nodes 0 and 1 (the Decided sent to it is lost), then
/// restarted; a client of node 2 alone asks `get`, and nothing else happens in the cluster. The
/// node runs a read ballot (Paxos Made Simple §2.2 with no value of its own: Phase 1 reports the
/// accepted value, Phase 2 gets it chosen in its ballot) and answers the decided value. Before
/// the fix the node only waited for a Decided that never came, and the read timed out.
#[test]
fn a_get_at_a_node_that_missed_the_decision_learns_it() {
    let started = Instant::now();
    let dir = tmp_dir("paxos-read-learns");
    let mut nodes = Nodes::start("paxos", 3, &dir, &[]);
    let peers = nodes.peers.clone();
    nodes.kill(2);
    let recorder = Recorder::create(&history_path("paxos-read-learns")).unwrap();
    let codec = nodes.codec();
    let only = |i: usize| Client::new(vec![peers[i]], codec.clone()).unwrap();
    let mut writer = RecordingClient::new(only(0), recorder.clone());
    let put = writer
        .call(KvOp::Put("r".into(), "written".into()), DEADLINE)
        .unwrap_or_else(|e| panic!("put: {e}\n{}", nodes.logs()));
    assert_eq!(decided(&put), "written");

    // Node 2 comes back without the decision: its storage never saw it.
    nodes.restart(2);
    let before: PaxosStorage<String> = saved(&nodes, 2);
    assert_eq!(before.decided(), None, "node 2 knew the decision already");
    let mut reader = RecordingClient::new(only(2), recorder.clone());
    let asked = Instant::now();
    let got = reader
        .call(KvOp::Get("r".into()), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("get at node 2: {e}\n{}", nodes.logs()));
    assert_eq!(decided(&got), "written");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let after: PaxosStorage<String> = saved(&nodes, 2);
    assert_eq!(after.decisions, vec![(0, "written".to_string())]);

    let checked = history::check_register(&recorder.events())
        .unwrap_or_else(|e| panic!("{e}; see traces/histories/paxos-read-learns.jsonl"));
    assert_eq!((checked.answered, checked.timed_out), (2, 0));
    assert!(started.elapsed() < Duration::from_secs(60));
}
