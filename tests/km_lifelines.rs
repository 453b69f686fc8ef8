//! Kaplan–Meier against lifelines: `roicast_models::stats::kaplan_meier` (behind the CLV
//! job's subscription retention) reproduces lifelines 0.30.3's `KaplanMeierFitter` on 800
//! subscriptions with tied event times and censoring (`tests/fixtures/clv`, made by
//! `benches/peers/km_reference.py`).

use std::path::Path;

use roicast_models::stats::kaplan_meier;

fn rows(name: &str) -> Vec<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/clv").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

#[test]
fn kaplan_meier_matches_lifelines() {
    let subjects: Vec<(f64, bool)> =
        rows("km_subscriptions.csv").iter().map(|r| (r[0].parse().unwrap(), r[1] == "true")).collect();
    assert_eq!(subjects.len(), 800);
    let km = kaplan_meier(&subjects);
    let reference = rows("km_reference.csv");
    assert!(reference.len() > 50);
    let mut worst: f64 = 0.0;
    for r in &reference {
        let (t, want): (f64, f64) = (r[0].parse().unwrap(), r[1].parse().unwrap());
        let got = km.survival_at(t);
        worst = worst.max((got - want).abs());
        assert!((got - want).abs() < 1e-12, "S({t}) = {got}, lifelines {want}");
    }
    assert!(worst < 1e-12);
}
