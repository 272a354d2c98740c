//! `ballot matrix`: every model against every fault kind, each cell one exhaustive `ballot
//! check` in small bounds, written as a table (docs/fault-matrix-models.md is its output, and a
//! test keeps the two equal).
//!
//! A cell reports the safety verdict (every "always" property holds, or which one broke and
//! in how many steps), whether the model's progress property (a decision, a commit, an
//! acknowledged write) is still witnessed, and where the counterexample was saved. A fault a
//! model does not take is a cell that says why.

use crate::{Cli, Command, Protocol, UsageError, run_check};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The flags of `ballot matrix`.
#[derive(Args, Debug, Clone)]
pub struct MatrixArgs {
    /// Print the results as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Also write the table as a Markdown page to FILE (docs/fault-matrix-models.md).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Run only the rows of these models (repeatable).
    #[arg(long, value_name = "MODEL")]
    only: Vec<Protocol>,
    /// Directory for the counterexamples (one file per violated property and cell).
    #[arg(long, value_name = "DIR", default_value = "traces/matrix")]
    trace_out: PathBuf,
}

/// A fault kind: a column.
struct Fault {
    name: &'static str,
    what: &'static str,
}

const FAULTS: &[Fault] = &[
    Fault {
        name: "none",
        what: "FIFO links that lose nothing, no crash (`--network ordered --crashes 0`)",
    },
    Fault {
        name: "loss",
        what: "FIFO links that may lose any message (`--network ordered --lossy --crashes 0`)",
    },
    Fault {
        name: "duplication",
        what: "any message may be delivered any number of times (`--network duplicating \
               --crashes 0`)",
    },
    Fault {
        name: "reordering",
        what: "messages delivered in any order, each at most once (`--network unordered \
               --crashes 0`)",
    },
    Fault {
        name: "crash-stop",
        what: "one server may crash and never come back (`--crashes 1 --crash-stop`)",
    },
    Fault {
        name: "crash-recover",
        what: "one server at a time may crash and restart from what it saved (`--crashes 1`)",
    },
    Fault {
        name: "partition",
        what: "the network splits the servers into two sides once (any split), every message \
               across is lost until it heals (`--network unordered --crashes 0 --partition`)",
    },
    Fault {
        name: "byzantine",
        what: "the last server forges up to 2 messages of any kind the protocol defines, with \
               any field values in the bounds (`--network unordered --crashes 0 --byzantine 1`)",
    },
];

/// A model: a row.
struct Row {
    protocol: Protocol,
    /// Its bounds, the same in every cell.
    bounds: &'static [&'static str],
    /// The "sometimes" property that says the model still makes progress.
    progress: &'static str,
    /// The faults it does not take, and why.
    not_applicable: &'static [(&'static str, &'static str)],
}

/// The lecture's primary/backup and two-phase commit: their lesson is a server that does not
/// come back.
const CRASH_STOP_BY_DESIGN: (&str, &str) = (
    "crash-recover",
    "crash-stop by design: failover and blocking are about a server that does not come back",
);

/// The lecture's replication models take no Byzantine server (`--byzantine 1` refuses them).
const NO_BYZANTINE_TWO_SERVERS: (&str, &str) = (
    "byzantine",
    "two servers: one liar leaves one honest server and nothing to agree with (a lying \
     primary or replica simply answers its clients anything)",
);

/// Two-phase commit has no quorum to outvote a liar.
const NO_BYZANTINE_2PC: (&str, &str) = (
    "byzantine",
    "every decision comes from one process that is believed and there is no quorum: a liar \
     tells one participant commit and another abort",
);

/// Active-active's lost update needs no fault, and its model has no crash.
const NO_CRASHES: &str = "its replicas do not crash in this model: the lost update it is \
                          taught for needs no fault at all";

const ROWS: &[Row] = &[
    Row {
        protocol: Protocol::Paxos,
        bounds: &["--max-round", "1"],
        progress: "Decision",
        not_applicable: &[],
    },
    Row {
        protocol: Protocol::MultiPaxos,
        bounds: &["--clients", "1", "--requests", "1", "--max-round", "2"],
        progress: "Commit",
        not_applicable: &[],
    },
    Row {
        protocol: Protocol::Raft,
        bounds: &[
            "--clients",
            "1",
            "--requests",
            "1",
            "--max-term",
            "2",
            "--max-log",
            "1",
        ],
        progress: "Entry committed",
        not_applicable: &[],
    },
    Row {
        protocol: Protocol::PrimaryBackup,
        bounds: &[],
        progress: "Write acknowledged",
        not_applicable: &[CRASH_STOP_BY_DESIGN, NO_BYZANTINE_TWO_SERVERS],
    },
    Row {
        protocol: Protocol::ActiveActive,
        bounds: &[],
        progress: "Concurrent writes reconciled",
        not_applicable: &[
            ("crash-stop", NO_CRASHES),
            ("crash-recover", NO_CRASHES),
            NO_BYZANTINE_TWO_SERVERS,
        ],
    },
    Row {
        protocol: Protocol::TwoPhaseCommit,
        bounds: &[],
        progress: "Commit",
        not_applicable: &[CRASH_STOP_BY_DESIGN, NO_BYZANTINE_2PC],
    },
];

/// The flags of one cell, or why the model does not take the fault.
fn fault_flags(row: &Row, fault: &Fault) -> Result<Vec<&'static str>, &'static str> {
    if let Some((_, why)) = row.not_applicable.iter().find(|(f, _)| *f == fault.name) {
        return Err(why);
    }
    // The lecture's models always crash-stop (they take no --crash-stop).
    let lecture = matches!(
        row.protocol,
        Protocol::PrimaryBackup | Protocol::ActiveActive | Protocol::TwoPhaseCommit
    );
    Ok(match fault.name {
        "none" => vec!["--network", "ordered", "--crashes", "0"],
        "loss" => vec!["--network", "ordered", "--lossy", "--crashes", "0"],
        "duplication" => vec!["--network", "duplicating", "--crashes", "0"],
        "reordering" => vec!["--network", "unordered", "--crashes", "0"],
        "crash-stop" if lecture => vec!["--crashes", "1"],
        "crash-stop" => vec!["--crashes", "1", "--crash-stop"],
        "crash-recover" => vec!["--crashes", "1"],
        "partition" => vec!["--network", "unordered", "--crashes", "0", "--partition"],
        "byzantine" => vec![
            "--network",
            "unordered",
            "--crashes",
            "0",
            "--byzantine",
            "1",
        ],
        other => unreachable!("unknown fault {other}"),
    })
}

/// What one cell found.
#[derive(Debug, Clone, Serialize)]
struct Cell {
    model: &'static str,
    fault: &'static str,
    /// The `ballot check` command, or `None` when the model does not take the fault.
    command: Option<String>,
    /// Why the model does not take the fault.
    not_applicable: Option<&'static str>,
    /// "safe", "violated", "out of time", or "inconclusive".
    safety: String,
    /// The "always" properties violated, with the counterexample's length.
    violated: Vec<String>,
    /// Whether the progress property was witnessed ("yes", "no", or "unknown").
    progress: String,
    unique_states: usize,
    /// The counterexamples' files, named by the model's flags.
    traces: Vec<String>,
    #[serde(skip)]
    seconds: f64,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
struct MatrixOutcome {
    cells: Vec<Cell>,
    seconds: f64,
}

/// Runs `ballot matrix`.
pub fn run(args: &MatrixArgs) -> Result<ExitCode> {
    let start = Instant::now();
    let rows: Vec<&Row> = ROWS
        .iter()
        .filter(|r| args.only.is_empty() || args.only.contains(&r.protocol))
        .collect();
    let mut cells = Vec::new();
    for row in &rows {
        for fault in FAULTS {
            let cell = run_cell(row, fault, args)?;
            if !args.json {
                println!(
                    "{:<17} {:<14} {:<40} progress {:<7} {:>9} states {:>6.1} s",
                    row.protocol.name(),
                    fault.name,
                    cell_text_plain(&cell),
                    cell.progress,
                    cell.unique_states,
                    cell.seconds
                );
                let _ = std::io::stdout().flush();
            }
            cells.push(cell);
        }
    }
    let outcome = MatrixOutcome {
        cells,
        seconds: start.elapsed().as_secs_f64(),
    };
    if let Some(out) = &args.out {
        std::fs::write(out, page(&outcome))
            .with_context(|| format!("writing {}", out.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        println!(
            "{} cells in {:.1} s{}",
            outcome.cells.len(),
            outcome.seconds,
            args.out
                .as_ref()
                .map(|o| format!("; table written to {}", o.display()))
                .unwrap_or_default()
        );
    }
    // Violations are findings here, not failures: the matrix exists to show them. A cell that
    // ran out of time or whose reduction was not exact has no verdict.
    let incomplete = outcome
        .cells
        .iter()
        .any(|c| c.safety == "out of time" || c.safety == "inconclusive");
    Ok(ExitCode::from(if incomplete { 3 } else { 0 }))
}

/// Every cell gets this long; each takes seconds in the bounds above.
const BUDGET_SECS: &str = "300";

fn run_cell(row: &Row, fault: &Fault, args: &MatrixArgs) -> Result<Cell> {
    let model = row.protocol.name();
    let flags = match fault_flags(row, fault) {
        Ok(f) => f,
        Err(why) => {
            return Ok(Cell {
                model,
                fault: fault.name,
                command: None,
                not_applicable: Some(why),
                safety: "n/a".into(),
                violated: Vec::new(),
                progress: "n/a".into(),
                unique_states: 0,
                traces: Vec::new(),
                seconds: 0.0,
            });
        }
    };
    let mut check: Vec<String> = row.bounds.iter().map(|s| s.to_string()).collect();
    check.extend(flags.iter().map(|s| s.to_string()));
    // One thread, breadth-first: the same states, counterexamples and file names every run.
    check.extend(["--strategy", "bfs", "--threads", "1"].map(String::from));
    let command = format!("ballot check {model} {}", check.join(" "));
    let mut argv: Vec<String> = vec!["ballot".into(), "check".into(), model.into()];
    argv.extend(check);
    argv.extend(["--witness".into(), row.progress.into()]);
    argv.extend(["--timeout".into(), BUDGET_SECS.into()]);
    argv.extend(["--trace-out".into(), args.trace_out.display().to_string()]);
    let cli = Cli::try_parse_from(&argv)
        .map_err(|e| UsageError(format!("matrix cell {model} × {}: {e}", fault.name)))?;
    let Command::Check {
        protocol,
        model: m,
        run,
    } = cli.command
    else {
        unreachable!("a matrix cell is a check")
    };
    let started = Instant::now();
    let outcome = run_check(protocol, &m, &run, true)?;
    let always: Vec<_> = outcome
        .properties
        .iter()
        .filter(|p| p.kind != "sometimes")
        .collect();
    let violated: Vec<String> = always
        .iter()
        .filter(|p| p.verdict == "violated")
        .map(|p| match p.path_length {
            Some(n) => format!("{} ({n} steps)", p.name),
            None => p.name.clone(),
        })
        .collect();
    let Some(progress) = outcome.properties.iter().find(|p| p.name == row.progress) else {
        bail!("{model} has no property '{}'", row.progress);
    };
    let safety = if !violated.is_empty() {
        "violated"
    } else if outcome.reduction_broken.is_some() || outcome.symmetry_broken.is_some() {
        "inconclusive"
    } else if always.iter().all(|p| p.verdict == "holds") {
        "safe"
    } else {
        "out of time"
    };
    let traces = outcome
        .properties
        .iter()
        .filter(|p| p.kind != "sometimes")
        .filter_map(|p| p.trace.as_ref())
        .filter_map(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    Ok(Cell {
        model,
        fault: fault.name,
        command: Some(command),
        not_applicable: None,
        safety: safety.into(),
        violated,
        progress: match progress.verdict.as_str() {
            "witnessed" => "yes",
            "not witnessed" => "no",
            _ => "unknown",
        }
        .into(),
        unique_states: outcome.unique_states,
        traces,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn cell_text_plain(c: &Cell) -> String {
    match c.safety.as_str() {
        "violated" => format!("violated: {}", c.violated.join(", ")),
        other => other.to_string(),
    }
}

/// The Markdown page: the table, then every cell's command and counterexample files. Holds no
/// timing, so that the same binary writes the same page.
fn page(o: &MatrixOutcome) -> String {
    let mut s = String::new();
    s.push_str(
        "# Fault matrix of the models\n\n\
         Generated by `target/release/ballot matrix --out docs/fault-matrix-models.md`; do not \
         edit by hand: `impls/tests/matrix.rs` fails when this page is not what the command \
         writes. Each cell is one exhaustive, breadth-first `ballot check` of the model in the \
         row's bounds with the column's fault (the commands are listed below). A cell says \
         whether every *always* property held (**safe**) or which one broke, with the length of \
         the shortest counterexample; and whether the model's progress property (a decision, a \
         commit, an acknowledged write) is still witnessed. Violations in the lecture's models \
         are what those models are for (see each model's page); in Paxos, Multi-Paxos and Raft \
         none is expected except with a Byzantine server, which they are not built to \
         tolerate ([checking.md](checking.md#byzantine-faults---byzantine-1)).\n\n\
         The runtime's defences against real faults (corrupt files, hostile datagrams, \
         kill -9) are in [fault-matrix.md](fault-matrix.md).\n\n",
    );
    s.push_str("| model | bounds | progress property |");
    for f in FAULTS {
        s.push_str(&format!(" {} |", f.name));
    }
    s.push_str("\n|---|---|---|");
    for _ in FAULTS {
        s.push_str("---|");
    }
    s.push('\n');
    let models: Vec<&'static str> = {
        let mut m: Vec<&'static str> = o.cells.iter().map(|c| c.model).collect();
        m.dedup();
        m
    };
    for model in &models {
        let row = ROWS
            .iter()
            .find(|r| r.protocol.name() == *model)
            .expect("a row per model");
        let bounds = if row.bounds.is_empty() {
            "defaults".to_string()
        } else {
            format!("`{}`", row.bounds.join(" "))
        };
        s.push_str(&format!("| {model} | {bounds} | {} |", row.progress));
        for c in o.cells.iter().filter(|c| c.model == *model) {
            let verdict = match c.safety.as_str() {
                "safe" => "safe".to_string(),
                "violated" => format!("**{}**", c.violated.join(", ")),
                "n/a" => "n/a".to_string(),
                other => other.to_string(),
            };
            let progress = match c.progress.as_str() {
                "yes" => "; progress".to_string(),
                "no" => "; **no progress**".to_string(),
                "n/a" => String::new(),
                other => format!("; progress {other}"),
            };
            s.push_str(&format!(" {verdict}{progress} |"));
        }
        s.push('\n');
    }
    s.push_str("\n## Fault kinds\n\n");
    for f in FAULTS {
        s.push_str(&format!("- **{}**: {}\n", f.name, f.what));
    }
    s.push_str(
        "\n## Cells\n\nCounterexamples are saved in the directory `--trace-out` names \
         (`traces/matrix/` by default; run the command to produce them); the file name is a \
         hash of the model's flags.\n\n",
    );
    for c in &o.cells {
        match (&c.command, c.not_applicable) {
            (_, Some(why)) => {
                s.push_str(&format!(
                    "- {} × {}: not applicable — {why}\n",
                    c.model, c.fault
                ));
            }
            (Some(cmd), None) => {
                s.push_str(&format!(
                    "- {} × {}: `{cmd}` — {} unique states",
                    c.model, c.fault, c.unique_states
                ));
                if !c.traces.is_empty() {
                    s.push_str(&format!("; counterexamples: `{}`", c.traces.join("`, `")));
                }
                s.push('\n');
            }
            (None, None) => unreachable!("a cell is run or not applicable"),
        }
    }
    s
}
