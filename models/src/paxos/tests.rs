//! Model-check tests: pinned state counts, every property, and a counterexample per bug.

use super::*;
use crate::cluster::NetworkKind;
use stateright::{Checker, HasDiscoveries, Model};

fn cfg(max_round: u32, network: NetworkKind, crashes: usize, bug: Option<PaxosBug>) -> PaxosConfig {
    PaxosConfig {
        cluster: ClusterConfig {
            network,
            crashes,
            ..Default::default()
        },
        max_round,
        bug,
        ..Default::default()
    }
}

fn exhaustive(c: PaxosConfig) -> usize {
    let checker = c.into_model().checker().spawn_bfs().join();
    checker.assert_properties();
    checker.unique_state_count()
}

/// A real node must not panic (or wrap around) on what a peer sent: after promising the
/// highest possible ballot there is no higher one, and a client's Put starts no proposal.
#[test]
fn no_ballot_above_the_highest_round() {
    let actor = PaxosActor::Server(PaxosServer {
        peers: (0..3).map(Id::from).collect(),
        max_round: u32::MAX,
        bug: None,
    });
    let mut o = Out::new();
    let state = actor.on_start(Id::from(0), &None, &mut o);
    let mut state = std::borrow::Cow::Owned(state);
    let top = Ballot {
        round: u32::MAX,
        proposer: 1,
    };
    actor.on_msg(
        Id::from(0),
        &mut state,
        Id::from(1),
        PaxosMsg::Prepare { ballot: top },
        &mut o,
    );
    let mut o = Out::new();
    actor.on_msg(
        Id::from(0),
        &mut state,
        Id::from(9),
        PaxosMsg::Put { req: 1, value: 'A' },
        &mut o,
    );
    assert!(
        !o.iter().any(|c| matches!(
            c,
            stateright::actor::Command::Send(_, PaxosMsg::Prepare { .. })
        )),
        "{o:?}"
    );
}

/// One server of three, driven by hand: what it sends, and its state afterwards.
struct Driven {
    actor: PaxosActor<char>,
    state: std::borrow::Cow<'static, PaxosState<char>>,
}

impl Driven {
    /// Server `me` of three, started from `storage`.
    fn new(me: usize, storage: Option<PaxosStorage<char>>) -> Self {
        let actor = PaxosActor::Server(PaxosServer {
            peers: (0..3).map(Id::from).collect(),
            max_round: u32::MAX,
            bug: None,
        });
        let state = actor.on_start(Id::from(me), &storage, &mut Out::new());
        Self {
            actor,
            state: std::borrow::Cow::Owned(state),
        }
    }

    /// Delivers `msg` from `src` to server 2; returns the messages it sends.
    fn deliver(&mut self, src: usize, msg: PaxosMsg<char>) -> Vec<(usize, PaxosMsg<char>)> {
        let mut o = Out::new();
        self.actor
            .on_msg(Id::from(2), &mut self.state, Id::from(src), msg, &mut o);
        o.into_iter()
            .filter_map(|c| match c {
                stateright::actor::Command::Send(dst, m) => Some((usize::from(dst), m)),
                _ => None,
            })
            .collect()
    }

    fn server(&self) -> &ServerState<char> {
        match &*self.state {
            PaxosState::Server(s) => s,
            PaxosState::Client(_) => unreachable!(),
        }
    }
}

const CLIENT: usize = 9;

/// Issue 12, "Paxos reads learn", in the actor alone: server 2 missed the decision of 'A' in
/// ballot b1.0 (servers 0 and 1 accepted it). Asked to Get, it runs a read ballot: Phase 1, the
/// reported value re-proposed in Phase 2, and with a majority of Accepted it decides 'A',
/// answers the client and tells the others.
#[test]
fn a_get_at_a_server_without_the_decision_runs_a_read_ballot_and_answers() {
    let mut server = Driven::new(2, None);
    let sent = server.deliver(CLIENT, PaxosMsg::Get { req: 7 });
    let ballot = Ballot {
        round: 1,
        proposer: 2,
    };
    assert_eq!(
        sent,
        vec![
            (0, PaxosMsg::Prepare { ballot }),
            (1, PaxosMsg::Prepare { ballot })
        ]
    );
    assert_eq!(server.server().proposal.as_ref().unwrap().own_value, None);
    let chosen = Ballot {
        round: 1,
        proposer: 0,
    };
    let promise = PaxosMsg::Promise {
        ballot,
        accepted: Some((chosen, 'A')),
    };
    let sent = server.deliver(0, promise);
    let accept = |to| (to, PaxosMsg::Accept { ballot, value: 'A' });
    assert_eq!(sent, vec![accept(0), accept(1)]);
    let sent = server.deliver(0, PaxosMsg::Accepted { ballot });
    assert_eq!(
        sent,
        vec![
            (0, PaxosMsg::Decided { value: 'A' }),
            (1, PaxosMsg::Decided { value: 'A' }),
            (
                CLIENT,
                PaxosMsg::GetOk {
                    req: 7,
                    decided: 'A'
                }
            ),
        ]
    );
    assert_eq!(server.server().durable.decided(), Some(&'A'));
    assert_eq!(server.server().proposal, None);
}

/// A read ballot whose majority reports no accepted proposal: nothing is chosen, so the server
/// proposes nothing and its Get keeps waiting (the answer always carries a decision); a Put
/// arriving meanwhile gives the next ballot its value, and a Decided answers both.
#[test]
fn a_read_ballot_that_finds_nothing_accepted_keeps_the_get_waiting() {
    let mut server = Driven::new(2, None);
    server.deliver(CLIENT, PaxosMsg::Get { req: 1 });
    let ballot = Ballot {
        round: 1,
        proposer: 2,
    };
    let sent = server.deliver(
        1,
        PaxosMsg::Promise {
            ballot,
            accepted: None,
        },
    );
    assert_eq!(sent, vec![]);
    assert_eq!(server.server().proposal, None);
    assert_eq!(
        server.server().waiting,
        vec![(Id::from(CLIENT), 1, Waiting::Get)]
    );
    // The client's retry of the Get starts another read ballot, in a higher round.
    let sent = server.deliver(CLIENT, PaxosMsg::Get { req: 1 });
    let again = Ballot {
        round: 2,
        proposer: 2,
    };
    assert_eq!(sent[0], (0, PaxosMsg::Prepare { ballot: again }));
    // A Put during the read ballot gives it the client's value.
    server.deliver(CLIENT + 1, PaxosMsg::Put { req: 1, value: 'C' });
    assert_eq!(
        server.server().proposal.as_ref().unwrap().own_value,
        Some('C')
    );
    let sent = server.deliver(0, PaxosMsg::Decided { value: 'B' });
    assert_eq!(
        sent,
        vec![
            (
                CLIENT,
                PaxosMsg::GetOk {
                    req: 1,
                    decided: 'B'
                }
            ),
            (
                CLIENT + 1,
                PaxosMsg::PutOk {
                    req: 1,
                    decided: 'B'
                }
            ),
        ]
    );
}

/// Unique state counts of small configurations, pinned so that a behaviour change is seen.
#[test]
fn correct_paxos_holds_with_pinned_state_counts() {
    assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 0, None)), 4_237);
    assert_eq!(exhaustive(cfg(1, NetworkKind::Ordered, 0, None)), 22_249);
    assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 1, None)), 7_154);
    assert_eq!(
        exhaustive(cfg(1, NetworkKind::Duplicating, 0, None)),
        23_790
    );
}

/// Two rounds: a proposer can be pre-empted and retry, so an acceptor can hold a vote of one
/// ballot and promise a higher one, and a second proposer must adopt a reported value. Several
/// proposer mistakes behave exactly like the correct protocol at one round.
#[test]
fn correct_paxos_holds_with_two_rounds() {
    assert_eq!(exhaustive(cfg(2, NetworkKind::Unordered, 0, None)), 75_352);
    assert_eq!(exhaustive(cfg(2, NetworkKind::Unordered, 1, None)), 126_143);
}

/// The model discards a message only if its receiver ignores it for good: checked by search
/// without the reduction, for the correct protocol and the mutants that touch the rules the
/// predicate relies on.
#[test]
fn discarding_obsolete_messages_hides_no_behaviour() {
    use crate::cluster::verify_obsolete_claims;
    let checked = |c: PaxosConfig| verify_obsolete_claims(c.into_model(), 30_000).unwrap();
    assert!(checked(cfg(2, NetworkKind::Unordered, 0, None)) > 0);
    assert!(checked(cfg(2, NetworkKind::Unordered, 1, None)) > 0);
    assert!(checked(cfg(2, NetworkKind::Duplicating, 0, None)) > 0);
    for bug in [
        PaxosBug::UnsavedPromise,
        PaxosBug::AcceptBelowPromise,
        PaxosBug::Redecide,
        PaxosBug::ReadOnePromise,
    ] {
        checked(cfg(2, NetworkKind::Unordered, 1, Some(bug)));
    }
}

/// The property `bug` breaks, and the length of the counterexample single-threaded BFS finds.
fn violated(c: PaxosConfig) -> (&'static str, usize) {
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let always: Vec<_> = checker
        .model()
        .properties()
        .into_iter()
        .filter(|p| p.expectation == stateright::Expectation::Always)
        .collect();
    let (name, path) = always
        .iter()
        .find_map(|p| checker.discovery(p.name).map(|d| (p.name, d)))
        .expect("the checker finds a counterexample");
    (name, path.into_actions().len())
}

#[test]
fn every_bug_is_caught_breaking_its_catalogued_property() {
    for (bug, info) in BUGS {
        let c = match bug {
            PaxosBug::UnsavedPromise => cfg(1, NetworkKind::Unordered, 1, Some(*bug)),
            PaxosBug::AnyReportedValue | PaxosBug::ReadOnePromise => {
                cfg(2, NetworkKind::Unordered, 0, Some(*bug))
            }
            _ => cfg(1, NetworkKind::Unordered, 0, Some(*bug)),
        };
        let (property, steps) = violated(c);
        assert_eq!(property, info.breaks, "bug {}", info.name);
        assert!(steps >= 5, "bug {}: {steps} steps", info.name);
    }
}

#[test]
fn unsaved_promise_is_harmless_without_crashes() {
    exhaustive(cfg(
        1,
        NetworkKind::Unordered,
        0,
        Some(PaxosBug::UnsavedPromise),
    ));
}

#[test]
fn a_model_that_cannot_propose_fails_the_decision_property() {
    let checker = cfg(0, NetworkKind::Unordered, 0, None)
        .into_model()
        .checker()
        .spawn_bfs()
        .join();
    assert!(checker.discovery("Decision").is_none());
    assert!(checker.is_done());
}

#[test]
fn bug_names_round_trip() {
    for (bug, info) in BUGS {
        assert_eq!(PaxosBug::from_name(info.name), Some(*bug));
        assert_eq!(bug.info().name, info.name);
    }
    assert_eq!(PaxosBug::from_name("nope"), None);
}

/// Issue 14, termination (FLP): with `liveness`, the checker finds for each round bound a run
/// in which two proposers pre-empt each other in every round and nothing is chosen, and yet
/// within the bound every run that ends has a decision (the highest ballot, `max_round` of
/// the highest-numbered proposer, cannot be pre-empted). Pins: 4,390 and 106,977 states.
#[test]
fn dueling_proposers_leave_every_round_bound_without_a_choice() {
    for (max_round, pinned) in [(1, 4_390), (2, 106_989)] {
        let c = PaxosConfig {
            liveness: true,
            ..cfg(max_round, NetworkKind::Unordered, 0, None)
        };
        let checker = c.into_model().checker().spawn_bfs().join();
        checker.assert_properties();
        checker.assert_any_discovery("Dueling proposers, nothing chosen by the last round");
        assert!(checker.discovery("Termination").is_none());
        assert_eq!(
            checker.unique_state_count(),
            pinned,
            "max_round {max_round}"
        );
    }
}

/// Issue 14: a stable leader decides. One client, so one proposer runs alone: every run that
/// ends has a decision.
#[test]
fn a_single_proposer_terminates() {
    let c = PaxosConfig {
        liveness: true,
        cluster: ClusterConfig {
            clients: 1,
            ..Default::default()
        },
        ..cfg(2, NetworkKind::Unordered, 0, None)
    };
    let checker = c.into_model().checker().spawn_bfs().join();
    checker.assert_properties();
    assert_eq!(checker.unique_state_count(), 1_399);
}

/// Termination can fail, and the checker shows it: on a lossy network a proposer whose
/// messages are lost runs out of rounds, and the run ends without a decision.
#[test]
fn termination_fails_when_messages_are_lost() {
    let mut c = PaxosConfig {
        liveness: true,
        ..cfg(1, NetworkKind::Unordered, 0, None)
    };
    c.cluster.lossy = true;
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let path = checker
        .discovery("Termination")
        .expect("a run that ends undecided");
    let last = path.last_state();
    assert!(last.actor_states[..3].iter().all(|a| match &**a {
        PaxosState::Server(s) => s.durable.decided().is_none(),
        PaxosState::Client(_) => unreachable!(),
    }));
}

/// With one partition (any split of the servers, once, then maybe a heal): every property
/// holds, and the correct handlers act on no discarded message (a message discarded as
/// obsolete and later cut off must not come back). Counts pinned; on the ordered network the
/// partition makes gaps in a channel, which loss-free ordered delivery never shows.
#[test]
fn correct_paxos_is_safe_under_a_partition() {
    let partitioned = |network| {
        let mut c = cfg(1, network, 0, None);
        c.cluster.partitions = 1;
        let model = c.into_model();
        let revived = std::sync::Arc::clone(&model.revived);
        let checker = model.checker().spawn_bfs().join();
        checker.assert_properties();
        assert_eq!(*revived.lock().unwrap(), None);
        checker.unique_state_count()
    };
    assert_eq!(partitioned(NetworkKind::Unordered), PAXOS_PARTITION[0]);
    assert_eq!(partitioned(NetworkKind::Ordered), PAXOS_PARTITION[1]);
}

/// Unique states of `correct_paxos_is_safe_under_a_partition` (unordered, ordered).
const PAXOS_PARTITION: [usize; 2] = [30_934, 83_946];

/// `cfg(max_round, unordered, no crashes)` with server 2 (of `servers`) Byzantine, sending at
/// most `sends` forged messages of the kinds `forge` (every kind if empty).
fn byzantine(servers: usize, max_round: u32, sends: usize, forge: &[&str]) -> PaxosConfig {
    let mut c = cfg(max_round, NetworkKind::Unordered, 0, None);
    c.cluster.servers = servers;
    c.cluster.byzantine = 1;
    c.cluster.byzantine_sends = sends;
    c.cluster.byzantine_forge = forge.iter().map(|k| k.to_string()).collect();
    c.validate().unwrap();
    c
}

/// Asserts that the shortest counterexample to `property` has `steps` steps: at most `steps` (BFS bounded to
/// that many steps finds one) and no shorter (bounded to one step fewer, it finds none).
fn shortest_violation(c: PaxosConfig, property: &'static str, steps: usize) {
    let within = |steps: usize| {
        c.clone()
            .into_model()
            .checker()
            // Stateright numbers the initial state's depth 1 and explores below the target.
            .target_max_depth(steps + 2)
            .finish_when(HasDiscoveries::AnyOf([property].into()))
            .spawn_bfs()
            .join()
            .discovery(property)
            .is_some()
    };
    assert!(
        within(steps),
        "no counterexample to {property} in {steps} steps"
    );
    assert!(
        !within(steps - 1),
        "a counterexample to {property} shorter than {steps} steps"
    );
}

/// One Byzantine server of three breaks Agreement in two steps: it tells one server that 'A'
/// was decided and the other that 'B' was (a learner believes the proposer's Decided).
#[test]
fn a_byzantine_server_breaks_agreement_among_three() {
    shortest_violation(byzantine(3, 1, 2, &[]), "Agreement", 2);
}

/// An acceptor that only equivocates — it promises, reporting nothing accepted, and accepts,
/// for both of two proposers — breaks Agreement with 3 servers, where two majorities meet in
/// that acceptor alone, and not with 4 (3f + 1), where any two quorums of 3 meet in an honest
/// acceptor too. Pinned: the 4-server check is exhaustive.
#[test]
fn an_equivocating_acceptor_breaks_agreement_among_three_not_four() {
    let equivocate = ["Promise", "Accepted"];
    shortest_violation(byzantine(3, 1, 4, &equivocate), "Agreement", 6);
    assert_eq!(exhaustive(byzantine(4, 1, 4, &equivocate)), 11_757);
}

/// A Byzantine server that forges nothing is a server that is down for good: Paxos tolerates
/// it. Its own actor never runs: in every reachable state it is as it started, and no message
/// to or from it is in flight.
#[test]
fn a_silent_byzantine_server_is_tolerated_and_never_runs() {
    use std::collections::{HashSet, VecDeque};
    use std::hash::{BuildHasher, RandomState};
    assert_eq!(exhaustive(byzantine(3, 2, 0, &[])), 463);
    let model = byzantine(3, 2, 0, &[]).into_model();
    let start = model.init_states()[0].actor_states[2].clone();
    let hasher = RandomState::new();
    let mut seen = HashSet::new();
    let mut queue: VecDeque<_> = model.init_states().into();
    let mut actions = Vec::new();
    while let Some(state) = queue.pop_front() {
        if !seen.insert(hasher.hash_one(&state)) {
            continue;
        }
        assert_eq!(state.actor_states[2], start);
        assert!(
            crate::cluster::in_flight(&state.network)
                .iter()
                .all(|(env, _)| usize::from(env.src) != 2 && usize::from(env.dst) != 2)
        );
        model.actions(&state, &mut actions);
        queue.extend(
            actions
                .drain(..)
                .filter_map(|a| model.next_state(&state, a)),
        );
    }
    assert_eq!(seen.len(), 463);
}
