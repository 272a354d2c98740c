//! Client sessions: two `ballot client` processes that send from the same address within the
//! same tenth of a second are two clients, and each operation takes effect.
//!
//! Before sessions, a server knew a client by its UDP source address, and a `ballot client`
//! process numbered its requests from the clock in tenths of a second: the second of two
//! processes that got the same port within 0.1 s sent the same (address, request id) as the
//! first, was answered the first one's cached reply, and its operation was never applied.

use crate::udp_common;

use ballot::runtime::codec::{self, Codec, Kind, SESSION_BIT, WireReply, WireRequest, WireRet};
use ballot::runtime::node::{Node, Received};
use ballot::runtime::served::{Raft, session_id};
use ballot_models::kv::{Command as KvCommand, Entry};
use ballot_models::raft::{LogEntry, RaftMsg, RaftState};
use ballot_properties::kv::{KvOp, KvRet};
use std::net::{SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use udp_common::*;

/// Sleeps until just after the wall clock enters a new tenth of a second, so that two short
/// processes started now run within the same tenth.
fn at_the_start_of_a_tenth() {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_millis()
        % 100;
    std::thread::sleep(Duration::from_millis((101 - ms as u64) % 100));
}

fn same_port_within_a_tenth(protocol: &str) {
    let dir = tmp_dir(&format!("sessions-{protocol}"));
    let nodes = Nodes::start(protocol, 3, &dir, &[]);
    let reach = nodes.client_args();
    let client = |args: &[&str]| {
        let mut all = vec!["client", "--timeout", "10"];
        all.extend(reach.iter().map(String::as_str));
        all.extend_from_slice(args);
        ballot(&all)
    };
    // A first write elects a leader, so that the pairs below are quick.
    let warm = client(&["put", "warm", "up"]);
    assert_eq!(stdout(&warm), "OK", "{warm:?}\n{}", nodes.logs());
    let local = free_addrs(1)[0].to_string();
    for round in 0..5 {
        let key = format!("k{round}");
        let (first, second) = (format!("first-{round}"), format!("second-{round}"));
        at_the_start_of_a_tenth();
        let a = client(&["--bind", &local, "put", &key, &first]);
        let b = client(&["--bind", &local, "cas", &key, &first, &second]);
        assert_eq!(stdout(&a), "OK", "round {round}: {a:?}");
        assert_eq!(
            stdout(&b),
            format!("OK ({key} = {second})"),
            "round {round}: the second client got another answer: {b:?}"
        );
        let get = client(&["get", &key]);
        assert_eq!(stdout(&get), second, "round {round}: {get:?}");
    }
}

#[test]
fn raft_clients_on_the_same_port_within_a_tenth_are_two_sessions() {
    same_port_within_a_tenth("raft");
}

#[test]
fn multi_paxos_clients_on_the_same_port_within_a_tenth_are_two_sessions() {
    same_port_within_a_tenth("multi-paxos");
}

/// Delivers `msg` to `node` as if server `from` sent it.
fn from_peer(node: &mut Node<Raft>, from: SocketAddrV4, msg: &RaftMsg<String, String>) -> Received {
    let bytes = Codec::default().encode(Kind::Peer, msg).unwrap();
    node.receive(from.into(), &bytes).unwrap()
}

/// Sends request `req` of `session` from `client` to `node`, and returns what the node answered
/// there (if anything within 2 s).
fn ask(
    node: &mut Node<Raft>,
    client: &UdpSocket,
    session: u64,
    req: u32,
    op: KvOp<String, String>,
) -> (Received, Option<WireReply>) {
    let request = WireRequest::Op { session, req, op };
    let bytes = Codec::default().encode(Kind::Request, &request).unwrap();
    let got = node.receive(client.local_addr().unwrap(), &bytes).unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = vec![0; codec::MAX_DATAGRAM];
    let reply = client.recv(&mut buf).ok().and_then(|n| {
        let (kind, payload) = Codec::default().decode_frame(&buf[..n]).ok()?;
        assert_eq!(kind, Kind::Reply);
        codec::parse::<WireReply>(payload).ok()
    });
    (got, reply)
}

/// A Raft node (index 0 of 3, in this process, the two other servers played by the test) that
/// learns, from the leader of term 1, an entry of a client session it never heard from, then
/// becomes the leader of term 2 and commits it: its reply to that session has nowhere to go and
/// is counted. The session, asking this node itself, is answered at its address, and after a
/// move, at its new address; a request whose session lacks the session bit is dropped.
#[test]
fn replies_go_where_the_session_was_last_heard_from() {
    let dir = tmp_dir("sessions-routes");
    let (mut node, peers, _others) = node_at_0::<Raft>(&dir, Codec::default());
    let session = SESSION_BIT | 0x5e55;
    let put = KvOp::Put("k".to_string(), "v".to_string());
    let entry = LogEntry {
        term: 1,
        entry: Entry::Cmd(KvCommand {
            client: session_id(session).unwrap(),
            req: 1,
            op: put.clone(),
        }),
    };
    let append = RaftMsg::AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: Arc::new(vec![entry]),
        leader_commit: 0,
        leader_last: 1,
        read_round: 0,
    };
    assert_eq!(from_peer(&mut node, peers[1], &append), Received::Delivered);
    // The election timer fires: node 0 asks for votes in term 2; server 2 grants it, and then
    // acknowledges the new leader's no-op (index 2), which the leader has saved on its write
    // timer: both entries are committed and applied.
    // (Timeouts are drawn in 150-300 ms; a later `now` would fire the next one too.)
    std::thread::sleep(Duration::from_millis(310));
    node.fire_due(Instant::now()).unwrap();
    assert_eq!(node.saved().unwrap().current_term, 2);
    let vote = RaftMsg::RequestVoteReply {
        term: 2,
        vote_granted: true,
        incarnation: 0,
    };
    assert_eq!(from_peer(&mut node, peers[2], &vote), Received::Delivered);
    // The new leader writes its no-op in parallel with replication (§10.2.1): its write timer
    // is due at once.
    node.fire_due(Instant::now()).unwrap();
    let ack = RaftMsg::AppendEntriesReply {
        term: 2,
        success: true,
        index: 2,
        read_round: 0,
    };
    assert_eq!(from_peer(&mut node, peers[2], &ack), Received::Delivered);
    // Applied, not saved: applying alone syncs nothing (`RaftServer::volatile_applied`).
    let RaftState::Server(state) = node.state() else {
        panic!("node 0 is a server")
    };
    assert_eq!(state.durable.applied.len(), 2, "{:?}", state.durable);
    assert_eq!(node.saved().unwrap().applied.len(), 0);
    assert_eq!(node.counters().replies_unknown_session, 1);

    // The session retries at this node: answered from the session table, at its address.
    let (client, _) = loopback_sockets(1);
    let (got, reply) = ask(&mut node, &client[0], session, 1, put.clone());
    assert_eq!(got, Received::Delivered);
    let done = WireReply::Done {
        session,
        req: 1,
        ret: WireRet::Kv(KvRet::PutOk),
    };
    assert_eq!(reply, Some(done.clone()));
    // From another address, the same session is answered there.
    let (moved, _) = loopback_sockets(1);
    assert_eq!(
        ask(&mut node, &moved[0], session, 1, put.clone()).1,
        Some(done)
    );
    // Without the session bit, a request is dropped as malformed.
    let (got, reply) = ask(&mut node, &client[0], 0x5e55, 1, put);
    assert_eq!((got, reply), (Received::Malformed, None));
    assert_eq!(node.counters().replies_unknown_session, 1);
}
