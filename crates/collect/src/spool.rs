//! The durable spool: an append-only log of accepted messages, split into checksummed segment
//! files, with a byte quota and an acknowledgement mark.
//!
//! On disk, `DIR/seg-<first seq, 20 digits>.spool` files each start with a 24-byte header (magic
//! `SWSPOOL\0`, format version, first sequence number) followed by records: payload length (u32),
//! CRC-32 of sequence number and payload (u32), sequence number (u64), payload; integers little
//! endian. `DIR/ack` holds the first sequence number not yet acknowledged downstream, with its own
//! checksum, replaced atomically.
//!
//! Guarantees:
//! - [`Spool::append`] returns only after the batch is flushed to disk (`fsync`); a caller may
//!   acknowledge its sender then, and a crash after that point loses nothing.
//! - Sequence numbers are dense and increase by one per record, across segments and restarts.
//! - On [`Spool::open`], a torn tail of the last segment (a crash during an append that was
//!   therefore never acknowledged) is cut off; a damaged record in an earlier segment makes that
//!   segment keep only its records before the damage, is reported in the [`RecoveryReport`], and
//!   leaves every other segment intact.
//! - Memory is bounded: a sparse index of one entry per [`INDEX_EVERY`] records per segment.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek, SeekFrom, Write},
    ops::Range,
    path::{Path, PathBuf},
};

const MAGIC: &[u8; 8] = b"SWSPOOL\0";
/// The on-disk format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: u64 = 24;
const RECORD_HEADER_LEN: u64 = 16;
/// One index entry is kept per this many records of a segment.
pub const INDEX_EVERY: u64 = 256;
const ACK_FILE: &str = "ack";
const LOCK_FILE: &str = "lock";

/// Where the spool lives and how large it may grow.
#[derive(Debug, Clone)]
pub struct SpoolConfig {
    /// The spool directory (created if missing).
    pub dir: PathBuf,
    /// A segment is closed and a new one started once it holds this many bytes.
    pub segment_bytes: u64,
    /// The quota: appends that would take the spool past it are refused with [`SpoolError::Full`].
    pub max_bytes: u64,
    /// The largest payload one record may hold.
    pub max_record_bytes: u32,
}

impl SpoolConfig {
    /// Defaults: 64 MiB segments, a 1 GiB quota, records up to 1 MiB.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolConfig {
            dir: dir.into(),
            segment_bytes: 64 << 20,
            max_bytes: 1 << 30,
            max_record_bytes: 1 << 20,
        }
    }
}

/// One spooled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its sequence number.
    pub seq: u64,
    /// The bytes as accepted.
    pub payload: Vec<u8>,
}

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The quota is reached: apply back-pressure and retry after the pipeline catches up.
    #[error(
        "spool {dir} is full: {used} of {limit} bytes used, {wanted} more wanted; the pipeline must catch up or the quota must grow"
    )]
    Full {
        /// The spool directory.
        dir: PathBuf,
        /// Bytes in use.
        used: u64,
        /// The quota.
        limit: u64,
        /// Bytes the refused batch needed.
        wanted: u64,
    },
    /// A payload is larger than the record limit.
    #[error("a message of {size} bytes exceeds the spool's record limit of {limit} bytes")]
    RecordTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: u32,
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
    /// A segment was written by a newer or older format.
    #[error(
        "{path}: spool format version {found} is not supported (this build reads version {FORMAT_VERSION}); do not mix versions in one data directory"
    )]
    Version {
        /// The segment.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// Data that was valid when the spool was opened no longer is.
    #[error("{path}: record at byte {offset} is corrupt ({reason})")]
    Corrupt {
        /// The segment.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process (a running server, an import) has the spool open.
    #[error(
        "spool {dir} is in use by another Shieldwall process; stop it, or send to it instead (for example through an http source)"
    )]
    Locked {
        /// The spool directory.
        dir: PathBuf,
    },
    /// An acknowledgement beyond what was ever appended.
    #[error("cannot acknowledge up to {seq}: only {next} records were ever appended")]
    AckBeyondEnd {
        /// The requested mark.
        seq: u64,
        /// The next sequence number.
        next: u64,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A segment that could not be read whole when the spool was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The segment file.
    pub path: PathBuf,
    /// The byte offset of the first bad record.
    pub offset: u64,
    /// What is wrong there.
    pub reason: String,
    /// Records before the damage, still readable.
    pub kept_records: u64,
}

/// What [`Spool::open`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files in use.
    pub segments: usize,
    /// Records not yet acknowledged: the pipeline resumes with these.
    pub pending: u64,
    /// Bytes cut from the end of the last segment: an append that never completed, and so was
    /// never acknowledged to its sender.
    pub truncated_tail_bytes: u64,
    /// Damaged segments, each kept up to its first bad record.
    pub damaged: Vec<Damage>,
    /// Sequence ranges lost to damage.
    pub lost: Vec<Range<u64>>,
}

impl RecoveryReport {
    /// Whether nothing had to be repaired or skipped.
    pub fn is_clean(&self) -> bool {
        self.truncated_tail_bytes == 0 && self.damaged.is_empty() && self.lost.is_empty()
    }
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    first_seq: u64,
    /// One past the last valid record.
    next_seq: u64,
    /// Bytes of header and valid records.
    len: u64,
    /// (seq, offset) for every INDEX_EVERY-th record.
    index: Vec<(u64, u64)>,
    /// Damaged segments are read up to `len` and never appended to.
    damaged: bool,
}

impl Segment {
    fn note(&mut self, seq: u64, offset: u64) {
        if (seq - self.first_seq).is_multiple_of(INDEX_EVERY) {
            self.index.push((seq, offset));
        }
    }
}

/// The spool. Not thread-safe by itself: the pipeline wraps it in a lock.
#[derive(Debug)]
pub struct Spool {
    config: SpoolConfig,
    segments: Vec<Segment>,
    /// The last segment, open for appending, when it accepts more.
    writer: Option<File>,
    next_seq: u64,
    /// First sequence number not yet acknowledged.
    acked: u64,
    bytes: u64,
    /// Held open for its exclusive lock: one process per spool.
    _lock: File,
}

impl Spool {
    /// Opens (or creates) the spool in `config.dir`, repairing a torn tail and reporting damage.
    pub fn open(config: SpoolConfig) -> Result<(Spool, RecoveryReport), SpoolError> {
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => return Err(SpoolError::Locked { dir }),
            Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
        }
        let mut report = RecoveryReport::default();
        let stored_ack = read_ack(&dir)?;

        let mut names: Vec<(u64, PathBuf)> = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(first) = segment_first_seq(&name) {
                names.push((first, entry.path()));
            }
        }
        names.sort();

        let mut segments: Vec<Segment> = Vec::new();
        let count = names.len();
        for (i, (first_seq, path)) in names.into_iter().enumerate() {
            let last = i + 1 == count;
            let expected = segments.last().map(|s| s.next_seq);
            if let Some(expected) = expected {
                if first_seq < expected {
                    report.damaged.push(Damage {
                        path: path.clone(),
                        offset: 0,
                        reason: format!(
                            "starts at sequence {first_seq}, which an earlier segment already holds"
                        ),
                        kept_records: 0,
                    });
                    continue;
                }
                if first_seq > expected {
                    report.lost.push(expected..first_seq);
                }
            }
            if let Some(segment) = scan_segment(&path, first_seq, last, &config, &mut report)? {
                segments.push(segment);
            }
        }

        let first_retained = segments.first().map_or(0, |s| s.first_seq);
        let next_seq = segments
            .last()
            .map_or(stored_ack.unwrap_or(0), |s| s.next_seq);
        let acked = stored_ack.unwrap_or(first_retained).min(next_seq);

        let bytes = segments.iter().map(|s| s.len).sum();
        let mut spool = Spool {
            config,
            segments,
            writer: None,
            next_seq,
            acked,
            bytes,
            _lock: lock,
        };
        spool.drop_acknowledged_segments()?;
        if let Some(last) = spool.segments.last()
            && !last.damaged
            && last.len < spool.config.segment_bytes
        {
            let file = OpenOptions::new()
                .append(true)
                .open(&last.path)
                .map_err(io_err(&last.path))?;
            spool.writer = Some(file);
        }
        report.segments = spool.segments.len();
        report.pending = spool.pending();
        Ok((spool, report))
    }

    /// Appends a batch and flushes it to disk. Returns the batch's sequence numbers. On
    /// [`SpoolError::Full`] or [`SpoolError::RecordTooLarge`] nothing of the batch is written.
    pub fn append(&mut self, payloads: &[&[u8]]) -> Result<Range<u64>, SpoolError> {
        let limit = self.config.max_record_bytes;
        let mut wanted = 0u64;
        for p in payloads {
            if p.len() > limit as usize {
                return Err(SpoolError::RecordTooLarge {
                    size: p.len(),
                    limit,
                });
            }
            wanted += RECORD_HEADER_LEN + p.len() as u64;
        }
        // Room for the headers of the segments this batch may open.
        let new_segments = wanted / self.config.segment_bytes.max(1) + 1;
        if self.bytes + wanted + new_segments * HEADER_LEN > self.config.max_bytes {
            return Err(SpoolError::Full {
                dir: self.config.dir.clone(),
                used: self.bytes,
                limit: self.config.max_bytes,
                wanted,
            });
        }
        let start = self.next_seq;
        let mut buffer: Vec<u8> = Vec::new();
        let mut buffer_first = self.next_seq;
        for payload in payloads {
            let record_len = RECORD_HEADER_LEN + payload.len() as u64;
            let needs_new = match self.segments.last() {
                None => true,
                Some(last) => {
                    self.writer.is_none()
                        || (last.len + buffer.len() as u64 + record_len > self.config.segment_bytes
                            && last.next_seq > last.first_seq)
                }
            };
            if needs_new {
                self.flush(&mut buffer, buffer_first)?;
                self.start_segment()?;
            }
            let seq = self.next_seq;
            if buffer.is_empty() {
                buffer_first = seq;
            }
            if let Some(last) = self.segments.last_mut() {
                let offset = last.len + buffer.len() as u64;
                last.note(seq, offset);
                last.next_seq = seq + 1;
            }
            encode_record(&mut buffer, seq, payload);
            self.next_seq += 1;
        }
        self.flush(&mut buffer, buffer_first)?;
        Ok(start..self.next_seq)
    }

    /// Writes and syncs the buffered records of the last segment, numbered from `buffer_first`.
    /// On failure the segment is cut back to its last durable length and the buffered records are
    /// forgotten, so memory and disk agree. Earlier segments of the same batch may already be
    /// durable: the caller must not acknowledge a batch whose append failed (its sender retries,
    /// and deterministic event ids remove the duplicates downstream).
    fn flush(&mut self, buffer: &mut Vec<u8>, buffer_first: u64) -> Result<(), SpoolError> {
        if buffer.is_empty() {
            return Ok(());
        }
        let (Some(file), Some(last)) = (self.writer.as_mut(), self.segments.last_mut()) else {
            buffer.clear();
            return Ok(());
        };
        let durable = last.len;
        let size = buffer.len() as u64;
        let written = file.write_all(buffer).and_then(|()| file.sync_data());
        buffer.clear();
        match written {
            Ok(()) => {
                last.len = durable + size;
                self.bytes += size;
                Ok(())
            }
            Err(source) => {
                let _ = file.set_len(durable);
                last.index.retain(|(_, offset)| *offset < durable);
                last.next_seq = buffer_first;
                self.next_seq = buffer_first;
                Err(SpoolError::Io {
                    path: last.path.clone(),
                    source,
                })
            }
        }
    }

    fn start_segment(&mut self) -> Result<(), SpoolError> {
        if let Some(mut old) = self.writer.take() {
            old.flush().map_err(io_err(&self.config.dir))?;
        }
        let path = self.config.dir.join(segment_name(self.next_seq));
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut header = Vec::with_capacity(HEADER_LEN as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&self.next_seq.to_le_bytes());
        file.write_all(&header)
            .and_then(|()| file.sync_all())
            .map_err(io_err(&path))?;
        sync_dir(&self.config.dir)?;
        self.bytes += HEADER_LEN;
        self.segments.push(Segment {
            path,
            first_seq: self.next_seq,
            next_seq: self.next_seq,
            len: HEADER_LEN,
            index: Vec::new(),
            damaged: false,
        });
        self.writer = Some(file);
        Ok(())
    }

    /// Reads up to `max` records starting at sequence `from` (or the first retained record after
    /// it, when `from` was lost to damage or already deleted).
    pub fn read(&self, from: u64, max: usize) -> Result<Vec<Record>, SpoolError> {
        let mut out = Vec::new();
        for segment in self.segments.iter().filter(|s| s.next_seq > from) {
            if out.len() >= max {
                break;
            }
            let start = from.max(segment.first_seq);
            let (mut seq, offset) = segment
                .index
                .iter()
                .rev()
                .find(|(s, _)| *s <= start)
                .copied()
                .unwrap_or((segment.first_seq, HEADER_LEN));
            let mut file = File::open(&segment.path).map_err(io_err(&segment.path))?;
            file.seek(SeekFrom::Start(offset))
                .map_err(io_err(&segment.path))?;
            let mut reader = io::BufReader::new(file.take(segment.len.saturating_sub(offset)));
            let mut at = offset;
            while seq < segment.next_seq && out.len() < max {
                let record = read_record(
                    &mut reader,
                    &segment.path,
                    at,
                    seq,
                    self.config.max_record_bytes,
                )?;
                at += RECORD_HEADER_LEN + record.payload.len() as u64;
                if seq >= start {
                    out.push(record);
                }
                seq += 1;
            }
        }
        Ok(out)
    }

    /// Marks every record before `up_to` as stored downstream, durably, and deletes the segments
    /// that holds only such records.
    pub fn acknowledge(&mut self, up_to: u64) -> Result<(), SpoolError> {
        if up_to > self.next_seq {
            return Err(SpoolError::AckBeyondEnd {
                seq: up_to,
                next: self.next_seq,
            });
        }
        if up_to <= self.acked {
            return Ok(());
        }
        write_ack(&self.config.dir, up_to)?;
        self.acked = up_to;
        self.drop_acknowledged_segments()
    }

    fn drop_acknowledged_segments(&mut self) -> Result<(), SpoolError> {
        let mut removed = false;
        while let Some(first) = self.segments.first() {
            if first.next_seq > self.acked {
                break;
            }
            let is_last = self.segments.len() == 1;
            let path = first.path.clone();
            let len = first.len;
            fs::remove_file(&path).map_err(io_err(&path))?;
            self.bytes = self.bytes.saturating_sub(len);
            self.segments.remove(0);
            if is_last {
                self.writer = None;
            }
            removed = true;
        }
        if removed {
            sync_dir(&self.config.dir)?;
        }
        Ok(())
    }

    /// Records appended but not yet acknowledged (and not lost to damage).
    pub fn pending(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.next_seq > self.acked)
            .map(|s| s.next_seq - s.first_seq.max(self.acked))
            .sum()
    }

    /// The first sequence number not yet acknowledged: where a restarted pipeline resumes.
    pub fn acknowledged_up_to(&self) -> u64 {
        self.acked
    }

    /// The sequence number the next appended record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The configuration.
    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }
}

fn encode_record(buffer: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    buffer.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buffer.extend_from_slice(&hasher.finalize().to_le_bytes());
    buffer.extend_from_slice(&seq.to_le_bytes());
    buffer.extend_from_slice(payload);
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
}

fn le_u64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
}

/// Checks the record at `at`: complete, carrying `seq`, within the record limit and matching its
/// checksum. Returns the offset after it, or why it is bad.
fn check_record(bytes: &[u8], at: usize, seq: u64, max_record: u32) -> Result<usize, String> {
    let (Some(len), Some(crc), Some(found_seq)) = (
        le_u32(bytes, at),
        le_u32(bytes, at + 4),
        le_u64(bytes, at + 8),
    ) else {
        return Err("incomplete record header".into());
    };
    if len > max_record {
        return Err(format!("length {len} exceeds the record limit"));
    }
    let start = at + RECORD_HEADER_LEN as usize;
    let Some(payload) = bytes.get(start..start + len as usize) else {
        return Err("incomplete record".into());
    };
    if found_seq != seq {
        return Err(format!("sequence {found_seq} where {seq} was expected"));
    }
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&found_seq.to_le_bytes());
    hasher.update(payload);
    if hasher.finalize() != crc {
        return Err("checksum mismatch".into());
    }
    Ok(start + len as usize)
}

fn read_record(
    reader: &mut impl Read,
    path: &Path,
    at: u64,
    seq: u64,
    max_record: u32,
) -> Result<Record, SpoolError> {
    let corrupt = |reason: String| SpoolError::Corrupt {
        path: path.to_path_buf(),
        offset: at,
        reason,
    };
    let mut header = [0u8; RECORD_HEADER_LEN as usize];
    reader
        .read_exact(&mut header)
        .map_err(|e| corrupt(format!("cannot read the record header: {e}")))?;
    let len = le_u32(&header, 0).unwrap_or(u32::MAX);
    if len > max_record {
        return Err(corrupt(format!("length {len} exceeds the record limit")));
    }
    let mut payload = vec![0u8; len as usize];
    reader
        .read_exact(&mut payload)
        .map_err(|e| corrupt(format!("cannot read the payload: {e}")))?;
    let mut record = Vec::with_capacity(header.len() + payload.len());
    record.extend_from_slice(&header);
    record.extend_from_slice(&payload);
    check_record(&record, 0, seq, max_record).map_err(corrupt)?;
    Ok(Record { seq, payload })
}

/// Reads a segment, cutting a torn tail off the last one and keeping the good prefix of a
/// damaged one. `None` for a last segment that never got its header (created, then a crash).
fn scan_segment(
    path: &Path,
    first_seq: u64,
    last: bool,
    config: &SpoolConfig,
    report: &mut RecoveryReport,
) -> Result<Option<Segment>, SpoolError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let mut segment = Segment {
        path: path.to_path_buf(),
        first_seq,
        next_seq: first_seq,
        len: HEADER_LEN,
        index: Vec::new(),
        damaged: false,
    };
    let header_problem = if bytes.len() < HEADER_LEN as usize {
        Some("incomplete segment header".to_owned())
    } else if bytes.get(..8) != Some(MAGIC.as_slice()) {
        Some("not a spool segment (bad magic)".to_owned())
    } else {
        match le_u32(&bytes, 8) {
            Some(FORMAT_VERSION) => match le_u64(&bytes, 16) {
                Some(seq) if seq == first_seq => None,
                other => Some(format!(
                    "header says sequence {other:?}, the file name {first_seq}"
                )),
            },
            Some(found) => {
                return Err(SpoolError::Version {
                    path: path.to_path_buf(),
                    found,
                });
            }
            None => Some("incomplete segment header".to_owned()),
        }
    };
    if let Some(reason) = header_problem {
        if last && bytes.len() < HEADER_LEN as usize {
            report.truncated_tail_bytes += bytes.len() as u64;
            fs::remove_file(path).map_err(io_err(path))?;
            return Ok(None);
        }
        // Nothing in it is readable: set it aside (kept for inspection, never read again) so that
        // its name is free for a new segment.
        let aside = path.with_extension("spool.damaged");
        fs::rename(path, &aside).map_err(io_err(path))?;
        report.damaged.push(Damage {
            path: aside,
            offset: 0,
            reason,
            kept_records: 0,
        });
        return Ok(None);
    }
    let mut at = HEADER_LEN as usize;
    while at < bytes.len() {
        match check_record(&bytes, at, segment.next_seq, config.max_record_bytes) {
            Ok(end) => {
                let seq = segment.next_seq;
                segment.note(seq, at as u64);
                segment.next_seq += 1;
                at = end;
            }
            Err(reason) => {
                if last {
                    // An append that did not finish: it was never flushed, so never acknowledged.
                    report.truncated_tail_bytes += (bytes.len() - at) as u64;
                    let file = OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(io_err(path))?;
                    file.set_len(at as u64)
                        .and_then(|()| file.sync_all())
                        .map_err(io_err(path))?;
                } else {
                    report.damaged.push(Damage {
                        path: path.to_path_buf(),
                        offset: at as u64,
                        reason,
                        kept_records: segment.next_seq - first_seq,
                    });
                    segment.damaged = true;
                }
                break;
            }
        }
    }
    segment.len = at as u64;
    Ok(Some(segment))
}

fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.spool")
}

fn segment_first_seq(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".spool")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
}

fn read_ack(dir: &Path) -> Result<Option<u64>, SpoolError> {
    let path = dir.join(ACK_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let (Some(seq), Some(crc)) = (le_u64(&bytes, 0), le_u32(&bytes, 8)) else {
        return Err(SpoolError::Corrupt {
            path,
            offset: 0,
            reason: "acknowledgement file is too short".into(),
        });
    };
    if crc32fast::hash(&seq.to_le_bytes()) != crc {
        return Err(SpoolError::Corrupt {
            path,
            offset: 0,
            reason: "acknowledgement checksum mismatch".into(),
        });
    }
    Ok(Some(seq))
}

fn write_ack(dir: &Path, seq: u64) -> Result<(), SpoolError> {
    let path = dir.join(ACK_FILE);
    let tmp = dir.join(format!("{ACK_FILE}.tmp"));
    let mut bytes = seq.to_le_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(&seq.to_le_bytes()).to_le_bytes());
    let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_first_seq(&segment_name(42)), Some(42));
        assert_eq!(segment_first_seq("seg-42.spool"), None);
        assert_eq!(segment_first_seq("seg-0000000000000000004x.spool"), None);
    }

    #[test]
    fn records_validate_their_checksum_and_sequence() {
        let mut buf = vec![0u8; HEADER_LEN as usize];
        encode_record(&mut buf, 7, b"hello");
        assert_eq!(
            check_record(&buf, HEADER_LEN as usize, 7, 1024),
            Ok(buf.len())
        );
        assert!(
            check_record(&buf, HEADER_LEN as usize, 8, 1024)
                .unwrap_err()
                .contains("sequence 7")
        );
        assert!(
            check_record(&buf, HEADER_LEN as usize, 7, 4)
                .unwrap_err()
                .contains("limit")
        );
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert_eq!(
            check_record(&buf, HEADER_LEN as usize, 7, 1024),
            Err("checksum mismatch".into())
        );
        assert!(check_record(&buf[..30], HEADER_LEN as usize, 7, 1024).is_err());
    }
}
