//! The guideline's entries: parties, models, categories and areas, responsibilities, third-party
//! service types and Shieldwall modules, as loaded from `data/guideline.toml`.

use serde::{Deserialize, Serialize};

use crate::model::{DeploymentModel, Owner, PerModel, ServiceModel};

/// A party of the shared responsibility model (sections 2.1 and 2.6).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// `csp`, `customer` or `third-party`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
    /// What the party does, in our words.
    pub summary: String,
}

/// A service model's description.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceModelInfo {
    /// The model.
    pub id: ServiceModel,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
    /// What it means for the split of duties.
    pub summary: String,
}

/// A deployment model's description.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentModelInfo {
    /// The model.
    pub id: DeploymentModel,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
    /// What it is.
    pub summary: String,
}

/// A technology category of figure 3-1.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Id, e.g. `host`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
}

/// One row of figure 3-1: a technology area within a category, with its owner per model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Id, e.g. `virtual-network`.
    pub id: String,
    /// The category it belongs to.
    pub category: String,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
    /// Owner per service model.
    pub owners: PerModel<Owner>,
    /// How the owners were derived from sections 2.2 to 2.5.
    pub reasoning: String,
}

/// A security responsibility of sections 2.2 to 2.5.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Responsibility {
    /// Id, e.g. `R-DATA`.
    pub id: String,
    /// The section it is first listed in.
    pub section: String,
    /// Further sections that list it.
    #[serde(default)]
    pub also: Vec<String>,
    /// The duty, in our words.
    pub summary: String,
    /// Owner per service model.
    pub owners: PerModel<Owner>,
    /// Why those owners.
    pub reasoning: String,
}

/// A kind of service a third party can supply (sections 2.6 and 3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceType {
    /// Id, e.g. `cloud-waf`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Guideline section.
    pub section: String,
}

/// A Shieldwall module that can produce evidence for capabilities.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Id, e.g. `baseline`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The guideline section it implements.
    pub section: String,
    /// Whether this build ships the module.
    pub available: bool,
}

/// The file `data/guideline.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GuidelineFile {
    pub party: Vec<Party>,
    pub service_model: Vec<ServiceModelInfo>,
    pub deployment_model: Vec<DeploymentModelInfo>,
    pub category: Vec<Category>,
    pub area: Vec<Area>,
    pub responsibility: Vec<Responsibility>,
    pub service_type: Vec<ServiceType>,
    pub module: Vec<Module>,
}
