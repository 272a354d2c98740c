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
//! Not in the paper, which keeps every vote: **log compaction** (`--compact`; real runs every
//! `--snapshot-every` executed slots, as Raft's snapshots, §7). A server discards its votes in
//! the slots it executed ([`MpStorage::compacted`]); a Promise reports that point, and a new
//! leader learns the slots below it instead of proposing in them ([`MpMsg::Promise`]).
//!
//! A replica's *decision event* (what [`ConsensusView::decision_log`] shows) is its state
//! machine executing an entry: the `i`-th entry it executes is its decision for slot `i`. A
//! correct replica executes Paxos slot `i` as its `i`-th entry, so Agreement over these events is
//! Raft's *State Machine Safety*: no two replicas execute different entries at the same
//! position. Integrity says a replica executes each position once and never changes it, and never
//! executes a request twice.
//!
//! The files read in the paper's order: this one (types, messages, state), `bugs` (the
//! catalog of mutants), `server` (the handlers — Phase 1, Phase 2, learning and catch-up —
//! then the clients' requests, the timers, and the [`Actor`]), `symmetry`, `model`
//! (configuration, bounds, client history and the properties), `tests`.
//!
//! The same actor runs in the model checker ([`MultiPaxosConfig::into_model`]) and, later, over
//! UDP: handlers only receive messages and emit commands (send, set timer, save).

use crate::byzantine::Byzantine;
use crate::cluster::{
    BugInfo, ClusterConfig, ClusterModel, Discarded, ServerRole, ServerSet, lossy,
    rewrite_server_index, without_saves,
};
pub use crate::kv::AppliedBase;
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, Entry, KvClient, KvClientState, KvHistory, KvMsg,
    KvStateMachine, ModelKey, ModelValue, ReadRounds, SmCache, WaitingRead, logged_ops,
    read_answer, read_answered, record_reply, record_request,
};
pub use crate::paxos::{Ballot, Value};
use crate::shared_vec::SharedVec;
use ballot_properties::kv::{KvOp, KvSpec};
use ballot_properties::linearizability::{ClientHistory, ClientId, RequestId};
use ballot_properties::{self as props, ConsensusView, Slot, majority};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt::Debug;
use std::ops::Range;
use std::sync::Arc;
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

pub use crate::cluster::UNBOUNDED;

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

    /// Every slot below `end`, and no other.
    pub fn below(end: Slot) -> Self {
        SlotSet {
            base: end,
            window: 0,
        }
    }
}

/// A compaction point (`--compact`; real runs): every slot below it is chosen, executed by the
/// replica that reports it, and its votes there are discarded ([`MpStorage::compacted`],
/// [`MpMsg::Promise`]'s `compacted`). 0: nothing compacted.
///
/// It hashes nothing when 0: a model without compaction hashes its states and messages exactly
/// as before the field existed (Stateright orders a state's next actions by the hashes of the
/// messages in flight, and saved traces replay by action index).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Compacted(pub Slot);

impl Compacted {
    /// Whether nothing is compacted (then not serialized).
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }
}

impl std::hash::Hash for Compacted {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if self.0 != 0 {
            self.0.hash(state);
        }
    }
}

/// A real replica's executed entries folded into their state machine ([`AppliedBase`]), so that
/// its storage does not grow with every entry ever executed; `None` in the model, whose
/// properties read every executed entry ([`MpStorage::log`]). Hashes nothing when `None`, as
/// [`Compacted`] when 0.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LogBase<K, V>(pub Option<AppliedBase<K, V>>);

impl<K, V> LogBase<K, V> {
    /// Nothing folded (what a missing field reads as).
    pub fn none() -> Self {
        LogBase(None)
    }

    /// Whether nothing is folded (then not serialized).
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// How many executed entries are folded.
    pub fn count(&self) -> Slot {
        self.0.as_ref().map_or(0, |b| {
            Slot::try_from(b.count).expect("a base folds at most as many entries as slots")
        })
    }
}

impl<K: std::hash::Hash, V: std::hash::Hash> std::hash::Hash for LogBase<K, V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if let Some(base) = &self.0 {
            base.hash(state);
        }
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
    /// `ballot`, with every proposal the acceptor accepted in slots from `from` on — except
    /// in the slots below `compacted`, whose votes it discarded (log compaction, not in the
    /// paper): those are chosen, and the leader must learn them, not propose in them.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The acceptor's votes in the prepared slots (from `compacted` on, if that is later).
        votes: Vec<Vote<K, V>>,
        /// The acceptor's compaction point ([`MpStorage::compacted`]).
        #[serde(default, skip_serializing_if = "Compacted::is_zero")]
        compacted: Compacted,
    },
    /// Phase 2a, leader → acceptors: accept `entries[i]` for slot `slot + i` in `ballot` — one
    /// proposal per slot (§3), several in one message when the leader batches
    /// ([`MpServer::batch`]). It also tells the learners what is chosen (§2.3, §3): every slot
    /// below `committed` is.
    Accept {
        /// The ballot.
        ballot: Ballot,
        /// The slot of `entries[0]`.
        slot: Slot,
        /// The entries proposed, for slots `slot`, `slot + 1`, …
        entries: Vec<Entry<K, V>>,
        /// The leader's commit point: the first slot it has not executed.
        committed: Slot,
        /// The leader's latest read confirmation round ([`ReadRounds`]), echoed in the
        /// answer. Not in the paper.
        #[serde(default)]
        read_round: u64,
    },
    /// Phase 2b, acceptor → leader: the acceptor accepted the proposals of an Accept in
    /// `ballot`, for the `count` slots from `slot` on. It says nothing of other slots: an
    /// acceptor may have missed an earlier Accept.
    Accepted {
        /// The ballot.
        ballot: Ballot,
        /// The first slot accepted.
        slot: Slot,
        /// How many slots were accepted, from `slot` on (the Accept's entries).
        count: Slot,
        /// The Accept's `read_round`: the acceptor had promised no higher ballot after that
        /// round started.
        #[serde(default)]
        read_round: u64,
    },
    /// Leader → the other servers, on its heartbeat timer (real runs, and models run with
    /// `--heartbeats N`): "I still lead `ballot`; every slot below `committed` is chosen". Not in
    /// the paper, which leaves leader election and failure detection open (§2.4, §3); it is the
    /// learners' commit point of an idle leader, and it holds off the followers' election timers.
    /// A heartbeat of a read round (`read_round` above 0) is answered ([`MpMsg::HeartbeatOk`]);
    /// a leader with reads waiting sends one to start a confirmation round.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// The leader's commit point: the first slot it has not executed.
        committed: Slot,
        /// The leader's latest read confirmation round ([`ReadRounds`]), echoed in the answer.
        #[serde(default)]
        read_round: u64,
    },
    /// Acceptor → leader, answering a [`MpMsg::Heartbeat`] it did not ignore: it has promised
    /// no ballot above the leader's (not in the paper; what confirms a leader's reads).
    HeartbeatOk {
        /// The leader's ballot.
        ballot: Ballot,
        /// The heartbeat's `read_round`.
        read_round: u64,
    },
    /// Learner → a server that knows more: "send me the entries chosen from slot `from` on". A
    /// learner that missed Accepts (lost, or sent while it was down) cannot learn those slots
    /// from its own votes (§2.3: "a learner can find out what value has been chosen by asking").
    CatchUp {
        /// The first slot the learner has not executed.
        from: Slot,
    },
    /// Answer to [`MpMsg::CatchUp`]: the entries the sender executed from slot `from` on, in
    /// slot order (each is chosen: a replica executes chosen entries only). A real replica that
    /// folded the slots the learner lacks into its state machine sends that first (`base`):
    /// the learner's state machine then starts from it, and `from` is the slot after it.
    Chosen {
        /// The slot of `entries[0]`.
        from: Slot,
        /// The chosen entries of slots `from`, `from + 1`, …
        entries: Vec<Entry<K, V>>,
        /// The sender's commit point: slots below it are chosen, and the sender knows them (a
        /// real run may send fewer entries than that to fit a datagram; the learner asks again).
        committed: Slot,
        /// The state machine of the slots below `from` (real runs; `None` in the model and
        /// whenever the learner's slots are not folded at the sender).
        #[serde(default = "LogBase::none", skip_serializing_if = "LogBase::is_none")]
        base: LogBase<K, V>,
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
            | MpMsg::HeartbeatOk { .. }
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
            | MpMsg::HeartbeatOk { .. }
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
    /// A batching leader ([`MpServer::batch`]) has proposals whose Accept it has not sent. Set
    /// while it has; a real node's fires at once, after the messages already queued (so one
    /// Accept carries the proposals of a whole batch); in the model it fires at any moment.
    Propose,
    /// `--compact`: a server that executed slots beyond its compaction point may discard its
    /// votes there ([`MpStorage::compacted`]); set while it has. Real nodes compact by count
    /// instead ([`MpServer::compact_when`]).
    Compact,
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

/// How long a batching leader waits before it sends the Accepts of its new proposals
/// ([`MpTimer::Propose`]): not at all; a real node fires the timer in the batch that set it,
/// after that batch's datagrams.
pub fn propose_interval() -> Range<Duration> {
    Duration::ZERO..Duration::ZERO
}

/// The most proposals a real leader puts in one Accept ([`MpServer::batch`]); more wait for the
/// next Accept, sent at once.
pub const ACCEPT_BATCH_MAX: usize = 64;

/// How long a server with executed slots beyond its compaction point waits before it compacts
/// (the model ignores durations; real nodes compact by count, [`MpServer::compact_when`]).
pub fn compact_interval() -> Range<Duration> {
    Duration::from_millis(1000)..Duration::from_millis(2000)
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
    /// Replica: the Paxos slots executed (`0..log.len()` for a correct replica, after those
    /// folded into `log_base`).
    pub executed: SlotSet,
    /// Acceptor: its votes in the slots below this are discarded (log compaction, `--compact`;
    /// real runs): each of those slots is chosen, and this replica executed it. The votes of a
    /// chosen slot matter only to a Phase 1 that might re-propose in it; a Promise reports this
    /// point instead, and the new leader learns those slots rather than proposing in them.
    #[serde(default, skip_serializing_if = "Compacted::is_zero")]
    pub compacted: Compacted,
    /// Replica (real runs): the first entries of the log, folded into their state machine; the
    /// log holds the entries executed after them.
    #[serde(default = "LogBase::none", skip_serializing_if = "LogBase::is_none")]
    pub log_base: LogBase<K, V>,
}

impl<K, V> Default for MpStorage<K, V> {
    fn default() -> Self {
        Self {
            promised: None,
            votes: SharedVec::new(),
            log: SharedVec::new(),
            executed: SlotSet::default(),
            compacted: Compacted(0),
            log_base: LogBase(None),
        }
    }
}

impl<K: Value, V: Value> MpStorage<K, V> {
    /// The state machine after executing the log (with or without request deduplication), from
    /// the folded entries' state machine if there are any.
    pub fn state_machine(&self, dedup: bool) -> KvStateMachine<K, V> {
        let mut sm = self
            .log_base
            .0
            .as_ref()
            .map_or_else(KvStateMachine::default, |b| {
                KvStateMachine::from_snapshot(&b.sm)
            });
        for (_, entry) in self.log.iter() {
            sm.apply(entry, dedup);
        }
        sm
    }

    /// How many entries the replica executed: those folded into `log_base` and those of `log`.
    pub fn executed_count(&self) -> Slot {
        self.log_base.count() + self.log.len() as Slot
    }

    /// Log compaction (not in the paper): the acceptor discards its votes in the slots the
    /// replica executed, which are chosen, and [`Self::compacted`] moves up to the first slot
    /// not executed.
    pub fn compact(&mut self)
    where
        K: Clone,
        V: Clone,
    {
        let upto = self.executed.first_missing();
        if upto <= self.compacted.0 {
            return;
        }
        self.votes = votes_from(&self.votes, upto).cloned().collect();
        self.compacted = Compacted(upto);
    }

    /// Folds every executed entry into `sm`, their state machine (a real node, with
    /// [`Self::compact`]: the log is then emptied and its storage stays bounded);
    /// [`Self::executed_count`] is unchanged.
    pub fn fold_log(&mut self, sm: &KvStateMachine<K, V>) {
        self.log_base = LogBase(Some(AppliedBase {
            count: u64::from(self.executed_count()),
            sm: Arc::new(sm.to_snapshot()),
        }));
        self.log = SharedVec::new();
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
        /// The highest compaction point reported so far: the slots below it are chosen.
        compacted: Compacted,
    },
    /// Phase 1 done: the leader proposes in slots from `next` on, one Phase 2 per command.
    Leading {
        /// The ballot.
        ballot: Ballot,
        /// The next free slot.
        next: Slot,
        /// The first slot whose Accept has not been sent: a batching leader
        /// ([`MpServer::batch`]) sends the proposals from here to `next` on its propose timer.
        /// Always `next` without batching.
        unsent: Slot,
        /// Proposals not yet chosen.
        in_flight: Vec<InFlight<K, V>>,
        /// Heartbeat timeouts so far in this ballot (counted only when they are bounded, in a
        /// model).
        beats: u32,
        /// The end of the takeover: the slots below it were executed before Phase 1, or
        /// re-proposed (or filled with no-ops) at its end. A value chosen in an earlier ballot
        /// may be among them, already answered to its client by an earlier leader, so the
        /// leader answers reads only once it has executed them (the analogue of Raft's "an
        /// entry of its term committed", dissertation §6.4). 0 once they are executed (and
        /// with `log_reads`, where no read waits on them).
        taken_over: Slot,
        /// Reads waiting to be answered without a slot, and the confirmation rounds they
        /// wait for.
        reads: ReadRounds<K>,
        /// The highest compaction point its Phase 1 reported, while this replica has not
        /// executed up to it: the slots below it are chosen, and the leader learns them by
        /// catch-up (asked again on its heartbeat). 0 once executed.
        behind: Compacted,
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
// As for Raft's: the checker keeps each actor's state behind an `Arc`, so a client's state taking
// a server's size costs little; boxing the server's would cost an allocation at every step.
#[allow(clippy::large_enum_variant)]
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

mod bugs;
mod byzantine;
mod model;
mod server;
mod suite;
mod symmetry;
#[cfg(test)]
mod tests;

pub use crate::kv::client_ops;
pub use bugs::*;
pub use byzantine::*;
pub use model::*;
pub use server::*;
pub use suite::*;
