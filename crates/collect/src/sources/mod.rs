//! The sources that accept logs over the network, and what every source shares: the error type,
//! per-connection batching, delivery to the spool with back-pressure, the connection limit and
//! accept loop, and the non-blocking "is there more to read now" probe.
//!
//! Each source has a configuration struct (deserialised from its `[[sources]]` entry in
//! `shieldwall.toml`, unknown fields refused), a `bind` step that opens its socket (so a caller
//! configured with port 0 can learn the port) and a `serve` step that runs until the shutdown token
//! is cancelled; `run` does both. Every source turns what it receives into [`Envelope`]s and hands
//! them to the shared [`IngestHandle`], and keeps its [`SourceStats`] up to date.
//!
//! | module | kind | delivery guarantee |
//! | --- | --- | --- |
//! | [`udp`] | `syslog-udp` | none beyond the socket: datagrams may be lost in the network, in the kernel, or dropped (and counted) when the spool refuses |
//! | [`tcp`] | `syslog-tcp`, `syslog-tls` | no application-level acknowledgement: what is in flight in socket buffers when the process dies is lost; otherwise back-pressure, never a drop |
//! | [`http`] | `http` | at least once: a 2xx answer means the whole request is on disk; a batch retried with the same `Idempotency-Key` yields events with the same ids |
//! | [`relp`] | `relp` | at least once: a frame is acknowledged only after it is on disk; unacknowledged frames are resent by the client; with `message_ids = "rsyslog-uuid"` the copies keep rsyslog's message uuid (envelope `key` = `relp:<uuid>`) and so their event id |
//! | [`file`](mod@file) | `file` | at least once: the checkpoint advances only after the lines before it are on disk; replayed lines keep their identity (envelope `key` = `file:<path>:<inode>:<offset>`) |
//! | [`import`] | (one-shot) | each batch is on disk before the next is read; the summary counts only what is |
//!
//! The file source and import read files rather than sockets; they share the error type and the
//! configuration checks, not the connection helpers.

pub mod file;
pub mod http;
pub mod import;
pub mod relp;
pub mod tcp;
pub mod tls;
pub mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use jiff::Timestamp;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::envelope::Envelope;
use crate::health::SourceStats;
use crate::ingest::{IngestError, IngestHandle};

/// How long a source waits for its open connections to finish after shutdown is requested before
/// it abandons them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why a source could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The configuration is unusable.
    #[error("source {name}: {message}")]
    Config {
        /// The source.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A file the configuration names (certificate, key, CA bundle) is missing or unreadable.
    #[error("source {name}: {}: {message}", path.display())]
    File {
        /// The source.
        name: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The listen address could not be bound.
    #[error("source {name}: cannot listen on {addr}: {error}")]
    Bind {
        /// The source.
        name: String,
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        error: io::Error,
    },
    /// A socket operation failed for the whole source.
    #[error("source {name}: {error}")]
    Io {
        /// The source.
        name: String,
        /// The cause.
        #[source]
        error: io::Error,
    },
    /// The spool writer failed or stopped, so nothing more can be accepted.
    #[error("source {name}: {error}")]
    Ingest {
        /// The source.
        name: String,
        /// The cause.
        #[source]
        error: IngestError,
    },
}

/// The serde default of every source's `tenant`: `default`.
pub fn default_tenant() -> String {
    shieldwall_core::TenantId::DEFAULT.to_owned()
}

/// Checks what every source configuration has: a non-empty name and a valid tenant id.
pub fn check_name_and_tenant(name: &str, tenant: &str) -> Result<(), SourceError> {
    if name.trim().is_empty() {
        return Err(SourceError::Config {
            name: name.to_owned(),
            message: "the source name must not be empty".to_owned(),
        });
    }
    shieldwall_core::TenantId::new(tenant).map_err(|e| SourceError::Config {
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(())
}

/// Checks that a limit is at least 1.
pub fn check_positive(name: &str, field: &str, value: usize) -> Result<(), SourceError> {
    if value == 0 {
        return Err(SourceError::Config {
            name: name.to_owned(),
            message: format!("{field} must be at least 1"),
        });
    }
    Ok(())
}

/// Where messages come from: the fields every envelope of one connection (or datagram) shares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The source's configured name.
    pub source: String,
    /// The sender: a socket address, a file path, `-`.
    pub peer: String,
    /// The authenticated sender (TLS client certificate identity); empty when none.
    pub client_identity: String,
}

impl Origin {
    /// An envelope of `payload` received at `received` from this origin.
    pub fn envelope(&self, received: Timestamp, payload: Vec<u8>) -> Envelope {
        Envelope {
            source: self.source.clone(),
            received,
            peer: self.peer.clone(),
            client_identity: self.client_identity.clone(),
            key: String::new(),
            payload,
        }
    }
}

/// When a [`Batch`] is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// At most this many messages.
    pub max_messages: usize,
    /// At most about this many payload bytes (the message that crosses the limit is kept).
    pub max_bytes: usize,
}

/// Envelopes gathered before one submission to the spool. The owner decides when to submit: when
/// [`Batch::is_full`], or when its input has nothing more right now.
#[derive(Debug)]
pub struct Batch {
    envelopes: Vec<Envelope>,
    bytes: usize,
    limits: BatchLimits,
}

impl Batch {
    /// An empty batch with these limits.
    pub fn new(limits: BatchLimits) -> Self {
        Batch {
            envelopes: Vec::new(),
            bytes: 0,
            limits,
        }
    }

    /// Adds an envelope.
    pub fn push(&mut self, envelope: Envelope) {
        self.bytes = self.bytes.saturating_add(envelope.payload.len());
        self.envelopes.push(envelope);
    }

    /// Whether the batch has reached its message or byte limit.
    pub fn is_full(&self) -> bool {
        self.envelopes.len() >= self.limits.max_messages || self.bytes >= self.limits.max_bytes
    }

    /// Whether the batch holds nothing.
    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// How many messages it holds.
    pub fn len(&self) -> usize {
        self.envelopes.len()
    }

    /// The payload bytes it holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The envelopes, in arrival order.
    pub fn as_slice(&self) -> &[Envelope] {
        &self.envelopes
    }

    /// Empties the batch (after it was delivered or given up).
    pub fn clear(&mut self) {
        self.envelopes.clear();
        self.bytes = 0;
    }
}

/// Why [`deliver`] did not put a batch on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Shutdown was requested while the batch waited for room in the spool; its messages were
    /// given up and counted as dropped.
    Shutdown {
        /// Messages given up.
        abandoned: usize,
    },
    /// The spool failed or its writer stopped.
    Failed(IngestError),
}

/// Puts a batch on disk, applying back-pressure: while the spool is full the batch is resubmitted
/// after the `retry_after` it names, for as long as it takes, and the caller (which reads no
/// input meanwhile) holds its sender back. Each refusal counts once in `refused`. A message
/// larger than the spool's record limit cannot ever be written: it is dropped and counted, and the
/// rest of the batch is written. On success the messages count as accepted.
///
/// Shutdown interrupts only the wait between attempts; a submission under way is allowed to
/// finish, since the writer answers promptly.
pub async fn deliver(
    ingest: &IngestHandle,
    batch: &[Envelope],
    stats: &SourceStats,
    shutdown: &CancellationToken,
) -> Result<(), DeliveryError> {
    if batch.is_empty() {
        return Ok(());
    }
    match deliver_retrying(ingest, batch, stats, shutdown).await {
        Err(DeliveryError::Failed(IngestError::TooLarge(_))) if batch.len() > 1 => {
            for (index, envelope) in batch.iter().enumerate() {
                match deliver_retrying(ingest, std::slice::from_ref(envelope), stats, shutdown)
                    .await
                {
                    Ok(()) => {}
                    Err(DeliveryError::Failed(IngestError::TooLarge(reason))) => {
                        drop_too_large(envelope, &reason, stats);
                    }
                    Err(DeliveryError::Shutdown { .. }) => {
                        // This one is counted; the ones after it are given up too.
                        let rest = batch.len() - index - 1;
                        stats.record_dropped(rest as u64);
                        return Err(DeliveryError::Shutdown {
                            abandoned: rest + 1,
                        });
                    }
                    Err(other) => return Err(other),
                }
            }
            Ok(())
        }
        Err(DeliveryError::Failed(IngestError::TooLarge(reason))) => {
            if let Some(envelope) = batch.first() {
                drop_too_large(envelope, &reason, stats);
            }
            Ok(())
        }
        other => other,
    }
}

fn drop_too_large(envelope: &Envelope, reason: &str, stats: &SourceStats) {
    stats.record_dropped(1);
    tracing::warn!(
        source = %envelope.source,
        peer = %envelope.peer,
        bytes = envelope.payload.len(),
        "message dropped: {reason}"
    );
}

async fn deliver_retrying(
    ingest: &IngestHandle,
    batch: &[Envelope],
    stats: &SourceStats,
    shutdown: &CancellationToken,
) -> Result<(), DeliveryError> {
    loop {
        let wait = match ingest.submit(batch).await {
            Ok(_) => {
                let bytes: usize = batch.iter().map(|e| e.payload.len()).sum();
                stats.record_accepted(batch.len() as u64, bytes as u64, Timestamp::now());
                return Ok(());
            }
            Err(IngestError::Full { retry_after }) => {
                stats.record_refused();
                retry_after
            }
            // `submit` waits for room in the queue, so this is not expected; treat it alike.
            Err(IngestError::Busy) => Duration::from_millis(100),
            Err(other) => return Err(DeliveryError::Failed(other)),
        };
        tokio::select! {
            biased;
            () = shutdown.cancelled() => {
                stats.record_dropped(batch.len() as u64);
                return Err(DeliveryError::Shutdown { abandoned: batch.len() });
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {}
        }
    }
}

/// Reads whatever `reader` has available right now without waiting: `None` when a read would
/// block, else the result of one read into `buf` (`Ok(0)` at end of stream). Sources use it to
/// submit their batch as soon as the sender pauses.
pub async fn read_now<R>(reader: &mut R, buf: &mut [u8]) -> Option<io::Result<usize>>
where
    R: AsyncRead + Unpin + ?Sized,
{
    std::future::poll_fn(|cx| {
        let mut read_buf = ReadBuf::new(&mut *buf);
        match Pin::new(&mut *reader).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(read_buf.filled().len()))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Ready(None),
        }
    })
    .await
}

/// Holds one place under a source's connection limit and counts the connection as open until it
/// is dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    _permit: OwnedSemaphorePermit,
    stats: Arc<SourceStats>,
}

impl ConnectionSlot {
    /// Takes a place if one is free; `None` at the limit (the caller closes the connection and
    /// counts it in `rejected_connections`).
    pub fn try_acquire(limit: &Arc<Semaphore>, stats: &Arc<SourceStats>) -> Option<Self> {
        let permit = Arc::clone(limit).try_acquire_owned().ok()?;
        stats.connections.fetch_add(1, Ordering::Relaxed);
        Some(ConnectionSlot {
            _permit: permit,
            stats: Arc::clone(stats),
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.stats.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts connections on `listener` until `shutdown` is cancelled, at most `max_connections` at
/// a time: a connection beyond the limit is closed at once and counted in
/// `rejected_connections`. Each accepted connection runs `handler` in its own task, which must
/// watch `shutdown` itself. After shutdown the listener is closed first (no new connections),
/// then open connections get [`SHUTDOWN_GRACE`] to finish before they are abandoned.
pub async fn serve_connections<H, F>(
    name: &str,
    listener: TcpListener,
    max_connections: usize,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
    mut handler: H,
) where
    H: FnMut(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(max_connections));
    let mut tasks = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Err(e) = done
                    && e.is_panic()
                {
                    tracing::error!(source = name, "a connection task panicked: {e}");
                }
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => match ConnectionSlot::try_acquire(&limit, &stats) {
                Some(slot) => {
                    let work = handler(stream, peer);
                    tasks.spawn(async move {
                        let _slot = slot;
                        work.await;
                    });
                }
                None => {
                    stats.rejected_connections.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        source = name,
                        %peer,
                        max_connections,
                        "connection refused: the source is at its connection limit"
                    );
                    drop(stream);
                }
            },
            Err(e) if is_per_connection_error(&e) => {
                tracing::debug!(source = name, "accept failed: {e}");
            }
            Err(e) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tracing::warn!(source = name, "accept failed: {e}");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            source = name,
            open = tasks.len(),
            "connections still open after the shutdown grace period are abandoned"
        );
        tasks.shutdown().await;
    }
}

fn is_per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// The local address of a bound listener, as a [`SourceError`] on failure.
/// A bound stream listener and its TLS server, if any: what the TCP, RELP and HTTP sources bind
/// alike.
#[derive(Debug)]
pub(crate) struct Listener {
    pub(crate) socket: TcpListener,
    pub(crate) tls: Option<tls::TlsServer>,
    pub(crate) local_addr: SocketAddr,
}

impl Listener {
    /// Loads the TLS certificates of `tls` (offering `alpn`), then binds `addr`.
    pub(crate) async fn bind(
        name: &str,
        addr: SocketAddr,
        tls: Option<&tls::TlsConfig>,
        alpn: &[&[u8]],
    ) -> Result<Listener, SourceError> {
        let tls = match tls {
            Some(config) => Some(tls::TlsServer::new(name, config, alpn)?),
            None => None,
        };
        let socket = TcpListener::bind(addr)
            .await
            .map_err(|error| SourceError::Bind {
                name: name.to_owned(),
                addr,
                error,
            })?;
        let local_addr = local_addr(name, socket.local_addr())?;
        Ok(Listener {
            socket,
            tls,
            local_addr,
        })
    }
}

pub(crate) fn local_addr(
    name: &str,
    addr: io::Result<SocketAddr>,
) -> Result<SocketAddr, SourceError> {
    addr.map_err(|error| SourceError::Io {
        name: name.to_owned(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(payload: &[u8]) -> Envelope {
        Origin {
            source: "s".into(),
            peer: "p".into(),
            client_identity: String::new(),
        }
        .envelope(Timestamp::UNIX_EPOCH, payload.to_vec())
    }

    #[test]
    fn a_batch_is_full_at_either_limit() {
        let mut batch = Batch::new(BatchLimits {
            max_messages: 3,
            max_bytes: 10,
        });
        batch.push(envelope(b"1234"));
        batch.push(envelope(b"1234"));
        assert!(!batch.is_full());
        batch.push(envelope(b"12"));
        assert!(batch.is_full(), "three messages");
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.bytes(), 0);
        batch.push(envelope(&[b'x'; 10]));
        assert!(batch.is_full(), "ten bytes");
        assert_eq!(batch.len(), 1);
    }

    #[tokio::test]
    async fn read_now_does_not_wait() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let mut buf = [0u8; 16];
        assert!(read_now(&mut server, &mut buf).await.is_none());
        tokio::io::AsyncWriteExt::write_all(&mut client, b"abc")
            .await
            .unwrap();
        assert_eq!(read_now(&mut server, &mut buf).await.unwrap().unwrap(), 3);
        drop(client);
        assert_eq!(read_now(&mut server, &mut buf).await.unwrap().unwrap(), 0);
    }

    #[test]
    fn names_and_tenants_are_checked() {
        assert!(check_name_and_tenant("fw", "default").is_ok());
        assert!(check_name_and_tenant("", "default").is_err());
        assert!(check_name_and_tenant("fw", "Not Valid").is_err());
        assert!(check_positive("fw", "max_connections", 0).is_err());
    }
}
