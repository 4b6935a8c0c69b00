//! The guideline's responsibility model and the CSA CCM reference data, embedded at build time.
//!
//! `shieldwall-catalog` owns what the product knows before it sees a deployment: the parties,
//! service and deployment models, the responsibilities of sections 2.2 to 2.5 with their owner per
//! model, the technology categories and areas of figure 3-1, the security capabilities of section
//! 3.2 with our mapping to CCM v4.0.13 controls (each link with its rationale, v3.0.1 links derived
//! through CSA's crosswalk), the third-party service types of 3.3, and the CCM ids, domains, titles,
//! ownership and crosswalks of v3.0.1, v4.0.13 and v4.1.0. It never holds CCM control text.
//!
//! Every entry cites the guideline section it comes from; the wording is ours. The catalog is
//! parsed once from embedded files and validated as a whole: a dangling reference is a load error,
//! not a silent gap.
//!
//! ```
//! use shieldwall_catalog::{Catalog, ServiceModel, Owner};
//! use shieldwall_core::Framework;
//!
//! let catalog = Catalog::embedded().unwrap();
//! let waf = catalog.capability("waf").unwrap();
//! assert_eq!(catalog.capability_owner(waf, ServiceModel::Iaas), Some(Owner::Customer));
//! assert_eq!(catalog.controls(Framework::CcmV4_0_13).len(), 197);
//! ```

pub mod attack;
mod capability;
mod ccm;
mod guideline;
mod model;
mod suggest;

use std::{collections::BTreeSet, sync::OnceLock};

use shieldwall_core::{ControlRef, Framework};

pub use capability::{Capability, ControlLink, DerivedLink, OwnerOverride};
pub use ccm::{Control, Domain, EMBEDDED_FILES as EMBEDDED_CCM_FILES, SplitLabel};
pub use guideline::{
    Area, Category, DeploymentModelInfo, Module, Party, Responsibility, ServiceModelInfo,
    ServiceType,
};
pub use model::{ControlOwnership, DeploymentModel, Owner, PerModel, ServiceModel};
pub use suggest::suggest;

/// The guideline data file, embedded.
pub const GUIDELINE_TOML: &str = include_str!("../data/guideline.toml");
/// The capability data file, embedded.
pub const CAPABILITIES_TOML: &str = include_str!("../data/capabilities.toml");

/// Why the embedded catalog could not be loaded. Only a broken build produces these; they are
/// reported rather than panicking so that the binary can say what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CatalogError {
    /// A data file does not parse.
    #[error("catalog data {file}, line {line}: {message}")]
    Data {
        /// The embedded file.
        file: &'static str,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The data parses but is inconsistent.
    #[error("catalog data is inconsistent:\n  {}", .0.join("\n  "))]
    Inconsistent(Vec<String>),
}

/// How a control is served by the catalog's capabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlKind {
    /// At least one capability serves it.
    Technical,
    /// The customer has a part, but no technical capability serves it (policies, people,
    /// contracts): satisfied only by attestation.
    Process,
    /// The provider owns it in every service model: the customer inherits it.
    ProviderOnly,
}

impl ControlKind {
    /// The kebab-case key, as in JSON.
    pub fn key(self) -> &'static str {
        match self {
            ControlKind::Technical => "technical",
            ControlKind::Process => "process",
            ControlKind::ProviderOnly => "provider-only",
        }
    }
}

/// The whole catalog.
#[derive(Debug)]
pub struct Catalog {
    parties: Vec<Party>,
    service_models: Vec<ServiceModelInfo>,
    deployment_models: Vec<DeploymentModelInfo>,
    categories: Vec<Category>,
    areas: Vec<Area>,
    responsibilities: Vec<Responsibility>,
    service_types: Vec<ServiceType>,
    modules: Vec<Module>,
    capabilities: Vec<Capability>,
    frameworks: Vec<(Framework, ccm::FrameworkData)>,
}

impl Catalog {
    /// The catalog embedded in this build, parsed once.
    pub fn embedded() -> Result<&'static Catalog, CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG
            .get_or_init(Catalog::load)
            .as_ref()
            .map_err(Clone::clone)
    }

    fn load() -> Result<Catalog, CatalogError> {
        let guideline: guideline::GuidelineFile = parse_toml("guideline.toml", GUIDELINE_TOML)?;
        let caps: capability::CapabilitiesFile =
            parse_toml("capabilities.toml", CAPABILITIES_TOML)?;
        let frameworks = vec![
            (Framework::CcmV4_0_13, ccm::load_v4_0_13()?),
            (Framework::CcmV3_0_1, ccm::load_v3_0_1()?),
            (Framework::CcmV4_1_0, ccm::load_v4_1_0()?),
        ];
        let mut catalog = Catalog {
            parties: guideline.party,
            service_models: guideline.service_model,
            deployment_models: guideline.deployment_model,
            categories: guideline.category,
            areas: guideline.area,
            responsibilities: guideline.responsibility,
            service_types: guideline.service_type,
            modules: guideline.module,
            capabilities: Vec::new(),
            frameworks,
        };
        let capabilities = caps
            .capability
            .into_iter()
            .map(|entry| catalog.resolve_capability(entry))
            .collect();
        catalog.capabilities = capabilities;
        let problems = catalog.problems();
        if problems.is_empty() {
            Ok(catalog)
        } else {
            Err(CatalogError::Inconsistent(problems))
        }
    }

    fn resolve_capability(&self, entry: capability::CapabilityEntry) -> Capability {
        let category = self
            .area(&entry.area)
            .map(|a| a.category.clone())
            .unwrap_or_default();
        let links: Vec<ControlLink> = entry
            .controls
            .into_iter()
            .map(|l| ControlLink {
                control: ControlRef::new(Framework::CcmV4_0_13, l.id),
                why: l.why,
            })
            .collect();
        let mut derived = Vec::new();
        let mut seen = BTreeSet::new();
        for link in &links {
            let Some(control) = self.control(&link.control) else {
                continue;
            };
            for v3 in control.mappings.get("ccm-3.0.1").into_iter().flatten() {
                let target = ControlRef::new(Framework::CcmV3_0_1, v3.clone());
                if self.control(&target).is_some() && seen.insert(target.clone()) {
                    derived.push(DerivedLink {
                        control: target,
                        via: link.control.clone(),
                    });
                }
            }
        }
        Capability {
            id: entry.id,
            name: entry.name,
            category,
            area: entry.area,
            owners: entry.owners,
            parent: entry.parent,
            section: entry.section,
            also: entry.also,
            requirement: entry.requirement,
            implementation: entry.implementation,
            service_types: entry.service_types,
            modules: entry.modules,
            links,
            derived,
        }
    }

    /// Every inconsistency in the data: duplicate ids, dangling references, links without a
    /// rationale, entries without a section. Empty for a good build.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut dup = |kind: &str, ids: Vec<&str>| {
            let mut seen = BTreeSet::new();
            for id in ids {
                if !seen.insert(id) {
                    out.push(format!("duplicate {kind} id {id:?}"));
                }
            }
        };
        dup(
            "category",
            self.categories.iter().map(|c| c.id.as_str()).collect(),
        );
        dup("area", self.areas.iter().map(|c| c.id.as_str()).collect());
        dup(
            "responsibility",
            self.responsibilities
                .iter()
                .map(|c| c.id.as_str())
                .collect(),
        );
        dup(
            "service type",
            self.service_types.iter().map(|c| c.id.as_str()).collect(),
        );
        dup(
            "module",
            self.modules.iter().map(|c| c.id.as_str()).collect(),
        );
        dup(
            "capability",
            self.capabilities.iter().map(|c| c.id.as_str()).collect(),
        );
        for area in &self.areas {
            if self.category(&area.category).is_none() {
                out.push(format!(
                    "area {} names unknown category {:?}",
                    area.id, area.category
                ));
            }
        }
        for cap in &self.capabilities {
            if self.area(&cap.area).is_none() {
                out.push(format!(
                    "capability {} names unknown area {:?}",
                    cap.id, cap.area
                ));
            }
            if let Some(parent) = &cap.parent
                && self.capability(parent).is_none()
            {
                out.push(format!(
                    "capability {} names unknown parent {parent:?}",
                    cap.id
                ));
            }
            for st in &cap.service_types {
                if self.service_type(st).is_none() {
                    out.push(format!(
                        "capability {} names unknown service type {st:?}",
                        cap.id
                    ));
                }
            }
            if let Some(o) = &cap.owners {
                if o.reasoning.trim().is_empty() {
                    out.push(format!(
                        "capability {} overrides its owners without a reason",
                        cap.id
                    ));
                }
                if self.area(&cap.area).is_some_and(|a| a.owners == o.owners) {
                    out.push(format!(
                        "capability {} overrides its owners with its area's own",
                        cap.id
                    ));
                }
            }
            if cap.service_types.is_empty() {
                out.push(format!("capability {} has no service type", cap.id));
            }
            for m in &cap.modules {
                if self.module(m).is_none() {
                    out.push(format!("capability {} names unknown module {m:?}", cap.id));
                }
            }
            if cap.links.is_empty() {
                out.push(format!("capability {} maps to no control", cap.id));
            }
            let mut seen = BTreeSet::new();
            for link in &cap.links {
                if self.control(&link.control).is_none() {
                    out.push(format!(
                        "capability {} links unknown control {}",
                        cap.id, link.control
                    ));
                }
                if link.why.trim().is_empty() {
                    out.push(format!(
                        "capability {} link to {} has no rationale",
                        cap.id, link.control
                    ));
                }
                if !seen.insert(&link.control) {
                    out.push(format!(
                        "capability {} links {} twice",
                        cap.id, link.control
                    ));
                }
            }
        }
        let sections = self
            .parties
            .iter()
            .map(|p| (&p.id, &p.section))
            .chain(self.categories.iter().map(|c| (&c.id, &c.section)))
            .chain(self.areas.iter().map(|c| (&c.id, &c.section)))
            .chain(self.responsibilities.iter().map(|c| (&c.id, &c.section)))
            .chain(self.service_types.iter().map(|c| (&c.id, &c.section)))
            .chain(self.capabilities.iter().map(|c| (&c.id, &c.section)));
        for (id, section) in sections {
            if !is_section(section) {
                out.push(format!(
                    "entry {id} cites no guideline section (found {section:?})"
                ));
            }
        }
        out
    }

    /// The parties.
    pub fn parties(&self) -> &[Party] {
        &self.parties
    }
    /// The service models.
    pub fn service_models(&self) -> &[ServiceModelInfo] {
        &self.service_models
    }
    /// The deployment models.
    pub fn deployment_models(&self) -> &[DeploymentModelInfo] {
        &self.deployment_models
    }
    /// The technology categories.
    pub fn categories(&self) -> &[Category] {
        &self.categories
    }
    /// The figure 3-1 areas.
    pub fn areas(&self) -> &[Area] {
        &self.areas
    }
    /// The responsibilities.
    pub fn responsibilities(&self) -> &[Responsibility] {
        &self.responsibilities
    }
    /// The third-party service types.
    pub fn service_types(&self) -> &[ServiceType] {
        &self.service_types
    }
    /// Shieldwall's evidence-producing modules.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }
    /// The capabilities, in guideline order.
    pub fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    /// A category by id.
    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.id == id)
    }
    /// An area by id.
    pub fn area(&self, id: &str) -> Option<&Area> {
        self.areas.iter().find(|c| c.id == id)
    }
    /// The areas of a category.
    pub fn areas_of<'a>(&'a self, category: &'a str) -> impl Iterator<Item = &'a Area> {
        self.areas.iter().filter(move |a| a.category == category)
    }
    /// A responsibility by id.
    pub fn responsibility(&self, id: &str) -> Option<&Responsibility> {
        self.responsibilities.iter().find(|c| c.id == id)
    }
    /// A service type by id.
    pub fn service_type(&self, id: &str) -> Option<&ServiceType> {
        self.service_types.iter().find(|c| c.id == id)
    }
    /// A module by id.
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|c| c.id == id)
    }
    /// A capability by id.
    pub fn capability(&self, id: &str) -> Option<&Capability> {
        self.capabilities.iter().find(|c| c.id == id)
    }

    /// Who owns a capability in a service model: its own override if it has one, else the owner
    /// of its figure 3-1 area.
    pub fn capability_owner(&self, capability: &Capability, model: ServiceModel) -> Option<Owner> {
        match &capability.owners {
            Some(o) => Some(o.owners.get(model)),
            None => self.area(&capability.area).map(|a| a.owners.get(model)),
        }
    }

    fn framework(&self, framework: Framework) -> Option<&ccm::FrameworkData> {
        self.frameworks
            .iter()
            .find(|(f, _)| *f == framework)
            .map(|(_, d)| d)
    }

    /// The controls of a framework version, in source order.
    pub fn controls(&self, framework: Framework) -> &[Control] {
        self.framework(framework)
            .map(|d| d.controls.as_slice())
            .unwrap_or_default()
    }

    /// The domains of a framework version.
    pub fn domains(&self, framework: Framework) -> &[Domain] {
        self.framework(framework)
            .map(|d| d.domains.as_slice())
            .unwrap_or_default()
    }

    /// A control by reference.
    pub fn control(&self, reference: &ControlRef) -> Option<&Control> {
        self.controls(reference.framework)
            .iter()
            .find(|c| c.id == reference.id)
    }

    /// The capabilities that serve a control (authored links for v4.0.13, derived for v3.0.1).
    pub fn capabilities_for<'a>(
        &'a self,
        control: &ControlRef,
    ) -> impl Iterator<Item = &'a Capability> + use<'a> {
        let control = control.clone();
        self.capabilities
            .iter()
            .filter(move |c| c.controls().any(|r| *r == control))
    }

    /// How the catalog serves a control.
    pub fn control_kind(&self, control: &Control) -> ControlKind {
        let reference = ControlRef::new(control.framework, control.id.clone());
        if self.capabilities_for(&reference).next().is_some() {
            ControlKind::Technical
        } else if ServiceModel::ALL
            .iter()
            .all(|m| !control.ownership.get(*m).involves_customer())
        {
            ControlKind::ProviderOnly
        } else {
            ControlKind::Process
        }
    }

    /// Every id a user may name in `catalog show`, for suggestions.
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .capabilities
            .iter()
            .map(|c| c.id.clone())
            .chain(self.responsibilities.iter().map(|c| c.id.clone()))
            .chain(self.categories.iter().map(|c| c.id.clone()))
            .chain(self.areas.iter().map(|c| c.id.clone()))
            .chain(self.service_types.iter().map(|c| c.id.clone()))
            .chain(self.modules.iter().map(|c| c.id.clone()))
            .collect();
        for (fw, data) in &self.frameworks {
            ids.extend(
                data.controls
                    .iter()
                    .map(|c| format!("{}:{}", fw.key(), c.id)),
            );
            if *fw == Framework::CcmV4_0_13 {
                ids.extend(data.controls.iter().map(|c| c.id.clone()));
            }
        }
        ids
    }
}

fn parse_toml<T: for<'de> serde::Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<T, CatalogError> {
    toml::from_str(text).map_err(|e| CatalogError::Data {
        file,
        line: e
            .span()
            .map(|s| {
                text.get(..s.start)
                    .unwrap_or_default()
                    .lines()
                    .count()
                    .max(1)
            })
            .unwrap_or(0),
        message: e.message().to_owned(),
    })
}

/// A guideline section number: `2.2.1`, `3.2.5`, `A.2.6.1`.
fn is_section(s: &str) -> bool {
    let body = s.strip_prefix("A.").unwrap_or(s);
    !body.is_empty()
        && body
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
