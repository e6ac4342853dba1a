//! A/B assignment, compatible with GrowthBook.
//!
//! The same experiment definition assigns the same visitor to the same variation here and in
//! GrowthBook's SDKs: FNV-1a 32-bit over UTF-16 code units, hash versions 1 and 2, bucket ranges
//! from coverage and weights, namespaces, hash-range filters, forced variations and query-string
//! overrides. `core/tests/growthbook.rs` runs GrowthBook's shared SDK test suite against it.
//!
//! Not supported (targeting is left to the page): attribute conditions, prerequisite flags,
//! saved groups and sticky bucketing.

use crate::json::Value;

/// FNV-1a 32-bit over the UTF-16 code units of `s` (as JavaScript's `charCodeAt`).
///
/// ```
/// use funnelcake_core::experiment::fnv1a32;
/// assert_eq!(fnv1a32(""), 0x811c9dc5);
/// // As JavaScript: "a\u{1F600}".split("") hashed by charCodeAt, the emoji as its two surrogates.
/// assert_eq!(fnv1a32("a😀"), 0x1c8e_cbf9);
/// ```
pub fn fnv1a32(s: &str) -> u32 {
    fnv_on(0x811c_9dc5, s)
}

/// FNV-1a 32-bit of `s` going on from `h`: the hash of two strings run together is the second's
/// on from the first's (so no joined copy is made).
fn fnv_on(mut h: u32, s: &str) -> u32 {
    for unit in s.encode_utf16() {
        h ^= u32::from(unit);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// GrowthBook's hash of `value` with `seed` into `[0, 1)`; `None` for an unknown version.
///
/// ```
/// use funnelcake_core::experiment::hash;
/// assert_eq!(hash("", "a", 1), Some(0.22));
/// assert_eq!(hash("seed", "a", 2), Some(0.0505));
/// assert_eq!(hash("abc", "def", 99), None);
/// ```
pub fn hash(seed: &str, value: &str, version: u32) -> Option<f64> {
    match version {
        // fnv(value + seed)
        1 => Some(f64::from(fnv_on(fnv1a32(value), seed) % 1000) / 1000.0),
        // fnv(String(fnv(seed + value)))
        2 => {
            let mut inner = String::new();
            crate::json::write_int(&mut inner, i64::from(fnv_on(fnv1a32(seed), value)));
            Some(f64::from(fnv1a32(&inner) % 10_000) / 10_000.0)
        }
        _ => None,
    }
}

/// `n` equal weights (empty for `n ≤ 0`).
pub fn equal_weights(n: i64) -> Vec<f64> {
    // A loop of `push`es (as `numbers` makes the given weights), not `vec![w; n]`, whose
    // `from_elem::<f64>` was code of its own (−149 bytes gzip before the function order).
    let (mut weights, w) = (Vec::new(), 1.0 / n as f64);
    for _ in 0..n {
        weights.push(w);
    }
    weights
}

/// Bucket ranges of `n` variations: each variation's weight, scaled by `coverage` (clamped to
/// `[0, 1]`). Weights of the wrong length, or not summing to 1 (±0.01), are replaced by equal
/// weights.
///
/// ```
/// use funnelcake_core::experiment::bucket_ranges;
/// assert_eq!(bucket_ranges(2, 0.5, None), vec![(0.0, 0.25), (0.5, 0.75)]);
/// ```
pub fn bucket_ranges(n: i64, coverage: f64, weights: Option<&[f64]>) -> Vec<(f64, f64)> {
    let coverage = if coverage.is_nan() { 1.0 } else { coverage.clamp(0.0, 1.0) };
    let equal = equal_weights(n);
    // Compared by hand: `RangeInclusive::contains` is a function of its own in the wasm.
    // Summed by a plain loop: `Iterator::sum` of `f64`s was a function of its own.
    let sums_to_one = |w: &[f64]| {
        let mut sum = 0.0;
        for x in w {
            sum += x;
        }
        sum >= 0.99 && sum <= 1.01
    };
    // Borrowed, not copied: a `to_vec` of `f64`s was code for this one use.
    let weights = match weights {
        Some(w) if w.len() == equal.len() && sums_to_one(w) => w,
        _ => &equal,
    };
    let mut cumulative = 0.0;
    let mut ranges = Vec::with_capacity(weights.len());
    for &w in weights {
        ranges.push((cumulative, cumulative + coverage * w));
        cumulative += w;
    }
    ranges
}

/// `true` if `n` is in `[start, end)`.
pub fn in_range(n: f64, range: (f64, f64)) -> bool {
    n >= range.0 && n < range.1
}

/// The index of the range containing `n`, or -1.
pub fn choose_variation(n: f64, ranges: &[(f64, f64)]) -> i64 {
    ranges.iter().position(|r| in_range(n, *r)).map_or(-1, |i| i as i64)
}

/// `true` if `hash_value` falls in the namespace `(id, start, end)`.
pub fn in_namespace(hash_value: &str, namespace: &(String, f64, f64)) -> bool {
    let mut seed = String::from("__");
    seed.push_str(&namespace.0);
    hash(&seed, hash_value, 1).is_some_and(|n| n >= namespace.1 && n < namespace.2)
}

/// The variation forced by the query parameter `<prefix><key>` in `url`, if it is a valid index.
///
/// ```
/// use funnelcake_core::experiment::query_override;
/// assert_eq!(query_override("checkout-button", "/cart?fc_exp_checkout-button=1", 2, "fc_exp_"), Some(1));
/// assert_eq!(query_override("checkout-button", "/cart?fc_exp_checkout-button=7", 2, "fc_exp_"), None);
/// ```
pub fn query_override(key: &str, url: &str, variations: usize, prefix: &str) -> Option<usize> {
    let mut name = String::from(prefix);
    name.push_str(key);
    let v = crate::source::query_param(url, &name)?;
    let n = crate::json::parse_number(v.trim_ascii())?;
    (n.fract() == 0.0 && n >= 0.0 && (n as usize) < variations).then_some(n as usize)
}

/// A hash-range filter: the visitor is in the experiment only if `hash(seed, attribute)` falls in
/// one of `ranges`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Hash seed.
    pub seed: String,
    /// Attribute hashed (default `id`).
    pub attribute: Option<String>,
    /// Hash version (default 2).
    pub hash_version: u32,
    /// Accepted ranges.
    pub ranges: Vec<(f64, f64)>,
}

/// An experiment definition (the GrowthBook fields funnelcake supports).
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Experiment key.
    pub key: String,
    /// Number of variations.
    pub variations: usize,
    /// Variation weights (default equal).
    pub weights: Option<Vec<f64>>,
    /// Share of visitors included (default 1).
    pub coverage: Option<f64>,
    /// Explicit bucket ranges (override weights and coverage).
    pub ranges: Option<Vec<(f64, f64)>>,
    /// Forced variation.
    pub force: Option<i64>,
    /// `false` skips the experiment.
    pub active: bool,
    /// Namespace `(id, start, end)`.
    pub namespace: Option<(String, f64, f64)>,
    /// Hash-range filters.
    pub filters: Vec<Filter>,
    /// Hash seed (default: the key).
    pub seed: Option<String>,
    /// Hash version (default 1).
    pub hash_version: u32,
    /// Attribute hashed (default `id`).
    pub hash_attribute: Option<String>,
}

impl Experiment {
    /// An active experiment with equal weights and full coverage.
    pub fn new(key: &str, variations: usize) -> Experiment {
        Experiment {
            key: key.to_owned(),
            variations,
            weights: None,
            coverage: None,
            ranges: None,
            force: None,
            active: true,
            namespace: None,
            filters: Vec::new(),
            seed: None,
            hash_version: 1,
            hash_attribute: None,
        }
    }
}

/// `[[start, end], ...]` from JSON; `None` if missing or any range is malformed. (Taking the
/// `Option` saves an `and_then` instantiation at each of the two callers.)
fn ranges_of(v: Option<&Value>) -> Option<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for r in v?.as_array()? {
        match r.as_array()? {
            [a, b] => out.push((a.as_f64()?, b.as_f64()?)),
            _ => return None,
        }
    }
    Some(out)
}

/// Every element of `v` as a number; `None` if any is not one.
fn numbers(v: &Value) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    for n in v.as_array()? {
        out.push(n.as_f64()?);
    }
    Some(out)
}

/// Longest experiment key, in UTF-8 bytes: the session's experiments (at most
/// [`crate::metrics::MAX_EXPERIMENTS`]) ride on every event, which must stay within 32 KB.
pub const MAX_KEY_BYTES: usize = 200;

impl Experiment {
    /// An experiment from GrowthBook-style options (the JS API's `experiment(key, options)` and
    /// GrowthBook's experiment JSON): `variations` (an array, or a count), `weights`,
    /// `coverage`, `ranges`, `force`, `active`, `namespace` (`[id, start, end]`), `filters`,
    /// `seed`, `hashVersion`, `hashAttribute`. Malformed optional fields are ignored; `None`
    /// when there are no variations or the key is empty or longer than [`MAX_KEY_BYTES`] (then
    /// the visitor simply is not in the experiment).
    pub fn from_options(key: &str, v: &Value) -> Option<Experiment> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return None;
        }
        let variations = match v.get("variations")? {
            Value::Arr(a) => a.len(),
            // (Compared by hand, as in `bucket_ranges`.)
            n => n.as_f64().filter(|n| *n >= 0.0 && *n <= 1000.0)? as usize,
        };
        let num = |k: &str| v.get(k).and_then(Value::as_f64);
        // Loops, not iterator chains: smaller in the wasm.
        let mut filters = Vec::new();
        if let Some(Value::Arr(list)) = v.get("filters") {
            for f in list {
                if let (Some(seed), Some(ranges)) = (f.text("seed"), ranges_of(f.get("ranges"))) {
                    filters.push(Filter {
                        seed,
                        attribute: f.text("attribute"),
                        hash_version: hash_version(f, 2),
                        ranges,
                    });
                }
            }
        }
        Some(Experiment {
            key: key.to_owned(),
            variations,
            weights: v.get("weights").and_then(numbers),
            coverage: num("coverage"),
            ranges: ranges_of(v.get("ranges")),
            force: num("force").map(|f| f as i64),
            active: !matches!(v.get("active"), Some(Value::Bool(false))),
            namespace: match v.get("namespace") {
                Some(Value::Arr(n)) => match &n[..] {
                    [Value::Str(id), a, b] => a.as_f64().zip(b.as_f64()).map(|(a, b)| (id.clone(), a, b)),
                    _ => None,
                },
                _ => None,
            },
            filters,
            seed: v.text("seed"),
            hash_version: hash_version(v, 1),
            hash_attribute: v.text("hashAttribute"),
        })
    }
}

/// The `hashVersion` of an experiment or filter, `default` when it has none.
fn hash_version(v: &Value, default: u32) -> u32 {
    v.get("hashVersion").and_then(Value::as_f64).map_or(default, |h| h as u32)
}

/// The evaluation context: the visitor's attributes and global switches, borrowed from whoever
/// holds them (the tracker's state and the call's page).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Context<'a> {
    /// Attribute values as strings (an empty or missing value excludes the visitor).
    pub attributes: &'a [(&'a str, &'a str)],
    /// `false` disables every experiment.
    pub disabled: bool,
    /// QA mode: only forced variations apply.
    pub qa_mode: bool,
    /// Variations forced by key.
    pub forced: &'a [(&'a str, i64)],
    /// The page URL (for query-string overrides).
    pub url: &'a str,
    /// Query parameter prefix of overrides (`fc_exp_` in funnelcake; empty in GrowthBook).
    pub query_prefix: &'a str,
}

/// The outcome of [`run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    /// Variation index (0 when not in the experiment).
    pub variation: usize,
    /// The visitor is in the experiment (should be exposed and measured).
    pub in_experiment: bool,
    /// The assignment came from the hash (not forced).
    pub hash_used: bool,
}

fn result(exp: &Experiment, index: i64, hash_used: bool) -> Assignment {
    if index < 0 || index as usize >= exp.variations {
        Assignment { variation: 0, in_experiment: false, hash_used: false }
    } else {
        Assignment { variation: index as usize, in_experiment: true, hash_used }
    }
}

/// Assigns the visitor of `ctx` in `exp`, following GrowthBook's `run` order: at least two
/// variations, enabled, query-string override, context-forced variation, active, a hash value,
/// filters (else namespace), the hash within the bucket ranges, a forced variation, QA mode.
pub fn run(ctx: &Context<'_>, exp: &Experiment) -> Assignment {
    let not_in = || result(exp, -1, false);
    if exp.variations < 2 || ctx.disabled {
        return not_in();
    }
    if let Some(v) = query_override(&exp.key, ctx.url, exp.variations, ctx.query_prefix) {
        return result(exp, v as i64, false);
    }
    if let Some((_, v)) = ctx.forced.iter().find(|(k, _)| *k == exp.key) {
        return result(exp, *v, false);
    }
    if !exp.active {
        return not_in();
    }
    let attribute = |name: &Option<String>| {
        let name = name.as_deref().unwrap_or("id");
        ctx.attributes.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).filter(|v| !v.is_empty())
    };
    let Some(hash_value) = attribute(&exp.hash_attribute) else { return not_in() };
    if !exp.filters.is_empty() {
        let filtered_out = exp.filters.iter().any(|f| {
            let Some(value) = attribute(&f.attribute) else { return true };
            match hash(&f.seed, value, f.hash_version) {
                Some(n) => !f.ranges.iter().any(|r| in_range(n, *r)),
                None => true,
            }
        });
        if filtered_out {
            return not_in();
        }
    } else if let Some(ns) = &exp.namespace {
        if !in_namespace(hash_value, ns) {
            return not_in();
        }
    }
    let Some(n) = hash(exp.seed.as_deref().unwrap_or(&exp.key), hash_value, exp.hash_version) else {
        return not_in();
    };
    let computed;
    let ranges = match &exp.ranges {
        Some(r) => r,
        None => {
            computed = bucket_ranges(exp.variations as i64, exp.coverage.unwrap_or(1.0), exp.weights.as_deref());
            &computed
        }
    };
    let assigned = choose_variation(n, ranges);
    if assigned < 0 {
        return not_in();
    }
    if let Some(force) = exp.force {
        return result(exp, force, false);
    }
    if ctx.qa_mode {
        return not_in();
    }
    result(exp, assigned, true)
}
