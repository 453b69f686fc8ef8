//! Validation of a whole dataset: every per-value and per-row rule of the contract
//! (see [`crate::conform`]), plus the rules across rows and tables — duplicate keys,
//! dangling references, and orders placed before their customer was acquired.
//!
//! Keys and references are compared by 128-bit hashes of their text (XXH3-128), so a
//! table of 10 million rows needs about 0.5 GB for its key index; the chance of two
//! different keys colliding is below 10⁻²⁴ at that size.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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

/// Where a value was first seen.
#[derive(Debug, Clone, Copy)]
struct Seen {
    file: u32,
    row: u64,
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
    let mut v = Validator::default();
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
}

struct TableState {
    table: Table,
    keys: HashMap<Hash, Seen>,
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
        TableState { table, keys: HashMap::new(), targets, deferred: Vec::new(), rejected: HashSet::new() }
    }
}

impl Validator {
    fn check_batch(&mut self, st: &mut TableState, file_idx: u32, path: &Path, c: &mut Conformed) {
        let spec = st.table.spec();
        let batch: RecordBatch = c.batch.clone(); // cheap: columns are shared
        let n = batch.num_rows();
        let key_cols: Vec<(usize, Kind)> = spec
            .key
            .iter()
            .map(|k| {
                let i = spec.index_of(k).expect("key columns are canonical");
                (i, spec.columns[i].kind)
            })
            .collect();
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
        // Keys: unique across all files of the table.
        let mut parts: Vec<String> = Vec::with_capacity(key_cols.len());
        for i in 0..n {
            parts.clear();
            for &(ci, kind) in &key_cols {
                match cell_text(batch.column(ci), kind, i) {
                    Some(t) => parts.push(t),
                    None => break,
                }
            }
            if parts.len() < key_cols.len() {
                continue; // a null key part is already rejected
            }
            let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
            let h = hash_parts(&refs);
            let row = c.first_row + i as u64;
            if let Some(first) = st.keys.get(&h) {
                let reason = if first.file == file_idx {
                    format!("duplicate key: same as row {}", first.row)
                } else {
                    format!("duplicate key: same as row {} of another file of `{}`", first.row, st.table)
                };
                reject(c, i, &key_name, Some(parts.join(", ")), reason);
            } else {
                st.keys.insert(h, Seen { file: file_idx, row });
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

    /// Runs the deferred self-reference checks; returns how many more rows they rejected.
    fn finish_table(&mut self, st: &mut TableState, files: &[PathBuf]) -> u64 {
        let mut newly = 0;
        let deferred = std::mem::take(&mut st.deferred);
        for (h, value, file, row, column) in deferred {
            let (rt, rc) =
                st.table.spec().column(column).and_then(|c| c.references).expect("deferred columns are references");
            let present = self.targets.get(&(rt, rc)).is_some_and(|s| s.contains(&h));
            if !present {
                if st.rejected.insert((file, row)) {
                    newly += 1;
                }
                self.rejects.push(Reject {
                    table: st.table,
                    file: files.get(file as usize).cloned().unwrap_or_default(),
                    row: Some(row),
                    column: column.to_owned(),
                    value: Some(value),
                    reason: format!("unknown {rt}.{rc}"),
                });
            }
        }
        newly
    }
}
