//! What a Byzantine server may send in the Multi-Paxos model (`--byzantine 1`; see
//! [`crate::byzantine`]).

use super::*;
use crate::kv::Command;
use ballot_properties::kv::{KvOp, KvRet};

/// A message of the Multi-Paxos model.
pub type ModelMsg = MpMsg<ModelKey, ModelValue>;

impl MultiPaxosConfig {
    /// Every message a Byzantine server may send, with its receiver: every message a server
    /// sends in this protocol, with every field value within the model's bounds, to every
    /// honest server, and every answer to every client.
    ///
    /// - Ballots: every round `1..=max_round` of every proposer; slots `0..max_slots`; commit
    ///   points `0..=max_slots`; entries: a no-op, or a command some client issues.
    /// - To each honest server: `Prepare` (from any slot), `Promise` reporting no vote or one
    ///   vote (any slot, ballot and entry), `Accept` (any slot, entry and commit point),
    ///   `Accepted` and `HeartbeatOk` acknowledging any read round up to the model's reads
    ///   ([`crate::byzantine::read_round_bound`]), `Heartbeat`, and `Chosen` with no entry or one. The read round
    ///   of an `Accept` or `Heartbeat` is 0: a receiver only echoes it in its answer, which goes
    ///   to the liar.
    /// - To each client: for each of its requests, `Done` with each answer of that request's
    ///   operation, and `NotLeader` naming any server or none.
    ///
    /// Left out: client requests from the liar (a Byzantine *client*); `CatchUp`, whose only
    /// effect is an answer to the liar, which knows everything already; and messages a
    /// receiver's role ignores whatever their content. The model's bound of one ballot per
    /// round applies to forged ballots too: a state where a forged ballot shares a round with
    /// another ballot is out of bounds. `--byzantine-forge` keeps the kinds (variant names) it
    /// names; checked by [`Self::validate`].
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
        let slots = self.slots();
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
        let ballots: Vec<Ballot> = (1..=self.max_round)
            .flat_map(|round| {
                (0..n).map(move |p| Ballot {
                    round,
                    proposer: p as u8,
                })
            })
            .collect();
        let read_rounds = crate::byzantine::read_round_bound(&ops, self.log_reads, self.retries);
        let mut to_server = Vec::new();
        for &ballot in &ballots {
            for from in 0..=slots {
                to_server.push(MpMsg::Prepare { ballot, from });
            }
            to_server.push(MpMsg::Promise {
                ballot,
                votes: Vec::new(),
                compacted: Compacted(0),
            });
            for slot in 0..slots {
                for &voted in &ballots {
                    for entry in &entries {
                        to_server.push(MpMsg::Promise {
                            ballot,
                            votes: vec![Vote {
                                slot,
                                ballot: voted,
                                entry: entry.clone(),
                            }],
                            compacted: Compacted(0),
                        });
                    }
                }
                for entry in &entries {
                    for committed in 0..=slots {
                        to_server.push(MpMsg::Accept {
                            ballot,
                            slot,
                            entries: vec![entry.clone()],
                            committed,
                            read_round: 0,
                        });
                    }
                }
                for read_round in 0..=read_rounds {
                    to_server.push(MpMsg::Accepted {
                        ballot,
                        slot,
                        count: 1,
                        read_round,
                    });
                }
            }
            for committed in 0..=slots {
                to_server.push(MpMsg::Heartbeat {
                    ballot,
                    committed,
                    read_round: 0,
                });
            }
            for read_round in 1..=read_rounds {
                to_server.push(MpMsg::HeartbeatOk { ballot, read_round });
            }
        }
        for from in 0..slots {
            for committed in 0..=slots {
                to_server.push(MpMsg::Chosen {
                    from,
                    entries: Vec::new(),
                    committed,
                    base: LogBase::none(),
                });
                for entry in &entries {
                    to_server.push(MpMsg::Chosen {
                        from,
                        entries: vec![entry.clone()],
                        committed,
                        base: LogBase::none(),
                    });
                }
            }
        }
        let mut out = Vec::new();
        for server in (0..n).filter(|&i| i != liar) {
            out.extend(to_server.iter().map(|m| (Id::from(server), m.clone())));
        }
        let mut values: Vec<ModelValue> = ops
            .iter()
            .flatten()
            .filter_map(|op| match op {
                KvOp::Get(_) => None,
                KvOp::Put(_, v) => Some(*v),
                KvOp::Cas { to, .. } => Some(*to),
            })
            .collect();
        values.sort();
        values.dedup();
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
                    out.push((client, MpMsg::Reply(ClientReply::Done { req, ret })));
                }
                for leader in std::iter::once(None).chain((0..n).map(|i| Some(Id::from(i)))) {
                    out.push((client, MpMsg::Reply(ClientReply::NotLeader { req, leader })));
                }
            }
        }
        out
    }
}
