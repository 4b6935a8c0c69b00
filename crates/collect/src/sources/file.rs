//! The file source: follows log files as they grow, across rotation by rename and by copy and
//! truncate, and remembers how far it has read in a checkpoint file.
//!
//! This module owns the tailer ([`FileSource`]), its configuration ([`FileConfig`]) and its
//! checkpoint format.
//!
//! # Delivery guarantee
//!
//! The checkpoint advances only after the lines up to the recorded offset are on disk in the spool
//! ([`IngestHandle::submit_blocking`] returned `Ok`), and it is replaced atomically (temporary
//! file, fsync, rename, fsync of the directory). After a stop or a crash, tailing resumes from the
//! checkpoint: nothing is skipped. Lines written to the spool after the last checkpoint are read
//! and written again after a crash; they carry the same identity (below), so a store keyed on it
//! keeps each once. What cannot be read is lost: data written to a file that is deleted (or
//! rotated away beyond recognition) before it is read, lines cut at `max_line_bytes` (the rest is
//! counted), and in copy-and-truncate rotation whatever the writer appends between the copy and
//! the truncation (inherent in that scheme).
//!
//! # Identity of a line
//!
//! Each envelope's `peer` is `file:<path>:<inode>:<offset>`: the configured path the file was
//! opened under, its inode number, and the logical byte offset of the line's first byte. The
//! offset is the position in the file plus the bytes consumed in earlier truncation generations
//! of the same inode (see below), so it never repeats within an inode even when the file is
//! truncated and written again. The pipeline derives event ids from it. It is stable across a
//! crash and replay, with one exception: if the process dies after a truncation was detected while
//! a partial last line was held, and before the next checkpoint, the lines of the new generation
//! are numbered from a different base on replay. An inode number reused by the file system for a
//! new file at the same path starts a new generation too (its first bytes differ), so ids of the
//! old and new file do not collide.
//!
//! # How files are followed
//!
//! Every `poll_interval_ms` the source:
//!
//! 1. checks each configured path: if the path now names another file (device and inode differ)
//!    or no file, the file it had open is *rotated*: it stays open and is read for
//!    `rotate_wait_ms` more, and a file newly found at the path is opened and read from its
//!    beginning;
//! 2. reads every rotated file to its end, then every current file to its end: a rotated file is
//!    finished before the file that replaced it is read from (lines a writer adds to a rotated
//!    file after that may arrive after lines of the new one);
//! 3. closes rotated files whose wait is over, emitting their last partial line.
//!
//! **Truncation.** A file whose size is below the read position was truncated (copytruncate): a
//! partial line held is emitted, and reading starts again at 0 in a new generation. A file
//! truncated and then written past the read position between two polls is recognised by its
//! *fingerprint*: the CRC-32 of its first bytes (up to 256, as many as were there when last seen),
//! checked every poll; when they differ the file is treated as truncated. A rewrite that keeps the
//! same first 256 bytes and grows past the read position between two polls goes unnoticed (its
//! first bytes up to the old position are skipped).
//!
//! **Lines** end with LF; a CR before it is removed; empty lines are skipped (but counted). A line
//! longer than `max_line_bytes` is cut: its first `max_line_bytes` bytes are emitted, the rest up
//! to the LF is dropped and counted in [`FileCounters`]. A last line without LF is held until its
//! LF arrives or, with `partial_line_timeout_ms`, until no byte has arrived for that long (the
//! rest of it then becomes a line of its own).
//!
//! **Start.** A path found at start with no checkpoint entry is read from its beginning, or from
//! its end with `start_at = "end"`. A file that appears later (created, or put in place by
//! rotation) is always read from its beginning. If a path names another file at start than the
//! checkpoint recorded (rotated while the collector was down), the recorded file is looked for by
//! device and inode in the same directory and, when found, finished from its recorded offset
//! before the new one is read.
//!
//! **Rotation frequency.** A path is looked at once per round, so a file must stay at its path for
//! at least one round (`poll_interval_ms`, or longer while a large backlog is read): a file
//! created and rotated away again between two looks is never seen, and its lines are lost.
//!
//! **Back-pressure.** When the spool is full the batch is retried after the `retry_after` the
//! spool names, for as long as it takes, without reading further or moving the checkpoint; the
//! files themselves are the buffer. Globs are not supported: list each path.
//!
//! The tailer is a plain blocking loop ([`FileSource::run_blocking`]); [`run`] runs it on tokio's
//! blocking pool. It is Unix only (it identifies files by device and inode).

#![cfg(unix)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::SourceError;
use crate::envelope::Envelope;
use crate::health::SourceStats;
use crate::ingest::{IngestError, IngestHandle};

/// The kind of a file source on the health board.
pub const KIND: &str = "file";
/// The most leading bytes of a file that its fingerprint covers.
pub const FINGERPRINT_BYTES: u64 = 256;
/// The checkpoint format version.
const CHECKPOINT_VERSION: u32 = 1;
/// Bytes read from a file at once.
const READ_CHUNK: usize = 64 * 1024;
/// The longest sleep between two looks at the shutdown token.
const SHUTDOWN_CHECK: Duration = Duration::from_millis(50);
/// How long one round may read before it writes the checkpoint and starts the next round (without
/// sleeping), so that a large backlog is checkpointed as it goes.
const READ_BUDGET: Duration = Duration::from_secs(1);
/// Directory entries examined when looking for a file rotated while the collector was down.
const MAX_DIR_SCAN: usize = 10_000;

/// Where a file never seen before is read from at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// From its first byte.
    #[default]
    Beginning,
    /// From its current end: only lines written from now on.
    End,
}

/// A file source (`type = "file"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The source's name, unique in the configuration. Required.
    pub name: String,
    /// The files to follow, by path (no globs). Required, at least one.
    pub paths: Vec<PathBuf>,
    /// The directory of the checkpoint file (`<name>.checkpoint.json`), created if missing.
    /// Required.
    pub state_dir: PathBuf,
    /// The tenant the messages belong to. Default: `default`.
    #[serde(default = "super::default_tenant")]
    pub tenant: String,
    /// Where a path never seen before is read from at start: `beginning` or `end`. Default:
    /// `beginning`.
    #[serde(default)]
    pub start_at: StartAt,
    /// Milliseconds between two looks at the files. Default: 250.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// The longest line kept; the rest of a longer line is dropped and counted. Default: 65536.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// Milliseconds after which a last line without LF is emitted as it is. Default: none (wait
    /// for the LF).
    #[serde(default)]
    pub partial_line_timeout_ms: Option<u64>,
    /// Milliseconds a rotated file is still read after its path names another file or none.
    /// Default: 5000.
    #[serde(default = "default_rotate_wait_ms")]
    pub rotate_wait_ms: u64,
    /// The most lines submitted to the spool at once. Default: 1000.
    #[serde(default = "default_batch_lines")]
    pub batch_lines: usize,
    /// The most line bytes submitted to the spool at once. Default: 1 MiB.
    #[serde(default = "default_batch_bytes")]
    pub batch_bytes: usize,
}

fn default_poll_interval_ms() -> u64 {
    250
}

fn default_max_line_bytes() -> usize {
    64 * 1024
}

fn default_rotate_wait_ms() -> u64 {
    5000
}

fn default_batch_lines() -> usize {
    1000
}

fn default_batch_bytes() -> usize {
    1 << 20
}

impl FileConfig {
    /// A configuration with every optional field at its default.
    pub fn new(
        name: impl Into<String>,
        paths: Vec<PathBuf>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        FileConfig {
            name: name.into(),
            paths,
            state_dir: state_dir.into(),
            tenant: super::default_tenant(),
            start_at: StartAt::default(),
            poll_interval_ms: default_poll_interval_ms(),
            max_line_bytes: default_max_line_bytes(),
            partial_line_timeout_ms: None,
            rotate_wait_ms: default_rotate_wait_ms(),
            batch_lines: default_batch_lines(),
            batch_bytes: default_batch_bytes(),
        }
    }

    fn check(&self) -> Result<(), SourceError> {
        super::check_name_and_tenant(&self.name, &self.tenant)?;
        if self.paths.is_empty() {
            return Err(self.error("at least one path is required"));
        }
        for path in &self.paths {
            if path.to_string_lossy().contains(['*', '?', '[']) {
                return Err(self.error(&format!(
                    "{}: globs are not supported; list each file",
                    path.display()
                )));
            }
        }
        super::check_positive(
            &self.name,
            "poll_interval_ms",
            self.poll_interval_ms as usize,
        )?;
        super::check_positive(&self.name, "max_line_bytes", self.max_line_bytes)?;
        super::check_positive(&self.name, "batch_lines", self.batch_lines)?;
        super::check_positive(&self.name, "batch_bytes", self.batch_bytes)
    }

    fn error(&self, message: &str) -> SourceError {
        SourceError::Config {
            name: self.name.clone(),
            message: message.to_owned(),
        }
    }

    /// The checkpoint file: `<state_dir>/<name>.checkpoint.json`, the name with characters other
    /// than letters, digits, `.`, `_` and `-` replaced by `_`.
    pub fn checkpoint_path(&self) -> PathBuf {
        let safe: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.state_dir.join(format!("{safe}.checkpoint.json"))
    }
}

/// Counters of the file source beyond [`SourceStats`].
#[derive(Debug, Default)]
pub struct FileCounters {
    /// Lines cut at `max_line_bytes`.
    pub truncated_lines: AtomicU64,
    /// Bytes dropped from those lines.
    pub truncated_bytes: AtomicU64,
    /// Empty lines skipped.
    pub empty_lines: AtomicU64,
    /// Rotations by rename or deletion seen.
    pub rotations: AtomicU64,
    /// Truncations (or rewrites recognised by the fingerprint) seen.
    pub truncations: AtomicU64,
    /// Checkpoint writes.
    pub checkpoints: AtomicU64,
}

// ---------------------------------------------------------------------------------------------
// Checkpoint
// ---------------------------------------------------------------------------------------------

/// The checkpoint file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The format version (1).
    pub version: u32,
    /// One entry per file open.
    pub files: Vec<CheckpointEntry>,
}

/// How far one file has been delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointEntry {
    /// The configured path the file was opened under.
    pub path: String,
    /// Its device number.
    pub dev: u64,
    /// Its inode number.
    pub ino: u64,
    /// The logical offset of its byte 0 (bytes of earlier truncation generations).
    pub base: u64,
    /// The byte offset up to which every line is on disk in the spool.
    pub offset: u64,
    /// How many leading bytes the fingerprint covers.
    pub fingerprint_len: u64,
    /// CRC-32 of those bytes.
    pub fingerprint_crc: u32,
}

impl Checkpoint {
    /// Reads a checkpoint file; a missing file is an empty checkpoint.
    pub fn load(path: &Path) -> io::Result<Checkpoint> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Checkpoint::default()),
            Err(e) => return Err(e),
        };
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a checkpoint file: {e}"),
            )
        })?;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "checkpoint version {} is not supported (this build reads {CHECKPOINT_VERSION})",
                    checkpoint.version
                ),
            ));
        }
        Ok(checkpoint)
    }

    /// Replaces the checkpoint file atomically: temporary file, fsync, rename, fsync of the
    /// directory.
    pub fn store(&self, path: &Path) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let mut tmp_name = path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        {
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    crc: u32,
}

fn read_prefix(file: &File, len: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    let mut done = 0;
    while done < buf.len() {
        let rest = buf.get_mut(done..).unwrap_or_default();
        match file.read_at(rest, done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

fn fingerprint(file: &File, size: u64) -> io::Result<Fingerprint> {
    let prefix = read_prefix(file, size.min(FINGERPRINT_BYTES))?;
    Ok(Fingerprint {
        len: prefix.len() as u64,
        crc: crc32fast::hash(&prefix),
    })
}

/// What a file check found.
enum Check {
    /// Same content, maybe grown; the fingerprint may have been extended.
    Same,
    /// Truncated or rewritten: read again from 0.
    Truncated,
}

/// One open file.
struct Tracked {
    /// The configured path it was opened under.
    path: PathBuf,
    file: File,
    id: FileId,
    /// Logical offset of physical byte 0.
    base: u64,
    /// Where the unfinished line starts.
    line_start: u64,
    /// The next byte to read.
    pos: u64,
    /// The unfinished line's bytes (not kept while skipping).
    pending: Vec<u8>,
    /// The unfinished line was cut at the limit; bytes are discarded up to its LF.
    skipping: bool,
    fingerprint: Fingerprint,
    /// The offset in the checkpoint.
    committed: u64,
    /// When bytes last arrived (or the file was opened).
    last_data: Instant,
    /// When it was found rotated away from its path.
    rotated_at: Option<Instant>,
}

impl Tracked {
    fn open_at(
        path: &Path,
        file: File,
        meta: &fs::Metadata,
        offset: u64,
        base: u64,
    ) -> io::Result<Tracked> {
        let fingerprint = fingerprint(&file, meta.len())?;
        Ok(Tracked {
            path: path.to_path_buf(),
            file,
            id: FileId::of(meta),
            base,
            line_start: offset,
            pos: offset,
            pending: Vec::new(),
            skipping: false,
            fingerprint,
            committed: offset,
            last_data: Instant::now(),
            rotated_at: None,
        })
    }

    fn entry(&self) -> CheckpointEntry {
        CheckpointEntry {
            path: self.path.to_string_lossy().into_owned(),
            dev: self.id.dev,
            ino: self.id.ino,
            base: self.base,
            offset: self.committed,
            fingerprint_len: self.fingerprint.len,
            fingerprint_crc: self.fingerprint.crc,
        }
    }

    /// Compares the file with what was seen: a size below the read position, or different first
    /// bytes, means it was truncated.
    fn check(&mut self, size: u64) -> io::Result<Check> {
        if size < self.pos {
            return Ok(Check::Truncated);
        }
        let want = size.min(FINGERPRINT_BYTES);
        let prefix = read_prefix(&self.file, want.max(self.fingerprint.len))?;
        let old = prefix.get(..self.fingerprint.len as usize);
        match old {
            Some(old) if crc32fast::hash(old) == self.fingerprint.crc => {
                if prefix.len() as u64 > self.fingerprint.len {
                    self.fingerprint = Fingerprint {
                        len: prefix.len() as u64,
                        crc: crc32fast::hash(&prefix),
                    };
                }
                Ok(Check::Same)
            }
            _ => Ok(Check::Truncated),
        }
    }

    fn identity(&self, offset: u64) -> String {
        format!(
            "file:{}:{}:{}",
            self.path.display(),
            self.id.ino,
            self.base + offset
        )
    }
}

/// Lines read and not yet submitted, and the checkpoint they allow.
struct Pending {
    envelopes: Vec<Envelope>,
    bytes: usize,
}

// ---------------------------------------------------------------------------------------------
// The source
// ---------------------------------------------------------------------------------------------

/// An opened file source: its checkpoint loaded, its files found.
pub struct FileSource {
    config: FileConfig,
    checkpoint_path: PathBuf,
    /// The file currently at each configured path.
    current: Vec<Option<Tracked>>,
    /// Files rotated away from their path, still read until their wait is over.
    rotated: Vec<Tracked>,
    counters: Arc<FileCounters>,
    /// The checkpoint last written.
    stored: Checkpoint,
}

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.config.name)
            .field("checkpoint", &self.checkpoint_path)
            .field("rotated", &self.rotated.len())
            .finish_non_exhaustive()
    }
}

/// Why the tail loop stopped.
enum Stop {
    Shutdown,
    Failed(SourceError),
}

impl FileSource {
    /// Checks the configuration, creates the state directory, loads the checkpoint and opens the
    /// files found at the configured paths (resuming where the checkpoint says).
    pub fn open(config: FileConfig) -> Result<FileSource, SourceError> {
        config.check()?;
        fs::create_dir_all(&config.state_dir).map_err(|e| SourceError::File {
            name: config.name.clone(),
            path: config.state_dir.clone(),
            message: format!("cannot create the state directory: {e}"),
        })?;
        let checkpoint_path = config.checkpoint_path();
        let checkpoint = Checkpoint::load(&checkpoint_path).map_err(|e| SourceError::File {
            name: config.name.clone(),
            path: checkpoint_path.clone(),
            message: format!("{e}; move it away to start over"),
        })?;
        let mut source = FileSource {
            current: config.paths.iter().map(|_| None).collect(),
            rotated: Vec::new(),
            counters: Arc::new(FileCounters::default()),
            stored: checkpoint.clone(),
            checkpoint_path,
            config,
        };
        source.restore(&checkpoint);
        Ok(source)
    }

    /// The source's own counters.
    pub fn counters(&self) -> Arc<FileCounters> {
        Arc::clone(&self.counters)
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> &Path {
        &self.checkpoint_path
    }

    fn restore(&mut self, checkpoint: &Checkpoint) {
        let paths = self.config.paths.clone();
        for (index, path) in paths.iter().enumerate() {
            let path_text = path.to_string_lossy();
            let opened = File::open(path).and_then(|file| {
                let meta = file.metadata()?;
                Ok((file, meta))
            });
            let found = match opened {
                Ok(found) => Some(found),
                Err(e) => {
                    if e.kind() != io::ErrorKind::NotFound {
                        tracing::warn!(source = %self.config.name, path = %path.display(), "cannot open: {e}");
                    }
                    None
                }
            };
            let id = found.as_ref().map(|(_, meta)| FileId::of(meta));
            // A recorded file that is no longer at its path: look for it beside it.
            for entry in checkpoint.files.iter().filter(|e| e.path == path_text) {
                let entry_id = FileId {
                    dev: entry.dev,
                    ino: entry.ino,
                };
                if Some(entry_id) == id {
                    continue;
                }
                match self.find_rotated(path, entry) {
                    Some(mut tracked) => {
                        tracked.rotated_at = Some(Instant::now());
                        self.rotated.push(tracked);
                    }
                    None => tracing::warn!(
                        source = %self.config.name,
                        path = %path.display(),
                        ino = entry.ino,
                        "a file rotated while the collector was down was not found; lines it held after offset {} are lost",
                        entry.offset
                    ),
                }
            }
            let Some((file, meta)) = found else {
                continue;
            };
            let recorded = checkpoint.files.iter().find(|e| {
                e.path == path_text
                    && Some(FileId {
                        dev: e.dev,
                        ino: e.ino,
                    }) == id
            });
            let seen_before = checkpoint.files.iter().any(|e| e.path == path_text);
            let tracked = match recorded {
                Some(entry) => self.resume(path, file, &meta, entry),
                None if seen_before || self.config.start_at == StartAt::Beginning => {
                    Tracked::open_at(path, file, &meta, 0, 0)
                }
                None => Tracked::open_at(path, file, &meta, meta.len(), 0),
            };
            match tracked {
                Ok(tracked) => {
                    if let Some(slot) = self.current.get_mut(index) {
                        *slot = Some(tracked);
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %self.config.name, path = %path.display(), "cannot read: {e}")
                }
            }
        }
    }

    /// Opens a recorded file at its offset, or from 0 in a new generation when it was truncated or
    /// rewritten meanwhile.
    fn resume(
        &self,
        path: &Path,
        file: File,
        meta: &fs::Metadata,
        entry: &CheckpointEntry,
    ) -> io::Result<Tracked> {
        let prefix = read_prefix(&file, entry.fingerprint_len)?;
        let same = meta.len() >= entry.offset
            && prefix.len() as u64 == entry.fingerprint_len
            && crc32fast::hash(&prefix) == entry.fingerprint_crc;
        if same {
            Tracked::open_at(path, file, meta, entry.offset, entry.base)
        } else {
            self.counters.truncations.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                source = %self.config.name,
                path = %path.display(),
                "truncated or rewritten while the collector was down; reading it again from the start"
            );
            Tracked::open_at(path, file, meta, 0, entry.base + entry.offset)
        }
    }

    /// Looks for a recorded file by device and inode in the directory of its path.
    fn find_rotated(&self, path: &Path, entry: &CheckpointEntry) -> Option<Tracked> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let entries = fs::read_dir(dir).ok()?;
        for dir_entry in entries.flatten().take(MAX_DIR_SCAN) {
            let Ok(meta) = dir_entry.metadata() else {
                continue;
            };
            if meta.dev() != entry.dev || meta.ino() != entry.ino || !meta.is_file() {
                continue;
            }
            let file = File::open(dir_entry.path()).ok()?;
            let meta = file.metadata().ok()?;
            if meta.dev() != entry.dev || meta.ino() != entry.ino {
                return None;
            }
            tracing::info!(
                source = %self.config.name,
                path = %path.display(),
                now = %dir_entry.path().display(),
                "finishing a file rotated while the collector was down"
            );
            return self.resume(path, file, &meta, entry).ok();
        }
        None
    }

    /// Tails until `shutdown` is cancelled, on the calling thread, which must not be an async
    /// runtime thread (it blocks). Returns an error only when the spool fails or the checkpoint
    /// cannot be written.
    pub fn run_blocking(
        mut self,
        ingest: &IngestHandle,
        stats: &SourceStats,
        shutdown: &CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::info!(source = %self.config.name, paths = ?self.config.paths, "tailing files");
        let interval = Duration::from_millis(self.config.poll_interval_ms);
        loop {
            let more = match self.poll(ingest, stats, shutdown) {
                Ok(more) => more,
                Err(Stop::Shutdown) => break,
                Err(Stop::Failed(e)) => return Err(e),
            };
            if more {
                if shutdown.is_cancelled() {
                    break;
                }
            } else if sleep_unless_cancelled(interval, shutdown) {
                break;
            }
        }
        tracing::info!(source = %self.config.name, "file source stopped");
        Ok(())
    }

    /// One round: detect rotation, read rotated files to their end, then current ones, close
    /// rotated files whose wait is over, write the checkpoint. Returns whether reading stopped at
    /// the round's time budget with more to read.
    fn poll(
        &mut self,
        ingest: &IngestHandle,
        stats: &SourceStats,
        shutdown: &CancellationToken,
    ) -> Result<bool, Stop> {
        let deadline = Instant::now() + READ_BUDGET;
        let mut more = false;
        self.detect_rotation();
        let limits = (self.config.batch_lines, self.config.batch_bytes);
        let max_line = self.config.max_line_bytes;
        let partial_timeout = self
            .config
            .partial_line_timeout_ms
            .map(Duration::from_millis);
        let name = self.config.name.clone();
        let rotate_wait = Duration::from_millis(self.config.rotate_wait_ms);

        let mut index = 0;
        while index < self.rotated.len() {
            more |= self.read_file(
                Which::Rotated(index),
                ingest,
                stats,
                shutdown,
                (limits, max_line, deadline),
                None,
            )?;
            index += 1;
        }
        // A file that replaced a rotated one is read only once the rotated one is finished.
        if !more {
            for index in 0..self.current.len() {
                more |= self.read_file(
                    Which::Current(index),
                    ingest,
                    stats,
                    shutdown,
                    (limits, max_line, deadline),
                    partial_timeout,
                )?;
            }
        }
        // Close rotated files whose wait is over, with their last partial line.
        let mut index = 0;
        while index < self.rotated.len() {
            let expired = self
                .rotated
                .get(index)
                .and_then(|t| t.rotated_at)
                .is_some_and(|at| at.elapsed() >= rotate_wait);
            if expired
                && !self.read_file(
                    Which::Rotated(index),
                    ingest,
                    stats,
                    shutdown,
                    (limits, max_line, deadline),
                    Some(Duration::ZERO),
                )?
            {
                let closed = self.rotated.remove(index);
                tracing::debug!(source = %name, path = %closed.path.display(), ino = closed.id.ino, "rotated file closed");
            } else {
                index += 1;
            }
        }
        self.store_checkpoint()?;
        Ok(more)
    }

    /// Moves files no longer at their path to the rotated list and opens what is there now.
    fn detect_rotation(&mut self) {
        let name = self.config.name.clone();
        for (index, path) in self.config.paths.iter().enumerate() {
            let Some(slot) = self.current.get_mut(index) else {
                continue;
            };
            let now_there = fs::metadata(path).ok().filter(fs::Metadata::is_file);
            let moved = match (&slot, &now_there) {
                (Some(tracked), Some(meta)) => tracked.id != FileId::of(meta),
                (Some(_), None) => true,
                (None, _) => false,
            };
            if moved && let Some(mut old) = slot.take() {
                old.rotated_at = Some(Instant::now());
                self.counters.rotations.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(source = %name, path = %path.display(), ino = old.id.ino, "file rotated");
                // A file that returns to its path (renamed back) is not read twice.
                self.rotated.push(old);
            }
            if slot.is_none() && now_there.is_some() {
                let reopened = File::open(path).and_then(|file| {
                    let meta = file.metadata()?;
                    Ok((file, meta))
                });
                match reopened {
                    Ok((file, meta)) => {
                        let id = FileId::of(&meta);
                        if let Some(back) = self.rotated.iter().position(|t| t.id == id) {
                            let mut tracked = self.rotated.remove(back);
                            tracked.rotated_at = None;
                            *slot = Some(tracked);
                        } else {
                            match Tracked::open_at(path, file, &meta, 0, 0) {
                                Ok(tracked) => *slot = Some(tracked),
                                Err(e) => {
                                    tracing::warn!(source = %name, path = %path.display(), "cannot read: {e}")
                                }
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(source = %name, path = %path.display(), "cannot open yet: {e}")
                    }
                }
            }
        }
    }

    /// Reads a file to its end, or until `deadline` (after at least one chunk): then returns
    /// `true`, with what was read so far submitted.
    fn read_file(
        &mut self,
        which: Which,
        ingest: &IngestHandle,
        stats: &SourceStats,
        shutdown: &CancellationToken,
        ((batch_lines, batch_bytes), max_line, deadline): ((usize, usize), usize, Instant),
        partial_timeout: Option<Duration>,
    ) -> Result<bool, Stop> {
        let name = self.config.name.clone();
        let counters = Arc::clone(&self.counters);
        let Some(tracked) = (match which {
            Which::Current(i) => self.current.get_mut(i).and_then(Option::as_mut),
            Which::Rotated(i) => self.rotated.get_mut(i),
        }) else {
            return Ok(false);
        };
        let mut pending = Pending {
            envelopes: Vec::new(),
            bytes: 0,
        };
        let mut buf = vec![0u8; READ_CHUNK];
        let mut chunks = 0usize;
        let mut more = false;
        // Failures to stat or read end this round for the file (logged; the next round tries
        // again), after what was read is submitted.
        loop {
            if chunks > 0 && Instant::now() >= deadline {
                more = true;
                break;
            }
            let size = match tracked.file.metadata() {
                Ok(meta) => meta.len(),
                Err(e) => {
                    tracing::warn!(source = %name, path = %tracked.path.display(), "cannot stat: {e}");
                    break;
                }
            };
            match tracked.check(size) {
                Ok(Check::Same) => {}
                Ok(Check::Truncated) => {
                    counters.truncations.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(source = %name, path = %tracked.path.display(), "file truncated; reading it again from the start");
                    if !tracked.pending.is_empty() && !tracked.skipping {
                        let line = std::mem::take(&mut tracked.pending);
                        emit(
                            &name,
                            tracked,
                            &mut pending,
                            tracked.line_start,
                            line,
                            &counters,
                        );
                    }
                    // Everything up to the old read position counts as consumed.
                    submit(&name, tracked, &mut pending, ingest, stats, shutdown)?;
                    tracked.base += tracked.pos;
                    tracked.pos = 0;
                    tracked.line_start = 0;
                    tracked.committed = 0;
                    tracked.skipping = false;
                    tracked.pending.clear();
                    tracked.fingerprint = fingerprint(&tracked.file, size).unwrap_or(Fingerprint {
                        len: 0,
                        crc: crc32fast::hash(&[]),
                    });
                    continue;
                }
                Err(e) => {
                    tracing::warn!(source = %name, path = %tracked.path.display(), "cannot read: {e}");
                    break;
                }
            }
            if tracked.pos >= size {
                break;
            }
            let n = match tracked.file.read_at(&mut buf, tracked.pos) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(source = %name, path = %tracked.path.display(), "read failed: {e}");
                    break;
                }
            };
            chunks += 1;
            tracked.last_data = Instant::now();
            let chunk = buf.get(..n).unwrap_or_default();
            let mut used = 0;
            while used < chunk.len() {
                if pending.envelopes.len() >= batch_lines || pending.bytes >= batch_bytes {
                    break;
                }
                let rest = chunk.get(used..).unwrap_or_default();
                let newline = rest.iter().position(|&c| c == b'\n');
                let piece = match newline {
                    Some(at) => rest.get(..at).unwrap_or_default(),
                    None => rest,
                };
                let piece_end = tracked.pos + piece.len() as u64;
                if tracked.skipping {
                    counters
                        .truncated_bytes
                        .fetch_add(piece.len() as u64, Ordering::Relaxed);
                } else {
                    let room = max_line.saturating_sub(tracked.pending.len());
                    let (keep, drop) = piece.split_at(room.min(piece.len()));
                    tracked.pending.extend_from_slice(keep);
                    if !drop.is_empty() {
                        // The line is longer than allowed: emit its head, skip to its end.
                        counters.truncated_lines.fetch_add(1, Ordering::Relaxed);
                        counters
                            .truncated_bytes
                            .fetch_add(drop.len() as u64, Ordering::Relaxed);
                        let line = std::mem::take(&mut tracked.pending);
                        emit(
                            &name,
                            tracked,
                            &mut pending,
                            tracked.line_start,
                            line,
                            &counters,
                        );
                        tracked.skipping = true;
                    }
                }
                tracked.pos = piece_end;
                used += piece.len();
                if newline.is_some() {
                    tracked.pos += 1;
                    used += 1;
                    if !tracked.skipping {
                        let mut line = std::mem::take(&mut tracked.pending);
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        emit(
                            &name,
                            tracked,
                            &mut pending,
                            tracked.line_start,
                            line,
                            &counters,
                        );
                    }
                    tracked.skipping = false;
                    tracked.line_start = tracked.pos;
                }
            }
            if pending.envelopes.len() >= batch_lines || pending.bytes >= batch_bytes {
                submit(&name, tracked, &mut pending, ingest, stats, shutdown)?;
            }
        }
        // A last line without LF, silent for long enough.
        if let Some(timeout) = partial_timeout
            && !tracked.pending.is_empty()
            && !tracked.skipping
            && tracked.last_data.elapsed() >= timeout
        {
            let line = std::mem::take(&mut tracked.pending);
            let mut line = line;
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            emit(
                &name,
                tracked,
                &mut pending,
                tracked.line_start,
                line,
                &counters,
            );
            tracked.line_start = tracked.pos;
        }
        submit(&name, tracked, &mut pending, ingest, stats, shutdown)?;
        Ok(more)
    }

    /// Writes the checkpoint if it changed.
    fn store_checkpoint(&mut self) -> Result<(), Stop> {
        let checkpoint = Checkpoint {
            version: CHECKPOINT_VERSION,
            files: self
                .rotated
                .iter()
                .chain(self.current.iter().flatten())
                .map(Tracked::entry)
                .collect(),
        };
        if checkpoint == self.stored {
            return Ok(());
        }
        checkpoint.store(&self.checkpoint_path).map_err(|e| {
            Stop::Failed(SourceError::File {
                name: self.config.name.clone(),
                path: self.checkpoint_path.clone(),
                message: format!("cannot write the checkpoint: {e}"),
            })
        })?;
        self.counters.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.stored = checkpoint;
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Which {
    Current(usize),
    Rotated(usize),
}

/// Adds a line to the batch (empty lines are only counted).
fn emit(
    name: &str,
    tracked: &Tracked,
    pending: &mut Pending,
    offset: u64,
    line: Vec<u8>,
    counters: &FileCounters,
) {
    if line.is_empty() {
        counters.empty_lines.fetch_add(1, Ordering::Relaxed);
        return;
    }
    pending.bytes = pending.bytes.saturating_add(line.len());
    let identity = tracked.identity(offset);
    pending.envelopes.push(Envelope {
        source: name.to_owned(),
        received: Timestamp::now(),
        key: identity.clone(),
        peer: identity,
        client_identity: String::new(),
        payload: line,
    });
}

/// Submits the batch, retrying while the spool is full, then records the offset it allows. A
/// message larger than the spool accepts is dropped and counted so that the file can go on.
fn submit(
    name: &str,
    tracked: &mut Tracked,
    pending: &mut Pending,
    ingest: &IngestHandle,
    stats: &SourceStats,
    shutdown: &CancellationToken,
) -> Result<(), Stop> {
    let upto = tracked.line_start;
    if !pending.envelopes.is_empty() {
        submit_retrying(name, &pending.envelopes, ingest, stats, shutdown)?;
        pending.envelopes.clear();
        pending.bytes = 0;
    }
    tracked.committed = upto;
    Ok(())
}

fn submit_retrying(
    name: &str,
    envelopes: &[Envelope],
    ingest: &IngestHandle,
    stats: &SourceStats,
    shutdown: &CancellationToken,
) -> Result<(), Stop> {
    loop {
        let wait = match ingest.submit_blocking(envelopes) {
            Ok(_) => {
                let bytes: usize = envelopes.iter().map(|e| e.payload.len()).sum();
                stats.record_accepted(envelopes.len() as u64, bytes as u64, Timestamp::now());
                return Ok(());
            }
            Err(IngestError::Full { retry_after }) => {
                stats.record_refused();
                retry_after
            }
            Err(IngestError::Busy) => Duration::from_millis(100),
            Err(IngestError::TooLarge(reason)) if envelopes.len() > 1 => {
                for envelope in envelopes {
                    submit_retrying(
                        name,
                        std::slice::from_ref(envelope),
                        ingest,
                        stats,
                        shutdown,
                    )?;
                }
                tracing::debug!(source = name, "batch split after: {reason}");
                return Ok(());
            }
            Err(IngestError::TooLarge(reason)) => {
                stats.record_dropped(1);
                tracing::warn!(source = name, "line dropped: {reason}");
                return Ok(());
            }
            Err(error @ IngestError::Failed(_)) => {
                return Err(Stop::Failed(SourceError::Ingest {
                    name: name.to_owned(),
                    error,
                }));
            }
        };
        if sleep_unless_cancelled(wait.max(Duration::from_millis(10)), shutdown) {
            return Err(Stop::Shutdown);
        }
    }
}

/// Sleeps `duration`, waking early when `shutdown` is cancelled; `true` when it was.
fn sleep_unless_cancelled(duration: Duration, shutdown: &CancellationToken) -> bool {
    let until = Instant::now() + duration;
    loop {
        if shutdown.is_cancelled() {
            return true;
        }
        let now = Instant::now();
        if now >= until {
            return false;
        }
        std::thread::sleep((until - now).min(SHUTDOWN_CHECK));
    }
}

impl FileSource {
    /// Tails on tokio's blocking pool until `shutdown` is cancelled: the async counterpart of
    /// the other sources' `serve`.
    pub async fn serve(
        self,
        ingest: IngestHandle,
        stats: Arc<SourceStats>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        let name = self.config.name.clone();
        let joined =
            tokio::task::spawn_blocking(move || self.run_blocking(&ingest, &stats, &shutdown))
                .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(SourceError::Config {
                name,
                message: format!("the tailing thread failed: {e}"),
            }),
        }
    }
}

/// Opens the source and tails until `shutdown` is cancelled: [`FileSource::open`] then
/// [`FileSource::serve`].
pub async fn run(
    config: FileConfig,
    ingest: IngestHandle,
    stats: Arc<SourceStats>,
    shutdown: CancellationToken,
) -> Result<(), SourceError> {
    FileSource::open(config)?
        .serve(ingest, stats, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_and_refuse_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let checkpoint = Checkpoint {
            version: CHECKPOINT_VERSION,
            files: vec![CheckpointEntry {
                path: "/var/log/x".into(),
                dev: 1,
                ino: 2,
                base: 3,
                offset: 4,
                fingerprint_len: 5,
                fingerprint_crc: 6,
            }],
        };
        checkpoint.store(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), checkpoint);
        assert!(!dir.path().join("c.json.tmp").exists());
        fs::write(&path, b"{").unwrap();
        assert!(Checkpoint::load(&path).is_err());
        fs::write(&path, br#"{"version": 2, "files": []}"#).unwrap();
        assert!(Checkpoint::load(&path).is_err());
    }

    #[test]
    fn checkpoint_names_are_safe() {
        let c = FileConfig::new("a/b c", vec![PathBuf::from("/x")], "/state");
        assert_eq!(
            c.checkpoint_path(),
            Path::new("/state/a_b_c.checkpoint.json")
        );
    }

    #[test]
    fn globs_and_empty_path_lists_are_refused() {
        let c = FileConfig::new("f", vec![PathBuf::from("/var/log/*.log")], "/s");
        assert!(c.check().is_err());
        let c = FileConfig::new("f", vec![], "/s");
        assert!(c.check().is_err());
    }
}
