//! One server: the protocol's actor driven over UDP exactly as Stateright's `ActorModel` drives
//! it in the checker — `on_start` with the saved storage, then `on_msg`, `on_timeout` and
//! `on_random` — with the commands of each step carried out in order, under one rule: the step's
//! `Save` is written durably *before* any of its messages is sent.
//!
//! **Group commit.** [`Node::run`] serves in batches: it waits for one datagram, then takes
//! without waiting what else is queued on the socket (at most [`BATCH_MAX`] datagrams, and for
//! at most [`BATCH_MAX_DELAY`]), and the timers that are due, and runs each through the actor
//! one step at a time, as before. The steps' timers and random choices take effect at once; their
//! saves and messages are held. Then the batch is committed: the messages of the steps before the
//! batch's first save are sent (they depend on nothing unsaved: every earlier batch is durable);
//! the storage of the batch's last save (each save replaces the storage, so it contains every
//! earlier save of the batch) is written as one journal record and made durable with one
//! `fdatasync`; and only then are the messages of the other steps sent, in order. So no message
//! of any step leaves before that step's save, and every save before it, is durable ("save
//! before send" for every step), and one sync serves every step of the batch. A crash before the
//! sync loses the steps from the first save on — storage and messages — which is a crash right
//! after the steps before it; a crash after it is a crash after the last step with its messages
//! still in flight. Nothing here depends on the protocol; Raft's leader, writing to its disk in
//! parallel (dissertation §10.2.1), has steps that save nothing, and its write timer fires last
//! in a batch ([`Served::fires_last`]), so that the batch's AppendEntries leave before its
//! sync.
//!
//! **Packing.** When the batch's messages are sent, those to the same peer share datagrams
//! ([`pack`]): several messages to one peer, in order, in one frame of kind `Pack`, up to the
//! payload limit; a receiver delivers them one by one, each a step of its own, as the model's
//! network would deliver them. Replies to clients are not packed.
//!
//! The receive path ([`Node::receive`]) never panics on input: a datagram that fails validation,
//! a server-to-server message from an address that is not a configured peer, or a reply meant for
//! a client is dropped and counted. A panic inside the actor's handler (an actor bug) discards the
//! step: the state, the storage and the network are left as they were, and it is counted.
//!
//! The actor knows a client by its session ([`session_id`]), not by its address: two client
//! processes that send from the same address one after the other are two clients. The node
//! remembers the address it last heard each session from ([`ROUTE_CAP`] sessions at most) and
//! sends the actor's replies there.

use super::codec::{self, Codec, Kind, WireReply, WireRequest};
use super::fragment::{self, Added, Reassembler};
use super::journal::Journaled;
use super::pack::{self, Packer};
use super::served::{ActorMsg, ActorStorage, Served, addr, id, session_id, session_of};
use super::storage::{StorageError, Store};
use super::transport::{Counters, Faults, PartitionFile, Transport};
use ballot_models::kv::Recency;
use ballot_properties::linearizability::RequestId;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thiserror::Error;

/// A node's configuration.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's index in `peers`.
    pub index: usize,
    /// Every server's address, this one included, in index order.
    pub peers: Vec<SocketAddrV4>,
    /// This node's data directory.
    pub data: PathBuf,
    /// The codec (with the shared key, if any).
    pub codec: Codec,
    /// Faults injected on outgoing datagrams.
    pub faults: Faults,
    /// How often to log the counters (`None`: never).
    pub stats_every: Option<Duration>,
    /// The file that lists the peers this node is cut off from (`--partition-file`; see
    /// [`PartitionFile`]).
    pub partition_file: Option<PathBuf>,
    /// Log compaction: the actor snapshots once this many applied entries lie beyond its
    /// snapshot (`--snapshot-every`, [`Served::snapshot`]); 0: never.
    pub snapshot_every: u64,
    /// The initial configuration, as indices into `peers` (`--members`; Raft's membership
    /// changes, [`Served::server_with`]); `None`: every peer.
    pub members: Option<Vec<usize>>,
}

/// A batch that takes longer than this, from its first datagram to its last message sent, is
/// counted (`slow_batches`) and logged at warning level.
pub const SLOW_BATCH: Duration = Duration::from_millis(50);

/// The default of `--snapshot-every`: the storage holds at most about this many applied
/// entries besides the state machine.
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 1000;

impl NodeConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.peers.is_empty() {
            return Err("--peers must list at least one address".into());
        }
        let most = ballot_models::cluster::MAX_SERVERS;
        if self.peers.len() > most {
            return Err(format!(
                "--peers lists {} servers; a cluster has at most {most} (the protocols' server \
                 sets)",
                self.peers.len()
            ));
        }
        if self.index >= self.peers.len() {
            return Err(format!(
                "--id must be below the number of --peers ({}), got {}",
                self.peers.len(),
                self.index
            ));
        }
        for (i, p) in self.peers.iter().enumerate() {
            if self.peers[..i].contains(p) {
                return Err(format!("--peers lists {p} twice"));
            }
            if p.port() == 0 {
                return Err(format!("--peers: {p} needs a port"));
            }
        }
        if let Some(members) = &self.members {
            if members.is_empty() {
                return Err("--members must list at least one server".into());
            }
            for (k, &m) in members.iter().enumerate() {
                if m >= self.peers.len() {
                    return Err(format!(
                        "--members: {m} is not an index of --peers (0..{})",
                        self.peers.len()
                    ));
                }
                if members[..k].contains(&m) {
                    return Err(format!("--members lists {m} twice"));
                }
            }
        }
        self.faults.validate()
    }

    /// This node's address.
    pub fn addr(&self) -> SocketAddrV4 {
        self.peers[self.index]
    }
}

/// Why a node stops.
#[derive(Debug, Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// The storage cannot be loaded or written.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The node's address cannot be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddrV4,
        /// The cause.
        source: std::io::Error,
    },
    /// The socket failed.
    #[error("socket error on {addr}: {source}")]
    Socket {
        /// The address.
        addr: SocketAddrV4,
        /// The cause.
        source: std::io::Error,
    },
}

/// What became of one datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Delivered to the actor.
    Delivered,
    /// A stats request, answered.
    Stats,
    /// A client request the protocol cannot perform, refused with a reply.
    Refused,
    /// Dropped: failed validation.
    Malformed,
    /// Dropped: a server-to-server message from an address that is not a peer.
    NotPeer,
    /// Dropped: a server-to-server message from a peer the partition file cuts off.
    Cut,
    /// Dropped: a kind a node does not accept, or an IPv6 sender.
    Unexpected,
    /// Delivered, but the actor's handler panicked: the step was discarded.
    Panicked,
    /// A fragment of a message not yet complete (or a duplicate of one received): kept.
    Fragment,
}

/// The most client sessions a node remembers an address for: the ones it heard from most
/// recently. A reply to a session it forgot is dropped (and counted); the client's retry, from
/// its address, teaches the node the address again.
pub const ROUTE_CAP: usize = 100_000;

/// Where to send a client session's replies: the address the session was last heard from.
#[derive(Default)]
struct Routes {
    addrs: HashMap<u64, SocketAddrV4>,
    recency: Recency<u64>,
}

impl Routes {
    fn heard(&mut self, session: u64, from: SocketAddrV4) {
        self.addrs.insert(session, from);
        if let Some(forgotten) = self.recency.touch_capped(&session, ROUTE_CAP) {
            self.addrs.remove(&forgotten);
        }
    }

    fn get(&self, session: u64) -> Option<SocketAddrV4> {
        self.addrs.get(&session).copied()
    }
}

/// The most datagrams a batch takes from the socket before it is committed (one sync).
pub const BATCH_MAX: usize = 64;

/// The longest a batch keeps taking queued datagrams before it is committed: bounds the delay
/// that group commit adds to the first step of a batch.
pub const BATCH_MAX_DELAY: Duration = Duration::from_millis(2);

/// A running server.
pub struct Node<S: Served>
where
    ActorStorage<S>: Journaled,
{
    actor: S::Actor,
    me: Id,
    addr: SocketAddrV4,
    peers: Vec<SocketAddrV4>,
    state: <S::Actor as Actor>::State,
    /// The storage, which also keeps the value saved last (the base of the next journal
    /// record). The node keeps no other copy: one sharing the actor's `Arc`s would make the
    /// actor's next `Arc::make_mut` copy a whole Raft log.
    store: Store<ActorStorage<S>>,
    timers: HashMap<<S::Actor as Actor>::Timer, Instant>,
    randoms: BTreeMap<String, <S::Actor as Actor>::Random>,
    routes: Routes,
    codec: Codec,
    transport: Transport,
    rng: SmallRng,
    counters: Counters,
    stats_every: Option<Duration>,
    started: Instant,
    /// The storage of the batch's last save, not written yet.
    pending_save: Option<ActorStorage<S>>,
    /// The messages of the batch's steps, held until the batch's save is durable.
    outbox: Vec<(Id, ActorMsg<S>)>,
    /// How many of `outbox`'s messages were staged before the batch's first save: they depend
    /// on nothing unsaved and leave before the sync. `None` while the batch has saved nothing.
    before_save: Option<usize>,
    /// The state before the batch's first step, while the batch is open (restored if the save
    /// fails, as a failed step leaves it).
    batch_base: Option<<S::Actor as Actor>::State>,
    /// Steps run in the open batch.
    batch_steps: u64,
    /// How long the current batch's save took (0: it saved nothing), for the slow-batch log.
    batch_save_us: u64,
    /// The peers this node is cut off from, read from `--partition-file`.
    partition: Option<PartitionFile>,
    /// `--snapshot-every`.
    snapshot_every: u64,
    /// Messages from peers partly received in fragments.
    reassembler: Reassembler,
    /// The id of the next message this node sends in fragments.
    next_message_id: u64,
}

impl<S: Served> Node<S>
where
    ActorStorage<S>: Journaled,
{
    /// Binds the node's address, loads its storage (an error if it is damaged) and starts the
    /// actor.
    pub fn start(cfg: NodeConfig) -> Result<Self, NodeError> {
        cfg.validate().map_err(NodeError::Config)?;
        let addr = cfg.addr();
        let socket = UdpSocket::bind(addr).map_err(|source| NodeError::Bind { addr, source })?;
        Self::with_socket(cfg, socket)
    }

    /// Starts the node on an already bound socket (whose address must be `cfg.addr()`).
    pub fn with_socket(cfg: NodeConfig, socket: UdpSocket) -> Result<Self, NodeError> {
        cfg.validate().map_err(NodeError::Config)?;
        let addr = cfg.addr();
        let mut store = Store::open(&cfg.data, S::NAME, addr)?;
        let saved: Option<ActorStorage<S>> = store.load()?;
        match &saved {
            Some(s) => {
                // The whole storage only at debug level: a long-running Raft node's is megabytes.
                tracing::info!(file = %store.path().display(), "recovered");
                tracing::debug!(storage = ?s, "recovered storage");
            }
            None if S::lost_storage().is_some() => tracing::info!(
                file = %store.path().display(),
                "no storage: rejoining — no vote until it has heard from every peer and caught up"
            ),
            None => tracing::info!(file = %store.path().display(), "no storage file: a fresh node"),
        }
        // A node without storage may have lost it: the protocol says what it starts with.
        let saved = saved.or_else(S::lost_storage);
        let me = id(addr);
        let actor = S::server_with(
            cfg.peers.iter().copied().map(id).collect(),
            cfg.members.as_deref(),
        );
        let mut rng = SmallRng::from_os_rng();
        let rcvbuf = match super::transport::size_buffers(&socket, super::transport::SOCKET_BUFFER)
        {
            Ok(granted) => granted,
            Err(e) => {
                tracing::warn!(error = %e, "socket buffers left at the kernel's default");
                0
            }
        };
        let transport = Transport::new(socket, cfg.faults, SmallRng::from_rng(&mut rng));
        let mut out = Out::new();
        let state = actor.on_start(me, &saved, &mut out);
        let partition = cfg
            .partition_file
            .map(|path| PartitionFile::new(path, addr, &cfg.peers));
        let mut node = Self {
            actor,
            me,
            addr,
            peers: cfg.peers,
            state,
            store,
            timers: HashMap::new(),
            randoms: BTreeMap::new(),
            routes: Routes::default(),
            codec: cfg.codec,
            transport,
            rng,
            counters: Counters {
                socket_rcvbuf: rcvbuf,
                ..Counters::default()
            },
            stats_every: cfg.stats_every,
            started: Instant::now(),
            pending_save: None,
            outbox: Vec::new(),
            before_save: None,
            batch_base: None,
            batch_steps: 0,
            batch_save_us: 0,
            partition,
            snapshot_every: cfg.snapshot_every,
            reassembler: Reassembler::default(),
            next_message_id: rand::random(),
        };
        node.stage(out);
        node.commit()?;
        Ok(node)
    }

    /// The node's address.
    pub fn addr(&self) -> SocketAddrV4 {
        self.addr
    }

    /// The counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The storage last saved (or recovered).
    pub fn saved(&self) -> Option<&ActorStorage<S>> {
        self.store.last()
    }

    /// The actor's state.
    pub fn state(&self) -> &<S::Actor as Actor>::State {
        &self.state
    }

    /// The storage's snapshot file.
    pub fn storage_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// The storage's journal file.
    pub fn journal_path(&self) -> &std::path::Path {
        self.store.journal_path()
    }

    /// Handles one datagram from `src`: validates it, and delivers it to the actor if it is a
    /// client request or a server-to-server message from a configured peer; then commits (a
    /// batch of one step: its save, synced, then its messages). Errors only if the save fails;
    /// then nothing of the step is kept or sent.
    pub fn receive(&mut self, src: SocketAddr, bytes: &[u8]) -> Result<Received, NodeError> {
        let received = self.take(src, bytes);
        self.commit()?;
        Ok(received)
    }

    /// [`Self::receive`] without the commit: the step joins the open batch.
    fn take(&mut self, src: SocketAddr, bytes: &[u8]) -> Received {
        self.counters.datagrams_in += 1;
        let SocketAddr::V4(src) = src else {
            self.counters.dropped_unexpected += 1;
            return Received::Unexpected;
        };
        let (kind, payload) = match self.codec.decode_frame(bytes) {
            Ok(frame) => frame,
            Err(e) => return self.malformed(src, &e),
        };
        match kind {
            Kind::Peer | Kind::Fragment | Kind::Pack => {
                if !self.peers.contains(&src) {
                    self.counters.dropped_not_peer += 1;
                    tracing::debug!(%src, "server-to-server message from a non-peer: dropped");
                    return Received::NotPeer;
                }
                self.refresh_partition();
                if self.partition.as_ref().is_some_and(|p| p.cuts(src)) {
                    self.counters.partition_drops_in += 1;
                    tracing::trace!(%src, "server-to-server message from a peer cut off: dropped");
                    return Received::Cut;
                }
                if kind == Kind::Pack {
                    return self.take_pack(src, payload);
                }
                let whole;
                let payload = if kind == Kind::Fragment {
                    self.counters.fragments_in += 1;
                    let (added, given_up) = self.reassembler.add(src, payload, Instant::now());
                    self.counters.reassembly_expired += given_up;
                    match added {
                        Ok(Added::Complete(p)) => {
                            self.counters.reassembled += 1;
                            whole = p;
                            &whole[..]
                        }
                        Ok(Added::Pending | Added::Duplicate) => return Received::Fragment,
                        Err(e) => {
                            self.counters.fragments_rejected += 1;
                            self.counters.dropped_malformed += 1;
                            tracing::debug!(%src, error = %e, "malformed fragment dropped");
                            return Received::Malformed;
                        }
                    }
                } else {
                    payload
                };
                let msg: ActorMsg<S> = match codec::parse(payload) {
                    Ok(m) => m,
                    Err(e) => return self.malformed(src, &e),
                };
                tracing::debug!(%src, ?msg, "received");
                if S::is_snapshot(&msg) {
                    self.counters.install_snapshots_in += 1;
                }
                self.deliver(id(src), msg)
            }
            Kind::Request => {
                let request: WireRequest = match codec::parse(payload) {
                    Ok(r) => r,
                    Err(e) => return self.malformed(src, &e),
                };
                match request {
                    WireRequest::Stats => {
                        let stats = self.stats();
                        self.reply(src, &WireReply::Stats(stats));
                        Received::Stats
                    }
                    WireRequest::Op { session, req, op } => {
                        let msg = S::request(req, op);
                        self.request(src, session, req, msg)
                    }
                    WireRequest::Admin { session, req, op } => {
                        let msg = S::admin(req, op);
                        self.request(src, session, req, msg)
                    }
                }
            }
            Kind::Reply => {
                // Replies are meant for clients; a server sends no requests.
                self.counters.dropped_unexpected += 1;
                Received::Unexpected
            }
        }
    }

    /// A pack of messages from peer `src` ([`pack`]): every message parsed first, then each
    /// delivered in order as a step of its own. A malformed pack, or one with a message that
    /// does not parse, is dropped whole: none of its messages is delivered.
    fn take_pack(&mut self, src: SocketAddrV4, payload: &[u8]) -> Received {
        let msgs: Result<Vec<ActorMsg<S>>, codec::DecodeError> = pack::decode(payload)
            .map_err(codec::DecodeError::from)
            .and_then(|items| items.into_iter().map(codec::parse).collect());
        let msgs = match msgs {
            Ok(msgs) => msgs,
            Err(e) => {
                self.counters.packs_rejected += 1;
                return self.malformed(src, &e);
            }
        };
        self.counters.packs_in += 1;
        let mut received = Received::Delivered;
        for msg in msgs {
            tracing::debug!(%src, ?msg, "received (packed)");
            if S::is_snapshot(&msg) {
                self.counters.install_snapshots_in += 1;
            }
            if self.deliver(id(src), msg) == Received::Panicked {
                received = Received::Panicked;
            }
        }
        received
    }

    /// A client's operation or an administrator's request, as the protocol's message (`msg`):
    /// delivered to the actor from the client's session, or refused with a reply if the
    /// protocol cannot perform it.
    fn request(
        &mut self,
        src: SocketAddrV4,
        session: u64,
        req: RequestId,
        msg: Result<ActorMsg<S>, String>,
    ) -> Received {
        let Some(client) = session_id(session) else {
            return self.malformed(src, &codec::DecodeError::Session(session));
        };
        let msg = msg.and_then(|msg| {
            let len = serde_json::to_vec(&msg).map_or(usize::MAX, |b| b.len());
            if len > codec::MAX_OPERATION {
                Err(format!(
                    "operation too large: {len} bytes encoded, the limit is {}",
                    codec::MAX_OPERATION
                ))
            } else {
                Ok(msg)
            }
        });
        match msg {
            Ok(msg) => {
                self.counters.client_requests += 1;
                tracing::debug!(%src, session, ?msg, "client request");
                self.routes.heard(session, src);
                self.deliver(client, msg)
            }
            Err(reason) => {
                let refused = WireReply::Refused {
                    session,
                    req,
                    reason,
                };
                self.reply(src, &refused);
                Received::Refused
            }
        }
    }

    /// Reads the partition file again if it is due and changed.
    fn refresh_partition(&mut self) {
        if let Some(p) = &mut self.partition {
            p.refresh(Instant::now(), self.addr, &self.peers);
        }
    }

    fn malformed(&mut self, src: SocketAddrV4, e: &codec::DecodeError) -> Received {
        self.counters.dropped_malformed += 1;
        if *e == codec::DecodeError::BadMac {
            self.counters.dropped_bad_mac += 1;
        }
        tracing::debug!(%src, reason = e.reason(), error = %e, "malformed datagram dropped");
        Received::Malformed
    }

    /// Delivers `msg` from `src` (a peer's address-derived id or a client's session id).
    fn deliver(&mut self, src: Id, msg: ActorMsg<S>) -> Received {
        self.counters.delivered += 1;
        let me = self.me;
        if self.step(|actor, state, out| actor.on_msg(me, state, src, msg, out)) {
            Received::Delivered
        } else {
            Received::Panicked
        }
    }

    /// Runs one handler on a borrowed state; keeps the new state and stages the commands in the
    /// open batch, or, if the handler panics, discards both. Returns false on a panic.
    fn step<F>(&mut self, handler: F) -> bool
    where
        F: FnOnce(&S::Actor, &mut Cow<<S::Actor as Actor>::State>, &mut Out<S::Actor>),
    {
        let mut out = Out::new();
        let (actor, state) = (&self.actor, &self.state);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut cow = Cow::Borrowed(state);
            handler(actor, &mut cow, &mut out);
            match cow {
                Cow::Owned(next) => Some(next),
                Cow::Borrowed(_) => None,
            }
        }));
        match result {
            Ok(next) => {
                self.stage(out);
                if let Some(next) = next {
                    let before = std::mem::replace(&mut self.state, next);
                    // The state before the batch (moved, not copied), in case its save fails.
                    self.batch_base.get_or_insert(before);
                }
                true
            }
            Err(panic) => {
                self.counters.handler_panics += 1;
                let what = crate::panic_message(panic.as_ref());
                tracing::error!(panic = what, "handler panicked: step discarded");
                false
            }
        }
    }

    /// Stages a step's commands in the open batch: its save replaces the batch's pending save
    /// (each save replaces the whole storage), its timers and random choices take effect now,
    /// its messages wait in the outbox, in order, until [`Self::commit`].
    fn stage(&mut self, out: Out<S::Actor>) {
        self.batch_steps += 1;
        let now = Instant::now();
        for command in out {
            match command {
                Command::Save(storage) => {
                    self.before_save.get_or_insert(self.outbox.len());
                    self.pending_save = Some(storage);
                }
                Command::SetTimer(timer, range) => {
                    let wait = if range.start < range.end {
                        self.rng.random_range(range)
                    } else {
                        range.start
                    };
                    self.timers.insert(timer, now + wait);
                }
                Command::CancelTimer(timer) => {
                    self.timers.remove(&timer);
                }
                Command::ChooseRandom(key, choices) => {
                    if choices.is_empty() {
                        self.randoms.remove(&key);
                    } else {
                        let pick = choices[self.rng.random_range(0..choices.len())].clone();
                        self.randoms.insert(key, pick);
                    }
                }
                Command::Send(dst, msg) => self.outbox.push((dst, msg)),
            }
        }
    }

    /// Commits the open batch: sends the messages of the steps before its first save (they
    /// depend on nothing unsaved), writes the storage of its last save durably (one journal
    /// record, one `fdatasync`), then sends the messages of the other steps, in order. If the
    /// save fails, none of those is sent, the state goes back to what it was before the batch,
    /// and the error is returned (the node stops with it: a crash after the first steps).
    fn commit(&mut self) -> Result<(), NodeError> {
        if self.batch_steps > 0 {
            self.snapshot_if_due();
        }
        let steps = std::mem::take(&mut self.batch_steps);
        if steps > 0 {
            self.counters.batches += 1;
            self.counters.batch_steps += steps;
            self.counters.batch_max = self.counters.batch_max.max(steps);
        }
        let mut outbox = std::mem::take(&mut self.outbox);
        let held = outbox.split_off(self.before_save.take().unwrap_or(outbox.len()));
        self.send_all(outbox);
        if let Some(storage) = self.pending_save.take() {
            let started = Instant::now();
            match self.store.save(&storage) {
                Ok(written) => {
                    if let Some(bytes) = written {
                        self.counters.saves += 1;
                        let took = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                        self.counters.save_max_us = self.counters.save_max_us.max(took);
                        self.batch_save_us = took;
                        tracing::debug!(bytes, took_us = took, ?storage, "saved");
                    }
                }
                Err(e) => {
                    if let Some(base) = self.batch_base.take() {
                        self.state = base;
                    }
                    self.counters.syncs = self.store.syncs();
                    return Err(e.into());
                }
            }
            self.counters.snapshots = self.store.snapshots();
            self.counters.syncs = self.store.syncs();
        }
        self.batch_base = None;
        self.send_all(held);
        Ok(())
    }

    /// Sends `outbox`'s messages, in order, those to one peer packed together, leaving out a
    /// message that a later one to the same peer supersedes ([`Served::supersedes`]).
    fn send_all(&mut self, outbox: Vec<(Id, ActorMsg<S>)>) {
        let superseded: Vec<bool> = outbox
            .iter()
            .enumerate()
            .map(|(i, (dst, msg))| {
                outbox[i + 1..]
                    .iter()
                    .any(|(later_dst, later)| later_dst == dst && S::supersedes(msg, later))
            })
            .collect();
        let mut packer = Packer::default();
        for ((dst, msg), superseded) in outbox.into_iter().zip(superseded) {
            if superseded {
                self.counters.messages_superseded += 1;
                continue;
            }
            self.send(dst, msg, &mut packer);
        }
        for (dst, group) in packer.finish() {
            self.send_group(dst, group);
        }
    }

    /// Log compaction: if the actor's applied entries beyond its snapshot reached
    /// `--snapshot-every`, the actor's snapshot step ([`Served::snapshot`]) joins the batch (its
    /// save, the smaller storage, is the batch's). A panic discards it, as any step's.
    fn snapshot_if_due(&mut self) {
        if self.snapshot_every == 0 {
            return;
        }
        let every = self.snapshot_every;
        let mut out = Out::new();
        let (actor, state, me) = (&self.actor, &self.state, self.me);
        match catch_unwind(AssertUnwindSafe(|| {
            S::snapshot(actor, me, state, every, &mut out)
        })) {
            Ok(Some(next)) => {
                self.counters.log_snapshots += 1;
                tracing::debug!("log compaction: snapshot taken");
                self.stage(out);
                let before = std::mem::replace(&mut self.state, next);
                self.batch_base.get_or_insert(before);
            }
            Ok(None) => {}
            Err(panic) => {
                self.counters.handler_panics += 1;
                let what = crate::panic_message(panic.as_ref());
                tracing::error!(panic = what, "snapshot step panicked: discarded");
            }
        }
    }

    /// Sends `msg` to `to`: a reply to a client at once; a message to a peer into `packer`
    /// (sent when the batch's messages are all staged, [`Self::send_group`]), or, if it is too
    /// long to be packed, at once, after the peer's messages packed before it.
    fn send(&mut self, to: Id, msg: ActorMsg<S>, packer: &mut Packer<SocketAddrV4>) {
        self.counters.messages_out += 1;
        let (dst, encoded) = if let Some(session) = session_of(to) {
            let Some(dst) = self.routes.get(session) else {
                self.counters.replies_unknown_session += 1;
                tracing::debug!(
                    session,
                    ?msg,
                    "a reply to a session never heard from: dropped"
                );
                return;
            };
            match S::reply(session, &msg) {
                Some(reply) => (dst, self.codec.encode(Kind::Reply, &reply).map(|b| vec![b])),
                None => {
                    self.counters.send_failures += 1;
                    tracing::warn!(session, ?msg, "a non-reply message to a client: not sent");
                    return;
                }
            }
        } else if self.peers.contains(&addr(to)) {
            if self.partition.as_ref().is_some_and(|p| p.cuts(addr(to))) {
                self.counters.partition_drops_out += 1;
                tracing::trace!(dst = %addr(to), ?msg, "a message to a peer cut off: not sent");
                return;
            }
            if S::is_snapshot(&msg) {
                self.counters.install_snapshots_out += 1;
            }
            let dst = addr(to);
            match serde_json::to_vec(&msg) {
                Ok(payload) if pack::fits(payload.len()) => {
                    if let Some(full) = packer.push(dst, payload) {
                        self.send_group(dst, full);
                    }
                    return;
                }
                // Too long to pack (or it does not serialize: `encode_peer` says so).
                _ => {
                    if let Some(earlier) = packer.take(dst) {
                        self.send_group(dst, earlier);
                    }
                }
            }
            (dst, self.encode_peer(msg))
        } else {
            self.counters.send_failures += 1;
            tracing::warn!(dst = %addr(to), ?msg, "a message to neither a peer nor a client: not sent");
            return;
        };
        match encoded {
            Ok(datagrams) => {
                for bytes in datagrams {
                    self.transport.send(dst, bytes, &mut self.counters);
                }
            }
            Err(e) => {
                self.counters.send_failures += 1;
                tracing::warn!(%dst, error = %e, "message not sent");
            }
        }
    }

    /// Sends the payloads of messages to peer `dst`, in order: one alone as a `Kind::Peer`
    /// frame, several as one `Kind::Pack` frame ([`pack`]).
    fn send_group(&mut self, dst: SocketAddrV4, group: Vec<Vec<u8>>) {
        let n = group.len() as u64;
        let frame = match group.as_slice() {
            // The packer hands out no empty group; nothing to send.
            [] => return,
            [one] => self.codec.encode_bytes(Kind::Peer, one),
            several => self.codec.encode_bytes(Kind::Pack, &pack::encode(several)),
        };
        match frame {
            Ok(bytes) => {
                if n > 1 {
                    self.counters.packed_out += 1;
                    self.counters.messages_packed += n;
                }
                self.transport.send(dst, bytes, &mut self.counters);
            }
            Err(e) => {
                self.counters.send_failures += n;
                tracing::warn!(%dst, messages = n, error = %e, "messages not sent");
            }
        }
    }

    /// Encodes a server-to-server message as its datagrams: one, or, for a message too long
    /// for a datagram, the protocol's shorter version of it ([`Served::shrink`]), as many times
    /// as needed, or, if the protocol has none, the message in fragments ([`fragment`]).
    fn encode_peer(&mut self, mut msg: ActorMsg<S>) -> Result<Vec<Vec<u8>>, codec::EncodeError> {
        let mut shrunk = false;
        loop {
            match self.codec.encode(Kind::Peer, &msg) {
                Err(codec::EncodeError::TooLong(len)) => match S::shrink(&msg) {
                    Some(shorter) => {
                        shrunk = true;
                        msg = shorter;
                    }
                    None => return self.encode_fragments(&msg, len),
                },
                Ok(bytes) => {
                    if shrunk {
                        self.counters.messages_shrunk += 1;
                        tracing::debug!(?msg, "message too long for a datagram: sent shortened");
                    }
                    return Ok(vec![bytes]);
                }
                Err(e @ codec::EncodeError::Serialize(_)) => return Err(e),
            }
        }
    }

    /// `msg` (whose payload is `len` bytes, too long for a datagram) as fragment datagrams, or
    /// an error if it is too long for [`fragment::MAX_FRAGMENTS`] of them.
    fn encode_fragments(
        &mut self,
        msg: &ActorMsg<S>,
        len: usize,
    ) -> Result<Vec<Vec<u8>>, codec::EncodeError> {
        let payload = serde_json::to_vec(msg)?;
        let id = self.next_message_id;
        self.next_message_id = self.next_message_id.wrapping_add(1);
        let parts = fragment::split(id, &payload).ok_or(codec::EncodeError::TooLong(len))?;
        let frames = parts
            .iter()
            .map(|p| self.codec.encode_bytes(Kind::Fragment, p))
            .collect::<Result<Vec<_>, _>>()?;
        self.counters.fragmented_out += 1;
        self.counters.fragments_out += frames.len() as u64;
        tracing::debug!(len, fragments = frames.len(), "message sent in fragments");
        Ok(frames)
    }

    fn reply(&mut self, dst: SocketAddrV4, reply: &WireReply) {
        match self.codec.encode(Kind::Reply, reply) {
            Ok(bytes) => self.transport.send(dst, bytes, &mut self.counters),
            Err(e) => {
                self.counters.send_failures += 1;
                tracing::warn!(%dst, error = %e, "reply not sent");
            }
        }
    }

    /// Takes, without waiting, the datagrams queued on the socket into the open batch: at most
    /// [`BATCH_MAX`] in the batch, and for at most [`BATCH_MAX_DELAY`].
    /// `taken`: datagrams the batch holds already.
    fn drain(&mut self, buf: &mut [u8], mut taken: usize) -> std::io::Result<()> {
        let start = Instant::now();
        self.transport.socket().set_nonblocking(true)?;
        let result = loop {
            if taken >= BATCH_MAX || start.elapsed() >= BATCH_MAX_DELAY {
                break Ok(());
            }
            match self.transport.socket().recv_from(buf) {
                Ok((n, src)) => {
                    taken += 1;
                    self.take(src, &buf[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted
                            | std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => break Err(e),
            }
        };
        self.transport.socket().set_nonblocking(false)?;
        result
    }

    /// The counters and identity as JSON (the answer to a stats request).
    pub fn stats(&mut self) -> serde_json::Value {
        self.read_kernel_drops();
        serde_json::json!({
            "protocol": S::NAME,
            "node": self.addr.to_string(),
            "uptime_s": self.started.elapsed().as_secs_f64(),
            "state": S::summary(&self.state, &self.peers),
            "counters": self.counters,
        })
    }

    /// Records how long a batch took, from its first datagram (or due timer) to its last
    /// message sent: the longest in `batch_max_us`, and one over [`SLOW_BATCH`] counted and
    /// logged (a client waited that long for anything this node does for it).
    fn note_batch_time(&mut self, started: Instant, steps: u64) {
        let save_us = std::mem::take(&mut self.batch_save_us);
        if steps == 0 {
            return;
        }
        let took = started.elapsed();
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.counters.batch_max_us = self.counters.batch_max_us.max(us);
        if took > SLOW_BATCH {
            self.counters.slow_batches += 1;
            tracing::warn!(
                took_ms = took.as_secs_f64() * 1e3,
                steps,
                save_us,
                save_max_us = self.counters.save_max_us,
                "a batch took longer than {} ms",
                SLOW_BATCH.as_millis()
            );
        }
    }

    /// Reads the kernel's count of datagrams dropped at this node's socket into the counters.
    fn read_kernel_drops(&mut self) {
        if let Some(drops) = super::transport::kernel_drops(self.transport.socket()) {
            self.counters.kernel_drops = drops;
        }
    }

    /// Delivers due timers and pending random choices, then commits (their saves, synced, then
    /// their messages). Returns when the next timer is due.
    pub fn fire_due(&mut self, now: Instant) -> Result<Option<Instant>, NodeError> {
        let next = self.take_due(now);
        self.commit()?;
        Ok(next)
    }

    /// [`Self::fire_due`] without the commit: the steps join the open batch.
    fn take_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some((key, random)) = self.randoms.pop_first() {
            let me = self.me;
            tracing::debug!(key, ?random, "random choice");
            self.step(|actor, state, out| actor.on_random(me, state, &random, out));
        }
        loop {
            let due = self
                .timers
                .iter()
                .filter(|(_, at)| **at <= now)
                .min_by_key(|(t, at)| (S::fires_last(t), **at))
                .map(|(t, _)| t.clone());
            let Some(timer) = due else { break };
            self.timers.remove(&timer);
            self.counters.timeouts += 1;
            tracing::debug!(?timer, "timeout");
            let me = self.me;
            self.step(|actor, state, out| actor.on_timeout(me, state, &timer, out));
        }
        self.timers.values().min().copied()
    }

    /// Serves until `stop` is set: datagrams, timers, delayed sends, periodic counters, in
    /// batches (see the module's documentation): wait for a datagram or the next timer, take what
    /// else is queued (at most [`BATCH_MAX`] datagrams, for at most [`BATCH_MAX_DELAY`]) and the
    /// timers due, then commit — one sync, then every message of the batch.
    pub fn run(&mut self, stop: &AtomicBool) -> Result<(), NodeError> {
        let mut buf = vec![0u8; codec::MAX_DATAGRAM + 1];
        let mut next_stats = self.stats_every.map(|e| Instant::now() + e);
        let addr = self.addr;
        let sock_err = |source| NodeError::Socket { addr, source };
        let quiet = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
            )
        };
        let mut next_timer = self.fire_due(Instant::now())?;
        let mut batch_start: Instant;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            self.refresh_partition();
            self.transport.flush_due(now, &mut self.counters);
            if let Some(at) = next_stats
                && at <= now
            {
                self.read_kernel_drops();
                tracing::info!(counters = ?self.counters, "stats");
                next_stats = self.stats_every.map(|e| now + e);
            }
            let mut wake = now + Duration::from_millis(100);
            for at in [next_timer, self.transport.next_due(), next_stats]
                .into_iter()
                .flatten()
            {
                wake = wake.min(at);
            }
            let wait = wake.saturating_duration_since(Instant::now());
            if wait > Duration::ZERO {
                // Wait for the batch's first datagram (or the next timer).
                let socket = self.transport.socket();
                socket
                    .set_read_timeout(Some(wait.max(Duration::from_micros(100))))
                    .map_err(sock_err)?;
                match socket.recv_from(&mut buf) {
                    Ok((n, src)) => {
                        batch_start = Instant::now();
                        self.take(src, &buf[..n]);
                        self.drain(&mut buf, 1).map_err(sock_err)?;
                    }
                    // Nothing arrived: the batch is the timers now due.
                    Err(e) if quiet(&e) => batch_start = Instant::now(),
                    Err(e) => return Err(sock_err(e)),
                }
            } else {
                // Timers are due: take what is queued without waiting.
                batch_start = Instant::now();
                self.drain(&mut buf, 0).map_err(sock_err)?;
            }
            next_timer = self.take_due(Instant::now());
            let steps = self.batch_steps;
            self.commit()?;
            self.note_batch_time(batch_start, steps);
        }
        self.read_kernel_drops();
        tracing::info!(counters = ?self.counters, "stopped");
        Ok(())
    }
}
