//! Authenticity where it is hard (`generate --inflation-study`): bought likes at graded
//! strengths, engagement pods, bought followers only, and genuine accounts that look odd
//! (viral posts, giveaways). Precision and recall of the engagement job's flag by kind,
//! the precision–recall curve of `audience_quality`, a cut on it chosen on tuning seeds
//! and checked on held-out ones, and a naive engagement-rate rule beside them.
//! The numbers docs/engagement.md quotes are written to target/authenticity-eval.json.

use std::collections::BTreeMap;
use std::path::Path;

use arrow_array::Array as _;
use arrow_array::cast::AsArray as _;
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::validate::NoProgress;
use roicast_tests::roicast;

/// Seeds the audience-quality cut is chosen on.
const TUNING: [u64; 3] = [42, 1, 2];
/// Seeds it is checked on (nothing is chosen on them).
const HELD_OUT: [u64; 3] = [201, 202, 203];

/// One creator: its true kind, whether the job flagged it, its audience quality, its
/// engagement rate by followers and its tier.
#[derive(Debug, Clone)]
struct Row {
    kind: String,
    flagged: bool,
    audience_quality: f64,
    er: f64,
    tier: String,
}

fn inflated(kind: &str) -> bool {
    !matches!(kind, "genuine" | "viral" | "giveaway")
}

fn world(seed: u64) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    generate(&GenerateParams::new(Scenario::Demo).seed(seed).inflation_study(true), &data, &NoProgress).unwrap();
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("truth.json")).unwrap()).unwrap();
    let kind: BTreeMap<String, String> = truth["creators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["creator_id"].as_str().unwrap().to_owned(), c["inflation"]["kind"].as_str().unwrap().to_owned()))
        .collect();
    let out = dir.path().join("out");
    let (code, _, stderr) =
        roicast(&["engagement", "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let mut rows = Vec::new();
    for b in roicast_tests::read_parquet(&out.join("creator_scorecard.parquet")) {
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let (ids, tier) = (col("creator_id"), col("tier"));
        let (ids, tier) = (ids.as_string::<i32>(), tier.as_string::<i32>());
        let flag = col("suspected_inflation");
        let flag = flag.as_boolean();
        let aq = col("audience_quality");
        let aq = aq.as_primitive::<arrow_array::types::Float64Type>();
        let er = col("er_followers");
        let er = er.as_primitive::<arrow_array::types::Float64Type>();
        for i in 0..b.num_rows() {
            rows.push(Row {
                kind: kind[ids.value(i)].clone(),
                flagged: flag.value(i),
                audience_quality: if aq.is_null(i) { 100.0 } else { aq.value(i) },
                er: if er.is_null(i) { 0.0 } else { er.value(i) },
                tier: tier.value(i).to_owned(),
            });
        }
    }
    rows
}

/// (precision, recall) of `flag` over `rows`.
fn precision_recall(rows: &[Row], flag: impl Fn(&Row) -> bool) -> (f64, f64) {
    let tp = rows.iter().filter(|r| flag(r) && inflated(&r.kind)).count() as f64;
    let flagged = rows.iter().filter(|r| flag(r)).count() as f64;
    let positives = rows.iter().filter(|r| inflated(&r.kind)).count() as f64;
    (if flagged > 0.0 { tp / flagged } else { 1.0 }, tp / positives)
}

/// Per kind: (accounts, flagged).
fn by_kind(rows: &[Row], flag: impl Fn(&Row) -> bool) -> BTreeMap<String, (usize, usize)> {
    let mut m: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in rows {
        let e = m.entry(r.kind.clone()).or_default();
        e.0 += 1;
        e.1 += usize::from(flag(r));
    }
    m
}

/// The naive rule of thumb: an engagement rate (by followers) above twice the median of
/// the account's tier in the same data.
fn naive_flags(rows: &[Row]) -> Vec<bool> {
    let mut by_tier: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows {
        by_tier.entry(&r.tier).or_default().push(r.er);
    }
    let median: BTreeMap<&str, f64> =
        by_tier.into_iter().map(|(t, mut v)| (t, roicast_models::stats::median(&mut v).unwrap_or(0.0))).collect();
    rows.iter().map(|r| r.er > 2.0 * median[r.tier.as_str()]).collect()
}

#[test]
fn authenticity_by_inflation_strength_on_held_out_seeds() {
    let tuning: Vec<Row> = TUNING.iter().flat_map(|&s| world(s)).collect();
    // The cut on audience quality with the best recall at ≥ 95 % precision on the tuning
    // seeds (every distinct score is a candidate).
    let mut cuts: Vec<f64> = tuning.iter().map(|r| r.audience_quality).collect();
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut best = (0.0, -1.0);
    for &c in &cuts {
        let cut = c + 1e-9;
        let (p, r) = precision_recall(&tuning, |x| x.audience_quality < cut);
        if p >= 0.95 && r > best.1 {
            best = (cut, r);
        }
    }
    let cut = best.0;
    let held: Vec<Vec<Row>> = HELD_OUT.iter().map(|&s| world(s)).collect();
    let all: Vec<Row> = held.concat();
    let naive: Vec<bool> = held.iter().flat_map(|w| naive_flags(w)).collect();
    let naive_rows: Vec<(Row, bool)> = all.iter().cloned().zip(naive).collect();
    let shipped = precision_recall(&all, |r| r.flagged);
    let tuned = precision_recall(&all, |r| r.audience_quality < cut);
    // The naive flag rides on each row (as if it were the job's) so the same counting applies.
    let naive_as_rows: Vec<Row> = naive_rows.iter().map(|(r, f)| Row { flagged: *f, ..r.clone() }).collect();
    let naive_pr = precision_recall(&naive_as_rows, |r| r.flagged);
    let naive_by_kind = by_kind(&naive_as_rows, |r| r.flagged);
    // The held-out curve of audience quality (precision, recall at every 5 points).
    let held_curve: Vec<(f64, f64, f64)> = (1..=20)
        .map(|k| {
            let c = f64::from(k) * 5.0;
            let (p, r) = precision_recall(&all, |x| x.audience_quality < c);
            (c, p, r)
        })
        .collect();
    let report = serde_json::json!({
        "tuning_seeds": TUNING, "held_out_seeds": HELD_OUT,
        "audience_quality_cut": cut, "tuning_recall_at_cut": best.1,
        "shipped_flag": { "precision": shipped.0, "recall": shipped.1, "by_kind": by_kind(&all, |r| r.flagged) },
        "tuned_cut": { "precision": tuned.0, "recall": tuned.1, "by_kind": by_kind(&all, |r| r.audience_quality < cut) },
        "naive_er_2x_tier_median": { "precision": naive_pr.0, "recall": naive_pr.1, "by_kind": naive_by_kind },
        "held_out_audience_quality_curve": held_curve,
    });
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/authenticity-eval.json");
    std::fs::write(&out, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    let summary = format!("{report:#}");
    let recall_of = |kinds: &[&str], flag: &dyn Fn(&Row) -> bool| {
        let sel: Vec<&Row> = all.iter().filter(|r| kinds.contains(&r.kind.as_str())).collect();
        sel.iter().filter(|r| flag(r)).count() as f64 / sel.len() as f64
    };
    // Floors (issue 18): precision ≥ 0.9 overall; recall ≥ 0.9 where likes are inflated by
    // 50 % or more (blatant: × 3–5, strong: × 1.8–2.5).
    assert!(shipped.0 >= 0.9, "the shipped flag's precision: {summary}");
    assert!(tuned.0 >= 0.9, "the tuned cut's precision: {summary}");
    assert!(recall_of(&["bought_blatant", "bought_strong"], &|r| r.audience_quality < cut) >= 0.9, "{summary}");
    assert!(recall_of(&["bought_blatant"], &|r| r.flagged) >= 0.9, "{summary}");
    // Odd genuine accounts are not flagged.
    assert!(recall_of(&["viral", "giveaway"], &|r| r.audience_quality < cut) <= 0.1, "{summary}");
    // The naive engagement-rate rule is the worse detector.
    assert!(naive_pr.0 < tuned.0 && naive_pr.1 < tuned.1, "{summary}");
}
