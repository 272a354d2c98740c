//! The wire codec: every datagram is a versioned, length-limited frame, fully validated before
//! its payload reaches an actor, optionally authenticated with an HMAC-SHA256 under a shared key.
//!
//! ```text
//! offset  size  field
//! 0       3     magic "BLT"
//! 3       1     version (2: client requests and replies carry a session)
//! 4       1     kind: 1 server-to-server message, 2 client request, 3 reply to a client,
//!               4 fragment of a server-to-server message (binary payload: `fragment`),
//!               5 several server-to-server messages (binary payload: `pack`)
//! 5       4     payload length, big-endian, at most MAX_PAYLOAD
//! 9       n     payload: JSON of the kind's type
//! 9+n     32    HMAC-SHA256 of bytes 0..9+n (only with a key)
//! ```
//!
//! Decoding never panics: a datagram that is too short or too long, has the wrong magic,
//! version or kind, a declared length that does not match its size, a missing or wrong MAC, or a
//! payload that does not parse as the expected type (trailing bytes included) is an error,
//! and the receiver drops and counts it.

use ballot_models::raft::{AdminAnswer, AdminOp};
use ballot_properties::kv::{KvOp, KvRet};
use ballot_properties::linearizability::RequestId;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::net::SocketAddrV4;
use std::path::Path;
use thiserror::Error;

/// The first three bytes of every frame.
pub const MAGIC: [u8; 3] = *b"BLT";
/// The wire format version this build speaks. Version 1 had no client sessions: a server knew
/// a client by its address. Frames of another version are refused (`DecodeError::Version`).
pub const VERSION: u8 = 2;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 9;
/// Bytes of the MAC trailer, when a key is configured.
pub const MAC_LEN: usize = 32;
/// The longest payload accepted or sent (a UDP datagram holds at most 65,507 bytes).
pub const MAX_PAYLOAD: usize = 60 * 1024;

/// The longest client operation a node accepts, as the protocol's request message encodes it.
/// The operation travels on between servers inside a larger message (an AppendEntries or an
/// Accept, with its term, indices and the other entries of a batch): an operation near
/// [`MAX_PAYLOAD`] would be accepted and then never fit in a datagram, and replication would
/// stall on it. Half the payload leaves room for that envelope.
pub const MAX_OPERATION: usize = MAX_PAYLOAD / 2;
/// The longest datagram a receiver needs to read.
pub const MAX_DATAGRAM: usize = HEADER_LEN + MAX_PAYLOAD + MAC_LEN;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A protocol message between servers (accepted only from a configured peer).
    Peer,
    /// A [`WireRequest`] from a client (accepted from anyone).
    Request,
    /// A [`WireReply`] to a client.
    Reply,
    /// A fragment of a server-to-server message too long for one datagram (accepted only from
    /// a configured peer; its payload is binary, see [`super::fragment`]).
    Fragment,
    /// Several server-to-server messages for one peer, in order (accepted only from a
    /// configured peer; its payload is binary, see [`super::pack`]).
    Pack,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Peer => 1,
            Kind::Request => 2,
            Kind::Reply => 3,
            Kind::Fragment => 4,
            Kind::Pack => 5,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Kind::Peer),
            2 => Some(Kind::Request),
            3 => Some(Kind::Reply),
            4 => Some(Kind::Fragment),
            5 => Some(Kind::Pack),
            _ => None,
        }
    }
}

/// The bit every client session id has set, and no address-derived actor `Id` has (the top 16
/// bits of those are zero): a session can never be taken for a server or an address.
pub const SESSION_BIT: u64 = 1 << 63;

/// A client's request, the same for every protocol: the node turns it into its actor's message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireRequest {
    /// Perform a key-value operation (Paxos: `put` proposes, `get` reads the decision).
    Op {
        /// The client's session: a random number with [`SESSION_BIT`] set, drawn when the
        /// client starts. The servers know the client by it (not by its address).
        session: u64,
        /// The request's number in the session (1, 2, …); a retry re-uses it, so the service
        /// applies it once.
        req: RequestId,
        /// The operation.
        op: KvOp<String, String>,
    },
    /// Report the node's counters.
    Stats,
    /// A membership change or a query of the configuration (`ballot admin`; Raft only),
    /// numbered in a session like an operation: the reply names the session and request.
    Admin {
        /// The administrator's session (as for [`WireRequest::Op`]).
        session: u64,
        /// The request's number in the session.
        req: RequestId,
        /// What it asks; servers named by address.
        op: AdminOp<SocketAddrV4>,
    },
}

/// What an operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireRet {
    /// A key-value answer (Paxos answers `get` with `GetOk(Some(decided))`).
    Kv(KvRet<String>),
    /// Paxos's answer to `put`: the decided value, the client's or another's.
    Decided(String),
}

/// A node's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireReply {
    /// The operation took effect (once) and returned `ret`.
    Done {
        /// The session of the request answered.
        session: u64,
        /// The request answered.
        req: RequestId,
        /// The answer.
        ret: WireRet,
    },
    /// Ask the leader instead (`None`: this node knows of none yet).
    NotLeader {
        /// The session of the request refused.
        session: u64,
        /// The request refused.
        req: RequestId,
        /// The leader's address, if known.
        leader: Option<SocketAddrV4>,
    },
    /// The protocol cannot perform this operation (e.g. `cas` on Paxos's write-once register).
    Refused {
        /// The session of the request refused.
        session: u64,
        /// The request refused.
        req: RequestId,
        /// Why.
        reason: String,
    },
    /// The node's counters (answer to [`WireRequest::Stats`]).
    Stats(serde_json::Value),
    /// The leader's answer to a [`WireRequest::Admin`] (a follower's is a `NotLeader`).
    Admin {
        /// The session of the request answered.
        session: u64,
        /// The request answered.
        req: RequestId,
        /// The answer; servers named by address.
        answer: AdminAnswer<SocketAddrV4>,
    },
}

impl WireReply {
    /// Whether this answers request `req` of `session` (an answer, a redirect or a refusal).
    pub fn answers(&self, session: u64, req: RequestId) -> bool {
        match self {
            WireReply::Done {
                session: s, req: r, ..
            }
            | WireReply::NotLeader {
                session: s, req: r, ..
            }
            | WireReply::Refused {
                session: s, req: r, ..
            }
            | WireReply::Admin {
                session: s, req: r, ..
            } => (*s, *r) == (session, req),
            WireReply::Stats(_) => false,
        }
    }
}

/// Why a datagram was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Shorter than a header.
    #[error("datagram of {0} bytes is shorter than a header")]
    TooShort(usize),
    /// Not a Ballot frame.
    #[error("bad magic")]
    BadMagic,
    /// A version this build does not speak.
    #[error("unsupported wire version {0} (this build speaks {VERSION})")]
    Version(u8),
    /// An unknown kind byte.
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    /// The declared payload is longer than [`MAX_PAYLOAD`].
    #[error("declared payload of {0} bytes exceeds the limit")]
    TooLong(usize),
    /// The datagram's size does not match the declared payload length (plus MAC).
    #[error("declared payload of {declared} bytes, datagram carries {actual}")]
    LengthMismatch {
        /// Declared in the header.
        declared: usize,
        /// What follows the header (MAC excluded).
        actual: usize,
    },
    /// The MAC does not match (or is missing).
    #[error("MAC check failed")]
    BadMac,
    /// The payload is not valid JSON of the expected type.
    #[error("payload does not parse: {0}")]
    Payload(String),
    /// A client request whose session lacks [`SESSION_BIT`].
    #[error("client session {0:#x} lacks the session bit")]
    Session(u64),
    /// A pack of messages that is malformed ([`super::pack::decode`]).
    #[error("malformed pack: {0}")]
    Pack(#[from] super::pack::PackError),
}

impl DecodeError {
    /// A short name for counters and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort(_) => "too_short",
            DecodeError::BadMagic => "bad_magic",
            DecodeError::Version(_) => "version",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::TooLong(_) => "too_long",
            DecodeError::LengthMismatch { .. } => "length_mismatch",
            DecodeError::BadMac => "bad_mac",
            DecodeError::Payload(_) => "payload",
            DecodeError::Session(_) => "session",
            DecodeError::Pack(_) => "pack",
        }
    }
}

/// Why a message could not be sent.
#[derive(Debug, Error)]
pub enum EncodeError {
    /// The message does not serialize.
    #[error("message does not serialize: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The payload exceeds [`MAX_PAYLOAD`].
    #[error("payload of {0} bytes exceeds the limit of {MAX_PAYLOAD}")]
    TooLong(usize),
}

/// Why a key file cannot be used.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The file cannot be read.
    #[error("--key-file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key file cannot be created.
    #[error("cannot create the key file {path}: {source}")]
    Create {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The key is too short to be a secret.
    #[error("--key-file {path}: the key has {len} bytes; use at least 16 (e.g. 32 random bytes)")]
    TooShort {
        /// The file.
        path: String,
        /// The key length found.
        len: usize,
    },
}

/// A shared secret key for datagram MACs.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key(<{} bytes>)", self.0.len())
    }
}

impl Key {
    /// The key is the file's content, surrounding whitespace removed; at least 16 bytes.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|len| KeyError::TooShort {
            path: path.display().to_string(),
            len,
        })
    }

    /// The key in the file at `path`; if there is no such file, a new key first written there:
    /// 32 random bytes as 64 hexadecimal digits, in a file only its owner can read or write
    /// (mode 0600). Returns the key and whether the file was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyError> {
        use std::io::Write as _;
        let create_error = |source| KeyError::Create {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let created = match options.open(path) {
            Ok(mut file) => {
                let secret: [u8; 32] = rand::random();
                let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
                file.write_all(format!("{hex}\n").as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(create_error)?;
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) => return Err(create_error(e)),
        };
        Ok((Self::load(path)?, created))
    }

    /// A key from raw bytes (surrounding whitespace removed); `Err(len)` if shorter than 16.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, usize> {
        let trimmed = bytes.trim_ascii();
        if trimmed.len() < 16 {
            return Err(trimmed.len());
        }
        Ok(Self(trimmed.to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

/// Encodes and decodes frames, with or without a MAC.
#[derive(Clone, Debug, Default)]
pub struct Codec {
    key: Option<Key>,
}

impl Codec {
    /// A codec that authenticates with `key`, if given.
    pub fn new(key: Option<Key>) -> Self {
        Self { key }
    }

    /// Whether datagrams carry a MAC.
    pub fn is_keyed(&self) -> bool {
        self.key.is_some()
    }

    /// One frame of `kind` carrying `msg`.
    pub fn encode<T: Serialize>(&self, kind: Kind, msg: &T) -> Result<Vec<u8>, EncodeError> {
        let payload = serde_json::to_vec(msg)?;
        self.encode_bytes(kind, &payload)
    }

    /// One frame of `kind` carrying `payload` as it is.
    pub fn encode_bytes(&self, kind: Kind, payload: &[u8]) -> Result<Vec<u8>, EncodeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(EncodeError::TooLong(payload.len()));
        }
        let mut frame = Vec::with_capacity(HEADER_LEN + payload.len() + MAC_LEN);
        frame.extend_from_slice(&MAGIC);
        frame.push(VERSION);
        frame.push(kind.byte());
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(payload);
        if let Some(key) = &self.key {
            let mut mac = key.mac();
            mac.update(&frame);
            frame.extend_from_slice(&mac.finalize().into_bytes());
        }
        Ok(frame)
    }

    /// Validates a frame's header, length and MAC; returns its kind and payload bytes.
    pub fn decode_frame<'a>(&self, bytes: &'a [u8]) -> Result<(Kind, &'a [u8]), DecodeError> {
        if bytes.len() < HEADER_LEN {
            return Err(DecodeError::TooShort(bytes.len()));
        }
        if bytes[..3] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if bytes[3] != VERSION {
            return Err(DecodeError::Version(bytes[3]));
        }
        let kind = Kind::from_byte(bytes[4]).ok_or(DecodeError::UnknownKind(bytes[4]))?;
        let declared = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
        if declared > MAX_PAYLOAD {
            return Err(DecodeError::TooLong(declared));
        }
        let trailer = if self.key.is_some() { MAC_LEN } else { 0 };
        if trailer > 0 && bytes.len() == HEADER_LEN + declared {
            // A well-formed frame without a MAC, sent to a node that requires one.
            return Err(DecodeError::BadMac);
        }
        let actual = (bytes.len() - HEADER_LEN).saturating_sub(trailer);
        if bytes.len() < HEADER_LEN + trailer || actual != declared {
            return Err(DecodeError::LengthMismatch { declared, actual });
        }
        let body_end = HEADER_LEN + declared;
        if let Some(key) = &self.key {
            let mut mac = key.mac();
            mac.update(&bytes[..body_end]);
            // Constant-time comparison.
            mac.verify_slice(&bytes[body_end..])
                .map_err(|_| DecodeError::BadMac)?;
        }
        Ok((kind, &bytes[HEADER_LEN..body_end]))
    }
}

/// Parses a payload as `T`: the whole payload, nothing after it.
pub fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(payload).map_err(|e| DecodeError::Payload(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key::from_bytes(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn frames_round_trip_with_and_without_a_key() {
        for codec in [Codec::new(None), Codec::new(Some(key()))] {
            let req = WireRequest::Op {
                session: SESSION_BIT | 99,
                req: 7,
                op: KvOp::Put("x".into(), "1".into()),
            };
            let bytes = codec.encode(Kind::Request, &req).unwrap();
            let (kind, payload) = codec.decode_frame(&bytes).unwrap();
            assert_eq!(kind, Kind::Request);
            assert_eq!(parse::<WireRequest>(payload).unwrap(), req);
        }
    }

    #[test]
    fn admin_requests_and_answers_round_trip() {
        use ballot_models::raft::{AdminRefusal, ConfigView};
        let codec = Codec::new(Some(key()));
        let server: SocketAddrV4 = "127.0.0.1:7003".parse().unwrap();
        let req = WireRequest::Admin {
            session: SESSION_BIT | 5,
            req: 2,
            op: AdminOp::AddServer { server, from: 7 },
        };
        let bytes = codec.encode(Kind::Request, &req).unwrap();
        let (_, payload) = codec.decode_frame(&bytes).unwrap();
        assert_eq!(parse::<WireRequest>(payload).unwrap(), req);
        let reply = WireReply::Admin {
            session: SESSION_BIT | 5,
            req: 2,
            answer: AdminAnswer::Refused {
                reason: AdminRefusal::ChangeInProgress,
                config: ConfigView {
                    members: vec![server],
                    index: 9,
                    committed: false,
                },
            },
        };
        let bytes = codec.encode(Kind::Reply, &reply).unwrap();
        let (_, payload) = codec.decode_frame(&bytes).unwrap();
        let back = parse::<WireReply>(payload).unwrap();
        assert_eq!(back, reply);
        assert!(back.answers(SESSION_BIT | 5, 2) && !back.answers(SESSION_BIT | 5, 3));
    }

    #[test]
    fn every_malformation_is_a_distinct_error() {
        let codec = Codec::new(None);
        let good = codec.encode(Kind::Request, &WireRequest::Stats).unwrap();
        assert_eq!(
            codec.decode_frame(&good[..4]),
            Err(DecodeError::TooShort(4))
        );
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(codec.decode_frame(&bad), Err(DecodeError::BadMagic));
        // Version 1 (before sessions) and any other version are refused.
        for version in [1, 3] {
            let mut bad = good.clone();
            bad[3] = version;
            assert_eq!(codec.decode_frame(&bad), Err(DecodeError::Version(version)));
        }
        let mut bad = good.clone();
        bad[4] = 5;
        assert_eq!(codec.decode_frame(&bad).map(|(k, _)| k), Ok(Kind::Pack));
        let mut bad = good.clone();
        bad[4] = 9;
        assert_eq!(codec.decode_frame(&bad), Err(DecodeError::UnknownKind(9)));
        let mut bad = good.clone();
        bad[5] = 0xff;
        assert!(matches!(
            codec.decode_frame(&bad),
            Err(DecodeError::TooLong(_))
        ));
        assert!(matches!(
            codec.decode_frame(&good[..good.len() - 1]),
            Err(DecodeError::LengthMismatch { .. })
        ));
        let mut long = good.clone();
        long.push(b' ');
        assert!(matches!(
            codec.decode_frame(&long),
            Err(DecodeError::LengthMismatch { .. })
        ));
        let (_, payload) = codec.decode_frame(&good).unwrap();
        assert!(matches!(
            parse::<WireReply>(payload),
            Err(DecodeError::Payload(_))
        ));
    }

    #[test]
    fn a_keyed_codec_refuses_unkeyed_and_tampered_frames() {
        let keyed = Codec::new(Some(key()));
        let plain = Codec::new(None)
            .encode(Kind::Request, &WireRequest::Stats)
            .unwrap();
        assert!(keyed.decode_frame(&plain).is_err());
        let mut signed = keyed.encode(Kind::Request, &WireRequest::Stats).unwrap();
        let last = signed.len() - 1;
        signed[last] ^= 1;
        assert_eq!(keyed.decode_frame(&signed), Err(DecodeError::BadMac));
        let other = Codec::new(Some(Key::from_bytes(b"another key of 16+ bytes").unwrap()));
        let signed = other.encode(Kind::Request, &WireRequest::Stats).unwrap();
        assert_eq!(keyed.decode_frame(&signed), Err(DecodeError::BadMac));
    }

    #[test]
    fn a_request_without_a_session_does_not_parse() {
        let old = br#"{"Op":{"req":1,"op":{"Get":"x"}}}"#;
        assert!(matches!(
            parse::<WireRequest>(old),
            Err(DecodeError::Payload(_))
        ));
    }

    #[test]
    fn a_created_key_file_is_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("ballot-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cluster.key");
        let (first, created) = Key::load_or_create(&path).unwrap();
        assert!(created);
        assert_eq!(first.0.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, created) = Key::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(again.0, first.0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(Key::from_bytes(b"  short\n").unwrap_err(), 5);
    }
}
