//! Reading named numeric columns from a CSV, Parquet or Arrow IPC file, for inputs that are
//! not canonical tables (RFM summaries, survival tables). Every bad value is an error naming
//! file, row and column.

use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_schema::DataType;

use crate::error::DataError;
use crate::io::Format;

fn invalid(path: &Path, row: u64, column: &str, reason: String) -> DataError {
    DataError::InvalidRow { path: path.to_owned(), row, column: column.to_owned(), reason }
}

fn parse(path: &Path, row: u64, column: &str, s: &str) -> Result<f64, DataError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(path, row, column, "required value is missing".into()));
    }
    let v: f64 = s.parse().map_err(|_| invalid(path, row, column, format!("expected a number, found `{s}`")))?;
    if !v.is_finite() {
        return Err(invalid(path, row, column, format!("expected a finite number, found {v}")));
    }
    Ok(v)
}

/// Reads `columns` (all required) as floats, in file order. The first row is row 1.
pub fn read_f64_columns(path: &Path, columns: &[&str]) -> Result<Vec<Vec<f64>>, DataError> {
    let format = Format::from_path(path).ok_or_else(|| DataError::UnknownFormat { path: path.to_owned() })?;
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    if format == Format::Csv {
        let (mut rdr, guard) = crate::io::open_guarded_csv(path, &csv::ReaderBuilder::new())?;
        let headers = rdr.headers().map_err(|e| crate::io::csv_error(path, 0, e))?.clone();
        let idx: Vec<usize> = columns
            .iter()
            .map(|c| {
                headers
                    .iter()
                    .position(|h| h.trim() == *c)
                    .ok_or_else(|| invalid(path, 0, c, "required column is missing".into()))
            })
            .collect::<Result<_, _>>()?;
        guard.store(0, std::sync::atomic::Ordering::Relaxed);
        for (r, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| crate::io::csv_error(path, r as u64 + 1, e))?;
            guard.store(0, std::sync::atomic::Ordering::Relaxed);
            for (k, &i) in idx.iter().enumerate() {
                out[k].push(parse(path, r as u64 + 1, columns[k], rec.get(i).unwrap_or_default())?);
            }
        }
        return Ok(out);
    }
    let mut reader = crate::io::FileReader::open(crate::schema::Table::Orders, path)?;
    let schema = reader.schema();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| schema.index_of(c).map_err(|_| invalid(path, 0, c, "required column is missing".into())))
        .collect::<Result<_, _>>()?;
    while let Some(raw) = reader.next_batch()? {
        for (k, &i) in idx.iter().enumerate() {
            let a = arrow_cast::cast(raw.batch.column(i), &DataType::Float64)
                .map_err(|e| invalid(path, raw.first_row, columns[k], format!("expected numbers: {e}")))?;
            let a = a.as_primitive::<Float64Type>();
            for r in 0..a.len() {
                let row = raw.first_row + r as u64;
                if a.is_null(r) {
                    return Err(invalid(path, row, columns[k], "required value is missing".into()));
                }
                let v = a.value(r);
                if !v.is_finite() {
                    return Err(invalid(path, row, columns[k], format!("expected a finite number, found {v}")));
                }
                out[k].push(v);
            }
        }
    }
    Ok(out)
}
