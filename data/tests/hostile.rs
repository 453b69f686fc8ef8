//! Input that looks fine and is not: a column named twice is refused, not guessed at.

use roicast_data::Table;
use roicast_data::dataset::read_file;

#[test]
fn a_column_named_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        "order_id,customer_id,ordered_at,revenue,currency,revenue\no1,c1,2025-01-01T00:00:00Z,10,USD,12\n",
    )
    .unwrap();
    let (_, rejects) = read_file(Table::Orders, &path).unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert_eq!(rejects[0].column, "revenue");
    assert!(rejects[0].reason.contains("appears twice (columns 4 and 6)"), "{}", rejects[0].reason);
}

/// Timestamps as pandas and Spark write them — nanoseconds or milliseconds, labelled
/// `UTC` or a named zone — read as the same instants (the label never converts a value;
/// found by the fuzzer: converting units made arrow-cast parse `UTC`, which it cannot
/// without chrono-tz, and the reader panicked).
#[test]
fn timestamps_of_any_unit_and_zone_label_read_as_the_same_instants() {
    use std::sync::Arc;

    use arrow_array::cast::AsArray;
    use arrow_array::types::TimestampMicrosecondType;
    use arrow_array::{
        ArrayRef, RecordBatch, TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
    };
    use arrow_schema::{Field, Schema};

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("campaigns.csv");
    std::fs::write(
        &csv,
        "campaign_id,name,brand,starts_at,ends_at,objective,budget,currency\n\
         c1,Spring,Lumina,1969-12-31T23:59:59.999999Z,2025-03-19T06:58:55.496602Z,conversion,100,USD\n",
    )
    .unwrap();
    let (expected, rejects) = read_file(Table::Campaigns, &csv).unwrap();
    assert!(rejects.is_empty(), "{rejects:?}");
    let expected = &expected[0];
    let col = |b: &RecordBatch, name: &str| -> Vec<Option<i64>> {
        b.column_by_name(name).unwrap().as_primitive::<TimestampMicrosecondType>().iter().collect()
    };
    let us = |name: &str| col(expected, name)[0].unwrap();
    let (start, end) = (us("starts_at"), us("ends_at"));
    let variants: Vec<(&str, ArrayRef, ArrayRef)> = vec![
        (
            "ns UTC",
            Arc::new(TimestampNanosecondArray::from(vec![start * 1000]).with_timezone("UTC")),
            Arc::new(TimestampNanosecondArray::from(vec![end * 1000]).with_timezone("UTC")),
        ),
        (
            "ms Europe/Paris",
            Arc::new(TimestampMillisecondArray::from(vec![start.div_euclid(1000)]).with_timezone("Europe/Paris")),
            Arc::new(TimestampMillisecondArray::from(vec![end.div_euclid(1000)]).with_timezone("Europe/Paris")),
        ),
        (
            "s naive",
            Arc::new(TimestampSecondArray::from(vec![start.div_euclid(1_000_000)])),
            Arc::new(TimestampSecondArray::from(vec![end.div_euclid(1_000_000)])),
        ),
    ];
    for (what, s, e) in variants {
        let mut fields: Vec<Field> = expected.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
        let mut columns: Vec<ArrayRef> = expected.columns().to_vec();
        for (name, a) in [("starts_at", &s), ("ends_at", &e)] {
            let i = expected.schema().index_of(name).unwrap();
            fields[i] = Field::new(name, a.data_type().clone(), true);
            columns[i] = a.clone();
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        for ext in ["parquet", "arrow"] {
            let path = dir.path().join(format!("campaigns.{ext}"));
            roicast_data::io::write_table(&path, &batch.schema(), std::slice::from_ref(&batch)).unwrap();
            let (read, rejects) = read_file(Table::Campaigns, &path).unwrap();
            assert!(rejects.is_empty(), "{what} {ext}: {rejects:?}");
            let factor = match what {
                "ns UTC" => 1,
                "ms Europe/Paris" => 1000,
                _ => 1_000_000,
            };
            assert_eq!(col(&read[0], "starts_at")[0], Some(start.div_euclid(factor) * factor), "{what} {ext}");
            assert_eq!(col(&read[0], "ends_at")[0], Some(end.div_euclid(factor) * factor), "{what} {ext}");
        }
    }
    // Seconds beyond what microseconds hold: a reject naming the value, not a null.
    let mut fields: Vec<Field> = expected.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut columns: Vec<ArrayRef> = expected.columns().to_vec();
    let i = expected.schema().index_of("ends_at").unwrap();
    fields[i] = Field::new("ends_at", arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Second, None), true);
    columns[i] = Arc::new(TimestampSecondArray::from(vec![i64::MAX / 10]));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
    let path = dir.path().join("campaigns.arrow");
    roicast_data::io::write_table(&path, &batch.schema(), std::slice::from_ref(&batch)).unwrap();
    let (_, rejects) = read_file(Table::Campaigns, &path).unwrap();
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    assert!(rejects[0].reason.contains("timestamp out of range"), "{}", rejects[0].reason);
}
