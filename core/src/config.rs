//! SDK configuration: defaults and clamping, applied once.
//!
//! [`Config::from_value`] reads the page's config object (what the shell receives from `init`)
//! and resolves it in the same pass: the documented defaults, out-of-range values clamped, each
//! adjustment reported as a [`ConfigIssue`] that the shell prints in debug mode. [`RawConfig`]
//! is the same input typed for Rust callers (every field optional, numbers as `f64` so nothing
//! is lost before validation), resolved through the same reader ([`Config::resolve`]). Every
//! default here is listed in the README's config table.

use crate::json::Value;

/// Configuration as the page gave it: every field optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawConfig {
    /// Site id (required).
    pub site: Option<String>,
    /// Collector URL; default `/v1/batch` on the page origin.
    pub endpoint: Option<String>,
    /// Events queued before a send.
    pub flush_at: Option<f64>,
    /// Age of the oldest unsent event that triggers a send, ms.
    pub flush_interval_ms: Option<f64>,
    /// Largest request body, bytes.
    pub max_batch_bytes: Option<f64>,
    /// Most events kept unsent.
    pub max_queue_events: Option<f64>,
    /// Most bytes of persisted queue.
    pub max_queue_bytes: Option<f64>,
    /// Most delivery attempts per event.
    pub max_attempts: Option<f64>,
    /// Minutes of inactivity that end a session.
    pub session_timeout_min: Option<f64>,
    /// Send page views automatically, including SPA navigation.
    pub auto_pageviews: Option<bool>,
    /// Capture from `window.dataLayer`.
    pub data_layer: Option<bool>,
    /// `respect`, `strict` or `ignore`.
    pub privacy: Option<String>,
    /// Initial consent: `granted`, `denied` or `pending`.
    pub consent: Option<String>,
    /// Default currency for values given without one.
    pub currency: Option<String>,
    /// Log problems to the console.
    pub debug: Option<bool>,
    /// Custom funnels: an array of `{name, steps}` (see [`crate::funnel::FunnelDef::from_value`]).
    pub funnels: Option<Value>,
}

impl RawConfig {
    /// The config object a page would pass with these fields (those set, under their
    /// JavaScript names), for [`Config::from_value`].
    pub fn into_value(self) -> Value {
        let mut members = Vec::new();
        let mut put = |key: &str, v: Option<Value>| {
            if let Some(v) = v {
                members.push((key.to_owned(), v));
            }
        };
        for (key, v) in [("site", self.site), ("endpoint", self.endpoint)] {
            put(key, v.map(Value::Str));
        }
        for (key, v) in [
            ("flushAt", self.flush_at),
            ("flushIntervalMs", self.flush_interval_ms),
            ("maxBatchBytes", self.max_batch_bytes),
            ("maxQueueEvents", self.max_queue_events),
            ("maxQueueBytes", self.max_queue_bytes),
            ("maxAttempts", self.max_attempts),
            ("sessionTimeoutMin", self.session_timeout_min),
        ] {
            put(key, v.map(Value::Num));
        }
        for (key, v) in [("autoPageviews", self.auto_pageviews), ("dataLayer", self.data_layer), ("debug", self.debug)]
        {
            put(key, v.map(Value::Bool));
        }
        for (key, v) in [("privacy", self.privacy), ("consent", self.consent), ("currency", self.currency)] {
            put(key, v.map(Value::Str));
        }
        put("funnels", self.funnels);
        Value::Obj(members)
    }
}

/// How Do Not Track / Global Privacy Control are honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// With DNT or GPC on: nothing persisted, no user id sent.
    Respect,
    /// With DNT or GPC on: nothing sent at all.
    Strict,
    /// DNT and GPC are not consulted.
    Ignore,
}

/// The visitor's consent state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Track, persist and send.
    Granted,
    /// Keep events in memory only until consent is decided.
    Pending,
    /// Discard events and stop persisting.
    Denied,
}

impl Consent {
    /// Parses `granted`, `pending` or `denied`.
    pub fn parse(s: &str) -> Option<Consent> {
        match s {
            "granted" => Some(Consent::Granted),
            "pending" => Some(Consent::Pending),
            "denied" => Some(Consent::Denied),
            _ => None,
        }
    }
}

/// Resolved configuration: every field has a valid value.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Site id.
    pub site: String,
    /// Collector URL. Default `/v1/batch` (relative to the page origin).
    pub endpoint: String,
    /// Default 20, range 1–500.
    pub flush_at: u32,
    /// Default 5000, range 100–60000.
    pub flush_interval_ms: u32,
    /// Default 60000, range 1024–65536 (the browser's keepalive budget is 64 KiB per page).
    pub max_batch_bytes: u32,
    /// Default 1000, range 10–10000.
    pub max_queue_events: u32,
    /// Default 1000000, range 10000–4000000.
    pub max_queue_bytes: u32,
    /// Default 10, range 1–100.
    pub max_attempts: u32,
    /// Default 30, range 1–1440.
    pub session_timeout_min: u32,
    /// Default true.
    pub auto_pageviews: bool,
    /// Default true.
    pub data_layer: bool,
    /// Default [`Privacy::Respect`].
    pub privacy: Privacy,
    /// Default [`Consent::Granted`].
    pub consent: Consent,
    /// Default none.
    pub currency: Option<String>,
    /// Default false.
    pub debug: bool,
    /// Custom funnels, besides the default funnel. Default none.
    pub funnels: Vec<crate::funnel::FunnelDef>,
}

/// One adjustment made while resolving a config; `field` is the JS (camelCase) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The config key, as written in JS.
    pub field: &'static str,
    /// What was done.
    pub problem: ConfigProblem,
}

/// What was wrong with a config value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigProblem {
    /// Below the allowed range: raised to the minimum.
    RaisedToMinimum,
    /// Above the allowed range: lowered to the maximum.
    LoweredToMaximum,
    /// Not a finite number: the default was used.
    NotANumber,
    /// Not one of the allowed words (for `currency`, not an ISO 4217 code): the default was used.
    UnknownValue,
    /// A custom funnel that could not be read was skipped.
    InvalidFunnel,
}

impl ConfigProblem {
    /// What was done, in words (for debug messages).
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigProblem::RaisedToMinimum => "below its range: raised to the minimum",
            ConfigProblem::LoweredToMaximum => "above its range: lowered to the maximum",
            ConfigProblem::NotANumber => "is not a number: default used",
            ConfigProblem::UnknownValue => "is not an allowed value: default used",
            ConfigProblem::InvalidFunnel => "has an unreadable funnel: skipped",
        }
    }
}

/// Why a config cannot be used at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// The config is not an object.
    NotAnObject,
    /// `site` is missing, empty, or not a site id the collector accepts
    /// ([`is_site_id`](crate::wire::is_site_id)).
    MissingSite,
}

impl ConfigError {
    /// The message, without formatting machinery.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigError::NotAnObject => "init ignored: config must be an object",
            ConfigError::MissingSite => "config.site is required: 1 to 128 printable characters",
        }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ConfigError {}

/// The numeric setting `field` of `config` within `min..=max` (reported when moved there),
/// `default` when it is absent or null, and when it is no number (reported). Numeric strings, as
/// data attributes give, are read as numbers. The lookup is made here, for all seven settings
/// (a number read at each call site was 50 bytes more gzip in the wasm).
fn clamp(config: &Value, field: &'static str, default: u32, min: u32, max: u32, issues: &mut Vec<ConfigIssue>) -> u32 {
    let v = match config.get(field) {
        None | Some(Value::Null) => return default,
        Some(Value::Num(n)) => *n,
        Some(Value::Str(s)) => crate::json::parse_number(s.trim_ascii()).unwrap_or(f64::NAN),
        Some(_) => f64::NAN,
    };
    let (value, problem) = if !v.is_finite() {
        (default, Some(ConfigProblem::NotANumber))
    } else if v < f64::from(min) {
        (min, Some(ConfigProblem::RaisedToMinimum))
    } else if v > f64::from(max) {
        (max, Some(ConfigProblem::LoweredToMaximum))
    } else {
        (v as u32, None)
    };
    if let Some(problem) = problem {
        issues.push(ConfigIssue { field, problem });
    }
    value
}

impl Config {
    /// Reads the page's config object (the value the loader sends, in tape form) and applies
    /// defaults and clamps, returning the config and the adjustments made. A value of the wrong
    /// type is ignored, so the default applies (and is reported when it was a number in the
    /// wrong form: numeric strings, as data attributes give, are accepted). One pass from the
    /// value to the config: reading into a [`RawConfig`] first, then resolving that, was 268
    /// bytes more gzip in the wasm (BENCHMARKS.md).
    ///
    /// ```
    /// use funnelcake_core::config::{Config, ConfigError, ConfigProblem};
    /// use funnelcake_core::json::parse;
    /// let (cfg, issues) = Config::from_value(parse(r#"{"site":"shop-1","flushAt":0}"#).unwrap()).unwrap();
    /// assert_eq!(cfg.flush_at, 1);
    /// assert_eq!(issues[0].problem, ConfigProblem::RaisedToMinimum);
    /// assert_eq!(cfg.flush_interval_ms, 5000);
    /// assert_eq!(Config::from_value(parse("[]").unwrap()).err(), Some(ConfigError::NotAnObject));
    /// ```
    pub fn from_value(mut v: Value) -> Result<(Config, Vec<ConfigIssue>), ConfigError> {
        if v.as_object().is_none() {
            return Err(ConfigError::NotAnObject);
        }
        let mut funnels = v.take("funnels");
        let text = |k: &str| v.get(k).and_then(Value::as_str);
        let boolean = |k: &str, default: bool| match v.get(k) {
            Some(Value::Bool(b)) => *b,
            _ => default,
        };
        let site =
            text("site").map(str::trim_ascii).filter(|s| crate::wire::is_site_id(s)).ok_or(ConfigError::MissingSite)?;
        let mut issues = Vec::new();
        let i = &mut issues;
        let privacy = match text("privacy") {
            None | Some("respect") => Privacy::Respect,
            Some("strict") => Privacy::Strict,
            Some("ignore") => Privacy::Ignore,
            Some(_) => {
                i.push(ConfigIssue { field: "privacy", problem: ConfigProblem::UnknownValue });
                Privacy::Respect
            }
        };
        let consent = match text("consent") {
            None => Consent::Granted,
            Some(s) => Consent::parse(s).unwrap_or_else(|| {
                i.push(ConfigIssue { field: "consent", problem: ConfigProblem::UnknownValue });
                Consent::Granted
            }),
        };
        let cfg = Config {
            site: site.to_owned(),
            endpoint: text("endpoint").filter(|e| !e.is_empty()).unwrap_or("/v1/batch").to_owned(),
            flush_at: clamp(&v, "flushAt", 20, 1, 500, i),
            flush_interval_ms: clamp(&v, "flushIntervalMs", 5000, 100, 60_000, i),
            max_batch_bytes: clamp(&v, "maxBatchBytes", 60_000, 1024, 65_536, i),
            max_queue_events: clamp(&v, "maxQueueEvents", 1000, 10, 10_000, i),
            max_queue_bytes: clamp(&v, "maxQueueBytes", 1_000_000, 10_000, 4_000_000, i),
            max_attempts: clamp(&v, "maxAttempts", 10, 1, 100, i),
            session_timeout_min: clamp(&v, "sessionTimeoutMin", 30, 1, 1440, i),
            auto_pageviews: boolean("autoPageviews", true),
            data_layer: boolean("dataLayer", true),
            privacy,
            consent,
            currency: match text("currency").map(|c| crate::text::ascii_cased(c, true)) {
                Some(code) if crate::currency::exponent(&code).is_none() => {
                    i.push(ConfigIssue { field: "currency", problem: ConfigProblem::UnknownValue });
                    None
                }
                code => code,
            },
            debug: boolean("debug", false),
            funnels: match &mut funnels {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Arr(list)) => {
                    let mut defs = Vec::new();
                    for f in list {
                        match crate::funnel::FunnelDef::from_value(f) {
                            Some(def) => defs.push(def),
                            None => i.push(ConfigIssue { field: "funnels", problem: ConfigProblem::InvalidFunnel }),
                        }
                    }
                    defs
                }
                Some(_) => {
                    i.push(ConfigIssue { field: "funnels", problem: ConfigProblem::InvalidFunnel });
                    Vec::new()
                }
            },
        };
        Ok((cfg, issues))
    }

    /// [`Config::from_value`] of a typed [`RawConfig`] ([`RawConfig::into_value`]).
    ///
    /// ```
    /// use funnelcake_core::config::{Config, ConfigProblem, RawConfig};
    /// let raw = RawConfig { site: Some("shop-1".into()), flush_at: Some(0.0), ..Default::default() };
    /// let (cfg, issues) = Config::resolve(raw).unwrap();
    /// assert_eq!(cfg.flush_at, 1);
    /// assert_eq!(issues[0].problem, ConfigProblem::RaisedToMinimum);
    /// ```
    pub fn resolve(raw: RawConfig) -> Result<(Config, Vec<ConfigIssue>), ConfigError> {
        Config::from_value(raw.into_value())
    }
}
