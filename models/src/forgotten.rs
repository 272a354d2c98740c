//! Ghost state for servers whose applied entries are volatile (`--volatile-applied`, Raft and
//! Multi-Paxos): what a crash took back.
//!
//! A server that applies (executes) an entry without saving it recovers, after a crash, only
//! what it saved, and applies the rest again once it learns it once more. The properties that
//! read decision logs (Agreement, State Machine Safety, Leader Completeness) must still see what
//! it applied before the crash: a client may have been answered from it. So the model keeps, in
//! its history, each such server's longest decision log since the crash, until the server has
//! applied all of it again; a server that applies something else at a position of that record
//! keeps the record, and the properties compare the two.

use crate::shared_vec::SharedVec;
use serde::Serialize;
use std::sync::Arc;

/// A server's decision log as the ghost keeps it: a [`SharedVec`], or a pair of them side by
/// side (Raft's applied entries and their terms).
pub trait DecisionLog: Clone + Ord {
    /// How many entries.
    fn len(&self) -> usize;
    /// Whether it has none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether `self` begins with every entry of `prefix`.
    fn starts_with(&self, prefix: &Self) -> bool;
}

impl<T: Clone + Ord> DecisionLog for SharedVec<T> {
    fn len(&self) -> usize {
        SharedVec::len(self)
    }
    fn starts_with(&self, prefix: &Self) -> bool {
        SharedVec::starts_with(self, prefix)
    }
}

impl<A: DecisionLog, B: DecisionLog> DecisionLog for (A, B) {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn starts_with(&self, prefix: &Self) -> bool {
        self.0.starts_with(&prefix.0) && self.1.starts_with(&prefix.1)
    }
}

/// What a server had applied before a crash took some of it back.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Forgotten<L> {
    /// The server.
    pub server: u8,
    /// Its decision log before the crash, oldest first.
    pub log: L,
}

/// The records of every server that has one, sorted by server (one record per server).
pub type ForgottenLogs<L> = Arc<Vec<Forgotten<L>>>;

/// The records after a step: `crashed` is the server that crashed (and restarted) in it, if any,
/// `last(i)` server `i`'s decision log before the step and `now(i)` after it. A crash that
/// shortened a log records what the server had (unless a longer record exists); a record goes
/// once the server's log begins with all of it again. Returns the new records if they changed.
pub fn keep<L: DecisionLog>(
    records: &ForgottenLogs<L>,
    crashed: Option<usize>,
    last: impl Fn(usize) -> L,
    now: impl Fn(usize) -> L,
) -> Option<ForgottenLogs<L>> {
    if crashed.is_none() && records.is_empty() {
        // Nothing taken back, nothing to compare: most steps.
        return None;
    }
    let mut kept = records.as_ref().clone();
    if let Some(i) = crashed {
        let before = last(i);
        let had = kept.iter().position(|f| f.server as usize == i);
        if before.len() > now(i).len() && had.is_none_or(|k| kept[k].log.len() < before.len()) {
            if let Some(k) = had {
                kept.remove(k);
            }
            kept.push(Forgotten {
                server: i as u8,
                log: before,
            });
            kept.sort();
        }
    }
    kept.retain(|f| !now(f.server as usize).starts_with(&f.log));
    (kept != **records).then(|| Arc::new(kept))
}

/// The records with servers renumbered by `rename` (symmetry), sorted again.
pub fn rewrite<L: DecisionLog>(
    records: &ForgottenLogs<L>,
    rename: impl Fn(u8) -> u8,
) -> ForgottenLogs<L> {
    let mut renamed: Vec<Forgotten<L>> = records
        .iter()
        .map(|f| Forgotten {
            server: rename(f.server),
            log: f.log.clone(),
        })
        .collect();
    renamed.sort();
    Arc::new(renamed)
}

/// Server `server`'s record, if it has one.
pub fn of<L>(records: &ForgottenLogs<L>, server: usize) -> Option<&L> {
    records
        .iter()
        .find(|f| f.server as usize == server)
        .map(|f| &f.log)
}
