//! The Shopify Admin REST API's orders (`GET /admin/api/2024-04/orders.json` pages saved as
//! JSON — `{"orders": […]}` — one page a line, or NDJSON of orders) → `orders`,
//! `customers`, and a touch for each order whose `landing_site` carries UTMs or whose
//! `referring_site` names a platform.
//!
//! | API field | canonical | how |
//! |---|---|---|
//! | `name` (`#1001`) | `orders.order_id` | the CSV export's `Name`: both forms of one shop give one id |
//! | `email`, else `customer.email`, else `customer.id` | `customer_id` | salted hash (the email's is the one every source shares) |
//! | `created_at` (`2024-05-01T10:00:00-04:00`) | `ordered_at` | to UTC |
//! | `total_price_set.shop_money` (else `total_price`, `currency`) − successful refund transactions | `revenue`, `currency` | the shop currency; `presentment_money` passes through in `extra` |
//! | `financial_status` = `refunded` | `refunded` | |
//! | `discount_codes[].code` | `discount_code` | the first; all in `extra` |
//! | `cancelled_at` set, `financial_status` = `voided`, `test` = true | — | skipped, counted |
//! | `landing_site` (`/products/x?utm_source=…&utm_content=…`), `referring_site` | a `touchpoints` row at the order time | channel from the plan (creator UTM), click ids, GA4's rules; user `shopify-customer:{customer}` shared with the order |
//! | `id`, `source_name`, `tags`, `note_attributes`, `referring_site`, `landing_site` | `extra` | passed through |
//!
//! Not carried: the visit's own time and length (Shopify keeps only the landing URL of the
//! order's visit, so no `sessions` row is written and the touch is dated at the order),
//! line items, addresses.

use std::path::Path;

use serde_json::{Value, json};

use super::super::channel::{self, ClickIds};
use super::super::shop::{ShopOrder, ShopOrders};
use super::super::time::parse_timestamp_us;
use super::super::{ImportOptions, ImportReport, Sink, identity, jsonl, money};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// The order fields read (the rest are listed as ignored: line items, addresses, …).
pub const USED: &[&str] = &[
    "name",
    "order_number",
    "email",
    "customer",
    "created_at",
    "total_price",
    "total_price_set",
    "currency",
    "financial_status",
    "cancelled_at",
    "test",
    "refunds",
    "discount_codes",
    "landing_site",
    "referring_site",
    "id",
    "source_name",
    "tags",
    "note_attributes",
];

/// Reads one file of API orders.
pub fn import_file(
    path: &Path,
    opts: &ImportOptions,
    report: &mut ImportReport,
    shop: &mut ShopOrders,
    touches: &mut RowBuilder,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let mut rows = 0u64;
    let mut ignored = std::collections::BTreeSet::new();
    jsonl::for_each(path, &["orders", "items"], |l| {
        rows += 1;
        let o = &l.value;
        let field = |f: &str| jsonl::path_of(&l.at, f);
        jsonl::note_ignored(o, USED, &mut ignored);
        if jsonl::get(o, "increment_id").is_some() || jsonl::get(o, "entity_id").is_some() {
            return Err(DataError::InvalidRow {
                path: path.to_owned(),
                row: l.row,
                column: "increment_id".into(),
                reason:
                    "not a Shopify order: `increment_id` and `entity_id` are Magento's (roicast import magento-orders)"
                        .into(),
            });
        }
        let Some(name) = jsonl::text(o, "name").or_else(|| jsonl::text(o, "order_number").map(|n| format!("#{n}")))
        else {
            report.reject(
                Table::Orders,
                path,
                l.row,
                &field("name"),
                "",
                "an order needs its `name` (or `order_number`)",
            );
            return Ok(());
        };
        if let Err(reason) = shop.claim(&name, path, l.row) {
            report.reject(Table::Orders, path, l.row, &field("name"), &name, reason);
            return Ok(());
        }
        if o.get("test").and_then(Value::as_bool) == Some(true) {
            report.skip("test orders (test = true)");
            return Ok(());
        }
        if jsonl::get(o, "cancelled_at").is_some() {
            report.skip("cancelled (cancelled_at set)");
            return Ok(());
        }
        let status = jsonl::text(o, "financial_status").unwrap_or_default().to_lowercase();
        if status == "voided" {
            report.skip("voided (financial_status = voided)");
            return Ok(());
        }
        let (total_path, currency_path) = if jsonl::get(o, "total_price_set.shop_money").is_some() {
            ("total_price_set.shop_money.amount", "total_price_set.shop_money.currency_code")
        } else {
            ("total_price", "currency")
        };
        let total_text = jsonl::text(o, total_path).unwrap_or_default();
        let Some(total) = money::parse_amount(&total_text, false).filter(|t| *t >= 0.0) else {
            report.reject(Table::Orders, path, l.row, &field(total_path), &total_text, "expected an amount ≥ 0");
            return Ok(());
        };
        let code_text = jsonl::text(o, currency_path).unwrap_or_default();
        let currency = match money::currency(&code_text) {
            Ok(c) => c,
            Err(reason) => {
                report.reject(Table::Orders, path, l.row, &field(currency_path), &code_text, reason);
                return Ok(());
            }
        };
        let created_text = jsonl::text(o, "created_at").unwrap_or_default();
        let ordered_at = match parse_timestamp_us(&created_text, opts.timezone) {
            Ok(t) => t,
            Err(reason) => {
                report.reject(Table::Orders, path, l.row, &field("created_at"), &created_text, reason);
                return Ok(());
            }
        };
        let mut refunded_amount = 0.0;
        for (ri, r) in o.get("refunds").and_then(Value::as_array).into_iter().flatten().enumerate() {
            for (ti, t) in r.get("transactions").and_then(Value::as_array).into_iter().flatten().enumerate() {
                if jsonl::text(t, "kind").as_deref() != Some("refund")
                    || jsonl::text(t, "status").as_deref() != Some("success")
                {
                    continue;
                }
                match jsonl::number(t, "amount") {
                    Ok(Some(a)) if a.is_finite() && a >= 0.0 => refunded_amount += a,
                    _ => {
                        let at = field(&format!("refunds[{ri}].transactions[{ti}].amount"));
                        report.reject(
                            Table::Orders,
                            path,
                            l.row,
                            &at,
                            &jsonl::text(t, "amount").unwrap_or_default(),
                            "expected an amount ≥ 0",
                        );
                        return Ok(());
                    }
                }
            }
        }
        if status == "partially_refunded" {
            report.note("partially refunded orders (revenue net of the refund)");
        }
        let email = jsonl::text(o, "email").or_else(|| jsonl::text(o, "customer.email"));
        let own = opts.own_id("shopify-customer", jsonl::text(o, "customer.id").as_deref());
        let customer = own.unwrap_or_else(|| match (email, jsonl::text(o, "customer.id")) {
            (Some(e), _) => identity::from_email(&opts.salt, &e),
            (None, Some(id)) => {
                report.note("orders without an email (customer id from customer.id)");
                identity::customer_id(&opts.salt, "shopify-customer", &id)
            }
            (None, None) => {
                report.note("orders without an email (customer id from the order name)");
                identity::customer_id(&opts.salt, "shopify-order", &name)
            }
        });
        let codes: Vec<String> = o
            .get("discount_codes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| jsonl::text(d, "code"))
            .collect();
        if codes.len() > 1 {
            report.note("orders with several discount codes (the first is discount_code)");
        }
        let mut extra = serde_json::Map::new();
        extra.insert("financial_status".into(), json!(status));
        if !codes.is_empty() {
            extra.insert("discount_codes".into(), json!(codes));
        }
        for k in ["id", "source_name", "tags", "referring_site", "landing_site"] {
            if let Some(v) = jsonl::text(o, k) {
                extra.insert(k.into(), json!(v));
            }
        }
        for k in ["note_attributes", "total_price_set.presentment_money"] {
            if let Some(v) = jsonl::get(o, k) {
                extra.insert(k.replace('.', "_"), v.clone());
            }
        }
        let user = format!("shopify-customer:{customer}");
        let landing = jsonl::text(o, "landing_site");
        let referrer = jsonl::text(o, "referring_site").and_then(|r| channel::host(&r));
        let utm = |k: &str| landing.as_deref().and_then(|u| channel::query_param(u, &format!("utm_{k}")));
        let (source, medium, campaign, content) = (utm("source"), utm("medium"), utm("campaign"), utm("content"));
        let has_touch = source.is_some() || content.is_some() || campaign.is_some() || referrer.is_some();
        if has_touch {
            let plan_asset = opts.plan.as_ref().and_then(|p| {
                content
                    .as_deref()
                    .and_then(|c| p.asset_of_link(c))
                    .or_else(|| campaign.as_deref().and_then(|c| p.asset_of_link(c)))
            });
            let on_url = |k: &str| landing.as_deref().is_some_and(|u| channel::query_param(u, k).is_some());
            let clicks = ClickIds { gclid: on_url("gclid"), fbclid: on_url("fbclid"), ttclid: on_url("ttclid") };
            let platform = source
                .as_deref()
                .and_then(channel::platform)
                .or_else(|| referrer.as_deref().and_then(channel::platform));
            let (ch, creator, camp, method) = match plan_asset {
                Some(a) => (
                    "creator",
                    Some(a.creator_id.as_str()),
                    a.campaign_id.as_deref(),
                    if a.method == "affiliate_link" { "affiliate_link" } else { "utm" },
                ),
                None => (
                    channel::classify(source.as_deref(), medium.as_deref(), referrer.as_deref(), clicks),
                    None,
                    None,
                    if source.is_some() { "utm" } else { "pixel" },
                ),
            };
            touches
                .text(&format!("shopify:{name}"))
                .text(&user)
                .ts(ordered_at)
                .text(ch)
                .opt_text(creator)
                .opt_text(camp)
                .opt_text(platform)
                .text("click")
                .opt_text(Some(method))
                .end_row();
        }
        let order = ShopOrder {
            order_id: name,
            customer,
            user_id: Some(user),
            ordered_at,
            revenue: (total - refunded_amount).max(0.0),
            currency,
            code: codes.into_iter().next(),
            refunded: status == "refunded",
            extra: Value::Object(extra),
        };
        shop.add(order, opts, report, sink)
    })?;
    report.files.push(super::FileRead { path: path.to_owned(), rows, ignored_columns: ignored.into_iter().collect() });
    Ok(())
}
