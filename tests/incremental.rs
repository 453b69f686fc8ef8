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
    for job in ["sentiment", "engagement"] {
        assert_eq!(first["summary"][job]["partitions"]["scored"].as_array().unwrap().len(), n - new_files, "{job}");
    }

    // Today: the new day's partitions arrive; only they are scored.
    for table in &arrived {
        copy_dir(&daily.join(table).join(&newest), &inc.join("data").join(table).join(&newest));
    }
    let second = run(&inc, "2");
    // Sentiment scores only the new day's comments; engagement reads only them (the
    // other days' comments come from the digests the first run kept).
    for job in ["sentiment", "engagement"] {
        let parts = &second["summary"][job]["partitions"];
        let scored = parts["scored"].as_array().unwrap();
        assert_eq!(scored.len(), new_files, "{job}: {parts}");
        assert!(scored.iter().all(|p| p.as_str().unwrap().starts_with(&format!("{newest}/"))), "{job}: {parts}");
        assert_eq!(parts["reused"].as_array().unwrap().len(), n - new_files, "{job}: {parts}");
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(inc.join(format!("results/{job}/{job}.manifest.json"))).unwrap())
                .unwrap();
        assert_eq!(
            manifest["reused"].as_array().unwrap().len(),
            n - new_files,
            "{job}: the manifest says what was reused"
        );
    }

    // A full run on the same data from scratch, with 1 and with 2 threads: the same bytes.
    for threads in ["1", "2"] {
        let full = tmp.path().join(format!("full-{threads}"));
        copy_dir(&daily, &full.join("data"));
        let v = run(&full, threads);
        for job in ["sentiment", "engagement"] {
            assert_eq!(v["summary"][job]["partitions"]["scored"].as_array().unwrap().len(), n, "{job}");
        }
        let (a, b) = (outputs(&inc), outputs(&full));
        let names = |x: &[(String, Vec<u8>)]| x.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        for ((p, x), (_, y)) in a.iter().zip(&b) {
            assert!(x == y, "{p} differs between the incremental run and a full run with {threads} thread(s)");
        }
    }
}

/// The rows of a Parquet file as sorted lines (the order of posts follows the posts
/// table's files, which partitioning changes).
fn sorted_rows(path: &Path) -> Vec<String> {
    let batches = roicast_tests::read_parquet(path);
    let mut rows = Vec::new();
    for b in &batches {
        // Timestamps as their integers (a named time zone needs chrono-tz to display).
        let plain: Vec<arrow_array::ArrayRef> = b
            .columns()
            .iter()
            .map(|c| match c.data_type() {
                arrow_schema::DataType::Timestamp(..) => arrow_cast::cast(c, &arrow_schema::DataType::Int64).unwrap(),
                _ => c.clone(),
            })
            .collect();
        let cols: Vec<_> = plain
            .iter()
            .map(|c| {
                arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &arrow_cast::display::FormatOptions::default())
                    .unwrap()
            })
            .collect();
        for i in 0..b.num_rows() {
            rows.push(cols.iter().map(|f| f.value(i).to_string()).collect::<Vec<_>>().join("|"));
        }
    }
    rows.sort();
    rows
}

#[test]
fn engagement_from_daily_digests_equals_engagement_on_the_whole_table() {
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let world = tmp.path().join("world");
    let (code, _, err) = roicast(&["generate", "--scenario", "small", "--seed", "8", "--out", &s(&world), "-q"]);
    assert_eq!(code, 0, "{err}");
    let daily = tmp.path().join("daily");
    let (code, _, err) = roicast(&["partition", "--data", &s(&world), "--out", &s(&daily), "--by", "day", "-q"]);
    assert_eq!(code, 0, "{err}");
    let engagement = |data: &Path, out: &Path| -> serde_json::Value {
        let (code, stdout, err) = roicast(&[
            "engagement",
            "--data",
            &s(data),
            "--out",
            &s(out),
            "-q",
            "--format",
            "json",
            "--competitors",
            "love,wow",
        ]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&stdout).unwrap()
    };
    let (flat, parts) = (tmp.path().join("e-flat"), tmp.path().join("e-daily"));
    let a = engagement(&world, &flat);
    let b = engagement(&daily, &parts);
    assert!(a.get("partitions").is_none());
    assert!(b["partitions"]["scored"].as_array().unwrap().len() > 100, "{}", b["partitions"]);
    assert!(a["comments"].as_u64().unwrap() > 1000);
    assert_eq!(a["comments"], b["comments"]);
    // Every comment-derived number is the same; only the posts' order differs.
    assert_eq!(sorted_rows(&flat.join("posts_scored.parquet")), sorted_rows(&parts.join("posts_scored.parquet")));
    assert_eq!(
        std::fs::read(flat.join("brand_health.csv")).unwrap(),
        std::fs::read(parts.join("brand_health.csv")).unwrap()
    );
    // A digest that no longer matches its index is not trusted: the partition is read again.
    let index = parts.join("parts/parts.json");
    let records: serde_json::Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    let first = parts.join("parts").join(records[0]["part"].as_str().unwrap());
    let mut bytes = std::fs::read(&first).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&first, bytes).unwrap();
    let again = engagement(&daily, &parts);
    assert_eq!(again["partitions"]["scored"].as_array().unwrap().len(), 1, "{}", again["partitions"]);
    assert_eq!(sorted_rows(&flat.join("posts_scored.parquet")), sorted_rows(&parts.join("posts_scored.parquet")));
}
