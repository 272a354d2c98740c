//! `ballot bench etcd` against a fake etcd: three in-process HTTP/1.1 servers on 127.0.0.1 that
//! share one in-memory key-value map and answer etcd 3.4's JSON gateway requests (`/v3/kv/put`,
//! `/v3/kv/range`, `/v3/kv/txn`) the way etcd does (proto3 JSON: an absent key has no `kvs`, a
//! failed comparison no `succeeded`). No etcd needed.

use ballot::runtime::bench::{self, Until, Workload};
use ballot::runtime::etcd::{EtcdClient, base64_decode, base64_encode};
use ballot_properties::kv::{KvOp, KvRet, KvSpec};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[allow(dead_code)] // tmp_dir: these tests keep no data
mod common;
use common::{ballot, code};

/// What the fake members saw: requests per (member, path), connections per member.
#[derive(Default)]
struct Seen {
    requests: BTreeMap<(usize, String), usize>,
    connections: [usize; 3],
}

struct FakeEtcd {
    addrs: Vec<SocketAddrV4>,
    seen: Arc<Mutex<Seen>>,
}

impl FakeEtcd {
    /// Three members; member 2 sends its replies chunked (as Go's server does for long ones).
    fn start() -> Self {
        let store = Arc::new(Mutex::new(BTreeMap::<String, String>::new()));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut addrs = Vec::new();
        for member in 0..3 {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
                unreachable!("bound to IPv4")
            };
            addrs.push(addr);
            let (store, seen) = (store.clone(), seen.clone());
            // Accepts until the test process ends; each connection is served by its own
            // thread, which ends when the client closes it.
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { return };
                    seen.lock().unwrap().connections[member] += 1;
                    let (store, seen) = (store.clone(), seen.clone());
                    std::thread::spawn(move || serve(member, stream, &store, &seen));
                }
            });
        }
        Self { addrs, seen }
    }

    fn peers(&self) -> String {
        let v: Vec<String> = self.addrs.iter().map(|a| a.to_string()).collect();
        v.join(",")
    }
}

fn serve(
    member: usize,
    stream: std::net::TcpStream,
    store: &Mutex<BTreeMap<String, String>>,
    seen: &Mutex<Seen>,
) {
    let mut r = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if r.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if l == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body).unwrap();
        let path = request_line.split(' ').nth(1).unwrap().to_string();
        *seen
            .lock()
            .unwrap()
            .requests
            .entry((member, path.clone()))
            .or_default() += 1;
        let req: Value = serde_json::from_slice(&body).unwrap();
        let text =
            |v: &Value| String::from_utf8(base64_decode(v.as_str().unwrap()).unwrap()).unwrap();
        let mut reply = json!({"header": {"revision": "1", "raft_term": "2"}});
        let mut map = store.lock().unwrap();
        match path.as_str() {
            "/v3/kv/put" => {
                map.insert(text(&req["key"]), text(&req["value"]));
            }
            "/v3/kv/range" => {
                assert_eq!(req.get("serializable"), None, "a linearizable read");
                let key = text(&req["key"]);
                if let Some(v) = map.get(&key) {
                    reply["kvs"] =
                        json!([{"key": req["key"], "value": base64_encode(v.as_bytes())}]);
                    reply["count"] = json!("1");
                }
            }
            "/v3/kv/txn" => {
                let cmp = &req["compare"][0];
                assert_eq!(
                    (&cmp["target"], &cmp["result"]),
                    (&json!("VALUE"), &json!("EQUAL"))
                );
                let put = &req["success"][0]["request_put"];
                if map.get(&text(&cmp["key"])) == Some(&text(&cmp["value"])) {
                    map.insert(text(&put["key"]), text(&put["value"]));
                    reply["succeeded"] = json!(true);
                }
            }
            other => panic!("unexpected path {other}"),
        }
        drop(map);
        let body = reply.to_string();
        let out = if member == 2 {
            let (a, b) = body.split_at(body.len() / 2);
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                a.len(),
                b.len()
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        if r.get_mut().write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

/// The bench workload's answers through the etcd client are the sequential specification's.
#[test]
fn the_bench_workload_through_the_etcd_client_answers_as_the_specification() {
    let fake = FakeEtcd::start();
    let mut client = EtcdClient::new(fake.addrs.clone()).with_first(2);
    let mut spec = KvSpec::default();
    let mut swaps = [0, 0];
    // Over 2 keys a client's compare-and-swap finds its own put (over 8 it never does).
    for (c, keys) in [(0, 2), (1, 8)] {
        for j in 0..16 {
            let op: KvOp<String, String> = bench::op(c, j, keys, true);
            let got = client.call(&op, Duration::from_secs(5)).unwrap();
            assert_eq!(got, spec.apply(&op), "{op:?}");
            if let KvRet::CasOk(swapped) = got {
                swaps[usize::from(swapped)] += 1;
            }
        }
    }
    assert!(swaps[0] > 0 && swaps[1] > 0, "{swaps:?}");
    let seen = fake.seen.lock().unwrap();
    assert_eq!(seen.connections, [0, 0, 1], "one keep-alive connection");
}

#[test]
fn ballot_bench_etcd_spreads_clients_over_the_members_and_reports() {
    let fake = FakeEtcd::start();
    let peers = fake.peers();
    let o = ballot(&[
        "bench",
        "etcd",
        "--peers",
        &peers,
        "--clients",
        "3",
        "--ops",
        "8",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(code(&o), 0, "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["ok"].as_u64(), v["failed"].as_u64()),
        (Some(24), Some(0))
    );
    assert_eq!(v["protocol"], "etcd");
    {
        let seen = fake.seen.lock().unwrap();
        assert_eq!(seen.connections, [1, 1, 1], "client c starts at member c");
        for m in 0..3 {
            // Per client, 8 operations: put, put, get, cas, twice.
            let n = |p: &str| seen.requests.get(&(m, p.to_string())).copied();
            assert_eq!(n("/v3/kv/put"), Some(4));
            assert_eq!(n("/v3/kv/range"), Some(2));
            assert_eq!(n("/v3/kv/txn"), Some(2));
        }
    }
    // For a fixed time.
    let o = ballot(&[
        "bench",
        "etcd",
        "--peers",
        &peers,
        "--clients",
        "2",
        "--duration",
        "0.3",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["ok"].as_u64().unwrap() > 2, "{v}");
    assert_eq!(v["duration_s"], 0.3);
    assert!(v["seconds"].as_f64().unwrap() >= 0.3, "{v}");
    // etcd takes no key file.
    let o = ballot(&[
        "bench",
        "etcd",
        "--peers",
        &peers,
        "--key-file",
        "/nonexistent",
    ]);
    assert_eq!(code(&o), 2);
}

/// Nothing listens: every operation fails at its deadline, typed, and the exit code says so.
#[test]
fn ballot_bench_etcd_without_etcd_fails_cleanly() {
    let free = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let o = ballot(&[
        "bench",
        "etcd",
        "--peers",
        &addr,
        "--clients",
        "1",
        "--ops",
        "2",
        "--timeout",
        "0.2",
    ]);
    assert_eq!(code(&o), 1);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("first error: no answer within"), "{stderr}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 ok, 2 failed"));
    // The library run reports the same.
    let outcome = bench::drive(
        &Workload {
            clients: 1,
            until: Until::Ops(1),
            keys: 8,
            key_value: true,
            deadline: Duration::from_millis(100),
        },
        vec![EtcdClient::new(vec![addr.parse().unwrap()])],
    )
    .unwrap();
    assert_eq!((outcome.report.ok, outcome.report.failed), (0, 1));
    assert!(outcome.first_error.is_some());
}
