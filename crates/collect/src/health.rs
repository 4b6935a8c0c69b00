//! Per-source counters and the silence watch: last seen, rate, drops, and a status event when a
//! source is quiet for longer than expected.
//!
//! Sources update their [`SourceStats`] with relaxed atomics on the hot path; [`HealthBoard`]
//! takes snapshots for `shieldwall status`, the API and the silence check.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

/// The live counters of one source.
#[derive(Debug, Default)]
pub struct SourceStats {
    /// Messages accepted into the spool.
    pub accepted: AtomicU64,
    /// Bytes of accepted messages.
    pub bytes: AtomicU64,
    /// Messages lost without an answer to the sender (UDP when the spool is full or busy,
    /// oversize frames that were cut away).
    pub dropped: AtomicU64,
    /// Batches refused with an answer the sender can act on (HTTP 429/503, a RELP error).
    pub refused: AtomicU64,
    /// Connections currently open.
    pub connections: AtomicU64,
    /// Connections turned away at the connection limit or failed in the TLS handshake.
    pub rejected_connections: AtomicU64,
    /// Milliseconds since the epoch of the last accepted message; 0 when never.
    pub last_seen_ms: AtomicU64,
    /// Messages stored without the message id the source's settings ask for (a RELP source
    /// with `message_ids`, whose frame lacked a valid prefix): a resend of them after a crash
    /// can be stored twice.
    pub without_message_id: AtomicU64,
}

impl SourceStats {
    /// Records `count` accepted messages of `bytes` bytes at `now`.
    pub fn record_accepted(&self, count: u64, bytes: u64, now: Timestamp) {
        self.accepted.fetch_add(count, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        let ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        self.last_seen_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// Records `count` messages dropped without an answer.
    pub fn record_dropped(&self, count: u64) {
        self.dropped.fetch_add(count, Ordering::Relaxed);
    }

    /// Records a batch refused with an answer.
    pub fn record_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// A point-in-time view of one source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSnapshot {
    /// The source's name.
    pub name: String,
    /// Its kind (`syslog-udp`, `http`, `file`...).
    pub kind: String,
    /// Messages accepted since start.
    pub accepted: u64,
    /// Bytes accepted since start.
    pub bytes: u64,
    /// Messages dropped since start.
    pub dropped: u64,
    /// Batches refused since start.
    pub refused: u64,
    /// Connections open now.
    pub connections: u64,
    /// Connections turned away since start.
    pub rejected_connections: u64,
    /// When it last delivered a message.
    pub last_seen: Option<Timestamp>,
    /// Messages per second since the previous snapshot.
    pub rate: f64,
    /// Whether it has been silent for longer than its expected interval.
    pub silent: bool,
    /// Messages stored without the message id its settings ask for.
    pub without_message_id: u64,
}

/// A transition worth an event: a source fell silent or came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HealthChange {
    /// Nothing arrived for longer than expected.
    Silent {
        /// The source.
        source: String,
        /// When it last delivered, if ever.
        last_seen: Option<Timestamp>,
        /// The interval it was expected to deliver within, in seconds.
        expected_secs: u64,
    },
    /// Messages arrive again after a silence.
    Resumed {
        /// The source.
        source: String,
    },
}

struct Entry {
    kind: String,
    stats: Arc<SourceStats>,
    expect_within: Option<Duration>,
    silent: bool,
    previous: Option<(Timestamp, u64)>,
    registered: Timestamp,
}

/// Every source's counters, by name.
#[derive(Default)]
pub struct HealthBoard {
    entries: Mutex<BTreeMap<String, Entry>>,
}

impl HealthBoard {
    /// An empty board.
    pub fn new() -> HealthBoard {
        HealthBoard::default()
    }

    /// Registers a source and returns its counters. `expect_within` is the longest silence that
    /// is normal for it (`None`: never reported silent). Registering a name again returns the
    /// existing counters.
    pub fn register(
        &self,
        name: &str,
        kind: &str,
        expect_within: Option<Duration>,
        now: Timestamp,
    ) -> Arc<SourceStats> {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = entries.entry(name.to_owned()).or_insert_with(|| Entry {
            kind: kind.to_owned(),
            stats: Arc::new(SourceStats::default()),
            expect_within,
            silent: false,
            previous: None,
            registered: now,
        });
        Arc::clone(&entry.stats)
    }

    /// Snapshots every source at `now`, and the silence transitions since the previous call.
    pub fn check(&self, now: Timestamp) -> (Vec<SourceSnapshot>, Vec<HealthChange>) {
        let mut entries = match self.entries.lock() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut snapshots = Vec::with_capacity(entries.len());
        let mut changes = Vec::new();
        for (name, entry) in entries.iter_mut() {
            let s = &entry.stats;
            let accepted = s.accepted.load(Ordering::Relaxed);
            let last_ms = s.last_seen_ms.load(Ordering::Relaxed);
            let last_seen = (last_ms > 0)
                .then(|| Timestamp::from_millisecond(last_ms as i64).ok())
                .flatten();
            let rate = match entry.previous {
                Some((then, before)) => {
                    let secs = now.duration_since(then).as_secs_f64();
                    if secs > 0.0 {
                        accepted.saturating_sub(before) as f64 / secs
                    } else {
                        0.0
                    }
                }
                None => 0.0,
            };
            entry.previous = Some((now, accepted));
            let silent = entry.expect_within.is_some_and(|limit| {
                let since = last_seen.unwrap_or(entry.registered);
                now.duration_since(since).as_secs_f64() > limit.as_secs_f64()
            });
            if silent != entry.silent {
                changes.push(if silent {
                    HealthChange::Silent {
                        source: name.clone(),
                        last_seen,
                        expected_secs: entry.expect_within.map_or(0, |d| d.as_secs()),
                    }
                } else {
                    HealthChange::Resumed {
                        source: name.clone(),
                    }
                });
                entry.silent = silent;
            }
            snapshots.push(SourceSnapshot {
                name: name.clone(),
                kind: entry.kind.clone(),
                accepted,
                bytes: s.bytes.load(Ordering::Relaxed),
                dropped: s.dropped.load(Ordering::Relaxed),
                refused: s.refused.load(Ordering::Relaxed),
                connections: s.connections.load(Ordering::Relaxed),
                rejected_connections: s.rejected_connections.load(Ordering::Relaxed),
                last_seen,
                rate,
                silent,
                without_message_id: s.without_message_id.load(Ordering::Relaxed),
            });
        }
        (snapshots, changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn silence_is_reported_once_and_recovery_too() {
        let board = HealthBoard::new();
        let stats = board.register(
            "fw",
            "syslog-udp",
            Some(Duration::from_secs(60)),
            at("2026-01-01T00:00:00Z"),
        );
        stats.record_accepted(10, 1000, at("2026-01-01T00:00:10Z"));
        let (snap, changes) = board.check(at("2026-01-01T00:01:00Z"));
        assert!(changes.is_empty());
        assert_eq!(snap[0].accepted, 10);
        assert_eq!(snap[0].last_seen, Some(at("2026-01-01T00:00:10Z")));

        let (_, changes) = board.check(at("2026-01-01T00:01:11Z"));
        assert!(matches!(&changes[..], [HealthChange::Silent { source, .. }] if source == "fw"));
        let (snap, changes) = board.check(at("2026-01-01T00:02:00Z"));
        assert!(changes.is_empty(), "reported once");
        assert!(snap[0].silent);

        stats.record_accepted(5, 500, at("2026-01-01T00:02:05Z"));
        stats.without_message_id.fetch_add(2, Ordering::Relaxed);
        let (snap, changes) = board.check(at("2026-01-01T00:02:10Z"));
        assert!(matches!(&changes[..], [HealthChange::Resumed { .. }]));
        assert!((snap[0].rate - 0.5).abs() < 1e-9, "5 messages in 10 s");
        assert_eq!(snap[0].without_message_id, 2);
    }

    #[test]
    fn a_source_that_never_speaks_is_silent_after_its_interval() {
        let board = HealthBoard::new();
        board.register(
            "quiet",
            "file",
            Some(Duration::from_secs(5)),
            at("2026-01-01T00:00:00Z"),
        );
        board.register("free", "file", None, at("2026-01-01T00:00:00Z"));
        let (snap, changes) = board.check(at("2026-01-01T00:00:06Z"));
        assert_eq!(changes.len(), 1);
        assert!(snap.iter().any(|s| s.name == "quiet" && s.silent));
        assert!(snap.iter().any(|s| s.name == "free" && !s.silent));
    }
}
