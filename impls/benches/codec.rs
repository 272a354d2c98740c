//! `cargo bench -p ballot --bench codec`: the wire codec (`impls/src/runtime/codec.rs`).
//!
//! Encoding is what a node does to every message it sends ([`Codec::encode`]: the JSON payload,
//! the header, the HMAC-SHA256 trailer); decoding what it does to every datagram it receives
//! ([`Codec::decode_frame`], which checks the header, the length and the MAC, then
//! [`codec::parse`]). Messages: a Raft AppendEntries carrying four client commands (a leader
//! under load), a client's put request, and a server's reply to a get. With a key (the default:
//! `ballot cluster` creates one) and without (`--insecure`), to show what the MAC costs.

use ballot::runtime::codec::{
    self, Codec, Key, Kind, SESSION_BIT, WireReply, WireRequest, WireRet,
};
use ballot::runtime::served::session_id;
use ballot_models::kv::{Command, Entry};
use ballot_models::raft::{LogEntry, RaftMsg};
use ballot_properties::kv::{KvOp, KvRet};
use criterion::{Criterion, criterion_group, criterion_main};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

// The `ballot` binary's allocator, so that allocation costs are the runtime's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A client command of `ballot bench`'s workload, as a Raft log holds it.
fn command(c: u32, j: u32) -> Entry<String, String> {
    Entry::Cmd(Command {
        client: session_id(SESSION_BIT | (0x5eed_0000 + u64::from(c))).expect("a session id"),
        req: j,
        op: KvOp::Put(format!("k{}", (c + j) % 8), format!("c{c}-{j}")),
    })
}

/// An AppendEntries of a leader in term 3 with four new commands after index 120.
fn append_entries() -> RaftMsg<String, String> {
    RaftMsg::AppendEntries {
        term: 3,
        prev_log_index: 120,
        prev_log_term: 3,
        entries: Arc::new(
            (0..4)
                .map(|i| LogEntry {
                    term: 3,
                    entry: command(i, 30 + i),
                })
                .collect(),
        ),
        leader_commit: 119,
        leader_last: 124,
        read_round: 0,
    }
}

fn request() -> WireRequest {
    WireRequest::Op {
        session: SESSION_BIT | 0x5eed_0001,
        req: 31,
        op: KvOp::Put("k3".into(), "c1-31".into()),
    }
}

fn reply() -> WireReply {
    WireReply::Done {
        session: SESSION_BIT | 0x5eed_0001,
        req: 32,
        ret: WireRet::Kv(KvRet::GetOk(Some("c1-31".into()))),
    }
}

/// Benches encoding `msg` as a frame of `kind` and decoding it back (frame check and parse).
fn encode_decode<T>(c: &mut Criterion, name: &str, kind: Kind, msg: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let key = Key::from_bytes(b"0123456789abcdef0123456789abcdef").expect("a 32-byte key");
    for (keyed, codec) in [("hmac", Codec::new(Some(key))), ("plain", Codec::new(None))] {
        let frame = codec.encode(kind, msg).expect("the message encodes");
        let (k, payload) = codec.decode_frame(&frame).expect("the frame decodes");
        assert_eq!(k, kind);
        assert_eq!(
            &codec::parse::<T>(payload).expect("the payload parses"),
            msg
        );
        let mut group = c.benchmark_group(format!("codec/{name}/{keyed}"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        group.bench_function(format!("encode_{}B", frame.len()), |b| {
            b.iter(|| codec.encode(kind, black_box(msg)).expect("encodes"))
        });
        group.bench_function(format!("decode_{}B", frame.len()), |b| {
            b.iter(|| {
                let (_, payload) = codec.decode_frame(black_box(&frame)).expect("decodes");
                codec::parse::<T>(payload).expect("parses")
            })
        });
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    encode_decode(c, "raft_append_entries_4", Kind::Peer, &append_entries());
    encode_decode(c, "client_request_put", Kind::Request, &request());
    encode_decode(c, "client_reply_get", Kind::Reply, &reply());
}

criterion_group!(benches, bench);
criterion_main!(benches);
