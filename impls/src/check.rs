//! `ballot check`: runs Stateright's checker on a [`ClusterModel`], prints progress while it runs,
//! then each property's verdict and, for a violated property, the counterexample (also saved as
//! JSON, and drawn with `--render`). With `--witness`, also a shortest path to each "sometimes"
//! property named, printed and saved the same way.

use crate::walks::RandomWalks;
use anyhow::{Context, Result};
use ballot_models::cluster::{ClusterAction, ClusterModel, Revival};
use ballot_traces::render::{self, Format};
use ballot_traces::{Kind, Trace};
use clap::ValueEnum;
use serde::Serialize;
use stateright::actor::{Actor, ActorModelState};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How the state space is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Breadth-first: exhaustive, shortest counterexamples (with one thread).
    Bfs,
    /// Depth-first: exhaustive, much less memory.
    Dfs,
    /// Random walks: not exhaustive; for configurations too large to check.
    Simulation,
}

/// Everything `check` needs besides the model.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Protocol name, e.g. "paxos".
    pub protocol: String,
    /// "correct" or the bug's name.
    pub variant: String,
    /// One line describing the model configuration.
    pub summary: String,
    pub strategy: Strategy,
    pub threads: usize,
    /// Symmetry reduction over servers (DFS only).
    pub symmetry: bool,
    pub timeout: Option<Duration>,
    pub max_states: Option<usize>,
    pub seed: u64,
    pub json: bool,
    pub trace_dir: PathBuf,
    /// Whether `--trace-out` named the directory (witnesses then go there too).
    pub trace_dir_given: bool,
    pub trace_file: Option<PathBuf>,
    pub progress_every: Duration,
    /// The arguments that reproduce this run.
    pub command: Vec<String>,
    /// Print nothing (no header, progress or report): the caller reports (`ballot suite`).
    pub quiet: bool,
    /// "Sometimes" properties to find a shortest witness of (`--witness`; "all" for every one).
    pub witness: Vec<String>,
    /// Where to save witnesses when `trace_out` is not given.
    pub witness_dir: PathBuf,
    /// Every model flag with its value (defaults spelled out), saved with each trace.
    pub model_flags: Vec<String>,
    /// A short hash of `model_flags`, part of each trace's file name.
    pub flags_hash: String,
    /// Diagrams to write next to each saved trace (`--render`).
    pub render: Vec<Format>,
    /// What to say when a "sometimes" property is never witnessed (a bound that makes it
    /// unreachable, e.g. `--max-round 0`).
    pub hints: Vec<String>,
    /// Properties the model is expected to break (`--expect`): an "always" property violated,
    /// a "sometimes" property never witnessed. With any, the check explores the whole state
    /// space past their counterexamples (it stops early only at an unexpected violation) and
    /// exits 0 exactly when these break and every other property holds (or is witnessed).
    pub expect: Vec<String>,
}

/// The verdict on one property.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyResult {
    pub name: String,
    /// "always", "eventually" or "sometimes".
    pub kind: String,
    /// "holds", "violated", "witnessed", "not witnessed", or "unknown" (check incomplete).
    pub verdict: String,
    /// Steps of the counterexample, or of the shortest witness (with `--witness`).
    pub path_length: Option<usize>,
    /// Where the counterexample (or, with `--witness`, the witness) was saved.
    pub trace: Option<PathBuf>,
    /// Diagrams written next to it (`--render`).
    pub rendered: Vec<PathBuf>,
    /// Named by `--expect`: the model is expected to break it.
    pub expected: bool,
}

/// The result of a check.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub protocol: String,
    pub variant: String,
    pub model: String,
    pub strategy: Strategy,
    pub threads: usize,
    /// Servers were treated as interchangeable (DFS with symmetry reduction).
    pub symmetry: bool,
    /// The whole state space was explored.
    pub exhaustive: bool,
    pub timed_out: bool,
    pub states: usize,
    pub unique_states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub states_per_second: f64,
    pub properties: Vec<PropertyResult>,
    pub counterexamples: Vec<Trace>,
    /// Shortest paths to the "sometimes" properties asked for with `--witness`.
    pub witnesses: Vec<Trace>,
    /// Set if the model had to bring back a message it had discarded as obsolete: the handler
    /// acts on a message the protocol's rule says it ignores, so the reduction is not exact for
    /// it and a verdict of "holds" cannot be given.
    pub reduction_broken: Option<Revival>,
    /// A step the handlers do not take alike once the servers are renumbered: the symmetry
    /// reduction is not exact for these handlers (see `ClusterModel::check_symmetry`).
    pub symmetry_broken: Option<String>,
    /// The properties named by `--expect`.
    pub expected: Vec<String>,
    /// 0 all good, 1 violated or not witnessed, 3 stopped before finishing (or a reduction
    /// that the handler contradicts).
    pub exit_code: u8,
}

type ModelPath<A, H> = stateright::Path<ActorModelState<A, H>, ClusterAction<A>>;

type Explain<A, C, H> = fn(&ClusterModel<A, C, H>, &ActorModelState<A, H>, &str) -> Option<String>;

/// A representative function for symmetry reduction, such as
/// [`ballot_models::cluster::server_symmetry`].
pub type Symmetry<A, H> = fn(&ActorModelState<A, H>) -> ActorModelState<A, H>;

/// Checks `model` and reports as `opts` says. `symmetry` is used when `opts.symmetry` is set
/// (the caller rejects `--symmetry` for protocols without one, and for strategies other than
/// DFS).
pub fn run<A, C, H>(
    make: impl Fn() -> ClusterModel<A, C, H>,
    opts: &CheckOptions,
    explain: Explain<A, C, H>,
    symmetry: Option<Symmetry<A, H>>,
) -> Result<Outcome>
where
    A: Actor + Send + Sync + 'static,
    A::Msg: Ord + Send + Sync,
    A::Timer: Ord + Send + Sync,
    A::State: Send + Sync + Serialize,
    A::Storage: Send + Sync,
    A::Random: Send + Sync,
    C: Send + Sync + 'static,
    H: Clone + Debug + Hash + Eq + Send + Sync + 'static,
{
    let max_states = match (opts.max_states, opts.strategy) {
        (Some(n), _) => Some(n),
        (None, Strategy::Simulation) => Some(1_000_000),
        (None, _) => None,
    };
    let chatty = !opts.json && !opts.quiet;
    let model = make();
    let witnesses = witness_names(&model, &opts.witness)?;
    let expected = expected_names(&model, &opts.expect)?;
    if chatty {
        println!(
            "Checking {} ({}) — {}",
            opts.protocol, opts.variant, opts.summary
        );
        println!(
            "Strategy {}{}, {} thread{}{}",
            format!("{:?}", opts.strategy).to_lowercase(),
            if opts.symmetry {
                " with symmetry reduction over servers"
            } else {
                ""
            },
            opts.threads,
            if opts.threads == 1 { "" } else { "s" },
            opts.timeout
                .map(|t| format!(", timeout {}s", t.as_secs_f64()))
                .unwrap_or_default()
        );
        let _ = std::io::stdout().flush();
    }
    // The shortest path to a state where `name` is discovered (violated or witnessed), by
    // breadth-first search with one thread. Stateright's BFS keeps the last discovery of a batch
    // of states, not the first, so a path it reports may be a step or two longer than the
    // shortest: re-check with a depth bound one below it until none is found.
    let shortest = |name: &'static str, found: Option<ModelPath<A, H>>, kind: Kind| {
        let what = match kind {
            Kind::Counterexample => "counterexample",
            Kind::Witness => "witness",
        };
        let started = Instant::now();
        let mut best = match found {
            Some(p) => p,
            None => {
                if chatty {
                    eprintln!(
                        "{name}: looking for a shortest {what} by breadth-first search (one thread)"
                    );
                }
                make()
                    .checker()
                    .finish_when(HasDiscoveries::AnyOf([name].into()))
                    .spawn_bfs()
                    .join()
                    .discovery(name)?
            }
        };
        let first = best.clone().into_actions().len();
        if chatty && first > 0 {
            eprintln!(
                "{name}: found {} {first}-step {what}; Stateright's BFS reports the last of a batch \
                 of states, not the first, so re-checking with at most {} steps for a shorter one",
                if [8, 11, 18].contains(&first) || (80..90).contains(&first) {
                    "an"
                } else {
                    "a"
                },
                first - 1
            );
        }
        let mut rechecks = 0;
        loop {
            let len = best.clone().into_actions().len();
            if len == 0 {
                break;
            }
            rechecks += 1;
            let c = make()
                .checker()
                .target_max_depth(len - 1 + 2)
                .finish_when(HasDiscoveries::AnyOf([name].into()))
                .spawn_bfs()
                .join();
            match c.discovery(name) {
                Some(p) if p.clone().into_actions().len() < len => best = p,
                _ => break,
            }
        }
        if chatty && first > 0 {
            let len = best.clone().into_actions().len();
            eprintln!(
                "{name}: the shortest {what} has {len} step{} ({rechecks} bounded re-check{}, \
                 {:.1} s)",
                if len == 1 { "" } else { "s" },
                if rechecks == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64()
            );
        }
        Some(best)
    };
    // Stop at the first violation, unless some are expected: then only at an unexpected one,
    // so that every other property gets an exhaustive verdict.
    let finish = if expected.is_empty() {
        HasDiscoveries::AnyFailures
    } else {
        HasDiscoveries::AnyOf(
            model
                .properties()
                .iter()
                .filter(|p| p.expectation != Expectation::Sometimes && !expected.contains(&p.name))
                .map(|p| p.name)
                .collect(),
        )
    };
    let ctx = RunContext {
        opts,
        max_states,
        explain,
        witnesses,
        expected,
        chatty,
    };
    if opts.strategy == Strategy::Simulation {
        let walks = RandomWalks::spawn(model, opts.seed, max_states.unwrap_or(usize::MAX));
        return drive(walks, &ctx, &shortest);
    }
    let mut builder = model.checker().threads(opts.threads).finish_when(finish);
    if let Some(n) = max_states {
        builder = builder.target_state_count(n);
    }
    if let Some(t) = opts.timeout {
        builder = builder.timeout(t);
    }
    if opts.symmetry {
        assert_eq!(opts.strategy, Strategy::Dfs, "symmetry is a DFS option");
        let representative = symmetry.expect("the caller checked the protocol has a symmetry");
        builder = builder.symmetry_fn(representative);
    }
    if opts.strategy == Strategy::Bfs {
        drive(builder.spawn_bfs(), &ctx, &shortest)
    } else {
        drive(builder.spawn_dfs(), &ctx, &shortest)
    }
}

/// The properties named by `--expect`, or a usage error that lists the model's properties.
/// Why the protocol's receiver ignores the messages the model discards as obsolete, in the
/// papers' words.
fn obsolete_rule(protocol: &str) -> &'static str {
    match protocol {
        "raft" => "Raft §5.1: a stale term is rejected",
        "paxos" => {
            "Paxos Made Simple §2.2, P1a: an acceptor ignores a prepare or accept below its \
             promise; a proposer ignores answers for a round it no longer runs"
        }
        "multi-paxos" => {
            "Paxos Made Simple §2.2 and §3, P1a: an acceptor ignores a ballot below its promise; \
             a leader ignores answers for a ballot it is not preparing or leading, and repeated \
             ones"
        }
        _ => "its handler ignores it in every state it can reach",
    }
}

fn expected_names<M: Model>(model: &M, asked: &[String]) -> Result<Vec<&'static str>> {
    let all: Vec<&'static str> = model.properties().iter().map(|p| p.name).collect();
    let mut out = Vec::new();
    for a in asked {
        match all.iter().find(|n| n.eq_ignore_ascii_case(a.trim())) {
            Some(n) if !out.contains(n) => out.push(*n),
            Some(_) => {}
            None => {
                return Err(crate::UsageError(format!(
                    "--expect: '{a}' is not a property of this model; it has: {}",
                    all.iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into());
            }
        }
    }
    Ok(out)
}

/// The "sometimes" properties named by `--witness` ("all": every one), or a usage error that
/// lists them.
fn witness_names<M: Model>(model: &M, asked: &[String]) -> Result<Vec<&'static str>> {
    let sometimes: Vec<&'static str> = model
        .properties()
        .iter()
        .filter(|p| p.expectation == Expectation::Sometimes)
        .map(|p| p.name)
        .collect();
    let mut out = Vec::new();
    for a in asked {
        if a == "all" {
            out.extend(sometimes.iter().copied());
            continue;
        }
        match sometimes.iter().find(|n| n.eq_ignore_ascii_case(a)) {
            Some(n) => out.push(*n),
            None => {
                return Err(crate::UsageError(format!(
                    "--witness: '{a}' is not a \"sometimes\" property of this model; it has: {} \
                     (or all)",
                    sometimes
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into());
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|n| seen.insert(*n));
    Ok(out)
}

struct RunContext<'a, A, C, H>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + PartialEq,
{
    opts: &'a CheckOptions,
    max_states: Option<usize>,
    explain: Explain<A, C, H>,
    witnesses: Vec<&'static str>,
    /// The properties named by `--expect`.
    expected: Vec<&'static str>,
    chatty: bool,
}

/// A checker thread panicked: a handler's `assert!` met a state the protocol declares impossible
/// (usually a mutant). The run ends without a verdict; `ballot` exits with code 4.
#[derive(Debug)]
pub struct ModelPanic(pub String);

impl std::fmt::Display for ModelPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the model panicked in a checker thread ({}): a handler met a state it asserts \
             impossible; the check gives no verdict (its panic message and backtrace are above)",
            self.0
        )
    }
}

impl std::error::Error for ModelPanic {}

type Shortest<'a, A, H> =
    dyn Fn(&'static str, Option<ModelPath<A, H>>, Kind) -> Option<ModelPath<A, H>> + 'a;

fn drive<A, C, H, K>(
    mut checker: K,
    ctx: &RunContext<A, C, H>,
    shortest: &Shortest<A, H>,
) -> Result<Outcome>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    A::State: Serialize,
    H: Clone + Debug + Hash + Eq,
    K: Checker<ClusterModel<A, C, H>>,
{
    let opts = ctx.opts;
    let start = Instant::now();
    let (mut last_print, mut last_states) = (start, 0usize);
    let mut timed_out = false;
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(50));
        let now = Instant::now();
        if opts.timeout.is_some_and(|t| now - start >= t) {
            timed_out = true;
            break;
        }
        if !opts.quiet && now - last_print >= opts.progress_every {
            let states = checker.state_count();
            let rate = (states - last_states.min(states)) as f64 / (now - last_print).as_secs_f64();
            eprintln!(
                "[{:>7.1}s] states={} unique={} depth={} {} states/s",
                (now - start).as_secs_f64(),
                group(states),
                group(checker.unique_state_count()),
                checker.max_depth(),
                group(rate as usize)
            );
            (last_print, last_states) = (now, states);
        }
    }
    // Stateright's checker threads do not reliably stop at its timeout (a single BFS thread
    // only looks at it between job batches), so after a timeout they are left running and end
    // with the process, right after the report.
    if !timed_out {
        let mut panics = Vec::new();
        for h in checker.handles() {
            if let Err(panic) = h.join() {
                panics.push(ballot::panic_message(panic.as_ref()).to_string());
            }
        }
        if !panics.is_empty() {
            return Err(ModelPanic(panics.join("; ")).into());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let (states, unique_states, max_depth) = (
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
    );
    timed_out |= opts.timeout.is_some_and(|t| start.elapsed() >= t) && !checker.is_done();
    let mut discoveries = checker.discoveries();
    let model = checker.model();
    // An unexpected violation (any violation without --expect) ends the search early.
    let failed = model.properties().iter().any(|p| {
        p.expectation != Expectation::Sometimes
            && discoveries.contains_key(p.name)
            && !ctx.expected.contains(&p.name)
    });
    let budget_hit = ctx.max_states.is_some_and(|n| states >= n);
    let exhaustive = !timed_out && !failed && !budget_hit && opts.strategy != Strategy::Simulation;
    let how = if exhaustive {
        "exhaustive".to_string()
    } else if timed_out {
        "STOPPED BY TIMEOUT before finishing".to_string()
    } else if !failed && budget_hit {
        "stopped at the state budget (--max-states); not exhaustive".to_string()
    } else if !failed {
        "simulation; not exhaustive".to_string()
    } else {
        "stopped at the first violation".to_string()
    };
    let done_line = format!(
        "Done ({how}): {} unique states, {} states, max depth {}, {:.2} s, {} states/s",
        group(unique_states),
        group(states),
        max_depth,
        seconds,
        group((states as f64 / seconds.max(1e-9)) as usize)
    );
    if ctx.chatty {
        // Printed before any search for a shorter path, which then says what it does.
        println!("{done_line}");
        let _ = std::io::stdout().flush();
    }
    if opts.strategy == Strategy::Bfs && opts.threads == 1 {
        for p in model.properties() {
            if p.expectation == Expectation::Always
                && let Some(path) = discoveries.get_mut(p.name)
                && let Some(shorter) = shortest(p.name, Some(path.clone()), Kind::Counterexample)
            {
                *path = shorter;
            }
        }
    }
    let mut witness_paths = std::collections::BTreeMap::new();
    for &name in &ctx.witnesses {
        // From a single-threaded BFS the discovery is nearly the shortest; otherwise (DFS,
        // several threads, simulation) search afresh, breadth-first.
        let found = discoveries
            .get(name)
            .filter(|_| opts.strategy == Strategy::Bfs && opts.threads == 1)
            .cloned();
        if let Some(p) = shortest(name, found, Kind::Witness) {
            discoveries.entry(name).or_insert_with(|| p.clone());
            witness_paths.insert(name, p);
        }
    }

    let mut properties = Vec::new();
    let mut counterexamples = Vec::new();
    let mut witnesses = Vec::new();
    let mut saved_names = std::collections::BTreeSet::new();
    for p in model.properties() {
        let found = discoveries.get(p.name);
        let (kind, verdict) = match (&p.expectation, found) {
            (Expectation::Sometimes, Some(_)) => ("sometimes", "witnessed"),
            (Expectation::Sometimes, None) if exhaustive => ("sometimes", "not witnessed"),
            (Expectation::Sometimes, None) => ("sometimes", "unknown"),
            (Expectation::Eventually, Some(_)) => ("eventually", "violated"),
            (Expectation::Eventually, None) if exhaustive => ("eventually", "holds"),
            (Expectation::Eventually, None) => ("eventually", "unknown"),
            (Expectation::Always, Some(_)) => ("always", "violated"),
            (Expectation::Always, None) if exhaustive => ("always", "holds"),
            (Expectation::Always, None) if opts.strategy == Strategy::Simulation && !failed => {
                ("always", "not violated (simulation)")
            }
            (Expectation::Always, None) => ("always", "unknown"),
        };
        let shown = match verdict {
            "violated" => found.map(|path| (path, Kind::Counterexample)),
            "witnessed" => witness_paths.get(p.name).map(|path| (path, Kind::Witness)),
            _ => None,
        };
        let mut trace = None;
        let mut rendered = Vec::new();
        let mut path_length = None;
        if let Some((path, kind)) = shown {
            let mut t = Trace::from_path(model, path);
            t.kind = kind;
            t.protocol = opts.protocol.clone();
            t.property = p.name.to_string();
            t.explanation = (ctx.explain)(model, path.last_state(), p.name)
                .map(|e| ballot_traces::names::humanize(&e, model.servers));
            t.command = opts.command.clone();
            t.model_flags = opts.model_flags.clone();
            t.model = opts.summary.clone();
            t.flags_hash = opts.flags_hash.clone();
            let file = trace_path(opts, p.name, kind, &mut saved_names);
            t.save(&file)
                .with_context(|| format!("saving the trace to {}", file.display()))?;
            for f in &opts.render {
                let out = file.with_extension(f.extension());
                std::fs::write(&out, render::render(&t, *f))
                    .with_context(|| format!("writing {}", out.display()))?;
                rendered.push(out);
            }
            path_length = Some(t.steps.len());
            trace = Some(file);
            match kind {
                Kind::Counterexample => counterexamples.push(t),
                Kind::Witness => witnesses.push(t),
            }
        }
        properties.push(PropertyResult {
            name: p.name.to_string(),
            kind: kind.to_string(),
            verdict: verdict.to_string(),
            path_length,
            trace,
            rendered,
            expected: ctx.expected.contains(&p.name),
        });
    }
    let unwitnessed = properties
        .iter()
        .any(|p| p.verdict == "not witnessed" && !p.expected);
    // With --expect: every expected property broke (violated, or never witnessed in a
    // complete check), every other one held; otherwise the usual verdict.
    let broke = |p: &PropertyResult| p.verdict == "violated" || p.verdict == "not witnessed";
    let expectation_unmet = !ctx.expected.is_empty()
        && exhaustive
        && properties.iter().any(|p| p.expected && !broke(p));
    let reduction_broken = model.revived.lock().ok().and_then(|r| r.clone());
    let symmetry_broken = model.symmetry_broken.lock().ok().and_then(|r| r.clone());
    let exit_code = if failed || unwitnessed || expectation_unmet {
        1
    } else if reduction_broken.is_some() || symmetry_broken.is_some() {
        3
    } else if opts.strategy == Strategy::Simulation || exhaustive {
        0
    } else {
        3
    };
    let outcome = Outcome {
        protocol: opts.protocol.clone(),
        variant: opts.variant.clone(),
        model: opts.summary.clone(),
        strategy: opts.strategy,
        threads: opts.threads,
        symmetry: opts.symmetry,
        exhaustive,
        timed_out,
        states,
        unique_states,
        max_depth,
        seconds,
        states_per_second: states as f64 / seconds.max(1e-9),
        properties,
        counterexamples,
        witnesses,
        reduction_broken,
        symmetry_broken,
        expected: ctx.expected.iter().map(|n| n.to_string()).collect(),
        exit_code,
    };
    if opts.quiet {
        // The caller reports.
    } else if opts.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_report(&outcome, opts);
    }
    Ok(outcome)
}

/// Where a trace is saved: `--trace-out FILE.json` (with the property added to its name if
/// this run saves more than one trace), or a directory with a file name made of the protocol,
/// the variant, the property and a hash of the model flags (so that runs with other flags do
/// not overwrite it).
fn trace_path(
    opts: &CheckOptions,
    property: &str,
    kind: Kind,
    saved: &mut std::collections::BTreeSet<PathBuf>,
) -> PathBuf {
    // "Happy path: a client's request" → "happy-path-a-client-s-request".
    let slug = property
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let prefix = match kind {
        Kind::Counterexample => "",
        Kind::Witness => "witness-",
    };
    let file = match &opts.trace_file {
        Some(f) if saved.is_empty() => f.clone(),
        Some(f) => {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("trace");
            f.with_file_name(format!("{stem}-{prefix}{slug}.json"))
        }
        None => {
            let dir = match (kind, opts.trace_dir_given) {
                (Kind::Witness, false) => &opts.witness_dir,
                _ => &opts.trace_dir,
            };
            dir.join(format!(
                "{}-{}-{prefix}{slug}-{}.json",
                opts.protocol, opts.variant, opts.flags_hash
            ))
        }
    };
    saved.insert(file.clone());
    file
}

fn print_report(o: &Outcome, opts: &CheckOptions) {
    println!();
    let width = o
        .properties
        .iter()
        .map(|p| p.name.len())
        .chain(["Property".len()])
        .max()
        .unwrap_or(0);
    println!(
        "{:<width$} {:<10} {:<14} Path",
        "Property", "Kind", "Verdict"
    );
    for p in &o.properties {
        let path = match (p.path_length, p.verdict.as_str()) {
            (Some(n), _) => format!("{n} steps"),
            (None, "witnessed") => "(--witness prints one)".to_string(),
            _ => String::new(),
        };
        let path = if p.expected {
            format!("{path:<10} (expected to break)")
        } else {
            path
        };
        println!(
            "{:<width$} {:<10} {:<14} {}",
            p.name,
            p.kind,
            p.verdict,
            path.trim_end()
        );
    }
    let shown = o.counterexamples.iter().chain(&o.witnesses);
    let files = o.properties.iter().filter(|p| p.trace.is_some());
    let mut order: Vec<(&Trace, &PropertyResult)> = Vec::new();
    for p in files {
        if let Some(t) = shown.clone().find(|t| t.property == p.name) {
            order.push((t, p));
        }
    }
    for (t, p) in order {
        println!();
        print!("{t}");
        if let Some(file) = &p.trace {
            println!("Saved to {}", file.display());
            for r in &p.rendered {
                println!("Drawn in {}", r.display());
            }
            println!(
                "To step through it in the Explorer: ballot explore --trace {}",
                ballot_traces::shell_word(&file.display().to_string())
            );
            println!(
                "  (the same as: {}, then open {})",
                t.explore_command(),
                t.explorer_url("127.0.0.1:3000")
            );
            if p.rendered.is_empty() {
                println!(
                    "To draw it: ballot trace render {} --format svg (or text, mermaid, html)",
                    ballot_traces::shell_word(&file.display().to_string())
                );
            }
        }
        if t.kind == Kind::Counterexample && o.strategy != Strategy::Bfs {
            println!(
                "(found by {}: it may be longer than the shortest; --strategy bfs finds the shortest)",
                format!("{:?}", o.strategy).to_lowercase()
            );
        }
    }
    let unwitnessed: Vec<&str> = o
        .properties
        .iter()
        .filter(|p| p.verdict == "not witnessed")
        .map(|p| p.name.as_str())
        .collect();
    if unwitnessed
        .iter()
        .any(|n| !o.expected.iter().any(|e| e == n))
    {
        println!();
        println!(
            "Never witnessed: {} — no reachable state of this configuration satisfies {}.",
            unwitnessed.join(", "),
            if unwitnessed.len() == 1 { "it" } else { "them" }
        );
        for h in &opts.hints {
            println!("Hint: {h}");
        }
    }
    if let Some(r) = &o.reduction_broken {
        println!();
        println!(
            "The handler acted on a message the model had discarded as obsolete: {}, in the \
             receiver's state {}. The model put it back and went on exactly, but states merged \
             before that may hide behaviour, so no \"holds\" verdict is given. The protocol's rule \
             says such a message is ignored ({}); if the handler is meant to act on it, check \
             with --discard-obsolete false.",
            r.message,
            r.receiver_state,
            obsolete_rule(&opts.protocol)
        );
    }
    if let Some(r) = &o.symmetry_broken {
        println!();
        println!(
            "The handlers do not treat the servers alike, which the symmetry reduction assumes: \
             {r}. States merged as renumberings of each other may hide behaviour, so no \
             \"holds\" verdict is given; check with --symmetry false."
        );
    }
    println!();
    let violated: Vec<&str> = o
        .properties
        .iter()
        .filter(|p| p.verdict == "violated")
        .map(|p| p.name.as_str())
        .collect();
    let broke = |p: &&PropertyResult| p.verdict == "violated" || p.verdict == "not witnessed";
    let held_unexpectedly: Vec<&str> = o
        .properties
        .iter()
        .filter(|p| p.expected && (p.verdict == "holds" || p.verdict == "witnessed"))
        .map(|p| p.name.as_str())
        .collect();
    let result = match o.exit_code {
        0 if !o.expected.is_empty() => format!(
            "as expected: {} broke, every other property holds{}",
            o.expected.join(", "),
            if o.properties
                .iter()
                .any(|p| p.kind == "sometimes" && !p.expected)
            {
                " (or is witnessed)"
            } else {
                ""
            }
        ),
        0 => "every property holds".to_string(),
        1 => {
            let mut parts = Vec::new();
            if !violated.is_empty() {
                parts.push(format!("violated: {}", violated.join(", ")));
            }
            if !unwitnessed.is_empty() {
                parts.push(format!("never witnessed: {}", unwitnessed.join(", ")));
            }
            if !held_unexpectedly.is_empty() {
                parts.push(format!(
                    "expected to break but held: {}",
                    held_unexpectedly.join(", ")
                ));
            }
            let unexpected: Vec<&str> = o
                .properties
                .iter()
                .filter(|p| broke(p) && !p.expected)
                .map(|p| p.name.as_str())
                .collect();
            if !o.expected.is_empty() && !unexpected.is_empty() {
                parts.push(format!("not expected: {}", unexpected.join(", ")));
            }
            parts.join("; ")
        }
        _ if o.reduction_broken.is_some() => {
            "inconclusive: the handler contradicts the obsolete-message reduction".to_string()
        }
        _ if o.symmetry_broken.is_some() => {
            "inconclusive: the handlers contradict the symmetry reduction".to_string()
        }
        _ => "inconclusive: the check did not finish".to_string(),
    };
    println!("Result: {result}");
}

/// 1234567 → "1,234,567".
pub fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn group_inserts_thousands_separators() {
        assert_eq!(super::group(0), "0");
        assert_eq!(super::group(999), "999");
        assert_eq!(super::group(1000), "1,000");
        assert_eq!(super::group(1234567), "1,234,567");
    }
}
