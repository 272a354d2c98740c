//! [`SharedVec`]: a vector that is cheap to clone, to append to and to compare, for logs that
//! states share.
//!
//! A model step clones its state and changes the copy; a Raft server's log, applied entries and
//! their terms grow by one entry per command. Behind one `Arc<Vec<T>>`, appending to a copy that
//! still shares the vector copies all of it: one operation of a real run that has committed `n`
//! commands cost O(n) element clones. A `SharedVec` holds its items in a tree of chunks of
//! [`CHUNK`] (leaves of items, groups of leaves, groups of groups), each node behind its own
//! `Arc`, so a clone shares every node, an append copies at most one node a level (the path to
//! the last leaf: a Multi-Paxos acceptor with a million votes copies four nodes, not a list of
//! 15,625 chunk pointers as a one-level list of chunks did), and two vectors that share nodes
//! compare them by pointer. It behaves as a `Vec<T>` would: equality, ordering and hashing are those of the
//! item sequence (the same hash values as a `Vec<T>`'s, so state fingerprints do not change),
//! `Debug` prints a list, and serde reads and writes a sequence.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt::{self, Debug};
use std::hash::{Hash, Hasher};
use std::ops::Index;
use std::sync::{Arc, OnceLock};

/// Items per chunk, and chunks (or groups) per group of the level above.
pub const CHUNK: usize = 1 << BITS;
/// `CHUNK` = 2^`BITS`.
const BITS: u32 = 6;

/// A vector held as a tree of [`CHUNK`]-wide nodes: leaves of up to `CHUNK` items, groups of up
/// to `CHUNK` leaves, groups of groups, and so on, every node behind its own `Arc` and shared
/// between clones until one of them changes it. The tree is packed to the left (every leaf is
/// full but the last, every group holds all the children it can but the last), and no higher than
/// its length needs, so two vectors of the same length have the same shape. One pointer wide, as
/// an `Arc<Vec<T>>`.
pub struct SharedVec<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    root: Node<T>,
    len: usize,
    /// 0: the root is a leaf; `h`: the root's children are of height `h - 1`.
    height: u32,
    /// The items in one slice, built on the first [`SharedVec::as_slice`] of a vector of more
    /// than one leaf (shared by the clones that share this).
    flat: OnceLock<Vec<T>>,
}

enum Node<T> {
    Leaf(Arc<Vec<T>>),
    Group(Arc<Vec<Node<T>>>),
}

impl<T> Clone for Node<T> {
    fn clone(&self) -> Self {
        match self {
            Node::Leaf(l) => Node::Leaf(Arc::clone(l)),
            Node::Group(g) => Node::Group(Arc::clone(g)),
        }
    }
}

impl<T> Clone for Inner<T> {
    /// The tree, shared; not the flat copy (the clone is about to change).
    fn clone(&self) -> Self {
        Self {
            root: self.root.clone(),
            len: self.len,
            height: self.height,
            flat: OnceLock::new(),
        }
    }
}

/// The items a node of height `h` holds when full.
fn capacity(h: u32) -> usize {
    1usize << (BITS * (h + 1))
}

/// The lowest height of a tree that holds `len` items.
fn height_for(len: usize) -> u32 {
    let mut h = 0;
    while capacity(h) < len {
        h += 1;
    }
    h
}

impl<T> Node<T> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Node::Leaf(a), Node::Leaf(b)) => Arc::ptr_eq(a, b),
            (Node::Group(a), Node::Group(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// A node of height `h` holding only `item`.
    fn single(h: u32, item: T) -> Self {
        let mut node = Node::Leaf(Arc::new(vec![item]));
        for _ in 0..h {
            node = Node::Group(Arc::new(vec![node]));
        }
        node
    }

    /// The leaves in order, into `out`.
    fn leaves<'a>(&'a self, out: &mut Vec<&'a [T]>) {
        match self {
            Node::Leaf(l) => out.push(l),
            Node::Group(g) => g.iter().for_each(|c| c.leaves(out)),
        }
    }

    /// The items from `start` on of this node of height `h` (which holds item `start`), a
    /// slice a leaf, into `out`: the nodes before are not visited.
    fn leaves_from<'a>(&'a self, h: u32, start: usize, out: &mut Vec<&'a [T]>) {
        match self {
            Node::Leaf(l) => out.push(&l[start..]),
            Node::Group(g) => {
                let span = capacity(h - 1);
                let first = start / span;
                g[first].leaves_from(h - 1, start % span, out);
                g[first + 1..].iter().for_each(|c| c.leaves(out));
            }
        }
    }

    /// The first child of this group.
    fn first(&self) -> &Self {
        match self {
            Node::Group(g) => &g[0],
            Node::Leaf(_) => unreachable!("a leaf above height 0"),
        }
    }

    /// The item at `i` of this node of height `h` (which holds it).
    fn get(&self, h: u32, i: usize) -> &T {
        match self {
            Node::Leaf(l) => &l[i],
            Node::Group(g) => {
                let span = capacity(h - 1);
                g[i / span].get(h - 1, i % span)
            }
        }
    }
}

impl<T: Clone> Node<T> {
    fn leaf_mut(&mut self) -> &mut Vec<T> {
        match self {
            Node::Leaf(l) => Arc::make_mut(l),
            Node::Group(_) => unreachable!("a group where a leaf belongs"),
        }
    }

    fn group_mut(&mut self) -> &mut Vec<Node<T>> {
        match self {
            Node::Group(g) => Arc::make_mut(g),
            Node::Leaf(_) => unreachable!("a leaf where a group belongs"),
        }
    }

    /// Appends `item` to this node of height `h` holding `count` items (fewer than it can).
    fn push(&mut self, h: u32, count: usize, item: T) {
        if h == 0 {
            self.leaf_mut().push(item);
            return;
        }
        let span = capacity(h - 1);
        let children = self.group_mut();
        let in_last = count - (children.len() - 1) * span;
        if in_last == span {
            children.push(Node::single(h - 1, item));
        } else {
            let last = children.last_mut().expect("a group is never empty");
            last.push(h - 1, in_last, item);
        }
    }

    /// Keeps the first `len` items (at least one, fewer than it holds) of this node of height
    /// `h`.
    fn truncate(&mut self, h: u32, len: usize) {
        if h == 0 {
            self.leaf_mut().truncate(len);
            return;
        }
        let span = capacity(h - 1);
        let keep = len.div_ceil(span);
        let children = self.group_mut();
        children.truncate(keep);
        let in_last = len - (keep - 1) * span;
        if in_last < span {
            children
                .last_mut()
                .expect("a group is never empty")
                .truncate(h - 1, in_last);
        }
    }

    /// Replaces item `i` of this node of height `h`.
    fn set(&mut self, h: u32, i: usize, item: T) {
        if h == 0 {
            self.leaf_mut()[i] = item;
            return;
        }
        let span = capacity(h - 1);
        self.group_mut()[i / span].set(h - 1, i % span, item);
    }
}

impl<T: PartialEq> Node<T> {
    /// How many leading items two nodes of height `h` have in common, `a` holding `ca` items and
    /// `b` `cb`: nodes they share are skipped by pointer, the others compared item by item.
    fn common_prefix(a: &Self, ca: usize, b: &Self, cb: usize, h: u32) -> usize {
        if a.same(b) {
            return ca.min(cb);
        }
        match (a, b) {
            (Node::Leaf(x), Node::Leaf(y)) => {
                x.iter().zip(y.iter()).take_while(|(p, q)| p == q).count()
            }
            (Node::Group(x), Node::Group(y)) => {
                let span = capacity(h - 1);
                let mut n = 0;
                for (k, (p, q)) in x.iter().zip(y.iter()).enumerate() {
                    let cp = (ca - k * span).min(span);
                    let cq = (cb - k * span).min(span);
                    let same = Self::common_prefix(p, cp, q, cq, h - 1);
                    n += same;
                    if same < span {
                        break;
                    }
                }
                n
            }
            _ => unreachable!("two nodes of one height"),
        }
    }

    /// Whether two nodes of the same shape hold the same items.
    fn equal(a: &Self, b: &Self) -> bool {
        a.same(b)
            || match (a, b) {
                (Node::Leaf(x), Node::Leaf(y)) => x == y,
                (Node::Group(x), Node::Group(y)) => {
                    x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| Self::equal(p, q))
                }
                _ => false,
            }
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                root: Node::Leaf(Arc::new(Vec::new())),
                len: 0,
                height: 0,
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

/// The items of a [`SharedVec`] in order (either way).
pub struct Iter<'a, T> {
    leaves: std::vec::IntoIter<&'a [T]>,
    front: std::slice::Iter<'a, T>,
    back: std::slice::Iter<'a, T>,
}

impl<'a, T> Iter<'a, T> {
    /// The items of one slice.
    fn over(items: &'a [T]) -> Self {
        Self {
            leaves: Vec::new().into_iter(),
            front: items.iter(),
            back: [].iter(),
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        loop {
            if let Some(item) = self.front.next() {
                return Some(item);
            }
            match self.leaves.next() {
                Some(leaf) => self.front = leaf.iter(),
                None => return self.back.next(),
            }
        }
    }
}

impl<T> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.back.next_back() {
                return Some(item);
            }
            match self.leaves.next_back() {
                Some(leaf) => self.back = leaf.iter(),
                None => return self.front.next_back(),
            }
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
        self.inner.len
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.inner.len == 0
    }

    /// Item `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&T> {
        (i < self.inner.len).then(|| self.inner.root.get(self.inner.height, i))
    }

    /// The last item.
    pub fn last(&self) -> Option<&T> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// The leaves, in order.
    #[cfg(test)]
    fn leaves(&self) -> Vec<&[T]> {
        let mut out = Vec::with_capacity(self.inner.len.div_ceil(CHUNK));
        self.inner.root.leaves(&mut out);
        out
    }

    /// The items in order.
    pub fn iter(&self) -> Iter<'_, T> {
        self.iter_from(0)
    }

    /// The items from index `start` on (none if `start` is past the end).
    pub fn iter_from(&self, start: usize) -> Iter<'_, T> {
        if start >= self.len() {
            return Iter::over(&[]);
        }
        if let Node::Leaf(l) = &self.inner.root {
            // Every vector of a model: no list of leaves to build.
            return Iter::over(&l[start..]);
        }
        let mut leaves = Vec::with_capacity((self.len() - start).div_ceil(CHUNK) + 1);
        self.inner
            .root
            .leaves_from(self.inner.height, start, &mut leaves);
        Iter {
            leaves: leaves.into_iter(),
            front: [].iter(),
            back: [].iter(),
        }
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
    /// Appends `item`: copies first, if they are shared, the nodes on the way to the last leaf
    /// (at most [`CHUNK`] items or pointers each, one node a level).
    pub fn push(&mut self, item: T) {
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        if inner.len == capacity(inner.height) {
            // Full: one level more, the old root its first child.
            let old = std::mem::replace(&mut inner.root, Node::Leaf(Arc::new(Vec::new())));
            inner.root = Node::Group(Arc::new(vec![old, Node::single(inner.height, item)]));
            inner.height += 1;
        } else {
            inner.root.push(inner.height, inner.len, item);
        }
        inner.len += 1;
    }

    /// Keeps the first `len` items (all of them if there are fewer).
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len() {
            return;
        }
        if len == 0 {
            *self = Self::new();
            return;
        }
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        let height = height_for(len);
        while inner.height > height {
            inner.root = inner.root.first().clone();
            inner.height -= 1;
        }
        if len < inner.len.min(capacity(height)) {
            inner.root.truncate(height, len);
        }
        inner.len = len;
    }

    /// Replaces item `i` (which must exist): copies first, if they are shared, the nodes on the
    /// way to its leaf.
    pub fn set(&mut self, i: usize, item: T) {
        assert!(i < self.len(), "set({i}) past the end ({})", self.len());
        let inner = Arc::make_mut(&mut self.inner);
        inner.flat = OnceLock::new();
        inner.root.set(inner.height, i, item);
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

    /// The items as one slice: free for a vector of at most one leaf (every log of a model);
    /// a longer one is copied into one slice once, kept until the vector changes.
    pub fn as_slice(&self) -> &[T] {
        match &self.inner.root {
            Node::Leaf(l) => l,
            Node::Group(_) => self
                .inner
                .flat
                .get_or_init(|| self.iter().cloned().collect()),
        }
    }
}

impl<T: PartialEq> SharedVec<T> {
    /// The length of the longest common prefix of `self` and `other`: nodes they share are
    /// skipped by pointer, the others compared item by item.
    pub fn common_prefix(&self, other: &Self) -> usize {
        if self.ptr_eq(other) {
            return self.len();
        }
        // Compare at one height: the taller tree's first child of that height covers the same
        // first items as the shorter tree's root.
        let (mut a, mut ca, ha) = (&self.inner.root, self.len(), self.inner.height);
        let (mut b, mut cb, hb) = (&other.inner.root, other.len(), other.inner.height);
        let h = ha.min(hb);
        for _ in h..ha {
            a = a.first();
        }
        for _ in h..hb {
            b = b.first();
        }
        ca = ca.min(capacity(h));
        cb = cb.min(capacity(h));
        Node::common_prefix(a, ca, b, cb, h)
    }

    /// Whether `prefix` is a prefix of `self`.
    pub fn starts_with(&self, prefix: &Self) -> bool {
        prefix.len() <= self.len() && self.common_prefix(prefix) == prefix.len()
    }
}

impl<T: PartialEq> PartialEq for SharedVec<T> {
    fn eq(&self, other: &Self) -> bool {
        // Equal lengths have equal shapes.
        self.ptr_eq(other)
            || (self.len() == other.len() && Node::equal(&self.inner.root, &other.inner.root))
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
    /// Built from the leaves up: full leaves, then full groups of them, up to one root.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut len = 0;
        let mut level = Vec::new();
        let mut leaf = Vec::new();
        for item in iter {
            len += 1;
            leaf.push(item);
            if leaf.len() == CHUNK {
                level.push(Node::Leaf(Arc::new(std::mem::take(&mut leaf))));
            }
        }
        if !leaf.is_empty() {
            level.push(Node::Leaf(Arc::new(leaf)));
        }
        let mut height = 0;
        while level.len() > 1 {
            let mut above = Vec::with_capacity(level.len().div_ceil(CHUNK));
            let mut group = Vec::with_capacity(CHUNK);
            for node in level {
                group.push(node);
                if group.len() == CHUNK {
                    above.push(Node::Group(Arc::new(std::mem::take(&mut group))));
                }
            }
            if !group.is_empty() {
                above.push(Node::Group(Arc::new(group)));
            }
            level = above;
            height += 1;
        }
        let root = level
            .pop()
            .unwrap_or_else(|| Node::Leaf(Arc::new(Vec::new())));
        Self {
            inner: Arc::new(Inner {
                root,
                len,
                height,
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
    fn four_levels_grow_and_shrink_as_a_vec() {
        // Past 64^3 items the tree has four levels; pushes, sets and truncations across every
        // level boundary, checked against a Vec and against clones taken on the way.
        let n = capacity(2) + 3 * CHUNK + 5;
        let mut s = SharedVec::new();
        let mut v = Vec::new();
        let mut clones = Vec::new();
        for i in 0..n {
            s.push(i);
            v.push(i);
            if [1, CHUNK, capacity(1), capacity(1) + 1, capacity(2), n - 1].contains(&(i + 1)) {
                clones.push((s.clone(), v.clone()));
            }
        }
        assert_eq!(s.inner.height, 3);
        for i in [0, CHUNK - 1, capacity(1), capacity(2) - 1, n - 1] {
            s.set(i, i + 1);
            v[i] = i + 1;
        }
        assert!(s.iter().eq(v.iter()));
        assert!(s.iter().rev().eq(v.iter().rev()));
        assert_eq!(s.get(n), None);
        for (c, w) in &clones {
            assert!(
                c.iter().eq(w.iter()),
                "a clone of {} items changed",
                w.len()
            );
            let common = w.iter().zip(&v).take_while(|(a, b)| a == b).count();
            assert_eq!(c.common_prefix(&s), common);
            assert_eq!(s.common_prefix(c), common);
        }
        for len in [
            capacity(2) + 1,
            capacity(2),
            capacity(1) + 7,
            capacity(1),
            CHUNK + 1,
            3,
            0,
        ] {
            s.truncate(len);
            v.truncate(len);
            assert_eq!(s.inner.height, height_for(len));
            assert!(s.iter().eq(v.iter()));
            assert_eq!(s, v.iter().copied().collect::<SharedVec<_>>());
            assert_eq!(s.last(), v.last());
            s.push(7);
            v.push(7);
            assert!(s.iter_from(len / 2).eq(v[len / 2..].iter()));
        }
    }

    #[test]
    fn clones_share_leaves_and_an_append_copies_at_most_one_node_a_level() {
        // Three levels: 64 leaves of 64 items in a group, then a second group.
        let a: SharedVec<String> = (0..5000).map(|i| i.to_string()).collect();
        assert_eq!(a.inner.height, 2);
        let mut b = a.clone();
        b.push("x".into());
        let shared = a
            .leaves()
            .iter()
            .zip(b.leaves().iter())
            .filter(|(x, y)| std::ptr::eq(x.as_ptr(), y.as_ptr()))
            .count();
        assert_eq!(shared, a.leaves().len() - 1);
        let (Node::Group(ga), Node::Group(gb)) = (&a.inner.root, &b.inner.root) else {
            panic!("groups at the root");
        };
        assert!(ga[0].same(&gb[0]), "the full first group is shared");
        assert!(!ga[1].same(&gb[1]), "the last group is copied");
        assert_eq!(b.common_prefix(&a), 5000);
        assert!(b.starts_with(&a));
        assert_ne!(a, b);
        // Back to one leaf: the root is a leaf again, and equal to one built from the items.
        b.truncate(10);
        assert_eq!(b.inner.height, 0);
        assert_eq!(b, (0..10).map(|i| i.to_string()).collect::<SharedVec<_>>());
        assert_eq!(b.common_prefix(&a), 10);
        assert_eq!(a.common_prefix(&b), 10);
    }
}
