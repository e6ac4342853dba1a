//! GrowthBook's shared SDK test suite (fixtures/growthbook/cases.json, MIT, see SOURCE.md
//! beside it): the `hash`, `getBucketRange`, `chooseVariation`, `inNamespace`,
//! `getEqualWeights` and `getQueryStringOverride` sections in full, and every `run` case that
//! needs only supported features.

use funnelcake_core::experiment::{
    bucket_ranges, choose_variation, equal_weights, hash, in_namespace, query_override, run, Context, Experiment,
};
use funnelcake_core::json::{parse, Value};

/// `run` cases skipped, with the reason. Every other case must pass.
const SKIPPED: &[(&str, &str)] = &[
    ("evaluates conditions - pass", "attribute conditions (targeting) are not supported"),
    ("evaluates conditions - fail", "attribute conditions (targeting) are not supported"),
    ("Prerequisite condition passes", "prerequisite feature flags are not supported"),
    ("Prerequisite condition fails", "prerequisite feature flags are not supported"),
    ("SavedGroups correctly pulled from context for experiment", "saved groups (conditions) are not supported"),
];

fn cases() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/growthbook/cases.json");
    parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn section(name: &str) -> Vec<Vec<Value>> {
    cases().get(name).unwrap().as_array().unwrap().iter().map(|c| c.as_array().unwrap().to_vec()).collect()
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn ranges(v: &Value) -> Vec<(f64, f64)> {
    v.as_array().unwrap().iter().map(|r| (num(&r.as_array().unwrap()[0]), num(&r.as_array().unwrap()[1]))).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn hash_section() {
    for c in section("hash") {
        let got = hash(c[0].as_str().unwrap(), c[1].as_str().unwrap(), num(&c[2]) as u32);
        match c[3].as_f64() {
            Some(want) => assert!(got.is_some_and(|g| close(g, want)), "{c:?}: {got:?}"),
            None => assert_eq!(got, None, "{c:?}"),
        }
    }
}

#[test]
fn get_bucket_range() {
    for c in section("getBucketRange") {
        let args = c[1].as_array().unwrap();
        let weights: Option<Vec<f64>> = args[2].as_array().map(|w| w.iter().map(num).collect());
        let got = bucket_ranges(num(&args[0]) as i64, num(&args[1]), weights.as_deref());
        let want = ranges(&c[2]);
        assert_eq!(got.len(), want.len(), "{}", c[0].as_str().unwrap());
        for (g, w) in got.iter().zip(&want) {
            assert!(close(g.0, w.0) && close(g.1, w.1), "{}: {got:?} vs {want:?}", c[0].as_str().unwrap());
        }
    }
}

#[test]
fn choose_variation_section() {
    for c in section("chooseVariation") {
        assert_eq!(choose_variation(num(&c[1]), &ranges(&c[2])), num(&c[3]) as i64, "{}", c[0].as_str().unwrap());
    }
}

#[test]
fn in_namespace_section() {
    for c in section("inNamespace") {
        let ns = c[2].as_array().unwrap();
        let ns = (ns[0].as_str().unwrap().to_owned(), num(&ns[1]), num(&ns[2]));
        assert_eq!(in_namespace(c[1].as_str().unwrap(), &ns), c[3] == Value::Bool(true), "{}", c[0].as_str().unwrap());
    }
}

#[test]
fn get_equal_weights() {
    for c in section("getEqualWeights") {
        let got = equal_weights(num(&c[0]) as i64);
        let want: Vec<f64> = c[1].as_array().unwrap().iter().map(num).collect();
        assert_eq!(got.len(), want.len());
        assert!(got.iter().zip(&want).all(|(g, w)| close(*g, *w)), "{got:?} vs {want:?}");
    }
}

#[test]
fn get_query_string_override() {
    for c in section("getQueryStringOverride") {
        let got = query_override(c[1].as_str().unwrap(), c[2].as_str().unwrap(), num(&c[3]) as usize, "");
        assert_eq!(got, c[4].as_f64().map(|n| n as usize), "{}", c[0].as_str().unwrap());
    }
}

fn attribute_text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Num(n) => {
            let mut s = String::new();
            funnelcake_core::json::write_num(&mut s, *n);
            Some(s)
        }
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A test case's context: attribute values as text, forced variations and the case's context
/// JSON, which the borrowed [`Context`] is made from.
struct CaseContext<'a> {
    attributes: Vec<(&'a str, String)>,
    forced: Vec<(&'a str, i64)>,
    json: &'a Value,
}

fn context(v: &Value) -> CaseContext<'_> {
    CaseContext {
        attributes: v
            .get("attributes")
            .and_then(Value::as_object)
            .map(|a| a.iter().filter_map(|(k, v)| attribute_text(v).map(|t| (k.as_str(), t))).collect())
            .unwrap_or_default(),
        forced: v
            .get("forcedVariations")
            .and_then(Value::as_object)
            .map(|f| f.iter().map(|(k, v)| (k.as_str(), num(v) as i64)).collect())
            .unwrap_or_default(),
        json: v,
    }
}

/// Runs `exp` in the case's context.
fn run_in(case: &CaseContext<'_>, exp: &Experiment) -> funnelcake_core::experiment::Assignment {
    let attributes: Vec<(&str, &str)> = case.attributes.iter().map(|(k, t)| (*k, t.as_str())).collect();
    let v = case.json;
    let ctx = Context {
        attributes: &attributes,
        disabled: v.get("enabled") == Some(&Value::Bool(false)),
        qa_mode: v.get("qaMode") == Some(&Value::Bool(true)),
        forced: &case.forced,
        url: v.get("url").and_then(Value::as_str).unwrap_or(""),
        query_prefix: "",
    };
    run(&ctx, exp)
}

fn experiment(v: &Value) -> Experiment {
    Experiment::from_options(v.get("key").unwrap().as_str().unwrap(), v).expect("valid experiment")
}

#[test]
fn run_cases() {
    let mut ran = 0;
    for c in section("run") {
        let name = c[0].as_str().unwrap();
        if let Some((_, why)) = SKIPPED.iter().find(|(n, _)| *n == name) {
            eprintln!("skipped {name:?}: {why}");
            continue;
        }
        let exp_json = &c[2];
        assert!(
            exp_json.get("condition").is_none() && exp_json.get("parentConditions").is_none(),
            "{name} uses an unsupported feature but is not in SKIPPED"
        );
        let a = run_in(&context(&c[1]), &experiment(exp_json));
        let value = &exp_json.get("variations").unwrap().as_array().unwrap()[a.variation];
        assert_eq!(value, &c[3], "{name}: value");
        assert_eq!(Value::Bool(a.in_experiment), c[4], "{name}: inExperiment");
        assert_eq!(Value::Bool(a.hash_used), c[5], "{name}: hashUsed");
        ran += 1;
    }
    assert_eq!(ran + SKIPPED.len(), section("run").len());
    assert!(ran >= 68, "{ran} run cases");
}

#[test]
fn options_from_the_js_api_are_read_leniently() {
    let e = Experiment::from_options(
        "btn",
        &parse(r#"{"variations":["Checkout","Buy now"],"weights":[0.9,0.1]}"#).unwrap(),
    )
    .unwrap();
    assert_eq!((e.variations, e.weights.as_deref(), e.hash_version), (2, Some(&[0.9, 0.1][..]), 1));
    // A count works as well as an array of values.
    assert_eq!(Experiment::from_options("k", &parse(r#"{"variations":3}"#).unwrap()).unwrap().variations, 3);
    // Malformed optional fields are ignored rather than failing the experiment.
    let odd = parse(r#"{"variations":2,"weights":["a",1],"ranges":[[0]],"namespace":[1,0,1],"coverage":"x"}"#).unwrap();
    let e = Experiment::from_options("k", &odd).unwrap();
    assert_eq!((e.weights, e.ranges, e.namespace, e.coverage), (None, None, None, None));
    // Without variations there is nothing to assign.
    assert!(Experiment::from_options("k", &parse(r#"{"weights":[1]}"#).unwrap()).is_none());
    assert!(Experiment::from_options("k", &parse(r#"{"variations":-1}"#).unwrap()).is_none());
}
