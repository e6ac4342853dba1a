//! Identity and sessions.
//!
//! A session is shared by all tabs of an origin (the shell persists [`SessionState`] in
//! localStorage and re-reads it), starts when none is active or after the inactivity timeout,
//! and numbers its events with `seq` from 1. The anonymous id is random and long-lived.

use crate::id::{new_id, Entropy};
use crate::json::{self, Value};

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
        if let Some(s) = &mut self.session {
            if now - s.last_activity_at < timeout_ms {
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
        });
        true
    }

    /// The next sequence number of the current session (starting one if needed).
    pub fn next_seq(&mut self, now: i64, timeout_ms: i64, rng: &mut dyn Entropy) -> (String, u64) {
        self.touch(now, timeout_ms, rng);
        match &mut self.session {
            Some(s) => {
                s.seq += 1;
                (s.id.clone(), s.seq)
            }
            // `touch` always leaves a session in place.
            None => (String::new(), 0),
        }
    }

    /// The JSON stored by the shell.
    pub fn to_json(&self) -> String {
        let mut members = vec![
            ("aid".to_owned(), Value::Str(self.anonymous_id.clone())),
            ("visits".to_owned(), Value::Num(f64::from(self.visit_count))),
        ];
        if let Some(uid) = &self.user_id {
            members.push(("uid".to_owned(), Value::Str(uid.clone())));
        }
        if let Some(s) = &self.session {
            members.push((
                "s".to_owned(),
                Value::Obj(vec![
                    ("id".to_owned(), Value::Str(s.id.clone())),
                    ("start".to_owned(), Value::Num(s.started_at as f64)),
                    ("last".to_owned(), Value::Num(s.last_activity_at as f64)),
                    ("seq".to_owned(), Value::Num(s.seq as f64)),
                    ("visit".to_owned(), Value::Num(f64::from(s.visit_number))),
                ]),
            ));
        }
        Value::Obj(members).to_json()
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
            }),
            None => None,
        };
        Some(SessionState {
            anonymous_id,
            user_id: v.get("uid").and_then(Value::as_str).map(str::to_owned),
            visit_count: v.get("visits").and_then(Value::as_i64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            session,
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
        s.next_seq(10, 1000, &mut rng);
        s.next_seq(20, 1000, &mut rng);
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
