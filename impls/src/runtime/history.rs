//! Client histories of real runs: every operation's invocation, answer or timeout, as JSON lines
//! (under `traces/histories/` in the tests), and their linearizability check with
//! `ballot-properties`.
//!
//! Events are appended under one lock in the order they happen, so the file's order respects
//! real time: an answer recorded before an invocation really came before it. The check
//! ([`ballot_properties::linearizability::linearizable`], a memoised search: Stateright's tester,
//! which the models use, could take minutes on a run's thousands of operations) allows one
//! operation in flight per client, and an operation that timed out stays in flight
//! forever (it may or may not have taken effect, now or later), so a [`RecordingClient`] continues
//! under a fresh logical client id after a timeout.

use super::client::{Client, ClientError};
use super::codec::WireRet;
use ballot_properties::kv::{KvOp, KvRet, KvSpec};
use ballot_properties::linearizability::{
    ClientId, Operation, RegisterOp, RegisterRet, RequestId, WriteOnceRegister, linearizable,
};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A client sent an operation.
    Invoke {
        /// The logical client.
        client: ClientId,
        /// The request id on the wire.
        req: RequestId,
        /// The operation.
        op: KvOp<String, String>,
        /// Microseconds since the history started.
        t_us: u64,
        /// The client's address (where the servers answer).
        addr: String,
        /// The client's session (its identity for the servers).
        #[serde(default)]
        session: u64,
    },
    /// The operation was answered.
    Ok {
        /// The logical client.
        client: ClientId,
        /// The request answered.
        req: RequestId,
        /// The answer.
        ret: WireRet,
        /// Microseconds since the history started.
        t_us: u64,
    },
    /// No answer before the deadline: the operation may or may not take effect.
    Timeout {
        /// The logical client.
        client: ClientId,
        /// The request.
        req: RequestId,
        /// Microseconds since the history started.
        t_us: u64,
        /// What the client saw last.
        error: String,
    },
}

/// Appends events to a JSON-lines file and keeps them in memory.
pub struct Recorder {
    inner: Mutex<(BufWriter<File>, Vec<Event>)>,
    start: Instant,
    next_client: AtomicUsize,
}

impl Recorder {
    /// A new history written to `path` (its directory is created).
    pub fn create(path: &Path) -> std::io::Result<Arc<Self>> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Arc::new(Self {
            inner: Mutex::new((BufWriter::new(File::create(path)?), Vec::new())),
            start: Instant::now(),
            next_client: AtomicUsize::new(0),
        }))
    }

    /// A logical client id not used before in this history.
    pub fn fresh_client(&self) -> ClientId {
        self.next_client.fetch_add(1, Ordering::Relaxed)
    }

    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// Appends an event (built with the current time).
    pub fn record(&self, make: impl FnOnce(u64) -> Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let event = make(self.now_us());
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(inner.0, "{line}");
            let _ = inner.0.flush();
        }
        inner.1.push(event);
    }

    /// The events so far.
    pub fn events(&self) -> Vec<Event> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }
}

/// Reads a history file.
pub fn load(path: &Path) -> std::io::Result<Vec<Event>> {
    let mut events = Vec::new();
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        events.push(serde_json::from_str(&line).map_err(std::io::Error::other)?);
    }
    Ok(events)
}

/// A client whose operations are recorded.
pub struct RecordingClient {
    client: Client,
    logical: ClientId,
    recorder: Arc<Recorder>,
}

impl RecordingClient {
    /// Records `client`'s operations in `recorder`.
    pub fn new(client: Client, recorder: Arc<Recorder>) -> Self {
        let logical = recorder.fresh_client();
        Self {
            client,
            logical,
            recorder,
        }
    }

    /// Performs and records `op`. After a timeout, the client continues as a new logical client.
    pub fn call(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<WireRet, ClientError> {
        let (client, req) = (self.logical, self.client.next_req());
        let addr = self
            .client
            .addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let invoked = op.clone();
        let session = self.client.session();
        self.recorder.record(|t_us| Event::Invoke {
            client,
            req,
            op: invoked,
            t_us,
            addr,
            session,
        });
        let result = self.client.call(op, deadline);
        match &result {
            Ok(ret) => self.recorder.record(|t_us| Event::Ok {
                client,
                req,
                ret: ret.clone(),
                t_us,
            }),
            Err(e) => {
                self.recorder.record(|t_us| Event::Timeout {
                    client,
                    req,
                    t_us,
                    error: e.to_string(),
                });
                self.logical = self.recorder.fresh_client();
            }
        }
        result
    }
}

/// What a checked history contained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checked {
    /// Operations invoked.
    pub invoked: usize,
    /// Operations answered.
    pub answered: usize,
    /// Operations that timed out (left in flight).
    pub timed_out: usize,
}

/// Checks `events` against `spec` ([`linearizable`]): each client has one request in flight at
/// a time (a second invocation, or an answer to a request not in flight, is an error naming the
/// line); an operation that timed out stays in flight for good, and may or may not have taken
/// effect. Each key's operations are checked apart, from `spec`'s initial state: every
/// operation touches one key, and a history is linearizable if and only if each object's
/// subhistory is (locality: Herlihy and Wing, 1990, §3.1). The search then remembers the
/// configurations of one key's operations in flight, not of all clients' at once (whose number
/// grows exponentially with the clients).
fn check<S, F, G>(events: &[Event], spec: S, op: F, ret: G) -> Result<Checked, String>
where
    S: stateright::semantics::SequentialSpec + Clone + std::hash::Hash + Eq,
    S::Ret: PartialEq,
    F: Fn(&KvOp<String, String>) -> Result<S::Op, String>,
    G: Fn(&WireRet) -> Result<S::Ret, String>,
{
    let mut ops: Vec<Operation<S::Op, S::Ret>> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    let mut in_flight: std::collections::HashMap<ClientId, (RequestId, usize)> =
        std::collections::HashMap::new();
    let mut counts = Checked::default();
    for (line, e) in events.iter().enumerate() {
        let line = line + 1;
        match e {
            Event::Invoke {
                client, req, op: o, ..
            } => {
                counts.invoked += 1;
                if in_flight.contains_key(client) {
                    return Err(format!(
                        "line {line}: request {req} invoked while another is in flight"
                    ));
                }
                in_flight.insert(*client, (*req, ops.len()));
                keys.push(match o {
                    KvOp::Put(key, _) | KvOp::Get(key) | KvOp::Cas { key, .. } => key,
                });
                ops.push(Operation {
                    invoked: line,
                    answered: None,
                    op: op(o)?,
                });
            }
            Event::Ok {
                client,
                req,
                ret: r,
                ..
            } => {
                counts.answered += 1;
                match in_flight.get(client) {
                    Some((q, i)) if q == req => {
                        ops[*i].answered = Some((line, ret(r)?));
                        in_flight.remove(client);
                    }
                    Some(_) | None => {
                        return Err(format!(
                            "line {line}: answer to request {req}, which is not in flight"
                        ));
                    }
                }
            }
            Event::Timeout { .. } => counts.timed_out += 1,
        }
    }
    let mut by_key = std::collections::BTreeMap::<&str, Vec<_>>::new();
    for (key, o) in keys.into_iter().zip(ops) {
        by_key.entry(key).or_default().push(o);
    }
    for (key, ops) in &by_key {
        if !linearizable(&spec, ops) {
            return Err(format!(
                "the history of {} operations ({} answered, {} timed out) is NOT linearizable: \
                 its {} operations on key {key:?} are not",
                counts.invoked,
                counts.answered,
                counts.timed_out,
                ops.len()
            ));
        }
    }
    Ok(counts)
}

/// Checks a key-value history against [`KvSpec`] (Multi-Paxos, Raft).
pub fn check_kv(events: &[Event]) -> Result<Checked, String> {
    check(
        events,
        KvSpec::<String, String>::default(),
        |op| Ok(op.clone()),
        |ret| match ret {
            WireRet::Kv(r) => Ok(r.clone()),
            WireRet::Decided(v) => Err(format!("a key-value service answered 'decided {v}'")),
        },
    )
}

/// Checks a Paxos history against a [`WriteOnceRegister`]: `put` proposes, `get` reads.
pub fn check_register(events: &[Event]) -> Result<Checked, String> {
    check(
        events,
        WriteOnceRegister::<String>(None),
        |op| match op {
            KvOp::Put(_, v) => Ok(RegisterOp::Propose(v.clone())),
            KvOp::Get(_) => Ok(RegisterOp::Read),
            KvOp::Cas { .. } => Err("cas on a write-once register".into()),
        },
        |ret| match ret {
            WireRet::Decided(v) => Ok(RegisterRet::Decided(v.clone())),
            WireRet::Kv(KvRet::GetOk(v)) => Ok(RegisterRet::ReadOk(v.clone())),
            WireRet::Kv(other) => Err(format!("a register answered {other:?}")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(client: ClientId, req: RequestId, op: KvOp<String, String>) -> Event {
        Event::Invoke {
            client,
            req,
            op,
            t_us: 0,
            addr: String::new(),
            session: 0,
        }
    }

    fn ok(client: ClientId, req: RequestId, ret: KvRet<String>) -> Event {
        Event::Ok {
            client,
            req,
            ret: WireRet::Kv(ret),
            t_us: 0,
        }
    }

    #[test]
    fn a_lost_acknowledged_write_fails_the_check() {
        let put = KvOp::Put("x".into(), "1".into());
        let get = KvOp::Get("x".into());
        let good = vec![
            inv(0, 1, put.clone()),
            ok(0, 1, KvRet::PutOk),
            inv(1, 1, get.clone()),
            ok(1, 1, KvRet::GetOk(Some("1".into()))),
        ];
        assert_eq!(check_kv(&good).unwrap().answered, 2);
        let lost = vec![
            inv(0, 1, put),
            ok(0, 1, KvRet::PutOk),
            inv(1, 1, get),
            ok(1, 1, KvRet::GetOk(None)),
        ];
        assert!(check_kv(&lost).unwrap_err().contains("NOT linearizable"));
    }

    /// A linearizable history of `clients` clients, each running `per_client` operations one
    /// at a time over `keys` keys, their operations overlapping: each takes effect at a random
    /// moment between its invocation and its answer (a fixed seed).
    fn overlapping(clients: u64, per_client: u32, keys: u32) -> Vec<Event> {
        use ballot_properties::kv::KvSpec;
        use stateright::semantics::SequentialSpec;
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut spec = KvSpec::<String, String>::default();
        // Per client: operations invoked so far, and the one in flight (and its answer, once
        // it has taken effect).
        type InFlight = Option<(KvOp<String, String>, Option<KvRet<String>>)>;
        let mut state: Vec<(u32, InFlight)> = (0..clients).map(|_| (0, None)).collect();
        let mut events = Vec::new();
        while state.iter().any(|(n, f)| *n < per_client || f.is_some()) {
            let c = next(clients);
            let (n, flight) = &mut state[c as usize];
            match flight.take() {
                None if *n < per_client => {
                    *n += 1;
                    let key = format!("k{}", next(u64::from(keys)));
                    let op = match next(3) {
                        0 => KvOp::Put(key, format!("c{c}-{n}")),
                        1 => KvOp::Get(key),
                        _ => KvOp::Cas {
                            key,
                            from: format!("c{}-{}", next(clients), next(u64::from(*n))),
                            to: format!("c{c}-{n}"),
                        },
                    };
                    events.push(inv(c as ClientId, RequestId::from(*n), op.clone()));
                    *flight = Some((op, None));
                }
                None => {}
                Some((op, None)) => {
                    let ret = spec.invoke(&op);
                    *flight = Some((op, Some(ret)));
                }
                Some((_, Some(ret))) => events.push(ok(c as ClientId, RequestId::from(*n), ret)),
            }
        }
        events
    }

    /// Each key is checked apart: 32 clients at once (a whole-history search would remember
    /// subsets of 32 operations in flight) are checked in moments, and a wrong answer is found
    /// and named by its key.
    #[test]
    fn many_clients_are_checked_key_by_key() {
        let events = overlapping(32, 60, 8);
        let started = std::time::Instant::now();
        let checked = check_kv(&events).unwrap();
        assert_eq!((checked.invoked, checked.answered), (32 * 60, 32 * 60));
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        let mut wrong = events.clone();
        let last_get = wrong
            .iter()
            .rposition(|e| {
                matches!(
                    e,
                    Event::Invoke {
                        op: KvOp::Get(_),
                        ..
                    }
                )
            })
            .expect("the history has gets");
        let Event::Invoke {
            client,
            req,
            op: KvOp::Get(key),
            ..
        } = wrong[last_get].clone()
        else {
            unreachable!("found as an invocation of a get")
        };
        let answer = wrong
            .iter_mut()
            .skip(last_get)
            .find(|e| matches!(e, Event::Ok { client: c, req: r, .. } if (*c, *r) == (client, req)))
            .expect("every operation is answered");
        *answer = ok(client, req, KvRet::GetOk(Some("never written".into())));
        let e = check_kv(&wrong).unwrap_err();
        assert!(e.contains(&format!("on key {key:?}")), "{e}");
    }

    #[test]
    fn a_timed_out_write_may_take_effect_later() {
        let events = vec![
            inv(0, 1, KvOp::Put("x".into(), "1".into())),
            Event::Timeout {
                client: 0,
                req: 1,
                t_us: 0,
                error: String::new(),
            },
            inv(1, 5, KvOp::Get("x".into())),
            ok(1, 5, KvRet::GetOk(Some("1".into()))),
        ];
        assert_eq!(check_kv(&events).unwrap().timed_out, 1);
    }

    #[test]
    fn two_decisions_fail_the_register_check() {
        let events = vec![
            inv(0, 1, KvOp::Put(String::new(), "a".into())),
            inv(1, 1, KvOp::Put(String::new(), "b".into())),
            Event::Ok {
                client: 0,
                req: 1,
                ret: WireRet::Decided("a".into()),
                t_us: 0,
            },
            Event::Ok {
                client: 1,
                req: 1,
                ret: WireRet::Decided("b".into()),
                t_us: 0,
            },
        ];
        assert!(check_register(&events).is_err());
        assert!(check_register(&events[..3]).is_ok());
    }
}
