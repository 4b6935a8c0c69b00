//! Test support shared by the workspace's test suites.
//!
//! The compatibility corpora and reference data live outside the repository, in `../shared/`
//! beside the checkout (overridable with `SHIELDWALL_SHARED`). [`shared_path`] finds a file or
//! folder there. When it is missing, a test under `CI=true` fails, because a green run that
//! silently tested nothing would lie; elsewhere it says loudly that it skipped and where the data
//! comes from.

#![allow(clippy::panic)] // Failing the test run is this crate's job.

pub mod https;
pub mod smtp;

use std::path::{Path, PathBuf};

/// The workspace root (the repository checkout).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shared folder: `$SHIELDWALL_SHARED`, else `../shared` beside the workspace root.
pub fn shared_root() -> PathBuf {
    match std::env::var_os("SHIELDWALL_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared"),
    }
}

/// `relative` inside the shared folder, or `None` (with a loud message) when it is missing outside
/// CI. Under `CI=true` a missing path panics with the same message.
pub fn shared_path(relative: &str, test: &str) -> Option<PathBuf> {
    let path = shared_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    let message = format!(
        "{test}: SKIPPED: {} is missing. Set SHIELDWALL_SHARED to the shared data folder; \
         its PROVENANCE.md/README.md files say where each corpus comes from.",
        path.display()
    );
    skip_or_fail(&message, "a missing corpus fails the run");
    None
}

/// Says loudly that a test skipped (`message` says what is missing and where it comes from);
/// under `CI=true` fails the run instead, with `why` added.
pub fn skip_or_fail(message: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message} (CI=true: {why})");
    }
    eprintln!("\n*** {message}\n");
}

/// Whether the tests run as root (real UID 0): chroot, and reading `/etc/shadow` on the live
/// host, need it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Every input of a fuzz target: its committed seeds (`fuzz/seeds/<target>`, which must exist)
/// and, when present, its local corpus (`fuzz/corpus/<target>`, grown by `cargo fuzz run`), for
/// tests that replay them with the target's invariants.
pub fn fuzz_inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = workspace_root().join("fuzz");
    let mut out = Vec::new();
    let mut seeded = false;
    for (dir, is_seed) in [
        (root.join("seeds").join(target), true),
        (root.join("corpus").join(target), false),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let data =
                    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seeded |= is_seed;
                out.push((path, data));
            }
        }
    }
    assert!(seeded, "fuzz/seeds/{target} has no seeds");
    out
}

/// The Debian packages that give rsyslogd and its RELP output module.
pub const RSYSLOG_PACKAGES: &str = "rsyslog rsyslog-relp";

/// rsyslogd with its omrelp module, or `None` after [`skip_or_fail`].
pub fn rsyslogd(test: &str) -> Option<PathBuf> {
    let binary = ["/usr/sbin/rsyslogd", "/sbin/rsyslogd", "/usr/bin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    // Debian puts modules in /usr/lib/<triplet>/rsyslog/, others in /usr/lib{,64}/rsyslog/.
    let has_omrelp = ["/usr/lib", "/usr/lib64", "/lib"].iter().any(|root| {
        Path::new(root).join("rsyslog/omrelp.so").exists()
            || std::fs::read_dir(root).is_ok_and(|entries| {
                entries
                    .flatten()
                    .any(|e| e.path().join("rsyslog/omrelp.so").exists())
            })
    });
    match binary {
        Some(binary) if has_omrelp => Some(binary),
        _ => {
            skip_or_fail(
                &format!(
                    "{test}: SKIPPED: rsyslogd with the omrelp module is not installed \
                     (Debian packages: {RSYSLOG_PACKAGES}; `apt-get install -y {RSYSLOG_PACKAGES}`)"
                ),
                "a missing client fails the run",
            );
            None
        }
    }
}

/// The Debian package that gives the OpenSSH server.
pub const SSHD_PACKAGE: &str = "openssh-server";

/// The OpenSSH server binary, or `None` after [`skip_or_fail`].
pub fn sshd(test: &str) -> Option<PathBuf> {
    let binary = ["/usr/sbin/sshd", "/sbin/sshd", "/usr/bin/sshd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if binary.is_none() {
        skip_or_fail(
            &format!(
                "{test}: SKIPPED: sshd is not installed (Debian package {SSHD_PACKAGE}; \
                 `apt-get install -y {SSHD_PACKAGE}`)"
            ),
            "a missing server fails the run",
        );
    }
    binary
}
