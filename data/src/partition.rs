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
    /// Buckets (by day: the number of day folders).
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
            copy_table(src, tmp, table, files, &mut summary)?;
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
    copy_others(src, tmp, &mut summary)?;
    Ok(summary)
}

/// The tables [`partition_by_day`] splits, with the time that dates a row: what grows
/// day by day in a running program.
pub const DAILY_TABLES: &[(Table, &str)] = &[
    (Table::Posts, "published_at"),
    (Table::PostSnapshots, "observed_at"),
    (Table::Comments, "created_at"),
    (Table::Sessions, "started_at"),
    (Table::Touchpoints, "ts"),
    (Table::Orders, "ordered_at"),
];

const DAY_US: i64 = 86_400_000_000;

/// The folder of a UTC day: `day=2025-06-01`.
fn day_dir(day: i64) -> String {
    let date = chrono::DateTime::from_timestamp_micros(day * DAY_US)
        .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string());
    format!("day={date}")
}

/// Writes `src` partitioned by UTC day at `out`: each of [`DAILY_TABLES`] into
/// `TABLE/day=YYYY-MM-DD/part-K.EXT` by its row's time — with `days`, only the last
/// `days` days of the dataset get a folder each, every earlier row going to the folder of
/// the day before them (so a month of daily partitions sits on one of history). Rows keep
/// their order within a day; other tables and files are copied as they are. This is the
/// layout of a dataset that grows by dated partitions, which `roicast run` processes
/// incrementally (docs/pipeline.md).
///
/// # Errors
/// `days` = 0, `out` existing, a table with rejected rows (nothing is written), or an
/// I/O failure (the temporary folder is removed).
pub fn partition_by_day(
    src: &Dataset,
    out: &Path,
    days: Option<u32>,
    format: Format,
    overwrite: bool,
    progress: &dyn Progress,
) -> Result<PartitionSummary, DataError> {
    if days == Some(0) {
        return Err(DataError::InvalidParam { name: "days", value: "0".into(), expected: "at least 1".into() });
    }
    // The last day with a dated row.
    let mut last = i64::MIN;
    for &(table, column) in DAILY_TABLES {
        if !src.has(table) {
            continue;
        }
        src.stream::<DataError>(table, |b| {
            if let Some(c) = b.column_by_name(column) {
                let c = c.as_primitive::<arrow_array::types::TimestampMicrosecondType>();
                for i in 0..c.len() {
                    if c.is_valid(i) {
                        last = last.max(c.value(i).div_euclid(DAY_US));
                    }
                }
            }
            Ok(())
        })?;
    }
    // Rows before the window go to the day before its first.
    let floor = days.map_or(i64::MIN, |d| last - i64::from(d));
    let mut summary =
        crate::io::write_dir_atomically(out, overwrite, |tmp| write_days(src, tmp, floor, format, progress))?;
    out.clone_into(&mut summary.out);
    Ok(summary)
}

fn write_days(
    src: &Dataset,
    tmp: &Path,
    floor: i64,
    format: Format,
    progress: &dyn Progress,
) -> Result<PartitionSummary, DataError> {
    let mut summary = PartitionSummary::default();
    let mut all_days = std::collections::BTreeSet::new();
    for table in Table::ALL.iter().copied() {
        let Some(files) = src.files(table) else { continue };
        let Some(&(_, column)) = DAILY_TABLES.iter().find(|(t, _)| *t == table) else {
            copy_table(src, tmp, table, files, &mut summary)?;
            continue;
        };
        progress.stage(&format!("partitioning {} by day", table.name()), files.len() as u64);
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        for (k, f) in files.iter().enumerate() {
            let part =
                |d: i64| Path::new(table.name()).join(day_dir(d)).join(format!("part-{k}.{}", format.extension()));
            let mut writers: BTreeMap<i64, TableWriter> = BTreeMap::new();
            src.only_file(table, f).stream::<DataError>(table, |batch| {
                let times = batch
                    .column_by_name(column)
                    .map(|c| c.as_primitive::<arrow_array::types::TimestampMicrosecondType>().clone());
                let mut rows: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
                for i in 0..batch.num_rows() {
                    let day = times.as_ref().filter(|t| t.is_valid(i)).map_or(floor, |t| t.value(i).div_euclid(DAY_US));
                    rows.entry(day.max(floor)).or_default().push(i as u32);
                }
                for (d, r) in rows {
                    let taken = take(batch, r, f)?;
                    *counts.entry(d).or_default() += taken.num_rows() as u64;
                    let w = match writers.entry(d) {
                        std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                        std::collections::btree_map::Entry::Vacant(v) => {
                            let path = tmp.join(part(d));
                            if let Some(dir) = path.parent() {
                                std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
                            }
                            v.insert(TableWriter::create(path, &batch.schema())?)
                        }
                    };
                    w.write(&taken)?;
                }
                Ok(())
            })?;
            for (d, w) in writers {
                w.finish()?;
                summary.files.push(part(d));
            }
            progress.advance(1);
        }
        all_days.extend(counts.keys().copied());
        summary.rows.insert(table.name().to_owned(), counts.into_values().collect());
    }
    summary.buckets = u32::try_from(all_days.len()).unwrap_or(u32::MAX);
    copy_others(src, tmp, &mut summary)?;
    Ok(summary)
}

/// Copies a table that is not split as it is, under the same relative paths.
fn copy_table(
    src: &Dataset,
    tmp: &Path,
    table: Table,
    files: &[PathBuf],
    summary: &mut PartitionSummary,
) -> Result<(), DataError> {
    for f in files {
        let rel = f.strip_prefix(src.root()).unwrap_or(f).to_owned();
        copy(f, &tmp.join(&rel))?;
        summary.files.push(rel);
    }
    summary.copied.push(table.name().to_owned());
    Ok(())
}

/// Copies the files beside the tables (`truth.json`, manifests); lists folders skipped.
fn copy_others(src: &Dataset, tmp: &Path, summary: &mut PartitionSummary) -> Result<(), DataError> {
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
    Ok(())
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
