//! Durable storage refuses damaged files: every single-bit flip and every truncation of a saved
//! file is a typed error naming the file (never a silent reset), and a node whose file is damaged
//! exits non-zero with that message instead of starting with empty state.

mod udp_common;

use ballot::runtime::client::Client;
use ballot::runtime::codec::Codec;
use ballot::runtime::storage::{FILE_NAME, StorageError, Store};
use ballot_models::paxos::{Ballot, PaxosStorage};
use ballot_properties::kv::KvOp;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use udp_common::*;

fn sample() -> PaxosStorage<String> {
    let b = Ballot {
        round: 3,
        proposer: 1,
    };
    PaxosStorage {
        promised: Some(b),
        accepted: Some((b, "hello".into())),
        last_round: 2,
        decisions: vec![(0, "hello".into())],
    }
}

const ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000);

#[test]
fn a_missing_file_is_a_fresh_node_and_a_saved_one_round_trips() {
    let dir = tmp_dir("storage-roundtrip");
    let store = Store::open(&dir, "paxos", ADDR).unwrap();
    assert_eq!(store.load::<PaxosStorage<String>>().unwrap(), None);
    store.save(&sample()).unwrap();
    assert_eq!(
        store.load::<PaxosStorage<String>>().unwrap(),
        Some(sample())
    );
    assert!(!dir.join(format!("{FILE_NAME}.tmp")).exists());
}

#[test]
fn every_bit_flip_and_every_truncation_is_refused_naming_the_file() {
    let dir = tmp_dir("storage-damage");
    let store = Store::open(&dir, "paxos", ADDR).unwrap();
    store.save(&sample()).unwrap();
    let path = store.path().to_path_buf();
    let good = std::fs::read(&path).unwrap();
    let named = |e: &StorageError| e.to_string().contains(&path.display().to_string());
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        std::fs::write(&path, &bad).unwrap();
        let err = store
            .load::<PaxosStorage<String>>()
            .expect_err(&format!("bit {bit} flipped was accepted"));
        assert!(named(&err), "{err}");
    }
    for len in 0..good.len() {
        std::fs::write(&path, &good[..len]).unwrap();
        let err = store
            .load::<PaxosStorage<String>>()
            .expect_err(&format!("truncated to {len} bytes was accepted"));
        assert!(named(&err), "{err}");
        if len > 52 {
            assert!(matches!(err, StorageError::Truncated { .. }), "{err}");
        }
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(
        store.load::<PaxosStorage<String>>().unwrap(),
        Some(sample())
    );
}

#[test]
fn another_nodes_file_is_refused() {
    let dir = tmp_dir("storage-owner");
    Store::open(&dir, "paxos", ADDR)
        .unwrap()
        .save(&sample())
        .unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7001);
    let err = Store::open(&dir, "paxos", other)
        .unwrap()
        .load::<PaxosStorage<String>>()
        .unwrap_err();
    assert!(matches!(err, StorageError::Owner { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:7000"), "{err}");
}

/// Runs a one-node Paxos cluster until it decides, kills it, damages its file with `damage`,
/// and returns the restarted node's exit status and log.
fn restart_after(name: &str, damage: impl Fn(&mut Vec<u8>)) -> (Option<i32>, String) {
    let dir = tmp_dir(name);
    let mut nodes = Nodes::start("paxos", 1, &dir, &[]);
    let mut client = Client::new(nodes.peers.clone(), Codec::default()).unwrap();
    client
        .call(KvOp::Put("r".into(), "v".into()), Duration::from_secs(10))
        .unwrap();
    nodes.kill(0);
    let file = nodes.data(0).join(FILE_NAME);
    let mut bytes = std::fs::read(&file).unwrap();
    damage(&mut bytes);
    std::fs::write(&file, &bytes).unwrap();
    std::fs::write(nodes.log(0), "").unwrap();
    nodes.restart(0);
    let child = nodes.children[0].as_mut().unwrap();
    let status = wait_exit(child, Duration::from_secs(10)).expect("the node refuses to start");
    nodes.children[0] = None;
    (
        status.code(),
        std::fs::read_to_string(nodes.log(0)).unwrap(),
    )
}

#[test]
fn a_node_with_a_bit_flipped_storage_file_exits_with_a_clear_error() {
    let (code, log) = restart_after("node-bitflip", |b| {
        let last = b.len() - 1;
        b[last - 3] ^= 0x10;
    });
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("storage.ballot is corrupt"), "{log}");
    assert!(log.contains("refusing to start"), "{log}");
}

#[test]
fn a_node_with_a_truncated_storage_file_exits_with_a_clear_error() {
    let (code, log) = restart_after("node-truncated", |b| b.truncate(b.len() / 2));
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("storage.ballot is truncated"), "{log}");
}
