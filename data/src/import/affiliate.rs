//! `impact`, `awin` and `affiliate-csv` (any other network, with a column-mapping file):
//! affiliate conversion reports → affiliate `touchpoints` (creator touches when the
//! partner is a creator of the plan), `orders` (for brands whose shop export is absent or
//! to link by order id), `per_conversion` `costs` with their status, and the `campaigns`
//! (network programs) those costs belong to.
//!
//! | field | impact (Actions API / CSV; UI labels in parentheses) | awin (Transactions API JSON; UI CSV labels) | canonical |
//! |---|---|---|---|
//! | action id | `Id` (`Action Id`) | `id` (`Transaction ID`) | `touch_id` = `{source}:{id}`, `cost_id` |
//! | partner id | `MediaPartnerId` (`Partner Id`) | `publisherId` (`Publisher ID`) | `creator_id` when a plan `affiliate_link` asset has it as value |
//! | program | `CampaignId`, `CampaignName` | `advertiserId` | `campaign_id` (`{source}:{id}`) unless the plan asset names its campaign |
//! | click date | `ReferringDate` (`Click Date`) | `clickDate` (`Click Date`) | `touchpoints.ts` (the action date when absent) |
//! | action date | `EventDate` (`Action Date`) | `transactionDate` (`Transaction Date`) | `orders.ordered_at`, `costs.incurred_at` |
//! | sale amount | `Amount` (`Sale Amount`) | `saleAmount.amount` (`Sale Amount`) | `orders.revenue` |
//! | payout | `Payout` | `commissionAmount.amount` (`Commission`) | `costs.amount` (`per_conversion`) |
//! | currency | `Currency` | `saleAmount.currency` (`Currency`) | ISO 4217, checked |
//! | status | `State`: `APPROVED` → paid, `PENDING` → committed, `REVERSED` → excluded | `commissionStatus`: `approved` → paid, `pending` → committed, `declined` / `deleted` → excluded | `costs.status` |
//! | promo code | `PromoCode` | `voucherCode` (`Voucher Code`) | `orders.discount_code`; a plan code makes the touch a creator's |
//! | order id | `Oid` (`Order Id`) | `orderRef` (`Order Reference`) | `orders.order_id` (`{source}:{id}` when absent) |
//! | customer | `CustomerId` | — | `orders.customer_id` (salted hash; else the order's) |
//!
//! Reversed and declined actions are skipped and counted: no order, no cost, no touch (the
//! network reversed the sale). Networks do not carry the shopper's site visitor id: the
//! touch and the order share a `user_id` of `{source}-customer:{customer}` so journeys
//! link within the report; merged with a shop export, orders link by order id. Times
//! without an offset need `--timezone` (Impact's CSV writes `2024-05-02T14:05:00-07:00`;
//! Awin's API writes UTC with `Z`).
//!
//! The mapping file of `affiliate-csv` (`--mapping FILE`) is a two-column CSV,
//! `field,column`, naming the report's column for each field above (`action_id`,
//! `partner_id`, `program_id`, `click_date`, `action_date`, `sale_amount`, `payout`,
//! `currency`, `status`, `promo_code`, `order_id`, `customer_id`), plus `status` rows
//! `status:VALUE,paid|committed|excluded` mapping the network's statuses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::headers::read_csv;
use super::time::parse_timestamp_us;
use super::{ImportOptions, ImportReport, Sink, identity, jsonl, money};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

/// The fields of a conversion, in the mapping file's names.
pub const FIELDS: &[&str] = &[
    "action_id",
    "partner_id",
    "program_id",
    "click_date",
    "action_date",
    "sale_amount",
    "payout",
    "currency",
    "status",
    "promo_code",
    "order_id",
    "customer_id",
];
const REQUIRED_FIELDS: &[&str] =
    &["action_id", "partner_id", "action_date", "sale_amount", "payout", "currency", "status"];

/// What a status becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Paid,
    Committed,
    Excluded,
}

/// A column mapping: field → the report's column names to try, and statuses.
#[derive(Debug, Clone)]
pub struct Mapping {
    columns: BTreeMap<&'static str, Vec<String>>,
    statuses: BTreeMap<String, Status>,
    program_name: Option<&'static str>,
}

impl Mapping {
    fn preset(
        pairs: &[(&'static str, &[&str])],
        statuses: &[(&str, Status)],
        program_name: Option<&'static str>,
    ) -> Mapping {
        Mapping {
            columns: pairs.iter().map(|(f, cols)| (*f, cols.iter().map(|c| (*c).to_owned()).collect())).collect(),
            statuses: statuses.iter().map(|(k, v)| (k.to_lowercase(), *v)).collect(),
            program_name,
        }
    }

    fn impact() -> Mapping {
        Mapping::preset(
            &[
                ("action_id", &["Id", "Action Id", "Action ID"]),
                ("partner_id", &["MediaPartnerId", "Partner Id", "Media Partner Id", "Partner ID"]),
                ("program_id", &["CampaignId", "Campaign Id", "Program Id"]),
                ("click_date", &["ReferringDate", "Click Date", "Referring Date"]),
                ("action_date", &["EventDate", "Action Date", "Event Date"]),
                ("sale_amount", &["Amount", "Sale Amount"]),
                ("payout", &["Payout"]),
                ("currency", &["Currency"]),
                ("status", &["State", "Status"]),
                ("promo_code", &["PromoCode", "Promo Code"]),
                ("order_id", &["Oid", "Order Id", "Order ID"]),
                ("customer_id", &["CustomerId", "Customer Id"]),
            ],
            &[("approved", Status::Paid), ("pending", Status::Committed), ("reversed", Status::Excluded)],
            Some("CampaignName"),
        )
    }

    fn awin_csv() -> Mapping {
        Mapping::preset(
            &[
                ("action_id", &["Transaction ID", "id"]),
                ("partner_id", &["Publisher ID", "publisherId"]),
                ("program_id", &["Advertiser ID", "advertiserId"]),
                ("click_date", &["Click Date", "clickDate"]),
                ("action_date", &["Transaction Date", "transactionDate"]),
                ("sale_amount", &["Sale Amount", "saleAmount"]),
                ("payout", &["Commission", "commissionAmount"]),
                ("currency", &["Currency"]),
                ("status", &["Commission Status", "commissionStatus"]),
                ("promo_code", &["Voucher Code", "voucherCode"]),
                ("order_id", &["Order Reference", "orderRef"]),
                ("customer_id", &[]),
            ],
            &[
                ("approved", Status::Paid),
                ("pending", Status::Committed),
                ("declined", Status::Excluded),
                ("deleted", Status::Excluded),
            ],
            None,
        )
    }

    /// Reads a mapping file (`field,column` rows; `status:VALUE,paid|committed|excluded`).
    pub fn read(path: &Path) -> Result<Mapping, DataError> {
        let mut m = Mapping { columns: BTreeMap::new(), statuses: BTreeMap::new(), program_name: None };
        let bad = |row: u64, column: &str, reason: String| DataError::InvalidRow {
            path: path.to_owned(),
            row,
            column: column.to_owned(),
            reason,
        };
        read_csv(
            path,
            &["field", "column"],
            &["field", "column"],
            |_| Ok(()),
            |(), r| {
                let (field, column) = (r.get("field"), r.get("column"));
                if let Some(value) = field.strip_prefix("status:") {
                    let to = match column.to_lowercase().as_str() {
                        "paid" => Status::Paid,
                        "committed" => Status::Committed,
                        "excluded" => Status::Excluded,
                        _ => {
                            return Err(bad(
                                r.row,
                                "column",
                                format!("a status maps to paid, committed or excluded, not `{column}`"),
                            ));
                        }
                    };
                    m.statuses.insert(value.trim().to_lowercase(), to);
                    return Ok(());
                }
                let Some(f) = FIELDS.iter().find(|f| **f == field) else {
                    let hint = super::headers::closest(field, FIELDS.iter().copied())
                        .map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"));
                    return Err(bad(
                        r.row,
                        "field",
                        format!("unknown field `{field}`{hint}: the fields are {}", FIELDS.join(", ")),
                    ));
                };
                m.columns.entry(f).or_default().push(column.to_owned());
                Ok(())
            },
        )?;
        for f in REQUIRED_FIELDS {
            if !m.columns.contains_key(f) {
                return Err(bad(0, "field", format!("the mapping names no column for `{f}`")));
            }
        }
        if m.statuses.is_empty() {
            return Err(bad(0, "field", "the mapping maps no status: add rows such as `status:approved,paid`".into()));
        }
        Ok(m)
    }
}

/// One conversion as a report gave it.
struct Conversion<'a> {
    fields: BTreeMap<&'static str, String>,
    program_name: Option<String>,
    at: &'a str,
    row: u64,
}

/// Everything written, gathered across files.
struct Out {
    source: &'static str,
    touches: RowBuilder,
    orders: RowBuilder,
    costs: RowBuilder,
    campaigns: BTreeMap<String, (String, i64, i64)>,
    customers: BTreeMap<String, i64>,
    seen: BTreeMap<String, (PathBuf, u64)>,
}

fn take(
    out: &mut Out,
    c: &Conversion<'_>,
    path: &Path,
    opts: &ImportOptions,
    map: &Mapping,
    report: &mut ImportReport,
) {
    let get = |f: &str| c.fields.get(f).map_or("", |v| v.trim());
    let col = |f: &str| {
        let name = map.columns.get(f).and_then(|v| v.first()).map_or(f, String::as_str);
        if c.at.is_empty() { name.to_owned() } else { jsonl::path_of(c.at, name) }
    };
    let id = get("action_id");
    if id.is_empty() {
        report.reject(Table::Costs, path, c.row, &col("action_id"), "", "required value is missing");
        return;
    }
    if let Some((p, r)) = out.seen.get(id) {
        report.reject(
            Table::Costs,
            path,
            c.row,
            &col("action_id"),
            id,
            format!("action {id} is already at row {r} of {}", p.display()),
        );
        return;
    }
    out.seen.insert(id.to_owned(), (path.to_owned(), c.row));
    let status_text = get("status");
    let Some(&status) = map.statuses.get(&status_text.to_lowercase()) else {
        let known: Vec<&str> = map.statuses.keys().map(String::as_str).collect();
        report.reject(
            Table::Costs,
            path,
            c.row,
            &col("status"),
            status_text,
            format!("unknown status: expected one of {}", known.join(", ")),
        );
        return;
    };
    if status == Status::Excluded {
        report.skip(&format!("{} actions (excluded: no order, no cost, no touch)", status_text.to_lowercase()));
        return;
    }
    let time = |f: &str, report: &mut ImportReport| -> Option<Option<i64>> {
        let v = get(f);
        if v.is_empty() {
            return Some(None);
        }
        match parse_timestamp_us(v, opts.timezone) {
            Ok(t) => Some(Some(t)),
            Err(reason) => {
                report.reject(Table::Touchpoints, path, c.row, &col(f), v, reason);
                None
            }
        }
    };
    let Some(action_at) = time("action_date", report) else { return };
    let Some(action_at) = action_at else {
        report.reject(Table::Orders, path, c.row, &col("action_date"), "", "required value is missing");
        return;
    };
    let Some(click_at) = time("click_date", report) else { return };
    let mut amounts = [0.0; 2];
    for (k, f) in ["sale_amount", "payout"].iter().enumerate() {
        let Some(v) = money::parse_amount(get(f), false).filter(|v| *v >= 0.0) else {
            report.reject(Table::Orders, path, c.row, &col(f), get(f), "expected an amount ≥ 0");
            return;
        };
        amounts[k] = v;
    }
    let currency = match money::currency(get("currency")) {
        Ok(v) => v,
        Err(reason) => {
            report.reject(Table::Orders, path, c.row, &col("currency"), get("currency"), reason);
            return;
        }
    };
    let partner = get("partner_id");
    let code = Some(get("promo_code")).filter(|v| !v.is_empty());
    let plan = opts.plan.as_ref();
    let asset = plan.and_then(|p| p.asset_of_link(partner));
    let creator = asset
        .map(|a| a.creator_id.clone())
        .or_else(|| plan.and_then(|p| code.and_then(|k| p.creator_of_code(k))).map(str::to_owned));
    if creator.is_none() && plan.is_some() {
        report.note("actions of partners who are no creator of the plan (affiliate touches)");
    }
    let program = Some(get("program_id")).filter(|v| !v.is_empty());
    let campaign = asset
        .and_then(|a| a.campaign_id.clone())
        .unwrap_or_else(|| format!("{}:{}", out.source, program.unwrap_or("program")));
    let entry = out.campaigns.entry(campaign.clone()).or_insert_with(|| {
        (
            c.program_name.clone().unwrap_or_else(|| format!("{} program {}", out.source, program.unwrap_or("(none)"))),
            action_at,
            action_at,
        )
    });
    entry.1 = entry.1.min(click_at.unwrap_or(action_at));
    entry.2 = entry.2.max(action_at);
    let customer = match Some(get("customer_id")).filter(|v| !v.is_empty()) {
        Some(cu) => identity::customer_id(&opts.salt, &format!("{}-customer", out.source), cu),
        None => identity::customer_id(&opts.salt, &format!("{}-action", out.source), id),
    };
    let order_id =
        Some(get("order_id")).filter(|v| !v.is_empty()).map_or_else(|| format!("{}:{id}", out.source), str::to_owned);
    let user = format!("{}-customer:{customer}", out.source);
    let touch_id = format!("{}:{id}", out.source);
    out.touches
        .text(&touch_id)
        .text(&user)
        .ts(click_at.unwrap_or(action_at))
        .text(if creator.is_some() { "creator" } else { "affiliate" })
        .opt_text(creator.as_deref())
        .opt_text(creator.as_ref().map(|_| campaign.as_str()))
        .opt_text(
            creator
                .as_deref()
                .and_then(|c| plan.and_then(|p| p.creator(c)))
                .map(|c| c.platform.as_str())
                .filter(|p| *p != "other"),
        )
        .text("click")
        .opt_text(Some("affiliate_link"))
        .end_row();
    out.orders
        .text(&order_id)
        .text(&customer)
        .opt_text(Some(&user))
        .ts(action_at)
        .float(amounts[0])
        .text(&currency)
        .opt_text(code)
        .opt_float(None)
        .opt_bool(None)
        .end_row();
    let first = out.customers.entry(customer).or_insert(action_at);
    *first = (*first).min(action_at);
    out.costs
        .text(&touch_id)
        .text(&campaign)
        .opt_text(creator.as_deref())
        .text("per_conversion")
        .opt_float(Some(amounts[1]))
        .opt_float(None)
        .opt_text(None)
        .text(&currency)
        .opt_ts(Some(action_at))
        .opt_text(Some(if status == Status::Paid { "paid" } else { "committed" }))
        .end_row();
    if status == Status::Committed {
        report.note("pending actions (costs committed, not yet paid)");
    }
}

fn finish(mut out: Out, report: &mut ImportReport, sink: &mut Sink<'_>) -> Result<(), DataError> {
    let n = out.orders.len() as u64;
    for (t, b) in
        [(Table::Touchpoints, &mut out.touches), (Table::Orders, &mut out.orders), (Table::Costs, &mut out.costs)]
    {
        report.written.insert(t.name().to_owned(), n);
        if n > 0 {
            sink(t, b.finish())?;
        }
    }
    let mut cu = RowBuilder::for_table(Table::Customers);
    for (id, at) in &out.customers {
        cu.text(id).ts(*at).opt_text(None).opt_text(Some("affiliate")).opt_ts(None).opt_ts(None).end_row();
    }
    report.written.insert("customers".into(), out.customers.len() as u64);
    if !out.customers.is_empty() {
        sink(Table::Customers, cu.finish())?;
    }
    let mut ca = RowBuilder::for_table(Table::Campaigns);
    for (id, (name, start, end)) in &out.campaigns {
        ca.text(id)
            .text(name)
            .opt_text(None)
            .ts(*start)
            .ts(*end)
            .opt_text(Some("conversion"))
            .opt_float(None)
            .opt_text(None)
            .end_row();
    }
    report.written.insert("campaigns".into(), out.campaigns.len() as u64);
    if !out.campaigns.is_empty() {
        sink(Table::Campaigns, ca.finish())?;
    }
    Ok(())
}

fn new_out(source: &'static str) -> Out {
    Out {
        source,
        touches: RowBuilder::for_table(Table::Touchpoints),
        orders: RowBuilder::for_table(Table::Orders),
        costs: RowBuilder::for_table(Table::Costs),
        campaigns: BTreeMap::new(),
        customers: BTreeMap::new(),
        seen: BTreeMap::new(),
    }
}

/// Reads CSV reports through `map` into `out`.
fn read_reports(
    out: &mut Out,
    report: &mut ImportReport,
    name: &str,
    map: &Mapping,
    paths: &[PathBuf],
    opts: &ImportOptions,
) -> Result<(), DataError> {
    for path in paths {
        let mut used: Vec<&str> = map.columns.values().flatten().map(String::as_str).collect();
        used.extend(map.program_name);
        let read = read_csv(
            path,
            &[],
            &used,
            |h| {
                let mut chosen: BTreeMap<&'static str, String> = BTreeMap::new();
                for (f, cols) in &map.columns {
                    if let Some(c) = cols.iter().find(|c| h.get(c).is_some()) {
                        chosen.insert(f, c.clone());
                    }
                }
                if !chosen.contains_key("action_id") && !chosen.contains_key("payout") {
                    return Err(("action_id".into(), format!("not a {name} (no action id or payout column)")));
                }
                for f in REQUIRED_FIELDS {
                    if !chosen.contains_key(f) {
                        let want = &map.columns[f];
                        let hint =
                            want.iter().find_map(|w| super::headers::closest(w, h.names().iter().map(String::as_str)));
                        let column = want.first().map_or(*f, String::as_str).to_owned();
                        return Err((
                            column.clone(),
                            format!(
                                "the header `{column}` is missing{}",
                                hint.map_or_else(String::new, |c| format!(" (did you mean `{c}`? it is in the file)"))
                            ),
                        ));
                    }
                }
                Ok(chosen)
            },
            |chosen, r| {
                let fields = chosen.iter().map(|(f, c)| (*f, r.get(c).to_owned())).collect();
                let program_name = map.program_name.and_then(|p| r.opt(p)).map(str::to_owned);
                take(out, &Conversion { fields, program_name, at: "", row: r.row }, path, opts, map, report);
                Ok(())
            },
        )?;
        report.files.push(read);
    }
    Ok(())
}

fn import_csv(
    source: &'static str,
    name: &str,
    map: &Mapping,
    paths: &[PathBuf],
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportReport, DataError> {
    let mut report = ImportReport { source: source.into(), ..ImportReport::default() };
    let mut out = new_out(source);
    read_reports(&mut out, &mut report, name, map, paths, opts)?;
    finish(out, &mut report, sink)?;
    Ok(report)
}

/// Imports Impact action reports (CSV with API field names or UI labels).
pub fn import_impact(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    import_csv("impact", "Impact actions report", &Mapping::impact(), paths, opts, sink)
}

/// Imports a network's CSV through the mapping file in `opts.mapping`.
pub fn import_mapped(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let Some(map) = &opts.mapping else {
        return Err(DataError::InvalidRow {
            path: paths.first().cloned().unwrap_or_default(),
            row: 0,
            column: String::new(),
            reason: "affiliate-csv needs --mapping FILE: the report's column for each field (docs/importers.md)".into(),
        });
    };
    let map = Mapping::read(map)?;
    let map = &map;
    import_csv("affiliate", "report with the mapped columns", map, paths, opts, sink)
}

/// Imports Awin transactions: the API's JSON (an array, or NDJSON) or the UI's CSV.
pub fn import_awin(paths: &[PathBuf], opts: &ImportOptions, sink: &mut Sink<'_>) -> Result<ImportReport, DataError> {
    let map = Mapping::awin_csv();
    let (json, csv): (Vec<PathBuf>, Vec<PathBuf>) = paths
        .iter()
        .cloned()
        .partition(|p| p.extension().is_some_and(|e| e == "json" || e == "ndjson" || e == "jsonl"));
    let mut report = ImportReport { source: "awin".into(), ..ImportReport::default() };
    let mut out = new_out("awin");
    // CSV files first, then JSON; one report, one set of tables.
    read_reports(&mut out, &mut report, "Awin transactions export", &map, &csv, opts)?;
    for path in &json {
        let mut rows = 0u64;
        jsonl::for_each(path, &["transactions", "data", "items"], |l| {
            rows += 1;
            let v = &l.value;
            if jsonl::get(v, "commissionStatus").is_none() && jsonl::get(v, "id").is_none() {
                return Err(DataError::InvalidRow {
                    path: path.clone(),
                    row: l.row,
                    column: "commissionStatus".into(),
                    reason: "not an Awin transaction (no `id` or `commissionStatus`)".into(),
                });
            }
            let t = |p: &str| jsonl::text(v, p).unwrap_or_default();
            let mut fields = BTreeMap::new();
            for (f, p) in [
                ("action_id", "id"),
                ("partner_id", "publisherId"),
                ("program_id", "advertiserId"),
                ("click_date", "clickDate"),
                ("action_date", "transactionDate"),
                ("sale_amount", "saleAmount.amount"),
                ("payout", "commissionAmount.amount"),
                ("currency", "saleAmount.currency"),
                ("status", "commissionStatus"),
                ("promo_code", "voucherCode"),
                ("order_id", "orderRef"),
            ] {
                fields.insert(f, t(p));
            }
            let mut json_map = map.clone();
            for (f, p) in [
                ("action_id", "id"),
                ("sale_amount", "saleAmount.amount"),
                ("payout", "commissionAmount.amount"),
                ("currency", "saleAmount.currency"),
                ("status", "commissionStatus"),
                ("action_date", "transactionDate"),
                ("click_date", "clickDate"),
            ] {
                json_map.columns.insert(f, vec![p.to_owned()]);
            }
            take(
                &mut out,
                &Conversion { fields, program_name: None, at: &l.at, row: l.row },
                path,
                opts,
                &json_map,
                &mut report,
            );
            Ok(())
        })?;
        report.files.push(super::FileRead { path: path.clone(), rows, ignored_columns: Vec::new() });
    }
    finish(out, &mut report, sink)?;
    Ok(report)
}
