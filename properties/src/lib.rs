//! Protocol-agnostic views and properties shared by every Ballot protocol.
//!
//! A model's state exposes a [`ConsensusView`]: what each server has decided, slot by slot, in the
//! order it decided it, and which values clients proposed. The consensus properties are written
//! once over that view and used unchanged by Paxos, Multi-Paxos and Raft:
//!
//! - [`agreement`]: no two servers decide different values for the same slot;
//! - [`validity`]: only a proposed value is decided;
//! - [`integrity`]: a server decides at most once per slot and never changes its decision, and
//!   its state machine applies no client request twice;
//! - [`decided_somewhere`]: a "sometimes" (reachability) property, so that a model that never
//!   decides cannot pass.
//!
//! [`linearizability`] holds the client history that checks what clients observed against a
//! sequential specification: [`linearizability::WriteOnceRegister`] for single-decree Paxos,
//! [`kv::KvSpec`] (get, put, cas) for the replicated key-value service of Multi-Paxos and Raft.
#![deny(missing_docs)]

pub mod kv;
pub mod linearizability;

use linearizability::{ClientId, RequestId};

use std::fmt::Debug;

/// A position in a replicated log. Single-decree Paxos decides one slot, slot 0.
pub type Slot = u32;

/// What a model's state exposes to the consensus properties.
///
/// `decision_log(s)` is the sequence of decision events of server `s`: one `(slot, value)` pair
/// each time the server decided (learned, applied) a value for a slot. A server that decides a
/// slot twice, or changes its mind, shows the slot twice in its log, so the state alone is enough
/// to check Integrity. The log must be durable (restored after a crash), or a crash would hide
/// a changed decision.
pub trait ConsensusView {
    /// The decided values: client commands, and no-ops where a protocol has them.
    type Value: PartialEq + Debug;

    /// How many servers there are.
    fn server_count(&self) -> usize;

    /// Server `server`'s decision events, oldest first.
    fn decision_log(&self, server: usize) -> &[(Slot, Self::Value)];

    /// How decision log `server` is named in explanations: "server 2" by default. A view may
    /// have more decision logs than servers (a server's record of what a crash took back) and
    /// name them here.
    fn server_name(&self, server: usize) -> String {
        format!("server {server}")
    }

    /// How a slot is named in explanations: "slot 0" by default. A protocol whose decision
    /// events are positions in an executed log (Multi-Paxos) says "log position 1".
    fn slot_name(&self, slot: Slot) -> String {
        format!("slot {slot}")
    }

    /// Whether `value` may be decided: a client proposed it, or the protocol itself made it (a
    /// no-op filling a gap).
    fn is_proposed(&self, value: &Self::Value) -> bool;

    /// A client request that server `server`'s state machine applied a second time (its effect
    /// executed twice), if that ever happened. Protocols without a state machine keep the
    /// default: none.
    fn reapplied(&self, server: usize) -> Option<(ClientId, RequestId)> {
        let _ = server;
        None
    }

    /// How client `client` (as [`Self::reapplied`] returns it) is named in explanations:
    /// "client 3" by default. A model whose clients are actors numbered after the servers
    /// names them as its printed steps do ("client 0" for the first client).
    fn client_name(&self, client: ClientId) -> String {
        format!("client {client}")
    }
}

/// Why a consensus property is violated, naming the servers, slot and values involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property's name: "Agreement", "Validity" or "Integrity".
    pub property: &'static str,
    /// One sentence saying what went wrong.
    pub explanation: String,
}

/// **Agreement**: no two servers decide different values for the same slot.
pub fn agreement<V: ConsensusView + ?Sized>(view: &V) -> bool {
    agreement_violation(view).is_none()
}

/// The first Agreement violation found, if any.
pub fn agreement_violation<V: ConsensusView + ?Sized>(view: &V) -> Option<Violation> {
    let n = view.server_count();
    for a in 0..n {
        for (slot, va) in view.decision_log(a) {
            for b in a..n {
                for (slot_b, vb) in view.decision_log(b) {
                    if slot == slot_b && va != vb {
                        return Some(Violation {
                            property: "Agreement",
                            explanation: format!(
                                "{} decided {va:?} and {} decided {vb:?} for {}",
                                view.server_name(a),
                                view.server_name(b),
                                view.slot_name(*slot)
                            ),
                        });
                    }
                }
            }
        }
    }
    None
}

/// **Validity**: only a proposed value is decided.
pub fn validity<V: ConsensusView + ?Sized>(view: &V) -> bool {
    validity_violation(view).is_none()
}

/// The first Validity violation found, if any.
pub fn validity_violation<V: ConsensusView + ?Sized>(view: &V) -> Option<Violation> {
    (0..view.server_count()).find_map(|s| {
        view.decision_log(s)
            .iter()
            .find(|(_, v)| !view.is_proposed(v))
            .map(|(slot, v)| Violation {
                property: "Validity",
                explanation: format!(
                    "{} decided {v:?} for {}, which no client proposed",
                    view.server_name(s),
                    view.slot_name(*slot)
                ),
            })
    })
}

/// **Integrity**: a server decides at most once per slot, and so never changes its decision; and
/// it applies each client request at most once.
pub fn integrity<V: ConsensusView + ?Sized>(view: &V) -> bool {
    integrity_violation(view).is_none()
}

/// The first Integrity violation found, if any.
pub fn integrity_violation<V: ConsensusView + ?Sized>(view: &V) -> Option<Violation> {
    (0..view.server_count()).find_map(|s| {
        let log = view.decision_log(s);
        log.iter()
            .enumerate()
            .find_map(|(i, (slot, first))| {
                log[i + 1..]
                    .iter()
                    .find(|(later, _)| later == slot)
                    .map(|(_, again)| Violation {
                        property: "Integrity",
                        explanation: format!(
                            "{} decided {} twice: {first:?}, then {again:?}",
                            view.server_name(s),
                            view.slot_name(*slot)
                        ),
                    })
            })
            .or_else(|| {
                view.reapplied(s).map(|(client, req)| Violation {
                    property: "Integrity",
                    explanation: format!(
                        "{} applied request {req} of {} twice",
                        view.server_name(s),
                        view.client_name(client)
                    ),
                })
            })
    })
}

/// Every consensus property violated by this view, Agreement first.
pub fn violations<V: ConsensusView + ?Sized>(view: &V) -> Vec<Violation> {
    [
        agreement_violation(view),
        validity_violation(view),
        integrity_violation(view),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Reachability ("sometimes"): some server has decided something.
pub fn decided_somewhere<V: ConsensusView + ?Sized>(view: &V) -> bool {
    (0..view.server_count()).any(|s| !view.decision_log(s).is_empty())
}

/// The size of a majority quorum of `n` servers: the smallest count such that any two quorums
/// intersect.
pub const fn majority(n: usize) -> usize {
    n / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Logs(Vec<Vec<(Slot, char)>>, Vec<char>);

    /// Logs plus, per server, a request its state machine applied twice, and how many actors
    /// come before the first client (`None`: the default client names).
    struct Applied(Logs, Vec<Option<(ClientId, RequestId)>>, Option<usize>);

    impl ConsensusView for Applied {
        type Value = char;
        fn server_count(&self) -> usize {
            self.0.server_count()
        }
        fn decision_log(&self, server: usize) -> &[(Slot, char)] {
            self.0.decision_log(server)
        }
        fn is_proposed(&self, value: &char) -> bool {
            self.0.is_proposed(value)
        }
        fn reapplied(&self, server: usize) -> Option<(ClientId, RequestId)> {
            self.1[server]
        }
        fn client_name(&self, client: ClientId) -> String {
            match self.2 {
                Some(servers) => format!("client {}", client - servers),
                None => format!("client {client}"),
            }
        }
    }

    #[test]
    fn integrity_fails_on_a_request_applied_twice() {
        let logs = || Logs(vec![vec![(0, 'a')], vec![(0, 'a')]], vec!['a']);
        assert!(integrity(&Applied(logs(), vec![None, None], None)));
        let v = integrity_violation(&Applied(logs(), vec![None, Some((3, 1))], None)).unwrap();
        assert_eq!(
            v.explanation,
            "server 1 applied request 1 of client 3 twice"
        );
    }

    #[test]
    fn integrity_names_the_client_as_the_view_does() {
        // Actor 3 is the first client when three servers come first: "client 0", as the steps
        // of a printed path call it.
        let logs = Logs(vec![vec![(0, 'a')], vec![(0, 'a')]], vec!['a']);
        let v = integrity_violation(&Applied(logs, vec![None, Some((3, 1))], Some(3))).unwrap();
        assert_eq!(
            v.explanation,
            "server 1 applied request 1 of client 0 twice"
        );
    }

    impl ConsensusView for Logs {
        type Value = char;
        fn server_count(&self) -> usize {
            self.0.len()
        }
        fn decision_log(&self, server: usize) -> &[(Slot, char)] {
            &self.0[server]
        }
        fn is_proposed(&self, value: &char) -> bool {
            self.1.contains(value)
        }
    }

    #[test]
    fn agreement_fails_on_different_values_for_one_slot() {
        let ok = Logs(
            vec![vec![(0, 'a')], vec![(0, 'a'), (1, 'b')], vec![]],
            vec!['a', 'b'],
        );
        assert!(agreement(&ok));
        let bad = Logs(vec![vec![(0, 'a')], vec![], vec![(0, 'b')]], vec!['a', 'b']);
        let v = agreement_violation(&bad).expect("violation");
        assert_eq!(
            v.explanation,
            "server 0 decided 'a' and server 2 decided 'b' for slot 0"
        );
        // A server disagreeing with itself is also a disagreement.
        assert!(!agreement(&Logs(
            vec![vec![(0, 'a'), (0, 'b')]],
            vec!['a', 'b']
        )));
    }

    #[test]
    fn validity_fails_on_an_unproposed_value() {
        assert!(validity(&Logs(vec![vec![(0, 'a')]], vec!['a'])));
        assert!(!validity(&Logs(vec![vec![(0, 'z')]], vec!['a'])));
    }

    #[test]
    fn integrity_fails_on_a_second_decision_even_of_the_same_value() {
        assert!(integrity(&Logs(vec![vec![(0, 'a'), (1, 'a')]], vec!['a'])));
        assert!(!integrity(&Logs(vec![vec![(0, 'a'), (0, 'a')]], vec!['a'])));
        assert!(!integrity(&Logs(
            vec![vec![], vec![(3, 'a'), (3, 'b')]],
            vec!['a', 'b']
        )));
    }

    #[test]
    fn decided_somewhere_needs_a_decision() {
        assert!(!decided_somewhere(&Logs(vec![vec![], vec![]], vec![])));
        assert!(decided_somewhere(&Logs(
            vec![vec![], vec![(0, 'a')]],
            vec!['a']
        )));
    }

    proptest! {
        /// Any two majorities of the same cluster share a server; one server fewer does not
        /// always.
        #[test]
        fn majorities_intersect(n in 1usize..12, a in any::<u64>(), b in any::<u64>()) {
            let q = majority(n);
            prop_assert!(2 * q > n);
            let pick = |seed: u64| -> Vec<usize> {
                let mut ids: Vec<usize> = (0..n).collect();
                let mut s = seed;
                for i in (1..n).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ids.swap(i, (s >> 33) as usize % (i + 1));
                }
                ids.truncate(q);
                ids
            };
            let (qa, qb) = (pick(a), pick(b));
            prop_assert!(qa.iter().any(|x| qb.contains(x)));
            if n >= 2 {
                // q - 1 servers: the first and the last q - 1 of 0..n are disjoint when 2(q-1) <= n.
                prop_assert!(2 * (q - 1) <= n);
            }
        }
    }
}
