//! Durable storage of an actor's `Storage`: one checksummed file per node, replaced atomically.
//!
//! A save writes a temporary file, fsyncs it, renames it over the old one and fsyncs the
//! directory, so that after a crash the file holds either the old or the new content, whole.
//! Loading tells three cases apart: no file (a fresh node), a valid file, and a file that is
//! corrupt, truncated or someone else's — an error naming the file, never a silent reset (a
//! Raft node that forgot its vote would break Election Safety).
//!
//! ```text
//! offset  size  field
//! 0       8     magic "BALLOTSV"
//! 8       4     format version (1), big-endian
//! 12      8     payload length, big-endian
//! 20      32    SHA-256 of bytes 8..20 and of the payload
//! 52      n     payload: JSON {"protocol", "node", "storage"}
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::SocketAddrV4;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The file's first bytes.
pub const MAGIC: [u8; 8] = *b"BALLOTSV";
/// The storage format version this build writes and reads.
pub const FORMAT: u32 = 1;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 52;
/// The storage file's name inside a node's data directory.
pub const FILE_NAME: &str = "storage.ballot";

/// Why a node's storage cannot be used. Every variant names the file.
#[derive(Debug, Error)]
pub enum StorageError {
    /// An I/O error (permissions, disk full, …).
    #[error("storage {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a Ballot storage file.
    #[error("storage {path} is not a Ballot storage file (bad magic); refusing to start")]
    BadMagic {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer or older format.
    #[error("storage {path} has format version {found}; this build reads {FORMAT}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// Shorter (or longer) than its header says: a torn or truncated write.
    #[error(
        "storage {path} is truncated or damaged: its header announces {expected} bytes of content, \
         the file holds {found}; refusing to start with empty state"
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Content bytes the header announces.
        expected: u64,
        /// Content bytes present.
        found: u64,
    },
    /// The checksum does not match the content: the file was altered or the disk corrupted it.
    #[error(
        "storage {path} is corrupt: its SHA-256 checksum does not match its content; refusing to \
         start with empty state"
    )]
    Checksum {
        /// The file.
        path: PathBuf,
    },
    /// The content has the right checksum but does not parse.
    #[error("storage {path} does not parse: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// The file belongs to another protocol or node address.
    #[error("storage {path} belongs to {found}, not to {expected}; use that node's data directory")]
    Owner {
        /// The file.
        path: PathBuf,
        /// `protocol node-address` of this node.
        expected: String,
        /// `protocol node-address` recorded in the file.
        found: String,
    },
    /// The storage does not serialize.
    #[error("storage {path}: cannot serialize: {reason}")]
    Encode {
        /// The file.
        path: PathBuf,
        /// The serializer's message.
        reason: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Content<T> {
    protocol: String,
    node: String,
    storage: T,
}

/// One node's storage file.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    path: PathBuf,
    protocol: String,
    node: String,
}

impl Store {
    /// The storage of `protocol`'s node at `node`, in `dir` (created if missing).
    pub fn open(dir: &Path, protocol: &str, node: SocketAddrV4) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|source| StorageError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            path: dir.join(FILE_NAME),
            protocol: protocol.into(),
            node: node.to_string(),
        })
    }

    /// The storage file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.tmp"))
    }

    fn io(&self, path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { path, source }
    }

    /// The saved storage: `None` if there is no file (a fresh node), an error if the file is
    /// damaged or someone else's.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, StorageError> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(&self.path)(e)),
        };
        self.parse(&bytes).map(Some)
    }

    /// Validates `bytes` as this node's storage file (what [`Self::load`] does with the file's
    /// content).
    pub fn parse<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, StorageError> {
        let content: Content<T> = decode(&self.path, bytes)?;
        if content.protocol != self.protocol || content.node != self.node {
            return Err(StorageError::Owner {
                path: self.path.clone(),
                expected: format!("{} {}", self.protocol, self.node),
                found: format!("{} {}", content.protocol, content.node),
            });
        }
        Ok(content.storage)
    }

    /// Saves `storage` durably: temporary file, fsync, rename, fsync of the directory. Returns
    /// the file's size.
    pub fn save<T: Serialize>(&self, storage: &T) -> Result<usize, StorageError> {
        let content = Content {
            protocol: self.protocol.clone(),
            node: self.node.clone(),
            storage,
        };
        let payload = serde_json::to_vec(&content).map_err(|e| StorageError::Encode {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let bytes = encode(&payload);
        let tmp = self.tmp_path();
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(self.io(&tmp))?;
        file.write_all(&bytes).map_err(self.io(&tmp))?;
        file.sync_all().map_err(self.io(&tmp))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(self.io(&self.path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(self.io(&self.dir))?;
        Ok(bytes.len())
    }
}

fn checksum(header: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(header);
    h.update(payload);
    h.finalize().into()
}

/// The file's bytes for `payload`.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT.to_be_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    let sum = checksum(&bytes[8..20], payload);
    bytes.extend_from_slice(&sum);
    bytes.extend_from_slice(payload);
    bytes
}

fn decode<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, StorageError> {
    let path = path.to_path_buf();
    if bytes.len() < 8 || bytes[..8] != MAGIC {
        if bytes.len() < 8 && MAGIC.starts_with(bytes) {
            return Err(StorageError::Truncated {
                path,
                expected: 0,
                found: 0,
            });
        }
        return Err(StorageError::BadMagic { path });
    }
    if bytes.len() < HEADER_LEN {
        return Err(StorageError::Truncated {
            path,
            expected: (HEADER_LEN - 8) as u64,
            found: (bytes.len() - 8) as u64,
        });
    }
    let format = u32::from_be_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let len = u64::from_be_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(StorageError::Truncated {
            path,
            expected: len,
            found: payload.len() as u64,
        });
    }
    if checksum(&bytes[8..20], payload) != bytes[20..HEADER_LEN] {
        return Err(StorageError::Checksum { path });
    }
    if format != FORMAT {
        return Err(StorageError::Format {
            path,
            found: format,
        });
    }
    serde_json::from_slice(payload).map_err(|e| StorageError::Decode {
        path,
        reason: e.to_string(),
    })
}
