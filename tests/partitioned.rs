//! A dataset split by user (as Spark's `repartition(n, "user_id")` splits it) and run
//! through the partition kernels and merges gives the single-process jobs' results.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, BooleanArray, RecordBatch};
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_data::{Dataset, Table};
use roicast_engine::jobs::Ctx;
use roicast_engine::jobs::attribute::{self, Config};
use roicast_engine::jobs::partitioned as p;
use roicast_models::attribution::credits::GroupBy;

const PARTS: u64 = 3;

/// FNV-1a: the test's own stable hash of a key (any hash that keeps a user together does).
fn bucket(key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h % PARTS
}

/// The dataset's `tables`, rows split by `key` into [`PARTS`] in-memory datasets (rows of
/// each part reversed, so no kernel can lean on the file's order); `shared` tables go to
/// every part whole.
fn split(data: &Path, tables: &[(Table, &str)], shared: &[Table]) -> Vec<Dataset> {
    let ds = Dataset::open(data).unwrap();
    let mut parts: Vec<Vec<(Table, arrow_schema::SchemaRef, Vec<RecordBatch>)>> = vec![Vec::new(); PARTS as usize];
    for &(t, key) in tables {
        let batches = ds.load(t).unwrap();
        let schema = batches[0].schema();
        for (k, part) in parts.iter_mut().enumerate() {
            let mut out: Vec<RecordBatch> = batches
                .iter()
                .map(|b| {
                    let keys = b.column_by_name(key).unwrap().as_string::<i32>();
                    let keep: BooleanArray = (0..b.num_rows())
                        .map(|i| {
                            Some(keys.is_valid(i) && bucket(keys.value(i)) == k as u64 || (keys.is_null(i) && k == 0))
                        })
                        .collect();
                    let kept = arrow_select::filter::filter_record_batch(b, &keep).unwrap();
                    let rev: arrow_array::UInt32Array = (0..kept.num_rows() as u32).rev().collect();
                    arrow_select::take::take_record_batch(&kept, &rev).unwrap()
                })
                .collect();
            out.reverse();
            part.push((t, schema.clone(), out));
        }
    }
    for &t in shared {
        let batches = ds.load(t).unwrap();
        for part in &mut parts {
            part.push((t, batches[0].schema(), batches.clone()));
        }
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(k, tables)| Dataset::in_memory(format!("<part {k}>"), tables).unwrap())
        .collect()
}

type CreditKey = (String, String, String);

/// credits rows keyed by (order, model, touch) → (credit, group).
fn credits(batches: &[RecordBatch]) -> BTreeMap<CreditKey, (f64, String)> {
    let mut out = BTreeMap::new();
    for b in batches {
        let s = |n: &str| b.column_by_name(n).unwrap().as_string::<i32>().clone();
        let (order, touch, model, group) = (s("order_id"), s("touch_id"), s("model"), s("group"));
        let credit = b.column_by_name("credit").unwrap().as_primitive::<Float64Type>().clone();
        for i in 0..b.num_rows() {
            let touch = if touch.is_null(i) { String::new() } else { touch.value(i).to_owned() };
            let k = (order.value(i).to_owned(), model.value(i).to_owned(), touch);
            assert!(out.insert(k.clone(), (credit.value(i), group.value(i).to_owned())).is_none(), "{k:?} twice");
        }
    }
    out
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn attribution_split_by_user_equals_the_single_process_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("world");
    generate(&GenerateParams::new(Scenario::Small).seed(7), &data, &NoProgress).unwrap();
    let out = dir.path().join("attribution");
    let c = Config { group_by: GroupBy::Creator, ..Config::new(data.clone(), out.clone()) };
    let single = attribute::run(&Ctx::silent(), &c).unwrap();
    let parts = split(
        &data,
        &[(Table::Touchpoints, "user_id"), (Table::Orders, "user_id"), (Table::Sessions, "user_id")],
        &[Table::TrackingAssets],
    );

    // Pass 1: globals; pass 2: Markov paths and the fit's summary.
    let scans: Vec<RecordBatch> =
        parts.iter().enumerate().map(|(k, d)| p::attribution_scan(d, &c, k as i32).unwrap()).collect();
    let mut globals = p::merge_scan(&c, &scans).unwrap();
    let stats: Vec<RecordBatch> =
        parts.iter().enumerate().map(|(k, d)| p::attribution_fit_stats(d, &c, &globals, k as i32).unwrap()).collect();
    let summary = p::merge_fit_stats(&c, &mut globals, &stats).unwrap();
    // The Markov chain equals the single run's (effects are per group there, in its order).
    let single_effects = single.removal_effects.clone().unwrap();
    let single_groups = {
        let ds = Dataset::open(&data).unwrap();
        let j = roicast_data::journeys::build(&ds, &roicast_data::journeys::JourneyParams::default()).unwrap();
        roicast_models::attribution::credits::grouping(&j, GroupBy::Creator).names
    };
    let merged = globals.markov_effects.as_ref().unwrap();
    for (g, e) in single_groups.iter().zip(&single_effects) {
        // Group order differs (sorted here, first seen there): the solve rounds differently.
        assert!(rel(merged[g], *e) < 1e-9, "{g}: {} vs {e}", merged[g]);
    }

    // The data-driven fit: rows cached once, one derivative pass per Newton step.
    let rows: Vec<Vec<RecordBatch>> =
        parts.iter().map(|d| vec![p::attribution_hazard_rows(d, &c, &globals).unwrap()]).collect();
    let mut passes = 0;
    let fit = |passes: &mut usize| {
        p::fit_partitioned(&c, &globals, &summary, "test".into(), |m| {
            *passes += 1;
            // Partitions answer in reverse order: the merge orders them.
            Ok(rows.iter().enumerate().rev().map(|(k, r)| p::hazard_partial(r, m, k as i32).unwrap()).collect())
        })
        .unwrap()
    };
    let model = fit(&mut passes);
    assert!(passes > 2, "a Newton fit takes several passes");
    let again = fit(&mut passes);
    assert_eq!(
        serde_json::to_string(&model).unwrap(),
        serde_json::to_string(&again).unwrap(),
        "a rerun is the same bits"
    );
    let want = single.data_driven.clone().unwrap();
    assert_eq!(model.estimates.groups.len(), want.estimates.groups.len());
    assert!(rel(model.estimates.baseline_per_day, want.estimates.baseline_per_day) < 1e-9);
    assert!(rel(model.estimates.log_likelihood, want.estimates.log_likelihood) < 1e-12);
    let mut identified = 0;
    for w in &want.estimates.groups {
        let g = model.estimates.groups.iter().find(|g| g.group == w.group).unwrap();
        // An identified parameter (standard error below the estimate) is the same to 1e-9;
        // one the data cannot pin down (a flat ridge of the likelihood, e.g. a creator with
        // a handful of touches, SE thousands of times the estimate) stops where the last
        // rounding left it: the same to a thousandth of its standard error.
        for (name, a, b, se) in [
            ("β", g.beta, w.beta, w.beta_se),
            ("half-life", g.half_life_hours, w.half_life_hours, w.half_life_hours_se),
        ] {
            match se {
                Some(se) if se < b.abs() => {
                    identified += 1;
                    assert!(rel(a, b) < 1e-9, "{}: {name} {a} vs {b}", w.group);
                }
                Some(se) => assert!((a - b).abs() < 1e-3 * se, "{}: {name} {a} vs {b} (SE {se})", w.group),
                None => {
                    assert!(w.at_bound || (a - b).abs() < 1e-12 || rel(a, b) < 1e-9, "{}: {name} {a} vs {b}", w.group);
                }
            }
        }
    }
    assert!(identified > 20, "only {identified} identified parameters");
    globals.hazard = Some(model);

    // Credits: every order's, under every model.
    let got: Vec<RecordBatch> = parts
        .iter()
        .enumerate()
        .map(|(k, d)| p::attribution_credits(d, &c, &globals, k as i32, false).unwrap())
        .collect();
    let got = credits(&got);
    let want = credits(&roicast_tests::read_parquet(&out.join("credits.parquet")));
    assert_eq!(got.len(), want.len());
    for (k, (w, wg)) in &want {
        let (g, gg) = &got[k];
        assert_eq!(gg, wg, "{k:?}");
        match k.1.as_str() {
            "markov" => assert!(rel(*g, *w) < 1e-9, "{k:?}: {g} vs {w}"),
            "data_driven" => assert!(rel(*g, *w) < 1e-8, "{k:?}: {g} vs {w}"),
            _ => assert_eq!(g.to_bits(), w.to_bits(), "{k:?}: rule models are exact"),
        }
    }

    // Totals, merged in partition order.
    let totals: Vec<RecordBatch> = parts
        .iter()
        .enumerate()
        .map(|(k, d)| p::attribution_credits(d, &c, &globals, k as i32, true).unwrap())
        .collect();
    let merged = p::merge_totals(&c, &totals).unwrap();
    let want: BTreeMap<(&str, &str), &roicast_models::attribution::credits::GroupTotal> =
        single.totals.iter().map(|t| ((t.model, t.group.as_str()), t)).collect();
    assert_eq!(merged.len(), want.len());
    for t in &merged {
        let w = want[&(t.model, t.group.as_str())];
        assert!(
            rel(t.conversions, w.conversions) < 1e-8,
            "{} {}: {} vs {}",
            t.model,
            t.group,
            t.conversions,
            w.conversions
        );
        assert!(rel(t.revenue, w.revenue) < 1e-8, "{} {}", t.model, t.group);
        assert_eq!(t.assisted_conversions, w.assisted_conversions, "{} {}", t.model, t.group);
    }
}

#[test]
fn clv_split_by_customer_equals_the_single_process_summaries_and_fit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("world");
    generate(&GenerateParams::new(Scenario::Small).seed(11), &data, &NoProgress).unwrap();
    let rfm_file = dir.path().join("rfm.parquet");
    let c = roicast_engine::jobs::clv::RfmConfig {
        data: data.clone(),
        out: rfm_file.clone(),
        time_unit: "weeks".into(),
        observation_end: None,
    };
    roicast_engine::jobs::clv::rfm(&Ctx::silent(), &c).unwrap();
    let parts = split(&data, &[(Table::Orders, "customer_id"), (Table::Customers, "customer_id")], &[]);
    let scans: Vec<RecordBatch> = parts.iter().enumerate().map(|(k, d)| p::rfm_scan(d, k as i32).unwrap()).collect();
    let end = p::merge_rfm_scan(&scans).unwrap();
    let mut rows: Vec<RecordBatch> = parts
        .iter()
        .map(|d| roicast_engine::jobs::clv::rfm_batch(d, roicast_data::rfm::TimeUnit::Weeks, Some(end)).unwrap().0)
        .collect();
    // Same rows as `clv rfm`, whatever the order.
    let key = |b: &[RecordBatch]| {
        let mut v: Vec<String> = Vec::new();
        for b in b {
            for i in 0..b.num_rows() {
                v.push(
                    (0..b.num_columns())
                        .map(|c| {
                            let a = b.column(c);
                            let a = if matches!(a.data_type(), arrow_schema::DataType::Timestamp(..)) {
                                arrow_cast::cast(a, &arrow_schema::DataType::Int64).unwrap()
                            } else {
                                a.clone()
                            };
                            arrow_cast::display::array_value_to_string(&a, i).unwrap()
                        })
                        .collect::<Vec<_>>()
                        .join("|"),
                );
            }
        }
        v.sort();
        v
    };
    let (got, want) = (key(&rows), key(&roicast_tests::read_parquet(&rfm_file)));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    // The fit from merged histograms is the single-process fit, bit for bit.
    rows.reverse();
    let hist: Vec<RecordBatch> =
        rows.iter().enumerate().map(|(k, b)| p::rfm_histogram(std::slice::from_ref(b), k as i32).unwrap()).collect();
    let (rfm, spend) = p::merge_rfm_histogram(&hist).unwrap();
    let params = roicast_training::clv::ClvParams::new();
    let merged = params.fit_bgnbd(&rfm).unwrap();
    let single = roicast_engine::jobs::clv::fit(&roicast_engine::jobs::clv::FitConfig {
        model: roicast_engine::jobs::clv::FitModel::Bgnbd,
        rfm: Some(rfm_file.clone()),
        survival: None,
        discount_rate: 0.1,
        project: 13,
    })
    .unwrap();
    for (name, v) in
        [("r", merged.model.r), ("alpha", merged.model.alpha), ("a", merged.model.a), ("b", merged.model.b)]
    {
        assert_eq!(v.to_bits(), single["params"][name].as_f64().unwrap().to_bits(), "BG/NBD {name}");
    }
    let (x, m): (Vec<f64>, Vec<f64>) = spend.into_iter().unzip();
    let gg = params.fit_gamma_gamma(&x, &m).unwrap();
    let single = roicast_engine::jobs::clv::fit(&roicast_engine::jobs::clv::FitConfig {
        model: roicast_engine::jobs::clv::FitModel::GammaGamma,
        rfm: Some(rfm_file),
        survival: None,
        discount_rate: 0.1,
        project: 13,
    })
    .unwrap();
    for (name, v) in [("p", gg.model.p), ("q", gg.model.q), ("gamma", gg.model.gamma)] {
        assert_eq!(v.to_bits(), single["params"][name].as_f64().unwrap().to_bits(), "Gamma-Gamma {name}");
    }
}

/// Every output file of an attribution run, by name (the manifest's timings and paths
/// differ between runs by design: left out).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".manifest.json"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// A small world in `dir/flat` and the same partitioned into `buckets` user buckets in
/// `dir/part`.
fn partitioned_world(
    dir: &Path,
    seed: u64,
    buckets: u32,
) -> (std::path::PathBuf, std::path::PathBuf, roicast_data::partition::PartitionSummary) {
    let flat = dir.join("flat");
    generate(&GenerateParams::new(Scenario::Small).seed(seed), &flat, &NoProgress).unwrap();
    let part = dir.join("part");
    let s = roicast_data::partition::partition_by_user(
        &Dataset::open(&flat).unwrap(),
        &part,
        buckets,
        roicast_data::Format::Parquet,
        false,
        &NoProgress,
    )
    .unwrap();
    (flat, part, s)
}

#[test]
fn a_dataset_partitioned_by_user_attributes_to_the_same_bytes_on_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, part, s) = partitioned_world(dir.path(), 11, 5);
    let ds = Dataset::open(&part).unwrap();
    assert_eq!(ds.user_buckets().unwrap().unwrap(), ["0", "1", "2", "3", "4"]);
    for (t, counts) in &s.rows {
        let table: Table = t.parse().unwrap();
        let rows: usize = Dataset::open(&flat).unwrap().load(table).unwrap().iter().map(RecordBatch::num_rows).sum();
        assert_eq!(counts.iter().sum::<u64>(), rows as u64, "{t}: every row in one bucket");
        assert!(counts.iter().all(|&n| n > 0), "{t}: {counts:?}");
    }
    for by in [GroupBy::Channel, GroupBy::Creator] {
        let c = |data: &Path, out: &Path| Config {
            group_by: by,
            paths_out: None,
            ..Config::new(data.to_owned(), out.to_owned())
        };
        let want_dir = dir.path().join(format!("flat-{by:?}"));
        let single = attribute::run(&Ctx::silent(), &c(&flat, &want_dir)).unwrap();
        let want = outputs(&want_dir);
        assert!(want.contains_key("credits.parquet") && want.contains_key("data_driven_model.json"));
        for threads in [1, 2] {
            let got_dir = dir.path().join(format!("part-{by:?}-{threads}"));
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let bucketed = pool.install(|| attribute::run(&Ctx::silent(), &c(&part, &got_dir))).unwrap();
            let got = outputs(&got_dir);
            assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
            for (name, bytes) in &want {
                assert!(got[name] == *bytes, "{by:?}, {threads} thread(s): {name} differs");
            }
            assert_eq!(bucketed.credit_rows, single.credit_rows);
            assert_eq!(bucketed.totals, single.totals);
            assert_eq!(
                serde_json::to_value(&bucketed.journeys).unwrap(),
                serde_json::to_value(&single.journeys).unwrap()
            );
        }
    }
}

#[test]
fn a_user_table_left_unpartitioned_beside_partitioned_ones_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (flat, part, _) = partitioned_world(dir.path(), 3, 3);
    // Partitioning a partitioned dataset again is refused too.
    let err = roicast_data::partition::partition_by_user(
        &Dataset::open(&part).unwrap(),
        &dir.path().join("again"),
        2,
        roicast_data::Format::Parquet,
        false,
        &NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("not yet partitioned"), "{err}");
    // Orders put back whole: every bucket would see every user's orders.
    std::fs::remove_dir_all(part.join("orders")).unwrap();
    std::fs::copy(flat.join("orders.parquet"), part.join("orders.parquet")).unwrap();
    let err = Dataset::open(&part).unwrap().user_buckets().unwrap_err().to_string();
    assert!(err.contains("`orders` is not partitioned by `user_bucket`"), "{err}");
    let out = dir.path().join("out");
    let err = attribute::run(&Ctx::silent(), &Config::new(part.clone(), out.clone())).unwrap_err();
    assert!(roicast_engine::jobs::is_rejection(&err), "{err:#}");
    assert!(!out.join("credits.parquet").exists());
}
