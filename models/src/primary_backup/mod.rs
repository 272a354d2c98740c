//! # Primary/backup replication
//!
//! Navin Budhiraja, Keith Marzullo, Fred B. Schneider and Sam Toueg, *The Primary-Backup
//! Approach* (in *Distributed Systems*, 2nd ed., 1993); and the lecture material in
//! `../shared/context/` (Lecture A §1, Lecture B §4–5: synchronous, asynchronous and hybrid
//! replication, failover by heartbeat and timeout). One server, the **primary**, takes every
//! client request; it forwards each write to the **backup**, which applies the writes in the
//! order the primary numbered them. When the backup stops hearing from the primary, it takes
//! over (**failover**) in a new **epoch**. The three ways of replicating differ only in when the
//! primary answers a write:
//!
//! - **sync** (`--replication sync`): after the backup acknowledged it. No acknowledged write is
//!   ever lost, but a write cannot complete while the backup is down: the primary waits for
//!   an acknowledgement that never comes (it *blocks*; the model has no reconfiguration that
//!   would drop the dead backup).
//! - **async** (`--replication async`): at once, forwarding the write afterwards. Writes never
//!   wait, but a write acknowledged and not yet forwarded is lost when the primary fails and
//!   the backup takes over.
//! - **semi-sync** (`--replication semi-sync`, the lecture's hybrid; MySQL's semi-synchronous
//!   replication): as sync, but when the acknowledgement does not come within a timeout the
//!   primary answers anyway (it falls back to async for that write). It does not block, and it
//!   loses a write when the timeout fired and the primary then fails.
//!
//! Failure detection (Lecture B §4): each period the backup sends the primary a heartbeat; a
//! period that ends with the previous heartbeat unanswered makes it suspect the primary and take
//! over. The detector is accurate only if the network is synchronous (an answer always arrives
//! within the period): the model assumes so (a backup's heartbeat timer fires only when no
//! heartbeat between the two is still in flight, `model::heartbeat_timer_may_fire`), so without
//! loss a backup takes over only from a primary that crashed. With `--lossy` a lost heartbeat
//! looks exactly like a dead primary, the backup takes over from a live one, and there are two
//! primaries (**split brain**). Epochs fence a deposed primary only once it hears from the new
//! one: any message of a higher epoch makes a primary step down.
//!
//! Crashes are crash-stop (a crashed server stays down; `ClusterModel::crash_stop`), so a
//! server keeps no storage. Clients are the shared key-value clients ([`crate::kv`]): they go to
//! server 0 first, follow "not the primary" redirects, and retry at the other server on a
//! timeout; what they were told is checked for linearizability against a key-value map.
//!
//! The files: this one (types, messages, state), `server` (the handlers, in the order a write
//! goes through them, then failure detection and failover, and the [`Actor`]), `model`
//! (configuration, timing assumption and the properties), `suite`, `tests`.

use crate::cluster::{ClusterConfig, ClusterModel, lossy};
use crate::kv::{
    ClientReply, ClientRequest, ClientRetry, Command, KvClient, KvClientState, KvHistory, KvMsg,
    KvStateMachine, ModelKey, ModelValue, client_ops, record_reply, record_request,
};
use ballot_properties::kv::{KvOp, KvSpec};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModel, ActorModelState, Id, Out};
use std::borrow::Cow;
use std::fmt::{self, Debug};
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// An epoch: 1 while the first primary serves, one more at each failover. Every
/// server-to-server message carries its sender's epoch.
pub type Epoch = u32;

/// When the primary answers a write (`--replication`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Replication {
    /// After the backup acknowledged the write.
    #[default]
    Sync,
    /// At once; the write is forwarded afterwards.
    Async,
    /// After the backup's acknowledgement, or after a timeout without it.
    SemiSync,
}

impl Replication {
    /// Every kind, for help texts.
    pub const ALL: [Replication; 3] = [Self::Sync, Self::Async, Self::SemiSync];

    /// The flag value that selects it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Async => "async",
            Self::SemiSync => "semi-sync",
        }
    }
}

impl fmt::Display for Replication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Replication {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown replication '{s}': expected sync, async or semi-sync"))
    }
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// Messages between clients and servers, and between the primary and the backup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PbMsg {
    /// Client → server: perform an operation.
    Request(ClientRequest<ModelKey, ModelValue>),
    /// Server → client: the answer, or "ask the primary".
    Reply(ClientReply<ModelValue>),
    /// Primary → backup: apply `cmd` as write number `index` (writes are numbered 1, 2, … in
    /// the order the primary took them).
    Replicate {
        /// The primary's epoch.
        epoch: Epoch,
        /// The write's number.
        index: u32,
        /// The write.
        cmd: Command<ModelKey, ModelValue>,
    },
    /// Backup → primary: write `index` is applied here.
    Ack {
        /// The backup's epoch.
        epoch: Epoch,
        /// The write acknowledged.
        index: u32,
    },
    /// Backup → primary: are you alive?
    Heartbeat {
        /// The backup's epoch.
        epoch: Epoch,
    },
    /// Primary → backup: alive, in this epoch.
    HeartbeatAck {
        /// The primary's epoch.
        epoch: Epoch,
    },
}

impl PbMsg {
    /// The sender's epoch, for a server-to-server message.
    pub fn epoch(&self) -> Option<Epoch> {
        match self {
            PbMsg::Request(_) | PbMsg::Reply(_) => None,
            PbMsg::Replicate { epoch, .. }
            | PbMsg::Ack { epoch, .. }
            | PbMsg::Heartbeat { epoch }
            | PbMsg::HeartbeatAck { epoch } => Some(*epoch),
        }
    }
}

impl KvMsg<ModelKey, ModelValue> for PbMsg {
    fn request(r: ClientRequest<ModelKey, ModelValue>) -> Self {
        PbMsg::Request(r)
    }

    fn as_request(&self) -> Option<&ClientRequest<ModelKey, ModelValue>> {
        match self {
            PbMsg::Request(r) => Some(r),
            _ => None,
        }
    }

    fn as_reply(&self) -> Option<&ClientReply<ModelValue>> {
        match self {
            PbMsg::Reply(r) => Some(r),
            _ => None,
        }
    }
}

/// The timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PbTimer {
    /// A backup's heartbeat period ended: send the next heartbeat, or, if the last one is
    /// unanswered, take over.
    Heartbeat,
    /// Semi-sync: the backup did not acknowledge the pending write in time; answer anyway.
    AckTimeout,
    /// A client's request is unanswered: try the other server.
    Client(ClientRetry),
}

impl From<ClientRetry> for PbTimer {
    fn from(r: ClientRetry) -> Self {
        PbTimer::Client(r)
    }
}

/// A backup's heartbeat period in a real run. The model checker ignores durations.
pub fn heartbeat_period() -> Range<Duration> {
    Duration::from_millis(100)..Duration::from_millis(150)
}

/// How long a semi-sync primary waits for the backup's acknowledgement in a real run.
pub fn ack_timeout() -> Range<Duration> {
    Duration::from_millis(50)..Duration::from_millis(60)
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Takes client requests and forwards writes.
    Primary,
    /// Applies forwarded writes, watches the primary, redirects clients.
    Backup,
}

/// A write the primary forwarded and has not answered yet (sync, semi-sync).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pending {
    /// The write's number.
    pub index: u32,
    /// The write.
    pub cmd: Command<ModelKey, ModelValue>,
}

/// A server's state. There is no storage: crashes are crash-stop.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServerState {
    /// The latest epoch this server has seen.
    pub epoch: Epoch,
    /// Primary or backup.
    pub role: Role,
    /// The key-value map and the clients' sessions (a retried write is answered, not applied
    /// again).
    pub sm: KvStateMachine<ModelKey, ModelValue>,
    /// How many writes this server applied (the number of the last).
    pub applied: u32,
    /// Primary, sync and semi-sync: the write waiting for the backup's acknowledgement. One at a
    /// time: a write request arriving meanwhile is not taken (it stays in the network, which
    /// the checker delivers later; a real node would queue it).
    pub pending: Option<Pending>,
    /// Backup: a heartbeat was sent this period and is not answered yet.
    pub awaiting_heartbeat: bool,
}

impl ServerState {
    /// Whether this server believes it is the primary.
    pub fn is_primary(&self) -> bool {
        self.role == Role::Primary
    }
}

/// The state of a server or a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PbState {
    /// A server.
    Server(ServerState),
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
