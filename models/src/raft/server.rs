//! The handlers: a Raft server's rules from Figure 2, one function per rule, and the
//! [`Actor`] that dispatches messages and timers to them.

use super::*;

/// A Raft server's configuration: its peers, the model's bounds, the bug it runs with. Every
/// server of a cluster has the same configuration (symmetry reduction relies on it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest term a server may start an election for (keeps the model finite; a real run
    /// uses [`Term::MAX`]).
    pub max_term: Term,
    /// The longest log a leader appends to (keeps the model finite).
    pub max_log: Index,
    /// A new leader appends a no-op (§8) when its log holds entries it does not know to be
    /// committed, so that it can commit them without waiting for a client.
    pub noop: bool,
    /// How many times a leader's heartbeat timer fires in its term, each time sending every
    /// follower AppendEntries from its `nextIndex` ([`crate::cluster::UNBOUNDED`] in real runs:
    /// messages get lost, and idle followers must not time out). A model has none unless
    /// `--heartbeats N` (see [`RaftConfig::into_model`]): the checker may fire a timer at any
    /// moment. In real runs a rejoining server also re-sends its probe on a timer until every
    /// peer has answered; a model sends it once.
    pub heartbeats: u32,
    /// Pipelined replication (dissertation §10.2.2, "batching and pipelining"): with
    /// `pipeline > 0`, a leader sends a follower in step with it (one that answered with a
    /// success since its last failure: [`Role::Leader`]'s `replicating`) each entry once,
    /// advancing `nextIndex` as it sends, not as answers come: an optimistic `nextIndex`. It
    /// does so on its replicate timer ([`RaftTimer::Replicate`]; a real node's fires after the
    /// batch's datagrams, so one AppendEntries carries the entries of many commands), while
    /// fewer than `pipeline` entries sent to that follower are unacknowledged: the window
    /// bounds what is in flight. A failure puts the follower back to Figure 2's probing, which
    /// every follower not in step gets. 0: Figure 2's replication only (each AppendEntries
    /// carries every entry from `nextIndex`, which moves on answers only): the model's default,
    /// `--pipeline N` otherwise; real runs use [`PIPELINE_WINDOW`].
    pub pipeline: Index,
    /// `lastApplied` and the state machine are volatile, as Figure 2 has them: a step whose
    /// only change to persistent state is the entries it applied saves nothing (so a real node
    /// does not sync for it). The applied entries are saved with the next step that saves
    /// anything else (a vote, a term, log entries, a snapshot), so after a crash a server
    /// recovers a prefix of what it had applied, at least up to its snapshot, and applies the
    /// rest again once it learns that they are committed (the entries are in its log, which
    /// is saved before it acknowledges them). `false`: every applied entry is saved by the
    /// step that applies it (the model's default, `--volatile-applied` otherwise; real runs
    /// use `true`).
    pub volatile_applied: bool,
    /// Writing to the leader's disk in parallel (dissertation §10.2.1): a leader's step that
    /// changes its persistent state only by appending entries (and applying, with
    /// `volatile_applied`) saves nothing; the leader sends the entries to its followers at once
    /// and sets its write timer ([`RaftTimer::Write`], [`ServerState::written`]). When the
    /// timer fires it saves them and only then counts them as stored on itself: an entry is
    /// committed once a majority has it on stable storage, the leader included. A crash before
    /// the write loses the entries on the leader, although followers may hold them, which is
    /// safe because nobody counted the leader's copy. Votes, terms and every follower's entries
    /// are still saved before the step's messages leave. `false`: Figure 2's order, the
    /// leader saves its entries before it sends them (the model's default, `--parallel-write`
    /// otherwise; real runs use `true`, and a real node sends the AppendEntries of a batch's
    /// steps that saved nothing before it syncs the batch).
    pub parallel_write: bool,
    /// Gets go through the log like writes (appended, committed, answered when applied) instead
    /// of being answered by the leader from its state machine after a confirmation round
    /// (ReadIndex, dissertation §6.4; [`ReadRounds`]). The model's `--log-reads`; real runs use
    /// ReadIndex.
    pub log_reads: bool,
    /// A server may compact its log (§7): its snapshot timer ([`RaftTimer::Snapshot`]) is set
    /// while it has applied an entry beyond its snapshot, and a leader sends InstallSnapshot to
    /// a follower whose next entry its snapshot discarded (Figure 13). The model's
    /// `--snapshots`; real runs leave it off and snapshot by size instead
    /// ([`Self::snapshot_when`], `ballot node --snapshot-every`).
    pub snapshots: bool,
    /// A leader may append an entry of its own term at any moment while its log is shorter
    /// than `max_log` ([`RaftTimer::Append`]): the TLA+ specification's `ClientRequest`
    /// action, with a no-op standing for a command whose value the log properties do not look
    /// at. It puts several entries of several terms into the logs without client actors, whose
    /// messages multiply the states. The model's `--appends`; real runs have clients.
    pub appends: bool,
    /// Membership changes (dissertation §4.1, the model's `--membership`): the initial
    /// configuration and the bound on changes. `None`: the configuration is every peer, for
    /// good (real runs).
    pub membership: Option<Membership>,
    /// The mutant to run, if any.
    pub bug: Option<RaftBug>,
}

/// Single-server membership changes (dissertation §4.1, with the 2015 correction): the
/// configuration is the latest configuration entry of a server's log ([`Entry::Config`]),
/// used as soon as it is appended, or the initial one; quorums for votes and commitment are
/// majorities of it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Membership {
    /// The initial configuration. The other servers run from the start, outside it: they
    /// answer RPCs and start no election until a leader adds them.
    pub initial: ServerSet,
    /// The most configuration entries a leader's log may hold: a leader adds or removes a
    /// server only below it (keeps the model finite; a real run uses [`usize::MAX`]).
    pub max_changes: usize,
    /// Real runs: changes come only from administrators' requests ([`RaftMsg::Admin`],
    /// `ballot admin`), under the same rule: no reconfigure timer; and a server ignores a
    /// RequestVote from a server outside its configuration (§4.2.3, disruptive servers). The
    /// model sets it `false`: its leaders change the configuration on their reconfigure
    /// timers, and removed servers' elections stay in.
    pub by_request: bool,
    /// Catching up new servers (dissertation §4.2.1): with `Some(gap)`, a leader adds a server
    /// in two phases. First it replicates its log to the server as a [`Learner`], which is not
    /// in the configuration; once a round of the catch-up ends with at most `gap` entries
    /// appended during it, it appends the configuration entry. `None`: the entry is appended at
    /// once (§4.1 alone; the model's `--learners false`). Real runs use [`CATCH_UP_GAP`].
    pub learners: Option<Index>,
}

/// How far a learner may fall behind during its last catch-up round in a real run (entries
/// appended while the round ran; [`Membership::learners`]): at tens of thousands of entries a
/// second, a round of a few milliseconds. The dissertation bounds a round by an election
/// timeout instead; the actor has no clock, and this bound plays the same part: the new
/// server then needs at most this many entries more, which the next AppendEntries carries.
pub const CATCH_UP_GAP: Index = 1024;

/// The window of pipelined replication in a real run ([`RaftServer::pipeline`]): how many
/// entries a leader may have sent a follower without its acknowledgement. A follower that
/// falls further behind gets the rest in one AppendEntries once it answers.
pub const PIPELINE_WINDOW: Index = 1024;

/// A Raft actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftActor<K, V> {
    /// A server.
    Server(RaftServer),
    /// A model client.
    Client(KvClient<K, V>),
}

/// An InstallSnapshot's data: the applied entries after the base, their ghost terms, the
/// folded state machine (the base; a real run's), and the configuration as of its last entry.
type SnapshotData<K, V> = (
    SharedVec<(Slot, Entry<K, V>)>,
    SharedVec<Applied>,
    Option<AppliedBase<K, V>>,
    SnapshotConfig,
);

/// What a server does with its commands: everything goes through `Out`.
type RaftOut<K, V> = Out<RaftActor<K, V>>;

impl RaftServer {
    /// The server a real node runs (`ballot node raft`): the model's bounds lifted; a new
    /// leader appends a no-op so that it commits the entries of earlier terms without waiting
    /// for a client (§8, and the entry of its term it must commit before a membership change);
    /// leaders send timed heartbeats, which the model leaves out: they carry the commit index
    /// to followers and keep followers from starting elections while the leader is idle;
    /// replication is pipelined ([`PIPELINE_WINDOW`]); applying an entry syncs nothing by
    /// itself ([`Self::volatile_applied`]); and
    /// membership changes come from administrators' requests only, unbounded, starting from
    /// `initial` (`Membership::by_request`).
    pub fn for_real_runs(peers: Vec<Id>, initial: ServerSet) -> Self {
        RaftServer {
            peers,
            max_term: Term::MAX,
            max_log: Index::MAX,
            noop: true,
            heartbeats: UNBOUNDED,
            pipeline: PIPELINE_WINDOW,
            volatile_applied: true,
            parallel_write: true,
            log_reads: false,
            snapshots: false,
            appends: false,
            membership: Some(Membership {
                initial,
                max_changes: usize::MAX,
                by_request: true,
                learners: Some(CATCH_UP_GAP),
            }),
            bug: None,
        }
    }

    fn has(&self, bug: RaftBug) -> bool {
        self.bug == Some(bug)
    }

    pub(super) fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn others(&self, me: usize) -> impl Iterator<Item = usize> + use<> {
        (0..self.peers.len()).filter(move |i| *i != me)
    }

    /// The configuration a server with storage `d` uses (dissertation §4.1): the latest
    /// configuration entry of its log, committed or not, or the initial configuration; every
    /// peer without `membership`.
    pub fn config<K, V>(&self, d: &RaftStorage<K, V>) -> ServerSet {
        match &self.membership {
            None => ServerSet::first(self.peers.len()),
            Some(m) => d.latest_config().map_or(m.initial, |(_, c)| c),
        }
    }

    /// The configuration, with `membership` only (the read rounds' majorities).
    fn members<K, V>(&self, d: &RaftStorage<K, V>) -> Option<ServerSet> {
        self.membership.as_ref().map(|_| self.config(d))
    }

    /// The other members of the configuration (dissertation §4.1): the servers a candidate asks
    /// for votes and a leader replicates to. Every other server without `membership`.
    fn followers<K, V>(&self, me: usize, d: &RaftStorage<K, V>) -> impl Iterator<Item = usize> {
        self.config(d).iter().filter(move |&i| i != me)
    }

    /// The servers a leader sends AppendEntries to: the other members of its configuration
    /// ([`Self::followers`]) and the learner it is catching up, if any (dissertation §4.2.1).
    fn replicas<K, V>(&self, me: usize, s: &ServerState<K, V>) -> ServerSet {
        let mut to = self.config(&s.durable);
        to.remove(me);
        if let Role::Leader {
            learner: Some(l), ..
        } = &s.role
        {
            to.insert(l.server as usize);
        }
        to
    }

    /// How many entries appended during a catch-up round still let the learner in (§4.2.1,
    /// [`Membership::learners`]); `None` without learners (a new server is added at once).
    fn catch_up_gap(&self) -> Option<Index> {
        self.membership.as_ref().and_then(|m| m.learners)
    }

    /// The learner this server catches up, if it leads and catches one up (§4.2.1).
    fn learner<K, V>(&self, s: &ServerState<K, V>) -> Option<Learner> {
        match &s.role {
            Role::Leader { learner, .. } => *learner,
            Role::Follower { .. } | Role::Candidate { .. } => None,
        }
    }

    /// Whether a server in this state keeps an election timer: followers and candidates do,
    /// unless the model's term bound forbids another election, or they are rejoining after a
    /// loss of storage ([`Rejoin`]: no election until rejoined), or they are not in their own
    /// configuration (dissertation §4.1: a server outside it starts no election).
    fn wants_election_timer<K, V>(&self, me: usize, s: &ServerState<K, V>) -> bool {
        !s.is_leader()
            && !s.is_rejoining()
            && s.durable.current_term < self.max_term
            && self.config(&s.durable).contains(me)
    }

    /// The servers this server may add to or remove from its configuration now (`membership`
    /// only; dissertation §4.1 and the 2015 correction): none if [`Self::reconfigure_refusal`]
    /// refuses a change (not the leader, a configuration entry it has not committed, no entry
    /// of its current term committed, the model's bounds); otherwise every server whose
    /// addition or removal leaves at least one server.
    fn reconfigure_targets<K, V>(&self, s: &ServerState<K, V>) -> ServerSet {
        if self.reconfigure_refusal(s).is_some() {
            return ServerSet::default();
        }
        let config = self.config(&s.durable);
        let mut targets = ServerSet::default();
        for t in (0..self.peers.len()).filter(|&t| !config.toggled(t).is_empty()) {
            targets.insert(t);
        }
        targets
    }

    /// Why this server may not start a configuration change now, or `None` if it may
    /// (dissertation §4.1 with the 2015 correction): it must lead (the caller redirects
    /// otherwise), with `membership`, within the model's bounds (log length, changes); its log
    /// must hold no configuration entry it has not committed (one change at a time), and it must
    /// have committed an entry of its current term. The rule of both triggers: the model's
    /// reconfigure timer ([`Self::reconfigure_targets`]) and an administrator's request
    /// ([`Self::on_admin`]).
    /// While it catches up a learner, it starts no other change (§4.2.1; `CatchingUp`).
    pub fn reconfigure_refusal<K, V>(&self, s: &ServerState<K, V>) -> Option<AdminRefusal> {
        if self.learner(s).is_some() {
            return Some(AdminRefusal::CatchingUp);
        }
        self.config_entry_refusal(s)
    }

    /// Why this server may not append a configuration entry now (the rule of
    /// [`Self::reconfigure_refusal`] without the learner): also checked when a learner is
    /// caught up, before the leader adds it.
    fn config_entry_refusal<K, V>(&self, s: &ServerState<K, V>) -> Option<AdminRefusal> {
        let Some(m) = &self.membership else {
            return Some(AdminRefusal::NotAllowed);
        };
        let d = &s.durable;
        if !s.is_leader()
            || d.last_log_index() >= self.max_log
            || d.config_entries() >= m.max_changes
        {
            return Some(AdminRefusal::NotAllowed);
        }
        let pending = d.latest_config().is_some_and(|(i, _)| i > s.commit_index);
        if pending && !self.has(RaftBug::MembershipTwoAtOnce) {
            return Some(AdminRefusal::ChangeInProgress);
        }
        let own_term_committed = d.term_at(s.commit_index) == Some(d.current_term);
        if !own_term_committed && !self.has(RaftBug::MembershipUncorrected) {
            return Some(AdminRefusal::TermNotCommitted);
        }
        None
    }

    /// The latest configuration and the index of its entry (0: the initial configuration,
    /// which no entry holds).
    fn latest_config_or_initial<K, V>(&self, d: &RaftStorage<K, V>) -> (Index, ServerSet) {
        match (&self.membership, d.latest_config()) {
            (Some(_), Some(latest)) => latest,
            (Some(_), None) | (None, _) => (0, self.config(d)),
        }
    }

    /// The latest configuration, as an administrator sees it.
    fn config_view<K, V>(&self, s: &ServerState<K, V>) -> ConfigView<Id> {
        let (index, members) = self.latest_config_or_initial(&s.durable);
        ConfigView {
            members: members.iter().map(|i| self.peers[i]).collect(),
            index,
            committed: index <= s.commit_index,
        }
    }

    /// An administrator's request (a real run's `ballot admin`): the configuration, or
    /// AddServer / RemoveServer (dissertation §4.1). A follower redirects to the leader it
    /// knows, as for a client's command; without one it does not answer. The leader answers
    /// [`AdminOp::Members`] with its latest configuration, and a change with:
    /// - `Done` or `Pending` if the configuration already has it (committed or not): a retry,
    ///   a duplicate, or another administrator's equal change;
    /// - `ConfigChanged` if the latest configuration entry is not the one the request names;
    /// - the rule's refusal ([`Self::reconfigure_refusal`]: a change in progress, no entry of
    ///   its term committed yet), or `LastServer`;
    /// - otherwise it makes the change by the model's step ([`Self::on_reconfigure`]) and
    ///   answers `Pending` (or `Done` if the entry committed at once). The administrator asks
    ///   again until it is `Done`.
    fn on_admin<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        request: AdminRequest<Id>,
        o: &mut RaftOut<K, V>,
    ) {
        let req = request.req;
        match &s.role {
            Role::Follower { leader: Some(l) } => {
                o.send(
                    client,
                    RaftMsg::Reply(ClientReply::NotLeader {
                        req,
                        leader: Some(self.peers[*l as usize]),
                    }),
                );
                return;
            }
            Role::Follower { leader: None } | Role::Candidate { .. } => {
                // No leader known in this term: no answer; the administrator tries another
                // server.
                return;
            }
            Role::Leader { .. } => {}
        }
        let answer = match request.op {
            AdminOp::Members => AdminAnswer::Members(self.config_view(s)),
            AdminOp::AddServer { server, from } => self.admin_change(me, s, server, true, from, o),
            AdminOp::RemoveServer { server, from } => {
                self.admin_change(me, s, server, false, from, o)
            }
        };
        o.send(client, RaftMsg::AdminReply { req, answer });
    }

    /// The leader's half of [`Self::on_admin`] for a change: add `server` (`add`) or remove it
    /// from the configuration whose entry is at `from`.
    fn admin_change<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        server: Id,
        add: bool,
        from: Index,
        o: &mut RaftOut<K, V>,
    ) -> AdminAnswer<Id> {
        let outcome = |s: &ServerState<K, V>| {
            let config = self.config_view(s);
            if config.committed {
                AdminAnswer::Done(config)
            } else {
                AdminAnswer::Pending(config)
            }
        };
        let refused = |reason, s: &ServerState<K, V>| AdminAnswer::Refused {
            reason,
            config: self.config_view(s),
        };
        let Some(target) = self.index_of(server) else {
            return refused(AdminRefusal::UnknownServer, s);
        };
        let catching_up = |s: &ServerState<K, V>, l: Learner| {
            let Role::Leader { match_index, .. } = &s.role else {
                unreachable!("only a leader catches up a learner")
            };
            AdminAnswer::CatchingUp {
                config: self.config_view(s),
                matched: match_index[l.server as usize],
                last: s.durable.last_log_index(),
            }
        };
        let (index, members) = self.latest_config_or_initial(&s.durable);
        if members.contains(target) == add {
            if let (false, Some(l), Role::Leader { learner, .. }) =
                (add, self.learner(s), &mut s.role)
                && l.server as usize == target
            {
                // Removing the learner ends its catch-up: it never was in the configuration
                // (how an administrator gives up on a server that does not catch up).
                *learner = None;
            }
            return outcome(s);
        }
        if let Some(l) = self.learner(s)
            && add
            && l.server as usize == target
        {
            // A retry, a duplicate or another administrator's equal request: the catch-up
            // goes on.
            return catching_up(s, l);
        }
        if index != from {
            return refused(AdminRefusal::ConfigChanged, s);
        }
        if let Some(reason) = self.reconfigure_refusal(s) {
            return refused(reason, s);
        }
        if members.toggled(target).is_empty() {
            return refused(AdminRefusal::LastServer, s);
        }
        self.on_reconfigure(me, s, target, o);
        match self.learner(s) {
            Some(l) => catching_up(s, l),
            None => outcome(s),
        }
    }

    /// AddServer / RemoveServer at the leader (dissertation §4.1), on its reconfigure timer
    /// for server `target` (the model) or an administrator's request ([`Self::on_admin`], a
    /// real run), which both reach it only if [`Self::reconfigure_targets`] holds `target`.
    /// A removal appends a configuration entry without `target`, which takes effect at once.
    /// An addition, with learners (§4.2.1), first catches `target` up: the leader replicates
    /// its log to it, and adds it once caught up ([`Self::on_learner_progress`]); without
    /// learners it appends the entry at once.
    fn on_reconfigure<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        target: usize,
        o: &mut RaftOut<K, V>,
    ) {
        if !self.reconfigure_targets(s).contains(target) {
            // The timer is set only while allowed, and the step wrapper cancels it otherwise;
            // an administrator's request is checked first (`admin_change`).
            return;
        }
        let adds = !self.config(&s.durable).contains(target);
        if adds && self.catch_up_gap().is_some() {
            let round_end = s.durable.last_log_index();
            let Role::Leader { learner, .. } = &mut s.role else {
                unreachable!("only a leader changes the configuration")
            };
            *learner = Some(Learner {
                server: target as u8,
                round_end,
            });
            self.send_append_entries(s, target, o);
            // A learner already known to hold the whole log is added at once.
            self.on_learner_progress(me, s, target, o);
            return;
        }
        self.append_config(me, s, target, o);
    }

    /// Appends the configuration entry that adds or removes `target` (dissertation §4.1: it
    /// takes effect at once) and replicates it to the new configuration.
    fn append_config<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        target: usize,
        o: &mut RaftOut<K, V>,
    ) {
        let members = self.config(&s.durable).toggled(target);
        s.durable.log.push(LogEntry {
            term: s.durable.current_term,
            entry: Entry::Config(members),
        });
        self.replicate(me, s, o);
        self.advance_commit_index(me, s, o);
    }

    /// Catching up a new server (dissertation §4.2.1), on a success from `follower`: if it is
    /// the learner and now holds the leader's log up to the end of the current round, the round
    /// is over. If at most the allowed gap of entries ([`Membership::learners`]) was appended
    /// while the round ran, the leader adds the learner to its configuration (if the rule of
    /// [`Self::config_entry_refusal`] still allows an entry; in the model, the log bound may
    /// not); otherwise another round begins, up to the leader's last index now (which the
    /// learner may hold already: then that round is over too, with nothing appended).
    fn on_learner_progress<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        follower: usize,
        o: &mut RaftOut<K, V>,
    ) {
        let last = s.durable.last_log_index();
        let gap = self.catch_up_gap();
        let Role::Leader {
            learner: Some(l),
            match_index,
            ..
        } = &mut s.role
        else {
            return;
        };
        if l.server as usize != follower || match_index[follower] < l.round_end {
            // Not the learner, or its round is not over.
            return;
        }
        let gap = gap.expect("a leader catches up a learner only with learners");
        if last - l.round_end > gap {
            // Another round, up to the leader's last index now; over at once if the learner
            // already holds that (nothing was appended during it).
            l.round_end = last;
            if match_index[follower] < last {
                return;
            }
        }
        if self.config_entry_refusal(s).is_some() {
            return;
        }
        let Role::Leader { learner, .. } = &mut s.role else {
            unreachable!("matched above")
        };
        *learner = None;
        self.append_config(me, s, follower, o);
    }

    /// Dissertation §4.2.2: a leader that is not in its own configuration steps down once the
    /// configuration entry that removed it is committed (until then it manages the cluster,
    /// without counting itself in majorities). It starts no election afterwards.
    fn step_down_if_removed<K, V>(&self, me: usize, s: &mut ServerState<K, V>) {
        if self.membership.is_none() || !s.is_leader() {
            return;
        }
        if let Some((index, members)) = s.durable.latest_config()
            && !members.contains(me)
            && s.commit_index >= index
        {
            s.role = Role::Follower { leader: None };
        }
    }

    /// Whether a server in this state keeps a snapshot timer (`snapshots` only): it has applied
    /// an entry that its snapshot does not include (the snapshot-uncommitted mutant: it holds
    /// an entry beyond its snapshot, applied or not).
    fn wants_snapshot_timer<K, V>(&self, s: &ServerState<K, V>) -> bool {
        let upto = if self.has(RaftBug::SnapshotUncommitted) {
            s.durable.last_log_index()
        } else {
            s.durable.last_applied()
        };
        self.snapshots && upto > s.durable.snapshot_index
    }

    /// Whether a server in this state keeps an append timer (`appends` only): it leads and its
    /// log is below the model's bound.
    fn wants_append_timer<K, V>(&self, s: &ServerState<K, V>) -> bool {
        self.appends && s.is_leader() && s.durable.last_log_index() < self.max_log
    }

    /// Rules for Leaders (Figure 2), a command received from a client, in its abstract form
    /// (`appends`; the TLA+ specification's `ClientRequest`): append an entry of the current
    /// term to the local log and send AppendEntries. The entry is a no-op: its value is not
    /// what Log Matching, Leader Completeness or State Machine Safety compare.
    fn on_append_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if !self.wants_append_timer(s) {
            // Set only while wanted, and the step wrapper cancels it otherwise.
            return;
        }
        s.durable.log.push(LogEntry {
            term: s.durable.current_term,
            entry: Entry::Noop,
        });
        self.replicate(me, s, o);
        self.advance_commit_index(me, s, o);
    }

    /// Log compaction (§7, Figure 12), on the snapshot timer: the server's snapshot now covers
    /// every entry it has applied (its state machine and session table, with the last included
    /// index and term); the log keeps only the entries after it. Saved with the step.
    ///
    /// The snapshot-uncommitted mutant snapshots its whole log: its state machine then holds
    /// the uncommitted entries too (it applies them, and takes them for committed).
    fn take_snapshot<K: Value, V: Value>(&self, s: &mut ServerState<K, V>, o: &mut RaftOut<K, V>) {
        if !self.wants_snapshot_timer(s) {
            // Set only while wanted, and the step wrapper cancels it otherwise.
            return;
        }
        self.snapshot(s, o);
    }

    /// Log compaction (§7, Figure 12), the step itself, which the model takes on its snapshot
    /// timer ([`Self::take_snapshot`]) and a real node when its applied entries beyond the
    /// snapshot reach a threshold ([`Self::snapshot_when`]): the snapshot now covers every
    /// applied entry; the log keeps only the entries after it. The server must have applied an
    /// entry beyond its snapshot (the snapshot-uncommitted mutant: hold one).
    pub fn snapshot<K: Value, V: Value>(&self, s: &mut ServerState<K, V>, o: &mut RaftOut<K, V>) {
        if self.has(RaftBug::SnapshotUncommitted) {
            s.commit_index = s.commit_index.max(s.durable.last_log_index());
            self.apply_committed(s, o);
        }
        let upto = s.durable.last_applied();
        s.durable.compact(upto);
    }

    /// Log compaction in a real run (§7: "servers take snapshots independently", here once
    /// the applied entries beyond the snapshot reach `every`): the model's step
    /// ([`Self::snapshot`]), then the applied entries folded into their state machine
    /// ([`RaftStorage::fold_applied`]), so that the storage keeps a state machine and at most
    /// about `every` entries besides the unapplied suffix. The new state, saved through `o`, or
    /// `None` if it is not due (or `state` is not a server's).
    pub fn snapshot_when<K: Value, V: Value>(
        &self,
        id: Id,
        state: &RaftState<K, V>,
        every: Index,
        o: &mut RaftOut<K, V>,
    ) -> Option<RaftState<K, V>> {
        let RaftState::Server(before) = state else {
            return None;
        };
        let d = &before.durable;
        if every == 0 || d.last_applied() < d.snapshot_index.saturating_add(every) {
            return None;
        }
        let me = self.index_of(id).expect("a server is among its peers");
        self.step(me, before, Event::SnapshotTimeout, o, |s, o| {
            self.snapshot(s, o);
            let ServerState { durable, sm, .. } = s;
            let sm = sm.get(durable).clone();
            durable.fold_applied(&sm);
        })
        .map(RaftState::Server)
    }

    /// Rules for Followers (Figure 2): the election timeout counts from the last AppendEntries
    /// of the current leader or the last vote granted, so both restart the timer. Without this,
    /// a real follower starts an election every timeout however many heartbeats it receives.
    /// In the model the timer is already set whenever it is wanted, and setting it again
    /// changes no state.
    fn restart_election_timer<K: Value, V: Value>(
        &self,
        me: usize,
        s: &ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if self.wants_election_timer(me, s) {
            o.set_timer(RaftTimer::Election, election_timeout());
        }
    }

    /// Recovery (and the first start): persistent state from storage, volatile state reset.
    /// No storage (`None`) is a member of a new cluster; a server that lost its storage starts
    /// from [`RaftStorage::lost`] instead, and rejoins: it sends its probe (see
    /// [`Self::send_probes`]).
    fn on_start<K: Value, V: Value>(
        &self,
        me: usize,
        storage: &Option<RaftStorage<K, V>>,
        o: &mut RaftOut<K, V>,
    ) -> ServerState<K, V> {
        let durable = storage.clone().unwrap_or_default();
        let mut s = ServerState {
            commit_index: durable.last_applied(),
            durable,
            written: None,
            role: Role::Follower { leader: None },
            leader_overwrote: false,
            rejoined: false,
            sm: SmCache::default(),
        };
        if s.is_rejoining() {
            let before = s.durable.clone();
            if self.peers.len() == 1 {
                // A cluster of one that lost its storage: nobody to learn from, nothing left
                // to protect. It starts anew.
                s.durable.rejoin = None;
            } else if self.heartbeats == UNBOUNDED {
                self.send_probes(me, &s, o);
                o.set_timer(RaftTimer::Probe, heartbeat_interval());
            } else if s.durable.rejoin.as_ref().is_some_and(|r| !r.probed) {
                self.send_probes(me, &s, o);
                if let Some(r) = &mut s.durable.rejoin {
                    r.probed = true;
                }
            }
            if s.durable != before {
                o.save(s.durable.clone());
            }
        }
        if self.wants_election_timer(me, &s) {
            o.set_timer(RaftTimer::Election, election_timeout());
        }
        if self.wants_snapshot_timer(&s) {
            o.set_timer(RaftTimer::Snapshot, snapshot_interval());
        }
        s
    }

    /// A rejoining server asks each peer that has not answered yet for its state.
    fn send_probes<K: Value, V: Value>(
        &self,
        me: usize,
        s: &ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let Some(r) = &s.durable.rejoin else {
            unreachable!("only a rejoining server probes")
        };
        let incarnation = s.durable.incarnation;
        for peer in self.others(me).filter(|&p| r.heard_from(p).is_none()) {
            o.send(self.peers[peer], RaftMsg::Probe { incarnation });
        }
    }

    /// Rejoining, any role: a peer that rejoins asks for this server's state; answered with
    /// the current term and last log index, and whether this server is itself rejoining with
    /// nothing learned. Not subject to the term rule (the probe carries no term).
    fn on_probe<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        from: usize,
        incarnation: u64,
        o: &mut RaftOut<K, V>,
    ) {
        o.send(
            self.peers[from],
            RaftMsg::ProbeReply {
                incarnation,
                term: s.durable.current_term,
                last_log_index: s.durable.last_log_index(),
                rejoining_empty: s.durable.rejoining_empty(),
            },
        );
    }

    /// Rejoining: a peer's answer to this server's probe. A peer that is itself rejoining with
    /// nothing learned means a new cluster (rule (a) of [`Rejoin`]): rejoined. Otherwise the
    /// answer is recorded; rule (b) is checked when an AppendEntries arrives
    /// ([`Self::on_append_entries`]).
    fn on_probe_reply<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        from: usize,
        incarnation: u64,
        reported: (Term, Index),
        rejoining_empty: bool,
    ) {
        let n = self.peers.len();
        let mine = s.durable.incarnation;
        let Some(r) = &mut s.durable.rejoin else {
            // Not rejoining (any more): a repeated answer, or one that arrived after this
            // server rejoined by another answer or an AppendEntries. Nothing to learn.
            return;
        };
        if incarnation != mine {
            // The answer to the probe of an earlier start without storage: what the peer
            // reported then may predate votes this server gave since (docs/raft.md).
            return;
        }
        if rejoining_empty {
            self.finish_rejoining(s, None);
            return;
        }
        Self::record_heard(r, n, from, reported);
    }

    /// Records what server `from` reported while this server rejoins: the highest
    /// `(term, last index)`.
    fn record_heard(r: &mut Rejoin, n: usize, from: usize, reported: (Term, Index)) {
        if r.heard.len() < n {
            r.heard.resize(n, None);
        }
        let slot = &mut r.heard[from];
        if slot.is_none_or(|old| old < reported) {
            *slot = Some(reported);
        }
    }

    /// Rule (b) of [`Rejoin`]: a rejoining server that has just accepted an AppendEntries from
    /// `leader` of its current term `term`, whose entries end at `last_new`, has rejoined if
    /// every peer has answered its probe, no peer reported a later term, the entries reach the
    /// leader's last index, and the leader sent them after answering (if it answered in this
    /// term, they reach the last index it reported then).
    fn may_finish_rejoining(
        &self,
        me: usize,
        r: &Rejoin,
        leader: usize,
        term: Term,
        last_new: Index,
        leader_last: Index,
    ) -> bool {
        let fresh = match r.heard_from(leader) {
            Some((t, reported_last)) => {
                t < term || leader_last >= reported_last || self.has(RaftBug::RejoinOnStaleAppend)
            }
            None => false,
        };
        self.heard_all(me, r) && term >= r.max_term() && last_new == leader_last && fresh
    }

    /// Whether every peer has answered this server's probe.
    fn heard_all(&self, me: usize, r: &Rejoin) -> bool {
        self.others(me).all(|p| r.heard_from(p).is_some())
    }

    /// The end of rejoining: `rejoin` cleared (saved with the step). Under rule (b) the vote in
    /// the current term counts as given to `leader`, so the server votes only in later terms.
    fn finish_rejoining<K, V>(&self, s: &mut ServerState<K, V>, leader: Option<usize>) {
        s.durable.rejoin = None;
        if let Some(l) = leader {
            s.durable.voted_for = Some(l as u8);
        }
        s.rejoined = true;
    }

    /// Rules for Candidates (§5.2), on conversion to candidate: increment `currentTerm`, vote
    /// for self, reset the election timer, send RequestVote to all other servers.
    fn start_election<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        if s.is_leader()
            || s.is_rejoining()
            || s.durable.current_term >= self.max_term
            || !self.config(&s.durable).contains(me)
        {
            // A leader, a server rejoining after a loss of storage, and a server outside its
            // configuration have no election timer; past the bound, the model starts no
            // election.
            return;
        }
        s.durable.current_term += 1;
        s.durable.voted_for = Some(me as u8);
        let mut votes = ServerSet::default();
        votes.insert(me);
        s.role = Role::Candidate { votes };
        let msg = RaftMsg::RequestVote {
            term: s.durable.current_term,
            last_log_index: s.durable.last_log_index(),
            last_log_term: s.durable.last_log_term(),
            incarnation: s.durable.incarnation,
        };
        for peer in self.followers(me, &s.durable) {
            o.send(self.peers[peer], msg.clone());
        }
        self.count_votes(me, s, o);
    }

    /// RequestVote receiver (Figure 2), after the term rule: grant the vote if `votedFor` is
    /// null or the candidate, and the candidate's log is at least as up-to-date as the
    /// receiver's (§5.4.1: the later last term wins; with equal last terms, the longer log).
    ///
    /// A denied vote in the candidate's own term is not answered: the candidate would change
    /// nothing on it (Figure 2 answers `false`; leaving it out keeps the model small).
    #[allow(clippy::too_many_arguments)]
    fn on_request_vote<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        candidate: usize,
        last_log_index: Index,
        last_log_term: Term,
        incarnation: u64,
        o: &mut RaftOut<K, V>,
    ) {
        if s.is_rejoining() && !self.has(RaftBug::RejoinVotesAtOnce) {
            // Rejoining after a loss of storage: it may have voted in this term already, and
            // may lack entries committed with its acknowledgement ([`Rejoin`]). No vote, no
            // answer.
            return;
        }
        let free = match s.durable.voted_for {
            None => true,
            Some(v) => v as usize == candidate || self.has(RaftBug::VoteTwice),
        };
        let up_to_date = (last_log_term, last_log_index)
            >= (s.durable.last_log_term(), s.durable.last_log_index());
        if free && (up_to_date || self.has(RaftBug::VoteWithoutLogCheck)) {
            s.durable.voted_for = Some(candidate as u8);
            self.restart_election_timer(me, s, o);
            o.send(
                self.peers[candidate],
                RaftMsg::RequestVoteReply {
                    term: s.durable.current_term,
                    vote_granted: true,
                    incarnation,
                },
            );
        }
    }

    /// Rules for Candidates (§5.2): a vote in the current term; votes from a majority of servers
    /// make this candidate the leader. Only votes for this incarnation count.
    fn on_request_vote_reply<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        voter: usize,
        vote_granted: bool,
        incarnation: u64,
        o: &mut RaftOut<K, V>,
    ) {
        if incarnation != s.durable.incarnation && !self.has(RaftBug::CountEarlierIncarnationVote) {
            // A vote for this server's candidacy before it lost its storage (and, maybe, its
            // term): that incarnation counted it or never will. Counted now, it could make a
            // second leader of its term, whose voter has since lost its storage and learned only
            // the lower term of this server (docs/raft.md).
            return;
        }
        let Role::Candidate { votes } = &mut s.role else {
            // A late vote: this server already won (leader) or a leader of this term exists
            // (follower). Either way the vote changes nothing.
            return;
        };
        if !vote_granted {
            // A denial in the current term: keep waiting (the timer starts a new election).
            return;
        }
        votes.insert(voter);
        self.count_votes(me, s, o);
    }

    fn count_votes<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let members = self.config(&s.durable);
        if let Role::Candidate { votes } = &s.role
            && votes.iter().filter(|&v| members.contains(v)).count() >= majority(members.len())
        {
            self.become_leader(me, s, o);
        }
    }

    /// Rules for Leaders (Figure 2), upon election: reinitialize `nextIndex` (to the last log
    /// index plus one) and `matchIndex` (to 0), then send AppendEntries to each server. With
    /// `noop`, if the log holds entries not known to be committed, first append a no-op of the
    /// new term (§8): entries of earlier terms are committed only together with an entry of the
    /// current term (§5.4.2).
    fn become_leader<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let n = self.peers.len();
        let next = s.durable.last_log_index() + 1;
        s.role = Role::Leader {
            next_index: vec![next; n],
            match_index: vec![0; n],
            reads: ReadRounds::new(n),
            learner: None,
            beats: 0,
            replicating: ServerSet::default(),
        };
        // With `membership`, always: a leader starts a configuration change only once it has
        // committed an entry of its term (the 2015 correction), and the no-op is that entry.
        if self.noop
            && (s.commit_index < s.durable.last_log_index() || self.membership.is_some())
            && s.durable.last_log_index() < self.max_log
        {
            s.durable.log.push(LogEntry {
                term: s.durable.current_term,
                entry: Entry::Noop,
            });
        }
        for peer in self.followers(me, &s.durable).collect::<Vec<_>>() {
            self.send_append_entries(s, peer, o);
        }
        if self.heartbeats > 0 {
            o.set_timer(RaftTimer::Heartbeat, heartbeat_interval());
        }
        self.advance_commit_index(me, s, o);
    }

    /// Rules for Leaders: send AppendEntries to `follower` with the log entries starting at its
    /// `nextIndex` (none: a heartbeat), the leader's commit index, and its latest read round.
    /// If the snapshot discarded the entry before `nextIndex` (§7: `nextIndex` at or below the
    /// snapshot's last included index), InstallSnapshot instead.
    ///
    /// Pipelined ([`Self::pipeline`]), to a follower in step: `nextIndex` then moves past the
    /// entries sent. A follower that needs a snapshot is no longer in step: it is probed.
    fn send_append_entries<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        follower: usize,
        o: &mut RaftOut<K, V>,
    ) {
        let last = s.durable.last_log_index();
        let Role::Leader {
            next_index,
            match_index,
            reads,
            replicating,
            ..
        } = &mut s.role
        else {
            unreachable!("only a leader sends AppendEntries")
        };
        let read_round = reads.started;
        let prev_log_index = next_index[follower] - 1;
        let Some(prev_log_term) = s.durable.term_at(prev_log_index) else {
            assert!(
                prev_log_index < s.durable.snapshot_index,
                "nextIndex never exceeds the last log index + 1"
            );
            replicating.remove(follower);
            self.send_install_snapshot(s, follower, read_round, o);
            return;
        };
        if replicating.contains(follower) {
            next_index[follower] = last + 1;
            if self.has(RaftBug::MatchOnSend) {
                // The mutant takes an entry sent for an entry stored.
                match_index[follower] = last;
            }
        }
        o.send(
            self.peers[follower],
            RaftMsg::AppendEntries {
                term: s.durable.current_term,
                prev_log_index,
                prev_log_term,
                entries: Arc::new(s.durable.entries_after(prev_log_index)),
                leader_commit: s.commit_index,
                leader_last: last,
                read_round,
            },
        );
    }

    /// Whether `follower` is in step with this leader ([`Role::Leader`]'s `replicating`):
    /// pipelined replication sends it entries on the replicate timer, once each.
    fn in_step<K, V>(&self, s: &ServerState<K, V>, follower: usize) -> bool {
        matches!(&s.role, Role::Leader { replicating, .. } if replicating.contains(follower))
    }

    /// Whether pipelined replication has entries to send `follower` now: it is in step, its
    /// `nextIndex` is within the log, and fewer than [`Self::pipeline`] entries sent to it are
    /// unacknowledged (those between `matchIndex` and `nextIndex`).
    fn may_pipeline<K, V>(&self, s: &ServerState<K, V>, follower: usize) -> bool {
        let Role::Leader {
            next_index,
            match_index,
            replicating,
            ..
        } = &s.role
        else {
            return false;
        };
        replicating.contains(follower)
            && next_index[follower] <= s.durable.last_log_index()
            && (next_index[follower] - 1).saturating_sub(match_index[follower]) < self.pipeline
    }

    /// Whether a server in this state keeps a replicate timer (pipelined replication only):
    /// it leads and has entries to send a follower in step with it ([`Self::may_pipeline`]).
    fn wants_replicate_timer<K, V>(&self, me: usize, s: &ServerState<K, V>) -> bool {
        self.pipeline > 0
            && s.is_leader()
            && self.replicas(me, s).iter().any(|f| self.may_pipeline(s, f))
    }

    /// Rules for Leaders, after the leader appended entries: AppendEntries to every follower
    /// (and learner) from its `nextIndex` (Figure 2). Pipelined, the followers in step get
    /// them on the replicate timer instead ([`Self::on_replicate_timeout`]).
    fn replicate<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        for peer in self.replicas(me, s).iter() {
            if !self.in_step(s, peer) {
                self.send_append_entries(s, peer, o);
            }
        }
    }

    /// Pipelined replication (dissertation §10.2.2), on the replicate timer: AppendEntries with
    /// the entries not yet sent to each follower in step, within the window
    /// ([`Self::may_pipeline`]). A commit still needs the followers' successes; the mutant that
    /// counts a send as one commits here.
    fn on_replicate_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        for peer in self.replicas(me, s).iter() {
            if self.may_pipeline(s, peer) {
                self.send_append_entries(s, peer, o);
            }
        }
        self.advance_commit_index(me, s, o);
    }

    /// Writing to the leader's disk in parallel (dissertation §10.2.1,
    /// [`Self::parallel_write`]), when the write timer fires: the step saves the log (before
    /// any message it sends), and a leader now counts every entry of its log as stored on
    /// itself, so that it may commit them. A server that stepped down since only saves.
    fn on_write_done<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        s.written = None;
        if s.is_leader() {
            self.advance_commit_index(me, s, o);
        }
    }

    /// AppendEntries receiver (Figure 2), after the term rule:
    /// 1. (stale terms were rejected by the term rule);
    /// 2. reply false if the log has no entry at `prevLogIndex` whose term is `prevLogTerm`;
    /// 3. if an existing entry conflicts with a new one (same index, different terms), delete
    ///    it and all that follow it;
    /// 4. append any new entries not already in the log;
    /// 5. if `leaderCommit > commitIndex`, set `commitIndex = min(leaderCommit, index of last
    ///    new entry)`.
    ///
    /// A candidate that hears from the leader of its term becomes a follower (§5.2). A
    /// rejoining server that accepts entries reaching the leader's last index may have rejoined
    /// (rule (b) of [`Rejoin`]). Every answer echoes the request's `read_round` (§6.4).
    #[allow(clippy::too_many_arguments)]
    fn on_append_entries<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        leader: usize,
        term: Term,
        prev_log_index: Index,
        prev_log_term: Term,
        entries: Arc<Vec<LogEntry<K, V>>>,
        leader_commit: Index,
        leader_last: Index,
        read_round: u64,
        o: &mut RaftOut<K, V>,
    ) {
        let current = s.durable.current_term;
        if let Some(r) = &s.durable.rejoin
            && !(self.heard_all(me, r) && term >= r.max_term())
            && !self.has(RaftBug::RejoinAcksEarly)
        {
            // Rejoining, and not every peer has answered the probe, or one reported a later
            // term: this server may have voted in a later term before it lost its storage, and
            // an acknowledgement in this term could then help commit an entry that the leader
            // it voted for lacks ([`Rejoin`]). Nothing stored, no answer.
            return;
        }
        if term == current && !self.recognize_leader(me, s, leader, o) {
            return;
        }
        // Otherwise `term < current`: only the accept-stale-append mutant gets here.
        let reply = |success, index| RaftMsg::AppendEntriesReply {
            term: current,
            success,
            index,
            read_round,
        };
        let Some(last_new) = (prev_log_index as usize)
            .checked_add(entries.len())
            .filter(|&i| i <= Index::MAX as usize)
        else {
            // More entries than an index can number: not from a well-behaved leader.
            return;
        };
        // Entries up to the snapshot's last included index are committed, so they match those
        // of the leader of the current term (§7): the request is checked from there on.
        let snapshot = s.durable.snapshot_index;
        let (prev, new) = if prev_log_index < snapshot {
            let covered = (snapshot - prev_log_index) as usize;
            match entries.get(covered - 1) {
                None => {
                    // Every entry sent is in the snapshot already.
                    o.send(self.peers[leader], reply(true, last_new as Index));
                    return;
                }
                Some(e) if e.term != s.durable.snapshot_term => {
                    // Not the snapshot's last entry: no match there.
                    o.send(self.peers[leader], reply(false, prev_log_index));
                    return;
                }
                Some(_) => (snapshot, &entries[covered..]),
            }
        } else if s.durable.term_at(prev_log_index) != Some(prev_log_term) {
            o.send(self.peers[leader], reply(false, prev_log_index));
            return;
        } else {
            (prev_log_index, &entries[..])
        };
        for (k, e) in new.iter().cloned().enumerate() {
            let i = prev + 1 + k as Index;
            match s.durable.entry(i) {
                Some(mine) if mine.term == e.term => {
                    // Already stored (Log Matching: same index and term, same entry).
                }
                Some(_) => {
                    s.durable.truncate_after(i - 1);
                    s.durable.log.push(e);
                }
                None => s.durable.log.push(e),
            }
        }
        if self.has(RaftBug::TruncateWithoutConflict) {
            s.durable.truncate_after(last_new as Index);
        }
        if leader_commit > s.commit_index {
            s.commit_index = s.commit_index.max(leader_commit.min(last_new as Index));
        }
        self.apply_committed(s, o);
        if term == current
            && s.durable.rejoin.as_ref().is_some_and(|r| {
                self.may_finish_rejoining(me, r, leader, term, last_new as Index, leader_last)
            })
        {
            self.finish_rejoining(s, Some(leader));
        }
        o.send(self.peers[leader], reply(true, last_new as Index));
    }

    /// Rules for Leaders (§7): InstallSnapshot to `follower`, whose `nextIndex` the snapshot
    /// discarded: the snapshot's last included index and term, and its data (the state machine
    /// and session table, as the applied entries that produced them).
    fn send_install_snapshot<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        follower: usize,
        read_round: u64,
        o: &mut RaftOut<K, V>,
    ) {
        let d = &s.durable;
        // The applied entries up to the snapshot's last one that are not folded into the base.
        let n = (d.snapshot_index - d.applied_base.as_ref().map_or(0, |b| b.count)) as usize;
        o.send(
            self.peers[follower],
            RaftMsg::InstallSnapshot {
                term: d.current_term,
                last_included_index: d.snapshot_index,
                last_included_term: d.snapshot_term,
                data: d.applied.iter().take(n).cloned().collect(),
                data_terms: d.applied_terms.iter().take(n).cloned().collect(),
                read_round,
                base: d.applied_base.clone(),
                config: d.snapshot_config,
            },
        );
    }

    /// A leader's RPC of the receiver's current term (§5.2): a candidate returns to follower,
    /// a follower learns who leads; either restarts its election timer. Returns `false` if the
    /// receiver leads this term itself: another leader in one term is impossible while
    /// Election Safety holds, and a message cannot make a server give up its term's
    /// leadership, so the RPC is ignored.
    fn recognize_leader<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        leader: usize,
        o: &mut RaftOut<K, V>,
    ) -> bool {
        match &mut s.role {
            Role::Leader { .. } => return false,
            Role::Candidate { .. } => {
                s.role = Role::Follower {
                    leader: Some(leader as u8),
                };
            }
            Role::Follower { leader: known } => *known = Some(leader as u8),
        }
        self.restart_election_timer(me, s, o);
        true
    }

    /// InstallSnapshot receiver (§7, Figure 13), after the term rule (1: a stale term was
    /// rejected by it). The chunks of Figure 13 (2–5: `offset`, `done`) are left out: the
    /// snapshot arrives whole. Then:
    /// 6. save the snapshot; discard any existing snapshot with a smaller index;
    /// 7. if an existing log entry has the same index and term as the snapshot's last included
    ///    entry, retain the log entries following it and reply;
    /// 8. otherwise discard the entire log, and reset the state machine using the snapshot's
    ///    contents (and load its cluster configuration: the model has a fixed one).
    ///
    /// A snapshot that this server's state machine already covers (it applied up to
    /// `lastIncludedIndex`: the entries are committed, so they match the leader's) changes
    /// nothing. Like AppendEntries, it makes a candidate of the term a follower (§5.2), and the
    /// answer, an AppendEntries result that covers up to `lastIncludedIndex`, lets the leader
    /// advance `nextIndex` and `matchIndex` and echoes the read round (§6.4). A rejoining server
    /// takes it only once it could take AppendEntries ([`Rejoin`]); it finishes rejoining on an
    /// AppendEntries.
    #[allow(clippy::too_many_arguments)]
    fn on_install_snapshot<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        leader: usize,
        (last_included_index, last_included_term): (Index, Term),
        (data, data_terms, base, config): SnapshotData<K, V>,
        read_round: u64,
        o: &mut RaftOut<K, V>,
    ) {
        if let Some(r) = &s.durable.rejoin
            && !(self.heard_all(me, r) && s.durable.current_term >= r.max_term())
        {
            // As for AppendEntries: nothing stored, no answer until every peer has answered
            // the probe ([`Self::on_append_entries`]).
            return;
        }
        let folded = base.as_ref().map_or(0, |b| b.count);
        if folded.checked_add(data.len() as Index) != Some(last_included_index)
            || data_terms.len() != data.len()
            || config
                .0
                .is_some_and(|(i, _)| i == 0 || i > last_included_index)
        {
            // Not a snapshot of `last_included_index` entries: not from a well-behaved leader.
            return;
        }
        if !self.recognize_leader(me, s, leader, o) {
            return;
        }
        let reply = RaftMsg::AppendEntriesReply {
            term: s.durable.current_term,
            success: true,
            index: last_included_index,
            read_round,
        };
        if last_included_index <= s.durable.last_applied() {
            // Already in this server's state machine.
            o.send(self.peers[leader], reply);
            return;
        }
        let d = &mut s.durable;
        let matching = d.term_at(last_included_index) == Some(last_included_term)
            && !self.has(RaftBug::InstallDiscardsMatchingSuffix);
        let kept: RaftLog<K, V> = if matching {
            // 7: the entries following the snapshot's last one are retained.
            d.entries_after(last_included_index).into()
        } else {
            // 8: the entire log is discarded.
            RaftLog::default()
        };
        d.log = kept;
        d.snapshot_index = last_included_index;
        d.snapshot_term = last_included_term;
        // 8: the snapshot's configuration (§7); a configuration entry among the retained ones
        // (7) is later, and [`RaftStorage::latest_config`] prefers it.
        d.snapshot_config = config;
        // 8: the state machine reset from the snapshot (rebuilt from its entries when next used).
        d.applied = data;
        d.applied_terms = data_terms;
        d.applied_base = base;
        s.sm = SmCache::default();
        s.commit_index = s.commit_index.max(last_included_index);
        self.apply_committed(s, o);
        o.send(self.peers[leader], reply);
    }

    /// Rules for Leaders: a follower's AppendEntries result. On success, update its `nextIndex`
    /// and `matchIndex`, then try to commit, and send what it still lacks; on a failure because
    /// of log inconsistency, decrement `nextIndex` and retry. A failure at or below the
    /// follower's `matchIndex` means that its log shrank (it lost its storage, [`Rejoin`]; not
    /// in the paper): its `matchIndex` goes back to 0 and the probe goes on, so that its
    /// successes count again. Success or failure, the result acknowledges the read round it
    /// echoes (dissertation §6.4, [`Self::on_read_ack`]).
    #[allow(clippy::too_many_arguments)]
    fn on_append_entries_reply<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        follower: usize,
        success: bool,
        index: Index,
        read_round: u64,
        o: &mut RaftOut<K, V>,
    ) {
        if !s.is_leader() {
            // A late result, to a leader that has since stepped down in this term... which a
            // leader never does without a higher term: only after a crash, when it no longer
            // waits for anything.
            return;
        }
        if index > s.durable.last_log_index() {
            // Claims entries this leader does not have: not an answer to it.
            return;
        }
        self.on_replication_result(me, s, follower, success, index, o);
        if success && s.is_leader() {
            self.on_learner_progress(me, s, follower, o);
        }
        if !s.is_leader() {
            // It committed the configuration that removes it, and stepped down (§4.2.2).
            return;
        }
        self.on_read_ack(me, s, follower, read_round, o);
    }

    /// The replication half of [`Self::on_append_entries_reply`].
    fn on_replication_result<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        follower: usize,
        success: bool,
        index: Index,
        o: &mut RaftOut<K, V>,
    ) {
        let last = s.durable.last_log_index();
        let Role::Leader {
            next_index,
            match_index,
            replicating,
            ..
        } = &mut s.role
        else {
            unreachable!("checked by on_append_entries_reply")
        };
        if success {
            if index <= match_index[follower] {
                // An older or duplicate success: nothing new.
                return;
            }
            match_index[follower] = index;
            next_index[follower] = next_index[follower].max(index + 1);
            let behind = next_index[follower] <= last;
            if self.pipeline > 0 {
                // In step: the replicate timer sends it the rest, if any.
                replicating.insert(follower);
            }
            self.advance_commit_index(me, s, o);
            // Unless it just committed the configuration that removes it and stepped down
            // (§4.2.2).
            if behind && s.is_leader() && self.pipeline == 0 {
                self.send_append_entries(s, follower, o);
            }
        } else if replicating.contains(follower) {
            // Pipelined, in step: `nextIndex` ran ahead of the answers, so a failure may answer
            // any AppendEntries sent since the last success. The first one puts the follower
            // back to probing, from just after the entry it acknowledged last; those sent
            // before that probe then ask for no more.
            if index == 0 || index >= next_index[follower] {
                // Index 0 always matches; otherwise the answer to a request sent before the
                // follower was last put back to probing.
                return;
            }
            replicating.remove(follower);
            if index <= match_index[follower] {
                // The follower no longer holds an entry it acknowledged (its log shrank), or
                // the failure is older than that acknowledgement: probe from there.
                match_index[follower] = 0;
                next_index[follower] = index;
            } else {
                next_index[follower] = match_index[follower] + 1;
            }
            self.send_append_entries(s, follower, o);
        } else {
            if index == 0 || next_index[follower] != index + 1 {
                // Index 0 always matches; otherwise the result of an earlier probe.
                return;
            }
            if index <= match_index[follower] {
                // The follower no longer holds an entry it acknowledged: its log shrank.
                match_index[follower] = 0;
            }
            next_index[follower] = index;
            self.send_append_entries(s, follower, o);
        }
    }

    /// ReadIndex (dissertation §6.4), step 2: a follower answered an AppendEntries that carried
    /// read round `read_round`, so it still recognized this leader after that round started,
    /// and so after every read waiting for that round (or an earlier one) arrived. With a
    /// majority, those reads are confirmed: no leader of a later term could have committed an
    /// entry before they arrived (its majority would have refused this term).
    fn on_read_ack<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        follower: usize,
        read_round: u64,
        o: &mut RaftOut<K, V>,
    ) {
        let Role::Leader { reads, .. } = &mut s.role else {
            unreachable!("checked by on_append_entries_reply")
        };
        let round = if self.has(RaftBug::ReadWithStaleAcks) {
            // The mutant takes any result that arrives for an acknowledgement of the latest
            // round, although it may have been sent before the round (and the read) began.
            reads.started
        } else {
            read_round
        };
        reads.ack(follower, round);
        self.serve_reads(me, s, o);
    }

    /// ReadIndex (dissertation §6.4), step 1, for a client's get at the leader: the *read
    /// index* is the commit index once the leader has committed an entry of its current term;
    /// before that, its last log index (every entry committed so far is in its log, by Leader
    /// Completeness, so waiting until that index commits covers them; with `noop` the new
    /// leader's no-op is the entry of its term that ends the wait). The read waits for the next
    /// confirmation round ([`ReadRounds`]) and is answered by [`Self::serve_reads`], with no log
    /// entry and nothing saved.
    fn on_read<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        req: RequestId,
        key: K,
        o: &mut RaftOut<K, V>,
    ) {
        let index = if s.durable.term_at(s.commit_index) == Some(s.durable.current_term) {
            s.commit_index
        } else {
            s.durable.last_log_index()
        };
        let Role::Leader { reads, .. } = &mut s.role else {
            unreachable!("only a leader serves reads")
        };
        let round = if self.has(RaftBug::ReadWithoutConfirmation) {
            // The mutant answers from its state machine without asking anyone whether it is
            // still the leader.
            0
        } else {
            reads.started + 1
        };
        reads.wait(WaitingRead {
            client,
            req,
            key,
            index,
            round,
        });
        self.serve_reads(me, s, o);
    }

    /// ReadIndex (dissertation §6.4), steps 3–4: start the next confirmation round if reads
    /// wait for it and none is in flight (AppendEntries to every follower); answer every read
    /// whose round a majority acknowledged once the state machine has applied its read index
    /// (`lastApplied ≥ readIndex`; a leader applies up to its commit index at once).
    fn serve_reads<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let applied = s.durable.last_applied();
        let members = self.members(&s.durable);
        let ServerState {
            durable, role, sm, ..
        } = s;
        let Role::Leader { reads, .. } = role else {
            unreachable!("only a leader serves reads")
        };
        let started = reads.start_if_waiting_among(me, false, members);
        let ready = reads.take_ready_among(me, applied, members);
        if !ready.is_empty() {
            let sm = sm.get(durable);
            for read in &ready {
                o.send(read.client, RaftMsg::Reply(read_answer(sm, read)));
            }
        }
        if started {
            for peer in self.followers(me, &s.durable).collect::<Vec<_>>() {
                self.send_append_entries(s, peer, o);
            }
        }
    }

    /// Rules for Leaders (§5.2), on the heartbeat timer (real runs): AppendEntries to every
    /// follower. If reads wait for a round that has not started, it starts now, even with one in
    /// flight, whose messages may have been lost (a later round's acknowledgements confirm the
    /// earlier rounds too).
    fn on_heartbeat_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let members = self.members(&s.durable);
        let Role::Leader { reads, beats, .. } = &mut s.role else {
            unreachable!("the caller checked that this server leads")
        };
        reads.start_if_waiting_among(me, true, members);
        if self.heartbeats != UNBOUNDED {
            *beats += 1;
        }
        let rearm = *beats < self.heartbeats;
        for peer in self.replicas(me, s).iter() {
            self.send_append_entries(s, peer, o);
        }
        if rearm {
            o.set_timer(RaftTimer::Heartbeat, heartbeat_interval());
        }
    }

    /// Rules for Leaders: if there exists an N > `commitIndex` such that a majority of
    /// `matchIndex[i] ≥ N` and `log[N].term == currentTerm`, set `commitIndex = N` (§5.3,
    /// §5.4.2), and apply.
    fn advance_commit_index<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let Role::Leader {
            match_index,
            learner,
            ..
        } = &s.role
        else {
            unreachable!("only a leader commits by counting")
        };
        let last = s.durable.last_log_index();
        // The leader's own copy counts once it is saved (§10.2.1: with a parallel write, up to
        // `written`; the mutant counts the unsaved entries too).
        let own = match s.written {
            Some(i) if !self.has(RaftBug::CountUnwritten) => i.min(last),
            Some(_) | None => last,
        };
        // Majorities of the leader's configuration (dissertation §4.1); the leader counts
        // itself only if it is a member (§4.2.2).
        let members = self.config(&s.durable);
        let mut counted = members;
        if let (true, Some(l)) = (self.has(RaftBug::LearnerCountsForCommit), learner) {
            // The mutant counts the learner's copy as if it were a member's.
            counted.insert(l.server as usize);
        }
        let stored_on = |n: Index| {
            counted
                .iter()
                .filter(|&i| {
                    if i == me {
                        own >= n
                    } else {
                        match_index[i] >= n
                    }
                })
                .count()
        };
        let committable = (s.commit_index + 1..=last).rev().find(|&n| {
            let term = s.durable.term_at(n);
            let current_term = term.expect("entries after the commit index are in the log")
                == s.durable.current_term;
            (current_term || self.has(RaftBug::CommitPreviousTerm))
                && stored_on(n) >= majority(members.len())
        });
        let Some(n) = committable else {
            return;
        };
        s.commit_index = n;
        // Followers learn the new commit index from the next AppendEntries (a new entry, a
        // retry, or a heartbeat in a real run); the model sends no message for it alone.
        self.apply_committed(s, o);
        // Reads waiting for the state machine to reach their read index.
        self.serve_reads(me, s, o);
        self.step_down_if_removed(me, s);
    }

    /// Rules for All Servers: if `commitIndex > lastApplied`, apply `log[lastApplied + 1]` to
    /// the state machine. A leader answers the client of each command it applies.
    fn apply_committed<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let upto = s.commit_index.min(s.durable.last_log_index());
        if s.durable.last_applied() >= upto {
            return;
        }
        let leader = s.is_leader();
        let ServerState { durable, sm, .. } = s;
        let sm = sm.get_mut(durable);
        while durable.last_applied() < upto {
            let index = durable.last_applied() + 1;
            let LogEntry { term, entry } = durable
                .entry(index)
                .expect("applied entries include the snapshot's")
                .clone();
            let ret = sm.apply(&entry, true);
            if let (Entry::Cmd(cmd), Some(ret), true) = (&entry, ret, leader) {
                o.send(
                    cmd.client,
                    RaftMsg::Reply(ClientReply::Done { req: cmd.req, ret }),
                );
            }
            durable.applied.push((index as Slot, entry));
            durable.applied_terms.push(Applied {
                term,
                at: durable.current_term,
            });
        }
    }

    /// Rules for Leaders: a command from a client. A follower redirects to the leader it knows;
    /// a leader serves a get without the log ([`Self::on_read`], unless `log_reads`), answers a
    /// request it already applied from the session table, waits for one already in its log,
    /// and otherwise appends it and sends it to the followers.
    fn on_client_request<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        request: ClientRequest<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        match &s.role {
            Role::Follower { leader: Some(l) } => {
                o.send(
                    client,
                    RaftMsg::Reply(ClientReply::NotLeader {
                        req: request.req,
                        leader: Some(self.peers[*l as usize]),
                    }),
                );
                return;
            }
            Role::Follower { leader: None } | Role::Candidate { .. } => {
                // No leader known in this term: no answer; the client's retry timer moves on.
                return;
            }
            Role::Leader { .. } => {}
        }
        if let (KvOp::Get(key), false) = (&request.op, self.log_reads) {
            self.on_read(me, s, client, request.req, key.clone(), o);
            return;
        }
        let req = request.req;
        if let Some(ret) = s.sm.get(&s.durable).answered(client, req) {
            o.send(
                client,
                RaftMsg::Reply(ClientReply::Done {
                    req,
                    ret: ret.clone(),
                }),
            );
            return;
        }
        let cmd = request.command(client);
        // An entry of this client's with this request or a later one is in the log. Of the
        // applied entries (and the snapshot's, §7) the session table knows: every command is
        // applied with deduplication, so a client's session holds the highest of its requests
        // applied. Only the entries not applied yet are read, not the whole log at each request.
        let unapplied = s
            .durable
            .last_applied()
            .saturating_sub(s.durable.snapshot_index);
        let known = s.durable.log.iter_from(unapplied as usize).any(
            |e| matches!(&e.entry, Entry::Cmd(c) if c.client == cmd.client && c.req >= cmd.req),
        ) || (s.sm.get(&s.durable).sessions.get(&client))
            .is_some_and(|(r, _)| *r >= req);
        if known || s.durable.last_log_index() >= self.max_log {
            // Already in the log (answered when applied), or an older request; or the model's
            // log bound is reached.
            return;
        }
        s.durable.log.push(LogEntry {
            term: s.durable.current_term,
            entry: Entry::Cmd(cmd),
        });
        self.replicate(me, s, o);
        self.advance_commit_index(me, s, o);
    }

    /// Every message between servers carries a term, compared once, before the receiver looks
    /// at its role (Rules for All Servers, §5.1): a higher term makes the receiver a follower of
    /// that term (with no vote yet); a message with a stale term is rejected.
    ///
    /// Figure 2 answers a stale request with `false` and the receiver's term, so that the sender
    /// updates itself. Ballot drops it without an answer: the sender learns the newer term from
    /// that term's own RequestVote and AppendEntries, which every candidate and leader sends to
    /// every server; and a stale message that is never answered can be discarded from the model
    /// ([`RaftServer::ignores_forever`]), which keeps the state space small.
    fn on_server_msg<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from: usize,
        msg: RaftMsg<K, V>,
        o: &mut RaftOut<K, V>,
    ) {
        let term = match &msg {
            RaftMsg::RequestVote { term, .. }
            | RaftMsg::RequestVoteReply { term, .. }
            | RaftMsg::AppendEntries { term, .. }
            | RaftMsg::AppendEntriesReply { term, .. }
            | RaftMsg::InstallSnapshot { term, .. } => *term,
            RaftMsg::Request(_)
            | RaftMsg::Reply(_)
            | RaftMsg::Admin(_)
            | RaftMsg::AdminReply { .. }
            | RaftMsg::Probe { .. }
            | RaftMsg::ProbeReply { .. } => {
                unreachable!("client messages and probes are dispatched before the term rule")
            }
        };
        if matches!(msg, RaftMsg::RequestVote { .. })
            && self.membership.as_ref().is_some_and(|m| m.by_request)
            && !self.config(&s.durable).contains(from)
        {
            // Disruptive servers (dissertation §4.2.3), in real runs: a candidate outside this
            // server's configuration is ignored, its term included, as if its request were
            // lost (dropping a message is always safe). It is typically a removed server: the
            // leader stops sending it AppendEntries at once, so it never learns of its removal,
            // and left running it would depose every leader with ever higher terms. The model
            // keeps the removed servers' elections (`by_request` is off there).
            return;
        }
        if self.has(RaftBug::RejoinHearsAnyMessage)
            && let Some(r) = &mut s.durable.rejoin
        {
            // The mutant takes any message with a term for an answer to its probe, although
            // it may have been sent before this server lost its storage.
            Self::record_heard(r, self.peers.len(), from, (term, 0));
        }
        if term > s.durable.current_term {
            s.durable.current_term = term;
            s.durable.voted_for = None;
            s.role = Role::Follower { leader: None };
        }
        let stale = term < s.durable.current_term;
        match msg {
            RaftMsg::RequestVote { .. } if stale => {
                // A candidate of an earlier term: rejected (no vote, no answer).
            }
            RaftMsg::AppendEntries { .. } if stale && !self.has(RaftBug::AcceptStaleAppend) => {
                // A leader of an earlier term: rejected (nothing stored, no answer).
            }
            RaftMsg::InstallSnapshot { .. } if stale => {
                // Figure 13, 1: reply immediately if term < currentTerm. As for AppendEntries,
                // Ballot drops it without an answer (see above).
            }
            RaftMsg::RequestVoteReply {
                vote_granted,
                incarnation,
                ..
            } if stale && self.has(RaftBug::CountStaleVote) => {
                self.on_request_vote_reply(me, s, from, vote_granted, incarnation, o)
            }
            RaftMsg::RequestVoteReply { .. } | RaftMsg::AppendEntriesReply { .. } if stale => {
                // The result of a request from an earlier term: this server has moved on.
            }
            RaftMsg::RequestVote {
                last_log_index,
                last_log_term,
                incarnation,
                ..
            } => self.on_request_vote(me, s, from, last_log_index, last_log_term, incarnation, o),
            RaftMsg::RequestVoteReply {
                vote_granted,
                incarnation,
                ..
            } => self.on_request_vote_reply(me, s, from, vote_granted, incarnation, o),
            RaftMsg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                leader_last,
                read_round,
            } => self.on_append_entries(
                me,
                s,
                from,
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                leader_last,
                read_round,
                o,
            ),
            RaftMsg::AppendEntriesReply {
                success,
                index,
                read_round,
                ..
            } => self.on_append_entries_reply(me, s, from, success, index, read_round, o),
            RaftMsg::InstallSnapshot {
                last_included_index,
                last_included_term,
                data,
                data_terms,
                read_round,
                base,
                config,
                ..
            } => self.on_install_snapshot(
                me,
                s,
                from,
                (last_included_index, last_included_term),
                (data, data_terms, base, config),
                read_round,
                o,
            ),
            RaftMsg::Request(_)
            | RaftMsg::Reply(_)
            | RaftMsg::Admin(_)
            | RaftMsg::AdminReply { .. }
            | RaftMsg::Probe { .. }
            | RaftMsg::ProbeReply { .. } => {
                unreachable!("client messages and probes are dispatched before the term rule")
            }
        }
    }

    /// Whether this server, now in state `s` with `saved` storage, ignores `msg`
    /// from server `from` in every state it can reach: the model then discards the message
    /// ([`ClusterModel::discard_obsolete`]). A server never goes below its saved term (it
    /// recovers to it), so a message of a lower term stays stale; a result of the saved term is
    /// useful only to a server that is *now* the candidate (or leader) of that term, since no
    /// server becomes candidate or leader of a term it already holds.
    ///
    /// Answers to its probe are ignored forever if they answer an earlier incarnation of this
    /// server (it never gets that incarnation back), or once it has rejoined (it becomes
    /// rejoining again only as a new incarnation), or if they report nothing above what it
    /// holds; vote results for an earlier incarnation, once their term is not above its saved
    /// term.
    ///
    /// Where a server may still lose its storage (`loss_ahead`), it *does* go below its saved
    /// term: it restarts at term 0, where every message with a term is news to it; then no
    /// rule on terms applies. Where servers may lose their storage at all, messages be
    /// duplicated, or leaders repeat AppendEntries on heartbeats (`match_may_drop`), a leader's
    /// `matchIndex` may go down (a failure at or below it shows that the follower's log shrank,
    /// and an old failure delivered late looks the same), so that a success it ignores now may
    /// count later. The install-discards-matching-suffix mutant shrinks a follower's log too.
    pub fn ignores_forever<K, V>(
        &self,
        s: &ServerState<K, V>,
        saved: Option<&RaftStorage<K, V>>,
        from: usize,
        msg: &RaftMsg<K, V>,
        loss_ahead: bool,
        match_may_drop: bool,
    ) -> bool {
        let now = s.durable.current_term;
        let saved_term = saved.map_or(0, |d| d.current_term);
        let incarnation = saved.map_or(0, |d| d.incarnation);
        match msg {
            RaftMsg::ProbeReply {
                incarnation: i,
                term,
                last_log_index,
                rejoining_empty,
            } => {
                return *i != incarnation
                    || match saved.and_then(|d| d.rejoin.as_ref()) {
                        None => true,
                        Some(r) => {
                            !rejoining_empty
                                && r.heard_from(from)
                                    .is_some_and(|h| (*term, *last_log_index) <= h)
                        }
                    };
            }
            _ if loss_ahead => return false,
            _ => {}
        }
        match msg {
            RaftMsg::RequestVote { term, .. } => {
                // Also ignored for good: a request in a term whose saved vote went to another
                // server (a denial is not answered, and the vote is never taken back).
                let voted_other = saved.is_some_and(|d| {
                    d.current_term == *term && d.voted_for.is_some_and(|v| v as usize != from)
                });
                *term < saved_term || (voted_other && !self.has(RaftBug::VoteTwice))
            }
            RaftMsg::AppendEntries { term, .. } => {
                *term < saved_term && !self.has(RaftBug::AcceptStaleAppend)
            }
            RaftMsg::InstallSnapshot { term, .. } => *term < saved_term,
            RaftMsg::RequestVoteReply {
                term,
                incarnation: i,
                ..
            } => {
                let for_me = *i == incarnation || self.has(RaftBug::CountEarlierIncarnationVote);
                *term < saved_term
                    || (*term == saved_term
                        && !(for_me && now == *term && matches!(s.role, Role::Candidate { .. })))
            }
            RaftMsg::AppendEntriesReply {
                term,
                success,
                index,
                read_round,
            } => match &s.role {
                Role::Leader {
                    match_index, reads, ..
                } if now == *term => {
                    // Without storage losses and without duplicates, `matchIndex` only grows
                    // while this server leads: a failure at or below it (which lowers it) was
                    // sent before the success it answers, and is delivered once. The rounds a
                    // follower acknowledged only grow too (the stale-acks mutant counts any
                    // result for the latest round, which grows).
                    let replicated = *success
                        && !match_may_drop
                        && !self.has(RaftBug::InstallDiscardsMatchingSuffix)
                        && match_index.get(from).is_some_and(|m| index <= m);
                    let acked = !self.has(RaftBug::ReadWithStaleAcks)
                        && reads.acked.get(from).is_some_and(|a| read_round <= a);
                    replicated && acked
                }
                Role::Leader { .. } | Role::Follower { .. } | Role::Candidate { .. } => {
                    *term <= saved_term
                }
            },
            RaftMsg::Request(_)
            | RaftMsg::Reply(_)
            | RaftMsg::Admin(_)
            | RaftMsg::AdminReply { .. }
            | RaftMsg::Probe { .. } => false,
            RaftMsg::ProbeReply { .. } => unreachable!("probe answers are decided above"),
        }
    }

    /// Runs `step` on a copy of the server's state, then saves persistent state if it changed
    /// (before any message the step sends: Figure 2's "updated on stable storage before
    /// responding to RPCs"), keeps the election and heartbeat timers in line with the role,
    /// and records the Leader Append-Only ghost.
    fn step<K: Value, V: Value>(
        &self,
        me: usize,
        before: &ServerState<K, V>,
        event: Event,
        o: &mut RaftOut<K, V>,
        step: impl FnOnce(&mut ServerState<K, V>, &mut RaftOut<K, V>),
    ) -> Option<ServerState<K, V>> {
        let mut after = before.clone();
        let mut out = Out::new();
        step(&mut after, &mut out);
        if before.is_leader()
            && after.is_leader()
            && before.durable.current_term == after.durable.current_term
            && !log_extends(&before.durable, &after.durable)
        {
            after.leader_overwrote = true;
        }
        let unsaved = event == Event::RequestVote && self.has(RaftBug::UnsavedVote);
        let diff = Changed::between(&before.durable, &after.durable);
        let changed = if !self.volatile_applied {
            diff.any()
        } else if self.has(RaftBug::ApplyStepUnsaved)
            && after.durable.last_applied() > before.durable.last_applied()
        {
            // The mutant: a step that applied entries is taken for one that only applied.
            false
        } else {
            diff.beyond_applied()
        };
        // §10.2.1: a leader's step that only appended entries leaves them to its write timer.
        let write_later = changed
            && self.parallel_write
            && after.is_leader()
            && diff.appends_only(self.volatile_applied);
        if event == Event::WriteTimeout || (changed && !unsaved && !write_later) {
            o.save(after.durable.clone());
        }
        if write_later && after.written.is_none() {
            // Everything up to the log's end before this step was saved.
            after.written = Some(before.durable.last_log_index());
        }
        // The write timer that fired is gone; otherwise it is set exactly while entries wait.
        let had = event != Event::WriteTimeout && before.written.is_some();
        match (had, after.written.is_some()) {
            (false, true) => o.set_timer(RaftTimer::Write, write_interval()),
            (true, false) => o.cancel_timer(RaftTimer::Write),
            (true, true) | (false, false) => {}
        }
        // The snapshot timer that fired is gone; otherwise it is set exactly when wanted.
        let had = event != Event::SnapshotTimeout && self.wants_snapshot_timer(before);
        match (had, self.wants_snapshot_timer(&after)) {
            (false, true) => o.set_timer(RaftTimer::Snapshot, snapshot_interval()),
            (true, false) => o.cancel_timer(RaftTimer::Snapshot),
            (true, true) | (false, false) => {}
        }
        // The append timer that fired is gone; otherwise it is set exactly when wanted.
        let had = event != Event::AppendTimeout && self.wants_append_timer(before);
        match (had, self.wants_append_timer(&after)) {
            (false, true) => o.set_timer(RaftTimer::Append, append_interval()),
            (true, false) => o.cancel_timer(RaftTimer::Append),
            (true, true) | (false, false) => {}
        }
        // The replicate timer that fired is gone; otherwise it is set exactly when wanted.
        let had = event != Event::ReplicateTimeout && self.wants_replicate_timer(me, before);
        match (had, self.wants_replicate_timer(me, &after)) {
            (false, true) => o.set_timer(RaftTimer::Replicate, replicate_interval()),
            (true, false) => o.cancel_timer(RaftTimer::Replicate),
            (true, true) | (false, false) => {}
        }
        // The reconfigure timer that fired is gone; otherwise one is set exactly for each
        // server the leader may add or remove (none if changes come by request).
        if !self.membership.as_ref().is_some_and(|m| m.by_request) {
            let mut had = self.reconfigure_targets(before);
            if let Event::ReconfigureTimeout(t) = event {
                had.remove(t);
            }
            let wanted = self.reconfigure_targets(&after);
            for t in wanted.iter().filter(|&t| !had.contains(t)) {
                o.set_timer(RaftTimer::Reconfigure(t as u8), reconfigure_interval());
            }
            for t in had.iter().filter(|&t| !wanted.contains(t)) {
                o.cancel_timer(RaftTimer::Reconfigure(t as u8));
            }
        }
        // The election timer that fired is gone; otherwise it is set exactly when wanted.
        let had = event != Event::ElectionTimeout && self.wants_election_timer(me, before);
        match (had, self.wants_election_timer(me, &after)) {
            (false, true) => o.set_timer(RaftTimer::Election, election_timeout()),
            (true, false) => o.cancel_timer(RaftTimer::Election),
            (true, true) | (false, false) => {}
        }
        if self.heartbeats > 0 && before.is_leader() && !after.is_leader() {
            o.cancel_timer(RaftTimer::Heartbeat);
        }
        if self.heartbeats == UNBOUNDED && before.is_rejoining() && !after.is_rejoining() {
            o.cancel_timer(RaftTimer::Probe);
        }
        o.append(&mut out);
        (after != *before).then_some(after)
    }
}

/// How a step changed a server's persistent state: what `RaftServer::step` decides the save
/// on. Every field of `RaftStorage` is named in [`Changed::between`], so that a new one is not
/// left out.
struct Changed {
    /// The log: unchanged, only extended, or otherwise changed (truncated, compacted).
    log: LogChange,
    /// The applied entries (volatile in Figure 2: `lastApplied`, the state machine, rebuilt
    /// from the log; [`RaftServer::volatile_applied`]).
    applied: bool,
    /// Anything else: the term, the vote, the snapshot, rejoining, the incarnation.
    other: bool,
}

/// How a step changed the log.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LogChange {
    Same,
    Appended,
    Other,
}

impl Changed {
    fn between<K: PartialEq, V: PartialEq>(
        before: &RaftStorage<K, V>,
        after: &RaftStorage<K, V>,
    ) -> Self {
        let RaftStorage {
            current_term,
            voted_for,
            log,
            snapshot_index,
            snapshot_term,
            snapshot_config,
            applied,
            applied_terms,
            rejoin,
            incarnation,
            applied_base,
        } = after;
        Changed {
            log: if *log == before.log {
                LogChange::Same
            } else if log.len() > before.log.len() && log.starts_with(&before.log) {
                LogChange::Appended
            } else {
                LogChange::Other
            },
            applied: *applied != before.applied || *applied_terms != before.applied_terms,
            other: *current_term != before.current_term
                || *voted_for != before.voted_for
                || *snapshot_index != before.snapshot_index
                || *snapshot_term != before.snapshot_term
                || *snapshot_config != before.snapshot_config
                || *rejoin != before.rejoin
                || *incarnation != before.incarnation
                || *applied_base != before.applied_base,
        }
    }

    /// Any change: the step has something to save.
    fn any(&self) -> bool {
        self.beyond_applied() || self.applied
    }

    /// A change to anything but the applied entries (with `volatile_applied`, applying alone
    /// saves nothing).
    fn beyond_applied(&self) -> bool {
        self.log != LogChange::Same || self.other
    }

    /// Only entries appended to the log (and applied entries, if they are volatile): a step a
    /// leader writing in parallel (§10.2.1, [`RaftServer::parallel_write`]) leaves to its write
    /// timer.
    fn appends_only(&self, volatile_applied: bool) -> bool {
        self.log == LogChange::Appended && !self.other && (volatile_applied || !self.applied)
    }
}

/// Whether `after`'s logical log (snapshot and suffix, [`logical_log`]) extends `before`'s.
fn log_extends<K: PartialEq + Clone, V: PartialEq + Clone>(
    before: &RaftStorage<K, V>,
    after: &RaftStorage<K, V>,
) -> bool {
    if before.snapshot_index == after.snapshot_index {
        after.snapshot_term == before.snapshot_term && after.log.starts_with(&before.log)
    } else if before.applied_base.is_some() || after.applied_base.is_some() {
        // A real run's folded entries are gone (the model keeps them): the entries both hold.
        let from = before.snapshot_index.max(after.snapshot_index);
        from <= before.last_log_index()
            && after.last_log_index() >= before.last_log_index()
            && after.term_at(from) == before.term_at(from)
            && (from + 1..=before.last_log_index()).all(|i| after.entry(i) == before.entry(i))
    } else {
        logical_log(after).starts_with(&logical_log(before))
    }
}

/// What a step handles, as far as [`RaftServer::step`] needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A RequestVote (the unsaved-vote mutant skips the save).
    RequestVote,
    /// The election timer fired (and is no longer set).
    ElectionTimeout,
    /// The snapshot timer fired (and is no longer set).
    SnapshotTimeout,
    /// The append timer fired (and is no longer set).
    AppendTimeout,
    /// The replicate timer fired (and is no longer set).
    ReplicateTimeout,
    /// The write timer fired (and is no longer set): the step saves, whatever it changed.
    WriteTimeout,
    /// The reconfigure timer for this server fired (and is no longer set).
    ReconfigureTimeout(usize),
    /// Any other message.
    Other,
}

/// The state machine of a server: its applied entries, applied again to an empty map. A server
/// builds it once and keeps it updated ([`ServerState::sm`]).
pub fn state_machine<K: Value, V: Value>(durable: &RaftStorage<K, V>) -> KvStateMachine<K, V> {
    let mut sm = durable
        .applied_base
        .as_ref()
        .map_or_else(KvStateMachine::default, |b| {
            KvStateMachine::from_snapshot(&b.sm)
        });
    for (_, e) in durable.applied.iter() {
        sm.apply(e, true);
    }
    sm
}

impl<K: Value, V: Value> Actor for RaftActor<K, V> {
    type Msg = RaftMsg<K, V>;
    type State = RaftState<K, V>;
    type Timer = RaftTimer;
    type Random = ();
    type Storage = RaftStorage<K, V>;

    fn name(&self) -> String {
        match self {
            Self::Server(_) => "Server".into(),
            Self::Client(_) => "Client".into(),
        }
    }

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Self::Server(server) => {
                let me = server.index_of(id).expect("a server is among its peers");
                RaftState::Server(server.on_start(me, storage, o))
            }
            Self::Client(client) => RaftState::Client(client.on_start(o)),
        }
    }

    fn on_msg(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        src: Id,
        msg: Self::Msg,
        o: &mut Out<Self>,
    ) {
        match (self, &**state) {
            (Self::Server(server), RaftState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let event = match msg {
                    RaftMsg::RequestVote { .. } => Event::RequestVote,
                    _ => Event::Other,
                };
                let after = match (msg, server.index_of(src)) {
                    (RaftMsg::Request(r), _) => server.step(me, before, event, o, |s, o| {
                        server.on_client_request(me, s, src, r, o)
                    }),
                    (RaftMsg::Admin(r), _) => server.step(me, before, event, o, |s, o| {
                        server.on_admin(me, s, src, r, o)
                    }),
                    (RaftMsg::Reply(_) | RaftMsg::AdminReply { .. }, _) => {
                        // Answers meant for clients; a server sends no requests.
                        None
                    }
                    (RaftMsg::Probe { incarnation }, Some(from)) => {
                        // Answered without a change of state (not even a save).
                        server.on_probe(before, from, incarnation, o);
                        None
                    }
                    (
                        RaftMsg::ProbeReply {
                            incarnation,
                            term,
                            last_log_index,
                            rejoining_empty,
                        },
                        Some(from),
                    ) => server.step(me, before, event, o, |s, _| {
                        server.on_probe_reply(
                            s,
                            from,
                            incarnation,
                            (term, last_log_index),
                            rejoining_empty,
                        )
                    }),
                    (RaftMsg::Probe { .. } | RaftMsg::ProbeReply { .. }, None) => {
                        // Probes count only between configured peers.
                        None
                    }
                    (
                        msg @ (RaftMsg::RequestVote { .. }
                        | RaftMsg::RequestVoteReply { .. }
                        | RaftMsg::AppendEntries { .. }
                        | RaftMsg::AppendEntriesReply { .. }
                        | RaftMsg::InstallSnapshot { .. }),
                        Some(from),
                    ) => server.step(me, before, event, o, |s, o| {
                        server.on_server_msg(me, s, from, msg, o)
                    }),
                    (
                        RaftMsg::RequestVote { .. }
                        | RaftMsg::RequestVoteReply { .. }
                        | RaftMsg::AppendEntries { .. }
                        | RaftMsg::AppendEntriesReply { .. }
                        | RaftMsg::InstallSnapshot { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                        None
                    }
                };
                if let Some(after) = after {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Client(client), RaftState::Client(c)) => match msg {
                RaftMsg::Reply(reply) => {
                    if let Some(next) = client.on_reply(c, &reply, o) {
                        *state = Cow::Owned(RaftState::Client(next));
                    }
                }
                RaftMsg::Request(_)
                | RaftMsg::Admin(_)
                | RaftMsg::AdminReply { .. }
                | RaftMsg::RequestVote { .. }
                | RaftMsg::RequestVoteReply { .. }
                | RaftMsg::AppendEntries { .. }
                | RaftMsg::AppendEntriesReply { .. }
                | RaftMsg::InstallSnapshot { .. }
                | RaftMsg::Probe { .. }
                | RaftMsg::ProbeReply { .. } => {
                    // Server messages, and an administrator's, which model clients never
                    // send; a client takes part in none of them.
                }
            },
            (Self::Server(_), RaftState::Client(_)) | (Self::Client(_), RaftState::Server(_)) => {
                unreachable!("an actor's state always matches its role")
            }
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<Self::State>,
        timer: &Self::Timer,
        o: &mut Out<Self>,
    ) {
        match (self, &**state, timer) {
            (Self::Server(server), RaftState::Server(before), RaftTimer::Election) => {
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::ElectionTimeout, o, |s, o| {
                    server.start_election(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Heartbeat) => {
                if !before.is_leader() {
                    // Stepped down since the timer was set.
                    return;
                }
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::Other, o, |s, o| {
                    server.on_heartbeat_timeout(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Snapshot) => {
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::SnapshotTimeout, o, |s, o| {
                    server.take_snapshot(s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Append) => {
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::AppendTimeout, o, |s, o| {
                    server.on_append_timeout(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Replicate) => {
                if !before.is_leader() {
                    // Stepped down since the timer was set (the step wrapper cancels it then).
                    return;
                }
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::ReplicateTimeout, o, |s, o| {
                    server.on_replicate_timeout(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Write) => {
                let me = server.index_of(id).expect("a server is among its peers");
                if let Some(after) = server.step(me, before, Event::WriteTimeout, o, |s, o| {
                    server.on_write_done(me, s, o)
                }) {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Reconfigure(t)) => {
                let me = server.index_of(id).expect("a server is among its peers");
                let t = usize::from(*t);
                if let Some(after) =
                    server.step(me, before, Event::ReconfigureTimeout(t), o, |s, o| {
                        server.on_reconfigure(me, s, t, o)
                    })
                {
                    *state = Cow::Owned(RaftState::Server(after));
                }
            }
            (Self::Server(server), RaftState::Server(before), RaftTimer::Probe) => {
                if !before.is_rejoining() {
                    // Rejoined since the timer was set.
                    return;
                }
                let me = server.index_of(id).expect("a server is among its peers");
                server.send_probes(me, before, o);
                o.set_timer(RaftTimer::Probe, heartbeat_interval());
            }
            (Self::Client(client), RaftState::Client(c), RaftTimer::Client(_)) => {
                if let Some(next) = client.on_retry(c, o) {
                    *state = Cow::Owned(RaftState::Client(next));
                }
            }
            (
                Self::Client(_),
                RaftState::Client(_),
                RaftTimer::Election
                | RaftTimer::Heartbeat
                | RaftTimer::Probe
                | RaftTimer::Snapshot
                | RaftTimer::Append
                | RaftTimer::Replicate
                | RaftTimer::Write
                | RaftTimer::Reconfigure(_),
            )
            | (Self::Server(_), RaftState::Server(_), RaftTimer::Client(_)) => {
                // Each role sets only its own timers.
            }
            (Self::Server(_), RaftState::Client(_), _)
            | (Self::Client(_), RaftState::Server(_), _) => {
                unreachable!("an actor's state always matches its role")
            }
        }
    }
}
