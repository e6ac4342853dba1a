//! Sending a batch. The browser calls are made by `js/net.js` (`fcNet`, part of funnelcake.js):
//! `fetch` with a string body, so the request is `text/plain;charset=UTF-8` (a CORS "simple
//! request", no preflight), with `keepalive` up to [`KEEPALIVE_MAX_BYTES`] so it survives
//! unload; and `navigator.sendBeacon` on page hide. The outcome of a POST comes back through
//! the `sent` export ([`crate::api`]), read by [`SendResult::from_response`]: a promise handler
//! made in the wasm would cost a closure and its glue, and an async executor more still.

use funnelcake_core::delivery::KEEPALIVE_MAX_BYTES;
use funnelcake_core::retry::SendResult;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `fcNet.post(url, body, batch, keepalive)`; calls `sent(batch, status, retryAfter)` once,
    /// later. `false` if the request could not be started at all (it then calls nothing back).
    /// Never throws, as nothing in `js/net.js` does: the imports from funnelcake.js's own parts
    /// have no `catch`, which costs a check at every call.
    #[wasm_bindgen(js_namespace = fcNet, js_name = post)]
    fn js_post(url: &str, body: &str, batch: f64, keepalive: bool) -> bool;

    /// `fcNet.beacon(url, body)`: `true` if the browser queued it.
    #[wasm_bindgen(js_namespace = fcNet, js_name = beacon)]
    fn js_beacon(url: &str, body: &str) -> bool;
}

/// POSTs `body` to `endpoint` as batch `batch`; the outcome arrives later through `sent`.
/// `Err` with the outcome when the send could not even be handed to the browser: the caller
/// applies it at once.
pub fn post(endpoint: &str, body: &str, batch: u64) -> Result<(), SendResult> {
    // keepalive lets the request outlive the page, within a 64 KiB budget shared by all
    // keepalive requests of the page (see KEEPALIVE_MAX_BYTES).
    js_post(endpoint, body, batch as f64, body.len() <= KEEPALIVE_MAX_BYTES)
        .then_some(())
        .ok_or(SendResult::NetworkError)
}

/// Queues `body` with `navigator.sendBeacon` (sent as `text/plain;charset=UTF-8`, survives the
/// page going away). `true` if the browser accepted it; it refuses when the page's keepalive
/// budget (64 KiB in flight) is used up.
pub fn beacon(endpoint: &str, body: &str) -> bool {
    js_beacon(endpoint, body)
}
