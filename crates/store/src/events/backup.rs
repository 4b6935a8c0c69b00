//! Consistent copies of a [`TantivyStore`].
//!
//! Per partition: the meta lock is held (it stops tantivy's garbage collection, so no file of
//! the committed state disappears), the committed `meta.json` is read, and exactly the segment
//! files it lists are copied with it. The caller holds the store's write lock, so no commit of
//! ours lands during the backup: every partition is copied as of the same moment. Files are
//! synced before the backup's own `store.json` is written last; a backup without `store.json`
//! is incomplete and does not open.

use std::fs::File;
use std::path::Path;

use super::partition::Partition;
use super::tantivy_store::TantivyStore;
use super::{BackupReport, StoreError};

pub(crate) fn copy_store(
    store: &TantivyStore,
    destination: &Path,
) -> Result<BackupReport, StoreError> {
    if destination.exists()
        && std::fs::read_dir(destination)
            .map_err(StoreError::io(destination))?
            .next()
            .is_some()
    {
        return Err(StoreError::NotAStore {
            path: destination.to_owned(),
            reason: "the backup destination must be a new or empty directory".into(),
        });
    }
    let mut report = BackupReport::default();
    for partition in store.all_partitions()? {
        let relative =
            partition
                .path
                .strip_prefix(store.root())
                .map_err(|_| StoreError::NotAStore {
                    path: partition.path.clone(),
                    reason: "partition outside the store".into(),
                })?;
        let target = destination.join(relative);
        copy_partition(&partition, &target, &mut report)?;
        report.partitions += 1;
    }
    std::fs::create_dir_all(destination.join("events")).map_err(StoreError::io(destination))?;
    super::tantivy_store::write_version(destination)?;
    Ok(report)
}

fn copy_partition(
    partition: &Partition,
    target: &Path,
    report: &mut BackupReport,
) -> Result<(), StoreError> {
    let _gc_stopped = partition.meta_lock()?;
    let meta_path = partition.path.join("meta.json");
    // The meta file is replaced atomically; read it until the parsed state matches the bytes.
    let (bytes, files) = loop {
        let before = std::fs::read(&meta_path).map_err(StoreError::io(&meta_path))?;
        let metas = partition
            .index()
            .load_metas()
            .map_err(StoreError::index(&partition.path))?;
        let after = std::fs::read(&meta_path).map_err(StoreError::io(&meta_path))?;
        if before == after {
            break (before, metas.list_segment_files());
        }
    };
    std::fs::create_dir_all(target).map_err(StoreError::io(target))?;
    let mut names: Vec<_> = files.into_iter().collect();
    names.sort();
    for name in names {
        let from = partition.path.join(&name);
        let to = target.join(&name);
        // tantivy lists every component a segment may have; absent ones are not an error.
        let copied = match std::fs::copy(&from, &to) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&from)(e)),
        };
        File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::io(&to))?;
        report.files += 1;
        report.bytes += copied;
    }
    let meta_copy = target.join("meta.json");
    std::fs::write(&meta_copy, &bytes).map_err(StoreError::io(&meta_copy))?;
    File::open(&meta_copy)
        .and_then(|f| f.sync_all())
        .map_err(StoreError::io(&meta_copy))?;
    File::open(target)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(target))?;
    report.files += 1;
    report.bytes += bytes.len() as u64;
    Ok(())
}
