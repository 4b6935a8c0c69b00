//! Computes a [`Plan`] from a validated manifest, the catalog, observed evidence and a date.
//!
//! Pure: no I/O, no clock. The caller passes `as_of` and the evidence records (from the store, or a
//! file), so the same inputs always give the same plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use shieldwall_catalog::{Capability, Catalog, ControlKind, ControlOwnership, Owner, ServiceModel};
use shieldwall_core::{ControlRef, Evidence, EvidenceSource, Framework};

use crate::{
    manifest::{Assignment, ControlDecision, DeclaredEvidence, Manifest},
    report::*,
    risk,
};

/// How to judge evidence.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The day to judge evidence at.
    pub as_of: Date,
    /// The framework version to compute coverage for (CCM v4.0.13 or v3.0.1).
    pub framework: Framework,
    /// How old module evidence may be and still count as verified, in days.
    pub evidence_max_age_days: i32,
}

impl PlanOptions {
    /// Defaults for a day: CCM v4.0.13, module evidence up to 30 days old.
    pub fn new(as_of: Date) -> Self {
        PlanOptions {
            as_of,
            framework: Framework::CcmV4_0_13,
            evidence_max_age_days: 30,
        }
    }
}

/// Why a plan cannot be computed for these options.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    /// Coverage is computed only for frameworks the capabilities map to.
    #[error(
        "coverage is available for ccm-4.0.13 and ccm-3.0.1, not {0} (browse it with `shieldwall catalog controls --framework {0}`)"
    )]
    Framework(Framework),
    /// The date is outside the supported range.
    #[error("date {0} is out of range")]
    Date(Date),
}

struct Duty<'a> {
    /// Status derived from the capability's parts because it has no assignment of its own.
    through_parts: bool,
    owner: Owner,
    status: DutyStatus,
    assignment: Option<&'a Assignment>,
    transferred_to: Option<&'a str>,
    evidence: EvidenceStatus,
}

/// Computes the plan.
pub fn plan(
    catalog: &Catalog,
    manifest: &Manifest,
    evidence: &[Evidence],
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    if !matches!(
        options.framework,
        Framework::CcmV4_0_13 | Framework::CcmV3_0_1
    ) {
        return Err(PlanError::Framework(options.framework));
    }
    let window = EvidenceWindow::new(options)?;
    let caps = catalog.capabilities();
    let index = EvidenceIndex::new(manifest, evidence);

    // Duties: capability x workload.
    let mut duties: Vec<Vec<Duty<'_>>> = Vec::with_capacity(caps.len());
    for cap in caps {
        let by_workload = manifest
            .workloads
            .iter()
            .map(|w| {
                duty(
                    catalog,
                    manifest,
                    cap,
                    &w.name,
                    w.service_model,
                    &index,
                    &window,
                )
            })
            .collect();
        duties.push(by_workload);
    }

    derive_parents(catalog, &mut duties);

    let matrix = manifest
        .workloads
        .iter()
        .map(|w| workload_matrix(catalog, manifest, w))
        .collect();

    let mut capabilities = Vec::with_capacity(caps.len() * manifest.workloads.len());
    for (cap, row) in caps.iter().zip(&duties) {
        for (w, d) in manifest.workloads.iter().zip(row) {
            capabilities.push(CapabilityDuty {
                capability: cap.id.clone(),
                name: cap.name.clone(),
                category: cap.category.clone(),
                section: cap.section.clone(),
                workload: w.name.clone(),
                owner: d.owner,
                status: d.status,
                supplier: d
                    .assignment
                    .map(|a| a.supplier.to_string())
                    .or_else(|| d.transferred_to.map(str::to_owned)),
                product: d.assignment.and_then(|a| a.product.clone()),
                transferred_to: d.transferred_to.map(str::to_owned),
                evidence: d.evidence.clone(),
            });
        }
    }

    let coverage = coverage(catalog, manifest, &duties, options.framework, &window);
    let gaps = gaps(catalog, manifest, &duties, &coverage);

    let notices = notices(catalog, manifest, &index, options.framework);
    Ok(Plan {
        notices,
        organisation: manifest.organisation.clone(),
        tenant: manifest.tenant.clone(),
        deployment: manifest.deployment,
        as_of: options.as_of,
        framework: options.framework,
        matrix,
        capabilities,
        coverage,
        gaps,
    })
}

/// The instants that bound valid evidence: observed no later than the end of `as_of` (UTC), and,
/// for module evidence, no earlier than `max_age` days before that.
struct EvidenceWindow {
    as_of: Date,
    end: Timestamp,
    oldest: Timestamp,
}

impl EvidenceWindow {
    fn new(options: &PlanOptions) -> Result<Self, PlanError> {
        let err = || PlanError::Date(options.as_of);
        let next_day = options.as_of.checked_add(1.day()).map_err(|_| err())?;
        let end = next_day
            .to_zoned_datetime(TimeZone::UTC)
            .map_err(|_| err())?
            .timestamp();
        let oldest_day = next_day
            .checked_sub(options.evidence_max_age_days.days())
            .map_err(|_| err())?;
        let oldest = oldest_day
            .to_zoned_datetime(TimeZone::UTC)
            .map_err(|_| err())?
            .timestamp();
        Ok(EvidenceWindow {
            as_of: options.as_of,
            end,
            oldest,
        })
    }

    fn attestation(&self, by: &str, on: Date, expires: Date) -> EvidenceStatus {
        if on > self.as_of {
            EvidenceStatus {
                state: EvidenceState::Missing,
                detail: format!("attestation by {by} is dated {on}, after {}", self.as_of),
                until: Some(expires),
                observed: None,
            }
        } else if expires <= self.as_of {
            EvidenceStatus {
                state: EvidenceState::Expired,
                detail: format!("attestation by {by} expired on {expires}"),
                until: Some(expires),
                observed: None,
            }
        } else {
            EvidenceStatus {
                state: EvidenceState::Attested,
                detail: format!("attested by {by} on {on}"),
                until: Some(expires),
                observed: None,
            }
        }
    }
}

fn duty<'a>(
    catalog: &Catalog,
    manifest: &'a Manifest,
    cap: &Capability,
    workload: &str,
    model: ServiceModel,
    evidences: &EvidenceIndex<'_>,
    window: &EvidenceWindow,
) -> Duty<'a> {
    let owner = catalog
        .capability_owner(cap, model)
        .unwrap_or(Owner::Customer);
    let transferred_to = manifest
        .transfers
        .iter()
        .find(|t| t.moves(&cap.id, workload, owner))
        .map(|t| t.to.as_str());
    // Manifest validation guarantees at most one assignment per capability and workload.
    let assignment = manifest
        .assignments
        .iter()
        .rev()
        .find(|a| a.capability == cap.id && a.covers(workload));
    if owner == Owner::Csp {
        let detail = match assignment {
            Some(a) => format!(
                "owned by the provider under {}; supplied by {}",
                model.label(),
                a.supplier
            ),
            None => format!("owned by the provider under {}", model.label()),
        };
        return Duty {
            through_parts: false,
            owner,
            status: DutyStatus::Inherited,
            assignment,
            transferred_to,
            evidence: EvidenceStatus {
                state: EvidenceState::NotRequired,
                detail,
                until: None,
                observed: None,
            },
        };
    }
    let Some(a) = assignment else {
        let (status, detail) = match transferred_to {
            Some(to) => (
                DutyStatus::Unverified,
                format!("taken over by {to} by contract; no assignment gives evidence"),
            ),
            None => (DutyStatus::Unassigned, "no supplier assigned".to_owned()),
        };
        return Duty {
            through_parts: false,
            owner,
            status,
            assignment: None,
            transferred_to,
            evidence: EvidenceStatus {
                state: EvidenceState::Missing,
                detail,
                until: None,
                observed: None,
            },
        };
    };
    let evidence = match &a.evidence {
        DeclaredEvidence::None => EvidenceStatus {
            state: EvidenceState::Missing,
            detail: "no evidence declared".into(),
            until: None,
            observed: None,
        },
        DeclaredEvidence::Attestation(att) => window.attestation(&att.by, att.on, att.expires),
        DeclaredEvidence::Module(module) => {
            module_evidence(catalog, cap, workload, module, evidences, window)
        }
    };
    // An attestation recorded for the capability (uploaded after the manifest was written)
    // stands in for a missing, expired or shorter declared one; it never replaces an
    // observation a module is declared to give.
    let evidence = match (
        &a.evidence,
        recorded_attestation(cap, workload, evidences, window),
    ) {
        (DeclaredEvidence::Module(_), _) | (_, None) => evidence,
        (_, Some(recorded))
            if evidence.state != EvidenceState::Attested || recorded.until > evidence.until =>
        {
            recorded
        }
        _ => evidence,
    };
    let status = match evidence.state {
        EvidenceState::Verified | EvidenceState::Attested => DutyStatus::InPlace,
        _ => DutyStatus::Unverified,
    };
    Duty {
        through_parts: false,
        owner,
        status,
        assignment: Some(a),
        transferred_to,
        evidence,
    }
}

/// A capability with parts (3.2.2.2, 3.2.5) and no assignment of its own is in place on a workload
/// when every part the customer side owes there is; otherwise its open parts are the gaps, and it is
/// not listed again.
fn derive_parents(catalog: &Catalog, duties: &mut [Vec<Duty<'_>>]) {
    let caps = catalog.capabilities();
    for (pi, parent) in caps.iter().enumerate() {
        let children: Vec<usize> = caps
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parent.as_deref() == Some(parent.id.as_str()))
            .map(|(i, _)| i)
            .collect();
        if children.is_empty() {
            continue;
        }
        let workloads = duties.get(pi).map_or(0, Vec::len);
        for wi in 0..workloads {
            let parts: Vec<(&str, DutyStatus, EvidenceStatus)> = children
                .iter()
                .filter_map(|&ci| {
                    let d = duties.get(ci)?.get(wi)?;
                    let cap = caps.get(ci)?;
                    Some((cap.id.as_str(), d.status, d.evidence.clone()))
                })
                .filter(|(_, status, _)| *status != DutyStatus::Inherited)
                .collect();
            let Some(d) = duties.get_mut(pi).and_then(|row| row.get_mut(wi)) else {
                continue;
            };
            if d.status != DutyStatus::Unassigned || d.transferred_to.is_some() || parts.is_empty()
            {
                continue;
            }
            let open: Vec<&str> = parts
                .iter()
                .filter(|(_, s, _)| *s != DutyStatus::InPlace)
                .map(|(id, _, _)| *id)
                .collect();
            d.through_parts = true;
            if open.is_empty() {
                let names: Vec<&str> = parts.iter().map(|(id, _, _)| *id).collect();
                let all_verified = parts
                    .iter()
                    .all(|(_, _, e)| e.state == EvidenceState::Verified);
                d.status = DutyStatus::InPlace;
                d.evidence = EvidenceStatus {
                    state: if all_verified {
                        EvidenceState::Verified
                    } else {
                        EvidenceState::Attested
                    },
                    detail: format!("in place through its parts: {}", names.join(", ")),
                    until: parts.iter().filter_map(|(_, _, e)| e.until).min(),
                    observed: parts.iter().filter_map(|(_, _, e)| e.observed).min(),
                };
            } else {
                let all_assigned = parts
                    .iter()
                    .filter(|(_, st, _)| *st != DutyStatus::InPlace)
                    .all(|(_, st, _)| *st == DutyStatus::Unverified);
                if all_assigned {
                    d.status = DutyStatus::Unverified;
                }
                d.evidence.detail = format!(
                    "no supplier of its own; parts not in place: {}",
                    open.join(", ")
                );
            }
        }
    }
}

/// Things the reader should know that no single row shows: inputs that were ignored, and evidence
/// that cannot arrive in this build.
fn notices(
    catalog: &Catalog,
    manifest: &Manifest,
    index: &EvidenceIndex<'_>,
    framework: Framework,
) -> Vec<String> {
    let mut out = Vec::new();
    if index.ignored > 0 {
        out.push(format!(
            "{} evidence record(s) belong to other tenants ({}) and were ignored; this manifest's tenant is {}",
            index.ignored,
            index.other_tenants.iter().copied().collect::<Vec<_>>().join(", "),
            manifest.tenant
        ));
    }
    let mut elsewhere: BTreeMap<Framework, usize> = BTreeMap::new();
    for statement in manifest
        .controls
        .iter()
        .filter(|c| c.control.framework != framework)
    {
        *elsewhere.entry(statement.control.framework).or_default() += 1;
    }
    for (fw, n) in elsewhere {
        out.push(format!("{n} [[control]] statement(s) name {fw} controls and do not count toward this {framework} plan"));
    }
    let unshipped: BTreeSet<&str> = manifest
        .assignments
        .iter()
        .filter_map(|a| match &a.evidence {
            DeclaredEvidence::Module(m) if !catalog.module(m).is_some_and(|x| x.available) => {
                Some(m.as_str())
            }
            _ => None,
        })
        .collect();
    if !unshipped.is_empty() {
        out.push(format!(
            "this build does not ship the module(s) {}: their evidence can come only from --evidence records",
            unshipped.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    out
}

/// This tenant's module evidence, grouped by module and capability, built once per plan.
/// The valid recorded attestation of `cap` on `workload` (or on every workload) that lasts
/// longest, as an evidence status.
fn recorded_attestation(
    cap: &Capability,
    workload: &str,
    index: &EvidenceIndex<'_>,
    window: &EvidenceWindow,
) -> Option<EvidenceStatus> {
    let best = index
        .attestations
        .get(cap.id.as_str())?
        .iter()
        .filter(|e| e.workload.as_deref().is_none_or(|w| w == workload))
        .filter(|e| e.observed < window.end)
        .filter(|e| {
            e.expires
                .is_none_or(|end| end.to_zoned_datetime(TimeZone::UTC).date() > window.as_of)
        })
        .max_by_key(|e| e.expires)?;
    let owner = match &best.source {
        EvidenceSource::Attestation { owner } => owner.as_str(),
        EvidenceSource::Module { module, .. } => module.as_str(),
    };
    let on = best.observed.to_zoned_datetime(TimeZone::UTC).date();
    Some(EvidenceStatus {
        state: EvidenceState::Attested,
        detail: format!("attested by {owner} on {on} (recorded)"),
        until: best
            .expires
            .map(|end| end.to_zoned_datetime(TimeZone::UTC).date()),
        observed: Some(best.observed),
    })
}

struct EvidenceIndex<'a> {
    /// Attestations recorded for a capability (uploaded, not declared in the manifest).
    attestations: HashMap<&'a str, Vec<&'a Evidence>>,
    by_capability: HashMap<(&'a str, &'a str), Vec<&'a Evidence>>,
    by_controls: HashMap<&'a str, Vec<&'a Evidence>>,
    other_tenants: BTreeSet<&'a str>,
    ignored: usize,
}

impl<'a> EvidenceIndex<'a> {
    fn new(manifest: &Manifest, evidence: &'a [Evidence]) -> Self {
        let mut index = EvidenceIndex {
            attestations: HashMap::new(),
            by_capability: HashMap::new(),
            by_controls: HashMap::new(),
            other_tenants: BTreeSet::new(),
            ignored: 0,
        };
        for e in evidence {
            if let (EvidenceSource::Attestation { .. }, Some(cap)) = (&e.source, &e.capability) {
                if e.tenant == manifest.tenant {
                    index.attestations.entry(cap.as_str()).or_default().push(e);
                }
                continue;
            }
            let EvidenceSource::Module { module, .. } = &e.source else {
                continue;
            };
            if e.tenant != manifest.tenant {
                index.other_tenants.insert(e.tenant.as_str());
                index.ignored += 1;
                continue;
            }
            match e.capability.as_deref() {
                Some(cap) => index
                    .by_capability
                    .entry((module.as_str(), cap))
                    .or_default()
                    .push(e),
                None => index
                    .by_controls
                    .entry(module.as_str())
                    .or_default()
                    .push(e),
            }
        }
        index
    }
}

fn module_evidence(
    catalog: &Catalog,
    cap: &Capability,
    workload: &str,
    module: &str,
    index: &EvidenceIndex<'_>,
    window: &EvidenceWindow,
) -> EvidenceStatus {
    let named = index
        .by_capability
        .get(&(module, cap.id.as_str()))
        .into_iter()
        .flatten();
    let by_control = index
        .by_controls
        .get(module)
        .into_iter()
        .flatten()
        .filter(|e| e.controls.iter().any(|c| cap.controls().any(|x| x == c)));
    let relevant: Vec<&Evidence> = named
        .chain(by_control)
        .copied()
        .filter(|e| e.workload.as_deref().is_none_or(|w| w == workload) && e.observed < window.end)
        .collect();
    // A record counts if it is still valid at the end of the as-of day.
    let latest = relevant
        .iter()
        .filter(|e| e.expires.is_none_or(|end| end >= window.end))
        .map(|e| e.observed)
        .max();
    match latest {
        Some(observed) if observed >= window.oldest => EvidenceStatus {
            state: EvidenceState::Verified,
            detail: format!("observed by module {module} at {observed}"),
            until: None,
            observed: Some(observed),
        },
        Some(observed) => EvidenceStatus {
            state: EvidenceState::Expired,
            detail: format!(
                "module {module} last observed it at {observed}, more than the evidence age limit ago"
            ),
            until: None,
            observed: Some(observed),
        },
        None if !relevant.is_empty() => {
            let last_end = relevant.iter().filter_map(|e| e.expires).max();
            EvidenceStatus {
                state: EvidenceState::Expired,
                detail: match last_end {
                    Some(end) => format!("module {module}'s evidence expired at {end}"),
                    None => format!("module {module}'s evidence has expired"),
                },
                until: None,
                observed: relevant.iter().map(|e| e.observed).max(),
            }
        }
        None => {
            let shipped = catalog.module(module).is_some_and(|m| m.available);
            let detail = if shipped {
                format!("no evidence from module {module} yet")
            } else {
                format!(
                    "no evidence from module {module} yet (this build does not ship that module)"
                )
            };
            EvidenceStatus {
                state: EvidenceState::Missing,
                detail,
                until: None,
                observed: None,
            }
        }
    }
}

fn workload_matrix(
    catalog: &Catalog,
    manifest: &Manifest,
    w: &crate::manifest::Workload,
) -> WorkloadMatrix {
    let transfers = &manifest.transfers;
    let areas = catalog
        .areas()
        .iter()
        .map(|area| {
            let mut notes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for t in transfers {
                for item in &t.items {
                    let moves = catalog.capability(item).is_some_and(|c| {
                        let owner = catalog
                            .capability_owner(c, w.service_model)
                            .unwrap_or(Owner::Customer);
                        c.area == area.id && t.moves(item, &w.name, owner)
                    });
                    if moves {
                        notes.entry(t.to.as_str()).or_default().push(item.clone());
                    }
                }
            }
            AreaRow {
                category: area.category.clone(),
                area: area.id.clone(),
                name: area.name.clone(),
                owner: area.owners.get(w.service_model),
                transfers: notes
                    .into_iter()
                    .map(|(to, items)| TransferNote {
                        to: to.to_owned(),
                        items,
                    })
                    .collect(),
            }
        })
        .collect();
    let responsibilities = catalog
        .responsibilities()
        .iter()
        .map(|r| {
            let owner = r.owners.get(w.service_model);
            let transferred_to = transfers
                .iter()
                .find(|t| t.moves(&r.id, &w.name, owner))
                .map(|t| t.to.clone());
            ResponsibilityRow {
                id: r.id.clone(),
                summary: r.summary.clone(),
                section: r.section.clone(),
                owner,
                transferred_to,
            }
        })
        .collect();
    WorkloadMatrix {
        workload: w.name.clone(),
        service_model: w.service_model,
        provider: w.provider.clone(),
        data_classification: w.classification,
        internet_facing: w.internet_facing,
        areas,
        responsibilities,
    }
}

fn coverage(
    catalog: &Catalog,
    manifest: &Manifest,
    duties: &[Vec<Duty<'_>>],
    framework: Framework,
    window: &EvidenceWindow,
) -> Coverage {
    let caps = catalog.capabilities();
    // Control id -> indices of the capabilities that serve it, built once.
    let mut serving: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, cap) in caps.iter().enumerate() {
        for c in cap.controls().filter(|c| c.framework == framework) {
            let list = serving.entry(c.id.as_str()).or_default();
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    let statements: HashMap<&ControlRef, &ControlDecision> = manifest
        .controls
        .iter()
        .map(|s| (&s.control, &s.decision))
        .collect();

    let mut controls = Vec::new();
    for control in catalog.controls(framework) {
        let reference = ControlRef::new(framework, control.id.clone());
        let decision = statements.get(&reference).copied();
        let serving_caps: &[usize] = serving
            .get(control.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let kind = catalog.control_kind(control);
        let mut workloads = Vec::with_capacity(manifest.workloads.len());
        for (wi, w) in manifest.workloads.iter().enumerate() {
            let owner = control.ownership.get(w.service_model);
            let mut covered_by = Vec::new();
            let mut missing = Vec::new();
            let (status, note) = if let Some(ControlDecision::NotApplicable(reason)) = decision {
                (
                    CoverageStatus::NotApplicable,
                    Some(format!("excluded: {reason}")),
                )
            } else if owner == ControlOwnership::NotApplicable {
                (
                    CoverageStatus::NotApplicable,
                    Some(format!(
                        "does not apply to {} in the source",
                        w.service_model.label()
                    )),
                )
            } else if owner == ControlOwnership::CspOwned {
                (
                    CoverageStatus::Inherited,
                    Some("owned by the provider".to_owned()),
                )
            } else {
                let attested = match decision {
                    Some(ControlDecision::Attested(a)) => {
                        Some(window.attestation(&a.by, a.on, a.expires))
                    }
                    _ => None,
                };
                for &ci in serving_caps {
                    let (Some(cap), Some(d)) =
                        (caps.get(ci), duties.get(ci).and_then(|row| row.get(wi)))
                    else {
                        continue;
                    };
                    match d.status {
                        DutyStatus::Inherited => {}
                        DutyStatus::InPlace => covered_by.push(cap.id.clone()),
                        DutyStatus::Unverified | DutyStatus::Unassigned => {
                            missing.push(cap.id.clone())
                        }
                    }
                }
                match attested {
                    Some(e) if e.state == EvidenceState::Attested => {
                        (CoverageStatus::Covered, Some(e.detail))
                    }
                    other => {
                        let lapsed = other.map(|e| e.detail);
                        if serving_caps.is_empty() {
                            (
                                CoverageStatus::Gap,
                                Some(lapsed.unwrap_or_else(|| {
                                    "process control: needs an attestation".to_owned()
                                })),
                            )
                        } else if covered_by.is_empty() && missing.is_empty() {
                            // CSA gives the customer a part, but every capability that serves the
                            // control is the provider's here: that part needs an attestation.
                            (
                                CoverageStatus::Gap,
                                Some(lapsed.unwrap_or_else(|| {
                                    format!(
                                        "the capabilities that serve it are the provider's under {}; the customer's part needs an attestation",
                                        w.service_model.label()
                                    )
                                })),
                            )
                        } else if missing.is_empty() {
                            (CoverageStatus::Covered, lapsed)
                        } else if covered_by.is_empty() {
                            (CoverageStatus::Gap, lapsed)
                        } else {
                            (CoverageStatus::Partial, lapsed)
                        }
                    }
                }
            };
            workloads.push(WorkloadCoverage {
                workload: w.name.clone(),
                owner,
                status,
                covered_by,
                missing,
                note,
            });
        }
        let status = overall(workloads.iter().map(|w| w.status));
        controls.push(ControlCoverage {
            id: control.id.clone(),
            domain: control.domain.clone(),
            title: control.title.clone(),
            ccm_lite: control.ccm_lite,
            kind,
            ownership: control.ownership,
            status,
            customer_part: customer_part(catalog, kind, serving_caps),
            workloads,
        });
    }

    let mut domains = Vec::new();
    let mut total = DomainCoverage {
        domain: "*".into(),
        name: "All domains".into(),
        ..Default::default()
    };
    for d in catalog.domains(framework) {
        let mut dc = DomainCoverage {
            domain: d.code.clone(),
            name: d.name.clone(),
            ..Default::default()
        };
        for c in controls.iter().filter(|c| c.domain == d.code) {
            count(&mut dc, c.status);
            count(&mut total, c.status);
        }
        finish_percent(&mut dc);
        domains.push(dc);
    }
    finish_percent(&mut total);
    Coverage {
        framework,
        controls,
        domains,
        total,
    }
}

/// The status of a control across workloads: not applicable only if nowhere applicable, inherited
/// only if inherited everywhere it applies; otherwise covered or gap when all agree, else partial.
fn overall(statuses: impl Iterator<Item = CoverageStatus>) -> CoverageStatus {
    let set: BTreeSet<CoverageStatus> = statuses
        .filter(|s| *s != CoverageStatus::NotApplicable)
        .collect();
    let own: BTreeSet<CoverageStatus> = set
        .iter()
        .copied()
        .filter(|s| *s != CoverageStatus::Inherited)
        .collect();
    if set.is_empty() {
        CoverageStatus::NotApplicable
    } else if own.is_empty() {
        CoverageStatus::Inherited
    } else if own.len() == 1 {
        own.into_iter().next().unwrap_or(CoverageStatus::Partial)
    } else {
        CoverageStatus::Partial
    }
}

fn count(dc: &mut DomainCoverage, status: CoverageStatus) {
    dc.controls += 1;
    match status {
        CoverageStatus::Covered => dc.covered += 1,
        CoverageStatus::Partial => dc.partial += 1,
        CoverageStatus::Gap => dc.gap += 1,
        CoverageStatus::Inherited => dc.inherited += 1,
        CoverageStatus::NotApplicable => dc.not_applicable += 1,
    }
}

fn finish_percent(dc: &mut DomainCoverage) {
    let percent = |part: usize, whole: usize| {
        if whole == 0 {
            100.0
        } else {
            (part as f64 * 1000.0 / whole as f64).round() / 10.0
        }
    };
    let applicable = dc.controls - dc.not_applicable;
    dc.percent_met = percent(dc.covered + dc.inherited, applicable);
    dc.percent_own_covered = percent(dc.covered, applicable - dc.inherited);
}

fn customer_part(catalog: &Catalog, kind: ControlKind, serving: &[usize]) -> String {
    match kind {
        ControlKind::ProviderOnly => "Nothing to operate: verify the provider's assurance (certificates, audit reports).".to_owned(),
        ControlKind::Process => "Keep the policy, procedure or agreement the control asks for, and attest it with an owner and an expiry.".to_owned(),
        ControlKind::Technical => {
            let names: Vec<&str> = serving.iter().filter_map(|&i| catalog.capabilities().get(i)).map(|c| c.id.as_str()).collect();
            format!("Operate or verify, for the layers you own: {}.", names.join(", "))
        }
    }
}

fn gaps(
    catalog: &Catalog,
    manifest: &Manifest,
    duties: &[Vec<Duty<'_>>],
    coverage: &Coverage,
) -> Vec<Gap> {
    let workload_index: HashMap<&str, &crate::manifest::Workload> = manifest
        .workloads
        .iter()
        .map(|w| (w.name.as_str(), w))
        .collect();
    // (capability, workload) -> the controls it leaves open there.
    let mut left_open: HashMap<(&str, &str), BTreeSet<String>> = HashMap::new();
    for c in &coverage.controls {
        for wc in &c.workloads {
            for cap in &wc.missing {
                left_open
                    .entry((cap.as_str(), wc.workload.as_str()))
                    .or_default()
                    .insert(format!("{}:{}", coverage.framework.key(), c.id));
            }
        }
    }
    let mut out = Vec::new();
    for (cap, row) in catalog.capabilities().iter().zip(duties) {
        let open: Vec<(&crate::manifest::Workload, &Duty<'_>)> = manifest
            .workloads
            .iter()
            .zip(row)
            .filter(|(_, d)| {
                matches!(d.status, DutyStatus::Unassigned | DutyStatus::Unverified)
                    && !d.through_parts
            })
            .collect();
        if open.is_empty() {
            continue;
        }
        let owner = if open.iter().any(|(_, d)| d.owner == Owner::Customer) {
            Owner::Customer
        } else {
            Owner::Shared
        };
        let unassigned = open
            .iter()
            .filter(|(_, d)| d.status == DutyStatus::Unassigned)
            .count();
        let reason = if unassigned == open.len() {
            "no supplier assigned".to_owned()
        } else if unassigned == 0 {
            let detail: BTreeSet<&str> = open
                .iter()
                .map(|(_, d)| d.evidence.detail.as_str())
                .collect();
            format!(
                "assigned, but evidence is not valid: {}",
                detail.into_iter().collect::<Vec<_>>().join("; ")
            )
        } else {
            format!(
                "no supplier on {unassigned} workload(s); evidence not valid on {}",
                open.len() - unassigned
            )
        };
        let ccm_lite = cap.links.iter().any(|l| {
            catalog
                .control(&l.control)
                .and_then(|c| c.ccm_lite)
                .unwrap_or(false)
        });
        let score = open
            .iter()
            .map(|(w, d)| {
                risk::score(&risk::Exposure {
                    owner_is_customer: d.owner == Owner::Customer,
                    internet_facing: w.internet_facing,
                    classification: Some(w.classification),
                    ccm_lite,
                    evidence_only: d.status == DutyStatus::Unverified,
                })
            })
            .max()
            .unwrap_or(0);
        out.push(Gap {
            rank: 0,
            score,
            kind: GapKind::Capability,
            id: cap.id.clone(),
            name: cap.name.clone(),
            owner: owner.key().to_owned(),
            workloads: open.iter().map(|(w, _)| w.name.clone()).collect(),
            reason,
            guidance: cap.implementation.clone(),
            service_types: cap
                .service_types
                .iter()
                .map(|s| {
                    catalog
                        .service_type(s)
                        .map_or_else(|| s.clone(), |t| t.name.clone())
                })
                .collect(),
            controls: open
                .iter()
                .filter_map(|(w, _)| left_open.get(&(cap.id.as_str(), w.name.as_str())))
                .flatten()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            section: Some(cap.section.clone()),
        });
    }
    // Controls whose customer part only an attestation can meet: process controls, and controls
    // whose serving capabilities are all the provider's on that workload.
    for c in &coverage.controls {
        let open: Vec<&WorkloadCoverage> = c
            .workloads
            .iter()
            .filter(|w| {
                w.status == CoverageStatus::Gap && w.missing.is_empty() && w.covered_by.is_empty()
            })
            .collect();
        if open.is_empty() {
            continue;
        }
        let customer_only = open.iter().any(|w| w.owner == ControlOwnership::CscOwned);
        let score = open
            .iter()
            .filter_map(|wc| workload_index.get(wc.workload.as_str()).map(|w| (wc, w)))
            .map(|(wc, w)| {
                risk::score(&risk::Exposure {
                    owner_is_customer: wc.owner == ControlOwnership::CscOwned,
                    internet_facing: w.internet_facing,
                    classification: Some(w.classification),
                    ccm_lite: c.ccm_lite.unwrap_or(false),
                    evidence_only: false,
                })
            })
            .max()
            .unwrap_or(0);
        let reason = open
            .iter()
            .filter_map(|w| w.note.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join("; ");
        out.push(Gap {
            rank: 0,
            score,
            kind: GapKind::Control,
            id: format!("{}:{}", coverage.framework.key(), c.id),
            name: c.title.clone(),
            owner: if customer_only {
                "customer".into()
            } else {
                "shared".into()
            },
            workloads: open.iter().map(|w| w.workload.clone()).collect(),
            reason,
            guidance: if c.kind == ControlKind::Process {
                c.customer_part.clone()
            } else {
                "The capabilities that serve this control are the provider's under this service model; do your part of the shared control (your users, data, endpoints and configuration) and attest it with an owner and an expiry.".to_owned()
            },
            service_types: ["consulting-integration", "certification-audit"]
                .iter()
                .map(|s| {
                    catalog
                        .service_type(s)
                        .map_or_else(|| (*s).to_owned(), |t| t.name.clone())
                })
                .collect(),
            controls: vec![format!("{}:{}", coverage.framework.key(), c.id)],
            section: None,
        });
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| kind_order(a.kind).cmp(&kind_order(b.kind)))
            .then_with(|| a.id.cmp(&b.id))
    });
    for (i, g) in out.iter_mut().enumerate() {
        g.rank = i + 1;
    }
    out
}

fn kind_order(kind: GapKind) -> u8 {
    match kind {
        GapKind::Capability => 0,
        GapKind::Control => 1,
    }
}
