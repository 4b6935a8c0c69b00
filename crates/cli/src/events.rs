//! The event commands: `search`, `stats` and `export`, on the store of a data directory, opened
//! for reading (a running server keeps writing meanwhile).

use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::time::Duration;

use anyhow::{Context, Result};
use jiff::Timestamp;
use shieldwall_core::{Event, TenantId};
use shieldwall_query::Aggregation;
use shieldwall_store::events::{AggregationResult, SearchOutcome};
use shieldwall_store::{EventStore, Selection, TantivyStore};

use crate::args::{EventFormat, ExportArgs, SearchArgs, StatsArgs, StoreLocation, TenantRange};

/// The default columns of `search --format table|csv`.
const DEFAULT_FIELDS: &str = "time,source,parser,device.hostname,user.name,src_endpoint.ip,message";

fn open(location: &StoreLocation) -> Result<TantivyStore> {
    let dir = match &location.store {
        Some(dir) => dir.clone(),
        None => crate::store_cmd::data_dir(&location.data)?.join("store"),
    };
    let store = TantivyStore::open_read_only(&dir)
        .with_context(|| format!("opening the event store {}", dir.display()))?;
    for damaged in store.unreadable() {
        eprintln!("warning: left out, cannot be read: {damaged}");
    }
    Ok(store)
}

/// Records a search of the data directory's events in the tenant's audit trail, before it runs
/// (a copied store named with `--store` has no trail to record in).
fn record_search(
    location: &StoreLocation,
    tenant: &TenantId,
    action: &str,
    query: &str,
    range: &TenantRange,
) -> Result<()> {
    if location.store.is_some() {
        return Ok(());
    }
    // Never created here: a data directory without a metadata database has no trail yet.
    let path = crate::store_cmd::data_dir(&location.data)?.join("meta.sqlite");
    if !path.exists() {
        return Ok(());
    }
    let meta = shieldwall_store::meta::SqliteMetaStore::open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    crate::admin::record_local(
        &meta,
        shieldwall_core::Scope::Tenant(tenant.clone()),
        shieldwall_store::meta::AuditKind::Search,
        "events",
        action,
        serde_json::json!({"q": query, "from": range.from, "to": range.to}),
    )?;
    Ok(())
}

fn selection(query: &str, range: &TenantRange) -> Result<(TenantId, Selection)> {
    parse_selection(
        query,
        &range.tenant,
        range.from.as_deref(),
        range.to.as_deref(),
    )
}

/// A tenant and a selection from the command line's query, tenant and times.
pub(crate) fn parse_selection(
    query: &str,
    tenant: &str,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(TenantId, Selection)> {
    let parsed =
        shieldwall_query::parse(query).map_err(|e| anyhow::anyhow!("{}", e.render(query)))?;
    let now = Timestamp::now();
    let time = |text: Option<&str>, flag: &str| -> Result<Option<Timestamp>> {
        text.map(|t| {
            shieldwall_query::parse_time(t, now).map_err(|e| anyhow::anyhow!("{flag} {t:?}: {e}"))
        })
        .transpose()
    };
    let tenant = TenantId::new(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let selection = Selection {
        query: parsed,
        from: time(from, "--from")?,
        to: time(to, "--to")?,
    };
    Ok((tenant, selection))
}

pub fn search(args: SearchArgs) -> Result<()> {
    let store = open(&args.location)?;
    let (tenant, selection) = selection(&args.query, &args.range)?;
    record_search(&args.location, &tenant, "search", &args.query, &args.range)?;
    let mut out = BufWriter::new(io::stdout().lock());
    if args.count {
        let n = store.count(&tenant, &selection)?;
        writeln!(out, "{n}")?;
        return Ok(out.flush()?);
    }
    let fields: Vec<String> = args
        .fields
        .as_deref()
        .unwrap_or(DEFAULT_FIELDS)
        .split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect();
    let mut rows = Rows::new(args.format, &fields, &mut out)?;
    let known_damage = store.unreadable();
    let outcome = match write_rows(&mut rows, |each| {
        store.search(&tenant, &selection, args.limit, each)
    }) {
        Err(e) if closed_pipe(&e) => return Ok(()),
        other => other?,
    };
    warn_found_damage(&known_damage, &outcome);
    if outcome.returned as usize == args.limit {
        eprintln!("(the newest {} shown; --limit shows more)", args.limit);
    }
    Ok(())
}

pub fn export(args: ExportArgs) -> Result<()> {
    let store = open(&args.location)?;
    let (tenant, selection) = selection(&args.query, &args.range)?;
    record_search(&args.location, &tenant, "export", &args.query, &args.range)?;
    let sink: Box<dyn Write> = match &args.output {
        None => Box::new(io::stdout().lock()),
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        ),
    };
    let mut out = BufWriter::new(sink);
    let mut rows = Rows::new(EventFormat::Json, &[], &mut out)?;
    let known_damage = store.unreadable();
    let outcome = match write_rows(&mut rows, |each| store.export(&tenant, &selection, each)) {
        Err(e) if closed_pipe(&e) => return Ok(()),
        other => other.context("writing the export")?,
    };
    warn_found_damage(&known_damage, &outcome);
    eprintln!("{} events exported", outcome.returned);
    Ok(())
}

/// Warns of days found damaged during a search (those found at open were warned of then).
fn warn_found_damage(known: &[String], outcome: &SearchOutcome) {
    for damaged in outcome.unreadable.iter().filter(|d| !known.contains(d)) {
        eprintln!("warning: left out, found damaged while reading: {damaged}");
    }
}

/// Writes each event `run` hands over as a row, stopping at the first failed write, whose
/// error is returned once `run` is done.
fn write_rows<W: Write>(
    rows: &mut Rows<'_, W>,
    run: impl FnOnce(
        &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> Result<SearchOutcome, shieldwall_store::StoreError>,
) -> Result<SearchOutcome> {
    let mut failed = None;
    let outcome = run(&mut |event| match rows.row(&event) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            failed = Some(e);
            ControlFlow::Break(())
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    rows.finish()?;
    Ok(outcome)
}

/// Whether `e` is a reader that closed the pipe (`| head`): the output ends quietly.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

pub fn stats(args: StatsArgs) -> Result<()> {
    let store = open(&args.location)?;
    let (tenant, selection) = selection(&args.query, &args.range)?;
    record_search(&args.location, &tenant, "stats", &args.query, &args.range)?;
    let top = args.top;
    let mut aggregations: Vec<Aggregation> = [
        "log_kind",
        "source",
        "attack_type",
        "src_endpoint.ip",
        "target",
        "user.name",
    ]
    .iter()
    .map(|f| Aggregation::CountBy {
        field: (*f).to_owned(),
        top,
    })
    .collect();
    if let Some(interval) = &args.histogram {
        let interval = shieldwall_query::parse_interval(interval)
            .map_err(|e| anyhow::anyhow!("--histogram {interval:?}: {e}"))?;
        aggregations.push(Aggregation::Histogram { interval });
    }
    let total = store.count(&tenant, &selection)?;
    let results = store.aggregate(&tenant, &selection, &aggregations)?;
    match print_stats(args.format, total, &results) {
        Err(e) if closed_pipe(&e) => Ok(()),
        other => other,
    }
}

fn print_stats(format: EventFormat, total: u64, results: &[AggregationResult]) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    match format {
        EventFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "total": total, "aggregations": results }),
            )?;
            writeln!(out)?;
        }
        EventFormat::Table | EventFormat::Csv => {
            writeln!(out, "events: {total}")?;
            for result in results {
                print_result(&mut out, result)?;
            }
        }
    }
    Ok(out.flush()?)
}

fn print_result(out: &mut impl Write, result: &AggregationResult) -> Result<()> {
    match result {
        AggregationResult::CountBy {
            field,
            buckets,
            other,
            error_bound,
        } => {
            writeln!(out, "\nby {field}:")?;
            if buckets.is_empty() {
                writeln!(out, "  (no values)")?;
            }
            for (value, n) in buckets {
                writeln!(out, "  {n:>10}  {value}")?;
            }
            if *other > 0 {
                writeln!(out, "  {other:>10}  (other values)")?;
            }
            if *error_bound > 0 {
                writeln!(out, "  (counts may be low by up to {error_bound})")?;
            }
        }
        AggregationResult::Histogram {
            interval_secs,
            buckets,
        } => {
            writeln!(
                out,
                "\nper {}:",
                humanise(Duration::from_secs(*interval_secs))
            )?;
            for (at, n) in buckets {
                writeln!(out, "  {at}  {n:>10}")?;
            }
        }
        AggregationResult::Distinct { field, count } => {
            writeln!(out, "\ndistinct {field}: about {count}")?;
        }
    }
    Ok(())
}

fn humanise(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Writes events as table rows, CSV records or NDJSON.
struct Rows<'a, W: Write> {
    format: EventFormat,
    fields: &'a [String],
    out: &'a mut W,
}

impl<'a, W: Write> Rows<'a, W> {
    fn new(format: EventFormat, fields: &'a [String], out: &'a mut W) -> io::Result<Self> {
        match format {
            EventFormat::Csv => {
                let header: Vec<String> = fields.iter().map(|f| csv_cell(f)).collect();
                writeln!(out, "{}", header.join(","))?;
            }
            EventFormat::Table => writeln!(out, "{}", fields.join("\t"))?,
            EventFormat::Json => {}
        }
        Ok(Rows {
            format,
            fields,
            out,
        })
    }

    fn row(&mut self, event: &Event) -> io::Result<()> {
        match self.format {
            EventFormat::Json => {
                serde_json::to_writer(&mut *self.out, event).map_err(io::Error::from)?;
                writeln!(self.out)
            }
            EventFormat::Csv => {
                let cells: Vec<String> = self
                    .fields
                    .iter()
                    .map(|f| csv_cell(&cell(event, f)))
                    .collect();
                writeln!(self.out, "{}", cells.join(","))
            }
            EventFormat::Table => {
                let cells: Vec<String> = self
                    .fields
                    .iter()
                    .map(|f| {
                        cell(event, f)
                            .chars()
                            .map(|c| if c.is_control() { ' ' } else { c })
                            .take(120)
                            .collect()
                    })
                    .collect();
                writeln!(self.out, "{}", cells.join("\t"))
            }
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn cell(event: &Event, field: &str) -> String {
    match field {
        "time" => event.time.to_string(),
        "received" => event.received.to_string(),
        "id" => event.id.to_string(),
        "raw" => event.raw.clone(),
        path => event
            .text_field(path)
            .map(|v| v.into_owned())
            .unwrap_or_else(|| "-".into()),
    }
}

/// A CSV cell, quoted when needed; a leading `=`, `+`, `-` or `@` is prefixed with `'` so that a
/// spreadsheet does not run attacker-written formulas from log text.
fn csv_cell(text: &str) -> String {
    let safe = if text.starts_with(['=', '+', '-', '@']) && text != "-" {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if safe.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", safe.replace('"', "\"\""))
    } else {
        safe
    }
}
