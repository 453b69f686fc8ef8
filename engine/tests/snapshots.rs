//! Snapshots of what a person reads: the text output of the main commands and the
//! messages of refused input, run through the real binary. Temporary paths and timings are
//! redacted. Review a change with `INSTA_UPDATE=always cargo test -p roicast-engine --test
//! snapshots` and `git diff engine/tests/snapshots/` (CI never writes snapshots).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::{roicast_in, snapshot_settings as settings};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(rel: &str) -> String {
    repo().join("tests").join("fixtures").join(rel).to_string_lossy().into_owned()
}

fn small_world(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let r = roicast_in(&["generate", "--scenario", "small", "--seed", "3", "--out", data.to_str().unwrap()], dir);
    assert_eq!(r.code, 0, "{}", r.stderr);
    data
}

#[test]
fn schema_of_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let r = roicast_in(&["schema", "--table", "campaign_history"], dir.path());
    assert_eq!(r.code, 0);
    settings(dir.path()).bind(|| insta::assert_snapshot!("schema_campaign_history", r.stdout));
}

#[test]
fn generate_and_validate_a_small_world() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let g =
        roicast_in(&["generate", "--scenario", "small", "--seed", "3", "--out", data.to_str().unwrap()], dir.path());
    assert_eq!(g.code, 0, "{}", g.stderr);
    let v = roicast_in(&["validate", "--data", data.to_str().unwrap()], dir.path());
    assert_eq!(v.code, 0, "{}", v.stderr);
    settings(dir.path()).bind(|| {
        insta::assert_snapshot!("generate_small", g.stdout);
        insta::assert_snapshot!("validate_small", v.stdout);
    });
}

#[test]
fn attribute_a_path_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("credits.csv");
    let r = roicast_in(
        &["attribute", "--paths", &fixture("attribution/paths.csv"), "--out", out.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    settings(dir.path()).bind(|| insta::assert_snapshot!("attribute_paths", r.stdout));
}

#[test]
fn eval_sentiment_on_the_held_out_creator_comments() {
    let dir = tempfile::tempdir().unwrap();
    let r = roicast_in(
        &[
            "eval",
            "sentiment",
            "--model",
            "vader",
            "--input",
            &fixture("sentiment/creator_comments.csv"),
            "--split",
            "test",
        ],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    settings(dir.path()).bind(|| insta::assert_snapshot!("eval_sentiment_vader", r.stdout));
}

#[test]
fn clv_fit_on_cdnow() {
    let dir = tempfile::tempdir().unwrap();
    let r = roicast_in(
        &["clv", "fit", "--model", "bgnbd", "--rfm", &fixture("clv/cdnow_customers_summary.csv")],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    // Parameters rounded: the snapshot is about the document's shape and the published fit.
    let p = &v["params"];
    let text = format!(
        "model {} n {} r {:.4} alpha {:.4} a {:.4} b {:.4}",
        v["model"],
        v["n"],
        p["r"].as_f64().unwrap(),
        p["alpha"].as_f64().unwrap(),
        p["a"].as_f64().unwrap(),
        p["b"].as_f64().unwrap()
    );
    settings(dir.path()).bind(|| insta::assert_snapshot!("clv_fit_bgnbd_cdnow", text));
}

#[test]
fn a_run_and_its_measured_history() {
    let dir = tempfile::tempdir().unwrap();
    small_world(dir.path());
    std::fs::write(dir.path().join("roicast.toml"), "data = \"data\"\nout = \"results\"\n").unwrap();
    let run = roicast_in(&["run", "--config", "roicast.toml", "-q"], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let h = roicast_in(&["history", "--results", "results", "--out", "history.csv"], dir.path());
    assert_eq!(h.code, 0, "{}", h.stderr);
    settings(dir.path()).bind(|| {
        insta::assert_snapshot!("run_small", run.stdout);
        insta::assert_snapshot!("history_small", h.stdout);
    });
}

#[test]
fn refused_input_messages() {
    let dir = tempfile::tempdir().unwrap();
    let data = small_world(dir.path());
    let d = data.to_str().unwrap();
    let mut out = String::new();
    for args in [
        vec!["attribute", "--data", d, "--out", "a", "--lookback", "12m"],
        vec!["attribute", "--data", d, "--out", "a", "--lookback", "P3X"],
        vec!["attribute", "--data", d, "--out", "a", "--markov-order", "9"],
        vec!["attribute", "--data", d, "--out", "a", "--models", "linear,linear"],
        vec!["clv", "--data", d, "--out", "c", "--horizon", "0mo"],
        vec!["eval", "forecast", "--history", "nope.csv", "--since", "yesterday"],
        vec!["history", "--results", "nowhere", "--out", "h.csv"],
    ] {
        let r = roicast_in(&args, dir.path());
        writeln!(out, "$ roicast {}\nexit {}\n{}", args.join(" "), r.code, r.stderr.trim_end()).unwrap();
    }
    assert!(!dir.path().join("a").exists() && !dir.path().join("c").exists(), "nothing is written for refused flags");
    settings(dir.path()).bind(|| insta::assert_snapshot!("refused_input", out));
}
