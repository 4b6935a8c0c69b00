//! Listings of the catalog for `shieldwall catalog ...`: capabilities, responsibilities,
//! categories, controls, and one entry in full. JSON shapes are documented in docs/catalog-json.md.

use serde::Serialize;
use shieldwall_catalog::{Capability, Catalog, ControlKind, ControlOwnership, Owner, PerModel};
use shieldwall_core::{ControlRef, Framework};

use super::{Format, RenderError, text::Grid};

/// What to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Security capabilities.
    Capabilities,
    /// Responsibilities of sections 2.2 to 2.5.
    Responsibilities,
    /// Technology categories and their areas.
    Categories,
    /// Controls of a framework version.
    Controls(Framework),
}

#[derive(Serialize)]
struct CapabilityView<'a> {
    id: &'a str,
    name: &'a str,
    category: &'a str,
    area: &'a str,
    parent: Option<&'a str>,
    section: &'a str,
    also: &'a [String],
    owners: PerModel<Owner>,
    owner_reasoning: Option<&'a str>,
    requirement: &'a str,
    implementation: &'a str,
    service_types: &'a [String],
    modules: &'a [String],
    controls: Vec<String>,
    links: Vec<LinkView<'a>>,
}

#[derive(Serialize)]
struct LinkView<'a> {
    control: String,
    why: Option<&'a str>,
    via: Option<String>,
}

#[derive(Serialize)]
struct ControlView<'a> {
    id: &'a str,
    framework: Framework,
    domain: &'a str,
    title: &'a str,
    ccm_lite: Option<bool>,
    ownership: PerModel<ControlOwnership>,
    guideline_split: Option<PerModel<shieldwall_catalog::SplitLabel>>,
    kind: ControlKind,
    capabilities: Vec<&'a str>,
    mappings: &'a std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct CategoryView<'a> {
    id: &'a str,
    name: &'a str,
    section: &'a str,
    areas: Vec<&'a shieldwall_catalog::Area>,
}

fn capability_view<'a>(catalog: &'a Catalog, c: &'a Capability) -> CapabilityView<'a> {
    let owner = |m| catalog.capability_owner(c, m).unwrap_or(Owner::Customer);
    CapabilityView {
        id: &c.id,
        name: &c.name,
        category: &c.category,
        area: &c.area,
        parent: c.parent.as_deref(),
        section: &c.section,
        also: &c.also,
        owners: PerModel {
            iaas: owner(shieldwall_catalog::ServiceModel::Iaas),
            paas: owner(shieldwall_catalog::ServiceModel::Paas),
            saas: owner(shieldwall_catalog::ServiceModel::Saas),
        },
        owner_reasoning: c.owners.as_ref().map(|o| o.reasoning.as_str()),
        requirement: &c.requirement,
        implementation: &c.implementation,
        service_types: &c.service_types,
        modules: &c.modules,
        controls: c.controls().map(ToString::to_string).collect(),
        links: c
            .links
            .iter()
            .map(|l| LinkView {
                control: l.control.to_string(),
                why: Some(&l.why),
                via: None,
            })
            .chain(c.derived.iter().map(|d| LinkView {
                control: d.control.to_string(),
                why: None,
                via: Some(d.via.to_string()),
            }))
            .collect(),
    }
}

fn control_view<'a>(catalog: &'a Catalog, c: &'a shieldwall_catalog::Control) -> ControlView<'a> {
    let reference = ControlRef::new(c.framework, c.id.clone());
    ControlView {
        id: &c.id,
        framework: c.framework,
        domain: &c.domain,
        title: &c.title,
        ccm_lite: c.ccm_lite,
        ownership: c.ownership,
        guideline_split: c.guideline_split,
        kind: catalog.control_kind(c),
        capabilities: catalog
            .capabilities_for(&reference)
            .map(|x| x.id.as_str())
            .collect(),
        mappings: &c.mappings,
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, RenderError> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}

fn grid_out(grid: &Grid, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Markdown => Ok(grid.markdown()),
        Format::Csv => grid.csv(),
        _ => Ok(grid.aligned()),
    }
}

/// Renders a listing. HTML is not offered for listings; it falls back to the table.
pub fn render_listing(
    catalog: &Catalog,
    listing: Listing,
    format: Format,
) -> Result<String, RenderError> {
    match listing {
        Listing::Capabilities => {
            if format == Format::Json {
                let views: Vec<_> = catalog
                    .capabilities()
                    .iter()
                    .map(|c| capability_view(catalog, c))
                    .collect();
                return json(&views);
            }
            let mut g = Grid::new([
                "Id",
                "Category",
                "Section",
                "IaaS",
                "PaaS",
                "SaaS",
                "Modules",
                "CCM v4.0.13",
            ]);
            for c in catalog.capabilities() {
                let v = capability_view(catalog, c);
                g.row(vec![
                    c.id.clone(),
                    c.category.clone(),
                    c.section.clone(),
                    v.owners.iaas.key().into(),
                    v.owners.paas.key().into(),
                    v.owners.saas.key().into(),
                    c.modules.join(","),
                    c.links
                        .iter()
                        .map(|l| l.control.id.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ]);
            }
            grid_out(&g, format)
        }
        Listing::Responsibilities => {
            if format == Format::Json {
                return json(&catalog.responsibilities());
            }
            let mut g = Grid::new(["Id", "Section", "IaaS", "PaaS", "SaaS", "Duty"]);
            for r in catalog.responsibilities() {
                g.row(vec![
                    r.id.clone(),
                    r.section.clone(),
                    r.owners.iaas.key().into(),
                    r.owners.paas.key().into(),
                    r.owners.saas.key().into(),
                    r.summary.clone(),
                ]);
            }
            grid_out(&g, format)
        }
        Listing::Categories => {
            if format == Format::Json {
                let views: Vec<_> = catalog
                    .categories()
                    .iter()
                    .map(|c| CategoryView {
                        id: &c.id,
                        name: &c.name,
                        section: &c.section,
                        areas: catalog.areas_of(&c.id).collect(),
                    })
                    .collect();
                return json(&views);
            }
            let mut g = Grid::new(["Category", "Area", "IaaS", "PaaS", "SaaS", "Name"]);
            for a in catalog.areas() {
                g.row(vec![
                    a.category.clone(),
                    a.id.clone(),
                    a.owners.iaas.key().into(),
                    a.owners.paas.key().into(),
                    a.owners.saas.key().into(),
                    a.name.clone(),
                ]);
            }
            grid_out(&g, format)
        }
        Listing::Controls(framework) => {
            if format == Format::Json {
                let views: Vec<_> = catalog
                    .controls(framework)
                    .iter()
                    .map(|c| control_view(catalog, c))
                    .collect();
                return json(&views);
            }
            let mut g = Grid::new([
                "Id", "Domain", "IaaS", "PaaS", "SaaS", "Lite", "Kind", "Title",
            ]);
            for c in catalog.controls(framework) {
                g.row(vec![
                    c.id.clone(),
                    c.domain.clone(),
                    c.ownership.iaas.key().into(),
                    c.ownership.paas.key().into(),
                    c.ownership.saas.key().into(),
                    match c.ccm_lite {
                        Some(true) => "yes".into(),
                        Some(false) => "no".into(),
                        None => "-".into(),
                    },
                    catalog.control_kind(c).key().to_owned(),
                    c.title.clone(),
                ]);
            }
            grid_out(&g, format)
        }
    }
}

/// One catalog entry in full, found by id, or `None` if nothing has that id.
///
/// `extra_text` is shown for a control when the user imported CSA's official file (its text is the
/// user's own copy, never shipped).
pub fn render_entry(
    catalog: &Catalog,
    id: &str,
    format: Format,
    extra_text: Option<&str>,
) -> Result<Option<String>, RenderError> {
    let pairs: Vec<(String, String)>;
    let value: serde_json::Value;
    if let Some(c) = catalog.capability(id) {
        let v = capability_view(catalog, c);
        value = serde_json::to_value(&v)?;
        let mut p = vec![
            ("Capability".to_owned(), format!("{} ({})", c.id, c.name)),
            ("Section".into(), section_list(&c.section, &c.also)),
            (
                "Category / area".into(),
                format!("{} / {}", c.category, c.area),
            ),
            (
                "Owner IaaS/PaaS/SaaS".into(),
                format!("{} / {} / {}", v.owners.iaas, v.owners.paas, v.owners.saas),
            ),
            ("Must".into(), c.requirement.clone()),
            ("How".into(), c.implementation.clone()),
            ("Third-party services".into(), c.service_types.join(", ")),
            (
                "Shieldwall modules".into(),
                if c.modules.is_empty() {
                    "none: satisfied by attestation".into()
                } else {
                    c.modules.join(", ")
                },
            ),
        ];
        p.extend(
            c.links
                .iter()
                .map(|l| (l.control.to_string(), l.why.clone())),
        );
        p.extend(
            c.derived
                .iter()
                .map(|d| (d.control.to_string(), format!("derived through {}", d.via))),
        );
        pairs = p;
    } else if let Some(r) = catalog.responsibility(id) {
        value = serde_json::to_value(r)?;
        pairs = vec![
            ("Responsibility".into(), r.id.clone()),
            ("Section".into(), section_list(&r.section, &r.also)),
            ("Duty".into(), r.summary.clone()),
            (
                "Owner IaaS/PaaS/SaaS".into(),
                format!("{} / {} / {}", r.owners.iaas, r.owners.paas, r.owners.saas),
            ),
            ("Reasoning".into(), r.reasoning.clone()),
        ];
    } else if let Some(a) = catalog.area(id) {
        value = serde_json::to_value(a)?;
        pairs = vec![
            ("Area".into(), format!("{} ({})", a.id, a.name)),
            ("Category".into(), a.category.clone()),
            ("Section".into(), a.section.clone()),
            (
                "Owner IaaS/PaaS/SaaS".into(),
                format!("{} / {} / {}", a.owners.iaas, a.owners.paas, a.owners.saas),
            ),
            ("Reasoning".into(), a.reasoning.clone()),
        ];
    } else if let Some(c) = catalog.category(id) {
        value = serde_json::to_value(CategoryView {
            id: &c.id,
            name: &c.name,
            section: &c.section,
            areas: catalog.areas_of(&c.id).collect(),
        })?;
        let mut p = vec![
            ("Category".to_owned(), format!("{} ({})", c.id, c.name)),
            ("Section".into(), c.section.clone()),
        ];
        p.extend(catalog.areas_of(&c.id).map(|a| {
            (
                a.id.clone(),
                format!("{} / {} / {}", a.owners.iaas, a.owners.paas, a.owners.saas),
            )
        }));
        pairs = p;
    } else if let Some(s) = catalog.service_type(id) {
        value = serde_json::to_value(s)?;
        let users: Vec<&str> = catalog
            .capabilities()
            .iter()
            .filter(|c| c.service_types.iter().any(|x| x == id))
            .map(|c| c.id.as_str())
            .collect();
        pairs = vec![
            ("Service type".into(), format!("{} ({})", s.id, s.name)),
            ("Section".into(), s.section.clone()),
            ("Supplies".into(), users.join(", ")),
        ];
    } else if let Some(m) = catalog.module(id) {
        value = serde_json::to_value(m)?;
        let users: Vec<&str> = catalog
            .capabilities()
            .iter()
            .filter(|c| c.modules.iter().any(|x| x == id))
            .map(|c| c.id.as_str())
            .collect();
        pairs = vec![
            ("Module".into(), format!("{} ({})", m.id, m.name)),
            ("Section".into(), m.section.clone()),
            (
                "In this build".into(),
                if m.available {
                    "yes".into()
                } else {
                    "not yet".into()
                },
            ),
            ("Evidence for".into(), users.join(", ")),
        ];
    } else if let Some(control) = resolve_control(catalog, id) {
        let mut v = serde_json::to_value(control_view(catalog, control))?;
        if let (Some(text), Some(obj)) = (extra_text, v.as_object_mut()) {
            obj.insert(
                "specification".into(),
                serde_json::Value::String(text.to_owned()),
            );
        }
        value = v;
        let reference = ControlRef::new(control.framework, control.id.clone());
        let mut p = vec![
            (
                "Control".to_owned(),
                format!("{reference} {}", control.title),
            ),
            ("Domain".into(), control.domain.clone()),
            (
                "Owner IaaS/PaaS/SaaS".into(),
                format!(
                    "{} / {} / {}",
                    control.ownership.iaas, control.ownership.paas, control.ownership.saas
                ),
            ),
            (
                "Kind".into(),
                catalog.control_kind(control).key().to_owned(),
            ),
        ];
        if let Some(split) = &control.guideline_split {
            p.push((
                "Implementation guidelines split".into(),
                format!(
                    "{} / {} / {}",
                    split.iaas.label(),
                    split.paas.label(),
                    split.saas.label()
                ),
            ));
        }
        if let Some(lite) = control.ccm_lite {
            p.push((
                "CCM-Lite".into(),
                if lite { "yes".into() } else { "no".into() },
            ));
        }
        for cap in catalog.capabilities_for(&reference) {
            let why = cap
                .links
                .iter()
                .find(|l| l.control == reference)
                .map_or_else(|| "derived link".to_owned(), |l| l.why.clone());
            p.push((format!("capability {}", cap.id), why));
        }
        for (target, ids) in &control.mappings {
            if !ids.is_empty() {
                p.push((format!("maps to {target}"), ids.join(", ")));
            }
        }
        p.push((
            "Specification".into(),
            extra_text.map_or_else(|| "not shipped; import CSA's official file with `shieldwall catalog import-ccm FILE` to see it here".to_owned(), str::to_owned),
        ));
        pairs = p;
    } else {
        return Ok(None);
    }
    Ok(Some(match format {
        Format::Json => json(&value)?,
        Format::Markdown => {
            let mut g = Grid::new(["Field", "Value"]);
            pairs.into_iter().for_each(|(k, v)| g.row(vec![k, v]));
            g.markdown()
        }
        Format::Csv => {
            let mut g = Grid::new(["field", "value"]);
            pairs.into_iter().for_each(|(k, v)| g.row(vec![k, v]));
            g.csv()?
        }
        _ => {
            let width = pairs
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            pairs
                .into_iter()
                .map(|(k, v)| format!("{k:<width$}  {v}\n"))
                .collect()
        }
    }))
}

fn section_list(section: &str, also: &[String]) -> String {
    if also.is_empty() {
        section.to_owned()
    } else {
        format!("{section} (also {})", also.join(", "))
    }
}

/// Finds a control by `FRAMEWORK:ID` or by a bare id (CCM v4.0.13 first, then v3.0.1, then v4.1.0).
pub fn resolve_control<'a>(
    catalog: &'a Catalog,
    id: &str,
) -> Option<&'a shieldwall_catalog::Control> {
    if id.contains(':') {
        return id
            .parse::<ControlRef>()
            .ok()
            .and_then(|r| catalog.control(&r));
    }
    [
        Framework::CcmV4_0_13,
        Framework::CcmV3_0_1,
        Framework::CcmV4_1_0,
    ]
    .into_iter()
    .find_map(|fw| catalog.control(&ControlRef::new(fw, id.to_owned())))
}
