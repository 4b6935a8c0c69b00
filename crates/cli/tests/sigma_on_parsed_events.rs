//! SigmaHQ's rules on events from our own parsers: log lines go through `shieldwall parse`, the
//! normalised events through `shieldwall rules test --pipeline shieldwall-event` with the whole
//! corpus loaded. Windows (SigmaHQ's regression samples), Linux, web server, firewall and
//! CloudTrail rules fire on events of their kind, and not on look-alikes of another kind.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common;
use common::shieldwall;

/// Parses `lines` and runs the rules under `rules` on the events; for each line, the ids of
/// the rules it fires.
fn fired(dir: &Path, rules: &Path, lines: &[String]) -> Vec<BTreeSet<String>> {
    let input = dir.join("lines.log");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let parsed = shieldwall(&["parse", input.to_str().unwrap()]);
    let events = dir.join("events.ndjson");
    std::fs::write(&events, &parsed.stdout).unwrap();
    let out = shieldwall(&[
        "rules",
        "test",
        rules.to_str().unwrap(),
        events.to_str().unwrap(),
        "--pipeline",
        "shieldwall-event",
        "--format",
        "json",
    ]);
    eprintln!(
        "{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.starts_with("warning: not loaded"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let result: Vec<BTreeSet<String>> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["matches"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_str().unwrap_or("-").to_owned())
                .collect()
        })
        .collect();
    assert_eq!(result.len(), lines.len(), "one result per line");
    result
}

fn shared_sigma(test: &str) -> Option<PathBuf> {
    shieldwall_testkit::shared_path("testdata/sigma", test)
}

const SQL_INJECTION_IN_URI: &str = "5513deaf-f49a-46c2-a6c8-3f111b5cb453";
const RECON_USER_AGENT: &str = "19aa4f58-94ca-45ff-bc34-92e533c0994a";
const CLOUDTRAIL_IMPORTANT_CHANGE: &str = "4db60cc0-36fb-42b7-9b58-a5b53019fb74";
const SUSPICIOUS_SSHD: &str = "e76b413a-83d0-4b94-8e4c-85db4a5b8bdc";
const EQUATION_GROUP_C2: &str = "881834a4-6659-4773-821e-1c151789d873";
const LINUX_RECON: &str = "0cf7a157-8879-41a2-8f55-388dd23746b7";

#[test]
fn linux_web_firewall_and_cloud_rules_fire_on_their_events_only() {
    let Some(sigma) = shared_sigma("linux_web_firewall_and_cloud_rules_fire_on_their_events_only")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, &[&str])> = vec![
        (
            r#"<13>Nov 29 10:00:03 web1 nginx: 203.0.113.9 - - [29/Nov/2026:10:00:03 +0000] "GET /index.php?id=1%27%20union%20select%20password%20from%20users-- HTTP/1.1" 200 512 "-" "sqlmap/1.7""#,
            &[SQL_INJECTION_IN_URI, RECON_USER_AGENT],
        ),
        // The same text in an SSH user name is not a web request.
        (
            "<38>Nov 29 10:00:01 web1 sshd[1234]: Failed password for invalid user ' union select password from users-- from 203.0.113.9 port 52144 ssh2",
            &[],
        ),
        (
            "<38>Nov 29 10:00:01 web1 sshd[1234]: error: Corrupted MAC on input.",
            &[SUSPICIOUS_SSHD],
        ),
        // The same words from another program are not sshd's.
        (
            "<38>Nov 29 10:00:01 web1 myapp[99]: error: Corrupted MAC on input.",
            &[],
        ),
        (
            "<4>Nov 29 10:00:04 fw1 kernel: [12345.678] IPTABLES-DROP IN=eth0 OUT= MAC=00 SRC=69.42.98.86 DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=1 DF PROTO=TCP SPT=40000 DPT=23 WINDOW=29200 RES=0x00 SYN URGP=0",
            &[EQUATION_GROUP_C2],
        ),
        (
            r#"type=EXECVE msg=audit(1764410405.123:77): argc=5 a0="find" a1="/" a2="-perm" a3="-4000" a4="-ls""#,
            &[LINUX_RECON],
        ),
        (
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob","userName":"bob"},"eventTime":"2026-11-29T10:00:06Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","requestParameters":{"name":"trail"}}"#,
            &[CLOUDTRAIL_IMPORTANT_CHANGE],
        ),
        // CloudTrail's field names in a generic JSON record are not CloudTrail.
        (
            r#"{"app":"billing","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging"}"#,
            &[],
        ),
    ];
    let lines: Vec<String> = cases.iter().map(|(l, _)| (*l).to_owned()).collect();
    let result = fired(dir.path(), &sigma, &lines);
    for ((line, expected), got) in cases.iter().zip(&result) {
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(got, &expected, "{line}");
    }
}

/// One JSON value, or several written one after the other.
fn objects(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.unwrap())
        .collect()
}

#[test]
fn windows_regression_samples_fire_through_our_parser() {
    let Some(sigma) = shared_sigma("windows_regression_samples_fire_through_our_parser") else {
        return;
    };
    let mut lines = Vec::new();
    // For each sample: its expected rule and the range of its lines.
    let mut samples: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut stack = vec![sigma.join("regression_data")];
    let mut infos = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "info.yml") {
                infos.push(path);
            }
        }
    }
    infos.sort();
    for info in &infos {
        let info: Value =
            serde_json::to_value(serde_saphyr_value(&std::fs::read_to_string(info).unwrap()))
                .unwrap();
        let Some(expected) = info["rule_metadata"][0]["id"].as_str() else {
            continue;
        };
        for test in info["regression_tests_info"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if test["type"] != "evtx" {
                continue;
            }
            let json = sigma
                .join(test["path"].as_str().unwrap())
                .with_extension("json");
            let start = lines.len();
            for event in objects(&std::fs::read_to_string(&json).unwrap()) {
                lines.push(event.to_string());
            }
            samples.push((expected.to_owned(), start..lines.len()));
        }
    }
    assert!(samples.len() >= 202, "{} samples", samples.len());
    let dir = tempfile::tempdir().unwrap();
    let result = fired(dir.path(), &sigma, &lines);
    let mut missed = Vec::new();
    let mut others: BTreeMap<String, usize> = BTreeMap::new();
    for (expected, range) in &samples {
        let mut hit = false;
        for got in &result[range.clone()] {
            hit |= got.contains(expected);
            for other in got.iter().filter(|id| *id != expected) {
                *others.entry(other.clone()).or_default() += 1;
            }
        }
        if !hit {
            missed.push(expected.clone());
        }
    }
    eprintln!(
        "{} of {} samples fire their rule through `shieldwall parse`; other rules fired {} times",
        samples.len() - missed.len(),
        samples.len(),
        others.values().sum::<usize>()
    );
    for id in &missed {
        eprintln!("    missed: {id}");
    }
    assert!(
        samples.len() - missed.len() >= 201,
        "{} samples missed their rule",
        missed.len()
    );
}

fn serde_saphyr_value(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}
