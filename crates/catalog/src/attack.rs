//! ATT&CK techniques to CCM v4.0.13 controls, for tagging alerts: the public CCM v4.1 to ATT&CK
//! mapping (Center for Threat-Informed Defense), with its v4.1 ids turned into v4.0.13 ids by
//! identity where id and title are unchanged and by the recorded decisions
//! (`data/attack/ccm-4.1-to-4.0.13-decisions.toml`) everywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;
use shieldwall_core::Framework;

use crate::CatalogError;

const MAPPING_FILE: &str = "data/attack/ccm-4.1_attack-17.1-enterprise.csv";
const MAPPING: &str = include_str!("../data/attack/ccm-4.1_attack-17.1-enterprise.csv");
const DECISIONS_FILE: &str = "data/attack/ccm-4.1-to-4.0.13-decisions.toml";
const DECISIONS: &str = include_str!("../data/attack/ccm-4.1-to-4.0.13-decisions.toml");

/// The embedded copies of shared reference files, by their shared name, for drift checks.
pub const EMBEDDED_FILES: [(&str, &str); 1] = [("ccm-4.1_attack-17.1-enterprise.csv", MAPPING)];

/// What happens to one CCM v4.1 id of the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CrosswalkAction {
    /// Counts as the named v4.0.13 control.
    Remap,
    /// Its links are left out.
    Drop,
}

/// A recorded decision of the crosswalk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CrosswalkDecision {
    /// The v4.1 id the mapping uses.
    pub ccm_4_1: String,
    /// What becomes of it.
    pub action: CrosswalkAction,
    /// The v4.0.13 id, for a remap.
    #[serde(default)]
    pub ccm_4_0_13: Option<String>,
    /// How many techniques the mapping links to it.
    pub techniques: usize,
    /// Why.
    pub reason: String,
}

#[derive(Deserialize)]
struct DecisionsFile {
    decision: Vec<CrosswalkDecision>,
}

#[derive(Deserialize)]
struct MappingRow {
    ccm_4_1_control_id: String,
    mapping_type: String,
    attack_technique_id: String,
}

/// Techniques to CCM v4.0.13 controls.
#[derive(Debug)]
pub struct AttackMap {
    by_technique: BTreeMap<String, Vec<String>>,
    decisions: Vec<CrosswalkDecision>,
    /// v4.1 controls kept under the same id.
    unchanged: usize,
}

impl AttackMap {
    /// The embedded map, built once.
    pub fn embedded() -> Result<&'static AttackMap, CatalogError> {
        static MAP: OnceLock<Result<AttackMap, CatalogError>> = OnceLock::new();
        MAP.get_or_init(AttackMap::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load() -> Result<AttackMap, CatalogError> {
        let file: DecisionsFile = crate::parse_toml(DECISIONS_FILE, DECISIONS)?;
        let decisions: BTreeMap<&str, &CrosswalkDecision> = file
            .decision
            .iter()
            .map(|d| (d.ccm_4_1.as_str(), d))
            .collect();
        let catalog = crate::Catalog::embedded()?;
        let titles = |framework| -> BTreeMap<&str, &str> {
            catalog
                .controls(framework)
                .iter()
                .map(|c| (c.id.as_str(), c.title.as_str()))
                .collect()
        };
        let v4_0_13_titles = titles(Framework::CcmV4_0_13);
        let v4_0_13 = |id: &str| v4_0_13_titles.get(id).copied();
        let v4_1 = titles(Framework::CcmV4_1_0);
        let mut problems = Vec::new();
        let mut by_technique: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut unchanged = BTreeSet::new();
        let mut reader = csv::Reader::from_reader(MAPPING.as_bytes());
        for (i, row) in reader.deserialize::<MappingRow>().enumerate() {
            let row = row.map_err(|e| CatalogError::Data {
                file: MAPPING_FILE,
                line: i + 2,
                message: e.to_string(),
            })?;
            if row.mapping_type != "mitigates" {
                continue;
            }
            let id = row.ccm_4_1_control_id.as_str();
            let target = match decisions.get(id) {
                Some(d) => match (d.action, &d.ccm_4_0_13) {
                    (CrosswalkAction::Drop, _) => continue,
                    (CrosswalkAction::Remap, Some(to)) => to.clone(),
                    (CrosswalkAction::Remap, None) => {
                        problems.push(format!(
                            "{DECISIONS_FILE}: {id}: a remap names no v4.0.13 id"
                        ));
                        continue;
                    }
                },
                None => {
                    // Without a decision, the id must mean the same control in both versions.
                    if !v4_1.contains_key(id) || v4_1.get(id).copied() != v4_0_13(id) {
                        problems.push(format!(
                            "{MAPPING_FILE}: {id} differs between CCM v4.1 and v4.0.13 and has no decision in {DECISIONS_FILE}"
                        ));
                        continue;
                    }
                    unchanged.insert(id.to_owned());
                    id.to_owned()
                }
            };
            if v4_0_13(&target).is_none() {
                problems.push(format!(
                    "{DECISIONS_FILE}: {id} maps to {target}, not a CCM v4.0.13 control"
                ));
                continue;
            }
            by_technique
                .entry(row.attack_technique_id.to_ascii_uppercase())
                .or_default()
                .insert(target);
        }
        if !problems.is_empty() {
            return Err(CatalogError::Inconsistent(problems));
        }
        Ok(AttackMap {
            by_technique: by_technique
                .into_iter()
                .map(|(t, c)| (t, c.into_iter().collect()))
                .collect(),
            decisions: file.decision,
            unchanged: unchanged.len(),
        })
    }

    /// The CCM v4.0.13 controls that mitigate `technique` (`T1110`, `T1110.003`, or a Sigma tag
    /// `attack.t1110.003`). A sub-technique the mapping does not list takes its parent's
    /// controls, since a mitigation of the technique covers its variants.
    pub fn controls(&self, technique: &str) -> &[String] {
        let id = technique
            .strip_prefix("attack.")
            .unwrap_or(technique)
            .to_ascii_uppercase();
        if let Some(controls) = self.by_technique.get(&id) {
            return controls;
        }
        id.split_once('.')
            .and_then(|(parent, _)| self.by_technique.get(parent))
            .map_or(&[], Vec::as_slice)
    }

    /// The controls of every technique among Sigma `tags` (others are ignored), sorted, once.
    pub fn controls_for_tags(&self, tags: &[String]) -> Vec<String> {
        let mut out = BTreeSet::new();
        for tag in tags {
            let lower = tag.to_ascii_lowercase();
            let Some(rest) = lower.strip_prefix("attack.t") else {
                continue;
            };
            if rest.starts_with(|c: char| c.is_ascii_digit()) {
                out.extend(self.controls(&lower).iter().cloned());
            }
        }
        out.into_iter().collect()
    }

    /// The recorded decisions, for reports.
    pub fn decisions(&self) -> &[CrosswalkDecision] {
        &self.decisions
    }

    /// How many v4.1 controls of the mapping were kept under the same id.
    pub fn unchanged(&self) -> usize {
        self.unchanged
    }

    /// How many techniques have at least one control.
    pub fn techniques(&self) -> usize {
        self.by_technique.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_map_loads_and_every_changed_control_is_decided() {
        let map = AttackMap::embedded().unwrap();
        assert!(map.techniques() > 150, "{}", map.techniques());
        assert_eq!(map.decisions().len(), 30);
        assert_eq!(map.unchanged(), 27);
        let drops = map
            .decisions()
            .iter()
            .filter(|d| d.action == CrosswalkAction::Drop)
            .count();
        assert_eq!(drops, 4, "AIS-08, DCS-18, IAM-16, LOG-08");
    }

    #[test]
    fn techniques_and_sigma_tags_give_v4_0_13_controls() {
        let map = AttackMap::embedded().unwrap();
        // Brute force: the mapping links v4.1 AIS-05, IAM-02 and IAM-15 ("Authorization
        // Mechanisms", IAM-16 in v4.0.13).
        let brute = map.controls("T1110");
        assert_eq!(brute, ["AIS-05", "IAM-02", "IAM-16"]);
        assert_eq!(map.controls("attack.t1110"), brute);
        // A sub-technique without links of its own takes its parent's.
        assert_eq!(map.controls("T1110.999"), brute);
        let tags = [
            "attack.credential_access".to_owned(),
            "attack.t1110".to_owned(),
            "attack.T1110".to_owned(),
            "cve.2021-44228".to_owned(),
        ];
        assert_eq!(map.controls_for_tags(&tags), brute);
        assert!(map.controls("T9999").is_empty());
    }
}
