//! Three of the four records of the system: alerts, findings and evidence (events live in
//! [`crate::event`]).
//!
//! These are domain types, not wire formats: the API's DTOs and the store's on-disk encoding are
//! defined at those edges. Serde derives exist so that the edges can reuse them where the shapes
//! coincide (NDJSON export, the planner's evidence input).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{ControlRef, RecordId, Severity, TenantId};

/// The handling state of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Not yet looked at.
    New,
    /// Someone is on it.
    Acknowledged,
    /// Handled, with a resolution.
    Closed,
}

/// A detection over one or more events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id, derived from the rule and its group-by values and window.
    pub id: RecordId,
    /// The tenant the alert belongs to.
    pub tenant: TenantId,
    /// The rule that fired.
    pub rule_id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's author, credited as its licence asks.
    pub author: Option<String>,
    /// Severity mapped from the rule level.
    pub severity: Severity,
    /// ATT&CK technique tags.
    pub attack: Vec<String>,
    /// Controls the alert is evidence for.
    pub controls: Vec<ControlRef>,
    /// The events that matched.
    pub events: Vec<RecordId>,
    /// Handling state.
    pub state: AlertState,
    /// When the alert was raised.
    pub time: Timestamp,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    /// The target meets the check.
    Pass,
    /// The target fails the check.
    Fail,
    /// The check does not apply to the target.
    NotApplicable,
    /// The check could not be evaluated.
    Error,
}

/// A result of a check module (baseline, vulnerability scan, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id, derived from module, target, check and time.
    pub id: RecordId,
    /// The tenant the finding belongs to.
    pub tenant: TenantId,
    /// The module that produced it (a catalog module id such as `baseline`).
    pub module: String,
    /// What was checked (host, URL, file).
    pub target: String,
    /// The check's id within the module.
    pub check_id: String,
    /// Outcome.
    pub status: FindingStatus,
    /// Severity of a failure.
    pub severity: Severity,
    /// How to fix a failure.
    pub remediation: Option<String>,
    /// When the check ran.
    pub time: Timestamp,
}

/// Where a piece of evidence comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceSource {
    /// Observed by a Shieldwall module (its catalog id), e.g. through events, alerts or findings.
    Module {
        /// The module id, e.g. `baseline`.
        module: String,
        /// The records that support it.
        #[serde(default)]
        records: Vec<RecordId>,
    },
    /// Declared by a person who answers for it.
    Attestation {
        /// Who attests.
        owner: String,
    },
}

/// The link from an observation or an attestation to a capability or control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Stable id.
    pub id: RecordId,
    /// The tenant the evidence belongs to.
    pub tenant: TenantId,
    /// Where it comes from.
    pub source: EvidenceSource,
    /// The catalog capability it supports, if any.
    #[serde(default)]
    pub capability: Option<String>,
    /// The controls it supports, if it names them directly.
    #[serde(default)]
    pub controls: Vec<ControlRef>,
    /// The workload it was observed on, if it is specific to one.
    #[serde(default)]
    pub workload: Option<String>,
    /// When it was observed or attested.
    pub observed: Timestamp,
    /// When it stops counting, if it has a fixed end.
    #[serde(default)]
    pub expires: Option<Timestamp>,
}

impl Evidence {
    /// Whether the evidence counts at `at`: observed no later than `at`, and, if it expires, not
    /// yet expired.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        self.observed <= at && self.expires.is_none_or(|end| at < end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(observed: &str, expires: Option<&str>) -> Evidence {
        Evidence {
            id: RecordId::derive("evidence", &["t"]),
            tenant: TenantId::default(),
            source: EvidenceSource::Attestation {
                owner: "ciso".into(),
            },
            capability: Some("waf".into()),
            controls: vec![],
            workload: None,
            observed: observed.parse().unwrap(),
            expires: expires.map(|e| e.parse().unwrap()),
        }
    }

    #[test]
    fn evidence_validity_window() {
        let e = evidence("2026-01-01T00:00:00Z", Some("2026-06-01T00:00:00Z"));
        assert!(!e.valid_at("2025-12-31T23:59:59Z".parse().unwrap()));
        assert!(e.valid_at("2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(e.valid_at("2026-05-31T23:59:59Z".parse().unwrap()));
        assert!(!e.valid_at("2026-06-01T00:00:00Z".parse().unwrap()));
        let open = evidence("2026-01-01T00:00:00Z", None);
        assert!(open.valid_at("2030-01-01T00:00:00Z".parse().unwrap()));
    }

    #[test]
    fn evidence_json_shape_is_stable() {
        let e = evidence("2026-01-01T00:00:00Z", None);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["source"]["kind"], "attestation");
        assert_eq!(json["tenant"], "default");
        let back: Evidence = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn severity_orders_by_gravity() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
    }
}
