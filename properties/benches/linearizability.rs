//! `cargo bench -p ballot-properties`: the linearizability checker on a recorded history.
//!
//! The history is what `ballot bench` records (`impls/src/runtime/history.rs`): clients each run
//! one operation at a time (put, put, get, cas, the `ballot bench` workload) over a few keys,
//! their operations overlapping in time. It is generated deterministically (a fixed seed): a
//! simulated service takes each operation effect at some moment between its invocation and its
//! answer (its linearization point), with the clients' steps interleaved at random, so the
//! history is linearizable and its operations overlap as a real run's do.
//!
//! Measured: recording the events into a [`ClientHistory`] (Stateright's tester, as the models'
//! histories are recorded, one event at a time) and then the check; the check alone on the
//! recorded history; and the memoised search that checks real-run histories since 2026-11-30
//! ([`linearizable`], `memoised`), on the same histories and on one of 4,000 operations by 8
//! clients (the size of the UDP tests' longest histories, out of reach of Stateright's tester:
//! see docs/performance.md). The memoised search keeps every configuration it has seen, and
//! their number grows with the operations in flight at once: a whole history of 64 clients
//! over 8 keys took more than 23 GB (killed), so real-run histories come from a few clients.

use ballot_properties::kv::{KvOp, KvRet, KvSpec};
use ballot_properties::linearizability::{
    ClientHistory, ClientId, Operation, RequestId, linearizable,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

type Op = KvOp<String, String>;
type Ret = KvRet<String>;
type History = ClientHistory<KvSpec<String, String>>;

/// One line of a recorded history.
#[derive(Clone, Debug)]
enum Event {
    Invoke(ClientId, RequestId, Op),
    Return(ClientId, RequestId, Ret),
}

/// A deterministic pseudo-random sequence (SplitMix64): the same history on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Where a simulated client is.
enum Client {
    /// No operation in flight; the count of operations it has invoked.
    Idle(u32),
    /// Invoked, not yet taken effect.
    Invoked(u32, Op),
    /// Taken effect, answer not yet received.
    Applied(u32, Ret),
}

/// A linearizable history of `ops` operations by `clients` clients over `keys` keys.
fn history(ops: usize, clients: usize, keys: usize, seed: u64) -> Vec<Event> {
    let mut rng = SplitMix(seed);
    let mut service = KvSpec::<String, String>::default();
    let mut states: Vec<Client> = (0..clients).map(|_| Client::Idle(0)).collect();
    let (mut invoked, mut answered) = (0, 0);
    let mut events = Vec::with_capacity(2 * ops);
    while answered < ops {
        let c = rng.below(clients);
        states[c] = match std::mem::replace(&mut states[c], Client::Idle(0)) {
            Client::Idle(n) if invoked < ops => {
                let key = format!("k{}", rng.below(keys));
                let value = format!("v{}", rng.below(100));
                let op = match n % 4 {
                    0 | 1 => KvOp::Put(key, value),
                    2 => KvOp::Get(key),
                    _ => KvOp::Cas {
                        key,
                        from: format!("v{}", rng.below(100)),
                        to: value,
                    },
                };
                invoked += 1;
                events.push(Event::Invoke(c, n + 1, op.clone()));
                Client::Invoked(n + 1, op)
            }
            idle @ Client::Idle(_) => idle,
            // The operation takes effect now, between its invocation and its answer.
            Client::Invoked(n, op) => Client::Applied(n, service.apply(&op)),
            Client::Applied(n, ret) => {
                answered += 1;
                events.push(Event::Return(c, n, ret));
                Client::Idle(n)
            }
        };
    }
    events
}

/// The events recorded one at a time, as `ballot`'s history check does.
fn record(events: &[Event]) -> History {
    let mut h = History::new(KvSpec::default());
    for e in events {
        h = match e {
            Event::Invoke(c, req, op) => h.invoke(*c, *req, op.clone()),
            Event::Return(c, req, ret) => h.respond(*c, *req, ret.clone()),
        }
        .expect("each client has one operation in flight at a time");
    }
    h
}

/// The events as the memoised search takes them: each operation with the positions of its
/// invocation and its answer.
fn operations(events: &[Event]) -> Vec<Operation<Op, Ret>> {
    let mut ops: Vec<Operation<Op, Ret>> = Vec::new();
    let mut in_flight = std::collections::HashMap::new();
    for (t, e) in events.iter().enumerate() {
        match e {
            Event::Invoke(c, req, op) => {
                in_flight.insert((*c, *req), ops.len());
                ops.push(Operation {
                    invoked: t,
                    answered: None,
                    op: op.clone(),
                });
            }
            Event::Return(c, req, ret) => {
                let i = in_flight
                    .remove(&(*c, *req))
                    .expect("answered once, after its call");
                ops[i].answered = Some((t, ret.clone()));
            }
        }
    }
    ops
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("linearizability");
    // A check takes a tenth of a second or more: ten samples of the same iteration count.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (ops, clients, keys) in [(300, 4, 4), (100, 8, 4)] {
        let events = history(ops, clients, keys, 15);
        let recorded = record(&events);
        assert_eq!(recorded.len(), ops);
        assert!(
            recorded.is_linearizable(),
            "the generated history is linearizable by construction"
        );
        let name = format!("{ops}ops_{clients}clients_{keys}keys");
        group.bench_with_input(
            BenchmarkId::new("record_and_check", &name),
            &events,
            |b, events| b.iter(|| record(black_box(events)).is_linearizable()),
        );
        group.bench_with_input(BenchmarkId::new("check", &name), &recorded, |b, h| {
            b.iter(|| black_box(h).is_linearizable())
        });
        let ops = operations(&events);
        group.bench_with_input(BenchmarkId::new("memoised", &name), &ops, |b, ops| {
            b.iter(|| linearizable(&KvSpec::default(), black_box(ops)))
        });
    }
    let ops = operations(&history(4000, 8, 8, 15));
    assert!(linearizable(&KvSpec::default(), &ops));
    let mut wrong = ops.clone();
    let get = wrong
        .iter_mut()
        .rev()
        .find(|o| matches!(o.op, KvOp::Get(_)))
        .expect("the workload has gets");
    get.answered = get
        .answered
        .take()
        .map(|(t, _)| (t, KvRet::GetOk(Some("never written".into()))));
    assert!(
        !linearizable(&KvSpec::default(), &wrong),
        "a get of a value no put wrote is caught"
    );
    group.bench_with_input(
        BenchmarkId::new("memoised", "4000ops_8clients_8keys"),
        &ops,
        |b, ops| b.iter(|| linearizable(&KvSpec::default(), black_box(ops))),
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
