//! Incremental runs on a dataset that grows by daily partitions: `roicast run` after a new
//! day arrives scores only that day's comments, reuses the rest, and writes the same bytes
//! as a full run on the same data from scratch (with 1 and 2 threads).

use std::path::{Path, PathBuf};

use roicast_tests::{files_with_bytes, roicast};

/// A small world cut at its last day with comments (as if the program were still
/// running), split into 30 daily partitions on top of its history.
fn daily_world(dir: &Path) -> (PathBuf, String) {
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let world = dir.join("world");
    let (code, _, err) =
        roicast(&["generate", "--scenario", "small", "--seed", "5", "--out", &s(&world), "-q", "--plant-events"]);
    assert_eq!(code, 0, "{err}");
    let every_day = dir.join("every-day");
    let (code, _, err) = roicast(&["partition", "--data", &s(&world), "--out", &s(&every_day), "--by", "day", "-q"]);
    assert_eq!(code, 0, "{err}");
    let days = |table: &str| -> Vec<String> {
        let mut d: Vec<String> = std::fs::read_dir(every_day.join(table))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        d.sort();
        d
    };
    let last_comment_day = days("comments").pop().unwrap();
    for table in ["posts", "post_snapshots", "comments", "sessions", "touchpoints", "orders"] {
        for d in days(table) {
            if d > last_comment_day {
                std::fs::remove_dir_all(every_day.join(table).join(&d)).unwrap();
            }
        }
    }
    let daily = dir.join("daily");
    let (code, _, err) =
        roicast(&["partition", "--data", &s(&every_day), "--out", &s(&daily), "--by", "day", "--days", "30", "-q"]);
    assert_eq!(code, 0, "{err}");
    let folders = days_of(&daily.join("comments"));
    assert!(folders.len() >= 25 && folders.len() <= 31, "30 days (with comments) on top of the history: {folders:?}");
    (daily, last_comment_day)
}

fn days_of(table: &Path) -> Vec<String> {
    let mut d: Vec<String> =
        std::fs::read_dir(table).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    d.sort();
    d
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn run(dir: &Path, threads: &str) -> serde_json::Value {
    std::fs::write(dir.join("roicast.toml"), "data = \"data\"\nout = \"results\"\n[forecast]\nbudget = 5000.0\n")
        .unwrap();
    let cfg = dir.join("roicast.toml");
    let (code, stdout, stderr) =
        roicast(&["run", "--config", cfg.to_str().unwrap(), "-q", "--format", "json", "--threads", threads]);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// Every output but manifests, with the run's own folder in text files made relative
/// (the report and validation.json name the folders they read).
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let abs = std::path::absolute(dir).unwrap().display().to_string();
    files_with_bytes(&dir.join("results"))
        .into_iter()
        .filter(|(p, _)| !p.ends_with("manifest.json"))
        .map(|(p, b)| {
            let text = [".html", ".json", ".csv", ".jsonl"].iter().any(|e| p.ends_with(e));
            let b = if text { String::from_utf8(b).unwrap().replace(&abs, "RUN").into_bytes() } else { b };
            (p, b)
        })
        .collect()
}

#[test]
fn a_new_day_is_scored_alone_and_the_run_equals_a_full_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (daily, _) = daily_world(tmp.path());
    let mut days = days_of(&daily.join("comments"));
    let newest = days.pop().unwrap();
    // Partition files: a day's folder holds one file per source file with rows that day.
    let files_in = |dir: &Path| std::fs::read_dir(dir).unwrap().count();
    let n: usize = days_of(&daily.join("comments")).iter().map(|d| files_in(&daily.join("comments").join(d))).sum();
    let new_files = files_in(&daily.join("comments").join(&newest));

    // Yesterday: every partition but the newest day's, run once.
    let inc = tmp.path().join("incremental");
    copy_dir(&daily, &inc.join("data"));
    let mut arrived = Vec::new();
    for table in ["posts", "post_snapshots", "comments", "sessions", "touchpoints", "orders"] {
        let d = inc.join("data").join(table).join(&newest);
        if d.exists() {
            std::fs::remove_dir_all(&d).unwrap();
            arrived.push(table);
        }
    }
    assert!(arrived.contains(&"comments"), "the new day brings comments");
    let first = run(&inc, "2");
    assert_eq!(first["summary"]["sentiment"]["partitions"]["scored"].as_array().unwrap().len(), n - new_files);

    // Today: the new day's partitions arrive; only they are scored.
    for table in &arrived {
        copy_dir(&daily.join(table).join(&newest), &inc.join("data").join(table).join(&newest));
    }
    let second = run(&inc, "2");
    let parts = &second["summary"]["sentiment"]["partitions"];
    let scored = parts["scored"].as_array().unwrap();
    assert_eq!(scored.len(), new_files, "{parts}");
    assert!(scored.iter().all(|p| p.as_str().unwrap().starts_with(&format!("{newest}/"))), "{parts}");
    assert_eq!(parts["reused"].as_array().unwrap().len(), n - new_files, "{parts}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inc.join("results/sentiment/sentiment.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["reused"].as_array().unwrap().len(), n - new_files, "the manifest says what was reused");

    // A full run on the same data from scratch, with 1 and with 2 threads: the same bytes.
    for threads in ["1", "2"] {
        let full = tmp.path().join(format!("full-{threads}"));
        copy_dir(&daily, &full.join("data"));
        let v = run(&full, threads);
        assert_eq!(v["summary"]["sentiment"]["partitions"]["scored"].as_array().unwrap().len(), n);
        let (a, b) = (outputs(&inc), outputs(&full));
        let names = |x: &[(String, Vec<u8>)]| x.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        for ((p, x), (_, y)) in a.iter().zip(&b) {
            assert!(x == y, "{p} differs between the incremental run and a full run with {threads} thread(s)");
        }
    }
}
