//! `shieldwall check baseline` as a user runs it: targets, formats, and bad input (a malformed
//! policy next to a good one, an unreadable file, an unknown target).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn shieldwall(args: &[&str]) -> Result<Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .output()?)
}

const POLICY: &str = "policy:
  id: sshd_test
  file: sshd_test.yml
  name: SSH daemon test policy
  description: checks for the test
checks:
  - id: 100
    name: Root cannot log in
    remediation: Set PermitRootLogin no.
    compliance:
      ccm_v4: [IAM-09]
    condition: all
    rules:
      - 'f:$target_file -> !r:^# && r:PermitRootLogin\\s+no'
  - id: 101
    name: At most four tries
    condition: all
    rules:
      - 'f:$target_file -> n:^MaxAuthTries\\s+(\\d+) compare <= 4'
  - id: 102
    name: Something elsewhere
    condition: all
    rules:
      - 'f:/etc/hostname -> r:x'
variables:
  $target_file: /etc/ssh/sshd_config
";

fn setup(dir: &Path) -> Result {
    std::fs::write(dir.join("policy.yml"), POLICY)?;
    std::fs::write(
        dir.join("sshd_config"),
        "PermitRootLogin no\nMaxAuthTries 6\n",
    )?;
    std::fs::write(
        dir.join("broken.yml"),
        "policy:\n  id: broken\n  name: Broken\nchecks:\n  - id: 1\n    name: x\n    condition: sometimes\n    rules: ['f:/x']\n",
    )?;
    Ok(())
}

#[test]
fn json_lists_one_object_per_check_with_id_and_result() -> Result {
    let dir = tempfile::tempdir()?;
    setup(dir.path())?;
    let policy = dir.path().join("policy.yml");
    let file = dir.path().join("sshd_config");
    let out = shieldwall(&[
        "check",
        "baseline",
        "--policy",
        policy.to_str().ok_or("path")?,
        "--target",
        &format!("file:{}", file.display()),
        "--format",
        "json",
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let checks = json["reports"][0]["checks"].as_array().ok_or("no checks")?;
    let results: Vec<(String, String)> = checks
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_owned(),
                c["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("100".to_owned(), "pass".to_owned()),
            ("101".to_owned(), "fail".to_owned()),
            ("102".to_owned(), "not_applicable".to_owned()),
        ]
    );
    assert_eq!(json["reports"][0]["summary"]["score"], 50.0);
    assert_eq!(checks[1]["rules"][0]["evidence"], serde_json::json!([]));
    assert!(
        checks[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not part of the target"))
    );
    assert_eq!(
        checks[0]["compliance"]["ccm_v4"],
        serde_json::json!(["IAM-09"])
    );
    Ok(())
}

#[test]
fn every_format_renders() -> Result {
    let dir = tempfile::tempdir()?;
    setup(dir.path())?;
    let policy = dir.path().join("policy.yml");
    let target = format!("file:{}", dir.path().join("sshd_config").display());
    for (format, marker) in [
        ("table", "score 50.0%"),
        ("md", "| 101 | fail | At most four tries |"),
        ("html", "<td class=\"fail\">fail</td>"),
        ("csv", "sshd_test,"),
    ] {
        let out = shieldwall(&[
            "check",
            "baseline",
            "-p",
            policy.to_str().ok_or("path")?,
            "-t",
            &target,
            "-f",
            format,
        ])?;
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout)?;
        assert!(text.contains(marker), "{format} lacks `{marker}`:\n{text}");
    }
    Ok(())
}

#[test]
fn a_malformed_policy_is_named_and_the_others_still_run() -> Result {
    let dir = tempfile::tempdir()?;
    setup(dir.path())?;
    let target = format!("file:{}", dir.path().join("sshd_config").display());
    let out = shieldwall(&[
        "check",
        "baseline",
        "-p",
        dir.path().to_str().ok_or("path")?,
        "-t",
        &target,
        "-f",
        "json",
    ])?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.yml:7:") && stderr.contains("condition `sometimes`"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(json["reports"].as_array().map(Vec::len), Some(1));
    Ok(())
}

#[test]
fn an_unreadable_file_gives_error_results_not_a_crash() -> Result {
    let dir = tempfile::tempdir()?;
    setup(dir.path())?;
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc/ssh"))?;
    let config = root.join("etc/ssh/sshd_config");
    std::fs::write(&config, "PermitRootLogin no\n")?;
    // A directory where a file is expected reads as an error for every user, root included.
    std::fs::create_dir_all(root.join("etc/hostname"))?;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644))?;
    let policy = dir.path().join("policy.yml");
    let out = shieldwall(&[
        "check",
        "baseline",
        "-p",
        policy.to_str().ok_or("path")?,
        "-t",
        &format!("root:{}", root.display()),
        "-f",
        "json",
    ])?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let checks = &json["reports"][0]["checks"];
    assert_eq!(checks[0]["result"], "pass");
    assert_eq!(checks[1]["result"], "fail");
    assert_eq!(checks[2]["result"], "error");
    assert!(
        checks[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("is a directory")),
        "{checks}"
    );
    Ok(())
}

#[test]
fn bad_targets_are_refused_with_a_reason() -> Result {
    let dir = tempfile::tempdir()?;
    setup(dir.path())?;
    let policy = dir.path().join("policy.yml");
    let policy = policy.to_str().ok_or("path")?;
    for (target, says) in [
        ("root:/no/such/dir", "target root /no/such/dir"),
        ("file:/no/such/file", "target file /no/such/file"),
        ("nfs:server", "expected local, root:DIR, file:PATH or ssh:"),
        ("ssh:", "expected a host name or address"),
        ("ssh:db1:99999", "the port is not 1 to 65535"),
    ] {
        let out = shieldwall(&["check", "baseline", "-p", policy, "-t", target])?;
        assert_eq!(out.status.code(), Some(2), "{target}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{target}: {stderr}");
    }
    // SSH options belong to ssh: targets.
    let out = shieldwall(&[
        "check",
        "baseline",
        "-p",
        policy,
        "-t",
        "local",
        "--ssh-key",
        "k",
    ])?;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("apply to ssh: targets only"));
    // An ssh: host that does not answer gives error results (exit 0: the policy ran), with
    // the reason, not a crash.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let key = dir.path().join("key");
    std::fs::write(&key, "not a key")?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let out = shieldwall(&[
        "check",
        "baseline",
        "-p",
        policy,
        "-t",
        &format!("ssh:127.0.0.1:{closed}"),
        "--ssh-key",
        key.to_str().ok_or("path")?,
        "--known-hosts",
        "/dev/null",
        "--format",
        "json",
    ])?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\"error\""), "{stdout}");
    assert!(stdout.contains("ssh key"), "{stdout}");
    Ok(())
}
