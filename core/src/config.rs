//! SDK configuration: defaults and clamping, applied once.
//!
//! The shell reads whatever the page passed into a [`RawConfig`] (every field optional, numbers
//! as `f64` so nothing is lost before validation); [`Config::resolve`] applies the documented
//! defaults, clamps out-of-range values and reports each adjustment as a [`ConfigIssue`] that
//! the shell prints in debug mode. Every default here is listed in the README's config table.

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
    pub funnels: Option<crate::json::Value>,
}

impl RawConfig {
    /// Reads the page's config object (the value the loader sends, in tape form). A
    /// value of the wrong type is ignored, so the default applies (and is reported when it was a
    /// number in the wrong form: numeric strings, as data attributes give, are accepted); `Err`
    /// when the config is not an object at all.
    ///
    /// ```
    /// use funnelcake_core::{config::RawConfig, json::parse};
    /// let raw = RawConfig::from_value(parse(r#"{"site":"s","flushAt":"5","debug":true,"x":1}"#).unwrap()).unwrap();
    /// assert_eq!((raw.site.as_deref(), raw.flush_at, raw.debug), (Some("s"), Some(5.0), Some(true)));
    /// assert!(RawConfig::from_value(parse("[1]").unwrap()).is_err());
    /// ```
    ///
    /// Takes the value, so the custom funnels are moved out of it, not copied.
    pub fn from_value(mut v: crate::json::Value) -> Result<RawConfig, &'static str> {
        use crate::json::Value;
        if v.as_object().is_none() {
            return Err("config must be an object");
        }
        let funnels = v.take("funnels");
        let string = |k: &str| v.text(k);
        let number = |k: &str| match v.get(k) {
            None | Some(Value::Null) => None,
            Some(Value::Num(n)) => Some(*n),
            Some(Value::Str(s)) => Some(crate::json::parse_number(s.trim_ascii()).unwrap_or(f64::NAN)),
            Some(_) => Some(f64::NAN),
        };
        let boolean = |k: &str| match v.get(k) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        };
        Ok(RawConfig {
            site: string("site"),
            endpoint: string("endpoint"),
            flush_at: number("flushAt"),
            flush_interval_ms: number("flushIntervalMs"),
            max_batch_bytes: number("maxBatchBytes"),
            max_queue_events: number("maxQueueEvents"),
            max_queue_bytes: number("maxQueueBytes"),
            max_attempts: number("maxAttempts"),
            session_timeout_min: number("sessionTimeoutMin"),
            auto_pageviews: boolean("autoPageviews"),
            data_layer: boolean("dataLayer"),
            privacy: string("privacy"),
            consent: string("consent"),
            currency: string("currency"),
            debug: boolean("debug"),
            funnels,
        })
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
    /// `site` is missing, empty, or not a site id the collector accepts
    /// ([`is_site_id`](crate::wire::is_site_id)).
    MissingSite,
}

impl ConfigError {
    /// The message, without formatting machinery.
    pub fn as_str(self) -> &'static str {
        match self {
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

fn clamp(v: Option<f64>, field: &'static str, default: u32, min: u32, max: u32, issues: &mut Vec<ConfigIssue>) -> u32 {
    let Some(v) = v else { return default };
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
    /// Applies defaults and clamps, returning the config and the adjustments made.
    ///
    /// ```
    /// use funnelcake_core::config::{Config, ConfigProblem, RawConfig};
    /// let raw = RawConfig { site: Some("shop-1".into()), flush_at: Some(0.0), ..Default::default() };
    /// let (cfg, issues) = Config::resolve(raw).unwrap();
    /// assert_eq!(cfg.flush_at, 1);
    /// assert_eq!(issues[0].problem, ConfigProblem::RaisedToMinimum);
    /// assert_eq!(cfg.flush_interval_ms, 5000);
    /// ```
    pub fn resolve(mut raw: RawConfig) -> Result<(Config, Vec<ConfigIssue>), ConfigError> {
        let site = raw
            .site
            .as_deref()
            .map(str::trim_ascii)
            .filter(|s| crate::wire::is_site_id(s))
            .ok_or(ConfigError::MissingSite)?;
        let mut issues = Vec::new();
        let i = &mut issues;
        let privacy = match raw.privacy.as_deref() {
            None | Some("respect") => Privacy::Respect,
            Some("strict") => Privacy::Strict,
            Some("ignore") => Privacy::Ignore,
            Some(_) => {
                i.push(ConfigIssue { field: "privacy", problem: ConfigProblem::UnknownValue });
                Privacy::Respect
            }
        };
        let consent = match raw.consent.as_deref() {
            None => Consent::Granted,
            Some(s) => Consent::parse(s).unwrap_or_else(|| {
                i.push(ConfigIssue { field: "consent", problem: ConfigProblem::UnknownValue });
                Consent::Granted
            }),
        };
        let cfg = Config {
            site: site.to_owned(),
            endpoint: raw.endpoint.filter(|e| !e.is_empty()).unwrap_or_else(|| "/v1/batch".to_owned()),
            flush_at: clamp(raw.flush_at, "flushAt", 20, 1, 500, i),
            flush_interval_ms: clamp(raw.flush_interval_ms, "flushIntervalMs", 5000, 100, 60_000, i),
            max_batch_bytes: clamp(raw.max_batch_bytes, "maxBatchBytes", 60_000, 1024, 65_536, i),
            max_queue_events: clamp(raw.max_queue_events, "maxQueueEvents", 1000, 10, 10_000, i),
            max_queue_bytes: clamp(raw.max_queue_bytes, "maxQueueBytes", 1_000_000, 10_000, 4_000_000, i),
            max_attempts: clamp(raw.max_attempts, "maxAttempts", 10, 1, 100, i),
            session_timeout_min: clamp(raw.session_timeout_min, "sessionTimeoutMin", 30, 1, 1440, i),
            auto_pageviews: raw.auto_pageviews.unwrap_or(true),
            data_layer: raw.data_layer.unwrap_or(true),
            privacy,
            consent,
            currency: match raw.currency.as_deref().map(|c| crate::text::ascii_cased(c, true)) {
                Some(code) if crate::currency::exponent(&code).is_none() => {
                    i.push(ConfigIssue { field: "currency", problem: ConfigProblem::UnknownValue });
                    None
                }
                code => code,
            },
            debug: raw.debug.unwrap_or(false),
            funnels: match &mut raw.funnels {
                None | Some(crate::json::Value::Null) => Vec::new(),
                Some(crate::json::Value::Arr(list)) => {
                    let mut funnels = Vec::new();
                    for f in list {
                        match crate::funnel::FunnelDef::from_value(f) {
                            Some(def) => funnels.push(def),
                            None => i.push(ConfigIssue { field: "funnels", problem: ConfigProblem::InvalidFunnel }),
                        }
                    }
                    funnels
                }
                Some(_) => {
                    i.push(ConfigIssue { field: "funnels", problem: ConfigProblem::InvalidFunnel });
                    Vec::new()
                }
            },
        };
        Ok((cfg, issues))
    }
}
