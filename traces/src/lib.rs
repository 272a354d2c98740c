//! Counterexamples: a Stateright path of a [`ClusterModel`] turned into numbered, readable steps
//! (who received what, what changed, what was saved and sent), saved and loaded as JSON.
//!
//! The JSON file also holds the command that produced it and Stateright's action-index path,
//! so [`replay`] can rebuild the exact path from the same model configuration.
#![deny(missing_docs)]

use ballot_models::cluster::{ClusterAction, ClusterModel, in_flight};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, ActorModelAction, ActorModelState};
use stateright::{Model, Path};
use std::collections::BTreeMap;
use std::fmt::{self, Debug, Display, Write as _};
use std::hash::Hash;

/// One step of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// 1-based step number.
    pub number: usize,
    /// What happened, e.g. "server 1 receives Prepare { ballot: b1.0 } from server 0".
    pub action: String,
    /// The actor that acted, e.g. "server 1".
    pub actor: String,
    /// The actor's state lines that changed: `- old` and `+ new` lines of its pretty state.
    pub changes: Vec<String>,
    /// Whether the actor saved durable state in this step.
    pub saved: bool,
    /// Messages the step put on the network, as "to server 2: Accept { .. }".
    pub sent: Vec<String>,
}

/// A violated (or witnessed) property with the path that shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The protocol, e.g. "paxos".
    pub protocol: String,
    /// The property, e.g. "Agreement".
    pub property: String,
    /// Why the last state violates the property, when the protocol can say.
    pub explanation: Option<String>,
    /// The `ballot` arguments that reproduce it.
    pub command: Vec<String>,
    /// The steps from the initial state.
    pub steps: Vec<Step>,
    /// Every actor's state at the end, pretty-printed.
    pub final_states: Vec<String>,
    /// Stateright's action-index path ("0/3/1/…"), for [`replay`] and the Explorer.
    pub action_path: String,
}

impl Counterexample {
    /// Builds the readable form of `path`.
    pub fn from_path<A, C, H>(
        model: &ClusterModel<A, C, H>,
        path: &Path<ActorModelState<A, H>, ClusterAction<A>>,
    ) -> Self
    where
        A: Actor,
        A::Msg: Ord,
        A::Timer: Ord,
        H: Clone + Debug + Hash + PartialEq,
    {
        let pairs = path.clone().into_vec();
        let mut steps = Vec::new();
        for (i, window) in pairs.windows(2).enumerate() {
            let (before, action) = &window[0];
            let (after, _) = &window[1];
            let Some(action) = action else { continue };
            let actor = acting(action);
            let idx = usize::from(actor);
            let old = format!("{:#?}", before.actor_states[idx]);
            let new = format!("{:#?}", after.actor_states[idx]);
            steps.push(Step {
                number: i + 1,
                action: model.format_action(action),
                actor: model.actor_name(actor),
                changes: if matches!(action, ActorModelAction::Crash(_)) {
                    vec!["(down until it recovers; its volatile state will be lost)".to_string()]
                } else {
                    line_diff(&compact(&old), &compact(&new))
                },
                saved: before.actor_storages.get(idx) != after.actor_storages.get(idx),
                sent: sent_messages(model, before, after),
            });
        }
        let last = path.last_state();
        Counterexample {
            protocol: String::new(),
            property: String::new(),
            explanation: None,
            command: Vec::new(),
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
                    format!("{}{down}: {s:?}", model.actor_name(i.into()))
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

    /// Loads a counterexample saved by [`Counterexample::save`].
    pub fn load(path: &std::path::Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The action indices of [`Counterexample::action_path`].
    pub fn action_indices(&self) -> Result<Vec<usize>, String> {
        self.action_path
            .split('/')
            .map(|s| {
                s.parse()
                    .map_err(|_| format!("bad action path element '{s}'"))
            })
            .collect()
    }
}

impl Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Counterexample to {} ({} steps):",
            self.property,
            self.steps.len()
        )?;
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
            writeln!(f, "Violation: {e}")?;
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

/// Messages present after the step that were not before (counted, so duplicates show).
fn sent_messages<A, C, H>(
    model: &ClusterModel<A, C, H>,
    before: &ActorModelState<A, H>,
    after: &ActorModelState<A, H>,
) -> Vec<String>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash,
{
    let count = |s: &ActorModelState<A, H>| {
        let mut m: BTreeMap<String, usize> = BTreeMap::new();
        for (env, copies) in in_flight(&s.network) {
            let line = format!("to {}: {:?}", model.actor_name(env.dst), env.msg);
            *m.entry(line).or_default() += copies;
        }
        m
    };
    let (b, a) = (count(before), count(after));
    let mut out = Vec::new();
    for (line, n) in a {
        for _ in b.get(&line).copied().unwrap_or(0)..n {
            out.push(line.clone());
        }
    }
    out
}

/// Joins a pretty `{:#?}` rendering into one line per field: a line that does not start a
/// `name: value` field is appended to the line before, so `promised: Some(\n b1.0,\n),` reads
/// `promised: Some(b1.0),`.
pub fn compact(pretty: &str) -> String {
    let mut entries: Vec<String> = Vec::new();
    for line in pretty.lines() {
        let t = line.trim();
        let starts_field = t.split_once(": ").is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        });
        match entries.last_mut() {
            Some(last) if !starts_field => {
                last.push(' ');
                last.push_str(t);
            }
            _ => entries.push(t.to_string()),
        }
    }
    entries
        .iter()
        .map(|e| {
            e.replace("( ", "(")
                .replace("[ ", "[")
                .replace(", )", ")")
                .replace(", ]", "]")
                .replace(", }", " }")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines of `new` that are not in `old` and vice versa, as "- line" / "+ line", in order
/// (a longest-common-subsequence diff; states are a few dozen lines).
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    let mut push = |sign: char, line: &str| {
        let mut s = String::new();
        let _ = write!(s, "{sign} {}", line.trim());
        out.push(s);
    };
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            push('-', a[i]);
            i += 1;
        } else {
            push('+', b[j]);
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_diff_shows_only_changed_lines() {
        let old = "S {\n  a: 1,\n  b: 2,\n}";
        let new = "S {\n  a: 1,\n  b: 3,\n  c: 4,\n}";
        assert_eq!(line_diff(old, new), vec!["- b: 2,", "+ b: 3,", "+ c: 4,"]);
        assert!(line_diff(old, old).is_empty());
    }
}
