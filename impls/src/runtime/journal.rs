//! What a journal record holds: the change from one saved storage to the next ([`Journaled`]).
//!
//! A node's storage is a struct of a few small fields and a few long vectors (a Raft log, the
//! entries applied, a Multi-Paxos vote per slot). Between two saves, a vector changes at its end:
//! entries are appended, or (Raft, on a conflict) the log is cut and new entries follow, or
//! (Multi-Paxos) a vote is replaced or inserted near the end. A [`VecDelta`] says it as "keep the
//! first `keep` items, then push these": it is found by comparing the two vectors (item by
//! item, or for Raft's and Multi-Paxos's [`SharedVec`]s chunk by chunk by pointer; no
//! serialization), and it is as
//! long as what changed. A record of [`Store`](super::storage::Store)'s journal is one delta: the
//! small fields whole, and one `VecDelta` per vector that changed.
//!
//! The protocol-specific part is one impl per storage type: Raft's and Multi-Paxos's list their
//! vectors; Paxos's storage, small, is written whole in each record.

use ballot_models::kv::{Entry, KvStateMachine};
use ballot_models::multi_paxos::{Compacted, LogBase, MpStorage, SlotSet, Vote};
use ballot_models::paxos::{Ballot, PaxosStorage, Value};
use ballot_models::raft::{
    Applied, AppliedBase, LogEntry, RaftLog, RaftStorage, Rejoin, SnapshotConfig, Term,
};
use ballot_models::shared_vec::SharedVec;
use ballot_properties::Slot;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A storage type that the journal saves as changes.
///
/// The contract, checked by a property test: for any `a` and `b`, `a.delta(b)` is `None` if and
/// only if `a == b`, and applying `Some(d)` to a copy of `a` gives exactly `b`. `Send` and
/// `'static`: a snapshot is written by a background thread from a clone.
pub trait Journaled: Clone + PartialEq + Serialize + DeserializeOwned + Send + 'static {
    /// What a journal record holds.
    type Delta: Serialize + DeserializeOwned;

    /// The change from `self` (the storage saved last) to `next`; `None` if they are equal.
    fn delta(&self, next: &Self) -> Option<Self::Delta>;

    /// Applies a change computed by [`Self::delta`] on an equal value. An error (a record that
    /// does not fit this value, e.g. keeping more items than there are) says why.
    fn apply(&mut self, delta: Self::Delta) -> Result<(), String>;

    /// Makes `self` (the value saved last) equal to `next`, whose change from `self` is `delta`,
    /// once that change is saved. By default a clone of `next`: cheap for small storages and
    /// for Raft's and Multi-Paxos's, whose vectors share their chunks ([`SharedVec`]); a
    /// storage with long plain vectors would apply the change instead.
    fn advance(&mut self, next: &Self, delta: Self::Delta) -> Result<(), String> {
        let _ = delta;
        *self = next.clone();
        Ok(())
    }
}

/// The change of one vector: keep its first `keep` items, then push `push`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VecDelta<T> {
    /// Items kept from the previous vector, a prefix.
    pub keep: usize,
    /// Items that follow them.
    pub push: Vec<T>,
}

impl<T: Clone + PartialEq> VecDelta<T> {
    /// The change from `prev` to `next` (`None` if they are equal): the longest common prefix
    /// is kept, the rest of `next` pushed. Costs one comparison per item of the common prefix.
    pub fn between(prev: &[T], next: &[T]) -> Option<Self> {
        let keep = prev.iter().zip(next).take_while(|(a, b)| a == b).count();
        if keep == prev.len() && keep == next.len() {
            return None;
        }
        Some(Self {
            keep,
            push: next[keep..].to_vec(),
        })
    }

    /// Applies the change to `v`.
    pub fn apply(self, v: &mut Vec<T>) -> Result<(), String> {
        if self.keep > v.len() {
            return Err(format!(
                "the record keeps {} items of a vector of {}",
                self.keep,
                v.len()
            ));
        }
        v.truncate(self.keep);
        v.extend(self.push);
        Ok(())
    }

    /// [`Self::between`] on [`SharedVec`]s: chunks they share are skipped by pointer.
    pub fn between_shared(prev: &SharedVec<T>, next: &SharedVec<T>) -> Option<Self> {
        if prev.ptr_eq(next) {
            return None;
        }
        let keep = prev.common_prefix(next);
        if keep == prev.len() && keep == next.len() {
            return None;
        }
        Some(Self {
            keep,
            push: next.to_vec_from(keep),
        })
    }

    /// [`Self::apply`] to a [`SharedVec`] (or Raft's log, which wraps one).
    pub fn apply_shared(delta: Option<Self>, v: &mut impl Shared<T>) -> Result<(), String> {
        let Some(d) = delta else {
            return Ok(());
        };
        if d.keep > v.items() {
            return Err(format!(
                "the record keeps {} items of a vector of {}",
                d.keep,
                v.items()
            ));
        }
        v.truncate(d.keep);
        for item in d.push {
            v.push(item);
        }
        Ok(())
    }
}

/// A vector that [`VecDelta::apply_shared`] cuts and extends: a [`SharedVec`], or Raft's log
/// ([`RaftLog`], which keeps where its configuration entries are as it changes).
pub trait Shared<T> {
    /// The number of items.
    fn items(&self) -> usize;
    /// Keeps the first `len` items.
    fn truncate(&mut self, len: usize);
    /// Appends `item`.
    fn push(&mut self, item: T);
}

impl<T: Clone> Shared<T> for SharedVec<T> {
    fn items(&self) -> usize {
        SharedVec::len(self)
    }

    fn truncate(&mut self, len: usize) {
        SharedVec::truncate(self, len)
    }

    fn push(&mut self, item: T) {
        SharedVec::push(self, item)
    }
}

impl<K: Clone, V: Clone> Shared<LogEntry<K, V>> for RaftLog<K, V> {
    fn items(&self) -> usize {
        self.entries().len()
    }

    fn truncate(&mut self, len: usize) {
        RaftLog::truncate(self, len)
    }

    fn push(&mut self, item: LogEntry<K, V>) {
        RaftLog::push(self, item)
    }
}

// Paxos: a ballot, an accepted proposal, a round and (at most one) decision.
impl<V: Value + Serialize + DeserializeOwned> Journaled for PaxosStorage<V> {
    type Delta = Self;

    fn delta(&self, next: &Self) -> Option<Self> {
        (self != next).then(|| next.clone())
    }

    fn apply(&mut self, delta: Self) -> Result<(), String> {
        *self = delta;
        Ok(())
    }
}

// The exactly-once key-value state machine, whole (the runtime's stand-in protocol in the tests
// saves it as its storage).
impl<K, V> Journaled for KvStateMachine<K, V>
where
    K: Clone + Ord + PartialEq + Serialize + DeserializeOwned + Send + 'static,
    V: Clone + PartialEq + Serialize + DeserializeOwned + Send + 'static,
    KvStateMachine<K, V>: Clone + PartialEq + Serialize + DeserializeOwned,
{
    type Delta = Self;

    fn delta(&self, next: &Self) -> Option<Self> {
        (self != next).then(|| next.clone())
    }

    fn apply(&mut self, delta: Self) -> Result<(), String> {
        *self = delta;
        Ok(())
    }
}

/// A Raft record: `currentTerm`, `votedFor`, the rejoining state and the incarnation whole, the
/// log and the applied entries as changes (absent: unchanged), and the folded state machine
/// ([`AppliedBase`]) whole when it changed (after a snapshot: absent otherwise).
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, V: Serialize"))]
#[serde(bound(deserialize = "K: DeserializeOwned, V: DeserializeOwned"))]
pub struct RaftDelta<K, V> {
    current_term: Term,
    voted_for: Option<u8>,
    /// Whole, absent when `None` (records written before rejoining existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rejoin: Option<Rejoin>,
    /// Whole, absent when 0 (as in records written before incarnations existed).
    #[serde(default, skip_serializing_if = "is_zero")]
    incarnation: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log: Option<VecDelta<LogEntry<K, V>>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    snapshot_index: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    snapshot_term: u64,
    /// Whole, absent when `None` (as in records written before snapshots kept it).
    #[serde(default, skip_serializing_if = "SnapshotConfig::is_none")]
    snapshot_config: SnapshotConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied: Option<VecDelta<(Slot, Entry<K, V>)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied_terms: Option<VecDelta<Applied>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied_base: Option<BaseChange<K, V>>,
}

/// A change of a folded state machine ([`RaftStorage::applied_base`], [`MpStorage::log_base`]).
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, V: Serialize"))]
#[serde(bound(deserialize = "K: DeserializeOwned, V: DeserializeOwned"))]
enum BaseChange<K, V> {
    /// A new base (a snapshot folded the applied entries, or one was installed).
    Set(AppliedBase<K, V>),
    /// No base any more (not done by the actors today; for completeness of the contract).
    Clear,
}

impl<K, V> Journaled for RaftStorage<K, V>
where
    K: Value + Serialize + DeserializeOwned,
    V: Value + Serialize + DeserializeOwned,
{
    type Delta = RaftDelta<K, V>;

    fn delta(&self, next: &Self) -> Option<Self::Delta> {
        let d = RaftDelta {
            current_term: next.current_term,
            voted_for: next.voted_for,
            rejoin: next.rejoin.clone(),
            incarnation: next.incarnation,
            log: VecDelta::between_shared(&self.log, &next.log),
            snapshot_index: next.snapshot_index,
            snapshot_term: next.snapshot_term,
            snapshot_config: next.snapshot_config,
            applied: VecDelta::between_shared(&self.applied, &next.applied),
            applied_terms: VecDelta::between_shared(&self.applied_terms, &next.applied_terms),
            applied_base: (self.applied_base != next.applied_base).then(|| {
                next.applied_base
                    .clone()
                    .map_or(BaseChange::Clear, BaseChange::Set)
            }),
        };
        let same = d.current_term == self.current_term
            && d.voted_for == self.voted_for
            && d.rejoin == self.rejoin
            && d.incarnation == self.incarnation
            && d.log.is_none()
            && d.snapshot_index == self.snapshot_index
            && d.snapshot_term == self.snapshot_term
            && d.snapshot_config == self.snapshot_config
            && d.applied.is_none()
            && d.applied_terms.is_none()
            && d.applied_base.is_none();
        (!same).then_some(d)
    }

    fn apply(&mut self, d: Self::Delta) -> Result<(), String> {
        self.current_term = d.current_term;
        self.voted_for = d.voted_for;
        self.rejoin = d.rejoin;
        self.incarnation = d.incarnation;
        self.snapshot_index = d.snapshot_index;
        self.snapshot_term = d.snapshot_term;
        self.snapshot_config = d.snapshot_config;
        match d.applied_base {
            Some(BaseChange::Set(b)) => self.applied_base = Some(b),
            Some(BaseChange::Clear) => self.applied_base = None,
            None => {}
        }
        VecDelta::apply_shared(d.log, &mut self.log).map_err(|e| format!("log: {e}"))?;
        VecDelta::apply_shared(d.applied, &mut self.applied)
            .map_err(|e| format!("applied: {e}"))?;
        VecDelta::apply_shared(d.applied_terms, &mut self.applied_terms)
            .map_err(|e| format!("applied_terms: {e}"))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A Multi-Paxos record: the promise, the executed slots and the compaction point whole, the
/// votes (sorted by slot: a vote is replaced or inserted, usually near the end; after a
/// compaction, the few votes kept) and the log as changes, and the folded state machine
/// ([`LogBase`]) whole when it changed (after a compaction: absent otherwise).
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, V: Serialize"))]
#[serde(bound(deserialize = "K: DeserializeOwned, V: DeserializeOwned"))]
pub struct MpDelta<K, V> {
    promised: Option<Ballot>,
    executed: SlotSet,
    /// Whole, absent when 0 (as in records written before compaction existed).
    #[serde(default, skip_serializing_if = "Compacted::is_zero")]
    compacted: Compacted,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    votes: Option<VecDelta<Vote<K, V>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log: Option<VecDelta<(Slot, Entry<K, V>)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    log_base: Option<BaseChange<K, V>>,
}

impl<K, V> Journaled for MpStorage<K, V>
where
    K: Value + Serialize + DeserializeOwned,
    V: Value + Serialize + DeserializeOwned,
{
    type Delta = MpDelta<K, V>;

    fn delta(&self, next: &Self) -> Option<Self::Delta> {
        let d = MpDelta {
            promised: next.promised,
            executed: next.executed,
            compacted: next.compacted,
            votes: VecDelta::between_shared(&self.votes, &next.votes),
            log: VecDelta::between_shared(&self.log, &next.log),
            log_base: (self.log_base != next.log_base).then(|| {
                next.log_base
                    .0
                    .clone()
                    .map_or(BaseChange::Clear, BaseChange::Set)
            }),
        };
        let same = d.promised == self.promised
            && d.executed == self.executed
            && d.compacted == self.compacted
            && d.votes.is_none()
            && d.log.is_none()
            && d.log_base.is_none();
        (!same).then_some(d)
    }

    fn apply(&mut self, d: Self::Delta) -> Result<(), String> {
        self.promised = d.promised;
        self.executed = d.executed;
        self.compacted = d.compacted;
        match d.log_base {
            Some(BaseChange::Set(b)) => self.log_base = LogBase(Some(b)),
            Some(BaseChange::Clear) => self.log_base = LogBase(None),
            None => {}
        }
        VecDelta::apply_shared(d.votes, &mut self.votes).map_err(|e| format!("votes: {e}"))?;
        VecDelta::apply_shared(d.log, &mut self.log).map_err(|e| format!("log: {e}"))
    }
}
