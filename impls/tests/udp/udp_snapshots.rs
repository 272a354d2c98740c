//! Log compaction over UDP (`ballot node --snapshot-every N`), the same tests for Raft (§7:
//! snapshots, InstallSnapshot) and Multi-Paxos (acceptors discard the votes of executed slots,
//! replicas fold their executed entries into a state machine, a learner behind the compaction
//! gets that state machine in a Chosen): a 3-node cluster under thousands of writes keeps its
//! storage files under a bound that does not grow with the writes, and its history is
//! linearizable; a server left far behind (what it lacks discarded by the others' compaction)
//! is caught up with a state machine sent in fragments because it exceeds a datagram; a
//! cluster restarts from compacted stores.

use crate::udp_common;

use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot::runtime::journal::Journaled;
use ballot::runtime::storage::{FILE_NAME, JOURNAL_NAME};
use ballot_models::multi_paxos::MpStorage;
use ballot_models::raft::{RaftStorage, state_machine};
use ballot_properties::kv::{KvOp, KvRet};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use udp_common::*;

/// What these tests read of a protocol's saved storage.
trait Compacting: Journaled + Default {
    /// The protocol's name for `ballot node`.
    const PROTOCOL: &'static str;
    /// Entries applied (executed), those folded into the state machine included.
    fn applied(&self) -> u64;
    /// How many applied entries are folded into the saved state machine (`None`: none).
    fn folded(&self) -> Option<u64>;
    /// The entries kept besides the folded state machine: the applied entries after it, and
    /// the log entries (Raft) or votes (Multi-Paxos) kept.
    fn kept(&self) -> (usize, usize);
    /// The key-value map the applied entries produced.
    fn map(&self) -> BTreeMap<String, String>;
}

impl Compacting for RaftStorage<String, String> {
    const PROTOCOL: &'static str = "raft";

    fn applied(&self) -> u64 {
        self.last_applied()
    }

    fn folded(&self) -> Option<u64> {
        self.applied_base.as_ref().map(|b| b.count)
    }

    fn kept(&self) -> (usize, usize) {
        (self.applied.len(), self.log.len())
    }

    fn map(&self) -> BTreeMap<String, String> {
        state_machine(self).map.0
    }
}

impl Compacting for MpStorage<String, String> {
    const PROTOCOL: &'static str = "multi-paxos";

    fn applied(&self) -> u64 {
        u64::from(self.executed_count())
    }

    fn folded(&self) -> Option<u64> {
        self.log_base.0.as_ref().map(|b| b.count)
    }

    fn kept(&self) -> (usize, usize) {
        (self.log.len(), self.votes.len())
    }

    fn map(&self) -> BTreeMap<String, String> {
        self.state_machine(true).map.0
    }
}

/// Node `i`'s saved storage.
fn storage<S: Compacting>(nodes: &Nodes, i: usize) -> S {
    saved(nodes, i)
}

/// The bytes of node `i`'s storage files (snapshot and journal, as `ls -l` shows them: the
/// journal's preallocated zeros included).
fn storage_bytes(nodes: &Nodes, i: usize) -> u64 {
    [FILE_NAME, JOURNAL_NAME]
        .iter()
        .map(|f| {
            std::fs::metadata(nodes.data(i).join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

/// Node `i`'s counter `name`.
fn counter(nodes: &Nodes, i: usize, name: &str) -> u64 {
    let stats = nodes
        .client()
        .stats(i, Duration::from_secs(2))
        .unwrap_or_else(|e| panic!("stats of node {i}: {e}"));
    stats["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name}: {stats}"))
}

/// The key-value map node `i` has applied, from its saved storage.
fn applied_map<S: Compacting>(nodes: &Nodes, i: usize) -> BTreeMap<String, String> {
    storage::<S>(nodes, i).map()
}

#[test]
fn storage_stays_bounded_under_thousands_of_writes() {
    stays_bounded::<RaftStorage<String, String>>();
}

#[test]
fn multi_paxos_storage_stays_bounded_under_thousands_of_writes() {
    stays_bounded::<MpStorage<String, String>>();
}

/// With `--snapshot-every 50`, four clients write 3,200 times (and read 800 times) over eight
/// keys. Sampled every 50 ms, no node's storage files ever exceed [`BOUND`]; without
/// compaction the log and the applied entries alone take more (checked by
/// `without_snapshots_the_same_writes_exceed_the_bound`). The history is linearizable.
fn stays_bounded<S: Compacting>() {
    const CLIENTS: usize = 4;
    const OPS: usize = 1000;
    let started = Instant::now();
    let name = format!("{}-snapshots-bounded", S::PROTOCOL);
    let name = name.as_str();
    let dir = tmp_dir(name);
    let mut nodes = Nodes::start(S::PROTOCOL, 3, &dir, &["--snapshot-every", "50"]);
    let recorder = Recorder::create(&history_path(name)).unwrap();
    let max_bytes = run_writes(&mut nodes, &recorder, CLIENTS, OPS);
    let answered = check_per_key(&recorder.events())
        .unwrap_or_else(|e| panic!("{e}; history {}", history_path(name).display()));
    assert!(
        answered >= CLIENTS * OPS * 9 / 10,
        "{answered} answered\n{}",
        nodes.logs()
    );
    for i in 0..3 {
        let s = storage::<S>(&nodes, i);
        let (applied, log) = s.kept();
        assert!(
            s.folded().is_some() && applied < 200 && log < 400,
            "node {i}: base {:?}, {applied} applied entries, {log} log entries (votes) kept",
            s.folded(),
        );
        assert!(counter(&nodes, i, "log_snapshots") >= 20, "node {i}");
    }
    assert!(
        max_bytes.iter().all(|b| *b < BOUND),
        "storage bytes per node, max sampled: {max_bytes:?} (bound {BOUND})"
    );
    eprintln!(
        "{}: max storage bytes per node with --snapshot-every 50: {max_bytes:?}",
        S::PROTOCOL
    );
    assert!(started.elapsed() < Duration::from_secs(90));
}

/// Checks a key-value history key by key (linearizability is local: a history is
/// linearizable if and only if each key's subhistory is; Herlihy and Wing 1990, Theorem 1),
/// which keeps the check of thousands of operations fast. Returns the operations answered.
fn check_per_key(events: &[history::Event]) -> Result<usize, String> {
    let key_of = |op: &KvOp<String, String>| match op {
        KvOp::Put(k, _) | KvOp::Get(k) | KvOp::Cas { key: k, .. } => k.clone(),
    };
    let mut keys = BTreeMap::new();
    let mut per_key: BTreeMap<String, Vec<history::Event>> = BTreeMap::new();
    for e in events {
        let key = match e {
            history::Event::Invoke {
                client, req, op, ..
            } => {
                keys.insert((*client, *req), key_of(op));
                key_of(op)
            }
            history::Event::Ok { client, req, .. }
            | history::Event::Timeout { client, req, .. } => keys
                .get(&(*client, *req))
                .cloned()
                .ok_or_else(|| format!("request {req} of {client:?} answered, never invoked"))?,
        };
        per_key.entry(key).or_default().push(e.clone());
    }
    let mut answered = 0;
    for (key, events) in &per_key {
        answered += history::check_kv(events)
            .map_err(|e| format!("key {key}: {e}"))?
            .answered;
    }
    Ok(answered)
}

/// The bound the compacted storage stays under: a snapshot of the state machine (eight keys)
/// and at most about 50 + a batch of entries, and a journal of at most 64 KiB or the snapshot's
/// size, preallocated in 4 KiB pages, before it is folded into a new snapshot.
const BOUND: u64 = 256 * 1024;

/// The same workload without compaction (`--snapshot-every 0`) exceeds [`BOUND`]: the bound
/// asserted above is one that a growing log would break.
#[test]
fn without_snapshots_the_same_writes_exceed_the_bound() {
    exceeds_uncompacted::<RaftStorage<String, String>>();
}

#[test]
fn multi_paxos_without_compaction_the_same_writes_exceed_the_bound() {
    exceeds_uncompacted::<MpStorage<String, String>>();
}

fn exceeds_uncompacted<S: Compacting>() {
    let name = format!("{}-snapshots-off", S::PROTOCOL);
    let dir = tmp_dir(&name);
    let mut nodes = Nodes::start(S::PROTOCOL, 3, &dir, &["--snapshot-every", "0"]);
    let recorder = Recorder::create(&history_path(&name)).unwrap();
    let max_bytes = run_writes(&mut nodes, &recorder, 4, 1000);
    eprintln!(
        "{}: max storage bytes per node with --snapshot-every 0: {max_bytes:?}",
        S::PROTOCOL
    );
    assert!(
        max_bytes.iter().any(|b| *b > BOUND),
        "storage bytes per node, max sampled: {max_bytes:?} (bound {BOUND})"
    );
    assert!(storage::<S>(&nodes, 0).folded().is_none());
}

/// `clients` recording clients run `ops` operations each (four writes then a read, over eight
/// keys) while a sampler reads the nodes' storage sizes every 50 ms; returns the largest size
/// seen per node.
fn run_writes(nodes: &mut Nodes, recorder: &Arc<Recorder>, clients: usize, ops: usize) -> Vec<u64> {
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        let dirs: Vec<_> = (0..3).map(|i| nodes.data(i)).collect();
        std::thread::spawn(move || {
            let mut max = vec![0u64; 3];
            while !done.load(Ordering::SeqCst) {
                for (i, d) in dirs.iter().enumerate() {
                    let b: u64 = [FILE_NAME, JOURNAL_NAME]
                        .iter()
                        .map(|f| std::fs::metadata(d.join(f)).map(|m| m.len()).unwrap_or(0))
                        .sum();
                    max[i] = max[i].max(b);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            max
        })
    };
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let mut client = RecordingClient::new(nodes.client().with_first(c), recorder.clone());
            std::thread::spawn(move || {
                for j in 0..ops {
                    let key = format!("k{}", (c + j) % 8);
                    let op = if j % 5 == 4 {
                        KvOp::Get(key)
                    } else {
                        KvOp::Put(key, format!("{c}.{j}"))
                    };
                    let _ = client.call(op, Duration::from_secs(4));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let mut max = sampler.join().unwrap();
    for (i, m) in max.iter_mut().enumerate() {
        *m = (*m).max(storage_bytes(nodes, i));
    }
    max
}

/// A follower is SIGKILLed while 400 writes of 1,000-byte values over 120 keys commit (eight
/// snapshots at `--snapshot-every 50`), then restarted: the leader's log no longer holds what
/// it lacks, so it sends InstallSnapshot, whose state machine (120 KiB) takes three datagrams.
/// The follower installs it and applies up to the leader's last write; its state machine holds
/// every acknowledged write; with the leader SIGKILLed the two others answer the last write.
#[test]
fn a_follower_far_behind_catches_up_by_install_snapshot() {
    far_behind_catches_up::<RaftStorage<String, String>>();
}

/// Multi-Paxos: the leader answers the restarted server's catch-up with its folded state
/// machine (a Chosen with a base, counted as a snapshot sent), in fragments.
#[test]
fn multi_paxos_a_server_behind_the_compaction_catches_up_from_a_state_machine() {
    far_behind_catches_up::<MpStorage<String, String>>();
}

fn far_behind_catches_up<S: Compacting>() {
    const KEYS: usize = 120;
    const WRITES: usize = 400;
    let started = Instant::now();
    let dir = tmp_dir(&format!("{}-install-snapshot", S::PROTOCOL));
    let mut nodes = Nodes::start(S::PROTOCOL, 3, &dir, &["--snapshot-every", "50"]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    client
        .call(KvOp::Put("x".into(), "0".into()), deadline)
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(&nodes).expect("a leader answers after a write");
    let behind = (leader + 1) % 3;
    nodes.kill(behind);
    let before = storage::<S>(&nodes, behind).applied();
    let mut expected = BTreeMap::from([("x".to_string(), "0".to_string())]);
    for j in 1..=WRITES {
        let (key, value) = (format!("k{}", j % KEYS), format!("{j:0>1000}"));
        client
            .call(KvOp::Put(key.clone(), value.clone()), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
        expected.insert(key, value);
    }
    let l = storage::<S>(&nodes, leader);
    let folded = l.folded().unwrap_or(0);
    assert!(
        folded > before + 1,
        "the leader's snapshot ({folded}) covers entries the follower lacks (it applied {before})"
    );
    let target = l.applied();
    nodes.restart(behind);
    let end = Instant::now() + Duration::from_secs(20);
    while storage::<S>(&nodes, behind).applied() < target && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let f = storage::<S>(&nodes, behind);
    assert!(
        f.applied() >= target,
        "follower {behind} applied {} of {target}\n{}",
        f.applied(),
        nodes.logs()
    );
    // Applying saves nothing by itself (`volatile_applied`, both protocols): what the follower
    // applied last is saved with its next vote or append, which one more write brings.
    client
        .call(KvOp::Put("sync".into(), "1".into()), deadline)
        .unwrap_or_else(|e| panic!("write after the catch-up: {e}\n{}", nodes.logs()));
    let holds_all =
        |map: &BTreeMap<String, String>| expected.iter().all(|(k, v)| map.get(k) == Some(v));
    let end = Instant::now() + Duration::from_secs(5);
    while !holds_all(&applied_map::<S>(&nodes, behind)) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    let map = applied_map::<S>(&nodes, behind);
    let differ: Vec<_> = expected
        .iter()
        .filter(|(k, v)| map.get(*k) != Some(*v))
        .map(|(k, v)| (k, &v[v.len() - 4..], map.get(k).map(|v| &v[v.len() - 4..])))
        .collect();
    assert!(
        differ.is_empty(),
        "the follower's state machine differs at (key, last digits expected, held) {differ:?}"
    );
    let (sent, received) = (
        counter(&nodes, leader, "install_snapshots_out"),
        counter(&nodes, behind, "install_snapshots_in"),
    );
    assert!(
        sent >= 1 && received >= 1,
        "InstallSnapshot: {sent} sent, {received} received"
    );
    assert!(
        counter(&nodes, behind, "reassembled") >= 1
            && counter(&nodes, leader, "fragmented_out") >= 1,
        "the snapshot did not travel in fragments"
    );
    nodes.kill(leader);
    let last = format!("k{}", WRITES % KEYS);
    let got = client
        .call(KvOp::Get(last.clone()), deadline)
        .unwrap_or_else(|e| panic!("read without the old leader: {e}\n{}", nodes.logs()));
    assert_eq!(
        format!("{got:?}"),
        format!("Kv(GetOk(Some({:?})))", expected[&last])
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Every node is SIGKILLed after 300 writes with `--snapshot-every 20`, so that each restarts
/// from a compacted store (a state machine, a short log); restarted, the cluster answers every
/// key's last value and takes more writes.
#[test]
fn a_cluster_restarts_from_compacted_stores() {
    restarts_compacted::<RaftStorage<String, String>>();
}

#[test]
fn multi_paxos_restarts_from_compacted_stores() {
    restarts_compacted::<MpStorage<String, String>>();
}

fn restarts_compacted<S: Compacting>() {
    const KEYS: usize = 10;
    let started = Instant::now();
    let dir = tmp_dir(&format!("{}-compacted-restart", S::PROTOCOL));
    let mut nodes = Nodes::start(S::PROTOCOL, 3, &dir, &["--snapshot-every", "20"]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    let mut expected = BTreeMap::new();
    for j in 0..300 {
        let (key, value) = (format!("k{}", j % KEYS), format!("v{j}"));
        client
            .call(KvOp::Put(key.clone(), value.clone()), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
        expected.insert(key, value);
    }
    for i in 0..3 {
        nodes.kill(i);
    }
    let mut compacted = 0;
    for i in 0..3 {
        let s = storage::<S>(&nodes, i);
        if let Some(folded) = s.folded() {
            compacted += 1;
            assert!(folded >= 20 && s.kept().1 < 300, "node {i}");
        }
    }
    assert!(compacted >= 2, "a majority saved a compacted store");
    for i in 0..3 {
        nodes.restart(i);
    }
    let mut fresh = nodes.client();
    for (key, value) in &expected {
        let got = fresh
            .call(KvOp::Get(key.clone()), deadline)
            .unwrap_or_else(|e| panic!("read {key} after the restart: {e}\n{}", nodes.logs()));
        assert_eq!(
            got,
            ballot::runtime::codec::WireRet::Kv(KvRet::GetOk(Some(value.clone()))),
            "{key}"
        );
    }
    let got = fresh
        .call(KvOp::Put("after".into(), "restart".into()), deadline)
        .unwrap_or_else(|e| panic!("write after the restart: {e}\n{}", nodes.logs()));
    assert_eq!(format!("{got:?}"), "Kv(PutOk)");
    // Applying alone saves nothing (`volatile_applied`, both protocols): what a node applied is
    // saved with the next thing it saves for another reason (a Raft follower's next append; a
    // Multi-Paxos acceptor's next vote, whose save precedes the entries that same Accept's
    // commit point lets it execute). More writes, one every 100 ms, until each node saved it.
    // The restarted nodes went on applying on top of their compacted state.
    for i in 0..3 {
        let end = Instant::now() + Duration::from_secs(5);
        let mut k = 0;
        while !applied_map::<S>(&nodes, i).contains_key("after") && Instant::now() < end {
            k += 1;
            let got = fresh
                .call(KvOp::Put(format!("after-{k}"), "saved".into()), deadline)
                .unwrap_or_else(|e| panic!("write {k} after the restart: {e}\n{}", nodes.logs()));
            assert_eq!(format!("{got:?}"), "Kv(PutOk)");
            std::thread::sleep(Duration::from_millis(100));
        }
        let map = applied_map::<S>(&nodes, i);
        assert_eq!(
            map.get("after").map(String::as_str),
            Some("restart"),
            "node {i}"
        );
        for (key, value) in &expected {
            assert_eq!(map.get(key), Some(value), "node {i}, {key}");
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Multi-Paxos: a server is SIGKILLed while 200 writes commit at `--snapshot-every 20` (the
/// two others compact ten times), restarted, and at once the leader is SIGKILLed. Of the two
/// left, one executed 190 slots fewer, which the other compacted: whichever takes over, the
/// new leader answers every key's last value. If the one behind wins, its Phase 1 meets the
/// other's compaction point and it learns the compacted slots (from the other's folded state
/// machine) before it serves a read; if the other wins, the one behind catches up from it.
#[test]
fn multi_paxos_a_leader_change_with_a_server_behind_the_compaction_loses_nothing() {
    const KEYS: usize = 10;
    const WRITES: usize = 200;
    let started = Instant::now();
    let dir = tmp_dir("multi-paxos-takeover-behind-compaction");
    let mut nodes = Nodes::start("multi-paxos", 3, &dir, &["--snapshot-every", "20"]);
    let mut client = nodes.client();
    let deadline = Duration::from_secs(10);
    client
        .call(KvOp::Put("x".into(), "0".into()), deadline)
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(&nodes).expect("a leader answers after a write");
    let behind = (leader + 1) % 3;
    let ahead = (leader + 2) % 3;
    nodes.kill(behind);
    let mut expected = BTreeMap::from([("x".to_string(), "0".to_string())]);
    for j in 1..=WRITES {
        let (key, value) = (format!("k{}", j % KEYS), format!("v{j}"));
        client
            .call(KvOp::Put(key.clone(), value.clone()), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
        expected.insert(key, value);
    }
    let compacted = storage::<MpStorage<String, String>>(&nodes, ahead)
        .compacted
        .0;
    let lacks = storage::<MpStorage<String, String>>(&nodes, behind).executed_count();
    assert!(
        compacted > lacks + 100,
        "server {ahead} compacted up to slot {compacted}; server {behind} executed {lacks}"
    );
    nodes.restart(behind);
    nodes.kill(leader);
    let mut fresh = nodes.client();
    for (key, value) in &expected {
        let got = fresh
            .call(KvOp::Get(key.clone()), Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("read {key} after the takeover: {e}\n{}", nodes.logs()));
        assert_eq!(
            got,
            ballot::runtime::codec::WireRet::Kv(KvRet::GetOk(Some(value.clone()))),
            "{key}"
        );
    }
    let role = |i: usize| {
        nodes
            .client()
            .stats(i, Duration::from_secs(2))
            .map(|s| s["state"]["role"].to_string())
            .unwrap_or_default()
    };
    eprintln!(
        "after the takeover: the server that was behind the compaction is {}, the other {}",
        role(behind),
        role(ahead)
    );
    // Either way the server behind got the other's folded state machine.
    assert!(
        counter(&nodes, behind, "install_snapshots_in") >= 1,
        "server {behind} received no state machine"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}
