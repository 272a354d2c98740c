//! The lecture's models from the command line, as their pages document them
//! (docs/primary-backup.md, docs/active-active.md, docs/two-phase-commit.md): each documented
//! command's exit status and the properties it breaks, `--expect`, the suites, the bug catalog,
//! the Explorer.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{ballot, code};

fn tmp(name: &str) -> String {
    common::tmp_dir("lecture", name).display().to_string()
}

/// Runs `ballot check <args> --json` (traces in a temporary directory) and returns the exit
/// code, the properties violated or not witnessed, and whether the check was exhaustive.
fn check(name: &str, args: &[&str]) -> (i32, Vec<String>, bool, serde_json::Value) {
    let dir = tmp(name);
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
    let exhaustive = v["exhaustive"] == true;
    (code(&o), broken, exhaustive, v)
}

#[test]
fn primary_backup_documented_outcomes() {
    // (args, exit code, broken properties, exhaustive)
    let cases: &[(&[&str], i32, &[&str], bool)] = &[
        (&["primary-backup"], 1, &["Writes complete"], false),
        (
            &["primary-backup", "--expect", "Writes complete"],
            0,
            &["Writes complete"],
            true,
        ),
        (
            &["primary-backup", "--replication", "async"],
            1,
            &["Linearizability"],
            false,
        ),
        (
            &[
                "primary-backup",
                "--replication",
                "async",
                "--expect",
                "Linearizability",
            ],
            0,
            &["Linearizability"],
            true,
        ),
        (
            &[
                "primary-backup",
                "--replication",
                "semi-sync",
                "--expect",
                "Linearizability",
            ],
            0,
            &["Linearizability"],
            true,
        ),
        (
            &[
                "primary-backup",
                "--crashes",
                "0",
                "--lossy",
                "--expect",
                "Single primary",
            ],
            0,
            &["Single primary"],
            true,
        ),
        (&["primary-backup", "--crashes", "0"], 0, &[], true),
    ];
    for (i, (args, exit, broken, exhaustive)) in cases.iter().enumerate() {
        let (c, b, e, v) = check(&format!("pb{i}"), args);
        assert_eq!(c, *exit, "{args:?}");
        assert_eq!(b, *broken, "{args:?}");
        assert_eq!(e, *exhaustive, "{args:?}");
        for p in v["properties"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            assert_eq!(
                p["expected"] == true,
                args.contains(&name),
                "{args:?}: {name}"
            );
        }
    }
    // The pinned count of the documented exhaustive sync run.
    let (_, _, _, v) = check(
        "pb-count",
        &["primary-backup", "--expect", "Writes complete"],
    );
    assert_eq!(v["unique_states"], 1_590);
}

/// `--expect` exits 1 when an expected property holds, or when another one breaks, and names
/// an unknown property as a usage error.
#[test]
fn expect_is_exact() {
    let (c, _, _, _) = check(
        "wrong-expect",
        &[
            "primary-backup",
            "--replication",
            "async",
            "--expect",
            "Writes complete",
        ],
    );
    assert_eq!(c, 1);
    let (c, broken, exhaustive, _) = check(
        "held",
        &[
            "primary-backup",
            "--crashes",
            "0",
            "--expect",
            "Linearizability",
        ],
    );
    assert_eq!((c, broken.len(), exhaustive), (1, 0, true));
    let o = ballot(&["check", "primary-backup", "--expect", "nope"]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--expect") && err.contains("Single primary"),
        "{err}"
    );
    // The human report says what was expected.
    let o = ballot(&[
        "check",
        "two-phase-commit",
        "--expect",
        "Termination",
        "--trace-out",
        &tmp("report"),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 0);
    assert!(out.contains("(expected to break)"), "{out}");
    assert!(
        out.contains("Result: as expected: Termination broke, every other property holds"),
        "{out}"
    );
}

#[test]
fn active_active_loses_an_update_and_converges() {
    let (c, broken, _, _) = check("aa", &["active-active"]);
    assert_eq!((c, broken), (1, vec!["Linearizability".to_string()]));
    let (c, broken, exhaustive, v) = check(
        "aa-expect",
        &["active-active", "--expect", "Linearizability"],
    );
    assert_eq!((c, exhaustive), (0, true));
    assert_eq!(broken, ["Linearizability"]);
    assert_eq!(v["unique_states"], 33);
    let conv = v["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Convergence")
        .unwrap();
    assert_eq!(conv["verdict"], "holds");
    let ce = &v["counterexamples"][0];
    assert_eq!(ce["property"], "Linearizability");
}

#[test]
fn two_phase_commit_blocks_and_stays_atomic() {
    let (c, broken, _, _) = check("tpc", &["two-phase-commit"]);
    assert_eq!((c, broken), (1, vec!["Termination".to_string()]));
    let (c, broken, exhaustive, v) = check(
        "tpc-expect",
        &["two-phase-commit", "--expect", "Termination"],
    );
    assert_eq!((c, exhaustive), (0, true));
    assert_eq!(broken, ["Termination"]);
    assert_eq!(v["unique_states"], 5_518);
    let (c, broken, exhaustive, _) = check("tpc-nocrash", &["two-phase-commit", "--crashes", "0"]);
    assert_eq!((c, broken.len(), exhaustive), (0, 0, true));
}

/// Every catalogued two-phase-commit bug, run with its listed args, breaks its property.
#[test]
fn every_two_phase_commit_bug_breaks_its_property() {
    let o = ballot(&["bugs", "two-phase-commit", "--json"]);
    assert_eq!(code(&o), 0);
    let bugs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(bugs.as_array().unwrap().len(), 3);
    for b in bugs.as_array().unwrap() {
        let name = b["name"].as_str().unwrap();
        let mut args = vec!["two-phase-commit"];
        args.extend(
            b["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap()),
        );
        args.extend(["--bug", name]);
        let (c, broken, _, _) = check(name, &args);
        assert_eq!(c, 1, "{name}");
        assert_eq!(broken, [b["breaks"].as_str().unwrap()], "{name}");
    }
    for p in ["primary-backup", "active-active"] {
        let o = ballot(&["bugs", p]);
        assert_eq!(code(&o), 0);
        assert!(String::from_utf8_lossy(&o.stdout).contains("no bug catalog"));
    }
}

/// The three suites pass: expected failures where their flags name them, nothing else.
#[test]
fn the_lecture_suites_behave_as_documented() {
    for p in ["primary-backup", "active-active", "two-phase-commit"] {
        let o = ballot(&[
            "suite",
            p,
            "--json",
            "--trace-out",
            &tmp(&format!("suite-{p}")),
        ]);
        assert_eq!(code(&o), 0, "{p}: {}", String::from_utf8_lossy(&o.stdout));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for c in v["configurations"].as_array().unwrap() {
            let args: Vec<&str> = c["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let expects = args.contains(&"--expect");
            let verdict = c["verdict"].as_str().unwrap();
            assert_eq!(
                verdict,
                if expects { "as expected" } else { "holds" },
                "{p} {}",
                c["name"]
            );
        }
    }
}

#[test]
fn lecture_flags_are_refused_where_they_do_not_apply() {
    for (args, flag) in [
        (
            &["check", "raft", "--replication", "async"][..],
            "--replication",
        ),
        (
            &["check", "primary-backup", "--servers", "3"][..],
            "--servers",
        ),
        (
            &["check", "two-phase-commit", "--clients", "1"][..],
            "--clients",
        ),
        (
            &["check", "active-active", "--crashes", "1"][..],
            "--crashes",
        ),
        (
            &["check", "primary-backup", "--symmetry", "--strategy", "dfs"][..],
            "--symmetry",
        ),
        (
            &["check", "two-phase-commit", "--max-round", "2"][..],
            "--max-round",
        ),
    ] {
        let o = ballot(args);
        assert_eq!(code(&o), 2, "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Each model is served, and so is a saved counterexample of each (its path replays on the
/// model of its saved flags, or `explore --trace` refuses to start).
#[test]
fn the_explorer_serves_each_lecture_model() {
    let mut runs: Vec<(Vec<String>, &str)> = Vec::new();
    for (protocol, expect, property) in [
        ("primary-backup", "Writes complete", "Single primary"),
        ("active-active", "Linearizability", "Convergence"),
        ("two-phase-commit", "Termination", "Atomicity"),
    ] {
        runs.push((vec!["explore".into(), protocol.into()], property));
        let file = format!("{}.json", tmp(&format!("explore-{protocol}")));
        let o = ballot(&["check", protocol, "--expect", expect, "--trace-out", &file]);
        assert_eq!(code(&o), 0, "{protocol}");
        assert!(std::path::Path::new(&file).exists(), "{file}");
        runs.push((vec!["explore".into(), "--trace".into(), file], property));
    }
    for (args, property) in runs {
        let protocol = args.join(" ");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
            .args(&args)
            .args(["--addr", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(r) = http_get(&addr, "/.status") {
                break r;
            }
            assert!(
                Instant::now() < deadline,
                "{protocol}: explorer did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        child.kill().unwrap();
        let _ = child.wait();
        assert!(status.contains(property), "{protocol}: {status}");
    }
}
