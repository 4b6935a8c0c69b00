//! Sigma rule evaluation, ours and rsigma's, for `bench/sigma-throughput.sh`:
//!
//! - `sigma-bench events SIGMA_DIR SAMPLES_DIR COUNT`: writes the mixed stream of normalised
//!   events (`shieldwall_benches::sigma::mixed_events`) as NDJSON to standard output.
//! - `sigma-bench run ours|rsigma SIGMA_DIR EVENTS [RULES]`: loads the corpus's first RULES rule
//!   files in name order (default: all), evaluates every event once, and prints one JSON line:
//!   rules loaded, load seconds, evaluation seconds, events per second, matches among the rules
//!   of each event's logsource, and the process's peak resident memory.
//!
//! One engine per process, so that the peak memory is that engine's. rsigma is given each
//! event's product (from our pipeline, before the clock starts) for its logsource pruning.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};
use shieldwall_benches::sigma::{Ours, Theirs, mixed_events, product_of, rule_files};
use shieldwall_detect::{Pipeline, Prefilter};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sigma-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), String> {
    let usage = "usage: sigma-bench events SIGMA_DIR SAMPLES_DIR COUNT | \
                 sigma-bench run ours|ours-unfiltered|rsigma SIGMA_DIR EVENTS [RULES]";
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["events", sigma, samples, count] => {
            let count: usize = count.parse().map_err(|_| format!("COUNT {count:?}"))?;
            let events = mixed_events(&PathBuf::from(sigma), &PathBuf::from(samples), count)?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for event in events {
                use std::io::Write as _;
                serde_json::to_writer(&mut out, &event).map_err(|e| e.to_string())?;
                out.write_all(b"\n").map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        ["run", engine, sigma, events] => evaluate(engine, sigma, events, None),
        ["run", engine, sigma, events, rules] => {
            let rules: usize = rules.parse().map_err(|_| format!("RULES {rules:?}"))?;
            evaluate(engine, sigma, events, Some(rules))
        }
        _ => Err(usage.into()),
    }
}

fn evaluate(engine: &str, sigma: &str, events: &str, rules: Option<usize>) -> Result<(), String> {
    let text = std::fs::read_to_string(events).map_err(|e| format!("{events}: {e}"))?;
    let events: Vec<Value> = text
        .lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{events}:{}: {e}", i + 1)))
        .collect::<Result<_, _>>()?;
    let mut files = rule_files(&PathBuf::from(sigma)).map_err(|e| format!("{sigma}: {e}"))?;
    if let Some(n) = rules {
        files.truncate(n);
    }
    let pipeline = Pipeline::shieldwall_event().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let (loaded, failed, seconds, matches) = match engine {
        "ours" | "ours-unfiltered" => {
            let prefilter = if engine == "ours" {
                Prefilter::On
            } else {
                Prefilter::Off
            };
            let ours = Ours::load(&files, prefilter)?;
            let load = started.elapsed().as_secs_f64();
            let started = Instant::now();
            let mut matches = 0;
            for event in &events {
                matches += ours.index.fired(Some(&ours.pipeline), event).len();
            }
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("ours: loaded in {load:.2} s");
            (
                ours.index.rules().len(),
                ours.failures.len(),
                seconds,
                matches,
            )
        }
        "rsigma" => {
            let theirs = Theirs::load(&files)?;
            let load = started.elapsed().as_secs_f64();
            let products: Vec<Option<String>> =
                events.iter().map(|e| product_of(&pipeline, e)).collect();
            let started = Instant::now();
            let mut results = Vec::with_capacity(events.len());
            for (event, product) in events.iter().zip(&products) {
                results.push(theirs.evaluate(event, product.as_deref()));
            }
            let seconds = started.elapsed().as_secs_f64();
            eprintln!("rsigma: loaded in {load:.2} s");
            // Counted as ours are: the rules of the event's logsources only.
            let matches = events
                .iter()
                .zip(&results)
                .map(|(event, results)| theirs.in_logsource(&pipeline, event, results).len())
                .sum();
            (
                theirs.engine.rule_count(),
                theirs.failures.len(),
                seconds,
                matches,
            )
        }
        other => return Err(format!("unknown engine {other:?}")),
    };
    let report = json!({
        "engine": engine,
        "rule_files": files.len(),
        "rules": loaded,
        "failed": failed,
        "events": events.len(),
        "eval_seconds": seconds,
        "events_per_second": if seconds > 0.0 { events.len() as f64 / seconds } else { 0.0 },
        "matches": matches,
        "peak_rss_kb": peak_rss_kb(),
    });
    println!("{report}");
    Ok(())
}

/// The process's peak resident set (VmHWM), in KiB; 0 where /proc does not say.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
