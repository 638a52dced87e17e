//! Emails per second through the rule engine on one core, over the corpus's decoded texts
//! (MIME parsing and HTML rendering happen before the engine and are not measured).
//!
//! `cargo bench -p penny-rules --bench engine`; criterion reports the throughput in elem/s,
//! one element being one email. The engine runs on the bench's one thread; on a shared machine,
//! pin it to one core (`taskset -c 1 cargo bench …`) so the figure is emails per second of one
//! core.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use penny_rules::eval::{CorpusEmail, load};
use penny_rules::extract;

fn corpus() -> Vec<CorpusEmail> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    match load(&dir) {
        Ok(rows) => rows.into_iter().map(|(_, email)| email).collect(),
        Err(e) => panic!("cannot load the corpus at {}: {e}", dir.display()),
    }
}

fn engine(c: &mut Criterion) {
    let emails = corpus();
    // Build the lazily compiled rules before measuring.
    for email in &emails {
        black_box(extract(&email.email()));
    }
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(emails.len() as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            for email in &emails {
                black_box(extract(black_box(&email.email())));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
