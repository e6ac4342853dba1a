//! Reading the page's config object into the core's [`RawConfig`].
//!
//! Each key is read with `Reflect.get` and typed by hand. A value of the wrong type is ignored
//! (the core then applies the default and reports it in debug mode) rather than failing the whole
//! init. This replaced serde-wasm-bindgen, which cost about 20 KB of wasm for this one object
//! (see ARCHITECTURE.md, "Deviations").

use funnelcake_core::config::RawConfig;
use wasm_bindgen::JsValue;

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn string(obj: &JsValue, key: &str) -> Option<String> {
    get(obj, key).as_string()
}

/// Numbers, or numeric strings (data attributes arrive as strings); anything else is `NaN` so the
/// core reports it and uses the default.
fn number(obj: &JsValue, key: &str) -> Option<f64> {
    let v = get(obj, key);
    if v.is_undefined() || v.is_null() {
        return None;
    }
    Some(
        v.as_f64()
            .or_else(|| v.as_string().and_then(|s| funnelcake_core::json::parse_number(s.trim())))
            .unwrap_or(f64::NAN),
    )
}

fn boolean(obj: &JsValue, key: &str) -> Option<bool> {
    get(obj, key).as_bool()
}

/// Reads a JS config object. `Err` when it is not an object at all.
pub fn read(value: JsValue) -> Result<RawConfig, &'static str> {
    if !value.is_object() || value.is_function() {
        return Err("config must be an object");
    }
    let v = &value;
    Ok(RawConfig {
        site: string(v, "site"),
        endpoint: string(v, "endpoint"),
        flush_at: number(v, "flushAt"),
        flush_interval_ms: number(v, "flushIntervalMs"),
        max_batch_bytes: number(v, "maxBatchBytes"),
        max_queue_events: number(v, "maxQueueEvents"),
        max_queue_bytes: number(v, "maxQueueBytes"),
        max_attempts: number(v, "maxAttempts"),
        session_timeout_min: number(v, "sessionTimeoutMin"),
        auto_pageviews: boolean(v, "autoPageviews"),
        data_layer: boolean(v, "dataLayer"),
        privacy: string(v, "privacy"),
        consent: string(v, "consent"),
        currency: string(v, "currency"),
        debug: boolean(v, "debug"),
        // Free-form (steps with property conditions): read as a JSON value.
        funnels: crate::convert::to_value(&get(v, "funnels"), 0),
    })
}
