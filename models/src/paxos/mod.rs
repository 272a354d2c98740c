//! # Single-decree Paxos
//!
//! Leslie Lamport, *Paxos Made Simple* (2001). A set of servers chooses one value among those
//! proposed by clients. Every server plays the three roles of the paper:
//!
//! - **Proposer** (§2.2): on a client's request, picks a ballot higher than any it has seen and
//!   runs **Phase 1** (Prepare/Promise), then **Phase 2** (Accept/Accepted) with the value of the
//!   highest-numbered proposal reported in the Promises, or its client's value if none was.
//! - **Acceptor** (§2.2, P1a and P2c): promises not to accept ballots below the highest Prepare it
//!   answered, and accepts an Accept unless it promised a higher ballot. It saves its promise and
//!   accepted proposal *before* it replies, so that a crash-recover run stays safe.
//! - **Learner** (§2.3): the proposer that sees a majority of Accepted tells every server the
//!   decision; each server records it durably and answers the clients waiting for it.
//!
//! Clients propose a value (`Put`, answered with the *decided* value, which may be another
//! client's) and then read the decision (`Get`). The single slot is slot 0.
//!
//! The same actor runs in the model checker ([`PaxosConfig::into_model`]) and over UDP: handlers only
//! receive messages and emit commands (send, set timer, save).

use crate::cluster::{BugInfo, ClusterConfig, ClusterModel, ServerSet, lossy};
use ballot_properties::linearizability::{
    ClientHistory, RegisterOp, RegisterRet, RequestId, WriteOnceRegister,
};
use ballot_properties::{self as props, ConsensusView, Slot, majority};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Envelope, Id, Out};
use std::borrow::Cow;
use std::fmt::{self, Debug};
use std::hash::Hash;
use std::ops::Range;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// What a value must be to be proposed: small and comparable in the model (`char`), any
/// serializable type (a string) in a real run.
pub trait Value: Clone + Debug + Default + Eq + Hash + Ord + Send + Sync + 'static {}
impl<T: Clone + Debug + Default + Eq + Hash + Ord + Send + Sync + 'static> Value for T {}

/// A proposal number (§2.2): ordered by round, ties broken by proposer, so that "different
/// proposers choose their numbers from disjoint sets of numbers".
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ballot {
    /// Increases each time a proposer starts a new Phase 1.
    pub round: u32,
    /// Index of the proposer among the servers.
    pub proposer: u8,
}

impl Debug for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}.{}", self.round, self.proposer)
    }
}

/// The one slot single-decree Paxos decides.
pub const SLOT: Slot = 0;

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Messages between clients and servers, and among servers (named as in the paper).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PaxosMsg<V> {
    /// Client → server: propose `value`.
    Put {
        /// The client's request id.
        req: RequestId,
        /// The proposed value.
        value: V,
    },
    /// Server → client: the decided value (the client's own or another's).
    PutOk {
        /// The request answered.
        req: RequestId,
        /// The decision.
        decided: V,
    },
    /// Client → server: read the decision (answered once the server knows it).
    Get {
        /// The client's request id.
        req: RequestId,
    },
    /// Server → client: the decision.
    GetOk {
        /// The request answered.
        req: RequestId,
        /// The decision.
        decided: V,
    },
    /// Phase 1a, proposer → acceptors: "prepare request with number n".
    Prepare {
        /// The proposal number n.
        ballot: Ballot,
    },
    /// Phase 1b, acceptor → proposer: a promise not to accept proposals numbered below `ballot`,
    /// with the highest-numbered proposal the acceptor has accepted, if any.
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// The acceptor's accepted proposal.
        accepted: Option<(Ballot, V)>,
    },
    /// Phase 2a, proposer → acceptors: "accept request for a proposal numbered n with value v".
    Accept {
        /// The proposal number.
        ballot: Ballot,
        /// The value.
        value: V,
    },
    /// Phase 2b, acceptor → proposer: the acceptor accepted the proposal numbered `ballot`.
    Accepted {
        /// The proposal number.
        ballot: Ballot,
    },
    /// Proposer → learners (§2.3): `value` is chosen.
    Decided {
        /// The chosen value.
        value: V,
    },
}

/// The proposer's one timer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PaxosTimer {
    /// No decision yet: start Phase 1 again with a higher ballot (a Prepare or Accept was lost,
    /// or a competing proposer took over).
    Retry,
}

/// How long a proposer waits before retrying with a higher ballot, in a real run. The model
/// checker ignores durations: a set timer may fire at any moment.
pub fn retry_timeout() -> Range<Duration> {
    Duration::from_millis(150)..Duration::from_millis(450)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// What a server saves before answering, and recovers after a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PaxosStorage<V> {
    /// Acceptor: the highest ballot promised (P1a).
    pub promised: Option<Ballot>,
    /// Acceptor: the highest-numbered proposal accepted.
    pub accepted: Option<(Ballot, V)>,
    /// Proposer: the highest round this server used, so that it never reuses a ballot.
    pub last_round: u32,
    /// Learner: every decision event, oldest first (at most one in a correct run).
    pub decisions: Vec<(Slot, V)>,
}

impl<V> PaxosStorage<V> {
    /// The decided value, if this server knows it.
    pub fn decided(&self) -> Option<&V> {
        self.decisions.last().map(|(_, v)| v)
    }
}

/// A proposer's ballot in progress.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Proposal<V> {
    /// The ballot of this attempt.
    pub ballot: Ballot,
    /// The value of the client that asked this server.
    pub own_value: V,
    /// Which phase the ballot is in.
    pub phase: Phase<V>,
}

/// The two phases of a ballot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Phase<V> {
    /// Phase 1: Prepare sent, collecting Promises and the highest accepted proposal they report.
    Preparing {
        /// Acceptors that promised.
        promises: ServerSet,
        /// The highest-numbered accepted proposal reported so far.
        highest: Option<(Ballot, V)>,
    },
    /// Phase 2: Accept sent for `value`, collecting Accepted.
    Accepting {
        /// The value proposed.
        value: V,
        /// Acceptors that accepted.
        accepted: ServerSet,
    },
}

/// Why a client waits at a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Waiting {
    /// A `Put`, answered with `PutOk`.
    Put,
    /// A `Get`, answered with `GetOk`.
    Get,
}

/// A server: acceptor, proposer and learner.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerState<V> {
    /// Saved before every reply that depends on it.
    pub durable: PaxosStorage<V>,
    /// Volatile: the ballot this server is driving, if any.
    pub proposal: Option<Proposal<V>>,
    /// Volatile: clients waiting for the decision.
    pub waiting: Vec<(Id, RequestId, Waiting)>,
}

/// A model client: proposes its value, then reads the decision.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientState<V> {
    /// The request in flight, if any.
    pub awaiting: Option<RequestId>,
    /// What the client was told was decided.
    pub decided: Option<V>,
}

/// The state of a server or a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaxosState<V> {
    /// A server's state.
    Server(ServerState<V>),
    /// A client's state.
    Client(ClientState<V>),
}

/// The named bugs (mutants): each departs from the protocol in one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaxosBug {
    /// The acceptor accepts an Accept whose ballot is below its promise (violates P1a).
    AcceptBelowPromise,
    /// The proposer ignores the accepted proposals reported in Promises and proposes its own value.
    IgnorePromisedValues,
    /// The proposer adopts the last reported accepted value, not the highest-numbered one.
    AnyReportedValue,
    /// Quorums of n/2 servers instead of a majority (⌊n/2⌋ + 1).
    MinorityQuorum,
    /// The acceptor replies to Prepare without saving its promise first.
    UnsavedPromise,
    /// The proposer proposes a placeholder (the default value) when no value was reported.
    UnproposedValue,
    /// The learner decides again on every Decided message, even when it already decided.
    Redecide,
    /// A server answers Get with its acceptor's accepted value before the value is decided.
    ReadAccepted,
}

/// The catalog printed by `ballot bugs paxos`: each entry is exposed by
/// `ballot check paxos <args> --bug <name>`.
pub const BUGS: &[(PaxosBug, BugInfo)] = &[
    (
        PaxosBug::AcceptBelowPromise,
        BugInfo {
            name: "accept-below-promise",
            breaks: "Agreement",
            args: &[],
            summary: "the acceptor accepts an Accept numbered below the ballot it promised",
        },
    ),
    (
        PaxosBug::IgnorePromisedValues,
        BugInfo {
            name: "ignore-promised-values",
            breaks: "Agreement",
            args: &[],
            summary: "the proposer ignores the accepted values reported in Promises",
        },
    ),
    (
        PaxosBug::AnyReportedValue,
        BugInfo {
            name: "any-reported-value",
            breaks: "Agreement",
            args: &[],
            summary: "the proposer adopts the last reported value instead of the highest-numbered one",
        },
    ),
    (
        PaxosBug::MinorityQuorum,
        BugInfo {
            name: "minority-quorum",
            breaks: "Agreement",
            args: &[],
            summary: "quorums of n/2 servers instead of a majority",
        },
    ),
    (
        PaxosBug::UnsavedPromise,
        BugInfo {
            name: "unsaved-promise",
            breaks: "Agreement",
            args: &["--crashes", "1"],
            summary: "the acceptor answers Prepare without saving its promise (needs crashes)",
        },
    ),
    (
        PaxosBug::UnproposedValue,
        BugInfo {
            name: "unproposed-value",
            breaks: "Validity",
            args: &[],
            summary: "with no value reported, the proposer proposes a placeholder instead of its client's value",
        },
    ),
    (
        PaxosBug::Redecide,
        BugInfo {
            name: "redecide",
            breaks: "Integrity",
            args: &[],
            summary: "the learner decides again on every Decided message",
        },
    ),
    (
        PaxosBug::ReadAccepted,
        BugInfo {
            name: "read-accepted",
            breaks: "Linearizability",
            args: &[],
            summary: "a server answers Get with a value it accepted but that is not yet decided",
        },
    ),
];

impl PaxosBug {
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

/// A Paxos server's configuration: who its peers are, the model's bound, the bug it runs with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaxosServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest round a proposer may start (keeps the model finite; unbounded in real runs).
    pub max_round: u32,
    /// The mutant to run, if any.
    pub bug: Option<PaxosBug>,
}

/// A Paxos actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosActor<V> {
    /// A server.
    Server(PaxosServer),
    /// A model client: proposes `value` to `put_to`, then reads from `get_from`.
    Client {
        /// The value this client proposes.
        value: V,
        /// The server the proposal goes to.
        put_to: Id,
        /// The server the read goes to.
        get_from: Id,
    },
}

impl PaxosServer {
    fn has(&self, bug: PaxosBug) -> bool {
        self.bug == Some(bug)
    }

    fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn quorum(&self) -> usize {
        if self.has(PaxosBug::MinorityQuorum) {
            self.peers.len() / 2
        } else {
            majority(self.peers.len())
        }
    }

    fn others(&self, me: usize) -> impl Iterator<Item = &Id> {
        self.peers
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != me)
            .map(|(_, id)| id)
    }

    /// Phase 1a (§2.2): choose a new proposal number n and send a prepare request to the
    /// acceptors. The proposer's own acceptor promises at once (no message to itself), and the
    /// round is saved first, so a recovered proposer never reuses a ballot with another value.
    fn prepare<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        own_value: V,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let seen = s.durable.promised.map_or(0, |b| b.round);
        // Rounds are exhausted at `max_round` (the model's bound) or at u32::MAX (a peer may have
        // promised that high): no higher ballot exists, so this proposer stops proposing.
        let Some(round) = s.durable.last_round.max(seen).checked_add(1) else {
            return;
        };
        if round > self.max_round {
            return;
        }
        let ballot = Ballot {
            round,
            proposer: me as u8,
        };
        s.durable.last_round = round;
        s.durable.promised = Some(ballot);
        o.save(s.durable.clone());
        s.proposal = Some(Proposal {
            ballot,
            own_value,
            phase: Phase::Preparing {
                promises: ServerSet::default(),
                highest: None,
            },
        });
        for peer in self.others(me) {
            o.send(*peer, PaxosMsg::Prepare { ballot });
        }
        if round < self.max_round {
            o.set_timer(PaxosTimer::Retry, retry_timeout());
        }
        let own_report = s.durable.accepted.clone();
        self.on_promise(me, s, me, ballot, own_report, o);
    }

    /// Phase 1b (§2.2): "If an acceptor receives a prepare request with number n greater than
    /// that of any prepare request to which it has already responded, then it responds to the
    /// request with a promise not to accept any more proposals numbered less than n and with the
    /// highest-numbered proposal (if any) that it has accepted."
    fn on_prepare<V: Value>(
        &self,
        s: &mut ServerState<V>,
        src: Id,
        ballot: Ballot,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if s.durable.promised.is_some_and(|p| ballot <= p) {
            // Promised this ballot or a higher one already: no answer. The proposer retries with
            // a higher ballot when its timer fires.
            return;
        }
        s.durable.promised = Some(ballot);
        if !self.has(PaxosBug::UnsavedPromise) {
            o.save(s.durable.clone());
        }
        o.send(
            src,
            PaxosMsg::Promise {
                ballot,
                accepted: s.durable.accepted.clone(),
            },
        );
    }

    /// Phase 2a (§2.2): "If the proposer receives a response to its prepare requests (numbered n)
    /// from a majority of acceptors, then it sends an accept request to each of those acceptors
    /// for a proposal numbered n with a value v, where v is the value of the highest-numbered
    /// proposal among the responses, or is any value if the responses reported no proposals."
    fn on_promise<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        from: usize,
        ballot: Ballot,
        reported: Option<(Ballot, V)>,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let Some(p) = s.proposal.as_mut() else {
            // Not proposing (decided, or restarted): a late Promise.
            return;
        };
        let Phase::Preparing { promises, highest } = &mut p.phase else {
            // Phase 2 already started: this Promise came after the quorum.
            return;
        };
        if p.ballot != ballot {
            // A Promise for an earlier ballot of this proposer.
            return;
        }
        promises.insert(from);
        if let Some((b, v)) = reported {
            let adopt = match self.bug {
                Some(PaxosBug::IgnorePromisedValues) => false,
                Some(PaxosBug::AnyReportedValue) => true,
                _ => highest.as_ref().is_none_or(|(hb, _)| b > *hb),
            };
            if adopt {
                *highest = Some((b, v));
            }
        }
        if promises.len() < self.quorum() {
            return;
        }
        let value = match highest.take() {
            Some((_, v)) => v,
            None if self.has(PaxosBug::UnproposedValue) => V::default(),
            None => p.own_value.clone(),
        };
        p.phase = Phase::Accepting {
            value: value.clone(),
            accepted: ServerSet::default(),
        };
        for peer in self.others(me) {
            o.send(
                *peer,
                PaxosMsg::Accept {
                    ballot,
                    value: value.clone(),
                },
            );
        }
        // The proposer's own acceptor, without a message to itself.
        if self.accept(s, ballot, value, o) {
            self.on_accepted(me, s, me, ballot, o);
        }
    }

    /// Phase 2b (§2.2): "If an acceptor receives an accept request for a proposal numbered n, it
    /// accepts the proposal unless it has already responded to a prepare request having a number
    /// greater than n." It saves before it answers.
    fn on_accept<V: Value>(
        &self,
        s: &mut ServerState<V>,
        src: Id,
        ballot: Ballot,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if self.accept(s, ballot, value, o) {
            o.send(src, PaxosMsg::Accepted { ballot });
        }
        // Otherwise promised a higher ballot (P1a): no answer.
    }

    /// The acceptor's Phase 2b decision; true if it accepted (and saved) the proposal.
    fn accept<V: Value>(
        &self,
        s: &mut ServerState<V>,
        ballot: Ballot,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) -> bool {
        if s.durable.promised.is_some_and(|p| ballot < p) && !self.has(PaxosBug::AcceptBelowPromise)
        {
            return false;
        }
        if s.durable
            .accepted
            .as_ref()
            .is_some_and(|(b, v)| *b == ballot && *v == value)
        {
            // A duplicate Accept of the proposal already accepted: nothing new to save.
            return true;
        }
        s.durable.promised = s.durable.promised.max(Some(ballot));
        s.durable.accepted = Some((ballot, value));
        o.save(s.durable.clone());
        true
    }

    /// The proposer learns that its proposal is chosen (§2.3): a majority of acceptors accepted
    /// it. It decides, then tells every other learner.
    fn on_accepted<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        from: usize,
        ballot: Ballot,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let Some(p) = s.proposal.as_mut() else {
            // Not proposing any more: the decision is already known.
            return;
        };
        let Phase::Accepting { value, accepted } = &mut p.phase else {
            // Still in Phase 1: an Accepted for an earlier ballot.
            return;
        };
        if p.ballot != ballot {
            // An Accepted for an earlier ballot of this proposer.
            return;
        }
        accepted.insert(from);
        if accepted.len() < self.quorum() {
            return;
        }
        let value = value.clone();
        for peer in self.others(me) {
            o.send(
                *peer,
                PaxosMsg::Decided {
                    value: value.clone(),
                },
            );
        }
        self.learn(s, value, o);
    }

    /// A learner receives the decision.
    fn on_decided<V: Value>(&self, s: &mut ServerState<V>, value: V, o: &mut Out<PaxosActor<V>>) {
        if s.durable.decided().is_some() && !self.has(PaxosBug::Redecide) {
            // Already decided: a learner decides once.
            return;
        }
        self.learn(s, value, o);
    }

    /// Record the decision durably, stop proposing, answer every waiting client.
    fn learn<V: Value>(&self, s: &mut ServerState<V>, value: V, o: &mut Out<PaxosActor<V>>) {
        s.durable.decisions.push((SLOT, value.clone()));
        o.save(s.durable.clone());
        if s.proposal.take().is_some() {
            o.cancel_timer(PaxosTimer::Retry);
        }
        for (client, req, why) in s.waiting.drain(..) {
            let decided = value.clone();
            o.send(
                client,
                match why {
                    Waiting::Put => PaxosMsg::PutOk { req, decided },
                    Waiting::Get => PaxosMsg::GetOk { req, decided },
                },
            );
        }
    }

    /// A client proposes a value: answer at once if decided, else start a ballot (unless one is
    /// running) and answer when the decision is known.
    fn on_put<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        src: Id,
        req: RequestId,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if let Some(decided) = s.durable.decided() {
            o.send(
                src,
                PaxosMsg::PutOk {
                    req,
                    decided: decided.clone(),
                },
            );
            return;
        }
        if !s.waiting.contains(&(src, req, Waiting::Put)) {
            s.waiting.push((src, req, Waiting::Put));
        }
        if s.proposal.is_none() {
            self.prepare(me, s, value, o);
        }
    }

    /// A client reads the decision: answer once it is known.
    fn on_get<V: Value>(
        &self,
        s: &mut ServerState<V>,
        src: Id,
        req: RequestId,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let answer = match (s.durable.decided(), &s.durable.accepted) {
            (Some(decided), _) => Some(decided.clone()),
            (None, Some((_, v))) if self.has(PaxosBug::ReadAccepted) => Some(v.clone()),
            (None, _) => None,
        };
        match answer {
            Some(decided) => o.send(src, PaxosMsg::GetOk { req, decided }),
            None if !s.waiting.contains(&(src, req, Waiting::Get)) => {
                s.waiting.push((src, req, Waiting::Get))
            }
            None => {}
        }
    }
}

impl<V: Value> Actor for PaxosActor<V> {
    type Msg = PaxosMsg<V>;
    type State = PaxosState<V>;
    type Timer = PaxosTimer;
    type Random = ();
    type Storage = PaxosStorage<V>;

    fn name(&self) -> String {
        match self {
            Self::Server(_) => "Server".into(),
            Self::Client { .. } => "Client".into(),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Self::Server(_) => PaxosState::Server(ServerState {
                durable: storage.clone().unwrap_or_default(),
                proposal: None,
                waiting: Vec::new(),
            }),
            Self::Client { value, put_to, .. } => {
                o.send(
                    *put_to,
                    PaxosMsg::Put {
                        req: 1,
                        value: value.clone(),
                    },
                );
                PaxosState::Client(ClientState {
                    awaiting: Some(1),
                    decided: None,
                })
            }
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
            (Self::Server(server), PaxosState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let from = server.index_of(src);
                // Handlers work on a copy; the state is replaced only if it changed, so that
                // Stateright recognises ignored messages as no-ops.
                let mut after = before.clone();
                let s = &mut after;
                match (msg, from) {
                    (PaxosMsg::Put { req, value }, _) => server.on_put(me, s, src, req, value, o),
                    (PaxosMsg::Get { req }, _) => server.on_get(s, src, req, o),
                    (PaxosMsg::Prepare { ballot }, Some(_)) => server.on_prepare(s, src, ballot, o),
                    (PaxosMsg::Promise { ballot, accepted }, Some(from)) => {
                        server.on_promise(me, s, from, ballot, accepted, o)
                    }
                    (PaxosMsg::Accept { ballot, value }, Some(_)) => {
                        server.on_accept(s, src, ballot, value, o)
                    }
                    (PaxosMsg::Accepted { ballot }, Some(from)) => {
                        server.on_accepted(me, s, from, ballot, o)
                    }
                    (PaxosMsg::Decided { value }, Some(_)) => server.on_decided(s, value, o),
                    (
                        PaxosMsg::Prepare { .. }
                        | PaxosMsg::Promise { .. }
                        | PaxosMsg::Accept { .. }
                        | PaxosMsg::Accepted { .. }
                        | PaxosMsg::Decided { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                    }
                    (PaxosMsg::PutOk { .. } | PaxosMsg::GetOk { .. }, _) => {
                        // Answers meant for clients; a server sends no requests.
                    }
                }
                if after != *before {
                    *state = Cow::Owned(PaxosState::Server(after));
                }
            }
            (Self::Client { get_from, .. }, PaxosState::Client(c)) => match msg {
                PaxosMsg::PutOk { req, decided } if c.awaiting == Some(req) => {
                    let next = req + 1;
                    o.send(*get_from, PaxosMsg::Get { req: next });
                    *state.to_mut() = PaxosState::Client(ClientState {
                        awaiting: Some(next),
                        decided: Some(decided),
                    });
                }
                PaxosMsg::GetOk { req, decided } if c.awaiting == Some(req) => {
                    assert!(
                        c.decided.is_some(),
                        "a client reads only after its Put was answered"
                    );
                    *state.to_mut() = PaxosState::Client(ClientState {
                        awaiting: None,
                        decided: Some(decided),
                    });
                }
                PaxosMsg::PutOk { .. } | PaxosMsg::GetOk { .. } => {
                    // A duplicate or stale answer to a request no longer in flight.
                }
                PaxosMsg::Put { .. }
                | PaxosMsg::Get { .. }
                | PaxosMsg::Prepare { .. }
                | PaxosMsg::Promise { .. }
                | PaxosMsg::Accept { .. }
                | PaxosMsg::Accepted { .. }
                | PaxosMsg::Decided { .. } => {
                    // Server messages; a client takes part in none of them.
                }
            },
            (Self::Server(_), PaxosState::Client(_))
            | (Self::Client { .. }, PaxosState::Server(_)) => {
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
            (Self::Server(server), PaxosTimer::Retry) => {
                let PaxosState::Server(s) = &**state else {
                    unreachable!("servers have server state")
                };
                let Some(p) = &s.proposal else {
                    // Decided or restarted since the timer was set.
                    return;
                };
                let own_value = p.own_value.clone();
                let me = server.index_of(id).expect("a server is among its peers");
                let PaxosState::Server(s) = state.to_mut() else {
                    unreachable!()
                };
                server.prepare(me, s, own_value, o);
            }
            (Self::Client { .. }, PaxosTimer::Retry) => {
                // Model clients set no timers.
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// The model's value type: client `c` proposes the letter `'A' + c`.
pub type ModelValue = char;

/// The client history checked for linearizability against a write-once register.
pub type PaxosHistory = ClientHistory<WriteOnceRegister<ModelValue>>;

/// The checked model.
pub type PaxosModel = ClusterModel<PaxosActor<ModelValue>, PaxosConfig, PaxosHistory>;

/// A state of the checked model.
pub type PaxosModelState = ActorModelState<PaxosActor<ModelValue>, PaxosHistory>;

/// The configuration of a Paxos model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaxosConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest ballot round a proposer may start (`--max-round`).
    pub max_round: u32,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<PaxosBug>,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig::default(),
            max_round: 2,
            bug: None,
        }
    }
}

impl PaxosConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        Ok(())
    }

    /// The value client `c` proposes.
    pub fn client_value(c: usize) -> ModelValue {
        (b'A' + c as u8) as char
    }

    /// Builds the model: servers `0..n`, then clients; client `c` proposes to server `c mod n`
    /// and reads from server `(c + 1) mod n`.
    pub fn into_model(self) -> PaxosModel {
        let n = self.cluster.servers;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let server = PaxosServer {
            peers,
            max_round: self.max_round,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| PaxosActor::Client {
                value: Self::client_value(c),
                put_to: Id::from(c % n),
                get_from: Id::from((c + 1) % n),
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let inner = ActorModel::new(self, ClientHistory::new(WriteOnceRegister(None)))
            .actors((0..n).map(|_| PaxosActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_invocations)
            .record_msg_in(record_returns);
        ClusterModel::new(inner, n)
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| s.history.is_linearizable())
            .sometimes("Decision", |m, s| props::decided_somewhere(&View(m, s)))
    }
}

fn record_invocations(
    _: &PaxosConfig,
    h: &PaxosHistory,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> Option<PaxosHistory> {
    match env.msg {
        PaxosMsg::Put { req, value } => h.invoke(env.src.into(), *req, RegisterOp::Propose(*value)),
        PaxosMsg::Get { req } => h.invoke(env.src.into(), *req, RegisterOp::Read),
        _ => None,
    }
}

fn record_returns(
    _: &PaxosConfig,
    h: &PaxosHistory,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> Option<PaxosHistory> {
    match env.msg {
        PaxosMsg::PutOk { req, decided } => {
            h.respond(env.dst.into(), *req, RegisterRet::Decided(*decided))
        }
        PaxosMsg::GetOk { req, decided } => {
            h.respond(env.dst.into(), *req, RegisterRet::ReadOk(Some(*decided)))
        }
        _ => None,
    }
}

/// The consensus view of a model state: servers' decision logs, clients' values.
pub struct View<'a>(pub &'a PaxosModel, pub &'a PaxosModelState);

impl ConsensusView for View<'_> {
    type Value = ModelValue;

    fn server_count(&self) -> usize {
        self.0.servers
    }

    fn decision_log(&self, server: usize) -> &[(Slot, ModelValue)] {
        match &*self.1.actor_states[server] {
            PaxosState::Server(s) => &s.durable.decisions,
            PaxosState::Client(_) => unreachable!("actors 0..servers are servers"),
        }
    }

    fn is_proposed(&self, value: &ModelValue) -> bool {
        self.0
            .inner
            .actors
            .iter()
            .any(|a| matches!(a, PaxosActor::Client { value: v, .. } if v == value))
    }
}

/// Why `state` violates `property`, in words, for counterexamples.
pub fn explain(model: &PaxosModel, state: &PaxosModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             write-once register (compare what each client was told in the final state)"
                .into(),
        ),
        "Decision" => Some("no reachable state has a decision".into()),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::NetworkKind;
    use stateright::{Checker, HasDiscoveries, Model};

    fn cfg(
        max_round: u32,
        network: NetworkKind,
        crashes: usize,
        bug: Option<PaxosBug>,
    ) -> PaxosConfig {
        PaxosConfig {
            cluster: ClusterConfig {
                network,
                crashes,
                ..Default::default()
            },
            max_round,
            bug,
        }
    }

    fn exhaustive(c: PaxosConfig) -> usize {
        let checker = c.into_model().checker().spawn_bfs().join();
        checker.assert_properties();
        checker.unique_state_count()
    }

    /// Unique state counts of small configurations, pinned so that a behaviour change is seen.
    /// A real node must not panic (or wrap around) on what a peer sent: after promising the
    /// highest possible ballot there is no higher one, and a client's Put starts no proposal.
    #[test]
    fn no_ballot_above_the_highest_round() {
        let actor = PaxosActor::Server(PaxosServer {
            peers: (0..3).map(Id::from).collect(),
            max_round: u32::MAX,
            bug: None,
        });
        let mut o = Out::new();
        let state = actor.on_start(Id::from(0), &None, &mut o);
        let mut state = std::borrow::Cow::Owned(state);
        let top = Ballot {
            round: u32::MAX,
            proposer: 1,
        };
        actor.on_msg(
            Id::from(0),
            &mut state,
            Id::from(1),
            PaxosMsg::Prepare { ballot: top },
            &mut o,
        );
        let mut o = Out::new();
        actor.on_msg(
            Id::from(0),
            &mut state,
            Id::from(9),
            PaxosMsg::Put { req: 1, value: 'A' },
            &mut o,
        );
        assert!(
            !o.iter().any(|c| matches!(
                c,
                stateright::actor::Command::Send(_, PaxosMsg::Prepare { .. })
            )),
            "{o:?}"
        );
    }

    #[test]
    fn correct_paxos_holds_with_pinned_state_counts() {
        assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 0, None)), 10_815);
        assert_eq!(exhaustive(cfg(1, NetworkKind::Ordered, 0, None)), 16_012);
        assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 1, None)), 71_268);
    }

    /// The property `bug` breaks, and the length of the counterexample single-threaded BFS finds.
    fn violated(c: PaxosConfig) -> (&'static str, usize) {
        let checker = c
            .into_model()
            .checker()
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_bfs()
            .join();
        let always: Vec<_> = checker
            .model()
            .properties()
            .into_iter()
            .filter(|p| p.expectation == stateright::Expectation::Always)
            .collect();
        let (name, path) = always
            .iter()
            .find_map(|p| checker.discovery(p.name).map(|d| (p.name, d)))
            .expect("the checker finds a counterexample");
        (name, path.into_actions().len())
    }

    #[test]
    fn every_bug_is_caught_breaking_its_catalogued_property() {
        for (bug, info) in BUGS {
            let c = match bug {
                PaxosBug::UnsavedPromise => cfg(1, NetworkKind::Unordered, 1, Some(*bug)),
                PaxosBug::AnyReportedValue => cfg(2, NetworkKind::Unordered, 0, Some(*bug)),
                _ => cfg(1, NetworkKind::Unordered, 0, Some(*bug)),
            };
            let (property, steps) = violated(c);
            assert_eq!(property, info.breaks, "bug {}", info.name);
            assert!(steps >= 5, "bug {}: {steps} steps", info.name);
        }
    }

    #[test]
    fn unsaved_promise_is_harmless_without_crashes() {
        exhaustive(cfg(
            1,
            NetworkKind::Unordered,
            0,
            Some(PaxosBug::UnsavedPromise),
        ));
    }

    #[test]
    fn a_model_that_cannot_propose_fails_the_decision_property() {
        let checker = cfg(0, NetworkKind::Unordered, 0, None)
            .into_model()
            .checker()
            .spawn_bfs()
            .join();
        assert!(checker.discovery("Decision").is_none());
        assert!(checker.is_done());
    }

    #[test]
    fn bug_names_round_trip() {
        for (bug, info) in BUGS {
            assert_eq!(PaxosBug::from_name(info.name), Some(*bug));
            assert_eq!(bug.info().name, info.name);
        }
        assert_eq!(PaxosBug::from_name("nope"), None);
    }
}
