//! `roicast import shopify-orders` on an export shaped like the real one (79 columns,
//! line-item rows; tests/fixtures/import/shopify/README.md): grouping, refunds, cancelled
//! and voided orders, several codes, offsets, missing emails, hashed ids — and bad input
//! refused with exit 1 and nothing written.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use common::roicast;
use roicast_data::Table;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import/shopify/orders_export.csv")
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn us(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

fn import(input: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["import", "shopify-orders", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    roicast(&args)
}

#[test]
fn a_shopify_export_becomes_orders_and_customers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let (code, stdout, err) = import(&fixture(), &out, &["--id-salt", "brand-secret", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &s["report"];
    assert_eq!(r["written"]["orders"], 6, "{r}");
    assert_eq!(r["written"]["customers"], 5, "{r}");
    assert_eq!(r["skipped"]["cancelled (Cancelled at set)"], 1);
    assert_eq!(r["skipped"]["voided (Financial Status = voided)"], 1);
    assert_eq!(r["files"][0]["rows"], 10, "every line-item row is read");
    assert!(r["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "Billing Phone"));

    let orders = read(&out.join("orders.parquet"), Table::Orders);
    let col = |n: &str| orders.column(orders.schema().index_of(n).unwrap()).clone();
    let ids = col("order_id");
    let ids = ids.as_string::<i32>();
    let at = |name: &str| (0..orders.num_rows()).find(|&i| ids.value(i) == name).unwrap_or_else(|| panic!("{name}"));
    let names: Vec<&str> = (0..orders.num_rows()).map(|i| ids.value(i)).collect();
    assert_eq!(names, ["#1001", "#1002", "#1003", "#1004", "#1007", "#1008"], "one row per order, in file order");
    let revenue = col("revenue");
    let revenue = revenue.as_primitive::<Float64Type>();
    let ordered = col("ordered_at");
    let ordered = ordered.as_primitive::<TimestampMicrosecondType>();
    let codes = col("discount_code");
    let codes = codes.as_string::<i32>();
    let refunded = col("refunded");
    let refunded = refunded.as_boolean();
    // Line items grouped: #1001 is one order of 58.00 at 10:15 −0500 = 15:15 UTC.
    assert_eq!(revenue.value(at("#1001")), 58.0);
    assert_eq!(ordered.value(at("#1001")), us("2025-03-01T15:15:00Z"));
    assert_eq!(codes.value(at("#1001")), "AVA15");
    // Several codes: the first is the discount code, all are kept.
    assert_eq!(codes.value(at("#1002")), "SPRING10");
    let extra = col("extra");
    let extra: serde_json::Value = serde_json::from_str(extra.as_string::<i32>().value(at("#1002"))).unwrap();
    assert_eq!(extra["discount_codes"], serde_json::json!(["SPRING10", "VIP5"]));
    assert_eq!(extra["tags"], "wholesale");
    // Partial refund: net revenue, not flagged; full refund: 0 and flagged.
    assert_eq!(revenue.value(at("#1003")), 55.0);
    assert!(!refunded.value(at("#1003")));
    assert_eq!(revenue.value(at("#1004")), 0.0);
    assert!(refunded.value(at("#1004")));
    // DST: +0100 before the switch, +0200 after (Europe, 30 March 2025).
    assert_eq!(ordered.value(at("#1003")), us("2025-03-29T22:30:00Z"));
    assert_eq!(ordered.value(at("#1004")), us("2025-03-30T22:30:00Z"));
    assert_eq!(revenue.value(at("#1008")), 1204.0, "thousands separators");
    assert!(codes.is_null(at("#1007")));

    // Identity: the same person under any case and spacing; no email anywhere in the output.
    let customers = col("customer_id");
    let customers = customers.as_string::<i32>();
    let ava = roicast_data::import::identity::from_email("brand-secret", "AVA.LEE@example.com");
    assert_eq!(customers.value(at("#1001")), ava);
    assert_eq!(customers.value(at("#1008")), ava);
    assert_eq!(
        customers.value(at("#1002")),
        roicast_data::import::identity::from_email("brand-secret", "ben.k@example.com")
    );
    for f in std::fs::read_dir(&out).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("example.com") && !text.contains("555 0100"), "clear-text personal data in an output");
    }
    let cust = read(&out.join("customers.parquet"), Table::Customers);
    assert_eq!(cust.num_rows(), 5);
    let first = (0..cust.num_rows()).find(|&i| cust.column(0).as_string::<i32>().value(i) == ava).unwrap();
    assert_eq!(cust.column(1).as_primitive::<TimestampMicrosecondType>().value(first), us("2025-03-01T15:15:00Z"));

    // The dataset validates, and a second import into the same folder needs --force.
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = import(&fixture(), &out, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("already exists") && err.contains("--force"), "{err}");
}

/// A bad-input case: file name, its bytes, extra flags, what stderr must say.
type Case<'a> = (&'a str, Vec<u8>, &'a [&'a str], &'a [&'a str]);

/// Every refusal: exit 1, the file, the row, the field and the reason, and no dataset.
#[test]
fn bad_exports_are_refused_with_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixture()).unwrap();
    let header = good.lines().next().unwrap().to_owned();
    let change = |from: &str, to: &str| good.replacen(from, to, 1);
    let cases: Vec<(&str, String, &[&str], &[&str])> = vec![
        (
            "magento.csv",
            "ID,Purchase Point,Purchase Date,Bill-to Name,Ship-to Name,Grand Total (Base),Grand Total (Purchased),Status\n000000001,Main Website,\"Mar 1, 2025 10:00:00 AM\",A,A,$10.00,$10.00,complete\n".into(),
            &[],
            &["magento.csv", "not a Shopify orders export", "`ID`"],
        ),
        ("renamed.csv", change("Financial Status", "Financial Stats"), &[], &["renamed.csv", "`Financial Status` is missing", "did you mean `Financial Stats`"]),
        ("total.csv", change(",58.00,AVA15,", ",58 USD,AVA15,"), &[], &["total.csv: row 1, column `Total`", "not a number"]),
        ("currency.csv", change(",USD,", ",US$,"), &[], &["currency.csv: row 1, column `Currency`", "ISO-4217"]),
        ("naive.csv", good.replace("2025-03-01 10:15:00 -0500", "2025-03-01 10:15:00"), &[], &["naive.csv: row 1, column `Created at`", "no UTC offset", "--timezone"]),
        ("truncated.csv", format!("{header}\n#1001,ava.lee@example.com,paid\n"), &[], &["truncated.csv", "malformed CSV"]),
    ];
    let mut latin1 = good.replacen("ava.lee@example.com", "ava.l\u{e9}e@example.com", 1).into_bytes();
    // "é" in Latin-1 is the single byte 0xE9, not UTF-8's C3 A9.
    let at = latin1.windows(2).position(|w| w == [0xC3, 0xA9]).unwrap();
    latin1.splice(at..at + 2, [0xE9]);
    let cases: Vec<Case> = cases
        .into_iter()
        .map(|(n, t, e, k)| (n, t.into_bytes(), e, k))
        .chain(std::iter::once((
            "latin1.csv",
            latin1,
            &[][..],
            &["latin1.csv: row 1, column `Email`", "not UTF-8"][..],
        )))
        .collect();
    for (name, text, extra, needles) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(format!("{name}.ds"));
        let (code, _, err) = import(&path, &out, extra);
        assert_eq!(code, 1, "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: `{n}` not in {err}");
        }
        assert!(!out.exists(), "{name}: nothing is written");
        assert!(
            std::fs::read_dir(dir.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".import-")),
            "{name}: no staging folder left"
        );
    }
    // The offset-less file imports with a time zone.
    let path = dir.path().join("naive.csv");
    let (code, _, err) = import(&path, &dir.path().join("tz.ds"), &["--timezone", "-05:00"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn validate_names_the_importer_for_an_export_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(), dir.path().join("orders_export.csv")).unwrap();
    let other = fixture().parent().unwrap().parent().unwrap().to_owned();
    for (from, to) in [
        ("ga4/events_20240501.ndjson", "events_20240501.ndjson"),
        ("stripe/subscriptions.csv", "subscriptions.csv"),
        ("magento/orders_rest.json", "orders.json"),
        ("segment/events.ndjson", "pixel.ndjson"),
        ("instagram/media.json", "media.json"),
        ("instagram/business_suite.csv", "posts_export.csv"),
        ("tiktok/video_list.json", "videos.json"),
        ("youtube/comment_threads.json", "threads.json"),
        ("youtube/table_data.csv", "Table data.csv"),
    ] {
        std::fs::copy(other.join(from), dir.path().join(to)).unwrap();
    }
    let (code, _, err) = roicast(&["validate", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("holds no canonical table"), "{err}");
    for hint in [
        "orders_export.csv looks like a Shopify orders export: roicast import shopify-orders --input",
        "events_20240501.ndjson looks like a GA4 BigQuery export: roicast import ga4",
        "subscriptions.csv looks like a Stripe subscriptions export: roicast import stripe-subscriptions",
        "orders.json looks like a Magento orders export: roicast import magento-orders",
        "pixel.ndjson looks like a Segment-spec event stream: roicast import segment",
        "media.json looks like a dump of the Instagram Graph API (or a Meta Business Suite export): roicast import instagram",
        "posts_export.csv looks like a dump of the Instagram Graph API (or a Meta Business Suite export): roicast import instagram",
        "videos.json looks like a dump of the TikTok API (or a TikTok Studio export): roicast import tiktok",
        "threads.json looks like a dump of the YouTube Data / Analytics API (or a Studio export): roicast import youtube",
        "Table data.csv looks like a dump of the YouTube Data / Analytics API (or a Studio export): roicast import youtube",
    ] {
        assert!(err.contains(hint), "`{hint}` not in {err}");
    }
}

/// With the tracking plan: creators and tracking assets are written, and each customer is
/// credited to the creator whose code their first order used; a code in no creator's plan
/// is counted, not guessed.
#[test]
fn a_plan_credits_customers_to_the_creators_whose_codes_they_used() {
    let dir = tempfile::tempdir().unwrap();
    let plan = fixture().with_file_name("plan.csv");
    let out = dir.path().join("ds");
    let (code, stdout, err) =
        import(&fixture(), &out, &["--plan", plan.to_str().unwrap(), "--id-salt", "s", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["report"]["written"]["creators"], 3);
    assert_eq!(s["report"]["written"]["tracking_assets"], 4);
    let customers = read(&out.join("customers.parquet"), Table::Customers);
    let creator_of = |email: &str| {
        let id = roicast_data::import::identity::from_email("s", email);
        let i = (0..customers.num_rows()).find(|&i| customers.column(0).as_string::<i32>().value(i) == id).unwrap();
        let c = customers.column(2).as_string::<i32>();
        let ch = customers.column(3).as_string::<i32>();
        (c.is_valid(i).then(|| c.value(i).to_owned()), ch.is_valid(i).then(|| ch.value(i).to_owned()))
    };
    assert_eq!(creator_of("ava.lee@example.com"), (Some("cr-ava".into()), Some("creator".into())));
    assert_eq!(creator_of("ben.k@example.com"), (Some("cr-sam".into()), Some("creator".into())), "SPRING10, any case");
    assert_eq!(creator_of("cara@example.com"), (None, None), "no code: no creator");
    let assets = read(&out.join("tracking_assets.parquet"), Table::TrackingAssets);
    let values: Vec<&str> = (0..assets.num_rows()).map(|i| assets.column(4).as_string::<i32>().value(i)).collect();
    assert!(values.contains(&"spring-glow-ava") && values.contains(&"AVA15"), "{values:?}");
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A plan without SPRING10: the code is reported, the customer is not credited.
    let partial = dir.path().join("partial.csv");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&partial, text.lines().filter(|l| !l.contains("SPRING10")).collect::<Vec<_>>().join("\n")).unwrap();
    let (code, stdout, err) =
        import(&fixture(), &dir.path().join("ds2"), &["--plan", partial.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["report"]["notes"]["orders with discount code `SPRING10`, which is in no creator's plan"], 1, "{s}");

    // A bad plan row is refused like any input: exit 1, nothing written.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "creator_id,platform,handle,followers,method,value\nc1,myspace,x,10,,\n").unwrap();
    let (code, _, err) = import(&fixture(), &dir.path().join("ds3"), &["--plan", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("bad.csv: row 1, column `platform`"), "{err}");
    assert!(!dir.path().join("ds3").exists());
}

#[test]
fn shopify_api_orders_json_becomes_orders_customers_and_landing_touches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let api = fixture().with_file_name("orders_api.json");
    let plan = fixture().with_file_name("plan.csv");
    let (code, stdout, err) =
        import(&api, &out, &["--plan", plan.to_str().unwrap(), "--id-salt", "s", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &s["report"];
    assert_eq!(r["written"]["orders"], 3, "{r}");
    assert_eq!(r["skipped"]["test orders (test = true)"], 1, "{r}");
    assert_eq!(r["skipped"]["cancelled (cancelled_at set)"], 1, "{r}");
    assert!(r["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "line_items"), "{r}");
    let orders = read(&out.join("orders.parquet"), Table::Orders);
    let text = |b: &RecordBatch, c: &str, i: usize| {
        let a = b.column(b.schema().index_of(c).unwrap()).clone();
        let a = a.as_string::<i32>();
        a.is_valid(i).then(|| a.value(i).to_owned())
    };
    let revenue = orders.column(orders.schema().index_of("revenue").unwrap()).as_primitive::<Float64Type>().clone();
    assert_eq!(text(&orders, "order_id", 1).as_deref(), Some("#2002"));
    assert_eq!(revenue.value(1), 80.0, "120.00 less the successful 40.00 refund; the failed one is not counted");
    assert_eq!(text(&orders, "currency", 1).as_deref(), Some("USD"), "the shop currency");
    let extra: serde_json::Value = serde_json::from_str(&text(&orders, "extra", 1).unwrap()).unwrap();
    assert_eq!(extra["total_price_set_presentment_money"]["currency_code"], "EUR", "presentment passes through");
    assert_eq!(extra["discount_codes"], serde_json::json!(["SPRING10", "VIP5"]));
    assert_eq!(revenue.value(2), 0.0);
    assert_eq!(
        text(&orders, "customer_id", 2).unwrap(),
        roicast_data::import::identity::customer_id("s", "shopify-customer", "6600000042")
    );
    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    assert_eq!(tp.num_rows(), 2);
    assert_eq!(
        (text(&tp, "channel", 0).as_deref(), text(&tp, "creator_id", 0).as_deref()),
        (Some("creator"), Some("cr-ava"))
    );
    assert_eq!(text(&tp, "channel", 1).as_deref(), Some("search"), "gclid");
    assert_eq!(text(&tp, "user_id", 0), text(&orders, "user_id", 0), "the touch leads to its order");
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A Magento order given to the Shopify importer is refused with its place.
    let magento = dir.path().join("magento.json");
    std::fs::write(
        &magento,
        r#"{"items":[{"entity_id":1,"increment_id":"000000001","grand_total":10}],"total_count":1}"#,
    )
    .unwrap();
    let (code, _, err) = import(&magento, &dir.path().join("m"), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("magento.json") && err.contains("Magento"), "{err}");
}

/// Every registered source is named in `import --help` (the help is written by hand).
#[test]
fn the_help_names_every_source() {
    let (code, help, err) = roicast(&["import", "--help"]);
    assert_eq!(code, 0, "{err}");
    for (source, _, _) in roicast_data::import::SOURCES {
        assert!(help.contains(source), "`{source}` missing from import --help");
    }
}
