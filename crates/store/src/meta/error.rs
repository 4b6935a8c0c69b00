//! [`MetaError`]: everything that can go wrong in a [`MetaStore`](super::MetaStore). Every
//! message about the database starts with its file (`:memory:` for an in-memory store).

use std::io;
use std::path::PathBuf;

/// The error of the relational store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The file exists but is not an SQLite database.
    #[error(
        "{path} is not a Shieldwall metadata database: it is not an SQLite file (check the path, or move the file away to start a new database)"
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database of another program (or one without our mark that already
    /// has tables): it is not touched.
    #[error(
        "{path} is an SQLite database but not a Shieldwall metadata database ({detail}); it was left untouched"
    )]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        detail: String,
    },
    /// The database was written by a newer Shieldwall, whose schema this build does not know.
    #[error(
        "{path} has metadata schema version {found}, but this build of Shieldwall knows versions up to {supported}: it was written by a newer Shieldwall; run that version (or newer), or restore a backup made by this one. The file was left untouched"
    )]
    UnknownVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// SQLite would not switch the file to the WAL journal.
    #[error(
        "{path}: SQLite would not switch to the WAL journal and kept {mode:?}; keep the database on a local file system"
    )]
    NoWal {
        /// The file.
        path: PathBuf,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// Applying a migration failed; the database stays at the previous version.
    #[error("{path}: migrating the metadata schema to version {version} ({name}) failed: {source}")]
    Migration {
        /// The file.
        path: PathBuf,
        /// The version the migration leads to.
        version: u32,
        /// The migration's name.
        name: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// An SQLite call failed (including a database that stayed locked past the busy timeout).
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A stored row does not decode: the database was changed by something other than
    /// Shieldwall, or is damaged.
    #[error("{path}: {table} row {row} is invalid: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The row's key.
        row: String,
        /// What is wrong.
        detail: String,
    },
    /// A thread panicked while it held the database connection; the store refuses further use
    /// rather than risk a half-done operation.
    #[error(
        "{path}: the metadata store is unusable because a thread panicked while using it; restart the process"
    )]
    Poisoned {
        /// The file.
        path: PathBuf,
    },
    /// [`MetaStore::backup_to`](super::MetaStore::backup_to) was given a file that exists.
    #[error(
        "{path}: a file with this name already exists; backups never overwrite, choose another name"
    )]
    BackupExists {
        /// The destination.
        path: PathBuf,
    },
    /// A deletion record was refused before anything was written.
    #[error("invalid deletion record: {reason}")]
    InvalidDeletion {
        /// Why.
        reason: String,
    },
    /// A retention policy was refused before anything was written.
    #[error("invalid retention policy: {reason}")]
    InvalidRetention {
        /// Why.
        reason: &'static str,
    },
    /// An alert or alert change that breaks the rules every implementation enforces.
    #[error("invalid alert: {reason}")]
    InvalidAlert {
        /// What is wrong.
        reason: String,
    },
    /// No alert of that id in that tenant.
    #[error("tenant {tenant:?} has no alert {id}")]
    NoSuchAlert {
        /// The tenant asked for.
        tenant: String,
        /// The id asked for.
        id: u64,
    },
    /// The alert's state does not allow the change.
    #[error("alert {id}: {reason}")]
    AlertState {
        /// The alert.
        id: u64,
        /// Why not.
        reason: String,
    },
    /// No notification of that id.
    #[error("no notification {id} in the outbox")]
    NoSuchNotification {
        /// The id asked for.
        id: u64,
    },
    /// An account, tenant, binding, token or audit record that breaks the rules every
    /// implementation enforces; nothing was written.
    #[error("{reason}")]
    Invalid {
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The thing to create exists already (an account or tenant name, a binding's scope).
    #[error("{what} already exists")]
    Exists {
        /// What, with its name.
        what: String,
    },
    /// The thing to change or read does not exist.
    #[error("{what} does not exist")]
    NotFound {
        /// What, with its name or id.
        what: String,
    },
    /// The binding would give an account a second administrator role.
    #[error(
        "separation of duties: account {account:?} is already {held} and cannot also be {asked}; an account holds at most one administrator role"
    )]
    SeparationOfDuties {
        /// The account.
        account: String,
        /// The administrator role it holds.
        held: String,
        /// The administrator role asked for.
        asked: String,
    },
    /// No report mailing of that id.
    #[error("no report mailing {id} in the report outbox")]
    NoSuchReportDelivery {
        /// The id asked for.
        id: u64,
    },
    /// The report mailing was already delivered or given up.
    #[error("report mailing {id} is already {state}")]
    ReportDeliveryDone {
        /// The mailing.
        id: u64,
        /// Its state.
        state: String,
    },
    /// The notification was already delivered or given up.
    #[error("notification {id} is already {state}")]
    NotificationDone {
        /// The notification.
        id: u64,
        /// Its state.
        state: String,
    },
}
