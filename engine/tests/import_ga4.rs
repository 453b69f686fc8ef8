//! `roicast import ga4` on two daily tables of a GA4 BigQuery export shaped like the real
//! one (tests/fixtures/import/ga4/README.md): a session past midnight across both files,
//! events without `ga_session_id`, a repeated `transaction_id`, cookieless events, refund
//! events, channels from UTMs and click ids, creators from the plan — and bad input refused
//! with exit 1 and nothing written.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use common::roicast;
use roicast_data::Table;

fn fixture(name: &str) -> PathBuf {
    common::import_fixture(&format!("ga4/{name}"))
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn us(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

fn text(b: &RecordBatch, col: &str, row: usize) -> Option<String> {
    let c = b.column(b.schema().index_of(col).unwrap());
    let c = c.as_string::<i32>();
    c.is_valid(row).then(|| c.value(row).to_owned())
}

fn import(inputs: &[PathBuf], out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["import".to_owned(), "ga4".to_owned()];
    for i in inputs {
        args.extend(["--input".to_owned(), i.to_str().unwrap().to_owned()]);
    }
    args.extend(["--out".to_owned(), out.to_str().unwrap().to_owned()]);
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    roicast(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn a_ga4_export_becomes_sessions_touchpoints_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let files = [fixture("events_20240501.ndjson"), fixture("events_20240502.ndjson")];
    let plan = fixture("plan.csv");
    let (code, stdout, err) =
        import(&files, &out, &["--plan", plan.to_str().unwrap(), "--id-salt", "s", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let s: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &s["report"];
    assert_eq!(r["files"][0]["rows"], 7);
    assert_eq!(r["files"][1]["rows"], 14);
    assert_eq!(r["written"]["sessions"], 5, "{r}");
    assert_eq!(r["written"]["orders"], 2, "{r}");
    assert_eq!(r["skipped"]["purchase events repeating a transaction_id (the first is kept)"], 1, "{r}");
    assert_eq!(r["skipped"]["events without ga_session_id (not in a session)"], 1, "{r}");
    assert_eq!(r["skipped"]["events without user_pseudo_id (consent-mode cookieless pings)"], 1, "{r}");
    assert_eq!(r["skipped"]["refund events (the shop's export carries refunds)"], 1, "{r}");
    assert!(r["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "device"), "{r}");

    let sessions = read(&out.join("sessions.parquet"), Table::Sessions);
    let id = |i: usize| text(&sessions, "session_id", i).unwrap();
    let a = (0..sessions.num_rows()).find(|&i| id(i) == "1289374650.1714607400.1714607400").unwrap();
    // The session past midnight is one session: its start on 1 May, its checkout page and
    // engagement on 2 May.
    let started = sessions.column(2).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(started.value(a), us("2024-05-01T23:50:00Z"));
    let duration = sessions.column(sessions.schema().index_of("duration_s").unwrap()).as_primitive::<Float64Type>();
    assert_eq!(duration.value(a), 136.75, "41.25 s + 95.5 s of engagement across the two files");
    let pages = sessions.column(sessions.schema().index_of("pageviews").unwrap()).as_primitive::<Int64Type>();
    assert_eq!(pages.value(a), 2);
    assert_eq!(text(&sessions, "utm_content", a).as_deref(), Some("spring-glow-ava"));
    assert_eq!(text(&sessions, "referrer", a).as_deref(), Some("l.instagram.com"));
    assert_eq!(text(&sessions, "landing_page", a).as_deref(), Some("/products/serum"));
    let bounced = sessions.column(sessions.schema().index_of("bounced").unwrap()).as_boolean();
    assert!(!bounced.value(a));
    let b = (0..sessions.num_rows()).find(|&i| id(i).starts_with("2093847561")).unwrap();
    assert!(bounced.value(b), "one page view, never engaged");

    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    let by_user = |user: &str| {
        let i = (0..tp.num_rows()).find(|&i| text(&tp, "user_id", i).unwrap() == user).unwrap();
        (text(&tp, "channel", i).unwrap(), text(&tp, "creator_id", i), text(&tp, "tracking_method", i))
    };
    assert_eq!(by_user("1289374650.1714607400"), ("creator".into(), Some("cr-ava".into()), Some("utm".into())));
    assert_eq!(by_user("2093847561.1714640000").0, "search", "gclid");
    assert_eq!(by_user("3817264950.1714650000").0, "direct");
    assert_eq!(
        by_user("4729183740.1714660000"),
        ("creator".into(), Some("cr-sam".into()), Some("affiliate_link".into()))
    );
    assert_eq!(by_user("5601928374.1714670000").0, "email");

    let orders = read(&out.join("orders.parquet"), Table::Orders);
    assert_eq!(orders.num_rows(), 2);
    assert_eq!(text(&orders, "order_id", 0).as_deref(), Some("1001"));
    assert_eq!(text(&orders, "user_id", 0).as_deref(), Some("1289374650.1714607400"));
    assert_eq!(text(&orders, "discount_code", 0).as_deref(), Some("AVA15"));
    assert_eq!(text(&orders, "currency", 1).as_deref(), Some("EUR"));
    let revenue = orders.column(orders.schema().index_of("revenue").unwrap()).as_primitive::<Float64Type>();
    assert_eq!((revenue.value(0), revenue.value(1)), (64.0, 120.5), "ecommerce.purchase_revenue, then `value`");
    // A logged-in buyer's id comes from GA4's user_id, hashed like every other source's.
    assert_eq!(
        text(&orders, "customer_id", 1).unwrap(),
        roicast_data::import::identity::customer_id("s", "user_id", "crm-77")
    );

    // The dataset validates and attributes: the creator session leads to the order.
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn bad_ga4_input_is_refused_with_where_and_why() {
    let good = std::fs::read_to_string(fixture("events_20240502.ndjson")).unwrap();
    let purchase = good.lines().find(|l| l.contains("\"event_name\":\"purchase\"")).unwrap().to_owned();
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "truncated",
            format!("{}\n{}", good.lines().next().unwrap(), &purchase[..purchase.len() / 2]),
            &["row 2", "column `$`", "truncated"],
        ),
        (
            "non-numeric revenue",
            purchase.replace("\"purchase_revenue\":64.0", "\"purchase_revenue\":\"sixty\""),
            &["row 1", "ecommerce.purchase_revenue", "not a number", "sixty"],
        ),
        (
            "unknown currency",
            purchase.replace("\"string_value\":\"USD\"", "\"string_value\":\"USS\""),
            &["event_params[currency]", "not an ISO 4217"],
        ),
        (
            "timestamp",
            purchase.replace("\"event_timestamp\":\"", "\"event_timestamp\":\"x"),
            &["event_timestamp", "microseconds"],
        ),
        (
            "a shop file",
            "{\"increment_id\":\"000000001\",\"grand_total\":10}\n".into(),
            &["not a GA4 BigQuery export", "event_name"],
        ),
    ];
    for (what, body, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("events.ndjson");
        std::fs::write(&f, body).unwrap();
        let out = dir.path().join("ds");
        let (code, _, err) = import(&[f], &out, &[]);
        assert_eq!(code, 1, "{what}: {err}");
        assert!(err.contains("events.ndjson"), "{what}: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: `{n}` not in {err}");
        }
        assert!(!out.exists(), "{what}: nothing is written");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "{what}: no staging left behind");
    }
}

/// The Parquet form of the export (`bq extract --destination_format PARQUET`: INT64 as
/// integers, records as structs) gives what the NDJSON form gives.
#[test]
fn the_parquet_export_reads_like_the_ndjson_export() {
    let dir = tempfile::tempdir().unwrap();
    let plan = fixture("plan.csv");
    let flags = ["--plan", plan.to_str().unwrap(), "--id-salt", "s", "--format", "json"];
    let (a, b) = (dir.path().join("ndjson"), dir.path().join("parquet"));
    let (code, _, err) = import(&[fixture("events_20240501.ndjson"), fixture("events_20240502.ndjson")], &a, &flags);
    assert_eq!(code, 0, "{err}");
    let (code, stdout, err) = import(&[fixture("events_20240501_02.parquet")], &b, &flags);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["report"]["files"][0]["rows"], 21);
    for t in [Table::Sessions, Table::Touchpoints, Table::Orders] {
        let (x, y) = (read(&a.join(format!("{t}.parquet")), t), read(&b.join(format!("{t}.parquet")), t));
        assert_eq!(x, y, "{t}");
    }
}
