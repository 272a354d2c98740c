//! What every protocol model shares: the cluster configuration (servers, clients, network, crashes),
//! the [`ClusterModel`] that wraps Stateright's `ActorModel`, and the bug catalog entry type.
//!
//! [`ClusterModel`] differs from a bare `ActorModel` in three ways:
//! - only servers crash (`--crashes N` means at most N *servers* down at once; Stateright would
//!   also crash clients, which are the test harness, not part of the system under test);
//! - its properties see the whole model, so a property can read the configuration and the actors
//!   (Stateright's `Property` conditions are plain `fn` pointers);
//! - actions are printed with role names ("server 1", "client 0") for counterexamples;
//! - optionally, a server may lose its storage and restart without it ([`ClusterModel::wipes`]);
//! - optionally, the network may split the servers into two sides for a while and heal
//!   ([`ClusterModel::partitions`]).

use crate::byzantine::Byzantine;
use serde::{Deserialize, Serialize};
use stateright::actor::{
    Actor, ActorModel, ActorModelAction, ActorModelState, Command, Envelope, Id, LossyNetwork,
    Network, Out, is_no_op,
};
use stateright::util::DenseNatMap;
use stateright::{Model, Path, Property, Rewrite, RewritePlan};
use std::borrow::Cow;
use std::fmt::{self, Debug, Display};
use std::hash::Hash;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// How the model's network may deliver messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NetworkKind {
    /// Any message in flight may be delivered next, each at most once.
    #[default]
    Unordered,
    /// Any message may be delivered next, any number of times (UDP may duplicate).
    Duplicating,
    /// Per (sender, receiver) pair, messages arrive in the order sent, each once.
    Ordered,
}

impl NetworkKind {
    /// Every kind, for help texts and tables.
    pub const ALL: [NetworkKind; 3] = [Self::Unordered, Self::Duplicating, Self::Ordered];

    /// The flag value that selects this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unordered => "unordered",
            Self::Duplicating => "duplicating",
            Self::Ordered => "ordered",
        }
    }

    /// An empty Stateright network of this kind.
    pub fn network<Msg: Clone + Eq + Hash + Ord>(self) -> Network<Msg> {
        match self {
            Self::Unordered => Network::new_unordered_nonduplicating([]),
            Self::Duplicating => Network::new_unordered_duplicating([]),
            Self::Ordered => Network::new_ordered([]),
        }
    }
}

impl Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NetworkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown network '{s}': expected unordered, duplicating or ordered")
            })
    }
}

/// The part of a model's configuration that every protocol shares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Number of servers (actors `0..servers`).
    pub servers: usize,
    /// Number of clients (actors `servers..servers + clients`).
    pub clients: usize,
    /// Delivery semantics of the network.
    pub network: NetworkKind,
    /// Whether the network may lose any message.
    pub lossy: bool,
    /// At most this many servers are down at once; a crashed server recovers from what it saved.
    pub crashes: usize,
    /// Crashed servers never come back (`--crash-stop`): crash-stop instead of crash-recover,
    /// for the models that otherwise restart a crashed server from what it saved.
    pub crash_stop: bool,
    /// At most this many times in a run the network splits the servers into two sides and
    /// (maybe) heals (`--partitions N`, `--partition` for 1; see [`ClusterModel::partitions`]).
    pub partitions: usize,
    /// How many servers are Byzantine (`--byzantine`, 0 or 1): the last server then ignores
    /// the protocol and may send any message of its bounded domain (see [`crate::byzantine`]).
    #[serde(default)]
    pub byzantine: usize,
    /// At most this many forged messages in a run, with `byzantine` (`--byzantine-sends`).
    #[serde(default = "crate::byzantine::default_sends")]
    pub byzantine_sends: usize,
    /// With `byzantine`: the kinds of message it may forge (`--byzantine-forge`, variant names
    /// such as `Promise`); empty for every kind.
    #[serde(default)]
    pub byzantine_forge: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            servers: 3,
            clients: 2,
            network: NetworkKind::Unordered,
            lossy: false,
            crashes: 0,
            crash_stop: false,
            partitions: 0,
            byzantine: 0,
            byzantine_sends: crate::byzantine::DEFAULT_SENDS,
            byzantine_forge: Vec::new(),
        }
    }
}

/// The largest cluster a model supports (quorums are kept as bit sets).
pub const MAX_SERVERS: usize = 16;

impl ClusterConfig {
    /// Checks the shared settings, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.servers == 0 || self.servers > MAX_SERVERS {
            return Err(format!(
                "--servers must be between 1 and {MAX_SERVERS}, got {}",
                self.servers
            ));
        }
        if self.crashes > self.servers {
            return Err(format!(
                "--crashes {} is more than the {} servers",
                self.crashes, self.servers
            ));
        }
        if self.crash_stop && self.crashes == 0 {
            return Err("--crash-stop needs --crashes 1 or more (no server may crash)".into());
        }
        if self.partitions > MAX_PARTITIONS {
            return Err(format!(
                "--partitions must be at most {MAX_PARTITIONS}, got {}",
                self.partitions
            ));
        }
        if self.partitions > 0 && self.servers < 2 {
            return Err(format!(
                "--partition needs at least 2 servers to split, got {}",
                self.servers
            ));
        }
        if self.byzantine > 1 {
            return Err(format!(
                "--byzantine {}: the models have at most one Byzantine server (f = 1); \
                 tolerating f of them takes 3f + 1 = {} servers and a Byzantine protocol",
                self.byzantine,
                3 * self.byzantine + 1
            ));
        }
        if self.byzantine == 1 && self.servers < 2 {
            return Err(format!(
                "--byzantine 1 needs at least 2 servers (one honest), got {}",
                self.servers
            ));
        }
        if self.byzantine_sends > 9 {
            return Err(format!(
                "--byzantine-sends must be at most 9, got {}",
                self.byzantine_sends
            ));
        }
        Ok(())
    }

    /// The Byzantine server's index, if there is one: the last server.
    pub fn byzantine_server(&self) -> Option<usize> {
        (self.byzantine > 0).then(|| self.servers - 1)
    }
}

/// The most partitions a run may have (`--partitions`): each multiplies the states.
pub const MAX_PARTITIONS: usize = 9;

/// One entry of a protocol's bug catalog: a one-line departure from the protocol that breaks a
/// named property.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct BugInfo {
    /// The name given to `--bug`.
    pub name: &'static str,
    /// The property the checker finds violated.
    pub breaks: &'static str,
    /// Extra `ballot check` arguments needed to expose it (for example `--crashes 1`).
    pub args: &'static [&'static str],
    /// What the mutant does differently, in one sentence.
    pub summary: &'static str,
}

/// One configuration of a protocol's suite (`ballot suite`): the `ballot check` flags that
/// select it, what it is there to exercise, and how long it may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SuiteEntry {
    /// The name given to `--only`.
    pub name: &'static str,
    /// The `ballot check <protocol>` flags of the configuration.
    pub args: &'static [&'static str],
    /// The class of behaviour it exercises, in one sentence.
    pub exercises: &'static str,
    /// "Sometimes" properties these bounds cannot reach (a leader change at `--max-round 1`):
    /// the configuration passes without witnessing them. Every other one must be witnessed.
    pub unreachable: &'static [&'static str],
    /// Its time budget on the project's 2-core machine; past it, the suite reports it out of
    /// time (exit code 3).
    pub budget_secs: u32,
}

/// The entry of `bug` in a protocol's bug catalog.
pub fn catalog_info<B: PartialEq>(catalog: &'static [(B, BugInfo)], bug: B) -> &'static BugInfo {
    &catalog
        .iter()
        .find(|(b, _)| *b == bug)
        .expect("every bug is in the catalog")
        .1
}

/// The bug called `name` in a protocol's bug catalog.
pub fn catalog_lookup<B: Copy>(catalog: &[(B, BugInfo)], name: &str) -> Option<B> {
    catalog
        .iter()
        .find(|(_, i)| i.name == name)
        .map(|(b, _)| *b)
}

/// A step of a cluster model: one of Stateright's actor-model actions, or a partition step of
/// the network ([`ClusterModel::partitions`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ClusterStep<Msg, Timer, Random> {
    /// A delivery, a loss, a timer, a crash (a restart in restart mode), a recovery (a loss of
    /// storage with [`ClusterModel::wipes`]) or a random choice.
    Actor(ActorModelAction<Msg, Timer, Random>),
    /// The network splits the servers into these two sides: from now on, and until it heals,
    /// every message between servers on different sides is lost, those in flight included.
    Split([ServerSet; 2]),
    /// The partition heals: messages cross again (the ones it dropped stay lost).
    Heal,
}

impl<Msg, Timer, Random> From<ActorModelAction<Msg, Timer, Random>>
    for ClusterStep<Msg, Timer, Random>
{
    fn from(a: ActorModelAction<Msg, Timer, Random>) -> Self {
        ClusterStep::Actor(a)
    }
}

impl<Msg, Timer, Random> ClusterStep<Msg, Timer, Random> {
    /// The actor-model action, unless this is a partition step.
    pub fn actor_action(&self) -> Option<&ActorModelAction<Msg, Timer, Random>> {
        match self {
            ClusterStep::Actor(a) => Some(a),
            ClusterStep::Split(_) | ClusterStep::Heal => None,
        }
    }
}

/// The actions of a cluster model.
pub type ClusterAction<A> =
    ClusterStep<<A as Actor>::Msg, <A as Actor>::Timer, <A as Actor>::Random>;

/// Whether the network is split, and how many times it split on the path: kept in a model's
/// history (see [`Partitioned`]), so part of the state's identity. It also carries the number
/// of timers each actor holds ([`TimerCounts`]), which the state's fingerprint needs.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Partition {
    /// The two sides while the network is split, in ascending order (one form per split).
    sides: Option<[ServerSet; 2]>,
    /// How many times the network split on the path.
    splits: u8,
    /// How many timers each actor holds, set by the cluster model after every step. Not shown
    /// (the state shows the timers themselves).
    #[serde(skip)]
    timers: TimerCounts,
}

/// The most actors (servers and clients) a model may have: [`TimerCounts`] keeps one count each.
pub const MAX_ACTORS: usize = 32;

/// How many timers each actor holds, in actor order: part of every state's fingerprint.
///
/// Stateright 0.31 hashes an actor's set of timers as the sorted hashes of its elements with no
/// length before them, and the state's timers as the list of those sets. So two states that
/// differ only in *which* actor holds a timer (`[{Election}, {}, {}]` and `[{}, {}, {Election}]`)
/// get one fingerprint, and the checker, which tells states apart by fingerprint, explores only
/// the first it meets. Keeping the counts in the history (hashed with the rest of the state)
/// separates the actors' sets again. Found in Multi-Paxos with one crash: an equality-based
/// search reached 22,032 states where the checker had counted 18,347.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerCounts {
    /// How many actors the state has.
    actors: u8,
    /// `counts[i]` timers for actor `i < actors`; 0 beyond.
    counts: [u8; MAX_ACTORS],
}

impl Default for TimerCounts {
    fn default() -> Self {
        Self {
            actors: 0,
            counts: [0; MAX_ACTORS],
        }
    }
}

impl TimerCounts {
    /// The counts of `timers_set` (one set per actor).
    fn of<T: Hash + Eq>(timers_set: &[stateright::actor::Timers<T>]) -> Self {
        assert!(
            timers_set.len() <= MAX_ACTORS,
            "a model has at most {MAX_ACTORS} actors"
        );
        let mut counts = [0; MAX_ACTORS];
        for (count, timers) in counts.iter_mut().zip(timers_set) {
            *count = u8::try_from(timers.iter().count()).expect("under 256 timers per actor");
        }
        Self {
            actors: timers_set.len() as u8,
            counts,
        }
    }
}

impl Rewrite<Id> for TimerCounts {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut counts = [0; MAX_ACTORS];
        for (i, &count) in self.counts[..self.actors as usize].iter().enumerate() {
            counts[usize::from(plan.rewrite(&Id::from(i)))] = count;
        }
        Self {
            actors: self.actors,
            counts,
        }
    }
}

impl Partition {
    /// The two sides, while the network is split.
    pub fn sides(&self) -> Option<[ServerSet; 2]> {
        self.sides
    }

    /// How many times the network split on the path.
    pub fn splits(&self) -> usize {
        self.splits as usize
    }

    /// Whether a message from actor `src` to actor `dst` is lost now: both are servers, on
    /// different sides of a split. Clients are on both sides (they reach every server).
    pub fn separates(&self, src: Id, dst: Id) -> bool {
        let Some([a, b]) = self.sides else {
            return false;
        };
        let (s, d) = (usize::from(src), usize::from(dst));
        (a.contains(s) && b.contains(d)) || (b.contains(s) && a.contains(d))
    }
}

impl Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sides {
            Some(sides) => write!(f, "split {}", sides_text(sides, "")),
            None => write!(f, "whole"),
        }?;
        write!(
            f,
            " ({} split{})",
            self.splits,
            if self.splits == 1 { "" } else { "s" }
        )
    }
}

impl Rewrite<Id> for Partition {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Partition {
            sides: self.sides.map(|[a, b]| {
                let mut sides = [a.rewrite(plan), b.rewrite(plan)];
                sides.sort();
                sides
            }),
            splits: self.splits,
            timers: self.timers.rewrite(plan),
        }
    }
}

/// "{server 0} | {server 1, server 2}" (`prefix` "server ") or "{0} | {1, 2}".
fn sides_text(sides: [ServerSet; 2], prefix: &str) -> String {
    let side = |s: ServerSet| {
        let members: Vec<String> = (0..MAX_SERVERS)
            .filter(|&i| s.contains(i))
            .map(|i| format!("{prefix}{i}"))
            .collect();
        format!("{{{}}}", members.join(", "))
    };
    // The side holding server 0 first, whatever the stored order.
    let (first, second) = if sides[1].contains(0) {
        (sides[1], sides[0])
    } else {
        (sides[0], sides[1])
    };
    format!("{} | {}", side(first), side(second))
}

/// A model history that keeps the network's [`Partition`] (for [`ClusterModel::partitions`]).
pub trait Partitioned {
    /// The partition.
    fn partition(&self) -> &Partition;
    /// The partition, to change.
    fn partition_mut(&mut self) -> &mut Partition;
}

impl Partitioned for Partition {
    fn partition(&self) -> &Partition {
        self
    }
    fn partition_mut(&mut self) -> &mut Partition {
        self
    }
}

/// How a model splits its network ([`ClusterModel::partitions`]).
#[derive(Clone, Copy, Debug)]
pub struct PartitionFault {
    /// At most this many splits in a run.
    pub max: usize,
}

/// Every split of servers `0..n` into two nonempty sides, once each (the side holding server 0
/// is one of them), each as its two sides in ascending order: 2^(n-1) - 1 of them.
pub fn bipartitions(n: usize) -> Vec<[ServerSet; 2]> {
    assert!((2..=MAX_SERVERS).contains(&n));
    // `rest` picks which of servers 1..n join server 0; all of them is no split.
    (0..(1u32 << (n - 1)) - 1)
        .map(|rest| {
            let (mut a, mut b) = (ServerSet::default(), ServerSet::default());
            a.insert(0);
            for i in 1..n {
                if rest & (1 << (i - 1)) != 0 {
                    a.insert(i);
                } else {
                    b.insert(i);
                }
            }
            let mut sides = [a, b];
            sides.sort();
            sides
        })
        .collect()
}

/// A Stateright `ActorModel` with server-only crashes, model-level properties and readable actions.
pub struct ClusterModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// The actors, network and history; its own property list stays empty.
    pub inner: ActorModel<A, C, H>,
    /// Actors `0..servers` are servers, the rest clients.
    pub servers: usize,
    /// The properties checked on every state.
    pub properties: Vec<Property<Self>>,
    /// Removes messages in flight that the protocol says can have no effect, now or ever, and
    /// brings one back if its receiver would act on it after all (see
    /// [`Self::discard_obsolete`]).
    pub obsolete: Option<Discard<A, C, H>>,
    /// A crash is followed at once by recovery (see [`Self::restart_on_crash`]).
    pub restart_on_crash: bool,
    /// Servers may lose their storage (see [`Self::wipes`]).
    pub wipes: Option<Wipes<A>>,
    /// The first message the model discarded as obsolete and then had to bring back, because
    /// delivering it was no longer a no-op: the handler acts on a message the protocol's rule
    /// says it ignores forever, and the reduction is not exact for it. Shared by the checker's
    /// threads and read by the report after a run.
    pub revived: Arc<Mutex<Option<Revival>>>,
    /// Checks, on sampled states while the model is checked, that the handlers treat servers
    /// alike, which the checker's symmetry reduction assumes (see [`Self::check_symmetry`]).
    pub symmetry_check: Option<SymmetryCheck<A, H>>,
    /// The first step found that the handlers do not treat alike under a renumbering of the
    /// servers: the symmetry reduction is not exact for these handlers. Read by the report.
    pub symmetry_broken: Arc<Mutex<Option<String>>>,
    /// A crashed server stays down (crash-stop): Stateright's `Recover` is never offered (see
    /// [`Self::crash_stop`]).
    pub crash_stop: bool,
    /// The model's timing assumption: a timer may fire only where this says so (see
    /// [`Self::timers_when`]).
    pub timer_guard: Option<TimerGuard<A, C, H>>,
    /// Updates the history's ghost after every step (see [`Self::ghost_step`]).
    pub ghost_step: Option<GhostStep<A, C, H>>,
    /// The network may split the servers into two sides (see [`Self::partitions`]).
    pub partition: Option<PartitionFault>,
    /// A Byzantine server (see [`Self::byzantine`]).
    pub byzantine: Option<Byzantine<A, H>>,
    /// The history's [`Partition`] ([`Partitioned`]): the network's split, and the actors'
    /// [`TimerCounts`], which every step records.
    pub partition_get: fn(&H) -> &Partition,
    /// The same, to change.
    pub partition_get_mut: fn(&mut H) -> &mut Partition,
}

/// A timing assumption (see [`ClusterModel::timers_when`]): whether `timer` of actor `id` may
/// fire in `state`.
pub type TimerGuard<A, C, H> =
    fn(&ClusterModel<A, C, H>, &ActorModelState<A, H>, Id, &<A as Actor>::Timer) -> bool;

/// A ghost update after a step: given the model, the state before the step, the server that
/// crashed (or lost its storage) in the step if one did, and the state after it, which it may
/// change (its history only, by convention).
pub type GhostStep<A, C, H> =
    fn(&ClusterModel<A, C, H>, &ActorModelState<A, H>, Option<usize>, &mut ActorModelState<A, H>);

/// A renumbering of the actors (servers among themselves; clients stay in place).
pub type ServerPlan = RewritePlan<Id, DenseNatMap<Id, Id>>;

/// How a model checks its symmetry reduction against the handlers (see
/// [`ClusterModel::check_symmetry`]).
pub struct SymmetryCheck<A: Actor, H> {
    /// The renumbering that takes a state to its representative, `None` if it is one already.
    plan: fn(&ActorModelState<A, H>) -> Option<ServerPlan>,
    /// A state with its servers renumbered by a plan.
    apply: fn(&ActorModelState<A, H>, &ServerPlan) -> ActorModelState<A, H>,
    /// One expanded state in `every` is checked.
    every: u64,
}

impl<A: Actor, H> Clone for SymmetryCheck<A, H> {
    fn clone(&self) -> Self {
        Self {
            plan: self.plan,
            apply: self.apply,
            every: self.every,
        }
    }
}

/// A predicate on a message in flight, given the model and the state: true if, by the
/// protocol's argument, delivering it can change nothing in any state reachable from this one.
pub type Obsolete<A, C, H> =
    fn(&ClusterModel<A, C, H>, &ActorModelState<A, H>, Envelope<&<A as Actor>::Msg>) -> bool;

/// How a model discards obsolete messages: the protocol's predicate, and where in the history
/// the discarded messages are kept (see [`Discarded`]).
pub struct Discard<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// The protocol's claim: this message is ignored now and in every reachable state.
    pub obsolete: Obsolete<A, C, H>,
    /// The history's record of the messages discarded on the path to a state.
    pub ghost: fn(&mut H) -> &mut Discarded<A::Msg>,
}

impl<A, C, H> Clone for Discard<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    fn clone(&self) -> Self {
        Self {
            obsolete: self.obsolete,
            ghost: self.ghost,
        }
    }
}

/// How servers lose their storage in a model ([`ClusterModel::wipes`]): how many times, what a
/// server restarts with, and how to tell that it has not finished rejoining.
pub struct Wipes<A: Actor> {
    /// At most this many losses of storage in a run (`--wipes N`), counted by `losses`. A bound
    /// on the total keeps the state space finite: a server that lost its storage may send again
    /// what it sent before, while the old copies are still in flight.
    pub max: usize,
    /// At most this many servers rejoining at once: a server may lose its storage only while
    /// fewer than `at_once` *other* servers are rejoining (a protocol's safety argument may
    /// assume 1).
    pub at_once: usize,
    /// The storage a server restarts with after losing `previous`: what a real node passes to
    /// `on_start` when it finds no storage. Only an incarnation number may be carried over, as
    /// the model's stand-in for the random number a real node draws at each start without
    /// storage (fresh each time, so that messages to an earlier incarnation are told apart).
    pub lost: fn(Option<&A::Storage>) -> A::Storage,
    /// How many times the server with this storage lost its storage (its incarnation).
    pub losses: fn(&A::Storage) -> usize,
    /// Whether a server with this saved storage is still rejoining (it counts towards
    /// `at_once`).
    pub rejoining: fn(&A::Storage) -> bool,
}

impl<A: Actor> Clone for Wipes<A> {
    fn clone(&self) -> Self {
        Self {
            max: self.max,
            at_once: self.at_once,
            lost: self.lost,
            losses: self.losses,
            rejoining: self.rejoining,
        }
    }
}

/// A message that the model discarded as obsolete and had to bring back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revival {
    /// The message, its sender and its receiver, in words.
    pub message: String,
    /// The receiver's state in which delivering the message stopped being a no-op.
    pub receiver_state: String,
}

/// Ghost data kept in a model's history: the messages discarded as obsolete on the path to a
/// state, each with its number of copies. It takes no part in the state's identity
/// (comparisons and hashing ignore it, so discarding still merges the states that differ only
/// in obsolete messages) and only serves to check the discard against the handler: after every
/// step, a discarded message whose receiver stepped is delivered to it on trial, and put back
/// in flight if that is no longer a no-op.
pub struct Discarded<Msg>(Arc<Vec<(Envelope<Msg>, usize)>>);

impl<Msg> Discarded<Msg> {
    /// The discarded messages, each with its number of copies.
    pub fn messages(&self) -> impl Iterator<Item = &Envelope<Msg>> {
        self.0.iter().map(|(env, _)| env)
    }
}

impl<Msg> Clone for Discarded<Msg> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<Msg> Default for Discarded<Msg> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<Msg> Discarded<Msg> {
    /// How many distinct messages were discarded on the path.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no message was discarded on the path.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<Msg> PartialEq for Discarded<Msg> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<Msg> Eq for Discarded<Msg> {}

impl<Msg> Hash for Discarded<Msg> {
    fn hash<S: std::hash::Hasher>(&self, _: &mut S) {}
}

impl<Msg> Debug for Discarded<Msg> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} discarded", self.0.len())
    }
}

impl<Msg> Serialize for Discarded<Msg> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.len() as u64)
    }
}

impl<Msg: Clone + Rewrite<Id>> Rewrite<Id> for Discarded<Msg> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Self(Arc::new(
            self.0.iter().map(|(e, n)| (e.rewrite(plan), *n)).collect(),
        ))
    }
}

impl<A, C, H> ClusterModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// Wraps `inner`, whose actors `0..servers` are the servers.
    pub fn new(inner: ActorModel<A, C, H>, servers: usize) -> Self
    where
        H: Partitioned,
    {
        assert!(
            inner.properties.is_empty(),
            "put properties on the ClusterModel"
        );
        Self {
            inner,
            servers,
            properties: Vec::new(),
            obsolete: None,
            restart_on_crash: false,
            wipes: None,
            revived: Arc::default(),
            symmetry_check: None,
            symmetry_broken: Arc::default(),
            crash_stop: false,
            timer_guard: None,
            ghost_step: None,
            byzantine: None,
            partition: None,
            partition_get: H::partition,
            partition_get_mut: H::partition_mut,
        }
    }

    /// Records in `state`'s history how many timers each actor holds ([`TimerCounts`]: without
    /// them the fingerprint cannot tell which actor holds a timer).
    fn count_timers(&self, mut state: ActorModelState<A, H>) -> ActorModelState<A, H> {
        (self.partition_get_mut)(&mut state.history).timers = TimerCounts::of(&state.timers_set);
        state
    }

    /// Lets the network split the servers into two sides, at most `max` times in a run (no
    /// effect with 0): a step "the network splits S | rest" for every split of the servers
    /// into two nonempty sides ([`bipartitions`]: every cut, not only a minority against a
    /// majority), after which every message between servers on different sides is lost — those
    /// in flight at the split, and those sent while it lasts — until a step "the partition
    /// heals". Clients are on both sides: they reach every server (they are the test harness;
    /// a client cut off from a server is one whose messages are merely slow, which the network
    /// allows anyway). The split is kept in the history ([`Partitioned`]), so it is part of the
    /// state, renumbered with the servers under symmetry reduction. A run may end with the
    /// network still split. See docs/checking.md ("Partitions") for what this adds to a network
    /// that can already delay or lose any message.
    pub fn partitions(mut self, max: usize) -> Self {
        if max > 0 {
            assert!(self.servers >= 2, "a partition needs two servers");
            self.partition = Some(PartitionFault { max });
        }
        self
    }

    /// The network's partition in `state` (always whole without [`Self::partitions`]).
    pub fn partition_of(&self, state: &ActorModelState<A, H>) -> Partition {
        *(self.partition_get)(&state.history)
    }

    /// Removes from `state`'s network, and from the obsolete messages kept in its history,
    /// every message between servers on different sides of the split.
    fn drop_across(&self, state: &mut ActorModelState<A, H>) {
        let cut = self.partition_of(state);
        if cut.sides.is_none() {
            return;
        }
        let across = |env: &Envelope<A::Msg>| cut.separates(env.src, env.dst);
        match &mut state.network {
            Network::UnorderedNonDuplicating(in_flight) => {
                if in_flight.keys().any(across) {
                    in_flight.retain(|env, _| !across(env));
                }
            }
            Network::UnorderedDuplicating(in_flight, _) => {
                if in_flight.iter().any(across) {
                    in_flight.retain(|env| !across(env));
                }
            }
            Network::Ordered(channels) => {
                // A channel crosses the cut as a whole.
                channels.retain(|(src, dst), _| !cut.separates(*src, *dst));
            }
        }
        if let Some(discard) = &self.obsolete {
            // A discarded message across the cut would have been lost with the others: it
            // must not come back after the partition heals.
            let ghost = &mut (discard.ghost)(&mut state.history).0;
            if ghost.iter().any(|(env, _)| across(env)) {
                Arc::make_mut(ghost).retain(|(env, _)| !across(env));
            }
        }
    }

    /// Makes one server Byzantine (`--byzantine 1`; see [`crate::byzantine`]): its own actor
    /// never runs, and it may forge any message of `byzantine.forgeries`, up to
    /// `byzantine.max_sends` in a run. The servers are then no longer interchangeable, so the
    /// symmetry reduction and its check are refused.
    pub fn byzantine(mut self, byzantine: Byzantine<A, H>) -> Self {
        assert!(
            self.symmetry_check.is_none(),
            "a Byzantine server is fixed: no symmetry"
        );
        assert!(byzantine.server < self.servers);
        self.byzantine = Some(byzantine);
        self
    }

    /// Whether server `i` is the Byzantine one (its state means nothing: properties range over
    /// the other servers).
    pub fn is_byzantine(&self, i: usize) -> bool {
        self.byzantine.as_ref().is_some_and(|b| b.server == i)
    }

    /// Makes every crash permanent (crash-stop, the fail-stop model of the lecture): a crashed
    /// server never recovers, and the messages sent to it stay undelivered. The primary/backup
    /// and two-phase-commit models use it to show what happens while a server is down for good
    /// (failover, blocking).
    pub fn crash_stop(mut self) -> Self {
        assert!(!self.restart_on_crash, "crash-stop or restart, not both");
        self.crash_stop = true;
        self
    }

    /// [`Self::crash_stop`] if `stop` (the configuration's `crash_stop`), else
    /// [`Self::restart_on_crash`]: for the models whose servers save what they need to
    /// recover.
    pub fn crashes_as(self, stop: bool) -> Self {
        if stop {
            self.crash_stop()
        } else {
            self.restart_on_crash()
        }
    }

    /// A timing assumption: a timer fires only in the states where `guard` allows it. The
    /// checker otherwise lets any set timer fire at any moment (it ignores durations), which
    /// is the right model of an asynchronous system; a failure detector built on a timeout
    /// (a heartbeat) is only accurate under an assumption of synchrony, which `guard` states
    /// (for example: "a backup suspects its primary only if no heartbeat between them is
    /// still in flight").
    pub fn timers_when(mut self, guard: TimerGuard<A, C, H>) -> Self {
        self.timer_guard = Some(guard);
        self
    }

    /// Whether nothing can happen any more in `state` except crashes, losses and partition
    /// steps (which never help anyone decide: healing delivers nothing by itself): every
    /// delivery, timer and random choice is a no-op. Termination
    /// properties ("a write completes", "every participant decides") are checked on such
    /// states: the bounded models have no infinite run that does not cycle, so a run that
    /// never completes either ends in such a state (a counterexample) or cycles through states
    /// that can still act (which these properties do not catch: they find deadlocks, not
    /// livelocks).
    pub fn quiescent(&self, state: &ActorModelState<A, H>) -> bool {
        let mut actions = Vec::new();
        self.actor_actions(state, &mut actions);
        actions
            .into_iter()
            .filter(|a| !matches!(a, ActorModelAction::Crash(_) | ActorModelAction::Drop(_)))
            .filter(|a| !self.byzantine.as_ref().is_some_and(|b| b.is_forgery(a)))
            .all(|a| self.inner.next_state(state, a).is_none())
    }

    /// Calls `update` after every step, to keep ghost state in the history that the actors'
    /// states cannot tell: for example the order of two events on the path (a leader crashed,
    /// *then* another committed). What it records is part of the state, so it should record
    /// as little as the property it serves needs.
    pub fn ghost_step(mut self, update: GhostStep<A, C, H>) -> Self {
        self.ghost_step = Some(update);
        self
    }

    /// Makes every crash a restart: the server crashes and at once recovers from what it saved.
    ///
    /// For properties of the actors' states (every "always" property here), this explores the
    /// same states as crash-recover with a server down for a while: Stateright keeps the
    /// messages sent to a crashed server until it recovers, so a server that is down is
    /// indistinguishable from one that is merely slow (no timer fires, no message is delivered),
    /// which the unordered network already allows; what it loses at the crash, it loses at the
    /// restart. Leaving out the states "server i is down" divides the state space several
    /// times over. A crashed server still receives nothing until it restarts, so `--crashes N`
    /// for any N ≥ 1 means the same: any server may restart at any moment.
    pub fn restart_on_crash(mut self) -> Self {
        self.restart_on_crash = true;
        self
    }

    /// Lets servers lose their storage: a server crashes, restarts with `wipes.lost` instead of
    /// what it saved, and is *rejoining* until `wipes.rejoining` says otherwise; at most
    /// `wipes.max` losses in a run, at most `wipes.at_once` servers rejoining at once (the
    /// protocol's safety argument may assume one). The action is Stateright's `Recover(id)`,
    /// which in restart mode ([`Self::restart_on_crash`], required) is otherwise unused; it
    /// reads "server 1 loses its storage and restarts".
    ///
    /// Messages in flight stay in flight, to and from the server, as in a real network: its new
    /// incarnation receives what was sent to the old one, and the answers to what the old one
    /// sent.
    pub fn wipes(mut self, wipes: Wipes<A>) -> Self {
        assert!(
            self.restart_on_crash,
            "storage loss is modelled in restart mode only"
        );
        if wipes.max > 0 {
            self.wipes = Some(wipes);
        }
        self
    }

    /// How many servers are rejoining in `state`, by their saved storage.
    pub fn rejoining(&self, state: &ActorModelState<A, H>) -> usize {
        let Some(w) = &self.wipes else { return 0 };
        (0..self.servers)
            .filter(|&i| state.actor_storages[i].as_ref().is_some_and(w.rejoining))
            .count()
    }

    /// How many more times a server may lose its storage on a path from `state` (0 without
    /// [`Self::wipes`]).
    pub fn wipes_left(&self, state: &ActorModelState<A, H>) -> usize {
        let Some(w) = &self.wipes else { return 0 };
        let done: usize = (0..self.servers)
            .filter_map(|i| state.actor_storages[i].as_ref())
            .map(w.losses)
            .sum();
        w.max.saturating_sub(done)
    }

    /// `last` with server `id` down and its storage replaced by the lost one: the state from
    /// which it restarts without its storage.
    fn wiped(
        &self,
        w: &Wipes<A>,
        last: &ActorModelState<A, H>,
        id: Id,
    ) -> Option<ActorModelState<A, H>> {
        let mut down = self.inner.next_state(last, ActorModelAction::Crash(id))?;
        let i = usize::from(id);
        down.actor_storages[i] = Some((w.lost)(last.actor_storages[i].as_ref()));
        Some(down)
    }

    /// After every step, removes from the network the messages that `obsolete` recognizes (a
    /// message its receiver ignores now and in every future state by the protocol's argument,
    /// for example one whose term is below the receiver's saved term) **and** whose delivery to
    /// the receiver, tried on the actual handler, is a no-op now. Stateright leaves an ignored
    /// message in flight, so without this every stale message would double the states that
    /// follow.
    ///
    /// The reduction is checked against the handler while the model is checked, so that an
    /// edited handler cannot hide behind it: discarded messages are kept in the history's
    /// ghost (`ghost`, a [`Discarded`]), and after every step each of them addressed to the
    /// actor that stepped is delivered to it on trial; if that is no longer a no-op, the message
    /// is put back in flight (the path then goes on exactly as without the reduction) and
    /// [`Self::revived`] records it, so that the report can say the reduction was not exact for
    /// this handler. Only unordered networks discard: on an ordered one, a message removed from
    /// the middle of a channel could not be put back in its place.
    pub fn discard_obsolete(
        mut self,
        obsolete: Obsolete<A, C, H>,
        ghost: fn(&mut H) -> &mut Discarded<A::Msg>,
    ) -> Self {
        if !matches!(self.inner.init_network, Network::Ordered(_)) {
            self.obsolete = Some(Discard { obsolete, ghost });
        }
        self
    }

    /// Whether delivering `env` in `state` changes nothing (Stateright's test: the receiver's
    /// state is untouched and the handler issues no command). A message to a crashed actor is
    /// never a no-op (it waits for the recovery).
    pub fn delivery_is_no_op(&self, state: &ActorModelState<A, H>, env: Envelope<&A::Msg>) -> bool {
        let i = usize::from(env.dst);
        let (Some(actor), Some(current)) = (self.inner.actors.get(i), state.actor_states.get(i))
        else {
            return true;
        };
        if state.crashed[i] {
            return false;
        }
        let mut cow = Cow::Borrowed(&**current);
        let mut out = Out::new();
        actor.on_msg(env.dst, &mut cow, env.src, env.msg.clone(), &mut out);
        is_no_op(&cow, &out)
    }

    /// The discard step after a transition to `next` in which the actor `changed` (if any) got
    /// a new state: brings back the discarded messages to it that it would now act on, then
    /// removes the messages in flight that are obsolete.
    fn discard(
        &self,
        discard: &Discard<A, C, H>,
        changed: Option<Id>,
        next: &mut ActorModelState<A, H>,
    ) {
        if let Some(actor) = changed {
            let ghost = Arc::clone(&(discard.ghost)(&mut next.history).0);
            let back: Vec<usize> = (0..ghost.len())
                .filter(|&k| {
                    let (env, _) = &ghost[k];
                    env.dst == actor
                        && !self.delivery_is_no_op(
                            next,
                            Envelope {
                                src: env.src,
                                dst: env.dst,
                                msg: &env.msg,
                            },
                        )
                })
                .collect();
            if let Some(&first_back) = back.first() {
                if let Ok(mut first) = self.revived.lock()
                    && first.is_none()
                {
                    let (env, _) = &ghost[first_back];
                    *first = Some(Revival {
                        message: format!(
                            "{:?} from {} to {}",
                            env.msg,
                            self.actor_name(env.src),
                            self.actor_name(env.dst)
                        ),
                        receiver_state: format!("{:?}", next.actor_states[usize::from(env.dst)]),
                    });
                }
                let kept = (0..ghost.len())
                    .filter(|k| !back.contains(k))
                    .map(|k| ghost[k].clone())
                    .collect();
                *(discard.ghost)(&mut next.history) = Discarded(Arc::new(kept));
                for k in back {
                    let (env, copies) = ghost[k].clone();
                    put_back(&mut next.network, env, copies);
                }
            }
        }
        let dead: Vec<(Envelope<A::Msg>, usize)> = in_flight(&next.network)
            .into_iter()
            .filter(|(env, _)| (discard.obsolete)(self, next, *env))
            .filter(|(env, _)| self.delivery_is_no_op(next, *env))
            .map(|(env, copies)| (env.to_cloned_msg(), copies))
            .collect();
        if dead.is_empty() {
            return;
        }
        for (env, _) in &dead {
            match &mut next.network {
                Network::UnorderedNonDuplicating(in_flight) => {
                    in_flight.remove(env);
                }
                Network::UnorderedDuplicating(in_flight, _) => {
                    in_flight.remove(env);
                }
                Network::Ordered(_) => unreachable!("ordered networks discard nothing"),
            }
        }
        let ghost = Arc::make_mut(&mut (discard.ghost)(&mut next.history).0);
        for (env, copies) in dead {
            // A message sent again after its first copy was discarded: one entry (one trial
            // delivery per step) with both counts.
            match ghost.iter_mut().find(|(e, _)| *e == env) {
                Some((_, n)) => *n += copies,
                None => ghost.push((env, copies)),
            }
        }
    }

    /// Adds an "always" property (an invariant).
    pub fn always(
        mut self,
        name: &'static str,
        condition: fn(&Self, &ActorModelState<A, H>) -> bool,
    ) -> Self {
        self.add(Property::always(name, condition));
        self
    }

    /// Adds a "sometimes" property (a state that must be reachable).
    pub fn sometimes(
        mut self,
        name: &'static str,
        condition: fn(&Self, &ActorModelState<A, H>) -> bool,
    ) -> Self {
        self.add(Property::sometimes(name, condition));
        self
    }

    /// Adds an "eventually" property: every complete run reaches a state where `condition`
    /// holds. Stateright checks it only at terminal states (states with no successor), and
    /// its checkers do not tell a cycle or a join of two paths from a new state, so it is exact
    /// only when `condition` is *stable* (once true on a path, true in every later state: then
    /// whether it held on the way to a state depends on the state alone, and joins are
    /// harmless) and the model has no cycle and no step back to a state already seen (a
    /// crash-restart that changes nothing is one: the state then counts as not terminal, and
    /// a run that ends there is never reported). Callers must offer it only in such
    /// configurations.
    pub fn eventually(
        mut self,
        name: &'static str,
        condition: fn(&Self, &ActorModelState<A, H>) -> bool,
    ) -> Self {
        self.add(Property::eventually(name, condition));
        self
    }

    fn add(&mut self, p: Property<Self>) {
        assert!(
            self.properties.iter().all(|q| q.name != p.name),
            "duplicate property {}",
            p.name
        );
        self.properties.push(p);
    }

    /// Stateright's actions (without crashes of clients: clients are the test harness, they
    /// never crash), then the partition steps.
    fn server_actions(&self, state: &ActorModelState<A, H>, actions: &mut Vec<ClusterAction<A>>) {
        let mut inner = Vec::new();
        self.actor_actions(state, &mut inner);
        actions.extend(inner.into_iter().map(ClusterStep::Actor));
        if let Some(p) = &self.partition {
            let cut = self.partition_of(state);
            if cut.sides.is_some() {
                actions.push(ClusterStep::Heal);
            } else if cut.splits() < p.max {
                actions.extend(
                    bipartitions(self.servers)
                        .into_iter()
                        .map(ClusterStep::Split),
                );
            }
        }
    }

    /// Stateright's actions, without crashes of clients, as [`Self::server_actions`] offers
    /// them.
    fn actor_actions(
        &self,
        state: &ActorModelState<A, H>,
        actions: &mut Vec<ActorModelAction<A::Msg, A::Timer, A::Random>>,
    ) {
        self.inner.actions(state, actions);
        actions.retain(
            |a| !matches!(a, ActorModelAction::Crash(id) if usize::from(*id) >= self.servers),
        );
        if self.crash_stop {
            actions.retain(|a| !matches!(a, ActorModelAction::Recover(_)));
        }
        if let Some(guard) = self.timer_guard {
            actions.retain(|a| match a {
                ActorModelAction::Timeout(id, timer) => guard(self, state, *id, timer),
                _ => true,
            });
        }
        if let Some(w) = &self.wipes
            && self.wipes_left(state) > 0
        {
            // In restart mode no server is ever down, so Stateright offers no `Recover`: here
            // it is the loss of a server's storage.
            let rejoining = self.rejoining(state);
            for i in (0..self.servers).filter(|&i| !state.crashed[i]) {
                let itself = state.actor_storages[i].as_ref().is_some_and(w.rejoining);
                if rejoining - usize::from(itself) < w.at_once {
                    actions.push(ActorModelAction::Recover(Id::from(i)));
                }
            }
        }
        if let Some(b) = &self.byzantine {
            actions.retain(|a| !b.silenced(a));
            b.actions(state, (b.sent)(&state.history), actions);
        }
    }

    /// The symmetry check at one state (one expanded state in `every`): the state's successors within the
    /// model's boundary, renumbered like the state is to reach its representative, must be
    /// exactly the representative's successors within the boundary (states outside it are
    /// never expanded, so they need not agree: Multi-Paxos's one ballot per round orders two
    /// ballots of one round by proposer, which a renumbering does not preserve). If a handler treats some server differently from the others (a test of a
    /// server's number, a loop over the servers below it), the two sets differ, and
    /// [`Self::symmetry_broken`] records the first step that shows it.
    fn verify_symmetry(
        &self,
        check: &SymmetryCheck<A, H>,
        state: &ActorModelState<A, H>,
        actions: &[ClusterAction<A>],
    ) {
        use std::hash::BuildHasher;
        // One expanded state in `every`, counted per checker thread: a counter costs nothing,
        // where hashing every state to pick one cost about 6% of a Raft check. With one thread
        // the states checked are the same in every run.
        thread_local! {
            static EXPANDED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
        }
        let n = EXPANDED.with(|c| {
            let n = c.get();
            c.set(n.wrapping_add(1));
            n
        });
        if !n.is_multiple_of(check.every) {
            return;
        }
        let fixed = std::hash::BuildHasherDefault::<std::hash::DefaultHasher>::default();
        if self
            .symmetry_broken
            .lock()
            .map(|b| b.is_some())
            .unwrap_or(true)
        {
            return;
        }
        let Some(plan) = (check.plan)(state) else {
            return;
        };
        let rep = (check.apply)(state, &plan);
        let mut rep_actions = Vec::new();
        self.server_actions(&rep, &mut rep_actions);
        let rep_next: std::collections::HashSet<u64> = rep_actions
            .into_iter()
            .filter_map(|a| self.step(&rep, a))
            .filter(|n| Model::within_boundary(&self.inner, n))
            .map(|n| fixed.hash_one(&n))
            .collect();
        let mut mapped = std::collections::HashSet::new();
        for a in actions {
            let Some(next) = self
                .step(state, a.clone())
                .filter(|n| Model::within_boundary(&self.inner, n))
            else {
                continue;
            };
            let h = fixed.hash_one((check.apply)(&next, &plan));
            if !rep_next.contains(&h) {
                self.report_asymmetry(state, &plan, a, "");
                return;
            }
            mapped.insert(h);
        }
        if mapped.len() != rep_next.len() {
            let mut rep_actions = Vec::new();
            self.server_actions(&rep, &mut rep_actions);
            if let Some(a) = rep_actions.iter().find(|a| {
                self.step(&rep, (*a).clone()).is_some_and(|n| {
                    Model::within_boundary(&self.inner, &n) && !mapped.contains(&fixed.hash_one(&n))
                })
            }) {
                self.report_asymmetry(&rep, &plan, a, " (the state renumbered)");
            }
        }
    }

    fn report_asymmetry(
        &self,
        state: &ActorModelState<A, H>,
        plan: &ServerPlan,
        action: &ClusterAction<A>,
        which: &str,
    ) {
        let renumbering: Vec<String> = (0..self.servers)
            .map(|i| format!("{i}→{}", usize::from(plan.rewrite(&Id::from(i)))))
            .collect();
        if let Ok(mut first) = self.symmetry_broken.lock()
            && first.is_none()
        {
            *first = Some(format!(
                "the step \"{}\" from a state{which} with actor states {:?} has no \
                 counterpart once the servers are renumbered ({})",
                self.format_action(action),
                state.actor_states,
                renumbering.join(", ")
            ));
        }
    }

    /// The model's configuration.
    pub fn cfg(&self) -> &C {
        &self.inner.cfg
    }

    /// "server 1" or "client 0".
    pub fn actor_name(&self, id: stateright::actor::Id) -> String {
        let i = usize::from(id);
        if i < self.servers {
            format!("server {i}")
        } else {
            format!("client {}", i - self.servers)
        }
    }
}

impl<A, C, H> ClusterModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    /// The state after Stateright's `action` (a crash being a restart in restart mode, a
    /// `Recover` a loss of storage with wipes), then the ghost update, the discard of obsolete
    /// messages, and the loss of the messages it sent across a split.
    fn actor_next_state(
        &self,
        last: &ActorModelState<A, H>,
        action: ActorModelAction<A::Msg, A::Timer, A::Random>,
    ) -> Option<ActorModelState<A, H>> {
        let stepped = match &action {
            ActorModelAction::Deliver { dst, .. } => Some(*dst),
            ActorModelAction::Timeout(id, _)
            | ActorModelAction::Crash(id)
            | ActorModelAction::Recover(id) => Some(*id),
            ActorModelAction::SelectRandom { actor, .. } => Some(*actor),
            ActorModelAction::Drop(_) => None,
        };
        // The server that crashed in this step: a crash (a restart, in restart mode), or a
        // loss of storage (a `Recover` with wipes).
        let crashed = match (&action, &self.wipes) {
            (ActorModelAction::Crash(id), _) | (ActorModelAction::Recover(id), Some(_)) => {
                Some(usize::from(*id))
            }
            _ => None,
        };
        let forged = self.byzantine.as_ref().filter(|b| b.is_forgery(&action));
        let mut next = match (action, &self.wipes) {
            (ActorModelAction::Deliver { src, dst, msg }, _) if forged.is_some() => {
                let b = forged.expect("a forgery");
                let env = Envelope {
                    src,
                    dst,
                    msg: &msg,
                };
                if (b.sent)(&last.history) >= b.max_sends || self.delivery_is_no_op(last, env) {
                    return None;
                }
                if self.partition_of(last).separates(src, dst) {
                    // The liar is a server like the others: a split cuts it off too.
                    return None;
                }
                let mut with = last.clone();
                b.put_in_flight(&mut with.network, env.to_cloned_msg());
                let mut next = self
                    .inner
                    .next_state(&with, ActorModelAction::Deliver { src, dst, msg })?;
                (b.count)(&mut next.history);
                next
            }
            (ActorModelAction::Recover(id), Some(w)) => {
                let down = self.wiped(w, last, id)?;
                self.inner
                    .next_state(&down, ActorModelAction::Recover(id))?
            }
            (ActorModelAction::Crash(id), _) if self.restart_on_crash => {
                let down = self.inner.next_state(last, ActorModelAction::Crash(id))?;
                self.inner
                    .next_state(&down, ActorModelAction::Recover(id))?
            }
            (action, _) => self.inner.next_state(last, action)?,
        };
        if let Some(b) = &self.byzantine {
            b.strip(&mut next.network);
        }
        if let Some(update) = self.ghost_step {
            update(self, last, crashed, &mut next);
        }
        if let Some(discard) = &self.obsolete {
            // Whether a message is a no-op depends only on its receiver's state: re-check the
            // discarded ones only if the actor that stepped has a new state.
            let changed = stepped.filter(|id| {
                let i = usize::from(*id);
                !Arc::ptr_eq(&last.actor_states[i], &next.actor_states[i])
            });
            self.discard(discard, changed, &mut next);
        }
        if self.partition.is_some() {
            // What the step sent across the cut is lost (and a discarded message put back by
            // `discard` across it: it would have been lost at the split).
            self.drop_across(&mut next);
        }
        Some(next)
    }

    /// Stateright's `action` in words, with role names.
    fn format_actor_action(
        &self,
        action: &ActorModelAction<A::Msg, A::Timer, A::Random>,
    ) -> String {
        match action {
            ActorModelAction::Deliver { src, dst, msg } if self.is_byzantine(usize::from(*src)) => {
                format!(
                    "{} receives {msg:?} forged by {} (Byzantine)",
                    self.actor_name(*dst),
                    self.actor_name(*src)
                )
            }
            ActorModelAction::Deliver { src, dst, msg } => format!(
                "{} receives {msg:?} from {}",
                self.actor_name(*dst),
                self.actor_name(*src)
            ),
            ActorModelAction::Drop(env) => format!(
                "the network loses {:?} from {} to {}",
                env.msg,
                self.actor_name(env.src),
                self.actor_name(env.dst)
            ),
            ActorModelAction::Timeout(id, timer) => {
                format!("{}'s {timer:?} timer fires", self.actor_name(*id))
            }
            ActorModelAction::Crash(id) if self.restart_on_crash => format!(
                "{} crashes and restarts from its saved state",
                self.actor_name(*id)
            ),
            ActorModelAction::Crash(id) if self.crash_stop => {
                format!("{} crashes (and stays down)", self.actor_name(*id))
            }
            ActorModelAction::Crash(id) => format!("{} crashes", self.actor_name(*id)),
            ActorModelAction::Recover(id) if self.wipes.is_some() => {
                format!("{} loses its storage and restarts", self.actor_name(*id))
            }
            ActorModelAction::Recover(id) => {
                format!("{} recovers from its saved state", self.actor_name(*id))
            }
            ActorModelAction::SelectRandom { actor, random, .. } => {
                format!("{} chooses {random:?}", self.actor_name(*actor))
            }
        }
    }

    /// Stateright's description of the step `action` from `last`.
    fn format_actor_step(
        &self,
        last: &ActorModelState<A, H>,
        action: ActorModelAction<A::Msg, A::Timer, A::Random>,
    ) -> Option<String>
    where
        ActorModelState<A, H>: Debug,
    {
        match (action, &self.wipes) {
            (ActorModelAction::Recover(id), Some(w)) => {
                let down = self.wiped(w, last, id)?;
                self.inner.format_step(&down, ActorModelAction::Recover(id))
            }
            (ActorModelAction::Deliver { src, dst, msg }, _) if self.is_byzantine(src.into()) => {
                let b = self.byzantine.as_ref().expect("a Byzantine server");
                let mut with = last.clone();
                let env = Envelope { src, dst, msg };
                b.put_in_flight(&mut with.network, env.clone());
                let Envelope { src, dst, msg } = env;
                self.inner
                    .format_step(&with, ActorModelAction::Deliver { src, dst, msg })
            }
            (action, _) => self.inner.format_step(last, action),
        }
    }

    /// The state after `action` ([`Model::next_state`]).
    pub fn step(
        &self,
        last: &ActorModelState<A, H>,
        action: ClusterAction<A>,
    ) -> Option<ActorModelState<A, H>> {
        let next = match action {
            ClusterStep::Actor(action) => self.actor_next_state(last, action),
            ClusterStep::Split(sides) => self.partition_next_state(last, Some(sides)),
            ClusterStep::Heal => self.partition_next_state(last, None),
        }?;
        Some(self.count_timers(next))
    }

    /// The state after a partition step: the network splits (and loses every message in flight
    /// across the cut) or heals.
    fn partition_next_state(
        &self,
        last: &ActorModelState<A, H>,
        split: Option<[ServerSet; 2]>,
    ) -> Option<ActorModelState<A, H>> {
        let p = self.partition?;
        let cut = self.partition_of(last);
        let mut next = last.clone();
        match split {
            Some(sides) => {
                if cut.sides.is_some() || cut.splits() >= p.max {
                    return None;
                }
                let partition = (self.partition_get_mut)(&mut next.history);
                partition.sides = Some(sides);
                partition.splits += 1;
                self.drop_across(&mut next);
            }
            None => {
                cut.sides?;
                (self.partition_get_mut)(&mut next.history).sides = None;
            }
        }
        if let Some(update) = self.ghost_step {
            update(self, last, None, &mut next);
        }
        Some(next)
    }
}

/// A path replayed as recorded, to hand Stateright's sequence diagram the path of actor steps
/// (see [`ClusterModel::as_svg`]).
struct Recorded<S, T> {
    init: S,
    steps: Vec<(T, S)>,
    at: std::cell::Cell<usize>,
}

impl<S: Clone, T: Clone> Model for Recorded<S, T> {
    type State = S;
    type Action = T;

    fn init_states(&self) -> Vec<S> {
        vec![self.init.clone()]
    }

    fn actions(&self, _: &S, actions: &mut Vec<T>) {
        actions.extend(self.steps.get(self.at.get()).map(|(a, _)| a.clone()));
    }

    fn next_state(&self, _: &S, _: T) -> Option<S> {
        let k = self.at.get();
        self.at.set(k + 1);
        self.steps.get(k).map(|(_, s)| s.clone())
    }
}

impl<A, C, H> Model for ClusterModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    type State = ActorModelState<A, H>;
    type Action = ClusterAction<A>;

    fn init_states(&self) -> Vec<Self::State> {
        let mut states = self.inner.init_states();
        if let Some(b) = &self.byzantine {
            for s in &mut states {
                b.strip(&mut s.network);
            }
        }
        states.into_iter().map(|s| self.count_timers(s)).collect()
    }

    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>) {
        self.server_actions(state, actions);
        if let Some(check) = &self.symmetry_check {
            self.verify_symmetry(check, state, actions);
        }
    }

    fn next_state(&self, last: &Self::State, action: Self::Action) -> Option<Self::State> {
        self.step(last, action)
    }

    fn format_action(&self, action: &Self::Action) -> String {
        match action {
            ClusterStep::Actor(action) => self.format_actor_action(action),
            ClusterStep::Split(sides) => {
                format!("the network splits {}", sides_text(*sides, "server "))
            }
            ClusterStep::Heal => "the partition heals".to_string(),
        }
    }

    fn format_step(&self, last: &Self::State, action: Self::Action) -> Option<String>
    where
        Self::State: Debug,
    {
        match action {
            ClusterStep::Actor(action) => self.format_actor_step(last, action),
            ClusterStep::Split(_) | ClusterStep::Heal => {
                let next = self.step(last, action)?;
                let lost: Vec<String> = in_flight(&last.network)
                    .into_iter()
                    .filter(|(env, _)| !in_flight(&next.network).iter().any(|(e, _)| e == env))
                    .map(|(env, _)| {
                        format!(
                            "{:?} from {} to {}",
                            env.msg,
                            self.actor_name(env.src),
                            self.actor_name(env.dst)
                        )
                    })
                    .collect();
                Some(format!(
                    "NETWORK: {:?}\n\nLOST: {lost:#?}",
                    self.partition_of(&next)
                ))
            }
        }
    }

    /// Stateright's sequence diagram of the actor steps; partition steps are not drawn (the
    /// messages they lost simply never arrive).
    fn as_svg(&self, path: Path<Self::State, Self::Action>) -> Option<String> {
        let mut pairs = path.into_vec().into_iter();
        let (mut init, mut action) = pairs.next()?;
        let mut steps = Vec::new();
        for (state, next_action) in pairs {
            match action {
                Some(ClusterStep::Actor(a)) => steps.push((a, state)),
                // The state after a partition step replaces the one before it.
                Some(ClusterStep::Split(_) | ClusterStep::Heal) => match steps.last_mut() {
                    Some((_, s)) => *s = state,
                    None => init = state,
                },
                None => {}
            }
            action = next_action;
        }
        let actions: Vec<_> = steps.iter().map(|(a, _)| a.clone()).collect();
        let recorded = Recorded {
            init: init.clone(),
            steps,
            at: std::cell::Cell::new(0),
        };
        let path = Path::from_actions(&recorded, init, actions.iter())?;
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.clone()
    }

    fn within_boundary(&self, state: &Self::State) -> bool {
        Model::within_boundary(&self.inner, state)
    }
}

impl<A, C, H> ClusterModel<A, C, H>
where
    A: Actor,
    A::Msg: Ord + Rewrite<Id>,
    A::Timer: Ord,
    A::State: Ord + Rewrite<Id> + ServerRole,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Clone + Debug + Hash + PartialEq + Rewrite<Id>,
{
    /// Checks the symmetry reduction ([`server_symmetry`]) against the handlers while the model
    /// is checked: at one state in `every` (counted per checker thread, in the order states are expanded), the successors of the state,
    /// renumbered, must be exactly the successors of its representative. The reduction assumes
    /// that the handlers treat every server alike; an edited handler that does not (a test of
    /// a server's number) would otherwise be checked on representatives only, and could hide.
    /// A broken check is recorded in [`Self::symmetry_broken`], and the report then withholds
    /// "holds".
    pub fn check_symmetry(mut self, every: u64) -> Self {
        assert!(every > 0);
        assert!(
            self.byzantine.is_none(),
            "a Byzantine server is fixed: no symmetry"
        );
        self.symmetry_check = Some(SymmetryCheck {
            plan: server_plan::<A, H>,
            apply: renumber_servers::<A, H>,
            every,
        });
        self
    }
}

/// Checks a model's obsolete-message predicate against its handlers by search, without the
/// reduction: explores the first `max_states` states (BFS) of `model` with discarding turned
/// off and, in each, requires of every message in flight that the predicate calls obsolete
/// that delivering it is a no-op, and that it is still obsolete (or gone) after every possible
/// step. Returns how many such messages were checked, or the first message that breaks the
/// claim. (The model also checks the claim while it runs, but only on the paths it explores;
/// this explores the states the reduction would have merged.)
pub fn verify_obsolete_claims<A, C, H>(
    mut model: ClusterModel<A, C, H>,
    max_states: usize,
) -> Result<usize, String>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + Eq,
{
    use std::collections::{HashSet, VecDeque};
    use std::hash::BuildHasher;
    let Some(discard) = model.obsolete.take() else {
        return Ok(0);
    };
    let claims = |m: &ClusterModel<A, C, H>,
                  state: &ActorModelState<A, H>,
                  env: Envelope<&A::Msg>| { (discard.obsolete)(m, state, env) };
    let hasher = std::hash::RandomState::new();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<ActorModelState<A, H>> = model.init_states().into();
    let mut checked = 0;
    let mut actions = Vec::new();
    while let Some(state) = queue.pop_front() {
        if seen.len() >= max_states {
            break;
        }
        if !seen.insert(hasher.hash_one(&state)) {
            continue;
        }
        let dead: Vec<Envelope<A::Msg>> = in_flight(&state.network)
            .into_iter()
            .map(|(env, _)| env)
            .filter(|env| claims(&model, &state, *env))
            .map(|env| env.to_cloned_msg())
            .collect();
        for env in &dead {
            checked += 1;
            let e = Envelope {
                src: env.src,
                dst: env.dst,
                msg: &env.msg,
            };
            if !state.crashed[usize::from(env.dst)] && !model.delivery_is_no_op(&state, e) {
                return Err(format!("delivering {env:?} is not a no-op"));
            }
        }
        model.actions(&state, &mut actions);
        for action in actions.drain(..) {
            let Some(next) = model.next_state(&state, action) else {
                continue;
            };
            for env in &dead {
                let e = Envelope {
                    src: env.src,
                    dst: env.dst,
                    msg: &env.msg,
                };
                let still_there = in_flight(&next.network).iter().any(|(f, _)| *f == e);
                if still_there && !claims(&model, &next, e) {
                    return Err(format!("{env:?} became useful again"));
                }
            }
            queue.push_back(next);
        }
    }
    Ok(checked)
}

/// Whether an actor's state is a server's (servers are interchangeable under symmetry) or a
/// client's (clients stay where they are).
pub trait ServerRole {
    /// True for a server's state.
    fn is_server(&self) -> bool;
}

/// Symmetry reduction over servers (for `Checker::symmetry_fn`, DFS only): the representative of
/// a state's class, with servers renumbered so that their states are sorted. Clients keep their
/// numbers. Every server identity in the state must be rewritten through the plan: `Id`s by
/// `Rewrite<Id>`, server indices kept as small integers by [`rewrite_server_index`], bit sets by
/// [`ServerSet`]'s `Rewrite`. Sound only when all servers run the same actor configuration.
pub fn server_symmetry<A, H>(state: &ActorModelState<A, H>) -> ActorModelState<A, H>
where
    A: Actor,
    A::Msg: Rewrite<Id>,
    A::State: Ord + Rewrite<Id> + ServerRole,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Clone + Rewrite<Id>,
{
    match server_plan(state) {
        None => state.clone(),
        Some(plan) => renumber_servers(state, &plan),
    }
}

/// The renumbering that takes `state` to its representative under [`server_symmetry`]: servers
/// first, ordered by state, then clients in their own order. `None` if it changes nothing.
pub fn server_plan<A, H>(state: &ActorModelState<A, H>) -> Option<ServerPlan>
where
    A: Actor,
    A::State: Ord + ServerRole,
{
    let keys: Vec<(bool, Option<&A::State>, usize)> = state
        .actor_states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.is_server() {
                (false, Some(&**s), 0)
            } else {
                (true, None, i)
            }
        })
        .collect();
    let plan = RewritePlan::<Id, _>::from_values_to_sort(&keys);
    if (0..keys.len()).all(|i| plan.rewrite(&Id::from(i)) == Id::from(i)) {
        None
    } else {
        Some(plan)
    }
}

/// `state` with every server identity renumbered by `plan`.
pub fn renumber_servers<A, H>(
    state: &ActorModelState<A, H>,
    plan: &ServerPlan,
) -> ActorModelState<A, H>
where
    A: Actor,
    A::Msg: Rewrite<Id>,
    A::State: Rewrite<Id>,
    A::Random: Rewrite<Id>,
    A::Storage: Rewrite<Id>,
    H: Clone + Rewrite<Id>,
{
    ActorModelState {
        actor_states: plan.reindex(&state.actor_states),
        network: state.network.rewrite(plan),
        timers_set: plan.reindex(&state.timers_set),
        random_choices: plan.reindex(&state.random_choices),
        crashed: plan.reindex(&state.crashed),
        actor_storages: plan.reindex(&state.actor_storages),
        history: state.history.rewrite(plan),
    }
}

/// A server index kept as a small integer (a ballot's proposer, a client's target), renumbered
/// by a symmetry plan.
pub fn rewrite_server_index<S>(index: u8, plan: &RewritePlan<Id, S>) -> u8 {
    usize::from(plan.rewrite(&Id::from(index as usize))) as u8
}

/// The commands of `out` but its saves, in order: a mutant's step that saves nothing.
pub fn without_saves<A: Actor>(out: &Out<A>) -> Out<A>
where
    A::Msg: Clone,
    A::Timer: Clone,
{
    let mut kept = Out::new();
    for command in out.iter() {
        match command {
            Command::CancelTimer(t) => kept.cancel_timer(t.clone()),
            Command::SetTimer(t, d) => kept.set_timer(t.clone(), d.clone()),
            Command::Send(dst, msg) => kept.send(*dst, msg.clone()),
            Command::ChooseRandom(..) => {
                unreachable!("no protocol here draws randoms")
            }
            Command::Save(_) => {
                // What the mutant leaves out.
            }
        }
    }
    kept
}

/// The messages in flight on `network`, each distinct envelope with its number of copies (1 on
/// a duplicating network, where a message stays deliverable). Stateright 0.31's
/// `Network::iter_all` cannot be used for this: on an ordered network it never ends (its cursor
/// does not advance), and on an unordered one it yields a message sent twice three times (its
/// repeat counter starts at the full count after the first yield).
pub fn in_flight<Msg: Clone + Eq + Hash + Ord>(
    network: &Network<Msg>,
) -> Vec<(Envelope<&Msg>, usize)> {
    match network {
        Network::UnorderedNonDuplicating(multiset) => multiset
            .iter()
            .map(|(env, n)| {
                let env = Envelope {
                    src: env.src,
                    dst: env.dst,
                    msg: &env.msg,
                };
                (env, *n)
            })
            .collect(),
        Network::UnorderedDuplicating(..) => network.iter_deliverable().map(|e| (e, 1)).collect(),
        Network::Ordered(channels) => channels
            .iter()
            .flat_map(|(&(src, dst), queue)| {
                queue.iter().map(move |msg| (Envelope { src, dst, msg }, 1))
            })
            .collect(),
    }
}

/// Puts `copies` copies of `env` back in flight on an unordered network.
fn put_back<Msg: Clone + Eq + Hash + Ord>(
    network: &mut Network<Msg>,
    env: Envelope<Msg>,
    copies: usize,
) {
    match network {
        Network::UnorderedNonDuplicating(in_flight) => {
            *in_flight.entry(env).or_insert(0) += copies;
        }
        Network::UnorderedDuplicating(in_flight, _) => {
            in_flight.insert(env);
        }
        Network::Ordered(_) => unreachable!("ordered networks discard nothing"),
    }
}

/// A lossy setting for Stateright.
pub fn lossy(lossy: bool) -> LossyNetwork {
    if lossy {
        LossyNetwork::Yes
    } else {
        LossyNetwork::No
    }
}

/// A set of server indices (a quorum being collected), as a bit set.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct ServerSet(u16);

impl ServerSet {
    /// Adds server `i`.
    pub fn insert(&mut self, i: usize) {
        assert!(i < MAX_SERVERS);
        self.0 |= 1 << i;
    }

    /// Whether server `i` is in the set.
    pub fn contains(self, i: usize) -> bool {
        i < MAX_SERVERS && self.0 & (1 << i) != 0
    }

    /// How many servers are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Servers `0..n`.
    pub fn first(n: usize) -> Self {
        let mut s = ServerSet::default();
        for i in 0..n {
            s.insert(i);
        }
        s
    }

    /// Removes server `i`.
    pub fn remove(&mut self, i: usize) {
        if i < MAX_SERVERS {
            self.0 &= !(1 << i);
        }
    }

    /// The set with server `i` added if it was absent, removed if it was present.
    pub fn toggled(mut self, i: usize) -> Self {
        if self.contains(i) {
            self.remove(i);
        } else {
            self.insert(i);
        }
        self
    }

    /// The servers in the set, in index order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..MAX_SERVERS).filter(move |&i| self.contains(i))
    }
}

impl Rewrite<Id> for ServerSet {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut out = ServerSet::default();
        for i in (0..MAX_SERVERS).filter(|&i| self.contains(i)) {
            out.insert(rewrite_server_index(i as u8, plan) as usize);
        }
        out
    }
}

/// A leader's heartbeats without a bound ([`crate::multi_paxos::MpServer::heartbeats`],
/// [`crate::raft::RaftServer::heartbeats`]): they never stop (a real run). A model bounds them
/// (`--heartbeats N`), since the checker may fire a timer at any moment.
pub const UNBOUNDED: u32 = u32::MAX;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `in_flight` counts copies right on every kind of network, where Stateright's
    /// `iter_all` yields a message sent twice three times (the workaround's reason; if an
    /// upgrade fixes it, this test says so).
    #[test]
    fn in_flight_counts_each_message_once_per_copy() {
        let env = |msg: u8| Envelope {
            src: Id::from(0),
            dst: Id::from(1),
            msg,
        };
        let sent = [env(7), env(7), env(8)];
        let counts = |network: &Network<u8>| {
            let mut v: Vec<(u8, usize)> = in_flight(network)
                .into_iter()
                .map(|(e, n)| (*e.msg, n))
                .collect();
            v.sort();
            v
        };
        let unordered = Network::new_unordered_nonduplicating(sent);
        assert_eq!(counts(&unordered), vec![(7, 2), (8, 1)]);
        assert_eq!(unordered.iter_all().filter(|e| *e.msg == 7).count(), 3);
        let duplicating = Network::new_unordered_duplicating(sent);
        assert_eq!(counts(&duplicating), vec![(7, 1), (8, 1)]);
        let ordered = Network::new_ordered(sent);
        assert_eq!(counts(&ordered), vec![(7, 1), (7, 1), (8, 1)]);
    }

    #[test]
    fn network_kinds_round_trip_through_their_flag_values() {
        for k in NetworkKind::ALL {
            assert_eq!(k.as_str().parse::<NetworkKind>(), Ok(k));
        }
        assert!("fifo".parse::<NetworkKind>().unwrap_err().contains("fifo"));
    }

    #[test]
    fn validation_names_the_flag() {
        let bad = ClusterConfig {
            servers: 0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("--servers"));
        let bad = ClusterConfig {
            crashes: 4,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("--crashes"));
        let bad = ClusterConfig {
            byzantine: 2,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("--byzantine 2"));
        let bad = ClusterConfig {
            servers: 1,
            byzantine: 1,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("--byzantine 1"));
        assert!(ClusterConfig::default().validate().is_ok());
    }

    #[test]
    fn server_sets_and_indices_follow_the_renumbering() {
        // Sorting [C, A, B] renumbers 0→2, 1→0, 2→1.
        let plan = RewritePlan::<Id, _>::from_values_to_sort(&['C', 'A', 'B']);
        assert_eq!(rewrite_server_index(0, &plan), 2);
        assert_eq!(rewrite_server_index(1, &plan), 0);
        let mut set = ServerSet::default();
        set.insert(0);
        set.insert(2);
        let mut expected = ServerSet::default();
        expected.insert(2);
        expected.insert(1);
        assert_eq!(set.rewrite(&plan), expected);
    }

    /// A toy protocol for the symmetry test: every server greets every other server once and
    /// remembers, as a bit set, whom it heard from; a client greets server 0 (so states differ).
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Greeter {
        servers: usize,
        client: bool,
        /// A handler mistake that treats one server differently: server 0 ignores greetings
        /// from the server numbered just above it.
        deaf_zero: bool,
    }

    #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    enum GreeterState {
        Server {
            heard: ServerSet,
            client_heard: bool,
        },
        Client,
    }

    impl ServerRole for GreeterState {
        fn is_server(&self) -> bool {
            matches!(self, GreeterState::Server { .. })
        }
    }

    impl Rewrite<Id> for GreeterState {
        fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
            match self {
                GreeterState::Server {
                    heard,
                    client_heard,
                } => GreeterState::Server {
                    heard: heard.rewrite(plan),
                    client_heard: *client_heard,
                },
                GreeterState::Client => GreeterState::Client,
            }
        }
    }

    impl Actor for Greeter {
        type Msg = ();
        type State = GreeterState;
        type Timer = ();
        type Random = ();
        type Storage = ();

        fn on_start(
            &self,
            id: Id,
            _: &Option<()>,
            o: &mut stateright::actor::Out<Self>,
        ) -> GreeterState {
            let me = usize::from(id);
            if self.client {
                o.send(Id::from(0), ());
                return GreeterState::Client;
            }
            for peer in (0..self.servers).filter(|&p| p != me) {
                o.send(Id::from(peer), ());
            }
            GreeterState::Server {
                heard: ServerSet::default(),
                client_heard: false,
            }
        }

        fn on_msg(
            &self,
            id: Id,
            state: &mut std::borrow::Cow<GreeterState>,
            src: Id,
            _: (),
            _: &mut stateright::actor::Out<Self>,
        ) {
            if self.deaf_zero && usize::from(id) == 0 && usize::from(src) == 1 {
                return;
            }
            if let GreeterState::Server {
                heard,
                client_heard,
            } = state.to_mut()
            {
                if usize::from(src) < self.servers {
                    heard.insert(usize::from(src));
                } else {
                    *client_heard = true;
                }
            }
        }
    }

    fn greeters(n: usize) -> ClusterModel<Greeter, (), Partition> {
        greeters_with(n, false)
    }

    fn greeters_with(n: usize, deaf_zero: bool) -> ClusterModel<Greeter, (), Partition> {
        let inner = ActorModel::new((), Partition::default())
            .actors((0..n).map(|_| Greeter {
                servers: n,
                client: false,
                deaf_zero,
            }))
            .actor(Greeter {
                servers: n,
                client: true,
                deaf_zero,
            })
            .init_network(Network::new_unordered_nonduplicating([]));
        ClusterModel::new(inner, n).always("no server hears from itself", |m, s| {
            (0..m.servers).all(|i| match &*s.actor_states[i] {
                GreeterState::Server { heard, .. } => !heard.contains(i),
                GreeterState::Client => false,
            })
        })
    }

    #[test]
    fn server_symmetry_merges_renumbered_states_and_keeps_clients_in_place() {
        use stateright::Checker;
        let plain = greeters(3).checker().spawn_dfs().join();
        let reduced = greeters(3)
            .checker()
            .symmetry_fn(server_symmetry)
            .spawn_dfs()
            .join();
        plain.assert_properties();
        reduced.assert_properties();
        // 3 servers × (2 greetings + client bit for server 0): 2^2·2^2·2^2·2 = 128 states;
        // with servers interchangeable, fewer.
        assert_eq!(plain.unique_state_count(), 128);
        assert!(
            reduced.unique_state_count() < plain.unique_state_count(),
            "{} vs {}",
            reduced.unique_state_count(),
            plain.unique_state_count()
        );
        // The client (actor 3) keeps its number: the representative of any state still has it.
        let init = &greeters(3).init_states()[0];
        let rep = server_symmetry(init);
        assert_eq!(*rep.actor_states[3], GreeterState::Client);
    }

    /// The symmetry check passes symmetric handlers, checking every state, and catches a
    /// handler that treats one server differently, however few states it samples.
    #[test]
    fn symmetry_check_catches_a_handler_that_treats_one_server_differently() {
        use stateright::Checker;
        let fair = greeters_with(3, false).check_symmetry(1);
        let broken = Arc::clone(&fair.symmetry_broken);
        let run = fair
            .checker()
            .symmetry_fn(server_symmetry)
            .spawn_dfs()
            .join();
        run.assert_properties();
        assert_eq!(*broken.lock().unwrap(), None);

        for every in [1, 4] {
            let unfair = greeters_with(3, true).check_symmetry(every);
            let broken = Arc::clone(&unfair.symmetry_broken);
            unfair
                .checker()
                .symmetry_fn(server_symmetry)
                .spawn_dfs()
                .join();
            let found = broken.lock().unwrap().clone();
            assert!(
                found.as_deref().is_some_and(|m| m.contains("renumbered")),
                "every {every}: {found:?}"
            );
        }
    }

    #[test]
    fn bipartitions_are_every_split_into_two_nonempty_sides_once() {
        for n in 2..=6 {
            let splits = bipartitions(n);
            assert_eq!(splits.len(), (1 << (n - 1)) - 1, "{n} servers");
            let distinct: std::collections::BTreeSet<_> = splits.iter().collect();
            assert_eq!(distinct.len(), splits.len());
            for [a, b] in &splits {
                assert!(!a.is_empty() && !b.is_empty() && a < b);
                assert_eq!(a.len() + b.len(), n);
                assert!((0..n).all(|i| a.contains(i) != b.contains(i)));
            }
        }
    }

    #[test]
    fn a_split_follows_the_renumbering_and_keeps_one_form() {
        let cut = |side: &[usize]| {
            let mut p = Partition::default();
            let (mut a, mut b) = (ServerSet::default(), ServerSet::default());
            for i in 0..3 {
                if side.contains(&i) {
                    a.insert(i)
                } else {
                    b.insert(i)
                }
            }
            let mut sides = [a, b];
            sides.sort();
            p.sides = Some(sides);
            p.splits = 1;
            p
        };
        // Sorting [C, A, B] renumbers 0→2, 1→0, 2→1.
        let plan = RewritePlan::<Id, _>::from_values_to_sort(&['C', 'A', 'B']);
        assert_eq!(cut(&[0]).rewrite(&plan), cut(&[2]));
        assert_eq!(cut(&[1, 2]).rewrite(&plan), cut(&[0, 1]));
        assert_eq!(cut(&[1, 2]), cut(&[0]));
        assert!(cut(&[0]).separates(Id::from(0), Id::from(2)));
        assert!(!cut(&[0]).separates(Id::from(1), Id::from(2)));
        // Clients (actor 3) are on both sides.
        assert!(!cut(&[0]).separates(Id::from(3), Id::from(0)));
        assert_eq!(format!("{:?}", cut(&[1])), "split {0, 2} | {1} (1 split)");
        assert_eq!(format!("{:?}", Partition::default()), "whole (0 splits)");
    }

    /// A toy protocol for partitions: server 0 sends `1` to server 1 when it starts and `2`
    /// when its timer fires; server 1 keeps what it received, in order.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    struct Sequencer;

    impl Actor for Sequencer {
        type Msg = u8;
        type State = Vec<u8>;
        type Timer = ();
        type Random = ();
        type Storage = ();

        fn on_start(&self, id: Id, _: &Option<()>, o: &mut Out<Self>) -> Vec<u8> {
            if usize::from(id) == 0 {
                o.send(Id::from(1), 1);
                o.set_timer((), stateright::actor::model_timeout());
            }
            Vec::new()
        }

        fn on_msg(&self, _: Id, state: &mut Cow<Vec<u8>>, _: Id, msg: u8, _: &mut Out<Self>) {
            state.to_mut().push(msg);
        }

        fn on_timeout(&self, _: Id, _: &mut Cow<Vec<u8>>, _: &(), o: &mut Out<Self>) {
            o.send(Id::from(1), 2);
        }
    }

    fn sequencer(
        network: NetworkKind,
        partitions: usize,
    ) -> ClusterModel<Sequencer, (), Partition> {
        let inner = ActorModel::new((), Partition::default())
            .actors([Sequencer, Sequencer])
            .init_network(network.network());
        ClusterModel::new(inner, 2)
            .partitions(partitions)
            .always("server 1 receives in order, without a gap", |_, s| {
                [&[][..], &[1], &[1, 2]].contains(&s.actor_states[1].as_slice())
            })
            .sometimes("server 1 receives both", |_, s| {
                s.actor_states[1].len() == 2
            })
    }

    /// What a partition adds, on the toy protocol: on an ordered network it makes a gap (the
    /// first message lost, the second delivered after the heal), which an ordered network
    /// without loss never shows; on an unordered network the same state is reachable without
    /// it (the second message overtakes the first, which is merely late).
    #[test]
    fn a_partition_makes_a_gap_in_an_ordered_channel() {
        use stateright::Checker;
        let run = |network, partitions| {
            let checker = sequencer(network, partitions).checker().spawn_bfs().join();
            (
                checker.unique_state_count(),
                checker
                    .discovery("server 1 receives in order, without a gap")
                    .map(|p| {
                        let m = sequencer(network, partitions);
                        p.into_actions()
                            .iter()
                            .map(|a| m.format_action(a))
                            .collect::<Vec<_>>()
                    }),
            )
        };
        let (_, ordered) = run(NetworkKind::Ordered, 0);
        assert_eq!(ordered, None);
        let (_, unordered) = run(NetworkKind::Unordered, 0);
        assert!(unordered.is_some());
        let (_, gap) = run(NetworkKind::Ordered, 1);
        let gap = gap.expect("a gap");
        assert!(
            gap.contains(&"the network splits {server 0} | {server 1}".to_string())
                && gap.contains(&"the partition heals".to_string())
                && gap.last().map(String::as_str) == Some("server 1 receives 2 from server 0"),
            "{gap:?}"
        );
    }

    /// Step by step: a split loses what is in flight across it and what is sent while it
    /// lasts; after the heal, messages cross again; one split per run here.
    #[test]
    fn a_split_loses_messages_across_it_until_it_heals() {
        let m = sequencer(NetworkKind::Unordered, 1);
        let actions = |s: &ActorModelState<Sequencer, Partition>| {
            let mut v = Vec::new();
            m.actions(s, &mut v);
            v
        };
        let init = m.init_states().remove(0);
        assert_eq!(in_flight(&init.network).len(), 1);
        let split = ClusterStep::Split(bipartitions(2)[0]);
        assert!(actions(&init).contains(&split));
        let cut = m.next_state(&init, split.clone()).unwrap();
        assert!(
            in_flight(&cut.network).is_empty(),
            "the 1 in flight is lost"
        );
        assert_eq!(cut.history.splits(), 1);
        assert!(!actions(&cut).contains(&split) && actions(&cut).contains(&ClusterStep::Heal));
        let fire = ClusterStep::Actor(ActorModelAction::Timeout(Id::from(0), ()));
        let sent = m.next_state(&cut, fire.clone()).unwrap();
        assert!(
            in_flight(&sent.network).is_empty(),
            "the 2 sent across is lost"
        );
        let healed = m.next_state(&cut, ClusterStep::Heal).unwrap();
        assert_eq!(healed.history.sides(), None);
        assert!(!actions(&healed).contains(&split), "one split per run");
        let after = m.next_state(&healed, fire).unwrap();
        assert_eq!(
            in_flight(&after.network).len(),
            1,
            "the 2 sent after the heal is not"
        );
        assert_eq!(m.format_action(&ClusterStep::Heal), "the partition heals");
        // Once the 2 is delivered, nothing can happen any more: the model is quiescent.
        let deliver = ClusterStep::Actor(ActorModelAction::Deliver {
            src: Id::from(0),
            dst: Id::from(1),
            msg: 2,
        });
        assert!(!m.quiescent(&after));
        assert!(m.quiescent(&m.next_state(&after, deliver).unwrap()));
    }

    /// A history whose renumbering forgets the split: the symmetry check finds that the
    /// successors of a state no longer match its representative's.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    struct Forgetful(Partition);

    impl Partitioned for Forgetful {
        fn partition(&self) -> &Partition {
            &self.0
        }
        fn partition_mut(&mut self) -> &mut Partition {
            &mut self.0
        }
    }

    impl Rewrite<Id> for Forgetful {
        fn rewrite<S>(&self, _: &RewritePlan<Id, S>) -> Self {
            self.clone()
        }
    }

    fn partitioned_greeters<H: Partitioned + Default + Clone + Debug + Hash + PartialEq>()
    -> ClusterModel<Greeter, (), H> {
        let inner = ActorModel::new((), H::default())
            .actors((0..3).map(|_| Greeter {
                servers: 3,
                client: false,
                deaf_zero: false,
            }))
            .actor(Greeter {
                servers: 3,
                client: true,
                deaf_zero: false,
            })
            .init_network(Network::new_unordered_nonduplicating([]));
        // A property, so that the checker explores (it stops at once without one).
        ClusterModel::new(inner, 3)
            .partitions(1)
            .always("no server hears from itself", |m, s| {
                (0..m.servers).all(|i| match &*s.actor_states[i] {
                    GreeterState::Server { heard, .. } => !heard.contains(i),
                    GreeterState::Client => false,
                })
            })
    }

    /// Symmetry reduction with partitions: the cut is renumbered with the servers, so the
    /// symmetry check passes and the reduction still merges states; a history that does not
    /// renumber it is caught.
    #[test]
    fn symmetry_reduction_renumbers_the_cut() {
        use stateright::Checker;
        let fair = partitioned_greeters::<Partition>().check_symmetry(1);
        let broken = Arc::clone(&fair.symmetry_broken);
        let reduced = fair
            .checker()
            .symmetry_fn(server_symmetry)
            .spawn_dfs()
            .join();
        assert_eq!(*broken.lock().unwrap(), None);
        let plain = partitioned_greeters::<Partition>()
            .checker()
            .spawn_dfs()
            .join();
        assert!(
            reduced.unique_state_count() < plain.unique_state_count(),
            "{} vs {}",
            reduced.unique_state_count(),
            plain.unique_state_count()
        );
        let forgetful = partitioned_greeters::<Forgetful>().check_symmetry(1);
        let broken = Arc::clone(&forgetful.symmetry_broken);
        forgetful
            .checker()
            .symmetry_fn(server_symmetry)
            .spawn_dfs()
            .join();
        let found = broken.lock().unwrap().clone();
        assert!(
            found.as_deref().is_some_and(|m| m.contains("renumbered")),
            "{found:?}"
        );
    }

    proptest! {
        #[test]
        fn server_set_counts_distinct_members(ids in proptest::collection::vec(0usize..MAX_SERVERS, 0..40)) {
            let mut s = ServerSet::default();
            for &i in &ids { s.insert(i); }
            let distinct: std::collections::BTreeSet<_> = ids.iter().copied().collect();
            prop_assert_eq!(s.len(), distinct.len());
            for i in 0..MAX_SERVERS { prop_assert_eq!(s.contains(i), distinct.contains(&i)); }
        }
    }
}
