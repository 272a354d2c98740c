//! The key-value service that Multi-Paxos and Raft replicate, as a sequential specification.
//!
//! Clients see one key-value map with three operations: `get`, `put` and `cas` (compare and
//! swap). [`KvSpec`] says what each operation returns when operations run one at a time; a
//! [`crate::linearizability::ClientHistory`] over it checks that what clients saw concurrently
//! could have happened one at a time, in an order that respects real time.

use serde::{Deserialize, Serialize};
use stateright::semantics::SequentialSpec;
use stateright::{Rewrite, RewritePlan};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// An operation on the key-value map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvOp<K, V> {
    /// Read the value of a key.
    Get(K),
    /// Set a key to a value.
    Put(K, V),
    /// Compare and swap: set `key` to `to` if it currently holds `from`.
    Cas {
        /// The key.
        key: K,
        /// The value the key must hold for the swap to happen.
        from: V,
        /// The new value.
        to: V,
    },
}

/// The answer to a [`KvOp`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KvRet<V> {
    /// The value read (`None`: the key was never set).
    GetOk(Option<V>),
    /// The put took effect.
    PutOk,
    /// Whether the compare-and-swap swapped.
    CasOk(bool),
}

/// The sequential specification: a map from keys to values, initially empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvSpec<K: Ord, V>(pub BTreeMap<K, V>);

impl<K: Ord, V> Default for KvSpec<K, V> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<K: Clone + Ord, V: Clone + PartialEq> KvSpec<K, V> {
    /// Applies `op` to the map and returns its answer. Used by the specification and by the
    /// replicas' state machines alike, so both agree on what an operation means.
    pub fn apply(&mut self, op: &KvOp<K, V>) -> KvRet<V> {
        match op {
            KvOp::Get(k) => KvRet::GetOk(self.0.get(k).cloned()),
            KvOp::Put(k, v) => {
                self.0.insert(k.clone(), v.clone());
                KvRet::PutOk
            }
            KvOp::Cas { key, from, to } => {
                if self.0.get(key) == Some(from) {
                    self.0.insert(key.clone(), to.clone());
                    KvRet::CasOk(true)
                } else {
                    KvRet::CasOk(false)
                }
            }
        }
    }
}

impl<K: Clone + Ord, V: Clone + PartialEq> SequentialSpec for KvSpec<K, V> {
    type Op = KvOp<K, V>;
    type Ret = KvRet<V>;

    fn invoke(&mut self, op: &Self::Op) -> Self::Ret {
        self.apply(op)
    }
}

// Operations, answers and the map name no actor: symmetry reduction leaves them as they are.
impl<R, K: Clone, V: Clone> Rewrite<R> for KvOp<K, V> {
    fn rewrite<S>(&self, _: &RewritePlan<R, S>) -> Self {
        self.clone()
    }
}

impl<R, V: Clone> Rewrite<R> for KvRet<V> {
    fn rewrite<S>(&self, _: &RewritePlan<R, S>) -> Self {
        self.clone()
    }
}

impl<R, K: Clone + Ord, V: Clone> Rewrite<R> for KvSpec<K, V> {
    fn rewrite<S>(&self, _: &RewritePlan<R, S>) -> Self {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::ClientHistory;
    use KvOp::*;
    use KvRet::*;

    type H = ClientHistory<KvSpec<char, u8>>;

    #[test]
    fn sequential_semantics() {
        let mut kv = KvSpec::<char, u8>::default();
        assert_eq!(kv.apply(&Get('x')), GetOk(None));
        assert_eq!(
            kv.apply(&Cas {
                key: 'x',
                from: 1,
                to: 2
            }),
            CasOk(false)
        );
        assert_eq!(kv.apply(&Put('x', 1)), PutOk);
        assert_eq!(
            kv.apply(&Cas {
                key: 'x',
                from: 1,
                to: 2
            }),
            CasOk(true)
        );
        assert_eq!(kv.apply(&Get('x')), GetOk(Some(2)));
        assert_eq!(kv.apply(&Get('y')), GetOk(None));
    }

    #[test]
    fn concurrent_put_and_get_may_see_either() {
        for seen in [None, Some(1)] {
            let h = H::new(KvSpec::default())
                .invoke(0, 1, Put('x', 1))
                .unwrap()
                .invoke(1, 1, Get('x'))
                .unwrap()
                .respond(1, 1, GetOk(seen))
                .unwrap()
                .respond(0, 1, PutOk)
                .unwrap();
            assert!(h.is_linearizable(), "{seen:?}");
        }
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_put_is_not_linearizable() {
        let h = H::new(KvSpec::default())
            .invoke(0, 1, Put('x', 1))
            .unwrap()
            .respond(0, 1, PutOk)
            .unwrap()
            .invoke(1, 1, Get('x'))
            .unwrap()
            .respond(1, 1, GetOk(None))
            .unwrap();
        assert!(!h.is_linearizable());
    }

    #[test]
    fn two_successful_cas_from_the_same_value_are_not_linearizable() {
        let h = H::new(KvSpec::default())
            .invoke(0, 1, Put('x', 1))
            .unwrap()
            .respond(0, 1, PutOk)
            .unwrap()
            .invoke(
                0,
                2,
                Cas {
                    key: 'x',
                    from: 1,
                    to: 2,
                },
            )
            .unwrap()
            .invoke(
                1,
                1,
                Cas {
                    key: 'x',
                    from: 1,
                    to: 3,
                },
            )
            .unwrap()
            .respond(0, 2, CasOk(true))
            .unwrap()
            .respond(1, 1, CasOk(true))
            .unwrap();
        assert!(!h.is_linearizable());
    }
}
