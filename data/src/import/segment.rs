//! `segment`: a pixel / event stream in the Segment spec (`page`, `track`, `identify`
//! calls as NDJSON, the shape Segment, RudderStack and Jitsu write to a warehouse or an
//! S3 bucket) → `sessions`, `touchpoints`, and `orders` + `customers` from `Order
//! Completed` events (Segment's e-commerce spec).
//!
//! Segment has no session id: sessions are cut the way analytics tools do — a new session
//! after 30 minutes without an event, or when an event arrives with a different campaign
//! (`context.campaign`). `identify` (and any call carrying both ids) links an
//! `anonymousId` to a `userId`, so a person's devices form one journey: the journey key
//! is the `userId` when one is known for the anonymous id, else the `anonymousId`.
//!
//! | call / field | canonical | how |
//! |---|---|---|
//! | `anonymousId` → `userId` (identify) | `sessions.user_id`, `touchpoints.user_id`, `orders.user_id` | `u:{userId}` when linked, else `a:{anonymousId}` |
//! | `timestamp` (ISO 8601) | `started_at`, `ts`, `ordered_at` | to UTC with its offset |
//! | `context.campaign.{source, medium, name, content, term}`, else `utm_*` of `context.page.url` | `utm_*` | |
//! | `context.page.referrer` | `referrer` | host |
//! | `context.page.url` of the first `page` | `landing_page` | path |
//! | first to last event | `duration_s` | |
//! | `page` calls | `pageviews`; `bounced` = one page, no `track`, under 10 s (GA4's engaged-session rule) | |
//! | `track` `Order Completed`: `properties.order_id`, `total` (else `revenue`), `currency`, `coupon` | `orders` | a repeated order id is skipped and counted |
//! | `traits.email` (identify or `context.traits`), else `userId`, else `anonymousId` | `customer_id` | salted hash: an email gives the shop's id, a `userId` GA4's |
//! | `messageId` | — | a repeated message (at-least-once delivery) is skipped and counted |
//!
//! Skipped and counted: `screen`, `group`, `alias` calls; `Order Refunded` and other
//! `track` events (they mark the session engaged). Not carried: `properties` of other
//! events, `context.ip`, `userAgent`, device and library fields.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::channel::{self, ClickIds};
use super::jsonl::{self, Located};
use super::sessions::{Seen, Session};
use super::time::parse_timestamp_us;
use super::{FileRead, ImportOptions, ImportReport, Sink, identity};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

const GAP_US: i64 = 30 * 60 * 1_000_000;
const UTM: [&str; 5] = ["source", "medium", "name", "content", "term"];

/// The fields of a call the importer reads.
pub const USED: &[&str] =
    &["type", "anonymousId", "userId", "timestamp", "messageId", "context", "properties", "event", "traits"];

/// What one page or track call left for sessionising.
struct Event {
    person: u32,
    seen: Seen,
    track: bool,
}

fn campaign(v: &Value, url: Option<&str>) -> [Option<String>; 5] {
    let mut out: [Option<String>; 5] = Default::default();
    for (k, slot) in out.iter_mut().enumerate() {
        let utm = if UTM[k] == "name" { "utm_campaign".to_owned() } else { format!("utm_{}", UTM[k]) };
        *slot = jsonl::text(v, &format!("context.campaign.{}", UTM[k]))
            .or_else(|| url.and_then(|u| channel::query_param(u, &utm)));
    }
    out
}

/// Imports Segment-spec event files.
pub fn import(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "segment".into(), ..ImportReport::default() };
    // Pass 1: who is who (identify calls, and calls with both ids), and emails.
    let mut user_of: HashMap<String, String> = HashMap::new();
    let mut email_of: HashMap<String, String> = HashMap::new();
    for path in paths {
        jsonl::for_each(path, &["batch", "events", "data"], |Located { value: v, .. }| {
            let (anon, user) = (jsonl::text(&v, "anonymousId"), jsonl::text(&v, "userId"));
            if let (Some(a), Some(u)) = (&anon, &user) {
                user_of.entry(a.clone()).or_insert_with(|| u.clone());
            }
            let email = jsonl::text(&v, "traits.email").or_else(|| jsonl::text(&v, "context.traits.email"));
            if let (Some(u), Some(e)) = (&user, email) {
                email_of.entry(u.clone()).or_insert(e);
            }
            Ok(())
        })?;
    }
    // Pass 2: events.
    let mut people: Vec<String> = Vec::new();
    let mut person_index: HashMap<String, u32> = HashMap::new();
    let mut events: Vec<Event> = Vec::new();
    let mut messages: HashSet<u64> = HashSet::new();
    let mut orders = RowBuilder::new(super::with_extra(Table::Orders));
    let mut order_ids: HashSet<String> = HashSet::new();
    let mut customers: BTreeMap<String, i64> = BTreeMap::new();
    for path in paths {
        let mut rows = 0u64;
        let mut ignored: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        jsonl::for_each(path, &["batch", "events", "data"], |Located { value: v, at, row }| {
            rows += 1;
            let field = |f: &str| jsonl::path_of(&at, f);
            let Some(kind) = jsonl::text(&v, "type") else {
                if v.get("event_name").is_some() || v.get("Name").is_some() || v.get("increment_id").is_some() {
                    return Err(DataError::InvalidRow {
                        path: path.clone(),
                        row,
                        column: "type".into(),
                        reason: "not a Segment-spec event: no `type` (page / track / identify); a GA4 export is `roicast import ga4`".into(),
                    });
                }
                report.reject(
                    Table::Sessions,
                    path,
                    row,
                    &field("type"),
                    "",
                    "required field is missing (page / track / identify)",
                );
                return Ok(());
            };
            jsonl::note_ignored(&v, USED, &mut ignored);
            if let Some(m) = jsonl::text(&v, "messageId")
                && !messages.insert(xxhash_rust::xxh3::xxh3_64(m.as_bytes()))
            {
                report.skip("repeated messages (same messageId: at-least-once delivery)");
                return Ok(());
            }
            match kind.as_str() {
                "identify" => return Ok(()),
                "page" | "track" => {}
                other => {
                    report.skip(&format!("{other} calls (not web sessions)"));
                    return Ok(());
                }
            }
            let ts_text = jsonl::text(&v, "timestamp").unwrap_or_default();
            let ts = match parse_timestamp_us(&ts_text, opts.timezone) {
                Ok(t) => t,
                Err(reason) => {
                    report.reject(Table::Sessions, path, row, &field("timestamp"), &ts_text, reason);
                    return Ok(());
                }
            };
            let (anon, user) = (jsonl::text(&v, "anonymousId"), jsonl::text(&v, "userId"));
            let user = user.or_else(|| anon.as_ref().and_then(|a| user_of.get(a).cloned()));
            let person = match (&user, &anon) {
                (Some(u), _) => format!("u:{u}"),
                (None, Some(a)) => format!("a:{a}"),
                (None, None) => {
                    report.reject(
                        Table::Sessions,
                        path,
                        row,
                        &field("anonymousId"),
                        "",
                        "a call needs an anonymousId or a userId",
                    );
                    return Ok(());
                }
            };
            let p = *person_index.entry(person.clone()).or_insert_with(|| {
                people.push(person.clone());
                people.len() as u32 - 1
            });
            let url = jsonl::text(&v, "context.page.url").or_else(|| jsonl::text(&v, "properties.url"));
            let event = jsonl::text(&v, "event").unwrap_or_default();
            let is_page = kind == "page";
            let on_url = |k: &str| url.as_deref().is_some_and(|u| channel::query_param(u, k).is_some());
            events.push(Event {
                person: p,
                seen: Seen {
                    ts,
                    utm: campaign(&v, url.as_deref()),
                    clicks: ClickIds { gclid: on_url("gclid"), fbclid: on_url("fbclid"), ttclid: on_url("ttclid") },
                    referrer: jsonl::text(&v, "context.page.referrer")
                        .or_else(|| jsonl::text(&v, "properties.referrer"))
                        .and_then(|r| channel::host(&r)),
                    landing: url.as_deref().filter(|_| is_page).map(channel::path),
                    page_view: is_page,
                    engagement_ms: 0,
                    engaged: !is_page,
                },
                track: !is_page,
            });
            if kind == "track" && event != "Order Completed" {
                report.skip(&format!("track events other than Order Completed ({event})"));
                return Ok(());
            }
            if kind != "track" {
                return Ok(());
            }
            let Some(order_id) = jsonl::text(&v, "properties.order_id") else {
                report.reject(
                    Table::Orders,
                    path,
                    row,
                    &field("properties.order_id"),
                    "",
                    "an Order Completed event needs its order_id",
                );
                return Ok(());
            };
            if !order_ids.insert(order_id.clone()) {
                report.skip("Order Completed events repeating an order_id (the first is kept)");
                return Ok(());
            }
            let (total_field, total) = match jsonl::number(&v, "properties.total") {
                Ok(Some(t)) => ("properties.total", Ok(Some(t))),
                Ok(None) => ("properties.revenue", jsonl::number(&v, "properties.revenue")),
                Err(e) => ("properties.total", Err(e)),
            };
            let revenue = match total {
                Ok(Some(t)) if t.is_finite() && t >= 0.0 => t,
                Ok(other) => {
                    report.reject(
                        Table::Orders,
                        path,
                        row,
                        &field(total_field),
                        &other.map(|t| t.to_string()).unwrap_or_default(),
                        "an order needs a total ≥ 0 (properties.total or properties.revenue)",
                    );
                    return Ok(());
                }
                Err(value) => {
                    report.reject(Table::Orders, path, row, &field(total_field), &value, "not a number");
                    return Ok(());
                }
            };
            let code = jsonl::text(&v, "properties.currency").unwrap_or_default();
            let currency = match super::money::currency(&code) {
                Ok(c) => c,
                Err(reason) => {
                    report.reject(Table::Orders, path, row, &field("properties.currency"), &code, reason);
                    return Ok(());
                }
            };
            let email = user
                .as_ref()
                .and_then(|u| email_of.get(u).cloned())
                .or_else(|| jsonl::text(&v, "context.traits.email"));
            let email = if opts.id_key == super::IdKey::CustomerId && user.is_some() { None } else { email };
            let customer = match (email, &user) {
                (Some(e), _) => identity::from_email(&opts.salt, &e),
                (None, Some(u)) => identity::customer_id(&opts.salt, "user_id", u),
                (None, None) => {
                    identity::customer_id(&opts.salt, "segment-anonymous", anon.as_deref().unwrap_or_default())
                }
            };
            let first = customers.entry(customer.clone()).or_insert(ts);
            *first = (*first).min(ts);
            orders
                .text(&order_id)
                .text(&customer)
                .opt_text(Some(&person))
                .ts(ts)
                .float(revenue)
                .text(&currency)
                .opt_text(jsonl::text(&v, "properties.coupon").as_deref())
                .opt_float(None)
                .opt_bool(None)
                .text(&json!({ "source": "segment" }).to_string())
                .end_row();
            Ok(())
        })?;
        report.files.push(FileRead { path: path.clone(), rows, ignored_columns: ignored.into_iter().collect() });
    }
    let n_orders = orders.len() as u64;
    report.written.insert("orders".into(), n_orders);
    if n_orders > 0 {
        sink(Table::Orders, orders.finish())?;
    }
    // Sessionise: per person, in time order.
    events.sort_by_key(|e| (e.person, e.seen.ts));
    let mut all = Vec::new();
    let mut current: Option<(u32, Session, bool)> = None;
    let mut count_of: HashMap<u32, u32> = HashMap::new();
    let mut close = |cur: Option<(u32, Session, bool)>, all: &mut Vec<_>| {
        if let Some((p, mut s, tracked)) = cur {
            let k = count_of.entry(p).or_default();
            *k += 1;
            s.engagement_ms = (s.ended_at - s.started_at) / 1000;
            s.engaged |= tracked || s.pageviews >= 2 || s.engagement_ms >= 10_000;
            s.number = Some(i64::from(*k));
            let person = &people[p as usize];
            all.push((format!("{person}#{k}"), person.clone(), s, serde_json::Map::new()));
        }
    };
    for e in events {
        let new_campaign = |s: &Session| e.seen.utm.iter().any(Option::is_some) && e.seen.utm != s.utm;
        let starts = match &current {
            Some((p, s, _)) => *p != e.person || e.seen.ts - s.ended_at > GAP_US || new_campaign(s),
            None => true,
        };
        if starts {
            close(current.take(), &mut all);
            current = Some((e.person, Session::new(), false));
        }
        let (_, s, tracked) = current.as_mut().expect("a session is open");
        *tracked |= e.track;
        s.observe(e.seen);
    }
    close(current.take(), &mut all);
    super::sessions::write(all, "segment", opts, &mut report, sink)?;
    let mut cu = RowBuilder::for_table(Table::Customers);
    for (id, at) in &customers {
        cu.text(id).ts(*at).opt_text(None).opt_text(None).opt_ts(None).opt_ts(None).end_row();
    }
    report.written.insert("customers".into(), customers.len() as u64);
    if !customers.is_empty() {
        sink(Table::Customers, cu.finish())?;
    }
    Ok(report)
}
