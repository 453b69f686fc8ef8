//! The synthetic world in vendor formats (`roicast generate --exports DIR`), so the path a
//! real user takes — exports → `roicast import` → jobs — runs on a world with a known
//! truth. Written from the generated canonical tables, with each format's quirks.
//!
//! `shopify/orders_export.csv`: Shopify's 79-column "Export orders" CSV. One to three
//! line-item rows per order with the order-level fields on the first row only; `Created
//! at` in a per-customer local offset (`-0500`, `-0400`, `+0000`, `+0100`, `+0200`); the
//! email is `{customer_id}@example.com` (invented, so the salted id is known); a refunded
//! order has `Financial Status = refunded` and `Refunded Amount = Total`. What the format
//! loses: sub-second time, `user_id` and `gross_margin` (no such columns), and a fully
//! refunded order's revenue (an import reports revenue net of refunds: 0).

use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use chrono::{FixedOffset, TimeZone as _};

use crate::import::shopify::HEADER;

pub mod social;
pub mod vendors;
use crate::io::AtomicFile;
use crate::{DataError, Dataset, Table};

const OFFSETS_S: [i32; 5] = [-5 * 3600, -4 * 3600, 0, 3600, 2 * 3600];

pub(crate) fn pick(key: &str, n: usize) -> usize {
    // FNV-1a: a stable choice per id, independent of the RNG streams of the world.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize
}

/// Writes the dataset as vendor exports into `dir`: returns the files written (relative
/// to `dir`).
pub fn write(data: &Path, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let dataset = Dataset::open(data)?;
    let mut files = shopify_csv(&dataset, dir)?;
    files.extend(vendors::shopify_api(&dataset, dir)?);
    files.extend(vendors::magento(&dataset, dir)?);
    files.extend(vendors::ga4(&dataset, dir)?);
    files.extend(vendors::stripe(&dataset, dir)?);
    files.extend(vendors::hubspot(&dataset, dir)?);
    files.extend(vendors::plan(&dataset, dir)?);
    files.extend(social::write(&dataset, dir)?);
    Ok(files)
}

/// The offset a customer's shop times are written in (stable per customer).
pub(crate) fn local_offset(customer: &str) -> FixedOffset {
    FixedOffset::east_opt(OFFSETS_S[pick(customer, OFFSETS_S.len())]).expect("valid offset")
}

fn shopify_csv(dataset: &Dataset, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let shop = dir.join("shopify");
    std::fs::create_dir_all(&shop).map_err(DataError::io(&shop))?;
    let path = shop.join("orders_export.csv");
    let mut file = AtomicFile::create(&path)?;
    {
        let mut w = csv::Writer::from_writer(file.file());
        w.write_record(HEADER).map_err(|source| DataError::Csv { path: path.clone(), source })?;
        let put = |row: &mut [String], n: &str, v: &str| {
            let i = HEADER.iter().position(|h| *h == n).expect("a Shopify column");
            v.clone_into(&mut row[i]);
        };
        let spec = Table::Orders.spec();
        let at = |n: &str| spec.index_of(n).expect("an orders column");
        for b in dataset.load(Table::Orders)? {
            let ids = b.column(at("order_id")).as_string::<i32>();
            let customers = b.column(at("customer_id")).as_string::<i32>();
            let ordered = b.column(at("ordered_at")).as_primitive::<TimestampMicrosecondType>();
            let revenue = b.column(at("revenue")).as_primitive::<Float64Type>();
            let currency = b.column(at("currency")).as_string::<i32>();
            let code = b.column(at("discount_code")).as_string::<i32>();
            let refunded = b.column(at("refunded")).as_boolean();
            for i in 0..b.num_rows() {
                let id = ids.value(i);
                let customer = customers.value(i);
                let offset = local_offset(customer);
                let t = ordered.value(i);
                let local = offset
                    .timestamp_opt(t.div_euclid(1_000_000), 0)
                    .single()
                    .expect("a representable time")
                    .format("%Y-%m-%d %H:%M:%S %z")
                    .to_string();
                let total = format!("{:.2}", revenue.value(i));
                let full_refund = refunded.is_valid(i) && refunded.value(i);
                let items = 1 + pick(id, 3);
                for k in 0..items {
                    let mut row = vec![String::new(); HEADER.len()];
                    put(&mut row, "Name", id);
                    put(&mut row, "Lineitem quantity", "1");
                    put(&mut row, "Lineitem name", &format!("Product {}", 1 + pick(&format!("{id}/{k}"), 40)));
                    put(&mut row, "Lineitem price", if k == 0 { &total } else { "0.00" });
                    put(&mut row, "Lineitem requires shipping", "true");
                    put(&mut row, "Lineitem taxable", "true");
                    if k == 0 {
                        put(&mut row, "Email", &format!("{customer}@example.com"));
                        put(&mut row, "Financial Status", if full_refund { "refunded" } else { "paid" });
                        put(&mut row, "Paid at", &local);
                        put(&mut row, "Fulfillment Status", "fulfilled");
                        put(&mut row, "Currency", currency.value(i));
                        put(&mut row, "Subtotal", &total);
                        put(&mut row, "Shipping", "0.00");
                        put(&mut row, "Taxes", "0.00");
                        put(&mut row, "Total", &total);
                        if code.is_valid(i) {
                            put(&mut row, "Discount Code", code.value(i));
                        }
                        put(&mut row, "Created at", &local);
                        put(&mut row, "Refunded Amount", if full_refund { &total } else { "0.00" });
                        put(&mut row, "Source", "web");
                    }
                    w.write_record(&row).map_err(|source| DataError::Csv { path: path.clone(), source })?;
                }
            }
        }
        w.flush().map_err(DataError::io(&path))?;
    }
    file.commit()?;
    Ok(vec![PathBuf::from("shopify").join("orders_export.csv")])
}
