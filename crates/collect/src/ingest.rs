//! The one writer of the spool: sources hand it batches of envelopes and learn when they are on
//! disk.
//!
//! Every source shares one [`IngestHandle`]. Batches go through a bounded queue to a dedicated
//! thread that owns the appending side of the spool. The thread takes every batch waiting in the
//! queue (up to [`IngestConfig::group_bytes`]) and writes them with one flush, so that a thousand
//! connections sending one line each cost one fsync, not a thousand (group commit). Each batch
//! learns its own sequence numbers or its own refusal.
//!
//! Memory is bounded twice: by the queue depth, and by each source's own limit on what it holds
//! before submitting. When the spool is full, the batch is refused with [`IngestError::Full`] and
//! the source applies its back-pressure; nothing is buffered on its behalf.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};

use crate::envelope::Envelope;
use crate::health::SourceStats;
use crate::spool::{Spool, SpoolError};

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// How many batches may wait for the writer.
    pub queue_depth: usize,
    /// How many bytes one flush may gather from waiting batches.
    pub group_bytes: usize,
    /// What refused senders are told to wait before retrying.
    pub retry_after: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            queue_depth: 256,
            group_bytes: 8 << 20,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// Why a batch was not accepted. Nothing of a refused batch is on disk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The spool is at its quota: slow down and retry after the given time.
    #[error("the spool is full; retry after {} s", retry_after.as_secs())]
    Full {
        /// When to retry.
        retry_after: Duration,
    },
    /// The writer's queue is full (only from [`IngestHandle::try_submit`]).
    #[error("the spool writer is busy")]
    Busy,
    /// One message is larger than the spool accepts.
    #[error("{0}")]
    TooLarge(String),
    /// The spool failed (disk error) or the writer has stopped.
    #[error("the spool failed: {0}")]
    Failed(String),
}

impl IngestError {
    /// Whether the sender should retry the same batch later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::Full { .. } | IngestError::Busy)
    }
}

/// Counters of the writer, for status and metrics.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Messages written.
    pub accepted: AtomicU64,
    /// Bytes of envelopes written.
    pub bytes: AtomicU64,
    /// Flushes (fsyncs) performed.
    pub flushes: AtomicU64,
    /// Messages refused because the spool was full.
    pub refused_full: AtomicU64,
    /// Messages refused because the writer's queue was full.
    pub refused_busy: AtomicU64,
}

struct Request {
    payloads: Vec<Vec<u8>>,
    reply: Option<oneshot::Sender<Result<Range<u64>, IngestError>>>,
    /// For a batch queued without a reply: the source counters that learn its outcome (accepted
    /// or dropped), and the bytes of its messages.
    report: Option<(Arc<SourceStats>, u64)>,
}

impl Request {
    fn new(
        batch: &[Envelope],
        reply: Option<oneshot::Sender<Result<Range<u64>, IngestError>>>,
    ) -> Self {
        Request {
            payloads: batch.iter().map(Envelope::encode).collect(),
            reply,
            report: None,
        }
    }
}

/// A cloneable handle through which sources submit batches.
#[derive(Clone)]
pub struct IngestHandle {
    tx: mpsc::Sender<Request>,
    stats: Arc<IngestStats>,
}

/// The writer thread. Dropping every [`IngestHandle`] and then calling [`Ingest::join`] stops it
/// after it has written everything queued.
pub struct Ingest {
    thread: Option<JoinHandle<()>>,
}

impl Ingest {
    /// Starts the writer over a shared spool.
    pub fn start(
        spool: Arc<Mutex<Spool>>,
        config: IngestConfig,
    ) -> std::io::Result<(Ingest, IngestHandle)> {
        let (tx, rx) = mpsc::channel(config.queue_depth.max(1));
        let stats = Arc::new(IngestStats::default());
        let writer_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || write_loop(spool, rx, config, writer_stats))?;
        Ok((
            Ingest {
                thread: Some(thread),
            },
            IngestHandle { tx, stats },
        ))
    }

    /// Waits for the writer to finish what is queued; it stops once every handle is dropped.
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl IngestHandle {
    /// Submits a batch and waits until it is on disk. The returned range holds the batch's
    /// sequence numbers in the spool.
    pub async fn submit(&self, batch: &[Envelope]) -> Result<Range<u64>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Request::new(batch, Some(reply)))
            .await
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// [`IngestHandle::submit`], but refuses with [`IngestError::Busy`] when the writer's queue
    /// has no room within `wait`: for transports that can tell the sender to come back (HTTP 429)
    /// rather than hold it. A batch refused this way was never queued, so nothing of it is on
    /// disk.
    pub async fn submit_within(
        &self,
        batch: &[Envelope],
        wait: Duration,
    ) -> Result<Range<u64>, IngestError> {
        let permit = match tokio::time::timeout(wait, self.tx.reserve()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(stopped()),
            Err(_) => {
                self.stats
                    .refused_busy
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                return Err(IngestError::Busy);
            }
        };
        let (reply, rx) = oneshot::channel();
        permit.send(Request::new(batch, Some(reply)));
        rx.await.map_err(|_| stopped())?
    }

    /// [`IngestHandle::submit`] for threads outside the async runtime (file tailing, import).
    pub fn submit_blocking(&self, batch: &[Envelope]) -> Result<Range<u64>, IngestError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .blocking_send(Request::new(batch, Some(reply)))
            .map_err(|_| stopped())?;
        rx.blocking_recv().map_err(|_| stopped())?
    }

    /// Queues a batch without waiting for it to be written, for transports that cannot
    /// acknowledge (UDP). Refuses at once with [`IngestError::Busy`] when the queue is full; the
    /// caller counts those messages as dropped.
    pub fn try_submit(&self, batch: &[Envelope]) -> Result<(), IngestError> {
        self.try_send(Request::new(batch, None))
    }

    /// [`IngestHandle::try_submit`] that also reports the batch's later outcome to its source:
    /// once written, its messages count as accepted in `stats`; if the writer refuses it (spool
    /// full, message too large, disk error), they count as dropped. A refusal returned here
    /// ([`IngestError::Busy`]) is not counted: the caller counts it.
    pub fn try_submit_reporting(
        &self,
        batch: &[Envelope],
        stats: &Arc<SourceStats>,
    ) -> Result<(), IngestError> {
        let mut request = Request::new(batch, None);
        let bytes = batch.iter().map(|e| e.payload.len() as u64).sum();
        request.report = Some((Arc::clone(stats), bytes));
        self.try_send(request)
    }

    fn try_send(&self, request: Request) -> Result<(), IngestError> {
        match self.tx.try_send(request) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(r)) => {
                self.stats
                    .refused_busy
                    .fetch_add(r.payloads.len() as u64, Ordering::Relaxed);
                Err(IngestError::Busy)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(stopped()),
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> &IngestStats {
        &self.stats
    }
}

fn stopped() -> IngestError {
    IngestError::Failed("the spool writer has stopped".into())
}

fn write_loop(
    spool: Arc<Mutex<Spool>>,
    mut rx: mpsc::Receiver<Request>,
    config: IngestConfig,
    stats: Arc<IngestStats>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        let mut bytes: usize = group_bytes(&group);
        while bytes < config.group_bytes {
            match rx.try_recv() {
                Ok(next) => {
                    bytes += group_bytes(std::slice::from_ref(&next));
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        write_group(&spool, group, &config, &stats);
    }
}

fn group_bytes(group: &[Request]) -> usize {
    group
        .iter()
        .flat_map(|r| r.payloads.iter())
        .map(Vec::len)
        .sum()
}

fn write_group(
    spool: &Mutex<Spool>,
    group: Vec<Request>,
    config: &IngestConfig,
    stats: &IngestStats,
) {
    let payloads: Vec<&[u8]> = group
        .iter()
        .flat_map(|r| r.payloads.iter().map(Vec::as_slice))
        .collect();
    let result = match spool.lock() {
        Ok(mut spool) => spool.append(&payloads),
        Err(_) => {
            reply_all(
                group,
                &IngestError::Failed("the spool lock is poisoned".into()),
            );
            return;
        }
    };
    match result {
        Ok(range) => {
            stats
                .accepted
                .fetch_add(payloads.len() as u64, Ordering::Relaxed);
            stats.bytes.fetch_add(
                payloads.iter().map(|p| p.len() as u64).sum(),
                Ordering::Relaxed,
            );
            stats.flushes.fetch_add(1, Ordering::Relaxed);
            let mut next = range.start;
            let now = Timestamp::now();
            for request in group {
                let end = next + request.payloads.len() as u64;
                if let Some(reply) = request.reply {
                    let _ = reply.send(Ok(next..end));
                }
                if let Some((source, bytes)) = request.report {
                    source.record_accepted(request.payloads.len() as u64, bytes, now);
                }
                next = end;
            }
        }
        Err(SpoolError::Full { .. } | SpoolError::RecordTooLarge { .. }) if group.len() > 1 => {
            // The group as a whole was refused; each batch may pass on its own, so that a batch
            // is not refused because a large one (or one with an oversize record) came beside it.
            for request in group {
                write_group(spool, vec![request], config, stats);
            }
        }
        Err(SpoolError::Full { .. }) => {
            stats
                .refused_full
                .fetch_add(payloads.len() as u64, Ordering::Relaxed);
            reply_all(
                group,
                &IngestError::Full {
                    retry_after: config.retry_after,
                },
            );
        }
        Err(e @ SpoolError::RecordTooLarge { .. }) => {
            reply_all(group, &IngestError::TooLarge(e.to_string()));
        }
        Err(e) => reply_all(group, &IngestError::Failed(e.to_string())),
    }
}

fn reply_all(group: Vec<Request>, error: &IngestError) {
    for request in group {
        if let Some(reply) = request.reply {
            let _ = reply.send(Err(error.clone()));
        }
        if let Some((source, _)) = request.report {
            source.record_dropped(request.payloads.len() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::SpoolConfig;

    fn envelope(text: &str) -> Envelope {
        Envelope {
            source: "test".into(),
            received: "2026-11-29T00:00:00Z".parse().unwrap(),
            peer: "127.0.0.1:1".into(),
            client_identity: String::new(),
            key: String::new(),
            payload: text.as_bytes().to_vec(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_batches_get_disjoint_ranges_and_land_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), IngestConfig::default()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..50 {
            let handle = handle.clone();
            tasks.push(tokio::spawn(async move {
                let batch: Vec<Envelope> =
                    (0..10).map(|j| envelope(&format!("m{i}-{j}"))).collect();
                handle.submit(&batch).await.unwrap()
            }));
        }
        let mut ranges = Vec::new();
        for t in tasks {
            ranges.push(t.await.unwrap());
        }
        ranges.sort_by_key(|r| r.start);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        assert_eq!(handle.stats().accepted.load(Ordering::Relaxed), 500);
        assert!(handle.stats().flushes.load(Ordering::Relaxed) <= 50);
        drop(handle);
        ingest.join();
        let records = spool.lock().unwrap().read(0, 1000).unwrap();
        assert_eq!(records.len(), 500);
        let first = Envelope::decode(&records[0].payload).unwrap();
        assert_eq!(first.source, "test");
    }

    #[test]
    fn a_full_spool_refuses_with_retry_after_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = SpoolConfig::new(dir.path());
        config.max_bytes = 4096;
        config.segment_bytes = 1024;
        let (spool, _) = Spool::open(config).unwrap();
        let spool = Arc::new(Mutex::new(spool));
        let (ingest, handle) = Ingest::start(Arc::clone(&spool), IngestConfig::default()).unwrap();
        let big = envelope(&"x".repeat(3000));
        assert!(handle.submit_blocking(std::slice::from_ref(&big)).is_ok());
        let refused = handle.submit_blocking(&[big]).unwrap_err();
        assert!(matches!(refused, IngestError::Full { .. }));
        assert!(refused.is_retryable());
        assert_eq!(handle.stats().refused_full.load(Ordering::Relaxed), 1);
        drop(handle);
        ingest.join();
        assert_eq!(spool.lock().unwrap().pending(), 1);
    }
}
