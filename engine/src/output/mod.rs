//! The machinery every job shares for its outputs: staged folders moved into place
//! together ([`Staging`]), atomic single files, run manifests ([`manifest`]), typed cell
//! access on conformed batches ([`columns`]) and hashing of what a job wrote.
//!
//! Durations are parsed by the one grammar in [`roicast_data::duration`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub mod columns;
pub mod manifest;

pub use manifest::{FileRecord, Manifest, ManifestBuilder};

/// A folder of outputs written under a hidden temporary folder and moved into place
/// together by [`Staging::commit`]; dropped without commit, nothing is left behind.
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    files: Vec<String>,
}

impl Staging {
    /// Stages outputs of `job` for the folder `out` (created), under `out/.JOB.partial-PID`.
    pub fn new(out: &Path, job: &str) -> anyhow::Result<Staging> {
        std::fs::create_dir_all(out).with_context(|| format!("failed to create {}", out.display()))?;
        let tmp = out.join(format!(".{job}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).with_context(|| format!("failed to clear {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("failed to create {}", tmp.display()))?;
        Ok(Staging { out: out.to_owned(), tmp, files: Vec::new() })
    }

    /// Where to write the output `name` (it moves to `out/name` on commit).
    pub fn path(&mut self, name: &str) -> PathBuf {
        self.files.push(name.to_owned());
        self.tmp.join(name)
    }

    /// A scratch file `name` beside the staged outputs: never moved into place, removed
    /// with the staging folder.
    #[must_use]
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Moves every staged output into place; returns their final paths.
    pub fn commit(self) -> anyhow::Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for f in &self.files {
            let to = self.out.join(f);
            std::fs::rename(self.tmp.join(f), &to)
                .with_context(|| format!("failed to move {f} into {}", self.out.display()))?;
            done.push(to);
        }
        Ok(done)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// A whole number with thousands separators for people to read: `12,340`, `-7`, `–` for
/// a non-finite value.
#[must_use]
pub fn thousands(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let r = x.round();
    let digits = format!("{:.0}", r.abs());
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (digits.len() - k) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 { format!("-{out}") } else { out }
}

/// The folder a single output file is written into (`.` for a bare file name).
#[must_use]
pub fn parent_dir(file: &Path) -> PathBuf {
    file.parent().filter(|p| !p.as_os_str().is_empty()).map_or_else(|| PathBuf::from("."), Path::to_owned)
}

/// Creates the folder `file` is written into.
pub fn create_parent(file: &Path) -> anyhow::Result<PathBuf> {
    let dir = parent_dir(file);
    std::fs::create_dir_all(&dir).with_context(|| format!("failed to create {}", dir.display()))?;
    Ok(dir)
}

/// Hashes the records of `files`.
pub fn records<'a>(files: impl IntoIterator<Item = &'a PathBuf>) -> anyhow::Result<Vec<FileRecord>> {
    files.into_iter().map(|f| FileRecord::of(f)).collect()
}

/// Every file below `root/rel` (or the file itself) but manifests, relative to `root`,
/// with its SHA-256.
pub fn hash_files(root: &Path, rel: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let path = root.join(rel);
    let mut out = BTreeMap::new();
    let mut stack = vec![path];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).with_context(|| format!("failed to list {}", p.display()))? {
                stack.push(e?.path());
            }
        } else if p.exists() && !p.to_string_lossy().ends_with(".manifest.json") {
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            out.insert(rel, roicast_data::sha256_file(&p)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_commits_all_files_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("job");
        {
            let mut s = Staging::new(&out, "t").unwrap();
            std::fs::write(s.path("a.csv"), "a").unwrap();
            // dropped without commit
        }
        assert!(!out.join("a.csv").exists());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "the staging folder is removed");
        let mut s = Staging::new(&out, "t").unwrap();
        std::fs::write(s.path("a.csv"), "a").unwrap();
        std::fs::write(s.path("b.csv"), "b").unwrap();
        let done = s.commit().unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(std::fs::read_to_string(out.join("b.csv")).unwrap(), "b");
        let hashed = hash_files(dir.path(), "job").unwrap();
        assert_eq!(hashed.len(), 2);
        assert!(hashed.contains_key("job/a.csv"));
    }

    #[test]
    fn thousands_are_grouped_and_rounded() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(755.0), "755");
        assert_eq!(thousands(1234.5), "1,235");
        assert_eq!(thousands(-1_234_567.0), "-1,234,567");
        assert_eq!(thousands(f64::NAN), "–");
    }

    #[test]
    fn parent_dir_of_a_bare_name_is_the_current_folder() {
        assert_eq!(parent_dir(Path::new("model.json")), PathBuf::from("."));
        assert_eq!(parent_dir(Path::new("out/model.json")), PathBuf::from("out"));
    }
}
