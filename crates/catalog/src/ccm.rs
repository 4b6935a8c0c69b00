//! The CSA Cloud Controls Matrix reference data: ids, domains, titles, ownership and crosswalks of
//! v3.0.1, v4.0.13 and v4.1.0, embedded from `data/ccm/`. Never the control text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shieldwall_core::Framework;

use crate::{
    CatalogError,
    model::{ControlOwnership, PerModel},
};

/// A CCM domain of one framework version.
#[derive(Debug, Clone, Serialize)]
pub struct Domain {
    /// Framework version.
    pub framework: Framework,
    /// Domain code, e.g. `LOG`.
    pub code: String,
    /// Domain name.
    pub name: String,
    /// Number of controls the source says it has.
    pub control_count: usize,
}

/// A CCM control of one framework version.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    /// Framework version.
    pub framework: Framework,
    /// Control id, e.g. `LOG-05`.
    pub id: String,
    /// Domain code.
    pub domain: String,
    /// Short title.
    pub title: String,
    /// Whether it belongs to CCM-Lite (v4 only).
    pub ccm_lite: Option<bool>,
    /// Owner per service model: v4's `ssrm_*` columns, v3's applicability and derived owner.
    pub ownership: PerModel<ControlOwnership>,
    /// v4.0.13's Implementation Guidelines v2 split, shown beside the owner.
    pub guideline_split: Option<PerModel<SplitLabel>>,
    /// Architectural relevance: physical, network, compute, storage, app, data.
    pub architecture: Vec<String>,
    /// Crosswalks by target key (`ccm-3.0.1`, `nist-800-53r5`, `iso-27001-2022`, ...).
    pub mappings: BTreeMap<String, Vec<String>>,
    /// v4.0.13's gap level against v3.0.1.
    pub v3_gap: Option<String>,
}

/// The Implementation Guidelines v2 ownership labels of CCM v4.0.13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitLabel {
    /// `Shared (Independent)`: each party does its part alone.
    SharedIndependent,
    /// `Shared (Dependent)`: one party's part depends on the other's.
    SharedDependent,
    /// `CSP-Owned`.
    CspOwned,
}

impl SplitLabel {
    /// The label as CSA writes it.
    pub fn label(self) -> &'static str {
        match self {
            SplitLabel::SharedIndependent => "Shared (Independent)",
            SplitLabel::SharedDependent => "Shared (Dependent)",
            SplitLabel::CspOwned => "CSP-Owned",
        }
    }
}

#[derive(Debug)]
pub(crate) struct FrameworkData {
    pub domains: Vec<Domain>,
    pub controls: Vec<Control>,
}

const V4_0_13_CONTROLS: &str = include_str!("../data/ccm/csa-ccm-v4.0.13-controls-ssrm.csv");
const V4_0_13_DOMAINS: &str = include_str!("../data/ccm/csa-ccm-v4.0.13-domains.csv");
const V3_0_1_CONTROLS: &str = include_str!("../data/ccm/csa-ccm-v3.0.1-controls.csv");
const V3_0_1_DOMAINS: &str = include_str!("../data/ccm/csa-ccm-v3.0.1-domains.csv");
const V4_1_0_CONTROLS: &str = include_str!("../data/ccm/csa-ccm-v4.1.0-controls-ssrm.csv");

/// The embedded CSV files with their names, for the drift check against the shared copy.
pub const EMBEDDED_FILES: [(&str, &str); 6] = [
    ("csa-ccm-v4.0.13-controls-ssrm.csv", V4_0_13_CONTROLS),
    ("csa-ccm-v4.0.13-domains.csv", V4_0_13_DOMAINS),
    ("csa-ccm-v3.0.1-controls.csv", V3_0_1_CONTROLS),
    ("csa-ccm-v3.0.1-domains.csv", V3_0_1_DOMAINS),
    ("csa-ccm-v4.1.0-controls-ssrm.csv", V4_1_0_CONTROLS),
    (
        "csa-ccm-v4.1.0-to-v4.0.13-by-title.csv",
        include_str!("../data/ccm/csa-ccm-v4.1.0-to-v4.0.13-by-title.csv"),
    ),
];

#[derive(Deserialize)]
struct DomainRow {
    domain_code: String,
    domain_name: String,
    control_count: usize,
}

#[derive(Deserialize)]
struct V4Row {
    control_id: String,
    domain_code: String,
    control_title: String,
    ccm_lite: String,
    ssrm_iaas: String,
    ssrm_paas: String,
    ssrm_saas: String,
    ig2_ownership_iaas: String,
    ig2_ownership_paas: String,
    ig2_ownership_saas: String,
    arch_phys: String,
    arch_network: String,
    arch_compute: String,
    arch_storage: String,
    arch_app: String,
    arch_data: String,
    map_ccm_v3_0_1: String,
    map_ccm_v3_0_1_gap: String,
    map_nist_800_53r5: String,
    map_iso27001_2022: String,
    map_nist_csf_2_0: String,
    map_cis_v8: String,
}

#[derive(Deserialize)]
struct V41Row {
    control_id: String,
    domain_code: String,
    domain_name: String,
    control_title: String,
    ccm_lite: String,
    ssrm_iaas: String,
    ssrm_paas: String,
    ssrm_saas: String,
    arch_physical: String,
    arch_network: String,
    arch_compute: String,
    arch_storage: String,
    arch_app: String,
    arch_data: String,
}

#[derive(Deserialize)]
struct V3Row {
    control_id: String,
    domain_code: String,
    control_title: String,
    applies_iaas: String,
    applies_paas: String,
    applies_saas: String,
    derived_owner: String,
    arch_phys: String,
    arch_network: String,
    arch_compute: String,
    arch_storage: String,
    arch_app: String,
    arch_data: String,
    map_nist_800_53_r3: String,
    map_iso27001_2013: String,
}

fn rows<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, CatalogError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| CatalogError::Data {
                file,
                // Header is line 1; quoted newlines do not occur in these files.
                line: i + 2,
                message: e.to_string(),
            })
        })
        .collect()
}

fn flag(file: &'static str, line: usize, value: &str) -> Result<bool, CatalogError> {
    match value {
        "TRUE" | "True" | "Yes" => Ok(true),
        "FALSE" | "False" | "No" => Ok(false),
        other => Err(CatalogError::Data {
            file,
            line,
            message: format!("expected a yes/no flag, found {other:?}"),
        }),
    }
}

fn v4_owner(
    file: &'static str,
    line: usize,
    value: &str,
) -> Result<ControlOwnership, CatalogError> {
    match value {
        "CSP-Owned" => Ok(ControlOwnership::CspOwned),
        "Shared" => Ok(ControlOwnership::Shared),
        "CSC-Owned" => Ok(ControlOwnership::CscOwned),
        other => Err(CatalogError::Data {
            file,
            line,
            message: format!("unknown ownership {other:?}"),
        }),
    }
}

fn split_label(file: &'static str, line: usize, value: &str) -> Result<SplitLabel, CatalogError> {
    match value {
        "Shared (Independent)" => Ok(SplitLabel::SharedIndependent),
        "Shared (Dependent)" => Ok(SplitLabel::SharedDependent),
        "CSP-Owned" => Ok(SplitLabel::CspOwned),
        other => Err(CatalogError::Data {
            file,
            line,
            message: format!("unknown implementation-guidelines ownership {other:?}"),
        }),
    }
}

fn id_list(value: &str) -> Vec<String> {
    if value.trim().is_empty() || value.trim() == "No Mapping" {
        return Vec::new();
    }
    value
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn architecture(
    file: &'static str,
    line: usize,
    flags: [&str; 6],
) -> Result<Vec<String>, CatalogError> {
    const NAMES: [&str; 6] = ["physical", "network", "compute", "storage", "app", "data"];
    let mut out = Vec::new();
    for (name, value) in NAMES.iter().zip(flags) {
        if flag(file, line, value)? {
            out.push((*name).to_owned());
        }
    }
    Ok(out)
}

fn domains(
    framework: Framework,
    file: &'static str,
    text: &str,
) -> Result<Vec<Domain>, CatalogError> {
    Ok(rows::<DomainRow>(file, text)?
        .into_iter()
        .map(|r| Domain {
            framework,
            code: r.domain_code,
            name: r.domain_name,
            control_count: r.control_count,
        })
        .collect())
}

pub(crate) fn load_v4_0_13() -> Result<FrameworkData, CatalogError> {
    const FILE: &str = "csa-ccm-v4.0.13-controls-ssrm.csv";
    let mut controls = Vec::new();
    for (i, r) in rows::<V4Row>(FILE, V4_0_13_CONTROLS)?
        .into_iter()
        .enumerate()
    {
        let line = i + 2;
        let mut mappings = BTreeMap::new();
        mappings.insert("ccm-3.0.1".to_owned(), id_list(&r.map_ccm_v3_0_1));
        mappings.insert("nist-800-53r5".to_owned(), id_list(&r.map_nist_800_53r5));
        mappings.insert("iso-27001-2022".to_owned(), id_list(&r.map_iso27001_2022));
        mappings.insert("nist-csf-2.0".to_owned(), id_list(&r.map_nist_csf_2_0));
        mappings.insert("cis-v8".to_owned(), id_list(&r.map_cis_v8));
        controls.push(Control {
            framework: Framework::CcmV4_0_13,
            ccm_lite: Some(flag(FILE, line, &r.ccm_lite)?),
            ownership: PerModel {
                iaas: v4_owner(FILE, line, &r.ssrm_iaas)?,
                paas: v4_owner(FILE, line, &r.ssrm_paas)?,
                saas: v4_owner(FILE, line, &r.ssrm_saas)?,
            },
            guideline_split: Some(PerModel {
                iaas: split_label(FILE, line, &r.ig2_ownership_iaas)?,
                paas: split_label(FILE, line, &r.ig2_ownership_paas)?,
                saas: split_label(FILE, line, &r.ig2_ownership_saas)?,
            }),
            architecture: architecture(
                FILE,
                line,
                [
                    &r.arch_phys,
                    &r.arch_network,
                    &r.arch_compute,
                    &r.arch_storage,
                    &r.arch_app,
                    &r.arch_data,
                ],
            )?,
            mappings,
            v3_gap: Some(r.map_ccm_v3_0_1_gap),
            id: r.control_id,
            domain: r.domain_code,
            title: r.control_title,
        });
    }
    Ok(FrameworkData {
        domains: domains(
            Framework::CcmV4_0_13,
            "csa-ccm-v4.0.13-domains.csv",
            V4_0_13_DOMAINS,
        )?,
        controls,
    })
}

pub(crate) fn load_v3_0_1() -> Result<FrameworkData, CatalogError> {
    const FILE: &str = "csa-ccm-v3.0.1-controls.csv";
    let mut controls = Vec::new();
    for (i, r) in rows::<V3Row>(FILE, V3_0_1_CONTROLS)?
        .into_iter()
        .enumerate()
    {
        let line = i + 2;
        let owner = match r.derived_owner.as_str() {
            "CSP" => ControlOwnership::CspOwned,
            "Shared" => ControlOwnership::Shared,
            "Consumer" | "CSC" => ControlOwnership::CscOwned,
            "UNSPECIFIED_IN_SOURCE" => ControlOwnership::Unspecified,
            other => {
                return Err(CatalogError::Data {
                    file: FILE,
                    line,
                    message: format!("unknown derived owner {other:?}"),
                });
            }
        };
        let per = |applies: &str| -> Result<ControlOwnership, CatalogError> {
            // A row without an owner is blank in the source, applicability flags included.
            Ok(
                if owner == ControlOwnership::Unspecified || flag(FILE, line, applies)? {
                    owner
                } else {
                    ControlOwnership::NotApplicable
                },
            )
        };
        let mut mappings = BTreeMap::new();
        mappings.insert("nist-800-53r3".to_owned(), id_list(&r.map_nist_800_53_r3));
        mappings.insert("iso-27001-2013".to_owned(), id_list(&r.map_iso27001_2013));
        controls.push(Control {
            framework: Framework::CcmV3_0_1,
            ccm_lite: None,
            ownership: PerModel {
                iaas: per(&r.applies_iaas)?,
                paas: per(&r.applies_paas)?,
                saas: per(&r.applies_saas)?,
            },
            guideline_split: None,
            architecture: architecture(
                FILE,
                line,
                [
                    &r.arch_phys,
                    &r.arch_network,
                    &r.arch_compute,
                    &r.arch_storage,
                    &r.arch_app,
                    &r.arch_data,
                ],
            )?,
            mappings,
            v3_gap: None,
            id: r.control_id,
            domain: r.domain_code,
            title: r.control_title,
        });
    }
    Ok(FrameworkData {
        domains: domains(
            Framework::CcmV3_0_1,
            "csa-ccm-v3.0.1-domains.csv",
            V3_0_1_DOMAINS,
        )?,
        controls,
    })
}

pub(crate) fn load_v4_1_0() -> Result<FrameworkData, CatalogError> {
    const FILE: &str = "csa-ccm-v4.1.0-controls-ssrm.csv";
    let mut controls = Vec::new();
    let mut domains: Vec<Domain> = Vec::new();
    for (i, r) in rows::<V41Row>(FILE, V4_1_0_CONTROLS)?
        .into_iter()
        .enumerate()
    {
        let line = i + 2;
        // v4.1.0 ships no domains file: derive the list, in first-seen order.
        match domains.iter_mut().find(|d| d.code == r.domain_code) {
            Some(d) => d.control_count += 1,
            None => domains.push(Domain {
                framework: Framework::CcmV4_1_0,
                code: r.domain_code.clone(),
                name: r.domain_name.clone(),
                control_count: 1,
            }),
        }
        controls.push(Control {
            framework: Framework::CcmV4_1_0,
            ccm_lite: Some(flag(FILE, line, &r.ccm_lite)?),
            ownership: PerModel {
                iaas: v4_owner(FILE, line, &r.ssrm_iaas)?,
                paas: v4_owner(FILE, line, &r.ssrm_paas)?,
                saas: v4_owner(FILE, line, &r.ssrm_saas)?,
            },
            guideline_split: None,
            architecture: architecture(
                FILE,
                line,
                [
                    &r.arch_physical,
                    &r.arch_network,
                    &r.arch_compute,
                    &r.arch_storage,
                    &r.arch_app,
                    &r.arch_data,
                ],
            )?,
            mappings: BTreeMap::new(),
            v3_gap: None,
            id: r.control_id,
            domain: r.domain_code,
            title: r.control_title,
        });
    }
    Ok(FrameworkData { domains, controls })
}
