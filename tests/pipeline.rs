//! Pipelines across crates over generated data.

use std::path::Path;

use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_data::{Format, Table};
use roicast_tests::{files_with_bytes, roicast};

/// Rewrites one cell of a CSV file (1-based data row, by column name).
fn set_cell(path: &Path, row: usize, column: &str, value: &str) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == column).unwrap_or_else(|| panic!("{column} not in {}", path.display()));
    let mut rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let mut fields: Vec<String> = rows[row - 1].iter().map(str::to_owned).collect();
    value.clone_into(&mut fields[col]);
    rows[row - 1] = csv::StringRecord::from(fields);
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

fn cell(path: &Path, row: usize, column: &str) -> String {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let col = rdr.headers().unwrap().iter().position(|h| h == column).unwrap();
    rdr.records().nth(row - 1).unwrap().unwrap()[col].to_owned()
}

/// First 1-based data row where `column` is not empty.
fn first_row_with(path: &Path, column: &str) -> usize {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let col = rdr.headers().unwrap().iter().position(|h| h == column).unwrap();
    rdr.records().position(|r| !r.unwrap()[col].is_empty()).unwrap() + 1
}

fn drop_column(path: &Path, column: &str) {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == column).unwrap();
    let keep = |r: &csv::StringRecord| {
        r.iter().enumerate().filter(|(i, _)| *i != col).map(|(_, v)| v.to_owned()).collect::<Vec<_>>()
    };
    let rows: Vec<Vec<String>> = rdr.records().map(|r| keep(&r.unwrap())).collect();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(keep(&headers)).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn validate_reports_every_planted_fault_with_file_row_column_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Small).seed(11).format(Format::Csv), &data, &NoProgress).unwrap();
    let (code, _, err) = roicast(&["validate", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 0, "the clean world must validate: {err}");

    let f = |t: &str| data.join(format!("{t}.csv"));
    // (file, row, column, reason fragment) of each planted fault.
    let mut expected: Vec<(String, Option<u64>, &str, String)> = Vec::new();
    set_cell(&f("creators"), 2, "followers", "-5");
    expected.push(("creators.csv".into(), Some(2), "followers", "must not be negative".into()));
    set_cell(&f("creators"), 3, "followers", "12k");
    expected.push(("creators.csv".into(), Some(3), "followers", "expected an integer".into()));
    set_cell(&f("posts"), 1, "platform", "myspace");
    expected.push((
        "posts.csv".into(),
        Some(1),
        "platform",
        "expected one of instagram, tiktok, youtube, other".into(),
    ));
    let r = first_row_with(&f("posts"), "views");
    let views: i64 = cell(&f("posts"), r, "views").parse().unwrap();
    set_cell(&f("posts"), r, "likes", &(views + 1).to_string());
    expected.push((
        "posts.csv".into(),
        Some(r as u64),
        "likes",
        format!("likes ({}) exceed views ({views})", views + 1),
    ));
    set_cell(&f("posts"), 5, "creator_id", "cr99999");
    expected.push(("posts.csv".into(), Some(5), "creator_id", "unknown creators.creator_id".into()));
    // A duplicate key in a table nothing references (so no dangling references follow).
    for column in ["creator_id", "platform", "started_at"] {
        let v = cell(&f("campaign_history"), 6, column);
        set_cell(&f("campaign_history"), 7, column, &v);
    }
    expected.push((
        "campaign_history.csv".into(),
        Some(7),
        "creator_id, platform, started_at",
        "duplicate key: same as row 6".into(),
    ));
    set_cell(&f("orders"), 1, "revenue", "NaN");
    expected.push(("orders.csv".into(), Some(1), "revenue", "must be a number, found NaN".into()));
    set_cell(&f("orders"), 2, "ordered_at", "2020-01-01T00:00:00Z");
    expected.push(("orders.csv".into(), Some(2), "ordered_at", "order placed before its customer".into()));
    set_cell(&f("comments"), 1, "created_at", "yesterday");
    expected.push(("comments.csv".into(), Some(1), "created_at", "expected an RFC 3339 timestamp".into()));
    set_cell(&f("comments"), 2, "text", "");
    expected.push(("comments.csv".into(), Some(2), "text", "required value is missing".into()));
    set_cell(&f("sessions"), 3, "bounced", "maybe");
    expected.push(("sessions.csv".into(), Some(3), "bounced", "expected a boolean".into()));
    set_cell(&f("costs"), 1, "currency", "usd");
    expected.push(("costs.csv".into(), Some(1), "currency", "ISO-4217".into()));
    drop_column(&f("candidates"), "posts");
    expected.push(("candidates.csv".into(), None, "posts", "required column is missing".into()));

    let (code, out, err) = roicast(&["validate", "--data", data.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1, "stderr: {err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], false);
    let rejects = report["rejects"].as_array().unwrap();
    for (file, row, column, reason) in &expected {
        let found = rejects.iter().any(|r| {
            r["file"].as_str().unwrap().ends_with(file.as_str())
                && r["row"].as_u64() == *row
                && r["column"] == *column
                && r["reason"].as_str().unwrap().contains(reason.as_str())
        });
        assert!(found, "no reject for {file} row {row:?} column {column}: {reason}\nall: {rejects:#?}");
    }
    // Nothing else: every reject is one we planted.
    assert_eq!(rejects.len(), expected.len(), "{rejects:#?}");

    // The text report says the same, one line each, and the exit code is 1.
    let (code, out, _) = roicast(&["validate", "--data", data.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        out.contains("posts.csv: row 5, column `creator_id`: unknown creators.creator_id (value `cr99999`)"),
        "{out}"
    );
    assert!(out.contains("candidates.csv: all rows, column `posts`: required column is missing"), "{out}");
    assert!(out.contains(&format!("{} reject(s)", expected.len())), "{out}");
}

#[test]
fn same_seed_gives_byte_identical_worlds_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: usize, seed: u64| {
        let out = dir.path().join(name);
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| generate(&GenerateParams::new(Scenario::Small).seed(seed), &out, &NoProgress).unwrap());
        files_with_bytes(&out)
    };
    let a = run("a", 1, 5);
    let b = run("b", 2, 5);
    let c = run("c", 2, 6);
    assert_eq!(a.len(), Table::ALL.len() + 2, "13 tables + truth.json + truth_conversions");
    for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between runs with the same seed");
    }
    let differing = a.iter().zip(&c).filter(|((_, x), (_, y))| x != y).count();
    assert!(differing >= Table::ALL.len(), "another seed must give another world ({differing} files differ)");
}

#[test]
fn generate_cli_refuses_to_overwrite_without_force_and_writes_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w");
    let o = out.to_str().unwrap();
    let (code, stdout, err) = roicast(&["generate", "--scenario", "small", "--out", o, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(summary["rows"]["touchpoints"].as_u64().unwrap() > 1_000);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("generate.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["job"], "generate");
    assert_eq!(manifest["params"]["seed"], 42);
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), Table::ALL.len() + 2);
    assert_eq!(manifest["outputs"][0]["sha256"].as_str().unwrap().len(), 64);

    let (code, _, err) = roicast(&["generate", "--scenario", "small", "--out", o]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists") && err.contains("hint: pass --force"), "{err}");
    let (code, _, err) = roicast(&["generate", "--scenario", "small", "--out", o, "--force", "--seed", "1"]);
    assert_eq!(code, 0, "{err}");
}
