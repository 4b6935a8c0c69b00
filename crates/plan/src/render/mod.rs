//! Renderers of a [`Plan`]: table (terminal), JSON, Markdown, HTML, CSV and OSCAL.
//!
//! Each renderer is a pure function from the report to text, so outputs are reproducible and the
//! golden tests compare them byte for byte.

pub mod catalog;
mod csv;
mod html;
mod markdown;
pub mod oscal;
mod table;
mod text;

use shieldwall_catalog::Catalog;

use crate::report::Plan;

/// An output format of `shieldwall plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text tables for a terminal.
    Table,
    /// The documented JSON report.
    Json,
    /// Markdown.
    Markdown,
    /// One self-contained HTML file.
    Html,
    /// One long-format CSV table.
    Csv,
    /// OSCAL system security plan.
    OscalSsp,
    /// OSCAL component definition of the capabilities.
    OscalComponent,
    /// OSCAL titles-only catalog of the framework.
    OscalCatalog,
    /// OSCAL profile importing the catalog.
    OscalProfile,
}

impl Format {
    /// Every format, in the order of the command line's list.
    pub const ALL: [Format; 9] = [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Csv,
        Format::OscalSsp,
        Format::OscalComponent,
        Format::OscalCatalog,
        Format::OscalProfile,
    ];
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// JSON serialisation failed.
    #[error("could not render JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CSV writing failed.
    #[error("could not render CSV: {0}")]
    Csv(String),
    /// The OSCAL export is impossible for this data.
    #[error("could not render OSCAL: {0}")]
    Oscal(String),
}

/// Renders the plan in `format`.
pub fn render(plan: &Plan, catalog: &Catalog, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Table => Ok(table::render(plan)),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(plan)?;
            s.push('\n');
            Ok(s)
        }
        Format::Markdown => Ok(markdown::render(plan)),
        Format::Html => Ok(html::render(plan, catalog)),
        Format::Csv => csv::render(plan),
        Format::OscalSsp => oscal::render(plan, catalog, oscal::OscalDocument::Ssp),
        Format::OscalComponent => {
            oscal::render(plan, catalog, oscal::OscalDocument::ComponentDefinition)
        }
        Format::OscalCatalog => oscal::render(plan, catalog, oscal::OscalDocument::Catalog),
        Format::OscalProfile => oscal::render(plan, catalog, oscal::OscalDocument::Profile),
    }
}
