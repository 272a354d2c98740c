//! # Raft
//!
//! Diego Ongaro and John Ousterhout, *In Search of an Understandable Consensus Algorithm
//! (Extended Version)* (2014). Servers replicate a log of client commands; a leader elected for a
//! term appends commands to its log, replicates them, and commits an entry once it is stored on a
//! majority. Every server applies committed entries, in log order, to a key-value state machine.
//! The code follows the paper's Figure 2 rule by rule:
//!
//! - **Terms** (§5.1): every server-to-server message carries the sender's term and is compared
//!   *once*, before the receiver looks at its role: a higher term turns the receiver into a
//!   follower of that term, a stale term is rejected (`RaftServer::on_server_msg`).
//! - **Leader election** (§5.2, §5.4.1): a follower or candidate whose election timer fires
//!   starts an election (`RaftServer::start_election`); a server grants at most one vote per
//!   term, and only to a candidate whose log is at least as up-to-date as its own
//!   (`RaftServer::on_request_vote`); votes from a majority make a leader
//!   (`RaftServer::become_leader`).
//! - **Log replication** (§5.3): the leader sends AppendEntries with the entries from a follower's
//!   `nextIndex`, the consistency check on `prevLogIndex`/`prevLogTerm`, and conflict truncation
//!   (`RaftServer::on_append_entries`); replies update `nextIndex`/`matchIndex`
//!   (`RaftServer::on_append_entries_reply`).
//! - **Commitment** (§5.4.2, Figure 8): a leader commits an index only when an entry *of its
//!   current term* at that index is stored on a majority (`RaftServer::advance_commit_index`).
//! - **Persistence** (Figure 2, "Persistent state on all servers"): `currentTerm`, `votedFor` and
//!   the log are saved before any message that depends on them is sent ([`RaftStorage`]); a
//!   crashed server recovers from what it saved and loses the rest.
//! - **Rejoining after a loss of storage** (not in the paper; docs/raft.md): a server that starts
//!   without its storage has forgotten its votes and the entries it acknowledged, on which the
//!   paper's safety argument relies. Until it has heard from every peer and copied the log of a
//!   current leader it grants no vote and starts no election ([`Rejoin`]); a leader that sees a
//!   follower's log shrink counts its replication again from zero. At most one server loses its
//!   storage at a time.
//!
//! Clients submit get/put/cas commands with request ids ([`crate::kv`]): a follower redirects to
//! the leader it knows, a leader appends the command and answers when it applies it; the state
//! machine answers a retried request from its session table instead of applying it again.
//!
//! The files read in the paper's order: this one (types, messages, state), `bugs` (the
//! catalog of mutants), `server` (the handlers and the [`Actor`]), `symmetry`, `model`
//! (configuration, ghost history and the properties), `tests`.
//!
//! The same actor runs in the model checker ([`RaftConfig::into_model`]) and over UDP: handlers
//! only receive messages and emit commands (send, set timer, save).

use crate::byzantine::Byzantine;
use crate::cluster::{
    BugInfo, ClusterConfig, ClusterModel, Discarded, NetworkKind, ServerRole, ServerSet, UNBOUNDED,
    Wipes, lossy, rewrite_server_index,
};
pub use crate::kv::AppliedBase;
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, Entry, KvClient, KvClientState, KvHistory, KvMsg,
    KvStateMachine, ModelKey, ModelValue, ReadRounds, SmCache, WaitingRead, client_ops, logged_ops,
    read_answer, read_answered, record_reply, record_request,
};
use crate::paxos::Value;
use crate::shared_vec::SharedVec;
use ballot_properties::kv::{KvOp, KvSpec};
use ballot_properties::linearizability::RequestId;
use ballot_properties::{self as props, ConsensusView, Slot, majority};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt::{self, Debug};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A term (§5.1): elections number them 1, 2, …; 0 before the first election. 64 bits, as in
/// etcd: the model bounds terms with `--max-term`, a real node never runs out of them.
pub type Term = u64;

/// A log index: entries are numbered from 1; index 0 is "before the first entry".
pub type Index = u64;

/// An entry of a server's log: the command, and the term in which a leader received it (§5.3).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LogEntry<K, V> {
    /// The term of the leader that appended the entry.
    pub term: Term,
    /// A client command, or a no-op appended by a new leader (§8).
    pub entry: Entry<K, V>,
}

impl<K: Debug, V: Debug> Debug for LogEntry<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Entry::Noop => write!(f, "t{}:noop", self.term),
            Entry::Config(members) => {
                write!(
                    f,
                    "t{}:config{:?}",
                    self.term,
                    members.iter().collect::<Vec<_>>()
                )
            }
            Entry::Cmd(c) => write!(
                f,
                "t{}:{:?}@c{}r{}",
                self.term,
                c.op,
                usize::from(c.client),
                c.req
            ),
        }
    }
}

/// What a server knows about an entry it applied, besides the command (ghost data for the
/// properties; it changes nothing in the protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Applied {
    /// The entry's term, so that State Machine Safety compares whole log entries.
    pub term: Term,
    /// The server's current term when it applied the entry: the entry was committed in this
    /// term or an earlier one (Leader Completeness).
    pub at: Term,
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Messages between clients and servers, and the two RPCs of Figure 2 with their results.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftMsg<K, V> {
    /// Client → server: perform an operation.
    Request(ClientRequest<K, V>),
    /// Server → client: the answer, or a redirect to the leader.
    Reply(ClientReply<V>),
    /// RequestVote RPC (§5.2), candidate → servers. The candidate is the sender.
    RequestVote {
        /// The candidate's term.
        term: Term,
        /// Index of the candidate's last log entry (§5.4.1).
        last_log_index: Index,
        /// Term of the candidate's last log entry (§5.4.1).
        last_log_term: Term,
        /// The candidate's [`RaftStorage::incarnation`] (not in Figure 2), echoed in the result.
        incarnation: u64,
    },
    /// RequestVote result.
    RequestVoteReply {
        /// The voter's current term, for the candidate to update itself.
        term: Term,
        /// Whether the candidate received the vote.
        vote_granted: bool,
        /// The request's `incarnation`: a vote for an incarnation of the candidate that has
        /// since lost its storage is not counted by the next one (docs/raft.md).
        incarnation: u64,
    },
    /// AppendEntries RPC (§5.3), leader → followers; with no entries, a heartbeat. The leader is
    /// the sender.
    AppendEntries {
        /// The leader's term.
        term: Term,
        /// Index of the log entry immediately preceding the new ones.
        prev_log_index: Index,
        /// Term of the `prev_log_index` entry.
        prev_log_term: Term,
        /// The entries to store (empty for a heartbeat); shared, since the model copies every
        /// message in flight at every step.
        entries: Arc<Vec<LogEntry<K, V>>>,
        /// The leader's commit index.
        leader_commit: Index,
        /// The index of the leader's last log entry when it sent this (not in Figure 2): the
        /// entries reach it, unless the runtime sent a prefix of them (`Served::shrink`). A
        /// rejoining server finishes only on entries that reach it ([`Rejoin`]).
        leader_last: Index,
        /// The leader's latest read confirmation round ([`ReadRounds`]; not in Figure 2: the
        /// dissertation's §6.4 heartbeat round, told apart by number), echoed in the result.
        #[serde(default)]
        read_round: u64,
    },
    /// AppendEntries result.
    AppendEntriesReply {
        /// The follower's current term, for the leader to update itself.
        term: Term,
        /// True if the follower contained an entry matching `prev_log_index` and `prev_log_term`.
        success: bool,
        /// On success, the index of the last entry the request covered (the follower's log
        /// matches the leader's up to it); on failure, the request's `prev_log_index`. Replies may
        /// arrive in any order, so the leader needs to know which request a reply answers.
        index: Index,
        /// The request's `read_round`: the follower still recognized the leader after that
        /// round started (§6.4).
        #[serde(default)]
        read_round: u64,
    },
    /// InstallSnapshot RPC (§7, Figure 13), leader → a follower whose `nextIndex` the leader's
    /// snapshot has discarded (`--snapshots`). Sent whole: Figure 13's `offset` and `done`
    /// split a large snapshot into chunks, which the model does not need. The leader is the
    /// sender. Answered by an [`RaftMsg::AppendEntriesReply`] that covers up to
    /// `last_included_index` (Figure 13's result carries the term only; the index tells the
    /// leader which request it answers, as for AppendEntries).
    InstallSnapshot {
        /// The leader's term.
        term: Term,
        /// The snapshot replaces all entries up through and including this index.
        last_included_index: Index,
        /// The term of `last_included_index`.
        last_included_term: Term,
        /// The snapshot's data: the state machine and session table, as the applied entries
        /// that produced them (the leader's first `last_included_index` applied entries).
        data: SharedVec<(Slot, Entry<K, V>)>,
        /// Ghost: the terms of `data`'s entries and when the leader applied them
        /// ([`Applied`]), for the receiver's decision log (the properties read it).
        data_terms: SharedVec<Applied>,
        /// The state machine of the entries before `data` that the leader folded
        /// ([`AppliedBase`]; a real run's, never the model's): the snapshot's data is then
        /// this state machine followed by `data`'s entries.
        #[serde(default = "no_base", skip_serializing_if = "Option::is_none")]
        base: Option<AppliedBase<K, V>>,
        /// The leader's latest read confirmation round, echoed in the result (§6.4).
        read_round: u64,
        /// The latest configuration as of `last_included_index` (§7, Figure 13's rule 8: "load
        /// snapshot's cluster configuration"): the index of its entry and its members
        /// ([`RaftStorage::snapshot_config`]); `None` if the snapshot discarded no
        /// configuration entry (always, in the model, which has no snapshots with membership).
        #[serde(default, skip_serializing_if = "SnapshotConfig::is_none")]
        config: SnapshotConfig,
    },
    /// A rejoining server asks a peer for its state (not in the paper; [`Rejoin`]). It carries
    /// no term and is not subject to the term rule; a server answers it in any role.
    Probe {
        /// The asker's [`RaftStorage::incarnation`], echoed in the answer.
        incarnation: u64,
    },
    /// The answer to a [`RaftMsg::Probe`].
    ProbeReply {
        /// The probe's `incarnation`: an answer to an earlier start's probe is not taken for
        /// an answer to this one.
        incarnation: u64,
        /// The answering server's current term.
        term: Term,
        /// The index of its last log entry.
        last_log_index: Index,
        /// It is itself rejoining and has learned nothing: no term above 0, no entry. Two
        /// servers without storage at once are a new cluster (at most one server loses its
        /// storage at a time).
        rejoining_empty: bool,
    },
    /// Administrator → server: a membership change or a query of the configuration (a real
    /// run's `ballot admin`; dissertation §4.1's AddServer and RemoveServer RPCs). The model's
    /// changes come from the reconfigure timer instead ([`RaftTimer::Reconfigure`]); both run
    /// the same rule ([`RaftServer::reconfigure_refusal`]) and the same step.
    Admin(AdminRequest<Id>),
    /// Server → administrator: the answer to an [`RaftMsg::Admin`] (a redirect to the leader is
    /// a [`ClientReply::NotLeader`], as for a client's request).
    AdminReply {
        /// The request answered.
        req: RequestId,
        /// The answer.
        answer: AdminAnswer<Id>,
    },
}

impl<K, V> KvMsg<K, V> for RaftMsg<K, V> {
    fn request(r: ClientRequest<K, V>) -> Self {
        RaftMsg::Request(r)
    }

    fn as_request(&self) -> Option<&ClientRequest<K, V>> {
        match self {
            RaftMsg::Request(r) => Some(r),
            _ => None,
        }
    }

    fn as_reply(&self) -> Option<&ClientReply<V>> {
        match self {
            RaftMsg::Reply(r) => Some(r),
            _ => None,
        }
    }
}

/// What an administrator asks a Raft cluster (`ballot admin`): the configuration, or a
/// single-server change (dissertation §4.1, AddServer / RemoveServer). `S` names a server: an
/// actor [`Id`] in the actor, an address on the wire.
///
/// A change names the configuration it changes: `from` is the index of its entry (0 for the
/// initial configuration), as [`AdminOp::Members`] answered it. The leader makes the change
/// only while that entry is still its latest configuration entry, so a request changes the
/// configuration at most once however often it is retried or duplicated, and whichever leader
/// receives it (the condition is on the log, durable and replicated, not on a table a leader
/// keeps): once its entry is appended, the latest configuration entry is another one.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AdminOp<S> {
    /// The leader's latest configuration.
    Members,
    /// Add `server` to the configuration whose entry is at index `from`.
    AddServer {
        /// The server to add (one of the address book, `--peers`).
        server: S,
        /// The index of the configuration entry the change applies to (0: the initial one).
        from: Index,
    },
    /// Remove `server` from the configuration whose entry is at index `from`.
    RemoveServer {
        /// The server to remove.
        server: S,
        /// The index of the configuration entry the change applies to (0: the initial one).
        from: Index,
    },
}

impl<S> AdminOp<S> {
    /// The same request with servers named by `f`.
    pub fn map<T>(self, f: impl Fn(S) -> T) -> AdminOp<T> {
        match self {
            AdminOp::Members => AdminOp::Members,
            AdminOp::AddServer { server, from } => AdminOp::AddServer {
                server: f(server),
                from,
            },
            AdminOp::RemoveServer { server, from } => AdminOp::RemoveServer {
                server: f(server),
                from,
            },
        }
    }
}

/// An administrator's request: its number in the administrator's session (the reply names
/// it), and what it asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AdminRequest<S> {
    /// The request's number in the administrator's session.
    pub req: RequestId,
    /// What it asks.
    pub op: AdminOp<S>,
}

/// A configuration as a leader reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConfigView<S> {
    /// Its members, in index order.
    pub members: Vec<S>,
    /// The index of its entry in the log (0: the initial configuration, in no entry).
    pub index: Index,
    /// Whether its entry is committed (the initial configuration always is).
    pub committed: bool,
}

impl<S> ConfigView<S> {
    /// The same configuration with servers named by `f`.
    pub fn map<T>(self, f: impl Fn(S) -> T) -> ConfigView<T> {
        ConfigView {
            members: self.members.into_iter().map(f).collect(),
            index: self.index,
            committed: self.committed,
        }
    }
}

/// Why a leader refuses a membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AdminRefusal {
    /// The leader's log holds a configuration entry it has not committed: one change at a time
    /// (dissertation §4.1). Retry once it commits.
    ChangeInProgress,
    /// The leader has not committed an entry of its current term yet (the 2015 correction to
    /// §4.1). Retry: its no-op commits soon.
    TermNotCommitted,
    /// The change would leave no server.
    LastServer,
    /// The latest configuration is no longer the one the request names (`from`): read it again.
    ConfigChanged,
    /// The server is not in this node's address book (`--peers`).
    UnknownServer,
    /// This server runs without membership changes, or the model's bounds forbid one.
    NotAllowed,
    /// The leader is catching up another server as a learner before adding it (dissertation
    /// §4.2.1): one change at a time. Retry once it is added, or remove that server, which
    /// ends its catch-up.
    CatchingUp,
}

impl AdminRefusal {
    /// Whether the same request may succeed later without a change by the administrator.
    pub fn retry(self) -> bool {
        matches!(
            self,
            AdminRefusal::ChangeInProgress
                | AdminRefusal::TermNotCommitted
                | AdminRefusal::CatchingUp
        )
    }
}

/// A leader's answer to an [`AdminRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AdminAnswer<S> {
    /// [`AdminOp::Members`]: the leader's latest configuration.
    Members(ConfigView<S>),
    /// The change holds in this configuration, whose entry is committed.
    Done(ConfigView<S>),
    /// The change holds in this configuration, whose entry is not committed yet: ask again.
    Pending(ConfigView<S>),
    /// An addition in its first phase (dissertation §4.2.1): the leader replicates its log to
    /// the new server, which neither votes nor counts in majorities, and adds it to the
    /// configuration once it is caught up. Ask again.
    CatchingUp {
        /// The latest configuration (without the new server yet).
        config: ConfigView<S>,
        /// The highest index the leader knows the new server holds.
        matched: Index,
        /// The leader's last log index.
        last: Index,
    },
    /// Refused, and the leader's latest configuration.
    Refused {
        /// Why.
        reason: AdminRefusal,
        /// The leader's latest configuration.
        config: ConfigView<S>,
    },
}

impl<S> AdminAnswer<S> {
    /// The same answer with servers named by `f`.
    pub fn map<T>(self, f: impl Fn(S) -> T) -> AdminAnswer<T> {
        match self {
            AdminAnswer::Members(c) => AdminAnswer::Members(c.map(f)),
            AdminAnswer::Done(c) => AdminAnswer::Done(c.map(f)),
            AdminAnswer::Pending(c) => AdminAnswer::Pending(c.map(f)),
            AdminAnswer::CatchingUp {
                config,
                matched,
                last,
            } => AdminAnswer::CatchingUp {
                config: config.map(f),
                matched,
                last,
            },
            AdminAnswer::Refused { reason, config } => AdminAnswer::Refused {
                reason,
                config: config.map(f),
            },
        }
    }
}

/// The timers: the election timeout, the leader's heartbeat, the client's retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftTimer {
    /// Followers and candidates (§5.2): no leader heard from; start an election.
    Election,
    /// Leaders (§5.2): send AppendEntries to every follower during idle periods.
    Heartbeat,
    /// A client's request is unanswered: try the next server.
    Client(ClientRetry),
    /// A rejoining server, in a real run: send the probe again to the peers that have not
    /// answered (the model sends it once).
    Probe,
    /// `--snapshots` (§7): a server that has applied an entry beyond its snapshot may compact
    /// its log. Set while it has one; in the model it fires at any moment.
    Snapshot,
    /// `--appends`: a leader whose log is below the model's bound may append an entry of its
    /// term ([`RaftServer::appends`]). Set while it may; in the model it fires at any moment.
    Append,
    /// `--membership` (dissertation §4.1): a leader that may start a configuration change
    /// adds server `s` to its configuration, or removes it if it is a member (the model's
    /// AddServer / RemoveServer request). One timer per server it may add or remove.
    Reconfigure(u8),
    /// Pipelined replication ([`RaftServer::pipeline`]): a leader has entries to send to a
    /// follower in step with it. Set while it has; a real node's fires at once, after the
    /// messages already queued (so one AppendEntries carries the entries of a whole batch); in
    /// the model it fires at any moment.
    Replicate,
    /// Writing to the leader's disk in parallel (dissertation §10.2.1, [`RaftServer::parallel_write`]):
    /// the leader has appended entries that it has sent but not saved. Set while it has; when
    /// it fires, the leader saves them and only then counts them as stored on itself. A real
    /// node fires it at once, after every other timer due in the batch (so that the batch's
    /// AppendEntries leave before the sync); in the model it fires at any moment, and a crash
    /// before it loses the entries.
    Write,
}

impl From<ClientRetry> for RaftTimer {
    fn from(r: ClientRetry) -> Self {
        RaftTimer::Client(r)
    }
}

/// How long a follower waits for a leader before it starts an election, in a real run (§5.2:
/// randomized, so that split votes are rare). The model checker ignores durations.
pub fn election_timeout() -> Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(300)
}

/// How long a server with applied entries beyond its snapshot waits before it takes a new
/// one (the model ignores durations; real runs snapshot by size instead:
/// [`RaftServer::snapshot_when`]).
pub fn snapshot_interval() -> Range<Duration> {
    Duration::from_millis(1000)..Duration::from_millis(2000)
}

/// How long a leader waits before it appends an entry on its own (`--appends`; the model
/// ignores durations; real runs do not append on their own).
pub fn append_interval() -> Range<Duration> {
    Duration::from_millis(1000)..Duration::from_millis(2000)
}

/// How long a leader that may change its configuration waits before it does (the model's
/// `--membership` only; the model ignores durations).
pub fn reconfigure_interval() -> Range<Duration> {
    Duration::from_millis(1000)..Duration::from_millis(2000)
}

/// How long a leader with entries to send to a follower in step with it waits before it sends
/// them ([`RaftTimer::Replicate`]): not at all; a real node fires the timer in the batch that
/// set it, after that batch's datagrams.
pub fn replicate_interval() -> Range<Duration> {
    Duration::ZERO..Duration::ZERO
}

/// How long a leader with unsaved entries waits before it saves them ([`RaftTimer::Write`]):
/// not at all; a real node fires the timer in the batch that set it, last.
pub fn write_interval() -> Range<Duration> {
    Duration::ZERO..Duration::ZERO
}

/// How often a leader sends heartbeats, in a real run: well below the election timeout.
pub fn heartbeat_interval() -> Range<Duration> {
    Duration::from_millis(50)..Duration::from_millis(60)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// A server that started without its storage and has not finished rejoining (durable, in
/// [`RaftStorage::rejoin`]; not in the paper).
///
/// A server that lost its storage has forgotten the votes it gave and the entries it
/// acknowledged, on which Raft's safety rests (a vote per term; a committed entry is on a
/// majority). While rejoining it grants no vote and starts no election; it answers
/// AppendEntries (the consistency check and repair fill its log) and redirects clients like a
/// follower. It asks every peer for its state ([`RaftMsg::Probe`]), and finishes:
/// - (a) when a peer answers that it is itself rejoining and has learned nothing: two servers
///   without storage are a new cluster, since at most one server loses its storage at a time;
/// - (b) when every peer has answered, and it then accepts an AppendEntries from a leader whose
///   term is at least every term the peers reported, whose entries reach that leader's last
///   index, and which that leader sent after answering the probe (if it answered in the same
///   term, its entries reach the last index it reported). It then counts its vote in that
///   term as given to that leader, so it votes only in later terms.
///
/// Why (b) is safe (docs/raft.md): every term in which it voted before the loss is at most the
/// current term of the server it voted for, which answered the probe since; and every entry
/// committed with its lost acknowledgement is in the log of any leader of a term at least that
/// entry's (Leader Completeness, which holds while it does not vote), which it copied.
///
/// The answers are told from answers to an earlier start's probe by the server's
/// [`RaftStorage::incarnation`], which its probe carries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rejoin {
    /// Per server index, the highest `(term, last log index)` it reported in an answer to this
    /// probe; `None` until it answers (and for this server itself).
    pub heard: Vec<Option<(Term, Index)>>,
    /// The probe was sent. The model sends it once (so that repeated crash-restarts do not
    /// fill the network); a real node re-sends it on a timer until every peer has answered.
    pub probed: bool,
}

impl Rejoin {
    /// What server `i` reported, if it answered.
    pub fn heard_from(&self, i: usize) -> Option<(Term, Index)> {
        self.heard.get(i).copied().flatten()
    }

    /// The highest term any peer reported.
    pub fn max_term(&self) -> Term {
        self.heard
            .iter()
            .flatten()
            .map(|(t, _)| *t)
            .max()
            .unwrap_or(0)
    }
}

/// `log[]` (Figure 2): the entries after the snapshot, and where among them the configuration
/// entries are (dissertation §4.1: a server uses the latest one as soon as it is in its log, so
/// every step asks for it). The positions are kept as entries are appended and removed, so that
/// the latest configuration is found without reading the log: a real node's log holds up to
/// `--snapshot-every` entries or more, and a scan of it at every step was most of a leader's
/// CPU. Reads go to the entries ([`Deref`](std::ops::Deref) to [`SharedVec`]); it compares,
/// orders, hashes, prints and serializes as its entries alone (the positions follow from them),
/// so states and files are those of a plain vector of entries.
#[derive(Clone)]
pub struct RaftLog<K, V> {
    entries: SharedVec<LogEntry<K, V>>,
    /// The positions in `entries` of its configuration entries, in order.
    configs: Vec<usize>,
}

impl<K, V> RaftLog<K, V> {
    /// The entries.
    pub fn entries(&self) -> &SharedVec<LogEntry<K, V>> {
        &self.entries
    }

    /// The position (in the log, from 0) and members of the latest configuration entry.
    pub fn latest_config(&self) -> Option<(usize, ServerSet)> {
        let &at = self.configs.last()?;
        match self.entries.get(at).map(|e| &e.entry) {
            Some(Entry::Config(members)) => Some((at, *members)),
            Some(Entry::Noop | Entry::Cmd(_)) | None => {
                unreachable!("position {at} is kept as a configuration entry's")
            }
        }
    }

    /// How many configuration entries the log holds.
    pub fn config_entries(&self) -> usize {
        self.configs.len()
    }
}

impl<K: Clone, V: Clone> RaftLog<K, V> {
    /// Appends `e`.
    pub fn push(&mut self, e: LogEntry<K, V>) {
        if matches!(e.entry, Entry::Config(_)) {
            self.configs.push(self.entries.len());
        }
        self.entries.push(e);
    }

    /// Keeps the first `len` entries (all of them if there are fewer).
    pub fn truncate(&mut self, len: usize) {
        while self.configs.last().is_some_and(|&at| at >= len) {
            self.configs.pop();
        }
        self.entries.truncate(len);
    }
}

impl<K, V> From<SharedVec<LogEntry<K, V>>> for RaftLog<K, V> {
    fn from(entries: SharedVec<LogEntry<K, V>>) -> Self {
        let configs = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.entry, Entry::Config(_)))
            .map(|(at, _)| at)
            .collect();
        Self { entries, configs }
    }
}

impl<K, V> From<Vec<LogEntry<K, V>>> for RaftLog<K, V> {
    fn from(entries: Vec<LogEntry<K, V>>) -> Self {
        SharedVec::from(entries).into()
    }
}

impl<K, V> FromIterator<LogEntry<K, V>> for RaftLog<K, V> {
    fn from_iter<I: IntoIterator<Item = LogEntry<K, V>>>(iter: I) -> Self {
        iter.into_iter().collect::<SharedVec<_>>().into()
    }
}

impl<K, V> Default for RaftLog<K, V> {
    fn default() -> Self {
        Self {
            entries: SharedVec::default(),
            configs: Vec::new(),
        }
    }
}

impl<K, V> std::ops::Deref for RaftLog<K, V> {
    type Target = SharedVec<LogEntry<K, V>>;

    fn deref(&self) -> &Self::Target {
        &self.entries
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for RaftLog<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Eq, V: Eq> Eq for RaftLog<K, V> {}

impl<K: PartialOrd, V: PartialOrd> PartialOrd for RaftLog<K, V> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.entries.partial_cmp(&other.entries)
    }
}

impl<K: Ord, V: Ord> Ord for RaftLog<K, V> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.entries.cmp(&other.entries)
    }
}

impl<K: std::hash::Hash, V: std::hash::Hash> std::hash::Hash for RaftLog<K, V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.entries.hash(state);
    }
}

impl<K: Debug, V: Debug> Debug for RaftLog<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.entries.fmt(f)
    }
}

impl<K: Serialize, V: Serialize> Serialize for RaftLog<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for RaftLog<K, V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SharedVec::deserialize(d).map(Self::from)
    }
}

/// Persistent state (Figure 2), saved before any message that depends on it is sent, and what a
/// crashed server recovers. Besides the paper's three fields, the server keeps its applied
/// entries durably (its state machine is rebuilt from them), so that a recovered server does not
/// apply an entry a second time: `lastApplied` is `applied.len()`; and, while it rejoins after
/// a loss of storage, what it learned from its peers (`rejoin`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RaftStorage<K, V> {
    /// `currentTerm`: the latest term this server has seen.
    pub current_term: Term,
    /// `votedFor`: the server index that received this server's vote in `current_term`.
    pub voted_for: Option<u8>,
    /// `log[]`, the entries after the snapshot (all of them without one): entry `i` (1-based)
    /// is `log[i - snapshot_index - 1]`. Read it through [`Self::term_at`], [`Self::entry`],
    /// [`Self::last_log_index`] and the like, which answer for the logical log (snapshot and
    /// suffix, §7).
    pub log: RaftLog<K, V>,
    /// The snapshot's `lastIncludedIndex` (§7, Figure 13): the log's entries up to it are
    /// discarded; 0 without a snapshot. The snapshot's state machine and session table are those
    /// of the first `snapshot_index` entries of `applied` (the model keeps every applied entry
    /// as its decision log, which the properties read and the state machine is rebuilt from;
    /// InstallSnapshot sends them as the snapshot's data).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub snapshot_index: Index,
    /// The snapshot's `lastIncludedTerm` (§7): the term of entry `snapshot_index`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub snapshot_term: Term,
    /// The latest configuration as of `snapshot_index` (§7: "the snapshot also includes the
    /// latest configuration as of the last included index"): the index of its entry and its
    /// members, kept when compaction discards the entry; `None` while no configuration entry
    /// was discarded. [`Self::latest_config`] reads it when the log holds no configuration
    /// entry.
    #[serde(default, skip_serializing_if = "SnapshotConfig::is_none")]
    pub snapshot_config: SnapshotConfig,
    /// The decision log: every entry applied, with its index, oldest first (after
    /// `applied_base`'s, if a real node folded some: [`RaftStorage::fold_applied`]).
    pub applied: SharedVec<(Slot, Entry<K, V>)>,
    /// Ghost: for each applied entry, its term and the term in which it was applied.
    pub applied_terms: SharedVec<Applied>,
    /// Set while the server rejoins after starting without storage ([`Rejoin`]); `None` for a
    /// member of a new cluster and once rejoined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejoin: Option<Rejoin>,
    /// Which start without storage this storage began with: a number drawn at random by a real
    /// node (`Served::lost_storage`); in the model, how many times this server lost its
    /// storage (0: a member of the initial cluster), a fresh number each time as the random
    /// one is. RequestVote and Probe carry it, and their answers echo it: an answer meant for
    /// an earlier incarnation is ignored ([`RaftServer`]'s vote counting and
    /// [`Rejoin`]). Not in the paper.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub incarnation: u64,
    /// The applied entries a real node folded into a state machine when it took a snapshot
    /// ([`RaftStorage::fold_applied`]), so that its storage does not grow with every entry
    /// ever applied; `applied` holds the entries after them. Always `None` in the model, whose
    /// properties read every applied entry.
    #[serde(default = "no_base", skip_serializing_if = "Option::is_none")]
    pub applied_base: Option<AppliedBase<K, V>>,
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// The configuration a snapshot keeps (§7): the index of the latest configuration entry at or
/// before its last included index, and its members; `None` if no configuration entry was
/// discarded ([`RaftStorage::snapshot_config`], InstallSnapshot's `config`).
///
/// It hashes nothing when `None`: the model's states and messages, where it is always `None`
/// (no `--snapshots` with `--membership`), then hash exactly as before the field existed.
/// Stateright orders a state's next actions by the hashes of the messages in flight, and the
/// saved traces replay by action index: their paths and the pinned counts stay valid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SnapshotConfig(pub Option<(Index, ServerSet)>);

impl SnapshotConfig {
    /// Whether it holds no configuration (then not serialized).
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl std::hash::Hash for SnapshotConfig {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        if let Some(config) = &self.0 {
            config.hash(state);
        }
    }
}

/// No [`AppliedBase`] (what `#[serde(default)]` would give, without asking `K` and `V` for
/// `Default`).
fn no_base<K, V>() -> Option<AppliedBase<K, V>> {
    None
}

impl<K, V> RaftStorage<K, V> {
    /// What a server starts with when it finds no storage in a cluster that may exist: empty,
    /// rejoining ([`Rejoin`]), and of a new `incarnation`.
    pub fn lost(incarnation: u64) -> Self {
        RaftStorage {
            current_term: 0,
            voted_for: None,
            log: RaftLog::default(),
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_config: SnapshotConfig(None),
            applied: SharedVec::default(),
            applied_terms: SharedVec::default(),
            rejoin: Some(Rejoin::default()),
            incarnation,
            applied_base: None,
        }
    }

    /// `lastApplied`: the entries applied, those folded into [`Self::applied_base`] included.
    pub fn last_applied(&self) -> Index {
        self.applied_base.as_ref().map_or(0, |b| b.count) + self.applied.len() as Index
    }

    /// Folds every applied entry into `sm`, their state machine (a real node, after a snapshot:
    /// the entries up to the snapshot's last included index are then kept only as the state
    /// machine they produced, as in §7, and its storage stays bounded). The decision log and
    /// its ghost terms are emptied; [`Self::last_applied`] is unchanged.
    pub fn fold_applied(&mut self, sm: &KvStateMachine<K, V>)
    where
        K: Clone + Ord,
        V: Clone,
    {
        self.applied_base = Some(AppliedBase {
            count: self.last_applied(),
            sm: Arc::new(sm.to_snapshot()),
        });
        self.applied = SharedVec::default();
        self.applied_terms = SharedVec::default();
    }

    /// Whether the server is rejoining and has learned nothing: no term above 0 (its own or a
    /// peer's), no entry.
    pub fn rejoining_empty(&self) -> bool {
        self.rejoin.as_ref().is_some_and(|r| r.max_term() == 0)
            && self.current_term == 0
            && self.last_log_index() == 0
    }

    /// The index of the last entry of the logical log (snapshot and suffix, §7; 0 if both are
    /// empty).
    pub fn last_log_index(&self) -> Index {
        self.snapshot_index + self.log.len() as Index
    }

    /// The term of the last entry of the logical log (the snapshot's last included term if the
    /// suffix is empty; 0 if both are).
    pub fn last_log_term(&self) -> Term {
        self.log.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// The term of entry `index` of the logical log (0 for index 0; the snapshot's
    /// `lastIncludedTerm` for its last included index), if known: `None` beyond the last entry
    /// and for the entries the snapshot discarded before its last one.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        match index.checked_sub(self.snapshot_index) {
            None => None,
            Some(0) => Some(self.snapshot_term),
            Some(k) => self.log.get(k as usize - 1).map(|e| e.term),
        }
    }

    /// The latest configuration entry of the log (dissertation §4.1: a server uses it as soon
    /// as it is appended, committed or not) and its index; if the log holds none, the
    /// snapshot's configuration (§7, [`Self::snapshot_config`]); `None` if neither has one.
    pub fn latest_config(&self) -> Option<(Index, ServerSet)> {
        self.log
            .latest_config()
            .map(|(at, members)| (self.snapshot_index + 1 + at as Index, members))
            .or(self.snapshot_config.0)
    }

    /// How many configuration entries the log holds.
    pub fn config_entries(&self) -> usize {
        self.log.config_entries()
    }

    /// Entry `index` of the log, if the log holds it (not discarded by the snapshot, not
    /// beyond the last entry).
    pub fn entry(&self, index: Index) -> Option<&LogEntry<K, V>> {
        match index.checked_sub(self.snapshot_index) {
            None | Some(0) => None,
            Some(k) => self.log.get(k as usize - 1),
        }
    }

    /// The entries after `index`, which must not be below the snapshot's last included index.
    pub fn entries_after(&self, index: Index) -> Vec<LogEntry<K, V>>
    where
        K: Clone,
        V: Clone,
    {
        assert!(
            index >= self.snapshot_index,
            "entries discarded by the snapshot"
        );
        self.log.to_vec_from((index - self.snapshot_index) as usize)
    }

    /// Deletes the entries after `index` (not below the snapshot's last included index).
    pub fn truncate_after(&mut self, index: Index)
    where
        K: Clone,
        V: Clone,
    {
        assert!(
            index >= self.snapshot_index,
            "entries discarded by the snapshot"
        );
        self.log.truncate((index - self.snapshot_index) as usize);
    }

    /// Log compaction (§7): the snapshot now ends at `index` (at most the last log index,
    /// beyond the current snapshot); the log keeps only the entries after it.
    pub fn compact(&mut self, index: Index)
    where
        K: Clone,
        V: Clone,
    {
        assert!(index > self.snapshot_index && index <= self.last_log_index());
        let term = self.term_at(index).expect("a kept entry");
        // §7: the snapshot keeps the latest configuration as of its last included index.
        let discarded = (index - self.snapshot_index) as usize;
        if let Some(config) = self
            .log
            .iter()
            .take(discarded)
            .enumerate()
            .filter_map(|(k, e)| match e.entry {
                Entry::Config(members) => Some((self.snapshot_index + 1 + k as Index, members)),
                Entry::Noop | Entry::Cmd(_) => None,
            })
            .last()
        {
            self.snapshot_config = SnapshotConfig(Some(config));
        }
        self.log = self
            .log
            .iter_from((index - self.snapshot_index) as usize)
            .cloned()
            .collect();
        self.snapshot_index = index;
        self.snapshot_term = term;
    }
}

/// The logical log of `d` (§7): the entries its snapshot discarded, rebuilt from the applied
/// entries (the snapshot's state machine is theirs), followed by the log. The properties state
/// Log Matching and Leader Completeness over it. Borrowed without a snapshot.
pub fn logical_log<K: Clone, V: Clone>(d: &RaftStorage<K, V>) -> Cow<'_, [LogEntry<K, V>]> {
    if d.snapshot_index == 0 {
        return Cow::Borrowed(d.log.as_slice());
    }
    let n = d.snapshot_index as usize;
    assert!(
        d.applied_base.is_none(),
        "the model keeps every applied entry"
    );
    assert!(
        d.applied.len() >= n,
        "a snapshot holds applied entries only"
    );
    let mut all: Vec<LogEntry<K, V>> = d
        .applied
        .iter()
        .zip(d.applied_terms.iter())
        .take(n)
        .map(|((_, entry), a)| LogEntry {
            term: a.term,
            entry: entry.clone(),
        })
        .collect();
    all.extend(d.log.iter().cloned());
    Cow::Owned(all)
}

/// A server's role (§5.1) and the volatile state that goes with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role<K> {
    /// Answers RPCs; redirects clients to `leader`, the leader of the current term it heard from.
    Follower {
        /// The server that sent AppendEntries in the current term.
        leader: Option<u8>,
    },
    /// Collecting votes for the current term.
    Candidate {
        /// Servers that granted their vote, this one included.
        votes: ServerSet,
    },
    /// Volatile state on leaders, reinitialized after election.
    Leader {
        /// `nextIndex[]`: per server, the index of the next entry to send it.
        next_index: Vec<Index>,
        /// `matchIndex[]`: per server, the highest index known to be replicated on it.
        match_index: Vec<Index>,
        /// Reads waiting to be answered without a log entry, and the confirmation rounds they
        /// wait for (ReadIndex, dissertation §6.4).
        reads: ReadRounds<K>,
        /// The server this leader is catching up before it adds it to the configuration, if
        /// any (dissertation §4.2.1; with `membership` and `learners`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        learner: Option<Learner>,
        /// How many times its heartbeat timer has fired in this term (a model's bound,
        /// [`RaftServer::heartbeats`]; real runs do not count).
        #[serde(default, skip_serializing_if = "is_zero")]
        beats: u32,
        /// Pipelined replication ([`RaftServer::pipeline`]): the followers known to be in step
        /// with this leader (a success since their last failure). It sends them each entry
        /// once, advancing `nextIndex` as it sends, without waiting for their answers (the
        /// optimistic `nextIndex` of dissertation §10.2.2); it probes the others as Figure 2
        /// does. Always empty without pipelining.
        #[serde(default, skip_serializing_if = "no_servers")]
        replicating: ServerSet,
    },
}

/// Whether a set of servers is empty (for `skip_serializing_if`, which passes a reference).
fn no_servers(s: &ServerSet) -> bool {
    s.is_empty()
}

/// A new server in the first phase of its addition (dissertation §4.2.1, "catching up new
/// servers"): a *learner*. The leader replicates its log to it as to a follower, but it is not
/// in the configuration: it neither votes nor counts in majorities, and starts no election.
/// The catch-up goes in rounds: a round replicates the leader's log up to `round_end`, its
/// last index when the round began. When the learner holds it, the leader adds the learner to
/// the configuration if at most `catch_up_gap` entries were appended during the round
/// ([`crate::raft::Membership`]), or begins another round. Volatile: a new leader knows no
/// learner, and the administrator's retried request starts the catch-up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Learner {
    /// The server being caught up (not in the configuration).
    pub server: u8,
    /// The leader's last log index when the current round began.
    pub round_end: Index,
}

/// A server's state: persistent and volatile.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerState<K, V> {
    /// Persistent state, saved before replying.
    pub durable: RaftStorage<K, V>,
    /// Volatile: the role.
    pub role: Role<K>,
    /// Volatile `commitIndex`: the highest index known to be committed. After a crash it
    /// restarts at the last applied index (applied entries are committed and durable).
    pub commit_index: Index,
    /// Writing to the leader's disk in parallel (dissertation §10.2.1,
    /// [`RaftServer::parallel_write`]): `Some(i)` while the log holds entries after index `i`
    /// that the server appended as leader and has not saved (its write timer is set); it counts
    /// itself as storing only the entries up to `i`. `None`: every entry of the log was saved.
    /// Volatile: a server restarts with what it saved.
    pub written: Option<Index>,
    /// Ghost, for Leader Append-Only: set if, while this server was leader, a step changed its
    /// log other than by appending. Only a mutant sets it.
    pub leader_overwrote: bool,
    /// Ghost, for the sometimes-property "A server that lost its storage rejoins": set when
    /// this server finishes rejoining (until it restarts).
    pub rejoined: bool,
    /// The state machine: the applied entries replayed, kept so that a step does not replay
    /// them all again. A cache: it takes no part in comparisons, hashing, `Debug` or
    /// serialization.
    #[serde(skip)]
    pub sm: SmCache,
}

impl<K: Debug, V: Debug> Debug for ServerState<K, V> {
    /// What `#[derive(Debug)]` prints, without the state machine cache.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerState")
            .field("durable", &self.durable)
            .field("role", &self.role)
            .field("commit_index", &self.commit_index)
            .field("written", &self.written)
            .field("leader_overwrote", &self.leader_overwrote)
            .field("rejoined", &self.rejoined)
            .finish()
    }
}

impl SmCache {
    /// The state machine of `durable`'s applied entries, built now if it is not cached.
    pub fn get<K: Value, V: Value>(
        &mut self,
        durable: &RaftStorage<K, V>,
    ) -> &KvStateMachine<K, V> {
        self.get_or(|| state_machine(durable))
    }

    /// The state machine of `durable`'s applied entries, to update, built now if it is not
    /// cached (or is shared with another state: then copied, a map of a few keys).
    pub fn get_mut<K: Value, V: Value>(
        &mut self,
        durable: &RaftStorage<K, V>,
    ) -> &mut KvStateMachine<K, V> {
        self.get_mut_or(|| state_machine(durable))
    }
}

impl<K, V> ServerState<K, V> {
    /// Whether this server is the leader of its current term.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    /// Whether this server is rejoining after a loss of storage ([`Rejoin`]).
    pub fn is_rejoining(&self) -> bool {
        self.durable.rejoin.is_some()
    }
}

/// The state of a server or a model client.
// The checker keeps each actor's state behind an `Arc`, so a client's state taking a server's
// size costs little; boxing the server's would cost an allocation at every step.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftState<K, V> {
    /// A server's state.
    Server(ServerState<K, V>),
    /// A client's state.
    Client(KvClientState),
}

impl<K, V> ServerRole for RaftState<K, V> {
    fn is_server(&self) -> bool {
        matches!(self, RaftState::Server(_))
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

pub use bugs::*;
pub use byzantine::*;
pub use model::*;
pub use server::*;
pub use suite::*;
pub use symmetry::*;
