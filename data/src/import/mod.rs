//! Importers: a brand's vendor exports → canonical tables, streamed row by row, with
//! row-level rejects (file, row, column, value, reason) and counted skip rules.
//!
//! Each importer reads its files with the shared pieces here — [`headers`] (mapping by
//! name, "did you mean"), [`time`] (offsets and time zones to UTC), [`identity`] (salted
//! customer ids, no clear-text email in any output) — and hands finished record batches to
//! a sink, so no whole file is held in memory. The engine's `import` job writes them into a
//! dataset atomically. Sources: [`shopify`] (the admin "Export orders" CSV). The formats,
//! field by field, are in docs/importers.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use chrono::FixedOffset;
use serde::Serialize;

use crate::{DataError, Reject, Table};

pub mod affiliate;
pub mod canonical;
pub mod channel;
pub mod crm;
pub mod ga4;
pub mod headers;
pub mod identity;
pub mod jsonl;
pub mod magento;
pub mod merge;
pub mod money;
pub mod plan;
pub mod segment;
pub mod sessions;
pub mod shop;
pub mod shopify;
pub mod social;
pub mod stripe;
pub mod time;

/// What a customer id is derived from (`--id-key`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdKey {
    /// The normalised email: one person has one id in every source (the default).
    #[default]
    Email,
    /// The source's own customer id (Shopify `customer.id`, Stripe `Customer ID`, a CRM
    /// record id, a site's login `userId`): for brands whose customers share emails, or
    /// that keep emails out of exports; ids then match only within one system.
    CustomerId,
}

/// Options every importer takes.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Salt of the customer-id hash (`ROICAST_ID_SALT`); the same salt across imports keeps
    /// ids stable.
    pub salt: String,
    /// Offset for timestamps that carry none (CRM exports); `None` refuses them.
    pub timezone: Option<FixedOffset>,
    /// The brand's tracking plan: creators and the codes and links issued to them.
    pub plan: Option<plan::Plan>,
    /// The currency of amounts a file writes with an ambiguous symbol (`$`), checked.
    pub currency: Option<String>,
    /// The column-mapping file of `affiliate-csv`.
    pub mapping: Option<PathBuf>,
    /// What customer ids are derived from.
    pub id_key: IdKey,
    /// `--observed-at`: when the platform dumps were pulled (µs, UTC), for every file.
    pub observed_at: Option<i64>,
    /// `--keep-author-ids`: comment authors' platform ids as they are, not hashed.
    pub keep_author_ids: bool,
    /// `--account`: the handle or id of the account a dashboard export belongs to, for
    /// exports that do not say (YouTube Studio, a TikTok video list without its user).
    pub account: Option<String>,
}

impl ImportOptions {
    /// With `--id-key customer-id`, the salted id of the source's own customer id `id`
    /// (of `kind`, e.g. `stripe-customer`); `None` otherwise or when the row has none.
    #[must_use]
    pub fn own_id(&self, kind: &str, id: Option<&str>) -> Option<String> {
        let id = id.map(str::trim).filter(|v| !v.is_empty())?;
        (self.id_key == IdKey::CustomerId).then(|| identity::customer_id(&self.salt, kind, id))
    }

    /// Refuses `--id-key customer-id` for an export with no customer id column.
    pub fn needs_email_ids(&self, path: &Path, what: &str) -> Result<(), DataError> {
        if self.id_key == IdKey::CustomerId {
            return Err(DataError::InvalidRow {
                path: path.to_owned(),
                row: 0,
                column: String::new(),
                reason: format!("{what} has no customer id column: import it with --id-key email"),
            });
        }
        Ok(())
    }
}

/// One file an importer read.
#[derive(Debug, Clone, Serialize)]
pub struct FileRead {
    /// The file.
    pub path: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Columns of the file the importer does not use (not written: listed, never lost
    /// silently). Personal data columns are among them on purpose.
    pub ignored_columns: Vec<String>,
}

/// What an import read, wrote, refused and skipped.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// The source (`shopify-orders`, …).
    pub source: String,
    /// Files read, in order.
    pub files: Vec<FileRead>,
    /// Rows written per canonical table.
    pub written: BTreeMap<String, u64>,
    /// Rows refused: the import writes nothing when there is any.
    pub rejects: Vec<Reject>,
    /// Rows skipped by a documented rule (cancelled, voided, …), per rule.
    pub skipped: BTreeMap<String, u64>,
    /// Counts a reader wants to see (orders without email, multiple discount codes, …).
    pub notes: BTreeMap<String, u64>,
    /// With `--merge`: per table, what joining the dataset did.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub merged: BTreeMap<String, merge::MergeStats>,
}

impl ImportReport {
    /// Counts one row skipped under `rule`.
    pub fn skip(&mut self, rule: &str) {
        *self.skipped.entry(rule.to_owned()).or_default() += 1;
    }

    /// The salted id of a customer known by `email`; without one, the id of `kind`
    /// `fallback` (a record id, an order id), the case counted under `note`.
    pub fn customer(&mut self, salt: &str, email: Option<&str>, kind: &str, fallback: &str, note: &str) -> String {
        if let Some(e) = email.map(str::trim).filter(|e| !e.is_empty()) {
            identity::from_email(salt, e)
        } else {
            self.note(note);
            identity::customer_id(salt, kind, fallback)
        }
    }

    /// Counts one occurrence of `what`.
    pub fn note(&mut self, what: &str) {
        *self.notes.entry(what.to_owned()).or_default() += 1;
    }

    /// Records a rejected row.
    pub fn reject(
        &mut self,
        table: Table,
        file: &Path,
        row: u64,
        column: &str,
        value: &str,
        reason: impl Into<String>,
    ) {
        self.rejects.push(Reject {
            table,
            file: file.to_owned(),
            row: Some(row),
            column: column.to_owned(),
            value: Some(value.to_owned()),
            reason: reason.into(),
        });
    }
}

/// The canonical schema of `table` plus a nullable `extra` text column: the JSON of the
/// source fields the table has no column for (they pass through, never lost).
#[must_use]
pub fn with_extra(table: Table) -> arrow_schema::SchemaRef {
    let base = table.spec().arrow_schema();
    let mut fields: Vec<arrow_schema::FieldRef> = base.fields().iter().cloned().collect();
    fields.push(std::sync::Arc::new(arrow_schema::Field::new("extra", arrow_schema::DataType::Utf8, true)));
    std::sync::Arc::new(arrow_schema::Schema::new(fields))
}

/// Where finished batches go (the engine writes them to staged table files).
pub type Sink<'a> = dyn FnMut(Table, RecordBatch) -> Result<(), DataError> + 'a;

/// An importer: files → batches to the sink, and the report.
pub type Importer = fn(&[PathBuf], &ImportOptions, &mut Sink<'_>) -> Result<ImportReport, DataError>;

/// Every source, its importer and what its files are, for people.
pub const SOURCES: &[(&str, Importer, &str)] = &[
    ("shopify-orders", shopify::import, "Shopify orders export"),
    ("magento-orders", magento::import, "Magento orders export"),
    ("ga4", ga4::import, "GA4 BigQuery export"),
    ("segment", segment::import, "Segment-spec event stream"),
    ("stripe-subscriptions", stripe::import, "Stripe subscriptions export"),
    ("hubspot-contacts", crm::import_hubspot, "HubSpot contacts export"),
    ("salesforce-contacts", crm::import_salesforce, "Salesforce contacts export"),
    ("impact", affiliate::import_impact, "Impact actions report"),
    ("awin", affiliate::import_awin, "Awin transactions report"),
    ("affiliate-csv", affiliate::import_mapped, "affiliate network report"),
    ("instagram", social::instagram::import, "dump of the Instagram Graph API (or a Meta Business Suite export)"),
    ("tiktok", social::tiktok::import, "dump of the TikTok API (or a TikTok Studio export)"),
    ("youtube", social::youtube::import, "dump of the YouTube Data / Analytics API (or a Studio export)"),
    ("canonical", canonical::import, "canonical table"),
];

/// The importer of `source`.
#[must_use]
pub fn importer(source: &str) -> Option<Importer> {
    SOURCES.iter().find(|(s, _, _)| *s == source).map(|(_, f, _)| *f)
}

/// What a source's files are, for people: `shopify-orders` → `Shopify orders export`.
#[must_use]
pub fn describe(source: &str) -> &'static str {
    SOURCES.iter().find(|(s, _, _)| *s == source).map_or("vendor export", |(_, _, d)| d)
}

/// The importer a JSON record's fields say it came from, for `validate`'s hint.
#[must_use]
pub fn detect_json(record: &serde_json::Value) -> Option<&'static str> {
    let has = |k: &str| record.get(k).is_some();
    if has("event_name") && has("event_params") {
        Some("ga4")
    } else if has("type") && (has("anonymousId") || has("messageId")) {
        Some("segment")
    } else if has("increment_id") {
        Some("magento-orders")
    } else if has("financial_status") || has("line_items") {
        Some("shopify-orders")
    } else if has("commissionStatus") {
        Some("awin")
    } else {
        social::looks_like(record)
    }
}

/// The first record of a JSON / NDJSON file (of a page's list), if it has one.
#[must_use]
pub fn first_json_record(path: &Path) -> Option<serde_json::Value> {
    let mut first = None;
    let _ = jsonl::for_each_document(path, &["orders", "items", "events", "data", "transactions", "batch"], |l| {
        first = Some(l.value);
        // Stop at the first record: any error ends the walk.
        Err(DataError::InvalidRow { path: path.to_owned(), row: 0, column: String::new(), reason: String::new() })
    });
    first
}

/// The importer a file's header says it came from, for `validate`'s hint.
#[must_use]
pub fn detect(header: &[String]) -> Option<&'static str> {
    let has = |c: &str| header.iter().any(|h| h.trim_start_matches('\u{feff}') == c);
    if has("Name") && has("Financial Status") && has("Lineitem quantity") {
        return Some("shopify-orders");
    }
    if has("Purchase Date") && has("Grand Total (Base)") {
        return Some("magento-orders");
    }
    if has("Customer ID") && has("Status") && (has("Created (UTC)") || has("Canceled At (UTC)")) {
        return Some("stripe-subscriptions");
    }
    if has("Record ID") && (has("Became a Customer Date") || has("Lifecycle Stage")) {
        return Some("hubspot-contacts");
    }
    if (has("MediaPartnerId") || has("Partner Id")) && (has("Payout") || has("State")) {
        return Some("impact");
    }
    if has("Transaction ID") && has("Commission Status") {
        return Some("awin");
    }
    if has("Post ID") && has("Permalink") && has("Post type") {
        return Some("instagram");
    }
    if has("Video link") && has("Post time") {
        return Some("tiktok");
    }
    if has("Content") && has("Video title") {
        return Some("youtube");
    }
    None
}
