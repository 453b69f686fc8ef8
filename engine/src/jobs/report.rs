//! The report job: one self-contained HTML file (inline
//! SVG charts and CSS, a few lines of inline script for sortable tables; nothing loaded
//! from the network) from the outputs of a run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;
use roicast_data::Table;
use roicast_data::io::FileReader;

use serde::{Deserialize, Serialize};

use super::Ctx;

/// Rows of a CSV file as maps (empty when the file is absent).
fn csv_rows(path: &Path) -> anyhow::Result<Vec<BTreeMap<String, String>>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut r = csv::Reader::from_path(path).with_context(|| format!("failed to open {}", path.display()))?;
    r.deserialize().map(|x| x.with_context(|| format!("reading {}", path.display()))).collect()
}

/// A Parquet/CSV/Arrow file's columns as text and numbers (empty when absent).
#[derive(Default)]
pub(crate) struct Frame {
    pub(crate) text: BTreeMap<String, Vec<Option<String>>>,
    pub(crate) num: BTreeMap<String, Vec<Option<f64>>>,
    pub(crate) rows: usize,
}

impl Frame {
    pub(crate) fn read(path: &Path) -> anyhow::Result<Frame> {
        Self::read_only(path, None)
    }

    /// Only the named columns (the others are not decoded from Parquet, nor kept from
    /// other formats): a results table can be far wider than what a caller needs.
    pub(crate) fn read_columns(path: &Path, columns: &[&str]) -> anyhow::Result<Frame> {
        Self::read_only(path, Some(columns))
    }

    fn read_only(path: &Path, columns: Option<&[&str]>) -> anyhow::Result<Frame> {
        let mut f = Frame::default();
        if !path.exists() {
            return Ok(f);
        }
        let mut r = match columns {
            Some(c) => FileReader::open_columns(Table::Comments, path, c),
            None => FileReader::open(Table::Comments, path),
        }
        .with_context(|| format!("failed to open {}", path.display()))?;
        while let Some(raw) = r.next_batch()? {
            let b = raw.batch;
            for (field, a) in b.schema().fields().iter().zip(b.columns()) {
                if columns.is_some_and(|c| !c.contains(&field.name().as_str())) {
                    continue;
                }
                let name = field.name().clone();
                match a.data_type() {
                    DataType::Float64 | DataType::Int64 => {
                        let c = arrow_cast::cast(a, &DataType::Float64)?;
                        let c = c.as_primitive::<arrow_array::types::Float64Type>();
                        f.num.entry(name).or_default().extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i))));
                    }
                    DataType::Timestamp(..) => {
                        let c = a.as_primitive::<arrow_array::types::TimestampMicrosecondType>();
                        f.num
                            .entry(name)
                            .or_default()
                            .extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i) as f64)));
                    }
                    _ => {
                        let c = arrow_cast::cast(a, &DataType::Utf8)?;
                        let c = c.as_string::<i32>();
                        f.text
                            .entry(name)
                            .or_default()
                            .extend((0..c.len()).map(|i| c.is_valid(i).then(|| c.value(i).to_owned())));
                    }
                }
            }
            f.rows += b.num_rows();
        }
        Ok(f)
    }
    pub(crate) fn t(&self, c: &str, i: usize) -> &str {
        self.text.get(c).and_then(|v| v[i].as_deref()).unwrap_or("")
    }
    pub(crate) fn n(&self, c: &str, i: usize) -> Option<f64> {
        self.num.get(c).and_then(|v| v[i])
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A chart value: millions as `1.2 M`, else whole numbers with thousands separators
/// (one decimal below 10), so values side by side read alike.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.abs() >= 1e6 {
        format!("{:.1} M", x / 1e6)
    } else if x.abs() >= 10.0 {
        grouped(x)
    } else {
        format!("{x:.1}")
    }
}

use crate::output::thousands as grouped;

/// A money amount in a table: whole units with separators.
fn money(x: f64) -> String {
    grouped(x)
}

/// A percentage in a table: whole percent, with the sign of losses.
fn pct(x: f64) -> String {
    if x.is_finite() { format!("{} %", grouped(x)) } else { "–".into() }
}

/// A 0–100 score in a table.
fn score(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), grouped)
}

/// Creators as a person reads them: `@handle (platform)`, the id where no handle is known.
struct Names(BTreeMap<String, String>);

impl Names {
    fn from_scorecard(cards: &Frame) -> Names {
        let mut m = BTreeMap::new();
        for i in 0..cards.rows {
            let h = cards.t("handle", i);
            if !h.is_empty() {
                m.entry(cards.t("creator_id", i).to_owned())
                    .or_insert_with(|| format!("@{} ({})", h.trim_start_matches('@'), cards.t("platform", i)));
            }
        }
        Names(m)
    }

    fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_owned())
    }
}

/// Room for the longest label at the charts' 13 px font (≈ 7.5 px a character).
fn label_width<'a>(labels: impl Iterator<Item = &'a str>) -> f64 {
    let longest = labels.map(|l| l.chars().count()).max().unwrap_or(0);
    (12.0 + 7.5 * longest as f64).clamp(120.0, 460.0)
}

/// A horizontal bar chart (labels, values printed on the bars; negative values to the
/// left of a zero line). Legible without colour: values are written, bars are labelled.
fn hbar(title: &str, unit: &str, items: &[(String, f64)]) -> String {
    let items: Vec<&(String, f64)> = items.iter().filter(|x| x.1.is_finite()).collect();
    if items.is_empty() {
        return format!("<p class=\"empty\">{}: no data.</p>", esc(title));
    }
    let left = label_width(items.iter().map(|x| x.0.as_str()));
    let (row, right) = (22.0, 90.0);
    let w = left + 480.0 + right;
    let h = 40.0 + row * items.len() as f64 + 24.0;
    let max = items.iter().map(|x| x.1).fold(0.0f64, f64::max);
    let min = items.iter().map(|x| x.1).fold(0.0f64, f64::min);
    let span = (max - min).max(1e-12);
    let plot = w - left - right;
    let x0 = left + plot * (-min / span);
    let mut s = format!(
        "<figure><svg class=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"100%\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"{left}\" y=\"18\" class=\"axis\">{u}</text>",
        t = esc(title),
        u = esc(unit)
    );
    for (k, (label, v)) in items.iter().enumerate() {
        let y = 30.0 + row * k as f64;
        let x = left + plot * ((v - min) / span);
        let (bx, bw) = if x >= x0 { (x0, x - x0) } else { (x, x0 - x) };
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"lbl\">{l}</text><rect x=\"{bx:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh}\" class=\"{c}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" class=\"val\">{v}</text>",
            lx = left - 6.0,
            ty = y + 14.0,
            l = esc(label),
            bw = bw.max(1.0),
            bh = row - 6.0,
            c = if *v < 0.0 { "neg" } else { "pos" },
            vx = bx + bw.max(1.0) + 4.0,
            v = num(*v),
        );
    }
    let _ = write!(s, "<line x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"26\" y2=\"{y2}\" class=\"zero\"/>", y2 = h - 20.0);
    s.push_str("</svg>");
    let _ = write!(s, "<figcaption>{}</figcaption></figure>", esc(title));
    s
}

/// Range bars P10–P90 with a P50 tick.
fn ranges(title: &str, unit: &str, items: &[(String, f64, f64, f64)]) -> String {
    let items: Vec<&(String, f64, f64, f64)> = items.iter().filter(|x| x.1.is_finite() && x.3.is_finite()).collect();
    if items.is_empty() {
        return format!("<p class=\"empty\">{}: no data.</p>", esc(title));
    }
    let left = label_width(items.iter().map(|x| x.0.as_str()));
    let (row, right) = (22.0, 40.0);
    let w = left + 490.0 + right;
    let h = 40.0 + row * items.len() as f64 + 24.0;
    let min = items.iter().map(|x| x.1).fold(0.0f64, f64::min);
    let max = items.iter().map(|x| x.3).fold(0.0f64, f64::max);
    let span = (max - min).max(1e-12);
    let plot = w - left - right;
    let sx = |v: f64| left + plot * ((v - min) / span);
    let mut s = format!(
        "<figure><svg class=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"100%\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"{left}\" y=\"18\" class=\"axis\">{u} (bar: P10–P90, tick: P50)</text>",
        t = esc(title),
        u = esc(unit)
    );
    for (k, (label, p10, p50, p90)) in items.iter().enumerate() {
        let y = 30.0 + row * k as f64;
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"lbl\">{l}</text><rect x=\"{a:.1}\" y=\"{y1:.1}\" width=\"{bw:.1}\" height=\"8\" class=\"pos\"/>\
             <line x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"{y:.1}\" y2=\"{y3:.1}\" class=\"tick\"/><text x=\"{vx:.1}\" y=\"{ty}\" class=\"val\">{v}</text>",
            lx = left - 6.0,
            ty = y + 14.0,
            l = esc(label),
            a = sx(*p10),
            y1 = y + 5.0,
            bw = (sx(*p90) - sx(*p10)).max(1.0),
            m = sx(*p50),
            y3 = y + 18.0,
            vx = sx(*p90) + 4.0,
            v = num(*p50),
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"26\" y2=\"{y2}\" class=\"zero\"/></svg><figcaption>{}</figcaption></figure>",
        esc(title),
        x = sx(0.0),
        y2 = h - 20.0
    );
    s
}

/// A line chart of one or more series over ordered x labels.
fn lines(title: &str, unit: &str, x: &[String], series: &[(&str, Vec<f64>)]) -> String {
    if x.len() < 2 || series.iter().all(|s| s.1.iter().all(|v| !v.is_finite())) {
        return format!("<p class=\"empty\">{}: not enough points.</p>", esc(title));
    }
    let (w, h, left, bottom) = (760.0, 240.0, 60.0, 40.0);
    let all: Vec<f64> = series.iter().flat_map(|s| s.1.iter().copied()).filter(|v| v.is_finite()).collect();
    let (lo, hi) = (
        all.iter().copied().fold(f64::INFINITY, f64::min).min(0.0),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let span = (hi - lo).max(1e-12);
    let sx = |i: usize| left + (w - left - 20.0) * i as f64 / (x.len() - 1) as f64;
    let sy = |v: f64| 30.0 + (h - bottom - 30.0) * (1.0 - (v - lo) / span);
    let mut s = format!(
        "<figure><svg class=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"100%\" aria-label=\"{t}\"><title>{t}</title>\
         <text x=\"4\" y=\"14\" class=\"axis\">{u}</text><text x=\"4\" y=\"{yh:.1}\" class=\"axis\">{hi}</text><text x=\"4\" y=\"{yl:.1}\" class=\"axis\">{lo}</text>\
         <text x=\"{left}\" y=\"{xb}\" class=\"axis\">{x0}</text><text x=\"{xr}\" y=\"{xb}\" text-anchor=\"end\" class=\"axis\">{x1}</text>",
        t = esc(title),
        u = esc(unit),
        yh = sy(hi) + 4.0,
        yl = sy(lo) + 4.0,
        hi = num(hi),
        lo = num(lo),
        xb = h - 12.0,
        x0 = esc(&x[0]),
        xr = w - 20.0,
        x1 = esc(&x[x.len() - 1]),
    );
    let dashes = ["", "6 4", "2 3"];
    for (k, (name, v)) in series.iter().enumerate() {
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(i, y)| format!("{:.1},{:.1}", sx(i), sy(*y)))
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" class=\"series s{k}\" stroke-dasharray=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"val\">{}</text>",
            pts.join(" "),
            dashes[k % 3],
            w - 330.0 + 150.0 * k as f64,
            14.0,
            esc(&format!("{} {name}", ["——", "– –", "···"][k % 3]))
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{xr}\" y1=\"{z:.1}\" y2=\"{z:.1}\" class=\"zero\"/></svg><figcaption>{}</figcaption></figure>",
        esc(title),
        xr = w - 20.0,
        z = sy(0.0)
    );
    s
}

/// One small chart of an alert's series: the days' values, the band the baseline
/// expected (shaded) and the alert's days (dots in red).
fn small_multiple(title: &str, points: &[(String, f64, bool)], lower: f64, upper: f64, percent: bool) -> String {
    let (w, h, left, top, bottom) = (340.0, 150.0, 46.0, 22.0, 24.0);
    let vals: Vec<f64> = points.iter().map(|p| p.1).chain([lower, upper]).filter(|v| v.is_finite()).collect();
    if points.len() < 2 || vals.is_empty() {
        return format!("<p class=\"empty\">{}: not enough points.</p>", esc(title));
    }
    let lo = vals.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(lo + 1e-12);
    let sx = |i: usize| left + (w - left - 8.0) * i as f64 / (points.len() - 1) as f64;
    let sy = |v: f64| top + (h - top - bottom) * (1.0 - (v - lo) / (hi - lo));
    let fmt = |v: f64| if percent { format!("{:.1} %", v * 100.0) } else { num(v) };
    let mut s = format!(
        "<figure class=\"small\"><svg class=\"chart\" role=\"img\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" aria-label=\"{t}\"><title>{t}</title>\
         <rect x=\"{left}\" y=\"{yu:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" class=\"band\"/>\
         <text x=\"2\" y=\"{yh:.1}\" class=\"axis\">{hi}</text><text x=\"2\" y=\"{yl:.1}\" class=\"axis\">{lo}</text>\
         <text x=\"{left}\" y=\"{xb}\" class=\"axis\">{x0}</text><text x=\"{xr}\" y=\"{xb}\" text-anchor=\"end\" class=\"axis\">{x1}</text>",
        t = esc(title),
        yu = sy(upper),
        bw = w - left - 8.0,
        bh = (sy(lower) - sy(upper)).max(1.0),
        yh = sy(hi) + 4.0,
        yl = sy(lo),
        hi = esc(&fmt(hi)),
        lo = esc(&fmt(lo)),
        xb = h - 6.0,
        x0 = esc(&points[0].0),
        xr = w - 8.0,
        x1 = esc(&points[points.len() - 1].0),
    );
    let pts: Vec<String> = points.iter().enumerate().map(|(i, p)| format!("{:.1},{:.1}", sx(i), sy(p.1))).collect();
    let _ = write!(s, "<polyline points=\"{}\" class=\"series\"/>", pts.join(" "));
    for (i, p) in points.iter().enumerate().filter(|(_, p)| p.2) {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" class=\"hit\"><title>{}: {}</title></circle>",
            sx(i),
            sy(p.1),
            esc(&p.0),
            esc(&fmt(p.1))
        );
    }
    let _ = write!(s, "</svg><figcaption>{}</figcaption></figure>", esc(title));
    s
}

/// The "What changed" section: the latest alerts of `alerts/` and small multiples of the
/// series that fired (empty when the alerts job did not run).
fn what_changed(results: &Path) -> anyhow::Result<String> {
    let dir = results.join("alerts");
    let jsonl = dir.join("alerts.jsonl");
    if !jsonl.exists() {
        return Ok(String::new());
    }
    let text = std::fs::read_to_string(&jsonl).with_context(|| format!("failed to read {}", jsonl.display()))?;
    let mut alerts: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{}: line {}", jsonl.display(), i + 1)))
        .collect::<anyhow::Result<_>>()?;
    let coverage = csv_rows(&dir.join("alerts_coverage.csv"))?;
    let judged = coverage.iter().filter(|r| r.get("checked").is_some_and(|v| v == "true")).count();
    let mut s = String::from("<section id=\"changes\"><h2>What changed</h2>");
    if alerts.is_empty() {
        let _ = write!(
            s,
            "<p class=\"story\">No alerts: {judged} series judged (engagement of new posts, click-through, conversion, \
             sentiment, spend pace), {} with too little history to judge.</p></section>",
            coverage.len() - judged
        );
        return Ok(s);
    }
    let t = |a: &serde_json::Value, k: &str| a[k].as_str().unwrap_or("").to_owned();
    alerts.sort_by(|a, b| t(b, "detected_at").cmp(&t(a, "detected_at")).then(t(a, "alert_id").cmp(&t(b, "alert_id"))));
    let latest = t(&alerts[0], "detected_at");
    let latest_day = latest.get(..10).unwrap_or("");
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    for a in &alerts {
        *kinds.entry(t(a, "kind")).or_default() += 1;
    }
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {}", k.replace('_', " "))).collect();
    let _ = write!(
        s,
        "<p class=\"story\">{} alert(s) over the period ({}); the latest fired on {}. {judged} series judged, {} with too \
         little history to judge. Most recent first; the charts show each series around its alert, the band the \
         baseline expected shaded and the alert's days in red.</p>",
        alerts.len(),
        esc(&kinds.join(", ")),
        esc(latest_day),
        coverage.len() - judged
    );
    let who = |a: &serde_json::Value| match (a["handle"].as_str(), a["platform"].as_str(), a["creator_id"].as_str()) {
        (Some(h), Some(p), _) if !h.is_empty() => format!("@{} ({p})", h.trim_start_matches('@')),
        (_, _, Some(c)) => c.to_owned(),
        _ => format!("campaign {}", t(a, "campaign_id")),
    };
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .take(15)
        .map(|a| {
            vec![
                t(a, "detected_at").get(..10).unwrap_or("").to_owned(),
                t(a, "kind").replace('_', " "),
                who(a),
                t(a, "campaign_id"),
                format!(
                    "{} → {}",
                    t(a, "window_start").get(..10).unwrap_or(""),
                    t(a, "window_end").get(..10).unwrap_or("")
                ),
                t(a, "severity"),
                t(a, "explanation"),
            ]
        })
        .collect();
    s.push_str(&table("alerts", &["fired", "kind", "who", "campaign", "window", "severity", "what"], &rows));
    if alerts.len() > 15 {
        let _ = write!(s, "<p>… {} earlier alert(s) in <code>alerts/alerts.parquet</code>.</p>", alerts.len() - 15);
    }
    let series = csv_rows(&dir.join("alerts_series.csv"))?;
    s.push_str("<div class=\"multiples\">");
    for a in alerts.iter().filter(|a| t(a, "series") != "spend_pace").take(6) {
        let id = t(a, "alert_id");
        let pts: Vec<(String, f64, bool)> = series
            .iter()
            .filter(|r| r.get("alert_id") == Some(&id))
            .filter_map(|r| {
                Some((
                    r.get("day")?.clone(),
                    r.get("observed")?.parse().ok()?,
                    r.get("in_window").is_some_and(|v| v == "true"),
                ))
            })
            .collect();
        let lower = a["lower"].as_f64().unwrap_or(f64::NAN);
        let upper = a["upper"].as_f64().unwrap_or(f64::NAN);
        let title = format!("{}: {} ({})", who(a), t(a, "series").replace('_', " "), t(a, "kind").replace('_', " "));
        s.push_str(&small_multiple(&title, &pts, lower, upper, true));
    }
    s.push_str("</div></section>");
    Ok(s)
}

fn table(id: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("<table class=\"data sortable\" id=\"{id}\"><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// Keeps the top `n` by value and sums the rest into "others".
fn top_n(mut items: Vec<(String, f64)>, n: usize) -> Vec<(String, f64)> {
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    if items.len() > n {
        let rest: f64 = items[n..].iter().map(|x| x.1).sum();
        let k = items.len() - n;
        items.truncate(n);
        items.push((format!("others ({k})"), rest));
    }
    items
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:0 20px 40px;color:#1d1d1f}
h1{font-size:26px;margin:24px 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #ddd;padding-bottom:4px}
section{page-break-inside:avoid;break-inside:avoid}nav a{margin-right:12px}
.chart{background:#fafafa;border:1px solid #e5e5e5}.chart .pos{fill:#3465a4}.chart .neg{fill:#cc0000;fill-opacity:.75}
.chart .lbl,.chart .val,.chart .axis{font-size:12px;fill:#333}.chart .zero{stroke:#555;stroke-width:1}.chart .tick{stroke:#111;stroke-width:3}
.chart .series{fill:none;stroke:#204a87;stroke-width:2}.chart .s1{stroke:#a40000}.chart .s2{stroke:#4e9a06}
figure{margin:8px 0 16px}figcaption{font-size:12px;color:#555}
table.data{border-collapse:collapse;width:100%;font-size:12.5px;margin:8px 0}table.data th,table.data td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:right}
table.data th:first-child,table.data td:first-child{text-align:left}table.data th{cursor:pointer;background:#f0f0f0;position:sticky;top:0}
.story{font-size:15px;max-width:860px}.kpi{display:inline-block;margin:6px 18px 6px 0;padding:8px 12px;border:1px solid #ddd;border-radius:6px}.kpi b{display:block;font-size:20px}
.empty{color:#777;font-style:italic}.multiples{display:flex;flex-wrap:wrap;gap:8px}figure.small{margin:4px 0;width:340px}
.chart .band{fill:#4e9a06;fill-opacity:.15}.chart .hit{fill:#cc0000}
@media print{nav{display:none}table.data th{position:static}body{max-width:none}}";

const JS: &str = "(function(){var o=new URLSearchParams(location.search).get('only');if(o){document.querySelectorAll('section').forEach(function(s){if(s.id!==o)s.style.display='none'});var n=document.querySelector('nav');if(n)n.style.display='none'}})();document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',function(){var t=th.closest('table'),b=t.tBodies[0],r=Array.from(b.rows),d=th.dataset.d==='a'?'d':'a';th.dataset.d=d;r.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,p=parseFloat(a.replace(/[^0-9.eE+-]/g,'')),q=parseFloat(c.replace(/[^0-9.eE+-]/g,''));var v=(!isNaN(p)&&!isNaN(q))?p-q:a.localeCompare(c);return d==='a'?v:-v});r.forEach(function(x){b.appendChild(x)})})});";

/// Renders the report HTML from a results folder.
pub fn render(results: &Path) -> anyhow::Result<String> {
    let roi_summary = csv_rows(&results.join("roi").join("roi_summary.csv"))?;
    let attribution = csv_rows(&results.join("attribution").join("attribution_summary.csv"))?;
    let health = csv_rows(&results.join("engagement").join("brand_health.csv"))?;
    let cards = Frame::read(&results.join("engagement").join("creator_scorecard.parquet"))?;
    let roi_long = Frame::read(&results.join("roi").join("roi.parquet"))?;
    let forecast = csv_rows(&results.join("forecast").join("forecast.csv"))?;
    // Only what the report draws from each comment (the texts and ids are not read).
    let comments = Frame::read_columns(
        &results.join("sentiment").join("comments_sentiment.parquet"),
        &["created_at", "sentiment", "language"],
    )?;
    let validation: serde_json::Value = std::fs::read(results.join("validation").join("validation.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let hazard: serde_json::Value = std::fs::read(results.join("attribution").join("data_driven_model.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    if roi_summary.is_empty() && attribution.is_empty() && cards.rows == 0 {
        bail!(
            "{}: no roi/, attribution/ or engagement/ outputs to report on; run `roicast run --config …` first",
            results.display()
        );
    }
    let models: Vec<String> = {
        let mut m: Vec<String> = attribution.iter().map(|r| r["model"].clone()).collect();
        m.dedup();
        m.sort();
        m.dedup();
        m
    };
    let f = |r: &BTreeMap<String, String>, k: &str| r.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    let total_cost: f64 = roi_summary.iter().map(|r| f(r, "cost")).filter(|x| x.is_finite()).sum();
    let names = Names::from_scorecard(&cards);
    let dd = if models.iter().any(|m| m == "data_driven") {
        "data_driven"
    } else {
        models.first().map_or("", String::as_str)
    };
    // creator → CLV-adjusted ROI under the ranking model.
    let clv_roi_of: BTreeMap<String, f64> = (0..roi_long.rows)
        .filter(|&i| {
            roi_long.t("level", i) == "creator" && roi_long.t("model", i) == dd && roi_long.t("metric", i) == "clv_roi"
        })
        .filter_map(|i| roi_long.n("value", i).map(|v| (roi_long.t("key", i).to_owned(), v)))
        .collect();
    // The format and week levels of roi.parquet (allocations in docs/roi.md).
    let mut breakdown: BTreeMap<(&str, &str, &str, &str), f64> = BTreeMap::new();
    for i in (0..roi_long.rows).filter(|&i| matches!(roi_long.t("level", i), "format" | "week")) {
        if let Some(v) = roi_long.n("value", i) {
            let k = (roi_long.t("level", i), roi_long.t("key", i), roi_long.t("model", i), roi_long.t("metric", i));
            breakdown.insert(k, v);
        }
    }
    let level_metric = |level: &str, key: &str, model: &str, metric: &str| -> f64 {
        breakdown.get(&(level, key, model, metric)).copied().unwrap_or(f64::NAN)
    };
    let mut html = String::with_capacity(1 << 20);
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>roicast report</title><style>{CSS}</style></head><body>\
         <h1>Creator marketing: what each creator returned</h1><p>roicast {} · results from <code>{}</code></p>\
         <nav><a href=\"#changes\">What changed</a><a href=\"#overview\">Overall ROI</a><a href=\"#creators\">Creators</a><a href=\"#costs\">Cost vs revenue</a>\
         <a href=\"#funnel\">Funnels</a><a href=\"#platforms\">Platforms</a><a href=\"#attribution\">Attribution</a>\
         <a href=\"#sentiment\">Sentiment</a><a href=\"#authenticity\">Authenticity</a><a href=\"#forecast\">Forecast</a><a href=\"#methods\">Methods</a></nav>",
        env!("CARGO_PKG_VERSION"),
        esc(&results.display().to_string())
    );

    // Overall ROI per model.
    let per_model: Vec<(String, f64)> = models
        .iter()
        .map(|m| {
            let rev: f64 = roi_summary.iter().map(|r| f(r, &format!("revenue_{m}"))).filter(|x| x.is_finite()).sum();
            (m.clone(), if total_cost > 0.0 { (rev - total_cost) / total_cost * 100.0 } else { f64::NAN })
        })
        .collect();
    let dd_revenue: f64 = roi_summary.iter().map(|r| f(r, &format!("revenue_{dd}"))).filter(|x| x.is_finite()).sum();
    let profitable = roi_summary.iter().filter(|r| f(r, &format!("roi_{dd}")) > 0.0).count();
    let on_clv = roi_summary
        .iter()
        .filter(|r| {
            f(r, &format!("roi_{dd}")).partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
                && clv_roi_of.get(&r["creator_id"]).is_some_and(|v| *v > 0.0)
        })
        .count();
    html.push_str(&what_changed(results)?);
    let _ = write!(html, "<section id=\"overview\"><h2>Overall ROI, by attribution model</h2><div>");
    let _ = write!(html, "<span class=\"kpi\">total creator cost<b>{}</b></span>", money(total_cost));
    let _ = write!(html, "<span class=\"kpi\">attributed revenue ({})<b>{}</b></span>", esc(dd), money(dd_revenue));
    if let Some((m, v)) = per_model.iter().find(|x| x.0 == dd) {
        let _ = write!(html, "<span class=\"kpi\">ROI ({})<b>{}</b></span>", esc(m), pct(*v));
    }
    let _ =
        write!(html, "<span class=\"kpi\">creators that paid back<b>{profitable} of {}</b></span>", roi_summary.len());
    html.push_str("</div>");
    if total_cost > 0.0 {
        let _ = write!(
            html,
            "<p class=\"story\">Under the {dd} attribution model the program returned {:.2} in attributed revenue per 1 spent, \
             full costs counted (fees, commissions, samples, shipping, agency, production, tools). {profitable} of {} creators \
             paid back their full cost; {on_clv} more pay back once the customers they brought are valued at their 12-month \
             CLV. The winners and losers are below; every model's view follows.</p>",
            dd_revenue / total_cost,
            roi_summary.len()
        );
    }
    let mut by_profit: Vec<(String, f64)> = roi_summary
        .iter()
        .map(|r| (names.of(&r["creator_id"]), f(r, &format!("revenue_{dd}")) - f(r, "cost")))
        .filter(|x| x.1.is_finite())
        .collect();
    by_profit.sort_by(|a, b| b.1.total_cmp(&a.1));
    if by_profit.len() > 16 {
        let losers = by_profit.split_off(by_profit.len() - 8);
        by_profit.truncate(8);
        by_profit.extend(losers);
    }
    html.push_str(&hbar(
        &format!("Biggest winners and losers: attributed revenue minus full cost ({dd})"),
        "revenue − cost",
        &by_profit,
    ));
    html.push_str(&hbar("ROI of all creators together under each attribution model", "ROI, % of cost", &per_model));
    // Weekly trend from roi.parquet's week level: revenue by order week, cost by the week
    // the posts it paid for went out.
    let weeks: Vec<&str> = {
        let mut w: Vec<&str> =
            breakdown.keys().filter(|k| k.0 == "week" && k.1 != super::breakdown::UNKNOWN).map(|k| k.1).collect();
        w.dedup();
        w
    };
    if !weeks.is_empty() {
        let x: Vec<String> = weeks.iter().map(|w| (*w).to_owned()).collect();
        let revenue: Vec<f64> = weeks
            .iter()
            .map(|w| level_metric("week", w, dd, "attributed_revenue"))
            .map(|v| if v.is_nan() { 0.0 } else { v })
            .collect();
        let cost: Vec<f64> = weeks
            .iter()
            .map(|w| level_metric("week", w, "-", "cost"))
            .map(|v| if v.is_nan() { 0.0 } else { v })
            .collect();
        html.push_str(&lines(
            &format!("Weekly creator-attributed revenue ({dd}, by order week) and creator cost (by posting week)"),
            "per week",
            &x,
            &[("revenue", revenue), ("cost", cost)],
        ));
        let roi: Vec<f64> = weeks.iter().map(|w| level_metric("week", w, dd, "roi")).collect();
        html.push_str(&lines("Weekly ROI (weeks with costs)", "ROI, % of cost", &x, &[("ROI", roi)]));
    }
    // Weekly trend of comment sentiment (net positive share) as the time view.
    let weeks = weekly_sentiment(&comments);
    if !weeks.is_empty() {
        let x: Vec<String> = weeks.iter().map(|w| w.0.clone()).collect();
        html.push_str(&lines(
            "Weekly comment sentiment (share positive, share negative)",
            "share of comments",
            &x,
            &[("positive", weeks.iter().map(|w| w.1).collect()), ("negative", weeks.iter().map(|w| w.2).collect())],
        ));
    }
    html.push_str("</section>");

    // Creator comparison.
    let card_of: BTreeMap<String, usize> = (0..cards.rows).map(|i| (cards.t("creator_id", i).to_owned(), i)).collect();
    let mut rows = Vec::new();
    for r in &roi_summary {
        let c = r["creator_id"].clone();
        let k = card_of.get(&c).copied();
        let get = |col: &str| score(k.and_then(|i| cards.n(col, i)));
        rows.push(vec![
            names.of(&c),
            r.get("platform").cloned().unwrap_or_default(),
            money(f(r, "cost")),
            money(f(r, &format!("revenue_{dd}"))),
            pct(f(r, &format!("roi_{dd}"))),
            clv_roi_of.get(&c).map_or_else(|| "–".into(), |v| pct(*v)),
            money(f(r, "code_tracked_revenue")),
            get("engagement_quality"),
            get("audience_quality"),
            get("traffic_quality"),
            c.clone(),
        ]);
    }
    let _ = write!(
        html,
        "<section id=\"creators\"><h2>Creator comparison</h2><p>Click a column to sort. ROI under the {dd} model; CLV-adjusted ROI values new customers at their creator cohort's CLV.</p>"
    );
    html.push_str(&table(
        "creator-table",
        &[
            "creator",
            "platform",
            "cost",
            "attributed revenue",
            "ROI %",
            "CLV-adjusted ROI %",
            "code-tracked revenue",
            "engagement quality",
            "audience quality",
            "traffic quality",
            "creator id",
        ],
        &rows,
    ));
    html.push_str("</section>");

    // Cost vs revenue.
    let mut cost_by_type: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..roi_long.rows {
        if roi_long.t("level", i) == "creator"
            && let Some(t) = roi_long.t("metric", i).strip_prefix("cost_")
        {
            *cost_by_type.entry(t.to_owned()).or_default() += roi_long.n("value", i).unwrap_or(0.0);
        }
    }
    let _ = write!(html, "<section id=\"costs\"><h2>Cost versus revenue</h2>");
    html.push_str(&hbar("Cost by type, all creators", "cost", &cost_by_type.into_iter().collect::<Vec<_>>()));
    let profit: Vec<(String, f64)> = roi_summary
        .iter()
        .map(|r| (names.of(&r["creator_id"]), f(r, &format!("revenue_{dd}")) - f(r, "cost")))
        .collect();
    html.push_str(&hbar(
        &format!("Attributed revenue minus cost per creator ({dd}; top 20 and the rest)"),
        "revenue − cost",
        &top_n(profit, 20),
    ));
    html.push_str("</section>");

    // Funnels per platform.
    let mut funnel: BTreeMap<String, [f64; 4]> = BTreeMap::new();
    for i in 0..cards.rows {
        let e = funnel.entry(cards.t("platform", i).to_owned()).or_default();
        e[0] += cards.n("impressions", i).or(cards.n("views", i)).unwrap_or(0.0);
        e[1] += cards.n("link_clicks", i).unwrap_or(0.0);
        e[2] += cards.n("traffic_sessions", i).unwrap_or(0.0);
        e[3] += cards.n("traffic_sessions", i).unwrap_or(0.0) * cards.n("conversion_rate", i).unwrap_or(0.0);
    }
    let _ = write!(
        html,
        "<section id=\"funnel\"><h2>Conversion funnels</h2><p>Impressions (views where impressions are not reported) → link clicks → tracked sessions → converting sessions, per platform; drop-off is the share lost at each step.</p>"
    );
    let mut frows = Vec::new();
    for (p, v) in &funnel {
        let drop = |a: f64, b: f64| if a > 0.0 { format!("{:.1} %", 100.0 * (1.0 - b / a)) } else { "–".into() };
        frows.push(vec![p.clone(), num(v[0]), num(v[1]), drop(v[0], v[1]), num(v[2]), num(v[3]), drop(v[2], v[3])]);
        html.push_str(&hbar(
            &format!("Funnel on {p}"),
            "count",
            &[
                ("exposure".into(), v[0]),
                ("link clicks".into(), v[1]),
                ("sessions".into(), v[2]),
                ("converting sessions".into(), v[3]),
            ],
        ));
    }
    html.push_str(&table(
        "funnel-table",
        &["platform", "exposure", "clicks", "drop-off", "sessions", "converting", "drop-off"],
        &frows,
    ));
    html.push_str("</section>");

    // Platform breakdown.
    let mut plat: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for r in &roi_summary {
        let e = plat.entry(r.get("platform").cloned().unwrap_or_default()).or_default();
        e.0 += f(r, "cost");
        e.1 += f(r, &format!("revenue_{dd}"));
    }
    let _ = write!(html, "<section id=\"platforms\"><h2>Platform breakdown</h2>");
    html.push_str(&hbar(
        &format!("ROI by platform ({dd})"),
        "ROI, % of cost",
        &plat
            .iter()
            .map(|(k, v)| (k.clone(), if v.0 > 0.0 { (v.1 - v.0) / v.0 * 100.0 } else { f64::NAN }))
            .collect::<Vec<_>>(),
    ));
    // Format and week (roi.parquet's `format` and `week` levels; allocations in docs/roi.md).
    let cents = |x: f64| if x.is_finite() { format!("{x:.2}") } else { "–".into() };
    let whole = |x: f64| if x.is_finite() { money(x) } else { "–".into() };
    for (level, title) in
        [("format", "ROI by post format"), ("week", "ROI by week (revenue by order week, cost by posting week)")]
    {
        let keys: std::collections::BTreeSet<&str> = breakdown.keys().filter(|k| k.0 == level).map(|k| k.1).collect();
        if keys.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                vec![
                    (*k).to_owned(),
                    whole(level_metric(level, k, "-", "posts")),
                    whole(level_metric(level, k, "-", "cost")),
                    whole(level_metric(level, k, dd, "attributed_revenue")),
                    pct(level_metric(level, k, dd, "roi")),
                    cents(level_metric(level, k, "-", "cpm")),
                    cents(level_metric(level, k, "-", "cpe")),
                ]
            })
            .collect();
        let _ = write!(html, "<h3>{} ({})</h3>", esc(title), esc(dd));
        html.push_str(&table(
            &format!("{level}-roi"),
            &[level, "posts", "cost", "attributed revenue", "ROI", "CPM", "CPE"],
            &rows,
        ));
    }
    html.push_str("</section>");

    // Attribution comparison.
    let _ = write!(
        html,
        "<section id=\"attribution\"><h2>Attribution comparison</h2><p>Conversions credited to each creator (top 15 by the data-driven model) under every model: where the models disagree is where the creator's role is uncertain.</p>"
    );
    let mut by_creator: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for r in &attribution {
        by_creator.entry(r["group"].clone()).or_default().insert(r["model"].clone(), f(r, "conversions"));
    }
    let creators_only: Vec<(String, f64)> = by_creator
        .iter()
        .filter(|(k, _)| card_of.contains_key(*k) || roi_summary.iter().any(|r| &r["creator_id"] == *k))
        .map(|(k, v)| (k.clone(), v.get(dd).copied().unwrap_or(0.0)))
        .collect();
    let mut top: Vec<(String, f64)> = creators_only;
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut arows = Vec::new();
    for (c, _) in top.iter().take(15) {
        let mut row = vec![names.of(c)];
        for m in &models {
            row.push(by_creator[c].get(m).map_or_else(|| "–".into(), |v| format!("{v:.1}")));
        }
        row.push(c.clone());
        arows.push(row);
    }
    let head: Vec<&str> = std::iter::once("creator")
        .chain(models.iter().map(String::as_str))
        .chain(std::iter::once("creator id"))
        .collect();
    html.push_str(&table("attribution-table", &head, &arows));
    if let Some(groups) = hazard.get("groups").and_then(|g| g.as_array()) {
        // The groups with the most touches (a model fitted by creator has hundreds); groups
        // at the bound or without touches have no decay to show.
        let mut fitted: Vec<&serde_json::Value> = groups
            .iter()
            .filter(|g| g["n_touches"].as_u64().unwrap_or(0) > 0 && g["at_bound"].as_bool() != Some(true))
            .collect();
        fitted.sort_by_key(|g| std::cmp::Reverse(g["n_touches"].as_u64().unwrap_or(0)));
        let items: Vec<(String, f64, f64, f64)> = fitted
            .iter()
            .filter_map(|g| {
                let hl = g.get("half_life_hours")?.as_f64()? / 24.0;
                let se = g.get("half_life_hours_se").and_then(serde_json::Value::as_f64).unwrap_or(0.0) / 24.0;
                Some((names.of(g.get("group")?.as_str()?), (hl - 1.28 * se).max(0.0), hl, hl + 1.28 * se))
            })
            .take(20)
            .collect();
        html.push_str(&ranges(
            "Fitted time-decay half-lives of the data-driven model, the 20 groups with the most touches (± 1.28 SE)",
            "days",
            &items,
        ));
    }
    html.push_str("</section>");

    // Sentiment and brand health.
    let _ = write!(html, "<section id=\"sentiment\"><h2>Sentiment and brand health</h2>");
    let hb: Vec<(String, f64)> = health
        .iter()
        .filter_map(|r| {
            r.get("net_sentiment")
                .and_then(|v| v.parse().ok())
                .map(|v: f64| (format!("{} {}", r["campaign_id"], r["window"]), v))
        })
        .collect();
    html.push_str(&hbar(
        "Net comment sentiment (positive − negative share) before, during and after each campaign",
        "net share",
        &hb,
    ));
    // Languages of the comments: only those the models were trained on are scored.
    let mut langs: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..comments.rows {
        let l = comments.t("language", i);
        if !l.is_empty() {
            *langs.entry(l.to_owned()).or_default() += 1.0;
        }
    }
    let total: f64 = langs.values().sum();
    if total > 0.0 {
        let mut shares: Vec<(String, f64)> = langs
            .iter()
            .map(|(l, n)| {
                let scored = roicast_models::sentiment::language::is_scored(l);
                (format!("{l}{}", if scored { "" } else { " (unscored)" }), n / total * 100.0)
            })
            .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1));
        html.push_str(&hbar(
            "Comments by language (ISO 639-3; und = too short to tell, scored; languages the models were not \
             trained on are left unscored)",
            "% of comments",
            &shares,
        ));
    }
    html.push_str("</section>");

    // Authenticity.
    let _ = write!(
        html,
        "<section id=\"authenticity\"><h2>Authenticity flags</h2><p>Accounts flagged for suspected bought or pod engagement, with the signals that fired.</p>"
    );
    let flagged: Vec<Vec<String>> = (0..cards.rows)
        .filter(|&i| cards.t("suspected_inflation", i) == "true")
        .map(|i| {
            vec![
                names.of(cards.t("creator_id", i)),
                cards.t("platform", i).to_owned(),
                score(cards.n("audience_quality", i)),
                cards.t("signals_fired", i).replace(',', ", "),
                cards.t("creator_id", i).to_owned(),
            ]
        })
        .collect();
    if flagged.is_empty() {
        html.push_str("<p>No account flagged.</p>");
    }
    html.push_str(&table(
        "authenticity-table",
        &["creator", "platform", "audience quality", "signals fired", "creator id"],
        &flagged,
    ));
    let aq: Vec<(String, f64)> = (0..cards.rows)
        .map(|i| (names.of(cards.t("creator_id", i)), cards.n("audience_quality", i).unwrap_or(f64::NAN)))
        .collect();
    let mut low = aq;
    low.sort_by(|a, b| a.1.total_cmp(&b.1));
    low.truncate(20);
    html.push_str(&hbar("Lowest audience-quality scores (0–100)", "audience quality", &low));
    html.push_str("</section>");

    // Forecast.
    let _ = write!(html, "<section id=\"forecast\"><h2>Forecast: candidates under each deal</h2>");
    let candidate = |r: &BTreeMap<String, String>| match r.get("handle").filter(|h| !h.is_empty()) {
        Some(h) => format!("@{} ({})", h.trim_start_matches('@'), r.get("platform").map_or("", String::as_str)),
        None => r["creator_id"].clone(),
    };
    let mut fc: Vec<(String, f64, f64, f64)> = forecast
        .iter()
        .map(|r| {
            (
                format!(
                    "{} {}{}",
                    candidate(r),
                    r["scenario"],
                    if r.get("selected").map(String::as_str) == Some("true") { " ★" } else { "" }
                ),
                100.0 * f(r, "roi_p10"),
                100.0 * f(r, "roi_p50"),
                100.0 * f(r, "roi_p90"),
            )
        })
        .collect();
    fc.sort_by(|a, b| b.2.total_cmp(&a.2));
    fc.truncate(30);
    html.push_str(&ranges(
        "Forecast ROI P10–P90 per candidate and deal (top 30 by P50; ★ = in the budget plan)",
        "ROI, %",
        &fc,
    ));
    // By expected profit, the planner's order.
    let mut by_profit: Vec<&BTreeMap<String, String>> = forecast.iter().collect();
    let profit = |r: &BTreeMap<String, String>| f(r, "revenue_mean") - f(r, "cost_mean");
    by_profit.sort_by(|a, b| profit(b).total_cmp(&profit(a)));
    let frows: Vec<Vec<String>> = by_profit
        .iter()
        .map(|r| {
            vec![
                candidate(r),
                r["scenario"].clone(),
                money(profit(r)),
                money(f(r, "revenue_p50")),
                money(f(r, "cost_p50")),
                pct(100.0 * f(r, "roi_p10")),
                pct(100.0 * f(r, "roi_p50")),
                pct(100.0 * f(r, "prob_roi_positive")),
                if r.get("selected").map(String::as_str) == Some("true") { "★".into() } else { String::new() },
                r["creator_id"].clone(),
            ]
        })
        .collect();
    html.push_str(&table(
        "forecast-table",
        &[
            "candidate",
            "deal",
            "expected profit",
            "revenue P50",
            "cost P50",
            "ROI P10",
            "ROI P50",
            "P(ROI > 0)",
            "in plan",
            "candidate id",
        ],
        &frows,
    ));
    html.push_str("</section>");

    // Methods.
    let _ = write!(
        html,
        "<section id=\"methods\"><h2>Methods</h2><ul>\
         <li><b>ROI</b> = (attributed revenue − total cost) / total cost × 100 %. Costs: flat fees, commission and tiered commission on code/link-tracked revenue, per-conversion payouts, agency fees, production, samples, shipping, tools; campaign-level costs split equally across the campaign's creators.</li>\
         <li><b>Attribution</b>: first/last touch, last non-direct, linear, distinct linear, time decay, U-shaped, exact Markov removal effect, exact Shapley, and the data-driven additive-hazard model fitted on the journeys.</li>\
         <li><b>CLV-adjusted ROI</b> values each credited conversion at the mean 12-month CLV (BG/NBD + Gamma-Gamma, 10 %/yr) of the creator's cohort.</li>\
         <li><b>EMV</b> (default rate card roicast-emv-2026.1, USD) prices authentic exposure and actions as paid media; it is never added to revenue.</li>\
         <li><b>Engagement quality</b> weighs meaningful comments 0.35, sentiment 0.20, shares+saves depth 0.25 and engagement vs benchmark 0.20; <b>audience quality</b> is 100 × (1 − weighted strength of seven inflation signals).</li>\
         <li><b>Forecast</b>: ridge or gradient-boosted trees on ln(1 + revenue), whichever time-ordered cross-validation scores better, with out-of-fold residual intervals; ROI distributions are exact over that pool.</li>\
         <li><b>Data coverage</b>: {}</li></ul><p>Every number above is in the run's Parquet/CSV outputs with its manifest (inputs with SHA-256, parameters, timings), so a reviewer can reproduce it.</p></section>",
        esc(&coverage(&validation))
    );
    let _ = write!(html, "<script>{JS}</script></body></html>");
    Ok(html)
}

fn coverage(v: &serde_json::Value) -> String {
    if v.is_null() {
        return "no validation report in this run.".into();
    }
    let rows: u64 = v
        .get("tables")
        .and_then(|t| t.as_array())
        .map_or(0, |t| t.iter().filter_map(|x| x.get("rows").and_then(serde_json::Value::as_u64)).sum());
    let rejected = v.get("rejected").and_then(serde_json::Value::as_u64).unwrap_or(0);
    format!("{rows} rows read across the dataset's tables; {rejected} rejected.")
}

/// (ISO week label, positive share, negative share) over the scored comments.
fn weekly_sentiment(c: &Frame) -> Vec<(String, f64, f64)> {
    let Some(at) = c.num.get("created_at") else { return Vec::new() };
    let mut w: BTreeMap<i64, [f64; 3]> = BTreeMap::new();
    for i in 0..c.rows {
        let Some(t) = at[i] else { continue };
        let week = (t / 1e6 / 86_400.0 / 7.0).floor() as i64;
        let e = w.entry(week).or_default();
        match c.t("sentiment", i) {
            "positive" => e[0] += 1.0,
            "negative" => e[1] += 1.0,
            "unscored" => continue,
            _ => {}
        }
        e[2] += 1.0;
    }
    w.into_iter()
        .filter(|(_, v)| v[2] >= 20.0)
        .map(|(k, v)| {
            let day = chrono::DateTime::from_timestamp(k * 7 * 86_400, 0)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            (day, v[0] / v[2], v[1] / v[2])
        })
        .collect()
}

/// Rendering the report (`roicast report`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A run's results folder.
    pub results: PathBuf,
    /// The HTML file to write.
    pub out: PathBuf,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The report file.
    pub report: PathBuf,
    /// Its size.
    pub bytes: usize,
}

/// Renders the results into one self-contained HTML file, written atomically.
pub fn run(_ctx: &Ctx, a: &Config) -> anyhow::Result<Summary> {
    let html = render(&a.results)?;
    crate::output::create_parent(&a.out)?;
    roicast_data::io::write_bytes_atomic(&a.out, html.as_bytes())?;
    Ok(Summary { report: a.out.clone(), bytes: html.len() })
}
