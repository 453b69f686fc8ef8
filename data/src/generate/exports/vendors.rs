//! The vendor formats beyond the Shopify CSV, each written from the canonical tables with
//! the format's own quirks, and what it cannot carry:
//!
//! * `shopify/orders.json`: the Admin REST API's orders, one page of 250 a line
//!   (`{"orders": […]}`), money as strings (`"64.00"`), `created_at` with the customer's
//!   offset. Loses what the CSV loses.
//! * `ga4/events_YYYYMMDD.ndjson`: a BigQuery export of the web sessions — `session_start`,
//!   `page_view` (as many as the session's pages, spread over its length), a closing
//!   `user_engagement` carrying `engagement_time_msec` and `session_engaged` — and a
//!   `purchase` for every order of a known visitor (in its session when the order falls
//!   inside one). INT64 as strings; campaign fields both in `collected_traffic_source` and
//!   in the landing URL; events split by UTC day, so sessions past midnight span two
//!   files. Loses: sub-millisecond durations; impressions and views (not web events).
//! * `stripe/subscriptions.csv`: one subscription per subscribing customer, `Created
//!   (UTC)` / `Start Date (UTC)` / `Canceled At (UTC)` / `Ended At (UTC)` to the second.
//! * `hubspot/contacts.csv`: every customer as a contact, `Became a Customer Date` in the
//!   portal zone −05:00 without an offset (import with `--timezone -05:00`), `Original
//!   Source` from the acquisition channel and, for creator acquisitions, the creator's
//!   platform and UTM value as drill-downs. Loses: minutes' precision, and `affiliate`
//!   (HubSpot has no such source: `Referrals` → other).
//! * `plan.csv`: the brand's tracking plan (creators and their codes, UTM values and
//!   affiliate links).
//!
//! Emails are `{customer_id}@example.com` everywhere, so one person has one salted id
//! across every import.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use chrono::{FixedOffset, TimeZone as _, Utc};
use serde_json::{Value, json};

use crate::io::AtomicFile;
use crate::{DataError, Dataset, Table};

/// Typed access to one canonical column of a batch.
struct Cols<'a> {
    b: &'a RecordBatch,
    t: Table,
}

impl<'a> Cols<'a> {
    fn at(&self, n: &str) -> &'a dyn Array {
        self.b.column(self.t.spec().index_of(n).expect("a canonical column")).as_ref()
    }
    fn text(&self, n: &str, i: usize) -> Option<&'a str> {
        let a = self.at(n).as_string::<i32>();
        a.is_valid(i).then(|| a.value(i))
    }
    fn ts(&self, n: &str, i: usize) -> Option<i64> {
        let a = self.at(n).as_primitive::<TimestampMicrosecondType>();
        a.is_valid(i).then(|| a.value(i))
    }
    fn float(&self, n: &str, i: usize) -> Option<f64> {
        let a = self.at(n).as_primitive::<Float64Type>();
        a.is_valid(i).then(|| a.value(i))
    }
    fn int(&self, n: &str, i: usize) -> Option<i64> {
        let a = self.at(n).as_primitive::<Int64Type>();
        a.is_valid(i).then(|| a.value(i))
    }
    fn boolean(&self, n: &str, i: usize) -> Option<bool> {
        let a = self.at(n).as_boolean();
        a.is_valid(i).then(|| a.value(i))
    }
}

fn rows(dataset: &Dataset, t: Table, mut f: impl FnMut(&Cols<'_>, usize)) -> Result<(), DataError> {
    if !dataset.has(t) {
        return Ok(());
    }
    for b in dataset.load(t)? {
        let c = Cols { b: &b, t };
        for i in 0..b.num_rows() {
            f(&c, i);
        }
    }
    Ok(())
}

fn local(us: i64, offset: FixedOffset, fmt: &str) -> String {
    offset.timestamp_micros(us).single().expect("a representable time").format(fmt).to_string()
}

fn utc(us: i64, fmt: &str) -> String {
    Utc.timestamp_micros(us).single().expect("a representable time").format(fmt).to_string()
}

fn email(customer: &str) -> String {
    format!("{customer}@example.com")
}

fn csv_file(dir: &Path, rel: &str, header: &[&str], rows: &[Vec<String>]) -> Result<PathBuf, DataError> {
    let path = dir.join(rel);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(DataError::io(p))?;
    }
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = csv::Writer::from_writer(file.file());
        let err = |source| DataError::Csv { path: path.clone(), source };
        w.write_record(header).map_err(err)?;
        for r in rows {
            w.write_record(r).map_err(err)?;
        }
        w.flush().map_err(DataError::io(&path))?;
    }
    file.commit()?;
    Ok(PathBuf::from(rel))
}

/// `shopify/orders.json`: API pages of 250 orders, one a line.
pub fn shopify_api(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut orders = Vec::new();
    rows(dataset, Table::Orders, |c, i| {
        let id = c.text("order_id", i).unwrap_or_default();
        let customer = c.text("customer_id", i).unwrap_or_default();
        let at =
            local(c.ts("ordered_at", i).unwrap_or_default(), super::local_offset(customer), "%Y-%m-%dT%H:%M:%S%:z");
        let total = format!("{:.2}", c.float("revenue", i).unwrap_or_default());
        let currency = c.text("currency", i).unwrap_or("USD");
        let refunded = c.boolean("refunded", i).unwrap_or(false);
        let codes: Vec<Value> = c
            .text("discount_code", i)
            .map(|k| json!({"code": k, "amount": "0.00", "type": "percentage"}))
            .into_iter()
            .collect();
        orders.push(json!({
            "id": 5_000_000_000u64 + orders.len() as u64,
            "name": id,
            "email": email(customer),
            "created_at": at,
            "processed_at": at,
            "currency": currency,
            "presentment_currency": currency,
            "total_price": total,
            "subtotal_price": total,
            "total_tax": "0.00",
            "total_price_set": {"shop_money": {"amount": total, "currency_code": currency},
                                "presentment_money": {"amount": total, "currency_code": currency}},
            "financial_status": if refunded { "refunded" } else { "paid" },
            "cancelled_at": null,
            "test": false,
            "discount_codes": codes,
            "landing_site": null,
            "referring_site": null,
            "source_name": "web",
            "tags": "",
            "note_attributes": [],
            "customer": {"id": 6_000_000_000u64 + super::pick(customer, 1_000_000_000) as u64, "email": email(customer)},
            "line_items": [{"name": "Glow Serum", "price": total, "quantity": 1}],
            "refunds": if refunded {
                json!([{"transactions": [{"kind": "refund", "status": "success", "amount": total}]}])
            } else {
                json!([])
            },
        }));
    })?;
    let rel = "shopify/orders.json";
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a folder")).map_err(DataError::io(dir))?;
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = std::io::BufWriter::new(file.file());
        for page in orders.chunks(250) {
            serde_json::to_writer(&mut w, &json!({ "orders": page })).map_err(|e| DataError::io(&path)(e.into()))?;
            w.write_all(b"\n").map_err(DataError::io(&path))?;
        }
        w.flush().map_err(DataError::io(&path))?;
    }
    file.commit()?;
    Ok(vec![PathBuf::from(rel)])
}

fn param(key: &str, v: &Value) -> Value {
    let slot = match v {
        Value::Number(n) if n.is_i64() => {
            json!({"string_value": null, "int_value": n.to_string(), "float_value": null, "double_value": null})
        }
        Value::Number(_) => json!({"string_value": null, "int_value": null, "float_value": null, "double_value": v}),
        _ => json!({"string_value": v, "int_value": null, "float_value": null, "double_value": null}),
    };
    json!({"key": key, "value": slot})
}

fn ga4_event(
    name: &str,
    ts: i64,
    user: &str,
    params: &[(&str, Value)],
    cts: Option<Value>,
    ecommerce: Option<Value>,
) -> Value {
    json!({
        "event_date": utc(ts, "%Y%m%d"),
        "event_timestamp": ts.to_string(),
        "event_name": name,
        "event_params": params.iter().map(|(k, v)| param(k, v)).collect::<Vec<_>>(),
        "user_id": null,
        "user_pseudo_id": user,
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "Yes", "uses_transient_token": "No"},
        "user_properties": [],
        "device": {"category": "mobile", "web_info": {"hostname": "shop.example"}},
        "geo": {"country": "United States"},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": "4178329012",
        "platform": "WEB",
        "collected_traffic_source": cts,
        "ecommerce": ecommerce,
        "items": [],
    })
}

/// `ga4/events_YYYYMMDD.ndjson`.
pub fn ga4(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    // (user, start, end, ga_session_id) of every session, for placing purchases.
    let mut spans: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
    let mut by_day: BTreeMap<String, Vec<(i64, Value)>> = BTreeMap::new();
    let mut push = |e: Value, ts: i64| by_day.entry(utc(ts, "%Y%m%d")).or_default().push((ts, e));
    rows(dataset, Table::Sessions, |c, i| {
        let user = c.text("user_id", i).unwrap_or_default();
        let start = c.ts("started_at", i).unwrap_or_default();
        let ms = (c.float("duration_s", i).unwrap_or_default() * 1000.0).round() as i64;
        let pages = c.int("pageviews", i).unwrap_or(1).max(1);
        let bounced = c.boolean("bounced", i).unwrap_or(false);
        let taken = spans.entry(user.to_owned()).or_default();
        let mut sid = start.div_euclid(1_000_000);
        while taken.iter().any(|s| s.2 == sid) {
            sid += 1;
        }
        taken.push((start, start + ms * 1000, sid));
        let utm: Vec<(&str, Option<&str>)> = ["source", "medium", "campaign", "content", "term"]
            .iter()
            .map(|k| (*k, c.text(&format!("utm_{k}"), i)))
            .collect();
        let query: Vec<String> =
            utm.iter().filter_map(|(k, v)| v.map(|v| format!("utm_{k}={}", v.replace(' ', "+")))).collect();
        let landing = c.text("landing_page", i).unwrap_or("/");
        let url = if query.is_empty() {
            format!("https://shop.example{landing}")
        } else {
            format!("https://shop.example{landing}?{}", query.join("&"))
        };
        let cts = json!({
            "manual_campaign_id": null,
            "manual_campaign_name": utm[2].1, "manual_source": utm[0].1, "manual_medium": utm[1].1,
            "manual_content": utm[3].1, "manual_term": utm[4].1, "gclid": null, "dclid": null, "srsltid": null,
        });
        let mut first = vec![
            ("ga_session_id", json!(sid)),
            ("ga_session_number", json!(taken.len())),
            ("page_location", json!(url)),
        ];
        if let Some(r) = c.text("referrer", i) {
            first.push(("page_referrer", json!(format!("https://{r}/"))));
        }
        push(ga4_event("session_start", start, user, &first, Some(cts.clone()), None), start);
        for p in 0..pages {
            let t = start + p * ms * 1000 / pages;
            let loc = if p == 0 { url.clone() } else { format!("https://shop.example/page/{p}") };
            let mut ps = vec![("ga_session_id", json!(sid)), ("page_location", json!(loc))];
            if p == 0
                && let Some(r) = c.text("referrer", i)
            {
                ps.push(("page_referrer", json!(format!("https://{r}/"))));
            }
            push(ga4_event("page_view", t, user, &ps, (p == 0).then(|| cts.clone()), None), t);
        }
        let end = start + ms * 1000;
        push(
            ga4_event(
                "user_engagement",
                end,
                user,
                &[
                    ("ga_session_id", json!(sid)),
                    ("engagement_time_msec", json!(ms)),
                    ("session_engaged", json!(if bounced { "0" } else { "1" })),
                ],
                None,
                None,
            ),
            end,
        );
    })?;
    rows(dataset, Table::Orders, |c, i| {
        let Some(user) = c.text("user_id", i) else { return };
        let ts = c.ts("ordered_at", i).unwrap_or_default();
        let id = c.text("order_id", i).unwrap_or_default();
        let revenue = c.float("revenue", i).unwrap_or_default();
        let session = spans.get(user).and_then(|s| s.iter().find(|(a, b, _)| *a <= ts && ts <= *b)).map(|s| s.2);
        let mut ps = vec![
            ("transaction_id", json!(id)),
            ("currency", json!(c.text("currency", i).unwrap_or("USD"))),
            ("value", json!(revenue)),
        ];
        if let Some(sid) = session {
            ps.push(("ga_session_id", json!(sid)));
        }
        if let Some(code) = c.text("discount_code", i) {
            ps.push(("coupon", json!(code)));
        }
        let ecommerce = json!({"transaction_id": id, "purchase_revenue": revenue, "purchase_revenue_in_usd": revenue, "total_item_quantity": "1", "unique_items": "1"});
        push(ga4_event("purchase", ts, user, &ps, None, Some(ecommerce)), ts);
    })?;
    let mut files = Vec::new();
    for (day, mut events) in by_day {
        events.sort_by_key(|(t, _)| *t);
        let rel = format!("ga4/events_{day}.ndjson");
        let path = dir.join(&rel);
        std::fs::create_dir_all(path.parent().expect("a folder")).map_err(DataError::io(dir))?;
        let mut file = AtomicFile::create(&path)?;
        {
            let mut w = std::io::BufWriter::new(file.file());
            for (_, e) in &events {
                serde_json::to_writer(&mut w, e).map_err(|e| DataError::io(&path)(e.into()))?;
                w.write_all(b"\n").map_err(DataError::io(&path))?;
            }
            w.flush().map_err(DataError::io(&path))?;
        }
        file.commit()?;
        files.push(PathBuf::from(rel));
    }
    Ok(files)
}

/// `stripe/subscriptions.csv`.
pub fn stripe(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    let fmt = "%Y-%m-%d %H:%M:%S";
    rows(dataset, Table::Customers, |c, i| {
        let Some(start) = c.ts("subscription_started_at", i) else { return };
        let id = c.text("customer_id", i).unwrap_or_default();
        let end = c.ts("churned_at", i);
        let when = |t: Option<i64>| t.map(|t| utc(t, fmt)).unwrap_or_default();
        out.push(vec![
            format!("sub_{id}"),
            format!("cus_{id}"),
            email(id),
            if end.is_some() { "canceled".into() } else { "active".into() },
            "price_serum_monthly".into(),
            "29.00".into(),
            "usd".into(),
            utc(start, fmt),
            utc(start, fmt),
            when(end),
            when(end),
        ]);
    })?;
    let header = [
        "id",
        "Customer ID",
        "Customer Email",
        "Status",
        "Plan",
        "Amount",
        "Currency",
        "Created (UTC)",
        "Start Date (UTC)",
        "Canceled At (UTC)",
        "Ended At (UTC)",
    ];
    Ok(vec![csv_file(dir, "stripe/subscriptions.csv", &header, &out)?])
}

/// `hubspot/contacts.csv`.
pub fn hubspot(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let portal = FixedOffset::west_opt(5 * 3600).expect("valid offset");
    // The creator's first UTM value, for the drill-down.
    let mut utm_of: HashMap<String, String> = HashMap::new();
    rows(dataset, Table::TrackingAssets, |c, i| {
        if c.text("method", i) == Some("utm") {
            utm_of
                .entry(c.text("creator_id", i).unwrap_or_default().to_owned())
                .or_insert_with(|| c.text("value", i).unwrap_or_default().to_owned());
        }
    })?;
    let mut platform_of: HashMap<String, String> = HashMap::new();
    rows(dataset, Table::Creators, |c, i| {
        platform_of
            .entry(c.text("creator_id", i).unwrap_or_default().to_owned())
            .or_insert_with(|| c.text("platform", i).unwrap_or_default().to_owned());
    })?;
    let mut out = Vec::new();
    rows(dataset, Table::Customers, |c, i| {
        let id = c.text("customer_id", i).unwrap_or_default();
        let at = local(c.ts("acquired_at", i).unwrap_or_default(), portal, "%Y-%m-%d %H:%M");
        let creator = c.text("acquisition_creator_id", i);
        let (source, d1, d2) = match (creator, c.text("acquisition_channel", i).unwrap_or("direct")) {
            (Some(cr), _) => (
                "Social Media",
                platform_of.get(cr).cloned().unwrap_or_default(),
                utm_of.get(cr).cloned().unwrap_or_default(),
            ),
            (None, "search") => ("Paid Search", "google".into(), String::new()),
            (None, "email") => ("Email Marketing", "newsletter".into(), String::new()),
            (None, "paid_social") => ("Paid Social", "facebook".into(), String::new()),
            (None, "direct") => ("Direct Traffic", String::new(), String::new()),
            (None, "affiliate") => ("Referrals", "couponsite.example".into(), String::new()),
            (None, _) => ("Other Campaigns", String::new(), String::new()),
        };
        out.push(vec![
            (out.len() + 1).to_string(),
            email(id),
            "customer".into(),
            at.clone(),
            at,
            source.into(),
            d1,
            d2,
        ]);
    })?;
    let header = [
        "Record ID",
        "Email",
        "Lifecycle Stage",
        "Create Date",
        "Became a Customer Date",
        "Original Source",
        "Original Source Drill-Down 1",
        "Original Source Drill-Down 2",
    ];
    Ok(vec![csv_file(dir, "hubspot/contacts.csv", &header, &out)?])
}

/// `plan.csv`: creators and their assets.
pub fn plan(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut assets: BTreeMap<String, Vec<(String, String, Option<String>)>> = BTreeMap::new();
    rows(dataset, Table::TrackingAssets, |c, i| {
        assets.entry(c.text("creator_id", i).unwrap_or_default().to_owned()).or_default().push((
            c.text("method", i).unwrap_or_default().to_owned(),
            c.text("value", i).unwrap_or_default().to_owned(),
            c.text("campaign_id", i).map(str::to_owned),
        ));
    })?;
    let mut out = Vec::new();
    rows(dataset, Table::Creators, |c, i| {
        let id = c.text("creator_id", i).unwrap_or_default();
        let base = vec![
            id.to_owned(),
            c.text("platform", i).unwrap_or_default().to_owned(),
            c.text("handle", i).unwrap_or_default().to_owned(),
            c.int("followers", i).unwrap_or_default().to_string(),
            c.text("niche", i).unwrap_or_default().to_owned(),
            c.text("country", i).unwrap_or_default().to_owned(),
        ];
        match assets.get(id) {
            None => out.push([base, vec![String::new(), String::new(), String::new()]].concat()),
            Some(list) => {
                for (m, v, k) in list {
                    out.push([base.clone(), vec![m.clone(), v.clone(), k.clone().unwrap_or_default()]].concat());
                }
            }
        }
    })?;
    let header =
        ["creator_id", "platform", "handle", "followers", "niche", "country", "method", "value", "campaign_id"];
    Ok(vec![csv_file(dir, "plan.csv", &header, &out)?])
}
