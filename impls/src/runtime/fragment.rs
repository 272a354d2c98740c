//! Fragmentation of server-to-server messages too long for one datagram, and their reassembly.
//!
//! A message whose encoded payload exceeds [`MAX_PAYLOAD`] and that the protocol cannot
//! shorten ([`Served::shrink`](super::served::Served::shrink): Raft's InstallSnapshot, whose
//! state machine may be megabytes) is split into fragments, each sent as its own frame of kind
//! [`Kind::Fragment`](super::codec::Kind::Fragment) — so each is validated and, with a key,
//! authenticated like every other datagram. A fragment frame's payload:
//!
//! ```text
//! offset  size  field
//! 0       8     message id, big-endian: one per message and sender (a random start, then +1)
//! 8       2     fragment index, 0-based
//! 10      2     fragment count, 2..=MAX_FRAGMENTS
//! 12      n     the bytes of the message's payload from index × MAX_CHUNK on: exactly
//!               MAX_CHUNK bytes in every fragment but the last, 1..=MAX_CHUNK in the last
//! ```
//!
//! The receiver ([`Reassembler`]) keeps the fragments of a message from one peer until it has
//! them all, then hands the payload on (it is parsed as a peer message, as an unfragmented one
//! is). Its memory is bounded: at most [`MAX_PENDING`] partly received messages and
//! [`MAX_PENDING_BYTES`] bytes of them (the oldest is given up to make room), each given up
//! after [`REASSEMBLY_TIMEOUT`]. A lost fragment loses its message, as a lost datagram does;
//! the protocol's retry (Raft: the next heartbeat's InstallSnapshot) sends a new one.
//! A fragment that is malformed or disagrees with its message's other fragments is rejected
//! (an error the node counts), never a panic; a duplicate is ignored.
//!
//! Why fragments in the transport rather than the paper's InstallSnapshot chunks (Figure 13's
//! `offset`, `data`, `done`): the actor stays the one the model checks, unchanged (a chunked
//! RPC would add receiver state and steps to the model), and any message benefits.

use super::codec::MAX_PAYLOAD;
use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};
use thiserror::Error;

/// Bytes of a fragment's header, before its chunk.
pub const FRAGMENT_HEADER_LEN: usize = 12;
/// The bytes of the message each fragment but the last carries.
pub const MAX_CHUNK: usize = MAX_PAYLOAD - FRAGMENT_HEADER_LEN;
/// The most fragments of one message (so the longest message is about 7.5 MiB).
pub const MAX_FRAGMENTS: u16 = 128;
/// The most messages a receiver holds partly received.
pub const MAX_PENDING: usize = 8;
/// The most bytes a receiver holds in partly received messages.
pub const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;
/// How long a partly received message is kept.
pub const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a fragment is rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FragmentError {
    /// Shorter than a fragment header.
    #[error("fragment of {0} bytes is shorter than its header")]
    TooShort(usize),
    /// A count below 2 or above [`MAX_FRAGMENTS`], or an index not below the count.
    #[error("fragment {index} of {count}: out of range")]
    Range {
        /// The index.
        index: u16,
        /// The count.
        count: u16,
    },
    /// A chunk of the wrong size for its place.
    #[error("fragment {index} of {count} carries {len} bytes")]
    Size {
        /// The index.
        index: u16,
        /// The count.
        count: u16,
        /// The chunk's length.
        len: usize,
    },
    /// A count that differs from the one of the message's earlier fragments.
    #[error("fragment of message {id} says {count} fragments, earlier ones said {expected}")]
    Count {
        /// The message id.
        id: u64,
        /// This fragment's count.
        count: u16,
        /// The earlier fragments'.
        expected: u16,
    },
}

/// The fragment payloads of `payload` (longer than [`MAX_PAYLOAD`]), for message `id`; `None`
/// if it would take more than [`MAX_FRAGMENTS`].
pub fn split(id: u64, payload: &[u8]) -> Option<Vec<Vec<u8>>> {
    let count = payload.len().div_ceil(MAX_CHUNK);
    if count > MAX_FRAGMENTS as usize {
        return None;
    }
    Some(
        payload
            .chunks(MAX_CHUNK)
            .enumerate()
            .map(|(i, chunk)| {
                let mut f = Vec::with_capacity(FRAGMENT_HEADER_LEN + chunk.len());
                f.extend_from_slice(&id.to_be_bytes());
                f.extend_from_slice(&(i as u16).to_be_bytes());
                f.extend_from_slice(&(count as u16).to_be_bytes());
                f.extend_from_slice(chunk);
                f
            })
            .collect(),
    )
}

/// A fragment's fields, checked on their own: `(id, index, count, chunk)`.
fn parse(fragment: &[u8]) -> Result<(u64, u16, u16, &[u8]), FragmentError> {
    if fragment.len() < FRAGMENT_HEADER_LEN {
        return Err(FragmentError::TooShort(fragment.len()));
    }
    let id = u64::from_be_bytes(fragment[..8].try_into().expect("8 bytes"));
    let index = u16::from_be_bytes([fragment[8], fragment[9]]);
    let count = u16::from_be_bytes([fragment[10], fragment[11]]);
    let chunk = &fragment[FRAGMENT_HEADER_LEN..];
    if !(2..=MAX_FRAGMENTS).contains(&count) || index >= count {
        return Err(FragmentError::Range { index, count });
    }
    let size_ok = if index + 1 < count {
        chunk.len() == MAX_CHUNK
    } else {
        (1..=MAX_CHUNK).contains(&chunk.len())
    };
    if !size_ok {
        return Err(FragmentError::Size {
            index,
            count,
            len: chunk.len(),
        });
    }
    Ok((id, index, count, chunk))
}

/// A message partly received.
struct Partial {
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
    started: Instant,
}

/// What [`Reassembler::add`] made of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    /// The message's last missing fragment: its whole payload.
    Complete(Vec<u8>),
    /// Kept; the message still lacks fragments.
    Pending,
    /// A fragment already received (a duplicate datagram): ignored.
    Duplicate,
}

/// The receiver's messages partly received, bounded (see the module's documentation).
#[derive(Default)]
pub struct Reassembler {
    pending: HashMap<(SocketAddrV4, u64), Partial>,
    bytes: usize,
}

impl Reassembler {
    /// Messages partly received.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes one fragment from `src` (an authenticated peer). Returns what became of it and
    /// how many partly received messages were given up to stay within the bounds or because
    /// they timed out.
    pub fn add(
        &mut self,
        src: SocketAddrV4,
        fragment: &[u8],
        now: Instant,
    ) -> (Result<Added, FragmentError>, u64) {
        let mut given_up = self.expire(now);
        let (id, index, count, chunk) = match parse(fragment) {
            Ok(f) => f,
            Err(e) => return (Err(e), given_up),
        };
        let key = (src, id);
        if let Some(p) = self.pending.get(&key)
            && p.parts.len() != count as usize
        {
            let expected = p.parts.len() as u16;
            return (
                Err(FragmentError::Count {
                    id,
                    count,
                    expected,
                }),
                given_up,
            );
        }
        if !self.pending.contains_key(&key) {
            // Room for a new message: the oldest are given up first.
            while self.pending.len() >= MAX_PENDING
                || (!self.pending.is_empty() && self.bytes + chunk.len() > MAX_PENDING_BYTES)
            {
                self.give_up_oldest();
                given_up += 1;
            }
            self.pending.insert(
                key,
                Partial {
                    parts: vec![None; count as usize],
                    received: 0,
                    bytes: 0,
                    started: now,
                },
            );
        } else {
            // Room for this chunk: other messages are given up first, oldest first.
            while self.bytes + chunk.len() > MAX_PENDING_BYTES && self.pending.len() > 1 {
                let oldest = self
                    .pending
                    .iter()
                    .filter(|(k, _)| **k != key)
                    .min_by_key(|(_, p)| p.started)
                    .map(|(k, _)| *k);
                if let Some(k) = oldest {
                    self.remove(&k);
                    given_up += 1;
                }
            }
        }
        let p = self.pending.get_mut(&key).expect("inserted above");
        let slot = &mut p.parts[index as usize];
        if slot.is_some() {
            return (Ok(Added::Duplicate), given_up);
        }
        *slot = Some(chunk.to_vec());
        p.received += 1;
        p.bytes += chunk.len();
        self.bytes += chunk.len();
        if p.received < p.parts.len() {
            return (Ok(Added::Pending), given_up);
        }
        let p = self.remove(&key).expect("present");
        let payload = p.parts.into_iter().flatten().flatten().collect();
        (Ok(Added::Complete(payload)), given_up)
    }

    /// Gives up the messages partly received for longer than [`REASSEMBLY_TIMEOUT`]; returns
    /// how many.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let old: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.started) > REASSEMBLY_TIMEOUT)
            .map(|(k, _)| *k)
            .collect();
        for k in &old {
            self.remove(k);
        }
        old.len() as u64
    }

    fn give_up_oldest(&mut self) {
        let oldest = self
            .pending
            .iter()
            .min_by_key(|(_, p)| p.started)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            self.remove(&k);
        }
    }

    fn remove(&mut self, key: &(SocketAddrV4, u64)) -> Option<Partial> {
        let p = self.pending.remove(key)?;
        self.bytes -= p.bytes;
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
    const B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 2);

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_message_reassembles_in_any_order_with_duplicates() {
        let msg = payload(3 * MAX_CHUNK + 17);
        let mut frags = split(7, &msg).unwrap();
        assert_eq!(frags.len(), 4);
        frags.reverse();
        let mut r = Reassembler::default();
        let now = Instant::now();
        for (n, f) in frags.iter().enumerate() {
            let (added, _) = r.add(A, f, now);
            if n + 1 < frags.len() {
                assert_eq!(added, Ok(Added::Pending));
                assert_eq!(r.add(A, f, now).0, Ok(Added::Duplicate));
            } else {
                assert_eq!(added, Ok(Added::Complete(msg.clone())));
            }
        }
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }

    #[test]
    fn fragments_complete_once_and_free_their_memory() {
        let msg = payload(2 * MAX_CHUNK + 1);
        let frags = split(1, &msg).unwrap();
        let mut r = Reassembler::default();
        let now = Instant::now();
        assert_eq!(r.add(A, &frags[2], now).0, Ok(Added::Pending));
        assert_eq!(r.add(A, &frags[2], now).0, Ok(Added::Duplicate));
        assert_eq!(
            r.add(B, &frags[0], now).0,
            Ok(Added::Pending),
            "another sender's"
        );
        assert_eq!(r.add(A, &frags[0], now).0, Ok(Added::Pending));
        assert_eq!(r.add(A, &frags[1], now).0, Ok(Added::Complete(msg)));
        assert_eq!(r.pending(), 1);
        assert_eq!(r.bytes(), MAX_CHUNK);
    }

    #[test]
    fn malformed_fragments_are_rejected() {
        let mut r = Reassembler::default();
        let now = Instant::now();
        let frags = split(3, &payload(MAX_CHUNK + 5)).unwrap();
        assert!(matches!(
            r.add(A, &frags[0][..5], now).0,
            Err(FragmentError::TooShort(5))
        ));
        let mut bad = frags[0].clone();
        bad[10..12].copy_from_slice(&1u16.to_be_bytes());
        assert!(matches!(
            r.add(A, &bad, now).0,
            Err(FragmentError::Range { .. })
        ));
        bad[10..12].copy_from_slice(&(MAX_FRAGMENTS + 1).to_be_bytes());
        assert!(matches!(
            r.add(A, &bad, now).0,
            Err(FragmentError::Range { .. })
        ));
        bad[8..10].copy_from_slice(&5u16.to_be_bytes());
        bad[10..12].copy_from_slice(&2u16.to_be_bytes());
        assert!(matches!(
            r.add(A, &bad, now).0,
            Err(FragmentError::Range { .. })
        ));
        let short = frags[0][..frags[0].len() - 1].to_vec();
        assert!(matches!(
            r.add(A, &short, now).0,
            Err(FragmentError::Size { .. })
        ));
        assert!(matches!(
            r.add(A, &frags[1][..FRAGMENT_HEADER_LEN], now).0,
            Err(FragmentError::Size { .. })
        ));
        assert_eq!(r.add(A, &frags[1], now).0, Ok(Added::Pending));
        let mut other_count = frags[0].clone();
        other_count[10..12].copy_from_slice(&3u16.to_be_bytes());
        assert!(matches!(
            r.add(A, &other_count, now).0,
            Err(FragmentError::Count { .. })
        ));
        assert_eq!(
            r.add(A, &frags[0], now)
                .0
                .map(|a| matches!(a, Added::Complete(_))),
            Ok(true)
        );
    }

    #[test]
    fn memory_stays_bounded_and_old_partials_expire() {
        let mut r = Reassembler::default();
        let now = Instant::now();
        let msg = payload(MAX_CHUNK * 3);
        let mut given_up = 0;
        for id in 0..(MAX_PENDING as u64 + 5) {
            let frags = split(id, &msg).unwrap();
            let (added, g) = r.add(A, &frags[0], now);
            assert_eq!(added, Ok(Added::Pending));
            given_up += g;
            assert!(r.pending() <= MAX_PENDING);
            assert!(r.bytes() <= MAX_PENDING_BYTES);
        }
        assert_eq!(given_up, 5);
        assert_eq!(r.expire(now + REASSEMBLY_TIMEOUT / 2), 0);
        assert_eq!(r.expire(now + REASSEMBLY_TIMEOUT * 2), MAX_PENDING as u64);
        assert_eq!((r.pending(), r.bytes()), (0, 0));
    }

    #[test]
    fn too_long_a_message_is_not_split() {
        assert!(split(0, &payload(MAX_CHUNK * MAX_FRAGMENTS as usize + 1)).is_none());
        assert_eq!(
            split(0, &payload(MAX_CHUNK * MAX_FRAGMENTS as usize)).map(|f| f.len()),
            Some(MAX_FRAGMENTS as usize)
        );
    }
}
