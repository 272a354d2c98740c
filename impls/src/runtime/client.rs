//! The client: sends one operation at a time, finds the leader by following `NotLeader` hints,
//! retries (with the *same* request id, so the service applies the operation at most once) on
//! another server when one does not answer, backs off when servers keep redirecting it
//! ([`Backoff`]), and gives up at a deadline.
//!
//! A client's identity, for the servers' exactly-once sessions, is a *session*: a random 64-bit
//! number drawn when the client starts (with [`SESSION_BIT`] set, so that it is never a server's
//! id), in which it numbers its requests 1, 2, …. Its address only tells the servers where to
//! answer: two client processes that get the same port one after the other are two sessions,
//! and neither is taken for the other's retry, nor takes the other's late replies for its own.

use super::codec::{self, Codec, Kind, SESSION_BIT, WireReply, WireRequest, WireRet};
use ballot_models::raft::{AdminAnswer, AdminOp, AdminRefusal};
use ballot_properties::kv::{KvOp, KvRet};
use ballot_properties::linearizability::RequestId;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How long to wait for one server before trying the next.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);
/// The first pause of a backoff (see [`Backoff`]).
pub const BACKOFF_START: Duration = Duration::from_millis(4);
/// The longest pause of a backoff.
pub const BACKOFF_CAP: Duration = Duration::from_millis(128);

/// What [`Client::exchange`] does with a reply to its request.
enum Answer<T> {
    /// The final answer: the request is done.
    Final(T),
    /// Send the same request again after `pause`; `why` is what a timeout would report.
    Again { pause: Duration, why: String },
    /// Not an answer to this kind of request: wait on.
    Ignored,
}

/// The answer to an operation: its result; any other reply to it is not one.
fn op_answer(reply: WireReply, _: &mut Backoff) -> Answer<WireRet> {
    match reply {
        WireReply::Done { ret, .. } => Answer::Final(ret),
        // Not an answer to an operation (`answers` let it through only if it names this
        // request: a misbehaving server).
        WireReply::Admin { .. }
        | WireReply::NotLeader { .. }
        | WireReply::Refused { .. }
        | WireReply::Stats(_) => Answer::Ignored,
    }
}

/// One request in flight: what [`Client::exchange`] waits for, without the waiting, so that a
/// blocking call and an event loop ([`Client::start`]) follow the same rules.
struct Exchange {
    request: WireRequest,
    req: RequestId,
    roam: bool,
    start: Instant,
    end: Instant,
    /// Attempts sent.
    attempts: u32,
    /// What a timeout reports.
    last: String,
    backoff: Backoff,
    /// When the attempt in flight has waited long enough (or, `paused`, the pause before the
    /// next attempt is over).
    wake: Instant,
    paused: bool,
}

/// An operation in flight on a client driven by an event loop ([`Client::start`]).
pub struct Operation(Exchange);

impl Operation {
    /// When [`Client::advance`] must be called even if no reply comes: the attempt timeout, the
    /// end of a pause, or the deadline.
    pub fn wake(&self) -> Instant {
        self.0.wake
    }
}

/// Bounded exponential backoff with jitter, one per operation: the `k`-th pause (from 0) lasts a
/// random time between half and all of `min(BACKOFF_CAP, BACKOFF_START * 2^k)`. A client pauses
/// before each re-send that follows a `NotLeader` answer, except the first redirect of an
/// operation to a leader named in it (the usual way to find the leader): servers that name each
/// other, or know no leader during an election, then get at most about one datagram every
/// `BACKOFF_CAP / 2` (16 a second) from it, after a start of a few quick tries. An attempt
/// without an answer has already waited [`ATTEMPT_TIMEOUT`].
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
    free_redirect: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: BACKOFF_START,
            free_redirect: true,
        }
    }
}

impl Backoff {
    /// The pause before the next re-send after a `NotLeader` answer: zero for the first
    /// redirect to a named leader, else the next step of the backoff.
    pub fn after_not_leader(&mut self, redirected: bool) -> Duration {
        if redirected && std::mem::take(&mut self.free_redirect) {
            return Duration::ZERO;
        }
        self.free_redirect = false;
        let ceiling = self.next;
        self.next = (self.next * 2).min(BACKOFF_CAP);
        let micros = ceiling.as_micros() as u64;
        Duration::from_micros(rand::random_range(micros / 2..=micros))
    }
}

/// Why an operation has no answer.
#[derive(Debug, Error)]
pub enum ClientError {
    /// No answer before the deadline. The operation may or may not have taken effect.
    #[error(
        "no answer within {waited:.1?} after {attempts} attempts to {servers} \
         (the operation may or may not have taken effect); last: {last}"
    )]
    Timeout {
        /// How long the client tried.
        waited: Duration,
        /// Datagrams sent.
        attempts: u32,
        /// The servers, comma-separated.
        servers: String,
        /// What happened last.
        last: String,
    },
    /// The protocol cannot perform the operation.
    #[error("refused: {0}")]
    Refused(String),
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// A client of one cluster.
pub struct Client {
    socket: UdpSocket,
    codec: Codec,
    peers: Vec<SocketAddrV4>,
    target: usize,
    session: u64,
    next_req: RequestId,
    attempt_timeout: Duration,
    buf: Vec<u8>,
    /// Attempts that ended with no answer at all ([`ATTEMPT_TIMEOUT`]): the request was then
    /// sent again (to the next server, or the same one).
    unanswered: u64,
}

impl Client {
    /// A client of the servers `peers`, bound to an ephemeral port (on the loopback interface
    /// if every server is on it).
    pub fn new(peers: Vec<SocketAddrV4>, codec: Codec) -> std::io::Result<Self> {
        let ip = if peers.iter().all(|p| p.ip().is_loopback()) {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        Self::bound(peers, codec, SocketAddrV4::new(ip, 0))
    }

    /// A client of the servers `peers` whose socket is bound to `local` (port 0: any free port).
    pub fn bound(
        peers: Vec<SocketAddrV4>,
        codec: Codec,
        local: SocketAddrV4,
    ) -> std::io::Result<Self> {
        if peers.is_empty() {
            return Err(std::io::Error::other("no server address"));
        }
        let socket = UdpSocket::bind(local)?;
        Ok(Self {
            socket,
            codec,
            peers,
            target: 0,
            session: rand::random::<u64>() | SESSION_BIT,
            next_req: 1,
            attempt_timeout: ATTEMPT_TIMEOUT,
            buf: vec![0; codec::MAX_DATAGRAM + 1],
            unanswered: 0,
        })
    }

    /// Starts with server `index` (e.g. to spread clients over the servers).
    pub fn with_first(mut self, index: usize) -> Self {
        self.target = index % self.peers.len();
        self
    }

    /// Sets how long to wait for one server before trying the next.
    pub fn with_attempt_timeout(mut self, t: Duration) -> Self {
        self.attempt_timeout = t;
        self
    }

    /// How many of this client's attempts so far ended with no answer at all, each followed by
    /// a re-send: a lost request or reply, or a server that took longer than the attempt
    /// timeout.
    pub fn unanswered_attempts(&self) -> u64 {
        self.unanswered
    }

    /// The client's address (where the servers answer).
    pub fn addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The client's session (its identity for the servers).
    pub fn session(&self) -> u64 {
        self.session
    }

    /// The request id the next operation will use.
    pub fn next_req(&self) -> RequestId {
        self.next_req
    }

    fn servers(&self) -> String {
        let v: Vec<_> = self.peers.iter().map(|p| p.to_string()).collect();
        v.join(",")
    }

    fn send(&self, to: usize, request: &WireRequest) -> Result<(), ClientError> {
        let bytes = self
            .codec
            .encode(Kind::Request, request)
            .map_err(|e| ClientError::Refused(e.to_string()))?;
        match self.socket.send_to(&bytes, self.peers[to]) {
            Ok(_) => Ok(()),
            // A server that is down may make the kernel report an earlier send as refused.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Receives one valid reply from a configured server before `until`, with its sender.
    fn recv_from(
        &mut self,
        until: Instant,
    ) -> Result<Option<(SocketAddrV4, WireReply)>, ClientError> {
        self.receive(Some(until))
    }

    /// Receives one valid reply from a configured server: before `until`, or (`None`, the
    /// socket non-blocking: [`Self::set_nonblocking`]) one already there.
    fn receive(
        &mut self,
        until: Option<Instant>,
    ) -> Result<Option<(SocketAddrV4, WireReply)>, ClientError> {
        loop {
            if let Some(until) = until {
                let wait = until.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    return Ok(None);
                }
                self.socket.set_read_timeout(Some(wait))?;
            }
            let (n, src) = match self.socket.recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let SocketAddr::V4(src) = src else { continue };
            if !self.peers.contains(&src) {
                continue;
            }
            let Ok((Kind::Reply, payload)) = self.codec.decode_frame(&self.buf[..n]) else {
                continue;
            };
            if let Ok(reply) = codec::parse::<WireReply>(payload) {
                return Ok(Some((src, reply)));
            }
        }
    }

    /// Receives one valid reply from a configured server before `until`.
    fn recv(&mut self, until: Instant) -> Result<Option<WireReply>, ClientError> {
        Ok(self.recv_from(until)?.map(|(_, reply)| reply))
    }

    /// Performs `op`, giving up after `deadline`.
    pub fn call(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<WireRet, ClientError> {
        self.call_inner(op, deadline, true)
    }

    /// Performs `op` at the current first server only (no redirects, no rotation): used to ask
    /// one particular node.
    pub fn call_here(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<WireRet, ClientError> {
        self.call_inner(op, deadline, false)
    }

    fn call_inner(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
        roam: bool,
    ) -> Result<WireRet, ClientError> {
        let (request, req) = self.op_request(op);
        self.exchange(request, req, deadline, roam, op_answer)
    }

    /// The request of `op`, under the next request id.
    fn op_request(&mut self, op: KvOp<String, String>) -> (WireRequest, RequestId) {
        let req = self.next_req;
        self.next_req += 1;
        let session = self.session;
        (WireRequest::Op { session, req, op }, req)
    }

    /// Sends `request` (numbered `req`) until `answer` takes a reply for final, or `deadline`
    /// passes, waiting on the socket ([`Exchange`] says when to send what).
    fn exchange<T>(
        &mut self,
        request: WireRequest,
        req: RequestId,
        deadline: Duration,
        roam: bool,
        mut answer: impl FnMut(WireReply, &mut Backoff) -> Answer<T>,
    ) -> Result<T, ClientError> {
        let mut x = self.begin(request, req, deadline, roam)?;
        loop {
            match self.recv(x.wake)? {
                Some(reply) => {
                    if let Some(t) = self.on_reply(&mut x, reply, &mut answer)? {
                        return Ok(t);
                    }
                }
                None => self.on_time(&mut x)?,
            }
        }
    }

    /// Starts an exchange: its first attempt.
    fn begin(
        &mut self,
        request: WireRequest,
        req: RequestId,
        deadline: Duration,
        roam: bool,
    ) -> Result<Exchange, ClientError> {
        let start = Instant::now();
        let mut x = Exchange {
            request,
            req,
            roam,
            start,
            end: start + deadline,
            attempts: 0,
            last: String::from("no answer yet"),
            backoff: Backoff::default(),
            wake: start,
            paused: true,
        };
        self.attempt(&mut x)?;
        Ok(x)
    }

    /// Sends the next attempt of `x` to the current target, or ends `x` with a timeout if its
    /// deadline has passed.
    fn attempt(&mut self, x: &mut Exchange) -> Result<(), ClientError> {
        let now = Instant::now();
        if now >= x.end {
            return Err(ClientError::Timeout {
                waited: now - x.start,
                attempts: x.attempts,
                servers: self.servers(),
                last: x.last.clone(),
            });
        }
        self.send(self.target, &x.request)?;
        x.attempts += 1;
        x.wake = (now + self.attempt_timeout).min(x.end);
        x.paused = false;
        Ok(())
    }

    /// The next attempt of `x` after `pause` (at once if zero).
    fn again(&mut self, x: &mut Exchange, pause: Duration) -> Result<(), ClientError> {
        if pause.is_zero() {
            return self.attempt(x);
        }
        x.wake = (Instant::now() + pause).min(x.end);
        x.paused = true;
        Ok(())
    }

    /// A reply while `x` is in flight: `Some` if it is the final answer, `None` to wait on.
    /// What every request does alike is here: a server that says it is not the leader makes
    /// the client try again, at the leader it names or (with `roam`) the next server, after a
    /// backoff ([`Backoff`]); a refusal ends the request. `answer` sees every other reply to
    /// this request and says whether it is the final one, a reason to send the same request
    /// again after a pause, or not an answer to this kind of request. During a pause only a
    /// final answer or a refusal counts: a redirect or "again" then repeats the one that
    /// started the pause (a duplicate datagram, or an earlier attempt's late answer).
    fn on_reply<T>(
        &mut self,
        x: &mut Exchange,
        reply: WireReply,
        answer: &mut impl FnMut(WireReply, &mut Backoff) -> Answer<T>,
    ) -> Result<Option<T>, ClientError> {
        if !reply.answers(self.session, x.req) {
            // A duplicate or stale reply to an earlier request (of this session or, on a
            // reused port, of another), or stats.
            return Ok(None);
        }
        match reply {
            WireReply::Refused { reason, .. } => Err(ClientError::Refused(reason)),
            WireReply::NotLeader { .. } if x.paused => Ok(None),
            WireReply::NotLeader { leader, .. } => {
                let n = self.peers.len();
                let hinted = leader.and_then(|l| self.peers.iter().position(|p| *p == l));
                x.last = format!(
                    "{} is not the leader (hint: {})",
                    self.peers[self.target],
                    leader.map_or("none".into(), |l| l.to_string())
                );
                let redirect = hinted.filter(|i| x.roam && *i != self.target);
                if x.roam {
                    self.target = redirect.unwrap_or((self.target + 1) % n);
                }
                let pause = x.backoff.after_not_leader(redirect.is_some());
                self.again(x, pause).map(|()| None)
            }
            // Stats answer no request (`answers` let them through only if they name this one:
            // a misbehaving server).
            WireReply::Stats(_) => Ok(None),
            reply @ (WireReply::Done { .. } | WireReply::Admin { .. }) => {
                match answer(reply, &mut x.backoff) {
                    Answer::Final(t) => Ok(Some(t)),
                    Answer::Again { .. } if x.paused => Ok(None),
                    Answer::Again { pause, why } => {
                        x.last = why;
                        self.again(x, pause).map(|()| None)
                    }
                    Answer::Ignored => Ok(None),
                }
            }
        }
    }

    /// `x`'s wake time passed (if it has not, nothing happens): the attempt in flight got no
    /// answer within the attempt timeout, so the client tries again (with `roam`, at the next
    /// server) at once; or the pause is over, so it sends the next attempt.
    fn on_time(&mut self, x: &mut Exchange) -> Result<(), ClientError> {
        if Instant::now() < x.wake {
            return Ok(());
        }
        if !x.paused {
            self.unanswered += 1;
            x.last = format!("no reply from {}", self.peers[self.target]);
            if x.roam {
                self.target = (self.target + 1) % self.peers.len();
            }
        }
        self.attempt(x)
    }

    /// Makes the socket non-blocking, for [`Self::start`] and [`Self::advance`] (an event
    /// loop's client: `ballot bench`); the blocking calls must not be used after.
    pub fn set_nonblocking(&self) -> std::io::Result<()> {
        self.socket.set_nonblocking(true)
    }

    /// The socket's descriptor, to poll for replies.
    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.socket)
    }

    /// Starts `op` as [`Self::call`] would, without waiting: sends its first attempt. Drive it
    /// with [`Self::advance`] when the socket is readable or the operation's
    /// [`Operation::wake`] time has come.
    pub fn start(
        &mut self,
        op: KvOp<String, String>,
        deadline: Duration,
    ) -> Result<Operation, ClientError> {
        let (request, req) = self.op_request(op);
        self.begin(request, req, deadline, true).map(Operation)
    }

    /// Takes every reply waiting on the (non-blocking) socket, then acts on the time: the
    /// answer (`Some`), or `None` while `op` is still in flight.
    pub fn advance(&mut self, op: &mut Operation) -> Result<Option<WireRet>, ClientError> {
        while let Some((_, reply)) = self.receive(None)? {
            if let Some(ret) = self.on_reply(&mut op.0, reply, &mut op_answer)? {
                return Ok(Some(ret));
            }
        }
        self.on_time(&mut op.0).map(|()| None)
    }

    /// Sends an administrator's request (`ballot admin`; Raft) until the leader answers it for
    /// good, or `deadline` passes: follows redirects, tries the next server when one does not
    /// answer, and sends the *same* request again after a `Pending` or `CatchingUp` answer (every 20 ms) or a
    /// refusal that may pass ([`AdminRefusal::retry`], with backoff). Returns the leader's
    /// answer: `Members`, `Done`, or a refusal that asking again cannot change.
    pub fn admin(
        &mut self,
        op: AdminOp<SocketAddrV4>,
        deadline: Duration,
    ) -> Result<AdminAnswer<SocketAddrV4>, ClientError> {
        let req = self.next_req;
        self.next_req += 1;
        let request = WireRequest::Admin {
            session: self.session,
            req,
            op,
        };
        self.exchange(request, req, deadline, true, |reply, backoff| {
            let WireReply::Admin { answer, .. } = reply else {
                // Not an answer to an administrator's request.
                return Answer::Ignored;
            };
            match answer {
                AdminAnswer::Pending(config) => Answer::Again {
                    pause: Duration::from_millis(20),
                    why: format!(
                        "the change is in the leader's log at index {}, not committed yet",
                        config.index
                    ),
                },
                AdminAnswer::CatchingUp {
                    matched, last: l, ..
                } => Answer::Again {
                    pause: Duration::from_millis(20),
                    why: format!(
                        "the new server is catching up as a learner: it holds the leader's log \
                         up to index {matched} of {l}"
                    ),
                },
                AdminAnswer::Refused { reason, .. } if reason.retry() => Answer::Again {
                    pause: backoff.after_not_leader(false),
                    why: format!("refused for now: {}", refusal_text(reason)),
                },
                answer => Answer::Final(answer),
            }
        })
    }

    /// Adds `server` to the cluster's configuration (`add`) or removes it (`ballot admin
    /// add-server` / `remove-server`): reads the leader's configuration, then asks for the
    /// change of that configuration ([`AdminOp`]'s `from`), again from the configuration
    /// read anew if another change came first. Returns `Done` with the committed configuration
    /// that has the change (at once if it already had it), or a refusal.
    pub fn change_membership(
        &mut self,
        server: SocketAddrV4,
        add: bool,
        deadline: Duration,
    ) -> Result<AdminAnswer<SocketAddrV4>, ClientError> {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let config = match self.admin(AdminOp::Members, left)? {
                AdminAnswer::Members(config) => config,
                other => return Ok(other),
            };
            let from = config.index;
            let op = if add {
                AdminOp::AddServer { server, from }
            } else {
                AdminOp::RemoveServer { server, from }
            };
            let left = end.saturating_duration_since(Instant::now());
            match self.admin(op, left)? {
                AdminAnswer::Refused {
                    reason: AdminRefusal::ConfigChanged,
                    ..
                } => {
                    // Another change came first: read the configuration again.
                    continue;
                }
                answer => return Ok(answer),
            }
        }
    }

    /// Sends `op` once to server `index` and returns its first answer to it (an answer, a
    /// redirect or a refusal), or `None` if it does not answer within `timeout`. Used to find
    /// the leader: the leader answers, the others name it.
    pub fn probe(
        &mut self,
        index: usize,
        op: KvOp<String, String>,
        timeout: Duration,
    ) -> Result<Option<WireReply>, ClientError> {
        let req = self.next_req;
        self.next_req += 1;
        let session = self.session;
        self.send(index, &WireRequest::Op { session, req, op })?;
        let end = Instant::now() + timeout;
        while let Some(reply) = self.recv(end)? {
            if reply.answers(session, req) {
                return Ok(Some(reply));
            }
        }
        Ok(None)
    }

    /// Asks server `index` for its counters.
    pub fn stats(
        &mut self,
        index: usize,
        timeout: Duration,
    ) -> Result<serde_json::Value, ClientError> {
        let end = Instant::now() + timeout;
        let mut attempts = 0;
        while Instant::now() < end {
            self.send(index, &WireRequest::Stats)?;
            attempts += 1;
            let attempt_end = (Instant::now() + self.attempt_timeout).min(end);
            while let Some((src, reply)) = self.recv_from(attempt_end)? {
                // Stats replies carry no request id: take the one from the node asked (a
                // duplicate of another node's earlier reply may arrive first).
                if let WireReply::Stats(v) = reply
                    && src == self.peers[index]
                {
                    return Ok(v);
                }
            }
        }
        Err(ClientError::Timeout {
            waited: timeout,
            attempts,
            servers: self.peers[index].to_string(),
            last: "no stats reply".into(),
        })
    }
}

/// What a refusal of a membership change means, for people.
pub fn refusal_text(reason: AdminRefusal) -> &'static str {
    match reason {
        AdminRefusal::ChangeInProgress => {
            "another membership change is in progress (one at a time: dissertation §4.1)"
        }
        AdminRefusal::TermNotCommitted => {
            "the leader has not yet committed an entry of its term (the 2015 correction to §4.1)"
        }
        AdminRefusal::LastServer => "the change would leave no server in the configuration",
        AdminRefusal::ConfigChanged => "the configuration changed since it was read",
        AdminRefusal::UnknownServer => "the server is not in the nodes' --peers",
        AdminRefusal::NotAllowed => "this node does not change its membership",
        AdminRefusal::CatchingUp => {
            "the leader is catching up another new server as a learner (dissertation §4.2.1; \
             remove-server of that server ends its catch-up)"
        }
    }
}

/// How a result reads on the command line.
pub fn show(op: &KvOp<String, String>, ret: &WireRet) -> String {
    match (op, ret) {
        (_, WireRet::Decided(v)) => format!("decided {v}"),
        (_, WireRet::Kv(KvRet::GetOk(Some(v)))) => v.clone(),
        (KvOp::Get(k), WireRet::Kv(KvRet::GetOk(None))) => format!("(no value for {k})"),
        (_, WireRet::Kv(KvRet::GetOk(None))) => "(no value)".into(),
        (_, WireRet::Kv(KvRet::PutOk)) => "OK".into(),
        (KvOp::Cas { key, to, .. }, WireRet::Kv(KvRet::CasOk(true))) => {
            format!("OK ({key} = {to})")
        }
        (KvOp::Cas { key, from, .. }, WireRet::Kv(KvRet::CasOk(false))) => {
            format!("not swapped ({key} did not hold {from})")
        }
        (_, WireRet::Kv(KvRet::CasOk(b))) => format!("cas {b}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_its_cap() {
        let mut b = Backoff::default();
        assert_eq!(b.after_not_leader(true), Duration::ZERO, "first redirect");
        let mut ceiling = BACKOFF_START;
        for _ in 0..12 {
            let pause = b.after_not_leader(true);
            assert!(
                ceiling / 2 <= pause && pause <= ceiling,
                "{pause:?} {ceiling:?}"
            );
            ceiling = (ceiling * 2).min(BACKOFF_CAP);
        }
        // Without a leader named, even the first answer waits.
        let pause = Backoff::default().after_not_leader(false);
        assert!(pause >= BACKOFF_START / 2, "{pause:?}");
    }
}
