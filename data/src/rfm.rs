//! Per-customer RFM summaries from `orders` (and `customers`), in a time unit the caller
//! chooses — never assumed.
//!
//! Conventions (those of the `lifetimes` package, so fits are comparable): purchases on the
//! same day count once; `frequency` = days with a purchase after the first purchase day;
//! `recency` = last purchase day − first purchase day; `t` = observation end − first
//! purchase; `monetary_value` = mean revenue per repeat purchase day (0 without repeats).
//! Refunded orders are left out (and counted) unless the caller keeps them.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, BooleanArray};
use serde::Serialize;

use crate::dataset::Dataset;
use crate::error::DataError;
use crate::schema::Table;

/// A time unit for RFM summaries and horizons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// Days.
    Days,
    /// Weeks (7 days).
    Weeks,
    /// Months (30.4375 days, a twelfth of a Julian year).
    Months,
}

impl TimeUnit {
    /// Length in days.
    #[must_use]
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => 30.4375,
        }
    }
}

impl std::str::FromStr for TimeUnit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "days" | "day" | "d" => Ok(TimeUnit::Days),
            "weeks" | "week" | "w" => Ok(TimeUnit::Weeks),
            "months" | "month" | "m" => Ok(TimeUnit::Months),
            other => Err(format!("unknown time unit `{other}`: expected days, weeks or months")),
        }
    }
}

/// One customer's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRfm {
    /// Customer id.
    pub customer_id: String,
    /// Repeat purchase days.
    pub frequency: f64,
    /// Last − first purchase, in the unit.
    pub recency: f64,
    /// Observation end − first purchase, in the unit.
    pub t: f64,
    /// Mean revenue per repeat purchase day.
    pub monetary_value: f64,
    /// Gross margin / revenue over the customer's orders, where `gross_margin` is given.
    pub margin_rate: Option<f64>,
    /// Revenue of the customer's (non-refunded) orders up to the observation end.
    pub revenue: f64,
    /// First purchase, µs.
    pub first_purchase_us: i64,
    /// Acquiring creator (from `customers`).
    pub acquisition_creator_id: Option<String>,
    /// Acquisition channel (from `customers`).
    pub acquisition_channel: Option<String>,
    /// Subscription start and churn (from `customers`), µs.
    pub subscription: Option<(i64, Option<i64>)>,
}

/// Counts of what building the summaries did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RfmStats {
    /// Orders read.
    pub orders: u64,
    /// Refunded orders left out.
    pub refunded: u64,
    /// Customers summarised.
    pub customers: u64,
    /// Customers in `customers` without any (non-refunded) order: not summarised.
    pub customers_without_orders: u64,
}

const US_PER_DAY: f64 = 86_400_000_000.0;

/// A customer's orders while summarising.
struct Acc {
    /// (ordered at µs, revenue, gross margin).
    orders: Vec<(i64, f64, Option<f64>)>,
    revenue: f64,
    margin: f64,
    margin_known: bool,
}

/// What `customers` says of a customer: acquiring creator, channel, subscription.
type CustomerInfo = (Option<String>, Option<String>, Option<(i64, Option<i64>)>);

/// Builds RFM summaries in `unit`, observed until `observation_end_us` (default: the
/// latest order time). Needs `orders`; uses `customers` when present.
pub fn build(
    dataset: &Dataset,
    unit: TimeUnit,
    observation_end_us: Option<i64>,
    drop_refunded: bool,
) -> Result<(Vec<CustomerRfm>, RfmStats, i64), DataError> {
    build_until(dataset, unit, observation_end_us, drop_refunded, None).map(|(r, s, e, _)| (r, s, e))
}

/// Summaries, what building them did, the observation end (µs), and each summarised
/// customer's hold-out purchase days.
pub type Summaries = (Vec<CustomerRfm>, RfmStats, i64, HashMap<String, f64>);

/// [`build`] over the orders up to `calibration_end_us` only (observed until then), also
/// returning each summarised customer's purchase days after it, up to `observation_end_us`
/// (the hold-out period of a backtest).
pub fn build_until(
    dataset: &Dataset,
    unit: TimeUnit,
    observation_end_us: Option<i64>,
    drop_refunded: bool,
    calibration_end_us: Option<i64>,
) -> Result<Summaries, DataError> {
    if !dataset.has(Table::Orders) {
        return Err(DataError::MissingTable { dir: dataset.root().to_owned(), table: Table::Orders });
    }
    let mut stats = RfmStats::default();
    let mut by_customer: HashMap<String, Acc> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut latest = i64::MIN;
    let mut holdout_days: HashMap<String, Vec<i64>> = HashMap::new();
    // Streamed: orders are not held, only each customer's (time, revenue, margin).
    dataset.stream::<DataError>(Table::Orders, |b| {
        let spec = Table::Orders.spec();
        let col = |n: &str| b.column(spec.index_of(n).expect("canonical"));
        let id = col("customer_id").as_string::<i32>();
        let at = col("ordered_at").as_primitive::<TimestampMicrosecondType>();
        let revenue = col("revenue").as_primitive::<Float64Type>();
        let margin = col("gross_margin").as_primitive::<Float64Type>();
        let refunded: &BooleanArray = col("refunded").as_boolean();
        for i in 0..b.num_rows() {
            stats.orders += 1;
            latest = latest.max(at.value(i));
            if drop_refunded && refunded.is_valid(i) && refunded.value(i) {
                stats.refunded += 1;
                continue;
            }
            if let Some(cut) = calibration_end_us
                && at.value(i) > cut
            {
                holdout_days.entry(id.value(i).to_owned()).or_default().push(at.value(i).div_euclid(86_400_000_000));
                continue;
            }
            let acc = by_customer.entry(id.value(i).to_owned()).or_insert_with(|| {
                order.push(id.value(i).to_owned());
                Acc { orders: Vec::new(), revenue: 0.0, margin: 0.0, margin_known: true }
            });
            acc.orders.push((at.value(i), revenue.value(i), margin.is_valid(i).then(|| margin.value(i))));
        }
        Ok(())
    })?;
    let full_end = observation_end_us.unwrap_or(latest);
    let end = calibration_end_us.unwrap_or(full_end);
    let mut info: HashMap<String, CustomerInfo> = HashMap::new();
    if dataset.has(Table::Customers) {
        dataset.stream::<DataError>(Table::Customers, |b| {
            let spec = Table::Customers.spec();
            let col = |n: &str| b.column(spec.index_of(n).expect("canonical"));
            let id = col("customer_id").as_string::<i32>();
            let creator = col("acquisition_creator_id").as_string::<i32>();
            let channel = col("acquisition_channel").as_string::<i32>();
            let sub = col("subscription_started_at").as_primitive::<TimestampMicrosecondType>();
            let churn = col("churned_at").as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                if !by_customer.contains_key(id.value(i)) {
                    stats.customers_without_orders += 1;
                }
                info.insert(
                    id.value(i).to_owned(),
                    (
                        creator.is_valid(i).then(|| creator.value(i).to_owned()),
                        channel.is_valid(i).then(|| channel.value(i).to_owned()),
                        sub.is_valid(i).then(|| (sub.value(i), churn.is_valid(i).then(|| churn.value(i)))),
                    ),
                );
            }
            Ok(())
        })?;
    }
    let unit_days = unit.days();
    let mut out = Vec::with_capacity(order.len());
    for id in order {
        let mut acc = by_customer.remove(&id).expect("every listed customer has orders");
        // Orders by time then value: sums are the same bits whatever order they came in.
        acc.orders.sort_by(|a, b| {
            (a.0, a.1.to_bits(), a.2.map(f64::to_bits)).cmp(&(b.0, b.1.to_bits(), b.2.map(f64::to_bits)))
        });
        for &(_, r, m) in &acc.orders {
            acc.revenue += r;
            match m {
                Some(m) => acc.margin += m,
                None => acc.margin_known = false,
            }
        }
        let first_day = acc.orders[0].0.div_euclid(86_400_000_000);
        // Revenue per distinct day; repeat days are those after the first.
        let mut per_day: Vec<(i64, f64)> = Vec::new();
        for (d, r) in acc.orders.iter().map(|o| (o.0.div_euclid(86_400_000_000), o.1)) {
            match per_day.last_mut() {
                Some(last) if last.0 == d => last.1 += r,
                _ => per_day.push((d, r)),
            }
        }
        let repeats = &per_day[1..];
        let frequency = repeats.len() as f64;
        let last_day = per_day.last().expect("non-empty").0;
        let first_us = first_day * 86_400_000_000;
        let (creator, channel, subscription) = info.remove(&id).unwrap_or((None, None, None));
        out.push(CustomerRfm {
            frequency,
            recency: (last_day - first_day) as f64 / unit_days,
            t: ((end - first_us) as f64 / US_PER_DAY).max(0.0) / unit_days,
            monetary_value: if repeats.is_empty() { 0.0 } else { repeats.iter().map(|r| r.1).sum::<f64>() / frequency },
            margin_rate: (acc.margin_known && acc.revenue > 0.0).then(|| acc.margin / acc.revenue),
            revenue: acc.revenue,
            first_purchase_us: first_us,
            acquisition_creator_id: creator,
            acquisition_channel: channel,
            subscription,
            customer_id: id,
        });
    }
    stats.customers = out.len() as u64;
    // Hold-out purchase days of the summarised customers (same-day purchases count once).
    let mut holdout = HashMap::new();
    for c in &out {
        let mut days = holdout_days.remove(&c.customer_id).unwrap_or_default();
        days.retain(|d| d * 86_400_000_000 <= full_end);
        days.sort_unstable();
        days.dedup();
        holdout.insert(c.customer_id.clone(), days.len() as f64);
    }
    Ok((out, stats, full_end, holdout))
}
