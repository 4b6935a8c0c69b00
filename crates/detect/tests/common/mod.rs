//! What the corpus tests share: the SigmaHQ rule files and the settings they load with.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use shieldwall_detect::{Rule, RuleSettings};

/// Placeholder values for `expand`, as a deployment would configure them.
pub fn settings() -> RuleSettings {
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

pub fn rule_files(root: &Path) -> Vec<PathBuf> {
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

/// Every rule of the corpus under `root` that loads with `settings()`.
pub fn corpus_rules(root: &Path) -> Vec<Rule> {
    let settings = settings();
    rule_files(root)
        .iter()
        .filter_map(|f| Rule::load(f, &settings).ok())
        .collect()
}
