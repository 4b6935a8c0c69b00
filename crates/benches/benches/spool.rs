//! Spool appends: batches of syslog-sized records, each batch flushed to disk before it returns,
//! as a source does before acknowledging. Measures records per second at three batch sizes.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shieldwall_collect::spool::{Spool, SpoolConfig};

fn bench_append(c: &mut Criterion) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let record = b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8 (a typical 200-byte syslog line padded to size ..............................................................................)";
    let mut group = c.benchmark_group("spool-append");
    group.sample_size(10);
    for batch in [1usize, 100, 1000] {
        let path = dir.path().join(format!("b{batch}"));
        let Ok((mut spool, _)) = Spool::open(SpoolConfig::new(&path)) else {
            return;
        };
        let payloads: Vec<&[u8]> = vec![record.as_slice(); batch];
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(batch),
            &payloads,
            |b, payloads| {
                b.iter(|| {
                    let seqs = spool.append(payloads).ok();
                    // Stay under the default quota, deleting whole segments now and then as the
                    // pipeline would, rather than after every batch.
                    if let Some(seqs) = seqs
                        && spool.bytes() > 512 << 20
                    {
                        let _ = spool.acknowledge(seqs.end);
                    }
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_append);
criterion_main!(benches);
