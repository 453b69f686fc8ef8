//! The revenue forecast on the generator's worlds: calibrated 80 % intervals on held-out
//! candidates' realised revenue, and a P50 that ranks candidates better than followers.

use std::collections::HashMap;

use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_models::forecast::spearman;
use roicast_tests::roicast;

struct Outcome {
    covered: usize,
    rows: usize,
    p50: Vec<f64>,
    followers: Vec<f64>,
    realised: Vec<f64>,
    cv: serde_json::Value,
}

fn run(seed: u64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Demo).seed(seed), &data, &NoProgress).unwrap();
    let model = dir.path().join("model.json");
    let history = data.join("campaign_history.parquet");
    let (code, stdout, stderr) = roicast(&[
        "train",
        "forecast",
        "--history",
        history.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--cv",
        "4",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cv: serde_json::Value = serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["cv"].clone();
    let out = dir.path().join("forecast.csv");
    let cands = data.join("candidates.parquet");
    let (code, _, stderr) = roicast(&[
        "forecast",
        "--model",
        model.to_str().unwrap(),
        "--candidates",
        cands.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("truth.json")).unwrap()).unwrap();
    let realised: HashMap<String, f64> = truth["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["creator_id"].as_str().unwrap().to_owned(), c["realized_revenue"].as_f64().unwrap()))
        .collect();
    // Followers from the candidates file (read back through the CLI-independent reader).
    let (batches, _) = roicast_data::dataset::read_file(roicast_data::Table::Candidates, &cands).unwrap();
    let mut followers_of = HashMap::new();
    for b in &batches {
        use arrow_array::cast::AsArray;
        let ids = b.column(b.schema().index_of("creator_id").unwrap()).as_string::<i32>();
        let f = b.column(b.schema().index_of("followers").unwrap()).as_primitive::<arrow_array::types::Int64Type>();
        for i in 0..b.num_rows() {
            followers_of.insert(ids.value(i).to_owned(), f.value(i) as f64);
        }
    }
    let mut o = Outcome { covered: 0, rows: 0, p50: vec![], followers: vec![], realised: vec![], cv };
    let mut r = csv::Reader::from_path(&out).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (ci, p10, p50, p90) = (col("creator_id"), col("revenue_p10"), col("revenue_p50"), col("revenue_p90"));
    for rec in r.records() {
        let rec = rec.unwrap();
        let real = realised[&rec[ci]];
        let lo: f64 = rec[p10].parse().unwrap();
        let hi: f64 = rec[p90].parse().unwrap();
        o.covered += usize::from(lo <= real && real <= hi);
        o.rows += 1;
        o.p50.push(rec[p50].parse().unwrap());
        o.followers.push(followers_of[&rec[ci]]);
        o.realised.push(real);
    }
    assert_eq!(
        &h.iter().take(11).collect::<Vec<_>>(),
        &[
            "creator_id",
            "platform",
            "scenario",
            "revenue_p10",
            "revenue_p50",
            "revenue_p90",
            "cost_p50",
            "roi_p10",
            "roi_p50",
            "roi_p90",
            "prob_roi_positive"
        ]
    );
    o
}

#[test]
fn intervals_are_calibrated_and_p50_ranks_better_than_followers() {
    let (mut covered, mut rows) = (0, 0);
    let (mut p50, mut followers, mut realised) = (vec![], vec![], vec![]);
    for seed in [42, 7, 99] {
        let o = run(seed);
        let cov = o.cv["coverage_80"].as_f64().unwrap();
        assert!((0.75..=0.85).contains(&cov), "seed {seed}: time-ordered CV coverage {cov}");
        assert!(o.cv["spearman"].as_f64().unwrap() > o.cv["spearman_followers_only"].as_f64().unwrap(), "{}", o.cv);
        covered += o.covered;
        rows += o.rows;
        p50.extend(o.p50);
        followers.extend(o.followers);
        realised.extend(o.realised);
    }
    let coverage = covered as f64 / rows as f64;
    assert!((0.75..=0.85).contains(&coverage), "held-out candidates: 80 % intervals cover {coverage:.3} of {rows}");
    let (model, naive) = (spearman(&p50, &realised), spearman(&followers, &realised));
    assert!(model >= naive + 0.03, "Spearman: model {model:.3} vs followers only {naive:.3}");
}

#[test]
fn candidates_missing_a_feature_are_refused_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Small).seed(3), &data, &NoProgress).unwrap();
    let model = dir.path().join("m.json");
    let hist = data.join("campaign_history.parquet");
    let (code, _, stderr) =
        roicast(&["train", "forecast", "--history", hist.to_str().unwrap(), "--out", model.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let cands = dir.path().join("c.csv");
    std::fs::write(&cands, "creator_id,platform,followers,engagement_rate,posts,format\nx,tiktok,1000,0.05,3,short\n")
        .unwrap();
    let out = dir.path().join("f.csv");
    let (code, _, stderr) = roicast(&[
        "forecast",
        "--model",
        model.to_str().unwrap(),
        "--candidates",
        cands.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a model applied to data without its features is rejected input");
    assert!(stderr.contains("needs the feature column `"), "{stderr}");
    assert!(!out.exists());
}
