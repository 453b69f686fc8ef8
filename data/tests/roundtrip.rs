//! Parquet → CSV → Arrow IPC → Parquet round-trips every canonical table losslessly.

use std::path::Path;

use arrow_array::RecordBatch;
use arrow_select::concat::concat_batches;
use proptest::prelude::*;
use roicast_data::builder::RowBuilder;
use roicast_data::dataset::read_file;
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::io::write_table;
use roicast_data::validate::NoProgress;
use roicast_data::{Kind, Table};

/// Writes `batch` as Parquet, reads it back, and so on through CSV, IPC and Parquet
/// again; returns what the last read gave.
fn round_trip(table: Table, batch: &RecordBatch, dir: &Path) -> RecordBatch {
    let schema = table.spec().arrow_schema();
    let mut current = batch.clone();
    for (i, ext) in ["parquet", "csv", "arrow", "parquet"].iter().enumerate() {
        let path = dir.join(format!("{}-{i}.{ext}", table.name()));
        write_table(&path, &schema, std::slice::from_ref(&current)).unwrap();
        let (batches, rejects) = read_file(table, &path).unwrap();
        // Values may break rules (random data); the round trip only needs the values back.
        let conversion_failures: Vec<_> = rejects
            .iter()
            .filter(|r| {
                [
                    "expected an integer",
                    "expected a number",
                    "expected a boolean",
                    "expected an RFC 3339",
                    "expected a whole",
                ]
                .iter()
                .any(|m| r.reason.starts_with(m))
                    || r.row.is_none()
            })
            .collect();
        assert!(conversion_failures.is_empty(), "{ext}: {conversion_failures:?}");
        current = if batches.is_empty() {
            RecordBatch::new_empty(schema.clone())
        } else {
            concat_batches(&schema, &batches).unwrap()
        };
    }
    current
}

#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(i64),
    Null,
}

fn cell(kind: Kind, nullable: bool) -> BoxedStrategy<Cell> {
    let value: BoxedStrategy<Cell> = match kind {
        // Any non-empty text: CSV reads an empty field as null (documented).
        Kind::Text => "[^\u{0}]{1,12}".prop_map(Cell::Text).boxed(),
        Kind::Int => any::<i64>().prop_map(Cell::Int).boxed(),
        Kind::Float => prop_oneof![
            any::<f64>().prop_filter("NaN never equals itself", |f| !f.is_nan()),
            Just(f64::INFINITY),
            Just(-0.0),
            Just(0.1),
        ]
        .prop_map(Cell::Float)
        .boxed(),
        Kind::Bool => any::<bool>().prop_map(Cell::Bool).boxed(),
        // 1900 … 2200, any microsecond.
        Kind::Timestamp => (-2_208_988_800_000_000i64..7_258_118_400_000_000).prop_map(Cell::Ts).boxed(),
    };
    if nullable { prop_oneof![1 => Just(Cell::Null), 3 => value].boxed() } else { value }
}

fn table_strategy() -> impl Strategy<Value = (Table, Vec<Vec<Cell>>)> {
    (0..Table::ALL.len()).prop_flat_map(|t| {
        let table = Table::ALL[t];
        let row: Vec<BoxedStrategy<Cell>> = table.spec().columns.iter().map(|c| cell(c.kind, c.nullable)).collect();
        (Just(table), prop::collection::vec(row, 0..20))
    })
}

fn build(table: Table, rows: &[Vec<Cell>]) -> RecordBatch {
    let mut b = RowBuilder::for_table(table);
    for row in rows {
        for (c, spec) in row.iter().zip(table.spec().columns) {
            match (c, spec.kind) {
                (Cell::Text(s), _) => b.text(s),
                (Cell::Int(v), _) => b.int(*v),
                (Cell::Float(v), _) => b.float(*v),
                (Cell::Bool(v), _) => b.bool(*v),
                (Cell::Ts(v), _) => b.ts(*v),
                (Cell::Null, Kind::Text) => b.opt_text(None),
                (Cell::Null, Kind::Int) => b.opt_int(None),
                (Cell::Null, Kind::Float) => b.opt_float(None),
                (Cell::Null, Kind::Bool) => b.opt_bool(None),
                (Cell::Null, Kind::Timestamp) => b.opt_ts(None),
            };
        }
        b.end_row();
    }
    b.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_tables_round_trip_through_every_format((table, rows) in table_strategy()) {
        let dir = tempfile::tempdir().unwrap();
        let batch = build(table, &rows);
        let back = round_trip(table, &batch, dir.path());
        prop_assert_eq!(back, batch);
    }
}

#[test]
fn generated_world_round_trips_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    generate(&GenerateParams::new(Scenario::Small).seed(3), &world, &NoProgress).unwrap();
    for &table in Table::ALL {
        let (batches, rejects) = read_file(table, &world.join(format!("{}.parquet", table.name()))).unwrap();
        assert!(rejects.is_empty(), "{table}: {:?}", rejects.first());
        let schema = table.spec().arrow_schema();
        let original = concat_batches(&schema, &batches).unwrap();
        assert!(original.num_rows() > 0, "{table} is empty");
        let back = round_trip(table, &original, dir.path());
        assert_eq!(back, original, "{table} changed in the round trip");
    }
}
