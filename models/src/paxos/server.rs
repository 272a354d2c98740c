//! The handlers: a Paxos server's rules from §2.2 and §2.3, one function per step, in the
//! paper's order — Phase 1a (`prepare`), Phase 1b (`on_prepare`), Phase 2a (`on_promise`),
//! Phase 2b (`on_accept`), learning (`on_accepted`, `on_decided`) — then the clients'
//! requests (`on_put`, and `on_get`, which learns through a read ballot), and the [`Actor`] that
//! dispatches messages and the retry timer to them.

use super::*;

/// A Paxos server's configuration: who its peers are, the model's bound, the bug it runs with.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PaxosServer {
    /// Every server, this one included, in index order.
    pub peers: Vec<Id>,
    /// The highest round a proposer may start (keeps the model finite; unbounded in real runs).
    pub max_round: u32,
    /// The mutant to run, if any.
    pub bug: Option<PaxosBug>,
}

/// A Paxos actor: a server or a model client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PaxosActor<V> {
    /// A server.
    Server(PaxosServer),
    /// A model client: proposes `value` to `put_to`, then reads from `get_from`.
    Client {
        /// The value this client proposes.
        value: V,
        /// The server the proposal goes to.
        put_to: Id,
        /// The server the read goes to.
        get_from: Id,
    },
}

impl PaxosServer {
    fn has(&self, bug: PaxosBug) -> bool {
        self.bug == Some(bug)
    }

    fn index_of(&self, id: Id) -> Option<usize> {
        self.peers.iter().position(|p| *p == id)
    }

    fn quorum(&self) -> usize {
        if self.has(PaxosBug::MinorityQuorum) {
            self.peers.len() / 2
        } else {
            majority(self.peers.len())
        }
    }

    fn others(&self, me: usize) -> impl Iterator<Item = &Id> {
        self.peers
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != me)
            .map(|(_, id)| id)
    }

    /// Phase 1a (§2.2): choose a new proposal number n and send a prepare request to the
    /// acceptors. The proposer's own acceptor promises at once (no message to itself), and the
    /// round is saved first, so a recovered proposer never reuses a ballot with another value.
    /// `own_value` is `None` for a read ballot ([`Self::on_get`]).
    fn prepare<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        own_value: Option<V>,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let seen = s.durable.promised.map_or(0, |b| b.round);
        // Rounds are exhausted at `max_round` (the model's bound) or at u32::MAX (a peer may have
        // promised that high): no higher ballot exists, so this proposer stops proposing.
        let Some(round) = s.durable.last_round.max(seen).checked_add(1) else {
            return;
        };
        if round > self.max_round {
            return;
        }
        let ballot = Ballot {
            round,
            proposer: me as u8,
        };
        s.durable.last_round = round;
        s.durable.promised = Some(ballot);
        o.save(s.durable.clone());
        s.proposal = Some(Proposal {
            ballot,
            own_value,
            phase: Phase::Preparing {
                promises: ServerSet::default(),
                highest: None,
            },
        });
        for peer in self.others(me) {
            o.send(*peer, PaxosMsg::Prepare { ballot });
        }
        if round < self.max_round {
            o.set_timer(PaxosTimer::Retry, retry_timeout());
        }
        let own_report = s.durable.accepted.clone();
        self.on_promise(me, s, me, ballot, own_report, o);
    }

    /// Phase 1b (§2.2): "If an acceptor receives a prepare request with number n greater than
    /// that of any prepare request to which it has already responded, then it responds to the
    /// request with a promise not to accept any more proposals numbered less than n and with the
    /// highest-numbered proposal (if any) that it has accepted."
    fn on_prepare<V: Value>(
        &self,
        s: &mut ServerState<V>,
        src: Id,
        ballot: Ballot,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if s.durable.promised.is_some_and(|p| ballot <= p) {
            // Promised this ballot or a higher one already: no answer. The proposer retries with
            // a higher ballot when its timer fires.
            return;
        }
        s.durable.promised = Some(ballot);
        if !self.has(PaxosBug::UnsavedPromise) {
            o.save(s.durable.clone());
        }
        o.send(
            src,
            PaxosMsg::Promise {
                ballot,
                accepted: s.durable.accepted.clone(),
            },
        );
    }

    /// Phase 2a (§2.2): "If the proposer receives a response to its prepare requests (numbered n)
    /// from a majority of acceptors, then it sends an accept request to each of those acceptors
    /// for a proposal numbered n with a value v, where v is the value of the highest-numbered
    /// proposal among the responses, or is any value if the responses reported no proposals."
    ///
    /// A read ballot ([`Self::on_get`]) has no value of its own: with a reported proposal it
    /// goes on like any ballot; with none, no value has been chosen (a chosen value was accepted
    /// by a majority, which would intersect this one), so there is nothing to learn yet and it
    /// ends the ballot, its `Get`s waiting for the decision.
    fn on_promise<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        from: usize,
        ballot: Ballot,
        reported: Option<(Ballot, V)>,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let Some(p) = s.proposal.as_mut() else {
            // Not proposing (decided, or restarted): a late Promise.
            return;
        };
        let Phase::Preparing { promises, highest } = &mut p.phase else {
            // Phase 2 already started: this Promise came after the quorum.
            return;
        };
        if p.ballot != ballot {
            // A Promise for an earlier ballot of this proposer.
            return;
        }
        if self.has(PaxosBug::ReadOnePromise) && from != me && !promises.contains(from) {
            // The mutant: a waiting Get is answered with the first value a peer reports.
            if let Some((_, v)) = &reported {
                s.waiting.retain(|(client, req, why)| {
                    let answered = *why == Waiting::Get;
                    if answered {
                        o.send(
                            *client,
                            PaxosMsg::GetOk {
                                req: *req,
                                decided: v.clone(),
                            },
                        );
                    }
                    !answered
                });
            }
        }
        promises.insert(from);
        if let Some((b, v)) = reported {
            let adopt = match self.bug {
                Some(PaxosBug::IgnorePromisedValues) => false,
                Some(PaxosBug::AnyReportedValue) => true,
                _ => highest.as_ref().is_none_or(|(hb, _)| b > *hb),
            };
            if adopt {
                *highest = Some((b, v));
            }
        }
        if promises.len() < self.quorum() {
            return;
        }
        let value = match (highest.take(), &p.own_value) {
            (Some((_, v)), _) => v,
            (None, None) => {
                // A read ballot, and nothing accepted in a majority: nothing chosen to learn.
                s.proposal = None;
                o.cancel_timer(PaxosTimer::Retry);
                return;
            }
            (None, Some(_)) if self.has(PaxosBug::UnproposedValue) => V::default(),
            (None, Some(own)) => own.clone(),
        };
        p.phase = Phase::Accepting {
            value: value.clone(),
            accepted: ServerSet::default(),
        };
        for peer in self.others(me) {
            o.send(
                *peer,
                PaxosMsg::Accept {
                    ballot,
                    value: value.clone(),
                },
            );
        }
        // The proposer's own acceptor, without a message to itself.
        if self.accept(s, ballot, value, o) {
            self.on_accepted(me, s, me, ballot, o);
        }
    }

    /// Phase 2b (§2.2): "If an acceptor receives an accept request for a proposal numbered n, it
    /// accepts the proposal unless it has already responded to a prepare request having a number
    /// greater than n." It saves before it answers.
    fn on_accept<V: Value>(
        &self,
        s: &mut ServerState<V>,
        src: Id,
        ballot: Ballot,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if self.accept(s, ballot, value, o) {
            o.send(src, PaxosMsg::Accepted { ballot });
        }
        // Otherwise promised a higher ballot (P1a): no answer.
    }

    /// The acceptor's Phase 2b decision; true if it accepted (and saved) the proposal.
    fn accept<V: Value>(
        &self,
        s: &mut ServerState<V>,
        ballot: Ballot,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) -> bool {
        if s.durable.promised.is_some_and(|p| ballot < p) && !self.has(PaxosBug::AcceptBelowPromise)
        {
            return false;
        }
        if s.durable
            .accepted
            .as_ref()
            .is_some_and(|(b, v)| *b == ballot && *v == value)
        {
            // A duplicate Accept of the proposal already accepted: nothing new to save.
            return true;
        }
        s.durable.promised = s.durable.promised.max(Some(ballot));
        s.durable.accepted = Some((ballot, value));
        o.save(s.durable.clone());
        true
    }

    /// The proposer learns that its proposal is chosen (§2.3): a majority of acceptors accepted
    /// it. It decides, then tells every other learner.
    fn on_accepted<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        from: usize,
        ballot: Ballot,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let Some(p) = s.proposal.as_mut() else {
            // Not proposing any more: the decision is already known.
            return;
        };
        let Phase::Accepting { value, accepted } = &mut p.phase else {
            // Still in Phase 1: an Accepted for an earlier ballot.
            return;
        };
        if p.ballot != ballot {
            // An Accepted for an earlier ballot of this proposer.
            return;
        }
        accepted.insert(from);
        if accepted.len() < self.quorum() {
            return;
        }
        let value = value.clone();
        for peer in self.others(me) {
            o.send(
                *peer,
                PaxosMsg::Decided {
                    value: value.clone(),
                },
            );
        }
        self.learn(s, value, o);
    }

    /// A learner receives the decision.
    fn on_decided<V: Value>(&self, s: &mut ServerState<V>, value: V, o: &mut Out<PaxosActor<V>>) {
        if s.durable.decided().is_some() && !self.has(PaxosBug::Redecide) {
            // Already decided: a learner decides once.
            return;
        }
        self.learn(s, value, o);
    }

    /// Record the decision durably, stop proposing, answer every waiting client.
    fn learn<V: Value>(&self, s: &mut ServerState<V>, value: V, o: &mut Out<PaxosActor<V>>) {
        s.durable.decisions.push((SLOT, value.clone()));
        o.save(s.durable.clone());
        if s.proposal.take().is_some() {
            o.cancel_timer(PaxosTimer::Retry);
        }
        for (client, req, why) in s.waiting.drain(..) {
            let decided = value.clone();
            o.send(
                client,
                match why {
                    Waiting::Put => PaxosMsg::PutOk { req, decided },
                    Waiting::Get => PaxosMsg::GetOk { req, decided },
                },
            );
        }
    }

    /// A client proposes a value: answer at once if decided, else start a ballot (unless one is
    /// running) and answer when the decision is known. A read ballot that is running takes the
    /// client's value as its own, to propose if Phase 1 reports none.
    fn on_put<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        src: Id,
        req: RequestId,
        value: V,
        o: &mut Out<PaxosActor<V>>,
    ) {
        if let Some(decided) = s.durable.decided() {
            o.send(
                src,
                PaxosMsg::PutOk {
                    req,
                    decided: decided.clone(),
                },
            );
            return;
        }
        if !s.waiting.contains(&(src, req, Waiting::Put)) {
            s.waiting.push((src, req, Waiting::Put));
        }
        match &mut s.proposal {
            None => self.prepare(me, s, Some(value), o),
            Some(p) if p.own_value.is_none() => p.own_value = Some(value),
            Some(_) => {
                // Already proposing another client's value: this client gets the decision.
            }
        }
    }

    /// A client reads the decision: answer at once if it is known; otherwise learn it, as
    /// Paxos Made Simple §2.3 says a learner that needs to know whether a value has been chosen
    /// can: "it can have a proposer issue a proposal, using the algorithm described above". The
    /// server runs a *read ballot* ([`Self::prepare`] with no value of its own), unless a ballot
    /// of its own is running already, and answers when it knows the decision.
    ///
    /// The read ballot's Phase 1 (§2.2) collects a majority of Promises. If one reports an
    /// accepted proposal, Phase 2 re-proposes the highest-numbered one in the read's ballot, and
    /// a majority of Accepted makes it chosen (§2.3), so it is *the* decision (P2c: every
    /// proposal above a chosen one has its value) and the server learns it ([`Self::learn`])
    /// and tells the others. Answering from the Promises alone would not be safe: the highest
    /// value a majority reports may be accepted by a minority only, and a later ballot whose
    /// majority misses it may choose another (the mutant `read-one-promise` answers from one
    /// Promise).
    ///
    /// If no Promise of the majority reports a proposal, nothing has been chosen (a chosen value
    /// was accepted by a majority, which intersects this one, and acceptors never forget what
    /// they accepted). A `Get` then *keeps waiting*, rather than answer "undecided": the answer,
    /// `GetOk { decided }`, always carries the decision — the register's read after its first
    /// proposal took effect (the `WriteOnceRegister` spec), never `None` — and a read that has
    /// not returned is linearizable whatever happens later. The read ballot ends there (it
    /// proposes no value of its own, which would break Validity); the decision reaches the
    /// server by a Decided, or the client's retry of the `Get` starts another read ballot. A
    /// lost Prepare or Accept is retried by the proposer's timer like any ballot's.
    fn on_get<V: Value>(
        &self,
        me: usize,
        s: &mut ServerState<V>,
        src: Id,
        req: RequestId,
        o: &mut Out<PaxosActor<V>>,
    ) {
        let answer = match (s.durable.decided(), &s.durable.accepted) {
            (Some(decided), _) => Some(decided.clone()),
            (None, Some((_, v))) if self.has(PaxosBug::ReadAccepted) => Some(v.clone()),
            (None, _) => None,
        };
        if let Some(decided) = answer {
            o.send(src, PaxosMsg::GetOk { req, decided });
            return;
        }
        if !s.waiting.contains(&(src, req, Waiting::Get)) {
            s.waiting.push((src, req, Waiting::Get));
        }
        if s.proposal.is_none() {
            self.prepare(me, s, None, o);
        }
        // Otherwise a ballot of this server is running: it ends in the decision, or is retried.
    }
}

impl PaxosServer {
    /// Whether this server, now in state `s` with `saved` storage, ignores `msg` from `src` in
    /// every state it can reach: the model then discards the message
    /// ([`ClusterModel::discard_obsolete`], which also checks the claim against the handler).
    /// The argument: the saved promise only grows (a recovered acceptor starts from it, and its
    /// volatile promise is never below it), so a Prepare at or below it and an Accept below it
    /// stay unanswered (P1a); a proposer runs each of its ballots at most once (a new Phase 1
    /// takes a round above its saved last round and promise), so a Promise for a ballot it is
    /// not preparing, and an Accepted for a ballot it is not collecting, stay late, and one from
    /// an acceptor already counted stays a duplicate; a decision is saved, so once decided a
    /// learner ignores every further decision.
    pub fn ignores_forever<V: Value>(
        &self,
        s: &ServerState<V>,
        saved: Option<&PaxosStorage<V>>,
        src: Id,
        msg: &PaxosMsg<V>,
    ) -> bool {
        let promised = saved.and_then(|d| d.promised);
        let Some(from) = self.index_of(src) else {
            return false;
        };
        match msg {
            PaxosMsg::Prepare { ballot } => promised.is_some_and(|p| *ballot <= p),
            PaxosMsg::Accept { ballot, .. } => {
                !self.has(PaxosBug::AcceptBelowPromise) && promised.is_some_and(|p| *ballot < p)
            }
            PaxosMsg::Promise { ballot, .. } => !matches!(
                &s.proposal,
                Some(Proposal { ballot: b, phase: Phase::Preparing { promises, .. }, .. })
                    if b == ballot && !promises.contains(from)
            ),
            PaxosMsg::Accepted { ballot } => !matches!(
                &s.proposal,
                Some(Proposal { ballot: b, phase: Phase::Accepting { accepted, .. }, .. })
                    if b == ballot && !accepted.contains(from)
            ),
            PaxosMsg::Decided { .. } => {
                !self.has(PaxosBug::Redecide) && saved.is_some_and(|d| d.decided().is_some())
            }
            PaxosMsg::Put { .. } | PaxosMsg::Get { .. } => {
                // Client requests are answered (once decided, at once).
                false
            }
            PaxosMsg::PutOk { .. } | PaxosMsg::GetOk { .. } => {
                // Answers meant for clients never reach a server from a peer.
                false
            }
        }
    }
}

impl<V: Value> Actor for PaxosActor<V> {
    type Msg = PaxosMsg<V>;
    type State = PaxosState<V>;
    type Timer = PaxosTimer;
    type Random = ();
    type Storage = PaxosStorage<V>;

    fn name(&self) -> String {
        match self {
            Self::Server(_) => "Server".into(),
            Self::Client { .. } => "Client".into(),
        }
    }

    fn on_start(&self, _id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> Self::State {
        match self {
            Self::Server(_) => PaxosState::Server(ServerState {
                durable: storage.clone().unwrap_or_default(),
                proposal: None,
                waiting: Vec::new(),
            }),
            Self::Client { value, put_to, .. } => {
                o.send(
                    *put_to,
                    PaxosMsg::Put {
                        req: 1,
                        value: value.clone(),
                    },
                );
                PaxosState::Client(ClientState {
                    awaiting: Some(1),
                    decided: None,
                })
            }
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
            (Self::Server(server), PaxosState::Server(before)) => {
                let Some(me) = server.index_of(id) else {
                    panic!("server {id:?} is not among its own peers");
                };
                let from = server.index_of(src);
                // Handlers work on a copy; the state is replaced only if it changed, so that
                // Stateright recognises ignored messages as no-ops.
                let mut after = before.clone();
                let s = &mut after;
                match (msg, from) {
                    (PaxosMsg::Put { req, value }, _) => server.on_put(me, s, src, req, value, o),
                    (PaxosMsg::Get { req }, _) => server.on_get(me, s, src, req, o),
                    (PaxosMsg::Prepare { ballot }, Some(_)) => server.on_prepare(s, src, ballot, o),
                    (PaxosMsg::Promise { ballot, accepted }, Some(from)) => {
                        server.on_promise(me, s, from, ballot, accepted, o)
                    }
                    (PaxosMsg::Accept { ballot, value }, Some(_)) => {
                        server.on_accept(s, src, ballot, value, o)
                    }
                    (PaxosMsg::Accepted { ballot }, Some(from)) => {
                        server.on_accepted(me, s, from, ballot, o)
                    }
                    (PaxosMsg::Decided { value }, Some(_)) => server.on_decided(s, value, o),
                    (
                        PaxosMsg::Prepare { .. }
                        | PaxosMsg::Promise { .. }
                        | PaxosMsg::Accept { .. }
                        | PaxosMsg::Accepted { .. }
                        | PaxosMsg::Decided { .. },
                        None,
                    ) => {
                        // Server-to-server messages count only from a configured peer.
                    }
                    (PaxosMsg::PutOk { .. } | PaxosMsg::GetOk { .. }, _) => {
                        // Answers meant for clients; a server sends no requests.
                    }
                }
                if after != *before {
                    *state = Cow::Owned(PaxosState::Server(after));
                }
            }
            (Self::Client { get_from, .. }, PaxosState::Client(c)) => match msg {
                PaxosMsg::PutOk { req, decided } if c.awaiting == Some(req) => {
                    let next = req + 1;
                    o.send(*get_from, PaxosMsg::Get { req: next });
                    *state.to_mut() = PaxosState::Client(ClientState {
                        awaiting: Some(next),
                        decided: Some(decided),
                    });
                }
                PaxosMsg::GetOk { req, decided } if c.awaiting == Some(req) => {
                    assert!(
                        c.decided.is_some(),
                        "a client reads only after its Put was answered"
                    );
                    *state.to_mut() = PaxosState::Client(ClientState {
                        awaiting: None,
                        decided: Some(decided),
                    });
                }
                PaxosMsg::PutOk { .. } | PaxosMsg::GetOk { .. } => {
                    // A duplicate or stale answer to a request no longer in flight.
                }
                PaxosMsg::Put { .. }
                | PaxosMsg::Get { .. }
                | PaxosMsg::Prepare { .. }
                | PaxosMsg::Promise { .. }
                | PaxosMsg::Accept { .. }
                | PaxosMsg::Accepted { .. }
                | PaxosMsg::Decided { .. } => {
                    // Server messages; a client takes part in none of them.
                }
            },
            (Self::Server(_), PaxosState::Client(_))
            | (Self::Client { .. }, PaxosState::Server(_)) => {
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
            (Self::Server(server), PaxosTimer::Retry) => {
                let PaxosState::Server(s) = &**state else {
                    unreachable!("servers have server state")
                };
                let Some(p) = &s.proposal else {
                    // Decided or restarted since the timer was set.
                    return;
                };
                let own_value = p.own_value.clone();
                let me = server.index_of(id).expect("a server is among its peers");
                let PaxosState::Server(s) = state.to_mut() else {
                    unreachable!()
                };
                server.prepare(me, s, own_value, o);
            }
            (Self::Client { .. }, PaxosTimer::Retry) => {
                // Model clients set no timers.
            }
        }
    }
}
