//! `shieldwall rules check|test`: Sigma rules before they are deployed.

use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use shieldwall_detect::ruleset::{self, LoadedRules};
use shieldwall_detect::{Pipeline, RuleSettings};

use crate::args::{RuleSource, RulesCheckArgs, RulesCommand, RulesFormat, RulesTestArgs};

/// The largest events file `rules test` reads.
const MAX_EVENTS_BYTES: u64 = 256 << 20;

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
    let loaded = load(&args.source)?;
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
            let report = json!({"loaded": loaded.rules.len(), "failed": failed});
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        RulesFormat::Table => {
            for e in &loaded.errors {
                writeln!(out, "FAILED  {e}")?;
            }
            writeln!(
                out,
                "{} rule(s) loaded, {} failed",
                loaded.rules.len(),
                loaded.errors.len()
            )?;
        }
    }
    out.flush()?;
    if !loaded.errors.is_empty() {
        bail!("{} rule file(s) did not load", loaded.errors.len());
    }
    Ok(())
}

fn pipeline(name: &str) -> Result<Pipeline> {
    if name == "windows-evtx" {
        return Ok(Pipeline::windows()?);
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).with_context(|| {
        format!("--pipeline {name}: neither `windows-evtx` nor a readable pipeline file")
    })?;
    Ok(Pipeline::parse(path, &text)?)
}

fn test(args: RulesTestArgs) -> Result<()> {
    let loaded = load(&args.source)?;
    for e in &loaded.errors {
        eprintln!("warning: not loaded: {e}");
    }
    if loaded.rules.is_empty() {
        bail!("no rule loaded from {}", args.source.rules.display());
    }
    let pipeline = args.pipeline.as_deref().map(pipeline).transpose()?;
    let name = args.events.display().to_string();
    let mut text = String::new();
    if name == "-" {
        io::stdin()
            .lock()
            .take(MAX_EVENTS_BYTES)
            .read_to_string(&mut text)
            .context("reading events from standard input")?;
    } else {
        std::fs::File::open(&args.events)
            .and_then(|f| f.take(MAX_EVENTS_BYTES).read_to_string(&mut text))
            .with_context(|| format!("reading {name}"))?;
    }
    let mut out = BufWriter::new(io::stdout().lock());
    let rules: Vec<_> = loaded.rules.iter().map(|(_, r)| r).collect();
    let (mut events, mut matches) = (0usize, 0usize);
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    loop {
        let event = match stream.next() {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(e)) => bail!("{name}:{}: not a JSON value: {e}", e.line()),
        };
        events += 1;
        let fired = ruleset::fired(rules.iter().copied(), pipeline.as_ref(), &event);
        matches += fired.len();
        match args.format {
            RulesFormat::Table => {
                for rule in &fired {
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
                    .iter()
                    .map(|r| json!({"id": r.id, "title": r.title, "level": r.level}))
                    .collect();
                writeln!(out, "{}", json!({"event": events, "matches": list}))?;
            }
        }
    }
    out.flush()?;
    eprintln!(
        "{events} event(s), {} rule(s), {matches} match(es){}",
        rules.len(),
        if pipeline.is_none() {
            " (no --pipeline: every rule ran on every event, logsources not checked)"
        } else {
            ""
        }
    );
    Ok(())
}
