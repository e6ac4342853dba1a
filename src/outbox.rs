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
//! Without Web Locks (older browsers), a queue not written for [`STALE_MS`] is taken over;
//! should its tab still be alive, both may send the same events and the collector's dedupe by
//! event id keeps one.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use funnelcake_core::text::split_at_byte;

use crate::storage::Store;

/// Without Web Locks: a queue untouched this long is considered abandoned, ms.
pub const STALE_MS: i64 = 30_000;

const QUEUE_PREFIX: &str = "q:";

/// This tab's persisted queue.
pub struct Outbox {
    tab: String,
    name: String,
    /// `true` once this tab holds its own lock (or the browser has no Web Locks).
    owned: Rc<Cell<bool>>,
}

fn locks() -> Option<JsValue> {
    let nav = crate::env::window()?.navigator();
    js_sys::Reflect::get(&nav, &JsValue::from_str("locks")).ok().filter(|l| l.is_object())
}

thread_local! {
    /// Tabs whose lock this page is waiting for (one request per tab).
    static WAITING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// `navigator.locks.request(name, callback)`; `false` if the call threw.
fn request_lock(locks: &JsValue, name: &str, cb: &JsValue) -> bool {
    let Ok(request) = js_sys::Reflect::get(locks, &JsValue::from_str("request")) else { return false };
    let Some(request) = request.dyn_ref::<js_sys::Function>() else { return false };
    match request.call2(locks, &JsValue::from_str(name), cb) {
        // The returned promise rejects if the lock request is aborted; swallow it.
        Ok(p) => {
            if let Some(p) = p.dyn_ref::<js_sys::Promise>() {
                // A handful of lock requests per page: leaking the tiny handler is fine.
                let noop = Closure::<dyn FnMut(JsValue)>::new(|_| {});
                let _ = p.catch(&noop);
                noop.forget();
            }
            true
        }
        Err(_) => false,
    }
}

impl Outbox {
    /// The outbox of a new tab.
    pub fn new(tab: String) -> Outbox {
        let mut name = String::from(QUEUE_PREFIX);
        name.push_str(&tab);
        Outbox { tab, name, owned: Rc::new(Cell::new(false)) }
    }

    fn lock_name(site: &str, tab: &str) -> String {
        let mut n = String::from("fc:v1:");
        n.push_str(site);
        n.push_str(":tab:");
        n.push_str(tab);
        n
    }

    /// This tab's id.
    pub fn tab(&self) -> &str {
        &self.tab
    }

    /// `true` once this tab may write its queue.
    pub fn owned(&self) -> bool {
        self.owned.get()
    }

    /// Takes this tab's lock for the page's lifetime, then calls `ready` (at once when the
    /// browser has no Web Locks).
    pub fn claim(&self, site: &str, ready: impl FnOnce() + 'static) {
        let owned = self.owned.clone();
        let Some(locks) = locks() else {
            owned.set(true);
            // Run after the caller's borrow of the SDK ends, like the lock callback would.
            gloo_timers::callback::Timeout::new(0, ready).forget();
            return;
        };
        let cb = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            owned.set(true);
            ready();
            // Never settles: the lock is held until the page goes away.
            js_sys::Promise::new(&mut |_, _| {}).into()
        });
        if !request_lock(&locks, &Self::lock_name(site, &self.tab), &cb) {
            self.owned.set(true);
        }
    }

    /// Writes this tab's queue as `<last write ms>|<queue JSON>`, text that lives in JS; `None`
    /// (an empty queue) removes the key. Does nothing before the tab owns its lock.
    pub fn write(&self, store: &mut Store, stamped: Option<&js_sys::JsString>) {
        if !self.owned.get() {
            return;
        }
        match stamped {
            Some(text) => store.set(&self.name, text),
            None => store.remove(&self.name),
        }
    }

    /// Looks for queues of other tabs and hands each, once its tab is gone and at most once
    /// across all tabs, to `adopt` (with the queue JSON), which must persist the events in this
    /// tab's queue and return `true`; only then is the old key removed. With Web Locks this
    /// waits for each live tab's lock (one request per tab). Call it without the SDK borrowed:
    /// without Web Locks `adopt` runs synchronously.
    pub fn adopt_orphans(own_tab: &str, site: &str, now: i64, adopt: impl Fn(String) -> bool + Clone + 'static) {
        let store = Store::new(site, true);
        let mut own = String::from(QUEUE_PREFIX);
        own.push_str(own_tab);
        let locks = locks();
        for name in store.names_starting_with(QUEUE_PREFIX) {
            if name == own {
                continue;
            }
            let Some(tab) = name.strip_prefix(QUEUE_PREFIX).map(str::to_owned) else { continue };
            let take = {
                let (adopt, site, name) = (adopt.clone(), site.to_owned(), name.clone());
                move || {
                    let mut store = Store::new(&site, true);
                    if let Some(value) = store.get(&name) {
                        let json = split_at_byte(&value, b'|').map_or("", |(_, q)| q).to_owned();
                        // Adopt (and persist in our own queue) before deleting: dying in between
                        // can cause a duplicate send, which the collector dedupes, never a loss.
                        if adopt(json) {
                            store.remove(&name);
                        }
                    }
                }
            };
            match &locks {
                Some(l) => {
                    if WAITING.with_borrow(|w| w.contains(&tab)) {
                        continue;
                    }
                    let lock = Self::lock_name(site, &tab);
                    WAITING.with_borrow_mut(|w| w.push(tab.clone()));
                    // Granted once the tab is gone (at once if it already is).
                    let cb = Closure::once_into_js(move |_lock: JsValue| {
                        WAITING.with_borrow_mut(|w| w.retain(|t| *t != tab));
                        take();
                    });
                    if !request_lock(l, &lock, &cb) {
                        WAITING.with_borrow_mut(Vec::pop);
                    }
                }
                None => {
                    let written = store
                        .get(&name)
                        .and_then(|v| split_at_byte(&v, b'|').and_then(|(t, _)| funnelcake_core::json::parse_number(t)))
                        .unwrap_or(0.0) as i64;
                    if now - written >= STALE_MS {
                        take();
                    }
                }
            }
        }
    }
}
