//! # roicast-tests
//!
//! End-to-end tests across roicast's crates: generate → validate today, the full
//! pipeline as later jobs land. The tests live in `pipeline.rs`; this library holds
//! the helpers they share.

use std::path::Path;

/// Runs `roicast` in-process with `args`; returns (exit code, stdout, stderr).
#[must_use]
pub fn roicast(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = std::iter::once("roicast").chain(args.iter().copied()).map(Into::into);
    let status = roicast_engine::cli::run(argv, &mut out, &mut err);
    (status as i32, String::from_utf8_lossy(&out).into_owned(), String::from_utf8_lossy(&err).into_owned())
}

/// Every file below `dir` (relative paths, sorted) with its bytes.
#[must_use]
pub fn files_with_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable test folder") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("below dir").to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).expect("readable file")));
            }
        }
    }
    out.sort();
    out
}

/// Every batch of a Parquet file.
#[must_use]
pub fn read_parquet(path: &Path) -> Vec<arrow_array::RecordBatch> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .and_then(parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::build)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|b| b.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}
