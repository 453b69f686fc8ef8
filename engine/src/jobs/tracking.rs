//! Tracking assets and the sessions they bring: the one place the engagement and ROI jobs
//! match promo codes and utm / affiliate-link values to creators.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use roicast_data::{Dataset, Table};
use roicast_models::FxMap;

use crate::output::columns::{col, text, ts};

/// The creator (and campaign, if the asset names one) behind a tracking value.
pub(crate) type Owner = (String, Option<String>);

/// Promo codes (lower-cased) and link values (`utm_content` / affiliate ids) → owner.
#[derive(Default)]
pub(crate) struct Assets {
    /// `promo_code` assets, keyed lower-case (codes are matched case-insensitively).
    pub(crate) codes: FxMap<String, Owner>,
    /// `utm` and `affiliate_link` assets.
    pub(crate) links: FxMap<String, Owner>,
}

impl Assets {
    /// Reads the dataset's tracking assets (none when the table is absent).
    pub(crate) fn load(dataset: &Dataset) -> anyhow::Result<Assets> {
        let mut a = Assets::default();
        if !dataset.has(Table::TrackingAssets) {
            return Ok(a);
        }
        let t = Table::TrackingAssets;
        for b in dataset.load(t)? {
            for i in 0..b.num_rows() {
                let owner = (text(&b, t, "creator_id", i).unwrap_or_default(), text(&b, t, "campaign_id", i));
                let value = text(&b, t, "value", i).unwrap_or_default();
                match text(&b, t, "method", i).as_deref() {
                    Some("promo_code") => {
                        a.codes.insert(value.to_lowercase(), owner);
                    }
                    Some("utm" | "affiliate_link") => {
                        a.links.insert(value, owner);
                    }
                    _ => {}
                }
            }
        }
        Ok(a)
    }

    /// Calls `f(batch, row, user_id, started_at, owner)` for every session whose
    /// `utm_content` is one of the link assets.
    pub(crate) fn for_each_session(
        &self,
        dataset: &Dataset,
        mut f: impl FnMut(&RecordBatch, usize, &str, i64, &Owner),
    ) -> anyhow::Result<()> {
        if self.links.is_empty() || !dataset.has(Table::Sessions) {
            return Ok(());
        }
        let t = Table::Sessions;
        // Streamed: a brand's sessions are the largest table after touchpoints.
        dataset.stream::<anyhow::Error>(t, |b| {
            let content = col(b, t, "utm_content").as_string::<i32>();
            let users = col(b, t, "user_id").as_string::<i32>();
            for i in 0..b.num_rows() {
                if content.is_null(i) {
                    continue;
                }
                if let Some(owner) = self.links.get(content.value(i)) {
                    f(b, i, users.value(i), ts(b, t, "started_at", i).unwrap_or(0), owner);
                }
            }
            Ok(())
        })?;
        Ok(())
    }
}
