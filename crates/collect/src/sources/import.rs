//! One-shot import, the library side of `shieldwall import FILE|-`: reads plain lines or NDJSON
//! from a file or standard input, gzip-compressed or not, and writes them to the spool in bounded
//! batches.
//!
//! This module owns [`import`] (any reader), [`import_path`] (a path, `-` for standard input),
//! their options, progress events, summary and errors. It never prints: progress goes to the
//! caller's callback.
//!
//! # Delivery guarantee
//!
//! Each batch is written with [`IngestHandle::submit_blocking`], which returns only once the batch
//! is on disk in the spool; [`ImportSummary::messages`] counts only what is. When the spool is full
//! the same batch is submitted again after the `retry_after` the spool names, for as long as the
//! callback lets it ([`ImportProgress::SpoolFull`]). An import that stops (error, invalid line,
//! cancellation) has written every batch before the one it stopped in, and nothing after: running
//! it again writes the earlier lines a second time (an import has no checkpoint).
//!
//! # Input
//!
//! - Compression: input starting with the gzip magic bytes `1f 8b` is decompressed (several
//!   concatenated gzip members too, as `cat a.gz b.gz` makes); anything else is read as it is.
//! - Lines end with LF; a CR before it is removed; the last line may lack its LF. Each line is one
//!   message, in both formats. Empty lines (in NDJSON, lines of only white space) are skipped and
//!   counted.
//! - A line longer than `max_line_bytes` is skipped whole and counted (a cut JSON document would
//!   be invalid, and a cut message misleading); its line number is reported.
//! - [`ImportFormat::Ndjson`] checks that each line is one JSON value (a leading UTF-8 byte order
//!   mark on the first line is dropped). A line that is not is reported with its number and, per
//!   [`OnInvalid`], skipped or the import stops there.
//! - Memory is bounded by the batch (`batch_lines` lines, `batch_bytes` bytes) and one line.
//!
//! Each envelope has source `options.source` (default `import`) and peer the path, or `-` for
//! standard input.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use flate2::read::MultiGzDecoder;
use jiff::Timestamp;
use shieldwall_parse::lines::BoundedLines;

use crate::envelope::Envelope;
use crate::ingest::{IngestError, IngestHandle};

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// How many problem lines the summary keeps.
pub const MAX_REPORTED_PROBLEMS: usize = 20;
/// The buffer of the reader.
const READ_BUFFER: usize = 64 * 1024;

/// How lines are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ImportFormat {
    /// Plain lines, stored as they are.
    #[default]
    Lines,
    /// One JSON value per line, checked before it is stored.
    Ndjson,
}

/// What to do with a line that is not valid NDJSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnInvalid {
    /// Stop the import with [`ImportError::Invalid`].
    #[default]
    Stop,
    /// Skip it, report it through the callback and in the summary, and go on.
    Skip,
}

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The source name in every envelope. Default: `import`.
    pub source: String,
    /// The peer in every envelope: the file path, or `-` for standard input.
    pub peer: String,
    /// Plain lines or NDJSON. Default: lines.
    pub format: ImportFormat,
    /// What an invalid NDJSON line does. Default: stop.
    pub on_invalid: OnInvalid,
    /// The most lines written at once. Default: 1000.
    pub batch_lines: usize,
    /// The most line bytes written at once. Default: 1 MiB.
    pub batch_bytes: usize,
    /// The longest line imported; longer lines are skipped and counted. Default: 1,000,000 (an
    /// envelope of it fits the spool's default 1 MiB record limit).
    pub max_line_bytes: usize,
}

impl ImportOptions {
    /// Options for input named `peer` (a path, or `-`), every other field at its default.
    pub fn new(peer: impl Into<String>) -> Self {
        ImportOptions {
            source: "import".to_owned(),
            peer: peer.into(),
            format: ImportFormat::default(),
            on_invalid: OnInvalid::default(),
            batch_lines: 1000,
            batch_bytes: 1 << 20,
            max_line_bytes: 1_000_000,
        }
    }
}

/// A line that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// Its number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub problem: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Whether the input was gzip-compressed.
    pub gzip: bool,
    /// Lines read, of every kind.
    pub lines: u64,
    /// Bytes read (after decompression), line ends included.
    pub input_bytes: u64,
    /// Messages written to the spool.
    pub messages: u64,
    /// Bytes of those messages.
    pub bytes: u64,
    /// Batches written.
    pub batches: u64,
    /// Empty lines skipped.
    pub empty_lines: u64,
    /// Lines longer than `max_line_bytes`, skipped.
    pub oversize_lines: u64,
    /// Invalid NDJSON lines skipped (or the one that stopped the import).
    pub invalid_lines: u64,
    /// Times the spool was full and the batch waited.
    pub spool_full_waits: u64,
    /// The first [`MAX_REPORTED_PROBLEMS`] oversize or invalid lines.
    pub problems: Vec<LineProblem>,
}

/// What the progress callback hears about.
#[derive(Debug)]
pub enum ImportProgress<'a> {
    /// A batch is on disk; the summary so far.
    BatchWritten(&'a ImportSummary),
    /// The spool is full; the batch is submitted again after `retry_after` unless the callback
    /// answers [`ControlFlow::Break`].
    SpoolFull {
        /// The wait before the next attempt.
        retry_after: Duration,
        /// The summary so far.
        summary: &'a ImportSummary,
    },
    /// A line was skipped (oversize, or invalid with [`OnInvalid::Skip`]).
    LineSkipped(&'a LineProblem),
}

/// Why an import stopped. Each variant carries the summary of what was done before.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading (or decompressing) failed.
    #[error("{peer}: read failed at line {line}: {source}")]
    Read {
        /// The input.
        peer: String,
        /// The line being read.
        line: u64,
        /// The cause.
        #[source]
        source: io::Error,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// An invalid NDJSON line with [`OnInvalid::Stop`].
    #[error("{peer}: line {line} is not valid JSON: {message}")]
    Invalid {
        /// The input.
        peer: String,
        /// The line.
        line: u64,
        /// What is wrong.
        message: String,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// The spool refused for good (disk error, writer stopped, message over the record limit).
    #[error("{peer}: cannot write to the spool: {error}")]
    Ingest {
        /// The input.
        peer: String,
        /// The cause.
        error: IngestError,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// The callback stopped the import while the spool was full.
    #[error("{peer}: import cancelled while the spool was full")]
    Cancelled {
        /// The input.
        peer: String,
        /// What was done before.
        summary: Box<ImportSummary>,
    },
    /// The options are unusable.
    #[error("invalid import options: {0}")]
    Options(String),
}

impl ImportError {
    /// The summary of what was done before the import stopped, when it had started.
    pub fn summary(&self) -> Option<&ImportSummary> {
        match self {
            ImportError::Read { summary, .. }
            | ImportError::Invalid { summary, .. }
            | ImportError::Ingest { summary, .. }
            | ImportError::Cancelled { summary, .. } => Some(summary),
            ImportError::Open { .. } | ImportError::Options(_) => None,
        }
    }
}

/// Imports `path`, or standard input when it is `-`. `options.peer` is replaced by the path.
pub fn import_path(
    path: &Path,
    ingest: &IngestHandle,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportProgress<'_>) -> ControlFlow<()>,
) -> Result<ImportSummary, ImportError> {
    let mut options = options.clone();
    if path == Path::new("-") {
        options.peer = "-".to_owned();
        import(io::stdin().lock(), ingest, &options, progress)
    } else {
        options.peer = path.display().to_string();
        let file = File::open(path).map_err(|source| ImportError::Open {
            path: path.display().to_string(),
            source,
        })?;
        import(file, ingest, &options, progress)
    }
}

/// Imports everything `reader` holds (gzip or not, see the module documentation).
pub fn import<R: Read>(
    reader: R,
    ingest: &IngestHandle,
    options: &ImportOptions,
    progress: &mut dyn FnMut(&ImportProgress<'_>) -> ControlFlow<()>,
) -> Result<ImportSummary, ImportError> {
    if options.batch_lines == 0 || options.batch_bytes == 0 || options.max_line_bytes == 0 {
        return Err(ImportError::Options(
            "batch_lines, batch_bytes and max_line_bytes must be at least 1".to_owned(),
        ));
    }
    let mut run = Run {
        ingest,
        options,
        progress,
        summary: ImportSummary::default(),
        batch: Vec::new(),
        batch_bytes: 0,
    };
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let head = match peek_magic(&mut reader) {
        Ok(head) => head,
        Err(source) => return Err(run.read_error(1, source)),
    };
    if head.as_slice() == GZIP_MAGIC {
        run.summary.gzip = true;
        let decoder = MultiGzDecoder::new(io::Cursor::new(head).chain(reader));
        run.lines(BufReader::with_capacity(READ_BUFFER, decoder))
    } else {
        run.lines(BufReader::with_capacity(
            READ_BUFFER,
            io::Cursor::new(head).chain(reader),
        ))
    }
}

/// Reads the first two bytes (fewer at the end of the input).
fn peek_magic<R: Read>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(2);
    let mut byte = [0u8; 1];
    while head.len() < 2 {
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.extend_from_slice(&byte),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(head)
}

struct Run<'a> {
    ingest: &'a IngestHandle,
    options: &'a ImportOptions,
    progress: &'a mut dyn FnMut(&ImportProgress<'_>) -> ControlFlow<()>,
    summary: ImportSummary,
    batch: Vec<Envelope>,
    batch_bytes: usize,
}

impl Run<'_> {
    fn lines<R: BufRead>(mut self, reader: R) -> Result<ImportSummary, ImportError> {
        let max = self.options.max_line_bytes;
        for line in BoundedLines::new(reader, max) {
            let number = self.summary.lines + 1;
            let line = match line {
                Ok(line) => line,
                Err(source) => {
                    self.flush()?;
                    return Err(self.read_error(number, source));
                }
            };
            self.summary.lines = number;
            self.summary.input_bytes += line.length + u64::from(line.ended);
            let mut buf = line.bytes;
            if line.truncated {
                self.summary.oversize_lines += 1;
                self.skip(
                    number,
                    format!("{} bytes, longer than the limit of {max}", line.length),
                );
                continue;
            }
            if self.options.format == ImportFormat::Ndjson {
                if number == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
                    buf.drain(..3);
                }
                if buf.iter().all(u8::is_ascii_whitespace) {
                    self.summary.empty_lines += 1;
                    continue;
                }
                if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&buf) {
                    self.summary.invalid_lines += 1;
                    let message = e.to_string();
                    match self.options.on_invalid {
                        OnInvalid::Skip => {
                            self.skip(number, format!("not valid JSON: {message}"));
                            continue;
                        }
                        OnInvalid::Stop => {
                            self.note(number, format!("not valid JSON: {message}"));
                            self.flush()?;
                            return Err(ImportError::Invalid {
                                peer: self.options.peer.clone(),
                                line: number,
                                message,
                                summary: Box::new(self.summary),
                            });
                        }
                    }
                }
            } else if buf.is_empty() {
                self.summary.empty_lines += 1;
                continue;
            }
            self.batch_bytes += buf.len();
            self.batch.push(Envelope {
                source: self.options.source.clone(),
                received: Timestamp::now(),
                peer: self.options.peer.clone(),
                client_identity: String::new(),
                key: String::new(),
                payload: std::mem::take(&mut buf),
            });
            if self.batch.len() >= self.options.batch_lines
                || self.batch_bytes >= self.options.batch_bytes
            {
                self.flush()?;
            }
        }
        self.flush()?;
        Ok(self.summary)
    }

    fn note(&mut self, line: u64, problem: String) {
        if self.summary.problems.len() < MAX_REPORTED_PROBLEMS {
            self.summary.problems.push(LineProblem { line, problem });
        }
    }

    fn skip(&mut self, line: u64, problem: String) {
        let problem = LineProblem { line, problem };
        // The callback cannot stop here: skipping is what the caller asked for.
        let _ = (self.progress)(&ImportProgress::LineSkipped(&problem));
        if self.summary.problems.len() < MAX_REPORTED_PROBLEMS {
            self.summary.problems.push(problem);
        }
    }

    fn read_error(&self, line: u64, source: io::Error) -> ImportError {
        ImportError::Read {
            peer: self.options.peer.clone(),
            line,
            source,
            summary: Box::new(self.summary.clone()),
        }
    }

    /// Writes the batch, waiting while the spool is full.
    fn flush(&mut self) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        loop {
            let wait = match self.ingest.submit_blocking(&self.batch) {
                Ok(_) => break,
                Err(IngestError::Full { retry_after }) => {
                    self.summary.spool_full_waits += 1;
                    let answer = (self.progress)(&ImportProgress::SpoolFull {
                        retry_after,
                        summary: &self.summary,
                    });
                    if answer.is_break() {
                        return Err(ImportError::Cancelled {
                            peer: self.options.peer.clone(),
                            summary: Box::new(self.summary.clone()),
                        });
                    }
                    retry_after
                }
                Err(IngestError::Busy) => Duration::from_millis(100),
                Err(error) => {
                    return Err(ImportError::Ingest {
                        peer: self.options.peer.clone(),
                        error,
                        summary: Box::new(self.summary.clone()),
                    });
                }
            };
            std::thread::sleep(wait.max(Duration::from_millis(10)));
        }
        self.summary.messages += self.batch.len() as u64;
        self.summary.bytes += self.batch_bytes as u64;
        self.summary.batches += 1;
        self.batch.clear();
        self.batch_bytes = 0;
        let _ = (self.progress)(&ImportProgress::BatchWritten(&self.summary));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_magic_is_peeked_from_short_reads() {
        struct OneByte<'a>(&'a [u8]);
        impl Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match (self.0.split_first(), buf.first_mut()) {
                    (Some((b, rest)), Some(slot)) => {
                        *slot = *b;
                        self.0 = rest;
                        Ok(1)
                    }
                    _ => Ok(0),
                }
            }
        }
        assert_eq!(
            peek_magic(&mut OneByte(b"\x1f\x8bxyz")).unwrap(),
            GZIP_MAGIC
        );
        assert_eq!(peek_magic(&mut OneByte(b"a")).unwrap(), b"a");
    }
}
