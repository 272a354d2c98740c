//! Counterexamples and witnesses as a student reads them (issue 13): readable steps, file names
//! that do not collide, reopening a saved trace exactly, diagrams, witnesses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ballot(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(args)
        .output()
        .expect("run ballot")
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ballot-traces-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The file a property's trace was saved to, from `--json` output.
fn saved(v: &serde_json::Value, property: &str) -> PathBuf {
    v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == property)
        .and_then(|p| p["trace"].as_str())
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no trace saved for {property}: {v}"))
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Steps name the field that changed (`proposal.phase: …`), clients by name (`client 0`, never
/// `Id(3)`, also in the explanation), and a reply the model discarded at once as obsolete is
/// shown, marked as such, instead of being left out.
#[test]
fn steps_name_fields_and_clients_and_show_discarded_replies() {
    let dir = tmp("readable");
    let o = ballot(&[
        "check",
        "paxos",
        "--bug",
        "ignore-promised-values",
        "--json",
        "--trace-out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let text = serde_json::to_string(&v["counterexamples"]).unwrap();
    assert!(!text.contains("Id("), "{text}");
    let cx = &v["counterexamples"][0];
    let steps = cx["steps"].as_array().unwrap();
    assert!(
        steps[0]["action"]
            .as_str()
            .unwrap()
            .ends_with("from client 0"),
        "{}",
        steps[0]
    );
    let changes: Vec<&str> = steps
        .iter()
        .flat_map(|s| s["changes"].as_array().unwrap())
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("proposal.phase: Preparing")),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|c| c.starts_with("durable.promised: None → Some(b1.")),
        "{changes:?}"
    );
    // The last step decides; its Decided to server 0, which already decided, is discarded.
    let last = steps.last().unwrap();
    let sent: Vec<&str> = last["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        sent.iter().any(|s| s.ends_with("(discarded: obsolete)")),
        "{sent:?}"
    );
    assert!(
        sent.iter().any(|s| !s.ends_with("(discarded: obsolete)")),
        "{sent:?}"
    );
    assert!(
        last["sends"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["discarded"] == true)
    );
    // Multi-Paxos names the clients of its commands in the explanation too.
    let o = ballot(&[
        "check",
        "multi-paxos",
        "--bug",
        "out-of-order",
        "--json",
        "--trace-out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let v = json(&o);
    let explanation = v["counterexamples"][0]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("client: client 0") && !explanation.contains("Id("),
        "{explanation}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The search for a shorter path after a breadth-first check is announced in one line that
/// says why it runs, and its result in another.
#[test]
fn the_search_for_a_shorter_path_says_why() {
    let dir = tmp("bisect");
    let o = ballot(&[
        "check",
        "paxos",
        "--bug",
        "ignore-promised-values",
        "--trace-out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let err = String::from_utf8_lossy(&o.stderr);
    let announce: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("re-checking with at most"))
        .collect();
    assert_eq!(announce.len(), 1, "{err}");
    assert!(
        announce[0].contains("reports the last of a batch of states, not the first"),
        "{err}"
    );
    assert!(
        err.contains("the shortest counterexample has 10 steps"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A trace's file name holds a hash of the complete model flags: the same bug checked with
/// other flags is saved next to the first, not over it; the same flags (spelled out or left to
/// their defaults) give the same name.
#[test]
fn trace_file_names_hold_a_hash_of_the_model_flags() {
    let dir = tmp("hash");
    let d = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "paxos",
            "--bug",
            "minority-quorum",
            "--json",
            "--trace-out",
            d,
        ];
        args.extend(extra);
        let o = ballot(&args);
        assert_eq!(code(&o), 1);
        saved(&json(&o), "Agreement")
    };
    let one = run(&["--max-round", "1"]);
    let two = run(&["--max-round", "2"]);
    let defaults = run(&[]);
    let spelled = run(&["--max-round", "3", "--servers", "3"]);
    assert_ne!(one, two);
    assert_eq!(defaults, spelled);
    let agreement = |f: &String| f.contains("-agreement-");
    assert_eq!(
        files(&dir).iter().filter(|f| agreement(f)).count(),
        3,
        "{:?}",
        files(&dir)
    );
    for f in [&one, &two, &defaults] {
        let name = f.file_name().unwrap().to_str().unwrap();
        let hash = name
            .strip_prefix("paxos-minority-quorum-agreement-")
            .and_then(|h| h.strip_suffix(".json"))
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        let t: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        assert_eq!(t["flags_hash"], hash);
    }
    let _ = std::fs::remove_dir_all(dir);
}
