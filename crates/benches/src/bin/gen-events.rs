//! Writes generated security events straight into an event store through the library:
//! `gen-events [--ending-now] STORE_DIR EVENTS [BATCH [SEED]]` (defaults: batches of 10,000,
//! seed 1; with `--ending-now` the week of events ends at the current hour instead of on
//! 2026-11-23, for views that show the recent past); or, with
//! `gen-events --lines EVENTS [SEED]`, writes the same events' syslog lines to standard output
//! (a time-ordered corpus for the TCP benchmarks).
//!
//! The events come from `shieldwall_benches::EventGenerator` (syslog lines from templates,
//! normalised by the built-in parsers; times in order over a week, Zipf-distributed addresses
//! and users). They are appended to a `TantivyStore` opened with the default settings, with a
//! commit after every batch, as the server's pipeline does. Prints the time taken, the raw and
//! stored sizes and the mix of what was generated.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use shieldwall_benches::EventGenerator;
use shieldwall_core::Event;
use shieldwall_store::{EventStore, StoreConfig, TantivyStore};

/// Fields whose value shares are reported (from a sample of the events).
const TALLIED: [&str; 6] = [
    "parser",
    "log_kind",
    "class",
    "severity",
    "status",
    "attack_type",
];
/// One event in this many is tallied.
const SAMPLE: u64 = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--lines") {
        let total = args
            .get(1)
            .and_then(|s| s.replace('_', "").parse::<u64>().ok());
        let seed = match args.get(2) {
            None => Some(1),
            Some(s) => s.parse::<u64>().ok(),
        };
        let (Some(total), Some(seed)) = (total, seed) else {
            eprintln!("usage: gen-events --lines EVENTS [SEED]");
            return ExitCode::from(2);
        };
        return match lines(total, seed) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gen-events: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let ending_now = args.first().is_some_and(|a| a == "--ending-now");
    let args = args.get(usize::from(ending_now)..).unwrap_or_default();
    let number = |i: usize, default: u64| match args.get(i) {
        None => Some(default),
        Some(s) => s.replace('_', "").parse::<u64>().ok(),
    };
    let (Some(dir), Some(Some(total)), Some(batch), Some(seed)) = (
        args.first().map(PathBuf::from),
        args.get(1).map(|s| s.replace('_', "").parse::<u64>().ok()),
        number(2, 10_000),
        number(3, 1),
    ) else {
        eprintln!(
            "usage: gen-events [--ending-now] STORE_DIR EVENTS [BATCH [SEED]] | gen-events --lines EVENTS [SEED]"
        );
        return ExitCode::from(2);
    };
    let generator = if ending_now {
        let hour = jiff::Timestamp::now().as_second().div_euclid(3600) * 3600;
        jiff::Timestamp::from_second(hour - shieldwall_benches::EVENTS_DAYS * 86_400)
            .map_err(|e| e.to_string())
            .and_then(|start| EventGenerator::starting_at(total, seed, start))
    } else {
        EventGenerator::new(total, seed)
    };
    let generator = match generator {
        Ok(generator) => generator,
        Err(e) => {
            eprintln!("gen-events: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(dir, generator, batch.max(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-events: {e}");
            ExitCode::FAILURE
        }
    }
}

fn lines(total: u64, seed: u64) -> Result<(), String> {
    use std::io::Write as _;
    let mut generator = EventGenerator::new(total, seed)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    while let Some(line) = generator.next_line() {
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

fn run(dir: PathBuf, mut generator: EventGenerator, batch_size: u64) -> Result<(), String> {
    let store = TantivyStore::open(&dir, StoreConfig::default()).map_err(|e| e.to_string())?;
    let mut tallies: HashMap<&str, HashMap<String, u64>> = HashMap::new();
    let mut tallied = 0u64;
    let mut generating = Duration::ZERO;
    let mut storing = Duration::ZERO;
    let mut commits = 0u64;
    let mut added = 0u64;
    let mut duplicates = 0u64;
    let mut seen = 0u64;
    let mut next_report = 1_000_000u64;
    let mut batch: Vec<Event> =
        Vec::with_capacity(usize::try_from(batch_size).unwrap_or(10_000).min(100_000));
    let started = Instant::now();
    loop {
        let t = Instant::now();
        batch.clear();
        batch.extend(
            generator
                .by_ref()
                .take(usize::try_from(batch_size).unwrap_or(usize::MAX)),
        );
        if batch.is_empty() {
            break;
        }
        for event in &batch {
            if seen.is_multiple_of(SAMPLE) {
                tallied += 1;
                for field in TALLIED {
                    let value = event
                        .text_field(field)
                        .map_or_else(|| "(none)".to_owned(), |v| v.into_owned());
                    *tallies.entry(field).or_default().entry(value).or_default() += 1;
                }
            }
            seen += 1;
        }
        generating += t.elapsed();
        let t = Instant::now();
        let outcome = store.append(&batch).map_err(|e| e.to_string())?;
        store.commit().map_err(|e| e.to_string())?;
        storing += t.elapsed();
        commits += 1;
        added += outcome.added;
        duplicates += outcome.duplicates;
        if seen >= next_report {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  {seen} events, {secs:.0} s, {:.0} events/s",
                seen as f64 / secs.max(1e-9)
            );
            next_report += 1_000_000;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let raw = generator.raw_bytes();
    let tenant = shieldwall_core::TenantId::default();
    let size = store.size(&tenant).map_err(|e| e.to_string())?;
    drop(store);
    let per_million = |bytes: u64| bytes as f64 * 1e6 / added.max(1) as f64;
    println!(
        "generated: {added} events stored ({duplicates} duplicates) in {elapsed:.1} s: {:.0} events/s; {commits} commits of {batch_size}",
        added as f64 / elapsed.max(1e-9)
    );
    println!(
        "  time: generating and parsing {:.1} s, appending and committing {:.1} s ({:.0} events/s)",
        generating.as_secs_f64(),
        storing.as_secs_f64(),
        added as f64 / storing.as_secs_f64().max(1e-9)
    );
    println!(
        "raw: {raw} bytes as syslog lines, {:.1} MB per million events",
        per_million(raw) / 1e6
    );
    println!(
        "store: {size} bytes on disk (the store's own count), {:.1} MB per million events, {:.2}x the raw size",
        per_million(size) / 1e6,
        size as f64 / raw.max(1) as f64
    );
    println!("mix (a sample of 1 in {SAMPLE}, {tallied} events):");
    for field in TALLIED {
        let Some(values) = tallies.get(field) else {
            continue;
        };
        let mut sorted: Vec<(&String, &u64)> = values.iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let shares: Vec<String> = sorted
            .iter()
            .map(|(value, n)| format!("{value} {:.1}%", **n as f64 * 100.0 / tallied.max(1) as f64))
            .collect();
        println!("  {field}: {}", shares.join(", "));
    }
    Ok(())
}
