//! On the live host, Lynis 3.0.8 (Debian's package) and Wazuh's CIS Debian 12 policy run by our
//! engine agree on the items both check with the same criterion. Lynis checks the live host
//! only (its root option is ignored by most of its tests), so this is the one place the two meet.
//!
//! Each item names the Lynis suggestion, the CIS check, and when the two criteria coincide; an
//! item whose precondition does not hold on this host is reported and not compared.

use std::path::Path;
use std::process::Command;

use shieldwall_baseline::{CheckStatus, Evaluator, Limits, Policy, Target};

struct Item {
    what: &'static str,
    /// Lynis test id and the start of its suggestion text.
    lynis: (&'static str, &'static str),
    /// The CIS Debian 12 check that fails exactly when Lynis suggests.
    cis: &'static str,
    /// Why the two criteria coincide, or when they do not (checked by `applies`).
    criterion: &'static str,
    applies: fn(&str) -> Result<(), String>,
}

fn always(_: &str) -> Result<(), String> {
    Ok(())
}

/// Lynis wants PASS_MAX_DAYS set and not 99999; CIS wants it at most 365. They coincide unless
/// it is set between 366 and 99998.
fn max_days_comparable(_: &str) -> Result<(), String> {
    let defs = std::fs::read_to_string("/etc/login.defs").map_err(|e| e.to_string())?;
    let value = defs
        .lines()
        .find_map(|l| l.strip_prefix("PASS_MAX_DAYS"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    match value {
        Some(days) if days > 365 && days != 99999 => Err(format!("PASS_MAX_DAYS is {days}")),
        _ => Ok(()),
    }
}

/// Lynis accepts any of several file integrity tools; CIS wants AIDE.
fn only_aide_counts(report: &str) -> Result<(), String> {
    match report
        .lines()
        .filter_map(|l| l.strip_prefix("file_integrity_tool[]="))
        .find(|tool| *tool != "aide")
    {
        Some(other) => Err(format!(
            "{other} is installed, which Lynis counts and CIS does not"
        )),
        None => Ok(()),
    }
}

/// Lynis accepts pam_cracklib or pam_passwdqc as well as pam_pwquality; CIS wants
/// libpam-pwquality.
fn only_pwquality_counts(report: &str) -> Result<(), String> {
    for other in ["pam_cracklib=1", "pam_passwdqc=1"] {
        if report.lines().any(|l| l == other) {
            return Err(format!("{other}: Lynis counts it, CIS does not"));
        }
    }
    Ok(())
}

const ITEMS: &[Item] = &[
    Item {
        what: "only root has UID 0",
        lynis: ("AUTH-9204", "Multiple users with UID 0"),
        cis: "33214",
        criterion: "an account other than root with UID 0 in /etc/passwd",
        applies: always,
    },
    Item {
        what: "minimum password age",
        lynis: ("AUTH-9286", "Configure minimum password age"),
        cis: "33209",
        criterion: "PASS_MIN_DAYS unset or 0 (Lynis) is PASS_MIN_DAYS < 1 (CIS)",
        applies: always,
    },
    Item {
        what: "maximum password age",
        lynis: ("AUTH-9286", "Configure maximum password age"),
        cis: "33208",
        criterion: "PASS_MAX_DAYS unset or 99999 (Lynis) against over 365 (CIS)",
        applies: max_days_comparable,
    },
    Item {
        what: "password quality module",
        lynis: (
            "AUTH-9262",
            "Install a PAM module for password strength testing",
        ),
        cis: "33185",
        criterion: "pam_pwquality installed",
        applies: only_pwquality_counts,
    },
    Item {
        what: "file integrity tool",
        lynis: ("FINT-4350", "Install a file integrity tool"),
        cis: "33284",
        criterion: "AIDE installed",
        applies: only_aide_counts,
    },
];

#[test]
fn lynis_and_cis_debian12_agree_on_the_live_host() -> Result<(), Box<dyn std::error::Error>> {
    let Some(policy_file) = shieldwall_testkit::shared_path(
        "testdata/sca/wazuh/ruleset/sca/debian/cis_debian12.yml",
        "lynis_agreement",
    ) else {
        return Ok(());
    };
    if !Path::new("/usr/sbin/lynis").exists() || !shieldwall_testkit::is_root() {
        shieldwall_testkit::skip_or_fail(
            "lynis_agreement: SKIPPED: needs Lynis (Debian package `lynis`, which scripts/test-all \
             installs) and root",
            "the Lynis agreement test must run",
        );
        return Ok(());
    }
    let work = tempfile::tempdir()?;
    let report_file = work.path().join("lynis-report.dat");
    let status = Command::new("/usr/sbin/lynis")
        .args([
            "audit",
            "system",
            "--no-colors",
            "--quick",
            "--cronjob",
            "--tests-from-group",
        ])
        .arg("authentication file_integrity")
        .arg("--report-file")
        .arg(&report_file)
        .arg("--logfile")
        .arg(work.path().join("lynis.log"))
        .stdout(std::process::Stdio::null())
        .status()?;
    assert!(status.success(), "lynis exited with {status}");
    let report = std::fs::read_to_string(&report_file)?;

    let policy = Policy::load(&policy_file)?;
    let ours = Evaluator::new(&Target::local(), Limits::default()).policy(&policy, &mut |_, _| {});

    let mut compared = 0;
    let mut disagreements = Vec::new();
    for item in ITEMS {
        if let Err(why) = (item.applies)(&report) {
            eprintln!(
                "lynis_agreement: {}: not compared on this host: {why}",
                item.what
            );
            continue;
        }
        let (test, text) = item.lynis;
        let lynis_flags = report
            .lines()
            .filter_map(|l| {
                l.strip_prefix("suggestion[]=")
                    .or_else(|| l.strip_prefix("warning[]="))
            })
            .any(|s| s.starts_with(&format!("{test}|{text}")));
        let check = ours
            .checks
            .iter()
            .find(|c| c.id == item.cis)
            .ok_or("check missing")?;
        let we_flag = check.result == CheckStatus::Fail;
        eprintln!(
            "lynis_agreement: {}: Lynis {test} {}, CIS {} {} ({})",
            item.what,
            if lynis_flags {
                "suggests"
            } else {
                "is satisfied"
            },
            item.cis,
            check.result.as_str(),
            item.criterion
        );
        assert_ne!(
            check.result,
            CheckStatus::NotApplicable,
            "{} is not applicable on the live host",
            item.cis
        );
        compared += 1;
        if lynis_flags != we_flag {
            disagreements.push(format!(
                "{}: Lynis {lynis_flags}, CIS {}",
                item.what,
                check.result.as_str()
            ));
        }
    }
    assert!(
        compared >= 4,
        "only {compared} items comparable on this host"
    );
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    Ok(())
}
