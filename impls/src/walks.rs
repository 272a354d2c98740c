//! `--strategy simulation`: random walks from the initial state, checking every property on
//! every state visited, until a state budget is spent or an "always" property fails.
//!
//! Stateright 0.31 has a simulation checker, but it records a wrong action path when a walk
//! picks an action whose next state is `None` (an ignored message), so its discoveries cannot be
//! rebuilt ("Unable to reconstruct a `Path`"). These walks only step through enabled actions and
//! keep each discovery's action indices, which [`ballot_traces::replay`] turns back into a path.

use ballot_traces::replay;
use stateright::{Checker, Expectation, Model, Path};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The longest single walk; the models are bounded, so walks end far sooner.
const MAX_WALK: usize = 10_000;

type Found = Arc<Mutex<HashMap<&'static str, Vec<usize>>>>;

/// A running set of random walks over a model (one thread).
pub struct RandomWalks<M> {
    model: Arc<M>,
    handles: Vec<JoinHandle<()>>,
    states: Arc<AtomicUsize>,
    depth: Arc<AtomicUsize>,
    found: Found,
}

impl<M> RandomWalks<M>
where
    M: Model + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq,
    M::Action: Clone + PartialEq,
{
    /// Starts walking `model` from seed `seed` until about `max_states` states were visited or
    /// an "always" property fails.
    pub fn spawn(model: M, seed: u64, max_states: usize) -> Self {
        let model = Arc::new(model);
        let states = Arc::new(AtomicUsize::new(0));
        let depth = Arc::new(AtomicUsize::new(0));
        let found: Found = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (m, st, d, f) = (model.clone(), states.clone(), depth.clone(), found.clone());
        let handle = std::thread::spawn(move || {
            let mut rng = (seed ^ 0x9E37_79B9_7F4A_7C15) | 1;
            let hasher = RandomState::new();
            let properties = m.properties();
            while st.load(Ordering::Relaxed) < max_states && !stop.load(Ordering::Relaxed) {
                let inits = m.init_states();
                let first = next(&mut rng) as usize % inits.len();
                let mut state = inits[first].clone();
                let mut path = vec![first];
                let mut seen = HashSet::new();
                while path.len() <= MAX_WALK && seen.insert(hasher.hash_one(&state)) {
                    st.fetch_add(1, Ordering::Relaxed);
                    d.fetch_max(path.len() - 1, Ordering::Relaxed);
                    for p in &properties {
                        let holds = (p.condition)(&m, &state);
                        let discovered = match p.expectation {
                            Expectation::Always | Expectation::Eventually => !holds,
                            Expectation::Sometimes => holds,
                        };
                        if discovered {
                            f.lock()
                                .unwrap()
                                .entry(p.name)
                                .or_insert_with(|| path.clone());
                            if p.expectation != Expectation::Sometimes {
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let mut actions = Vec::new();
                    m.actions(&state, &mut actions);
                    let mut enabled: Vec<(usize, M::State)> = actions
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, a)| m.next_state(&state, a).map(|s| (i, s)))
                        .filter(|(_, s)| m.within_boundary(s))
                        .collect();
                    if enabled.is_empty() {
                        break;
                    }
                    let k = next(&mut rng) as usize % enabled.len();
                    let (i, s) = enabled.swap_remove(k);
                    path.push(i);
                    state = s;
                }
            }
        });
        Self {
            model,
            handles: vec![handle],
            states,
            depth,
            found,
        }
    }
}

/// xorshift64*: a small, seedable generator (no dependency needed for picking actions).
fn next(x: &mut u64) -> u64 {
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

impl<M> Checker<M> for RandomWalks<M>
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
{
    fn model(&self) -> &M {
        &self.model
    }

    fn state_count(&self) -> usize {
        self.states.load(Ordering::Relaxed)
    }

    /// Walks keep no global set of visited states: every visit is counted.
    fn unique_state_count(&self) -> usize {
        self.state_count()
    }

    fn max_depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    fn discoveries(&self) -> HashMap<&'static str, Path<M::State, M::Action>> {
        self.found
            .lock()
            .unwrap()
            .iter()
            .map(|(name, indices)| {
                let path = replay(&*self.model, indices).expect("a walk's own path replays");
                (*name, path)
            })
            .collect()
    }

    fn handles(&mut self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut self.handles)
    }

    fn is_done(&self) -> bool {
        self.handles.iter().all(|h| h.is_finished())
    }
}
