//! The TCP syslog source, plain (RFC 6587) or over TLS (RFC 5425).
//!
//! Each connection's byte stream is split into messages by [`shieldwall_parse::Framer`], which
//! recognises octet counting (`LEN SP MSG`, the RFC 5425 framing) and non-transparent framing (LF,
//! CRLF or NUL terminated) frame by frame, so both work on plain TCP and on TLS. With `[tls]`
//! configured the listener speaks only TLS; see [`super::tls`] for certificates, client
//! verification and the client identity put in each envelope.
//!
//! # Batching and back-pressure
//!
//! A connection gathers messages into a batch and submits it when it holds `batch_messages`
//! messages or `batch_bytes` bytes, or as soon as the socket has nothing more to read right now.
//! While a batch is being submitted the connection is not read. When the spool is full the batch
//! is resubmitted after the `retry_after` the spool writer names, again without reading, for as
//! long as it takes: the kernel's receive buffer fills, TCP flow control closes the window, and
//! the sender's writes block. Nothing is dropped for lack of room.
//!
//! Memory per connection is bounded: a 16 KiB read buffer, the framer's one incomplete frame (at
//! most `max_message_bytes` + 1 bytes), and the batch (at most `batch_bytes` plus what one 4 KiB
//! slice of input completes, since the batch is checked after each slice). Connections beyond
//! `max_connections` are closed at once and counted in `rejected_connections`; so are failed TLS
//! handshakes and clients not in `tls.allowed_clients`.
//!
//! Frames longer than `max_message_bytes` are dropped, counted in `dropped` and logged; the
//! framer stays in sync and the next frame is read normally. So is an octet-counted frame cut
//! short by the end of the connection. An unterminated non-transparent frame at the end of the
//! connection is kept as a message.
//!
//! # Delivery guarantee
//!
//! Plain TCP syslog and RFC 5425 have no application-level acknowledgement: the sender learns
//! nothing when a message is on disk. Messages in flight (in the sender's and the collector's
//! socket buffers, or in a batch not yet written) when the collector process dies or the
//! connection breaks are lost, and the sender cannot know which. Messages the source has read are
//! written to the spool before it reads more; at a clean shutdown it stops reading, writes the
//! batch it holds, and closes, so what is lost is what the sender had sent but the source had not
//! yet read, plus a batch the spool had no room for at that moment (counted as dropped). Use RELP
//! or HTTPS where every message must be acknowledged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use shieldwall_parse::{FrameError, FrameResult, Framer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::tls::{TlsConfig, TlsServer};
use super::{Batch, BatchLimits, DeliveryError, Origin, SourceError};
use crate::health::SourceStats;
use crate::ingest::IngestHandle;

/// The kind of a plain TCP syslog source on the health board.
pub const KIND_TCP: &str = "syslog-tcp";
/// The kind of a TLS syslog source on the health board.
pub const KIND_TLS: &str = "syslog-tls";

/// Bytes read from the socket at once.
const READ_BUFFER: usize = 16 * 1024;
/// Bytes given to the framer at once; the batch is checked for fullness after each slice.
const FEED_SLICE: usize = 4 * 1024;
/// How long closing a connection may take (the TLS close_notify).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A TCP or TLS syslog source (`type = "syslog-tcp"`, with a `[tls]` table for TLS).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// The source's name, unique in the configuration. Required.
    pub name: String,
    /// The address to listen on, such as `0.0.0.0:601` (or `0.0.0.0:6514` for TLS). Required.
    pub listen: SocketAddr,
    /// The tenant the messages belong to. Default: `default`.
    #[serde(default = "super::default_tenant")]
    pub tenant: String,
    /// The most connections open at once; more are closed at once. Default: 1000.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// The longest message kept; longer frames are dropped and counted. Default: 65536.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// The most messages a connection gathers before submitting them. Default: 1000.
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// The most message bytes a connection holds before submitting them. Default: 1 MiB.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
    /// TLS settings; when present the listener speaks only TLS. Default: none (plain TCP).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

fn default_max_connections() -> usize {
    1000
}

fn default_max_message_bytes() -> usize {
    64 * 1024
}

fn default_batch_messages() -> usize {
    1000
}

fn default_batch_bytes() -> usize {
    1 << 20
}

impl TcpConfig {
    /// A plain TCP configuration with every optional field at its default.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        TcpConfig {
            name: name.into(),
            listen,
            tenant: super::default_tenant(),
            max_connections: default_max_connections(),
            max_message_bytes: default_max_message_bytes(),
            batch_messages: default_batch_messages(),
            batch_bytes: default_batch_bytes(),
            tls: None,
        }
    }

    /// [`KIND_TLS`] when TLS is configured, else [`KIND_TCP`].
    pub fn kind(&self) -> &'static str {
        if self.tls.is_some() {
            KIND_TLS
        } else {
            KIND_TCP
        }
    }

    fn check(&self) -> Result<(), SourceError> {
        super::check_name_and_tenant(&self.name, &self.tenant)?;
        super::check_positive(&self.name, "max_connections", self.max_connections)?;
        super::check_positive(&self.name, "max_message_bytes", self.max_message_bytes)?;
        super::check_positive(&self.name, "batch_messages", self.batch_messages)?;
        super::check_positive(&self.name, "batch_bytes", self.batch_bytes)
    }
}

/// A bound TCP or TLS source, ready to serve.
#[derive(Debug)]
pub struct TcpSource {
    config: TcpConfig,
    listener: super::Listener,
}

impl TcpSource {
    /// Checks the configuration, loads the TLS certificates if any, and binds the listener.
    pub async fn bind(config: TcpConfig) -> Result<Self, SourceError> {
        config.check()?;
        let listener =
            super::Listener::bind(&config.name, config.listen, config.tls.as_ref(), &[]).await?;
        Ok(TcpSource { config, listener })
    }

    /// The address the listener is bound to (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr
    }

    /// Accepts and reads connections until `shutdown` is cancelled, then closes the listener and
    /// lets each connection submit what it has read (see [`super::serve_connections`]).
    pub async fn serve(
        self,
        ingest: IngestHandle,
        stats: Arc<SourceStats>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::info!(
            source = %self.config.name,
            addr = %self.listener.local_addr,
            kind = self.config.kind(),
            "listening for TCP syslog"
        );
        let shared = Arc::new(Shared {
            name: self.config.name.clone(),
            limits: BatchLimits {
                max_messages: self.config.batch_messages,
                max_bytes: self.config.batch_bytes,
            },
            max_message_bytes: self.config.max_message_bytes,
            tls: self.listener.tls,
            ingest,
            stats: Arc::clone(&stats),
            shutdown: shutdown.clone(),
        });
        super::serve_connections(
            &self.config.name,
            self.listener.socket,
            self.config.max_connections,
            stats,
            shutdown,
            |stream, peer| connection(Arc::clone(&shared), stream, peer),
        )
        .await;
        tracing::info!(source = %self.config.name, "TCP source stopped");
        Ok(())
    }
}

/// Binds and serves until `shutdown` is cancelled: [`TcpSource::bind`] then
/// [`TcpSource::serve`].
pub async fn run(
    config: TcpConfig,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    TcpSource::bind(config)
        .await?
        .serve(ingest, stats, shutdown)
        .await
}

/// What every connection of one source shares.
struct Shared {
    name: String,
    limits: BatchLimits,
    max_message_bytes: usize,
    tls: Option<TlsServer>,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let Some(tls) = &shared.tls else {
        read_messages(&shared, stream, peer, String::new()).await;
        return;
    };
    let handshake = tokio::select! {
        biased;
        () = shared.shutdown.cancelled() => return,
        handshake = tls.accept(stream) => handshake,
    };
    match handshake {
        Ok((stream, identity)) => read_messages(&shared, stream, peer, identity).await,
        Err(rejection) => {
            shared
                .stats
                .rejected_connections
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(source = %shared.name, %peer, "connection refused: {rejection}");
        }
    }
}

/// How the reading of a connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The sender closed the connection.
    Eof,
    /// Shutdown was requested.
    Shutdown,
    /// The connection failed.
    Broken,
}

/// Reads, frames, batches and delivers one connection's messages until it ends.
async fn read_messages<S>(shared: &Shared, mut stream: S, peer: SocketAddr, identity: String)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let origin = Origin {
        source: shared.name.clone(),
        peer: peer.to_string(),
        client_identity: identity,
    };
    tracing::debug!(source = %shared.name, %peer, identity = %origin.client_identity, "connection opened");
    let mut framer = Framer::new(shared.max_message_bytes);
    let mut buf = vec![0u8; READ_BUFFER];
    let mut batch = Batch::new(shared.limits);
    let end = loop {
        if shared.shutdown.is_cancelled() {
            break End::Shutdown;
        }
        let read = if batch.is_empty() {
            tokio::select! {
                biased;
                () = shared.shutdown.cancelled() => break End::Shutdown,
                read = stream.read(&mut buf) => read,
            }
        } else {
            match super::read_now(&mut stream, &mut buf).await {
                Some(read) => read,
                None => {
                    // The sender paused: submit what it sent so far.
                    if !flush(shared, &mut batch).await {
                        return;
                    }
                    continue;
                }
            }
        };
        let n = match read {
            Ok(0) => break End::Eof,
            Ok(n) => n,
            Err(e) => {
                tracing::debug!(source = %shared.name, %peer, "connection failed: {e}");
                break End::Broken;
            }
        };
        for slice in buf.get(..n).unwrap_or_default().chunks(FEED_SLICE) {
            let now = Timestamp::now();
            for frame in framer.feed(slice) {
                take(shared, &origin, &mut batch, frame, now);
            }
            if batch.is_full() && !flush(shared, &mut batch).await {
                return;
            }
        }
    };
    if end == End::Eof
        && let Some(frame) = framer.finish()
    {
        take(shared, &origin, &mut batch, frame, Timestamp::now());
    }
    if !flush(shared, &mut batch).await {
        return;
    }
    if end != End::Broken {
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, stream.shutdown()).await;
    }
    tracing::debug!(source = %shared.name, %peer, ?end, "connection closed");
}

/// Adds a frame to the batch, or counts and reports why it cannot be.
fn take(shared: &Shared, origin: &Origin, batch: &mut Batch, frame: FrameResult, now: Timestamp) {
    match frame {
        Ok(frame) => batch.push(origin.envelope(now, frame.data)),
        Err(FrameError::Oversize {
            framing,
            length,
            max,
            ..
        }) => {
            shared.stats.record_dropped(1);
            tracing::warn!(
                source = %shared.name,
                peer = %origin.peer,
                %framing,
                length,
                max,
                "message longer than max_message_bytes dropped"
            );
        }
        Err(FrameError::Incomplete {
            expected, received, ..
        }) => {
            shared.stats.record_dropped(1);
            tracing::warn!(
                source = %shared.name,
                peer = %origin.peer,
                expected,
                received,
                "connection closed inside an octet-counted message; the partial message is dropped"
            );
        }
    }
}

/// Delivers the batch and empties it; `false` when the connection must end (shutdown while the
/// spool was full, or the spool failed).
async fn flush(shared: &Shared, batch: &mut Batch) -> bool {
    let result = super::deliver(
        &shared.ingest,
        batch.as_slice(),
        &shared.stats,
        &shared.shutdown,
    )
    .await;
    let held = batch.len();
    batch.clear();
    match result {
        Ok(()) => true,
        Err(DeliveryError::Shutdown { abandoned }) => {
            tracing::warn!(
                source = %shared.name,
                abandoned,
                "shutdown while the spool was full: messages read but not written are lost"
            );
            false
        }
        Err(DeliveryError::Failed(error)) => {
            shared.stats.record_dropped(held as u64);
            tracing::error!(
                source = %shared.name,
                lost = held,
                "closing connection: {error}"
            );
            false
        }
    }
}
