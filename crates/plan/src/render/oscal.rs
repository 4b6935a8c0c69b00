//! OSCAL 1.2.1 exports of a plan, in the form compliance-trestle 5.2.0 validates (see
//! tools/oscal/NOTES.md): a titles-only CCM catalog and a profile that includes all of it, a
//! system security plan that imports the profile, and a component definition of the capabilities.
//!
//! The four documents reference each other by bare sibling file names (`catalog.json`,
//! `profile.json`), so they belong in one directory. Every uuid is a deterministic version-5 uuid
//! derived from the tenant and the object's role, and `last-modified` is midnight UTC of `as_of`,
//! so the same plan always exports the same bytes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use shieldwall_catalog::{Catalog, ControlOwnership, Owner};
use shieldwall_core::{Framework, RecordId};

use super::RenderError;
use crate::report::{CoverageStatus, DutyStatus, Plan};

/// The OSCAL version the documents declare.
pub const OSCAL_VERSION: &str = "1.2.1";
/// The namespace of Shieldwall's own OSCAL props.
const NS: &str = "https://shieldwall.invalid/ns/oscal";
/// File names the documents use to reference each other.
pub const CATALOG_FILE: &str = "catalog.json";
/// See [`CATALOG_FILE`].
pub const PROFILE_FILE: &str = "profile.json";

/// Which OSCAL document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OscalDocument {
    /// Titles-only catalog of the plan's framework.
    Catalog,
    /// Profile importing the whole catalog.
    Profile,
    /// System security plan.
    Ssp,
    /// Component definition of the capabilities.
    ComponentDefinition,
}

impl OscalDocument {
    /// All four, with the file name each is written to by `--oscal-dir`.
    pub const ALL: [(OscalDocument, &'static str); 4] = [
        (OscalDocument::Catalog, CATALOG_FILE),
        (OscalDocument::Profile, PROFILE_FILE),
        (OscalDocument::Ssp, "ssp.json"),
        (
            OscalDocument::ComponentDefinition,
            "component-definition.json",
        ),
    ];
}

/// Renders one OSCAL document as pretty JSON.
pub fn render(
    plan: &Plan,
    catalog: &Catalog,
    document: OscalDocument,
) -> Result<String, RenderError> {
    let ids = ControlIds::new(catalog, plan.framework)?;
    let ctx = Ctx { plan, catalog, ids };
    let mut value = match document {
        OscalDocument::Catalog => ctx.catalog_doc(),
        OscalDocument::Profile => ctx.profile_doc(),
        OscalDocument::Ssp => ctx.ssp_doc(),
        OscalDocument::ComponentDefinition => ctx.component_doc(),
    };
    prune(&mut value);
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    Ok(text)
}

/// OSCAL tokens cannot hold `&`: `A&A-01` becomes `a-a-01`. Collisions are refused rather than
/// merged, since trestle does not catch them.
struct ControlIds {
    by_id: BTreeMap<String, String>,
}

impl ControlIds {
    fn new(catalog: &Catalog, framework: Framework) -> Result<Self, RenderError> {
        let mut by_id = BTreeMap::new();
        let mut seen = BTreeMap::new();
        for id in catalog
            .controls(framework)
            .iter()
            .map(|c| c.id.clone())
            .chain(catalog.domains(framework).iter().map(|d| d.code.clone()))
        {
            let token = oscal_token(&id);
            if let Some(other) = seen.insert(token.clone(), id.clone()) {
                return Err(RenderError::Oscal(format!(
                    "ids {other:?} and {id:?} both become the OSCAL id {token:?}"
                )));
            }
            by_id.insert(id, token);
        }
        Ok(ControlIds { by_id })
    }

    fn get(&self, id: &str) -> String {
        self.by_id
            .get(id)
            .cloned()
            .unwrap_or_else(|| oscal_token(id))
    }
}

/// Lowercase, runs outside `[a-z0-9._-]` become `-`, no leading or trailing `-`, and a leading `_`
/// if the result does not start with a letter.
pub fn oscal_token(id: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for ch in id.chars().flat_map(char::to_lowercase) {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '.' || ch == '_' || ch == '-' {
            out.push(ch);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    let trimmed = out.trim_matches('-').to_owned();
    if trimmed.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        trimmed
    } else {
        format!("_{trimmed}")
    }
}

/// OSCAL "string" values: one line, no surrounding whitespace, never empty.
fn line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.is_empty() {
        "-".to_owned()
    } else {
        joined
    }
}

/// Removes nulls and empty arrays and objects (except the `include-all: {}` marker), which the
/// OSCAL schema rejects.
fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key != "include-all" {
                    prune(v);
                }
            }
            map.retain(|key, v| {
                key == "include-all" || !(v.is_null() || v.as_array().is_some_and(Vec::is_empty))
            });
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

struct Ctx<'a> {
    plan: &'a Plan,
    catalog: &'a Catalog,
    ids: ControlIds,
}

impl Ctx<'_> {
    fn uuid(&self, parts: &[&str]) -> String {
        let mut all = vec![self.plan.tenant.as_str()];
        all.extend_from_slice(parts);
        RecordId::derive("oscal", &all).to_string()
    }

    fn metadata(&self, title: &str, extra: Value) -> Value {
        let mut m = json!({
            "title": line(title),
            "last-modified": format!("{}T00:00:00Z", self.plan.as_of),
            "version": self.plan.as_of.to_string(),
            "oscal-version": OSCAL_VERSION,
        });
        if let (Some(map), Value::Object(extra)) = (m.as_object_mut(), extra) {
            map.extend(extra);
        }
        m
    }

    fn catalog_doc(&self) -> Value {
        let fw = self.plan.framework;
        let groups: Vec<Value> = self
            .catalog
            .domains(fw)
            .iter()
            .map(|d| {
                let controls: Vec<Value> = self
                    .catalog
                    .controls(fw)
                    .iter()
                    .filter(|c| c.domain == d.code)
                    .map(|c| {
                        let mut props = vec![json!({"name": "label", "value": c.id}), json!({"name": "sort-id", "value": self.ids.get(&c.id)})];
                        if let Some(lite) = c.ccm_lite {
                            props.push(json!({"name": "ccm-lite", "ns": NS, "value": if lite { "yes" } else { "no" }}));
                        }
                        json!({"id": self.ids.get(&c.id), "title": line(&c.title), "props": props})
                    })
                    .collect();
                json!({"id": self.ids.get(&d.code), "title": line(&d.name), "props": [{"name": "label", "value": d.code}], "controls": controls})
            })
            .collect();
        json!({"catalog": {
            "uuid": self.uuid(&["catalog", fw.key()]),
            "metadata": self.metadata(
                &format!("{} (identifiers and titles only)", self.plan.framework.title()),
                json!({"remarks": "Control identifiers, domains and short titles of the Cloud Security Alliance Cloud Controls Matrix, referenced as facts. The control specifications are CSA's and are not included."}),
            ),
            "groups": groups,
        }})
    }

    fn profile_doc(&self) -> Value {
        json!({"profile": {
            "uuid": self.uuid(&["profile", self.plan.framework.key()]),
            "metadata": self.metadata(&format!("{} baseline for {}", self.plan.framework.title(), self.plan.organisation), json!({})),
            "imports": [{"href": CATALOG_FILE, "include-all": {}}],
            "merge": {"as-is": true},
        }})
    }

    fn role_of_owner(owner: ControlOwnership) -> Vec<&'static str> {
        match owner {
            ControlOwnership::CspOwned => vec!["provider"],
            ControlOwnership::CscOwned => vec!["customer"],
            ControlOwnership::Shared | ControlOwnership::Unspecified => {
                vec!["provider", "customer"]
            }
            ControlOwnership::NotApplicable => vec![],
        }
    }

    fn ssp_doc(&self) -> Value {
        let plan = self.plan;
        let customer_party = self.uuid(&["party", "customer"]);
        let providers: BTreeSet<&str> = plan.matrix.iter().map(|m| m.provider.as_str()).collect();
        let provider_party = |p: &str| self.uuid(&["party", "provider", p]);
        let third_party_names: BTreeSet<&str> = plan
            .capabilities
            .iter()
            .filter_map(|d| d.transferred_to.as_deref())
            .chain(
                plan.capabilities
                    .iter()
                    .filter_map(|d| d.supplier.as_deref())
                    .filter(|s| !matches!(*s, "csp" | "customer")),
            )
            .chain(plan.matrix.iter().flat_map(|m| {
                m.responsibilities
                    .iter()
                    .filter_map(|r| r.transferred_to.as_deref())
            }))
            .collect();
        let third_party = |p: &str| self.uuid(&["party", "third-party", p]);

        let mut parties = vec![
            json!({"uuid": customer_party, "type": "organization", "name": line(&plan.organisation)}),
        ];
        parties.extend(
            providers.iter().map(
                |p| json!({"uuid": provider_party(p), "type": "organization", "name": line(p)}),
            ),
        );
        parties.extend(
            third_party_names
                .iter()
                .map(|p| json!({"uuid": third_party(p), "type": "organization", "name": line(p)})),
        );
        let mut responsible = vec![
            json!({"role-id": "customer", "party-uuids": [customer_party]}),
            json!({"role-id": "provider", "party-uuids": providers.iter().map(|p| provider_party(p)).collect::<Vec<_>>()}),
        ];
        if !third_party_names.is_empty() {
            responsible.push(json!({"role-id": "third-party", "party-uuids": third_party_names.iter().map(|p| third_party(p)).collect::<Vec<_>>()}));
        }

        // Components: this system, one per provider, one per capability that somebody supplies.
        let this_system = self.uuid(&["component", "this-system"]);
        let mut components = vec![json!({
            "uuid": this_system,
            "type": "this-system",
            "title": line(&plan.organisation),
            "description": format!("The {} workloads of the manifest, as one system.", plan.matrix.len()),
            "status": {"state": "operational"},
            "responsible-roles": [{"role-id": "customer", "party-uuids": [customer_party]}],
        })];
        let provider_component = |p: &str| self.uuid(&["component", "provider", p]);
        for p in &providers {
            let models: BTreeSet<&str> = plan
                .matrix
                .iter()
                .filter(|m| m.provider == *p)
                .map(|m| m.service_model.label())
                .collect();
            components.push(json!({
                "uuid": provider_component(p),
                "type": "service",
                "title": format!("{} ({})", line(p), models.into_iter().collect::<Vec<_>>().join(", ")),
                "description": "The cloud service the workloads run on; controls it owns are inherited.",
                "props": [{"name": "implementation-point", "value": "external"}],
                "status": {"state": "operational"},
                "responsible-roles": [{"role-id": "provider", "party-uuids": [provider_party(p)]}],
            }));
        }
        let mut supplied: BTreeMap<&str, Vec<&crate::report::CapabilityDuty>> = BTreeMap::new();
        for d in plan.capabilities.iter().filter(|d| d.supplier.is_some()) {
            supplied.entry(d.capability.as_str()).or_default().push(d);
        }
        let capability_component = |c: &str| self.uuid(&["component", "capability", c]);
        for cap in self.catalog.capabilities() {
            let Some(duties) = supplied.get(cap.id.as_str()) else {
                continue;
            };
            let in_place = duties
                .iter()
                .all(|d| matches!(d.status, DutyStatus::InPlace | DutyStatus::Inherited));
            let mut roles: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for d in duties {
                match d.supplier.as_deref() {
                    Some("csp") => {
                        let p = plan
                            .matrix
                            .iter()
                            .find(|m| m.workload == d.workload)
                            .map_or("", |m| m.provider.as_str());
                        roles.entry("provider").or_default().push(provider_party(p));
                    }
                    Some("customer") | None => roles
                        .entry("customer")
                        .or_default()
                        .push(customer_party.clone()),
                    Some(other) => roles
                        .entry("third-party")
                        .or_default()
                        .push(third_party(other)),
                }
            }
            let products: BTreeSet<String> = duties
                .iter()
                .filter_map(|d| d.product.as_deref())
                .map(line)
                .collect();
            let description = if products.is_empty() {
                line(&cap.requirement)
            } else {
                products.into_iter().collect::<Vec<_>>().join("; ")
            };
            components.push(json!({
                "uuid": capability_component(&cap.id),
                "type": "service",
                "title": line(&cap.name),
                "description": description,
                "props": [{"name": "capability", "ns": NS, "value": cap.id}, {"name": "guideline-section", "ns": NS, "value": cap.section}],
                "status": if in_place { json!({"state": "operational"}) } else { json!({"state": "other", "remarks": "Supplied, but its evidence is missing or expired on some workload."}) },
                "responsible-roles": roles.into_iter().map(|(role, mut parties)| { parties.sort(); parties.dedup(); json!({"role-id": role, "party-uuids": parties}) }).collect::<Vec<_>>(),
            }));
        }

        let requirements: Vec<Value> = plan
            .coverage
            .controls
            .iter()
            .map(|c| {
                let control_id = self.ids.get(&c.id);
                let req_uuid = |part: &str, extra: &str| self.uuid(&["ir", &control_id, part, extra]);
                let mut by_components = Vec::new();
                // Capabilities supplied for it.
                let serving: BTreeSet<&str> = c.workloads.iter().flat_map(|w| w.covered_by.iter().chain(&w.missing)).map(String::as_str).collect();
                for cap_id in &serving {
                    let Some(duties) = supplied.get(cap_id) else { continue };
                    let state = if duties.iter().all(|d| d.status == DutyStatus::InPlace) { "implemented" } else { "partial" };
                    let suppliers: BTreeSet<&str> = duties.iter().filter_map(|d| d.supplier.as_deref()).collect();
                    by_components.push(json!({
                        "component-uuid": capability_component(cap_id),
                        "uuid": req_uuid("cap", cap_id),
                        "description": format!("{cap_id}, supplied by {}.", suppliers.into_iter().collect::<Vec<_>>().join(", ")),
                        "implementation-status": {"state": state},
                    }));
                }
                // The provider's share.
                for p in &providers {
                    let on_provider: Vec<&crate::report::WorkloadCoverage> = c
                        .workloads
                        .iter()
                        .filter(|w| plan.matrix.iter().any(|m| m.workload == w.workload && m.provider == *p))
                        .collect();
                    let provider_owned = on_provider.iter().any(|w| w.status == CoverageStatus::Inherited);
                    let provider_share = on_provider.iter().any(|w| matches!(w.owner, ControlOwnership::Shared | ControlOwnership::Unspecified) && w.status != CoverageStatus::NotApplicable);
                    let inherited = provider_owned || provider_share;
                    let shared_done = on_provider.iter().any(|w| w.owner == ControlOwnership::Shared && w.status == CoverageStatus::Covered);
                    if !inherited && !shared_done {
                        continue;
                    }
                    let mut bc = json!({
                        "component-uuid": provider_component(p),
                        "uuid": req_uuid("provider", p),
                        "description": format!("The provider's part, from {}.", line(p)),
                    });
                    if inherited {
                        let description = if provider_owned {
                            format!("Inherited from {}: the provider owns this control for the workloads it hosts.", line(p))
                        } else {
                            format!("Inherited from {}: the provider's part of this shared control, for the workloads it hosts.", line(p))
                        };
                        set(&mut bc, "inherited", json!([{"uuid": req_uuid("inherited", p), "description": description}]));
                    }
                    if shared_done {
                        set(&mut bc, "satisfied", json!([{"uuid": req_uuid("satisfied", p), "description": format!("The customer's part of this shared control is met: {}", c.customer_part)}]));
                    }
                    by_components.push(bc);
                }
                // This system: what it provides, or what is missing.
                let state = match c.status {
                    CoverageStatus::Covered => "implemented",
                    CoverageStatus::Partial => "partial",
                    CoverageStatus::Gap => "planned",
                    CoverageStatus::Inherited => "implemented",
                    CoverageStatus::NotApplicable => "not-applicable",
                };
                let notes: BTreeSet<String> = c.workloads.iter().filter_map(|w| w.note.clone()).collect();
                let mut this = json!({
                    "component-uuid": this_system,
                    "uuid": req_uuid("this-system", ""),
                    "description": format!("Coverage: {}. {}", c.status.key(), line(&c.customer_part)),
                    "implementation-status": {"state": state},
                    "remarks": if notes.is_empty() { Value::Null } else { Value::String(notes.into_iter().collect::<Vec<_>>().join("\n\n")) },
                });
                if c.status == CoverageStatus::Covered {
                    set(&mut this, "export", json!({"provided": [{"uuid": req_uuid("provided", ""), "description": "This system implements the control for the workloads it runs and for systems that leverage it."}]}));
                }
                by_components.push(this);

                let mut roles: BTreeSet<&str> = BTreeSet::new();
                for model in plan.matrix.iter().map(|m| m.service_model) {
                    roles.extend(Self::role_of_owner(c.ownership.get(model)));
                }
                json!({
                    "uuid": req_uuid("requirement", ""),
                    "control-id": control_id,
                    "props": [{"name": "coverage-status", "ns": NS, "value": c.status.key()}, {"name": "control-kind", "ns": NS, "value": c.kind.key()}],
                    "responsible-roles": roles.into_iter().map(|r| json!({"role-id": r})).collect::<Vec<_>>(),
                    "by-components": by_components,
                })
            })
            .collect();

        let sensitivity = plan
            .matrix
            .iter()
            .map(|m| m.data_classification)
            .max()
            .map_or("fips-199-low", impact);
        let information_types: Vec<Value> = plan
            .matrix
            .iter()
            .map(|m| {
                json!({
                    "uuid": self.uuid(&["information-type", &m.workload]),
                    "title": format!("Data of {}", line(&m.workload)),
                    "description": format!("Data the {} workload holds, classified {}.", line(&m.workload), m.data_classification.key()),
                    "confidentiality-impact": {"base": impact(m.data_classification)},
                })
            })
            .collect();
        json!({"system-security-plan": {
            "uuid": self.uuid(&["ssp"]),
            "metadata": self.metadata(
                &format!("System security plan: {}", plan.organisation),
                json!({
                    "roles": [
                        {"id": "provider", "title": "Cloud service provider"},
                        {"id": "customer", "title": "Cloud customer"},
                        {"id": "third-party", "title": "Third-party security service provider"},
                    ],
                    "parties": parties,
                    "responsible-parties": responsible,
                }),
            ),
            "import-profile": {"href": PROFILE_FILE},
            "system-characteristics": {
                "system-ids": [{"identifier-type": "https://ietf.org/rfc/rfc4122", "id": self.uuid(&["system"])}],
                "system-name": line(&plan.organisation),
                "description": format!("{} deployment with {} workload(s): {}.", plan.deployment.key(), plan.matrix.len(), plan.matrix.iter().map(|m| format!("{} ({} on {})", m.workload, m.service_model.label(), m.provider)).collect::<Vec<_>>().join(", ")),
                "security-sensitivity-level": sensitivity,
                "system-information": {"information-types": information_types},
                "status": {"state": "operational"},
                "authorization-boundary": {"description": "The workloads listed in the deployment manifest and the security capabilities assigned to them."},
            },
            "system-implementation": {"components": components},
            "control-implementation": {
                "description": format!("{} controls, each with its owner per service model, what covers it and its status as of {}.", self.plan.framework.title(), plan.as_of),
                "implemented-requirements": requirements,
            },
        }})
    }

    fn component_doc(&self) -> Value {
        let fw = self.plan.framework;
        let components: Vec<Value> = self
            .catalog
            .capabilities()
            .iter()
            .map(|cap| {
                let mut reqs: Vec<Value> = Vec::new();
                for link in cap.links.iter().filter(|l| l.control.framework == fw) {
                    let id = self.ids.get(&link.control.id);
                    reqs.push(json!({"uuid": self.uuid(&["cd", &cap.id, &id]), "control-id": id, "description": line(&link.why)}));
                }
                for d in cap.derived.iter().filter(|d| d.control.framework == fw) {
                    let id = self.ids.get(&d.control.id);
                    reqs.push(json!({"uuid": self.uuid(&["cd", &cap.id, &id]), "control-id": id, "description": format!("Derived through CSA's crosswalk from {}.", d.via)}));
                }
                let owners: Vec<String> = shieldwall_catalog::ServiceModel::ALL
                    .iter()
                    .map(|m| format!("{}={}", m.key(), self.catalog.capability_owner(cap, *m).unwrap_or(Owner::Customer).key()))
                    .collect();
                let mut props = vec![
                    json!({"name": "capability", "ns": NS, "value": cap.id}),
                    json!({"name": "guideline-section", "ns": NS, "value": cap.section}),
                    json!({"name": "category", "ns": NS, "value": cap.category}),
                    json!({"name": "owner-per-model", "ns": NS, "value": owners.join(" ")}),
                ];
                props.extend(cap.service_types.iter().map(|s| json!({"name": "third-party-service-type", "ns": NS, "value": s})));
                let mut component = json!({
                    "uuid": self.uuid(&["cd", &cap.id]),
                    "type": "service",
                    "title": line(&cap.name),
                    "description": line(&cap.requirement),
                    "purpose": line(&cap.implementation),
                    "props": props,
                });
                if !reqs.is_empty() {
                    set(&mut component, "control-implementations", json!([{
                        "uuid": self.uuid(&["cd", &cap.id, "implementation"]),
                        "source": PROFILE_FILE,
                        "description": format!("{} controls this capability helps fulfil.", self.plan.framework.title()),
                        "implemented-requirements": reqs,
                    }]));
                }
                component
            })
            .collect();
        json!({"component-definition": {
            "uuid": self.uuid(&["component-definition", fw.key()]),
            "metadata": self.metadata("Shieldwall security capabilities (CSA guideline section 3.2)", json!({})),
            "components": components,
        }})
    }
}

/// Sets `key` on a JSON object (a no-op on anything else, which never happens here).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

fn impact(c: crate::manifest::Classification) -> &'static str {
    use crate::manifest::Classification as C;
    match c {
        C::Public | C::Internal => "fips-199-low",
        C::Confidential => "fips-199-moderate",
        C::Restricted => "fips-199-high",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_legal_ncnames() {
        assert_eq!(oscal_token("A&A-01"), "a-a-01");
        assert_eq!(oscal_token("AIS-01"), "ais-01");
        assert_eq!(oscal_token("I&S-01"), "i-s-01");
        assert_eq!(oscal_token("1X"), "_1x");
        assert_eq!(oscal_token("&&"), "_");
    }

    #[test]
    fn prune_drops_empty_arrays_and_nulls_but_keeps_include_all() {
        let mut v =
            json!({"a": [], "b": null, "c": {"include-all": {}, "d": [1]}, "e": [{"f": []}]});
        prune(&mut v);
        assert_eq!(v, json!({"c": {"include-all": {}, "d": [1]}, "e": [{}]}));
    }
}
