//! Sending a batch: `fetch` with `keepalive: true` and a string body, so the request is
//! `text/plain;charset=UTF-8` (a CORS "simple request", no preflight) and survives page unload.

use funnelcake_core::retry::SendResult;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// POSTs `body` to `endpoint` and reports how it ended. Never panics; any exception or
/// rejected promise is a [`SendResult::NetworkError`].
pub async fn post(endpoint: &str, body: &str) -> SendResult {
    let Some(window) = web_sys::window() else { return SendResult::NetworkError };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    // keepalive lets the request outlive the page, within a 64 KiB budget shared by all
    // keepalive requests of the page (see funnelcake_core::delivery::KEEPALIVE_MAX_BYTES).
    // web-sys has no typed setter for it in every version; set it directly.
    // https://developer.mozilla.org/en-US/docs/Web/API/RequestInit#keepalive
    if body.len() <= funnelcake_core::delivery::KEEPALIVE_MAX_BYTES {
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    }
    let Ok(response) = JsFuture::from(window.fetch_with_str_and_init(endpoint, &init)).await else {
        return SendResult::NetworkError;
    };
    let Ok(response) = response.dyn_into::<web_sys::Response>() else { return SendResult::NetworkError };
    let retry_after_ms = response
        .headers()
        .get("retry-after")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    SendResult::Status { code: response.status(), retry_after_ms }
}

/// Queues `body` with `navigator.sendBeacon` (sent as `text/plain;charset=UTF-8`, survives the
/// page going away). `true` if the browser accepted it; it refuses when the page's keepalive
/// budget (64 KiB in flight) is used up.
/// <https://developer.mozilla.org/en-US/docs/Web/API/Navigator/sendBeacon>
pub fn beacon(endpoint: &str, body: &str) -> bool {
    web_sys::window().and_then(|w| w.navigator().send_beacon_with_opt_str(endpoint, Some(body)).ok()).unwrap_or(false)
}
