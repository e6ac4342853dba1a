//! Experiment results: sessions and conversions per variation turned into rates with 95%
//! intervals, lift against the control with its p-value, and the sample-ratio-mismatch test.

use serde::Serialize;

use super::*;

/// One variation's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariationResult {
    /// Variation index (0 is the control).
    pub variation: i64,
    /// Sessions exposed to it (started in the range).
    pub sessions: i64,
    /// Of those, sessions with an order.
    pub conversions: i64,
    /// `conversions / sessions`.
    pub conversion_rate: Option<f64>,
    /// Wilson 95% interval of the conversion rate.
    pub conversion_ci: Option<(f64, f64)>,
    /// Revenue of those sessions' orders, per currency.
    pub revenue: Vec<Money>,
    /// Revenue ÷ sessions, per currency (rounded half up).
    pub revenue_per_session: Vec<Money>,
    /// Revenue ÷ orders, per currency (rounded half up).
    pub aov: Vec<Money>,
    /// Relative lift of the conversion rate over the control (`null` for the control).
    pub lift: Option<f64>,
    /// 95% interval of the lift (delta method).
    pub lift_ci: Option<(f64, f64)>,
    /// Two-sided p-value of the difference with the control (pooled two-proportion z-test).
    pub p_value: Option<f64>,
}

/// Sample-ratio-mismatch check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Srm {
    /// Chi-square statistic against the expected weights.
    pub chi2: f64,
    /// Its p-value.
    pub p_value: f64,
    /// The expected weights used (equal unless given).
    pub weights: Vec<f64>,
    /// `true` when `p_value < 0.001`: the split is not what the weights say; results are suspect.
    pub warning: bool,
}

/// An experiment's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExperimentResult {
    /// Experiment key.
    pub key: String,
    /// Sessions exposed, all variations.
    pub sessions: i64,
    /// Per variation, in index order (missing indices have zero sessions).
    pub variations: Vec<VariationResult>,
    /// Sample-ratio-mismatch test (`null` with fewer than two variations).
    pub srm: Option<Srm>,
}

/// Records variation `v`'s sessions and conversions (indices outside 0..100 are ignored).
pub(crate) fn count_variation(counts: &mut Vec<(i64, i64)>, v: i64, sessions: i64, conversions: i64) {
    if (0..100).contains(&v) {
        counts.resize(counts.len().max(v as usize + 1), (0, 0));
        counts[v as usize] = (sessions, conversions);
    }
}

/// An experiment's results from its sessions and conversions per variation (`counts`, by index)
/// and its orders per variation and currency (`money`: variation, currency, orders, revenue).
pub(crate) fn experiment_result(
    key: &str,
    counts: &[(i64, i64)],
    money: &[(i64, String, i64, i64)],
    weights: Option<&[f64]>,
) -> ExperimentResult {
    let (nc, xc) = counts.first().copied().unwrap_or((0, 0));
    let variations: Vec<VariationResult> = counts
        .iter()
        .enumerate()
        .map(|(i, &(n, x))| {
            let mine = money.iter().filter(|m| m.0 == i as i64);
            let revenue: Vec<Money> = mine.clone().map(|m| Money { currency: m.1.clone(), amount: m.3 }).collect();
            let lift =
                if i == 0 { None } else { crate::stats::relative_lift(xc as f64, nc as f64, x as f64, n as f64) };
            VariationResult {
                variation: i as i64,
                sessions: n,
                conversions: x,
                conversion_rate: ratio(x, n),
                conversion_ci: crate::stats::wilson(x as f64, n as f64),
                revenue_per_session: revenue
                    .iter()
                    .map(|m| Money { currency: m.currency.clone(), amount: div_round(m.amount, n) })
                    .collect(),
                aov: mine.map(|m| Money { currency: m.1.clone(), amount: div_round(m.3, m.2) }).collect(),
                revenue,
                lift: lift.map(|l| l.0),
                lift_ci: lift.map(|l| (l.1, l.2)),
                p_value: if i == 0 {
                    None
                } else {
                    crate::stats::two_proportion_p(xc as f64, nc as f64, x as f64, n as f64)
                },
            }
        })
        .collect();
    let observed: Vec<f64> = counts.iter().map(|c| c.0 as f64).collect();
    let expected: Vec<f64> = match weights {
        Some(w) if w.len() == observed.len() => w.to_vec(),
        _ => vec![1.0; observed.len()],
    };
    let srm = crate::stats::srm(&observed, &expected).map(|(chi2, p_value)| {
        let total: f64 = expected.iter().sum();
        Srm { chi2, p_value, weights: expected.iter().map(|w| w / total).collect(), warning: p_value < 0.001 }
    });
    ExperimentResult { key: key.to_owned(), sessions: counts.iter().map(|c| c.0).sum(), variations, srm }
}
