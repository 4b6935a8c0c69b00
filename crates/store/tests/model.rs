//! The tantivy store against a model: random appends (with repeated ids), commits, deletions
//! and reopenings; after each step the counts match what the model says is committed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use shieldwall_core::{Event, RecordId, TenantId};
use shieldwall_store::{EventStore, Selection, StoreConfig, TantivyStore};

const USERS: [&str; 3] = ["alice", "bob", "root"];

#[derive(Debug, Clone)]
enum Op {
    /// Events (id number, day 1..=3, user index).
    Append(Vec<(u8, u8, usize)>),
    Commit,
    Delete(usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec((0u8..40, 1u8..4, 0usize..3), 1..12).prop_map(Op::Append),
        3 => Just(Op::Commit),
        1 => (0usize..3).prop_map(Op::Delete),
        1 => Just(Op::Reopen),
    ]
}

fn event(n: u8, day: u8, user: usize) -> Event {
    let tenant = TenantId::new("acme").unwrap();
    let received: jiff::Timestamp = "2026-11-04T00:00:00Z".parse().unwrap();
    let mut e = Event::unparsed(
        RecordId::derive("event", &["model", &n.to_string()]),
        tenant,
        "model",
        received,
        format!("event {n}"),
    );
    e.time = format!("2026-11-0{day}T12:00:00Z").parse().unwrap();
    e.user = Some(shieldwall_core::event::User {
        name: Some(USERS[user].to_owned()),
        ..Default::default()
    });
    e
}

#[derive(Default)]
struct Model {
    committed: BTreeMap<u8, usize>,
    pending: BTreeMap<u8, usize>,
    /// Ids the store remembers (appended since it opened, or committed when it opened).
    known: BTreeSet<u8>,
}

fn count(store: &TantivyStore, query: &str) -> u64 {
    let acme = TenantId::new("acme").unwrap();
    let selection = Selection {
        query: shieldwall_query::parse(query).unwrap(),
        from: None,
        to: None,
    };
    store.count(&acme, &selection).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_store_follows_the_model(ops in prop::collection::vec(op(), 1..14)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Append(batch) => {
                    let events: Vec<Event> = batch.iter().map(|&(n, d, u)| event(n, d, u)).collect();
                    let outcome = store.append(&events).unwrap();
                    let mut added = 0;
                    for &(n, _, u) in &batch {
                        if model.known.insert(n) {
                            model.pending.insert(n, u);
                            added += 1;
                        }
                    }
                    prop_assert_eq!(outcome.added, added);
                    prop_assert_eq!(outcome.duplicates, batch.len() as u64 - added);
                }
                Op::Commit => {
                    store.commit().unwrap();
                    model.committed.append(&mut model.pending);
                }
                Op::Delete(u) => {
                    let acme = TenantId::new("acme").unwrap();
                    let selection = Selection {
                        query: shieldwall_query::parse(&format!("user.name:{}", USERS[u])).unwrap(),
                        from: None,
                        to: None,
                    };
                    // Deleting commits what was pending in the days it touches: commit first
                    // so that the model stays simple.
                    store.commit().unwrap();
                    model.committed.append(&mut model.pending);
                    let deleted = store.delete(&acme, &selection).unwrap();
                    let before = model.committed.len();
                    model.committed.retain(|_, user| *user != u);
                    prop_assert_eq!(deleted, (before - model.committed.len()) as u64);
                }
                Op::Reopen => {
                    drop(store);
                    store = TantivyStore::open(dir.path(), StoreConfig::default()).unwrap();
                    model.pending.clear();
                    model.known = model.committed.keys().copied().collect();
                }
            }
            prop_assert_eq!(count(&store, "*"), model.committed.len() as u64);
            for (u, name) in USERS.iter().enumerate() {
                let want = model.committed.values().filter(|x| **x == u).count() as u64;
                prop_assert_eq!(count(&store, &format!("user.name:{name}")), want);
            }
        }
    }
}
