//! Statistics for experiment results: Wilson intervals, the two-proportion z-test, relative lift
//! with a delta-method interval, and the sample-ratio-mismatch chi-square test. Tested against
//! values computed independently with scipy (`collector/tests/stats.rs`).

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Standard normal survival function `P(Z > z)`.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularized upper incomplete gamma `Q(a, x)` (series below `a + 1`, continued fraction above).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let gln = ln_gamma(a);
    if x < a + 1.0 {
        let (mut sum, mut del, mut ap) = (1.0 / a, 1.0 / a, a);
        for _ in 0..1000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        1.0 - sum * (-x + a * x.ln() - gln).exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (-x + a * x.ln() - gln).exp() * h
    }
}

/// Chi-square survival function `P(X > x)` with `dof` degrees of freedom.
pub fn chi2_sf(x: f64, dof: f64) -> f64 {
    gamma_q(dof / 2.0, x / 2.0)
}

/// Wilson score interval (95%) of a proportion.
pub fn wilson(successes: f64, n: f64) -> Option<(f64, f64)> {
    if n <= 0.0 {
        return None;
    }
    let p = successes / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some((center - half, center + half))
}

/// Two-sided p-value of the pooled two-proportion z-test.
pub fn two_proportion_p(x1: f64, n1: f64, x2: f64, n2: f64) -> Option<f64> {
    if n1 <= 0.0 || n2 <= 0.0 {
        return None;
    }
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (x2 / n2 - x1 / n1) / se;
    Some(2.0 * normal_sf(z.abs()))
}

/// Relative lift of treatment over control, `p_t / p_c − 1`, with a 95% interval by the delta
/// method: `Var ≈ p_t(1−p_t)/(n_t p_c²) + p_t² (1−p_c)/(n_c p_c³)`. The interval's lower end
/// is held at −1 (−100%): the normal approximation can reach below it on small samples, and no
/// conversion rate is below zero.
pub fn relative_lift(xc: f64, nc: f64, xt: f64, nt: f64) -> Option<(f64, f64, f64)> {
    if nc <= 0.0 || nt <= 0.0 || xc <= 0.0 {
        return None;
    }
    let (pc, pt) = (xc / nc, xt / nt);
    let lift = pt / pc - 1.0;
    let var = pt * (1.0 - pt) / (nt * pc * pc) + pt * pt * (1.0 - pc) / (nc * pc * pc * pc);
    let half = Z95 * var.sqrt();
    Some((lift, (lift - half).max(-1.0), lift + half))
}

/// Sample-ratio-mismatch test: chi-square goodness of fit of `observed` against `weights`
/// (normalised). Returns `(chi2, p_value)`.
pub fn srm(observed: &[f64], weights: &[f64]) -> Option<(f64, f64)> {
    let total: f64 = observed.iter().sum();
    let wsum: f64 = weights.iter().sum();
    if observed.len() < 2 || observed.len() != weights.len() || total <= 0.0 || wsum <= 0.0 {
        return None;
    }
    let chi2: f64 = observed
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = total * w / wsum;
            if e > 0.0 {
                (o - e) * (o - e) / e
            } else {
                0.0
            }
        })
        .sum();
    Some((chi2, chi2_sf(chi2, (observed.len() - 1) as f64)))
}
