//! The spool's delivery guarantees: durability across reopen, rotation and deletion, torn tails,
//! damaged segments, the quota, and a model-based property test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::{fs, path::Path};

use proptest::prelude::*;
use shieldwall_collect::spool::{Spool, SpoolConfig, SpoolError};

fn config(dir: &Path, segment_bytes: u64, max_bytes: u64) -> SpoolConfig {
    SpoolConfig {
        segment_bytes,
        max_bytes,
        ..SpoolConfig::new(dir)
    }
}

fn payload(i: u64) -> Vec<u8> {
    format!("<13>Nov 29 00:00:00 host app[{i}]: message number {i}").into_bytes()
}

fn append_n(spool: &mut Spool, from: u64, n: u64) {
    let payloads: Vec<Vec<u8>> = (from..from + n).map(payload).collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let seqs = spool.append(&refs).unwrap();
    assert_eq!(seqs, from..from + n);
}

fn segments(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "spool"))
        .collect();
    v.sort();
    v
}

#[test]
fn appended_records_survive_a_reopen_in_order() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut spool, report) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
        assert!(report.is_clean());
        append_n(&mut spool, 0, 3);
        append_n(&mut spool, 3, 2);
    }
    let (spool, report) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.pending, 5);
    let records = spool.read(0, 100).unwrap();
    assert_eq!(records.len(), 5);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64);
        assert_eq!(r.payload, payload(i as u64));
    }
    assert_eq!(spool.read(3, 1).unwrap()[0].payload, payload(3));
    assert!(spool.read(5, 10).unwrap().is_empty());
}

#[test]
fn segments_rotate_and_acknowledged_ones_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(config(dir.path(), 300, 1 << 20)).unwrap();
    for i in 0..20 {
        append_n(&mut spool, i, 1);
    }
    let before = segments(dir.path()).len();
    assert!(before >= 5, "{before} segments");
    assert_eq!(spool.read(0, 100).unwrap().len(), 20);
    spool.acknowledge(12).unwrap();
    let after = segments(dir.path()).len();
    assert!(after < before, "{after} segments left of {before}");
    assert_eq!(spool.pending(), 8);
    // Reading from before the mark starts at the first record still retained: the segment that
    // holds the mark may keep a few acknowledged records until it is wholly acknowledged.
    let rest = spool.read(0, 100).unwrap();
    assert!(
        rest.len() >= 8 && rest.len() < 20,
        "{} records retained",
        rest.len()
    );
    assert_eq!(rest.last().unwrap().seq, 19);
    assert_eq!(spool.read(12, 100).unwrap().first().unwrap().seq, 12);
    drop(spool);
    let (spool, report) = Spool::open(config(dir.path(), 300, 1 << 20)).unwrap();
    assert_eq!(spool.acknowledged_up_to(), 12);
    assert_eq!(report.pending, 8);
    assert_eq!(spool.next_seq(), 20);
}

#[test]
fn acknowledging_everything_keeps_the_sequence_going_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(config(dir.path(), 300, 1 << 20)).unwrap();
    append_n(&mut spool, 0, 7);
    spool.acknowledge(7).unwrap();
    assert!(segments(dir.path()).is_empty());
    assert_eq!(spool.bytes(), 0);
    drop(spool);
    let (mut spool, _) = Spool::open(config(dir.path(), 300, 1 << 20)).unwrap();
    assert_eq!(spool.next_seq(), 7);
    append_n(&mut spool, 7, 2);
    assert_eq!(
        spool
            .read(0, 10)
            .unwrap()
            .iter()
            .map(|r| r.seq)
            .collect::<Vec<_>>(),
        vec![7, 8]
    );
    assert!(matches!(
        spool.acknowledge(10),
        Err(SpoolError::AckBeyondEnd { seq: 10, next: 9 })
    ));
}

#[test]
fn a_torn_tail_is_cut_at_every_possible_byte() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut spool, _) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
        append_n(&mut spool, 0, 3);
    }
    let segment = segments(dir.path()).pop().unwrap();
    let full = fs::read(&segment).unwrap();
    let record_ends: Vec<usize> = {
        let mut ends = vec![];
        let mut at = 24;
        for i in 0..3 {
            at += 16 + payload(i).len();
            ends.push(at);
        }
        ends
    };
    for cut in 0..full.len() {
        let work = tempfile::tempdir().unwrap();
        let copy = work.path().join(segment.file_name().unwrap());
        fs::write(&copy, &full[..cut]).unwrap();
        let (mut spool, report) = Spool::open(SpoolConfig::new(work.path())).unwrap();
        let complete = record_ends.iter().filter(|end| **end <= cut).count() as u64;
        let records = spool.read(0, 10).unwrap();
        assert_eq!(records.len() as u64, complete, "cut at {cut}");
        assert!(
            records
                .iter()
                .enumerate()
                .all(|(i, r)| r.payload == payload(i as u64))
        );
        let kept_end = if cut < 24 {
            0
        } else {
            record_ends
                .iter()
                .copied()
                .filter(|end| *end <= cut)
                .max()
                .unwrap_or(24)
        };
        assert_eq!(
            report.truncated_tail_bytes,
            (cut - kept_end) as u64,
            "cut at {cut}: {report:?}"
        );
        assert!(report.damaged.is_empty());
        // Appending continues from the last complete record, and the next open is clean.
        append_n(&mut spool, complete, 1);
        drop(spool);
        let (spool, report) = Spool::open(SpoolConfig::new(work.path())).unwrap();
        assert!(report.is_clean(), "cut at {cut}: {report:?}");
        assert_eq!(spool.read(0, 10).unwrap().len() as u64, complete + 1);
    }
}

#[test]
fn a_damaged_segment_is_reported_and_the_others_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut spool, _) = Spool::open(config(dir.path(), 250, 1 << 20)).unwrap();
        for i in 0..12 {
            append_n(&mut spool, i, 1);
        }
    }
    let files = segments(dir.path());
    assert!(files.len() >= 4);
    // Flip a payload byte of the second record of the second segment.
    let victim = &files[1];
    let mut bytes = fs::read(victim).unwrap();
    let first_seq: u64 = victim.file_name().unwrap().to_str().unwrap()[4..24]
        .parse()
        .unwrap();
    let second_record = 24 + 16 + payload(first_seq).len() + 16 + 3;
    assert!(second_record < bytes.len(), "segment holds two records");
    bytes[second_record] ^= 0xff;
    fs::write(victim, bytes).unwrap();

    let (spool, report) = Spool::open(config(dir.path(), 250, 1 << 20)).unwrap();
    assert_eq!(report.damaged.len(), 1, "{report:?}");
    assert_eq!(report.damaged[0].path, *victim);
    assert_eq!(report.damaged[0].kept_records, 1);
    assert_eq!(report.damaged[0].reason, "checksum mismatch");
    assert_eq!(report.lost.len(), 1);
    let lost = report.lost[0].clone();
    assert_eq!(lost.start, first_seq + 1);
    let records = spool.read(0, 100).unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    let expected: Vec<u64> = (0..12).filter(|s| !lost.contains(s)).collect();
    assert_eq!(seqs, expected);
    assert!(records.iter().all(|r| r.payload == payload(r.seq)));
}

#[test]
fn a_full_spool_refuses_whole_batches_until_the_pipeline_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(config(dir.path(), 400, 1000)).unwrap();
    let mut appended = 0;
    loop {
        match spool.append(&[
            payload(appended).as_slice(),
            payload(appended + 1).as_slice(),
        ]) {
            Ok(_) => appended += 2,
            Err(SpoolError::Full { used, limit, .. }) => {
                assert!(used <= limit);
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(appended > 0);
    let bytes = spool.bytes();
    assert!(bytes <= 1000, "{bytes}");
    assert_eq!(
        spool.next_seq(),
        appended,
        "a refused batch takes no sequence numbers"
    );
    assert_eq!(spool.read(0, 1000).unwrap().len() as u64, appended);
    spool.acknowledge(appended).unwrap();
    append_n(&mut spool, appended, 2);
}

#[test]
fn oversized_records_and_foreign_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = Spool::open(SpoolConfig {
        max_record_bytes: 8,
        ..SpoolConfig::new(dir.path())
    })
    .unwrap();
    assert!(matches!(
        spool.append(&[b"123456789".as_slice()]),
        Err(SpoolError::RecordTooLarge { size: 9, limit: 8 })
    ));
    spool.append(&[b"12345678".as_slice()]).unwrap();
    drop(spool);
    let file = segments(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&file).unwrap();
    bytes[8] = 9;
    fs::write(&file, bytes).unwrap();
    let err = Spool::open(SpoolConfig::new(dir.path())).unwrap_err();
    assert!(matches!(err, SpoolError::Version { found: 9, .. }), "{err}");
    assert!(
        err.to_string()
            .contains("format version 9 is not supported")
    );
}

#[derive(Debug, Clone)]
enum Op {
    Append(Vec<Vec<u8>>),
    Ack(u8),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 1..5).prop_map(Op::Append),
        1 => any::<u8>().prop_map(Op::Ack),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Against a model (every payload ever appended, and the acknowledgement mark), the spool
    /// always returns exactly the unacknowledged suffix, across rotations, deletions and reopens.
    #[test]
    fn the_spool_behaves_like_its_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 200, 1 << 20);
        let (mut spool, _) = Spool::open(cfg.clone()).unwrap();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let mut acked = 0u64;
        for op in ops {
            match op {
                Op::Append(batch) => {
                    let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                    let seqs = spool.append(&refs).unwrap();
                    prop_assert_eq!(seqs.start, model.len() as u64);
                    model.extend(batch);
                }
                Op::Ack(fraction) => {
                    let target = acked + (model.len() as u64 - acked) * u64::from(fraction) / 255;
                    spool.acknowledge(target).unwrap();
                    acked = acked.max(target);
                }
                Op::Reopen => {
                    drop(spool);
                    let (reopened, report) = Spool::open(cfg.clone()).unwrap();
                    prop_assert!(report.is_clean(), "{:?}", report);
                    spool = reopened;
                }
            }
            let records = spool.read(acked, usize::MAX).unwrap();
            prop_assert_eq!(records.len() as u64, model.len() as u64 - acked);
            for r in &records {
                prop_assert_eq!(&r.payload, &model[r.seq as usize]);
            }
            prop_assert_eq!(spool.pending(), model.len() as u64 - acked);
        }
    }

    /// A crash can cut the last segment anywhere: what survives is always a prefix of what was
    /// appended, and nothing after the cut is invented.
    #[test]
    fn a_cut_anywhere_leaves_a_prefix(batches in prop::collection::vec(prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..4), 1..8), cut in any::<prop::sample::Index>()) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 1 << 20, 1 << 20);
        let mut model = Vec::new();
        {
            let (mut spool, _) = Spool::open(cfg.clone()).unwrap();
            for batch in &batches {
                let refs: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
                spool.append(&refs).unwrap();
                model.extend(batch.iter().cloned());
            }
        }
        let file = segments(dir.path()).pop().unwrap();
        let bytes = fs::read(&file).unwrap();
        fs::write(&file, &bytes[..cut.index(bytes.len() + 1)]).unwrap();
        let (spool, _) = Spool::open(cfg).unwrap();
        let records = spool.read(0, usize::MAX).unwrap();
        prop_assert!(records.len() <= model.len());
        for (i, r) in records.iter().enumerate() {
            prop_assert_eq!(r.seq, i as u64);
            prop_assert_eq!(&r.payload, &model[i]);
        }
    }
}

#[test]
fn a_segment_with_a_bad_header_is_set_aside_and_appends_go_on() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut spool, _) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
        append_n(&mut spool, 0, 2);
    }
    let file = segments(dir.path()).pop().unwrap();
    let mut bytes = fs::read(&file).unwrap();
    bytes[0] = b'X';
    fs::write(&file, bytes).unwrap();
    let (mut spool, report) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    assert_eq!(report.damaged.len(), 1);
    assert!(report.damaged[0].reason.contains("bad magic"));
    assert!(
        report.damaged[0]
            .path
            .to_string_lossy()
            .ends_with(".spool.damaged")
    );
    assert!(report.damaged[0].path.exists(), "kept for inspection");
    append_n(&mut spool, 0, 1);
    assert_eq!(spool.read(0, 10).unwrap().len(), 1);
}

#[test]
fn a_second_process_cannot_open_a_spool_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
    let second = Spool::open(SpoolConfig::new(dir.path()));
    assert!(
        matches!(second, Err(SpoolError::Locked { .. })),
        "{second:?}"
    );
    drop(first);
    assert!(
        Spool::open(SpoolConfig::new(dir.path())).is_ok(),
        "released when closed"
    );
}
