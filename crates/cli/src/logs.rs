//! The log commands: `parse` (and, with the collectors, `import` and `serve`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;
use shieldwall_parse::lines::BoundedLines;
use shieldwall_parse::{Normaliser, Received, Registry, SourceProfile, SyslogLayer, user};

use crate::args::ParseArgs;

/// The built-in parsers plus the user parsers of `dirs`; any bad parser file is an error that
/// names file, line and reason.
pub fn registry_with(dirs: &[PathBuf]) -> Result<Registry> {
    let mut registry =
        shieldwall_parse::parsers::builtin().context("the built-in parsers do not register")?;
    let mut problems = Vec::new();
    for dir in dirs {
        let (parsers, errors) = user::load_dir(dir);
        problems.extend(errors.iter().map(ToString::to_string));
        if let Err(e) = user::register(&mut registry, parsers) {
            problems.push(format!("{}: {e}", dir.display()));
        }
    }
    if !problems.is_empty() {
        bail!("user parsers rejected:\n  {}", problems.join("\n  "));
    }
    Ok(registry)
}

pub fn time_zone(name: &str) -> Result<TimeZone> {
    TimeZone::get(name).with_context(|| {
        format!("unknown time zone {name:?}; use an IANA name such as UTC or Europe/Berlin")
    })
}

pub fn parse(args: ParseArgs) -> Result<()> {
    let mut registry = registry_with(&args.parser_dirs)?;
    if args.list {
        let mut out = io::stdout().lock();
        for id in registry.ids() {
            writeln!(out, "{id}")?;
        }
        return Ok(());
    }
    if !args.parser_ids.is_empty() {
        registry.bind_source(&args.source, &args.parser_ids)?;
    }
    let mut normaliser = Normaliser::new(Arc::new(registry));
    normaliser.set_profile(
        &args.source,
        SourceProfile {
            time_zone: time_zone(&args.time_zone)?,
            syslog: if args.no_syslog {
                SyslogLayer::Off
            } else {
                SyslogLayer::Auto
            },
            ..SourceProfile::default()
        },
    );
    let (reader, name): (Box<dyn BufRead>, String) = match &args.input {
        None => (Box::new(io::stdin().lock()), "standard input".into()),
        Some(p) if p == Path::new("-") => (Box::new(io::stdin().lock()), "standard input".into()),
        Some(p) => (
            Box::new(BufReader::new(
                File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
            )),
            p.display().to_string(),
        ),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for line in BoundedLines::new(reader, args.max_line) {
        let line = line.with_context(|| format!("reading {name}"))?;
        let key = format!("line:{}", line.number);
        let mut event = normaliser.normalise(&Received {
            source: &args.source,
            received: Timestamp::now(),
            key: &key,
            payload: &line.bytes,
        });
        if line.truncated {
            event.unmapped.insert("truncated".into(), Value::Bool(true));
        }
        if args.summary {
            let parser = event.parser.as_deref().unwrap_or("(unparsed)");
            *counts.entry(parser.to_owned()).or_default() += 1;
        } else {
            serde_json::to_writer(&mut out, &event)?;
            out.write_all(b"\n")?;
        }
    }
    if args.summary {
        let total: u64 = counts.values().sum();
        for (parser, n) in &counts {
            writeln!(out, "{parser:<24} {n:>10}")?;
        }
        let unparsed = counts.get("(unparsed)").copied().unwrap_or(0);
        writeln!(
            out,
            "{:<24} {total:>10}  ({:.1}% parsed)",
            "total",
            if total == 0 {
                0.0
            } else {
                100.0 * (total - unparsed) as f64 / total as f64
            }
        )?;
    }
    out.flush()?;
    Ok(())
}
