//! Byzantine faults (`--byzantine 1`): one server that ignores the protocol and, at any moment,
//! may send any message the protocol defines, with field values from the model's bounded
//! domain, to any other actor.
//!
//! How the model represents it ([`crate::cluster::ClusterModel::byzantine`]):
//! - The Byzantine server is the **last** server, fixed (so the servers are no longer
//!   interchangeable: symmetry reduction is refused with it). Its honest actor never runs: no
//!   message is delivered to it (the messages sent to it are removed from the network at once),
//!   its timers never fire, it never crashes. Its state therefore stays the initial one, and the
//!   properties, which the models evaluate over the honest servers only, see nothing of it.
//! - A **forgery** is a step "server *d* receives *m* from the Byzantine server", for every
//!   `(d, m)` of the protocol's domain ([`Byzantine::forgeries`], a function of the model's
//!   configuration: every ballot, term, index and value within the bounds). The message is
//!   delivered in the step it is sent: a liar that knows everything and is bound by nothing
//!   gains nothing by sending early (sending *m* at one moment and having the network deliver
//!   it at a later one is the same run as forging *m* at that later moment), and the model
//!   does not grow with forged messages in flight. The liar is omniscient in this sense: it
//!   may send a message whose content it could not know, which only makes it stronger.
//! - At most [`Byzantine::max_sends`] forgeries in a run (`--byzantine-sends`), counted in the
//!   model's history: the bound that keeps the check finite and short.
//! - A forgery that its receiver ignores (a no-op) is not a step.

use stateright::actor::{Actor, ActorModelAction, ActorModelState, Envelope, Id, Network};
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

/// The default bound on forged messages in a run (`--byzantine-sends`): enough for the liar to
/// tell two honest servers two different things.
pub const DEFAULT_SENDS: usize = 2;

/// [`DEFAULT_SENDS`], for serde's defaults.
pub fn default_sends() -> usize {
    DEFAULT_SENDS
}

/// The kind of a message: its variant's name (`Prepare` for `Prepare { .. }`), read from its
/// `Debug` form. A protocol may split a variant into finer kinds (see [`restrict`]).
pub fn variant(msg: &impl Debug) -> String {
    format!("{msg:?}")
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The forgeries of the kinds named in `kinds` (every one if it is empty), each message's kind
/// given by `kind_of`; or an error naming an unknown kind and listing the protocol's.
pub fn restrict<M>(
    all: Vec<(Id, M)>,
    kinds: &[String],
    kind_of: impl Fn(&M) -> String,
) -> Result<Vec<(Id, M)>, String> {
    if kinds.is_empty() {
        return Ok(all);
    }
    let mut known: Vec<String> = Vec::new();
    for (_, m) in &all {
        let k = kind_of(m);
        if !known.contains(&k) {
            known.push(k);
        }
    }
    for k in kinds {
        if !known.contains(k) {
            return Err(format!(
                "--byzantine-forge: '{k}' is not a kind of message this protocol's Byzantine \
                 server can send; it can send {}",
                known.join(", ")
            ));
        }
    }
    Ok(all
        .into_iter()
        .filter(|(_, m)| kinds.contains(&kind_of(m)))
        .collect())
}

/// A Byzantine server in a model (see the module's documentation).
pub struct Byzantine<A: Actor, H> {
    /// The Byzantine server's index: the last server.
    pub server: usize,
    /// At most this many forged messages in a run.
    pub max_sends: usize,
    /// Every message it may send, with its receiver: the protocol's bounded domain. Messages
    /// that a receiver ignores whatever its state (a Prepare to a client) may be left out.
    pub forgeries: Arc<Vec<(Id, A::Msg)>>,
    /// How many forged messages were sent on the path to a state (kept in the history).
    pub sent: fn(&H) -> usize,
    /// Counts one more forged message in the history.
    pub count: fn(&mut H),
}

impl<A: Actor, H> Clone for Byzantine<A, H> {
    fn clone(&self) -> Self {
        Self {
            server: self.server,
            max_sends: self.max_sends,
            forgeries: Arc::clone(&self.forgeries),
            sent: self.sent,
            count: self.count,
        }
    }
}

impl<A: Actor, H> Byzantine<A, H>
where
    A::Msg: Clone + Eq + Hash + Ord,
{
    /// Whether `action` is a forgery (a delivery from the Byzantine server, which sends nothing
    /// through the network).
    pub fn is_forgery(&self, action: &ActorModelAction<A::Msg, A::Timer, A::Random>) -> bool {
        matches!(action, ActorModelAction::Deliver { src, .. } if usize::from(*src) == self.server)
    }

    /// Whether `action` is a step of the Byzantine server's own (honest) actor, which never runs:
    /// a delivery to it, its timer, its crash or recovery, its random choice.
    pub fn silenced(&self, action: &ActorModelAction<A::Msg, A::Timer, A::Random>) -> bool {
        let me = Id::from(self.server);
        match action {
            ActorModelAction::Deliver { dst, .. } => *dst == me,
            ActorModelAction::Drop(env) => env.dst == me || env.src == me,
            ActorModelAction::Timeout(id, _)
            | ActorModelAction::Crash(id)
            | ActorModelAction::Recover(id) => *id == me,
            ActorModelAction::SelectRandom { actor, .. } => *actor == me,
        }
    }

    /// The forgeries possible in `state`: none once the budget is spent, none to a crashed
    /// actor.
    pub fn actions<HH>(
        &self,
        state: &ActorModelState<A, HH>,
        sent: usize,
        out: &mut Vec<ActorModelAction<A::Msg, A::Timer, A::Random>>,
    ) {
        if sent >= self.max_sends {
            return;
        }
        let src = Id::from(self.server);
        for (dst, msg) in self.forgeries.iter() {
            if state
                .crashed
                .get(usize::from(*dst))
                .copied()
                .unwrap_or(true)
            {
                continue;
            }
            out.push(ActorModelAction::Deliver {
                src,
                dst: *dst,
                msg: msg.clone(),
            });
        }
    }

    /// Removes from `network` every message to or from the Byzantine server: what the honest
    /// servers send it is received and ignored at once, and a forged message was delivered in
    /// the step that sent it.
    pub fn strip(&self, network: &mut Network<A::Msg>) {
        let me = Id::from(self.server);
        let keep = |src: Id, dst: Id| src != me && dst != me;
        match network {
            Network::UnorderedNonDuplicating(in_flight) => {
                in_flight.retain(|env, _| keep(env.src, env.dst));
            }
            Network::UnorderedDuplicating(in_flight, _) => {
                in_flight.retain(|env| keep(env.src, env.dst));
            }
            Network::Ordered(channels) => {
                channels.retain(|(src, dst), _| keep(*src, *dst));
            }
        }
    }

    /// Puts the forged `env` in flight on `network`, for Stateright to deliver it.
    pub fn put_in_flight(&self, network: &mut Network<A::Msg>, env: Envelope<A::Msg>) {
        match network {
            Network::UnorderedNonDuplicating(in_flight) => {
                *in_flight.entry(env).or_insert(0) += 1;
            }
            Network::UnorderedDuplicating(in_flight, _) => {
                in_flight.insert(env);
            }
            Network::Ordered(channels) => {
                channels
                    .entry((env.src, env.dst))
                    .or_default()
                    .push_back(env.msg);
            }
        }
    }
}

/// The highest read confirmation round a leader of the model can start: one per get (each
/// attempt of it, with retries), since a round starts only when a read waits for one; 0 when
/// gets go through the log (`--log-reads`).
pub fn read_round_bound<K, V>(
    ops: &[Vec<ballot_properties::kv::KvOp<K, V>>],
    log_reads: bool,
    retries: u8,
) -> u64 {
    if log_reads {
        return 0;
    }
    let gets = ops
        .iter()
        .flatten()
        .filter(|op| matches!(op, ballot_properties::kv::KvOp::Get(_)))
        .count() as u64;
    gets * (1 + u64::from(retries))
}
