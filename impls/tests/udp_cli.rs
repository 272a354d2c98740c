//! The runtime's commands as a user runs them: `ballot cluster` starts, `ballot client` puts and
//! gets, Ctrl-C stops the cluster; a client without an answer exits 1 with a clear message;
//! `--key-file` makes nodes drop unauthenticated datagrams; `ballot bench` reports figures.

mod udp_common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use udp_common::*;

/// Kills the cluster process if the test fails before it is stopped.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn cluster_client_and_ctrl_c() {
    let dir = tmp_dir("cli-cluster");
    let base = free_base_port(3);
    let mut cluster = Guard(
        Command::new(BALLOT)
            .args(["cluster", "paxos", "--nodes", "3", "--base-port"])
            .arg(base.to_string())
            .arg("--data")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The cluster prints its peers line.
    let out = cluster.0.stdout.take().unwrap();
    let peers = BufReader::new(out)
        .lines()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("peers: ").map(str::to_string))
        .expect("a peers line");
    assert_eq!(
        peers,
        format!(
            "127.0.0.1:{base},127.0.0.1:{},127.0.0.1:{}",
            base + 1,
            base + 2
        )
    );

    let put = ballot(&["client", "--peers", &peers, "put", "x", "hello"]);
    assert_eq!(put.status.code(), Some(0), "{}", stderr(&put));
    assert_eq!(stdout(&put), "decided hello");
    let put = ballot(&["client", "--peers", &peers, "put", "x", "world"]);
    assert_eq!(stdout(&put), "decided hello", "a write-once register");
    let get = ballot(&["client", "--peers", &peers, "get", "x"]);
    assert_eq!(stdout(&get), "hello");
    let cas = ballot(&["client", "--peers", &peers, "cas", "x", "a", "b"]);
    assert_eq!(cas.status.code(), Some(2));
    assert!(
        stderr(&cas).contains("write-once register"),
        "{}",
        stderr(&cas)
    );
    // A majority saved (promise, vote) before the value was decided. The third node may have
    // missed every message (sent before its process bound its port, say): Paxos sends nothing
    // after a decision, and that node learns it only when asked.
    let stats = ballot(&["client", "--peers", &peers, "stats"]);
    assert_eq!(stats.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&stats)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let saved = lines
        .iter()
        .filter(|s| s["counters"]["saves"].as_u64() > Some(0))
        .count();
    assert!(saved >= 2, "{lines:?}");

    // Ctrl-C: the cluster stops its nodes and exits 0; their ports are free again.
    sigint(cluster.0.id());
    let status = wait_exit(&mut cluster.0, Duration::from_secs(10)).expect("cluster stops");
    assert_eq!(status.code(), Some(0));
    for i in 0..3 {
        assert!(std::net::UdpSocket::bind(("127.0.0.1", base + i)).is_ok());
    }
    // Restarted on the same data, the cluster remembers the decision.
    let mut again = Guard(
        Command::new(BALLOT)
            .args(["cluster", "paxos", "--nodes", "3", "--base-port"])
            .arg(base.to_string())
            .arg("--data")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let get = ballot(&["client", "--peers", &peers, "put", "x", "other"]);
    assert_eq!(stdout(&get), "decided hello", "{}", stderr(&get));
    let _ = again.0.kill();
}

fn sigint(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_client_without_an_answer_exits_1_with_a_clear_message() {
    let nobody = free_addrs(2);
    let peers = peers_arg(&nobody);
    let o = ballot(&["client", "--peers", &peers, "--timeout", "1", "get", "x"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("no answer within"), "{err}");
    assert!(err.contains(&nobody[0].to_string()), "{err}");
}

#[test]
fn usage_errors_exit_2_naming_the_flag() {
    let o = ballot(&[
        "node",
        "paxos",
        "--id",
        "3",
        "--peers",
        "127.0.0.1:1,127.0.0.1:2",
        "--data",
        "/nonexistent",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--id"), "{}", stderr(&o));
    let o = ballot(&[
        "node",
        "paxos",
        "--id",
        "0",
        "--peers",
        "127.0.0.1:1",
        "--data",
        "/tmp/x",
        "--drop",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--drop"), "{}", stderr(&o));
}

#[test]
fn with_a_key_file_unauthenticated_datagrams_are_dropped() {
    let dir = tmp_dir("cli-key");
    let key = dir.join("key");
    std::fs::write(&key, "a shared secret of 32 bytes.....\n").unwrap();
    let key = key.to_str().unwrap().to_string();
    let nodes = Nodes::start("paxos", 3, &dir, &["--key-file", &key]);
    let peers = peers_arg(&nodes.peers);
    let without = ballot(&[
        "client",
        "--peers",
        &peers,
        "--timeout",
        "1.5",
        "put",
        "k",
        "v",
    ]);
    assert_eq!(without.status.code(), Some(1), "{}", stderr(&without));
    let with = ballot(&[
        "client",
        "--peers",
        &peers,
        "--key-file",
        &key,
        "put",
        "k",
        "v",
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
    assert_eq!(stdout(&with), "decided v");
    let stats = ballot(&["client", "--peers", &peers, "--key-file", &key, "stats"]);
    let bad_macs: u64 = stdout(&stats)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|s| s["counters"]["dropped_bad_mac"].as_u64().unwrap())
        .sum();
    assert!(bad_macs > 0, "{}", stdout(&stats));
}

#[test]
fn bench_reports_throughput_and_latency() {
    let dir = tmp_dir("cli-bench");
    let nodes = Nodes::start("paxos", 3, &dir, &[]);
    let peers = peers_arg(&nodes.peers);
    let o = ballot(&[
        "bench",
        "paxos",
        "--peers",
        &peers,
        "--clients",
        "2",
        "--ops",
        "20",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], 40);
    assert_eq!(v["failed"], 0);
    assert!(v["ops_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["p50_ms"].as_f64().unwrap() <= v["p99_ms"].as_f64().unwrap());
}
