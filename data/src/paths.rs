//! `ChannelAttribution`'s aggregated path table: `path` (`a > b > c`), `total_conversions`,
//! optional `total_conversion_value` and `total_null`; CSV (`,` or `;`, sniffed from the
//! header) or Parquet / Arrow IPC.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

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

/// Channel names interned as they are first seen (a linear scan while the vocabulary is
/// small, a hash map beyond), so a path costs no allocation per channel.
#[derive(Default)]
struct Interner {
    channels: Vec<String>,
    index: FxHashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, c: &str) -> u32 {
        let found = if self.channels.len() <= 32 {
            self.channels.iter().position(|s| s == c).map(|i| i as u32)
        } else {
            self.index.get(c).copied()
        };
        found.unwrap_or_else(|| {
            let id = self.channels.len() as u32;
            self.channels.push(c.to_owned());
            self.index.insert(c.to_owned(), id);
            id
        })
    }

    /// The channels of `p` split at `sep`, trimmed, empty segments dropped.
    fn split(&mut self, p: &str, sep: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut push = |seg: &str| {
            let seg = seg.trim();
            if !seg.is_empty() {
                out.push(self.id(seg));
            }
        };
        // A one-character separator splits by `char` (a byte search), not by the general
        // substring searcher.
        let mut chars = sep.chars();
        match (chars.next(), chars.next()) {
            (Some(ch), None) => p.split(ch).for_each(&mut push),
            _ => p.split(sep).for_each(&mut push),
        }
        out
    }
}

/// A path table with its channels interned: `rows[i].path` holds indices into `channels`,
/// which are in first-seen order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InternedPaths {
    /// Channel names, in the order they first appear.
    pub channels: Vec<String>,
    /// The rows, in file order.
    pub rows: Vec<InternedRow>,
}

/// One row of an [`InternedPaths`].
#[derive(Debug, Clone, PartialEq)]
pub struct InternedRow {
    /// Channel indices in order.
    pub path: Vec<u32>,
    /// Conversions (fractional allowed).
    pub conversions: f64,
    /// Conversion value (0 when the column is absent).
    pub value: f64,
    /// Non-converting journeys (0 when the column is absent).
    pub nulls: f64,
}

/// A row whose path is empty but which carries conversions or value has no channel to
/// credit them to: refused, never silently dropped.
fn checked(path: &Path, row: u64, r: InternedRow) -> Result<InternedRow, DataError> {
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
    let t = read_interned(path, sep)?;
    Ok(t.rows
        .into_iter()
        .map(|r| PathRow {
            path: r.path.iter().map(|&c| t.channels[c as usize].clone()).collect(),
            conversions: r.conversions,
            value: r.value,
            nulls: r.nulls,
        })
        .collect())
}

/// Reads a path table with its channels interned (what attribution needs: no string per
/// channel of every path); the same checks and errors as [`read_path_table`].
pub fn read_interned(path: &Path, sep: &str) -> Result<InternedPaths, DataError> {
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
    let mut names = Interner::default();
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
                InternedRow {
                    path: names.split(text.value(i), sep),
                    conversions: number(path, row, "total_conversions", get(&conv).as_deref(), true)?,
                    value: number(path, row, "total_conversion_value", value.as_ref().and_then(get).as_deref(), false)?,
                    nulls: number(path, row, "total_null", nulls.as_ref().and_then(get).as_deref(), false)?,
                },
            )?);
        }
    }
    Ok(InternedPaths { channels: names.channels, rows })
}

fn read_csv(path: &Path, sep: &str) -> Result<InternedPaths, DataError> {
    let bytes = std::fs::read(path).map_err(DataError::io(path))?;
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = if header.contains(&b';') && !header.contains(&b',') { b';' } else { b',' };
    if let Some(t) = read_csv_parallel(&bytes, delimiter, sep) {
        return Ok(t);
    }
    read_csv_sequential(path, &bytes, delimiter, sep)
}

/// Fields of the header line (`None` without a usable header).
fn header_fields(bytes: &[u8], delimiter: u8) -> Option<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(bytes);
    Some(rdr.headers().ok()?.iter().map(|h| h.trim().to_owned()).collect())
}

/// The fast path for large, plain path tables (no quoting): the body split at line ends
/// into one chunk per thread, parsed in parallel, the chunks' channels merged in chunk
/// order (so ids are the sequential reader's first-seen order). `None` — read
/// sequentially — for small or quoted files and whenever a chunk has anything wrong with
/// it, so every error comes from the sequential reader with its exact row.
fn read_csv_parallel(bytes: &[u8], delimiter: u8, sep: &str) -> Option<InternedPaths> {
    const MIN_BYTES: usize = 1 << 20;
    let threads = rayon::current_num_threads();
    if bytes.len() < MIN_BYTES || threads < 2 || bytes.contains(&b'"') {
        return None;
    }
    let headers = header_fields(bytes, delimiter)?;
    let idx = |name: &str| headers.iter().position(|h| h == name);
    let (p, c) = (idx("path")?, idx("total_conversions")?);
    let (v, n) = (idx("total_conversion_value"), idx("total_null"));
    let body_start = bytes.iter().position(|&b| b == b'\n')? + 1;
    let body = &bytes[body_start..];
    let mut cuts = vec![0];
    for k in 1..threads * 4 {
        let at = (body.len() * k / (threads * 4)).max(*cuts.last().expect("a cut"));
        match body[at..].iter().position(|&b| b == b'\n') {
            Some(i) => cuts.push(at + i + 1),
            None => break,
        }
    }
    cuts.push(body.len());
    cuts.dedup();
    let dummy = Path::new("");
    let chunks: Vec<Option<(Vec<String>, Vec<InternedRow>)>> = cuts
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let mut rdr =
                csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).from_reader(&body[w[0]..w[1]]);
            let mut names = Interner::default();
            let mut rows = Vec::new();
            let mut rec = csv::ByteRecord::new();
            while rdr.read_byte_record(&mut rec).ok()? {
                if rec.len() != headers.len() {
                    return None;
                }
                let field = |i: Option<usize>| -> Option<Option<&str>> {
                    match i {
                        None => Some(None),
                        Some(i) => std::str::from_utf8(rec.get(i)?).ok().map(Some),
                    }
                };
                let row = InternedRow {
                    path: names.split(field(Some(p))??, sep),
                    conversions: number(dummy, 0, "", field(Some(c))?, true).ok()?,
                    value: number(dummy, 0, "", field(v)?, false).ok()?,
                    nulls: number(dummy, 0, "", field(n)?, false).ok()?,
                };
                rows.push(checked(dummy, 0, row).ok()?);
            }
            Some((names.channels, rows))
        })
        .collect();
    let mut names = Interner::default();
    let mut rows = Vec::new();
    for chunk in chunks {
        let (local, part) = chunk?;
        let to_global: Vec<u32> = local.iter().map(|c| names.id(c)).collect();
        rows.extend(part.into_iter().map(|mut r| {
            r.path.iter_mut().for_each(|g| *g = to_global[*g as usize]);
            r
        }));
    }
    Some(InternedPaths { channels: names.channels, rows })
}

fn read_csv_sequential(path: &Path, bytes: &[u8], delimiter: u8, sep: &str) -> Result<InternedPaths, DataError> {
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(bytes);
    let headers = rdr.headers().map_err(|source| DataError::Csv { path: path.to_owned(), source })?.clone();
    let idx = |name: &str| headers.iter().position(|h| h.trim() == name);
    let p = idx("path").ok_or_else(|| invalid(path, 0, "path", "required column is missing".into()))?;
    let c = idx("total_conversions")
        .ok_or_else(|| invalid(path, 0, "total_conversions", "required column is missing".into()))?;
    let (v, n) = (idx("total_conversion_value"), idx("total_null"));
    let mut names = Interner::default();
    let mut rows = Vec::new();
    // One record buffer for the whole file; only the fields used are checked as UTF-8.
    let mut rec = csv::ByteRecord::new();
    let mut row = 0u64;
    while rdr.read_byte_record(&mut rec).map_err(|source| DataError::Csv { path: path.to_owned(), source })? {
        row += 1;
        let field = |i: Option<usize>, name: &str| -> Result<Option<&str>, DataError> {
            i.and_then(|i| rec.get(i))
                .map(|b| {
                    std::str::from_utf8(b).map_err(|_| invalid(path, row, name, "the value is not valid UTF-8".into()))
                })
                .transpose()
        };
        rows.push(checked(
            path,
            row,
            InternedRow {
                path: names.split(field(Some(p), "path")?.unwrap_or_default(), sep),
                conversions: number(path, row, "total_conversions", field(Some(c), "total_conversions")?, true)?,
                value: number(path, row, "total_conversion_value", field(v, "total_conversion_value")?, false)?,
                nulls: number(path, row, "total_null", field(n, "total_null")?, false)?,
            },
        )?);
    }
    Ok(InternedPaths { channels: names.channels, rows })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    /// A path table of `rows` rows over a dozen channels (a few MB: the parallel path).
    fn table(rows: usize, bad_row: Option<usize>) -> String {
        let channels = ["search", "email", "creator:a", "creator:b", "paid_social", "direct", "affiliate", "zeta"];
        let mut s = String::from("path,total_conversions,total_conversion_value,total_null\n");
        for i in 0..rows {
            let len = 1 + i % 9;
            let path: Vec<&str> = (0..len).map(|k| channels[(i * 7 + k * 3 + i / 1000) % channels.len()]).collect();
            let conv = if Some(i + 1) == bad_row { "-1".to_owned() } else { (i % 5).to_string() };
            writeln!(s, "{} , {},{}.5,{}", path.join(" > "), conv, i % 13, i % 11).unwrap();
        }
        s
    }

    #[test]
    fn the_parallel_reader_equals_the_sequential_one_and_leaves_errors_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paths.csv");
        let text = table(60_000, None);
        assert!(text.len() > 1 << 20, "big enough for the parallel path");
        std::fs::write(&file, &text).unwrap();
        let parallel = read_csv_parallel(text.as_bytes(), b',', ">").expect("the fast path applies");
        let sequential = read_csv_sequential(&file, text.as_bytes(), b',', ">").unwrap();
        assert_eq!(parallel, sequential);
        assert_eq!(read_interned(&file, ">").unwrap(), sequential);
        assert_eq!(sequential.channels[0], "search");
        // A bad row deep in the file: the fast path steps aside and the error names the row.
        std::fs::write(&file, table(60_000, Some(45_123))).unwrap();
        let err = read_interned(&file, ">").unwrap_err().to_string();
        assert!(err.contains("45123") && err.contains("total_conversions"), "{err}");
        // Quoted fields are read sequentially.
        assert!(read_csv_parallel(b"path,total_conversions\n\"a > b\",1\n", b',', ">").is_none());
    }
}
