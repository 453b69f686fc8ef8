//! `roicast import impact`, `awin` and `affiliate-csv` on reports shaped like the real
//! ones (tests/fixtures/import/affiliate/README.md): creator partners from the plan,
//! promo codes, approved → paid and pending → committed costs, reversed and declined
//! actions excluded and counted, a mapping file for any other network — and refusals.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use common::roicast;
use roicast_data::Table;

fn fixture(name: &str) -> PathBuf {
    common::import_fixture(&format!("affiliate/{name}"))
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn text(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    common::texts(b, col)
}

fn import(source: &str, input: &Path, out: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let plan = fixture("plan.csv");
    let mut args = vec![
        "import",
        source,
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra);
    let (code, stdout, err) = roicast(&args);
    (code, serde_json::from_str(&stdout).unwrap_or_default(), err)
}

#[test]
fn impact_actions_become_touches_orders_and_costs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let (code, s, err) = import("impact", &fixture("impact_actions.csv"), &out, &[]);
    assert_eq!(code, 0, "{err}");
    let r = &s["report"];
    assert_eq!(r["written"]["costs"], 3, "{r}");
    assert_eq!(r["skipped"]["reversed actions (excluded: no order, no cost, no touch)"], 1, "{r}");
    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    assert_eq!(text(&tp, "channel"), [Some("creator".into()), Some("affiliate".into()), Some("creator".into())]);
    // Partner 2847561 is Sam's id in the plan; the third action used Sam's code SPRING10.
    assert_eq!(text(&tp, "creator_id"), [Some("cr-sam".into()), None, Some("cr-sam".into())]);
    let ts = tp.column(2).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(
        ts.value(0),
        chrono::DateTime::parse_from_rfc3339("2024-05-01T23:45:12Z").unwrap().timestamp_micros(),
        "the click"
    );
    let costs = read(&out.join("costs.parquet"), Table::Costs);
    assert_eq!(text(&costs, "status"), [Some("paid".into()), Some("committed".into()), Some("paid".into())]);
    assert_eq!(text(&costs, "campaign_id")[0].as_deref(), Some("spring-25"), "the plan asset's campaign");
    assert_eq!(text(&costs, "campaign_id")[1].as_deref(), Some("impact:19816"), "the network program");
    let amount = costs.column(costs.schema().index_of("amount").unwrap()).as_primitive::<Float64Type>();
    assert_eq!((amount.value(0), amount.value(1)), (6.4, 3.0));
    let orders = read(&out.join("orders.parquet"), Table::Orders);
    assert_eq!(text(&orders, "order_id"), [Some("1001".into()), Some("1005".into()), Some("1007".into())]);
    assert_eq!(text(&orders, "user_id"), text(&tp, "user_id"), "touch and order share the journey key");
    let campaigns = read(&out.join("campaigns.parquet"), Table::Campaigns);
    assert_eq!(text(&campaigns, "name"), [Some("Lumina Skincare US".into()), Some("Lumina Skincare US".into())]);
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn awin_api_json_and_a_mapped_network_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("awin");
    let (code, s, err) = import("awin", &fixture("awin_transactions.json"), &out, &["--timezone", "UTC"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["report"]["written"]["orders"], 2, "{}", s["report"]);
    assert_eq!(s["report"]["skipped"]["declined actions (excluded: no order, no cost, no touch)"], 1);
    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    assert_eq!(text(&tp, "creator_id"), [Some("cr-lea".into()), None], "publisher 67890 is Lea's");
    let orders = read(&out.join("orders.parquet"), Table::Orders);
    assert_eq!(text(&orders, "currency"), [Some("GBP".into()), Some("GBP".into())]);

    // Without --timezone the API's offset-less times are refused, with the JSON path.
    let (code, _, err) = import("awin", &fixture("awin_transactions.json"), &dir.path().join("x"), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("$[0].transactionDate") && err.contains("--timezone"), "{err}");

    let out = dir.path().join("net");
    let mapping = fixture("network_mapping.csv");
    let (code, s, err) =
        import("affiliate-csv", &fixture("network_report.csv"), &out, &["--mapping", mapping.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(s["report"]["written"]["costs"], 2);
    assert_eq!(s["report"]["skipped"]["rejected actions (excluded: no order, no cost, no touch)"], 1);
    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    assert_eq!(text(&tp, "creator_id")[0].as_deref(), Some("cr-sam"));
    let (code, _, err) = roicast(&[
        "import",
        "affiliate-csv",
        "--input",
        fixture("network_report.csv").to_str().unwrap(),
        "--out",
        dir.path().join("y").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "a missing flag: could not run");
    assert!(err.contains("--mapping"), "{err}");
}

#[test]
fn bad_affiliate_reports_are_refused() {
    let good = std::fs::read_to_string(fixture("impact_actions.csv")).unwrap();
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("status", good.replacen("APPROVED", "PAID_OUT", 1), &["row 1", "State", "unknown status", "PAID_OUT"]),
        ("payout", good.replacen(",6.40,6.40,6.40,", ",six,6.40,6.40,", 1), &["row 1", "Payout", "amount", "six"]),
        ("header", good.replacen("Payout,", "Payot,", 1), &["`Payout` is missing", "did you mean `Payot`"]),
        ("currency", good.replacen(",USD,", ",US$,", 1), &["row 1", "Currency", "ISO 4217"]),
    ];
    for (what, body, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("actions.csv");
        std::fs::write(&f, body).unwrap();
        let out = dir.path().join("ds");
        let (code, _, err) = import("impact", &f, &out, &[]);
        assert_eq!(code, 1, "{what}: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: `{n}` not in {err}");
        }
        assert!(!out.exists());
    }
}
