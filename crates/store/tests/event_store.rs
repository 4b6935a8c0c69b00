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
            ])
            .unwrap();
        store.commit().unwrap();
    }
    let damaged = dir.path().join("events/acme/2026-11-01");
    let term_file = std::fs::read_dir(&damaged)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "term"))
        .unwrap();
    std::fs::write(&term_file, b"not a term dictionary").unwrap();

    let store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
    let unreadable = store.unreadable();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert!(unreadable[0].contains("2026-11-01"), "{unreadable:?}");
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
