//! The crate's error type and the row-level reject record.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::schema::Table;

/// One rejected row (or, with `row: None`, a whole column or file) of an input table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// The table the file holds.
    pub table: Table,
    /// The file, as found in the dataset.
    pub file: PathBuf,
    /// 1-based data row within `file` (the header is not counted: CSV line = row + 1);
    /// `None` when the problem is the file or a whole column.
    pub row: Option<u64>,
    /// The offending column (for a key, its columns joined by `, `).
    pub column: String,
    /// The offending value as text, where there is one.
    pub value: Option<String>,
    /// Why the row was rejected.
    pub reason: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        match self.row {
            Some(row) => write!(f, ": row {row}")?,
            None => f.write_str(": all rows")?,
        }
        write!(f, ", column `{}`: {}", self.column, self.reason)?;
        if let Some(v) = &self.value {
            write!(f, " (value `{}`)", truncate_for_display(v, 80))?;
        }
        Ok(())
    }
}

/// Shortens `s` to at most `max` characters for a message, marking the cut with `…`.
/// Only ever used for display; the full value stays in JSON output.
#[must_use]
pub fn truncate_for_display(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Errors of `roicast-data`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A file or folder could not be read or written.
    #[error("failed to access {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file could not be read or written.
    #[error("{path}: invalid or unreadable Parquet")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow IPC file could not be read or written, or a batch was malformed.
    #[error("{path}: invalid Arrow data")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// The Arrow error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A CSV file could not be parsed at all (bad quoting, I/O); bad values are rejects.
    #[error("{path}: invalid CSV")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV error.
        #[source]
        source: csv::Error,
    },
    /// The file's extension names no format roicast reads.
    #[error("{path}: unknown file format: expected .parquet, .csv, .arrow/.ipc/.feather or .arrows")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A dataset folder holds a table twice (e.g. `posts.csv` and `posts.parquet`).
    #[error("{dir}: table `{table}` is given more than once: {first} and {second}")]
    Ambiguous {
        /// The dataset folder.
        dir: PathBuf,
        /// The table.
        table: Table,
        /// One source.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The tables keyed by user are partitioned by user bucket inconsistently.
    #[error("{dir}: table `{table}` {reason}")]
    Partitioning {
        /// The dataset folder.
        dir: PathBuf,
        /// The table.
        table: Table,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A table a job needs is not in the dataset.
    #[error("{dir}: table `{table}` is missing (expected {table}.parquet, .csv, .arrow or a folder {table}/)")]
    MissingTable {
        /// The dataset folder.
        dir: PathBuf,
        /// The table.
        table: Table,
    },
    /// Input rows were rejected: a job refuses to run on them.
    #[error("{n_rejected} rejected row(s) in `{table}`; first: {first}")]
    Rejected {
        /// The table.
        table: Table,
        /// How many rejects.
        n_rejected: usize,
        /// The first of them.
        first: Box<Reject>,
    },
    /// A value in an input that is read whole (not a canonical table) is invalid.
    #[error("{}: {}, column `{column}`: {reason}", path.display(), row_label(*row))]
    InvalidRow {
        /// The file.
        path: PathBuf,
        /// 1-based data row (0: the header).
        row: u64,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// An input file is unusable as a whole (a missing column, a wrong encoding).
    #[error("{path}: {reason}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// An output target exists and may not be replaced.
    #[error("{path} already exists")]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// A parameter is out of its range.
    #[error("invalid `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: String,
    },
}

impl DataError {
    /// A value in `path` at 1-based data `row`, `column` is invalid.
    pub fn invalid_row(path: &std::path::Path, row: u64, column: &str, reason: impl Into<String>) -> DataError {
        DataError::InvalidRow { path: path.to_owned(), row, column: column.to_owned(), reason: reason.into() }
    }

    /// `path` is unusable as a whole.
    pub fn invalid_file(path: &std::path::Path, reason: impl Into<String>) -> DataError {
        DataError::InvalidFile { path: path.to_owned(), reason: reason.into() }
    }

    /// Whether the input is at fault (exit 1), not the machine (exit 2): rejected rows, an
    /// invalid value, a malformed or corrupt file, a dataset laid out inconsistently. An
    /// operating-system error underneath (a missing file, a failed read) is the machine's.
    #[must_use]
    pub fn is_input_fault(&self) -> bool {
        match self {
            DataError::Rejected { .. }
            | DataError::InvalidRow { .. }
            | DataError::InvalidFile { .. }
            | DataError::Partitioning { .. }
            | DataError::Ambiguous { .. }
            | DataError::UnknownFormat { .. } => true,
            DataError::Csv { source, .. } => !matches!(source.kind(), csv::ErrorKind::Io(_)),
            DataError::Parquet { source, .. } => !has_io_source(source),
            DataError::Arrow { source, .. } => !matches!(source, arrow_schema::ArrowError::IoError(..)),
            DataError::Io { .. }
            | DataError::MissingTable { .. }
            | DataError::Exists { .. }
            | DataError::InvalidParam { .. } => false,
        }
    }
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
        let path = path.into();
        move |source| DataError::Io { path, source }
    }
}

/// `row 7`, or `the header` for row 0.
fn row_label(row: u64) -> String {
    if row == 0 { "the header".to_owned() } else { format!("row {row}") }
}

/// Whether a Parquet error wraps an operating-system error.
fn has_io_source(e: &parquet::errors::ParquetError) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        if let Some(parquet::errors::ParquetError::External(inner)) =
            err.downcast_ref::<parquet::errors::ParquetError>()
            && inner.downcast_ref::<std::io::Error>().is_some()
        {
            return true;
        }
        cur = err.source();
    }
    false
}
