//! Raft membership changes over UDP (dissertation §4.1; `ballot node --members`, `ballot
//! admin`): a three-node cluster with a fourth node started outside the configuration, under
//! writes from three clients, adds the fourth node, then removes an old one while the leader,
//! cut off from the others so that the change cannot commit, is SIGKILLed: the administrator
//! finds the new leader and the change is made there. Afterwards every acknowledged write is
//! read back, the history is linearizable, and `ballot admin members` shows the configuration.
//! And the refusals: two changes at once, a stale configuration, an unknown server, the last
//! server.

use crate::udp_common;

use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot_models::raft::{AdminAnswer, AdminOp, AdminRefusal, RaftStorage};
use ballot_properties::kv::KvOp;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use udp_common::*;

/// Node `i`'s saved storage.
fn storage(nodes: &Nodes, i: usize) -> RaftStorage<String, String> {
    saved(nodes, i)
}

/// Writes `addrs` as node `i`'s partition file, by a rename (the node never reads half a file).
fn cut_file(dir: &Path, i: usize, addrs: &[SocketAddrV4]) {
    let text: String = addrs.iter().map(|a| format!("{a}\n")).collect();
    let tmp = dir.join(format!("cut-{i}.tmp"));
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join(format!("cut-{i}"))).unwrap();
}

/// Polls `cond` every 20 ms until it holds or `limit` passes; says whether it held.
fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `ballot admin` with the cluster's `--peers` and key; returns the exit code, stdout
/// and stderr.
fn admin(nodes: &Nodes, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<String> = vec!["admin".into()];
    all.extend(nodes.client_args());
    all.extend(args.iter().map(|a| a.to_string()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = ballot(&refs);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// The members `ballot admin members` prints (the addresses before the parenthesis), and
/// whether it says the configuration is committed.
fn members(nodes: &Nodes) -> (Vec<SocketAddrV4>, bool) {
    let (code, out, err) = admin(nodes, &["members"]);
    assert_eq!(code, 0, "ballot admin members: {out}\n{err}");
    let (list, rest) = out
        .split_once(" (")
        .expect("ADDR,ADDR (configuration entry …)");
    let addrs = list.split(',').map(|a| a.parse().unwrap()).collect();
    (addrs, rest.contains(", committed)"))
}

/// Checks a key-value history key by key (linearizability is local: Herlihy and Wing 1990,
/// Theorem 1). Returns the operations answered.
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

const KEYS: usize = 4;

/// Three nodes in the configuration and a spare; three clients write and read four keys
/// throughout. (1) `ballot admin add-server` adds the spare: it catches up and counts. (2) The
/// leader is cut off from every peer (its partition file), asked to remove an old follower,
/// appends the entry (it cannot commit it) and is SIGKILLed; the administrator, retrying,
/// reaches the new leader, which makes the change itself (the entry never left the old
/// leader). The removed node is stopped, the old leader restarted. Every acknowledged write is
/// read back (final reads in the history) and the history is linearizable; `ballot admin
/// members` lists the expected three servers, committed.
#[test]
fn a_cluster_grows_and_shrinks_under_writes_with_the_leader_killed_during_a_change() {
    let started = Instant::now();
    let name = "raft-membership";
    let dir = tmp_dir(name);
    let partition = format!("{}/cut-{{i}}", dir.display());
    let mut nodes = Nodes::start(
        "raft",
        4,
        &dir,
        &[
            "--members",
            "0,1,2",
            "--partition-file",
            &partition,
            "--snapshot-every",
            "20",
        ],
    );
    let peers = nodes.peers.clone();
    let recorder = Recorder::create(&history_path(name)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..3)
        .map(|c| {
            let client = nodes
                .client()
                .with_first(c)
                .with_attempt_timeout(Duration::from_millis(250));
            let mut client = RecordingClient::new(client, recorder.clone());
            let (stop, progress) = (stop.clone(), progress.clone());
            std::thread::spawn(move || {
                let mut answered = 0;
                let mut j = 0;
                while !stop.load(Ordering::SeqCst) {
                    let key = format!("k{}", (c + j) % KEYS);
                    let op = if j % 3 == 2 {
                        KvOp::Get(key)
                    } else {
                        KvOp::Put(key, format!("{c}.{j}"))
                    };
                    if client.call(op, Duration::from_secs(4)).is_ok() {
                        answered += 1;
                    }
                    progress.fetch_add(1, Ordering::SeqCst);
                    j += 1;
                    std::thread::sleep(Duration::from_millis(5));
                }
                answered
            })
        })
        .collect();
    let ops_reach = |n: usize| {
        let progress = progress.clone();
        move || progress.load(Ordering::SeqCst) >= n
    };
    assert!(
        wait_until(Duration::from_secs(15), ops_reach(30)),
        "no progress\n{}",
        nodes.logs()
    );
    // The initial configuration: the first three nodes, committed (no entry: index 0).
    let (initial, committed) = members(&nodes);
    assert_eq!(initial, peers[..3].to_vec());
    assert!(committed);

    // (1) Add the spare.
    let (code, out, err) = admin(&nodes, &["add-server", &peers[3].to_string()]);
    assert_eq!(code, 0, "add-server: {out}\n{err}\n{}", nodes.logs());
    assert!(out.ends_with(", committed)"), "{out}");
    assert_eq!(members(&nodes).0, peers.to_vec());
    assert!(
        wait_until(Duration::from_secs(10), || {
            storage(&nodes, 3).last_applied() > 0
        }),
        "the added node applied nothing\n{}",
        nodes.logs()
    );
    let at = progress.load(Ordering::SeqCst);
    assert!(wait_until(Duration::from_secs(15), ops_reach(at + 30)));

    // (2) Remove an old node while the leader is cut off, and kill the leader.
    let leader = find_leader(&nodes).expect("a leader");
    let removed = (0..3).find(|&i| i != leader).unwrap();
    let others: Vec<SocketAddrV4> = (0..4).filter(|&i| i != leader).map(|i| peers[i]).collect();
    cut_file(&dir, leader, &others);
    std::thread::sleep(Duration::from_millis(150));
    let before = storage(&nodes, leader).latest_config();
    let change = {
        let mut client = nodes.client().with_first(leader);
        let target = peers[removed];
        std::thread::spawn(move || client.change_membership(target, false, Duration::from_secs(20)))
    };
    assert!(
        wait_until(Duration::from_secs(5), || {
            storage(&nodes, leader)
                .latest_config()
                .is_some_and(|c| Some(c) != before && !c.1.contains(removed))
        }),
        "the cut-off leader {leader} did not append the removal of {removed}\n{}",
        nodes.logs()
    );
    nodes.kill(leader);
    cut_file(&dir, leader, &[]);
    let answer = change.join().unwrap().unwrap_or_else(|e| {
        panic!(
            "remove-server after the leader's death: {e}\n{}",
            nodes.logs()
        )
    });
    let expected: Vec<SocketAddrV4> = (0..4).filter(|&i| i != removed).map(|i| peers[i]).collect();
    let change_index = match &answer {
        AdminAnswer::Done(c) => {
            assert_eq!(c.members, expected);
            c.index
        }
        other => panic!("remove-server: {other:?}\n{}", nodes.logs()),
    };
    // The removed node keeps running: it hears no more AppendEntries and starts elections,
    // which the members ignore (§4.2.3, checked below). The old leader restarts.
    nodes.restart(leader);
    let at = progress.load(Ordering::SeqCst);
    assert!(
        wait_until(Duration::from_secs(15), ops_reach(at + 60)),
        "no progress after the change\n{}",
        nodes.logs()
    );
    // With `--snapshot-every 20`, snapshots have discarded the configuration entry: the nodes
    // take the configuration from their snapshot (§7).
    let live: Vec<usize> = (0..4).filter(|&i| i != removed).collect();
    assert!(
        wait_until(Duration::from_secs(10), || {
            live.iter().any(|&i| {
                let s = storage(&nodes, i);
                s.snapshot_config.0.map(|c| c.0) == Some(change_index)
                    && s.latest_config() == s.snapshot_config.0
            })
        }),
        "no node compacted the configuration entry {change_index} away\n{}",
        nodes.logs()
    );
    stop.store(true, Ordering::SeqCst);
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();

    // Every key's last acknowledged write is read back (in the history, checked below).
    let mut last = RecordingClient::new(nodes.client(), recorder.clone());
    for k in 0..KEYS {
        last.call(KvOp::Get(format!("k{k}")), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("final read of k{k}: {e}\n{}", nodes.logs()));
    }
    let (now, committed) = members(&nodes);
    assert_eq!(now, expected);
    assert!(committed);
    let checked = check_per_key(&recorder.events())
        .unwrap_or_else(|e| panic!("{e}; history {}", history_path(name).display()));
    assert_eq!(checked, answered + KEYS);
    assert!(answered >= 50, "only {answered} operations answered");
    // The restarted old leader applied the new leader's configuration entry (its own, never
    // committed, was replaced).
    assert!(
        wait_until(Duration::from_secs(10), || {
            let s = storage(&nodes, leader);
            s.last_applied() >= change_index
                && s.latest_config()
                    .is_some_and(|c| c.1.iter().map(|i| peers[i]).eq(expected.iter().copied()))
        }),
        "the restarted node {leader} does not have the configuration\n{}",
        nodes.logs()
    );
    // The removed node's elections do not disturb the members: their term stays put (one
    // election tolerated, as in udp_raft's idle test) while its own keeps growing.
    let term = |i: usize| storage(&nodes, i).current_term;
    let before: Vec<u64> = (0..4).map(term).collect();
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<u64> = (0..4).map(term).collect();
    let members_max = |t: &[u64]| live.iter().map(|&i| t[i]).max().unwrap();
    assert!(
        members_max(&after) <= members_max(&before) + 1,
        "the members' terms went from {before:?} to {after:?} (removed node {removed})"
    );
    // Unless it learned of its removal (it was the leader that made the change), it runs
    // for election all along.
    let unaware = storage(&nodes, removed)
        .latest_config()
        .is_none_or(|c| c.1.contains(removed));
    assert!(
        !unaware || after[removed] > before[removed],
        "the removed node {removed} started no election: {before:?} → {after:?}"
    );
    for i in 0..4 {
        let stats = nodes.client().stats(i, Duration::from_secs(2)).unwrap();
        assert_eq!(stats["counters"]["handler_panics"], 0, "node {i}");
    }
    eprintln!(
        "{answered} operations answered; removed node {removed}, killed leader {leader}; {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// The leader's refusals: a change while a new server that is down is being caught up as a
/// learner (until the administrator removes that server); a second change while one is
/// uncommitted (the leader is cut off, so the first cannot commit), a change of a configuration that is no longer the latest, a
/// server not in the address book (`ballot admin` exit code 2); and a cluster of one refuses
/// to remove its last server (exit code 3).
#[test]
fn the_leader_refuses_what_the_rule_forbids() {
    let started = Instant::now();
    let dir = tmp_dir("raft-membership-refusals");
    let partition = format!("{}/cut-{{i}}", dir.display());
    let mut nodes = Nodes::start(
        "raft",
        4,
        &dir,
        &["--members", "0,1,2", "--partition-file", &partition],
    );
    let peers = nodes.peers.clone();
    let mut client = nodes.client();
    client
        .call(KvOp::Put("x".into(), "1".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(&nodes).expect("a leader");
    let (code, _, err) = admin(&nodes, &["remove-server", "127.0.0.1:9"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not in the nodes' --peers"), "{err}");

    let mut at_leader = nodes.client().with_first(leader);
    let short = Duration::from_millis(600);
    let from = match at_leader.admin(AdminOp::Members, short).unwrap() {
        AdminAnswer::Members(c) => c.index,
        other => panic!("{other:?}"),
    };
    let other = (0..3).find(|&i| i != leader).unwrap();
    let remove_other = |from| AdminOp::RemoveServer {
        server: peers[other],
        from,
    };

    // A new server that cannot catch up (it is down) stays a learner (§4.2.1): the addition
    // waits, other changes are refused, and removing that server ends its catch-up.
    nodes.kill(3);
    let add3 = |from| AdminOp::AddServer {
        server: peers[3],
        from,
    };
    let e = at_leader
        .admin(add3(from), short)
        .expect_err("a server that is down never catches up")
        .to_string();
    assert!(e.contains("catching up as a learner"), "{e}");
    let e = at_leader
        .admin(remove_other(from), short)
        .expect_err("one change at a time")
        .to_string();
    assert!(e.contains("catching up another new server"), "{e}");
    match at_leader
        .admin(
            AdminOp::RemoveServer {
                server: peers[3],
                from,
            },
            short,
        )
        .unwrap()
    {
        AdminAnswer::Done(c) => assert_eq!(c.index, from, "no entry appended: {c:?}"),
        other => panic!("{other:?}"),
    }

    // Cut off, the leader appends the next change and cannot commit it.
    let others: Vec<SocketAddrV4> = (0..4).filter(|&i| i != leader).map(|i| peers[i]).collect();
    cut_file(&dir, leader, &others);
    std::thread::sleep(Duration::from_millis(150));
    let e = at_leader
        .admin(remove_other(from), short)
        .expect_err("the cut-off leader cannot commit")
        .to_string();
    assert!(e.contains("not committed yet"), "{e}");
    let now = match at_leader.admin(AdminOp::Members, short).unwrap() {
        AdminAnswer::Members(c) => c,
        other => panic!("{other:?}"),
    };
    assert!(
        !now.committed && !now.members.contains(&peers[other]),
        "{now:?}"
    );
    let e = at_leader
        .admin(add3(now.index), short)
        .expect_err("one change at a time")
        .to_string();
    assert!(
        e.contains("another membership change is in progress"),
        "{e}"
    );
    // A change of the configuration before the pending one: refused for good.
    match at_leader.admin(add3(from), short).unwrap() {
        AdminAnswer::Refused {
            reason: AdminRefusal::ConfigChanged,
            config,
        } => assert_eq!(config.index, now.index),
        other => panic!("{other:?}"),
    }
    nodes.kill(leader);
    drop(nodes);

    // A cluster of one: its only server cannot be removed.
    let dir = tmp_dir("raft-membership-last");
    let nodes = Nodes::start("raft", 1, &dir, &[]);
    let (code, out, err) = admin(&nodes, &["members"]);
    assert_eq!(code, 0, "{out}\n{err}\n{}", nodes.logs());
    let (code, _, err) = admin(&nodes, &["remove-server", &nodes.peers[0].to_string()]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("would leave no server"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40));
}

/// `--members` is checked before a node starts: refused for a protocol without membership
/// changes, for an index beyond `--peers`, a repeated index, and in `ballot cluster`, a count
/// beyond `--nodes` (exit code 2, naming the flag).
#[test]
fn members_flags_are_checked() {
    let dir = tmp_dir("raft-membership-flags");
    let data = dir.join("n").display().to_string();
    let peers = "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3";
    let node = |protocol: &str, members: &str| {
        ballot(&[
            "node",
            protocol,
            "--id",
            "0",
            "--peers",
            peers,
            "--data",
            &data,
            "--insecure",
            "--members",
            members,
        ])
    };
    for (protocol, members, says) in [
        ("multi-paxos", "0,1", "has no membership changes"),
        ("raft", "0,3", "3 is not an index of --peers"),
        ("raft", "1,1", "--members lists 1 twice"),
    ] {
        let out = node(protocol, members);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    // More servers than a server set holds: refused, not a panic at the first election.
    let seventeen: Vec<String> = (1..=17).map(|p| format!("127.0.0.1:{p}")).collect();
    let out = ballot(&[
        "node",
        "raft",
        "--id",
        "0",
        "--peers",
        &seventeen.join(","),
        "--data",
        &data,
        "--insecure",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("at most 16"), "{}", stderr(&out));
    for (protocol, members, says) in [
        ("raft", "5", "--members must be in 1..=4"),
        ("paxos", "2", "has no membership changes"),
    ] {
        let out = ballot(&[
            "cluster",
            protocol,
            "--nodes",
            "4",
            "--members",
            members,
            "--data",
            &data,
            "--insecure",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
}
