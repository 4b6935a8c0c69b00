//! `shieldwall rules check|test`: Sigma rules before they are deployed.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use serde_json::{Value, json};
use shieldwall_detect::correlation::{CorrelationHit, CorrelationLimits, Observation};
use shieldwall_detect::ruleset::{self, LoadedRules};
use shieldwall_detect::{CorrelationSet, Correlator, EventFields, pipeline};
use shieldwall_detect::{Pipeline, Prefilter, RuleIndex, RuleSettings};

use crate::args::{RuleSource, RulesCheckArgs, RulesCommand, RulesFormat, RulesTestArgs};

/// The largest events file `rules test` reads (it is read whole, then parsed event by event).
const MAX_EVENTS_BYTES: u64 = 1 << 30;

pub fn run(command: RulesCommand) -> Result<()> {
    match command {
        RulesCommand::Check(args) => check(args),
        RulesCommand::Test(args) => test(args),
    }
}

fn settings(source: &RuleSource) -> Result<RuleSettings> {
    let mut settings = RuleSettings::default();
    for entry in &source.placeholders {
        let Some((name, value)) = entry.split_once('=') else {
            bail!("--placeholder {entry:?}: expected NAME=VALUE");
        };
        settings
            .placeholders
            .entry(name.trim().to_owned())
            .or_default()
            .push(value.to_owned());
    }
    Ok(settings)
}

fn load(source: &RuleSource) -> Result<LoadedRules> {
    if !source.rules.exists() {
        bail!("{}: no such file or directory", source.rules.display());
    }
    Ok(ruleset::load(&source.rules, &settings(source)?))
}

fn check(args: RulesCheckArgs) -> Result<()> {
    let mut loaded = load(&args.source)?;
    let correlations = loaded.correlations.len();
    if correlations > 0 {
        let rules = loaded.rules.iter().map(|(_, r)| r);
        let (_, errors) = CorrelationSet::new(rules, std::mem::take(&mut loaded.correlations));
        loaded.errors.extend(errors);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        RulesFormat::Json => {
            let failed: Vec<Value> = loaded
                .errors
                .iter()
                .map(|e| {
                    json!({
                        "file": e.file.display().to_string(),
                        "line": e.line,
                        "column": e.column,
                        "reason": e.reason,
                    })
                })
                .collect();
            let report = json!({
                "loaded": loaded.rules.len(),
                "filters": loaded.filters.len(),
                "correlations": correlations,
                "failed": failed,
            });
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        RulesFormat::Table => {
            for e in &loaded.errors {
                writeln!(out, "FAILED  {e}")?;
            }
            writeln!(
                out,
                "{} rule(s) loaded, {} filter(s), {correlations} correlation(s), {} failed",
                loaded.rules.len(),
                loaded.filters.len(),
                loaded.errors.len()
            )?;
        }
    }
    out.flush()?;
    if !loaded.errors.is_empty() {
        bail!("{} rule(s) did not load", loaded.errors.len());
    }
    Ok(())
}

fn pipeline(name: &str) -> Result<Pipeline> {
    if let Some((built_in, _, _)) = pipeline::BUILT_IN.iter().find(|(n, _, _)| *n == name) {
        return Ok(Pipeline::built_in(built_in)?);
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).with_context(|| {
        let names: Vec<&str> = pipeline::BUILT_IN.iter().map(|(n, _, _)| *n).collect();
        format!(
            "--pipeline {name}: neither a built-in pipeline ({}) nor a readable pipeline file",
            names.join(", ")
        )
    })?;
    Ok(Pipeline::parse(path, &text)?)
}

fn test(args: RulesTestArgs) -> Result<()> {
    let started = Instant::now();
    let loaded = load(&args.source)?;
    for e in &loaded.errors {
        eprintln!("warning: not loaded: {e}");
    }
    if loaded.rules.is_empty() {
        bail!("no rule loaded from {}", args.source.rules.display());
    }
    let pipeline = args.pipeline.as_deref().map(pipeline).transpose()?;
    let prefilter = if args.no_prefilter {
        Prefilter::Off
    } else {
        Prefilter::On
    };
    let index = RuleIndex::new(
        loaded.rules.into_iter().map(|(_, r)| r).collect(),
        prefilter,
    )?;
    let (set, errors) = CorrelationSet::new(index.rules(), loaded.correlations);
    for e in &errors {
        eprintln!("warning: not loaded: {e}");
    }
    let set = Arc::new(set);
    let mut correlator = (!set.is_empty()).then(|| {
        Correlator::new(
            Arc::clone(&set),
            CorrelationLimits {
                lateness: Duration::from_secs(args.lateness),
                ..CorrelationLimits::default()
            },
        )
    });
    let (mut untimed, mut correlated) = (0usize, 0usize);
    let load_time = started.elapsed();
    let text = read_events(&args.events)?;
    let name = args.events.display().to_string();
    let mut out = BufWriter::new(io::stdout().lock());
    let (mut events, mut matches, mut evaluated) = (0usize, 0usize, 0usize);
    let mut evaluating = Duration::ZERO;
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    loop {
        let event = match stream.next() {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => bail!("{name}:{}: not a JSON value: {e}", e.line()),
        };
        events += 1;
        let started = Instant::now();
        let (fired, stats) = index.fired_with_stats(pipeline.as_ref(), &event);
        evaluating += started.elapsed();
        evaluated += stats.evaluated;
        matches += fired.len();
        let mut hits = Vec::new();
        if let Some(correlator) = &mut correlator {
            let view = pipeline.as_ref().map(|p| p.view(&event));
            let fields: &dyn EventFields = match &view {
                Some(view) => view,
                None => &event,
            };
            match fields.field(&args.time_field).and_then(time_of) {
                Some(time) => {
                    hits = correlator.observe(&Observation {
                        time,
                        received: None,
                        event: events as u128,
                        fired: &fired,
                        fields,
                    });
                }
                None => untimed += usize::from(!fired.is_empty()),
            }
        }
        correlated += hits.len();
        write_hits(&mut out, args.format, &hits)?;
        let fired = fired.iter().filter_map(|i| index.rules().get(*i));
        match args.format {
            RulesFormat::Table => {
                for rule in fired {
                    writeln!(
                        out,
                        "event {events}\t{}\t{}\t{}",
                        rule.level.as_deref().unwrap_or("-"),
                        rule.id.as_deref().unwrap_or("-"),
                        rule.title
                    )?;
                }
            }
            RulesFormat::Json => {
                let list: Vec<Value> = fired
                    .map(|r| json!({"id": r.id, "title": r.title, "level": r.level}))
                    .collect();
                writeln!(out, "{}", json!({"event": events, "matches": list}))?;
            }
        }
    }
    if let Some(correlator) = &mut correlator {
        let hits = correlator.flush();
        correlated += hits.len();
        write_hits(&mut out, args.format, &hits)?;
    }
    out.flush()?;
    if correlator.is_some() {
        eprintln!(
            "{} correlation rule(s), {correlated} hit(s){}",
            set.rules().len(),
            if untimed > 0 {
                format!(
                    "; {untimed} event(s) with matches had no readable `{}` and were not correlated",
                    args.time_field
                )
            } else {
                String::new()
            }
        );
    }
    let seconds = evaluating.as_secs_f64();
    eprintln!(
        "{events} event(s), {} rule(s), {matches} match(es){}",
        index.rules().len(),
        if pipeline.is_none() {
            " (no --pipeline: every rule ran on every event, logsources not checked)"
        } else {
            ""
        }
    );
    eprintln!(
        "rules loaded in {:.3} s; events matched in {seconds:.3} s ({:.0} events/s), {:.1} rules \
         evaluated per event ({} prefilter literals, {} rules always evaluated)",
        load_time.as_secs_f64(),
        if seconds > 0.0 {
            events as f64 / seconds
        } else {
            0.0
        },
        if events > 0 {
            evaluated as f64 / events as f64
        } else {
            0.0
        },
        index.literal_count(),
        index.unfiltered_count(),
    );
    Ok(())
}

/// An event time: RFC 3339 text, or seconds since the epoch.
fn time_of(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            Timestamp::from_microsecond((seconds * 1e6) as i64).ok()
        }
        _ => None,
    }
}

/// One line per correlation hit.
fn write_hits(out: &mut impl Write, format: RulesFormat, hits: &[CorrelationHit]) -> Result<()> {
    for hit in hits {
        let Some(rule) = hit.rule() else { continue };
        match format {
            RulesFormat::Table => {
                let group: Vec<String> =
                    hit.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
                writeln!(
                    out,
                    "correlation {}\t{}\t{}\t{}\t{}\tvalue {}",
                    hit.time,
                    rule.level.as_deref().unwrap_or("-"),
                    rule.id.as_deref().unwrap_or("-"),
                    rule.title,
                    group.join(","),
                    hit.value
                )?;
            }
            RulesFormat::Json => {
                let group: serde_json::Map<String, Value> = hit
                    .group
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                writeln!(
                    out,
                    "{}",
                    json!({"correlation": {
                        "id": rule.id, "title": rule.title, "level": rule.level,
                        "time": hit.time.to_string(), "group": group, "value": hit.value,
                        "events": hit.events, "alerts_alone": hit.alerts_alone(),
                    }})
                )?;
            }
        }
    }
    Ok(())
}

/// The events file (or standard input, `-`) whole; refused when larger than the limit rather
/// than cut short.
fn read_events(path: &Path) -> Result<String> {
    let name = path.display().to_string();
    let mut text = String::new();
    let read = if name == "-" {
        io::stdin()
            .lock()
            .take(MAX_EVENTS_BYTES + 1)
            .read_to_string(&mut text)
            .context("reading events from standard input")?
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_EVENTS_BYTES + 1).read_to_string(&mut text))
            .with_context(|| format!("reading {name}"))?
    };
    if read as u64 > MAX_EVENTS_BYTES {
        bail!("{name}: larger than {MAX_EVENTS_BYTES} bytes; split it into smaller files");
    }
    Ok(text)
}
