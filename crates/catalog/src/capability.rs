//! Security capabilities (the features and functions of section 3.2) and their links to CCM
//! controls, as loaded from `data/capabilities.toml`.

use serde::{Deserialize, Serialize};
use shieldwall_core::ControlRef;

use crate::model::{Owner, PerModel};

/// A security capability: one numbered subsection of 3.2, or a part the case study buys separately.
#[derive(Debug, Clone, Serialize)]
pub struct Capability {
    /// Id, e.g. `waf`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The technology category, derived from the area.
    pub category: String,
    /// The figure 3-1 area whose owner the capability follows, unless `owners` overrides it.
    pub area: String,
    /// Owner per model where it differs from the area's, with the reason.
    pub owners: Option<OwnerOverride>,
    /// The capability it is part of, for the parts of 3.2.2.2 and 3.2.5.
    pub parent: Option<String>,
    /// The guideline section it comes from.
    pub section: String,
    /// Other sections that discuss it.
    pub also: Vec<String>,
    /// What it must do.
    pub requirement: String,
    /// How to implement it.
    pub implementation: String,
    /// Kinds of third-party service that can supply it.
    pub service_types: Vec<String>,
    /// Shieldwall modules that can produce evidence for it.
    pub modules: Vec<String>,
    /// Our mapping to CCM v4.0.13, each link with its rationale.
    pub links: Vec<ControlLink>,
    /// CCM v3.0.1 controls derived from `links` through the v4.0.13 crosswalk column.
    pub derived: Vec<DerivedLink>,
}

impl Capability {
    /// Every control the capability serves, in v4.0.13 then the derived v3.0.1.
    pub fn controls(&self) -> impl Iterator<Item = &ControlRef> {
        self.links
            .iter()
            .map(|l| &l.control)
            .chain(self.derived.iter().map(|d| &d.control))
    }
}

/// A capability whose owner differs from its area's, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerOverride {
    /// Owner per service model.
    #[serde(flatten)]
    pub owners: PerModel<Owner>,
    /// Why it differs from the area.
    pub reasoning: String,
}

/// A link from a capability to a control, with the reason for it.
#[derive(Debug, Clone, Serialize)]
pub struct ControlLink {
    /// The control.
    pub control: ControlRef,
    /// Why the capability helps fulfil it.
    pub why: String,
}

/// A link derived through a crosswalk rather than authored.
#[derive(Debug, Clone, Serialize)]
pub struct DerivedLink {
    /// The derived control.
    pub control: ControlRef,
    /// The authored control it was derived from.
    pub via: ControlRef,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapabilitiesFile {
    pub capability: Vec<CapabilityEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapabilityEntry {
    pub id: String,
    pub name: String,
    pub area: String,
    #[serde(default)]
    pub owners: Option<OwnerOverride>,
    #[serde(default)]
    pub parent: Option<String>,
    pub section: String,
    #[serde(default)]
    pub also: Vec<String>,
    pub requirement: String,
    pub implementation: String,
    pub service_types: Vec<String>,
    pub modules: Vec<String>,
    pub controls: Vec<LinkEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkEntry {
    pub id: String,
    pub why: String,
}
