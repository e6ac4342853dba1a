//! Identity and sessions.
//!
//! A session is shared by all tabs of an origin (the shell persists [`SessionState`] in
//! localStorage and re-reads it), starts when none is active or after the inactivity timeout,
//! and numbers its events with `seq` from 1. The anonymous id is random and long-lived.

use crate::id::{new_id, Entropy};
use crate::json::{self, Value};
use crate::metrics::SessionMetrics;

/// How many recent order ids are remembered to drop repeated purchases.
pub const RECENT_ORDERS: usize = 50;

/// The persisted identity and session, as one small JSON document.
#[derive(Debug, Clone, PartialEq, Default)]
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

    /// Remembers an order id (bounded to the most recent [`RECENT_ORDERS`]).
    pub fn remember_order(&mut self, id: &str) {
        if !self.recent_orders.iter().any(|o| o == id) {
            self.recent_orders.push(id.to_owned());
            let excess = self.recent_orders.len().saturating_sub(RECENT_ORDERS);
            self.recent_orders.drain(..excess);
        }
    }

    /// Hands out the next sequence number of the current session without counting as
    /// activity (used for `session_summary`). `None` when there is no session.
    pub fn bump_seq(&mut self) -> Option<(String, u64)> {
        let s = self.session.as_mut()?;
        s.seq += 1;
        Some((s.id.clone(), s.seq))
    }

    /// The JSON stored by the shell.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("{\"aid\":");
        json::write_str(&mut out, &self.anonymous_id);
        out.push_str(",\"visits\":");
        json::write_int(&mut out, i64::from(self.visit_count));
        if let Some(uid) = &self.user_id {
            out.push_str(",\"uid\":");
            json::write_str(&mut out, uid);
        }
        if let Some(s) = &self.session {
            out.push_str(",\"s\":{\"id\":");
            json::write_str(&mut out, &s.id);
            for (k, v) in [
                ("start", s.started_at),
                ("last", s.last_activity_at),
                ("seq", s.seq as i64),
                ("visit", i64::from(s.visit_number)),
            ] {
                out.push_str(",\"");
                out.push_str(k);
                out.push_str("\":");
                json::write_int(&mut out, v);
            }
            out.push_str(",\"m\":");
            s.metrics.write_persisted(&mut out);
            out.push('}');
        }
        if !self.recent_orders.is_empty() {
            out.push_str(",\"ro\":[");
            for (i, o) in self.recent_orders.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_str(&mut out, o);
            }
            out.push(']');
        }
        out.push('}');
        out
    }

    /// Reads what [`SessionState::to_json`] wrote; `None` for anything unreadable (the shell
    /// then starts fresh rather than trusting damaged storage).
    pub fn from_json(text: &str) -> Option<SessionState> {
        let v = json::parse(text).ok()?;
        let anonymous_id = v.get("aid")?.as_str()?.to_owned();
        if !crate::wire::is_event_id(&anonymous_id) {
            return None;
        }
        let session = match v.get("s") {
            Some(s) => Some(Session {
                id: s.get("id")?.as_str()?.to_owned(),
                started_at: s.get("start")?.as_i64()?,
                last_activity_at: s.get("last")?.as_i64()?,
                seq: u64::try_from(s.get("seq")?.as_i64()?).ok()?,
                visit_number: u32::try_from(s.get("visit")?.as_i64()?).ok()?,
                // Damaged metrics restart from zero rather than losing the session and ids.
                metrics: s.get("m").and_then(SessionMetrics::from_value).unwrap_or_default(),
            }),
            None => None,
        };
        Some(SessionState {
            anonymous_id,
            user_id: v.text("uid"),
            visit_count: v.get("visits").and_then(Value::as_i64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            session,
            recent_orders: v
                .get("ro")
                .and_then(Value::as_array)
                .map(|a| {
                    let mut orders = Vec::new();
                    for o in a {
                        orders.extend(o.as_str().map(str::to_owned));
                    }
                    orders
                })
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::SplitMix64;

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

    #[test]
    fn damaged_state_is_refused() {
        for bad in
            ["", "null", "{\"aid\":5}", "{\"aid\":\"zz\"}", "{\"aid\":\"00000000000000000000000000000000\",\"s\":{}}"]
        {
            assert_eq!(SessionState::from_json(bad), None, "{bad}");
        }
    }
}
