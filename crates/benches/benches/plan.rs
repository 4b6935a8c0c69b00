//! `plan` on a generated manifest: parsing and validation, planning, and rendering JSON, at 10,
//! 100 and 1,000 workloads. The goal for 1,000 workloads is well under a second end to end.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use shieldwall_catalog::Catalog;
use shieldwall_plan::{Format, PlanOptions, manifest, plan, render};

fn bench_plan(c: &mut Criterion) {
    let Ok(catalog) = Catalog::embedded() else {
        return;
    };
    let options = PlanOptions::new(jiff::civil::date(2026, 11, 30));
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for workloads in [10usize, 100, 1000] {
        let text = shieldwall_benches::manifest(catalog, workloads);
        let Ok(parsed) = manifest::parse("bench.toml", &text, catalog) else {
            return;
        };
        group.bench_with_input(BenchmarkId::new("parse", workloads), &text, |b, text| {
            b.iter(|| manifest::parse("bench.toml", text, catalog))
        });
        group.bench_with_input(BenchmarkId::new("compute", workloads), &parsed, |b, m| {
            b.iter(|| plan(catalog, m, &[], &options))
        });
        let Ok(report) = plan(catalog, &parsed, &[], &options) else {
            return;
        };
        group.bench_with_input(
            BenchmarkId::new("render-json", workloads),
            &report,
            |b, r| b.iter(|| render(r, catalog, Format::Json)),
        );
        group.bench_with_input(
            BenchmarkId::new("end-to-end", workloads),
            &text,
            |b, text| {
                b.iter(|| {
                    let m = manifest::parse("bench.toml", text, catalog).ok()?;
                    let r = plan(catalog, &m, &[], &options).ok()?;
                    render(&r, catalog, Format::Json).ok()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
