//! The policies we ship (`policies/baseline/`) against their labelled samples
//! (`policies/baseline/samples/<policy>/{good,bad}/labels.toml`): every deliberately bad setting
//! is found, the good sample passes, and every check is labelled in both. Every check names
//! real CCM v4.0.13 controls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shieldwall_baseline::{CheckStatus, Evaluator, Limits, Target, shipped};
use shieldwall_core::{ControlRef, Framework};

#[derive(serde::Deserialize)]
struct Labels {
    target: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    expect: BTreeMap<String, String>,
}

fn samples_dir() -> PathBuf {
    shieldwall_testkit::workspace_root().join("policies/baseline/samples")
}

fn target_of(dir: &Path, labels: &Labels) -> Result<Target, String> {
    if labels.target == "root" {
        return Ok(Target::root(dir.to_owned(), false));
    }
    let Some(file) = labels.target.strip_prefix("file:") else {
        return Err(format!(
            "{}: target `{}` is neither root nor file:PATH",
            dir.display(),
            labels.target
        ));
    };
    let mut files = BTreeMap::new();
    files.insert("$target_file".to_owned(), dir.join(file));
    for (name, path) in &labels.files {
        let name = if name.starts_with('$') {
            name.clone()
        } else {
            format!("${name}")
        };
        files.insert(name, dir.join(path));
    }
    Ok(Target::Files { files })
}

fn status(text: &str) -> Option<CheckStatus> {
    Some(match text {
        "pass" => CheckStatus::Pass,
        "fail" => CheckStatus::Fail,
        "not_applicable" => CheckStatus::NotApplicable,
        "error" => CheckStatus::Error,
        _ => return None,
    })
}

#[test]
fn every_shipped_policy_meets_its_labelled_samples() -> Result<(), Box<dyn std::error::Error>> {
    let mut wrong = Vec::new();
    let mut compared = 0usize;
    assert!(!shipped::all().is_empty());
    for policy in shipped::all() {
        let loaded = policy.load()?;
        assert!(
            loaded.unsupported_rules().is_empty(),
            "{}: {:?}",
            policy.name,
            loaded.unsupported_rules()
        );
        for sample in ["good", "bad"] {
            let dir = samples_dir().join(policy.name).join(sample);
            let labels: Labels = toml::from_str(&std::fs::read_to_string(dir.join("labels.toml"))?)
                .map_err(|e| format!("{}: {e}", dir.join("labels.toml").display()))?;
            let target = target_of(&dir, &labels)?;
            let report = Evaluator::new(&target, Limits::default()).policy(&loaded, &mut |_, _| {});
            for check in &report.checks {
                let Some(expected) = labels.expect.get(&check.id) else {
                    wrong.push(format!(
                        "{}/{sample}: check {} is not labelled",
                        policy.name, check.id
                    ));
                    continue;
                };
                compared += 1;
                if status(expected) != Some(check.result) {
                    wrong.push(format!(
                        "{}/{sample}: check {} ({}): expected {expected}, got {} {:?} {:?}",
                        policy.name,
                        check.id,
                        check.title,
                        check.result.as_str(),
                        check.reason,
                        check.evidence().collect::<Vec<_>>()
                    ));
                }
            }
            for id in labels.expect.keys() {
                if !report.checks.iter().any(|c| &c.id == id) {
                    wrong.push(format!(
                        "{}/{sample}: label for unknown check {id}",
                        policy.name
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {compared} labels wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    Ok(())
}

#[test]
fn the_bad_samples_fail_every_check_a_sample_can_decide() -> Result<(), Box<dyn std::error::Error>>
{
    for policy in shipped::all() {
        let dir = samples_dir().join(policy.name);
        let good: Labels = toml::from_str(&std::fs::read_to_string(dir.join("good/labels.toml"))?)?;
        let bad: Labels = toml::from_str(&std::fs::read_to_string(dir.join("bad/labels.toml"))?)?;
        for (id, expected) in &good.expect {
            if expected == "pass" {
                assert_eq!(
                    bad.expect.get(id).map(String::as_str),
                    Some("fail"),
                    "{}: check {id}",
                    policy.name
                );
            }
        }
    }
    Ok(())
}

#[test]
fn every_shipped_check_names_real_ccm_controls() -> Result<(), Box<dyn std::error::Error>> {
    let catalog = shieldwall_catalog::Catalog::embedded()?;
    let mut wrong = Vec::new();
    for policy in shipped::all() {
        let loaded = policy.load()?;
        for check in &loaded.checks {
            let ids = check.compliance.get("ccm_v4").cloned().unwrap_or_default();
            if ids.is_empty() {
                wrong.push(format!("{} {}: no ccm_v4 controls", policy.name, check.id));
            }
            for id in ids {
                let known = catalog
                    .control(&ControlRef::new(Framework::CcmV4_0_13, id.clone()))
                    .is_some();
                if !known {
                    wrong.push(format!(
                        "{} {}: {id} is not a CCM v4.0.13 control",
                        policy.name, check.id
                    ));
                }
            }
            if check.remediation.as_deref().is_none_or(str::is_empty)
                || check.rationale.as_deref().is_none_or(str::is_empty)
            {
                wrong.push(format!(
                    "{} {}: no rationale or remediation",
                    policy.name, check.id
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}

#[test]
fn no_shipped_policy_errs_on_an_empty_root_or_the_local_host()
-> Result<(), Box<dyn std::error::Error>> {
    // Device and service policies checked where their files are absent must say "not
    // applicable", never fail to evaluate. The local host runs without commands here, so the
    // test does not depend on what this machine has installed.
    let empty = tempfile::tempdir()?;
    let mut targets = vec![Target::root(empty.path().to_owned(), false)];
    if shieldwall_testkit::is_root() {
        targets.push(Target::Tree {
            root: PathBuf::from("/"),
            live: true,
            commands: shieldwall_baseline::Commands::Disabled("not in this test".to_owned()),
        });
    } else {
        eprintln!(
            "no_shipped_policy_errs: the local host is checked only as root (others cannot read /etc/shadow)"
        );
    }
    let mut wrong = Vec::new();
    for target in &targets {
        for policy in shipped::all() {
            let loaded = policy.load()?;
            let limits = Limits {
                password_budget: std::time::Duration::from_secs(2),
                ..Limits::default()
            };
            let report = Evaluator::new(target, limits).policy(&loaded, &mut |_, _| {});
            for check in report
                .checks
                .iter()
                .filter(|c| c.result == CheckStatus::Error)
            {
                wrong.push(format!(
                    "{} on {}: {} {:?}",
                    policy.name,
                    target.describe(),
                    check.id,
                    check.reason
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    Ok(())
}
