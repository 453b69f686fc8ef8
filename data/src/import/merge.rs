//! `roicast import … --merge`: adding an import to an existing dataset, table by table.
//!
//! Rows are matched by the table's key. For each key:
//!
//! * the same row again (every column equal) is kept once: re-importing a file changes
//!   nothing;
//! * rows that complement each other are combined: a column empty on one side takes the
//!   other side's value (a Stripe customer's subscription dates join the shop's customer of
//!   the same email); a customer's `acquired_at` is the earliest of the two (acquisition is
//!   the first record of the customer in any source);
//! * an order known both to the shop (system of record for money and customer) and to web
//!   analytics (`extra.source` = `ga4` or `segment`, linked by transaction id) keeps the
//!   shop's values and gains the analytics `user_id`: that is how a shop order finds its
//!   journey;
//! * a creator's `followers`, `following`, `posts_count` and `account_created_at` take the
//!   import's value (a platform import reads the account after the plan was written);
//! * any other difference is a conflict: an error naming the table, the key, the column,
//!   both values, the dataset's file and the files of the new import. Nothing is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{Field, Schema};

use crate::{DataError, Table};

/// What a merge of one table did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct MergeStats {
    /// Rows in the dataset before.
    pub existing: u64,
    /// Rows the import brought.
    pub imported: u64,
    /// Imported rows equal to a row already there (kept once).
    pub identical: u64,
    /// Rows combined with an existing row of the same key.
    pub combined: u64,
    /// Shop orders that gained a web journey's `user_id` by transaction id.
    pub linked_orders: u64,
    /// Rows after.
    pub rows: u64,
}

/// A conflict between the dataset and the import.
#[derive(Debug, Clone)]
pub struct Conflict {
    /// The table.
    pub table: Table,
    /// The key, as text.
    pub key: String,
    /// The column that differs.
    pub column: String,
    /// The dataset's value and file.
    pub existing: (String, PathBuf),
    /// The import's value.
    pub imported: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: column `{}` is `{}` in {} but `{}` in this import",
            self.table,
            self.key,
            self.column,
            self.existing.0,
            self.existing.1.display(),
            self.imported
        )
    }
}

/// Reads a Parquet file as it is (its own schema, `extra` included).
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, DataError> {
    // The decoder may panic on a malformed file: contained, an error naming the file.
    crate::ipc_limits::contain(path, || {
        let reader = crate::parquet_limits::open(path)?
            .build()
            .map_err(|source| DataError::Parquet { path: path.to_owned(), source })?;
        reader.collect::<Result<Vec<_>, _>>().map_err(|source| DataError::Arrow { path: path.to_owned(), source })
    })
}

/// Both sides in one schema: the union of their columns (canonical first, then `extra`),
/// a column one side lacks filled with nulls.
fn align(a: &[RecordBatch], b: &[RecordBatch]) -> Result<(Arc<Schema>, RecordBatch), arrow_schema::ArrowError> {
    let mut fields: Vec<Arc<Field>> = Vec::new();
    for batch in a.iter().chain(b) {
        for f in batch.schema().fields() {
            if !fields.iter().any(|x| x.name() == f.name()) {
                fields.push(Arc::new(f.as_ref().clone().with_nullable(true)));
            }
        }
    }
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    for batch in a.iter().chain(b) {
        let cols: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| match batch.schema().index_of(f.name()) {
                Ok(i) => batch.column(i).clone(),
                Err(_) => new_null_array(f.data_type(), batch.num_rows()),
            })
            .collect();
        out.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    let all = arrow_select::concat::concat_batches(&schema, &out)?;
    Ok((schema, all))
}

/// Creator columns a later import refreshes instead of conflicting (a platform import
/// reads the account's counts after the plan was written).
const REFRESHED: &[&str] = &["followers", "following", "posts_count", "account_created_at"];

fn is_analytics(extra: Option<&str>) -> bool {
    extra
        .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
        .is_some_and(|v| matches!(v.get("source").and_then(serde_json::Value::as_str), Some("ga4" | "segment")))
}

/// Merges the rows of `table` already in `existing_file` with `imported`.
pub fn merge(
    table: Table,
    existing: &[RecordBatch],
    existing_file: &Path,
    imported: &[RecordBatch],
) -> Result<Result<(RecordBatch, MergeStats), Conflict>, DataError> {
    let arrow = |source| DataError::Arrow { path: existing_file.to_owned(), source };
    let n_old: usize = existing.iter().map(RecordBatch::num_rows).sum();
    let (schema, all) = align(existing, imported).map_err(arrow)?;
    let opts = FormatOptions::default().with_null("\u{0}null");
    // Timestamps compare as their µs (formatting a named zone needs chrono-tz).
    let shown: Vec<ArrayRef> = all
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            arrow_schema::DataType::Timestamp(..) => {
                let t = c.as_primitive::<TimestampMicrosecondType>();
                Arc::new(arrow_array::Int64Array::new(t.values().clone(), t.nulls().cloned())) as ArrayRef
            }
            _ => c.clone(),
        })
        .collect();
    let formatters: Vec<ArrayFormatter<'_>> =
        shown.iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts)).collect::<Result<_, _>>().map_err(arrow)?;
    let cell = |c: usize, r: usize| -> Option<String> {
        all.column(c).is_valid(r).then(|| formatters[c].value(r).to_string())
    };
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let key_cols: Vec<usize> = table.spec().key.iter().filter_map(|k| names.iter().position(|n| n == k)).collect();
    let extra = names.iter().position(|n| n == "extra");
    let acquired = (table == Table::Customers).then(|| names.iter().position(|n| n == "acquired_at")).flatten();
    let mut stats =
        MergeStats { existing: n_old as u64, imported: (all.num_rows() - n_old) as u64, ..MergeStats::default() };
    // Output rows: per column, the source row.
    let mut slots: Vec<Vec<usize>> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for r in 0..all.num_rows() {
        let key = key_cols.iter().map(|&c| cell(c, r).unwrap_or_default()).collect::<Vec<_>>().join(" / ");
        let Some(&s) = by_key.get(&key) else {
            by_key.insert(key, slots.len());
            slots.push(vec![r; names.len()]);
            continue;
        };
        let slot = &mut slots[s];
        if (0..names.len()).all(|c| cell(c, slot[c]) == cell(c, r)) {
            stats.identical += 1;
            continue;
        }
        // A shop order and the same order seen by web analytics: the shop's values win.
        let (mut primary, mut secondary) = (slot.clone(), vec![r; names.len()]);
        let mut linked = false;
        if table == Table::Orders
            && let Some(e) = extra
        {
            let (a, b) = (is_analytics(cell(e, slot[e]).as_deref()), is_analytics(cell(e, r).as_deref()));
            if a != b {
                linked = true;
                if a {
                    std::mem::swap(&mut primary, &mut secondary);
                }
            }
        }
        for c in 0..names.len() {
            let (p, q) = (cell(c, primary[c]), cell(c, secondary[c]));
            match (&p, &q) {
                (_, None) => {}
                (None, Some(_)) => primary[c] = secondary[c],
                (Some(x), Some(y)) if x == y => {}
                (Some(_), Some(_)) if linked || Some(c) == extra => {}
                (Some(x), Some(y)) => {
                    // An account's counters change over time: the import's read is the newer.
                    if table == Table::Creators && REFRESHED.contains(&names[c].as_str()) {
                        if secondary[c] >= n_old {
                            primary[c] = secondary[c];
                        }
                        continue;
                    }
                    if Some(c) == acquired {
                        let t = all.column(c).as_primitive::<TimestampMicrosecondType>();
                        if t.value(secondary[c]) < t.value(primary[c]) {
                            primary[c] = secondary[c];
                        }
                        continue;
                    }
                    let (old, new) = if slot[c] < n_old { (x, y) } else { (y, x) };
                    return Ok(Err(Conflict {
                        table,
                        key: key_cols.iter().map(|&k| cell(k, r).unwrap_or_default()).collect::<Vec<_>>().join(" / "),
                        column: names[c].clone(),
                        existing: (old.clone(), existing_file.to_owned()),
                        imported: new.clone(),
                    }));
                }
            }
        }
        if linked {
            stats.linked_orders += 1;
        } else {
            stats.combined += 1;
        }
        *slot = primary;
    }
    let columns: Vec<ArrayRef> = (0..names.len())
        .map(|c| {
            let idx: Vec<(usize, usize)> = slots.iter().map(|s| (0, s[c])).collect();
            arrow_select::interleave::interleave(&[all.column(c).as_ref()], &idx)
        })
        .collect::<Result<_, _>>()
        .map_err(arrow)?;
    // Canonical columns are not nullable where the table says so: restore the schema.
    let fields: Vec<Arc<Field>> = schema
        .fields()
        .iter()
        .map(|f| {
            let nullable = table.spec().column(f.name()).is_none_or(|c| c.nullable);
            Arc::new(f.as_ref().clone().with_nullable(nullable))
        })
        .collect();
    let out = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow)?;
    stats.rows = out.num_rows() as u64;
    Ok(Ok((out, stats)))
}

/// The rows whose text column `column` is in `keep`.
pub fn keep_rows<S: std::hash::BuildHasher>(
    batches: &[RecordBatch],
    column: &str,
    keep: &std::collections::HashSet<String, S>,
) -> Result<Vec<RecordBatch>, DataError> {
    let err = |source| DataError::Arrow { path: PathBuf::from(column), source };
    batches
        .iter()
        .map(|b| {
            let i = b.schema().index_of(column).map_err(err)?;
            let ids = b.column(i).as_string::<i32>();
            let mask: arrow_array::BooleanArray =
                (0..b.num_rows()).map(|r| Some(ids.is_valid(r) && keep.contains(ids.value(r)))).collect();
            arrow_select::filter::filter_record_batch(b, &mask).map_err(err)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::RowBuilder;

    fn creator(handle: &str, followers: i64, niche: Option<&str>) -> RecordBatch {
        let mut b = RowBuilder::for_table(Table::Creators);
        b.text("cr-ava")
            .text("youtube")
            .text(handle)
            .int(followers)
            .opt_int(None)
            .opt_int(Some(96))
            .opt_ts(None)
            .opt_text(niche)
            .opt_text(None)
            .end_row();
        b.finish()
    }

    #[test]
    fn an_accounts_counts_take_the_later_import_and_other_columns_still_conflict() {
        let file = Path::new("creators.parquet");
        let plan = creator("ava", 230_000, Some("food"));
        let platform = creator("ava", 231_000, None);
        let (out, stats) = merge(Table::Creators, std::slice::from_ref(&plan), file, &[platform]).unwrap().unwrap();
        assert_eq!((out.num_rows(), stats.combined), (1, 1));
        let followers = out.column(3).as_primitive::<arrow_array::types::Int64Type>().value(0);
        assert_eq!(followers, 231_000, "the platform's read is newer than the plan's");
        assert_eq!(out.column(7).as_string::<i32>().value(0), "food", "the plan's niche is kept");
        let renamed = creator("ava.cooks", 231_000, None);
        let conflict = merge(Table::Creators, &[plan], file, &[renamed]).unwrap().unwrap_err();
        assert_eq!(conflict.column, "handle", "{conflict}");
    }
}
