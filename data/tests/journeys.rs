//! Journey building on small hand-written datasets: windows, ties, derived touches.

use std::path::Path;

use roicast_data::Dataset;
use roicast_data::journeys::{JourneyParams, build};

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

const TP_HEADER: &str = "touch_id,user_id,ts,channel,creator_id,campaign_id,platform,interaction,tracking_method\n";
const ORDER_HEADER: &str =
    "order_id,customer_id,user_id,ordered_at,revenue,currency,discount_code,gross_margin,refunded\n";

fn dataset(
    touchpoints: &str,
    orders: &str,
    assets: Option<&str>,
    sessions: Option<&str>,
) -> (tempfile::TempDir, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "touchpoints.csv", &format!("{TP_HEADER}{touchpoints}"));
    write(dir.path(), "orders.csv", &format!("{ORDER_HEADER}{orders}"));
    if let Some(a) = assets {
        write(dir.path(), "tracking_assets.csv", &format!("asset_id,creator_id,campaign_id,method,value\n{a}"));
    }
    if let Some(s) = sessions {
        write(
            dir.path(),
            "sessions.csv",
            &format!(
                "session_id,user_id,started_at,utm_source,utm_medium,utm_campaign,utm_content,utm_term,referrer,landing_page,duration_s,pageviews,bounced\n{s}"
            ),
        );
    }
    let ds = Dataset::open(dir.path()).unwrap();
    (dir, ds)
}

fn ids(j: &roicast_data::journeys::Journeys, order: usize) -> Vec<String> {
    j.order_journey(order).iter().map(|&t| j.touch_id(t)).collect()
}

/// The journey of the order with id `order_id`.
fn of(j: &roicast_data::journeys::Journeys, order_id: &str) -> Vec<String> {
    ids(j, j.orders.iter().position(|o| o.order_id == order_id).unwrap())
}

#[test]
fn journeys_respect_lookback_previous_order_ties_and_later_touches() {
    let (_d, ds) = dataset(
        "t0,u1,2025-01-01T00:00:00Z,search,,,,click,utm\n\
         t1,u1,2025-02-01T00:00:00Z,email,,,,click,utm\n\
         t2,u1,2025-02-10T00:00:00Z,creator,c1,k1,instagram,view,platform_api\n\
         t3,u1,2025-02-20T00:00:00Z,direct,,,,click,\n\
         t4,u1,2025-02-25T00:00:00Z,search,,,,click,utm\n\
         t5,u1,2025-03-01T00:00:00Z,paid_social,,,instagram,impression,platform_api\n\
         t6,u2,2025-01-05T00:00:00Z,affiliate,,,,click,utm\n",
        // o1 at t3's exact time (tie: included); o2 later; o3 without user; o4 zero value.
        "o1,c1,u1,2025-02-20T00:00:00Z,50,USD,,,\n\
         o2,c1,u1,2025-02-26T00:00:00Z,0,USD,,,\n\
         o3,c9,,2025-02-26T00:00:00Z,10,USD,,,\n\
         o4,c2,u2,2025-01-05T00:00:00Z,0,USD,,,\n",
        None,
        None,
    );
    let j = build(&ds, &JourneyParams::default()).unwrap();
    // Orders in the canonical order: by user, time and id; those without a user last.
    let order_ids: Vec<&str> = j.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(order_ids, ["o1", "o2", "o4", "o3"]);
    // 30-day lookback drops t0; t3 ties with the order and is included.
    assert_eq!(of(&j, "o1"), ["t1", "t2", "t3"]);
    // After the previous order only.
    assert_eq!(of(&j, "o2"), ["t4"]);
    // No user: empty journey, still an order.
    assert!(of(&j, "o3").is_empty());
    assert_eq!(of(&j, "o4"), ["t6"]);
    assert_eq!(j.stats.orders, 4);
    assert_eq!(j.stats.orders_without_touches, 1);
    // t5 comes after u1's last order: a non-converting journey.
    assert_eq!(j.non_converting.len(), 1);
    assert_eq!(j.touch_id(j.non_converting[0].start as u32), "t5");
}

#[test]
fn codes_and_sessions_become_touches() {
    let (_d, ds) = dataset(
        "t0,u1,2025-02-01T00:00:00Z,creator,c1,k1,tiktok,click,utm\n\
         t1,u1,2025-02-05T12:00:00Z,search,,,,click,utm\n",
        "o1,c1,u1,2025-02-05T12:00:00Z,20,USD,maya15,,\n\
         o2,c2,u2,2025-02-06T00:00:00Z,20,USD,NOPE,,\n",
        Some("a1,c1,k1,promo_code,MAYA15\na2,c1,k1,utm,k1-c1\na3,c2,k1,utm,k1-c2\n"),
        // s1 duplicates t0 (same user, time, creator); s2 is a new click for c2.
        Some(
            "s1,u1,2025-02-01T00:00:00Z,tiktok,influencer,k1,k1-c1,,,/,10,2,false\n\
             s2,u1,2025-02-03T00:00:00Z,instagram,influencer,k1,k1-c2,,,/,10,2,false\n",
        ),
    );
    let j = build(&ds, &JourneyParams::default()).unwrap();
    // The code touch ties with t1 and outranks it.
    assert_eq!(of(&j, "o1"), ["t0", "session:s2", "t1", "code:o1"]);
    assert_eq!(j.stats.code_touches, 1);
    assert_eq!(j.stats.unmatched_codes, 1);
    assert_eq!(j.stats.session_touches, 1);
    assert_eq!(j.stats.session_duplicates, 1);
    let params = JourneyParams { code_outranks_link: false, ..JourneyParams::default() };
    let j = build(&ds, &params).unwrap();
    assert_eq!(of(&j, "o1"), ["t0", "session:s2", "code:o1", "t1"]);
}

#[test]
fn missing_tables_and_bad_params_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "touchpoints.csv", TP_HEADER);
    let ds = Dataset::open(dir.path()).unwrap();
    let err = build(&ds, &JourneyParams::default()).unwrap_err();
    assert!(err.to_string().contains("table `orders` is missing"), "{err}");
    let err = build(&ds, &JourneyParams { lookback_us: 0, ..JourneyParams::default() }).unwrap_err();
    assert!(err.to_string().contains("invalid `lookback`"), "{err}");
}

/// `Dataset::stream` hands every batch of a clean table over, as `load` does, and refuses
/// a table with a rejected row like `load`, naming the first reject and counting them all.
#[test]
fn stream_gives_what_load_gives_and_refuses_rejects_the_same_way() {
    let (_dir, ds) = dataset(
        "t1,u1,2026-01-01T00:00:00Z,creator,cr1,c1,instagram,click,utm\n\
         t2,u2,2026-01-02T00:00:00Z,search,,,,click,\n",
        "o1,cu1,u1,2026-01-03T00:00:00Z,10,USD,,,\n",
        None,
        None,
    );
    let loaded: usize =
        ds.load(roicast_data::Table::Touchpoints).unwrap().iter().map(arrow_array::RecordBatch::num_rows).sum();
    let mut streamed = 0;
    ds.stream::<roicast_data::DataError>(roicast_data::Table::Touchpoints, |b| {
        streamed += b.num_rows();
        Ok(())
    })
    .unwrap();
    assert_eq!((loaded, streamed), (2, 2));

    let (_dir, bad) = dataset(
        "t1,u1,2026-01-01T00:00:00Z,creator,cr1,c1,instagram,click,utm\n\
         t2,u2,not a time,search,,,,click,\n\
         t3,u3,2026-01-02T00:00:00Z,smoke signals,,,,click,\n",
        "o1,cu1,u1,2026-01-03T00:00:00Z,10,USD,,,\n",
        None,
        None,
    );
    let mut calls = 0;
    let err = bad
        .stream::<roicast_data::DataError>(roicast_data::Table::Touchpoints, |_| {
            calls += 1;
            Ok(())
        })
        .unwrap_err();
    let want = bad.load(roicast_data::Table::Touchpoints).unwrap_err().to_string();
    assert_eq!(err.to_string(), want);
    assert!(want.starts_with("2 rejected row(s) in `touchpoints`; first:") && want.contains("row 2"), "{want}");
    assert_eq!(calls, 0, "a batch with a reject is not handed over");
}
