//! The file source against real files in a temporary directory: appends, rotation by rename while
//! writing, copy-and-truncate, restart from the checkpoint (and replay with the same identities),
//! partial and very long lines, and a full spool holding the checkpoint back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use shieldwall_collect::sources::SourceError;
use shieldwall_collect::sources::file::{
    Checkpoint, FileConfig, FileCounters, FileSource, StartAt,
};
use shieldwall_collect::{
    Envelope, HealthBoard, Ingest, IngestConfig, IngestHandle, SourceStats, Spool, SpoolConfig,
};
use tokio_util::sync::CancellationToken;

struct Spooled {
    spool: Arc<Mutex<Spool>>,
    ingest: Option<Ingest>,
    handle: Option<IngestHandle>,
}

impl Spooled {
    fn open(dir: &Path) -> Spooled {
        Spooled::with_quota(dir, 1 << 30, 64 << 20)
    }

    fn with_quota(dir: &Path, max_bytes: u64, segment_bytes: u64) -> Spooled {
        let config = SpoolConfig {
            max_bytes,
            segment_bytes,
            ..SpoolConfig::new(dir)
        };
        let (spool, _) = Spool::open(config).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let config = IngestConfig {
            retry_after: Duration::from_millis(50),
            ..IngestConfig::default()
        };
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), config).unwrap();
        Spooled {
            spool,
            ingest: Some(ingest),
            handle: Some(handle),
        }
    }

    fn handle(&self) -> IngestHandle {
        self.handle.clone().unwrap()
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

    fn wait_for(&self, count: usize) -> Vec<Envelope> {
        let start = Instant::now();
        loop {
            let got = self.envelopes();
            if got.len() >= count {
                return got;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "only {} of {count} lines arrived: last {:?}",
                got.len(),
                got.last()
                    .map(|e| String::from_utf8_lossy(&e.payload).into_owned())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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

struct Tail {
    shutdown: CancellationToken,
    thread: Option<JoinHandle<Result<(), SourceError>>>,
    counters: Arc<FileCounters>,
    stats: Arc<SourceStats>,
}

impl Tail {
    fn start(config: FileConfig, ingest: IngestHandle) -> Tail {
        let source = FileSource::open(config).unwrap();
        let counters = source.counters();
        let stats = HealthBoard::new().register("files", "file", None, Timestamp::now());
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let thread_stats = Arc::clone(&stats);
        let thread =
            std::thread::spawn(move || source.run_blocking(&ingest, &thread_stats, &token));
        Tail {
            shutdown,
            thread: Some(thread),
            counters,
            stats,
        }
    }

    fn stop(mut self) {
        self.shutdown.cancel();
        self.thread.take().unwrap().join().unwrap().unwrap();
    }
}

/// A test that fails still stops its tailer, so that the spool writer can finish.
impl Drop for Tail {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn config(dir: &Path, paths: &[&Path]) -> FileConfig {
    let mut config = FileConfig::new(
        "files",
        paths.iter().map(|p| p.to_path_buf()).collect(),
        dir.join("state"),
    );
    config.poll_interval_ms = 20;
    config.rotate_wait_ms = 300;
    config
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn ino(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn checkpoint_offset(path: &Path) -> Option<u64> {
    Checkpoint::load(path)
        .unwrap()
        .files
        .first()
        .map(|f| f.offset)
}

#[test]
fn appended_lines_arrive_in_order_with_their_identity() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    append(&log, "first\nsecond\r\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    spooled.wait_for(2);
    append(&log, "third\n\n\r\nfourth\n");
    let got = spooled.wait_for(4);
    std::thread::sleep(Duration::from_millis(100));
    let payloads = spooled.payloads();
    assert_eq!(payloads, ["first", "second", "third", "fourth"]);
    let inode = ino(&log);
    let peers: Vec<&str> = got.iter().map(|e| e.peer.as_str()).collect();
    let prefix = format!("file:{}:{inode}:", log.display());
    assert_eq!(
        peers,
        [
            format!("{prefix}0"),
            format!("{prefix}6"),
            format!("{prefix}14"),
            format!("{prefix}23"),
        ]
    );
    assert!(got.iter().all(|e| e.source == "files"));
    assert_eq!(tail.counters.empty_lines.load(Ordering::Relaxed), 2);
    assert_eq!(tail.stats.accepted.load(Ordering::Relaxed), 4);
    let checkpoint = Checkpoint::load(&dir.path().join("state/files.checkpoint.json")).unwrap();
    assert_eq!(checkpoint.files.len(), 1);
    assert_eq!(
        checkpoint.files[0].offset,
        fs::metadata(&log).unwrap().len()
    );
    assert_eq!(checkpoint.files[0].ino, inode);
    tail.stop();
}

#[test]
fn start_at_end_skips_what_was_there_but_not_files_that_appear_later() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let old = dir.path().join("old.log");
    let later = dir.path().join("later.log");
    append(&old, "before start\n");
    let mut config = config(dir.path(), &[&old, &later]);
    config.start_at = StartAt::End;
    let tail = Tail::start(config, spooled.handle());
    std::thread::sleep(Duration::from_millis(150));
    append(&old, "after start\n");
    append(&later, "created later\n");
    spooled.wait_for(2);
    std::thread::sleep(Duration::from_millis(100));
    let mut payloads = spooled.payloads();
    payloads.sort();
    assert_eq!(payloads, ["after start", "created later"]);
    tail.stop();
}

#[test]
fn rotation_by_rename_while_writing_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    File::create(&log).unwrap();
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());

    const N: usize = 6000;
    let writer_log = log.clone();
    let spool = Arc::clone(&spooled.spool);
    let writer = std::thread::spawn(move || {
        let mut file = OpenOptions::new().append(true).open(&writer_log).unwrap();
        let mut rotation = 0;
        for i in 0..N {
            writeln!(file, "line {i:05}").unwrap();
            if i % 1000 == 999 {
                // Rotations are paced as in life, slower than the tailer's round: the rename
                // waits until what was written so far is delivered.
                let written = (i + 1 + rotation) as u64;
                let start = Instant::now();
                while spool.lock().unwrap().next_seq() < written {
                    assert!(start.elapsed() < Duration::from_secs(30), "tailer stalled");
                    std::thread::sleep(Duration::from_millis(5));
                }
                // logrotate's rename, then the writer still writes a little to the old file
                // before it reopens its log.
                rotation += 1;
                let rotated = writer_log.with_extension(format!("log.{rotation}"));
                fs::rename(&writer_log, &rotated).unwrap();
                std::thread::sleep(Duration::from_millis(5));
                writeln!(file, "late {rotation}").unwrap();
                file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&writer_log)
                    .unwrap();
            }
            if i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    });
    writer.join().unwrap();
    let expected = N + N / 1000;
    let got = spooled.wait_for(expected);
    std::thread::sleep(Duration::from_millis(500));
    let got_after = spooled.envelopes();
    assert_eq!(got_after.len(), expected, "no line twice");

    // Every line once; within each file, in order.
    let mut seen = std::collections::HashSet::new();
    let mut last_offset: HashMap<String, u64> = HashMap::new();
    for e in &got {
        let text = String::from_utf8(e.payload.clone()).unwrap();
        assert!(seen.insert(text.clone()), "{text} twice");
        let (file, offset) = e.peer.rsplit_once(':').unwrap();
        let offset: u64 = offset.parse().unwrap();
        if let Some(before) = last_offset.insert(file.to_owned(), offset) {
            assert!(offset > before, "{text} out of order in {file}");
        }
    }
    for i in 0..N {
        assert!(seen.contains(&format!("line {i:05}")), "line {i} missing");
    }
    // Files are finished before their successors: the numbered lines arrive in order.
    let numbered: Vec<&Envelope> = got
        .iter()
        .filter(|e| e.payload.starts_with(b"line "))
        .collect();
    for pair in numbered.windows(2) {
        assert!(
            pair[0].payload < pair[1].payload,
            "rotation reordered lines"
        );
    }
    assert!(tail.counters.rotations.load(Ordering::Relaxed) >= 6);
    tail.stop();
}

#[test]
fn copytruncate_starts_again_at_zero_with_new_identities() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    append(&log, "old one\nold two\nold three\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    spooled.wait_for(3);
    // copytruncate: copy, then truncate in place; the writer goes on at the start.
    fs::copy(&log, dir.path().join("app.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, "new one\n");
    let got = spooled.wait_for(4);
    assert_eq!(got[3].payload, b"new one");
    let inode = ino(&log);
    // The new generation starts after the 26 bytes read from the old one.
    assert_eq!(got[3].peer, format!("file:{}:{inode}:26", log.display()));
    assert_eq!(got[0].peer, format!("file:{}:{inode}:0", log.display()));

    // Truncated and written past the old position between two looks: the first bytes differ.
    tail.stop();
    let before = spooled.envelopes().len();
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, "rewritten and much longer than before\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    let got = spooled.wait_for(before + 1);
    assert_eq!(
        got[before].payload,
        b"rewritten and much longer than before"
    );
    assert_eq!(
        got[before].peer,
        format!("file:{}:{inode}:34", log.display())
    );

    // The same while running.
    let count = got.len();
    let mut file = OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(0).unwrap();
    file.write_all(b"XYZ a rewrite even longer than the one before it was\n")
        .unwrap();
    drop(file);
    let got = spooled.wait_for(count + 1);
    assert_eq!(
        got[count].payload,
        b"XYZ a rewrite even longer than the one before it was"
    );
    assert!(tail.counters.truncations.load(Ordering::Relaxed) >= 1);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(spooled.envelopes().len(), count + 1, "nothing read twice");
    let peers: std::collections::HashSet<&String> = got.iter().map(|e| &e.peer).collect();
    assert_eq!(peers.len(), got.len(), "identities never repeat");
    tail.stop();
}

#[test]
fn a_restart_resumes_from_the_checkpoint_and_a_replay_keeps_identities() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    let checkpoint = dir.path().join("state/files.checkpoint.json");
    let text: String = (0..1000).map(|i| format!("first run {i}\n")).collect();
    append(&log, &text);

    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    spooled.wait_for(1000);
    wait_until("the checkpoint covers the file", || {
        checkpoint_offset(&checkpoint) == Some(text.len() as u64)
    });
    tail.stop();
    let saved = fs::read(&checkpoint).unwrap();

    // Written while the collector is down, and a partial line.
    let more: String = (0..500).map(|i| format!("while down {i}\n")).collect();
    append(&log, &more);
    append(&log, "partial");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    let got = spooled.wait_for(1500);
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(
        spooled.envelopes().len(),
        1500,
        "nothing twice, partial held"
    );
    for (i, e) in got.iter().enumerate() {
        let want = if i < 1000 {
            format!("first run {i}")
        } else {
            format!("while down {}", i - 1000)
        };
        assert_eq!(String::from_utf8_lossy(&e.payload), want);
    }
    tail.stop();

    // A crash after the spool write and before the checkpoint write: the old checkpoint comes
    // back, the lines are read again, with the same identities.
    fs::write(&checkpoint, &saved).unwrap();
    append(&log, " end\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    let all = spooled.wait_for(2001);
    let replayed = &all[1500..2000];
    assert_eq!(
        replayed
            .iter()
            .map(|e| (&e.peer, &e.payload))
            .collect::<Vec<_>>(),
        got[1000..1500]
            .iter()
            .map(|e| (&e.peer, &e.payload))
            .collect::<Vec<_>>()
    );
    assert_eq!(all[2000].payload, b"partial end");
    tail.stop();
}

#[test]
fn a_file_rotated_while_down_is_finished_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    append(&log, "a\nb\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    spooled.wait_for(2);
    std::thread::sleep(Duration::from_millis(100));
    tail.stop();
    append(&log, "c (written before the rotation)\n");
    fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    append(&log, "d (the new file)\n");
    let tail = Tail::start(config(dir.path(), &[&log]), spooled.handle());
    spooled.wait_for(4);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        spooled.payloads(),
        [
            "a",
            "b",
            "c (written before the rotation)",
            "d (the new file)"
        ]
    );
    tail.stop();
}

#[test]
fn a_partial_last_line_waits_for_its_newline_or_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    let timed = dir.path().join("timed.log");
    append(&log, "complete\nhalf");
    let mut config = config(dir.path(), &[&log]);
    let tail = Tail::start(config.clone(), spooled.handle());
    spooled.wait_for(1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(spooled.payloads(), ["complete"], "the partial line waits");
    append(&log, " and half\n");
    spooled.wait_for(2);
    assert_eq!(spooled.payloads(), ["complete", "half and half"]);
    tail.stop();

    config.name = "timed".into();
    config.paths = vec![timed.clone()];
    config.partial_line_timeout_ms = Some(200);
    append(&timed, "no newline yet");
    let tail = Tail::start(config, spooled.handle());
    let got = spooled.wait_for(3);
    assert_eq!(got[2].payload, b"no newline yet");
    append(&timed, " - the rest\n");
    let got = spooled.wait_for(4);
    assert_eq!(got[3].payload, b" - the rest");
    let ino = ino(&timed);
    assert_eq!(got[3].peer, format!("file:{}:{ino}:14", timed.display()));
    tail.stop();
}

#[test]
fn a_very_long_line_is_cut_and_the_rest_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"));
    let log = dir.path().join("app.log");
    let mut config = config(dir.path(), &[&log]);
    config.max_line_bytes = 100;
    let long = "x".repeat(250_000);
    append(&log, &format!("{long}\nshort\n{}\n", "y".repeat(100)));
    let tail = Tail::start(config, spooled.handle());
    let got = spooled.wait_for(3);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(spooled.envelopes().len(), 3);
    assert_eq!(got[0].payload, "x".repeat(100).as_bytes());
    assert_eq!(got[1].payload, b"short");
    assert_eq!(
        got[2].payload,
        "y".repeat(100).as_bytes(),
        "exactly the limit is kept whole"
    );
    assert_eq!(tail.counters.truncated_lines.load(Ordering::Relaxed), 1);
    assert_eq!(
        tail.counters.truncated_bytes.load(Ordering::Relaxed),
        250_000 - 100
    );
    let inode = ino(&log);
    assert_eq!(
        got[1].peer,
        format!("file:{}:{inode}:250001", log.display())
    );
    tail.stop();
}

#[test]
fn a_full_spool_holds_the_checkpoint_back_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::with_quota(&dir.path().join("spool"), 4096, 1024);
    // Fill the spool so the first batch is refused.
    let filler = Envelope {
        source: "filler".into(),
        received: Timestamp::now(),
        peer: String::new(),
        client_identity: String::new(),
        key: String::new(),
        payload: vec![b'x'; 3900],
    };
    spooled.handle().submit_blocking(&[filler]).unwrap();
    let log = dir.path().join("app.log");
    let text: String = (0..20).map(|i| format!("line {i}\n")).collect();
    append(&log, &text);
    let mut config = config(dir.path(), &[&log]);
    config.batch_lines = 5;
    let checkpoint = config.checkpoint_path();
    let tail = Tail::start(config, spooled.handle());
    wait_until("the spool refuses", || {
        tail.stats.refused.load(Ordering::Relaxed) >= 2
    });
    assert_eq!(spooled.envelopes().len(), 1, "only the filler");
    assert_ne!(
        checkpoint_offset(&checkpoint).unwrap_or(0),
        text.len() as u64,
        "the checkpoint does not pass what is not on disk"
    );
    assert_eq!(checkpoint_offset(&checkpoint).unwrap_or(0), 0);

    // The pipeline catches up.
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 20 {
        assert!(start.elapsed() < Duration::from_secs(30), "{got:?}");
        {
            let mut spool = spooled.spool.lock().unwrap();
            let from = spool.acknowledged_up_to();
            let records = spool.read(from, 100).unwrap();
            if let Some(last) = records.last() {
                spool.acknowledge(last.seq + 1).unwrap();
            }
            for r in records {
                let e = Envelope::decode(&r.payload).unwrap();
                if e.source == "files" {
                    got.push(String::from_utf8(e.payload).unwrap());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let want: Vec<String> = (0..20).map(|i| format!("line {i}")).collect();
    assert_eq!(got, want);
    wait_until("the checkpoint catches up", || {
        checkpoint_offset(&checkpoint) == Some(text.len() as u64)
    });
    tail.stop();
}

#[test]
fn the_configuration_has_defaults_and_refuses_unknown_fields() {
    let config: FileConfig = toml::from_str(
        "name = \"f\"\npaths = [\"/var/log/syslog\"]\nstate_dir = \"/var/lib/shieldwall\"\n",
    )
    .unwrap();
    assert_eq!(
        config,
        FileConfig::new(
            "f",
            vec![PathBuf::from("/var/log/syslog")],
            "/var/lib/shieldwall"
        )
    );
    assert_eq!(config.poll_interval_ms, 250);
    assert_eq!(config.start_at, StartAt::Beginning);
    assert_eq!(config.max_line_bytes, 65536);
    assert_eq!(config.partial_line_timeout_ms, None);
    let end: FileConfig =
        toml::from_str("name = \"f\"\npaths = [\"/x\"]\nstate_dir = \"/s\"\nstart_at = \"end\"\n")
            .unwrap();
    assert_eq!(end.start_at, StartAt::End);
    assert!(
        toml::from_str::<FileConfig>(
            "name = \"f\"\npaths = [\"/x\"]\nstate_dir = \"/s\"\nglob = true\n"
        )
        .is_err()
    );
}
