//! `cargo bench -p ballot --bench journal`: one save of a Raft node's storage
//! (`impls/src/runtime/storage.rs`), in a directory under `target/` (on this machine's disk).
//!
//! A save is what a node does once per batch of steps: the change since the last save (here one
//! more log entry and one more applied entry, a leader's steady state) found by comparing
//! chunk pointers, encoded as JSON, framed and checksummed, written in place in the
//! preallocated journal, then synced with `fdatasync`. Measured twice: the append alone
//! ([`Store::with_synced_appends`]`(false)`: not durable, what the write costs besides the
//! sync) and append + `fdatasync` (what a node pays per batch).
//!
//! Each measured save is timed on its own ([`criterion::Bencher::iter_custom`]); preparing the
//! next storage is not timed, and every [`RESTART`] saves the node starts again from an empty
//! directory (not timed), so the log stays of a realistic length. The snapshot a store writes
//! now and then (when the journal outgrows the snapshot) is left out: the compaction threshold
//! is set above what [`RESTART`] records fill, so every measured save is one append in the
//! journal's preallocated space (its 4 MiB written and synced at the start, not timed).

use ballot::runtime::served::session_id;
use ballot::runtime::storage::Store;
use ballot_models::kv::{Command, Entry};
use ballot_models::raft::{Applied, LogEntry, RaftStorage};
use ballot_properties::kv::KvOp;
use criterion::{Criterion, criterion_group, criterion_main};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// The `ballot` binary's allocator, so that allocation costs are the runtime's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Storage = RaftStorage<String, String>;

/// Saves before the node starts again from an empty directory.
const RESTART: u64 = 2_000;

/// The journal's size past which a save writes a snapshot: far above what [`RESTART`] records
/// of a few hundred bytes fill, so no measured save writes one.
const COMPACT_MIN: u64 = 64 << 20;

/// `prev` with one more log entry (a client's put, `ballot bench`'s workload) and, once the log
/// is two entries ahead of what was applied, one more applied entry.
fn next(prev: &Storage, n: u64) -> Storage {
    let mut s = prev.clone();
    let c = n % 16;
    let cmd = Entry::Cmd(Command {
        client: session_id(ballot::runtime::codec::SESSION_BIT | (0x5eed_0000 + c))
            .expect("a session id"),
        req: (n / 16) as u32 + 1,
        op: KvOp::Put(format!("k{}", n % 8), format!("c{c}-{n}")),
    });
    s.log.push(LogEntry {
        term: s.current_term,
        entry: cmd,
    });
    let applied = s.applied.len();
    if s.log.len() > applied + 2 {
        let e = s
            .log
            .get(applied)
            .expect("an entry not applied yet")
            .clone();
        s.applied.push((applied as u32 + 1, e.entry));
        s.applied_terms.push(Applied {
            term: e.term,
            at: s.current_term,
        });
    }
    s
}

/// A node's store in a fresh `dir`, with its first save (a snapshot) done.
fn fresh(dir: &Path, synced: bool) -> (Store<Storage>, Storage) {
    let _ = std::fs::remove_dir_all(dir);
    let mut store = Store::open(dir, "raft", node())
        .expect("the bench directory opens")
        .with_compact_min(COMPACT_MIN)
        .with_synced_appends(synced);
    let first = Storage {
        current_term: 2,
        voted_for: Some(0),
        ..Storage::default()
    };
    store.save(&first).expect("the first save");
    (store, first)
}

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-journal");
    let mut group = c.benchmark_group("journal");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    for (name, synced) in [("append", false), ("append_fdatasync", true)] {
        let dir = root.join(name);
        // The bench's own check: saves go to the journal and load back.
        {
            let (mut store, mut s) = fresh(&dir, synced);
            let mut bytes = 0;
            for n in 0..100 {
                s = next(&s, n);
                bytes += store.save(&s).expect("a save").expect("a change");
            }
            assert_eq!(
                store.snapshots(),
                1,
                "every save after the first is an append"
            );
            eprintln!(
                "journal/{name}: records of {} bytes on average",
                bytes / 100
            );
            let mut again = Store::<Storage>::open(&dir, "raft", node()).expect("reopens");
            assert_eq!(again.load().expect("loads"), Some(s));
        }
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let (mut store, mut s) = fresh(&dir, synced);
                for i in 0..iters {
                    if i > 0 && i % RESTART == 0 {
                        (store, s) = fresh(&dir, synced);
                    }
                    s = next(&s, i);
                    let start = Instant::now();
                    let written = store.save(&s).expect("a save");
                    total += start.elapsed();
                    assert!(written.is_some());
                    assert_eq!(store.snapshots(), 1, "a measured save wrote a snapshot");
                }
                total
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&root);
}

/// The node's address, recorded in its storage.
fn node() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000)
}

criterion_group!(benches, bench);
criterion_main!(benches);
