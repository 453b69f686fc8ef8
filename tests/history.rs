//! The loop from measurement to prediction: a run on the demo world → `roicast history`
//! (measured cost and attributed revenue per campaign × creator) → `train forecast` on the
//! measured plus the external history → `eval forecast`, the backtest on campaigns after
//! a date, with its coverage and rank correlation floored.

use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_tests::roicast;

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_run_becomes_history_that_trains_and_backtests_the_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Demo).seed(42), &data, &NoProgress).unwrap();
    let cfg = dir.path().join("roicast.toml");
    std::fs::write(
        &cfg,
        "data = \"data\"\nout = \"results\"\n[jobs]\nsentiment = false\nforecast = false\nreport = false\n",
    )
    .unwrap();
    let (code, _, err) = roicast(&["run", "--config", cfg.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let measured = dir.path().join("results/history/campaign_history.parquet");
    assert!(measured.is_file(), "the pipeline's history step wrote {}", measured.display());

    // By hand, then appended again: identical rows are not duplicated.
    let out = dir.path().join("history.csv");
    let results = dir.path().join("results");
    let h = |append: bool| {
        let mut args = vec!["history", "--results", results.to_str().unwrap(), "--out", out.to_str().unwrap()];
        if append {
            args.push("--append");
        }
        args.extend(["--format", "json"]);
        let (code, stdout, err) = roicast(&args);
        assert_eq!(code, 0, "{err}");
        json(&stdout)
    };
    let first = h(false);
    let n = first["measured"].as_u64().unwrap();
    assert_eq!(n, 180, "10 campaigns × 18 creators: {first}");
    assert_eq!(first["rows"], n);
    let again = h(true);
    assert_eq!(again["rows"], n, "no duplicates: {again}");
    assert_eq!(again["unchanged"], n);
    assert_eq!(again["kept"], 0);
    // Every row is a campaign × creator with the forecast's features and a measured outcome.
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    for c in [
        "creator_id",
        "platform",
        "started_at",
        "followers",
        "posts",
        "engagement_rate",
        "cost",
        "revenue",
        "format",
        "audience_quality",
        "niche",
        "country",
        "flat_fee",
        "campaign_id",
        "source",
    ] {
        assert!(header.contains(&c), "history lacks {c}: {header:?}");
    }
    assert!(text.lines().skip(1).all(|l| l.contains(",measured,") || l.ends_with(",measured")), "provenance");
    // The measured outcomes tell a spread: some creators profitable, some not.
    let profitable = first["profitable"].as_u64().unwrap();
    assert!(profitable > n / 5 && profitable < 4 * n / 5, "{profitable} of {n} profitable");

    // Train on measured + external history.
    let model = dir.path().join("model.json");
    let (code, stdout, err) = roicast(&[
        "train",
        "forecast",
        "--history",
        data.join("campaign_history.parquet").to_str().unwrap(),
        "--history",
        out.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let t = json(&stdout);
    assert_eq!(t["rows"], 600 + n, "{t}");
    assert!(t["learners"]["ridge"]["mae_log"].is_number() && t["learners"]["boosted_trees"]["mae_log"].is_number());

    // Backtest on the measured history: fit before September, forecast the rest.
    let (code, stdout, err) =
        roicast(&["eval", "forecast", "--history", out.to_str().unwrap(), "--since", "2025-09-01", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let b = json(&stdout);
    let s = &b["scores"];
    let (coverage, spearman) = (s["coverage_80"].as_f64().unwrap(), s["spearman"].as_f64().unwrap());
    assert!(s["rows"].as_u64().unwrap() >= 30, "{b}");
    assert!((0.7..=0.95).contains(&coverage), "80 % intervals cover {coverage}: {b}");
    assert!(spearman >= 0.8, "rank correlation {spearman}: {b}");
}
