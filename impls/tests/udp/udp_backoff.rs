//! Client backoff: against servers that never answer but always redirect — naming each other as
//! the leader, or naming none (an election that does not end) — a client's datagrams per second
//! stay bounded for as long as it tries.

use crate::udp_common;

use ballot::runtime::client::{Client, ClientError};
use ballot::runtime::codec::{self, Codec, Kind, WireReply, WireRequest};
use ballot_properties::kv::KvOp;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};
use udp_common::*;

/// How long the client tries.
const TRYING: Duration = Duration::from_secs(2);
/// The most datagrams it may send in that time: 50 a second. (With the backoff it sends about
/// 30 in 2 s; without it, thousands.)
const MOST: usize = 100;

/// A fake server on `socket`: answers every request with `NotLeader` naming `leader`, until
/// `until`; returns how many requests it received.
fn redirector(socket: UdpSocket, leader: Option<SocketAddrV4>, until: Instant) -> usize {
    let codec = Codec::default();
    let mut buf = vec![0; codec::MAX_DATAGRAM];
    let mut received = 0;
    while Instant::now() < until {
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let Ok((n, SocketAddr::V4(from))) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Ok((Kind::Request, payload)) = codec.decode_frame(&buf[..n]) else {
            continue;
        };
        let Ok(WireRequest::Op { session, req, .. }) = codec::parse(payload) else {
            continue;
        };
        received += 1;
        let reply = WireReply::NotLeader {
            session,
            req,
            leader,
        };
        let _ = socket.send_to(&codec.encode(Kind::Reply, &reply).unwrap(), from);
    }
    received
}

/// Runs a client for [`TRYING`] against two redirectors (`name_each_other`: each names the
/// other as leader; else neither knows a leader); returns the datagrams they received.
fn datagrams_sent(name_each_other: bool) -> usize {
    let (sockets, addrs) = loopback_sockets(2);
    let until = Instant::now() + TRYING + Duration::from_millis(300);
    let servers: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, socket)| {
            let leader = name_each_other.then_some(addrs[1 - i]);
            std::thread::spawn(move || redirector(socket, leader, until))
        })
        .collect();
    let mut client = Client::new(addrs.clone(), Codec::default()).unwrap();
    let started = Instant::now();
    let result = client.call(KvOp::Get("x".into()), TRYING);
    let waited = started.elapsed();
    assert!(
        matches!(result, Err(ClientError::Timeout { .. })),
        "{result:?}"
    );
    assert!(waited < TRYING + Duration::from_millis(200), "{waited:?}");
    servers.into_iter().map(|s| s.join().unwrap()).sum()
}

/// Asserts the bound on what [`datagrams_sent`] counts.
fn assert_bounded(name_each_other: bool) {
    let sent = datagrams_sent(name_each_other);
    let servers = if name_each_other {
        "naming each other"
    } else {
        "knowing no leader"
    };
    eprintln!("servers {servers}: {sent} datagrams in {TRYING:?}");
    assert!(sent <= MOST, "{sent} datagrams in {TRYING:?}");
    assert!(sent >= 10, "the client gave up early: {sent} datagrams");
}

#[test]
fn a_client_redirected_in_a_loop_backs_off() {
    assert_bounded(true);
}

#[test]
fn a_client_told_there_is_no_leader_backs_off() {
    assert_bounded(false);
}
