//! Durable storage refuses damaged files: every single-bit flip and every truncation of a saved
//! snapshot, and every bit flip in its journal, is a typed error naming the file (never a silent
//! reset); a journal cut inside its last record (a crash in the middle of an append) loses that
//! record only, with a warning; the crash points between writing a snapshot and starting its
//! journal recover the last save; and a node whose files are damaged exits non-zero with the
//! message instead of starting with empty state.

use crate::udp_common;

use ballot::runtime::client::Client;
use ballot::runtime::codec::Codec;
use ballot::runtime::storage::{
    self, FILE_NAME, HEADER_LEN, JOURNAL_HEADER_LEN, JOURNAL_NAME, RECORD_HEADER_LEN, StorageError,
    Store,
};
use ballot_models::paxos::{Ballot, PaxosStorage};
use ballot_properties::kv::KvOp;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;
use udp_common::*;

type S = PaxosStorage<String>;

/// The `n`-th of a sequence of storages, each different from the one before.
fn sample_n(n: u32) -> S {
    let b = Ballot {
        round: 3 + n,
        proposer: 1,
    };
    PaxosStorage {
        promised: Some(b),
        accepted: Some((b, format!("hello-{n}"))),
        last_round: 2 + n,
        decisions: vec![(0, "hello".into())],
    }
}

fn sample() -> S {
    sample_n(0)
}

const ADDR: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000);

fn store(dir: &Path) -> Store<S> {
    Store::open(dir, "paxos", ADDR).unwrap()
}

/// What a new store (a restarted node) loads from `dir`.
fn load(dir: &Path) -> Result<Option<S>, StorageError> {
    store(dir).load()
}

#[test]
fn a_missing_file_is_a_fresh_node_and_a_saved_one_round_trips() {
    let dir = tmp_dir("storage-roundtrip");
    let mut s = store(&dir);
    assert_eq!(s.load().unwrap(), None);
    s.save(&sample()).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample()));
    for n in 1..5 {
        s.save(&sample_n(n)).unwrap();
        assert_eq!(load(&dir).unwrap(), Some(sample_n(n)));
    }
    // Saving what was saved last writes nothing.
    assert_eq!(s.save(&sample_n(4)).unwrap(), None);
    assert!(!dir.join(format!("{FILE_NAME}.tmp")).exists());
    assert!(!dir.join(format!("{JOURNAL_NAME}.tmp")).exists());
}

#[test]
fn every_bit_flip_and_every_truncation_of_the_snapshot_is_refused_naming_the_file() {
    let dir = tmp_dir("storage-damage");
    let mut s = store(&dir);
    s.save(&sample()).unwrap();
    let path = s.path().to_path_buf();
    let good = std::fs::read(&path).unwrap();
    let named = |e: &StorageError| e.to_string().contains(&path.display().to_string());
    // Every damage, validated in memory; every 37th also through the file.
    let check = |bad: &[u8], what: &str, i: usize| -> StorageError {
        let err = s.parse(bad).expect_err(&format!("{what} was accepted"));
        if i.is_multiple_of(37) {
            std::fs::write(&path, bad).unwrap();
            let on_disk = load(&dir).expect_err(&format!("{what} was accepted from the file"));
            assert_eq!(on_disk.to_string(), err.to_string());
        }
        assert!(named(&err), "{err}");
        err
    };
    for bit in 0..good.len() * 8 {
        let mut bad = good.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        check(&bad, &format!("bit {bit} flipped"), bit);
    }
    for len in 0..good.len() {
        let err = check(&good[..len], &format!("truncated to {len} bytes"), len);
        if len > HEADER_LEN {
            assert!(matches!(err, StorageError::Truncated { .. }), "{err}");
        }
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample()));
}

/// A snapshot and a journal of `records` records: `sample_n(0)` in the snapshot, then
/// `sample_n(1..=records)`. Returns the snapshot's and the journal's bytes — the journal without
/// its preallocated zeros, as a journal written before preallocation — and where each record
/// ends.
fn journal_fixture(dir: &Path, records: u32) -> (Vec<u8>, Vec<u8>, Vec<usize>) {
    let (snapshot, file, ends) = preallocated_fixture(dir, records);
    let end = *ends.last().unwrap();
    (snapshot, file[..end].to_vec(), ends)
}

/// [`journal_fixture`] with the journal file as written: the records, then the preallocated
/// zeros.
fn preallocated_fixture(dir: &Path, records: u32) -> (Vec<u8>, Vec<u8>, Vec<usize>) {
    let mut s = store(dir);
    s.save(&sample()).unwrap();
    let mut ends = vec![JOURNAL_HEADER_LEN];
    for n in 1..=records {
        let written = s.save(&sample_n(n)).unwrap().expect("a record");
        ends.push(ends.last().unwrap() + written);
    }
    let snapshot = std::fs::read(s.path()).unwrap();
    let file = std::fs::read(s.journal_path()).unwrap();
    let end = *ends.last().unwrap();
    assert!(
        file.len() > end && file.len().is_multiple_of(4096),
        "the journal is preallocated in pages: {} bytes, records end at {end}",
        file.len()
    );
    assert!(
        file[end..].iter().all(|b| *b == 0),
        "the saves were records, then zeros"
    );
    (snapshot, file, ends)
}

#[test]
fn every_bit_flip_in_the_journal_is_refused_naming_it() {
    let dir = tmp_dir("journal-bitflip");
    let (snapshot, journal, _) = journal_fixture(&dir, 3);
    let s = store(&dir);
    let jpath = s.journal_path().display().to_string();
    for bit in 0..journal.len() * 8 {
        let mut bad = journal.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = s
            .parse_files(&snapshot, Some(&bad))
            .expect_err(&format!("journal bit {bit} flipped was accepted"));
        assert!(err.to_string().contains(&jpath), "{err}");
        assert!(err.to_string().contains("refusing to start"), "{err}");
        if bit.is_multiple_of(41) {
            std::fs::write(s.journal_path(), &bad).unwrap();
            let on_disk = load(&dir).expect_err("accepted from the file");
            assert_eq!(on_disk.to_string(), err.to_string());
        }
    }
    std::fs::write(s.journal_path(), &journal).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample_n(3)));
}

/// A journal cut at any length: inside its header, an error; inside a record, that record and
/// whatever followed it are gone (exactly what a crash in the middle of the append of that
/// record leaves: the torn record is discarded and the journal cut back); at a record boundary,
/// nothing tells that records are missing. Loading from the files cuts the journal back to its
/// last whole record, and the store appends after it.
#[test]
fn every_truncation_of_the_journal_loses_at_most_the_records_after_the_cut() {
    let dir = tmp_dir("journal-truncate");
    let (snapshot, journal, ends) = journal_fixture(&dir, 3);
    let s = store(&dir);
    for len in 0..journal.len() {
        let cut = &journal[..len];
        let result = s.parse_files(&snapshot, Some(cut));
        if len < JOURNAL_HEADER_LEN {
            let err = result.expect_err("a journal without its whole header was accepted");
            assert!(err.to_string().contains(JOURNAL_NAME), "{err}");
            continue;
        }
        let r = result.unwrap_or_else(|e| panic!("cut to {len}: {e}"));
        let whole = ends
            .iter()
            .rposition(|&e| e <= len)
            .expect("the header is whole");
        assert_eq!(r.storage, sample_n(whole as u32), "cut to {len}");
        assert_eq!(r.journal.records, whole as u64);
        assert_eq!(r.journal.valid_len, ends[whole] as u64);
        if cut[ends[whole]..].iter().all(|b| *b == 0) {
            // Only zero bytes of the next record (its length's high byte): the end of the
            // journal, as its preallocated zeros.
            assert_eq!(r.journal.torn, 0, "cut to {len}");
            assert_eq!(r.journal.zero_tail, (len - ends[whole]) as u64);
        } else {
            assert_eq!(r.journal.torn, (len - ends[whole]) as u64);
        }
        if len % 29 == 0 || len == ends[whole] + 1 {
            std::fs::write(s.journal_path(), cut).unwrap();
            let mut again = store(&dir);
            assert_eq!(again.load().unwrap(), Some(sample_n(whole as u32)));
            assert_eq!(
                std::fs::metadata(s.journal_path()).unwrap().len(),
                if r.journal.torn > 0 { ends[whole] } else { len } as u64,
                "the torn record was not cut off (or zeros were)"
            );
            again.save(&sample_n(40)).unwrap();
            assert_eq!(load(&dir).unwrap(), Some(sample_n(40)));
            std::fs::write(s.path(), &snapshot).unwrap();
        }
    }
    // A tail of zeros is the journal's preallocated space (or a file extended by a crash
    // before its data reached the disk): the end of the journal, not a torn record.
    let mut zeros = journal.clone();
    zeros.extend_from_slice(&[0; 300]);
    let r = s.parse_files(&snapshot, Some(&zeros)).unwrap();
    assert_eq!(r.storage, sample_n(3));
    assert_eq!(r.journal.torn, 0);
    assert_eq!(r.journal.zero_tail, 300);
}

/// A journal as the store writes it — records, then preallocated zeros — loads its records;
/// the zeros are the end of the journal, not a torn record. A restarted store appends in place
/// (the file keeps its size) and the next load finds every record.
#[test]
fn a_zero_filled_preallocated_tail_is_the_end_of_the_journal() {
    let dir = tmp_dir("journal-prealloc");
    let (snapshot, file, ends) = preallocated_fixture(&dir, 3);
    let mut s = store(&dir);
    let r = s.parse_files(&snapshot, Some(&file)).unwrap();
    assert_eq!(r.storage, sample_n(3));
    assert_eq!(r.journal.records, 3);
    assert_eq!(r.journal.torn, 0);
    assert_eq!(r.journal.valid_len, ends[3] as u64);
    assert_eq!(r.journal.zero_tail, (file.len() - ends[3]) as u64);
    assert_eq!(s.load().unwrap(), Some(sample_n(3)));
    assert_eq!(
        std::fs::metadata(s.journal_path()).unwrap().len(),
        file.len() as u64,
        "loading kept the preallocated space"
    );
    for n in 4..20 {
        s.save(&sample_n(n)).unwrap().expect("a record");
    }
    assert_eq!(s.snapshots(), 0, "the saves were journal records");
    assert_eq!(
        std::fs::metadata(s.journal_path()).unwrap().len(),
        file.len() as u64,
        "the records were written in place"
    );
    let r = s
        .parse_files(&snapshot, Some(&std::fs::read(s.journal_path()).unwrap()))
        .unwrap();
    assert_eq!(r.journal.records, 19);
    assert_eq!(load(&dir).unwrap(), Some(sample_n(19)));
}

/// A record whose write did not reach the disk whole, in the preallocated space: its first
/// bytes, then zeros (a power loss before the `fdatasync` returned). At every such cut, in the
/// last record's header or payload, the torn record is discarded (the save before it is
/// loaded); loading cuts the journal back, and the next save appends after the last whole
/// record.
#[test]
fn a_torn_record_followed_by_zeros_is_discarded() {
    let dir = tmp_dir("journal-torn-zeros");
    let (snapshot, file, ends) = preallocated_fixture(&dir, 3);
    let s = store(&dir);
    for cut in ends[2] + 1..ends[3] {
        let mut torn = file.clone();
        torn[cut..ends[3]].fill(0);
        let r = s
            .parse_files(&snapshot, Some(&torn))
            .unwrap_or_else(|e| panic!("zeros from byte {cut}: {e}"));
        assert_eq!(r.storage, sample_n(2), "zeros from byte {cut}");
        assert_eq!(r.journal.records, 2);
        assert_eq!(r.journal.valid_len, ends[2] as u64);
        // The record's first byte is zero (its length's high byte): zeros from the next byte
        // on leave nothing of it, and that is the end of the journal.
        let nothing_left = torn[ends[2]..].iter().all(|b| *b == 0);
        assert_eq!(r.journal.torn == 0, nothing_left, "zeros from byte {cut}");
        if cut % 17 == 0 || cut == ends[2] + RECORD_HEADER_LEN + 1 {
            std::fs::write(s.journal_path(), &torn).unwrap();
            let mut again = store(&dir);
            assert_eq!(again.load().unwrap(), Some(sample_n(2)));
            again.save(&sample_n(40)).unwrap();
            assert_eq!(load(&dir).unwrap(), Some(sample_n(40)));
            std::fs::write(s.path(), &snapshot).unwrap();
        }
    }
    // Zeros over a middle record, with a whole record after them, are damage, not a torn record.
    let mut zeroed = file.clone();
    zeroed[ends[1] + 10..ends[2]].fill(0);
    let err = s.parse_files(&snapshot, Some(&zeroed)).unwrap_err();
    assert!(err.to_string().contains(JOURNAL_NAME), "{err}");
}

/// Damage inside the written part of a preallocated journal is still an error naming the file:
/// every bit flip in the records; and data after the end (past where a torn record header could
/// be) is an error too, since it could be records whose predecessors were zeroed.
#[test]
fn corruption_inside_the_written_part_of_a_preallocated_journal_is_refused() {
    let dir = tmp_dir("journal-prealloc-bitflip");
    let (snapshot, file, ends) = preallocated_fixture(&dir, 3);
    let s = store(&dir);
    let jpath = s.journal_path().display().to_string();
    for bit in 0..ends[3] * 8 {
        let mut bad = file.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = s
            .parse_files(&snapshot, Some(&bad))
            .expect_err(&format!("journal bit {bit} flipped was accepted"));
        assert!(err.to_string().contains(&jpath), "{err}");
        assert!(err.to_string().contains("refusing to start"), "{err}");
    }
    for at in [ends[3] + RECORD_HEADER_LEN, ends[3] + 1000, file.len() - 1] {
        let mut bad = file.clone();
        bad[at] = 1;
        let err = s.parse_files(&snapshot, Some(&bad)).unwrap_err();
        assert!(err.to_string().contains(&jpath), "{err}");
        assert!(err.to_string().contains("data follows"), "{err}");
    }
}

/// Damage before the last record, or a complete record with a bad checksum, is an error even
/// when what follows looks torn.
#[test]
fn damage_before_the_last_record_is_an_error_not_a_torn_record() {
    let dir = tmp_dir("journal-middle");
    let (snapshot, journal, ends) = journal_fixture(&dir, 3);
    let s = store(&dir);
    // The second record's length field claims more bytes than the file holds: its header check
    // fails, so it is not taken for a torn last record.
    let mut bad = journal.clone();
    bad[ends[1]] ^= 0x40;
    let err = s.parse_files(&snapshot, Some(&bad)).unwrap_err();
    assert!(
        matches!(err, StorageError::Record { offset, .. } if offset == ends[1] as u64),
        "{err}"
    );
    // A record removed from the middle: the next one's sequence number is wrong.
    let mut hole = journal[..ends[1]].to_vec();
    hole.extend_from_slice(&journal[ends[2]..]);
    let err = s.parse_files(&snapshot, Some(&hole)).unwrap_err();
    assert!(err.to_string().contains("sequence number"), "{err}");
    // Zeros over a middle record, with a valid record after them.
    let mut zeroed = journal.clone();
    zeroed[ends[1]..ends[2]].fill(0);
    assert!(s.parse_files(&snapshot, Some(&zeroed)).is_err());
    // The last record whole, its payload altered.
    let mut last = journal.clone();
    let end = last.len() - 1;
    last[end] ^= 1;
    let err = s.parse_files(&snapshot, Some(&last)).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    // A record header cut short at the end is torn, not damaged.
    let short = &journal[..ends[2] + RECORD_HEADER_LEN - 1];
    let r = s.parse_files(&snapshot, Some(short)).unwrap();
    assert_eq!(r.storage, sample_n(2));
}

/// The crash points of a save that writes a snapshot: (1) before the new snapshot's rename, (2)
/// after it but before the new journal's rename, (3) after both. Each leaves files from which
/// the last completed save loads (and (2) also the one in progress, whose snapshot is whole).
/// A snapshot written in the background while saves go on (appended to the old journal, and
/// carried into the new one when the store switches to it) keeps every save, and each crash
/// point of the switch recovers the last save: before it (the `.next` files are not read),
/// between its two renames (the journal names `storage.ballot.next`: the load finishes the
/// switch), after both. A `.next` the journal needs but that is damaged or gone is an error.
#[test]
fn every_crash_point_of_a_background_snapshot_recovers_the_last_save() {
    let dir = tmp_dir("journal-background");
    let mut s = store(&dir).with_compact_min(0).with_switch_after(2);
    let next = dir.join(format!("{FILE_NAME}.next"));
    s.save(&sample_n(1)).unwrap();
    let mut k = 1;
    while !s.snapshot_pending() {
        k += 1;
        assert!(k < 20, "no background snapshot started");
        s.save(&sample_n(k)).unwrap();
    }
    let snapshots = s.snapshots();
    // Two saves while the snapshot of save k is written: appended to the old journal.
    s.save(&sample_n(k + 1)).unwrap();
    s.save(&sample_n(k + 2)).unwrap();
    assert!(s.snapshot_pending());
    let old_snapshot = std::fs::read(s.path()).unwrap();
    let old_journal = std::fs::read(s.journal_path()).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample_n(k + 2)));
    // The next save switches: the two saves carried into the new journal, then its own.
    s.save(&sample_n(k + 3)).unwrap();
    assert_eq!(s.snapshots(), snapshots + 1);
    let new_snapshot = std::fs::read(s.path()).unwrap();
    let new_journal = std::fs::read(s.journal_path()).unwrap();
    assert_ne!(new_snapshot, old_snapshot);
    let r = s.parse_files(&new_snapshot, Some(&new_journal)).unwrap();
    assert_eq!(r.storage, sample_n(k + 3));
    assert_eq!(r.journal.records, 3, "saves k+1, k+2 carried, then k+3");
    assert_eq!(s.parse(&new_snapshot).unwrap(), sample_n(k));
    drop(s);
    let put = |snapshot: &[u8], journal: &[u8], next_bytes: Option<&[u8]>| {
        std::fs::write(dir.join(FILE_NAME), snapshot).unwrap();
        std::fs::write(dir.join(JOURNAL_NAME), journal).unwrap();
        match next_bytes {
            Some(b) => std::fs::write(&next, b).unwrap(),
            None => {
                let _ = std::fs::remove_file(&next);
            }
        }
    };

    // (1) Before the switch, the new snapshot written: the old files hold save k+2.
    put(&old_snapshot, &old_journal, Some(&new_snapshot));
    assert_eq!(load(&dir).unwrap(), Some(sample_n(k + 2)));

    // (2) Between the renames: the new journal beside the old snapshot. The load finishes the
    // switch, and the files are then those of a finished one.
    put(&old_snapshot, &new_journal, Some(&new_snapshot));
    assert_eq!(store(&dir).read().unwrap(), Some(sample_n(k + 3)));
    assert_eq!(load(&dir).unwrap(), Some(sample_n(k + 3)));
    assert_eq!(std::fs::read(dir.join(FILE_NAME)).unwrap(), new_snapshot);
    assert!(!next.exists());

    // (3) After both renames.
    put(&new_snapshot, &new_journal, None);
    assert_eq!(load(&dir).unwrap(), Some(sample_n(k + 3)));

    // (4) Between the renames, but `.next` damaged or gone: refused, naming the journal.
    let mut damaged = new_snapshot.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    for next_bytes in [Some(&damaged[..]), None] {
        put(&old_snapshot, &new_journal, next_bytes);
        match load(&dir) {
            Err(e @ StorageError::Mismatch { .. }) => {
                assert!(e.to_string().contains(JOURNAL_NAME), "{e}")
            }
            other => panic!("expected a mismatch, got {other:?}"),
        }
    }
}

#[test]
fn every_crash_point_of_a_snapshot_recovers_the_last_save() {
    let dir = tmp_dir("journal-crash");
    let mut s = store(&dir);
    s.save(&sample_n(1)).unwrap();
    s.save(&sample_n(2)).unwrap();
    let old_snapshot = std::fs::read(s.path()).unwrap();
    let old_journal = std::fs::read(s.journal_path()).unwrap();
    s.save_snapshot(&sample_n(3)).unwrap();
    let new_snapshot = std::fs::read(s.path()).unwrap();
    let new_journal = std::fs::read(s.journal_path()).unwrap();
    let put = |snapshot: &[u8], journal: &[u8]| {
        std::fs::write(s.path(), snapshot).unwrap();
        std::fs::write(s.journal_path(), journal).unwrap();
    };
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let jtmp = dir.join(format!("{JOURNAL_NAME}.tmp"));

    // (1) The new snapshot half written to its temporary file: the old files hold save 2.
    put(&old_snapshot, &old_journal);
    std::fs::write(&tmp, &new_snapshot[..new_snapshot.len() / 2]).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample_n(2)));

    // (2) The new snapshot renamed, the new journal not yet (or half written to its temporary
    // file): the old journal is older than the snapshot, and not read.
    put(&new_snapshot, &old_journal);
    std::fs::write(&jtmp, &new_journal[..new_journal.len() / 2]).unwrap();
    let r = s.parse_files(&new_snapshot, Some(&old_journal)).unwrap();
    assert!(r.journal.stale);
    let mut after = store(&dir);
    assert_eq!(after.load().unwrap(), Some(sample_n(3)));
    // The next save starts a journal for the new snapshot instead of appending to the old one.
    after.save(&sample_n(4)).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample_n(4)));
    let r = s
        .parse_files(
            &std::fs::read(s.path()).unwrap(),
            Some(&std::fs::read(s.journal_path()).unwrap()),
        )
        .unwrap();
    assert!(!r.journal.stale);
    assert_eq!(r.journal.records, 1);

    // (2') The new snapshot renamed and no journal at all (the first save of a node).
    put(&new_snapshot, &new_journal);
    std::fs::remove_file(s.journal_path()).unwrap();
    assert_eq!(load(&dir).unwrap(), Some(sample_n(3)));

    // (3) Both renamed: save 3.
    put(&new_snapshot, &new_journal);
    assert_eq!(load(&dir).unwrap(), Some(sample_n(3)));

    // Not crash points, but damage: an older snapshot put back next to a newer journal, and a
    // journal without its snapshot.
    put(&old_snapshot, &new_journal);
    let err = load(&dir).unwrap_err();
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("older than its journal"), "{err}");
    std::fs::remove_file(s.path()).unwrap();
    let err = load(&dir).unwrap_err();
    assert!(matches!(err, StorageError::Missing { .. }), "{err}");
    assert!(err.to_string().contains(FILE_NAME), "{err}");
}

/// A journal next to another snapshot of the same generation (another directory's) is refused.
#[test]
fn a_journal_of_another_snapshot_is_refused() {
    let (a, b) = (tmp_dir("journal-a"), tmp_dir("journal-b"));
    journal_fixture(&a, 2);
    let mut s = store(&b);
    s.save(&sample_n(7)).unwrap();
    std::fs::copy(a.join(JOURNAL_NAME), b.join(JOURNAL_NAME)).unwrap();
    let err = load(&b).unwrap_err();
    assert!(matches!(err, StorageError::Mismatch { .. }), "{err}");
    assert!(err.to_string().contains("another snapshot"), "{err}");
}

/// A format-1 file (before the journal) loads, and the first save replaces it with a format-2
/// snapshot; a format this build does not know is refused naming its version.
#[test]
fn a_format_1_file_loads_and_a_future_format_is_refused() {
    let dir = tmp_dir("storage-format");
    let payload = serde_json::to_vec(&serde_json::json!({
        "protocol": "paxos",
        "node": ADDR.to_string(),
        "storage": sample_n(5),
    }))
    .unwrap();
    let path = dir.join(FILE_NAME);
    std::fs::write(&path, storage::encode(1, &payload)).unwrap();
    let mut s = store(&dir);
    assert_eq!(s.load().unwrap(), Some(sample_n(5)));
    s.save(&sample_n(6)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[8..12], &2u32.to_be_bytes());
    assert_eq!(load(&dir).unwrap(), Some(sample_n(6)));

    std::fs::write(&path, storage::encode(3, &payload)).unwrap();
    std::fs::remove_file(dir.join(JOURNAL_NAME)).unwrap();
    let err = load(&dir).unwrap_err();
    assert!(
        matches!(err, StorageError::Format { found: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("format version 3"), "{err}");
}

#[test]
fn another_nodes_file_is_refused() {
    let dir = tmp_dir("storage-owner");
    store(&dir).save(&sample()).unwrap();
    let other = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7001);
    let err = Store::<S>::open(&dir, "paxos", other)
        .unwrap()
        .load()
        .unwrap_err();
    assert!(matches!(err, StorageError::Owner { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1:7000"), "{err}");
}

/// Another protocol's data directory is refused as such, not as a storage that does not
/// decode (issue 13: a Raft node pointed at a Paxos directory said "missing field
/// `current_term`").
#[test]
fn another_protocols_file_is_refused_naming_the_protocol() {
    let dir = tmp_dir("storage-protocol");
    store(&dir).save(&sample()).unwrap();
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7000);
    let err = Store::<ballot_models::raft::RaftStorage<String, String>>::open(&dir, "raft", addr)
        .unwrap()
        .load()
        .unwrap_err();
    assert!(matches!(err, StorageError::Owner { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("belongs to paxos 127.0.0.1:7000, not to raft 127.0.0.1:7000"),
        "{text}"
    );
    assert!(!text.contains("missing field"), "{text}");
}

/// Runs an `n`-node Paxos cluster until it decides (node 0 proposes), kills node 0, damages
/// its file `file` with `damage`, and restarts it. Returns the nodes (node 0 running or
/// exited).
fn restart_after(n: usize, test: &str, file: &str, damage: impl Fn(&mut Vec<u8>)) -> Nodes {
    let dir = tmp_dir(test);
    let mut nodes = Nodes::start("paxos", n, &dir, &[]);
    // The client asks node 0 only, so that node 0 proposes: it saves its promise, its vote and
    // the decision (each in its own step with peers) before it answers. Asking any node, the
    // decision could be made without node 0, and its files would not exist yet.
    let mut client = Client::new(vec![nodes.peers[0]], nodes.codec()).unwrap();
    client
        .call(KvOp::Put("r".into(), "v".into()), Duration::from_secs(10))
        .unwrap();
    nodes.kill(0);
    let path = nodes.data(0).join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(nodes.log(0), "").unwrap();
    nodes.restart(0);
    nodes
}

/// The exit status and log of a node that must refuse to start.
fn refused(
    n: usize,
    test: &str,
    file: &str,
    damage: impl Fn(&mut Vec<u8>),
) -> (Option<i32>, String) {
    let mut nodes = restart_after(n, test, file, damage);
    let child = nodes.children[0].as_mut().unwrap();
    let status = wait_exit(child, Duration::from_secs(10)).expect("the node refuses to start");
    nodes.children[0] = None;
    (
        status.code(),
        std::fs::read_to_string(nodes.log(0)).unwrap(),
    )
}

#[test]
fn a_node_with_a_bit_flipped_storage_file_exits_with_a_clear_error() {
    let (code, log) = refused(1, "node-bitflip", FILE_NAME, |b| {
        let last = b.len() - 1;
        b[last - 3] ^= 0x10;
    });
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("storage.ballot is corrupt"), "{log}");
    assert!(log.contains("refusing to start"), "{log}");
}

#[test]
fn a_node_with_a_truncated_storage_file_exits_with_a_clear_error() {
    let (code, log) = refused(1, "node-truncated", FILE_NAME, |b| b.truncate(b.len() / 2));
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("storage.ballot is truncated"), "{log}");
}

#[test]
fn a_node_with_a_bit_flipped_journal_record_exits_with_a_clear_error() {
    // Three nodes: alone, a node decides in the step of its first save (its snapshot); with
    // peers, its promise, vote and decision are saved in separate steps (journal records).
    let (code, log) = refused(3, "node-journal-bitflip", JOURNAL_NAME, |b| {
        // The last byte of the last record: the preallocated zeros follow it.
        let last = b.iter().rposition(|x| *x != 0).unwrap();
        assert!(last >= JOURNAL_HEADER_LEN, "the node saved journal records");
        b[last - 3] ^= 0x10;
    });
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("storage.journal is corrupt at byte"), "{log}");
    assert!(log.contains("refusing to start"), "{log}");
}

/// A journal whose last record is torn (as a crash in the middle of an append leaves it): the
/// node starts, warns naming the file and the bytes discarded — saying that a crash during that
/// append explains it and that other damage may have lost acknowledged saves — and serves.
#[test]
fn a_node_with_a_torn_last_journal_record_warns_and_starts() {
    let mut nodes = restart_after(3, "node-journal-torn", JOURNAL_NAME, |b| {
        // The last record's last bytes did not reach the disk: zeros, as in the preallocated
        // space after them.
        let end = b.iter().rposition(|x| *x != 0).unwrap() + 1;
        assert!(end > JOURNAL_HEADER_LEN, "the node saved journal records");
        b[end - 5..end].fill(0);
    });
    let mut client = Client::new(vec![nodes.peers[0]], nodes.codec()).unwrap();
    // The torn record may have been the decision: a put decides again, and must decide the
    // value accepted before the crash.
    let got = client
        .call(KvOp::Put("r".into(), "w".into()), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", nodes.logs()));
    assert!(format!("{got:?}").contains("\"v\""), "{got:?}");
    let log = std::fs::read_to_string(nodes.log(0)).unwrap();
    assert!(
        log.contains("the last journal record is incomplete (torn)"),
        "{log}"
    );
    // It says what it cannot know: a crash explains it, other damage would lose saves.
    assert!(log.contains("A crash during that append"), "{log}");
    assert!(
        log.contains("saves that had been acknowledged may be lost"),
        "{log}"
    );
    assert!(!log.contains("never acknowledged"), "{log}");
    assert!(log.contains("storage.journal"), "{log}");
    assert!(log.contains("bytes="), "{log}");
    assert!(
        nodes.children[0]
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
            .is_none()
    );
}

/// A step's save happens before its messages: when the save fails, the node stops with the error
/// and none of the step's messages leaves. (The temporary file's name is taken by a directory, so
/// the write fails even for root.)
#[test]
fn when_a_save_fails_no_message_of_that_step_is_sent() {
    use ballot::runtime::codec::{Kind, SESSION_BIT, WireRequest};
    use ballot::runtime::node::NodeError;
    use ballot::runtime::served::Paxos;
    use std::net::SocketAddr;

    let dir = tmp_dir("save-fails");
    let (mut node, _, sockets) = node_at_0::<Paxos>(&dir, Codec::default());
    std::fs::create_dir(dir.join(format!("{FILE_NAME}.tmp"))).unwrap();
    let put = Codec::default()
        .encode(
            Kind::Request,
            &WireRequest::Op {
                session: SESSION_BIT | 1,
                req: 1,
                op: KvOp::Put("r".into(), "v".into()),
            },
        )
        .unwrap();
    // A Put makes the proposer save its ballot, then send Prepare to both peers.
    let err = node
        .receive(SocketAddr::from((Ipv4Addr::LOCALHOST, 40_001)), &put)
        .unwrap_err();
    assert!(matches!(err, NodeError::Storage(_)), "{err}");
    assert_eq!(node.counters().messages_out, 0);
    let mut buf = [0u8; 2048];
    for peer in sockets {
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        assert!(peer.recv_from(&mut buf).is_err(), "a Prepare was sent");
    }
    // The same Put with a working directory is saved and sent.
    std::fs::remove_dir(dir.join(format!("{FILE_NAME}.tmp"))).unwrap();
    node.receive(SocketAddr::from((Ipv4Addr::LOCALHOST, 40_001)), &put)
        .unwrap();
    assert_eq!(node.counters().messages_out, 2);
    assert_eq!(node.counters().saves, 1);
}
