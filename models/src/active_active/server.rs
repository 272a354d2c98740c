//! The handlers: a replica takes a client's operation (`on_request`: reads and writes
//! locally, a write is stamped and sent on by `propagate`), and reconciles the other replica's
//! writes (`on_update`, last writer wins); then the [`Actor`].

use super::*;

/// A replica's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AaReplica {
    /// Both replicas, in index order.
    pub replicas: Vec<Id>,
    /// The key-value map every replica starts with.
    pub initial: BTreeMap<ModelKey, ModelValue>,
}

/// An active-active actor: a replica or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AaActor {
    /// A replica.
    Replica(AaReplica),
    /// A model client.
    Client(KvClient<ModelKey, ModelValue>),
}

type O = Out<AaActor>;

impl AaReplica {
    fn index(&self, id: Id) -> u8 {
        self.replicas
            .iter()
            .position(|r| *r == id)
            .expect("a replica") as u8
    }

    /// A client's operation, performed on this replica's copy alone and answered at once. A
    /// write (a put, a compare-and-set that swaps) gets the next stamp and is sent on.
    fn on_request(
        &self,
        me: Id,
        s: &mut ReplicaState,
        client: Id,
        r: ClientRequest<ModelKey, ModelValue>,
        o: &mut O,
    ) {
        let mut map = KvSpec(s.store.iter().map(|(k, (v, _))| (*k, *v)).collect());
        let ret = map.apply(&r.op);
        let written = match &r.op {
            KvOp::Get(_) => None,
            KvOp::Put(k, v) => Some((*k, *v)),
            KvOp::Cas { key, to, .. } => (ret == KvRet::CasOk(true)).then_some((*key, *to)),
        };
        if let Some((key, value)) = written {
            s.clock += 1;
            let stamp = Stamp {
                clock: s.clock,
                replica: self.index(me),
            };
            s.store.insert(key, (value, stamp));
            s.local_writes += 1;
            self.propagate(me, key, value, stamp, o);
        }
        o.send(client, AaMsg::Reply(ClientReply::Done { req: r.req, ret }));
    }

    /// Send a write to the other replica.
    fn propagate(&self, me: Id, key: ModelKey, value: ModelValue, stamp: Stamp, o: &mut O) {
        for r in self.replicas.iter().filter(|r| **r != me) {
            o.send(*r, AaMsg::Update { key, value, stamp });
        }
    }

    /// The other replica's write: the clock moves past its stamp, and the write replaces this
    /// replica's value only if its stamp is higher (last writer wins).
    fn on_update(&self, s: &mut ReplicaState, key: ModelKey, value: ModelValue, stamp: Stamp) {
        s.clock = s.clock.max(stamp.clock);
        s.merged += 1;
        if s.store.get(&key).is_none_or(|(_, mine)| stamp > *mine) {
            s.store.insert(key, (value, stamp));
        }
    }
}

impl Actor for AaActor {
    type Msg = AaMsg;
    type State = AaState;
    type Timer = AaTimer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> AaState {
        match self {
            AaActor::Replica(r) => AaState::Replica(ReplicaState {
                store: r
                    .initial
                    .iter()
                    .map(|(k, v)| (*k, (*v, Stamp::default())))
                    .collect(),
                clock: 0,
                local_writes: 0,
                merged: 0,
            }),
            AaActor::Client(c) => AaState::Client(c.on_start(o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<AaState>, src: Id, msg: AaMsg, o: &mut Out<Self>) {
        match (self, &**state) {
            (AaActor::Replica(replica), AaState::Replica(current)) => {
                let mut s = current.clone();
                match msg {
                    AaMsg::Request(r) => replica.on_request(id, &mut s, src, r, o),
                    AaMsg::Update { key, value, stamp } => {
                        replica.on_update(&mut s, key, value, stamp)
                    }
                    // Replicas send replies, they never receive one.
                    AaMsg::Reply(_) => {}
                }
                if s != *current {
                    *state.to_mut() = AaState::Replica(s);
                }
            }
            (AaActor::Client(c), AaState::Client(cs)) => match &msg {
                AaMsg::Reply(r) => {
                    if let Some(next) = c.on_reply(cs, r, o) {
                        *state.to_mut() = AaState::Client(next);
                    }
                }
                // Clients only receive replies.
                AaMsg::Request(_) | AaMsg::Update { .. } => {}
            },
            (AaActor::Replica(_), AaState::Client(_))
            | (AaActor::Client(_), AaState::Replica(_)) => {
                unreachable!("an actor's state matches its kind")
            }
        }
    }

    fn on_timeout(&self, _id: Id, state: &mut Cow<AaState>, timer: &AaTimer, o: &mut Out<Self>) {
        match (self, &**state, timer) {
            (AaActor::Client(c), AaState::Client(cs), AaTimer::Client(_)) => {
                if let Some(next) = c.on_retry(cs, o) {
                    *state.to_mut() = AaState::Client(next);
                }
            }
            // Replicas set no timer.
            (AaActor::Replica(_), _, AaTimer::Client(_)) => {}
            (AaActor::Client(_), AaState::Replica(_), AaTimer::Client(_)) => {
                unreachable!("an actor's state matches its kind")
            }
        }
    }
}
