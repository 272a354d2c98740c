//! The runtime's commands as a user runs them: `ballot cluster` starts (creating its key),
//! `ballot client` puts and gets with the command it printed, Ctrl-C stops the cluster; a client
//! without an answer exits 1 with a clear message; nothing runs without `--key-file` or
//! `--insecure`; `--key-file` makes nodes drop unauthenticated datagrams; `ballot bench` reports
//! figures.

use crate::udp_common;

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

/// Starts `ballot cluster paxos` on DIR and ports BASE.., and returns it with what it printed
/// up to its last line ("Ctrl-C stops the cluster.").
fn start_cluster(dir: &std::path::Path, base: u16) -> (Guard, Vec<String>) {
    let mut cluster = Guard(
        Command::new(BALLOT)
            .args(["cluster", "paxos", "--nodes", "3", "--base-port"])
            .arg(base.to_string())
            .arg("--data")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = cluster.0.stdout.take().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        let last = line.starts_with("Ctrl-C");
        printed.push(line);
        if last {
            break;
        }
    }
    (cluster, printed)
}

/// The line of `printed` that starts with `prefix`, without it.
fn printed_line<'a>(printed: &'a [String], prefix: &str) -> &'a str {
    printed
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' line in {printed:?}"))
}

#[test]
fn cluster_client_and_ctrl_c() {
    let dir = tmp_dir("cli-cluster");
    let base = free_base_port(3);
    let (mut cluster, printed) = start_cluster(&dir, base);
    // The cluster prints its peers, the key it created, and a client command that works.
    let peers = printed_line(&printed, "peers: ").to_string();
    assert_eq!(
        peers,
        format!(
            "127.0.0.1:{base},127.0.0.1:{},127.0.0.1:{}",
            base + 1,
            base + 2
        )
    );
    let key_file = dir.join("cluster.key");
    let key = key_file.display().to_string();
    assert_eq!(
        printed_line(&printed, "key:   "),
        format!("{key} (created)")
    );
    let key_bytes = std::fs::read(&key_file).unwrap();
    assert_eq!(key_bytes.trim_ascii().len(), 64, "32 random bytes in hex");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let example = printed_line(&printed, "try:   ballot ");
    assert_eq!(
        example,
        format!("client --peers {peers} --key-file {key} put x hello")
    );
    let put = ballot(&example.split(' ').collect::<Vec<_>>());
    assert_eq!(put.status.code(), Some(0), "{}", stderr(&put));
    assert_eq!(stdout(&put), "decided hello");

    let client = |args: &[&str]| {
        let mut all = vec!["client", "--peers", &peers, "--key-file", &key];
        all.extend_from_slice(args);
        ballot(&all)
    };
    let put = client(&["put", "x", "world"]);
    assert_eq!(stdout(&put), "decided hello", "a write-once register");
    let get = client(&["get", "x"]);
    assert_eq!(stdout(&get), "hello");
    let cas = client(&["cas", "x", "a", "b"]);
    assert_eq!(cas.status.code(), Some(2));
    assert!(
        stderr(&cas).contains("write-once register"),
        "{}",
        stderr(&cas)
    );
    // A majority saved (promise, vote) before the value was decided. The third node may have
    // missed every message (sent before its process bound its port, say): Paxos sends nothing
    // after a decision, and that node learns it only when asked.
    let stats = client(&["stats"]);
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
    // Restarted on the same data, the cluster reuses its key and remembers the decision.
    let (mut again, printed) = start_cluster(&dir, base);
    assert_eq!(printed_line(&printed, "key:   "), key);
    assert_eq!(std::fs::read(&key_file).unwrap(), key_bytes);
    let get = client(&["put", "x", "other"]);
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
    let o = ballot(&[
        "client",
        "--peers",
        &peers,
        "--insecure",
        "--timeout",
        "1",
        "get",
        "x",
    ]);
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
        "--insecure",
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
        "--insecure",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--drop"), "{}", stderr(&o));
}

/// Authenticated by default: a node, a client or a bench without `--key-file` refuses to run
/// (exit 2, naming `--key-file` and `--insecure`) unless `--insecure` is given; a node run with
/// `--insecure` warns that its messages can be forged.
#[test]
fn without_a_key_file_nothing_runs_unless_insecure() {
    let dir = tmp_dir("cli-insecure");
    let addr = free_addrs(1)[0].to_string();
    let data = dir.join("node-0").display().to_string();
    let node = [
        "node", "raft", "--id", "0", "--peers", &addr, "--data", &data,
    ];
    // A client's flags come before its operation.
    let client = |flags: &[&str]| {
        let mut args = vec!["client", "--peers", &addr, "--timeout", "0.5"];
        args.extend_from_slice(flags);
        args.extend(["get", "x"]);
        ballot(&args)
    };
    let others = |flags: &[&str]| {
        let bench = [
            "bench",
            "raft",
            "--peers",
            &addr,
            "--ops",
            "1",
            "--timeout",
            "0.5",
        ];
        [&node[..], &bench[..]].map(|args| ballot(&[args, flags].concat()))
    };
    let [n, b] = others(&[]);
    for o in [n, client(&[]), b] {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("--key-file") && err.contains("--insecure"),
            "{err}"
        );
    }
    // Both at once is a usage error too.
    let both = ["--insecure", "--key-file", "/dev/null"];
    let [n, b] = others(&both);
    for o in [n, client(&both), b] {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
    }
    // With --insecure, the node starts and warns; the client runs (and finds no answer).
    let log = dir.join("node.log");
    let mut child = Command::new(BALLOT)
        .args(node)
        .arg("--insecure")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let warned = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("any host that can send datagrams to this node can forge")
    };
    while !warned(&log) && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(warned(&log), "{}", std::fs::read_to_string(&log).unwrap());
    let o = client(&["--insecure"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("no answer within"), "{}", stderr(&o));
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
        "--insecure",
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
    let reach = nodes.client_args();
    let mut args = vec!["bench", "paxos", "--clients", "2", "--ops", "20", "--json"];
    args.extend(reach.iter().map(String::as_str));
    let o = ballot(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], 40);
    assert_eq!(v["failed"], 0);
    assert!(v["ops_per_s"].as_f64().unwrap() > 0.0);
    assert!(v["p50_ms"].as_f64().unwrap() <= v["p99_ms"].as_f64().unwrap());
}

/// A bench counts the attempts its clients sent again after no answer: with an address where
/// nothing listens first in `--peers`, client 0's first attempt goes unanswered (the client's
/// attempt timeout, 0.5 s) before it tries the next server.
#[test]
fn bench_counts_the_attempts_that_got_no_answer() {
    let dir = tmp_dir("cli-bench-unanswered");
    let nodes = Nodes::start("paxos", 3, &dir, &[]);
    let reach = nodes.client_args();
    let mut args = vec!["bench", "paxos", "--clients", "1", "--ops", "3", "--json"];
    args.extend(reach.iter().map(String::as_str));
    let dead = free_addrs(1)[0];
    let with_dead = format!("{dead},{}", peers_arg(&nodes.peers));
    let at = args.iter().position(|a| *a == "--peers").unwrap() + 1;
    let live = ballot(&args);
    args[at] = &with_dead;
    let o = ballot(&args);
    for o in [&live, &o] {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    }
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], 3);
    assert!(v["unanswered_attempts"].as_u64().unwrap() >= 1, "{v}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&live)).unwrap();
    assert!(v["unanswered_attempts"].is_u64(), "{v}");
}

/// `ballot bench` asks the cluster which protocol it runs: a bench of another protocol is a
/// usage error naming both (issue 13: `bench multi-paxos` against Raft nodes reported success).
/// `ballot client stats` shows each node's role, term and leader.
#[test]
fn bench_refuses_a_cluster_of_another_protocol_and_stats_show_the_role() {
    let dir = tmp_dir("cli-bench-protocol");
    let nodes = Nodes::start("raft", 3, &dir, &[]);
    let reach = nodes.client_args();
    let mut args = vec!["bench", "multi-paxos", "--clients", "1", "--ops", "2"];
    args.extend(reach.iter().map(String::as_str));
    let o = ballot(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("runs raft, not multi-paxos"),
        "{}",
        stderr(&o)
    );
    // A write commits, so some node is leader and the others know it.
    let mut put = vec!["client"];
    put.extend(reach.iter().map(String::as_str));
    put.extend(["put", "x", "1"]);
    let o = ballot(&put);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut stats = vec!["client"];
    stats.extend(reach.iter().map(String::as_str));
    stats.push("stats");
    let o = ballot(&stats);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let states: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["state"].clone())
        .collect();
    assert_eq!(states.len(), 3);
    assert!(states.iter().any(|s| s["role"] == "leader"), "{states:?}");
    for s in &states {
        assert!(s["term"].as_u64() >= Some(1), "{s}");
        assert!(
            s.get("leader").is_some() && s.get("commit_index").is_some(),
            "{s}"
        );
    }
}
