//! The model: the checked configuration, the client history (a write-once register), and
//! the properties.

use super::*;

/// The model's value type: client `c` proposes the letter `'A' + c`.
pub type ModelValue = char;

/// What the model records besides the actors: the client history checked for
/// linearizability against a write-once register, and (ghost) the messages discarded as
/// obsolete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PaxosHistory {
    /// Client operations, invoked and answered.
    pub clients: ClientHistory<WriteOnceRegister<ModelValue>>,
    /// Ghost: the messages discarded as obsolete on the path (not part of the state's
    /// identity; see [`ClusterModel::discard_obsolete`]).
    pub discarded: Discarded<PaxosMsg<ModelValue>>,
}

/// The checked model.
pub type PaxosModel = ClusterModel<PaxosActor<ModelValue>, PaxosConfig, PaxosHistory>;

/// A state of the checked model.
pub type PaxosModelState = ActorModelState<PaxosActor<ModelValue>, PaxosHistory>;

/// The configuration of a Paxos model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaxosConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest ballot round a proposer may start (`--max-round`).
    pub max_round: u32,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<PaxosBug>,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig::default(),
            max_round: 3,
            bug: None,
        }
    }
}

impl PaxosConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        Ok(())
    }

    /// The value client `c` proposes.
    pub fn client_value(c: usize) -> ModelValue {
        (b'A' + c as u8) as char
    }

    /// Builds the model: servers `0..n`, then clients; client `c` proposes to server `c mod n`
    /// and reads from server `(c + 1) mod n`.
    pub fn into_model(self) -> PaxosModel {
        let n = self.cluster.servers;
        // The lecture's scenario (`ballot check paxos --witness all`): two proposers, and a
        // retry in a later round after the first round was contended.
        let dueling = self.cluster.clients >= 2 && n >= 2 && self.max_round >= 2;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let server = PaxosServer {
            peers,
            max_round: self.max_round,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| PaxosActor::Client {
                value: Self::client_value(c),
                put_to: Id::from(c % n),
                get_from: Id::from((c + 1) % n),
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let history = PaxosHistory {
            clients: ClientHistory::new(WriteOnceRegister(None)),
            discarded: Discarded::default(),
        };
        let inner = ActorModel::new(self, history)
            .actors((0..n).map(|_| PaxosActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_invocations)
            .record_msg_in(record_returns);
        let model = ClusterModel::new(inner, n)
            .discard_obsolete(obsolete, |h| &mut h.discarded)
            .restart_on_crash()
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .sometimes("Decision", |m, s| props::decided_somewhere(&View(m, s)));
        if dueling {
            model.sometimes("Dueling proposers, then a decision", |m, s| {
                dueling_then_decision(m, s).is_some()
            })
        } else {
            model
        }
    }
}

fn servers<'a>(
    m: &PaxosModel,
    s: &'a PaxosModelState,
) -> impl Iterator<Item = (usize, &'a ServerState<ModelValue>)> {
    s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .map(|(i, a)| match &**a {
            PaxosState::Server(x) => (i, x),
            PaxosState::Client(_) => unreachable!("actors 0..servers are servers"),
        })
}

/// Dueling proposers (Paxos Made Simple §2.5): two servers have run Phase 1, and a value was
/// decided in a ballot of a later round than the first, so the first round was contended.
fn dueling_then_decision(m: &PaxosModel, s: &PaxosModelState) -> Option<String> {
    let proposers: Vec<usize> = servers(m, s)
        .filter(|(_, x)| x.durable.last_round >= 1)
        .map(|(i, _)| i)
        .collect();
    if proposers.len() < 2 {
        return None;
    }
    let (decider, value) = servers(m, s).find_map(|(i, x)| x.durable.decided().map(|v| (i, *v)))?;
    let (ballot, _) = servers(m, s)
        .filter_map(|(_, x)| x.durable.accepted)
        .find(|(b, v)| b.round >= 2 && *v == value)?;
    Some(format!(
        "servers {} both ran Phase 1; server {decider} decided {value:?}, accepted in ballot \
         {ballot:?} of round {}",
        proposers
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" and "),
        ballot.round
    ))
}

/// The messages the model discards: those their receiver ignores in every reachable state
/// ([`PaxosServer::ignores_forever`]; a client ignores answers to requests no longer in
/// flight, and its request ids only grow).
fn obsolete(
    model: &PaxosModel,
    state: &PaxosModelState,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> bool {
    let dst = usize::from(env.dst);
    match (
        model.inner.actors.get(dst),
        state.actor_states.get(dst).map(|a| &**a),
    ) {
        (Some(PaxosActor::Server(server)), Some(PaxosState::Server(s))) => {
            server.ignores_forever(s, state.actor_storages[dst].as_ref(), env.src, env.msg)
        }
        (Some(PaxosActor::Client { .. }), Some(PaxosState::Client(c))) => match env.msg {
            PaxosMsg::PutOk { req, .. } | PaxosMsg::GetOk { req, .. } => {
                c.awaiting.is_none_or(|a| *req < a)
            }
            _ => false,
        },
        _ => false,
    }
}

fn record_invocations(
    _: &PaxosConfig,
    h: &PaxosHistory,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> Option<PaxosHistory> {
    let clients = match env.msg {
        PaxosMsg::Put { req, value } => {
            h.clients
                .invoke(env.src.into(), *req, RegisterOp::Propose(*value))
        }
        PaxosMsg::Get { req } => h.clients.invoke(env.src.into(), *req, RegisterOp::Read),
        _ => None,
    }?;
    Some(PaxosHistory {
        clients,
        ..h.clone()
    })
}

fn record_returns(
    _: &PaxosConfig,
    h: &PaxosHistory,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> Option<PaxosHistory> {
    let clients = match env.msg {
        PaxosMsg::PutOk { req, decided } => {
            h.clients
                .respond(env.dst.into(), *req, RegisterRet::Decided(*decided))
        }
        PaxosMsg::GetOk { req, decided } => {
            h.clients
                .respond(env.dst.into(), *req, RegisterRet::ReadOk(Some(*decided)))
        }
        _ => None,
    }?;
    Some(PaxosHistory {
        clients,
        ..h.clone()
    })
}

/// The consensus view of a model state: servers' decision logs, clients' values.
pub struct View<'a>(pub &'a PaxosModel, pub &'a PaxosModelState);

impl ConsensusView for View<'_> {
    type Value = ModelValue;

    fn server_count(&self) -> usize {
        self.0.servers
    }

    fn decision_log(&self, server: usize) -> &[(Slot, ModelValue)] {
        match &*self.1.actor_states[server] {
            PaxosState::Server(s) => &s.durable.decisions,
            PaxosState::Client(_) => unreachable!("actors 0..servers are servers"),
        }
    }

    fn is_proposed(&self, value: &ModelValue) -> bool {
        self.0
            .inner
            .actors
            .iter()
            .any(|a| matches!(a, PaxosActor::Client { value: v, .. } if v == value))
    }
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &PaxosModel, state: &PaxosModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             write-once register (compare what each client was told in the final state)"
                .into(),
        ),
        "Decision" => servers(model, state).find_map(|(i, x)| {
            x.durable
                .decided()
                .map(|v| format!("server {i} decided {v:?}"))
        }),
        "Dueling proposers, then a decision" => dueling_then_decision(model, state),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}
