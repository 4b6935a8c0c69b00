//! The subcommands: read inputs, call the libraries, write outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::{Timestamp, civil::Date, tz::TimeZone};
use shieldwall_catalog::{Catalog, suggest};
use shieldwall_core::{Evidence, Framework};
use shieldwall_plan::{
    Format, PlanOptions,
    manifest::{self, MAX_MANIFEST_BYTES},
    render::{
        catalog::{Listing, render_entry, render_listing},
        oscal::{self, OscalDocument},
    },
};

use crate::{
    args::{
        AnyFramework, CatalogCommand, Cli, Command, CoverageFramework, ListFormat, PlanArgs,
        PlanFormat, SchemaKind,
    },
    output::{emit, emit_files, print, read_input},
};

/// The largest evidence file read in one go.
const MAX_EVIDENCE_BYTES: usize = 256 * 1024 * 1024;

pub fn run(cli: Cli) -> Result<()> {
    let catalog = Catalog::embedded().context("the catalog built into this binary is broken")?;
    match cli.command {
        Command::Plan(args) => plan(catalog, args),
        Command::Catalog { command } => catalog_command(catalog, command),
        Command::Parse(args) => crate::logs::parse(args),
        Command::Serve(args) => crate::serve::serve(args),
        Command::Import(args) => crate::serve::import(args),
        Command::Search(args) => crate::events::search(args),
        Command::Stats(args) => crate::events::stats(args),
        Command::Export(args) => crate::events::export(args),
        Command::Store { command } => crate::store_cmd::run(command),
        Command::Rules { command } => crate::rules::run(command),
        Command::Alerts { command } => crate::alerts::run(command),
        Command::Admin { command } => crate::admin::run(command),
        Command::Audit { command } => crate::audit::run(command),
        Command::Check { command } => crate::check::run(command),
        Command::Schema {
            which: SchemaKind::Manifest,
            ..
        } => emit(&shieldwall_plan::manifest_schema(), None),
        Command::Schema {
            which: SchemaKind::Openapi,
            against,
        } => openapi(against.as_deref()),
    }
}

/// Prints the OpenAPI document; with `against`, first refuses breaking changes from that copy.
fn openapi(against: Option<&std::path::Path>) -> Result<()> {
    let text = shieldwall_server::api::openapi_json();
    if let Some(path) = against {
        let old: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not JSON", path.display()))?;
        let new: serde_json::Value = serde_json::from_str(&text)?;
        let breaking = shieldwall_server::api::compat::breaking_changes(&old, &new);
        if !breaking.is_empty() {
            bail!(
                "the API changed incompatibly from {}:\n  {}\n(keep the old behaviour, or version the route)",
                path.display(),
                breaking.join("\n  ")
            );
        }
    }
    print!("{text}");
    Ok(())
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
        PlanFormat::OscalSsp => Format::OscalSsp,
        PlanFormat::OscalComponent => Format::OscalComponent,
        PlanFormat::OscalCatalog => Format::OscalCatalog,
        PlanFormat::OscalProfile => Format::OscalProfile,
    };
    // Render everything before writing anything, so a failure leaves no partial output.
    let text = shieldwall_plan::render(&report, catalog, format)?;
    let mut files = match &args.oscal_dir {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--oscal-dir {}: not an existing directory", dir.display());
            }
            OscalDocument::ALL
                .iter()
                .map(|(doc, name)| Ok((dir.join(name), oscal::render(&report, catalog, *doc)?)))
                .collect::<Result<Vec<_>>>()?
        }
        None => Vec::new(),
    };
    match &args.output {
        Some(path) => {
            files.push((path.clone(), text));
            emit_files(&files)
        }
        None => {
            emit_files(&files)?;
            print(&text)
        }
    }
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

fn framework_of(f: AnyFramework) -> Framework {
    match f {
        AnyFramework::Ccm4013 => Framework::CcmV4_0_13,
        AnyFramework::Ccm301 => Framework::CcmV3_0_1,
        AnyFramework::Ccm410 => Framework::CcmV4_1_0,
    }
}

/// The data directory: the flag, else $SHIELDWALL_DATA_DIR, else $XDG_DATA_HOME/shieldwall, else
/// ~/.local/share/shieldwall.
fn data_dir(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("SHIELDWALL_DATA_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = env("XDG_DATA_HOME") {
        return Ok(dir.join("shieldwall"));
    }
    match env("HOME") {
        Some(home) => Ok(home.join(".local/share/shieldwall")),
        None => bail!("no data directory: pass --data-dir or set SHIELDWALL_DATA_DIR"),
    }
}

/// How many of `ids` each framework knows; the best framework must know at least 80% of them.
fn recognise_framework(catalog: &Catalog, ids: &[&str]) -> Result<Framework> {
    let known = |fw: Framework| {
        ids.iter()
            .filter(|id| {
                catalog
                    .control(&shieldwall_core::ControlRef::new(fw, (**id).to_owned()))
                    .is_some()
            })
            .count()
    };
    let scored: Vec<(Framework, usize)> =
        Framework::ALL.iter().map(|fw| (*fw, known(*fw))).collect();
    // Ties go to the earlier version in Framework::ALL (v4.0.13 first).
    let (best, hits) = scored
        .iter()
        .copied()
        .fold((Framework::CcmV4_0_13, 0), |acc, x| {
            if x.1 > acc.1 { x } else { acc }
        });
    if hits * 5 < ids.len() * 4 {
        let summary: Vec<String> = scored.iter().map(|(fw, n)| format!("{fw}: {n}")).collect();
        bail!(
            "cannot tell which CCM version this file holds: of its {} control ids, the versions know {}; pass --framework",
            ids.len(),
            summary.join(", ")
        );
    }
    let tied: Vec<String> = scored
        .iter()
        .filter(|(fw, n)| *fw != best && *n == hits)
        .map(|(fw, _)| fw.to_string())
        .collect();
    if !tied.is_empty() {
        eprintln!(
            "note: the ids fit {best} and {} equally; taking {best} (pass --framework to choose)",
            tied.join(", ")
        );
    }
    Ok(best)
}

fn import_ccm(catalog: &Catalog, args: crate::args::ImportArgs) -> Result<()> {
    let imported = shieldwall_ccm_import::read_ccm_file(&args.file)?;
    let ids: Vec<&str> = imported.controls.iter().map(|c| c.id.as_str()).collect();
    let framework = match args.framework {
        Some(f) => framework_of(f),
        None => recognise_framework(catalog, &ids)?,
    };
    let unknown: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| {
            catalog
                .control(&shieldwall_core::ControlRef::new(
                    framework,
                    (*id).to_owned(),
                ))
                .is_none()
        })
        .collect();
    let dir = data_dir(args.data_dir.as_deref())?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    let store = shieldwall_ccm_import::TextStore::open(&dir)?;
    let path = store.save(framework.key(), &imported)?;
    let mut message = format!(
        "imported the text of {} {} controls into {}",
        ids.len(),
        framework,
        path.display()
    );
    if !unknown.is_empty() {
        let shown: Vec<&str> = unknown.iter().copied().take(10).collect();
        message.push_str(&format!(
            "\nwarning: {} id(s) are not {} controls and will not be shown: {}{}",
            unknown.len(),
            framework,
            shown.join(", "),
            if unknown.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    let missing = catalog
        .controls(framework)
        .len()
        .saturating_sub(ids.len() - unknown.len());
    if missing > 0 {
        message.push_str(&format!(
            "\nnote: {missing} {framework} control(s) have no text in this file"
        ));
    }
    eprintln!("{message}");
    Ok(())
}

/// The imported specification of a control id, if the user imported CSA's file.
fn imported_text(catalog: &Catalog, id: &str, dir: Option<&Path>) -> Result<Option<String>> {
    let Some(control) = shieldwall_plan::render::catalog::resolve_control(catalog, id) else {
        return Ok(None);
    };
    let dir = data_dir(dir)?;
    if !dir.join("ccm-text").is_dir() {
        return Ok(None);
    }
    let store = shieldwall_ccm_import::TextStore::open(&dir)?;
    Ok(store
        .lookup(control.framework.key(), &control.id)?
        .map(|t| t.specification))
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
        CatalogCommand::Controls(a) => (Listing::Controls(framework_of(a.framework)), a.format),
        CatalogCommand::ImportCcm(a) => return import_ccm(catalog, a),
        CatalogCommand::Show(a) => {
            let specification = imported_text(catalog, &a.id, a.data_dir.as_deref())?;
            let text = render_entry(
                catalog,
                &a.id,
                list_format(a.format),
                specification.as_deref(),
            )?;
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
