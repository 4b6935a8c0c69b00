//! Relational data: the [`MetaStore`] trait, its records, its error, and the SQLite
//! implementation ([`SqliteMetaStore`]).
//!
//! # What the MetaStore owns
//!
//! Everything of the centre that is a small set of rows rather than a stream of events:
//!
//! - **deletion records**: one row per deletion by query (tenant, query text, time range, how
//!   many events went, who asked, when). They are append-only: the trait has no method to change
//!   or remove one, and the SQLite schema refuses `UPDATE` and `DELETE` on the table with
//!   triggers. The audit trail of a later issue reads them.
//! - **retention policies**: per tenant, a maximum age in days and/or a maximum size in bytes.
//!   The store only keeps them; the event store applies them.
//! - **alerts** (`alerts` module): raised by the alert pipeline, repeats merged into the open
//!   alert of the same deduplication key within its window, changed by analysts (acknowledge,
//!   close with a resolution, reopen, assign, comment), every change kept in an append-only
//!   history with who and when; and the **notification outbox** (`outbox` module), queued in
//!   the transaction that raises an alert.
//! - **tenants, accounts, role bindings, sessions and API tokens** (`accounts` module,
//!   [`AccountStore`]) and the **audit trail** (`audit` module, [`AuditTrail`]): hash-chained
//!   records, one chain per tenant and one for the system, with signed heads. Every account
//!   change is written in one transaction with its audit record.
//! - **evidence and findings** (`records` module, [`RecordStore`]): attestations and the check
//!   modules' observations the plan counts, and the check modules' results.
//!
//! Events themselves never live here (see the `events` module).
//!
//! Every implementation must pass the trait test suite in [`suite`]; that is how a PostgreSQL
//! implementation can come later without its callers noticing.
//!
//! # On-disk format and migrations
//!
//! The SQLite database (WAL journal, `synchronous=FULL`, foreign keys on, file mode 0600 on Unix)
//! carries two numbers in its header:
//!
//! - `PRAGMA application_id` = [`APPLICATION_ID`] (`SWMD`), so another program's SQLite file is
//!   refused instead of having our tables added to it;
//! - `PRAGMA user_version` = the schema version: the number of migrations applied.
//!
//! The schema is the ordered list of migrations in `meta/migrations/NNNN_name.sql`, applied on
//! open, each in its own transaction together with the `user_version` bump, so a crash leaves the
//! database at one version or the next, never between. A database whose version is newer than
//! [`SCHEMA_VERSION`] (written by a newer Shieldwall) is refused with
//! [`MetaError::UnknownVersion`] before anything is written to it. Rules:
//!
//! 1. Migrations are append-only: a schema change is a new file with the next number, added to
//!    the list in `meta/migrations.rs`.
//! 2. A migration that has been released is never edited, renamed or removed, because databases
//!    in the field record only its number. A unit test pins a checksum of every migration's text.
//! 3. A migration is plain SQL that runs inside a transaction (no `VACUUM`, no
//!    `PRAGMA journal_mode`); it must take every database of the previous version, with data, to
//!    the next one. Lifting the append-only guard of a table (for example to purge old audit
//!    records) is itself a migration. `PRAGMA foreign_keys` cannot change inside a transaction:
//!    a migration that rebuilds a referenced table uses `PRAGMA defer_foreign_keys = ON` instead.
//! 4. A PostgreSQL implementation keeps its own migration list, with the same numbering, so that
//!    [`MetaStore::schema_version`] means the same thing on both.

use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::TenantId;

pub mod accounts;
pub mod alerts;
pub mod audit;
mod error;
mod migrations;
pub mod outbox;
pub mod records;
pub mod report_outbox;
mod sqlite;
mod sqlite_accounts;
mod sqlite_alerts;
mod sqlite_audit;
mod sqlite_records;
mod sqlite_report_outbox;
mod sqlite_summary;
pub mod suite;
mod suite_accounts;
mod suite_alerts;
mod suite_report_outbox;

pub use accounts::{
    Account, AccountStore, ApiToken, Credentials, FailureStreak, LoginHistory, NewAccount,
    NewApiToken, NewSession, RoleBinding, Session, Tenant,
};
pub use alerts::{
    AlertAction, AlertChange, AlertFilter, AlertHistoryEntry, AlertOutcome, AlertSource,
    AlertSummary, NewAlert, SUMMARY_SEVERITIES, SUMMARY_STATES, StoredAlert, SummaryRequest,
};
pub use audit::{
    AuditFilter, AuditKind, AuditOutcome, AuditProblem, AuditRecord, AuditTrail, ChainHead,
    ChainReport, NewAuditRecord, ProblemKind, SignedHead,
};
pub use error::MetaError;
pub use migrations::{APPLICATION_ID, SCHEMA_VERSION};
pub use outbox::{DeliveryOutcome, DeliveryState, OutboxItem};
pub use records::{RecordStore, StoredEvidence, StoredFinding};
pub use report_outbox::{NewReportDelivery, ReportDelivery, ReportOutbox};
pub use sqlite::SqliteMetaStore;
pub use sqlite_alerts::PIPELINE_ACTOR;

/// The longest query text a deletion record may hold, in bytes.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// The longest `requested_by` a deletion record may hold, in bytes.
pub const MAX_REQUESTER_BYTES: usize = 256;

/// The relational store: deletion records and retention policies, and later alerts, accounts and
/// the audit trail.
///
/// Failure contract: every method either does all it says or nothing (each write is one
/// transaction); errors name the database; invalid input is refused with
/// [`MetaError::InvalidDeletion`] or [`MetaError::InvalidRetention`] before anything is written.
/// Methods may be called from several threads at once; writes are serialised by the
/// implementation and none is lost.
pub trait MetaStore: AccountStore + AuditTrail + RecordStore + ReportOutbox + Send + Sync {
    /// The schema version of the database: the number of migrations applied. Equal to
    /// [`SCHEMA_VERSION`] for a store this build opened.
    fn schema_version(&self) -> Result<u32, MetaError>;

    /// Records a deletion by query and returns it with its id. Records are append-only: there is
    /// no method to change or remove one.
    fn record_deletion(&self, deletion: &NewDeletion) -> Result<DeletionRecord, MetaError>;

    /// The deletion records of one tenant, or of all tenants with `None`, newest first (in the
    /// order they were recorded, which is the order of their ids), at most `limit` of them.
    fn deletions(
        &self,
        tenant: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<DeletionRecord>, MetaError>;

    /// The retention policy of a tenant, if it has one.
    fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, MetaError>;

    /// Sets (or replaces) the retention policy of a tenant; `None` removes it (removing a policy
    /// that does not exist is not an error).
    fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), MetaError>;

    /// Every retention policy, ordered by tenant.
    fn retention_policies(&self) -> Result<Vec<(TenantId, RetentionPolicy)>, MetaError>;

    /// Raises `alerts` in one transaction: each merges into the newest alert of its tenant and
    /// deduplication key that is not closed when its time falls within the window of that
    /// alert's first and last event (count added, events appended up to
    /// [`alerts::MAX_ALERT_EVENTS`], first and last seen widened); otherwise it is a new alert,
    /// recorded in its history as raised by [`PIPELINE_ACTOR`]. All or none are written.
    fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<AlertOutcome>, MetaError>;

    /// One alert of a tenant.
    fn alert(&self, tenant: &TenantId, id: u64) -> Result<Option<StoredAlert>, MetaError>;

    /// Alerts matching `filter`, newest first.
    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, MetaError>;

    /// Counts of the tenant's alerts raised in the request's period (by severity, state,
    /// interval, rule and ATT&CK tag). [`MetaError::InvalidAlert`] for an empty period, an
    /// interval of 0 or more than 10,000 intervals.
    fn alert_summary(&self, request: &SummaryRequest) -> Result<AlertSummary, MetaError>;

    /// Applies an analyst's change ([`MetaError::AlertState`] when the state does not allow it,
    /// [`MetaError::NoSuchAlert`] for an id the tenant does not have) and records it in the
    /// history in the same transaction. Returns the alert as changed.
    fn change_alert(
        &self,
        tenant: &TenantId,
        id: u64,
        change: &AlertChange,
    ) -> Result<StoredAlert, MetaError>;

    /// [`MetaStore::change_alert`] with the audit record of the change, written in the same
    /// transaction (a record that cannot be kept refuses the change).
    fn change_alert_audited(
        &self,
        tenant: &TenantId,
        id: u64,
        change: &AlertChange,
        audit: &NewAuditRecord,
    ) -> Result<StoredAlert, MetaError>;

    /// The history of one alert of a tenant, oldest first.
    fn alert_history(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> Result<Vec<AlertHistoryEntry>, MetaError>;

    /// Pending notifications of `channel` due at `now`, earliest first, at most `limit`.
    /// (Raising an alert queues one per channel in its `notify`.)
    fn due_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError>;

    /// Takes a pending notification for an attempt: its next attempt moves to `until`, so that
    /// it is not sent again meanwhile (and is retried then if the attempt never reports).
    /// `false` when it is no longer pending.
    fn claim_notification(&self, id: u64, until: Timestamp) -> Result<bool, MetaError>;

    /// Records an attempt's outcome for a pending notification ([`MetaError::NotificationDone`]
    /// when it is no longer pending) and returns it as changed.
    fn record_delivery(
        &self,
        id: u64,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<OutboxItem, MetaError>;

    /// Notifications of a tenant (or all) in a state (or any), newest first.
    fn notifications(
        &self,
        tenant: Option<&TenantId>,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError>;

    /// Writes a consistent copy of the whole store to `dest` while other threads and processes
    /// go on writing. `dest` must not exist: an existing file is never overwritten
    /// ([`MetaError::BackupExists`]). The copy is complete and flushed to disk when this returns,
    /// and appears under `dest` only then.
    fn backup_to(&self, dest: &Path) -> Result<(), MetaError>;
}

/// A deletion by query, as the caller reports it to [`MetaStore::record_deletion`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeletion {
    /// The tenant whose events were deleted.
    pub tenant: TenantId,
    /// The query text that selected the events, as the user typed it. At most
    /// [`MAX_QUERY_BYTES`]; no NUL characters.
    pub query: String,
    /// Start of the time range (inclusive), if the deletion had one.
    pub from: Option<Timestamp>,
    /// End of the time range, if the deletion had one. Not before `from`.
    pub to: Option<Timestamp>,
    /// How many events were deleted. At most `i64::MAX`.
    pub deleted_events: u64,
    /// Who asked: `"cli"` or a user name for now. Not empty, at most [`MAX_REQUESTER_BYTES`], no
    /// NUL characters.
    pub requested_by: String,
    /// When the deletion was requested.
    pub requested_at: Timestamp,
}

impl NewDeletion {
    /// Checks the rules every implementation enforces before writing, so that all of them accept
    /// and refuse the same records.
    pub fn validate(&self) -> Result<(), MetaError> {
        let invalid = |reason: String| Err(MetaError::InvalidDeletion { reason });
        if self.query.len() > MAX_QUERY_BYTES {
            return invalid(format!(
                "the query text has {} bytes, more than the limit of {MAX_QUERY_BYTES}",
                self.query.len()
            ));
        }
        if self.query.contains('\0') {
            return invalid("the query text contains a NUL character".to_owned());
        }
        if self.requested_by.trim().is_empty() {
            return invalid("requested_by is empty: a deletion must name who asked for it".into());
        }
        if self.requested_by.len() > MAX_REQUESTER_BYTES {
            return invalid(format!(
                "requested_by has {} bytes, more than the limit of {MAX_REQUESTER_BYTES}",
                self.requested_by.len()
            ));
        }
        if self.requested_by.contains('\0') {
            return invalid("requested_by contains a NUL character".to_owned());
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return invalid(format!(
                "the time range ends ({to}) before it starts ({from})"
            ));
        }
        if i64::try_from(self.deleted_events).is_err() {
            return invalid(format!(
                "deleted_events {} is larger than {}",
                self.deleted_events,
                i64::MAX
            ));
        }
        Ok(())
    }
}

/// A stored deletion record: what was passed to [`MetaStore::record_deletion`], with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRecord {
    /// The record's id: positive, unique in the store, larger for later records.
    pub id: u64,
    /// The deletion.
    #[serde(flatten)]
    pub deletion: NewDeletion,
}

/// How long, and how much, of a tenant's events to keep. At least one limit is set; events go
/// when either is exceeded, oldest first.
///
/// Deserialising validates (so a configuration file with an empty policy is refused where it is
/// read); a policy built field by field is validated by [`MetaStore::set_retention`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRetentionPolicy")]
pub struct RetentionPolicy {
    /// Keep events at most this many days (at least 1).
    pub max_age_days: Option<u32>,
    /// Keep at most this many bytes of events (at most `i64::MAX`).
    pub max_bytes: Option<u64>,
}

impl RetentionPolicy {
    /// A validated policy.
    pub fn new(max_age_days: Option<u32>, max_bytes: Option<u64>) -> Result<Self, MetaError> {
        let policy = RetentionPolicy {
            max_age_days,
            max_bytes,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Checks that at least one limit is set, the age is at least one day and the size fits a
    /// signed 64-bit integer (what SQL engines store).
    pub fn validate(&self) -> Result<(), MetaError> {
        let reason = match (self.max_age_days, self.max_bytes) {
            (None, None) => {
                "set max_age_days, max_bytes or both (to keep everything, remove the policy)"
            }
            (Some(0), _) => "max_age_days must be at least 1",
            (_, Some(bytes)) if i64::try_from(bytes).is_err() => {
                "max_bytes must be at most 9223372036854775807"
            }
            _ => return Ok(()),
        };
        Err(MetaError::InvalidRetention { reason })
    }
}

/// The wire form of [`RetentionPolicy`], validated into it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetentionPolicy {
    #[serde(default)]
    max_age_days: Option<u32>,
    #[serde(default)]
    max_bytes: Option<u64>,
}

impl TryFrom<RawRetentionPolicy> for RetentionPolicy {
    type Error = MetaError;

    fn try_from(raw: RawRetentionPolicy) -> Result<Self, Self::Error> {
        RetentionPolicy::new(raw.max_age_days, raw.max_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deletion() -> NewDeletion {
        NewDeletion {
            tenant: TenantId::default_tenant(),
            query: "src.ip:10.0.0.1".to_owned(),
            from: None,
            to: None,
            deleted_events: 3,
            requested_by: "cli".to_owned(),
            requested_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn retention_policies_validate_when_built_and_deserialised() {
        assert!(RetentionPolicy::new(Some(30), None).is_ok());
        assert!(RetentionPolicy::new(None, Some(1 << 30)).is_ok());
        assert!(RetentionPolicy::new(None, None).is_err());
        assert!(RetentionPolicy::new(Some(0), Some(1)).is_err());
        assert!(RetentionPolicy::new(None, Some(u64::MAX)).is_err());

        let policy: RetentionPolicy = serde_json::from_str(r#"{"max_age_days":7}"#).unwrap();
        assert_eq!(policy, RetentionPolicy::new(Some(7), None).unwrap());
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            serde_json::from_str::<RetentionPolicy>(&json).unwrap(),
            policy
        );
        for bad in [
            "{}",
            r#"{"max_age_days":0}"#,
            r#"{"max_age_days":null,"max_bytes":null}"#,
            r#"{"max_age_days":7,"max_days":1}"#,
        ] {
            assert!(
                serde_json::from_str::<RetentionPolicy>(bad).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn deletions_validate() {
        assert!(deletion().validate().is_ok());
        let cases: [fn(&mut NewDeletion); 6] = [
            |d| d.requested_by = " ".to_owned(),
            |d| d.requested_by = "x".repeat(MAX_REQUESTER_BYTES + 1),
            |d| d.query = "a\0b".to_owned(),
            |d| d.query = "q".repeat(MAX_QUERY_BYTES + 1),
            |d| d.deleted_events = u64::MAX,
            |d| {
                d.from = Some(Timestamp::from_second(10).unwrap());
                d.to = Some(Timestamp::from_second(9).unwrap());
            },
        ];
        for (i, case) in cases.iter().enumerate() {
            let mut d = deletion();
            case(&mut d);
            assert!(
                matches!(d.validate(), Err(MetaError::InvalidDeletion { .. })),
                "case {i}"
            );
        }
    }
}
