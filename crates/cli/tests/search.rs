//! `import`, then `search`, `stats`, `export` and `store ...` on the store, through the binary:
//! what an analyst or administrator types, what comes back, and the errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::{Command, Output};

fn shieldwall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// A data directory holding 30 sshd lines (10 failed passwords from 203.0.113.9 for root, 20
/// accepted keys for alice from 198.51.100.x) and 5 sudo lines.
fn imported() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shieldwall.toml"),
        "data_dir = \"data\"\n[api]\nlisten = \"127.0.0.1:0\"\n[[sources]]\ntype = \"syslog-tcp\"\nname = \"hosts\"\nlisten = \"127.0.0.1:0\"\ntime_zone = \"UTC\"\n",
    )
    .unwrap();
    let mut lines = String::new();
    for i in 0..10 {
        lines.push_str(&format!(
            "<38>Nov 28 10:{i:02}:00 web1 sshd[100]: Failed password for root from 203.0.113.9 port {} ssh2\n",
            40000 + i
        ));
    }
    for i in 0..20 {
        lines.push_str(&format!(
            "<38>Nov 28 11:{i:02}:00 web2 sshd[200]: Accepted publickey for alice from 198.51.100.{i} port 50000 ssh2\n"
        ));
    }
    for i in 0..5 {
        lines.push_str(&format!(
            "<86>Nov 28 12:{i:02}:00 web1 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id\n"
        ));
    }
    std::fs::write(dir.path().join("auth.log"), lines).unwrap();
    ok(&shieldwall(
        dir.path(),
        &["import", "--source", "hosts", "auth.log"],
    ));
    dir
}

#[test]
fn search_count_fields_and_formats() {
    let dir = imported();
    let d = dir.path();
    let count = |q: &str| {
        ok(&shieldwall(d, &["search", q, "--count"]))
            .trim()
            .to_owned()
    };
    assert_eq!(count("*"), "35");
    assert_eq!(count("parser:sshd"), "30");
    assert_eq!(count("\"failed password\""), "10");
    assert_eq!(count("src_endpoint.ip:198.51.100.*"), "20");
    assert_eq!(count("parser:sshd AND NOT user.name:alice"), "10");
    assert_eq!(count("device.hostname:WEB1"), "15");

    let table = ok(&shieldwall(
        d,
        &[
            "search",
            "parser:sudo",
            "--fields",
            "time,user.name,parser",
            "--limit",
            "2",
        ],
    ));
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows[0], "time\tuser.name\tparser");
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[1].contains("12:04:00") && rows[2].contains("12:03:00"),
        "newest first: {table}"
    );

    let json = ok(&shieldwall(
        d,
        &[
            "search",
            "user.name:root AND parser:sshd",
            "--format",
            "json",
        ],
    ));
    let events: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 10);
    assert!(
        events
            .iter()
            .all(|e| e["src_endpoint"]["ip"] == "203.0.113.9")
    );

    let csv = ok(&shieldwall(
        d,
        &[
            "search",
            "parser:sudo",
            "--format",
            "csv",
            "--fields",
            "parser,message",
            "--limit",
            "1",
        ],
    ));
    assert!(csv.starts_with("parser,message\n"), "{csv}");
}

#[test]
fn times_bound_the_search() {
    let dir = imported();
    let d = dir.path();
    let year = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year();
    // The lines carry no year: it is inferred (the most recent Nov 28 not more than 7 days
    // ahead), so compute the window from today's year the same way the tests run.
    let found = |from: String, to: String| {
        ok(&shieldwall(
            d,
            &["search", "*", "--count", "--from", &from, "--to", &to],
        ))
        .trim()
        .to_owned()
    };
    let total: u32 = [year, year - 1]
        .iter()
        .map(|y| {
            found(
                format!("{y}-11-28T11:00:00Z"),
                format!("{y}-11-28T12:00:00Z"),
            )
            .parse::<u32>()
            .unwrap()
        })
        .sum();
    assert_eq!(total, 20);
}

#[test]
fn stats_count_by_field() {
    let dir = imported();
    let out = ok(&shieldwall(
        dir.path(),
        &["stats", "--format", "json", "--top", "2"],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["total"], 35);
    let by_user = v["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["field"] == "user.name")
        .unwrap();
    // sudo events name the target user (root); the sshd ones the account logged in to.
    assert_eq!(by_user["buckets"][0], serde_json::json!(["alice", 20]));
    assert_eq!(by_user["buckets"][1], serde_json::json!(["root", 15]));
}

#[test]
fn export_writes_every_matching_event_as_ndjson() {
    let dir = imported();
    let d = dir.path();
    let o = shieldwall(
        d,
        &["export", "--query", "parser:sshd", "--output", "out.ndjson"],
    );
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("30 events exported"));
    let text = std::fs::read_to_string(d.join("out.ndjson")).unwrap();
    assert_eq!(text.lines().count(), 30);
    for line in text.lines() {
        let e: shieldwall_core::Event = serde_json::from_str(line).unwrap();
        assert_eq!(e.parser.as_deref(), Some("sshd"));
    }
}

#[test]
fn a_malformed_query_points_at_the_column() {
    let dir = imported();
    let o = shieldwall(dir.path(), &["search", "user.name:(root OR"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("user.name:(root OR"), "{err}");
    assert!(err.contains('^'), "{err}");
}

#[test]
fn a_missing_store_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = shieldwall(dir.path(), &["search", "*", "--store", "nowhere"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nowhere") && err.contains("not a Shieldwall store"),
        "{err}"
    );
}

fn count(dir: &Path, extra: &[&str]) -> u64 {
    count_of(dir, "*", extra)
}

fn count_of(dir: &Path, query: &str, extra: &[&str]) -> u64 {
    let mut args = vec!["search", query, "--count"];
    args.extend_from_slice(extra);
    ok(&shieldwall(dir, &args)).trim().parse().unwrap()
}

#[test]
fn delete_asks_first_then_deletes_and_records() {
    let dir = imported();
    let d = dir.path();
    let dry = ok(&shieldwall(
        d,
        &["store", "delete", "user.name:root", "--tenant", "default"],
    ));
    assert!(
        dry.contains("15 events of default match; nothing deleted"),
        "{dry}"
    );
    assert_eq!(count(d, &[]), 35);
    let done = ok(&shieldwall(
        d,
        &[
            "store",
            "delete",
            "user.name:root",
            "--tenant",
            "default",
            "--yes",
            "--requested-by",
            "ana",
        ],
    ));
    assert!(done.contains("deleted 15 events"), "{done}");
    assert_eq!(count(d, &[]), 20);
    let meta = shieldwall_store::meta::SqliteMetaStore::open(d.join("data/meta.sqlite")).unwrap();
    use shieldwall_store::meta::MetaStore;
    let records = meta.deletions(None, 10).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].deletion.deleted_events, 15);
    assert_eq!(records[0].deletion.query, "user.name:root");
    assert_eq!(records[0].deletion.requested_by, "ana");
}

#[test]
fn backup_restore_and_import_give_back_the_same_events() {
    let dir = imported();
    let d = dir.path();
    ok(&shieldwall(d, &["store", "backup", "bk"]));
    ok(&shieldwall(
        d,
        &["store", "restore", "bk", "--data-dir", "restored"],
    ));
    assert_eq!(count(d, &["--store", "restored/store"]), 35);
    let again = shieldwall(d, &["store", "restore", "bk", "--data-dir", "restored"]);
    assert!(
        !again.status.success(),
        "a restore over a store must be refused"
    );

    ok(&shieldwall(d, &["export", "-o", "all.ndjson"]));
    let first = ok(&shieldwall(
        d,
        &["store", "import", "all.ndjson", "--data-dir", "copy"],
    ));
    assert!(
        first.contains("imported 35 events; 0 already stored"),
        "{first}"
    );
    let second = ok(&shieldwall(
        d,
        &["store", "import", "all.ndjson", "--data-dir", "copy"],
    ));
    assert!(
        second.contains("imported 0 events; 35 already stored"),
        "{second}"
    );
    let original = std::fs::read_to_string(d.join("all.ndjson")).unwrap();
    ok(&shieldwall(
        d,
        &["export", "--store", "copy/store", "-o", "copy.ndjson"],
    ));
    let copied = std::fs::read_to_string(d.join("copy.ndjson")).unwrap();
    let sorted = |t: &str| {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(&original),
        sorted(&copied),
        "export, import, export is exact"
    );
}

#[test]
fn retention_policies_are_kept_and_applied() {
    let dir = imported();
    let d = dir.path();
    ok(&shieldwall(
        d,
        &[
            "store",
            "retention",
            "set",
            "--tenant",
            "default",
            "--max-age-days",
            "1",
        ],
    ));
    let shown = ok(&shieldwall(d, &["store", "retention", "show"]));
    assert!(shown.contains("default\tmax age: 1 days"), "{shown}");
    let bad = shieldwall(d, &["store", "retention", "set", "--tenant", "default"]);
    assert!(
        !bad.status.success(),
        "a policy without limits must be refused"
    );
    // Lines of 2025 imported today are filed under today (more than a day from their receipt):
    // found by their time, and kept as long as what arrived with them. `import` runs the
    // server's pipeline, which applies the policies when it starts (before these arrive).
    let now = jiff::Timestamp::now();
    std::fs::write(
        d.join("dated.log"),
        format!(
            "<38>1 2025-01-10T10:00:00Z web1 sshd 1 - - Failed password for late from 203.0.113.9 port 1 ssh2\n\
             <38>1 {now} web1 sshd 1 - - Failed password for late from 203.0.113.9 port 2 ssh2\n"
        ),
    )
    .unwrap();
    ok(&shieldwall(
        d,
        &["import", "--source", "hosts", "dated.log"],
    ));
    let today = now
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .to_string();
    assert_eq!(
        count_of(d, "user.name:late", &["--to", &today]),
        1,
        "the 2025 line is found by its time"
    );
    // An event filed under a day before yesterday: one exported and stored again with a receive
    // time (and event time) in January 2025.
    let exported = ok(&shieldwall(d, &["export", "--query", "user.name:late"]));
    let mut old: serde_json::Value =
        serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    old["id"] = "0b0e0f00-0000-5000-8000-000000000001".into();
    old["time"] = "2025-01-10T10:00:00Z".into();
    old["received"] = "2025-01-10T10:00:05Z".into();
    old["user"]["name"] = "olduser".into();
    std::fs::write(d.join("old.ndjson"), format!("{old}\n")).unwrap();
    ok(&shieldwall(d, &["store", "import", "old.ndjson"]));
    assert_eq!(count_of(d, "user.name:olduser", &[]), 1);
    let applied = ok(&shieldwall(d, &["store", "retention", "apply"]));
    assert!(
        applied.contains("removed 1 day(s) [\"2025-01-10\"]"),
        "{applied}"
    );
    assert_eq!(count_of(d, "user.name:olduser", &[]), 0);
    assert_eq!(
        count_of(d, "user.name:late", &[]),
        2,
        "imported today: kept"
    );
}

#[test]
fn check_names_a_damaged_day_and_fails() {
    let dir = imported();
    let d = dir.path();
    let healthy = ok(&shieldwall(d, &["store", "check"]));
    assert!(healthy.starts_with("default\t35 events"), "{healthy}");
    let tenant_dir = d.join("data/store/events/default");
    let day = std::fs::read_dir(&tenant_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    for entry in std::fs::read_dir(&day).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "term") {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    let o = shieldwall(d, &["store", "check"]);
    assert!(
        !o.status.success(),
        "{} / {:?}",
        String::from_utf8_lossy(&o.stdout),
        std::fs::read_dir(&day)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect::<Vec<_>>()
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("UNREADABLE"),
        "{out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains(&day.file_name().unwrap().to_string_lossy().to_string()),
        "{out}"
    );
}

#[test]
fn searches_from_the_command_line_are_in_the_audit_trail() {
    let dir = imported();
    let d = dir.path();
    ok(&shieldwall(d, &["search", "user.name:root", "--count"]));
    ok(&shieldwall(d, &["stats", "--query", "parser:sshd"]));
    let trail = ok(&shieldwall(
        d,
        &[
            "audit", "list", "--chain", "default", "--kind", "search", "--format", "json",
        ],
    ));
    let records: Vec<serde_json::Value> = trail
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["detail"]["q"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [("stats", "parser:sshd"), ("search", "user.name:root")]
    );
    assert!(
        records
            .iter()
            .all(|r| r["actor"].as_str().unwrap().starts_with("cli:"))
    );
}
