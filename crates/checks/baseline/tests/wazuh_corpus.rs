//! Wazuh's own SCA policies (`../shared/testdata/sca/wazuh/ruleset/sca/`, GPL-2.0 test input):
//! every one loads, and every rule of them parses, except those listed here with the reason.

use std::path::{Path, PathBuf};

use shieldwall_baseline::Policy;

fn policy_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            policy_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Rules of Wazuh's policies the engine knowingly cannot run (docs/baseline-rules.md,
/// "Differences"): (file name, check id, why).
const KNOWN_UNRUNNABLE: &[(&str, &str, &str)] = &[
    // An unclosed group: PCRE2 refuses it too, so Wazuh cannot run it either.
    ("cis_nginx_1.yml", "23006", "unclosed group"),
];

#[test]
fn every_wazuh_policy_loads_and_its_rules_parse() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = shieldwall_testkit::shared_path(
        "testdata/sca/wazuh/ruleset/sca",
        "every_wazuh_policy_loads_and_its_rules_parse",
    ) else {
        return Ok(());
    };
    let mut files = Vec::new();
    policy_files(&dir, &mut files)?;
    files.sort();
    assert!(
        files.len() >= 20,
        "expected Wazuh's 20 policies, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut checks = 0usize;
    let mut rules = 0usize;
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match Policy::load(file) {
            Err(e) => failures.push(format!("{e}")),
            Ok(policy) => {
                checks += policy.checks.len();
                rules += policy.checks.iter().map(|c| c.rules.len()).sum::<usize>();
                for (check, line, reason) in policy.unsupported_rules() {
                    let known = KNOWN_UNRUNNABLE
                        .iter()
                        .any(|(f, id, _)| *f == name && *id == check.id);
                    if !known {
                        failures.push(format!(
                            "{}:{}: check {}: {reason}",
                            file.display(),
                            line.line,
                            check.id
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "{} Wazuh policies, {checks} checks, {rules} rules loaded",
        files.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checks > 3000, "only {checks} checks loaded");
    Ok(())
}
