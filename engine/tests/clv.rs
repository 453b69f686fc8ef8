//! CLV fits against the published tables.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

mod common;
use common::roicast;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/clv").join(name)
}

fn fit(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = roicast(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

fn close(v: &serde_json::Value, want: f64, tol: f64, what: &str) {
    let got = v.as_f64().unwrap_or(f64::NAN);
    assert!((got - want).abs() <= tol, "{what}: {got} vs published {want}");
}

/// Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", on the CDNOW
/// sample (2,357 customers, weeks): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
#[test]
fn bgnbd_reproduces_fader_hardie_lee_2005_on_cdnow() {
    let f = fixture("cdnow_customers_summary.csv");
    let j = fit(&["clv", "fit", "--model", "bgnbd", "--rfm", f.to_str().unwrap()]);
    assert_eq!(j["model"], "bgnbd");
    assert_eq!(j["n"], 2357);
    close(&j["params"]["r"], 0.243, 5e-4, "r");
    close(&j["params"]["alpha"], 4.414, 5e-4, "alpha");
    close(&j["params"]["a"], 0.793, 5e-4, "a");
    close(&j["params"]["b"], 2.426, 5e-4, "b");
    close(&j["log_likelihood"], -9582.4, 0.05, "log-likelihood");
}

/// Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
/// Expressions", CDNOW: r = 0.55, α = 10.58, s = 0.61, β = 11.67, LL = −9595.0.
#[test]
fn pareto_nbd_reproduces_the_published_cdnow_fit() {
    let f = fixture("cdnow_customers_summary.csv");
    let j = fit(&["clv", "fit", "--model", "pareto-nbd", "--rfm", f.to_str().unwrap()]);
    assert_eq!(j["model"], "pareto-nbd");
    close(&j["params"]["r"], 0.55, 5e-3, "r");
    close(&j["params"]["alpha"], 10.58, 5e-3, "alpha");
    close(&j["params"]["s"], 0.61, 5e-3, "s");
    close(&j["params"]["beta"], 11.67, 5e-3, "beta");
    close(&j["log_likelihood"], -9595.0, 0.05, "log-likelihood");
}

/// Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013 note), CDNOW customers
/// with at least one repeat purchase (946): p = 6.25, q = 3.74, γ = 15.44.
#[test]
fn gamma_gamma_reproduces_the_published_cdnow_fit() {
    let f = fixture("cdnow_rfm_monetary.csv");
    let j = fit(&["clv", "fit", "--model", "gamma-gamma", "--rfm", f.to_str().unwrap()]);
    assert_eq!(j["n"], 946);
    // The published digits, to one unit in the last place: the likelihood is flat along
    // γ (its standard error is ~4), and the note's 15.44 is the truncated optimum.
    close(&j["params"]["p"], 6.25, 1e-2, "p");
    close(&j["params"]["q"], 3.74, 1e-2, "q");
    close(&j["params"]["gamma"], 15.44, 1e-2, "gamma");
    // The optimum itself, from an independent fit of the same likelihood: scipy 1.x
    // Nelder-Mead (xatol = fatol = 1e-12) gives p = 6.248803, q = 3.744589, γ = 15.447749,
    // ℓ = −4055.923244.
    close(&j["params"]["p"], 6.248_803, 1e-4, "p (scipy)");
    close(&j["params"]["q"], 3.744_589, 1e-4, "q (scipy)");
    close(&j["params"]["gamma"], 15.447_749, 1e-3, "gamma (scipy)");
    close(&j["log_likelihood"], -4_055.923_244, 1e-5, "log-likelihood (scipy)");
}

/// Fader & Hardie (2007), "How to Project Customer Retention": the Regular and High End
/// cohorts (active at the start of years 0–7), the published MLEs, and the projections
/// against the held-out years 8–12 of the same table.
#[test]
fn sbg_reproduces_fader_hardie_2007_and_projects_the_holdout_years() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("regular", [1000, 631, 468, 382, 326, 289, 262, 241], [223, 207, 194, 183, 173], 0.704, 1.182),
        ("high_end", [1000, 869, 743, 653, 593, 551, 517, 491], [468, 445, 427, 409, 394], 0.668, 3.806),
    ];
    for (name, calibration, holdout, alpha, beta) in cases {
        let path = dir.path().join(format!("{name}.csv"));
        let mut body = String::from("period,active\n");
        for (t, a) in calibration.iter().enumerate() {
            writeln!(body, "{t},{a}").unwrap();
        }
        std::fs::write(&path, body).unwrap();
        let j = fit(&["clv", "fit", "--model", "sbg", "--survival", path.to_str().unwrap(), "--discount-rate", "0.1"]);
        close(&j["params"]["alpha"], alpha, 5e-4, &format!("{name} alpha"));
        close(&j["params"]["beta"], beta, 5e-4, &format!("{name} beta"));
        for (k, actual) in holdout.iter().enumerate() {
            let t = 8 + k;
            let projected = j["survival"][t]["expected_active"].as_f64().unwrap();
            let err = (projected - f64::from(*actual)).abs() / f64::from(*actual);
            assert!(err < 0.05, "{name} year {t}: projected {projected:.1} vs actual {actual}");
        }
        // DEL equals the discounted sum of the projected survival.
        let del: f64 =
            (0..13i32).map(|t| j["survival"][t as usize]["survival"].as_f64().unwrap() / 1.1f64.powi(t)).sum();
        assert!(j["del"].as_f64().unwrap() > del, "DEL includes the tail beyond year 12");
        assert!(j["del"].as_f64().unwrap() - del < 1.0);
    }
}

#[test]
fn clv_fit_errors_name_file_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rfm.csv");
    std::fs::write(&path, "frequency,recency,T\n1,2,3\n2,x,4\n").unwrap();
    let (code, _, err) = roicast(&["clv", "fit", "--model", "bgnbd", "--rfm", path.to_str().unwrap()]);
    assert_eq!(code, 1, "a bad value is refused input");
    assert!(err.contains("row 2, column `recency`: expected a number, found `x`"), "{err}");
    std::fs::write(&path, "frequency,recency\n1,2\n").unwrap();
    let (code, _, err) = roicast(&["clv", "fit", "--model", "bgnbd", "--rfm", path.to_str().unwrap()]);
    assert_eq!(code, 1, "a missing column is refused input");
    assert!(err.contains("column `T`: required column is missing"), "{err}");
    std::fs::write(&path, "period,active\n0,100\n1,120\n").unwrap();
    let (code, _, err) = roicast(&["clv", "fit", "--model", "sbg", "--survival", path.to_str().unwrap()]);
    assert_eq!(code, 1, "survival counts no model can fit are the input's fault");
    assert!(err.contains("never increase"), "{err}");
}

#[test]
fn clv_job_values_every_customer_under_each_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let (code, _, err) = roicast(&["generate", "--scenario", "small", "--seed", "5", "--out", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for model in ["bgnbd", "pareto-nbd", "sbg"] {
        let out = dir.path().join(model);
        let (code, stdout, err) = roicast(&[
            "clv",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--model",
            model,
            "--by",
            "channel",
            "--format",
            "json",
        ]);
        assert_eq!(code, 0, "{model}: {err}");
        let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let customers = j["customers"].as_u64().unwrap();
        assert!(customers > 100, "{model}: {customers}");
        let cohorts = j["cohorts"].as_array().unwrap();
        let total: u64 = cohorts.iter().map(|c| c["customers"].as_u64().unwrap()).sum();
        assert_eq!(total, customers, "{model}: every customer is in one cohort");
        assert!(
            cohorts
                .iter()
                .all(|c| c["total_clv"].as_f64().unwrap().is_finite() && c["total_clv"].as_f64().unwrap() >= 0.0)
        );
        assert!(out.join("customer_clv.parquet").is_file() && out.join("cohort_clv.csv").is_file());
        let csv = std::fs::read_to_string(out.join("cohort_clv.csv")).unwrap();
        assert!(
            csv.starts_with(
                "cohort,customers,repeat_customers,mean_expected_purchases,mean_p_alive,mean_clv,total_clv"
            )
        );
    }
    // One duration grammar: an unknown unit, and a bare `m` (minutes or months?), are refused.
    let out = dir.path().join("x");
    for (horizon, needles) in [
        ("12q", &["invalid `--horizon`: invalid duration `12q`: unknown unit `q`"][..]),
        ("12m", &["`12min`", "`12mo`"][..]),
    ] {
        let (code, _, err) =
            roicast(&["clv", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "--horizon", horizon]);
        assert_eq!(code, 2, "{horizon}");
        assert!(needles.iter().all(|n| err.contains(n)), "{horizon}: {err}");
    }
    assert!(!dir.path().join("x").exists(), "nothing is written for a refused flag");
}

/// The backtest on the demo world (≈ 7,000 customers: a small world's few hundred leave a
/// four-month calibration too noisy to judge): the pooled BG/NBD fitted up to September
/// predicts the hold-out's repeat purchases of a mixture of creator cohorts within 15 %.
#[test]
fn clv_backtest_predicts_the_hold_out_of_the_demo_world() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (code, _, err) = roicast(&["generate", "--scenario", "demo", "--seed", "42", "--out", data.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = roicast(&[
        "clv",
        "backtest",
        "--data",
        data.to_str().unwrap(),
        "--calibration-end",
        "2025-09-01T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let (actual, predicted) =
        (j["actual_repeat_purchases"].as_f64().unwrap(), j["predicted_repeat_purchases"].as_f64().unwrap());
    assert!(actual > 3_000.0, "{actual} hold-out purchases");
    // The generator's purchases follow BG/NBD: the total hold-out prediction is close.
    assert!((predicted - actual).abs() / actual < 0.15, "predicted {predicted} vs actual {actual}");
}
