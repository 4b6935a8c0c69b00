//! The responsibility plan of a tenant's stored manifest, computed on demand with the evidence on
//! record: what the API's plan routes and the reports share.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use shieldwall_core::{Evidence, TenantId};
use shieldwall_store::MetaStore;

use crate::api::problem::Problem;

/// Evidence considered for a plan, newest first.
const MAX_EVIDENCE: usize = 100_000;

/// Where a tenant's manifest is kept.
pub fn manifest_path(data_dir: &Path, tenant: &TenantId) -> PathBuf {
    data_dir
        .join("tenants")
        .join(tenant.as_str())
        .join("manifest.toml")
}

fn catalog() -> Result<&'static shieldwall_catalog::Catalog, Problem> {
    shieldwall_catalog::Catalog::embedded().map_err(Problem::internal)
}

/// The plan of a tenant's stored manifest as of a day, with the evidence on record, as its JSON
/// (blocking: reads the manifest and the evidence).
pub fn plan_json(
    data_dir: &Path,
    meta: &dyn MetaStore,
    tenant: &TenantId,
    as_of: Date,
) -> Result<serde_json::Value, Problem> {
    let path = manifest_path(data_dir, tenant);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Problem::not_found(format!(
                "tenant {tenant} has no manifest yet: PUT one to /api/v1/tenants/{tenant}/manifest"
            )));
        }
        Err(e) => return Err(Problem::internal(e)),
    };
    let manifest =
        shieldwall_plan::manifest::parse("manifest.toml", &text, catalog()?).map_err(|e| {
            Problem::internal(format!(
                "the stored manifest of {tenant} no longer reads: {e}"
            ))
        })?;
    let evidence: Vec<Evidence> = meta
        .evidence(tenant, None, MAX_EVIDENCE)?
        .into_iter()
        .map(|e| e.evidence)
        .collect();
    let options = shieldwall_plan::PlanOptions::new(as_of);
    let plan = shieldwall_plan::plan(catalog()?, &manifest, &evidence, &options)
        .map_err(|e| Problem::invalid(e.to_string()))?;
    serde_json::to_value(&plan).map_err(Problem::internal)
}
