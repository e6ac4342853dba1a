//! Page lifecycle: `visibilitychange` and `pagehide`; and `storage` events, which tell that
//! another tab wrote localStorage (maybe the shared session state).
//!
//! Both events fire when a tab is closed or navigated away (and only `visibilitychange` when it
//! is backgrounded); `pagehide` is the reliable one on Safari, `visibilitychange` the only one
//! fired on mobile when the app is switched away, so we listen to both. A `visibilitychange` to
//! hidden is reported once until the page is visible again; `pagehide` always, because a page
//! hidden earlier may have recorded events since (the core adds a summary only if so).
//! <https://developer.chrome.com/docs/web-platform/page-lifecycle-api#advice-hidden>

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// What happened to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The page became visible.
    Visible,
    /// The page was hidden or is being unloaded.
    Hidden,
}

/// Registered listeners; removed when dropped.
#[must_use = "listeners are removed when the handle is dropped"]
pub struct Listeners {
    visibility: Option<Closure<dyn FnMut()>>,
    pagehide: Option<Closure<dyn FnMut()>>,
    storage: Option<Closure<dyn FnMut()>>,
    state_changed: Rc<Cell<bool>>,
}

impl Listeners {
    /// `true` once after another tab wrote localStorage (a `storage` event; not filtered by key,
    /// which would cost a closure type of its own in the wasm: a needless re-read is cheap).
    pub fn take_state_changed(&self) -> bool {
        self.state_changed.replace(false)
    }
}

/// `true` if the document is visible now (or there is no document to ask).
pub fn is_visible() -> bool {
    crate::env::window().and_then(|w| w.document()).is_none_or(|d| !d.hidden())
}

/// Calls `on_change` on visibility changes and page hide (see the module docs for repeats).
pub fn listen(on_change: impl Fn(Change) + 'static) -> Listeners {
    let state_changed = Rc::new(Cell::new(false));
    let Some(window) = crate::env::window() else {
        return Listeners { visibility: None, pagehide: None, storage: None, state_changed };
    };
    let hidden_reported = Rc::new(Cell::new(false));
    let on_change = Rc::new(on_change);

    let (flag, cb) = (hidden_reported.clone(), on_change.clone());
    let visibility = Closure::<dyn FnMut()>::new(move || {
        if is_visible() {
            flag.set(false);
            cb(Change::Visible);
        } else if !flag.replace(true) {
            cb(Change::Hidden);
        }
    });
    let (flag, cb) = (hidden_reported, on_change);
    let pagehide = Closure::<dyn FnMut()>::new(move || {
        flag.set(true);
        cb(Change::Hidden);
    });
    if let Some(doc) = window.document() {
        let _ = doc.add_event_listener_with_callback("visibilitychange", visibility.as_ref().unchecked_ref());
    }
    let _ = window.add_event_listener_with_callback("pagehide", pagehide.as_ref().unchecked_ref());
    // Fired in the other tabs of the origin when one writes localStorage.
    let flag = state_changed.clone();
    let storage = Closure::<dyn FnMut()>::new(move || flag.set(true));
    let _ = window.add_event_listener_with_callback("storage", storage.as_ref().unchecked_ref());
    Listeners { visibility: Some(visibility), pagehide: Some(pagehide), storage: Some(storage), state_changed }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        let Some(window) = crate::env::window() else { return };
        if let (Some(doc), Some(v)) = (window.document(), &self.visibility) {
            let _ = doc.remove_event_listener_with_callback("visibilitychange", v.as_ref().unchecked_ref());
        }
        if let Some(p) = &self.pagehide {
            let _ = window.remove_event_listener_with_callback("pagehide", p.as_ref().unchecked_ref());
        }
        if let Some(s) = &self.storage {
            let _ = window.remove_event_listener_with_callback("storage", s.as_ref().unchecked_ref());
        }
    }
}
