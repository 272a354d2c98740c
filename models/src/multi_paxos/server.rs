//! The handlers: a Multi-Paxos server's rules, one function per step, in the paper's order —
//! Phase 1a (`prepare`), Phase 1b (`on_prepare`), Phase 2a (`on_promise`, `propose`), Phase 2b
//! (`on_accept`), learning (`on_accepted`, the commit point, heartbeats, catch-up, execution)
//! — then the clients' requests, the timers, and the [`Actor`] that dispatches messages and
//! timers to them.

use super::*;

/// A Multi-Paxos server's configuration: its peers, the model's bounds, the bug it runs with.
/// Every server has the same configuration (so servers are interchangeable for symmetry
/// reduction).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MpServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest ballot round a server may start (keeps the model finite; unbounded in real
    /// runs).
    pub max_round: u32,
    /// A leader proposes in slots below this only (keeps the model finite).
    pub max_slots: Slot,
    /// How many times a leader's heartbeat timer fires in one ballot; each time it re-sends the
    /// unanswered Accepts and sends heartbeats. Real runs need them (datagrams get lost; an idle
    /// leader must hold off elections and tell learners its commit point) and have no bound
    /// ([`UNBOUNDED`]). A model has none unless `--heartbeats N` (the checker fires a timer at
    /// any moment, so each firing must be bounded to keep the model finite).
    pub heartbeats: u32,
    /// Gets go through the log like writes (proposed in a slot, answered when executed) instead
    /// of being answered by the leader from its state machine after a confirmation round
    /// ([`ReadRounds`]). The model's `--log-reads`; real runs confirm.
    pub log_reads: bool,
    /// Executing a chosen entry saves nothing by itself (`--volatile-applied`; real runs): the
    /// executed entries ([`MpStorage::log`], [`MpStorage::executed`]) are saved with the next
    /// save of anything else, so a crash may take some back, and the server learns and
    /// executes them again. A chosen entry is durable already, in a majority's votes (§2.2),
    /// which is why its execution need not be: the sync a replica spent on it protected
    /// nothing a client could see. `false`: every execution is saved before anything is sent.
    pub volatile_applied: bool,
    /// A leader batches its proposals (`--batch`; real runs): a request is proposed (and voted
    /// for by the leader's own acceptor) when it arrives, but its Accept waits for the propose
    /// timer ([`MpTimer::Propose`]), which sends one Accept with every proposal made since —
    /// up to [`ACCEPT_BATCH_MAX`] slots. A real node fires that timer after the batch of
    /// datagrams it is serving, so the requests of a batch share one Accept and one Accepted
    /// per acceptor. The model fires it at any moment, so every way of grouping the proposals
    /// is checked. `false`: one Accept per proposal, sent when it is made.
    pub batch: bool,
    /// Log compaction on a timer (`--compact`; not in the paper, which keeps every vote): a
    /// server that executed slots beyond its compaction point discards its votes in them
    /// ([`MpStorage::compacted`]); the checker fires the timer at any moment. Real nodes
    /// compact by count instead ([`Self::compact_when`], `ballot node --snapshot-every`), and
    /// fold the executed entries into their state machine too.
    pub compact: bool,
    /// The mutant to run, if any.
    pub bug: Option<MpBug>,
}

/// A Multi-Paxos actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MpActor<K, V> {
    /// A server.
    Server(MpServer),
    /// A model client running its operations one at a time.
    Client(KvClient<K, V>),
}

impl MpServer {
    /// The server of a real run (`ballot serve multi-paxos`), with `peers` every server's
    /// address: no bound on ballots, slots or heartbeats; gets answered after a confirmation
    /// round, not through the log; executing a chosen entry syncs nothing by itself
    /// ([`Self::volatile_applied`]).
    pub fn for_real_runs(peers: Vec<Id>) -> Self {
        MpServer {
            peers,
            max_round: u32::MAX,
            max_slots: Slot::MAX,
            heartbeats: UNBOUNDED,
            log_reads: false,
            volatile_applied: true,
            batch: true,
            compact: false,
            bug: None,
        }
    }

    fn has(&self, bug: MpBug) -> bool {
        self.bug == Some(bug)
    }

    fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn quorum(&self) -> usize {
        if self.has(MpBug::MinorityQuorum) {
            self.peers.len() / 2
        } else {
            majority(self.peers.len())
        }
    }

    fn dedup(&self) -> bool {
        !self.has(MpBug::NoDedup)
    }

    fn others(&self, me: usize) -> impl Iterator<Item = &Id> {
        self.peers
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != me)
            .map(|(_, id)| id)
    }

    /// The acceptor raises its promise to `ballot` (P1a). A server leading or preparing a lower
    /// ballot gives up: a higher ballot has taken over.
    fn promise<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        s.durable.promised = s.durable.promised.max(Some(ballot));
        if s.role.ballot().is_some_and(|b| b < ballot) {
            if self.heartbeats > 0 && matches!(s.role, Role::Leading { .. }) {
                o.cancel_timer(MpTimer::Heartbeat);
            }
            s.role = Role::Follower;
            self.restart_election_timer(s, o);
        }
    }

    /// (Re)starts the election timer, unless this server may start no higher round (the model's
    /// bound). A follower restarts it whenever it hears from the leader it promised (an Accept
    /// or a heartbeat), so that a working leader is not taken over.
    fn restart_election_timer<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.promised.is_some_and(|p| p.round < self.max_round) {
            o.set_timer(MpTimer::Election, election_timeout());
        }
    }

    /// The leader starts sending heartbeats (if this server sends them at all).
    fn start_heartbeats<K: Value, V: Value>(&self, o: &mut Out<MpActor<K, V>>) {
        if self.heartbeats > 0 {
            o.set_timer(MpTimer::Heartbeat, heartbeat_interval());
        }
    }

    /// Phase 1a (§2.2, §3): choose a ballot higher than any seen and send one prepare request
    /// for every slot not yet executed. The ballot is saved first, so a recovered server never
    /// reuses it; the server's own acceptor promises at once.
    fn prepare<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        // Rounds are exhausted at `max_round` (the model's bound) or at u32::MAX (a peer may have
        // promised that high): no higher ballot exists, so this server stops trying to lead.
        let Some(round) = s.durable.promised.map_or(0, |b| b.round).checked_add(1) else {
            return;
        };
        if round > self.max_round {
            return;
        }
        let ballot = Ballot {
            round,
            proposer: me as u8,
        };
        s.durable.promised = Some(ballot);
        o.save(s.durable.clone());
        let from = s.durable.executed.first_missing();
        s.role = Role::Preparing {
            ballot,
            from,
            promises: ServerSet::default(),
            reports: Vec::new(),
            compacted: Compacted(0),
        };
        for peer in self.others(me) {
            o.send(*peer, MpMsg::Prepare { ballot, from });
        }
        if round < self.max_round {
            o.set_timer(MpTimer::Election, election_timeout());
        }
        // Its own compaction point is at or below `from`, the first slot it has not executed.
        let own = votes_from(&s.durable.votes, from).cloned().collect();
        let compacted = s.durable.compacted;
        self.on_promise(me, s, me, ballot, own, compacted, o);
    }

    /// Phase 1b (§2.2): "If an acceptor receives a prepare request with number n greater than
    /// that of any prepare request to which it has already responded, then it responds to the
    /// request with a promise not to accept any more proposals numbered less than n" — and, for
    /// every prepared slot, with the highest-numbered proposal it has accepted (§3).
    fn on_prepare<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        ballot: Ballot,
        from: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.promised.is_some_and(|p| ballot <= p) {
            // Promised this ballot or a higher one already: no answer.
            return;
        }
        self.promise(s, ballot, o);
        o.save(s.durable.clone());
        let compacted = if self.has(MpBug::CompactionUnreported) {
            // The mutant reports the votes it kept as if they were all it ever cast.
            Compacted(0)
        } else {
            s.durable.compacted
        };
        let votes = votes_from(&s.durable.votes, from).cloned().collect();
        o.send(
            src,
            MpMsg::Promise {
                ballot,
                votes,
                compacted,
            },
        );
    }

    /// Phase 2a for a new leader (§3): with promises from a majority, re-propose in every
    /// reported slot the value of the highest-numbered proposal, fill the gaps below the highest
    /// reported slot with no-ops, then serve new commands from the slot after.
    ///
    /// With log compaction (not in the paper), a Promise may say that the slots below its
    /// compaction point are chosen and their votes discarded. The leader proposes in none of
    /// them: a vote another acceptor reports there may be an older ballot's, not the chosen
    /// value, whose only voter in this majority may be the one that compacted. It learns them
    /// instead, asking the acceptor that compacted them (catch-up), and proposes from the
    /// highest compaction point on.
    #[allow(clippy::too_many_arguments)]
    fn on_promise<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from_server: usize,
        ballot: Ballot,
        votes: Vec<Vote<K, V>>,
        compacted: Compacted,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let executed = s.durable.executed.first_missing();
        let Role::Preparing {
            ballot: preparing,
            from,
            promises,
            reports,
            compacted: highest,
        } = &mut s.role
        else {
            // Not preparing (leading already, or gave up): a late Promise.
            return;
        };
        if *preparing != ballot {
            // A Promise for an earlier ballot of this server.
            return;
        }
        promises.insert(from_server);
        if compacted > *highest {
            *highest = compacted;
        }
        if compacted.0 > executed {
            // Chosen slots this server has not executed, and whose votes are gone there.
            o.send(self.peers[from_server], MpMsg::CatchUp { from: executed });
        }
        if !self.has(MpBug::IgnorePromisedValues) {
            for v in votes {
                match reports.binary_search_by_key(&v.slot, |r| r.slot) {
                    Ok(i) if reports[i].ballot < v.ballot => reports[i] = v,
                    Ok(_) => {}
                    Err(i) => reports.insert(i, v),
                }
            }
        }
        if promises.len() < self.quorum() {
            return;
        }
        // The first slot to propose in: below it, every slot is executed here or compacted by
        // an acceptor (chosen, to be learned).
        let start = (*from).max(highest.0);
        let reports: Vec<_> = std::mem::take(reports)
            .into_iter()
            .filter(|r| r.slot >= start)
            .collect();
        let next = reports.last().map_or(start, |r| r.slot + 1).max(start);
        // Kept only while it matters (reads served by the leader, slots re-proposed and not yet
        // executed), so that states differ by it only then.
        let taken_over = if self.log_reads || next <= s.durable.executed.first_missing() {
            0
        } else {
            next
        };
        s.role = Role::Leading {
            ballot,
            next: start,
            unsent: start,
            in_flight: Vec::new(),
            beats: 0,
            taken_over,
            reads: ReadRounds::new(self.peers.len()),
            behind: Compacted(if start > executed { start } else { 0 }),
        };
        o.cancel_timer(MpTimer::Election);
        self.start_heartbeats(o);
        for slot in start..next {
            let entry = match reports.binary_search_by_key(&slot, |r| r.slot) {
                Ok(i) => reports[i].entry.clone(),
                Err(_) => Entry::Noop,
            };
            self.propose(me, s, entry, o);
        }
    }

    /// Phase 2a (§2.2): the leader proposes `entry` in its next free slot and sends the
    /// acceptors an accept request for it — at once, or, batching, on its propose timer
    /// ([`Self::on_propose_timeout`]) with the proposals made since. Its own acceptor accepts
    /// now, without a message to itself.
    fn propose<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        entry: Entry<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading {
            ballot,
            next,
            in_flight,
            reads,
            ..
        } = &mut s.role
        else {
            unreachable!("only a leader proposes");
        };
        let (ballot, read_round, slot) = (*ballot, reads.started, *next);
        *next += 1;
        in_flight.push(InFlight {
            slot,
            entry: entry.clone(),
            acks: ServerSet::default(),
        });
        if !self.batch {
            self.send_accepts(me, s, o);
        }
        if self.accept(s, ballot, slot, vec![entry], o) {
            self.on_accepted(me, s, me, ballot, slot, 1, read_round, o);
        }
    }

    /// Phase 2a, sending: an accept request to every other acceptor for each proposal not yet
    /// sent (from `unsent` to `next`), in Accepts of up to [`ACCEPT_BATCH_MAX`] consecutive
    /// slots (of one slot, without batching).
    fn send_accepts<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let committed = s.durable.executed.first_missing();
        let Role::Leading {
            ballot,
            next,
            unsent,
            in_flight,
            reads,
            ..
        } = &mut s.role
        else {
            unreachable!("only a leader proposes");
        };
        let first = in_flight.partition_point(|p| p.slot < *unsent);
        let accepts = self.accepts(*ballot, committed, reads.started, &in_flight[first..]);
        *unsent = *next;
        for accept in accepts {
            for peer in self.others(me) {
                o.send(*peer, accept.clone());
            }
        }
    }

    /// The Accepts that carry `proposals` (sorted by slot): one per run of consecutive slots,
    /// of at most [`ACCEPT_BATCH_MAX`] slots — one per proposal without batching.
    pub(super) fn accepts<'a, K: Value + 'a, V: Value + 'a>(
        &self,
        ballot: Ballot,
        committed: Slot,
        read_round: u64,
        proposals: impl IntoIterator<Item = &'a InFlight<K, V>>,
    ) -> Vec<MpMsg<K, V>> {
        let limit = if self.batch { ACCEPT_BATCH_MAX } else { 1 };
        let mut accepts = Vec::new();
        for p in proposals {
            if let Some(MpMsg::Accept { slot, entries, .. }) = accepts.last_mut()
                && entries.len() < limit
                && *slot + entries.len() as Slot == p.slot
            {
                entries.push(p.entry.clone());
                continue;
            }
            accepts.push(MpMsg::Accept {
                ballot,
                slot: p.slot,
                entries: vec![p.entry.clone()],
                committed,
                read_round,
            });
        }
        accepts
    }

    /// Phase 2b (§2.2): "If an acceptor receives an accept request for a proposal numbered n, it
    /// accepts the proposal unless it has already responded to a prepare request having a number
    /// greater than n." It accepts every proposal of the Accept (they share the ballot) and
    /// saves them with one save before it answers, once for all; then, as a learner, it takes
    /// in the leader's commit point. The answer echoes the leader's read round.
    #[allow(clippy::too_many_arguments)]
    fn on_accept<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        ballot: Ballot,
        slot: Slot,
        entries: Vec<Entry<K, V>>,
        committed: Slot,
        read_round: u64,
        o: &mut Out<MpActor<K, V>>,
    ) {
        // Slots past the last one are not: a hostile Accept may not make an acceptor overflow.
        let count = (entries.len() as Slot).min(Slot::MAX - slot);
        if self.accept(s, ballot, slot, entries, o) {
            o.send(
                src,
                MpMsg::Accepted {
                    ballot,
                    slot,
                    count,
                    read_round,
                },
            );
            self.restart_election_timer(s, o);
            self.learn_committed(s, ballot, committed, o);
        }
        // Otherwise promised a higher ballot (P1a): no answer.
    }

    /// The acceptor's Phase 2b decision on the proposals `entries` for the slots from `first`
    /// on; true if it accepted (and saved) them.
    fn accept<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        first: Slot,
        entries: Vec<Entry<K, V>>,
        o: &mut Out<MpActor<K, V>>,
    ) -> bool {
        if s.durable.promised.is_some_and(|p| ballot < p) {
            return false;
        }
        let mut changed = false;
        // Up to the last slot number but one, as `on_accept` counts them: the count of an
        // Accepted always fits in a `Slot`, and it names exactly the slots accepted.
        for (slot, entry) in (first..Slot::MAX).zip(entries) {
            if slot < s.durable.compacted.0 {
                // Compacted: the slot is chosen and executed here, and its vote discarded. The
                // proposal is the chosen entry (a leader that proposes in a chosen slot proposes
                // its value, §2.2's P2c, which compaction keeps: a Phase 1 that meets a
                // compacted slot does not propose in it), so the acceptor counts as having
                // accepted it, without a vote to save.
                continue;
            }
            let vote = Vote {
                slot,
                ballot,
                entry,
            };
            let votes = &mut s.durable.votes;
            match votes.binary_search_by_key(&slot, |v| v.slot) {
                Ok(i) if votes[i] == vote => {
                    // A duplicate Accept of the proposal already accepted: nothing new to save.
                    continue;
                }
                Ok(i) => votes.set(i, vote),
                Err(i) => votes.insert(i, vote),
            }
            changed = true;
        }
        if changed {
            self.promise(s, ballot, o);
            o.save(s.durable.clone());
        }
        true
    }

    /// The leader learns that its proposals are chosen (§2.3): a majority of acceptors accepted
    /// them. It learns them; the other learners hear of them with its next Accept. The Accepted
    /// also acknowledges the read round it echoes ([`Self::on_read_ack`]).
    #[allow(clippy::too_many_arguments)]
    fn on_accepted<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from_server: usize,
        ballot: Ballot,
        slot: Slot,
        count: Slot,
        read_round: u64,
        o: &mut Out<MpActor<K, V>>,
    ) {
        match &s.role {
            Role::Leading {
                ballot: leading, ..
            } if *leading == ballot => {}
            Role::Leading { .. } => {
                // An Accepted for an earlier ballot of this server.
                return;
            }
            Role::Follower | Role::Preparing { .. } => {
                // Not leading any more: a late Accepted.
                return;
            }
        }
        self.count_accepted(s, from_server, self.acknowledged(slot, count), o);
        self.on_read_ack(me, s, from_server, read_round, o);
    }

    /// The slots an Accepted for the `count` slots from `slot` on acknowledges: those (for the
    /// cumulative mutant, every slot below them too, as if an acceptor that accepted a slot
    /// had accepted every earlier one).
    fn acknowledged(&self, slot: Slot, count: Slot) -> Range<Slot> {
        let start = if self.has(MpBug::CumulativeAccepted) {
            0
        } else {
            slot
        };
        start..slot.saturating_add(count)
    }

    /// The Phase 2 half of [`Self::on_accepted`]: one more acceptor accepted the proposals in
    /// `slots`; each that a majority accepted is chosen. (Slots with no proposal in flight are
    /// chosen already: an Accepted after the quorum.)
    fn count_accepted<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        from_server: usize,
        slots: Range<Slot>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading { in_flight, .. } = &mut s.role else {
            unreachable!("checked by on_accepted")
        };
        let quorum = self.quorum();
        let mut chosen = Vec::new();
        in_flight.retain_mut(|p| {
            if !slots.contains(&p.slot) {
                return true;
            }
            p.acks.insert(from_server);
            if p.acks.len() < quorum {
                return true;
            }
            chosen.push((p.slot, p.entry.clone()));
            false
        });
        for (slot, entry) in chosen {
            self.learn(s, slot, entry, o);
        }
    }

    /// A learner hears the leader's commit point (§3, carried by Accept and heartbeats): every
    /// slot below `committed` is chosen. For each such slot where it accepted this leader's
    /// proposal, it knows the chosen entry — the leader proposes one entry per slot in a ballot.
    fn learn_committed<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        ballot: Ballot,
        committed: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        // Slots below the first unexecuted one need nothing: only the votes from there to the
        // commit point are looked at (not the whole history).
        let first = s.durable.executed.first_missing();
        let known: Vec<_> = votes_from(&s.durable.votes, first)
            .take_while(|v| v.slot < committed)
            .filter(|v| v.ballot == ballot || self.has(MpBug::CommitAnyBallot))
            .map(|v| (v.slot, v.entry.clone()))
            .collect();
        for (slot, entry) in known {
            self.learn(s, slot, entry, o);
        }
    }

    /// A heartbeat from the leader of `ballot`: unless this server promised a higher ballot, it
    /// adopts the ballot (as an Accept in it would make it), restarts its election timer, and
    /// learns up to the leader's commit point. If a slot below that point is still unknown (it
    /// missed the Accept, or holds an earlier ballot's vote there), it asks the leader for the
    /// chosen entries. (Not on every Accept: with Accepts overtaking each other, most gaps fill
    /// by themselves a moment later; the next heartbeat asks about those that do not.)
    ///
    /// It answers a heartbeat of a read round ([`MpMsg::HeartbeatOk`], echoing the round): it
    /// had promised no higher ballot when it answered, which is what confirms the leader's
    /// reads.
    fn on_heartbeat<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        leader: Id,
        ballot: Ballot,
        committed: Slot,
        read_round: u64,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if self.has(MpBug::HeartbeatSetsPromise) && matches!(s.role, Role::Follower) {
            // The mutant follower follows whoever sends a heartbeat, lowering its promise if
            // need be.
            s.durable.promised = Some(ballot);
            o.save(s.durable.clone());
        } else if s.durable.promised.is_some_and(|p| ballot < p) {
            // A deposed leader's heartbeat: its commit point is still true, but this server
            // follows a higher ballot, and learns from that leader.
            return;
        }
        if s.durable.promised != Some(ballot) {
            // Missed this leader's Prepare: a ballot that reached Phase 2 is promised as an
            // Accept in it would be (saved: the promise is the acceptor's P1a state).
            self.promise(s, ballot, o);
            o.save(s.durable.clone());
        }
        self.restart_election_timer(s, o);
        self.learn_committed(s, ballot, committed, o);
        if read_round > 0 {
            // Round 0 confirms no read (a read waits for a round that starts after it
            // arrives, 1 at the least): a leader that never had a read needs no answer.
            o.send(leader, MpMsg::HeartbeatOk { ballot, read_round });
        }
        let from = s.durable.executed.first_missing();
        if from < committed {
            o.send(leader, MpMsg::CatchUp { from });
        }
    }

    /// An acceptor answered a heartbeat of this leader's ballot: an acknowledgement of the read
    /// round it echoes. An answer for an earlier ballot of this server, or one that arrives
    /// after it stopped leading, confirms nothing.
    fn on_heartbeat_ok<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from_server: usize,
        ballot: Ballot,
        read_round: u64,
        o: &mut Out<MpActor<K, V>>,
    ) {
        match &s.role {
            Role::Leading {
                ballot: leading, ..
            } if *leading == ballot => {
                self.on_read_ack(me, s, from_server, read_round, o);
            }
            Role::Leading { .. } | Role::Follower | Role::Preparing { .. } => {
                // Not for this ballot's leadership: nothing to confirm.
            }
        }
    }

    /// Reads (not in the paper, which leaves reads out; the analogue of Raft's ReadIndex,
    /// Ongaro's dissertation §6.4): acceptor `from_server` answered a message of this leader's
    /// ballot that carried read round `read_round`, so it had promised no higher ballot at a
    /// moment after that round started, after every read waiting for it arrived. With a
    /// majority, no higher ballot had a value chosen before those reads arrived (its majority
    /// would have promised it, and refused this ballot).
    fn on_read_ack<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        from_server: usize,
        read_round: u64,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading { reads, .. } = &mut s.role else {
            unreachable!("the callers checked that this server leads")
        };
        if from_server != me {
            let round = if self.has(MpBug::ReadWithStaleAcks) {
                // The mutant takes any answer that arrives for an acknowledgement of the
                // latest round, although it may have been sent before the round began.
                reads.started
            } else {
                read_round
            };
            reads.ack(from_server, round);
        }
        self.serve_reads(me, s, o);
    }

    /// A client's get at the leader: the *read index* is the first slot not executed, or the
    /// end of the takeover if that is later ([`Role::Leading`]'s `taken_over`). Any write
    /// answered before the read arrived is in a slot below it: answered by this leader, it was
    /// executed; by an earlier leader, it was chosen in an earlier ballot and is among the
    /// re-proposed slots or below them; by a later leader, the confirmation round fails. The
    /// read waits for the next confirmation round ([`ReadRounds`]) and is answered by
    /// [`Self::serve_reads`], with no slot and nothing saved.
    fn on_read<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        req: RequestId,
        key: K,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let executed = s.durable.executed.first_missing();
        let Role::Leading {
            taken_over, reads, ..
        } = &mut s.role
        else {
            unreachable!("only a leader serves reads")
        };
        let round = if self.has(MpBug::ReadWithoutConfirmation) {
            // The mutant answers from its state machine without asking the acceptors whether
            // its ballot still stands.
            0
        } else {
            reads.started + 1
        };
        reads.wait(WaitingRead {
            client,
            req,
            key,
            index: u64::from(executed.max(*taken_over)),
            round,
        });
        self.serve_reads(me, s, o);
    }

    /// Starts the next confirmation round if reads wait for it and none is in flight (a
    /// heartbeat to every acceptor); answers every read whose round a majority acknowledged
    /// once the replica has executed every slot below its read index.
    fn serve_reads<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let dedup = self.dedup();
        let committed = s.durable.executed.first_missing();
        let ServerState {
            durable, role, sm, ..
        } = s;
        let Role::Leading { ballot, reads, .. } = role else {
            unreachable!("only a leader serves reads")
        };
        let started = reads.start_if_waiting(me, false);
        let read_round = reads.started;
        let ready = reads.take_ready(me, u64::from(committed));
        if !ready.is_empty() {
            let sm = sm.get_or(|| durable.state_machine(dedup));
            for read in &ready {
                o.send(read.client, MpMsg::Reply(read_answer(sm, read)));
            }
        }
        if started {
            let ballot = *ballot;
            for peer in self.others(me) {
                o.send(
                    *peer,
                    MpMsg::Heartbeat {
                        ballot,
                        committed,
                        read_round,
                    },
                );
            }
        }
    }

    /// A learner asks for the chosen entries from slot `from` on: the server answers with the
    /// entries it executed from there (each chosen), and its commit point.
    fn on_catch_up<K: Value, V: Value>(
        &self,
        s: &ServerState<K, V>,
        learner: Id,
        from: Slot,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let committed = s.durable.executed.first_missing();
        if from >= committed {
            // This server knows no more than the learner.
            return;
        }
        if self.has(MpBug::OutOfOrder) {
            // The out-of-order mutant's log positions are not slots: it has no slot-ordered
            // entries to send.
            return;
        }
        assert_eq!(
            s.durable.executed_count(),
            committed,
            "a replica executes slots in order, one log entry each"
        );
        // Slots folded into the state machine (a real run's) go as that state machine.
        let folded = s.durable.log_base.count();
        let (from, base) = if from < folded {
            (folded, s.durable.log_base.clone())
        } else {
            (from, LogBase(None))
        };
        let entries = s
            .durable
            .log
            .iter_from((from - folded) as usize)
            .map(|(_, entry)| entry.clone())
            .collect();
        o.send(
            learner,
            MpMsg::Chosen {
                from,
                entries,
                committed,
                base,
            },
        );
    }

    /// A learner receives chosen entries (§2.3): it learns each, and asks again if the sender's
    /// commit point is still ahead of it (a real run's answer may be cut to fit a datagram).
    /// A state machine sent with them (`base`, real runs) stands for every slot below `from`:
    /// a learner that has not executed them all starts from it.
    #[allow(clippy::too_many_arguments)]
    fn on_chosen<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        src: Id,
        from: Slot,
        entries: Vec<Entry<K, V>>,
        committed: Slot,
        base: LogBase<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if let Some(b) = &base.0 {
            if b.count != u64::from(from) {
                // A base that does not end where the entries begin: not a well-behaved sender's
                // (compared as sent, so that no count read from a datagram can overflow a slot).
                return;
            }
            if from > s.durable.executed.first_missing() {
                self.install_base(s, base, o);
            }
        }
        for (slot, entry) in (from..).zip(entries) {
            self.learn(s, slot, entry, o);
        }
        let first = s.durable.executed.first_missing();
        if first < committed {
            o.send(src, MpMsg::CatchUp { from: first });
        }
    }

    /// A learner far behind (a real run's) takes a sender's folded state machine for every slot
    /// below its end: its log restarts from it, and its votes in those slots, chosen and now
    /// executed, are compacted. Saved: the compaction point it may report must not come back
    /// lower after a crash than the votes it discarded.
    fn install_base<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        base: LogBase<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let end = base.count();
        let d = &mut s.durable;
        d.log_base = base;
        d.log = SharedVec::new();
        d.executed = SlotSet::below(end);
        d.compact();
        s.pending.retain(|(slot, _)| *slot >= end);
        s.sm = SmCache::default();
        o.save(s.durable.clone());
        self.caught_up(s);
    }

    /// A learner learns that `entry` is chosen for `slot`, and the replica executes every entry
    /// it can in slot order: it saves what it executed (unless [`MpServer::volatile_applied`]),
    /// then (if it leads) answers the clients.
    fn learn<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        slot: Slot,
        entry: Entry<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if s.durable.executed.contains(slot) {
            // Executed already: the commit point of a later Accept covers it again.
            return;
        }
        let mut replies = Vec::new();
        if self.has(MpBug::OutOfOrder) {
            self.execute(s, slot, entry, &mut replies);
        } else {
            match s.pending.binary_search_by_key(&slot, |(sl, _)| *sl) {
                Ok(_) => {
                    // Learned already, and still waiting for an earlier slot.
                    return;
                }
                Err(i) => s.pending.insert(i, (slot, entry)),
            }
            while s
                .pending
                .first()
                .is_some_and(|(sl, _)| *sl == s.durable.executed.first_missing())
            {
                let (slot, entry) = s.pending.remove(0);
                self.execute(s, slot, entry, &mut replies);
            }
        }
        if s.durable.executed.contains(slot) && !self.volatile_applied {
            o.save(s.durable.clone());
        }
        self.caught_up(s);
        for (client, reply) in replies {
            o.send(client, MpMsg::Reply(reply));
        }
    }

    /// A leader whose replica executed further forgets the marks it no longer needs: the end of
    /// its takeover (no read waits on those slots any more) and the compaction point it was
    /// behind.
    fn caught_up<K, V>(&self, s: &mut ServerState<K, V>) {
        let executed = s.durable.executed.first_missing();
        if let Role::Leading {
            taken_over, behind, ..
        } = &mut s.role
        {
            if executed >= *taken_over {
                *taken_over = 0;
            }
            if executed >= behind.0 {
                *behind = Compacted(0);
            }
        }
    }

    /// The replica executes `entry` as its next entry; the leader will answer its client.
    fn execute<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        slot: Slot,
        entry: Entry<K, V>,
        replies: &mut Vec<(Id, ClientReply<V>)>,
    ) {
        let dedup = self.dedup();
        let ServerState { durable, sm, .. } = s;
        let ret = sm
            .get_mut_or(|| durable.state_machine(dedup))
            .apply(&entry, dedup);
        if let (Role::Leading { .. }, Entry::Cmd(cmd), Some(ret)) = (&s.role, &entry, ret) {
            replies.push((cmd.client, ClientReply::Done { req: cmd.req, ret }));
        }
        let position = s.durable.executed_count();
        s.durable.log.push((position, entry));
        s.durable.executed.insert(slot);
    }

    /// A client request reaches a server. The leader answers a request it already executed from
    /// the recorded result, and proposes any other in the next free slot (a retried request may
    /// so be chosen twice; replicas execute it once). Other servers point to the leader they
    /// know of.
    fn on_request<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        client: Id,
        request: ClientRequest<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        if let (KvOp::Get(key), Role::Leading { .. }, false) =
            (&request.op, &s.role, self.log_reads)
        {
            self.on_read(me, s, client, request.req, key.clone(), o);
            return;
        }
        let req = request.req;
        let dedup = self.dedup();
        let ServerState {
            durable, role, sm, ..
        } = s;
        match role {
            Role::Leading { next, .. } => {
                let sm = sm.get_or(|| durable.state_machine(dedup));
                match sm.sessions.get(&client) {
                    Some((last, ret)) if *last == req => {
                        let ret = ret.clone();
                        o.send(client, MpMsg::Reply(ClientReply::Done { req, ret }));
                        return;
                    }
                    Some((last, _)) if *last > req => {
                        // An older request: the client has its answer and moved on.
                        return;
                    }
                    Some(_) | None => {
                        // A request not executed yet: propose it below.
                    }
                }
                if *next >= self.max_slots {
                    // The model's bound on slots: the client's retry timer may try again.
                    return;
                }
                self.propose(me, s, Entry::Cmd(request.command(client)), o);
            }
            Role::Preparing { .. } => {
                // About to lead: the client's retry timer sends the request again.
            }
            Role::Follower => match s.durable.promised.map(|b| b.proposer as usize) {
                Some(leader) if leader != me => {
                    let leader = Some(self.peers[leader]);
                    o.send(client, MpMsg::Reply(ClientReply::NotLeader { req, leader }));
                }
                Some(_) | None => {
                    // No leader known (this server's own ballot ended with a crash): no answer.
                    // The client's retry timer tries the next server.
                }
            },
        }
    }

    /// The election timer fired: unless leading, try to take over with a higher ballot.
    fn on_election_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        match &s.role {
            Role::Leading { ballot, .. } => {
                // Still the leader (a higher promise would have ended it): nothing to suspect.
                assert_eq!(
                    s.durable.promised,
                    Some(*ballot),
                    "a leader leads its promise"
                );
            }
            Role::Preparing { .. } | Role::Follower => self.prepare(me, s, o),
        }
    }

    /// A batching leader's propose timer fired ([`MpServer::batch`]): it sends the Accepts of
    /// the proposals made since it last sent any.
    fn on_propose_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        match s.role {
            Role::Leading { .. } => self.send_accepts(me, s, o),
            Role::Follower | Role::Preparing { .. } => {
                // Stepping down cancels the timer ([`Self::keep_propose_timer`]); one that fired
                // in between finds nothing to send.
            }
        }
    }

    /// Whether a server in state `s` keeps its propose timer: it batches, leads, and has
    /// proposals whose Accept it has not sent.
    fn wants_propose_timer<K, V>(&self, s: &ServerState<K, V>) -> bool {
        self.batch && matches!(s.role, Role::Leading { next, unsent, .. } if unsent < next)
    }

    /// After a step: sets the propose timer if the server now wants it and did not before
    /// (`had`), cancels it if it no longer does.
    fn keep_propose_timer<K: Value, V: Value>(
        &self,
        had: bool,
        s: &ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        keep_timer(
            had,
            self.wants_propose_timer(s),
            MpTimer::Propose,
            propose_interval(),
            o,
        );
    }

    /// The leader's heartbeat timer fired: it re-sends each proposal still in flight to the
    /// acceptors that have not accepted it (a lost Accept or Accepted), tells every server its
    /// commit point, and re-arms the timer (in a model, up to `heartbeats` times a ballot).
    fn on_heartbeat_timeout<K: Value, V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        let Role::Leading {
            ballot,
            unsent,
            in_flight,
            beats,
            reads,
            behind,
            ..
        } = &mut s.role
        else {
            // Stepped down since the timer was set (stepping down cancels it; a timer that
            // fired in between finds a follower): nothing to send, and it is not re-armed.
            return;
        };
        // Reads waiting for a round that has not started: it starts now, even with one in
        // flight, whose messages may have been lost.
        reads.start_if_waiting(me, true);
        let read_round = reads.started;
        let (ballot, committed, behind) = (*ballot, s.durable.executed.first_missing(), *behind);
        if self.heartbeats != UNBOUNDED {
            *beats += 1;
        }
        let rearm = *beats < self.heartbeats;
        // The proposals sent: a batching leader's unsent ones go with its propose timer.
        let sent = &in_flight[..in_flight.partition_point(|p| p.slot < *unsent)];
        for (i, peer) in self.peers.iter().enumerate() {
            let missing = sent.iter().filter(|p| i != me && !p.acks.contains(i));
            for accept in self.accepts(ballot, committed, read_round, missing) {
                o.send(*peer, accept);
            }
        }
        for peer in self.others(me) {
            o.send(
                *peer,
                MpMsg::Heartbeat {
                    ballot,
                    committed,
                    read_round,
                },
            );
        }
        if behind.0 > committed {
            // Still missing chosen slots its Phase 1 found compacted: ask again, anyone.
            for peer in self.others(me) {
                o.send(*peer, MpMsg::CatchUp { from: committed });
            }
        }
        if rearm {
            o.set_timer(MpTimer::Heartbeat, heartbeat_interval());
        }
    }

    /// The compaction timer fired (`--compact`): compact, and save.
    fn on_compact_timeout<K: Value, V: Value>(
        &self,
        s: &mut ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        s.durable.compact();
        o.save(s.durable.clone());
    }

    /// Whether a server in state `s` keeps its compaction timer: it compacts on a timer and
    /// executed slots beyond its compaction point.
    fn wants_compact_timer<K, V>(&self, s: &ServerState<K, V>) -> bool {
        self.compact && s.durable.executed.first_missing() > s.durable.compacted.0
    }

    /// After a step: sets the compaction timer if the server now wants it and did not before
    /// (`had`), cancels it if it no longer does.
    fn keep_compact_timer<K: Value, V: Value>(
        &self,
        had: bool,
        s: &ServerState<K, V>,
        o: &mut Out<MpActor<K, V>>,
    ) {
        keep_timer(
            had,
            self.wants_compact_timer(s),
            MpTimer::Compact,
            compact_interval(),
            o,
        );
    }

    /// Log compaction in a real run, once the replica executed `every` slots beyond its
    /// compaction point (never if `every` is 0): the model's step ([`MpStorage::compact`]), then the
    /// executed entries folded into their state machine ([`MpStorage::log_base`]), so that the
    /// storage keeps a state machine, the votes of the slots not yet executed and fewer than
    /// `every` entries. The new state, saved through `o`, or `None` if it is not due (or
    /// `state` is not a server's).
    pub fn compact_when<K: Value, V: Value>(
        &self,
        state: &MpState<K, V>,
        every: u64,
        o: &mut Out<MpActor<K, V>>,
    ) -> Option<MpState<K, V>> {
        let MpState::Server(before) = state else {
            return None;
        };
        let executed = u64::from(before.durable.executed.first_missing());
        if every == 0 || executed < u64::from(before.durable.compacted.0).saturating_add(every) {
            return None;
        }
        let mut s = before.clone();
        let dedup = self.dedup();
        let ServerState { durable, sm, .. } = &mut s;
        durable.compact();
        durable.fold_log(sm.get_or(|| durable.state_machine(dedup)));
        o.save(s.durable.clone());
        Some(MpState::Server(s))
    }
}

impl MpServer {
    /// Whether this server, now in state `s` with `saved` storage, ignores `msg` from `src` in
    /// every state it can reach: the model then discards the message
    /// ([`ClusterModel::discard_obsolete`], which also checks the claim against the handler).
    /// The argument: the saved promise only grows (it is saved before any answer that depends
    /// on it, and a recovered server starts from it), so a Prepare at or below it, and an
    /// Accept or a heartbeat below it, stay unanswered (P1a); a server prepares and leads each
    /// of its ballots at most once (a new Phase 1 takes a round above its saved promise), so a
    /// Promise for a ballot it is not preparing, and an Accepted for a ballot it is not
    /// leading, stay late; within a ballot the leader proposes each slot once, so an Accepted
    /// for a slot no longer in flight, or from an acceptor already counted, stays a duplicate;
    /// and the read rounds an acceptor acknowledged in a ballot only grow, so an answer for a
    /// round at or below them stays useless.
    pub fn ignores_forever<K, V>(
        &self,
        s: &ServerState<K, V>,
        saved: Option<&MpStorage<K, V>>,
        src: Id,
        msg: &MpMsg<K, V>,
    ) -> bool {
        let promised = saved.and_then(|d| d.promised);
        // The mutant that lets a heartbeat lower the promise breaks the first argument.
        let monotone = !self.has(MpBug::HeartbeatSetsPromise);
        let Some(from) = self.index_of(src) else {
            return false;
        };
        match msg {
            MpMsg::Prepare { ballot, .. } => monotone && promised.is_some_and(|p| *ballot <= p),
            MpMsg::Accept { ballot, .. } | MpMsg::Heartbeat { ballot, .. } => {
                monotone && promised.is_some_and(|p| *ballot < p)
            }
            // A server with a lowered promise could prepare the same ballot again.
            MpMsg::Promise { ballot, .. } => {
                monotone
                    && !matches!(
                        &s.role,
                        Role::Preparing { ballot: b, promises, .. }
                            if b == ballot && !promises.contains(from)
                    )
            }
            MpMsg::Accepted {
                ballot,
                slot,
                count,
                read_round,
            } => {
                let slots = self.acknowledged(*slot, *count);
                monotone
                    && !matches!(
                        &s.role,
                        Role::Leading { ballot: b, in_flight, .. }
                            if b == ballot
                                && in_flight.iter().any(|p| slots.contains(&p.slot) && !p.acks.contains(from))
                    )
                    && !self.acks_a_new_round(s, from, *ballot, *read_round)
            }
            MpMsg::HeartbeatOk { ballot, read_round } => {
                monotone && !self.acks_a_new_round(s, from, *ballot, *read_round)
            }
            MpMsg::Request(_) | MpMsg::Reply(_) | MpMsg::CatchUp { .. } | MpMsg::Chosen { .. } => {
                // A request may be answered later, a catch-up is always answered, chosen
                // entries may still be news: never obsolete for sure.
                false
            }
        }
    }
}

impl MpServer {
    /// Whether an answer from acceptor `from` for `ballot`, echoing read round `read_round`,
    /// acknowledges a round it has not acknowledged yet: this server leads `ballot` and the
    /// round is above what `from` acknowledged (for the stale-acks mutant, any answer while it
    /// leads `ballot`: it counts each for the latest round, which grows).
    fn acks_a_new_round<K, V>(
        &self,
        s: &ServerState<K, V>,
        from: usize,
        ballot: Ballot,
        read_round: u64,
    ) -> bool {
        match &s.role {
            Role::Leading {
                ballot: b, reads, ..
            } if *b == ballot => {
                self.has(MpBug::ReadWithStaleAcks)
                    || reads.acked.get(from).is_none_or(|a| read_round > *a)
            }
            Role::Leading { .. } | Role::Follower | Role::Preparing { .. } => false,
        }
    }
}

/// Sets `timer` if a server now `wants` it and did not before (`had`), cancels it if it no
/// longer does: the propose and compaction timers, kept from one step to the next.
fn keep_timer<K: Value, V: Value>(
    had: bool,
    wants: bool,
    timer: MpTimer,
    interval: Range<Duration>,
    o: &mut Out<MpActor<K, V>>,
) {
    match (had, wants) {
        (false, true) => o.set_timer(timer, interval),
        (true, false) => o.cancel_timer(timer),
        (true, true) | (false, false) => {}
    }
}

impl<K: Value, V: Value> Actor for MpActor<K, V> {
    type Msg = MpMsg<K, V>;
    type State = MpState<K, V>;
    type Timer = MpTimer;
    type Random = ();
    type Storage = MpStorage<K, V>;

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
                let mut s = ServerState {
                    durable: storage.clone().unwrap_or_default(),
                    role: Role::Follower,
                    pending: Vec::new(),
                    sm: SmCache::default(),
                };
                if server.has(MpBug::ForgetVotes) {
                    s.durable.votes = SharedVec::new();
                }
                if storage.is_none() && server.max_round >= 1 {
                    // A fresh start begins where the first leader's Phase 1 ended: every
                    // acceptor promised ballot 1 of server 0 and had accepted nothing, so server
                    // 0 leads from slot 0 with nothing to re-propose. Saved at once, so that no
                    // recovery starts over.
                    let first = Ballot {
                        round: 1,
                        proposer: 0,
                    };
                    s.durable.promised = Some(first);
                    o.save(s.durable.clone());
                    if me == 0 {
                        s.role = Role::Leading {
                            ballot: first,
                            next: 0,
                            unsent: 0,
                            in_flight: Vec::new(),
                            beats: 0,
                            taken_over: 0,
                            reads: ReadRounds::new(server.peers.len()),
                            behind: Compacted(0),
                        };
                        server.start_heartbeats(o);
                        return MpState::Server(s);
                    }
                }
                if s.durable.promised.map_or(0, |b| b.round) < server.max_round {
                    o.set_timer(MpTimer::Election, election_timeout());
                }
                server.keep_compact_timer(false, &s, o);
                MpState::Server(s)
            }
            Self::Client(client) => MpState::Client(client.on_start(o)),
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
            (Self::Server(server), MpState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let from = server.index_of(src);
                // Handlers work on a copy; the state is replaced only if it changed, so that
                // Stateright recognises ignored messages as no-ops.
                let mut after = before.clone();
                let s = &mut after;
                match (msg, from) {
                    (MpMsg::Request(r), None) => server.on_request(me, s, src, r, o),
                    (MpMsg::Prepare { ballot, from }, Some(_)) => {
                        server.on_prepare(s, src, ballot, from, o)
                    }
                    (
                        MpMsg::Promise {
                            ballot,
                            votes,
                            compacted,
                        },
                        Some(from),
                    ) => server.on_promise(me, s, from, ballot, votes, compacted, o),
                    (
                        MpMsg::Accept {
                            ballot,
                            slot,
                            entries,
                            committed,
                            read_round,
                        },
                        Some(_),
                    ) => server.on_accept(s, src, ballot, slot, entries, committed, read_round, o),
                    (
                        MpMsg::Accepted {
                            ballot,
                            slot,
                            count,
                            read_round,
                        },
                        Some(from),
                    ) => server.on_accepted(me, s, from, ballot, slot, count, read_round, o),
                    (
                        MpMsg::Heartbeat {
                            ballot,
                            committed,
                            read_round,
                        },
                        Some(_),
                    ) => server.on_heartbeat(s, src, ballot, committed, read_round, o),
                    (MpMsg::HeartbeatOk { ballot, read_round }, Some(from)) => {
                        server.on_heartbeat_ok(me, s, from, ballot, read_round, o)
                    }
                    (MpMsg::CatchUp { from }, Some(_)) => server.on_catch_up(s, src, from, o),
                    (
                        MpMsg::Chosen {
                            from,
                            entries,
                            committed,
                            base,
                        },
                        Some(_),
                    ) => server.on_chosen(s, src, from, entries, committed, base, o),
                    (MpMsg::Request(_), Some(_)) => {
                        // Servers send no requests: a request from a peer is not a client's.
                    }
                    (
                        MpMsg::Prepare { .. }
                        | MpMsg::Promise { .. }
                        | MpMsg::Accept { .. }
                        | MpMsg::Accepted { .. }
                        | MpMsg::Heartbeat { .. }
                        | MpMsg::HeartbeatOk { .. }
                        | MpMsg::CatchUp { .. }
                        | MpMsg::Chosen { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                    }
                    (MpMsg::Reply(_), _) => {
                        // Answers meant for clients; a server sends no requests.
                    }
                }
                server.keep_propose_timer(server.wants_propose_timer(before), s, o);
                server.keep_compact_timer(server.wants_compact_timer(before), s, o);
                if server.has(MpBug::ExecuteStepUnsaved)
                    && server.volatile_applied
                    && after.durable.log.len() > before.durable.log.len()
                {
                    // The mutant: a step that executed entries is taken for one that only
                    // executed, and saves nothing (its vote or promise included).
                    *o = without_saves(o);
                }
                if after != *before {
                    *state = Cow::Owned(MpState::Server(after));
                }
            }
            (Self::Client(client), MpState::Client(c)) => match msg {
                MpMsg::Reply(reply) => {
                    if let Some(next) = client.on_reply(c, &reply, o) {
                        *state = Cow::Owned(MpState::Client(next));
                    }
                }
                MpMsg::Request(_)
                | MpMsg::Prepare { .. }
                | MpMsg::Promise { .. }
                | MpMsg::Accept { .. }
                | MpMsg::Accepted { .. }
                | MpMsg::Heartbeat { .. }
                | MpMsg::HeartbeatOk { .. }
                | MpMsg::CatchUp { .. }
                | MpMsg::Chosen { .. } => {
                    // Server messages; a client takes part in none of them.
                }
            },
            (Self::Server(_), MpState::Client(_)) | (Self::Client(_), MpState::Server(_)) => {
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
        match (self, timer) {
            (
                Self::Server(server),
                MpTimer::Election | MpTimer::Heartbeat | MpTimer::Propose | MpTimer::Compact,
            ) => {
                let me = server.index_of(id).expect("a server is among its peers");
                let MpState::Server(s) = state.to_mut() else {
                    unreachable!("servers have server state")
                };
                // The propose timer, having fired, is set no more.
                let had = *timer != MpTimer::Propose && server.wants_propose_timer(s);
                let had_compact = *timer != MpTimer::Compact && server.wants_compact_timer(s);
                match timer {
                    MpTimer::Election => server.on_election_timeout(me, s, o),
                    MpTimer::Heartbeat => server.on_heartbeat_timeout(me, s, o),
                    MpTimer::Propose => server.on_propose_timeout(me, s, o),
                    MpTimer::Compact => server.on_compact_timeout(s, o),
                    MpTimer::Client(_) => unreachable!("matched above"),
                }
                server.keep_propose_timer(had, s, o);
                server.keep_compact_timer(had_compact, s, o);
            }
            (Self::Client(client), MpTimer::Client(ClientRetry)) => {
                let MpState::Client(c) = &**state else {
                    unreachable!("clients have client state")
                };
                if let Some(next) = client.on_retry(c, o) {
                    *state = Cow::Owned(MpState::Client(next));
                }
            }
            (Self::Server(_), MpTimer::Client(_))
            | (
                Self::Client(_),
                MpTimer::Election | MpTimer::Heartbeat | MpTimer::Propose | MpTimer::Compact,
            ) => {
                // Each role sets only its own timer.
            }
        }
    }
}
