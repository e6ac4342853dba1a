//! The SQLite writer thread: it owns the write connection, commits the inserts waiting at
//! each moment in one transaction (group commit) and prunes what retention no longer keeps.

use std::sync::mpsc;

use rusqlite::{params, Connection};
use tokio::sync::oneshot;

use super::columns::obj_json;
use super::paths::PathRun;
use super::{EventColumns, StoreError, StoredEvent, SummaryColumns, Tally};

/// A batch's events waiting to be written, with its delivery counts and where to answer.
pub(super) struct WriteJob {
    pub(super) events: Vec<StoredEvent>,
    pub(super) tally: Option<Tally>,
    pub(super) reply: oneshot::Sender<Result<Vec<bool>, StoreError>>,
}

/// What the writer thread is asked to do.
pub(super) enum Job {
    /// Store a batch's events.
    Write(WriteJob),
    /// Delete what is older than the time given (epoch ms); the reply gets the rows deleted.
    Prune(i64, Option<oneshot::Sender<Result<u64, StoreError>>>),
}

fn write_group(conn: &mut Connection, jobs: &[WriteJob]) -> Result<Vec<Vec<bool>>, StoreError> {
    let tx = conn.transaction()?;
    let mut results = Vec::with_capacity(jobs.len());
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO events (site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url,
             referrer, title, props, items, value, currency, order_id, exp, src, ua_family, device)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
        )?;
        // Keep the summary with the highest seq: summaries may arrive out of order (a retried
        // batch, a beacon racing a fetch).
        let mut summaries = tx.prepare_cached(
            "INSERT INTO sessions (site, sid, aid, seq, ts, final, summary, started_at, duration_ms, page_views,
                 engaged, new_visitor, converted, cart_abandoned, checkout_abandoned, added_to_cart, began_checkout,
                 closed_index, reached_mask, src_kind, exp, device, landing_page, src_source, src_medium, src_campaign)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
                 ?24, ?25, ?26)
             ON CONFLICT (site, sid) DO UPDATE SET aid = excluded.aid, seq = excluded.seq, ts = excluded.ts,
                 final = excluded.final, summary = excluded.summary, started_at = excluded.started_at,
                 duration_ms = excluded.duration_ms, page_views = excluded.page_views, engaged = excluded.engaged,
                 new_visitor = excluded.new_visitor, converted = excluded.converted,
                 cart_abandoned = excluded.cart_abandoned, checkout_abandoned = excluded.checkout_abandoned,
                 added_to_cart = excluded.added_to_cart, began_checkout = excluded.began_checkout,
                 closed_index = excluded.closed_index, reached_mask = excluded.reached_mask,
                 src_kind = excluded.src_kind, exp = excluded.exp, device = excluded.device,
                 landing_page = excluded.landing_page, src_source = excluded.src_source,
                 src_medium = excluded.src_medium, src_campaign = excluded.src_campaign
             WHERE excluded.seq > sessions.seq",
        )?;
        // A repeated order id (another device, a replay) is stored once.
        let mut orders = tx.prepare_cached(
            "INSERT OR IGNORE INTO orders (site, order_id, sid, customer, ts, value, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut tallies = tx.prepare_cached(
            "INSERT INTO ingest_days (site, day, batches, accepted, duplicates, rejected, bots, client_dropped)
             VALUES (?1, date(?2 / 1000, 'unixepoch'), 1, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (site, day) DO UPDATE SET batches = batches + 1, accepted = accepted + excluded.accepted,
                 duplicates = duplicates + excluded.duplicates, rejected = rejected + excluded.rejected,
                 bots = bots + excluded.bots, client_dropped = client_dropped + excluded.client_dropped",
        )?;
        let mut run: Option<PathRun<'_>> = None;
        for job in jobs {
            let mut inserted = Vec::with_capacity(job.events.len());
            for s in &job.events {
                let e = &s.event;
                let c = EventColumns::of(s);
                let n = stmt.execute(params![
                    c.site,
                    c.id,
                    c.r#type,
                    c.ts,
                    c.client_ts,
                    c.received_at,
                    c.sid,
                    c.aid,
                    c.uid,
                    c.seq,
                    c.url,
                    c.referrer,
                    c.title,
                    c.props,
                    c.items,
                    c.value,
                    c.currency,
                    c.order_id,
                    c.exp,
                    c.src,
                    c.ua_family,
                    c.device,
                ])?;
                inserted.push(n == 1);
                if n == 1 && e.t != "session_summary" && !run.as_mut().is_some_and(|r| r.extend(&s.site, e, s.ts)) {
                    if let Some(r) = run.take() {
                        r.write(&tx)?;
                    }
                    run = Some(PathRun::new(&s.site, e, s.ts));
                }
                if n == 1 && e.t == "session_summary" {
                    let c = SummaryColumns::of(s);
                    summaries.execute(params![
                        s.site,
                        e.sid,
                        e.aid,
                        e.seq as i64,
                        s.ts,
                        c.final_,
                        obj_json(&e.props),
                        c.started_at,
                        c.duration_ms,
                        c.page_views,
                        c.engaged,
                        c.new_visitor,
                        c.converted,
                        c.cart_abandoned,
                        c.checkout_abandoned,
                        c.added_to_cart,
                        c.began_checkout,
                        c.closed_index,
                        c.reached_mask,
                        c.src_kind,
                        c.exp,
                        s.device,
                        c.landing_page,
                        c.campaign[0],
                        c.campaign[1],
                        c.campaign[2],
                    ])?;
                }
                if n == 1 && e.t == "purchase" {
                    if let Some(order) = &e.order {
                        let customer = e.uid.as_deref().unwrap_or(&e.aid);
                        let cur = e.cur.as_deref().unwrap_or("XXX");
                        orders.execute(params![s.site, order, e.sid, customer, s.ts, e.value.unwrap_or(0), cur])?;
                    }
                }
            }
            if let Some(t) = &job.tally {
                let accepted = inserted.iter().filter(|new| **new).count() as i64;
                let duplicates = inserted.len() as i64 - accepted;
                // A batch sent again (its answer was lost) repeats its `dropped` too: counted once.
                let resent = duplicates > 0 && accepted == 0;
                let client_dropped = if resent { 0 } else { t.client_dropped };
                tallies.execute(params![
                    t.site,
                    t.received_at,
                    accepted,
                    duplicates,
                    t.rejected,
                    t.bots,
                    client_dropped
                ])?;
            }
            results.push(inserted);
        }
        if let Some(r) = run {
            r.write(&tx)?;
        }
    }
    tx.commit()?;
    Ok(results)
}

/// How often the writer deletes what is older than the retention period.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Rows deleted per table per site in one prune step: each step is a short transaction, and
/// the write groups waiting meanwhile are committed between steps.
const PRUNE_CHUNK: i64 = 5_000;

/// The writer: commits write jobs in groups (group commit); with a retention period
/// (`retain_ms`), also deletes what is older than that at start and every [`PRUNE_EVERY`].
pub(super) fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, retain_ms: Option<i64>) {
    let mut backlog = std::collections::VecDeque::new();
    let mut next_prune = std::time::Instant::now();
    loop {
        let now = std::time::Instant::now();
        let job = match (backlog.pop_front(), retain_ms) {
            (Some(job), _) => job,
            // Due: first, even if writes keep arriving (they are committed between its steps).
            (None, Some(keep)) if now >= next_prune => {
                next_prune = now + PRUNE_EVERY;
                Job::Prune(now_ms() - keep, None)
            }
            (None, Some(_)) => match rx.recv_timeout(next_prune - now) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            (None, None) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Write(first) => commit_writes(&mut conn, &rx, &mut backlog, Some(first)),
            Job::Prune(before, reply) => {
                let result = prune(&mut conn, before, |conn| commit_writes(conn, &rx, &mut backlog, None));
                match &result {
                    Err(e) => tracing::error!(error = %e, "pruning old data failed"),
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "deleted data older than the retention period"),
                }
                if let Some(reply) = reply {
                    let _ = reply.send(result);
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Commits `first` and the write jobs waiting behind it as one group; a job of another kind met
/// on the way goes to the `backlog`, after the group.
fn commit_writes(
    conn: &mut Connection,
    rx: &mpsc::Receiver<Job>,
    backlog: &mut std::collections::VecDeque<Job>,
    first: Option<WriteJob>,
) {
    const MAX_GROUP: usize = 64;
    let mut jobs: Vec<WriteJob> = first.into_iter().collect();
    while jobs.len() < MAX_GROUP {
        match rx.try_recv() {
            Ok(Job::Write(job)) => jobs.push(job),
            Ok(other) => {
                backlog.push_back(other);
                break;
            }
            Err(_) => break,
        }
    }
    if jobs.is_empty() {
        return;
    }
    match write_group(conn, &jobs) {
        Ok(results) => {
            for (job, r) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(Ok(r));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "group commit failed");
            for job in jobs {
                let _ = job.reply.send(Err(StoreError(e.0.clone())));
            }
        }
    }
}

/// Deletes every event, session (with its path), order and delivery count from before `before`
/// (epoch ms; a delivery count by its UTC day), in steps of at most [`PRUNE_CHUNK`] rows per
/// table and site, calling `between` after each step (the writer commits the writes waiting).
/// The rows deleted.
fn prune(conn: &mut Connection, before: i64, mut between: impl FnMut(&mut Connection)) -> Result<u64, StoreError> {
    // Each site once, by seeks on the events' primary key rather than a scan.
    let sites: Vec<String> = conn
        .prepare(
            "WITH RECURSIVE s(site) AS (SELECT MIN(site) FROM events
                 UNION ALL SELECT (SELECT MIN(site) FROM events WHERE site > s.site) FROM s WHERE s.site IS NOT NULL)
             SELECT site FROM s WHERE site IS NOT NULL
             UNION SELECT DISTINCT site FROM ingest_days",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    const STEPS: [&str; 4] = [
        "DELETE FROM events WHERE site = ?1 AND id IN
             (SELECT id FROM events WHERE site = ?1 AND ts < ?2 LIMIT ?3)",
        "DELETE FROM sessions WHERE site = ?1 AND sid IN
             (SELECT sid FROM sessions WHERE site = ?1 AND started_at < ?2 LIMIT ?3)",
        "DELETE FROM session_paths WHERE site = ?1 AND sid IN
             (SELECT sid FROM session_paths WHERE site = ?1 AND last_ts < ?2 LIMIT ?3)",
        "DELETE FROM orders WHERE site = ?1 AND order_id IN
             (SELECT order_id FROM orders WHERE site = ?1 AND ts < ?2 LIMIT ?3)",
    ];
    let mut total = 0u64;
    for site in &sites {
        // A row a site and day: at once.
        total += conn
            .prepare_cached("DELETE FROM ingest_days WHERE site = ?1 AND day < date(?2 / 1000, 'unixepoch')")?
            .execute(params![site, before])? as u64;
        loop {
            let tx = conn.transaction()?;
            let mut step = 0;
            for sql in STEPS {
                step += tx.prepare_cached(sql)?.execute(params![site, before, PRUNE_CHUNK])?;
            }
            tx.commit()?;
            total += step as u64;
            between(conn);
            if step == 0 {
                break;
            }
        }
    }
    Ok(total)
}
