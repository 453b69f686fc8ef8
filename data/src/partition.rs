//! Partitioning a dataset by user: every table keyed by user ([`USER_TABLES`]) is split
//! into `N` buckets by a hash of `user_id`, so that a user's touches, sessions and orders
//! are in the bucket of the same number and journeys can be built bucket by bucket.
//!
//! ```text
//! out/
//!   touchpoints/user_bucket=00/part-0.parquet   one file per source file and bucket
//!   touchpoints/user_bucket=01/part-0.parquet
//!   orders/user_bucket=00/part-0.parquet
//!   creators.parquet                            other tables copied byte for byte
//! ```
//!
//! The bucket of a user is `xxh3_64(user_id) mod N` (rows without a user: the bucket of
//! the empty id). Rows keep their order within a bucket; every column is kept (extras
//! too); every bucket gets a file of every user table, empty if no row falls in it. A
//! table with a rejected row is refused (nothing is written), as every job refuses it.
//! The dataset is written under a temporary name and renamed into place when complete.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch, UInt32Array};

use crate::dataset::{Dataset, USER_BUCKET, USER_TABLES};
use crate::error::DataError;
use crate::io::{Format, TableWriter};
use crate::schema::Table;
use crate::validate::Progress;

/// The most buckets `partition` writes (a bucket is a folder per user table).
pub const MAX_BUCKETS: u32 = 4096;

/// The user bucket of `user_id` among `buckets`.
#[must_use]
pub fn bucket_of_user(user_id: &str, buckets: u32) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(user_id.as_bytes()) % u64::from(buckets)) as u32
}

/// The folder name of bucket `b` of `buckets`: `user_bucket=07` (zero-padded so names
/// sort as numbers).
#[must_use]
pub fn bucket_dir(b: u32, buckets: u32) -> String {
    let width = (buckets.saturating_sub(1)).to_string().len();
    format!("{USER_BUCKET}={b:0width$}")
}

/// What [`partition_by_user`] wrote.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PartitionSummary {
    /// The dataset folder written.
    pub out: PathBuf,
    /// Buckets.
    pub buckets: u32,
    /// Rows per user table, and per bucket.
    pub rows: BTreeMap<String, Vec<u64>>,
    /// Tables copied whole.
    pub copied: Vec<String>,
    /// Other files copied (e.g. `truth.json`), relative to the dataset folder.
    pub other_files: Vec<PathBuf>,
    /// Folders that are not tables, not copied.
    pub skipped: Vec<PathBuf>,
    /// Every file written, relative to `out`.
    pub files: Vec<PathBuf>,
}

/// Writes `src` partitioned by user into `buckets` buckets at `out` (see the module docs),
/// user tables as `format`. `out` must not exist unless `overwrite`.
///
/// # Errors
/// A bucket count out of range, `out` existing, a table with rejected rows (nothing is
/// written), or an I/O failure (the temporary folder is removed).
pub fn partition_by_user(
    src: &Dataset,
    out: &Path,
    buckets: u32,
    format: Format,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<PartitionSummary, DataError> {
    if !(1..=MAX_BUCKETS).contains(&buckets) {
        return Err(DataError::InvalidParam {
            name: "buckets",
            value: buckets.to_string(),
            expected: format!("1 to {MAX_BUCKETS}"),
        });
    }
    if src.user_buckets()?.is_some() {
        return Err(DataError::InvalidParam {
            name: "data",
            value: src.root().display().to_string(),
            expected: "a dataset not yet partitioned by user (its tables hold user_bucket=… folders)".into(),
        });
    }
    let mut summary =
        crate::io::write_dir_atomically(out, overwrite, |tmp| write_all(src, tmp, buckets, format, progress))?;
    out.clone_into(&mut summary.out);
    Ok(summary)
}

fn write_all(
    src: &Dataset,
    tmp: &Path,
    buckets: u32,
    format: Format,
    progress: &dyn Progress,
) -> Result<PartitionSummary, DataError> {
    let mut summary = PartitionSummary { buckets, ..PartitionSummary::default() };
    for table in Table::ALL.iter().copied() {
        let Some(files) = src.files(table) else { continue };
        if !USER_TABLES.contains(&table) {
            // Copied as they are, under the same relative paths.
            for f in files {
                let rel = f.strip_prefix(src.root()).unwrap_or(f).to_owned();
                copy(f, &tmp.join(&rel))?;
                summary.files.push(rel);
            }
            summary.copied.push(table.name().to_owned());
            continue;
        }
        progress.stage(&format!("partitioning {}", table.name()), files.len() as u64);
        let mut counts = vec![0u64; buckets as usize];
        for (k, f) in files.iter().enumerate() {
            let part = |b: u32| {
                Path::new(table.name()).join(bucket_dir(b, buckets)).join(format!("part-{k}.{}", format.extension()))
            };
            for b in 0..buckets {
                let dir = tmp.join(table.name()).join(bucket_dir(b, buckets));
                std::fs::create_dir_all(&dir).map_err(DataError::io(&dir))?;
            }
            let mut writers: Vec<Option<TableWriter>> = (0..buckets).map(|_| None).collect();
            let one = src.only_file(table, f);
            one.stream::<DataError>(table, |batch| {
                let users = batch.column_by_name("user_id").map(|c| c.as_string::<i32>().clone());
                let mut rows: Vec<Vec<u32>> = vec![Vec::new(); buckets as usize];
                for i in 0..batch.num_rows() {
                    let id = users.as_ref().filter(|u| !u.is_null(i)).map_or("", |u| u.value(i));
                    rows[bucket_of_user(id, buckets) as usize].push(i as u32);
                }
                for (b, r) in rows.into_iter().enumerate() {
                    if r.is_empty() {
                        continue;
                    }
                    let taken = take(batch, r, f)?;
                    counts[b] += taken.num_rows() as u64;
                    let w = match &mut writers[b] {
                        Some(w) => w,
                        slot => slot.insert(TableWriter::create(tmp.join(part(b as u32)), &batch.schema())?),
                    };
                    w.write(&taken)?;
                }
                Ok(())
            })?;
            // Every bucket gets a file (empty when no row fell in it), with the table's
            // conformed schema.
            let schema = src.conformed_schema(table, f)?;
            for (b, w) in writers.into_iter().enumerate() {
                let w = match w {
                    Some(w) => w,
                    None => TableWriter::create(tmp.join(part(b as u32)), &schema)?,
                };
                w.finish()?;
                summary.files.push(part(b as u32));
            }
            progress.advance(1);
        }
        summary.rows.insert(table.name().to_owned(), counts);
    }
    for path in src.ignored() {
        let rel = path.strip_prefix(src.root()).unwrap_or(path).to_owned();
        if path.is_file() {
            copy(path, &tmp.join(&rel))?;
            summary.other_files.push(rel.clone());
            summary.files.push(rel);
        } else {
            summary.skipped.push(rel);
        }
    }
    Ok(summary)
}

fn take(batch: &RecordBatch, rows: Vec<u32>, file: &Path) -> Result<RecordBatch, DataError> {
    let idx = UInt32Array::from(rows);
    let columns = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &idx, None))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|c| RecordBatch::try_new(batch.schema(), c))
        .map_err(|source| DataError::Arrow { path: file.to_owned(), source })?;
    Ok(columns)
}

fn copy(from: &Path, to: &Path) -> Result<(), DataError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(DataError::io(parent))?;
    }
    std::fs::copy(from, to).map_err(DataError::io(from))?;
    Ok(())
}
