//! The plan report: the stable, documented shape that every renderer reads and that `--format
//! json` prints. Field names are part of the JSON contract; see docs/plan-json.md.

use jiff::{Timestamp, civil::Date};
use serde::Serialize;
use shieldwall_catalog::{
    ControlKind, ControlOwnership, DeploymentModel, Owner, PerModel, ServiceModel,
};
use shieldwall_core::{Framework, TenantId};

use crate::manifest::Classification;

/// Everything `shieldwall plan` computes for one manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Facts about the inputs that no row shows: ignored records or statements, missing modules.
    pub notices: Vec<String>,
    /// The organisation.
    pub organisation: String,
    /// The tenant.
    pub tenant: TenantId,
    /// Deployment model.
    pub deployment: DeploymentModel,
    /// The date evidence was judged at.
    pub as_of: Date,
    /// The framework version of `coverage`.
    pub framework: Framework,
    /// 1. Responsibility matrix per workload.
    pub matrix: Vec<WorkloadMatrix>,
    /// 2. Capability duties per workload.
    pub capabilities: Vec<CapabilityDuty>,
    /// 3. Control coverage.
    pub coverage: Coverage,
    /// 4. Gaps, most urgent first.
    pub gaps: Vec<Gap>,
}

/// The responsibility matrix of one workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadMatrix {
    /// Workload name.
    pub workload: String,
    /// Its service model.
    pub service_model: ServiceModel,
    /// Its provider.
    pub provider: String,
    /// Its data classification.
    pub data_classification: Classification,
    /// Whether it faces the internet.
    pub internet_facing: bool,
    /// Figure 3-1 areas with their owner for this workload.
    pub areas: Vec<AreaRow>,
    /// Responsibilities of sections 2.2 to 2.5 with their owner for this workload.
    pub responsibilities: Vec<ResponsibilityRow>,
}

/// One technology area in the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct AreaRow {
    /// Category id.
    pub category: String,
    /// Area id.
    pub area: String,
    /// Area name.
    pub name: String,
    /// Owner under this workload's service model.
    pub owner: Owner,
    /// Capabilities of this area that third parties took over for this workload.
    pub transfers: Vec<TransferNote>,
}

/// Duties moved to a third party.
#[derive(Debug, Clone, Serialize)]
pub struct TransferNote {
    /// The third party.
    pub to: String,
    /// The capability or responsibility ids moved.
    pub items: Vec<String>,
}

/// One responsibility in the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct ResponsibilityRow {
    /// Responsibility id.
    pub id: String,
    /// The duty.
    pub summary: String,
    /// Guideline section.
    pub section: String,
    /// Owner under this workload's service model.
    pub owner: Owner,
    /// The third party that took it over by contract, if any.
    pub transferred_to: Option<String>,
}

/// Where a capability duty stands on one workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DutyStatus {
    /// The provider owns it in this service model; the customer inherits it.
    Inherited,
    /// Assigned, with valid evidence.
    InPlace,
    /// Assigned, but the evidence is missing or expired.
    Unverified,
    /// Nobody supplies it.
    Unassigned,
}

impl DutyStatus {
    /// The kebab-case key.
    pub fn key(self) -> &'static str {
        match self {
            DutyStatus::Inherited => "inherited",
            DutyStatus::InPlace => "in-place",
            DutyStatus::Unverified => "unverified",
            DutyStatus::Unassigned => "unassigned",
        }
    }
}

/// The state of the evidence for a duty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceState {
    /// A Shieldwall module's records show it, recently enough.
    Verified,
    /// A person attests it, until a date.
    Attested,
    /// The attestation or the module's last evidence is too old.
    Expired,
    /// There is none.
    Missing,
    /// Not needed: the provider owns the duty.
    NotRequired,
}

impl EvidenceState {
    /// The kebab-case key.
    pub fn key(self) -> &'static str {
        match self {
            EvidenceState::Verified => "verified",
            EvidenceState::Attested => "attested",
            EvidenceState::Expired => "expired",
            EvidenceState::Missing => "missing",
            EvidenceState::NotRequired => "not-required",
        }
    }
}

/// Evidence status with its detail.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceStatus {
    /// The state.
    pub state: EvidenceState,
    /// A sentence saying what was found.
    pub detail: String,
    /// For an attestation: the day it lapses.
    pub until: Option<Date>,
    /// For module evidence: when it was last observed.
    pub observed: Option<Timestamp>,
}

/// One capability on one workload: who owes it, who supplies it, and whether it is in place.
#[derive(Debug, Clone, Serialize)]
pub struct CapabilityDuty {
    /// Capability id.
    pub capability: String,
    /// Capability name.
    pub name: String,
    /// Category id.
    pub category: String,
    /// Guideline section.
    pub section: String,
    /// Workload name.
    pub workload: String,
    /// Who owes it under the workload's service model.
    pub owner: Owner,
    /// Where it stands.
    pub status: DutyStatus,
    /// Who supplies it (`csp`, `customer` or a third party's name).
    pub supplier: Option<String>,
    /// The product or service.
    pub product: Option<String>,
    /// The third party that took it over by contract, if any.
    pub transferred_to: Option<String>,
    /// The evidence.
    pub evidence: EvidenceStatus,
}

/// Coverage status of a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CoverageStatus {
    /// Every customer-side capability mapped to it is in place (or it is attested).
    Covered,
    /// Some but not all of them are.
    Partial,
    /// None are, or a process control lacks a valid attestation.
    Gap,
    /// The provider owns it, or only provider capabilities serve it, in this service model.
    Inherited,
    /// Excluded by the manifest, or not applicable to the service model in the source.
    NotApplicable,
}

impl CoverageStatus {
    /// The kebab-case key.
    pub fn key(self) -> &'static str {
        match self {
            CoverageStatus::Covered => "covered",
            CoverageStatus::Partial => "partial",
            CoverageStatus::Gap => "gap",
            CoverageStatus::Inherited => "inherited",
            CoverageStatus::NotApplicable => "not-applicable",
        }
    }
}

/// Control coverage for the whole manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Framework version.
    pub framework: Framework,
    /// Per control, in framework order.
    pub controls: Vec<ControlCoverage>,
    /// Per domain.
    pub domains: Vec<DomainCoverage>,
    /// All domains together.
    pub total: DomainCoverage,
}

/// Coverage of one control.
#[derive(Debug, Clone, Serialize)]
pub struct ControlCoverage {
    /// Control id.
    pub id: String,
    /// Domain code.
    pub domain: String,
    /// Short title.
    pub title: String,
    /// CCM-Lite member (v4 only).
    pub ccm_lite: Option<bool>,
    /// How the catalog serves it.
    pub kind: ControlKind,
    /// Owner per service model from the CCM data.
    pub ownership: PerModel<ControlOwnership>,
    /// Overall status across workloads.
    pub status: CoverageStatus,
    /// What the customer must do for it, in one sentence.
    pub customer_part: String,
    /// Per workload.
    pub workloads: Vec<WorkloadCoverage>,
}

/// Coverage of one control on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadCoverage {
    /// Workload name.
    pub workload: String,
    /// Owner of the control under the workload's model.
    pub owner: ControlOwnership,
    /// Status.
    pub status: CoverageStatus,
    /// Customer-side capabilities in place that serve it.
    pub covered_by: Vec<String>,
    /// Customer-side capabilities that serve it but are not in place.
    pub missing: Vec<String>,
    /// Why, when the status needs a word.
    pub note: Option<String>,
}

/// Counts of control statuses in a domain.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DomainCoverage {
    /// Domain code (`*` for the total).
    pub domain: String,
    /// Domain name.
    pub name: String,
    /// Controls in it.
    pub controls: usize,
    /// Covered.
    pub covered: usize,
    /// Partial.
    pub partial: usize,
    /// Gap.
    pub gap: usize,
    /// Inherited.
    pub inherited: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// (covered + inherited) / applicable, in percent, one decimal; 100 when nothing applies.
    pub percent_met: f64,
    /// covered / (applicable - inherited): how much of what the customer has a part in is covered,
    /// in percent, one decimal; 100 when the customer has a part in none.
    pub percent_own_covered: f64,
}

/// What a gap is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapKind {
    /// A capability the customer side owes is not in place.
    Capability,
    /// A process control has no valid attestation.
    Control,
}

/// One gap, with its risk score and what would fill it.
#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    /// 1-based rank.
    pub rank: usize,
    /// Risk score, 0 to 100 (see docs/risk-score.md).
    pub score: u32,
    /// What the gap is about.
    pub kind: GapKind,
    /// Capability id or control reference.
    pub id: String,
    /// Capability name or control title.
    pub name: String,
    /// Who owes it.
    pub owner: String,
    /// The workloads it affects.
    pub workloads: Vec<String>,
    /// Why it is a gap.
    pub reason: String,
    /// What to do.
    pub guidance: String,
    /// Kinds of third-party service that could fill it.
    pub service_types: Vec<String>,
    /// Controls it leaves open.
    pub controls: Vec<String>,
    /// Guideline section.
    pub section: Option<String>,
}
