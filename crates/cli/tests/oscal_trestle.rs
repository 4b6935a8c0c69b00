//! The OSCAL exports of every example load and validate with compliance-trestle (PyPI, pinned in
//! tools/oscal/requirements.txt): a client nobody here wrote. The test command of README.md
//! installs it into .venv; set SHIELDWALL_OSCAL_PYTHON to use another interpreter.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::{path::PathBuf, process::Command};

fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("SHIELDWALL_OSCAL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| shieldwall_testkit::workspace_root().join(".venv/bin/python"));
    let has_trestle = Command::new(&candidate)
        .args(["-c", "import trestle"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_trestle {
        return Some(candidate);
    }
    let message = format!(
        "oscal_trestle: SKIPPED: {} cannot import trestle. Install it with `python3 -m venv .venv && .venv/bin/pip install -r tools/oscal/requirements.txt` (the README test command does this).",
        candidate.display()
    );
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "{message} (CI=true: a missing validator fails the run)"
    );
    eprintln!("\n*** {message}\n");
    None
}

#[test]
fn every_example_exports_oscal_that_trestle_validates() {
    let Some(python) = python() else { return };
    for example in ["b2b-cloud", "iaas-webshop", "saas-office"] {
        for framework in ["ccm-4.0.13", "ccm-3.0.1"] {
            let dir = tempfile::tempdir().unwrap();
            let o = Command::new(env!("CARGO_BIN_EXE_shieldwall"))
                .args([
                    "plan",
                    &format!("examples/{example}.toml"),
                    "--as-of",
                    "2026-11-30",
                    "--framework",
                    framework,
                    "--format",
                    "json",
                    "--output",
                ])
                .arg(dir.path().join("plan.json"))
                .arg("--oscal-dir")
                .arg(dir.path())
                .current_dir(shieldwall_testkit::workspace_root())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let files = [
                "catalog.json",
                "profile.json",
                "ssp.json",
                "component-definition.json",
            ];
            let v = Command::new(&python)
                .arg(shieldwall_testkit::workspace_root().join("tools/oscal/validate.py"))
                .args(files)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let report = String::from_utf8_lossy(&v.stdout);
            assert!(
                v.status.success(),
                "{example} {framework}: trestle rejected the export:\n{report}\n{}",
                String::from_utf8_lossy(&v.stderr)
            );
            assert_eq!(
                report.lines().filter(|l| l.starts_with("ok ")).count(),
                4,
                "{report}"
            );
        }
    }
}

#[test]
fn the_validator_rejects_a_broken_document() {
    // Guards against a validator that passes everything.
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("catalog.json"),
        r#"{"catalog": {"uuid": "not-a-uuid", "metadata": {"title": "x"}}}"#,
    )
    .unwrap();
    let v = Command::new(&python)
        .arg(shieldwall_testkit::workspace_root().join("tools/oscal/validate.py"))
        .arg("catalog.json")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).contains("FAIL catalog.json"));
}
