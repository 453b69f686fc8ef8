//! Cost accounting and ROI metrics (see `docs/roi.md`). Pure functions, checked by hand
//! in the tests below.

use std::collections::BTreeMap;

use roicast_data::tiers::{Tier, tiered_commission};
use serde::Serialize;

/// One cost line, as in the `costs` table (amounts already in the base currency).
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    /// Campaign.
    pub campaign_id: String,
    /// Creator; `None` = a campaign-level cost, allocated across the campaign's creators.
    pub creator_id: Option<String>,
    /// One of the contract's cost types.
    pub cost_type: String,
    /// Amount (flat costs, per-conversion payout, agency flat fee).
    pub amount: Option<f64>,
    /// Rate (commission, agency percentage).
    pub rate: Option<f64>,
    /// Tier table (tiered commission).
    pub tiers: Option<Vec<Tier>>,
    /// `committed` or `paid` (None = unknown, counted as committed).
    pub paid: Option<bool>,
}

/// What a creator's own code and links tracked in a campaign.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Tracked {
    /// Revenue of orders tracked by the creator's codes or links.
    pub revenue: f64,
    /// Those orders.
    pub orders: f64,
}

/// Cost of one line for a creator, before any allocation. Creator fees (flat,
/// commission, tiered, per-conversion) are returned in `.1` so agency percentages can
/// apply to them.
#[must_use]
pub fn line_cost(line: &CostLine, tracked: Tracked) -> (f64, bool) {
    let amount = line.amount.unwrap_or(0.0);
    match line.cost_type.as_str() {
        "flat_fee" => (amount, true),
        "commission" => (line.rate.unwrap_or(0.0) * tracked.revenue, true),
        "tiered_commission" => (line.tiers.as_deref().map_or(0.0, |t| tiered_commission(t, tracked.revenue)), true),
        "per_conversion" => (amount * tracked.orders, true),
        // agency_fee with a rate is computed by `creator_costs` on the creator fees.
        "agency_fee" if line.amount.is_none() => (0.0, false),
        _ => (amount, false),
    }
}

/// Costs of one creator in one campaign, by cost type: its own lines, then agency
/// percentages on its fees, then its share of the campaign-level lines.
#[must_use]
pub fn creator_costs(own: &[&CostLine], shared: &[(&CostLine, f64)], tracked: Tracked) -> BTreeMap<String, f64> {
    let mut by_type: BTreeMap<String, f64> = BTreeMap::new();
    let mut fees = 0.0;
    for l in own {
        let (c, is_fee) = line_cost(l, tracked);
        *by_type.entry(l.cost_type.clone()).or_default() += c;
        if is_fee {
            fees += c;
        }
    }
    for l in own.iter().filter(|l| l.cost_type == "agency_fee" && l.amount.is_none()) {
        *by_type.entry("agency_fee".to_owned()).or_default() += l.rate.unwrap_or(0.0) * fees;
    }
    for (l, share) in shared {
        let (c, _) = line_cost(l, tracked);
        let c =
            if l.cost_type == "agency_fee" && l.amount.is_none() { l.rate.unwrap_or(0.0) * fees } else { c * share };
        *by_type.entry(l.cost_type.clone()).or_default() += c;
    }
    by_type
}

/// ROI metrics of one (revenue, cost) pair, as percentages where named `_roi`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoiMetrics {
    /// (revenue − cost) / cost × 100.
    pub roi: Option<f64>,
    /// revenue / cost.
    pub roas: Option<f64>,
    /// cost / conversions.
    pub cpa: Option<f64>,
    /// (revenue × margin − cost) / cost × 100.
    pub profit_roi: Option<f64>,
    /// (conversions × CLV − cost) / cost × 100: new customers valued at their CLV.
    pub clv_roi: Option<f64>,
}

/// `(value − cost) / cost × 100`, `None` when cost is 0.
#[must_use]
pub fn roi_pct(value: f64, cost: f64) -> Option<f64> {
    (cost > 0.0).then(|| (value - cost) / cost * 100.0)
}

/// Every ROI metric of a revenue figure.
#[must_use]
pub fn metrics(revenue: f64, conversions: f64, cost: f64, margin: Option<f64>, clv: Option<f64>) -> RoiMetrics {
    RoiMetrics {
        roi: roi_pct(revenue, cost),
        roas: (cost > 0.0).then(|| revenue / cost),
        cpa: (conversions > 0.0).then(|| cost / conversions),
        profit_roi: margin.and_then(|m| roi_pct(revenue * m, cost)),
        clv_roi: clv.and_then(|v| roi_pct(conversions * v, cost)),
    }
}

/// Checks that costs and revenue can be added: one currency, or every currency in
/// `rates` (units of the base currency per unit). Returns the base currency.
pub fn base_currency(
    currencies: &[String],
    rates: Option<&BTreeMap<String, f64>>,
    base: Option<&str>,
) -> Result<String, String> {
    let mut distinct: Vec<&String> = currencies.iter().collect();
    distinct.sort();
    distinct.dedup();
    match rates {
        None if distinct.len() > 1 => Err(format!(
            "costs and revenue are in several currencies ({}): pass --fx FILE (columns currency,rate: units of the \
             base currency per unit) and --base-currency; roicast never adds mixed currencies",
            distinct.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )),
        None => Ok(distinct.first().map_or_else(|| "USD".to_owned(), |c| (*c).clone())),
        Some(r) => {
            let base = base.ok_or("--fx needs --base-currency")?.to_owned();
            if let Some(missing) = distinct.iter().find(|c| c.as_str() != base && !r.contains_key(c.as_str())) {
                return Err(format!("no exchange rate for {missing} in the --fx file"));
            }
            Ok(base)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(t: &str, amount: Option<f64>, rate: Option<f64>) -> CostLine {
        CostLine {
            campaign_id: "k".into(),
            creator_id: Some("c".into()),
            cost_type: t.into(),
            amount,
            rate,
            tiers: None,
            paid: Some(true),
        }
    }

    #[test]
    fn every_cost_type_by_hand() {
        let tracked = Tracked { revenue: 20_000.0, orders: 40.0 };
        let tiered = CostLine {
            tiers: Some(vec![Tier { up_to: Some(10_000.0), rate: 0.10 }, Tier { up_to: None, rate: 0.15 }]),
            ..line("tiered_commission", None, None)
        };
        let own = [
            line("flat_fee", Some(1_000.0), None),
            line("commission", None, Some(0.05)),
            tiered,
            line("per_conversion", Some(2.5), None),
            line("agency_fee", None, Some(0.10)),
            line("production", Some(300.0), None),
            line("product_samples", Some(120.0), None),
            line("shipping", Some(30.0), None),
        ];
        let tools = CostLine { creator_id: None, ..line("tools", Some(600.0), None) };
        let agency_flat = CostLine { creator_id: None, ..line("agency_fee", Some(200.0), None) };
        let refs: Vec<&CostLine> = own.iter().collect();
        let c = creator_costs(&refs, &[(&tools, 1.0 / 3.0), (&agency_flat, 0.5)], tracked);
        assert_eq!(c["flat_fee"], 1_000.0);
        assert_eq!(c["commission"], 1_000.0); // 5 % of 20,000
        assert_eq!(c["tiered_commission"], 2_500.0); // 10 % of 10,000 + 15 % of 10,000
        assert_eq!(c["per_conversion"], 100.0); // 40 × 2.5
        // agency: 10 % of creator fees (1,000 + 1,000 + 2,500 + 100 = 4,600) = 460, plus
        // half of a 200 campaign-level flat agency fee = 100
        assert!((c["agency_fee"] - 560.0).abs() < 1e-9);
        assert_eq!(c["production"], 300.0);
        assert_eq!(c["product_samples"], 120.0);
        assert_eq!(c["shipping"], 30.0);
        assert!((c["tools"] - 200.0).abs() < 1e-9); // a third of 600
    }

    #[test]
    fn tiered_commission_at_and_across_boundaries() {
        let t = vec![
            Tier { up_to: Some(10_000.0), rate: 0.10 },
            Tier { up_to: Some(50_000.0), rate: 0.15 },
            Tier { up_to: None, rate: 0.2 },
        ];
        let cost = |r: f64| {
            let l = CostLine { tiers: Some(t.clone()), ..line("tiered_commission", None, None) };
            line_cost(&l, Tracked { revenue: r, orders: 0.0 }).0
        };
        assert!((cost(10_000.0) - 1_000.0).abs() < 1e-9); // exactly at the first bound
        assert!((cost(10_001.0) - 1_000.15).abs() < 1e-9); // one unit across
        assert!((cost(50_000.0) - 7_000.0).abs() < 1e-9); // 1,000 + 40,000 × 15 %
        assert!((cost(60_000.0) - 9_000.0).abs() < 1e-9); // + 10,000 × 20 %
        assert_eq!(cost(0.0), 0.0);
    }

    #[test]
    fn roi_metrics_by_hand() {
        let m = metrics(15_000.0, 100.0, 10_000.0, Some(0.4), Some(180.0));
        assert_eq!(m.roi, Some(50.0));
        assert_eq!(m.roas, Some(1.5));
        assert_eq!(m.cpa, Some(100.0));
        assert_eq!(m.profit_roi, Some(-40.0)); // 6,000 − 10,000
        assert_eq!(m.clv_roi, Some(80.0)); // 100 × 180 = 18,000
        assert_eq!(metrics(10.0, 0.0, 0.0, None, None).roi, None, "no cost: no ROI, not infinity");
    }

    #[test]
    fn mixed_currencies_without_rates_are_refused() {
        let cur = vec!["USD".to_owned(), "EUR".to_owned(), "USD".to_owned()];
        let err = base_currency(&cur, None, None).unwrap_err();
        assert!(err.contains("EUR, USD") && err.contains("--fx"), "{err}");
        let rates = BTreeMap::from([("EUR".to_owned(), 1.1)]);
        assert_eq!(base_currency(&cur, Some(&rates), Some("USD")).unwrap(), "USD");
        let gbp = vec!["GBP".to_owned(), "USD".to_owned()];
        assert!(base_currency(&gbp, Some(&rates), Some("USD")).unwrap_err().contains("GBP"));
        assert_eq!(base_currency(&["EUR".to_owned()], None, None).unwrap(), "EUR");
    }
}
