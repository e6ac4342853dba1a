//! localStorage that never throws: reads and writes fall back to memory when storage is
//! missing, blocked (Safari private mode, sandboxed iframes, `localStorage` getter throwing) or
//! full (`QuotaExceededError`). Keys are versioned: `fc:v1:<site>:<name>`.

use std::collections::HashMap;

/// Key/value storage with a memory fallback.
pub struct Store {
    prefix: String,
    local: Option<web_sys::Storage>,
    memory: HashMap<String, String>,
}

impl Store {
    /// Storage for `site`; `persist == false` keeps everything in memory (privacy modes).
    pub fn new(site: &str, persist: bool) -> Store {
        // `window.localStorage` itself can throw (SecurityError), hence the `ok()`.
        let local = if persist { web_sys::window().and_then(|w| w.local_storage().ok().flatten()) } else { None };
        Store { prefix: format!("fc:v1:{site}:"), local, memory: HashMap::new() }
    }

    /// `true` when values reach localStorage.
    pub fn is_persistent(&self) -> bool {
        self.local.is_some()
    }

    /// Reads `name`; memory wins over storage (it holds writes that storage refused).
    pub fn get(&self, name: &str) -> Option<String> {
        let key = format!("{}{}", self.prefix, name);
        if let Some(v) = self.memory.get(&key) {
            return Some(v.clone());
        }
        self.local.as_ref().and_then(|s| s.get_item(&key).ok().flatten())
    }

    /// Writes `name`; on any storage failure the value is kept in memory instead.
    pub fn set(&mut self, name: &str, value: &str) {
        let key = format!("{}{}", self.prefix, name);
        if let Some(s) = &self.local {
            if s.set_item(&key, value).is_ok() {
                self.memory.remove(&key);
                return;
            }
        }
        self.memory.insert(key, value.to_owned());
    }
}
