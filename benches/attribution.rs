//! Benchmarks of attribution: rule models and Markov over every order's journey, the
//! exact Markov solve alone, and the data-driven fit.
//!
//! Run: `cargo bench -p roicast-benches --bench attribution`. The `demo` world (~60 k
//! users) always runs; set `ROICAST_BENCH_LARGE=1` to add the `large` world (10 M
//! touchpoints, ~1.9 M journeys; generating it takes a few seconds outside the timing).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roicast_data::Format;
use roicast_data::generate::Scenario;
use roicast_data::journeys::{JourneyParams, Journeys, build};
use roicast_models::attribution::Rule;
use roicast_models::attribution::credits::{GroupBy, Model, credit_orders, grouping, path_counts};
use roicast_models::attribution::hazard::hazard_data;
use roicast_models::attribution::markov::{removal_effects, removal_effects_dense};
use roicast_training::hazard::AdditiveHazardParams;

fn worlds() -> Vec<(&'static str, tempfile::TempDir, Journeys)> {
    let mut out = Vec::new();
    let mut sizes = vec![("demo", Scenario::Demo)];
    if std::env::var_os("ROICAST_BENCH_LARGE").is_some() {
        sizes.push(("large", Scenario::Large));
    }
    for (name, scenario) in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let world = roicast_benches::world(dir.path(), name, scenario, 42, Format::Parquet).expect("world");
        let ds = roicast_data::Dataset::open(&world).expect("dataset");
        let j = build(&ds, &JourneyParams::default()).expect("journeys");
        out.push((name, dir, j));
    }
    out
}

fn bench(c: &mut Criterion) {
    let worlds = worlds();
    let mut g = c.benchmark_group("attribution");
    g.sample_size(10);
    for (name, _dir, j) in &worlds {
        let grp = grouping(j, GroupBy::Channel);
        let n_journeys = (j.orders.len() + j.non_converting.len()) as u64;
        g.throughput(Throughput::Elements(j.orders.len() as u64));
        let rules = [Model::Rule(Rule::FirstTouch), Model::Rule(Rule::LastTouch), Model::Rule(Rule::Linear)];
        g.bench_function(BenchmarkId::new("rules_first_last_linear", name), |b| {
            b.iter(|| credit_orders(j, &grp, &rules, None, |_| Ok(())).expect("credits"));
        });
        g.bench_function(BenchmarkId::new("markov_credits", name), |b| {
            b.iter(|| credit_orders(j, &grp, &[Model::Markov(1)], None, |_| Ok(())).expect("credits"));
        });
        let paths = path_counts(j, &grp);
        g.throughput(Throughput::Elements(n_journeys));
        g.bench_function(BenchmarkId::new("markov_removal_effects_exact", name), |b| {
            b.iter(|| removal_effects(&paths, grp.names.len(), 1).expect("effects"));
        });
        // By creator: the sparse LU against one dense solve per group (the method before).
        let by_creator = grouping(j, GroupBy::Creator);
        let creator_paths = path_counts(j, &by_creator);
        g.bench_function(BenchmarkId::new("markov_by_creator_sparse", name), |b| {
            b.iter(|| removal_effects(&creator_paths, by_creator.names.len(), 1).expect("effects"));
        });
        if *name == "demo" {
            // (At `large`, 3,797 states: 3,796 dense solves of 3,797² — hours.)
            g.bench_function(BenchmarkId::new("markov_by_creator_dense", name), |b| {
                b.iter(|| removal_effects_dense(&creator_paths, by_creator.names.len(), 1).expect("effects"));
            });
        }
        let gi = grouping(j, GroupBy::ChannelInteraction);
        let (data, _, _) = hazard_data(j, &gi);
        g.throughput(Throughput::Elements(data.len() as u64));
        g.bench_function(BenchmarkId::new("data_driven_fit", name), |b| {
            b.iter(|| AdditiveHazardParams::new().fit(&data, &gi.names).expect("fit"));
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
