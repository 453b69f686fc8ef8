//! `roicast import stripe-subscriptions` and `hubspot-contacts` on exports shaped like the
//! real ones (tests/fixtures/import/{stripe,hubspot}/README.md): subscription dates for
//! the retention model, a cancelled and restarted subscription, CRM acquisition dates in
//! the portal's time zone, channels and creators from the source drill-downs — and the
//! refusals: a wrong file for the source, no `--timezone`, a renamed header.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use common::roicast;
use roicast_data::Table;
use roicast_data::import::identity::{customer_id, from_email};

fn fixture(path: &str) -> PathBuf {
    common::import_fixture(path)
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn us(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
}

/// Customer id → (`acquired_at`, creator, channel, subscription start, churned).
type Row = (i64, Option<String>, Option<String>, Option<i64>, Option<i64>);

fn customers(dir: &Path) -> std::collections::BTreeMap<String, Row> {
    let b = read(&dir.join("customers.parquet"), Table::Customers);
    let t = |c: usize, i: usize| {
        let a = b.column(c).as_string::<i32>();
        a.is_valid(i).then(|| a.value(i).to_owned())
    };
    let ts = |c: usize, i: usize| {
        let a = b.column(c).as_primitive::<TimestampMicrosecondType>();
        a.is_valid(i).then(|| a.value(i))
    };
    (0..b.num_rows()).map(|i| (t(0, i).unwrap(), (ts(1, i).unwrap(), t(2, i), t(3, i), ts(4, i), ts(5, i)))).collect()
}

fn import(source: &str, input: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["import", source, "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend(extra);
    roicast(&args)
}

#[test]
fn stripe_subscriptions_give_retention_dates() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let (code, stdout, err) = import(
        "stripe-subscriptions",
        &fixture("stripe/subscriptions.csv"),
        &out,
        &["--id-salt", "s", "--format", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &r["report"];
    assert_eq!(r["written"]["customers"], 4, "{r}");
    assert_eq!(r["skipped"]["incomplete subscriptions (never paid: Status incomplete / incomplete_expired)"], 1);
    assert_eq!(
        r["notes"]["customers who cancelled and subscribed again (win-backs: the first subscription's dates are kept)"],
        1
    );
    assert!(r["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "Customer Name"));
    let c = customers(&out);
    // Cancelled in March, back in May: the first subscription's dates, one customer.
    let ava = &c[&from_email("s", "ava.lee@example.com")];
    assert_eq!((ava.3, ava.4), (Some(us("2024-01-15T10:30:00Z")), Some(us("2024-03-20T08:00:00Z"))));
    // Cancel at period end: cancelled but not ended, so still a subscriber.
    let ben = &c[&from_email("s", "ben.k@example.com")];
    assert_eq!(ben.4, None);
    // No email: the Stripe customer id, hashed.
    assert!(c.contains_key(&customer_id("s", "stripe-customer", "cus_TU5e6f7g8h9i0j")));
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn hubspot_contacts_give_acquisition_in_the_portal_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let plan = fixture("hubspot/plan.csv");
    let flags = ["--timezone", "-05:00", "--plan", plan.to_str().unwrap(), "--id-salt", "s", "--format", "json"];
    let (code, stdout, err) = import("hubspot-contacts", &fixture("hubspot/contacts.csv"), &out, &flags);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &r["report"];
    assert_eq!(r["written"]["customers"], 4, "{r}");
    assert_eq!(r["skipped"]["contacts that are not customers (no Became a Customer Date)"], 1, "{r}");
    assert_eq!(r["notes"]["CRM rows without email (id from the record id)"], 1, "{r}");
    assert!(r["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "Phone Number"));
    let c = customers(&out);
    let ava = &c[&from_email("s", "ava.lee@example.com")];
    assert_eq!(ava.0, us("2024-01-15T15:31:00Z"), "10:31 at -05:00");
    assert_eq!((ava.1.as_deref(), ava.2.as_deref()), (Some("cr-ava"), Some("creator")), "the drill-down is her UTM");
    let ben = &c[&from_email("s", "ben.k@example.com")];
    assert_eq!((ben.1.as_deref(), ben.2.as_deref()), (None, Some("search")));
    let dee = &c[&customer_id("s", "hubspot-contacts-record", "54")];
    assert_eq!(dee.2.as_deref(), Some("email"));
    let eli = &c[&from_email("s", "eli@example.com")];
    assert_eq!(eli.0, us("2024-03-31T04:30:00Z"), "customer stage without the date: Create Date");
    assert_eq!(eli.1.as_deref(), Some("cr-sam"), "an affiliate link id in the drill-down");
    for f in std::fs::read_dir(&out).unwrap() {
        let text = String::from_utf8_lossy(&std::fs::read(f.unwrap().path()).unwrap()).into_owned();
        assert!(!text.contains("example.com") && !text.contains("555 0100"), "clear-text personal data in an output");
    }
}

#[test]
fn crm_and_billing_refusals_say_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let contacts = fixture("hubspot/contacts.csv");
    let subs = fixture("stripe/subscriptions.csv");
    let renamed = dir.path().join("renamed.csv");
    std::fs::write(&renamed, std::fs::read_to_string(&subs).unwrap().replacen("Created (UTC)", "Created", 1)).unwrap();
    let shop = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import/shopify/orders_export.csv");
    let cases: Vec<(&str, &Path, &[&str], &[&str])> = vec![
        ("hubspot-contacts", &contacts, &[], &["contacts.csv", "row 1", "Became a Customer Date", "--timezone"]),
        (
            "stripe-subscriptions",
            &renamed,
            &[],
            &["renamed.csv", "`Created (UTC)` is missing", "did you mean `Created`"],
        ),
        ("stripe-subscriptions", &shop, &[], &["orders_export.csv", "not a Stripe subscriptions export"]),
        ("hubspot-contacts", &subs, &["--timezone", "UTC"], &["subscriptions.csv", "not a HubSpot contacts export"]),
    ];
    for (source, input, flags, needles) in cases {
        let out = dir.path().join("ds");
        let (code, _, err) = import(source, input, &out, flags);
        assert_eq!(code, 1, "{source} {}: {err}", input.display());
        for n in needles {
            assert!(err.contains(n), "{source}: `{n}` not in {err}");
        }
        assert!(!out.exists());
    }
}

/// `--id-key customer-id`: the source's own customer id, for exports that have one; an
/// export without a customer id column is refused with the flag to use.
#[test]
fn id_key_customer_id_uses_the_source_ids() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let (code, _, err) = import(
        "stripe-subscriptions",
        &fixture("stripe/subscriptions.csv"),
        &out,
        &["--id-salt", "s", "--id-key", "customer-id"],
    );
    assert_eq!(code, 0, "{err}");
    let c = customers(&out);
    assert!(c.contains_key(&customer_id("s", "stripe-customer", "cus_PQ1a2b3c4d5e6f")), "{:?}", c.keys());
    assert!(!c.contains_key(&from_email("s", "ava.lee@example.com")));
    let shop = fixture("shopify/orders_export.csv");
    let (code, _, err) = import("shopify-orders", &shop, &dir.path().join("x"), &["--id-key", "customer-id"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no customer id column") && err.contains("--id-key email"), "{err}");
}
