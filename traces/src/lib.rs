//! Counterexamples and witnesses: a Stateright path of a [`ClusterModel`] turned into numbered,
//! readable steps (who received what, which fields changed, what was saved, sent, or discarded as
//! obsolete), saved and loaded as JSON, and drawn as sequence diagrams ([`render`]).
//!
//! A saved [`Trace`] also holds the command that produced it, the complete model flags and
//! Stateright's action-index path, so [`replay`] can rebuild the exact path and
//! `ballot explore --trace FILE` can reopen it in the Explorer.
#![deny(missing_docs)]

pub mod diff;
pub mod names;
pub mod render;

use ballot_models::cluster::{ClusterAction, ClusterModel, ClusterStep, in_flight};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModelAction, ActorModelState, Command, Id, Out};
use stateright::{Model, Path};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Debug, Display};
use std::hash::Hash;

/// The version of the JSON layout written by [`Trace::save`].
pub const FORMAT: u32 = 2;

/// What a trace shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A path to a state that violates an "always" property.
    #[default]
    Counterexample,
    /// A path to a state that satisfies a "sometimes" property.
    Witness,
}

impl Kind {
    /// "Counterexample to" or "Witness of".
    pub fn heading(self) -> &'static str {
        match self {
            Kind::Counterexample => "Counterexample to",
            Kind::Witness => "Witness of",
        }
    }
}

/// What one step did, by actor index (servers first, then clients; see [`Trace::actors`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Event {
    /// `to` received `msg` from `from`.
    Deliver {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
        /// The message.
        msg: String,
    },
    /// The network lost `msg` on its way from `from` to `to`.
    Lose {
        /// The sender.
        from: usize,
        /// The receiver.
        to: usize,
        /// The message.
        msg: String,
    },
    /// A timer of `actor` fired.
    Timer {
        /// The actor.
        actor: usize,
        /// The timer.
        timer: String,
    },
    /// `actor` crashed (and, with `restart`, at once restarted from what it saved).
    Crash {
        /// The actor.
        actor: usize,
        /// Whether it restarted at once.
        restart: bool,
    },
    /// `actor` recovered from what it saved.
    Recover {
        /// The actor.
        actor: usize,
    },
    /// `actor` made a random choice.
    Choose {
        /// The actor.
        actor: usize,
        /// The choice.
        what: String,
    },
    /// The network split the servers into two sides (server indices): messages between them
    /// are lost until it heals.
    Partition {
        /// The two sides, the one holding server 0 first.
        sides: [Vec<usize>; 2],
    },
    /// The partition healed.
    Heal,
    /// Not recorded (a trace saved before events were).
    #[default]
    Unknown,
}

/// A message a step sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The receiver's actor index.
    pub to: usize,
    /// The message.
    pub msg: String,
    /// The model removed it at once as obsolete: its receiver would ignore it, now and
    /// forever (see `ClusterModel::discard_obsolete`), so it never appears in flight.
    pub discarded: bool,
    /// The network lost it at once: its sender and receiver are on different sides of a
    /// partition (see `ClusterModel::partitions`).
    #[serde(default)]
    pub cut: bool,
}

/// One step of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based step number.
    pub number: usize,
    /// What happened, e.g. "server 1 receives Prepare { ballot: b1.0 } from server 0".
    pub action: String,
    /// The actor that acted, e.g. "server 1".
    pub actor: String,
    /// The actor's fields that changed, one per line: `path: old → new`.
    pub changes: Vec<String>,
    /// Whether the actor saved durable state in this step.
    pub saved: bool,
    /// Messages the step sent, as "to server 2: Accept { .. }"; one discarded at once as
    /// obsolete ends with " (discarded: obsolete)".
    pub sent: Vec<String>,
    /// The step as data, for diagrams.
    #[serde(default)]
    pub event: Event,
    /// The messages the step sent, as data.
    #[serde(default)]
    pub sends: Vec<Sent>,
}

/// A violated property's counterexample, or a "sometimes" property's witness, with the path
/// that shows it and everything needed to reproduce and reopen it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    /// The JSON layout version ([`FORMAT`]; files without it are version 1).
    #[serde(default = "format_v1")]
    pub format: u32,
    /// Counterexample or witness.
    #[serde(default)]
    pub kind: Kind,
    /// The protocol, e.g. "paxos".
    pub protocol: String,
    /// The property, e.g. "Agreement".
    pub property: String,
    /// Why the last state violates (or satisfies) the property, when the protocol can say.
    pub explanation: Option<String>,
    /// The `ballot` arguments of the run that found it.
    pub command: Vec<String>,
    /// Every model flag with its value (defaults spelled out), the bug included: the model is
    /// `ballot check <protocol> <model_flags…>`, whatever the defaults become.
    #[serde(default)]
    pub model_flags: Vec<String>,
    /// The model configuration in words.
    #[serde(default)]
    pub model: String,
    /// A short hash of `model_flags`, part of the file name.
    #[serde(default)]
    pub flags_hash: String,
    /// The actors' names by index: servers, then clients.
    #[serde(default)]
    pub actors: Vec<String>,
    /// The steps from the initial state.
    pub steps: Vec<Step>,
    /// Every actor's state at the end, in one line each.
    pub final_states: Vec<String>,
    /// Stateright's action-index path ("0/3/1/…"), for [`replay`] and the Explorer.
    pub action_path: String,
}

/// The name under which counterexamples were saved before witnesses existed.
pub type Counterexample = Trace;

fn format_v1() -> u32 {
    1
}

impl Trace {
    /// Builds the readable form of `path`.
    pub fn from_path<A, C, H>(
        model: &ClusterModel<A, C, H>,
        path: &Path<ActorModelState<A, H>, ClusterAction<A>>,
    ) -> Self
    where
        A: Actor,
        A::Msg: Ord,
        A::Timer: Ord,
        A::State: Serialize,
        H: Clone + Debug + Hash + PartialEq,
    {
        let servers = model.servers;
        let human = |s: String| names::humanize(&s, servers);
        let pairs = path.clone().into_vec();
        let mut variants = BTreeSet::new();
        for (state, _) in &pairs {
            for s in &state.actor_states {
                if let Ok(v) = serde_json::to_value(&**s) {
                    diff::variant_names(&v, &mut variants);
                }
            }
        }
        let mut steps = Vec::new();
        for (i, window) in pairs.windows(2).enumerate() {
            let (before, action) = &window[0];
            let (after, _) = &window[1];
            let Some(step) = action else { continue };
            let Some(action) = step.actor_action() else {
                steps.push(Step {
                    number: i + 1,
                    action: human(model.format_action(step)),
                    actor: "the network".to_string(),
                    changes: lost_at_split(model, before, after),
                    saved: false,
                    sent: Vec::new(),
                    event: match step {
                        ClusterStep::Split([a, b]) => {
                            let members = |s: ballot_models::cluster::ServerSet| {
                                (0..servers).filter(|&i| s.contains(i)).collect::<Vec<_>>()
                            };
                            let (a, b) = (members(*a), members(*b));
                            Event::Partition {
                                sides: if a.contains(&0) { [a, b] } else { [b, a] },
                            }
                        }
                        ClusterStep::Heal | ClusterStep::Actor(_) => Event::Heal,
                    },
                    sends: Vec::new(),
                });
                continue;
            };
            let actor = acting(action);
            let idx = usize::from(actor);
            let changes = if matches!(action, ActorModelAction::Crash(_)) && model.crash_stop {
                vec!["(down for good: crashes are crash-stop in this model)".to_string()]
            } else if matches!(action, ActorModelAction::Crash(_)) && !model.restart_on_crash {
                vec!["(down until it recovers; its volatile state will be lost)".to_string()]
            } else {
                let old = human(format!("{:?}", before.actor_states[idx]));
                let new = human(format!("{:?}", after.actor_states[idx]));
                diff::field_changes(&old, &new, &variants)
            };
            let sends = sends(model, before, after, action)
                .into_iter()
                .map(|s| Sent {
                    msg: human(s.msg),
                    ..s
                })
                .collect::<Vec<_>>();
            steps.push(Step {
                number: i + 1,
                action: human(model.format_action(step)),
                actor: model.actor_name(actor),
                changes,
                saved: before.actor_storages.get(idx) != after.actor_storages.get(idx),
                sent: sends
                    .iter()
                    .map(|s| {
                        format!(
                            "to {}: {}{}",
                            model.actor_name(Id::from(s.to)),
                            s.msg,
                            match (s.cut, s.discarded, model.is_byzantine(s.to)) {
                                (true, _, _) => " (lost: the network is split)",
                                (false, true, true) => " (the Byzantine server ignores it)",
                                (false, true, false) => " (discarded: obsolete)",
                                (false, false, _) => "",
                            }
                        )
                    })
                    .collect(),
                event: event(action, model.restart_on_crash, &human),
                // The diagram marks the discarded ones; what the Byzantine server is sent is
                // only listed (it receives and ignores everything at once).
                sends: sends
                    .into_iter()
                    .filter(|s| !model.is_byzantine(s.to))
                    .collect(),
            });
        }
        let last = path.last_state();
        Trace {
            format: FORMAT,
            kind: Kind::Counterexample,
            protocol: String::new(),
            property: String::new(),
            explanation: None,
            command: Vec::new(),
            model_flags: Vec::new(),
            model: String::new(),
            flags_hash: String::new(),
            actors: (0..last.actor_states.len())
                .map(|i| model.actor_name(Id::from(i)))
                .collect(),
            steps,
            final_states: last
                .actor_states
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let down = if last.crashed.get(i) == Some(&true) {
                        " (down)"
                    } else {
                        ""
                    };
                    format!(
                        "{}{down}: {}",
                        model.actor_name(i.into()),
                        human(format!("{s:?}"))
                    )
                })
                .collect(),
            action_path: path.encode(model),
        }
    }

    /// Saves as pretty JSON, creating parent directories.
    pub fn save(&self, path: &std::path::Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(path, json + "\n")
    }

    /// Loads a trace saved by [`Trace::save`] (or a counterexample of the first layout).
    pub fn load(path: &std::path::Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The action indices of [`Trace::action_path`].
    pub fn action_indices(&self) -> Result<Vec<usize>, String> {
        self.action_path
            .split('/')
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("bad action path element '{s}'"))
            })
            .collect()
    }

    /// "Counterexample to Agreement" or "Witness of Leader elected".
    pub fn title(&self) -> String {
        format!("{} {}", self.kind.heading(), self.property)
    }

    /// The `ballot …` command of the run that found it, as one line.
    pub fn command_line(&self) -> String {
        std::iter::once("ballot".to_string())
            .chain(self.command.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The `ballot explore …` command that serves this trace's model, from the complete model
    /// flags (or, for a trace saved without them, none).
    pub fn explore_command(&self) -> String {
        std::iter::once(format!("ballot explore {}", self.protocol))
            .chain(self.model_flags.iter().map(|a| shell_word(a)))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The Explorer page of the last state of the path, on the Explorer at `addr`.
    pub fn explorer_url(&self, addr: &str) -> String {
        format!("http://{addr}/#/steps/{}", self.action_path)
    }
}

/// `a` quoted for a POSIX shell if it needs it.
pub fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

impl Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} ({} steps):", self.title(), self.steps.len())?;
        for s in &self.steps {
            writeln!(f, "{:>3}. {}", s.number, s.action)?;
            for c in &s.changes {
                writeln!(f, "       {c}")?;
            }
            if s.saved {
                writeln!(f, "       {} saves its durable state", s.actor)?;
            }
            for m in &s.sent {
                writeln!(f, "       sends {m}")?;
            }
        }
        writeln!(f, "Final state:")?;
        for s in &self.final_states {
            writeln!(f, "  {s}")?;
        }
        if let Some(e) = &self.explanation {
            let label = match self.kind {
                Kind::Counterexample => "Violation",
                Kind::Witness => "Witnessed",
            };
            writeln!(f, "{label}: {e}")?;
        }
        Ok(())
    }
}

/// Rebuilds a path from the initial state by Stateright action indices. `None` if an index
/// does not name an enabled action (the model's configuration differs from the one saved).
pub fn replay<M: Model>(model: &M, indices: &[usize]) -> Option<Path<M::State, M::Action>>
where
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq,
{
    let (first, rest) = indices.split_first()?;
    let init = model.init_states().into_iter().nth(*first)?;
    let mut state = init.clone();
    let mut actions = Vec::new();
    for &i in rest {
        let mut enabled = Vec::new();
        model.actions(&state, &mut enabled);
        let action = enabled.into_iter().nth(i)?;
        state = model.next_state(&state, action.clone())?;
        actions.push(action);
    }
    Path::from_actions(model, init, &actions)
}

fn acting<Msg, Timer, Random>(
    action: &ActorModelAction<Msg, Timer, Random>,
) -> stateright::actor::Id {
    match action {
        ActorModelAction::Deliver { dst, .. } => *dst,
        ActorModelAction::Drop(env) => env.dst,
        ActorModelAction::Timeout(id, _)
        | ActorModelAction::Crash(id)
        | ActorModelAction::Recover(id) => *id,
        ActorModelAction::SelectRandom { actor, .. } => *actor,
    }
}

fn event<Msg: Debug, Timer: Debug, Random: Debug>(
    action: &ActorModelAction<Msg, Timer, Random>,
    restart: bool,
    human: &dyn Fn(String) -> String,
) -> Event {
    match action {
        ActorModelAction::Deliver { src, dst, msg } => Event::Deliver {
            from: usize::from(*src),
            to: usize::from(*dst),
            msg: human(format!("{msg:?}")),
        },
        ActorModelAction::Drop(env) => Event::Lose {
            from: usize::from(env.src),
            to: usize::from(env.dst),
            msg: human(format!("{:?}", env.msg)),
        },
        ActorModelAction::Timeout(id, timer) => Event::Timer {
            actor: usize::from(*id),
            timer: human(format!("{timer:?}")),
        },
        ActorModelAction::Crash(id) => Event::Crash {
            actor: usize::from(*id),
            restart,
        },
        ActorModelAction::Recover(id) => Event::Recover {
            actor: usize::from(*id),
        },
        ActorModelAction::SelectRandom { actor, random, .. } => Event::Choose {
            actor: usize::from(*actor),
            what: human(format!("{random:?}")),
        },
    }
}

/// What a partition step lost: the messages in flight before it and not after it (those
/// across the cut, when the network splits), one line each.
fn lost_at_split<A, C, H>(
    model: &ClusterModel<A, C, H>,
    before: &ActorModelState<A, H>,
    after: &ActorModelState<A, H>,
) -> Vec<String>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    let now = in_flight(&after.network);
    in_flight(&before.network)
        .into_iter()
        .filter(|(env, _)| !now.iter().any(|(e, _)| e == env))
        .map(|(env, _)| {
            names::humanize(
                &format!(
                    "lost in flight: {:?} from {} to {}",
                    env.msg,
                    model.actor_name(env.src),
                    model.actor_name(env.dst)
                ),
                model.servers,
            )
        })
        .collect()
}

/// The messages the step sent: the handler run again on the state before (it is a pure
/// function of it), each marked discarded if it is not in flight after the step (the model
/// removed it as obsolete), in the order the handler sent them.
fn sends<A, C, H>(
    model: &ClusterModel<A, C, H>,
    before: &ActorModelState<A, H>,
    after: &ActorModelState<A, H>,
    action: &ActorModelAction<A::Msg, A::Timer, A::Random>,
) -> Vec<Sent>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    let actor = usize::from(acting(action));
    let Some(a) = model.inner.actors.get(actor) else {
        return Vec::new();
    };
    let id = Id::from(actor);
    let mut out: Out<A> = Out::new();
    match action {
        ActorModelAction::Deliver { src, msg, .. } => {
            let mut state = Cow::Borrowed(&*before.actor_states[actor]);
            a.on_msg(id, &mut state, *src, msg.clone(), &mut out);
        }
        ActorModelAction::Timeout(_, timer) => {
            let mut state = Cow::Borrowed(&*before.actor_states[actor]);
            a.on_timeout(id, &mut state, timer, &mut out);
        }
        ActorModelAction::Recover(_) => {
            a.on_start(id, &before.actor_storages[actor], &mut out);
        }
        ActorModelAction::Crash(_) if model.restart_on_crash => {
            a.on_start(id, &before.actor_storages[actor], &mut out);
        }
        _ => {}
    }
    // What is in flight after the step and was not before: the messages that stayed.
    let count = |s: &ActorModelState<A, H>| {
        let mut m: BTreeMap<(usize, usize, String), usize> = BTreeMap::new();
        for (env, copies) in in_flight(&s.network) {
            let key = (
                usize::from(env.src),
                usize::from(env.dst),
                format!("{:?}", env.msg),
            );
            *m.entry(key).or_default() += copies;
        }
        m
    };
    let (b, mut new) = (count(before), count(after));
    for (k, n) in &b {
        if let Some(m) = new.get_mut(k) {
            *m = m.saturating_sub(*n);
        }
    }
    let mut result = Vec::new();
    for c in out.iter() {
        let Command::Send(dst, msg) = c else { continue };
        let key = (actor, usize::from(*dst), format!("{msg:?}"));
        let stayed = match new.get_mut(&key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            // Already in flight on a duplicating network: sending it again changes nothing.
            _ => b.contains_key(&key) && after_has(after, &key),
        };
        let cut = !stayed && model.partition_of(after).separates(Id::from(actor), *dst);
        result.push(Sent {
            to: key.1,
            msg: key.2,
            discarded: !stayed && !cut,
            cut,
        });
    }
    result
}

fn after_has<A, H>(after: &ActorModelState<A, H>, key: &(usize, usize, String)) -> bool
where
    A: Actor,
    A::Msg: Ord,
{
    in_flight(&after.network).iter().any(|(env, _)| {
        usize::from(env.src) == key.0
            && usize::from(env.dst) == key.1
            && format!("{:?}", env.msg) == key.2
    })
}
