//! `Config::from_value`: every default, every clamp and what is reported for each adjustment (the
//! README's config table); `Config::resolve` of a typed `RawConfig` reads the same.

use funnelcake_core::config::{Config, ConfigError, ConfigIssue, ConfigProblem, Consent, Privacy, RawConfig};
use funnelcake_core::json::parse;

fn read(json: &str) -> Result<(Config, Vec<ConfigIssue>), ConfigError> {
    Config::from_value(parse(json).unwrap())
}

fn resolve(json: &str) -> (Config, Vec<(&'static str, ConfigProblem)>) {
    let (cfg, issues) = read(json).unwrap();
    (cfg, issues.iter().map(|ConfigIssue { field, problem }| (*field, *problem)).collect())
}

#[test]
fn defaults_are_the_documented_ones() {
    let (c, issues) = resolve(r#"{"site":" shop-1\t"}"#);
    assert!(issues.is_empty());
    assert_eq!(c.site, "shop-1", "surrounding ASCII whitespace is trimmed");
    assert_eq!(c.endpoint, "/v1/batch");
    assert_eq!(
        (c.flush_at, c.flush_interval_ms, c.max_batch_bytes, c.max_queue_events, c.max_queue_bytes),
        (20, 5000, 60_000, 1000, 1_000_000)
    );
    assert_eq!((c.max_attempts, c.session_timeout_min), (10, 30));
    assert!(c.auto_pageviews && c.data_layer && !c.debug);
    assert_eq!((c.privacy, c.consent, c.currency.as_deref()), (Privacy::Respect, Consent::Granted, None));
    assert!(c.funnels.is_empty());
}

#[test]
fn a_missing_blank_or_unstorable_site_is_refused() {
    // The collector refuses every batch of a site id it cannot store (`wire::is_site_id`): such
    // a config is refused at `init`, with a message, rather than each batch being dropped.
    let long = format!(r#"{{"site":"{}"}}"#, "x".repeat(129));
    for json in [r#"{}"#, r#"{"site":""}"#, r#"{"site":"  "}"#, r#"{"site":5}"#, r#"{"site":"shop\u0007"}"#, &long] {
        assert_eq!(read(json).err(), Some(ConfigError::MissingSite), "{json}");
    }
    let longest = format!(r#"{{"site":" {} "}}"#, "é".repeat(128));
    assert_eq!(read(&longest).unwrap().0.site.chars().count(), 128, "trimmed, then counted");
    for json in [r#""shop-1""#, "[]", "null", "5"] {
        assert_eq!(read(json).err(), Some(ConfigError::NotAnObject), "{json}");
    }
}

#[test]
fn numbers_are_clamped_to_their_range_and_each_adjustment_reported() {
    let (c, issues) = resolve(
        r#"{"site":"s","flushAt":0,"flushIntervalMs":1e9,"maxBatchBytes":"2048","maxQueueEvents":"lots",
            "maxQueueBytes":null,"maxAttempts":-3,"sessionTimeoutMin":1441}"#,
    );
    assert_eq!((c.flush_at, c.flush_interval_ms, c.max_batch_bytes), (1, 60_000, 2048));
    assert_eq!(
        (c.max_queue_events, c.max_queue_bytes, c.max_attempts, c.session_timeout_min),
        (1000, 1_000_000, 1, 1440)
    );
    assert_eq!(
        issues,
        [
            ("flushAt", ConfigProblem::RaisedToMinimum),
            ("flushIntervalMs", ConfigProblem::LoweredToMaximum),
            ("maxQueueEvents", ConfigProblem::NotANumber),
            ("maxAttempts", ConfigProblem::RaisedToMinimum),
            ("sessionTimeoutMin", ConfigProblem::LoweredToMaximum),
        ]
    );
    let (c, issues) = resolve(r#"{"site":"s","flushAt":500,"maxQueueEvents":10,"sessionTimeoutMin":1}"#);
    assert!(issues.is_empty(), "the ends of each range are allowed");
    assert_eq!((c.flush_at, c.max_queue_events, c.session_timeout_min), (500, 10, 1));
}

#[test]
fn words_outside_their_lists_fall_back_to_the_default() {
    let (c, issues) = resolve(r#"{"site":"s","privacy":"Strict","consent":"yes","currency":"UDS"}"#);
    assert_eq!((c.privacy, c.consent, c.currency.as_deref()), (Privacy::Respect, Consent::Granted, None));
    assert_eq!(
        issues,
        [
            ("privacy", ConfigProblem::UnknownValue),
            ("consent", ConfigProblem::UnknownValue),
            ("currency", ConfigProblem::UnknownValue)
        ]
    );
    let (c, issues) = resolve(r#"{"site":"s","privacy":"ignore","consent":"pending","currency":"jpy"}"#);
    assert!(issues.is_empty());
    assert_eq!((c.privacy, c.consent, c.currency.as_deref()), (Privacy::Ignore, Consent::Pending, Some("JPY")));
    assert_eq!(resolve(r#"{"site":"s","privacy":"strict","consent":"denied"}"#).0.privacy, Privacy::Strict);
}

#[test]
fn booleans_are_read_only_from_booleans() {
    let (c, _) = resolve(r#"{"site":"s","autoPageviews":false,"dataLayer":false,"debug":true}"#);
    assert!(!c.auto_pageviews && !c.data_layer && c.debug);
    let (c, _) = resolve(r#"{"site":"s","autoPageviews":"false","dataLayer":0,"debug":"yes"}"#);
    assert!(c.auto_pageviews && c.data_layer && !c.debug, "text and numbers keep the defaults");
}

#[test]
fn unreadable_funnels_are_skipped_and_reported_the_rest_kept() {
    let (c, issues) = resolve(
        r#"{"site":"s","funnels":[{"name":"signup","steps":["page_view","sign_up"]},{"name":"bad"},{"steps":"x"}]}"#,
    );
    assert_eq!(c.funnels.len(), 1);
    assert_eq!(issues, [("funnels", ConfigProblem::InvalidFunnel), ("funnels", ConfigProblem::InvalidFunnel)]);
    let (c, issues) = resolve(r#"{"site":"s","funnels":{"name":"not a list"}}"#);
    assert!(c.funnels.is_empty());
    assert_eq!(issues, [("funnels", ConfigProblem::InvalidFunnel)]);
}

#[test]
fn every_adjustment_has_words_for_the_debug_message() {
    for p in [
        ConfigProblem::RaisedToMinimum,
        ConfigProblem::LoweredToMaximum,
        ConfigProblem::NotANumber,
        ConfigProblem::UnknownValue,
        ConfigProblem::InvalidFunnel,
    ] {
        assert!(p.as_str().len() > 10, "{p:?}");
    }
    assert_eq!(ConfigError::MissingSite.as_str(), "config.site is required: 1 to 128 printable characters");
    assert_eq!(ConfigError::NotAnObject.as_str(), "init ignored: config must be an object");
}

#[test]
fn a_typed_raw_config_resolves_as_the_same_object_would() {
    let raw = RawConfig {
        site: Some("s".into()),
        endpoint: Some("https://c.example/v1/batch".into()),
        flush_at: Some(0.0),
        flush_interval_ms: Some(f64::NAN),
        max_batch_bytes: Some(2048.0),
        max_queue_events: Some(20_000.0),
        max_queue_bytes: Some(50_000.0),
        max_attempts: Some(3.0),
        session_timeout_min: Some(45.0),
        auto_pageviews: Some(false),
        data_layer: Some(false),
        privacy: Some("strict".into()),
        consent: Some("maybe".into()),
        currency: Some("eur".into()),
        debug: Some(true),
        funnels: Some(parse(r#"[{"name":"f","steps":["page_view","purchase"]},{"name":"bad"}]"#).unwrap()),
    };
    let json = r#"{"site":"s","endpoint":"https://c.example/v1/batch","flushAt":0,"flushIntervalMs":"x",
        "maxBatchBytes":2048,"maxQueueEvents":20000,"maxQueueBytes":50000,"maxAttempts":3,"sessionTimeoutMin":45,
        "autoPageviews":false,"dataLayer":false,"privacy":"strict","consent":"maybe","currency":"eur","debug":true,
        "funnels":[{"name":"f","steps":["page_view","purchase"]},{"name":"bad"}]}"#;
    let typed = Config::resolve(raw).unwrap();
    assert_eq!(typed, read(json).unwrap());
    let (c, issues) = typed;
    assert_eq!((c.flush_at, c.flush_interval_ms, c.max_queue_events, c.session_timeout_min), (1, 5000, 10_000, 45));
    assert_eq!(
        (c.privacy, c.consent, c.currency.as_deref(), c.funnels.len()),
        (Privacy::Strict, Consent::Granted, Some("EUR"), 1)
    );
    assert_eq!(issues.len(), 5, "{issues:?}");
    assert_eq!(Config::resolve(RawConfig::default()).err(), Some(ConfigError::MissingSite));
}
