//! The one helper every CLI end-to-end test uses: run the built `roicast` binary with a
//! clean environment (no colour, no format or thread overrides) and collect what it said.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::Command;

/// How a run of the binary ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// stdout as text.
    pub stdout: String,
    /// stderr as text.
    pub stderr: String,
}

/// Runs `roicast args…` in `cwd`.
pub fn roicast_in(args: &[&str], cwd: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_roicast"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ROICAST_FORMAT")
        .env_remove("ROICAST_THREADS")
        .env_remove("ROICAST_LOG")
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `roicast args…` in the current folder; returns (exit code, stdout, stderr).
pub fn roicast(args: &[&str]) -> (i32, String, String) {
    let r = roicast_in(args, Path::new("."));
    (r.code, r.stdout, r.stderr)
}

/// A file under `tests/fixtures/import/` (`shopify/orders_export.csv`).
pub fn import_fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import").join(path)
}

/// One table file read and conformed, as a single batch; panics on any reject.
pub fn read_table(path: &Path, table: roicast_data::Table) -> arrow_array::RecordBatch {
    let (batches, rejects) = roicast_data::dataset::read_file(table, path).unwrap();
    assert!(rejects.is_empty(), "{}: {rejects:?}", path.display());
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// A text column of a batch, nulls as `None`.
pub fn texts(b: &arrow_array::RecordBatch, col: &str) -> Vec<Option<String>> {
    use arrow_array::Array as _;
    use arrow_array::cast::AsArray as _;
    let c = b.column(b.schema().index_of(col).unwrap());
    let c = c.as_string::<i32>();
    (0..b.num_rows()).map(|i| c.is_valid(i).then(|| c.value(i).to_owned())).collect()
}
