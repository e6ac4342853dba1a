//! localStorage that never throws: reads and writes fall back to memory when storage is
//! missing, blocked (Safari private mode, sandboxed iframes, `localStorage` getter throwing) or
//! full (`QuotaExceededError`). Keys are versioned: `fc:v1:<site>:<name>`. The browser calls are
//! `js/env.js`'s (`fcEnv.get`, `set`, `remove`), on the window the loader hands it.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `fcEnv.get(key)` (`js/env.js`): the stored value, or `null` (none, or no usable
    /// storage). Never throws, like every `fcEnv` function: no `catch`.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = get)]
    fn storage_get(key: &str) -> JsValue;
    /// `fcEnv.set(key, value)` with a JS string value (text assembled in JS, such as the
    /// persisted queue, goes to storage without a copy in the wasm heap); `false` if refused.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = set)]
    fn storage_set(key: &str, value: &js_sys::JsString) -> bool;
    /// `fcEnv.remove(key)`.
    #[wasm_bindgen(js_namespace = fcEnv, js_name = remove)]
    fn storage_remove(key: &str);
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
    /// Values may go to localStorage at all (not in the privacy modes).
    local: bool,
    /// Values storage refused (or all values, when not persisting). A few keys at most.
    memory: Vec<(String, String)>,
    /// Writes reach localStorage (off while consent is pending or denied: reads still work).
    writable: bool,
}

impl Store {
    /// Storage for `site` in the page's `localStorage` (`js/env.js` holds the window the loader
    /// hands it); `local: false` keeps everything in memory (privacy modes).
    pub fn new(site: &str, local: bool) -> Store {
        Store { prefix: site_key(site, ""), local, memory: Vec::new(), writable: true }
    }

    /// `true` when values reach localStorage: allowed, and none was refused (a value storage
    /// refused, because it is blocked, missing or full, is held in memory until a write of it
    /// succeeds).
    pub fn is_persistent(&self) -> bool {
        self.local && self.writable && self.memory.is_empty()
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

    /// Drops the memory copy of `key` (keys are unique: one at most). A `swap_remove`, not a
    /// `retain`, whose instantiation per closure was larger.
    fn forget(&mut self, key: &str) {
        if let Some(i) = self.memory.iter().position(|(k, _)| k == key) {
            self.memory.swap_remove(i);
        }
    }

    /// Reads `name`; memory wins over storage (it holds writes that storage refused).
    pub fn get(&self, name: &str) -> Option<String> {
        let key = self.key(name);
        if let Some((_, v)) = self.memory.iter().find(|(k, _)| *k == key) {
            return Some(v.clone());
        }
        if self.local {
            crate::env::text(&storage_get(&key))
        } else {
            None
        }
    }

    /// Removes `name` from storage and memory.
    pub fn remove(&mut self, name: &str) {
        let key = self.key(name);
        self.forget(&key);
        if self.local {
            storage_remove(&key);
        }
    }

    /// Writes `name` with text that lives in JS (the persisted queue is put together there);
    /// on any storage failure the value is kept in memory instead (copied into the wasm).
    pub fn set(&mut self, name: &str, value: &js_sys::JsString) {
        let key = self.key(name);
        if self.local && self.writable && storage_set(&key, value) {
            self.forget(&key);
            return;
        }
        // (Not `String::from`, whose `unwrap_throw` brings a throwing import and its message.)
        let value = crate::env::text(value).unwrap_or_default();
        match self.memory.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.memory.push((key, value)),
        }
    }
}
