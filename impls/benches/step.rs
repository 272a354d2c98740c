//! `cargo bench -p ballot --bench step`: one actor step of each protocol, through the API the
//! runtime and the model checker both use (`Actor::on_msg` on a borrowed state, with an `Out`),
//! with the actors the runtime serves (`Served::server`: the model's bounds lifted, Raft's
//! no-op and heartbeats on).
//!
//! The states are reached, not built: three servers run in a small deterministic simulation
//! (every message delivered in the order sent; timers fire only when the bench fires them), an
//! election is won, then `PRELOAD` client puts are committed one after the other, so that logs
//! and state machines have a realistic size. Then:
//! - Raft: four puts reach the leader and are not delivered further; a follower handles the
//!   last AppendEntries the leader sent it, and the leader handles that follower's
//!   AppendEntriesReply (it commits and applies the entries and answers the clients);
//! - Multi-Paxos: one put reaches the leader; an acceptor handles its Accept;
//! - Paxos: a put reaches a server, which becomes a proposer; an acceptor handles its Prepare.
//!
//! Each iteration runs the handler on the same state (a `Cow::Borrowed`, as a node does) and
//! drops the new state and the commands it produced.

use ballot::runtime::codec::SESSION_BIT;
use ballot::runtime::served::{self, ActorMsg, MultiPaxos, Paxos, Raft, Served};
use ballot_models::kv::ClientReply;
use ballot_models::multi_paxos::{MpMsg, MpTimer};
use ballot_models::paxos::PaxosMsg;
use ballot_models::raft::{RaftMsg, RaftState, RaftTimer};
use ballot_properties::kv::KvOp;
use criterion::{Criterion, criterion_group, criterion_main};
use stateright::actor::{Actor, Command, Id, Out};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

// The `ballot` binary's allocator, so that allocation costs are the runtime's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Client puts committed before the measured step.
const PRELOAD: u32 = 200;

/// Three servers of protocol `S`, every message delivered in the order sent.
struct Sim<S: Served> {
    actor: S::Actor,
    ids: Vec<Id>,
    states: Vec<<S::Actor as Actor>::State>,
    /// Messages between servers not delivered yet: (from, to, message).
    queue: VecDeque<(Id, Id, ActorMsg<S>)>,
    /// Messages to clients.
    replies: Vec<(Id, ActorMsg<S>)>,
}

impl<S: Served> Sim<S> {
    fn new() -> Self {
        let ids: Vec<Id> = (0..3)
            .map(|i| served::id(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000 + i)))
            .collect();
        let actor = S::server(ids.clone());
        let mut sim = Self {
            actor,
            ids: ids.clone(),
            states: Vec::new(),
            queue: VecDeque::new(),
            replies: Vec::new(),
        };
        for id in ids {
            let mut out = Out::new();
            let state = sim.actor.on_start(id, &None, &mut out);
            sim.states.push(state);
            sim.stage(id, out);
        }
        sim
    }

    fn index(&self, id: Id) -> usize {
        self.ids.iter().position(|i| *i == id).expect("a server")
    }

    /// Queues the messages of a step; a node's timers, saves and random choices play no part.
    fn stage(&mut self, from: Id, out: Out<S::Actor>) {
        for command in out {
            match command {
                Command::Send(to, msg) if self.ids.contains(&to) => {
                    self.queue.push_back((from, to, msg))
                }
                Command::Send(to, msg) => self.replies.push((to, msg)),
                Command::SetTimer(..)
                | Command::CancelTimer(_)
                | Command::Save(_)
                | Command::ChooseRandom(..) => {}
            }
        }
    }

    /// Runs `on_msg` at server `to`, for real: its state changes, its messages are queued.
    fn deliver(&mut self, from: Id, to: Id, msg: ActorMsg<S>) {
        let i = self.index(to);
        let mut out = Out::new();
        let mut state = Cow::Borrowed(&self.states[i]);
        self.actor.on_msg(to, &mut state, from, msg, &mut out);
        if let Cow::Owned(next) = state {
            self.states[i] = next;
        }
        self.stage(to, out);
    }

    fn timeout(&mut self, i: usize, timer: <S::Actor as Actor>::Timer) {
        let id = self.ids[i];
        let mut out = Out::new();
        let mut state = Cow::Borrowed(&self.states[i]);
        self.actor.on_timeout(id, &mut state, &timer, &mut out);
        if let Cow::Owned(next) = state {
            self.states[i] = next;
        }
        self.stage(id, out);
    }

    /// A client's put of `ballot bench`'s workload, delivered to server `i`.
    fn put(&mut self, i: usize, client: u64, req: u32) {
        let session = SESSION_BIT | (0x5eed_0000 + client);
        let from = served::session_id(session).expect("a session id");
        let op = KvOp::Put(
            format!("k{}", (client + u64::from(req)) % 8),
            format!("c{client}-{req}"),
        );
        let msg = S::request(req, op).expect("a put is a request of every protocol");
        self.deliver(from, self.ids[i], msg);
    }

    /// Delivers every queued message, and those they cause, until none is left.
    fn run(&mut self) {
        for _ in 0..100_000 {
            let Some((from, to, msg)) = self.queue.pop_front() else {
                return;
            };
            self.deliver(from, to, msg);
        }
        panic!("the simulation does not settle");
    }

    /// Commits `n` puts of 16 clients at the leader `leader`, one after the other.
    fn preload(&mut self, leader: usize, n: u32) {
        for j in 0..n {
            self.put(leader, u64::from(j % 16), j / 16 + 1);
            self.run();
        }
        let answered = self.replies.len();
        assert!(
            answered >= n as usize,
            "{answered} answers to {n} committed puts"
        );
    }
}

/// Benches `on_msg` of `msg` from `from` at server `to` of `sim`, on its current state.
fn bench_step<S: Served>(
    c: &mut Criterion,
    name: &str,
    sim: &Sim<S>,
    from: Id,
    to: Id,
    msg: &ActorMsg<S>,
) {
    let state = &sim.states[sim.index(to)];
    // The step does something: it changes the state or sends messages.
    let mut out = Out::new();
    let mut cow = Cow::Borrowed(state);
    sim.actor.on_msg(to, &mut cow, from, msg.clone(), &mut out);
    assert!(
        matches!(cow, Cow::Owned(_)) || !out.is_empty(),
        "{name}: the step is a no-op"
    );
    let mut group = c.benchmark_group("step");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group.bench_function(name, |b| {
        b.iter(|| {
            let mut out = Out::new();
            let mut cow = Cow::Borrowed(state);
            sim.actor
                .on_msg(to, &mut cow, from, black_box(msg.clone()), &mut out);
            (cow, out)
        })
    });
    group.finish();
}

fn raft(c: &mut Criterion) {
    let mut sim = Sim::<Raft>::new();
    sim.timeout(0, RaftTimer::Election);
    sim.run();
    let RaftState::Server(leader) = &sim.states[0] else {
        unreachable!("a server's state")
    };
    assert!(leader.is_leader(), "server 0 won the election");
    sim.preload(0, PRELOAD);
    for j in 0..4 {
        sim.put(0, j, PRELOAD + 1);
    }
    let (leader, follower) = (sim.ids[0], sim.ids[1]);
    let append = sim
        .queue
        .iter()
        .rev()
        .find(|(_, to, m)| *to == follower && matches!(m, RaftMsg::AppendEntries { .. }))
        .map(|(_, _, m)| m.clone())
        .expect("the leader sent AppendEntries to the follower");
    let RaftMsg::AppendEntries { entries, .. } = &append else {
        unreachable!()
    };
    let n = entries.len();
    bench_step(
        c,
        &format!("raft/follower_append_entries_{n}"),
        &sim,
        leader,
        follower,
        &append,
    );
    sim.queue.clear();
    sim.deliver(leader, follower, append);
    let (_, _, reply) = sim
        .queue
        .pop_front()
        .expect("the follower answered the AppendEntries");
    assert!(
        matches!(reply, RaftMsg::AppendEntriesReply { success: true, .. }),
        "{reply:?}"
    );
    // The reply makes the four entries committed on a majority: the leader applies them and
    // answers their four clients.
    let mut probe = Sim::<Raft> {
        actor: Raft::server(sim.ids.clone()),
        ids: sim.ids.clone(),
        states: sim.states.clone(),
        queue: VecDeque::new(),
        replies: Vec::new(),
    };
    probe.deliver(follower, leader, reply.clone());
    let done = probe
        .replies
        .iter()
        .filter(|(_, m)| matches!(m, RaftMsg::Reply(ClientReply::Done { .. })))
        .count();
    assert_eq!(done, 4, "{:?}", probe.replies);
    bench_step(
        c,
        &format!("raft/leader_append_entries_reply_{n}"),
        &sim,
        follower,
        leader,
        &reply,
    );
}

fn multi_paxos(c: &mut Criterion) {
    let mut sim = Sim::<MultiPaxos>::new();
    sim.timeout(0, MpTimer::Election);
    sim.run();
    sim.preload(0, PRELOAD);
    sim.put(0, 0, PRELOAD + 1);
    let (leader, acceptor) = (sim.ids[0], sim.ids[1]);
    let accept = sim
        .queue
        .iter()
        .find(|(_, to, m)| *to == acceptor && matches!(m, MpMsg::Accept { .. }))
        .map(|(_, _, m)| m.clone())
        .expect("the leader sent an Accept to the acceptor");
    bench_step(
        c,
        "multi_paxos/acceptor_accept",
        &sim,
        leader,
        acceptor,
        &accept,
    );
}

fn paxos(c: &mut Criterion) {
    let mut sim = Sim::<Paxos>::new();
    sim.put(0, 0, 1);
    let (proposer, acceptor) = (sim.ids[0], sim.ids[1]);
    let prepare = sim
        .queue
        .iter()
        .find(|(_, to, m)| *to == acceptor && matches!(m, PaxosMsg::Prepare { .. }))
        .map(|(_, _, m)| m.clone())
        .expect("the proposer sent a Prepare to the acceptor");
    bench_step(
        c,
        "paxos/acceptor_prepare",
        &sim,
        proposer,
        acceptor,
        &prepare,
    );
}

criterion_group!(benches, raft, multi_paxos, paxos);
criterion_main!(benches);
