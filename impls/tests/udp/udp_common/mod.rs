//! Helpers shared by the UDP tests: free loopback ports, node processes that are killed when the
//! test ends (even on panic), data directories, history files.
#![allow(dead_code)]

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BALLOT: &str = env!("CARGO_BIN_EXE_ballot");

/// `n` loopback addresses whose ports were free a moment ago.
pub fn free_addrs(n: usize) -> Vec<SocketAddrV4> {
    loopback_sockets(n).1
}

/// Runs `ballot ARGS` to its end (the CLI tests' helper).
pub use common::ballot;

/// A finished command's standard output, trimmed.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// A finished command's standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `n` sockets bound to free loopback ports, and their addresses.
pub fn loopback_sockets(n: usize) -> (Vec<UdpSocket>, Vec<SocketAddrV4>) {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    let addrs = sockets
        .iter()
        .map(|s| match s.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("not IPv4: {other}"),
        })
        .collect();
    (sockets, addrs)
}

/// A base port P such that 127.0.0.1:P..P+n are free now.
pub fn free_base_port(n: u16) -> u16 {
    let mut p = 20_000 + (std::process::id() % 20_000) as u16;
    loop {
        let all_free = (0..n).all(|i| UdpSocket::bind((Ipv4Addr::LOCALHOST, p + i)).is_ok());
        if all_free {
            return p;
        }
        p = if p > 60_000 { 20_000 } else { p + n + 7 };
    }
}

#[path = "../../common/mod.rs"]
mod common;
use common::tmp;

/// A fresh, empty temporary directory for one test: `ballot-udp-<pid>-<name>`, kept after the
/// test and removed by a later run ([`tmp::tmp_path`]).
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = tmp::tmp_path("udp", name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Where a test's client history goes: traces/histories/NAME.jsonl (gitignored).
pub fn history_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("traces")
        .join("histories")
        .join(format!("{name}.jsonl"))
}

pub fn peers_arg(peers: &[SocketAddrV4]) -> String {
    peers
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Node processes of one protocol, killed (SIGKILL) when dropped.
pub struct Nodes {
    pub protocol: String,
    pub peers: Vec<SocketAddrV4>,
    pub dir: PathBuf,
    pub extra: Vec<String>,
    /// The cluster's key file (`None`: the nodes run with `--insecure`).
    pub key: Option<PathBuf>,
    pub children: Vec<Option<Child>>,
}

impl Nodes {
    /// Starts `n` nodes of `protocol` with `extra` flags (e.g. fault injection). As
    /// `ballot cluster` does, they share a key (`DIR/cluster.key`, created) unless `extra`
    /// names one with `--key-file` or asks for `--insecure`.
    pub fn start(protocol: &str, n: usize, dir: &Path, extra: &[&str]) -> Self {
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let key = match extra.iter().position(|a| a == "--key-file") {
            Some(i) => Some(PathBuf::from(&extra[i + 1])),
            None if extra.iter().any(|a| a == "--insecure") => None,
            None => {
                let path = dir.join("cluster.key");
                Key::load_or_create(&path).unwrap();
                extra.extend(["--key-file".into(), path.display().to_string()]);
                Some(path)
            }
        };
        let mut nodes = Self {
            protocol: protocol.into(),
            peers: free_addrs(n),
            dir: dir.to_path_buf(),
            extra,
            key,
            children: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            nodes.restart(i);
        }
        nodes
    }

    /// The codec of the cluster's clients (with its key).
    pub fn codec(&self) -> Codec {
        match &self.key {
            Some(k) => Codec::new(Some(Key::load(k).unwrap())),
            None => Codec::default(),
        }
    }

    /// A client of every node.
    pub fn client(&self) -> Client {
        Client::new(self.peers.clone(), self.codec()).unwrap()
    }

    /// The `ballot client` flags that reach these nodes: `--peers` and the key.
    pub fn client_args(&self) -> Vec<String> {
        let mut v = vec!["--peers".to_string(), peers_arg(&self.peers)];
        match &self.key {
            Some(k) => v.extend(["--key-file".into(), k.display().to_string()]),
            None => v.push("--insecure".into()),
        }
        v
    }

    pub fn data(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    pub fn log(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}.log"))
    }

    /// Node `i`'s command line: `{i}` in an extra flag stands for `i` (a file per node).
    pub fn command(&self, i: usize) -> Command {
        let mut cmd = Command::new(BALLOT);
        cmd.args(["node", &self.protocol, "--id", &i.to_string()])
            .args(["--peers", &peers_arg(&self.peers)])
            .arg("--data")
            .arg(self.data(i))
            .args(["--log-level", "info"])
            .args(self.extra.iter().map(|a| a.replace("{i}", &i.to_string())));
        cmd
    }

    /// (Re)starts node `i` from its data directory; its log is appended to node-i.log.
    pub fn restart(&mut self, i: usize) {
        assert!(self.children[i].is_none(), "node {i} is running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log(i))
            .unwrap();
        let child = self
            .command(i)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn ballot node");
        self.children[i] = Some(child);
    }

    /// SIGKILL node `i` and reap it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().expect("SIGKILL");
            c.wait().unwrap();
        }
    }

    /// Whether node `i` exited by itself.
    pub fn exited(&mut self, i: usize) -> Option<std::process::ExitStatus> {
        self.children[i].as_mut()?.try_wait().unwrap()
    }

    pub fn logs(&self) -> String {
        (0..self.children.len())
            .map(|i| {
                format!(
                    "--- node {i} ---\n{}",
                    std::fs::read_to_string(self.log(i)).unwrap_or_default()
                )
            })
            .collect()
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in self.children.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits for `child` to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

use ballot::runtime::client::Client;
use ballot::runtime::codec::{Codec, Key, WireReply, WireRet};
use ballot::runtime::history::{self, Recorder, RecordingClient};
use ballot::runtime::journal::Journaled;
use ballot::runtime::node::{Node, NodeConfig};
use ballot::runtime::served::{ActorStorage, Served};
use ballot::runtime::storage::Store;
use ballot::runtime::transport::Faults;
use ballot_properties::kv::{KvOp, KvRet};

/// A node of protocol `S` at index 0 of three, run in this process on a loopback socket (data in
/// `dir`); the two other servers are sockets returned to the caller, with every address.
///
/// A protocol whose node without storage rejoins before it takes part (Raft,
/// `Served::lost_storage`) would wait for answers from peers that the test plays; the node is
/// given the empty storage of a member that started before instead.
pub fn node_at_0<S: Served>(
    dir: &Path,
    codec: Codec,
) -> (Node<S>, Vec<SocketAddrV4>, Vec<UdpSocket>)
where
    ActorStorage<S>: Journaled + Default,
{
    let (sockets, peers) = loopback_sockets(3);
    if S::lost_storage().is_some() {
        let mut store = Store::<ActorStorage<S>>::open(dir, S::NAME, peers[0]).unwrap();
        if store.load().unwrap().is_none() {
            store.save(&ActorStorage::<S>::default()).unwrap();
        }
    }
    let mut sockets = sockets.into_iter();
    let cfg = NodeConfig {
        index: 0,
        peers: peers.clone(),
        data: dir.to_path_buf(),
        codec,
        faults: Faults::default(),
        stats_every: None,
        partition_file: None,
        snapshot_every: ballot::runtime::node::DEFAULT_SNAPSHOT_EVERY,
        members: None,
    };
    let node = Node::<S>::with_socket(cfg, sockets.next().unwrap()).unwrap();
    (node, peers, sockets.collect())
}

/// Asks the nodes for their counters until they show injected drops and duplicates (the stats
/// replies themselves go through fault injection, so a few rounds suffice even on nodes that were
/// just restarted and lost their counters), at most 10 s. Asserts that no handler panicked.
pub fn assert_faults_injected(nodes: &Nodes) {
    let peers = &nodes.peers;
    let mut stats = nodes
        .client()
        .with_attempt_timeout(Duration::from_millis(50));
    let end = Instant::now() + Duration::from_secs(10);
    let (mut drops, mut dups) = (0, 0);
    while Instant::now() < end && (drops == 0 || dups == 0) {
        (drops, dups) = (0, 0);
        for i in 0..peers.len() {
            let s = stats.stats(i, Duration::from_secs(2)).unwrap();
            drops += s["counters"]["injected_drops"].as_u64().unwrap();
            dups += s["counters"]["injected_duplicates"].as_u64().unwrap();
            assert_eq!(s["counters"]["handler_panics"], 0, "node {i}");
        }
    }
    assert!(drops > 0 && dups > 0, "drops {drops}, duplicates {dups}");
}

/// The index of the node that currently answers as leader (asking each node once, following
/// its hint), if one is known.
pub fn find_leader(nodes: &Nodes) -> Option<usize> {
    let peers = &nodes.peers;
    let mut client = nodes.client();
    for i in 0..peers.len() {
        match client
            .probe(i, KvOp::Get("probe".into()), Duration::from_millis(300))
            .ok()?
        {
            Some(WireReply::Done { .. }) => return Some(i),
            Some(WireReply::NotLeader {
                leader: Some(l), ..
            }) => {
                if let Some(j) = peers.iter().position(|p| *p == l) {
                    return Some(j);
                }
            }
            _ => continue,
        }
    }
    None
}

/// Node `i`'s saved storage, read without disturbing the running node (empty before its first
/// save).
pub fn saved<T: Journaled + Default>(nodes: &Nodes, i: usize) -> T {
    Store::open(&nodes.data(i), &nodes.protocol, nodes.peers[i])
        .unwrap()
        .read()
        .unwrap()
        .unwrap_or_default()
}

/// Writes in the far-behind tests: 150 values of 600 bytes (entries of about 700 bytes), more
/// than one datagram (60 KiB) holds.
pub const FAR_BEHIND_WRITES: usize = 150;

/// The far-behind scenario's first half: one write, then a server that is not the leader is
/// SIGKILLed while [`FAR_BEHIND_WRITES`] writes commit, and restarted. Returns the leader and
/// the restarted server.
pub fn leave_one_far_behind(nodes: &mut Nodes, client: &mut Client) -> (usize, usize) {
    let deadline = Duration::from_secs(10);
    client
        .call(KvOp::Put("x".into(), "0".into()), deadline)
        .unwrap_or_else(|e| panic!("first write: {e}\n{}", nodes.logs()));
    let leader = find_leader(nodes).expect("a leader answers after a write");
    let behind = (leader + 1) % nodes.peers.len();
    nodes.kill(behind);
    for j in 1..=FAR_BEHIND_WRITES {
        let value = format!("{j:0>600}");
        client
            .call(KvOp::Put(format!("k{}", j % 7), value), deadline)
            .unwrap_or_else(|e| panic!("write {j}: {e}\n{}", nodes.logs()));
    }
    nodes.restart(behind);
    (leader, behind)
}

/// The far-behind scenario's end, once the restarted server caught up: the leader's counters
/// show messages cut to fit a datagram (what the server lacked did not fit in one), and with the
/// leader SIGKILLed the two others still answer the last write.
pub fn read_back_without_the_leader(nodes: &mut Nodes, client: &mut Client, leader: usize) {
    let stats = nodes
        .client()
        .stats(leader, Duration::from_secs(2))
        .unwrap();
    assert!(
        stats["counters"]["messages_shrunk"].as_u64().unwrap() > 0,
        "the leader sent no shortened message: {stats}"
    );
    nodes.kill(leader);
    let got = client
        .call(
            KvOp::Get(format!("k{}", FAR_BEHIND_WRITES % 7)),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| panic!("read without the old leader: {e}\n{}", nodes.logs()));
    assert_eq!(
        format!("{got:?}"),
        format!("Kv(GetOk(Some(\"{FAR_BEHIND_WRITES:0>600}\")))")
    );
}

/// Client `c`'s `j`-th operation over two keys: puts of unique values, reads, and a cas from
/// the value it last wrote.
pub fn kv_op(c: usize, j: usize) -> KvOp<String, String> {
    let key_of = |n: usize| if n.is_multiple_of(2) { "x" } else { "y" };
    let key = key_of(c + j);
    match j % 3 {
        0 => KvOp::Put(key.into(), format!("{c}.{j}")),
        1 => KvOp::Get(key.into()),
        _ => KvOp::Cas {
            key: key_of(c + j - 2).into(),
            from: format!("{c}.{}", j - 2),
            to: format!("{c}.{j}"),
        },
    }
}

/// The key-value fault test for Multi-Paxos and Raft: three nodes with loss and duplication,
/// three concurrent clients doing puts, gets and cas over two keys, while the leader is
/// SIGKILLed and restarted from its data directory (twice). The recorded history (under
/// traces/histories/NAME.jsonl) must be linearizable, final reads included, so that an
/// acknowledged write that was lost fails the test.
pub fn kv_fault_test(protocol: &str, name: &str) {
    const CLIENTS: usize = 3;
    const OPS: usize = 15;
    let started = Instant::now();
    let dir = tmp_dir(name);
    let faults = ["--drop", "0.1", "--duplicate", "0.1", "--delay-ms", "0..2"];
    let mut nodes = Nodes::start(protocol, 3, &dir, &faults);
    let recorder = Recorder::create(&history_path(name)).unwrap();
    let deadline = Duration::from_secs(4);
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let client = nodes.client().with_first(c);
            let mut client = RecordingClient::new(client, recorder.clone());
            let progress = progress.clone();
            std::thread::spawn(move || {
                let mut answered = 0;
                for j in 0..OPS {
                    if client.call(kv_op(c, j), deadline).is_ok() {
                        answered += 1;
                    }
                    progress.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                answered
            })
        })
        .collect();
    // Kill the leader (whoever it is) when a third and two thirds of the operations are done.
    let mut killed = Vec::new();
    for round in 1..=2 {
        let target = round * CLIENTS * OPS / 3;
        while progress.load(std::sync::atomic::Ordering::SeqCst) < target {
            assert!(
                started.elapsed() < Duration::from_secs(45),
                "clients stalled\n{}",
                nodes.logs()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let victim = find_leader(&nodes).unwrap_or(round % 3);
        nodes.kill(victim);
        killed.push(victim);
        std::thread::sleep(Duration::from_millis(400));
        nodes.restart(victim);
    }
    let answered: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    // Final reads of both keys close the history: a lost acknowledged write would show here.
    let mut last = RecordingClient::new(nodes.client(), recorder.clone());
    for key in ["x", "y"] {
        let got = last
            .call(KvOp::Get(key.into()), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("final read of {key}: {e}\n{}", nodes.logs()));
        assert!(matches!(got, WireRet::Kv(KvRet::GetOk(_))), "{got:?}");
    }
    let events = recorder.events();
    let checked = history::check_kv(&events).unwrap_or_else(|e| {
        panic!(
            "{e}; history: {}\n{}",
            history_path(name).display(),
            nodes.logs()
        )
    });
    assert!(
        answered >= CLIENTS * OPS / 2,
        "only {answered} of {} operations answered (killed {killed:?})\n{}",
        CLIENTS * OPS,
        nodes.logs()
    );
    assert_eq!(checked.answered, answered + 2);
    // The faults were on, and no handler panicked.
    assert_faults_injected(&nodes);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}
