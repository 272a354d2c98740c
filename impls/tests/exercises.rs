//! docs/exercises/ keeps up with the bug catalogs: every bug that `ballot bugs <protocol>
//! --json` lists has an exercise (a heading naming it and a command that runs it) in
//! docs/exercises/<protocol>.md and an answer under the same heading in
//! docs/exercises/answers/<protocol>.md. A bug added without them fails here.

use std::path::PathBuf;
use std::process::Command;

fn exercises_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/exercises")
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the protocol's catalog bugs, as `ballot bugs <protocol> --json` lists them.
fn catalog(protocol: &str) -> Vec<String> {
    let o = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["bugs", protocol, "--json"])
        .output()
        .expect("run ballot");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

/// Whether `text` has a level-3 heading naming `bug` in backquotes (`### B1. `name` (…)`).
fn has_heading(text: &str, bug: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("### ") && l.contains(&format!("`{bug}`")))
}

#[test]
fn every_catalog_bug_has_an_exercise_and_an_answer() {
    let dir = exercises_dir();
    let index = read(dir.join("README.md"));
    for protocol in ["paxos", "multi-paxos", "raft"] {
        let exercises = read(dir.join(format!("{protocol}.md")));
        let answers = read(dir.join(format!("answers/{protocol}.md")));
        assert!(
            index.contains(&format!("({protocol}.md)")),
            "docs/exercises/README.md does not link {protocol}.md"
        );
        for bug in catalog(protocol) {
            assert!(
                has_heading(&exercises, &bug),
                "docs/exercises/{protocol}.md has no exercise heading for bug `{bug}`"
            );
            assert!(
                exercises.contains(&format!("target/release/ballot check {protocol} "))
                    && exercises.contains(&format!("--bug {bug}")),
                "docs/exercises/{protocol}.md has no command running `--bug {bug}`"
            );
            assert!(
                has_heading(&answers, &bug),
                "docs/exercises/answers/{protocol}.md has no answer heading for bug `{bug}`"
            );
        }
    }
}

#[test]
fn exercises_name_no_path_of_a_machine() {
    let dir = exercises_dir();
    for file in [
        "README.md",
        "paxos.md",
        "multi-paxos.md",
        "raft.md",
        "answers/paxos.md",
        "answers/multi-paxos.md",
        "answers/raft.md",
    ] {
        let text = read(dir.join(file));
        for (n, line) in text.lines().enumerate() {
            for marker in ["/home/", "/work/", "/tmp/", "/Users/", "/root/"] {
                assert!(
                    !line.contains(marker),
                    "docs/exercises/{file}:{}: names a machine path ({marker}): {line}",
                    n + 1
                );
            }
        }
    }
}
