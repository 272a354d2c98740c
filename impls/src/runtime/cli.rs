//! The `node`, `cluster`, `client`, `admin` and `bench` subcommands.
//!
//! Exit codes: 0 success (a node or cluster stopped by Ctrl-C or SIGTERM, a client that got its
//! answer, a membership change committed); 1 failure (a node whose storage is damaged or cannot
//! be written, a client or administrator without an answer before `--timeout`); 2 usage or
//! configuration error; 3 a membership change refused by the leader (`ballot admin`).

use super::bench::{self, BenchConfig, BenchReport, Until, Workload};
use super::client::{self, Client, ClientError, refusal_text};
use super::codec::{Codec, Key};
use super::etcd::EtcdClient;
use super::node::{DEFAULT_SNAPSHOT_EVERY, Node, NodeConfig, NodeError};
use super::served::{MultiPaxos, Paxos, Raft, Served};
use super::transport::{DelayRange, Faults};
use ballot_models::raft::{AdminAnswer, AdminOp, AdminRefusal, ConfigView};
use ballot_properties::kv::KvOp;
use clap::{Args, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The protocols the runtime serves, by command-line name.
pub const SERVED: &[&str] = &[Paxos::NAME, MultiPaxos::NAME, Raft::NAME];

/// The name of the key file `ballot cluster` creates in its data directory.
pub const CLUSTER_KEY: &str = "cluster.key";

/// How datagrams are authenticated: every command that sends them (`node`, `cluster`, `client`,
/// `bench`) needs `--key-file FILE` or, explicitly, `--insecure`.
#[derive(Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// The cluster's shared secret (at least 16 bytes; `ballot cluster` creates
    /// DATA/cluster.key): every datagram carries an HMAC-SHA256 under it, and datagrams without
    /// a valid one are dropped.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Run without a key: datagrams are neither signed nor checked, and any host that can send
    /// datagrams to a node can forge server messages (a Raft term, a Paxos decision).
    #[arg(long, conflicts_with = "key_file")]
    pub insecure: bool,
}

impl KeyArgs {
    /// The codec these flags ask for, or a usage error naming both flags (`who`: "a node", "a
    /// client").
    fn codec(&self, who: &str) -> Result<Codec, ExitCode> {
        match (&self.key_file, self.insecure) {
            (Some(p), _) => Key::load(p).map(|k| Codec::new(Some(k))).map_err(usage),
            (None, true) => Ok(Codec::new(None)),
            (None, false) => Err(usage(format!(
                "{who} needs --key-file FILE, the cluster's shared secret (`ballot cluster` \
                 creates DATA/{CLUSTER_KEY}), or --insecure to run without authentication \
                 (any host that can send datagrams to the nodes can then forge server messages)"
            ))),
        }
    }

    fn to_args(&self) -> Vec<String> {
        match (&self.key_file, self.insecure) {
            (Some(k), _) => vec!["--key-file".into(), k.display().to_string()],
            (None, true) => vec!["--insecure".into()],
            (None, false) => Vec::new(),
        }
    }
}

/// Network options shared by `node` and `cluster` (fault injection applies to each node's
/// outgoing datagrams).
#[derive(Args, Debug, Clone, Default)]
pub struct NetArgs {
    /// Authentication.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Fault injection: drop each outgoing datagram with this probability.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop: f64,
    /// Fault injection: send each outgoing datagram twice with this probability.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub duplicate: f64,
    /// Fault injection: delay each outgoing datagram by a random time in A..B milliseconds
    /// (which reorders them).
    #[arg(long, value_name = "A..B")]
    pub delay_ms: Option<DelayRange>,
}

impl NetArgs {
    fn faults(&self) -> Faults {
        Faults {
            drop: self.drop,
            duplicate: self.duplicate,
            delay: self.delay_ms,
        }
    }

    fn to_args(&self) -> Vec<String> {
        let mut v = self.key.to_args();
        if self.drop > 0.0 {
            v.extend(["--drop".into(), self.drop.to_string()]);
        }
        if self.duplicate > 0.0 {
            v.extend(["--duplicate".into(), self.duplicate.to_string()]);
        }
        if let Some(d) = self.delay_ms {
            v.extend([
                "--delay-ms".into(),
                format!("{}..{}", d.min.as_millis(), d.max.as_millis()),
            ]);
        }
        v
    }
}

/// `ballot node`.
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// This node's index in --peers (0-based).
    #[arg(long)]
    pub id: usize,
    /// Every server's IPv4 address, this one included, in id order: ADDR,ADDR,ADDR.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<SocketAddrV4>,
    /// This node's data directory (created if missing; holds storage.ballot).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Key file and fault injection.
    #[command(flatten)]
    pub net: NetArgs,
    /// Log level: error, warn, info, debug (every message) or trace.
    #[arg(long, default_value = "info")]
    pub log_level: tracing::Level,
    /// Seconds between the counters lines in the log (0: never).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub stats_every: f64,
    /// Fault injection: a file listing peer addresses (ADDR, one per line or separated by
    /// spaces or commas; `#` comments) this node neither sends to nor accepts server messages
    /// from: a network partition a test cuts and heals by rewriting the file (write another
    /// file and rename it over this one). Absent or empty: no cut. Looked at every 50 ms at
    /// most, read when it changed; one that does not parse is logged and changes nothing.
    #[arg(long, value_name = "PATH")]
    pub partition_file: Option<PathBuf>,
    /// Log compaction: once this many applied entries lie beyond the last compaction, Raft
    /// snapshots its state machine and discards the log and the applied entries it covers;
    /// Multi-Paxos discards its votes in the executed slots and folds the executed entries into
    /// their state machine. The storage then stays bounded; 0: never (it grows with every
    /// write).
    #[arg(long, default_value_t = DEFAULT_SNAPSHOT_EVERY, value_name = "N")]
    pub snapshot_every: u64,
    /// Raft: the initial configuration, as indices into --peers (I,J,K); the other peers run
    /// outside it (they answer, start no election) until `ballot admin add-server` adds them.
    /// Every node of a cluster must be given the same list. Default: every peer.
    #[arg(long, value_delimiter = ',', value_name = "I,J,K")]
    pub members: Option<Vec<usize>>,
}

/// `ballot cluster`.
#[derive(Args, Debug, Clone)]
pub struct ClusterArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Data directory; node i keeps its storage in DIR/node-i.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Node i listens on 127.0.0.1:(P+i).
    #[arg(long, default_value_t = 7000, value_name = "P")]
    pub base_port: u16,
    /// Key file and fault injection.
    #[command(flatten)]
    pub net: NetArgs,
    /// The nodes' log level.
    #[arg(long, default_value = "info")]
    pub log_level: tracing::Level,
    /// Each node's `--snapshot-every` (log compaction, Raft and Multi-Paxos; 0: never).
    #[arg(long, default_value_t = DEFAULT_SNAPSHOT_EVERY, value_name = "N")]
    pub snapshot_every: u64,
    /// Raft: only the first N nodes form the initial configuration; the others start as
    /// spares, outside it, for `ballot admin add-server` (default: every node).
    #[arg(long, value_name = "N")]
    pub members: Option<usize>,
}

/// `ballot admin`.
#[derive(Args, Debug, Clone)]
pub struct AdminArgs {
    /// The servers' addresses: ADDR,ADDR,ADDR (any of them: the leader is found from there).
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<SocketAddrV4>,
    /// Authentication.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Give up after this many seconds without the change committed (exit code 1).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// The request.
    #[command(subcommand)]
    pub op: AdminCommand,
}

/// A membership request (Raft; dissertation §4.1, one server at a time).
#[derive(Subcommand, Debug, Clone)]
pub enum AdminCommand {
    /// Add the server at ADDR (one of the nodes' --peers, running) to the configuration: the
    /// leader first catches it up as a non-voting learner (dissertation §4.2.1), then appends
    /// the change; prints the new configuration once the change is committed. A server that
    /// never catches up (down, unreachable) holds back other changes until remove-server ADDR.
    AddServer {
        /// The server's address.
        addr: SocketAddrV4,
    },
    /// Remove the server at ADDR from the configuration (the leader too: it steps down once
    /// the change commits); prints the new configuration once committed. A removed server no
    /// longer receives heartbeats: stop it (left running, it starts elections that disturb the
    /// cluster, dissertation §4.2.3).
    RemoveServer {
        /// The server's address.
        addr: SocketAddrV4,
    },
    /// Print the leader's latest configuration: its members, the index of its log entry (0:
    /// the initial configuration) and whether it is committed.
    Members,
}

/// `ballot client`.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// The servers' addresses: ADDR,ADDR,ADDR.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<SocketAddrV4>,
    /// Authentication.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Give up after this many seconds without an answer (exit code 1).
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// The local address to send from (default: any free port).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddrV4>,
    /// The operation.
    #[command(subcommand)]
    pub op: ClientOp,
}

/// A client operation.
#[derive(Subcommand, Debug, Clone)]
pub enum ClientOp {
    /// Set KEY to VALUE (Paxos: propose VALUE; prints the decided value).
    Put {
        /// The key (not used by Paxos's single register).
        key: String,
        /// The value.
        value: String,
    },
    /// Read KEY (Paxos: the decided value, once there is one).
    Get {
        /// The key.
        key: String,
    },
    /// Set KEY to TO if it holds FROM (key-value protocols only).
    Cas {
        /// The key.
        key: String,
        /// The value KEY must hold.
        from: String,
        /// The new value.
        to: String,
    },
    /// Print every server's counters (messages in and out, drops, saves) as JSON lines.
    Stats,
}

/// What `ballot bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BenchSystem {
    /// A Paxos cluster (`ballot cluster paxos`).
    Paxos,
    /// A Multi-Paxos cluster.
    MultiPaxos,
    /// A Raft cluster.
    Raft,
    /// An etcd cluster (v3 API, 3.4 or later), for comparison: --peers are its members'
    /// client addresses (http://ADDR), reached through etcd's JSON gateway over HTTP/1.1, one
    /// keep-alive connection per client; no key file.
    Etcd,
}

impl BenchSystem {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BenchSystem::Paxos => Paxos::NAME,
            BenchSystem::MultiPaxos => MultiPaxos::NAME,
            BenchSystem::Raft => Raft::NAME,
            BenchSystem::Etcd => "etcd",
        }
    }
}

/// `ballot bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The servers' addresses: ADDR,ADDR,ADDR.
    #[arg(long, value_delimiter = ',', required = true)]
    pub peers: Vec<SocketAddrV4>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Operations per client.
    #[arg(long, default_value_t = 250)]
    pub ops: usize,
    /// Run each client for SECS seconds (its last operation starts before then) instead of
    /// --ops operations.
    #[arg(long, value_name = "SECS", conflicts_with = "ops")]
    pub duration: Option<f64>,
    /// Distinct keys.
    #[arg(long, default_value_t = 8)]
    pub keys: usize,
    /// Authentication.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Per-operation deadline in seconds.
    #[arg(long, default_value_t = 5.0, value_name = "SECS")]
    pub timeout: f64,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Prints a line on stdout, ignoring a closed pipe (a cluster piped into `head` keeps running).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn usage(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn failure(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(1)
}

fn not_served(protocol: &str) -> ExitCode {
    usage(format!(
        "{protocol} has no UDP adapter yet; served protocols: {}",
        SERVED.join(", ")
    ))
}

fn seconds(flag: &str, s: f64) -> Result<Duration, ExitCode> {
    if s.is_finite() && s > 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(usage(format!(
            "{flag} must be a positive number of seconds, got {s}"
        )))
    }
}

/// A flag set by Ctrl-C (SIGINT), SIGTERM or SIGHUP.
fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || s.store(true, Ordering::SeqCst)) {
        eprintln!("warning: cannot handle Ctrl-C: {e}");
    }
    stop
}

/// `ballot node PROTOCOL …`.
pub fn node(protocol: &str, args: NodeArgs) -> ExitCode {
    match protocol {
        Paxos::NAME => node_with::<Paxos>(args),
        MultiPaxos::NAME => node_with::<MultiPaxos>(args),
        Raft::NAME => node_with::<Raft>(args),
        other => not_served(other),
    }
}

fn node_with<S: Served>(args: NodeArgs) -> ExitCode
where
    super::served::ActorStorage<S>: super::journal::Journaled,
{
    let codec = match args.net.key.codec("a node") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stats_every = match args.stats_every {
        0.0 => None,
        s => match seconds("--stats-every", s) {
            Ok(d) => Some(d),
            Err(code) => return code,
        },
    };
    let cfg = NodeConfig {
        index: args.id,
        peers: args.peers,
        data: args.data,
        codec,
        faults: args.net.faults(),
        stats_every,
        partition_file: args.partition_file,
        snapshot_every: args.snapshot_every,
        members: args.members,
    };
    if cfg.members.is_some() && !S::MEMBERSHIP {
        return usage(format!(
            "--members: {} has no membership changes (raft has)",
            S::NAME
        ));
    }
    if let Err(e) = cfg.validate() {
        return usage(e);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(args.log_level)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let span = tracing::info_span!("node", id = cfg.index, addr = %cfg.addr());
    let _entered = span.enter();
    if !cfg.codec.is_keyed() {
        tracing::warn!(
            "--insecure: datagrams are not authenticated; any host that can send datagrams to \
             this node can forge server messages"
        );
    }
    let stop = stop_flag();
    tracing::info!(
        protocol = S::NAME,
        peers = ?cfg.peers,
        data = %cfg.data.display(),
        keyed = cfg.codec.is_keyed(),
        faults = ?cfg.faults,
        partition_file = ?cfg.partition_file,
        "starting"
    );
    let result = Node::<S>::start(cfg).and_then(|mut node| node.run(&stop));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ NodeError::Config(_)) => usage(e),
        Err(e) => {
            tracing::error!(error = %e, "node stopped");
            failure(e)
        }
    }
}

/// The command line that runs node `i` of a local cluster.
fn node_command(exe: &Path, protocol: &str, args: &ClusterArgs, i: usize) -> Vec<String> {
    let peers: Vec<String> = (0..args.nodes)
        .map(|j| SocketAddrV4::new(Ipv4Addr::LOCALHOST, args.base_port + j as u16).to_string())
        .collect();
    let mut v = vec![
        exe.display().to_string(),
        "node".into(),
        protocol.into(),
        "--id".into(),
        i.to_string(),
        "--peers".into(),
        peers.join(","),
        "--data".into(),
        args.data.join(format!("node-{i}")).display().to_string(),
        "--log-level".into(),
        args.log_level.to_string().to_lowercase(),
        "--snapshot-every".into(),
        args.snapshot_every.to_string(),
    ];
    if let Some(m) = args.members {
        let members: Vec<String> = (0..m).map(|j| j.to_string()).collect();
        v.extend(["--members".into(), members.join(",")]);
    }
    v.extend(args.net.to_args());
    v
}

fn spawn_node(command: &[String]) -> std::io::Result<Child> {
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to send SIGTERM to the
        // node if the cluster process dies, so that no node outlives it.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
    }
    cmd.spawn()
}

fn terminate(child: &mut Child) {
    // SAFETY: kill(2) with the pid of a child this process spawned and has not yet reaped.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

/// `ballot cluster PROTOCOL …`: starts `--nodes` nodes on 127.0.0.1 as child processes, prints
/// their addresses, and stops them on Ctrl-C.
pub fn cluster(protocol: &str, mut args: ClusterArgs) -> ExitCode {
    if !SERVED.contains(&protocol) {
        return not_served(protocol);
    }
    if args.nodes == 0 || args.nodes > 99 {
        return usage(format!("--nodes must be in 1..=99, got {}", args.nodes));
    }
    if let Some(m) = args.members {
        if protocol != Raft::NAME {
            return usage(format!(
                "--members: {protocol} has no membership changes (raft has)"
            ));
        }
        if m == 0 || m > args.nodes {
            return usage(format!(
                "--members must be in 1..={} (--nodes), got {m}",
                args.nodes
            ));
        }
    }
    if args.base_port as usize + args.nodes > u16::MAX as usize || args.base_port == 0 {
        return usage(format!(
            "--base-port {} leaves no room for {} nodes",
            args.base_port, args.nodes
        ));
    }
    if let Err(e) = args.net.faults().validate() {
        return usage(e);
    }
    let mut key_note = "";
    if args.net.key.key_file.is_none() && !args.net.key.insecure {
        // Authenticated by default: a key shared by the nodes and their clients, kept with the
        // data (and reused when the cluster restarts on it).
        let path = args.data.join(CLUSTER_KEY);
        let created = std::fs::create_dir_all(&args.data)
            .map_err(|e| format!("--data {}: {e}", args.data.display()))
            .and_then(|()| Key::load_or_create(&path).map_err(|e| e.to_string()));
        match created {
            Ok((_, true)) => key_note = " (created)",
            Ok((_, false)) => {}
            Err(e) => return failure(e),
        }
        args.net.key.key_file = Some(path);
    }
    if let Err(code) = args.net.key.codec("a cluster") {
        return code;
    }
    let addrs: Vec<SocketAddrV4> = (0..args.nodes)
        .map(|i| SocketAddrV4::new(Ipv4Addr::LOCALHOST, args.base_port + i as u16))
        .collect();
    for a in &addrs {
        if let Err(e) = UdpSocket::bind(a) {
            return usage(format!(
                "--base-port: cannot listen on {a} ({e}); pick another with --base-port"
            ));
        }
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return failure(format!("cannot find the ballot executable: {e}")),
    };
    // Below the current directory (`target/release/ballot` from the repository), the restart
    // commands it prints name it relative to it. A bare name would be looked up in PATH.
    let exe = std::env::current_dir()
        .ok()
        .and_then(|dir| exe.strip_prefix(dir).ok().map(Path::to_path_buf))
        .filter(|rel| rel.components().count() > 1)
        .unwrap_or(exe);
    let stop = stop_flag();
    let commands: Vec<Vec<String>> = (0..args.nodes)
        .map(|i| node_command(&exe, protocol, &args, i))
        .collect();
    let mut children: Vec<Option<Child>> = Vec::new();
    for command in &commands {
        match spawn_node(command) {
            Ok(c) => children.push(Some(c)),
            Err(e) => {
                for c in children.iter_mut().flatten() {
                    let _ = c.kill();
                }
                return failure(format!("cannot start {}: {e}", command.join(" ")));
            }
        }
    }
    let peers: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let peers = peers.join(",");
    say!(
        "{} cluster of {} nodes, data in {}:",
        protocol,
        args.nodes,
        args.data.display()
    );
    for (i, c) in children.iter().enumerate() {
        let pid = c.as_ref().map_or(0, |c| c.id());
        let spare = if args.members.is_some_and(|m| i >= m) {
            "  (spare: outside the initial configuration)"
        } else {
            ""
        };
        say!(
            "  node {i}  {}  pid {pid}  data {}{spare}",
            addrs[i],
            args.data.join(format!("node-{i}")).display()
        );
    }
    say!("peers: {peers}");
    match &args.net.key.key_file {
        Some(k) => say!("key:   {}{key_note}", k.display()),
        None => eprintln!(
            "warning: --insecure: datagrams are not authenticated; any host that can send \
             datagrams to the nodes can forge server messages"
        ),
    }
    let key = args.net.key.to_args().join(" ");
    let example = if protocol == Paxos::NAME {
        "put x hello"
    } else {
        "put x 1"
    };
    say!("try:   ballot client --peers {peers} {key} {example}");
    if let Some(m) = args.members.filter(|&m| m < args.nodes) {
        say!(
            "grow:  ballot admin --peers {peers} {key} add-server {}",
            addrs[m]
        );
    }
    say!("Ctrl-C stops the cluster.");
    let mut code = ExitCode::SUCCESS;
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        if stop.load(Ordering::SeqCst) {
            break;
        }
        for (i, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!(
                    "node {i} ({}) exited: {status}. Restart it with:\n  {}",
                    addrs[i],
                    commands[i].join(" ")
                );
                *slot = None;
            }
        }
        if children.iter().all(Option::is_none) {
            eprintln!("every node has exited");
            code = ExitCode::from(1);
            break;
        }
    }
    eprintln!("stopping the cluster");
    for child in children.iter_mut().flatten() {
        terminate(child);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    for child in children.iter_mut().flatten() {
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    code
}

/// `ballot client …`.
pub fn client(args: ClientArgs) -> ExitCode {
    let codec = match args.key.codec("a client") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let timeout = match seconds("--timeout", args.timeout) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let client = match args.bind {
        Some(local) => Client::bound(args.peers.clone(), codec, local),
        None => Client::new(args.peers.clone(), codec),
    };
    let mut client = match client {
        Ok(c) => c,
        Err(e) => return failure(format!("cannot open a socket: {e}")),
    };
    let op = match args.op {
        ClientOp::Put { key, value } => KvOp::Put(key, value),
        ClientOp::Get { key } => KvOp::Get(key),
        ClientOp::Cas { key, from, to } => KvOp::Cas { key, from, to },
        ClientOp::Stats => {
            let mut code = ExitCode::SUCCESS;
            for (i, p) in args.peers.iter().enumerate() {
                match client.stats(i, timeout.min(Duration::from_secs(2))) {
                    Ok(v) => println!("{v}"),
                    Err(ClientError::Timeout { .. }) => {
                        eprintln!("{p}: no stats reply (is the node up?)");
                        code = ExitCode::from(1);
                    }
                    Err(e) => {
                        eprintln!("{p}: {e}");
                        code = ExitCode::from(1);
                    }
                }
            }
            return code;
        }
    };
    match client.call(op.clone(), timeout) {
        Ok(ret) => {
            println!("{}", client::show(&op, &ret));
            ExitCode::SUCCESS
        }
        Err(e @ ClientError::Refused(_)) => usage(e),
        Err(e) => failure(e),
    }
}

/// `ballot admin …`: a membership change or the configuration, from the leader.
pub fn admin(args: AdminArgs) -> ExitCode {
    let codec = match args.key.codec("an administrator") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let timeout = match seconds("--timeout", args.timeout) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut client = match Client::new(args.peers.clone(), codec) {
        Ok(c) => c,
        Err(e) => return failure(format!("cannot open a socket: {e}")),
    };
    let (result, change) = match args.op {
        AdminCommand::Members => (client.admin(AdminOp::Members, timeout), None),
        AdminCommand::AddServer { addr } => (
            client.change_membership(addr, true, timeout),
            Some(("add", addr)),
        ),
        AdminCommand::RemoveServer { addr } => (
            client.change_membership(addr, false, timeout),
            Some(("remove", addr)),
        ),
    };
    let show = |c: &ConfigView<SocketAddrV4>| {
        let members: Vec<String> = c.members.iter().map(|a| a.to_string()).collect();
        format!(
            "{} (configuration entry {}, {})",
            members.join(","),
            c.index,
            if c.committed {
                "committed"
            } else {
                "not committed yet"
            }
        )
    };
    match result {
        Ok(AdminAnswer::Members(c) | AdminAnswer::Done(c)) => {
            println!("{}", show(&c));
            ExitCode::SUCCESS
        }
        Ok(AdminAnswer::Pending(c)) => failure(format!(
            "the change is in the leader's log but not committed: {}",
            show(&c)
        )),
        Ok(AdminAnswer::CatchingUp {
            config,
            matched,
            last,
        }) => failure(format!(
            "the new server is still catching up as a learner (it holds the leader's log up to \
             index {matched} of {last}): {}",
            show(&config)
        )),
        Ok(AdminAnswer::Refused { reason, config }) => {
            let what = change.map_or(String::new(), |(verb, a)| format!(" to {verb} {a}"));
            eprintln!(
                "error: the leader refused{what}: {}; configuration now: {}",
                refusal_text(reason),
                show(&config)
            );
            if reason == AdminRefusal::UnknownServer {
                ExitCode::from(2)
            } else {
                ExitCode::from(3)
            }
        }
        Err(e @ ClientError::Refused(_)) => usage(e),
        Err(e) => failure(e),
    }
}

/// `ballot bench PROTOCOL …` (or `ballot bench etcd …`).
pub fn bench(protocol: &str, args: BenchArgs) -> ExitCode {
    let key_value = match protocol {
        Paxos::NAME => Paxos::KEY_VALUE,
        MultiPaxos::NAME => MultiPaxos::KEY_VALUE,
        Raft::NAME => Raft::KEY_VALUE,
        "etcd" => return bench_etcd(args),
        other => return not_served(other),
    };
    let until = match bench_until(&args) {
        Ok(u) => u,
        Err(code) => return code,
    };
    let codec = match args.key.codec("a client") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let deadline = match seconds("--timeout", args.timeout) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if args.clients == 0 || args.ops == 0 || args.keys == 0 {
        return usage("--clients, --ops and --keys must be at least 1");
    }
    // Requests look alike on the wire for every key-value protocol: ask the first node that
    // answers which protocol it runs, so that a bench of the wrong protocol is refused instead
    // of reported as a success.
    if let Ok(mut probe) = Client::new(args.peers.clone(), codec.clone()) {
        for (i, peer) in args.peers.iter().enumerate() {
            let Ok(stats) = probe.stats(i, Duration::from_secs(1)) else {
                continue;
            };
            match stats["protocol"].as_str() {
                Some(running) if running != protocol => {
                    return usage(format!(
                        "the node at {peer} runs {running}, not {protocol}: run `ballot bench \
                         {running} …`"
                    ));
                }
                Some(_) | None => break,
            }
        }
    }
    let cfg = BenchConfig {
        peers: args.peers,
        codec,
        clients: args.clients,
        ops: args.ops,
        keys: args.keys,
        key_value,
        deadline,
    };
    let targets = (0..cfg.clients)
        .map(|c| {
            Client::new(cfg.peers.clone(), cfg.codec.clone())
                .and_then(|cl| bench::BallotTarget::new(cl.with_first(c)))
        })
        .collect::<std::io::Result<Vec<_>>>();
    match targets.and_then(|t| bench::drive(&workload(&cfg, until), t)) {
        Ok(o) => bench_print(protocol, &cfg, until, args.json, &o.report, o.first_error),
        Err(e) => failure(e),
    }
}

/// The workload of `cfg`, run until `until`.
fn workload(cfg: &BenchConfig, until: Until) -> Workload {
    Workload {
        clients: cfg.clients,
        until,
        keys: cfg.keys,
        key_value: cfg.key_value,
        deadline: cfg.deadline,
    }
}

/// `--ops N` or `--duration SECS`.
fn bench_until(args: &BenchArgs) -> Result<Until, ExitCode> {
    match args.duration {
        Some(s) => seconds("--duration", s).map(Until::Elapsed),
        None => Ok(Until::Ops(args.ops)),
    }
}

/// `ballot bench etcd …`: the same workload as a key-value protocol's, against etcd.
fn bench_etcd(args: BenchArgs) -> ExitCode {
    if args.key.key_file.is_some() {
        return usage(
            "ballot bench etcd talks plain HTTP to etcd's client URLs: --key-file is for Ballot \
             clusters",
        );
    }
    let until = match bench_until(&args) {
        Ok(u) => u,
        Err(code) => return code,
    };
    let deadline = match seconds("--timeout", args.timeout) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if args.clients == 0 || args.ops == 0 || args.keys == 0 {
        return usage("--clients, --ops and --keys must be at least 1");
    }
    let cfg = BenchConfig {
        peers: args.peers,
        codec: Codec::new(None),
        clients: args.clients,
        ops: args.ops,
        keys: args.keys,
        key_value: true,
        deadline,
    };
    let targets = (0..cfg.clients)
        .map(|c| EtcdClient::new(cfg.peers.clone()).with_first(c))
        .collect();
    match bench::drive(&workload(&cfg, until), targets) {
        Ok(o) => bench_print("etcd", &cfg, until, args.json, &o.report, o.first_error),
        Err(e) => failure(e),
    }
}

/// Prints a bench's result (one line, or one JSON object); exit code 1 if an operation failed.
fn bench_print(
    system: &str,
    cfg: &BenchConfig,
    until: Until,
    json: bool,
    report: &BenchReport,
    first_error: Option<String>,
) -> ExitCode {
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    let (p50, p99, max) = (
        ms(report.quantile(0.5)),
        ms(report.quantile(0.99)),
        ms(report.quantile(1.0)),
    );
    if json {
        println!(
            "{}",
            serde_json::json!({
                "protocol": system, "clients": cfg.clients,
                "ops_per_client": match until {
                    Until::Ops(n) => Some(n),
                    Until::Elapsed(_) => None,
                },
                "duration_s": match until {
                    Until::Ops(_) => None,
                    Until::Elapsed(d) => Some(d.as_secs_f64()),
                },
                "ok": report.ok, "failed": report.failed,
                "seconds": report.elapsed.as_secs_f64(), "ops_per_s": report.throughput(),
                "p50_ms": p50, "p99_ms": p99, "max_ms": max,
                "unanswered_attempts": report.unanswered,
            })
        );
    } else {
        let each = match until {
            Until::Ops(n) => format!("{n} ops"),
            Until::Elapsed(d) => format!("{:.1} s", d.as_secs_f64()),
        };
        println!(
            "{system}: {} clients x {each}: {} ok, {} failed in {:.2} s = {:.0} ops/s; \
             latency p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms{}",
            cfg.clients,
            report.ok,
            report.failed,
            report.elapsed.as_secs_f64(),
            report.throughput(),
            match report.unanswered {
                Some(0) | None => String::new(),
                Some(n) => format!("; {n} attempts unanswered and sent again"),
            }
        );
    }
    if let Some(e) = first_error {
        eprintln!("first error: {e}");
    }
    if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
