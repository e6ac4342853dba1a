//! Experiment statistics against values computed independently once with scipy 1.17.1
//! (`scipy.stats.norm.sf`, `scipy.stats.chi2.sf`, `scipy.stats.chisquare`; the Wilson, z-test and
//! delta-method figures from their textbook formulas in Python with `scipy.stats.norm.ppf(0.975)`).

use funnelcake_collector::stats::{chi2_sf, normal_sf, relative_lift, srm, two_proportion_p, wilson};

fn rel_close(got: f64, want: f64, tol: f64) -> bool {
    if want == 0.0 {
        got.abs() < tol
    } else {
        ((got - want) / want).abs() < tol
    }
}

#[test]
fn normal_survival_matches_scipy() {
    for (z, want) in [
        (0.0, 0.5),
        (0.5, 0.3085375387259869),
        (1.0, 0.15865525393145707),
        (1.96, 0.024997895148220435),
        (2.5, 0.006209665325776132),
        (3.3, 0.00048342414238377744),
        (-1.2, 0.8849303297782918),
    ] {
        assert!(rel_close(normal_sf(z), want, 1e-6), "sf({z}) = {} vs {want}", normal_sf(z));
    }
}

#[test]
fn chi_square_survival_matches_scipy() {
    for (x, dof, want) in [
        (0.5, 1.0, 0.47950012218695337),
        (3.84, 1.0, 0.05004352124870519),
        (10.83, 1.0, 0.0009986863791802592),
        (5.0, 2.0, 0.0820849986238988),
        (12.0, 3.0, 0.007383160505359769),
        (0.2, 4.0, 0.9953211598395555),
        (30.0, 1.0, 4.3204630578274955e-08),
    ] {
        assert!(rel_close(chi2_sf(x, dof), want, 1e-8), "chi2.sf({x}, {dof}) = {} vs {want}", chi2_sf(x, dof));
    }
}

#[test]
fn wilson_intervals() {
    for (x, n, lo, hi) in [
        (30.0, 200.0, 0.10713593562241995, 0.20605579284166659),
        (0.0, 50.0, 0.0, 0.07134759913335872),
        (50.0, 50.0, 0.9286524008666414, 1.0),
        (123.0, 1000.0, 0.10407414325107295, 0.1448112326470356),
    ] {
        let (a, b) = wilson(x, n).unwrap();
        assert!((a - lo).abs() < 1e-12 && (b - hi).abs() < 1e-12, "{x}/{n}: ({a}, {b})");
    }
    assert_eq!(wilson(0.0, 0.0), None);
}

#[test]
fn two_proportion_p_values() {
    for ((x1, n1, x2, n2), want) in [
        ((30.0, 200.0, 45.0, 210.0), 0.09237967055994593),
        ((100.0, 1000.0, 130.0, 1000.0), 0.03548845046647471),
        ((10.0, 100.0, 10.0, 100.0), 1.0),
    ] {
        let p = two_proportion_p(x1, n1, x2, n2).unwrap();
        assert!(rel_close(p, want, 1e-6), "{p} vs {want}");
    }
}

#[test]
fn relative_lift_with_delta_method_interval() {
    for ((xc, nc, xt, nt), (l, lo, hi)) in [
        ((30.0, 200.0, 45.0, 210.0), (0.4285714285714286, -0.17060219243360064, 1.027745049576458)),
        ((100.0, 1000.0, 130.0, 1000.0), (0.30000000000000004, -0.01917939771358701, 0.6191793977135871)),
    ] {
        let (a, b, c) = relative_lift(xc, nc, xt, nt).unwrap();
        assert!((a - l).abs() < 1e-12 && (b - lo).abs() < 1e-12 && (c - hi).abs() < 1e-12, "({a}, {b}, {c})");
    }
    assert_eq!(relative_lift(0.0, 100.0, 5.0, 100.0), None, "no lift against a zero control rate");
    // 3 of 10 against 1 of 10: the approximation's lower end is −1.36; a rate cannot fall below
    // zero, so the interval stops at −100%.
    let (l, lo, hi) = relative_lift(3.0, 10.0, 1.0, 10.0).unwrap();
    assert!((l + 2.0 / 3.0).abs() < 1e-12 && lo == -1.0 && hi > 0.0, "({l}, {lo}, {hi})");
}

#[test]
fn sample_ratio_mismatch_matches_scipy_chisquare() {
    for (observed, weights, chi2, p) in [
        (vec![500.0, 500.0], vec![1.0, 1.0], 0.0, 1.0),
        (vec![480.0, 520.0], vec![1.0, 1.0], 1.6, 0.20590321073206466),
        (vec![550.0, 450.0], vec![1.0, 1.0], 10.0, 0.001565402258002549),
        (vec![300.0, 330.0, 370.0], vec![1.0, 1.0, 1.0], 7.4, 0.02472352647033939),
        (vec![210.0, 790.0], vec![0.2, 0.8], 0.625, 0.42919530044034926),
        (vec![5000.0, 5300.0], vec![1.0, 1.0], 8.737864077669903, 0.003116693839866867),
    ] {
        let (c, pv) = srm(&observed, &weights).unwrap();
        assert!((c - chi2).abs() < 1e-9 && rel_close(pv, p, 1e-8), "{observed:?}: ({c}, {pv}) vs ({chi2}, {p})");
    }
}
