//! Parsing and normalisation, one core: the mixed corpus of real sample lines, and dispatch
//! scaling (10 against 10,000 sending hosts; 10 against 1,000 user parser types).
//!
//! Each measurement normalises a batch of lines as the pipeline does (syslog layer, registry,
//! event construction); the figure is lines per second.

use std::path::Path;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shieldwall_parse::{Normaliser, Received, Registry, user};

const LINES: usize = 20_000;

fn normaliser(registry: Registry) -> Normaliser {
    Normaliser::new(Arc::new(registry))
}

fn run(n: &Normaliser, lines: &[String]) -> usize {
    let received = jiff::Timestamp::UNIX_EPOCH;
    let mut parsed = 0;
    for (i, line) in lines.iter().enumerate() {
        let key = i.to_string();
        let event = n.normalise(&Received {
            source: "bench",
            received,
            key: &key,
            payload: line.as_bytes(),
        });
        parsed += usize::from(event.parser.is_some());
    }
    parsed
}

fn samples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../parse/tests/samples")
}

fn bench_mixed(c: &mut Criterion) {
    let Ok(registry) = shieldwall_parse::parsers::builtin() else {
        return;
    };
    let n = normaliser(registry);
    let mut group = c.benchmark_group("normalise-mixed");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    for hosts in [10usize, 10_000] {
        let Ok(lines) = shieldwall_benches::log_corpus(&samples(), LINES, hosts) else {
            return;
        };
        group.bench_with_input(BenchmarkId::new("hosts", hosts), &lines, |b, lines| {
            b.iter(|| run(&n, lines))
        });
    }
    group.finish();
}

fn bench_user_parsers(c: &mut Criterion) {
    let mut group = c.benchmark_group("normalise-user-parsers");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LINES as u64));
    for types in [10usize, 1_000] {
        let (yaml, lines) = shieldwall_benches::user_parser_set(
            types,
            LINES,
            shieldwall_benches::PatternShape::Simple,
        );
        let Ok(parsers) = user::compile(Path::new("bench.yaml"), &yaml) else {
            return;
        };
        let Ok(mut registry) = shieldwall_parse::parsers::builtin() else {
            return;
        };
        if user::register(&mut registry, parsers).is_err() {
            return;
        }
        let n = normaliser(registry);
        group.bench_with_input(BenchmarkId::new("types", types), &lines, |b, lines| {
            b.iter(|| run(&n, lines))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_mixed, bench_user_parsers);
criterion_main!(benches);
