//! Session paths: each session's event names in time order, kept at ingest in
//! `session_paths` so funnels over ad-hoc steps read one short row per session, not its events.

use funnelcake_core::wire::Event;
use rusqlite::{params, Connection};

use super::StoreError;

/// Longest session path kept, bytes: about 150 event names. A session with more events is
/// marked `full`, and funnels read its events instead (so every append rewrites a short row).
pub const MAX_PATH_BYTES: usize = 2000;

/// Appends one event name to a session path: its length in bytes, `:`, the name (exact for any
/// name, with no separator a name could contain).
pub fn push_path(path: &mut Vec<u8>, name: &[u8]) {
    path.extend_from_slice(name.len().to_string().as_bytes());
    path.push(b':');
    path.extend_from_slice(name);
}

/// The event names of a path written by [`push_path`], in order; stops at anything malformed.
pub fn path_names(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = path;
    std::iter::from_fn(move || {
        let colon = rest.iter().position(|b| *b == b':')?;
        let len: usize = std::str::from_utf8(&rest[..colon]).ok()?.parse().ok()?;
        let name = rest.get(colon + 1..colon + 1 + len)?;
        rest = &rest[colon + 1 + len..];
        Some(name)
    })
}

/// Calls `f` with the (ts, seq, name) of each of `sid`'s events that its path holds: every event
/// but its `session_summary`s, in (ts, seq) order.
pub fn for_each_path_event(
    conn: &Connection,
    site: &str,
    sid: &str,
    mut f: impl FnMut(i64, i64, &[u8]),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, seq, type FROM events WHERE site = ?1 AND sid = ?2 AND type <> 'session_summary'
         ORDER BY ts, seq",
    )?;
    let mut rows = stmt.query(params![site, sid])?;
    while let Some(row) = rows.next()? {
        f(row.get(0)?, row.get(1)?, row.get_ref(2)?.as_bytes()?);
    }
    Ok(())
}

/// Writes `sid`'s path again from its stored events (an event arrived out of order, or the
/// migration that added paths).
fn rebuild_path(conn: &Connection, site: &str, sid: &str) -> Result<(), StoreError> {
    let (mut path, mut last) = (Vec::new(), (i64::MIN, i64::MIN));
    for_each_path_event(conn, site, sid, |ts, seq, name| {
        last = (ts, seq);
        push_path(&mut path, name);
    })?;
    let full = path.len() > MAX_PATH_BYTES;
    if full {
        path.clear();
    }
    conn.prepare_cached(
        "INSERT OR REPLACE INTO session_paths (site, sid, last_ts, last_seq, full, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![site, sid, last.0, last.1, full, path])?;
    Ok(())
}

/// Fills `session_paths` from the stored events (run once, by the migration that adds it).
pub(super) fn fill_paths(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT DISTINCT site, sid FROM events")?;
    let sessions = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for s in sessions {
        let (site, sid) = s?;
        rebuild_path(conn, &site, &sid)?;
    }
    Ok(())
}

/// Newly stored events of one session, in (ts, seq) order, whose names go into its path with
/// one write: a batch usually holds a run of one session's events.
pub(super) struct PathRun<'a> {
    site: &'a str,
    sid: &'a str,
    first: (i64, i64),
    last: (i64, i64),
    names: Vec<u8>,
}

impl<'a> PathRun<'a> {
    /// A run that starts with the event.
    pub(super) fn new(site: &'a str, e: &'a Event, ts: i64) -> Self {
        let key = (ts, e.seq as i64);
        let mut run = PathRun { site, sid: &e.sid, first: key, last: key, names: Vec::new() };
        push_path(&mut run.names, e.t.as_bytes());
        run
    }

    /// Adds the event to the run if it continues it; `false` if it starts a new one.
    pub(super) fn extend(&mut self, site: &str, e: &Event, ts: i64) -> bool {
        let key = (ts, e.seq as i64);
        if self.site != site || self.sid != e.sid || key < self.last {
            return false;
        }
        self.last = key;
        push_path(&mut self.names, e.t.as_bytes());
        true
    }

    /// Writes the run into its session's path: appended when the run comes after everything the
    /// path holds, else the path is written again in order from the stored events.
    pub(super) fn write(&self, tx: &Connection) -> Result<(), StoreError> {
        let appended = tx
            .prepare_cached(
                "INSERT INTO session_paths (site, sid, last_ts, last_seq, full, path)
                 VALUES (?1, ?2, ?5, ?6, ?7 > ?8, CASE WHEN ?7 > ?8 THEN X'' ELSE ?9 END)
                 ON CONFLICT (site, sid) DO UPDATE SET path = CAST(path || excluded.path AS BLOB),
                     last_ts = excluded.last_ts, last_seq = excluded.last_seq
                 WHERE full = 0 AND (?3, ?4) >= (last_ts, last_seq) AND octet_length(path) + ?7 <= ?8",
            )?
            .execute(params![
                self.site,
                self.sid,
                self.first.0,
                self.first.1,
                self.last.0,
                self.last.1,
                self.names.len() as i64,
                MAX_PATH_BYTES as i64,
                self.names
            ])?;
        if appended == 0 {
            let full: bool = tx
                .prepare_cached("SELECT full FROM session_paths WHERE site = ?1 AND sid = ?2")?
                .query_row(params![self.site, self.sid], |r| r.get(0))?;
            if !full {
                rebuild_path(tx, self.site, self.sid)?;
            }
        }
        Ok(())
    }
}
