//! Sending a batch: `fetch` with `keepalive: true` and a string body, so the request is
//! `text/plain;charset=UTF-8` (a CORS "simple request", no preflight) and survives page unload.
//!
//! No async executor: the outcome is delivered to a callback attached with `promise.then`,
//! which is measurably smaller than `wasm-bindgen-futures` (BENCHMARKS.md, size steps).

use std::cell::Cell;
use std::rc::Rc;

use funnelcake_core::retry::SendResult;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Calls `promise.then(cb, cb)`: `cb` runs once with the value or the rejection reason. If
/// `then` cannot be called (a page that broke `Promise.prototype.then`), `cb` runs at once with
/// `undefined`, so a caller waiting for it is never left hanging.
pub fn settle(promise: &JsValue, cb: impl FnOnce(JsValue) + 'static) {
    let slot = Rc::new(Cell::new(Some(cb)));
    let taken = slot.clone();
    let js_cb = Closure::once_into_js(move |v: JsValue| {
        if let Some(f) = taken.take() {
            f(v);
        }
    });
    let attached = js_sys::Reflect::get(promise, &JsValue::from_str("then"))
        .ok()
        .and_then(|then| then.dyn_into::<js_sys::Function>().ok())
        .is_some_and(|then| then.call2(promise, &js_cb, &js_cb).is_ok());
    if !attached {
        if let Some(f) = slot.take() {
            f(JsValue::UNDEFINED);
        }
    }
}

/// POSTs `body` to `endpoint` and calls `done` with how it ended, always exactly once and
/// from a later promise job (at once only when there is no `window`). Never panics; an exception or a rejected promise is a
/// [`SendResult::NetworkError`].
pub fn post(endpoint: &str, body: &str, done: impl FnOnce(SendResult) + 'static) {
    let Some(window) = crate::env::window() else { return done(SendResult::NetworkError) };
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
    let promise = window.fetch_with_str_and_init(endpoint, &init);
    settle(&promise, move |response| {
        // A rejection hands over an error, which is not a Response.
        let Ok(response) = response.dyn_into::<web_sys::Response>() else {
            return done(SendResult::NetworkError);
        };
        let retry_after_ms = response
            .headers()
            .get("retry-after")
            .ok()
            .flatten()
            .and_then(|v| funnelcake_core::json::parse_number(v.trim_ascii()))
            .filter(|s| *s >= 0.0)
            .map(|s| (s * 1000.0) as u64);
        done(SendResult::Status { code: response.status(), retry_after_ms });
    });
}

/// Queues `body` with `navigator.sendBeacon` (sent as `text/plain;charset=UTF-8`, survives the
/// page going away). `true` if the browser accepted it; it refuses when the page's keepalive
/// budget (64 KiB in flight) is used up.
/// <https://developer.mozilla.org/en-US/docs/Web/API/Navigator/sendBeacon>
pub fn beacon(endpoint: &str, body: &str) -> bool {
    crate::env::window()
        .and_then(|w| w.navigator().send_beacon_with_opt_str(endpoint, Some(body)).ok())
        .unwrap_or(false)
}
