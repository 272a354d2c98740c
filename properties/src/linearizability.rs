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

#[cfg(test)]
mod tests {
    use super::*;
    use RegisterOp::*;
    use RegisterRet::*;

    type H = ClientHistory<WriteOnceRegister<char>>;

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
