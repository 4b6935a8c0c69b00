//! The subcommands: read inputs, call the libraries, write outputs.

use std::path::Path;

use anyhow::{Context, Result, bail};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use shieldwall_catalog::{Catalog, suggest};
use shieldwall_core::{Evidence, Framework};
use shieldwall_plan::{
    Format, PlanOptions,
    manifest::{self, MAX_MANIFEST_BYTES},
    render::catalog::{Listing, render_entry, render_listing},
};

use crate::{
    args::{
        AnyFramework, CatalogCommand, Cli, Command, CoverageFramework, ListFormat, PlanArgs,
        PlanFormat, SchemaKind,
    },
    output::{emit, read_input},
};

/// The largest evidence file read in one go.
const MAX_EVIDENCE_BYTES: usize = 256 * 1024 * 1024;

pub fn run(cli: Cli) -> Result<()> {
    let catalog = Catalog::embedded().context("the catalog built into this binary is broken")?;
    match cli.command {
        Command::Plan(args) => plan(catalog, args),
        Command::Catalog { command } => catalog_command(catalog, command),
        Command::Schema {
            which: SchemaKind::Manifest,
        } => emit(&shieldwall_plan::manifest_schema(), None),
    }
}

fn plan(catalog: &Catalog, args: PlanArgs) -> Result<()> {
    let as_of = match &args.as_of {
        Some(text) => parse_date(text).with_context(|| format!("--as-of {text:?}"))?,
        None => Timestamp::now().to_zoned_datetime(TimeZone::UTC).date(),
    };
    let file = args.manifest.display().to_string();
    let source = read_input(&args.manifest, MAX_MANIFEST_BYTES)?;
    let manifest = manifest::parse(&file, &source, catalog)?;
    let evidence = match &args.evidence {
        Some(path) => read_evidence(path)?,
        None => Vec::new(),
    };
    let mut options = PlanOptions::new(as_of);
    options.framework = match args.framework {
        CoverageFramework::Ccm4013 => Framework::CcmV4_0_13,
        CoverageFramework::Ccm301 => Framework::CcmV3_0_1,
    };
    options.evidence_max_age_days = args.evidence_max_age;
    let report = shieldwall_plan::plan(catalog, &manifest, &evidence, &options)?;
    let format = match args.format {
        PlanFormat::Table => Format::Table,
        PlanFormat::Json => Format::Json,
        PlanFormat::Md => Format::Markdown,
        PlanFormat::Html => Format::Html,
        PlanFormat::Csv => Format::Csv,
    };
    let text = shieldwall_plan::render(&report, catalog, format)?;
    emit(&text, args.output.as_deref())
}

fn parse_date(text: &str) -> Result<Date> {
    if text.len() != 10 {
        bail!("expected a date such as 2026-03-31");
    }
    text.parse::<Date>()
        .map_err(|e| anyhow::anyhow!("expected a date such as 2026-03-31 ({e})"))
}

fn read_evidence(path: &Path) -> Result<Vec<Evidence>> {
    let text = read_input(path, MAX_EVIDENCE_BYTES)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Evidence = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not an evidence record", path.display(), i + 1))?;
        out.push(record);
    }
    Ok(out)
}

fn list_format(format: ListFormat) -> Format {
    match format {
        ListFormat::Table => Format::Table,
        ListFormat::Json => Format::Json,
        ListFormat::Md => Format::Markdown,
        ListFormat::Csv => Format::Csv,
    }
}

fn catalog_command(catalog: &Catalog, command: CatalogCommand) -> Result<()> {
    let (listing, format) = match command {
        CatalogCommand::Capabilities(a) => (Listing::Capabilities, a.format),
        CatalogCommand::Responsibilities(a) => (Listing::Responsibilities, a.format),
        CatalogCommand::Categories(a) => (Listing::Categories, a.format),
        CatalogCommand::Controls(a) => {
            let fw = match a.framework {
                AnyFramework::Ccm4013 => Framework::CcmV4_0_13,
                AnyFramework::Ccm301 => Framework::CcmV3_0_1,
                AnyFramework::Ccm410 => Framework::CcmV4_1_0,
            };
            (Listing::Controls(fw), a.format)
        }
        CatalogCommand::Show(a) => {
            let text = render_entry(catalog, &a.id, list_format(a.format), None)?;
            return match text {
                Some(text) => emit(&text, None),
                None => match suggest(&a.id, catalog.all_ids()) {
                    Some(s) => bail!(
                        "nothing in the catalog has the id {:?}; did you mean {s:?}?",
                        a.id
                    ),
                    None => bail!(
                        "nothing in the catalog has the id {:?}; list ids with `shieldwall catalog capabilities` or `shieldwall catalog controls`",
                        a.id
                    ),
                },
            };
        }
    };
    emit(
        &render_listing(catalog, listing, list_format(format))?,
        None,
    )
}
