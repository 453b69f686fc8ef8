//! `roicast import segment` on a pixel event stream in the Segment spec
//! (tests/fixtures/import/segment/README.md): sessions cut at 30 minutes of inactivity and
//! at a campaign change, devices linked by `identify`, orders from `Order Completed`,
//! repeated messages skipped — and refusals.

mod common;

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use common::roicast;
use roicast_data::Table;

fn fixture(name: &str) -> PathBuf {
    common::import_fixture(&format!("segment/{name}"))
}

fn read(path: &Path, table: Table) -> RecordBatch {
    common::read_table(path, table)
}

fn text(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    common::texts(b, col)
}

#[test]
fn segment_events_become_sessions_journeys_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ds");
    let (events, plan) = (fixture("events.ndjson"), fixture("plan.csv"));
    let (code, stdout, err) = roicast(&[
        "import",
        "segment",
        "--input",
        events.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--plan",
        plan.to_str().unwrap(),
        "--id-salt",
        "s",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &r["report"];
    assert_eq!(r["skipped"]["repeated messages (same messageId: at-least-once delivery)"], 1, "{r}");
    assert_eq!(r["skipped"]["screen calls (not web sessions)"], 1, "{r}");
    assert_eq!(r["written"]["orders"], 2, "{r}");
    assert_eq!(
        r["written"]["sessions"], 4,
        "creator visit, newsletter visit, the visit after 31 minutes, the ad bounce: {r}"
    );

    let s = read(&out.join("sessions.parquet"), Table::Sessions);
    // The creator visit before midnight belongs to the identified person, not the device.
    assert_eq!(text(&s, "user_id")[0].as_deref(), Some("u:crm-77"));
    assert_eq!(text(&s, "utm_content")[0].as_deref(), Some("spring-glow-ava"));
    assert_eq!(text(&s, "utm_source")[1].as_deref(), Some("newsletter"));
    let duration = s.column(s.schema().index_of("duration_s").unwrap()).as_primitive::<Float64Type>();
    assert_eq!(duration.value(0), 720.0, "23:50 to the order at 00:02");
    let bounced = s.column(s.schema().index_of("bounced").unwrap()).as_boolean();
    assert!(bounced.value(3) && !bounced.value(0));

    let tp = read(&out.join("touchpoints.parquet"), Table::Touchpoints);
    assert_eq!(
        text(&tp, "channel"),
        [Some("creator".into()), Some("email".into()), Some("direct".into()), Some("paid_social".into())]
    );
    let orders = read(&out.join("orders.parquet"), Table::Orders);
    assert_eq!(text(&orders, "user_id"), [Some("u:crm-77".into()), Some("u:crm-77".into())]);
    let ava = roicast_data::import::identity::from_email("s", "ava.lee@example.com");
    assert_eq!(text(&orders, "customer_id"), [Some(ava.clone()), Some(ava)], "the email from identify: the shop's id");
    assert_eq!(text(&orders, "currency")[1].as_deref(), Some("USD"));
    let (code, _, err) = roicast(&["validate", "--data", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for f in std::fs::read_dir(&out).unwrap() {
        let text = String::from_utf8_lossy(&std::fs::read(f.unwrap().path()).unwrap()).into_owned();
        assert!(
            !text.to_lowercase().contains("example.com") && !text.contains("203.0.113"),
            "personal data in an output"
        );
    }
}

#[test]
fn bad_segment_input_is_refused() {
    let good = std::fs::read_to_string(fixture("events.ndjson")).unwrap();
    let order = good.lines().find(|l| l.contains("\"order_id\":\"1001\"")).unwrap();
    let cases: Vec<(&str, String, &[&str])> = vec![
        (
            "total",
            order.replace("\"total\":64.0", "\"total\":\"64,00 $\""),
            &["row 1", "properties.total", "not a number"],
        ),
        (
            "timestamp",
            order.replace("\"timestamp\":\"2024-05-02T00:02:00.000Z\"", "\"timestamp\":\"2024-05-02 00:02\""),
            &["timestamp", "--timezone"],
        ),
        (
            "ga4",
            "{\"event_name\":\"page_view\",\"event_timestamp\":\"1\"}\n".into(),
            &["not a Segment-spec event", "import ga4"],
        ),
    ];
    for (what, body, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("events.ndjson");
        std::fs::write(&f, body).unwrap();
        let out = dir.path().join("ds");
        let (code, _, err) =
            roicast(&["import", "segment", "--input", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 1, "{what}: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: `{n}` not in {err}");
        }
        assert!(!out.exists());
    }
}
