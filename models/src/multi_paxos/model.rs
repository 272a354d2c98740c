//! The model: the checked configuration, its bounds (one ballot per round), the client
//! history, and the properties.

use super::*;
use crate::cluster::{Partition, Partitioned};
use crate::forgotten::{self, ForgottenLogs};

/// The model's log entries: commands on keys and values that are letters.
pub type ModelEntry = Entry<ModelKey, ModelValue>;

/// The model's votes.
pub type ModelVote = Vote<ModelKey, ModelValue>;

/// What the model records besides the actors: the client history checked for
/// linearizability against the key-value specification, and (ghost) the messages discarded as
/// obsolete.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MpHistory {
    /// Client operations, invoked and answered.
    pub clients: KvHistory<ModelKey, ModelValue>,
    /// Ghost: the messages discarded as obsolete on the path (not part of the state's
    /// identity; see [`ClusterModel::discard_obsolete`]).
    pub discarded: Discarded<MpMsg<ModelKey, ModelValue>>,
    /// Whether the network is split (`--partitions`; always whole without it). Part of the
    /// state's identity.
    pub partition: Partition,
    /// How many messages the Byzantine server forged on the path (`--byzantine 1`; always 0
    /// without it).
    pub forged: u8,
    /// Ghost, with `--volatile-applied` and crash-restarts: the entries a server had executed
    /// before a crash took some back, while it has not executed them all again, sorted by
    /// server ([`forget_step`]). Each is one more decision log for the properties
    /// ([`View`]), so that an entry executed and then forgotten still counts. Empty otherwise.
    pub forgotten: ForgottenLogs<ExecutedLog>,
}

/// A replica's executed entries ([`MpStorage::log`]), as [`MpHistory::forgotten`] keeps them.
pub type ExecutedLog = SharedVec<(Slot, ModelEntry)>;

impl Partitioned for MpHistory {
    fn partition(&self) -> &Partition {
        &self.partition
    }
    fn partition_mut(&mut self) -> &mut Partition {
        &mut self.partition
    }
}

impl Rewrite<Id> for MpHistory {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        MpHistory {
            clients: self.clients.rewrite(plan),
            discarded: self.discarded.rewrite(plan),
            partition: self.partition.rewrite(plan),
            forged: self.forged,
            forgotten: forgotten::rewrite(&self.forgotten, |i| rewrite_server_index(i, plan)),
        }
    }
}

/// The model's actor.
pub type MpModelActor = MpActor<ModelKey, ModelValue>;

/// The checked model.
pub type MpModel = ClusterModel<MpModelActor, MultiPaxosConfig, MpHistory>;

/// A state of the checked model.
pub type MpModelState = ActorModelState<MpModelActor, MpHistory>;

/// The configuration of a Multi-Paxos model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultiPaxosConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest ballot round a server may start (`--max-round`).
    pub max_round: u32,
    /// Operations per client (`--requests`): put, then cas, then get, then again.
    pub requests: usize,
    /// Retries per request, each to the next server (`--retries`).
    pub retries: u8,
    /// Slots a leader may propose in (`--max-slots`); by default one per request plus one, so
    /// that a retried request can be chosen twice.
    pub max_slots: Option<Slot>,
    /// Heartbeat timeouts per ballot of a leader (`--heartbeats`): each re-sends the unanswered
    /// Accepts and sends heartbeats, on which learners catch up. 0: none.
    pub heartbeats: u32,
    /// Gets go through the log like writes (`--log-reads`), instead of being answered by the
    /// leader after a confirmation round, as real runs do.
    pub log_reads: bool,
    /// Discard messages their receiver ignores in every state it can reach
    /// (`--discard-obsolete`; see [`MpServer::ignores_forever`] and
    /// [`ClusterModel::discard_obsolete`]); `false` checks without this reduction.
    pub discard_obsolete: bool,
    /// Executing an entry saves nothing by itself (`--volatile-applied`,
    /// [`MpServer::volatile_applied`]), as in real runs.
    pub volatile_applied: bool,
    /// A leader batches its proposals (`--batch`, [`MpServer::batch`]), as in real runs: their
    /// Accepts wait for its propose timer, which the checker fires at any moment.
    pub batch: bool,
    /// Log compaction (`--compact`, [`MpServer::compact`]): servers discard their votes in the
    /// slots they executed, on a timer the checker fires at any moment.
    pub compact: bool,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<MpBug>,
}

impl Default for MultiPaxosConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig::default(),
            max_round: 3,
            requests: 1,
            retries: 0,
            max_slots: None,
            heartbeats: 0,
            log_reads: false,
            discard_obsolete: true,
            volatile_applied: false,
            batch: false,
            compact: false,
            bug: None,
        }
    }
}

impl MultiPaxosConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        if self.requests > u8::MAX as usize {
            return Err(format!(
                "--requests must be at most {}, got {}",
                u8::MAX,
                self.requests
            ));
        }
        if self.heartbeats == UNBOUNDED {
            return Err(format!(
                "--heartbeats must be below {UNBOUNDED} (that value means unbounded, in real runs)"
            ));
        }
        if self.slots() > MAX_SLOTS {
            return Err(format!(
                "--max-slots must be at most {MAX_SLOTS}, got {}",
                self.slots()
            ));
        }
        self.forgeries()?;
        Ok(())
    }

    /// The slot bound in effect.
    pub fn slots(&self) -> Slot {
        self.max_slots
            .unwrap_or((self.cluster.clients * self.requests + 1) as Slot)
    }

    /// Builds the model: servers `0..n`, then clients; client `c` sends its first request to
    /// server `c mod n`. Server 0 starts Phase 1 at once; the others may take over when their
    /// election timer fires.
    pub fn into_model(self) -> MpModel {
        let n = self.cluster.servers;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        let (logged, _, readers) = logged_ops(self.cluster.clients, self.requests, self.log_reads);
        let server = MpServer {
            peers: peers.clone(),
            max_round: self.max_round,
            max_slots: self.slots(),
            heartbeats: self.heartbeats,
            // Without a client that reads, no get ever arrives: the servers then keep no read
            // state (a leader's `taken_over`), which would only tell states apart for nothing.
            log_reads: self.log_reads || readers == 0,
            volatile_applied: self.volatile_applied,
            batch: self.batch,
            compact: self.compact,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| {
                MpActor::Client(KvClient {
                    servers: peers.clone(),
                    ops: client_ops(c, self.requests),
                    first: c % n,
                    max_retries: self.retries,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let crash_stop = self.cluster.crash_stop;
        let partitions = self.cluster.partitions;
        let max_round = self.max_round;
        let heartbeats = self.heartbeats > 0;
        let takeover = self.max_round >= 2 && logged >= 1 && n >= 2;
        // Two commands chosen by two leaders: a get is a command only with `--log-reads`.
        let leader_change = logged >= 2;
        let history = MpHistory {
            clients: ClientHistory::new(KvSpec::default()),
            discarded: Discarded::default(),
            partition: Partition::default(),
            forged: 0,
            forgotten: ForgottenLogs::default(),
        };
        let byzantine = self.cluster.byzantine_server().map(|server| Byzantine {
            server,
            max_sends: self.cluster.byzantine_sends,
            forgeries: std::sync::Arc::new(
                self.forgeries()
                    .expect("--byzantine-forge is checked by validate()"),
            ),
            sent: |h: &MpHistory| h.forged as usize,
            count: |h: &mut MpHistory| h.forged += 1,
        });
        let discard = self.discard_obsolete;
        // Two proposals to group: two commands in the log (a takeover re-proposes one at most
        // without them).
        let batches = self.batch && logged >= 2;
        let compacts = self.compact;
        // A takeover can meet a compacted slot only after a command was executed.
        let compaction = compacts && takeover;
        // Only a crash-restart takes executed entries back.
        let forgets = self.volatile_applied && crashes > 0 && !crash_stop;
        let inner = ActorModel::new(self, history)
            .actors((0..n).map(|_| MpActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(|c, h, env| {
                Some(MpHistory {
                    clients: record_request(c, &h.clients, env)?,
                    ..h.clone()
                })
            })
            .record_msg_in(|c, h, env| {
                Some(MpHistory {
                    clients: record_reply(c, &h.clients, env)?,
                    ..h.clone()
                })
            })
            .within_boundary(one_ballot_per_round);
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
            .sometimes("Commit", committed);
        let model = if leader_change {
            model.sometimes("Leader change", |m, s| leader_changed(m, s).is_some())
        } else {
            model
        };
        let model = if partitions > 0 && max_round >= 2 {
            model.sometimes("A leader on each side of a partition", |m, s| {
                leaders_apart(m, s).is_some()
            })
        } else {
            model
        };
        let model = if readers > 0 {
            model.sometimes("A read answered without the log", |m, s| {
                read_answered_without_log(m, s).is_some()
            })
        } else {
            model
        };
        let model = match byzantine {
            Some(b) => model.byzantine(b),
            None => model,
        };
        let model = if forgets {
            model
                .ghost_step(forget_step)
                .sometimes("A crash takes executed entries back", |m, s| {
                    executed_taken_back(m, s).is_some()
                })
        } else {
            model
        };
        // The lecture's takeover (`ballot check multi-paxos --witness all`): a new leader
        // learns an accepted value from the Promises and proposes it again in its own ballot.
        let model = if takeover {
            model.sometimes("Takeover re-proposes an accepted value", |m, s| {
                re_proposed(m, s).is_some()
            })
        } else {
            model
        };
        let model = if batches {
            model.sometimes("One Accept carries several proposals", |_, s| batched(s))
        } else {
            model
        };
        // What compaction may discard: the votes of slots the replica executed, which are
        // chosen. A server that discards the vote of a slot it has not executed cannot give
        // that slot to a leader that asks for it (a stall the safety properties do not see).
        let model = if compacts {
            model.always("Compaction only of executed slots", |m, s| {
                compacted_unexecuted(m, s).is_none()
            })
        } else {
            model
        };
        let model = if compaction {
            model.sometimes("A takeover learns compacted slots", |m, s| {
                behind_compaction(m, s).is_some()
            })
        } else {
            model
        };
        if heartbeats {
            // Only heartbeats make learners ask: without them the catch-up is never exercised.
            model.sometimes("Catch-up", |_, s| caught_up(s))
        } else {
            model
        }
    }
}

/// The model's bound besides `max_round`: no two ballots share a round, among the servers'
/// states, the messages in flight and the messages discarded as obsolete on the path. Runs
/// where two servers start the same round are left out; the same contention is explored one
/// round apart.
/// Within this bound ballots compare by round alone, so renumbering servers changes no
/// comparison (which keeps symmetry reduction exact).
fn one_ballot_per_round(_: &MultiPaxosConfig, state: &MpModelState) -> bool {
    let mut seen: Vec<Ballot> = Vec::new();
    let mut fresh = |b: Ballot| match seen.iter().find(|s| s.round == b.round) {
        Some(s) => *s == b,
        None => {
            seen.push(b);
            true
        }
    };
    let servers = state.actor_states.iter().filter_map(|s| match &**s {
        MpState::Server(s) => Some(s),
        MpState::Client(_) => None,
    });
    for s in servers {
        if !s.durable.promised.is_none_or(&mut fresh)
            || !s.durable.votes.iter().all(|v| fresh(v.ballot))
        {
            return false;
        }
    }
    let mut in_flight = |msg: &MpMsg<ModelKey, ModelValue>| match msg {
        MpMsg::Prepare { ballot, .. }
        | MpMsg::Promise { ballot, .. }
        | MpMsg::Accept { ballot, .. }
        | MpMsg::Accepted { ballot, .. }
        | MpMsg::Heartbeat { ballot, .. }
        | MpMsg::HeartbeatOk { ballot, .. } => fresh(*ballot),
        MpMsg::Request(_) | MpMsg::Reply(_) | MpMsg::CatchUp { .. } | MpMsg::Chosen { .. } => true,
    };
    // The messages discarded as obsolete count too: a Prepare of round 2 discarded because its
    // receiver went on to promise another ballot of round 2 is still a second ballot in round 2.
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .all(|(env, _)| in_flight(env.msg))
        && state
            .history
            .discarded
            .messages()
            .all(|env| in_flight(&env.msg))
}

/// The messages the model discards: those their receiver ignores in every reachable state
/// ([`MpServer::ignores_forever`]; a client ignores the answers to requests it has done).
fn obsolete(
    model: &MpModel,
    state: &MpModelState,
    env: Envelope<&MpMsg<ModelKey, ModelValue>>,
) -> bool {
    let dst = usize::from(env.dst);
    match (
        model.inner.actors.get(dst),
        state.actor_states.get(dst).map(|a| &**a),
    ) {
        (Some(MpActor::Server(server)), Some(MpState::Server(s))) => {
            server.ignores_forever(s, state.actor_storages[dst].as_ref(), env.src, env.msg)
        }
        (Some(MpActor::Client(_)), Some(MpState::Client(c))) => match env.msg {
            MpMsg::Reply(r) => r.req() <= c.done as u32,
            _ => false,
        },
        _ => false,
    }
}

/// The servers' states, in index order.
fn servers<'a>(
    model: &MpModel,
    state: &'a MpModelState,
) -> impl Iterator<Item = &'a ServerState<ModelKey, ModelValue>> {
    state.actor_states[..model.servers]
        .iter()
        .map(|s| match &**s {
            MpState::Server(s) => s,
            MpState::Client(_) => unreachable!("actors 0..servers are servers"),
        })
}

/// The network is split and each side has a leader, of different ballots: the old one, cut
/// off, still leads the ballot the majority has since pre-empted.
fn leaders_apart(model: &MpModel, state: &MpModelState) -> Option<String> {
    let cut = model.partition_of(state);
    let leaders: Vec<(usize, Ballot)> = servers(model, state)
        .enumerate()
        .filter(|(i, _)| !state.crashed[*i])
        .filter_map(|(i, s)| match &s.role {
            Role::Leading { ballot, .. } => Some((i, *ballot)),
            Role::Follower | Role::Preparing { .. } => None,
        })
        .collect();
    leaders.iter().find_map(|&(a, ba)| {
        let (b, bb) = *leaders
            .iter()
            .find(|(b, _)| cut.separates(Id::from(a), Id::from(*b)))?;
        (ba < bb).then(|| {
            format!(
                "server {a} leads ballot {ba:?} and server {b} ballot {bb:?}, on the two sides \
                 of the network's {cut:?}"
            )
        })
    })
}

/// Reachability: some replica executed a client command.
fn committed(model: &MpModel, state: &MpModelState) -> bool {
    servers(model, state).any(|s| {
        s.durable
            .log
            .iter()
            .any(|(_, e)| matches!(e, Entry::Cmd(_)))
    })
}

/// Reads at work: a client has the answer to a get, which no slot carried (without
/// `--log-reads`).
fn read_answered_without_log(model: &MpModel, state: &MpModelState) -> Option<String> {
    (model.servers..state.actor_states.len()).find_map(|c| {
        match (&model.inner.actors[c], &*state.actor_states[c]) {
            (MpActor::Client(client), MpState::Client(s)) if read_answered(client, s) => {
                Some(format!(
                    "client {} has the answer to a get, served by a leader from its state machine after a majority confirmed its ballot",
                    c - model.servers
                ))
            }
            _ => None,
        }
    })
}

/// Reachability of a learner's catch-up: a server answered a [`MpMsg::CatchUp`] with chosen
/// entries.
/// Whether an Accept of several proposals is in flight (`--batch`): the leader grouped them.
fn batched(state: &MpModelState) -> bool {
    let several = |msg: &MpMsg<ModelKey, ModelValue>| matches!(msg, MpMsg::Accept { entries, .. } if entries.len() > 1);
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .any(|(env, _)| several(env.msg))
}

/// A leader whose Phase 1 found slots compacted that it has not executed (it proposes after
/// them and learns them by catch-up), with chosen entries on their way to it, in words.
fn behind_compaction(model: &MpModel, state: &MpModelState) -> Option<String> {
    let servers: Vec<_> = servers(model, state).collect();
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .find_map(|(env, _)| {
            let MpMsg::Chosen { from, entries, .. } = env.msg else {
                return None;
            };
            let i = usize::from(env.dst);
            let s = servers.get(i)?;
            match &s.role {
                Role::Leading { ballot, behind, .. } if behind.0 > 0 && !entries.is_empty() => {
                    Some(format!(
                        "server {i} leads {ballot:?}; a Promise said that the slots below {} are \
                         chosen and compacted, it has executed the slots below {}, and server {} \
                         sends it the chosen entries from slot {from} on",
                        behind.0,
                        s.durable.executed.first_missing(),
                        usize::from(env.src)
                    ))
                }
                Role::Leading { .. } | Role::Preparing { .. } | Role::Follower => None,
            }
        })
}

/// A server whose compaction point is beyond the slots it executed, in words.
fn compacted_unexecuted(model: &MpModel, state: &MpModelState) -> Option<String> {
    servers(model, state).enumerate().find_map(|(i, s)| {
        let executed = s.durable.executed.first_missing();
        (s.durable.compacted.0 > executed).then(|| {
            format!(
                "server {i} discarded its votes below slot {} but executed only the slots below {executed}",
                s.durable.compacted.0
            )
        })
    })
}

fn caught_up(state: &MpModelState) -> bool {
    let answer = |msg: &MpMsg<ModelKey, ModelValue>| matches!(msg, MpMsg::Chosen { entries, .. } if !entries.is_empty());
    crate::cluster::in_flight(&state.network)
        .into_iter()
        .any(|(env, _)| answer(env.msg))
}

/// The vote a majority of acceptors hold for `slot` right now, if any: the entry is chosen in
/// that ballot.
fn chosen_vote<'a>(
    model: &MpModel,
    state: &'a MpModelState,
    slot: Slot,
) -> Option<&'a Vote<ModelKey, ModelValue>> {
    let votes: Vec<_> = servers(model, state)
        .filter_map(|s| s.durable.votes.iter().find(|v| v.slot == slot))
        .collect();
    votes
        .iter()
        .find(|v| votes.iter().filter(|w| w == v).count() >= majority(model.servers))
        .copied()
}

/// Reachability of a leader change: a client command chosen in a ballot of one leader, and a
/// command in a later slot chosen in a higher ballot of another leader and executed by a replica.
/// Returns the two votes.
pub fn leader_changed<'a>(
    model: &MpModel,
    state: &'a MpModelState,
) -> Option<(&'a ModelVote, &'a ModelVote)> {
    let chosen: Vec<_> = (0..model.cfg().slots())
        .filter_map(|slot| chosen_vote(model, state, slot))
        .filter(|v| matches!(v.entry, Entry::Cmd(_)))
        .collect();
    chosen.iter().enumerate().find_map(|(i, early)| {
        chosen[i + 1..]
            .iter()
            .find(|late| {
                late.ballot > early.ballot
                    && late.ballot.proposer != early.ballot.proposer
                    && servers(model, state)
                        .any(|s| s.durable.log.iter().any(|(_, e)| *e == late.entry))
            })
            .map(|late| (*early, *late))
    })
}

/// A takeover that re-proposes (Paxos Made Simple §3): an acceptor holds a vote for a client
/// command in a slot in one leader's ballot, and another acceptor a vote for the same command
/// in the same slot in a higher ballot of another leader, which learned it from the Promises.
fn re_proposed(model: &MpModel, state: &MpModelState) -> Option<String> {
    let all: Vec<_> = servers(model, state).collect();
    for (a, sa) in all.iter().enumerate() {
        for old in sa.durable.votes.iter() {
            if !matches!(old.entry, Entry::Cmd(_)) {
                continue;
            }
            for (b, sb) in all.iter().enumerate() {
                if let Some(new) = sb.durable.votes.iter().find(|v| {
                    v.slot == old.slot
                        && v.entry == old.entry
                        && v.ballot > old.ballot
                        && v.ballot.proposer != old.ballot.proposer
                }) {
                    return Some(format!(
                        "server {a} accepted {:?} in slot {} in ballot {:?}; after the takeover, \
                         server {b} accepted the same entry in the new leader's ballot {:?}",
                        old.entry, old.slot, old.ballot, new.ballot
                    ));
                }
            }
        }
    }
    None
}

/// Keeps [`MpHistory::forgotten`] (`--volatile-applied`): when a crash-restart takes executed
/// entries back from a replica, the ghost keeps what it had executed (the longer record, if it
/// already had one); once the replica has executed the same entries again, the record goes. A
/// replica that executes something else at a position of its record keeps it, and Agreement
/// compares the two ([`View`]).
fn forget_step(_: &MpModel, last: &MpModelState, crashed: Option<usize>, next: &mut MpModelState) {
    let log_of = |st: &MpModelState, i: usize| match &*st.actor_states[i] {
        MpState::Server(x) => x.durable.log.clone(),
        MpState::Client(_) => unreachable!("actors 0..servers are servers"),
    };
    if let Some(kept) = forgotten::keep(
        &next.history.forgotten,
        crashed,
        |i| log_of(last, i),
        |i| log_of(next, i),
    ) {
        next.history.forgotten = kept;
    }
}

/// `--volatile-applied` at work: a crash-restart took back executed entries that no later step
/// saved, and the replica has not executed them all again ([`MpHistory::forgotten`]).
fn executed_taken_back(model: &MpModel, state: &MpModelState) -> Option<String> {
    let f = state.history.forgotten.first()?;
    let now = servers(model, state).nth(f.server as usize)?;
    Some(format!(
        "server {} had executed {} entries and restarted with {} of them (the rest were never \
         saved); it executes them again once it learns they are chosen",
        f.server,
        f.log.len(),
        now.durable.log.len()
    ))
}

/// The consensus view of a model state: replicas' executed entries, clients' commands. With
/// `--volatile-applied`, what a crash took back from a replica ([`MpHistory::forgotten`]) is
/// one more decision log, numbered after the servers, so that Agreement compares it with every
/// replica's, its own included.
pub struct View<'a>(pub &'a MpModel, pub &'a MpModelState);

impl View<'_> {
    fn server(&self, server: usize) -> &ServerState<ModelKey, ModelValue> {
        match &*self.1.actor_states[server] {
            MpState::Server(s) => s,
            MpState::Client(_) => unreachable!("actors 0..servers are servers"),
        }
    }
}

impl ConsensusView for View<'_> {
    type Value = ModelEntry;

    /// A decision event is the `i`-th entry a replica executed (0-based), which is not always
    /// Paxos slot `i` (the `out-of-order` mutant executes slot 1 first): "log position i+1".
    fn slot_name(&self, slot: Slot) -> String {
        format!("log position {} (executed entry {})", slot + 1, slot + 1)
    }

    fn server_count(&self) -> usize {
        self.0.servers + self.1.history.forgotten.len()
    }

    /// Empty for the Byzantine server: its state means nothing, and the properties are about
    /// the honest servers.
    fn decision_log(&self, server: usize) -> &[(Slot, ModelEntry)] {
        let (owner, log) = match server.checked_sub(self.0.servers) {
            None => (server, &self.server(server).durable.log),
            Some(k) => {
                let f = &self.1.history.forgotten[k];
                (f.server as usize, &f.log)
            }
        };
        if self.0.is_byzantine(owner) {
            return &[];
        }
        log.as_slice()
    }

    fn server_name(&self, server: usize) -> String {
        match server.checked_sub(self.0.servers) {
            None => format!("server {server}"),
            Some(k) => format!(
                "server {} (before a crash took entries back)",
                self.1.history.forgotten[k].server
            ),
        }
    }

    /// A no-op (a new leader's gap filler) or a command some client issued.
    fn is_proposed(&self, entry: &ModelEntry) -> bool {
        match entry {
            Entry::Noop => true,
            Entry::Cmd(cmd) => self
                .0
                .inner
                .actors
                .get(usize::from(cmd.client))
                .is_some_and(|a| matches!(a, MpActor::Client(c) if c.issued(cmd.client, cmd))),
            // Raft's configuration entries: Multi-Paxos proposes none.
            Entry::Config(_) => false,
        }
    }

    fn reapplied(&self, server: usize) -> Option<(ClientId, RequestId)> {
        if server >= self.0.servers {
            // A ghost record: its replica's own state machine says what it applied twice.
            return None;
        }
        let dedup = self.0.cfg().bug != Some(MpBug::NoDedup);
        self.server(server)
            .durable
            .state_machine(dedup)
            .reapplied
            .map(|(client, req)| (usize::from(client), req))
    }
    /// "client 0" for the first client actor, as the printed steps name it.
    fn client_name(&self, client: ClientId) -> String {
        self.0.actor_name(Id::from(client))
    }
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &MpModel, state: &MpModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by the \
             key-value specification (compare what each client was told in the final state)"
                .into(),
        ),
        "Commit" => servers(model, state).enumerate().find_map(|(i, s)| {
            s.durable
                .log
                .iter()
                .find(|(_, e)| matches!(e, Entry::Cmd(_)))
                .map(|(slot, e)| format!("server {i} executed {e:?} from slot {slot}"))
        }),
        "Leader change" => leader_changed(model, state).map(|(early, late)| {
            format!(
                "{:?} was chosen in ballot {:?} and, after a leader change, {:?} in ballot {:?}",
                early.entry, early.ballot, late.entry, late.ballot
            )
        }),
        "Catch-up" => Some("a server answered a catch-up request with chosen entries".into()),
        "Takeover re-proposes an accepted value" => re_proposed(model, state),
        "A leader on each side of a partition" => leaders_apart(model, state),
        "A read answered without the log" => read_answered_without_log(model, state),
        "A crash takes executed entries back" => executed_taken_back(model, state),
        "A takeover learns compacted slots" => behind_compaction(model, state),
        "Compaction only of executed slots" => compacted_unexecuted(model, state),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}
