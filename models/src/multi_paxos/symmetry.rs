//! Symmetry reduction: servers are interchangeable, so every server identity in a state or a
//! message is renumbered.
//!
//! `cluster::server_symmetry` renumbers servers; every server identity below goes through the
//! plan: ballots' proposer indices, quorum bit sets, and (in `kv`) client targets and leader
//! hints. Clients keep their numbers.

use super::*;

impl Rewrite<Id> for Ballot {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Ballot {
            round: self.round,
            proposer: rewrite_server_index(self.proposer, plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for Vote<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Vote {
            slot: self.slot,
            ballot: self.ballot.rewrite(plan),
            entry: self.entry.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpMsg<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            MpMsg::Request(r) => MpMsg::Request(r.rewrite(plan)),
            MpMsg::Reply(r) => MpMsg::Reply(r.rewrite(plan)),
            MpMsg::Prepare { ballot, from } => MpMsg::Prepare {
                ballot: ballot.rewrite(plan),
                from: *from,
            },
            MpMsg::Promise {
                ballot,
                votes,
                compacted,
            } => MpMsg::Promise {
                ballot: ballot.rewrite(plan),
                votes: votes.rewrite(plan),
                compacted: *compacted,
            },
            MpMsg::Accept {
                ballot,
                slot,
                entries,
                committed,
                read_round,
            } => MpMsg::Accept {
                ballot: ballot.rewrite(plan),
                slot: *slot,
                entries: entries.rewrite(plan),
                committed: *committed,
                read_round: *read_round,
            },
            MpMsg::Accepted {
                ballot,
                slot,
                count,
                read_round,
            } => MpMsg::Accepted {
                ballot: ballot.rewrite(plan),
                slot: *slot,
                count: *count,
                read_round: *read_round,
            },
            MpMsg::Heartbeat {
                ballot,
                committed,
                read_round,
            } => MpMsg::Heartbeat {
                ballot: ballot.rewrite(plan),
                committed: *committed,
                read_round: *read_round,
            },
            MpMsg::HeartbeatOk { ballot, read_round } => MpMsg::HeartbeatOk {
                ballot: ballot.rewrite(plan),
                read_round: *read_round,
            },
            MpMsg::CatchUp { from } => MpMsg::CatchUp { from: *from },
            MpMsg::Chosen {
                from,
                entries,
                committed,
                base,
            } => MpMsg::Chosen {
                from: *from,
                entries: entries.rewrite(plan),
                committed: *committed,
                // A state machine names clients only (always `None` in the model).
                base: base.clone(),
            },
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpStorage<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        MpStorage {
            promised: self.promised.rewrite(plan),
            votes: self.votes.iter().map(|v| v.rewrite(plan)).collect(),
            // Entries name clients only, and clients keep their ids under server symmetry
            // (`cluster::server_symmetry`): the log is shared, not copied.
            log: self.log.clone(),
            executed: self.executed,
            compacted: self.compacted,
            // A state machine names clients only (always `None` in the model).
            log_base: self.log_base.clone(),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for InFlight<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        InFlight {
            slot: self.slot,
            entry: self.entry.rewrite(plan),
            acks: self.acks.rewrite(plan),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for Role<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Role::Follower => Role::Follower,
            Role::Preparing {
                ballot,
                from,
                promises,
                reports,
                compacted,
            } => Role::Preparing {
                ballot: ballot.rewrite(plan),
                from: *from,
                promises: promises.rewrite(plan),
                reports: reports.rewrite(plan),
                compacted: *compacted,
            },
            Role::Leading {
                ballot,
                next,
                unsent,
                in_flight,
                beats,
                taken_over,
                reads,
                behind,
            } => Role::Leading {
                ballot: ballot.rewrite(plan),
                next: *next,
                unsent: *unsent,
                in_flight: in_flight.rewrite(plan),
                beats: *beats,
                taken_over: *taken_over,
                reads: reads.rewrite(plan),
                behind: *behind,
            },
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for MpState<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            MpState::Server(s) => MpState::Server(ServerState {
                durable: s.durable.rewrite(plan),
                role: s.role.rewrite(plan),
                pending: s.pending.rewrite(plan),
                sm: s.sm.clone(),
            }),
            MpState::Client(c) => MpState::Client(c.rewrite(plan)),
        }
    }
}
