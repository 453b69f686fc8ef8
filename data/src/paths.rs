//! `ChannelAttribution`'s aggregated path table: `path` (`a > b > c`), `total_conversions`,
//! optional `total_conversion_value` and `total_null`; CSV (`,` or `;`, sniffed from the
//! header) or Parquet / Arrow IPC.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use crate::error::DataError;
use crate::io::Format;

/// One row of a path table.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRow {
    /// Channels in order, trimmed; empty segments dropped.
    pub path: Vec<String>,
    /// Conversions (fractional allowed).
    pub conversions: f64,
    /// Conversion value (0 when the column is absent).
    pub value: f64,
    /// Non-converting journeys (0 when the column is absent).
    pub nulls: f64,
}

fn invalid(path: &Path, row: u64, column: &str, reason: String) -> DataError {
    DataError::InvalidRow { path: path.to_owned(), row, column: column.to_owned(), reason }
}

fn number(path: &Path, row: u64, column: &str, s: Option<&str>, required: bool) -> Result<f64, DataError> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return if required { Err(invalid(path, row, column, "required value is missing".into())) } else { Ok(0.0) };
    };
    let v: f64 = s.parse().map_err(|_| invalid(path, row, column, format!("expected a number, found `{s}`")))?;
    if !v.is_finite() || v < 0.0 {
        return Err(invalid(path, row, column, format!("expected a finite number >= 0, found {v}")));
    }
    Ok(v)
}

fn split(p: &str, sep: &str) -> Vec<String> {
    p.split(sep).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A row whose path is empty but which carries conversions or value has no channel to
/// credit them to: refused, never silently dropped.
fn checked(path: &Path, row: u64, r: PathRow) -> Result<PathRow, DataError> {
    if r.path.is_empty() && (r.conversions > 0.0 || r.value > 0.0) {
        return Err(invalid(
            path,
            row,
            "path",
            format!(
                "the path is empty but the row has {} conversion(s) worth {}: there is no channel to credit them to",
                r.conversions, r.value
            ),
        ));
    }
    Ok(r)
}

/// Reads a path table; `sep` separates channels within `path` (e.g. `>`).
pub fn read_path_table(path: &Path, sep: &str) -> Result<Vec<PathRow>, DataError> {
    let sep = sep.trim();
    if sep.is_empty() {
        return Err(DataError::InvalidParam {
            name: "sep",
            value: "''".into(),
            expected: "a non-blank separator".into(),
        });
    }
    let format = Format::from_path(path).ok_or_else(|| DataError::UnknownFormat { path: path.to_owned() })?;
    if format == Format::Csv {
        return read_csv(path, sep);
    }
    let mut reader = crate::io::FileReader::open(crate::schema::Table::Touchpoints, path)?;
    let schema = reader.schema();
    let idx = |name: &str| schema.index_of(name).ok();
    let p = idx("path").ok_or_else(|| invalid(path, 0, "path", "required column is missing".into()))?;
    let c = idx("total_conversions")
        .ok_or_else(|| invalid(path, 0, "total_conversions", "required column is missing".into()))?;
    let (v, n) = (idx("total_conversion_value"), idx("total_null"));
    let mut rows = Vec::new();
    while let Some(raw) = reader.next_batch()? {
        let b = raw.batch;
        let text = arrow_cast::cast(b.column(p), &DataType::Utf8)
            .map_err(|e| invalid(path, raw.first_row, "path", format!("expected text: {e}")))?;
        let text = text.as_string::<i32>();
        let num = |i: usize, name: &str| -> Result<ArrayRef, DataError> {
            arrow_cast::cast(b.column(i), &DataType::Float64)
                .map_err(|e| invalid(path, raw.first_row, name, format!("expected numbers: {e}")))
        };
        let conv = num(c, "total_conversions")?;
        let value = v.map(|i| num(i, "total_conversion_value")).transpose()?;
        let nulls = n.map(|i| num(i, "total_null")).transpose()?;
        for i in 0..b.num_rows() {
            let row = raw.first_row + i as u64;
            let get = |a: &ArrayRef| (!a.is_null(i)).then(|| a.as_primitive::<Float64Type>().value(i).to_string());
            if text.is_null(i) {
                return Err(invalid(path, row, "path", "required value is missing".into()));
            }
            rows.push(checked(
                path,
                row,
                PathRow {
                    path: split(text.value(i), sep),
                    conversions: number(path, row, "total_conversions", get(&conv).as_deref(), true)?,
                    value: number(path, row, "total_conversion_value", value.as_ref().and_then(get).as_deref(), false)?,
                    nulls: number(path, row, "total_null", nulls.as_ref().and_then(get).as_deref(), false)?,
                },
            )?);
        }
    }
    Ok(rows)
}

fn read_csv(path: &Path, sep: &str) -> Result<Vec<PathRow>, DataError> {
    let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
    let header = text.lines().next().unwrap_or_default();
    let delimiter = if header.contains(';') && !header.contains(',') { b';' } else { b',' };
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|source| DataError::Csv { path: path.to_owned(), source })?.clone();
    let idx = |name: &str| headers.iter().position(|h| h.trim() == name);
    let p = idx("path").ok_or_else(|| invalid(path, 0, "path", "required column is missing".into()))?;
    let c = idx("total_conversions")
        .ok_or_else(|| invalid(path, 0, "total_conversions", "required column is missing".into()))?;
    let (v, n) = (idx("total_conversion_value"), idx("total_null"));
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
        let row = i as u64 + 1;
        rows.push(checked(
            path,
            row,
            PathRow {
                path: split(rec.get(p).unwrap_or_default(), sep),
                conversions: number(path, row, "total_conversions", rec.get(c), true)?,
                value: number(path, row, "total_conversion_value", v.and_then(|v| rec.get(v)), false)?,
                nulls: number(path, row, "total_null", n.and_then(|n| rec.get(n)), false)?,
            },
        )?);
    }
    Ok(rows)
}
