//! The consensus protocols of Ballot, each written once as a Stateright actor, with its model
//! configuration and bug catalog.
//!
//! - [`active_active`]: two replicas that both take writes, reconciled by last writer wins.
//! - [`byzantine`]: a Byzantine server (`--byzantine 1`) that forges any message of a
//!   protocol's bounded domain.
//! - [`cluster`]: what every protocol model shares (configuration, [`cluster::ClusterModel`],
//!   bug catalog entries).
//! - [`kv`]: the replicated key-value service shared by Multi-Paxos and Raft (log entries, the
//!   exactly-once state machine, client messages, the model client).
//! - [`paxos`]: single-decree Paxos (Paxos Made Simple).
//! - [`multi_paxos`]: Multi-Paxos (Paxos Made Simple §3), a replicated key-value log.
//! - [`raft`]: Raft (Ongaro and Ousterhout, 2014), Figure 2 rule by rule, with a key-value state
//!   machine.
//! - [`primary_backup`]: primary/backup replication (sync, async, semi-sync) with failover
//!   by heartbeat timeout (Budhiraja et al., 1993).
//! - [`two_phase_commit`]: two-phase commit with the cooperative termination protocol (Gray
//!   1978; Bernstein, Hadzilacos and Goodman 1987, ch. 7).
//! - [`shared_vec`]: a vector cheap to clone, append to and compare (Raft's logs).
//!
//! Each protocol is a directory of the same files, read in this order: `mod.rs` (the paper, what
//! the code follows rule by rule, then types, messages and state), `bugs.rs` (the bug catalog),
//! `server.rs` (the handlers in the paper's order, and the actor), `symmetry.rs` (Multi-Paxos
//! and Raft: servers renumbered for symmetry reduction), `model.rs` (the model configuration,
//! history and properties), `tests.rs` (the model-check tests).
#![deny(missing_docs)]

pub mod active_active;
pub mod byzantine;
pub mod cluster;
pub mod forgotten;
pub mod kv;
pub mod multi_paxos;
pub mod paxos;
pub mod primary_backup;
pub mod raft;
pub mod shared_vec;
pub mod two_phase_commit;
