//! Reading and writing tables as Parquet, CSV and Arrow IPC, chosen by file extension.
//!
//! Readers stream record batches ([`BATCH_ROWS`] rows at a time) so memory stays bounded
//! on large files. CSV is read as text and typed by [`crate::conform`], so that a bad value
//! becomes a reject naming its row instead of failing the whole file. Every writer writes
//! to a temporary file beside the target and renames it into place on
//! [`TableWriter::finish`]: a failed or interrupted job leaves no partial file.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, SecondsFormat};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{DataError, Reject};
use crate::schema::Table;

/// Rows per batch when reading.
pub const BATCH_ROWS: usize = 65_536;

/// A file format, chosen by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Apache Parquet (`.parquet`, `.pq`), Snappy-compressed when written.
    Parquet,
    /// Comma-separated values with a header row (`.csv`); empty field = null;
    /// timestamps in RFC 3339.
    Csv,
    /// Arrow IPC file format (`.arrow`, `.ipc`, `.feather`).
    Ipc,
    /// Arrow IPC stream format (`.arrows`), read only.
    IpcStream,
}

impl Format {
    /// The format a path's extension names.
    #[must_use]
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "arrow" | "ipc" | "feather" => Some(Format::Ipc),
            "arrows" => Some(Format::IpcStream),
            _ => None,
        }
    }

    /// The extension files of this format are written with.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Ipc => "arrow",
            Format::IpcStream => "arrows",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "parquet" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            "arrow" | "ipc" => Ok(Format::Ipc),
            other => Err(format!("unknown format `{other}`: expected parquet, csv or arrow")),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Atomic files

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file written under a temporary name beside its target and renamed into place by
/// [`AtomicFile::commit`]. Dropped without commit, the temporary file is removed.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Creates the temporary file for `target` (its folder must exist).
    pub fn create(target: impl Into<PathBuf>) -> Result<AtomicFile, DataError> {
        let target = target.into();
        remove_dead_temps(&target);
        let temp = temp_path(&target);
        let file = File::create(&temp).map_err(DataError::io(&temp))?;
        Ok(AtomicFile { target, temp, file: Some(file) })
    }

    /// The file to write to.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is present until commit")
    }

    /// Takes the open file out (for writers that own it); pass it back to
    /// [`AtomicFile::commit_with`].
    pub fn take(&mut self) -> File {
        self.file.take().expect("file is present until commit")
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(mut self) -> Result<PathBuf, DataError> {
        let file = self.take();
        self.commit_with(file)
    }

    /// Like [`AtomicFile::commit`], with the file given back by the writer that owned it.
    pub fn commit_with(mut self, file: File) -> Result<PathBuf, DataError> {
        file.sync_all().map_err(DataError::io(&self.temp))?;
        drop(file);
        std::fs::rename(&self.temp, &self.target).map_err(DataError::io(&self.target))?;
        self.temp = PathBuf::new();
        Ok(self.target.clone())
    }

    /// The final path.
    #[must_use]
    pub fn target(&self) -> &Path {
        &self.target
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            self.file.take();
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// `dir/.name.tmp-PID-N`: hidden, so dataset discovery never mistakes it for a table.
/// Removes the temporary files of `target` (`.NAME.tmp-PID-N`) that killed processes left.
fn remove_dead_temps(target: &Path) {
    let (Some(dir), Some(name)) = (target.parent(), target.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let pid = n.strip_prefix(&prefix).and_then(|r| r.split_once('-')).and_then(|(pid, _)| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && process_is_gone(pid)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether no process `pid` runs (Linux `/proc`; elsewhere never assumed, so nothing a
/// live process owns is removed).
#[must_use]
pub fn process_is_gone(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

fn temp_path(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Writes a whole folder atomically: `write` fills a temporary folder beside `out`
/// (`.NAME.partial-PID`), which is renamed to `out` when it succeeds and removed when it
/// fails, so an interrupted or failed run leaves no partial folder. An existing `out` is
/// an error unless `overwrite` (then it is replaced).
///
/// # Errors
/// [`DataError::Exists`], an I/O failure, or `write`'s error.
pub fn write_dir_atomically<T>(
    out: &Path,
    overwrite: bool,
    write: impl FnOnce(&Path) -> Result<T, DataError>,
) -> Result<T, DataError> {
    if out.exists() && !overwrite {
        return Err(DataError::Exists { path: out.to_owned() });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(DataError::io(&parent))?;
    let name = out.file_name().map_or_else(|| "dataset".into(), |n| n.to_string_lossy().into_owned());
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(DataError::io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(DataError::io(&tmp))?;
    let value = match write(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    replace_dir(&tmp, out)?;
    Ok(value)
}

/// Moves the folder `staged` to `out`, replacing any `out` in one atomic step where the OS
/// can ([`exchange`]): a process killed at any point leaves `out` as it was or complete.
/// Elsewhere (or on a file system without the exchange) the old folder is moved aside
/// first, a window in which `out` is missing.
pub fn replace_dir(staged: &Path, out: &Path) -> Result<(), DataError> {
    if !out.exists() {
        return std::fs::rename(staged, out).map_err(DataError::io(out));
    }
    if exchange(staged, out).map_err(DataError::io(out))? {
        // `staged` now holds the old folder.
        return std::fs::remove_dir_all(staged).map_err(DataError::io(staged));
    }
    let old = staged.with_extension("old");
    std::fs::rename(out, &old).map_err(DataError::io(out))?;
    std::fs::rename(staged, out).map_err(DataError::io(out))?;
    std::fs::remove_dir_all(&old).map_err(DataError::io(&old))
}

/// Swaps two existing paths atomically (Linux `renameat2` with `RENAME_EXCHANGE`).
/// `Ok(false)` where the OS or the file system cannot; the caller then falls back.
pub fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => Ok(true),
            Err(e)
                if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::NOTSUP =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let mut f = AtomicFile::create(path)?;
    f.file().write_all(bytes).map_err(DataError::io(path))?;
    f.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Writing

/// Rows per Parquet row group of every table roicast writes.
pub const ROW_GROUP_ROWS: usize = 131_072;

/// A streaming writer of one table file in any format, atomic on [`TableWriter::finish`].
pub struct TableWriter {
    inner: WriterInner,
    path: PathBuf,
    rows: u64,
    /// Rows given but not yet handed to the format writer (fewer than [`WRITE_ROWS`]).
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

/// The writer hands rows to the format writer in slices of this many (the last one
/// shorter), whatever batches it was given: a file's bytes then depend on its rows only,
/// not on how a job happened to batch them (a partitioned run writes the same bytes as a
/// single-process one). A divisor of [`ROW_GROUP_ROWS`].
pub const WRITE_ROWS: usize = 65_536;

enum WriterInner {
    Parquet(AtomicFile, ArrowWriter<File>),
    Ipc(AtomicFile, arrow_ipc::writer::FileWriter<BufWriter<File>>),
    Csv(AtomicFile, csv::Writer<BufWriter<File>>),
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter").field("path", &self.path).field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl TableWriter {
    /// Opens a writer for `path` (format from its extension) with `schema`.
    pub fn create(path: impl Into<PathBuf>, schema: &SchemaRef) -> Result<TableWriter, DataError> {
        let path = path.into();
        let format = Format::from_path(&path).ok_or_else(|| DataError::UnknownFormat { path: path.clone() })?;
        let mut atomic = AtomicFile::create(&path)?;
        let inner = match format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_created_by(format!("roicast {}", env!("CARGO_PKG_VERSION")))
                    // 128 Ki rows a row group: a writer buffers one row group per table in
                    // memory (the default, 1 Mi rows, held ~150 MB of comments per table).
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                let w = ArrowWriter::try_new(atomic.take(), schema.clone(), Some(props))
                    .map_err(|source| DataError::Parquet { path: path.clone(), source })?;
                WriterInner::Parquet(atomic, w)
            }
            Format::Ipc | Format::IpcStream => {
                let w = arrow_ipc::writer::FileWriter::try_new(BufWriter::new(atomic.take()), schema)
                    .map_err(|source| DataError::Arrow { path: path.clone(), source })?;
                WriterInner::Ipc(atomic, w)
            }
            Format::Csv => {
                let mut w = csv::WriterBuilder::new().from_writer(BufWriter::new(atomic.take()));
                w.write_record(schema.fields().iter().map(|f| f.name().as_str()))
                    .map_err(|source| DataError::Csv { path: path.clone(), source })?;
                WriterInner::Csv(atomic, w)
            }
        };
        Ok(TableWriter { inner, path, rows: 0, pending: Vec::new(), pending_rows: 0 })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.rows += batch.num_rows() as u64;
        self.pending_rows += batch.num_rows();
        self.pending.push(batch.clone());
        while self.pending_rows >= WRITE_ROWS {
            let all = self.take_pending()?;
            self.write_inner(&all.slice(0, WRITE_ROWS))?;
            let rest = all.num_rows() - WRITE_ROWS;
            if rest > 0 {
                self.pending.push(all.slice(WRITE_ROWS, rest));
                self.pending_rows = rest;
            }
        }
        Ok(())
    }

    fn take_pending(&mut self) -> Result<RecordBatch, DataError> {
        let batches = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        if batches.len() == 1 {
            return Ok(batches.into_iter().next().expect("one batch"));
        }
        let schema = batches[0].schema();
        arrow_select::concat::concat_batches(&schema, &batches)
            .map_err(|source| DataError::Arrow { path: self.path.clone(), source })
    }

    fn write_inner(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let path = &self.path;
        match &mut self.inner {
            WriterInner::Parquet(_, w) => {
                w.write(batch).map_err(|source| DataError::Parquet { path: path.clone(), source })?;
            }
            WriterInner::Ipc(_, w) => {
                w.write(batch).map_err(|source| DataError::Arrow { path: path.clone(), source })?;
            }
            WriterInner::Csv(_, w) => write_csv_batch(w, batch, path)?,
        }
        Ok(())
    }

    /// Rows written so far.
    #[must_use]
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Finishes the file and renames it into place; returns its path.
    pub fn finish(mut self) -> Result<PathBuf, DataError> {
        if self.pending_rows > 0 {
            let rest = self.take_pending()?;
            self.write_inner(&rest)?;
        }
        let path = self.path;
        match self.inner {
            WriterInner::Parquet(atomic, w) => {
                let file = w.into_inner().map_err(|source| DataError::Parquet { path: path.clone(), source })?;
                atomic.commit_with(file)
            }
            WriterInner::Ipc(atomic, mut w) => {
                w.finish().map_err(|source| DataError::Arrow { path: path.clone(), source })?;
                let buf = w.into_inner().map_err(|source| DataError::Arrow { path: path.clone(), source })?;
                let file =
                    buf.into_inner().map_err(|e| DataError::Io { path: path.clone(), source: e.into_error() })?;
                atomic.commit_with(file)
            }
            WriterInner::Csv(atomic, w) => {
                let buf = w.into_inner().map_err(|e| DataError::Io { path: path.clone(), source: e.into_error() })?;
                let file =
                    buf.into_inner().map_err(|e| DataError::Io { path: path.clone(), source: e.into_error() })?;
                atomic.commit_with(file)
            }
        }
    }
}

/// Writes whole batches to `path` atomically.
pub fn write_table(
    path: impl Into<PathBuf>,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<PathBuf, DataError> {
    let mut w = TableWriter::create(path, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// Formats one timestamp (µs since the epoch, UTC) as RFC 3339 with `Z`.
#[must_use]
pub fn format_timestamp_us(us: i64) -> String {
    DateTime::from_timestamp_micros(us)
        .map_or_else(|| us.to_string(), |dt| dt.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn write_csv_batch(w: &mut csv::Writer<BufWriter<File>>, batch: &RecordBatch, path: &Path) -> Result<(), DataError> {
    let options = FormatOptions::default().with_null("");
    let columns: Vec<CsvColumn<'_>> = batch
        .columns()
        .iter()
        .map(|a| CsvColumn::new(a.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(|source| DataError::Arrow { path: path.to_owned(), source })?;
    let mut record = csv::ByteRecord::new();
    let mut buf = String::new();
    for row in 0..batch.num_rows() {
        record.clear();
        for c in &columns {
            buf.clear();
            c.format(row, &mut buf);
            record.push_field(buf.as_bytes());
        }
        w.write_byte_record(&record).map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
    }
    Ok(())
}

/// A column formatter for CSV: exact text for the canonical types (shortest round-trip
/// floats, RFC 3339 timestamps), arrow's display for anything else.
enum CsvColumn<'a> {
    Utf8(&'a dyn Array),
    Int(&'a dyn Array),
    Float(&'a dyn Array),
    Bool(&'a dyn Array),
    TimestampUs(&'a dyn Array),
    Other(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> CsvColumn<'a> {
    fn new(a: &'a dyn Array, options: &'a FormatOptions<'a>) -> Result<Self, arrow_schema::ArrowError> {
        Ok(match a.data_type() {
            DataType::Utf8 => CsvColumn::Utf8(a),
            DataType::Int64 => CsvColumn::Int(a),
            DataType::Float64 => CsvColumn::Float(a),
            DataType::Boolean => CsvColumn::Bool(a),
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == crate::schema::UTC => {
                CsvColumn::TimestampUs(a)
            }
            _ => CsvColumn::Other(a, ArrayFormatter::try_new(a, options)?),
        })
    }

    fn format(&self, row: usize, out: &mut String) {
        use std::fmt::Write as _;
        let a = match self {
            CsvColumn::Utf8(a)
            | CsvColumn::Int(a)
            | CsvColumn::Float(a)
            | CsvColumn::Bool(a)
            | CsvColumn::TimestampUs(a)
            | CsvColumn::Other(a, _) => *a,
        };
        if a.is_null(row) {
            return;
        }
        let _ = match self {
            CsvColumn::Utf8(a) => {
                out.push_str(a.as_string::<i32>().value(row));
                Ok(())
            }
            CsvColumn::Int(a) => write!(out, "{}", a.as_primitive::<Int64Type>().value(row)),
            CsvColumn::Float(a) => write!(out, "{}", a.as_primitive::<Float64Type>().value(row)),
            CsvColumn::Bool(a) => write!(out, "{}", a.as_boolean().value(row)),
            CsvColumn::TimestampUs(a) => {
                out.push_str(&format_timestamp_us(a.as_primitive::<TimestampMicrosecondType>().value(row)));
                Ok(())
            }
            CsvColumn::Other(_, f) => write!(out, "{}", f.value(row)),
        };
    }
}

// ---------------------------------------------------------------------------------------
// Reading

/// A batch as read from a file, before conforming to the canonical schema.
#[derive(Debug)]
pub struct RawBatch {
    /// The batch (all-text columns for CSV).
    pub batch: RecordBatch,
    /// The 1-based file row of the batch's first row.
    pub first_row: u64,
    /// Rows the reader already rejected (ragged CSV rows, invalid UTF-8), with their
    /// index in `batch`; their values are null.
    pub rejects: Vec<(usize, Reject)>,
}

/// A streaming reader of one table file.
pub struct FileReader {
    table: Table,
    path: PathBuf,
    next_row: u64,
    inner: ReaderInner,
    /// The rows a Parquet file's footer says it holds: checked at the end, so a damaged
    /// file (pages missing, a footer that lies) is refused, never read short in silence.
    claimed_rows: Option<u64>,
}

enum ReaderInner {
    Batches(Box<dyn RecordBatchReader + Send>),
    Csv { reader: csv::Reader<RecordGuard<File>>, guard: Arc<AtomicU64>, schema: SchemaRef, done: bool },
}

/// The longest CSV record (one row, all its fields and quoted line breaks) roicast reads
/// unless `ROICAST_MAX_RECORD_BYTES` says otherwise: 64 MiB. A longer one is refused
/// before more than this (plus one read buffer) is held, whatever the file claims.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

/// The record-size limit in force (`ROICAST_MAX_RECORD_BYTES`, else the default).
#[must_use]
pub fn max_record_bytes() -> u64 {
    byte_limit("ROICAST_MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES)
}

/// A size limit in bytes from the environment variable `name` (a positive whole number),
/// else `default`.
#[must_use]
pub fn byte_limit(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

/// A reader that fails once more than `limit` bytes were read since the counter was last
/// reset (the CSV reader resets it after every record).
pub struct RecordGuard<R> {
    inner: R,
    since_reset: Arc<AtomicU64>,
    limit: u64,
}

impl<R> RecordGuard<R> {
    /// Guards `inner`; reset `counter` to 0 after each record.
    pub fn new(inner: R, counter: Arc<AtomicU64>, limit: u64) -> RecordGuard<R> {
        RecordGuard { inner, since_reset: counter, limit }
    }
}

/// The error a [`RecordGuard`] returns: a record exceeded the limit.
#[derive(Debug, thiserror::Error)]
#[error("a record longer than {limit} bytes (the limit; set ROICAST_MAX_RECORD_BYTES to allow longer ones)")]
pub struct RecordTooLong {
    /// The limit in bytes.
    pub limit: u64,
}

impl<R: std::io::Read> std::io::Read for RecordGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.since_reset.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limit {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, RecordTooLong { limit: self.limit }));
        }
        Ok(n)
    }
}

/// Maps a CSV error at data `row` of `path`: a record over the size limit is the input's
/// fault ([`DataError::InvalidFile`]), like any parse error; an OS error stays one.
#[must_use]
pub fn csv_error(path: &Path, row: u64, source: csv::Error) -> DataError {
    if let csv::ErrorKind::Io(io) = source.kind()
        && let Some(too_long) = io.get_ref().and_then(|e| e.downcast_ref::<RecordTooLong>())
    {
        let at = if row == 0 { "the header".to_owned() } else { format!("row {row}") };
        return DataError::InvalidFile { path: path.to_owned(), reason: format!("{at}: {too_long}") };
    }
    DataError::Csv { path: path.to_owned(), source }
}

/// Opens a CSV file for `builder` behind a [`RecordGuard`] (refusing UTF-16); reset the
/// returned counter to 0 after each record.
pub fn open_guarded_csv(
    path: &Path,
    builder: &csv::ReaderBuilder,
) -> Result<(csv::Reader<RecordGuard<File>>, Arc<AtomicU64>), DataError> {
    refuse_utf16(path)?;
    let file = File::open(path).map_err(DataError::io(path))?;
    let guard = Arc::new(AtomicU64::new(0));
    Ok((builder.from_reader(RecordGuard::new(file, guard.clone(), max_record_bytes())), guard))
}

/// Refuses a text file that starts with a UTF-16 byte-order mark: roicast reads UTF-8
/// (with or without a BOM); spreadsheet programs write UTF-16 as "Unicode text".
pub fn refuse_utf16(path: &Path) -> Result<(), DataError> {
    use std::io::Read as _;
    let mut head = [0u8; 2];
    let mut f = File::open(path).map_err(DataError::io(path))?;
    let n = f.read(&mut head).map_err(DataError::io(path))?;
    if n == 2 && (head == [0xFF, 0xFE] || head == [0xFE, 0xFF]) {
        let order = if head[0] == 0xFF { "little" } else { "big" };
        return Err(DataError::InvalidFile {
            path: path.to_owned(),
            reason: format!(
                "the file is UTF-16 ({order}-endian byte-order mark); roicast reads UTF-8: re-save it as \
                 \"CSV UTF-8\" (Excel) or convert it with `iconv -f UTF-16 -t UTF-8`"
            ),
        });
    }
    Ok(())
}

impl std::fmt::Debug for FileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileReader").field("table", &self.table).field("path", &self.path).finish_non_exhaustive()
    }
}

impl FileReader {
    /// Opens `path` (format from its extension) as a file of `table`.
    pub fn open(table: Table, path: impl Into<PathBuf>) -> Result<FileReader, DataError> {
        Self::open_projected(table, path, None)
    }

    /// As [`FileReader::open`], decoding only the named top-level columns of a Parquet
    /// file (the others are never read; names the file lacks are left out — the caller
    /// reports a missing column as it would for a full read). Other formats read every
    /// column.
    pub fn open_columns(table: Table, path: impl Into<PathBuf>, columns: &[&str]) -> Result<FileReader, DataError> {
        Self::open_projected(table, path, Some(columns))
    }

    fn open_projected(
        table: Table,
        path: impl Into<PathBuf>,
        columns: Option<&[&str]>,
    ) -> Result<FileReader, DataError> {
        let path = path.into();
        let format = Format::from_path(&path).ok_or_else(|| DataError::UnknownFormat { path: path.clone() })?;
        let file = File::open(&path).map_err(DataError::io(&path))?;
        let mut claimed_rows = None;
        let inner = match format {
            Format::Parquet => {
                let r = crate::ipc_limits::contain(&path, || {
                    let mut b = crate::parquet_limits::open_file(file, &path)?;
                    claimed_rows = u64::try_from(b.metadata().file_metadata().num_rows()).ok();
                    if let Some(names) = columns {
                        b = crate::parquet_limits::project(b, names);
                    }
                    b.with_batch_size(BATCH_ROWS)
                        .build()
                        .map_err(|source| DataError::Parquet { path: path.clone(), source })
                })?;
                ReaderInner::Batches(Box::new(r))
            }
            Format::Ipc => {
                crate::ipc_limits::check_file_footer(&file, &path)?;
                let r = crate::ipc_limits::contain(&path, || {
                    arrow_ipc::reader::FileReader::try_new(BufReader::new(file), None)
                        .map_err(|source| DataError::Arrow { path: path.clone(), source })
                })?;
                ReaderInner::Batches(Box::new(r))
            }
            Format::IpcStream => {
                let r = crate::ipc_limits::contain(&path, || {
                    arrow_ipc::reader::StreamReader::try_new(BufReader::new(file), None)
                        .map_err(|source| DataError::Arrow { path: path.clone(), source })
                })?;
                ReaderInner::Batches(Box::new(r))
            }
            Format::Csv => {
                drop(file);
                let (mut reader, guard) =
                    open_guarded_csv(&path, csv::ReaderBuilder::new().flexible(true).has_headers(true))?;
                let headers = reader.byte_headers().map_err(|source| csv_error(&path, 0, source))?.clone();
                guard.store(0, Ordering::Relaxed);
                let fields: Vec<Field> = headers
                    .iter()
                    .map(|h| Field::new(String::from_utf8_lossy(h).trim().to_owned(), DataType::Utf8, true))
                    .collect();
                ReaderInner::Csv { reader, guard, schema: Arc::new(Schema::new(fields)), done: false }
            }
        };
        Ok(FileReader { table, path, next_row: 1, inner, claimed_rows })
    }

    /// A reader over batches already in memory, named `path` in rejects and messages.
    #[must_use]
    pub fn from_batches(
        table: Table,
        path: impl Into<PathBuf>,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    ) -> FileReader {
        let it = arrow_array::RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        FileReader {
            table,
            path: path.into(),
            next_row: 1,
            inner: ReaderInner::Batches(Box::new(it)),
            claimed_rows: None,
        }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema of the raw batches.
    #[must_use]
    pub fn schema(&self) -> SchemaRef {
        match &self.inner {
            ReaderInner::Batches(r) => r.schema(),
            ReaderInner::Csv { schema, .. } => schema.clone(),
        }
    }

    /// The next raw batch, or `None` at the end of the file.
    pub fn next_batch(&mut self) -> Result<Option<RawBatch>, DataError> {
        let first_row = self.next_row;
        let raw = match &mut self.inner {
            // Decoders of files from outside (arrow-ipc, parquet) may panic on malformed
            // input: contained, a panic is an error naming the file.
            ReaderInner::Batches(r) => match crate::ipc_limits::contain(&self.path, || Ok(r.next()))? {
                None => {
                    let read = self.next_row - 1;
                    if let Some(claimed) = self.claimed_rows.filter(|&c| c != read) {
                        return Err(DataError::InvalidFile {
                            path: self.path.clone(),
                            reason: format!(
                                "the file's footer says it holds {claimed} rows, its pages hold {read}: the file is \
                                 damaged (cut short, or its metadata rewritten)"
                            ),
                        });
                    }
                    return Ok(None);
                }
                Some(b) => RawBatch {
                    batch: b.map_err(|source| DataError::Arrow { path: self.path.clone(), source })?,
                    first_row,
                    rejects: Vec::new(),
                },
            },
            ReaderInner::Csv { reader, guard, schema, done } => {
                if *done {
                    return Ok(None);
                }
                match read_csv_batch(reader, guard, schema, self.table, &self.path, first_row)? {
                    None => {
                        *done = true;
                        return Ok(None);
                    }
                    Some(raw) => raw,
                }
            }
        };
        self.next_row += raw.batch.num_rows() as u64;
        Ok(Some(raw))
    }
}

fn read_csv_batch(
    reader: &mut csv::Reader<RecordGuard<File>>,
    guard: &AtomicU64,
    schema: &SchemaRef,
    table: Table,
    path: &Path,
    first_row: u64,
) -> Result<Option<RawBatch>, DataError> {
    let n_cols = schema.fields().len();
    let mut builders: Vec<StringBuilder> = (0..n_cols).map(|_| StringBuilder::new()).collect();
    let mut record = csv::ByteRecord::new();
    let mut rejects = Vec::new();
    let mut n = 0usize;
    while n < BATCH_ROWS {
        let row = first_row + n as u64;
        let more = reader.read_byte_record(&mut record).map_err(|source| csv_error(path, row, source))?;
        guard.store(0, Ordering::Relaxed);
        if !more {
            break;
        }
        if record.len() == n_cols {
            let mut bad = None;
            for (i, field) in record.iter().enumerate() {
                if field.is_empty() {
                    builders[i].append_null();
                } else if let Ok(s) = std::str::from_utf8(field) {
                    builders[i].append_value(s);
                } else {
                    builders[i].append_null();
                    bad.get_or_insert(i);
                }
            }
            if let Some(i) = bad {
                rejects.push((
                    n,
                    Reject {
                        table,
                        file: path.to_owned(),
                        row: Some(row),
                        column: schema.field(i).name().clone(),
                        value: Some(String::from_utf8_lossy(&record[i]).into_owned()),
                        reason: "invalid UTF-8".to_owned(),
                    },
                ));
            }
        } else {
            for b in &mut builders {
                b.append_null();
            }
            rejects.push((
                n,
                Reject {
                    table,
                    file: path.to_owned(),
                    row: Some(row),
                    column: "*".to_owned(),
                    value: None,
                    reason: format!("row has {} fields, the header has {n_cols}", record.len()),
                },
            ));
        }
        n += 1;
    }
    if n == 0 {
        return Ok(None);
    }
    let columns: Vec<ArrayRef> = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
    let batch = RecordBatch::try_new(schema.clone(), columns)
        .map_err(|source| DataError::Arrow { path: path.to_owned(), source })?;
    Ok(Some(RawBatch { batch, first_row, rejects }))
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    fn read_all(text: &str, limit: u64) -> Result<usize, DataError> {
        let guard = Arc::new(AtomicU64::new(0));
        let mut r = csv::ReaderBuilder::new().has_headers(false).buffer_capacity(16).from_reader(RecordGuard::new(
            text.as_bytes(),
            guard.clone(),
            limit,
        ));
        let mut rec = csv::ByteRecord::new();
        let mut n = 0;
        loop {
            let more = r.read_byte_record(&mut rec).map_err(|e| csv_error(Path::new("t.csv"), n as u64 + 1, e))?;
            guard.store(0, Ordering::Relaxed);
            if !more {
                return Ok(n);
            }
            n += 1;
        }
    }

    #[test]
    fn the_record_guard_bounds_one_record_not_the_file() {
        // 1,000 short records: 10 kB in all, far above a 100-byte limit per record.
        let many = "abc,def\n".repeat(1000);
        assert_eq!(read_all(&many, 100).unwrap(), 1000);
        // One long record, quoted across lines so no line is long: refused.
        let long = format!("a,\"{}\"\nb,c\n", "xyz\n".repeat(100));
        let err = read_all(&long, 100).unwrap_err();
        assert!(err.is_input_fault(), "{err}");
        assert_eq!(
            err.to_string(),
            "t.csv: row 1: a record longer than 100 bytes (the limit; set ROICAST_MAX_RECORD_BYTES to allow longer ones)"
        );
    }

    #[test]
    fn utf16_files_are_refused_with_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.csv");
        std::fs::write(&p, [0xFF, 0xFE, b'a', 0]).unwrap();
        let err = refuse_utf16(&p).unwrap_err();
        assert!(err.is_input_fault());
        assert!(err.to_string().contains("UTF-16 (little-endian byte-order mark)"), "{err}");
        std::fs::write(&p, "\u{feff}a,b\n").unwrap();
        refuse_utf16(&p).unwrap();
    }
}

#[cfg(test)]
mod hostile_parquet_tests {
    use super::*;
    use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataReader, ParquetMetaDataWriter};

    /// A valid 10-row file whose footer is rewritten to claim `rows` rows.
    fn lying_file(dir: &Path, rows: i64) -> PathBuf {
        let path = dir.join("orders.parquet");
        let schema = Arc::new(Schema::new(vec![Field::new("order_id", DataType::Utf8, false)]));
        let ids: Vec<String> = (0..10).map(|i| format!("o{i}")).collect();
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(arrow_array::StringArray::from(ids))]).unwrap();
        write_table(&path, &schema, &[batch]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let meta = ParquetMetaDataReader::new().parse_and_finish(&File::open(&path).unwrap()).unwrap();
        let n = bytes.len();
        let footer = u32::from_le_bytes(bytes[n - 8..n - 4].try_into().unwrap()) as usize;
        let rgs: Vec<_> =
            meta.row_groups().iter().map(|rg| rg.clone().into_builder().set_num_rows(rows).build().unwrap()).collect();
        let fm = meta.file_metadata();
        let claimed = FileMetaData::new(
            fm.version(),
            rows,
            fm.created_by().map(str::to_owned),
            fm.key_value_metadata().cloned(),
            fm.schema_descr_ptr(),
            fm.column_orders().cloned(),
        );
        let mut out = bytes[..n - 8 - footer].to_vec();
        ParquetMetaDataWriter::new(&mut out, &ParquetMetaData::new(claimed, rgs)).finish().unwrap();
        let lying = dir.join("lying.parquet");
        std::fs::write(&lying, out).unwrap();
        lying
    }

    #[test]
    fn a_footer_claiming_a_trillion_rows_is_refused_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = lying_file(dir.path(), 1_000_000_000_000);
        let started = std::time::Instant::now();
        let outcome = (|| -> Result<usize, DataError> {
            let mut r = FileReader::open(Table::Orders, &path)?;
            let mut n = 0;
            while let Some(b) = r.next_batch()? {
                n += b.batch.num_rows();
                assert!(n <= 1_000_000, "rows the file does not hold are being produced");
            }
            Ok(n)
        })();
        assert!(started.elapsed().as_secs() < 10, "took {:?}", started.elapsed());
        let err = outcome.expect_err("a file whose footer lies is refused");
        assert!(err.is_input_fault(), "{err}");
    }
}
