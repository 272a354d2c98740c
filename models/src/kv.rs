//! What the replicated key-value service of Multi-Paxos and Raft shares: the commands in the log,
//! the state machine that applies them exactly once, the client-server messages, the model client
//! and the recording of client operations for the linearizability check.
//!
//! A protocol's message type carries [`ClientRequest`] and [`ClientReply`] (it implements
//! [`KvMsg`]); its actor delegates the client role to [`KvClient`]; its servers apply chosen
//! [`Entry`]s, in log order, to a [`KvStateMachine`].

use crate::cluster::{ServerSet, rewrite_server_index};
use ballot_properties::kv::{KvOp, KvRet, KvSpec};
use ballot_properties::linearizability::{ClientHistory, RequestId};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Envelope, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// A key in the model: one or two keys are enough to expose every bug.
pub type ModelKey = char;
/// A value in the model.
pub type ModelValue = char;
/// The history of client operations recorded by a key-value model.
pub type KvHistory<K, V> = ClientHistory<KvSpec<K, V>>;

/// A client command as it travels through the log: who asked, which request, what operation.
/// `(client, req)` identifies the request, so a retried request is recognised.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Command<K, V> {
    /// The client that sent the request.
    pub client: Id,
    /// The client's request id (1, 2, … per client, one request in flight at a time).
    pub req: RequestId,
    /// The operation.
    pub op: KvOp<K, V>,
}

/// An entry of the replicated log.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Entry<K, V> {
    /// Fills a slot without an effect (a new Multi-Paxos leader's gap filler; Raft's no-op at the
    /// start of a term).
    Noop,
    /// A client command.
    Cmd(Command<K, V>),
    /// Raft's configuration entry (dissertation §4.1, `--membership`): the servers of the
    /// cluster from this entry on. A server uses the latest one in its log, committed or not;
    /// the state machine ignores it.
    Config(ServerSet),
}

/// The most client sessions a [`KvStateMachine`] remembers. When a command of a new session
/// would make one more, the session applied least recently is forgotten.
///
/// What this bounds: a retry is answered from the session table (not applied again) as long as
/// fewer than `SESSION_CAP` *other* sessions had a command applied since its session's last one.
/// A real client retries only until its `--timeout` (10 s by default), so a retry is applied
/// twice only if more than `SESSION_CAP / timeout` new sessions a second (10,000 a second with
/// the defaults) reach the log meanwhile. A forgotten session's next request is taken for a new
/// one. The model checks run one or two clients, so the cap never acts there.
pub const SESSION_CAP: usize = 100_000;

/// Keys ordered by when they were last touched, to find the least recently touched one. Only
/// the order of [`Recency::touch`] calls counts, never a clock: two copies touched in the same
/// order agree, which keeps replicas that apply the same log identical.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord",
    deserialize = "K: Deserialize<'de> + Ord"
))]
pub struct Recency<K: Ord> {
    /// The next stamp to hand out.
    next: u64,
    /// Each key's last stamp.
    stamps: BTreeMap<K, u64>,
    /// The keys by their last stamp, oldest first.
    order: BTreeMap<u64, K>,
}

impl<K: Ord> Default for Recency<K> {
    fn default() -> Self {
        Self {
            next: 0,
            stamps: BTreeMap::new(),
            order: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> Recency<K> {
    /// Makes `key` the most recently touched (adding it if it is new).
    pub fn touch(&mut self, key: &K) {
        let stamp = self.next;
        self.next += 1;
        if let Some(old) = self.stamps.insert(key.clone(), stamp) {
            self.order.remove(&old);
        }
        self.order.insert(stamp, key.clone());
    }

    /// Makes `key` the most recently touched and, if that makes more than `cap` keys (at least
    /// one), forgets the least recently touched key and returns it. Touched only this way, it
    /// never holds more than `cap` keys.
    pub fn touch_capped(&mut self, key: &K, cap: usize) -> Option<K> {
        self.touch(key);
        if self.len() > cap.max(1) {
            self.pop_oldest()
        } else {
            None
        }
    }

    /// Removes and returns the least recently touched key.
    pub fn pop_oldest(&mut self) -> Option<K> {
        let (_, key) = self.order.pop_first()?;
        self.stamps.remove(&key);
        Some(key)
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.stamps.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.stamps.is_empty()
    }

    /// Whether it holds `key`.
    pub fn contains(&self, key: &K) -> bool {
        self.stamps.contains_key(key)
    }
}

/// The replicated state machine: the key-value map, plus the last answer per client session, so
/// that a retried request is answered from the recorded result instead of being applied again.
/// At most [`SESSION_CAP`] sessions are kept (see there for what that bounds).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvStateMachine<K: Ord, V> {
    /// The map.
    pub map: KvSpec<K, V>,
    /// Per client: the last request applied and its answer.
    pub sessions: BTreeMap<Id, (RequestId, KvRet<V>)>,
    /// The sessions by when a command of theirs was last applied: when a new session would
    /// exceed [`SESSION_CAP`], the least recent is forgotten.
    #[serde(default)]
    pub recency: Recency<Id>,
    /// The first request this replica applied a second time. Only a mutant without
    /// deduplication sets it; Integrity reads it.
    pub reapplied: Option<(Id, RequestId)>,
}

/// A server's key-value state machine, derived from the entries it executed (Raft's applied
/// entries, Multi-Paxos's decision log) and kept with its state so that it is built once, then
/// updated entry by entry. Every cache is equal to every other: a state's identity is its other
/// fields (it takes no part in comparisons, hashing, `Debug` or serialization).
#[derive(Clone, Default)]
pub struct SmCache(Option<Arc<dyn std::any::Any + Send + Sync>>);

impl SmCache {
    /// The state machine, built by `build` now if it is not cached.
    pub fn get_or<K: Ord + Send + Sync + 'static, V: Send + Sync + 'static>(
        &mut self,
        build: impl FnOnce() -> KvStateMachine<K, V>,
    ) -> &KvStateMachine<K, V> {
        let cached = self
            .0
            .as_ref()
            .is_some_and(|a| a.is::<KvStateMachine<K, V>>());
        if !cached {
            self.0 = Some(Arc::new(build()));
        }
        match self
            .0
            .as_ref()
            .and_then(|a| a.downcast_ref::<KvStateMachine<K, V>>())
        {
            Some(sm) => sm,
            None => unreachable!("the cache was just filled with this state machine"),
        }
    }

    /// The state machine, to update: built by `build` now if it is not cached (or copied if
    /// it is shared with another state: a map of a few keys).
    pub fn get_mut_or<K: Ord + Clone + Send + Sync + 'static, V: Clone + Send + Sync + 'static>(
        &mut self,
        build: impl FnOnce() -> KvStateMachine<K, V>,
    ) -> &mut KvStateMachine<K, V> {
        let cached = self
            .0
            .as_ref()
            .and_then(|a| a.downcast_ref::<KvStateMachine<K, V>>());
        let own = match cached {
            Some(_) if self.0.as_ref().is_some_and(|a| Arc::strong_count(a) == 1) => None,
            Some(sm) => Some(sm.clone()),
            None => Some(build()),
        };
        if let Some(sm) = own {
            self.0 = Some(Arc::new(sm));
        }
        let Some(sm) = self
            .0
            .as_mut()
            .and_then(Arc::get_mut)
            .and_then(|a| a.downcast_mut::<KvStateMachine<K, V>>())
        else {
            unreachable!("the cache was just made this state's own state machine")
        };
        sm
    }
}

impl PartialEq for SmCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SmCache {}

impl PartialOrd for SmCache {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmCache {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl std::hash::Hash for SmCache {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl Debug for SmCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmCache")
    }
}

/// A [`KvStateMachine`] as plain data: a snapshot's state machine state (Raft §7), which a
/// real Raft node keeps instead of the entries that produced it and sends in InstallSnapshot.
/// The first `count` entries a real node applied (Raft) or executed (Multi-Paxos), folded into
/// the state machine (map and session table) that applying them produced: the snapshot's data
/// of Raft §7 ("the state machine state"), instead of the entries themselves, which the model
/// keeps for its properties.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AppliedBase<K, V> {
    /// How many entries it stands for (Raft's `lastApplied` when it was folded).
    pub count: u64,
    /// Their state machine.
    pub sm: Arc<SmSnapshot<K, V>>,
}

/// The map's pairs by key; the sessions' last requests and answers, least recently applied
/// first (the order in which the session table forgets them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SmSnapshot<K, V> {
    /// The map, by key.
    pub map: Vec<(K, V)>,
    /// Per session: its id, its last request applied and the answer, least recent first.
    pub sessions: Vec<(Id, RequestId, KvRet<V>)>,
}

impl<K: Ord> Recency<K> {
    /// The keys, least recently touched first.
    pub fn oldest_first(&self) -> impl Iterator<Item = &K> + '_ {
        self.order.values()
    }
}

impl<K: Clone + Ord, V: Clone> KvStateMachine<K, V> {
    /// The state machine as plain data ([`SmSnapshot`]). A mutant's `reapplied` (which only
    /// the model's properties read) is not kept.
    pub fn to_snapshot(&self) -> SmSnapshot<K, V> {
        SmSnapshot {
            map: self
                .map
                .0
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            sessions: self
                .recency
                .oldest_first()
                .filter_map(|id| {
                    let (req, ret) = self.sessions.get(id)?;
                    Some((*id, *req, ret.clone()))
                })
                .collect(),
        }
    }

    /// The state machine of a snapshot: equal to the one [`Self::to_snapshot`] read, but for
    /// the recency stamps (their order is kept, which is all that counts) and `reapplied`.
    pub fn from_snapshot(snapshot: &SmSnapshot<K, V>) -> Self {
        let mut sm = Self::default();
        for (k, v) in &snapshot.map {
            sm.map.0.insert(k.clone(), v.clone());
        }
        for (id, req, ret) in &snapshot.sessions {
            sm.sessions.insert(*id, (*req, ret.clone()));
            sm.recency.touch(id);
        }
        sm
    }
}

impl<K: Ord, V> Default for KvStateMachine<K, V> {
    fn default() -> Self {
        Self {
            map: KvSpec::default(),
            sessions: BTreeMap::new(),
            recency: Recency::default(),
            reapplied: None,
        }
    }
}

impl<K: Clone + Ord, V: Clone + PartialEq> KvStateMachine<K, V> {
    /// Applies the log entry at the next position and returns the answer for its client: `None`
    /// for a no-op, and for a request older than the client's last (the client has its answer).
    ///
    /// With `dedup` (the correct protocol) a request seen before is answered from the session
    /// table and not applied again. Without it (a mutant), the effect runs twice and
    /// [`Self::reapplied`] records it.
    ///
    /// Every command makes its session the most recently applied; a command of a new session
    /// that would make more than [`SESSION_CAP`] sessions forgets the least recently applied
    /// one. Every replica applies the same entries in the same order, so every replica forgets
    /// the same sessions.
    pub fn apply(&mut self, entry: &Entry<K, V>, dedup: bool) -> Option<KvRet<V>> {
        self.apply_capped(entry, dedup, SESSION_CAP)
    }

    /// [`Self::apply`] with at most `cap` sessions (at least one).
    fn apply_capped(&mut self, entry: &Entry<K, V>, dedup: bool, cap: usize) -> Option<KvRet<V>> {
        let Entry::Cmd(cmd) = entry else {
            return None;
        };
        // The session just applied is the most recent: it is never the one forgotten.
        if let Some(forgotten) = self.recency.touch_capped(&cmd.client, cap) {
            self.sessions.remove(&forgotten);
        }
        let last = self.sessions.get(&cmd.client);
        if let Some((last_req, ret)) = last {
            if dedup && cmd.req == *last_req {
                return Some(ret.clone());
            }
            if dedup && cmd.req < *last_req {
                return None;
            }
            if cmd.req <= *last_req && self.reapplied.is_none() {
                self.reapplied = Some((cmd.client, cmd.req));
            }
        }
        let ret = self.map.apply(&cmd.op);
        self.sessions.insert(cmd.client, (cmd.req, ret.clone()));
        Some(ret)
    }

    /// The recorded answer to `(client, req)` if it is the client's last applied request.
    pub fn answered(&self, client: Id, req: RequestId) -> Option<&KvRet<V>> {
        match self.sessions.get(&client) {
            Some((r, ret)) if *r == req => Some(ret),
            _ => None,
        }
    }
}

/// A client's read waiting at a leader for a confirmation round and for the leader's state
/// machine to catch up (Raft's ReadIndex, Ongaro's dissertation §6.4; the same for Multi-Paxos).
/// A read is answered from the leader's state machine, without a log entry and without a write
/// to storage.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WaitingRead<K> {
    /// The client that asked.
    pub client: Id,
    /// Its request id.
    pub req: RequestId,
    /// The key read.
    pub key: K,
    /// The read index: the leader answers once its state machine has applied every entry below
    /// it (Raft: log indices `1..=index` applied; Multi-Paxos: slots `0..index` executed).
    pub index: u64,
    /// The confirmation round that a majority must acknowledge first: one the leader started
    /// after the read arrived (0 for the `read-without-confirmation` mutants: none).
    pub round: u64,
}

/// A leader's confirmation rounds (Raft dissertation §6.4, step 2: "the leader sends a new round
/// of heartbeats and waits for their acknowledgments from a majority of the cluster") and the
/// reads waiting for them. Volatile: a leader starts with none, and its reads are lost when it
/// steps down or crashes (the client retries elsewhere).
///
/// Every message the leader sends that its followers answer (Raft: AppendEntries; Multi-Paxos:
/// Accept and heartbeats) carries the number of the latest round started, and each answer echoes
/// it. An answer for round `r` was sent after round `r` started, so after every read of a round
/// up to `r` arrived: it shows that its sender still recognized the leader at a moment after
/// those reads arrived. An answer for an earlier round may have been sent before the read
/// arrived, and proves nothing about it. So a read arriving while a round is in flight waits
/// for the next round, which starts when the one in flight is acknowledged by a majority (or
/// at the next heartbeat): at most one round is in flight, and each round serves every read
/// that arrived before it started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReadRounds<K> {
    /// The latest round started; 0: none yet (as leader of this term or ballot).
    pub started: u64,
    /// Per server index, the highest round it acknowledged (the leader's own entry stays 0: it
    /// counts itself for every round).
    pub acked: Vec<u64>,
    /// The reads waiting, sorted (by client, then request).
    pub waiting: Vec<WaitingRead<K>>,
}

impl<K: Clone> ReadRounds<K> {
    /// A new leader's rounds, in a cluster of `servers`.
    pub fn new(servers: usize) -> Self {
        Self {
            started: 0,
            acked: vec![0; servers],
            waiting: Vec::new(),
        }
    }

    /// The highest round acknowledged by a majority, the leader (`me`) included.
    pub fn confirmed(&self, me: usize) -> u64 {
        self.confirmed_among(me, None)
    }

    /// The highest round acknowledged by a majority of `members` (every server if `None`), the
    /// leader (`me`) included if it is a member (Raft's configurations, dissertation §4.1).
    pub fn confirmed_among(&self, me: usize, members: Option<ServerSet>) -> u64 {
        let member = |i: usize| members.is_none_or(|m| m.contains(i));
        let mut rounds: Vec<u64> = (0..self.acked.len())
            .filter(|&i| member(i))
            .map(|i| if i == me { self.started } else { self.acked[i] })
            .collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds
            .get(ballot_properties::majority(rounds.len()) - 1)
            .copied()
            .unwrap_or(0)
    }

    /// Server `from` acknowledged round `round` (and so every earlier one).
    pub fn ack(&mut self, from: usize, round: u64) {
        if let Some(a) = self.acked.get_mut(from) {
            *a = (*a).max(round.min(self.started));
        }
    }

    /// A read arrives: it waits for round `started + 1`, the next one to start (or for `round`,
    /// which a mutant sets). A read already waiting (a retry, a duplicate) is not added twice;
    /// an earlier request of the same client is dropped (the client has moved on).
    pub fn wait(&mut self, read: WaitingRead<K>) {
        if self
            .waiting
            .iter()
            .any(|w| w.client == read.client && w.req >= read.req)
        {
            return;
        }
        self.waiting.retain(|w| w.client != read.client);
        let at = self
            .waiting
            .partition_point(|w| (w.client, w.req) < (read.client, read.req));
        self.waiting.insert(at, read);
    }

    /// Starts the next round if a read waits for it and none is in flight (`in_flight_too`:
    /// even if one is, as a leader does on its heartbeat timer, when the round in flight may have
    /// been lost). Returns whether it started one: the caller then sends the leader's messages,
    /// which carry the new round, to every follower.
    pub fn start_if_waiting(&mut self, me: usize, in_flight_too: bool) -> bool {
        self.start_if_waiting_among(me, in_flight_too, None)
    }

    /// [`Self::start_if_waiting`], with the majorities of `members` (every server if `None`).
    pub fn start_if_waiting_among(
        &mut self,
        me: usize,
        in_flight_too: bool,
        members: Option<ServerSet>,
    ) -> bool {
        let wanted = self.waiting.iter().any(|w| w.round > self.started);
        if wanted && (in_flight_too || self.confirmed_among(me, members) >= self.started) {
            self.started += 1;
            true
        } else {
            false
        }
    }

    /// Takes the reads that can be answered: their round is acknowledged by a majority and the
    /// state machine has applied up to their index (`applied`).
    pub fn take_ready(&mut self, me: usize, applied: u64) -> Vec<WaitingRead<K>> {
        self.take_ready_among(me, applied, None)
    }

    /// [`Self::take_ready`], with the majorities of `members` (every server if `None`).
    pub fn take_ready_among(
        &mut self,
        me: usize,
        applied: u64,
        members: Option<ServerSet>,
    ) -> Vec<WaitingRead<K>> {
        let confirmed = self.confirmed_among(me, members);
        let (ready, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.round <= confirmed && w.index <= applied);
        self.waiting = waiting;
        ready
    }
}

/// The answer to a read of `key` from a leader's state machine.
pub fn read_answer<K: Clone + Ord, V: Clone + PartialEq>(
    sm: &KvStateMachine<K, V>,
    read: &WaitingRead<K>,
) -> ClientReply<V> {
    ClientReply::Done {
        req: read.req,
        ret: KvRet::GetOk(sm.map.0.get(&read.key).cloned()),
    }
}

/// Client → server: perform `op`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientRequest<K, V> {
    /// The client's request id.
    pub req: RequestId,
    /// The operation.
    pub op: KvOp<K, V>,
}

impl<K, V> ClientRequest<K, V> {
    /// The command this request becomes in the log, once `client`'s request reaches a leader.
    pub fn command(self, client: Id) -> Command<K, V> {
        Command {
            client,
            req: self.req,
            op: self.op,
        }
    }
}

/// Server → client: the answer, or "ask the leader".
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ClientReply<V> {
    /// The request was applied (once) and this is its answer.
    Done {
        /// The request answered.
        req: RequestId,
        /// The answer.
        ret: KvRet<V>,
    },
    /// This server is not the leader; `leader` is the one it knows of, if any.
    NotLeader {
        /// The request refused.
        req: RequestId,
        /// Where to send it instead.
        leader: Option<Id>,
    },
}

impl<V> ClientReply<V> {
    /// The request this reply answers.
    pub fn req(&self) -> RequestId {
        match self {
            Self::Done { req, .. } | Self::NotLeader { req, .. } => *req,
        }
    }
}

/// A protocol message type that carries client requests and replies.
pub trait KvMsg<K, V>: Sized {
    /// Wraps a client request.
    fn request(r: ClientRequest<K, V>) -> Self;
    /// The client request this message is, if it is one.
    fn as_request(&self) -> Option<&ClientRequest<K, V>>;
    /// The client reply this message is, if it is one.
    fn as_reply(&self) -> Option<&ClientReply<V>>;
}

/// The client's one timer: no answer yet, try the next server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClientRetry;

/// How long a real client waits for an answer before it retries elsewhere.
pub fn client_retry_timeout() -> Range<Duration> {
    Duration::from_millis(300)..Duration::from_millis(600)
}

/// A model client: runs `ops` one at a time (request ids 1, 2, …), starting at server `first`,
/// following `NotLeader` hints, retrying on a timeout at most `max_retries` times per request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KvClient<K, V> {
    /// Every server, in index order.
    pub servers: Vec<Id>,
    /// The operations to run, in order.
    pub ops: Vec<KvOp<K, V>>,
    /// The index of the server to ask first.
    pub first: usize,
    /// Retries per request (bounds the model: each retry is a new message).
    pub max_retries: u8,
}

/// A model client's state: compact, three small counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KvClientState {
    /// How many operations have been answered; the one in flight has request id `done + 1`.
    pub done: u8,
    /// The index of the server the request in flight was sent to.
    pub target: u8,
    /// Retries used for the request in flight.
    pub retries: u8,
}

impl<K: Clone, V> KvClient<K, V> {
    fn send<A>(&self, state: &KvClientState, o: &mut Out<A>)
    where
        A: Actor,
        A::Msg: KvMsg<K, V>,
        A::Timer: From<ClientRetry>,
        V: Clone,
    {
        let op = self.ops[state.done as usize].clone();
        o.send(
            self.servers[state.target as usize],
            A::Msg::request(ClientRequest {
                req: state.done as RequestId + 1,
                op,
            }),
        );
        if state.retries < self.max_retries {
            o.set_timer(ClientRetry.into(), client_retry_timeout());
        }
    }

    /// Starts the first operation.
    pub fn on_start<A>(&self, o: &mut Out<A>) -> KvClientState
    where
        A: Actor,
        A::Msg: KvMsg<K, V>,
        A::Timer: From<ClientRetry>,
        V: Clone,
    {
        let state = KvClientState {
            done: 0,
            target: self.first as u8,
            retries: 0,
        };
        if !self.ops.is_empty() {
            self.send(&state, o);
        }
        state
    }

    /// Handles a reply. Returns the new state, or `None` if the reply changes nothing (an
    /// answer to an earlier request, or a duplicate).
    pub fn on_reply<A>(
        &self,
        state: &KvClientState,
        reply: &ClientReply<V>,
        o: &mut Out<A>,
    ) -> Option<KvClientState>
    where
        A: Actor,
        A::Msg: KvMsg<K, V>,
        A::Timer: From<ClientRetry>,
        V: Clone,
    {
        if state.done as usize >= self.ops.len() || reply.req() != state.done as RequestId + 1 {
            // Stale or duplicate: the client has moved on (or is done).
            return None;
        }
        let mut next = *state;
        match reply {
            ClientReply::Done { .. } => {
                next.done += 1;
                next.retries = 0;
                if (next.done as usize) < self.ops.len() {
                    self.send(&next, o);
                } else {
                    o.cancel_timer(ClientRetry.into());
                }
            }
            ClientReply::NotLeader { leader, .. } => {
                let hinted = leader.and_then(|l| self.servers.iter().position(|s| *s == l));
                next.target = match hinted {
                    Some(i) if i != state.target as usize => i as u8,
                    // A redirect to the server the request already went to: a late copy of an
                    // earlier redirect (a duplicate, or one overtaken by a retry). Ignored:
                    // moving on round the ring would treat servers differently by number,
                    // which symmetry reduction cannot allow, and the retry timer still runs.
                    Some(_) => return None,
                    None => ((state.target as usize + 1) % self.servers.len()) as u8,
                };
                // A redirect re-sends without arming a new retry (the pending timer stays).
                let op = self.ops[next.done as usize].clone();
                o.send(
                    self.servers[next.target as usize],
                    A::Msg::request(ClientRequest {
                        req: next.done as RequestId + 1,
                        op,
                    }),
                );
            }
        }
        Some(next)
    }

    /// The retry timer fired: re-send the request in flight to the next server.
    pub fn on_retry<A>(&self, state: &KvClientState, o: &mut Out<A>) -> Option<KvClientState>
    where
        A: Actor,
        A::Msg: KvMsg<K, V>,
        A::Timer: From<ClientRetry>,
        V: Clone,
    {
        if state.done as usize >= self.ops.len() || state.retries >= self.max_retries {
            return None;
        }
        let mut next = *state;
        next.retries += 1;
        next.target = ((state.target as usize + 1) % self.servers.len()) as u8;
        self.send(&next, o);
        Some(next)
    }

    /// Whether this client issued `cmd` (for Validity: only issued commands may be chosen).
    pub fn issued(&self, me: Id, cmd: &Command<K, V>) -> bool
    where
        K: PartialEq,
        V: PartialEq,
    {
        cmd.client == me && cmd.req >= 1 && self.ops.get(cmd.req as usize - 1) == Some(&cmd.op)
    }
}

/// The model's operations for client `c`, at most `requests` of them: put `'A'+c` to `x`, then
/// compare-and-swap it to `'a'+c`, then read `x`.
pub fn model_ops(c: usize, requests: usize) -> Vec<KvOp<ModelKey, ModelValue>> {
    let upper = (b'A' + c as u8) as char;
    let lower = (b'a' + c as u8) as char;
    [
        KvOp::Put('x', upper),
        KvOp::Cas {
            key: 'x',
            from: upper,
            to: lower,
        },
        KvOp::Get('x'),
    ]
    .into_iter()
    .cycle()
    .take(requests)
    .collect()
}

/// Client `c`'s operations: [`model_ops`] (put, cas, get, …), except that odd clients read
/// first, so that even one request per client gives the linearizability check a read to judge.
pub fn client_ops(c: usize, requests: usize) -> Vec<KvOp<ModelKey, ModelValue>> {
    if c % 2 == 1 && requests > 0 {
        let mut ops = vec![KvOp::Get('x')];
        ops.extend(model_ops(c, requests - 1));
        ops
    } else {
        model_ops(c, requests)
    }
}

/// How the model's clients' operations reach the log: `(logged, writers, readers)`: the
/// operations that become log entries (every one with `log_reads`, otherwise the puts and
/// compare-and-swaps), the clients that send at least one of them, and the clients whose gets
/// are answered without the log (none with `log_reads`).
pub fn logged_ops(clients: usize, requests: usize, log_reads: bool) -> (usize, usize, usize) {
    let (mut logged, mut writers, mut readers) = (0, 0, 0);
    for c in 0..clients {
        let ops = client_ops(c, requests);
        let gets = ops.iter().filter(|op| matches!(op, KvOp::Get(_))).count();
        let mine = if log_reads {
            ops.len()
        } else {
            ops.len() - gets
        };
        logged += mine;
        writers += usize::from(mine > 0);
        readers += usize::from(!log_reads && gets > 0);
    }
    (logged, writers, readers)
}

/// Whether a model client has had one of its gets answered.
pub fn read_answered<K, V>(client: &KvClient<K, V>, state: &KvClientState) -> bool {
    client.ops[..(state.done as usize).min(client.ops.len())]
        .iter()
        .any(|op| matches!(op, KvOp::Get(_)))
}

/// For `ActorModel::record_msg_out`: a client sent a request (a re-send changes nothing).
pub fn record_request<C, K, V, M>(
    _: &C,
    history: &KvHistory<K, V>,
    env: Envelope<&M>,
) -> Option<KvHistory<K, V>>
where
    K: Clone + Debug + Eq + Hash + Ord + Serialize,
    V: Clone + Debug + Eq + Hash + Serialize,
    M: KvMsg<K, V>,
{
    let r = env.msg.as_request()?;
    history.invoke(env.src.into(), r.req, r.op.clone())
}

/// For `ActorModel::record_msg_in`: an answer reached its client (matched by request id).
pub fn record_reply<C, K, V, M>(
    _: &C,
    history: &KvHistory<K, V>,
    env: Envelope<&M>,
) -> Option<KvHistory<K, V>>
where
    K: Clone + Debug + Eq + Hash + Ord + Serialize,
    V: Clone + Debug + Eq + Hash + Serialize,
    M: KvMsg<K, V>,
{
    match env.msg.as_reply()? {
        ClientReply::Done { req, ret } => history.respond(env.dst.into(), *req, ret.clone()),
        ClientReply::NotLeader { .. } => None,
    }
}

// Symmetry (see `cluster::server_symmetry`): every actor identity is rewritten through the plan.

impl<K: Clone, V: Clone> Rewrite<Id> for Command<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Command {
            client: self.client.rewrite(plan),
            req: self.req,
            op: self.op.clone(),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for Entry<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Entry::Noop => Entry::Noop,
            Entry::Cmd(c) => Entry::Cmd(c.rewrite(plan)),
            Entry::Config(members) => Entry::Config(members.rewrite(plan)),
        }
    }
}

impl<K: Clone + Ord, V: Clone> Rewrite<Id> for KvStateMachine<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        KvStateMachine {
            map: self.map.clone(),
            sessions: self.sessions.rewrite(plan),
            recency: self.recency.rewrite(plan),
            reapplied: self.reapplied.map(|(c, r)| (c.rewrite(plan), r)),
        }
    }
}

impl<K: Ord + Rewrite<Id>> Rewrite<Id> for Recency<K> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Recency {
            next: self.next,
            stamps: self.stamps.rewrite(plan),
            order: self.order.rewrite(plan),
        }
    }
}

impl<K: Clone> Rewrite<Id> for WaitingRead<K> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        WaitingRead {
            client: self.client.rewrite(plan),
            ..self.clone()
        }
    }
}

impl<K: Clone> Rewrite<Id> for ReadRounds<K> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut acked = vec![0; self.acked.len()];
        for (i, a) in self.acked.iter().enumerate() {
            acked[rewrite_server_index(i as u8, plan) as usize] = *a;
        }
        ReadRounds {
            started: self.started,
            acked,
            waiting: self.waiting.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for ClientRequest<K, V> {
    fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}

impl<V: Clone> Rewrite<Id> for ClientReply<V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            ClientReply::Done { req, ret } => ClientReply::Done {
                req: *req,
                ret: ret.clone(),
            },
            ClientReply::NotLeader { req, leader } => ClientReply::NotLeader {
                req: *req,
                leader: leader.rewrite(plan),
            },
        }
    }
}

impl Rewrite<Id> for KvClientState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        KvClientState {
            target: rewrite_server_index(self.target, plan),
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(client: usize, req: RequestId, op: KvOp<char, char>) -> Entry<char, char> {
        Entry::Cmd(Command {
            client: Id::from(client),
            req,
            op,
        })
    }

    #[test]
    fn a_retried_request_is_answered_from_the_session_not_applied_again() {
        let mut sm = KvStateMachine::default();
        assert_eq!(sm.apply(&Entry::Noop, true), None);
        assert_eq!(
            sm.apply(&cmd(5, 1, KvOp::Put('x', 'A')), true),
            Some(KvRet::PutOk)
        );
        let cas = KvOp::Cas {
            key: 'x',
            from: 'A',
            to: 'a',
        };
        assert_eq!(
            sm.apply(&cmd(5, 2, cas.clone()), true),
            Some(KvRet::CasOk(true))
        );
        // The same cas again (a retry chosen in a later slot): same answer, no second effect.
        assert_eq!(
            sm.apply(&cmd(5, 2, cas.clone()), true),
            Some(KvRet::CasOk(true))
        );
        // An older request: no answer needed, no effect.
        assert_eq!(sm.apply(&cmd(5, 1, KvOp::Put('x', 'A')), true), None);
        assert_eq!(sm.map.0.get(&'x'), Some(&'a'));
        assert_eq!(sm.reapplied, None);
        assert_eq!(sm.answered(Id::from(5), 2), Some(&KvRet::CasOk(true)));
        assert_eq!(sm.answered(Id::from(5), 1), None);
    }

    #[test]
    fn without_dedup_a_retry_runs_twice_and_is_recorded() {
        let mut sm = KvStateMachine::default();
        sm.apply(&cmd(5, 1, KvOp::Put('x', 'A')), false);
        let cas = KvOp::Cas {
            key: 'x',
            from: 'A',
            to: 'a',
        };
        assert_eq!(
            sm.apply(&cmd(5, 2, cas.clone()), false),
            Some(KvRet::CasOk(true))
        );
        assert_eq!(sm.apply(&cmd(5, 2, cas), false), Some(KvRet::CasOk(false)));
        assert_eq!(sm.reapplied, Some((Id::from(5), 2)));
    }

    #[test]
    fn beyond_the_cap_the_least_recently_applied_session_is_forgotten() {
        let mut sm = KvStateMachine::default();
        let put = |c: usize, v: char| cmd(c, 1, KvOp::Put('x', v));
        for c in 1..=3 {
            sm.apply_capped(&put(c, 'a'), true, 3);
        }
        // A retry of session 1 (answered from the table) makes it the most recent ...
        assert_eq!(sm.apply_capped(&put(1, 'a'), true, 3), Some(KvRet::PutOk));
        // ... so a fourth session forgets session 2, the least recently applied.
        sm.apply_capped(&put(4, 'd'), true, 3);
        let kept: Vec<_> = sm.sessions.keys().map(|&id| usize::from(id)).collect();
        assert_eq!(kept, [1, 3, 4]);
        assert_eq!(sm.recency.len(), 3);
        assert!(!sm.recency.contains(&Id::from(2)));
        // Session 3's retry is still answered from the table, without a second effect.
        let cas = cmd(
            3,
            2,
            KvOp::Cas {
                key: 'x',
                from: 'd',
                to: 'c',
            },
        );
        assert_eq!(sm.apply_capped(&cas, true, 3), Some(KvRet::CasOk(true)));
        sm.apply_capped(&put(5, 'e'), true, 3);
        assert_eq!(sm.apply_capped(&cas, true, 3), Some(KvRet::CasOk(true)));
        assert_eq!(sm.map.0.get(&'x'), Some(&'e'));
        assert_eq!(sm.reapplied, None);
        // A forgotten session's request is taken for a new one: the documented limit.
        assert_eq!(sm.apply_capped(&put(2, 'b'), true, 3), Some(KvRet::PutOk));
        assert_eq!(sm.map.0.get(&'x'), Some(&'b'));
    }

    #[test]
    fn the_real_cap_keeps_session_cap_sessions() {
        let mut sm = KvStateMachine::default();
        for c in 0..=SESSION_CAP {
            sm.apply(&cmd(c, 1, KvOp::Put('x', 'a')), true);
        }
        assert_eq!(sm.sessions.len(), SESSION_CAP);
        assert_eq!(sm.recency.len(), SESSION_CAP);
        assert!(!sm.sessions.contains_key(&Id::from(0)));
        assert_eq!(sm.answered(Id::from(1), 1), Some(&KvRet::PutOk));
    }

    proptest::proptest! {
        /// Replicas that apply the same commands agree on every session they keep; and a retry
        /// of a session's last request, while fewer than `cap` other sessions were applied since
        /// it, is answered with the recorded answer and changes nothing.
        #[test]
        fn eviction_is_deterministic_and_retries_within_the_bound_are_answered(
            cap in 1usize..5,
            steps in proptest::collection::vec((0usize..8, 0u8..3, 0u8..3), 1..80),
        ) {
            let (mut a, mut b) = (KvStateMachine::default(), KvStateMachine::default());
            let mut next_req: BTreeMap<usize, RequestId> = BTreeMap::new();
            // The sessions applied, in order (for the bound).
            let mut applied: Vec<usize> = Vec::new();
            let mut last: BTreeMap<usize, (Entry<char, char>, KvRet<char>)> = BTreeMap::new();
            for (c, what, v) in steps {
                let v = (b'a' + v) as char;
                let op = match what {
                    0 => KvOp::Put('x', v),
                    1 => KvOp::Get('x'),
                    _ => KvOp::Cas { key: 'x', from: v, to: 'z' },
                };
                let req = next_req.entry(c).or_insert(0);
                *req += 1;
                let e = cmd(c, *req, op);
                let ret = a.apply_capped(&e, true, cap);
                proptest::prop_assert_eq!(&ret, &b.apply_capped(&e, true, cap));
                proptest::prop_assert_eq!(&a, &b);
                applied.push(c);
                last.insert(c, (e, ret.unwrap()));
                proptest::prop_assert!(a.sessions.len() <= cap);
                proptest::prop_assert!(a.sessions.keys().all(|k| a.recency.contains(k)));
                proptest::prop_assert_eq!(a.recency.len(), a.sessions.len());
                // Retry every session whose last command is within the bound.
                for (&s, (e, ret)) in &last {
                    let since = applied.iter().rposition(|&x| x == s).unwrap_or(0);
                    let others: std::collections::BTreeSet<_> =
                        applied[since + 1..].iter().filter(|&&x| x != s).collect();
                    if others.len() < cap {
                        let mut retried = a.clone();
                        proptest::prop_assert_eq!(
                            retried.apply_capped(e, true, cap),
                            Some(ret.clone())
                        );
                        proptest::prop_assert_eq!(&retried.map, &a.map);
                    }
                }
            }
        }
    }

    #[test]
    fn model_ops_cycle_put_cas_get() {
        assert_eq!(model_ops(1, 1), vec![KvOp::Put('x', 'B')]);
        assert_eq!(model_ops(0, 4).len(), 4);
        assert_eq!(model_ops(0, 3)[2], KvOp::Get('x'));
    }
}
