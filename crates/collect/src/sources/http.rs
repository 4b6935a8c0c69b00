//! The HTTPS ingest source: log shippers POST batches of messages.
//!
//! # Protocol
//!
//! `POST <path>` (default `/ingest`) with `Authorization: Bearer <token>`. The body is, by its
//! `Content-Type`:
//!
//! * `application/x-ndjson` (also `application/ndjson`, `application/jsonl`): one JSON value per
//!   line; each non-blank line is one message, kept as sent (a trailing CR is removed);
//! * `application/json`: a JSON array, each element one message, re-serialised compactly
//!   (whitespace outside strings removed; key order, numbers and escapes kept as sent), or a
//!   single JSON object as one message;
//! * `text/plain`: one message per non-blank line, not interpreted.
//!
//! `Content-Encoding: gzip` is accepted; the decompressed body is bounded by
//! `max_decompressed_bytes`. The answers:
//!
//! | status | when |
//! | --- | --- |
//! | 200 `{"accepted": n}` | every message of the request is on disk |
//! | 400 | the body is not what its `Content-Type` says (JSON errors give line and column), or the `Idempotency-Key` is malformed |
//! | 401 | no bearer token, or not this source's |
//! | 404, 405 | another path, another method than POST |
//! | 408 | the body did not arrive within `body_timeout_secs` |
//! | 413 | the body, its decompressed size or one message is over its limit |
//! | 415 | an unsupported `Content-Type` or `Content-Encoding` |
//! | 429 + `Retry-After` | the spool writer's queue stayed full for `writer_wait_ms` |
//! | 503 + `Retry-After` | the spool is full |
//! | 500 | the spool failed |
//!
//! # Idempotency keys
//!
//! A request may carry an `Idempotency-Key` header: 1 to [`MAX_IDEMPOTENCY_KEY`] bytes of
//! printable ASCII without spaces (`!` to `~`), such as a UUID chosen per batch. Anything else,
//! including the header twice, is answered 400. With a key, each message's envelope gets the key
//! `http:<key>:<index>`, where `index` is the message's 0-based position among the request's
//! messages (blank NDJSON and text lines are not messages and are not counted). The pipeline
//! derives the event id from the tenant, the source and that key, so a client that retries a batch
//! with the same key and the same body produces events with the same ids as the first attempt,
//! and a store that keys on the event id keeps each message once. The key is scoped to the source:
//! two clients of one source that use the same key make their events share ids, so keys must be
//! unique per source (a UUID, or the shipper's name with a batch counter), and a key must be sent
//! again only with the same messages in the same order. Without the header the envelope's key is
//! empty and the event id derives from the spool position.
//!
//! The token is never stored: the configuration holds its SHA-256 (`token_sha256`, hex), and the
//! presented token's digest is compared in constant time.
//!
//! TLS is the default and uses the same settings as TLS syslog ([`super::tls`]), including
//! optional client certificates whose identity goes into each envelope. Plain HTTP is served only
//! when the configuration sets `plain_http = true` and has no `[tls]` table; without either the
//! source refuses to start.
//!
//! Built on hyper 1 and hyper-util directly rather than axum: the source has one route, and what
//! matters here is the accept loop (connection limit, TLS handshake with timeout, client identity,
//! graceful shutdown) and strict limits on the body, which hyper exposes directly; axum would add
//! routing and tower layers on top of the same hyper without removing any of that code. HTTP/1.1
//! only: log shippers batch into few large requests, for which HTTP/2 brings nothing worth the
//! `h2` dependency.
//!
//! # Delivery guarantee
//!
//! At least once. A 2xx answer is sent only after the whole request is on disk in the spool. Any
//! other answer means the request was not accepted and should be retried (429, 503 and 500 say so;
//! a 4xx other than 408 and 429 will fail again). If the connection breaks after the spool write
//! but before the answer arrives, the retry stores the messages twice: without an
//! `Idempotency-Key` as events with different ids, with one (the same key as the first attempt) as
//! events with the same ids, which a store keyed on the event id keeps once: exactly once.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::tls::{TlsConfig, TlsServer};
use super::{Origin, SourceError};
use crate::health::SourceStats;
use crate::ingest::{IngestError, IngestHandle};

/// The kind under which the source registers on the health board.
pub const KIND: &str = "http";
/// The longest `Idempotency-Key` accepted, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// The request header that names a batch for retries.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An HTTPS ingest source (`type = "http"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The source's name, unique in the configuration. Required.
    pub name: String,
    /// The address to listen on, such as `0.0.0.0:8443`. Required.
    pub listen: SocketAddr,
    /// The tenant the messages belong to. Default: `default`.
    #[serde(default = "super::default_tenant")]
    pub tenant: String,
    /// The SHA-256 of the bearer token senders present, as 64 hex digits (for example the output
    /// of `printf %s "$TOKEN" | sha256sum`). Required.
    pub token_sha256: String,
    /// The path messages are posted to. Default: `/ingest`.
    #[serde(default = "default_path")]
    pub path: String,
    /// TLS settings. Required unless `plain_http = true`.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Serve unencrypted HTTP instead of HTTPS: the bearer token and the logs then cross the
    /// network in clear. Only for a listener on loopback or behind a TLS-terminating proxy.
    /// Default: false.
    #[serde(default)]
    pub plain_http: bool,
    /// The most connections open at once; more are closed at once. Default: 256.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// The largest request body as sent (compressed or not); larger ones get 413. Default: 16 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// The largest body after gzip decompression; larger ones get 413. This is also the most a
    /// connection holds before submitting, since a request is submitted whole. Default: 64 MiB.
    #[serde(default = "default_max_decompressed_bytes")]
    pub max_decompressed_bytes: usize,
    /// The longest single message; a longer line or element gets 413. Default: 1 MiB.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Seconds a client has to send the request headers. Default: 30.
    #[serde(default = "default_header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Seconds a client has to send the request body; after that it gets 408. Default: 60.
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
    /// Milliseconds a request waits for room in the spool writer's queue before it gets 429.
    /// Default: 5000.
    #[serde(default = "default_writer_wait_ms")]
    pub writer_wait_ms: u64,
}

fn default_path() -> String {
    "/ingest".to_owned()
}

fn default_max_connections() -> usize {
    256
}

fn default_max_body_bytes() -> usize {
    16 << 20
}

fn default_max_decompressed_bytes() -> usize {
    64 << 20
}

fn default_max_message_bytes() -> usize {
    1 << 20
}

fn default_header_timeout_secs() -> u64 {
    30
}

fn default_body_timeout_secs() -> u64 {
    60
}

fn default_writer_wait_ms() -> u64 {
    5000
}

impl HttpConfig {
    /// An HTTPS configuration with every optional field at its default.
    pub fn new(
        name: impl Into<String>,
        listen: SocketAddr,
        token_sha256: impl Into<String>,
        tls: TlsConfig,
    ) -> Self {
        HttpConfig {
            name: name.into(),
            listen,
            tenant: super::default_tenant(),
            token_sha256: token_sha256.into(),
            path: default_path(),
            tls: Some(tls),
            plain_http: false,
            max_connections: default_max_connections(),
            max_body_bytes: default_max_body_bytes(),
            max_decompressed_bytes: default_max_decompressed_bytes(),
            max_message_bytes: default_max_message_bytes(),
            header_timeout_secs: default_header_timeout_secs(),
            body_timeout_secs: default_body_timeout_secs(),
            writer_wait_ms: default_writer_wait_ms(),
        }
    }

    fn check(&self) -> Result<[u8; 32], SourceError> {
        let error = |message: &str| SourceError::Config {
            name: self.name.clone(),
            message: message.to_owned(),
        };
        super::check_name_and_tenant(&self.name, &self.tenant)?;
        super::check_positive(&self.name, "max_connections", self.max_connections)?;
        super::check_positive(&self.name, "max_body_bytes", self.max_body_bytes)?;
        super::check_positive(
            &self.name,
            "max_decompressed_bytes",
            self.max_decompressed_bytes,
        )?;
        super::check_positive(&self.name, "max_message_bytes", self.max_message_bytes)?;
        if self.header_timeout_secs == 0 || self.body_timeout_secs == 0 {
            return Err(error(
                "header_timeout_secs and body_timeout_secs must be at least 1",
            ));
        }
        if !self.path.starts_with('/') {
            return Err(error("path must start with '/'"));
        }
        match (&self.tls, self.plain_http) {
            (None, false) => {
                return Err(error(
                    "an HTTP source needs a [tls] table; to accept unencrypted HTTP (the bearer \
                     token then crosses the network in clear) set plain_http = true",
                ));
            }
            (Some(_), true) => {
                return Err(error(
                    "plain_http = true and a [tls] table contradict each other; keep one",
                ));
            }
            _ => {}
        }
        parse_sha256_hex(&self.token_sha256)
            .ok_or_else(|| error("token_sha256 must be 64 hexadecimal digits (a SHA-256)"))
    }
}

fn parse_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16);
        let high = digit(*pair.first()?)?;
        let low = digit(*pair.get(1)?)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(out)
}

/// A bound HTTP source, ready to serve.
#[derive(Debug)]
pub struct HttpSource {
    config: HttpConfig,
    token_sha256: [u8; 32],
    listener: super::Listener,
}

impl HttpSource {
    /// Checks the configuration (TLS unless `plain_http`), loads the certificates and binds.
    pub async fn bind(config: HttpConfig) -> Result<Self, SourceError> {
        let token_sha256 = config.check()?;
        let listener = super::Listener::bind(
            &config.name,
            config.listen,
            config.tls.as_ref(),
            &[b"http/1.1"],
        )
        .await?;
        Ok(HttpSource {
            config,
            token_sha256,
            listener,
        })
    }

    /// The address the listener is bound to (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr
    }

    /// Serves requests until `shutdown` is cancelled; then closes the listener, lets requests
    /// under way finish (see [`super::serve_connections`]) and closes idle connections.
    pub async fn serve(
        self,
        ingest: IngestHandle,
        stats: Arc<SourceStats>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::info!(
            source = %self.config.name,
            addr = %self.listener.local_addr,
            tls = self.listener.tls.is_some(),
            "listening for HTTP ingest"
        );
        let name = self.config.name.clone();
        let max_connections = self.config.max_connections;
        let shared = Arc::new(Shared {
            config: self.config,
            token_sha256: self.token_sha256,
            tls: self.listener.tls,
            ingest,
            stats: Arc::clone(&stats),
            shutdown: shutdown.clone(),
        });
        super::serve_connections(
            &name,
            self.listener.socket,
            max_connections,
            stats,
            shutdown,
            |stream, peer| connection(Arc::clone(&shared), stream, peer),
        )
        .await;
        tracing::info!(source = %name, "HTTP source stopped");
        Ok(())
    }
}

/// Binds and serves until `shutdown` is cancelled: [`HttpSource::bind`] then
/// [`HttpSource::serve`].
pub async fn run(
    config: HttpConfig,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    HttpSource::bind(config)
        .await?
        .serve(ingest, stats, shutdown)
        .await
}

struct Shared {
    config: HttpConfig,
    token_sha256: [u8; 32],
    tls: Option<TlsServer>,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let Some(tls) = &shared.tls else {
        serve_http(&shared, stream, peer, String::new()).await;
        return;
    };
    let handshake = tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return,
        handshake = tls.accept(stream) => handshake,
    };
    match handshake {
        Ok((stream, identity)) => serve_http(&shared, stream, peer, identity).await,
        Err(rejection) => {
            shared
                .stats
                .rejected_connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(source = %shared.config.name, %peer, "connection refused: {rejection}");
        }
    }
}

async fn serve_http<S>(shared: &Arc<Shared>, stream: S, peer: SocketAddr, identity: String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let origin = Arc::new(Origin {
        source: shared.config.name.clone(),
        peer: peer.to_string(),
        client_identity: identity,
    });
    let service = {
        let shared = Arc::clone(shared);
        service_fn(move |request| {
            let shared = Arc::clone(&shared);
            let origin = Arc::clone(&origin);
            async move { Ok::<_, Infallible>(handle(&shared, &origin, request).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(shared.config.header_timeout_secs))
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = shared.shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(source = %shared.config.name, %peer, "HTTP connection ended: {e}");
    }
}

/// An answer with a small JSON body.
fn answer(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    answer(status, &serde_json::json!({ "error": message }))
}

fn retry_later(status: StatusCode, message: &str, after: Duration) -> Response<Full<Bytes>> {
    let mut response = error(status, message);
    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    response
}

async fn handle(
    shared: &Shared,
    origin: &Origin,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let config = &shared.config;
    if request.uri().path() != config.path {
        return error(StatusCode::NOT_FOUND, "no such path");
    }
    if request.method() != Method::POST {
        let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    if !authorised(request.headers(), &shared.token_sha256) {
        let mut response = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"shieldwall\""),
        );
        return response;
    }
    let format = match body_format(request.headers()) {
        Ok(format) => format,
        Err(message) => return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &message),
    };
    let gzip = match content_encoding(request.headers()) {
        Ok(gzip) => gzip,
        Err(message) => return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &message),
    };
    let idempotency_key = match idempotency_key(request.headers()) {
        Ok(key) => key,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > config.max_body_bytes as u64) {
        return error(StatusCode::PAYLOAD_TOO_LARGE, &body_too_large(config));
    }
    let body = Limited::new(request.into_body(), config.max_body_bytes).collect();
    let body = match tokio::time::timeout(Duration::from_secs(config.body_timeout_secs), body).await
    {
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "the request body did not arrive in time",
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, &body_too_large(config));
        }
        Ok(Err(e)) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the request body could not be read: {e}"),
            );
        }
        Ok(Ok(body)) => body.to_bytes(),
    };
    let limits = Limits {
        max_decompressed_bytes: config.max_decompressed_bytes,
        max_message_bytes: config.max_message_bytes,
    };
    // Decompressing and checking up to tens of megabytes is CPU work: off the async threads.
    let messages =
        match tokio::task::spawn_blocking(move || split_body(&body, gzip, format, limits)).await {
            Ok(Ok(messages)) => messages,
            Ok(Err(rejection)) => return rejection.into_response(),
            Err(e) => {
                tracing::error!(source = %config.name, "request decoding failed: {e}");
                return error(StatusCode::INTERNAL_SERVER_ERROR, "decoding failed");
            }
        };
    if messages.is_empty() {
        return answer(StatusCode::OK, &serde_json::json!({ "accepted": 0 }));
    }
    let now = Timestamp::now();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let envelopes: Vec<_> = messages
        .into_iter()
        .enumerate()
        .map(|(index, payload)| {
            let mut envelope = origin.envelope(now, payload);
            if let Some(key) = &idempotency_key {
                envelope.key = format!("http:{key}:{index}");
            }
            envelope
        })
        .collect();
    let wait = Duration::from_millis(config.writer_wait_ms);
    match shared.ingest.submit_within(&envelopes, wait).await {
        Ok(_) => {
            shared
                .stats
                .record_accepted(envelopes.len() as u64, bytes as u64, Timestamp::now());
            answer(
                StatusCode::OK,
                &serde_json::json!({ "accepted": envelopes.len() }),
            )
        }
        Err(IngestError::Full { retry_after }) => {
            shared.stats.record_refused();
            retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "the spool is full; retry later",
                retry_after,
            )
        }
        Err(IngestError::Busy) => {
            shared.stats.record_refused();
            retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "the spool writer is busy; retry later",
                Duration::from_secs(1),
            )
        }
        Err(IngestError::TooLarge(reason)) => error(StatusCode::PAYLOAD_TOO_LARGE, &reason),
        Err(IngestError::Failed(reason)) => {
            tracing::error!(source = %config.name, "spool write failed: {reason}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the spool failed")
        }
    }
}

fn body_too_large(config: &HttpConfig) -> String {
    format!(
        "the request body is larger than this source's limit of {} bytes",
        config.max_body_bytes
    )
}

/// Whether the request carries `Authorization: Bearer <token>` with the configured token.
fn authorised(headers: &HeaderMap, expected_sha256: &[u8; 32]) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, token.trim().as_bytes());
    bool::from(digest.as_ref().ct_eq(expected_sha256.as_slice()))
}

/// The request's `Idempotency-Key`: `None` without the header; the 400 message when it is there
/// but not one value of 1 to [`MAX_IDEMPOTENCY_KEY`] printable ASCII bytes without spaces.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, String> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one Idempotency-Key header, not several".to_owned());
    }
    let bytes = value.as_bytes();
    let printable = bytes.iter().all(|b| (b'!'..=b'~').contains(b));
    if bytes.is_empty() || bytes.len() > MAX_IDEMPOTENCY_KEY || !printable {
        return Err(format!(
            "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII \
             characters without spaces (such as a UUID); this one is {} bytes{}",
            bytes.len(),
            if printable {
                ""
            } else {
                " with a space, control or non-ASCII byte"
            }
        ));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

/// How the body holds its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// One JSON value per line.
    Ndjson,
    /// A JSON array of messages (or one object).
    JsonArray,
    /// One message per line, not interpreted.
    Lines,
}

fn body_format(headers: &HeaderMap) -> Result<Format, String> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Ok(Format::Ndjson),
        "application/json" => Ok(Format::JsonArray),
        "text/plain" => Ok(Format::Lines),
        _ => Err(format!(
            "unsupported Content-Type {value:?}: use application/x-ndjson, application/json or \
             text/plain"
        )),
    }
}

/// Whether the body is gzip-compressed.
fn content_encoding(headers: &HeaderMap) -> Result<bool, String> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let value = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match value.as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        _ => Err(format!(
            "unsupported Content-Encoding {value:?}: use gzip or none"
        )),
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    max_decompressed_bytes: usize,
    max_message_bytes: usize,
}

/// A request refused while its body was decoded.
#[derive(Debug)]
enum Rejection {
    /// 413 with a message.
    TooLarge(String),
    /// 400 with a message.
    Bad(String),
    /// 400 for invalid JSON, with its position in the (decompressed) body.
    Json {
        line: usize,
        column: usize,
        detail: String,
    },
}

impl Rejection {
    fn into_response(self) -> Response<Full<Bytes>> {
        match self {
            Rejection::TooLarge(message) => error(StatusCode::PAYLOAD_TOO_LARGE, &message),
            Rejection::Bad(message) => error(StatusCode::BAD_REQUEST, &message),
            Rejection::Json {
                line,
                column,
                detail,
            } => answer(
                StatusCode::BAD_REQUEST,
                &serde_json::json!({
                    "error": format!("invalid JSON at line {line}, column {column}: {detail}"),
                    "line": line,
                    "column": column,
                }),
            ),
        }
    }
}

/// Decompresses (if asked) and splits a body into messages.
fn split_body(
    body: &[u8],
    gzip: bool,
    format: Format,
    limits: Limits,
) -> Result<Vec<Vec<u8>>, Rejection> {
    let inflated;
    let body = if gzip {
        inflated = gunzip(body, limits.max_decompressed_bytes)?;
        inflated.as_slice()
    } else {
        if body.len() > limits.max_decompressed_bytes {
            return Err(Rejection::TooLarge(format!(
                "the body is larger than this source's limit of {} bytes",
                limits.max_decompressed_bytes
            )));
        }
        body
    };
    match format {
        Format::Ndjson => split_lines(body, limits.max_message_bytes, true),
        Format::Lines => split_lines(body, limits.max_message_bytes, false),
        Format::JsonArray => split_json_array(body, limits.max_message_bytes),
    }
}

fn gunzip(body: &[u8], max: usize) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::MultiGzDecoder::new(body)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Rejection::Bad(format!("the gzip body cannot be decompressed: {e}")))?;
    if out.len() > max {
        return Err(Rejection::TooLarge(format!(
            "the body decompresses to more than this source's limit of {max} bytes"
        )));
    }
    Ok(out)
}

/// Splits at LF, dropping a CR before it and blank lines. With `json`, every line must be one
/// JSON value.
fn split_lines(body: &[u8], max_message: usize, json: bool) -> Result<Vec<Vec<u8>>, Rejection> {
    let mut messages = Vec::new();
    for (index, line) in body.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let number = index + 1;
        if line.len() > max_message {
            return Err(Rejection::TooLarge(format!(
                "line {number} is {} bytes, more than this source's message limit of \
                 {max_message} bytes",
                line.len()
            )));
        }
        if json && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            return Err(json_rejection(&e, number));
        }
        messages.push(line.to_vec());
    }
    Ok(messages)
}

/// The elements of a JSON array, each re-serialised compactly; a single object is one message.
fn split_json_array(body: &[u8], max_message: usize) -> Result<Vec<Vec<u8>>, Rejection> {
    let document: &RawValue = serde_json::from_slice(body).map_err(|e| json_rejection(&e, 0))?;
    let text = document.get();
    let elements: Vec<&RawValue> = match text.as_bytes().first() {
        Some(b'[') => serde_json::from_str(text).map_err(|e| json_rejection(&e, 0))?,
        Some(b'{') => vec![document],
        _ => {
            return Err(Rejection::Bad(
                "expected a JSON array of messages, or one JSON object".to_owned(),
            ));
        }
    };
    let mut messages = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        let compact = compact_json(element.get());
        if compact.len() > max_message {
            return Err(Rejection::TooLarge(format!(
                "element {index} is {} bytes, more than this source's message limit of \
                 {max_message} bytes",
                compact.len()
            )));
        }
        messages.push(compact);
    }
    Ok(messages)
}

/// Turns a serde_json error into a 400 with its position; `line` replaces serde_json's line
/// number when the text was one line of the body (NDJSON), and is 0 otherwise.
fn json_rejection(e: &serde_json::Error, line: usize) -> Rejection {
    let text = e.to_string();
    let detail = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(detail, _)| detail)
        .to_owned();
    Rejection::Json {
        line: if line == 0 { e.line() } else { line },
        column: e.column(),
        detail,
    }
}

/// Removes the whitespace outside strings from valid JSON text; everything else is kept as is.
fn compact_json(json: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for &b in json.as_bytes() {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_decompressed_bytes: 1 << 20,
        max_message_bytes: 64,
    };

    #[test]
    fn json_is_compacted_keeping_strings_order_and_numbers() {
        let text = "{ \"b\" : 1.50 ,\n \"a\": \"x  \\\" y\\\\\" , \"c\": [ 1, 2 ] }";
        assert_eq!(
            compact_json(text),
            b"{\"b\":1.50,\"a\":\"x  \\\" y\\\\\",\"c\":[1,2]}"
        );
    }

    #[test]
    fn arrays_objects_and_scalars() {
        let messages = split_body(
            b"[ {\"a\": 1}, {\"b\": [2, 3]} ]",
            false,
            Format::JsonArray,
            LIMITS,
        )
        .unwrap();
        assert_eq!(messages, [b"{\"a\":1}".to_vec(), b"{\"b\":[2,3]}".to_vec()]);
        let one = split_body(b" {\"a\": 1}\n", false, Format::JsonArray, LIMITS).unwrap();
        assert_eq!(one, [b"{\"a\":1}".to_vec()]);
        assert!(matches!(
            split_body(b"42", false, Format::JsonArray, LIMITS),
            Err(Rejection::Bad(_))
        ));
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = split_body(
            b"[\n  {\"a\": 1},\n  {\"b\" 2}\n]",
            false,
            Format::JsonArray,
            LIMITS,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Json {
                    line: 3,
                    column: 8,
                    ..
                }
            ),
            "{err:?}"
        );
        let err =
            split_body(b"{\"a\":1}\n\n{\"b\":}\n", false, Format::Ndjson, LIMITS).unwrap_err();
        assert!(
            matches!(
                err,
                Rejection::Json {
                    line: 3,
                    column: 6,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn lines_skip_blanks_and_strip_cr() {
        let messages = split_body(b"a\r\n\n  \nb", false, Format::Lines, LIMITS).unwrap();
        assert_eq!(messages, [b"a".to_vec(), b"b".to_vec()]);
        let long = vec![b'x'; 65];
        assert!(matches!(
            split_body(&long, false, Format::Lines, LIMITS),
            Err(Rejection::TooLarge(_))
        ));
    }

    #[test]
    fn gzip_is_bounded() {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&vec![b'\n'; 10_000]).unwrap();
        let gz = encoder.finish().unwrap();
        let small = Limits {
            max_decompressed_bytes: 9_999,
            max_message_bytes: 64,
        };
        assert!(matches!(
            split_body(&gz, true, Format::Lines, small),
            Err(Rejection::TooLarge(_))
        ));
        assert_eq!(
            split_body(&gz, true, Format::Lines, LIMITS).unwrap().len(),
            0
        );
        assert!(matches!(
            split_body(b"not gzip", true, Format::Lines, LIMITS),
            Err(Rejection::Bad(_))
        ));
    }

    #[test]
    fn idempotency_keys_are_checked() {
        let with = |values: &[&[u8]]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(IDEMPOTENCY_KEY, HeaderValue::from_bytes(value).unwrap());
            }
            idempotency_key(&headers)
        };
        assert_eq!(with(&[]), Ok(None));
        assert_eq!(with(&[b"a"]), Ok(Some("a".to_owned())));
        let longest = "!~".repeat(MAX_IDEMPOTENCY_KEY / 2);
        assert_eq!(with(&[longest.as_bytes()]), Ok(Some(longest.clone())));
        let too_long = format!("{longest}x");
        for bad in [
            b"".as_slice(),
            too_long.as_bytes(),
            b"a b",
            b"a\tb",
            "cl\u{e9}".as_bytes(),
        ] {
            let message = with(&[bad]).unwrap_err();
            assert!(message.contains("Idempotency-Key"), "{message}");
        }
        assert!(
            with(&[b"a", b"b"])
                .unwrap_err()
                .contains("one Idempotency-Key")
        );
    }

    #[test]
    fn token_hashes_are_parsed_and_compared() {
        let hash = ring::digest::digest(&ring::digest::SHA256, b"s3cret");
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let parsed = parse_sha256_hex(&hex.to_uppercase()).unwrap();
        let mut headers = HeaderMap::new();
        assert!(!authorised(&headers, &parsed));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorised(&headers, &parsed));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer s3cret"),
        );
        assert!(authorised(&headers, &parsed));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cre"),
        );
        assert!(!authorised(&headers, &parsed));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic s3cret"),
        );
        assert!(!authorised(&headers, &parsed));
        assert!(parse_sha256_hex("abc").is_none());
        assert!(parse_sha256_hex(&"g".repeat(64)).is_none());
    }
}
