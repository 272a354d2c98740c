//! The model: the checked configuration, the timing assumption behind failover, the client
//! history, and the properties.

use super::*;
use crate::cluster::in_flight;
use crate::cluster::{Partition, Partitioned};

/// What the model records besides the actors: the clients' operations, checked for
/// linearizability against a key-value map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PbHistory {
    /// Client operations, invoked and answered.
    pub clients: KvHistory<ModelKey, ModelValue>,
    /// Whether the network is split (`--partitions`; always whole without it). Part of the
    /// state's identity.
    pub partition: Partition,
}

impl Partitioned for PbHistory {
    fn partition(&self) -> &Partition {
        &self.partition
    }
    fn partition_mut(&mut self) -> &mut Partition {
        &mut self.partition
    }
}

/// The checked model.
pub type PbModel = ClusterModel<PbActor, PbConfig, PbHistory>;

/// A state of the checked model.
pub type PbModelState = ActorModelState<PbActor, PbHistory>;

/// The configuration of a primary/backup model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PbConfig {
    /// Servers (two), clients, network, crashes (crash-stop).
    pub cluster: ClusterConfig,
    /// When the primary answers a write (`--replication`).
    pub replication: Replication,
    /// Operations per client (`--requests`): put `'A'+c` to x, then compare-and-set it.
    pub requests: usize,
    /// Retries per request, each at the other server (`--retries`).
    pub retries: u8,
    /// The highest epoch: 2 allows one failover.
    pub max_epoch: Epoch,
}

impl Default for PbConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig {
                servers: 2,
                clients: 1,
                crashes: 1,
                ..Default::default()
            },
            replication: Replication::Sync,
            requests: 2,
            retries: 1,
            max_epoch: 2,
        }
    }
}

impl PbConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.servers != 2 {
            return Err(format!(
                "--servers: primary-backup models one primary and one backup (2 servers), got {}",
                self.cluster.servers
            ));
        }
        if self.cluster.crashes > 1 {
            return Err(format!(
                "--crashes: at most 1 for primary-backup (with both servers down nothing \
                 happens), got {}",
                self.cluster.crashes
            ));
        }
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        Ok(())
    }

    /// Whether the "Writes complete" property applies: without loss and without partitions
    /// (with loss and no retransmission, a lost message blocks a write in every mode, which
    /// says nothing about replication; a partition loses the messages across it).
    pub fn checks_blocking(&self) -> bool {
        !self.cluster.lossy && self.cluster.partitions == 0
    }

    /// Builds the model: servers 0 (the first primary) and 1 (the backup), then the clients,
    /// each sending to server 0 first.
    pub fn into_model(self) -> PbModel {
        let peers: Vec<Id> = (0..2).map(Id::from).collect();
        let server = PbServer {
            peers: peers.clone(),
            replication: self.replication,
            max_epoch: self.max_epoch,
        };
        let clients: Vec<PbActor> = (0..self.cluster.clients)
            .map(|c| {
                PbActor::Client(KvClient {
                    servers: peers.clone(),
                    ops: client_ops(c, self.requests),
                    first: 0,
                    max_retries: self.retries,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let partitions = self.cluster.partitions;
        let failover_possible = crashes > 0 || self.cluster.lossy || partitions > 0;
        let blocking = self.checks_blocking();
        let history = PbHistory {
            clients: KvHistory::new(KvSpec::default()),
            partition: Partition::default(),
        };
        let inner = ActorModel::new(self, history)
            .actors((0..2).map(|_| PbActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(|c, h, env| {
                Some(PbHistory {
                    clients: record_request(c, &h.clients, env)?,
                    ..h.clone()
                })
            })
            .record_msg_in(|c, h, env| {
                Some(PbHistory {
                    clients: record_reply(c, &h.clients, env)?,
                    ..h.clone()
                })
            });
        let mut model = ClusterModel::new(inner, 2)
            .crash_stop()
            .partitions(partitions)
            .timers_when(heartbeat_timer_may_fire)
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .always("Single primary", |m, s| two_primaries(m, s).is_none());
        if blocking {
            model = model.always("Writes complete", |m, s| blocked_write(m, s).is_none());
        }
        model = model.sometimes("Write acknowledged", |m, s| {
            write_acknowledged(m, s).is_some()
        });
        if failover_possible {
            model = model.sometimes("Failover", |m, s| failover(m, s).is_some());
        }
        model
    }
}

/// The timing assumption behind failure detection: the network is synchronous, so a
/// heartbeat or its answer always arrives within the period. A backup's heartbeat timer fires
/// only when no heartbeat and no answer between the two servers is in flight to a live
/// server. Without loss, a backup therefore suspects its primary only if the primary crashed
/// (the heartbeat waits at a server that is down); with `--lossy`, also when the network lost
/// the heartbeat or its answer: the detector cannot tell. Other timers (a client's retry,
/// semi-sync's acknowledgement timeout) may fire at any moment: a slow backup is exactly what
/// semi-sync's timeout is for.
pub fn heartbeat_timer_may_fire(m: &PbModel, s: &PbModelState, id: Id, timer: &PbTimer) -> bool {
    if *timer != PbTimer::Heartbeat {
        return true;
    }
    let me = usize::from(id);
    !in_flight(&s.network).into_iter().any(|(env, _)| {
        let between = (usize::from(env.src) == me || usize::from(env.dst) == me)
            && usize::from(env.src) < m.servers
            && usize::from(env.dst) < m.servers;
        let heartbeat = matches!(
            env.msg,
            PbMsg::Heartbeat { .. } | PbMsg::HeartbeatAck { .. }
        );
        between && heartbeat && !s.crashed[usize::from(env.dst)]
    })
}

/// The servers' states, with their indices.
fn servers<'a>(
    m: &PbModel,
    s: &'a PbModelState,
) -> impl Iterator<Item = (usize, &'a ServerState)> + 'a {
    s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .map(|(i, a)| match &**a {
            PbState::Server(x) => (i, x),
            PbState::Client(_) => unreachable!("actors 0..servers are servers"),
        })
}

/// **Single primary** (split brain when violated): at most one live server believes it is the
/// primary. A crashed primary does not count.
pub fn two_primaries(m: &PbModel, s: &PbModelState) -> Option<String> {
    let live: Vec<(usize, &ServerState)> = servers(m, s)
        .filter(|(i, x)| !s.crashed[*i] && x.is_primary())
        .collect();
    match live.as_slice() {
        [(a, x), (b, y), ..] => Some(format!(
            "server {a} (epoch {}) and server {b} (epoch {}) are both live and both primary: \
             each takes writes the other does not see",
            x.epoch, y.epoch
        )),
        _ => None,
    }
}

/// **Writes complete** (termination of a write; violated: the primary *blocks*): no state in
/// which nothing can happen any more (`ClusterModel::quiescent`) while a live primary holds a
/// write it forwarded and cannot answer.
pub fn blocked_write(m: &PbModel, s: &PbModelState) -> Option<String> {
    // Cheap first: a live primary with a pending write.
    let (i, p) = servers(m, s).find(|(i, x)| !s.crashed[*i] && x.pending.is_some())?;
    if !m.quiescent(s) {
        return None;
    }
    let pending = p.pending.as_ref()?;
    let down: Vec<String> = (0..m.servers)
        .filter(|&j| s.crashed[j])
        .map(|j| format!("server {j}"))
        .collect();
    Some(format!(
        "server {i}, primary of epoch {}, holds write {} ({:?} of client {}) and waits for an \
         acknowledgement that cannot come ({} down); nothing else can happen, so the client is \
         never answered",
        p.epoch,
        pending.index,
        pending.cmd.op,
        usize::from(pending.cmd.client) - m.servers,
        if down.is_empty() {
            "no server".to_string()
        } else {
            down.join(", ")
        }
    ))
}

/// A client has the answer to a write (its first operation is a put).
fn write_acknowledged(m: &PbModel, s: &PbModelState) -> Option<String> {
    (m.servers..s.actor_states.len()).find_map(|c| match &*s.actor_states[c] {
        PbState::Client(k) if k.done >= 1 => Some(format!(
            "client {} has the answer to its write",
            c - m.servers
        )),
        _ => None,
    })
}

/// A backup took over: some server is primary of epoch 2 or later.
fn failover(m: &PbModel, s: &PbModelState) -> Option<String> {
    servers(m, s)
        .find(|(_, x)| x.is_primary() && x.epoch >= 2)
        .map(|(i, x)| format!("server {i} took over as the primary of epoch {}", x.epoch))
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &PbModel, state: &PbModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             key-value map: a write acknowledged to a client is missing from what a later \
             operation saw (compare what each client was told)"
                .into(),
        ),
        "Single primary" => two_primaries(model, state),
        "Writes complete" => blocked_write(model, state),
        "Write acknowledged" => write_acknowledged(model, state),
        "Failover" => failover(model, state),
        _ => None,
    }
}
