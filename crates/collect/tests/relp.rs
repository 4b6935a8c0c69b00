//! The RELP source against rsyslog's own client (`omrelp`, librelp) and a raw socket client:
//! every message arrives once and in order, acknowledgements wait for the spool, a restart of the
//! server and a full spool lose nothing, the protocol's replies and limits are librelp's, and with
//! `message_ids = "rsyslog-uuid"` the documented omrelp template gives every message its key, also
//! to the copies rsyslog resends.
//!
//! The rsyslog tests need the Debian packages `rsyslog` and `rsyslog-relp`. Without them they fail
//! under `CI=true` and say loudly that they skipped elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use shieldwall_collect::sources::relp::{MessageIds, RelpConfig, RelpSource, parse_frame};
use shieldwall_collect::sources::tls::TlsConfig;
use shieldwall_collect::{
    Envelope, HealthBoard, Ingest, IngestConfig, IngestHandle, SourceStats, Spool, SpoolConfig,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

struct Server {
    addr: SocketAddr,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(config: RelpConfig, ingest: IngestHandle, stats: Arc<SourceStats>) -> Server {
        let source = RelpSource::bind(config).await.unwrap();
        let addr = source.local_addr();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task_stats = Arc::clone(&stats);
        let task = tokio::spawn(async move {
            source.serve(ingest, task_stats, token).await.unwrap();
        });
        Server {
            addr,
            stats,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server stops within its grace period")
            .unwrap();
    }
}

struct Spooled {
    spool: Arc<Mutex<Spool>>,
    ingest: Option<Ingest>,
    handle: Option<IngestHandle>,
}

impl Spooled {
    fn open(dir: &Path, max_bytes: u64, segment_bytes: u64) -> Spooled {
        let config = SpoolConfig {
            max_bytes,
            segment_bytes,
            ..SpoolConfig::new(dir)
        };
        let (spool, _) = Spool::open(config).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let ingest_config = IngestConfig {
            retry_after: Duration::from_millis(100),
            ..IngestConfig::default()
        };
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), ingest_config).unwrap();
        Spooled {
            spool,
            ingest: Some(ingest),
            handle: Some(handle),
        }
    }

    fn handle(&self) -> IngestHandle {
        self.handle.clone().unwrap()
    }

    /// Every envelope written so far (from the first record still in the spool).
    fn envelopes(&self) -> Vec<Envelope> {
        let spool = self.spool.lock().unwrap();
        let from = spool.acknowledged_up_to();
        let count = spool.next_seq() - from;
        spool
            .read(from, count as usize)
            .unwrap()
            .iter()
            .map(|r| Envelope::decode(&r.payload).unwrap())
            .collect()
    }

    fn written(&self) -> u64 {
        self.spool.lock().unwrap().next_seq()
    }

    async fn close(mut self) {
        drop(self.handle.take());
        if let Some(ingest) = self.ingest.take() {
            tokio::task::spawn_blocking(move || ingest.join())
                .await
                .unwrap();
        }
    }
}

fn stats(name: &str) -> Arc<SourceStats> {
    HealthBoard::new().register(name, "relp", None, Timestamp::now())
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `count()` reaches `n`; after `timeout` fails with the count, `what` and
/// `detail()` (the client's log); then gives a stray extra message half a second to show up.
async fn wait_for_count(
    what: &str,
    n: usize,
    timeout: Duration,
    mut count: impl FnMut() -> usize,
    detail: impl Fn() -> String,
) {
    let start = Instant::now();
    loop {
        let got = count();
        if got >= n {
            break;
        }
        assert!(
            start.elapsed() < timeout,
            "only {got} of {n} {what}\n{}",
            detail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
}

// ---------------------------------------------------------------------------------------------
// rsyslog
// ---------------------------------------------------------------------------------------------

/// The omrelp template of `message_ids = "rsyslog-uuid"` (a test checks that the documentation
/// gives this one).
const UUID_TEMPLATE: &str = shieldwall_collect::sources::relp::RSYSLOG_UUID_TEMPLATE;

/// The template that forwards every line as read.
const RAW_TEMPLATE: &str = "%rawmsg%";

/// An rsyslogd run in its own directory: reads `input` with imfile and forwards every line with
/// omrelp to `port` (as is, or with another template), retrying forever.
struct Rsyslog {
    child: Child,
    dir: PathBuf,
}

impl Rsyslog {
    fn start(binary: &Path, dir: &Path, input: &Path, port: u16) -> Rsyslog {
        Rsyslog::start_with(binary, dir, input, port, "")
    }

    /// [`Rsyslog::start`] with more `omrelp` parameters.
    fn start_with(binary: &Path, dir: &Path, input: &Path, port: u16, extra: &str) -> Rsyslog {
        Rsyslog::start_templated(binary, dir, input, port, RAW_TEMPLATE, extra)
    }

    /// [`Rsyslog::start_with`] with the omrelp template `template` (a RainerScript string
    /// template).
    fn start_templated(
        binary: &Path,
        dir: &Path,
        input: &Path,
        port: u16,
        template: &str,
        extra: &str,
    ) -> Rsyslog {
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile")
module(load="omrelp")
template(name="forward" type="string" string="{template}")
ruleset(name="forward") {{
    action(type="omrelp" target="127.0.0.1" port="{port}" template="forward"
           action.resumeRetryCount="-1" action.resumeInterval="1" {extra})
}}
input(type="imfile" file="{input}" tag="relptest" ruleset="forward")
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
            .stdout(std::fs::File::create(dir.join("rsyslogd.out")).unwrap())
            .stderr(std::fs::File::create(dir.join("rsyslogd.err")).unwrap())
            .spawn()
            .unwrap();
        Rsyslog {
            child,
            dir: dir.to_path_buf(),
        }
    }

    fn output(&self) -> String {
        let out = std::fs::read_to_string(self.dir.join("rsyslogd.out")).unwrap_or_default();
        let err = std::fs::read_to_string(self.dir.join("rsyslogd.err")).unwrap_or_default();
        format!("rsyslogd stdout:\n{out}\nrsyslogd stderr:\n{err}")
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn line(i: usize) -> String {
    format!("<13>Nov 29 01:02:03 testhost app[42]: RELP message number {i:06} of the test")
}

fn write_lines(path: &Path, n: usize) -> Vec<Vec<u8>> {
    let lines: Vec<String> = (0..n).map(line).collect();
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
    lines.into_iter().map(String::into_bytes).collect()
}

/// Checks that `got` holds every expected message, first occurrences in order, and that any
/// repeat is byte-identical to a message already seen (a retransmission after a broken session).
/// Returns the number of repeats.
fn check_delivery(expected: &[Vec<u8>], got: &[Envelope]) -> usize {
    let mut next = 0;
    let mut repeats = 0;
    let mut seen = std::collections::HashSet::new();
    for envelope in got {
        if seen.contains(&envelope.payload) {
            repeats += 1;
            continue;
        }
        assert!(
            next < expected.len(),
            "unexpected extra message {:?}",
            String::from_utf8_lossy(&envelope.payload)
        );
        assert_eq!(
            String::from_utf8_lossy(&envelope.payload),
            String::from_utf8_lossy(&expected[next]),
            "message {next} out of order or altered"
        );
        seen.insert(envelope.payload.clone());
        next += 1;
    }
    assert_eq!(next, expected.len(), "messages missing");
    repeats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_omrelp_delivers_every_message_once_in_order() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_omrelp_delivers_every_message_once_in_order")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"), 1 << 30, 64 << 20);
    let stats = stats("relp");
    let server = Server::start(
        RelpConfig::new("relp", local(0)),
        spooled.handle(),
        Arc::clone(&stats),
    )
    .await;

    const N: usize = 10_000;
    let input = dir.path().join("input.log");
    let expected = write_lines(&input, N);
    let rsyslog = Rsyslog::start(&binary, dir.path(), &input, server.addr.port());

    wait_for_count(
        "messages arrived",
        N,
        Duration::from_secs(90),
        || spooled.written() as usize,
        || rsyslog.output(),
    )
    .await;
    let got = spooled.envelopes();
    assert_eq!(got.len(), N, "exactly N messages");
    assert_eq!(check_delivery(&expected, &got), 0);
    assert!(got.iter().all(|e| e.source == "relp"));
    assert!(got[0].peer.starts_with("127.0.0.1:"));
    assert_eq!(server.stats.accepted.load(Ordering::Relaxed), N as u64);
    assert_eq!(server.stats.dropped.load(Ordering::Relaxed), 0);
    drop(rsyslog);
    server.stop().await;
    spooled.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_resends_what_a_stopped_server_did_not_acknowledge() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_resends_what_a_stopped_server_did_not_acknowledge")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"), 1 << 30, 64 << 20);
    let stats = stats("relp");
    let first = Server::start(
        RelpConfig::new("relp", local(0)),
        spooled.handle(),
        Arc::clone(&stats),
    )
    .await;
    let port = first.addr.port();

    const N: usize = 20_000;
    let input = dir.path().join("input.log");
    let expected = write_lines(&input, N);
    let rsyslog = Rsyslog::start(&binary, dir.path(), &input, port);

    // Stop the server mid-stream.
    wait_for("the first messages", Duration::from_secs(60), || {
        spooled.written() >= 1000
    })
    .await;
    first.stop().await;
    let at_stop = spooled.written();
    assert!(
        at_stop < N as u64,
        "the stream must still be under way when the server stops"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(spooled.written(), at_stop, "nothing is written while down");

    // Restart on the same port; rsyslog reconnects and resends.
    let mut config = RelpConfig::new("relp", local(port));
    config.batch_messages = 64;
    let start = Instant::now();
    let second = loop {
        match RelpSource::bind(config.clone()).await {
            Ok(source) => break source,
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(10), "rebind: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let handle = spooled.handle();
    let task_stats = Arc::clone(&stats);
    let task = tokio::spawn(async move { second.serve(handle, task_stats, token).await });

    wait_for_count(
        "distinct messages after the restart",
        N,
        Duration::from_secs(120),
        || {
            let got = spooled.envelopes();
            let distinct: std::collections::HashSet<&Vec<u8>> =
                got.iter().map(|e| &e.payload).collect();
            distinct.len()
        },
        || rsyslog.output(),
    )
    .await;
    let got = spooled.envelopes();
    let repeats = check_delivery(&expected, &got);
    // A clean stop acknowledges everything it wrote before it closes; a repeat can only be a
    // frame of the client's window (128) whose response it had not read.
    assert!(repeats <= 128, "{repeats} repeated messages");
    eprintln!("restart: {at_stop} written before the stop, {repeats} repeated");

    drop(rsyslog);
    shutdown.cancel();
    task.await.unwrap().unwrap();
    spooled.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_waits_while_the_spool_is_full_and_loses_nothing() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_waits_while_the_spool_is_full_and_loses_nothing")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // About 600 messages fit; a reader drains the spool slowly.
    let spooled = Spooled::open(&dir.path().join("spool"), 64 << 10, 8 << 10);
    let stats = stats("relp");
    let server = Server::start(
        RelpConfig::new("relp", local(0)),
        spooled.handle(),
        Arc::clone(&stats),
    )
    .await;

    const N: usize = 4_000;
    let input = dir.path().join("input.log");
    let expected = write_lines(&input, N);
    let rsyslog = Rsyslog::start(&binary, dir.path(), &input, server.addr.port());

    // Nobody reads the spool until it has refused a batch.
    wait_for(
        "the spool to refuse a batch",
        Duration::from_secs(60),
        || stats.refused.load(Ordering::Relaxed) > 0,
    )
    .await;
    let mut got: Vec<Envelope> = Vec::new();
    let done = Instant::now();
    while got.len() < N {
        assert!(
            done.elapsed() < Duration::from_secs(120),
            "only {} of {N} messages\n{}",
            got.len(),
            rsyslog.output()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut spool = spooled.spool.lock().unwrap();
        let from = spool.acknowledged_up_to();
        let records = spool.read(from, 400).unwrap();
        if let Some(last) = records.last() {
            spool.acknowledge(last.seq + 1).unwrap();
        }
        got.extend(
            records
                .iter()
                .map(|r| Envelope::decode(&r.payload).unwrap()),
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let spool = spooled.spool.lock().unwrap();
        let from = spool.acknowledged_up_to();
        let rest = spool.read(from, 10_000).unwrap();
        got.extend(rest.iter().map(|r| Envelope::decode(&r.payload).unwrap()));
    }
    assert_eq!(got.len(), N, "exactly N messages");
    assert_eq!(check_delivery(&expected, &got), 0);
    assert!(
        stats.refused.load(Ordering::Relaxed) > 0,
        "the spool was full at least once"
    );
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 0);
    drop(rsyslog);
    server.stop().await;
    spooled.close().await;
}

/// A CA, and server and client certificates signed by it, as PEM files in `dir`.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf, PathBuf) {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "RELP test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let ca_file = write("ca.pem", ca_cert.pem());
    let issue = |names: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        (params.signed_by(&key, &issuer).unwrap(), key)
    };
    let (server, server_key) = issue(
        vec!["localhost".into(), "127.0.0.1".into()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client, client_key) = issue(
        vec!["rsyslog-client.example.net".into()],
        "rsyslog-client",
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    (
        ca_file,
        write("server.pem", server.pem()),
        write("server.key", server_key.serialize_pem()),
        write("client.pem", client.pem()),
        write("client.key", client_key.serialize_pem()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_omrelp_over_tls_with_client_certificates() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_omrelp_over_tls_with_client_certificates")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ca, server_cert, server_key, client_cert, client_key) = certificates(dir.path());
    let spooled = Spooled::open(&dir.path().join("spool"), 1 << 30, 64 << 20);
    let mut config = RelpConfig::new("relp-tls", local(0));
    let mut tls = TlsConfig::new(&server_cert, &server_key);
    tls.client_ca_file = Some(ca.clone());
    tls.allowed_clients = vec!["rsyslog-client".into()];
    config.tls = Some(tls);
    let stats = stats("relp-tls");
    let server = Server::start(config, spooled.handle(), Arc::clone(&stats)).await;

    const N: usize = 2_000;
    let input = dir.path().join("input.log");
    let expected = write_lines(&input, N);
    let rsyslog = Rsyslog::start_with(
        &binary,
        dir.path(),
        &input,
        server.addr.port(),
        &format!(
            r#"tls="on" tls.caCert="{}" tls.myCert="{}" tls.myPrivKey="{}" tls.authMode="name" tls.permittedPeer=["localhost"]"#,
            ca.display(),
            client_cert.display(),
            client_key.display()
        ),
    );
    wait_for_count(
        "messages arrived over TLS",
        N,
        Duration::from_secs(60),
        || spooled.written() as usize,
        || {
            format!(
                "rejected connections: {}
{}",
                stats.rejected_connections.load(Ordering::Relaxed),
                rsyslog.output()
            )
        },
    )
    .await;
    let got = spooled.envelopes();
    assert_eq!(got.len(), N);
    assert_eq!(check_delivery(&expected, &got), 0);
    assert!(got.iter().all(|e| e.client_identity == "rsyslog-client"));
    drop(rsyslog);
    server.stop().await;
    spooled.close().await;
}

// ---------------------------------------------------------------------------------------------
// rsyslog with message ids
// ---------------------------------------------------------------------------------------------

/// What the uuid template makes of line `i` read by imfile with the tag `relptest`: the message
/// after the key's prefix, from `<PRI>` to the line.
fn check_uuid_payload(envelope: &Envelope) {
    let text = String::from_utf8_lossy(&envelope.payload);
    // imfile's default facility and severity: local0.notice.
    assert!(text.starts_with("<133>"), "{text:?}");
    assert!(
        text.contains(" relptest <13>Nov 29 01:02:03 testhost app[42]: RELP message number "),
        "{text:?}"
    );
}

/// The uuid of an envelope's key, checked: `relp:` and 32 upper-case hexadecimal digits.
fn uuid_of(envelope: &Envelope) -> &str {
    let uuid = envelope.key.strip_prefix("relp:").unwrap_or_else(|| {
        panic!(
            "no message id key: {:?} for {:?}",
            envelope.key,
            String::from_utf8_lossy(&envelope.payload)
        )
    });
    assert!(
        uuid.len() == 32
            && uuid
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)),
        "{uuid:?}"
    );
    uuid
}

/// The line number in a payload made by the uuid template.
fn number_of(envelope: &Envelope) -> usize {
    let text = String::from_utf8_lossy(&envelope.payload);
    let rest = text.split("RELP message number ").nth(1).unwrap();
    rest[..6].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_uuid_template_gives_every_message_its_key() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_uuid_template_gives_every_message_its_key")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"), 1 << 30, 64 << 20);
    let mut config = RelpConfig::new("relp", local(0));
    config.message_ids = MessageIds::RsyslogUuid;
    let server = Server::start(config, spooled.handle(), stats("relp")).await;

    const N: usize = 2_000;
    let input = dir.path().join("input.log");
    write_lines(&input, N);
    let rsyslog = Rsyslog::start_templated(
        &binary,
        dir.path(),
        &input,
        server.addr.port(),
        UUID_TEMPLATE,
        "",
    );
    wait_for_count(
        "messages arrived",
        N,
        Duration::from_secs(60),
        || spooled.written() as usize,
        || rsyslog.output(),
    )
    .await;
    let got = spooled.envelopes();
    assert_eq!(got.len(), N);
    let mut uuids = std::collections::HashSet::new();
    for (i, envelope) in got.iter().enumerate() {
        check_uuid_payload(envelope);
        assert_eq!(number_of(envelope), i, "in order");
        assert!(uuids.insert(uuid_of(envelope)), "a uuid used twice");
    }
    eprintln!(
        "first message: key {:?}, payload {:?}",
        got[0].key,
        String::from_utf8_lossy(&got[0].payload)
    );
    assert_eq!(server.stats.without_message_id.load(Ordering::Relaxed), 0);
    drop(rsyslog);
    server.stop().await;
    spooled.close().await;
}

/// A TCP proxy to `server` on a port of its own. Its first connection forwards the client's bytes
/// and only the server's first frame (the answer to `open`): the acknowledgements of the frames
/// the server writes are swallowed, until `cut` is notified and both connections are closed, as
/// when a collector dies between its spool write and the client reading the acknowledgement.
/// Later connections forward everything.
async fn acknowledgement_eating_proxy(server: SocketAddr, cut: Arc<Notify>) -> SocketAddr {
    let listener = TcpListener::bind(local(0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut first = true;
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut upstream) = TcpStream::connect(server).await else {
                continue;
            };
            if !first {
                tokio::spawn(async move {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
                continue;
            }
            first = false;
            let cut = Arc::clone(&cut);
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut upstream_read, mut upstream_write) = upstream.into_split();
                let up = tokio::io::copy(&mut client_read, &mut upstream_write);
                let down = async {
                    let mut held = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let mut answered_open = false;
                    loop {
                        let n = upstream_read.read(&mut chunk).await?;
                        if n == 0 {
                            return Ok::<(), std::io::Error>(());
                        }
                        if answered_open {
                            continue;
                        }
                        held.extend_from_slice(&chunk[..n]);
                        if let Ok(Some((_, used))) = parse_frame(&held, 1 << 20) {
                            client_write.write_all(&held[..used]).await?;
                            answered_open = true;
                        }
                    }
                };
                tokio::select! {
                    _ = up => {}
                    _ = down => {}
                    () = cut.notified() => {}
                }
                // Dropping the halves closes both connections.
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsyslog_resends_unacknowledged_messages_with_their_uuid() {
    let Some(binary) =
        shieldwall_testkit::rsyslogd("rsyslog_resends_unacknowledged_messages_with_their_uuid")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(&dir.path().join("spool"), 1 << 30, 64 << 20);
    let mut config = RelpConfig::new("relp", local(0));
    config.message_ids = MessageIds::RsyslogUuid;
    let server = Server::start(config, spooled.handle(), stats("relp")).await;
    let cut = Arc::new(Notify::new());
    let proxy = acknowledgement_eating_proxy(server.addr, Arc::clone(&cut)).await;

    const N: usize = 2_000;
    let input = dir.path().join("input.log");
    write_lines(&input, N);
    let rsyslog =
        Rsyslog::start_templated(&binary, dir.path(), &input, proxy.port(), UUID_TEMPLATE, "");

    // The first connection's frames are written but never acknowledged: the client's window
    // fills, then the connection breaks.
    wait_for(
        "frames written without acknowledgement",
        Duration::from_secs(60),
        || spooled.written() >= 64,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let unacknowledged = spooled.written();
    cut.notify_one();

    wait_for_count(
        "distinct messages after the break",
        N,
        Duration::from_secs(90),
        || {
            let distinct: std::collections::HashSet<usize> =
                spooled.envelopes().iter().map(number_of).collect();
            distinct.len()
        },
        || rsyslog.output(),
    )
    .await;
    let got = spooled.envelopes();
    let mut first_key: std::collections::HashMap<usize, String> = Default::default();
    let mut owner: std::collections::HashMap<String, usize> = Default::default();
    let mut repeats = 0;
    for envelope in &got {
        check_uuid_payload(envelope);
        let number = number_of(envelope);
        let uuid = uuid_of(envelope).to_owned();
        match first_key.get(&number) {
            Some(key) => {
                repeats += 1;
                assert_eq!(
                    *key, envelope.key,
                    "message {number} was resent under another id"
                );
            }
            None => {
                first_key.insert(number, envelope.key.clone());
                if let Some(other) = owner.insert(uuid, number) {
                    panic!("messages {other} and {number} share a uuid");
                }
            }
        }
    }
    eprintln!(
        "{unacknowledged} frames written unacknowledged before the break; {repeats} copies resent, \
         all with the key of their first copy"
    );
    assert_eq!(first_key.len(), N);
    assert!(
        repeats > 0,
        "the frames written before the break were not resent"
    );
    assert!(repeats as u64 <= unacknowledged);
    assert_eq!(server.stats.without_message_id.load(Ordering::Relaxed), 0);
    drop(rsyslog);
    server.stop().await;
    spooled.close().await;
}

// ---------------------------------------------------------------------------------------------
// A raw client
// ---------------------------------------------------------------------------------------------

const OPEN: &[u8] = b"1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";

async fn read_until(stream: &mut TcpStream, want: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), async {
        while !got.windows(want.len()).any(|w| w == want) {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "connection closed before {:?}; got {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "no {:?} within 5 s; got {:?}",
            String::from_utf8_lossy(want),
            String::from_utf8_lossy(&got)
        )
    });
    got
}

async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got))
        .await
        .expect("the server closes the connection")
        .unwrap();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_gets_librelp_replies_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(dir.path(), 1 << 30, 64 << 20);
    let server = Server::start(
        RelpConfig::new("relp", local(0)),
        spooled.handle(),
        stats("relp"),
    )
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(OPEN).await.unwrap();
    let open = read_until(&mut c, b"commands=syslog\n").await;
    let text = String::from_utf8(open).unwrap();
    assert!(
        text.starts_with("1 rsp ")
            && text.contains(" 200 OK\nrelp_version=0\nrelp_software=shieldwall,"),
        "{text:?}"
    );
    // Several frames in one write, one of them unknown, answered in order.
    c.write_all(b"2 syslog 5 hello\n3 starttls 0\n4 syslog 7 a\nb\x00c d\n0 hint 0\n5 close 0\n")
        .await
        .unwrap();
    let rest = read_to_end(&mut c).await;
    assert_eq!(
        String::from_utf8_lossy(&rest),
        "2 rsp 6 200 OK\n3 rsp 25 500 command not supported\n4 rsp 6 200 OK\n5 rsp 0\n0 serverclose 0\n"
    );
    let got = spooled.envelopes();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].payload, b"hello");
    assert_eq!(got[1].payload, b"a\nb\x00c d");
    server.stop().await;
    spooled.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_errors_close_the_session_after_answering_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(dir.path(), 1 << 30, 64 << 20);
    let mut config = RelpConfig::new("relp", local(0));
    config.max_frame_bytes = 100;
    let stats = stats("relp");
    let server = Server::start(config, spooled.handle(), Arc::clone(&stats)).await;

    // A frame over max_frame_bytes: refused with 500 before its data is sent, then closed.
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(OPEN).await.unwrap();
    c.write_all(b"2 syslog 2 ok\n3 syslog 101 ").await.unwrap();
    let got = read_to_end(&mut c).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.ends_with("2 rsp 6 200 OK\n3 rsp 19 500 frame too large\n0 serverclose 0\n"),
        "{text:?}"
    );
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);

    // A wrong transaction number.
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(OPEN).await.unwrap();
    c.write_all(b"2 syslog 1 a\n4 syslog 1 b\n").await.unwrap();
    let text = String::from_utf8_lossy(&read_to_end(&mut c).await).into_owned();
    assert!(
        text.ends_with("2 rsp 6 200 OK\n0 serverclose 0\n"),
        "{text:?}"
    );

    // syslog before open, as librelp answers it.
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"1 syslog 5 hello\n").await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_to_end(&mut c).await),
        "1 rsp 20 500 command disabled\n0 serverclose 0\n"
    );

    // Garbage.
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read_to_end(&mut c).await),
        "0 serverclose 0\n"
    );

    let payloads: Vec<Vec<u8>> = spooled.envelopes().into_iter().map(|e| e.payload).collect();
    assert_eq!(payloads, vec![b"ok".to_vec(), b"a".to_vec()]);
    server.stop().await;
    spooled.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledgement_before_the_spool_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(dir.path(), 4096, 1024);
    // Fill the spool.
    let filler = Envelope {
        source: "filler".into(),
        received: Timestamp::now(),
        peer: String::new(),
        client_identity: String::new(),
        key: String::new(),
        payload: vec![b'x'; 3000],
    };
    spooled.handle().submit(&[filler]).await.unwrap();
    let stats = stats("relp");
    let server = Server::start(
        RelpConfig::new("relp", local(0)),
        spooled.handle(),
        Arc::clone(&stats),
    )
    .await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(OPEN).await.unwrap();
    read_until(&mut c, b"commands=syslog\n").await;
    c.write_all(format!("2 syslog 1200 {}\n", "m".repeat(1200)).as_bytes())
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(700), c.read(&mut buf)).await;
    assert!(early.is_err(), "acknowledged while the spool was full");
    assert!(stats.refused.load(Ordering::Relaxed) >= 1);

    // The pipeline catches up: the frame is written, then acknowledged.
    {
        let mut spool = spooled.spool.lock().unwrap();
        let next = spool.next_seq();
        spool.acknowledge(next).unwrap();
    }
    read_until(&mut c, b"2 rsp 6 200 OK\n").await;
    let got = spooled.envelopes();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload.len(), 1200);
    server.stop().await;
    spooled.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_closed_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(dir.path(), 1 << 30, 64 << 20);
    let mut config = RelpConfig::new("relp", local(0));
    config.max_connections = 1;
    let stats = stats("relp");
    let server = Server::start(config, spooled.handle(), Arc::clone(&stats)).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first.write_all(OPEN).await.unwrap();
    read_until(&mut first, b"commands=syslog\n").await;
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    let closed = read_to_end(&mut second).await;
    assert!(closed.is_empty());
    assert_eq!(stats.rejected_connections.load(Ordering::Relaxed), 1);
    assert_eq!(stats.connections.load(Ordering::Relaxed), 1);

    // Shutdown says goodbye to the open session.
    server.shutdown.cancel();
    assert_eq!(
        String::from_utf8_lossy(&read_to_end(&mut first).await),
        "0 serverclose 0\n"
    );
    server.task.await.unwrap();
    spooled.close().await;
}

/// Sends `syslog` frames with these data in one session to a server with `config`, and checks
/// that every one is acknowledged. Returns the envelopes written and the count of frames without
/// a message id.
async fn session_with(config: RelpConfig, frames: &[&[u8]]) -> (Vec<Envelope>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let spooled = Spooled::open(dir.path(), 1 << 30, 64 << 20);
    let server = Server::start(config, spooled.handle(), stats("relp")).await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(OPEN).await.unwrap();
    read_until(&mut c, b"commands=syslog\n").await;
    let mut bytes = Vec::new();
    let mut expected = String::new();
    for (i, data) in frames.iter().enumerate() {
        let txnr = i + 2;
        bytes.extend_from_slice(format!("{txnr} syslog {} ", data.len()).as_bytes());
        bytes.extend_from_slice(data);
        bytes.push(b'\n');
        expected.push_str(&format!("{txnr} rsp 6 200 OK\n"));
    }
    bytes.extend_from_slice(format!("{} close 0\n", frames.len() + 2).as_bytes());
    c.write_all(&bytes).await.unwrap();
    let answers = read_to_end(&mut c).await;
    assert_eq!(
        String::from_utf8_lossy(&answers),
        format!("{expected}{} rsp 0\n0 serverclose 0\n", frames.len() + 2)
    );
    let got = spooled.envelopes();
    let missing = server.stats.without_message_id.load(Ordering::Relaxed);
    server.stop().await;
    spooled.close().await;
    (got, missing)
}

const FRAMES: [&[u8]; 5] = [
    b"@uuid:3BB341ED53324DBB8015C037E18730F9 <13>Nov 29 01:02:03 host app: one",
    b"<13>Nov 29 01:02:03 host app: no id",
    b"@uuid:3bb341ed53324dbb8015c037e18730f9 <13>lower case",
    b"@uuid:BCF6E2249A0B4E3480549074B44ADB1 <13>31 digits",
    b"@uuid:BCF6E2249A0B4E3480549074B44ADB10 <13>Nov 29 01:02:03 host app: two",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_ids_become_keys_and_frames_without_one_are_kept_and_counted() {
    let mut config = RelpConfig::new("relp", local(0));
    config.message_ids = MessageIds::RsyslogUuid;
    let (got, missing) = session_with(config, &FRAMES).await;
    let got: Vec<(&str, String)> = got
        .iter()
        .map(|e| {
            (
                e.key.as_str(),
                String::from_utf8_lossy(&e.payload).into_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "relp:3BB341ED53324DBB8015C037E18730F9",
                "<13>Nov 29 01:02:03 host app: one".to_owned()
            ),
            ("", "<13>Nov 29 01:02:03 host app: no id".to_owned()),
            (
                "",
                "@uuid:3bb341ed53324dbb8015c037e18730f9 <13>lower case".to_owned()
            ),
            (
                "",
                "@uuid:BCF6E2249A0B4E3480549074B44ADB1 <13>31 digits".to_owned()
            ),
            (
                "relp:BCF6E2249A0B4E3480549074B44ADB10",
                "<13>Nov 29 01:02:03 host app: two".to_owned()
            ),
        ]
    );
    assert_eq!(missing, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_message_ids_frames_are_stored_as_sent() {
    let (got, missing) = session_with(RelpConfig::new("relp", local(0)), &FRAMES).await;
    assert_eq!(got.len(), FRAMES.len());
    for (envelope, frame) in got.iter().zip(FRAMES) {
        assert_eq!(envelope.key, "");
        assert_eq!(envelope.payload, frame);
    }
    assert_eq!(missing, 0);
}

#[test]
fn the_documented_template_is_the_tested_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in ["../../docs/configuration.md", "src/sources/relp.rs"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        assert!(
            text.contains(&format!("string=\"{UUID_TEMPLATE}\"")),
            "{doc} does not give the template the tests use: {UUID_TEMPLATE}"
        );
    }
}

#[test]
fn the_configuration_refuses_unknown_fields_and_has_defaults() {
    let config: RelpConfig =
        toml::from_str("name = \"relp\"\nlisten = \"127.0.0.1:2514\"\n").unwrap();
    assert_eq!(config, RelpConfig::new("relp", local(2514)));
    assert_eq!(config.max_frame_bytes, 128 * 1024);
    assert_eq!(config.max_connections, 1000);
    assert_eq!(config.tenant, "default");
    assert!(
        toml::from_str::<RelpConfig>("name = \"r\"\nlisten = \"127.0.0.1:1\"\nwindow = 5\n")
            .is_err()
    );
    assert_eq!(config.message_ids, MessageIds::None);
    let ids: RelpConfig =
        toml::from_str("name = \"r\"\nlisten = \"127.0.0.1:1\"\nmessage_ids = \"rsyslog-uuid\"\n")
            .unwrap();
    assert_eq!(ids.message_ids, MessageIds::RsyslogUuid);
    let none: RelpConfig =
        toml::from_str("name = \"r\"\nlisten = \"127.0.0.1:1\"\nmessage_ids = \"none\"\n").unwrap();
    assert_eq!(none.message_ids, MessageIds::None);
    let error = toml::from_str::<RelpConfig>(
        "name = \"r\"\nlisten = \"127.0.0.1:1\"\nmessage_ids = \"uuid\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("rsyslog-uuid"),
        "the error names the values: {error}"
    );
}
