//! The handlers, in protocol order: the coordinator asks for votes (`start`), a participant
//! votes (`on_prepare`, `cast_vote`), the coordinator decides (`on_vote`, `on_votes_timeout`,
//! `decide`), a participant learns the decision (`on_decided`); then the termination protocol
//! (`on_participant_timeout`, `on_decision_request`), and the [`Actor`].

use super::*;

/// A process of two-phase commit: server 0 coordinates, servers 1..n participate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TpcServer {
    /// How many processes (coordinator included).
    pub servers: usize,
    /// The mutant to run, if any.
    pub bug: Option<TpcBug>,
}

type O = Out<TpcServer>;

/// The coordinator's index.
pub const COORDINATOR: usize = 0;

impl TpcServer {
    fn has(&self, bug: TpcBug) -> bool {
        self.bug == Some(bug)
    }

    fn participants(&self) -> impl Iterator<Item = Id> + '_ {
        (1..self.servers).map(Id::from)
    }

    /// Voting phase, coordinator: ask every participant to vote, and wait for the votes for a
    /// while.
    fn start(&self, o: &mut O) -> CoordinatorState {
        for p in self.participants() {
            o.send(p, TpcMsg::Prepare);
        }
        o.set_timer(TpcTimer::Votes, timeout());
        CoordinatorState {
            yes: ServerSet::default(),
            decision: None,
        }
    }

    /// Voting phase, participant: asked to vote, it chooses Yes or No (the model explores
    /// both). A participant that already aborted on its own answers No.
    fn on_prepare(&self, s: &mut ParticipantState, src: Id, o: &mut O) {
        if s.vote == Some(Vote::No) {
            // It aborted on its own before this Prepare arrived (or this is a second Prepare
            // on a duplicating network): No.
            o.send(src, TpcMsg::Vote(Vote::No));
            return;
        }
        if s.voting || s.vote.is_some() {
            // A second Prepare (a duplicating network): the vote is on its way.
            return;
        }
        s.voting = true;
        o.choose_random("vote", vec![Vote::Yes, Vote::No]);
    }

    /// A participant casts its vote: Yes makes it uncertain (it forces the vote to its log
    /// first); No aborts it at once.
    fn cast_vote(&self, s: &mut ParticipantState, vote: Vote, o: &mut O) {
        if !s.voting {
            // It aborted on its own meanwhile (its choice was withdrawn).
            return;
        }
        s.voting = false;
        s.vote = Some(vote);
        if vote == Vote::No {
            s.decision = Some(Decision::Abort);
        }
        o.send(Id::from(COORDINATOR), TpcMsg::Vote(vote));
    }

    /// Decision phase, coordinator: a No aborts; a Yes from every participant commits.
    fn on_vote(&self, s: &mut CoordinatorState, src: Id, vote: Vote, o: &mut O) {
        if s.decision.is_some() {
            // A vote after the decision: the decision stands (a No voter aborted already).
            return;
        }
        match vote {
            Vote::No => self.decide(s, Decision::Abort, o),
            Vote::Yes => {
                s.yes.insert(usize::from(src));
                let participants = self.servers - 1;
                let enough = if self.has(TpcBug::MajorityCommit) {
                    participants / 2 + 1
                } else {
                    participants
                };
                if s.yes.len() >= enough {
                    self.decide(s, Decision::Commit, o);
                }
            }
        }
    }

    /// The coordinator stops waiting for votes: it aborts (it may, having not decided).
    fn on_votes_timeout(&self, s: &mut CoordinatorState, o: &mut O) {
        if s.decision.is_some() {
            // Decided before the timer fired.
            return;
        }
        let d = if self.has(TpcBug::CommitOnTimeout) {
            Decision::Commit
        } else {
            Decision::Abort
        };
        self.decide(s, d, o);
    }

    /// The coordinator decides (the decision is forced to its log) and tells every
    /// participant.
    fn decide(&self, s: &mut CoordinatorState, d: Decision, o: &mut O) {
        s.decision = Some(d);
        o.cancel_timer(TpcTimer::Votes);
        for p in self.participants() {
            o.send(p, TpcMsg::Decided(d));
        }
    }

    /// A participant learns the decision.
    fn on_decided(&self, s: &mut ParticipantState, d: Decision, o: &mut O) {
        if s.decision.is_some() {
            // Known already (from the coordinator and from a peer, or a No voter told Abort).
            return;
        }
        if s.voting {
            // Told before it voted: an Abort (nobody commits without its vote).
            s.voting = false;
            o.remove_random("vote");
        }
        s.decision = Some(d);
    }

    /// A participant's timer: before voting it aborts on its own; uncertain, it starts the
    /// cooperative termination protocol and asks every other process.
    fn on_participant_timeout(&self, me: Id, s: &mut ParticipantState, o: &mut O) {
        if s.decision.is_some() {
            // Decided: nothing to wait for.
            return;
        }
        if s.vote.is_none() {
            self.abort_alone(s, o);
            return;
        }
        if self.has(TpcBug::AbortWhenUncertain) {
            s.decision = Some(Decision::Abort);
            return;
        }
        if s.asked {
            // The model asks once.
            return;
        }
        s.asked = true;
        for p in (0..self.servers).map(Id::from).filter(|p| *p != me) {
            o.send(p, TpcMsg::DecisionRequest);
        }
    }

    /// Termination protocol, a participant asked for the decision: it answers if it knows it;
    /// if it has not voted it aborts and answers Abort; if it is uncertain too, it cannot help
    /// (the request stays unanswered).
    fn on_decision_request(&self, s: &mut ParticipantState, src: Id, o: &mut O) {
        if let Some(d) = s.decision {
            o.send(src, TpcMsg::Decided(d));
            return;
        }
        if s.vote.is_none() {
            self.abort_alone(s, o);
            o.send(src, TpcMsg::Decided(Decision::Abort));
        }
    }

    /// A participant that has not voted aborts on its own (BHG §7.3: it may, since nobody can
    /// commit without its Yes); it counts as having voted No.
    fn abort_alone(&self, s: &mut ParticipantState, o: &mut O) {
        if s.voting {
            s.voting = false;
            o.remove_random("vote");
        }
        s.vote = Some(Vote::No);
        s.decision = Some(Decision::Abort);
    }
}

impl Actor for TpcServer {
    type Msg = TpcMsg;
    type State = TpcState;
    type Timer = TpcTimer;
    type Random = Vote;
    type Storage = ();

    fn on_start(&self, id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> TpcState {
        if usize::from(id) == COORDINATOR {
            TpcState::Coordinator(self.start(o))
        } else {
            o.set_timer(TpcTimer::Participant, timeout());
            TpcState::Participant(ParticipantState {
                voting: false,
                vote: None,
                decision: None,
                asked: false,
            })
        }
    }

    fn on_msg(&self, _id: Id, state: &mut Cow<TpcState>, src: Id, msg: TpcMsg, o: &mut Out<Self>) {
        match &**state {
            TpcState::Coordinator(current) => {
                let mut s = current.clone();
                match msg {
                    TpcMsg::Vote(v) => self.on_vote(&mut s, src, v, o),
                    TpcMsg::DecisionRequest => {
                        // The coordinator answers once it has decided; until then the request
                        // waits (its decision goes to every participant anyway).
                        if let Some(d) = s.decision {
                            o.send(src, TpcMsg::Decided(d));
                        }
                    }
                    // The coordinator sends Prepare and decisions; it never receives them.
                    TpcMsg::Prepare | TpcMsg::Decided(_) => {}
                }
                if s != *current {
                    *state.to_mut() = TpcState::Coordinator(s);
                }
            }
            TpcState::Participant(current) => {
                let mut s = current.clone();
                match msg {
                    TpcMsg::Prepare => self.on_prepare(&mut s, src, o),
                    TpcMsg::Decided(d) => self.on_decided(&mut s, d, o),
                    TpcMsg::DecisionRequest => self.on_decision_request(&mut s, src, o),
                    // Votes go to the coordinator only.
                    TpcMsg::Vote(_) => {}
                }
                if s != *current {
                    *state.to_mut() = TpcState::Participant(s);
                }
            }
        }
    }

    fn on_timeout(&self, id: Id, state: &mut Cow<TpcState>, timer: &TpcTimer, o: &mut Out<Self>) {
        match (&**state, timer) {
            (TpcState::Coordinator(current), TpcTimer::Votes) => {
                let mut s = current.clone();
                self.on_votes_timeout(&mut s, o);
                if s != *current {
                    *state.to_mut() = TpcState::Coordinator(s);
                }
            }
            (TpcState::Participant(current), TpcTimer::Participant) => {
                let mut s = current.clone();
                self.on_participant_timeout(id, &mut s, o);
                if s != *current {
                    *state.to_mut() = TpcState::Participant(s);
                }
            }
            // Each role sets only its own timer.
            (TpcState::Coordinator(_), TpcTimer::Participant)
            | (TpcState::Participant(_), TpcTimer::Votes) => {}
        }
    }

    fn on_random(&self, _id: Id, state: &mut Cow<TpcState>, random: &Vote, o: &mut Out<Self>) {
        match &**state {
            TpcState::Participant(current) => {
                let mut s = current.clone();
                self.cast_vote(&mut s, *random, o);
                if s != *current {
                    *state.to_mut() = TpcState::Participant(s);
                }
            }
            // Only participants choose (their vote).
            TpcState::Coordinator(_) => {}
        }
    }
}
