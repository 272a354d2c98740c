//! Counterexamples and witnesses as a student reads them (issue 13): readable steps, file names
//! that do not collide, reopening a saved trace exactly, diagrams, witnesses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{ballot, code};

fn tmp(name: &str) -> PathBuf {
    common::tmp_dir("traces", name)
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
        "--log-reads",
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
    // Its decision events are positions in the executed log, counted from 1, not slots: the
    // mutant executed slot 1's Get as its first entry.
    assert!(
        explanation.ends_with("for log position 1 (executed entry 1)"),
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

fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A saved trace records the complete model flags; the check prints the `ballot explore`
/// command and URL that reopen it; `ballot explore --trace FILE` serves that model (titled in
/// words), checks the path replays, prints its URL, and shows the trace's path as the
/// property's discovery. It refuses model flags given besides, and a trace whose path does not
/// replay on the model of its flags.
#[test]
fn explore_trace_reopens_the_saved_path_exactly() {
    let dir = tmp("reopen");
    let d = dir.to_str().unwrap();
    let check = [
        "check",
        "raft",
        "--clients",
        "0",
        "--crashes",
        "0",
        "--max-term",
        "1",
        "--bug",
        "vote-twice",
        "--trace-out",
        d,
    ];
    let o = ballot(&check);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let file = out
        .lines()
        .find_map(|l| l.strip_prefix("Saved to "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        out.contains(&format!("ballot explore --trace {}", file.display())),
        "{out}"
    );
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let path = t["action_path"].as_str().unwrap().to_string();
    let flags: Vec<&str> = t["model_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    // Every model flag, defaults spelled out.
    for f in [
        "--servers",
        "--clients",
        "--max-term",
        "--max-log",
        "--noop",
        "--bug",
    ] {
        assert!(flags.contains(&f), "{f}: {flags:?}");
    }
    assert_eq!(t["command"][0], "check");
    assert!(
        out.contains(&format!(
            "ballot explore raft {}, then open http://127.0.0.1:3000/#/steps/{path}",
            flags.join(" ")
        )),
        "{out}"
    );

    let addr = free_addr();
    let log = dir.join("explore.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args([
            "explore",
            "--trace",
            file.to_str().unwrap(),
            "--addr",
            &addr,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(r) = http_get(&addr, "/.status") {
            break r;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "explorer did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let page = http_get(&addr, "/").unwrap();
    let states = http_get(&addr, &format!("/.states/{path}")).unwrap();
    let initial = http_get(&addr, "/.states").unwrap();
    let app = http_get(&addr, "/app.js").unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(
        printed.contains(&format!("http://{addr}/#/steps/{path}")),
        "{printed}"
    );
    assert!(printed.contains("replayed and checked"), "{printed}");
    assert!(
        status.contains("\"model\":\"Raft — 3 servers, 0 clients"),
        "{status}"
    );
    assert!(
        status.contains(&format!("\"Election Safety\",\"{path}\"")),
        "{status}"
    );
    assert!(page.contains("<title>Raft — 3 servers"), "{page}");
    assert!(!page.contains("ClusterModel<"), "{page}");
    assert!(page.contains("Counterexample to Election Safety"), "{page}");
    assert!(states.contains(" 200 "), "{states}");
    assert!(initial.contains("\"initial state\""), "{initial}");
    assert!(
        app.contains("Not checked yet") && !app.contains("Searching: "),
        "a property not checked yet is not shown as being searched"
    );

    // Flags besides --trace are refused; so is a trace whose path does not replay.
    let both = ballot(&["explore", "raft", "--trace", file.to_str().unwrap()]);
    assert_eq!(code(&both), 2);
    assert!(String::from_utf8_lossy(&both.stderr).contains("give neither"));
    let mut other = t.clone();
    let at = flags.iter().position(|f| *f == "--max-term").unwrap();
    other["model_flags"][at + 1] = "3".into();
    other["action_path"] = "0/9/9/9".into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&other).unwrap()).unwrap();
    let o = ballot(&["explore", "--trace", bad.to_str().unwrap(), "--addr", &addr]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("does not replay"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `ballot check --render svg,html` draws each saved trace next to its JSON and says where;
/// `ballot trace render FILE --format F` draws a saved trace the same, on standard output or
/// into `--out`; an unknown format or a missing file is a usage error. Where Chromium is
/// installed, the SVG and the HTML page are opened headless and must paint.
#[test]
fn trace_render_draws_a_saved_trace_in_every_format() {
    let dir = tmp("render");
    let o = ballot(&[
        "check",
        "paxos",
        "--bug",
        "ignore-promised-values",
        "--render",
        "svg,html",
        "--trace-out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let file = out
        .lines()
        .find_map(|l| l.strip_prefix("Saved to "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{out}"));
    for ext in ["svg", "html"] {
        let drawn = file.with_extension(ext);
        assert!(
            out.contains(&format!("Drawn in {}", drawn.display())),
            "{out}"
        );
        assert!(drawn.exists());
    }
    let f = file.to_str().unwrap();
    for (format, ext) in [("svg", "svg"), ("html", "html")] {
        let o = ballot(&["trace", "render", f, "--format", format]);
        assert_eq!(code(&o), 0);
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            std::fs::read_to_string(file.with_extension(ext)).unwrap(),
            "{format}"
        );
    }
    let text = ballot(&["trace", "render", f]);
    assert_eq!(code(&text), 0);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.starts_with("Counterexample to Agreement — paxos (10 steps)"),
        "{text}"
    );
    assert!(text.contains("run:   ballot check paxos --bug ignore-promised-values"));
    assert!(text.contains("reply discarded: obsolete"), "{text}");
    assert!(text.contains("Violation: server 0 decided 'A'"), "{text}");
    let md = dir.join("cx.md");
    let o = ballot(&[
        "trace",
        "render",
        f,
        "--format",
        "mermaid",
        "--out",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("```mermaid\nsequenceDiagram\n"), "{md}");
    assert!(
        md.contains("rect rgb(255, 225, 225)"),
        "the last step highlighted: {md}"
    );
    assert!(md.contains("--x"), "the discarded reply drawn: {md}");

    let bad = ballot(&["trace", "render", f, "--format", "png"]);
    assert_eq!(code(&bad), 2);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("png"));
    let missing = ballot(&["trace", "render", "no-such-trace.json"]);
    assert_eq!(code(&missing), 2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-trace.json"));

    if let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    {
        for ext in ["svg", "html"] {
            let png = dir.join(format!("shot-{ext}.png"));
            let o = Command::new(chromium)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--window-size=1100,900",
                    &format!("--screenshot={}", png.display()),
                    &format!("file://{}", file.with_extension(ext).display()),
                ])
                .output()
                .unwrap();
            let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
            // A blank 1100×900 page compresses to a few kilobytes; a drawn diagram does not.
            assert!(
                size > 20_000,
                "{ext}: {size} bytes; {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    } else {
        eprintln!("no Chromium: the diagrams were not opened in a browser");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A protocol, its model flags, and the witnesses expected with their lengths.
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, usize)],
);

/// `--witness all` prints and saves a shortest path to every "sometimes" property, the
/// lecture's scenarios included, each with a sentence saying how its last state satisfies the
/// property; the lengths are pinned (single-threaded breadth-first search gives the shortest).
/// `--witness NAME` takes one property, in any case; an unknown name is a usage error that
/// lists the names.
#[test]
fn witnesses_are_shortest_paths_to_every_sometimes_property() {
    let dir = tmp("witness");
    let d = dir.to_str().unwrap();
    let cases: [Case; 5] = [
        (
            "paxos",
            &["--max-round", "2"],
            &[
                ("Decision", 5),
                ("Dueling proposers, then a decision", 7),
                ("A read learns the decision", 12),
            ],
        ),
        (
            "multi-paxos",
            &["--max-round", "2"],
            &[
                ("Commit", 3),
                ("A read answered without the log", 6),
                ("Takeover re-proposes an accepted value", 4),
            ],
        ),
        // With the get in the log, two commands: a leader change between them.
        (
            "multi-paxos",
            &["--max-round", "2", "--log-reads"],
            &[
                ("Commit", 3),
                ("Leader change", 12),
                ("Takeover re-proposes an accepted value", 4),
            ],
        ),
        // Client 1's get served by ReadIndex: one command in the log, so no conflict to repair.
        (
            "raft",
            &[
                "--clients",
                "2",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--crashes",
                "0",
            ],
            &[
                ("Leader elected", 3),
                ("Entry committed", 6),
                ("A read answered without the log", 7),
                ("Happy path: a client's request committed and answered", 7),
                ("Re-election: another leader in a later term", 6),
            ],
        ),
        // With the get in the log: two commands, and a conflict a later leader repairs.
        (
            "raft",
            &[
                "--clients",
                "2",
                "--max-term",
                "2",
                "--max-log",
                "1",
                "--crashes",
                "0",
                "--log-reads",
            ],
            &[
                ("Leader elected", 3),
                ("Entry committed", 6),
                ("Happy path: a client's request committed and answered", 7),
                ("Re-election: another leader in a later term", 6),
                (
                    "Repair: a leader overwrites a follower's conflicting entry",
                    8,
                ),
            ],
        ),
    ];
    for (protocol, flags, expected) in cases {
        let mut args = vec![
            "check",
            protocol,
            "--witness",
            "all",
            "--json",
            "--trace-out",
            d,
        ];
        args.extend(flags);
        let o = ballot(&args);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let v = json(&o);
        let found: Vec<(String, usize)> = v["witnesses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                assert_eq!(w["kind"], "witness");
                let e = w["explanation"].as_str().unwrap_or_default();
                assert!(
                    !e.is_empty() && !e.starts_with("no reachable"),
                    "{protocol}: {w}"
                );
                (
                    w["property"].as_str().unwrap().to_string(),
                    w["steps"].as_array().unwrap().len(),
                )
            })
            .collect();
        let expected: Vec<(String, usize)> =
            expected.iter().map(|(n, l)| (n.to_string(), *l)).collect();
        assert_eq!(found, expected, "{protocol}");
        for (name, len) in &expected {
            let file = saved(&v, name);
            assert!(
                file.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with(&format!("{protocol}-correct-witness-")),
                "{}",
                file.display()
            );
            let p = v["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name.as_str())
                .unwrap();
            assert_eq!(p["path_length"], *len as u64);
        }
    }

    // One witness by name, in any case, printed like a counterexample.
    let o = ballot(&[
        "check",
        "paxos",
        "--max-round",
        "2",
        "--witness",
        "dueling proposers, then a decision",
        "--trace-out",
        d,
    ]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("Witness of Dueling proposers, then a decision (7 steps):"),
        "{out}"
    );
    assert!(
        out.contains("Witnessed: servers 0 and 1 both ran Phase 1"),
        "{out}"
    );
    assert!(!out.contains("Witness of Decision"), "{out}");
    let o = ballot(&["check", "paxos", "--witness", "Nope"]);
    assert_eq!(code(&o), 2);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("'Nope'") && err.contains("'Decision'") && err.contains("or all"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The small things of issue 13: `check --help` gives each protocol's default strategy, the
/// top-level help lists exit code 4, counts are pluralised ("1 client", "1 request"), a flag
/// refused for Paxos names every protocol that takes it, a bound that makes a "sometimes"
/// property unreachable gets a hint, and `ballot bugs paxos | head -1` ends quietly.
#[test]
fn small_things_read_right() {
    let help = String::from_utf8_lossy(&ballot(&["check", "--help"]).stdout).into_owned();
    assert!(
        help.contains("[default: paxos and multi-paxos bfs; raft dfs, or bfs with --byzantine 1]"),
        "{help}"
    );
    let top = String::from_utf8_lossy(&ballot(&["--help"]).stdout).into_owned();
    assert!(top.contains("4 the model panicked"), "{top}");

    let o = ballot(&[
        "check",
        "raft",
        "--clients",
        "1",
        "--max-term",
        "1",
        "--max-log",
        "1",
    ]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let header = out.lines().next().unwrap();
    assert!(
        header.contains("3 servers, 1 client,")
            && header.contains("1 request per client, 0 retries"),
        "{header}"
    );
    assert!(!out.contains("(s)"), "{out}");

    let o = ballot(&["check", "paxos", "--requests", "2"]);
    assert_eq!(code(&o), 2);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--requests is a multi-paxos and raft flag")
    );

    for (args, hint) in [
        (
            &["check", "paxos", "--max-round", "0"][..],
            "Hint: --max-round 0",
        ),
        (
            &["check", "paxos", "--clients", "0"][..],
            "Hint: --clients 0",
        ),
        (
            &[
                "check",
                "multi-paxos",
                "--max-round",
                "1",
                "--clients",
                "1",
                "--requests",
                "2",
            ][..],
            "Hint: --max-round 1: no server can take over",
        ),
    ] {
        let o = ballot(args);
        assert_eq!(code(&o), 1, "{args:?}");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Never witnessed"), "{args:?}: {out}");
        assert!(out.contains(hint), "{args:?}: {out}");
    }

    // A reader that stopped reading (`ballot bugs paxos | head`): the pipe's read end is
    // closed before ballot writes, so its first write fails. It dies of SIGPIPE, as Unix tools
    // do, instead of panicking with "failed printing to stdout".
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(["bugs", "paxos"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    use std::os::unix::process::ExitStatusExt;
    const SIGPIPE: i32 = 13;
    assert_eq!(o.status.signal(), Some(SIGPIPE), "{:?}", o.status);
}
