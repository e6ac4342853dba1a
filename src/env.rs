//! Clock, randomness and the page's strings, read from the browser (through `js/env.js`) without
//! ever panicking.

use funnelcake_core::id::Entropy;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `fcEnv.size(v)` (`js/env.js`): the UTF-8 length of `v` if it is a string, which it keeps
    /// for `copy`; -1 for anything else. Like every `fcEnv` function it never throws (it answers
    /// a value instead), so the imports have no `catch`, which costs a check at every call.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = size)]
    fn text_size(v: &JsValue) -> i32;
    /// `fcEnv.copy(dst)`: the string `size` kept, into `dst` (a view of the wasm's memory of
    /// its length) as UTF-8; `false` if that failed.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = copy)]
    fn text_copy(dst: &mut [u8]) -> bool;
    /// `fcEnv.random(dst)`: `crypto.getRandomValues(dst)`, or without it (missing, or
    /// throwing) `Math.random` bytes mixed with the clock and a running count.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = random)]
    fn random_fill(dst: &mut [u8]);
    /// `fcEnv.json(text)`: JSON text (stored, or another tab's queue) in the tape form
    /// [`funnelcake_core::json::read_tape`] reads, or `null` if it is not JSON.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = json)]
    fn json_tape(text: &JsValue) -> JsValue;
}

/// A tape-form argument from the loader (`js/env.js`, `tape`): `Value::Null` for anything
/// else, or more than `max` bytes.
pub fn tape_within(v: &JsValue, max: usize) -> funnelcake_core::json::Value {
    text_within(v, max).and_then(|t| funnelcake_core::json::read_tape(&t)).unwrap_or_default()
}

/// JSON text, read by the page's `JSON.parse` (through `fcEnv.json`): `Value::Null` for
/// anything unreadable. The wasm has no JSON parser of its own.
pub fn parse_json(text: &JsValue) -> funnelcake_core::json::Value {
    tape_within(&json_tape(text), usize::MAX)
}

/// `v` as a Rust string if it is a JS string (lone surrogates become U+FFFD), else `None`. In
/// place of `JsValue::as_string`, whose conversion (a boxed slice, shrunk to its length) and the
/// glue's copying of the string into the wasm cost more than `js/env.js` and two plain imports.
/// The bytes are decoded, not trusted: a page that replaced `TextEncoder` gets `None`, never
/// invalid text.
pub fn text(v: &JsValue) -> Option<String> {
    text_within(v, usize::MAX)
}

/// [`text`], or `None` for a string of more than `max` bytes, which is not copied at all (the
/// wasm's memory grows to what it once held, and never shrinks).
pub fn text_within(v: &JsValue, max: usize) -> Option<String> {
    let n = usize::try_from(text_size(v)).ok().filter(|n| *n <= max)?;
    let mut bytes = vec![0; n];
    text_copy(&mut bytes).then(|| funnelcake_core::text::utf8(&bytes))?
}

/// Wall-clock time, epoch ms.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Randomness from `crypto.getRandomValues` (through `js/env.js`, which falls back to
/// `Math.random` mixed with the clock and a running count when crypto is missing or throws: old
/// or hostile environments; the fallback was a SplitMix64 stream here, 0.2 KB more wasm).
pub struct BrowserEntropy {
    /// Random bytes fetched 256 at a time (one `getRandomValues` call per 16 event ids).
    buf: [u8; 256],
    used: usize,
}

impl Default for BrowserEntropy {
    fn default() -> BrowserEntropy {
        BrowserEntropy { buf: [0; 256], used: 256 }
    }
}

impl Entropy for BrowserEntropy {
    fn next_u64(&mut self) -> u64 {
        if self.used + 8 > self.buf.len() {
            random_fill(&mut self.buf);
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
