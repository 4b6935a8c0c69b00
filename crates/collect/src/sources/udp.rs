//! The UDP syslog source (RFC 5426): one datagram is one message.
//!
//! Trailing line feeds, carriage returns and NUL bytes are stripped from each datagram; an empty
//! datagram is ignored. Datagrams already waiting in the socket are gathered into one batch (up to
//! the batch limits) and queued for the spool writer with
//! [`IngestHandle::try_submit_reporting`], which never waits.
//!
//! # Delivery guarantee
//!
//! None beyond the socket. UDP has no acknowledgement and no flow control: datagrams can be lost
//! in the network or in the kernel's receive buffer (visible in the kernel's UDP statistics, not
//! here), and when the spool writer is busy or the spool is full the batch is dropped. Every drop
//! the source sees is counted in `dropped`: datagrams longer than `max_message_bytes`, batches
//! the writer's queue had no room for, and batches the writer refused (spool full). Use TCP, TLS,
//! RELP or HTTPS where losing messages matters.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::{Batch, BatchLimits, Origin, SourceError};
use crate::health::SourceStats;
use crate::ingest::{IngestError, IngestHandle};

/// The kind under which the source registers on the health board.
pub const KIND: &str = "syslog-udp";

/// How long the source pauses after a failed receive.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// A UDP syslog source (`type = "syslog-udp"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// The source's name, unique in the configuration. Required.
    pub name: String,
    /// The address to listen on, such as `0.0.0.0:514`. Required.
    pub listen: SocketAddr,
    /// The tenant the messages belong to. Default: `default`.
    #[serde(default = "super::default_tenant")]
    pub tenant: String,
    /// The longest datagram kept; longer ones are dropped and counted. Default: 65535 (every
    /// datagram fits).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// The most datagrams queued for the spool at once. Default: 1000.
    #[serde(default = "default_batch_messages")]
    pub batch_messages: usize,
    /// The most payload bytes gathered before queuing for the spool. Default: 1 MiB.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
}

fn default_max_message_bytes() -> usize {
    65_535
}

fn default_batch_messages() -> usize {
    1000
}

fn default_batch_bytes() -> usize {
    1 << 20
}

impl UdpConfig {
    /// A configuration with every optional field at its default.
    pub fn new(name: impl Into<String>, listen: SocketAddr) -> Self {
        UdpConfig {
            name: name.into(),
            listen,
            tenant: super::default_tenant(),
            max_message_bytes: default_max_message_bytes(),
            batch_messages: default_batch_messages(),
            batch_bytes: default_batch_bytes(),
        }
    }

    fn check(&self) -> Result<(), SourceError> {
        super::check_name_and_tenant(&self.name, &self.tenant)?;
        super::check_positive(&self.name, "max_message_bytes", self.max_message_bytes)?;
        super::check_positive(&self.name, "batch_messages", self.batch_messages)?;
        super::check_positive(&self.name, "batch_bytes", self.batch_bytes)
    }
}

/// A bound UDP source, ready to serve.
#[derive(Debug)]
pub struct UdpSource {
    config: UdpConfig,
    socket: UdpSocket,
    local_addr: SocketAddr,
}

impl UdpSource {
    /// Checks the configuration and binds the socket.
    pub async fn bind(config: UdpConfig) -> Result<Self, SourceError> {
        config.check()?;
        let socket = UdpSocket::bind(config.listen)
            .await
            .map_err(|error| SourceError::Bind {
                name: config.name.clone(),
                addr: config.listen,
                error,
            })?;
        let local_addr = super::local_addr(&config.name, socket.local_addr())?;
        Ok(UdpSource {
            config,
            socket,
            local_addr,
        })
    }

    /// The address the socket is bound to (the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Receives datagrams until `shutdown` is cancelled. Returns an error only when the spool
    /// writer has stopped.
    pub async fn serve(
        self,
        ingest: IngestHandle,
        stats: Arc<SourceStats>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let config = &self.config;
        let mut buf = vec![0u8; config.max_message_bytes.saturating_add(1)];
        let mut batch = Batch::new(BatchLimits {
            max_messages: config.batch_messages,
            max_bytes: config.batch_bytes,
        });
        tracing::info!(source = %config.name, addr = %self.local_addr, "listening for UDP syslog");
        loop {
            let first = tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                received = self.socket.recv_from(&mut buf) => received,
            };
            if let Err(e) = &first {
                // Pause, so that an error that persists cannot spin.
                tracing::debug!(source = %config.name, "UDP receive failed: {e}");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(ERROR_PAUSE) => continue,
                }
            }
            self.take(first, &buf, &mut batch, &stats);
            while !batch.is_full() {
                match self.socket.try_recv_from(&mut buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    received => self.take(received, &buf, &mut batch, &stats),
                }
            }
            if batch.is_empty() {
                continue;
            }
            match ingest.try_submit_reporting(batch.as_slice(), &stats) {
                Ok(()) => {}
                Err(IngestError::Failed(reason)) => {
                    stats.record_dropped(batch.len() as u64);
                    return Err(SourceError::Ingest {
                        name: config.name.clone(),
                        error: IngestError::Failed(reason),
                    });
                }
                Err(refusal) => {
                    stats.record_dropped(batch.len() as u64);
                    tracing::debug!(
                        source = %config.name,
                        messages = batch.len(),
                        "UDP datagrams dropped: {refusal}"
                    );
                }
            }
            batch.clear();
        }
        tracing::info!(source = %config.name, "UDP source stopped");
        Ok(())
    }

    /// Adds one received datagram (or notes why there is none) to the batch.
    fn take(
        &self,
        received: io::Result<(usize, SocketAddr)>,
        buf: &[u8],
        batch: &mut Batch,
        stats: &SourceStats,
    ) {
        let (len, peer) = match received {
            Ok(received) => received,
            Err(e) => {
                // On Linux an unconnected UDP socket reports almost nothing here; whatever it is
                // concerns one datagram, so go on.
                tracing::debug!(source = %self.config.name, "UDP receive failed: {e}");
                return;
            }
        };
        if len > self.config.max_message_bytes {
            stats.record_dropped(1);
            tracing::warn!(
                source = %self.config.name,
                %peer,
                max = self.config.max_message_bytes,
                "UDP datagram longer than max_message_bytes dropped"
            );
            return;
        }
        let payload = strip_trailer(buf.get(..len).unwrap_or_default());
        if payload.is_empty() {
            return;
        }
        let origin = Origin {
            source: self.config.name.clone(),
            peer: peer.to_string(),
            client_identity: String::new(),
        };
        batch.push(origin.envelope(Timestamp::now(), payload.to_vec()));
    }
}

/// Binds and serves until `shutdown` is cancelled: [`UdpSource::bind`] then
/// [`UdpSource::serve`].
pub async fn run(
    config: UdpConfig,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    UdpSource::bind(config)
        .await?
        .serve(ingest, stats, shutdown)
        .await
}

/// The datagram without its trailing line feeds, carriage returns and NULs.
fn strip_trailer(datagram: &[u8]) -> &[u8] {
    let end = datagram
        .iter()
        .rposition(|b| !matches!(b, b'\n' | b'\r' | 0))
        .map_or(0, |last| last + 1);
    datagram.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_stripped() {
        assert_eq!(strip_trailer(b"<13>hi\n"), b"<13>hi");
        assert_eq!(strip_trailer(b"<13>hi\r\n\0"), b"<13>hi");
        assert_eq!(strip_trailer(b"<13>a\nb"), b"<13>a\nb");
        assert_eq!(strip_trailer(b"\n\0"), b"");
        assert_eq!(strip_trailer(b""), b"");
    }
}
