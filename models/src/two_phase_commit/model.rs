//! The model: the checked configuration and the properties.

use super::*;
use crate::cluster::Partition;

/// The checked model. No client history (the coordinator starts the transaction): the history
/// is only whether the network is split (`--partitions`; always whole without it).
pub type TpcModel = ClusterModel<TpcServer, TpcConfig, Partition>;

/// A state of the checked model.
pub type TpcModelState = ActorModelState<TpcServer, Partition>;

/// The configuration of a two-phase-commit model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TpcConfig {
    /// Processes (the coordinator and `servers - 1` participants), network, crashes
    /// (crash-stop). No clients.
    pub cluster: ClusterConfig,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<TpcBug>,
}

impl Default for TpcConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig {
                servers: 3,
                clients: 0,
                crashes: 1,
                ..Default::default()
            },
            bug: None,
        }
    }
}

impl TpcConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if !(2..=6).contains(&self.cluster.servers) {
            return Err(format!(
                "--servers: two-phase-commit needs a coordinator and 1 to 5 participants (2 to 6 \
                 servers), got {}",
                self.cluster.servers
            ));
        }
        if self.cluster.clients != 0 {
            return Err(format!(
                "--clients: two-phase-commit has no clients (the coordinator starts the \
                 transaction), got {}",
                self.cluster.clients
            ));
        }
        Ok(())
    }

    /// Builds the model: server 0 coordinates, servers 1..n participate.
    pub fn into_model(self) -> TpcModel {
        let n = self.cluster.servers;
        let server = TpcServer {
            servers: n,
            bug: self.bug,
        };
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let partitions = self.cluster.partitions;
        let inner = ActorModel::new(self, Partition::default())
            .actors((0..n).map(|_| server.clone()))
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes);
        ClusterModel::new(inner, n)
            .crash_stop()
            .partitions(partitions)
            .always("Atomicity", |m, s| atomicity(m, s).is_none())
            .always("Termination", |m, s| blocked(m, s).is_none())
            .sometimes("Commit", |m, s| decided(m, s, Decision::Commit).is_some())
            .sometimes("Abort", |m, s| decided(m, s, Decision::Abort).is_some())
    }
}

fn participants<'a>(
    m: &TpcModel,
    s: &'a TpcModelState,
) -> impl Iterator<Item = (usize, &'a ParticipantState)> + 'a {
    s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match &**a {
            TpcState::Participant(p) => Some((i, p)),
            TpcState::Coordinator(_) => None,
        })
}

/// **Atomicity** (BHG §7.2, AC1 and AC3): every process that decided (crashed or not) decided
/// the same, and Commit was decided only if every participant voted Yes.
pub fn atomicity(m: &TpcModel, s: &TpcModelState) -> Option<String> {
    let decisions: Vec<(usize, Decision)> = s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.decision().map(|d| (i, d)))
        .collect();
    if let (Some((a, _)), Some((b, _))) = (
        decisions.iter().find(|(_, d)| *d == Decision::Commit),
        decisions.iter().find(|(_, d)| *d == Decision::Abort),
    ) {
        return Some(format!(
            "{} committed and {} aborted (AC1: all processes that decide reach the same \
             decision)",
            name(*a),
            name(*b)
        ));
    }
    let (c, _) = decisions.iter().find(|(_, d)| *d == Decision::Commit)?;
    let (p, vote) = participants(m, s).find(|(_, p)| p.vote != Some(Vote::Yes))?;
    Some(format!(
        "{} committed but {} {} (AC3: Commit only if every participant voted Yes)",
        name(*c),
        name(p),
        match vote.vote {
            Some(Vote::No) => "voted No",
            _ => "did not vote",
        }
    ))
}

/// "server 0 (the coordinator)" or "server 2 (a participant)".
fn name(i: usize) -> String {
    if i == COORDINATOR {
        format!("server {i} (the coordinator)")
    } else {
        format!("server {i} (a participant)")
    }
}

/// **Termination** (BHG §7.2, AC4/AC5 as a run that ends): no state in which nothing can happen
/// any more (`ClusterModel::quiescent`) while a live participant has not decided. Its
/// counterexample is 2PC's blocking: the coordinator is down, and every live participant voted
/// Yes and cannot learn the decision from anyone.
pub fn blocked(m: &TpcModel, s: &TpcModelState) -> Option<String> {
    let waiting: Vec<(usize, &ParticipantState)> = participants(m, s)
        .filter(|(i, p)| !s.crashed[*i] && p.decision.is_none())
        .collect();
    if waiting.is_empty() || !m.quiescent(s) {
        return None;
    }
    let who: Vec<String> = waiting
        .iter()
        .map(|(i, p)| {
            format!(
                "server {i} ({})",
                match p.vote {
                    Some(Vote::Yes) => "voted Yes, uncertain",
                    Some(Vote::No) => "voted No",
                    None => "has not voted",
                }
            )
        })
        .collect();
    let down: Vec<String> = (0..m.servers).filter(|&j| s.crashed[j]).map(name).collect();
    let knowers: Vec<String> = (0..m.servers)
        .filter(|&j| !s.crashed[j] && s.actor_states[j].decision().is_some())
        .map(name)
        .collect();
    if !knowers.is_empty() {
        // Only messages were lost: a partition (or --lossy) took what would have told them.
        let network = match m.partition {
            Some(_) => format!("lost by the network, now {:?}", m.partition_of(s)),
            None => "lost by the network".to_string(),
        };
        return Some(format!(
            "{} will never decide: {} know{} the decision, but the messages that would have \
             told it were {network}, and nobody sends them again, so nothing else can happen \
             (BHG Theorem 7.1: with communication failures, every atomic commitment protocol \
             can block)",
            who.join(" and "),
            knowers.join(" and "),
            if knowers.len() == 1 { "s" } else { "" },
        ));
    }
    Some(format!(
        "{} will never decide: {} down, nobody live knows the decision, and nothing else can \
         happen",
        who.join(" and "),
        if down.is_empty() {
            "nobody is".to_string()
        } else {
            format!("{} is", down.join(", "))
        }
    ))
}

/// Some process decided `d`.
fn decided(m: &TpcModel, s: &TpcModelState, d: Decision) -> Option<String> {
    s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .find(|(_, a)| a.decision() == Some(d))
        .map(|(i, _)| format!("{} decided {d:?}", name(i)))
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &TpcModel, state: &TpcModelState, property: &str) -> Option<String> {
    match property {
        "Atomicity" => atomicity(model, state),
        "Termination" => blocked(model, state),
        "Commit" => decided(model, state, Decision::Commit),
        "Abort" => decided(model, state, Decision::Abort),
        _ => None,
    }
}
