//! Reads without log writes (issue 15, item 4), over UDP on 3-node loopback clusters: a burst of
//! gets from several clients leaves the leader's storage untouched — not one `fsync` — for Raft
//! (ReadIndex, Ongaro's dissertation §6.4) and Multi-Paxos (the leader confirms its ballot with
//! a majority); and a history of one writer and two readers running at once is linearizable.

use crate::udp_common;

use ballot::runtime::codec::WireRet;
use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot_properties::kv::{KvOp, KvRet};
use std::time::{Duration, Instant};
use udp_common::*;

const READERS: usize = 3;
const GETS: usize = 40;

/// The leader's counters and state, as `ballot client stats` shows them.
fn stats(nodes: &Nodes, i: usize) -> serde_json::Value {
    nodes
        .client()
        .stats(i, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("stats of node {i}: {e}"))
}

/// Node `i`'s `syncs` counter once it has stopped changing (two reads 300 ms apart agree):
/// the commit of the last write reaches the followers with the next heartbeat, and nothing else
/// is going on.
fn settled_syncs(nodes: &Nodes, i: usize) -> u64 {
    let mut last = stats(nodes, i)["counters"]["syncs"].as_u64().unwrap();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(300));
        let now = stats(nodes, i)["counters"]["syncs"].as_u64().unwrap();
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("node {i} keeps syncing while idle\n{}", nodes.logs())
}

/// What identifies a leadership: the role and the term (Raft) or ballot (Multi-Paxos).
fn leadership(s: &serde_json::Value) -> String {
    format!(
        "{} {} {}",
        s["state"]["role"], s["state"]["term"], s["state"]["ballot"]
    )
}

/// `READERS` clients each read `x` `GETS` times at once, recorded in `recorder`. Returns how
/// many gets were answered.
fn burst(nodes: &Nodes, recorder: &std::sync::Arc<Recorder>) -> usize {
    let threads: Vec<_> = (0..READERS)
        .map(|c| {
            let mut client = RecordingClient::new(nodes.client().with_first(c), recorder.clone());
            std::thread::spawn(move || {
                (0..GETS)
                    .filter(|_| {
                        client
                            .call(KvOp::Get("x".into()), Duration::from_secs(5))
                            .is_ok()
                    })
                    .count()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

fn gets_write_nothing(protocol: &str) {
    let started = Instant::now();
    let name = format!("{protocol}-reads");
    let dir = tmp_dir(&name);
    let nodes = Nodes::start(protocol, 3, &dir, &[]);
    let recorder = Recorder::create(&history_path(&name)).unwrap();
    let mut writer = RecordingClient::new(nodes.client(), recorder.clone());
    writer
        .call(KvOp::Put("x".into(), "0".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    // A burst of gets, with the same leader before and after (on a loaded machine a node can
    // be descheduled past an election timeout: then the burst is run again, at most thrice).
    let mut checked = false;
    for attempt in 1..=3 {
        let leader = find_leader(&nodes).expect("a leader answers after a write");
        let before = settled_syncs(&nodes, leader);
        let (s0, requests0) = {
            let s = stats(&nodes, leader);
            let r = s["counters"]["client_requests"].as_u64().unwrap();
            (s, r)
        };
        let answered = burst(&nodes, &recorder);
        let s1 = stats(&nodes, leader);
        let after = s1["counters"]["syncs"].as_u64().unwrap();
        let requests1 = s1["counters"]["client_requests"].as_u64().unwrap();
        if leadership(&s0) != leadership(&s1) || s0["state"]["role"] != "leader" {
            eprintln!(
                "attempt {attempt}: the leadership changed during the burst ({} -> {}): again",
                leadership(&s0),
                leadership(&s1)
            );
            continue;
        }
        assert_eq!(answered, READERS * GETS, "{}", nodes.logs());
        assert!(
            requests1 - requests0 >= (READERS * GETS) as u64,
            "the leader served {} of the gets",
            requests1 - requests0
        );
        assert_eq!(
            before,
            after,
            "{protocol}: the leader synced {} times for {} gets",
            after - before,
            READERS * GETS
        );
        checked = true;
        break;
    }
    assert!(checked, "no burst ran under one leader\n{}", nodes.logs());
    // One writer and two readers at once: the reads see the writes in order.
    let write = std::thread::spawn({
        let mut writer = RecordingClient::new(nodes.client(), recorder.clone());
        move || {
            for j in 1..=20 {
                writer
                    .call(KvOp::Put("x".into(), j.to_string()), Duration::from_secs(5))
                    .unwrap();
            }
        }
    });
    let reads: Vec<_> = (1..=2)
        .map(|c| {
            let mut reader = RecordingClient::new(nodes.client().with_first(c), recorder.clone());
            std::thread::spawn(move || {
                for _ in 0..30 {
                    let got = reader
                        .call(KvOp::Get("x".into()), Duration::from_secs(5))
                        .unwrap();
                    assert!(matches!(got, WireRet::Kv(KvRet::GetOk(Some(_)))), "{got:?}");
                }
            })
        })
        .collect();
    write.join().unwrap();
    for r in reads {
        r.join().unwrap();
    }
    let events = recorder.events();
    let checked = history::check_kv(&events).unwrap_or_else(|e| {
        panic!(
            "{e}; history: {}\n{}",
            history_path(&name).display(),
            nodes.logs()
        )
    });
    assert!(checked.answered >= 1 + READERS * GETS + 20 + 60);
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn raft_gets_write_nothing_and_stay_linearizable() {
    gets_write_nothing("raft");
}

#[test]
fn multi_paxos_gets_write_nothing_and_stay_linearizable() {
    gets_write_nothing("multi-paxos");
}
