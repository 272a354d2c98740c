//! The model: the checked configuration, the ghost history, and the properties under their
//! names in the paper.

use super::*;
use crate::cluster::{Partition, Partitioned};
use crate::forgotten::{self, ForgottenLogs};

/// What the model records besides the actors: the clients' operations (for linearizability) and
/// which server led each term (ghost, for Election Safety).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct RaftHistory {
    /// Client operations, invoked and answered.
    pub clients: KvHistory<ModelKey, ModelValue>,
    /// `(term, server)` for every server that acted as leader of `term` (it sent AppendEntries
    /// in that term), sorted.
    pub leaders: Arc<Vec<(Term, u8)>>,
    /// Ghost: the messages discarded as obsolete on the path (not part of the state's
    /// identity; see [`ClusterModel::discard_obsolete`]).
    pub discarded: Discarded<RaftMsg<ModelKey, ModelValue>>,
    /// Ghost, for the witness "New leader commits after a leader crash" (kept only when servers
    /// can crash): set in a state reached by a step in which the leader of a term committed
    /// (applied an entry in its own term) while a leader of an earlier term had crashed before;
    /// cleared by the next step ([`failover_step`]).
    pub failover_commit: bool,
    /// Whether the network is split (`--partitions`; always whole without it). Part of the
    /// state's identity.
    pub partition: Partition,
    /// How many messages the Byzantine server forged on the path (`--byzantine 1`; always 0
    /// without it).
    pub forged: u8,
    /// Ghost, with `--volatile-applied`: the applied entries a server had before a crash (or a
    /// loss of storage) took them back, while it has not applied them again; sorted by
    /// server. The properties that read decision logs read these too, so that an entry
    /// applied and then forgotten still counts ([`forget_step`]). Empty otherwise.
    pub forgotten: ForgottenLogs<AppliedLog>,
}

/// A server's applied entries and their ghost terms ([`RaftStorage::applied`],
/// [`RaftStorage::applied_terms`]), as [`RaftHistory::forgotten`] keeps them.
pub type AppliedLog = (
    SharedVec<(Slot, Entry<ModelKey, ModelValue>)>,
    SharedVec<Applied>,
);

impl Partitioned for RaftHistory {
    fn partition(&self) -> &Partition {
        &self.partition
    }
    fn partition_mut(&mut self) -> &mut Partition {
        &mut self.partition
    }
}

impl Rewrite<Id> for RaftHistory {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        let mut leaders: Vec<(Term, u8)> = self
            .leaders
            .iter()
            .map(|(t, s)| (*t, rewrite_server_index(*s, plan)))
            .collect();
        leaders.sort();
        RaftHistory {
            clients: self.clients.rewrite(plan),
            leaders: Arc::new(leaders),
            discarded: self.discarded.rewrite(plan),
            failover_commit: self.failover_commit,
            partition: self.partition.rewrite(plan),
            forged: self.forged,
            forgotten: forgotten::rewrite(&self.forgotten, |i| rewrite_server_index(i, plan)),
        }
    }
}

/// The checked model.
pub type RaftModel = ClusterModel<RaftActor<ModelKey, ModelValue>, RaftConfig, RaftHistory>;

/// A state of the checked model.
pub type RaftModelState = ActorModelState<RaftActor<ModelKey, ModelValue>, RaftHistory>;

/// The configuration of a Raft model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftConfig {
    /// Servers, clients, network, crashes.
    pub cluster: ClusterConfig,
    /// The highest term an election may start (`--max-term`).
    pub max_term: Term,
    /// The longest log a leader appends to (`--max-log`).
    pub max_log: Index,
    /// Requests per client (`--requests`): put, then cas, then get, cycling.
    pub requests: usize,
    /// Retries per request (`--retries`).
    pub retries: u8,
    /// New leaders append a no-op when they hold uncommitted entries (`--noop`).
    pub noop: bool,
    /// Gets go through the log like writes (`--log-reads`), instead of ReadIndex (the leader
    /// answers from its state machine after a confirmation round, as real runs do).
    pub log_reads: bool,
    /// Discard messages that the term rule makes obsolete (`--discard-obsolete`; see
    /// [`ClusterModel::discard_obsolete`]).
    pub discard_obsolete: bool,
    /// At most this many losses of storage in a run, one server rejoining at a time (`--wipes`;
    /// 0: storage is never lost). See [`Rejoin`] and [`ClusterModel::wipes`].
    pub wipes: usize,
    /// Servers may compact their logs, and leaders send InstallSnapshot (`--snapshots`; §7).
    pub snapshots: bool,
    /// Leaders append entries of their term on their own, as the TLA+ specification's
    /// `ClientRequest` does (`--appends`; [`RaftServer::appends`]).
    pub appends: bool,
    /// Single-server membership changes (`--membership`; dissertation §4.1): leaders add and
    /// remove servers through configuration entries in the log.
    pub membership: bool,
    /// With `membership`: how many servers (the last ones) start outside the initial
    /// configuration (`--spares`).
    pub spares: usize,
    /// With `membership`: the most configuration entries a leader's log may hold (`--changes`).
    pub changes: usize,
    /// With `membership`: a new server is caught up as a learner before it is added
    /// (`--learners`, default on; dissertation §4.2.1, [`Membership::learners`]). The model
    /// allows no gap: a round during which the leader appended anything is followed by another.
    pub learners: bool,
    /// Heartbeat timeouts per term of a leader (`--heartbeats`): each sends every follower
    /// AppendEntries from its `nextIndex` (InstallSnapshot if the snapshot discarded it), as a
    /// real leader does when a message was lost or nothing happened for a while. 0: none.
    pub heartbeats: u32,
    /// Pipelined replication (`--pipeline N`, dissertation §10.2.2; [`RaftServer::pipeline`]):
    /// leaders send followers in step with them each entry once, on a replicate timer, with at
    /// most N entries unacknowledged per follower. 0: Figure 2's replication only.
    pub pipeline: Index,
    /// Applying an entry saves nothing by itself (`--volatile-applied`;
    /// [`RaftServer::volatile_applied`]): a crash may take applied entries back, and the
    /// server applies them again. `false`: each applied entry is saved by the step that
    /// applies it.
    pub volatile_applied: bool,
    /// Writing to the leader's disk in parallel (`--parallel-write`, dissertation §10.2.1;
    /// [`RaftServer::parallel_write`]): a leader sends the entries it appends before it saves
    /// them, saves them on its write timer, and counts itself only then. `false`: it saves
    /// them first.
    pub parallel_write: bool,
    /// The mutant to run, if any (`--bug`).
    pub bug: Option<RaftBug>,
}

impl Default for RaftConfig {
    fn default() -> Self {
        Self {
            cluster: ClusterConfig {
                servers: 3,
                clients: 2,
                crashes: 1,
                ..ClusterConfig::default()
            },
            max_term: 2,
            max_log: 2,
            requests: 1,
            retries: 0,
            noop: false,
            log_reads: false,
            discard_obsolete: true,
            wipes: 0,
            snapshots: false,
            appends: false,
            membership: false,
            spares: 1,
            changes: 2,
            learners: true,
            heartbeats: 0,
            pipeline: 0,
            volatile_applied: false,
            parallel_write: false,
            bug: None,
        }
    }
}

impl RaftConfig {
    /// Checks the configuration, naming the flag that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster.validate()?;
        if self.cluster.clients > 26 {
            return Err(format!(
                "--clients must be at most 26 (values A..Z), got {}",
                self.cluster.clients
            ));
        }
        if self.max_term == 0 || self.max_term > 15 {
            return Err(format!(
                "--max-term must be between 1 and 15, got {}",
                self.max_term
            ));
        }
        if self.heartbeats == UNBOUNDED {
            return Err(format!(
                "--heartbeats must be below {UNBOUNDED} (that value means unbounded, in real runs)"
            ));
        }
        if self.max_log == 0 || self.max_log > 15 {
            return Err(format!(
                "--max-log must be between 1 and 15, got {}",
                self.max_log
            ));
        }
        if self.requests > 9 {
            return Err(format!(
                "--requests must be at most 9, got {}",
                self.requests
            ));
        }
        if self.wipes > 0 && self.cluster.crash_stop {
            return Err(
                "--wipes restarts a server with empty storage; it cannot be combined \
                        with --crash-stop"
                    .into(),
            );
        }
        if self.wipes > 9 {
            return Err(format!("--wipes must be at most 9, got {}", self.wipes));
        }
        if self.membership {
            if self.spares >= self.cluster.servers {
                return Err(format!(
                    "--spares must leave at least one server in the initial configuration: \
                     --spares {} with --servers {}",
                    self.spares, self.cluster.servers
                ));
            }
            if self.changes == 0 || self.changes > 9 {
                return Err(format!(
                    "--changes must be between 1 and 9, got {}",
                    self.changes
                ));
            }
            for (given, flag) in [
                (self.snapshots, "--snapshots"),
                (self.wipes > 0, "--wipes"),
                (self.cluster.byzantine_server().is_some(), "--byzantine"),
            ] {
                if given {
                    return Err(format!(
                        "--membership cannot be combined with {flag} (not modelled together: a \
                         snapshot would have to carry the configuration, a rejoining server \
                         waits for every peer, and the forger's domain has no configuration \
                         entries)"
                    ));
                }
            }
        }
        self.forgeries()?;
        Ok(())
    }

    /// Builds the model: servers `0..n`, then clients; client `c` sends first to server
    /// `c mod n`.
    ///
    /// Leaders send no timer-driven heartbeats in the model unless `--heartbeats N` (then at
    /// most N a term): the checker fires a timer at any moment, so heartbeats would not hold off
    /// elections, and a leader already sends AppendEntries on every change (election, new
    /// entry, a follower's result; a commit alone sends nothing). With a lossless network nothing needs resending; with `--lossy`
    /// the check covers safety under message loss, not progress. A heartbeat is the one send
    /// that no change prompts: with it, a leader sends InstallSnapshot to a follower whose
    /// answer is still on its way.
    pub fn into_model(self) -> RaftModel {
        let n = self.cluster.servers;
        let peers: Vec<Id> = (0..n).map(Id::from).collect();
        // With `--membership`, the last `spares` servers start outside the configuration.
        let members = if self.membership { n - self.spares } else { n };
        let membership = self.membership.then(|| Membership {
            by_request: false,
            initial: ServerSet::first(members),
            max_changes: self.changes,
            learners: self.learners.then_some(0),
        });
        let server = RaftServer {
            peers: peers.clone(),
            max_term: self.max_term,
            max_log: self.max_log,
            noop: self.noop,
            heartbeats: self.heartbeats,
            pipeline: self.pipeline,
            volatile_applied: self.volatile_applied,
            parallel_write: self.parallel_write,
            log_reads: self.log_reads,
            snapshots: self.snapshots,
            appends: self.appends,
            membership,
            bug: self.bug,
        };
        let clients: Vec<_> = (0..self.cluster.clients)
            .map(|c| {
                RaftActor::Client(KvClient {
                    // The clients know the initial configuration.
                    servers: peers[..members].to_vec(),
                    ops: client_ops(c, self.requests),
                    first: c % members,
                    max_retries: self.retries,
                })
            })
            .collect();
        let network = self.cluster.network.network();
        let (lossy_net, crashes) = (lossy(self.cluster.lossy), self.cluster.crashes);
        let crash_stop = self.cluster.crash_stop;
        let (discard, wipes) = (self.discard_obsolete, self.wipes);
        let partitions = self.cluster.partitions;
        let snapshots = self.snapshots;
        let membership = self.membership;
        let volatile_applied = self.volatile_applied;
        let parallel_write = self.parallel_write;
        // Two commands in flight at once (two clients that write) can both reach a leader
        // before either commits; the commit rule is then exercised with several uncommitted
        // entries. A get is a command in the log only with `--log-reads`.
        let (logged, writers, readers) =
            logged_ops(self.cluster.clients, self.requests, self.log_reads);
        let two_uncommitted = writers >= 2 && self.max_log >= 2;
        // The lecture's scenarios, as runs to reach (`ballot check raft --witness all`). A
        // conflict needs a leader of a later term with an entry of its own and a follower
        // holding an entry of an earlier term at the same index: two clients (or a new
        // leader's no-op) give both.
        let happy = logged >= 1;
        let re_elect = self.max_term >= 2;
        let conflict =
            self.max_term >= 2 && self.max_log >= 1 && (writers >= 2 || (self.noop && logged >= 1));
        let history = RaftHistory {
            clients: KvHistory::new(KvSpec::default()),
            leaders: Arc::default(),
            discarded: Discarded::default(),
            failover_commit: false,
            partition: Partition::default(),
            forged: 0,
            forgotten: Arc::default(),
        };
        let byzantine = self.cluster.byzantine_server().map(|server| Byzantine {
            server,
            max_sends: self.cluster.byzantine_sends,
            forgeries: Arc::new(
                self.forgeries()
                    .expect("--byzantine-forge is checked by validate()"),
            ),
            sent: |h: &RaftHistory| h.forged as usize,
            count: |h: &mut RaftHistory| h.forged += 1,
        });
        let inner = ActorModel::new(self, history)
            .actors((0..n).map(|_| RaftActor::Server(server.clone())))
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy_net)
            .max_crashes(crashes)
            .record_msg_out(record_out)
            .record_msg_in(record_in);
        let mut model = ClusterModel::new(inner, n)
            .crashes_as(crash_stop)
            .partitions(partitions);
        if !crash_stop {
            // Lost storage is modelled as a restart (validate refuses it with crash-stop).
            model = model.wipes(Wipes {
                max: wipes,
                at_once: 1,
                lost: |previous| RaftStorage::lost(previous.map_or(0, |d| d.incarnation) + 1),
                losses: |d| d.incarnation as usize,
                rejoining: |d| d.rejoin.is_some(),
            });
        }
        if discard {
            model = model.discard_obsolete(obsolete, |h| &mut h.discarded);
        }
        if let Some(b) = byzantine {
            model = model.byzantine(b);
        }
        let model = model
            .always("Election Safety", |m, s| election_safety(m, s).is_none())
            .always("Leader Append-Only", |m, s| {
                leader_append_only(m, s).is_none()
            })
            .always("Log Matching", |m, s| log_matching(m, s).is_none())
            .always("Leader Completeness", |m, s| {
                leader_completeness(m, s).is_none()
            })
            .always("State Machine Safety", |m, s| {
                state_machine_safety(m, s).is_none()
            })
            .always("Agreement", |m, s| props::agreement(&View(m, s)))
            .always("Validity", |m, s| props::validity(&View(m, s)))
            .always("Integrity", |m, s| props::integrity(&View(m, s)))
            .always("Linearizability", |_, s| {
                s.history.clients.is_linearizable()
            })
            .sometimes("Leader elected", |m, s| {
                servers(m, s).any(|(_, s)| s.is_leader())
            })
            .sometimes("Entry committed", |m, s| {
                props::decided_somewhere(&View(m, s))
            });
        let model = if wipes == 0 {
            model
        } else {
            model.sometimes("A server that lost its storage rejoins", |m, s| {
                servers(m, s).any(|(_, s)| s.rejoined)
            })
        };
        let model = if snapshots {
            model.sometimes(
                "Snapshot: a leader's InstallSnapshot reaches a follower",
                |m, s| snapshot_installed(m, s).is_some(),
            )
        } else {
            model
        };
        let model = if membership {
            model
                .sometimes("Membership: a configuration change commits", |m, s| {
                    config_committed(m, s).is_some()
                })
                .sometimes("Membership: a removed leader steps down", |m, s| {
                    removed_leader_stepped_down(m, s).is_some()
                })
        } else {
            model
        };
        let model = if parallel_write {
            model.sometimes(
                "Parallel write: a follower stores an entry before its leader",
                |m, s| stored_before_leader(m, s).is_some(),
            )
        } else {
            model
        };
        let model = if readers > 0 {
            model.sometimes("A read answered without the log", |m, s| {
                read_answered_without_log(m, s).is_some()
            })
        } else {
            model
        };
        let model = if happy {
            model.sometimes(
                "Happy path: a client's request committed and answered",
                |m, s| happy_path(m, s).is_some(),
            )
        } else {
            model
        };
        let model = if re_elect {
            model.sometimes("Re-election: another leader in a later term", |m, s| {
                re_election(m, s).is_some()
            })
        } else {
            model
        };
        let model = if re_elect && partitions > 0 {
            model.sometimes("A leader on each side of a partition", |m, s| {
                leaders_apart(m, s).is_some()
            })
        } else {
            model
        };
        let model = if conflict {
            model.sometimes(
                "Repair: a leader overwrites a follower's conflicting entry",
                |m, s| conflicting_entry_overwritten(m, s).is_some(),
            )
        } else {
            model
        };
        let model = if two_uncommitted {
            model.sometimes("Leader holds two uncommitted entries", |m, s| {
                servers(m, s)
                    .any(|(_, s)| s.is_leader() && s.durable.last_log_index() >= s.commit_index + 2)
            })
        } else {
            model
        };
        if crashes == 0 {
            // Without crashes there is no crash scenario to witness: a configuration without
            // them is checked for everything else, not failed for this.
            return if volatile_applied && wipes > 0 {
                model.ghost_step(forget_step)
            } else {
                model
            };
        }
        let model = model
            .ghost_step(|m, last, crashed, next| {
                failover_step(m, last, crashed, next);
                if m.cfg().volatile_applied {
                    forget_step(m, last, crashed, next);
                }
            })
            .sometimes("New leader commits after a leader crash", |_, s| {
                s.history.failover_commit
            });
        if volatile_applied && !crash_stop {
            model.sometimes("A crash takes applied entries back", |m, s| {
                applied_taken_back(m, s).is_some()
            })
        } else {
            model
        }
    }
}

/// The messages the model discards: those their receiver ignores in every reachable state.
pub(super) fn obsolete(
    m: &RaftModel,
    s: &RaftModelState,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> bool {
    let dst = usize::from(env.dst);
    match (
        m.inner.actors.get(dst),
        s.actor_states.get(dst).map(|a| &**a),
    ) {
        (Some(RaftActor::Server(server)), Some(RaftState::Server(state))) => {
            let Some(from) = server.index_of(env.src) else {
                return false;
            };
            server.ignores_forever(
                state,
                s.actor_storages[dst].as_ref(),
                from,
                env.msg,
                m.wipes_left(s) > 0,
                // A follower's log shrinks (storage lost), or a failure the follower sent
                // before its success arrives after it (a duplicate, or the answer to a
                // heartbeat's repeat of an AppendEntries it could not take, or one of the
                // requests pipelining sent ahead of the answers): `matchIndex` may go back to 0
                // ([`RaftServer::on_replication_result`]).
                m.cfg().wipes > 0
                    || m.cfg().cluster.network == NetworkKind::Duplicating
                    || m.cfg().heartbeats > 0
                    || m.cfg().pipeline > 0,
            )
        }
        (Some(RaftActor::Client(_)), Some(RaftState::Client(c))) => match env.msg {
            // A client answered `done` requests and never goes back.
            RaftMsg::Reply(r) => r.req() <= c.done as u32,
            _ => false,
        },
        _ => false,
    }
}

fn record_out(
    cfg: &RaftConfig,
    h: &RaftHistory,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> Option<RaftHistory> {
    match env.msg {
        RaftMsg::AppendEntries { term, .. } | RaftMsg::InstallSnapshot { term, .. }
            if usize::from(env.src) < cfg.cluster.servers =>
        {
            let led = (*term, usize::from(env.src) as u8);
            let at = h.leaders.binary_search(&led).err()?;
            let mut next = h.clone();
            Arc::make_mut(&mut next.leaders).insert(at, led);
            Some(next)
        }
        _ => {
            let clients = record_request(cfg, &h.clients, env)?;
            Some(RaftHistory {
                clients,
                ..h.clone()
            })
        }
    }
}

fn record_in(
    cfg: &RaftConfig,
    h: &RaftHistory,
    env: Envelope<&RaftMsg<ModelKey, ModelValue>>,
) -> Option<RaftHistory> {
    let clients = record_reply(cfg, &h.clients, env)?;
    Some(RaftHistory {
        clients,
        ..h.clone()
    })
}

type ModelServer = ServerState<ModelKey, ModelValue>;

/// The servers' states, with their indices.
fn servers<'a>(
    m: &'a RaftModel,
    s: &'a RaftModelState,
) -> impl Iterator<Item = (usize, &'a ModelServer)> + 'a {
    (0..m.servers).map(move |i| match &*s.actor_states[i] {
        RaftState::Server(server) => (i, server),
        RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
    })
}

/// **Election Safety** (§5.2, Figure 3): at most one leader can be elected in a given term.
/// Checked on the ghost record of every server that acted as leader (sent AppendEntries) in each
/// term, so that a leader that crashed or stepped down still counts.
pub fn election_safety(_: &RaftModel, s: &RaftModelState) -> Option<String> {
    s.history
        .leaders
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .map(|w| {
            format!(
                "servers {} and {} were both leader of term {}",
                w[0].1, w[1].1, w[0].0
            )
        })
}

/// **Leader Append-Only** (§5.3, Figure 3): a leader never overwrites or deletes entries in its
/// log; it only appends new entries. Each step of a leader compares its log before and after
/// (in [`RaftServer`]'s step wrapper) and sets a ghost flag if the old log is not a prefix of the
/// new one.
pub fn leader_append_only(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    servers(m, s).find(|(_, s)| s.leader_overwrote).map(|(i, s)| {
        format!(
            "server {i}, leader of term {}, overwrote or deleted entries of its own log (now {:?})",
            s.durable.current_term, s.durable.log
        )
    })
}

/// **Log Matching** (§5.3, Figure 3): if two logs contain an entry with the same index and term,
/// then the logs are identical in all entries up through the given index. Checked on every pair
/// of servers' logical logs (with `--snapshots`, the entries a snapshot discarded are those
/// the server applied: [`logical_log`]).
pub fn log_matching(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let all: Vec<_> = servers(m, s)
        .map(|(i, x)| (i, logical_log(&x.durable)))
        .collect();
    for (a, la) in &all {
        for (b, lb) in all.iter().filter(|(b, _)| b > a) {
            let (la, lb) = (&la[..], &lb[..]);
            let common = la.len().min(lb.len());
            if let Some(i) = (0..common).rev().find(|&i| la[i].term == lb[i].term)
                && la[..=i] != lb[..=i]
            {
                return Some(format!(
                    "servers {a} and {b} both hold a term-{} entry at index {} but their logs \
                     differ before it: {:?} vs {:?}",
                    la[i].term,
                    i + 1,
                    &la[..=i],
                    &lb[..=i]
                ));
            }
        }
    }
    None
}

/// **Leader Completeness** (§5.4, Figure 3): if a log entry is committed in a given term, then
/// that entry will be present in the logs of the leaders for all higher-numbered terms. Every
/// applied entry was committed in (at most) the term its server was in when it applied it; so
/// every current leader whose term is higher must hold that entry at that index in its logical
/// log (with `--snapshots`: in its snapshot or its log, [`logical_log`]).
pub fn leader_completeness(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    for (l, leader) in servers(m, s).filter(|(_, s)| s.is_leader()) {
        let term = leader.durable.current_term;
        let log = logical_log(&leader.durable);
        for (who, applied_entries, applied_terms) in decision_logs(m, s) {
            for ((slot, entry), applied) in applied_entries.iter().zip(applied_terms.iter()) {
                if applied.at >= term {
                    continue;
                }
                let held = log.get(*slot as usize - 1);
                if held.is_none_or(|e| e.term != applied.term || e.entry != *entry) {
                    return Some(format!(
                        "{} applied {:?} at index {slot} in term {}, but server {l}, \
                         leader of the later term {term}, holds {} there",
                        who.name(),
                        LogEntry {
                            term: applied.term,
                            entry: entry.clone()
                        },
                        applied.at,
                        held.map_or("nothing".to_string(), |e| format!("{e:?}"))
                    ));
                }
            }
        }
    }
    None
}

/// Whose decision log: a server's, or what a crash took back from it
/// ([`RaftHistory::forgotten`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    /// Server `i`'s applied entries.
    Server(usize),
    /// What server `i` had applied before a crash took some of it back.
    Forgotten(usize),
}

impl Who {
    fn name(self) -> String {
        match self {
            Who::Server(i) => format!("server {i}"),
            Who::Forgotten(i) => format!("server {i} (before a crash took it back)"),
        }
    }
}

/// Every server's applied entries with their ghost terms, then what crashes took back
/// ([`RaftHistory::forgotten`], `--volatile-applied`).
type DecisionLog<'a> = (
    Who,
    &'a SharedVec<(Slot, Entry<ModelKey, ModelValue>)>,
    &'a SharedVec<Applied>,
);

fn decision_logs<'a>(
    m: &'a RaftModel,
    s: &'a RaftModelState,
) -> impl Iterator<Item = DecisionLog<'a>> + 'a {
    servers(m, s)
        .map(|(i, x)| (Who::Server(i), &x.durable.applied, &x.durable.applied_terms))
        .chain(
            s.history
                .forgotten
                .iter()
                .map(|f| (Who::Forgotten(f.server as usize), &f.log.0, &f.log.1)),
        )
}

/// **State Machine Safety** (§5.4.3, Figure 3): if a server has applied a log entry at a given
/// index to its state machine, no other server will ever apply a different log entry for the
/// same index. Checked on the decision logs (entry and term), pairwise, those a crash took
/// back included ([`RaftHistory::forgotten`]).
pub fn state_machine_safety(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let all: Vec<_> = decision_logs(m, s)
        .map(|(who, applied, terms)| {
            let entries: Vec<(Slot, Term, &Entry<ModelKey, ModelValue>)> = applied
                .iter()
                .zip(terms.iter())
                .map(|((slot, e), a)| (*slot, a.term, e))
                .collect();
            (who, entries)
        })
        .collect();
    for (a, ea) in &all {
        for (b, eb) in all.iter().filter(|(b, _)| b >= a) {
            for (slot, ta, xa) in ea {
                for (slot_b, tb, xb) in eb {
                    if slot == slot_b && (ta != tb || xa != xb) {
                        return Some(format!(
                            "{} applied {:?} and {} applied {:?} at index {slot}",
                            a.name(),
                            LogEntry {
                                term: *ta,
                                entry: (*xa).clone()
                            },
                            b.name(),
                            LogEntry {
                                term: *tb,
                                entry: (*xb).clone()
                            }
                        ));
                    }
                }
            }
        }
    }
    None
}

/// Keeps [`RaftHistory::failover_commit`]: true exactly in a state reached by a step (not a
/// crash) in which a leader of term T applied an entry in term T (it committed, §5.3–5.4) while
/// a crashed leader of an earlier term is visible ([`crashed_leader`]). The crash is then
/// before the commit on the path, which the servers' states alone cannot tell: a leader of a
/// later term may commit while an old leader, cut off, still leads its term and crashes only
/// afterwards. The flag is cleared by the next step, so that states differ by it only right
/// after such a commit (a flag kept for the rest of the path grew the default check by a
/// third).
fn failover_step(
    m: &RaftModel,
    last: &RaftModelState,
    crashed: Option<usize>,
    next: &mut RaftModelState,
) {
    let commit = crashed.is_none()
        && servers(m, next).any(|(i, new)| {
            let term = new.durable.current_term;
            let before = match &*last.actor_states[i] {
                RaftState::Server(s) => s.durable.applied_terms.len(),
                RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
            };
            new.is_leader()
                && new
                    .durable
                    .applied_terms
                    .iter()
                    .skip(before)
                    .any(|a| a.at == term)
                && crashed_leader(m, next, term).is_some()
        });
    if next.history.failover_commit != commit {
        next.history.failover_commit = commit;
    }
}

/// Keeps [`RaftHistory::forgotten`] (`--volatile-applied`): when a crash or a loss of storage
/// takes applied entries back from a server, the ghost keeps what it had applied (the longer
/// record, if it already had one); once the server has applied the same entries again, the
/// record goes. A server that applies something else at an index of its record keeps it, and
/// State Machine Safety compares the two.
fn forget_step(
    _: &RaftModel,
    last: &RaftModelState,
    crashed: Option<usize>,
    next: &mut RaftModelState,
) {
    let applied_of = |st: &RaftModelState, i: usize| match &*st.actor_states[i] {
        RaftState::Server(x) => (x.durable.applied.clone(), x.durable.applied_terms.clone()),
        RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
    };
    if let Some(kept) = forgotten::keep(
        &next.history.forgotten,
        crashed,
        |i| applied_of(last, i),
        |i| applied_of(next, i),
    ) {
        next.history.forgotten = kept;
    }
}

/// `--volatile-applied` at work: a crash (or a loss of storage) took back applied entries that
/// no later step saved, and the server has not applied them all again
/// ([`RaftHistory::forgotten`]).
fn applied_taken_back(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let f = s.history.forgotten.first()?;
    let (_, now) = servers(m, s).nth(f.server as usize)?;
    Some(format!(
        "server {} had applied {} entries and restarted with {} of them applied (the rest \
         were never saved); it applies them again once it learns they are committed",
        f.server,
        f.log.0.len(),
        now.durable.applied.len()
    ))
}

/// `--parallel-write` at work (dissertation §10.2.1): a leader has sent an entry it has not
/// saved yet, and a follower has stored it (a follower saves before it acknowledges).
fn stored_before_leader(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let all: Vec<_> = servers(m, s).collect();
    all.iter().find_map(|&(l, leader)| {
        let w = leader.written.filter(|_| leader.is_leader())?;
        let index = w + 1;
        let entry = leader.durable.entry(index)?;
        let (f, _) = all.iter().find(|&&(f, follower)| {
            f != l
                && follower.durable.current_term == leader.durable.current_term
                && follower.durable.entry(index) == Some(entry)
        })?;
        Some(format!(
            "server {f} stores entry {index} of leader {l}, which has saved its log only up to {w}"
        ))
    })
}

/// A server that led a term below `below` and crashed: still in that term, it is no longer
/// leader (a leader steps down only for a higher term, so it crashed and restarted), or, with
/// `--crash-stop`, it is down for good (its last state, a leader's, stays as it was). Returns
/// the server and the term. A crashed leader that has since heard of a later term is no
/// longer recognized, so the witness looks for paths in which it has not.
fn crashed_leader(m: &RaftModel, s: &RaftModelState, below: Term) -> Option<(usize, Term)> {
    let all: Vec<_> = servers(m, s).collect();
    s.history.leaders.iter().find_map(|&(t, old)| {
        let (i, server) = all[old as usize];
        let gone = !server.is_leader() || s.crashed[i];
        (t < below && server.durable.current_term == t && gone).then_some((i, t))
    })
}

/// The network is split and each side has a leader, of different terms (§5.2: the old leader,
/// cut off, does not know that the majority elected another).
fn leaders_apart(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let cut = m.partition_of(s);
    let leaders: Vec<(usize, Term)> = servers(m, s)
        .filter(|(i, x)| x.is_leader() && !s.crashed[*i])
        .map(|(i, x)| (i, x.durable.current_term))
        .collect();
    leaders.iter().find_map(|&(a, ta)| {
        let (b, tb) = *leaders
            .iter()
            .find(|(b, _)| cut.separates(Id::from(a), Id::from(*b)))?;
        (ta < tb).then(|| {
            format!(
                "server {a} leads term {ta} and server {b} term {tb}, on the two sides of the \
                 network's {cut:?}"
            )
        })
    })
}

/// Log compaction at work (§7): an InstallSnapshot is in flight to a follower of the leader's
/// term that has not applied the snapshot's last included entry: delivered, the follower
/// installs it (Figure 13). The witness ends just before that delivery.
fn snapshot_installed(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    if !servers(m, s).any(|(_, x)| x.durable.snapshot_index > 0) {
        return None;
    }
    let all: Vec<_> = servers(m, s).collect();
    crate::cluster::in_flight(&s.network)
        .into_iter()
        .find_map(|(env, _)| {
            let RaftMsg::InstallSnapshot {
                term,
                last_included_index,
                ..
            } = env.msg
            else {
                return None;
            };
            let (src, dst) = (usize::from(env.src), usize::from(env.dst));
            let (_, follower) = all.get(dst)?;
            (*term >= follower.durable.current_term
                && follower.durable.applied.len() < *last_included_index as usize
                && !follower.is_rejoining())
            .then(|| {
                format!(
                    "server {src}'s InstallSnapshot of term {term} (entries up to index \
                 {last_included_index}) is in flight to server {dst}, which has applied {}: \
                 delivered, server {dst} installs it",
                    follower.durable.applied.len()
                )
            })
        })
}

/// A configuration change committed (dissertation §4.1): a server applied a configuration
/// entry.
fn config_committed(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    servers(m, s).find_map(|(i, x)| {
        x.durable.applied.iter().find_map(|(slot, e)| match e {
            Entry::Config(members) => Some(format!(
                "server {i} applied the configuration {:?} at index {slot}",
                members.iter().collect::<Vec<_>>()
            )),
            Entry::Noop | Entry::Cmd(_) => None,
        })
    })
}

/// A leader removed itself (dissertation §4.2.2): a server that led its current term is no
/// longer leader, is up, and its latest configuration, which it knows to be committed, leaves
/// it out.
fn removed_leader_stepped_down(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    servers(m, s).find_map(|(i, x)| {
        let term = x.durable.current_term;
        let (index, members) = x.durable.latest_config()?;
        (!x.is_leader()
            && !s.crashed[i]
            && !members.contains(i)
            && x.commit_index >= index
            && s.history.leaders.binary_search(&(term, i as u8)).is_ok())
        .then(|| {
            format!(
                "server {i} led term {term}, committed the configuration {:?} (index {index}) \
                 that removes it, and stepped down",
                members.iter().collect::<Vec<_>>()
            )
        })
    })
}

/// ReadIndex (dissertation §6.4) at work: a client has the answer to a get, which no log
/// entry carried (without `--log-reads`).
fn read_answered_without_log(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    (m.servers..s.actor_states.len()).find_map(|c| {
        match (&m.inner.actors[c], &*s.actor_states[c]) {
            (RaftActor::Client(client), RaftState::Client(state))
                if read_answered(client, state) =>
            {
                Some(format!(
                    "client {} has the answer to a get, served by a leader from its state machine after a confirmation round",
                    c - m.servers
                ))
            }
            _ => None,
        }
    })
}

/// The happy path (§5.3): a client's request was committed and the client has its answer.
fn happy_path(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let answered = (m.servers..s.actor_states.len())
        .find(|&c| matches!(&*s.actor_states[c], RaftState::Client(k) if k.done >= 1))?;
    let (leader, server) = servers(m, s).find(|(_, x)| x.commit_index >= 1)?;
    Some(format!(
        "client {} has the answer to its first request; server {leader} (term {}) has committed \
         {} entr{}",
        answered - m.servers,
        server.durable.current_term,
        server.commit_index,
        if server.commit_index == 1 { "y" } else { "ies" }
    ))
}

/// A leader failure and re-election (§5.2): a server leads a later term than another server
/// led.
fn re_election(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    let leaders = &s.history.leaders;
    let _ = m;
    leaders.iter().find_map(|&(t1, a)| {
        leaders
            .iter()
            .find(|&&(t2, b)| t2 > t1 && b != a)
            .map(|&(t2, b)| {
                format!("server {a} led term {t1}; server {b} was elected leader of term {t2}")
            })
    })
}

/// A follower's log repaired (§5.3): an AppendEntries in flight from a leader will, when
/// delivered, replace an entry of the follower's log by a different one of a later term (the
/// follower accepts it: the term is current and the entry before matches). The witness ends
/// just before that delivery, with the conflict still visible.
fn conflicting_entry_overwritten(m: &RaftModel, s: &RaftModelState) -> Option<String> {
    // Cheap first (this runs on every state): some server's log must end in an entry older
    // than the latest term.
    let latest = servers(m, s)
        .map(|(_, x)| x.durable.current_term)
        .max()
        .unwrap_or(0);
    if !servers(m, s)
        .any(|(_, x)| x.durable.last_log_index() > 0 && x.durable.last_log_term() < latest)
    {
        return None;
    }
    let all: Vec<_> = servers(m, s).collect();
    for (env, _) in crate::cluster::in_flight(&s.network) {
        let RaftMsg::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries,
            ..
        } = env.msg
        else {
            continue;
        };
        let (src, dst) = (usize::from(env.src), usize::from(env.dst));
        let Some((_, follower)) = all.get(dst) else {
            continue;
        };
        if src >= m.servers || *term < follower.durable.current_term {
            continue;
        }
        let log = logical_log(&follower.durable);
        let prev = *prev_log_index as usize;
        let matches = prev == 0 || log.get(prev - 1).is_some_and(|e| e.term == *prev_log_term);
        if !matches {
            continue;
        }
        for (k, new) in entries.iter().enumerate() {
            if let Some(old) = log.get(prev + k)
                && old.term != new.term
            {
                return Some(format!(
                    "server {src}'s AppendEntries of term {term} to server {dst} is in flight: \
                     delivered, it replaces server {dst}'s entry {old:?} at index {} by {new:?}",
                    prev + k + 1,
                ));
            }
        }
    }
    None
}

/// The consensus view of a model state: servers' decision logs (applied entries), clients'
/// commands.
pub struct View<'a>(pub &'a RaftModel, pub &'a RaftModelState);

impl ConsensusView for View<'_> {
    type Value = Entry<ModelKey, ModelValue>;

    fn server_count(&self) -> usize {
        self.0.servers
    }

    /// Empty for the Byzantine server: its state means nothing, and the properties are about
    /// the honest servers.
    fn decision_log(&self, server: usize) -> &[(Slot, Self::Value)] {
        if self.0.is_byzantine(server) {
            return &[];
        }
        let live = match &*self.1.actor_states[server] {
            RaftState::Server(s) => s.durable.applied.as_slice(),
            RaftState::Client(_) => unreachable!("actors 0..servers are servers"),
        };
        // What a crash took back (`--volatile-applied`), while the server has not applied it
        // again; State Machine Safety compares the two.
        match forgotten::of(&self.1.history.forgotten, server) {
            Some((applied, _)) if applied.len() > live.len() => applied.as_slice(),
            _ => live,
        }
    }

    fn is_proposed(&self, value: &Self::Value) -> bool {
        match value {
            // No-ops and configuration entries come from leaders.
            Entry::Noop | Entry::Config(_) => true,
            Entry::Cmd(cmd) => self
                .0
                .inner
                .actors
                .iter()
                .enumerate()
                .any(|(i, a)| matches!(a, RaftActor::Client(c) if c.issued(Id::from(i), cmd))),
        }
    }

    // `reapplied` keeps its default (none): Raft's servers always apply with deduplication,
    // so no request runs twice (`KvStateMachine::apply` with `dedup` never records one).
    /// "client 0" for the first client actor, as the printed steps name it.
    fn client_name(&self, client: ballot_properties::linearizability::ClientId) -> String {
        self.0.actor_name(Id::from(client))
    }
}

/// Why `state` violates `property` (an "always" property), or how it satisfies it (a
/// "sometimes" property), in words, for counterexamples and witnesses.
pub fn explain(model: &RaftModel, state: &RaftModelState, property: &str) -> Option<String> {
    match property {
        "Election Safety" => election_safety(model, state),
        "Leader Append-Only" => leader_append_only(model, state),
        "Log Matching" => log_matching(model, state),
        "Leader Completeness" => leader_completeness(model, state),
        "State Machine Safety" => state_machine_safety(model, state),
        "A leader on each side of a partition" => leaders_apart(model, state),
        "Leader elected" => servers(model, state)
            .find(|(_, s)| s.is_leader())
            .map(|(i, s)| format!("server {i} is leader of term {}", s.durable.current_term)),
        "Entry committed" => servers(model, state)
            .find(|(_, s)| !s.durable.applied.is_empty())
            .map(|(i, s)| format!("server {i} applied {:?}", s.durable.applied.as_slice())),
        "Leader holds two uncommitted entries" => servers(model, state)
            .find(|(_, s)| s.is_leader() && s.durable.last_log_index() >= s.commit_index + 2)
            .map(|(i, s)| {
                format!(
                    "server {i}, leader of term {}, holds {:?} with commit index {}",
                    s.durable.current_term,
                    logical_log(&s.durable),
                    s.commit_index
                )
            }),
        "New leader commits after a leader crash" => servers(model, state)
            .filter(|(_, s)| state.history.failover_commit && s.is_leader())
            .max_by_key(|(_, s)| s.durable.current_term)
            .and_then(|(leader, s)| {
                let term = s.durable.current_term;
                let (old, t) = crashed_leader(model, state, term)?;
                Some(format!(
                    "server {old} led term {t} and crashed (it is in term {t}, no longer \
                     leader); afterwards server {leader}, leader of term {term}, committed: in \
                     the last step it applied an entry in its own term"
                ))
            }),
        "Happy path: a client's request committed and answered" => happy_path(model, state),
        "A read answered without the log" => read_answered_without_log(model, state),
        "Snapshot: a leader's InstallSnapshot reaches a follower" => {
            snapshot_installed(model, state)
        }
        "Re-election: another leader in a later term" => re_election(model, state),
        "A crash takes applied entries back" => applied_taken_back(model, state),
        "Membership: a configuration change commits" => config_committed(model, state),
        "Membership: a removed leader steps down" => removed_leader_stepped_down(model, state),
        "Repair: a leader overwrites a follower's conflicting entry" => {
            conflicting_entry_overwritten(model, state)
        }
        "Linearizability" => Some(
            "no order of the clients' operations, consistent with real time, is allowed by a \
             key-value map (compare what each client was told)"
                .into(),
        ),
        _ => props::violations(&View(model, state))
            .into_iter()
            .find(|v| v.property == property)
            .map(|v| v.explanation),
    }
}
