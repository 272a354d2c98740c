//! A counterexample saved as JSON rebuilds the same path from its action indices.

use ballot_models::paxos::{PaxosBug, PaxosConfig, View};
use ballot_traces::{Counterexample, replay};
use stateright::{Checker, HasDiscoveries, Model};

#[test]
fn saved_counterexample_replays_to_the_violating_state() {
    let cfg = PaxosConfig {
        max_round: 1,
        bug: Some(PaxosBug::IgnorePromisedValues),
        ..Default::default()
    };
    let checker = cfg
        .clone()
        .into_model()
        .checker()
        .finish_when(HasDiscoveries::AnyFailures)
        .spawn_bfs()
        .join();
    let path = checker.discovery("Agreement").expect("counterexample");
    let model = checker.model();
    let cx = Counterexample::from_path(model, &path);
    assert_eq!(cx.steps.len(), path.clone().into_actions().len());
    assert!(
        cx.steps[0].action.contains("receives Put"),
        "{:?}",
        cx.steps[0]
    );
    assert!(
        cx.steps.iter().any(|s| s.saved),
        "acceptors save before replying"
    );

    let file = std::env::temp_dir().join(format!("ballot-replay-{}.json", std::process::id()));
    cx.save(&file).unwrap();
    let loaded = Counterexample::load(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(loaded, cx);

    let fresh = cfg.into_model();
    let replayed = replay(&fresh, &loaded.action_indices().unwrap()).expect("replays");
    assert_eq!(replayed.last_state(), path.last_state());
    assert!(!ballot_properties::agreement(&View(
        &fresh,
        replayed.last_state()
    )));
    // A path that names a disabled action does not replay.
    assert!(replay(&fresh, &[0, 99]).is_none());
}
