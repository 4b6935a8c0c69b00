//! Wazuh's CIS Debian 12 policy (`../shared/testdata/sca/wazuh/ruleset/sca/debian/`, GPL-2.0 test
//! input) against a Debian 12 root that `scripts/build-debian-root` builds with debootstrap
//! (`SHIELDWALL_DEBIAN12_ROOT`, default `target/test-roots/bookworm`), and against a copy this
//! test hardens with the documented list of changes below.
//!
//! Commands run in a chroot of the root (`--chroot`), which needs root; the test says so and
//! skips (fails under CI=true) otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use shieldwall_baseline::{CheckStatus, Evaluator, Limits, Policy, PolicyReport, Target};

use CheckStatus::{Fail, Pass};

/// Results checked by hand against the root as debootstrap builds it: (check, result, why).
const HAND_CHECKED: &[(&str, CheckStatus, &str)] = &[
    (
        "33039",
        Fail,
        "apparmor is installed but apparmor-utils is not",
    ),
    (
        "33049",
        Fail,
        "/etc/issue names the OS (Debian GNU/Linux 12 \\n \\l)",
    ),
    ("33050", Fail, "/etc/issue.net names the OS"),
    ("33087", Pass, "no rsh client package"),
    ("33089", Pass, "no telnet package"),
    (
        "33094",
        Fail,
        "systemd-timesyncd is not installed (chrony is)",
    ),
    ("33126", Fail, "ufw is not installed"),
    ("33133", Pass, "nftables is installed"),
    ("33158", Fail, "sshd -T: banner none"),
    ("33167", Pass, "sshd -T: loglevel INFO"),
    ("33169", Fail, "sshd -T: maxauthtries 6, over 4"),
    ("33172", Pass, "sshd -T: permitemptypasswords no"),
    ("33173", Fail, "sshd -T: permitrootlogin without-password"),
    ("33176", Pass, "sudo is installed"),
    ("33177", Pass, "/etc/sudoers has Defaults use_pty"),
    (
        "33178",
        Fail,
        "no sudo logfile in /etc/sudoers or /etc/sudoers.d",
    ),
    ("33182", Fail, "/etc/pam.d/su has pam_wheel commented out"),
    ("33185", Pass, "libpam-pwquality is installed"),
    ("33204", Fail, "common-auth has pam_unix.so nullok"),
    ("33208", Fail, "login.defs PASS_MAX_DAYS 99999"),
    ("33209", Fail, "login.defs PASS_MIN_DAYS 0"),
    ("33214", Pass, "root is the only UID 0 account"),
    (
        "33216",
        Fail,
        "/etc/group has root:x:0: (the policy's regex wants root:x:0:0)",
    ),
    ("33236", Pass, "rsyslog is installed"),
    ("33245", Fail, "auditd is installed, audispd-plugins is not"),
    ("33249", Pass, "auditd.conf max_log_file = 8"),
    ("33284", Fail, "aide is not installed"),
    ("33287", Pass, "/etc/passwd is 0644 root:root"),
    ("33291", Pass, "/etc/shadow is 0640 root:shadow"),
    (
        "33296",
        Fail,
        "/etc/security/opasswd.old does not exist, so its stat rule fails",
    ),
    (
        "33300",
        Fail,
        "the policy's `not f:/etc/passwd -> r:^[\\w@-]+:x:` fails on any shadowed account",
    ),
    ("33301", Pass, "no empty password field in /etc/shadow"),
];

/// The hardening the test applies to a copy: (path inside the root, what is done).
const HARDENING: &[(&str, Change)] = &[
    (
        "/etc/ssh/sshd_config.d/90-hardening.conf",
        Change::Write("PermitRootLogin no\nMaxAuthTries 4\nBanner /etc/issue.net\n"),
    ),
    (
        "/etc/issue",
        Change::Write("Authorised use only. Activity may be monitored and reported.\n"),
    ),
    (
        "/etc/issue.net",
        Change::Write("Authorised use only. Activity may be monitored and reported.\n"),
    ),
    (
        "/etc/sudoers.d/logfile",
        Change::Write("Defaults logfile=\"/var/log/sudo.log\"\n"),
    ),
    ("/etc/pam.d/common-auth", Change::Replace(" nullok", "")),
    (
        "/etc/pam.d/su",
        Change::Append("auth required pam_wheel.so use_uid group=sugroup\n"),
    ),
    (
        "/etc/login.defs",
        Change::Replace("PASS_MAX_DAYS\t99999", "PASS_MAX_DAYS\t365"),
    ),
    (
        "/etc/login.defs",
        Change::Replace("PASS_MIN_DAYS\t0", "PASS_MIN_DAYS\t1"),
    ),
];

/// Checks the hardening must turn from fail to pass.
const FLIPPED: &[&str] = &[
    "33049", "33050", "33158", "33169", "33173", "33178", "33182", "33204", "33208", "33209",
];

enum Change {
    Write(&'static str),
    Append(&'static str),
    Replace(&'static str, &'static str),
}

fn harden(root: &Path) -> Result<(), Box<dyn std::error::Error>> {
    for (path, change) in HARDENING {
        let file = root.join(path.trim_start_matches('/'));
        match change {
            Change::Write(text) => std::fs::write(&file, text)?,
            Change::Append(text) => {
                let mut old = std::fs::read_to_string(&file)?;
                old.push_str(text);
                std::fs::write(&file, old)?;
            }
            Change::Replace(from, to) => {
                let old = std::fs::read_to_string(&file)?;
                assert!(old.contains(from), "{path} has no `{from}` to replace");
                std::fs::write(&file, old.replace(from, to))?;
            }
        }
    }
    Ok(())
}

fn debian_root() -> Option<PathBuf> {
    let root = std::env::var_os("SHIELDWALL_DEBIAN12_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| shieldwall_testkit::workspace_root().join("target/test-roots/bookworm"));
    if root.join(".complete").exists() {
        return Some(root);
    }
    shieldwall_testkit::skip_or_fail(
        &format!(
            "cis_debian12: SKIPPED: no Debian 12 root at {}; build it with scripts/build-debian-root \
             (debootstrap from Debian's mirror) or set SHIELDWALL_DEBIAN12_ROOT",
            root.display()
        ),
        "the CIS Debian 12 compatibility test must run",
    );
    None
}

fn evaluate(policy: &Policy, root: &Path, chroot: bool) -> PolicyReport {
    let target = Target::root(root.to_owned(), chroot);
    Evaluator::new(&target, Limits::default()).policy(policy, &mut |_, _| {})
}

fn result_of(report: &PolicyReport, id: &str) -> Option<CheckStatus> {
    report.checks.iter().find(|c| c.id == id).map(|c| c.result)
}

fn share(report: &PolicyReport) -> f64 {
    report.summary.not_applicable as f64 / report.summary.total().max(1) as f64
}

#[test]
fn cis_debian12_on_a_debootstrap_root_and_a_hardened_copy() -> Result<(), Box<dyn std::error::Error>>
{
    let Some(policy_file) = shieldwall_testkit::shared_path(
        "testdata/sca/wazuh/ruleset/sca/debian/cis_debian12.yml",
        "cis_debian12",
    ) else {
        return Ok(());
    };
    let Some(root) = debian_root() else {
        return Ok(());
    };
    if !shieldwall_testkit::is_root() {
        shieldwall_testkit::skip_or_fail(
            "cis_debian12: SKIPPED: chroot needs root; run the tests as root",
            "the CIS Debian 12 compatibility test must run",
        );
        return Ok(());
    }
    let policy = Policy::load(&policy_file)?;
    assert_eq!(policy.checks.len(), 207);

    // Without commands: every file rule decides or is not applicable for a stated reason.
    let files_only = evaluate(&policy, &root, false);
    eprintln!(
        "cis_debian12 on {} without commands: {:?}, not applicable {:.1}%",
        root.display(),
        files_only.summary,
        share(&files_only) * 100.0
    );
    assert_eq!(
        files_only.summary.error, 0,
        "engine errors without commands"
    );
    assert!(
        share(&files_only) < 0.80,
        "not-applicable share {:.2} without commands",
        share(&files_only)
    );

    let report = evaluate(&policy, &root, true);
    eprintln!(
        "cis_debian12 on {} in a chroot: {:?}, not applicable {:.1}%",
        root.display(),
        report.summary,
        share(&report) * 100.0
    );
    let errors: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.result == CheckStatus::Error)
        .map(|c| format!("{}: {:?}", c.id, c.reason))
        .collect();
    assert!(errors.is_empty(), "engine errors: {}", errors.join("; "));
    assert!(
        share(&report) <= 0.15,
        "not-applicable share {:.2} in a chroot",
        share(&report)
    );

    let mut wrong = Vec::new();
    for (id, expected, why) in HAND_CHECKED {
        let got = result_of(&report, id);
        if got != Some(*expected) {
            wrong.push(format!("{id}: expected {expected:?} ({why}), got {got:?}"));
        }
    }
    assert!(HAND_CHECKED.len() >= 30);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let copy = tempfile::tempdir()?;
    let hardened = copy.path().join("root");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&root)
        .arg(&hardened)
        .status()?;
    assert!(status.success(), "cp -a {} failed", root.display());
    harden(&hardened)?;
    let after = evaluate(&policy, &hardened, true);
    eprintln!("cis_debian12 on the hardened copy: {:?}", after.summary);
    for id in FLIPPED {
        assert_eq!(result_of(&report, id), Some(Fail), "{id} before hardening");
        assert_eq!(result_of(&after, id), Some(Pass), "{id} after hardening");
    }
    // Hardening must not make anything else fail.
    for check in &report.checks {
        if check.result == Pass {
            assert_eq!(
                result_of(&after, &check.id),
                Some(Pass),
                "{} passed before hardening",
                check.id
            );
        }
    }
    Ok(())
}
