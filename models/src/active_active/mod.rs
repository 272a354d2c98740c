//! # Active-active replication with last-writer-wins
//!
//! The lecture material in `../shared/context/` (Lecture B §5, replication strategies:
//! active-active; asynchronous replication gives speed and eventual consistency, as in S3 and
//! Cassandra). Two replicas both accept reads and writes from their clients. Each write is
//! applied locally, answered at once, and sent to the other replica, stamped with a Lamport
//! clock (Lamport, *Time, Clocks, and the Ordering of Events in a Distributed System*, 1978)
//! with the replica's number breaking ties. A replica that receives a write keeps, per key,
//! the value with the higher stamp: **last writer wins** (Thomas's write rule, RFC 677, 1975;
//! Cassandra's reconciliation).
//!
//! The replicas always converge (once the updates are delivered they hold the same values),
//! but what the clients were told is not linearizable: a **lost update**. The key starts at
//! `'A'`; client 0 compare-and-sets it from `'A'` to `'a'` at replica 0 while client 1
//! compare-and-sets it from `'A'` to `'b'` at replica 1. Both see `'A'`, both succeed, both are
//! told so; then the higher stamp wins at both replicas and the other update vanishes. No
//! order of two compare-and-sets from the same value lets both succeed.
//!
//! The files: this one (types, messages, state), `server` (the handlers and the [`Actor`]),
//! `model` (configuration and properties), `suite`, `tests`.

use crate::cluster::{ClusterConfig, ClusterModel, lossy};
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, KvClient, KvClientState, KvHistory, KvMsg, ModelKey,
    ModelValue, record_reply, record_request,
};
use ballot_properties::kv::{KvOp, KvRet, KvSpec};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A write's stamp: a Lamport clock, then the replica that made the write (ties broken by
/// replica number). Higher wins.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Stamp {
    /// The Lamport clock when the write was made.
    pub clock: u32,
    /// The replica that made it.
    pub replica: u8,
}

/// Messages between clients and replicas, and between the replicas.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AaMsg {
    /// Client → replica: perform an operation.
    Request(ClientRequest<ModelKey, ModelValue>),
    /// Replica → client: the answer.
    Reply(ClientReply<ModelValue>),
    /// Replica → the other replica: a write it accepted, with its stamp.
    Update {
        /// The key written.
        key: ModelKey,
        /// The value written.
        value: ModelValue,
        /// The write's stamp.
        stamp: Stamp,
    },
}

impl KvMsg<ModelKey, ModelValue> for AaMsg {
    fn request(r: ClientRequest<ModelKey, ModelValue>) -> Self {
        AaMsg::Request(r)
    }

    fn as_request(&self) -> Option<&ClientRequest<ModelKey, ModelValue>> {
        match self {
            AaMsg::Request(r) => Some(r),
            _ => None,
        }
    }

    fn as_reply(&self) -> Option<&ClientReply<ModelValue>> {
        match self {
            AaMsg::Reply(r) => Some(r),
            _ => None,
        }
    }
}

/// The timers: only the clients' (the model's clients do not retry by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AaTimer {
    /// A client's request is unanswered: try the other replica.
    Client(ClientRetry),
}

impl From<ClientRetry> for AaTimer {
    fn from(r: ClientRetry) -> Self {
        AaTimer::Client(r)
    }
}

/// A replica's state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicaState {
    /// Per key, the value and the stamp of the write that set it.
    pub store: BTreeMap<ModelKey, (ModelValue, Stamp)>,
    /// The Lamport clock: above every stamp seen.
    pub clock: u32,
    /// How many client writes this replica accepted.
    pub local_writes: u8,
    /// How many of the other replica's writes it received, winning or not.
    pub merged: u8,
}

/// The state of a replica or a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AaState {
    /// A replica.
    Replica(ReplicaState),
    /// A model client.
    Client(KvClientState),
}

mod model;
mod server;
mod suite;
#[cfg(test)]
mod tests;

pub use model::*;
pub use server::*;
pub use suite::*;
