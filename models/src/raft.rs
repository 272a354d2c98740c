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
//!   follower of that term, a stale term is rejected ([`RaftServer::on_server_msg`]).
//! - **Leader election** (§5.2, §5.4.1): a follower or candidate whose election timer fires
//!   starts an election ([`RaftServer::start_election`]); a server grants at most one vote per
//!   term, and only to a candidate whose log is at least as up-to-date as its own
//!   ([`RaftServer::on_request_vote`]); votes from a majority make a leader
//!   ([`RaftServer::become_leader`]).
//! - **Log replication** (§5.3): the leader sends AppendEntries with the entries from a follower's
//!   `nextIndex`, the consistency check on `prevLogIndex`/`prevLogTerm`, and conflict truncation
//!   ([`RaftServer::on_append_entries`]); replies update `nextIndex`/`matchIndex`
//!   ([`RaftServer::on_append_entries_reply`]).
//! - **Commitment** (§5.4.2, Figure 8): a leader commits an index only when an entry *of its
//!   current term* at that index is stored on a majority ([`RaftServer::advance_commit_index`]).
//! - **Persistence** (Figure 2, "Persistent state on all servers"): `currentTerm`, `votedFor` and
//!   the log are saved before any message that depends on them is sent ([`RaftStorage`]); a
//!   crashed server recovers from what it saved and loses the rest.
//!
//! Clients submit get/put/cas commands with request ids ([`crate::kv`]): a follower redirects to
//! the leader it knows, a leader appends the command and answers when it applies it; the state
//! machine answers a retried request from its session table instead of applying it again.
//!
//! The same actor runs in the model checker ([`RaftConfig::into_model`]) and over UDP: handlers
//! only receive messages and emit commands (send, set timer, save).

use crate::cluster::{
    BugInfo, ClusterConfig, ClusterModel, ServerRole, ServerSet, lossy, rewrite_server_index,
};
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, Entry, KvClient, KvClientState, KvHistory, KvMsg,
    KvStateMachine, ModelKey, ModelValue, model_ops, record_reply, record_request,
};
use crate::paxos::Value;
use ballot_properties::kv::KvSpec;
use ballot_properties::{self as props, ConsensusView, Slot, majority};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt::{self, Debug};
use std::ops::Range;
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
    },
    /// RequestVote result.
    RequestVoteReply {
        /// The voter's current term, for the candidate to update itself.
        term: Term,
        /// Whether the candidate received the vote.
        vote_granted: bool,
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
        /// The entries to store (empty for a heartbeat).
        entries: Vec<LogEntry<K, V>>,
        /// The leader's commit index.
        leader_commit: Index,
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

/// The timers: the election timeout, the leader's heartbeat, the client's retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftTimer {
    /// Followers and candidates (§5.2): no leader heard from; start an election.
    Election,
    /// Leaders (§5.2): send AppendEntries to every follower during idle periods.
    Heartbeat,
    /// A client's request is unanswered: try the next server.
    Client(ClientRetry),
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

/// How often a leader sends heartbeats, in a real run: well below the election timeout.
pub fn heartbeat_interval() -> Range<Duration> {
    Duration::from_millis(50)..Duration::from_millis(60)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Persistent state (Figure 2), saved before any message that depends on it is sent, and what a
/// crashed server recovers. Besides the paper's three fields, the server keeps its applied
/// entries durably (its state machine is rebuilt from them), so that a recovered server does not
/// apply an entry a second time: `lastApplied` is `applied.len()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RaftStorage<K, V> {
    /// `currentTerm`: the latest term this server has seen.
    pub current_term: Term,
    /// `votedFor`: the server index that received this server's vote in `current_term`.
    pub voted_for: Option<u8>,
    /// `log[]`: entry `i` (1-based) is `log[i - 1]`.
    pub log: Vec<LogEntry<K, V>>,
    /// The decision log: every entry applied, with its index, oldest first.
    pub applied: Vec<(Slot, Entry<K, V>)>,
    /// Ghost: for each applied entry, its term and the term in which it was applied.
    pub applied_terms: Vec<Applied>,
}

impl<K, V> RaftStorage<K, V> {
    /// The index of the last log entry (0 if the log is empty).
    pub fn last_log_index(&self) -> Index {
        self.log.len() as Index
    }

    /// The term of the last log entry (0 if the log is empty).
    pub fn last_log_term(&self) -> Term {
        self.log.last().map_or(0, |e| e.term)
    }

    /// The term of entry `index` (0 for index 0), if the log has it.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        match index {
            0 => Some(0),
            i => self.log.get(i as usize - 1).map(|e| e.term),
        }
    }
}

/// A server's role (§5.1) and the volatile state that goes with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
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
    },
}

/// A server's state: persistent and volatile.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ServerState<K, V> {
    /// Persistent state, saved before replying.
    pub durable: RaftStorage<K, V>,
    /// Volatile: the role.
    pub role: Role,
    /// Volatile `commitIndex`: the highest index known to be committed. After a crash it
    /// restarts at the last applied index (applied entries are committed and durable).
    pub commit_index: Index,
    /// Ghost, for Leader Append-Only: set if, while this server was leader, a step changed its
    /// log other than by appending. Only a mutant sets it.
    pub leader_overwrote: bool,
}

impl<K, V> ServerState<K, V> {
    /// Whether this server is the leader of its current term.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }
}

/// The state of a server or a model client.
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

/// The named bugs (mutants): each departs from Figure 2 in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RaftBug {
    /// The leader commits an entry of an earlier term once it is stored on a majority (the
    /// situation of Figure 8, §5.4.2).
    CommitPreviousTerm,
    /// A server grants its vote to a second candidate in the same term.
    VoteTwice,
    /// A server grants its vote without checking that the candidate's log is at least as
    /// up-to-date as its own (§5.4.1).
    VoteWithoutLogCheck,
    /// A server answers RequestVote without saving `currentTerm` and `votedFor` first.
    UnsavedVote,
    /// A server accepts AppendEntries from a stale term instead of rejecting it.
    AcceptStaleAppend,
    /// A follower truncates its log after the entries of an AppendEntries even when nothing
    /// conflicts (for example on a heartbeat, or a reordered request).
    TruncateWithoutConflict,
}

/// The catalog printed by `ballot bugs raft`: each entry is exposed by
/// `ballot check raft <args> --bug <name>`.
pub const BUGS: &[(RaftBug, BugInfo)] = &[
    (
        RaftBug::CommitPreviousTerm,
        BugInfo {
            name: "figure-8",
            breaks: "Leader Completeness",
            args: &[
                "--clients",
                "2",
                "--requests",
                "1",
                "--max-term",
                "4",
                "--crashes",
                "0",
                "--max-log",
                "1",
            ],
            summary: "the leader commits an earlier-term entry by counting its replicas (Figure 8)",
        },
    ),
    (
        RaftBug::VoteTwice,
        BugInfo {
            name: "vote-twice",
            breaks: "Election Safety",
            args: &["--clients", "0", "--crashes", "0", "--max-term", "1"],
            summary: "a server votes for a second candidate in the same term",
        },
    ),
    (
        RaftBug::VoteWithoutLogCheck,
        BugInfo {
            name: "vote-without-log-check",
            breaks: "Leader Completeness",
            args: &[
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
            ],
            summary: "a server grants its vote without the up-to-date-log check (§5.4.1)",
        },
    ),
    (
        RaftBug::UnsavedVote,
        BugInfo {
            name: "unsaved-vote",
            breaks: "Election Safety",
            args: &["--clients", "0", "--crashes", "1", "--max-term", "1"],
            summary: "a server answers RequestVote before saving currentTerm and votedFor (needs crashes)",
        },
    ),
    (
        RaftBug::AcceptStaleAppend,
        BugInfo {
            name: "accept-stale-append",
            breaks: "Leader Append-Only",
            args: &[
                "--clients",
                "2",
                "--requests",
                "1",
                "--crashes",
                "0",
                "--max-term",
                "2",
                "--max-log",
                "1",
            ],
            summary: "a server accepts AppendEntries from a stale term instead of rejecting it",
        },
    ),
    (
        RaftBug::TruncateWithoutConflict,
        BugInfo {
            name: "truncate-without-conflict",
            breaks: "Leader Completeness",
            args: &["--crashes", "0", "--max-term", "2"],
            summary: "a follower truncates its log after a heartbeat's entries even without a conflict",
        },
    ),
];

impl RaftBug {
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

/// A Raft server's configuration: its peers, the model's bounds, the bug it runs with. Every
/// server of a cluster has the same configuration (symmetry reduction relies on it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest term a server may start an election for (keeps the model finite; a real run
    /// uses [`Term::MAX`]).
    pub max_term: Term,
    /// The longest log a leader appends to (keeps the model finite).
    pub max_log: Index,
    /// A new leader appends a no-op (§8) when its log holds entries it does not know to be
    /// committed, so that it can commit them without waiting for a client.
    pub noop: bool,
    /// Leaders send heartbeats on a timer. Real runs need them (messages get lost, idle
    /// followers must not time out); the model leaves them out (see [`RaftConfig::into_model`]).
    pub heartbeats: bool,
    /// The mutant to run, if any.
    pub bug: Option<RaftBug>,
}

/// A Raft actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftActor<K, V> {
    /// A server.
    Server(RaftServer),
    /// A model client.
    Client(KvClient<K, V>),
}

/// What a server does with its commands: everything goes through `Out`.
type RaftOut<K, V> = Out<RaftActor<K, V>>;

impl RaftServer {
    fn has(&self, bug: RaftBug) -> bool {
        self.bug == Some(bug)
    }

    fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn others(&self, me: usize) -> impl Iterator<Item = usize> + use<> {
        (0..self.peers.len()).filter(move |i| *i != me)
    }

    /// Whether a server in this state keeps an election timer: followers and candidates do,
    /// unless the model's term bound forbids another election.
    fn wants_election_timer<K, V>(&self, s: &ServerState<K, V>) -> bool {
        !s.is_leader() && s.durable.current_term < self.max_term
    }

    /// Rules for Followers (Figure 2): the election timeout counts from the last AppendEntries
    /// of the current leader or the last vote granted, so both restart the timer. Without this,
    /// a real follower starts an election every timeout however many heartbeats it receives.
    /// In the model the timer is already set whenever it is wanted, and setting it again
    /// changes no state.
    fn restart_election_timer<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if self.wants_election_timer(s) {
            o.set_timer(RaftTimer::Election, election_timeout());
        }
    }

    /// Recovery (and the first start): persistent state from storage, volatile state reset.
    fn on_start<K: Value, V: Value>(
        &self,
        storage: &Option<RaftStorage<K, V>>,
        o: &mut RaftOut<K, V>,
    ) -> ServerState<K, V> {
        let durable = storage.clone().unwrap_or_default();
        let s = ServerState {
            commit_index: durable.applied.len() as Index,
            durable,
            role: Role::Follower { leader: None },
            leader_overwrote: false,
        };
        if self.wants_election_timer(&s) {
            o.set_timer(RaftTimer::Election, election_timeout());
        }
        s
    }

    /// Rules for Candidates (§5.2), on conversion to candidate: increment `currentTerm`, vote
    /// for self, reset the election timer, send RequestVote to all other servers.
    fn start_election<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if s.is_leader() || s.durable.current_term >= self.max_term {
            // A leader has no election timer; past the bound, the model starts no election.
            return;
        }
        s.durable.current_term += 1;
        s.durable.voted_for = Some(me as u8);
        let mut votes = ServerSet::default();
        votes.insert(me);
        s.role = Role::Candidate { votes };
        let msg = RaftMsg::RequestVote {
            term: s.durable.current_term,
            last_log_index: s.durable.last_log_index(),
            last_log_term: s.durable.last_log_term(),
        };
        for peer in self.others(me) {
            o.send(self.peers[peer], msg.clone());
        }
        self.count_votes(me, s, o);
    }

    /// RequestVote receiver (Figure 2), after the term rule: grant the vote if `votedFor` is
    /// null or the candidate, and the candidate's log is at least as up-to-date as the
    /// receiver's (§5.4.1: the later last term wins; with equal last terms, the longer log).
    ///
    /// A denied vote in the candidate's own term is not answered: the candidate would change
    /// nothing on it (Figure 2 answers `false`; leaving it out keeps the model small).
    fn on_request_vote<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        candidate: usize,
        last_log_index: Index,
        last_log_term: Term,
        o: &mut RaftOut<K, V>,
    ) {
        let free = match s.durable.voted_for {
            None => true,
            Some(v) => v as usize == candidate || self.has(RaftBug::VoteTwice),
        };
        let up_to_date = (last_log_term, last_log_index)
            >= (s.durable.last_log_term(), s.durable.last_log_index());
        if free && (up_to_date || self.has(RaftBug::VoteWithoutLogCheck)) {
            s.durable.voted_for = Some(candidate as u8);
            self.restart_election_timer(s, o);
            o.send(
                self.peers[candidate],
                RaftMsg::RequestVoteReply {
                    term: s.durable.current_term,
                    vote_granted: true,
                },
            );
        }
    }

    /// Rules for Candidates (§5.2): a vote in the current term; votes from a majority of servers
    /// make this candidate the leader.
    fn on_request_vote_reply<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        voter: usize,
        vote_granted: bool,
        o: &mut RaftOut<K, V>,
    ) {
        let Role::Candidate { votes } = &mut s.role else {
            // A late vote: this server already won (leader) or a leader of this term exists
            // (follower). Either way the vote changes nothing.
            return;
        };
        if !vote_granted {
            // A denial in the current term: keep waiting (the timer starts a new election).
            return;
        }
        votes.insert(voter);
        self.count_votes(me, s, o);
    }

    fn count_votes<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if let Role::Candidate { votes } = &s.role
            && votes.len() >= majority(self.peers.len())
        {
            self.become_leader(me, s, o);
        }
    }

    /// Rules for Leaders (Figure 2), upon election: reinitialize `nextIndex` (to the last log
    /// index plus one) and `matchIndex` (to 0), then send AppendEntries to each server. With
    /// `noop`, if the log holds entries not known to be committed, first append a no-op of the
    /// new term (§8): entries of earlier terms are committed only together with an entry of the
    /// current term (§5.4.2).
    fn become_leader<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let n = self.peers.len();
        let next = s.durable.last_log_index() + 1;
        s.role = Role::Leader {
            next_index: vec![next; n],
            match_index: vec![0; n],
        };
        if self.noop
            && s.commit_index < s.durable.last_log_index()
            && s.durable.log.len() < self.max_log as usize
        {
            s.durable.log.push(LogEntry {
                term: s.durable.current_term,
                entry: Entry::Noop,
            });
        }
        for peer in self.others(me) {
            self.send_append_entries(s, peer, o);
        }
        if self.heartbeats {
            o.set_timer(RaftTimer::Heartbeat, heartbeat_interval());
        }
        self.advance_commit_index(me, s, o);
    }

    /// Rules for Leaders: send AppendEntries to `follower` with the log entries starting at its
    /// `nextIndex` (none: a heartbeat) and the leader's commit index.
    fn send_append_entries<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        follower: usize,
        o: &mut RaftOut<K, V>,
    ) {
        let Role::Leader { next_index, .. } = &s.role else {
            unreachable!("only a leader sends AppendEntries")
        };
        let prev_log_index = next_index[follower] - 1;
        let prev_log_term = s
            .durable
            .term_at(prev_log_index)
            .expect("nextIndex never exceeds the last log index + 1");
        o.send(
            self.peers[follower],
            RaftMsg::AppendEntries {
                term: s.durable.current_term,
                prev_log_index,
                prev_log_term,
                entries: s.durable.log[prev_log_index as usize..].to_vec(),
                leader_commit: s.commit_index,
            },
        );
    }

    /// AppendEntries receiver (Figure 2), after the term rule:
    /// 1. (stale terms were rejected by the term rule);
    /// 2. reply false if the log has no entry at `prevLogIndex` whose term is `prevLogTerm`;
    /// 3. if an existing entry conflicts with a new one (same index, different terms), delete
    ///    it and all that follow it;
    /// 4. append any new entries not already in the log;
    /// 5. if `leaderCommit > commitIndex`, set `commitIndex = min(leaderCommit, index of last
    ///    new entry)`.
    ///
    /// A candidate that hears from the leader of its term becomes a follower (§5.2).
    #[allow(clippy::too_many_arguments)]
    fn on_append_entries<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        leader: usize,
        term: Term,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Vec<LogEntry<K, V>>,
        leader_commit: Index,
        o: &mut RaftOut<K, V>,
    ) {
        let current = s.durable.current_term;
        if term == current {
            match &mut s.role {
                Role::Leader { .. } => {
                    // Another leader in this term: impossible while Election Safety holds. A
                    // message cannot make this server give up its term's leadership: ignored.
                    return;
                }
                Role::Candidate { .. } => {
                    s.role = Role::Follower {
                        leader: Some(leader as u8),
                    };
                }
                Role::Follower { leader: known } => *known = Some(leader as u8),
            }
            self.restart_election_timer(s, o);
        }
        // Otherwise `term < current`: only the accept-stale-append mutant gets here.
        let reply = |success, index| RaftMsg::AppendEntriesReply {
            term: current,
            success,
            index,
        };
        let Some(last_new) = (prev_log_index as usize)
            .checked_add(entries.len())
            .filter(|&i| i <= Index::MAX as usize)
        else {
            // More entries than an index can number: not from a well-behaved leader.
            return;
        };
        if s.durable.term_at(prev_log_index) != Some(prev_log_term) {
            o.send(self.peers[leader], reply(false, prev_log_index));
            return;
        }
        for (k, e) in entries.into_iter().enumerate() {
            let i = prev_log_index as usize + k;
            match s.durable.log.get(i) {
                Some(mine) if mine.term == e.term => {
                    // Already stored (Log Matching: same index and term, same entry).
                }
                Some(_) => {
                    s.durable.log.truncate(i);
                    s.durable.log.push(e);
                }
                None => s.durable.log.push(e),
            }
        }
        if self.has(RaftBug::TruncateWithoutConflict) {
            s.durable.log.truncate(last_new);
        }
        if leader_commit > s.commit_index {
            s.commit_index = s.commit_index.max(leader_commit.min(last_new as Index));
        }
        self.apply_committed(s, o);
        let _ = me;
        o.send(self.peers[leader], reply(true, last_new as Index));
    }

    /// Rules for Leaders: a follower's AppendEntries result. On success, update its `nextIndex`
    /// and `matchIndex`, then try to commit, and send what it still lacks; on a failure because
    /// of log inconsistency, decrement `nextIndex` and retry.
    fn on_append_entries_reply<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        follower: usize,
        success: bool,
        index: Index,
        o: &mut RaftOut<K, V>,
    ) {
        let last = s.durable.last_log_index();
        let Role::Leader {
            next_index,
            match_index,
        } = &mut s.role
        else {
            // A late result, to a leader that has since stepped down in this term... which a
            // leader never does without a higher term: only after a crash, when it no longer
            // waits for anything.
            return;
        };
        if index > last {
            // Claims entries this leader does not have: not an answer to it.
            return;
        }
        if success {
            if index <= match_index[follower] {
                // An older or duplicate success: nothing new.
                return;
            }
            match_index[follower] = index;
            next_index[follower] = next_index[follower].max(index + 1);
            let behind = next_index[follower] <= last;
            self.advance_commit_index(me, s, o);
            if behind {
                self.send_append_entries(s, follower, o);
            }
        } else {
            if index == 0 || next_index[follower] != index + 1 {
                // Index 0 always matches; otherwise the result of an earlier probe.
                return;
            }
            next_index[follower] = index;
            self.send_append_entries(s, follower, o);
        }
    }

    /// Rules for Leaders: if there exists an N > `commitIndex` such that a majority of
    /// `matchIndex[i] ≥ N` and `log[N].term == currentTerm`, set `commitIndex = N` (§5.3,
    /// §5.4.2), and apply.
    fn advance_commit_index<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let Role::Leader { match_index, .. } = &s.role else {
            unreachable!("only a leader commits by counting")
        };
        let last = s.durable.last_log_index();
        let stored_on = |n: Index| {
            (0..self.peers.len())
                .filter(|&i| i == me || match_index[i] >= n)
                .count()
        };
        let committable = (s.commit_index + 1..=last).rev().find(|&n| {
            let current_term = s.durable.log[n as usize - 1].term == s.durable.current_term;
            (current_term || self.has(RaftBug::CommitPreviousTerm))
                && stored_on(n) >= majority(self.peers.len())
        });
        let Some(n) = committable else {
            return;
        };
        s.commit_index = n;
        // Followers learn the new commit index from the next AppendEntries (a new entry, a
        // retry, or a heartbeat in a real run); the model sends no message for it alone.
        self.apply_committed(s, o);
    }

    /// Rules for All Servers: if `commitIndex > lastApplied`, apply `log[lastApplied + 1]` to
    /// the state machine. A leader answers the client of each command it applies.
    fn apply_committed<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let upto = (s.commit_index as usize).min(s.durable.log.len());
        if s.durable.applied.len() >= upto {
            return;
        }
        let mut sm = state_machine(&s.durable);
        while s.durable.applied.len() < upto {
            let index = s.durable.applied.len() + 1;
            let LogEntry { term, entry } = s.durable.log[index - 1].clone();
            let ret = sm.apply(&entry, true);
            if let (Entry::Cmd(cmd), Some(ret), true) = (&entry, ret, s.is_leader()) {
                o.send(
                    cmd.client,
                    RaftMsg::Reply(ClientReply::Done { req: cmd.req, ret }),
                );
            }
            s.durable.applied.push((index as Slot, entry));
            s.durable.applied_terms.push(Applied {
                term,
                at: s.durable.current_term,
            });
        }
    }

    /// Rules for Leaders: a command from a client. A follower redirects to the leader it knows;
    /// a leader answers a request it already applied from the session table, waits for one
    /// already in its log, and otherwise appends it and sends it to the followers.
    fn on_client_request<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        request: ClientRequest<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        match &s.role {
            Role::Follower { leader: Some(l) } => {
                o.send(
                    client,
                    RaftMsg::Reply(ClientReply::NotLeader {
                        req: request.req,
                        leader: Some(self.peers[*l as usize]),
                    }),
                );
                return;
            }
            Role::Follower { leader: None } | Role::Candidate { .. } => {
                // No leader known in this term: no answer; the client's retry timer moves on.
                return;
            }
            Role::Leader { .. } => {}
        }
        let req = request.req;
        let sm = state_machine(&s.durable);
        if let Some(ret) = sm.answered(client, req) {
            o.send(
                client,
                RaftMsg::Reply(ClientReply::Done {
                    req,
                    ret: ret.clone(),
                }),
            );
            return;
        }
        let cmd = request.command(client);
        let known = s.durable.log.iter().any(
            |e| matches!(&e.entry, Entry::Cmd(c) if c.client == cmd.client && c.req >= cmd.req),
        );
        if known || s.durable.log.len() >= self.max_log as usize {
            // Already in the log (answered when applied), or an older request; or the model's
            // log bound is reached.
            return;
        }
        s.durable.log.push(LogEntry {
            term: s.durable.current_term,
            entry: Entry::Cmd(cmd),
        });
        for peer in self.others(me) {
            self.send_append_entries(s, peer, o);
        }
        self.advance_commit_index(me, s, o);
    }

    /// Every message between servers carries a term, compared once, before the receiver looks
    /// at its role (Rules for All Servers, §5.1): a higher term makes the receiver a follower of
    /// that term (with no vote yet); a message with a stale term is rejected.
    ///
    /// Figure 2 answers a stale request with `false` and the receiver's term, so that the sender
    /// updates itself. Ballot drops it without an answer: the sender learns the newer term from
    /// that term's own RequestVote and AppendEntries, which every candidate and leader sends to
    /// every server; and a stale message that is never answered can be discarded from the model
    /// ([`RaftServer::ignores_forever`]), which keeps the state space small.
    fn on_server_msg<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from: usize,
        msg: RaftMsg<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let term = match &msg {
            RaftMsg::RequestVote { term, .. }
            | RaftMsg::RequestVoteReply { term, .. }
            | RaftMsg::AppendEntries { term, .. }
            | RaftMsg::AppendEntriesReply { term, .. } => *term,
            RaftMsg::Request(_) | RaftMsg::Reply(_) => {
                unreachable!("client messages are dispatched before the term rule")
            }
        };
        if term > s.durable.current_term {
            s.durable.current_term = term;
            s.durable.voted_for = None;
            s.role = Role::Follower { leader: None };
        }
        let stale = term < s.durable.current_term;
        match msg {
            RaftMsg::RequestVote { .. } if stale => {
                // A candidate of an earlier term: rejected (no vote, no answer).
            }
            RaftMsg::AppendEntries { .. } if stale && !self.has(RaftBug::AcceptStaleAppend) => {
                // A leader of an earlier term: rejected (nothing stored, no answer).
            }
            RaftMsg::RequestVoteReply { .. } | RaftMsg::AppendEntriesReply { .. } if stale => {
                // The result of a request from an earlier term: this server has moved on.
            }
            RaftMsg::RequestVote {
                last_log_index,
                last_log_term,
                ..
            } => self.on_request_vote(s, from, last_log_index, last_log_term, o),
            RaftMsg::RequestVoteReply { vote_granted, .. } => {
                self.on_request_vote_reply(me, s, from, vote_granted, o)
            }
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => self.on_append_entries(
                me,
                s,
                from,
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                o,
            ),
            RaftMsg::AppendEntriesReply { success, index, .. } => {
                self.on_append_entries_reply(me, s, from, success, index, o)
            }
            RaftMsg::Request(_) | RaftMsg::Reply(_) => {
                unreachable!("client messages are dispatched before the term rule")
            }
        }
    }

    /// Whether this server, now in state `s` with `saved` storage, ignores `msg`
    /// from server `from` in every state it can reach: the model then discards the message
    /// ([`ClusterModel::discard_obsolete`]). A server never goes below its saved term (it
    /// recovers to it), so a message of a lower term stays stale; a result of the saved term is
    /// useful only to a server that is *now* the candidate (or leader) of that term, since no
    /// server becomes candidate or leader of a term it already holds.
    pub fn ignores_forever<K, V>(
        &self,
        s: &ServerState<K, V>,
        saved: Option<&RaftStorage<K, V>>,
        from: usize,
        msg: &RaftMsg<K, V>,
    ) -> bool {
        let now = s.durable.current_term;
        let saved_term = saved.map_or(0, |d| d.current_term);
        match msg {
            RaftMsg::RequestVote { term, .. } => {
                // Also ignored for good: a request in a term whose saved vote went to another
                // server (a denial is not answered, and the vote is never taken back).
                let voted_other = saved.is_some_and(|d| {
                    d.current_term == *term && d.voted_for.is_some_and(|v| v as usize != from)
                });
                *term < saved_term || (voted_other && !self.has(RaftBug::VoteTwice))
            }
            RaftMsg::AppendEntries { term, .. } => {
                *term < saved_term && !self.has(RaftBug::AcceptStaleAppend)
            }
            RaftMsg::RequestVoteReply { term, .. } => {
                *term < saved_term
                    || (*term == saved_term
                        && !(now == *term && matches!(s.role, Role::Candidate { .. })))
            }
            RaftMsg::AppendEntriesReply {
                term,
                success,
                index,
            } => match &s.role {
                Role::Leader { match_index, .. } if now == *term => {
                    // `matchIndex` only grows while this server leads.
                    *success && match_index.get(from).is_some_and(|m| index <= m)
                }
                Role::Leader { .. } | Role::Follower { .. } | Role::Candidate { .. } => {
                    *term <= saved_term
                }
            },
            RaftMsg::Request(_) | RaftMsg::Reply(_) => false,
        }
    }

    /// Runs `step` on a copy of the server's state, then saves persistent state if it changed
    /// (before any message the step sends: Figure 2's "updated on stable storage before
    /// responding to RPCs"), keeps the election and heartbeat timers in line with the role,
    /// and records the Leader Append-Only ghost.
    fn step<K: Value, V: Value>(
        &self,
        before: &ServerState<K, V>,
        event: Event,
        o: &mut RaftOut<K, V>,
        step: impl FnOnce(&mut ServerState<K, V>, &mut RaftOut<K, V>),
    ) -> Option<ServerState<K, V>> {
        let mut after = before.clone();
        let mut out = Out::new();
        step(&mut after, &mut out);
        if before.is_leader()
            && after.is_leader()
            && before.durable.current_term == after.durable.current_term
            && !after.durable.log.starts_with(&before.durable.log)
        {
            after.leader_overwrote = true;
        }
        let unsaved = event == Event::RequestVote && self.has(RaftBug::UnsavedVote);
        if after.durable != before.durable && !unsaved {
            o.save(after.durable.clone());
        }
        // The election timer that fired is gone; otherwise it is set exactly when wanted.
        let had = event != Event::ElectionTimeout && self.wants_election_timer(before);
        match (had, self.wants_election_timer(&after)) {
            (false, true) => o.set_timer(RaftTimer::Election, election_timeout()),
            (true, false) => o.cancel_timer(RaftTimer::Election),
            (true, true) | (false, false) => {}
        }
        if self.heartbeats && before.is_leader() && !after.is_leader() {
            o.cancel_timer(RaftTimer::Heartbeat);
        }
        o.append(&mut out);
        (after != *before).then_some(after)
    }
}

/// What a step handles, as far as [`RaftServer::step`] needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A RequestVote (the unsaved-vote mutant skips the save).
    RequestVote,
    /// The election timer fired (and is no longer set).
    ElectionTimeout,
    /// Any other message.
    Other,
}

/// The state machine of a server: its applied entries, applied again to an empty map (it is
/// small in the model; a real server would keep it).
pub fn state_machine<K: Value, V: Value>(durable: &RaftStorage<K, V>) -> KvStateMachine<K, V> {
    let mut sm = KvStateMachine::default();
    for (_, e) in &durable.applied {
        sm.apply(e, true);
    }
    sm
}

impl<K: Value, V: Value> Actor for RaftActor<K, V> {
    type Msg = RaftMsg<K, V>;
    type State = RaftState<K, V>;
    type Timer = RaftTimer;
    type Random = ();
    type Storage = RaftStorage<K, V>;

    fn name(&self) -> String {
        match self {
            Self::Server(_) => "Server".into(),
            Self::Client(_) => "Client".into(),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Self::Server(server) => RaftState::Server(server.on_start(storage, o)),
            Self::Client(client) => RaftState::Client(client.on_start(o)),
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
            (Self::Server(server), RaftState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let event = match msg {
                    RaftMsg::RequestVote { .. } => Event::RequestVote,
                    _ => Event::Other,
                };
                let after = match (msg, server.index_of(src)) {
                    (RaftMsg::Request(r), _) => server.step(before, event, o, |s, o| {
                        server.on_client_request(me, s, src, r, o)
                    }),
                    (RaftMsg::Reply(_), _) => {
                        // Answers meant for clients; a server sends no requests.
                        None
                    }
                    (
                        msg @ (RaftMsg::RequestVote { .. }
                        | RaftMsg::RequestVoteReply { .. }
                        | RaftMsg::AppendEntries { .. }
                        | RaftMsg::AppendEntriesReply { .. }),
                        Some(from),
                    ) => server.step(before, event, o, |s, o| {
                        server.on_server_msg(me, s, from, msg, o)
                    }),
                    (
                        RaftMsg::RequestVote { .. }
                        | RaftMsg::RequestVoteReply { .. }
                        | RaftMsg::AppendEntries { .. }
                        | RaftMsg::AppendEntriesReply { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                        None
                    }
                };
                if let Some(after) = after {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Client(client), RaftState::Client(c)) => match msg {
                RaftMsg::Reply(reply) => {
                    if let Some(next) = client.on_reply(c, &reply, o) {
                        *state = Cow::Owned(RaftState::Client(next));
                    }
                }
                RaftMsg::Request(_)
                | RaftMsg::RequestVote { .. }
                | RaftMsg::RequestVoteReply { .. }
                | RaftMsg::AppendEntries { .. }
                | RaftMsg::AppendEntriesReply { .. } => {
                    // Server messages; a client takes part in none of them.
                }
            },
            (Self::Server(_), RaftState::Client(_)) | (Self::Client(_), RaftState::Server(_)) => {
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
        match (self, &**state, timer) {
            (Self::Server(server), RaftState::Server(before), RaftTimer::Election) => {
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(before, Event::ElectionTimeout, o, |s, o| {
                    server.start_election(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Heartbeat) => {
                if !before.is_leader() {
                    // Stepped down since the timer was set.
                    return;
                }
                let me = server.index_of(id).expect("a server is among its peers");
                for peer in server.others(me) {
                    server.send_append_entries(before, peer, o);
                }
                o.set_timer(RaftTimer::Heartbeat, heartbeat_interval());
            }
            (Self::Client(client), RaftState::Client(c), RaftTimer::Client(_)) => {
                if let Some(next) = client.on_retry(c, o) {
                    *state = Cow::Owned(RaftState::Client(next));
                }
            }
            (Self::Client(_), RaftState::Client(_), RaftTimer::Election | RaftTimer::Heartbeat)
            | (Self::Server(_), RaftState::Server(_), RaftTimer::Client(_)) => {
                // Each role sets only its own timers.
            }
            (Self::Server(_), RaftState::Client(_), _)
            | (Self::Client(_), RaftState::Server(_), _) => {
                unreachable!("an actor's state always matches its role")
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Symmetry: every server identity is rewritten through the plan
// ---------------------------------------------------------------------------------------------

fn permute_servers<S>(per_server: &[Index], plan: &RewritePlan<Id, S>) -> Vec<Index> {
    let mut out = vec![0; per_server.len()];
    for (i, v) in per_server.iter().enumerate() {
        out[rewrite_server_index(i as u8, plan) as usize] = *v;
    }
    out
}

impl<K: Clone, V: Clone> Rewrite<Id> for LogEntry<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        LogEntry {
            term: self.term,
            entry: self.entry.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for RaftStorage<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        RaftStorage {
            current_term: self.current_term,
            voted_for: self.voted_for.map(|v| rewrite_server_index(v, plan)),
            log: self.log.rewrite(plan),
            applied: self
                .applied
                .iter()
                .map(|(i, e)| (*i, e.rewrite(plan)))
                .collect(),
            applied_terms: self.applied_terms.clone(),
        }
    }
}

impl Rewrite<Id> for Role {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Role::Follower { leader } => Role::Follower {
                leader: leader.map(|l| rewrite_server_index(l, plan)),
            },
            Role::Candidate { votes } => Role::Candidate {
                votes: votes.rewrite(plan),
            },
            Role::Leader {
                next_index,
                match_index,
            } => Role::Leader {
                next_index: permute_servers(next_index, plan),
                match_index: permute_servers(match_index, plan),
            },
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for RaftState<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            RaftState::Server(s) => RaftState::Server(ServerState {
                durable: s.durable.rewrite(plan),
                role: s.role.rewrite(plan),
                commit_index: s.commit_index,
                leader_overwrote: s.leader_overwrote,
            }),
            RaftState::Client(c) => RaftState::Client(c.rewrite(plan)),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for RaftMsg<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            RaftMsg::Request(r) => RaftMsg::Request(r.rewrite(plan)),
            RaftMsg::Reply(r) => RaftMsg::Reply(r.rewrite(plan)),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
            } => RaftMsg::AppendEntries {
                term: *term,
                prev_log_index: *prev_log_index,
                prev_log_term: *prev_log_term,
                entries: entries.rewrite(plan),
                leader_commit: *leader_commit,
            },
            RaftMsg::RequestVote { .. }
            | RaftMsg::RequestVoteReply { .. }
            | RaftMsg::AppendEntriesReply { .. } => self.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// What the model records besides the actors: the clients' operations (for linearizability) and
/// which server led each term (ghost, for Election Safety).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RaftHistory {
    /// Client operations, invoked and answered.
    pub clients: KvHistory<ModelKey, ModelValue>,
    /// `(term, server)` for every server that acted as leader of `term` (it sent AppendEntries
    /// in that term), sorted.
    pub leaders: Vec<(Term, u8)>,
}

impl Rewrite<Id> for RaftHistory {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut leaders: Vec<(Term, u8)> = self
            .leaders
            .iter()
            .map(|(t, s)| (*t, rewrite_server_index(*s, plan)))
            .collect();
        leaders.sort();
        RaftHistory {
            clients: self.clients.rewrite(plan),
            leaders,
        }
    }
}

/// The checked model.
pub type RaftModel = ClusterModel<RaftActor<ModelKey, ModelValue>, RaftConfig, RaftHistory>;

/// A state of the checked model.
pub type RaftModelState = ActorModelState<RaftActor<ModelKey, ModelValue>, RaftHistory>;

/// The configuration of a Raft model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest term an election may start (`--max-term`).
    pub max_term: Term,
    /// The longest log a leader appends to (`--max-log`).
    pub max_log: Index,
    /// Requests per client (`--requests`): put, then cas, then get, cycling.
    pub requests: usize,
    /// Retries per request (`--retries`).
    pub retries: u8,
    /// New leaders append a no-op when they hold uncommitted entries (`--noop`).
    pub noop: bool,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<RaftBug>,
}

impl Default for RaftConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig {
                servers: 3,
                clients: 1,
                crashes: 1,
                ..ClusterConfig::default()
            },
            max_term: 3,
            max_log: 2,
            requests: 2,
            retries: 0,
            noop: false,
            bug: None,
        }
    }
}

impl RaftConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        if self.max_term == 0 || self.max_term > 15 {
            return Err(format!(
                "--max-term must be between 1 and 15, got {}",
                self.max_term
            ));
        }
        if self.max_log == 0 || self.max_log > 15 {
            return Err(format!(
                "--max-log must be between 1 and 15, got {}",
                self.max_log
            ));
        }
        if self.requests > 9 {
            return Err(format!(
                "--requests must be at most 9, got {}",
                self.requests
            ));
        }
        Ok(())
    }

    /// Builds the model: servers `0..n`, then clients; client `c` sends first to server
    /// `c mod n`.
    ///
    /// Leaders send no timer-driven heartbeats in the model: the checker fires a timer at any
    /// moment, so heartbeats would not hold off elections, and a leader already sends
    /// AppendEntries on every change (election, new entry, result, commit). With a lossless
    /// network nothing needs resending; with `--lossy` the check covers safety under message
    /// loss, not progress.
    pub fn into_model(self) -> RaftModel {
        let n = self.cluster.servers;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let server = RaftServer {
            peers: peers.clone(),
            max_term: self.max_term,
            max_log: self.max_log,
            noop: self.noop,
            heartbeats: false,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| {
                RaftActor::Client(KvClient {
                    servers: peers.clone(),
                    ops: model_ops(c, self.requests),
                    first: c % n,
                    max_retries: self.retries,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let history = RaftHistory {
            clients: KvHistory::new(KvSpec::default()),
            leaders: Vec::new(),
        };
        let inner = ActorModel::new(self, history)
            .actors((0..n).map(|_| RaftActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_out)
            .record_msg_in(record_in);
        ClusterModel::new(inner, n)
            .discard_obsolete(obsolete)
            .restart_on_crash()
            .always("Election Safety", |m, s| election_safety(m, s).is_none())
            .always("Leader Append-Only", |m, s| {
                leader_append_only(m, s).is_none()
            })
            .always("Log Matching", |m, s| log_matching(m, s).is_none())
            .always("Leader Completeness", |m, s| {
                leader_completeness(m, s).is_none()
            })
            .always("State Machine Safety", |m, s| {
                state_machine_safety(m, s).is_none()
            })
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .sometimes("Leader elected", |m, s| {
                servers(m, s).any(|(_, s)| s.is_leader())
            })
            .sometimes("Entry committed", |m, s| {
                props::decided_somewhere(&View(m, s))
            })
            .sometimes("New leader commits after a leader crash", |m, s| {
                new_leader_commits_after_crash(m, s)
            })
    }
}

/// The messages the model discards: those their receiver ignores in every reachable state.
fn obsolete(
    m: &RaftModel,
    s: &RaftModelState,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> bool {
    let dst = usize::from(env.dst);
    match (
        m.inner.actors.get(dst),
        s.actor_states.get(dst).map(|a| &**a),
    ) {
        (Some(RaftActor::Server(server)), Some(RaftState::Server(state))) => {
            let Some(from) = server.index_of(env.src) else {
                return false;
            };
            server.ignores_forever(state, s.actor_storages[dst].as_ref(), from, env.msg)
        }
        (Some(RaftActor::Client(_)), Some(RaftState::Client(c))) => match env.msg {
            // A client answered `done` requests and never goes back.
            RaftMsg::Reply(r) => r.req() <= c.done as u32,
            _ => false,
        },
        _ => false,
    }
}

fn record_out(
    cfg: &RaftConfig,
    h: &RaftHistory,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> Option<RaftHistory> {
    match env.msg {
        RaftMsg::AppendEntries { term, .. } if usize::from(env.src) < cfg.cluster.servers => {
            let led = (*term, usize::from(env.src) as u8);
            let at = h.leaders.binary_search(&led).err()?;
            let mut next = h.clone();
            next.leaders.insert(at, led);
            Some(next)
        }
        _ => {
            let clients = record_request(cfg, &h.clients, env)?;
            Some(RaftHistory {
                clients,
                leaders: h.leaders.clone(),
            })
        }
    }
}

fn record_in(
    cfg: &RaftConfig,
    h: &RaftHistory,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> Option<RaftHistory> {
    let clients = record_reply(cfg, &h.clients, env)?;
    Some(RaftHistory {
        clients,
        leaders: h.leaders.clone(),
    })
}

type ModelServer = ServerState<ModelKey, ModelValue>;

/// The servers' states, with their indices.
fn servers<'a>(
    m: &'a RaftModel,
    s: &'a RaftModelState,
) -> impl Iterator<Item = (usize, &'a ModelServer)> + 'a {
    (0..m.servers).map(move |i| match &*s.actor_states[i] {
        RaftState::Server(server) => (i, server),
        RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
    })
}

/// **Election Safety** (§5.2, Figure 3): at most one leader can be elected in a given term.
/// Checked on the ghost record of every server that acted as leader (sent AppendEntries) in each
/// term, so that a leader that crashed or stepped down still counts.
pub fn election_safety(_: &RaftModel, s: &RaftModelState) -> Option<String> {
    s.history
        .leaders
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| {
            format!(
                "servers {} and {} were both leader of term {}",
                w[0].1, w[1].1, w[0].0
            )
        })
}

/// **Leader Append-Only** (§5.3, Figure 3): a leader never overwrites or deletes entries in its
/// log; it only appends new entries. Each step of a leader compares its log before and after
/// (in [`RaftServer`]'s step wrapper) and sets a ghost flag if the old log is not a prefix of the
/// new one.
pub fn leader_append_only(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    servers(m, s).find(|(_, s)| s.leader_overwrote).map(|(i, s)| {
        format!(
            "server {i}, leader of term {}, overwrote or deleted entries of its own log (now {:?})",
            s.durable.current_term, s.durable.log
        )
    })
}

/// **Log Matching** (§5.3, Figure 3): if two logs contain an entry with the same index and term,
/// then the logs are identical in all entries up through the given index. Checked on every pair
/// of servers' logs.
pub fn log_matching(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let all: Vec<_> = servers(m, s).collect();
    for (a, sa) in &all {
        for (b, sb) in all.iter().filter(|(b, _)| b > a) {
            let (la, lb) = (&sa.durable.log, &sb.durable.log);
            let common = la.len().min(lb.len());
            if let Some(i) = (0..common).rev().find(|&i| la[i].term == lb[i].term)
                && la[..=i] != lb[..=i]
            {
                return Some(format!(
                    "servers {a} and {b} both hold a term-{} entry at index {} but their logs \
                     differ before it: {:?} vs {:?}",
                    la[i].term,
                    i + 1,
                    &la[..=i],
                    &lb[..=i]
                ));
            }
        }
    }
    None
}

/// **Leader Completeness** (§5.4, Figure 3): if a log entry is committed in a given term, then
/// that entry will be present in the logs of the leaders for all higher-numbered terms. Every
/// applied entry was committed in (at most) the term its server was in when it applied it; so
/// every current leader whose term is higher must hold that entry at that index.
pub fn leader_completeness(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    for (l, leader) in servers(m, s).filter(|(_, s)| s.is_leader()) {
        let term = leader.durable.current_term;
        for (i, server) in servers(m, s) {
            let d = &server.durable;
            for ((slot, entry), applied) in d.applied.iter().zip(&d.applied_terms) {
                if applied.at >= term {
                    continue;
                }
                let held = leader.durable.log.get(*slot as usize - 1);
                if held.is_none_or(|e| e.term != applied.term || e.entry != *entry) {
                    return Some(format!(
                        "server {i} applied {:?} at index {slot} in term {}, but server {l}, \
                         leader of the later term {term}, holds {} there",
                        LogEntry {
                            term: applied.term,
                            entry: entry.clone()
                        },
                        applied.at,
                        held.map_or("nothing".to_string(), |e| format!("{e:?}"))
                    ));
                }
            }
        }
    }
    None
}

/// **State Machine Safety** (§5.4.3, Figure 3): if a server has applied a log entry at a given
/// index to its state machine, no other server will ever apply a different log entry for the
/// same index. Checked on the durable decision logs (entry and term), pairwise.
pub fn state_machine_safety(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let all: Vec<_> = servers(m, s)
        .map(|(i, s)| {
            let d = &s.durable;
            let entries: Vec<(Slot, Term, &Entry<ModelKey, ModelValue>)> = d
                .applied
                .iter()
                .zip(&d.applied_terms)
                .map(|((slot, e), a)| (*slot, a.term, e))
                .collect();
            (i, entries)
        })
        .collect();
    for (a, ea) in &all {
        for (b, eb) in all.iter().filter(|(b, _)| b >= a) {
            for (slot, ta, xa) in ea {
                for (slot_b, tb, xb) in eb {
                    if slot == slot_b && (ta != tb || xa != xb) {
                        return Some(format!(
                            "server {a} applied {:?} and server {b} applied {:?} at index {slot}",
                            LogEntry {
                                term: *ta,
                                entry: (*xa).clone()
                            },
                            LogEntry {
                                term: *tb,
                                entry: (*xb).clone()
                            }
                        ));
                    }
                }
            }
        }
    }
    None
}

/// "After a leader crashes, a new leader commits an entry": a server that led term t is, still
/// in term t, no longer leader (a leader steps down only for a higher term, so it crashed and
/// restarted), and a leader of a later term has applied an entry in its own term.
fn new_leader_commits_after_crash(m: &RaftModel, s: &RaftModelState) -> bool {
    let all: Vec<_> = servers(m, s).collect();
    s.history.leaders.iter().any(|&(t, old)| {
        let old = all[old as usize].1;
        old.durable.current_term == t
            && !old.is_leader()
            && all.iter().any(|(_, new)| {
                let now = new.durable.current_term;
                new.is_leader() && now > t && new.durable.applied_terms.iter().any(|a| a.at == now)
            })
    })
}

/// The consensus view of a model state: servers' decision logs (applied entries), clients'
/// commands.
pub struct View<'a>(pub &'a RaftModel, pub &'a RaftModelState);

impl ConsensusView for View<'_> {
    type Value = Entry<ModelKey, ModelValue>;

    fn server_count(&self) -> usize {
        self.0.servers
    }

    fn decision_log(&self, server: usize) -> &[(Slot, Self::Value)] {
        match &*self.1.actor_states[server] {
            RaftState::Server(s) => &s.durable.applied,
            RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
        }
    }

    fn is_proposed(&self, value: &Self::Value) -> bool {
        match value {
            Entry::Noop => true,
            Entry::Cmd(cmd) => self
                .0
                .inner
                .actors
                .iter()
                .enumerate()
                .any(|(i, a)| matches!(a, RaftActor::Client(c) if c.issued(Id::from(i), cmd))),
        }
    }

    // `reapplied` keeps its default (none): Raft's servers always apply with deduplication,
    // so no request runs twice (`KvStateMachine::apply` with `dedup` never records one).
}

/// Why `state` violates `property`, in words, for counterexamples.
pub fn explain(model: &RaftModel, state: &RaftModelState, property: &str) -> Option<String> {
    match property {
        "Election Safety" => election_safety(model, state),
        "Leader Append-Only" => leader_append_only(model, state),
        "Log Matching" => log_matching(model, state),
        "Leader Completeness" => leader_completeness(model, state),
        "State Machine Safety" => state_machine_safety(model, state),
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             key-value map (compare what each client was told)"
                .into(),
        ),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}

/// Symmetry reduction for Raft models: servers are interchangeable.
pub fn symmetry(state: &RaftModelState) -> RaftModelState {
    crate::cluster::server_symmetry(state)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::actor::ActorModelAction;
    use stateright::{Checker, Expectation, HasDiscoveries, Model};
    use std::collections::{HashSet, VecDeque};
    use std::hash::{BuildHasher, RandomState};

    /// 3 servers, `clients` clients with `requests` requests each, no crashes, terms up to
    /// `max_term`, logs up to `max_log`.
    fn cfg(clients: usize, requests: usize, max_term: Term, max_log: Index) -> RaftConfig {
        RaftConfig {
            cluster: ClusterConfig {
                servers: 3,
                clients,
                crashes: 0,
                ..ClusterConfig::default()
            },
            max_term,
            max_log,
            requests,
            retries: 0,
            noop: false,
            bug: None,
        }
    }

    fn with(mut c: RaftConfig, f: impl FnOnce(&mut RaftConfig)) -> RaftConfig {
        f(&mut c);
        c
    }

    /// Checks `c` exhaustively (BFS, or DFS with symmetry reduction): every "always" property
    /// holds. Returns the unique state count and the "sometimes" properties witnessed.
    fn safe(c: RaftConfig, symmetric: bool) -> (usize, Vec<&'static str>) {
        let builder = c.into_model().checker();
        if symmetric {
            verdicts(builder.symmetry_fn(symmetry).spawn_dfs().join())
        } else {
            verdicts(builder.spawn_bfs().join())
        }
    }

    fn verdicts(checker: impl Checker<RaftModel>) -> (usize, Vec<&'static str>) {
        assert!(checker.is_done());
        let mut witnessed = Vec::new();
        for p in checker.model().properties() {
            let found = checker.discovery(p.name).is_some();
            match p.expectation {
                Expectation::Always => assert!(!found, "{} violated", p.name),
                Expectation::Sometimes if found => witnessed.push(p.name),
                Expectation::Sometimes | Expectation::Eventually => {}
            }
        }
        (checker.unique_state_count(), witnessed)
    }

    const ALL_WITNESSED: [&str; 3] = [
        "Leader elected",
        "Entry committed",
        "New leader commits after a leader crash",
    ];

    /// Unique state counts of small configurations, pinned so that a behaviour change is seen.
    #[test]
    fn correct_raft_holds_with_pinned_state_counts() {
        let crashes = |c: &mut RaftConfig| c.cluster.crashes = 1;
        // One write, two terms, crash-restarts (BFS).
        assert_eq!(
            safe(with(cfg(1, 1, 2, 1), crashes), false),
            (68_273, ALL_WITNESSED.to_vec())
        );
        // Two writes, no crashes (BFS): no leader crashes.
        assert_eq!(
            safe(cfg(1, 2, 2, 2), false),
            (56_904, ALL_WITNESSED[..2].to_vec())
        );
        // Two writes, two terms, crash-restarts (DFS with symmetry): everything witnessed.
        assert_eq!(
            safe(with(cfg(1, 2, 2, 2), crashes), true),
            (178_620, ALL_WITNESSED.to_vec())
        );
    }

    /// The always-properties violated when single-threaded BFS stops, and the length of the
    /// (first) counterexample.
    fn violated(c: RaftConfig) -> (Vec<&'static str>, usize) {
        let checker = c
            .into_model()
            .checker()
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let names: Vec<_> = checker
            .model()
            .properties()
            .into_iter()
            .filter(|p| p.expectation == Expectation::Always)
            .filter(|p| checker.discovery(p.name).is_some())
            .map(|p| p.name)
            .collect();
        let len = names
            .first()
            .map(|n| checker.discovery(n).unwrap().into_actions().len())
            .expect("the checker finds a counterexample");
        (names, len)
    }

    /// The smallest configuration that shows each bug (see docs/raft.md).
    fn smallest(bug: RaftBug) -> RaftConfig {
        let c = match bug {
            RaftBug::VoteTwice => cfg(0, 0, 1, 1),
            RaftBug::UnsavedVote => with(cfg(0, 0, 1, 1), |c| c.cluster.crashes = 1),
            RaftBug::VoteWithoutLogCheck => cfg(1, 1, 2, 1),
            RaftBug::TruncateWithoutConflict => cfg(1, 2, 2, 2),
            RaftBug::AcceptStaleAppend => cfg(2, 1, 2, 1),
            RaftBug::CommitPreviousTerm => cfg(2, 1, 4, 1),
        };
        RaftConfig {
            bug: Some(bug),
            ..c
        }
    }

    #[test]
    fn every_bug_is_caught_breaking_its_catalogued_property() {
        for (bug, info) in BUGS {
            if *bug == RaftBug::CommitPreviousTerm {
                continue; // The slowest; its own test below.
            }
            let (properties, steps) = violated(smallest(*bug));
            assert!(
                properties.contains(&info.breaks),
                "bug {}: {properties:?}",
                info.name
            );
            assert!(steps >= 5, "bug {}: {steps} steps", info.name);
        }
    }

    /// Figure 8: the leader of term 3 counts the replicas of a term-1 entry and commits it; the
    /// leader of term 4, elected without it, would overwrite it.
    #[test]
    fn figure_8_commit_by_counting_breaks_leader_completeness() {
        let checker = smallest(RaftBug::CommitPreviousTerm)
            .into_model()
            .checker()
            .symmetry_fn(symmetry)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_dfs()
            .join();
        assert!(checker.discovery("Leader Completeness").is_some());
    }

    /// The bug of Stateright's own Raft example: a server that forgets its vote when it
    /// crashes votes twice in one term. Ballot's servers save their vote before answering, so
    /// a recovered server keeps it; the unsaved-vote mutant is caught, and only with crashes.
    #[test]
    fn a_recovered_server_keeps_its_vote() {
        let crashes = with(cfg(0, 0, 1, 1), |c| c.cluster.crashes = 1);
        let unsaved = |c: RaftConfig| RaftConfig {
            bug: Some(RaftBug::UnsavedVote),
            ..c
        };
        let (properties, _) = violated(unsaved(crashes.clone()));
        assert_eq!(properties, ["Election Safety"]);
        safe(crashes, false);
        let checker = unsaved(cfg(0, 0, 1, 1))
            .into_model()
            .checker()
            .spawn_bfs()
            .join();
        checker.assert_no_discovery("Election Safety");
        assert!(checker.is_done());
    }

    /// Symmetry reduction (DFS) explores fewer states, keeps the correct protocol green and
    /// still finds a bug.
    #[test]
    fn symmetry_reduction_is_sound_on_small_configurations() {
        let c = with(cfg(1, 1, 2, 1), |c| c.cluster.crashes = 1);
        let plain = c.clone().into_model().checker().spawn_dfs().join();
        let reduced = c
            .into_model()
            .checker()
            .symmetry_fn(symmetry)
            .spawn_dfs()
            .join();
        for checker in [&plain, &reduced] {
            assert!(checker.is_done());
            for p in checker.model().properties() {
                let found = checker.discovery(p.name).is_some();
                match p.expectation {
                    Expectation::Always => assert!(!found, "{} violated", p.name),
                    Expectation::Sometimes => assert!(found, "{} not witnessed", p.name),
                    Expectation::Eventually => unreachable!("no eventually properties"),
                }
            }
        }
        assert_eq!(
            (plain.unique_state_count(), reduced.unique_state_count()),
            (68_273, 20_621)
        );
        for (bug, info) in BUGS {
            if *bug == RaftBug::CommitPreviousTerm {
                continue; // Tested with symmetry above.
            }
            let checker = smallest(*bug)
                .into_model()
                .checker()
                .symmetry_fn(symmetry)
                .finish_when(HasDiscoveries::AnyFailures)
                .spawn_dfs()
                .join();
            assert!(
                checker.discovery(info.breaks).is_some(),
                "bug {} with symmetry",
                info.name
            );
        }
    }

    /// The model discards a message only if its receiver ignores it for good. Explored without
    /// discarding (the first `max_states` states, BFS), every state must satisfy: a message the predicate calls obsolete is ignored
    /// when delivered (a no-op), and stays obsolete after any step (so it is ignored forever).
    fn obsolete_messages_are_ignored_forever(c: RaftConfig, max_states: usize) -> usize {
        let mut model = c.into_model();
        model.obsolete = None;
        let hasher = RandomState::new();
        let mut seen = HashSet::new();
        let mut queue: VecDeque<RaftModelState> = model.init_states().into();
        let mut checked = 0;
        while let Some(state) = queue.pop_front() {
            if seen.len() >= max_states {
                break;
            }
            if !seen.insert(hasher.hash_one(&state)) {
                continue;
            }
            let dead: Vec<_> = state
                .network
                .iter_all()
                .filter(|env| obsolete(&model, &state, *env))
                .map(|env| env.to_cloned_msg())
                .collect();
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            for env in &dead {
                checked += 1;
                let deliver = ActorModelAction::Deliver {
                    src: env.src,
                    dst: env.dst,
                    msg: env.msg.clone(),
                };
                assert!(
                    model.next_state(&state, deliver).is_none(),
                    "delivering {env:?} changes something"
                );
            }
            for action in actions {
                let Some(next) = model.next_state(&state, action) else {
                    continue;
                };
                for env in &dead {
                    let still_there = next
                        .network
                        .iter_all()
                        .any(|e| e.src == env.src && e.dst == env.dst && *e.msg == env.msg);
                    assert!(
                        !still_there
                            || obsolete(
                                &model,
                                &next,
                                Envelope {
                                    src: env.src,
                                    dst: env.dst,
                                    msg: &env.msg
                                }
                            ),
                        "{env:?} became useful again"
                    );
                }
                queue.push_back(next);
            }
        }
        checked
    }

    #[test]
    fn discarding_obsolete_messages_hides_no_behaviour() {
        let small = |bug| {
            with(cfg(1, 1, 1, 1), |c| {
                c.cluster.crashes = 1;
                c.bug = bug;
            })
        };
        assert!(obsolete_messages_are_ignored_forever(small(None), 20_000) > 0);
        for bug in [
            RaftBug::UnsavedVote,
            RaftBug::AcceptStaleAppend,
            RaftBug::VoteTwice,
        ] {
            obsolete_messages_are_ignored_forever(small(Some(bug)), 20_000);
        }
        assert!(obsolete_messages_are_ignored_forever(cfg(0, 0, 2, 1), 20_000) > 0);
    }

    #[test]
    fn validation_names_the_flag() {
        let bad = with(RaftConfig::default(), |c| c.max_term = 0);
        assert!(bad.validate().unwrap_err().contains("--max-term"));
        let bad = with(RaftConfig::default(), |c| c.max_log = 99);
        assert!(bad.validate().unwrap_err().contains("--max-log"));
        let bad = with(RaftConfig::default(), |c| c.requests = 10);
        assert!(bad.validate().unwrap_err().contains("--requests"));
        assert!(RaftConfig::default().validate().is_ok());
    }

    #[test]
    fn bug_names_round_trip() {
        for (bug, info) in BUGS {
            assert_eq!(RaftBug::from_name(info.name), Some(*bug));
            assert_eq!(bug.info().name, info.name);
        }
        assert_eq!(RaftBug::from_name("nope"), None);
    }
}
