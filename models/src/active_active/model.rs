//! The model: the checked configuration, the client history, and the properties.

use super::*;
use crate::cluster::{Partition, Partitioned};

/// What the model records besides the actors: the clients' operations, checked for
/// linearizability against a key-value map that starts with x = 'A'.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AaHistory {
    /// Client operations, invoked and answered.
    pub clients: KvHistory<ModelKey, ModelValue>,
    /// Whether the network is split (`--partitions`; always whole without it). Part of the
    /// state's identity.
    pub partition: Partition,
}

impl Partitioned for AaHistory {
    fn partition(&self) -> &Partition {
        &self.partition
    }
    fn partition_mut(&mut self) -> &mut Partition {
        &mut self.partition
    }
}

/// The checked model.
pub type AaModel = ClusterModel<AaActor, AaConfig, AaHistory>;

/// A state of the checked model.
pub type AaModelState = ActorModelState<AaActor, AaHistory>;

/// The key every operation is on, and its initial value.
pub const INITIAL: (ModelKey, ModelValue) = ('x', 'A');

/// The configuration of an active-active model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AaConfig {
    /// Replicas (two), clients, network. No crashes.
    pub cluster: ClusterConfig,
    /// Operations per client (`--requests`): compare-and-set x from 'A' to `'a'+c`, then read
    /// x.
    pub requests: usize,
}

impl Default for AaConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig {
                servers: 2,
                clients: 2,
                crashes: 0,
                ..Default::default()
            },
            requests: 1,
        }
    }
}

impl AaConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.servers != 2 {
            return Err(format!(
                "--servers: active-active models two replicas (2 servers), got {}",
                self.cluster.servers
            ));
        }
        if self.cluster.crashes != 0 {
            return Err(
                "--crashes: active-active replicas do not crash in this model (the lost update \
                 needs no fault)"
                    .into(),
            );
        }
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values a..z), got {}",
                self.cluster.clients
            ));
        }
        if !(1..=2).contains(&self.requests) {
            return Err(format!(
                "--requests: 1 (compare-and-set) or 2 (then read), got {}",
                self.requests
            ));
        }
        Ok(())
    }

    /// Client `c`'s operations: compare-and-set x from 'A' to `'a'+c`, then (with 2 requests)
    /// read x.
    pub fn client_ops(&self, c: usize) -> Vec<KvOp<ModelKey, ModelValue>> {
        let (key, from) = INITIAL;
        let mut ops = vec![KvOp::Cas {
            key,
            from,
            to: (b'a' + c as u8) as char,
        }];
        if self.requests >= 2 {
            ops.push(KvOp::Get(key));
        }
        ops
    }

    /// Builds the model: replicas 0 and 1, then the clients; client c talks to replica c mod 2.
    pub fn into_model(self) -> AaModel {
        let replicas: Vec<Id> = (0..2).map(Id::from).collect();
        let initial: BTreeMap<ModelKey, ModelValue> = [INITIAL].into();
        let replica = AaReplica {
            replicas: replicas.clone(),
            initial: initial.clone(),
        };
        let clients: Vec<AaActor> = (0..self.cluster.clients)
            .map(|c| {
                AaActor::Client(KvClient {
                    servers: replicas.clone(),
                    ops: self.client_ops(c),
                    first: c % 2,
                    max_retries: 0,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let lossy_net = lossy(self.cluster.lossy);
        let partitions = self.cluster.partitions;
        let history = AaHistory {
            clients: KvHistory::new(KvSpec(initial)),
            partition: Partition::default(),
        };
        let inner = ActorModel::new(self, history)
            .actors((0..2).map(|_| AaActor::Replica(replica.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .record_msg_out(|c, h, env| {
                Some(AaHistory {
                    clients: record_request(c, &h.clients, env)?,
                    ..h.clone()
                })
            })
            .record_msg_in(|c, h, env| {
                Some(AaHistory {
                    clients: record_reply(c, &h.clients, env)?,
                    ..h.clone()
                })
            });
        ClusterModel::new(inner, 2)
            .partitions(partitions)
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .always("Convergence", |m, s| diverged(m, s).is_none())
            .sometimes("Concurrent writes reconciled", |m, s| {
                reconciled(m, s).is_some()
            })
    }
}

fn replicas<'a>(
    m: &AaModel,
    s: &'a AaModelState,
) -> impl Iterator<Item = (usize, &'a ReplicaState)> + 'a {
    s.actor_states[..m.servers]
        .iter()
        .enumerate()
        .map(|(i, a)| match &**a {
            AaState::Replica(r) => (i, r),
            AaState::Client(_) => unreachable!("actors 0..servers are replicas"),
        })
}

/// **Convergence** (eventual consistency): once no update is in flight, the replicas hold the
/// same value for every key. (On a lossy network an update may never arrive, so this is
/// checked on reliable networks only in the suite.)
pub fn diverged(m: &AaModel, s: &AaModelState) -> Option<String> {
    if crate::cluster::in_flight(&s.network)
        .iter()
        .any(|(env, _)| matches!(env.msg, AaMsg::Update { .. }))
    {
        return None;
    }
    let all: Vec<_> = replicas(m, s).collect();
    let values = |r: &ReplicaState| -> BTreeMap<ModelKey, ModelValue> {
        r.store.iter().map(|(k, (v, _))| (*k, *v)).collect()
    };
    let (a, b) = (values(all[0].1), values(all[1].1));
    (a != b).then(|| {
        format!("no update is in flight, yet replica 0 holds {a:?} and replica 1 holds {b:?}")
    })
}

/// Both replicas accepted a write, each received the other's, and they agree.
fn reconciled(m: &AaModel, s: &AaModelState) -> Option<String> {
    let all: Vec<_> = replicas(m, s).collect();
    let both = all
        .iter()
        .all(|(_, r)| r.local_writes >= 1 && r.merged >= 1);
    let (x0, x1) = (
        all[0].1.store.get(&INITIAL.0),
        all[1].1.store.get(&INITIAL.0),
    );
    (both && x0 == x1).then(|| {
        format!(
            "both replicas accepted a write and received the other's; both hold x = {:?} \
             (stamp {:?}): the other write is gone",
            x0.map(|(v, _)| *v),
            x0.map(|(_, s)| *s)
        )
    })
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &AaModel, state: &AaModelState, property: &str) -> Option<String> {
    match property {
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             key-value map: two compare-and-sets from the same value both succeeded, and last \
             writer wins erases one of them (a lost update)"
                .into(),
        ),
        "Convergence" => diverged(model, state),
        "Concurrent writes reconciled" => reconciled(model, state),
        _ => None,
    }
}
