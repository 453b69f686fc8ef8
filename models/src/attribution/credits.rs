//! Crediting every order's journey under every model, and the totals per group.

use std::collections::HashMap;

use rayon::prelude::*;
use roicast_data::journeys::{Journeys, NONE, NONE8};
use roicast_data::schema::{CHANNELS, INTERACTIONS, PLATFORMS};
use serde::Serialize;

use super::hazard::AdditiveHazard;
use super::markov::{PathCounts, removal_effects};
use crate::exact::ExactSum;

const US_PER_DAY: f64 = 86_400_000_000.0;
use super::shapley::{MAX_GROUPS, shapley_values};
use super::{Rule, Touch, distinct_split};
use crate::ModelError;

/// What touches are grouped by in totals (and in the Markov and Shapley games).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// The touch's channel.
    #[default]
    Channel,
    /// The creator for creator touches; the channel for others.
    Creator,
    /// The platform where known; the channel otherwise.
    Platform,
    /// Channel and interaction, e.g. `creator/click`, `paid_social/impression`.
    ChannelInteraction,
    /// The campaign where known; the channel otherwise.
    Campaign,
}

/// The group of every touch.
#[derive(Debug, Clone)]
pub struct Grouping {
    /// Group names; the index is the group.
    pub names: Vec<String>,
    /// Group of each touch of [`Journeys::touches`].
    pub of_touch: Vec<u32>,
}

/// The group of orders with an empty journey.
pub const NO_TOUCH: &str = "(none)";
/// The group of the data-driven model's baseline share (conversions no touch explains).
pub const BASELINE: &str = "(baseline)";
/// [`Credit::touch`] of the baseline share.
pub const BASELINE_TOUCH: u32 = NONE - 1;

/// Assigns every touch to a group.
#[must_use]
pub fn grouping(j: &Journeys, by: GroupBy) -> Grouping {
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut of_touch = Vec::with_capacity(j.touches.len());
    for t in &j.touches {
        let combined;
        let name: &str = match by {
            GroupBy::Creator if t.creator != NONE => &j.creators[t.creator as usize],
            GroupBy::Platform if t.platform != NONE8 => PLATFORMS[t.platform as usize],
            GroupBy::Campaign if t.campaign != NONE => &j.campaigns[t.campaign as usize],
            GroupBy::ChannelInteraction => {
                combined = format!("{}/{}", CHANNELS[t.channel as usize], INTERACTIONS[t.interaction as usize]);
                &combined
            }
            _ => CHANNELS[t.channel as usize],
        };
        let g = if let Some(&g) = index.get(name) {
            g
        } else {
            let g = names.len() as u32;
            names.push(name.to_owned());
            index.insert(name.to_owned(), g);
            g
        };
        of_touch.push(g);
    }
    Grouping { names, of_touch }
}

/// A model to credit orders with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// A rule model.
    Rule(Rule),
    /// Markov removal effects with a chain of this order.
    Markov(usize),
    /// Exact Shapley value.
    Shapley,
    /// The fitted additive hazard: a touch's share of the hazard at the conversion.
    DataDriven,
}

impl Model {
    /// The model's name in outputs.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Model::Rule(r) => r.name(),
            Model::Markov(_) => "markov",
            Model::Shapley => "shapley",
            Model::DataDriven => "data_driven",
        }
    }
}

/// One credited touch of one order under one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Credit {
    /// Index into [`Journeys::orders`].
    pub order: u32,
    /// Index into the model list.
    pub model: u16,
    /// Index into [`Journeys::touches`], [`NONE`] for an order without touches, or
    /// [`BASELINE_TOUCH`] for the data-driven model's baseline share.
    pub touch: u32,
    /// Share of the conversion, in [0, 1]; an order's shares sum to 1.
    pub credit: f64,
}

/// Totals of one group under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupTotal {
    /// Model name.
    pub model: &'static str,
    /// Group name.
    pub group: String,
    /// Conversions credited.
    pub conversions: f64,
    /// Revenue credited.
    pub revenue: f64,
    /// Converting journeys the group touched without being the last touch's group.
    pub assisted_conversions: u64,
}

/// Everything the models computed.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// Model list, in credit order.
    pub models: Vec<Model>,
    /// Markov removal effects per group, when Markov ran on these journeys.
    pub removal_effects: Option<Vec<f64>>,
    /// The Markov model's weights per group inside a journey
    /// ([`super::markov::RemovalEffects::journey_weights`]), when Markov ran.
    pub markov_weights: Option<Vec<f64>>,
    /// Totals per model and group, sorted by model then group.
    pub totals: Vec<GroupTotal>,
}

fn journey_touches(j: &Journeys, g: &Grouping, order: usize, buf: &mut Vec<Touch>) {
    buf.clear();
    let direct = CHANNELS.iter().position(|c| *c == "direct").map(|i| i as u8);
    for &t in j.order_journey(order) {
        let r = &j.touches[t as usize];
        buf.push(Touch { group: g.of_touch[t as usize], time_us: r.ts, direct: Some(r.channel) == direct });
    }
}

/// The Markov path table of all journeys: converting ones with value, non-converting
/// ones as nulls.
#[must_use]
pub fn path_counts(j: &Journeys, g: &Grouping) -> Vec<PathCounts> {
    let mut acc: HashMap<Vec<u32>, (f64, f64, f64)> = HashMap::new();
    for (o, order) in j.orders.iter().enumerate() {
        let path: Vec<u32> = j.order_journey(o).iter().map(|&t| g.of_touch[t as usize]).collect();
        if path.is_empty() {
            continue;
        }
        let e = acc.entry(path).or_default();
        e.0 += 1.0;
        e.1 += order.revenue;
    }
    for r in &j.non_converting {
        let path: Vec<u32> = (r.start..r.end).map(|t| g.of_touch[t]).collect();
        acc.entry(path).or_default().2 += 1.0;
    }
    let mut out: Vec<PathCounts> =
        acc.into_iter().map(|(path, (c, v, n))| PathCounts { path, conversions: c, value: v, nulls: n }).collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Orders per parallel chunk.
const CHUNK: usize = 16_384;

/// Credits every order under every model, calling `sink` with the credits of each chunk
/// of orders in order (chunks are computed in parallel).
///
/// `hazard` (aligned to `g`, see [`AdditiveHazard::aligned`]) is needed for
/// [`Model::DataDriven`].
pub fn credit_orders(
    j: &Journeys,
    g: &Grouping,
    models: &[Model],
    hazard: Option<&AdditiveHazard>,
    sink: impl FnMut(&[Credit]) -> Result<(), ModelError>,
) -> Result<Attribution, ModelError> {
    credit_orders_with(j, g, models, hazard, None, sink)
}

/// [`credit_orders`] with the Markov model's journey weights given (per group of `g`,
/// [`super::markov::RemovalEffects::journey_weights`]) instead of computed from these journeys: a
/// partition of a larger dataset credits its orders with the whole data's chain.
pub fn credit_orders_with(
    j: &Journeys,
    g: &Grouping,
    models: &[Model],
    hazard: Option<&AdditiveHazard>,
    markov_weights: Option<&[f64]>,
    sink: impl FnMut(&[Credit]) -> Result<(), ModelError>,
) -> Result<Attribution, ModelError> {
    let (removal, effects) = match markov_weights {
        Some(w) => (None, Some(w.to_vec())),
        None => match models.iter().find_map(|m| if let Model::Markov(k) = m { Some(*k) } else { None }) {
            Some(k) => {
                let chain = removal_effects(&path_counts(j, g), g.names.len(), k)?;
                (Some(chain.removal_effects), Some(chain.journey_weights))
            }
            None => (None, None),
        },
    };
    let mut tally = Tally::new(models, g.names.len());
    credit_orders_into(j, g, models, hazard, effects.as_deref(), None, &mut tally, sink)?;
    let totals = tally.totals(models, &g.names)?;
    Ok(Attribution { models: models.to_vec(), removal_effects: removal, markov_weights: effects, totals })
}

/// Exact totals of crediting: conversions and revenue per model and group (as
/// [`ExactSum`]s), assisted conversions per group, and the coalitions of the Shapley
/// game. Exact sums make the totals the same bits however the orders were chunked or
/// partitioned: a partitioned run adds every partition into one tally.
#[derive(Debug, Clone)]
pub struct Tally {
    n_groups: usize,
    conv: Vec<ExactSum>,
    rev: Vec<ExactSum>,
    assisted: Vec<u64>,
    /// Shapley coalitions (group masks) with their orders and revenue, when the game is
    /// small enough to solve.
    sets: Option<HashMap<u64, (u64, ExactSum)>>,
}

impl Tally {
    /// An empty tally for `models` over `n_groups` groups (plus "(none)" and the baseline).
    #[must_use]
    pub fn new(models: &[Model], n_groups: usize) -> Tally {
        let slots = models.len() * (n_groups + 2);
        let shapley = models.contains(&Model::Shapley) && n_groups <= MAX_GROUPS && n_groups > 0;
        Tally {
            n_groups,
            conv: vec![ExactSum::new(); slots],
            rev: vec![ExactSum::new(); slots],
            assisted: vec![0; n_groups + 2],
            sets: shapley.then(HashMap::new),
        }
    }

    /// The totals, models in `models` order and groups in index order ("(none)" and the
    /// baseline last), leaving out the empty ones. `names` are the tally's groups.
    ///
    /// # Errors
    /// When `names` is not one name per group, or the Shapley game fails.
    pub fn totals(&self, models: &[Model], names: &[String]) -> Result<Vec<GroupTotal>, ModelError> {
        let n = self.n_groups;
        if names.len() != n || self.conv.len() != models.len() * (n + 2) {
            return Err(ModelError::InvalidInput(format!(
                "a tally of {n} groups and {} slots read with {} names and {} models",
                self.conv.len(),
                names.len(),
                models.len()
            )));
        }
        let mut conv: Vec<f64> = self.conv.iter().map(ExactSum::value).collect();
        let mut rev: Vec<f64> = self.rev.iter().map(ExactSum::value).collect();
        // Shapley totals from the coalition game when it is small enough; they equal the
        // per-order sums (the game is a sum of unanimity games), which stand otherwise.
        if let (Some(mi), Some(sets)) = (models.iter().position(|m| *m == Model::Shapley), &self.sets) {
            let mut keys: Vec<u64> = sets.keys().copied().collect();
            keys.sort_unstable();
            let by_conv: Vec<(u64, f64)> = keys.iter().map(|k| (*k, sets[k].0 as f64)).collect();
            let by_value: Vec<(u64, f64)> = keys.iter().map(|k| (*k, sets[k].1.value())).collect();
            let base = mi * (n + 2);
            conv[base..base + n].copy_from_slice(&shapley_values(&by_conv, n)?);
            rev[base..base + n].copy_from_slice(&shapley_values(&by_value, n)?);
        }
        let mut totals = Vec::new();
        for (mi, m) in models.iter().enumerate() {
            for grp in 0..n + 2 {
                let slot = mi * (n + 2) + grp;
                let name = match grp {
                    x if x == n => NO_TOUCH.to_owned(),
                    x if x == n + 1 => BASELINE.to_owned(),
                    x => names[x].clone(),
                };
                if conv[slot] == 0.0 && rev[slot] == 0.0 && self.assisted[grp] == 0 {
                    continue;
                }
                totals.push(GroupTotal {
                    model: m.name(),
                    group: name,
                    conversions: conv[slot],
                    revenue: rev[slot],
                    assisted_conversions: self.assisted[grp],
                });
            }
        }
        Ok(totals)
    }
}

/// Credits every order of `j` into `tally` (whose groups are `map[g]` for group `g` of
/// `g`, or `g`'s own when `map` is `None`), calling `sink` with each chunk's credits in
/// order. `markov_weights` are needed for a Markov model (per group of `g`).
///
/// # Errors
/// When a model's inputs are missing or misaligned, or `sink` fails.
#[allow(clippy::too_many_arguments)]
pub fn credit_orders_into(
    j: &Journeys,
    g: &Grouping,
    models: &[Model],
    hazard: Option<&AdditiveHazard>,
    markov_weights: Option<&[f64]>,
    map: Option<&[u32]>,
    tally: &mut Tally,
    mut sink: impl FnMut(&[Credit]) -> Result<(), ModelError>,
) -> Result<(), ModelError> {
    if models.contains(&Model::DataDriven) && hazard.is_none_or(|h| h.beta.len() != g.names.len()) {
        return Err(ModelError::InvalidInput(
            "the data-driven model needs a hazard model aligned to the grouping".into(),
        ));
    }
    let markov = models.iter().any(|m| matches!(m, Model::Markov(_)));
    let effects = match markov_weights {
        Some(w) if w.len() != g.names.len() => {
            return Err(ModelError::InvalidInput(format!(
                "{} Markov journey weights for {} groups",
                w.len(),
                g.names.len()
            )));
        }
        None if markov => return Err(ModelError::InvalidInput("the Markov model needs its journey weights".into())),
        w => w,
    };
    let n_groups = g.names.len();
    let nt = tally.n_groups;
    if map.map_or(nt != n_groups, |m| m.len() != n_groups || m.iter().any(|&x| x as usize >= nt))
        || tally.conv.len() != models.len() * (nt + 2)
    {
        return Err(ModelError::InvalidInput(format!(
            "a tally of {nt} groups does not fit a grouping of {n_groups} and {} models",
            models.len()
        )));
    }
    let to_tally = |grp: u32| map.map_or(grp as usize, |m| m[grp as usize] as usize);
    let n_orders = j.orders.len();
    let window = rayon::current_num_threads().max(1) * 2;
    let mut start = 0;
    while start < n_orders {
        let ends: Vec<usize> = (0..window).map(|w| (start + (w + 1) * CHUNK).min(n_orders)).collect();
        let chunks: Vec<(usize, usize)> =
            (0..window).map(|w| ((start + w * CHUNK).min(n_orders), ends[w])).filter(|(a, b)| a < b).collect();
        let results: Vec<Vec<Credit>> = chunks
            .par_iter()
            .map(|&(a, b)| {
                let mut out = Vec::new();
                let mut buf = Vec::new();
                let mut w = Vec::new();
                for o in a..b {
                    journey_touches(j, g, o, &mut buf);
                    let ts = j.orders[o].ts;
                    for (mi, m) in models.iter().enumerate() {
                        if buf.is_empty() {
                            out.push(Credit { order: o as u32, model: mi as u16, touch: NONE, credit: 1.0 });
                            continue;
                        }
                        match m {
                            Model::Rule(r) => r.weights(&buf, ts, &mut w),
                            Model::Markov(_) => {
                                let e = effects.expect("effects computed when Markov is requested");
                                distinct_split(&buf, |grp| e[grp as usize], &mut w);
                            }
                            Model::Shapley => Rule::LinearDistinct.weights(&buf, ts, &mut w),
                            Model::DataDriven => {
                                let h = hazard.expect("checked above");
                                w.clear();
                                let mut rate = h.baseline;
                                for t in &buf {
                                    let x = h.touch_hazard(t.group as usize, (ts - t.time_us) as f64 / US_PER_DAY);
                                    w.push(x);
                                    rate += x;
                                }
                                if rate <= 0.0 {
                                    // No hazard at all at the conversion (zero baseline, every
                                    // touch at the conversion instant): split equally.
                                    let n = w.len() as f64;
                                    w.fill(1.0 / n);
                                    rate = f64::INFINITY;
                                }
                                for x in &mut w {
                                    *x /= if rate.is_finite() { rate } else { 1.0 };
                                }
                                let base = if rate.is_finite() { h.baseline / rate } else { 0.0 };
                                if base > 0.0 {
                                    out.push(Credit {
                                        order: o as u32,
                                        model: mi as u16,
                                        touch: BASELINE_TOUCH,
                                        credit: base,
                                    });
                                }
                            }
                        }
                        for (k, &t) in j.order_journey(o).iter().enumerate() {
                            if w[k] != 0.0 {
                                out.push(Credit { order: o as u32, model: mi as u16, touch: t, credit: w[k] });
                            }
                        }
                    }
                }
                out
            })
            .collect();
        for credits in &results {
            for c in credits {
                let grp = match c.touch {
                    NONE => nt,
                    BASELINE_TOUCH => nt + 1,
                    t => to_tally(g.of_touch[t as usize]),
                };
                let slot = c.model as usize * (nt + 2) + grp;
                tally.conv[slot].add(c.credit);
                tally.rev[slot].add(c.credit * j.orders[c.order as usize].revenue);
            }
            sink(credits)?;
        }
        start = *ends.last().expect("window > 0");
    }
    // Assisted conversions: model-independent.
    let mut seen: Vec<u32> = Vec::new();
    for o in 0..n_orders {
        let touches = j.order_journey(o);
        let Some(&last) = touches.last() else { continue };
        let last_group = g.of_touch[last as usize];
        seen.clear();
        for &t in touches {
            let grp = g.of_touch[t as usize];
            if grp != last_group && !seen.contains(&grp) {
                seen.push(grp);
                tally.assisted[to_tally(grp)] += 1;
            }
        }
    }
    if let Some(sets) = &mut tally.sets {
        for (o, order) in j.orders.iter().enumerate() {
            let mask = j.order_journey(o).iter().fold(0u64, |m, &t| m | (1 << to_tally(g.of_touch[t as usize])));
            if mask != 0 {
                let e = sets.entry(mask).or_default();
                e.0 += 1;
                e.1.add(order.revenue);
            }
        }
    }
    Ok(())
}
