//! `shieldwall rules check` and `rules test` on rules and events written here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

fn shieldwall(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

const GOOD: &str = "title: Whoami run
id: 11111111-1111-4111-8111-111111111111
level: medium
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
";

const BAD: &str = "title: Broken
logsource:
    product: windows
detection:
    selection:
        Image|sometimes: 'x'
    condition: selection
";

fn rules_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules/nested")).unwrap();
    std::fs::write(dir.path().join("rules/good.yml"), GOOD).unwrap();
    std::fs::write(dir.path().join("rules/nested/bad.yaml"), BAD).unwrap();
    std::fs::write(dir.path().join("rules/readme.txt"), "not a rule").unwrap();
    dir
}

#[test]
fn check_reports_what_loads_and_why_the_rest_does_not() {
    let dir = rules_dir();
    let out = shieldwall(dir.path(), &["rules", "check", "rules", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "a failed rule fails the check");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["loaded"], 1);
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("nested/bad.yaml")
    );
    assert_eq!(failed[0]["line"], 6);
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("unknown modifier `sometimes`"),
        "{report}"
    );
    std::fs::remove_file(dir.path().join("rules/nested/bad.yaml")).unwrap();
    let out = shieldwall(dir.path(), &["rules", "check", "rules"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("1 rule(s) loaded, 0 filter(s), 0 correlation(s), 0 failed")
    );
}

const ADMIN_FILTER: &str = "title: Admins may run whoami
logsource:
    product: windows
filter:
    rules: [11111111-1111-4111-8111-111111111111, 22222222-2222-4222-8222-222222222222]
    admins:
        User|startswith: 'adm_'
    condition: admins
";

#[test]
fn filters_tune_the_rules_they_name() {
    let dir = rules_dir();
    std::fs::remove_file(dir.path().join("rules/nested/bad.yaml")).unwrap();
    std::fs::write(dir.path().join("rules/mf_admins.yml"), ADMIN_FILTER).unwrap();
    let out = shieldwall(dir.path(), &["rules", "check", "rules", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["loaded"], 1);
    assert_eq!(report["filters"], 1);
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("names rule `22222222-2222-4222-8222-222222222222`, which is not loaded"),
        "{report}"
    );
    std::fs::write(
        dir.path().join("events.json"),
        r#"{"Image": "c:\\x\\whoami.exe", "User": "adm_jane"} {"Image": "c:\\x\\whoami.exe", "User": "jane"}"#,
    )
    .unwrap();
    let out = shieldwall(dir.path(), &["rules", "test", "rules", "events.json"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 1, "{table}");
    assert!(table.starts_with("event 2\t"), "{table}");
}

#[test]
fn test_shows_which_events_fire_which_rule() {
    let dir = rules_dir();
    std::fs::remove_file(dir.path().join("rules/nested/bad.yaml")).unwrap();
    let sysmon = |id: u32, image: &str| {
        format!(
            r#"{{"Event":{{"System":{{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{id}}},"EventData":{{"Image":"{image}"}}}}}}"#
        )
    };
    let events = [
        sysmon(1, "C:\\\\Windows\\\\System32\\\\whoami.exe"),
        sysmon(1, "C:\\\\Windows\\\\System32\\\\cmd.exe"),
        // An image load of whoami.exe: not a process creation, so the rule does not run.
        sysmon(7, "C:\\\\Windows\\\\System32\\\\whoami.exe"),
    ]
    .join("\n");
    std::fs::write(dir.path().join("events.ndjson"), events).unwrap();
    let out = shieldwall(
        dir.path(),
        &[
            "rules",
            "test",
            "rules",
            "events.ndjson",
            "--pipeline",
            "windows-evtx",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let fired: Vec<usize> = lines
        .iter()
        .map(|l| l["matches"].as_array().unwrap().len())
        .collect();
    assert_eq!(fired, [1, 0, 0]);
    assert_eq!(lines[0]["matches"][0]["title"], "Whoami run");

    // Flat events without a pipeline: the field is looked up as written, logsource ignored.
    std::fs::write(
        dir.path().join("flat.json"),
        r#"{"Image": "c:\\x\\WHOAMI.EXE"} {"Image": "c:\\x\\cmd.exe"}"#,
    )
    .unwrap();
    let out = shieldwall(dir.path(), &["rules", "test", "rules", "flat.json"]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 1, "{table}");
    assert!(table.starts_with("event 1\tmedium\t11111111-"), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("logsources not checked"));

    std::fs::write(dir.path().join("broken.json"), "{\"a\": 1}\n{\"b\": ").unwrap();
    let out = shieldwall(dir.path(), &["rules", "test", "rules", "broken.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("broken.json:2: not a JSON value"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
