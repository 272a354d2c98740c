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
//! A server asked to `Get` before it knows the decision (it was down, or the Decided to it was
//! lost) finds out as §2.3 says a learner can: "it can have a proposer issue a proposal". It runs
//! a *read ballot*, a ballot with no value of its own. Once a majority promised: if some Promise
//! reported an accepted proposal, it runs Phase 2 with the highest-numbered one, and when a
//! majority accepted, that value is chosen — it is the decision (P2c) — and the server learns
//! it and answers; if none reported one, nothing has been chosen, and the `Get` waits for the
//! decision as before.
//!
//! The files read in the paper's order: this one (types, messages, state), `bugs` (the
//! catalog of mutants), `server` (the handlers, Phase 1a to learning, then the clients'
//! requests, and the [`Actor`]), `model` (configuration, client history and the
//! properties), `tests`.
//!
//! The same actor runs in the model checker ([`PaxosConfig::into_model`]) and over UDP: handlers only
//! receive messages and emit commands (send, set timer, save).

use crate::byzantine::Byzantine;
use crate::cluster::{BugInfo, ClusterConfig, ClusterModel, Discarded, ServerSet, lossy};
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
use std::sync::Arc;
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
    /// Client → server: read the decision (answered once the server knows it; a server that
    /// does not runs a read ballot to learn it).
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
    /// The value of the client that asked this server, or `None` for a *read ballot*: one a
    /// `Get` started at a server that does not know the decision (§2.3: "it can have a proposer
    /// issue a proposal"), which proposes only a value reported in Phase 1. A `Put` arriving during a
    /// read ballot gives it its value.
    pub own_value: Option<V>,
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

mod bugs;
mod model;
mod server;
mod suite;
#[cfg(test)]
mod tests;

pub use bugs::*;
pub use model::*;
pub use server::*;
pub use suite::*;
