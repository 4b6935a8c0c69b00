//! `shieldwall admin init` and `shieldwall audit`: the first administrator, refused the second
//! time; the audit trail verified, tampered with in its database file, and caught, with the
//! first bad record named; a truncation that also removed the signed heads from the database is
//! caught by the exported heads.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn run(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shieldwall"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("USER", "tester")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn init(dir: &Path, name: &str) -> Output {
    run(
        dir,
        &["admin", "init", "--name", name, "--password-stdin"],
        "a long enough passphrase\n",
    )
}

#[test]
fn the_first_administrator_is_made_once_and_never_with_a_weak_password() {
    let dir = tempfile::tempdir().unwrap();
    let weak = run(
        dir.path(),
        &["admin", "init", "--name", "root", "--password-stdin"],
        "short\n",
    );
    assert!(!weak.status.success(), "{}", text(&weak));
    let first = init(dir.path(), "alice");
    assert!(first.status.success(), "{}", text(&first));
    let shown = text(&first);
    assert!(
        shown.contains("otpauth://totp/Shieldwall:alice?secret="),
        "{shown}"
    );
    let second = init(dir.path(), "bob");
    assert!(!second.status.success());
    assert!(
        text(&second).contains("exists already (alice)"),
        "{}",
        text(&second)
    );
    // The password and the TOTP secret are nowhere in the database in the clear.
    let db = std::fs::read(dir.path().join("meta.sqlite")).unwrap();
    let secret = shown.split("secret (base32): ").nth(1).unwrap().trim();
    assert!(!db.windows(8).any(|w| w == b"a long e"));
    assert!(!db.windows(secret.len()).any(|w| w == secret.as_bytes()));
    let listed = run(
        dir.path(),
        &["audit", "list", "--chain", "*", "--format", "json"],
        "",
    );
    let listed = text(&listed);
    assert!(listed.contains(r#""action":"init_admin""#), "{listed}");
    assert!(listed.contains(r#""actor":"cli:tester""#), "{listed}");
    assert!(
        listed.contains(r#""type":"audit_read""#),
        "the read itself is not recorded: {listed}"
    );
}

#[test]
fn verify_names_the_first_bad_record_and_exported_heads_catch_a_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("shieldwall.toml");
    let data = dir.path().join("data");
    let heads = dir.path().join("heads.jsonl");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[audit]\nexport_heads = {:?}\n",
            data.display().to_string(),
            heads.display().to_string()
        ),
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", config.to_str().unwrap()]);
        Command::new(env!("CARGO_BIN_EXE_shieldwall"))
            .args(all)
            .env("USER", "tester")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(init(&data, "alice").status.success());
    for _ in 0..4 {
        let out = with_config(&["audit", "list", "--chain", "*"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let signed = with_config(&["audit", "sign"]);
    assert!(
        text(&signed).contains("signed 1 chain head"),
        "{}",
        text(&signed)
    );
    let ok = with_config(&["audit", "verify", "--heads", heads.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(
        text(&ok).contains("5 records, last 5, signed up to 5, 0 unsigned: ok"),
        "{}",
        text(&ok)
    );

    // Edit record 3.
    let db = data.join("meta.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_records_no_update; DROP TRIGGER audit_records_purge_only;
         DROP TRIGGER audit_heads_no_delete;",
    )
    .unwrap();
    conn.execute(
        "UPDATE audit_records SET actor = 'nobody' WHERE seq = 3",
        [],
    )
    .unwrap();
    let bad = with_config(&["audit", "verify"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad).contains("chain *, record 3: modified"),
        "{}",
        text(&bad)
    );
    conn.execute(
        "UPDATE audit_records SET actor = 'cli:tester' WHERE seq = 3",
        [],
    )
    .unwrap();
    assert!(with_config(&["audit", "verify"]).status.success());

    // Cut the last two records and the signed head in the database: only the export sees it.
    conn.execute("DELETE FROM audit_records WHERE seq > 3", [])
        .unwrap();
    conn.execute("DELETE FROM audit_heads", []).unwrap();
    let blind = with_config(&["audit", "verify"]);
    assert!(
        blind.status.success(),
        "without the export the cut is invisible: {}",
        text(&blind)
    );
    let caught = with_config(&["audit", "verify", "--heads", heads.to_str().unwrap()]);
    assert!(!caught.status.success());
    let said = text(&caught);
    assert!(said.contains("chain *, record 4: truncated"), "{said}");
    assert!(
        said.contains("missing from the database (deleted)"),
        "{said}"
    );

    // A head signed by another key is refused.
    let forged = dir.path().join("forged.pub");
    std::fs::write(&forged, format!("{}\n", "ab".repeat(32))).unwrap();
    let other = with_config(&[
        "audit",
        "verify",
        "--heads",
        heads.to_str().unwrap(),
        "--public-key",
        forged.to_str().unwrap(),
    ]);
    assert!(!other.status.success());
    assert!(
        text(&other).contains("the public key given is"),
        "{}",
        text(&other)
    );
}
