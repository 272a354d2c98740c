//! A network partition over UDP, for Raft and Multi-Paxos: three nodes, each with a
//! `--partition-file`; three clients write and read while the test cuts the leader off from
//! the two others (both directions), the majority elects a new leader and keeps serving, then
//! the test heals the cut, and the old leader steps down and catches up. The recorded history,
//! final reads included, must be linearizable: an acknowledged write lost at the heal (the old
//! leader's log winning over the majority's) fails the test. While the cut lasts, the old
//! leader alone must acknowledge nothing.

use crate::udp_common;

use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot_properties::kv::KvOp;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use udp_common::*;

#[test]
fn raft_majority_elects_while_the_leader_is_cut_off_and_nothing_acknowledged_is_lost() {
    partition_test("raft", "raft-partition", "commit_index");
}

#[test]
fn multi_paxos_majority_elects_while_the_leader_is_cut_off_and_nothing_acknowledged_is_lost() {
    partition_test("multi-paxos", "multi-paxos-partition", "executed");
}

/// Writes `addrs` as node `i`'s partition file, by a rename (the node never reads half a file).
fn cut_file(dir: &Path, i: usize, addrs: &[std::net::SocketAddrV4]) {
    let text: String = addrs.iter().map(|a| format!("{a}\n")).collect();
    let tmp = dir.join(format!("cut-{i}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(format!("cut-{i}"))).unwrap();
}

/// Node `i`'s stats (its counters and a summary of its state), if it answers within 1 s.
fn stats(nodes: &Nodes, i: usize) -> Option<serde_json::Value> {
    nodes.client().stats(i, Duration::from_secs(1)).ok()
}

/// Node `i`'s role ("leader", "follower", …) as it reports it.
fn role(nodes: &Nodes, i: usize) -> Option<String> {
    Some(stats(nodes, i)?["state"]["role"].as_str()?.to_string())
}

/// Polls `cond` every 50 ms until it holds or `limit` passes; says whether it held.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The scenario; `progress` names the field of the state summary that says how far a node has
/// applied the log (Raft's commit index, Multi-Paxos's executed slots).
fn partition_test(protocol: &str, name: &str, progress: &str) {
    const CLIENTS: usize = 3;
    let started = Instant::now();
    let dir = tmp_dir(name);
    let partition = format!("{}/cut-{{i}}", dir.display());
    let nodes = Nodes::start(protocol, 3, &dir, &["--partition-file", &partition]);
    let recorder = Recorder::create(&history_path(name)).unwrap();
    // Answers counted by phase: 0 before the cut, 1 during it, 2 after the heal.
    let phase = Arc::new(AtomicUsize::new(0));
    let answered: Arc<[AtomicUsize; 3]> = Arc::new(Default::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = nodes
                .client()
                .with_first(c)
                .with_attempt_timeout(Duration::from_millis(150));
            let mut client = RecordingClient::new(client, recorder.clone());
            let (phase, answered, stop) = (phase.clone(), answered.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut j = 0;
                while !stop.load(Ordering::SeqCst) && j < 80 {
                    if client
                        .call(kv_op(c, j), Duration::from_millis(1500))
                        .is_ok()
                    {
                        answered[phase.load(Ordering::SeqCst)].fetch_add(1, Ordering::SeqCst);
                    }
                    j += 1;
                    std::thread::sleep(Duration::from_millis(30));
                }
            })
        })
        .collect();
    let count = |p: usize| answered[p].load(Ordering::SeqCst);
    assert!(
        wait_until(Duration::from_secs(15), || count(0) >= 6),
        "no writes before the cut\n{}",
        nodes.logs()
    );
    let old = find_leader(&nodes)
        .filter(|&i| role(&nodes, i).as_deref() == Some("leader"))
        .unwrap_or_else(|| panic!("no leader answers\n{}", nodes.logs()));
    let others: Vec<usize> = (0..3).filter(|&i| i != old).collect();

    // The cut: the leader lists the two others, and each of them lists the leader.
    cut_file(
        &dir,
        old,
        &others.iter().map(|&i| nodes.peers[i]).collect::<Vec<_>>(),
    );
    for &i in &others {
        cut_file(&dir, i, &[nodes.peers[old]]);
    }
    phase.store(1, Ordering::SeqCst);
    let mut new = None;
    assert!(
        wait_until(Duration::from_secs(15), || {
            new = others
                .iter()
                .copied()
                .find(|&i| role(&nodes, i).as_deref() == Some("leader"));
            new.is_some()
        }),
        "the majority elected no leader while node {old} was cut off\n{}",
        nodes.logs()
    );
    let new = new.unwrap();
    // The old leader, alone, acknowledges nothing: a write sent to it only is not answered.
    let alone = nodes.client().with_first(old).call_here(
        KvOp::Put("z".into(), "alone".into()),
        Duration::from_secs(1),
    );
    assert!(
        alone.is_err(),
        "node {old}, cut off from the majority, answered a write: {alone:?}\n{}",
        nodes.logs()
    );
    assert!(
        wait_until(Duration::from_secs(15), || count(1) >= 10),
        "the majority (leader {new}) served {} operations while node {old} was cut off\n{}",
        count(1),
        nodes.logs()
    );
    // Both leaders dropped messages to the other side (each node drops what it would send
    // across; what it receives across is only what was in flight when it read its file; a
    // follower may have sent nothing to the old leader).
    for i in [old, new] {
        let s = stats(&nodes, i).unwrap_or_else(|| panic!("node {i} answers stats"));
        assert!(
            s["counters"]["partition_drops_out"].as_u64().unwrap() > 0,
            "node {i} sent nothing across the cut: {s}"
        );
    }

    // The heal: empty files for two nodes, no file at all for the third.
    cut_file(&dir, old, &[]);
    cut_file(&dir, others[0], &[]);
    std::fs::remove_file(dir.join(format!("cut-{}", others[1]))).unwrap();
    phase.store(2, Ordering::SeqCst);
    assert!(
        wait_until(Duration::from_secs(15), || role(&nodes, old)
            .is_some_and(|r| r != "leader")),
        "node {old}, leader before the cut, did not step down after the heal\n{}",
        nodes.logs()
    );
    assert!(
        wait_until(Duration::from_secs(15), || count(2) >= 6),
        "only {} operations answered after the heal\n{}",
        count(2),
        nodes.logs()
    );
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    // Final reads of both keys close the history: a lost acknowledged write shows here.
    let mut last = RecordingClient::new(nodes.client(), recorder.clone());
    for key in ["x", "y"] {
        last.call(KvOp::Get(key.into()), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("final read of {key}: {e}\n{}", nodes.logs()));
    }
    // The old leader catches up: it applies as far as the others (no more traffic now).
    let applied = |i: usize| stats(&nodes, i).and_then(|s| s["state"][progress].as_u64());
    assert!(
        wait_until(Duration::from_secs(15), || {
            let all: Vec<_> = (0..3).map(applied).collect();
            all[old].is_some() && all.iter().all(|a| *a == all[old])
        }),
        "node {old} did not catch up: {progress} {:?}\n{}",
        (0..3).map(applied).collect::<Vec<_>>(),
        nodes.logs()
    );
    let events = recorder.events();
    let checked = history::check_kv(&events).unwrap_or_else(|e| {
        panic!(
            "{e}; history: {}\n{}",
            history_path(name).display(),
            nodes.logs()
        )
    });
    let total = count(0) + count(1) + count(2);
    assert_eq!(checked.answered, total + 2);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    eprintln!(
        "{protocol}: leader {old} cut off, node {new} elected; answered {} before, {} during, \
         {} after the cut; {} operations timed out; {:.1} s",
        count(0),
        count(1),
        count(2),
        checked.timed_out,
        started.elapsed().as_secs_f64()
    );
}
