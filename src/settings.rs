//! Reading the page's config object into the core's [`RawConfig`].
//!
//! serde-wasm-bindgen maps the JS object onto a camelCase struct; wrong types for one field
//! are reported and that field falls back to its default, rather than failing the whole init.

use funnelcake_core::config::RawConfig;
use serde::Deserialize;
use wasm_bindgen::JsValue;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsConfig {
    site: Option<String>,
    endpoint: Option<String>,
    flush_at: Option<f64>,
    flush_interval_ms: Option<f64>,
    max_batch_bytes: Option<f64>,
    max_queue_events: Option<f64>,
    max_queue_bytes: Option<f64>,
    max_attempts: Option<f64>,
    session_timeout_min: Option<f64>,
    auto_pageviews: Option<bool>,
    data_layer: Option<bool>,
    privacy: Option<String>,
    consent: Option<String>,
    currency: Option<String>,
    debug: Option<bool>,
}

/// Reads a JS config object. `Err` names why the object could not be read at all.
pub fn read(value: JsValue) -> Result<RawConfig, String> {
    // `funnels` is free-form (steps with property conditions): read it as a JSON value.
    let funnels =
        js_sys::Reflect::get(&value, &JsValue::from_str("funnels")).ok().and_then(|f| crate::convert::to_value(&f, 0));
    let c: JsConfig = serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())?;
    Ok(RawConfig {
        site: c.site,
        endpoint: c.endpoint,
        flush_at: c.flush_at,
        flush_interval_ms: c.flush_interval_ms,
        max_batch_bytes: c.max_batch_bytes,
        max_queue_events: c.max_queue_events,
        max_queue_bytes: c.max_queue_bytes,
        max_attempts: c.max_attempts,
        session_timeout_min: c.session_timeout_min,
        auto_pageviews: c.auto_pageviews,
        data_layer: c.data_layer,
        privacy: c.privacy,
        consent: c.consent,
        currency: c.currency,
        debug: c.debug,
        funnels,
    })
}
