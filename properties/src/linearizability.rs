//! Linearizability of what clients observe.
//!
//! A model records each client operation twice: when the client sends the request (invoke) and
//! when the answer to *that* request arrives (return). [`ClientHistory`] keeps those records and
//! asks Stateright's [`LinearizabilityTester`] whether some order of the operations, consistent
//! with real time, is allowed by a sequential specification such as [`WriteOnceRegister`].
//!
//! Returns are matched by request id: a duplicated or late answer to an earlier request is not a
//! return of the operation in flight (Stateright's ordered network re-delivers messages that the
//! actor ignores, and a naive recorder would take such a duplicate as an answer).

use serde::Serialize;
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::{Rewrite, RewritePlan};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// A client, identified by its actor index.
pub type ClientId = usize;
/// A request id, unique per client.
pub type RequestId = u32;

/// The history of client operations of one model state.
///
/// The records sit behind an [`Arc`]: the checker copies every state at every step, and most
/// steps leave the history alone, so a copy costs a reference count instead of two maps.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ClientHistory<S: SequentialSpec>
where
    S::Op: Clone + Debug + PartialEq + Eq + Hash + Serialize,
    S::Ret: Clone + Debug + PartialEq + Eq + Hash + Serialize,
{
    records: Arc<Records<S>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
struct Records<S: SequentialSpec>
where
    S::Op: Clone + Debug + PartialEq + Eq + Hash + Serialize,
    S::Ret: Clone + Debug + PartialEq + Eq + Hash + Serialize,
{
    tester: LinearizabilityTester<ClientId, S>,
    in_flight: BTreeMap<ClientId, RequestId>,
}

impl<S> ClientHistory<S>
where
    S: SequentialSpec + Clone + Debug + Serialize,
    S::Op: Clone + Debug + PartialEq + Eq + Hash + Serialize,
    S::Ret: Clone + Debug + PartialEq + Eq + Hash + Serialize,
{
    /// An empty history over the initial object `spec`.
    pub fn new(spec: S) -> Self {
        Self {
            records: Arc::new(Records {
                tester: LinearizabilityTester::new(spec),
                in_flight: BTreeMap::new(),
            }),
        }
    }

    /// Records that `client` sent request `req` for operation `op`. Returns the new history, or
    /// `None` when this is a re-send of the request already in flight.
    pub fn invoke(&self, client: ClientId, req: RequestId, op: S::Op) -> Option<Self> {
        if self.records.in_flight.get(&client) == Some(&req) {
            return None;
        }
        let mut next = Records::clone(&self.records);
        // A second invocation while one is in flight marks the history invalid, so the
        // Linearizability property fails: a client must not do that.
        let _ = next.tester.on_invoke(client, op);
        next.in_flight.insert(client, req);
        Some(Self {
            records: Arc::new(next),
        })
    }

    /// Records that the answer `ret` to request `req` reached `client`. Returns the new history,
    /// or `None` when `req` is not the client's request in flight (a duplicate or stale answer).
    pub fn respond(&self, client: ClientId, req: RequestId, ret: S::Ret) -> Option<Self> {
        if self.records.in_flight.get(&client) != Some(&req) {
            return None;
        }
        let mut next = Records::clone(&self.records);
        let _ = next.tester.on_return(client, ret);
        next.in_flight.remove(&client);
        Some(Self {
            records: Arc::new(next),
        })
    }

    /// Whether the recorded operations are linearizable with respect to the specification.
    pub fn is_linearizable(&self) -> bool {
        self.records.tester.is_consistent()
    }

    /// A sequential order of the completed operations that the specification allows, if any.
    pub fn serialized(&self) -> Option<Vec<(S::Op, S::Ret)>> {
        self.records.tester.serialized_history()
    }

    /// How many operations were invoked (completed or in flight).
    pub fn len(&self) -> usize {
        self.records.tester.len()
    }

    /// Whether no operation was invoked yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Symmetry reduction in Ballot renumbers servers only; clients — the only actors a history
/// names — keep their numbers, so a history is left as it is.
impl<R, S> Rewrite<R> for ClientHistory<S>
where
    S: SequentialSpec + Clone + Debug + Serialize,
    S::Op: Clone + Debug + PartialEq + Eq + Hash + Serialize,
    S::Ret: Clone + Debug + PartialEq + Eq + Hash + Serialize,
{
    fn rewrite<P>(&self, _: &RewritePlan<R, P>) -> Self {
        self.clone()
    }
}

/// The sequential specification of single-decree consensus: a write-once register.
///
/// The first `Propose` to take effect sets the value; every `Propose` returns the value that
/// was set (the decision), whoever proposed it; `Read` returns the value, if set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct WriteOnceRegister<V>(pub Option<V>);

/// An operation on a [`WriteOnceRegister`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegisterOp<V> {
    /// Propose a value; returns the decided value.
    Propose(V),
    /// Read the decided value.
    Read,
}

/// The answer to a [`RegisterOp`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegisterRet<V> {
    /// The decided value, in answer to `Propose`.
    Decided(V),
    /// The value read, in answer to `Read`.
    ReadOk(Option<V>),
}

impl<V: Clone + PartialEq> SequentialSpec for WriteOnceRegister<V> {
    type Op = RegisterOp<V>;
    type Ret = RegisterRet<V>;

    fn invoke(&mut self, op: &Self::Op) -> Self::Ret {
        match op {
            RegisterOp::Propose(v) => {
                RegisterRet::Decided(self.0.get_or_insert_with(|| v.clone()).clone())
            }
            RegisterOp::Read => RegisterRet::ReadOk(self.0.clone()),
        }
    }
}

/// One operation of a recorded history, for [`linearizable`]: when it was invoked and answered,
/// as positions in one real-time order of events (an answer before an invocation came before
/// it), what it asked and what it was told. `answered: None` for an operation that got no
/// answer: it may have taken effect at any moment after its invocation, or never.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation<Op, Ret> {
    /// The position of its invocation.
    pub invoked: usize,
    /// The position of its answer, and the answer; `None` if it got none.
    pub answered: Option<(usize, Ret)>,
    /// The operation.
    pub op: Op,
}

/// Whether `ops` (a complete record of a run's operations) are linearizable with respect to
/// `spec`: some order of them, consistent with real time (an operation answered before another
/// was invoked comes first), that `spec` run sequentially answers as they were answered;
/// operations without an answer may be left out. Wing and Gong's search, with Lowe's
/// memoisation of the configurations seen (the operations taken and the specification's state):
/// the search never explores one configuration twice, so histories of many operations with
/// few in flight at once are checked in time about linear in their length, where the search
/// of Stateright's tester (which [`ClientHistory`] uses inside the model) can backtrack
/// exponentially. Iterative: no recursion as deep as the history.
pub fn linearizable<S>(spec: &S, ops: &[Operation<S::Op, S::Ret>]) -> bool
where
    S: SequentialSpec + Clone + Hash + Eq,
    S::Ret: PartialEq,
{
    let mut order: Vec<usize> = (0..ops.len()).collect();
    order.sort_by_key(|&i| ops[i].invoked);
    let ops: Vec<&Operation<S::Op, S::Ret>> = order.iter().map(|&i| &ops[i]).collect();
    let answered_at = |i: usize| ops[i].answered.as_ref().map_or(usize::MAX, |(t, _)| *t);
    let n = ops.len();
    // A configuration: every operation below `prefix` is taken, and so are those in `extra`
    // (all at or above `prefix`), in the state `spec` reached.
    type Config<S> = (usize, Vec<usize>, S);
    let normalize = |mut prefix: usize, mut extra: Vec<usize>| {
        extra.sort_unstable();
        while extra.first() == Some(&prefix) {
            extra.remove(0);
            prefix += 1;
        }
        (prefix, extra)
    };
    let done = |prefix: usize, extra: &[usize]| {
        // Every answered operation is taken; the others may stay out.
        (prefix..n).all(|i| extra.contains(&i) || ops[i].answered.is_none())
    };
    let mut seen: std::collections::HashSet<Config<S>> = std::collections::HashSet::new();
    let mut stack: Vec<Config<S>> = vec![(0, Vec::new(), spec.clone())];
    while let Some((prefix, extra, state)) = stack.pop() {
        if done(prefix, &extra) {
            return true;
        }
        if !seen.insert((prefix, extra.clone(), state.clone())) {
            continue;
        }
        // The candidates: operations not taken, invoked before every operation not taken was
        // answered (the one answered first among them must come before any invoked later).
        let mut first_answer = usize::MAX;
        let mut candidates = Vec::new();
        for (i, o) in ops.iter().enumerate().skip(prefix) {
            if o.invoked > first_answer {
                break;
            }
            if extra.contains(&i) {
                continue;
            }
            candidates.push(i);
            first_answer = first_answer.min(answered_at(i));
        }
        for &i in candidates.iter().rev() {
            if ops[i].invoked > first_answer {
                continue;
            }
            let mut taken = extra.clone();
            taken.push(i);
            let (p, e) = normalize(prefix, taken);
            if ops[i].answered.is_none() {
                // It may never take effect: taken, the state unchanged (explored after the
                // configuration where it does, pushed below).
                stack.push((p, e.clone(), state.clone()));
            }
            let mut next = state.clone();
            let ret = next.invoke(&ops[i].op);
            if ops[i].answered.as_ref().is_some_and(|(_, r)| *r != ret) {
                continue;
            }
            stack.push((p, e, next));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use RegisterOp::*;
    use RegisterRet::*;

    type H = ClientHistory<WriteOnceRegister<char>>;

    /// [`linearizable`] agrees with Stateright's tester ([`ClientHistory`]) on every history of
    /// a few random small runs: three clients, a register, some operations without an answer.
    #[test]
    fn the_memoised_search_agrees_with_stateright_s_tester() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % n
        };
        let (mut agreed, mut linearizable_seen, mut not_seen) = (0, 0, 0);
        for _ in 0..3000 {
            let mut h = H::new(WriteOnceRegister(None));
            let mut ops: Vec<Operation<RegisterOp<char>, RegisterRet<char>>> = Vec::new();
            let mut in_flight: [Option<usize>; 3] = [None; 3];
            let mut req = [0u32; 3];
            let mut time = 0;
            for _ in 0..8 {
                let c = next(3) as usize;
                time += 1;
                match in_flight[c] {
                    None => {
                        req[c] += 1;
                        let op = if next(2) == 0 {
                            Propose((b'a' + next(3) as u8) as char)
                        } else {
                            Read
                        };
                        h = h.invoke(c, req[c], op.clone()).unwrap();
                        in_flight[c] = Some(ops.len());
                        ops.push(Operation {
                            invoked: time,
                            answered: None,
                            op,
                        });
                    }
                    Some(i) => {
                        let v = (b'a' + next(3) as u8) as char;
                        let ret = match (&ops[i].op, next(3)) {
                            (Propose(_), _) => Decided(v),
                            (Read, 0) => ReadOk(None),
                            (Read, _) => ReadOk(Some(v)),
                        };
                        h = h.respond(c, req[c], ret.clone()).unwrap();
                        ops[i].answered = Some((time, ret));
                        in_flight[c] = None;
                    }
                }
            }
            let ours = linearizable(&WriteOnceRegister(None), &ops);
            assert_eq!(ours, h.is_linearizable(), "{ops:?}");
            agreed += 1;
            if ours {
                linearizable_seen += 1;
            } else {
                not_seen += 1;
            }
        }
        assert_eq!(agreed, 3000);
        assert!(
            linearizable_seen > 100 && not_seen > 100,
            "{linearizable_seen} / {not_seen}"
        );
    }

    /// Many writes of one key, each concurrent with the next, and a read of the last: checked
    /// at once (the configurations are few), where a search without memoisation may try the
    /// orders of every overlapping pair.
    #[test]
    fn a_long_history_of_overlapping_writes_is_checked_at_once() {
        let n = 4000;
        let mut ops = Vec::new();
        for i in 0..n {
            ops.push(Operation {
                invoked: 2 * i,
                answered: Some((2 * i + 3, Decided('a'))),
                op: Propose(if i % 2 == 0 { 'a' } else { 'b' }),
            });
        }
        ops.push(Operation {
            invoked: 2 * n + 10,
            answered: Some((2 * n + 11, ReadOk(Some('a')))),
            op: Read,
        });
        assert!(linearizable(&WriteOnceRegister(None), &ops));
        ops.push(Operation {
            invoked: 2 * n + 20,
            answered: Some((2 * n + 21, ReadOk(Some('b')))),
            op: Read,
        });
        assert!(!linearizable(&WriteOnceRegister(None), &ops));
    }

    #[test]
    fn first_proposal_wins_and_later_reads_see_it() {
        let h = H::new(WriteOnceRegister(None));
        let h = h.invoke(0, 1, Propose('a')).unwrap();
        let h = h.invoke(1, 1, Propose('b')).unwrap();
        let h = h.respond(1, 1, Decided('a')).unwrap();
        let h = h.respond(0, 1, Decided('a')).unwrap();
        let h = h.invoke(1, 2, Read).unwrap();
        let h = h.respond(1, 2, ReadOk(Some('a'))).unwrap();
        assert!(h.is_linearizable());
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn two_different_decisions_are_not_linearizable() {
        let h = H::new(WriteOnceRegister(None))
            .invoke(0, 1, Propose('a'))
            .unwrap()
            .invoke(1, 1, Propose('b'))
            .unwrap()
            .respond(0, 1, Decided('a'))
            .unwrap()
            .respond(1, 1, Decided('b'))
            .unwrap();
        assert!(!h.is_linearizable());
    }

    #[test]
    fn a_read_after_a_decision_must_not_be_empty() {
        let h = H::new(WriteOnceRegister(None))
            .invoke(0, 1, Propose('a'))
            .unwrap()
            .respond(0, 1, Decided('a'))
            .unwrap()
            .invoke(1, 1, Read)
            .unwrap()
            .respond(1, 1, ReadOk(None))
            .unwrap();
        assert!(!h.is_linearizable());
    }

    #[test]
    fn duplicate_and_stale_answers_are_not_returns() {
        let h = H::new(WriteOnceRegister(None))
            .invoke(0, 1, Propose('a'))
            .unwrap();
        assert!(
            h.invoke(0, 1, Propose('a')).is_none(),
            "re-send of the same request"
        );
        let h = h.respond(0, 1, Decided('a')).unwrap();
        assert!(h.respond(0, 1, Decided('a')).is_none(), "duplicate answer");
        let h = h.invoke(0, 2, Read).unwrap();
        assert!(h.respond(0, 1, Decided('a')).is_none(), "stale answer");
        assert!(h.is_linearizable());
    }
}
