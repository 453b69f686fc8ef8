//! Benchmarks of the CLV fits on the CDNOW sample (the project's fixture).
//!
//! Run: `cargo bench -p roicast-benches --bench clv`.

use criterion::{Criterion, criterion_group, criterion_main};
use roicast_data::numeric::read_f64_columns;
use roicast_models::clv::Rfm;
use roicast_training::clv::ClvParams;

fn bench(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/clv/cdnow_rfm_monetary.csv");
    let cols = read_f64_columns(&path, &["frequency", "recency", "T", "monetary_value"]).expect("fixture");
    let rfm: Vec<Rfm> =
        (0..cols[0].len()).map(|i| Rfm { frequency: cols[0][i], recency: cols[1][i], t: cols[2][i] }).collect();
    let repeat: Vec<usize> = (0..rfm.len()).filter(|&i| cols[0][i] > 0.0).collect();
    let x: Vec<f64> = repeat.iter().map(|&i| cols[0][i]).collect();
    let m: Vec<f64> = repeat.iter().map(|&i| cols[3][i]).collect();
    let cohort = [1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0];
    let mut g = c.benchmark_group("clv_fit");
    g.sample_size(20);
    g.bench_function("bgnbd/cdnow", |b| b.iter(|| ClvParams::new().fit_bgnbd(&rfm).expect("fit")));
    g.bench_function("pareto_nbd/cdnow", |b| b.iter(|| ClvParams::new().fit_pareto_nbd(&rfm).expect("fit")));
    g.bench_function("gamma_gamma/cdnow", |b| b.iter(|| ClvParams::new().fit_gamma_gamma(&x, &m).expect("fit")));
    g.bench_function("sbg/fader_hardie_regular", |b| b.iter(|| ClvParams::new().fit_sbg(&cohort).expect("fit")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
