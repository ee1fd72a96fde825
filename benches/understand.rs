//! Messages per second of `Reader::read` on a labelled corpus (CPU only, one core).
//!
//! The corpus directory comes from `DSR_CORPUS`, else `../shared/corpus/dev` relative to the
//! crate; without it the benchmark says so and does nothing.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsr_worker::understand::{Company, Reader};

fn corpus() -> Option<Vec<Vec<u8>>> {
    let dir = std::env::var_os("DSR_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/dev"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    let raws: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
    (!raws.is_empty()).then_some(raws)
}

fn bench(c: &mut Criterion) {
    let Some(raws) = corpus() else {
        eprintln!(
            "understand bench: no corpus (set DSR_CORPUS to a directory of .eml files); skipped"
        );
        return;
    };
    let reader = Reader::new(Company::nlg_defaults());
    // Warm the vocabularies once, then report a plain figure besides criterion's.
    for raw in &raws {
        let _ = reader.read(raw);
    }
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed().as_secs_f64() < 1.0 {
        for raw in &raws {
            let _ = std::hint::black_box(reader.read(raw));
            n += 1;
        }
    }
    eprintln!(
        "understand bench: {:.0} messages/s on one core ({} messages in corpus)",
        n as f64 / start.elapsed().as_secs_f64(),
        raws.len()
    );
    let mut group = c.benchmark_group("understand");
    group.throughput(Throughput::Elements(raws.len() as u64));
    group.bench_function("read corpus", |b| {
        b.iter(|| {
            for raw in &raws {
                let _ = std::hint::black_box(reader.read(raw));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
