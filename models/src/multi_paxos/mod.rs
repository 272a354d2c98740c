//! # Multi-Paxos
//!
//! Leslie Lamport, *Paxos Made Simple* (2001), §3 "Implementing a State Machine", with the
//! roles and message names of §2. Servers agree on a sequence of commands — one single-decree
//! Paxos instance per log **slot** — and each applies the chosen commands, in slot order, to a
//! small key-value state machine ([`crate::kv`]).
//!
//! What Multi-Paxos adds to single-decree Paxos ([`crate::paxos`]):
//!
//! - **One Phase 1 for every slot** (§3): a server that wants to lead picks a ballot higher than
//!   any it has seen and sends one Prepare that covers every slot from the first one it has not
//!   yet executed. Each acceptor's Promise reports every proposal it accepted in those slots.
//! - **Taking over** (§3): with Promises from a majority, the new leader re-proposes, in each
//!   reported slot, the value of the highest-numbered proposal, and fills the gaps below the
//!   highest reported slot with no-ops, before it serves new commands.
//! - **One Phase 2 round trip per command**: the leader proposes a client's command in the next
//!   free slot (Accept); it is chosen when a majority accepted it (Accepted); the leader tells the
//!   other learners (Decided).
//! - **Leader changes** happen when a server's election timer fires (Stateright fires a timer at
//!   any moment, so every takeover is explored), up to a maximum ballot round.
//! - **Replicas** execute chosen entries in slot order. Commands carry `(client, request id)`:
//!   a retried request that was chosen twice is executed once and answered from the recorded
//!   result ([`KvStateMachine`]). Only the leader answers clients.
//!
//! Acceptors save their promise and their accepted proposals before they answer, and replicas
//! save what they executed, so a crashed server recovers safely from its [`MpStorage`].
//!
//! A replica's *decision event* (what [`ConsensusView::decision_log`] shows) is its state
//! machine executing an entry: the `i`-th entry it executes is its decision for slot `i`. A
//! correct replica executes Paxos slot `i` as its `i`-th entry, so Agreement over these events is
//! Raft's *State Machine Safety*: no two replicas execute different entries at the same
//! position. Integrity says a replica executes each position once and never changes it, and never
//! executes a request twice.
//!
//! The same actor runs in the model checker ([`MultiPaxosConfig::into_model`]) and, later, over
//! UDP: handlers only receive messages and emit commands (send, set timer, save).

use crate::cluster::{
    BugInfo, ClusterConfig, ClusterModel, ServerRole, ServerSet, lossy, rewrite_server_index,
};
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, Entry, KvClient, KvClientState, KvHistory, KvMsg,
    KvStateMachine, ModelKey, ModelValue, SmCache, model_ops, record_reply, record_request,
};
pub use crate::paxos::{Ballot, Value};
use crate::shared_vec::SharedVec;
use ballot_properties::kv::{KvOp, KvSpec};
use ballot_properties::linearizability::{ClientHistory, ClientId, RequestId};
use ballot_properties::{self as props, ConsensusView, Slot, majority};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt::Debug;
use std::ops::Range;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// An acceptor's vote (§2.2, in every slot): it accepted `entry` for `slot` in `ballot`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Vote<K, V> {
    /// The log slot.
    pub slot: Slot,
    /// The ballot of the proposal accepted.
    pub ballot: Ballot,
    /// The entry proposed.
    pub entry: Entry<K, V>,
}

/// [`MpServer::heartbeats`] without a bound: a leader's heartbeats never stop (a real run).
pub const UNBOUNDED: u32 = u32::MAX;

/// The largest number of slots a model may use (`--max-slots`; the out-of-order mutant's executed
/// slots must fit in [`SlotSet`]'s window).
pub const MAX_SLOTS: Slot = 32;

/// The Paxos slots a replica has executed: every slot below `base`, plus a 32-slot window above
/// it as a bit set (bit `i`: slot `base + i`). A correct replica executes in slot order, so the
/// window stays empty and the set is unbounded (a real run); only the out-of-order mutant, in a
/// model of at most [`MAX_SLOTS`] slots, uses the window.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct SlotSet {
    base: Slot,
    window: u32,
}

impl SlotSet {
    /// Adds `slot`.
    pub fn insert(&mut self, slot: Slot) {
        if slot < self.base {
            return;
        }
        let offset = slot - self.base;
        assert!(
            offset < 32,
            "slot {slot} is 32 or more beyond the first unexecuted slot {}",
            self.base
        );
        self.window |= 1 << offset;
        let run = self.window.trailing_ones();
        self.base += run;
        self.window = self.window.checked_shr(run).unwrap_or(0);
    }

    /// Whether `slot` is in the set.
    pub fn contains(self, slot: Slot) -> bool {
        slot < self.base || (slot - self.base < 32 && self.window & (1 << (slot - self.base)) != 0)
    }

    /// The lowest slot not in the set.
    pub fn first_missing(self) -> Slot {
        self.base
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Messages between clients and servers, and among servers (named as in the paper).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MpMsg<K, V> {
    /// Client → server: perform an operation.
    Request(ClientRequest<K, V>),
    /// Server → client: the answer, or "ask the leader".
    Reply(ClientReply<V>),
    /// Phase 1a, would-be leader → acceptors: prepare `ballot` for every slot from `from` on.
    Prepare {
        /// The ballot.
        ballot: Ballot,
        /// The first slot the sender has not executed; slots below it are chosen and known.
        from: Slot,
    },
    /// Phase 1b, acceptor → would-be leader: a promise not to accept proposals numbered below
    /// `ballot`, with every proposal the acceptor accepted in slots from `from` on.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The acceptor's votes in the prepared slots.
        votes: Vec<Vote<K, V>>,
    },
    /// Phase 2a, leader → acceptors: accept `entry` for `slot` in `ballot`. It also tells the
    /// learners what is chosen (§2.3, §3): every slot below `committed` is.
    Accept {
        /// The ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
        /// The entry proposed.
        entry: Entry<K, V>,
        /// The leader's commit point: the first slot it has not executed.
        committed: Slot,
    },
    /// Phase 2b, acceptor → leader: the acceptor accepted the proposal for `slot` in `ballot`.
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The slot.
        slot: Slot,
    },
    /// Leader → the other servers, on its heartbeat timer (real runs, and models run with
    /// `--heartbeats N`): "I still lead `ballot`; every slot below `committed` is chosen". Not in
    /// the paper, which leaves leader election and failure detection open (§2.4, §3); it is the
    /// learners' commit point of an idle leader, and it holds off the followers' election timers.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// The leader's commit point: the first slot it has not executed.
        committed: Slot,
    },
    /// Learner → a server that knows more: "send me the entries chosen from slot `from` on". A
    /// learner that missed Accepts (lost, or sent while it was down) cannot learn those slots
    /// from its own votes (§2.3: "a learner can find out what value has been chosen by asking").
    CatchUp {
        /// The first slot the learner has not executed.
        from: Slot,
    },
    /// Answer to [`MpMsg::CatchUp`]: the entries the sender executed from slot `from` on, in
    /// slot order (each is chosen: a replica executes chosen entries only).
    Chosen {
        /// The slot of `entries[0]`.
        from: Slot,
        /// The chosen entries of slots `from`, `from + 1`, …
        entries: Vec<Entry<K, V>>,
        /// The sender's commit point: slots below it are chosen, and the sender knows them (a
        /// real run may send fewer entries than that to fit a datagram; the learner asks again).
        committed: Slot,
    },
}

impl<K, V> KvMsg<K, V> for MpMsg<K, V> {
    fn request(r: ClientRequest<K, V>) -> Self {
        MpMsg::Request(r)
    }

    fn as_request(&self) -> Option<&ClientRequest<K, V>> {
        match self {
            MpMsg::Request(r) => Some(r),
            // Not a client request: nothing for the history.
            MpMsg::Reply(_)
            | MpMsg::Prepare { .. }
            | MpMsg::Promise { .. }
            | MpMsg::Accept { .. }
            | MpMsg::Accepted { .. }
            | MpMsg::Heartbeat { .. }
            | MpMsg::CatchUp { .. }
            | MpMsg::Chosen { .. } => None,
        }
    }

    fn as_reply(&self) -> Option<&ClientReply<V>> {
        match self {
            MpMsg::Reply(r) => Some(r),
            // Not a reply to a client: nothing for the history.
            MpMsg::Request(_)
            | MpMsg::Prepare { .. }
            | MpMsg::Promise { .. }
            | MpMsg::Accept { .. }
            | MpMsg::Accepted { .. }
            | MpMsg::Heartbeat { .. }
            | MpMsg::CatchUp { .. }
            | MpMsg::Chosen { .. } => None,
        }
    }
}

/// The timers: a server's election timer, a client's retry timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MpTimer {
    /// A server suspects the leader (or its own Phase 1 is stuck): it tries to take over with a
    /// higher ballot.
    Election,
    /// A leader's heartbeat (real runs, and models with `--heartbeats N`): it re-sends the
    /// Accepts not yet accepted by every acceptor, and a [`MpMsg::Heartbeat`].
    Heartbeat,
    /// A client's request went unanswered: retry at the next server.
    Client(ClientRetry),
}

impl From<ClientRetry> for MpTimer {
    fn from(t: ClientRetry) -> Self {
        MpTimer::Client(t)
    }
}

/// How long a server waits for the leader before it tries to take over, in a real run. The
/// model checker ignores durations: a set timer may fire at any moment.
pub fn election_timeout() -> Range<Duration> {
    Duration::from_millis(500)..Duration::from_millis(1000)
}

/// How often a leader re-sends unanswered Accepts and a heartbeat, in a real run: well below
/// the election timeout.
pub fn heartbeat_interval() -> Range<Duration> {
    Duration::from_millis(50)..Duration::from_millis(60)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// What a server saves before answering, and recovers after a crash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MpStorage<K, V> {
    /// Acceptor: the highest ballot promised (P1a); also the highest ballot this server used as
    /// a leader, so a recovered leader never reuses a ballot.
    pub promised: Option<Ballot>,
    /// Acceptor: its vote in every slot it accepted a proposal for, sorted by slot (shared in
    /// chunks: a step that adds or replaces a vote near the end copies little).
    pub votes: SharedVec<Vote<K, V>>,
    /// Replica: the decision events, oldest first — `(i, entry)` when the state machine executed
    /// `entry` as its `i`-th entry. The state machine is this log replayed.
    pub log: SharedVec<(Slot, Entry<K, V>)>,
    /// Replica: the Paxos slots executed (`0..log.len()` for a correct replica).
    pub executed: SlotSet,
}

impl<K, V> Default for MpStorage<K, V> {
    fn default() -> Self {
        Self {
            promised: None,
            votes: SharedVec::new(),
            log: SharedVec::new(),
            executed: SlotSet::default(),
        }
    }
}

impl<K: Value, V: Value> MpStorage<K, V> {
    /// The state machine after executing the log (with or without request deduplication).
    pub fn state_machine(&self, dedup: bool) -> KvStateMachine<K, V> {
        let mut sm = KvStateMachine::default();
        for (_, entry) in self.log.iter() {
            sm.apply(entry, dedup);
        }
        sm
    }
}

/// A proposal the leader sent in Phase 2 and is collecting Accepted for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InFlight<K, V> {
    /// The slot.
    pub slot: Slot,
    /// The entry proposed.
    pub entry: Entry<K, V>,
    /// Acceptors that accepted it.
    pub acks: ServerSet,
}

/// What a server is doing as a proposer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role<K, V> {
    /// Not leading: an acceptor and learner only.
    Follower,
    /// Phase 1 in progress for `ballot`, over every slot from `from` on.
    Preparing {
        /// The ballot.
        ballot: Ballot,
        /// The first slot prepared.
        from: Slot,
        /// Acceptors that promised.
        promises: ServerSet,
        /// Per slot, the highest-numbered vote reported so far, sorted by slot.
        reports: Vec<Vote<K, V>>,
    },
    /// Phase 1 done: the leader proposes in slots from `next` on, one Phase 2 per command.
    Leading {
        /// The ballot.
        ballot: Ballot,
        /// The next free slot.
        next: Slot,
        /// Proposals not yet chosen.
        in_flight: Vec<InFlight<K, V>>,
        /// Heartbeat timeouts so far in this ballot (counted only when they are bounded, in a
        /// model).
        beats: u32,
    },
}

impl<K, V> Role<K, V> {
    /// The ballot this server is preparing or leading with.
    pub fn ballot(&self) -> Option<Ballot> {
        match self {
            Role::Follower => None,
            Role::Preparing { ballot, .. } | Role::Leading { ballot, .. } => Some(*ballot),
        }
    }
}

/// A server: acceptor, proposer (leader) and learner, plus the replica that executes the log.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerState<K, V> {
    /// Saved before every reply that depends on it.
    pub durable: MpStorage<K, V>,
    /// Volatile: leading or not.
    pub role: Role<K, V>,
    /// Volatile: chosen entries learned but not executed yet (an earlier slot is still
    /// unknown), sorted by slot.
    pub pending: Vec<(Slot, Entry<K, V>)>,
    /// The state machine: the decision log replayed, kept so that a step does not replay it
    /// all again (a cache outside comparisons, hashing, `Debug` and serialization).
    #[serde(skip)]
    pub sm: SmCache,
}

impl<K: Debug, V: Debug> Debug for ServerState<K, V> {
    /// What `#[derive(Debug)]` prints, without the state machine cache.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("durable", &self.durable)
            .field("role", &self.role)
            .field("pending", &self.pending)
            .finish()
    }
}

/// The state of a server or a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MpState<K, V> {
    /// A server's state.
    Server(ServerState<K, V>),
    /// A client's state.
    Client(KvClientState),
}

impl<K, V> ServerRole for MpState<K, V> {
    fn is_server(&self) -> bool {
        matches!(self, MpState::Server(_))
    }
}

/// The named bugs (mutants): each departs from the protocol in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MpBug {
    /// A new leader ignores the votes reported in Promises: it treats every prepared slot as
    /// free.
    IgnorePromisedValues,
    /// Replicas do not deduplicate requests: a retried request chosen in two slots runs twice.
    NoDedup,
    /// A replica executes a chosen entry as soon as it learns it, not in slot order.
    OutOfOrder,
    /// Quorums of n/2 servers instead of a majority (⌊n/2⌋ + 1).
    MinorityQuorum,
    /// An acceptor forgets its votes across a crash (it saves only its promise).
    ForgetVotes,
    /// A learner takes the leader's commit point as covering its votes of any ballot, not only
    /// the votes it cast in the leader's ballot.
    CommitAnyBallot,
    /// A follower takes the ballot of any heartbeat as its promise, even below the one it made.
    HeartbeatSetsPromise,
}

/// The catalog printed by `ballot bugs multi-paxos`: each entry is exposed by
/// `ballot check multi-paxos <args> --bug <name>`.
pub const BUGS: &[(MpBug, BugInfo)] = &[
    (
        MpBug::IgnorePromisedValues,
        BugInfo {
            name: "ignore-promised-values",
            breaks: "Agreement",
            args: &[],
            summary: "a new leader ignores the accepted values reported in Promises and reuses their slots",
        },
    ),
    (
        MpBug::NoDedup,
        BugInfo {
            name: "no-dedup",
            breaks: "Integrity",
            args: &["--retries", "1"],
            summary: "replicas apply a retried request again when it is chosen in a second slot (needs retries)",
        },
    ),
    (
        MpBug::OutOfOrder,
        BugInfo {
            name: "out-of-order",
            breaks: "Agreement",
            args: &[],
            summary: "a replica applies a chosen entry as soon as it learns it, not in slot order",
        },
    ),
    (
        MpBug::MinorityQuorum,
        BugInfo {
            name: "minority-quorum",
            breaks: "Agreement",
            args: &[],
            summary: "quorums of n/2 servers instead of a majority",
        },
    ),
    (
        MpBug::ForgetVotes,
        BugInfo {
            name: "forget-votes",
            breaks: "Agreement",
            args: &["--crashes", "1"],
            summary: "an acceptor forgets the slots it accepted across a crash (needs crashes)",
        },
    ),
    (
        MpBug::CommitAnyBallot,
        BugInfo {
            name: "commit-any-ballot",
            breaks: "Agreement",
            args: &["--requests", "2"],
            summary: "a learner below the leader's commit point learns its vote of any ballot, not only of the leader's (needs two requests)",
        },
    ),
    (
        MpBug::HeartbeatSetsPromise,
        BugInfo {
            name: "heartbeat-sets-promise",
            breaks: "Agreement",
            args: &["--heartbeats", "1"],
            summary: "a follower takes a heartbeat's ballot as its promise, even one below the promise it made (needs heartbeats)",
        },
    ),
];

impl MpBug {
    /// The catalog entry of this bug.
    pub fn info(self) -> &'static BugInfo {
        crate::cluster::catalog_info(BUGS, self)
    }

    /// The bug called `name` in the catalog.
    pub fn from_name(name: &str) -> Option<Self> {
        crate::cluster::catalog_lookup(BUGS, name)
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// A Multi-Paxos server's configuration: its peers, the model's bounds, the bug it runs with.
/// Every server has the same configuration (so servers are interchangeable for symmetry
/// reduction).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest ballot round a server may start (keeps the model finite; unbounded in real
    /// runs).
    pub max_round: u32,
    /// A leader proposes in slots below this only (keeps the model finite).
    pub max_slots: Slot,
    /// How many times a leader's heartbeat timer fires in one ballot; each time it re-sends the
    /// unanswered Accepts and sends heartbeats. Real runs need them (datagrams get lost; an idle
    /// leader must hold off elections and tell learners its commit point) and have no bound
    /// ([`UNBOUNDED`]). A model has none unless `--heartbeats N` (the checker fires a timer at
    /// any moment, so each firing must be bounded to keep the model finite).
    pub heartbeats: u32,
    /// The mutant to run, if any.
    pub bug: Option<MpBug>,
}

/// A Multi-Paxos actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MpActor<K, V> {
    /// A server.
    Server(MpServer),
    /// A model client running its operations one at a time.
    Client(KvClient<K, V>),
}

impl MpServer {
    fn has(&self, bug: MpBug) -> bool {
        self.bug == Some(bug)
    }

    fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn quorum(&self) -> usize {
        if self.has(MpBug::MinorityQuorum) {
            self.peers.len() / 2
        } else {
            majority(self.peers.len())
        }
    }

    fn dedup(&self) -> bool {
        !self.has(MpBug::NoDedup)
    }

    fn others(&self, me: usize) -> impl Iterator<Item = &Id> {
        self.peers
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != me)
            .map(|(_, id)| id)
    }

    /// The acceptor raises its promise to `ballot` (P1a). A server leading or preparing a lower
    /// ballot gives up: a higher ballot has taken over.
    fn promise<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        s.durable.promised = s.durable.promised.max(Some(ballot));
        if s.role.ballot().is_some_and(|b| b < ballot) {
            if self.heartbeats > 0 && matches!(s.role, Role::Leading { .. }) {
                o.cancel_timer(MpTimer::Heartbeat);
            }
            s.role = Role::Follower;
            self.restart_election_timer(s, o);
        }
    }

    /// (Re)starts the election timer, unless this server may start no higher round (the model's
    /// bound). A follower restarts it whenever it hears from the leader it promised (an Accept
    /// or a heartbeat), so that a working leader is not taken over.
    fn restart_election_timer<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.promised.is_some_and(|p| p.round < self.max_round) {
            o.set_timer(MpTimer::Election, election_timeout());
        }
    }

    /// The leader starts sending heartbeats (if this server sends them at all).
    fn start_heartbeats<K: Value, V: Value>(&self, o: &mut Out<MpActor<K, V>>) {
        if self.heartbeats > 0 {
            o.set_timer(MpTimer::Heartbeat, heartbeat_interval());
        }
    }

    /// Phase 1a (§2.2, §3): choose a ballot higher than any seen and send one prepare request
    /// for every slot not yet executed. The ballot is saved first, so a recovered server never
    /// reuses it; the server's own acceptor promises at once.
    fn prepare<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        // Rounds are exhausted at `max_round` (the model's bound) or at u32::MAX (a peer may have
        // promised that high): no higher ballot exists, so this server stops trying to lead.
        let Some(round) = s.durable.promised.map_or(0, |b| b.round).checked_add(1) else {
            return;
        };
        if round > self.max_round {
            return;
        }
        let ballot = Ballot {
            round,
            proposer: me as u8,
        };
        s.durable.promised = Some(ballot);
        o.save(s.durable.clone());
        let from = s.durable.executed.first_missing();
        s.role = Role::Preparing {
            ballot,
            from,
            promises: ServerSet::default(),
            reports: Vec::new(),
        };
        for peer in self.others(me) {
            o.send(*peer, MpMsg::Prepare { ballot, from });
        }
        if round < self.max_round {
            o.set_timer(MpTimer::Election, election_timeout());
        }
        let own = votes_from(&s.durable.votes, from).cloned().collect();
        self.on_promise(me, s, me, ballot, own, o);
    }

    /// Phase 1b (§2.2): "If an acceptor receives a prepare request with number n greater than
    /// that of any prepare request to which it has already responded, then it responds to the
    /// request with a promise not to accept any more proposals numbered less than n" — and, for
    /// every prepared slot, with the highest-numbered proposal it has accepted (§3).
    fn on_prepare<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        ballot: Ballot,
        from: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.promised.is_some_and(|p| ballot <= p) {
            // Promised this ballot or a higher one already: no answer.
            return;
        }
        self.promise(s, ballot, o);
        o.save(s.durable.clone());
        let votes = votes_from(&s.durable.votes, from).cloned().collect();
        o.send(src, MpMsg::Promise { ballot, votes });
    }

    /// Phase 2a for a new leader (§3): with promises from a majority, re-propose in every
    /// reported slot the value of the highest-numbered proposal, fill the gaps below the highest
    /// reported slot with no-ops, then serve new commands from the slot after.
    fn on_promise<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from_server: usize,
        ballot: Ballot,
        votes: Vec<Vote<K, V>>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Preparing {
            ballot: preparing,
            from,
            promises,
            reports,
        } = &mut s.role
        else {
            // Not preparing (leading already, or gave up): a late Promise.
            return;
        };
        if *preparing != ballot {
            // A Promise for an earlier ballot of this server.
            return;
        }
        promises.insert(from_server);
        if !self.has(MpBug::IgnorePromisedValues) {
            for v in votes {
                match reports.binary_search_by_key(&v.slot, |r| r.slot) {
                    Ok(i) if reports[i].ballot < v.ballot => reports[i] = v,
                    Ok(_) => {}
                    Err(i) => reports.insert(i, v),
                }
            }
        }
        if promises.len() < self.quorum() {
            return;
        }
        let from = *from;
        let reports = std::mem::take(reports);
        let next = reports.last().map_or(from, |r| r.slot + 1).max(from);
        s.role = Role::Leading {
            ballot,
            next,
            in_flight: Vec::new(),
            beats: 0,
        };
        o.cancel_timer(MpTimer::Election);
        self.start_heartbeats(o);
        for slot in from..next {
            let entry = match reports.binary_search_by_key(&slot, |r| r.slot) {
                Ok(i) => reports[i].entry.clone(),
                Err(_) => Entry::Noop,
            };
            self.propose(me, s, slot, entry, o);
        }
    }

    /// Phase 2a (§2.2): the leader sends an accept request for `entry` in `slot`; its own
    /// acceptor accepts without a message to itself.
    fn propose<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        slot: Slot,
        entry: Entry<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading {
            ballot, in_flight, ..
        } = &mut s.role
        else {
            unreachable!("only a leader proposes");
        };
        let ballot = *ballot;
        in_flight.push(InFlight {
            slot,
            entry: entry.clone(),
            acks: ServerSet::default(),
        });
        let committed = s.durable.executed.first_missing();
        for peer in self.others(me) {
            o.send(
                *peer,
                MpMsg::Accept {
                    ballot,
                    slot,
                    entry: entry.clone(),
                    committed,
                },
            );
        }
        if self.accept(s, ballot, slot, entry, o) {
            self.on_accepted(s, me, ballot, slot, o);
        }
    }

    /// A client request reaches a server. The leader answers a request it already executed from
    /// the recorded result, and proposes any other in the next free slot (a retried request may
    /// so be chosen twice; replicas execute it once). Other servers point to the leader they
    /// know of.
    fn on_request<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        request: ClientRequest<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let req = request.req;
        let dedup = self.dedup();
        let ServerState {
            durable, role, sm, ..
        } = s;
        match role {
            Role::Leading { next, .. } => {
                let sm = sm.get_or(|| durable.state_machine(dedup));
                match sm.sessions.get(&client) {
                    Some((last, ret)) if *last == req => {
                        let ret = ret.clone();
                        o.send(client, MpMsg::Reply(ClientReply::Done { req, ret }));
                        return;
                    }
                    Some((last, _)) if *last > req => {
                        // An older request: the client has its answer and moved on.
                        return;
                    }
                    Some(_) | None => {
                        // A request not executed yet: propose it below.
                    }
                }
                if *next >= self.max_slots {
                    // The model's bound on slots: the client's retry timer may try again.
                    return;
                }
                let slot = *next;
                *next += 1;
                self.propose(me, s, slot, Entry::Cmd(request.command(client)), o);
            }
            Role::Preparing { .. } => {
                // About to lead: the client's retry timer sends the request again.
            }
            Role::Follower => match s.durable.promised.map(|b| b.proposer as usize) {
                Some(leader) if leader != me => {
                    let leader = Some(self.peers[leader]);
                    o.send(client, MpMsg::Reply(ClientReply::NotLeader { req, leader }));
                }
                Some(_) | None => {
                    // No leader known (this server's own ballot ended with a crash): no answer.
                    // The client's retry timer tries the next server.
                }
            },
        }
    }

    /// Phase 2b (§2.2): "If an acceptor receives an accept request for a proposal numbered n, it
    /// accepts the proposal unless it has already responded to a prepare request having a number
    /// greater than n." It saves before it answers; then, as a learner, it takes in the leader's
    /// commit point.
    #[allow(clippy::too_many_arguments)]
    fn on_accept<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        ballot: Ballot,
        slot: Slot,
        entry: Entry<K, V>,
        committed: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if self.accept(s, ballot, slot, entry, o) {
            o.send(src, MpMsg::Accepted { ballot, slot });
            self.restart_election_timer(s, o);
            self.learn_committed(s, ballot, committed, o);
        }
        // Otherwise promised a higher ballot (P1a): no answer.
    }

    /// The acceptor's Phase 2b decision; true if it accepted (and saved) the proposal.
    fn accept<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        slot: Slot,
        entry: Entry<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) -> bool {
        if s.durable.promised.is_some_and(|p| ballot < p) {
            return false;
        }
        let vote = Vote {
            slot,
            ballot,
            entry,
        };
        let votes = &mut s.durable.votes;
        match votes.binary_search_by_key(&slot, |v| v.slot) {
            Ok(i) if votes[i] == vote => {
                // A duplicate Accept of the proposal already accepted: nothing new to save.
                return true;
            }
            Ok(i) => votes.set(i, vote),
            Err(i) => votes.insert(i, vote),
        }
        self.promise(s, ballot, o);
        o.save(s.durable.clone());
        true
    }

    /// The leader learns that its proposal is chosen (§2.3): a majority of acceptors accepted
    /// it. It learns it; the other learners hear of it with its next Accept.
    fn on_accepted<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        from_server: usize,
        ballot: Ballot,
        slot: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading {
            ballot: leading,
            in_flight,
            ..
        } = &mut s.role
        else {
            // Not leading any more: a late Accepted.
            return;
        };
        if *leading != ballot {
            // An Accepted for an earlier ballot of this server.
            return;
        }
        let Some(i) = in_flight.iter().position(|p| p.slot == slot) else {
            // The slot is chosen already: an Accepted after the quorum.
            return;
        };
        in_flight[i].acks.insert(from_server);
        if in_flight[i].acks.len() < self.quorum() {
            return;
        }
        let entry = in_flight.remove(i).entry;
        self.learn(s, slot, entry, o);
    }

    /// A learner hears the leader's commit point (§3, carried by Accept and heartbeats): every
    /// slot below `committed` is chosen. For each such slot where it accepted this leader's
    /// proposal, it knows the chosen entry — the leader proposes one entry per slot in a ballot.
    fn learn_committed<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        committed: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        // Slots below the first unexecuted one need nothing: only the votes from there to the
        // commit point are looked at (not the whole history).
        let first = s.durable.executed.first_missing();
        let known: Vec<_> = votes_from(&s.durable.votes, first)
            .take_while(|v| v.slot < committed)
            .filter(|v| v.ballot == ballot || self.has(MpBug::CommitAnyBallot))
            .map(|v| (v.slot, v.entry.clone()))
            .collect();
        for (slot, entry) in known {
            self.learn(s, slot, entry, o);
        }
    }

    /// A heartbeat from the leader of `ballot`: unless this server promised a higher ballot, it
    /// adopts the ballot (as an Accept in it would make it), restarts its election timer, and
    /// learns up to the leader's commit point. If a slot below that point is still unknown (it
    /// missed the Accept, or holds an earlier ballot's vote there), it asks the leader for the
    /// chosen entries. (Not on every Accept: with Accepts overtaking each other, most gaps fill
    /// by themselves a moment later; the next heartbeat asks about those that do not.)
    fn on_heartbeat<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        leader: Id,
        ballot: Ballot,
        committed: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if self.has(MpBug::HeartbeatSetsPromise) && matches!(s.role, Role::Follower) {
            // The mutant follower follows whoever sends a heartbeat, lowering its promise if
            // need be.
            s.durable.promised = Some(ballot);
            o.save(s.durable.clone());
        } else if s.durable.promised.is_some_and(|p| ballot < p) {
            // A deposed leader's heartbeat: its commit point is still true, but this server
            // follows a higher ballot, and learns from that leader.
            return;
        }
        if s.durable.promised != Some(ballot) {
            // Missed this leader's Prepare: a ballot that reached Phase 2 is promised as an
            // Accept in it would be (saved: the promise is the acceptor's P1a state).
            self.promise(s, ballot, o);
            o.save(s.durable.clone());
        }
        self.restart_election_timer(s, o);
        self.learn_committed(s, ballot, committed, o);
        let from = s.durable.executed.first_missing();
        if from < committed {
            o.send(leader, MpMsg::CatchUp { from });
        }
    }

    /// A learner asks for the chosen entries from slot `from` on: the server answers with the
    /// entries it executed from there (each chosen), and its commit point.
    fn on_catch_up<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        learner: Id,
        from: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let committed = s.durable.executed.first_missing();
        if from >= committed {
            // This server knows no more than the learner.
            return;
        }
        if self.has(MpBug::OutOfOrder) {
            // The out-of-order mutant's log positions are not slots: it has no slot-ordered
            // entries to send.
            return;
        }
        assert_eq!(
            s.durable.log.len() as Slot,
            committed,
            "a replica executes slots in order, one log entry each"
        );
        let entries = s
            .durable
            .log
            .iter_from(from as usize)
            .map(|(_, entry)| entry.clone())
            .collect();
        o.send(
            learner,
            MpMsg::Chosen {
                from,
                entries,
                committed,
            },
        );
    }

    /// A learner receives chosen entries (§2.3): it learns each, and asks again if the sender's
    /// commit point is still ahead of it (a real run's answer may be cut to fit a datagram).
    fn on_chosen<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        from: Slot,
        entries: Vec<Entry<K, V>>,
        committed: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        for (slot, entry) in (from..).zip(entries) {
            self.learn(s, slot, entry, o);
        }
        let first = s.durable.executed.first_missing();
        if first < committed {
            o.send(src, MpMsg::CatchUp { from: first });
        }
    }

    /// A learner learns that `entry` is chosen for `slot`, and the replica executes every entry
    /// it can in slot order: it saves what it executed, then (if it leads) answers the clients.
    fn learn<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        slot: Slot,
        entry: Entry<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.executed.contains(slot) {
            // Executed already: the commit point of a later Accept covers it again.
            return;
        }
        let mut replies = Vec::new();
        if self.has(MpBug::OutOfOrder) {
            self.execute(s, slot, entry, &mut replies);
        } else {
            match s.pending.binary_search_by_key(&slot, |(sl, _)| *sl) {
                Ok(_) => {
                    // Learned already, and still waiting for an earlier slot.
                    return;
                }
                Err(i) => s.pending.insert(i, (slot, entry)),
            }
            while s
                .pending
                .first()
                .is_some_and(|(sl, _)| *sl == s.durable.executed.first_missing())
            {
                let (slot, entry) = s.pending.remove(0);
                self.execute(s, slot, entry, &mut replies);
            }
        }
        if s.durable.executed.contains(slot) {
            o.save(s.durable.clone());
        }
        for (client, reply) in replies {
            o.send(client, MpMsg::Reply(reply));
        }
    }

    /// The replica executes `entry` as its next entry; the leader will answer its client.
    fn execute<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        slot: Slot,
        entry: Entry<K, V>,
        replies: &mut Vec<(Id, ClientReply<V>)>,
    ) {
        let dedup = self.dedup();
        let ServerState { durable, sm, .. } = s;
        let ret = sm
            .get_mut_or(|| durable.state_machine(dedup))
            .apply(&entry, dedup);
        if let (Role::Leading { .. }, Entry::Cmd(cmd), Some(ret)) = (&s.role, &entry, ret) {
            replies.push((cmd.client, ClientReply::Done { req: cmd.req, ret }));
        }
        let position = s.durable.log.len() as Slot;
        s.durable.log.push((position, entry));
        s.durable.executed.insert(slot);
    }

    /// The election timer fired: unless leading, try to take over with a higher ballot.
    fn on_election_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        match &s.role {
            Role::Leading { ballot, .. } => {
                // Still the leader (a higher promise would have ended it): nothing to suspect.
                assert_eq!(
                    s.durable.promised,
                    Some(*ballot),
                    "a leader leads its promise"
                );
            }
            Role::Preparing { .. } | Role::Follower => self.prepare(me, s, o),
        }
    }

    /// The leader's heartbeat timer fired: it re-sends each proposal still in flight to the
    /// acceptors that have not accepted it (a lost Accept or Accepted), tells every server its
    /// commit point, and re-arms the timer (in a model, up to `heartbeats` times a ballot).
    fn on_heartbeat_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading {
            ballot,
            in_flight,
            beats,
            ..
        } = &mut s.role
        else {
            // Stepped down since the timer was set (stepping down cancels it; a timer that
            // fired in between finds a follower): nothing to send, and it is not re-armed.
            return;
        };
        let (ballot, committed) = (*ballot, s.durable.executed.first_missing());
        if self.heartbeats != UNBOUNDED {
            *beats += 1;
        }
        let rearm = *beats < self.heartbeats;
        for proposal in in_flight.iter() {
            for (i, peer) in self.peers.iter().enumerate() {
                if i != me && !proposal.acks.contains(i) {
                    o.send(
                        *peer,
                        MpMsg::Accept {
                            ballot,
                            slot: proposal.slot,
                            entry: proposal.entry.clone(),
                            committed,
                        },
                    );
                }
            }
        }
        for peer in self.others(me) {
            o.send(*peer, MpMsg::Heartbeat { ballot, committed });
        }
        if rearm {
            o.set_timer(MpTimer::Heartbeat, heartbeat_interval());
        }
    }
}

/// The votes an acceptor reports for the slots from `from` on.
fn votes_from<K, V>(
    votes: &SharedVec<Vote<K, V>>,
    from: Slot,
) -> impl Iterator<Item = &Vote<K, V>> {
    // Sorted by slot: the first vote at or after `from`, and all after it.
    let (Ok(start) | Err(start)) = votes.binary_search_by_key(&from, |v| v.slot);
    votes.iter_from(start)
}

impl<K: Value, V: Value> Actor for MpActor<K, V> {
    type Msg = MpMsg<K, V>;
    type State = MpState<K, V>;
    type Timer = MpTimer;
    type Random = ();
    type Storage = MpStorage<K, V>;

    fn name(&self) -> String {
        match self {
            Self::Server(_) => "Server".into(),
            Self::Client(_) => "Client".into(),
        }
    }

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Self::Server(server) => {
                let me = server.index_of(id).expect("a server is among its peers");
                let mut s = ServerState {
                    durable: storage.clone().unwrap_or_default(),
                    role: Role::Follower,
                    pending: Vec::new(),
                    sm: SmCache::default(),
                };
                if server.has(MpBug::ForgetVotes) {
                    s.durable.votes = SharedVec::new();
                }
                if storage.is_none() && server.max_round >= 1 {
                    // A fresh start begins where the first leader's Phase 1 ended: every
                    // acceptor promised ballot 1 of server 0 and had accepted nothing, so server
                    // 0 leads from slot 0 with nothing to re-propose. Saved at once, so that no
                    // recovery starts over.
                    let first = Ballot {
                        round: 1,
                        proposer: 0,
                    };
                    s.durable.promised = Some(first);
                    o.save(s.durable.clone());
                    if me == 0 {
                        s.role = Role::Leading {
                            ballot: first,
                            next: 0,
                            in_flight: Vec::new(),
                            beats: 0,
                        };
                        server.start_heartbeats(o);
                        return MpState::Server(s);
                    }
                }
                if s.durable.promised.map_or(0, |b| b.round) < server.max_round {
                    o.set_timer(MpTimer::Election, election_timeout());
                }
                MpState::Server(s)
            }
            Self::Client(client) => MpState::Client(client.on_start(o)),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (self, &**state) {
            (Self::Server(server), MpState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let from = server.index_of(src);
                // Handlers work on a copy; the state is replaced only if it changed, so that
                // Stateright recognises ignored messages as no-ops.
                let mut after = before.clone();
                let s = &mut after;
                match (msg, from) {
                    (MpMsg::Request(r), None) => server.on_request(me, s, src, r, o),
                    (MpMsg::Prepare { ballot, from }, Some(_)) => {
                        server.on_prepare(s, src, ballot, from, o)
                    }
                    (MpMsg::Promise { ballot, votes }, Some(from)) => {
                        server.on_promise(me, s, from, ballot, votes, o)
                    }
                    (
                        MpMsg::Accept {
                            ballot,
                            slot,
                            entry,
                            committed,
                        },
                        Some(_),
                    ) => server.on_accept(s, src, ballot, slot, entry, committed, o),
                    (MpMsg::Accepted { ballot, slot }, Some(from)) => {
                        server.on_accepted(s, from, ballot, slot, o)
                    }
                    (MpMsg::Heartbeat { ballot, committed }, Some(_)) => {
                        server.on_heartbeat(s, src, ballot, committed, o)
                    }
                    (MpMsg::CatchUp { from }, Some(_)) => server.on_catch_up(s, src, from, o),
                    (
                        MpMsg::Chosen {
                            from,
                            entries,
                            committed,
                        },
                        Some(_),
                    ) => server.on_chosen(s, src, from, entries, committed, o),
                    (MpMsg::Request(_), Some(_)) => {
                        // Servers send no requests: a request from a peer is not a client's.
                    }
                    (
                        MpMsg::Prepare { .. }
                        | MpMsg::Promise { .. }
                        | MpMsg::Accept { .. }
                        | MpMsg::Accepted { .. }
                        | MpMsg::Heartbeat { .. }
                        | MpMsg::CatchUp { .. }
                        | MpMsg::Chosen { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                    }
                    (MpMsg::Reply(_), _) => {
                        // Answers meant for clients; a server sends no requests.
                    }
                }
                if after != *before {
                    *state = Cow::Owned(MpState::Server(after));
                }
            }
            (Self::Client(client), MpState::Client(c)) => match msg {
                MpMsg::Reply(reply) => {
                    if let Some(next) = client.on_reply(c, &reply, o) {
                        *state = Cow::Owned(MpState::Client(next));
                    }
                }
                MpMsg::Request(_)
                | MpMsg::Prepare { .. }
                | MpMsg::Promise { .. }
                | MpMsg::Accept { .. }
                | MpMsg::Accepted { .. }
                | MpMsg::Heartbeat { .. }
                | MpMsg::CatchUp { .. }
                | MpMsg::Chosen { .. } => {
                    // Server messages; a client takes part in none of them.
                }
            },
            (Self::Server(_), MpState::Client(_)) | (Self::Client(_), MpState::Server(_)) => {
                unreachable!("an actor's state always matches its role")
            }
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        match (self, timer) {
            (Self::Server(server), MpTimer::Election) => {
                let me = server.index_of(id).expect("a server is among its peers");
                let MpState::Server(s) = state.to_mut() else {
                    unreachable!("servers have server state")
                };
                server.on_election_timeout(me, s, o);
            }
            (Self::Server(server), MpTimer::Heartbeat) => {
                let me = server.index_of(id).expect("a server is among its peers");
                let MpState::Server(s) = state.to_mut() else {
                    unreachable!("servers have server state")
                };
                server.on_heartbeat_timeout(me, s, o);
            }
            (Self::Client(client), MpTimer::Client(ClientRetry)) => {
                let MpState::Client(c) = &**state else {
                    unreachable!("clients have client state")
                };
                if let Some(next) = client.on_retry(c, o) {
                    *state = Cow::Owned(MpState::Client(next));
                }
            }
            (Self::Server(_), MpTimer::Client(_))
            | (Self::Client(_), MpTimer::Election | MpTimer::Heartbeat) => {
                // Each role sets only its own timer.
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// The model's log entries: commands on keys and values that are letters.
pub type ModelEntry = Entry<ModelKey, ModelValue>;

/// The model's votes.
pub type ModelVote = Vote<ModelKey, ModelValue>;

/// The client history checked for linearizability against the key-value specification.
pub type MpHistory = KvHistory<ModelKey, ModelValue>;

/// The model's actor.
pub type MpModelActor = MpActor<ModelKey, ModelValue>;

/// The checked model.
pub type MpModel = ClusterModel<MpModelActor, MultiPaxosConfig, MpHistory>;

/// A state of the checked model.
pub type MpModelState = ActorModelState<MpModelActor, MpHistory>;

/// The configuration of a Multi-Paxos model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiPaxosConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest ballot round a server may start (`--max-round`).
    pub max_round: u32,
    /// Operations per client (`--requests`): put, then cas, then get, then again.
    pub requests: usize,
    /// Retries per request, each to the next server (`--retries`).
    pub retries: u8,
    /// Slots a leader may propose in (`--max-slots`); by default one per request plus one, so
    /// that a retried request can be chosen twice.
    pub max_slots: Option<Slot>,
    /// Heartbeat timeouts per ballot of a leader (`--heartbeats`): each re-sends the unanswered
    /// Accepts and sends heartbeats, on which learners catch up. 0: none.
    pub heartbeats: u32,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<MpBug>,
}

impl Default for MultiPaxosConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig::default(),
            max_round: 2,
            requests: 1,
            retries: 0,
            max_slots: None,
            heartbeats: 0,
            bug: None,
        }
    }
}

impl MultiPaxosConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        if self.requests > u8::MAX as usize {
            return Err(format!(
                "--requests must be at most {}, got {}",
                u8::MAX,
                self.requests
            ));
        }
        if self.heartbeats == UNBOUNDED {
            return Err(format!(
                "--heartbeats must be below {UNBOUNDED} (that value means unbounded, in real runs)"
            ));
        }
        if self.slots() > MAX_SLOTS {
            return Err(format!(
                "--max-slots must be at most {MAX_SLOTS}, got {}",
                self.slots()
            ));
        }
        Ok(())
    }

    /// The slot bound in effect.
    pub fn slots(&self) -> Slot {
        self.max_slots
            .unwrap_or((self.cluster.clients * self.requests + 1) as Slot)
    }

    /// Builds the model: servers `0..n`, then clients; client `c` sends its first request to
    /// server `c mod n`. Server 0 starts Phase 1 at once; the others may take over when their
    /// election timer fires.
    pub fn into_model(self) -> MpModel {
        let n = self.cluster.servers;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let server = MpServer {
            peers: peers.clone(),
            max_round: self.max_round,
            max_slots: self.slots(),
            heartbeats: self.heartbeats,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| {
                MpActor::Client(KvClient {
                    servers: peers.clone(),
                    ops: client_ops(c, self.requests),
                    first: c % n,
                    max_retries: self.retries,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let heartbeats = self.heartbeats > 0;
        let inner = ActorModel::new(self, ClientHistory::new(KvSpec::default()))
            .actors((0..n).map(|_| MpActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_request)
            .record_msg_in(record_reply)
            .within_boundary(one_ballot_per_round);
        let model = ClusterModel::new(inner, n)
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| s.history.is_linearizable())
            .sometimes("Commit", committed)
            .sometimes("Leader change", |m, s| leader_changed(m, s).is_some());
        if heartbeats {
            // Only heartbeats make learners ask: without them the catch-up is never exercised.
            model.sometimes("Catch-up", |_, s| caught_up(s))
        } else {
            model
        }
    }
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

/// The model's bound besides `max_round`: no two ballots share a round. Runs where two
/// servers start the same round are left out; the same contention is explored one round apart.
/// Within this bound ballots compare by round alone, so renumbering servers changes no
/// comparison (which keeps symmetry reduction exact).
fn one_ballot_per_round(_: &MultiPaxosConfig, state: &MpModelState) -> bool {
    let mut seen: Vec<Ballot> = Vec::new();
    let mut fresh = |b: Ballot| match seen.iter().find(|s| s.round == b.round) {
        Some(s) => *s == b,
        None => {
            seen.push(b);
            true
        }
    };
    let servers = state.actor_states.iter().filter_map(|s| match &**s {
        MpState::Server(s) => Some(s),
        MpState::Client(_) => None,
    });
    for s in servers {
        if !s.durable.promised.is_none_or(&mut fresh)
            || !s.durable.votes.iter().all(|v| fresh(v.ballot))
        {
            return false;
        }
    }
    let mut in_flight = |msg: &MpMsg<ModelKey, ModelValue>| match msg {
        MpMsg::Prepare { ballot, .. }
        | MpMsg::Promise { ballot, .. }
        | MpMsg::Accept { ballot, .. }
        | MpMsg::Accepted { ballot, .. }
        | MpMsg::Heartbeat { ballot, .. } => fresh(*ballot),
        MpMsg::Request(_) | MpMsg::Reply(_) | MpMsg::CatchUp { .. } | MpMsg::Chosen { .. } => true,
    };
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .all(|(env, _)| in_flight(env.msg))
}

/// The servers' states, in index order.
fn servers<'a>(
    model: &MpModel,
    state: &'a MpModelState,
) -> impl Iterator<Item = &'a ServerState<ModelKey, ModelValue>> {
    state.actor_states[..model.servers]
        .iter()
        .map(|s| match &**s {
            MpState::Server(s) => s,
            MpState::Client(_) => unreachable!("actors 0..servers are servers"),
        })
}

/// Reachability: some replica executed a client command.
fn committed(model: &MpModel, state: &MpModelState) -> bool {
    servers(model, state).any(|s| {
        s.durable
            .log
            .iter()
            .any(|(_, e)| matches!(e, Entry::Cmd(_)))
    })
}

/// Reachability of a learner's catch-up: a server answered a [`MpMsg::CatchUp`] with chosen
/// entries.
fn caught_up(state: &MpModelState) -> bool {
    let answer = |msg: &MpMsg<ModelKey, ModelValue>| matches!(msg, MpMsg::Chosen { entries, .. } if !entries.is_empty());
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .any(|(env, _)| answer(env.msg))
}

/// The vote a majority of acceptors hold for `slot` right now, if any: the entry is chosen in
/// that ballot.
fn chosen_vote<'a>(
    model: &MpModel,
    state: &'a MpModelState,
    slot: Slot,
) -> Option<&'a Vote<ModelKey, ModelValue>> {
    let votes: Vec<_> = servers(model, state)
        .filter_map(|s| s.durable.votes.iter().find(|v| v.slot == slot))
        .collect();
    votes
        .iter()
        .find(|v| votes.iter().filter(|w| w == v).count() >= majority(model.servers))
        .copied()
}

/// Reachability of a leader change: a client command chosen in a ballot of one leader, and a
/// command in a later slot chosen in a higher ballot of another leader and executed by a replica.
/// Returns the two votes.
pub fn leader_changed<'a>(
    model: &MpModel,
    state: &'a MpModelState,
) -> Option<(&'a ModelVote, &'a ModelVote)> {
    let chosen: Vec<_> = (0..model.cfg().slots())
        .filter_map(|slot| chosen_vote(model, state, slot))
        .filter(|v| matches!(v.entry, Entry::Cmd(_)))
        .collect();
    chosen.iter().enumerate().find_map(|(i, early)| {
        chosen[i + 1..]
            .iter()
            .find(|late| {
                late.ballot > early.ballot
                    && late.ballot.proposer != early.ballot.proposer
                    && servers(model, state)
                        .any(|s| s.durable.log.iter().any(|(_, e)| *e == late.entry))
            })
            .map(|late| (*early, *late))
    })
}

/// The consensus view of a model state: replicas' executed entries, clients' commands.
pub struct View<'a>(pub &'a MpModel, pub &'a MpModelState);

impl View<'_> {
    fn server(&self, server: usize) -> &ServerState<ModelKey, ModelValue> {
        match &*self.1.actor_states[server] {
            MpState::Server(s) => s,
            MpState::Client(_) => unreachable!("actors 0..servers are servers"),
        }
    }
}

impl ConsensusView for View<'_> {
    type Value = ModelEntry;

    fn server_count(&self) -> usize {
        self.0.servers
    }

    fn decision_log(&self, server: usize) -> &[(Slot, ModelEntry)] {
        self.server(server).durable.log.as_slice()
    }

    /// A no-op (a new leader's gap filler) or a command some client issued.
    fn is_proposed(&self, entry: &ModelEntry) -> bool {
        match entry {
            Entry::Noop => true,
            Entry::Cmd(cmd) => self
                .0
                .inner
                .actors
                .get(usize::from(cmd.client))
                .is_some_and(|a| matches!(a, MpActor::Client(c) if c.issued(cmd.client, cmd))),
        }
    }

    fn reapplied(&self, server: usize) -> Option<(ClientId, RequestId)> {
        let dedup = self.0.cfg().bug != Some(MpBug::NoDedup);
        self.server(server)
            .durable
            .state_machine(dedup)
            .reapplied
            .map(|(client, req)| (usize::from(client), req))
    }
}

/// Why `state` violates `property`, in words, for counterexamples.
pub fn explain(model: &MpModel, state: &MpModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by the \
             key-value specification (compare what each client was told in the final state)"
                .into(),
        ),
        "Commit" => Some("no reachable state has a client command executed".into()),
        "Leader change" => Some(
            "no reachable state has a command chosen by a second leader after one chosen by the \
             first"
                .into(),
        ),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}

// ---------------------------------------------------------------------------------------------
// Symmetry
// ---------------------------------------------------------------------------------------------
//
// `cluster::server_symmetry` renumbers servers; every server identity below goes through the
// plan: ballots' proposer indices, quorum bit sets, and (in `kv`) client targets and leader
// hints. Clients keep their numbers.

impl Rewrite<Id> for Ballot {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Ballot {
            round: self.round,
            proposer: rewrite_server_index(self.proposer, plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for Vote<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Vote {
            slot: self.slot,
            ballot: self.ballot.rewrite(plan),
            entry: self.entry.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpMsg<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            MpMsg::Request(r) => MpMsg::Request(r.rewrite(plan)),
            MpMsg::Reply(r) => MpMsg::Reply(r.rewrite(plan)),
            MpMsg::Prepare { ballot, from } => MpMsg::Prepare {
                ballot: ballot.rewrite(plan),
                from: *from,
            },
            MpMsg::Promise { ballot, votes } => MpMsg::Promise {
                ballot: ballot.rewrite(plan),
                votes: votes.rewrite(plan),
            },
            MpMsg::Accept {
                ballot,
                slot,
                entry,
                committed,
            } => MpMsg::Accept {
                ballot: ballot.rewrite(plan),
                slot: *slot,
                entry: entry.rewrite(plan),
                committed: *committed,
            },
            MpMsg::Accepted { ballot, slot } => MpMsg::Accepted {
                ballot: ballot.rewrite(plan),
                slot: *slot,
            },
            MpMsg::Heartbeat { ballot, committed } => MpMsg::Heartbeat {
                ballot: ballot.rewrite(plan),
                committed: *committed,
            },
            MpMsg::CatchUp { from } => MpMsg::CatchUp { from: *from },
            MpMsg::Chosen {
                from,
                entries,
                committed,
            } => MpMsg::Chosen {
                from: *from,
                entries: entries.rewrite(plan),
                committed: *committed,
            },
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpStorage<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        MpStorage {
            promised: self.promised.rewrite(plan),
            votes: self.votes.iter().map(|v| v.rewrite(plan)).collect(),
            // Entries name clients only, and clients keep their ids under server symmetry
            // (`cluster::server_symmetry`): the log is shared, not copied.
            log: self.log.clone(),
            executed: self.executed,
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for InFlight<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        InFlight {
            slot: self.slot,
            entry: self.entry.rewrite(plan),
            acks: self.acks.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for Role<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Role::Follower => Role::Follower,
            Role::Preparing {
                ballot,
                from,
                promises,
                reports,
            } => Role::Preparing {
                ballot: ballot.rewrite(plan),
                from: *from,
                promises: promises.rewrite(plan),
                reports: reports.rewrite(plan),
            },
            Role::Leading {
                ballot,
                next,
                in_flight,
                beats,
            } => Role::Leading {
                ballot: ballot.rewrite(plan),
                next: *next,
                in_flight: in_flight.rewrite(plan),
                beats: *beats,
            },
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpState<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            MpState::Server(s) => MpState::Server(ServerState {
                durable: s.durable.rewrite(plan),
                role: s.role.rewrite(plan),
                pending: s.pending.rewrite(plan),
                sm: s.sm.clone(),
            }),
            MpState::Client(c) => MpState::Client(c.rewrite(plan)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{NetworkKind, server_symmetry};
    use stateright::{Checker, Expectation, HasDiscoveries, Model, StateRecorder};
    use std::collections::{HashSet, VecDeque};

    fn cfg(
        clients: usize,
        requests: usize,
        max_round: u32,
        network: NetworkKind,
        crashes: usize,
        bug: Option<MpBug>,
    ) -> MultiPaxosConfig {
        MultiPaxosConfig {
            cluster: ClusterConfig {
                clients,
                network,
                crashes,
                ..Default::default()
            },
            max_round,
            requests,
            bug,
            ..Default::default()
        }
    }

    /// Runs single-threaded BFS to the end; every "always" property must hold. Returns the
    /// unique state count and the "sometimes" properties witnessed.
    fn exhaustive(c: MultiPaxosConfig) -> (usize, Vec<&'static str>) {
        let checker = c.into_model().checker().spawn_bfs().join();
        assert!(checker.is_done());
        let mut witnessed = Vec::new();
        for p in checker.model().properties() {
            let found = checker.discovery(p.name).is_some();
            match p.expectation {
                Expectation::Sometimes if found => witnessed.push(p.name),
                Expectation::Sometimes => {}
                _ => assert!(!found, "{} violated", p.name),
            }
        }
        (checker.unique_state_count(), witnessed)
    }

    /// Unique state counts of small configurations, pinned so that a behaviour change is seen.
    #[test]
    fn correct_multi_paxos_holds_with_pinned_state_counts() {
        use NetworkKind::*;
        // One ballot (no takeover): commits, but no leader change.
        assert_eq!(
            exhaustive(cfg(2, 1, 1, Unordered, 0, None)),
            (563, vec!["Commit"])
        );
        assert_eq!(
            exhaustive(cfg(2, 1, 1, Ordered, 0, None)),
            (381, vec!["Commit"])
        );
        assert_eq!(
            exhaustive(cfg(2, 1, 1, Unordered, 1, None)),
            (4_504, vec!["Commit"])
        );
        // One client, put then cas, one takeover: a command commits after a leader change.
        assert_eq!(
            exhaustive(cfg(1, 2, 2, Unordered, 0, None)),
            (63_431, vec!["Commit", "Leader change"])
        );
        // Heartbeats (one per ballot): re-sent Accepts, commit points, and learners catching up
        // on entries they missed.
        let heartbeats = MultiPaxosConfig {
            heartbeats: 1,
            ..cfg(1, 1, 2, Unordered, 0, None)
        };
        assert_eq!(
            exhaustive(heartbeats),
            (334_119, vec!["Commit", "Catch-up"])
        );
    }

    /// The property `bug` breaks, and the length of the counterexample single-threaded BFS finds.
    fn violated(c: MultiPaxosConfig) -> (&'static str, usize) {
        let checker = c
            .into_model()
            .checker()
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let (name, path) = checker
            .model()
            .properties()
            .iter()
            .filter(|p| p.expectation == Expectation::Always)
            .find_map(|p| checker.discovery(p.name).map(|d| (p.name, d)))
            .expect("the checker finds a counterexample");
        (name, path.into_actions().len())
    }

    /// The default configuration with a bug's catalogued extra flags applied.
    fn with_catalog_args(bug: MpBug) -> MultiPaxosConfig {
        let mut c = MultiPaxosConfig {
            bug: Some(bug),
            ..Default::default()
        };
        for pair in bug.info().args.chunks(2) {
            match pair {
                ["--crashes", n] => c.cluster.crashes = n.parse().unwrap(),
                ["--retries", n] => c.retries = n.parse().unwrap(),
                ["--requests", n] => c.requests = n.parse().unwrap(),
                ["--heartbeats", n] => c.heartbeats = n.parse().unwrap(),
                other => panic!("unexpected catalog args {other:?}"),
            }
        }
        c
    }

    #[test]
    fn every_bug_is_caught_breaking_its_catalogued_property() {
        for (bug, info) in BUGS {
            let (property, steps) = violated(with_catalog_args(*bug));
            assert_eq!(property, info.breaks, "bug {}", info.name);
            assert!(steps >= 3, "bug {}: {steps} steps", info.name);
        }
    }

    /// Forgetting votes needs a crash: without one, the mutant is the correct protocol.
    #[test]
    fn forget_votes_is_harmless_without_crashes() {
        let c = cfg(1, 2, 2, NetworkKind::Unordered, 0, Some(MpBug::ForgetVotes));
        assert_eq!(exhaustive(c).0, 63_431);
    }

    #[test]
    fn a_model_without_a_leader_fails_the_commit_property() {
        let (_, witnessed) = exhaustive(cfg(2, 1, 0, NetworkKind::Unordered, 0, None));
        assert!(witnessed.is_empty(), "{witnessed:?}");
    }

    #[test]
    fn bug_names_round_trip() {
        for (bug, info) in BUGS {
            assert_eq!(MpBug::from_name(info.name), Some(*bug));
            assert_eq!(bug.info().name, info.name);
        }
        assert_eq!(MpBug::from_name("nope"), None);
    }

    fn symmetric_dfs(c: MultiPaxosConfig) -> impl Checker<MpModel> {
        c.into_model()
            .checker()
            .symmetry_fn(server_symmetry)
            .spawn_dfs()
            .join()
    }

    /// Symmetry reduction (DFS) explores fewer states, and still finds every bug.
    #[test]
    fn symmetry_reduces_states_and_still_finds_the_bugs() {
        let c = cfg(1, 2, 2, NetworkKind::Unordered, 0, None);
        let reduced = symmetric_dfs(c.clone());
        reduced.assert_properties();
        assert_eq!(reduced.unique_state_count(), 31_570);
        let plain = c.into_model().checker().spawn_dfs().join();
        assert_eq!(plain.unique_state_count(), 63_431);
        for (bug, info) in BUGS {
            let checker = with_catalog_args(*bug)
                .into_model()
                .checker()
                .symmetry_fn(server_symmetry)
                .finish_when(HasDiscoveries::AnyFailures)
                .spawn_dfs()
                .join();
            assert!(
                checker.discovery(info.breaks).is_some(),
                "bug {} not found with symmetry",
                info.name
            );
        }
    }

    /// Symmetry reduction is sound only if renumbering servers maps runs to runs. Check it on
    /// small configurations: every class of reachable states (plain search; a class is a state
    /// and its renumberings) has a member among the states the reduced search visited.
    #[test]
    fn symmetry_reduction_visits_every_class_of_reachable_states() {
        for (c, states) in [
            (cfg(2, 1, 1, NetworkKind::Unordered, 1, None), 4_504),
            (cfg(1, 2, 2, NetworkKind::Unordered, 0, None), 63_431),
        ] {
            let (all, visited, reduced) = classes_and_reduced(c);
            assert_eq!(all.0, states);
            assert!(
                reduced < all.0,
                "{reduced} states with symmetry, {} without",
                all.0
            );
            assert_eq!(visited, all.1);
        }
    }

    /// The class of `state`: the least hash among its renumberings of servers.
    fn class_of(servers: usize, state: &MpModelState) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let mut best = u64::MAX;
        let mut perm: Vec<usize> = (0..servers).collect();
        permutations(&mut perm, 0, &mut |perm| {
            // Sorting these keys moves server i to position perm[i]; clients stay.
            let keys: Vec<(usize, usize)> = (0..state.actor_states.len())
                .map(|i| if i < servers { (0, perm[i]) } else { (1, i) })
                .collect();
            let plan = RewritePlan::<Id, _>::from_values_to_sort(&keys);
            let renumbered = MpModelState {
                actor_states: plan.reindex(&state.actor_states),
                network: state.network.rewrite(&plan),
                timers_set: plan.reindex(&state.timers_set),
                random_choices: plan.reindex(&state.random_choices),
                crashed: plan.reindex(&state.crashed),
                actor_storages: plan.reindex(&state.actor_storages),
                history: state.history.clone(),
            };
            let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(&renumbered);
            best = best.min(h);
        });
        best
    }

    fn permutations(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == v.len() {
            return f(v);
        }
        for i in k..v.len() {
            v.swap(k, i);
            permutations(v, k + 1, f);
            v.swap(k, i);
        }
    }

    /// The reachable states (plain BFS) and their classes, the classes the symmetric DFS
    /// visited, and its unique state count.
    // States hold `SharedVec`s, whose lazily built flat copy is interior mutability that
    // changes neither hash nor equality.
    #[allow(clippy::type_complexity, clippy::mutable_key_type)]
    fn classes_and_reduced(c: MultiPaxosConfig) -> ((usize, HashSet<u64>), HashSet<u64>, usize) {
        let model = c.clone().into_model();
        let n = model.servers;
        let mut seen = HashSet::new();
        let mut queue: VecDeque<_> = model.init_states().into();
        for s in &queue {
            seen.insert(s.clone());
        }
        let mut actions = Vec::new();
        while let Some(s) = queue.pop_front() {
            model.actions(&s, &mut actions);
            for a in actions.drain(..) {
                if let Some(next) = model.next_state(&s, a)
                    && model.within_boundary(&next)
                    && seen.insert(next.clone())
                {
                    queue.push_back(next);
                }
            }
        }
        let classes: HashSet<u64> = seen.iter().map(|s| class_of(n, s)).collect();
        let (recorder, visited) = StateRecorder::new_with_accessor();
        let reduced = c
            .into_model()
            .checker()
            .symmetry_fn(server_symmetry)
            .visitor(recorder)
            .spawn_dfs()
            .join();
        let visited_classes = visited().iter().map(|s| class_of(n, s)).collect();
        (
            (seen.len(), classes),
            visited_classes,
            reduced.unique_state_count(),
        )
    }

    #[test]
    fn slot_sets_and_client_ops() {
        let mut set = SlotSet::default();
        assert_eq!(set.first_missing(), 0);
        set.insert(0);
        set.insert(2);
        assert!(set.contains(2) && !set.contains(1));
        assert_eq!(set.first_missing(), 1);
        set.insert(1);
        assert_eq!(set.first_missing(), 3);
        assert!(set.contains(0) && set.contains(2) && !set.contains(3));
        // A real run executes far beyond 32 slots, in order.
        let mut long = SlotSet::default();
        for slot in 0..1000 {
            long.insert(slot);
        }
        assert_eq!(long.first_missing(), 1000);
        assert!(long.contains(999) && !long.contains(1000));
        assert_eq!(client_ops(0, 1), vec![KvOp::Put('x', 'A')]);
        assert_eq!(client_ops(1, 2), vec![KvOp::Get('x'), KvOp::Put('x', 'B')]);
    }
}
