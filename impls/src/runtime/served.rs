//! What a protocol needs to be served over UDP: one impl of [`Served`].
//!
//! The node runs the protocol's actor unchanged; clients speak one protocol-independent
//! request/reply format ([`WireRequest`](super::codec::WireRequest),
//! [`WireReply`]) and the adapter translates at the edge: a client operation becomes the actor's
//! request message, and a message the actor sends to a client becomes a reply. Multi-Paxos and
//! Raft, whose messages implement [`KvMsg`], get both translations from [`kv_request`] and
//! [`kv_reply`].
//!
//! The actor knows a client by an [`Id`]: a server's is its address ([`id`]), a client's is its
//! session ([`session_id`]), whose top bit no address-derived `Id` has.

use super::codec::{SESSION_BIT, WireReply, WireRet};
use ballot_models::cluster::ServerSet;
use ballot_models::kv::{ClientReply, ClientRequest, KvMsg};
use ballot_models::multi_paxos::{self, MpActor, MpMsg, MpServer, MpState};
use ballot_models::paxos::{PaxosActor, PaxosMsg, PaxosServer, PaxosState};
use ballot_models::raft::{
    self, AdminOp, AdminRequest, RaftActor, RaftMsg, RaftServer, RaftState, RaftStorage, RaftTimer,
};
use ballot_properties::kv::{KvOp, KvRet};
use ballot_properties::linearizability::RequestId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use stateright::actor::{Actor, Id};
use std::fmt::Debug;
use std::net::SocketAddrV4;
use std::sync::Arc;

/// A protocol the runtime can serve.
pub trait Served: 'static {
    /// The actor, exactly as the model checker runs it.
    type Actor: Actor<
            Msg: Serialize + DeserializeOwned + Debug,
            Storage: Serialize + DeserializeOwned + Debug,
            State: Debug,
        >;

    /// The protocol's name on the command line (`ballot node NAME`); recorded in storage files.
    const NAME: &'static str;

    /// Whether the protocol supports `cas` and keys (a key-value store) or is Paxos's
    /// write-once register.
    const KEY_VALUE: bool;

    /// The server actor at one of `peers` (every server, in index order).
    fn server(peers: Vec<Id>) -> Self::Actor;

    /// Whether the protocol changes its membership (`--members`, `ballot admin`).
    const MEMBERSHIP: bool = false;

    /// The server actor at one of `peers` whose initial configuration is `members` (indices
    /// into `peers`; `None`: every peer). By default [`Self::server`]: a protocol without
    /// membership changes, for which the node refuses `--members`.
    fn server_with(peers: Vec<Id>, members: Option<&[usize]>) -> Self::Actor {
        let _ = members;
        Self::server(peers)
    }

    /// The actor message for an administrator's request (`ballot admin`), or why the protocol
    /// cannot perform it. By default none can.
    fn admin(req: RequestId, op: AdminOp<SocketAddrV4>) -> Result<ActorMsg<Self>, String> {
        let _ = (req, op);
        Err(format!("{} has no membership changes", Self::NAME))
    }

    /// The actor message for a client's request, or why the protocol cannot perform it.
    fn request(req: RequestId, op: KvOp<String, String>) -> Result<ActorMsg<Self>, String>;

    /// The reply a client of `session` receives for `msg`, if `msg` is a reply to a client.
    fn reply(session: u64, msg: &ActorMsg<Self>) -> Option<WireReply>;

    /// What `ballot client stats` shows of a server's state besides its counters: its role,
    /// term or ballot, the leader it knows (as an address among `peers`), and how far its log
    /// or decision got.
    fn summary(state: &<Self::Actor as Actor>::State, peers: &[SocketAddrV4]) -> serde_json::Value;

    /// A shorter server-to-server message that the receiver may get instead of `msg`, which is
    /// too long for one datagram; `None` if there is none (the message is then not sent). The
    /// node asks again until the message fits. By default there is none.
    fn shrink(msg: &ActorMsg<Self>) -> Option<ActorMsg<Self>> {
        let _ = msg;
        None
    }

    /// What the actor starts with when the node finds no storage, if the protocol tells a node
    /// that lost its storage from a member of a new cluster (they look the same: no storage
    /// file). `Some(lost)`: the node calls `on_start(Some(lost))`, and the actor rejoins the
    /// cluster before it takes part in decisions again (Raft: [`RaftStorage::lost`]). By
    /// default `None`: `on_start(None)`, a member of a new cluster, which is safe only if a
    /// node never loses its storage.
    ///
    /// [`RaftStorage::lost`]: ballot_models::raft::RaftStorage::lost
    fn lost_storage() -> Option<ActorStorage<Self>> {
        None
    }

    /// Log compaction (`ballot node --snapshot-every N`): if the actor's applied entries beyond
    /// its snapshot reach `every` (never if 0), the step that snapshots them, as the new state
    /// with its commands in `o`; `None` if none is due. By default there is none (a protocol
    /// without snapshots).
    fn snapshot(
        actor: &Self::Actor,
        id: Id,
        state: &<Self::Actor as Actor>::State,
        every: u64,
        o: &mut stateright::actor::Out<Self::Actor>,
    ) -> Option<<Self::Actor as Actor>::State> {
        let _ = (actor, id, state, every, o);
        None
    }

    /// Whether `timer`, when due, fires after every other timer due in the batch (then in order
    /// of their deadlines): Raft's write timer, so that the AppendEntries of the batch's steps,
    /// which save nothing, leave before the write's sync ([`super::node`]'s group commit). The
    /// model fires timers in any order. By default none.
    fn fires_last(timer: &<Self::Actor as Actor>::Timer) -> bool {
        let _ = timer;
        false
    }

    /// Whether `later`, sent to the same peer after `earlier` by the steps of one batch, makes
    /// `earlier` useless: the peer, given `later` alone, ends in the state both would have led
    /// it to, and answers it with an answer worth both. The node then sends only `later` — as if
    /// the network had lost `earlier`, which every protocol here tolerates (the models check it
    /// with `--lossy`). By default never.
    fn supersedes(earlier: &ActorMsg<Self>, later: &ActorMsg<Self>) -> bool {
        let _ = (earlier, later);
        false
    }

    /// Whether `msg` is a snapshot sent to a peer (Raft's InstallSnapshot), for the counters.
    fn is_snapshot(msg: &ActorMsg<Self>) -> bool {
        let _ = msg;
        false
    }
}

/// The message type of a served protocol's actor.
pub type ActorMsg<S> = <<S as Served>::Actor as Actor>::Msg;
/// The storage type of a served protocol's actor.
pub type ActorStorage<S> = <<S as Served>::Actor as Actor>::Storage;

/// The address a server or client [`Id`] stands for (Stateright's mapping).
pub fn addr(id: Id) -> SocketAddrV4 {
    SocketAddrV4::from(id)
}

/// The [`Id`] of an address (Stateright's mapping).
pub fn id(addr: SocketAddrV4) -> Id {
    Id::from(addr)
}

/// The actor [`Id`] of a client session, or `None` if `session` lacks [`SESSION_BIT`] (it
/// could then be taken for a server's address).
pub fn session_id(session: u64) -> Option<Id> {
    let as_usize = usize::try_from(session).ok()?;
    (session & SESSION_BIT != 0).then(|| Id::from(as_usize))
}

/// The client session an actor [`Id`] stands for, if it is one ([`session_id`]'s inverse).
pub fn session_of(id: Id) -> Option<u64> {
    let raw = usize::from(id) as u64;
    (raw & SESSION_BIT != 0).then_some(raw)
}

/// [`Served::request`] for protocols whose messages implement [`KvMsg`].
pub fn kv_request<M: KvMsg<String, String>>(req: RequestId, op: KvOp<String, String>) -> M {
    M::request(ClientRequest { req, op })
}

/// [`Served::reply`] for protocols whose messages implement [`KvMsg`].
pub fn kv_reply<M: KvMsg<String, String>>(session: u64, msg: &M) -> Option<WireReply> {
    Some(match msg.as_reply()? {
        ClientReply::Done { req, ret } => WireReply::Done {
            session,
            req: *req,
            ret: WireRet::Kv(ret.clone()),
        },
        ClientReply::NotLeader { req, leader } => WireReply::NotLeader {
            session,
            req: *req,
            leader: leader.map(addr),
        },
    })
}

/// Single-decree Paxos: a write-once register. `put KEY VALUE` proposes VALUE and returns the
/// decided value; `get KEY` returns the decided value once there is one. There is one register:
/// the key is not used.
pub struct Paxos;

impl Served for Paxos {
    type Actor = PaxosActor<String>;
    const NAME: &'static str = "paxos";
    const KEY_VALUE: bool = false;

    fn summary(
        state: &<Self::Actor as Actor>::State,
        _peers: &[SocketAddrV4],
    ) -> serde_json::Value {
        match state {
            PaxosState::Server(s) => serde_json::json!({
                "role": if s.proposal.is_some() { "proposer" } else { "acceptor" },
                "promised": s.durable.promised.map(|b| format!("{b:?}")),
                "accepted": s.durable.accepted.as_ref().map(|(b, v)| format!("{b:?} {v}")),
                "decided": s.durable.decided(),
            }),
            PaxosState::Client(_) => serde_json::json!({ "role": "client" }),
        }
    }

    fn server(peers: Vec<Id>) -> Self::Actor {
        PaxosActor::Server(PaxosServer {
            peers,
            max_round: u32::MAX,
            bug: None,
        })
    }

    fn request(req: RequestId, op: KvOp<String, String>) -> Result<PaxosMsg<String>, String> {
        match op {
            KvOp::Put(_, value) => Ok(PaxosMsg::Put { req, value }),
            KvOp::Get(_) => Ok(PaxosMsg::Get { req }),
            KvOp::Cas { .. } => Err(
                "paxos serves a write-once register: use put (propose) or get (read the decision)"
                    .into(),
            ),
        }
    }

    fn reply(session: u64, msg: &PaxosMsg<String>) -> Option<WireReply> {
        match msg {
            PaxosMsg::PutOk { req, decided } => Some(WireReply::Done {
                session,
                req: *req,
                ret: WireRet::Decided(decided.clone()),
            }),
            PaxosMsg::GetOk { req, decided } => Some(WireReply::Done {
                session,
                req: *req,
                ret: WireRet::Kv(KvRet::GetOk(Some(decided.clone()))),
            }),
            // Requests and server-to-server messages are not replies to a client.
            PaxosMsg::Put { .. }
            | PaxosMsg::Get { .. }
            | PaxosMsg::Prepare { .. }
            | PaxosMsg::Promise { .. }
            | PaxosMsg::Accept { .. }
            | PaxosMsg::Accepted { .. }
            | PaxosMsg::Decided { .. } => None,
        }
    }
}

/// Multi-Paxos: a replicated key-value store (get, put, cas) with a stable leader.
pub struct MultiPaxos;

impl Served for MultiPaxos {
    type Actor = MpActor<String, String>;
    const NAME: &'static str = "multi-paxos";
    const KEY_VALUE: bool = true;

    fn summary(state: &<Self::Actor as Actor>::State, peers: &[SocketAddrV4]) -> serde_json::Value {
        match state {
            MpState::Server(s) => {
                let (role, ballot) = match &s.role {
                    multi_paxos::Role::Follower => ("follower", None),
                    multi_paxos::Role::Preparing { ballot, .. } => ("preparing", Some(*ballot)),
                    multi_paxos::Role::Leading { ballot, .. } => ("leader", Some(*ballot)),
                };
                // The leader a server follows is the proposer of the ballot it promised.
                let leader = s
                    .durable
                    .promised
                    .and_then(|b| peers.get(usize::from(b.proposer)))
                    .map(|a| a.to_string());
                serde_json::json!({
                    "role": role,
                    "ballot": ballot.map(|b| format!("{b:?}")),
                    "promised": s.durable.promised.map(|b| format!("{b:?}")),
                    "leader": leader,
                    "executed": s.durable.executed_count(),
                    "compacted": s.durable.compacted.0,
                })
            }
            MpState::Client(_) => serde_json::json!({ "role": "client" }),
        }
    }

    fn server(peers: Vec<Id>) -> Self::Actor {
        // The model's bounds are lifted: rounds and slots are unbounded in a real run.
        MpActor::Server(MpServer::for_real_runs(peers))
    }

    fn request(req: RequestId, op: KvOp<String, String>) -> Result<MpMsg<String, String>, String> {
        Ok(kv_request(req, op))
    }

    fn reply(session: u64, msg: &MpMsg<String, String>) -> Option<WireReply> {
        kv_reply(session, msg)
    }

    /// Log compaction ([`MpServer::compact_when`]): once the replica executed `every` slots
    /// beyond its compaction point, its votes in the executed slots are discarded and its
    /// executed entries folded into their state machine, so that the storage stays bounded.
    fn snapshot(
        actor: &MpActor<String, String>,
        _id: Id,
        state: &MpState<String, String>,
        every: u64,
        o: &mut stateright::actor::Out<MpActor<String, String>>,
    ) -> Option<MpState<String, String>> {
        match actor {
            MpActor::Server(server) => server.compact_when(state, every, o),
            MpActor::Client(_) => None,
        }
    }

    /// A Chosen that carries a folded state machine: the learner was behind the sender's
    /// compaction.
    fn is_snapshot(msg: &MpMsg<String, String>) -> bool {
        matches!(msg, MpMsg::Chosen { base, .. } if !base.is_none())
    }

    /// A Chosen with the first half of its entries: a learner far behind is owed more entries
    /// than a datagram holds. A prefix is as true as the whole; the learner learns it and, the
    /// sender's commit point still ahead, asks for the rest. Likewise an Accept with the first
    /// half of its proposals (a batch of long commands): the acceptor accepts those, and the
    /// leader re-sends the others, unacknowledged, with its next heartbeat.
    fn shrink(msg: &MpMsg<String, String>) -> Option<MpMsg<String, String>> {
        match msg {
            MpMsg::Chosen {
                from,
                entries,
                committed,
                base,
            } if entries.len() > 1 || (!base.is_none() && !entries.is_empty()) => {
                Some(MpMsg::Chosen {
                    from: *from,
                    entries: entries[..entries.len() / 2].to_vec(),
                    committed: *committed,
                    base: base.clone(),
                })
            }
            MpMsg::Chosen { .. } => {
                // One entry (or none), or a state machine alone, cannot be split: too long, it
                // goes in fragments.
                None
            }
            MpMsg::Accept {
                ballot,
                slot,
                entries,
                committed,
                read_round,
            } if entries.len() > 1 => Some(MpMsg::Accept {
                ballot: *ballot,
                slot: *slot,
                entries: entries[..entries.len() / 2].to_vec(),
                committed: *committed,
                read_round: *read_round,
            }),
            MpMsg::Accept { .. } => {
                // One proposal cannot be split: too long, it is not sent (the client's request
                // was too long to propose; its retries fail the same way).
                None
            }
            MpMsg::Promise { .. } => {
                // A Promise must report every vote in the prepared slots (§2.2 Phase 1b): a part
                // of them could make the new leader propose over a chosen entry. Too long, it
                // goes in fragments; with compaction it holds only the votes of the slots not
                // yet compacted.
                None
            }
            MpMsg::Request(_)
            | MpMsg::Reply(_)
            | MpMsg::Prepare { .. }
            | MpMsg::Accepted { .. }
            | MpMsg::Heartbeat { .. }
            | MpMsg::HeartbeatOk { .. }
            | MpMsg::CatchUp { .. } => {
                // No list of entries: nothing to leave out.
                None
            }
        }
    }
}

/// Raft: a replicated key-value store (get, put, cas) whose leader is elected for a term.
pub struct Raft;

impl Served for Raft {
    type Actor = RaftActor<String, String>;
    const NAME: &'static str = "raft";
    const KEY_VALUE: bool = true;

    fn summary(state: &<Self::Actor as Actor>::State, peers: &[SocketAddrV4]) -> serde_json::Value {
        match state {
            RaftState::Server(s) => {
                let (role, leader) = match &s.role {
                    raft::Role::Follower { leader } => ("follower", leader.map(usize::from)),
                    raft::Role::Candidate { .. } => ("candidate", None),
                    raft::Role::Leader { .. } => ("leader", None),
                };
                let leader = leader.and_then(|i| peers.get(i)).map(|a| a.to_string());
                serde_json::json!({
                    "role": role,
                    "term": s.durable.current_term,
                    "leader": leader,
                    "log_length": s.durable.last_log_index(),
                    "commit_index": s.commit_index,
                })
            }
            RaftState::Client(_) => serde_json::json!({ "role": "client" }),
        }
    }

    const MEMBERSHIP: bool = true;

    fn server(peers: Vec<Id>) -> Self::Actor {
        Self::server_with(peers, None)
    }

    /// Membership changes are always on, so that any cluster can change (`ballot admin`):
    /// the configuration starts as `members` (every peer by default), and changes come only
    /// from administrators' requests, unbounded (`Membership::by_request`). A new leader then
    /// always appends its no-op (the entry of its term it must commit before a change).
    fn server_with(peers: Vec<Id>, members: Option<&[usize]>) -> Self::Actor {
        let initial = match members {
            None => ServerSet::first(peers.len()),
            Some(members) => {
                let mut set = ServerSet::default();
                for &m in members {
                    set.insert(m);
                }
                set
            }
        };
        RaftActor::Server(RaftServer::for_real_runs(peers, initial))
    }

    fn admin(req: RequestId, op: AdminOp<SocketAddrV4>) -> Result<RaftMsg<String, String>, String> {
        Ok(RaftMsg::Admin(AdminRequest {
            req,
            op: op.map(id),
        }))
    }

    fn request(
        req: RequestId,
        op: KvOp<String, String>,
    ) -> Result<RaftMsg<String, String>, String> {
        Ok(kv_request(req, op))
    }

    fn reply(session: u64, msg: &RaftMsg<String, String>) -> Option<WireReply> {
        if let RaftMsg::AdminReply { req, answer } = msg {
            return Some(WireReply::Admin {
                session,
                req: *req,
                answer: answer.clone().map(addr),
            });
        }
        // A reply to a client's operation (or not a reply).
        kv_reply(session, msg)
    }

    /// Without storage, a Raft node rejoins: it grants no vote and starts no election until it
    /// has heard from every peer and caught up with a leader (a new cluster's nodes find out
    /// from each other that they all start empty). The nonce is drawn at random, so that an
    /// answer to the probe of an earlier start is not taken for an answer to this one.
    fn lost_storage() -> Option<RaftStorage<String, String>> {
        Some(RaftStorage::lost(rand::random::<u64>().max(1)))
    }

    /// The model's snapshot step ([`RaftServer::snapshot_when`], §7), then the applied entries
    /// folded into their state machine, so that the storage stays bounded.
    fn snapshot(
        actor: &RaftActor<String, String>,
        id: Id,
        state: &RaftState<String, String>,
        every: u64,
        o: &mut stateright::actor::Out<RaftActor<String, String>>,
    ) -> Option<RaftState<String, String>> {
        match actor {
            RaftActor::Server(server) => server.snapshot_when(id, state, every, o),
            RaftActor::Client(_) => None,
        }
    }

    fn is_snapshot(msg: &RaftMsg<String, String>) -> bool {
        matches!(msg, RaftMsg::InstallSnapshot { .. })
    }

    /// A leader sends an AppendEntries to each follower for every client command it appends,
    /// each with every entry from the follower's `nextIndex` on: in a batch of 64 commands, 64
    /// messages per follower, each longer than the one before. The last one holds every entry
    /// of the others (same term, same `prevLogIndex` and `prevLogTerm`, their entries a prefix
    /// of its own; the leader's log only grows within its term), a commit index, last index
    /// and read round at least theirs: a follower that gets it alone appends the same entries,
    /// commits at least as far and acknowledges at least as much (Figure 2's receiver rules
    /// 2-5; §6.4's read rounds only grow).
    fn fires_last(timer: &RaftTimer) -> bool {
        *timer == RaftTimer::Write
    }

    fn supersedes(earlier: &RaftMsg<String, String>, later: &RaftMsg<String, String>) -> bool {
        match (earlier, later) {
            (
                RaftMsg::AppendEntries {
                    term: t1,
                    prev_log_index: i1,
                    prev_log_term: p1,
                    entries: e1,
                    leader_commit: c1,
                    leader_last: l1,
                    read_round: r1,
                },
                RaftMsg::AppendEntries {
                    term: t2,
                    prev_log_index: i2,
                    prev_log_term: p2,
                    entries: e2,
                    leader_commit: c2,
                    leader_last: l2,
                    read_round: r2,
                },
            ) => {
                t1 == t2
                    && i1 == i2
                    && p1 == p2
                    && e2.starts_with(e1)
                    && c2 >= c1
                    && l2 >= l1
                    && r2 >= r1
            }
            _ => false,
        }
    }

    /// An AppendEntries with the first half of its entries. The leader sends every entry from
    /// a follower's `nextIndex` on, which after a restart or a long loss can exceed a datagram;
    /// a prefix is an AppendEntries as valid as the whole (same `prevLogIndex`, `prevLogTerm`
    /// and `leaderCommit`: the follower commits up to the last entry it received at most). The
    /// follower answers for the entries it got, and the leader, still behind, sends the rest.
    fn shrink(msg: &RaftMsg<String, String>) -> Option<RaftMsg<String, String>> {
        match msg {
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                leader_last,
                read_round,
            } if entries.len() > 1 => Some(RaftMsg::AppendEntries {
                term: *term,
                prev_log_index: *prev_log_index,
                prev_log_term: *prev_log_term,
                entries: Arc::new(entries[..entries.len() / 2].to_vec()),
                leader_commit: *leader_commit,
                // Unchanged: the prefix does not reach it, so a rejoining follower does not
                // take it for the leader's whole log.
                leader_last: *leader_last,
                read_round: *read_round,
            }),
            RaftMsg::AppendEntries { .. } => {
                // One entry (or none) cannot be split: too long, it is not sent.
                None
            }
            RaftMsg::Request(_)
            | RaftMsg::Reply(_)
            | RaftMsg::Admin(_)
            | RaftMsg::AdminReply { .. }
            | RaftMsg::RequestVote { .. }
            | RaftMsg::RequestVoteReply { .. }
            | RaftMsg::AppendEntriesReply { .. }
            | RaftMsg::Probe { .. }
            | RaftMsg::ProbeReply { .. } => {
                // No log entries: nothing to leave out.
                None
            }
            RaftMsg::InstallSnapshot { .. } => {
                // A snapshot is sent whole: the transport splits a message too long for one
                // datagram into fragments (`runtime::fragment`) rather than Figure 13's chunks.
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// A Raft AppendEntries is superseded only by a later one of the same term and previous
    /// entry whose entries extend its own and whose commit index, last index and read round are
    /// at least its own.
    #[test]
    fn a_longer_append_entries_supersedes_a_shorter_one_and_nothing_else_does() {
        use ballot_models::kv::Entry;
        use ballot_models::raft::{Index, LogEntry, Term};
        let ae = |term: Term, prev: Index, n: u64, commit: Index, read: u64| RaftMsg::<
            String,
            String,
        >::AppendEntries {
            term,
            prev_log_index: prev,
            prev_log_term: 1,
            entries: Arc::new(
                (0..n)
                    .map(|_| LogEntry {
                        term,
                        entry: Entry::Noop,
                    })
                    .collect(),
            ),
            leader_commit: commit,
            leader_last: prev + n,
            read_round: read,
        };
        let sup = <Raft as Served>::supersedes;
        assert!(sup(&ae(2, 3, 1, 3, 0), &ae(2, 3, 2, 3, 0)));
        assert!(sup(&ae(2, 3, 1, 3, 0), &ae(2, 3, 1, 4, 1)));
        assert!(
            !sup(&ae(2, 3, 2, 3, 0), &ae(2, 3, 1, 3, 0)),
            "fewer entries"
        );
        assert!(
            !sup(&ae(2, 3, 1, 4, 0), &ae(2, 3, 2, 3, 0)),
            "a lower commit index"
        );
        assert!(
            !sup(&ae(2, 3, 1, 3, 1), &ae(2, 3, 2, 3, 0)),
            "an older read round"
        );
        assert!(
            !sup(&ae(2, 3, 1, 3, 0), &ae(2, 4, 2, 3, 0)),
            "another previous entry"
        );
        assert!(!sup(&ae(2, 3, 1, 3, 0), &ae(3, 3, 2, 3, 0)), "another term");
        let mut other_entries = ae(2, 3, 2, 3, 0);
        if let RaftMsg::AppendEntries { entries, .. } = &mut other_entries {
            *entries = Arc::new(vec![
                LogEntry {
                    term: 1,
                    entry: Entry::Noop,
                },
                LogEntry {
                    term: 2,
                    entry: Entry::Noop,
                },
            ]);
        }
        assert!(!sup(&ae(2, 3, 1, 3, 0), &other_entries), "not a prefix");
        let vote = RaftMsg::RequestVoteReply {
            term: 2,
            vote_granted: true,
            incarnation: 0,
        };
        assert!(!sup(&vote, &vote));
    }

    #[test]
    fn sessions_and_addresses_never_share_an_id() {
        let highest = id(SocketAddrV4::new(Ipv4Addr::BROADCAST, u16::MAX));
        assert_eq!(session_of(highest), None);
        assert_eq!(session_id(usize::from(highest) as u64), None);
        let s = SESSION_BIT | 12345;
        assert_eq!(session_id(s).and_then(session_of), Some(s));
        assert_eq!(session_id(12345), None);
    }
}
