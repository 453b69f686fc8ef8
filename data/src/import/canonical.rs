//! `canonical`: tables already in roicast's own form (Parquet, CSV or Arrow files named
//! after their table: `posts.parquet`, `costs.csv`), checked against the data contract and
//! written into the dataset — with `--merge`, joined by key like any other import. It is
//! how tables no vendor importer covers yet (the platforms' posts and comments until their
//! importers land, a brand's cost sheet) join an imported dataset.

use std::path::PathBuf;

use super::{FileRead, ImportOptions, ImportReport, Sink};
use crate::{DataError, Table};

/// Imports canonical table files.
pub fn import(paths: &[PathBuf], _opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "canonical".into(), ..ImportReport::default() };
    let mut seen: std::collections::BTreeMap<Table, PathBuf> = std::collections::BTreeMap::new();
    for path in paths {
        let stem = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = stem.split('.').next().unwrap_or_default();
        let table: Table = stem.parse().map_err(|reason: String| DataError::InvalidRow {
            path: path.clone(),
            row: 0,
            column: String::new(),
            reason: format!("a canonical table file is named after its table: {reason}"),
        })?;
        if let Some(first) = seen.insert(table, path.clone()) {
            return Err(DataError::InvalidRow {
                path: path.clone(),
                row: 0,
                column: String::new(),
                reason: format!("table `{table}` is also given by {}: give each table once", first.display()),
            });
        }
        let (batches, rejects) = crate::dataset::read_file(table, path)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        report.rejects.extend(rejects);
        report.files.push(FileRead { path: path.clone(), rows, ignored_columns: Vec::new() });
        report.written.insert(table.name().to_owned(), rows);
        for b in batches {
            if b.num_rows() > 0 {
                sink(table, b)?;
            }
        }
    }
    Ok(report)
}
