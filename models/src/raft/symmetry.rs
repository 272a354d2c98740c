//! Symmetry reduction: servers are interchangeable, so every server identity in a state is
//! renumbered through the plan of [`crate::cluster::server_symmetry`].

use super::*;

fn permute_servers<T: Clone + Default, S>(per_server: &[T], plan: &RewritePlan<Id, S>) -> Vec<T> {
    let mut out = vec![T::default(); per_server.len()];
    for (i, v) in per_server.iter().enumerate() {
        out[rewrite_server_index(i as u8, plan) as usize] = v.clone();
    }
    out
}

impl Rewrite<Id> for Rejoin {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        // `heard` is sized to the servers as soon as the server has started (an empty one
        // permutes to itself).
        Rejoin {
            heard: permute_servers(&self.heard, plan),
            probed: self.probed,
        }
    }
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
            // Entries name clients only, and clients keep their ids under server symmetry
            // (`cluster::server_symmetry`): the logs are shared, not copied.
            log: self.log.clone(),
            snapshot_index: self.snapshot_index,
            snapshot_term: self.snapshot_term,
            snapshot_config: SnapshotConfig(
                self.snapshot_config
                    .0
                    .map(|(index, members)| (index, members.rewrite(plan))),
            ),
            applied: self.applied.clone(),
            applied_terms: self.applied_terms.clone(),
            rejoin: self.rejoin.as_ref().map(|r| r.rewrite(plan)),
            incarnation: self.incarnation,
            // A real run's (the model never folds): sessions are clients, which keep their ids.
            applied_base: self.applied_base.clone(),
        }
    }
}

impl<K: Clone> Rewrite<Id> for Role<K> {
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
                reads,
                learner,
                beats,
                replicating,
            } => Role::Leader {
                next_index: permute_servers(next_index, plan),
                match_index: permute_servers(match_index, plan),
                reads: reads.rewrite(plan),
                learner: learner.map(|l| Learner {
                    server: rewrite_server_index(l.server, plan),
                    round_end: l.round_end,
                }),
                beats: *beats,
                replicating: replicating.rewrite(plan),
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
                written: s.written,
                leader_overwrote: s.leader_overwrote,
                rejoined: s.rejoined,
                sm: s.sm.clone(),
            }),
            RaftState::Client(c) => RaftState::Client(c.rewrite(plan)),
        }
    }
}

impl<K: Clone, V: Clone> Rewrite<Id> for RaftMsg<K, V> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            RaftMsg::Request(r) => RaftMsg::Request(r.rewrite(plan)),
            RaftMsg::Admin(r) => RaftMsg::Admin(AdminRequest {
                req: r.req,
                op: r.op.clone().map(|id| id.rewrite(plan)),
            }),
            RaftMsg::AdminReply { req, answer } => RaftMsg::AdminReply {
                req: *req,
                answer: answer.clone().map(|id| id.rewrite(plan)),
            },
            RaftMsg::Reply(r) => RaftMsg::Reply(r.rewrite(plan)),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                leader_last,
                read_round,
            } => RaftMsg::AppendEntries {
                term: *term,
                prev_log_index: *prev_log_index,
                prev_log_term: *prev_log_term,
                // Entries name clients only, which keep their ids under server symmetry.
                entries: Arc::clone(entries),
                leader_commit: *leader_commit,
                leader_last: *leader_last,
                read_round: *read_round,
            },
            RaftMsg::RequestVote { .. }
            | RaftMsg::RequestVoteReply { .. }
            | RaftMsg::AppendEntriesReply { .. }
            // The snapshot's entries name clients only, which keep their ids.
            | RaftMsg::InstallSnapshot { .. }
            | RaftMsg::Probe { .. }
            | RaftMsg::ProbeReply { .. } => self.clone(),
        }
    }
}

/// Symmetry reduction for Raft models: servers are interchangeable.
pub fn symmetry(state: &RaftModelState) -> RaftModelState {
    crate::cluster::server_symmetry(state)
}
