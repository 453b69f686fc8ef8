//! Crash safety and run locking, through the real binary.
//!
//! - `a_run_killed_at_any_point_leaves_each_output_as_before_or_complete`: a run whose
//!   settings changed (so most jobs re-run and replace their outputs) is killed with
//!   SIGKILL at 20 points spread over its duration. After each kill every job's folder must
//!   hold exactly the previous run's files or exactly the new run's (never a mix, never
//!   a missing folder), and `run.manifest.json` must parse. Every fifth kill is followed by
//!   a run to the end, which must re-run only the jobs that had not finished and leave
//!   files identical to an uninterrupted run.
//! - `a_second_run_on_the_same_folder_is_refused`: while one process holds the folder's
//!   lock, `roicast run` exits 2 and writes nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The output of each job, as `roicast run` lays it out (docs/pipeline.md).
const JOB_OUTPUTS: &[&str] = &[
    "validation",
    "sentiment",
    "engagement",
    "attribution",
    "clv",
    "roi",
    "history",
    "forecast",
    "alerts",
    "report.html",
];

/// Every file under `root/rel` but manifests, with its bytes' hash.
fn contents(root: &Path, rel: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.join(rel)];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        } else if p.exists() && !p.to_string_lossy().ends_with(".manifest.json") {
            let bytes = std::fs::read(&p).unwrap();
            out.insert(p.strip_prefix(root).unwrap().display().to_string(), format!("{:x}", md5ish(&bytes)));
        }
    }
    out
}

/// A cheap 128-bit fingerprint (FNV-1a twice with different offsets) for comparing files.
fn md5ish(b: &[u8]) -> u128 {
    let mut h1: u64 = 0xcbf2_9ce4_8422_2325;
    let mut h2: u64 = 0x8422_2325_cbf2_9ce4;
    for &x in b {
        h1 = (h1 ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
        h2 = (h2 ^ u64::from(x.rotate_left(3))).wrapping_mul(0x0100_0000_01b3);
    }
    (u128::from(h1) << 64) | u128::from(h2) | b.len() as u128
}

fn config(dir: &Path, name: &str, out: &str, lookback: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("data = \"data\"\nout = \"{out}\"\n[attribution]\nlookback = \"{lookback}\"\n"))
        .unwrap();
    p
}

fn run_to_end(dir: &Path, config: &Path) -> common::Run {
    let r = common::roicast_in(&["run", "--config", config.to_str().unwrap(), "-q"], dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r
}

#[test]
fn a_run_killed_at_any_point_leaves_each_output_as_before_or_complete() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::small_world(d, 3);
    // Reference A (the previous run) and B (the new settings), each run to the end in the
    // folder the kills use (the report names its folder), then kept aside.
    let out = d.join("out");
    let a_cfg = config(d, "a.toml", "out", "30d");
    run_to_end(d, &a_cfg);
    std::fs::rename(&out, d.join("ref_a")).unwrap();
    let cfg = config(d, "b.toml", "out", "14d");
    let started = Instant::now();
    run_to_end(d, &cfg);
    let full = started.elapsed();
    std::fs::rename(&out, d.join("ref_b")).unwrap();
    let before: BTreeMap<&str, _> = JOB_OUTPUTS.iter().map(|j| (*j, contents(&d.join("ref_a"), j))).collect();
    let after: BTreeMap<&str, _> = JOB_OUTPUTS.iter().map(|j| (*j, contents(&d.join("ref_b"), j))).collect();
    assert!(JOB_OUTPUTS.iter().any(|j| before[j] != after[j]), "the new settings change some outputs");

    let mut failures = Vec::new();
    let mut states = BTreeMap::new();
    for k in 0..20u32 {
        // Kill points spread over the run, from the first job to the report.
        let at = full.mul_f64((f64::from(k) + 0.5) / 20.0);
        if out.exists() {
            std::fs::remove_dir_all(&out).unwrap();
        }
        common::copy_tree(&d.join("ref_a"), &out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_roicast"))
            .args(["run", "--config", cfg.to_str().unwrap(), "-q"])
            .current_dir(d)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let mut done = Vec::new();
        for j in JOB_OUTPUTS {
            let now = contents(&out, j);
            if now == after[j] {
                done.push(if now == before[j] { "=" } else { "B" });
            } else if now == before[j] {
                done.push("A");
            } else {
                let diff: Vec<&String> =
                    now.keys().chain(after[j].keys()).filter(|f| now.get(*f) != after[j].get(*f)).collect();
                failures.push(format!("kill {k} at {at:?}: {j} is neither the previous nor the new output: {diff:?}"));
            }
        }
        // (The forecast step writes no manifest of its own; validation writes in place.)
        for j in JOB_OUTPUTS.iter().filter(|j| !j.contains('.') && !["validation", "forecast"].contains(*j)) {
            let dir = out.join(j);
            let names: Vec<String> = std::fs::read_dir(&dir)
                .map(|r| r.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            if !names.is_empty() && !names.iter().any(|n| n.ends_with(".manifest.json")) {
                failures.push(format!("kill {k}: {j} has outputs but no manifest: {names:?}"));
            }
        }
        let manifest = std::fs::read(out.join("run.manifest.json")).unwrap();
        if serde_json::from_slice::<serde_json::Value>(&manifest).is_err() {
            failures.push(format!("kill {k}: run.manifest.json is not JSON"));
        }
        states.insert(k, format!("{} ({})", done.join(""), if status.success() { "finished" } else { "killed" }));
        if k % 5 == 4 {
            run_to_end(d, &cfg);
            for j in JOB_OUTPUTS {
                if contents(&out, j) != after[j] {
                    failures.push(format!("kill {k}: after the run to the end, {j} differs from an uninterrupted run"));
                }
            }
            let named: Vec<String> = JOB_OUTPUTS
                .iter()
                .flat_map(|j| contents(&out, j).into_keys())
                .filter(|f| String::from_utf8_lossy(&std::fs::read(out.join(f)).unwrap()).contains(".partial-"))
                .collect();
            if !named.is_empty() {
                failures.push(format!("kill {k}: outputs name a staging folder: {named:?}"));
            }
            let leftovers: Vec<String> = std::fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".partial-"))
                .collect();
            if !leftovers.is_empty() {
                failures.push(format!("kill {k}: staging folders left after a full run: {leftovers:?}"));
            }
        }
    }
    // The kills must have landed inside the run, not all before or after it.
    let mixed = states.values().filter(|s| s.contains('A') && s.contains('B')).count();
    assert!(failures.is_empty(), "{failures:#?}\nstates: {states:#?}");
    assert!(mixed >= 3, "too few kills landed between jobs (the run takes {full:?}): {states:#?}");
}

#[test]
fn a_second_run_on_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::small_world(d, 3);
    std::fs::create_dir(d.join("out")).unwrap();
    let lock_path = d.join("out").join(".roicast.lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(&lock_path, "pid 1, started 2026-12-07T00:00:00Z").unwrap();
    let cfg = config(d, "c.toml", "out", "30d");
    let r = common::roicast_in(&["run", "--config", cfg.to_str().unwrap(), "-q"], d);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("another `roicast run` is writing to this folder (pid 1, started 2026-12-07T00:00:00Z)"),
        "{}",
        r.stderr
    );
    let names: Vec<_> = std::fs::read_dir(d.join("out")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [".roicast.lock"], "the refused run wrote nothing");
    drop(lock);
    run_to_end(d, &cfg);
}
