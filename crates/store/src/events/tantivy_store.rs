//! [`TantivyStore`]: events in one tantivy index per tenant and UTC day.
//!
//! Layout of the store directory:
//!
//! ```text
//! store.json                      {"format": "shieldwall-event-store", "version": 1}
//! .lock                           held by the one process that writes
//! events/<tenant>/<YYYY-MM-DD>/   one tantivy index (a partition)
//! ```
//!
//! An event goes to the day of its event time when that time is within a day of its receipt,
//! and to the day of its receipt otherwise (a wrong clock, a late upload, an import of old
//! logs): so a live stream writes to one or two days at a time, wrong clocks cannot create days
//! that retention never reaches, and retention never removes what was just imported. Each
//! partition's commit records its earliest and latest event time, so searches open only the
//! partitions their time range needs, wherever an event was filed.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use shieldwall_core::{Event, TenantId};
use shieldwall_query::Aggregation;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{EnableScoring, Query as TQuery, RangeQuery};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::compile::compile;
use super::document::Fields;
use super::partition::{Bounds, Partition, dir_size, guarded};
use super::{
    AggregationResult, AppendOutcome, BackupReport, EventStore, RetentionReport, SearchOutcome,
    Selection, StoreConfig, StoreError,
};
use crate::meta::RetentionPolicy;

/// The store format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "shieldwall-event-store";
const VERSION_FILE: &str = "store.json";
const LOCK_FILE: &str = ".lock";
const EVENTS_DIR: &str = "events";
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Serialize, Deserialize)]
struct VersionFile {
    format: String,
    version: u32,
}

type Key = (TenantId, Date);

/// Ids seen recently, for deduplication.
#[derive(Default)]
struct RecentIds {
    set: HashSet<u128>,
    order: VecDeque<(u128, i64)>,
    newest_ms: i64,
}

impl RecentIds {
    fn insert(&mut self, id: u128, received_ms: i64, config: &StoreConfig) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back((id, received_ms));
        self.newest_ms = self.newest_ms.max(received_ms);
        let window = i64::try_from(config.dedupe_window.as_millis()).unwrap_or(i64::MAX);
        while let Some(&(old, at)) = self.order.front() {
            if self.order.len() > config.dedupe_capacity
                || at < self.newest_ms.saturating_sub(window)
            {
                self.order.pop_front();
                self.set.remove(&old);
            } else {
                break;
            }
        }
        true
    }

    fn forget(&mut self, ids: &[u128]) {
        for id in ids {
            self.set.remove(id);
        }
        let gone: HashSet<&u128> = ids.iter().collect();
        self.order.retain(|(id, _)| !gone.contains(id));
    }
}

/// The default event store. See the module documentation.
pub struct TantivyStore {
    root: PathBuf,
    config: StoreConfig,
    fields: Fields,
    tokenizers: tantivy::tokenizer::TokenizerManager,
    /// The store's lock file, held while open for writing; `None` when opened for reading.
    lock: Option<File>,
    partitions: RwLock<BTreeMap<Key, Arc<Partition>>>,
    /// Partitions that failed to open, with the reason.
    unreadable: RwLock<Vec<String>>,
    recent: Mutex<RecentIds>,
    /// Partitions with a writer, least recently used first.
    writers: Mutex<VecDeque<Key>>,
    /// Serialises appends, commits, deletions, retention and backups.
    write: Mutex<()>,
}

impl TantivyStore {
    /// Opens (or creates) the store at `root` for writing; one process at a time.
    pub fn open(root: &Path, config: StoreConfig) -> Result<TantivyStore, StoreError> {
        std::fs::create_dir_all(root.join(EVENTS_DIR)).map_err(StoreError::io(root))?;
        check_version(root, true)?;
        let lock_path = root.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::NotAStore {
                    path: root.to_owned(),
                    reason: "another Shieldwall process has this store open for writing".into(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::io(&lock_path)(e)),
        }
        let store = TantivyStore::load(root, config, Some(lock))?;
        store.load_recent_ids()?;
        Ok(store)
    }

    /// Opens the store at `root` for searching only (while another process may write to it).
    pub fn open_read_only(root: &Path) -> Result<TantivyStore, StoreError> {
        if !root.join(VERSION_FILE).exists() {
            return Err(StoreError::NotAStore {
                path: root.to_owned(),
                reason: format!(
                    "no {VERSION_FILE}: not a Shieldwall store (or none was written yet)"
                ),
            });
        }
        check_version(root, false)?;
        TantivyStore::load(root, StoreConfig::default(), None)
    }

    fn load(
        root: &Path,
        config: StoreConfig,
        lock: Option<File>,
    ) -> Result<TantivyStore, StoreError> {
        let fields = Fields::new();
        let tokenizers = tantivy::tokenizer::TokenizerManager::default();
        Fields::register_tokenizers(&tokenizers);
        let store = TantivyStore {
            root: root.to_owned(),
            config,
            fields,
            tokenizers,
            lock,
            partitions: RwLock::new(BTreeMap::new()),
            unreadable: RwLock::new(Vec::new()),
            recent: Mutex::new(RecentIds::default()),
            writers: Mutex::new(VecDeque::new()),
            write: Mutex::new(()),
        };
        store.scan()?;
        Ok(store)
    }

    /// Opens every partition on disk; those that fail are listed as unreadable.
    fn scan(&self) -> Result<(), StoreError> {
        let events = self.root.join(EVENTS_DIR);
        let mut partitions = BTreeMap::new();
        let mut unreadable = Vec::new();
        for tenant_dir in read_dir_sorted(&events)? {
            let Some(name) = tenant_dir.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Ok(tenant) = TenantId::new(name) else {
                unreadable.push(format!("{}: not a tenant directory", tenant_dir.display()));
                continue;
            };
            for day_dir in read_dir_sorted(&tenant_dir)? {
                let Some(day) = day_dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<Date>().ok())
                else {
                    unreadable.push(format!("{}: not a day directory", day_dir.display()));
                    continue;
                };
                if is_unfinished(&day_dir) {
                    // A day created just before a crash, before its first commit: nothing in it.
                    continue;
                }
                match open_guarded(&day_dir, &self.fields) {
                    Ok(p) => {
                        partitions.insert((tenant.clone(), day), Arc::new(p));
                    }
                    Err(e) => unreadable.push(e.to_string()),
                }
            }
        }
        *self.partitions.write().map_err(|_| StoreError::Poisoned)? = partitions;
        *self.unreadable.write().map_err(|_| StoreError::Poisoned)? = unreadable;
        Ok(())
    }

    /// Partitions that could not be opened, with the reason.
    pub fn unreadable(&self) -> Vec<String> {
        self.unreadable
            .read()
            .map(|u| u.clone())
            .unwrap_or_default()
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Remembers the ids of events received within the dedupe window before the newest one.
    fn load_recent_ids(&self) -> Result<(), StoreError> {
        let partitions: Vec<Arc<Partition>> = self.all_partitions()?;
        let mut newest: Option<i64> = None;
        for p in &partitions {
            for segment in p.searcher().segment_readers() {
                if let Ok(column) = segment.fast_fields().date("received") {
                    let max = column.max_value().into_timestamp_millis();
                    newest = Some(newest.map_or(max, |n| n.max(max)));
                }
            }
        }
        let Some(newest) = newest else {
            return Ok(());
        };
        let window = i64::try_from(self.config.dedupe_window.as_millis()).unwrap_or(i64::MAX);
        let since = newest.saturating_sub(window);
        let mut found: Vec<(i64, u128)> = Vec::new();
        for p in &partitions {
            let searcher = p.searcher();
            let has_recent = searcher.segment_readers().iter().any(|s| {
                s.fast_fields()
                    .date("received")
                    .is_ok_and(|c| c.max_value().into_timestamp_millis() >= since)
            });
            if !has_recent {
                continue;
            }
            let query = RangeQuery::new(
                std::ops::Bound::Included(Term::from_field_date(
                    self.fields.received,
                    tantivy::DateTime::from_timestamp_millis(since),
                )),
                std::ops::Bound::Unbounded,
            );
            let weight = query
                .weight(EnableScoring::disabled_from_searcher(&searcher))
                .map_err(StoreError::index(&p.path))?;
            for segment in searcher.segment_readers() {
                let ids = segment
                    .fast_fields()
                    .str("id")
                    .map_err(StoreError::index(&p.path))?;
                let received = segment
                    .fast_fields()
                    .date("received")
                    .map_err(StoreError::index(&p.path))?;
                let alive = segment.alive_bitset();
                let mut text = String::new();
                let mut docs = Vec::new();
                weight
                    .for_each_no_score(segment, &mut |batch: &[u32]| docs.extend_from_slice(batch))
                    .map_err(StoreError::index(&p.path))?;
                for doc in docs {
                    if alive.is_some_and(|a| !a.is_alive(doc)) {
                        continue;
                    }
                    let Some(ids) = &ids else { continue };
                    let Some(ord) = ids.term_ords(doc).next() else {
                        continue;
                    };
                    text.clear();
                    if ids.ord_to_str(ord, &mut text).is_ok()
                        && let Ok(uuid) = uuid_of(&text)
                    {
                        let at = received
                            .first(doc)
                            .map_or(newest, |d| d.into_timestamp_millis());
                        found.push((at, uuid));
                    }
                }
            }
        }
        found.sort_unstable();
        let mut recent = self.recent.lock().map_err(|_| StoreError::Poisoned)?;
        for (at, id) in found {
            recent.insert(id, at, &self.config);
        }
        Ok(())
    }

    pub(crate) fn all_partitions(&self) -> Result<Vec<Arc<Partition>>, StoreError> {
        Ok(self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .values()
            .cloned()
            .collect())
    }

    /// The tenant's partitions that may hold events in `[from, to)`, newest day first.
    fn partitions_for(
        &self,
        tenant: &TenantId,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Vec<(Arc<Partition>, Bounds)>, StoreError> {
        let from_ms = from.map(|t| t.as_millisecond());
        let to_ms = to.map(|t| t.as_millisecond());
        let map = self.partitions.read().map_err(|_| StoreError::Poisoned)?;
        let mut out = Vec::new();
        for ((t, _), p) in map.iter().rev() {
            if t != tenant {
                continue;
            }
            let bounds = p.bounds()?;
            if bounds.overlaps(from_ms, to_ms) {
                out.push((Arc::clone(p), bounds));
            }
        }
        Ok(out)
    }

    fn partition(&self, key: &Key) -> Result<Arc<Partition>, StoreError> {
        if let Some(p) = self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .get(key)
        {
            return Ok(Arc::clone(p));
        }
        let mut map = self.partitions.write().map_err(|_| StoreError::Poisoned)?;
        if let Some(p) = map.get(key) {
            return Ok(Arc::clone(p));
        }
        let path = self
            .root
            .join(EVENTS_DIR)
            .join(key.0.as_str())
            .join(key.1.to_string());
        let partition = Arc::new(Partition::open(&path, &self.fields, true)?);
        map.insert(key.clone(), Arc::clone(&partition));
        Ok(partition)
    }

    /// Marks `key` as just used; closes the least recently used writers beyond the limit.
    fn touch_writer(&self, key: &Key) -> Result<(), StoreError> {
        let evicted: Vec<Key> = {
            let mut writers = self.writers.lock().map_err(|_| StoreError::Poisoned)?;
            writers.retain(|k| k != key);
            writers.push_back(key.clone());
            let mut evicted = Vec::new();
            while writers.len() > self.config.max_open_writers.max(1) {
                if let Some(k) = writers.pop_front() {
                    evicted.push(k);
                }
            }
            evicted
        };
        for key in evicted {
            let partition = self.partition(&key)?;
            self.settle(partition.close_writer())?;
        }
        Ok(())
    }

    /// Forgets the ids of a failed commit, so a replay stores them.
    fn settle(&self, result: Result<(), (StoreError, Vec<u128>)>) -> Result<(), StoreError> {
        match result {
            Ok(()) => Ok(()),
            Err((e, ids)) => {
                if let Ok(mut recent) = self.recent.lock() {
                    recent.forget(&ids);
                }
                Err(e)
            }
        }
    }

    fn compiled(&self, selection: &Selection) -> Result<Box<dyn TQuery>, StoreError> {
        compile(
            &self.fields,
            &self.tokenizers,
            &selection.query,
            selection.from,
            selection.to,
            Timestamp::now(),
        )
    }

    fn require_writable(&self) -> Result<(), StoreError> {
        if self.lock.is_some() {
            Ok(())
        } else {
            Err(StoreError::NotAStore {
                path: self.root.clone(),
                reason: "opened for searching only".into(),
            })
        }
    }

    fn decode(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        path: &Path,
    ) -> Result<Event, StoreError> {
        let doc: TantivyDocument = searcher.doc(address).map_err(StoreError::index(path))?;
        let bytes = doc
            .get_first(self.fields.event)
            .and_then(|v| v.as_bytes())
            .ok_or_else(|| StoreError::Index {
                path: path.to_owned(),
                message: format!("document {address:?} has no stored event"),
            })?;
        serde_json::from_slice(bytes).map_err(|e| StoreError::Index {
            path: path.to_owned(),
            message: format!("document {address:?}: stored event unreadable: {e}"),
        })
    }
}

/// Whether `dir` is a partition whose creation never finished: no `meta.json` and no files but
/// tantivy's lock files.
fn is_unfinished(dir: &Path) -> bool {
    if dir.join("meta.json").exists() {
        return false;
    }
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.filter_map(Result::ok).all(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(".tantivy-") && name.ends_with(".lock")
        })
    })
}

/// Opens an existing partition, as [`guarded`] work.
fn open_guarded(path: &Path, fields: &Fields) -> Result<Partition, StoreError> {
    guarded(path, || Partition::open(path, fields, false))
}

/// The partition of an event: its event day when its time is within a day of its receipt, its
/// receive day otherwise.
fn day_of(event: &Event) -> Date {
    let time = event.time.as_millisecond();
    let received = event.received.as_millisecond();
    let at = if time.abs_diff(received) > DAY_MS.unsigned_abs() {
        event.received
    } else {
        event.time
    };
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

fn key_of(event: &Event) -> Key {
    (event.tenant.clone(), day_of(event))
}

fn uuid_of(text: &str) -> Result<u128, ()> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    u128::from_str_radix(&hex, 16).map_err(|_| ())
}

fn check_version(root: &Path, create: bool) -> Result<(), StoreError> {
    let path = root.join(VERSION_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let file: VersionFile =
                serde_json::from_slice(&bytes).map_err(|e| StoreError::NotAStore {
                    path: path.clone(),
                    reason: format!("unreadable version file: {e}"),
                })?;
            if file.format != FORMAT_NAME {
                return Err(StoreError::NotAStore {
                    path,
                    reason: format!("format {:?}, not {FORMAT_NAME:?}", file.format),
                });
            }
            if file.version != FORMAT_VERSION {
                return Err(StoreError::UnknownVersion {
                    path,
                    found: file.version,
                    supported: FORMAT_VERSION,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let events = root.join(EVENTS_DIR);
            if read_dir_sorted(&events).is_ok_and(|d| !d.is_empty()) {
                return Err(StoreError::NotAStore {
                    path,
                    reason:
                        "missing, but the directory holds events: refusing to guess their format"
                            .into(),
                });
            }
            write_version(root)
        }
        Err(e) => Err(StoreError::io(&path)(e)),
    }
}

pub(crate) fn write_version(root: &Path) -> Result<(), StoreError> {
    let path = root.join(VERSION_FILE);
    let text = serde_json::to_vec_pretty(&VersionFile {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
    })
    .map_err(|e| StoreError::NotAStore {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let temporary = root.join(format!("{VERSION_FILE}.tmp"));
    std::fs::write(&temporary, text).map_err(StoreError::io(&temporary))?;
    File::open(&temporary)
        .and_then(|f| f.sync_all())
        .map_err(StoreError::io(&temporary))?;
    std::fs::rename(&temporary, &path).map_err(StoreError::io(&path))?;
    File::open(root)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(root))
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StoreError::io(dir))?;
        if entry
            .file_type()
            .map_err(StoreError::io(&entry.path()))?
            .is_dir()
        {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

impl EventStore for TantivyStore {
    fn append(&self, events: &[Event]) -> Result<AppendOutcome, StoreError> {
        self.require_writable()?;
        let _write = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        let mut outcome = AppendOutcome::default();
        // Duplicates are decided in arrival order (the first of a repeated id is kept)...
        let mut fresh: Vec<(Key, u128, &Event)> = Vec::with_capacity(events.len());
        {
            let mut recent = self.recent.lock().map_err(|_| StoreError::Poisoned)?;
            for event in events {
                let id = event.id.as_uuid().as_u128();
                if recent.insert(id, event.received.as_millisecond(), &self.config) {
                    fresh.push((key_of(event), id, event));
                } else {
                    outcome.duplicates += 1;
                }
            }
        }
        // ...then one run per partition, so a batch spread over days touches each writer once.
        fresh.sort_by(|a, b| a.0.cmp(&b.0));
        let mut done = 0;
        let added = (|| {
            for run in fresh.chunk_by(|a, b| a.0 == b.0) {
                let Some((key, _, _)) = run.first() else {
                    continue;
                };
                let partition = self.partition(key)?;
                self.touch_writer(key)?;
                for (_, id, event) in run {
                    let doc = self.fields.document(event)?;
                    partition.add(
                        doc,
                        *id,
                        event.time.as_millisecond(),
                        self.config.writer_memory,
                    )?;
                    done += 1;
                }
            }
            Ok(())
        })();
        if let Err(e) = added {
            // What was not added must be stored when the batch is replayed.
            let unadded: Vec<u128> = fresh.iter().skip(done).map(|(_, id, _)| *id).collect();
            if let Ok(mut recent) = self.recent.lock() {
                recent.forget(&unadded);
            }
            return Err(e);
        }
        outcome.added = u64::try_from(done).unwrap_or(u64::MAX);
        Ok(outcome)
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.require_writable()?;
        let _write = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        let mut first_error = None;
        for partition in self.all_partitions()? {
            if partition.has_writer()
                && let Err(e) = self.settle(partition.commit())
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn search(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        limit: usize,
        each: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<SearchOutcome, StoreError> {
        let mut outcome = SearchOutcome {
            unreadable: self.unreadable(),
            ..SearchOutcome::default()
        };
        if limit == 0 {
            return Ok(outcome);
        }
        let query = self.compiled(selection)?;
        // The newest `limit` over all partitions: a partition whose latest event is older than
        // the current `limit`-th newest cannot contribute.
        let mut best: Vec<(i64, usize, DocAddress)> = Vec::new();
        let partitions = self.partitions_for(tenant, selection.from, selection.to)?;
        let mut ordered: Vec<(usize, &(Arc<Partition>, Bounds))> =
            partitions.iter().enumerate().collect();
        ordered.sort_by_key(|(_, (_, b))| std::cmp::Reverse(b.max_ms));
        let mut searchers = Vec::with_capacity(partitions.len());
        for (index, (partition, bounds)) in &ordered {
            if best.len() >= limit
                && let (Some(max), Some(&(cut, _, _))) = (bounds.max_ms, best.last())
                && max < cut
            {
                break;
            }
            let searcher = partition.searcher();
            let top = guarded(&partition.path, || {
                searcher
                    .search(
                        &query,
                        &TopDocs::with_limit(limit)
                            .order_by_fast_field::<tantivy::DateTime>("time", Order::Desc),
                    )
                    .map_err(StoreError::index(&partition.path))
            });
            let top = match top {
                Ok(top) => top,
                Err(e) => {
                    outcome.note_unreadable(self.leave_out(&partition.path, &e));
                    continue;
                }
            };
            for (time, address) in top {
                let ms = time.map_or(i64::MIN, |t| t.into_timestamp_millis());
                best.push((ms, *index, address));
            }
            best.sort_by_key(|b| std::cmp::Reverse(b.0));
            best.truncate(limit);
            searchers.push((*index, searcher));
        }
        let mut failed = Vec::new();
        for (_, index, address) in best {
            let Some((_, searcher)) = searchers.iter().find(|(i, _)| *i == index) else {
                continue;
            };
            let Some((partition, _)) = partitions.get(index) else {
                continue;
            };
            if failed.contains(&index) {
                continue;
            }
            let event = match guarded(&partition.path, || {
                self.decode(searcher, address, &partition.path)
            }) {
                Ok(event) => event,
                Err(e) => {
                    outcome.note_unreadable(self.leave_out(&partition.path, &e));
                    failed.push(index);
                    continue;
                }
            };
            outcome.returned += 1;
            if each(event).is_break() {
                break;
            }
        }
        Ok(outcome)
    }

    fn count(&self, tenant: &TenantId, selection: &Selection) -> Result<u64, StoreError> {
        let query = self.compiled(selection)?;
        let mut total = 0u64;
        for (partition, _) in self.partitions_for(tenant, selection.from, selection.to)? {
            let n = guarded(&partition.path, || {
                partition
                    .searcher()
                    .search(&query, &Count)
                    .map_err(StoreError::index(&partition.path))
            })
            .inspect_err(|e| {
                self.leave_out(&partition.path, e);
            })?;
            total += n as u64;
        }
        Ok(total)
    }

    fn aggregate(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        aggregations: &[Aggregation],
    ) -> Result<Vec<AggregationResult>, StoreError> {
        let query = self.compiled(selection)?;
        let partitions = self.partitions_for(tenant, selection.from, selection.to)?;
        super::aggregate::run(&partitions, &query, aggregations).inspect_err(|e| {
            if let StoreError::Index { path, .. } = e {
                self.leave_out(path, e);
            }
        })
    }

    fn export(
        &self,
        tenant: &TenantId,
        selection: &Selection,
        each: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<SearchOutcome, StoreError> {
        let mut outcome = SearchOutcome {
            unreadable: self.unreadable(),
            ..SearchOutcome::default()
        };
        let query = self.compiled(selection)?;
        let mut partitions = self.partitions_for(tenant, selection.from, selection.to)?;
        partitions.reverse();
        for (partition, _) in partitions {
            let flow = guarded(&partition.path, || {
                self.export_partition(&partition, query.as_ref(), &mut outcome, each)
            });
            match flow {
                Ok(ControlFlow::Break(())) => return Ok(outcome),
                Ok(ControlFlow::Continue(())) => {}
                Err(e) => outcome.note_unreadable(self.leave_out(&partition.path, &e)),
            }
        }
        Ok(outcome)
    }

    fn delete(&self, tenant: &TenantId, selection: &Selection) -> Result<u64, StoreError> {
        self.require_writable()?;
        let _write = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        let mut deleted = 0u64;
        let query = self.compiled(selection)?;
        for (partition, _) in self.partitions_for(tenant, selection.from, selection.to)? {
            let n = partition
                .searcher()
                .search(&query, &Count)
                .map_err(StoreError::index(&partition.path))?;
            if n == 0 {
                continue;
            }
            partition.delete(query.box_clone(), self.config.writer_memory)?;
            deleted += n as u64;
        }
        Ok(deleted)
    }

    fn apply_retention(
        &self,
        tenant: &TenantId,
        retention: &RetentionPolicy,
        now: Timestamp,
    ) -> Result<RetentionReport, StoreError> {
        self.require_writable()?;
        let _write = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
        let mut days: Vec<(Date, Arc<Partition>, u64)> = Vec::new();
        for ((t, day), p) in self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .iter()
        {
            if t == tenant {
                days.push((*day, Arc::clone(p), 0));
            }
        }
        for (_, p, size) in &mut days {
            *size = p.size()?;
        }
        let mut total: u64 = days.iter().map(|(_, _, s)| s).sum();
        let mut report = RetentionReport::default();
        let oldest_kept = retention.max_age_days.map(|age| {
            today
                .checked_sub(jiff::Span::new().days(i64::from(age.saturating_sub(1))))
                .unwrap_or(today)
        });
        for (day, partition, size) in &days {
            let too_old = oldest_kept.is_some_and(|keep| *day < keep);
            let too_big = retention.max_bytes.is_some_and(|max| total > max) && *day < today;
            if !(too_old || too_big) {
                continue;
            }
            self.remove_partition(&(tenant.clone(), *day), partition)?;
            total = total.saturating_sub(*size);
            report.freed_bytes += size;
            report.removed_days.push(day.to_string());
        }
        report.remaining_bytes = total;
        Ok(report)
    }

    fn backup(&self, destination: &Path) -> Result<BackupReport, StoreError> {
        // Commits wait while the copy runs; ingest goes on into the spool.
        let _write = self.write.lock().map_err(|_| StoreError::Poisoned)?;
        super::backup::copy_store(self, destination)
    }

    fn tenants(&self) -> Result<Vec<TenantId>, StoreError> {
        let mut out: Vec<TenantId> = self
            .partitions
            .read()
            .map_err(|_| StoreError::Poisoned)?
            .keys()
            .map(|(t, _)| t.clone())
            .collect();
        out.dedup();
        Ok(out)
    }

    fn size(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        dir_size(&self.root.join(EVENTS_DIR).join(tenant.as_str()))
    }
}

impl TantivyStore {
    /// The matches of one partition, in index order, to `each`.
    fn export_partition(
        &self,
        partition: &Partition,
        query: &dyn TQuery,
        outcome: &mut SearchOutcome,
        each: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, StoreError> {
        let searcher = partition.searcher();
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(&searcher))
            .map_err(StoreError::index(&partition.path))?;
        for (ordinal, segment) in searcher.segment_readers().iter().enumerate() {
            let alive = segment.alive_bitset();
            // Doc ids of one segment at a time: 4 bytes per match of that segment.
            let mut docs = Vec::new();
            weight
                .for_each_no_score(segment, &mut |batch: &[u32]| docs.extend_from_slice(batch))
                .map_err(StoreError::index(&partition.path))?;
            for doc in docs {
                if alive.is_some_and(|a| !a.is_alive(doc)) {
                    continue;
                }
                let address = DocAddress::new(u32::try_from(ordinal).unwrap_or(u32::MAX), doc);
                let event = self.decode(&searcher, address, &partition.path)?;
                outcome.returned += 1;
                if each(event).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
        }
        Ok(ControlFlow::Continue(()))
    }

    /// Leaves out a partition that failed while being read: it is listed as unreadable and no
    /// longer searched (until the store is opened again). Returns the entry listed.
    fn leave_out(&self, path: &Path, error: &StoreError) -> String {
        let entry = error.to_string();
        if let Ok(mut map) = self.partitions.write() {
            map.retain(|_, p| p.path != path);
        }
        if let Ok(mut unreadable) = self.unreadable.write()
            && !unreadable.contains(&entry)
        {
            unreadable.push(entry.clone());
        }
        entry
    }

    fn remove_partition(&self, key: &Key, partition: &Arc<Partition>) -> Result<(), StoreError> {
        self.settle(partition.close_writer())?;
        self.writers
            .lock()
            .map_err(|_| StoreError::Poisoned)?
            .retain(|k| k != key);
        self.partitions
            .write()
            .map_err(|_| StoreError::Poisoned)?
            .remove(key);
        std::fs::remove_dir_all(&partition.path).map_err(StoreError::io(&partition.path))
    }
}
