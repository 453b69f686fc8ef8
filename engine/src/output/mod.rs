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

/// A folder of outputs written under a hidden temporary folder beside it and moved into
/// place together by [`Staging::commit`]; dropped without commit, nothing is left behind.
///
/// The commit is one atomic step on Linux: the staged folder receives hard links to the
/// other files already in `out` (a previous run's manifest excepted) and is exchanged with
/// `out` ([`roicast_data::io::exchange`]), so a process killed at any point leaves `out`
/// as it was or with every output of the job. Where the exchange is not available, or
/// `out` holds sub-folders of its own, the files are renamed into `out` one by one.
pub struct Staging {
    out: PathBuf,
    tmp: PathBuf,
    job: String,
    files: Vec<String>,
    /// The folder `out` is in, removed again (when empty and new) if the job fails.
    dir: NewDir,
}

impl Staging {
    /// Stages outputs of `job` for the folder `out`, under `.OUT.JOB.partial-PID` beside
    /// it; removes what killed runs left there.
    pub fn new(out: &Path, job: &str) -> anyhow::Result<Staging> {
        let parent = parent_dir(out);
        let dir = NewDir::create(&parent)?;
        let name = out
            .file_name()
            .with_context(|| format!("{}: an output folder needs a name", out.display()))?
            .to_string_lossy()
            .into_owned();
        remove_dead_partials(&parent, &format!(".{name}."));
        remove_dead_partials(out, ".");
        let tmp = parent.join(format!(".{name}.{job}.partial-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).with_context(|| format!("failed to clear {}", tmp.display()))?;
        }
        std::fs::create_dir_all(&tmp).with_context(|| format!("failed to create {}", tmp.display()))?;
        Ok(Staging { out: out.to_owned(), tmp, job: job.to_owned(), files: Vec::new(), dir })
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
    pub fn commit(mut self) -> anyhow::Result<Vec<PathBuf>> {
        let done: Vec<PathBuf> = self.files.iter().map(|f| self.out.join(f)).collect();
        // Only the staged outputs go in: scratch files stay behind.
        for e in std::fs::read_dir(&self.tmp).with_context(|| format!("failed to list {}", self.tmp.display()))? {
            let e = e?;
            if !self.files.iter().any(|f| std::ffi::OsStr::new(f) == e.file_name()) {
                remove_path(&e.path())?;
            }
        }
        if !self.out.exists() {
            std::fs::rename(&self.tmp, &self.out)
                .with_context(|| format!("failed to move the outputs into {}", self.out.display()))?;
            self.dir.kept = true;
            return Ok(done);
        }
        let manifest = format!("{}.manifest.json", self.job);
        if self.carry_over(&manifest)? && roicast_data::io::exchange(&self.tmp, &self.out)? {
            // The staging folder now holds the previous contents (links and old outputs).
            self.dir.kept = true;
            return Ok(done);
        }
        // One file at a time: the previous manifest goes first, so the folder never
        // pairs new outputs with the old run's record.
        let _ = std::fs::remove_file(self.out.join(&manifest));
        for f in &self.files {
            // A staged folder replaces the previous one (a folder is not renamed over another).
            let target = self.out.join(f);
            if self.tmp.join(f).is_dir() && target.is_dir() {
                remove_path(&target)?;
            }
            std::fs::rename(self.tmp.join(f), &target)
                .with_context(|| format!("failed to move {f} into {}", self.out.display()))?;
        }
        self.dir.kept = true;
        Ok(done)
    }

    /// Links every other file of `out` (not the job's outputs, not its old `manifest`)
    /// into the staging folder; `false` if `out` holds a folder of its own, which cannot
    /// be carried over without moving it.
    fn carry_over(&self, manifest: &str) -> anyhow::Result<bool> {
        for e in std::fs::read_dir(&self.out).with_context(|| format!("failed to list {}", self.out.display()))? {
            let e = e?;
            let name = e.file_name();
            let name_text = name.to_string_lossy();
            if self.files.iter().any(|f| std::ffi::OsStr::new(f) == name) || name_text == manifest {
                continue;
            }
            if e.file_type()?.is_dir() {
                return Ok(false);
            }
            let to = self.tmp.join(&name);
            if std::fs::hard_link(e.path(), &to).is_err() {
                std::fs::copy(e.path(), &to).with_context(|| format!("failed to keep {}", e.path().display()))?;
            }
        }
        Ok(true)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Removes the `PREFIX….partial-PID` folders in `dir` whose process is gone (killed runs).
pub(crate) fn remove_dead_partials(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(prefix).and_then(|r| r.rsplit_once(".partial-")).map(|(_, pid)| pid) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if pid != std::process::id() && roicast_data::io::process_is_gone(pid) {
            let _ = remove_path(&e.path());
        }
    }
}

fn remove_path(p: &Path) -> anyhow::Result<()> {
    let r = if p.is_dir() && !p.is_symlink() { std::fs::remove_dir_all(p) } else { std::fs::remove_file(p) };
    r.with_context(|| format!("failed to remove {}", p.display()))
}

/// A folder created for a job's outputs, with the ancestors that did not exist: unless
/// [`NewDir::keep`] is called, dropping it removes those that are still empty, so a job
/// that fails leaves no trace (and never removes anything that was there before).
pub struct NewDir {
    created: Vec<PathBuf>,
    kept: bool,
}

impl NewDir {
    /// Creates `dir` and its missing ancestors.
    pub fn create(dir: &Path) -> anyhow::Result<NewDir> {
        let created: Vec<PathBuf> =
            dir.ancestors().take_while(|d| !d.as_os_str().is_empty() && !d.exists()).map(Path::to_owned).collect();
        std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
        Ok(NewDir { created, kept: false })
    }

    /// The job succeeded: the folders stay.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for NewDir {
    fn drop(&mut self) {
        if !self.kept {
            for d in &self.created {
                // Only empty folders go: whatever else appeared there stays.
                let _ = std::fs::remove_dir(d);
            }
        }
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

/// The reuse key of a kept part: SHA-256 (hex) of `pieces`, each ended by a NUL byte (so
/// no two lists of pieces share a key by concatenation).
#[must_use]
pub fn part_key(pieces: &[&str]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for piece in pieces {
        h.update(piece.as_bytes());
        h.update([0]);
    }
    roicast_data::hex(&h.finalize())
}

/// A kept part of a previous run placed at `target`: hard-linked (copied where links are
/// not available); nothing to do when it is already there.
pub fn keep_part(src: &Path, target: &Path) -> anyhow::Result<()> {
    if src != target {
        let _ = std::fs::remove_file(target);
        std::fs::hard_link(src, target)
            .or_else(|_| std::fs::copy(src, target).map(|_| ()))
            .with_context(|| format!("failed to reuse {}", src.display()))?;
    }
    Ok(())
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
        assert!(!out.exists(), "the staging folder and the output folder it created are removed");
        // A folder that was there before stays, emptied of the staging folder only.
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("mine.txt"), "x").unwrap();
        {
            let mut s = Staging::new(&out, "t").unwrap();
            std::fs::write(s.path("a.csv"), "a").unwrap();
        }
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "only the user's file is left");
        std::fs::remove_file(out.join("mine.txt")).unwrap();
        let mut s = Staging::new(&out, "t").unwrap();
        std::fs::write(s.path("a.csv"), "a").unwrap();
        std::fs::write(s.path("b.csv"), "b").unwrap();
        let done = s.commit().unwrap();
        assert_eq!(done.len(), 2);
        assert_eq!(std::fs::read_to_string(out.join("b.csv")).unwrap(), "b");
        let hashed = hash_files(dir.path(), "job").unwrap();
        assert_eq!(hashed.len(), 2);
        assert!(hashed.contains_key("job/a.csv"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no staging folder is left beside it");
    }

    #[test]
    fn a_commit_over_a_previous_run_keeps_other_files_and_drops_the_old_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("job");
        std::fs::create_dir(&out).unwrap();
        for (f, text) in [("a.csv", "old a"), ("stale.csv", "old b"), ("notes.txt", "mine"), ("t.manifest.json", "{}")]
        {
            std::fs::write(out.join(f), text).unwrap();
        }
        // A folder a killed run left beside it (no such process) is cleared.
        let dead = dir.path().join(".job.t.partial-4000000000");
        std::fs::create_dir(&dead).unwrap();
        let mut s = Staging::new(&out, "t").unwrap();
        assert!(!dead.exists());
        std::fs::write(s.path("a.csv"), "new a").unwrap();
        std::fs::write(s.scratch("spill.arrow"), "scratch").unwrap();
        s.commit().unwrap();
        let mut names: Vec<String> =
            std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names, ["a.csv", "notes.txt", "stale.csv"], "outputs replaced, other files kept, no scratch");
        assert_eq!(std::fs::read_to_string(out.join("a.csv")).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no staging folder is left beside it");
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
