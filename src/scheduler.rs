//! The flush timer: one pending wake-up at a time, replaced when the core asks to be woken
//! earlier. The timer itself is `js/net.js`'s (`fcNet.wake(ms)`, one `setTimeout` at a time),
//! which calls the `wake` export when it fires: a timer made in the wasm (a gloo-timers
//! `Timeout`) costs a `Closure` and wasm-bindgen's closure glue (ARCHITECTURE.md, deviations).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `fcNet.wake(ms)`: calls the `wake` export in `ms` ms, replacing the wake-up pending
    /// there; `false` if the timer could not be set. Never throws (see `js/net.js`).
    #[wasm_bindgen(js_namespace = fcNet, js_name = wake)]
    fn js_wake(ms: u32) -> bool;
}

/// Holds when the single pending wake-up is due (epoch ms).
#[derive(Default)]
pub struct Scheduler {
    pending: Option<i64>,
}

impl Scheduler {
    /// Arranges for the `wake` export to run at `at` (epoch ms), unless a wake-up at or before
    /// `at` is already pending.
    pub fn wake_at(&mut self, at: i64, now: i64) {
        if self.pending.is_some_and(|pending| pending <= at) {
            return;
        }
        let delay = (at - now).clamp(0, i64::from(u32::MAX >> 1)) as u32;
        self.pending = js_wake(delay).then_some(at);
    }

    /// Forgets the pending wake-up (called when it fired).
    pub fn fired(&mut self) {
        self.pending = None;
    }
}
