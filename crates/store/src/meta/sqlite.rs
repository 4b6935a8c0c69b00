//! [`SqliteMetaStore`]: the [`MetaStore`] in one SQLite file (WAL journal, `synchronous=FULL`),
//! the default of a single-node deployment.
//!
//! One connection behind a mutex serves every thread of the process (rusqlite's `Connection` is
//! `Send` but not `Sync`); several processes may open the same file, SQLite's locks and the busy
//! timeout serialising their writes. Every write is a single statement, hence a transaction of
//! its own; parameters are bound, never formatted into SQL.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use shieldwall_core::TenantId;

use super::alerts::{
    AlertChange, AlertFilter, AlertHistoryEntry, AlertOutcome, AlertSummary, NewAlert, StoredAlert,
    SummaryRequest,
};
use super::migrations::{APPLICATION_ID, MIGRATIONS, Migration, SCHEMA_VERSION};
use super::outbox::{DeliveryOutcome, DeliveryState, OutboxItem};
use super::{DeletionRecord, MetaError, MetaStore, NewDeletion, RetentionPolicy};

/// What error messages call an in-memory store.
const IN_MEMORY: &str = ":memory:";

/// The [`MetaStore`] in SQLite.
#[derive(Debug)]
pub struct SqliteMetaStore {
    conn: Mutex<Connection>,
    /// The absolute path of the file, or `:memory:`; used in every error message.
    path: PathBuf,
    /// Whether `path` is a file (backups then read it through a connection of their own).
    on_disk: bool,
}

impl SqliteMetaStore {
    /// How long an operation waits for another connection's lock before failing with
    /// `SQLITE_BUSY`.
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

    /// Opens the database at `path`, creating it (mode 0600 on Unix) if it is missing, and
    /// brings its schema up to [`SCHEMA_VERSION`].
    ///
    /// Refuses, without writing to it, a file that is not SQLite ([`MetaError::NotADatabase`]),
    /// another program's SQLite database ([`MetaError::ForeignDatabase`]) and a database written
    /// by a newer Shieldwall ([`MetaError::UnknownVersion`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MetaError> {
        let given = path.as_ref();
        // Absolute, so that SQLite (built with URI file names on) never reads `file:...` as a URI,
        // and so that messages and backups do not depend on the working directory.
        let path = std::path::absolute(given).map_err(|source| MetaError::Io {
            path: given.to_path_buf(),
            source,
        })?;
        create_private(&path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| classify(&path, e))?;
        Self::init(conn, path, true)
    }

    /// A fresh, empty store in memory: for tests and one-shot tools. It vanishes with the value.
    pub fn open_in_memory() -> Result<Self, MetaError> {
        let path = PathBuf::from(IN_MEMORY);
        let conn = Connection::open_in_memory().map_err(|e| classify(&path, e))?;
        Self::init(conn, path, false)
    }

    /// The database file (absolute), or `:memory:`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn init(mut conn: Connection, path: PathBuf, on_disk: bool) -> Result<Self, MetaError> {
        let err = |e| classify(&path, e);
        conn.busy_timeout(Self::BUSY_TIMEOUT).map_err(err)?;
        // Read the header before anything writes to the file.
        let (version, application_id) = header(&conn).map_err(err)?;
        check_header(&conn, &path, version, application_id)?;
        if on_disk {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .map_err(err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(MetaError::NoWal { path, mode });
            }
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        migrate(&mut conn, &path, MIGRATIONS)?;
        Ok(SqliteMetaStore {
            conn: Mutex::new(conn),
            path,
            on_disk,
        })
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, MetaError> {
        self.conn.lock().map_err(|_| MetaError::Poisoned {
            path: self.path.clone(),
        })
    }

    /// Runs `f` on the connection, naming the file in its error.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, MetaError> {
        let conn = self.lock()?;
        f(&conn).map_err(|e| classify(&self.path, e))
    }

    /// Runs `f` in an immediate (write) transaction, committed when `f` succeeds.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, MetaError>,
    ) -> Result<T, MetaError> {
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.sql(e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| self.sql(e))?;
        Ok(value)
    }

    /// A SQLite error, naming the file.
    pub(crate) fn sql(&self, source: rusqlite::Error) -> MetaError {
        classify(&self.path, source)
    }

    pub(crate) fn corrupt(
        &self,
        table: &'static str,
        row: impl ToString,
        detail: String,
    ) -> MetaError {
        MetaError::Corrupt {
            path: self.path.clone(),
            table,
            row: row.to_string(),
            detail,
        }
    }

    /// The timestamp in `column` of a row, or the corruption it is.
    pub(crate) fn time_column(
        &self,
        table: &'static str,
        row: i64,
        column: &str,
        text: &str,
    ) -> Result<Timestamp, MetaError> {
        parse_time(text).ok_or_else(|| {
            self.corrupt(table, row, format!("{column} {text:?} is not a timestamp"))
        })
    }

    fn decode_deletion(&self, raw: RawDeletion) -> Result<DeletionRecord, MetaError> {
        let row = raw.id;
        let bad = |detail: String| self.corrupt("deletions", row, detail);
        let id = u64::try_from(raw.id).map_err(|_| bad("negative id".to_owned()))?;
        let tenant = TenantId::new(raw.tenant).map_err(|e| bad(e.to_string()))?;
        let time = |column: &str, text: String| self.time_column("deletions", row, column, &text);
        let from = raw.from.map(|t| time("range_from", t)).transpose()?;
        let to = raw.to.map(|t| time("range_to", t)).transpose()?;
        let requested_at = time("requested_at", raw.requested_at)?;
        let deleted_events = u64::try_from(raw.deleted_events)
            .map_err(|_| bad(format!("deleted_events {} is negative", raw.deleted_events)))?;
        Ok(DeletionRecord {
            id,
            deletion: NewDeletion {
                tenant,
                query: raw.query,
                from,
                to,
                deleted_events,
                requested_by: raw.requested_by,
                requested_at,
            },
        })
    }

    fn decode_policy(
        &self,
        tenant: &str,
        max_age_days: Option<i64>,
        max_bytes: Option<i64>,
    ) -> Result<RetentionPolicy, MetaError> {
        let bad = |detail: String| self.corrupt("retention_policies", tenant, detail);
        let max_age_days = max_age_days
            .map(|days| u32::try_from(days).map_err(|_| bad(format!("max_age_days {days}"))))
            .transpose()?;
        let max_bytes = max_bytes
            .map(|bytes| u64::try_from(bytes).map_err(|_| bad(format!("max_bytes {bytes}"))))
            .transpose()?;
        RetentionPolicy::new(max_age_days, max_bytes).map_err(|e| bad(e.to_string()))
    }

    /// `VACUUM INTO` the (empty, private) file at `temp`.
    fn vacuum_into(&self, temp: &Path) -> Result<(), MetaError> {
        let target = temp.to_str().ok_or_else(|| MetaError::Io {
            path: temp.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "SQLite needs a UTF-8 file name for a backup",
            ),
        })?;
        if self.on_disk {
            // A connection of its own: its read transaction does not hold our mutex, so writers
            // of this process (and of others, WAL readers never block writers) go on meanwhile.
            let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let conn = Connection::open_with_flags(&self.path, flags)
                .map_err(|e| classify(&self.path, e))?;
            conn.busy_timeout(Self::BUSY_TIMEOUT)
                .and_then(|()| conn.execute("VACUUM INTO ?1", [target]))
                .map_err(|e| classify(&self.path, e))?;
        } else {
            self.with_conn(|conn| conn.execute("VACUUM INTO ?1", [target]))?;
        }
        Ok(())
    }
}

impl MetaStore for SqliteMetaStore {
    fn raise_alerts(&self, alerts: &[NewAlert]) -> Result<Vec<AlertOutcome>, MetaError> {
        self.raise_alerts_impl(alerts)
    }

    fn alert(&self, tenant: &TenantId, id: u64) -> Result<Option<StoredAlert>, MetaError> {
        self.alert_impl(tenant, id)
    }

    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, MetaError> {
        self.alerts_impl(filter)
    }

    fn alert_summary(&self, request: &SummaryRequest) -> Result<AlertSummary, MetaError> {
        self.alert_summary_impl(request)
    }

    fn change_alert(
        &self,
        tenant: &TenantId,
        id: u64,
        change: &AlertChange,
    ) -> Result<StoredAlert, MetaError> {
        self.change_alert_impl(tenant, id, change, None)
    }

    fn change_alert_audited(
        &self,
        tenant: &TenantId,
        id: u64,
        change: &AlertChange,
        audit: &super::audit::NewAuditRecord,
    ) -> Result<StoredAlert, MetaError> {
        self.change_alert_impl(tenant, id, change, Some(audit))
    }

    fn alert_history(
        &self,
        tenant: &TenantId,
        id: u64,
    ) -> Result<Vec<AlertHistoryEntry>, MetaError> {
        self.alert_history_impl(tenant, id)
    }

    fn due_notifications(
        &self,
        channel: &str,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError> {
        self.due_notifications_impl(channel, now, limit)
    }

    fn claim_notification(&self, id: u64, until: Timestamp) -> Result<bool, MetaError> {
        self.claim_notification_impl(id, until)
    }

    fn record_delivery(
        &self,
        id: u64,
        outcome: &DeliveryOutcome,
        at: Timestamp,
    ) -> Result<OutboxItem, MetaError> {
        self.record_delivery_impl(id, outcome, at)
    }

    fn notifications(
        &self,
        tenant: Option<&TenantId>,
        state: Option<DeliveryState>,
        limit: usize,
    ) -> Result<Vec<OutboxItem>, MetaError> {
        self.notifications_impl(tenant, state, limit)
    }

    fn schema_version(&self) -> Result<u32, MetaError> {
        let (version, _) = self.with_conn(header)?;
        u32::try_from(version)
            .map_err(|_| self.corrupt("header", "user_version", version.to_string()))
    }

    fn record_deletion(&self, deletion: &NewDeletion) -> Result<DeletionRecord, MetaError> {
        deletion.validate()?;
        let deleted_events =
            i64::try_from(deletion.deleted_events).map_err(|_| MetaError::InvalidDeletion {
                reason: "deleted_events is too large".to_owned(),
            })?;
        let id: i64 = self.with_conn(|conn| {
            conn.prepare_cached(
                "INSERT INTO deletions \
                 (tenant, query, range_from, range_to, deleted_events, requested_by, requested_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
            )?
            .query_row(
                params![
                    deletion.tenant.as_str(),
                    deletion.query,
                    deletion.from.map(format_time),
                    deletion.to.map(format_time),
                    deleted_events,
                    deletion.requested_by,
                    format_time(deletion.requested_at),
                ],
                |row| row.get(0),
            )
        })?;
        let id = u64::try_from(id)
            .map_err(|_| self.corrupt("deletions", id, "negative id".to_owned()))?;
        Ok(DeletionRecord {
            id,
            deletion: deletion.clone(),
        })
    }

    fn deletions(
        &self,
        tenant: Option<&TenantId>,
        limit: usize,
    ) -> Result<Vec<DeletionRecord>, MetaError> {
        const COLUMNS: &str = "SELECT id, tenant, query, range_from, range_to, deleted_events, \
                               requested_by, requested_at FROM deletions";
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = self.with_conn(|conn| match tenant {
            Some(tenant) => conn
                .prepare_cached(&format!(
                    "{COLUMNS} WHERE tenant = ?1 ORDER BY id DESC LIMIT ?2"
                ))?
                .query_map(params![tenant.as_str(), limit], RawDeletion::from_row)?
                .collect::<rusqlite::Result<Vec<_>>>(),
            None => conn
                .prepare_cached(&format!("{COLUMNS} ORDER BY id DESC LIMIT ?1"))?
                .query_map(params![limit], RawDeletion::from_row)?
                .collect::<rusqlite::Result<Vec<_>>>(),
        })?;
        raws.into_iter()
            .map(|raw| self.decode_deletion(raw))
            .collect()
    }

    fn retention(&self, tenant: &TenantId) -> Result<Option<RetentionPolicy>, MetaError> {
        let row: Option<(Option<i64>, Option<i64>)> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT max_age_days, max_bytes FROM retention_policies WHERE tenant = ?1",
            )?
            .query_row([tenant.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
        })?;
        row.map(|(days, bytes)| self.decode_policy(tenant.as_str(), days, bytes))
            .transpose()
    }

    fn set_retention(
        &self,
        tenant: &TenantId,
        policy: Option<&RetentionPolicy>,
    ) -> Result<(), MetaError> {
        match policy {
            Some(policy) => {
                policy.validate()?;
                let max_bytes = policy
                    .max_bytes
                    .map(i64::try_from)
                    .transpose()
                    .map_err(|_| MetaError::InvalidRetention {
                        reason: "max_bytes is too large",
                    })?;
                self.with_conn(|conn| {
                    conn.prepare_cached(
                        "INSERT INTO retention_policies (tenant, max_age_days, max_bytes) \
                         VALUES (?1, ?2, ?3) \
                         ON CONFLICT (tenant) DO UPDATE \
                         SET max_age_days = excluded.max_age_days, max_bytes = excluded.max_bytes",
                    )?
                    .execute(params![
                        tenant.as_str(),
                        policy.max_age_days,
                        max_bytes
                    ])
                })?;
            }
            None => {
                self.with_conn(|conn| {
                    conn.prepare_cached("DELETE FROM retention_policies WHERE tenant = ?1")?
                        .execute([tenant.as_str()])
                })?;
            }
        }
        Ok(())
    }

    fn retention_policies(&self) -> Result<Vec<(TenantId, RetentionPolicy)>, MetaError> {
        let rows: Vec<(String, Option<i64>, Option<i64>)> = self.with_conn(|conn| {
            conn.prepare_cached(
                "SELECT tenant, max_age_days, max_bytes FROM retention_policies ORDER BY tenant",
            )?
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect()
        })?;
        rows.into_iter()
            .map(|(tenant, days, bytes)| {
                let policy = self.decode_policy(&tenant, days, bytes)?;
                let tenant = TenantId::new(tenant.clone())
                    .map_err(|e| self.corrupt("retention_policies", &tenant, e.to_string()))?;
                Ok((tenant, policy))
            })
            .collect()
    }

    /// The copy is made with `VACUUM INTO`, not the online backup API: it needs no extra Cargo
    /// feature; it copies inside one read transaction, so the result is a consistent snapshot
    /// even while others write (the backup API restarts its copy whenever another connection
    /// writes, and may never finish under steady writes); and the copy comes out compacted. A
    /// file-backed store reads through a connection of its own, so writers are not held up; an
    /// in-memory store holds its connection for the (short) copy.
    ///
    /// Steps: a private (0600) empty temporary sibling of `dest`, `VACUUM INTO` it, `fsync` it
    /// (SQLite does not), hard-link it to `dest` (which fails rather than overwrite a file that
    /// appeared meanwhile), remove the temporary name, `fsync` the directory. On failure the
    /// temporary file is removed and `dest` does not exist.
    fn backup_to(&self, dest: &Path) -> Result<(), MetaError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| MetaError::Io { path, source }
        };
        let dest = std::path::absolute(dest).map_err(io_err(dest))?;
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(MetaError::BackupExists { path: dest });
        }
        let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else {
            return Err(MetaError::Io {
                path: dest,
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
            });
        };
        let temp = dir.join(format!(
            ".{}.partial-{}-{}",
            name.to_string_lossy(),
            std::process::id(),
            next_backup_number()
        ));
        let result = (|| {
            drop(create_private_new(&temp)?);
            self.vacuum_into(&temp)?;
            File::open(&temp)
                .and_then(|file| file.sync_all())
                .map_err(io_err(&temp))?;
            fs::hard_link(&temp, &dest).map_err(|source| {
                if source.kind() == io::ErrorKind::AlreadyExists {
                    MetaError::BackupExists { path: dest.clone() }
                } else {
                    MetaError::Io {
                        path: dest.clone(),
                        source,
                    }
                }
            })
        })();
        let removed = fs::remove_file(&temp);
        result?;
        removed.map_err(io_err(&temp))?;
        sync_dir(dir).map_err(io_err(dir))
    }
}

/// The columns of a `deletions` row, as stored.
struct RawDeletion {
    id: i64,
    tenant: String,
    query: String,
    from: Option<String>,
    to: Option<String>,
    deleted_events: i64,
    requested_by: String,
    requested_at: String,
}

impl RawDeletion {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawDeletion {
            id: row.get(0)?,
            tenant: row.get(1)?,
            query: row.get(2)?,
            from: row.get(3)?,
            to: row.get(4)?,
            deleted_events: row.get(5)?,
            requested_by: row.get(6)?,
            requested_at: row.get(7)?,
        })
    }
}

/// RFC 3339 in UTC with nine fractional digits: fixed width for years 0 to 9999, so it sorts as
/// text, and exact.
pub(crate) fn format_time(time: Timestamp) -> String {
    format!("{time:.9}")
}

pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

/// `user_version` and `application_id`.
fn header(conn: &Connection) -> rusqlite::Result<(i64, i32)> {
    let version = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let application_id = conn.pragma_query_value(None, "application_id", |row| row.get(0))?;
    Ok((version, application_id))
}

/// Refuses what is not a Shieldwall database of a version this build knows.
fn check_header(
    conn: &Connection,
    path: &Path,
    version: i64,
    application_id: i32,
) -> Result<(), MetaError> {
    let foreign = |detail: String| MetaError::ForeignDatabase {
        path: path.to_path_buf(),
        detail,
    };
    if application_id == APPLICATION_ID {
        return match u32::try_from(version) {
            Ok(found) if found > SCHEMA_VERSION => Err(MetaError::UnknownVersion {
                path: path.to_path_buf(),
                found,
                supported: SCHEMA_VERSION,
            }),
            Ok(_) => Ok(()),
            Err(_) => Err(foreign(format!("its schema version is {version}"))),
        };
    }
    if application_id != 0 {
        return Err(foreign(format!(
            "its application id is {application_id:#010x}, not Shieldwall's {APPLICATION_ID:#010x}"
        )));
    }
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(|e| classify(path, e))?;
    if version != 0 || objects != 0 {
        return Err(foreign(format!(
            "it has {objects} schema objects and user_version {version} but no Shieldwall mark"
        )));
    }
    Ok(())
}

/// Applies the migrations the database lacks, each in an immediate transaction (so no other
/// connection writes meanwhile) that re-reads the version first (another process may have
/// migrated since we looked) and bumps it together with the schema change.
fn migrate(conn: &mut Connection, path: &Path, migrations: &[Migration]) -> Result<(), MetaError> {
    let supported = migrations.last().map_or(0, |m| m.version);
    for migration in migrations {
        if !migration.rebuilds_tables {
            apply(conn, path, migration, supported)?;
            continue;
        }
        // The pragma is a no-op inside a transaction, so it goes around it, and comes back on
        // whatever happened.
        let err = |e| classify(path, e);
        let enforced: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(err)?;
        let applied = apply(conn, path, migration, supported);
        let restored = conn.pragma_update(None, "foreign_keys", enforced);
        applied?;
        restored.map_err(err)?;
    }
    Ok(())
}

/// Applies one migration unless the database already has it.
fn apply(
    conn: &mut Connection,
    path: &Path,
    migration: &Migration,
    supported: u32,
) -> Result<(), MetaError> {
    let err = |e| classify(path, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let (version, _) = header(&tx).map_err(err)?;
    let current = u32::try_from(version).map_err(|_| MetaError::ForeignDatabase {
        path: path.to_path_buf(),
        detail: format!("its schema version is {version}"),
    })?;
    if current > supported {
        return Err(MetaError::UnknownVersion {
            path: path.to_path_buf(),
            found: current,
            supported,
        });
    }
    if current >= migration.version {
        return Ok(());
    }
    let failed = |source| MetaError::Migration {
        path: path.to_path_buf(),
        version: migration.version,
        name: migration.name,
        source,
    };
    tx.execute_batch(migration.sql).map_err(failed)?;
    if migration.rebuilds_tables {
        let dangling: i64 = tx
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .map_err(failed)?;
        if dangling != 0 {
            return Err(MetaError::Migration {
                path: path.to_path_buf(),
                version: migration.version,
                name: migration.name,
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!("{dangling} rows would refer to rows that are gone")),
                ),
            });
        }
    }
    if migration.version == 1 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(failed)?;
    }
    tx.pragma_update(None, "user_version", migration.version)
        .map_err(failed)?;
    tx.commit().map_err(failed)?;
    Ok(())
}

/// Names the file in an SQLite error, and recognises a file that is not a database.
pub(crate) fn classify(path: &Path, source: rusqlite::Error) -> MetaError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => MetaError::NotADatabase {
            path: path.to_path_buf(),
        },
        _ => MetaError::Sqlite {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Creates the database file with mode 0600 if it does not exist (SQLite would create it with
/// the umask's permissions; the WAL and shared-memory files copy the database's).
fn create_private(path: &Path) -> Result<(), MetaError> {
    match create_private_new(path) {
        Ok(_) => Ok(()),
        Err(MetaError::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

fn create_private_new(path: &Path) -> Result<File, MetaError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|source| MetaError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Makes a rename or link in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Distinguishes concurrent backups of one process.
fn next_backup_number() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        header(conn).unwrap().0
    }

    const FIRST: Migration = Migration {
        version: 1,
        name: "first",
        sql: "CREATE TABLE a (x INTEGER NOT NULL) STRICT; INSERT INTO a VALUES (1);",
        rebuilds_tables: false,
    };

    #[test]
    fn a_failing_migration_leaves_the_previous_version_intact() {
        let path = Path::new("test.db");
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, path, &[FIRST]).unwrap();
        assert_eq!(version(&conn), 1);

        let broken = Migration {
            version: 2,
            name: "broken",
            sql: "CREATE TABLE b (y INTEGER); UPDATE a SET x = 2; NOT SQL;",
            rebuilds_tables: false,
        };
        let err = migrate(&mut conn, path, &[FIRST, broken]).unwrap_err();
        assert!(
            matches!(
                err,
                MetaError::Migration {
                    version: 2,
                    name: "broken",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("test.db: migrating"), "{err}");
        assert_eq!(version(&conn), 1);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the half-applied migration left a table");
        let x: i64 = conn.query_row("SELECT x FROM a", [], |r| r.get(0)).unwrap();
        assert_eq!(x, 1, "the half-applied migration changed data");
    }

    #[test]
    fn migrations_take_existing_data_forward_and_run_once() {
        let path = Path::new("test.db");
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, path, &[FIRST]).unwrap();
        let second = Migration {
            version: 2,
            name: "second",
            sql: "ALTER TABLE a ADD COLUMN y INTEGER NOT NULL DEFAULT 7; UPDATE a SET x = x + 1;",
            rebuilds_tables: false,
        };
        migrate(&mut conn, path, &[FIRST, second]).unwrap();
        migrate(&mut conn, path, &[FIRST, second]).unwrap();
        assert_eq!(version(&conn), 2);
        let row: (i64, i64) = conn
            .query_row("SELECT x, y FROM a", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, (2, 7), "a migration ran twice or lost data");
        let app: i32 = conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .unwrap();
        assert_eq!(app, APPLICATION_ID);
        // An older build (knowing only the first migration) refuses the database.
        let err = migrate(&mut conn, path, &[FIRST]).unwrap_err();
        assert!(
            matches!(
                err,
                MetaError::UnknownVersion {
                    found: 2,
                    supported: 1,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    /// Version 5 rebuilds the alerts table: the alerts, the history and outbox rows that refer
    /// to them, and the id counter all survive it, and a baseline alert can be stored after.
    #[test]
    fn the_alerts_rebuild_keeps_alerts_their_references_and_ids() {
        let path = Path::new("test.db");
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        migrate(&mut conn, path, &MIGRATIONS[..4]).unwrap();
        let alert = |id: i64, source: &str| {
            format!(
                "INSERT INTO alerts VALUES ({id}, 'acme', 'k{id}', '{source}', 'r', 't', NULL, \
                 NULL, 'high', 4, '[]', '[]', '{{}}', '[]', 1, 'a', 'b', 'new', NULL, NULL, 'c', 'd');"
            )
        };
        conn.execute_batch(&alert(1, "detection")).unwrap();
        conn.execute_batch(&alert(2, "correlation")).unwrap();
        conn.execute_batch(&alert(3, "detection")).unwrap();
        conn.execute_batch(
            "INSERT INTO alert_history (alert_id, tenant, at, actor, action) \
             VALUES (2, 'acme', 'x', 'pipeline', 'raised'); \
             INSERT INTO outbox (tenant, alert_id, channel, state, next_attempt_at, created_at) \
             VALUES ('acme', 2, 'mail', 'pending', 'x', 'x');",
        )
        .unwrap();
        // Alert 3 was the newest; outside the schema's rules, pretend it went away.
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF; DELETE FROM alerts WHERE id = 3; PRAGMA foreign_keys = ON;",
        )
        .unwrap();
        assert!(
            conn.execute_batch(&alert(4, "baseline")).is_err(),
            "version 4 took a baseline alert"
        );

        migrate(&mut conn, path, MIGRATIONS).unwrap();
        assert_eq!(version(&conn), i64::from(SCHEMA_VERSION));
        let sources: Vec<String> = conn
            .prepare("SELECT source FROM alerts ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(sources, ["detection", "correlation"]);
        let dangling: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        conn.execute_batch(
            "INSERT INTO alerts (tenant, dedup_key, source, rule_id, title, level, severity, \
             attack, controls, group_values, events, event_count, first_seen, last_seen, state, \
             created_at, updated_at) VALUES ('acme', 'b', 'baseline', 'linux/1', 't', 'high', 4, \
             '[]', '[]', '{}', '[]', 1, 'a', 'b', 'new', 'c', 'd');",
        )
        .unwrap();
        let newest: i64 = conn
            .query_row("SELECT max(id) FROM alerts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(newest, 4, "the id of a removed alert was reused");
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'alerts' \
                 AND name IN ('alerts_by_tenant', 'alerts_open_by_key')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 2);
        // Deferred checks still hold after the migration: a dangling reference is refused.
        assert!(
            conn.execute_batch(
                "INSERT INTO alert_history (alert_id, tenant, at, actor, action) \
                 VALUES (99, 'acme', 'x', 'pipeline', 'raised');"
            )
            .is_err()
        );
    }

    #[test]
    fn a_poisoned_connection_is_an_error_not_a_panic() {
        let store = SqliteMetaStore::open_in_memory().unwrap();
        std::thread::scope(|scope| {
            let _ = scope
                .spawn(|| {
                    let _guard = store.conn.lock().unwrap();
                    panic!("a thread dies holding the connection");
                })
                .join();
        });
        let err = store.schema_version().unwrap_err();
        assert!(matches!(err, MetaError::Poisoned { .. }), "{err:?}");
        assert!(err.to_string().starts_with(":memory:"), "{err}");
    }

    #[test]
    fn errors_can_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<MetaError>();
        send_sync::<SqliteMetaStore>();
    }
}
