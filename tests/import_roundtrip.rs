//! The import path on a world with a known truth: `generate --exports` writes the world's
//! orders as a Shopify "Export orders" CSV; `import shopify-orders` reads it back; the
//! orders and customers equal the generated ones on every field the format carries, over
//! several seeds. The known losses (docs/importers.md) are asserted, not hidden: time to
//! the second, no `user_id` or `gross_margin`, a fully refunded order's revenue is 0 (net).

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use roicast_data::Table;
use roicast_data::import::identity::from_email;
use roicast_tests::roicast;

/// `order_id` → (`customer_id`, `ordered_at` µs, revenue, currency, discount code, refunded, `user_id` set).
type Orders = BTreeMap<String, (String, i64, f64, String, Option<String>, bool, bool)>;

fn load(path: &Path, table: Table) -> Vec<RecordBatch> {
    let (batches, rejects) = roicast_data::dataset::read_file(table, path).unwrap();
    assert!(rejects.is_empty(), "{}: {:?}", path.display(), rejects.first());
    batches
}

fn orders(path: &Path) -> Orders {
    let spec = Table::Orders.spec();
    let at = |n: &str| spec.index_of(n).unwrap();
    let mut out = Orders::new();
    for b in load(path, Table::Orders) {
        let s = |n: &str| b.column(at(n)).as_string::<i32>().clone();
        let (id, cu, cur, code, user) =
            (s("order_id"), s("customer_id"), s("currency"), s("discount_code"), s("user_id"));
        let t = b.column(at("ordered_at")).as_primitive::<TimestampMicrosecondType>().clone();
        let rev = b.column(at("revenue")).as_primitive::<Float64Type>().clone();
        let refunded = b.column(at("refunded")).as_boolean().clone();
        for i in 0..b.num_rows() {
            out.insert(
                id.value(i).to_owned(),
                (
                    cu.value(i).to_owned(),
                    t.value(i),
                    rev.value(i),
                    cur.value(i).to_owned(),
                    code.is_valid(i).then(|| code.value(i).to_owned()),
                    refunded.is_valid(i) && refunded.value(i),
                    user.is_valid(i),
                ),
            );
        }
    }
    out
}

/// The small world of `seed` into `data`, and its vendor exports into `exports`.
fn generate(seed: u64, data: &Path, exports: &Path) {
    let (code, _, err) = roicast(&[
        "generate",
        "--scenario",
        "small",
        "--seed",
        &seed.to_string(),
        "--out",
        data.to_str().unwrap(),
        "--exports",
        exports.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn generated_orders_survive_the_shopify_export_and_import() {
    for seed in [3u64, 11, 29] {
        let dir = tempfile::tempdir().unwrap();
        let (data, exports, imported) = (dir.path().join("data"), dir.path().join("exports"), dir.path().join("ds"));
        generate(seed, &data, &exports);
        let csv = exports.join("shopify/orders_export.csv");
        let (code, _, err) = roicast(&[
            "import",
            "shopify-orders",
            "--input",
            csv.to_str().unwrap(),
            "--out",
            imported.to_str().unwrap(),
            "--id-salt",
            "s3cret",
            "-q",
        ]);
        assert_eq!(code, 0, "seed {seed}: {err}");
        let truth = orders(&data.join("orders.parquet"));
        let got = orders(&imported.join("orders.parquet"));
        assert_eq!(truth.len(), got.len(), "seed {seed}: every order, once");
        let mut full_refunds = 0;
        for (id, t) in &truth {
            let g = &got[id];
            assert_eq!(
                g.0,
                from_email("s3cret", &format!("{}@example.com", t.0)),
                "{id}: the customer id is the salted email hash"
            );
            assert_eq!(g.1, t.1.div_euclid(1_000_000) * 1_000_000, "{id}: the time, to the second");
            assert_eq!(g.3, t.3, "{id}: currency");
            assert_eq!(g.4, t.4, "{id}: discount code");
            assert_eq!(g.5, t.5, "{id}: refunded");
            if t.5 {
                full_refunds += 1;
                assert_eq!(g.2, 0.0, "{id}: a full refund nets to 0");
            } else {
                assert!((g.2 - t.2).abs() < 1e-9, "{id}: revenue {} vs {}", g.2, t.2);
            }
            assert!(!g.6, "the export carries no user_id");
        }
        assert!(full_refunds > 0, "seed {seed}: the world has refunds to check");
        // Customers: one per buyer, acquired at the first order.
        let mut first: BTreeMap<String, i64> = BTreeMap::new();
        for g in got.values() {
            first.entry(g.0.clone()).and_modify(|x| *x = (*x).min(g.1)).or_insert(g.1);
        }
        let customers = load(&imported.join("customers.parquet"), Table::Customers);
        let n: usize = customers.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(n, first.len(), "seed {seed}");
        for b in &customers {
            let ids = b.column(0).as_string::<i32>();
            let at = b.column(1).as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                assert_eq!(at.value(i), first[ids.value(i)]);
            }
        }
    }
}

/// Two maps are equal; otherwise the first key that differs.
fn same<K: Ord + std::fmt::Debug, V: PartialEq + std::fmt::Debug>(
    want: &BTreeMap<K, V>,
    got: &BTreeMap<K, V>,
    seed: u64,
) {
    assert_eq!(want.len(), got.len(), "seed {seed}: row count");
    for (k, v) in want {
        assert_eq!(got.get(k), Some(v), "seed {seed}: {k:?}");
    }
}

fn import(source: &str, inputs: &[&Path], out: &Path, extra: &[&str]) {
    let mut args: Vec<String> = vec!["import".into(), source.into()];
    for i in inputs {
        args.extend(["--input".into(), i.to_str().unwrap().into()]);
    }
    args.extend(["--out".into(), out.to_str().unwrap().into(), "--id-salt".into(), "s3cret".into(), "-q".into()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let (code, _, err) = roicast(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{source}: {err}");
}

fn texts(b: &RecordBatch, t: Table, n: &str) -> Vec<Option<String>> {
    let a = b.column(t.spec().index_of(n).unwrap()).as_string::<i32>();
    (0..b.num_rows()).map(|i| a.is_valid(i).then(|| a.value(i).to_owned())).collect()
}

fn times(b: &RecordBatch, t: Table, n: &str) -> Vec<Option<i64>> {
    let a = b.column(t.spec().index_of(n).unwrap()).as_primitive::<TimestampMicrosecondType>();
    (0..b.num_rows()).map(|i| a.is_valid(i).then(|| a.value(i))).collect()
}

/// Sessions by (user, start): the fields GA4 carries.
type Sessions = BTreeMap<(String, i64), (Vec<Option<String>>, i64, i64, bool)>;

fn sessions(path: &Path) -> Sessions {
    let t = Table::Sessions;
    let mut out = Sessions::new();
    for b in load(path, t) {
        let user = texts(&b, t, "user_id");
        let start = times(&b, t, "started_at");
        let f: Vec<Vec<Option<String>>> =
            ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "referrer", "landing_page"]
                .iter()
                .map(|n| texts(&b, t, n))
                .collect();
        let dur = b.column(t.spec().index_of("duration_s").unwrap()).as_primitive::<Float64Type>().clone();
        let pages =
            b.column(t.spec().index_of("pageviews").unwrap()).as_primitive::<arrow_array::types::Int64Type>().clone();
        let bounced = b.column(t.spec().index_of("bounced").unwrap()).as_boolean().clone();
        for i in 0..b.num_rows() {
            out.insert(
                (user[i].clone().unwrap(), start[i].unwrap()),
                (
                    f.iter().map(|c| c[i].clone()).collect(),
                    (dur.value(i) * 1000.0).round() as i64,
                    pages.value(i),
                    bounced.value(i),
                ),
            );
        }
    }
    out
}

/// Every source the world is exported to comes back: GA4 sessions and their click
/// touches, the journey key of every order (GA4 links it to the shop's order), the
/// subscriptions (Stripe), the acquisition channels and creators (HubSpot), and the API
/// form of the shop's orders equals its CSV form.
#[test]
fn every_exported_source_round_trips() {
    for seed in [5u64, 17] {
        let dir = tempfile::tempdir().unwrap();
        let (data, ex, ds) = (dir.path().join("data"), dir.path().join("exports"), dir.path().join("ds"));
        generate(seed, &data, &ex);
        let plan = ex.join("plan.csv");
        let plan = plan.to_str().unwrap();
        import("shopify-orders", &[&ex.join("shopify/orders_export.csv")], &ds, &["--plan", plan]);
        import("ga4", &[&ex.join("ga4")], &ds, &["--plan", plan, "--merge"]);
        import("stripe-subscriptions", &[&ex.join("stripe/subscriptions.csv")], &ds, &["--merge"]);

        // Orders: the GA4 purchase gave each shop order its visitor.
        let truth = orders(&data.join("orders.parquet"));
        let got = orders(&ds.join("orders.parquet"));
        assert_eq!(truth.len(), got.len(), "seed {seed}");
        for (id, t) in &truth {
            assert_eq!(got[id].6, t.6, "{id}: user_id linked by transaction id");
        }
        // Sessions on every field GA4 carries.
        let (ts, gs) = (sessions(&data.join("sessions.parquet")), sessions(&ds.join("sessions.parquet")));
        assert_eq!(ts.len(), gs.len(), "seed {seed}: every session once");
        for (k, t) in &ts {
            let g = gs.get(k).unwrap_or_else(|| panic!("session {k:?} lost"));
            assert_eq!(g.0, t.0, "{k:?}: utm, referrer, landing page");
            assert_eq!((g.1, g.2, g.3), (t.1, t.2, t.3), "{k:?}: duration (ms), pages, bounced");
        }
        // Every click touch of the world is a GA4 session touch with its channel and creator.
        let tt = Table::Touchpoints;
        let key = |b: &RecordBatch| {
            let (u, ts, ch, cr, ca, tm) = (
                texts(b, tt, "user_id"),
                times(b, tt, "ts"),
                texts(b, tt, "channel"),
                texts(b, tt, "creator_id"),
                texts(b, tt, "campaign_id"),
                texts(b, tt, "tracking_method"),
            );
            let it = texts(b, tt, "interaction");
            (0..b.num_rows())
                .filter(|&i| it[i].as_deref() == Some("click"))
                .map(|i| {
                    (
                        (u[i].clone().unwrap(), ts[i].unwrap()),
                        // How a non-creator visit was seen is the importer's to say.
                        (
                            ch[i].clone(),
                            cr[i].clone(),
                            ca[i].clone(),
                            if cr[i].is_some() { tm[i].clone() } else { None },
                        ),
                    )
                })
                .collect::<Vec<_>>()
        };
        let world: BTreeMap<_, _> = load(&data.join("touchpoints.parquet"), tt).iter().flat_map(key).collect();
        let web: BTreeMap<_, _> = load(&ds.join("touchpoints.parquet"), tt).iter().flat_map(key).collect();
        assert_eq!(world.len(), web.len(), "seed {seed}: one touch per click");
        for (k, w) in &world {
            assert_eq!(web.get(k), Some(w), "{k:?}: channel, creator, campaign, tracking method");
        }
        // Subscriptions, to the second, on the shop's customer of the same email.
        let c = Table::Customers;
        let subs = |p: &Path, hash: bool| {
            let mut m = BTreeMap::new();
            for b in load(p, c) {
                let (id, s, e) =
                    (texts(&b, c, "customer_id"), times(&b, c, "subscription_started_at"), times(&b, c, "churned_at"));
                for i in 0..b.num_rows() {
                    let id = id[i].clone().unwrap();
                    let id = if hash { from_email("s3cret", &format!("{id}@example.com")) } else { id };
                    let sec = |t: Option<i64>| t.map(|t| t.div_euclid(1_000_000));
                    m.insert(id, (sec(s[i]), sec(e[i])));
                }
            }
            m
        };
        let (tc, gc) = (subs(&data.join("customers.parquet"), true), subs(&ds.join("customers.parquet"), false));
        same(&tc, &gc, seed);

        // HubSpot: acquisition channel and creator (affiliate is `other` in HubSpot).
        let crm = dir.path().join("crm");
        import(
            "hubspot-contacts",
            &[&ex.join("hubspot/contacts.csv")],
            &crm,
            &["--plan", plan, "--timezone", "-05:00"],
        );
        let acq = |p: &Path, hash: bool| {
            let mut m = BTreeMap::new();
            for b in load(p, c) {
                let (id, at, cr, ch) = (
                    texts(&b, c, "customer_id"),
                    times(&b, c, "acquired_at"),
                    texts(&b, c, "acquisition_creator_id"),
                    texts(&b, c, "acquisition_channel"),
                );
                for i in 0..b.num_rows() {
                    let id = id[i].clone().unwrap();
                    let id = if hash { from_email("s3cret", &format!("{id}@example.com")) } else { id };
                    // HubSpot carries one source: a creator's customer is `creator`; `affiliate` is `other`.
                    let ch = if cr[i].is_some() {
                        Some("creator".to_owned())
                    } else {
                        ch[i].clone().map(|c| if c == "affiliate" { "other".to_owned() } else { c })
                    };
                    m.insert(id, (at[i].unwrap().div_euclid(60_000_000), cr[i].clone(), ch));
                }
            }
            m
        };
        same(&acq(&data.join("customers.parquet"), true), &acq(&crm.join("customers.parquet"), false), seed);

        // The API form of the orders gives the CSV form's orders.
        let api = dir.path().join("api");
        import("shopify-orders", &[&ex.join("shopify/orders.json")], &api, &[]);
        let csv_only = dir.path().join("csv");
        import("shopify-orders", &[&ex.join("shopify/orders_export.csv")], &csv_only, &[]);
        // Magento's REST form gives the same orders too (no journey key either).
        let magento = dir.path().join("magento");
        import("magento-orders", &[&ex.join("magento/orders.json")], &magento, &[]);
        assert_eq!(orders(&magento.join("orders.parquet")), orders(&csv_only.join("orders.parquet")));
        assert_eq!(
            orders(&api.join("orders.parquet")),
            orders(&csv_only.join("orders.parquet"))
                .into_iter()
                .map(|(k, mut v)| {
                    v.6 = true;
                    (k, v)
                })
                .collect::<Orders>()
        );
    }
}

/// The `roi.parquet` rows of `metrics`: (level, key, model, metric) → value.
fn roi_rows(path: &Path, metrics: &[&str]) -> BTreeMap<(String, String, String, String), f64> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = BTreeMap::new();
    for b in reader {
        let b = b.unwrap();
        let s = |i: usize| b.column(i).as_string::<i32>().clone();
        let (level, key, model, metric) = (s(0), s(1), s(2), s(3));
        let v = b.column(4).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            if metrics.contains(&metric.value(i)) && v.is_valid(i) {
                out.insert(
                    (level.value(i).into(), key.value(i).into(), model.value(i).into(), metric.value(i).into()),
                    v.value(i),
                );
            }
        }
    }
    out
}

/// The path a brand takes — vendor exports → `import` of each source (the shop, analytics,
/// billing and CRM exports, the Instagram / TikTok / YouTube dumps, the brand's own sheets in
/// canonical form) → attribution → ROI — gives the ROI the generated dataset gives, under
/// every attribution model, for the program, each platform and each creator.
#[test]
fn roi_on_the_imported_dataset_equals_roi_on_the_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ex, ds) = (dir.path().join("data"), dir.path().join("exports"), dir.path().join("ds"));
    generate(9, &data, &ex);
    let world = roicast_data::Dataset::open(&data).unwrap();
    roicast_data::generate::exports::vendors::platform(&world, &ex).unwrap();
    let plan = ex.join("plan.csv");
    let plan = plan.to_str().unwrap();
    import("shopify-orders", &[&ex.join("shopify/orders_export.csv")], &ds, &["--plan", plan]);
    import("ga4", &[&ex.join("ga4")], &ds, &["--plan", plan, "--merge"]);
    import("stripe-subscriptions", &[&ex.join("stripe/subscriptions.csv")], &ds, &["--merge"]);
    import(
        "hubspot-contacts",
        &[&ex.join("hubspot/contacts.csv")],
        &ds,
        &["--plan", plan, "--timezone", "-05:00", "--merge"],
    );
    import("instagram", &[&ex.join("instagram")], &ds, &["--plan", plan, "--merge"]);
    import("tiktok", &[&ex.join("tiktok")], &ds, &["--plan", plan, "--timezone", "-04:00", "--merge"]);
    import("youtube", &[&ex.join("youtube")], &ds, &["--plan", plan, "--merge"]);
    import("canonical", &[&ex.join("platform")], &ds, &["--merge"]);
    let (code, _, err) = roicast(&["validate", "--data", ds.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{err}");
    let roi = |d: &Path, name: &str| {
        let results = dir.path().join(name);
        let (code, _, err) = roicast(&[
            "attribute",
            "--data",
            d.to_str().unwrap(),
            "--out",
            results.join("attribution").to_str().unwrap(),
            "--group-by",
            "creator",
            "-q",
        ]);
        assert_eq!(code, 0, "{err}");
        let (code, _, err) = roicast(&[
            "roi",
            "--data",
            d.to_str().unwrap(),
            "--results",
            results.to_str().unwrap(),
            "--out",
            results.join("roi").to_str().unwrap(),
            "--margin-rate",
            "0.58",
            "-q",
        ]);
        assert_eq!(code, 0, "{err}");
        let mut rows = roi_rows(&results.join("roi/roi.parquet"), &["cost", "attributed_revenue", "roi"]);
        // Not the format and week levels: they are allocated over the posts by their link
        // clicks, which the platform dumps do not carry (nor live posts), so the imported
        // dataset splits by impressions instead (docs/roi.md).
        rows.retain(|(level, ..), _| level != "format" && level != "week");
        rows
    };
    let (want, got) = (roi(&data, "generated"), roi(&ds, "imported"));
    assert!(want.len() > 100, "{} rows", want.len());
    assert_eq!(want.keys().collect::<Vec<_>>(), got.keys().collect::<Vec<_>>());
    for (k, w) in &want {
        let g = got[k];
        // Shopify writes order times to the second: time-decay weights move in the 8th digit.
        assert!((g - w).abs() <= 0.05 + 1e-6 * w.abs(), "{k:?}: generated {w}, imported {g}");
    }
}
