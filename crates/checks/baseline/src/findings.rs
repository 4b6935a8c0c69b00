//! A run's results as the records the centre keeps: one [`Finding`] per check, and one
//! [`Evidence`] for the CCM controls the run observed as met, which the plan counts for the
//! capabilities the `baseline` module supplies.

use std::collections::BTreeMap;

use jiff::Timestamp;
use shieldwall_core::{
    ControlRef, Evidence, EvidenceSource, Finding, Framework, RecordId, Severity, TenantId,
};

use crate::report::{CheckStatus, PolicyReport};

/// The catalog id of this module.
pub const MODULE: &str = "baseline";

/// The compliance key of CCM v4.0.13 control ids in policies.
pub const CCM_V4_KEY: &str = "ccm_v4";

/// One finding per check: check id `POLICY/CHECK`, the target as `describe` writes it, and an
/// id derived from tenant, target, check and time, so storing a run twice adds nothing.
pub fn findings(report: &PolicyReport, tenant: &TenantId, time: Timestamp) -> Vec<Finding> {
    let at = time.to_string();
    report
        .checks
        .iter()
        .map(|check| {
            let check_id = format!("{}/{}", report.policy, check.id);
            Finding {
                id: RecordId::derive(
                    "finding",
                    &[MODULE, tenant.as_str(), &report.target, &check_id, &at],
                ),
                tenant: tenant.clone(),
                module: MODULE.to_owned(),
                target: report.target.clone(),
                check_id,
                status: check.result.to_finding_status(),
                // SCA checks carry no severity; a failed baseline setting is a medium finding
                // until a policy says otherwise.
                severity: Severity::Medium,
                remediation: check.remediation.clone(),
                time,
            }
        })
        .collect()
}

/// The controls the run observed as met: tagged by at least one check that passed and by none
/// that failed. A control with a failing check is not evidenced by this run, even if another
/// of its checks passed. `None` when no control qualifies.
pub fn evidence(
    report: &PolicyReport,
    findings: &[Finding],
    tenant: &TenantId,
    workload: Option<&str>,
    time: Timestamp,
) -> Option<Evidence> {
    let mut controls: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for check in &report.checks {
        for id in check.compliance.get(CCM_V4_KEY).into_iter().flatten() {
            let entry = controls.entry(id.as_str()).or_default();
            entry.0 |= check.result == CheckStatus::Pass;
            entry.1 |= check.result == CheckStatus::Fail;
        }
    }
    let met: Vec<ControlRef> = controls
        .into_iter()
        .filter(|(_, (passed, failed))| *passed && !failed)
        .map(|(id, _)| ControlRef::new(Framework::CcmV4_0_13, id.to_owned()))
        .collect();
    if met.is_empty() {
        return None;
    }
    let records = findings
        .iter()
        .filter(|f| f.status == shieldwall_core::FindingStatus::Pass)
        .map(|f| f.id)
        .collect();
    let at = time.to_string();
    Some(Evidence {
        id: RecordId::derive(
            "evidence",
            &[MODULE, tenant.as_str(), &report.target, &report.policy, &at],
        ),
        tenant: tenant.clone(),
        source: EvidenceSource::Module {
            module: MODULE.to_owned(),
            records,
        },
        capability: None,
        controls: met,
        workload: workload.map(str::to_owned),
        observed: time,
        expires: None,
    })
}
