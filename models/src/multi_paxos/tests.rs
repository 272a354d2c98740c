//! Model-check tests: pinned state counts, every property, a counterexample per bug, and
//! symmetry reduction checked against a plain search.

use super::*;
use crate::cluster::{NetworkKind, server_symmetry};
use ballot_properties::kv::KvOp;
use stateright::{Checker, Expectation, HasDiscoveries, Model, StateRecorder};
use std::collections::{HashSet, VecDeque};

fn cfg(
    clients: usize,
    requests: usize,
    max_round: u32,
    network: NetworkKind,
    crashes: usize,
    bug: Option<MpBug>,
) -> MultiPaxosConfig {
    MultiPaxosConfig {
        cluster: ClusterConfig {
            clients,
            network,
            crashes,
            ..Default::default()
        },
        max_round,
        requests,
        bug,
        ..Default::default()
    }
}

/// Runs single-threaded BFS to the end; every "always" property must hold. Returns the
/// unique state count and the "sometimes" properties witnessed.
fn exhaustive(c: MultiPaxosConfig) -> (usize, Vec<&'static str>) {
    let checker = c.into_model().checker().spawn_bfs().join();
    assert!(checker.is_done());
    let mut witnessed = Vec::new();
    for p in checker.model().properties() {
        let found = checker.discovery(p.name).is_some();
        match p.expectation {
            Expectation::Sometimes if found => witnessed.push(p.name),
            Expectation::Sometimes => {}
            _ => assert!(!found, "{} violated", p.name),
        }
    }
    (checker.unique_state_count(), witnessed)
}

/// Unique state counts of small configurations, pinned so that a behaviour change is seen.
#[test]
fn correct_multi_paxos_holds_with_pinned_state_counts() {
    use NetworkKind::*;
    let read = "A read answered without the log";
    // One ballot (no takeover): commits, but no leader change; client 1's get is answered
    // after a confirmation round.
    assert_eq!(
        exhaustive(cfg(2, 1, 1, Unordered, 0, None)),
        (695, vec!["Commit", read])
    );
    assert_eq!(
        exhaustive(cfg(2, 1, 1, Ordered, 0, None)),
        (305, vec!["Commit", read])
    );
    assert_eq!(
        exhaustive(cfg(2, 1, 1, Unordered, 1, None)),
        (ONE_BALLOT_CRASHES, vec!["Commit", read])
    );
    // One client, put then cas, one takeover: a command commits after a leader change.
    assert_eq!(
        exhaustive(cfg(1, 2, 2, Unordered, 0, None)),
        (
            5_051,
            vec![
                "Commit",
                "Leader change",
                "Takeover re-proposes an accepted value"
            ]
        )
    );
    // A put and a read from two clients, one takeover (`ballot check multi-paxos`, whose
    // default allows two, is pinned by the CLI tests). With the get a command in the log
    // (`--log-reads`), exactly the states of the model before reads were served by the leader:
    // 33,025, pinned since then; and two commands make a leader change.
    assert_eq!(
        exhaustive(cfg(2, 1, 2, Unordered, 0, None)),
        (
            23_217,
            vec!["Commit", read, "Takeover re-proposes an accepted value"]
        )
    );
    let log_reads = MultiPaxosConfig {
        log_reads: true,
        ..cfg(2, 1, 2, Unordered, 0, None)
    };
    assert_eq!(
        exhaustive(log_reads),
        (
            33_025,
            vec![
                "Commit",
                "Leader change",
                "Takeover re-proposes an accepted value"
            ]
        )
    );
    // A put, a compare-and-swap, then a get, one takeover: the catalog's configuration for
    // the read mutants.
    assert_eq!(
        exhaustive(cfg(1, 3, 2, Unordered, 0, None)),
        (
            83_085,
            vec![
                "Commit",
                "Leader change",
                read,
                "Takeover re-proposes an accepted value"
            ]
        )
    );
    // Two takeovers: a slot can hold votes of two ballots when the third leader prepares it.
    assert_eq!(
        exhaustive(cfg(1, 2, 3, Unordered, 0, None)),
        (
            91_213,
            vec![
                "Commit",
                "Leader change",
                "Takeover re-proposes an accepted value"
            ]
        )
    );
    // Heartbeats (one per ballot): re-sent Accepts, commit points, and learners catching up
    // on entries they missed.
    let heartbeats = MultiPaxosConfig {
        heartbeats: 1,
        ..cfg(1, 1, 2, Unordered, 0, None)
    };
    assert_eq!(
        exhaustive(heartbeats),
        (
            15_849,
            vec![
                "Commit",
                "Takeover re-proposes an accepted value",
                "Catch-up"
            ]
        )
    );
}

/// Unique states of two clients (a put, a get), one ballot, crash-restarts.
const ONE_BALLOT_CRASHES: usize = 1_120;

/// Executing without a save (`--volatile-applied`, as real runs do): every property holds, a
/// crash-restart does take executed entries back, and the counts are pinned.
#[test]
fn volatile_applied_keeps_every_property_with_pinned_state_counts() {
    let volatile = |c: MultiPaxosConfig| MultiPaxosConfig {
        volatile_applied: true,
        ..c
    };
    let taken_back = "A crash takes executed entries back";
    // One ballot, a put and a get, crash-restarts: more states than ONE_BALLOT_CRASHES, since
    // a server's saved storage now lags what it executed.
    assert_eq!(
        exhaustive(volatile(cfg(2, 1, 1, NetworkKind::Unordered, 1, None))),
        (
            1_636,
            vec!["Commit", "A read answered without the log", taken_back]
        )
    );
    // One client's put then cas, one takeover, crash-restarts: a replica that forgot what it
    // executed learns it again from the new leader's re-proposals.
    assert_eq!(
        exhaustive(volatile(cfg(1, 2, 2, NetworkKind::Unordered, 1, None))),
        (
            44_454,
            vec![
                "Commit",
                "Leader change",
                taken_back,
                "Takeover re-proposes an accepted value"
            ]
        )
    );
}

/// Batched Accepts ([`MpServer::batch`]): every property holds, whatever proposals the
/// propose timer groups, with pinned state counts.
#[test]
fn batching_keeps_every_property_with_pinned_state_counts() {
    let batched = |c: MultiPaxosConfig| MultiPaxosConfig {
        batch: true,
        log_reads: true,
        ..c
    };
    let several = "One Accept carries several proposals";
    // Two clients' puts in one ballot: their Accepts go out apart or together.
    assert_eq!(
        exhaustive(batched(cfg(2, 1, 1, NetworkKind::Unordered, 0, None))),
        (437, vec!["Commit", several])
    );
    // One client's put then cas, one takeover, crash-restarts: a new leader's re-proposals
    // and no-ops share Accepts with the commands that follow.
    assert_eq!(
        exhaustive(batched(cfg(1, 2, 2, NetworkKind::Unordered, 1, None))),
        (
            18_436,
            vec![
                "Commit",
                "Leader change",
                "Takeover re-proposes an accepted value",
                several
            ]
        )
    );
}

/// Log compaction (`--compact`): acceptors discard their votes in executed slots, on a timer
/// the checker fires at any moment; a Phase 1 that meets compacted slots learns them instead
/// of proposing in them.
#[test]
fn compaction_keeps_every_property_with_pinned_state_counts() {
    let compacting = |c: MultiPaxosConfig| MultiPaxosConfig { compact: true, ..c };
    let meets = "A takeover learns compacted slots";
    let takeover = "Takeover re-proposes an accepted value";
    // A put then a cas through the log, one takeover, crash-restarts: what a server compacted
    // comes back from its storage.
    assert_eq!(
        exhaustive(compacting(MultiPaxosConfig {
            log_reads: true,
            ..cfg(1, 2, 2, NetworkKind::Unordered, 1, None)
        })),
        (170_797, vec!["Commit", "Leader change", takeover, meets])
    );
    // As real nodes run: two clients, batched Accepts, executing saves nothing, reads answered
    // after a confirmation round.
    assert_eq!(
        exhaustive(compacting(MultiPaxosConfig {
            batch: true,
            volatile_applied: true,
            ..cfg(2, 1, 2, NetworkKind::Unordered, 0, None)
        })),
        (
            136_663,
            vec!["Commit", "A read answered without the log", takeover, meets]
        )
    );
}

/// The property `bug` breaks, and the length of the counterexample single-threaded BFS finds.
fn violated(c: MultiPaxosConfig) -> (&'static str, usize) {
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let (name, path) = checker
        .model()
        .properties()
        .iter()
        .filter(|p| p.expectation == Expectation::Always)
        .find_map(|p| checker.discovery(p.name).map(|d| (p.name, d)))
        .expect("the checker finds a counterexample");
    (name, path.into_actions().len())
}

/// The default configuration with a bug's catalogued extra flags applied.
fn with_catalog_args(bug: MpBug) -> MultiPaxosConfig {
    let mut c = MultiPaxosConfig {
        bug: Some(bug),
        ..Default::default()
    };
    let mut args = bug.info().args.iter().copied();
    while let Some(flag) = args.next() {
        if flag == "--log-reads" {
            c.log_reads = true;
            continue;
        }
        if flag == "--volatile-applied" {
            c.volatile_applied = true;
            continue;
        }
        if flag == "--batch" {
            c.batch = true;
            continue;
        }
        if flag == "--compact" {
            c.compact = true;
            continue;
        }
        let value = args.next().expect("a value after the flag");
        match [flag, value] {
            ["--crashes", n] => c.cluster.crashes = n.parse().unwrap(),
            ["--retries", n] => c.retries = n.parse().unwrap(),
            ["--requests", n] => c.requests = n.parse().unwrap(),
            ["--heartbeats", n] => c.heartbeats = n.parse().unwrap(),
            ["--clients", n] => c.cluster.clients = n.parse().unwrap(),
            ["--max-round", n] => c.max_round = n.parse().unwrap(),
            other => panic!("unexpected catalog args {other:?}"),
        }
    }
    c
}

#[test]
fn every_bug_is_caught_breaking_its_catalogued_property() {
    for (bug, info) in BUGS {
        let (property, steps) = violated(with_catalog_args(*bug));
        assert_eq!(property, info.breaks, "bug {}", info.name);
        assert!(steps >= 3, "bug {}: {steps} steps", info.name);
    }
}

/// The Integrity message of `no-dedup` names the client as the printed steps do ("client 0",
/// not its actor number 3).
#[test]
fn no_dedup_names_the_client_as_the_steps_do() {
    let checker = with_catalog_args(MpBug::NoDedup)
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let path = checker
        .discovery("Integrity")
        .expect("no-dedup breaks Integrity");
    let last = path.last_state();
    let why = explain(checker.model(), last, "Integrity").expect("an explanation");
    assert!(
        why.starts_with("server ") && why.ends_with(" applied request 1 of client 0 twice"),
        "{why}"
    );
}

/// Forgetting votes needs a crash: without one, the mutant is the correct protocol.
#[test]
fn forget_votes_is_harmless_without_crashes() {
    let c = cfg(1, 2, 2, NetworkKind::Unordered, 0, Some(MpBug::ForgetVotes));
    assert_eq!(exhaustive(c).0, 5_051);
}

#[test]
fn a_model_without_a_leader_fails_the_commit_property() {
    let (_, witnessed) = exhaustive(cfg(2, 1, 0, NetworkKind::Unordered, 0, None));
    assert!(witnessed.is_empty(), "{witnessed:?}");
}

#[test]
fn bug_names_round_trip() {
    for (bug, info) in BUGS {
        assert_eq!(MpBug::from_name(info.name), Some(*bug));
        assert_eq!(bug.info().name, info.name);
    }
    assert_eq!(MpBug::from_name("nope"), None);
}

/// DFS with symmetry, the handlers checked at every expanded state to treat servers alike.
fn symmetric_dfs(c: MultiPaxosConfig) -> impl Checker<MpModel> {
    let model = c.into_model().check_symmetry(1);
    let broken = std::sync::Arc::clone(&model.symmetry_broken);
    let checker = model
        .checker()
        .symmetry_fn(server_symmetry)
        .spawn_dfs()
        .join();
    assert_eq!(*broken.lock().unwrap(), None);
    checker
}

/// Symmetry reduction (DFS) explores fewer states, and still finds every bug.
#[test]
fn symmetry_reduces_states_and_still_finds_the_bugs() {
    let c = cfg(1, 2, 2, NetworkKind::Unordered, 0, None);
    let reduced = symmetric_dfs(c.clone());
    // With a crash: the handlers still treat servers alike.
    symmetric_dfs(cfg(2, 1, 1, NetworkKind::Unordered, 1, None));
    reduced.assert_properties();
    assert_eq!(reduced.unique_state_count(), 2_508);
    let plain = c.into_model().checker().spawn_dfs().join();
    assert_eq!(plain.unique_state_count(), 5_051);
    for (bug, info) in BUGS {
        let checker = with_catalog_args(*bug)
            .into_model()
            .checker()
            // Depth-first search with a bound: unbounded, it goes deep first and takes
            // heartbeat-sets-promise with three rounds 3.4 M states (3 minutes) to find; within 20 steps, 71 k.
            // One thread, so the order and the counts are the same each run.
            .target_max_depth(20)
            .symmetry_fn(server_symmetry)
            .finish_when(HasDiscoveries::AnyFailures)
            .spawn_dfs()
            .join();
        assert!(
            checker.discovery(info.breaks).is_some(),
            "bug {} not found with symmetry",
            info.name
        );
    }
}

/// Symmetry reduction is sound only if renumbering servers maps runs to runs. Check it on
/// small configurations: every class of reachable states (plain search; a class is a state
/// and its renumberings) has a member among the states the reduced search visited.
#[test]
fn symmetry_reduction_visits_every_class_of_reachable_states() {
    for (c, states) in [
        (
            cfg(2, 1, 1, NetworkKind::Unordered, 1, None),
            ONE_BALLOT_CRASHES,
        ),
        (cfg(1, 2, 2, NetworkKind::Unordered, 0, None), 5_051),
        (
            MultiPaxosConfig {
                batch: true,
                log_reads: true,
                ..cfg(2, 1, 1, NetworkKind::Unordered, 1, None)
            },
            848,
        ),
        // A takeover with crash-restarts: states that differ only in which follower still
        // holds its election timer (the fingerprint tells them apart by the timer counts kept
        // in the history, `cluster::TimerCounts`; without them it merged such states and this
        // search missed classes).
        (
            MultiPaxosConfig {
                batch: true,
                log_reads: true,
                ..cfg(1, 2, 2, NetworkKind::Unordered, 1, None)
            },
            18_436,
        ),
        // Compaction: a takeover that meets compacted slots learns them by catch-up.
        (
            MultiPaxosConfig {
                compact: true,
                log_reads: true,
                ..cfg(1, 2, 2, NetworkKind::Unordered, 0, None)
            },
            50_555,
        ),
    ] {
        let (all, visited, reduced) = classes_and_reduced(c);
        assert_eq!(all.0, states);
        assert!(
            reduced < all.0,
            "{reduced} states with symmetry, {} without",
            all.0
        );
        assert_eq!(visited, all.1);
    }
}

/// The class of `state`: the least hash among its renumberings of servers.
fn class_of(servers: usize, state: &MpModelState) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    let mut best = u64::MAX;
    let mut perm: Vec<usize> = (0..servers).collect();
    permutations(&mut perm, 0, &mut |perm| {
        // Sorting these keys moves server i to position perm[i]; clients stay.
        let keys: Vec<(usize, usize)> = (0..state.actor_states.len())
            .map(|i| if i < servers { (0, perm[i]) } else { (1, i) })
            .collect();
        let plan = RewritePlan::<Id, _>::from_values_to_sort(&keys);
        let renumbered = MpModelState {
            actor_states: plan.reindex(&state.actor_states),
            network: state.network.rewrite(&plan),
            timers_set: plan.reindex(&state.timers_set),
            random_choices: plan.reindex(&state.random_choices),
            crashed: plan.reindex(&state.crashed),
            actor_storages: plan.reindex(&state.actor_storages),
            history: state.history.rewrite(&plan),
        };
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(&renumbered);
        best = best.min(h);
    });
    best
}

fn permutations(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
    if k == v.len() {
        return f(v);
    }
    for i in k..v.len() {
        v.swap(k, i);
        permutations(v, k + 1, f);
        v.swap(k, i);
    }
}

/// The reachable states (plain BFS) and their classes, the classes the symmetric DFS
/// visited, and its unique state count.
// States hold `SharedVec`s, whose lazily built flat copy is interior mutability that
// changes neither hash nor equality.
#[allow(clippy::type_complexity, clippy::mutable_key_type)]
fn classes_and_reduced(c: MultiPaxosConfig) -> ((usize, HashSet<u64>), HashSet<u64>, usize) {
    let model = c.clone().into_model();
    let n = model.servers;
    let mut seen = HashSet::new();
    let mut queue: VecDeque<_> = model.init_states().into();
    for s in &queue {
        seen.insert(s.clone());
    }
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a)
                && model.within_boundary(&next)
                && seen.insert(next.clone())
            {
                queue.push_back(next);
            }
        }
    }
    let classes: HashSet<u64> = seen.iter().map(|s| class_of(n, s)).collect();
    let (recorder, visited) = StateRecorder::new_with_accessor();
    let reduced = c
        .into_model()
        .checker()
        .symmetry_fn(server_symmetry)
        .visitor(recorder)
        .spawn_dfs()
        .join();
    let visited_classes = visited().iter().map(|s| class_of(n, s)).collect();
    (
        (seen.len(), classes),
        visited_classes,
        reduced.unique_state_count(),
    )
}

/// The model discards a message only if its receiver ignores it for good: checked by search
/// without the reduction, on small configurations, for the correct protocol and for the
/// mutants that touch the rules the predicate relies on.
#[test]
fn discarding_obsolete_messages_hides_no_behaviour() {
    use crate::cluster::verify_obsolete_claims;
    let checked = |c: MultiPaxosConfig| verify_obsolete_claims(c.into_model(), 30_000).unwrap();
    assert!(checked(cfg(1, 2, 2, NetworkKind::Unordered, 0, None)) > 0);
    assert!(checked(cfg(2, 1, 2, NetworkKind::Unordered, 1, None)) > 0);
    assert!(checked(cfg(2, 1, 2, NetworkKind::Duplicating, 0, None)) > 0);
    let heartbeats = MultiPaxosConfig {
        heartbeats: 1,
        ..cfg(1, 1, 3, NetworkKind::Unordered, 0, None)
    };
    assert!(checked(heartbeats) > 0);
    // Reads: an answer that acknowledges no new round is ignored for good.
    assert!(checked(cfg(1, 3, 2, NetworkKind::Unordered, 0, None)) > 0);
    let heartbeat_reads = MultiPaxosConfig {
        heartbeats: 1,
        ..cfg(2, 1, 2, NetworkKind::Unordered, 0, None)
    };
    assert!(checked(heartbeat_reads) > 0);
    // Batched Accepts: an Accepted for several slots is ignored only once none of them waits
    // for that acceptor.
    let batched = MultiPaxosConfig {
        batch: true,
        heartbeats: 1,
        ..cfg(2, 1, 2, NetworkKind::Duplicating, 0, None)
    };
    assert!(checked(batched) > 0);
    for bug in [
        MpBug::HeartbeatSetsPromise,
        MpBug::ForgetVotes,
        MpBug::IgnorePromisedValues,
        MpBug::ReadWithStaleAcks,
        MpBug::CumulativeAccepted,
        MpBug::CompactionUnreported,
    ] {
        let mut c = with_catalog_args(bug);
        c.cluster.clients = 1;
        checked(c);
    }
    // Compaction: an acceptor that compacted a slot still answers an Accept in it.
    let compacting = MultiPaxosConfig {
        compact: true,
        heartbeats: 1,
        ..cfg(1, 2, 2, NetworkKind::Unordered, 1, None)
    };
    assert!(checked(compacting) > 0);
}

#[test]
fn slot_sets_and_client_ops() {
    let mut set = SlotSet::default();
    assert_eq!(set.first_missing(), 0);
    set.insert(0);
    set.insert(2);
    assert!(set.contains(2) && !set.contains(1));
    assert_eq!(set.first_missing(), 1);
    set.insert(1);
    assert_eq!(set.first_missing(), 3);
    assert!(set.contains(0) && set.contains(2) && !set.contains(3));
    // A real run executes far beyond 32 slots, in order.
    let mut long = SlotSet::default();
    for slot in 0..1000 {
        long.insert(slot);
    }
    assert_eq!(long.first_missing(), 1000);
    assert!(long.contains(999) && !long.contains(1000));
    assert_eq!(client_ops(0, 1), vec![KvOp::Put('x', 'A')]);
    assert_eq!(client_ops(1, 2), vec![KvOp::Get('x'), KvOp::Put('x', 'B')]);
}

/// With one partition: every property holds, a leader on each side of the split is
/// witnessed, and the symmetry reduction (which renumbers the cut with the servers) still
/// agrees with the handlers at every expanded state. Counts pinned.
#[test]
fn correct_multi_paxos_is_safe_under_a_partition() {
    let mut c = cfg(1, 2, 2, NetworkKind::Unordered, 0, None);
    c.cluster.partitions = 1;
    let (count, witnessed) = exhaustive(c.clone());
    assert_eq!(count, MP_PARTITION[0]);
    assert!(
        witnessed.contains(&"A leader on each side of a partition")
            && witnessed.contains(&"Leader change"),
        "{witnessed:?}"
    );
    let reduced = symmetric_dfs(c.clone());
    reduced.assert_properties();
    assert_eq!(reduced.unique_state_count(), MP_PARTITION[1]);
    assert_eq!(*reduced.model().revived.lock().unwrap(), None);
    let crash = {
        let mut c = cfg(2, 1, 1, NetworkKind::Unordered, 1, None);
        c.cluster.partitions = 1;
        c
    };
    // One round: no leader change to witness; every always-property holds.
    let checker = symmetric_dfs(crash);
    for p in checker.model().properties() {
        if p.expectation == Expectation::Always {
            assert!(checker.discovery(p.name).is_none(), "{} violated", p.name);
        }
    }
    assert!(crate::cluster::verify_obsolete_claims(c.into_model(), 30_000).unwrap() > 0);
}

/// Unique states of `correct_multi_paxos_is_safe_under_a_partition` (BFS, DFS with symmetry).
const MP_PARTITION: [usize; 2] = [39_945, 19_845];

/// One Byzantine server of three breaks Agreement: it tells each honest server that a
/// different entry is chosen.
#[test]
fn a_byzantine_server_breaks_agreement_among_three() {
    let mut c = cfg(2, 1, 1, NetworkKind::Unordered, 0, None);
    c.cluster.byzantine = 1;
    c.validate().unwrap();
    let checker = c
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyOf(["Agreement"].into()))
        .spawn_bfs()
        .join();
    let steps = checker
        .discovery("Agreement")
        .map(|p| p.into_actions().len());
    assert!(steps.is_some_and(|n| n <= 2), "{steps:?}");
}

/// A batching leader's Accepts ([`MpServer::batch`]): one per run of consecutive slots, at most
/// [`ACCEPT_BATCH_MAX`] entries each; without batching one per proposal.
#[test]
fn accepts_group_runs_of_consecutive_slots() {
    let ballot = Ballot {
        round: 1,
        proposer: 0,
    };
    let proposal = |slot: Slot| InFlight::<ModelKey, ModelValue> {
        slot,
        entry: Entry::Noop,
        acks: ServerSet::default(),
    };
    let server = |batch| MpServer {
        batch,
        ..MpServer::for_real_runs((0..3).map(Id::from).collect())
    };
    let runs = |batch, slots: &[Slot]| -> Vec<(Slot, usize)> {
        let proposals: Vec<_> = slots.iter().map(|s| proposal(*s)).collect();
        server(batch)
            .accepts(ballot, 0, 0, &proposals)
            .into_iter()
            .map(|m| match m {
                MpMsg::Accept { slot, entries, .. } => (slot, entries.len()),
                other => panic!("not an Accept: {other:?}"),
            })
            .collect()
    };
    // A gap (slot 1 chosen, or acknowledged by this acceptor) starts a new Accept: the entries
    // of one Accept are for consecutive slots.
    assert_eq!(runs(true, &[0, 2, 3, 5]), vec![(0, 1), (2, 2), (5, 1)]);
    assert_eq!(runs(false, &[0, 2, 3]), vec![(0, 1), (2, 1), (3, 1)]);
    let long: Vec<Slot> = (10..10 + ACCEPT_BATCH_MAX as Slot + 3).collect();
    assert_eq!(
        runs(true, &long),
        vec![(10, ACCEPT_BATCH_MAX), (10 + ACCEPT_BATCH_MAX as Slot, 3)]
    );
}

/// Server 1 of a real run's three, freshly started (it promised ballot 1 of server 0, which
/// leads), its state, and that ballot.
fn real_server_1() -> (
    MpActor<ModelKey, ModelValue>,
    Cow<'static, MpState<ModelKey, ModelValue>>,
    Ballot,
) {
    let actor = MpActor::<ModelKey, ModelValue>::Server(MpServer::for_real_runs(
        (0..3).map(Id::from).collect(),
    ));
    let state = actor.on_start(Id::from(1), &None, &mut Out::new());
    let ballot = Ballot {
        round: 1,
        proposer: 0,
    };
    (actor, Cow::Owned(state), ballot)
}

/// A batched Accept that repeats a slot the acceptor has already accepted in that ballot (a
/// heartbeat re-sends every unacknowledged proposal, and the first one's Accepted may still be
/// on its way): the acceptor still accepts and saves the slots after it before it answers for
/// all of them. An acceptor that took the whole Accept for a duplicate would acknowledge a slot
/// it never voted for, and the leader would count a vote that no Phase 1 can see.
#[test]
fn a_batch_repeating_an_accepted_slot_accepts_the_slots_after_it() {
    let (actor, mut state, ballot) = real_server_1();
    let accept = |entries: Vec<Entry<ModelKey, ModelValue>>| MpMsg::Accept {
        ballot,
        slot: 0,
        entries,
        committed: 0,
        read_round: 0,
    };
    actor.on_msg(
        Id::from(1),
        &mut state,
        Id::from(0),
        accept(vec![Entry::Noop]),
        &mut Out::new(),
    );
    let mut o = Out::new();
    actor.on_msg(
        Id::from(1),
        &mut state,
        Id::from(0),
        accept(vec![Entry::Noop, Entry::Noop]),
        &mut o,
    );
    let commands: Vec<_> = o.iter().collect();
    let saved = commands.iter().position(|c| {
        matches!(c, stateright::actor::Command::Save(st)
            if st.votes.iter().map(|v| v.slot).collect::<Vec<_>>() == [0, 1])
    });
    let answered = commands.iter().position(|c| {
        matches!(
            c,
            stateright::actor::Command::Send(
                _,
                MpMsg::Accepted {
                    slot: 0,
                    count: 2,
                    ..
                }
            )
        )
    });
    assert!(
        saved.is_some() && answered.is_some() && saved < answered,
        "{commands:?}"
    );
}

/// A real learner behind a peer's compaction gets the peer's folded state machine in a Chosen
/// (`base`): it starts its replica from it where the entries begin, discards its own votes
/// below that point and saves before anything else; a base that does not end where the
/// entries begin (a count no slot can hold, here) is ignored, without a panic.
#[test]
fn a_chosen_state_machine_is_installed_only_where_its_entries_begin() {
    let (actor, mut state, ballot) = real_server_1();
    actor.on_msg(
        Id::from(1),
        &mut state,
        Id::from(0),
        MpMsg::Accept {
            ballot,
            slot: 0,
            entries: vec![Entry::Noop; 5],
            committed: 0,
            read_round: 0,
        },
        &mut Out::new(),
    );
    let chosen = |count: u64, from: Slot| MpMsg::Chosen {
        from,
        entries: vec![Entry::Noop],
        committed: from + 1,
        base: LogBase(Some(AppliedBase {
            count,
            sm: std::sync::Arc::new(crate::kv::SmSnapshot::default()),
        })),
    };
    let before = state.clone().into_owned();
    let mut o = Out::new();
    actor.on_msg(
        Id::from(1),
        &mut state,
        Id::from(2),
        chosen(u64::MAX, 3),
        &mut o,
    );
    assert!(
        *state == before && o.is_empty(),
        "a mismatched base changed the state"
    );
    let mut o = Out::new();
    actor.on_msg(Id::from(1), &mut state, Id::from(2), chosen(3, 3), &mut o);
    let MpState::Server(s) = &*state else {
        unreachable!("a server's state")
    };
    assert_eq!(s.durable.log_base.count(), 3);
    assert_eq!(
        s.durable.executed_count(),
        4,
        "the entry after the base is executed"
    );
    assert_eq!(s.durable.compacted, Compacted(3));
    assert_eq!(
        s.durable.votes.iter().map(|v| v.slot).collect::<Vec<_>>(),
        [3, 4],
        "the votes below the base are discarded"
    );
    assert!(
        matches!(o.iter().next(), Some(stateright::actor::Command::Save(d)) if d.compacted == Compacted(3)),
        "the compaction is saved first: {:?}",
        o.iter().collect::<Vec<_>>()
    );
}

/// An Accept that runs past the last slot number (only an authenticated peer could send one):
/// the acceptor accepts the slots below `Slot::MAX`, and its Accepted counts exactly those.
#[test]
fn an_accept_past_the_last_slot_is_accepted_and_counted_alike() {
    let (actor, mut state, ballot) = real_server_1();
    let mut o = Out::new();
    actor.on_msg(
        Id::from(1),
        &mut state,
        Id::from(0),
        MpMsg::Accept {
            ballot,
            slot: Slot::MAX - 1,
            entries: vec![Entry::Noop; 3],
            committed: 0,
            read_round: 0,
        },
        &mut o,
    );
    let saved: Vec<Slot> = o
        .iter()
        .filter_map(|c| match c {
            stateright::actor::Command::Save(storage) => {
                Some(storage.votes.iter().map(|v| v.slot).collect())
            }
            _ => None,
        })
        .next_back()
        .expect("the vote is saved before the answer");
    assert_eq!(saved, vec![Slot::MAX - 1]);
    let answers: Vec<(Slot, Slot)> = o
        .iter()
        .filter_map(|c| match c {
            stateright::actor::Command::Send(dst, MpMsg::Accepted { slot, count, .. })
                if *dst == Id::from(0) =>
            {
                Some((*slot, *count))
            }
            _ => None,
        })
        .collect();
    assert_eq!(answers, vec![(Slot::MAX - 1, 1)]);
}
