//! Web sessions as analytics tools build them, shared by the GA4 and the pixel-event
//! importers: one `sessions` row each and one `touchpoints` row (`interaction` = `click`),
//! its channel from the plan (a creator's UTM or link id), ad click ids and GA4's default
//! channel rules ([`super::channel`]).

use serde_json::{Value, json};

use super::channel::{self, ClickIds};
use super::{ImportOptions, ImportReport, Sink};
use crate::builder::RowBuilder;
use crate::{DataError, Table};

const BATCH: usize = 65_536;

/// One session being gathered from its events.
#[derive(Debug, Clone)]
pub struct Session {
    /// Earliest event, µs.
    pub started_at: i64,
    /// Latest event, µs.
    pub ended_at: i64,
    /// `utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term` of the
    /// earliest event that had any.
    pub utm: [Option<String>; 5],
    utm_at: i64,
    referrer: Option<(i64, String)>,
    landing: Option<(i64, String)>,
    /// Engagement time, ms.
    pub engagement_ms: i64,
    /// Page views.
    pub pageviews: i64,
    /// Whether any event marked the session engaged.
    pub engaged: bool,
    /// Ad click ids seen.
    pub clicks: ClickIds,
    /// The tool's session number of the user, if it counts them.
    pub number: Option<i64>,
}

/// What one event tells about its session.
#[derive(Debug, Default)]
pub struct Seen {
    /// Time, µs.
    pub ts: i64,
    /// Campaign fields it carries (see [`Session::utm`]).
    pub utm: [Option<String>; 5],
    /// Click ids on it.
    pub clicks: ClickIds,
    /// Host of its referrer.
    pub referrer: Option<String>,
    /// Path of its page when it is a page view or the session's start.
    pub landing: Option<String>,
    /// A page view.
    pub page_view: bool,
    /// Engagement time it reports, ms.
    pub engagement_ms: i64,
    /// Marks the session engaged.
    pub engaged: bool,
}

impl Session {
    /// A session of no events yet.
    #[must_use]
    pub fn new() -> Session {
        Session {
            started_at: i64::MAX,
            ended_at: i64::MIN,
            utm: Default::default(),
            utm_at: i64::MAX,
            referrer: None,
            landing: None,
            engagement_ms: 0,
            pageviews: 0,
            engaged: false,
            clicks: ClickIds::default(),
            number: None,
        }
    }

    /// Adds an event: the earliest campaign, referrer and landing page win, whatever the
    /// order the events arrive in (daily files, late events).
    pub fn observe(&mut self, e: Seen) {
        self.started_at = self.started_at.min(e.ts);
        self.ended_at = self.ended_at.max(e.ts);
        if e.utm.iter().any(Option::is_some) && e.ts < self.utm_at {
            self.utm = e.utm;
            self.utm_at = e.ts;
        }
        let c = e.clicks;
        self.clicks = ClickIds {
            gclid: self.clicks.gclid || c.gclid,
            fbclid: self.clicks.fbclid || c.fbclid,
            ttclid: self.clicks.ttclid || c.ttclid,
        };
        if let Some(r) = e.referrer
            && self.referrer.as_ref().is_none_or(|(t, _)| e.ts < *t)
        {
            self.referrer = Some((e.ts, r));
        }
        if let Some(l) = e.landing
            && self.landing.as_ref().is_none_or(|(t, _)| e.ts < *t)
        {
            self.landing = Some((e.ts, l));
        }
        self.pageviews += i64::from(e.page_view);
        self.engagement_ms += e.engagement_ms.max(0);
        self.engaged |= e.engaged;
    }
}

impl Default for Session {
    fn default() -> Session {
        Session::new()
    }
}

/// Writes `sessions` (id, user, session, extra fields) and one touchpoint each, in
/// start-time order; touch ids are `{source}:{session id}`. Called once or in several
/// flushes: the report's counts add up.
pub fn write(
    mut all: Vec<(String, String, Session, serde_json::Map<String, Value>)>,
    source: &str,
    opts: &ImportOptions,
    report: &mut ImportReport,
    sink: &mut Sink<'_>,
) -> Result<(), DataError> {
    all.sort_by(|a, b| (a.2.started_at, &a.0).cmp(&(b.2.started_at, &b.0)));
    let mut ss = RowBuilder::new(super::with_extra(Table::Sessions));
    let mut tp = RowBuilder::for_table(Table::Touchpoints);
    let mut by_channel: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
    for (id, user, s, extra) in &mut all {
        let (id, user, s) = (&*id, &*user, &*s);
        let [utm_source, medium, campaign, content, term] = &s.utm;
        let referrer = s.referrer.as_ref().map(|(_, r)| r.as_str());
        for (k, on) in [("gclid", s.clicks.gclid), ("fbclid", s.clicks.fbclid), ("ttclid", s.clicks.ttclid)] {
            if on {
                extra.insert(k.into(), json!(true));
            }
        }
        ss.text(id)
            .text(user)
            .ts(s.started_at)
            .opt_text(utm_source.as_deref())
            .opt_text(medium.as_deref())
            .opt_text(campaign.as_deref())
            .opt_text(content.as_deref())
            .opt_text(term.as_deref())
            .opt_text(referrer)
            .opt_text(s.landing.as_ref().map(|(_, l)| l.as_str()))
            .float(s.engagement_ms as f64 / 1000.0)
            .int(s.pageviews)
            .bool(!s.engaged)
            .text(&Value::Object(std::mem::take(extra)).to_string())
            .end_row();
        let asset = opts.plan.as_ref().and_then(|p| {
            content
                .as_deref()
                .and_then(|c| p.asset_of_link(c))
                .or_else(|| campaign.as_deref().and_then(|c| p.asset_of_link(c)))
        });
        let platform =
            utm_source.as_deref().and_then(channel::platform).or_else(|| referrer.and_then(channel::platform));
        let (ch, creator, campaign_id, tracking) = if let Some(a) = asset {
            (
                "creator",
                Some(a.creator_id.as_str()),
                a.campaign_id.as_deref(),
                if a.method == "affiliate_link" { "affiliate_link" } else { "utm" },
            )
        } else {
            if medium.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("influencer")) {
                report.note("sessions with utm_medium=influencer matching no plan asset (counted as other)");
            }
            let ch = channel::classify(utm_source.as_deref(), medium.as_deref(), referrer, s.clicks);
            (ch, None, None, if s.utm.iter().any(Option::is_some) { "utm" } else { "pixel" })
        };
        *by_channel.entry(ch).or_default() += 1;
        tp.text(&format!("{source}:{id}"))
            .text(user)
            .ts(s.started_at)
            .text(ch)
            .opt_text(creator)
            .opt_text(campaign_id)
            .opt_text(platform)
            .text("click")
            .opt_text(Some(tracking))
            .end_row();
        if ss.len() >= BATCH {
            sink(Table::Sessions, ss.finish())?;
            sink(Table::Touchpoints, tp.finish())?;
        }
    }
    if !ss.is_empty() {
        sink(Table::Sessions, ss.finish())?;
        sink(Table::Touchpoints, tp.finish())?;
    }
    for (ch, n) in by_channel {
        *report.notes.entry(format!("sessions by channel: {ch}")).or_default() += n;
    }
    *report.written.entry("sessions".into()).or_default() += all.len() as u64;
    *report.written.entry("touchpoints".into()).or_default() += all.len() as u64;
    Ok(())
}
