//! Durable storage of an actor's `Storage`: a checksummed snapshot, replaced atomically now and
//! then, and an append-only journal of the changes saved since ([`Journaled`] deltas).
//!
//! A save appends one record (the change since the last save) to the journal and syncs it
//! (`fdatasync`) before it returns, so its cost follows the size of the change, not of the
//! storage. When the journal has grown larger than the snapshot (and than
//! [`COMPACT_MIN_BYTES`]), the save writes a new snapshot instead — a temporary file, fsynced,
//! renamed over the old one, the directory fsynced — and starts a new, empty journal the same
//! way; the cost of a snapshot is paid once per snapshot-sized amount of journal, so the
//! amortized cost of a save does not grow with the storage.
//!
//! **Snapshots in the background.** Writing a snapshot takes time that grows with the storage
//! (encoding it, writing and syncing it, preallocating its journal: about 115 ms for a 3.5 MB
//! Multi-Paxos storage on a loaded 2-core machine), and a node serves nothing during a save. So
//! the save that passes the limit appends its record as usual and hands a clone of the value
//! to a background thread, which writes the snapshot as `storage.ballot.next` and its journal
//! (header, then zeros) as `storage.journal.next`, syncs both (in pieces of
//! [`SNAPSHOT_PIECE`], so that the saves meanwhile do not wait behind the writeback of the
//! whole snapshot) and the directory. Saves go on
//! appending to the current journal meanwhile, and their records are kept. The first save
//! after the thread is done switches: it writes the kept records into the new journal and
//! syncs it, renames it over `storage.journal`, syncs the directory, renames the snapshot over
//! `storage.ballot`, syncs the directory, and appends its own record to the new journal. A
//! crash before the first rename leaves the old files, which name each other (the `.next`
//! files are not read); between the renames, the journal names a later snapshot than
//! `storage.ballot` and `storage.ballot.next` is that snapshot (same generation and checksum):
//! loading finishes the switch; after both, the new files. Snapshots the store must write at
//! once (the first save, after a failed append, [`Store::save_snapshot`]) are written within
//! the save, as before.
//!
//! Loading = the snapshot, then the journal's records replayed in order. It tells apart: no
//! files (a fresh node); valid files; an incomplete (torn) last record — discarded with a
//! warning, the journal cut back to its last whole record: that is what a crash in the middle
//! of an append leaves, and then the save it belonged to never returned and nothing that
//! depended on it was sent, but the same bytes can come from damage to the file (cut or
//! zeroed from outside the node), which would lose saves that had returned, so the warning says
//! both; and everything else that is
//! damaged, missing or someone else's — an error naming the file, never a silent reset (a Raft
//! node that forgot its vote would break Election Safety).
//!
//! Snapshot `storage.ballot`:
//!
//! ```text
//! offset  size  field
//! 0       8     magic "BALLOTSV"
//! 8       4     format version (2), big-endian
//! 12      8     payload length, big-endian
//! 20      32    SHA-256 of bytes 8..20 and of the payload: the snapshot's checksum
//! 52      n     payload: JSON {"protocol", "node", "generation", "storage"}
//! ```
//!
//! Format 1 (before the journal) is the same without `"generation"`; it loads (as generation 0,
//! with no journal), and the first save rewrites it as a format-2 snapshot, which an older build
//! refuses by its version instead of reading it without its journal.
//!
//! Journal `storage.journal`: a header naming the snapshot it extends, then records, then zeros.
//!
//! The journal is preallocated: it is created as its header followed by zeros up to
//! [`preallocation`] (the size it may reach before the next snapshot, at most a
//! [`JOURNAL_SEGMENT`]), synced once, and records are written in place over the zeros, so an
//! append's `fdatasync` writes the data only (the file's size and blocks do not change); a record
//! that does not fit extends the file by another segment of zeros first. The records end where
//! the next record header would be all zeros (a real one never is: it carries a check of its
//! fields) and only zeros follow: that is the end of the journal, not a torn record. Loading
//! tells apart, after the last whole record: only zeros (the end); a torn record — a record
//! header cut short by the end of the file, or failing its check with only zeros after it, a
//! payload cut short by the end of the file, or a payload whose checksum fails because its end
//! is zeros with only zeros after it (its first bytes reached the disk, its last did not);
//! anything else (a whole record with a bad checksum, a failed header with data after it, data
//! after the zeros) — an error naming the journal and the byte.
//!
//! ```text
//! header  size  field
//! 0       8     magic "BALLOTJL"
//! 8       4     format version (2)
//! 12      8     generation of the snapshot the records apply to
//! 20      32    that snapshot's checksum
//! 52      32    SHA-256 of bytes 8..52
//!
//! record  size  field
//! 0       4     payload length n, big-endian
//! 4       8     generation of the snapshot it applies to (the header's)
//! 12      8     sequence number: 0 for the journal's first record, then one more each
//! 20      8     the first 8 bytes of the SHA-256 of bytes 0..20 (the header's own check)
//! 28      32    SHA-256 of the snapshot's checksum, bytes 0..20 and the payload
//! 60      n     payload: JSON of the change (`Journaled::Delta`)
//! ```

use super::journal::Journaled;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::SocketAddrV4;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The snapshot file's first bytes.
pub const MAGIC: [u8; 8] = *b"BALLOTSV";
/// The journal file's first bytes.
pub const JOURNAL_MAGIC: [u8; 8] = *b"BALLOTJL";
/// The storage format version this build writes (snapshot and journal).
pub const FORMAT: u32 = 2;
/// The format of snapshots written before the journal: still read.
pub const FORMAT_1: u32 = 1;
/// Bytes of the snapshot before its payload.
pub const HEADER_LEN: usize = 52;
/// Bytes of the journal's header.
pub const JOURNAL_HEADER_LEN: usize = 84;
/// Bytes of a journal record before its payload.
pub const RECORD_HEADER_LEN: usize = 60;
/// The snapshot's name inside a node's data directory.
pub const FILE_NAME: &str = "storage.ballot";
/// The journal's name inside a node's data directory.
pub const JOURNAL_NAME: &str = "storage.journal";
/// A new snapshot is written when the journal would grow past the larger of the snapshot's
/// size and this.
pub const COMPACT_MIN_BYTES: u64 = 64 * 1024;

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
    #[error("storage {path} has format version {found}; this build reads {FORMAT_1} and {FORMAT}")]
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
    /// A journal record (or the journal's header) is damaged: not a torn last record.
    #[error(
        "storage {path} is corrupt at byte {offset}: {reason}; refusing to start with empty state"
    )]
    Record {
        /// The journal.
        path: PathBuf,
        /// Where the damaged header or record starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The journal does not extend the snapshot next to it, and is not an older one either.
    #[error(
        "storage {path} does not belong to the snapshot {snapshot}: {reason}; refusing to start \
         with empty state"
    )]
    Mismatch {
        /// The journal.
        path: PathBuf,
        /// The snapshot.
        snapshot: PathBuf,
        /// How they differ.
        reason: String,
    },
    /// A journal without its snapshot.
    #[error(
        "storage {path} is missing but its journal {journal} exists; refusing to start with \
         empty state"
    )]
    Missing {
        /// The snapshot.
        path: PathBuf,
        /// The journal.
        journal: PathBuf,
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

#[derive(Serialize)]
struct ContentOut<'a, T> {
    protocol: &'a str,
    node: &'a str,
    generation: u64,
    storage: &'a T,
}

/// The owner of a snapshot, read before its storage.
#[derive(Deserialize)]
struct OwnerIn {
    protocol: String,
    node: String,
}

#[derive(Deserialize)]
struct ContentIn<T> {
    protocol: String,
    node: String,
    #[serde(default)]
    generation: u64,
    storage: T,
}

/// A valid snapshot.
struct Snapshot<T> {
    format: u32,
    generation: u64,
    checksum: [u8; 32],
    len: u64,
    storage: T,
}

/// What loading found in the journal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalReport {
    /// A journal file exists.
    pub present: bool,
    /// It belongs to an older snapshot (a crash between writing a snapshot and starting its
    /// journal): its records are all in the snapshot, and it was not read.
    pub stale: bool,
    /// Records replayed.
    pub records: u64,
    /// Bytes of the journal up to the end of its last whole record.
    pub valid_len: u64,
    /// Bytes after it: an incomplete (torn) last record, discarded.
    pub torn: u64,
    /// Zero bytes after the last whole record: the preallocated space not written yet (not
    /// counted when a torn record precedes them).
    pub zero_tail: u64,
}

/// The storage loaded from a snapshot and its journal.
#[derive(Debug)]
pub struct Recovered<T> {
    /// The storage as saved last.
    pub storage: T,
    /// The snapshot's format version.
    pub format: u32,
    /// The snapshot's generation.
    pub generation: u64,
    /// What the journal held.
    pub journal: JournalReport,
}

/// The open journal: its records end at `len`; the file holds zeros from there to `allocated`.
struct JournalFile {
    file: File,
    len: u64,
    seq: u64,
    allocated: u64,
}

/// What the store knows after a load or a save: the value saved last (the base of the next
/// change) and where the next record goes.
struct Active<T> {
    last: T,
    generation: u64,
    checksum: [u8; 32],
    snapshot_len: u64,
    /// `None`: the next save starts a journal for this snapshot first.
    journal: Option<JournalFile>,
    /// The next save writes a snapshot (after a format-1 snapshot, or a failed append).
    must_snapshot: bool,
}

/// A snapshot being written by a background thread (see [`Store::save`]): of the value saved
/// at the time, as generation `generation`, to `storage.ballot.next`, with its journal
/// prepared as `storage.journal.next`. `carried`: the payloads of the records appended to the
/// current journal since, which the new journal must hold too.
struct Pending {
    generation: u64,
    carried: Vec<Vec<u8>>,
    thread: std::thread::JoinHandle<Result<Prepared, StorageError>>,
}

/// What the background thread prepared: the new snapshot (written and synced as
/// `storage.ballot.next`) and its empty journal (header and zeros, written and synced as
/// `storage.journal.next`), the directory synced after both.
struct Prepared {
    checksum: [u8; 32],
    snapshot_len: u64,
    journal: JournalFile,
    syncs: u64,
}

/// One node's storage: its snapshot and journal, and the value saved last.
pub struct Store<T> {
    dir: PathBuf,
    path: PathBuf,
    journal_path: PathBuf,
    protocol: String,
    node: String,
    compact_min: u64,
    /// A journal append is synced before [`Store::save`] returns (always, but in benchmarks).
    sync_appends: bool,
    next_generation: u64,
    snapshots: u64,
    syncs: u64,
    active: Option<Active<T>>,
    /// A snapshot being written in the background, if any.
    pending: Option<Pending>,
    /// Snapshots are written by a background thread (the default) or within the save.
    background: bool,
    /// See [`Store::with_switch_after`].
    switch_after: Option<usize>,
}

impl<T> Drop for Store<T> {
    /// Waits for a snapshot being written in the background (without switching to it: the
    /// files it leaves are ignored at the next load, see [`Store::load`]).
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = p.thread.join();
        }
    }
}

impl<T> std::fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("protocol", &self.protocol)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl<T: Journaled> Store<T> {
    /// The storage of `protocol`'s node at `node`, in `dir` (created if missing).
    pub fn open(dir: &Path, protocol: &str, node: SocketAddrV4) -> Result<Self, StorageError> {
        fs::create_dir_all(dir).map_err(|source| StorageError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            dir: dir.to_path_buf(),
            path: dir.join(FILE_NAME),
            journal_path: dir.join(JOURNAL_NAME),
            protocol: protocol.into(),
            node: node.to_string(),
            compact_min: COMPACT_MIN_BYTES,
            sync_appends: true,
            next_generation: 1,
            snapshots: 0,
            syncs: 0,
            active: None,
            pending: None,
            background: true,
            switch_after: None,
        })
    }

    /// Whether a snapshot is written by a background thread while saves go on appending to
    /// the journal (`true`, the default), or within the save that needs it (`false`: the save
    /// then takes as long as writing the whole storage twice, snapshot and journal; for
    /// comparing the two).
    pub fn with_background_snapshots(mut self, background: bool) -> Self {
        self.background = background;
        self
    }

    /// Switches to a background snapshot at the save that follows `saves` saves made after it
    /// was started, waiting for its thread if needed, instead of at the first save after its
    /// thread is done: for tests of the saves made while a snapshot is written.
    pub fn with_switch_after(mut self, saves: usize) -> Self {
        self.switch_after = Some(saves);
        self
    }

    /// Whether a snapshot is being written in the background (not switched to yet).
    pub fn snapshot_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Writes a new snapshot when the journal would pass the larger of the snapshot's size and
    /// `bytes` (default [`COMPACT_MIN_BYTES`]); for tests that want many snapshots.
    pub fn with_compact_min(mut self, bytes: u64) -> Self {
        self.compact_min = bytes;
        self
    }

    /// Whether a journal append is synced (`fdatasync`) before [`Self::save`] returns: `true`
    /// unless this says otherwise, and in every node. With `false` a save is **not durable**
    /// until a later synced one (snapshots are still synced): only for measuring what an append
    /// costs besides its sync (`cargo bench -p ballot --bench journal`).
    pub fn with_synced_appends(mut self, sync: bool) -> Self {
        self.sync_appends = sync;
        self
    }

    /// The snapshot file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The journal file.
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// Snapshots this store has written.
    pub fn snapshots(&self) -> u64 {
        self.snapshots
    }

    /// `fsync`/`fdatasync` calls this store has made (files and directory).
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// The storage saved (or loaded) last.
    pub fn last(&self) -> Option<&T> {
        self.active.as_ref().map(|a| &a.last)
    }

    fn tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.tmp"))
    }

    fn journal_tmp_path(&self) -> PathBuf {
        self.dir.join(format!("{JOURNAL_NAME}.tmp"))
    }

    /// Where a background snapshot is written before it replaces the snapshot.
    fn next_path(&self) -> PathBuf {
        self.dir.join(format!("{FILE_NAME}.next"))
    }

    /// Where a background snapshot's journal is prepared before it replaces the journal.
    fn journal_next_path(&self) -> PathBuf {
        self.dir.join(format!("{JOURNAL_NAME}.next"))
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.to_path_buf();
        move |source| StorageError::Io { path, source }
    }

    fn read_file(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
        match fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io(path)(e)),
        }
    }

    /// Loads the saved storage to run the node from it, and makes the store ready to save:
    /// `None` if there are no files (a fresh node), an error if a file is damaged, missing or
    /// someone else's. An incomplete (torn) last journal record is discarded with a warning
    /// naming the file and the byte count, and the journal is cut back to its last whole
    /// record.
    ///
    /// Only the node that owns the directory may call this (it may write the journal); to look
    /// at a running node's storage, use [`Self::read`].
    pub fn load(&mut self) -> Result<Option<T>, StorageError> {
        let snapshot = Self::read_file(&self.path)?;
        let journal = Self::read_file(&self.journal_path)?;
        let Some(snapshot) = snapshot else {
            if journal.is_some() {
                return Err(StorageError::Missing {
                    path: self.path.clone(),
                    journal: self.journal_path.clone(),
                });
            }
            self.active = None;
            return Ok(None);
        };
        let mut snap = self.parse_snapshot(&snapshot)?;
        if let Some(next) = self.switched_snapshot(snap.generation, journal.as_deref())? {
            // A crash between the two renames of a background snapshot's switch: finish it.
            let next_path = self.next_path();
            fs::rename(&next_path, &self.path).map_err(Self::io(&self.path))?;
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(Self::io(&self.dir))?;
            self.syncs += 1;
            tracing::info!(
                file = %self.path.display(),
                "the journal extends the snapshot written before a crash ({}): switched to it",
                next_path.display()
            );
            snap = self.parse_snapshot(&next)?;
        }
        let (generation, checksum, snapshot_len, format) =
            (snap.generation, snap.checksum, snap.len, snap.format);
        let (storage, report) = self.replay(snap, journal.as_deref())?;
        let mut open = None;
        if report.present && !report.stale {
            let file = OpenOptions::new()
                .write(true)
                .open(&self.journal_path)
                .map_err(Self::io(&self.journal_path))?;
            if report.torn > 0 {
                tracing::warn!(
                    file = %self.journal_path.display(),
                    bytes = report.torn,
                    kept = report.valid_len,
                    records = report.records,
                    "the last journal record is incomplete (torn): discarded, journal cut back \
                     to its last whole record. A crash during that append leaves this, and then \
                     nothing that depended on it was sent; if the file was damaged otherwise \
                     (cut or overwritten from outside the node), saves that had been \
                     acknowledged may be lost"
                );
                // Cut back, preallocated space included: the next append preallocates again.
                file.set_len(report.valid_len)
                    .and_then(|()| file.sync_all())
                    .map_err(Self::io(&self.journal_path))?;
                self.syncs += 1;
            }
            let allocated = if report.torn > 0 {
                report.valid_len
            } else {
                report.valid_len + report.zero_tail
            };
            open = Some(JournalFile {
                file,
                len: report.valid_len,
                seq: report.records,
                allocated,
            });
        } else if report.stale {
            tracing::info!(
                file = %self.journal_path.display(),
                "journal of an older snapshot (a crash before its replacement): not read, \
                 replaced at the next save"
            );
        }
        self.next_generation = self.next_generation.max(generation + 1);
        self.active = Some(Active {
            last: storage.clone(),
            generation,
            checksum,
            snapshot_len,
            journal: open,
            must_snapshot: format != FORMAT,
        });
        Ok(Some(storage))
    }

    /// The saved storage as of the last whole record, read without writing anything (a torn
    /// last record is left in place and not counted): for looking at a running node's storage.
    pub fn read(&self) -> Result<Option<T>, StorageError> {
        // The node replaces its snapshot, then its journal: a reader that got the old snapshot
        // and the new journal reads again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let snapshot = Self::read_file(&self.path)?;
            let journal = Self::read_file(&self.journal_path)?;
            let result = match snapshot {
                Some(s) => match self.parse_files(&s, journal.as_deref()) {
                    Err(e @ StorageError::Mismatch { .. }) => {
                        let generation = self.parse_snapshot(&s)?.generation;
                        match self.switched_snapshot(generation, journal.as_deref())? {
                            Some(next) => self.parse_files(&next, journal.as_deref()),
                            None => Err(e),
                        }
                    }
                    other => other,
                }
                .map(|r| Some(r.storage)),
                None if journal.is_some() => Err(StorageError::Missing {
                    path: self.path.clone(),
                    journal: self.journal_path.clone(),
                }),
                None => Ok(None),
            };
            match result {
                Err(StorageError::Mismatch { .. } | StorageError::Missing { .. })
                    if attempt < 5 =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    /// The bytes of `storage.ballot.next` if `journal` extends it and not the snapshot of
    /// `generation`: the state a crash leaves between the two renames of a background
    /// snapshot's switch ([`Self::switch_if_ready`]) — the journal names a later generation,
    /// and `.next` is that snapshot (its generation and checksum). `None` otherwise, also for
    /// a damaged `.next` (the journal then does not match the snapshot: an error, as before).
    fn switched_snapshot(
        &self,
        generation: u64,
        journal: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let Some((names, base)) = journal.and_then(journal_names) else {
            return Ok(None);
        };
        if names <= generation {
            return Ok(None);
        }
        let Some(bytes) = Self::read_file(&self.next_path())? else {
            return Ok(None);
        };
        Ok(self
            .parse_snapshot(&bytes)
            .is_ok_and(|next| next.generation == names && next.checksum == base)
            .then_some(bytes))
    }

    /// Validates a snapshot's bytes alone (what [`Self::load`] does with the snapshot file).
    pub fn parse(&self, snapshot: &[u8]) -> Result<T, StorageError> {
        self.parse_snapshot(snapshot).map(|s| s.storage)
    }

    /// Validates a snapshot and its journal (`None`: no journal file) and replays the journal:
    /// what [`Self::load`] does with the files' bytes, without writing anything.
    pub fn parse_files(
        &self,
        snapshot: &[u8],
        journal: Option<&[u8]>,
    ) -> Result<Recovered<T>, StorageError> {
        let snap = self.parse_snapshot(snapshot)?;
        let (format, generation) = (snap.format, snap.generation);
        let (storage, journal) = self.replay(snap, journal)?;
        Ok(Recovered {
            storage,
            format,
            generation,
            journal,
        })
    }

    fn parse_snapshot(&self, bytes: &[u8]) -> Result<Snapshot<T>, StorageError> {
        let (format, checksum, payload) = check_snapshot(&self.path, bytes)?;
        // The owner first: another protocol's storage does not decode as this one's, and
        // "missing field `current_term`" would not say why.
        if let Ok(owner) = serde_json::from_slice::<OwnerIn>(payload)
            && (owner.protocol != self.protocol || owner.node != self.node)
        {
            return Err(StorageError::Owner {
                path: self.path.clone(),
                expected: format!("{} {}", self.protocol, self.node),
                found: format!("{} {}", owner.protocol, owner.node),
            });
        }
        let content: ContentIn<T> =
            serde_json::from_slice(payload).map_err(|e| StorageError::Decode {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        if content.protocol != self.protocol || content.node != self.node {
            return Err(StorageError::Owner {
                path: self.path.clone(),
                expected: format!("{} {}", self.protocol, self.node),
                found: format!("{} {}", content.protocol, content.node),
            });
        }
        if (format == FORMAT) != (content.generation > 0) {
            return Err(StorageError::Decode {
                path: self.path.clone(),
                reason: format!(
                    "format {format} with generation {}: format 2 snapshots have a generation, \
                     format 1 snapshots none",
                    content.generation
                ),
            });
        }
        Ok(Snapshot {
            format,
            generation: content.generation,
            checksum,
            len: bytes.len() as u64,
            storage: content.storage,
        })
    }

    /// Replays `journal` over the snapshot.
    fn replay(
        &self,
        snap: Snapshot<T>,
        journal: Option<&[u8]>,
    ) -> Result<(T, JournalReport), StorageError> {
        let mut storage = snap.storage;
        let Some(bytes) = journal else {
            return Ok((storage, JournalReport::default()));
        };
        let path = &self.journal_path;
        let record_err = |offset: usize, reason: String| StorageError::Record {
            path: path.clone(),
            offset: offset as u64,
            reason,
        };
        let mut report = JournalReport {
            present: true,
            ..JournalReport::default()
        };
        // The header: written whole (temporary file, then rename), so any damage is an error.
        if bytes.len() < 8 || bytes[..8] != JOURNAL_MAGIC {
            if bytes.len() < 8 && JOURNAL_MAGIC.starts_with(bytes) {
                return Err(StorageError::Truncated {
                    path: path.clone(),
                    expected: JOURNAL_HEADER_LEN as u64,
                    found: bytes.len() as u64,
                });
            }
            return Err(StorageError::BadMagic { path: path.clone() });
        }
        if bytes.len() < JOURNAL_HEADER_LEN {
            return Err(StorageError::Truncated {
                path: path.clone(),
                expected: JOURNAL_HEADER_LEN as u64,
                found: bytes.len() as u64,
            });
        }
        let header = &bytes[..JOURNAL_HEADER_LEN];
        if sha256(&[&header[8..52]]) != header[52..84] {
            return Err(record_err(
                0,
                "the journal header's checksum does not match it".into(),
            ));
        }
        let format = be_u32(&header[8..12]);
        if format != FORMAT {
            return Err(StorageError::Format {
                path: path.clone(),
                found: format,
            });
        }
        let generation = be_u64(&header[12..20]);
        let base: [u8; 32] = header[20..52].try_into().unwrap_or([0; 32]);
        if generation < snap.generation {
            report.stale = true;
            return Ok((storage, report));
        }
        if generation > snap.generation || base != snap.checksum {
            return Err(StorageError::Mismatch {
                path: path.clone(),
                snapshot: self.path.clone(),
                reason: if generation > snap.generation {
                    format!(
                        "the journal extends generation {generation}, the snapshot is generation {} \
                         (older than its journal: replaced by an old copy?)",
                        snap.generation
                    )
                } else {
                    format!(
                        "both are generation {generation} but the journal extends another snapshot \
                         (checksum differs)"
                    )
                },
            });
        }
        // Where the data ends: past it, only zeros — the preallocated space not written yet
        // (or nothing). The records end where the next record header would be all zeros.
        let data_end = bytes
            .iter()
            .rposition(|b| *b != 0)
            .map_or(0, |i| i + 1)
            .max(JOURNAL_HEADER_LEN);
        let mut at = JOURNAL_HEADER_LEN;
        loop {
            if at >= data_end {
                // Zeros up to the end of the file (or nothing): the end of the journal.
                report.zero_tail = (bytes.len() - at) as u64;
                break;
            }
            let rest = &bytes[at..];
            if rest.len() < RECORD_HEADER_LEN {
                // A record header cut short by the end of the file: a torn last record.
                report.torn = rest.len() as u64;
                break;
            }
            let h = &rest[..RECORD_HEADER_LEN];
            if sha256(&[&h[..20]])[..8] != h[20..28] {
                if data_end <= at + RECORD_HEADER_LEN {
                    // A record header written in part, only zeros after it: torn.
                    report.torn = RECORD_HEADER_LEN as u64;
                    break;
                }
                return Err(record_err(
                    at,
                    if h.iter().all(|b| *b == 0) {
                        format!(
                            "zeros where a record header should be, but data follows at byte                              {} (a record overwritten, or a byte set past the journal's end)",
                            data_end - 1
                        )
                    } else {
                        "the record header's checksum does not match it".into()
                    },
                ));
            }
            let len = be_u32(&h[..4]) as usize;
            let (gen_, seq) = (be_u64(&h[4..12]), be_u64(&h[12..20]));
            if gen_ != generation || seq != report.records {
                return Err(record_err(
                    at,
                    format!(
                        "record of generation {gen_} with sequence number {seq}, expected \
                         generation {generation} and sequence number {}",
                        report.records
                    ),
                ));
            }
            let end = at + RECORD_HEADER_LEN + len;
            if bytes.len() < end {
                // The header is whole and valid, the payload is cut short: a torn last record.
                report.torn = rest.len() as u64;
                break;
            }
            let payload = &bytes[at + RECORD_HEADER_LEN..end];
            if sha256(&[&snap.checksum, &h[..20], payload]) != h[28..60] {
                if data_end < end {
                    // The payload's end is zeros, and so is everything after it: a record whose
                    // write did not reach the disk whole (the preallocated space): torn.
                    report.torn = (end - at) as u64;
                    break;
                }
                return Err(record_err(
                    at,
                    "the record's SHA-256 checksum does not match its content".into(),
                ));
            }
            let delta: T::Delta = serde_json::from_slice(payload)
                .map_err(|e| record_err(at, format!("the record does not parse: {e}")))?;
            storage
                .apply(delta)
                .map_err(|e| record_err(at, format!("the record does not apply: {e}")))?;
            at = end;
            report.records += 1;
        }
        report.valid_len = at as u64;
        Ok((storage, report))
    }

    /// Saves `storage` durably: one journal record with the change since the last save, synced
    /// (`fdatasync`), or now and then a new snapshot and journal. Returns the bytes written, or
    /// `None` if `storage` equals what was saved last (nothing to write).
    pub fn save(&mut self, storage: &T) -> Result<Option<usize>, StorageError> {
        match (self.switch_after, self.pending.as_ref()) {
            (Some(after), Some(p)) if p.carried.len() >= after => self.switch_if_ready(true)?,
            (Some(_), _) => {}
            (None, _) => self.switch_if_ready(false)?,
        }
        let Some(active) = self.active.as_mut() else {
            return self.snapshot(storage).map(Some);
        };
        if active.must_snapshot {
            return self.snapshot(storage).map(Some);
        }
        let Some(delta) = active.last.delta(storage) else {
            return Ok(None);
        };
        let payload = serde_json::to_vec(&delta).map_err(|e| StorageError::Encode {
            path: self.journal_path.clone(),
            reason: e.to_string(),
        })?;
        let journal_len = active.journal.as_ref().map_or(0, |j| j.len);
        let limit = active.snapshot_len.max(self.compact_min);
        let over = journal_len + (RECORD_HEADER_LEN + payload.len()) as u64 > limit;
        if over && !self.background {
            return self.snapshot(storage).map(Some);
        }
        if active.journal.is_none() {
            let (generation, checksum) = (active.generation, active.checksum);
            let file = self.start_journal(generation, &checksum, limit)?;
            if let Some(active) = self.active.as_mut() {
                active.journal = Some(file);
            }
        }
        let written = self.append(&payload, limit)?;
        if let Some(active) = self.active.as_mut() {
            // For Raft, a clone sharing the actor's log chunks (`SharedVec`): no copy of the
            // log, and the next change is found by comparing chunk pointers.
            active
                .last
                .advance(storage, delta)
                .map_err(|reason| StorageError::Encode {
                    path: self.journal_path.clone(),
                    reason: format!("a change does not apply to the value it came from: {reason}"),
                })?;
            debug_assert!(
                active.last == *storage,
                "a journal change does not round-trip"
            );
        }
        match self.pending.as_mut() {
            // The background snapshot is of an earlier value: its journal needs this record.
            Some(p) => p.carried.push(payload),
            None if over => self.start_background_snapshot(storage),
            None => {}
        }
        Ok(Some(written))
    }

    /// Starts writing a snapshot of `storage` (the value just saved) in a background thread:
    /// the snapshot as `storage.ballot.next`, synced, then its journal (header, then zeros:
    /// room for twice the records a journal may hold before the next snapshot, so that the
    /// saves made meanwhile have room in the old one and those made after in the new one) as
    /// `storage.journal.next`, synced, then the directory. Saves go on appending to the current
    /// journal meanwhile; the first save after the thread is done switches to the new files
    /// ([`Self::switch_if_ready`]).
    fn start_background_snapshot(&mut self, storage: &T) {
        let generation = self.next_generation;
        self.next_generation += 1;
        let (next, journal_next, dir) =
            (self.next_path(), self.journal_next_path(), self.dir.clone());
        let (protocol, node, compact_min) =
            (self.protocol.clone(), self.node.clone(), self.compact_min);
        let value = storage.clone();
        let thread = std::thread::spawn(move || {
            let content = ContentOut {
                protocol: &protocol,
                node: &node,
                generation,
                storage: &value,
            };
            let payload = serde_json::to_vec(&content).map_err(|e| StorageError::Encode {
                path: next.clone(),
                reason: e.to_string(),
            })?;
            // The header, then the payload: not copied into one buffer (a Multi-Paxos storage
            // reaches hundreds of megabytes).
            let head = snapshot_header(FORMAT, &payload);
            let checksum: [u8; 32] = head[20..HEADER_LEN].try_into().unwrap_or([0; 32]);
            let (_, snapshot_syncs) = write_synced(&next, &[&head, &payload])?;
            let snapshot_len = (head.len() + payload.len()) as u64;
            let limit = snapshot_len.max(compact_min);
            let mut header = journal_header(generation, &checksum);
            let len = header.len() as u64;
            let allocated = (2 * preallocation(limit)).max(len);
            header.resize(allocated as usize, 0);
            let (file, journal_syncs) = write_synced(&journal_next, &[&header])?;
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| StorageError::Io { path: dir, source })?;
            Ok(Prepared {
                checksum,
                snapshot_len,
                journal: JournalFile {
                    file,
                    len,
                    seq: 0,
                    allocated,
                },
                syncs: snapshot_syncs + journal_syncs + 1,
            })
        });
        self.pending = Some(Pending {
            generation,
            carried: Vec::new(),
            thread,
        });
    }

    /// If the background snapshot is written (or, with `wait`, once it is), switches to it:
    /// writes the records saved since it was started into its journal and syncs them, renames
    /// that journal over the current one, syncs the directory, renames the snapshot over the
    /// current one and syncs the directory. A crash between the two renames leaves the new
    /// journal beside the old snapshot and the new one as `storage.ballot.next`, which
    /// [`Self::load`] recognizes (the journal names it) and finishes.
    fn switch_if_ready(&mut self, wait: bool) -> Result<(), StorageError> {
        if !self
            .pending
            .as_ref()
            .is_some_and(|p| wait || p.thread.is_finished())
        {
            return Ok(());
        }
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let next = self.next_path();
        let prepared = pending.thread.join().map_err(|_| StorageError::Encode {
            path: next.clone(),
            reason: "the thread writing the snapshot panicked".into(),
        })??;
        self.syncs += prepared.syncs;
        let (journal_next, journal_path, dir) = (
            self.journal_next_path(),
            self.journal_path.clone(),
            self.dir.clone(),
        );
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        if active.must_snapshot || active.journal.is_none() {
            // An append failed meanwhile: the next save writes a snapshot within the save.
            return Ok(());
        }
        let result = (|| {
            let mut journal = prepared.journal;
            let mut bytes = Vec::new();
            for (seq, payload) in pending.carried.iter().enumerate() {
                bytes.extend(record(
                    &prepared.checksum,
                    pending.generation,
                    seq as u64,
                    payload,
                )?);
            }
            let end = journal.len + bytes.len() as u64;
            if end > journal.allocated {
                let target = end.next_multiple_of(4096);
                let zeros = vec![0u8; (target - journal.allocated) as usize];
                journal.file.write_all_at(&zeros, journal.allocated)?;
                journal.allocated = target;
            }
            journal.file.write_all_at(&bytes, journal.len)?;
            journal.file.sync_data()?;
            journal.len = end;
            journal.seq = pending.carried.len() as u64;
            fs::rename(&journal_next, &journal_path)?;
            File::open(&dir)?.sync_all()?;
            fs::rename(&next, &self.path)?;
            File::open(&dir)?.sync_all()?;
            Ok::<_, std::io::Error>(journal)
        })();
        match result {
            Ok(journal) => {
                self.syncs += 3;
                self.snapshots += 1;
                active.generation = pending.generation;
                active.checksum = prepared.checksum;
                active.snapshot_len = prepared.snapshot_len;
                active.journal = Some(journal);
                Ok(())
            }
            Err(source) => {
                active.journal = None;
                active.must_snapshot = true;
                Err(StorageError::Io {
                    path: journal_path,
                    source,
                })
            }
        }
    }

    /// Waits for a snapshot being written in the background, if any, and switches to it: for
    /// tests and for a node that stops.
    pub fn finish_snapshot(&mut self) -> Result<(), StorageError> {
        self.switch_if_ready(true)
    }

    /// Abandons a snapshot being written in the background (a snapshot is about to be written
    /// within a save): waits for its thread; the files it leaves are never read (see
    /// [`Self::load`]).
    fn abandon_background_snapshot(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = p.thread.join();
        }
    }

    /// Saves `storage` as a new snapshot and an empty journal, whatever the journal's size
    /// (what [`Self::save`] does now and then). Returns the snapshot's size.
    pub fn save_snapshot(&mut self, storage: &T) -> Result<usize, StorageError> {
        self.snapshot(storage)
    }

    /// Appends one record to the open journal, in place (over the preallocated zeros), and
    /// syncs it (`fdatasync`: the file's size and blocks do not change, so no metadata is
    /// written). When the record does not fit in the preallocated space, the file is first
    /// extended with written zeros (see [`preallocation`]; that sync also writes the new size).
    /// On a failure the journal may end in a partial record: the next save writes a snapshot and
    /// a new journal. `limit`: the journal's size past which a save writes a snapshot instead.
    fn append(&mut self, payload: &[u8], limit: u64) -> Result<usize, StorageError> {
        let path = self.journal_path.clone();
        let Some(active) = self.active.as_mut() else {
            return Err(StorageError::Encode {
                path,
                reason: "no snapshot to append to".into(),
            });
        };
        let Some(journal) = active.journal.as_mut() else {
            return Err(StorageError::Encode {
                path,
                reason: "no journal open".into(),
            });
        };
        let bytes =
            record(&active.checksum, active.generation, journal.seq, payload).map_err(|e| {
                StorageError::Encode {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })?;
        let end = journal.len + bytes.len() as u64;
        let mut allocated = journal.allocated;
        let sync = self.sync_appends;
        let result = (|| {
            if end > allocated {
                let target = end
                    .max(allocated + preallocation(limit))
                    .next_multiple_of(4096);
                let zeros = vec![0u8; (target - allocated) as usize];
                journal.file.write_all_at(&zeros, allocated)?;
                allocated = target;
            }
            journal.file.write_all_at(&bytes, journal.len)?;
            if sync {
                journal.file.sync_data()?;
            }
            Ok(())
        })();
        if sync {
            self.syncs += 1;
        }
        match result {
            Ok(()) => {
                journal.len = end;
                journal.allocated = allocated;
                journal.seq += 1;
                Ok(bytes.len())
            }
            Err(source) => {
                active.journal = None;
                active.must_snapshot = true;
                Err(StorageError::Io { path, source })
            }
        }
    }

    /// Writes a new snapshot of `storage` (temporary file, fsync, rename, fsync of the
    /// directory), then starts its empty journal the same way. A crash in between leaves the
    /// new snapshot next to the old journal, which is then recognized as older and not read.
    fn snapshot(&mut self, storage: &T) -> Result<usize, StorageError> {
        self.abandon_background_snapshot();
        let generation = self.next_generation;
        self.next_generation += 1;
        if let Some(active) = self.active.as_mut() {
            // Whatever happens next, do not append to the old journal again.
            active.journal = None;
            active.must_snapshot = true;
        }
        let content = ContentOut {
            protocol: &self.protocol,
            node: &self.node,
            generation,
            storage,
        };
        let payload = serde_json::to_vec(&content).map_err(|e| StorageError::Encode {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let bytes = encode(FORMAT, &payload);
        let checksum: [u8; 32] = bytes[20..HEADER_LEN].try_into().unwrap_or([0; 32]);
        let (tmp, path) = (self.tmp_path(), self.path.clone());
        self.write_atomically(&tmp, &path, &bytes)?;
        self.snapshots += 1;
        let limit = (bytes.len() as u64).max(self.compact_min);
        let journal = self.start_journal(generation, &checksum, limit)?;
        self.active = Some(Active {
            last: storage.clone(),
            generation,
            checksum,
            snapshot_len: bytes.len() as u64,
            journal: Some(journal),
            must_snapshot: false,
        });
        Ok(bytes.len())
    }

    /// Replaces the journal with an empty one for the snapshot `(generation, checksum)`: its
    /// header, then zeros up to its preallocated size (see [`preallocation`]; `limit` is the
    /// journal's size past which a save writes a snapshot instead).
    fn start_journal(
        &mut self,
        generation: u64,
        checksum: &[u8; 32],
        limit: u64,
    ) -> Result<JournalFile, StorageError> {
        let mut header = journal_header(generation, checksum);
        let len = header.len() as u64;
        let allocated = preallocation(limit).max(len);
        header.resize(allocated as usize, 0);
        let (tmp, path) = (self.journal_tmp_path(), self.journal_path.clone());
        let file = self.write_atomically(&tmp, &path, &header)?;
        Ok(JournalFile {
            file,
            len,
            seq: 0,
            allocated,
        })
    }

    /// Writes `bytes` to `tmp`, fsyncs it, renames it to `path` and fsyncs the directory.
    /// Returns the file, open for writing.
    fn write_atomically(
        &mut self,
        tmp: &Path,
        path: &Path,
        bytes: &[u8],
    ) -> Result<File, StorageError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(Self::io(tmp))?;
        file.write_all(bytes).map_err(Self::io(tmp))?;
        self.syncs += 1;
        file.sync_all().map_err(Self::io(tmp))?;
        fs::rename(tmp, path).map_err(Self::io(path))?;
        self.syncs += 1;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(Self::io(&self.dir))?;
        Ok(file)
    }
}

/// A journal's header for the snapshot `(generation, checksum)`.
fn journal_header(generation: u64, checksum: &[u8; 32]) -> Vec<u8> {
    let mut header = Vec::with_capacity(JOURNAL_HEADER_LEN);
    header.extend_from_slice(&JOURNAL_MAGIC);
    header.extend_from_slice(&FORMAT.to_be_bytes());
    header.extend_from_slice(&generation.to_be_bytes());
    header.extend_from_slice(checksum);
    let sum = sha256(&[&header[8..52]]);
    header.extend_from_slice(&sum);
    header
}

/// The generation and snapshot checksum a journal's header names, if the header is whole and
/// its check holds.
fn journal_names(journal: &[u8]) -> Option<(u64, [u8; 32])> {
    let header = journal.get(..JOURNAL_HEADER_LEN)?;
    (header[..8] == JOURNAL_MAGIC && sha256(&[&header[8..52]]) == header[52..84])
        .then(|| Some((be_u64(&header[12..20]), header[20..52].try_into().ok()?)))?
}

/// Journal record number `seq` of the snapshot `(generation, base)` holding `payload`.
fn record(
    base: &[u8; 32],
    generation: u64,
    seq: u64,
    payload: &[u8],
) -> Result<Vec<u8>, std::io::Error> {
    let len = u32::try_from(payload.len()).map_err(|_| {
        std::io::Error::other(format!("a record of {} bytes is too long", payload.len()))
    })?;
    let mut bytes = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(&generation.to_be_bytes());
    bytes.extend_from_slice(&seq.to_be_bytes());
    let check = sha256(&[&bytes[..20]]);
    bytes.extend_from_slice(&check[..8]);
    let sum = sha256(&[base, &bytes[..20], payload]);
    bytes.extend_from_slice(&sum);
    bytes.extend_from_slice(payload);
    Ok(bytes)
}

/// How much of a file written in the background (a snapshot, a journal's zeros) is written
/// before it is synced: the disk takes it in pieces, so that the node's own syncs meanwhile (a
/// journal record's `fdatasync`) do not wait behind the whole file's writeback (on ext4 a sync
/// commits the file system's journal, which in its default mode first writes the data of every
/// file it allocated blocks for: hundreds of megabytes for a Multi-Paxos replica that executed
/// millions of commands).
pub const SNAPSHOT_PIECE: usize = 4 * 1024 * 1024;

/// Writes `parts`, one after the other, to a new file at `path` (replacing any), `fdatasync`
/// after every [`SNAPSHOT_PIECE`] bytes of each part and `fsync` at the end; returns it open for
/// writing, and the number of syncs.
fn write_synced(path: &Path, parts: &[&[u8]]) -> Result<(File, u64), StorageError> {
    let io = |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io)?;
    let mut syncs = 1;
    let mut pieces = parts
        .iter()
        .flat_map(|part| part.chunks(SNAPSHOT_PIECE))
        .peekable();
    while let Some(piece) = pieces.next() {
        file.write_all(piece).map_err(io)?;
        if pieces.peek().is_some() {
            file.sync_data().map_err(io)?;
            syncs += 1;
        }
    }
    file.sync_all().map_err(io)?;
    Ok((file, syncs))
}

/// Bytes of zeros a journal is extended by at a time (and created with, up to its limit).
pub const JOURNAL_SEGMENT: u64 = 4 * 1024 * 1024;

/// How much space to preallocate for a journal that may grow to `limit` bytes before a save
/// writes a snapshot instead: a [`JOURNAL_SEGMENT`], or less if the limit is lower, in whole
/// 4 KiB pages. The space is written with zeros (and synced) when it is allocated, not merely
/// reserved (`fallocate` leaves "unwritten" extents, and `set_len` a hole, whose first write
/// would again change metadata that `fdatasync` must write): an append then overwrites blocks
/// that exist, and its `fdatasync` writes only the data.
pub fn preallocation(limit: u64) -> u64 {
    limit.min(JOURNAL_SEGMENT).next_multiple_of(4096)
}

fn be_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A snapshot file's bytes for `payload`, in format `format`.
pub fn encode(format: u32, payload: &[u8]) -> Vec<u8> {
    let head = snapshot_header(format, payload);
    let mut bytes = Vec::with_capacity(head.len() + payload.len());
    bytes.extend_from_slice(&head);
    bytes.extend_from_slice(payload);
    bytes
}

/// The bytes a snapshot file holds before `payload` ([`HEADER_LEN`] of them), in format
/// `format`: what [`encode`] puts first.
fn snapshot_header(format: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&format.to_be_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    let sum = sha256(&[&bytes[8..20], payload]);
    bytes.extend_from_slice(&sum);
    bytes
}

/// Checks a snapshot's header, length and checksum; returns its format, checksum and payload.
fn check_snapshot<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<(u32, [u8; 32], &'a [u8]), StorageError> {
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
    let format = be_u32(&bytes[8..12]);
    let len = be_u64(&bytes[12..20]);
    let payload = &bytes[HEADER_LEN..];
    if payload.len() as u64 != len {
        return Err(StorageError::Truncated {
            path,
            expected: len,
            found: payload.len() as u64,
        });
    }
    let checksum = sha256(&[&bytes[8..20], payload]);
    if checksum != bytes[20..HEADER_LEN] {
        return Err(StorageError::Checksum { path });
    }
    if format != FORMAT && format != FORMAT_1 {
        return Err(StorageError::Format {
            path,
            found: format,
        });
    }
    Ok((format, checksum, payload))
}
