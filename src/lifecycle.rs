//! Page lifecycle: `visibilitychange` and `pagehide`; and `storage` events, which tell that
//! another tab wrote localStorage (maybe the shared session state).
//!
//! The loader (`js/loader.js`) listens, in the capture phase on `window`, and hands each event
//! to the wasm as a [`signal`] code, after recording the calls it still holds: listeners added
//! from the wasm would each cost a closure, `addEventListener`/`removeEventListener` imports and
//! their glue. This module decides what the signals mean.
//!
//! Both events fire when a tab is closed or navigated away (and only `visibilitychange` when it
//! is backgrounded); `pagehide` is the reliable one on Safari, `visibilitychange` the only one
//! fired on mobile when the app is switched away, so we listen to both. A `visibilitychange` to
//! hidden is reported once until the page is visible again; `pagehide` always, because a page
//! hidden earlier may have recorded events since (the core adds a summary only if so).
//! <https://developer.chrome.com/docs/web-platform/page-lifecycle-api#advice-hidden>
//!
//! A `pagehide` whose `persisted` is true is its own signal: the page is going into the
//! back/forward cache, frozen but not gone, and may be shown again (then `visibilitychange`
//! says visible). It hands its queue on ([`crate::outbox`]): a page there cannot send, and the
//! browser does not restore a page that holds a Web Lock another tab waits for.
//! <https://web.dev/articles/bfcache>

/// What happened to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The page became visible.
    Visible,
    /// The page was hidden or is being unloaded.
    Hidden,
    /// The page is going into the back/forward cache (`pagehide` with `persisted`).
    Cached,
}

/// The signals the loader sends (`lifecycle(code)`), by their codes.
pub mod signal {
    /// `visibilitychange` with the page visible.
    pub const VISIBLE: u32 = 0;
    /// `visibilitychange` with the page hidden.
    pub const HIDDEN: u32 = 1;
    /// `pagehide`.
    pub const PAGEHIDE: u32 = 2;
    /// `pagehide` into the back/forward cache (`persisted`).
    pub const CACHED: u32 = 3;
    /// `storage`: another tab of the origin wrote localStorage.
    pub const STORAGE: u32 = 4;
}

/// What the page's lifecycle signals have said so far.
#[derive(Debug, Default)]
pub struct PageLife {
    hidden_reported: bool,
    state_changed: bool,
}

impl PageLife {
    /// Takes one signal; returns the change to act on, if any (a repeated hide is none, a
    /// `storage` event only marks the state as changed).
    pub fn signal(&mut self, code: u32) -> Option<Change> {
        match code {
            signal::VISIBLE => {
                self.hidden_reported = false;
                Some(Change::Visible)
            }
            signal::HIDDEN => (!std::mem::replace(&mut self.hidden_reported, true)).then_some(Change::Hidden),
            signal::PAGEHIDE | signal::CACHED => {
                self.hidden_reported = true;
                Some(if code == signal::CACHED { Change::Cached } else { Change::Hidden })
            }
            signal::STORAGE => {
                self.state_changed = true;
                None
            }
            _ => None,
        }
    }

    /// `true` once after another tab wrote localStorage (a `storage` event; not filtered by key:
    /// a needless re-read is cheap).
    pub fn take_state_changed(&mut self) -> bool {
        std::mem::take(&mut self.state_changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hide_is_reported_once_until_visible_again_and_pagehide_always() {
        let mut life = PageLife::default();
        assert_eq!(life.signal(signal::HIDDEN), Some(Change::Hidden));
        assert_eq!(life.signal(signal::HIDDEN), None, "still hidden: not again");
        assert_eq!(life.signal(signal::PAGEHIDE), Some(Change::Hidden), "pagehide always");
        assert_eq!(life.signal(signal::HIDDEN), None);
        assert_eq!(life.signal(signal::VISIBLE), Some(Change::Visible));
        assert_eq!(life.signal(signal::HIDDEN), Some(Change::Hidden), "hidden again after visible");
        assert_eq!(life.signal(99), None, "unknown codes are ignored");
    }

    #[test]
    fn a_pagehide_into_the_back_forward_cache_is_its_own_change_then_visible_again() {
        let mut life = PageLife::default();
        assert_eq!(life.signal(signal::CACHED), Some(Change::Cached));
        assert_eq!(life.signal(signal::HIDDEN), None, "its visibilitychange follows: not again");
        assert_eq!(life.signal(signal::VISIBLE), Some(Change::Visible), "shown from the cache");
        assert_eq!(life.signal(signal::CACHED), Some(Change::Cached), "and cached again");
    }

    #[test]
    fn a_storage_event_marks_the_state_changed_once() {
        let mut life = PageLife::default();
        assert!(!life.take_state_changed());
        assert_eq!(life.signal(signal::STORAGE), None);
        assert!(life.take_state_changed());
        assert!(!life.take_state_changed(), "taken");
    }
}
