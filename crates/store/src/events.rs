//! The event store: the [`EventStore`] trait, its requests and answers, and the default
//! implementation on tantivy ([`TantivyStore`]).
//!
//! Contract of every implementation (checked by [`suite`]):
//! - `append` then `commit`: once `commit` returns, the events survive a crash. Nothing is
//!   visible to searches before its commit.
//! - Event ids are the deduplication key: appending an event whose id the store already holds
//!   (a replay after a crash, a client's retry with the same idempotency key) stores nothing and
//!   is counted as a duplicate. Implementations may bound how far back they look
//!   ([`StoreConfig::dedupe_window`]).
//! - Searches return a tenant's events newest first and never another tenant's.

mod aggregate;
mod backup;
mod compile;
mod document;
mod partition;
pub mod suite;
mod tantivy_store;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use shieldwall_core::{Event, TenantId};
use shieldwall_query::{Aggregation, Query};

use crate::meta::RetentionPolicy;

pub use tantivy_store::TantivyStore;

/// Settings of an event store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// How far back (in receive time, from the newest stored event) ids are remembered for
    /// deduplication. Replays after a crash and client retries arrive within minutes.
    pub dedupe_window: Duration,
    /// The most ids remembered for deduplication, whatever their age; each takes a hash-set
    /// entry (16-byte id) and a queue entry (id and receive time).
    pub dedupe_capacity: usize,
    /// Partitions with an open writer at once; more are committed and closed, oldest use first.
    pub max_open_writers: usize,
    /// Indexing memory per open writer, in bytes (tantivy's minimum is 15 MB).
    pub writer_memory: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            dedupe_window: Duration::from_secs(30 * 60),
            dedupe_capacity: 2_000_000,
            max_open_writers: 4,
            writer_memory: 64 << 20,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The index library failed on a partition.
    #[error("{}: {message}", path.display())]
    Index {
        /// The partition's directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The store was written by a newer Shieldwall, or is not a store.
    #[error(
        "{}: store format version {found}, but this Shieldwall reads version {supported}: open it with the Shieldwall that wrote it (or a newer one)",
        path.display()
    )]
    UnknownVersion {
        /// The version file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The directory holds something that is not a Shieldwall store.
    #[error("{}: {reason}", path.display())]
    NotAStore {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The query cannot run (a bad time, a range on a field that has none).
    #[error("{0}")]
    Query(String),
    /// An event could not be encoded or a stored one decoded.
    #[error("event {id}: {reason}")]
    Event {
        /// The event's id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("the store's lock is poisoned")]
    Poisoned,
}

impl StoreError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn index(path: &Path) -> impl FnOnce(tantivy::TantivyError) -> StoreError + '_ {
        move |e| StoreError::Index {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}

/// Which events a request covers: a query and a half-open time range `[from, to)` on the event
/// time.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The query (see `docs/query.md`).
    pub query: Query,
    /// Earliest event time, inclusive.
    pub from: Option<Timestamp>,
    /// Latest event time, exclusive.
    pub to: Option<Timestamp>,
}

impl Selection {
    /// Every event.
    pub fn all() -> Selection {
        Selection {
            query: Query::All,
            from: None,
            to: None,
        }
    }
}

/// What one append did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AppendOutcome {
    /// Events added.
    pub added: u64,
    /// Events not added because the store already held their id.
    pub duplicates: u64,
}

/// What a search or an export went through.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchOutcome {
    /// Events handed to the caller.
    pub returned: u64,
    /// Partitions that could not be read, with the reason: their events are missing from the
    /// answer.
    pub unreadable: Vec<String>,
}

impl SearchOutcome {
    /// Adds a partition found unreadable during the search, once.
    pub(crate) fn note_unreadable(&mut self, entry: String) {
        if !self.unreadable.contains(&entry) {
            self.unreadable.push(entry);
        }
    }
}

/// One aggregation's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AggregationResult {
    /// The most frequent values of a field.
    CountBy {
        /// The field.
        field: String,
        /// Values and their counts, most frequent first.
        buckets: Vec<(String, u64)>,
        /// Events with another value of the field.
        other: u64,
        /// An upper bound of the error of each count: counts over several partitions come from
        /// each partition's own top values (0 when exact).
        error_bound: u64,
    },
    /// Events per time interval.
    Histogram {
        /// The interval.
        interval_secs: u64,
        /// Start of each interval (UTC) and its count, in time order; empty intervals omitted.
        buckets: Vec<(Timestamp, u64)>,
    },
    /// The number of distinct values of a field (a HyperLogLog estimate).
    Distinct {
        /// The field.
        field: String,
        /// The estimate.
        count: u64,
    },
}

/// What retention removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    /// The partitions (days) removed.
    pub removed_days: Vec<String>,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Bytes the tenant's events take now.
    pub remaining_bytes: u64,
}

/// What a backup copied.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackupReport {
    /// Partitions copied.
    pub partitions: u64,
    /// Files copied.
    pub files: u64,
    /// Bytes copied.
    pub bytes: u64,
}

/// The event store's operations.
pub trait EventStore: Send + Sync {
    /// Adds events (any tenants); they become durable and searchable at the next [`commit`].
    ///
    /// [`commit`]: EventStore::commit
    fn append(&self, events: &[Event]) -> Result<AppendOutcome, StoreError>;

    /// Makes every appended event durable and searchable.
    fn commit(&self) -> Result<(), StoreError>;

    /// Hands `tenant`'s matching events to `each`, newest first, at most `limit`; `each` may
    /// stop early with `ControlFlow::Break`.
    fn search(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        limit: usize,
        each: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<SearchOutcome, StoreError>;

    /// Counts `tenant`'s matching events.
    fn count(&self, tenant: &TenantId, selection: &Selection) -> Result<u64, StoreError>;

    /// Computes aggregations over `tenant`'s matching events.
    fn aggregate(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        aggregations: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError>;

    /// Hands every matching event to `each`, day by day from the oldest; within a day in no
    /// particular order. Memory stays bounded whatever the number of events.
    fn export(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        each: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<SearchOutcome, StoreError>;

    /// Deletes `tenant`'s matching events; returns how many.
    fn delete(&self, tenant: &TenantId, selection: &Selection) -> Result<u64, StoreError>;

    /// Removes the oldest days of `tenant` beyond `retention`, as of `now`: days (UTC, by event
    /// time) older than `max_age_days`, then the oldest days while the tenant's events take more
    /// than `max_bytes` (never the current day).
    fn apply_retention(
        &self,
        tenant: &TenantId,
        retention: &RetentionPolicy,
        now: Timestamp,
    ) -> Result<RetentionReport, StoreError>;

    /// Copies a consistent snapshot of the committed events into `destination` (a new or empty
    /// directory), which then opens as a store. Ingest may go on meanwhile.
    fn backup(&self, destination: &Path) -> Result<BackupReport, StoreError>;

    /// The tenants with stored events.
    fn tenants(&self) -> Result<Vec<TenantId>, StoreError>;

    /// Bytes `tenant`'s events take on disk.
    fn size(&self, tenant: &TenantId) -> Result<u64, StoreError>;
}
