//! Reliability of `shieldwall serve` as a process: the real binary, on 127.0.0.1 with temporary
//! data directories, killed with SIGKILL and restarted on the same data directory and port while
//! senders keep sending, then stopped cleanly with SIGTERM; the events it wrote are read back and
//! checked. The kills come 200 to 800 ms apart (seeded), and land in turn at a random moment,
//! right after the spool grew (a batch on disk whose acknowledgement or checkpoint is still to
//! come), and right after an events file grew (events the spool has not yet been told are
//! written): the test watches the data directory in a tight loop for those moments.
//!
//! * HTTP: senders post numbered NDJSON batches with an `Idempotency-Key` each, retry every batch
//!   without a 2xx answer with the same key, and also pretend now and then that a 2xx answer was
//!   lost (a client timeout). Every acknowledged message is stored, and all copies of a message
//!   have one event id, so a store that removes duplicate ids keeps each exactly once.
//! * RELP: rsyslogd (`imfile` fed by the test, `omrelp` to the server with the documented
//!   `@uuid:%uuid% ...` template, the source with `message_ids = "rsyslog-uuid"`) resends what was
//!   not acknowledged. Every message is stored; a message spooled whose acknowledgement died with
//!   the process is stored again (at most the client's window, 128, per kill), with the event id
//!   of its first copy, so a store that removes duplicate ids keeps each exactly once.
//! * File: a writer appends numbered lines, with a rename rotation while the server runs and one
//!   while it is down. Every line is stored and all copies of a line have one event id.
//! * Full spool: with a 256 KiB spool quota and the pipeline paused (`[pipeline] pause_file`),
//!   HTTP answers 503 with `Retry-After`, also after a SIGKILL while full; the sender waits as told
//!   and retries, and once the pause file is removed everything acknowledged is stored once.
//!
//! The server writes each batch to NDJSON files (`[store] ndjson_copy`) and then appends and
//! commits it to the event store, so the kills "after an events file grew" land between the two,
//! in the store's commit. After the last stop each test also reads the event store: every
//! acknowledged message is there exactly once (the store keeps one event per id).
//!
//! Each test prints its seed and figures (run with `--nocapture`); `RELIABILITY_SEED=<n>` replays
//! another kill schedule. The RELP test needs the Debian packages `rsyslog` and `rsyslog-relp`;
//! without them it fails under `CI=true` and says loudly that it skipped elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The bearer token of the HTTP sources, and its SHA-256 (`printf %s TOKEN | sha256sum`).
const TOKEN: &str = "reliability-test-token";
const TOKEN_SHA256: &str = "069c1de0d5ae34ee6c90126d4c6aec627511ed92c3e2f0f0d8629e18b6d3ea32";
/// The Debian packages the RELP test needs.
/// librelp's default window: frames a client sends before it waits for acknowledgements.
const RELP_WINDOW: u64 = 128;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// A seeded random generator, so that a kill schedule can be replayed.
// ---------------------------------------------------------------------------------------------

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// The test's seed: `RELIABILITY_SEED` when set, else the test's own default.
fn seed(test: &str, default: u64) -> u64 {
    let seed = std::env::var("RELIABILITY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("{test}: seed {seed} (RELIABILITY_SEED={seed} replays this kill schedule)");
    seed
}

// ---------------------------------------------------------------------------------------------
// The server process.
// ---------------------------------------------------------------------------------------------

/// A free port below the usual ephemeral range (32768 and up), so that no client socket can take
/// it while the server is down (a connect to an unbound port of the ephemeral range can connect
/// to itself). Tests of one run count up from a base derived from the process id.
fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = (std::process::id() % 1_000) * 10;
    loop {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(20_000 + (base + offset) % 12_000).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn address(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// `shieldwall serve --config <dir>/shieldwall.toml`, each start logging to `serve-<n>.log`.
struct Serve {
    dir: PathBuf,
    child: Option<Child>,
    starts: usize,
}

impl Serve {
    /// Writes the configuration and starts the server.
    fn start(dir: &Path, config: &str) -> Serve {
        fs::write(dir.join("shieldwall.toml"), config).unwrap();
        let mut serve = Serve {
            dir: dir.to_owned(),
            child: None,
            starts: 0,
        };
        serve.spawn();
        serve
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none());
        self.starts += 1;
        let log = File::create(self.dir.join(format!("serve-{}.log", self.starts))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_shieldwall"))
            .arg("serve")
            .arg("--config")
            .arg(self.dir.join("shieldwall.toml"))
            .args(["--log", "info"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// The end of every start's log, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for n in 1..=self.starts {
            let text =
                fs::read_to_string(self.dir.join(format!("serve-{n}.log"))).unwrap_or_default();
            let tail: String = text
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            out.push_str(&format!("--- serve start {n} (last lines):\n{tail}\n"));
        }
        out
    }

    /// Panics with the logs when the process has exited.
    fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("the server is not started");
        if let Some(status) = child.try_wait().unwrap() {
            let logs = self.logs();
            panic!("the server exited on its own ({status})\n{logs}");
        }
    }

    /// Waits until the server accepts connections on `port`. A start that fails (the port still
    /// held by a dying connection) is retried.
    fn wait_listening(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut respawns = 0;
        loop {
            if TcpStream::connect_timeout(&address(port), ms(200)).is_ok() {
                return;
            }
            let child = self.child.as_mut().expect("the server is not started");
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    respawns < 20 && Instant::now() < deadline,
                    "the server does not start ({status})\n{}",
                    self.logs()
                );
                respawns += 1;
                self.child = None;
                thread::sleep(ms(200));
                self.spawn();
            }
            assert!(
                Instant::now() < deadline,
                "the server does not listen on {port}\n{}",
                self.logs()
            );
            thread::sleep(ms(20));
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), and reaps the process.
    fn kill9(&mut self) {
        let mut child = self.child.take().expect("the server is not started");
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the server had exited before the kill ({status})\n{}",
            self.logs()
        );
    }

    /// Starts the server again on the same data directory.
    fn restart(&mut self) {
        self.spawn();
    }

    /// SIGTERM, and waits for a clean exit.
    fn stop(&mut self) {
        let mut child = self.child.take().expect("the server is not started");
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "the server did not stop cleanly ({status})\n{}",
                    self.logs()
                );
                return;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not stop within 30 s\n{}", self.logs());
            }
            thread::sleep(ms(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where in the server's work a SIGKILL lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillPoint {
    /// At a random moment.
    Anywhere,
    /// Right after the spool's last segment grew: a batch was just written and is being synced,
    /// and its source has most likely not yet acknowledged it (HTTP answer, RELP `rsp`, file
    /// checkpoint).
    AfterSpoolAppend,
    /// Right after the events file grew: the pipeline has most likely not yet moved the spool's
    /// acknowledgement mark past those events, so the next start writes them again.
    AfterEventWrite,
}

impl KillPoint {
    /// The point of kill `n`: each in turn, from a seeded start, so that three kills or more cover
    /// all of them.
    fn nth(n: u64, seed: u64) -> KillPoint {
        match (n + seed) % 3 {
            0 => KillPoint::AfterSpoolAppend,
            1 => KillPoint::AfterEventWrite,
            _ => KillPoint::Anywhere,
        }
    }
}

/// The bytes of a spool segment's header: a segment this long holds no record yet.
const SEGMENT_HEADER: u64 = 24;

/// The name and length of the spool's last segment.
fn last_segment(data: &Path) -> Option<(String, u64)> {
    fs::read_dir(data.join("spool"))
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let len = e.metadata().ok()?.len();
            name.starts_with("seg-").then_some((name, len))
        })
        .max()
}

/// The bytes of every events file.
fn event_bytes(data: &Path) -> u64 {
    fs::read_dir(data.join("events/default")).map_or(0, |entries| {
        entries
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

/// Kills the server at `point`. For the points after a write, the file concerned is watched in a
/// tight loop (the window until the write is acknowledged is a few fsyncs, some hundred
/// microseconds here), and the kill follows the first growth seen. With `acknowledgement`, a file
/// the source replaces once a spool write is acknowledged (the file source's checkpoint), a growth
/// seen only after that file was replaced missed the window, and the next one is waited for.
fn kill_at(serve: &mut Serve, data: &Path, point: KillPoint, acknowledgement: Option<&Path>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let watch = |mut changed: Box<dyn FnMut() -> bool + '_>| {
        let mut spins = 0u32;
        while !changed() {
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) {
                assert!(Instant::now() < deadline, "no {point:?} within 20 s");
            }
            thread::yield_now();
        }
    };
    match point {
        KillPoint::Anywhere => {}
        KillPoint::AfterSpoolAppend => {
            let dir = data.join("spool");
            let acknowledged =
                || acknowledgement.and_then(|p| fs::metadata(p).ok().map(|m| m.ino()));
            let mut before = (last_segment(data), acknowledged());
            let mut spins = 0u32;
            watch(Box::new(|| {
                // The last segment's length at every turn; a new segment now and then.
                spins = spins.wrapping_add(1);
                let grown = match &before.0 {
                    Some((name, len)) => {
                        fs::metadata(dir.join(name)).is_ok_and(|m| m.len() > *len)
                            || (spins.is_multiple_of(256)
                                && last_segment(data)
                                    .is_some_and(|(now, len)| now != *name && len > SEGMENT_HEADER))
                    }
                    None => last_segment(data).is_some_and(|(_, len)| len > SEGMENT_HEADER),
                };
                if !grown {
                    return false;
                }
                if acknowledged() == before.1 {
                    return true;
                }
                before = (last_segment(data), acknowledged());
                false
            }));
        }
        KillPoint::AfterEventWrite => {
            let before = event_bytes(data);
            watch(Box::new(|| event_bytes(data) > before));
        }
    }
    serve.kill9();
}

// ---------------------------------------------------------------------------------------------
// The events written, read back.
// ---------------------------------------------------------------------------------------------

/// One stored event, as far as these tests look at it.
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    received: String,
}

/// The events of one source in `<data>/events/default/*.ndjson`, read incrementally (whole lines
/// only, so that files can be read while the server writes), by message number.
struct EventFiles {
    dir: PathBuf,
    source: String,
    number: fn(&str) -> Option<u64>,
    offsets: HashMap<PathBuf, u64>,
    by_number: BTreeMap<u64, Vec<Stored>>,
    highest: Option<u64>,
}

/// The event store after the last stop, read as `shieldwall search` reads it: every expected
/// message exactly once. The store keeps one event per id, so copies sent again under the same
/// id are gone; a copy under a new id would count twice here.
fn assert_stored_once(
    data: &Path,
    source: &str,
    number: fn(&str) -> Option<u64>,
    expected: impl IntoIterator<Item = u64>,
    what: &str,
) {
    use shieldwall_store::EventStore as _;
    let store = shieldwall_store::TantivyStore::open_read_only(&data.join("store")).unwrap();
    assert!(store.unreadable().is_empty(), "{:?}", store.unreadable());
    let mut copies: HashMap<u64, u32> = HashMap::new();
    store
        .export(
            &shieldwall_core::TenantId::default_tenant(),
            &shieldwall_store::Selection::all(),
            &mut |e| {
                if e.source == source
                    && let Some(n) = number(&e.raw)
                {
                    *copies.entry(n).or_default() += 1;
                }
                std::ops::ControlFlow::Continue(())
            },
        )
        .unwrap();
    let mut missing = Vec::new();
    for n in expected {
        if !copies.contains_key(&n) {
            missing.push(n);
        }
    }
    let doubled: Vec<(&u64, &u32)> = copies.iter().filter(|(_, c)| **c > 1).take(10).collect();
    assert!(
        missing.is_empty(),
        "{} {what} missing from the store, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(doubled.is_empty(), "stored more than once: {doubled:?}");
    eprintln!("store: {} {what}, each exactly once", copies.len());
}

impl EventFiles {
    fn new(data: &Path, source: &str, number: fn(&str) -> Option<u64>) -> EventFiles {
        EventFiles {
            dir: data.join("events/default"),
            source: source.to_owned(),
            number,
            offsets: HashMap::new(),
            by_number: BTreeMap::new(),
            highest: None,
        }
    }

    /// Reads what was appended since the last call.
    fn refresh(&mut self) -> &mut Self {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return self;
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ndjson"))
            .collect();
        paths.sort();
        for path in paths {
            let offset = self.offsets.entry(path.clone()).or_insert(0);
            let mut file = File::open(&path).unwrap();
            file.seek(SeekFrom::Start(*offset)).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
                continue;
            };
            *offset += end as u64 + 1;
            for line in bytes[..end].split(|&b| b == b'\n') {
                let event: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                    panic!(
                        "{}: a line that is not JSON ({e}): {}",
                        path.display(),
                        String::from_utf8_lossy(line)
                    )
                });
                if event["source"] != self.source.as_str() {
                    continue;
                }
                let raw = event["raw"].as_str().unwrap();
                let number = (self.number)(raw)
                    .unwrap_or_else(|| panic!("an event of a message never sent: {raw:?}"));
                self.highest = self.highest.max(Some(number));
                self.by_number.entry(number).or_default().push(Stored {
                    id: event["id"].as_str().unwrap().to_owned(),
                    received: event["received"].as_str().unwrap().to_owned(),
                });
            }
        }
        self
    }

    /// How many distinct messages are stored.
    fn distinct(&self) -> usize {
        self.by_number.len()
    }

    /// Every message number in `expected` is stored at least once.
    /// Waits until `written` distinct messages are stored, failing with the server's log and
    /// `detail()` (a client's log) after `limit` or if the server stops.
    fn wait_for(
        &mut self,
        written: u64,
        limit: Duration,
        serve: &mut Serve,
        detail: impl Fn() -> String,
    ) {
        let deadline = Instant::now() + limit;
        while (self.refresh().distinct() as u64) < written {
            serve.assert_running();
            assert!(
                Instant::now() < deadline,
                "only {} of {written} messages arrived\n{}\n{}",
                self.distinct(),
                serve.logs(),
                detail()
            );
            thread::sleep(ms(50));
        }
    }

    fn assert_all_present(&self, expected: impl IntoIterator<Item = u64>, what: &str) {
        let missing: Vec<u64> = expected
            .into_iter()
            .filter(|n| !self.by_number.contains_key(n))
            .collect();
        assert!(
            missing.is_empty(),
            "{} {what} missing, first {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
    }

    /// Counts the copies, and checks that no two messages share an event id.
    fn figures(&self) -> Figures {
        let mut figures = Figures::default();
        let mut owner: HashMap<&str, u64> = HashMap::new();
        for (&number, copies) in &self.by_number {
            figures.messages += 1;
            figures.events += copies.len();
            let mut receipts: HashMap<&str, HashSet<&str>> = HashMap::new();
            for copy in copies {
                receipts
                    .entry(copy.id.as_str())
                    .or_default()
                    .insert(copy.received.as_str());
                if let Some(other) = owner.insert(copy.id.as_str(), number)
                    && other != number
                {
                    panic!(
                        "messages {other} and {number} have the same event id {}",
                        copy.id
                    );
                }
            }
            figures.new_id_copies += receipts.len() - 1;
            let stored: usize = receipts.values().map(HashSet::len).sum();
            figures.same_id_copies += stored - receipts.len();
            figures.replayed_copies += copies.len() - stored;
            if receipts.len() > 1 {
                figures.messages_with_several_ids += 1;
            }
        }
        figures
    }
}

/// What the stored events of a source hold.
#[derive(Debug, Default)]
struct Figures {
    /// Distinct messages.
    messages: usize,
    /// Events.
    events: usize,
    /// Copies received again (another receipt time) under an id already stored: sent or read
    /// again, and removed by a store that keys on the id.
    same_id_copies: usize,
    /// Copies of one spool record written again after a kill (same id, same receipt time).
    replayed_copies: usize,
    /// Copies under an id of their own: not recognisable as duplicates by id.
    new_id_copies: usize,
    /// Messages stored under more than one id.
    messages_with_several_ids: usize,
}

/// Waits for `done`, checking that the server is alive.
fn wait_until(what: &str, timeout: Duration, serve: &mut Serve, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        serve.assert_running();
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            serve.logs()
        );
        thread::sleep(ms(20));
    }
}

/// The number that follows `marker` in `raw`.
fn number_after(raw: &str, marker: &str) -> Option<u64> {
    let rest = &raw[raw.find(marker)? + marker.len()..];
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    digits.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// HTTP senders.
// ---------------------------------------------------------------------------------------------

/// An HTTP answer.
struct Reply {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

/// One POST of NDJSON over a new connection (`Connection: close`), with an `Idempotency-Key`. An
/// error when the server is not there or the connection breaks before the whole answer.
fn post(port: u16, key: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&address(port), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.set_write_timeout(Some(Duration::from_secs(20)))?;
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\n\
         Idempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::other("no complete answer"));
    };
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let retry_after = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse().ok());
    Ok(Reply {
        status,
        retry_after,
        body: body.to_owned(),
    })
}

/// What the senders did, shared with the test.
#[derive(Default)]
struct Ledger {
    /// The message numbers of every acknowledged batch.
    acknowledged: Mutex<Vec<Range<u64>>>,
    acknowledged_messages: AtomicU64,
    batches: AtomicU64,
    /// 2xx answers a sender treated as lost (a client timeout) and retried.
    answers_dropped: AtomicU64,
    /// Messages in those batches.
    messages_in_dropped_answers: AtomicU64,
    /// Attempts that failed at the connection: the server down, or killed during the request.
    broken_attempts: AtomicU64,
    /// 503 answers (the spool full), each with a `Retry-After` the sender waited.
    full: AtomicU64,
    /// 429 answers.
    busy: AtomicU64,
    stop: AtomicBool,
}

impl Ledger {
    fn acknowledged(&self) -> u64 {
        self.acknowledged_messages.load(Ordering::Relaxed)
    }
}

/// How a sender thread sends.
#[derive(Clone, Copy)]
struct SenderPlan {
    port: u16,
    seed: u64,
    /// Message numbers start at `lane * 10_000_000`.
    lane: u64,
    /// Messages per batch, at least and at most.
    batch: (u64, u64),
    /// Bytes of padding in each message.
    padding: usize,
    /// How often (in percent) a 2xx answer is treated as lost and the batch sent again.
    drop_answer_percent: u64,
    /// The wait after each acknowledged batch.
    pause: Duration,
}

/// Posts batches until the ledger says stop; each batch is retried with its key until a 2xx
/// answer is kept, honouring `Retry-After`.
fn send(plan: SenderPlan, ledger: &Ledger) {
    let mut rng = Rng(plan.seed ^ (plan.lane + 1).wrapping_mul(0xA076_1D64_78BD_642F));
    let padding = "p".repeat(plan.padding);
    let mut next = plan.lane * 10_000_000;
    let mut batch = 0u64;
    while !ledger.stop.load(Ordering::Relaxed) {
        let count = rng.between(plan.batch.0, plan.batch.1);
        let numbers = next..next + count;
        next += count;
        let mut body = String::new();
        for n in numbers.clone() {
            body.push_str(&format!("{{\"seq\":{n},\"pad\":\"{padding}\"}}\n"));
        }
        let key = format!("reliability-{:x}-lane{}-batch{batch}", plan.seed, plan.lane);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "batch {key} not acknowledged within 60 s"
            );
            match post(plan.port, &key, body.as_bytes()) {
                Ok(reply) if (200..300).contains(&reply.status) => {
                    if rng.chance(plan.drop_answer_percent) {
                        ledger.answers_dropped.fetch_add(1, Ordering::Relaxed);
                        ledger
                            .messages_in_dropped_answers
                            .fetch_add(count, Ordering::Relaxed);
                        continue;
                    }
                    ledger.acknowledged.lock().unwrap().push(numbers.clone());
                    ledger
                        .acknowledged_messages
                        .fetch_add(count, Ordering::Relaxed);
                    break;
                }
                Ok(reply) if reply.status == 503 || reply.status == 429 => {
                    let counter = if reply.status == 503 {
                        &ledger.full
                    } else {
                        &ledger.busy
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    let after = reply.retry_after.unwrap_or_else(|| {
                        panic!("{} without Retry-After: {}", reply.status, reply.body)
                    });
                    assert!(
                        (1..=60).contains(&after),
                        "Retry-After {after} out of range"
                    );
                    thread::sleep(Duration::from_secs(after));
                }
                Ok(reply) => panic!("unexpected answer {}: {}", reply.status, reply.body),
                Err(_) => {
                    ledger.broken_attempts.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(ms(20));
                }
            }
        }
        ledger.batches.fetch_add(1, Ordering::Relaxed);
        batch += 1;
        thread::sleep(plan.pause);
    }
}

fn start_senders(plans: &[SenderPlan], ledger: &Arc<Ledger>) -> Vec<thread::JoinHandle<()>> {
    plans
        .iter()
        .map(|&plan| {
            let ledger = Arc::clone(ledger);
            thread::Builder::new()
                .name(format!("sender-{}", plan.lane))
                .spawn(move || send(plan, &ledger))
                .unwrap()
        })
        .collect()
}

fn stop_senders(senders: Vec<thread::JoinHandle<()>>, ledger: &Ledger) {
    ledger.stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender
            .join()
            .expect("a sender failed (its panic is printed above)");
    }
}

fn seq_of_ndjson(raw: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(raw).ok()?["seq"].as_u64()
}

fn http_config(port: u16, extra: &str) -> String {
    format!(
        r#"data_dir = "data"
[api]
listen = "127.0.0.1:0"
[store]
ndjson_copy = true
{extra}
[[sources]]
type = "http"
name = "shippers"
listen = "127.0.0.1:{port}"
token_sha256 = "{TOKEN_SHA256}"
plain_http = true
syslog = "off"
"#
    )
}

// ---------------------------------------------------------------------------------------------
// a) HTTP under SIGKILL.
// ---------------------------------------------------------------------------------------------

#[test]
fn http_ingest_under_kill_9_keeps_every_acknowledged_message_and_retries_keep_their_ids() {
    const TEST: &str = "http_ingest_under_kill_9";
    let began = Instant::now();
    let seed = seed(TEST, 20_261_129);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut serve = Serve::start(dir.path(), &http_config(port, "[pipeline]\nidle_ms = 5\n"));
    serve.wait_listening(port);

    let ledger = Arc::new(Ledger::default());
    let plans: Vec<SenderPlan> = (0..2)
        .map(|lane| SenderPlan {
            port,
            seed,
            lane,
            batch: (20, 150),
            padding: 40,
            drop_answer_percent: 10,
            pause: ms(5),
        })
        .collect();
    let senders = start_senders(&plans, &ledger);

    let data = dir.path().join("data");
    let kills = rng.between(3, 5);
    let mut points = Vec::new();
    for n in 0..kills {
        let before = ledger.acknowledged();
        thread::sleep(ms(rng.between(200, 800)));
        wait_until(
            "acknowledgements since the last start",
            Duration::from_secs(20),
            &mut serve,
            || ledger.acknowledged() > before,
        );
        points.push(KillPoint::nth(n, seed));
        kill_at(&mut serve, &data, KillPoint::nth(n, seed), None);
        thread::sleep(ms(rng.between(0, 100)));
        serve.restart();
        serve.wait_listening(port);
    }
    thread::sleep(ms(300));
    stop_senders(senders, &ledger);
    let stopping = Instant::now();
    serve.stop();
    let stop_time = stopping.elapsed();

    let mut events = EventFiles::new(&data, "shippers", seq_of_ndjson);
    events.refresh();
    let acknowledged = ledger.acknowledged.lock().unwrap().clone();
    events.assert_all_present(
        acknowledged.iter().flat_map(Clone::clone),
        "acknowledged messages",
    );
    assert_stored_once(
        &data,
        "shippers",
        seq_of_ndjson,
        acknowledged.iter().flat_map(Clone::clone),
        "acknowledged messages",
    );
    let figures = events.figures();
    eprintln!(
        "{TEST}: {kills} kills ({points:?}) in {:.1} s (the final stop {:.1} s); {} batches, {} \
         messages acknowledged; {} answers dropped on purpose ({} messages), {} attempts broken \
         by kills; stored: {} messages in {} events, {} copies sent again under the same id, {} \
         replayed by the pipeline, {} under a new id",
        began.elapsed().as_secs_f64(),
        stop_time.as_secs_f64(),
        ledger.batches.load(Ordering::Relaxed),
        ledger.acknowledged(),
        ledger.answers_dropped.load(Ordering::Relaxed),
        ledger.messages_in_dropped_answers.load(Ordering::Relaxed),
        ledger.broken_attempts.load(Ordering::Relaxed),
        figures.messages,
        figures.events,
        figures.same_id_copies,
        figures.replayed_copies,
        figures.new_id_copies,
    );
    assert_eq!(
        figures.messages as u64,
        ledger.acknowledged(),
        "every message sent was acknowledged in the end, and only those are stored"
    );
    assert_eq!(
        figures.messages_with_several_ids, 0,
        "a message stored twice has the same event id each time: {figures:?}"
    );
    // Each batch whose answer was dropped was stored again by its retry: those copies exist and
    // share their ids with the first ones.
    let dropped = ledger.messages_in_dropped_answers.load(Ordering::Relaxed);
    assert!(dropped > 0, "the run dropped no answers; lengthen it");
    assert!(
        figures.same_id_copies as u64 >= dropped,
        "{dropped} messages were sent again, only {} copies found: {figures:?}",
        figures.same_id_copies
    );
}

// ---------------------------------------------------------------------------------------------
// b) RELP from rsyslog under SIGKILL.
// ---------------------------------------------------------------------------------------------

/// The omrelp template that puts rsyslog's message uuid in front of each message, as
/// `docs/configuration.md` gives it for `message_ids = "rsyslog-uuid"`.
const RELP_UUID_TEMPLATE: &str = shieldwall_collect::sources::relp::RSYSLOG_UUID_TEMPLATE;

/// rsyslogd in its own directory: follows `input` with imfile and forwards every line as read
/// with omrelp to `port` with [`RELP_UUID_TEMPLATE`], from a queue, retrying forever.
struct Rsyslog {
    child: Child,
    dir: PathBuf,
}

impl Rsyslog {
    fn start(binary: &Path, dir: &Path, input: &Path, port: u16) -> Rsyslog {
        let work = dir.join("rsyslog-work");
        fs::create_dir_all(&work).unwrap();
        let conf = dir.join("rsyslog.conf");
        fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile")
module(load="omrelp")
template(name="shieldwall-relp" type="string" string="{RELP_UUID_TEMPLATE}")
ruleset(name="forward") {{
    action(type="omrelp" target="127.0.0.1" port="{port}" template="shieldwall-relp"
           queue.type="LinkedList" queue.size="500000"
           action.resumeRetryCount="-1" action.resumeInterval="1")
}}
input(type="imfile" file="{input}" tag="reliability" ruleset="forward")
"#,
                work = work.display(),
                input = input.display(),
            ),
        )
        .unwrap();
        let child = Command::new(binary)
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(File::create(dir.join("rsyslogd.out")).unwrap())
            .stderr(File::create(dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .unwrap();
        Rsyslog {
            child,
            dir: dir.to_owned(),
        }
    }

    fn output(&self) -> String {
        let out = fs::read_to_string(self.dir.join("rsyslogd.out")).unwrap_or_default();
        let err = fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default();
        format!("rsyslogd stdout:\n{out}\nrsyslogd stderr:\n{err}")
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A thread appending numbered lines to a file in small bursts until told to stop; returns how
/// many it wrote. `line` formats line `n`.
fn append_lines(
    path: PathBuf,
    seed: u64,
    burst: (u64, u64),
    pause: Duration,
    stop: Arc<AtomicBool>,
    line: fn(u64) -> String,
) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut rng = Rng(seed);
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        let mut next = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut text = String::new();
            for _ in 0..rng.between(burst.0, burst.1) {
                text.push_str(&line(next));
                text.push('\n');
                next += 1;
            }
            file.write_all(text.as_bytes()).unwrap();
            thread::sleep(pause);
        }
        next
    })
}

fn relp_line(n: u64) -> String {
    format!("<13>Nov 29 01:02:03 testhost app[42]: RELP reliability message {n:07}")
}

fn relp_number(raw: &str) -> Option<u64> {
    number_after(raw, "RELP reliability message ")
}

#[test]
fn relp_from_rsyslog_under_kill_9_loses_nothing_and_copies_keep_their_ids() {
    const TEST: &str = "relp_from_rsyslog_under_kill_9";
    let docs = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md"),
    )
    .unwrap();
    assert!(
        docs.contains(&format!("string=\"{RELP_UUID_TEMPLATE}\"")),
        "docs/configuration.md no longer gives the template this test uses"
    );
    let Some(binary) = shieldwall_testkit::rsyslogd(TEST) else {
        return;
    };
    let began = Instant::now();
    let seed = seed(TEST, 20_261_130);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut serve = Serve::start(
        dir.path(),
        &format!(
            r#"data_dir = "data"
[api]
listen = "127.0.0.1:0"
[store]
ndjson_copy = true
[pipeline]
idle_ms = 5
[[sources]]
type = "relp"
name = "relp"
listen = "127.0.0.1:{port}"
message_ids = "rsyslog-uuid"
"#
        ),
    );
    serve.wait_listening(port);
    let input = dir.path().join("input.log");
    File::create(&input).unwrap();
    let rsyslog = Rsyslog::start(&binary, dir.path(), &input, port);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = append_lines(input, seed, (10, 60), ms(10), Arc::clone(&stop), relp_line);

    let data = dir.path().join("data");
    let mut events = EventFiles::new(&data, "relp", relp_number);
    let kills = rng.between(3, 5);
    let mut points = Vec::new();
    for n in 0..kills {
        // Kill only once rsyslog sends to this start: a message newer than any before it.
        let before = events.refresh().highest;
        wait_until(
            "new messages from rsyslog",
            Duration::from_secs(30),
            &mut serve,
            || events.refresh().highest > before,
        );
        thread::sleep(ms(rng.between(200, 800)));
        points.push(KillPoint::nth(n, seed));
        kill_at(&mut serve, &data, KillPoint::nth(n, seed), None);
        thread::sleep(ms(rng.between(0, 100)));
        serve.restart();
        serve.wait_listening(port);
    }
    thread::sleep(ms(300));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    events.wait_for(written, Duration::from_secs(60), &mut serve, || {
        rsyslog.output()
    });
    serve.stop();
    drop(rsyslog);
    events.refresh();
    events.assert_all_present(0..written, "messages fed to rsyslog");
    assert_stored_once(
        &data,
        "relp",
        relp_number,
        0..written,
        "messages fed to rsyslog",
    );
    let figures = events.figures();
    eprintln!(
        "{TEST}: {kills} kills ({points:?}) in {:.1} s; {written} messages fed to rsyslog; stored: {} \
         messages in {} events, {} copies sent again under the same id, {} under a new id ({} \
         messages), {} replayed by the pipeline; the bound on copies sent again is {} ({kills} \
         kills x window {RELP_WINDOW})",
        began.elapsed().as_secs_f64(),
        figures.messages,
        figures.events,
        figures.same_id_copies,
        figures.new_id_copies,
        figures.messages_with_several_ids,
        figures.replayed_copies,
        kills * RELP_WINDOW,
    );
    assert_eq!(figures.messages as u64, written);
    assert_eq!(
        figures.new_id_copies, 0,
        "with message ids every copy rsyslog sends again has the event id of its first copy: \
         {figures:?}"
    );
    assert_eq!(figures.messages_with_several_ids, 0, "{figures:?}");
    assert!(
        (figures.same_id_copies + figures.new_id_copies) as u64 <= kills * RELP_WINDOW,
        "{} copies sent again: more than {kills} kills x {RELP_WINDOW}",
        figures.same_id_copies + figures.new_id_copies
    );
    // Every frame carried a valid uuid prefix: no start warned about one without.
    let warnings: Vec<String> = (1..=serve.starts)
        .filter_map(|n| fs::read_to_string(dir.path().join(format!("serve-{n}.log"))).ok())
        .flat_map(|log| {
            log.lines()
                .filter(|line| line.contains("without a message id"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

// ---------------------------------------------------------------------------------------------
// c) File tailing under SIGKILL, with rotation.
// ---------------------------------------------------------------------------------------------

fn file_line(n: u64) -> String {
    format!("file reliability line {n:07} with some text after the number")
}

fn file_number(raw: &str) -> Option<u64> {
    number_after(raw, "file reliability line ")
}

/// Renames `app.log.1` to `app.log.2` and `app.log` to `app.log.1` (as logrotate does), for the
/// writer to create a new `app.log`.
fn rotate(logs: &Path) {
    let _ = fs::rename(logs.join("app.log.1"), logs.join("app.log.2"));
    fs::rename(logs.join("app.log"), logs.join("app.log.1")).unwrap();
}

#[test]
fn file_tailing_under_kill_9_with_rotation_keeps_every_line_and_copies_keep_their_ids() {
    const TEST: &str = "file_tailing_under_kill_9";
    let began = Instant::now();
    let seed = seed(TEST, 20_261_131);
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir_all(&logs).unwrap();
    let mut serve = Serve::start(
        dir.path(),
        r#"data_dir = "data"
[api]
listen = "127.0.0.1:0"
[store]
ndjson_copy = true
[pipeline]
idle_ms = 5
[[sources]]
type = "file"
name = "app"
paths = ["logs/app.log"]
poll_interval_ms = 20
rotate_wait_ms = 1000
syslog = "off"
"#,
    );

    // The writer: bursts of lines into logs/app.log; a rotation when asked (`rotations` counts
    // those done).
    let stop = Arc::new(AtomicBool::new(false));
    let rotate_now = Arc::new(AtomicBool::new(false));
    let rotations = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, rotate_now, rotations, logs) = (
            Arc::clone(&stop),
            Arc::clone(&rotate_now),
            Arc::clone(&rotations),
            logs.clone(),
        );
        thread::spawn(move || {
            let mut rng = Rng(seed ^ 0xF11E);
            let open = || {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(logs.join("app.log"))
                    .unwrap()
            };
            let mut file = open();
            let mut next = 0;
            while !stop.load(Ordering::Relaxed) {
                if rotate_now.swap(false, Ordering::Relaxed) {
                    rotate(&logs);
                    file = open();
                    rotations.fetch_add(1, Ordering::Relaxed);
                }
                let mut text = String::new();
                for _ in 0..rng.between(1, 40) {
                    text.push_str(&file_line(next));
                    text.push('\n');
                    next += 1;
                }
                file.write_all(text.as_bytes()).unwrap();
                thread::sleep(ms(5));
            }
            next
        })
    };
    let rotate_and_wait = |serve: Option<&mut Serve>| {
        let before = rotations.load(Ordering::Relaxed);
        rotate_now.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(10);
        while rotations.load(Ordering::Relaxed) == before {
            assert!(Instant::now() < deadline, "the writer does not rotate");
            thread::sleep(ms(5));
        }
        if let Some(serve) = serve {
            serve.assert_running();
        }
    };

    let data = dir.path().join("data");
    let mut events = EventFiles::new(&data, "app", file_number);
    let kills = rng.between(3, 5);
    let mut points = Vec::new();
    // One rotation while the server runs, one while it is down.
    let rotate_while_up = rng.between(0, kills - 1);
    let rotate_while_down = (rotate_while_up + 1 + rng.between(0, kills - 2)) % kills;
    for kill in 0..kills {
        let before = events.refresh().distinct();
        wait_until(
            "lines read since the last start",
            Duration::from_secs(20),
            &mut serve,
            || events.refresh().distinct() > before,
        );
        if kill == rotate_while_up {
            rotate_and_wait(Some(&mut serve));
        }
        thread::sleep(ms(rng.between(200, 800)));
        points.push(KillPoint::nth(kill, seed));
        kill_at(
            &mut serve,
            &data,
            KillPoint::nth(kill, seed),
            Some(&data.join("state/app.checkpoint.json")),
        );
        if kill == rotate_while_down {
            rotate_and_wait(None);
            thread::sleep(ms(50));
        }
        thread::sleep(ms(rng.between(0, 100)));
        serve.restart();
    }
    thread::sleep(ms(300));
    stop.store(true, Ordering::Relaxed);
    let written = writer.join().unwrap();
    events.wait_for(written, Duration::from_secs(30), &mut serve, String::new);
    serve.stop();
    events.refresh();
    events.assert_all_present(0..written, "lines written");
    assert_stored_once(&data, "app", file_number, 0..written, "lines written");
    let figures = events.figures();
    eprintln!(
        "{TEST}: {kills} kills ({points:?}) in {:.1} s, rotations at kills {rotate_while_up} (running) and \
         {rotate_while_down} (down); {written} lines written; stored: {} lines in {} events, {} \
         copies read again under the same id, {} replayed by the pipeline, {} under a new id",
        began.elapsed().as_secs_f64(),
        figures.messages,
        figures.events,
        figures.same_id_copies,
        figures.replayed_copies,
        figures.new_id_copies,
    );
    assert_eq!(figures.messages as u64, written);
    assert_eq!(
        figures.messages_with_several_ids, 0,
        "a line stored twice has the same event id each time: {figures:?}"
    );
    // The kills aimed between a spool write and its checkpoint, and between an events write and
    // the spool's acknowledgement, made lines stored twice: the id check above had work to do.
    assert!(
        figures.same_id_copies > 0 && figures.replayed_copies > 0,
        "no line was read again or replayed, so the ids were not put to the test: {figures:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// d) A full spool.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_full_spool_answers_503_with_retry_after_and_loses_nothing_acknowledged() {
    const TEST: &str = "a_full_spool";
    let began = Instant::now();
    let seed = seed(TEST, 20_261_132);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pause = dir.path().join("pause");
    fs::write(&pause, "").unwrap();
    let mut serve = Serve::start(
        dir.path(),
        &http_config(
            port,
            "[spool]\nmax_bytes = 262144\nsegment_bytes = 65536\n\
             [pipeline]\nidle_ms = 5\npause_file = \"pause\"\n",
        ),
    );
    serve.wait_listening(port);
    let ledger = Arc::new(Ledger::default());
    // About 20 KiB per batch: a dozen fill the quota.
    let plan = SenderPlan {
        port,
        seed,
        lane: 0,
        batch: (40, 60),
        padding: 400,
        drop_answer_percent: 0,
        pause: ms(1),
    };
    let senders = start_senders(&[plan], &ledger);

    wait_until(
        "a 503 from the full spool",
        Duration::from_secs(20),
        &mut serve,
        || ledger.full.load(Ordering::Relaxed) > 0,
    );
    let mut events = EventFiles::new(&dir.path().join("data"), "shippers", seq_of_ndjson);
    assert_eq!(
        events.refresh().distinct(),
        0,
        "the paused pipeline wrote events"
    );
    let held = ledger.acknowledged();
    assert!(held > 0);

    // A SIGKILL while full: the spool is still full after the restart.
    let full_before = ledger.full.load(Ordering::Relaxed);
    serve.kill9();
    serve.restart();
    serve.wait_listening(port);
    wait_until(
        "a 503 after the restart",
        Duration::from_secs(20),
        &mut serve,
        || ledger.full.load(Ordering::Relaxed) > full_before,
    );
    assert_eq!(ledger.acknowledged(), held, "nothing accepted while full");

    // Resume: the spool drains, the sender goes on; several quotas' worth pass.
    fs::remove_file(&pause).unwrap();
    wait_until(
        "four times the quota acknowledged",
        Duration::from_secs(30),
        &mut serve,
        || ledger.acknowledged() > 4 * 262_144 / 450,
    );
    stop_senders(senders, &ledger);
    serve.stop();

    events.refresh();
    let acknowledged = ledger.acknowledged.lock().unwrap().clone();
    events.assert_all_present(
        acknowledged.iter().flat_map(Clone::clone),
        "acknowledged messages",
    );
    let figures = events.figures();
    eprintln!(
        "{TEST}: {:.1} s; {} messages acknowledged before the spool was full; {} answers 503 \
         (each with Retry-After, waited), {} 429, {} attempts broken by the kill; {} batches, {} \
         messages acknowledged; stored: {} messages in {} events, {} copies under the same id, \
         {} replayed, {} under a new id",
        began.elapsed().as_secs_f64(),
        held,
        ledger.full.load(Ordering::Relaxed),
        ledger.busy.load(Ordering::Relaxed),
        ledger.broken_attempts.load(Ordering::Relaxed),
        ledger.batches.load(Ordering::Relaxed),
        ledger.acknowledged(),
        figures.messages,
        figures.events,
        figures.same_id_copies,
        figures.replayed_copies,
        figures.new_id_copies,
    );
    assert_eq!(figures.messages as u64, ledger.acknowledged());
    assert_eq!(figures.messages_with_several_ids, 0, "{figures:?}");
}
