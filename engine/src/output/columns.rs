//! Typed cell access on conformed canonical batches (the column exists and has the
//! contract's type, so a mismatch is a bug and panics naming the column).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use roicast_data::Table;

/// The canonical column `name` of a conformed `table` batch.
#[must_use]
pub fn col<'a>(b: &'a RecordBatch, t: Table, name: &str) -> &'a dyn Array {
    b.column(t.spec().index_of(name).unwrap_or_else(|| panic!("{}.{name} is not a canonical column", t.name())))
        .as_ref()
}

/// A text cell (owned), `None` when null.
#[must_use]
pub fn text(b: &RecordBatch, t: Table, name: &str, i: usize) -> Option<String> {
    let a = col(b, t, name).as_string::<i32>();
    a.is_valid(i).then(|| a.value(i).to_owned())
}

/// An integer cell as f64, `None` when null.
#[must_use]
pub fn int(b: &RecordBatch, t: Table, name: &str, i: usize) -> Option<f64> {
    let a = col(b, t, name).as_primitive::<Int64Type>();
    a.is_valid(i).then(|| a.value(i) as f64)
}

/// A float cell, `None` when null.
#[must_use]
pub fn float(b: &RecordBatch, t: Table, name: &str, i: usize) -> Option<f64> {
    let a = col(b, t, name).as_primitive::<Float64Type>();
    a.is_valid(i).then(|| a.value(i))
}

/// A timestamp cell (µs since the epoch, UTC), `None` when null.
#[must_use]
pub fn ts(b: &RecordBatch, t: Table, name: &str, i: usize) -> Option<i64> {
    let a = col(b, t, name).as_primitive::<TimestampMicrosecondType>();
    a.is_valid(i).then(|| a.value(i))
}

/// A boolean cell, `None` when null.
#[must_use]
pub fn boolean(b: &RecordBatch, t: Table, name: &str, i: usize) -> Option<bool> {
    let a = col(b, t, name).as_boolean();
    a.is_valid(i).then(|| a.value(i))
}
