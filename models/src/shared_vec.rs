//! [`SharedVec`]: a vector that is cheap to clone, to append to and to compare, for logs that
//! states share.
//!
//! A model step clones its state and changes the copy; a Raft server's log, applied entries and
//! their terms grow by one entry per command. Behind one `Arc<Vec<T>>`, appending to a copy that
//! still shares the vector copies all of it: one operation of a real run that has committed `n`
//! commands cost O(n) element clones. A `SharedVec` holds its items in chunks of [`CHUNK`], each
//! behind its own `Arc`, so a clone shares every chunk, an append copies at most the last chunk
//! (and the list of chunk pointers), and two vectors that share chunks compare chunk by chunk
//! by pointer. It behaves as a `Vec<T>` would: equality, ordering and hashing are those of the
//! item sequence (the same hash values as a `Vec<T>`'s, so state fingerprints do not change),
//! `Debug` prints a list, and serde reads and writes a sequence.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::ops::Index;
use std::sync::{Arc, OnceLock};

/// Items per chunk.
pub const CHUNK: usize = 64;

/// A vector of chunks of [`CHUNK`] items (the last one possibly shorter, none empty), each
/// shared between clones until one of them changes it. One pointer wide, as an `Arc<Vec<T>>`.
pub struct SharedVec<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    chunks: Vec<Arc<Vec<T>>>,
    /// The items in one slice, built on the first [`SharedVec::as_slice`] of a vector of more
    /// than one chunk (shared by the clones that share this).
    flat: OnceLock<Vec<T>>,
}

impl<T> Clone for Inner<T> {
    /// The chunks, shared; not the flat copy (the clone is about to change).
    fn clone(&self) -> Self {
        Self {
            chunks: self.chunks.clone(),
            flat: OnceLock::new(),
        }
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                chunks: Vec::new(),
                flat: OnceLock::new(),
            }),
        }
    }
}

impl<T> Clone for SharedVec<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> SharedVec<T> {
    /// An empty vector.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        match self.inner.chunks.last() {
            None => 0,
            Some(last) => (self.inner.chunks.len() - 1) * CHUNK + last.len(),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.inner.chunks.is_empty()
    }

    /// Item `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&T> {
        self.inner
            .chunks
            .get(i / CHUNK)
            .and_then(|c| c.get(i % CHUNK))
    }

    /// The last item.
    pub fn last(&self) -> Option<&T> {
        self.inner.chunks.last().and_then(|c| c.last())
    }

    /// The items in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        self.inner.chunks.iter().flat_map(|c| c.iter())
    }

    /// The items from index `start` on (none if `start` is past the end).
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = &T> + '_ {
        let first = start / CHUNK;
        self.inner
            .chunks
            .iter()
            .skip(first)
            .enumerate()
            .flat_map(move |(k, c)| c.iter().skip(if k == 0 { start % CHUNK } else { 0 }))
    }

    /// Whether `self` and `other` are the same vector in memory (then they are equal).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// [`slice::binary_search_by_key`] on a vector sorted by `key`.
    pub fn binary_search_by_key<B: Ord>(
        &self,
        b: &B,
        mut key: impl FnMut(&T) -> B,
    ) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match key(&self[mid]).cmp(b) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }
}

impl<T: Clone> SharedVec<T> {
    /// Appends `item`: copies the last chunk first if it is shared (at most [`CHUNK`] items).
    pub fn push(&mut self, item: T) {
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        let chunks = &mut inner.chunks;
        match chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(item),
            _ => chunks.push(Arc::new(vec![item])),
        }
    }

    /// Keeps the first `len` items (all of them if there are fewer).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        let chunks = &mut inner.chunks;
        chunks.truncate(len.div_ceil(CHUNK));
        if let Some(last) = chunks.last_mut()
            && !len.is_multiple_of(CHUNK)
        {
            Arc::make_mut(last).truncate(len % CHUNK);
        }
    }

    /// Replaces item `i` (which must exist): copies its chunk first if it is shared.
    pub fn set(&mut self, i: usize, item: T) {
        assert!(i < self.len(), "set({i}) past the end ({})", self.len());
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        Arc::make_mut(&mut inner.chunks[i / CHUNK])[i % CHUNK] = item;
    }

    /// Inserts `item` at index `i` (at most the length), shifting the items after it: they
    /// are pushed again, so an insert near the end (a Multi-Paxos vote, usually) is cheap.
    pub fn insert(&mut self, i: usize, item: T) {
        assert!(i <= self.len(), "insert({i}) past the end ({})", self.len());
        let tail = self.to_vec_from(i);
        self.truncate(i);
        self.push(item);
        for t in tail {
            self.push(t);
        }
    }

    /// The items from index `start` on, copied.
    pub fn to_vec_from(&self, start: usize) -> Vec<T> {
        self.iter_from(start).cloned().collect()
    }

    /// The items as one slice: free for a vector of at most one chunk (every log of a model);
    /// a longer one is copied into one slice once, kept until the vector changes.
    pub fn as_slice(&self) -> &[T] {
        match self.inner.chunks.len() {
            0 => &[],
            1 => &self.inner.chunks[0],
            _ => self
                .inner
                .flat
                .get_or_init(|| self.iter().cloned().collect()),
        }
    }
}

impl<T: PartialEq> SharedVec<T> {
    /// The length of the longest common prefix of `self` and `other`: chunks they share are
    /// skipped by pointer, the others compared item by item.
    pub fn common_prefix(&self, other: &Self) -> usize {
        let mut n = 0;
        for (a, b) in self.inner.chunks.iter().zip(other.inner.chunks.iter()) {
            if Arc::ptr_eq(a, b) && a.len() == CHUNK {
                n += CHUNK;
                continue;
            }
            let same = a.iter().zip(b.iter()).take_while(|(x, y)| x == y).count();
            n += same;
            if same < CHUNK {
                break;
            }
        }
        n
    }

    /// Whether `prefix` is a prefix of `self`.
    pub fn starts_with(&self, prefix: &Self) -> bool {
        prefix.len() <= self.len() && self.common_prefix(prefix) == prefix.len()
    }
}

impl<T: PartialEq> PartialEq for SharedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        // Equal lengths have equal chunk boundaries.
        self.ptr_eq(other)
            || (self.len() == other.len()
                && self
                    .inner
                    .chunks
                    .iter()
                    .zip(other.inner.chunks.iter())
                    .all(|(a, b)| Arc::ptr_eq(a, b) || a == b))
    }
}

impl<T: Eq> Eq for SharedVec<T> {}

impl<T: PartialOrd> PartialOrd for SharedVec<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        if self.ptr_eq(other) {
            return Some(Ordering::Equal);
        }
        self.iter().partial_cmp(other.iter())
    }
}

impl<T: Ord> Ord for SharedVec<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.ptr_eq(other) {
            return Ordering::Equal;
        }
        self.iter().cmp(other.iter())
    }
}

impl<T: Hash> Hash for SharedVec<T> {
    /// What a `Vec<T>` (a slice) feeds the hasher: its length, then each item.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_usize(self.len());
        for item in self.iter() {
            item.hash(state);
        }
    }
}

impl<T: Debug> Debug for SharedVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> FromIterator<T> for SharedVec<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut chunks = Vec::new();
        let mut chunk = Vec::new();
        for item in iter {
            chunk.push(item);
            if chunk.len() == CHUNK {
                chunks.push(Arc::new(std::mem::take(&mut chunk)));
            }
        }
        if !chunk.is_empty() {
            chunks.push(Arc::new(chunk));
        }
        Self {
            inner: Arc::new(Inner {
                chunks,
                flat: OnceLock::new(),
            }),
        }
    }
}

impl<T> From<Vec<T>> for SharedVec<T> {
    fn from(v: Vec<T>) -> Self {
        v.into_iter().collect()
    }
}

impl<T> Index<usize> for SharedVec<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(item) => item,
            None => panic!("index {i} out of range for a SharedVec of {}", self.len()),
        }
    }
}

impl<T: Serialize> Serialize for SharedVec<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SharedVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    fn hash_of<T: Hash>(t: &T) -> u64 {
        // One fixed hasher for every call.
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(t)
    }

    proptest! {
        /// Any sequence of pushes and truncations, applied to a `SharedVec` (and its clones)
        /// and to a `Vec`, gives the same items, comparisons, hash, `Debug` and JSON.
        #[test]
        fn behaves_as_a_vec(
            ops in prop::collection::vec((any::<bool>(), 0..300usize), 0..200),
            other in prop::collection::vec(0..4u8, 0..200),
        ) {
            let mut s: SharedVec<u32> = SharedVec::new();
            let mut v: Vec<u32> = Vec::new();
            let mut clones = Vec::new();
            for (i, (push, n)) in ops.iter().enumerate() {
                if *push {
                    for k in 0..(*n % 70) {
                        s.push((i * 1000 + k) as u32 % 7);
                        v.push((i * 1000 + k) as u32 % 7);
                    }
                } else {
                    s.truncate(v.len().saturating_sub(*n % 70));
                    v.truncate(v.len().saturating_sub(*n % 70));
                }
                clones.push((s.clone(), v.clone()));
                prop_assert_eq!(s.len(), v.len());
            }
            for (c, w) in &clones {
                prop_assert_eq!(c.iter().copied().collect::<Vec<_>>(), w.clone());
                prop_assert_eq!(c.as_slice(), &w[..]);
                prop_assert_eq!(format!("{c:?}"), format!("{w:?}"));
                prop_assert_eq!(serde_json::to_string(c).unwrap(), serde_json::to_string(w).unwrap());
                let back: SharedVec<u32> = serde_json::from_str(&serde_json::to_string(w).unwrap()).unwrap();
                prop_assert!(back == *c);
                let o: SharedVec<u32> = other.iter().map(|x| *x as u32).collect();
                let ov: Vec<u32> = other.iter().map(|x| *x as u32).collect();
                prop_assert_eq!(c == &o, *w == ov);
                prop_assert_eq!(c.cmp(&o), w.cmp(&ov));
                prop_assert_eq!(c.starts_with(&o), w.starts_with(&ov));
                prop_assert_eq!(o.starts_with(c), ov.starts_with(w));
                let common = w.iter().zip(&ov).take_while(|(a, b)| a == b).count();
                prop_assert_eq!(c.common_prefix(&o), common);
                let start = other.len() % (w.len() + 1);
                prop_assert_eq!(c.to_vec_from(start), w[start..].to_vec());
                prop_assert_eq!(c.to_vec_from(w.len() + 3), Vec::<u32>::new());
                prop_assert_eq!(c.last(), w.last());
                prop_assert_eq!(c.get(start), w.get(start));
            }
            // Hashes equal a Vec's (items whose `Hash` is derived, as the logs' are).
            for (c, w) in &clones {
                let ct: SharedVec<(u32,)> = c.iter().map(|x| (*x,)).collect();
                let wt: Vec<(u32,)> = w.iter().map(|x| (*x,)).collect();
                prop_assert_eq!(hash_of(&ct), hash_of(&wt));
            }
        }
    }

    proptest! {
        /// Sorted inserts and replacements (a Multi-Paxos acceptor's votes) give what a `Vec`
        /// gives, and a clone taken before is unchanged.
        #[test]
        fn sorted_inserts_and_sets_behave_as_a_vec(keys in prop::collection::vec(0..400u32, 0..300)) {
            let mut s: SharedVec<(u32, u32)> = SharedVec::new();
            let mut v: Vec<(u32, u32)> = Vec::new();
            for (n, k) in keys.iter().enumerate() {
                let before = (s.clone(), v.clone());
                let found = s.binary_search_by_key(k, |e| e.0);
                prop_assert_eq!(found, v.binary_search_by_key(k, |e| e.0));
                match found {
                    Ok(i) => {
                        s.set(i, (*k, n as u32));
                        v[i] = (*k, n as u32);
                    }
                    Err(i) => {
                        s.insert(i, (*k, n as u32));
                        v.insert(i, (*k, n as u32));
                    }
                }
                prop_assert_eq!(s.iter().copied().collect::<Vec<_>>(), v.clone());
                prop_assert!(before.0.iter().eq(before.1.iter()));
            }
        }
    }

    #[test]
    fn clones_share_chunks_and_an_append_copies_at_most_one() {
        let a: SharedVec<String> = (0..1000).map(|i| i.to_string()).collect();
        let mut b = a.clone();
        b.push("x".into());
        let shared = a
            .inner
            .chunks
            .iter()
            .zip(b.inner.chunks.iter())
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, a.inner.chunks.len() - 1);
        assert_eq!(b.common_prefix(&a), 1000);
        assert!(b.starts_with(&a));
        assert_ne!(a, b);
    }
}
