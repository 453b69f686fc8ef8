//! Run manifests: what a job read (with hashes), its parameters, versions, row counts
//! and timings, written atomically next to its output as `<job>.manifest.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use serde::Serialize;

/// One file a job read or wrote.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileRecord {
    /// The path as given / written.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the content.
    pub sha256: String,
}

impl FileRecord {
    /// Hashes `path`.
    pub fn of(path: &Path) -> anyhow::Result<FileRecord> {
        let bytes = std::fs::metadata(path).with_context(|| format!("failed to stat {}", path.display()))?.len();
        Ok(FileRecord { path: path.to_owned(), bytes, sha256: roicast_data::sha256_file(path)? })
    }

    /// Records every file of `tables` in `dataset` (present ones, in order); a table held
    /// in memory is recorded by its pseudo file with the hash of its Arrow stream.
    pub fn inputs(
        dataset: &roicast_data::Dataset,
        tables: impl IntoIterator<Item = roicast_data::Table>,
    ) -> anyhow::Result<Vec<FileRecord>> {
        let mut out = Vec::new();
        for t in tables {
            for f in dataset.files(t).unwrap_or_default() {
                if dataset.is_in_memory(f) {
                    out.push(FileRecord { path: f.clone(), bytes: 0, sha256: dataset.sha256(f)? });
                } else {
                    out.push(FileRecord::of(f)?);
                }
            }
        }
        Ok(out)
    }
}

/// A run manifest. Its JSON field names are a stable contract.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// The job (`generate`, `validate`, ...).
    pub job: &'static str,
    /// roicast's version.
    pub roicast_version: &'static str,
    /// Wall-clock start, RFC 3339 UTC.
    pub started_at: String,
    /// Wall-clock end.
    pub finished_at: String,
    /// Worker threads.
    pub threads: usize,
    /// The job's parameters.
    pub params: serde_json::Value,
    /// Files read.
    pub inputs: Vec<FileRecord>,
    /// Files written.
    pub outputs: Vec<FileRecord>,
    /// Rows per table (read or written).
    pub rows: BTreeMap<String, u64>,
    /// Seconds per stage, and `total`.
    pub timings_s: BTreeMap<String, f64>,
    /// `ok` or `rejected`.
    pub outcome: &'static str,
    /// Outputs of an earlier run kept instead of recomputed (incremental runs: the input
    /// partitions whose scored rows were reused), relative to the job's folder.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reused: Vec<String>,
}

impl Manifest {
    /// Records what was reused from an earlier run.
    #[must_use]
    pub fn with_reused(mut self, reused: Vec<String>) -> Manifest {
        self.reused = reused;
        self
    }
}

/// Times a job and collects what goes into its manifest.
#[derive(Debug)]
pub struct ManifestBuilder {
    job: &'static str,
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    stage_start: Instant,
    timings: BTreeMap<String, f64>,
}

impl ManifestBuilder {
    /// Starts the clock for `job`.
    #[must_use]
    pub fn start(job: &'static str) -> ManifestBuilder {
        let now = Instant::now();
        ManifestBuilder {
            job,
            started: now,
            started_at: chrono::Utc::now(),
            stage_start: now,
            timings: BTreeMap::new(),
        }
    }

    /// Records the time since the previous stage under `name`.
    pub fn stage_done(&mut self, name: &str) {
        let now = Instant::now();
        self.timings.insert(name.to_owned(), (now - self.stage_start).as_secs_f64());
        self.stage_start = now;
    }

    /// Records `seconds` under `name` (for stages timed inside a job).
    pub fn record(&mut self, name: &str, seconds: f64) {
        self.timings.insert(name.to_owned(), seconds);
    }

    /// Seconds since the start.
    #[must_use]
    pub fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Finishes the manifest.
    #[must_use]
    pub fn finish(
        mut self,
        params: serde_json::Value,
        inputs: Vec<FileRecord>,
        outputs: Vec<FileRecord>,
        rows: BTreeMap<String, u64>,
        outcome: &'static str,
    ) -> Manifest {
        self.timings.insert("total".to_owned(), self.elapsed_s());
        Manifest {
            job: self.job,
            roicast_version: env!("CARGO_PKG_VERSION"),
            started_at: self.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            threads: rayon::current_num_threads(),
            params,
            inputs,
            outputs,
            rows,
            timings_s: self.timings,
            outcome,
            reused: Vec::new(),
        }
    }
}

impl Manifest {
    /// Writes `<dir>/<job>.manifest.json` atomically; returns its path.
    pub fn write(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        let path = dir.join(format!("{}.manifest.json", self.job));
        let json = serde_json::to_vec_pretty(self).expect("manifest serialises");
        roicast_data::io::write_bytes_atomic(&path, &json)
            .with_context(|| format!("failed to write the run manifest {}", path.display()))?;
        Ok(path)
    }
}
