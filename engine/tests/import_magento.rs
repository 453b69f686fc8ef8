//! `roicast import magento-orders` on a REST `/V1/orders` page and on the admin grid's CSV
//! export of the same orders (tests/fixtures/import/magento/README.md): base vs order
//! currency, refunds, canceled / closed / unpaid statuses; the grid's locale dates need
//! `--timezone` and its `$` needs `--currency`; both forms give the same orders.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use common::roicast;
use roicast_data::Table;

fn fixture(name: &str) -> PathBuf {
    common::import_fixture(&format!("magento/{name}"))
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

/// (order id, customer, `ordered_at`, revenue, currency, refunded) of every order.
fn orders(dir: &Path) -> Vec<(String, String, i64, f64, String, bool)> {
    let b = read(&dir.join("orders.parquet"), Table::Orders);
    let s = |c: &str| b.column(b.schema().index_of(c).unwrap()).as_string::<i32>().clone();
    let (id, cu, cur) = (s("order_id"), s("customer_id"), s("currency"));
    let at = b.column(3).as_primitive::<TimestampMicrosecondType>().clone();
    let rev = b.column(4).as_primitive::<Float64Type>().clone();
    let refunded = b.column(b.schema().index_of("refunded").unwrap()).as_boolean().clone();
    (0..b.num_rows())
        .map(|i| {
            (id.value(i).into(), cu.value(i).into(), at.value(i), rev.value(i), cur.value(i).into(), refunded.value(i))
        })
        .collect()
}

fn import(input: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "import",
        "magento-orders",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--id-salt",
        "s",
    ];
    args.extend(extra);
    roicast(&args)
}

#[test]
fn rest_and_grid_give_the_same_orders() {
    let dir = tempfile::tempdir().unwrap();
    let (rest, grid) = (dir.path().join("rest"), dir.path().join("grid"));
    let (code, stdout, err) = import(&fixture("orders_rest.json"), &rest, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["report"]["skipped"]["canceled orders (status canceled)"], 1, "{}", r["report"]);
    assert_eq!(r["report"]["skipped"]["unpaid orders (status pending_payment / payment_review)"], 1);
    assert!(r["report"]["files"][0]["ignored_columns"].as_array().unwrap().iter().any(|c| c == "billing_address"));
    let a = orders(&rest);
    assert_eq!(a.len(), 3);
    assert_eq!(a[1].3, 80.0, "base grand total less the base refund");
    assert_eq!(a[1].4, "USD", "the base currency, not the order's EUR");
    assert!(a[2].5 && a[2].3 == 0.0, "closed = fully refunded");
    assert_eq!(
        a[0].2,
        chrono::DateTime::parse_from_rfc3339("2025-04-02T14:15:00Z").unwrap().timestamp_micros(),
        "REST times are UTC"
    );

    // The grid without --timezone, then without --currency: refused, saying which flag.
    let (code, _, err) = import(&fixture("sales_order_grid.csv"), &grid, &["--currency", "USD"]);
    assert_eq!(code, 1);
    assert!(err.contains("Purchase Date") && err.contains("--timezone"), "{err}");
    let (code, _, err) = import(&fixture("sales_order_grid.csv"), &grid, &["--timezone", "-04:00"]);
    assert_eq!(code, 1);
    assert!(err.contains("Grand Total (Base)") && err.contains("--currency"), "{err}");
    let (code, _, err) =
        import(&fixture("sales_order_grid.csv"), &grid, &["--timezone", "-04:00", "--currency", "USD"]);
    assert_eq!(code, 0, "{err}");
    let b = orders(&grid);
    // The same ids, times, customers and statuses; amounts as each form prints them (the
    // grid's second order was edited to $1,120.00 to test the thousands separator).
    assert_eq!(
        b.iter().map(|o| (&o.0, &o.1, o.2, o.5)).collect::<Vec<_>>(),
        a.iter().map(|o| (&o.0, &o.1, o.2, o.5)).collect::<Vec<_>>()
    );
    assert_eq!(b[1].3, 1080.0, "$1,120.00 less $40.00");
}
