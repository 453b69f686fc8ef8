//! `magento-orders`: Magento 2 / Adobe Commerce orders → `orders` and `customers`, from the
//! REST API (`GET /rest/V1/orders?searchCriteria…` pages saved as JSON: `{"items": […],
//! "search_criteria": …, "total_count": N}`, or NDJSON of orders) or from the admin
//! sales-order grid's CSV export (Sales → Orders → Export → CSV).
//!
//! | REST field | grid column | canonical | how |
//! |---|---|---|---|
//! | `increment_id` | `ID` | `orders.order_id` | as is (`000000123`) |
//! | `customer_email` | `Customer Email` | `customer_id` | salted hash of the normalised email |
//! | `created_at` (UTC, no offset: Magento stores UTC) | `Purchase Date` (`May 1, 2024 10:00:00 AM`, the admin's locale and time zone) | `ordered_at` | REST: read as UTC; grid: `--timezone` is required |
//! | `base_grand_total` − `base_total_refunded` (else `grand_total` − `total_refunded`) | `Grand Total (Base)` − `Total Refunded` | `revenue` | the base (shop) currency; the order currency passes through |
//! | `base_currency_code` (else `order_currency_code`) | the symbol of `Grand Total (Base)` or `--currency` | `currency` | ISO 4217; `$` is several currencies, so it needs `--currency` |
//! | `coupon_code` | — | `discount_code` | the grid has no coupon column |
//! | `status` = `closed` | `Status` = `Closed` | `refunded` | closed = fully refunded (credit memo) |
//! | `status` `canceled`, `pending_payment`, `payment_review` | the same labels | — | skipped, counted |
//! | `entity_id`, `state`, `status`, `order_currency_code`, `store_id`, `customer_is_guest` | `Purchase Point`, `Status`, `Customer Group` | `extra` | passed through |
//!
//! Not carried: items, addresses, names (the grid's name and address columns are listed as
//! ignored), and the grid's coupon (absent from it).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::headers::read_csv;
use super::shop::{ShopOrder, ShopOrders};
use super::time::parse_timestamp_us;
use super::{ImportOptions, ImportReport, Sink, jsonl, money};
use crate::{DataError, Table};

const NO_EMAIL: &str = "orders without an email (customer id from the order id)";

/// Grid columns read.
pub const GRID_USED: &[&str] = &[
    "ID",
    "Purchase Date",
    "Grand Total (Base)",
    "Grand Total (Purchased)",
    "Status",
    "Customer Email",
    "Total Refunded",
    "Purchase Point",
    "Customer Group",
];
/// REST fields read.
pub const USED: &[&str] = &[
    "increment_id",
    "customer_email",
    "customer_id",
    "created_at",
    "base_grand_total",
    "grand_total",
    "base_total_refunded",
    "total_refunded",
    "base_currency_code",
    "order_currency_code",
    "coupon_code",
    "status",
    "state",
    "entity_id",
    "store_id",
    "customer_is_guest",
];

/// Statuses that are no sale.
fn skipped(status: &str) -> Option<&'static str> {
    match status {
        "canceled" => Some("canceled orders (status canceled)"),
        "pending_payment" | "payment_review" => Some("unpaid orders (status pending_payment / payment_review)"),
        _ => None,
    }
}

/// An amount as the grid writes it (`$1,204.00`, `€64.00`, `1.204,00 €` is not read): the
/// number and the currency its symbol names, if one does unambiguously.
fn grid_money(v: &str) -> (Option<f64>, Option<&'static str>) {
    let t = v.trim();
    let symbols: &[(&str, Option<&'static str>)] = &[
        ("US$", Some("USD")),
        ("CA$", Some("CAD")),
        ("A$", Some("AUD")),
        ("€", Some("EUR")),
        ("£", Some("GBP")),
        ("¥", Some("JPY")),
        ("₹", Some("INR")),
        ("CHF", Some("CHF")),
        ("$", None),
    ];
    for (sym, code) in symbols {
        if let Some(rest) = t.strip_prefix(sym).or_else(|| t.strip_suffix(sym)) {
            return (money::parse_amount(rest, true), *code);
        }
    }
    (money::parse_amount(t, true), None)
}

/// Imports Magento orders (REST JSON or grid CSV, by extension).
pub fn import(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "magento-orders".into(), ..ImportReport::default() };
    let mut shop = ShopOrders::new();
    for path in paths {
        if super::shopify::is_json(path) {
            rest_file(path, opts, &mut report, &mut shop, sink)?;
        } else {
            grid_file(path, opts, &mut report, &mut shop, sink)?;
        }
    }
    shop.finish(&mut report, sink)?;
    Ok(report)
}

fn rest_file(
    path: &Path,
    opts: &ImportOptions,
    report: &mut ImportReport,
    shop: &mut ShopOrders,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let utc = Some(chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let mut rows = 0u64;
    let mut ignored = std::collections::BTreeSet::new();
    jsonl::for_each(path, &["items"], |l| {
        rows += 1;
        let o = &l.value;
        let field = |f: &str| jsonl::path_of(&l.at, f);
        jsonl::note_ignored(o, USED, &mut ignored);
        let Some(id) = jsonl::text(o, "increment_id") else {
            let reason = if o.get("financial_status").is_some() || o.get("line_items").is_some() {
                "not a Magento order: `financial_status` and `line_items` are Shopify's (roicast import shopify-orders)"
            } else {
                "an order needs its `increment_id`"
            };
            if o.get("financial_status").is_some() || o.get("event_name").is_some() {
                return Err(DataError::InvalidRow {
                    path: path.to_owned(),
                    row: l.row,
                    column: field("increment_id"),
                    reason: reason.into(),
                });
            }
            report.reject(Table::Orders, path, l.row, &field("increment_id"), "", reason);
            return Ok(());
        };
        if let Err(reason) = shop.claim(&id, path, l.row) {
            report.reject(Table::Orders, path, l.row, &field("increment_id"), &id, reason);
            return Ok(());
        }
        let status = jsonl::text(o, "status").unwrap_or_default().to_lowercase();
        if let Some(rule) = skipped(&status) {
            report.skip(rule);
            return Ok(());
        }
        let base = jsonl::get(o, "base_grand_total").is_some();
        let (total_f, refund_f, currency_f) = if base {
            ("base_grand_total", "base_total_refunded", "base_currency_code")
        } else {
            ("grand_total", "total_refunded", "order_currency_code")
        };
        let mut amounts = [0.0; 2];
        for (k, f) in [total_f, refund_f].iter().enumerate() {
            match jsonl::number(o, f) {
                Ok(v) if v.is_none_or(|x| x.is_finite() && x >= 0.0) && (k == 1 || v.is_some()) => {
                    amounts[k] = v.unwrap_or(0.0);
                }
                Ok(v) => {
                    report.reject(
                        Table::Orders,
                        path,
                        l.row,
                        &field(f),
                        &v.map(|x| x.to_string()).unwrap_or_default(),
                        "expected an amount ≥ 0",
                    );
                    return Ok(());
                }
                Err(v) => {
                    report.reject(Table::Orders, path, l.row, &field(f), &v, "not a number");
                    return Ok(());
                }
            }
        }
        let code = jsonl::text(o, currency_f).or_else(|| jsonl::text(o, "order_currency_code")).unwrap_or_default();
        let currency = match money::currency(&code) {
            Ok(c) => c,
            Err(reason) => {
                report.reject(Table::Orders, path, l.row, &field(currency_f), &code, reason);
                return Ok(());
            }
        };
        let created = jsonl::text(o, "created_at").unwrap_or_default();
        let ordered_at = match parse_timestamp_us(&created, opts.timezone.or(utc)) {
            Ok(t) => t,
            Err(reason) => {
                report.reject(Table::Orders, path, l.row, &field("created_at"), &created, reason);
                return Ok(());
            }
        };
        let own = opts.own_id("magento-customer", jsonl::text(o, "customer_id").as_deref());
        let customer = own.unwrap_or_else(|| {
            report.customer(&opts.salt, jsonl::text(o, "customer_email").as_deref(), "magento-order", &id, NO_EMAIL)
        });
        let mut extra = serde_json::Map::new();
        for k in ["entity_id", "state", "status", "order_currency_code", "grand_total", "store_id", "customer_is_guest"]
        {
            if let Some(v) = jsonl::get(o, k) {
                extra.insert(k.into(), v.clone());
            }
        }
        let order = ShopOrder {
            order_id: id,
            customer,
            user_id: None,
            ordered_at,
            revenue: (amounts[0] - amounts[1]).max(0.0),
            currency,
            code: jsonl::text(o, "coupon_code"),
            refunded: status == "closed",
            extra: Value::Object(extra),
        };
        shop.add(order, opts, report, sink)
    })?;
    report.files.push(super::FileRead { path: path.to_owned(), rows, ignored_columns: ignored.into_iter().collect() });
    Ok(())
}

fn grid_file(
    path: &Path,
    opts: &ImportOptions,
    report: &mut ImportReport,
    shop: &mut ShopOrders,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    let read = read_csv(
        path,
        &["ID", "Purchase Date", "Grand Total (Base)", "Status"],
        GRID_USED,
        |h| {
            if opts.id_key == super::IdKey::CustomerId {
                return Err(("Customer Email".into(), "the Magento order grid has no customer id column: import it with --id-key email (or the REST orders, which have customer_id)".into()));
            }
            if h.get("Purchase Date").is_none() && h.get("Grand Total (Base)").is_none() {
                return Err((
                    "ID".into(),
                    "not a Magento sales-order grid export (no `Purchase Date` or `Grand Total (Base)` header)".into(),
                ));
            }
            Ok(())
        },
        |(), r| {
            let id = r.get("ID").to_owned();
            if id.is_empty() {
                report.reject(Table::Orders, path, r.row, "ID", "", "required value is missing");
                return Ok(());
            }
            if let Err(reason) = shop.claim(&id, path, r.row) {
                report.reject(Table::Orders, path, r.row, "ID", &id, reason);
                return Ok(());
            }
            let status = r.get("Status").to_lowercase().replace(' ', "_");
            if let Some(rule) = skipped(&status) {
                report.skip(rule);
                return Ok(());
            }
            let (total, symbol) = grid_money(r.get("Grand Total (Base)"));
            let Some(total) = total.filter(|t| *t >= 0.0) else {
                report.reject(
                    Table::Orders,
                    path,
                    r.row,
                    "Grand Total (Base)",
                    r.get("Grand Total (Base)"),
                    "not an amount",
                );
                return Ok(());
            };
            let (refunded, _) = grid_money(r.get("Total Refunded"));
            let Some(refunded) = refunded.filter(|t| *t >= 0.0) else {
                report.reject(Table::Orders, path, r.row, "Total Refunded", r.get("Total Refunded"), "not an amount");
                return Ok(());
            };
            let currency = match (&opts.currency, symbol) {
                (Some(c), _) => c.clone(),
                (None, Some(c)) => c.to_owned(),
                (None, None) => {
                    report.reject(
                        Table::Orders,
                        path,
                        r.row,
                        "Grand Total (Base)",
                        r.get("Grand Total (Base)"),
                        "the grid writes the amount with a symbol several currencies use (or none): pass --currency (e.g. --currency USD)",
                    );
                    return Ok(());
                }
            };
            let ordered_at = match parse_timestamp_us(r.get("Purchase Date"), opts.timezone) {
                Ok(t) => t,
                Err(reason) => {
                    report.reject(Table::Orders, path, r.row, "Purchase Date", r.get("Purchase Date"), reason);
                    return Ok(());
                }
            };
            let customer = report.customer(&opts.salt, r.opt("Customer Email"), "magento-order", &id, NO_EMAIL);
            let extra = json!({
                "status": r.get("Status"),
                "purchase_point": r.get("Purchase Point"),
                "grand_total_purchased": r.get("Grand Total (Purchased)"),
                "customer_group": r.get("Customer Group"),
            });
            let order = ShopOrder {
                order_id: id,
                customer,
                user_id: None,
                ordered_at,
                revenue: (total - refunded).max(0.0),
                currency,
                code: None,
                refunded: status == "closed",
                extra,
            };
            shop.add(order, opts, report, sink)
        },
    )?;
    report.files.push(read);
    Ok(())
}
