//! A full disk: jobs writing into a small tmpfs fail with exit 2 and a clear message, and
//! leave no partial file and no temporary file behind. Mounting needs root (CI runs as
//! root); elsewhere the test says so and checks nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `size` mounted at `at`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", at.to_str().unwrap()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Every entry under `dir`, relative.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap() {
            let e = e.unwrap();
            out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_full_disk_is_exit_2_and_leaves_nothing_partial() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::small_world(d, 3);
    let Some(disk) = Tmpfs::mount(&d.join("full"), "400k") else {
        // Not root: nothing to check here (CI runs as root and checks it).
        assert_ne!(Command::new("id").arg("-u").output().map(|o| o.stdout).unwrap_or_default(), b"0\n");
        return;
    };

    // One job: credits do not fit in 400 kB.
    let r = common::roicast_in(&["attribute", "--data", "data", "--out", "full/attr"], d);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    assert_eq!(entries(&disk.0), Vec::<String>::new(), "nothing is left on the full disk");

    // The whole run: the jobs that fit are complete, the one that did not left nothing.
    std::fs::write(d.join("c.toml"), "data = \"data\"\nout = \"full/run\"\n").unwrap();
    let r = common::roicast_in(&["run", "--config", "c.toml", "-q"], d);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
    let left = entries(&disk.0.join("run"));
    assert!(left.iter().all(|e| !e.contains(".partial-") && !e.contains(".tmp-")), "temporary files left: {left:?}");
    for job in ["sentiment", "engagement", "attribution", "clv", "roi", "history", "forecast", "alerts"] {
        let files: Vec<&String> = left.iter().filter(|e| e.starts_with(&format!("{job}/"))).collect();
        let complete = if job == "forecast" {
            files.iter().any(|f| f.ends_with("forecast.csv"))
                && files.iter().any(|f| f.ends_with("forecast_model.json"))
        } else {
            files.iter().any(|f| f.ends_with(".manifest.json"))
        };
        assert!(files.is_empty() || complete, "{job} is partial: {files:?}");
    }
}
