//! Clock, randomness and the page's `window`, read from the browser without ever panicking.

use funnelcake_core::id::{Entropy, SplitMix64};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// `globalThis.window`, read once (undefined outside a window).
    #[wasm_bindgen(thread_local_v2, js_namespace = globalThis, js_name = window)]
    static WINDOW: JsValue;
}

/// The page's `window`, if there is one. `web_sys::window()` finds it through `js_sys::global()`,
/// whose four-way lookup (`globalThis`, `self`, `window`, `global`, then `new Function`) costs
/// five glue imports and their wasm code; the SDK only ever runs in a window.
pub fn window() -> Option<web_sys::Window> {
    // Not checked with `instanceof Window` (an import of its own): both uses of it, `crypto` and
    // `localStorage`, are getters whose exceptions are caught.
    WINDOW.with(|w| w.is_object().then(|| w.clone().unchecked_into()))
}

/// Wall-clock time, epoch ms.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Randomness from `crypto.getRandomValues`, falling back to a SplitMix64 stream seeded from
/// `Math.random` and the clock when crypto is missing or throws (old or hostile environments).
pub struct BrowserEntropy {
    crypto: Option<web_sys::Crypto>,
    fallback: SplitMix64,
    /// Random bytes fetched 256 at a time (one `getRandomValues` call per 16 event ids).
    buf: [u8; 256],
    used: usize,
}

impl BrowserEntropy {
    /// Looks up `window.crypto` once.
    pub fn new() -> BrowserEntropy {
        let crypto = window().and_then(|w| w.crypto().ok());
        let seed = (js_sys::Math::random() * 9.007_199_254_740_992e15) as u64 ^ (now_ms() as u64).rotate_left(32);
        BrowserEntropy { crypto, fallback: SplitMix64(seed), buf: [0; 256], used: 256 }
    }
}

impl Default for BrowserEntropy {
    fn default() -> Self {
        BrowserEntropy::new()
    }
}

impl Entropy for BrowserEntropy {
    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > self.buf.len() {
            let refilled =
                self.crypto.as_ref().is_some_and(|c| c.get_random_values_with_u8_array(&mut self.buf).is_ok());
            if !refilled {
                return self.fallback.next_u64();
            }
            self.used = 0;
        }
        let word = self.buf.get(self.used..).and_then(<[u8]>::first_chunk::<8>).copied().unwrap_or_default();
        self.used += 8;
        u64::from_le_bytes(word)
    }
}

/// Writes `funnelcake: ` and the concatenated parts to the console when debug mode is on.
/// Messages are assembled from static parts, not `format!`, to keep formatting code out of the
/// wasm.
pub fn debug_log(enabled: bool, parts: &[&str]) {
    if enabled {
        let mut msg = String::from("funnelcake: ");
        for p in parts {
            msg.push_str(p);
        }
        web_sys::console::warn_1(&wasm_bindgen::JsValue::from_str(&msg));
    }
}
