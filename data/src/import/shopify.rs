//! `shopify-orders`: the Shopify admin "Export orders" CSV → `orders` and `customers`.
//!
//! The export has one row per line item; the order-level fields (`Financial Status`,
//! `Total`, `Currency`, `Discount Code`, `Created at`, …) are filled on the first row of
//! each `Name` and empty on its other rows, which are consecutive. Both the 75- and the
//! 79-column variants (the latter adds `Duties`, `Billing/Shipping Province Name`,
//! `Payment ID`, `Payment Terms Name`, `Next Payment Due At`, `Payment References`) are
//! read by header name; columns are never taken by position.
//!
//! | export | canonical | how |
//! |---|---|---|
//! | `Name` (`#1001`) | `orders.order_id` | as is |
//! | `Email` | `orders.customer_id`, `customers.customer_id` | salted SHA-256 of the trimmed, lower-cased email; no email → a salted hash of the order name (counted) |
//! | `Created at` (`2024-05-01 10:00:00 -0400`) | `ordered_at` | to UTC with its offset |
//! | `Total` − `Refunded Amount` | `revenue` | net of refunds, ≥ 0 |
//! | `Currency` | `currency` | the shop currency |
//! | `Discount Code` | `discount_code` | the first code; several codes (comma-separated) counted, all kept in `extra` |
//! | `Financial Status` = `refunded` | `refunded` | true only for a full refund; `partially_refunded` keeps net revenue |
//! | `Cancelled at` set / `Financial Status` = `voided` | — | skipped, counted per rule |
//! | `Id`, `Source`, `Tags`, `Note Attributes`, `Financial Status`, every code | `orders.extra` (JSON) | passed through |
//! | first order of a customer | `customers.acquired_at` | |
//!
//! Not carried: line items (roicast works on orders), addresses, names and phones (personal
//! data, listed as ignored columns), gross margin (the export has no cost of goods).

use serde_json::json;

use super::headers::Header;
use super::shop::{ShopOrder, ShopOrders};
use super::time::parse_timestamp_us;
use super::{FileRead, ImportOptions, ImportReport, Sink, identity};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// The 79 columns of the export, in Shopify's order (the 75-column variant lacks the last
/// ones: `Duties` … `Payment References`).
pub const HEADER: &[&str] = &[
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Fulfillment Status",
    "Fulfilled at",
    "Accepts Marketing",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Shipping Method",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
    "Lineitem compare at price",
    "Lineitem sku",
    "Lineitem requires shipping",
    "Lineitem taxable",
    "Lineitem fulfillment status",
    "Billing Name",
    "Billing Street",
    "Billing Address1",
    "Billing Address2",
    "Billing Company",
    "Billing City",
    "Billing Zip",
    "Billing Province",
    "Billing Country",
    "Billing Phone",
    "Shipping Name",
    "Shipping Street",
    "Shipping Address1",
    "Shipping Address2",
    "Shipping Company",
    "Shipping City",
    "Shipping Zip",
    "Shipping Province",
    "Shipping Country",
    "Shipping Phone",
    "Notes",
    "Note Attributes",
    "Cancelled at",
    "Payment Method",
    "Payment Reference",
    "Refunded Amount",
    "Vendor",
    "Outstanding Balance",
    "Employee",
    "Location",
    "Device ID",
    "Id",
    "Tags",
    "Risk Level",
    "Source",
    "Lineitem discount",
    "Tax 1 Name",
    "Tax 1 Value",
    "Tax 2 Name",
    "Tax 2 Value",
    "Tax 3 Name",
    "Tax 3 Value",
    "Tax 4 Name",
    "Tax 4 Value",
    "Tax 5 Name",
    "Tax 5 Value",
    "Phone",
    "Receipt Number",
    "Duties",
    "Billing Province Name",
    "Shipping Province Name",
    "Payment ID",
    "Payment Terms Name",
    "Next Payment Due At",
    "Payment References",
];

/// The headers the importer needs.
pub const REQUIRED: &[&str] = &["Name", "Email", "Financial Status", "Currency", "Total", "Created at"];

/// The headers it reads (the rest are listed as ignored).
pub const USED: &[&str] = &[
    "Name",
    "Email",
    "Financial Status",
    "Currency",
    "Total",
    "Created at",
    "Discount Code",
    "Refunded Amount",
    "Cancelled at",
    "Id",
    "Source",
    "Tags",
    "Note Attributes",
    "Lineitem quantity",
];

pub mod api;

/// A JSON file (an API response) rather than the admin CSV, by its extension.
#[must_use]
pub fn is_json(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| {
        e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("ndjson") || e.eq_ignore_ascii_case("jsonl")
    })
}

fn money(v: &str) -> Option<f64> {
    super::money::parse_amount(v, true)
}

/// Imports Shopify order exports; finished batches go to `sink`. A file whose header is
/// not a Shopify orders export is an error naming the missing header; bad values are
/// rejects in the report (the caller writes nothing when there is any).
pub fn import(
    paths: &[std::path::PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "shopify-orders".into(), ..ImportReport::default() };
    let mut shop = ShopOrders::new();
    let mut touches = RowBuilder::for_table(Table::Touchpoints);
    for path in paths {
        if is_json(path) {
            api::import_file(path, opts, &mut report, &mut shop, &mut touches, sink)?;
            continue;
        }
        let (mut reader, guard) = crate::io::open_guarded_csv(path, csv::ReaderBuilder::new().flexible(false))?;
        let header = Header::new(reader.headers().map_err(|e| crate::io::csv_error(path, 0, e))?.iter());
        guard.store(0, std::sync::atomic::Ordering::Relaxed);
        if header.get("Lineitem quantity").is_none() && header.get("Name").is_none() {
            return Err(DataError::InvalidRow {
                path: path.clone(),
                row: 0,
                column: "Name".into(),
                reason: format!(
                    "not a Shopify orders export (no `Name` or `Lineitem quantity` header; the file has {})",
                    header.names().iter().take(6).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        opts.needs_email_ids(path, "the Shopify orders CSV (use the Admin API orders JSON for customer.id)")?;
        header.require(path, REQUIRED)?;
        let col = |n: &str| header.get(n);
        let (c_name, c_email, c_status, c_currency, c_total, c_created) = (
            col("Name").expect("required"),
            col("Email").expect("required"),
            col("Financial Status").expect("required"),
            col("Currency").expect("required"),
            col("Total").expect("required"),
            col("Created at").expect("required"),
        );
        let (c_code, c_refund, c_cancel) = (col("Discount Code"), col("Refunded Amount"), col("Cancelled at"));
        let passthrough: Vec<(&str, usize)> =
            ["Id", "Source", "Tags", "Note Attributes"].iter().filter_map(|n| col(n).map(|i| (*n, i))).collect();
        let used_columns: Vec<usize> = USED.iter().filter_map(|n| col(n)).collect();
        let mut rows = 0u64;
        let mut current: Option<String> = None;
        // Byte records: only the columns read are decoded as UTF-8 (the export has 79).
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(source) => return Err(crate::io::csv_error(path, rows + 1, source)),
            }
            guard.store(0, std::sync::atomic::Ordering::Relaxed);
            rows += 1;
            let mut bad_utf8 = None;
            for &i in &used_columns {
                if record.get(i).is_some_and(|b| std::str::from_utf8(b).is_err()) {
                    bad_utf8 = Some(i);
                    break;
                }
            }
            if let Some(i) = bad_utf8 {
                let name = header.names()[i].clone();
                // The bytes as Latin-1 would read them (what the value most likely is).
                let value: String = record.get(i).unwrap_or_default().iter().map(|&b| char::from(b)).collect();
                report.reject(
                    Table::Orders,
                    path,
                    rows,
                    &name,
                    &value,
                    "not UTF-8 text: export the file as UTF-8 (this value reads as Latin-1)",
                );
                continue;
            }
            let get = |i: usize| record.get(i).map_or("", |b| std::str::from_utf8(b).unwrap_or("")).trim();
            let name = get(c_name).to_owned();
            if name.is_empty() {
                report.reject(
                    Table::Orders,
                    path,
                    rows,
                    "Name",
                    "",
                    "empty order name: every row of the export belongs to an order",
                );
                continue;
            }
            if current.as_deref() == Some(name.as_str()) {
                continue; // another line item of the same order
            }
            if let Err(reason) = shop.claim(&name, path, rows) {
                report.reject(Table::Orders, path, rows, "Name", &name, reason);
                continue;
            }
            current = Some(name.clone());
            let status = get(c_status).to_lowercase();
            if c_cancel.is_some_and(|i| !get(i).is_empty()) {
                report.skip("cancelled (Cancelled at set)");
                continue;
            }
            if status == "voided" {
                report.skip("voided (Financial Status = voided)");
                continue;
            }
            let Some(total) = money(get(c_total)) else {
                report.reject(Table::Orders, path, rows, "Total", get(c_total), "not a number");
                continue;
            };
            let refund_text = c_refund.map_or("", get);
            let Some(refunded_amount) = money(refund_text) else {
                report.reject(Table::Orders, path, rows, "Refunded Amount", refund_text, "not a number");
                continue;
            };
            if total < 0.0 || refunded_amount < 0.0 {
                report.reject(Table::Orders, path, rows, "Total", get(c_total), "negative amounts are not an order");
                continue;
            }
            let currency = get(c_currency).to_owned();
            if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
                report.reject(
                    Table::Orders,
                    path,
                    rows,
                    "Currency",
                    &currency,
                    "expected an ISO-4217 code of 3 uppercase letters (the order's first row carries it)",
                );
                continue;
            }
            let ordered_at = match parse_timestamp_us(get(c_created), opts.timezone) {
                Ok(t) => t,
                Err(reason) => {
                    report.reject(Table::Orders, path, rows, "Created at", get(c_created), reason);
                    continue;
                }
            };
            let email = get(c_email);
            let customer = if email.is_empty() {
                report.note("orders without an email (customer id from the order name)");
                identity::customer_id(&opts.salt, "shopify-order", &name)
            } else {
                identity::from_email(&opts.salt, email)
            };
            let codes: Vec<String> =
                c_code.map_or("", get).split(',').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
            if codes.len() > 1 {
                report.note("orders with several discount codes (the first is discount_code)");
            }
            if status == "partially_refunded" {
                report.note("partially refunded orders (revenue net of the refund)");
            }
            let mut extra = serde_json::Map::new();
            extra.insert("financial_status".into(), json!(status));
            if !codes.is_empty() {
                extra.insert("discount_codes".into(), json!(codes));
            }
            for (n, i) in &passthrough {
                let v = get(*i);
                if !v.is_empty() {
                    extra.insert(n.to_lowercase().replace(' ', "_"), json!(v));
                }
            }
            let order = ShopOrder {
                order_id: name,
                customer,
                user_id: None,
                ordered_at,
                revenue: (total - refunded_amount).max(0.0),
                currency,
                code: codes.into_iter().next(),
                refunded: status == "refunded",
                extra: serde_json::Value::Object(extra),
            };
            shop.add(order, opts, &mut report, sink)?;
        }
        report.files.push(FileRead { path: path.clone(), rows, ignored_columns: header.unused(USED) });
    }
    shop.finish(&mut report, sink)?;
    if !touches.is_empty() {
        report.written.insert("touchpoints".into(), touches.len() as u64);
        sink(Table::Touchpoints, touches.finish())?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_has_79_columns_and_the_fixture_has_them_all() {
        assert_eq!(HEADER.len(), 79);
        let fixture = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/import/shopify/orders_export.csv"),
        )
        .unwrap();
        assert_eq!(fixture.lines().next().unwrap().split(',').collect::<Vec<_>>(), HEADER);
    }

    #[test]
    fn money_reads_thousands_separators_and_empty_as_zero() {
        assert_eq!(money("1,234.50"), Some(1234.5));
        assert_eq!(money(""), Some(0.0));
        assert_eq!(money("abc"), None);
    }
}
