//! The SigmaHQ corpus (`../shared/testdata/sigma/rules*`, 3,780 rules): every rule loads, or is
//! listed with its reason; the run fails when fewer load than the figure recorded here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use shieldwall_detect::{Rule, RuleSettings};

/// Rules of the corpus that load (raise it when support grows; never lower it silently).
const LOADED_AT_LEAST: usize = 3780;

/// Placeholder values for `expand`, as a deployment would configure them.
fn settings() -> RuleSettings {
    let mut settings = RuleSettings::default();
    // The standard placeholders, and those the corpus's rules-placeholder folder uses.
    for name in [
        "Administrators",
        "JumpServers",
        "Workstations",
        "Servers",
        "DomainControllers",
        "Admins_Workstations",
        "ApprovedUserUpn",
        "Approved_Inviters",
        "DC-MACHINE-NAME",
        "HomeTenantID",
        "Important_AppIds",
        "KNOWN_LOCATION",
        "Known_Location",
        "Legitimate_Countries",
        "ServerSystems",
        "UnApprovedIp",
        "dc_ip_addresses",
        "domain_controller_hostnames",
        "internal_domains",
        "known_cdcs",
        "legit_ips",
        "legtimate_identifiers",
        "userdomain",
        "Legitimate_IP_Ranges",
        "UnLegitCountries",
        "dc_machine_accounts",
        "UnApprovedDevice",
    ] {
        settings.placeholders.insert(
            name.to_owned(),
            vec![format!("example-{}", name.to_lowercase())],
        );
    }
    settings
}

fn rule_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rules"))
        })
        .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_sigmahq_rule_loads() {
    let Some(root) = shieldwall_testkit::shared_path("testdata/sigma", "every_sigmahq_rule_loads")
    else {
        return;
    };
    let files = rule_files(&root);
    assert!(files.len() >= 3780, "{} rule files", files.len());
    let settings = settings();
    let mut loaded = 0;
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        match Rule::load(file, &settings) {
            Ok(_) => loaded += 1,
            Err(e) => {
                // Group by the reason without the value-specific part after the first `: `.
                let kind = e.reason.split(": ").last().unwrap_or("").to_owned();
                reasons.entry(kind).or_default().push(e.to_string());
            }
        }
    }
    eprintln!("{loaded} of {} SigmaHQ rules load", files.len());
    for (kind, errors) in &reasons {
        eprintln!("{} rule(s): {kind}", errors.len());
        for e in errors.iter().take(3) {
            eprintln!("    {e}");
        }
    }
    assert!(
        loaded >= LOADED_AT_LEAST,
        "{loaded} rules load, fewer than the {LOADED_AT_LEAST} recorded"
    );
}
