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
//! * `magento/orders.json`: the same orders as Magento's REST `/V1/orders` pages (UTC
//!   times without offset, money as numbers). Loses what the Shopify CSV loses.
//! * `stripe/subscriptions.csv`: one subscription per subscribing customer, `Created
//!   (UTC)` / `Start Date (UTC)` / `Canceled At (UTC)` / `Ended At (UTC)` to the second.
//! * `hubspot/contacts.csv`: every customer as a contact, `Became a Customer Date` in the
//!   portal zone −05:00 without an offset (import with `--timezone -05:00`), `Original
//!   Source` from the acquisition channel and, for creator acquisitions, the creator's
//!   platform and UTM value as drill-downs. Loses: minutes' precision, and `affiliate`
//!   (HubSpot has no such source: `Referrals` → other).
//! * `plan.csv`: the brand's tracking plan (creators with their accounts' platform ids,
//!   their codes, UTM values and affiliate links, and the posts each campaign paid for).
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
pub(crate) struct Cols<'a> {
    b: &'a RecordBatch,
    t: Table,
}

impl<'a> Cols<'a> {
    pub(crate) fn at(&self, n: &str) -> &'a dyn Array {
        self.b.column(self.t.spec().index_of(n).expect("a canonical column")).as_ref()
    }
    pub(crate) fn text(&self, n: &str, i: usize) -> Option<&'a str> {
        let a = self.at(n).as_string::<i32>();
        a.is_valid(i).then(|| a.value(i))
    }
    pub(crate) fn ts(&self, n: &str, i: usize) -> Option<i64> {
        let a = self.at(n).as_primitive::<TimestampMicrosecondType>();
        a.is_valid(i).then(|| a.value(i))
    }
    pub(crate) fn float(&self, n: &str, i: usize) -> Option<f64> {
        let a = self.at(n).as_primitive::<Float64Type>();
        a.is_valid(i).then(|| a.value(i))
    }
    pub(crate) fn int(&self, n: &str, i: usize) -> Option<i64> {
        let a = self.at(n).as_primitive::<Int64Type>();
        a.is_valid(i).then(|| a.value(i))
    }
    pub(crate) fn boolean(&self, n: &str, i: usize) -> Option<bool> {
        let a = self.at(n).as_boolean();
        a.is_valid(i).then(|| a.value(i))
    }
}

pub(crate) fn rows(dataset: &Dataset, t: Table, mut f: impl FnMut(&Cols<'_>, usize)) -> Result<(), DataError> {
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

pub(crate) fn local(us: i64, offset: FixedOffset, fmt: &str) -> String {
    offset.timestamp_micros(us).single().expect("a representable time").format(fmt).to_string()
}

pub(crate) fn utc(us: i64, fmt: &str) -> String {
    Utc.timestamp_micros(us).single().expect("a representable time").format(fmt).to_string()
}

fn email(customer: &str) -> String {
    format!("{customer}@example.com")
}

pub(crate) fn csv_file(dir: &Path, rel: &str, header: &[&str], rows: &[Vec<String>]) -> Result<PathBuf, DataError> {
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

/// `magento/orders.json`: the REST `/V1/orders` pages of 100 orders (`{"items": […],
/// "search_criteria": …, "total_count": N}`), one a line; `created_at` in UTC without an
/// offset, money as numbers, a refunded order `closed` with `base_total_refunded` equal to
/// its total.
pub fn magento(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut orders = Vec::new();
    rows(dataset, Table::Orders, |c, i| {
        let customer = c.text("customer_id", i).unwrap_or_default();
        let total = c.float("revenue", i).unwrap_or_default();
        let refunded = c.boolean("refunded", i).unwrap_or(false);
        let currency = c.text("currency", i).unwrap_or("USD");
        orders.push(json!({
            "entity_id": orders.len() + 1,
            "increment_id": c.text("order_id", i).unwrap_or_default(),
            "customer_email": email(customer),
            "customer_is_guest": 0,
            "created_at": utc(c.ts("ordered_at", i).unwrap_or_default(), "%Y-%m-%d %H:%M:%S"),
            "base_grand_total": total,
            "grand_total": total,
            "base_total_refunded": if refunded { total } else { 0.0 },
            "total_refunded": if refunded { total } else { 0.0 },
            "base_currency_code": currency,
            "order_currency_code": currency,
            "coupon_code": c.text("discount_code", i),
            "status": if refunded { "closed" } else { "complete" },
            "state": if refunded { "closed" } else { "complete" },
            "store_id": 1,
            "items": [{"sku": "SR-30", "name": "Glow Serum", "qty_ordered": 1, "price": total}],
        }));
    })?;
    let rel = "magento/orders.json";
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a folder")).map_err(DataError::io(dir))?;
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = std::io::BufWriter::new(file.file());
        let n = orders.len();
        for (k, page) in orders.chunks(100).enumerate() {
            let envelope = json!({
                "items": page,
                "search_criteria": {"filter_groups": [], "page_size": 100, "current_page": k + 1},
                "total_count": n,
            });
            serde_json::to_writer(&mut w, &envelope).map_err(|e| DataError::io(&path)(e.into()))?;
            w.write_all(b"\n").map_err(DataError::io(&path))?;
        }
        w.flush().map_err(DataError::io(&path))?;
    }
    file.commit()?;
    Ok(vec![PathBuf::from(rel)])
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
    cts: Option<&Value>,
    ecommerce: Option<&Value>,
) -> Value {
    json!({
        "event_date": utc(ts, "%Y%m%d"),
        "event_timestamp": ts.to_string(),
        "event_name": name,
        "event_params": params.iter().map(|(k, v)| param(k, v)).collect::<Vec<_>>(),
        "user_id": null,
        "user_pseudo_id": user,
        "device": {"category": "mobile"},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "platform": "WEB",
        "collected_traffic_source": cts,
        "ecommerce": ecommerce,
        "items": [],
    })
}

/// A web session of the world, as GA4 will see it.
struct WebSession {
    user: String,
    start: i64,
    ms: i64,
    pages: i64,
    bounced: bool,
    utm: [Option<String>; 5],
    referrer: Option<String>,
    landing: String,
    sid: i64,
    number: usize,
}

/// A purchase of a known visitor.
struct Purchase {
    user: String,
    ts: i64,
    id: String,
    revenue: f64,
    currency: String,
    code: Option<String>,
    sid: Option<i64>,
}

/// `ga4/events_YYYYMMDD.ndjson`: events are generated in time order, so each day's file
/// is written once, front to back, without holding the export in memory.
pub fn ga4(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut sessions: Vec<WebSession> = Vec::new();
    let mut spans: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
    rows(dataset, Table::Sessions, |c, i| {
        let user = c.text("user_id", i).unwrap_or_default().to_owned();
        let start = c.ts("started_at", i).unwrap_or_default();
        let ms = (c.float("duration_s", i).unwrap_or_default() * 1000.0).round() as i64;
        let taken = spans.entry(user.clone()).or_default();
        let mut sid = start.div_euclid(1_000_000);
        while taken.iter().any(|s| s.2 == sid) {
            sid += 1;
        }
        taken.push((start, start + ms * 1000, sid));
        let utm = ["source", "medium", "campaign", "content", "term"]
            .map(|k| c.text(&format!("utm_{k}"), i).map(str::to_owned));
        sessions.push(WebSession {
            user,
            start,
            ms,
            pages: c.int("pageviews", i).unwrap_or(1).max(1),
            bounced: c.boolean("bounced", i).unwrap_or(false),
            utm,
            referrer: c.text("referrer", i).map(str::to_owned),
            landing: c.text("landing_page", i).unwrap_or("/").to_owned(),
            sid,
            number: taken.len(),
        });
    })?;
    let mut purchases: Vec<Purchase> = Vec::new();
    rows(dataset, Table::Orders, |c, i| {
        let Some(user) = c.text("user_id", i) else { return };
        let ts = c.ts("ordered_at", i).unwrap_or_default();
        let sid = spans.get(user).and_then(|s| s.iter().find(|(a, b, _)| *a <= ts && ts <= *b)).map(|s| s.2);
        purchases.push(Purchase {
            user: user.to_owned(),
            ts,
            id: c.text("order_id", i).unwrap_or_default().to_owned(),
            revenue: c.float("revenue", i).unwrap_or_default(),
            currency: c.text("currency", i).unwrap_or("USD").to_owned(),
            code: c.text("discount_code", i).map(str::to_owned),
            sid,
        });
    })?;
    // (time, kind, index, page): kind 0 = session_start, 1 = page_view, 2 = user_engagement, 3 = purchase.
    let mut events: Vec<(i64, u8, u32, u32)> = Vec::new();
    for (k, s) in sessions.iter().enumerate() {
        events.push((s.start, 0, k as u32, 0));
        for p in 0..s.pages {
            events.push((s.start + p * s.ms * 1000 / s.pages, 1, k as u32, p as u32));
        }
        events.push((s.start + s.ms * 1000, 2, k as u32, 0));
    }
    for (k, p) in purchases.iter().enumerate() {
        events.push((p.ts, 3, k as u32, 0));
    }
    events.sort_unstable();
    let url_of = |s: &WebSession| {
        let query: Vec<String> = ["source", "medium", "campaign", "content", "term"]
            .iter()
            .zip(&s.utm)
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("utm_{k}={}", v.replace(' ', "+"))))
            .collect();
        if query.is_empty() {
            format!("https://shop.example{}", s.landing)
        } else {
            format!("https://shop.example{}?{}", s.landing, query.join("&"))
        }
    };
    let cts_of = |s: &WebSession| {
        json!({
            "manual_campaign_id": null, "manual_campaign_name": s.utm[2], "manual_source": s.utm[0],
            "manual_medium": s.utm[1], "manual_content": s.utm[3], "manual_term": s.utm[4],
            "gclid": null, "dclid": null, "srsltid": null,
        })
    };
    let mut files = Vec::new();
    let mut current: Option<(String, AtomicFile, PathBuf)> = None;
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let flush = |current: &mut Option<(String, AtomicFile, PathBuf)>, buf: &mut Vec<u8>| -> Result<(), DataError> {
        if let Some((_, file, path)) = current.as_mut() {
            file.file().write_all(buf).map_err(DataError::io(&*path))?;
        }
        buf.clear();
        Ok(())
    };
    std::fs::create_dir_all(dir.join("ga4")).map_err(DataError::io(dir))?;
    for &(ts, kind, k, page) in &events {
        let day = utc(ts, "%Y%m%d");
        if current.as_ref().is_none_or(|(d, _, _)| *d != day) {
            flush(&mut current, &mut buf)?;
            if let Some((_, file, _)) = current.take() {
                file.commit()?;
            }
            let rel = format!("ga4/events_{day}.ndjson");
            let path = dir.join(&rel);
            current = Some((day, AtomicFile::create(&path)?, path));
            files.push(PathBuf::from(rel));
        }
        let e = if kind == 3 {
            let p = &purchases[k as usize];
            let mut ps =
                vec![("transaction_id", json!(p.id)), ("currency", json!(p.currency)), ("value", json!(p.revenue))];
            if let Some(sid) = p.sid {
                ps.push(("ga_session_id", json!(sid)));
            }
            if let Some(code) = &p.code {
                ps.push(("coupon", json!(code)));
            }
            let ecommerce = json!({"transaction_id": p.id, "purchase_revenue": p.revenue, "purchase_revenue_in_usd": p.revenue,
                                   "total_item_quantity": "1", "unique_items": "1"});
            ga4_event("purchase", ts, &p.user, &ps, None, Some(&ecommerce))
        } else {
            let s = &sessions[k as usize];
            let referrer = s.referrer.as_ref().map(|r| json!(format!("https://{r}/")));
            match kind {
                0 | 1 if page == 0 => {
                    let mut ps = vec![("ga_session_id", json!(s.sid)), ("page_location", json!(url_of(s)))];
                    if kind == 0 {
                        ps.push(("ga_session_number", json!(s.number)));
                    }
                    if let Some(r) = &referrer {
                        ps.push(("page_referrer", r.clone()));
                    }
                    ga4_event(
                        if kind == 0 { "session_start" } else { "page_view" },
                        ts,
                        &s.user,
                        &ps,
                        Some(&cts_of(s)),
                        None,
                    )
                }
                1 => {
                    let ps = [
                        ("ga_session_id", json!(s.sid)),
                        ("page_location", json!(format!("https://shop.example/page/{page}"))),
                    ];
                    ga4_event("page_view", ts, &s.user, &ps, None, None)
                }
                _ => {
                    let ps = [
                        ("ga_session_id", json!(s.sid)),
                        ("engagement_time_msec", json!(s.ms)),
                        ("session_engaged", json!(if s.bounced { "0" } else { "1" })),
                    ];
                    ga4_event("user_engagement", ts, &s.user, &ps, None, None)
                }
            }
        };
        serde_json::to_writer(&mut buf, &e).map_err(|e| DataError::io(dir)(e.into()))?;
        buf.push(b'\n');
        if buf.len() >= 1 << 20 {
            flush(&mut current, &mut buf)?;
        }
    }
    flush(&mut current, &mut buf)?;
    if let Some((_, file, _)) = current.take() {
        file.commit()?;
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

/// `plan.csv`: creators (with their accounts' platform ids), their assets, and the posts
/// each campaign paid for (`post` rows: the brand knows which posts it bought).
pub fn plan(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut assets: BTreeMap<String, Vec<(String, String, Option<String>)>> = BTreeMap::new();
    rows(dataset, Table::TrackingAssets, |c, i| {
        assets.entry(c.text("creator_id", i).unwrap_or_default().to_owned()).or_default().push((
            c.text("method", i).unwrap_or_default().to_owned(),
            c.text("value", i).unwrap_or_default().to_owned(),
            c.text("campaign_id", i).map(str::to_owned),
        ));
    })?;
    rows(dataset, Table::Posts, |c, i| {
        if let Some(campaign) = c.text("campaign_id", i) {
            assets.entry(c.text("creator_id", i).unwrap_or_default().to_owned()).or_default().push((
                "post".to_owned(),
                c.text("post_id", i).unwrap_or_default().to_owned(),
                Some(campaign.to_owned()),
            ));
        }
    })?;
    let mut out = Vec::new();
    rows(dataset, Table::Creators, |c, i| {
        let id = c.text("creator_id", i).unwrap_or_default();
        let platform = c.text("platform", i).unwrap_or_default();
        let base = vec![
            id.to_owned(),
            platform.to_owned(),
            c.text("handle", i).unwrap_or_default().to_owned(),
            c.int("followers", i).unwrap_or_default().to_string(),
            c.text("niche", i).unwrap_or_default().to_owned(),
            c.text("country", i).unwrap_or_default().to_owned(),
            super::social::account_id(platform, id),
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
    let header = [
        "creator_id",
        "platform",
        "handle",
        "followers",
        "niche",
        "country",
        "account_id",
        "method",
        "value",
        "campaign_id",
    ];
    Ok(vec![csv_file(dir, "plan.csv", &header, &out)?])
}

/// The world's brand-side tables in canonical form, for what no vendor export carries
/// (campaigns, costs, campaign history, candidates: the brand's own sheets) and the touches
/// that are not web visits (impressions and views the platforms attribute to people; web
/// clicks come back through the GA4 export): `dir/platform/*.parquet`. Creators' accounts,
/// posts, snapshots and comments go out in the platforms' own shapes
/// (`super::social`).
pub fn platform(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let out = dir.join("platform");
    std::fs::create_dir_all(&out).map_err(DataError::io(&out))?;
    let mut files = Vec::new();
    for t in [Table::Campaigns, Table::Costs, Table::CampaignHistory, Table::Candidates, Table::Touchpoints] {
        if !dataset.has(t) {
            continue;
        }
        let mut batches = dataset.load(t)?;
        if t == Table::Touchpoints {
            let at = t.spec().index_of("interaction").expect("a canonical column");
            batches = batches
                .iter()
                .map(|b| {
                    let it = b.column(at).as_string::<i32>();
                    let keep: arrow_array::BooleanArray =
                        (0..b.num_rows()).map(|i| Some(it.value(i) != "click")).collect();
                    arrow_select::filter::filter_record_batch(b, &keep)
                })
                .collect::<Result<_, _>>()
                .map_err(|source| DataError::Arrow { path: out.clone(), source })?;
        }
        let rel = format!("platform/{}.parquet", t.name());
        let Some(first) = batches.first() else { continue };
        let mut w = crate::io::TableWriter::create(dir.join(&rel), first.schema_ref())?;
        for b in &batches {
            w.write(b)?;
        }
        w.finish()?;
        files.push(PathBuf::from(rel));
    }
    Ok(files)
}
