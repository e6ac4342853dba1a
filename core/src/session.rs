//! Identity and sessions.
//!
//! A session is shared by all tabs of an origin (the shell persists [`SessionState`] in
//! localStorage and re-reads it), starts when none is active or after the inactivity timeout,
//! and numbers its events with `seq` from 1. The anonymous id is random and long-lived.

use crate::id::{new_id, Entropy};
use crate::json::{self, Cursor, Row, Value};
use crate::metrics::SessionMetrics;

/// How many recent order ids are remembered to drop repeated purchases.
pub const RECENT_ORDERS: usize = 50;

/// The persisted identity and session, as one small JSON array ([`SessionState::to_json`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// Anonymous (device) id.
    pub anonymous_id: String,
    /// User id from `identify`.
    pub user_id: Option<String>,
    /// Sessions this visitor has had, including the current one.
    pub visit_count: u32,
    /// The current session, if any.
    pub session: Option<Session>,
    /// Recent order ids (newest last, at most [`RECENT_ORDERS`]), to drop repeated purchases
    /// such as a reloaded thank-you page, across page loads and sessions.
    pub recent_orders: Vec<String>,
}

/// One session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// Random session id (32 hex).
    pub id: String,
    /// First activity, epoch ms.
    pub started_at: i64,
    /// Last activity, epoch ms.
    pub last_activity_at: i64,
    /// Last sequence number handed out.
    pub seq: u64,
    /// Visit number of this session (1 for a new visitor).
    pub visit_number: u32,
    /// Metrics folded from this session's events.
    pub metrics: SessionMetrics,
}

impl Default for SessionState {
    /// No identity and no session. Not inlined, as `SessionMetrics::default`.
    #[inline(never)]
    fn default() -> SessionState {
        SessionState {
            anonymous_id: String::new(),
            user_id: None,
            visit_count: 0,
            session: None,
            recent_orders: Vec::new(),
        }
    }
}

impl SessionState {
    /// A fresh state with a new anonymous id and no session.
    pub fn new(rng: &mut dyn Entropy) -> SessionState {
        SessionState { anonymous_id: new_id(rng), ..SessionState::default() }
    }

    /// Records activity at `now`, starting a new session when none is active or the last
    /// activity is `timeout_ms` or more ago. Returns `true` when a new session started.
    ///
    /// ```
    /// use funnelcake_core::{id::SplitMix64, session::SessionState};
    /// let mut rng = SplitMix64(1);
    /// let mut s = SessionState::new(&mut rng);
    /// assert!(s.touch(1_000, 1_800_000, &mut rng));
    /// assert!(!s.touch(2_000, 1_800_000, &mut rng));
    /// assert!(s.touch(2_000 + 1_800_000, 1_800_000, &mut rng));
    /// assert_eq!(s.visit_count, 2);
    /// ```
    pub fn touch(&mut self, now: i64, timeout_ms: i64, rng: &mut dyn Entropy) -> bool {
        if !self.expired(now, timeout_ms) {
            if let Some(s) = &mut self.session {
                s.last_activity_at = s.last_activity_at.max(now);
                return false;
            }
        }
        self.visit_count = self.visit_count.saturating_add(1);
        self.session = Some(Session {
            id: new_id(rng),
            started_at: now,
            last_activity_at: now,
            seq: 0,
            visit_number: self.visit_count,
            metrics: SessionMetrics::default(),
        });
        true
    }

    /// `true` when there is a session and it has been inactive for `timeout_ms` or more.
    pub fn expired(&self, now: i64, timeout_ms: i64) -> bool {
        self.session.as_ref().is_none_or(|s| now - s.last_activity_at >= timeout_ms)
    }

    /// `true` if `id` is one of the remembered order ids.
    pub fn knows_order(&self, id: &str) -> bool {
        self.recent_orders.iter().any(|o| o == id)
    }

    /// Remembers an order id (bounded to the most recent [`RECENT_ORDERS`]).
    pub fn remember_order(&mut self, id: &str) {
        if !self.knows_order(id) {
            if self.recent_orders.len() >= RECENT_ORDERS {
                self.recent_orders.remove(0);
            }
            self.recent_orders.push(id.to_owned());
        }
    }

    /// Hands out the next sequence number of the current session without counting as
    /// activity (used for `session_summary`). `None` when there is no session.
    pub fn bump_seq(&mut self) -> Option<(String, u64)> {
        let s = self.session.as_mut()?;
        s.seq += 1;
        Some((s.id.clone(), s.seq))
    }

    /// The JSON stored by the shell: one array, positional (no keys to write or look up),
    /// `[anonymous id, visit count, user id | null, [recent order ids], session | null]` with
    /// the session as `[id, started at, last activity at, seq, visit number, metrics]` and the
    /// metrics as [`SessionMetrics::write_persisted`] writes them.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        let mut w = Row(&mut out);
        w.open();
        w.text(&self.anonymous_id);
        w.int(i64::from(self.visit_count));
        w.opt_text(self.user_id.as_deref());
        w.open();
        for o in &self.recent_orders {
            w.text(o);
        }
        w.close();
        match &self.session {
            Some(s) => {
                w.open();
                w.text(&s.id);
                for v in [s.started_at, s.last_activity_at, s.seq as i64, i64::from(s.visit_number)] {
                    w.int(v);
                }
                s.metrics.write_persisted(&mut w);
                w.close();
            }
            None => w.opt_int(None),
        }
        w.close();
        out.truncate(out.len() - 1);
        out
    }

    /// Reads what [`SessionState::to_json`] wrote; `None` for anything unreadable (the shell
    /// then starts fresh rather than trusting damaged storage). Damaged metrics restart from
    /// zero rather than losing the session and ids.
    pub fn from_json(text: &str) -> Option<SessionState> {
        SessionState::from_value(&json::parse(text).ok()?)
    }

    /// [`SessionState::from_json`] of text already read into a value (the wasm has it from
    /// `js/env.js` in tape form: [`json::read_tape`]).
    pub fn from_value(v: &Value) -> Option<SessionState> {
        let mut state = SessionState::default();
        state.read(Cursor::new(v)?)?;
        Some(state)
    }

    /// Fills `self` from the form [`SessionState::to_json`] writes, field by field (see
    /// `SessionMetrics::read_persisted` for why).
    fn read(&mut self, mut c: Cursor) -> Option<()> {
        self.anonymous_id = c.text().filter(|id| crate::wire::is_event_id(id))?;
        self.visit_count = u32::try_from(c.int()?).ok()?;
        c.opt_text_into(&mut self.user_id)?;
        let mut orders = c.list()?;
        while let Some(o) = orders.value() {
            if let Some(o) = o.as_str() {
                self.recent_orders.push(o.to_owned());
            }
        }
        if let Some(mut c) = c.list() {
            let s = self.session.insert(Session::default());
            c.text_into(&mut s.id)?;
            s.started_at = c.int()?;
            s.last_activity_at = c.int()?;
            s.seq = u64::try_from(c.int()?).ok()?;
            s.visit_number = u32::try_from(c.int()?).ok()?;
            if c.list().and_then(|c| s.metrics.read_persisted(c)).is_none() {
                s.metrics = SessionMetrics::default();
            }
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SplitMix64;

    #[test]
    fn the_most_recent_order_ids_are_remembered() {
        let mut s = SessionState::new(&mut SplitMix64(1));
        for i in 0..RECENT_ORDERS + 10 {
            s.remember_order(&format!("o-{i}"));
            s.remember_order(&format!("o-{}", i / 2)); // a repeat, while remembered, changes nothing
        }
        let want: Vec<String> = (10..RECENT_ORDERS + 10).map(|i| format!("o-{i}")).collect();
        assert_eq!(s.recent_orders, want);
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut rng = SplitMix64(3);
        let mut s = SessionState::new(&mut rng);
        s.user_id = Some("u-1".into());
        s.touch(10, 1000, &mut rng);
        s.bump_seq();
        s.remember_order("o-1");
        assert_eq!(SessionState::from_json(&s.to_json()), Some(s));
    }

    /// A session whose metrics have every field set, lists with more than one element.
    fn full_state() -> SessionState {
        use crate::cart::{Cart, CartLine};
        use crate::event::DropReason;
        use crate::funnel::FunnelProgress;
        use crate::metrics::Order;
        use crate::wire::Source;
        let mut rng = SplitMix64(5);
        let mut s = SessionState::new(&mut rng);
        s.user_id = Some("u \"1\"".into());
        s.touch(1_700_000_000_000, 1000, &mut rng);
        s.remember_order("o-1");
        s.remember_order("o-2");
        let line = |id: &str, variant: Option<&str>, quantity, unit_price| CartLine {
            id: id.into(),
            variant: variant.map(Into::into),
            quantity,
            unit_price,
            currency: "EUR".into(),
        };
        let m = &mut s.session.as_mut().unwrap().metrics;
        *m = SessionMetrics {
            page_views: 7,
            landing_page: Some("https://shop.example/?utm_source=news".into()),
            exit_page: None,
            referrer: Some("https://mail.example/".into()),
            source: Some(Source {
                kind: "email".into(),
                source: Some("news".into()),
                medium: None,
                campaign: Some("spring".into()),
                term: None,
                content: Some("hero".into()),
            }),
            engaged_ms: 12_345,
            visible_since: Some(1_700_000_001_000),
            funnel: FunnelProgress { reached_at: vec![Some(1), None, Some(3), None, None], in_order: 1 },
            funnels: vec![
                FunnelProgress { reached_at: vec![None, Some(2)], in_order: 0 },
                FunnelProgress { reached_at: vec![], in_order: 0 },
            ],
            cart: Cart {
                known: false,
                lines: vec![line("TR-1", Some("42"), 2, Some(11_900)), line("SK-2", None, 1, None)],
            },
            began_checkout: true,
            orders: vec![
                Order { id: "o-1".into(), value: 21_200, currency: "EUR".into() },
                Order { id: "o-2".into(), value: 500, currency: "JPY".into() },
            ],
            refunds: vec![("EUR".into(), 1_000), ("USD".into(), 5)],
            experiments: vec![("hero".into(), 1), ("price".into(), 0)],
            dropped: vec![(DropReason::QueueOverflow, 3), (DropReason::ConsentDenied, 1)],
        };
        s
    }

    #[test]
    fn every_metrics_field_round_trips() {
        let s = full_state();
        assert_eq!(SessionState::from_json(&s.to_json()), Some(s.clone()));
        let mut no_session = s;
        no_session.session = None;
        no_session.user_id = None;
        assert_eq!(SessionState::from_json(&no_session.to_json()), Some(no_session));
    }

    #[test]
    fn damaged_metrics_restart_from_zero_and_keep_the_session() {
        let s = full_state();
        let text = s.to_json();
        // The drops list made unreadable: an unknown reason.
        let damaged = text.replace("queue_overflow", "no_such_reason");
        assert_ne!(damaged, text);
        let read = SessionState::from_json(&damaged).expect("the state itself is readable");
        let session = read.session.expect("the session is kept");
        assert_eq!(session.id, s.session.as_ref().unwrap().id);
        assert_eq!(session.metrics, SessionMetrics::default());
        assert_eq!(read.anonymous_id, s.anonymous_id);
    }

    #[test]
    fn damaged_state_is_refused() {
        for bad in [
            "",
            "null",
            "[5]",
            "[\"zz\",1,null,[],null]",
            "[\"00000000000000000000000000000000\",1,null,[],[]]",
            // The keyed form of development builds before 0.1.0 (2026-11-23): not read.
            "{\"aid\":\"00000000000000000000000000000000\"}",
            r#"{"aid":"0123456789abcdef0123456789abcdef","visits":3,"uid":"u-1","s":{"id":"00000000000000000000000000000001","start":1,"last":2,"seq":4,"visit":3,"m":{"pv":1}},"ro":["o-1"]}"#,
        ] {
            assert_eq!(SessionState::from_json(bad), None, "{bad}");
        }
    }
}
