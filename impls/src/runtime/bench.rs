//! `ballot bench`: concurrent clients, each running a fixed number of operations (or for a fixed
//! time) one at a time; reports throughput and latency percentiles. The same loop ([`drive`])
//! drives a Ballot cluster or, for comparison, an etcd cluster ([`super::etcd`]).

use super::client::{Client, ClientError, Operation};
use super::codec::{Codec, WireRet};
use super::etcd::{EtcdClient, EtcdError};
use ballot_properties::kv::KvOp;
use std::net::SocketAddrV4;
use std::os::fd::RawFd;
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
        .map(|c| {
            Client::new(cfg.peers.clone(), cfg.codec.clone())
                .and_then(|cl| BallotTarget::new(cl.with_first(c)))
        })
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

/// One bench client's connection to the service measured, driven by [`drive`]'s event loop:
/// a Ballot [`Client`] ([`BallotTarget`]) or an etcd client ([`super::etcd::EtcdClient`]).
/// One operation at a time.
pub trait Target {
    /// Why there is no answer.
    type Error: std::fmt::Display;

    /// Starts `op`, to be answered within `deadline`.
    fn start(&mut self, op: KvOp<String, String>, deadline: Duration) -> Progress<Self::Error>;

    /// Makes what progress it can without waiting (takes what has arrived, acts on the time).
    fn advance(&mut self) -> Progress<Self::Error>;

    /// The descriptor whose input [`Self::advance`] is waiting for, if any.
    fn fd(&self) -> Option<RawFd>;

    /// How many attempts so far got no answer and were sent again, if the client counts them.
    fn unanswered(&self) -> Option<u64> {
        None
    }
}

/// Where an operation in flight stands.
#[derive(Debug)]
pub enum Progress<E> {
    /// In flight: advance it when its descriptor has input, or at this time at the latest.
    Waiting(Instant),
    /// Answered (`Ok`) or given up.
    Done(Result<(), E>),
}

/// A Ballot [`Client`] as a bench target (its socket non-blocking).
pub struct BallotTarget {
    client: Client,
    op: Option<Operation>,
}

impl BallotTarget {
    /// `client`, its socket made non-blocking.
    pub fn new(client: Client) -> std::io::Result<Self> {
        client.set_nonblocking()?;
        Ok(Self { client, op: None })
    }

    fn progress(&mut self, step: Result<Option<WireRet>, ClientError>) -> Progress<ClientError> {
        match (step, &self.op) {
            (Ok(None), Some(op)) => Progress::Waiting(op.wake()),
            (Ok(None), None) => unreachable!("advanced with no operation in flight"),
            (Ok(Some(_)), _) => {
                self.op = None;
                Progress::Done(Ok(()))
            }
            (Err(e), _) => {
                self.op = None;
                Progress::Done(Err(e))
            }
        }
    }
}

impl Target for BallotTarget {
    type Error = ClientError;

    fn start(&mut self, op: KvOp<String, String>, deadline: Duration) -> Progress<ClientError> {
        match self.client.start(op, deadline) {
            Ok(op) => {
                let wake = op.wake();
                self.op = Some(op);
                Progress::Waiting(wake)
            }
            Err(e) => Progress::Done(Err(e)),
        }
    }

    fn advance(&mut self) -> Progress<ClientError> {
        let step = match &mut self.op {
            Some(op) => self.client.advance(op),
            None => return Progress::Done(Ok(())),
        };
        self.progress(step)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.client.fd())
    }

    fn unanswered(&self) -> Option<u64> {
        Some(self.client.unanswered_attempts())
    }
}

impl Target for EtcdClient {
    type Error = EtcdError;

    fn start(&mut self, op: KvOp<String, String>, deadline: Duration) -> Progress<EtcdError> {
        EtcdClient::start(self, op, deadline);
        Target::advance(self)
    }

    fn advance(&mut self) -> Progress<EtcdError> {
        match EtcdClient::advance(self) {
            Some(result) => Progress::Done(result.map(|_| ())),
            None => Progress::Waiting(self.wake().unwrap_or_else(Instant::now)),
        }
    }

    fn fd(&self) -> Option<RawFd> {
        EtcdClient::fd(self)
    }
}

/// Waits until one of `fds` has input (or an error) or `until` passes; `None` entries are
/// skipped.
pub fn wait(fds: &[Option<RawFd>], until: Instant) -> std::io::Result<()> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .flatten()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    poll(&mut polled, until).map(|_| ())
}

/// `ppoll(2)` on `fds` until one is ready or `until` passes (nanosecond resolution, unlike
/// `poll`'s milliseconds); the number ready.
fn poll(fds: &mut [libc::pollfd], until: Instant) -> std::io::Result<usize> {
    let wait = until.saturating_duration_since(Instant::now());
    let timeout = libc::timespec {
        tv_sec: wait.as_secs().min(i32::MAX as u64) as libc::time_t,
        tv_nsec: libc::c_long::from(wait.subsec_nanos() as i32),
    };
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()` pollfd structures and
    // `timeout` a valid timespec; a null signal mask leaves the mask as it is.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &timeout,
            std::ptr::null(),
        )
    };
    match n {
        n if n >= 0 => Ok(n as usize),
        _ => {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(0)
            } else {
                Err(e)
            }
        }
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

/// One client of [`drive`]'s loop.
struct Driven<T> {
    target: T,
    /// The number of its next operation.
    next: usize,
    /// When the operation in flight started, and when it must be advanced at the latest;
    /// `None` once the client is done.
    in_flight: Option<(Instant, Instant)>,
    failed: usize,
    first_error: Option<String>,
}

/// Runs `workload` with one client per target (client `c` drives `targets[c]`), all started
/// together, on one thread: an event loop that waits (`ppoll`) for a reply on any client's
/// socket or the earliest wake time (an attempt timeout, a pause, a deadline), advances the
/// clients that have something, and starts each client's next operation as soon as its last
/// one is answered. Latencies run from an operation's start to the moment the loop sees its
/// answer. One thread, not one per client: the load generator then takes one core at most, and
/// its threads do not crowd the servers' out of a small machine's cores.
pub fn drive<T: Target>(workload: &Workload, targets: Vec<T>) -> std::io::Result<Outcome> {
    if targets.len() != workload.clients {
        return Err(std::io::Error::other(format!(
            "{} clients but {} connections",
            workload.clients,
            targets.len()
        )));
    }
    let start = Instant::now();
    let mut latencies = Vec::new();
    let mut clients: Vec<Driven<T>> = targets
        .into_iter()
        .map(|target| Driven {
            target,
            next: 0,
            in_flight: None,
            failed: 0,
            first_error: None,
        })
        .collect();
    for (c, d) in clients.iter_mut().enumerate() {
        begin(workload, start, c, d, &mut latencies);
    }
    let mut fds: Vec<libc::pollfd> = Vec::with_capacity(clients.len());
    let mut owner: Vec<usize> = Vec::with_capacity(clients.len());
    let mut ready = vec![false; clients.len()];
    loop {
        fds.clear();
        owner.clear();
        let mut until: Option<Instant> = None;
        for (c, d) in clients.iter().enumerate() {
            let Some((_, wake)) = d.in_flight else {
                continue;
            };
            until = Some(until.map_or(wake, |u| u.min(wake)));
            if let Some(fd) = d.target.fd() {
                fds.push(libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                });
                owner.push(c);
            }
        }
        let Some(until) = until else { break };
        poll(&mut fds, until)?;
        let now = Instant::now();
        ready.fill(false);
        for (p, &c) in fds.iter().zip(&owner) {
            ready[c] = p.revents != 0;
        }
        for (c, d) in clients.iter_mut().enumerate() {
            let Some((began, wake)) = d.in_flight else {
                continue;
            };
            if !ready[c] && now < wake {
                continue;
            }
            let progress = d.target.advance();
            settle(progress, began, d, &mut latencies);
            if d.in_flight.is_none() {
                begin(workload, start, c, d, &mut latencies);
            }
        }
    }
    let elapsed = start.elapsed();
    let mut failed = 0;
    let mut first_error = None;
    let mut unanswered = Some(0);
    for d in &clients {
        failed += d.failed;
        first_error = first_error.or(d.first_error.clone());
        unanswered = unanswered.zip(d.target.unanswered()).map(|(a, b)| a + b);
    }
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

/// Starts client `c`'s next operation, unless its workload is done; an operation over at once
/// (refused, or an error before any send) is counted and the next one started.
fn begin<T: Target>(
    w: &Workload,
    start: Instant,
    c: usize,
    d: &mut Driven<T>,
    latencies: &mut Vec<Duration>,
) {
    loop {
        let done = match w.until {
            Until::Ops(n) => d.next >= n,
            Until::Elapsed(limit) => start.elapsed() >= limit,
        };
        if done {
            d.in_flight = None;
            return;
        }
        let began = Instant::now();
        let progress = d
            .target
            .start(op(c, d.next, w.keys, w.key_value), w.deadline);
        d.next += 1;
        settle(progress, began, d, latencies);
        if d.in_flight.is_some() {
            return;
        }
    }
}

/// Records what `progress` says of the operation that began at `began`.
fn settle<T: Target>(
    progress: Progress<T::Error>,
    began: Instant,
    d: &mut Driven<T>,
    latencies: &mut Vec<Duration>,
) {
    match progress {
        Progress::Waiting(wake) => d.in_flight = Some((began, wake)),
        Progress::Done(Ok(())) => {
            latencies.push(began.elapsed());
            d.in_flight = None;
        }
        Progress::Done(Err(e)) => {
            d.failed += 1;
            d.first_error.get_or_insert_with(|| e.to_string());
            d.in_flight = None;
        }
    }
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

    /// A target without a socket: each operation is answered `delay` after it starts, except
    /// every third, which fails then.
    struct Slow {
        delay: Duration,
        started: usize,
        due: Option<Instant>,
    }

    impl Target for Slow {
        type Error = String;

        fn start(&mut self, _: KvOp<String, String>, _: Duration) -> Progress<String> {
            self.started += 1;
            let due = Instant::now() + self.delay;
            self.due = Some(due);
            Progress::Waiting(due)
        }

        fn advance(&mut self) -> Progress<String> {
            let due = self.due.expect("advanced with an operation in flight");
            if Instant::now() < due {
                return Progress::Waiting(due);
            }
            self.due = None;
            if self.started.is_multiple_of(3) {
                Progress::Done(Err(format!("operation {} failed", self.started)))
            } else {
                Progress::Done(Ok(()))
            }
        }

        fn fd(&self) -> Option<RawFd> {
            None
        }
    }

    #[test]
    fn the_event_loop_runs_every_client_to_the_end_and_counts_failures() {
        let delay = Duration::from_millis(3);
        let targets = (0..3)
            .map(|_| Slow {
                delay,
                started: 0,
                due: None,
            })
            .collect();
        let w = Workload {
            clients: 3,
            until: Until::Ops(6),
            keys: 8,
            key_value: true,
            deadline: Duration::from_secs(1),
        };
        let o = drive(&w, targets).unwrap();
        assert_eq!((o.report.ok, o.report.failed), (12, 6));
        assert_eq!(o.first_error.as_deref(), Some("operation 3 failed"));
        assert_eq!(o.report.unanswered, None, "a Slow counts no attempts");
        assert!(o.report.latencies.iter().all(|l| *l >= delay));
        // The clients ran side by side: six operations each, not eighteen in a row.
        assert!(o.report.elapsed < delay * 17, "{:?}", o.report.elapsed);
        let w = Workload {
            until: Until::Elapsed(Duration::from_millis(30)),
            ..w
        };
        let targets: Vec<_> = (0..3)
            .map(|_| Slow {
                delay,
                started: 0,
                due: None,
            })
            .collect();
        let o = drive(&w, targets).unwrap();
        assert!(o.report.ok + o.report.failed >= 3, "{:?}", o.report);
        assert!(o.report.elapsed >= Duration::from_millis(30));
        let err = drive(&Workload { clients: 2, ..w }, Vec::<Slow>::new()).unwrap_err();
        assert!(
            err.to_string().contains("2 clients but 0 connections"),
            "{err}"
        );
    }

    #[test]
    fn ops_cycle_and_register_ops_avoid_cas() {
        assert!(matches!(op(0, 3, 4, true), KvOp::Cas { .. }));
        assert!((0..8).all(|j| !matches!(op(1, j, 4, false), KvOp::Cas { .. })));
    }
}
