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

/// Unique state counts of small configurations, pinned so that a behaviour change is seen.
#[test]
fn correct_paxos_holds_with_pinned_state_counts() {
    assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 0, None)), 2_744);
    assert_eq!(exhaustive(cfg(1, NetworkKind::Ordered, 0, None)), 16_012);
    assert_eq!(exhaustive(cfg(1, NetworkKind::Unordered, 1, None)), 4_695);
    assert_eq!(
        exhaustive(cfg(1, NetworkKind::Duplicating, 0, None)),
        14_932
    );
}

/// Two rounds: a proposer can be pre-empted and retry, so an acceptor can hold a vote of one
/// ballot and promise a higher one, and a second proposer must adopt a reported value. Several
/// proposer mistakes behave exactly like the correct protocol at one round.
#[test]
fn correct_paxos_holds_with_two_rounds() {
    assert_eq!(exhaustive(cfg(2, NetworkKind::Unordered, 0, None)), 35_522);
    assert_eq!(exhaustive(cfg(2, NetworkKind::Unordered, 1, None)), 60_347);
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
            PaxosBug::AnyReportedValue => cfg(2, NetworkKind::Unordered, 0, Some(*bug)),
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
