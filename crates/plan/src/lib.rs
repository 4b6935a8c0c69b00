//! From a deployment manifest to the responsibility plan: who owns what, which capabilities each
//! party owes, which CCM controls they cover, and where the gaps are.
//!
//! `shieldwall-plan` owns the manifest format ([`manifest`]), the planner ([`plan()`]), the gap risk
//! score ([`risk`]) and the renderers of the report ([`render`]), OSCAL included. It reads the
//! catalog and evidence records; it does no I/O of its own: callers pass the manifest text, the
//! evidence and the date, and write the rendered bytes where they like.
//!
//! ```
//! use shieldwall_catalog::Catalog;
//! use shieldwall_plan::{manifest, plan, render, Format, PlanOptions};
//!
//! let catalog = Catalog::embedded().unwrap();
//! let text = r#"
//! deployment = "public"
//! [organisation]
//! name = "Example Ltd"
//! [[workload]]
//! name = "shop"
//! service_model = "saas"
//! provider = "ExampleCloud"
//! data_classification = "internal"
//! internet_facing = true
//! "#;
//! let manifest = manifest::parse("example.toml", text, catalog).unwrap();
//! let as_of = "2026-06-30".parse().unwrap();
//! let report = plan(catalog, &manifest, &[], &PlanOptions::new(as_of)).unwrap();
//! assert!(!report.gaps.is_empty());
//! let json = render(&report, catalog, Format::Json).unwrap();
//! assert!(json.starts_with('{'));
//! ```

pub mod manifest;
mod planner;
pub mod render;
pub mod report;
pub mod risk;

pub use planner::{PlanError, PlanOptions, plan};
pub use render::{Format, RenderError, render};

/// The JSON schema of the manifest, as committed in `schema/manifest.schema.json`.
pub fn manifest_schema() -> String {
    let schema = schemars::schema_for!(manifest::RawManifest);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
