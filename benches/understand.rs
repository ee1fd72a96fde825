//! Messages per second of `Reader::read` (both readers and the agreement gate) on a labelled
//! corpus, and of the statistical reader alone (features and scoring), CPU only, one core.
//!
//! The corpus directory comes from `DSR_CORPUS`, else `../shared/corpus/dev` relative to the
//! crate, else the committed validation split `tests/corpus/validation`.

use std::path::PathBuf;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dsr_worker::understand::statistical::Input;
use dsr_worker::understand::{Company, Reader, StatisticalReader};

fn corpus() -> Option<(PathBuf, Vec<Vec<u8>>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = std::env::var_os("DSR_CORPUS")
        .map(|d| vec![PathBuf::from(d)])
        .unwrap_or_else(|| {
            vec![
                root.join("../shared/corpus/dev"),
                root.join("tests/corpus/validation"),
            ]
        });
    candidates.into_iter().find_map(|dir| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        let raws: Vec<Vec<u8>> = files.iter().filter_map(|f| std::fs::read(f).ok()).collect();
        (!raws.is_empty()).then_some((dir, raws))
    })
}

fn per_second(mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed().as_secs_f64() < 1.0 {
        n += f();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bench(c: &mut Criterion) {
    let Some((dir, raws)) = corpus() else {
        eprintln!(
            "understand bench: no corpus (set DSR_CORPUS to a directory of .eml files); skipped"
        );
        return;
    };
    let reader = Reader::new(Company::nlg_defaults());
    // Warm the vocabularies and the model once, then report plain figures besides criterion's.
    for raw in &raws {
        let _ = reader.read(raw);
    }
    let both = per_second(|| {
        for raw in &raws {
            let _ = std::hint::black_box(reader.read(raw));
        }
        raws.len()
    });

    // The statistical reader alone, on the texts the reader extracts.
    let texts: Vec<(String, String, String)> = raws
        .iter()
        .filter_map(|raw| reader.read(raw).ok())
        .map(|r| (r.envelope.subject.clone(), r.text.clone(), String::new()))
        .collect();
    let statistical = StatisticalReader::embedded();
    let read_statistical = |texts: &[(String, String, String)]| {
        for (subject, own, _) in texts {
            let input = Input {
                subject,
                own,
                ..Input::default()
            };
            let _ = std::hint::black_box(statistical.read(&input));
        }
        texts.len()
    };
    let alone = per_second(|| read_statistical(&texts));
    eprintln!(
        "understand bench ({}, {} messages): {both:.0} messages/s with both readers, \
         statistical reader alone {alone:.0}/s, one core",
        dir.display(),
        raws.len()
    );

    let mut group = c.benchmark_group("understand");
    group.throughput(Throughput::Elements(raws.len() as u64));
    group.bench_function("read corpus (both readers)", |b| {
        b.iter(|| {
            for raw in &raws {
                let _ = std::hint::black_box(reader.read(raw));
            }
        })
    });
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("statistical reader alone", |b| {
        b.iter(|| read_statistical(&texts))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
