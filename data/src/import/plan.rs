//! The tracking plan (`roicast import … --plan plan.csv`): the brand's own list of its
//! creators and the assets it issued them — promo codes, `utm_content` values, affiliate
//! link ids. It becomes the `creators` and `tracking_assets` tables and is what turns a raw
//! discount code into a creator.
//!
//! One CSV row per asset (creator columns repeat; a creator with no asset has one row with
//! `method` and `value` empty), read by header name:
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `creator_id` | yes | the brand's id of the creator |
//! | `platform` | yes | instagram / tiktok / youtube / other |
//! | `handle` | yes | the account handle (a leading `@` is dropped) |
//! | `followers` | yes | followers now (the creators table needs it) |
//! | `niche`, `country` | no | as in `creators` |
//! | `method` | with `value` | `promo_code` / `utm` / `affiliate_link` / `pixel` |
//! | `value` | with `method` | the code, the `utm_content`, the link id |
//! | `campaign_id` | no | the campaign the asset was issued for |
//!
//! Codes match case-insensitively (shops upper-case them); UTM values are normalised as
//! analytics tools do (trimmed, case-folded, URL-decoded, `+` as a space).

use std::collections::BTreeMap;
use std::path::Path;

use super::headers::Header;
use crate::builder::RowBuilder;
use crate::{DataError, Reject, Table};

/// One creator account of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanCreator {
    /// Id.
    pub creator_id: String,
    /// Platform.
    pub platform: String,
    /// Handle, without `@`.
    pub handle: String,
    /// Followers.
    pub followers: i64,
    /// Niche.
    pub niche: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// One asset of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanAsset {
    /// The creator it was issued to.
    pub creator_id: String,
    /// `promo_code` / `utm` / `affiliate_link` / `pixel`.
    pub method: String,
    /// The value as written.
    pub value: String,
    /// The campaign, if any.
    pub campaign_id: Option<String>,
}

/// A read tracking plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Creator accounts, in file order.
    pub creators: Vec<PlanCreator>,
    /// Assets, in file order.
    pub assets: Vec<PlanAsset>,
    codes: BTreeMap<String, String>,
    links: BTreeMap<String, usize>,
}

const METHODS: &[&str] = &["promo_code", "utm", "affiliate_link", "pixel"];
const PLATFORMS: &[&str] = &["instagram", "tiktok", "youtube", "other"];

/// A UTM value as analytics tools compare it: trimmed, `+` as a space, %-decoded, lower case.
#[must_use]
pub fn normalise_utm(v: &str) -> String {
    super::channel::decode(v.trim()).to_lowercase()
}

impl Plan {
    /// Reads a plan CSV; bad rows are rejects (file, row, column, value, reason).
    pub fn read(path: &Path) -> Result<(Plan, Vec<Reject>), DataError> {
        let mut reader =
            csv::Reader::from_path(path).map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
        let header =
            Header::new(reader.headers().map_err(|source| DataError::Csv { path: path.to_owned(), source })?.iter());
        header.require(path, &["creator_id", "platform", "handle", "followers"])?;
        let col = |n: &str| header.get(n);
        let mut plan = Plan::default();
        let mut rejects = Vec::new();
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        let reject = |rejects: &mut Vec<Reject>, row: u64, column: &str, value: &str, reason: String| {
            rejects.push(Reject {
                table: Table::Creators,
                file: path.to_owned(),
                row: Some(row),
                column: column.to_owned(),
                value: Some(value.to_owned()),
                reason,
            });
        };
        for (k, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
            let row = k as u64 + 1;
            let get = |n: &str| col(n).and_then(|i| rec.get(i)).map_or("", str::trim);
            let creator_id = get("creator_id").to_owned();
            let platform = get("platform").to_lowercase();
            if creator_id.is_empty() {
                reject(&mut rejects, row, "creator_id", "", "required value is missing".into());
                continue;
            }
            if !PLATFORMS.contains(&platform.as_str()) {
                reject(
                    &mut rejects,
                    row,
                    "platform",
                    get("platform"),
                    format!("expected one of {}", PLATFORMS.join(", ")),
                );
                continue;
            }
            if let std::collections::btree_map::Entry::Vacant(slot) = seen.entry((creator_id.clone(), platform.clone()))
            {
                let Ok(followers) = get("followers").replace(',', "").parse::<i64>() else {
                    reject(
                        &mut rejects,
                        row,
                        "followers",
                        get("followers"),
                        "expected a whole number of followers".into(),
                    );
                    continue;
                };
                let handle = get("handle").trim_start_matches('@').to_owned();
                if handle.is_empty() {
                    reject(&mut rejects, row, "handle", "", "required value is missing".into());
                    continue;
                }
                let opt = |n: &str| Some(get(n).to_owned()).filter(|v| !v.is_empty());
                slot.insert(plan.creators.len());
                plan.creators.push(PlanCreator {
                    creator_id: creator_id.clone(),
                    platform,
                    handle,
                    followers,
                    niche: opt("niche"),
                    country: opt("country"),
                });
            }
            let (method, value) = (get("method").to_lowercase(), get("value").to_owned());
            match (method.is_empty(), value.is_empty()) {
                (true, true) => continue,
                (false, true) => {
                    reject(&mut rejects, row, "value", "", format!("a {method} asset needs its value"));
                    continue;
                }
                (true, false) => {
                    reject(
                        &mut rejects,
                        row,
                        "method",
                        "",
                        format!("the value `{value}` needs a method ({})", METHODS.join(", ")),
                    );
                    continue;
                }
                (false, false) => {}
            }
            if !METHODS.contains(&method.as_str()) {
                reject(&mut rejects, row, "method", &method, format!("expected one of {}", METHODS.join(", ")));
                continue;
            }
            if method == "promo_code" {
                let key = value.to_lowercase();
                if let Some(other) = plan.codes.get(&key).filter(|o| **o != creator_id) {
                    reject(
                        &mut rejects,
                        row,
                        "value",
                        &value,
                        format!("the code is already issued to creator {other}"),
                    );
                    continue;
                }
                plan.codes.insert(key, creator_id.clone());
            }
            if method == "utm" || method == "affiliate_link" {
                let key = normalise_utm(&value);
                if let Some(&other) = plan.links.get(&key)
                    && plan.assets[other].creator_id != creator_id
                {
                    reject(
                        &mut rejects,
                        row,
                        "value",
                        &value,
                        format!("the link value is already issued to creator {}", plan.assets[other].creator_id),
                    );
                    continue;
                }
                plan.links.entry(key).or_insert(plan.assets.len());
            }
            let campaign_id = Some(get("campaign_id").to_owned()).filter(|v| !v.is_empty());
            plan.assets.push(PlanAsset { creator_id, method, value, campaign_id });
        }
        Ok((plan, rejects))
    }

    /// The creator a discount code was issued to (case-insensitive).
    #[must_use]
    pub fn creator_of_code(&self, code: &str) -> Option<&str> {
        self.codes.get(&code.trim().to_lowercase()).map(String::as_str)
    }

    /// The `utm` or `affiliate_link` asset whose value is `value` (a `utm_content` or
    /// `utm_campaign`, an affiliate link or partner id), compared as analytics tools do.
    #[must_use]
    pub fn asset_of_link(&self, value: &str) -> Option<&PlanAsset> {
        self.links.get(&normalise_utm(value)).map(|&i| &self.assets[i])
    }

    /// The creator account of `creator_id` (its first platform in the plan).
    #[must_use]
    pub fn creator(&self, creator_id: &str) -> Option<&PlanCreator> {
        self.creators.iter().find(|c| c.creator_id == creator_id)
    }

    /// Writes the `creators` and `tracking_assets` tables to `sink`; returns their rows.
    pub fn write(&self, sink: &mut super::Sink<'_>) -> Result<(u64, u64), DataError> {
        let mut c = RowBuilder::for_table(Table::Creators);
        for p in &self.creators {
            c.text(&p.creator_id)
                .text(&p.platform)
                .text(&p.handle)
                .int(p.followers)
                .opt_int(None)
                .opt_int(None)
                .opt_ts(None)
                .opt_text(p.niche.as_deref())
                .opt_text(p.country.as_deref())
                .end_row();
        }
        sink(Table::Creators, c.finish())?;
        let mut a = RowBuilder::for_table(Table::TrackingAssets);
        for (k, asset) in self.assets.iter().enumerate() {
            let value = if asset.method == "utm" { normalise_utm(&asset.value) } else { asset.value.clone() };
            a.text(&format!("plan-{:05}", k + 1))
                .text(&asset.creator_id)
                .opt_text(asset.campaign_id.as_deref())
                .text(&asset.method)
                .text(&value)
                .end_row();
        }
        if !self.assets.is_empty() {
            sink(Table::TrackingAssets, a.finish())?;
        }
        Ok((self.creators.len() as u64, self.assets.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utm_values_are_normalised_like_analytics_tools() {
        assert_eq!(normalise_utm("  Spring+Glow%20Ava "), "spring glow ava");
        assert_eq!(normalise_utm("CMP001-CR00012"), "cmp001-cr00012");
        assert_eq!(normalise_utm("100%"), "100%");
    }

    #[test]
    fn a_plan_maps_codes_case_insensitively_and_refuses_a_code_issued_twice() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.csv");
        std::fs::write(
            &p,
            "creator_id,platform,handle,followers,method,value\n\
             c1,instagram,@ava,12000,promo_code,AVA15\n\
             c1,instagram,@ava,12000,utm,Spring+Glow\n\
             c2,tiktok,ben,800,promo_code,ava15\n\
             c3,tiktok,cy,x,,\n",
        )
        .unwrap();
        let (plan, rejects) = Plan::read(&p).unwrap();
        assert_eq!(plan.creators.len(), 2);
        assert_eq!(plan.creators[0].handle, "ava");
        assert_eq!(plan.creator_of_code("Ava15"), Some("c1"));
        assert_eq!(rejects.len(), 2, "{rejects:?}");
        assert!(rejects[0].reason.contains("already issued to creator c1"));
        assert_eq!((rejects[1].row, rejects[1].column.as_str()), (Some(4), "followers"));
    }
}
