//! The model: the checked configuration, the client history (a write-once register), and
//! the properties.

use super::*;
use crate::cluster::{Partition, Partitioned};

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
    /// The servers that no client proposes to which decided in a ballot of their own (they sent
    /// Decided): a read ballot, the only kind they run ([`PaxosConfig::reads_only`]). Part of
    /// the state's identity, so that the witness of "A read learns the decision" is exact.
    pub read_learners: ServerSet,
    /// Ghost, kept only with [`PaxosConfig::liveness`] (empty otherwise): entry `r` is the set
    /// of proposers that sent the Accepts of their ballot of round `r` (their Phase 1 got a
    /// majority of promises). Part of the state's identity, for the witness of "Dueling
    /// proposers, nothing chosen by the last round".
    pub phase2: Vec<ServerSet>,
    /// Whether the network is split (`--partitions`; always whole without it). Part of the
    /// state's identity.
    pub partition: Partition,
    /// How many messages the Byzantine server forged on the path (`--byzantine 1`; always 0
    /// without it).
    pub forged: u8,
}

impl Partitioned for PaxosHistory {
    fn partition(&self) -> &Partition {
        &self.partition
    }
    fn partition_mut(&mut self) -> &mut Partition {
        &mut self.partition
    }
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
    /// Also check termination (`--liveness`): the eventually-property "Termination" and, with
    /// two proposers or more, the witness "Dueling proposers, nothing chosen by the last
    /// round". Needs `crashes == 0` (see [`PaxosConfig::validate`]).
    pub liveness: bool,
    /// Discard messages their receiver ignores in every state it can reach
    /// (`--discard-obsolete`; see [`obsolete`] and [`ClusterModel::discard_obsolete`]); `false`
    /// checks without this reduction.
    pub discard_obsolete: bool,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig::default(),
            max_round: 3,
            bug: None,
            liveness: false,
            discard_obsolete: true,
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
        if self.liveness && self.cluster.crashes > 0 {
            // A crash-restart that changes nothing leads back to the state it left; Stateright's
            // checkers then count the state as not terminal and never report a run that ends
            // there, so "eventually" would hold vacuously (see `ClusterModel::eventually`).
            return Err(format!(
                "--liveness needs --crashes 0 (got {}): Stateright checks an eventually-property \
                 only on runs that end, and a crash-restart that changes nothing would make a \
                 stuck run look endless and unreported",
                self.cluster.crashes
            ));
        }
        self.forgeries()?;
        Ok(())
    }

    /// The value client `c` proposes.
    pub fn client_value(c: usize) -> ModelValue {
        (b'A' + c as u8) as char
    }

    /// The server client `c` proposes to.
    pub fn put_to(&self, c: usize) -> usize {
        c % self.cluster.servers
    }

    /// The server client `c` reads from: another than the one it proposed to, when there are
    /// two servers or more.
    pub fn get_from(&self, c: usize) -> usize {
        (c + 1) % self.cluster.servers
    }

    /// Whether server `i` is asked to `Get` by some client but to `Put` by none: a server that
    /// runs only read ballots, and that, asked before a Decided reached it, must learn the
    /// decision itself. With fewer clients than servers, server `clients` is one (the default:
    /// server 2, read by client 1).
    pub fn reads_only(&self, i: usize) -> bool {
        let clients = 0..self.cluster.clients;
        clients.clone().any(|c| self.get_from(c) == i)
            && clients.into_iter().all(|c| self.put_to(c) != i)
    }

    /// The servers some client proposes to: the proposers that may duel before anything is
    /// decided (a read-only server starts ballots only after its client's own put was
    /// answered).
    pub fn proposers(&self) -> usize {
        (0..self.cluster.servers)
            .filter(|&i| (0..self.cluster.clients).any(|c| self.put_to(c) == i))
            .count()
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
                put_to: Id::from(self.put_to(c)),
                get_from: Id::from(self.get_from(c)),
            })
            .collect();
        // The read path (issue 12): a Get at a server that only reads, before a Decided reached
        // it, is answered after the server's own read ballot decided.
        let liar = self.cluster.byzantine_server();
        let read_learning = (0..n).any(|i| self.reads_only(i) && Some(i) != liar);
        let byzantine = liar.map(|server| Byzantine {
            server,
            max_sends: self.cluster.byzantine_sends,
            forgeries: Arc::new(
                self.forgeries()
                    .expect("--byzantine-forge is checked by validate()"),
            ),
            sent: |h: &PaxosHistory| h.forged as usize,
            count: |h: &mut PaxosHistory| h.forged += 1,
        });
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let crash_stop = self.cluster.crash_stop;
        let partitions = self.cluster.partitions;
        let history = PaxosHistory {
            clients: ClientHistory::new(WriteOnceRegister(None)),
            discarded: Discarded::default(),
            read_learners: ServerSet::default(),
            phase2: Vec::new(),
            partition: Partition::default(),
            forged: 0,
        };
        let liveness = self.liveness;
        let discard = self.discard_obsolete;
        let dueling_to_the_bound = liveness && self.proposers() >= 2;
        let inner = ActorModel::new(self, history)
            .actors((0..n).map(|_| PaxosActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_invocations)
            .record_msg_in(record_returns);
        let mut model = ClusterModel::new(inner, n);
        if discard {
            model = model.discard_obsolete(obsolete, |h| &mut h.discarded);
        }
        let model = model
            .crashes_as(crash_stop)
            .partitions(partitions)
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .sometimes("Decision", |m, s| props::decided_somewhere(&View(m, s)));
        let model = match byzantine {
            Some(b) => model.byzantine(b),
            None => model,
        };
        let model = if dueling {
            model.sometimes("Dueling proposers, then a decision", |m, s| {
                dueling_then_decision(m, s).is_some()
            })
        } else {
            model
        };
        let model = if read_learning {
            model.sometimes("A read learns the decision", |m, s| {
                read_learned(m, s).is_some()
            })
        } else {
            model
        };
        // Termination (issue 14, FLP): exact here because a decision is stable (a server never
        // forgets it), and without crashes every step moves some server's ballot, proposal or
        // decision forward or consumes a message, so no run returns to a state it left.
        let model = if liveness {
            model.eventually("Termination", |m, s| props::decided_somewhere(&View(m, s)))
        } else {
            model
        };
        if dueling_to_the_bound {
            model.sometimes(
                "Dueling proposers, nothing chosen by the last round",
                |m, s| dueling_without_choice(m, s).is_some(),
            )
        } else {
            model
        }
    }
}

/// FLP in Paxos (Paxos Made Simple §2.4, "it's easy to construct a scenario in which two
/// proposers each keep issuing a sequence of proposals with increasing numbers, none of which
/// are ever chosen"; Fischer, Lynch and Paterson 1985): in every round up to the bound a
/// proposer got a majority of promises and sent its Accepts, and still no value is held by a
/// majority of acceptors and nobody decided — each Phase 2 was pre-empted by the next round's
/// Phase 1. Since the witness exists for every `--max-round`, no bound on the number of rounds
/// makes Paxos decide; it decides once one proposer runs alone long enough (a stable leader).
fn dueling_without_choice(m: &PaxosModel, s: &PaxosModelState) -> Option<String> {
    let max = m.cfg().max_round as usize;
    if servers(m, s).any(|(_, x)| x.durable.decided().is_some()) {
        return None;
    }
    // The proposers that can end a chain of Phase 2s, one per round 1..=r, in which each
    // round's proposer differs from the previous round's: a proposer pre-empted by another.
    let mut ends = s.history.phase2.get(1).copied().unwrap_or_default();
    for r in 2..=max {
        let here = s.history.phase2.get(r).copied().unwrap_or_default();
        let mut next = ServerSet::default();
        for p in (0..m.servers).filter(|&p| here.contains(p)) {
            if (0..m.servers).any(|q| q != p && ends.contains(q)) {
                next.insert(p);
            }
        }
        ends = next;
    }
    if ends.is_empty() {
        return None;
    }
    let majority = m.servers / 2 + 1;
    let held_by_majority = servers(m, s)
        .filter_map(|(_, x)| x.durable.accepted.as_ref())
        .any(|(_, v)| {
            servers(m, s)
                .filter(|(_, y)| y.durable.accepted.as_ref().is_some_and(|(_, w)| w == v))
                .count()
                >= majority
        });
    (!held_by_majority).then(|| {
        format!(
            "in each of rounds 1 to {max} a proposer got a majority of promises and sent \
             Accepts, each round's proposer another than the previous round's, yet no value is \
             accepted by a majority and nobody decided: the proposers pre-empted each other"
        )
    })
}

impl PaxosConfig {
    /// What a Byzantine server may send (`--byzantine 1`; see [`crate::byzantine`]): every
    /// message a server sends in this protocol, with every field value within the model's
    /// bounds, to every honest server, and every answer to every client.
    ///
    /// - Ballots: every round `1..=max_round` of every proposer (the liar may use an honest
    ///   proposer's number); values: the clients' values.
    /// - To each honest server: `Prepare`, `Promise` (reporting no accepted proposal or any
    ///   ballot and value, including ballots above the one promised), `Accept`, `Accepted`,
    ///   `Decided`.
    /// - To each client: `PutOk` for its Put (request 1) and `GetOk` for its Get (request 2),
    ///   with each value.
    ///
    /// Left out: client requests (`Put`, `Get`) from the liar, which would make it a Byzantine
    /// *client*, another problem; and messages a receiver's role ignores whatever their
    /// content (a `Prepare` to a client), which could never be a step.
    ///
    /// `--byzantine-forge` keeps the kinds it names (checked by [`Self::validate`]): the
    /// variants' names, except that a `Promise` reporting an accepted proposal is of the kind
    /// `PromiseReporting` (a liar that sends only `Promise` and `Accepted` equivocates — it
    /// answers both of two proposers as an honest acceptor could answer either — but invents
    /// no accepted proposal).
    pub fn forgeries(&self) -> Result<Vec<(Id, PaxosMsg<ModelValue>)>, String> {
        crate::byzantine::restrict(
            self.all_forgeries(),
            &self.cluster.byzantine_forge,
            |m| match m {
                PaxosMsg::Promise {
                    accepted: Some(_), ..
                } => "PromiseReporting".into(),
                _ => crate::byzantine::variant(m),
            },
        )
    }

    fn all_forgeries(&self) -> Vec<(Id, PaxosMsg<ModelValue>)> {
        let n = self.cluster.servers;
        let Some(liar) = self.cluster.byzantine_server() else {
            return Vec::new();
        };
        let values: Vec<ModelValue> = (0..self.cluster.clients).map(Self::client_value).collect();
        let ballots: Vec<Ballot> = (1..=self.max_round)
            .flat_map(|round| {
                (0..n).map(move |p| Ballot {
                    round,
                    proposer: p as u8,
                })
            })
            .collect();
        let mut to_server = Vec::new();
        for &ballot in &ballots {
            to_server.push(PaxosMsg::Prepare { ballot });
            to_server.push(PaxosMsg::Promise {
                ballot,
                accepted: None,
            });
            for &b in &ballots {
                for &v in &values {
                    to_server.push(PaxosMsg::Promise {
                        ballot,
                        accepted: Some((b, v)),
                    });
                }
            }
            for &value in &values {
                to_server.push(PaxosMsg::Accept { ballot, value });
            }
            to_server.push(PaxosMsg::Accepted { ballot });
        }
        for &value in &values {
            to_server.push(PaxosMsg::Decided { value });
        }
        let mut out = Vec::new();
        for server in (0..n).filter(|&i| i != liar) {
            out.extend(to_server.iter().map(|m| (Id::from(server), m.clone())));
        }
        // A model client's Put is request 1 and its Get request 2.
        for c in 0..self.cluster.clients {
            for &decided in &values {
                for msg in [
                    PaxosMsg::PutOk { req: 1, decided },
                    PaxosMsg::GetOk { req: 2, decided },
                ] {
                    out.push((Id::from(n + c), msg));
                }
            }
        }
        out
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

/// A read that learned (Paxos Made Simple §2.3, [`PaxosServer::on_get`]): a client's `Get` was
/// answered by a server that no client proposes to, after that server decided in its own read
/// ballot. Returns the client, the server and the value.
fn read_learned(m: &PaxosModel, s: &PaxosModelState) -> Option<(usize, usize, ModelValue)> {
    let cfg = m.cfg();
    (0..cfg.cluster.clients).find_map(|c| {
        let server = cfg.get_from(c);
        let PaxosState::Client(client) = &*s.actor_states[m.servers + c] else {
            unreachable!("actors after the servers are clients")
        };
        let read = client.awaiting.is_none() && s.history.read_learners.contains(server);
        read.then_some((c, server, client.decided?))
    })
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
    cfg: &PaxosConfig,
    h: &PaxosHistory,
    env: Envelope<&PaxosMsg<ModelValue>>,
) -> Option<PaxosHistory> {
    let sender = usize::from(env.src);
    if let PaxosMsg::Accept { ballot, .. } = env.msg {
        let round = ballot.round as usize;
        let proposer = usize::from(ballot.proposer);
        if !cfg.liveness || h.phase2.get(round).is_some_and(|p| p.contains(proposer)) {
            return None;
        }
        let mut phase2 = h.phase2.clone();
        if phase2.len() <= round {
            phase2.resize(round + 1, ServerSet::default());
        }
        phase2[round].insert(proposer);
        return Some(PaxosHistory {
            phase2,
            ..h.clone()
        });
    }
    if let PaxosMsg::Decided { .. } = env.msg {
        // Only a proposer whose ballot a majority accepted sends Decided.
        if sender < cfg.cluster.servers
            && cfg.reads_only(sender)
            && !h.read_learners.contains(sender)
        {
            let mut read_learners = h.read_learners;
            read_learners.insert(sender);
            return Some(PaxosHistory {
                read_learners,
                ..h.clone()
            });
        }
        return None;
    }
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

    /// Empty for the Byzantine server: its state means nothing, and the properties (Agreement
    /// first) are about the honest servers.
    fn decision_log(&self, server: usize) -> &[(Slot, ModelValue)] {
        if self.0.is_byzantine(server) {
            return &[];
        }
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
    /// "client 0" for the first client actor, as the printed steps name it.
    fn client_name(&self, client: ballot_properties::linearizability::ClientId) -> String {
        self.0.actor_name(Id::from(client))
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
        "Dueling proposers, nothing chosen by the last round" => {
            dueling_without_choice(model, state)
        }
        "Termination" => {
            Some("the run ends (nothing can happen any more) and no server has decided".into())
        }
        "A read learns the decision" => read_learned(model, state).map(|(c, server, v)| {
            format!(
                "server {server}, which no client proposes to, missed the decision, ran a read \
                 ballot that decided {v:?}, and answered client {c}'s Get"
            )
        }),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}
