//! The ROI job end to end on a hand-made dataset: every number computed by hand, and a
//! mixed-currency input without rates refused.

use std::path::Path;

use roicast_tests::roicast;

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

fn world(dir: &Path, c: &str) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write(&data, "creators.csv", "creator_id,platform,handle,followers\nc1,instagram,ann,5000\nc2,tiktok,bo,8000\n");
    write(
        &data,
        "campaigns.csv",
        "campaign_id,name,starts_at,ends_at\nk1,spring,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n",
    );
    write(
        &data,
        "tracking_assets.csv",
        "asset_id,creator_id,campaign_id,method,value\na1,c1,k1,promo_code,ANN10\na2,c2,k1,promo_code,BO10\n",
    );
    write(
        &data,
        "customers.csv",
        "customer_id,acquired_at\nu1,2026-01-05T00:00:00Z\nu2,2026-01-06T00:00:00Z\nu3,2026-01-07T00:00:00Z\n",
    );
    // c1's code tracks 1,200 (two orders); c2's code 300 (one order).
    write(
        &data,
        "orders.csv",
        &format!(
            "order_id,customer_id,ordered_at,revenue,currency,discount_code,gross_margin\n\
             o1,u1,2026-01-05T00:00:00Z,1000,{c},ann10,400\no2,u2,2026-01-06T00:00:00Z,200,{c},ANN10,80\n\
             o3,u3,2026-01-07T00:00:00Z,300,{c},BO10,120\n"
        ),
    );
    // c1: flat 500 + 10 % commission; c2: per-conversion 20; campaign-level tools 100 split equally.
    write(
        &data,
        "costs.csv",
        "cost_id,campaign_id,creator_id,cost_type,amount,rate,currency,status\n\
         x1,k1,c1,flat_fee,500,,USD,paid\nx2,k1,c1,commission,,0.1,USD,committed\n\
         x3,k1,c2,per_conversion,20,,USD,paid\nx4,k1,,tools,100,,USD,paid\n",
    );
    let results = dir.join("results").join("attribution");
    std::fs::create_dir_all(&results).unwrap();
    write(
        &results,
        "attribution_summary.csv",
        "model,group_by,group,conversions,revenue,assisted_conversions\n\
         last_touch,creator,c1,2,1200,0\nlast_touch,creator,c2,1,300,0\n\
         data_driven,creator,c1,1.5,900,0\ndata_driven,creator,c2,1,300,0\n",
    );
}

#[test]
fn roi_by_hand_under_every_model() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), "USD");
    let out = dir.path().join("roi");
    let (code, stdout, stderr) = roicast(&[
        "roi",
        "--data",
        dir.path().join("data").to_str().unwrap(),
        "--results",
        dir.path().join("results").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["ranked_by"], "data_driven");
    let by = |id: &str| v["creators"].as_array().unwrap().iter().find(|c| c["creator_id"] == id).unwrap().clone();
    // c1: 500 flat + 10 % of 1,200 tracked = 120 + 50 tools = 670.
    let c1 = by("c1");
    assert_eq!(c1["cost"], 670.0);
    assert_eq!(c1["code_tracked_revenue"], 1200.0);
    // last touch: (1,200 − 670) / 670; data-driven: (900 − 670) / 670.
    let close = |a: &serde_json::Value, b: f64| (a.as_f64().unwrap() - b).abs() < 1e-9;
    assert!(close(&c1["roi"]["last_touch"]["roi"], (1200.0 - 670.0) / 670.0 * 100.0));
    assert!(close(&c1["roi"]["data_driven"]["roi"], (900.0 - 670.0) / 670.0 * 100.0));
    // c2: 20 per tracked conversion × 1 + 50 tools = 70; ROI (300 − 70) / 70.
    let c2 = by("c2");
    assert_eq!(c2["cost"], 70.0);
    assert!(close(&c2["roi"]["last_touch"]["roi"], (300.0 - 70.0) / 70.0 * 100.0));
    // The ranking under data-driven: c2 (329 %) above c1 (34 %).
    assert_eq!(v["creators"][0]["creator_id"], "c2");
    let summary = std::fs::read_to_string(out.join("roi_summary.csv")).unwrap();
    assert!(summary.starts_with("creator_id,platform,cost,code_tracked_revenue,link_tracked_revenue,"), "{summary}");
    assert!(out.join("roi.parquet").exists() && out.join("roi.manifest.json").exists());
}

#[test]
fn mixed_currencies_without_rates_are_refused_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), "EUR");
    let out = dir.path().join("roi");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "roi".to_owned(),
            "--data".to_owned(),
            dir.path().join("data").to_str().unwrap().to_owned(),
            "--results".to_owned(),
            dir.path().join("results").to_str().unwrap().to_owned(),
            "--out".to_owned(),
            out.to_str().unwrap().to_owned(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let a = args(&[]);
    let (code, _, stderr) = roicast(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 2);
    assert!(stderr.contains("EUR, USD") && stderr.contains("--fx"), "{stderr}");
    assert!(!out.join("roi.parquet").exists());
    // With a rate table the same input runs: 1 EUR = 1.1 USD → c1 tracked 1,320 USD.
    let fx = dir.path().join("fx.csv");
    std::fs::write(&fx, "currency,rate\nEUR,1.1\n").unwrap();
    let a = args(&["--fx", fx.to_str().unwrap(), "--base-currency", "USD", "--format", "json"]);
    let (code, stdout, stderr) = roicast(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let c1 = v["creators"].as_array().unwrap().iter().find(|c| c["creator_id"] == "c1").unwrap();
    assert!((c1["code_tracked_revenue"].as_f64().unwrap() - 1320.0).abs() < 1e-9);
}
