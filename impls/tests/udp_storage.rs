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
    // Every damage, validated in memory; every 37th also through the file.
    let check = |bad: &[u8], what: &str, i: usize| -> StorageError {
        let err = store
            .parse::<PaxosStorage<String>>(bad)
            .expect_err(&format!("{what} was accepted"));
        if i.is_multiple_of(37) {
            std::fs::write(&path, bad).unwrap();
            let on_disk = store
                .load::<PaxosStorage<String>>()
                .expect_err(&format!("{what} was accepted from the file"));
            assert_eq!(on_disk.to_string(), err.to_string());
        }
        assert!(named(&err), "{err}");
        err
    };
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        check(&bad, &format!("bit {bit} flipped"), bit);
    }
    for len in 0..good.len() {
        let err = check(&good[..len], &format!("truncated to {len} bytes"), len);
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

/// A step's save happens before its messages: when the save fails, the node stops with the error
/// and none of the step's messages leaves. (The temporary file's name is taken by a directory, so
/// the write fails even for root.)
#[test]
fn when_a_save_fails_no_message_of_that_step_is_sent() {
    use ballot::runtime::codec::{Kind, WireRequest};
    use ballot::runtime::node::{Node, NodeConfig, NodeError};
    use ballot::runtime::served::Paxos;
    use ballot::runtime::transport::Faults;
    use std::net::{SocketAddr, UdpSocket};

    let sockets: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap())
        .collect();
    let peers: Vec<SocketAddrV4> = sockets
        .iter()
        .map(|s| match s.local_addr().unwrap() {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => unreachable!(),
        })
        .collect();
    let dir = tmp_dir("save-fails");
    let mut sockets = sockets.into_iter();
    let cfg = NodeConfig {
        index: 0,
        peers: peers.clone(),
        data: dir.clone(),
        codec: Codec::default(),
        faults: Faults::default(),
        stats_every: None,
    };
    let mut node = Node::<Paxos>::with_socket(cfg, sockets.next().unwrap()).unwrap();
    std::fs::create_dir(dir.join(format!("{FILE_NAME}.tmp"))).unwrap();
    let put = Codec::default()
        .encode(
            Kind::Request,
            &WireRequest::Op {
                req: 1,
                op: KvOp::Put("r".into(), "v".into()),
            },
        )
        .unwrap();
    // A Put makes the proposer save its ballot, then send Prepare to both peers.
    let err = node
        .receive(SocketAddr::from((Ipv4Addr::LOCALHOST, 40_001)), &put)
        .unwrap_err();
    assert!(matches!(err, NodeError::Storage(_)), "{err}");
    assert_eq!(node.counters().messages_out, 0);
    let mut buf = [0u8; 2048];
    for peer in sockets {
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(peer.recv_from(&mut buf).is_err(), "a Prepare was sent");
    }
    // The same Put with a working directory is saved and sent.
    std::fs::remove_dir(dir.join(format!("{FILE_NAME}.tmp"))).unwrap();
    node.receive(SocketAddr::from((Ipv4Addr::LOCALHOST, 40_001)), &put)
        .unwrap();
    assert_eq!(node.counters().messages_out, 2);
    assert_eq!(node.counters().saves, 1);
}
