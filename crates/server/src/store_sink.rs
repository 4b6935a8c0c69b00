//! The pipeline's sink: events into the event store, committed before the pipeline
//! acknowledges the spool; optionally also as NDJSON files (for archiving or forwarding).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use shieldwall_collect::pipeline::{EventSink, NdjsonSink, SinkError};
use shieldwall_core::Event;
use shieldwall_store::{EventStore, TantivyStore};

/// What the sink has stored since the start.
#[derive(Debug, Default)]
pub struct StoreCounters {
    added: AtomicU64,
    duplicates: AtomicU64,
}

/// A snapshot of [`StoreCounters`], for `status.json`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StoreSnapshot {
    /// Events added to the store.
    pub added: u64,
    /// Events not added because the store already held their id (replays, client retries).
    pub duplicates: u64,
}

impl StoreCounters {
    /// The current counts.
    pub fn snapshot(&self) -> StoreSnapshot {
        StoreSnapshot {
            added: self.added.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
        }
    }
}

/// Writes events to the store (and NDJSON files when asked), durably.
pub struct StoreSink {
    store: Arc<TantivyStore>,
    ndjson: Option<NdjsonSink>,
    counters: Arc<StoreCounters>,
    root: PathBuf,
}

impl StoreSink {
    /// A sink into `store`; with `ndjson_dir`, NDJSON copies go there too.
    pub fn new(
        store: Arc<TantivyStore>,
        ndjson_dir: Option<&Path>,
        counters: Arc<StoreCounters>,
    ) -> Self {
        StoreSink {
            root: store.root().to_owned(),
            store,
            ndjson: ndjson_dir.map(NdjsonSink::new),
            counters,
        }
    }
}

impl EventSink for StoreSink {
    fn write(&mut self, events: &[Event]) -> Result<(), SinkError> {
        if let Some(ndjson) = &mut self.ndjson {
            ndjson.write(events)?;
        }
        let failed = |e: shieldwall_store::StoreError| SinkError {
            path: self.root.clone(),
            source: std::io::Error::other(e.to_string()),
        };
        let outcome = self.store.append(events).map_err(failed)?;
        self.store.commit().map_err(failed)?;
        self.counters
            .added
            .fetch_add(outcome.added, Ordering::Relaxed);
        self.counters
            .duplicates
            .fetch_add(outcome.duplicates, Ordering::Relaxed);
        Ok(())
    }
}
