//! `ga4`: the Google Analytics 4 BigQuery export (`events_YYYYMMDD` rows as NDJSON, the
//! format `bq extract --destination_format NEWLINE_DELIMITED_JSON` writes, a JSON array,
//! or a Parquet extract) → `sessions`, `touchpoints`, and `orders` + `customers` from
//! `purchase` events.
//!
//! BigQuery's JSON writes INT64 as strings (`"event_timestamp": "1714557600000000"`,
//! `"int_value": "1714557"`); both forms are read. Event parameters are the repeated
//! record `event_params[{key, value{string_value | int_value | float_value | double_value}}]`.
//!
//! | export | canonical | how |
//! |---|---|---|
//! | `user_pseudo_id` × `ga_session_id` param | `sessions.session_id` = `{user_pseudo_id}.{ga_session_id}` | events of one session are gathered across files (a session past midnight spans two daily tables) |
//! | `user_pseudo_id` | `sessions.user_id`, `touchpoints.user_id`, `orders.user_id` | the journey key |
//! | earliest `event_timestamp` (µs, UTC) | `started_at` | |
//! | `collected_traffic_source.manual_*`, else the `source`/`medium`/`campaign`/`content`/`term` params, else `utm_*` of `page_location` | `utm_*` | from the session's earliest event that has them |
//! | `page_referrer` param | `referrer` | host of the session's earliest referrer |
//! | `page_location` of the first `page_view` / `session_start` | `landing_page` | path |
//! | Σ `engagement_time_msec` / 1000 | `duration_s` | GA4's engagement time |
//! | count of `page_view` | `pageviews` | |
//! | `session_engaged` = `1` on any event | `bounced` = not engaged | |
//! | each session | a `touchpoints` row, `interaction` = `click` | channel by [`super::channel`]; `creator` when `utm_content` or `utm_campaign` is a plan asset |
//! | `purchase`: `ecommerce.transaction_id` (or the `transaction_id` param) | `orders.order_id` | a repeated id is skipped and counted (GA4 reports deduplicate the same way) |
//! | `ecommerce.purchase_revenue` (or the `value` param) | `revenue` | |
//! | `currency` param | `currency` | ISO 4217, checked |
//! | `coupon` param | `discount_code` | |
//! | `user_id` (the site's login id), else `user_pseudo_id` | `orders.customer_id` | salted hash |
//!
//! Skipped and counted: events without `user_pseudo_id` (consent-mode pings), events
//! without `ga_session_id` (a purchase among them still becomes an order), `refund`
//! events. Not carried: `items[]` (roicast works on orders), device and geo, `user_ltv`,
//! GA4's own attribution (`session_traffic_source_last_click` credits a direct session to
//! an earlier campaign; roicast attributes from the sessions themselves).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::channel::{self, ClickIds};
use super::jsonl::{self, Located};
use super::sessions::{Seen, Session};
use super::{FileRead, ImportOptions, ImportReport, Sink, identity};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

const BATCH: usize = 65_536;
/// The fields of an event the importer reads (the rest are ignored and listed).
pub const USED: &[&str] = &[
    "event_name",
    "event_timestamp",
    "user_pseudo_id",
    "user_id",
    "event_params",
    "collected_traffic_source",
    "ecommerce",
    "traffic_source",
];

/// Sessions idle for longer than this are over (GA4 ends one after at most 7 h 55 min
/// without an event): they are written after each file, so memory holds about two days of
/// sessions however long the export. A later event of a written session is refused (the
/// files were not in date order).
const CLOSED_AFTER_US: i64 = 48 * 3_600_000_000;

fn session_hash(user: &str, sid: i64) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(user.as_bytes());
    h.update(&sid.to_le_bytes());
    h.digest()
}

/// An event's parameters by key, each the first of its typed slots that is set (built
/// once per event: an event is asked for a dozen of them).
struct Params<'a>(Vec<(&'a str, &'a Value)>);

impl<'a> Params<'a> {
    fn of(event: &'a Value) -> Params<'a> {
        let mut out = Vec::new();
        for p in event.get("event_params").and_then(Value::as_array).into_iter().flatten() {
            let (Some(key), Some(v)) = (p.get("key").and_then(Value::as_str), p.get("value")) else { continue };
            let slot = ["string_value", "int_value", "double_value", "float_value"]
                .iter()
                .find_map(|k| v.get(*k).filter(|x| !x.is_null()));
            if let Some(slot) = slot {
                out.push((key, slot));
            }
        }
        Params(out)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) if s.trim().is_empty() || s == "(not set)" => None,
            Value::String(s) => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

const UTM: [&str; 5] = ["source", "medium", "campaign", "content", "term"];

/// The campaign fields an event carries, in the order of [`UTM`].
fn campaign_of(event: &Value, ps: &Params<'_>, query: &[(String, String)]) -> [Option<String>; 5] {
    const CTS: [&str; 5] = ["manual_source", "manual_medium", "manual_campaign_name", "manual_content", "manual_term"];
    const URL: [&str; 5] = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
    let cts = event.get("collected_traffic_source").filter(|v| !v.is_null());
    let mut out: [Option<String>; 5] = Default::default();
    for (k, slot) in out.iter_mut().enumerate() {
        *slot = cts
            .and_then(|c| jsonl::text(c, CTS[k]))
            .or_else(|| ps.text(UTM[k]))
            .or_else(|| query.iter().find(|(q, _)| q.eq_ignore_ascii_case(URL[k])).map(|(_, v)| v.clone()))
            .filter(|v| v != "(not set)" && v != "(none)" && v != "(direct)");
    }
    out
}

fn clicks_of(event: &Value, query: &[(String, String)]) -> ClickIds {
    let on_url = |k: &str| query.iter().any(|(q, v)| q.eq_ignore_ascii_case(k) && !v.is_empty());
    ClickIds {
        gclid: jsonl::text(event, "collected_traffic_source.gclid").is_some()
            || on_url("gclid")
            || on_url("gbraid")
            || on_url("wbraid"),
        fbclid: on_url("fbclid"),
        ttclid: on_url("ttclid"),
    }
}

/// Imports GA4 BigQuery export files; finished batches go to `sink`.
pub fn import(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "ga4".into(), ..ImportReport::default() };
    let mut sessions: HashMap<(String, i64), Session> = HashMap::new();
    let mut orders = RowBuilder::new(super::with_extra(Table::Orders));
    let mut transactions: HashSet<u64> = HashSet::new();
    // customer → first order time.
    let mut customers: HashMap<String, i64> = HashMap::new();
    let mut closed: HashSet<u64> = HashSet::new();
    let mut latest = i64::MIN;
    for path in paths {
        let mut rows = 0u64;
        let mut ignored: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let parquet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let each = |f: &mut dyn FnMut(Located) -> Result<(), DataError>| {
            if parquet { jsonl::for_each_parquet(path, f) } else { jsonl::for_each(path, &["events", "rows"], f) }
        };
        each(&mut |Located { value: event, at, row }| {
            rows += 1;
            let field = |f: &str| jsonl::path_of(&at, f);
            let Some(obj) = event.as_object() else {
                report.reject(Table::Sessions, path, row, &field(""), "", "expected an event object");
                return Ok(());
            };
            jsonl::note_ignored(&event, USED, &mut ignored);
            let Some(name) = jsonl::text(&event, "event_name") else {
                if obj.contains_key("Name") || obj.contains_key("increment_id") || obj.contains_key("line_items") {
                    return Err(DataError::InvalidRow {
                        path: path.clone(),
                        row,
                        column: "event_name".into(),
                        reason:
                            "not a GA4 BigQuery export: the record has no `event_name` (is this a shop's orders file?)"
                                .into(),
                    });
                }
                report.reject(Table::Sessions, path, row, &field("event_name"), "", "required field is missing");
                return Ok(());
            };
            let ts = match jsonl::integer(&event, "event_timestamp") {
                Ok(Some(t)) if t > 0 => t,
                Ok(_) => {
                    report.reject(
                        Table::Sessions,
                        path,
                        row,
                        &field("event_timestamp"),
                        "",
                        "required field is missing",
                    );
                    return Ok(());
                }
                Err(v) => {
                    report.reject(
                        Table::Sessions,
                        path,
                        row,
                        &field("event_timestamp"),
                        &v,
                        "expected microseconds since 1970 (an integer)",
                    );
                    return Ok(());
                }
            };
            let Some(pseudo) = jsonl::text(&event, "user_pseudo_id") else {
                report.skip("events without user_pseudo_id (consent-mode cookieless pings)");
                return Ok(());
            };
            let ps = Params::of(&event);
            let session_id = ps.int("ga_session_id");
            if name == "purchase" {
                purchase(
                    &event,
                    &ps,
                    &at,
                    row,
                    path,
                    ts,
                    &pseudo,
                    session_id,
                    opts,
                    &mut report,
                    &mut orders,
                    &mut transactions,
                    &mut customers,
                );
                if orders.len() >= BATCH {
                    sink(Table::Orders, orders.finish())?;
                }
            } else if name == "refund" {
                report.skip("refund events (the shop's export carries refunds)");
                return Ok(());
            }
            let Some(sid) = session_id else {
                if name != "purchase" {
                    report.skip("events without ga_session_id (not in a session)");
                }
                return Ok(());
            };
            latest = latest.max(ts);
            if !closed.is_empty() && closed.contains(&session_hash(&pseudo, sid)) {
                report.reject(
                    Table::Sessions,
                    path,
                    row,
                    &field("event_params[ga_session_id]"),
                    &sid.to_string(),
                    "an event of a session already written (idle for 48 h): pass the daily files in date order",
                );
                return Ok(());
            }
            let s = sessions.entry((pseudo, sid)).or_default();
            let location = ps.text("page_location");
            let query = location.as_deref().map(channel::query_pairs).unwrap_or_default();
            s.observe(Seen {
                ts,
                utm: campaign_of(&event, &ps, &query),
                clicks: clicks_of(&event, &query),
                referrer: ps.text("page_referrer").and_then(|r| channel::host(&r)),
                landing: location.filter(|_| name == "page_view" || name == "session_start").map(|u| channel::path(&u)),
                page_view: name == "page_view",
                engagement_ms: ps.int("engagement_time_msec").unwrap_or(0),
                engaged: ps.int("session_engaged") == Some(1) || ps.text("session_engaged").as_deref() == Some("1"),
            });
            if let Some(n) = ps.int("ga_session_number") {
                s.number = Some(n);
            }
            Ok(())
        })?;
        report.files.push(FileRead { path: path.clone(), rows, ignored_columns: ignored.into_iter().collect() });
        let done: Vec<(String, i64)> =
            sessions.iter().filter(|(_, s)| s.ended_at < latest - CLOSED_AFTER_US).map(|(k, _)| k.clone()).collect();
        if !done.is_empty() {
            let mut batch = HashMap::with_capacity(done.len());
            for k in done {
                closed.insert(session_hash(&k.0, k.1));
                let s = sessions.remove(&k).expect("listed");
                batch.insert(k, s);
            }
            write_sessions(batch, opts, &mut report, sink)?;
        }
    }
    if !orders.is_empty() {
        sink(Table::Orders, orders.finish())?;
    }
    write_sessions(sessions, opts, &mut report, sink)?;
    let mut ids: Vec<(String, i64)> = customers.into_iter().collect();
    ids.sort();
    let mut cu = RowBuilder::for_table(Table::Customers);
    for (id, at) in &ids {
        cu.text(id).ts(*at).opt_text(None).opt_text(None).opt_ts(None).opt_ts(None).end_row();
        if cu.len() >= BATCH {
            sink(Table::Customers, cu.finish())?;
        }
    }
    if !cu.is_empty() {
        sink(Table::Customers, cu.finish())?;
    }
    report.written.insert("customers".into(), ids.len() as u64);
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
fn purchase(
    event: &Value,
    ps: &Params<'_>,
    at: &str,
    row: u64,
    path: &std::path::Path,
    ts: i64,
    pseudo: &str,
    session: Option<i64>,
    opts: &ImportOptions,
    report: &mut ImportReport,
    orders: &mut RowBuilder,
    seen: &mut HashSet<u64>,
    customers: &mut HashMap<String, i64>,
) {
    let field = |f: &str| jsonl::path_of(at, f);
    let id = jsonl::text(event, "ecommerce.transaction_id")
        .or_else(|| ps.text("transaction_id"))
        .filter(|t| t != "(not set)");
    let Some(id) = id else {
        report.skip("purchase events without transaction_id (cannot be linked to an order)");
        return;
    };
    if !seen.insert(xxhash_rust::xxh3::xxh3_64(id.as_bytes())) {
        report.skip("purchase events repeating a transaction_id (the first is kept)");
        return;
    }
    let revenue = match jsonl::number(event, "ecommerce.purchase_revenue") {
        Ok(Some(v)) => Some(v),
        Ok(None) => match ps.get("value") {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => {
                let Ok(v) = s.trim().parse::<f64>() else {
                    report.reject(Table::Orders, path, row, &field("event_params[value]"), s, "not a number");
                    return;
                };
                Some(v)
            }
            _ => None,
        },
        Err(v) => {
            report.reject(Table::Orders, path, row, &field("ecommerce.purchase_revenue"), &v, "not a number");
            return;
        }
    };
    let Some(revenue) = revenue.filter(|r| r.is_finite() && *r >= 0.0) else {
        report.reject(
            Table::Orders,
            path,
            row,
            &field("ecommerce.purchase_revenue"),
            &revenue.map(|r| r.to_string()).unwrap_or_default(),
            "a purchase needs a revenue ≥ 0 (ecommerce.purchase_revenue or the `value` parameter)",
        );
        return;
    };
    let code = ps.text("currency").unwrap_or_default();
    let currency = match super::money::currency(&code) {
        Ok(c) => c,
        Err(reason) => {
            report.reject(Table::Orders, path, row, &field("event_params[currency]"), &code, reason);
            return;
        }
    };
    let customer = match jsonl::text(event, "user_id") {
        Some(u) => identity::customer_id(&opts.salt, "user_id", &u),
        None => identity::customer_id(&opts.salt, "ga4-pseudo", pseudo),
    };
    let entry = customers.entry(customer.clone()).or_insert(ts);
    *entry = (*entry).min(ts);
    let coupon = ps.text("coupon");
    let extra = json!({ "source": "ga4", "ga_session_id": session });
    orders
        .text(&id)
        .text(&customer)
        .opt_text(Some(pseudo))
        .ts(ts)
        .float(revenue)
        .text(&currency)
        .opt_text(coupon.as_deref())
        .opt_float(None)
        .opt_bool(None)
        .text(&extra.to_string())
        .end_row();
    *report.written.entry("orders".into()).or_default() += 1;
}

fn write_sessions(
    sessions: HashMap<(String, i64), Session>,
    opts: &ImportOptions,
    report: &mut ImportReport,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let all = sessions
        .into_iter()
        .map(|((user, sid), s)| {
            let mut extra = serde_json::Map::new();
            extra.insert("ga_session_id".into(), json!(sid));
            if let Some(n) = s.number {
                extra.insert("ga_session_number".into(), json!(n));
            }
            (format!("{user}.{sid}"), user, s, extra)
        })
        .collect();
    super::sessions::write(all, "ga4", opts, report, sink)
}
