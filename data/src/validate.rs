//! Validation of a whole dataset: every per-value and per-row rule of the contract
//! (see [`crate::conform`]), plus the rules across rows and tables — duplicate keys,
//! dangling references, and orders placed before their customer was acquired.
//!
//! Keys and references are compared by 128-bit hashes of their text (XXH3-128); the
//! chance of two different keys colliding is below 10⁻²⁴ at 10 million rows. Key hashes
//! are computed in parallel, a batch at a time. A table's key index is held in memory up
//! to [`KEYS_IN_MEMORY`] keys (~200 MB); a larger table's key hashes are spilled to
//! [`KEY_SPILL_PARTS`] temporary files by hash prefix (28 bytes a row, under
//! `$TMPDIR`) and checked one file at a time when the table is read, so memory does not
//! grow with the number of rows.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use serde::Serialize;
use xxhash_rust::xxh3::Xxh3;

use crate::conform::Conformed;
use crate::dataset::Dataset;
use crate::error::{DataError, Reject};
use crate::io::format_timestamp_us;
use crate::schema::{Kind, Table};

/// What validation found in one table.
#[derive(Debug, Clone, Serialize)]
pub struct TableReport {
    /// The table.
    pub table: Table,
    /// Whether the dataset has it.
    pub present: bool,
    /// Its files.
    pub files: Vec<PathBuf>,
    /// Data rows read.
    pub rows: u64,
    /// Rows named by at least one reject.
    pub rejected_rows: u64,
    /// Rejects of whole files or columns.
    pub file_rejects: u64,
}

/// The result of validating a dataset. Its JSON form is a stable contract.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// The dataset folder.
    pub dataset: PathBuf,
    /// `true` when nothing was rejected.
    pub ok: bool,
    /// Per table, in contract order.
    pub tables: Vec<TableReport>,
    /// Every reject, table by table, in file and row order within each check.
    pub rejects: Vec<Reject>,
    /// Checks that could not run and why (e.g. a referenced table is missing).
    pub notes: Vec<String>,
    /// Entries of the folder that are not tables.
    pub ignored: Vec<PathBuf>,
}

impl ValidationReport {
    /// Total rejected rows (plus whole-file rejects).
    #[must_use]
    pub fn n_rejected(&self) -> u64 {
        self.tables.iter().map(|t| t.rejected_rows + t.file_rejects).sum()
    }
}

/// Progress callbacks for long work; the engine draws them, libraries only report.
pub trait Progress: Sync {
    /// A new stage with `total` units of work (0 = unknown).
    fn stage(&self, name: &str, total: u64);
    /// `n` more units done.
    fn advance(&self, n: u64);
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

type Hash = u128;

fn hash_parts(parts: &[&str]) -> Hash {
    let mut h = Xxh3::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update(&[0x1f]);
        }
        h.update(p.as_bytes());
    }
    h.digest128()
}

/// A table's key columns: (index, kind).
fn key_columns(spec: &crate::schema::TableSpec) -> Vec<(usize, Kind)> {
    spec.key
        .iter()
        .map(|k| {
            let i = spec.index_of(k).expect("key columns are canonical");
            (i, spec.columns[i].kind)
        })
        .collect()
}

/// A row's key as text, parts joined by `, `.
fn key_text(batch: &RecordBatch, key_cols: &[(usize, Kind)], i: usize) -> String {
    key_cols
        .iter()
        .map(|&(ci, kind)| cell_text(batch.column(ci), kind, i).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keys of one table held in memory before the index spills to disk.
pub const KEYS_IN_MEMORY: usize = 4_000_000;
/// Files a spilled key index is split into (by the top bits of the hash).
pub const KEY_SPILL_PARTS: usize = 64;

/// The hash of a row's key, or `None` when a part is null (already rejected). Text parts
/// are hashed in place; other kinds through their text.
fn key_hash(batch: &RecordBatch, key_cols: &[(usize, Kind)], i: usize) -> Option<Hash> {
    if let [(ci, Kind::Text)] = key_cols {
        let a = batch.column(*ci);
        return a.is_valid(i).then(|| hash_parts(&[a.as_string::<i32>().value(i)]));
    }
    let parts: Vec<String> =
        key_cols.iter().map(|&(ci, kind)| cell_text(batch.column(ci), kind, i)).collect::<Option<_>>()?;
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(hash_parts(&refs))
}

/// A table's key index: in memory, or spilled to disk by hash prefix.
enum KeyIndex {
    Memory(HashMap<Hash, Seen>),
    Spilled(KeySpill),
}

/// Key hashes with where each row is, in [`KEY_SPILL_PARTS`] files by hash prefix.
struct KeySpill {
    dir: PathBuf,
    parts: Vec<BufWriter<std::fs::File>>,
}

const SPILL_RECORD: usize = 16 + 4 + 8;

impl KeySpill {
    fn create(table: Table) -> Result<KeySpill, DataError> {
        static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("roicast-keys-{}-{table}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(DataError::io(&dir))?;
        let mut spill = KeySpill { dir, parts: Vec::with_capacity(KEY_SPILL_PARTS) };
        for p in 0..KEY_SPILL_PARTS {
            let path = spill.dir.join(format!("part-{p}"));
            let f = std::fs::File::create(&path).map_err(DataError::io(&path))?;
            spill.parts.push(BufWriter::with_capacity(1 << 16, f));
        }
        Ok(spill)
    }

    fn push(&mut self, h: Hash, seen: Seen) -> Result<(), DataError> {
        let p = (h >> 122) as usize % KEY_SPILL_PARTS;
        let mut rec = [0u8; SPILL_RECORD];
        rec[..16].copy_from_slice(&h.to_le_bytes());
        rec[16..20].copy_from_slice(&seen.file.to_le_bytes());
        rec[20..].copy_from_slice(&seen.row.to_le_bytes());
        self.parts[p].write_all(&rec).map_err(DataError::io(&self.dir))
    }

    /// Every row whose key an earlier row (in file, then row order) has: (row, first).
    fn duplicates(mut self) -> Result<Vec<(Seen, Seen)>, DataError> {
        let mut dups = Vec::new();
        for (p, w) in std::mem::take(&mut self.parts).into_iter().enumerate() {
            w.into_inner().map_err(|e| DataError::io(&self.dir)(e.into_error()))?;
            let path = self.dir.join(format!("part-{p}"));
            let mut bytes = Vec::new();
            BufReader::new(std::fs::File::open(&path).map_err(DataError::io(&path))?)
                .read_to_end(&mut bytes)
                .map_err(DataError::io(&path))?;
            std::fs::remove_file(&path).map_err(DataError::io(&path))?;
            let mut recs: Vec<(Hash, u32, u64)> = bytes
                .chunks_exact(SPILL_RECORD)
                .map(|r| {
                    let h = Hash::from_le_bytes(r[..16].try_into().expect("16 bytes"));
                    let file = u32::from_le_bytes(r[16..20].try_into().expect("4 bytes"));
                    let row = u64::from_le_bytes(r[20..].try_into().expect("8 bytes"));
                    (h, file, row)
                })
                .collect();
            drop(bytes);
            recs.par_sort_unstable();
            for w in recs.chunk_by(|a, b| a.0 == b.0) {
                let first = Seen { file: w[0].1, row: w[0].2 };
                dups.extend(w[1..].iter().map(|&(_, file, row)| (Seen { file, row }, first)));
            }
        }
        Ok(dups)
    }
}

impl Drop for KeySpill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where a value was first seen.
#[derive(Debug, Clone, Copy)]
struct Seen {
    file: u32,
    row: u64,
}

fn duplicate_reason(row: Seen, first: Seen, table: Table) -> String {
    if first.file == row.file {
        format!("duplicate key: same as row {}", first.row)
    } else {
        format!("duplicate key: same as row {} of another file of `{table}`", first.row)
    }
}

/// Text of one cell of a canonical column (keys and references are text or timestamps).
fn cell_text(a: &ArrayRef, kind: Kind, i: usize) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    Some(match kind {
        Kind::Text => a.as_string::<i32>().value(i).to_owned(),
        Kind::Timestamp => a.as_primitive::<TimestampMicrosecondType>().value(i).to_string(),
        Kind::Int => a.as_primitive::<Int64Type>().value(i).to_string(),
        Kind::Float | Kind::Bool => {
            unreachable!("keys and references are text, integers or timestamps")
        }
    })
}

/// Validates every table present in `dataset`.
pub fn validate(dataset: &Dataset, progress: &dyn Progress) -> Result<ValidationReport, DataError> {
    validate_with(dataset, progress, KEYS_IN_MEMORY)
}

/// [`validate`] with a table's key index spilled to disk beyond `keys_in_memory` keys
/// (the report is the same; only memory and speed differ).
pub fn validate_with(
    dataset: &Dataset,
    progress: &dyn Progress,
    keys_in_memory: usize,
) -> Result<ValidationReport, DataError> {
    let mut v = Validator { keys_in_memory, ..Validator::default() };
    let mut tables = Vec::new();
    let mut notes = Vec::new();
    for &table in Table::ALL {
        if !dataset.has(table) {
            tables.push(TableReport {
                table,
                present: false,
                files: Vec::new(),
                rows: 0,
                rejected_rows: 0,
                file_rejects: 0,
            });
            continue;
        }
        for c in table.spec().columns {
            if let Some((rt, rc)) = c.references
                && !dataset.has(rt)
            {
                notes
                    .push(format!("{}.{} not checked against {}.{}: table `{}` is missing", table, c.name, rt, rc, rt));
            }
        }
        if table == Table::Orders && !dataset.has(Table::Customers) {
            notes.push(
                "orders.ordered_at not checked against customers.acquired_at: table `customers` is missing".into(),
            );
        }
        progress.stage(&format!("validating {table}"), 0);
        let files = dataset.files(table).unwrap_or_default().to_vec();
        let mut rejected_rows = 0u64;
        let mut state = TableState::new(table, dataset);
        let summary = dataset.scan::<DataError>(table, |path, mut conformed| {
            let file_idx = files.iter().position(|f| f == path).unwrap_or(0) as u32;
            v.check_batch(&mut state, file_idx, path, &mut conformed);
            rejected_rows += conformed.rejected.iter().filter(|r| **r).count() as u64;
            v.rejects.append(&mut conformed.rejects);
            progress.advance(conformed.batch.num_rows() as u64);
            Ok(())
        })?;
        rejected_rows += v.finish_keys(&mut state, dataset, &files)?;
        rejected_rows += v.finish_table(&mut state, &files);
        let file_rejects = summary.file_rejects.len() as u64;
        v.rejects.extend(summary.file_rejects);
        tables.push(TableReport { table, present: true, files, rows: summary.rows, rejected_rows, file_rejects });
    }
    let ok = v.rejects.is_empty();
    Ok(ValidationReport {
        dataset: dataset.root().to_owned(),
        ok,
        tables,
        rejects: v.rejects,
        notes,
        ignored: dataset.ignored().to_vec(),
    })
}

/// Reference sets and the customer acquisition times, built as tables are read.
#[derive(Default)]
struct Validator {
    /// (table, column) → the set of values present.
    targets: HashMap<(Table, &'static str), HashSet<Hash>>,
    /// customer → `acquired_at` (µs).
    acquired: HashMap<Hash, i64>,
    rejects: Vec<Reject>,
    /// Keys a table's index holds in memory before it spills.
    keys_in_memory: usize,
}

struct TableState {
    table: Table,
    keys: KeyIndex,
    /// The first spill failure (reported when the table is finished).
    spill_error: Option<DataError>,
    /// Which of this table's columns other tables reference.
    targets: Vec<&'static str>,
    /// Self-references checked once the table is read: (value hash, value, file, row).
    deferred: Vec<(Hash, String, u32, u64, &'static str)>,
    /// Rows already rejected before the deferred checks: (file, row).
    rejected: HashSet<(u32, u64)>,
}

impl TableState {
    fn new(table: Table, _dataset: &Dataset) -> TableState {
        let targets = Table::ALL
            .iter()
            .flat_map(|t| t.spec().columns.iter())
            .filter_map(|c| c.references)
            .filter(|(t, _)| *t == table)
            .map(|(_, c)| c)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        TableState {
            table,
            keys: KeyIndex::Memory(HashMap::new()),
            spill_error: None,
            targets,
            deferred: Vec::new(),
            rejected: HashSet::new(),
        }
    }
}

impl Validator {
    fn check_batch(&mut self, st: &mut TableState, file_idx: u32, path: &Path, c: &mut Conformed) {
        let spec = st.table.spec();
        let batch: RecordBatch = c.batch.clone(); // cheap: columns are shared
        let n = batch.num_rows();
        let key_cols = key_columns(spec);
        let key_name = spec.key.join(", ");
        let reject = |c: &mut Conformed, i: usize, column: &str, value: Option<String>, reason: String| {
            c.rejected[i] = true;
            c.rejects.push(Reject {
                table: st.table,
                file: path.to_owned(),
                row: Some(c.first_row + i as u64),
                column: column.to_owned(),
                value,
                reason,
            });
        };
        // Keys: unique across all files of the table. Hashed in parallel; indexed in
        // row order.
        let hashes: Vec<Option<Hash>> = (0..n).into_par_iter().map(|i| key_hash(&batch, &key_cols, i)).collect();
        for (i, h) in hashes.into_iter().enumerate() {
            let Some(h) = h else { continue }; // a null key part is already rejected
            let seen = Seen { file: file_idx, row: c.first_row + i as u64 };
            match &mut st.keys {
                KeyIndex::Memory(map) => {
                    if let Some(first) = map.get(&h) {
                        let reason = duplicate_reason(seen, *first, st.table);
                        let value = key_text(&batch, &key_cols, i);
                        reject(c, i, &key_name, Some(value), reason);
                        continue;
                    }
                    map.insert(h, seen);
                    if map.len() > self.keys_in_memory && st.spill_error.is_none() {
                        match KeySpill::create(st.table).and_then(|mut spill| {
                            for (h, s) in std::mem::take(map) {
                                spill.push(h, s)?;
                            }
                            Ok(spill)
                        }) {
                            Ok(spill) => st.keys = KeyIndex::Spilled(spill),
                            Err(e) => st.spill_error = Some(e),
                        }
                    }
                }
                KeyIndex::Spilled(spill) => {
                    if let Err(e) = spill.push(h, seen) {
                        st.spill_error.get_or_insert(e);
                    }
                }
            }
        }
        // Values other tables reference.
        for &col in &st.targets {
            let ci = spec.index_of(col).expect("reference targets are canonical");
            let a = batch.column(ci);
            let set = self.targets.entry((st.table, col)).or_default();
            for i in 0..n {
                if let Some(t) = cell_text(a, spec.columns[ci].kind, i) {
                    set.insert(hash_parts(&[&t]));
                }
            }
        }
        // References to other tables (self-references are deferred to the end).
        for (ci, col) in spec.columns.iter().enumerate() {
            let Some((rt, rc)) = col.references else {
                continue;
            };
            let a = batch.column(ci);
            for i in 0..n {
                let Some(t) = cell_text(a, col.kind, i) else {
                    continue;
                };
                let h = hash_parts(&[&t]);
                if rt == st.table {
                    st.deferred.push((h, t, file_idx, c.first_row + i as u64, col.name));
                    continue;
                }
                let Some(set) = self.targets.get(&(rt, rc)) else {
                    continue;
                };
                if !set.contains(&h) {
                    reject(c, i, col.name, Some(t), format!("unknown {rt}.{rc}"));
                }
            }
        }
        // Customers' acquisition times; orders not before them.
        if st.table == Table::Customers {
            let id = batch.column(spec.index_of("customer_id").expect("canonical")).as_string::<i32>();
            let at = batch.column(spec.index_of("acquired_at").expect("canonical"));
            let at = at.as_primitive::<TimestampMicrosecondType>();
            for i in 0..n {
                if id.is_valid(i) && at.is_valid(i) {
                    self.acquired.insert(hash_parts(&[id.value(i)]), at.value(i));
                }
            }
        }
        if st.table == Table::Orders {
            let id = batch.column(spec.index_of("customer_id").expect("canonical")).as_string::<i32>();
            let at = batch.column(spec.index_of("ordered_at").expect("canonical"));
            let at = at.as_primitive::<TimestampMicrosecondType>();
            for i in 0..n {
                if !(id.is_valid(i) && at.is_valid(i)) {
                    continue;
                }
                if let Some(&acq) = self.acquired.get(&hash_parts(&[id.value(i)]))
                    && at.value(i) < acq
                {
                    reject(
                        c,
                        i,
                        "ordered_at",
                        Some(format_timestamp_us(at.value(i))),
                        format!(
                            "order placed before its customer `{}` was acquired ({})",
                            id.value(i),
                            format_timestamp_us(acq)
                        ),
                    );
                }
            }
        }
        for (i, r) in c.rejected.iter().enumerate() {
            if *r {
                st.rejected.insert((file_idx, c.first_row + i as u64));
            }
        }
    }

    /// Checks a spilled key index one file at a time; the duplicates' key values are read
    /// in a second pass over the table (only when there are any). Returns how many more
    /// rows were rejected.
    fn finish_keys(&mut self, st: &mut TableState, dataset: &Dataset, files: &[PathBuf]) -> Result<u64, DataError> {
        if let Some(e) = st.spill_error.take() {
            return Err(e);
        }
        let KeyIndex::Spilled(spill) = std::mem::replace(&mut st.keys, KeyIndex::Memory(HashMap::new())) else {
            st.keys = KeyIndex::Memory(HashMap::new());
            return Ok(0);
        };
        let dups = spill.duplicates()?;
        if dups.is_empty() {
            return Ok(0);
        }
        let spec = st.table.spec();
        let key_cols = key_columns(spec);
        let wanted: HashMap<(u32, u64), Seen> = dups.iter().map(|(row, first)| ((row.file, row.row), *first)).collect();
        let mut found: Vec<(u32, u64, String)> = Vec::with_capacity(wanted.len());
        dataset.scan::<DataError>(st.table, |path, c| {
            let file = files.iter().position(|f| f == path).unwrap_or(0) as u32;
            for i in 0..c.batch.num_rows() {
                let row = c.first_row + i as u64;
                if wanted.contains_key(&(file, row)) {
                    let value = key_text(&c.batch, &key_cols, i);
                    found.push((file, row, value));
                }
            }
            Ok(())
        })?;
        found.sort();
        let key_name = spec.key.join(", ");
        let mut newly = 0;
        for (file, row, value) in found {
            let reason = duplicate_reason(Seen { file, row }, wanted[&(file, row)], st.table);
            newly += u64::from(self.late_reject(st, files, (file, row), &key_name, value, reason));
        }
        Ok(newly)
    }

    /// A reject found once the table is read; whether its row was not rejected before.
    fn late_reject(
        &mut self,
        st: &mut TableState,
        files: &[PathBuf],
        (file, row): (u32, u64),
        column: &str,
        value: String,
        reason: String,
    ) -> bool {
        self.rejects.push(Reject {
            table: st.table,
            file: files.get(file as usize).cloned().unwrap_or_default(),
            row: Some(row),
            column: column.to_owned(),
            value: Some(value),
            reason,
        });
        st.rejected.insert((file, row))
    }

    /// Runs the deferred self-reference checks; returns how many more rows they rejected.
    fn finish_table(&mut self, st: &mut TableState, files: &[PathBuf]) -> u64 {
        let mut newly = 0;
        let deferred = std::mem::take(&mut st.deferred);
        for (h, value, file, row, column) in deferred {
            let (rt, rc) =
                st.table.spec().column(column).and_then(|c| c.references).expect("deferred columns are references");
            let present = self.targets.get(&(rt, rc)).is_some_and(|s| s.contains(&h));
            if !present {
                newly +=
                    u64::from(self.late_reject(st, files, (file, row), column, value, format!("unknown {rt}.{rc}")));
            }
        }
        newly
    }
}
