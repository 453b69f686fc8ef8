//! A dataset: a folder with one file, or one folder of partition files, per table.
//!
//! ```text
//! data/
//!   creators.parquet          one file per table: <table>.parquet | .csv | .arrow | ...
//!   touchpoints/              or a folder of partitions, read in path order as one table
//!     date=2025-01/part-0.parquet
//!     date=2025-02/part-0.parquet
//!   truth.json                anything else is listed as ignored, never read as a table
//! ```
//!
//! Files and folders whose names start with `.` or `_` (temporary files, `_SUCCESS`
//! markers) are skipped.
//!
//! A dataset can also be held in memory ([`Dataset::in_memory`]): the Python binding and
//! the Spark adapter hand each table over as Arrow batches, and every reader (scan,
//! load, validate) conforms them exactly as it conforms a file. A table in memory has one
//! pseudo file, `<root>/<table>`, which names it in rejects and messages.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use rayon::prelude::*;

use crate::conform::{ColumnPlan, Conformed, conform};
use crate::error::{DataError, Reject};
use crate::io::{FileReader, Format};
use crate::schema::Table;

/// The tables keyed by user, which a dataset partitioned by user splits into buckets
/// (`touchpoints/user_bucket=07/part-0.parquet`): a user's rows of all three are in the
/// bucket of the same number, so journeys are partition-local.
pub const USER_TABLES: [Table; 3] = [Table::Sessions, Table::Touchpoints, Table::Orders];

/// The folder level naming a user bucket: `user_bucket=<n>`.
pub const USER_BUCKET: &str = "user_bucket";

/// The tables found in a dataset folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    root: PathBuf,
    tables: BTreeMap<Table, Vec<PathBuf>>,
    ignored: Vec<PathBuf>,
    /// Tables held in memory, by their pseudo file.
    memory: BTreeMap<PathBuf, MemoryTable>,
}

/// A table given as Arrow batches (shared, so cloning a dataset copies no data).
#[derive(Debug, Clone)]
struct MemoryTable {
    schema: SchemaRef,
    batches: Arc<[RecordBatch]>,
}

/// What one scan of a table read.
#[derive(Debug, Default, Clone)]
pub struct ScanSummary {
    /// Rows read (rejected ones included).
    pub rows: u64,
    /// Files that could not be used at all (missing or mistyped columns): their rejects.
    pub file_rejects: Vec<Reject>,
}

impl Dataset {
    /// Discovers the tables in `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Dataset, DataError> {
        let root = root.into();
        let entries = std::fs::read_dir(&root).map_err(DataError::io(&root))?;
        let mut found: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(DataError::io(&root))?;
            found.push(entry.path());
        }
        found.sort();
        let mut tables: BTreeMap<Table, Vec<PathBuf>> = BTreeMap::new();
        let mut ignored = Vec::new();
        for path in found {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let (table, files) = if path.is_dir() {
                if let Ok(t) = name.parse::<Table>() {
                    let mut files = Vec::new();
                    collect_partitions(&path, &mut files)?;
                    (t, files)
                } else {
                    ignored.push(path);
                    continue;
                }
            } else {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                if let (Ok(t), Some(_)) = (stem.parse::<Table>(), Format::from_path(&path)) {
                    (t, vec![path.clone()])
                } else {
                    ignored.push(path);
                    continue;
                }
            };
            if let Some(existing) = tables.get(&table) {
                return Err(DataError::Ambiguous {
                    dir: root,
                    table,
                    first: existing.first().cloned().unwrap_or_default(),
                    second: path,
                });
            }
            tables.insert(table, files);
        }
        Ok(Dataset { root, tables, ignored, memory: BTreeMap::new() })
    }

    /// A dataset held in memory: each table's batches (all of one schema), named in
    /// messages as `<root>/<table>`. The batches are conformed when read, like a file's.
    pub fn in_memory(
        root: impl Into<PathBuf>,
        tables: impl IntoIterator<Item = (Table, SchemaRef, Vec<RecordBatch>)>,
    ) -> Result<Dataset, DataError> {
        let root = root.into();
        let mut ds =
            Dataset { root: root.clone(), tables: BTreeMap::new(), ignored: Vec::new(), memory: BTreeMap::new() };
        for (table, schema, batches) in tables {
            let path = root.join(table.name());
            if let Some(b) = batches.iter().find(|b| b.schema().fields() != schema.fields()) {
                let reason = format!("a batch's schema ({}) differs from the stream's ({schema})", b.schema());
                return Err(DataError::Arrow { path, source: arrow_schema::ArrowError::SchemaError(reason) });
            }
            if ds.tables.insert(table, vec![path.clone()]).is_some() {
                return Err(DataError::Ambiguous { dir: root, table, first: path.clone(), second: path });
            }
            ds.memory.insert(path, MemoryTable { schema, batches: batches.into() });
        }
        Ok(ds)
    }

    /// The user buckets of a dataset partitioned by user — the names of the
    /// `user_bucket=…` folders directly under its [`USER_TABLES`], sorted (numerically
    /// when they are numbers) — or `None` when no user table is partitioned so.
    ///
    /// # Errors
    /// [`DataError::Partitioning`] when some user tables (or some of one table's files)
    /// are partitioned by user bucket and others are not: every bucket would then see
    /// rows of users it does not hold.
    pub fn user_buckets(&self) -> Result<Option<Vec<String>>, DataError> {
        let mut buckets: Vec<String> = Vec::new();
        let mut bucketed: Vec<(Table, bool)> = Vec::new();
        for t in USER_TABLES {
            let Some(files) = self.tables.get(&t) else { continue };
            let of: Vec<Option<String>> = files.iter().map(|f| self.bucket_of(t, f)).collect();
            let n = of.iter().filter(|b| b.is_some()).count();
            if n > 0 && n < of.len() {
                let stray = files.iter().zip(&of).find(|(_, b)| b.is_none()).map(|(f, _)| f.display().to_string());
                return Err(DataError::Partitioning {
                    dir: self.root.clone(),
                    table: t,
                    reason: format!(
                        "mixes `{USER_BUCKET}=…` folders with files outside them ({}): put every file in a bucket, e.g. with `roicast partition`",
                        stray.unwrap_or_default()
                    ),
                });
            }
            bucketed.push((t, n > 0));
            buckets.extend(of.into_iter().flatten());
        }
        if let (Some((yes, _)), Some((no, _))) = (bucketed.iter().find(|(_, b)| *b), bucketed.iter().find(|(_, b)| !*b))
        {
            return Err(DataError::Partitioning {
                dir: self.root.clone(),
                table: *no,
                reason: format!(
                    "is not partitioned by `{USER_BUCKET}` but `{yes}` is: partition every user table the same way (`roicast partition --by user`)"
                ),
            });
        }
        if buckets.is_empty() {
            return Ok(None);
        }
        let key = |b: &String| (b.parse::<u64>().ok(), b.clone());
        buckets.sort_by_key(key);
        buckets.dedup();
        Ok(Some(buckets))
    }

    /// The bucket name of `file` of `table`: its first folder under the table's folder,
    /// when that is `user_bucket=<name>`.
    fn bucket_of(&self, table: Table, file: &Path) -> Option<String> {
        let rel = file.strip_prefix(self.root.join(table.name())).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?;
        let name = first.strip_prefix(USER_BUCKET)?.strip_prefix('=')?;
        (rel.components().count() > 1).then(|| name.to_owned())
    }

    /// This dataset with its [`USER_TABLES`] reduced to the files of one user bucket
    /// (see [`Dataset::user_buckets`]); every other table is kept whole.
    #[must_use]
    pub fn user_bucket(&self, bucket: &str) -> Dataset {
        let mut ds = self.clone();
        for t in USER_TABLES {
            if let Some(files) = ds.tables.get_mut(&t) {
                let keep: Vec<PathBuf> =
                    files.iter().filter(|f| self.bucket_of(t, f).as_deref() == Some(bucket)).cloned().collect();
                *files = keep;
            }
        }
        ds
    }

    /// This dataset with `table` reduced to one of its files.
    #[must_use]
    pub fn only_file(&self, table: Table, file: &Path) -> Dataset {
        let mut ds = self.clone();
        ds.tables.insert(table, vec![file.to_owned()]);
        ds
    }

    /// The schema rows of `file` of `table` are conformed to (canonical columns, then
    /// the file's extras).
    ///
    /// # Errors
    /// When the file cannot be read, or lacks a required column ([`DataError::Rejected`]).
    pub fn conformed_schema(&self, table: Table, file: &Path) -> Result<SchemaRef, DataError> {
        let reader = self.reader(table, file)?;
        ColumnPlan::new(table.spec(), &reader.schema(), file).map(|p| p.schema().clone()).map_err(|rejects| {
            let n_rejected = rejects.len();
            let first = rejects.into_iter().next().expect("a failed plan has a reject");
            DataError::Rejected { table, n_rejected, first: Box::new(first) }
        })
    }

    /// Whether `path` (one of [`Dataset::files`]) is a table held in memory.
    #[must_use]
    pub fn is_in_memory(&self, path: &Path) -> bool {
        self.memory.contains_key(path)
    }

    /// The files of `table` on disk (none for a table held in memory): what a run
    /// manifest lists as inputs.
    #[must_use]
    pub fn disk_files(&self, table: Table) -> &[PathBuf] {
        match self.files(table) {
            Some(files) if !files.iter().any(|f| self.is_in_memory(f)) => files,
            _ => &[],
        }
    }

    /// SHA-256 (hex) of one of the dataset's files: its bytes on disk, or the Arrow IPC
    /// stream of a table held in memory.
    pub fn sha256(&self, path: &Path) -> Result<String, DataError> {
        use sha2::{Digest, Sha256};
        struct Hasher(Sha256);
        impl std::io::Write for Hasher {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.update(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let Some(m) = self.memory.get(path) else { return crate::sha256_file(path) };
        let arrow = |source| DataError::Arrow { path: path.to_owned(), source };
        let mut w = arrow_ipc::writer::StreamWriter::try_new(Hasher(Sha256::new()), &m.schema).map_err(arrow)?;
        for b in m.batches.iter() {
            w.write(b).map_err(arrow)?;
        }
        w.finish().map_err(arrow)?;
        let h = w.into_inner().map_err(arrow)?;
        Ok(crate::hex(&h.0.finalize()))
    }

    /// A reader of one of the dataset's files (or of a table held in memory).
    fn reader(&self, table: Table, path: &Path) -> Result<FileReader, DataError> {
        match self.memory.get(path) {
            Some(m) => Ok(FileReader::from_batches(table, path, m.schema.clone(), m.batches.to_vec())),
            None => FileReader::open(table, path),
        }
    }

    /// The dataset folder.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The files of `table`, if present.
    #[must_use]
    pub fn files(&self, table: Table) -> Option<&[PathBuf]> {
        self.tables.get(&table).map(Vec::as_slice)
    }

    /// Whether `table` is present.
    #[must_use]
    pub fn has(&self, table: Table) -> bool {
        self.tables.contains_key(&table)
    }

    /// Entries in the folder that are not tables (listed, never read).
    #[must_use]
    pub fn ignored(&self) -> &[PathBuf] {
        &self.ignored
    }

    /// Reads `table` batch by batch, conformed to its canonical schema, calling `f` for
    /// each. Files unusable as a whole are returned in the summary, not passed to `f`.
    pub fn scan<E: From<DataError>>(
        &self,
        table: Table,
        mut f: impl FnMut(&Path, Conformed) -> Result<(), E>,
    ) -> Result<ScanSummary, E> {
        let spec = table.spec();
        let files = self.files(table).ok_or_else(|| DataError::MissingTable { dir: self.root.clone(), table })?;
        let mut summary = ScanSummary::default();
        for path in files {
            let mut reader = self.reader(table, path)?;
            let plan = match ColumnPlan::new(spec, &reader.schema(), path) {
                Ok(plan) => plan,
                Err(rejects) => {
                    summary.file_rejects.extend(rejects);
                    continue;
                }
            };
            // Decoding is sequential per file; conforming is per batch, so a window of
            // batches is conformed in parallel and handed to `f` in file order.
            let window = rayon::current_num_threads().max(1) * 2;
            let mut pending = Vec::with_capacity(window);
            loop {
                let raw = reader.next_batch()?;
                let done = raw.is_none();
                if let Some(raw) = raw {
                    summary.rows += raw.batch.num_rows() as u64;
                    pending.push(raw);
                }
                if pending.len() == window || (done && !pending.is_empty()) {
                    let conformed: Vec<Conformed> = std::mem::take(&mut pending)
                        .into_par_iter()
                        .map(|raw| conform(spec, &plan, raw, path))
                        .collect();
                    for c in conformed {
                        f(path, c)?;
                    }
                }
                if done {
                    break;
                }
            }
        }
        Ok(summary)
    }

    /// Streams `table` batch by batch into `f`, refusing it — like [`Dataset::load`] —
    /// if any row is rejected: after the first reject `f` is no longer called, the rest
    /// is read only to count the rejects, and the error names the first. Memory holds
    /// a window of batches, not the table. A caller that writes only after the stream
    /// has finished writes nothing for a refused table.
    pub fn stream<E: From<DataError>>(
        &self,
        table: Table,
        mut f: impl FnMut(&RecordBatch) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut first: Option<Reject> = None;
        let mut n_rejected = 0usize;
        let summary = self.scan::<E>(table, |_, c| {
            n_rejected += c.rejects.len();
            if first.is_none() {
                first = c.rejects.first().cloned();
            }
            if first.is_none() { f(&c.batch) } else { Ok(()) }
        })?;
        n_rejected += summary.file_rejects.len();
        match summary.file_rejects.into_iter().next().or(first) {
            Some(first) => Err(DataError::Rejected { table, n_rejected, first: Box::new(first) }.into()),
            None => Ok(()),
        }
    }

    /// Reads the whole of `table`, refusing it if any row is rejected (jobs use this:
    /// they never run on a subset of what the user gave). Run `validate` for the full
    /// list of rejects.
    pub fn load(&self, table: Table) -> Result<Vec<RecordBatch>, DataError> {
        let mut batches = Vec::new();
        let mut rejects: Vec<Reject> = Vec::new();
        let mut n_rejected = 0usize;
        let summary = self.scan::<DataError>(table, |_, c| {
            n_rejected += c.rejects.len();
            if rejects.is_empty() {
                rejects.extend(c.rejects.iter().take(1).cloned());
            }
            batches.push(c.batch);
            Ok(())
        })?;
        n_rejected += summary.file_rejects.len();
        let first = summary.file_rejects.into_iter().next().or_else(|| rejects.into_iter().next());
        match first {
            Some(first) => Err(DataError::Rejected { table, n_rejected, first: Box::new(first) }),
            None => Ok(batches),
        }
    }
}

fn collect_partitions(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), DataError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(DataError::io(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(DataError::io(dir))?;
    entries.sort();
    for path in entries {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            collect_partitions(&path, out)?;
        } else if Format::from_path(&path).is_some() {
            out.push(path);
        } else {
            return Err(DataError::UnknownFormat { path });
        }
    }
    Ok(())
}

/// Reads one file of `table`, conformed, with every reject (file-level ones included).
pub fn read_file(table: Table, path: &Path) -> Result<(Vec<RecordBatch>, Vec<Reject>), DataError> {
    read_conformed(table, path, FileReader::open(table, path)?)
}

impl Dataset {
    /// Reads one of the dataset's files (or its table held in memory) like [`read_file`].
    pub fn read_file(&self, table: Table, path: &Path) -> Result<(Vec<RecordBatch>, Vec<Reject>), DataError> {
        read_conformed(table, path, self.reader(table, path)?)
    }
}

fn read_conformed(
    table: Table,
    path: &Path,
    mut reader: FileReader,
) -> Result<(Vec<RecordBatch>, Vec<Reject>), DataError> {
    let spec = table.spec();
    let plan = match ColumnPlan::new(spec, &reader.schema(), path) {
        Ok(plan) => plan,
        Err(rejects) => return Ok((Vec::new(), rejects)),
    };
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    while let Some(raw) = reader.next_batch()? {
        let c = conform(spec, &plan, raw, path);
        rejects.extend(c.rejects);
        batches.push(c.batch);
    }
    Ok((batches, rejects))
}
