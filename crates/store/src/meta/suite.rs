//! The trait test suite: the checks every [`MetaStore`] implementation must pass.
//!
//! It is library code, not `#[test]`s, so that each implementation's tests call it: an
//! implementation's test calls [`run`] with a factory of fresh, empty stores, and
//! [`run_backup`] with that factory and a way to open what [`MetaStore::backup_to`] wrote. Both
//! return the failures, one string per failed check starting with the check's name, and an empty
//! vector when all pass; a check that panics is reported as a failure too, and the others still
//! run.
//!
//! ```no_run
//! use shieldwall_store::meta::{suite, MetaStore, SqliteMetaStore};
//!
//! let make = || Box::new(SqliteMetaStore::open_in_memory().unwrap()) as Box<dyn MetaStore>;
//! let failures = suite::run(&make);
//! assert!(failures.is_empty(), "{failures:#?}");
//! ```

use std::collections::BTreeSet;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use shieldwall_core::TenantId;

use super::{DeletionRecord, MAX_QUERY_BYTES, MetaError, MetaStore, NewDeletion, RetentionPolicy};

/// Makes a fresh, empty store.
pub type Make<'a> = &'a dyn Fn() -> Box<dyn MetaStore>;
/// Opens the store that [`MetaStore::backup_to`] wrote at a path.
pub type OpenBackup<'a> = &'a dyn Fn(&Path) -> Result<Box<dyn MetaStore>, MetaError>;

type Check = fn(Make<'_>) -> Result<(), String>;
type BackupCheck = fn(Make<'_>, OpenBackup<'_>) -> Result<(), String>;

const CHECKS: &[(&str, Check)] = &[
    ("empty store", empty_store),
    ("deletion round trip", deletion_round_trip),
    ("deletions newest first and limit", newest_first_and_limit),
    ("deletions filtered by tenant", tenant_filter),
    ("deletion validation", deletion_validation),
    ("unicode, quotes and SQL in text", hostile_text),
    (
        "retention set, replace, remove and list",
        retention_lifecycle,
    ),
    ("retention validation", retention_validation),
    ("concurrent writers lose nothing", concurrent_writers),
    (
        "alerts merge repeats within the window",
        super::suite_alerts::merge_within_window,
    ),
    (
        "alert lifecycle and history",
        super::suite_alerts::lifecycle_and_history,
    ),
    (
        "alert filters and pages",
        super::suite_alerts::filters_and_pages,
    ),
    ("notification outbox", super::suite_alerts::outbox),
    ("alert summary by period", super::suite_alerts::summary),
    ("report outbox", super::suite_report_outbox::report_outbox),
    ("backup never overwrites", backup_never_overwrites),
    (
        "tenants, accounts, bindings and separation of duties",
        super::suite_accounts::tenants_and_accounts,
    ),
    (
        "sessions and API tokens",
        super::suite_accounts::sessions_and_tokens,
    ),
    (
        "login history for the backoff",
        super::suite_accounts::login_history,
    ),
    (
        "audit chains, signed heads and purge",
        super::suite_accounts::audit_chains,
    ),
    (
        "evidence and findings",
        super::suite_accounts::evidence_and_findings,
    ),
    (
        "alert changes with their audit record",
        super::suite_accounts::audited_alert_changes,
    ),
];

const BACKUP_CHECKS: &[(&str, BackupCheck)] = &[
    ("backup holds the same records", backup_round_trip),
    ("backup while another thread writes", backup_while_writing),
];

/// Runs every check that needs only the trait; returns the failures.
pub fn run(make: &dyn Fn() -> Box<dyn MetaStore>) -> Vec<String> {
    CHECKS
        .iter()
        .filter_map(|(name, check)| outcome(name, || check(make)))
        .collect()
}

/// Runs the checks of [`MetaStore::backup_to`] that open the copy with `open_backup`; returns
/// the failures.
pub fn run_backup(make: Make<'_>, open_backup: OpenBackup<'_>) -> Vec<String> {
    BACKUP_CHECKS
        .iter()
        .filter_map(|(name, check)| outcome(name, || check(make, open_backup)))
        .collect()
}

fn outcome(name: &str, check: impl FnOnce() -> Result<(), String>) -> Option<String> {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(Ok(())) => None,
        Ok(Err(failure)) => Some(format!("{name}: {failure}")),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".to_owned());
            Some(format!("{name}: panicked: {message}"))
        }
    }
}

/// Returns a failure unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

/// Returns a failure unless the two values are equal.
macro_rules! ensure_eq {
    ($found:expr, $expected:expr, $($what:tt)+) => {{
        let (found, expected) = (&$found, &$expected);
        if found != expected {
            return Err(format!(
                "{}: expected {:?}, found {:?}",
                format!($($what)+),
                expected,
                found
            ));
        }
    }};
}

/// Turns a store error into a failure naming the operation.
fn ok<T>(what: &str, result: Result<T, MetaError>) -> Result<T, String> {
    result.map_err(|e| format!("{what} failed: {e}"))
}

fn tenant(name: &str) -> Result<TenantId, String> {
    TenantId::new(name).map_err(|e| e.to_string())
}

fn time(second: i64, nanosecond: i32) -> Result<Timestamp, String> {
    Timestamp::new(second, nanosecond).map_err(|e| e.to_string())
}

fn deletion(tenant: &TenantId, query: &str, n: i64) -> Result<NewDeletion, String> {
    Ok(NewDeletion {
        tenant: tenant.clone(),
        query: query.to_owned(),
        from: None,
        to: None,
        deleted_events: u64::try_from(n).unwrap_or(0),
        requested_by: "cli".to_owned(),
        requested_at: time(1_700_000_000 + n, 0)?,
    })
}

fn all(store: &dyn MetaStore) -> Result<Vec<DeletionRecord>, String> {
    ok(
        "deletions(None, usize::MAX)",
        store.deletions(None, usize::MAX),
    )
}

fn record(store: &dyn MetaStore, new: &NewDeletion) -> Result<DeletionRecord, String> {
    let stored = ok("record_deletion", store.record_deletion(new))?;
    ensure_eq!(stored.deletion, *new, "the returned record");
    ensure!(stored.id > 0, "record id {} is not positive", stored.id);
    Ok(stored)
}

fn ids(records: &[DeletionRecord]) -> Vec<u64> {
    records.iter().map(|r| r.id).collect()
}

fn empty_store(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let version = ok("schema_version", store.schema_version())?;
    ensure!(version >= 1, "schema version {version} of a new store");
    ensure!(all(&*store)?.is_empty(), "a new store has deletion records");
    ensure!(
        ok("retention_policies", store.retention_policies())?.is_empty(),
        "a new store has retention policies"
    );
    ensure_eq!(
        ok("retention", store.retention(&tenant("acme")?))?,
        None,
        "retention of a new store"
    );
    Ok(())
}

fn deletion_round_trip(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let acme = tenant("acme")?;
    let plain = deletion(&acme, "severity:high", 1)?;
    let ranged = NewDeletion {
        tenant: acme.clone(),
        query: "src.ip:10.0.0.1 AND user:root".to_owned(),
        from: Some(time(1_699_000_000, 1)?),
        to: Some(time(1_699_999_999, 999_999_999)?),
        deleted_events: u64::try_from(i64::MAX).unwrap_or(0),
        requested_by: "alice".to_owned(),
        requested_at: time(1_700_000_123, 456_789_012)?,
    };
    let same_instant = NewDeletion {
        from: Some(ranged.requested_at),
        to: Some(ranged.requested_at),
        deleted_events: 0,
        ..plain.clone()
    };
    let first = record(&*store, &plain)?;
    let second = record(&*store, &ranged)?;
    let third = record(&*store, &same_instant)?;
    ensure!(
        first.id < second.id && second.id < third.id,
        "ids do not increase: {}, {}, {}",
        first.id,
        second.id,
        third.id
    );
    ensure_eq!(all(&*store)?, vec![third, second, first], "stored records");
    Ok(())
}

fn newest_first_and_limit(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let acme = tenant("acme")?;
    let mut recorded = Vec::new();
    for n in 0..5 {
        recorded.push(record(&*store, &deletion(&acme, &format!("q{n}"), n)?)?);
    }
    // Recorded last but requested earliest: order is the order of recording.
    let late = NewDeletion {
        requested_at: time(1_000_000_000, 0)?,
        ..deletion(&acme, "late", 9)?
    };
    recorded.push(record(&*store, &late)?);
    let newest_first: Vec<DeletionRecord> = recorded.iter().rev().cloned().collect();

    ensure_eq!(all(&*store)?, newest_first, "all records");
    let three = ok("deletions(None, 3)", store.deletions(None, 3))?;
    ensure_eq!(
        ids(&three),
        ids(newest_first.get(..3).unwrap_or(&[])),
        "limit 3"
    );
    ensure!(
        ok("deletions(None, 0)", store.deletions(None, 0))?.is_empty(),
        "limit 0 returned records"
    );
    ensure_eq!(
        ok("deletions(None, 6)", store.deletions(None, 6))?,
        newest_first,
        "limit equal to the count"
    );
    Ok(())
}

fn tenant_filter(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let (a, b) = (tenant("tenant-a")?, tenant("tenant_b")?);
    let mut of_a = Vec::new();
    let mut of_b = Vec::new();
    for n in 0..5 {
        if n % 2 == 0 {
            of_a.push(record(&*store, &deletion(&a, "x", n)?)?);
        } else {
            of_b.push(record(&*store, &deletion(&b, "x", n)?)?);
        }
    }
    of_a.reverse();
    of_b.reverse();
    ensure_eq!(
        ok("deletions(a)", store.deletions(Some(&a), 10))?,
        of_a,
        "records of tenant-a"
    );
    ensure_eq!(
        ok("deletions(b)", store.deletions(Some(&b), 10))?,
        of_b,
        "records of tenant_b"
    );
    ensure_eq!(
        ids(&ok("deletions(b, 1)", store.deletions(Some(&b), 1))?),
        ids(of_b.get(..1).unwrap_or(&[])),
        "the limit applies after the filter"
    );
    // `tenant-a` and `tenant_b` differ by `-` and `_`; also a prefix and a LIKE wildcard.
    for other in ["tenant", "tenant_a", "tenant-a-2", "c"] {
        ensure!(
            ok(
                "deletions(other)",
                store.deletions(Some(&tenant(other)?), 10)
            )?
            .is_empty(),
            "tenant {other} sees records of others"
        );
    }
    ensure_eq!(all(&*store)?.len(), 5, "records of all tenants");
    Ok(())
}

fn deletion_validation(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let acme = tenant("acme")?;
    let good = deletion(&acme, "q", 1)?;
    let bad: Vec<(&str, NewDeletion)> = vec![
        (
            "range ends before it starts",
            NewDeletion {
                from: Some(time(20, 0)?),
                to: Some(time(10, 0)?),
                ..good.clone()
            },
        ),
        (
            "empty requested_by",
            NewDeletion {
                requested_by: String::new(),
                ..good.clone()
            },
        ),
        (
            "blank requested_by",
            NewDeletion {
                requested_by: " \t".to_owned(),
                ..good.clone()
            },
        ),
        (
            "NUL in the query",
            NewDeletion {
                query: "a\0b".to_owned(),
                ..good.clone()
            },
        ),
        (
            "NUL in requested_by",
            NewDeletion {
                requested_by: "cli\0".to_owned(),
                ..good.clone()
            },
        ),
        (
            "query too long",
            NewDeletion {
                query: "q".repeat(MAX_QUERY_BYTES + 1),
                ..good.clone()
            },
        ),
        (
            "count beyond i64",
            NewDeletion {
                deleted_events: u64::MAX,
                ..good.clone()
            },
        ),
    ];
    for (what, new) in &bad {
        match store.record_deletion(new) {
            Err(MetaError::InvalidDeletion { .. }) => {}
            other => return Err(format!("{what}: expected InvalidDeletion, got {other:?}")),
        }
    }
    ensure!(all(&*store)?.is_empty(), "a refused record was stored");
    record(&*store, &good)?;
    Ok(())
}

fn hostile_text(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let acme = tenant("acme")?;
    let queries = [
        String::new(),
        "'; DROP TABLE deletions; --".to_owned(),
        "\"; DELETE FROM deletions WHERE 1=1; --".to_owned(),
        "x' OR '1'='1".to_owned(),
        "msg:\"it's a \\\"quoted\\\" value\" AND path:C:\\\\Windows\\\\".to_owned(),
        "100% _match_ [a-z]* ?1 $1 :name @p".to_owned(),
        "日本語のクエリ AND ユーザー:管理者".to_owned(),
        "emoji 🔥👀 and astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢".to_owned(),
        "composed \u{e9} and decomposed e\u{301} stay distinct".to_owned(),
        "right-to-left \u{202e}dlrow\u{202c}, zero width \u{200b}, BOM \u{feff}".to_owned(),
        "line one\nline two\r\n\ttabbed\u{7f}\u{1b}[31m".to_owned(),
        "é".repeat(MAX_QUERY_BYTES / 2),
    ];
    let requester = "O'Brien \"ob\"; DROP TABLE retention_policies; --";
    let mut recorded = Vec::new();
    for (n, query) in queries.iter().enumerate() {
        let new = NewDeletion {
            query: query.clone(),
            requested_by: requester.to_owned(),
            ..deletion(&acme, "", i64::try_from(n).unwrap_or(0))?
        };
        recorded.push(record(&*store, &new)?);
    }
    recorded.reverse();
    let stored = all(&*store)?;
    ensure_eq!(stored.len(), queries.len(), "record count");
    for (found, expected) in stored.iter().zip(&recorded) {
        ensure!(
            found == expected,
            "record {} came back changed: query {:?}",
            expected.id,
            found.deletion.query
        );
    }
    let policy = RetentionPolicy::new(Some(1), None).map_err(|e| e.to_string())?;
    ok("set_retention", store.set_retention(&acme, Some(&policy)))?;
    ensure_eq!(
        ok("retention_policies", store.retention_policies())?,
        vec![(acme, policy)],
        "retention after hostile text"
    );
    Ok(())
}

fn retention_lifecycle(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let (a, b, c) = (tenant("a")?, tenant("b")?, tenant("c")?);
    let policy = |days, bytes| RetentionPolicy::new(days, bytes).map_err(|e| e.to_string());
    let age = policy(Some(30), None)?;
    let size = policy(None, Some(u64::try_from(i64::MAX).unwrap_or(0)))?;
    let both = policy(Some(u32::MAX), Some(0))?;
    // Set out of order: the list is ordered by tenant.
    ok("set c", store.set_retention(&c, Some(&both)))?;
    ok("set a", store.set_retention(&a, Some(&age)))?;
    ok("set b", store.set_retention(&b, Some(&size)))?;
    ensure_eq!(ok("get a", store.retention(&a))?, Some(age), "policy of a");
    ensure_eq!(ok("get b", store.retention(&b))?, Some(size), "policy of b");
    ensure_eq!(ok("get c", store.retention(&c))?, Some(both), "policy of c");
    ensure_eq!(
        ok("list", store.retention_policies())?,
        vec![(a.clone(), age), (b.clone(), size), (c.clone(), both)],
        "all policies"
    );

    let replaced = policy(Some(7), Some(1 << 30))?;
    ok("replace a", store.set_retention(&a, Some(&replaced)))?;
    ensure_eq!(
        ok("get a", store.retention(&a))?,
        Some(replaced),
        "replaced policy"
    );
    let narrowed = policy(None, Some(5))?;
    ok("replace a again", store.set_retention(&a, Some(&narrowed)))?;
    ensure_eq!(
        ok("get a", store.retention(&a))?,
        Some(narrowed),
        "a replacement clears the limit it leaves out"
    );

    ok("remove b", store.set_retention(&b, None))?;
    ensure_eq!(ok("get b", store.retention(&b))?, None, "removed policy");
    ok("remove b again", store.set_retention(&b, None))?;
    ok(
        "remove unknown",
        store.set_retention(&tenant("nobody")?, None),
    )?;
    ensure_eq!(
        ok("list", store.retention_policies())?,
        vec![(a, narrowed), (c, both)],
        "policies after removal"
    );
    Ok(())
}

fn retention_validation(make: Make<'_>) -> Result<(), String> {
    let store = make();
    let (a, fresh) = (tenant("a")?, tenant("fresh")?);
    let good = RetentionPolicy::new(Some(30), None).map_err(|e| e.to_string())?;
    ok("set a", store.set_retention(&a, Some(&good)))?;
    let bad = [
        RetentionPolicy {
            max_age_days: None,
            max_bytes: None,
        },
        RetentionPolicy {
            max_age_days: Some(0),
            max_bytes: None,
        },
        RetentionPolicy {
            max_age_days: Some(0),
            max_bytes: Some(10),
        },
        RetentionPolicy {
            max_age_days: None,
            max_bytes: Some(u64::MAX),
        },
    ];
    for policy in &bad {
        for who in [&a, &fresh] {
            match store.set_retention(who, Some(policy)) {
                Err(MetaError::InvalidRetention { .. }) => {}
                other => {
                    return Err(format!(
                        "{policy:?} for {who}: expected InvalidRetention, got {other:?}"
                    ));
                }
            }
        }
    }
    ensure_eq!(
        ok("list", store.retention_policies())?,
        vec![(a, good)],
        "policies after refusals"
    );
    Ok(())
}

fn concurrent_writers(make: Make<'_>) -> Result<(), String> {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 25;
    let store = make();
    let store: &dyn MetaStore = &*store;
    let tenants: Vec<TenantId> = (0..THREADS)
        .map(|t| tenant(&format!("t{}", t % 3)))
        .collect::<Result<_, _>>()?;
    let tenants = &tenants;
    let results: Vec<Result<Vec<u64>, String>> = std::thread::scope(|scope| {
        let writers: Vec<_> = tenants
            .iter()
            .enumerate()
            .map(|(t, tenant)| {
                scope.spawn(move || {
                    let mut ids = Vec::new();
                    for i in 0..PER_THREAD {
                        let new = deletion(tenant, &format!("writer {t} record {i}"), 1)?;
                        ids.push(record(store, &new)?.id);
                    }
                    Ok(ids)
                })
            })
            .collect();
        // Retention writes and reads interleaved with the deletion records.
        let policies = scope.spawn(move || {
            for days in 1..=PER_THREAD {
                let policy = RetentionPolicy::new(u32::try_from(days).ok(), None)
                    .map_err(|e| e.to_string())?;
                for tenant in tenants {
                    ok("set_retention", store.set_retention(tenant, Some(&policy)))?;
                }
                ok("deletions", store.deletions(None, 10))?;
            }
            Ok(Vec::new())
        });
        writers
            .into_iter()
            .chain([policies])
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a writer thread panicked".to_owned()))
            })
            .collect()
    });
    let mut returned = BTreeSet::new();
    for result in results {
        let ids = result?;
        ensure!(
            ids.windows(2).all(|w| w.first() < w.get(1)),
            "one thread's ids do not increase: {ids:?}"
        );
        returned.extend(ids);
    }
    ensure_eq!(
        returned.len(),
        THREADS * PER_THREAD,
        "distinct ids returned"
    );
    let stored = all(store)?;
    ensure_eq!(stored.len(), THREADS * PER_THREAD, "records stored");
    let stored_ids: BTreeSet<u64> = stored.iter().map(|r| r.id).collect();
    ensure!(
        stored_ids == returned,
        "stored ids differ from the ids returned"
    );
    let queries: BTreeSet<&str> = stored.iter().map(|r| r.deletion.query.as_str()).collect();
    ensure_eq!(
        queries.len(),
        THREADS * PER_THREAD,
        "distinct records stored"
    );
    let last =
        RetentionPolicy::new(u32::try_from(PER_THREAD).ok(), None).map_err(|e| e.to_string())?;
    for (tenant, policy) in ok("retention_policies", store.retention_policies())? {
        ensure_eq!(policy, last, "the last policy of {tenant}");
    }
    Ok(())
}

fn backup_never_overwrites(make: Make<'_>) -> Result<(), String> {
    let store = make();
    record(&*store, &deletion(&tenant("acme")?, "q", 1)?)?;
    let dir = ScratchDir::new()?;
    let existing = dir.path().join("existing.db");
    fs::write(&existing, b"keep me").map_err(|e| e.to_string())?;
    match store.backup_to(&existing) {
        Err(MetaError::BackupExists { .. }) => {}
        other => return Err(format!("backup onto an existing file: {other:?}")),
    }
    let kept = fs::read(&existing).map_err(|e| e.to_string())?;
    ensure!(kept == b"keep me", "backup_to changed an existing file");

    let fresh = dir.path().join("fresh.db");
    ok("backup_to", store.backup_to(&fresh))?;
    let size = fs::metadata(&fresh).map_err(|e| e.to_string())?.len();
    ensure!(size > 0, "the backup is empty");
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    ensure_eq!(
        names,
        vec!["existing.db".to_owned(), "fresh.db".to_owned()],
        "files left in the backup directory"
    );
    Ok(())
}

fn backup_round_trip(make: Make<'_>, open_backup: OpenBackup<'_>) -> Result<(), String> {
    let store = make();
    let (a, b) = (tenant("a")?, tenant("b")?);
    for n in 0..4 {
        let new = NewDeletion {
            from: Some(time(n, 5)?),
            to: Some(time(n + 100, 7)?),
            ..deletion(if n % 2 == 0 { &a } else { &b }, &format!("q'{n}\"🔥"), n)?
        };
        record(&*store, &new)?;
    }
    let policy = RetentionPolicy::new(Some(90), Some(1 << 40)).map_err(|e| e.to_string())?;
    ok("set_retention", store.set_retention(&b, Some(&policy)))?;

    let dir = ScratchDir::new()?;
    let dest = dir.path().join("backup.db");
    ok("backup_to", store.backup_to(&dest))?;
    let before = all(&*store)?;

    // The original goes on; the copy does not see what comes after it.
    let after = record(&*store, &deletion(&a, "after the backup", 9)?)?;
    ok("set_retention", store.set_retention(&a, Some(&policy)))?;

    let copy = ok("opening the backup", open_backup(&dest))?;
    ensure_eq!(
        ok("schema_version", copy.schema_version())?,
        ok("schema_version", store.schema_version())?,
        "schema version of the copy"
    );
    ensure_eq!(all(&*copy)?, before, "deletion records in the copy");
    ensure_eq!(
        ok("retention_policies", copy.retention_policies())?,
        vec![(b, policy)],
        "retention policies in the copy"
    );
    // The copy is a working store whose ids go on from where the original was.
    let next = record(&*copy, &deletion(&a, "in the copy", 10)?)?;
    ensure!(
        before.iter().all(|r| r.id < next.id),
        "the copy reused an id: {}",
        next.id
    );
    ensure!(
        all(&*store)?.first().map(|r| r.id) == Some(after.id),
        "writing to the copy changed the original"
    );
    Ok(())
}

fn backup_while_writing(make: Make<'_>, open_backup: OpenBackup<'_>) -> Result<(), String> {
    const WRITES: i64 = 300;
    let store = make();
    let store: &dyn MetaStore = &*store;
    let acme = tenant("acme")?;
    let dir = ScratchDir::new()?;
    let dest = dir.path().join("backup.db");
    let (written, backed_up) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for n in 0..WRITES {
                record(store, &deletion(&acme, &format!("record {n}"), n)?)?;
            }
            Ok::<(), String>(())
        });
        // Let the writer get going, then copy while it writes.
        while store
            .deletions(None, 1)
            .map(|d| d.is_empty())
            .unwrap_or(false)
        {
            std::thread::yield_now();
        }
        let backed_up = ok("backup_to", store.backup_to(&dest));
        let written = writer
            .join()
            .unwrap_or_else(|_| Err("the writer panicked".to_owned()));
        (written, backed_up)
    });
    written?;
    backed_up?;
    let mut original = all(store)?;
    original.reverse();
    let copy = ok("opening the backup", open_backup(&dest))?;
    let mut copied = all(&*copy)?;
    copied.reverse();
    ensure!(!copied.is_empty(), "the backup holds no record");
    ensure!(
        copied.len() <= original.len() && original.get(..copied.len()) == Some(copied.as_slice()),
        "the backup is not a consistent snapshot: it holds {} records that are not the first {} of the original",
        copied.len(),
        copied.len()
    );
    Ok(())
}

/// A directory under the system's temporary directory, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Result<Self, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = Timestamp::now().subsec_nanosecond();
        let path = std::env::temp_dir().join(format!(
            "shieldwall-meta-suite-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
