//! `ballot`: model-check, explore and list the bugs of Ballot's consensus protocols.
//!
//! Exit codes: 0 every "always" (and "eventually") property holds and every "sometimes" property was witnessed;
//! 1 a property is violated (or a "sometimes" property was never witnessed in a complete check);
//! 2 usage or configuration error; 3 stopped by `--timeout` before the check finished; 4 the
//! model panicked (no verdict).

mod byzantine;
mod check;
mod explore;
mod lecture;
mod matrix;
mod suite;
mod walks;

use anyhow::{Context, Result, bail};
use ballot::runtime;
use ballot_models::cluster::{
    BugInfo, ClusterConfig, ClusterModel, NetworkKind, ServerRole, server_symmetry,
};
use ballot_models::multi_paxos::{self, MpBug, MultiPaxosConfig};
use ballot_models::paxos::{self, PaxosBug, PaxosConfig};
use ballot_models::primary_backup::{self, Replication};
use ballot_models::raft::{self, RaftBug, RaftConfig};
use ballot_models::{active_active, two_phase_commit};
use ballot_traces::render::Format;
use check::{CheckOptions, Strategy};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The checker allocates and frees a copy of the state at every step; mimalloc does this much
/// faster than the system allocator (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Executable, model-checked specifications of consensus protocols.
#[derive(Parser, Debug)]
#[command(
    name = "ballot",
    version,
    about = "Executable, model-checked specifications of consensus protocols",
    after_help = "Exit codes: 0 every property holds (and every \"sometimes\" property was witnessed); \
                  1 a property is violated or never witnessed; 2 usage or configuration error; \
                  3 stopped by --timeout or --max-states before the check finished; \
                  4 the model panicked (a handler's assert! met a state it declares impossible): \
                  no verdict. \
                  node, cluster, client, bench: 0 success; 1 damaged storage or no answer; \
                  2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Model-check a protocol: every property, exhaustively by default (BFS).
    Check {
        /// The protocol to check.
        protocol: Protocol,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run every model against every fault kind (none, loss, duplication, reordering,
    /// crash-stop, crash-recover), each cell an exhaustive check in small bounds, and print (or
    /// write with `--out`) the table: safety verdict, progress, counterexample files.
    Matrix {
        #[command(flatten)]
        args: matrix::MatrixArgs,
    },
    /// Check a protocol's suite: named model configurations, each exhaustive within its bounds
    /// and each there to exercise one class of behaviour (`--list` describes them).
    Suite {
        /// The protocol whose suite to run.
        protocol: Protocol,
        #[command(flatten)]
        args: suite::SuiteArgs,
    },
    /// List a protocol's bug catalog: each bug, the property it breaks, the flags that expose it.
    Bugs {
        /// The protocol whose bugs to list.
        protocol: Protocol,
        /// Print a JSON array of {"name", "breaks", "args", "summary"}.
        #[arg(long)]
        json: bool,
    },
    /// Serve Stateright's web Explorer for a protocol's model, or (--trace) for the model of a
    /// saved counterexample or witness, opened at its path.
    Explore {
        /// The protocol to explore (not with --trace, which names it).
        protocol: Option<Protocol>,
        #[command(flatten)]
        model: ModelArgs,
        /// Address to serve the Explorer on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// A trace saved by `ballot check` (counterexample or witness): serve its model with the
        /// flags it was found with, check that its path replays there, and print the URL of the
        /// path. Model flags may not be given with it.
        #[arg(long, value_name = "FILE.json")]
        trace: Option<PathBuf>,
    },
    /// Work with saved traces (counterexamples and witnesses).
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
    /// Run one server of a protocol over UDP (the same actor the checker checks); needs
    /// --key-file FILE, or --insecure to run without authentication.
    Node {
        /// The protocol to serve.
        protocol: Protocol,
        #[command(flatten)]
        args: runtime::cli::NodeArgs,
    },
    /// Start a local cluster of nodes on 127.0.0.1 (one process each), authenticated with the
    /// key in DATA/cluster.key (created if missing); Ctrl-C stops it.
    Cluster {
        /// The protocol to serve.
        protocol: Protocol,
        #[command(flatten)]
        args: runtime::cli::ClusterArgs,
    },
    /// Send one operation to a cluster: finds the leader, follows redirects, retries until
    /// --timeout (exit code 1 without an answer); needs --key-file FILE or --insecure.
    Client {
        #[command(flatten)]
        args: runtime::cli::ClientArgs,
    },
    /// Change a Raft cluster's membership, one server at a time (add-server, remove-server), or
    /// show its configuration (members): finds the leader, retries until --timeout (exit code
    /// 1), exit code 3 if the leader refuses; needs --key-file FILE or --insecure.
    Admin {
        #[command(flatten)]
        args: runtime::cli::AdminArgs,
    },
    /// Measure a cluster's throughput and latency with concurrent clients (a Ballot cluster, or
    /// an etcd cluster for comparison: bench/etcd-compare.sh).
    Bench {
        /// The protocol the cluster runs (or etcd).
        protocol: runtime::cli::BenchSystem,
        #[command(flatten)]
        args: runtime::cli::BenchArgs,
    },
}

/// `ballot trace …`.
#[derive(Subcommand, Debug)]
enum TraceCommand {
    /// Draw a saved trace as a sequence diagram: one lane per actor, an arrow per delivered
    /// message, lost messages, timers, crashes and messages discarded as obsolete marked, the
    /// last state highlighted, the property and the command in the caption.
    Render {
        /// The trace (a JSON file written by `ballot check`).
        file: PathBuf,
        /// text (a terminal), mermaid (a Markdown block GitHub draws as is), svg, or html (a
        /// self-contained page with the diagram and every step's changes).
        #[arg(long, default_value = "text", value_parser = parse_format)]
        format: Format,
        /// Write the diagram to this file instead of standard output.
        #[arg(long, short, value_name = "PATH")]
        out: Option<PathBuf>,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        format!(
            "unknown format '{s}': expected {}",
            Format::ALL.map(|f| f.name()).join(", ")
        )
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Protocol {
    /// Single-decree Paxos (Paxos Made Simple).
    Paxos,
    /// Multi-Paxos: a replicated key-value log (Paxos Made Simple §3).
    MultiPaxos,
    /// Raft (Ongaro and Ousterhout, 2014) with a key-value state machine.
    Raft,
    /// Primary/backup replication, sync, async or semi-sync, with failover on a heartbeat
    /// timeout (Budhiraja et al., 1993).
    PrimaryBackup,
    /// Active-active replication: two replicas both take writes, last writer wins.
    ActiveActive,
    /// Two-phase commit with the cooperative termination protocol (Gray 1978; Bernstein,
    /// Hadzilacos and Goodman 1987, ch. 7).
    TwoPhaseCommit,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Paxos => "paxos",
            Protocol::MultiPaxos => "multi-paxos",
            Protocol::Raft => "raft",
            Protocol::PrimaryBackup => "primary-backup",
            Protocol::ActiveActive => "active-active",
            Protocol::TwoPhaseCommit => "two-phase-commit",
        }
    }

    /// The protocol's name as a title: "Paxos", "Multi-Paxos", "Raft".
    fn display_name(self) -> &'static str {
        match self {
            Protocol::Paxos => "Paxos",
            Protocol::MultiPaxos => "Multi-Paxos",
            Protocol::Raft => "Raft",
            Protocol::PrimaryBackup => "Primary/backup",
            Protocol::ActiveActive => "Active-active",
            Protocol::TwoPhaseCommit => "Two-phase commit",
        }
    }

    fn bugs(self) -> Vec<BugInfo> {
        match self {
            Protocol::Paxos => paxos::BUGS.iter().map(|(_, i)| *i).collect(),
            Protocol::MultiPaxos => multi_paxos::BUGS.iter().map(|(_, i)| *i).collect(),
            Protocol::Raft => raft::BUGS.iter().map(|(_, i)| *i).collect(),
            // Its expected failures are its replication modes, not mutants.
            Protocol::PrimaryBackup | Protocol::ActiveActive => Vec::new(),
            Protocol::TwoPhaseCommit => two_phase_commit::BUGS.iter().map(|(_, i)| *i).collect(),
        }
    }
}

/// The model's configuration.
#[derive(Args, Debug, Clone)]
struct ModelArgs {
    /// Number of servers [default: 3; primary-backup, active-active: 2; two-phase-commit:
    /// the coordinator and the participants, 3].
    #[arg(long)]
    servers: Option<usize>,
    /// Number of clients. paxos: client c proposes the value 'A'+c to server c mod n, then
    /// reads the decision; multi-paxos, raft: even clients put 'A'+c to key x, then
    /// compare-and-swap it, then read it; odd clients read first [default: 2].
    #[arg(long)]
    clients: Option<usize>,
    /// Network semantics: unordered (each message delivered at most once, in any order),
    /// duplicating (any number of times), ordered (per sender-receiver pair, in order).
    #[arg(long, default_value = "unordered")]
    network: NetworkKind,
    /// The network may also lose any message.
    #[arg(long)]
    lossy: bool,
    /// The network may split the servers into two sides once in a run, any split, and heal:
    /// meanwhile every message between the sides is lost (those in flight at the split too);
    /// clients reach both sides. The same as --partitions 1.
    #[arg(long, conflicts_with = "partitions")]
    partition: bool,
    /// The network may split (and heal) up to N times in a run, one split at a time
    /// [default: 0].
    #[arg(long, value_name = "N")]
    partitions: Option<usize>,
    /// At most this many servers down at once; a crashed server recovers from its saved state
    /// [default: 0 for paxos, 1 for raft].
    #[arg(long)]
    crashes: Option<usize>,
    /// A crashed server never comes back (paxos, multi-paxos, raft; the lecture's models
    /// always crash-stop).
    #[arg(long)]
    crash_stop: bool,
    /// paxos, multi-paxos: highest ballot round a proposer may start (bounds the state space;
    /// 3 allows two takeovers) [default: 3].
    #[arg(long)]
    max_round: Option<u32>,
    /// paxos: also check termination: the eventually-property "Termination" (some server
    /// decides in every run that ends) and, with two proposers or more, the witness "Dueling
    /// proposers, nothing chosen by the last round" (FLP). Needs --crashes 0.
    #[arg(long)]
    liveness: bool,
    #[command(flatten)]
    raft: RaftArgs,
    /// Run a named bug (mutant) from `ballot bugs <protocol>` instead of the correct protocol.
    #[arg(long, value_name = "NAME")]
    bug: Option<String>,
    /// multi-paxos, raft: operations per client [default: 1].
    #[arg(long, value_name = "N")]
    requests: Option<usize>,
    /// multi-paxos, raft: retries per request, each re-sent to the next server [default: 0].
    #[arg(long, value_name = "N")]
    retries: Option<u8>,
    /// multi-paxos: slots a leader may propose in [default: clients × requests + 1].
    #[arg(long, value_name = "N")]
    max_slots: Option<u32>,
    /// multi-paxos: a leader's heartbeat timer fires up to N times a ballot, re-sending the
    /// unanswered Accepts and telling learners its commit point (on which they catch up), as
    /// real nodes do without a bound. raft: up to N times a term, sending every follower
    /// AppendEntries from its nextIndex (InstallSnapshot if the snapshot discarded it) [default:
    /// 0].
    #[arg(long, value_name = "N")]
    heartbeats: Option<u32>,
    /// paxos, multi-paxos, raft: remove messages their receiver ignores in every state it can
    /// reach (a stale term or ballot; checked against the handler while checking: if the
    /// handler acts on one, no "holds" verdict is given); `false` checks without this
    /// reduction [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    discard_obsolete: Option<bool>,
    /// multi-paxos, raft: gets go through the log like writes, instead of being answered by the
    /// leader after a confirmation round (ReadIndex, as real nodes do) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    log_reads: Option<bool>,
    /// multi-paxos, raft: applying (executing) an entry saves nothing by itself, as Figure 2 of
    /// Raft has lastApplied volatile: a step that only applies chosen or committed entries
    /// saves nothing (a real node does not sync for it); they are saved with the next step that
    /// saves anything else, so a crash may take some back and the server applies them again
    /// once it learns them again. Real nodes run this way. false: each applied entry is saved
    /// by the step that applies it [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    volatile_applied: Option<bool>,
    /// multi-paxos: a leader batches its proposals: the Accepts of the requests that arrive
    /// before its propose timer fires go out together, one Accept for consecutive slots (the
    /// checker fires the timer at any moment, so every grouping is checked). Real nodes run
    /// this way, the timer firing after each batch of datagrams. Raft batches with --pipeline
    /// [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    batch: Option<bool>,
    /// multi-paxos: log compaction: a server that executed slots discards its votes in them (on
    /// a timer the checker fires at any moment); a Promise reports the compaction point, and a
    /// new leader learns the compacted slots instead of proposing in them. Real nodes compact
    /// every --snapshot-every executed slots. Raft compacts with --snapshots [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    compact: Option<bool>,
    /// primary-backup: when the primary answers a write: sync (after the backup acknowledged
    /// it), async (at once), semi-sync (after the acknowledgement or a timeout) [default: sync].
    #[arg(long, value_name = "KIND")]
    replication: Option<Replication>,
    /// paxos, multi-paxos, raft: N servers are Byzantine (0 or 1): the last server ignores the protocol and
    /// may send any message the protocol defines, with field values within the model's bounds,
    /// to anyone at any time. Checked by BFS without symmetry; Agreement and the other
    /// properties are about the honest servers (docs/checking.md) [default: 0].
    #[arg(long, value_name = "N")]
    byzantine: Option<usize>,
    /// With --byzantine 1: at most N forged messages in a run [default: 2].
    #[arg(long, value_name = "N")]
    byzantine_sends: Option<usize>,
    /// With --byzantine 1: forge only these kinds of message (comma separated, e.g.
    /// Promise,Accepted; an unknown name lists the protocol's) [default: every kind].
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    byzantine_forge: Vec<String>,
}

impl ModelArgs {
    fn cluster(&self, protocol: Protocol) -> ClusterConfig {
        ClusterConfig {
            servers: self.servers.unwrap_or(match protocol {
                Protocol::PrimaryBackup => primary_backup::PbConfig::default().cluster.servers,
                Protocol::ActiveActive => active_active::AaConfig::default().cluster.servers,
                _ => ClusterConfig::default().servers,
            }),
            clients: self.clients.unwrap_or(match protocol {
                Protocol::Paxos => ClusterConfig::default().clients,
                Protocol::MultiPaxos => MultiPaxosConfig::default().cluster.clients,
                Protocol::Raft => RaftConfig::default().cluster.clients,
                Protocol::PrimaryBackup => primary_backup::PbConfig::default().cluster.clients,
                Protocol::ActiveActive => active_active::AaConfig::default().cluster.clients,
                Protocol::TwoPhaseCommit => 0,
            }),
            network: self.network,
            lossy: self.lossy,
            partitions: self.partitions.unwrap_or(usize::from(self.partition)),
            byzantine: self.byzantine.unwrap_or(0),
            byzantine_sends: self
                .byzantine_sends
                .unwrap_or(ballot_models::byzantine::DEFAULT_SENDS),
            byzantine_forge: self.byzantine_forge.clone(),
            crashes: self.crashes.unwrap_or(match protocol {
                Protocol::Paxos => 0,
                Protocol::MultiPaxos => MultiPaxosConfig::default().cluster.crashes,
                Protocol::Raft => RaftConfig::default().cluster.crashes,
                Protocol::PrimaryBackup => primary_backup::PbConfig::default().cluster.crashes,
                Protocol::ActiveActive => 0,
                Protocol::TwoPhaseCommit => two_phase_commit::TpcConfig::default().cluster.crashes,
            }),
            // The lecture's models crash-stop whatever this says.
            crash_stop: self.crash_stop,
        }
    }

    fn summary(&self, protocol: Protocol) -> String {
        let cluster = self.cluster(protocol);
        let bounds = match protocol {
            Protocol::Paxos => format!(
                "max round {}",
                self.max_round.unwrap_or(PaxosConfig::default().max_round)
            ),
            Protocol::MultiPaxos => format!(
                "max round {}, {} per client, {}",
                self.max_round
                    .unwrap_or(MultiPaxosConfig::default().max_round),
                plural(
                    self.requests
                        .unwrap_or(MultiPaxosConfig::default().requests),
                    "request"
                ),
                plural(
                    self.retries.unwrap_or(MultiPaxosConfig::default().retries) as usize,
                    "retry"
                )
            ),
            Protocol::Raft => {
                self.raft.summary(
                    self.requests,
                    self.retries,
                    self.log_reads,
                    self.volatile_applied,
                ) + &match self.heartbeats.unwrap_or(0) {
                    0 => String::new(),
                    n => format!(", {} per term", plural(n as usize, "heartbeat")),
                }
            }
            Protocol::PrimaryBackup => match lecture::primary_backup(self) {
                Ok(c) => lecture::primary_backup_bounds(&c),
                Err(e) => e,
            },
            Protocol::ActiveActive => match lecture::active_active(self) {
                Ok(c) => lecture::active_active_bounds(&c),
                Err(e) => e,
            },
            Protocol::TwoPhaseCommit => match lecture::two_phase_commit(self) {
                Ok(c) => lecture::two_phase_commit_bounds(&c),
                Err(e) => e,
            },
        };
        format!(
            "{}, {}, {} network{}{}, crashes {}{}, {bounds}{}",
            plural(cluster.servers, "server"),
            plural(cluster.clients, "client"),
            cluster.network,
            if cluster.lossy { " (lossy)" } else { "" },
            partitions_summary(cluster.partitions),
            cluster.crashes,
            if self.crash_stop { " (crash-stop)" } else { "" },
            byzantine::summary(&cluster),
        )
    }

    /// Every model flag with its value, defaults spelled out, in a fixed order: the model is
    /// `ballot check <protocol> <these flags>` whatever the defaults become. Saved with each
    /// trace and hashed into its file name.
    fn model_flags(&self, protocol: Protocol) -> Result<Vec<String>, String> {
        lecture::refuse_replication(self, protocol)?;
        if self.liveness && protocol != Protocol::Paxos {
            return Err(format!(
                "--liveness is a paxos flag; {} does not take it",
                protocol.name()
            ));
        }
        byzantine::refuse_unsupported(
            self.byzantine,
            self.byzantine_sends.is_some() || !self.byzantine_forge.is_empty(),
            protocol,
        )?;
        let mut f: Vec<String> = Vec::new();
        let mut push = |flag: &str, value: String| {
            f.push(flag.to_string());
            f.push(value);
        };
        let (cluster, bug) = match protocol {
            Protocol::Paxos => {
                let c = self.paxos()?;
                (c.cluster.clone(), c.bug.map(|b| b.info().name))
            }
            Protocol::MultiPaxos => {
                let c = self.multi_paxos()?;
                (c.cluster.clone(), c.bug.map(|b| b.info().name))
            }
            Protocol::Raft => {
                let c = self.raft()?;
                (c.cluster.clone(), c.bug.map(|b| b.info().name))
            }
            Protocol::PrimaryBackup => (lecture::primary_backup(self)?.cluster, None),
            Protocol::ActiveActive => (lecture::active_active(self)?.cluster, None),
            Protocol::TwoPhaseCommit => {
                let c = lecture::two_phase_commit(self)?;
                (c.cluster.clone(), c.bug.map(|b| b.info().name))
            }
        };
        push("--servers", cluster.servers.to_string());
        push("--clients", cluster.clients.to_string());
        push("--network", cluster.network.to_string());
        push("--crashes", cluster.crashes.to_string());
        match protocol {
            Protocol::Paxos => {
                let c = self.paxos()?;
                push("--max-round", c.max_round.to_string());
                if !c.discard_obsolete {
                    push("--discard-obsolete", "false".into());
                }
                if c.liveness {
                    f.push("--liveness".into());
                }
            }
            Protocol::MultiPaxos => {
                let c = self.multi_paxos()?;
                push("--max-round", c.max_round.to_string());
                push("--requests", c.requests.to_string());
                push("--retries", c.retries.to_string());
                push("--max-slots", c.slots().to_string());
                push("--heartbeats", c.heartbeats.to_string());
                push("--log-reads", c.log_reads.to_string());
                if !c.discard_obsolete {
                    push("--discard-obsolete", "false".into());
                }
                // Only when set, so that the flags (and file names) of earlier traces stay.
                if c.volatile_applied {
                    f.push("--volatile-applied".into());
                }
                if c.batch {
                    f.push("--batch".into());
                }
                if c.compact {
                    f.push("--compact".into());
                }
            }
            Protocol::Raft => {
                let c = self.raft()?;
                push("--max-term", c.max_term.to_string());
                push("--max-log", c.max_log.to_string());
                push("--requests", c.requests.to_string());
                push("--retries", c.retries.to_string());
                push("--noop", c.noop.to_string());
                push("--log-reads", c.log_reads.to_string());
                push("--discard-obsolete", c.discard_obsolete.to_string());
                if c.membership {
                    push("--membership", "true".into());
                    push("--spares", c.spares.to_string());
                    push("--changes", c.changes.to_string());
                    push("--learners", c.learners.to_string());
                }
                // Only when set, so that the flags (and file names) of earlier traces stay.
                if c.heartbeats > 0 {
                    push("--heartbeats", c.heartbeats.to_string());
                }
                if c.pipeline > 0 {
                    push("--pipeline", c.pipeline.to_string());
                }
                if c.volatile_applied {
                    f.push("--volatile-applied".into());
                }
                if c.parallel_write {
                    f.push("--parallel-write".into());
                }
                if c.snapshots {
                    f.push("--snapshots".into());
                }
                if c.appends {
                    f.push("--appends".into());
                }
            }
            Protocol::PrimaryBackup => {
                for (flag, value) in lecture::primary_backup_flags(&lecture::primary_backup(self)?)
                {
                    push(flag, value);
                }
            }
            Protocol::ActiveActive => {
                push(
                    "--requests",
                    lecture::active_active(self)?.requests.to_string(),
                );
            }
            Protocol::TwoPhaseCommit => {}
        }
        if cluster.lossy {
            f.push("--lossy".into());
        }
        if self.crash_stop {
            f.push("--crash-stop".into());
        }
        if cluster.partitions > 0 {
            // Only when set, so that the flags (and file names) of earlier traces stay.
            f.push("--partitions".into());
            f.push(cluster.partitions.to_string());
        }
        // Only when set, so that the flags (and trace file names) of other runs stay as they
        // were.
        if cluster.byzantine > 0 {
            f.extend(byzantine::flags(&cluster));
        }
        if let Some(b) = bug {
            f.push("--bug".into());
            f.push(b.into());
        }
        Ok(f)
    }

    /// What to say when a "sometimes" property is never witnessed because a bound makes it
    /// unreachable.
    fn hints(&self, protocol: Protocol) -> Vec<String> {
        let mut h = Vec::new();
        if self.max_round == Some(0) {
            h.push(
                "--max-round 0: no server may start a ballot, so nothing is ever proposed or \
                 decided; use --max-round 1 or more"
                    .to_string(),
            );
        }
        if self.cluster(protocol).clients == 0 {
            h.push(format!(
                "--clients 0: no client sends a request, so no value or command is ever \
                 proposed; use --clients 1 or more{}",
                match protocol {
                    Protocol::Paxos
                    | Protocol::PrimaryBackup
                    | Protocol::ActiveActive
                    | Protocol::TwoPhaseCommit => "",
                    Protocol::MultiPaxos | Protocol::Raft =>
                        " (leader elections are still explored)",
                }
            ));
        }
        if self.max_round == Some(1) && protocol == Protocol::MultiPaxos {
            h.push(
                "--max-round 1: no server can take over, so there is no leader change; use \
                 --max-round 2 or more"
                    .to_string(),
            );
        }
        h
    }

    fn paxos(&self) -> Result<PaxosConfig, String> {
        self.reject_multi_paxos_flags(Protocol::Paxos)?;
        let bug = match &self.bug {
            None => None,
            Some(name) => {
                Some(PaxosBug::from_name(name).ok_or_else(|| unknown_bug(Protocol::Paxos, name))?)
            }
        };
        if let Some(flag) = self.raft.given() {
            return Err(format!("{flag} is a raft flag; paxos does not take it"));
        }
        let cfg = PaxosConfig {
            cluster: self.cluster(Protocol::Paxos),
            max_round: self.max_round.unwrap_or(PaxosConfig::default().max_round),
            bug,
            liveness: self.liveness,
            discard_obsolete: self
                .discard_obsolete
                .unwrap_or(PaxosConfig::default().discard_obsolete),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn raft(&self) -> Result<RaftConfig, String> {
        let bug = match &self.bug {
            None => None,
            Some(name) => {
                Some(RaftBug::from_name(name).ok_or_else(|| unknown_bug(Protocol::Raft, name))?)
            }
        };
        if self.max_round.is_some() {
            return Err("--max-round is a paxos flag; raft is bounded by --max-term".into());
        }
        if self.max_slots.is_some() {
            return Err("--max-slots is a multi-paxos flag; raft is bounded by --max-log".into());
        }
        if self.batch.is_some() {
            return Err(
                "--batch is a multi-paxos flag; raft batches entries with --pipeline".into(),
            );
        }
        if self.compact.is_some() {
            return Err(
                "--compact is a multi-paxos flag; raft compacts its log with --snapshots".into(),
            );
        }
        let d = RaftConfig::default();
        let cfg = RaftConfig {
            cluster: self.cluster(Protocol::Raft),
            max_term: self.raft.max_term.unwrap_or(d.max_term),
            max_log: self.raft.max_log.unwrap_or(d.max_log),
            requests: self.requests.unwrap_or(d.requests),
            retries: self.retries.unwrap_or(d.retries),
            noop: self.raft.noop.unwrap_or(d.noop),
            log_reads: self.log_reads.unwrap_or(d.log_reads),
            discard_obsolete: self.discard_obsolete.unwrap_or(d.discard_obsolete),
            wipes: self.raft.wipes.unwrap_or(d.wipes),
            snapshots: self.raft.snapshots.unwrap_or(d.snapshots),
            appends: self.raft.appends.unwrap_or(d.appends),
            membership: self.raft.membership.unwrap_or(d.membership),
            spares: self.raft.spares.unwrap_or(d.spares),
            changes: self.raft.changes.unwrap_or(d.changes),
            learners: self.raft.learners.unwrap_or(d.learners),
            heartbeats: self.heartbeats.unwrap_or(d.heartbeats),
            pipeline: self.raft.pipeline.unwrap_or(d.pipeline),
            volatile_applied: self.volatile_applied.unwrap_or(d.volatile_applied),
            parallel_write: self.raft.parallel_write.unwrap_or(d.parallel_write),
            bug,
        };
        if !cfg.membership
            && let Some(flag) = [
                (self.raft.spares.is_some(), "--spares"),
                (self.raft.changes.is_some(), "--changes"),
                (self.raft.learners.is_some(), "--learners"),
            ]
            .into_iter()
            .find_map(|(given, flag)| given.then_some(flag))
        {
            return Err(format!("{flag} needs --membership"));
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Raft's bounds and options (other protocols reject them).
#[derive(Args, Debug, Clone)]
struct RaftArgs {
    /// Raft: highest term an election may start (bounds the state space) [default: 2].
    #[arg(long)]
    max_term: Option<raft::Term>,
    /// Raft: longest log a leader appends to [default: 2].
    #[arg(long)]
    max_log: Option<raft::Index>,
    /// Raft: a new leader holding uncommitted entries appends a no-op (§8) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    noop: Option<bool>,
    /// Raft: servers may lose their storage and restart rejoining, up to N times in a run, one
    /// server rejoining at a time [default: 0].
    #[arg(long, value_name = "N")]
    wipes: Option<usize>,
    /// Raft: servers may snapshot their applied entries and compact their logs; leaders send
    /// InstallSnapshot to followers that need discarded entries (§7) [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    snapshots: Option<bool>,
    /// Raft: a leader may append an entry of its term at any moment while its log is below
    /// --max-log, with no client (the TLA+ spec's ClientRequest action; the entry is a no-op,
    /// which the log properties cannot tell from a command). Several terms' entries at little
    /// cost in states [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    appends: Option<bool>,
    /// Raft: single-server membership changes (dissertation §4.1, with the 2015 correction):
    /// leaders add and remove servers through configuration entries; the last --spares servers
    /// start outside the configuration [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    membership: Option<bool>,
    /// Raft, with --membership: servers (the last ones) outside the initial configuration
    /// [default: 1].
    #[arg(long, value_name = "N")]
    spares: Option<usize>,
    /// Raft, with --membership: the most configuration entries a leader's log may hold
    /// [default: 2].
    #[arg(long, value_name = "N")]
    changes: Option<usize>,
    /// Raft, with --membership: a leader catches a new server up as a non-voting learner and
    /// adds it once it holds the leader's log (dissertation §4.2.1); false: it adds the server
    /// at once [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    learners: Option<bool>,
    /// Raft: pipelined replication (dissertation §10.2.2): a leader sends a follower that
    /// answered with a success each new entry once, on a replicate timer, without waiting for
    /// the answer (an optimistic nextIndex), while fewer than N entries sent to it are
    /// unacknowledged; a failure puts the follower back to Figure 2's probing. Real nodes
    /// pipeline with a window of 1024. 0: Figure 2's replication only [default: 0].
    #[arg(long, value_name = "N")]
    pipeline: Option<raft::Index>,
    /// Raft: writing to the leader's disk in parallel (dissertation §10.2.1): a leader sends
    /// the entries it appends before it saves them, saves them on a write timer (the checker
    /// fires it at any moment, and a crash before it loses them), and counts its own copy only
    /// then. Real nodes run this way [default: false].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    parallel_write: Option<bool>,
}

impl RaftArgs {
    /// The first Raft flag given, if any.
    fn given(&self) -> Option<&'static str> {
        [
            (self.max_term.is_some(), "--max-term"),
            (self.max_log.is_some(), "--max-log"),
            (self.noop.is_some(), "--noop"),
            (self.wipes.is_some(), "--wipes"),
            (self.snapshots.is_some(), "--snapshots"),
            (self.appends.is_some(), "--appends"),
            (self.membership.is_some(), "--membership"),
            (self.spares.is_some(), "--spares"),
            (self.changes.is_some(), "--changes"),
            (self.learners.is_some(), "--learners"),
            (self.pipeline.is_some(), "--pipeline"),
            (self.parallel_write.is_some(), "--parallel-write"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    fn summary(
        &self,
        requests: Option<usize>,
        retries: Option<u8>,
        log_reads: Option<bool>,
        volatile_applied: Option<bool>,
    ) -> String {
        let d = RaftConfig::default();
        format!(
            "max term {}, max log {}, {} per client, {}, no-op {}{}{}{}{}{}{}{}",
            self.max_term.unwrap_or(d.max_term),
            self.max_log.unwrap_or(d.max_log),
            plural(requests.unwrap_or(d.requests), "request"),
            plural(retries.unwrap_or(d.retries) as usize, "retry"),
            if self.noop.unwrap_or(d.noop) {
                "on"
            } else {
                "off"
            },
            if log_reads.unwrap_or(d.log_reads) {
                ", reads through the log"
            } else {
                ""
            },
            match self.wipes.unwrap_or(d.wipes) {
                0 => String::new(),
                n => format!(
                    ", storage lost up to {} (one server rejoining at a time)",
                    plural(n, "time")
                ),
            },
            if self.snapshots.unwrap_or(d.snapshots) {
                ", snapshots (log compaction, InstallSnapshot)"
            } else {
                ""
            },
            if self.appends.unwrap_or(d.appends) {
                ", leaders append on their own"
            } else {
                ""
            },
            if self.membership.unwrap_or(d.membership) {
                let spares = self.spares.unwrap_or(d.spares);
                format!(
                    ", membership changes (up to {} in a log; {} outside the initial \
                     configuration{})",
                    self.changes.unwrap_or(d.changes),
                    plural(spares, "server"),
                    if self.learners.unwrap_or(d.learners) {
                        "; new servers caught up as learners"
                    } else {
                        "; new servers added at once"
                    }
                )
            } else {
                String::new()
            },
            match self.pipeline.unwrap_or(d.pipeline) {
                0 => String::new(),
                n => format!(
                    ", pipelined replication (window of {})",
                    plural(n as usize, "entry")
                ),
            },
            if volatile_applied.unwrap_or(d.volatile_applied) {
                ", applying saves nothing by itself"
            } else {
                ""
            },
        ) + if self.parallel_write.unwrap_or(d.parallel_write) {
            ", the leader writes in parallel (§10.2.1)"
        } else {
            ""
        }
    }
}

impl ModelArgs {
    /// The Multi-Paxos configuration: the shared flags plus `--requests`, `--retries` and
    /// `--max-slots`.
    fn multi_paxos(&self) -> Result<MultiPaxosConfig, String> {
        let bug = match &self.bug {
            None => None,
            Some(name) => Some(
                MpBug::from_name(name).ok_or_else(|| unknown_bug(Protocol::MultiPaxos, name))?,
            ),
        };
        let defaults = MultiPaxosConfig::default();
        if let Some(flag) = self.raft.given() {
            return Err(format!(
                "{flag} is a raft flag; multi-paxos does not take it"
            ));
        }
        let cfg = MultiPaxosConfig {
            cluster: self.cluster(Protocol::MultiPaxos),
            max_round: self.max_round.unwrap_or(defaults.max_round),
            requests: self.requests.unwrap_or(defaults.requests),
            retries: self.retries.unwrap_or(defaults.retries),
            max_slots: self.max_slots,
            heartbeats: self.heartbeats.unwrap_or(defaults.heartbeats),
            log_reads: self.log_reads.unwrap_or(defaults.log_reads),
            discard_obsolete: self.discard_obsolete.unwrap_or(defaults.discard_obsolete),
            volatile_applied: self.volatile_applied.unwrap_or(defaults.volatile_applied),
            batch: self.batch.unwrap_or(defaults.batch),
            compact: self.compact.unwrap_or(defaults.compact),
            bug,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Other protocols refuse the Multi-Paxos flags, naming the flag.
    fn reject_multi_paxos_flags(&self, protocol: Protocol) -> Result<(), String> {
        for (flag, set) in [
            ("--requests", self.requests.is_some()),
            ("--retries", self.retries.is_some()),
            ("--max-slots", self.max_slots.is_some()),
            ("--heartbeats", self.heartbeats.is_some()),
            ("--log-reads", self.log_reads.is_some()),
            ("--volatile-applied", self.volatile_applied.is_some()),
            ("--batch", self.batch.is_some()),
            ("--compact", self.compact.is_some()),
        ] {
            if set {
                let owners = if matches!(
                    flag,
                    "--requests" | "--retries" | "--log-reads" | "--volatile-applied"
                ) {
                    "multi-paxos and raft"
                } else {
                    "multi-paxos"
                };
                return Err(format!(
                    "{flag} is a {owners} flag; {} does not take it",
                    protocol.name()
                ));
            }
        }
        Ok(())
    }
}

/// One line describing a Multi-Paxos model, for the check report.
fn multi_paxos_summary(cfg: &MultiPaxosConfig) -> String {
    let c = &cfg.cluster;
    format!(
        "{}, {} × {} ({}), {} network{}{}, crashes {}{}, max round {}, max slots {}{}{}{}{}{}",
        plural(c.servers, "server"),
        plural(c.clients, "client"),
        plural(cfg.requests, "request"),
        plural(cfg.retries as usize, "retry"),
        c.network,
        if c.lossy { " (lossy)" } else { "" },
        partitions_summary(c.partitions),
        c.crashes,
        if c.crash_stop { " (crash-stop)" } else { "" },
        cfg.max_round,
        cfg.slots(),
        match cfg.heartbeats {
            0 => String::new(),
            n => format!(", {} per ballot", plural(n as usize, "heartbeat")),
        },
        if cfg.log_reads {
            ", reads through the log"
        } else {
            ""
        },
        if cfg.volatile_applied {
            ", executing saves nothing by itself"
        } else {
            ""
        },
        if cfg.batch { ", batched Accepts" } else { "" },
        if cfg.compact { ", log compaction" } else { "" }
    ) + &byzantine::summary(c)
}

/// ", one partition" or ", up to 2 partitions" for the model line; nothing without any.
fn partitions_summary(n: usize) -> String {
    match n {
        0 => String::new(),
        1 => ", one partition".to_string(),
        n => format!(", up to {n} partitions"),
    }
}

/// "1 client", "2 clients", "1 retry", "0 retries".
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else if let Some(stem) = word.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {word}s")
    }
}

fn unknown_bug(protocol: Protocol, name: &str) -> String {
    let names: Vec<_> = protocol.bugs().iter().map(|b| b.name).collect();
    format!(
        "--bug: {} has no bug named '{name}'; known: {}",
        protocol.name(),
        names.join(", ")
    )
}

/// How to run the checker.
#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// Search strategy: bfs (exhaustive; a counterexample is then shortened to the shortest),
    /// dfs (exhaustive, less memory, longer counterexamples), simulation (random walks, not
    /// exhaustive) [default: paxos and multi-paxos bfs; raft dfs, or bfs with --byzantine 1].
    #[arg(long)]
    strategy: Option<Strategy>,
    /// Treat servers as interchangeable (Stateright's symmetry reduction; needs --strategy dfs,
    /// since Stateright applies it in DFS only; refused with --byzantine 1, whose Byzantine server
    /// is fixed) [default: false; raft with dfs: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    symmetry: Option<bool>,
    /// Checker threads. With more than one, BFS counterexamples may not be the shortest, and
    /// DFS with symmetry may count a few more unique states [default: bfs 1; dfs and
    /// simulation: the machine's cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this many seconds (exit code 3 if the check did not finish).
    #[arg(long, value_name = "SECS")]
    timeout: Option<f64>,
    /// Stop after about this many states (default for simulation: 1000000).
    #[arg(long, value_name = "N")]
    max_states: Option<usize>,
    /// Seed for --strategy simulation.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the result as one JSON object on stdout (progress stays on stderr).
    #[arg(long)]
    json: bool,
    /// Where to save counterexamples and witnesses (a .json file, or a directory). Default:
    /// traces/counterexamples/<protocol>-<bug or correct>-<property>-<hash of the model
    /// flags>.json, and traces/witnesses/<protocol>-<bug or correct>-witness-<property>-<hash>.json
    #[arg(long, value_name = "PATH")]
    trace_out: Option<PathBuf>,
    /// Also find, print and save a shortest path to the "sometimes" property NAME (a witness:
    /// e.g. 'Leader elected'), or to every one with `all`. Repeatable.
    #[arg(long, value_name = "NAME")]
    witness: Vec<String>,
    /// Also draw each saved trace next to its JSON file: text, mermaid, svg or html (comma
    /// separated or repeated); `ballot trace render` draws a saved one.
    #[arg(long, value_name = "FORMAT", value_delimiter = ',', value_parser = parse_format)]
    render: Vec<Format>,
    /// Seconds between progress lines on stderr.
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    progress_every: f64,
    /// The model is expected to break property NAME (an "always" property violated, or a
    /// "sometimes" property never witnessed), as the lecture's models do on purpose: the check
    /// then explores past that violation and exits 0 exactly when every expected property
    /// breaks and every other one holds (1 otherwise). Without it the same run reports the
    /// violation and exits 1. Comma separated or repeated.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    expect: Vec<String>,
}

fn main() -> ExitCode {
    // Die quietly when a reader stops reading (`ballot bugs paxos | head`), as Unix tools do,
    // instead of panicking at the next write to a closed pipe.
    // SAFETY: restoring the default action of a signal before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(usage) = e.downcast_ref::<UsageError>() {
                eprintln!("error: {}", usage.0);
                return ExitCode::from(2);
            }
            if e.downcast_ref::<check::ModelPanic>().is_some() {
                eprintln!("error: {e:#}");
                return ExitCode::from(4);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// A usage or configuration error (exit code 2).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check {
            protocol,
            model,
            run,
        } => {
            let outcome = run_check(protocol, &model, &run, false)?;
            Ok(ExitCode::from(outcome.exit_code))
        }
        Command::Suite { protocol, args } => suite::run(protocol, &args),
        Command::Matrix { args } => matrix::run(&args),
        Command::Bugs { protocol, json } => {
            let bugs = protocol.bugs();
            if json {
                println!("{}", serde_json::to_string_pretty(&bugs)?);
            } else if bugs.is_empty() {
                println!(
                    "{} has no bug catalog: the failures it shows are its design's own, named \
                     with --expect (ballot suite {} --list; docs/{}.md)",
                    protocol.name(),
                    protocol.name(),
                    protocol.name()
                );
            } else {
                let width = bugs.iter().map(|b| b.name.len()).max().unwrap_or(0);
                let breaks = bugs.iter().map(|b| b.breaks.len()).max().unwrap_or(0);
                for b in &bugs {
                    println!(
                        "{:width$}  breaks {:breaks$}  {}",
                        b.name, b.breaks, b.summary
                    );
                    let mut cmd = format!("ballot check {}", protocol.name());
                    for a in b.args {
                        cmd.push(' ');
                        cmd.push_str(a);
                    }
                    println!("{:width$}  run: {cmd} --bug {}", "", b.name);
                }
                println!();
                match protocol {
                    Protocol::Raft => println!(
                        "Raft checks by DFS by default: it finds each bug in seconds, with a longer \
                         path than the shortest. Add --strategy bfs for the shortest counterexample \
                         (the one docs/raft.md walks through; figure-8 takes a minute or two)."
                    ),
                    _ => println!(
                        "Each run prints the shortest counterexample (BFS), saves it as JSON, and \
                         says how to reopen it in the Explorer and draw it."
                    ),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Explore {
            protocol,
            model,
            addr,
            trace,
        } => explore(protocol, model, addr, trace),
        Command::Trace { command } => match command {
            TraceCommand::Render { file, format, out } => {
                let t = ballot_traces::Trace::load(&file)
                    .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
                let text = ballot_traces::render::render(&t, format);
                match out {
                    Some(path) => {
                        std::fs::write(&path, text)
                            .with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("Wrote {}", path.display());
                    }
                    None => print!("{text}"),
                }
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Node { protocol, args } => Ok(runtime::cli::node(protocol.name(), args)),
        Command::Cluster { protocol, args } => Ok(runtime::cli::cluster(protocol.name(), args)),
        Command::Client { args } => Ok(runtime::cli::client(args)),
        Command::Admin { args } => Ok(runtime::cli::admin(args)),
        Command::Bench { protocol, args } => Ok(runtime::cli::bench(protocol.name(), args)),
    }
}

/// `ballot explore`: the Explorer for a protocol's model, or for a saved trace's model opened
/// at its path.
fn explore(
    protocol: Option<Protocol>,
    model: ModelArgs,
    addr: SocketAddr,
    trace: Option<PathBuf>,
) -> Result<ExitCode> {
    let (protocol, model, trace) = match trace {
        None => {
            let Some(protocol) = protocol else {
                bail!(UsageError(
                    "explore needs a protocol (paxos, multi-paxos, raft, primary-backup, active-active, two-phase-commit) or --trace FILE.json"
                        .into()
                ));
            };
            (protocol, model, None)
        }
        Some(file) => {
            let given: Vec<String> = std::env::args()
                .skip(2)
                .filter(|a| {
                    a.starts_with("--") && !a.starts_with("--trace") && !a.starts_with("--addr")
                })
                .collect();
            if protocol.is_some() || !given.is_empty() {
                bail!(UsageError(format!(
                    "--trace {}: the trace names its protocol and model flags; give neither (got {})",
                    file.display(),
                    protocol
                        .map(|p| p.name().to_string())
                        .into_iter()
                        .chain(given)
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
            let t = ballot_traces::Trace::load(&file)
                .map_err(|e| UsageError(format!("--trace {}: {e}", file.display())))?;
            let (protocol, model) = trace_model(&t)
                .map_err(|e| UsageError(format!("--trace {}: {e}", file.display())))?;
            (protocol, model, Some((file, t)))
        }
    };
    // Stateright's Explorer panics if the port is taken: bind first and say so.
    let listener = TcpListener::bind(addr)
        .map_err(|e| UsageError(format!("--addr {addr}: cannot listen there ({e})")))?;
    let bound = listener.local_addr()?;
    let summary = match protocol {
        Protocol::MultiPaxos => multi_paxos_summary(&model.multi_paxos().map_err(UsageError)?),
        _ => model.summary(protocol),
    };
    let bug = model
        .bug
        .as_ref()
        .map(|b| format!(", bug {b}"))
        .unwrap_or_default();
    let title = format!("{} — {summary}{bug}", protocol.display_name());
    let flags = model.model_flags(protocol).map_err(UsageError)?;
    eprintln!("Explorer: {title}");
    eprintln!(
        "  model:  ballot check {} {}",
        protocol.name(),
        flags.join(" ")
    );
    let front = explore::Front {
        title,
        trace: trace
            .as_ref()
            .map(|(_, t)| (t.property.clone(), t.kind, t.action_path.clone())),
    };
    macro_rules! go {
        ($model:expr) => {{
            let m = $model;
            if let Some((file, t)) = &trace {
                explore::check_replay(&m, t).map_err(|e| {
                    UsageError(format!(
                        "--trace {}: its path does not replay on the model of its flags ({e}); \
                         the model has changed since it was saved: run `{}` again",
                        file.display(),
                        t.command_line()
                    ))
                })?;
                eprintln!(
                    "  opened: {} ({} steps), replayed and checked",
                    t.title(),
                    t.steps.len()
                );
                eprintln!("  open:   {}", t.explorer_url(&bound.to_string()));
            } else {
                eprintln!("  open:   http://{bound}/");
            }
            eprintln!("Ctrl-C stops it.");
            explore::serve(m, listener, front)?;
        }};
    }
    match protocol {
        Protocol::Paxos => go!(model.paxos().map_err(UsageError)?.into_model()),
        Protocol::MultiPaxos => go!(model.multi_paxos().map_err(UsageError)?.into_model()),
        Protocol::Raft => go!(model.raft().map_err(UsageError)?.into_model()),
        Protocol::PrimaryBackup => {
            go!(lecture::primary_backup(&model)
                .map_err(UsageError)?
                .into_model())
        }
        Protocol::ActiveActive => {
            go!(lecture::active_active(&model)
                .map_err(UsageError)?
                .into_model())
        }
        Protocol::TwoPhaseCommit => {
            go!(lecture::two_phase_commit(&model)
                .map_err(UsageError)?
                .into_model())
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The protocol and model flags of a saved trace: its complete model flags, or for a trace
/// saved before they were recorded, the flags of the command that found it.
fn trace_model(t: &ballot_traces::Trace) -> Result<(Protocol, ModelArgs), String> {
    let protocol = Protocol::from_str(&t.protocol, true)
        .map_err(|_| format!("unknown protocol '{}'", t.protocol))?;
    let mut argv = vec!["ballot".to_string(), "explore".into(), t.protocol.clone()];
    if t.model_flags.is_empty() {
        // The first layout: keep the model flags of the recorded `check` command.
        let cmd = &t.command;
        let mut i = cmd
            .iter()
            .position(|a| *a == t.protocol)
            .map_or(0, |p| p + 1);
        while i < cmd.len() {
            let a = &cmd[i];
            let takes_value =
                |f: &str| !matches!(f, "--lossy" | "--partition" | "--json") && !f.contains('=');
            let run_flag = matches!(
                a.as_str(),
                "--strategy"
                    | "--symmetry"
                    | "--threads"
                    | "--timeout"
                    | "--max-states"
                    | "--seed"
                    | "--json"
                    | "--trace-out"
                    | "--progress-every"
                    | "--witness"
                    | "--render"
                    | "--expect"
            );
            if run_flag {
                i += if takes_value(a) && a != "--symmetry" {
                    2
                } else {
                    1
                };
                continue;
            }
            argv.push(a.clone());
            i += 1;
        }
    } else {
        argv.extend(t.model_flags.iter().cloned());
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| format!("its model flags: {e}"))?;
    match cli.command {
        Command::Explore { model, .. } => Ok((protocol, model)),
        _ => unreachable!("parsed as explore"),
    }
}

/// Checks one model configuration as `ballot check` does; with `quiet`, prints nothing (the
/// caller reports the outcome).
fn run_check(
    protocol: Protocol,
    model: &ModelArgs,
    run: &RunArgs,
    quiet: bool,
) -> Result<check::Outcome> {
    let mut opts = check_options(protocol, model, run)?;
    opts.quiet = quiet;
    match protocol {
        Protocol::Paxos => {
            let cfg = model.paxos().map_err(UsageError)?;
            if opts.symmetry {
                bail!(UsageError(
                    "--symmetry: Paxos clients are bound to fixed servers, so its servers are not \
                     interchangeable"
                        .into()
                ));
            }
            check::run(|| cfg.clone().into_model(), &opts, paxos::explain, None)
        }
        Protocol::MultiPaxos => {
            let cfg = model.multi_paxos().map_err(UsageError)?;
            opts.summary = multi_paxos_summary(&cfg);
            let symmetry = opts.symmetry;
            check::run(
                || with_symmetry_check(cfg.clone().into_model(), symmetry),
                &opts,
                multi_paxos::explain,
                Some(server_symmetry),
            )
        }
        Protocol::Raft => {
            let cfg = model.raft().map_err(UsageError)?;
            if opts.symmetry && cfg.retries > 0 {
                bail!(UsageError(
                    "--retries: clients retry round-robin, which treats servers differently; \
                     check with --symmetry false (or --strategy bfs)"
                        .into()
                ));
            }
            let symmetry = opts.symmetry;
            check::run(
                || with_symmetry_check(cfg.clone().into_model(), symmetry),
                &opts,
                raft::explain,
                Some(raft::symmetry),
            )
        }
        Protocol::PrimaryBackup => {
            let cfg = lecture::primary_backup(model).map_err(UsageError)?;
            refuse_symmetry(&opts, protocol)?;
            check::run(
                || cfg.clone().into_model(),
                &opts,
                primary_backup::explain,
                None,
            )
        }
        Protocol::ActiveActive => {
            let cfg = lecture::active_active(model).map_err(UsageError)?;
            refuse_symmetry(&opts, protocol)?;
            check::run(
                || cfg.clone().into_model(),
                &opts,
                active_active::explain,
                None,
            )
        }
        Protocol::TwoPhaseCommit => {
            let cfg = lecture::two_phase_commit(model).map_err(UsageError)?;
            refuse_symmetry(&opts, protocol)?;
            check::run(
                || cfg.clone().into_model(),
                &opts,
                two_phase_commit::explain,
                None,
            )
        }
    }
}

/// The models of the lecture's problems (primary-backup, active-active, two-phase commit)
/// have no symmetry reduction: their servers play different roles.
fn refuse_symmetry(opts: &CheckOptions, protocol: Protocol) -> Result<()> {
    if opts.symmetry {
        bail!(UsageError(format!(
            "--symmetry: {}'s servers play different roles, so they are not interchangeable",
            protocol.name()
        )));
    }
    Ok(())
}

/// One state in this many is checked for the symmetry reduction's assumption (the handlers
/// treat servers alike) when the reduction is on; see `ClusterModel::check_symmetry`.
const SYMMETRY_CHECK_EVERY: u64 = 64;

fn with_symmetry_check<A, C, H>(model: ClusterModel<A, C, H>, on: bool) -> ClusterModel<A, C, H>
where
    A: stateright::actor::Actor,
    A::Msg: Ord + stateright::Rewrite<stateright::actor::Id>,
    A::Timer: Ord,
    A::State: Ord + stateright::Rewrite<stateright::actor::Id> + ServerRole,
    A::Random: stateright::Rewrite<stateright::actor::Id>,
    A::Storage: stateright::Rewrite<stateright::actor::Id>,
    H: Clone
        + std::fmt::Debug
        + std::hash::Hash
        + PartialEq
        + stateright::Rewrite<stateright::actor::Id>,
{
    if on {
        model.check_symmetry(SYMMETRY_CHECK_EVERY)
    } else {
        model
    }
}

fn check_options(protocol: Protocol, model: &ModelArgs, run: &RunArgs) -> Result<CheckOptions> {
    // Raft's default check is DFS with symmetry reduction: the only way its default
    // configuration (crashes, three terms, two writes) is exhaustive within a minute. With a
    // Byzantine server, BFS: its counterexamples are the point, and BFS gives the shortest.
    let liar = model.byzantine.unwrap_or(0) > 0;
    let strategy = run.strategy.unwrap_or(match protocol {
        Protocol::Paxos
        | Protocol::MultiPaxos
        | Protocol::PrimaryBackup
        | Protocol::ActiveActive
        | Protocol::TwoPhaseCommit => Strategy::Bfs,
        Protocol::Raft if liar => Strategy::Bfs,
        Protocol::Raft => Strategy::Dfs,
    });
    let membership = protocol == Protocol::Raft && model.raft.membership == Some(true);
    if membership && run.symmetry == Some(true) {
        bail!(UsageError(
            "--symmetry: with --membership the servers outside the initial configuration are \
             not interchangeable with its members"
                .into()
        ));
    }
    if liar && run.symmetry == Some(true) {
        bail!(UsageError(
            "--symmetry: the Byzantine server is fixed (the last server), so the servers are \
             not interchangeable"
                .into()
        ));
    }
    let symmetry = run
        .symmetry
        .unwrap_or(protocol == Protocol::Raft && strategy == Strategy::Dfs && !liar && !membership);
    if symmetry && strategy != Strategy::Dfs {
        bail!(UsageError(
            "--symmetry needs --strategy dfs (Stateright ignores symmetry in BFS and simulation)"
                .into()
        ));
    }
    let threads = run.threads.unwrap_or(match strategy {
        Strategy::Bfs => 1,
        Strategy::Dfs | Strategy::Simulation => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    });
    if threads == 0 {
        bail!(UsageError("--threads must be at least 1".into()));
    }
    let timeout = match run.timeout {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 => Some(Duration::from_secs_f64(t)),
        Some(t) => bail!(UsageError(format!(
            "--timeout must be a positive number of seconds, got {t}"
        ))),
    };
    if !(run.progress_every.is_finite() && run.progress_every > 0.0) {
        bail!(UsageError(format!(
            "--progress-every must be positive, got {}",
            run.progress_every
        )));
    }
    let variant = model.bug.clone().unwrap_or_else(|| "correct".into());
    let default_dir = PathBuf::from("traces").join("counterexamples");
    let (trace_dir, trace_file) = match &run.trace_out {
        None => (default_dir, None),
        Some(p) if p.extension().is_some_and(|e| e == "json") => (PathBuf::new(), Some(p.clone())),
        Some(p) => (p.clone(), None),
    };
    let model_flags = model.model_flags(protocol).map_err(UsageError)?;
    let flags_hash = flags_hash(protocol, &model_flags);
    let mut command: Vec<String> = std::env::args().skip(1).collect();
    if command.is_empty() {
        command.push("check".into());
    }
    Ok(CheckOptions {
        protocol: protocol.name().into(),
        variant,
        summary: model.summary(protocol),
        strategy,
        threads,
        symmetry,
        timeout,
        max_states: run.max_states,
        seed: run.seed,
        json: run.json,
        trace_dir,
        trace_dir_given: run.trace_out.is_some(),
        trace_file,
        progress_every: Duration::from_secs_f64(run.progress_every),
        command,
        quiet: false,
        witness: run.witness.clone(),
        witness_dir: PathBuf::from("traces").join("witnesses"),
        model_flags,
        flags_hash,
        render: run.render.clone(),
        hints: model.hints(protocol),
        expect: run.expect.clone(),
    })
}

/// The first 8 hex digits of the SHA-256 of the protocol and its complete model flags: part of
/// a trace's file name, so that runs with other flags do not overwrite it.
fn flags_hash(protocol: Protocol, flags: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(protocol.name().as_bytes());
    for f in flags {
        h.update([0u8]);
        h.update(f.as_bytes());
    }
    h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
