//! Tampering with the audit trail in the database file, as someone with write access to it
//! could: every edit, deletion, insertion, reordering, truncation and rewrite is found, and the
//! first bad record is named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::json;
use shieldwall_core::{Scope, TenantId};
use shieldwall_store::meta::audit::{StoredFields, record_hash};
use shieldwall_store::meta::{
    AuditKind, AuditOutcome, AuditTrail, NewAuditRecord, ProblemKind, SignedHead, SqliteMetaStore,
};

const RECORDS: u64 = 20;

fn acme() -> Scope {
    Scope::Tenant(TenantId::new("acme").unwrap())
}

/// A trail of 20 acme records and 3 system records, with signed heads at acme 5 and 20.
fn trail(dir: &Path) -> (PathBuf, Vec<SignedHead>) {
    let path = dir.join("meta.db");
    let store = SqliteMetaStore::open(&path).unwrap();
    for i in 0..RECORDS {
        let chain = acme();
        store.append_audit(&record(chain, i)).unwrap();
        if i < 3 {
            store.append_audit(&record(Scope::System, i)).unwrap();
        }
        if i == 4 {
            sign(&store);
        }
    }
    sign(&store);
    let heads = store.signed_heads().unwrap();
    assert_eq!(heads.len(), 3, "{heads:?}");
    (path, heads)
}

fn record(chain: Scope, i: u64) -> NewAuditRecord {
    NewAuditRecord {
        chain,
        at: Timestamp::from_second(1_800_000_000 + i as i64).unwrap(),
        kind: AuditKind::Change,
        actor: format!("admin{}", i % 3),
        address: "192.0.2.1".to_owned(),
        object: format!("account:user{i}"),
        action: "create".to_owned(),
        outcome: AuditOutcome::Success,
        detail: json!({"i": i}),
    }
}

/// Signs (with a stand-in signature: the store does not check signatures) every chain's head
/// not signed yet.
fn sign(store: &SqliteMetaStore) {
    let signed = store.signed_heads().unwrap();
    for head in store.chain_heads().unwrap() {
        if signed.iter().any(|s| s.head == head) {
            continue;
        }
        store
            .record_signed_head(&SignedHead {
                head,
                signed_at: Timestamp::from_second(1_800_001_000).unwrap(),
                key_id: "test".to_owned(),
                signature: vec![0; 64],
            })
            .unwrap();
    }
}

/// Opens the file as an attacker would, without the append-only triggers.
fn attacker(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_records_no_update; DROP TRIGGER IF EXISTS audit_records_purge_only;",
    )
    .unwrap();
    conn
}

/// The first problem verification finds in the acme chain, with the system chain still good.
fn first_problem(path: &Path, heads: &[SignedHead]) -> (ProblemKind, u64, String) {
    let store = SqliteMetaStore::open(path).unwrap();
    let reports = store.verify_audit(heads, None).unwrap();
    let system = reports.iter().find(|r| r.chain == "*").unwrap();
    assert!(system.problem.is_none(), "{system:?}");
    let acme = reports.iter().find(|r| r.chain == "acme").unwrap();
    let problem = acme.problem.clone().expect("tampering went unnoticed");
    (problem.kind, problem.seq, problem.to_string())
}

fn stored(conn: &Connection, seq: u64) -> (StoredFields, Vec<u8>) {
    conn.query_row(
        "SELECT chain, at, kind, actor, address, object, action, outcome, detail, prev_hash \
         FROM audit_records WHERE chain = 'acme' AND seq = ?1",
        [seq as i64],
        |r| {
            Ok((
                StoredFields {
                    chain: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    actor: r.get(3)?,
                    address: r.get(4)?,
                    object: r.get(5)?,
                    action: r.get(6)?,
                    outcome: r.get(7)?,
                    detail: r.get(8)?,
                },
                r.get(9)?,
            ))
        },
    )
    .unwrap()
}

/// Moves the acme records from `from` on by `by` positions (from the top down, so that the
/// primary key never collides).
fn shift(conn: &Connection, from: u64, by: i64) {
    let order = if by > 0 { "DESC" } else { "ASC" };
    let seqs: Vec<i64> = conn
        .prepare(&format!(
            "SELECT seq FROM audit_records WHERE chain = 'acme' AND seq >= ?1 ORDER BY seq {order}"
        ))
        .unwrap()
        .query_map([from as i64], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for seq in seqs {
        conn.execute(
            "UPDATE audit_records SET seq = ?2 WHERE chain = 'acme' AND seq = ?1",
            params![seq, seq + by],
        )
        .unwrap();
    }
}

#[test]
fn an_untouched_trail_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let store = SqliteMetaStore::open(&path).unwrap();
    let reports = store.verify_audit(&heads, None).unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.problem.is_none()), "{reports:?}");
    let acme = reports.iter().find(|r| r.chain == "acme").unwrap();
    assert_eq!(
        (acme.records, acme.signed_seq, acme.unsigned),
        (20, Some(20), 0)
    );
}

#[test]
fn an_edit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    attacker(&path)
        .execute(
            "UPDATE audit_records SET actor = 'someone else' WHERE chain = 'acme' AND seq = 7",
            [],
        )
        .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Modified, 7), "{text}");
    assert!(text.contains("chain acme, record 7"), "{text}");
}

#[test]
fn a_deletion_from_the_middle_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    attacker(&path)
        .execute(
            "DELETE FROM audit_records WHERE chain = 'acme' AND seq = 7",
            [],
        )
        .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Missing, 7), "{text}");
}

#[test]
fn a_deletion_with_renumbering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    conn.execute(
        "DELETE FROM audit_records WHERE chain = 'acme' AND seq = 7",
        [],
    )
    .unwrap();
    shift(&conn, 8, -1);
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Moved, 7), "{text}");
}

#[test]
fn an_insertion_is_named_whether_its_hash_is_forged_or_not() {
    // Naive: a copy of another record slipped in at 7.
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    shift(&conn, 7, 1);
    conn.execute(
        "INSERT INTO audit_records SELECT chain, 7, at, kind, actor, address, object, action, \
         outcome, detail, prev_hash, hash FROM audit_records WHERE chain = 'acme' AND seq = 3",
        [],
    )
    .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Modified, 7), "{text}");

    // Careful: a record at 7 with a correct link and hash; the record after it gives it away.
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    let prev: Vec<u8> = conn
        .query_row(
            "SELECT hash FROM audit_records WHERE chain = 'acme' AND seq = 6",
            [],
            |r| r.get(0),
        )
        .unwrap();
    shift(&conn, 7, 1);
    let (mut fields, _) = stored(&conn, 3);
    fields.actor = "intruder".to_owned();
    let prev: [u8; 32] = prev.try_into().unwrap();
    let hash = record_hash(&prev, 7, &fields);
    conn.execute(
        "INSERT INTO audit_records VALUES (?1, 7, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            fields.chain,
            fields.at,
            fields.kind,
            fields.actor,
            fields.address,
            fields.object,
            fields.action,
            fields.outcome,
            fields.detail,
            prev.as_slice(),
            hash.as_slice()
        ],
    )
    .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Inserted, 7), "{text}");
}

#[test]
fn a_reordering_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    conn.execute_batch(
        "UPDATE audit_records SET seq = 1000 WHERE chain = 'acme' AND seq = 7;
         UPDATE audit_records SET seq = 7 WHERE chain = 'acme' AND seq = 8;
         UPDATE audit_records SET seq = 8 WHERE chain = 'acme' AND seq = 1000;",
    )
    .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Moved, 7), "{text}");
}

#[test]
fn a_truncation_before_a_signed_head_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    attacker(&path)
        .execute(
            "DELETE FROM audit_records WHERE chain = 'acme' AND seq > 15",
            [],
        )
        .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Truncated, 16), "{text}");
    // Cutting the whole chain is a truncation too.
    attacker(&path)
        .execute("DELETE FROM audit_records WHERE chain = 'acme'", [])
        .unwrap();
    let (kind, seq, _) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Truncated, 1));
}

#[test]
fn a_rewrite_with_recomputed_hashes_is_caught_by_the_signed_head() {
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    let mut prev: [u8; 32] = conn
        .query_row(
            "SELECT hash FROM audit_records WHERE chain = 'acme' AND seq = 6",
            [],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .unwrap()
        .try_into()
        .unwrap();
    for seq in 7..=RECORDS {
        let (mut fields, _) = stored(&conn, seq);
        if seq == 9 {
            fields.detail = r#"{"i":"nothing to see"}"#.to_owned();
        }
        let hash = record_hash(&prev, seq, &fields);
        conn.execute(
            "UPDATE audit_records SET detail = ?2, prev_hash = ?3, hash = ?4 \
             WHERE chain = 'acme' AND seq = ?1",
            params![seq as i64, fields.detail, prev.as_slice(), hash.as_slice()],
        )
        .unwrap();
        prev = hash;
    }
    // Without the signed heads the chain is consistent: that is what signing is for.
    let store = SqliteMetaStore::open(&path).unwrap();
    assert!(
        store
            .verify_audit(&[], None)
            .unwrap()
            .iter()
            .all(|r| r.problem.is_none())
    );
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::Rewritten, 6), "{text}");
}

#[test]
fn the_triggers_refuse_changes_through_sql() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = trail(dir.path());
    let conn = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE audit_records SET actor = 'x' WHERE seq = 1",
        "DELETE FROM audit_records WHERE seq = 1",
        "DELETE FROM audit_heads",
        "UPDATE audit_heads SET seq = 1",
    ] {
        let error = conn.execute(sql, []).unwrap_err().to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
}

#[test]
fn a_forged_purge_is_caught() {
    // Someone with write access records a purge up to a signed head and deletes the records
    // below it: without a retention that would have purged them, the purge is refused.
    let dir = tempfile::tempdir().unwrap();
    let (path, heads) = trail(dir.path());
    let conn = attacker(&path);
    let anchor: Vec<u8> = conn
        .query_row(
            "SELECT hash FROM audit_records WHERE chain = 'acme' AND seq = 5",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute(
        "INSERT INTO audit_purges (chain, up_to_seq, anchor, at) VALUES ('acme', 5, ?1, '2030-01-01T00:00:00Z')",
        [anchor],
    )
    .unwrap();
    conn.execute(
        "DELETE FROM audit_records WHERE chain = 'acme' AND seq <= 5",
        [],
    )
    .unwrap();
    let (kind, seq, text) = first_problem(&path, &heads);
    assert_eq!((kind, seq), (ProblemKind::UnsignedPurge, 6), "{text}");
}
