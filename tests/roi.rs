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

/// Format and week ROI on the hand-made world, with posts and per-touch credits added:
/// every number below is worked out by hand from the allocation rules in docs/roi.md.
#[test]
fn format_and_week_roi_by_hand() {
    /// An order, its creator and its revenue.
    type Row<'a> = (&'a str, &'a str, f64);
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};

    let dir = tempfile::tempdir().unwrap();
    world(dir.path(), "USD");
    let data = dir.path().join("data");
    // c1 posts a reel (30 clicks, 1,000 impressions) in week 2 and a story (10 clicks, 500)
    // in week 3; c2 a reel (5 clicks, 2,000) in week 2. Engagements: 100, 20, 80.
    write(
        &data,
        "posts.csv",
        "post_id,creator_id,campaign_id,platform,format,published_at,sponsored,impressions,likes,comments,link_clicks\n\
         p1,c1,k1,instagram,reel,2026-01-05T10:00:00Z,1,1000,90,10,30\n\
         p2,c1,k1,instagram,story,2026-01-12T10:00:00Z,1,500,15,5,10\n\
         p3,c2,k1,tiktok,reel,2026-01-06T10:00:00Z,1,2000,70,10,5\n",
    );
    // Last touch: o1 (1,000, Mon 5 Jan = 2026-W02) and o2 (200) to c1, o3 (300, 7 Jan) to c2.
    // Move o2 to 13 Jan (2026-W03).
    let orders =
        std::fs::read_to_string(data.join("orders.csv")).unwrap().replace("o2,u2,2026-01-06", "o2,u2,2026-01-13");
    write(&data, "orders.csv", &orders);
    let rows: [Row; 3] = [("o1", "c1", 1000.0), ("o2", "c1", 200.0), ("o3", "c2", 300.0)];
    let text = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let batch = RecordBatch::try_new(
        roicast_engine::jobs::attribute::credits_schema(),
        vec![
            text(&|r| Some(r.0.to_owned())),
            text(&|r| Some(format!("t-{}", r.0))),
            text(&|_| Some("last_touch".to_owned())),
            Arc::new(Float64Array::from(vec![1.0; 3])),
            Arc::new(Float64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            text(&|r| Some(r.1.to_owned())),
            text(&|_| Some("creator".to_owned())),
            text(&|r| Some(r.1.to_owned())),
            text(&|_| Some("k1".to_owned())),
            text(&|_| None),
        ],
    )
    .unwrap();
    let results = dir.path().join("results").join("attribution");
    roicast_data::io::write_table(results.join("credits.parquet"), &batch.schema(), &[batch]).unwrap();
    write(
        &results,
        "attribution_summary.csv",
        "model,group_by,group,conversions,revenue,assisted_conversions\n\
         last_touch,creator,c1,2,1200,0\nlast_touch,creator,c2,1,300,0\n",
    );
    let out = dir.path().join("roi");
    let (code, _, stderr) = roicast(&[
        "roi",
        "--data",
        data.to_str().unwrap(),
        "--results",
        dir.path().join("results").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut values = std::collections::BTreeMap::new();
    for b in roicast_tests::read_parquet(&out.join("roi.parquet")) {
        let s = |c: &str| b.column_by_name(c).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let (level, key, model, metric) = (s("level"), s("key"), s("model"), s("metric"));
        let value = b.column_by_name("value").unwrap().as_any().downcast_ref::<Float64Array>().unwrap().clone();
        for i in 0..b.num_rows() {
            let v = (!arrow_array::Array::is_null(&value, i)).then(|| value.value(i));
            values.insert(
                (
                    level.value(i).to_owned(),
                    key.value(i).to_owned(),
                    model.value(i).to_owned(),
                    metric.value(i).to_owned(),
                ),
                v,
            );
        }
    }
    let get = |level: &str, key: &str, model: &str, metric: &str| -> f64 {
        values
            .get(&(level.to_owned(), key.to_owned(), model.to_owned(), metric.to_owned()))
            .unwrap_or_else(|| panic!("no {level} {key} {model} {metric}"))
            .unwrap_or(f64::NAN)
    };
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    // Revenue by format: c1's 1,200 split 30:10 by clicks → reel 900, story 300; c2's 300 → reel.
    close(get("format", "reel", "last_touch", "attributed_revenue"), 1200.0);
    close(get("format", "story", "last_touch", "attributed_revenue"), 300.0);
    close(get("format", "reel", "last_touch", "conversions"), 1.5 + 1.0);
    // Cost by format: c1's 670 over its two posts (335 each); c2's 70 → reel.
    close(get("format", "reel", "-", "cost"), 335.0 + 70.0);
    close(get("format", "story", "-", "cost"), 335.0);
    close(get("format", "reel", "last_touch", "roi"), (1200.0 - 405.0) / 405.0 * 100.0);
    close(get("format", "story", "last_touch", "roas"), 300.0 / 335.0);
    // CPM and CPE: reel 405 over 3,000 impressions and 180 engagements.
    close(get("format", "reel", "-", "cpm"), 405.0 / 3000.0 * 1000.0);
    close(get("format", "reel", "-", "cpe"), 405.0 / 180.0);
    close(get("format", "story", "-", "posts"), 1.0);
    // Weeks: revenue by order week (W02: o1 + o3; W03: o2), cost by post week (p1, p3 in
    // W02; p2 in W03).
    close(get("week", "2026-W02", "last_touch", "attributed_revenue"), 1300.0);
    close(get("week", "2026-W03", "last_touch", "attributed_revenue"), 200.0);
    close(get("week", "2026-W02", "-", "cost"), 405.0);
    close(get("week", "2026-W03", "-", "cost"), 335.0);
    close(get("week", "2026-W03", "last_touch", "cpa"), 335.0);
    // The breakdowns add up to the creator level.
    let sum = |level: &str, metric: &str, model: &str| -> f64 {
        values.iter().filter(|((l, _, m, x), _)| l == level && m == model && x == metric).filter_map(|(_, v)| *v).sum()
    };
    close(sum("format", "cost", "-"), 670.0 + 70.0);
    close(sum("week", "cost", "-"), 670.0 + 70.0);
    close(sum("format", "attributed_revenue", "last_touch"), 1500.0);
    close(sum("week", "attributed_revenue", "last_touch"), 1500.0);
}
