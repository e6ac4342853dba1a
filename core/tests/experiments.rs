//! experiment(): sticky assignment, one exposure per session, assignment on later events and in
//! the summary, forced variations for QA.

mod common;
use common::*;
use funnelcake_core::experiment::Experiment;
use funnelcake_core::json::Value;

#[test]
fn exposure_is_logged_once_per_session_and_carried_on_later_events() {
    let mut s = Shop::new();
    s.page("/");
    let exp = Experiment::new("checkout-button", 2);
    let a = s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng);
    assert!(a.in_experiment && a.hash_used);
    let again = s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng);
    assert_eq!(again, a, "sticky");
    s.ok("add_to_cart", r#"{"id":"X"}"#);
    let events = s.sent();
    let exposures: Vec<_> = events.iter().filter(|e| e.t == "experiment_viewed").collect();
    assert_eq!(exposures.len(), 1, "one exposure per session");
    let props = Value::Obj(exposures[0].props.clone());
    assert_eq!(text(&props, "experiment_id"), Some("checkout-button"));
    assert_eq!(num(&props, "variation_id"), a.variation as i64);
    let cart = events.iter().find(|e| e.t == "add_to_cart").unwrap();
    assert_eq!(cart.exp, vec![("checkout-button".to_string(), a.variation as u32)]);
    assert_eq!(num(&s.snap(), "experiments.checkout-button"), a.variation as i64);

    // A new session logs a new exposure, with the same (sticky) variation.
    s.advance(31 * MIN).page("/");
    let b = s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng);
    assert_eq!(b.variation, a.variation);
    assert_eq!(s.sent().iter().filter(|e| e.t == "experiment_viewed").count(), 1);
}

#[test]
fn a_session_carries_its_first_fifty_experiments_and_keys_are_bounded() {
    // Keys made per product (an experiment on every product page): every event lists the
    // session's experiments, so unbounded they would grow each event past 32 KB.
    let mut s = Shop::new();
    s.page("/");
    let key = |i: usize| format!("{i:03}-{}", "k".repeat(196)); // 200 bytes, the longest allowed
    for i in 0..60 {
        let exp = Experiment::new(&key(i), 2);
        assert!(s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng).in_experiment);
    }
    // Past the fiftieth, the exposure is still sent, at each call (there is no room to remember it).
    let last = Experiment::new(&key(59), 2);
    let again = s.tracker.experiment(&last, &s.ctx.clone(), s.now, &mut s.rng);
    assert!(again.in_experiment);
    s.ok("add_to_cart", r#"{"id":"X"}"#);
    let events = s.sent();
    assert_eq!(events.iter().filter(|e| e.t == "experiment_viewed").count(), 61);
    let cart = events.iter().find(|e| e.t == "add_to_cart").unwrap();
    assert_eq!(cart.exp.len(), 50);
    assert_eq!(cart.exp[49].0, key(49));
    let mut wire = String::new();
    cart.write_to(&mut wire);
    assert!(wire.len() < 16 * 1024, "{} bytes", wire.len());
    assert_eq!(at(&s.snap(), "experiments").as_object().map(<[_]>::len), Some(50));

    let opts = funnelcake_core::json::parse(r#"{"variations":2}"#).unwrap();
    assert!(Experiment::from_options(&key(0), &opts).is_some());
    assert!(Experiment::from_options(&format!("{}x", key(0)), &opts).is_none(), "201 bytes");
    assert!(Experiment::from_options("", &opts).is_none());
}

#[test]
fn the_split_follows_the_weights_across_visitors() {
    let exp = Experiment { weights: Some(vec![0.2, 0.8]), ..Experiment::new("split", 2) };
    let mut counts = [0usize; 2];
    for seed in 0..2000u64 {
        let mut s = Shop::new();
        s.rng = funnelcake_core::id::SplitMix64(seed * 7919 + 1);
        s.tracker = funnelcake_core::tracker::Tracker::new(
            config(|_| {}),
            funnelcake_core::session::SessionState::new(&mut s.rng),
        );
        let a = s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng);
        counts[a.variation] += 1;
    }
    // 20% ± 3 points of 2000 visitors.
    assert!((340..=460).contains(&counts[0]), "{counts:?}");
}

#[test]
fn a_query_parameter_forces_a_variation_for_qa_without_hashing() {
    let mut s = Shop::new();
    s.at_url("/cart?fc_exp_checkout-button=1");
    let a = s.tracker.experiment(&Experiment::new("checkout-button", 2), &s.ctx.clone(), s.now, &mut s.rng);
    assert_eq!((a.variation, a.in_experiment, a.hash_used), (1, true, false));
    s.at_url("/cart?fc_exp_checkout-button=9");
    let b = s.tracker.experiment(&Experiment::new("checkout-button", 2), &s.ctx.clone(), s.now, &mut s.rng);
    assert!(b.hash_used, "an out-of-range override is ignored");
}

#[test]
fn visitors_outside_coverage_are_not_exposed() {
    let exp = Experiment { coverage: Some(0.0), ..Experiment::new("nobody", 2) };
    let mut s = Shop::new();
    let a = s.tracker.experiment(&exp, &s.ctx.clone(), s.now, &mut s.rng);
    assert!(!a.in_experiment);
    assert!(s.sent().is_empty());
}
