//! Model-check tests: pinned state counts, Atomicity under crashes, blocking, and each bug.

use super::*;
use stateright::{Checker, Expectation, HasDiscoveries, Model};

fn cfg(servers: usize, crashes: usize, bug: Option<TpcBug>) -> TpcConfig {
    let mut c = TpcConfig {
        bug,
        ..Default::default()
    };
    c.cluster.servers = servers;
    c.cluster.crashes = crashes;
    c
}

/// The unique state count of an exhaustive check, and the properties broken (always:
/// violated; sometimes: not witnessed).
fn check(c: TpcConfig) -> (usize, Vec<&'static str>) {
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyOf(Default::default()))
        .spawn_bfs()
        .join();
    assert!(checker.is_done());
    let broken = checker
        .model()
        .properties()
        .iter()
        .filter(|p| {
            let found = checker.discovery(p.name).is_some();
            match p.expectation {
                Expectation::Sometimes => !found,
                _ => found,
            }
        })
        .map(|p| p.name)
        .collect();
    (checker.unique_state_count(), broken)
}

#[test]
fn without_crashes_everyone_decides_the_same() {
    for servers in [2, 3] {
        let (_, broken) = check(cfg(servers, 0, None));
        assert!(broken.is_empty(), "{servers}: {broken:?}");
    }
}

#[test]
fn atomicity_holds_under_a_crash_and_participants_block() {
    for servers in [2, 3] {
        let (_, broken) = check(cfg(servers, 1, None));
        assert_eq!(broken, ["Termination"], "{servers} servers");
    }
}

/// The blocking counterexample ends with the coordinator down and every live participant
/// uncertain after voting Yes.
#[test]
fn the_blocking_counterexample_ends_with_the_coordinator_down() {
    let checker = cfg(3, 1, None)
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyOf(["Termination"].into()))
        .spawn_bfs()
        .join();
    let path = checker.discovery("Termination").expect("blocking is found");
    let last = path.last_state();
    assert!(last.crashed[COORDINATOR]);
    for i in 1..3 {
        match &*last.actor_states[i] {
            TpcState::Participant(p) => {
                assert_eq!((p.vote, p.decision), (Some(Vote::Yes), None));
            }
            TpcState::Coordinator(_) => unreachable!(),
        }
    }
}

#[test]
fn every_bug_is_caught_breaking_its_catalogued_property() {
    for (bug, info) in BUGS {
        let servers = if *bug == TpcBug::MajorityCommit { 4 } else { 3 };
        let (_, broken) = check(cfg(servers, 0, Some(*bug)));
        assert_eq!(broken, [info.breaks], "bug {}", info.name);
    }
}

/// With two participants a majority is both: the mutant is the correct protocol.
#[test]
fn majority_commit_is_harmless_with_two_participants() {
    assert!(check(cfg(3, 0, Some(TpcBug::MajorityCommit))).1.is_empty());
}

/// Unique state counts of small configurations, pinned so that a behaviour change is seen.
#[test]
fn pinned_state_counts() {
    let counts: Vec<usize> = [cfg(3, 0, None), cfg(3, 1, None)]
        .into_iter()
        .map(|c| check(c).0)
        .collect();
    assert_eq!(counts, [1_560, 5_518]);
}

#[test]
fn bug_names_round_trip() {
    for (bug, info) in BUGS {
        assert_eq!(TpcBug::from_name(info.name), Some(*bug));
        assert_eq!(bug.info().name, info.name);
    }
    assert_eq!(TpcBug::from_name("nope"), None);
}

/// A partition without any crash: a participant that voted Yes is cut off from everyone who
/// knows the decision, its request and the decision are lost, and it blocks forever, although
/// nobody is down (BHG Theorem 7.1: with communication failures every atomic commitment
/// protocol can block). Atomicity still holds.
#[test]
fn a_partition_blocks_a_participant_without_a_crash() {
    let mut c = cfg(3, 0, None);
    c.cluster.partitions = 1;
    let (count, broken) = check(c);
    assert_eq!(broken, ["Termination"]);
    assert_eq!(count, TPC_PARTITION);
}

/// Unique states of a coordinator and two participants, no crash, one partition.
const TPC_PARTITION: usize = 10_289;
