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
        ClusterModel::new(inner, n)
            .discard_obsolete(obsolete, |h| &mut h.discarded)
            .restart_on_crash()
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .sometimes("Decision", |m, s| props::decided_somewhere(&View(m, s)))
    }
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

/// Why `state` violates `property`, in words, for counterexamples.
pub fn explain(model: &PaxosModel, state: &PaxosModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             write-once register (compare what each client was told in the final state)"
                .into(),
        ),
        "Decision" => Some("no reachable state has a decision".into()),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}
