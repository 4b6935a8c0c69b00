//! One tenant's events of one UTC day: a tantivy index in `events/<tenant>/<YYYY-MM-DD>/`.
//!
//! Each commit records the partition's earliest and latest event time in the commit's payload,
//! so that searches skip partitions outside their time range without opening a segment.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tantivy::Directory;
use tantivy::directory::{META_LOCK, MmapDirectory};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument};

use super::StoreError;
use super::document::Fields;

/// The commit payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Bounds {
    /// Earliest and latest event time, in milliseconds since the epoch; `None` when empty.
    pub min_ms: Option<i64>,
    pub max_ms: Option<i64>,
}

impl Bounds {
    fn widen(&mut self, ms: i64) {
        self.min_ms = Some(self.min_ms.map_or(ms, |m| m.min(ms)));
        self.max_ms = Some(self.max_ms.map_or(ms, |m| m.max(ms)));
    }

    /// Whether events in `[from, to)` (milliseconds) may be here.
    pub(crate) fn overlaps(&self, from: Option<i64>, to: Option<i64>) -> bool {
        let (Some(min), Some(max)) = (self.min_ms, self.max_ms) else {
            return false;
        };
        from.is_none_or(|f| max >= f) && to.is_none_or(|t| min < t)
    }
}

struct WriteState {
    writer: Option<IndexWriter<TantivyDocument>>,
    /// Bounds including appended but uncommitted events.
    pending_bounds: Bounds,
    /// Ids appended since the last commit (removed from the dedupe set if the commit fails).
    pending_ids: Vec<u128>,
}

pub(crate) struct Partition {
    pub path: PathBuf,
    index: Index,
    reader: IndexReader,
    committed: Mutex<Bounds>,
    write: Mutex<WriteState>,
}

impl Partition {
    /// Opens the partition at `path`, creating it when `create` is set and it does not exist.
    pub(crate) fn open(
        path: &Path,
        fields: &Fields,
        create: bool,
    ) -> Result<Partition, StoreError> {
        let exists = path.join("meta.json").exists();
        let index = if exists {
            let index = Index::open_in_dir(path).map_err(StoreError::index(path))?;
            if index.schema() != fields.schema {
                return Err(StoreError::NotAStore {
                    path: path.to_owned(),
                    reason: "the partition's index schema is not the one this Shieldwall writes"
                        .into(),
                });
            }
            index
        } else if create {
            std::fs::create_dir_all(path).map_err(StoreError::io(path))?;
            let directory = MmapDirectory::open(path).map_err(|e| StoreError::Index {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            Index::builder()
                .schema(fields.schema.clone())
                .settings(IndexSettings {
                    docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
                    ..IndexSettings::default()
                })
                .open_or_create(directory)
                .map_err(StoreError::index(path))?
        } else {
            return Err(StoreError::NotAStore {
                path: path.to_owned(),
                reason: "no meta.json: not a partition (or one whose first commit never finished)"
                    .into(),
            });
        };
        Fields::register_tokenizers(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(StoreError::index(path))?;
        let committed = payload_bounds(&index, path)?;
        Ok(Partition {
            path: path.to_owned(),
            index,
            reader,
            committed: Mutex::new(committed),
            write: Mutex::new(WriteState {
                writer: None,
                pending_bounds: committed,
                pending_ids: Vec::new(),
            }),
        })
    }

    /// The committed bounds.
    pub(crate) fn bounds(&self) -> Result<Bounds, StoreError> {
        self.committed
            .lock()
            .map(|b| *b)
            .map_err(|_| StoreError::Poisoned)
    }

    pub(crate) fn searcher(&self) -> tantivy::Searcher {
        self.reader.searcher()
    }

    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// tantivy's meta lock: while held, no writer (in any process) garbage-collects this
    /// partition's files.
    pub(crate) fn meta_lock(&self) -> Result<tantivy::directory::DirectoryLock, StoreError> {
        self.index
            .directory()
            .acquire_lock(&META_LOCK)
            .map_err(|e| StoreError::Index {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    /// Adds a document (uncommitted).
    pub(crate) fn add(
        &self,
        doc: TantivyDocument,
        id: u128,
        time_ms: i64,
        writer_memory: usize,
    ) -> Result<(), StoreError> {
        let mut state = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        self.writer(&mut state, writer_memory)?
            .add_document(doc)
            .map_err(StoreError::index(&self.path))?;
        state.pending_bounds.widen(time_ms);
        state.pending_ids.push(id);
        Ok(())
    }

    /// The open writer, opened now if there is none (one indexing thread).
    fn writer<'s>(
        &self,
        state: &'s mut WriteState,
        writer_memory: usize,
    ) -> Result<&'s mut IndexWriter<TantivyDocument>, StoreError> {
        match &mut state.writer {
            Some(w) => Ok(w),
            slot => Ok(slot.insert(
                self.index
                    .writer_with_num_threads(1, writer_memory)
                    .map_err(StoreError::index(&self.path))?,
            )),
        }
    }

    /// Whether a writer is open.
    pub(crate) fn has_writer(&self) -> bool {
        self.write.lock().is_ok_and(|s| s.writer.is_some())
    }

    /// Commits what was added. On failure the added documents are rolled back and their ids
    /// returned, so the caller forgets them and a replay adds them again.
    pub(crate) fn commit(&self) -> Result<(), (StoreError, Vec<u128>)> {
        let mut state = match self.write.lock() {
            Ok(s) => s,
            Err(_) => return Err((StoreError::Poisoned, Vec::new())),
        };
        let bounds = state.pending_bounds;
        if state.pending_ids.is_empty() {
            return Ok(());
        }
        let Some(writer) = state.writer.as_mut() else {
            return Ok(());
        };
        let result = commit_with_payload(writer, &bounds, &self.path)
            .and_then(|()| self.reader.reload().map_err(StoreError::index(&self.path)));
        match result {
            Ok(()) => {
                state.pending_ids.clear();
                if let Ok(mut committed) = self.committed.lock() {
                    *committed = bounds;
                }
                Ok(())
            }
            Err(e) => {
                let _ = writer.rollback();
                let ids = std::mem::take(&mut state.pending_ids);
                let committed = self.bounds().unwrap_or_default();
                state.pending_bounds = committed;
                Err((e, ids))
            }
        }
    }

    /// Commits, then closes the writer (waiting for its merges).
    pub(crate) fn close_writer(&self) -> Result<(), (StoreError, Vec<u128>)> {
        self.commit()?;
        let writer = match self.write.lock() {
            Ok(mut s) => s.writer.take(),
            Err(_) => return Err((StoreError::Poisoned, Vec::new())),
        };
        if let Some(writer) = writer {
            writer
                .wait_merging_threads()
                .map_err(|e| (StoreError::index(&self.path)(e), Vec::new()))?;
        }
        Ok(())
    }

    /// Deletes the documents matching `query` and commits.
    pub(crate) fn delete(
        &self,
        query: Box<dyn tantivy::query::Query>,
        writer_memory: usize,
    ) -> Result<(), StoreError> {
        {
            let mut state = self.write.lock().map_err(|_| StoreError::Poisoned)?;
            self.writer(&mut state, writer_memory)?
                .delete_query(query)
                .map_err(StoreError::index(&self.path))?;
            let bounds = state.pending_bounds;
            if let Some(writer) = state.writer.as_mut() {
                commit_with_payload(writer, &bounds, &self.path)?;
            }
            state.pending_ids.clear();
        }
        self.reader.reload().map_err(StoreError::index(&self.path))
    }

    /// Bytes on disk.
    pub(crate) fn size(&self) -> Result<u64, StoreError> {
        dir_size(&self.path)
    }
}

/// Runs `work` on the partition at `path`. tantivy can panic on some damaged files (a file
/// shorter than its footer overflows a subtraction), so a panic is caught and reported as
/// damage of that partition: one bad day must not take the store, or the server, down.
pub(crate) fn guarded<T>(
    path: &Path,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(StoreError::Index {
            path: path.to_owned(),
            message: format!("damaged: the index library failed reading it ({reason})"),
        })
    })
}

fn commit_with_payload(
    writer: &mut IndexWriter<TantivyDocument>,
    bounds: &Bounds,
    path: &Path,
) -> Result<(), StoreError> {
    let payload = serde_json::to_string(bounds).map_err(|e| StoreError::Index {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let mut prepared = writer.prepare_commit().map_err(StoreError::index(path))?;
    prepared.set_payload(&payload);
    prepared.commit().map_err(StoreError::index(path))?;
    Ok(())
}

fn payload_bounds(index: &Index, path: &Path) -> Result<Bounds, StoreError> {
    let metas = index.load_metas().map_err(StoreError::index(path))?;
    match metas.payload {
        None => Ok(Bounds::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::NotAStore {
            path: path.to_owned(),
            reason: format!("the partition's commit payload is not readable: {e}"),
        }),
    }
}

/// The total size of the files under `path`.
pub(crate) fn dir_size(path: &Path) -> Result<u64, StoreError> {
    let mut total = 0;
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(path)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io(path))?;
        let meta = entry.metadata().map_err(StoreError::io(&entry.path()))?;
        if meta.is_dir() {
            total += dir_size(&entry.path())?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}
