//! The CLV models recover the generator's repeat-purchase, spend and churn truth.

use std::collections::HashMap;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use roicast_data::generate::{GenerateParams, Scenario, generate};
use roicast_data::rfm::{TimeUnit, build};
use roicast_data::validate::NoProgress;
use roicast_models::clv::Rfm;
use roicast_training::clv::ClvParams;

/// The generator's subscription period: 30 days.
const PERIOD_US: i64 = 30 * 86_400_000_000;

/// order id → causing creator (None: baseline or a non-creator channel).
fn causes(path: &std::path::Path) -> HashMap<String, Option<String>> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut out = HashMap::new();
    for b in reader {
        let b = b.unwrap();
        let order = b.column(0).as_string::<i32>();
        let creator = b.column(7).as_string::<i32>();
        for i in 0..b.num_rows() {
            out.insert(order.value(i).to_owned(), creator.is_valid(i).then(|| creator.value(i).to_owned()));
        }
    }
    out
}

fn within(name: &str, got: f64, se: Option<f64>, truth: f64, k: f64) {
    let se = se.unwrap_or_else(|| panic!("{name}: no standard error"));
    assert!((got - truth).abs() <= k * se, "{name}: {got:.4} ± {se:.4} vs truth {truth:.4}");
}

#[test]
fn repeat_purchases_spend_and_churn_are_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    generate(&GenerateParams::new(Scenario::Demo).seed(42), &data, &NoProgress).unwrap();
    let truth: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("truth.json")).unwrap()).unwrap();
    let end = roicast_data::conform::parse_timestamp_us(truth["observation_end"].as_str().unwrap());
    let ds = roicast_data::Dataset::open(&data).unwrap();
    // Refunds are random in the world: keep them so the purchase process is exactly BG/NBD.
    let (rfm, _, end_us) = build(&ds, TimeUnit::Weeks, end, false).unwrap();
    let cause = causes(&data.join("truth_conversions.parquet"));
    // customer cu<N> placed order o<N>-0.
    let group = |customer: &str| cause.get(&format!("o{}-0", &customer[2..])).cloned().flatten();
    let mut by_group: HashMap<Option<String>, Vec<usize>> = HashMap::new();
    for (i, c) in rfm.iter().enumerate() {
        by_group.entry(group(&c.customer_id)).or_default().push(i);
    }

    // Customers no creator acquired follow the base parameters exactly.
    let base = &by_group[&None];
    assert!(base.len() > 5_000, "{} base customers", base.len());
    let summaries: Vec<Rfm> =
        base.iter().map(|&i| Rfm { frequency: rfm[i].frequency, recency: rfm[i].recency, t: rfm[i].t }).collect();
    let fit = ClvParams::new().fit_bgnbd(&summaries).unwrap();
    let t = &truth["base_bgnbd"];
    for (name, got) in [("r", fit.model.r), ("alpha", fit.model.alpha), ("a", fit.model.a), ("b", fit.model.b)] {
        within(&format!("base BG/NBD {name}"), got, fit.standard_errors[name], t[name].as_f64().unwrap(), 3.0);
    }
    // Spend: a refunded order earns nothing (revenue is net of refunds), so the Gamma-Gamma
    // sample is each customer's paid orders — refunds are drawn independently of spend.
    let (paid, _, _) = build(&ds, TimeUnit::Weeks, end, true).unwrap();
    let paid: HashMap<&str, (f64, f64)> =
        paid.iter().map(|c| (c.customer_id.as_str(), (c.frequency, c.monetary_value))).collect();
    let rep: Vec<(f64, f64)> =
        base.iter().filter_map(|&i| paid.get(rfm[i].customer_id.as_str()).copied()).filter(|(x, _)| *x > 0.0).collect();
    let gg = ClvParams::new()
        .fit_gamma_gamma(&rep.iter().map(|r| r.0).collect::<Vec<_>>(), &rep.iter().map(|r| r.1).collect::<Vec<_>>())
        .unwrap();
    let t = &truth["base_gamma_gamma"];
    for (name, got) in [("p", gg.model.p), ("q", gg.model.q), ("gamma", gg.model.gamma)] {
        within(&format!("base Gamma-Gamma {name}"), got, gg.standard_errors[name], t[name].as_f64().unwrap(), 3.0);
    }

    // Per acquiring creator, for creators who acquired enough customers to fit.
    let creators: HashMap<String, &serde_json::Value> = truth["creators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["creator_id"].as_str().unwrap().to_owned(), c))
        .collect();
    let mut checked = 0;
    for (g, members) in &by_group {
        let Some(creator) = g else { continue };
        // 300 customers: a creator cohort smaller than that leaves BG/NBD's dropout
        // parameters weakly identified (the information matrix can be singular).
        if members.len() < 300 {
            continue;
        }
        checked += 1;
        let t = creators[creator];
        let s: Vec<Rfm> = members
            .iter()
            .map(|&i| Rfm { frequency: rfm[i].frequency, recency: rfm[i].recency, t: rfm[i].t })
            .collect();
        let fit = ClvParams::new().fit_bgnbd(&s).unwrap();
        // r and alpha are identified by the purchase rate; 3.5 SE allows for several creators.
        for (name, got) in [("r", fit.model.r), ("alpha", fit.model.alpha)] {
            within(
                &format!("{creator} BG/NBD {name}"),
                got,
                fit.standard_errors[name],
                t["bgnbd"][name].as_f64().unwrap(),
                3.5,
            );
        }
        // Subscription churn: 30-day periods, censored at the observation end.
        let subs: Vec<(u32, bool)> = members
            .iter()
            .filter_map(|&i| rfm[i].subscription)
            .map(|(start, churn)| match churn {
                Some(c) => (((c - start) / PERIOD_US) as u32, true),
                None => (((end_us - start) / PERIOD_US) as u32, false),
            })
            .collect();
        let sbg = ClvParams::new().fit_sbg_individual(&subs).unwrap();
        let mean_churn = sbg.model.alpha / (sbg.model.alpha + sbg.model.beta);
        let true_churn = t["sbg"]["alpha"].as_f64().unwrap()
            / (t["sbg"]["alpha"].as_f64().unwrap() + t["sbg"]["beta"].as_f64().unwrap());
        // The mean monthly churn probability α/(α+β) is what a cohort of this size pins down.
        assert!(
            (mean_churn - true_churn).abs() < 0.1,
            "{creator}: mean churn {mean_churn:.3} vs truth {true_churn:.3}"
        );
    }
    assert!(checked >= 1, "no creator acquired 300 customers");
}
