//! The ROI job: full cost accounting and ROI per creator, campaign and platform under
//! every attribution model, beside code/link-tracked revenue, CLV-adjusted and EMV-based
//! ROI. The math is in `roicast_models::roi`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow_schema::{DataType, Field, Schema};
use roicast_data::Table;
use roicast_data::builder::RowBuilder;
use roicast_data::io::TableWriter;
use roicast_models::FxMap;
use roicast_models::roi::{self, CostLine, Tracked};
use serde_json::json;

use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::output::columns::{float, text, ts};
use crate::output::{FileRecord, ManifestBuilder, Staging};

/// Cost, deal terms and tracked revenue per campaign × creator (what `history` reads).
pub const CREATOR_CAMPAIGN_FILE: &str = "creator_campaign.csv";

/// A session-tracked order must follow the creator's session within this window.
const LINK_WINDOW_US: i64 = 7 * 86_400_000_000;

/// Reads `currency,rate` (units of the base currency per unit).
fn read_fx(path: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    let csv_error = |source| roicast_data::DataError::Csv { path: path.to_owned(), source };
    let mut r = csv::Reader::from_path(path).map_err(csv_error)?;
    let mut out = BTreeMap::new();
    for (k, rec) in r.records().enumerate() {
        let rec = rec.map_err(csv_error)?;
        let cur = rec.get(0).unwrap_or("").trim().to_owned();
        let rate: f64 = rec
            .get(1)
            .unwrap_or("")
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .ok_or_else(|| super::bad_value(path, k as u64 + 1, "rate", "not a number > 0"))?;
        out.insert(cur, rate);
    }
    Ok(out)
}

/// Attributed totals of one creator under one model.
#[derive(Debug, Clone, Copy, Default)]
struct Attributed {
    conversions: f64,
    revenue: f64,
}

fn read_attribution(results: &Path) -> anyhow::Result<BTreeMap<String, BTreeMap<String, Attributed>>> {
    let path = results.join("attribution").join("attribution_summary.csv");
    let mut r = csv::Reader::from_path(&path).with_context(|| {
        format!(
            "failed to open {}: run `roicast attribute --data DIR --out {}/attribution --group-by creator` first",
            path.display(),
            results.display()
        )
    })?;
    let mut out: BTreeMap<String, BTreeMap<String, Attributed>> = BTreeMap::new();
    for (k, rec) in r.deserialize::<HashMap<String, String>>().enumerate() {
        let rec = rec.with_context(|| format!("{}: row {}", path.display(), k + 1))?;
        let get = |c: &str| rec.get(c).with_context(|| format!("{}: no column `{c}`", path.display()));
        if get("group_by")? != "creator" {
            bail!(
                "{}: row {}: attribution is grouped by `{}`; ROI needs --group-by creator",
                path.display(),
                k + 1,
                get("group_by")?
            );
        }
        let num = |c: &str| -> anyhow::Result<f64> {
            get(c)?.parse().with_context(|| format!("{}: row {}, column {c}: not a number", path.display(), k + 1))
        };
        out.entry(get("model")?.clone())
            .or_default()
            .insert(get("group")?.clone(), Attributed { conversions: num("conversions")?, revenue: num("revenue")? });
    }
    Ok(out)
}

/// `key → value` from an optional CSV output of another job (rows filtered on
/// `level = creator` when the file has a level column); empty when the file is absent.
fn read_keyed(path: &Path, key: &str, value: &str) -> anyhow::Result<HashMap<String, f64>> {
    if !path.exists() {
        return Ok(HashMap::new());
    }
    let mut r = csv::Reader::from_path(path).with_context(|| format!("failed to open {}", path.display()))?;
    let mut out = HashMap::new();
    for rec in r.deserialize::<HashMap<String, String>>() {
        let rec = rec.with_context(|| format!("reading {}", path.display()))?;
        if rec.get("level").is_some_and(|l| l != "creator") {
            continue;
        }
        if let (Some(k), Some(v)) = (rec.get(key), rec.get(value).and_then(|v| v.parse::<f64>().ok())) {
            out.insert(k.clone(), v);
        }
    }
    Ok(out)
}

/// One creator's summary row: id, platform, cost, (revenue, ROI) per model, code- and
/// link-tracked revenue.
type SummaryRow = (String, String, f64, BTreeMap<String, (f64, Option<f64>)>, f64, f64);

/// The ROI job (`roicast roi`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Dataset folder (needs costs, orders and creators; uses tracking_assets and sessions).
    pub data: PathBuf,
    /// Results folder holding attribution/attribution_summary.csv (grouped by creator) and,
    /// when present, clv/cohort_clv.csv and engagement/emv.csv.
    pub results: PathBuf,
    /// Output folder: roi.parquet and roi_summary.csv.
    pub out: PathBuf,
    /// Gross margin rate for profit ROI (default: from orders.gross_margin).
    #[serde(default)]
    pub margin_rate: Option<f64>,
    /// Exchange rates (CSV currency,rate), needed when amounts are in several currencies.
    #[serde(default)]
    pub fx: Option<PathBuf>,
    /// The currency everything is converted to with `fx`.
    #[serde(default)]
    pub base_currency: Option<String>,
    /// Count only costs with status paid.
    #[serde(default)]
    pub paid_only: bool,
}

/// Revenue and ROI of one creator under one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRoi {
    /// Attributed revenue.
    pub revenue: f64,
    /// ROI (none without cost).
    pub roi: Option<f64>,
}

/// One creator's cost, tracked revenue and ROI under every model.
#[derive(Debug, Clone, Serialize)]
pub struct CreatorRoi {
    /// The creator.
    pub creator_id: String,
    /// The creator's platform.
    pub platform: String,
    /// The creator's handle, when the creators table has it.
    pub handle: Option<String>,
    /// Full cost.
    pub cost: f64,
    /// Revenue of orders with the creator's promo code.
    pub code_tracked_revenue: f64,
    /// Revenue of orders after a session on the creator's link.
    pub link_tracked_revenue: f64,
    /// Per attribution model.
    pub roi: BTreeMap<String, ModelRoi>,
}

/// What the ROI job wrote and found.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The currency of every amount.
    pub currency: String,
    /// The model the creators are ranked by.
    pub ranked_by: String,
    /// Creators ranked by ROI under `ranked_by`.
    pub creators: Vec<CreatorRoi>,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Every cost counted.
    pub total_cost: f64,
}

/// Computes ROI; writes `roi.parquet`, `roi_summary.csv` and `roi.manifest.json`.
pub fn run(ctx: &Ctx, a: &Config) -> anyhow::Result<Summary> {
    let manifest = ManifestBuilder::start("roi");
    if let Some(m) = a.margin_rate
        && !(m.is_finite() && (0.0..=1.0).contains(&m))
    {
        bail!("invalid `--margin-rate` = {m}: expected a rate in [0, 1]");
    }
    let dataset = ctx.open_dataset(&a.data)?;
    for t in [Table::Costs, Table::Orders, Table::Creators] {
        if !dataset.has(t) {
            bail!("{}: the dataset has no {} table, which the ROI job needs", a.data.display(), t.name());
        }
    }
    let fx = a.fx.as_deref().map(read_fx).transpose()?;

    // Orders are streamed twice (a brand's orders can be tens of millions of rows): first
    // for their currencies, then — once the base currency and the creator sessions are
    // known — for revenue, margin, codes and users.
    let mut order_currencies: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    dataset.stream::<anyhow::Error>(Table::Orders, |b| {
        let t = Table::Orders;
        for i in 0..b.num_rows() {
            let cur = text(b, t, "currency", i).unwrap_or_default();
            if !order_currencies.contains(&cur) {
                order_currencies.insert(cur);
            }
        }
        Ok(())
    })?;
    let mut currencies: Vec<String> = order_currencies.into_iter().collect();
    let mut lines = Vec::new();
    let mut line_currency = Vec::new();
    for b in dataset.load(Table::Costs)? {
        let t = Table::Costs;
        for i in 0..b.num_rows() {
            let tiers = text(&b, t, "tiers", i)
                .map(|j| roicast_data::tiers::parse_tiers(&j))
                .transpose()
                .map_err(|e| anyhow::anyhow!("costs row {}: column tiers: {e}", i + 1))?;
            let cur = text(&b, t, "currency", i).unwrap_or_default();
            currencies.push(cur.clone());
            line_currency.push(cur);
            lines.push(CostLine {
                campaign_id: text(&b, t, "campaign_id", i).unwrap_or_default(),
                creator_id: text(&b, t, "creator_id", i),
                cost_type: text(&b, t, "cost_type", i).unwrap_or_default(),
                amount: float(&b, t, "amount", i),
                rate: float(&b, t, "rate", i),
                tiers,
                paid: text(&b, t, "status", i).map(|s| s == "paid"),
            });
        }
    }
    let base = roi::base_currency(&currencies, fx.as_ref(), a.base_currency.as_deref()).map_err(anyhow::Error::msg)?;
    let to_base = |cur: &str| -> f64 {
        if cur == base { 1.0 } else { fx.as_ref().and_then(|r| r.get(cur)).copied().unwrap_or(1.0) }
    };
    for (l, cur) in lines.iter_mut().zip(&line_currency) {
        let k = to_base(cur);
        l.amount = l.amount.map(|x| x * k);
    }
    if a.paid_only {
        lines.retain(|l| l.paid == Some(true));
    }

    // Tracking assets → creator (codes; links via sessions).
    let assets = super::tracking::Assets::load(&dataset)?;
    let code_creator = &assets.codes;
    // user → [(session time, index into link_keys)]
    let mut user_sessions: FxMap<String, Vec<(i64, usize)>> = FxMap::default();
    let mut link_keys: Vec<(String, Option<String>)> = Vec::new();
    {
        let mut key_index: HashMap<(String, Option<String>), usize> = HashMap::new();
        assets.for_each_session(&dataset, |_, _, user, at, owner| {
            let k = *key_index.entry(owner.clone()).or_insert_with(|| {
                link_keys.push(owner.clone());
                link_keys.len() - 1
            });
            user_sessions.entry(user.to_owned()).or_default().push((at, k));
        })?;
        for v in user_sessions.values_mut() {
            v.sort_unstable();
        }
    }
    // Tracked revenue per (creator, campaign of the asset).
    let mut code_tracked: BTreeMap<(String, Option<String>), Tracked> = BTreeMap::new();
    let mut link_tracked: BTreeMap<(String, Option<String>), Tracked> = BTreeMap::new();
    let (mut revenue_total, mut margin_total, mut margin_revenue) = (0.0, 0.0, 0.0);
    // The week of each order, for the week breakdown of the attribution's credits.
    let credits_path = a.results.join("attribution").join("credits.parquet");
    let mut order_weeks = credits_path.exists().then(super::breakdown::OrderWeeks::default);
    dataset.stream::<anyhow::Error>(Table::Orders, |b| {
        let t = Table::Orders;
        for i in 0..b.num_rows() {
            let at = ts(b, t, "ordered_at", i).unwrap_or(0);
            if let (Some(w), Some(id)) = (order_weeks.as_mut(), text(b, t, "order_id", i)) {
                w.insert(id, at);
            }
            let k = to_base(&text(b, t, "currency", i).unwrap_or_default());
            let revenue = float(b, t, "revenue", i).unwrap_or(0.0) * k;
            revenue_total += revenue;
            if let Some(m) = float(b, t, "gross_margin", i) {
                margin_total += m * k;
                margin_revenue += revenue;
            }
            let code = text(b, t, "discount_code", i).map(|c| c.to_lowercase());
            if let Some(v) = code.as_ref().and_then(|c| code_creator.get(c)) {
                let e = code_tracked.entry(v.clone()).or_default();
                e.revenue += revenue;
                e.orders += 1.0;
            } else if let Some(s) = text(b, t, "user_id", i).and_then(|u| user_sessions.get(&u)) {
                // The latest creator session within the window before the order.
                let j = s.partition_point(|x| x.0 <= at);
                if j > 0 && s[j - 1].0 >= at - LINK_WINDOW_US {
                    let e = link_tracked.entry(link_keys[s[j - 1].1].clone()).or_default();
                    e.revenue += revenue;
                    e.orders += 1.0;
                }
            }
        }
        Ok(())
    })?;
    let margin = a.margin_rate.or_else(|| (margin_revenue > 0.0).then(|| margin_total / margin_revenue));
    let tracked_for = |creator: &str, campaign: &str| -> (Tracked, Tracked) {
        let get = |m: &BTreeMap<(String, Option<String>), Tracked>| {
            let own = m.get(&(creator.to_owned(), Some(campaign.to_owned()))).copied();
            own.or_else(|| m.get(&(creator.to_owned(), None)).copied()).unwrap_or_default()
        };
        (get(&code_tracked), get(&link_tracked))
    };

    // Costs per creator: own lines per campaign, campaign-level lines split equally
    // across the campaign's creators (the creators with their own cost lines).
    let mut campaign_creators: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &lines {
        if let Some(c) = &l.creator_id {
            campaign_creators.entry(l.campaign_id.as_str()).or_default().insert(c.as_str());
        }
    }
    let mut creator_cost: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    let mut campaign_cost: BTreeMap<String, f64> = BTreeMap::new();
    let mut unallocated: BTreeMap<String, f64> = BTreeMap::new();
    let mut creator_campaigns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Per campaign × creator: cost, deal terms, tracked revenue (creator_campaign.csv, the
    // measured history's cost side).
    let mut pair_rows: Vec<[String; 7]> = Vec::new();
    let posts = super::breakdown::Posts::load(&dataset)?;
    let (mut format_cost, mut week_cost) = (BTreeMap::new(), BTreeMap::new());
    for (campaign, creators) in &campaign_creators {
        let shared: Vec<&CostLine> =
            lines.iter().filter(|l| l.campaign_id == *campaign && l.creator_id.is_none()).collect();
        let share = 1.0 / creators.len() as f64;
        for creator in creators {
            let own: Vec<&CostLine> = lines
                .iter()
                .filter(|l| l.campaign_id == *campaign && l.creator_id.as_deref() == Some(*creator))
                .collect();
            let (code, link) = tracked_for(creator, campaign);
            let tracked = Tracked { revenue: code.revenue + link.revenue, orders: code.orders + link.orders };
            let shared: Vec<(&CostLine, f64)> = shared.iter().map(|l| (*l, share)).collect();
            let costs = roi::creator_costs(&own, &shared, tracked);
            let total: f64 = costs.values().sum();
            let flat: f64 = own.iter().filter(|l| l.cost_type == "flat_fee").filter_map(|l| l.amount).sum();
            let rate = own.iter().find(|l| l.cost_type == "commission").and_then(|l| l.rate).or_else(|| {
                own.iter()
                    .find(|l| l.cost_type == "tiered_commission")
                    .and_then(|l| l.tiers.as_ref())
                    .and_then(|t| t.first())
                    .map(|t| t.rate)
            });
            pair_rows.push([
                (*campaign).to_owned(),
                (*creator).to_owned(),
                format!("{total}"),
                format!("{flat}"),
                rate.map_or_else(String::new, |r| format!("{r}")),
                format!("{}", code.revenue),
                format!("{}", link.revenue),
            ]);
            posts.add_cost(creator, campaign, total, &mut format_cost, &mut week_cost);
            *campaign_cost.entry((*campaign).to_owned()).or_default() += total;
            let e = creator_cost.entry((*creator).to_owned()).or_default();
            for (k, v) in costs {
                *e.entry(k).or_default() += v;
            }
            creator_campaigns.entry((*creator).to_owned()).or_default().insert((*campaign).to_owned());
        }
    }
    for l in lines.iter().filter(|l| l.creator_id.is_none() && !campaign_creators.contains_key(l.campaign_id.as_str()))
    {
        *unallocated.entry(l.campaign_id.clone()).or_default() += roi::line_cost(l, Tracked::default()).0;
    }

    // Platforms and handles of creators.
    let mut platform: BTreeMap<String, String> = BTreeMap::new();
    let mut handle: BTreeMap<String, String> = BTreeMap::new();
    for b in dataset.load(Table::Creators)? {
        let t = Table::Creators;
        for i in 0..b.num_rows() {
            let id = text(&b, t, "creator_id", i).unwrap_or_default();
            if let Some(h) = text(&b, t, "handle", i) {
                handle.entry(id.clone()).or_insert(h);
            }
            platform.entry(id).or_insert_with(|| text(&b, t, "platform", i).unwrap_or_default());
        }
    }
    let attributed = read_attribution(&a.results)?;
    let clv = read_keyed(&a.results.join("clv").join("cohort_clv.csv"), "cohort", "mean_clv")?;
    let emv = read_keyed(&a.results.join("engagement").join("emv.csv"), "key", "emv")?;

    // Long output rows.
    let schema = Arc::new(Schema::new(vec![
        Field::new("level", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("model", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
    ]));
    let mut rb = RowBuilder::new(schema.clone());
    let mut push = |level: &str, key: &str, model: &str, metric: &str, value: Option<f64>| {
        rb.text(level).text(key).text(model).text(metric).opt_float(value.filter(|v| v.is_finite())).end_row();
    };
    let models: Vec<&String> = attributed.keys().collect();
    let mut summary: Vec<SummaryRow> = Vec::new();
    let mut platform_totals: BTreeMap<(String, String), (f64, f64, f64)> = BTreeMap::new();
    for (creator, costs) in &creator_cost {
        let cost: f64 = costs.values().sum();
        for (k, v) in costs {
            push("creator", creator, "-", &format!("cost_{k}"), Some(*v));
        }
        push("creator", creator, "-", "cost", Some(cost));
        let (mut code_rev, mut link_rev) = (0.0, 0.0);
        for campaign in creator_campaigns.get(creator).into_iter().flatten() {
            let (c, l) = tracked_for(creator, campaign);
            code_rev += c.revenue;
            link_rev += l.revenue;
        }
        push("creator", creator, "-", "code_tracked_revenue", Some(code_rev));
        push("creator", creator, "-", "link_tracked_revenue", Some(link_rev));
        let e = emv.get(creator).copied();
        push("creator", creator, "-", "emv", e);
        push("creator", creator, "-", "emv_roi", e.and_then(|e| roi::roi_pct(e, cost)));
        let p = platform.get(creator).cloned().unwrap_or_default();
        let mut per_model = BTreeMap::new();
        for m in &models {
            let at = attributed[*m].get(creator).copied().unwrap_or_default();
            let x = roi::metrics(at.revenue, at.conversions, cost, margin, clv.get(creator).copied());
            push("creator", creator, m, "attributed_revenue", Some(at.revenue));
            push("creator", creator, m, "conversions", Some(at.conversions));
            push("creator", creator, m, "roi", x.roi);
            push("creator", creator, m, "roas", x.roas);
            push("creator", creator, m, "cpa", x.cpa);
            push("creator", creator, m, "profit_roi", x.profit_roi);
            push("creator", creator, m, "clv_roi", x.clv_roi);
            per_model.insert((*m).clone(), (at.revenue, x.roi));
            let t = platform_totals.entry((p.clone(), (*m).clone())).or_default();
            t.0 += at.revenue;
            t.1 += at.conversions;
            t.2 += cost;
        }
        summary.push((creator.clone(), p, cost, per_model, code_rev, link_rev));
    }
    for ((p, m), (rev, conv, cost)) in &platform_totals {
        let x = roi::metrics(*rev, *conv, *cost, margin, None);
        push("platform", p, m, "attributed_revenue", Some(*rev));
        push("platform", p, m, "cost", Some(*cost));
        push("platform", p, m, "roi", x.roi);
        push("platform", p, m, "roas", x.roas);
    }
    // Format and week: allocations documented in jobs::breakdown and docs/roi.md.
    let (format_credit, week_credit) = match &order_weeks {
        Some(w) => super::breakdown::credits(&credits_path, w, &posts)?,
        None => Default::default(),
    };
    let (format_exposure, week_exposure) = posts.exposure();
    for (level, cost, credited, exposure) in
        [("format", &format_cost, &format_credit, &format_exposure), ("week", &week_cost, &week_credit, &week_exposure)]
    {
        let keys: BTreeSet<&String> =
            cost.keys().chain(credited.keys().map(|(k, _)| k)).chain(exposure.keys()).collect();
        for key in keys {
            let c = cost.get(key).copied().unwrap_or(0.0);
            let e = exposure.get(key).copied().unwrap_or_default();
            push(level, key, "-", "cost", Some(c));
            push(level, key, "-", "posts", Some(e.posts));
            push(level, key, "-", "impressions", Some(e.impressions));
            push(level, key, "-", "engagements", Some(e.engagements));
            push(level, key, "-", "cpm", (e.impressions > 0.0).then(|| c / e.impressions * 1000.0));
            push(level, key, "-", "cpe", (e.engagements > 0.0).then(|| c / e.engagements));
            for m in &models {
                let at = credited.get(&(key.clone(), (*m).clone())).copied().unwrap_or_default();
                let x = roi::metrics(at.revenue, at.conversions, c, margin, None);
                push(level, key, m, "attributed_revenue", Some(at.revenue));
                push(level, key, m, "conversions", Some(at.conversions));
                push(level, key, m, "roi", x.roi);
                push(level, key, m, "roas", x.roas);
                push(level, key, m, "cpa", x.cpa);
            }
        }
    }
    for (c, cost) in &campaign_cost {
        push("campaign", c, "-", "cost", Some(*cost));
    }
    for (c, cost) in &unallocated {
        push("campaign", c, "-", "unallocated_cost", Some(*cost));
    }
    let total_cost: f64 = campaign_cost.values().sum::<f64>() + unallocated.values().sum::<f64>();
    push("total", "all", "-", "cost", Some(total_cost));
    push("total", "all", "-", "revenue_all_orders", Some(revenue_total));
    push("total", "all", "-", "margin_rate", margin);

    let mut staging = Staging::new(&a.out, "roi")?;
    let long_path = staging.path("roi.parquet");
    let mut w = TableWriter::create(&long_path, &schema)?;
    w.write(&rb.finish())?;
    w.finish()?;
    let rank_model =
        ["data_driven", "last_touch"].into_iter().find(|m| attributed.contains_key(*m)).unwrap_or("linear").to_owned();
    summary.sort_by(|x, y| {
        let r = |s: &SummaryRow| s.3.get(&rank_model).and_then(|v| v.1).unwrap_or(f64::NEG_INFINITY);
        r(y).total_cmp(&r(x))
    });
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "creator_id".to_owned(),
        "platform".to_owned(),
        "cost".to_owned(),
        "code_tracked_revenue".to_owned(),
        "link_tracked_revenue".to_owned(),
    ];
    for m in &models {
        header.push(format!("revenue_{m}"));
        header.push(format!("roi_{m}"));
    }
    header.push("handle".to_owned());
    csv.write_record(&header)?;
    for (c, p, cost, per, code, link) in &summary {
        let mut row = vec![c.clone(), p.clone(), format!("{cost}"), format!("{code}"), format!("{link}")];
        for m in &models {
            let (rev, r) = per.get(*m).copied().unwrap_or((0.0, None));
            row.push(format!("{rev}"));
            row.push(r.map_or_else(String::new, |v| format!("{v}")));
        }
        row.push(handle.get(c).cloned().unwrap_or_default());
        csv.write_record(&row)?;
    }
    let summary_path = staging.path("roi_summary.csv");
    roicast_data::io::write_bytes_atomic(&summary_path, &csv.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    let mut pairs = csv::Writer::from_writer(Vec::new());
    pairs.write_record([
        "campaign_id",
        "creator_id",
        "cost",
        "flat_fee",
        "commission_rate",
        "code_tracked_revenue",
        "link_tracked_revenue",
    ])?;
    for r in &pair_rows {
        pairs.write_record(r)?;
    }
    let pairs_path = staging.path(CREATOR_CAMPAIGN_FILE);
    roicast_data::io::write_bytes_atomic(&pairs_path, &pairs.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
    let written = staging.commit()?;
    let inputs = FileRecord::inputs(&dataset, Table::ALL.iter().copied())?;
    manifest
        .finish(
            json!({ "data": a.data, "results": a.results, "currency": base, "margin_rate": margin, "paid_only": a.paid_only,
                    "allocation": "campaign-level costs split equally across the campaign's creators" }),
            inputs,
            written.iter().map(|p| FileRecord::of(p)).collect::<anyhow::Result<Vec<_>>>()?,
            BTreeMap::from([("creators".to_owned(), summary.len() as u64)]),
            "ok",
        )
        .write(&a.out)?;
    Ok(Summary {
        currency: base,
        ranked_by: rank_model,
        creators: summary
            .into_iter()
            .map(|(creator_id, platform, cost, per, code, link)| CreatorRoi {
                handle: handle.get(&creator_id).cloned(),
                creator_id,
                platform,
                cost,
                code_tracked_revenue: code,
                link_tracked_revenue: link,
                roi: per.into_iter().map(|(m, (revenue, roi))| (m, ModelRoi { revenue, roi })).collect(),
            })
            .collect(),
        files: written,
        total_cost,
    })
}

/// The default output folder of the ROI job inside a results folder.
#[must_use]
pub fn default_out(results: &Path) -> PathBuf {
    results.join("roi")
}
