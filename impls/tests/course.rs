//! docs/course.md: every command on the page runs, within a time limit, with the exit status
//! its row promises.

#[allow(dead_code)] // course.rs uses some of the shared helpers
mod common;
use common::tmp_dir;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The words of a command as a shell splits them (double quotes group words).
fn split(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for ch in cmd.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {cmd}");
    if any {
        words.push(word);
    }
    words
}

/// The (command, exit status) of every table row whose second cell is a `ballot …` command.
fn rows(page: &str) -> Vec<(String, i32)> {
    page.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            let cmd = cells.get(1)?.strip_prefix("`ballot ")?.strip_suffix('`')?;
            let exit = cells.get(2)?.trim().parse().ok()?;
            Some((cmd.to_string(), exit))
        })
        .collect()
}

#[test]
fn every_command_on_the_course_page_exits_as_the_page_says() {
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/course.md")).unwrap();
    let rows = rows(&page);
    assert!(rows.len() >= 25, "only {} commands found", rows.len());
    let dir = tmp_dir("course", "traces");
    let limit = Duration::from_secs(180);
    // Two at a time: the machine has two cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((cmd, want)) = rows.get(i) else {
                        break;
                    };
                    if let Some(f) = run(cmd, *want, &dir, limit) {
                        failures.lock().unwrap().push(f);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `ballot cmd` (counterexamples into `dir`) within `limit`; what went wrong, if anything.
fn run(cmd: &str, want: i32, dir: &std::path::Path, limit: Duration) -> Option<String> {
    let mut args = split(cmd);
    if matches!(args[0].as_str(), "check" | "matrix" | "suite") {
        args.extend(["--trace-out".into(), dir.display().to_string()]);
    }
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballot"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run ballot");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    match status.and_then(|s| s.code()) {
        Some(code) if code == want => None,
        got => Some(format!("ballot {cmd}: exit {got:?}, the page says {want}")),
    }
}

#[test]
fn commands_split_like_a_shell() {
    assert_eq!(
        split(r#"check paxos --expect "Writes complete" --x 1"#),
        ["check", "paxos", "--expect", "Writes complete", "--x", "1"]
    );
    assert_eq!(
        rows("| t | `ballot check raft` | 1 | d |\n| t | `cargo x` | 0 | d |"),
        [("check raft".to_string(), 1)]
    );
}

/// The side-by-side comparison names every bug of the three catalogs, and its state counts for
/// the same bounds are what the checker finds now.
#[test]
fn the_comparison_names_every_bug_and_its_counts_are_current() {
    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/course.md")).unwrap();
    for protocol in ["paxos", "multi-paxos", "raft"] {
        let o = common::ballot(&["bugs", protocol, "--json"]);
        let bugs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for bug in bugs.as_array().unwrap() {
            let row = format!("| {protocol} | `{}` |", bug["name"].as_str().unwrap());
            assert!(page.contains(&row), "docs/course.md lacks the row {row}");
        }
    }
    let same_bounds: [(&[&str], &str); 3] = [
        (&["paxos", "--clients", "1", "--max-round", "2"], "Paxos"),
        (
            &[
                "multi-paxos",
                "--clients",
                "1",
                "--requests",
                "1",
                "--max-round",
                "2",
            ],
            "Multi-Paxos",
        ),
        (
            &[
                "raft",
                "--clients",
                "1",
                "--requests",
                "1",
                "--max-term",
                "2",
                "--max-log",
                "1",
            ],
            "Raft",
        ),
    ];
    for (crashes, row) in [("0", "| no crash"), ("1", "| any server crashes")] {
        let line = page
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("docs/course.md lacks the row {row}"));
        let cells: Vec<&str> = line.split(" | ").skip(1).map(str::trim).collect();
        for (k, (args, name)) in same_bounds.iter().enumerate() {
            let mut argv = vec!["check"];
            argv.extend(*args);
            argv.extend([
                "--crashes",
                crashes,
                "--strategy",
                "bfs",
                "--threads",
                "1",
                "--json",
            ]);
            let o = common::ballot(&argv);
            assert_eq!(common::code(&o), 0, "{argv:?}");
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            let states = v["unique_states"].as_u64().unwrap();
            let shown: u64 = cells[k]
                .trim_end_matches('|')
                .trim()
                .replace(',', "")
                .parse()
                .unwrap();
            assert_eq!(shown, states, "{name} with --crashes {crashes}: {argv:?}");
        }
    }
}
