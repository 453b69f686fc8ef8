//! End-to-end tests of the `roicast` binary: exit codes, stdout/stderr split, help.

use std::path::Path;

mod common;
use common::roicast_in as roicast;

#[test]
fn help_lists_commands_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = roicast(&["--help"], dir.path());
    assert_eq!(out.code, 0);
    let help = out.stdout.clone();
    for needle in
        ["generate", "validate", "schema", "demo", "Exit codes:", "1  the job ran but rejected input", "--threads"]
    {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn demo_writes_a_clean_world_and_a_validation_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = roicast(&["demo", "--no-progress"], dir.path());
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
    let demo = dir.path().join("roicast-demo");
    // The path a brand takes: the world's vendor exports, imported, then the pipeline.
    for f in [
        "world/truth.json",
        "world/generate.manifest.json",
        "exports/shopify/orders_export.csv",
        "exports/stripe/subscriptions.csv",
        "exports/hubspot/contacts.csv",
        "exports/plan.csv",
        "data/touchpoints.parquet",
        "data/sessions.parquet",
        "data/import.manifest.json",
        "results/validation/validation.json",
        "results/report.html",
        "results/run.manifest.json",
        "roicast.toml",
    ] {
        assert!(demo.join(f).is_file(), "missing {f}");
    }
    assert!(std::fs::read_dir(demo.join("exports/ga4")).unwrap().count() > 100, "GA4 writes a file a day");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo.join("results/validation/validation.json")).unwrap()).unwrap();
    assert_eq!(report["ok"], true);
    // The imported dataset holds no clear-text email (the exports use `@example.com`).
    for f in std::fs::read_dir(demo.join("data")).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("@example.com"), "an email in the imported dataset");
    }
    let stdout = out.stdout.clone();
    assert!(stdout.contains("ok: no rejected rows"), "{stdout}");
    // Progress and notes go to stderr, never to stdout.
    assert!(!stdout.contains("generating"), "{stdout}");
    // A believable program (docs/synthetic-world.md): overall ROI under data-driven
    // attribution between +30 % and +100 % (ROAS 1.3–2.0), a third to two thirds of the
    // creators paying back their full cost, and the story told first, by handle.
    let summary = std::fs::read_to_string(demo.join("results/roi/roi_summary.csv")).unwrap();
    let mut lines = summary.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| head.iter().position(|h| *h == n).unwrap();
    let (c_cost, c_rev, c_roi) = (col("cost"), col("revenue_data_driven"), col("roi_data_driven"));
    let (mut cost, mut revenue, mut paid_back, mut n) = (0.0, 0.0, 0, 0);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        cost += f[c_cost].parse::<f64>().unwrap();
        revenue += f[c_rev].parse::<f64>().unwrap();
        paid_back += usize::from(f[c_roi].parse::<f64>().is_ok_and(|r| r > 0.0));
        n += 1;
    }
    let roi = (revenue - cost) / cost;
    assert!((0.3..=1.0).contains(&roi), "demo ROI {roi:.3} (cost {cost:.0}, revenue {revenue:.0})");
    assert!(3 * paid_back >= n && 3 * paid_back <= 2 * n, "{paid_back} of {n} creators paid back");
    assert!(stdout.contains("creators paid back their full cost") && stdout.contains("biggest winners"), "{stdout}");
    assert!(stdout.contains(" (instagram)") || stdout.contains(" (tiktok)"), "creators shown as @handle (platform)");
    // Running it again in its own folder is allowed (`cli::demo` tests which folders it
    // accepts without running the whole demo a second time).
}

#[test]
fn validate_exit_codes_are_0_clean_1_rejected_2_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = roicast(&["generate", "--scenario", "small", "--out", "d", "--file-format", "csv"], dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(roicast(&["validate", "--data", "d"], dir.path()).code, 0);

    let creators = data.join("creators.csv");
    let body = std::fs::read_to_string(&creators).unwrap();
    let mut lines: Vec<String> = body.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replacen(",instagram,", ",myspace,", 1).replacen(",tiktok,", ",myspace,", 1).replacen(
        ",youtube,",
        ",myspace,",
        1,
    );
    std::fs::write(&creators, lines.join("\n") + "\n").unwrap();
    let out = roicast(&["validate", "--data", "d", "--out", "r"], dir.path());
    assert_eq!(out.code, 1);
    let stdout = out.stdout.clone();
    assert!(stdout.contains("creators.csv: row 1, column `platform`: expected one of"), "{stdout}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r/validate.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["outcome"], "rejected");
    assert!(manifest["inputs"].as_array().unwrap().len() >= 13);

    let out = roicast(&["validate", "--data", "no-such-dir"], dir.path());
    assert_eq!(out.code, 2);
    assert!(out.stderr.starts_with("error: failed to open the dataset no-such-dir"), "{}", out.stderr);
    assert!(out.stdout.is_empty());

    let out = roicast(&["validate"], dir.path());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--data"));
}

#[test]
fn docs_data_contract_matches_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = roicast(&["schema", "--markdown"], dir.path());
    assert_eq!(out.code, 0);
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/data-contract.md")).unwrap();
    let tables = &doc[doc.find("## `").expect("the doc has table sections")..];
    assert_eq!(
        tables,
        out.stdout.clone(),
        "docs/data-contract.md is stale: regenerate its tables with `roicast schema --markdown`"
    );
}

#[test]
fn schema_json_names_every_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = roicast(&["schema", "--format", "json"], dir.path());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc.as_array().unwrap().len(), 13);
    assert_eq!(doc[0]["table"], "creators");
    let out = roicast(&["schema", "--table", "nope"], dir.path());
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown table `nope`"));
}
