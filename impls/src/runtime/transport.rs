//! The node's UDP socket, its counters, fault injection on outgoing datagrams
//! (`--drop P`, `--duplicate P`, `--delay-ms A..B`) for tests and demos, and the network
//! partition a test controls through a file (`--partition-file PATH`, [`PartitionFile`]).

use rand::Rng;
use rand::rngs::SmallRng;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::net::{SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant, SystemTime};

/// What a node counts; `ballot client stats` and the node's periodic log line show them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Messages delivered to the actor (server-to-server and client requests).
    pub delivered: u64,
    /// Client requests among them.
    pub client_requests: u64,
    /// Datagrams dropped because they failed validation (bad header, length, MAC or payload).
    pub dropped_malformed: u64,
    /// Of those, the ones whose MAC was missing or wrong.
    pub dropped_bad_mac: u64,
    /// Server-to-server messages dropped because the sender is not a configured peer.
    pub dropped_not_peer: u64,
    /// Datagrams of a kind a node does not accept (replies meant for clients), or from IPv6.
    pub dropped_unexpected: u64,
    /// Messages the actor sent (before fault injection).
    pub messages_out: u64,
    /// Datagrams handed to the socket (after fault injection, duplicates included).
    pub datagrams_out: u64,
    /// The bytes of those datagrams (frames whole: header, payload, MAC).
    pub bytes_out: u64,
    /// Outgoing datagrams dropped by `--drop`.
    pub injected_drops: u64,
    /// Outgoing datagrams duplicated by `--duplicate`.
    pub injected_duplicates: u64,
    /// Outgoing datagrams delayed by `--delay-ms`.
    pub injected_delays: u64,
    /// Messages that could not be sent (too large, no route to a client, socket error).
    pub send_failures: u64,
    /// Replies to a client session the node has no address for (it never heard from it since
    /// it started, or forgot it: it keeps the last address of the
    /// [`ROUTE_CAP`](super::node::ROUTE_CAP) sessions heard from most recently): dropped.
    pub replies_unknown_session: u64,
    /// Messages not sent because a later message of the same batch to the same peer makes them
    /// useless ([`Served::supersedes`](super::served::Served::supersedes): a Raft leader's
    /// AppendEntries followed by a longer one).
    pub messages_superseded: u64,
    /// Server-to-server messages too long for a datagram, sent shortened instead
    /// ([`Served::shrink`](super::served::Served::shrink): Raft's AppendEntries).
    pub messages_shrunk: u64,
    /// Durable saves: one per batch whose steps changed the storage (group commit: the storage
    /// of the batch's last save); each appends a journal record and syncs it (`fdatasync`), or
    /// now and then writes a new snapshot instead.
    pub saves: u64,
    /// The longest save, in microseconds: encoding, writing and syncing the storage (a
    /// journal record, or a new snapshot). The node serves nothing meanwhile.
    pub save_max_us: u64,
    /// `fsync`/`fdatasync` calls on the storage's files and directory: one per journal record,
    /// more when a save writes a snapshot (see `syncs` in `docs/fault-matrix.md`).
    pub syncs: u64,
    /// Batches committed (group commit): each ran one or more steps, then made their saves
    /// durable at once, then sent their messages.
    pub batches: u64,
    /// Steps (messages, timeouts, random choices delivered to the actor) run in those batches:
    /// `batch_steps / batches` is the mean batch size.
    pub batch_steps: u64,
    /// The largest batch, in steps.
    pub batch_max: u64,
    /// The longest batch, in microseconds, from its first datagram (or due timer) to its last
    /// message sent.
    pub batch_max_us: u64,
    /// Batches that took longer than [`SLOW_BATCH`](super::node::SLOW_BATCH); each is logged.
    pub slow_batches: u64,
    /// Of those, the saves that wrote a new snapshot (temporary file, fsync, rename, fsync of
    /// the directory, then an empty journal the same way).
    pub snapshots: u64,
    /// Timer expirations delivered to the actor.
    pub timeouts: u64,
    /// Handler panics (an actor bug): the step was discarded, state and storage unchanged.
    pub handler_panics: u64,
    /// Server-to-server datagrams dropped on arrival because the sender is cut off by the
    /// partition file (`--partition-file`).
    pub partition_drops_in: u64,
    /// Server-to-server messages not sent because the receiver is cut off by the partition
    /// file.
    pub partition_drops_out: u64,
    /// Log compactions (`--snapshot-every`): steps in which the actor snapshotted its applied
    /// entries (Raft §7).
    pub log_snapshots: u64,
    /// Snapshots sent to peers (Raft's InstallSnapshot).
    pub install_snapshots_out: u64,
    /// Snapshots received from peers and delivered to the actor.
    pub install_snapshots_in: u64,
    /// Messages too long for one datagram, sent as fragments (`runtime::fragment`).
    pub fragmented_out: u64,
    /// Fragment datagrams sent.
    pub fragments_out: u64,
    /// Fragment datagrams received.
    pub fragments_in: u64,
    /// Messages reassembled from fragments and delivered.
    pub reassembled: u64,
    /// Fragments rejected: malformed (bad header, sizes that disagree with the message's
    /// other fragments), or beyond the reassembly bounds. Also counted in `dropped_malformed`.
    pub fragments_rejected: u64,
    /// Partly received messages given up (timed out, or evicted to stay within the bounds).
    pub reassembly_expired: u64,
    /// Datagrams sent that carried several server-to-server messages to one peer (a pack,
    /// `runtime::pack`): the messages of one batch to the same peer share datagrams.
    pub packed_out: u64,
    /// Messages sent in those datagrams (`messages_packed / packed_out` is the mean pack).
    pub messages_packed: u64,
    /// Packs received from peers and accepted: each of their messages was delivered.
    pub packs_in: u64,
    /// Packs rejected whole: malformed, or with a message that does not parse. Also counted in
    /// `dropped_malformed`.
    pub packs_rejected: u64,
    /// Datagrams the kernel dropped on arrival at this node's socket because its receive
    /// buffer was full (Linux's per-socket `drops` in `/proc/net/udp`; read when the counters
    /// are shown; 0 where that file is not available). The node asks for a receive buffer of
    /// [`SOCKET_BUFFER`] bytes so that bursts of 64 clients fit.
    pub kernel_drops: u64,
    /// The socket's receive buffer, in bytes, as the kernel granted it (Linux reports twice the
    /// size asked for, its bookkeeping included; it caps the request at `net.core.rmem_max`).
    pub socket_rcvbuf: u64,
}

/// A range of milliseconds, `A..B` on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DelayRange {
    /// The shortest delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl FromStr for DelayRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| format!("expected A..B in milliseconds, got '{s}'"))?;
        let parse = |x: &str| {
            x.trim()
                .parse::<u64>()
                .map_err(|_| format!("expected A..B in milliseconds, got '{s}'"))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        if a > b || b > 60_000 {
            return Err(format!(
                "expected A..B with A <= B <= 60000 milliseconds, got '{s}'"
            ));
        }
        Ok(Self {
            min: Duration::from_millis(a),
            max: Duration::from_millis(b),
        })
    }
}

/// Faults injected on a node's outgoing datagrams.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// Probability that a datagram is dropped.
    pub drop: f64,
    /// Probability that a datagram is sent twice.
    pub duplicate: f64,
    /// Each datagram (and each copy) is delayed by a uniform random time in this range.
    pub delay: Option<DelayRange>,
}

impl Faults {
    /// Checks the probabilities, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (flag, p) in [("--drop", self.drop), ("--duplicate", self.duplicate)] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{flag} must be a probability in 0..=1, got {p}"));
            }
        }
        Ok(())
    }

    /// Whether any fault is injected.
    pub fn any(&self) -> bool {
        self.drop > 0.0 || self.duplicate > 0.0 || self.delay.is_some()
    }
}

/// How often at most a node looks at its partition file.
pub const PARTITION_CHECK_EVERY: Duration = Duration::from_millis(50);

/// The network partition of one node, controlled through a file (`ballot node
/// --partition-file PATH`): the peer addresses the node neither sends to nor accepts
/// server-to-server messages from. Clients are never cut off.
///
/// The file lists IPv4 addresses with ports (`127.0.0.1:7001`), separated by newlines, spaces
/// or commas; `#` starts a comment. An absent or empty file means no cut. The node looks at the
/// file's metadata at most every [`PARTITION_CHECK_EVERY`] and reads it again when its
/// modification time, length or inode changed (write a new file and rename it over the old
/// one, so that a half-written file is never read). A file that does not parse is an error
/// logged once per version of the file; the cut read before it stays in force.
///
/// A cut is one-sided: to separate two nodes, list each in the other's file (then neither the
/// datagrams in flight at the cut nor those sent during it arrive).
pub struct PartitionFile {
    path: PathBuf,
    /// The metadata of the version of the file read last (`None`: absent).
    seen: Option<(SystemTime, u64, u64)>,
    cut: BTreeSet<SocketAddrV4>,
    next_check: Instant,
}

impl PartitionFile {
    /// Watches `path`, and reads it now.
    pub fn new(path: PathBuf, me: SocketAddrV4, peers: &[SocketAddrV4]) -> Self {
        let mut p = Self {
            path,
            seen: None,
            cut: BTreeSet::new(),
            next_check: Instant::now(),
        };
        p.refresh(Instant::now(), me, peers);
        p
    }

    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `addr` is cut off now.
    pub fn cuts(&self, addr: SocketAddrV4) -> bool {
        self.cut.contains(&addr)
    }

    /// The addresses cut off now.
    pub fn cut(&self) -> &BTreeSet<SocketAddrV4> {
        &self.cut
    }

    /// Reads the file again if it changed, at most every [`PARTITION_CHECK_EVERY`]: logs the
    /// new cut, or the error in a file that does not parse (once per version of the file).
    /// `me` and `peers`: this node's address and its peers', to warn about a listed address
    /// that is neither.
    pub fn refresh(&mut self, now: Instant, me: SocketAddrV4, peers: &[SocketAddrV4]) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + PARTITION_CHECK_EVERY;
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => {
                use std::os::unix::fs::MetadataExt;
                Some((
                    m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    m.len(),
                    m.ino(),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                if self.seen.is_some() {
                    tracing::error!(file = %self.path.display(), error = %e, "partition file unreadable: the cut stays as it was");
                    self.seen = None;
                }
                return;
            }
        };
        if meta == self.seen {
            return;
        }
        self.seen = meta;
        let text = match meta {
            None => String::new(),
            Some(_) => match std::fs::read_to_string(&self.path) {
                Ok(t) => t,
                // Renamed away between the two calls: the next look sees the new version.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.seen = None;
                    String::new()
                }
                Err(e) => {
                    tracing::error!(file = %self.path.display(), error = %e, "partition file unreadable: the cut stays as it was");
                    return;
                }
            },
        };
        match parse_partition(&text) {
            Ok(cut) => {
                for a in cut.iter().filter(|a| **a == me || !peers.contains(a)) {
                    tracing::warn!(file = %self.path.display(), addr = %a, "partition file lists an address that is not a peer: it changes nothing");
                }
                if cut != self.cut {
                    if cut.is_empty() {
                        tracing::info!(file = %self.path.display(), "partition healed: every peer reachable");
                    } else {
                        tracing::info!(file = %self.path.display(), cut = ?cut, "partition: cut off from these peers");
                    }
                    self.cut = cut;
                }
            }
            Err(e) => {
                tracing::error!(file = %self.path.display(), error = %e, "partition file does not parse: the cut stays as it was");
            }
        }
    }
}

/// The addresses a partition file lists (see [`PartitionFile`]), or what is wrong with it.
pub fn parse_partition(text: &str) -> Result<BTreeSet<SocketAddrV4>, String> {
    let mut cut = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for word in line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
        {
            let addr: SocketAddrV4 = word.parse().map_err(|_| {
                format!(
                    "line {}: '{word}' is not an IPv4 address with a port (127.0.0.1:7001)",
                    n + 1
                )
            })?;
            cut.insert(addr);
        }
    }
    Ok(cut)
}

/// The receive and send buffer a node asks for its socket, in bytes: 4 MiB, the default
/// `net.core.rmem_max` and `wmem_max` of current Linux kernels, so about 2,700 full-size
/// datagrams or far more small ones (the kernel's default, 208 KiB, dropped datagrams at 64
/// clients).
pub const SOCKET_BUFFER: usize = 4 << 20;

/// Asks the kernel for `bytes` of receive and send buffer on `socket` (`SO_RCVBUF`,
/// `SO_SNDBUF`; the kernel caps each at its `rmem_max`/`wmem_max`) and returns the receive
/// buffer granted. An error only if the kernel refuses the call.
pub fn size_buffers(socket: &UdpSocket, bytes: usize) -> std::io::Result<u64> {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: `fd` is an open socket for the duration of the call; the option value is a
        // `c_int` whose size is passed with it.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    let mut granted: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: as above; `granted` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut granted as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(u64::try_from(granted).unwrap_or(0))
}

/// The datagrams the kernel dropped on arrival at `socket` for want of buffer space: the
/// `drops` column of the socket's line in Linux's `/proc/net/udp`, found by the socket's inode.
/// `None` where the file or the line is not there.
pub fn kernel_drops(socket: &UdpSocket) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
    let inode = link
        .to_str()?
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .to_owned();
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    drops_of(&table, &inode)
}

/// The `drops` column (the last) of the line of `/proc/net/udp` whose `inode` column (the
/// tenth) is `inode`.
fn drops_of(table: &str, inode: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(9) == Some(&inode)).then(|| fields.last()?.parse().ok())?
    })
}

/// A delayed datagram: when it is due, a sequence number (ties keep sending order), where to.
type Delayed = (Instant, u64, SocketAddrV4, Vec<u8>);

/// The socket, with fault injection and a queue of delayed datagrams.
pub struct Transport {
    socket: UdpSocket,
    faults: Faults,
    rng: SmallRng,
    delayed: BinaryHeap<Reverse<Delayed>>,
    seq: u64,
}

impl Transport {
    /// Wraps a bound socket.
    pub fn new(socket: UdpSocket, faults: Faults, rng: SmallRng) -> Self {
        Self {
            socket,
            faults,
            rng,
            delayed: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// The socket.
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Sends one message's datagram, subject to the configured faults.
    pub fn send(&mut self, dst: SocketAddrV4, bytes: Vec<u8>, c: &mut Counters) {
        if self.faults.drop > 0.0 && self.rng.random_bool(self.faults.drop) {
            c.injected_drops += 1;
            return;
        }
        let copies = if self.faults.duplicate > 0.0 && self.rng.random_bool(self.faults.duplicate) {
            c.injected_duplicates += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            match self.faults.delay {
                Some(d) if d.max > Duration::ZERO => {
                    let delay = self.rng.random_range(d.min..=d.max);
                    c.injected_delays += 1;
                    self.seq += 1;
                    self.delayed.push(Reverse((
                        Instant::now() + delay,
                        self.seq,
                        dst,
                        bytes.clone(),
                    )));
                }
                _ => self.send_now(dst, &bytes, c),
            }
        }
    }

    fn send_now(&self, dst: SocketAddrV4, bytes: &[u8], c: &mut Counters) {
        match self.socket.send_to(bytes, dst) {
            Ok(n) => {
                c.datagrams_out += 1;
                c.bytes_out += n as u64;
            }
            Err(e) => {
                c.send_failures += 1;
                tracing::debug!(%dst, error = %e, "send failed");
            }
        }
    }

    /// Sends the delayed datagrams that are due.
    pub fn flush_due(&mut self, now: Instant, c: &mut Counters) {
        while let Some(Reverse((at, _, _, _))) = self.delayed.peek() {
            if *at > now {
                break;
            }
            let Reverse((_, _, dst, bytes)) = self.delayed.pop().expect("peeked");
            self.send_now(dst, &bytes, c);
        }
    }

    /// When the next delayed datagram is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.delayed.peek().map(|Reverse((at, ..))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The drops of a socket are read from its own line of `/proc/net/udp`, found by inode.
    #[test]
    fn kernel_drops_come_from_the_sockets_own_line() {
        let table = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
            "  81: 0100007F:1B59 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4411 2 0000000000000000 7",
            "  82: 0100007F:1B5A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4412 2 0000000000000000 0",
        ]
        .join("\n");
        let table = table.as_str();
        assert_eq!(drops_of(table, "4411"), Some(7));
        assert_eq!(drops_of(table, "4412"), Some(0));
        assert_eq!(drops_of(table, "441"), None);
        assert_eq!(drops_of("", "4411"), None);
    }

    /// A bound socket gets a larger receive buffer than the kernel's default, and its drop
    /// counter reads (0: nothing was sent to it).
    #[test]
    fn node_sockets_get_a_larger_receive_buffer() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let default = size_buffers(&socket, 0).unwrap();
        let granted = size_buffers(&socket, SOCKET_BUFFER).unwrap();
        assert!(granted > default, "{granted} <= {default}");
        if std::path::Path::new("/proc/net/udp").exists() {
            assert_eq!(kernel_drops(&socket), Some(0));
        }
    }

    #[test]
    fn partition_files_parse_and_refuse_what_is_not_an_address() {
        let a: SocketAddrV4 = "127.0.0.1:7001".parse().unwrap();
        let b: SocketAddrV4 = "127.0.0.1:7002".parse().unwrap();
        assert_eq!(parse_partition(""), Ok(BTreeSet::new()));
        assert_eq!(
            parse_partition("# cut node 0 off\n127.0.0.1:7001, 127.0.0.1:7002\n\n"),
            Ok([a, b].into())
        );
        assert_eq!(
            parse_partition("127.0.0.1:7001 127.0.0.1:7001 # twice"),
            Ok([a].into())
        );
        let e = parse_partition("127.0.0.1:7001\nnode-2").unwrap_err();
        assert!(e.contains("line 2") && e.contains("node-2"), "{e}");
        assert!(parse_partition("127.0.0.1").is_err());
        assert!(parse_partition("[::1]:7001").is_err());
    }

    /// The file is read when it changes (and only then), at most every
    /// [`PARTITION_CHECK_EVERY`]; a file that does not parse leaves the cut as it was; an
    /// absent file is no cut.
    #[test]
    fn a_partition_file_is_read_again_when_it_changes() {
        let dir = std::env::temp_dir().join(format!("ballot-partition-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cut");
        let _ = std::fs::remove_file(&path);
        let me: SocketAddrV4 = "127.0.0.1:7000".parse().unwrap();
        let a: SocketAddrV4 = "127.0.0.1:7001".parse().unwrap();
        let peers = [me, a];
        let write = |text: &str| {
            let tmp = dir.join("cut.tmp");
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
        };
        let mut p = PartitionFile::new(path.clone(), me, &peers);
        assert!(!p.cuts(a));
        write("127.0.0.1:7001\n");
        let t0 = Instant::now();
        p.refresh(t0, me, &peers);
        // Checked at `new` less than 50 ms ago, or just now: either way cut once due.
        p.refresh(t0 + PARTITION_CHECK_EVERY, me, &peers);
        assert!(p.cuts(a));
        write("not an address\n");
        p.refresh(t0 + 2 * PARTITION_CHECK_EVERY, me, &peers);
        assert!(p.cuts(a), "a file that does not parse keeps the cut");
        write("");
        // Too soon: not looked at.
        p.refresh(t0 + 2 * PARTITION_CHECK_EVERY, me, &peers);
        assert!(p.cuts(a));
        p.refresh(t0 + 3 * PARTITION_CHECK_EVERY, me, &peers);
        assert!(!p.cuts(a), "an empty file heals");
        write("127.0.0.1:7001");
        p.refresh(t0 + 4 * PARTITION_CHECK_EVERY, me, &peers);
        assert!(p.cuts(a));
        std::fs::remove_file(&path).unwrap();
        p.refresh(t0 + 5 * PARTITION_CHECK_EVERY, me, &peers);
        assert!(!p.cuts(a), "an absent file heals");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn delay_ranges_parse_and_validate() {
        assert_eq!(
            "5..20".parse::<DelayRange>().unwrap(),
            DelayRange {
                min: Duration::from_millis(5),
                max: Duration::from_millis(20)
            }
        );
        assert!("20..5".parse::<DelayRange>().is_err());
        assert!("5".parse::<DelayRange>().is_err());
        assert!("a..b".parse::<DelayRange>().is_err());
        assert!(
            Faults {
                drop: 1.5,
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .contains("--drop")
        );
    }
}
