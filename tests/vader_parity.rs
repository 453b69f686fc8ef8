//! roicast's VADER reproduces Python vaderSentiment 3.3.2 on every fixture row.
//!
//! The fixture `fixtures/sentiment/vader_reference.csv` is written by
//! `benches/peers/vader_reference.py` from the Python package itself (edge cases for
//! every rule, every creator comment, a sample of the Hutto & Gilbert tweets).

use roicast_models::sentiment::Vader;

#[test]
fn matches_python_vader_on_every_fixture_row() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sentiment/vader_reference.csv");
    let mut reader = csv::Reader::from_path(path).expect("fixture readable");
    let vader = Vader::get();
    let (mut rows, mut worst, mut failures) = (0usize, 0.0f64, Vec::new());
    let mut sources = std::collections::BTreeMap::<String, usize>::new();
    for record in reader.records() {
        let r = record.expect("well-formed fixture row");
        let text = &r[1];
        let want: Vec<f64> = (2..6).map(|k| r[k].parse().expect("number")).collect();
        let p = vader.polarity_scores(text);
        let got = [p.neg, p.neu, p.pos, p.compound];
        let diff = want.iter().zip(got).map(|(w, g)| (w - g).abs()).fold(0.0, f64::max);
        worst = worst.max(diff);
        if diff > 1e-4 {
            failures.push(format!("{text:?}: python {want:?}, roicast {got:?}"));
        }
        rows += 1;
        *sources.entry(r[0].to_owned()).or_default() += 1;
    }
    assert!(rows >= 300, "only {rows} reference rows");
    assert!(sources.get("edge_case").copied().unwrap_or(0) >= 150, "{sources:?}");
    assert!(failures.is_empty(), "{} of {rows} rows differ (max {worst}):\n{}", failures.len(), failures.join("\n"));
}
