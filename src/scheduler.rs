//! The flush timer: one pending [`gloo_timers::callback::Timeout`] at a time, replaced when the
//! core asks to be woken earlier and cancelled on drop.

use gloo_timers::callback::Timeout;

/// Holds the single pending wake-up.
#[derive(Default)]
pub struct Scheduler {
    pending: Option<(i64, Timeout)>,
}

impl Scheduler {
    /// Arranges for `f` to run at `at` (epoch ms), unless a wake-up at or before `at` is already
    /// pending.
    pub fn wake_at(&mut self, at: i64, now: i64, f: impl FnOnce() + 'static) {
        if let Some((pending_at, _)) = &self.pending {
            if *pending_at <= at {
                return;
            }
        }
        let delay = (at - now).clamp(0, i64::from(u32::MAX >> 1)) as u32;
        self.pending = Some((at, Timeout::new(delay, f)));
    }

    /// Forgets the pending wake-up (called when it fired).
    pub fn fired(&mut self) {
        if let Some((_, t)) = self.pending.take() {
            // Already fired: forget rather than cancel.
            t.forget();
        }
    }
}
