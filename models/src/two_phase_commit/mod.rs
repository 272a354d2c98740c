//! # Two-phase commit
//!
//! Jim Gray, *Notes on Data Base Operating Systems* (1978), §5.8.3.3; Philip A. Bernstein,
//! Vassos Hadzilacos and Nathan Goodman, *Concurrency Control and Recovery in Database Systems*
//! (1987), chapter 7 ("Distributed Recovery"): the atomic commitment problem and 2PC, with the
//! cooperative termination protocol. Also the lecture material in `../shared/context/`
//! (replication-chapter.txt: "two-phase commit"). One **coordinator** (server 0) and the
//! **participants** (servers 1..n) decide together whether a transaction commits:
//!
//! 1. **Voting phase**: the coordinator sends `Prepare` (BHG's VOTE-REQ) to every participant;
//!    each votes Yes or No (the model lets each choose either). A participant that votes No
//!    aborts at once; one that votes Yes is *uncertain* from then on: it may no longer decide
//!    alone.
//! 2. **Decision phase**: with a Yes from every participant, the coordinator decides Commit;
//!    with any No, or when it gives up waiting for the votes (a timeout), Abort. It sends the
//!    decision to every participant.
//!
//! A participant that times out before it voted aborts alone (it will vote No). An uncertain
//! participant that times out runs the **cooperative termination protocol** (BHG §7.4): it asks
//! every other process for the decision; a process that knows it answers, and one that has not
//! voted aborts and answers Abort. If the coordinator crashed after every participant voted Yes
//! and before any learned the decision, every one of them is uncertain and nobody can answer:
//! they **block** until the coordinator recovers. That is 2PC's known weakness (BHG Theorem 7.1:
//! no atomic commitment protocol avoids blocking when communication failures are possible; with
//! crashes only, three-phase commit does).
//!
//! The properties (BHG §7.2): **Atomicity** (AC1: every process that decides, decides the same;
//! AC3: Commit only if every participant voted Yes) holds under crashes; **Termination** (every
//! live participant eventually decides) fails once the coordinator may crash.
//!
//! Crashes are crash-stop (`ClusterModel::crash_stop`): a crashed process stays down, which is
//! the situation blocking is about (a recovering coordinator would read its decision from its
//! log and resolve it).
//!
//! The files: this one (types, messages, state), `bugs` (the catalog), `server` (the handlers
//! in protocol order, and the [`Actor`]), `model` (configuration and properties), `suite`,
//! `tests`.

use crate::cluster::{BugInfo, ClusterConfig, ClusterModel, ServerSet, lossy};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use std::borrow::Cow;
use std::fmt::Debug;
use std::ops::Range;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Types and messages
// ---------------------------------------------------------------------------------------------

/// The outcome of the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Decision {
    /// Every participant makes the transaction's effects permanent.
    Commit,
    /// Every participant undoes them.
    Abort,
}

/// A participant's vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Vote {
    /// Prepared: it can commit, and will wait to be told.
    Yes,
    /// It cannot commit; it aborts.
    No,
}

/// Messages between the coordinator and the participants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TpcMsg {
    /// Coordinator → participant: vote (BHG's VOTE-REQ).
    Prepare,
    /// Participant → coordinator: its vote.
    Vote(Vote),
    /// The decision: coordinator → participants, or, in the termination protocol, any process
    /// that knows it → the process that asked.
    Decided(Decision),
    /// An uncertain participant → every other process: what was decided? (BHG's DECISION-REQ.)
    DecisionRequest,
}

/// The timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TpcTimer {
    /// Coordinator: the votes did not all come in time; abort.
    Votes,
    /// Participant: nothing heard in time; abort if it has not voted, ask the others if it is
    /// uncertain.
    Participant,
}

/// How long a process waits before its timer acts, in a real run. The checker ignores
/// durations.
pub fn timeout() -> Range<Duration> {
    Duration::from_millis(200)..Duration::from_millis(400)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// The coordinator's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CoordinatorState {
    /// The participants that voted Yes.
    pub yes: ServerSet,
    /// Its decision, once made (written to its log before it is sent).
    pub decision: Option<Decision>,
}

/// A participant's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParticipantState {
    /// It received `Prepare` and is choosing its vote.
    pub voting: bool,
    /// Its vote, once cast (a participant that aborts alone before voting counts as No).
    pub vote: Option<Vote>,
    /// Its decision, once made.
    pub decision: Option<Decision>,
    /// It asked the others for the decision (once, in the model; a real node asks again).
    pub asked: bool,
}

/// The state of the coordinator or a participant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TpcState {
    /// Server 0.
    Coordinator(CoordinatorState),
    /// Servers 1..n.
    Participant(ParticipantState),
}

impl TpcState {
    /// The decision this process made, if any.
    pub fn decision(&self) -> Option<Decision> {
        match self {
            TpcState::Coordinator(c) => c.decision,
            TpcState::Participant(p) => p.decision,
        }
    }
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
