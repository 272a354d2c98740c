//! Helpers shared by the UDP tests: free loopback ports, node processes that are killed when the
//! test ends (even on panic), data directories, history files.
#![allow(dead_code)]

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BALLOT: &str = env!("CARGO_BIN_EXE_ballot");

/// `n` loopback addresses whose ports were free a moment ago.
pub fn free_addrs(n: usize) -> Vec<SocketAddrV4> {
    let sockets: Vec<UdpSocket> = (0..n)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0"))
        .collect();
    sockets
        .iter()
        .map(|s| match s.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            other => panic!("not IPv4: {other}"),
        })
        .collect()
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

/// A fresh temporary directory for one test.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-udp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
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
    pub children: Vec<Option<Child>>,
}

impl Nodes {
    /// Starts `n` nodes of `protocol` with `extra` flags (e.g. fault injection).
    pub fn start(protocol: &str, n: usize, dir: &Path, extra: &[&str]) -> Self {
        let mut nodes = Self {
            protocol: protocol.into(),
            peers: free_addrs(n),
            dir: dir.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            children: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            nodes.restart(i);
        }
        nodes
    }

    pub fn data(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}"))
    }

    pub fn log(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}.log"))
    }

    pub fn command(&self, i: usize) -> Command {
        let mut cmd = Command::new(BALLOT);
        cmd.args(["node", &self.protocol, "--id", &i.to_string()])
            .args(["--peers", &peers_arg(&self.peers)])
            .arg("--data")
            .arg(self.data(i))
            .args(["--log-level", "info"])
            .args(&self.extra);
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
