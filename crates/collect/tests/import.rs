//! Import of plain lines and NDJSON, compressed or not, into a real spool: summaries, batching,
//! bad and oversize lines, a full spool, and damaged gzip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use jiff::Timestamp;
use shieldwall_collect::sources::import::{
    ImportError, ImportFormat, ImportOptions, ImportProgress, ImportSummary, LineProblem,
    OnInvalid, import, import_path,
};
use shieldwall_collect::{Envelope, Ingest, IngestConfig, IngestHandle, Spool, SpoolConfig};

struct Spooled {
    spool: Arc<Mutex<Spool>>,
    ingest: Option<Ingest>,
    handle: Option<IngestHandle>,
}

impl Spooled {
    fn open(dir: &Path, max_bytes: u64) -> Spooled {
        let config = SpoolConfig {
            max_bytes,
            segment_bytes: 1024,
            ..SpoolConfig::new(dir)
        };
        let (spool, _) = Spool::open(config).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let config = IngestConfig {
            retry_after: Duration::from_millis(20),
            ..IngestConfig::default()
        };
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), config).unwrap();
        Spooled {
            spool,
            ingest: Some(ingest),
            handle: Some(handle),
        }
    }

    fn handle(&self) -> &IngestHandle {
        self.handle.as_ref().unwrap()
    }

    fn envelopes(&self) -> Vec<Envelope> {
        let spool = self.spool.lock().unwrap();
        let from = spool.acknowledged_up_to();
        let count = (spool.next_seq() - from) as usize;
        spool
            .read(from, count)
            .unwrap()
            .iter()
            .map(|r| Envelope::decode(&r.payload).unwrap())
            .collect()
    }

    fn payloads(&self) -> Vec<String> {
        self.envelopes()
            .into_iter()
            .map(|e| String::from_utf8(e.payload).unwrap())
            .collect()
    }
}

impl Drop for Spooled {
    fn drop(&mut self) {
        drop(self.handle.take());
        if let Some(ingest) = self.ingest.take() {
            ingest.join();
        }
    }
}

fn big_spool(dir: &Path) -> Spooled {
    Spooled::open(dir, 1 << 30)
}

fn quiet(_: &ImportProgress<'_>) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn plain_lines_from_a_file_are_imported_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let input = dir.path().join("old.log");
    std::fs::write(&input, b"one\r\ntwo\n\n\r\nthree\nlast without newline").unwrap();
    let summary = import_path(
        &input,
        spooled.handle(),
        &ImportOptions::new("ignored"),
        &mut quiet,
    )
    .unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            gzip: false,
            lines: 6,
            input_bytes: 38,
            messages: 4,
            bytes: 3 + 3 + 5 + 20,
            batches: 1,
            empty_lines: 2,
            ..ImportSummary::default()
        }
    );
    assert_eq!(
        spooled.payloads(),
        ["one", "two", "three", "last without newline"]
    );
    let envelopes = spooled.envelopes();
    assert!(
        envelopes
            .iter()
            .all(|e| e.peer == input.display().to_string() && e.source == "import")
    );
}

#[test]
fn gzip_is_recognised_by_its_magic_bytes_even_concatenated() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let text: String = (0..3000).map(|i| format!("line {i}\n")).collect();
    let (a, b) = text.split_at(text.len() / 2);
    let mut compressed = gzip(a.as_bytes());
    compressed.extend(gzip(b.as_bytes()));
    // The name says nothing: detection is by content.
    let input = dir.path().join("messages.txt");
    std::fs::write(&input, &compressed).unwrap();
    let mut options = ImportOptions::new("-");
    options.batch_lines = 1000;
    let mut written = Vec::new();
    let summary = import_path(&input, spooled.handle(), &options, &mut |p| {
        if let ImportProgress::BatchWritten(s) = p {
            written.push(s.messages);
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert!(summary.gzip);
    assert_eq!(summary.lines, 3000);
    assert_eq!(summary.messages, 3000);
    assert_eq!(summary.input_bytes, text.len() as u64);
    assert_eq!(summary.batches, 3);
    assert_eq!(written, [1000, 2000, 3000]);
    let payloads = spooled.payloads();
    assert_eq!(payloads.len(), 3000);
    assert_eq!(payloads[0], "line 0");
    assert_eq!(payloads[2999], "line 2999");
}

#[test]
fn batches_are_bounded_by_bytes_too() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let text: String = (0..100).map(|_| format!("{}\n", "x".repeat(99))).collect();
    let mut options = ImportOptions::new("-");
    options.batch_bytes = 1000;
    let summary = import(text.as_bytes(), spooled.handle(), &options, &mut quiet).unwrap();
    assert_eq!(summary.messages, 100);
    assert_eq!(
        summary.batches, 10,
        "ten lines of 99 bytes make 990, the 11th crosses"
    );
    assert!(spooled.envelopes().iter().all(|e| e.peer == "-"));
}

#[test]
fn a_bad_ndjson_line_is_reported_with_its_number_and_skipped_or_stops() {
    let input = b"\xEF\xBB\xBF{\"a\":1}\n{\"b\":2}\n   \n{\"c\":\n[1,2]\n\"text\"\n";
    let dir = tempfile::tempdir().unwrap();

    // Skip: the bad line is reported and the rest imported.
    let spooled = big_spool(&dir.path().join("skip"));
    let mut options = ImportOptions::new("events.ndjson");
    options.format = ImportFormat::Ndjson;
    options.on_invalid = OnInvalid::Skip;
    let mut skipped: Vec<LineProblem> = Vec::new();
    let summary = import(&input[..], spooled.handle(), &options, &mut |p| {
        if let ImportProgress::LineSkipped(problem) = p {
            skipped.push((*problem).clone());
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].line, 4);
    assert!(skipped[0].problem.contains("JSON"), "{:?}", skipped[0]);
    assert_eq!(summary.invalid_lines, 1);
    assert_eq!(summary.empty_lines, 1);
    assert_eq!(summary.messages, 4);
    assert_eq!(summary.problems, skipped);
    assert_eq!(
        spooled.payloads(),
        ["{\"a\":1}", "{\"b\":2}", "[1,2]", "\"text\""]
    );

    // Stop: the lines before it are written, the error names the line.
    let spooled = big_spool(&dir.path().join("stop"));
    options.on_invalid = OnInvalid::Stop;
    let error = import(&input[..], spooled.handle(), &options, &mut quiet).unwrap_err();
    match &error {
        ImportError::Invalid {
            line,
            peer,
            summary,
            ..
        } => {
            assert_eq!(*line, 4);
            assert_eq!(peer, "events.ndjson");
            assert_eq!(summary.messages, 2);
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("line 4"), "{error}");
    assert_eq!(spooled.payloads(), ["{\"a\":1}", "{\"b\":2}"]);

    // As plain lines the same input is imported whole, byte order mark and all.
    let spooled = big_spool(&dir.path().join("lines"));
    let summary = import(
        &input[..],
        spooled.handle(),
        &ImportOptions::new("-"),
        &mut quiet,
    )
    .unwrap();
    assert_eq!(summary.messages, 6);
}

#[test]
fn oversize_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let mut options = ImportOptions::new("-");
    options.max_line_bytes = 10;
    let input = format!(
        "short\n{}\nexactly 10\n{}",
        "y".repeat(5000),
        "z".repeat(11)
    );
    let summary = import(input.as_bytes(), spooled.handle(), &options, &mut quiet).unwrap();
    assert_eq!(summary.oversize_lines, 2);
    assert_eq!(
        summary.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
        [2, 4]
    );
    assert_eq!(spooled.payloads(), ["short", "exactly 10"]);
}

#[test]
fn a_full_spool_waits_with_progress_and_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"), 4096);
    let filler = Envelope {
        source: "filler".into(),
        received: Timestamp::now(),
        peer: String::new(),
        client_identity: String::new(),
        key: String::new(),
        payload: vec![b'x'; 3900],
    };
    spooled.handle().submit_blocking(&[filler]).unwrap();
    let text: String = (0..50).map(|i| format!("line {i}\n")).collect();

    // Cancelled by the callback after three waits: nothing of the batch is written.
    let mut waits = 0;
    let error = import(
        text.as_bytes(),
        spooled.handle(),
        &ImportOptions::new("-"),
        &mut |p| {
            if let ImportProgress::SpoolFull { retry_after, .. } = p {
                assert_eq!(*retry_after, Duration::from_millis(20));
                waits += 1;
                if waits == 3 {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap_err();
    assert!(matches!(error, ImportError::Cancelled { .. }), "{error:?}");
    assert_eq!(error.summary().unwrap().messages, 0);
    assert_eq!(spooled.envelopes().len(), 1);

    // Waits until the pipeline catches up, then writes everything.
    let spool = Arc::clone(&spooled.spool);
    let drainer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut spool = spool.lock().unwrap();
        let next = spool.next_seq();
        spool.acknowledge(next).unwrap();
    });
    let mut full = 0;
    let summary = import(
        text.as_bytes(),
        spooled.handle(),
        &ImportOptions::new("-"),
        &mut |p| {
            if matches!(p, ImportProgress::SpoolFull { .. }) {
                full += 1;
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    drainer.join().unwrap();
    assert!(full >= 1);
    assert_eq!(summary.spool_full_waits, full);
    assert_eq!(summary.messages, 50);
    assert_eq!(spooled.payloads().len(), 50);
}

#[test]
fn damaged_gzip_is_a_read_error_after_what_was_readable() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    let mut compressed = gzip(text.as_bytes());
    let cut = compressed.len() * 2 / 3;
    compressed.truncate(cut);
    let error = import(
        &compressed[..],
        spooled.handle(),
        &ImportOptions::new("broken.gz"),
        &mut quiet,
    )
    .unwrap_err();
    match &error {
        ImportError::Read { line, summary, .. } => {
            assert!(*line > 1);
            assert_eq!(summary.messages, *line - 1);
            assert!(summary.gzip);
        }
        other => panic!("{other:?}"),
    }
    // What was read before the damage is on disk, in order.
    let payloads = spooled.payloads();
    assert!(!payloads.is_empty());
    for (i, p) in payloads.iter().enumerate() {
        assert_eq!(p, &format!("line {i}"));
    }
}

#[test]
fn a_missing_file_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = big_spool(&dir.path().join("spool"));
    let error = import_path(
        &dir.path().join("nope.log"),
        spooled.handle(),
        &ImportOptions::new("-"),
        &mut quiet,
    )
    .unwrap_err();
    assert!(matches!(error, ImportError::Open { .. }));
    assert!(error.summary().is_none());
}
