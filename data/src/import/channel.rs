//! Channels of web traffic: GA4's default channel grouping rules (source, medium and
//! campaign name of a session), mapped onto roicast's channels, with the tracking plan
//! first (a session whose `utm_content` or `utm_campaign` is a creator's link is that
//! creator's) and ad click ids next (`gclid` → search, `ttclid` / `fbclid` → paid social).
//!
//! | GA4 default channel group | rule (case-insensitive) | roicast channel |
//! |---|---|---|
//! | Direct | source `(direct)` or empty, medium `(none)` / `(not set)` / empty | `direct` |
//! | Paid Search | search-engine source, medium `cpc`/`ppc`/`paid*`/`retargeting`; or a `gclid` | `search` |
//! | Organic Search | search-engine source, or medium `organic` | `search` |
//! | Paid Social | social source and paid medium; or a `ttclid` / `fbclid` | `paid_social` |
//! | Email | source or medium `email` / `e-mail` / `e_mail` / `e mail`, or medium `newsletter` | `email` |
//! | Affiliates | medium `affiliate` (or `affiliate_link`) | `affiliate` |
//! | Organic Social, Referral, Display, Video, Paid Other, … | | `other` |
//!
//! `fbclid` is added by Meta to organic links as well as to ads: a creator's link without
//! UTMs would count as paid social. Creator links are recognised by their UTMs or link ids.

/// Search engines (GA4's list, shortened to the engines that send traffic).
const SEARCH: &[&str] = &["google", "bing", "yahoo", "duckduckgo", "baidu", "yandex", "ecosia", "naver", "brave"];
/// Social and video networks.
const SOCIAL: &[&str] = &[
    "facebook",
    "instagram",
    "tiktok",
    "youtube",
    "youtu.be",
    "twitter",
    "t.co",
    "x.com",
    "pinterest",
    "linkedin",
    "reddit",
    "snapchat",
    "threads",
    "meta",
    "fb",
    "ig",
];

/// Ad click ids seen on a landing URL or in `collected_traffic_source`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClickIds {
    /// Google Ads `gclid` (or `gbraid` / `wbraid`).
    pub gclid: bool,
    /// Meta's `fbclid`.
    pub fbclid: bool,
    /// TikTok's `ttclid`.
    pub ttclid: bool,
}

fn is_paid(medium: &str) -> bool {
    medium.contains("cp") || medium == "ppc" || medium == "retargeting" || medium.starts_with("paid")
}

fn is_email(v: &str) -> bool {
    matches!(v, "email" | "e-mail" | "e_mail" | "e mail" | "newsletter")
}

fn matches_any(source: &str, list: &[&str]) -> bool {
    list.iter().any(|s| {
        source == *s
            || source.split(['.', '_', '-', ' ']).any(|part| part == *s)
            || (s.contains('.') && source.contains(s))
    })
}

/// The platform a source or referrer names (`instagram`, `tiktok`, `youtube`).
#[must_use]
pub fn platform(source_or_host: &str) -> Option<&'static str> {
    let s = source_or_host.to_lowercase();
    if s.contains("instagram") || s == "ig" {
        Some("instagram")
    } else if s.contains("tiktok") {
        Some("tiktok")
    } else if s.contains("youtube") || s.contains("youtu.be") {
        Some("youtube")
    } else {
        None
    }
}

/// roicast's channel of a session without a plan match, by GA4's rules.
#[must_use]
pub fn classify(source: Option<&str>, medium: Option<&str>, referrer: Option<&str>, clicks: ClickIds) -> &'static str {
    let source = source.map(str::to_lowercase).unwrap_or_default();
    let medium = medium.map(str::to_lowercase).unwrap_or_default();
    if clicks.gclid {
        return "search";
    }
    if clicks.ttclid || (clicks.fbclid && (medium.is_empty() || is_paid(&medium))) {
        return "paid_social";
    }
    // Without UTMs GA4 takes the source from the referrer.
    let source = if source.is_empty() { referrer.map(str::to_lowercase).unwrap_or_default() } else { source };
    if (source.is_empty() || source == "(direct)") && matches!(medium.as_str(), "" | "(none)" | "(not set)") {
        return "direct";
    }
    if matches!(medium.as_str(), "affiliate" | "affiliate_link" | "affiliates") {
        return "affiliate";
    }
    if is_email(&source) || is_email(&medium) {
        return "email";
    }
    let search = matches_any(&source, SEARCH);
    let social = matches_any(&source, SOCIAL);
    if search && (is_paid(&medium) || medium == "organic" || medium.is_empty() || medium == "referral") {
        return "search";
    }
    if medium == "organic" {
        return "search";
    }
    if social && is_paid(&medium) {
        return "paid_social";
    }
    if medium == "paid_social" || medium == "paid-social" {
        return "paid_social";
    }
    "other"
}

/// The host of a URL (`https://www.instagram.com/p/x` → `instagram.com`), without `www.`.
#[must_use]
pub fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?.split('@').next_back()?.split(':').next()?;
    let host = host.trim_start_matches("www.").to_lowercase();
    (!host.is_empty()).then_some(host)
}

/// The path of a URL (`https://shop.example/products/x?utm_source=y` → `/products/x`).
#[must_use]
pub fn path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r.find('/').map_or("", |i| &r[i..]));
    let p = rest.split(['?', '#']).next().unwrap_or("");
    if p.is_empty() { "/".to_owned() } else { p.to_owned() }
}

/// Every query parameter of a URL, %-decoded with `+` as a space, in order.
#[must_use]
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, query)) = url.split_once('?') else { return Vec::new() };
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The query parameter `key` of a URL, %-decoded with `+` as a space.
#[must_use]
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let query = url.split_once('?')?.1.split('#').next()?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k.eq_ignore_ascii_case(key) && !v.is_empty()).then(|| decode(v))
    })
}

/// %-decodes a URL component with `+` as a space (invalid escapes stay as written).
#[must_use]
pub fn decode(v: &str) -> String {
    let bytes = v.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ga4_rules_map_to_roicast_channels() {
        let none = ClickIds::default();
        assert_eq!(classify(Some("(direct)"), Some("(none)"), None, none), "direct");
        assert_eq!(classify(None, None, None, none), "direct");
        assert_eq!(classify(Some("google"), Some("cpc"), None, none), "search");
        assert_eq!(classify(Some("google"), Some("organic"), None, none), "search");
        assert_eq!(classify(None, None, Some("bing.com"), none), "search");
        assert_eq!(classify(Some("facebook"), Some("paid"), None, none), "paid_social");
        assert_eq!(classify(Some("meta"), Some("paid_social"), None, none), "paid_social");
        assert_eq!(classify(Some("newsletter"), Some("email"), None, none), "email");
        assert_eq!(classify(Some("couponsite"), Some("affiliate"), None, none), "affiliate");
        assert_eq!(classify(Some("instagram"), Some("social"), None, none), "other");
        assert_eq!(classify(None, None, Some("blog.example"), none), "other");
        assert_eq!(classify(None, None, None, ClickIds { gclid: true, ..none }), "search");
        assert_eq!(classify(None, None, None, ClickIds { ttclid: true, ..none }), "paid_social");
        assert_eq!(classify(Some("newsletter"), Some("email"), None, ClickIds { fbclid: true, ..none }), "email");
    }

    #[test]
    fn urls_give_host_path_and_decoded_parameters() {
        let u = "https://www.shop.example/products/serum?utm_source=instagram&utm_content=Spring+Glow%20Ava#top";
        assert_eq!(host(u).as_deref(), Some("shop.example"));
        assert_eq!(path(u), "/products/serum");
        assert_eq!(path("https://shop.example"), "/");
        assert_eq!(query_param(u, "utm_content").as_deref(), Some("Spring Glow Ava"));
        assert_eq!(query_param(u, "utm_term"), None);
        assert_eq!(query_param("https://x/?a=100%", "a").as_deref(), Some("100%"));
        assert_eq!(query_pairs("https://x/?a=1&b=c+d#f"), [("a".into(), "1".into()), ("b".into(), "c d".into())]);
        assert_eq!(platform("l.instagram.com"), Some("instagram"));
    }
}
