//! `--byzantine` from the command line, as docs/checking.md documents it: a Byzantine server
//! breaks Paxos, Multi-Paxos and Raft with 3 servers (exit 1, or 0 with `--expect` naming
//! exactly what breaks), an equivocating acceptor or voter does not break them with 4, and the
//! flags are refused where they make no sense (exit 2).

mod common;
use common::{ballot, code};

/// Runs `ballot check <args> --json` (traces in a temporary directory) and returns the exit
/// code and the properties violated or not witnessed.
fn check(name: &str, args: &[&str]) -> (i32, Vec<String>) {
    let dir = common::tmp_dir("byzantine", name).display().to_string();
    let mut argv = vec!["check"];
    argv.extend_from_slice(args);
    argv.extend(["--json", "--trace-out", &dir]);
    let o = ballot(&argv);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}\n{}", String::from_utf8_lossy(&o.stderr)));
    let broken = v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["verdict"] == "violated" || p["verdict"] == "not witnessed")
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (code(&o), broken)
}

#[test]
fn a_byzantine_server_breaks_paxos_and_raft_with_three_servers() {
    let (c, broken) = check("paxos", &["paxos", "--byzantine", "1", "--max-round", "1"]);
    assert_eq!(c, 1);
    assert!(broken.contains(&"Agreement".to_string()), "{broken:?}");
    let (c, broken) = check(
        "raft",
        &[
            "raft",
            "--byzantine",
            "1",
            "--crashes",
            "0",
            "--max-term",
            "1",
            "--max-log",
            "1",
        ],
    );
    assert_eq!(c, 1);
    assert!(
        broken.contains(&"State Machine Safety".to_string()),
        "{broken:?}"
    );
}

/// `--expect` naming exactly what breaks: exit 0 after an exhaustive check; naming less: 1.
#[test]
fn expect_names_what_a_byzantine_server_breaks() {
    let paxos = ["paxos", "--byzantine", "1", "--max-round", "1"];
    let (c, broken) = check(
        "paxos-expect",
        &[&paxos[..], &["--expect", "agreement,linearizability"]].concat(),
    );
    assert_eq!((c, broken.len()), (0, 2), "{broken:?}");
    let (c, _) = check(
        "paxos-expect-less",
        &[&paxos[..], &["--expect", "agreement"]].concat(),
    );
    assert_eq!(c, 1);
    let raft = [
        "raft",
        "--byzantine",
        "1",
        "--crashes",
        "0",
        "--max-term",
        "1",
        "--max-log",
        "1",
        "--expect",
        "Election Safety,Log Matching,State Machine Safety,Agreement",
    ];
    let (c, broken) = check("raft-expect", &raft);
    assert_eq!((c, broken.len()), (0, 4), "{broken:?}");
}

/// A liar limited to equivocation (answering two proposers or candidates as an honest server
/// could answer either) breaks 3 servers, not 4.
#[test]
fn equivocation_breaks_three_servers_not_four() {
    for (protocol, forge, bounds, property) in [
        (
            "paxos",
            "Promise,Accepted",
            &["--byzantine-sends", "4", "--max-round", "1"][..],
            "Agreement",
        ),
        (
            "raft",
            "RequestVoteReply",
            &["--crashes", "0", "--max-term", "1", "--max-log", "1"][..],
            "Election Safety",
        ),
    ] {
        for (servers, exit) in [("3", 1), ("4", 0)] {
            let args = [
                &[protocol, "--servers", servers, "--byzantine", "1"][..],
                &["--byzantine-forge", forge],
                bounds,
            ]
            .concat();
            let (c, broken) = check(&format!("{protocol}-{servers}"), &args);
            assert_eq!(c, exit, "{args:?}: {broken:?}");
            assert_eq!(
                broken.contains(&property.to_string()),
                exit == 1,
                "{args:?}"
            );
        }
    }
}

#[test]
fn byzantine_usage_errors_exit_2_with_the_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&["paxos", "--byzantine", "2"], "--byzantine 2"),
        (
            &["paxos", "--servers", "1", "--byzantine", "1"],
            "at least 2 servers",
        ),
        (&["two-phase-commit", "--byzantine", "1"], "coordinator"),
        (&["primary-backup", "--byzantine", "1"], "nothing to agree"),
        (&["active-active", "--byzantine", "1"], "nothing to agree"),
        (&["paxos", "--byzantine-sends", "3"], "--byzantine 1"),
        (
            &["raft", "--byzantine-forge", "AppendEntries"],
            "--byzantine 1",
        ),
        (
            &["raft", "--byzantine", "1", "--byzantine-forge", "Decided"],
            "RequestVoteReply",
        ),
        (
            &["raft", "--byzantine", "1", "--symmetry"],
            "not interchangeable",
        ),
        (
            &["paxos", "--byzantine", "1", "--byzantine-sends", "10"],
            "at most 9",
        ),
    ];
    for (args, says) in cases {
        let o = ballot(&[&["check"][..], args].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(code(&o), 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let help = ballot(&["check", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--byzantine <N>", "--byzantine-sends", "--byzantine-forge"] {
        assert!(
            text.contains(flag),
            "{flag} missing from ballot check --help"
        );
    }
}
