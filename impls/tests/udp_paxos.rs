//! Paxos over UDP: concurrent clients propose different values while the network drops and
//! duplicates datagrams and a node is SIGKILLed and restarted from its data directory. All
//! clients and all nodes must report the same decided value, and the recorded client history
//! must be linearizable for a write-once register.

mod udp_common;

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
