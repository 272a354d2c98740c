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

#[cfg(test)]
mod tests {
    use super::*;

    fn log(entries: &[u8]) -> SharedVec<u8> {
        entries.iter().copied().collect()
    }

    /// A crash that shortens a log records it; the record stays while the server's log does
    /// not begin with it (shorter, or different where both have entries), and goes once it does.
    #[test]
    fn a_record_lasts_until_the_same_entries_are_applied_again() {
        let none: ForgottenLogs<SharedVec<u8>> = ForgottenLogs::default();
        // No crash, no record: nothing to do.
        assert_eq!(keep(&none, None, |_| log(&[1]), |_| log(&[1, 2])), None);
        // Server 1 crashes and comes back with one of its three entries.
        let kept = keep(
            &none,
            Some(1),
            |i| if i == 1 { log(&[1, 2, 3]) } else { log(&[]) },
            |i| if i == 1 { log(&[1]) } else { log(&[]) },
        )
        .expect("a record");
        assert_eq!(
            *kept,
            vec![Forgotten {
                server: 1,
                log: log(&[1, 2, 3])
            }]
        );
        // A crash that takes nothing back records nothing.
        assert_eq!(keep(&none, Some(0), |_| log(&[1]), |_| log(&[1])), None);
        // Applied again in part: the record stays (unchanged, so no new value).
        assert_eq!(keep(&kept, None, |_| log(&[1]), |_| log(&[1, 2])), None);
        // Something else at a position of the record: it stays, for the properties to compare.
        assert_eq!(
            keep(&kept, None, |_| log(&[1]), |_| log(&[1, 9, 3, 4])),
            None
        );
        assert_eq!(of(&kept, 1), Some(&log(&[1, 2, 3])));
        // The same entries again: the record goes.
        assert_eq!(
            keep(&kept, None, |_| log(&[1, 2]), |_| log(&[1, 2, 3])).map(|k| k.len()),
            Some(0)
        );
        // A second crash with less than the record keeps the longer record.
        assert_eq!(keep(&kept, Some(1), |_| log(&[1, 2]), |_| log(&[])), None);
        // Renumbering servers renames the record.
        assert_eq!(rewrite(&kept, |i| i + 1)[0].server, 2);
    }
}
