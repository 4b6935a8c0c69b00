//! Log collection: the sources that accept logs, and the durable spool that every accepted message
//! is written to before it is acknowledged.
//!
//! This release holds the [`spool`]: an append-only, checksummed, segmented log on disk with a
//! byte quota. A source appends a batch and acknowledges its sender only when [`Spool::append`]
//! has returned, because by then the batch is on disk (fsync). The pipeline reads from the spool
//! and [`Spool::acknowledge`]s what it has stored downstream; fully acknowledged segments are
//! deleted. When the quota is reached, `append` refuses with [`SpoolError::Full`], which sources
//! turn into back-pressure (stop reading, answer 429/503, count UDP drops).
//!
//! ```
//! use shieldwall_collect::spool::{Spool, SpoolConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (mut spool, report) = Spool::open(SpoolConfig::new(dir.path())).unwrap();
//! assert!(report.is_clean());
//! let seqs = spool.append(&[b"<13>Jan  1 00:00:00 host app: hello".as_slice()]).unwrap();
//! let records = spool.read(seqs.start, 10).unwrap();
//! assert_eq!(records[0].payload, b"<13>Jan  1 00:00:00 host app: hello");
//! spool.acknowledge(seqs.end).unwrap();
//! assert_eq!(spool.pending(), 0);
//! ```

pub mod envelope;
pub mod health;
pub mod ingest;
pub mod pipeline;
pub mod sources;
pub mod spool;

pub use envelope::{Envelope, EnvelopeError};
pub use health::{HealthBoard, HealthChange, SourceSnapshot, SourceStats};
pub use ingest::{Ingest, IngestConfig, IngestError, IngestHandle, IngestStats};
pub use spool::{RecoveryReport, Spool, SpoolConfig, SpoolError};
