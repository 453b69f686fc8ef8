//! Benchmarks of the data layer: world generation, reading with conforming, validation.
//!
//! Run: `cargo bench -p roicast-benches --bench data`. Data is built outside the timed
//! loops with fixed seeds.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use roicast_data::dataset::read_file;
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::{NoProgress, validate};
use roicast_data::{Dataset, Format, Table};

fn bench_generate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    for (name, scenario) in [("small", Scenario::Small), ("demo", Scenario::Demo)] {
        let out = dir.path().join(name);
        // Rows per run, for throughput.
        let rows: u64 = generate(&GenerateParams::new(scenario).overwrite(true), &out, &NoProgress)
            .expect("generate")
            .rows
            .values()
            .sum();
        g.throughput(Throughput::Elements(rows));
        g.bench_function(BenchmarkId::new("world", name), |b| {
            b.iter(|| generate(&GenerateParams::new(scenario).overwrite(true), &out, &NoProgress).expect("generate"));
        });
    }
    g.finish();
}

fn bench_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("read_touchpoints");
    g.sample_size(10);
    for format in [Format::Parquet, Format::Csv, Format::Ipc] {
        let world = roicast_benches::world(dir.path(), format.extension(), Scenario::Demo, 42, format).expect("world");
        let path = world.join(format!("touchpoints.{}", format.extension()));
        let (batches, _) = read_file(Table::Touchpoints, &path).expect("read");
        g.throughput(Throughput::Elements(batches.iter().map(|b| b.num_rows() as u64).sum()));
        g.bench_function(BenchmarkId::new("demo", format.extension()), |b| {
            b.iter(|| read_file(Table::Touchpoints, &path).expect("read"));
        });
    }
    g.finish();
}

fn bench_validate(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let world = roicast_benches::world(dir.path(), "demo", Scenario::Demo, 42, Format::Parquet).expect("world");
    let dataset = Dataset::open(&world).expect("dataset");
    let rows: u64 = validate(&dataset, &NoProgress).expect("validate").tables.iter().map(|t| t.rows).sum();
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows));
    g.bench_function("demo_world", |b| b.iter(|| validate(&dataset, &NoProgress).expect("validate")));
    g.finish();
}

criterion_group!(benches, bench_generate, bench_read, bench_validate);
criterion_main!(benches);
