//! The correlation rules we ship (`rules/`) on log lines from our own parsers: each attack the
//! guideline names (brute force then success, password spraying, port scans and sweeps, lateral
//! movement, web attack bursts, content discovery, database violations, exfiltration volume)
//! fires its rule once, for its attacker, and the same activity below the thresholds from other
//! addresses fires nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

mod common;
use common::shieldwall;

/// Parses `lines` with `parse_args` and returns the events.
fn parse(dir: &Path, name: &str, lines: &[String], parse_args: &[&str]) -> Vec<Value> {
    let input = dir.join(name);
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut args = vec!["parse"];
    args.extend_from_slice(parse_args);
    args.push(input.to_str().unwrap());
    let out = shieldwall(&args);
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for e in &events {
        assert_eq!(e["parse"], "parsed", "{name}: {}", e["raw"]);
    }
    events
}

/// `hh:mm:ss` on the test day, as syslog and as RFC 3339.
fn at(seconds: u32) -> (String, String) {
    let (h, m, s) = (10 + seconds / 3600, seconds / 60 % 60, seconds % 60);
    (
        format!("Nov 29 {h:02}:{m:02}:{s:02}"),
        format!("29/Nov/2026:{h:02}:{m:02}:{s:02} +0000"),
    )
}

fn sshd(t: u32, host: &str, ok: bool, user: &str, ip: &str) -> String {
    let (syslog, _) = at(t);
    let what = if ok { "Accepted" } else { "Failed" };
    format!("<38>{syslog} {host} sshd[4242]: {what} password for {user} from {ip} port 50022 ssh2")
}

fn netfilter(t: u32, src: &str, dst: &str, port: u32) -> String {
    let (syslog, _) = at(t);
    format!(
        "<4>{syslog} fw1 kernel: [1.0] DROP IN=eth0 OUT= MAC=00 SRC={src} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=49 ID=1 DF PROTO=TCP SPT=40000 DPT={port} WINDOW=1 RES=0x00 SYN URGP=0"
    )
}

fn nginx(t: u32, ip: &str, url: &str, status: u32, bytes: u64) -> String {
    let (_, clf) = at(t);
    format!("{ip} - - [{clf}] \"GET {url} HTTP/1.1\" {status} {bytes} \"-\" \"Mozilla/5.0\"")
}

fn mysql(t: u32, user: &str) -> String {
    let (h, m, s) = (10 + t / 3600, t / 60 % 60, t % 60);
    format!(
        "2026-11-29T{h:02}:{m:02}:{s:02}.000000Z 8 [Note] [MY-010926] [Server] Access denied for user '{user}'@'10.0.0.3' (using password: YES)"
    )
}

#[test]
fn each_attack_fires_its_rule_and_lesser_activity_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut syslog = Vec::new();
    let mut web = Vec::new();
    let mut db = Vec::new();
    // Brute force then success: 12 failures, then a logon; and a user who mistyped 3 times.
    for i in 0..12 {
        syslog.push(sshd(i * 5, "web1", false, "root", "203.0.113.9"));
    }
    syslog.push(sshd(70, "web1", true, "root", "203.0.113.9"));
    for i in 0..3 {
        syslog.push(sshd(100 + i, "web1", false, "alice", "198.51.100.20"));
    }
    syslog.push(sshd(110, "web1", true, "alice", "198.51.100.20"));
    // Password spraying: 9 accounts from one address; 3 from another.
    for i in 0..9 {
        syslog.push(sshd(
            600 + i * 3,
            "web2",
            false,
            &format!("user{i}"),
            "203.0.113.50",
        ));
    }
    for i in 0..3 {
        syslog.push(sshd(
            600 + i * 3,
            "web2",
            false,
            &format!("user{i}"),
            "198.51.100.21",
        ));
    }
    // Port scan (30 ports of one host) and sweep (30 hosts on one port); 5 ports otherwise.
    for p in 0..30 {
        syslog.push(netfilter(1200 + p, "198.51.100.7", "10.0.0.5", 20 + p));
        syslog.push(netfilter(
            1200 + p,
            "198.51.100.9",
            &format!("10.0.1.{p}"),
            445,
        ));
    }
    for p in 0..5 {
        syslog.push(netfilter(1200 + p, "198.51.100.8", "10.0.0.5", 20 + p));
    }
    // Lateral movement: one address logs on to 5 hosts; another to 2.
    for h in 0..5 {
        syslog.push(sshd(
            1800 + h * 60,
            &format!("app{h}"),
            true,
            "deploy",
            "10.0.0.77",
        ));
    }
    for h in 0..2 {
        syslog.push(sshd(
            1800 + h * 60,
            &format!("app{h}"),
            true,
            "deploy",
            "10.0.0.78",
        ));
    }
    // Web attacks: 25 from one address, 5 from another, and ordinary browsing.
    for i in 0..25 {
        web.push(nginx(
            2400 + i,
            "203.0.113.66",
            &format!("/item?id=1%27%20or%20{i}"),
            200,
            512,
        ));
    }
    for i in 0..5 {
        web.push(nginx(
            2400 + i,
            "203.0.113.67",
            "/../../etc/passwd",
            404,
            153,
        ));
    }
    for i in 0..40 {
        web.push(nginx(
            2400 + i,
            "198.51.100.30",
            &format!("/page/{i}"),
            200,
            2048,
        ));
    }
    // Content discovery: 60 missing URLs from one address, 10 from another.
    for i in 0..60 {
        web.push(nginx(
            3000 + i,
            "203.0.113.70",
            &format!("/backup{i}.zip"),
            404,
            153,
        ));
    }
    for i in 0..10 {
        web.push(nginx(
            3000 + i,
            "198.51.100.31",
            &format!("/old{i}.html"),
            404,
            153,
        ));
    }
    // Exfiltration: 4 responses of 300 MB to one address; 10 of 1 MB to another.
    for i in 0..4 {
        web.push(nginx(
            3600 + i * 60,
            "203.0.113.80",
            "/export.tar",
            200,
            300_000_000,
        ));
    }
    for i in 0..10 {
        web.push(nginx(
            3600 + i * 60,
            "198.51.100.32",
            "/report.pdf",
            200,
            1_000_000,
        ));
    }
    // Database violations: 6 refusals for one account, 2 for another.
    for i in 0..6 {
        db.push(mysql(4200 + i * 10, "app"));
    }
    for i in 0..2 {
        db.push(mysql(4200 + i * 10, "report"));
    }

    let mut events = parse(dir.path(), "syslog.log", &syslog, &[]);
    events.extend(parse(
        dir.path(),
        "access.log",
        &web,
        &["--parser", "nginx-access", "--no-syslog"],
    ));
    events.extend(parse(
        dir.path(),
        "mysql.log",
        &db,
        &["--parser", "mysql-error", "--no-syslog"],
    ));
    events.sort_by_key(|e| e["time"].as_str().unwrap().to_owned());
    let file = dir.path().join("events.ndjson");
    let text: Vec<String> = events.iter().map(Value::to_string).collect();
    std::fs::write(&file, text.join("\n") + "\n").unwrap();

    let rules = shieldwall_testkit::workspace_root().join("rules");
    let out = shieldwall(&[
        "rules",
        "test",
        rules.to_str().unwrap(),
        file.to_str().unwrap(),
        "--pipeline",
        "shieldwall-event",
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!stderr.contains("not loaded"), "{stderr}");
    let hits: BTreeSet<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let c = v.get("correlation")?;
            if c["alerts_alone"] != true {
                return None;
            }
            let group: Vec<String> = c["group"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            Some((c["title"].as_str().unwrap().to_owned(), group.join(" ")))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("Brute force against one host", "web1 203.0.113.9"),
        ("Successful logon after a brute force", "web1 203.0.113.9"),
        ("Password spraying from one address", "203.0.113.50"),
        ("Port scan of one host", "10.0.0.5 198.51.100.7"),
        ("Network sweep of one port", "445 198.51.100.9"),
        ("One address logs on to many hosts", "10.0.0.77"),
        ("Burst of web attacks from one address", "203.0.113.66"),
        ("Web content discovery from one address", "203.0.113.70"),
        ("Large volume served to one address", "203.0.113.80"),
        ("Repeated database access violations", "app"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    assert_eq!(hits, expected);
}
