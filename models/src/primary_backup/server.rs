//! The handlers, in the order a write goes through them: the primary takes a client request
//! (`on_request`: a read is answered at once, a write is forwarded by `replicate`), the backup
//! applies it (`on_replicate`), the primary completes it (`on_ack`, or `on_ack_timeout` in
//! semi-sync); then failure detection and failover (`on_heartbeat_timer`, `on_heartbeat`,
//! `on_heartbeat_ack`, `take_over`), the epoch rule (`observe_epoch`), and the [`Actor`].

use super::*;

/// A server's configuration: its peer, when it answers writes, and the model's bound.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PbServer {
    /// Both servers, in index order (server 0 starts as the primary).
    pub peers: Vec<Id>,
    /// When the primary answers a write.
    pub replication: Replication,
    /// The highest epoch a failover may start (keeps the model finite; one failover at 2).
    pub max_epoch: Epoch,
}

/// A primary/backup actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PbActor {
    /// A server.
    Server(PbServer),
    /// A model client.
    Client(KvClient<ModelKey, ModelValue>),
}

type O = Out<PbActor>;

impl PbServer {
    /// The other server.
    fn peer(&self, me: Id) -> Id {
        *self
            .peers
            .iter()
            .find(|p| **p != me)
            .expect("primary-backup has two servers")
    }

    /// A client request. The backup redirects it to the primary. The primary answers a read
    /// from its own map at once (reads are not replicated), answers a retried write from the
    /// session table, and takes a new write: applied and answered at once in async, forwarded
    /// and held until the backup acknowledges it in sync and semi-sync.
    fn on_request(
        &self,
        me: Id,
        s: &mut ServerState,
        client: Id,
        r: ClientRequest<ModelKey, ModelValue>,
        o: &mut O,
    ) {
        if !s.is_primary() {
            o.send(
                client,
                PbMsg::Reply(ClientReply::NotLeader {
                    req: r.req,
                    leader: Some(self.peer(me)),
                }),
            );
            return;
        }
        if let KvOp::Get(_) = r.op {
            let ret = s.sm.map.clone().apply(&r.op);
            o.send(client, PbMsg::Reply(ClientReply::Done { req: r.req, ret }));
            return;
        }
        if let Some(ret) = s.sm.answered(client, r.req) {
            // A retry of a write already applied here: the recorded answer, not a second
            // effect.
            o.send(
                client,
                PbMsg::Reply(ClientReply::Done {
                    req: r.req,
                    ret: ret.clone(),
                }),
            );
            return;
        }
        if s.sm
            .sessions
            .get(&client)
            .is_some_and(|(last, _)| r.req < *last)
        {
            // An older request of this client: it has its answer already.
            return;
        }
        if s.pending.is_some() {
            // One write at a time: this one waits in the network (a retry of the pending
            // write also waits, and is answered from the session table afterwards).
            return;
        }
        let cmd = r.command(client);
        let index = s.applied + 1;
        match self.replication {
            Replication::Async => {
                self.apply(s, &cmd, o);
                self.replicate(me, s.epoch, index, cmd, o);
            }
            Replication::Sync | Replication::SemiSync => {
                s.pending = Some(Pending {
                    index,
                    cmd: cmd.clone(),
                });
                self.replicate(me, s.epoch, index, cmd, o);
                if self.replication == Replication::SemiSync {
                    o.set_timer(PbTimer::AckTimeout, ack_timeout());
                }
            }
        }
    }

    /// Forward write `index` to the backup.
    fn replicate(
        &self,
        me: Id,
        epoch: Epoch,
        index: u32,
        cmd: Command<ModelKey, ModelValue>,
        o: &mut O,
    ) {
        o.send(self.peer(me), PbMsg::Replicate { epoch, index, cmd });
    }

    /// Apply a write here and answer its client.
    fn apply(&self, s: &mut ServerState, cmd: &Command<ModelKey, ModelValue>, o: &mut O) {
        let entry = crate::kv::Entry::Cmd(cmd.clone());
        let ret = s.sm.apply(&entry, true);
        s.applied += 1;
        if let Some(ret) = ret {
            o.send(
                cmd.client,
                PbMsg::Reply(ClientReply::Done { req: cmd.req, ret }),
            );
        }
    }

    /// The backup applies the next write, in the primary's order, and acknowledges it.
    fn on_replicate(
        &self,
        s: &mut ServerState,
        src: Id,
        epoch: Epoch,
        index: u32,
        cmd: Command<ModelKey, ModelValue>,
        o: &mut O,
    ) {
        if epoch < s.epoch {
            // From a primary of an earlier epoch (deposed): fenced off.
            return;
        }
        if s.is_primary() {
            // Same epoch, two primaries: cannot happen with one failover per epoch (a
            // replicate of a higher epoch made this server a backup in `observe_epoch`).
            return;
        }
        if index != s.applied + 1 {
            // Not the next write: already applied (`index <= applied`; a split brain's
            // deposed primary keeps the writes it applied alone), or an earlier one is still
            // in flight (this one waits in the network).
            return;
        }
        let entry = crate::kv::Entry::Cmd(cmd);
        // The backup answers no client: the primary does.
        let _ = s.sm.apply(&entry, true);
        s.applied = index;
        o.send(src, PbMsg::Ack { epoch, index });
    }

    /// The primary completes the pending write once the backup has applied it: applies it
    /// itself and answers the client.
    fn on_ack(&self, s: &mut ServerState, epoch: Epoch, index: u32, o: &mut O) {
        if epoch < s.epoch || !s.is_primary() {
            // An acknowledgement to an earlier epoch, or to a primary that has stepped down.
            return;
        }
        let Some(p) = s.pending.take_if(|p| p.index == index) else {
            // For a write answered already (semi-sync after its timeout; async never waits).
            return;
        };
        if self.replication == Replication::SemiSync {
            o.cancel_timer(PbTimer::AckTimeout);
        }
        self.apply(s, &p.cmd, o);
    }

    /// Semi-sync: the acknowledgement did not come in time; apply and answer anyway.
    fn on_ack_timeout(&self, s: &mut ServerState, o: &mut O) {
        let Some(p) = s.pending.take() else {
            // The write was acknowledged meanwhile (the timer was cancelled) or the primary
            // stepped down.
            return;
        };
        self.apply(s, &p.cmd, o);
    }

    /// A backup's heartbeat period ended. If its last heartbeat is unanswered, it suspects
    /// the primary and takes over; otherwise it sends the next heartbeat.
    fn on_heartbeat_timer(&self, me: Id, s: &mut ServerState, o: &mut O) {
        if s.is_primary() {
            // A primary watches no one (the timer of its time as a backup).
            return;
        }
        if s.awaiting_heartbeat {
            self.take_over(s);
            return;
        }
        s.awaiting_heartbeat = true;
        o.send(self.peer(me), PbMsg::Heartbeat { epoch: s.epoch });
        o.set_timer(PbTimer::Heartbeat, heartbeat_period());
    }

    /// Failover: the backup becomes the primary of the next epoch, with the writes it has.
    fn take_over(&self, s: &mut ServerState) {
        if s.epoch >= self.max_epoch {
            // The model's bound: no further failover.
            return;
        }
        s.epoch += 1;
        s.role = Role::Primary;
        s.awaiting_heartbeat = false;
    }

    /// The primary answers a heartbeat with its epoch. A backup does not answer (the asker
    /// will suspect its primary; with two servers this is the deposed primary of a split
    /// brain asking the new one, which has stepped down only if it heard of a higher epoch).
    fn on_heartbeat(&self, s: &ServerState, src: Id, o: &mut O) {
        if s.is_primary() {
            o.send(src, PbMsg::HeartbeatAck { epoch: s.epoch });
        }
    }

    /// The backup heard from its primary this period.
    fn on_heartbeat_ack(&self, s: &mut ServerState, epoch: Epoch) {
        if epoch < s.epoch || s.is_primary() {
            // From a deposed primary, or to a server that has taken over since it asked.
            return;
        }
        s.awaiting_heartbeat = false;
    }

    /// The epoch rule, before any server-to-server message is handled: a higher epoch is
    /// adopted, and a primary that sees one steps down (it was deposed by a failover) and
    /// starts watching the new primary.
    fn observe_epoch(&self, s: &mut ServerState, epoch: Epoch, o: &mut O) {
        if epoch <= s.epoch {
            return;
        }
        s.epoch = epoch;
        if s.is_primary() {
            s.role = Role::Backup;
            // The pending write's client is not answered; it retries at the new primary.
            s.pending = None;
            s.awaiting_heartbeat = false;
            if self.replication == Replication::SemiSync {
                o.cancel_timer(PbTimer::AckTimeout);
            }
            o.set_timer(PbTimer::Heartbeat, heartbeat_period());
        }
    }
}

impl Actor for PbActor {
    type Msg = PbMsg;
    type State = PbState;
    type Timer = PbTimer;
    type Random = ();
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> PbState {
        match self {
            PbActor::Server(server) => {
                let primary = id == server.peers[0];
                if !primary {
                    o.set_timer(PbTimer::Heartbeat, heartbeat_period());
                }
                PbState::Server(ServerState {
                    epoch: 1,
                    role: if primary { Role::Primary } else { Role::Backup },
                    sm: KvStateMachine::default(),
                    applied: 0,
                    pending: None,
                    awaiting_heartbeat: false,
                })
            }
            PbActor::Client(c) => PbState::Client(c.on_start(o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<PbState>, src: Id, msg: PbMsg, o: &mut Out<Self>) {
        match (self, &**state) {
            (PbActor::Server(server), PbState::Server(current)) => {
                let mut s = current.clone();
                if let Some(epoch) = msg.epoch() {
                    server.observe_epoch(&mut s, epoch, o);
                }
                match msg {
                    PbMsg::Request(r) => server.on_request(id, &mut s, src, r, o),
                    PbMsg::Replicate { epoch, index, cmd } => {
                        server.on_replicate(&mut s, src, epoch, index, cmd, o)
                    }
                    PbMsg::Ack { epoch, index } => server.on_ack(&mut s, epoch, index, o),
                    PbMsg::Heartbeat { .. } => server.on_heartbeat(&s, src, o),
                    PbMsg::HeartbeatAck { epoch } => server.on_heartbeat_ack(&mut s, epoch),
                    // Servers send replies, they never receive one.
                    PbMsg::Reply(_) => {}
                }
                if s != *current {
                    *state.to_mut() = PbState::Server(s);
                }
            }
            (PbActor::Client(c), PbState::Client(cs)) => match &msg {
                PbMsg::Reply(r) => {
                    if let Some(next) = c.on_reply(cs, r, o) {
                        *state.to_mut() = PbState::Client(next);
                    }
                }
                // Clients only receive replies; nothing else is addressed to them.
                PbMsg::Request(_)
                | PbMsg::Replicate { .. }
                | PbMsg::Ack { .. }
                | PbMsg::Heartbeat { .. }
                | PbMsg::HeartbeatAck { .. } => {}
            },
            (PbActor::Server(_), PbState::Client(_)) | (PbActor::Client(_), PbState::Server(_)) => {
                unreachable!("an actor's state matches its kind")
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<PbState>, timer: &PbTimer, o: &mut Out<Self>) {
        match (self, &**state) {
            (PbActor::Server(server), PbState::Server(current)) => {
                let mut s = current.clone();
                match timer {
                    PbTimer::Heartbeat => server.on_heartbeat_timer(id, &mut s, o),
                    PbTimer::AckTimeout => server.on_ack_timeout(&mut s, o),
                    // Servers set no client timer.
                    PbTimer::Client(_) => {}
                }
                if s != *current {
                    *state.to_mut() = PbState::Server(s);
                }
            }
            (PbActor::Client(c), PbState::Client(cs)) => match timer {
                PbTimer::Client(_) => {
                    if let Some(next) = c.on_retry(cs, o) {
                        *state.to_mut() = PbState::Client(next);
                    }
                }
                // Clients set only their retry timer.
                PbTimer::Heartbeat | PbTimer::AckTimeout => {}
            },
            (PbActor::Server(_), PbState::Client(_)) | (PbActor::Client(_), PbState::Server(_)) => {
                unreachable!("an actor's state matches its kind")
            }
        }
    }
}
