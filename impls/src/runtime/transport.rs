//! The node's UDP socket, its counters, and fault injection on outgoing datagrams
//! (`--drop P`, `--duplicate P`, `--delay-ms A..B`) for tests and demos.

use rand::Rng;
use rand::rngs::SmallRng;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddrV4, UdpSocket};
use std::str::FromStr;
use std::time::{Duration, Instant};

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
    /// Server-to-server messages too long for a datagram, sent shortened instead
    /// ([`Served::shrink`](super::served::Served::shrink): Raft's AppendEntries).
    pub messages_shrunk: u64,
    /// Durable saves: one per batch whose steps changed the storage (group commit: the storage
    /// of the batch's last save); each appends a journal record and syncs it (`fdatasync`), or
    /// now and then writes a new snapshot instead.
    pub saves: u64,
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
    /// Of those, the saves that wrote a new snapshot (temporary file, fsync, rename, fsync of
    /// the directory, then an empty journal the same way).
    pub snapshots: u64,
    /// Timer expirations delivered to the actor.
    pub timeouts: u64,
    /// Handler panics (an actor bug): the step was discarded, state and storage unchanged.
    pub handler_panics: u64,
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
            Ok(_) => c.datagrams_out += 1,
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
