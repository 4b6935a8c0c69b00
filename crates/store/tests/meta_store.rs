//! The MetaStore trait suite against both SQLite stores (file and memory), and what only SQLite
//! has: reopening, the version and file checks, the append-only triggers, backups under load,
//! file modes and several stores on one file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use jiff::Timestamp;
use shieldwall_core::{Role, Scope, TenantId};
use shieldwall_store::meta::{
    APPLICATION_ID, Account, AccountStore, AlertChange, AlertFilter, AlertHistoryEntry,
    AlertOutcome, ApiToken, AuditFilter, AuditRecord, AuditTrail, ChainHead, ChainReport,
    Credentials, DeletionRecord, DeliveryOutcome, DeliveryState, LoginHistory, MetaError,
    MetaStore, NewAccount, NewAlert, NewApiToken, NewAuditRecord, NewDeletion, NewSession,
    OutboxItem, RetentionPolicy, RoleBinding, SCHEMA_VERSION, Session, SignedHead, SqliteMetaStore,
    StoredAlert, Tenant, suite,
};
use shieldwall_store::meta::{
    NewReportDelivery, RecordStore, ReportDelivery, ReportOutbox, StoredEvidence, StoredFinding,
};

fn open_boxed(path: &Path) -> Result<Box<dyn MetaStore>, MetaError> {
    Ok(Box::new(SqliteMetaStore::open(path)?))
}

fn deletion(tenant: &str, query: &str) -> NewDeletion {
    NewDeletion {
        tenant: TenantId::new(tenant).unwrap(),
        query: query.to_owned(),
        from: Some(Timestamp::new(1_700_000_000, 1).unwrap()),
        to: None,
        deleted_events: 42,
        requested_by: "cli".to_owned(),
        requested_at: Timestamp::new(1_700_000_100, 999_999_999).unwrap(),
    }
}

fn all(store: &dyn MetaStore) -> Vec<DeletionRecord> {
    store.deletions(None, usize::MAX).unwrap()
}

fn assert_passes(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
}

#[test]
fn suite_passes_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let make = || -> Box<dyn MetaStore> {
        let n = next.fetch_add(1, Ordering::Relaxed);
        open_boxed(&dir.path().join(format!("meta-{n}.db"))).unwrap()
    };
    assert_passes(suite::run(&make));
    assert_passes(suite::run_backup(&make, &open_boxed));
}

#[test]
fn suite_passes_in_memory() {
    let make = || -> Box<dyn MetaStore> { Box::new(SqliteMetaStore::open_in_memory().unwrap()) };
    assert_passes(suite::run(&make));
    assert_passes(suite::run_backup(&make, &open_boxed));
}

#[test]
fn suite_reports_failures_by_name_instead_of_panicking() {
    /// A store that forgets everything: every check that reads back must fail, none may panic.
    struct Forgetful;
    impl MetaStore for Forgetful {
        fn schema_version(&self) -> Result<u32, MetaError> {
            Ok(1)
        }
        fn record_deletion(&self, d: &NewDeletion) -> Result<DeletionRecord, MetaError> {
            d.validate()?;
            Ok(DeletionRecord {
                id: 1,
                deletion: d.clone(),
            })
        }
        fn deletions(
            &self,
            _: Option<&TenantId>,
            _: usize,
        ) -> Result<Vec<DeletionRecord>, MetaError> {
            Ok(Vec::new())
        }
        fn retention(&self, _: &TenantId) -> Result<Option<RetentionPolicy>, MetaError> {
            Ok(None)
        }
        fn set_retention(
            &self,
            _: &TenantId,
            p: Option<&RetentionPolicy>,
        ) -> Result<(), MetaError> {
            p.map_or(Ok(()), RetentionPolicy::validate)
        }
        fn retention_policies(&self) -> Result<Vec<(TenantId, RetentionPolicy)>, MetaError> {
            Ok(Vec::new())
        }
        fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<AlertOutcome>, MetaError> {
            Ok(alerts
                .iter()
                .map(|_| AlertOutcome {
                    id: 1,
                    raised: true,
                })
                .collect())
        }
        fn alert(&self, _: &TenantId, _: u64) -> Result<Option<StoredAlert>, MetaError> {
            Ok(None)
        }
        fn alerts(&self, _: &AlertFilter) -> Result<Vec<StoredAlert>, MetaError> {
            Ok(Vec::new())
        }
        fn alert_summary(
            &self,
            _: &shieldwall_store::meta::SummaryRequest,
        ) -> Result<shieldwall_store::meta::AlertSummary, MetaError> {
            Ok(shieldwall_store::meta::AlertSummary::default())
        }
        fn change_alert(
            &self,
            tenant: &TenantId,
            id: u64,
            _: &AlertChange,
        ) -> Result<StoredAlert, MetaError> {
            Err(MetaError::NoSuchAlert {
                tenant: tenant.as_str().to_owned(),
                id,
            })
        }
        fn change_alert_audited(
            &self,
            tenant: &TenantId,
            id: u64,
            _: &AlertChange,
            _: &NewAuditRecord,
        ) -> Result<StoredAlert, MetaError> {
            Err(MetaError::NoSuchAlert {
                tenant: tenant.as_str().to_owned(),
                id,
            })
        }
        fn alert_history(&self, _: &TenantId, _: u64) -> Result<Vec<AlertHistoryEntry>, MetaError> {
            Ok(Vec::new())
        }
        fn due_notifications(
            &self,
            _: &str,
            _: Timestamp,
            _: usize,
        ) -> Result<Vec<OutboxItem>, MetaError> {
            Ok(Vec::new())
        }
        fn claim_notification(&self, _: u64, _: Timestamp) -> Result<bool, MetaError> {
            Ok(false)
        }
        fn record_delivery(
            &self,
            id: u64,
            _: &DeliveryOutcome,
            _: Timestamp,
        ) -> Result<OutboxItem, MetaError> {
            Err(MetaError::NoSuchNotification { id })
        }
        fn notifications(
            &self,
            _: Option<&TenantId>,
            _: Option<DeliveryState>,
            _: usize,
        ) -> Result<Vec<OutboxItem>, MetaError> {
            Ok(Vec::new())
        }
        fn backup_to(&self, _: &Path) -> Result<(), MetaError> {
            panic!("backup not implemented")
        }
    }
    fn nothing<T>() -> Result<T, MetaError> {
        Err(MetaError::NotFound {
            what: "anything in a forgetful store".to_owned(),
        })
    }
    impl AccountStore for Forgetful {
        fn tenants(&self) -> Result<Vec<Tenant>, MetaError> {
            Ok(Vec::new())
        }
        fn create_tenant(&self, _: &Tenant, _: &NewAuditRecord) -> Result<(), MetaError> {
            Ok(())
        }
        fn create_account(
            &self,
            _: &NewAccount,
            _: &[(Scope, Role)],
            _: &NewAuditRecord,
        ) -> Result<Account, MetaError> {
            nothing()
        }
        fn account(&self, _: u64) -> Result<Option<Account>, MetaError> {
            Ok(None)
        }
        fn accounts(&self, _: Option<&Scope>, _: u64, _: usize) -> Result<Vec<Account>, MetaError> {
            Ok(Vec::new())
        }
        fn credentials(&self, _: &str) -> Result<Option<Credentials>, MetaError> {
            Ok(None)
        }
        fn accept_totp_step(&self, _: u64, _: u64) -> Result<bool, MetaError> {
            Ok(true)
        }
        fn set_password(&self, _: u64, _: &str, _: &NewAuditRecord) -> Result<(), MetaError> {
            Ok(())
        }
        fn set_disabled(&self, _: u64, _: bool, _: &NewAuditRecord) -> Result<(), MetaError> {
            Ok(())
        }
        fn add_binding(
            &self,
            _: u64,
            _: &Scope,
            _: Role,
            _: Timestamp,
            _: &NewAuditRecord,
        ) -> Result<RoleBinding, MetaError> {
            nothing()
        }
        fn binding(&self, _: u64) -> Result<Option<RoleBinding>, MetaError> {
            Ok(None)
        }
        fn remove_binding(&self, _: u64, _: &NewAuditRecord) -> Result<(), MetaError> {
            Ok(())
        }
        fn create_session(&self, _: &NewSession, _: &NewAuditRecord) -> Result<(), MetaError> {
            Ok(())
        }
        fn session(&self, _: &[u8; 32]) -> Result<Option<Session>, MetaError> {
            Ok(None)
        }
        fn touch_session(&self, _: &[u8; 32], _: Timestamp) -> Result<(), MetaError> {
            Ok(())
        }
        fn end_session(&self, _: &[u8; 32], _: &NewAuditRecord) -> Result<bool, MetaError> {
            Ok(false)
        }
        fn purge_sessions(&self, _: Timestamp) -> Result<u64, MetaError> {
            Ok(0)
        }
        fn create_api_token(
            &self,
            _: &NewApiToken,
            _: &NewAuditRecord,
        ) -> Result<ApiToken, MetaError> {
            nothing()
        }
        fn api_token(&self, _: &[u8; 32]) -> Result<Option<ApiToken>, MetaError> {
            Ok(None)
        }
        fn api_tokens(
            &self,
            _: Option<u64>,
            _: Option<&Scope>,
            _: u64,
            _: usize,
        ) -> Result<Vec<ApiToken>, MetaError> {
            Ok(Vec::new())
        }
        fn touch_api_token(&self, _: u64, _: Timestamp) -> Result<(), MetaError> {
            Ok(())
        }
        fn revoke_api_token(
            &self,
            _: u64,
            _: Timestamp,
            _: &NewAuditRecord,
        ) -> Result<ApiToken, MetaError> {
            nothing()
        }
        fn login_history(&self, _: &str, _: &str, _: Timestamp) -> Result<LoginHistory, MetaError> {
            Ok(LoginHistory::default())
        }
    }
    impl ReportOutbox for Forgetful {
        fn queue_report(&self, report: &NewReportDelivery) -> Result<usize, MetaError> {
            report.validate()?;
            Ok(report.channels.len())
        }
        fn last_report_due(&self, _: &str) -> Result<Option<Timestamp>, MetaError> {
            Ok(None)
        }
        fn due_report_deliveries(
            &self,
            _: Timestamp,
            _: usize,
        ) -> Result<Vec<ReportDelivery>, MetaError> {
            Ok(Vec::new())
        }
        fn claim_report_delivery(
            &self,
            _: u64,
            _: Timestamp,
            _: Timestamp,
        ) -> Result<bool, MetaError> {
            Ok(false)
        }
        fn record_report_delivery(
            &self,
            id: u64,
            _: &DeliveryOutcome,
            _: Timestamp,
        ) -> Result<ReportDelivery, MetaError> {
            Err(MetaError::NoSuchReportDelivery { id })
        }
        fn report_deliveries(
            &self,
            _: Option<&TenantId>,
            _: usize,
        ) -> Result<Vec<ReportDelivery>, MetaError> {
            Ok(Vec::new())
        }
    }
    impl RecordStore for Forgetful {
        fn record_evidence(
            &self,
            _: &shieldwall_core::Evidence,
            _: &str,
            _: Timestamp,
            _: &NewAuditRecord,
        ) -> Result<StoredEvidence, MetaError> {
            nothing()
        }
        fn evidence(
            &self,
            _: &TenantId,
            _: Option<u64>,
            _: usize,
        ) -> Result<Vec<StoredEvidence>, MetaError> {
            Ok(Vec::new())
        }
        fn record_findings(&self, f: &[shieldwall_core::Finding]) -> Result<u64, MetaError> {
            Ok(f.len() as u64)
        }
        fn findings(
            &self,
            _: &TenantId,
            _: Option<&str>,
            _: Option<shieldwall_core::FindingStatus>,
            _: Option<u64>,
            _: usize,
        ) -> Result<Vec<StoredFinding>, MetaError> {
            Ok(Vec::new())
        }
        fn latest_findings(
            &self,
            _: &TenantId,
            _: &str,
            _: &str,
            _: &str,
            _: usize,
        ) -> Result<Vec<StoredFinding>, MetaError> {
            Ok(Vec::new())
        }
    }
    impl AuditTrail for Forgetful {
        fn append_audit(&self, _: &NewAuditRecord) -> Result<AuditRecord, MetaError> {
            nothing()
        }
        fn audit_records(&self, _: &AuditFilter) -> Result<Vec<AuditRecord>, MetaError> {
            Ok(Vec::new())
        }
        fn chain_heads(&self) -> Result<Vec<ChainHead>, MetaError> {
            Ok(Vec::new())
        }
        fn record_signed_head(&self, _: &SignedHead) -> Result<(), MetaError> {
            Ok(())
        }
        fn latest_signed(&self) -> Result<Vec<(Scope, u64)>, MetaError> {
            Ok(Vec::new())
        }
        fn signed_heads(&self) -> Result<Vec<SignedHead>, MetaError> {
            Ok(Vec::new())
        }
        fn verify_audit(
            &self,
            _: &[SignedHead],
            _: Option<Timestamp>,
        ) -> Result<Vec<ChainReport>, MetaError> {
            Ok(Vec::new())
        }
        fn purge_audit(&self, _: &Scope, _: Timestamp, _: Timestamp) -> Result<u64, MetaError> {
            Ok(0)
        }
    }
    let make = || -> Box<dyn MetaStore> { Box::new(Forgetful) };
    let failures = suite::run(&make);
    for name in [
        "deletion round trip",
        "deletions newest first and limit",
        "retention set, replace, remove and list",
        "concurrent writers lose nothing",
        "alerts merge repeats within the window",
        "alert lifecycle and history",
        "notification outbox",
        "backup never overwrites: panicked: backup not implemented",
        "tenants, accounts, bindings and separation of duties",
        "sessions and API tokens",
        "login history for the backoff",
        "audit chains, signed heads and purge",
        "evidence and findings",
        "alert changes with their audit record",
    ] {
        assert!(
            failures.iter().any(|f| f.starts_with(name)),
            "{name} not reported: {failures:#?}"
        );
    }
    assert!(!failures.iter().any(|f| f.starts_with("empty store")));
}

#[test]
fn reopening_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let acme = TenantId::new("acme").unwrap();
    let policy = RetentionPolicy::new(Some(30), Some(1 << 30)).unwrap();
    let first = {
        let store = SqliteMetaStore::open(&path).unwrap();
        store.set_retention(&acme, Some(&policy)).unwrap();
        store
            .record_deletion(&deletion("acme", "user:\"o'brien\" 🔥"))
            .unwrap()
    };
    let store = SqliteMetaStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(all(&store), vec![first.clone()]);
    assert_eq!(store.retention(&acme).unwrap(), Some(policy));
    let second = store.record_deletion(&deletion("acme", "again")).unwrap();
    assert!(second.id > first.id);
    assert_eq!(store.path(), std::path::absolute(&path).unwrap());
}

#[test]
fn a_file_name_with_uri_characters_is_a_plain_file() {
    // SQLite is built with URI file names on; the store passes absolute paths, never `file:...`.
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("file:meta.db?mode=ro");
    let store = SqliteMetaStore::open(&name).unwrap();
    store.record_deletion(&deletion("acme", "q")).unwrap();
    assert!(name.is_file());
    assert_eq!(all(&SqliteMetaStore::open(&name).unwrap()).len(), 1);
}

#[test]
fn the_file_is_a_wal_database_with_our_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    drop(SqliteMetaStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(app, APPLICATION_ID);
    assert_eq!(APPLICATION_ID.to_be_bytes(), *b"SWMD");
    let version: u32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_version_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    {
        let store = SqliteMetaStore::open(&path).unwrap();
        store.record_deletion(&deletion("acme", "q")).unwrap();
    }
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        conn.execute_batch("CREATE TABLE from_the_future (x INTEGER)")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteMetaStore::open(&path).unwrap_err();
    match &err {
        MetaError::UnknownVersion {
            path: p,
            found,
            supported,
        } => {
            assert_eq!(p, &std::path::absolute(&path).unwrap());
            assert_eq!(*found, SCHEMA_VERSION + 1);
            assert_eq!(*supported, SCHEMA_VERSION);
        }
        other => panic!("expected UnknownVersion, got {other:?}"),
    }
    let message = err.to_string();
    for part in [
        path.to_str().unwrap(),
        &format!("schema version {}", SCHEMA_VERSION + 1),
        &format!("up to {SCHEMA_VERSION}"),
        "written by a newer Shieldwall",
    ] {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file was changed"
    );
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("short.db", b"not a database\n".to_vec()),
        ("text.db", b"Shieldwall log line\n".repeat(500)),
        ("events.ndjson", br#"{"tenant":"acme"}"#.repeat(300)),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).unwrap();
        let err = SqliteMetaStore::open(&path).unwrap_err();
        assert!(
            matches!(&err, MetaError::NotADatabase { path: p } if p.ends_with(name)),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        assert!(message.contains("not an SQLite file"), "{message}");
        assert_eq!(std::fs::read(&path).unwrap(), content, "{name} was changed");
    }
}

#[test]
fn another_programs_sqlite_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let unmarked = dir.path().join("other.db");
    rusqlite::Connection::open(&unmarked)
        .unwrap()
        .execute_batch("CREATE TABLE users (name TEXT)")
        .unwrap();
    let marked = dir.path().join("marked.db");
    rusqlite::Connection::open(&marked)
        .unwrap()
        .execute_batch("PRAGMA application_id = 42; CREATE TABLE t (x)")
        .unwrap();
    for path in [unmarked, marked] {
        let before = std::fs::read(&path).unwrap();
        let err = SqliteMetaStore::open(&path).unwrap_err();
        assert!(
            matches!(err, MetaError::ForeignDatabase { .. }),
            "{path:?}: {err:?}"
        );
        assert!(err.to_string().contains(path.to_str().unwrap()));
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}

#[test]
fn an_empty_file_becomes_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteMetaStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_missing_directory_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("meta.db");
    let err = SqliteMetaStore::open(&path).unwrap_err();
    assert!(matches!(err, MetaError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(path.to_str().unwrap()));
}

#[test]
fn deletion_records_cannot_be_changed_or_removed_even_with_sql() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let record = SqliteMetaStore::open(&path)
        .unwrap()
        .record_deletion(&deletion("acme", "q"))
        .unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE deletions SET deleted_events = 0",
        "DELETE FROM deletions",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    drop(conn);
    assert_eq!(all(&SqliteMetaStore::open(&path).unwrap()), vec![record]);
}

#[test]
fn a_damaged_row_is_reported_as_corrupt_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    drop(SqliteMetaStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "INSERT INTO deletions (tenant, query, deleted_events, requested_by, requested_at) \
             VALUES ('acme', 'q', 1, 'cli', 'yesterday')",
        )
        .unwrap();
    let err = SqliteMetaStore::open(&path)
        .unwrap()
        .deletions(None, 10)
        .unwrap_err();
    assert!(matches!(err, MetaError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(path.to_str().unwrap()) && message.contains("yesterday"));
}

#[cfg(unix)]
#[test]
fn the_database_and_its_backups_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let store = SqliteMetaStore::open(&path).unwrap();
    store.record_deletion(&deletion("acme", "q")).unwrap();
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup).unwrap();
    let memory_backup = dir.path().join("memory-backup.db");
    SqliteMetaStore::open_in_memory()
        .unwrap()
        .backup_to(&memory_backup)
        .unwrap();
    for file in [
        path.clone(),
        PathBuf::from(format!("{}-wal", path.display())),
        backup,
        memory_backup,
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

#[test]
fn backups_are_consistent_while_another_thread_keeps_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteMetaStore::open(dir.path().join("meta.db")).unwrap();
    let stop = AtomicBool::new(false);
    let written = AtomicUsize::new(0);
    let backups: Vec<(PathBuf, usize, usize)> = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) || n < 50 {
                store
                    .record_deletion(&deletion("acme", &format!("record {n}")))
                    .unwrap();
                n += 1;
                written.store(n, Ordering::Relaxed);
            }
        });
        let mut backups = Vec::new();
        for i in 0..5 {
            while written.load(Ordering::Relaxed) < 20 * (i + 1) {
                std::thread::yield_now();
            }
            let dest = dir.path().join(format!("backup-{i}.db"));
            let before = written.load(Ordering::Relaxed);
            store.backup_to(&dest).unwrap();
            let after = written.load(Ordering::Relaxed);
            backups.push((dest, before, after));
        }
        stop.store(true, Ordering::Relaxed);
        writer.join().unwrap();
        backups
    });
    let mut original = all(&store);
    original.reverse();
    for (dest, before, after) in backups {
        let mut copied = all(&SqliteMetaStore::open(&dest).unwrap());
        copied.reverse();
        // Everything committed before the backup started, nothing that was not yet committed
        // when it ended, and no gap: a snapshot.
        assert!(
            (before..=after).contains(&copied.len()),
            "{}: {} records, {before}..={after} expected",
            dest.display(),
            copied.len()
        );
        assert_eq!(copied, original[..copied.len()], "{}", dest.display());
    }
}

#[test]
fn two_stores_on_one_file_share_it_without_losing_writes() {
    // As two processes would: each has its own connection; SQLite's locks and the busy
    // timeout serialise them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.db");
    let stores = [
        SqliteMetaStore::open(&path).unwrap(),
        SqliteMetaStore::open(&path).unwrap(),
    ];
    std::thread::scope(|scope| {
        for (s, store) in stores.iter().enumerate() {
            for t in 0..3 {
                scope.spawn(move || {
                    for i in 0..40 {
                        store
                            .record_deletion(&deletion("acme", &format!("{s}/{t}/{i}")))
                            .unwrap();
                        let tenant = TenantId::new(format!("t{t}")).unwrap();
                        let policy = RetentionPolicy::new(Some(i + 1), None).unwrap();
                        store.set_retention(&tenant, Some(&policy)).unwrap();
                    }
                });
            }
        }
    });
    for store in &stores {
        let records = all(store);
        assert_eq!(records.len(), 2 * 3 * 40);
        let queries: std::collections::BTreeSet<_> =
            records.iter().map(|r| r.deletion.query.clone()).collect();
        assert_eq!(queries.len(), records.len());
        assert_eq!(store.retention_policies().unwrap().len(), 3);
    }
}

#[test]
fn a_store_can_be_shared_as_a_trait_object_across_threads() {
    let store: std::sync::Arc<dyn MetaStore> =
        std::sync::Arc::new(SqliteMetaStore::open_in_memory().unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                store
                    .record_deletion(&deletion("acme", &format!("{t}")))
                    .unwrap()
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(all(&*store).len(), 4);
}
