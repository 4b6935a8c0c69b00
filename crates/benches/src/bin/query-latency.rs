//! Query latency on a store written by `gen-events`: `query-latency STORE_DIR [ITERATIONS [SEED]]`
//! (defaults: 200 calls per kind, seed 7).
//!
//! Opens the store read-only, as `shieldwall search` does, and runs each kind of query
//! ITERATIONS times with varying parameters, after a tenth as many warm-up calls:
//!
//! - a one-hour time range (anywhere in the generated week) with a field filter,
//!   `src_endpoint.ip:X` or `user.name:X` (values drawn with the generator's own Zipf
//!   distributions, so mostly frequent ones, sometimes rare ones), newest 100;
//! - a full-text term over all events (words from rare to common), as a count
//!   (`EventStore::count`) and as a search for the newest 100;
//! - a count by `src_endpoint.ip`, top 10, over a 24-hour range (`EventStore::aggregate`).
//!
//! Prints p50, p99 and the maximum of each call's latency per kind, and the first call of each
//! kind (made before any warm-up), and says how much of the store fits the page cache.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use shieldwall_benches::{
    ATTACK_USERS, EVENTS_DAYS, EVENTS_START, SOURCE_IPS, SplitMix64, TEXT_TERMS, ZIPF_EXPONENT,
    Zipf, source_ip, user_name,
};
use shieldwall_core::TenantId;
use shieldwall_query::Aggregation;
use shieldwall_store::events::AggregationResult;
use shieldwall_store::{EventStore, Selection, TantivyStore};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| match args.get(i) {
        None => Some(default),
        Some(s) => s.replace('_', "").parse::<u64>().ok(),
    };
    let (Some(dir), Some(iterations), Some(seed)) = (
        args.first().map(PathBuf::from),
        number(1, 200),
        number(2, 7),
    ) else {
        eprintln!("usage: query-latency STORE_DIR [ITERATIONS [SEED]]");
        return ExitCode::from(2);
    };
    match run(dir, iterations.max(1), seed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("query-latency: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The kinds of query measured.
#[derive(Clone, Copy)]
enum Kind {
    RangeField,
    TextCount,
    TextSearch,
    CountBy,
}

const KINDS: [(Kind, &str); 4] = [
    (Kind::RangeField, "1 h range + field filter, newest 100"),
    (Kind::TextCount, "full-text term, count"),
    (Kind::TextSearch, "full-text term, newest 100"),
    (Kind::CountBy, "count by src_endpoint.ip top 10, 24 h"),
];

/// What the calls of one kind measured.
#[derive(Default)]
struct Samples {
    first: Option<Duration>,
    latencies: Vec<Duration>,
    matches: u64,
}

struct Bench {
    store: TantivyStore,
    tenant: TenantId,
    start: Timestamp,
    rng: SplitMix64,
    ips: Zipf,
    attack_users: Zipf,
    admins: Zipf,
}

impl Bench {
    fn selection(
        query: &str,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Selection, String> {
        let query = shieldwall_query::parse(query).map_err(|e| e.render(query))?;
        Ok(Selection { query, from, to })
    }

    /// One search for the newest 100 matches: its time and how many came back.
    fn newest_100(&self, selection: &Selection) -> Result<(Duration, u64), String> {
        let t = Instant::now();
        let outcome = self
            .store
            .search(&self.tenant, selection, 100, &mut |_| {
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())?;
        Ok((t.elapsed(), outcome.returned))
    }

    /// A random whole hour of the generated span, and `hours` later.
    fn window(&mut self, hours: i64) -> (Timestamp, Timestamp) {
        let slots = (EVENTS_DAYS * 24 - hours + 1).max(1);
        let first = i64::try_from(self.rng.below(slots.unsigned_abs())).unwrap_or(0);
        let from = self
            .start
            .checked_add(SignedDuration::from_hours(first))
            .unwrap_or(self.start);
        let to = from
            .checked_add(SignedDuration::from_hours(hours))
            .unwrap_or(from);
        (from, to)
    }

    /// Runs one call of `kind` (its parameters drawn for call number `call`); returns its
    /// latency and how many events it matched or returned.
    fn call(&mut self, kind: Kind, call: u64) -> Result<(Duration, u64), String> {
        let store_error = |e: shieldwall_store::StoreError| e.to_string();
        let term = TEXT_TERMS
            .get(usize::try_from(call).unwrap_or(0) % TEXT_TERMS.len())
            .copied()
            .unwrap_or("failed");
        match kind {
            Kind::RangeField => {
                let (from, to) = self.window(1);
                let query = if call.is_multiple_of(2) {
                    format!(
                        "src_endpoint.ip:{}",
                        source_ip(self.ips.sample(&mut self.rng))
                    )
                } else if call % 4 == 1 {
                    let name = ATTACK_USERS
                        .get(self.attack_users.sample(&mut self.rng))
                        .copied()
                        .unwrap_or("root");
                    format!("user.name:{name}")
                } else {
                    format!("user.name:{}", user_name(self.admins.sample(&mut self.rng)))
                };
                self.newest_100(&Bench::selection(&query, Some(from), Some(to))?)
            }
            Kind::TextCount => {
                let selection = Bench::selection(term, None, None)?;
                let t = Instant::now();
                let n = self
                    .store
                    .count(&self.tenant, &selection)
                    .map_err(store_error)?;
                Ok((t.elapsed(), n))
            }
            Kind::TextSearch => self.newest_100(&Bench::selection(term, None, None)?),
            Kind::CountBy => {
                let (from, to) = self.window(24);
                let selection = Bench::selection("*", Some(from), Some(to))?;
                let request = [Aggregation::CountBy {
                    field: "src_endpoint.ip".into(),
                    top: 10,
                }];
                let t = Instant::now();
                let results = self
                    .store
                    .aggregate(&self.tenant, &selection, &request)
                    .map_err(store_error)?;
                let elapsed = t.elapsed();
                let counted = match results.first() {
                    Some(AggregationResult::CountBy { buckets, other, .. }) => {
                        buckets.iter().map(|(_, n)| n).sum::<u64>() + other
                    }
                    _ => 0,
                };
                Ok((elapsed, counted))
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // Nearest rank.
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn run(dir: PathBuf, iterations: u64, seed: u64) -> Result<(), String> {
    let t = Instant::now();
    let store = TantivyStore::open_read_only(&dir).map_err(|e| e.to_string())?;
    let opened = t.elapsed();
    let tenant = TenantId::default();
    let total = store
        .count(&tenant, &Selection::all())
        .map_err(|e| e.to_string())?;
    let size = store.size(&tenant).map_err(|e| e.to_string())?;
    let mut bench = Bench {
        store,
        tenant,
        start: EVENTS_START
            .parse::<Timestamp>()
            .map_err(|e| e.to_string())?,
        rng: SplitMix64::new(seed),
        ips: Zipf::new(SOURCE_IPS, ZIPF_EXPONENT),
        attack_users: Zipf::new(ATTACK_USERS.len(), 1.2),
        admins: Zipf::new(150, 0.9),
    };
    println!(
        "store: {total} events, {size} bytes ({:.1} MB per million events), opened read-only in {:.1} ms",
        size as f64 / total.max(1) as f64,
        ms(opened)
    );
    match available_memory() {
        Some(free) if free > size => println!(
            "page cache: warm. The store ({:.2} GB) fits the available memory ({:.1} GB) and each kind had {} warm-up calls; the first call of each kind is shown apart",
            size as f64 / 1e9,
            free as f64 / 1e9,
            (iterations / 10).max(3)
        ),
        Some(free) => println!(
            "page cache: partly cold. The store ({:.2} GB) exceeds the available memory ({:.1} GB)",
            size as f64 / 1e9,
            free as f64 / 1e9
        ),
        None => println!("page cache: unknown (no /proc/meminfo)"),
    }
    let mut samples: Vec<Samples> = KINDS.iter().map(|_| Samples::default()).collect();
    // First calls, before any warm-up.
    for ((kind, _), s) in KINDS.iter().zip(samples.iter_mut()) {
        s.first = Some(bench.call(*kind, 0)?.0);
    }
    let warm_up = (iterations / 10).max(3);
    for (kind, _) in &KINDS {
        for call in 0..warm_up {
            bench.call(*kind, call)?;
        }
    }
    // Kinds interleaved, so that a noisy moment on the shared machine spreads over all.
    for call in 0..iterations {
        for ((kind, _), s) in KINDS.iter().zip(samples.iter_mut()) {
            let (latency, matched) = bench.call(*kind, call)?;
            s.latencies.push(latency);
            s.matches += matched;
        }
    }
    println!(
        "{:<40} {:>6} {:>9} {:>9} {:>9} {:>10} {:>13}",
        "query", "calls", "p50 ms", "p99 ms", "max ms", "first ms", "mean matches"
    );
    for ((_, name), s) in KINDS.iter().zip(samples.iter_mut()) {
        s.latencies.sort_unstable();
        println!(
            "{:<40} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>10.2} {:>13.0}",
            name,
            s.latencies.len(),
            ms(percentile(&s.latencies, 0.50)),
            ms(percentile(&s.latencies, 0.99)),
            ms(s.latencies.last().copied().unwrap_or_default()),
            ms(s.first.unwrap_or_default()),
            s.matches as f64 / s.latencies.len().max(1) as f64
        );
    }
    println!("full-text terms (matching events, share of all):");
    for term in TEXT_TERMS {
        let selection = Bench::selection(term, None, None)?;
        let n = bench
            .store
            .count(&bench.tenant, &selection)
            .map_err(|e| e.to_string())?;
        println!(
            "  {term:<10} {n:>10} {:>6.2}%",
            n as f64 * 100.0 / total.max(1) as f64
        );
    }
    Ok(())
}
