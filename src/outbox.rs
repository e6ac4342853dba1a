//! The persisted queue, one per tab, and hand-over of a closed tab's events.
//!
//! Each page load is a tab with a random id. It keeps its unsent events in localStorage under
//! `fc:v1:<site>:q:<tab>` as `<last write ms>|<queue JSON>`, and holds the Web Lock
//! `fc:v1:<site>:tab:<tab>` for as long as it lives (the browser releases it when the page
//! goes away, however it goes). Other pages of the site that see the queue ask for that lock and
//! wait: the browser grants it only once the tab is gone (closed, reloaded, crashed), to one page
//! at a time. The first moves the events into its own queue and deletes the key, so every event
//! is sent by exactly one tab; a tab that closes while another is open is taken over at once,
//! not at the next page load. A tab writes its key only once it holds its own lock, so a page
//! that is still starting is never mistaken for a dead one.
//! <https://developer.mozilla.org/en-US/docs/Web/API/Web_Locks_API>
//!
//! A page going into the back/forward cache is gone for this purpose too, though it may come
//! back: once its queue is written, it releases its lock and lets go of the events (they are in
//! the key), so a tab waiting for them takes them over at once and the browser can restore the
//! page (it does not restore one holding a lock another tab waits for). Shown again, it is a
//! new tab with a new id that asks for its own lock, then takes over its old queue like any
//! other, unless another tab took it meanwhile. Only a queue in localStorage is handed on, and
//! only when a lock was held to release.
//!
//! Without Web Locks (older browsers), a queue not written for [`STALE_MS`] is taken over;
//! should its tab still be alive, both may send the same events and the collector's dedupe by
//! event id keeps one.
//!
//! The rules are here; the talking to `navigator.locks` and the listing of localStorage keys is
//! done by `js/tabs.js` (`fcTabs`, part of funnelcake.js), which calls the SDK back through the
//! `claimed` and `adopt` exports ([`crate::api`]): lock callbacks and promise handlers made in
//! the wasm would each cost a closure and its glue.

use wasm_bindgen::prelude::*;

use crate::storage::{site_key, Store};

/// Without Web Locks: a queue untouched this long is considered abandoned, ms.
pub const STALE_MS: i64 = 30_000;

const QUEUE_PREFIX: &str = "q:";

#[wasm_bindgen]
extern "C" {
    /// `fcTabs.claim(lock, tab)`: takes `lock` for the page's lifetime, then calls
    /// `claimed(tab)` (when the browser grants it; in the next task without Web Locks); `false`
    /// if it could do neither. Never throws, as nothing in `js/tabs.js` does: the imports from
    /// funnelcake.js's own parts have no `catch`, which costs a check at every call.
    #[wasm_bindgen(js_namespace = fcTabs, js_name = claim)]
    fn js_claim(lock: &str, tab: &str) -> bool;

    /// `fcTabs.adopt(queuePrefix, ownKey, lockPrefix, now, staleMs)`: for every other tab's
    /// queue key, once its tab is gone (its lock granted; without Web Locks: not written for
    /// `staleMs`), calls `adopt(queue JSON)` and removes the key if that returned `true`.
    #[wasm_bindgen(js_namespace = fcTabs, js_name = adopt)]
    fn js_adopt(queue_prefix: &str, own_key: &str, lock_prefix: &str, now: f64, stale_ms: f64);

    /// `fcTabs.release()`: lets go of the locks `claim` took; `false` if none was held.
    #[wasm_bindgen(js_namespace = fcTabs, js_name = release)]
    fn js_release() -> bool;
}

/// This tab's persisted queue.
pub struct Outbox {
    tab: String,
    name: String,
    /// `true` once this tab holds its own lock (or the browser has no Web Locks).
    owned: bool,
    /// [`Outbox::claim`] was called.
    asked: bool,
}

impl Outbox {
    /// The outbox of a new tab.
    pub fn new(tab: String) -> Outbox {
        let mut name = String::from(QUEUE_PREFIX);
        name.push_str(&tab);
        Outbox { tab, name, owned: false, asked: false }
    }

    /// This tab's id.
    pub fn tab(&self) -> &str {
        &self.tab
    }

    /// `true` once this tab may write its queue.
    pub fn owned(&self) -> bool {
        self.owned
    }

    /// `true` once [`Outbox::claim`] was called.
    pub fn asked(&self) -> bool {
        self.asked
    }

    /// Asks for this tab's lock for the page's lifetime; `claimed(tab)` follows once it is held.
    /// Returns `true` when there is no one to ask (no `fcTabs`): the tab owns its queue at once.
    pub fn claim(&mut self, site: &str) -> bool {
        let mut lock = site_key(site, "tab:");
        lock.push_str(&self.tab);
        self.asked = true;
        self.owned = !js_claim(&lock, &self.tab);
        self.owned
    }

    /// The page is going into the back/forward cache with its queue written to localStorage (or
    /// the SDK was initialised for another site): releases the page's locks, this tab's among
    /// them, so its queue is handed to whichever tab takes it over first. `true` if a lock was
    /// released: going into the cache, the caller then lets go of the queued events, and the
    /// outbox is replaced by a new tab's, which asks for its own lock when the page is shown
    /// again. `false` (nothing changes) without a lock held.
    pub fn release(&self) -> bool {
        self.owned && js_release()
    }

    /// This tab's lock is held (`claimed(tab)` for this tab): `true` if that is news.
    pub fn claimed(&mut self, tab: &str) -> bool {
        let news = tab == self.tab && !self.owned;
        self.owned |= news;
        news
    }

    /// Writes this tab's queue as `<last write ms>|<queue JSON>`, text that lives in JS; `None`
    /// (an empty queue) removes the key. Does nothing before the tab owns its lock.
    pub fn write(&self, store: &mut Store, stamped: Option<&js_sys::JsString>) {
        if !self.owned {
            return;
        }
        match stamped {
            Some(text) => store.set(&self.name, text),
            None => store.remove(&self.name),
        }
    }

    /// Looks for the queues of other tabs of `site`; each is handed to the `adopt` export once
    /// its tab is gone and at most once across all tabs. Call it without the SDK borrowed:
    /// without Web Locks `adopt` runs synchronously.
    pub fn adopt_orphans(site: &str, tab: &str, now: i64) {
        let mut own = site_key(site, QUEUE_PREFIX);
        own.push_str(tab);
        js_adopt(&site_key(site, QUEUE_PREFIX), &own, &site_key(site, "tab:"), now as f64, STALE_MS as f64);
    }
}
