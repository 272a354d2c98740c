//! `ballot bench`: concurrent clients, each running a fixed number of operations one at a time;
//! reports throughput and latency percentiles.

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
    let start = Instant::now();
    let handles: Vec<_> = (0..cfg.clients)
        .map(|c| {
            let cfg = cfg.clone();
            let client = Client::new(cfg.peers.clone(), cfg.codec.clone());
            std::thread::spawn(move || -> std::io::Result<(Vec<Duration>, usize)> {
                let mut client = client?.with_first(c);
                let mut lat = Vec::with_capacity(cfg.ops);
                let mut failed = 0;
                for j in 0..cfg.ops {
                    let t = Instant::now();
                    match client.call(op(c, j, cfg.keys, cfg.key_value), cfg.deadline) {
                        Ok(_) => lat.push(t.elapsed()),
                        Err(_) => failed += 1,
                    }
                }
                Ok((lat, failed))
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (l, f) = h
            .join()
            .map_err(|_| std::io::Error::other("a client panicked"))??;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Ok(BenchReport {
        ok: latencies.len(),
        failed,
        elapsed,
        latencies,
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
