//! Writing a batch: which of its events are stored already, then orders and sessions, events
//! and delivery counts, in that order (see the module above for why).

use std::collections::HashSet;

use super::*;

impl ClickHouseStore {
    /// The ids of `site` among `ids` that are stored already.
    pub(super) async fn stored_ids(&self, site: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT id FROM {}.events WHERE site = {{site:String}} AND id IN {{ids:Array(String)}}",
                    self.db
                ),
                vec![("site", escape(site)), ("ids", array(ids))],
            )
            .await?;
        Ok(rows.iter().map(|r| text(r, 0)).collect())
    }

    /// Stores events (and a batch's delivery counts); see the module's description.
    pub(super) async fn write(&self, events: Vec<StoredEvent>, tally: Option<Tally>) -> Result<Vec<bool>, StoreError> {
        let mut known: HashSet<(String, String)> = HashSet::new();
        let mut sites: Vec<&str> = events.iter().map(|e| e.site.as_str()).collect();
        sites.sort_unstable();
        sites.dedup();
        for site in sites {
            let ids: Vec<&str> = events.iter().filter(|e| e.site == site).map(|e| e.event.id.as_str()).collect();
            for chunk in ids.chunks(500) {
                for id in self.stored_ids(site, chunk).await? {
                    known.insert((site.to_owned(), id));
                }
            }
        }
        let (mut event_rows, mut session_rows, mut order_rows) = (Vec::new(), Vec::new(), Vec::new());
        let mut inserted = Vec::with_capacity(events.len());
        let mut orders_seen: HashSet<(&str, &str)> = HashSet::new();
        for s in &events {
            let new = known.insert((s.site.clone(), s.event.id.clone()));
            inserted.push(new);
            if !new {
                continue;
            }
            let e = &s.event;
            let columns = EventColumns::of(s);
            event_rows.push(serde_json::to_value(&columns).map_err(|e| StoreError(e.to_string()))?);
            if e.t == "session_summary" {
                let c = SummaryColumns::of(s);
                session_rows.push(json!({
                    "site": s.site, "sid": e.sid, "aid": e.aid, "seq": e.seq, "ts": s.ts, "final": u8::from(c.final_),
                    "summary": columns.props.as_deref().unwrap_or("{}"),
                    "started_at": c.started_at, "duration_ms": c.duration_ms, "page_views": c.page_views,
                    "engaged": u8::from(c.engaged), "new_visitor": u8::from(c.new_visitor),
                    "converted": u8::from(c.converted), "cart_abandoned": u8::from(c.cart_abandoned),
                    "checkout_abandoned": u8::from(c.checkout_abandoned), "added_to_cart": u8::from(c.added_to_cart),
                    "began_checkout": u8::from(c.began_checkout), "closed_index": c.closed_index,
                    "reached_mask": c.reached_mask, "src_kind": c.src_kind, "exp": c.exp.unwrap_or_default(),
                    "device": s.device, "landing_page": c.landing_page, "src_source": c.campaign[0],
                    "src_medium": c.campaign[1], "src_campaign": c.campaign[2],
                }));
            }
            // An order id twice in one write keeps its first row, as across writes.
            if let (true, Some(order)) = (e.t == "purchase", &e.order) {
                if !orders_seen.insert((s.site.as_str(), order.as_str())) {
                    continue;
                }
                order_rows.push(json!({
                    "site": s.site, "order_id": order, "sid": e.sid, "customer": e.uid.as_deref().unwrap_or(&e.aid),
                    "ts": s.ts, "value": e.value.unwrap_or(0), "currency": e.cur.as_deref().unwrap_or("XXX"),
                    "keep": u64::try_from(i64::MAX - s.received_at.max(0)).unwrap_or(0),
                }));
            }
        }
        // Orders and sessions together (each insert waits for ClickHouse's asynchronous-insert
        // flush, so one after the other would wait twice), then the events.
        futures_util::future::try_join(
            self.insert_rows("orders", &order_rows),
            self.insert_rows("sessions", &session_rows),
        )
        .await?;
        self.insert_rows("events", &event_rows).await?;
        if let Some(t) = tally {
            let accepted = inserted.iter().filter(|new| **new).count() as i64;
            let duplicates = inserted.len() as i64 - accepted;
            // A batch sent again (its answer was lost) repeats its `dropped` too: counted once.
            let client_dropped = if duplicates > 0 && accepted == 0 { 0 } else { t.client_dropped };
            self.exec(
                &format!(
                    "INSERT INTO {}.ingest_days SELECT {{site:String}}, {}, 1, {{accepted:Int64}}, {{duplicates:Int64}},
                         {{rejected:Int64}}, {{bots:Int64}}, {{dropped:Int64}}",
                    self.db,
                    utc_day("{at:Int64}")
                ),
                vec![
                    ("site", escape(&t.site)),
                    ("at", t.received_at.to_string()),
                    ("accepted", accepted.to_string()),
                    ("duplicates", duplicates.to_string()),
                    ("rejected", t.rejected.to_string()),
                    ("bots", t.bots.to_string()),
                    ("dropped", client_dropped.to_string()),
                ],
            )
            .await?;
        }
        Ok(inserted)
    }
}
