//! `hubspot-contacts` and `salesforce-contacts`: a CRM's contacts export → `customers`
//! with acquisition date and channel, and the acquiring creator when the contact's source
//! drill-down (HubSpot) or lead source (Salesforce) is a code or link of the tracking plan.
//!
//! CRM exports write times without an offset, in the portal's or the user's time zone
//! (`2024-05-01 10:00`): `--timezone` is required for them and the error says so.
//!
//! HubSpot (Contacts → Export, all properties or the default view):
//!
//! | export | canonical | how |
//! |---|---|---|
//! | `Email`, else `Record ID` | `customers.customer_id` | salted SHA-256 of the normalised email, else of the record id (counted: CRM rows without email) |
//! | `Became a Customer Date` | `acquired_at` | to UTC with `--timezone`; a contact with none is not a customer: skipped, counted (`Lifecycle Stage` = customer without the date → `Create Date`, counted) |
//! | `Original Source` | `acquisition_channel` | Organic/Paid Search → search, Email Marketing → email, Paid Social → `paid_social`, Direct Traffic → direct, Social Media / Referrals / Other Campaigns / Offline Sources / AI Referrals → other |
//! | `Original Source Drill-Down 1` / `2` | `acquisition_creator_id` | when either is a plan asset (a `utm_campaign` / `utm_content`, link id or promo code): the creator, channel `creator` |
//!
//! Salesforce (Data Loader / Bulk API export of `Contact`, API field names; report exports
//! with labels `Contact ID`, `Created Date`, `Lead Source` are read too):
//!
//! | export | canonical | how |
//! |---|---|---|
//! | `Email`, else `Id` | `customer_id` | as above |
//! | `CreatedDate` | `acquired_at` | Salesforce has no standard "became a customer" field: the contact's creation |
//! | `LeadSource` | `acquisition_channel`, `acquisition_creator_id` | a plan asset → the creator; `Web` → direct, `Email` → email, `Advertisement` → `paid_social`, `Partner Referral` → affiliate, else other |
//!
//! Not carried: names, phones, owners and every other property (personal data or not
//! used: listed as ignored columns).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::headers::read_csv;
use super::time::parse_timestamp_us;
use super::{ImportOptions, ImportReport, Sink};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// A CRM export's columns.
struct Preset {
    source: &'static str,
    id: &'static [&'static str],
    email: &'static [&'static str],
    acquired: &'static [&'static str],
    created: &'static [&'static str],
    stage: &'static [&'static str],
    channel: &'static [&'static str],
    drill: &'static [&'static str],
    channel_of: fn(&str) -> &'static str,
}

fn hubspot_channel(v: &str) -> &'static str {
    match v.trim().to_lowercase().as_str() {
        "organic search" | "paid search" => "search",
        "email marketing" => "email",
        "paid social" => "paid_social",
        "direct traffic" => "direct",
        _ => "other",
    }
}

fn salesforce_channel(v: &str) -> &'static str {
    match v.trim().to_lowercase().as_str() {
        "web" => "direct",
        "email" => "email",
        "advertisement" => "paid_social",
        "partner referral" | "partner" => "affiliate",
        _ => "other",
    }
}

const HUBSPOT: Preset = Preset {
    source: "hubspot-contacts",
    id: &["Record ID"],
    email: &["Email"],
    acquired: &["Became a Customer Date"],
    created: &["Create Date"],
    stage: &["Lifecycle Stage"],
    channel: &["Original Source"],
    drill: &["Original Source Drill-Down 1", "Original Source Drill-Down 2"],
    channel_of: hubspot_channel,
};

const SALESFORCE: Preset = Preset {
    source: "salesforce-contacts",
    id: &["Id", "Contact ID"],
    email: &["Email"],
    acquired: &["CreatedDate", "Created Date"],
    created: &[],
    stage: &[],
    channel: &["LeadSource", "Lead Source"],
    drill: &["LeadSource", "Lead Source"],
    channel_of: salesforce_channel,
};

/// Imports HubSpot contacts exports.
pub fn import_hubspot(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    import(&HUBSPOT, paths, opts, sink)
}

/// Imports Salesforce contacts exports.
pub fn import_salesforce(
    paths: &[PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    import(&SALESFORCE, paths, opts, sink)
}

fn import(p: &Preset, paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: p.source.into(), ..ImportReport::default() };
    // customer → (acquired, channel, creator, file, row)
    let mut customers: BTreeMap<String, (i64, &'static str, Option<String>)> = BTreeMap::new();
    for path in paths {
        let pick =
            |h: &super::headers::Header, names: &[&'static str]| names.iter().copied().find(|n| h.get(n).is_some());
        let header_of = |names: &[&'static str]| names.first().copied().unwrap_or_default();
        let required: Vec<&str> = [p.id, p.acquired].iter().map(|n| header_of(n)).collect();
        let mut used: Vec<&str> = Vec::new();
        for list in [p.id, p.email, p.acquired, p.created, p.stage, p.channel, p.drill] {
            used.extend(list.iter().copied());
        }
        let read = read_csv(
            path,
            &[],
            &used,
            |h| {
                let found = [
                    pick(h, p.id),
                    pick(h, p.email),
                    pick(h, p.acquired),
                    pick(h, p.created),
                    pick(h, p.stage),
                    pick(h, p.channel),
                ];
                if found[0].is_none() && found[2].is_none() {
                    return Err((
                        required[0].to_owned(),
                        format!(
                            "not a {} (no `{}` or `{}` header)",
                            super::describe(p.source),
                            required[0],
                            required[1]
                        ),
                    ));
                }
                h.require(path, &[found[0].unwrap_or(required[0]), found[2].unwrap_or(required[1])]).map_err(|e| {
                    match e {
                        DataError::InvalidRow { column, reason, .. } => (column, reason),
                        other => (String::new(), other.to_string()),
                    }
                })?;
                Ok(found)
            },
            |&[c_id, c_email, c_acq, c_created, c_stage, c_channel], r| {
                let get = |c: Option<&str>| c.map_or("", |c| r.get(c));
                let id = get(c_id);
                if id.is_empty() {
                    report.reject(
                        Table::Customers,
                        path,
                        r.row,
                        c_id.unwrap_or("Record ID"),
                        "",
                        "required value is missing",
                    );
                    return Ok(());
                }
                let stage = get(c_stage).to_lowercase();
                let (when, col) = match (get(c_acq), get(c_created)) {
                    ("", created) if stage == "customer" && !created.is_empty() => {
                        report.note("customers without a Became a Customer Date (acquired at Create Date)");
                        (created, c_created.unwrap_or_default())
                    }
                    ("", _) => {
                        report.skip("contacts that are not customers (no Became a Customer Date)");
                        return Ok(());
                    }
                    (acq, _) => (acq, c_acq.unwrap_or_default()),
                };
                let acquired = match parse_timestamp_us(when, opts.timezone) {
                    Ok(t) => t,
                    Err(reason) => {
                        report.reject(Table::Customers, path, r.row, col, when, reason);
                        return Ok(());
                    }
                };
                let own = opts.own_id(&format!("{}-record", p.source), Some(id));
                let customer = own.unwrap_or_else(|| {
                    report.customer(
                        &opts.salt,
                        Some(get(c_email)),
                        &format!("{}-record", p.source),
                        id,
                        "CRM rows without email (id from the record id)",
                    )
                });
                let mut channel = (p.channel_of)(get(c_channel));
                let mut creator = None;
                if let Some(plan) = &opts.plan {
                    for d in p.drill {
                        let v = r.get(d);
                        if v.is_empty() {
                            continue;
                        }
                        let found = plan
                            .asset_of_link(v)
                            .map(|a| a.creator_id.clone())
                            .or_else(|| plan.creator_of_code(v).map(str::to_owned));
                        if let Some(c) = found {
                            creator = Some(c);
                            channel = "creator";
                            break;
                        }
                    }
                }
                let entry = customers.entry(customer).or_insert((acquired, channel, creator.clone()));
                if acquired < entry.0 {
                    *entry = (acquired, channel, creator);
                } else {
                    report.note("contacts sharing an email with an earlier one (merged)");
                }
                Ok(())
            },
        )?;
        report.files.push(read);
    }
    let mut cu = RowBuilder::for_table(Table::Customers);
    for (id, (at, channel, creator)) in &customers {
        cu.text(id).ts(*at).opt_text(creator.as_deref()).opt_text(Some(channel)).opt_ts(None).opt_ts(None).end_row();
    }
    report.written.insert("customers".into(), customers.len() as u64);
    if !customers.is_empty() {
        sink(Table::Customers, cu.finish())?;
    }
    Ok(report)
}
