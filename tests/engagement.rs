//! The engagement job: hand-computed scores on hand-made posts, and the authenticity
//! score against the generator's truth (with a floor a naive engagement-rate threshold
//! fails).

use std::collections::HashSet;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_tests::roicast;

fn floats(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let a = b.column(b.schema().index_of(name).unwrap()).as_primitive::<Float64Type>();
    (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
}

fn texts(b: &RecordBatch, name: &str) -> Vec<String> {
    let a = b.column(b.schema().index_of(name).unwrap()).as_string::<i32>();
    (0..a.len()).map(|i| a.value(i).to_owned()).collect()
}

#[test]
fn hand_made_posts_score_as_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("creators.csv"),
        "creator_id,platform,handle,followers,following\nc1,instagram,ann,10000,300\n",
    )
    .unwrap();
    // Post p1: 400 likes, 50 comments, 30 shares, saves not reported, reach 4000, 20 clicks.
    // Post p2: 200 likes, 10 comments, no shares/saves reported, 1000 impressions.
    std::fs::write(
        data.join("posts.csv"),
        "post_id,creator_id,platform,format,published_at,sponsored,impressions,reach,views,likes,comments,shares,saves,link_clicks\n\
         p1,c1,instagram,image,2026-01-01T00:00:00Z,true,,4000,,400,50,30,,20\n\
         p2,c1,instagram,image,2026-01-02T00:00:00Z,false,1000,,,200,10,,,\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, _, stderr) = roicast(&["engagement", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let b = &roicast_tests::read_parquet(&out.join("posts_scored.parquet"))[0];
    assert_eq!(texts(b, "post_id"), ["p1", "p2"]);
    // interactions: 400 + 50 + 30 = 480; 200 + 10 = 210
    assert_eq!(floats(b, "interactions"), [Some(480.0), Some(210.0)]);
    assert_eq!(floats(b, "er_followers"), [Some(0.048), Some(0.021)]);
    assert_eq!(floats(b, "er_reach"), [Some(0.12), None], "no reach reported: null, not 0");
    assert_eq!(floats(b, "er_views"), [None, None]);
    // benchmark (instagram, micro, image) = median(0.048, 0.021) = 0.0345
    let bench = floats(b, "er_benchmark")[0].unwrap();
    assert!((bench - 0.0345).abs() < 1e-12);
    let rel = floats(b, "er_relative");
    assert!((rel[0].unwrap() - 0.048 / 0.0345).abs() < 1e-12);
    // Quality of p1 without comments: depth min(1, 30 / 40) = 0.75, relative
    // min(1, 1.3913 / 2) = 0.69565 → 100 × (0.25·0.75 + 0.20·0.69565) / 0.45
    let want = 100.0 * (0.25 * 0.75 + 0.20 * (0.048 / 0.0345 / 2.0)) / 0.45;
    assert!((floats(b, "engagement_quality")[0].unwrap() - want).abs() < 1e-9);
    assert_eq!(floats(b, "quality_depth")[1], None, "neither shares nor saves reported");
    // EMV at the default card (instagram): p1 = 400·0.08 + 50·0.50 + 30·1.00 + 20·0.90 = 105;
    // p2 = 1000/1000·6.00 + 200·0.08 + 10·0.50 = 27. Audience quality is 100 (no signal
    // measurable beyond a normal following), so nothing is discounted.
    let emv = floats(b, "emv");
    assert!((emv[0].unwrap() - 105.0).abs() < 1e-9, "{emv:?}");
    assert!((emv[1].unwrap() - 27.0).abs() < 1e-9, "{emv:?}");
    // The creator's card sums them and EMV is never in a revenue column.
    let card = &roicast_tests::read_parquet(&out.join("creator_scorecard.parquet"))[0];
    assert!((floats(card, "emv")[0].unwrap() - 132.0).abs() < 1e-9);
    assert!(card.schema().fields().iter().all(|f| !f.name().contains("revenue")));
    let emv_csv = std::fs::read_to_string(out.join("emv.csv")).unwrap();
    assert!(emv_csv.contains("total,all,132,132,USD,roicast-emv-2026.1"), "{emv_csv}");
}

#[test]
fn a_custom_rate_card_overrides_the_default_and_bad_cards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("creators.csv"), "creator_id,platform,handle,followers\nc1,tiktok,bo,5000\n").unwrap();
    std::fs::write(
        data.join("posts.csv"),
        "post_id,creator_id,platform,format,published_at,sponsored,views,likes,comments\np1,c1,tiktok,short,2026-01-01T00:00:00Z,false,2000,100,4\n",
    )
    .unwrap();
    let card = dir.path().join("card.csv");
    std::fs::write(&card, "# version: mine-1\n# currency: EUR\nplatform,action,value,source\nother,views_per_1000,10,x\nother,likes,1,y\n").unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = roicast(&[
        "emv",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rate-card",
        card.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    // 2000 views → 2 × 10 = 20; 100 likes × 1 = 100 → 120 EUR
    assert_eq!(v["emv"], 120.0);
    assert_eq!(v["currency"], "EUR");
    std::fs::write(&card, "# currency: EUR\nplatform,action,value,source\nother,likes,-1,y\n").unwrap();
    let (code, _, stderr) = roicast(&[
        "emv",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rate-card",
        card.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "a bad rate card is rejected input");
    assert!(stderr.contains("line 3, column value"), "{stderr}");
}

/// Runs the engagement job on a generated demo world; returns (flagged, truth, naive top-k).
fn flags(seed: u64) -> (Vec<String>, HashSet<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Demo).seed(seed), &data, &NoProgress).unwrap();
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("truth.json")).unwrap()).unwrap();
    let truth: HashSet<String> =
        truth["inflated_creator_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let out = dir.path().join("out");
    let (code, _, stderr) =
        roicast(&["engagement", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let mut flagged = Vec::new();
    let mut by_er = Vec::new();
    for b in roicast_tests::read_parquet(&out.join("creator_scorecard.parquet")) {
        let ids = texts(&b, "creator_id");
        let f = b.column(b.schema().index_of("suspected_inflation").unwrap()).as_boolean().clone();
        let er = floats(&b, "er_followers");
        for i in 0..ids.len() {
            if f.value(i) {
                flagged.push(ids[i].clone());
            }
            by_er.push((er[i].unwrap_or(0.0), ids[i].clone()));
        }
    }
    // The naive detector: the accounts with the highest engagement rate, as many as
    // there are truly inflated ones (its best possible cut).
    by_er.sort_by(|a, b| b.0.total_cmp(&a.0));
    let naive = by_er.into_iter().take(truth.len()).map(|x| x.1).collect();
    (flagged, truth, naive)
}

#[test]
fn authenticity_finds_the_generators_inflated_creators() {
    for seed in [42, 7] {
        let (flagged, truth, naive) = flags(seed);
        let (p, r) = roicast_engine::jobs::engagement::precision_recall(&flagged, &truth);
        let (np, nr) = roicast_engine::jobs::engagement::precision_recall(&naive, &truth);
        assert!(p >= 0.8 && r >= 0.8, "seed {seed}: precision {p:.2}, recall {r:.2} ({flagged:?} vs {truth:?})");
        assert!(
            np < 0.8,
            "seed {seed}: the floor must be one a naive engagement-rate threshold fails ({np:.2} / {nr:.2})"
        );
    }
}
