//! Evidence and findings ([`RecordStore`]): attestations people upload and observations of the
//! check modules, which the plan counts for its controls; and the check modules' results. Both
//! are kept as their core records (JSON), keyed by their stable id, listed per tenant.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shieldwall_core::{Evidence, Finding, FindingStatus, TenantId};

use super::MetaError;
use super::audit::NewAuditRecord;

/// A stored piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvidence {
    /// Its place in the store: larger for later records (the paging cursor).
    pub seq: u64,
    /// The evidence.
    pub evidence: Evidence,
    /// Who recorded it (an account, or a module).
    pub recorded_by: String,
    /// When.
    pub recorded_at: Timestamp,
}

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    /// Its place in the store (the paging cursor).
    pub seq: u64,
    /// The finding.
    pub finding: Finding,
}

/// Evidence and findings.
pub trait RecordStore {
    /// Records evidence (an attestation, with the audit record of its upload); a record with
    /// the same id replaces nothing: [`MetaError::Exists`].
    fn record_evidence(
        &self,
        evidence: &Evidence,
        recorded_by: &str,
        at: Timestamp,
        audit: &NewAuditRecord,
    ) -> Result<StoredEvidence, MetaError>;

    /// A tenant's evidence with `seq` below `before` (all with `None`), newest first, at most
    /// `limit`.
    fn evidence(
        &self,
        tenant: &TenantId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredEvidence>, MetaError>;

    /// Records findings; one whose id is stored already is skipped (ids derive from module,
    /// target, check and time, so a replayed run adds nothing). Returns how many were new.
    fn record_findings(&self, findings: &[Finding]) -> Result<u64, MetaError>;

    /// A tenant's findings with `seq` below `before`, newest first, at most `limit`, optionally
    /// of one module and status.
    fn findings(
        &self,
        tenant: &TenantId,
        module: Option<&str>,
        status: Option<FindingStatus>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, MetaError>;

    /// The findings of the newest run a module stored for one target of a tenant, among those
    /// whose check ids start with `check_prefix` (one policy's: `POLICY/`): what the target
    /// looked like at its last run, to tell what changed since. A run's findings share their
    /// time. At most `limit`.
    fn latest_findings(
        &self,
        tenant: &TenantId,
        module: &str,
        target: &str,
        check_prefix: &str,
        limit: usize,
    ) -> Result<Vec<StoredFinding>, MetaError>;
}

/// The stored name of a status.
pub fn status_name(status: FindingStatus) -> &'static str {
    match status {
        FindingStatus::Pass => "pass",
        FindingStatus::Fail => "fail",
        FindingStatus::NotApplicable => "not_applicable",
        FindingStatus::Error => "error",
    }
}
