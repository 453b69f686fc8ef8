//! Attribution end to end: parity with `ChannelAttribution` and mta on a path table, the
//! exact Markov solve against an independent numpy solve, and credits that add up on a
//! generated world.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod common;
use common::roicast;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/attribution")
}

/// model → channel → (conversions, value)
fn read_long(path: &Path) -> HashMap<String, HashMap<String, (f64, f64)>> {
    let mut out: HashMap<String, HashMap<String, (f64, f64)>> = HashMap::new();
    let mut rdr = csv::Reader::from_path(path).unwrap();
    for r in rdr.records() {
        let r = r.unwrap();
        out.entry(r[0].to_owned()).or_default().insert(r[1].to_owned(), (r[2].parse().unwrap(), r[3].parse().unwrap()));
    }
    out
}

#[test]
fn path_mode_matches_channel_attribution_and_mta() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("long.csv");
    let paths = fixtures().join("paths.csv");
    let (code, stdout, err) = roicast(&[
        "attribute",
        "--paths",
        paths.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "first_touch,last_touch,linear,linear_distinct,u_shaped,markov,markov_global,shapley",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let ours = read_long(&out);
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("reference.json")).unwrap()).unwrap();
    let pairs = [
        ("channelattribution/first_touch", "first_touch"),
        ("channelattribution/last_touch", "last_touch"),
        ("channelattribution/linear", "linear"),
        ("mta/first_touch", "first_touch"),
        ("mta/last_touch", "last_touch"),
        ("mta/linear_distinct", "linear_distinct"),
        ("mta/u_shaped", "u_shaped"),
    ];
    for (reference_model, model) in pairs {
        let expected = reference["models"][reference_model].as_object().unwrap();
        assert!(!expected.is_empty());
        for (channel, v) in expected {
            let (conv, value) = ours[model].get(channel).copied().unwrap_or((0.0, 0.0));
            let want = v["conversions"].as_f64().unwrap();
            assert!(
                (conv - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{model} {channel}: {conv} vs {reference_model} {want}"
            );
            if let Some(want) = v["value"].as_f64() {
                assert!(
                    (value - want).abs() <= 1e-9 * want.abs().max(1.0),
                    "{model} {channel} value: {value} vs {want}"
                );
            }
        }
    }
    // The exact Markov solve against numpy's solve of the same chain.
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let exact = &reference["numpy_exact_removal_effects"];
    let p = json["markov"]["conversion_probability"].as_f64().unwrap();
    assert!((p - exact["conversion_probability"].as_f64().unwrap()).abs() < 1e-9);
    for (channel, want) in exact["removal_effects"].as_object().unwrap() {
        let got = json["markov"]["removal_effects"][channel].as_f64().unwrap();
        assert!((got - want.as_f64().unwrap()).abs() < 1e-9, "{channel}: {got} vs {want}");
    }
    // Every model conserves the conversions; Shapley equals linear_distinct here.
    let total: f64 = ours["first_touch"].values().map(|v| v.0).sum();
    for (model, by_channel) in &ours {
        let sum: f64 = by_channel.values().map(|v| v.0).sum();
        assert!((sum - total).abs() < 1e-6, "{model} credits {sum}, expected {total}");
    }
    for (channel, v) in &ours["shapley"] {
        assert!((v.0 - ours["linear_distinct"][channel].0).abs() < 1e-9);
    }
}

#[test]
fn path_mode_refuses_timed_models_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.csv");
    let paths = fixtures().join("paths.csv");
    let (code, _, err) = roicast(&[
        "attribute",
        "--paths",
        paths.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "time_decay",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`time_decay` needs touch timestamps"), "{err}");
    assert!(!out.exists());
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "path;total_conversions;total_null\na > b;1.5;2\nb;-1;0\n").unwrap();
    let (code, _, err) = roicast(&["attribute", "--paths", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "a bad value in the path table is refused input");
    assert!(err.contains("row 2, column `total_conversions`: expected a finite number >= 0, found -1"), "{err}");
    // An empty path with conversions has no channel to credit: refused, never dropped.
    std::fs::write(
        &bad,
        "path,total_conversions
a > b,3
,2
",
    )
    .unwrap();
    let (code, _, err) = roicast(&["attribute", "--paths", bad.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("row 2, column `path`: the path is empty but the row has 2 conversion(s)"), "{err}");
    assert!(!out.exists());
    // Fractional conversions are kept; `;` is sniffed.
    std::fs::write(&bad, "path;total_conversions;total_null\na > b;1.5;2\nb;0.25;0\n").unwrap();
    let (code, _, err) = roicast(&[
        "attribute",
        "--paths",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "last_touch",
    ]);
    assert_eq!(code, 0, "{err}");
    let ours = read_long(&out);
    assert_eq!(ours["last_touch"]["b"].0, 1.75);
}

#[test]
fn dataset_mode_credits_add_up_to_every_order() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("w");
    let (code, _, err) = roicast(&[
        "generate",
        "--scenario",
        "small",
        "--seed",
        "3",
        "--out",
        data.to_str().unwrap(),
        "--file-format",
        "csv",
    ]);
    assert_eq!(code, 0, "{err}");
    let out = dir.path().join("attr");
    let (code, _, err) = roicast(&[
        "attribute",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--group-by",
        "creator",
    ]);
    assert_eq!(code, 0, "{err}");
    let credits = read_credits(&out.join("credits.parquet"));
    let orders = read_orders(&data.join("orders.csv"));
    let mut sums: HashMap<(String, String), (f64, f64)> = HashMap::new();
    for (order, model, credit, revenue) in &credits {
        let e = sums.entry((order.clone(), model.clone())).or_default();
        e.0 += credit;
        e.1 += revenue;
    }
    let models: std::collections::BTreeSet<&String> = credits.iter().map(|c| &c.1).collect();
    assert_eq!(models.len(), 10, "{models:?}");
    for (order_id, revenue) in &orders {
        for m in &models {
            let (c, r) = sums.get(&(order_id.clone(), (*m).clone())).copied().unwrap_or_default();
            assert!((c - 1.0).abs() < 1e-9, "{order_id} {m}: credits sum to {c}");
            assert!((r - revenue).abs() < 1e-6 * revenue.max(1.0), "{order_id} {m}: revenue {r} vs {revenue}");
        }
    }
    let summary = std::fs::read_to_string(out.join("attribution_summary.csv")).unwrap();
    assert!(summary.starts_with("model,group_by,group,conversions,revenue,assisted_conversions\n"));
}

fn read_credits(path: &Path) -> Vec<(String, String, f64, f64)> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = Vec::new();
    for b in reader {
        let b = b.unwrap();
        let (o, m) = (b.column(0).as_string::<i32>(), b.column(2).as_string::<i32>());
        let (c, r) = (b.column(3).as_primitive::<Float64Type>(), b.column(4).as_primitive::<Float64Type>());
        for i in 0..b.num_rows() {
            out.push((o.value(i).to_owned(), m.value(i).to_owned(), c.value(i), r.value(i)));
        }
    }
    out
}

fn read_orders(path: &Path) -> Vec<(String, f64)> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let h = rdr.headers().unwrap().clone();
    let (i, r) = (h.iter().position(|x| x == "order_id").unwrap(), h.iter().position(|x| x == "revenue").unwrap());
    rdr.records().map(|x| x.unwrap()).map(|x| (x[i].to_owned(), x[r].parse().unwrap())).collect()
}

#[test]
fn edge_case_journeys_are_credited_by_every_model() {
    // Single touches, a tie at the order time, touches after the last order, a zero-value
    // order, an order without a user, and a channel (paid_social) seen only in a
    // non-converting journey.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("touchpoints.csv"),
        "touch_id,user_id,ts,channel,creator_id,campaign_id,platform,interaction,tracking_method\n\
         t1,u1,2025-02-01T00:00:00Z,email,,,,click,utm\n\
         t2,u1,2025-02-10T00:00:00Z,creator,c1,k1,instagram,view,platform_api\n\
         t3,u1,2025-02-20T00:00:00Z,direct,,,,click,\n\
         t4,u1,2025-02-25T00:00:00Z,search,,,,click,utm\n\
         t5,u1,2025-03-01T00:00:00Z,paid_social,,,instagram,impression,platform_api\n\
         t6,u2,2025-01-05T00:00:00Z,affiliate,,,,click,utm\n",
    )
    .unwrap();
    std::fs::write(
        data.join("orders.csv"),
        "order_id,customer_id,user_id,ordered_at,revenue,currency,discount_code,gross_margin,refunded\n\
         o1,c1,u1,2025-02-20T00:00:00Z,50,USD,,,\n\
         o2,c1,u1,2025-02-26T00:00:00Z,0,USD,,,\n\
         o3,c9,,2025-02-26T00:00:00Z,10,USD,,,\n\
         o4,c2,u2,2025-01-05T00:00:00Z,7,USD,,,\n",
    )
    .unwrap();
    let out = dir.path().join("a");
    let (code, stdout, err) = roicast(&[
        "attribute",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "first_touch,last_touch,last_non_direct,linear,linear_distinct,time_decay,u_shaped,markov,shapley",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(run["journeys"]["orders_without_touches"], 1);
    assert_eq!(run["journeys"]["non_converting"], 1);
    let credits = read_credits(&out.join("credits.parquet"));
    let mut per_order: HashMap<(String, String), f64> = HashMap::new();
    for (o, m, c, _) in &credits {
        *per_order.entry((o.clone(), m.clone())).or_default() += c;
    }
    assert_eq!(per_order.len(), 4 * 9);
    assert!(per_order.values().all(|s| (s - 1.0).abs() < 1e-12), "{per_order:?}");
    // The tie at o1's time (direct, t3) belongs to o1 and is its last touch; paid_social
    // (non-converting only) earns nothing.
    let summary = std::fs::read_to_string(out.join("attribution_summary.csv")).unwrap();
    // It has no credit and no assist under any model, so it has no summary row at all,
    // while the channels of converting journeys do.
    assert!(!summary.contains(",paid_social,"), "{summary}");
    assert!(summary.contains("last_touch,channel,direct,1,50,"), "{summary}");
    // A missing required table is named.
    std::fs::remove_file(data.join("orders.csv")).unwrap();
    let (code, _, err) = roicast(&["attribute", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("table `orders` is missing"), "{err}");
}
