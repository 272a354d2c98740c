//! `ballot suite`: a protocol's named model configurations, each checked exhaustively within
//! its bounds and each there to exercise one class of behaviour. A default check explores one
//! configuration; a suite is what gives a mistake in a handler a configuration that reaches it.
//!
//! Every configuration is a list of `ballot check` flags (the protocol's `SUITE` in
//! `models/src/<protocol>/suite.rs`), run in this process one after the other with a time
//! budget. One line is printed per configuration as it finishes, then a summary.

use crate::{Cli, Command, Protocol, UsageError, check, run_check};
use anyhow::{Result, bail};
use ballot_models::cluster::SuiteEntry;
use clap::{Args, Parser};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The flags of `ballot suite`.
#[derive(Args, Debug, Clone)]
pub struct SuiteArgs {
    /// List the configurations (name, flags, what each exercises, budget) and exit.
    #[arg(long)]
    list: bool,
    /// Run only the configuration NAME (repeatable).
    #[arg(long, value_name = "NAME")]
    only: Vec<String>,
    /// Stop at the first configuration in which a property fails (violated, or never witnessed).
    /// A configuration that runs out of its budget, or whose reduction is not exact, does not
    /// stop the run: a later configuration may still find the failure (a mutant often makes the
    /// state space of one configuration larger than its budget, and is caught by the next).
    #[arg(long)]
    fail_fast: bool,
    /// Print the results as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Run every configuration with a named bug (mutant) from `ballot bugs <protocol>`.
    #[arg(long, value_name = "NAME")]
    bug: Option<String>,
    /// Cap every configuration's time budget at SECS (a quick, partial run).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Directory for counterexamples (one subdirectory per configuration).
    #[arg(long, value_name = "DIR", default_value = "traces/counterexamples")]
    trace_out: PathBuf,
}

/// What became of one configuration.
#[derive(Debug, Clone, Serialize)]
struct ConfigResult {
    name: &'static str,
    args: Vec<String>,
    exercises: &'static str,
    /// "holds", "violated", "not witnessed", "out of time", "inconclusive".
    verdict: String,
    unique_states: usize,
    seconds: f64,
    budget_seconds: f64,
    /// The always-properties violated and the sometimes-properties not witnessed.
    failed: Vec<String>,
    /// Where the counterexamples were saved.
    traces: Vec<PathBuf>,
    /// The properties it broke that its `--expect` named (the configuration passes).
    expected_broken: Vec<String>,
    exit_code: u8,
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
struct SuiteOutcome {
    protocol: &'static str,
    variant: String,
    configurations: Vec<ConfigResult>,
    seconds: f64,
    exit_code: u8,
}

/// The protocol's suite.
pub fn entries(protocol: Protocol) -> &'static [SuiteEntry] {
    match protocol {
        Protocol::Paxos => ballot_models::paxos::SUITE,
        Protocol::MultiPaxos => ballot_models::multi_paxos::SUITE,
        Protocol::Raft => ballot_models::raft::SUITE,
        Protocol::PrimaryBackup => ballot_models::primary_backup::SUITE,
        Protocol::ActiveActive => ballot_models::active_active::SUITE,
        Protocol::TwoPhaseCommit => ballot_models::two_phase_commit::SUITE,
    }
}

/// Runs `ballot suite <protocol>`.
pub fn run(protocol: Protocol, args: &SuiteArgs) -> Result<ExitCode> {
    let all = entries(protocol);
    for name in &args.only {
        if !all.iter().any(|e| e.name == name) {
            let names: Vec<_> = all.iter().map(|e| e.name).collect();
            bail!(UsageError(format!(
                "--only: {} has no configuration named '{name}'; known: {}",
                protocol.name(),
                names.join(", ")
            )));
        }
    }
    let chosen: Vec<&SuiteEntry> = all
        .iter()
        .filter(|e| args.only.is_empty() || args.only.iter().any(|n| n == e.name))
        .collect();
    if args.list {
        return list(protocol, &chosen, args.json);
    }
    let variant = args.bug.clone().unwrap_or_else(|| "correct".into());
    if !args.json {
        println!(
            "Suite {} ({variant}): {} configuration{}, each exhaustive within its bounds",
            protocol.name(),
            chosen.len(),
            if chosen.len() == 1 { "" } else { "s" }
        );
        let _ = std::io::stdout().flush();
    }
    let start = Instant::now();
    let mut results = Vec::new();
    for entry in chosen {
        let result = run_one(protocol, entry, args)?;
        if !args.json {
            print_line(&result);
        }
        // Only a failed property stops a --fail-fast run (see the flag's doc).
        let stop = args.fail_fast && result.exit_code == 1;
        results.push(result);
        if stop {
            break;
        }
    }
    let exit_code = if results.iter().any(|r| r.exit_code == 1) {
        1
    } else if results.iter().any(|r| r.exit_code != 0) {
        3
    } else {
        0
    };
    let outcome = SuiteOutcome {
        protocol: protocol.name(),
        variant,
        configurations: results,
        seconds: start.elapsed().as_secs_f64(),
        exit_code,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_summary(&outcome);
    }
    Ok(ExitCode::from(exit_code))
}

fn list(protocol: Protocol, chosen: &[&SuiteEntry], json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(chosen)?);
        return Ok(ExitCode::SUCCESS);
    }
    for e in chosen {
        println!(
            "{}  (budget {} s)\n    ballot check {} {}\n    {}",
            e.name,
            e.budget_secs,
            protocol.name(),
            e.args.join(" "),
            e.exercises
        );
        if !e.unreachable.is_empty() {
            println!(
                "    not reachable within these bounds (not required): {}",
                e.unreachable.join(", ")
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks one configuration with its budget as the timeout, quietly.
fn run_one(protocol: Protocol, entry: &SuiteEntry, args: &SuiteArgs) -> Result<ConfigResult> {
    let mut argv: Vec<String> = vec!["ballot".into(), "check".into(), protocol.name().into()];
    argv.extend(entry.args.iter().map(|a| a.to_string()));
    let budget = match args.timeout {
        Some(cap) if cap.is_finite() && cap > 0.0 => cap.min(entry.budget_secs as f64),
        Some(cap) => bail!(UsageError(format!(
            "--timeout must be a positive number of seconds, got {cap}"
        ))),
        None => entry.budget_secs as f64,
    };
    argv.extend(["--timeout".into(), budget.to_string()]);
    if let Some(bug) = &args.bug {
        argv.extend(["--bug".into(), bug.clone()]);
    }
    let dir = args.trace_out.join(format!("suite-{}", entry.name));
    argv.extend(["--trace-out".into(), dir.display().to_string()]);
    let cli = Cli::try_parse_from(&argv)
        .map_err(|e| UsageError(format!("suite configuration {}: {e}", entry.name)))?;
    let Command::Check {
        protocol: p,
        model,
        run,
    } = cli.command
    else {
        unreachable!("a suite configuration is a check")
    };
    let started = Instant::now();
    let outcome: check::Outcome = run_check(p, &model, &run, true)?;
    let failed: Vec<String> = outcome
        .properties
        .iter()
        .filter(|p| p.verdict == "violated" || p.verdict == "not witnessed")
        .map(|p| match p.path_length {
            Some(n) => format!("{} ({} steps)", p.name, n),
            None => format!("{} ({})", p.name, p.verdict),
        })
        .collect();
    let violated = outcome.properties.iter().any(|p| p.verdict == "violated");
    // A complete check whose only failures are sometimes-properties the bounds cannot reach
    // passes.
    let only_unreachable = !violated
        && outcome
            .properties
            .iter()
            .filter(|p| p.verdict == "not witnessed")
            .all(|p| entry.unreachable.contains(&p.name.as_str()));
    let exit_code = match outcome.exit_code {
        1 if only_unreachable => 0,
        code => code,
    };
    let failed: Vec<String> = if exit_code == 0 { Vec::new() } else { failed };
    // A configuration with `--expect` passes when exactly the expected properties broke.
    let as_expected = outcome
        .properties
        .iter()
        .any(|p| p.expected && (p.verdict == "violated" || p.verdict == "not witnessed"));
    let verdict = match exit_code {
        0 if as_expected => "as expected",
        0 => "holds",
        1 if violated => "violated",
        1 => "not witnessed",
        _ if outcome.reduction_broken.is_some() || outcome.symmetry_broken.is_some() => {
            "inconclusive"
        }
        _ => "out of time",
    };
    Ok(ConfigResult {
        name: entry.name,
        args: entry.args.iter().map(|a| a.to_string()).collect(),
        exercises: entry.exercises,
        verdict: verdict.into(),
        unique_states: outcome.unique_states,
        seconds: started.elapsed().as_secs_f64(),
        budget_seconds: budget,
        failed,
        traces: outcome
            .properties
            .iter()
            .filter_map(|p| p.trace.clone())
            .collect(),
        expected_broken: outcome
            .properties
            .iter()
            .filter(|p| p.expected && (p.verdict == "violated" || p.verdict == "not witnessed"))
            .map(|p| p.name.clone())
            .collect(),
        exit_code,
    })
}

fn print_line(r: &ConfigResult) {
    let detail = match r.verdict.as_str() {
        "holds" => String::new(),
        "as expected" => format!("  broke as expected: {}", r.expected_broken.join(", ")),
        "out of time" => format!("  (budget {} s)", r.budget_seconds),
        "inconclusive" => {
            "  (a reduction is not exact for these handlers: run its `ballot check` for why)".into()
        }
        _ => format!("  {}", r.failed.join(", ")),
    };
    println!(
        "{:<26} {:<13} {:>11} states {:>7.1} s{detail}",
        r.name,
        r.verdict,
        check::group(r.unique_states),
        r.seconds
    );
    for t in &r.traces {
        println!("{:<26} counterexample saved to {}", "", t.display());
    }
    let _ = std::io::stdout().flush();
}

fn print_summary(o: &SuiteOutcome) {
    let count = |v: &str| o.configurations.iter().filter(|r| r.verdict == v).count();
    println!();
    println!(
        "{} configuration{}: {} hold{}, {} violated, {} not witnessed, {} out of time, {} \
         inconclusive; {:.1} s",
        o.configurations.len(),
        if o.configurations.len() == 1 { "" } else { "s" },
        count("holds"),
        match count("as expected") {
            0 => String::new(),
            n => format!(", {n} broke as expected"),
        },
        count("violated"),
        count("not witnessed"),
        count("out of time"),
        count("inconclusive"),
        o.seconds
    );
    println!(
        "Result: {}",
        match o.exit_code {
            0 if o.configurations.iter().any(|r| r.verdict == "as expected") => {
                "every configuration behaves as documented (expected failures only where named)"
            }
            0 => "every property holds in every configuration",
            1 => "a property is violated (or never witnessed) in a configuration",
            _ => {
                "inconclusive: a configuration did not finish within its budget, or a \
                 reduction was not exact for the handlers"
            }
        }
    );
}
