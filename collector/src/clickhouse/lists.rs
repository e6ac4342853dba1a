//! The other reads: landing pages, campaigns, figures per day, delivery counts, the live
//! figures, and the raw events and sessions.

use super::*;

impl ClickHouseStore {
    pub(super) async fn landing_pages(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> Result<Vec<query::PageCount>, StoreError> {
        let mut params = range_params(site, range);
        params.push(("limit", limit.to_string()));
        let rows = self
            .rows(
                &format!(
                    "SELECT landing_page, count() AS n, sum(converted) FROM {} GROUP BY landing_page
                     ORDER BY n DESC, landing_page LIMIT {{limit:UInt64}}",
                    self.sessions_in(segment)
                ),
                params,
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (sessions, conversions) = (int(r, 1), int(r, 2));
                query::PageCount {
                    page: text(r, 0),
                    sessions,
                    conversions,
                    conversion_rate: query::ratio(conversions, sessions),
                }
            })
            .collect())
    }

    pub(super) async fn campaigns(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
        limit: usize,
    ) -> Result<Vec<query::CampaignCount>, StoreError> {
        let sessions =
            format!("{} AND (src_source != '' OR src_medium != '' OR src_campaign != '')", self.sessions_in(segment));
        let mut params = range_params(site, range);
        params.push(("limit", limit.to_string()));
        let mut list: Vec<query::CampaignCount> = self
            .rows(
                &format!(
                    "SELECT src_source, src_medium, src_campaign, count() AS n, sum(converted) FROM {sessions}
                     GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3 LIMIT {{limit:UInt64}}"
                ),
                params.clone(),
            )
            .await?
            .iter()
            .map(|r| {
                let (sessions, conversions) = (int(r, 3), int(r, 4));
                query::CampaignCount {
                    source: text(r, 0),
                    medium: text(r, 1),
                    campaign: text(r, 2),
                    sessions,
                    conversions,
                    conversion_rate: query::ratio(conversions, sessions),
                    revenue: Vec::new(),
                }
            })
            .collect();
        for r in self
            .rows(
                &format!(
                    "SELECT s.src_source, s.src_medium, s.src_campaign, o.currency, sum(o.value)
                     FROM {db}.orders AS o FINAL
                     INNER JOIN (SELECT sid, src_source, src_medium, src_campaign FROM {sessions}) AS s ON s.sid = o.sid
                     WHERE o.site = {{site:String}} GROUP BY 1, 2, 3, 4 ORDER BY 4",
                    db = self.db
                ),
                params,
            )
            .await?
        {
            let key = [text(&r, 0), text(&r, 1), text(&r, 2)];
            let revenue = Money { currency: text(&r, 3), amount: int(&r, 4) };
            query::add_campaign_revenue(&mut list, [&key[0], &key[1], &key[2]], revenue);
        }
        Ok(list)
    }

    pub(super) async fn daily(
        &self,
        site: &str,
        range: Range,
        segment: Segment,
    ) -> Result<Vec<query::DayFigures>, StoreError> {
        let mut days = query::Days::default();
        for r in self
            .rows(
                &format!(
                    "SELECT {} AS day, count(), sum(converted) FROM {} GROUP BY day",
                    utc_day("started_at"),
                    self.sessions_in(segment)
                ),
                range_params(site, range),
            )
            .await?
        {
            days.sessions(text(&r, 0), int(&r, 1), int(&r, 2));
        }
        for r in self
            .rows(
                &format!(
                    "SELECT {} AS day, currency, count(), sum(value) FROM {}
                     WHERE site = {{site:String}} AND ts >= {{from:Int64}} AND ts < {{to:Int64}}
                     GROUP BY day, currency ORDER BY day, currency",
                    utc_day("ts"),
                    self.orders_of(segment)
                ),
                range_params(site, range),
            )
            .await?
        {
            days.orders(text(&r, 0), int(&r, 2), Money { currency: text(&r, 1), amount: int(&r, 3) });
        }
        Ok(days.finish())
    }

    pub(super) async fn ingest(&self, site: &str, range: Range) -> Result<query::Ingest, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT toString(day), sum(batches), sum(accepted), sum(duplicates), sum(rejected), sum(bots),
                         sum(client_dropped) FROM {}.ingest_days
                     WHERE site = {{site:String}} AND day >= {} AND day <= {} GROUP BY day ORDER BY day",
                    self.db,
                    utc_date("{from:Int64}"),
                    utc_date("({to:Int64} - 1)")
                ),
                range_params(site, range),
            )
            .await?;
        Ok(query::Ingest::of_days(
            rows.iter()
                .map(|r| query::IngestDay {
                    day: text(r, 0),
                    batches: int(r, 1),
                    accepted: int(r, 2),
                    duplicates: int(r, 3),
                    rejected: int(r, 4),
                    bots: int(r, 5),
                    client_dropped: int(r, 6),
                })
                .collect(),
        ))
    }

    pub(super) async fn live(&self, site: &str, now: i64) -> Result<query::Live, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT uniqExact(sid) FROM {}.events WHERE site = {{site:String}} AND ts >= {{since:Int64}}",
                    self.db
                ),
                vec![("site", escape(site)), ("since", (now - 5 * 60_000).to_string())],
            )
            .await?;
        let today = self.funnel(site, Range::day_of(now), query::FunnelQuery::default(), Segment::default()).await?;
        Ok(query::Live { ts: now, active_sessions: rows.first().map_or(0, |r| int(r, 0)), today })
    }

    pub(super) async fn recent_events(&self, site: &str, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let text = self
            .request(
                &format!(
                    "SELECT site, id, type, ts, client_ts, received_at, sid, aid, uid, seq, url, referrer, title, props,
                         items, value, currency, order_id, exp, src, ua_family, device
                     FROM {}.events FINAL WHERE site = {{site:String}} ORDER BY received_at DESC, ts DESC
                     LIMIT {{limit:UInt64}}
                     SETTINGS output_format_json_quote_64bit_integers = 0 FORMAT JSONEachRow",
                    self.db
                ),
                vec![("site", escape(site)), ("limit", limit.to_string())],
                None,
            )
            .await?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<EventColumns>(l)
                    .map(EventColumns::into_stored)
                    .map_err(|e| StoreError(format!("ClickHouse event row: {e}")))
            })
            .collect()
    }

    pub(super) async fn sessions(&self, site: &str, limit: usize) -> Result<Vec<SessionRow>, StoreError> {
        let rows = self
            .rows(
                &format!(
                    "SELECT sid, aid, seq, ts, final, summary FROM {}.sessions FINAL WHERE site = {{site:String}}
                     ORDER BY ts DESC LIMIT {{limit:UInt64}}",
                    self.db
                ),
                vec![("site", escape(site)), ("limit", limit.to_string())],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| SessionRow {
                sid: text(r, 0),
                aid: text(r, 1),
                seq: int(r, 2) as u64,
                ts: int(r, 3),
                final_: int(r, 4) != 0,
                summary: text(r, 5),
            })
            .collect())
    }
}
