//! The event store suite against the tantivy store, and what only the tantivy store does:
//! versions, locks, damaged partitions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use shieldwall_store::events::suite;
use shieldwall_store::{EventStore, StoreConfig, StoreError, TantivyStore};

fn open(dir: &Path) -> Result<Box<dyn EventStore>, String> {
    TantivyStore::open(dir, StoreConfig::default())
        .map(|s| Box::new(s) as Box<dyn EventStore>)
        .map_err(|e| e.to_string())
}

#[test]
fn the_tantivy_store_passes_the_suite() {
    let scratch = tempfile::tempdir().unwrap();
    let failures = suite::run(&open, scratch.path());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_newer_format_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(TantivyStore::open(dir.path(), StoreConfig::default()).unwrap());
    std::fs::write(
        dir.path().join("store.json"),
        r#"{"format": "shieldwall-event-store", "version": 99}"#,
    )
    .unwrap();
    let err = TantivyStore::open(dir.path(), StoreConfig::default())
        .err()
        .unwrap();
    assert!(
        matches!(
            err,
            StoreError::UnknownVersion {
                found: 99,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("store.json"), "{err}");
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let err = TantivyStore::open(dir.path(), StoreConfig::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("another Shieldwall process"),
        "{err}"
    );
    TantivyStore::open_read_only(dir.path()).unwrap();
}

fn event(tenant: &str, n: u32, time: &str) -> shieldwall_core::Event {
    let tenant = shieldwall_core::TenantId::new(tenant).unwrap();
    let time: jiff::Timestamp = time.parse().unwrap();
    let mut e = shieldwall_core::Event::unparsed(
        shieldwall_core::RecordId::derive("event", &[tenant.as_str(), &n.to_string()]),
        tenant,
        "test",
        time,
        format!("line {n}"),
    );
    e.time = time;
    e
}

#[test]
fn a_damaged_partition_is_named_and_the_others_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .append(&[
                event("acme", 1, "2026-11-01T10:00:00Z"),
                event("acme", 2, "2026-11-02T10:00:00Z"),
                event("acme", 3, "2026-11-03T10:00:00Z"),
            ])
            .unwrap();
        store.commit().unwrap();
    }
    // Overwritten, and cut shorter than a file footer (which makes tantivy panic: caught).
    for (day, garbage) in [
        ("2026-11-01", &b"not a term dictionary"[..]),
        ("2026-11-03", b"bad"),
    ] {
        let damaged = dir.path().join("events/acme").join(day);
        let term_file = std::fs::read_dir(&damaged)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "term"))
            .unwrap();
        std::fs::write(&term_file, garbage).unwrap();
    }

    let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let unreadable = store.unreadable();
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert!(unreadable[0].contains("2026-11-01"), "{unreadable:?}");
    assert!(unreadable[1].contains("2026-11-03"), "{unreadable:?}");
    let acme = shieldwall_core::TenantId::new("acme").unwrap();
    let mut found = Vec::new();
    let outcome = store
        .search(&acme, &shieldwall_store::Selection::all(), 10, &mut |e| {
            found.push(e.raw);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(found, ["line 2"]);
    assert_eq!(outcome.unreadable, unreadable);
}

/// Damage that opening does not notice (the stored events of one day overwritten in place) is
/// found by the search that reads them: that day is left out and named, the others answer.
#[test]
fn damage_found_while_searching_leaves_that_day_out() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
        store
            .append(&[
                event("acme", 1, "2026-11-01T10:00:00Z"),
                event("acme", 2, "2026-11-02T10:00:00Z"),
            ])
            .unwrap();
        store.commit().unwrap();
    }
    let damaged = dir.path().join("events/acme/2026-11-01");
    let doc_store = std::fs::read_dir(&damaged)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "store"))
        .unwrap();
    let mut bytes = std::fs::read(&doc_store).unwrap();
    let body = bytes.len() / 2;
    bytes[..body].fill(0xA5);
    std::fs::write(&doc_store, bytes).unwrap();

    let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.unreadable().is_empty(), "{:?}", store.unreadable());
    let acme = shieldwall_core::TenantId::new("acme").unwrap();
    let mut found = Vec::new();
    let outcome = store
        .search(&acme, &shieldwall_store::Selection::all(), 10, &mut |e| {
            found.push(e.raw);
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(found, ["line 2"]);
    assert_eq!(outcome.unreadable.len(), 1, "{:?}", outcome.unreadable);
    assert!(outcome.unreadable[0].contains("2026-11-01"), "{outcome:?}");
    // Left out from then on, and listed.
    assert_eq!(store.unreadable(), outcome.unreadable);
    assert_eq!(
        store
            .count(&acme, &shieldwall_store::Selection::all())
            .unwrap(),
        1
    );
}

/// Backup while another thread keeps appending and committing: the backup opens, holds every
/// event committed before it started, and each of its events equals the live store's copy.
#[test]
fn a_backup_taken_while_ingesting_is_consistent_and_exact() {
    backup_while_ingesting(false);
}

/// The same, with the backup taken by another opening of the store for reading (as
/// `shieldwall store backup` does while the server writes): each day is copied as of one of its
/// commits.
#[test]
fn a_backup_taken_by_a_reader_while_ingesting_is_exact() {
    backup_while_ingesting(true);
}

fn backup_while_ingesting(by_reader: bool) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(TantivyStore::open(&dir.path().join("live"), StoreConfig::default()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU32::new(0));
    let writer = {
        let (store, stop, committed) = (
            Arc::clone(&store),
            Arc::clone(&stop),
            Arc::clone(&committed),
        );
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(Ordering::Acquire) {
                let batch: Vec<_> = (n..n + 50)
                    .map(|i| {
                        let day = 1 + i % 3;
                        event("acme", i, &format!("2026-11-0{day}T10:00:00Z"))
                    })
                    .collect();
                store.append(&batch).unwrap();
                store.commit().unwrap();
                n += 50;
                committed.store(n, Ordering::Release);
            }
            n
        })
    };
    while committed.load(Ordering::Acquire) < 500 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before = committed.load(Ordering::Acquire);
    let copy = dir.path().join("copy");
    if by_reader {
        let reader = TantivyStore::open_read_only(&dir.path().join("live")).unwrap();
        reader.backup(&copy).unwrap();
    } else {
        store.backup(&copy).unwrap();
    }
    let after_backup = committed.load(Ordering::Acquire);
    while committed.load(Ordering::Acquire) < after_backup + 200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    stop.store(true, Ordering::Release);
    let total = writer.join().unwrap();
    assert!(total > after_backup, "ingest went on after the backup");

    let acme = shieldwall_core::TenantId::new("acme").unwrap();
    let all = |s: &TantivyStore| {
        let mut out = std::collections::HashMap::new();
        s.export(&acme, &shieldwall_store::Selection::all(), &mut |e| {
            out.insert(e.id.to_string(), serde_json::to_vec(&e).unwrap());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        out
    };
    let live = all(&store);
    let restored = TantivyStore::open(&copy, StoreConfig::default()).unwrap();
    let backed_up = all(&restored);
    assert_eq!(live.len() as u32, total);
    assert!(
        backed_up.len() as u32 >= before && (backed_up.len() as u32) <= after_backup,
        "the backup holds {} events; {before} were committed before it and {after_backup} after",
        backed_up.len()
    );
    if !by_reader {
        assert_eq!(
            backed_up.len() % 50,
            0,
            "a commit is in the backup whole or not at all"
        );
    }
    for (id, bytes) in &backed_up {
        assert_eq!(
            live.get(id),
            Some(bytes),
            "event {id} differs from the live store's"
        );
    }
}

#[test]
fn a_day_whose_creation_a_crash_cut_short_is_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    drop(TantivyStore::open(dir.path(), StoreConfig::default()).unwrap());
    let unfinished = dir.path().join("events/acme/2026-11-05");
    std::fs::create_dir_all(&unfinished).unwrap();
    std::fs::write(unfinished.join(".tantivy-writer.lock"), b"").unwrap();
    let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
    assert!(store.unreadable().is_empty(), "{:?}", store.unreadable());
    store
        .append(&[event("acme", 1, "2026-11-05T10:00:00Z")])
        .unwrap();
    store.commit().unwrap();
    let acme = shieldwall_core::TenantId::new("acme").unwrap();
    assert_eq!(
        store
            .count(&acme, &shieldwall_store::Selection::all())
            .unwrap(),
        1
    );
}
