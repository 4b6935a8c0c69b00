//! `shieldwall alerts`: listing, showing and handling alerts in a data directory's metadata
//! database, with every change in the history and refusals that say why.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use jiff::Timestamp;
use serde_json::Value;
use shieldwall_core::{RecordId, Severity, TenantId};
use shieldwall_store::meta::{AlertSource, MetaStore, NewAlert, SqliteMetaStore};

fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .arg("alerts")
        .args(args)
        .args(["--data-dir", data.to_str().unwrap()])
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = run(data, args);
    assert!(
        out.status.success(),
        "alerts {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn alert(tenant: &str, key: &str, severity: Severity, second: i64) -> NewAlert {
    NewAlert {
        tenant: TenantId::new(tenant).unwrap(),
        dedup_key: key.into(),
        dedup_window_secs: 3600,
        source: AlertSource::Correlation,
        rule_id: format!("rule-{key}"),
        title: format!("Title {key}"),
        author: Some("Shieldwall".into()),
        license: Some("DRL-1.1".into()),
        level: "high".into(),
        severity,
        attack: vec!["attack.t1110".into()],
        controls: vec!["IAM-02".into()],
        group: BTreeMap::from([("src_endpoint.ip".into(), "203.0.113.9".into())]),
        events: vec![RecordId::derive("e", &[key])],
        count: 1,
        time: Timestamp::from_second(1_800_000_000 + second).unwrap(),
        raised_at: Timestamp::from_second(1_800_000_000 + second).unwrap(),
        notify: Vec::new(),
    }
}

#[test]
fn alerts_are_listed_handled_and_every_change_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let meta = SqliteMetaStore::open(data.join("meta.sqlite")).unwrap();
    meta.raise_alerts(&[
        alert("default", "a", Severity::Medium, 0),
        alert("default", "b", Severity::Critical, 10),
        alert("default", "a", Severity::Medium, 20),
        alert("globex", "c", Severity::High, 30),
    ])
    .unwrap();

    let listed: Vec<Value> = ok(data, &["list", "--format", "json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        listed.len(),
        2,
        "the default tenant's two alerts: {listed:?}"
    );
    assert_eq!(listed[0]["title"], "Title b", "newest first");
    assert_eq!(listed[1]["count"], 2, "the repeat merged");
    let high = ok(data, &["list", "--severity", "high"]);
    assert!(
        high.contains("Title b") && !high.contains("Title a"),
        "{high}"
    );
    let id_a = listed[1]["id"].as_u64().unwrap().to_string();

    assert!(ok(data, &["ack", &id_a]).contains("acknowledged"));
    ok(data, &["assign", &id_a, "--to", "bob"]);
    ok(
        data,
        &[
            "comment",
            &id_a,
            "the address belongs to a scanner",
            "--as",
            "bob",
        ],
    );
    ok(
        data,
        &[
            "close",
            &id_a,
            "--resolution",
            "false positive",
            "--as",
            "bob",
        ],
    );
    // Refusals name the reason and change nothing.
    let again = run(data, &["close", &id_a, "--resolution", "again"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already closed"));
    let empty = run(data, &["reopen", &id_a, "--as", ""]);
    assert!(!empty.status.success());
    let foreign = run(data, &["ack", &id_a, "--tenant", "globex"]);
    assert!(String::from_utf8_lossy(&foreign.stderr).contains("has no alert"));

    let shown: Value =
        serde_json::from_str(&ok(data, &["show", &id_a, "--format", "json"])).unwrap();
    assert_eq!(shown["alert"]["state"], "closed");
    assert_eq!(shown["alert"]["resolution"], "false positive");
    assert_eq!(shown["alert"]["assignee"], "bob");
    let history: Vec<(String, String)> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["action"].as_str().unwrap().to_owned(),
                h["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("raised", "shieldwall"),
        ("acknowledged", "tester"),
        ("assigned", "tester"),
        ("commented", "bob"),
        ("closed", "bob"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(history, expected);
    let text = ok(data, &["show", &id_a]);
    assert!(text.contains("rule by:    Shieldwall (DRL-1.1)"), "{text}");
    assert!(text.contains("CCM 4.0.13: IAM-02"), "{text}");

    // Log text with terminal control sequences is shown escaped.
    meta.raise_alerts(&[alert("default", "\u{1b}]0;owned\u{7}", Severity::Low, 40)])
        .unwrap();
    let table = ok(data, &["list"]);
    assert!(
        !table.contains('\u{1b}') && table.contains("\\u{1b}]0;owned"),
        "{table}"
    );

    let missing = run(dir.path().join("nowhere").as_path(), &["list"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no metadata database"));
}
