//! `ballot check`: runs Stateright's checker on a [`ClusterModel`], prints progress while it runs,
//! then each property's verdict and, for a violated property, the counterexample (also saved as
//! JSON).

use crate::walks::RandomWalks;
use anyhow::{Context, Result};
use ballot_models::cluster::{ClusterAction, ClusterModel, Revival};
use ballot_traces::Counterexample;
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
    pub trace_file: Option<PathBuf>,
    pub progress_every: Duration,
    /// The arguments that reproduce this run.
    pub command: Vec<String>,
    /// Print nothing (no header, progress or report): the caller reports (`ballot suite`).
    pub quiet: bool,
}

/// The verdict on one property.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyResult {
    pub name: String,
    /// "always" or "sometimes".
    pub kind: String,
    /// "holds", "violated", "witnessed", "not witnessed", or "unknown" (check incomplete).
    pub verdict: String,
    /// Steps of the counterexample or example found.
    pub path_length: Option<usize>,
    /// Where the counterexample was saved.
    pub trace: Option<PathBuf>,
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
    pub counterexamples: Vec<Counterexample>,
    /// Set if the model had to bring back a message it had discarded as obsolete: the handler
    /// acts on a message the protocol's rule says it ignores, so the reduction is not exact for
    /// it and a verdict of "holds" cannot be given.
    pub reduction_broken: Option<Revival>,
    /// A step the handlers do not take alike once the servers are renumbered: the symmetry
    /// reduction is not exact for these handlers (see `ClusterModel::check_symmetry`).
    pub symmetry_broken: Option<String>,
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
    A::State: Send + Sync,
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
    let no_shrink = |_: &'static str, _: usize| None;
    let model = make();
    if opts.strategy == Strategy::Simulation {
        let walks = RandomWalks::spawn(model, opts.seed, max_states.unwrap_or(usize::MAX));
        return drive(walks, opts, max_states, explain, &no_shrink);
    }
    // Stateright's BFS keeps the last violation of a batch, not the first: find the shortest by
    // bisecting on a depth bound.
    let shrink = |name: &'static str, len: usize| {
        let (mut lo, mut hi, mut best) = (0usize, len, None);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if chatty {
                eprintln!("(looking for a counterexample to {name} of at most {mid} steps)");
            }
            let c = make()
                .checker()
                .target_max_depth(mid + 2)
                .finish_when(HasDiscoveries::AnyOf([name].into()))
                .spawn_bfs()
                .join();
            match c.discovery(name) {
                Some(p) => {
                    hi = p.clone().into_actions().len();
                    best = Some(p);
                }
                None => lo = mid + 1,
            }
        }
        best
    };
    let mut builder = model
        .checker()
        .threads(opts.threads)
        .finish_when(HasDiscoveries::AnyFailures);
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
        drive(builder.spawn_bfs(), opts, max_states, explain, &shrink)
    } else {
        drive(builder.spawn_dfs(), opts, max_states, explain, &no_shrink)
    }
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

fn drive<A, C, H, K>(
    mut checker: K,
    opts: &CheckOptions,
    max_states: Option<usize>,
    explain: Explain<A, C, H>,
    shrink: &dyn Fn(&'static str, usize) -> Option<ModelPath<A, H>>,
) -> Result<Outcome>
where
    A: Actor,
    A::Msg: Ord,
    A::Timer: Ord,
    H: Clone + Debug + Hash + Eq,
    K: Checker<ClusterModel<A, C, H>>,
{
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
    for p in model.properties() {
        if p.expectation == Expectation::Always
            && let Some(path) = discoveries.get_mut(p.name)
            && let Some(shorter) = shrink(p.name, path.clone().into_actions().len())
        {
            *path = shorter;
        }
    }
    let failed = model
        .properties()
        .iter()
        .any(|p| p.expectation == Expectation::Always && discoveries.contains_key(p.name));
    let budget_hit = max_states.is_some_and(|n| states >= n);
    let exhaustive = !timed_out && !failed && !budget_hit && opts.strategy != Strategy::Simulation;

    let mut properties = Vec::new();
    let mut counterexamples = Vec::new();
    for p in model.properties() {
        let found = discoveries.get(p.name);
        let (kind, verdict) = match (&p.expectation, found) {
            (Expectation::Sometimes, Some(_)) => ("sometimes", "witnessed"),
            (Expectation::Sometimes, None) if exhaustive => ("sometimes", "not witnessed"),
            (Expectation::Sometimes, None) => ("sometimes", "unknown"),
            (_, Some(_)) => ("always", "violated"),
            (_, None) if exhaustive => ("always", "holds"),
            (_, None) if opts.strategy == Strategy::Simulation && !failed => {
                ("always", "not violated (simulation)")
            }
            (_, None) => ("always", "unknown"),
        };
        let mut trace = None;
        if let (Some(path), "violated") = (found, verdict) {
            let mut cx = Counterexample::from_path(model, path);
            cx.protocol = opts.protocol.clone();
            cx.property = p.name.to_string();
            cx.explanation = explain(model, path.last_state(), p.name);
            cx.command = opts.command.clone();
            let file = trace_path(opts, p.name);
            cx.save(&file)
                .with_context(|| format!("saving the counterexample to {}", file.display()))?;
            trace = Some(file);
            counterexamples.push(cx);
        }
        properties.push(PropertyResult {
            name: p.name.to_string(),
            kind: kind.to_string(),
            verdict: verdict.to_string(),
            path_length: found
                .filter(|_| verdict == "violated")
                .map(|path| path.clone().into_actions().len()),
            trace,
        });
    }
    let unwitnessed = properties.iter().any(|p| p.verdict == "not witnessed");
    let reduction_broken = model.revived.lock().ok().and_then(|r| r.clone());
    let symmetry_broken = model.symmetry_broken.lock().ok().and_then(|r| r.clone());
    let exit_code = if failed || unwitnessed {
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
        reduction_broken,
        symmetry_broken,
        exit_code,
    };
    if opts.quiet {
        // The caller reports.
    } else if opts.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_report(&outcome, budget_hit);
    }
    Ok(outcome)
}

fn trace_path(opts: &CheckOptions, property: &str) -> PathBuf {
    let name = format!(
        "{}-{}-{}.json",
        opts.protocol,
        opts.variant,
        property.to_lowercase().replace(' ', "-")
    );
    match &opts.trace_file {
        Some(f) => f.clone(),
        None => opts.trace_dir.join(name),
    }
}

fn print_report(o: &Outcome, budget_hit: bool) {
    let how = if o.exhaustive {
        "exhaustive".to_string()
    } else if o.timed_out {
        "STOPPED BY TIMEOUT before finishing".to_string()
    } else if o.counterexamples.is_empty() && budget_hit {
        "stopped at the state budget (--max-states); not exhaustive".to_string()
    } else if o.counterexamples.is_empty() {
        "simulation; not exhaustive".to_string()
    } else {
        "stopped at the first violation".to_string()
    };
    println!(
        "Done ({how}): {} unique states, {} states, max depth {}, {:.2} s, {} states/s",
        group(o.unique_states),
        group(o.states),
        o.max_depth,
        o.seconds,
        group(o.states_per_second as usize)
    );
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
        let path = p
            .path_length
            .map(|n| format!("{n} steps"))
            .unwrap_or_default();
        println!("{:<width$} {:<10} {:<14} {path}", p.name, p.kind, p.verdict);
    }
    for (cx, p) in o
        .counterexamples
        .iter()
        .zip(o.properties.iter().filter(|p| p.trace.is_some()))
    {
        println!();
        print!("{cx}");
        if let Some(t) = &p.trace {
            println!("Saved to {}", t.display());
        }
        println!(
            "To step through it: ballot explore {} <the same model flags>, then open \
             http://127.0.0.1:3000/#/steps/{}",
            o.protocol, cx.action_path
        );
    }
    if let Some(r) = &o.reduction_broken {
        println!();
        println!(
            "The handler acted on a message the model had discarded as obsolete: {}, in the \
             receiver's state {}. The model put it back and went on exactly, but states merged \
             before that may hide behaviour, so no \"holds\" verdict is given. The protocol's rule \
             says such a message is ignored (Raft §5.1: a stale term is rejected); if the \
             handler is meant to act on it, check with --discard-obsolete false.",
            r.message, r.receiver_state
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
    println!(
        "Result: {}",
        match o.exit_code {
            0 => "every property holds",
            1 => "a property is violated or was never witnessed",
            _ if o.reduction_broken.is_some() => {
                "inconclusive: the handler contradicts the obsolete-message reduction"
            }
            _ if o.symmetry_broken.is_some() => {
                "inconclusive: the handlers contradict the symmetry reduction"
            }
            _ => "inconclusive: the check did not finish",
        }
    );
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
