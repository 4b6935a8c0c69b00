//! The network sources against real sockets on 127.0.0.1, a real spool in a temporary directory
//! and the real spool writer: UDP, TCP (both framings, back-pressure, connection limit), TLS
//! (client certificates, identity, allowed clients), HTTPS ingest (token, formats, gzip, limits,
//! 503/429), shutdown, and the external clients `logger` and `curl` where installed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use shieldwall_collect::sources::SourceError;
use shieldwall_collect::sources::http::{self, HttpConfig, HttpSource};
use shieldwall_collect::sources::tcp::{self, TcpConfig, TcpSource};
use shieldwall_collect::sources::tls::TlsConfig;
use shieldwall_collect::sources::udp::{self, UdpConfig, UdpSource};
use shieldwall_collect::{
    Envelope, HealthBoard, Ingest, IngestConfig, IngestHandle, SourceStats, Spool, SpoolConfig,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Harness: a spool, its writer, a health board and a shutdown token.

struct Harness {
    _dir: tempfile::TempDir,
    spool: Arc<Mutex<Spool>>,
    ingest: Option<Ingest>,
    handle: Option<IngestHandle>,
    board: HealthBoard,
    shutdown: CancellationToken,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {}, IngestConfig::default())
    }

    fn with(tweak: impl FnOnce(&mut SpoolConfig), ingest: IngestConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = SpoolConfig::new(dir.path().join("spool"));
        tweak(&mut config);
        let (spool, _) = Spool::open(config).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), ingest).unwrap();
        Harness {
            _dir: dir,
            spool,
            ingest: Some(ingest),
            handle: Some(handle),
            board: HealthBoard::new(),
            shutdown: CancellationToken::new(),
        }
    }

    fn handle(&self) -> IngestHandle {
        self.handle.clone().unwrap()
    }

    fn stats(&self, name: &str, kind: &str) -> Arc<SourceStats> {
        self.board.register(name, kind, None, Timestamp::now())
    }

    /// Every envelope in the spool not yet acknowledged.
    fn pending(&self) -> Vec<Envelope> {
        let spool = self.spool.lock().unwrap();
        spool
            .read(spool.acknowledged_up_to(), usize::MAX)
            .unwrap()
            .iter()
            .map(|r| Envelope::decode(&r.payload).unwrap())
            .collect()
    }

    /// Reads and acknowledges everything pending, as the pipeline would.
    fn drain(&self) -> Vec<Envelope> {
        let mut spool = self.spool.lock().unwrap();
        let records = spool.read(spool.acknowledged_up_to(), usize::MAX).unwrap();
        if let Some(last) = records.last() {
            spool.acknowledge(last.seq + 1).unwrap();
        }
        records
            .iter()
            .map(|r| Envelope::decode(&r.payload).unwrap())
            .collect()
    }

    /// Waits until at least `n` envelopes are pending, and returns them.
    async fn wait_for(&self, n: usize) -> Vec<Envelope> {
        let deadline = Instant::now() + WAIT;
        loop {
            let pending = self.pending();
            if pending.len() >= n {
                return pending;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {n} messages, the spool holds {}",
                pending.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Cancels the sources, waits for `tasks` to finish cleanly, and stops the writer.
    async fn stop(mut self, tasks: Vec<JoinHandle<Result<(), SourceError>>>) {
        self.shutdown.cancel();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(15), task)
                .await
                .expect("a source did not stop after shutdown")
                .unwrap()
                .unwrap();
        }
        drop(self.handle.take());
        let ingest = self.ingest.take().unwrap();
        tokio::task::spawn_blocking(move || ingest.join())
            .await
            .unwrap();
    }
}

fn count(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn text(envelope: &Envelope) -> &str {
    std::str::from_utf8(&envelope.payload).unwrap()
}

/// Whether an external tool is installed; under CI=true a missing tool fails the test, otherwise
/// the test is skipped loudly.
fn external_tool(tool: &str, package: &str) -> bool {
    let found = std::process::Command::new(tool)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "`{tool}` is required for this test under CI=true but is not installed: \
                 apt-get install -y {package}"
            );
        }
        eprintln!(
            "\n*** SKIPPED: `{tool}` is not installed (apt-get install -y {package}); this test \
             of a real external client did not run ***\n"
        );
    }
    found
}

// ---------------------------------------------------------------------------------------------
// Certificates.

struct Pki {
    dir: tempfile::TempDir,
    ca_der: CertificateDer<'static>,
    ca_file: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "Shieldwall Test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, cert.pem()).unwrap();
        Pki {
            ca_der: cert.der().clone(),
            ca_file,
            issuer: Issuer::new(params, key),
            dir,
        }
    }

    /// Server certificate and key files for `localhost` and 127.0.0.1.
    fn server(&self) -> (PathBuf, PathBuf) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = self.dir.path().join("server.pem");
        let key_file = self.dir.path().join("server.key");
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    fn server_tls(&self) -> TlsConfig {
        let (cert, key) = self.server();
        TlsConfig::new(cert, key)
    }

    fn server_tls_verifying_clients(&self) -> TlsConfig {
        let mut tls = self.server_tls();
        tls.client_ca_file = Some(self.ca_file.clone());
        tls
    }

    /// A client certificate with this CN (none when `None`) and these DNS names.
    fn client(&self, cn: Option<&str>, dns: &[&str]) -> ClientCert {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(dns.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        if let Some(cn) = cn {
            params.distinguished_name.push(DnType::CommonName, cn);
        }
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (
            vec![cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
    }
}

async fn tls_connect(
    addr: SocketAddr,
    ca: &CertificateDer<'static>,
    client: Option<ClientCert>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let tcp = TcpStream::connect(addr).await?;
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// Expects the server to end the connection: reads (a TLS alert, say) until end of stream or an
/// error.
async fn expect_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buf = [0u8; 64];
    let mut received = 0;
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => {
                received += n;
                assert!(
                    received < 1024,
                    "expected the connection closed, it sends data"
                );
            }
            Err(_) => panic!("the connection stayed open"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration.

#[test]
fn configurations_have_documented_defaults_and_refuse_unknown_fields() {
    let tcp: TcpConfig = toml::from_str("name = \"fw\"\nlisten = \"0.0.0.0:601\"").unwrap();
    assert_eq!(tcp, TcpConfig::new("fw", "0.0.0.0:601".parse().unwrap()));
    assert_eq!(tcp.tenant, "default");
    assert_eq!(tcp.max_connections, 1000);
    assert_eq!(tcp.max_message_bytes, 65536);
    assert_eq!(tcp.kind(), "syslog-tcp");
    let tls: TcpConfig = toml::from_str(
        "name = \"fw\"\nlisten = \"0.0.0.0:6514\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"",
    )
    .unwrap();
    assert_eq!(tls.kind(), "syslog-tls");
    assert_eq!(tls.tls.as_ref().unwrap().handshake_timeout_secs, 10);
    let udp: UdpConfig = toml::from_str("name = \"u\"\nlisten = \"0.0.0.0:514\"").unwrap();
    assert_eq!(udp, UdpConfig::new("u", "0.0.0.0:514".parse().unwrap()));
    let http: HttpConfig = toml::from_str(
        "name = \"h\"\nlisten = \"0.0.0.0:8443\"\ntoken_sha256 = \"00\"\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"",
    )
    .unwrap();
    assert_eq!(http.path, "/ingest");
    assert!(!http.plain_http);
    assert_eq!(http.max_body_bytes, 16 << 20);

    for bad in [
        "name = \"fw\"\nlisten = \"0.0.0.0:601\"\nmax_conections = 5",
        "name = \"fw\"\nlisten = \"0.0.0.0:601\"\ntime_zone = \"UTC\"",
        "name = \"fw\"\nlisten = \"0.0.0.0:601\"\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"\nca = \"x\"",
    ] {
        assert!(toml::from_str::<TcpConfig>(bad).is_err(), "{bad}");
    }
    assert!(
        toml::from_str::<UdpConfig>("listen = \"0.0.0.0:514\"").is_err(),
        "name required"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_configurations_are_refused_at_bind() {
    let mut udp = UdpConfig::new("u", localhost());
    udp.tenant = "Not A Tenant".into();
    assert!(matches!(
        UdpSource::bind(udp).await,
        Err(SourceError::Config { .. })
    ));

    let mut tcp = TcpConfig::new("t", localhost());
    tcp.max_connections = 0;
    assert!(matches!(
        TcpSource::bind(tcp).await,
        Err(SourceError::Config { .. })
    ));

    let mut tcp = TcpConfig::new("t", localhost());
    tcp.tls = Some(TlsConfig::new(
        "/nonexistent/cert.pem",
        "/nonexistent/key.pem",
    ));
    let err = TcpSource::bind(tcp).await.unwrap_err();
    assert!(matches!(err, SourceError::File { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");

    let pki = Pki::new();
    let mut tls = pki.server_tls();
    tls.allowed_clients = vec!["web-01".into()];
    let mut tcp = TcpConfig::new("t", localhost());
    tcp.tls = Some(tls);
    let err = TcpSource::bind(tcp).await.unwrap_err();
    assert!(err.to_string().contains("client_ca_file"), "{err}");

    // A port in use.
    let taken = std::net::TcpListener::bind(localhost()).unwrap();
    let tcp = TcpConfig::new("t", taken.local_addr().unwrap());
    assert!(matches!(
        TcpSource::bind(tcp).await,
        Err(SourceError::Bind { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// UDP.

async fn start_udp(
    h: &Harness,
    config: UdpConfig,
) -> (
    SocketAddr,
    Arc<SourceStats>,
    JoinHandle<Result<(), SourceError>>,
) {
    let stats = h.stats(&config.name, udp::KIND);
    let source = UdpSource::bind(config).await.unwrap();
    let addr = source.local_addr();
    let task = tokio::spawn(source.serve(h.handle(), Arc::clone(&stats), h.shutdown.clone()));
    (addr, stats, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_datagrams_arrive_with_source_and_peer() {
    let h = Harness::new();
    let (addr, stats, task) = start_udp(&h, UdpConfig::new("fw-udp", localhost())).await;
    let client = tokio::net::UdpSocket::bind(localhost()).await.unwrap();
    let sent: [&[u8]; 4] = [
        b"<13>first\n",
        b"<13>second\0",
        b"<13>third\r\n",
        b"<13>with\ninner line",
    ];
    for datagram in sent {
        client.send_to(datagram, addr).await.unwrap();
    }
    client.send_to(b"\n", addr).await.unwrap(); // empty after stripping: ignored
    let got = h.wait_for(4).await;
    let texts: Vec<&str> = got.iter().map(text).collect();
    assert_eq!(
        texts,
        [
            "<13>first",
            "<13>second",
            "<13>third",
            "<13>with\ninner line"
        ]
    );
    for e in &got {
        assert_eq!(e.source, "fw-udp");
        assert_eq!(e.peer, client.local_addr().unwrap().to_string());
        assert_eq!(e.client_identity, "");
    }
    wait_until("UDP accepted count", || count(&stats.accepted) == 4).await;
    assert_eq!(count(&stats.bytes), 9 + 10 + 9 + 19);
    assert_eq!(count(&stats.dropped), 0);
    assert!(count(&stats.last_seen_ms) > 0);
    assert_eq!(h.pending().len(), 4, "the empty datagram was ignored");
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_drops_are_counted_when_the_spool_refuses() {
    let h = Harness::with(
        |spool| {
            spool.max_bytes = 4096;
            spool.segment_bytes = 1024;
        },
        IngestConfig::default(),
    );
    let mut config = UdpConfig::new("fw-udp", localhost());
    config.max_message_bytes = 300;
    let (addr, stats, task) = start_udp(&h, config).await;
    let client = tokio::net::UdpSocket::bind(localhost()).await.unwrap();
    let message = |i: usize| format!("<13>message {i:04} {}", "x".repeat(180));
    for i in 0..5 {
        client.send_to(message(i).as_bytes(), addr).await.unwrap();
    }
    wait_until("the first five accepted", || count(&stats.accepted) == 5).await;
    for i in 5..50 {
        client.send_to(message(i).as_bytes(), addr).await.unwrap();
    }
    // One datagram over max_message_bytes: dropped by the source itself.
    client.send_to(&[b'y'; 400], addr).await.unwrap();
    wait_until("every datagram accounted for", || {
        count(&stats.accepted) + count(&stats.dropped) == 51
    })
    .await;
    let accepted = count(&stats.accepted);
    assert!(count(&stats.dropped) > 1, "the spool refused some");
    assert!(accepted < 50);
    let pending = h.pending();
    assert_eq!(
        pending.len() as u64,
        accepted,
        "accepted means in the spool"
    );
    // A refused batch leaves no trace; a later, smaller batch may still fit.
    let expected: Vec<String> = (0..50).map(message).collect();
    let mut rest = expected.iter();
    for e in &pending {
        assert!(
            rest.any(|m| m.as_str() == text(e)),
            "accepted messages are sent ones, in order: {}",
            text(e)
        );
    }
    let first: Vec<&str> = pending[..5].iter().map(text).collect();
    assert_eq!(first, expected[..5]);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_from_util_linux_logger() {
    if !external_tool("logger", "bsdutils") {
        return;
    }
    let h = Harness::new();
    let (addr, _stats, task) = start_udp(&h, UdpConfig::new("fw-udp", localhost())).await;
    let status = tokio::process::Command::new("logger")
        .args(["--udp", "--rfc5424", "--server", "127.0.0.1", "--port"])
        .arg(addr.port().to_string())
        .args(["--tag", "shieldwall-test", "hello over udp from logger"])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let got = h.wait_for(1).await;
    let message = text(&got[0]);
    assert!(message.starts_with('<'), "{message}");
    assert!(message.contains("shieldwall-test"), "{message}");
    assert!(message.ends_with("hello over udp from logger"), "{message}");
    h.stop(vec![task]).await;
}

// ---------------------------------------------------------------------------------------------
// TCP.

async fn start_tcp(
    h: &Harness,
    config: TcpConfig,
) -> (
    SocketAddr,
    Arc<SourceStats>,
    JoinHandle<Result<(), SourceError>>,
) {
    let stats = h.stats(&config.name, config.kind());
    let source = TcpSource::bind(config).await.unwrap();
    let addr = source.local_addr();
    let task = tokio::spawn(source.serve(h.handle(), Arc::clone(&stats), h.shutdown.clone()));
    (addr, stats, task)
}

/// The frames of `messages`, cycling through octet counting, LF, CRLF and NUL.
fn mixed_stream(messages: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match i % 4 {
            0 => {
                out.extend_from_slice(format!("{} ", m.len()).as_bytes());
                out.extend_from_slice(m.as_bytes());
            }
            1 => {
                out.extend_from_slice(m.as_bytes());
                out.push(b'\n');
            }
            2 => {
                out.extend_from_slice(m.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            _ => {
                out.extend_from_slice(m.as_bytes());
                out.push(0);
            }
        }
    }
    out
}

/// Writes `bytes` in pseudo-random chunks of 1 to 300 bytes, pausing now and then so that the
/// reader sees frames split across reads.
async fn write_chunked<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8], seed: u64) {
    let mut state = seed;
    let mut at = 0;
    let mut writes = 0;
    while at < bytes.len() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let len = ((state >> 33) % 300 + 1) as usize;
        let end = (at + len).min(bytes.len());
        writer.write_all(&bytes[at..end]).await.unwrap();
        writer.flush().await.unwrap();
        at = end;
        writes += 1;
        if writes % 16 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn connection_messages(conn: usize, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            // Only octet-counted frames (i % 4 == 0) may carry a line feed.
            let inner = if i % 8 == 0 { "\nsecond line" } else { "" };
            format!(
                "<13>1 2026-11-29T00:00:00Z host app - - - conn {conn} msg {i}{inner} {}",
                "x".repeat(i % 37)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_both_framings_and_mixed_chunking_arrive_intact_and_in_order() {
    let h = Harness::new();
    let (addr, stats, task) = start_tcp(&h, TcpConfig::new("fw-tcp", localhost())).await;
    let per_connection = 300;
    let mut clients = Vec::new();
    for conn in 0..3 {
        clients.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let local = stream.local_addr().unwrap().to_string();
            let messages = connection_messages(conn, per_connection);
            write_chunked(&mut stream, &mixed_stream(&messages), conn as u64 + 7).await;
            stream.shutdown().await.unwrap();
            (local, messages)
        }));
    }
    let mut expected = BTreeMap::new();
    for client in clients {
        let (peer, messages) = client.await.unwrap();
        expected.insert(peer, messages);
    }
    let got = h.wait_for(3 * per_connection).await;
    assert_eq!(got.len(), 3 * per_connection);
    let mut by_peer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &got {
        assert_eq!(e.source, "fw-tcp");
        by_peer
            .entry(e.peer.clone())
            .or_default()
            .push(text(e).to_owned());
    }
    assert_eq!(by_peer, expected);
    wait_until("accepted count", || count(&stats.accepted) == 900).await;
    assert_eq!(count(&stats.dropped), 0);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_oversize_and_truncated_frames_are_counted_and_the_stream_stays_in_sync() {
    let h = Harness::new();
    let mut config = TcpConfig::new("fw-tcp", localhost());
    config.max_message_bytes = 100;
    let (addr, stats, task) = start_tcp(&h, config).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let long = "L".repeat(250);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"<13>before\n");
    bytes.extend_from_slice(format!("{long}\n").as_bytes());
    bytes.extend_from_slice(format!("250 {long}").as_bytes());
    bytes.extend_from_slice(b"<13>after\n");
    bytes.extend_from_slice(b"50 <13>cut short");
    stream.write_all(&bytes).await.unwrap();
    stream.shutdown().await.unwrap();
    let got = h.wait_for(2).await;
    wait_until("three drops", || count(&stats.dropped) == 3).await;
    let texts: Vec<&str> = got.iter().map(text).collect();
    assert_eq!(texts, ["<13>before", "<13>after"]);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_a_message_larger_than_the_spool_record_limit_is_dropped_and_the_rest_written() {
    let h = Harness::with(
        |spool| spool.max_record_bytes = 200,
        IngestConfig::default(),
    );
    let (addr, stats, task) = start_tcp(&h, TcpConfig::new("fw-tcp", localhost())).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let big = format!("<13>{}", "B".repeat(300));
    // One write, so that the three messages travel in one batch.
    stream
        .write_all(format!("<13>small one\n{big}\n<13>small two\n").as_bytes())
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    wait_until("two accepted and one dropped", || {
        count(&stats.accepted) == 2 && count(&stats.dropped) == 1
    })
    .await;
    let texts: Vec<String> = h.pending().iter().map(|e| text(e).to_owned()).collect();
    assert_eq!(texts, ["<13>small one", "<13>small two"]);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_back_pressure_blocks_the_sender_and_loses_nothing() {
    let h = Harness::with(
        |spool| {
            spool.max_bytes = 128 * 1024;
            spool.segment_bytes = 16 * 1024;
        },
        IngestConfig {
            retry_after: Duration::from_millis(50),
            ..IngestConfig::default()
        },
    );
    let mut config = TcpConfig::new("fw-tcp", localhost());
    config.batch_bytes = 8 * 1024;
    config.max_message_bytes = 1024;
    let (addr, stats, task) = start_tcp(&h, config).await;

    const TOTAL: u64 = 16 * 1024;
    const PER_WRITE: u64 = 64;
    let message = |i: u64| format!("<13>{i:08} {}", "x".repeat(498));
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let written = Arc::clone(&written);
        tokio::spawn(async move {
            for first in (0..TOTAL).step_by(PER_WRITE as usize) {
                let mut chunk = Vec::new();
                for i in first..first + PER_WRITE {
                    chunk.extend_from_slice(message(i).as_bytes());
                    chunk.push(b'\n');
                }
                stream.write_all(&chunk).await.unwrap();
                written.store(first + PER_WRITE, Ordering::Relaxed);
            }
            stream.shutdown().await.unwrap();
        })
    };

    // The spool fills, the source stops reading, the socket buffers fill, the sender blocks.
    wait_until("the spool to refuse", || count(&stats.refused) > 0).await;
    let deadline = Instant::now() + WAIT;
    let mut last = u64::MAX;
    let mut still_since = Instant::now();
    loop {
        let now = written.load(Ordering::Relaxed);
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() > Duration::from_secs(1) {
            break;
        }
        assert!(Instant::now() < deadline, "the sender never blocked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let blocked_at = written.load(Ordering::Relaxed);
    assert!(blocked_at < TOTAL, "the sender blocked before the end");
    let refused_before = count(&stats.refused);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        count(&stats.refused) > refused_before,
        "the source keeps retrying"
    );
    assert_eq!(
        written.load(Ordering::Relaxed),
        blocked_at,
        "and reads nothing meanwhile"
    );
    let accepted = count(&stats.accepted);
    assert_eq!(
        h.pending().len() as u64,
        accepted,
        "everything accepted is in the spool"
    );
    assert!(accepted < blocked_at);
    eprintln!(
        "back-pressure: sender blocked after {blocked_at} of {TOTAL} messages, {accepted} in the spool"
    );

    // Draining the spool lets ingest resume; every message arrives once, in order.
    let mut next = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while next < TOTAL {
        for e in h.drain() {
            assert_eq!(text(&e), message(next), "message {next}");
            next += 1;
        }
        assert!(Instant::now() < deadline, "only {next} of {TOTAL} arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    writer.await.unwrap();
    assert_eq!(count(&stats.accepted), TOTAL);
    assert_eq!(count(&stats.dropped), 0);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connection_limit_is_enforced() {
    let h = Harness::new();
    let mut config = TcpConfig::new("fw-tcp", localhost());
    config.max_connections = 2;
    let (addr, stats, task) = start_tcp(&h, config).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    first.write_all(b"<13>one\n").await.unwrap();
    second.write_all(b"<13>two\n").await.unwrap();
    h.wait_for(2).await;
    assert_eq!(count(&stats.connections), 2);

    let mut third = TcpStream::connect(addr).await.unwrap();
    expect_closed(&mut third).await;
    assert_eq!(count(&stats.rejected_connections), 1);
    let _ = third.write_all(b"<13>three\n").await;

    drop(first);
    wait_until("the first connection to close", || {
        count(&stats.connections) == 1
    })
    .await;
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth.write_all(b"<13>four\n").await.unwrap();
    let got = h.wait_for(3).await;
    let mut texts: Vec<&str> = got.iter().map(text).collect();
    texts[..2].sort_unstable();
    assert_eq!(texts, ["<13>one", "<13>two", "<13>four"]);
    assert_eq!(count(&stats.rejected_connections), 1);
    drop((second, fourth));
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_from_util_linux_logger_with_both_framings() {
    if !external_tool("logger", "bsdutils") {
        return;
    }
    let h = Harness::new();
    let (addr, _stats, task) = start_tcp(&h, TcpConfig::new("fw-tcp", localhost())).await;
    for (framing, message) in [
        (Some("--octet-count"), "octet counted from logger"),
        (None, "non-transparent from logger"),
    ] {
        let mut command = tokio::process::Command::new("logger");
        command.args(["--tcp", "--rfc5424", "--server", "127.0.0.1", "--port"]);
        command.arg(addr.port().to_string());
        if let Some(framing) = framing {
            command.arg(framing);
        }
        let status = command
            .args(["--tag", "shieldwall-test", message])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }
    let got = h.wait_for(2).await;
    assert!(
        text(&got[0]).ends_with("octet counted from logger"),
        "{}",
        text(&got[0])
    );
    assert!(
        text(&got[1]).ends_with("non-transparent from logger"),
        "{}",
        text(&got[1])
    );
    assert!(text(&got[1]).contains("shieldwall-test"));
    h.stop(vec![task]).await;
}

// ---------------------------------------------------------------------------------------------
// TLS syslog.

fn tls_config(tls: TlsConfig) -> TcpConfig {
    let mut config = TcpConfig::new("fw-tls", localhost());
    config.tls = Some(tls);
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates_puts_the_identity_in_each_envelope() {
    let pki = Pki::new();
    let h = Harness::new();
    let (addr, stats, task) = start_tcp(&h, tls_config(pki.server_tls_verifying_clients())).await;

    let mut web = tls_connect(
        addr,
        &pki.ca_der,
        Some(pki.client(Some("web-01"), &["web-01.example.net"])),
    )
    .await
    .unwrap();
    let messages = connection_messages(0, 40);
    write_chunked(&mut web, &mixed_stream(&messages), 3).await;
    web.shutdown().await.unwrap();

    // Without a CN the first DNS name is the identity.
    let mut san_only = tls_connect(
        addr,
        &pki.ca_der,
        Some(pki.client(None, &["db-02.example.net"])),
    )
    .await
    .unwrap();
    san_only.write_all(b"16 <13>from db-02 x").await.unwrap();
    san_only.shutdown().await.unwrap();

    let got = h.wait_for(41).await;
    let (web_got, db_got): (Vec<_>, Vec<_>) =
        got.iter().partition(|e| e.client_identity == "web-01");
    assert_eq!(
        web_got
            .iter()
            .map(|e| text(e).to_owned())
            .collect::<Vec<_>>(),
        messages
    );
    assert_eq!(db_got.len(), 1);
    assert_eq!(db_got[0].client_identity, "db-02.example.net");
    assert_eq!(text(db_got[0]), "<13>from db-02 x");
    assert_eq!(count(&stats.rejected_connections), 0);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_refuses_clients_without_a_valid_certificate_when_a_ca_is_configured() {
    let pki = Pki::new();
    let other = Pki::new();
    let h = Harness::new();
    let (addr, stats, task) = start_tcp(&h, tls_config(pki.server_tls_verifying_clients())).await;

    // No certificate: with TLS 1.3 the client may finish its side before the server refuses.
    if let Ok(mut stream) = tls_connect(addr, &pki.ca_der, None).await {
        let _ = stream.write_all(b"<13>anonymous\n").await;
        expect_closed(&mut stream).await;
    }
    // A certificate from another CA.
    if let Ok(mut stream) =
        tls_connect(addr, &pki.ca_der, Some(other.client(Some("web-01"), &[]))).await
    {
        let _ = stream.write_all(b"<13>stranger\n").await;
        expect_closed(&mut stream).await;
    }
    // Plain TCP to the TLS port.
    let mut plain = TcpStream::connect(addr).await.unwrap();
    plain.write_all(b"<13>plain text\n").await.unwrap();
    expect_closed(&mut plain).await;

    wait_until("three rejections", || {
        count(&stats.rejected_connections) == 3
    })
    .await;
    assert!(h.pending().is_empty());

    // Without a CA, no certificate is asked for and the identity is empty.
    let (open_addr, _, open_task) = {
        let mut config = tls_config(pki.server_tls());
        config.name = "open-tls".into();
        start_tcp(&h, config).await
    };
    let mut stream = tls_connect(open_addr, &pki.ca_der, None).await.unwrap();
    stream.write_all(b"<13>anyone\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let got = h.wait_for(1).await;
    assert_eq!(text(&got[0]), "<13>anyone");
    assert_eq!(got[0].client_identity, "");
    h.stop(vec![task, open_task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_allowed_clients_binds_senders_to_the_source() {
    let pki = Pki::new();
    let h = Harness::new();
    let mut tls = pki.server_tls_verifying_clients();
    tls.allowed_clients = vec!["web-01".into()];
    let (addr, stats, task) = start_tcp(&h, tls_config(tls)).await;

    if let Ok(mut stream) =
        tls_connect(addr, &pki.ca_der, Some(pki.client(Some("db-02"), &[]))).await
    {
        let _ = stream.write_all(b"<13>not allowed\n").await;
        expect_closed(&mut stream).await;
    }
    wait_until("the rejection", || count(&stats.rejected_connections) == 1).await;

    let mut stream = tls_connect(addr, &pki.ca_der, Some(pki.client(Some("web-01"), &[])))
        .await
        .unwrap();
    stream.write_all(b"<13>allowed\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let got = h.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(text(&got[0]), "<13>allowed");
    assert_eq!(got[0].client_identity, "web-01");
    h.stop(vec![task]).await;
}

// ---------------------------------------------------------------------------------------------
// HTTPS ingest.

const TOKEN: &str = "s3cret-ingest-token";

fn token_sha256(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn https_config(pki: &Pki) -> HttpConfig {
    HttpConfig::new(
        "shipper",
        localhost(),
        token_sha256(TOKEN),
        pki.server_tls(),
    )
}

async fn start_http(
    h: &Harness,
    config: HttpConfig,
) -> (
    SocketAddr,
    Arc<SourceStats>,
    JoinHandle<Result<(), SourceError>>,
) {
    let stats = h.stats(&config.name, http::KIND);
    let source = HttpSource::bind(config).await.unwrap();
    let addr = source.local_addr();
    let task = tokio::spawn(source.serve(h.handle(), Arc::clone(&stats), h.shutdown.clone()));
    (addr, stats, task)
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 exchange with `Connection: close`.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(stream, &bytes).await
}

/// Sends `bytes`, a whole HTTP/1.1 request with `Connection: close`, and reads the answer.
async fn send_raw<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, bytes: &[u8]) -> Reply {
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut response))
        .await
        .expect("no answer");
    if response.is_empty() {
        panic!("no answer: {read:?}");
    }
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn https_post(
    addr: SocketAddr,
    pki: &Pki,
    token: Option<&str>,
    content_type: &str,
    gzip: bool,
    body: &[u8],
) -> Reply {
    let stream = tls_connect(addr, &pki.ca_der, None).await.unwrap();
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    if gzip {
        headers.push(("Content-Encoding", "gzip"));
    }
    exchange(stream, "POST", "/ingest", &headers, body).await
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_requires_the_bearer_token() {
    let pki = Pki::new();
    let h = Harness::new();
    let (addr, stats, task) = start_http(&h, https_config(&pki)).await;
    let body = b"{\"msg\":\"hello\"}\n";
    let reply = https_post(addr, &pki, None, "application/x-ndjson", false, body).await;
    assert_eq!(reply.status, 401);
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let reply = https_post(
        addr,
        &pki,
        Some("wrong"),
        "application/x-ndjson",
        false,
        body,
    )
    .await;
    assert_eq!(reply.status, 401);
    let stream = tls_connect(addr, &pki.ca_der, None).await.unwrap();
    let basic = format!("Basic {TOKEN}");
    let reply = exchange(
        stream,
        "POST",
        "/ingest",
        &[("Authorization", &basic), ("Content-Type", "text/plain")],
        b"x",
    )
    .await;
    assert_eq!(reply.status, 401);
    assert!(h.pending().is_empty());
    assert_eq!(count(&stats.accepted), 0);

    let reply = https_post(addr, &pki, Some(TOKEN), "application/x-ndjson", false, body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), serde_json::json!({"accepted": 1}));

    // Wrong path and method.
    let stream = tls_connect(addr, &pki.ca_der, None).await.unwrap();
    assert_eq!(
        exchange(stream, "POST", "/other", &[], b"").await.status,
        404
    );
    let stream = tls_connect(addr, &pki.ca_der, None).await.unwrap();
    let reply = exchange(stream, "GET", "/ingest", &[], b"").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_accepts_ndjson_json_arrays_text_and_gzip() {
    let pki = Pki::new();
    let h = Harness::new();
    let (addr, stats, task) = start_http(&h, https_config(&pki)).await;

    let ndjson = b"{\"n\":1,\"msg\":\"a\"}\r\n\n{\"n\":2}\n  \n[1, 2]\n";
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "application/x-ndjson; charset=utf-8",
        false,
        ndjson,
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, serde_json::json!({"accepted": 3}))
    );

    let array =
        b"[ {\"z\": 1, \"a\": \"two  words\"},\n  {\"n\": 1.50, \"nested\": {\"k\": [1, 2]}} ]";
    let reply = https_post(addr, &pki, Some(TOKEN), "application/json", false, array).await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, serde_json::json!({"accepted": 2}))
    );

    let lines = b"<13>plain line one\r\n<13>plain line two\n";
    let reply = https_post(addr, &pki, Some(TOKEN), "text/plain", false, lines).await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, serde_json::json!({"accepted": 2}))
    );

    let mut many = String::new();
    for i in 0..500 {
        many.push_str(&format!("{{\"seq\":{i},\"msg\":\"compressed\"}}\n"));
    }
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "application/x-ndjson",
        true,
        &gzip(many.as_bytes()),
    )
    .await;
    assert_eq!(
        (reply.status, reply.json()),
        (200, serde_json::json!({"accepted": 500}))
    );

    let got = h.wait_for(507).await;
    let texts: Vec<&str> = got.iter().map(text).collect();
    assert_eq!(
        &texts[..7],
        [
            "{\"n\":1,\"msg\":\"a\"}",
            "{\"n\":2}",
            "[1, 2]",
            "{\"z\":1,\"a\":\"two  words\"}",
            "{\"n\":1.50,\"nested\":{\"k\":[1,2]}}",
            "<13>plain line one",
            "<13>plain line two",
        ]
    );
    assert_eq!(texts[7], "{\"seq\":0,\"msg\":\"compressed\"}");
    assert_eq!(texts[506], "{\"seq\":499,\"msg\":\"compressed\"}");
    for e in &got {
        assert_eq!(e.source, "shipper");
        assert!(e.peer.starts_with("127.0.0.1:"), "{}", e.peer);
    }
    assert_eq!(count(&stats.accepted), 507);
    assert_eq!(count(&stats.refused), 0);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_refuses_oversize_bodies_bad_json_and_unknown_types() {
    let pki = Pki::new();
    let h = Harness::new();
    let mut config = https_config(&pki);
    config.max_body_bytes = 1024;
    config.max_decompressed_bytes = 4096;
    config.max_message_bytes = 200;
    let (addr, _stats, task) = start_http(&h, config).await;

    let big = vec![b'a'; 2000];
    let reply = https_post(addr, &pki, Some(TOKEN), "text/plain", false, &big).await;
    assert_eq!(reply.status, 413, "{}", reply.body);

    // Small on the wire, too large once decompressed.
    let bomb = gzip(&vec![b'\n'; 100_000]);
    assert!(bomb.len() < 1024);
    let reply = https_post(addr, &pki, Some(TOKEN), "text/plain", true, &bomb).await;
    assert_eq!(reply.status, 413, "{}", reply.body);

    // One message over the limit.
    let long_line = format!("short\n{}\n", "b".repeat(300));
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "text/plain",
        false,
        long_line.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(reply.body.contains("line 2"), "{}", reply.body);

    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "application/x-ndjson",
        false,
        b"{\"a\":1}\n{\"b\":tru}\n",
    )
    .await;
    assert_eq!(reply.status, 400);
    let json = reply.json();
    assert_eq!(
        (json["line"].as_u64(), json["column"].as_u64()),
        (Some(2), Some(9)),
        "{json}"
    );

    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "application/json",
        false,
        b"[\n {\"a\": 1},\n {\"b\" 2}\n]",
    )
    .await;
    assert_eq!(reply.status, 400);
    let json = reply.json();
    assert_eq!(
        (json["line"].as_u64(), json["column"].as_u64()),
        (Some(3), Some(7)),
        "{json}"
    );

    let reply = https_post(addr, &pki, Some(TOKEN), "application/xml", false, b"<a/>").await;
    assert_eq!(reply.status, 415);
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "text/plain",
        true,
        b"not gzip at all",
    )
    .await;
    assert_eq!(reply.status, 400);

    assert!(h.pending().is_empty(), "a refused request stores nothing");
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_503_with_retry_after_when_the_spool_is_full() {
    let pki = Pki::new();
    let h = Harness::with(
        |spool| {
            spool.max_bytes = 8192;
            spool.segment_bytes = 1024;
        },
        IngestConfig {
            retry_after: Duration::from_secs(2),
            ..IngestConfig::default()
        },
    );
    let (addr, stats, task) = start_http(&h, https_config(&pki)).await;
    let body: String = (0..40)
        .map(|i| format!("line {i:03} {}\n", "p".repeat(90)))
        .collect();

    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "text/plain",
        false,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "text/plain",
        false,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.header("retry-after"), Some("2"));
    assert_eq!(count(&stats.refused), 1);
    assert_eq!(h.pending().len(), 40, "the refused request stored nothing");

    assert_eq!(h.drain().len(), 40);
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "text/plain",
        false,
        body.as_bytes(),
    )
    .await;
    assert_eq!(reply.status, 200, "after draining: {}", reply.body);
    assert_eq!(count(&stats.accepted), 80);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_answers_429_when_the_writer_stays_busy() {
    let pki = Pki::new();
    let h = Harness::with(
        |_| {},
        IngestConfig {
            queue_depth: 1,
            ..IngestConfig::default()
        },
    );
    let mut config = https_config(&pki);
    config.writer_wait_ms = 300;
    let (addr, stats, task) = start_http(&h, config).await;
    let ca = pki.ca_der.clone();
    let post = |body: &'static [u8]| {
        let ca = ca.clone();
        tokio::spawn(async move {
            let stream = tls_connect(addr, &ca, None).await.unwrap();
            let auth = format!("Bearer {TOKEN}");
            exchange(
                stream,
                "POST",
                "/ingest",
                &[("Authorization", &auth), ("Content-Type", "text/plain")],
                body,
            )
            .await
        })
    };
    // Hold the spool (from another thread): the writer takes the first batch and waits for the
    // lock; the second batch fills its queue; the third finds no room.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let spool = Arc::clone(&h.spool);
        std::thread::spawn(move || {
            let _guard = spool.lock().unwrap();
            locked_tx.send(()).unwrap();
            let _ = release_rx.recv();
        })
    };
    locked_rx.recv().unwrap();
    let first = post(b"<13>first\n");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = post(b"<13>second\n");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let third = post(b"<13>third\n").await.unwrap();
    assert_eq!(third.status, 429, "{}", third.body);
    assert_eq!(third.header("retry-after"), Some("1"));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(first.await.unwrap().status, 200);
    assert_eq!(second.await.unwrap().status, 200);
    let texts: Vec<String> = h
        .wait_for(2)
        .await
        .iter()
        .map(|e| text(e).to_owned())
        .collect();
    assert_eq!(texts, ["<13>first", "<13>second"]);
    assert_eq!(count(&stats.refused), 1);
    h.stop(vec![task]).await;
}

/// An HTTPS POST of NDJSON with `Idempotency-Key: key` (sent as raw bytes).
async fn keyed_post(addr: SocketAddr, pki: &Pki, key: &[u8], body: &[u8]) -> Reply {
    let stream = tls_connect(addr, &pki.ca_der, None).await.unwrap();
    // Assembled here rather than with `exchange`, whose headers are text: the key may not be.
    let mut request = format!(
        "POST /ingest HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {}\r\nIdempotency-Key: ",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(key);
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body);
    send_raw(stream, &request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_idempotency_keys_give_a_retried_batch_the_same_message_keys() {
    let pki = Pki::new();
    let h = Harness::new();
    let (addr, stats, task) = start_http(&h, https_config(&pki)).await;
    let batch = b"{\"n\":1}\n\n{\"n\":2}\r\n{\"n\":3}\n";

    // The same batch twice with the same key (a retry after a lost answer), then with another key
    // and without one.
    for key in [
        b"0b7c5e2a-batch-17".as_slice(),
        b"0b7c5e2a-batch-17",
        b"0b7c5e2a-batch-18",
    ] {
        let reply = keyed_post(addr, &pki, key, batch).await;
        assert_eq!(
            (reply.status, reply.json()["accepted"].as_u64()),
            (200, Some(3)),
            "{}",
            reply.body
        );
    }
    let reply = https_post(
        addr,
        &pki,
        Some(TOKEN),
        "application/x-ndjson",
        false,
        batch,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = h.wait_for(12).await;
    let keys: Vec<&str> = got.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "http:0b7c5e2a-batch-17:0",
            "http:0b7c5e2a-batch-17:1",
            "http:0b7c5e2a-batch-17:2",
            "http:0b7c5e2a-batch-17:0",
            "http:0b7c5e2a-batch-17:1",
            "http:0b7c5e2a-batch-17:2",
            "http:0b7c5e2a-batch-18:0",
            "http:0b7c5e2a-batch-18:1",
            "http:0b7c5e2a-batch-18:2",
            "",
            "",
            "",
        ]
    );
    assert_eq!(got[0].payload, got[3].payload);
    assert_eq!(text(&got[2]), "{\"n\":3}");

    // A key of 128 bytes is the longest accepted.
    let longest = "k".repeat(http::MAX_IDEMPOTENCY_KEY);
    let reply = keyed_post(addr, &pki, longest.as_bytes(), b"{}\n").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = h.wait_for(13).await;
    assert_eq!(got[12].key, format!("http:{longest}:0"));

    // Malformed keys are refused with 400 and nothing is written.
    let too_long = "k".repeat(http::MAX_IDEMPOTENCY_KEY + 1);
    for bad in [
        b"".as_slice(),
        too_long.as_bytes(),
        b"two words",
        b"caf\xc3\xa9",
        b"tab\there",
    ] {
        let reply = keyed_post(addr, &pki, bad, b"{\"n\":9}\n").await;
        assert_eq!(
            reply.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(bad),
            reply.body
        );
        assert!(
            reply.json()["error"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key"),
            "{}",
            reply.body
        );
    }
    let reply = keyed_post(addr, &pki, b"a\r\nIdempotency-Key: b", b"{}\n").await;
    assert_eq!(reply.status, 400, "two keys: {}", reply.body);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(h.pending().len(), 13, "refused requests wrote nothing");
    assert_eq!(count(&stats.accepted), 13);
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_is_refused_unless_explicitly_configured() {
    let pki = Pki::new();
    let h = Harness::new();
    let mut config = https_config(&pki);
    config.tls = None;
    let err = HttpSource::bind(config.clone()).await.unwrap_err();
    assert!(err.to_string().contains("plain_http = true"), "{err}");
    let mut both = https_config(&pki);
    both.plain_http = true;
    assert!(HttpSource::bind(both).await.is_err());

    // A plain HTTP request to the HTTPS listener does not get through.
    let (tls_addr, tls_stats, tls_task) = start_http(&h, https_config(&pki)).await;
    let mut plain = TcpStream::connect(tls_addr).await.unwrap();
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    plain
        .write_all(format!("POST /ingest HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"));
    wait_until("the rejection", || {
        count(&tls_stats.rejected_connections) == 1
    })
    .await;

    // Explicitly configured plain HTTP works.
    config.name = "plain".into();
    config.plain_http = true;
    let (addr, _stats, task) = start_http(&h, config).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let reply = exchange(
        stream,
        "POST",
        "/ingest",
        &[("Authorization", &bearer), ("Content-Type", "text/plain")],
        b"<13>over plain http\n",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = h.wait_for(1).await;
    assert_eq!(
        (got[0].source.as_str(), text(&got[0])),
        ("plain", "<13>over plain http")
    );
    h.stop(vec![tls_task, task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_client_identity_and_connection_limit() {
    let pki = Pki::new();
    let h = Harness::new();
    let mut config = HttpConfig::new(
        "shipper",
        localhost(),
        token_sha256(TOKEN),
        pki.server_tls_verifying_clients(),
    );
    config.max_connections = 1;
    let (addr, stats, task) = start_http(&h, config).await;
    let bearer = format!("Bearer {TOKEN}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "text/plain"),
    ];

    // An idle connection holds the only place.
    let idle = tls_connect(addr, &pki.ca_der, Some(pki.client(Some("holder"), &[])))
        .await
        .unwrap();
    wait_until("the idle connection", || count(&stats.connections) == 1).await;
    let mut refused = TcpStream::connect(addr).await.unwrap();
    expect_closed(&mut refused).await;
    assert_eq!(count(&stats.rejected_connections), 1);
    drop(idle);
    wait_until("the idle connection to close", || {
        count(&stats.connections) == 0
    })
    .await;

    let stream = tls_connect(addr, &pki.ca_der, Some(pki.client(Some("shipper-01"), &[])))
        .await
        .unwrap();
    let reply = exchange(stream, "POST", "/ingest", &headers, b"<13>with identity\n").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let got = h.wait_for(1).await;
    assert_eq!(got[0].client_identity, "shipper-01");
    h.stop(vec![task]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_from_curl() {
    if !external_tool("curl", "curl") {
        return;
    }
    let pki = Pki::new();
    let h = Harness::new();
    let (addr, _stats, task) = start_http(&h, https_config(&pki)).await;
    let body_file = pki.dir.path().join("body.ndjson");
    std::fs::write(
        &body_file,
        "{\"msg\":\"one from curl\"}\n{\"msg\":\"two from curl\"}\n",
    )
    .unwrap();
    let run_curl = |token: &str| {
        let mut command = tokio::process::Command::new("curl");
        command
            .args([
                "--silent",
                "--show-error",
                "--write-out",
                "\n%{http_code}",
                "--cacert",
            ])
            .arg(&pki.ca_file)
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/x-ndjson"])
            .arg("--data-binary")
            .arg(format!("@{}", body_file.display()))
            .arg(format!("https://localhost:{}/ingest", addr.port()));
        command.output()
    };
    let output = run_curl(TOKEN).await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (body, code) = stdout.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{stdout}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        serde_json::json!({"accepted": 2})
    );
    let output = run_curl("wrong").await.unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).ends_with("\n401"));
    let got = h.wait_for(2).await;
    assert_eq!(text(&got[1]), "{\"msg\":\"two from curl\"}");
    h.stop(vec![task]).await;
}

// ---------------------------------------------------------------------------------------------
// Shutdown.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_accepting_and_keeps_what_was_read() {
    let pki = Pki::new();
    let h = Harness::new();
    let (tcp_addr, _, tcp_task) = start_tcp(&h, TcpConfig::new("fw-tcp", localhost())).await;
    let (udp_addr, _, udp_task) = start_udp(&h, UdpConfig::new("fw-udp", localhost())).await;
    let (http_addr, _, http_task) = start_http(&h, https_config(&pki)).await;

    let mut open = TcpStream::connect(tcp_addr).await.unwrap();
    for i in 0..10 {
        open.write_all(format!("<13>before shutdown {i}\n").as_bytes())
            .await
            .unwrap();
    }
    let idle_https = tls_connect(http_addr, &pki.ca_der, None).await.unwrap();
    h.wait_for(10).await;

    h.shutdown.cancel();
    // The open TCP connection is closed by the source, the idle HTTPS one too.
    expect_closed(&mut open).await;
    let mut idle_https = idle_https;
    expect_closed(&mut idle_https).await;
    for task in [tcp_task, udp_task, http_task] {
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("a source did not stop promptly")
            .unwrap()
            .unwrap();
    }
    assert!(
        TcpStream::connect(tcp_addr).await.is_err(),
        "the listener is closed"
    );
    assert!(
        TcpStream::connect(http_addr).await.is_err(),
        "the listener is closed"
    );
    let _ = udp_addr;
    assert_eq!(h.pending().len(), 10);
    h.stop(Vec::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_binds_serves_and_returns_on_shutdown() {
    let h = Harness::new();
    let stats = h.stats("runner", udp::KIND);
    let token = h.shutdown.clone();
    let task = tokio::spawn(udp::run(
        UdpConfig::new("runner", localhost()),
        h.handle(),
        Arc::clone(&stats),
        token,
    ));
    let tcp_task = tokio::spawn(tcp::run(
        TcpConfig::new("runner-tcp", localhost()),
        h.handle(),
        Arc::clone(&stats),
        h.shutdown.clone(),
    ));
    let mut bad = HttpConfig::new("bad", localhost(), "not hex", TlsConfig::new("c", "k"));
    bad.tenant = "default".into();
    let err = http::run(bad, h.handle(), Arc::clone(&stats), h.shutdown.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("token_sha256"), "{err}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !task.is_finished() && !tcp_task.is_finished(),
        "the sources serve until shutdown"
    );
    h.stop(vec![task, tcp_task]).await;
}
