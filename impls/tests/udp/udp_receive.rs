//! The receive path under hostile input (property tests): random and mutated datagrams never
//! crash a node and never change its saved state — whether they are garbage, valid
//! server-to-server messages from an address that is not a peer, tampered datagrams under a
//! shared key, or packs of several messages that are malformed anywhere.

use crate::udp_common;

use ballot::runtime::codec::{Codec, Key, Kind, SESSION_BIT, VERSION, WireRequest};
use ballot::runtime::node::{Node, Received};
use ballot::runtime::served::Paxos;
use ballot_models::paxos::{Ballot, PaxosMsg};
use ballot_properties::kv::KvOp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use udp_common::*;

/// A node at index 0 of three, on a real loopback socket; the two other "peers" are sockets
/// this test holds (and never reads), so that the node's sends go nowhere else.
struct Fixture {
    node: Node<Paxos>,
    peers: Vec<SocketAddrV4>,
    _others: Vec<UdpSocket>,
}

fn fixture(name: &str, codec: Codec) -> Fixture {
    let (mut node, peers, others) = node_at_0::<Paxos>(&tmp_dir(name), codec.clone());
    // Give the node state worth protecting: a client's Put makes it promise and save a ballot.
    let put = codec
        .encode(
            Kind::Request,
            &WireRequest::Op {
                session: SESSION_BIT | 1,
                req: 1,
                op: KvOp::Put("r".into(), "mine".into()),
            },
        )
        .unwrap();
    let client = SocketAddr::from((Ipv4Addr::LOCALHOST, 40_000));
    assert_eq!(node.receive(client, &put).unwrap(), Received::Delivered);
    assert!(node.saved().is_some());
    Fixture {
        node,
        peers,
        _others: others,
    }
}

/// Server-to-server messages that would change a node's saved state if a peer sent them.
fn weighty_messages() -> Vec<PaxosMsg<String>> {
    let high = Ballot {
        round: 1_000,
        proposer: 2,
    };
    vec![
        PaxosMsg::Prepare { ballot: high },
        PaxosMsg::Accept {
            ballot: high,
            value: "intruder".into(),
        },
        PaxosMsg::Decided {
            value: "intruder".into(),
        },
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Append(Vec<u8>),
    Overwrite(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<usize>().prop_map(Mutation::Truncate),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Append),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, b)| Mutation::Overwrite(i, b)),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match m {
        Mutation::Flip(i, mask) => {
            let i = i % b.len();
            b[i] ^= mask;
        }
        Mutation::Truncate(n) => b.truncate(n % b.len()),
        Mutation::Append(extra) => b.extend_from_slice(extra),
        Mutation::Overwrite(i, with) => {
            let i = i % b.len();
            for (j, x) in with.iter().enumerate() {
                if let Some(slot) = b.get_mut(i + j) {
                    *slot = *x;
                }
            }
        }
    }
    b
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The storage files' bytes (snapshot and journal) and the node's saved storage.
fn snapshot(f: &Fixture) -> (Vec<u8>, Vec<u8>, String) {
    (
        std::fs::read(f.node.storage_path()).unwrap(),
        std::fs::read(f.node.journal_path()).unwrap(),
        format!("{:?}", f.node.saved()),
    )
}

#[test]
fn random_datagrams_never_crash_a_node_and_dropped_ones_change_nothing() {
    let cell = RefCell::new(fixture("recv-random", Codec::default()));
    let strategy = (
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            // Random bytes behind a valid header, to get past the first checks.
            (0..=5u8, prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(kind, body)| {
                let mut b = b"BLT".to_vec();
                b.extend([VERSION, kind]);
                b.extend_from_slice(&(body.len() as u32).to_be_bytes());
                b.extend_from_slice(&body);
                b
            }),
        ],
        1024..u16::MAX,
    );
    let outcomes = RefCell::new(std::collections::BTreeMap::new());
    runner()
        .run(&strategy, |(bytes, port)| {
            let mut f = cell.borrow_mut();
            let before = snapshot(&f);
            let src = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let got = f.node.receive(src, &bytes).unwrap();
            *outcomes.borrow_mut().entry(format!("{got:?}")).or_insert(0) += 1;
            prop_assert!(
                matches!(
                    got,
                    Received::Malformed | Received::NotPeer | Received::Unexpected
                ),
                "{:?}",
                got
            );
            prop_assert_eq!(snapshot(&f), before);
            Ok(())
        })
        .unwrap();
    let f = cell.into_inner();
    assert_eq!(f.node.counters().handler_panics, 0);
    let c = f.node.counters();
    let dropped = c.dropped_malformed + c.dropped_not_peer + c.dropped_unexpected;
    assert_eq!(dropped, 512, "{outcomes:?}");
    assert_eq!(c.delivered, 1, "only the fixture's own client request");
}

#[test]
fn server_messages_from_non_peers_are_dropped_even_when_mutated() {
    let cell = RefCell::new(fixture("recv-non-peer", Codec::default()));
    let codec = Codec::default();
    let frames: Vec<Vec<u8>> = weighty_messages()
        .iter()
        .map(|m| codec.encode(Kind::Peer, m).unwrap())
        .collect();
    let peers = cell.borrow().peers.clone();
    let strategy = (
        0..frames.len(),
        prop::option::of(mutation()),
        1024..u16::MAX,
    );
    runner()
        .run(&strategy, |(which, m, port)| {
            let mut f = cell.borrow_mut();
            let src = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
            prop_assume!(!peers.contains(&src));
            let bytes = match &m {
                None => frames[which].clone(),
                Some(m) => apply(&frames[which], m),
            };
            let before = snapshot(&f);
            let got = f.node.receive(src.into(), &bytes).unwrap();
            // A flipped kind byte may also make it a reply (unexpected at a node): dropped too.
            prop_assert!(
                matches!(
                    got,
                    Received::NotPeer | Received::Malformed | Received::Unexpected
                ),
                "{:?}",
                got
            );
            prop_assert_eq!(snapshot(&f), before);
            Ok(())
        })
        .unwrap();
    let f = cell.into_inner();
    assert!(f.node.counters().dropped_not_peer > 0);
    assert_eq!(f.node.counters().handler_panics, 0);
}

#[test]
fn under_a_key_tampered_datagrams_from_peers_are_dropped() {
    let key = Key::from_bytes(b"test key: sixteen bytes or more").unwrap();
    let codec = Codec::new(Some(key));
    let cell = RefCell::new(fixture("recv-keyed", codec.clone()));
    let frames: Vec<Vec<u8>> = weighty_messages()
        .iter()
        .map(|m| codec.encode(Kind::Peer, m).unwrap())
        .collect();
    let unkeyed: Vec<Vec<u8>> = weighty_messages()
        .iter()
        .map(|m| Codec::default().encode(Kind::Peer, m).unwrap())
        .collect();
    let peer = SocketAddr::V4(cell.borrow().peers[1]);
    let strategy = (0..frames.len(), mutation());
    runner()
        .run(&strategy, |(which, m)| {
            let mut f = cell.borrow_mut();
            let bytes = apply(&frames[which], &m);
            prop_assume!(bytes != frames[which]);
            let before = snapshot(&f);
            prop_assert_eq!(f.node.receive(peer, &bytes).unwrap(), Received::Malformed);
            prop_assert_eq!(
                f.node.receive(peer, &unkeyed[which]).unwrap(),
                Received::Malformed
            );
            prop_assert_eq!(snapshot(&f), before);
            Ok(())
        })
        .unwrap();
    let mut f = cell.into_inner();
    assert!(f.node.counters().dropped_bad_mac > 0);
    // The genuine article from a peer is accepted and does change the saved state.
    let before = snapshot(&f);
    assert_eq!(
        f.node.receive(peer, &frames[0]).unwrap(),
        Received::Delivered
    );
    assert_ne!(snapshot(&f), before);
}

fn arb_ballot() -> impl Strategy<Value = Ballot> {
    (any::<u32>(), any::<u8>()).prop_map(|(round, proposer)| Ballot { round, proposer })
}

/// Any Paxos message, with any ballots, values and request ids.
fn arb_msg() -> impl Strategy<Value = PaxosMsg<String>> {
    let v = || "[a-z]{0,8}";
    prop_oneof![
        (any::<u32>(), v()).prop_map(|(req, value)| PaxosMsg::Put { req, value }),
        (any::<u32>(), v()).prop_map(|(req, decided)| PaxosMsg::PutOk { req, decided }),
        any::<u32>().prop_map(|req| PaxosMsg::Get { req }),
        (any::<u32>(), v()).prop_map(|(req, decided)| PaxosMsg::GetOk { req, decided }),
        arb_ballot().prop_map(|ballot| PaxosMsg::Prepare { ballot }),
        (arb_ballot(), prop::option::of((arb_ballot(), v())))
            .prop_map(|(ballot, accepted)| PaxosMsg::Promise { ballot, accepted }),
        (arb_ballot(), v()).prop_map(|(ballot, value)| PaxosMsg::Accept { ballot, value }),
        arb_ballot().prop_map(|ballot| PaxosMsg::Accepted { ballot }),
        v().prop_map(|value| PaxosMsg::Decided { value }),
    ]
}

/// A frame around `payload` with a correct header, so that the payload itself is what is tested.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut b = b"BLT".to_vec();
    b.extend([VERSION, 1]);
    b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    b.extend_from_slice(payload);
    b
}

#[test]
fn arbitrary_and_mutated_messages_from_peers_never_crash_a_node() {
    let cell = RefCell::new(fixture("recv-peer-mutations", Codec::default()));
    let peer = SocketAddr::V4(cell.borrow().peers[2]);
    runner()
        .run(
            &(arb_msg(), prop::option::of(mutation()), any::<bool>()),
            |(msg, m, reframe)| {
                let mut f = cell.borrow_mut();
                let whole = Codec::default().encode(Kind::Peer, &msg).unwrap();
                let bytes = match (&m, reframe) {
                    (None, _) => whole,
                    // Mutate the JSON payload and give it a valid header.
                    (Some(m), true) => frame(&apply(&serde_json::to_vec(&msg).unwrap(), m)),
                    // Mutate the whole datagram.
                    (Some(m), false) => apply(&whole, m),
                };
                f.node.receive(peer, &bytes).unwrap();
                Ok(())
            },
        )
        .unwrap();
    let f = cell.into_inner();
    let c = f.node.counters();
    // Both paths were exercised: messages reached the actor, malformed ones were dropped.
    assert!(c.delivered > 200, "{c:?}");
    assert!(c.dropped_malformed > 20, "{c:?}");
    assert_eq!(c.handler_panics, 0);
}

/// Fragments from a peer (`Kind::Fragment`): random fragment headers and bodies, and mutated
/// fragments of a genuine message, never crash the node; one that is malformed is dropped and
/// counted, the others wait for the rest of their message; none changes the saved state. Then the genuine fragments, in reverse order, are reassembled and
/// delivered (a Decided padded beyond one datagram), and change it.
#[test]
fn fragments_from_a_peer_never_crash_a_node_and_only_whole_messages_are_delivered() {
    use ballot::runtime::fragment::{self, MAX_CHUNK, MAX_FRAGMENTS};
    let codec = Codec::default();
    let cell = RefCell::new(fixture("recv-fragments", codec.clone()));
    let peer = SocketAddr::V4(cell.borrow().peers[1]);
    let big = PaxosMsg::Decided {
        value: "v".repeat(2 * MAX_CHUNK),
    };
    let payload = serde_json::to_vec(&big).unwrap();
    let genuine: Vec<Vec<u8>> = fragment::split(42, &payload).unwrap();
    let strategy = prop_oneof![
        // A fragment header of any id, index and count, and a body of any size.
        (
            any::<u64>(),
            any::<u16>(),
            0..=MAX_FRAGMENTS + 2,
            prop::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(id, index, count, body)| {
                let mut f = id.to_be_bytes().to_vec();
                f.extend(index.to_be_bytes());
                f.extend(count.to_be_bytes());
                f.extend(body);
                f
            }),
        // A mutated fragment of the genuine message, under an id of its own (so that mutated
        // fragments never add up to a whole message that parses).
        (any::<u64>(), 0..genuine.len(), mutation()).prop_map(move |(id, which, m)| {
            let mut f = genuine[which].clone();
            f[..8].copy_from_slice(&id.max(100).to_be_bytes());
            apply(&f, &m)
        }),
    ];
    let sent = std::cell::Cell::new(0u64);
    runner()
        .run(&strategy, |body| {
            let mut f = cell.borrow_mut();
            let before = snapshot(&f);
            let Ok(frame) = codec.encode_bytes(Kind::Fragment, &body) else {
                // Grown past a frame's payload by the mutation: no sender can send it.
                return Ok(());
            };
            sent.set(sent.get() + 1);
            let got = f.node.receive(peer, &frame).unwrap();
            prop_assert!(
                matches!(got, Received::Malformed | Received::Fragment),
                "{:?}",
                got
            );
            prop_assert_eq!(snapshot(&f), before);
            Ok(())
        })
        .unwrap();
    let mut f = cell.into_inner();
    let c = f.node.counters();
    assert_eq!(c.handler_panics, 0);
    assert!(c.fragments_rejected > 0 && c.fragments_in == sent.get());
    assert_eq!(c.reassembled, 0);
    let before = snapshot(&f);
    let genuine: Vec<Vec<u8>> = fragment::split(43, &payload).unwrap();
    for (i, part) in genuine.iter().rev().enumerate() {
        let frame = codec.encode_bytes(Kind::Fragment, part).unwrap();
        let want = if i + 1 < genuine.len() {
            Received::Fragment
        } else {
            Received::Delivered
        };
        assert_eq!(f.node.receive(peer, &frame).unwrap(), want, "fragment {i}");
    }
    assert_ne!(
        snapshot(&f),
        before,
        "the reassembled Decided was delivered"
    );
}

/// Under a key, each fragment is authenticated: the fragments of a message sent without the
/// key (or with a flipped bit) are dropped one by one, and nothing is reassembled.
#[test]
fn under_a_key_unauthenticated_fragments_are_dropped() {
    use ballot::runtime::fragment::{self, MAX_CHUNK};
    let key = Key::from_bytes(b"test key: sixteen bytes or more").unwrap();
    let codec = Codec::new(Some(key));
    let mut f = fixture("recv-keyed-fragments", codec.clone());
    let peer = SocketAddr::V4(f.peers[1]);
    let big = PaxosMsg::Decided {
        value: "v".repeat(2 * MAX_CHUNK),
    };
    let parts = fragment::split(1, &serde_json::to_vec(&big).unwrap()).unwrap();
    let before = snapshot(&f);
    for part in &parts {
        let unkeyed = Codec::default().encode_bytes(Kind::Fragment, part).unwrap();
        assert_eq!(f.node.receive(peer, &unkeyed).unwrap(), Received::Malformed);
        let mut flipped = codec.encode_bytes(Kind::Fragment, part).unwrap();
        flipped[20] ^= 1;
        assert_eq!(f.node.receive(peer, &flipped).unwrap(), Received::Malformed);
    }
    assert_eq!(snapshot(&f), before);
    assert_eq!(f.node.counters().reassembled, 0);
    assert!(f.node.counters().dropped_bad_mac >= 2 * parts.len() as u64);
}

/// Packs of messages from a peer (`Kind::Pack`, `runtime::pack`): a pack whose structure is
/// broken, or that holds one message that does not parse (garbage, a pack inside the pack, a
/// message cut short) after weighty genuine ones, is dropped whole — none of its messages is
/// delivered, the saved state does not change; random and mutated packs never crash the node.
/// From a non-peer, or without the key, even a genuine pack is dropped. Then the genuine pack
/// from the peer delivers each of its messages, in order.
#[test]
fn packs_are_delivered_whole_or_not_at_all() {
    use ballot::runtime::pack;
    let key = Key::from_bytes(b"test key: sixteen bytes or more").unwrap();
    let codec = Codec::new(Some(key));
    let cell = RefCell::new(fixture("recv-packs", codec.clone()));
    let (peer, peers) = {
        let f = cell.borrow();
        (SocketAddr::V4(f.peers[1]), f.peers.clone())
    };
    let items: Vec<Vec<u8>> = weighty_messages()
        .iter()
        .map(|m| serde_json::to_vec(m).unwrap())
        .collect();
    let genuine = pack::encode(&items);
    let bad_items = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..40),
        Just(genuine.clone()),
        (1..items[1].len()).prop_map({
            let m = items[1].clone();
            move |n| m[..n].to_vec()
        }),
    ];
    let strategy = prop_oneof![
        // Weighty messages first, then one that does not parse.
        (1..=items.len(), bad_items).prop_map({
            let items = items.clone();
            move |(n, bad)| (true, pack::encode(&[&items[..n], &[bad]].concat()))
        }),
        // A structure broken anywhere: cut short or lengthened.
        any::<prop::sample::Index>().prop_map({
            let g = genuine.clone();
            move |i| (true, g[..i.index(g.len())].to_vec())
        }),
        prop::collection::vec(any::<u8>(), 1..8).prop_map({
            let g = genuine.clone();
            move |extra| (true, [&g[..], &extra].concat())
        }),
        // Random bytes behind a plausible count; a genuine pack mutated (which may still be
        // a pack of messages that parse, then delivered).
        (2..6u16, prop::collection::vec(any::<u8>(), 0..120))
            .prop_map(|(c, b)| { (true, [&c.to_be_bytes()[..], &b].concat()) }),
        mutation().prop_map({
            let g = genuine.clone();
            move |m| (false, apply(&g, &m))
        }),
    ];
    let (rejected, delivered) = (std::cell::Cell::new(0u64), std::cell::Cell::new(0u64));
    runner()
        .run(&strategy, |(must_reject, body)| {
            let mut f = cell.borrow_mut();
            let Ok(frame) = codec.encode_bytes(Kind::Pack, &body) else {
                return Ok(());
            };
            let before = snapshot(&f);
            let delivered_before = f.node.counters().delivered;
            let got = f.node.receive(peer, &frame).unwrap();
            if must_reject || got == Received::Malformed {
                prop_assert_eq!(got, Received::Malformed);
                prop_assert_eq!(f.node.counters().delivered, delivered_before);
                prop_assert_eq!(snapshot(&f), before);
                rejected.set(rejected.get() + 1);
            } else {
                prop_assert_eq!(got, Received::Delivered);
                delivered.set(delivered.get() + 1);
            }
            Ok(())
        })
        .unwrap();
    let f = cell.into_inner();
    let c = f.node.counters().clone();
    assert_eq!(c.handler_panics, 0);
    assert_eq!(c.packs_rejected, rejected.get(), "{c:?}");
    assert_eq!(c.packs_in, delivered.get(), "{c:?}");
    assert!(rejected.get() > 400, "{c:?}");

    // A fresh node, so that the genuine pack's messages are news to it.
    drop(f);
    let mut f = fixture("recv-packs-genuine", codec.clone());
    let peer = SocketAddr::V4(f.peers[1]);
    let frame = codec.encode_bytes(Kind::Pack, &genuine).unwrap();
    let before = snapshot(&f);
    let stranger = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1);
    assert!(!peers.contains(&stranger) && !f.peers.contains(&stranger));
    assert_eq!(
        f.node.receive(stranger.into(), &frame).unwrap(),
        Received::NotPeer
    );
    let unkeyed = Codec::default().encode_bytes(Kind::Pack, &genuine).unwrap();
    assert_eq!(f.node.receive(peer, &unkeyed).unwrap(), Received::Malformed);
    let mut flipped = frame.clone();
    flipped[12] ^= 1;
    assert_eq!(f.node.receive(peer, &flipped).unwrap(), Received::Malformed);
    assert_eq!(snapshot(&f), before);
    let delivered = f.node.counters().delivered;
    assert_eq!(f.node.receive(peer, &frame).unwrap(), Received::Delivered);
    assert_eq!(f.node.counters().delivered, delivered + items.len() as u64);
    assert_eq!(f.node.counters().packs_in, 1);
    assert_ne!(
        snapshot(&f),
        before,
        "the pack's Prepare, Accept and Decided were delivered"
    );
}
