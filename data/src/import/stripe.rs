//! `stripe-subscriptions`: Stripe's subscriptions CSV export (Dashboard → Billing →
//! Subscriptions → Export) → `customers` with `subscription_started_at` and `churned_at`,
//! so the sBG retention model runs on real subscriptions.
//!
//! Times are in UTC without an offset, as the headers say (`Created (UTC)`,
//! `2024-01-15 10:30:00`); newer exports name the start `Start Date (UTC)`, older ones
//! `Start (UTC)`: both are read.
//!
//! | export | canonical | how |
//! |---|---|---|
//! | `Customer Email`, else `Customer ID` | `customers.customer_id` | salted SHA-256 of the normalised email (the id the shop's orders get), else of the Stripe customer id (counted) |
//! | earliest `Created (UTC)` of the customer | `acquired_at` | |
//! | `Start Date (UTC)` / `Start (UTC)` of the customer's first subscription | `subscription_started_at` | |
//! | `Ended At (UTC)` of that subscription | `churned_at` | empty while it runs; `Canceled At (UTC)` alone (cancel at period end) is not yet churn |
//! | `Status` `incomplete` / `incomplete_expired` | — | skipped, counted: never paid |
//!
//! A customer who cancelled and subscribed again keeps the first subscription's dates: a
//! restart is a win-back, counted in the report, not retention (sBG measures how long an
//! acquired cohort stays). Not carried: plan, price and quantity (roicast's retention model
//! needs only the dates; revenue comes from orders), payment details, metadata columns
//! (listed as ignored).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::headers::read_csv;
use super::time::parse_timestamp_us;
use super::{ImportOptions, ImportReport, Sink};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// The headers the importer needs.
pub const REQUIRED: &[&str] = &["id", "Customer ID", "Status", "Created (UTC)"];
/// The headers it reads.
pub const USED: &[&str] = &[
    "id",
    "Customer ID",
    "Customer Email",
    "Status",
    "Created (UTC)",
    "Start (UTC)",
    "Start Date (UTC)",
    "Canceled At (UTC)",
    "Ended At (UTC)",
];

struct Sub {
    created: i64,
    start: i64,
    ended: Option<i64>,
    id: String,
}

/// Imports Stripe subscription exports.
pub fn import(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: "stripe-subscriptions".into(), ..ImportReport::default() };
    let utc = Some(chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let mut subs: BTreeMap<String, Vec<Sub>> = BTreeMap::new();
    let mut seen: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for (file_index, path) in paths.iter().enumerate() {
        let read = read_csv(
            path,
            REQUIRED,
            USED,
            |h| {
                if h.get("Customer ID").is_none() && h.get("Status").is_none() {
                    Err((
                        "Customer ID".into(),
                        "not a Stripe subscriptions export (no `Customer ID` or `Status` header)".into(),
                    ))
                } else {
                    Ok(())
                }
            },
            |(), r| {
                let id = r.get("id").to_owned();
                if id.is_empty() {
                    report.reject(Table::Customers, path, r.row, "id", "", "required value is missing");
                    return Ok(());
                }
                if let Some(&(f, row)) = seen.get(&id) {
                    let at = if f == file_index {
                        format!("row {row}")
                    } else {
                        format!("row {row} of {}", paths[f].display())
                    };
                    report.reject(
                        Table::Customers,
                        path,
                        r.row,
                        "id",
                        &id,
                        format!("subscription {id} is already at {at}"),
                    );
                    return Ok(());
                }
                seen.insert(id.clone(), (file_index, r.row));
                let status = r.get("Status").to_lowercase();
                if status == "incomplete" || status == "incomplete_expired" {
                    report.skip("incomplete subscriptions (never paid: Status incomplete / incomplete_expired)");
                    return Ok(());
                }
                let mut time = |col: &str, required: bool| -> Option<Option<i64>> {
                    match r.opt(col) {
                        None if required => {
                            report.reject(Table::Customers, path, r.row, col, "", "required value is missing");
                            None
                        }
                        None => Some(None),
                        Some(v) => match parse_timestamp_us(v, utc) {
                            Ok(t) => Some(Some(t)),
                            Err(reason) => {
                                report.reject(Table::Customers, path, r.row, col, v, reason);
                                None
                            }
                        },
                    }
                };
                let Some(Some(created)) = time("Created (UTC)", true) else { return Ok(()) };
                let start_col = if r.has("Start Date (UTC)") { "Start Date (UTC)" } else { "Start (UTC)" };
                let Some(start) = time(start_col, false) else { return Ok(()) };
                let Some(ended) = time("Ended At (UTC)", false) else { return Ok(()) };
                let Some(_) = time("Canceled At (UTC)", false) else { return Ok(()) };
                let start = start.unwrap_or(created);
                if ended.is_some_and(|e| e < start) {
                    report.reject(
                        Table::Customers,
                        path,
                        r.row,
                        "Ended At (UTC)",
                        r.get("Ended At (UTC)"),
                        "ends before it starts",
                    );
                    return Ok(());
                }
                if status == "trialing" {
                    report.note("subscriptions still in trial (counted from their start)");
                }
                let own = opts.own_id("stripe-customer", r.opt("Customer ID"));
                let customer = own.unwrap_or_else(|| {
                    report.customer(
                        &opts.salt,
                        r.opt("Customer Email"),
                        "stripe-customer",
                        r.get("Customer ID"),
                        "subscriptions without a customer email (id from the Stripe customer id)",
                    )
                });
                subs.entry(customer).or_default().push(Sub { created, start, ended, id });
                Ok(())
            },
        )?;
        report.files.push(read);
    }
    let mut cu = RowBuilder::for_table(Table::Customers);
    for (customer, list) in &mut subs {
        list.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let first = &list[0];
        if list.len() > 1 {
            report.note(
                "customers who cancelled and subscribed again (win-backs: the first subscription's dates are kept)",
            );
        }
        let acquired = list.iter().map(|s| s.created).min().expect("one subscription");
        cu.text(customer)
            .ts(acquired)
            .opt_text(None)
            .opt_text(None)
            .opt_ts(Some(first.start))
            .opt_ts(first.ended)
            .end_row();
    }
    report.written.insert("customers".into(), subs.len() as u64);
    if !subs.is_empty() {
        sink(Table::Customers, cu.finish())?;
    }
    Ok(report)
}
