//! localStorage that never throws: reads and writes fall back to memory when storage is
//! missing, blocked (Safari private mode, sandboxed iframes, `localStorage` getter throwing) or
//! full (`QuotaExceededError`). Keys are versioned: `fc:v1:<site>:<name>`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    /// A `Storage`, seen through the one method web-sys types differently.
    type JsStorage;
    /// `storage.setItem(key, value)` with a JS string value: text assembled in JS (the persisted
    /// queue) goes to storage without a copy in the wasm heap.
    #[wasm_bindgen(method, catch, js_name = setItem)]
    fn set_item_js(this: &JsStorage, key: &str, value: &js_sys::JsString) -> Result<(), JsValue>;
    /// `storage.getItem(key)` as a `JsValue`, read with [`crate::env::text`] (web-sys's
    /// `Option<String>` return brings wasm-bindgen's string conversion into the wasm).
    #[wasm_bindgen(method, catch, js_name = getItem)]
    fn get_item_js(this: &JsStorage, key: &str) -> Result<JsValue, JsValue>;
}

/// `fc:v1:<site>:<name>`: a key of this site's storage, or (with Web Locks) a lock name.
pub fn site_key(site: &str, name: &str) -> String {
    let mut key = String::from("fc:v1:");
    key.push_str(site);
    key.push(':');
    key.push_str(name);
    key
}

/// Key/value storage with a memory fallback.
pub struct Store {
    prefix: String,
    local: Option<web_sys::Storage>,
    /// Values storage refused (or all values, when not persisting). A few keys at most.
    memory: Vec<(String, String)>,
    /// Writes reach localStorage (off while consent is pending or denied: reads still work).
    writable: bool,
}

impl Store {
    /// Storage for `site` in the `localStorage` of `window` (the page's, as the loader hands it
    /// to `init`); `None` keeps everything in memory (privacy modes).
    pub fn new(site: &str, window: Option<&web_sys::Window>) -> Store {
        // `window.localStorage` itself can throw (SecurityError), and a value that is not a
        // window has none: hence the `ok()` and `flatten()`.
        let local = window.and_then(|w| w.local_storage().ok().flatten());
        Store { prefix: site_key(site, ""), local, memory: Vec::new(), writable: true }
    }

    /// `true` when values reach localStorage.
    pub fn is_persistent(&self) -> bool {
        self.local.is_some() && self.writable
    }

    /// Lets writes reach localStorage, or keeps them in memory (reading and removing still
    /// reach storage).
    pub fn set_writable(&mut self, writable: bool) {
        self.writable = writable;
    }

    fn key(&self, name: &str) -> String {
        let mut key = self.prefix.clone();
        key.push_str(name);
        key
    }

    /// Reads `name`; memory wins over storage (it holds writes that storage refused).
    pub fn get(&self, name: &str) -> Option<String> {
        let key = self.key(name);
        if let Some((_, v)) = self.memory.iter().find(|(k, _)| *k == key) {
            return Some(v.clone());
        }
        self.local
            .as_ref()
            .and_then(|s| s.unchecked_ref::<JsStorage>().get_item_js(&key).ok().and_then(|v| crate::env::text(&v)))
    }

    /// Removes `name` from storage and memory.
    pub fn remove(&mut self, name: &str) {
        let key = self.key(name);
        self.memory.retain(|(k, _)| *k != key);
        if let Some(s) = &self.local {
            let _ = s.remove_item(&key);
        }
    }

    /// Writes `name` with text that lives in JS (the persisted queue is put together there);
    /// on any storage failure the value is kept in memory instead (copied into the wasm).
    pub fn set(&mut self, name: &str, value: &js_sys::JsString) {
        let key = self.key(name);
        if let Some(s) = self.local.as_ref().filter(|_| self.writable) {
            if s.unchecked_ref::<JsStorage>().set_item_js(&key, value).is_ok() {
                self.memory.retain(|(k, _)| *k != key);
                return;
            }
        }
        // (Not `String::from`, whose `unwrap_throw` brings a throwing import and its message.)
        let value = crate::env::text(value).unwrap_or_default();
        match self.memory.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.memory.push((key, value)),
        }
    }
}
