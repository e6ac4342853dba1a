//! Clock and randomness, read from the browser without ever panicking.

use funnelcake_core::id::{Entropy, SplitMix64};

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
    /// Looks up `crypto` once on the page's `window` (as the loader hands it to `init`; a value
    /// that is not a window, or a throwing getter, leaves the fallback stream).
    pub fn new(window: &web_sys::Window) -> BrowserEntropy {
        let crypto = window.crypto().ok();
        let seed = (js_sys::Math::random() * 9.007_199_254_740_992e15) as u64 ^ (now_ms() as u64).rotate_left(32);
        BrowserEntropy { crypto, fallback: SplitMix64(seed), buf: [0; 256], used: 256 }
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
