//! Reply understanding over the mixed multilingual corpus (`tests/corpus/replies.jsonl`).
//! Target: at least one million replies a second on one core.
//!
//! Run: `cargo bench -p ratewire-core --bench reply`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ratewire_core::{Catalog, Labels, Locale, Scale, understand};

const CORPUS: &str = include_str!("../../tests/corpus/replies.jsonl");

struct Case {
    text: String,
    scale: Scale,
    locale: Locale,
    labels: Labels,
}

fn corpus() -> Vec<Case> {
    CORPUS
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("corpus lines are JSON");
            let scale: Scale = value["scale"].as_str().unwrap().parse().unwrap();
            let locale: Locale = value["locale"].as_str().unwrap().parse().unwrap();
            Case {
                text: value["text"].as_str().unwrap().to_owned(),
                scale,
                locale,
                labels: Labels::new(Catalog::shipped().default_labels(locale, scale)),
            }
        })
        .collect()
}

fn bench_reply(c: &mut Criterion) {
    let cases = corpus();
    let mut group = c.benchmark_group("reply");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("understand_corpus", |b| {
        b.iter(|| {
            for case in &cases {
                black_box(understand(black_box(&case.text), case.scale, case.locale, &case.labels));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_reply);
criterion_main!(benches);
