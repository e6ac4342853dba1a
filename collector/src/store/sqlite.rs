//! [`SqliteStore`]: the default store, one SQLite file in WAL mode; writes go through the
//! writer thread, reads through a connection of their own.

use std::path::Path;
use std::sync::{mpsc, Mutex};
use std::thread::JoinHandle;

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::queries;
use super::schema::{migrate, open};
use super::writer::{writer_loop, Job, WriteJob};
use super::*;

/// SQLite storage: one file, WAL, one writer thread with group commit.
pub struct SqliteStore {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reader: std::sync::Arc<Mutex<Connection>>,
}

fn row_to_event(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEvent> {
    Ok(EventColumns {
        site: row.get(0)?,
        id: row.get(1)?,
        r#type: row.get(2)?,
        ts: row.get(3)?,
        client_ts: row.get(4)?,
        received_at: row.get(5)?,
        sid: row.get(6)?,
        aid: row.get(7)?,
        uid: row.get(8)?,
        seq: row.get(9)?,
        url: row.get(10)?,
        referrer: row.get(11)?,
        title: row.get(12)?,
        props: row.get(13)?,
        items: row.get(14)?,
        value: row.get(15)?,
        currency: row.get(16)?,
        order_id: row.get(17)?,
        exp: row.get(18)?,
        src: row.get(19)?,
        ua_family: row.get(20)?,
        device: row.get(21)?,
    }
    .into_stored())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the writer thread; keeps
    /// everything.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_retaining(path, None)
    }

    /// Opens the database at `path` as [`SqliteStore::open`] does; with `retain_days`, the
    /// writer deletes the events, sessions, orders and delivery counts older than that many
    /// days, at start and every hour, in short steps between write groups.
    pub fn open_retaining(path: &Path, retain_days: Option<u32>) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut writer = open(path)?;
        migrate(&mut writer)?;
        let reader = open(path)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, retain_days.map(|d| i64::from(d) * 86_400_000)))
            .map_err(|e| StoreError(e.to_string()))?;
        Ok(SqliteStore {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            reader: std::sync::Arc::new(Mutex::new(reader)),
        })
    }
}

impl SqliteStore {
    /// Runs `f` on the read connection on the blocking pool.
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'_, Result<T, StoreError>> {
        let reader = self.reader.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let conn = reader.lock().map_err(|_| StoreError("reader poisoned".into()))?;
                f(&conn)
            })
            .await
            .map_err(|e| StoreError(e.to_string()))?
        })
    }

    /// Hands events (and a batch's tally) to the writer; resolves once they are committed.
    fn write(&self, events: Vec<StoredEvent>, tally: Option<Tally>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        Box::pin(async move {
            if events.is_empty() && tally.is_none() {
                return Ok(Vec::new());
            }
            let (reply, rx) = oneshot::channel();
            self.send(Job::Write(WriteJob { events, tally, reply }))?;
            rx.await.map_err(|_| StoreError("writer stopped".into()))?
        })
    }

    /// Hands a job to the writer thread.
    fn send(&self, job: Job) -> Result<(), StoreError> {
        let sent = match self.tx.lock() {
            Ok(guard) => guard.as_ref().is_some_and(|tx| tx.send(job).is_ok()),
            Err(_) => false,
        };
        if sent {
            Ok(())
        } else {
            Err(StoreError("writer stopped".into()))
        }
    }

    /// Deletes, now, everything from before `before` (epoch ms) that the retention period would
    /// (see [`SqliteStore::open_retaining`]); the rows deleted.
    pub fn prune(&self, before: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            self.send(Job::Prune(before, Some(reply)))?;
            rx.await.map_err(|_| StoreError("writer stopped".into()))?
        })
    }
}

impl Store for SqliteStore {
    fn kpis(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Kpis, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::kpis(c, &site, range, segment))
    }

    fn funnel(
        &self,
        site: &str,
        range: query::Range,
        q: query::FunnelQuery,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<query::Funnel, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::funnel(c, &site, range, &q, segment))
    }

    fn landing_pages(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::PageCount>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::landing_pages(c, &site, range, segment, limit))
    }

    fn live(&self, site: &str, now: i64) -> BoxFuture<'_, Result<query::Live, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::live(c, &site, now))
    }

    fn experiments(
        &self,
        site: &str,
        range: query::Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::ExperimentResult>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| {
            let keys = match key {
                Some(k) => vec![k],
                None => queries::experiment_keys(c, &site, range, segment)?,
            };
            keys.iter().map(|k| queries::experiment(c, &site, range, k, weights.as_deref(), segment)).collect()
        })
    }

    fn insert(&self, events: Vec<StoredEvent>) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        self.write(events, None)
    }

    fn insert_batch(&self, events: Vec<StoredEvent>, tally: Tally) -> BoxFuture<'_, Result<Vec<bool>, StoreError>> {
        self.write(events, Some(tally))
    }

    fn campaigns(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<query::CampaignCount>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::campaigns(c, &site, range, segment, limit))
    }

    fn daily(
        &self,
        site: &str,
        range: query::Range,
        segment: query::Segment,
    ) -> BoxFuture<'_, Result<Vec<query::DayFigures>, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::daily(c, &site, range, segment))
    }

    fn ingest(&self, site: &str, range: query::Range) -> BoxFuture<'_, Result<query::Ingest, StoreError>> {
        let site = site.to_owned();
        self.read(move |c| queries::ingest(c, &site, range))
    }

    fn recent_events(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        let site = site.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url, referrer, title,
                        props, items, value, currency, order_id, exp, src, ua_family, device
                 FROM events WHERE site = ?1 ORDER BY received_at DESC, ts DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![site, limit as i64], row_to_event)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn sessions(&self, site: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SessionRow>, StoreError>> {
        let site = site.to_owned();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT sid, aid, seq, ts, final, summary FROM sessions WHERE site = ?1 ORDER BY ts DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![site, limit as i64], |r| {
                Ok(SessionRow {
                    sid: r.get(0)?,
                    aid: r.get(1)?,
                    seq: r.get::<_, i64>(2)? as u64,
                    ts: r.get(3)?,
                    final_: r.get(4)?,
                    summary: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // Dropping the sender lets the writer finish the queued jobs and exit.
            if let Ok(mut tx) = self.tx.lock() {
                tx.take();
            }
            let handle = self.writer.lock().ok().and_then(|mut h| h.take());
            if let Some(h) = handle {
                let _ = tokio::task::spawn_blocking(move || h.join()).await;
            }
        })
    }
}
