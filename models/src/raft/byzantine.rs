//! What a Byzantine server may send in the Raft model (`--byzantine 1`; see
//! [`crate::byzantine`]).

use super::*;
use crate::kv::Command;
use ballot_properties::kv::{KvOp, KvRet};

/// A message of the Raft model.
pub type ModelMsg = RaftMsg<ModelKey, ModelValue>;

impl RaftConfig {
    /// Every message a Byzantine server may send, with its receiver: every message a server
    /// sends in this protocol, with every field value within the model's bounds, to every
    /// honest server, and every answer to every client.
    ///
    /// - Terms `1..=max_term`; log indices `0..=max_log`; entry terms `1..=max_term`; entries:
    ///   a no-op, or a command some client issues (its client, request id and operation).
    /// - To each honest server: `RequestVote` (any last log index and term), `RequestVoteReply`
    ///   (granted or not), `AppendEntries` with no entry or one entry (any previous index and
    ///   term, any commit index, the leader's last index being the index the entries reach,
    ///   read round 0: a receiver only echoes it in its answer, which goes to the liar),
    ///   `AppendEntriesReply` acknowledging any read round up to the model's reads (one per
    ///   get attempt, none with `--log-reads`); with `--wipes`, also `Probe` and `ProbeReply` (incarnations
    ///   `0..=wipes`; without it no server rejoins, and they are left out).
    /// - To each client: for each of its requests, `Done` with each answer of that request's
    ///   operation (a read any value, or nothing; a put; a compare-and-swap that swapped or
    ///   not), and `NotLeader` naming any server or none.
    ///
    /// Left out: client requests from the liar (a Byzantine *client*: its commands are no
    /// client's, so Validity would break by definition), and messages a receiver's role ignores
    /// whatever their content. `--byzantine-forge` keeps the kinds (variant names) it names;
    /// checked by [`Self::validate`].
    pub fn forgeries(&self) -> Result<Vec<(Id, ModelMsg)>, String> {
        crate::byzantine::restrict(
            self.all_forgeries(),
            &self.cluster.byzantine_forge,
            crate::byzantine::variant,
        )
    }

    fn all_forgeries(&self) -> Vec<(Id, ModelMsg)> {
        let n = self.cluster.servers;
        let Some(liar) = self.cluster.byzantine_server() else {
            return Vec::new();
        };
        let (max_term, max_log) = (self.max_term, self.max_log);
        let incarnations = 0..=self.wipes as u64;
        let ops: Vec<Vec<KvOp<ModelKey, ModelValue>>> = (0..self.cluster.clients)
            .map(|c| client_ops(c, self.requests))
            .collect();
        let mut entries = vec![Entry::Noop];
        for (c, ops) in ops.iter().enumerate() {
            for (k, op) in ops.iter().enumerate() {
                entries.push(Entry::Cmd(Command {
                    client: Id::from(n + c),
                    req: k as u32 + 1,
                    op: op.clone(),
                }));
            }
        }
        let mut values: Vec<ModelValue> = Vec::new();
        for op in ops.iter().flatten() {
            let written = match op {
                KvOp::Get(_) => None,
                KvOp::Put(_, v) => Some(*v),
                KvOp::Cas { to, .. } => Some(*to),
            };
            if let Some(v) = written
                && !values.contains(&v)
            {
                values.push(v);
            }
        }
        let read_rounds = crate::byzantine::read_round_bound(&ops, self.log_reads, self.retries);
        let mut to_server = Vec::new();
        for term in 1..=max_term {
            for last_log_index in 0..=max_log {
                for last_log_term in 0..=max_term {
                    for incarnation in incarnations.clone() {
                        to_server.push(RaftMsg::RequestVote {
                            term,
                            last_log_index,
                            last_log_term,
                            incarnation,
                        });
                    }
                }
            }
            for vote_granted in [true, false] {
                for incarnation in incarnations.clone() {
                    to_server.push(RaftMsg::RequestVoteReply {
                        term,
                        vote_granted,
                        incarnation,
                    });
                }
            }
            for prev_log_index in 0..=max_log {
                for prev_log_term in 0..=max_term {
                    let mut batches = vec![Vec::new()];
                    if prev_log_index < max_log {
                        for entry_term in 1..=max_term {
                            for entry in &entries {
                                batches.push(vec![LogEntry {
                                    term: entry_term,
                                    entry: entry.clone(),
                                }]);
                            }
                        }
                    }
                    for batch in batches {
                        let leader_last = prev_log_index + batch.len() as Index;
                        let batch = Arc::new(batch);
                        for leader_commit in 0..=max_log {
                            to_server.push(RaftMsg::AppendEntries {
                                term,
                                prev_log_index,
                                prev_log_term,
                                entries: Arc::clone(&batch),
                                leader_commit,
                                leader_last,
                                read_round: 0,
                            });
                        }
                    }
                }
            }
            for success in [true, false] {
                for index in 0..=max_log {
                    for read_round in 0..=read_rounds {
                        to_server.push(RaftMsg::AppendEntriesReply {
                            term,
                            success,
                            index,
                            read_round,
                        });
                    }
                }
            }
        }
        if self.wipes > 0 {
            for incarnation in incarnations.clone() {
                to_server.push(RaftMsg::Probe { incarnation });
                for term in 0..=max_term {
                    for last_log_index in 0..=max_log {
                        for rejoining_empty in [false, true] {
                            to_server.push(RaftMsg::ProbeReply {
                                incarnation,
                                term,
                                last_log_index,
                                rejoining_empty,
                            });
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        for server in (0..n).filter(|&i| i != liar) {
            out.extend(to_server.iter().map(|m| (Id::from(server), m.clone())));
        }
        for (c, ops) in ops.iter().enumerate() {
            let client = Id::from(n + c);
            for (k, op) in ops.iter().enumerate() {
                let req = k as u32 + 1;
                let answers: Vec<KvRet<ModelValue>> = match op {
                    KvOp::Get(_) => std::iter::once(None)
                        .chain(values.iter().copied().map(Some))
                        .map(KvRet::GetOk)
                        .collect(),
                    KvOp::Put(..) => vec![KvRet::PutOk],
                    KvOp::Cas { .. } => vec![KvRet::CasOk(true), KvRet::CasOk(false)],
                };
                for ret in answers {
                    out.push((client, RaftMsg::Reply(ClientReply::Done { req, ret })));
                }
                for leader in std::iter::once(None).chain((0..n).map(|i| Some(Id::from(i)))) {
                    out.push((
                        client,
                        RaftMsg::Reply(ClientReply::NotLeader { req, leader }),
                    ));
                }
            }
        }
        out
    }
}
