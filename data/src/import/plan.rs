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
//! | `account_id` | no | the platform's id of the account (Instagram user id, TikTok open id, YouTube channel id) |
//! | `method` | with `value` | `promo_code` / `utm` / `affiliate_link` / `pixel`, or `post` |
//! | `value` | with `method` | the code, the `utm_content`, the link id; for `post`, the platform's post id or its permalink |
//! | `campaign_id` | no | the campaign the asset was issued for |
//!
//! Codes match case-insensitively (shops upper-case them); UTM values are normalised as
//! analytics tools do (trimmed, case-folded, URL-decoded, `+` as a space). A `post` row
//! ties one of the creator's posts to `campaign_id` (the platform importers read it); the
//! TOML form can also give campaign rules (`[[campaigns]]`: hashtags, mentions, a
//! disclosure label, a date window) for posts the plan does not list one by one.

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
    /// The platform's own id of the account (Instagram user id, TikTok open id, YouTube
    /// channel id): how platform API responses are matched to the creator.
    pub account_id: Option<String>,
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

/// A post the plan ties to a campaign, by the platform's post id or its permalink.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPost {
    /// The creator who published it.
    pub creator_id: String,
    /// The post id or permalink as written.
    pub value: String,
    /// The campaign it was paid for.
    pub campaign_id: Option<String>,
}

/// A campaign rule of the TOML plan: which posts belong to a campaign the plan does not
/// list one by one. Every criterion given must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignRule {
    /// The campaign.
    pub campaign_id: String,
    /// Published at or after (µs since the epoch, UTC).
    pub starts_at: Option<i64>,
    /// Published at or before.
    pub ends_at: Option<i64>,
    /// Hashtags (`#luminaglow`) or mentions (`@lumina`), any of which the caption has.
    pub tags: Vec<String>,
    /// The post must carry a paid-partnership disclosure (the platform's flag, or `#ad`,
    /// `#sponsored`, `paid partnership` … in the caption).
    pub disclosed: bool,
    /// The creators it applies to; empty = all.
    pub creators: Vec<String>,
}

/// A read tracking plan.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Creator accounts, in file order.
    pub creators: Vec<PlanCreator>,
    /// Assets, in file order.
    pub assets: Vec<PlanAsset>,
    /// Posts tied to campaigns, in file order.
    pub posts: Vec<PlanPost>,
    /// Campaign rules, in file order (the first that matches wins).
    pub rules: Vec<CampaignRule>,
    codes: BTreeMap<String, String>,
    links: BTreeMap<String, usize>,
    post_index: BTreeMap<String, usize>,
}

const METHODS: &[&str] = &["promo_code", "utm", "affiliate_link", "pixel", "post"];

/// A post id or permalink as the plan compares it: trimmed, without the query string or a
/// trailing `/`, URLs case-folded up to their path (`https://www.instagram.com/reel/Cx1/`
/// and `instagram.com/reel/Cx1` are the same post).
#[must_use]
pub fn normalise_post(v: &str) -> String {
    let v = v.trim();
    let v = v.split(['?', '#']).next().unwrap_or(v).trim_end_matches('/');
    match v.find("://") {
        Some(i) => {
            let rest = &v[i + 3..];
            let rest = rest.strip_prefix("www.").unwrap_or(rest);
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            format!("{}/{path}", host.to_lowercase())
        }
        None if v.contains('/') => {
            let v = v.strip_prefix("www.").unwrap_or(v);
            let (host, path) = v.split_once('/').unwrap_or((v, ""));
            format!("{}/{path}", host.to_lowercase())
        }
        None => v.to_owned(),
    }
}
const PLATFORMS: &[&str] = &["instagram", "tiktok", "youtube", "other"];

/// A UTM value as analytics tools compare it: trimmed, `+` as a space, %-decoded, lower case.
#[must_use]
pub fn normalise_utm(v: &str) -> String {
    super::channel::decode(v.trim()).to_lowercase()
}

/// Reads plan rows (from CSV records or TOML entries) with one set of checks.
struct PlanReader<'a> {
    path: &'a Path,
    plan: Plan,
    rejects: Vec<Reject>,
    seen: BTreeMap<(String, String), usize>,
}

impl PlanReader<'_> {
    fn reject(&mut self, row: u64, column: &str, value: &str, reason: String) {
        self.rejects.push(Reject {
            table: Table::Creators,
            file: self.path.to_owned(),
            row: Some(row),
            column: column.to_owned(),
            value: Some(value.to_owned()),
            reason,
        });
    }

    /// One asset row: the creator's columns and, optionally, `method` + `value`.
    fn row(&mut self, row: u64, get: &dyn Fn(&str) -> String) {
        let creator_id = get("creator_id");
        let platform = get("platform").to_lowercase();
        if creator_id.is_empty() {
            self.reject(row, "creator_id", "", "required value is missing".into());
            return;
        }
        if !PLATFORMS.contains(&platform.as_str()) {
            self.reject(row, "platform", &get("platform"), format!("expected one of {}", PLATFORMS.join(", ")));
            return;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) =
            self.seen.entry((creator_id.clone(), platform.clone()))
        {
            let Ok(followers) = get("followers").replace(',', "").parse::<i64>() else {
                self.reject(row, "followers", &get("followers"), "expected a whole number of followers".into());
                return;
            };
            let handle = get("handle").trim_start_matches('@').to_owned();
            if handle.is_empty() {
                self.reject(row, "handle", "", "required value is missing".into());
                return;
            }
            let opt = |n: &str| Some(get(n)).filter(|v| !v.is_empty());
            slot.insert(self.plan.creators.len());
            self.plan.creators.push(PlanCreator {
                creator_id: creator_id.clone(),
                platform,
                handle,
                followers,
                niche: opt("niche"),
                country: opt("country"),
                account_id: opt("account_id"),
            });
        }
        let (method, value) = (get("method").to_lowercase(), get("value"));
        match (method.is_empty(), value.is_empty()) {
            (true, true) => return,
            (false, true) => {
                self.reject(row, "value", "", format!("a {method} asset needs its value"));
                return;
            }
            (true, false) => {
                self.reject(row, "method", "", format!("the value `{value}` needs a method ({})", METHODS.join(", ")));
                return;
            }
            (false, false) => {}
        }
        if !METHODS.contains(&method.as_str()) {
            self.reject(row, "method", &method, format!("expected one of {}", METHODS.join(", ")));
            return;
        }
        if method == "post" {
            let key = normalise_post(&value);
            if let Some(&other) = self.plan.post_index.get(&key) {
                let o = &self.plan.posts[other];
                self.reject(row, "value", &value, format!("the post is already listed for creator {}", o.creator_id));
                return;
            }
            self.plan.post_index.insert(key, self.plan.posts.len());
            let campaign_id = Some(get("campaign_id")).filter(|v| !v.is_empty());
            self.plan.posts.push(PlanPost { creator_id, value, campaign_id });
            return;
        }
        if method == "promo_code" {
            let key = value.to_lowercase();
            if let Some(other) = self.plan.codes.get(&key).filter(|o| **o != creator_id) {
                self.reject(row, "value", &value, format!("the code is already issued to creator {other}"));
                return;
            }
            self.plan.codes.insert(key, creator_id.clone());
        }
        if method == "utm" || method == "affiliate_link" {
            let key = normalise_utm(&value);
            if let Some(&other) = self.plan.links.get(&key)
                && self.plan.assets[other].creator_id != creator_id
            {
                self.reject(
                    row,
                    "value",
                    &value,
                    format!("the link value is already issued to creator {}", self.plan.assets[other].creator_id),
                );
                return;
            }
            self.plan.links.entry(key).or_insert(self.plan.assets.len());
        }
        let campaign_id = Some(get("campaign_id")).filter(|v| !v.is_empty());
        self.plan.assets.push(PlanAsset { creator_id, method, value, campaign_id });
    }
}

impl Plan {
    /// Reads a plan: CSV (one row per asset) or TOML (`[[creators]]` tables), by the
    /// file's extension; bad rows are rejects (file, row, column, value, reason).
    pub fn read(path: &Path) -> Result<(Plan, Vec<Reject>), DataError> {
        let mut b = PlanReader { path, plan: Plan::default(), rejects: Vec::new(), seen: BTreeMap::new() };
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            read_toml(path, &mut b)?;
        } else {
            let mut reader =
                csv::Reader::from_path(path).map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
            let header = Header::new(
                reader.headers().map_err(|source| DataError::Csv { path: path.to_owned(), source })?.iter(),
            );
            header.require(path, &["creator_id", "platform", "handle", "followers"])?;
            for (k, rec) in reader.records().enumerate() {
                let rec = rec.map_err(|source| DataError::Csv { path: path.to_owned(), source })?;
                let get =
                    |n: &str| header.get(n).and_then(|i| rec.get(i)).map_or(String::new(), |v| v.trim().to_owned());
                b.row(k as u64 + 1, &get);
            }
        }
        Ok((b.plan, b.rejects))
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

    /// The creator whose account on `platform` has the platform's id `account_id`.
    #[must_use]
    pub fn creator_of_account(&self, platform: &str, account_id: &str) -> Option<&PlanCreator> {
        self.creators.iter().find(|c| c.platform == platform && c.account_id.as_deref() == Some(account_id))
    }

    /// The creator whose account on `platform` has the handle `handle` (case-insensitive,
    /// a leading `@` ignored).
    #[must_use]
    pub fn creator_of_handle(&self, platform: &str, handle: &str) -> Option<&PlanCreator> {
        let h = handle.trim().trim_start_matches('@');
        self.creators.iter().find(|c| c.platform == platform && c.handle.eq_ignore_ascii_case(h))
    }

    /// The plan's entry for a post, by its id or any of its permalinks.
    #[must_use]
    pub fn post(&self, ids: &[&str]) -> Option<&PlanPost> {
        ids.iter().find_map(|v| self.post_index.get(&normalise_post(v))).map(|&i| &self.posts[i])
    }

    /// The campaign of the first rule a post matches: its creator, publication time,
    /// caption and whether the platform flags it as a paid partnership.
    #[must_use]
    pub fn campaign_by_rules(
        &self,
        creator_id: &str,
        published_at: i64,
        caption: &str,
        flagged: Option<bool>,
    ) -> Option<&str> {
        let caption = caption.to_lowercase();
        let disclosed = flagged.unwrap_or(false) || has_disclosure(&caption);
        self.rules
            .iter()
            .find(|r| {
                (r.creators.is_empty() || r.creators.iter().any(|c| c == creator_id))
                    && r.starts_at.is_none_or(|s| published_at >= s)
                    && r.ends_at.is_none_or(|e| published_at <= e)
                    && (r.tags.is_empty() || r.tags.iter().any(|t| has_tag(&caption, t)))
                    && (!r.disclosed || disclosed)
            })
            .map(|r| r.campaign_id.as_str())
    }

    /// The creator account of `creator_id` (its first platform in the plan).
    #[must_use]
    pub fn creator(&self, creator_id: &str) -> Option<&PlanCreator> {
        self.creators.iter().find(|c| c.creator_id == creator_id)
    }

    /// Writes the `creators` and `tracking_assets` tables to `sink`; returns their rows.
    pub fn write(&self, sink: &mut super::Sink<'_>) -> Result<(u64, u64), DataError> {
        let creators = self.write_creators(sink)?;
        Ok((creators, self.write_assets(sink)?))
    }

    /// Writes the `creators` table (the plan's counts) to `sink`; returns its rows.
    pub fn write_creators(&self, sink: &mut super::Sink<'_>) -> Result<u64, DataError> {
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
        Ok(self.creators.len() as u64)
    }

    /// Writes the `tracking_assets` table to `sink`; returns its rows.
    pub fn write_assets(&self, sink: &mut super::Sink<'_>) -> Result<u64, DataError> {
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
        Ok(self.assets.len() as u64)
    }
}

/// Whether a caption (lower case) carries a paid-partnership disclosure: `#ad`,
/// `#sponsored`, `#paidpartnership`, `#partner`, `#werbung`, `#anzeige`, `#publicidad`,
/// `#pub`, or the words `paid partnership` / `sponsored by`.
#[must_use]
pub fn has_disclosure(caption: &str) -> bool {
    const TAGS: &[&str] = &[
        "#ad",
        "#advert",
        "#sponsored",
        "#paidpartnership",
        "#partner",
        "#werbung",
        "#anzeige",
        "#publicidad",
        "#pub",
    ];
    TAGS.iter().any(|t| has_tag(caption, t)) || caption.contains("paid partnership") || caption.contains("sponsored by")
}

/// Whether `text` (lower case) has the hashtag or mention `tag` as a whole word: `#ad`
/// is in `love it #ad!` but not in `#adventure`.
fn has_tag(text: &str, tag: &str) -> bool {
    let tag = tag.trim().to_lowercase();
    if tag.is_empty() {
        return false;
    }
    let mut from = 0;
    while let Some(i) = text[from..].find(&tag) {
        let start = from + i;
        let end = start + tag.len();
        let before_ok =
            start == 0 || !text[..start].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after_ok = !text[end..].chars().next().is_some_and(|c| c.is_alphanumeric() || c == '_');
        if before_ok && after_ok {
            return true;
        }
        from = end;
    }
    false
}

/// A date (`2025-03-01`, the start of that day, or its end with `end_of_day`) or an RFC
/// 3339 time, as µs since the epoch.
fn parse_when(v: &str, end_of_day: bool) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.timestamp_micros());
    }
    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    let t = if end_of_day { d.and_hms_micro_opt(23, 59, 59, 999_999)? } else { d.and_hms_opt(0, 0, 0)? };
    Some(t.and_utc().timestamp_micros())
}

/// The TOML form of a plan:
///
/// ```toml
/// [[creators]]
/// creator_id = "cr-ava"
/// platform = "instagram"
/// handle = "@ava.glow"
/// followers = 48200
/// niche = "beauty"          # optional, as `country`
/// account_id = "17841400000000001"  # optional: the platform's id of the account
/// campaign_id = "spring-25" # optional: the campaign of the assets below
/// promo_codes = ["AVA15"]
/// utm = ["spring-glow-ava"]
/// affiliate_links = ["2847561"]   # link ids and network partner ids
/// pixel = []
/// posts = ["17890000000000001", "https://www.instagram.com/reel/Cx1/"]  # paid posts
///
/// [[campaigns]]               # optional: rules for posts not listed one by one
/// campaign_id = "spring-25"
/// starts_at = "2025-03-01"    # optional window of publication (dates or RFC 3339)
/// ends_at = "2025-04-30"
/// tags = ["#luminaglow", "@lumina"]  # optional: any of these in the caption
/// disclosed = true            # optional: the post carries #ad / paid partnership
/// creators = ["cr-ava"]       # optional: only these creators
/// ```
///
/// Each entry is checked like a CSV row; a reject's row is the entry's number (campaign
/// rules count after the creators).
fn read_toml(path: &Path, b: &mut PlanReader<'_>) -> Result<(), DataError> {
    const FIELDS: &[&str] =
        &["creator_id", "platform", "handle", "followers", "niche", "country", "account_id", "campaign_id"];
    const LISTS: &[(&str, &str)] = &[
        ("promo_codes", "promo_code"),
        ("utm", "utm"),
        ("affiliate_links", "affiliate_link"),
        ("pixel", "pixel"),
        ("posts", "post"),
    ];
    let text = std::fs::read_to_string(path).map_err(DataError::io(path))?;
    let bad = |reason: String| DataError::InvalidRow { path: path.to_owned(), row: 0, column: String::new(), reason };
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| bad(format!("not valid TOML: {e}")))?;
    let known = ["creators", "campaigns"];
    if let Some(k) = doc.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(format!("unknown key `{k}`: a plan holds `[[creators]]` and `[[campaigns]]` entries")));
    }
    let Some(entries) = doc.get("creators").and_then(toml::Value::as_array) else {
        return Err(bad("no `[[creators]]` entries".into()));
    };
    for (k, entry) in entries.iter().enumerate() {
        let row = k as u64 + 1;
        let Some(t) = entry.as_table() else {
            b.reject(row, "creators", "", "expected a table".into());
            continue;
        };
        if let Some(x) = t.keys().find(|x| !FIELDS.contains(&x.as_str()) && !LISTS.iter().any(|(l, _)| l == x)) {
            let hint = super::headers::closest(x, FIELDS.iter().chain(LISTS.iter().map(|(l, _)| l)).copied())
                .map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"));
            b.reject(row, x, "", format!("unknown key{hint}"));
            continue;
        }
        let scalar = |n: &str| match t.get(n) {
            Some(toml::Value::String(v)) => v.trim().to_owned(),
            Some(toml::Value::Integer(v)) => v.to_string(),
            Some(toml::Value::Float(v)) => v.to_string(),
            Some(toml::Value::Boolean(v)) => v.to_string(),
            Some(_) => "(a table or list)".to_owned(),
            None => String::new(),
        };
        let mut assets: Vec<(&str, String)> = Vec::new();
        for (list, method) in LISTS {
            match t.get(*list) {
                None => {}
                Some(toml::Value::Array(values)) => {
                    for v in values {
                        match v {
                            toml::Value::String(x) => assets.push((method, x.clone())),
                            toml::Value::Integer(x) => assets.push((method, x.to_string())),
                            _ => b.reject(row, list, "", format!("`{list}` is a list of strings")),
                        }
                    }
                }
                Some(_) => b.reject(row, list, "", format!("`{list}` is a list of strings")),
            }
        }
        if assets.is_empty() {
            b.row(row, &|n: &str| scalar(n));
        }
        for (method, value) in &assets {
            b.row(row, &|n: &str| match n {
                "method" => (*method).to_owned(),
                "value" => value.clone(),
                _ => scalar(n),
            });
        }
    }
    let rules = doc.get("campaigns").and_then(toml::Value::as_array).map_or(&[][..], Vec::as_slice);
    for (k, entry) in rules.iter().enumerate() {
        let row = (entries.len() + k) as u64 + 1;
        if let Some(rule) = campaign_rule(entry, row, b) {
            b.plan.rules.push(rule);
        }
    }
    Ok(())
}

/// One `[[campaigns]]` rule, or `None` after recording why it is refused.
fn campaign_rule(entry: &toml::Value, row: u64, b: &mut PlanReader<'_>) -> Option<CampaignRule> {
    const KEYS: &[&str] = &["campaign_id", "starts_at", "ends_at", "tags", "disclosed", "creators"];
    let Some(t) = entry.as_table() else {
        b.reject(row, "campaigns", "", "expected a table".into());
        return None;
    };
    if let Some(x) = t.keys().find(|x| !KEYS.contains(&x.as_str())) {
        let hint = super::headers::closest(x, KEYS.iter().copied())
            .map_or_else(String::new, |c| format!(" (did you mean `{c}`?)"));
        b.reject(row, x, "", format!("unknown key of a campaign rule{hint}"));
        return None;
    }
    let Some(campaign_id) = t.get("campaign_id").and_then(toml::Value::as_str).map(str::trim).filter(|v| !v.is_empty())
    else {
        b.reject(row, "campaign_id", "", "a campaign rule needs its campaign_id".into());
        return None;
    };
    let mut rule = CampaignRule { campaign_id: campaign_id.to_owned(), ..CampaignRule::default() };
    for (key, end) in [("starts_at", false), ("ends_at", true)] {
        let Some(v) = t.get(key) else { continue };
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => format!("{other:?}"),
        };
        let Some(at) = parse_when(text.trim(), end) else {
            b.reject(row, key, &text, "expected a date (2025-03-01) or an RFC 3339 time".into());
            return None;
        };
        if key == "starts_at" {
            rule.starts_at = Some(at);
        } else {
            rule.ends_at = Some(at);
        }
    }
    for key in ["tags", "creators"] {
        let Some(v) = t.get(key) else { continue };
        let Some(items) =
            v.as_array().and_then(|a| a.iter().map(|x| x.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
        else {
            b.reject(row, key, "", format!("`{key}` is a list of strings"));
            return None;
        };
        if key == "tags" {
            if let Some(bad) = items.iter().find(|x| !(x.starts_with('#') || x.starts_with('@')) || x.len() < 2) {
                b.reject(row, key, bad, "a tag is a hashtag (`#luminaglow`) or a mention (`@lumina`)".into());
                return None;
            }
            rule.tags = items;
        } else {
            rule.creators = items;
        }
    }
    match t.get("disclosed") {
        None => {}
        Some(toml::Value::Boolean(v)) => rule.disclosed = *v,
        Some(other) => {
            b.reject(row, "disclosed", &format!("{other:?}"), "expected true or false".into());
            return None;
        }
    }
    if let (Some(s), Some(e)) = (rule.starts_at, rule.ends_at)
        && e < s
    {
        b.reject(row, "ends_at", "", "the window ends before it starts".into());
        return None;
    }
    Some(rule)
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
    fn the_toml_form_reads_like_the_csv_form() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.toml");
        std::fs::write(
            &p,
            "[[creators]]\ncreator_id = \"c1\"\nplatform = \"instagram\"\nhandle = \"@ava\"\nfollowers = 12000\naccount_id = \"178\"\n\
             campaign_id = \"spring\"\npromo_codes = [\"AVA15\"]\nutm = [\"Spring+Glow\"]\n\n\
             [[creators]]\ncreator_id = \"c2\"\nplatform = \"tiktok\"\nhandle = \"ben\"\nfollowers = 800\n\
             promo_codes = [\"ava15\"]\nutms = [\"x\"]\n",
        )
        .unwrap();
        let (plan, rejects) = Plan::read(&p).unwrap();
        assert_eq!(plan.creators.len(), 1);
        assert_eq!(plan.creator_of_code("ava15"), Some("c1"));
        assert_eq!(plan.creator_of_account("instagram", "178").map(|c| c.handle.as_str()), Some("ava"));
        assert_eq!(plan.asset_of_link("spring glow").map(|a| a.campaign_id.as_deref()), Some(Some("spring")));
        assert_eq!(rejects.len(), 1, "{rejects:?}");
        assert!(rejects[0].reason.contains("did you mean `utm`"), "{rejects:?}");
        std::fs::write(&p, "[[creator]]\n").unwrap();
        assert!(Plan::read(&p).unwrap_err().to_string().contains("unknown key `creator`"));
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
