//! A client of etcd (v3 API, checked against etcd 3.4.23) for `ballot bench etcd`, so that
//! etcd runs the very workload of [`bench::op`](super::bench::op) with the same client
//! concurrency and the same latency recording as a Ballot cluster.
//!
//! It speaks etcd's JSON gRPC gateway over HTTP/1.1: `POST /v3/kv/put`, `POST /v3/kv/range`
//! (linearizable, the default: `serializable` is false) and `POST /v3/kv/txn` for the
//! compare-and-swap (compare the value, put on success). Keys and values are base64 in the JSON
//! (protobuf `bytes`). etcd 3.4 serves the gateway at `/v3/`; 3.3 served it at `/v3beta/`
//! (3.4 answers both), 3.5 at `/v3/` only.
//!
//! One keep-alive TCP connection per client, opened on the first call, with `TCP_NODELAY` (as
//! etcd's Go client has). The HTTP/1.1 code is the small part of it the gateway needs: a
//! request with a `Content-Length`, a reply with a `Content-Length` or chunked, or read to the
//! end of a connection the server closes. A reply that is not that, a body that is not the JSON
//! etcd sends, or base64 that does not decode, is an [`EtcdError::Malformed`], never a panic.
//!
//! Retries: a socket error (refused, reset, a keep-alive connection the server closed) and an
//! HTTP 503 or 504 (gRPC `Unavailable` or `DeadlineExceeded`: "leader changed", "no leader",
//! "request timed out") are tried again, on a new connection to the next endpoint, until the
//! per-operation deadline — as Ballot's client re-sends until its deadline. Unlike Ballot's
//! client, which re-sends under the same request id so that the service applies it at most once,
//! etcd has no such session: a retried put or cas may take effect twice. The benchmark does not
//! check the answers, and in a quiet run there are no retries (the run prints the failures).

use ballot_properties::kv::{KvOp, KvRet};
use serde::Deserialize;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use thiserror::Error;

/// The gateway path of a put.
pub const PUT_PATH: &str = "/v3/kv/put";
/// The gateway path of a range read (here: one key).
pub const RANGE_PATH: &str = "/v3/kv/range";
/// The gateway path of a transaction (here: the compare-and-swap).
pub const TXN_PATH: &str = "/v3/kv/txn";
/// The longest status line and headers accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// The longest body accepted.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// The pause before a retry.
pub const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// Why an operation has no answer.
#[derive(Debug, Error)]
pub enum EtcdError {
    /// The connection failed (refused, reset, closed, timed out).
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// etcd answered with an error: an HTTP status other than 200, and the gRPC code and
    /// message of the gateway's error body if it had one.
    #[error("HTTP {status} (gRPC code {code:?}): {message}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The gRPC status code in the body.
        code: Option<i64>,
        /// The error message in the body (or the start of the body).
        message: String,
    },
    /// The reply is not an HTTP/1.1 reply of the gateway, or its body not the JSON expected.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// No answer before the deadline (after retries). The operation may or may not have taken
    /// effect.
    #[error("no answer within {waited:.1?} after {attempts} attempts; last: {last}")]
    Timeout {
        /// How long the client tried.
        waited: Duration,
        /// Requests sent.
        attempts: u32,
        /// The last error.
        last: String,
    },
}

impl EtcdError {
    /// Whether trying again (elsewhere) may succeed: a connection failure, or etcd unavailable
    /// for the moment (HTTP 503: gRPC `Unavailable`; 504: `DeadlineExceeded`).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            EtcdError::Io(_)
                | EtcdError::Status {
                    status: 503 | 504,
                    ..
                }
        )
    }
}

fn malformed(what: impl Into<String>) -> EtcdError {
    EtcdError::Malformed(what.into())
}

/// The gateway path and JSON body of `op`.
pub fn request(op: &KvOp<String, String>) -> (&'static str, String) {
    let b = |s: &str| base64_encode(s.as_bytes());
    match op {
        KvOp::Put(k, v) => (
            PUT_PATH,
            serde_json::json!({ "key": b(k), "value": b(v) }).to_string(),
        ),
        KvOp::Get(k) => (RANGE_PATH, serde_json::json!({ "key": b(k) }).to_string()),
        KvOp::Cas { key, from, to } => (
            TXN_PATH,
            serde_json::json!({
                "compare": [{
                    "key": b(key), "target": "VALUE", "result": "EQUAL", "value": b(from),
                }],
                "success": [{ "request_put": { "key": b(key), "value": b(to) } }],
            })
            .to_string(),
        ),
    }
}

/// The gateway's error body: `{"error": …, "message": …, "code": N}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    code: Option<i64>,
}

/// A put's answer: only the header.
#[derive(Deserialize)]
struct PutReply {
    #[allow(dead_code)]
    header: serde_json::Value,
}

/// A key-value pair of a range answer (proto3 JSON leaves out empty fields).
#[derive(Deserialize)]
struct KeyValue {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
}

/// A range's answer: no `kvs` when the key is absent.
#[derive(Deserialize)]
struct RangeReply {
    #[allow(dead_code)]
    header: serde_json::Value,
    #[serde(default)]
    kvs: Vec<KeyValue>,
}

/// A transaction's answer: no `succeeded` when the comparison failed (false is left out).
#[derive(Deserialize)]
struct TxnReply {
    #[allow(dead_code)]
    header: serde_json::Value,
    #[serde(default)]
    succeeded: bool,
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, EtcdError> {
    serde_json::from_slice(body).map_err(|e| {
        malformed(format!(
            "{e} in {:?}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })
}

fn text(field: &str, b64: &str) -> Result<String, EtcdError> {
    let bytes =
        base64_decode(b64).ok_or_else(|| malformed(format!("{field} is not base64: {b64:?}")))?;
    String::from_utf8(bytes).map_err(|_| malformed(format!("{field} is not UTF-8")))
}

/// The answer to `op` in an HTTP reply of status `status` with body `body`.
pub fn parse_reply(
    op: &KvOp<String, String>,
    status: u16,
    body: &[u8],
) -> Result<KvRet<String>, EtcdError> {
    if status != 200 {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => (e.code, e.message.or(e.error).unwrap_or_default()),
            Err(_) => (
                None,
                String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            ),
        };
        return Err(EtcdError::Status {
            status,
            code,
            message,
        });
    }
    match op {
        KvOp::Put(..) => json::<PutReply>(body).map(|_| KvRet::PutOk),
        KvOp::Get(k) => {
            let r: RangeReply = json(body)?;
            match r.kvs.as_slice() {
                [] => Ok(KvRet::GetOk(None)),
                [kv] => {
                    let key = text("key", &kv.key)?;
                    if key != *k {
                        return Err(malformed(format!("asked for key {k:?}, got {key:?}")));
                    }
                    Ok(KvRet::GetOk(Some(text("value", &kv.value)?)))
                }
                more => Err(malformed(format!(
                    "asked for one key, got {} pairs",
                    more.len()
                ))),
            }
        }
        KvOp::Cas { .. } => json::<TxnReply>(body).map(|r| KvRet::CasOk(r.succeeded)),
    }
}

/// A client of an etcd cluster: one keep-alive connection at a time, to one of `endpoints`.
/// One operation at a time, either waited for ([`Self::call`]) or driven by an event loop
/// ([`Self::start`], [`Self::advance`]: `ballot bench`), by the same rules.
pub struct EtcdClient {
    endpoints: Vec<SocketAddrV4>,
    target: usize,
    conn: Option<Conn>,
    op: Option<InFlight>,
}

/// A connection (non-blocking) and the bytes of the awaited reply received so far.
struct Conn {
    stream: TcpStream,
    received: Vec<u8>,
    /// The server closed its side.
    closed: bool,
}

/// The operation in flight.
struct InFlight {
    op: KvOp<String, String>,
    path: &'static str,
    body: String,
    start: Instant,
    until: Instant,
    /// Requests sent.
    attempts: u32,
    /// When the next attempt is due (after a retry's pause, or at the start); `None` while an
    /// attempt awaits its reply.
    send_at: Option<Instant>,
}

impl EtcdClient {
    /// A client of the etcd members whose client URLs are `http://ENDPOINT` (it connects on
    /// the first call). Panics if `endpoints` is empty.
    pub fn new(endpoints: Vec<SocketAddrV4>) -> Self {
        assert!(!endpoints.is_empty(), "an etcd client needs an endpoint");
        Self {
            endpoints,
            target: 0,
            conn: None,
            op: None,
        }
    }

    /// Starts with endpoint `index` (modulo their number), as etcd's Go client spreads its
    /// connections round-robin.
    pub fn with_first(mut self, index: usize) -> Self {
        self.target = index % self.endpoints.len();
        self
    }

    /// Performs `op`, retrying a connection failure or an unavailable etcd until `deadline`.
    pub fn call(
        &mut self,
        op: &KvOp<String, String>,
        deadline: Duration,
    ) -> Result<KvRet<String>, EtcdError> {
        self.start(op.clone(), deadline);
        loop {
            if let Some(result) = self.advance() {
                return result;
            }
            let wake = self.wake().expect("an operation is in flight");
            super::bench::wait(&[self.fd()], wake)?;
        }
    }

    /// Starts `op` without waiting (its first request goes out at the first
    /// [`Self::advance`]). Replaces an operation still in flight.
    pub fn start(&mut self, op: KvOp<String, String>, deadline: Duration) {
        let (path, body) = request(&op);
        let start = Instant::now();
        if self.op.is_some() {
            // The reply the abandoned operation awaits would be taken for the new one's.
            self.conn = None;
        }
        self.op = Some(InFlight {
            op,
            path,
            body,
            start,
            until: start + deadline,
            attempts: 0,
            send_at: Some(start),
        });
    }

    /// When [`Self::advance`] must be called even if the connection stays quiet: a retry's
    /// pause is over, or the deadline; `None` if no operation is in flight.
    pub fn wake(&self) -> Option<Instant> {
        self.op.as_ref().map(|f| f.send_at.unwrap_or(f.until))
    }

    /// The connection's descriptor while an operation awaits its reply on it.
    pub fn fd(&self) -> Option<std::os::fd::RawFd> {
        match (&self.op, &self.conn) {
            (Some(InFlight { send_at: None, .. }), Some(c)) => Some(c.stream.as_raw_fd()),
            _ => None,
        }
    }

    /// Makes what progress it can without waiting: sends the request when it is due, takes
    /// what the connection has received, retries a retriable failure after [`RETRY_PAUSE`] on
    /// a new connection to the next endpoint. The operation's answer or final error, or `None`
    /// while it is in flight (or none is).
    pub fn advance(&mut self) -> Option<Result<KvRet<String>, EtcdError>> {
        let (send_at, until) = self.op.as_ref().map(|f| (f.send_at, f.until))?;
        let now = Instant::now();
        let outcome = match send_at {
            Some(at) if now < at => return None,
            Some(_) => match self.send() {
                Ok(()) => return None,
                Err(e) => Err(e),
            },
            None => match self.receive() {
                Ok(Some((status, body))) => {
                    let f = self.op.as_ref().expect("an operation is in flight");
                    parse_reply(&f.op, status, &body)
                }
                Ok(None) if now < until => return None,
                Ok(None) => Err(EtcdError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "no reply before the deadline",
                ))),
                Err(e) => Err(e),
            },
        };
        match outcome {
            Ok(ret) => {
                self.op = None;
                Some(Ok(ret))
            }
            Err(e) => self.failed(e),
        }
    }

    /// An attempt failed with `e`: the end of the operation, or (a retriable failure before the
    /// deadline) a pause, then a new connection to the next endpoint.
    fn failed(&mut self, e: EtcdError) -> Option<Result<KvRet<String>, EtcdError>> {
        if matches!(e, EtcdError::Io(_) | EtcdError::Malformed(_)) {
            // The stream is broken or its position unknown.
            self.conn = None;
        }
        let f = self.op.as_mut().expect("an operation is in flight");
        if !e.is_retriable() {
            self.op = None;
            return Some(Err(e));
        }
        let now = Instant::now();
        if now + RETRY_PAUSE >= f.until {
            let timeout = EtcdError::Timeout {
                waited: now - f.start,
                attempts: f.attempts,
                last: e.to_string(),
            };
            self.op = None;
            return Some(Err(timeout));
        }
        self.conn = None;
        self.target = (self.target + 1) % self.endpoints.len();
        f.send_at = Some(now + RETRY_PAUSE);
        None
    }

    /// Sends the operation's request, on the connection or a new one. The request is small
    /// and the connection carries one at a time, so it fits the socket's buffer: a write that
    /// would block fails (and is retried) like a broken connection.
    fn send(&mut self) -> Result<(), EtcdError> {
        let f = self.op.as_mut().expect("an operation is in flight");
        f.attempts += 1;
        f.send_at = None;
        let remaining = f
            .until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                EtcdError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "deadline passed",
                ))
            })?;
        let endpoint = self.endpoints[self.target];
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let stream = TcpStream::connect_timeout(&SocketAddr::V4(endpoint), remaining)?;
                stream.set_nodelay(true)?;
                stream.set_nonblocking(true)?;
                self.conn.insert(Conn {
                    stream,
                    received: Vec::new(),
                    closed: false,
                })
            }
        };
        conn.received.clear();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{}",
            f.path,
            f.body.len(),
            f.body
        );
        (&conn.stream).write_all(request.as_bytes())?;
        Ok(())
    }

    /// Reads what the connection has received and returns the reply (status and body) once it
    /// is whole, `None` before.
    fn receive(&mut self) -> Result<Option<(u16, Vec<u8>)>, EtcdError> {
        let conn = self.conn.as_mut().ok_or_else(|| {
            EtcdError::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "no connection",
            ))
        })?;
        let mut chunk = [0; 16 * 1024];
        while !conn.closed {
            match (&conn.stream).read(&mut chunk) {
                Ok(0) => conn.closed = true,
                Ok(n) => conn.received.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        let mut r = Received {
            data: &conn.received,
            eof: conn.closed,
        };
        match read_reply(&mut r) {
            Ok(reply) => {
                if !reply.keep_alive {
                    self.conn = None;
                }
                Ok(Some((reply.status, reply.body)))
            }
            Err(EtcdError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The bytes of a reply received so far, read as a stream that either ends there (`eof`: the
/// server closed the connection) or would block (more may come): [`read_reply`] reads a whole
/// reply from it, or fails with `WouldBlock` if it is not whole yet.
struct Received<'a> {
    data: &'a [u8],
    eof: bool,
}

impl Read for Received<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Received<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.data.is_empty() && !self.eof {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        Ok(self.data)
    }

    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
    }
}

/// An HTTP/1.1 reply.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// Whether the connection can carry the next request.
    pub keep_alive: bool,
}

/// Reads one line ending in `\n` (without the line end), counting it against `budget`.
fn line(r: &mut impl BufRead, budget: &mut usize) -> Result<String, EtcdError> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if n > *budget {
        return Err(malformed(format!(
            "reply head longer than {MAX_HEAD} bytes"
        )));
    }
    if buf.last() != Some(&b'\n') {
        // The connection ended inside the line (or before it).
        return Err(EtcdError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    *budget -= n;
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf).map_err(|_| malformed("a header line is not UTF-8"))
}

/// Reads one HTTP/1.1 reply from `r`.
pub fn read_reply(r: &mut impl BufRead) -> Result<Reply, EtcdError> {
    let mut budget = MAX_HEAD;
    let status_line = line(r, &mut budget)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(malformed(format!("status line {status_line:?}")));
    }
    let status: u16 = match status.parse() {
        Ok(s) if (200..600).contains(&s) && status.len() == 3 => s,
        _ => return Err(malformed(format!("status line {status_line:?}"))),
    };
    let mut length = None;
    let mut chunked = false;
    let mut keep_alive = version == "HTTP/1.1";
    loop {
        let header = line(r, &mut budget)?;
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(malformed(format!("header line {header:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            match value.parse::<usize>() {
                Ok(n) if n <= MAX_BODY => length = Some(n),
                _ => return Err(malformed(format!("Content-Length {value:?}"))),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") {
                return Err(malformed(format!("Transfer-Encoding {value:?}")));
            }
            chunked = true;
        } else if name.eq_ignore_ascii_case("connection") {
            if value.eq_ignore_ascii_case("close") {
                keep_alive = false;
            } else if value.eq_ignore_ascii_case("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let body = if chunked {
        read_chunked(r)?
    } else if let Some(n) = length {
        let mut body = vec![0; n];
        r.read_exact(&mut body)?;
        body
    } else {
        // Neither: the body runs to the end of the connection.
        keep_alive = false;
        let mut body = Vec::new();
        r.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
        if body.len() > MAX_BODY {
            return Err(malformed(format!("body longer than {MAX_BODY} bytes")));
        }
        body
    };
    Ok(Reply {
        status,
        body,
        keep_alive,
    })
}

/// Reads a chunked body (RFC 9112 §7.1) and its trailers.
fn read_chunked(r: &mut impl BufRead) -> Result<Vec<u8>, EtcdError> {
    let mut body = Vec::new();
    let mut budget = MAX_HEAD;
    loop {
        let size_line = line(r, &mut budget)?;
        let hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(hex, 16)
            .ok()
            .filter(|&n| !hex.is_empty() && n <= MAX_BODY - body.len())
            .ok_or_else(|| malformed(format!("chunk size {size_line:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !line(r, &mut budget)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        if !line(r, &mut budget)?.is_empty() {
            return Err(malformed("a chunk is longer than its size"));
        }
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4), as protobuf's JSON mapping writes `bytes`.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= n {
                out.push(BASE64[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 with padding; `None` if `text` is not that.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    for (q, quad) in t.chunks(4).enumerate() {
        let last = q + 1 == t.len() / 4;
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut v = 0u32;
        for &c in &quad[..4 - pad] {
            let d = BASE64.iter().position(|&b| b == c)? as u32;
            v = (v << 6) | d;
        }
        v <<= 6 * pad as u32;
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::{BufReader, Cursor};
    use std::net::{Ipv4Addr, TcpListener};
    use std::sync::mpsc;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, coded) in vectors {
            assert_eq!(base64_encode(plain.as_bytes()), coded);
            assert_eq!(base64_decode(coded).as_deref(), Some(plain.as_bytes()));
        }
        for bad in ["Zg", "Zg=", "Z===", "Zg==Zm8=", "Zm9*", "Zm=v"] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base64_decode(&base64_encode(&bytes)), Some(bytes));
        }
    }

    fn kv(op: &KvOp<String, String>) -> serde_json::Value {
        serde_json::from_str(&request(op).1).unwrap()
    }

    #[test]
    fn requests_are_the_gateway_json_with_base64_keys_and_values() {
        let put = KvOp::Put("k1".to_string(), "c0-1".to_string());
        assert_eq!(request(&put).0, "/v3/kv/put");
        assert_eq!(
            kv(&put),
            serde_json::json!({"key": "azE=", "value": "YzAtMQ=="})
        );
        let get = KvOp::Get("k1".to_string());
        assert_eq!(request(&get).0, "/v3/kv/range");
        // No "serializable": the read is linearizable.
        assert_eq!(kv(&get), serde_json::json!({"key": "azE="}));
        let cas = KvOp::Cas {
            key: "k1".to_string(),
            from: "a".to_string(),
            to: "b".to_string(),
        };
        assert_eq!(request(&cas).0, "/v3/kv/txn");
        assert_eq!(
            kv(&cas),
            serde_json::json!({
                "compare": [{"key": "azE=", "target": "VALUE", "result": "EQUAL", "value": "YQ=="}],
                "success": [{"request_put": {"key": "azE=", "value": "Yg=="}}],
            })
        );
    }

    /// The bodies below are etcd 3.4.23's, copied from its gateway's answers.
    #[test]
    fn replies_of_etcd_are_understood() {
        let header = r#""header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"3","raft_term":"2"}"#;
        let get = KvOp::Get("foo".to_string());
        let found = format!(
            r#"{{{header},"kvs":[{{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"YmF6"}}],"count":"1"}}"#
        );
        assert_eq!(
            parse_reply(&get, 200, found.as_bytes()).unwrap(),
            KvRet::GetOk(Some("baz".to_string()))
        );
        let absent = format!("{{{header}}}");
        assert_eq!(
            parse_reply(&get, 200, absent.as_bytes()).unwrap(),
            KvRet::GetOk(None)
        );
        let put = KvOp::Put("foo".to_string(), "bar".to_string());
        assert_eq!(
            parse_reply(&put, 200, absent.as_bytes()).unwrap(),
            KvRet::PutOk
        );
        let cas = KvOp::Cas {
            key: "foo".to_string(),
            from: "bar".to_string(),
            to: "baz".to_string(),
        };
        let swapped = format!(
            r#"{{{header},"succeeded":true,"responses":[{{"response_put":{{"header":{{"revision":"3"}}}}}}]}}"#
        );
        assert_eq!(
            parse_reply(&cas, 200, swapped.as_bytes()).unwrap(),
            KvRet::CasOk(true)
        );
        assert_eq!(
            parse_reply(&cas, 200, absent.as_bytes()).unwrap(),
            KvRet::CasOk(false)
        );
        let error = br#"{"error":"etcdserver: leader changed","message":"etcdserver: leader changed","code":14}"#;
        let e = parse_reply(&put, 503, error).unwrap_err();
        assert!(
            matches!(&e, EtcdError::Status { status: 503, code: Some(14), message } if message == "etcdserver: leader changed"),
            "{e:?}"
        );
        assert!(e.is_retriable());
        let e = parse_reply(&put, 404, b"Not Found\n").unwrap_err();
        assert!(
            matches!(
                &e,
                EtcdError::Status {
                    status: 404,
                    code: None,
                    ..
                }
            ) && !e.is_retriable()
        );
    }

    #[test]
    fn bad_replies_are_malformed_not_panics() {
        let get = KvOp::Get("foo".to_string());
        let bad: [&[u8]; 6] = [
            b"",
            b"{bad",
            br#"{"kvs":[]}"#,
            br#"{"header":{},"kvs":[{"key":"Zm9v","value":"not base64!"}]}"#,
            br#"{"header":{},"kvs":[{"key":"YmFy","value":"YmF6"}]}"#,
            br#"{"header":{},"kvs":[{"key":"Zm9v"},{"key":"Zm9v"}]}"#,
        ];
        for body in bad {
            let e = parse_reply(&get, 200, body).unwrap_err();
            assert!(matches!(e, EtcdError::Malformed(_)), "{e:?}");
        }
    }

    #[test]
    fn http_replies_with_length_chunks_or_to_the_end() {
        let read = |s: &str| read_reply(&mut Cursor::new(s.as_bytes().to_vec()));
        let r = read(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 2\r\n\r\n{}extra",
        )
        .unwrap();
        assert_eq!(
            (r.status, &r.body[..], r.keep_alive),
            (200, &b"{}"[..], true)
        );
        let r = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{\"a\r\n2\r\n\":\r\n3\r\n1}\n\r\n0\r\nTrailer: t\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"{\"a\":1}\n");
        let r = read("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\nno length").unwrap();
        assert_eq!(
            (r.status, &r.body[..], r.keep_alive),
            (400, &b"no length"[..], false)
        );
        for bad in [
            "SSH-2.0-OpenSSH\r\n\r\n",
            "HTTP/1.1 2000 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n",
        ] {
            assert!(matches!(read(bad), Err(EtcdError::Malformed(_))), "{bad:?}");
        }
        for cut in [
            "",
            "HTTP/1.1 200 OK\r\nContent-Le",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
        ] {
            assert!(matches!(read(cut), Err(EtcdError::Io(_))), "{cut:?}");
        }
        let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert!(matches!(read(&long), Err(EtcdError::Malformed(_))));
    }

    #[test]
    fn a_reply_is_taken_only_once_it_is_whole() {
        let read = |data: &[u8], eof: bool| read_reply(&mut Received { data, eof });
        let replies = [
            ok(r#"{"header":{}}"#),
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n"
                .to_string(),
        ];
        for reply in replies {
            let bytes = reply.as_bytes();
            for cut in 0..bytes.len() {
                let got = read(&bytes[..cut], false);
                assert!(
                    matches!(&got, Err(EtcdError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock),
                    "{cut}: {got:?}"
                );
                // The same bytes, then the end of the connection: a cut reply.
                let got = read(&bytes[..cut], true);
                assert!(matches!(got, Err(EtcdError::Io(_))), "{cut}: {got:?}");
            }
            assert_eq!(read(bytes, false).unwrap().status, 200);
        }
        // Without a length the body runs to the end of the connection: whole only at its end.
        let reply = b"HTTP/1.1 200 OK\r\n\r\n{}";
        let open = read(reply, false);
        assert!(matches!(open, Err(EtcdError::Io(_))), "{open:?}");
        let closed = read(reply, true).unwrap();
        assert_eq!((&closed.body[..], closed.keep_alive), (&b"{}"[..], false));
    }

    /// A reply that arrives in pieces, apart in time, is read across several wake-ups of the
    /// non-blocking connection.
    #[test]
    fn a_reply_in_pieces_is_put_together() {
        let reply = ok(r#"{"header":{},"kvs":[{"key":"azA=","value":"djE="}]}"#);
        let (addr, _rx) = fake_in_pieces(vec![reply], 3);
        let mut c = EtcdClient::new(vec![addr]);
        let got = c.call(&KvOp::Get("k0".to_string()), Duration::from_secs(5));
        assert_eq!(got.unwrap(), KvRet::GetOk(Some("v1".into())));
    }

    /// A fake etcd member on 127.0.0.1 that answers `replies` in order, one per request read,
    /// on as many connections as the client opens; it reports each request's path and body.
    fn fake(replies: Vec<String>) -> (SocketAddrV4, mpsc::Receiver<(usize, String, String)>) {
        fake_in_pieces(replies, 1)
    }

    /// [`fake`], writing each reply in `pieces` parts 20 ms apart.
    fn fake_in_pieces(
        replies: Vec<String>,
        pieces: usize,
    ) -> (SocketAddrV4, mpsc::Receiver<(usize, String, String)>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let SocketAddr::V4(addr) = listener.local_addr().unwrap() else {
            unreachable!("bound to an IPv4 address")
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut replies = replies.into_iter().peekable();
            for (conn, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let mut r = BufReader::new(stream);
                loop {
                    let mut head = String::new();
                    let mut length = 0;
                    loop {
                        let mut l = String::new();
                        if r.read_line(&mut l).unwrap_or(0) == 0 {
                            break;
                        }
                        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if l == "\r\n" {
                            break;
                        }
                        head.push_str(&l);
                    }
                    if head.is_empty() {
                        break; // the client closed this connection
                    }
                    let mut body = vec![0; length];
                    r.read_exact(&mut body).unwrap();
                    let path = head.split(' ').nth(1).unwrap().to_string();
                    let _ = tx.send((conn, path, String::from_utf8(body).unwrap()));
                    let Some(reply) = replies.next() else { return };
                    if reply.is_empty() {
                        break; // hang up without an answer
                    }
                    for (i, piece) in reply
                        .as_bytes()
                        .chunks(reply.len() / pieces + 1)
                        .enumerate()
                    {
                        if i > 0 {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        r.get_mut().write_all(piece).unwrap();
                    }
                }
                if replies.peek().is_none() {
                    return;
                }
            }
        });
        (addr, rx)
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn one_keep_alive_connection_carries_every_call() {
        let header = r#""header":{"revision":"2"}"#;
        let (addr, rx) = fake(vec![
            ok(&format!("{{{header}}}")),
            ok(&format!(
                r#"{{{header},"kvs":[{{"key":"azA=","value":"djE="}}],"count":"1"}}"#
            )),
            ok(&format!(r#"{{{header},"succeeded":true}}"#)),
        ]);
        let mut c = EtcdClient::new(vec![addr]);
        let d = Duration::from_secs(5);
        let put = KvOp::Put("k0".to_string(), "v1".to_string());
        assert_eq!(c.call(&put, d).unwrap(), KvRet::PutOk);
        let get = KvOp::Get("k0".to_string());
        assert_eq!(c.call(&get, d).unwrap(), KvRet::GetOk(Some("v1".into())));
        let cas = KvOp::Cas {
            key: "k0".to_string(),
            from: "v1".to_string(),
            to: "v2".to_string(),
        };
        assert_eq!(c.call(&cas, d).unwrap(), KvRet::CasOk(true));
        let seen: Vec<_> = rx.try_iter().collect();
        let expect: Vec<_> = [&put, &get, &cas]
            .into_iter()
            .map(|op| {
                let (path, body) = request(op);
                (0, path.to_string(), body)
            })
            .collect();
        assert_eq!(seen, expect);
    }

    #[test]
    fn a_dropped_connection_and_a_503_are_retried_then_the_deadline_gives_up() {
        let header = r#"{"header":{}}"#;
        let unavailable =
            r#"{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}"#;
        let (addr, rx) = fake(vec![
            String::new(),
            format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: {}\r\n\r\n{unavailable}",
                unavailable.len()
            ),
            ok(header),
        ]);
        let mut c = EtcdClient::new(vec![addr]);
        let put = KvOp::Put("k".to_string(), "v".to_string());
        assert_eq!(c.call(&put, Duration::from_secs(5)).unwrap(), KvRet::PutOk);
        // Each retry goes to a new connection (to the next endpoint, here the same one).
        let conns: Vec<_> = rx.try_iter().map(|(conn, ..)| conn).collect();
        assert_eq!(conns, [0, 1, 2]);
        // Nothing listens any more: refused until the deadline.
        let e = c.call(&put, Duration::from_millis(100)).unwrap_err();
        assert!(
            matches!(e, EtcdError::Timeout { attempts, .. } if attempts >= 2),
            "{e:?}"
        );
        // A 400 is not retried.
        let bad = r#"{"error":"bad","message":"bad","code":3}"#;
        let (addr, _rx) = fake(vec![format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\n\r\n{bad}",
            bad.len()
        )]);
        let e = EtcdClient::new(vec![addr])
            .call(&put, Duration::from_secs(5))
            .unwrap_err();
        assert!(
            matches!(
                e,
                EtcdError::Status {
                    status: 400,
                    code: Some(3),
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
