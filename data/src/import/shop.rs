//! What every shop importer (Shopify CSV and API, Magento JSON and grid CSV) writes the
//! same way: `orders` rows streamed in batches, the order ids seen (a repeat is refused,
//! naming both places), and `customers` from each customer's first order — credited to the
//! creator whose plan code that order used.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::{ImportOptions, ImportReport, Sink};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

const BATCH: usize = 65_536;

/// One order as a shop export gave it, ready to write.
pub struct ShopOrder {
    /// `orders.order_id`.
    pub order_id: String,
    /// Salted customer id.
    pub customer: String,
    /// `orders.user_id` (a journey key), when the export has one.
    pub user_id: Option<String>,
    /// µs UTC.
    pub ordered_at: i64,
    /// Net of refunds, in `currency`.
    pub revenue: f64,
    /// The shop currency.
    pub currency: String,
    /// The first discount code.
    pub code: Option<String>,
    /// Fully refunded.
    pub refunded: bool,
    /// Passed-through source fields (JSON object).
    pub extra: serde_json::Value,
}

/// The orders and first orders of an import in progress.
pub struct ShopOrders {
    orders: RowBuilder,
    // customer → (first order time, the creator whose plan code that order used).
    first_order: BTreeMap<String, (i64, Option<String>)>,
    // Order ids seen, by 64-bit hash (8 bytes an order rather than the id: memory stays
    // small on million-order exports; a false duplicate needs a 2^-64 collision).
    seen: HashMap<u64, (u32, u64)>,
    files: Vec<PathBuf>,
    written: u64,
}

impl Default for ShopOrders {
    fn default() -> ShopOrders {
        ShopOrders::new()
    }
}

impl ShopOrders {
    /// An empty set.
    #[must_use]
    pub fn new() -> ShopOrders {
        ShopOrders {
            orders: RowBuilder::new(super::with_extra(Table::Orders)),
            first_order: BTreeMap::new(),
            seen: HashMap::new(),
            files: Vec::new(),
            written: 0,
        }
    }

    /// Claims `order_id` for row `row` of `path`; `Err` names where it was read before.
    pub fn claim(&mut self, order_id: &str, path: &Path, row: u64) -> Result<(), String> {
        let h = xxhash_rust::xxh3::xxh3_64(order_id.as_bytes());
        if let Some(&(f, r)) = self.seen.get(&h) {
            let p = &self.files[f as usize];
            let at = if p == path { format!("row {r}") } else { format!("row {r} of {}", p.display()) };
            return Err(format!("order {order_id} was already read at {at}: an order appears once"));
        }
        if self.files.last().is_none_or(|p| p.as_os_str() != path.as_os_str()) {
            self.files.push(path.to_owned());
        }
        self.seen.insert(h, (self.files.len() as u32 - 1, row));
        Ok(())
    }

    /// Writes an order (batches go to `sink`), noting a code the plan does not know.
    pub fn add(
        &mut self,
        o: ShopOrder,
        opts: &ImportOptions,
        report: &mut ImportReport,
        sink: &mut Sink<'_>,
    ) -> Result<(), DataError> {
        let creator = match (&opts.plan, &o.code) {
            (Some(plan), Some(code)) => {
                let c = plan.creator_of_code(code).map(str::to_owned);
                if c.is_none() {
                    report.note(&format!("orders with discount code `{code}`, which is in no creator's plan"));
                }
                c
            }
            _ => None,
        };
        self.orders
            .text(&o.order_id)
            .text(&o.customer)
            .opt_text(o.user_id.as_deref())
            .ts(o.ordered_at)
            .float(o.revenue)
            .text(&o.currency)
            .opt_text(o.code.as_deref())
            .opt_float(None)
            .opt_bool(Some(o.refunded))
            .text(&o.extra.to_string())
            .end_row();
        self.written += 1;
        let entry = self.first_order.entry(o.customer).or_insert((o.ordered_at, creator.clone()));
        if o.ordered_at < entry.0 {
            *entry = (o.ordered_at, creator);
        }
        if self.orders.len() >= BATCH {
            sink(Table::Orders, self.orders.finish())?;
        }
        Ok(())
    }

    /// Writes the last orders and the customers.
    pub fn finish(mut self, report: &mut ImportReport, sink: &mut Sink<'_>) -> Result<(), DataError> {
        report.written.insert("orders".into(), self.written);
        if !self.orders.is_empty() {
            sink(Table::Orders, self.orders.finish())?;
        }
        let mut customers = RowBuilder::for_table(Table::Customers);
        for (id, (at, creator)) in &self.first_order {
            customers
                .text(id)
                .ts(*at)
                .opt_text(creator.as_deref())
                .opt_text(creator.as_ref().map(|_| "creator"))
                .opt_ts(None)
                .opt_ts(None)
                .end_row();
            if customers.len() >= BATCH {
                sink(Table::Customers, customers.finish())?;
            }
        }
        report.written.insert("customers".into(), self.first_order.len() as u64);
        if !customers.is_empty() {
            sink(Table::Customers, customers.finish())?;
        }
        Ok(())
    }
}
