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

/// Snapshot redactions: the temporary folder `tmp`, the fixtures' path, seconds, rates and
/// peak memory (present only where /proc allows).
pub fn snapshot_settings(tmp: &Path) -> insta::Settings {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&tmp.to_string_lossy()), "[TMP]");
    s.add_filter(&regex_escape(&fixtures.to_string_lossy()), "[FIXTURES]");
    s.add_filter(r"\d+(\.\d+)? s\b", "[SECONDS] s");
    s.add_filter(r"  peak \d+ MiB", "");
    s.add_filter(r"\(\d+ (rows|comments)/s\)", "([RATE] $1/s)");
    s.set_prepend_module_to_snapshot(false);
    s
}

fn regex_escape(s: &str) -> String {
    s.chars().fold(String::new(), |mut out, c| {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// Copies the file or folder `from` to `to` (folders recursively).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// Generates the small world (Parquet) with `seed` into `dir/data`.
pub fn small_world(dir: &Path, seed: u64) {
    let seed = seed.to_string();
    let r = roicast_in(&["generate", "--scenario", "small", "--seed", &seed, "--out", "data", "-q"], dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
