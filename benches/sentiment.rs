//! Comment sentiment throughput: VADER, the embedded default model and the language check
//! in front of it, one thread and all cores, on the creator-comment fixture tiled to
//! 20 000 comments.
//!
//! Run: `cargo bench -p roicast-benches --bench sentiment`. The Python peer comparison
//! (same comments, same run) is `bash benches/peers/sentiment.sh`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use roicast_models::sentiment::linear::embedded_default;
use roicast_models::sentiment::{Vader, language};

fn comments() -> Vec<String> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sentiment/creator_comments.csv");
    let text = std::fs::read_to_string(path).expect("fixture");
    let base: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            // comment_id,text,label,split — text may be quoted and contain commas.
            let rest = l.split_once(',')?.1;
            let (t, _) = rest.rsplit_once(',')?.0.rsplit_once(',')?;
            Some(t.trim_matches('"').replace("\"\"", "\""))
        })
        .collect();
    base.iter().cycle().take(20_000).cloned().collect()
}

fn bench(c: &mut Criterion) {
    let texts = comments();
    let vader = Vader::get();
    let model = &embedded_default().model;
    let mut g = c.benchmark_group("sentiment");
    g.sample_size(15);
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("vader/1_thread", |b| {
        b.iter(|| texts.iter().map(|t| vader.polarity_scores(t).compound).sum::<f64>());
    });
    g.bench_function("default_model/1_thread", |b| {
        b.iter(|| texts.iter().map(|t| model.proba(t)[2]).sum::<f64>());
    });
    // What the sentiment job does per comment: the language, then the model where the
    // language is one it knows.
    g.bench_function("language/1_thread", |b| {
        b.iter(|| texts.iter().filter(|t| language::detect(t) == "eng").count());
    });
    g.bench_function("language_english_counts/1_thread", |b| {
        b.iter(|| texts.iter().map(|t| roicast_models::sentiment::english_counts(t).3).sum::<usize>());
    });
    g.bench_function("language_whatlang_only/1_thread", |b| {
        b.iter(|| texts.iter().filter(|t| whatlang::detect(t).is_some()).count());
    });
    g.bench_function("default_model_with_language/1_thread", |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| if language::is_scored(language::detect(t)) { model.proba(t)[2] } else { 0.0 })
                .sum::<f64>()
        });
    });
    g.bench_function("vader/all_cores", |b| {
        b.iter(|| texts.par_iter().with_min_len(512).map(|t| vader.polarity_scores(t).compound).sum::<f64>());
    });
    g.bench_function("default_model/all_cores", |b| {
        b.iter(|| texts.par_iter().with_min_len(512).map(|t| model.proba(t)[2]).sum::<f64>());
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
