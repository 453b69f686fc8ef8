//! `roicast clv fit`: BG/NBD, Gamma-Gamma and sBG fits with the papers' parameter names.

use std::io::Write;

use anyhow::{Context as _, bail};
use roicast_data::numeric::read_f64_columns;
use roicast_models::clv::Rfm;
use roicast_training::clv::ClvParams;
use serde_json::json;

use crate::args::{ClvFitArgs, ClvModelArg};
use crate::cli::Outcome;

/// `roicast clv fit` (prints one JSON document; the field names are a contract).
pub fn fit(a: &ClvFitArgs, stdout: &mut dyn Write) -> anyhow::Result<Outcome> {
    if !(a.discount_rate.is_finite() && a.discount_rate > -1.0) {
        bail!("invalid `--discount-rate` = {}: expected a finite rate above -1", a.discount_rate);
    }
    let params = ClvParams::new();
    let doc = match a.model {
        ClvModelArg::Sbg => {
            let Some(path) = &a.survival else { bail!("--model sbg needs --survival FILE (columns period, active)") };
            let cols = read_f64_columns(path, &["period", "active"])
                .with_context(|| format!("failed to read the survival table {}", path.display()))?;
            let mut rows: Vec<(f64, f64)> = cols[0].iter().copied().zip(cols[1].iter().copied()).collect();
            rows.sort_by(|x, y| x.0.total_cmp(&y.0));
            for (i, (p, _)) in rows.iter().enumerate() {
                if *p != i as f64 {
                    bail!(
                        "{}: periods must be 0, 1, 2, … without gaps; found period {p} where {i} was expected",
                        path.display()
                    );
                }
            }
            let active: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let fit = params.fit_sbg(&active).with_context(|| format!("sBG fit on {} failed", path.display()))?;
            let m = fit.model;
            json!({
                "model": "sbg",
                "params": { "alpha": m.alpha, "beta": m.beta },
                "standard_errors": fit.standard_errors,
                "log_likelihood": fit.log_likelihood,
                "iterations": fit.iterations,
                "n": fit.n,
                "survival": (0..=a.project).map(|t| json!({
                    "period": t,
                    "survival": m.survival(t),
                    "expected_active": m.survival(t) * active[0],
                    "retention_rate": if t == 0 { serde_json::Value::Null } else { json!(m.retention_rate(t)) },
                    "observed_active": active.get(t as usize),
                })).collect::<Vec<_>>(),
                "discount_rate": a.discount_rate,
                "del": m.del(a.discount_rate),
                "derl": (0..active.len() as u32).map(|n| json!({ "renewals": n, "derl": m.derl(a.discount_rate, n) })).collect::<Vec<_>>(),
            })
        }
        ClvModelArg::Bgnbd | ClvModelArg::GammaGamma | ClvModelArg::ParetoNbd => {
            let Some(path) = &a.rfm else { bail!("--model {:?} needs --rfm FILE", a.model) };
            let gg = a.model == ClvModelArg::GammaGamma;
            let names: &[&str] =
                if gg { &["frequency", "recency", "T", "monetary_value"] } else { &["frequency", "recency", "T"] };
            let cols = read_f64_columns(path, names)
                .with_context(|| format!("failed to read the RFM table {}", path.display()))?;
            if gg {
                // Customers without repeat purchases carry no spend information (lifetimes
                // leaves them out the same way); counted, never silently dropped.
                let keep: Vec<usize> = (0..cols[0].len()).filter(|&i| cols[0][i] > 0.0).collect();
                let x: Vec<f64> = keep.iter().map(|&i| cols[0][i]).collect();
                let m: Vec<f64> = keep.iter().map(|&i| cols[3][i]).collect();
                if let Some(&i) = keep.iter().find(|&&i| cols[3][i] <= 0.0) {
                    bail!(
                        "{}: row {}, column `monetary_value`: {} — Gamma-Gamma needs a positive mean spend for \
                         customers with repeat purchases (refunds and free orders belong out of the spend average)",
                        path.display(),
                        i + 1,
                        cols[3][i]
                    );
                }
                let fit = params
                    .fit_gamma_gamma(&x, &m)
                    .with_context(|| format!("Gamma-Gamma fit on {} failed", path.display()))?;
                json!({
                    "model": "gamma-gamma",
                    "params": { "p": fit.model.p, "q": fit.model.q, "gamma": fit.model.gamma },
                    "standard_errors": fit.standard_errors,
                    "log_likelihood": fit.log_likelihood,
                    "iterations": fit.iterations,
                    "n": fit.n,
                    "excluded_without_repeat_purchases": cols[0].len() - keep.len(),
                })
            } else {
                let customers: Vec<Rfm> = (0..cols[0].len())
                    .map(|i| Rfm { frequency: cols[0][i], recency: cols[1][i], t: cols[2][i] })
                    .collect();
                if a.model == ClvModelArg::ParetoNbd {
                    let fit = params
                        .fit_pareto_nbd(&customers)
                        .with_context(|| format!("Pareto/NBD fit on {} failed", path.display()))?;
                    let m = fit.model;
                    json!({
                        "model": "pareto-nbd",
                        "params": { "r": m.r, "alpha": m.alpha, "s": m.s, "beta": m.beta },
                        "standard_errors": fit.standard_errors,
                        "log_likelihood": fit.log_likelihood,
                        "iterations": fit.iterations,
                        "n": fit.n,
                    })
                } else {
                    let fit = params
                        .fit_bgnbd(&customers)
                        .with_context(|| format!("BG/NBD fit on {} failed", path.display()))?;
                    let m = fit.model;
                    json!({
                        "model": "bgnbd",
                        "params": { "r": m.r, "alpha": m.alpha, "a": m.a, "b": m.b },
                        "standard_errors": fit.standard_errors,
                        "log_likelihood": fit.log_likelihood,
                        "iterations": fit.iterations,
                        "n": fit.n,
                    })
                }
            }
        }
    };
    serde_json::to_writer_pretty(&mut *stdout, &doc)?;
    writeln!(stdout)?;
    Ok(Outcome::Ok)
}
