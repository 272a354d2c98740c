//! Several messages per datagram (`runtime::pack`) over UDP: a 3-node Multi-Paxos cluster with
//! loss and duplication under eight concurrent clients, so that a leader's batches hold several
//! commands and its Accepts (and the followers' Accepteds) travel packed — and packs are lost
//! and duplicated whole. The history must be linearizable, the nodes must have sent and accepted
//! packs, and no pack may have been rejected.

use crate::udp_common;

use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot_properties::kv::KvOp;
use std::time::{Duration, Instant};
use udp_common::*;

const CLIENTS: usize = 8;
const OPS: usize = 25;

/// Client `c`'s `j`-th operation: puts of unique values, reads and a cas from the value it last
/// wrote, on a key of its own (eight clients on shared keys make the linearizability check
/// explode; a lost or doubly applied write still shows on a key of one's own).
fn op(c: usize, j: usize) -> KvOp<String, String> {
    let key = format!("k{c}");
    match j % 3 {
        0 => KvOp::Put(key, format!("{c}.{j}")),
        1 => KvOp::Get(key),
        _ => KvOp::Cas {
            key,
            from: format!("{c}.{}", j - 2),
            to: format!("{c}.{j}"),
        },
    }
}

#[test]
fn multi_paxos_packs_messages_and_stays_linearizable_under_loss() {
    let started = Instant::now();
    let name = "multi-paxos-packs";
    let dir = tmp_dir(name);
    let faults = ["--drop", "0.05", "--duplicate", "0.05"];
    let nodes = Nodes::start("multi-paxos", 3, &dir, &faults);
    let recorder = Recorder::create(&history_path(name)).unwrap();
    let deadline = Duration::from_secs(5);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mut client = RecordingClient::new(nodes.client(), recorder.clone());
            std::thread::spawn(move || {
                (0..OPS)
                    .filter(|&j| client.call(op(c, j), deadline).is_ok())
                    .count()
            })
        })
        .collect();
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let mut last = RecordingClient::new(nodes.client(), recorder.clone());
    for k in 0..CLIENTS {
        last.call(KvOp::Get(format!("k{k}")), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("final read of k{k}: {e}\n{}", nodes.logs()));
    }
    let checked = history::check_kv(&recorder.events()).unwrap_or_else(|e| {
        panic!(
            "{e}; history: {}\n{}",
            history_path(name).display(),
            nodes.logs()
        )
    });
    assert_eq!(checked.answered, answered + CLIENTS);
    assert!(
        answered >= CLIENTS * OPS * 3 / 4,
        "only {answered} of {} operations answered\n{}",
        CLIENTS * OPS,
        nodes.logs()
    );
    // The three nodes' counters, read once each (stats requests and replies are subject to
    // the injected faults too: the client retries).
    let mut stats = nodes
        .client()
        .with_attempt_timeout(Duration::from_millis(100));
    let counters: Vec<serde_json::Value> = (0..nodes.peers.len())
        .map(|i| stats.stats(i, Duration::from_secs(3)).unwrap()["counters"].clone())
        .collect();
    let sum = |field: &str| -> u64 {
        counters
            .iter()
            .map(|c| c[field].as_u64().unwrap_or_else(|| panic!("{field}: {c}")))
            .sum()
    };
    assert_eq!(sum("handler_panics"), 0);
    let (packed_out, packs_in) = (sum("packed_out"), sum("packs_in"));
    eprintln!(
        "{answered} operations answered; packs: {packed_out} out carrying {} messages, \
         {packs_in} in",
        sum("messages_packed")
    );
    assert!(packed_out > 0, "no datagram carried several messages");
    assert!(sum("messages_packed") >= 2 * packed_out);
    // Some packs were lost (--drop), some duplicated: about as many arrived as left.
    assert!(
        packs_in > 0 && packs_in <= 2 * packed_out,
        "{packs_in} packs in, {packed_out} out"
    );
    assert_eq!(sum("packs_rejected"), 0);
    assert_eq!(sum("dropped_malformed"), 0);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
