//! `roicast import … --merge`: a shop export, then the brand's subscriptions and its web
//! analytics joined into one dataset — identical re-imports change nothing, complementary
//! rows combine, a web journey links to its shop order by transaction id, and a conflict
//! is refused naming both sides with the dataset left as it was.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, RecordBatch};
use common::roicast;
use roicast_data::Table;
use roicast_data::import::identity::from_email;

fn fixture(path: &str) -> PathBuf {
    common::import_fixture(path)
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn import(source: &str, input: &Path, out: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args =
        vec!["import", source, "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--id-salt", "s"];
    args.extend(extra);
    args.extend(["--format", "json"]);
    let (code, stdout, err) = roicast(&args);
    (code, serde_json::from_str(&stdout).unwrap_or_default(), err)
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())
        })
        .filter(|(n, _)| !n.ends_with("manifest.json"))
        .collect();
    v.sort();
    v
}

#[test]
fn exports_merge_into_one_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let ds = dir.path().join("brand");
    let (code, _, err) = import("shopify-orders", &fixture("shopify/orders_export.csv"), &ds, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = import("shopify-orders", &fixture("shopify/orders_export.csv"), &ds, &[]);
    assert_eq!(code, 2, "without --merge an existing dataset is not touched: {err}");

    // Subscriptions join the shop's customers of the same email.
    let (code, s, err) = import("stripe-subscriptions", &fixture("stripe/subscriptions.csv"), &ds, &["--merge"]);
    assert_eq!(code, 0, "{err}");
    let m = &s["report"]["merged"]["customers"];
    assert!(m["combined"].as_u64().unwrap() >= 2, "{m}");
    let c = read(&ds.join("customers.parquet"), Table::Customers);
    let ids = c.column(0).as_string::<i32>();
    let ava = (0..c.num_rows()).find(|&i| ids.value(i) == from_email("s", "ava.lee@example.com")).unwrap();
    let acquired = c.column(1).as_primitive::<TimestampMicrosecondType>();
    let started = c.column(4).as_primitive::<TimestampMicrosecondType>();
    assert!(started.is_valid(ava), "the subscription start joined the shop customer");
    assert!(acquired.value(ava) <= started.value(ava), "acquired at the earliest record");
    assert!(ds.join("import.1.report.json").exists() && ds.join("import.report.json").exists(), "both reports kept");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ds.join("import.manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 2, "the merged dataset names both imports' inputs");

    // The same file again changes nothing but the reports.
    let before: Vec<_> = tree(&ds).into_iter().filter(|(n, _)| n.ends_with(".parquet")).collect();
    let (code, s, err) = import("stripe-subscriptions", &fixture("stripe/subscriptions.csv"), &ds, &["--merge"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["report"]["merged"]["customers"]["identical"], s["report"]["merged"]["customers"]["imported"]);
    let after: Vec<_> = tree(&ds).into_iter().filter(|(n, _)| n.ends_with(".parquet")).collect();
    assert_eq!(before, after, "an identical re-import is idempotent");

    // GA4 whose transaction id is the shop's order name: the order gains its journey.
    let ga4 = dir.path().join("events.ndjson");
    let text = std::fs::read_to_string(fixture("ga4/events_20240502.ndjson")).unwrap();
    std::fs::write(&ga4, text.replace("\"1001\"", "\"#1001\"")).unwrap();
    let (code, s, err) = import("ga4", &ga4, &ds, &["--merge"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["report"]["merged"]["orders"]["linked_orders"], 1, "{}", s["report"]);
    let o = read(&ds.join("orders.parquet"), Table::Orders);
    let (oid, uid, rev) = (
        o.column(0).as_string::<i32>(),
        o.column(2).as_string::<i32>(),
        o.column(4).as_primitive::<arrow_array::types::Float64Type>(),
    );
    let k = (0..o.num_rows()).find(|&i| oid.value(i) == "#1001").unwrap();
    assert_eq!(uid.value(k), "1289374650.1714607400", "the GA4 user");
    assert_eq!(rev.value(k), 58.0, "the shop's revenue, not GA4's 64.00");
    assert!(ds.join("sessions.parquet").exists());
    let (code, _, err) = roicast(&["validate", "--data", ds.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A shop export that says something else about an order: refused, nothing changed.
    let before = tree(&ds);
    let other = dir.path().join("orders_export.csv");
    let text = std::fs::read_to_string(fixture("shopify/orders_export.csv")).unwrap();
    std::fs::write(&other, text.replacen(",58.00,AVA15,", ",59.00,AVA15,", 1)).unwrap();
    let (code, _, err) = import("shopify-orders", &other, &ds, &["--merge"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("#1001") && err.contains("revenue") && err.contains("orders.parquet"), "{err}");
    assert!(err.contains("orders_export.csv"), "names the new import's file: {err}");
    assert_eq!(tree(&ds), before, "nothing written");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 3, "no staging or aside folder left");
}
