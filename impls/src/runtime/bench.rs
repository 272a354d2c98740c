//! `ballot bench`: concurrent clients, each running a fixed number of operations (or for a fixed
//! time) one at a time; reports throughput and latency percentiles. The same loop ([`drive`])
//! drives a Ballot cluster or, for comparison, an etcd cluster ([`super::etcd`]).

use super::client::Client;
use super::codec::Codec;
use ballot_properties::kv::KvOp;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// The servers.
    pub peers: Vec<SocketAddrV4>,
    /// The codec (with the shared key, if any).
    pub codec: Codec,
    /// Concurrent clients.
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// Distinct keys (key-value protocols).
    pub keys: usize,
    /// Whether the service is a key-value store (else Paxos's register: put and get only).
    pub key_value: bool,
    /// Per-operation deadline.
    pub deadline: Duration,
}

/// The measurements.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Operations answered.
    pub ok: usize,
    /// Operations that timed out or were refused.
    pub failed: usize,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
    /// Latencies of the answered operations, sorted.
    pub latencies: Vec<Duration>,
    /// Attempts that got no answer within the client's attempt timeout and were sent again,
    /// summed over the clients ([`Target::unanswered`]; `None`: the client does not count them).
    pub unanswered: Option<u64>,
}

impl BenchReport {
    /// Answered operations per second.
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q`-quantile latency (0 ≤ q ≤ 1), if any operation was answered.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let i = ((self.latencies.len() as f64 * q).ceil() as usize).clamp(1, self.latencies.len());
        Some(self.latencies[i - 1])
    }
}

/// The `j`-th operation of client `c`: key-value services get a put, put, get, cas cycle over
/// `keys` keys; the register gets put, get.
pub fn op(c: usize, j: usize, keys: usize, key_value: bool) -> KvOp<String, String> {
    let key = format!("k{}", (c + j) % keys.max(1));
    let value = format!("c{c}-{j}");
    match (key_value, j % 4) {
        (false, j) if j % 2 == 0 => KvOp::Put("register".into(), value),
        (false, _) => KvOp::Get("register".into()),
        (true, 0 | 1) => KvOp::Put(key, value),
        (true, 2) => KvOp::Get(key),
        (true, _) => KvOp::Cas {
            key,
            from: format!("c{c}-{}", j - 2),
            to: value,
        },
    }
}

/// Runs the benchmark.
pub fn run(cfg: &BenchConfig) -> std::io::Result<BenchReport> {
    let targets = (0..cfg.clients)
        .map(|c| Client::new(cfg.peers.clone(), cfg.codec.clone()).map(|cl| cl.with_first(c)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let workload = Workload {
        clients: cfg.clients,
        until: Until::Ops(cfg.ops),
        keys: cfg.keys,
        key_value: cfg.key_value,
        deadline: cfg.deadline,
    };
    drive(&workload, targets).map(|o| o.report)
}

/// When each client of a run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// After this many operations.
    Ops(usize),
    /// At the first operation that would start this long after the run started.
    Elapsed(Duration),
}

/// A run's workload, whatever the service measured: `clients` clients, each running the
/// operations of [`op`] one at a time until `until`.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Concurrent clients.
    pub clients: usize,
    /// When each client stops.
    pub until: Until,
    /// Distinct keys (key-value protocols).
    pub keys: usize,
    /// Whether the service is a key-value store (else Paxos's register: put and get only).
    pub key_value: bool,
    /// Per-operation deadline.
    pub deadline: Duration,
}

/// One bench client's connection to the service measured: a Ballot [`Client`] or an etcd
/// client ([`super::etcd::EtcdClient`]).
pub trait Target: Send + 'static {
    /// An answer.
    type Ret;
    /// Why there is no answer.
    type Error: std::fmt::Display;
    /// Performs `op`, giving up after `deadline`.
    fn call(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<Self::Ret, Self::Error>;

    /// How many attempts so far got no answer and were sent again, if the client counts them.
    fn unanswered(&self) -> Option<u64> {
        None
    }
}

impl Target for Client {
    type Ret = super::codec::WireRet;
    type Error = super::client::ClientError;

    fn call(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<Self::Ret, Self::Error> {
        Client::call(self, op, deadline)
    }

    fn unanswered(&self) -> Option<u64> {
        Some(self.unanswered_attempts())
    }
}

/// What [`drive`] measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The measurements.
    pub report: BenchReport,
    /// The first error a client saw (by client number), if any operation failed.
    pub first_error: Option<String>,
}

/// Runs `workload` with one client per target (client `c` drives `targets[c]`), all started
/// together; latencies are taken around each call.
pub fn drive<T: Target>(workload: &Workload, targets: Vec<T>) -> std::io::Result<Outcome> {
    if targets.len() != workload.clients {
        return Err(std::io::Error::other(format!(
            "{} clients but {} connections",
            workload.clients,
            targets.len()
        )));
    }
    let start = Instant::now();
    let handles: Vec<_> = targets
        .into_iter()
        .enumerate()
        .map(|(c, mut target)| {
            let w = workload.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut failed = 0;
                let mut first_error = None;
                for j in 0.. {
                    let done = match w.until {
                        Until::Ops(n) => j >= n,
                        Until::Elapsed(d) => start.elapsed() >= d,
                    };
                    if done {
                        break;
                    }
                    let t = Instant::now();
                    match target.call(op(c, j, w.keys, w.key_value), w.deadline) {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(e) => {
                            failed += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
                (lat, failed, first_error, target.unanswered())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    let mut unanswered = Some(0);
    for h in handles {
        let (l, f, e, u) = h
            .join()
            .map_err(|_| std::io::Error::other("a client panicked"))?;
        latencies.extend(l);
        failed += f;
        first_error = first_error.or(e);
        unanswered = unanswered.zip(u).map(|(a, b)| a + b);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(Outcome {
        report: BenchReport {
            ok: latencies.len(),
            failed,
            elapsed,
            latencies,
            unanswered,
        },
        first_error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_pick_the_right_sample() {
        let r = BenchReport {
            ok: 100,
            failed: 0,
            elapsed: Duration::from_secs(2),
            latencies: (1..=100).map(Duration::from_millis).collect(),
            unanswered: Some(0),
        };
        assert_eq!(r.quantile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(r.quantile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(r.quantile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(r.throughput(), 50.0);
    }

    #[test]
    fn ops_cycle_and_register_ops_avoid_cas() {
        assert!(matches!(op(0, 3, 4, true), KvOp::Cas { .. }));
        assert!((0..8).all(|j| !matches!(op(1, j, 4, false), KvOp::Cas { .. })));
    }
}
