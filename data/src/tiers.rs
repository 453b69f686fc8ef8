//! Tiered commission tables: `[{"up_to": 10000, "rate": 0.10}, {"up_to": null, "rate": 0.15}]`.
//!
//! Rates are marginal: revenue up to the first `up_to` earns the first rate, revenue
//! between that and the next `up_to` the second, and so on; the last tier is open.

use serde::{Deserialize, Serialize};

/// One tier of a tiered commission.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    /// Upper bound of tracked revenue for this tier; `None` = unbounded (the last tier).
    pub up_to: Option<f64>,
    /// Marginal commission rate in this tier, in `[0, 1]`.
    pub rate: f64,
}

/// Parses and checks a tier table.
///
/// # Errors
/// A message saying what is wrong: not JSON, empty, bounds not increasing, a rate
/// outside `[0, 1]`, or an open tier that is not last.
pub fn parse_tiers(json: &str) -> Result<Vec<Tier>, String> {
    let tiers: Vec<Tier> = serde_json::from_str(json)
        .map_err(|e| format!("expected a JSON list of {{\"up_to\": number|null, \"rate\": number}}: {e}"))?;
    if tiers.is_empty() {
        return Err("tier table is empty".to_owned());
    }
    let mut prev = 0.0_f64;
    for (i, t) in tiers.iter().enumerate() {
        if !(t.rate.is_finite() && (0.0..=1.0).contains(&t.rate)) {
            return Err(format!("tier {}: rate {} is not in [0, 1]", i + 1, t.rate));
        }
        let last = i + 1 == tiers.len();
        match t.up_to {
            None if !last => {
                return Err(format!("tier {}: only the last tier may be open (up_to null)", i + 1));
            }
            None => {}
            Some(b) if !(b.is_finite() && b > prev) => {
                return Err(format!("tier {}: up_to {b} must be finite and above the previous bound {prev}", i + 1));
            }
            Some(b) if last => {
                return Err(format!("tier {}: the last tier must be open (up_to null), found {b}", i + 1));
            }
            Some(b) => prev = b,
        }
    }
    Ok(tiers)
}

/// Commission owed on `revenue` under marginal `tiers`.
#[must_use]
pub fn tiered_commission(tiers: &[Tier], revenue: f64) -> f64 {
    let mut owed = 0.0;
    let mut lower = 0.0;
    for t in tiers {
        let upper = t.up_to.unwrap_or(f64::INFINITY);
        if revenue <= lower {
            break;
        }
        owed += (revenue.min(upper) - lower) * t.rate;
        lower = upper;
    }
    owed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_parse_and_apply_marginally() {
        let t = parse_tiers(r#"[{"up_to": 10000, "rate": 0.10}, {"up_to": null, "rate": 0.15}]"#).unwrap();
        assert_eq!(tiered_commission(&t, 5_000.0), 500.0);
        assert_eq!(tiered_commission(&t, 20_000.0), 1_000.0 + 1_500.0);
        assert_eq!(tiered_commission(&t, 0.0), 0.0);
    }

    #[test]
    fn tiers_reject_bad_tables() {
        for (json, msg) in [
            ("[]", "empty"),
            ("{}", "JSON list"),
            (r#"[{"up_to": null, "rate": 0.1}, {"up_to": null, "rate": 0.2}]"#, "only the last"),
            (
                r#"[{"up_to": 100, "rate": 0.1}, {"up_to": 50, "rate": 0.2}, {"up_to": null, "rate": 0.3}]"#,
                "above the previous",
            ),
            (r#"[{"up_to": 100, "rate": 1.5}, {"up_to": null, "rate": 0.2}]"#, "not in [0, 1]"),
            (r#"[{"up_to": 100, "rate": 0.1}]"#, "must be open"),
        ] {
            let err = parse_tiers(json).unwrap_err();
            assert!(err.contains(msg), "{json}: {err}");
        }
    }
}
