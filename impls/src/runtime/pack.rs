//! Several server-to-server messages in one datagram.
//!
//! A node commits its steps in batches ([`super::node`]) and then sends every message of the
//! batch. Messages to the same peer are packed into as few datagrams as possible: a
//! Multi-Paxos leader's Accepts for the commands of one batch, a follower's Accepteds for them.
//! A datagram that carries two or more messages is a frame of kind
//! [`Kind::Pack`](super::codec::Kind::Pack), validated and, with a key, authenticated like every
//! other frame (one MAC for the datagram). Its payload:
//!
//! ```text
//! offset  size  field
//! 0       2     message count, big-endian, 2..=MAX_PACKED
//! 2       ...   count times: a 4-byte big-endian length n (1..=MAX_ITEM), then n bytes: one
//!               message's payload, as a `Kind::Peer` frame carries it (JSON)
//! ```
//!
//! Nothing may follow the last message. A message whose payload does not fit in a pack
//! ([`fits`]: longer than [`MAX_ITEM`]) is sent alone, as before: in one `Kind::Peer` frame, or
//! shortened or fragmented ([`super::fragment`]) if it is longer than a datagram. A group of
//! one message is sent as a plain `Kind::Peer` frame. Only server-to-server messages are
//! packed; replies to clients go one per datagram (a client process expects one reply per
//! datagram, and each client session usually has an address of its own).
//!
//! **The model is unchanged.** The model checker's network delivers messages one by one; a
//! receiver unpacks a pack and delivers its messages in order, each as a separate actor step, as
//! if they had arrived one after the other, which the model's network allows. Losing a pack
//! loses all its messages, and a duplicated pack duplicates them all: both are behaviours of the
//! model's lossy, duplicating network, message by message. Order between messages to the same
//! peer within a batch is kept (the runtime never promised more: UDP reorders).
//!
//! **Hostile packs.** [`decode`] never panics. A count outside `2..=MAX_PACKED`, a length of 0
//! or beyond what is left, or bytes after the last message reject the whole datagram; so does
//! a message that does not parse as the protocol's message (checked by the node before it
//! delivers any): a pack inside a pack is such a message (its bytes are not JSON), so packs do
//! not nest. The sender checks (a configured peer, the partition file) are made once for the
//! datagram, as for a single message.

use super::codec::MAX_PAYLOAD;
use thiserror::Error;

/// Bytes of a pack's count field.
pub const COUNT_LEN: usize = 2;
/// Bytes of each message's length field.
pub const LENGTH_LEN: usize = 4;
/// The most messages in one pack.
pub const MAX_PACKED: usize = 1024;
/// The longest message payload a pack carries: one that fills the pack alone.
pub const MAX_ITEM: usize = MAX_PAYLOAD - COUNT_LEN - LENGTH_LEN;

/// Why a pack is rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PackError {
    /// Shorter than the count field.
    #[error("pack of {0} bytes is shorter than its count")]
    TooShort(usize),
    /// A count below 2 or above [`MAX_PACKED`].
    #[error("pack of {0} messages (2..={MAX_PACKED} allowed)")]
    Count(usize),
    /// A message's length field is cut off, or its length is 0 or beyond the pack's end.
    #[error("message {index} of the pack: bad length")]
    Length {
        /// The message's index in the pack.
        index: usize,
    },
    /// Bytes after the last message.
    #[error("{0} bytes after the pack's last message")]
    Trailing(usize),
}

/// Whether a message whose payload is `len` bytes may travel in a pack.
pub fn fits(len: usize) -> bool {
    (1..=MAX_ITEM).contains(&len)
}

/// The pack payload carrying `items` (each a message's payload), in order. The caller keeps
/// the bounds ([`Packer`] does): 2..=[`MAX_PACKED`] items, each [`fits`], and the whole at most
/// [`MAX_PAYLOAD`] bytes (else the frame encoder refuses it).
pub fn encode(items: &[Vec<u8>]) -> Vec<u8> {
    let len = COUNT_LEN + items.iter().map(|i| LENGTH_LEN + i.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(items.len() as u16).to_be_bytes());
    for item in items {
        out.extend_from_slice(&(item.len() as u32).to_be_bytes());
        out.extend_from_slice(item);
    }
    out
}

/// The message payloads a pack carries, in order, or why it is rejected.
pub fn decode(payload: &[u8]) -> Result<Vec<&[u8]>, PackError> {
    let Some((count, mut rest)) = payload.split_first_chunk::<COUNT_LEN>() else {
        return Err(PackError::TooShort(payload.len()));
    };
    let count = usize::from(u16::from_be_bytes(*count));
    if !(2..=MAX_PACKED).contains(&count) {
        return Err(PackError::Count(count));
    }
    // Each message takes at least a length field and one byte: refuse an impossible count
    // before allocating for it.
    if count > rest.len() / (LENGTH_LEN + 1) {
        return Err(PackError::Length {
            index: rest.len() / (LENGTH_LEN + 1),
        });
    }
    let mut items = Vec::with_capacity(count);
    for index in 0..count {
        let Some((len, after)) = rest.split_first_chunk::<LENGTH_LEN>() else {
            return Err(PackError::Length { index });
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len == 0 || len > after.len() {
            return Err(PackError::Length { index });
        }
        let (item, after) = after.split_at(len);
        items.push(item);
        rest = after;
    }
    if !rest.is_empty() {
        return Err(PackError::Trailing(rest.len()));
    }
    Ok(items)
}

/// The messages of one destination not sent yet: their payloads, and the size of the pack
/// payload they make.
#[derive(Debug)]
struct Group<D> {
    dst: D,
    items: Vec<Vec<u8>>,
    bytes: usize,
}

/// Groups a batch's messages by destination into packs, keeping each destination's order.
/// `D` is the destination (a peer's address).
#[derive(Debug)]
pub struct Packer<D> {
    groups: Vec<Group<D>>,
}

impl<D> Default for Packer<D> {
    fn default() -> Self {
        Self { groups: Vec::new() }
    }
}

impl<D: Copy + PartialEq> Packer<D> {
    /// Adds a message payload (which must [`fit`](fits)) for `dst`. If the destination's open
    /// group cannot take it (it would exceed [`MAX_PAYLOAD`] or [`MAX_PACKED`]), that group is
    /// returned, to be sent now, before this message; the message starts a new group.
    pub fn push(&mut self, dst: D, item: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        assert!(fits(item.len()), "a message of {} bytes", item.len());
        let cost = LENGTH_LEN + item.len();
        let Some(g) = self.groups.iter_mut().find(|g| g.dst == dst) else {
            self.groups.push(Group {
                dst,
                items: vec![item],
                bytes: COUNT_LEN + cost,
            });
            return None;
        };
        if g.bytes + cost > MAX_PAYLOAD || g.items.len() == MAX_PACKED {
            let full = std::mem::replace(&mut g.items, vec![item]);
            g.bytes = COUNT_LEN + cost;
            return Some(full);
        }
        g.items.push(item);
        g.bytes += cost;
        None
    }

    /// Takes `dst`'s open group (to send it before a message to `dst` that is not packed).
    pub fn take(&mut self, dst: D) -> Option<Vec<Vec<u8>>> {
        let i = self.groups.iter().position(|g| g.dst == dst)?;
        Some(self.groups.remove(i).items)
    }

    /// Every open group, by destination in the order they were first added to.
    pub fn finish(self) -> Vec<(D, Vec<Vec<u8>>)> {
        self.groups.into_iter().map(|g| (g.dst, g.items)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("{{\"m\":{i}}}").into_bytes())
            .collect()
    }

    #[test]
    fn packs_round_trip() {
        let msgs = items(3);
        let packed = encode(&msgs);
        assert_eq!(
            packed.len(),
            COUNT_LEN + msgs.iter().map(|m| 4 + m.len()).sum::<usize>()
        );
        let back = decode(&packed).unwrap();
        assert_eq!(back, msgs.iter().map(|m| &m[..]).collect::<Vec<_>>());
    }

    #[test]
    fn every_malformation_is_rejected() {
        let good = encode(&items(2));
        assert_eq!(decode(&[]), Err(PackError::TooShort(0)));
        assert_eq!(decode(&good[..1]), Err(PackError::TooShort(1)));
        // A count of 0, 1, or beyond the bound.
        for count in [0u16, 1, MAX_PACKED as u16 + 1, u16::MAX] {
            let mut bad = good.clone();
            bad[..2].copy_from_slice(&count.to_be_bytes());
            assert_eq!(decode(&bad), Err(PackError::Count(count.into())));
        }
        // A count larger than the messages present.
        let mut bad = good.clone();
        bad[..2].copy_from_slice(&3u16.to_be_bytes());
        assert!(matches!(decode(&bad), Err(PackError::Length { .. })));
        // A zero length, a length beyond the end.
        let mut bad = good.clone();
        bad[2..6].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(decode(&bad), Err(PackError::Length { index: 0 }));
        let mut bad = good.clone();
        bad[2..6].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(decode(&bad), Err(PackError::Length { index: 0 }));
        // Cut anywhere, or with anything after it.
        for cut in 2..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(b' ');
        assert_eq!(decode(&long), Err(PackError::Trailing(1)));
    }

    #[test]
    fn a_packer_keeps_order_per_destination_and_splits_full_packs() {
        let mut p = Packer::default();
        assert_eq!(p.push('a', b"1".to_vec()), None);
        assert_eq!(p.push('b', b"2".to_vec()), None);
        assert_eq!(p.push('a', b"3".to_vec()), None);
        assert_eq!(p.take('b'), Some(vec![b"2".to_vec()]));
        assert_eq!(p.take('b'), None);
        assert_eq!(p.push('b', b"4".to_vec()), None);
        assert_eq!(
            p.finish(),
            vec![
                ('a', vec![b"1".to_vec(), b"3".to_vec()]),
                ('b', vec![b"4".to_vec()])
            ]
        );
        // A pack is filled up to MAX_PAYLOAD, then a new one starts.
        let mut p = Packer::default();
        let big = vec![b'x'; MAX_PAYLOAD / 3];
        assert_eq!(p.push(0, big.clone()), None);
        assert_eq!(p.push(0, big.clone()), None);
        let full = p
            .push(0, big.clone())
            .expect("a third does not fit with the header");
        assert_eq!(full.len(), 2);
        assert!(encode(&full).len() <= MAX_PAYLOAD);
        assert_eq!(p.finish(), vec![(0, vec![big])]);
        // And up to MAX_PACKED messages.
        let mut p = Packer::default();
        for _ in 0..MAX_PACKED {
            assert_eq!(p.push(0, b"1".to_vec()), None);
        }
        assert_eq!(p.push(0, b"1".to_vec()).map(|g| g.len()), Some(MAX_PACKED));
        // One message that fills a pack alone.
        let mut p = Packer::default();
        assert_eq!(p.push(0, vec![b'x'; MAX_ITEM]), None);
        assert_eq!(p.push(0, b"1".to_vec()).map(|g| g.len()), Some(1));
        assert!(!fits(MAX_ITEM + 1) && !fits(0));
    }

    proptest! {
        /// Any messages, packed by a [`Packer`] for any destinations, come back in order per
        /// destination, in packs that respect the bounds.
        #[test]
        fn packed_messages_come_back_in_order(
            msgs in prop::collection::vec(
                (0..3u8, prop::collection::vec(any::<u8>(), 1..2000)), 0..80),
        ) {
            let mut p = Packer::default();
            let mut sent: Vec<(u8, Vec<Vec<u8>>)> = Vec::new();
            for (dst, m) in &msgs {
                if let Some(g) = p.push(*dst, m.clone()) {
                    sent.push((*dst, g));
                }
            }
            sent.extend(p.finish());
            for dst in 0..3u8 {
                let mut got = Vec::new();
                for (d, g) in sent.iter().filter(|(d, _)| *d == dst) {
                    prop_assert_eq!(*d, dst);
                    prop_assert!(!g.is_empty());
                    if g.len() == 1 {
                        got.push(g[0].clone());
                        continue;
                    }
                    let bytes = encode(g);
                    prop_assert!(bytes.len() <= MAX_PAYLOAD);
                    got.extend(decode(&bytes).unwrap().into_iter().map(<[u8]>::to_vec));
                }
                let want: Vec<Vec<u8>> =
                    msgs.iter().filter(|(d, _)| *d == dst).map(|(_, m)| m.clone()).collect();
                prop_assert_eq!(got, want);
            }
        }

        /// Arbitrary bytes never panic the decoder; what it accepts is exactly what the
        /// encoder makes of the messages it found (one way to write a pack, nothing ignored).
        #[test]
        fn arbitrary_bytes_are_rejected_or_canonical(
            bytes in prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                // A plausible count first, to get past the first check.
                (2..6u16, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(c, b)| {
                    let mut v = c.to_be_bytes().to_vec();
                    v.extend(b);
                    v
                }),
            ],
        ) {
            if let Ok(items) = decode(&bytes) {
                let owned: Vec<Vec<u8>> = items.iter().map(|i| i.to_vec()).collect();
                prop_assert_eq!(encode(&owned), bytes);
            }
        }

        /// A genuine pack with a byte changed, cut short or lengthened is rejected, or (a
        /// change inside a message) decodes to the same number of messages with that message
        /// changed — which the node then parses, and rejects the datagram if it fails.
        #[test]
        fn mutated_packs_are_rejected_or_keep_their_shape(
            n in 2..6usize,
            at in any::<prop::sample::Index>(),
            xor in 1..=255u8,
            cut in any::<prop::sample::Index>(),
            extra in prop::collection::vec(any::<u8>(), 1..8),
        ) {
            let msgs = items(n);
            let good = encode(&msgs);
            let mut flipped = good.clone();
            let i = at.index(good.len());
            flipped[i] ^= xor;
            if let Ok(back) = decode(&flipped) {
                prop_assert_eq!(back.len(), n);
                prop_assert!(i >= COUNT_LEN);
            }
            prop_assert!(decode(&good[..cut.index(good.len())]).is_err());
            let mut long = good.clone();
            long.extend(extra);
            prop_assert!(decode(&long).is_err());
        }
    }
}
