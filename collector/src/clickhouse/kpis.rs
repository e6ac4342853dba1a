//! The headline reads: KPIs, funnels (the default one and ad-hoc steps) and experiments, over
//! the sessions of a range and segment.

use super::*;

impl ClickHouseStore {
    /// `FROM` for the sessions of a range and segment (`WHERE` included, more conditions may
    /// follow); parameters `site`, `from`, `to`.
    pub(super) fn sessions_in(&self, segment: Segment) -> String {
        format!(
            "{}.sessions FINAL WHERE site = {{site:String}} AND started_at >= {{from:Int64}} AND started_at < {{to:Int64}}{}",
            self.db,
            segment.sql("")
        )
    }

    /// What the order queries read `FROM`: the orders, or those of a segment's sessions.
    pub(super) fn orders_of(&self, segment: Segment) -> String {
        if segment == Segment::default() {
            return format!("{}.orders FINAL", self.db);
        }
        format!(
            "(SELECT * FROM {db}.orders FINAL WHERE site = {{site:String}} AND sid IN
                 (SELECT sid FROM {db}.sessions FINAL WHERE site = {{site:String}}{seg}))",
            db = self.db,
            seg = segment.sql("")
        )
    }

    pub(super) async fn kpis(&self, site: &str, range: Range, segment: Segment) -> Result<query::Kpis, StoreError> {
        let p = || range_params(site, range);
        let sessions = self.sessions_in(segment);
        let totals = self
            .rows(
                &format!(
                    "SELECT count(), uniqExact(aid), uniqExactIf(aid, new_visitor = 1), sum(page_views),
                         sum(duration_ms), sum(engaged), sum(converted), sum(added_to_cart),
                         countIf(added_to_cart = 1 AND converted = 0), sum(began_checkout),
                         countIf(began_checkout = 1 AND converted = 0) FROM {sessions}"
                ),
                p(),
            )
            .await?;
        let mut parts = query::KpiParts::default();
        if let Some(row) = totals.first() {
            for (i, t) in parts.totals.iter_mut().enumerate() {
                *t = int(row, i);
            }
        }
        for r in self
            .rows(&format!("SELECT src_kind, device, count(), sum(converted) FROM {sessions} GROUP BY 1, 2"), p())
            .await?
        {
            parts.count(&text(&r, 0), &text(&r, 1), int(&r, 2), int(&r, 3));
        }
        let orders = self.orders_of(segment);
        let in_range = "site = {site:String} AND ts >= {from:Int64} AND ts < {to:Int64}";
        parts.currencies = self
            .rows(
                &format!(
                    "SELECT currency, count(), sum(value), uniqExact(customer) FROM {orders} WHERE {in_range}
                     GROUP BY currency ORDER BY currency"
                ),
                p(),
            )
            .await?
            .iter()
            .map(|r| (text(r, 0), int(r, 1), int(r, 2), int(r, 3)))
            .collect();
        // A segment's customers are those with an order in the range from its sessions; whether one
        // is new or repeat is read from all their orders.
        let customers = self
            .rows(
                &format!(
                    "SELECT countIf(first >= {{from:Int64}}), count(), countIf(n >= 2) FROM
                         (SELECT customer, min(ts) AS first, count() AS n FROM {db}.orders FINAL
                          WHERE site = {{site:String}} AND ts < {{to:Int64}}
                              AND customer IN (SELECT customer FROM {orders} WHERE {in_range})
                          GROUP BY customer)",
                    db = self.db
                ),
                p(),
            )
            .await?;
        if let Some(r) = customers.first() {
            parts.customers = (int(r, 0), int(r, 1), int(r, 2));
        }
        parts.orders_per_day = self
            .rows(
                &format!(
                    "SELECT {} AS day, count() FROM {orders} WHERE {in_range} GROUP BY day ORDER BY day",
                    utc_day("ts")
                ),
                p(),
            )
            .await?
            .iter()
            .map(|r| query::DayCount { day: text(r, 0), orders: int(r, 1) })
            .collect();
        Ok(parts.finish())
    }

    pub(super) async fn funnel(
        &self,
        site: &str,
        range: Range,
        q: query::FunnelQuery,
        segment: Segment,
    ) -> Result<query::Funnel, StoreError> {
        let mut params = range_params(site, range);
        let mut sessions = self.sessions_in(segment);
        if let Some((key, idx)) = &q.variant {
            sessions.push_str(" AND JSONHas(exp, {vkey:String}) AND JSONExtractInt(exp, {vkey:String}) = {vidx:Int64}");
            params.push(("vkey", escape(key)));
            params.push(("vidx", idx.to_string()));
        }
        if q.steps.is_empty() {
            let n = query::DEFAULT_STEPS.len();
            let mut sql = String::from("SELECT count()");
            for i in 0..n {
                sql.push_str(&format!(
                    ", countIf(closed_index >= {i}), sum(bitAnd(bitShiftRight(reached_mask, {i}), 1))"
                ));
            }
            sql.push_str(" FROM ");
            sql.push_str(&sessions);
            let rows = self.rows(&sql, params).await?;
            let row = rows.first().cloned().unwrap_or_default();
            let closed = (0..n).map(|i| int(&row, 1 + 2 * i)).collect();
            let open = (0..n).map(|i| int(&row, 2 + 2 * i)).collect();
            let names = query::DEFAULT_STEPS.iter().map(|s| (*s).to_owned()).collect();
            return Ok(query::finish(names, closed, open, int(&row, 0)));
        }
        // Custom steps, matched in ClickHouse with the SDK's rule: each session's event names in
        // (ts, seq) order are folded through the steps greedily (`arrayFold`: the next step is
        // reached by the first event of its name after the one before), so only one row comes
        // back. (`windowFunnel` was tried: it counts a repeated step, `a, a`, wrong.) The open
        // funnel is whether each step's event occurs at all. `tests/clickhouse.rs` checks both
        // against the SQLite store's matcher on random sessions.
        let steps: Vec<String> = q.steps.iter().map(|s| funnelcake_core::event::canonical_name(s).to_owned()).collect();
        if steps.len() > STEP_PARAMS.len() {
            return Err(StoreError(format!("a funnel has at most {} steps, not {}", STEP_PARAMS.len(), steps.len())));
        }
        let names: Vec<&str> = steps.iter().map(String::as_str).collect();
        params.push(("steps", array(&names)));
        let mut reached = String::new();
        let mut counts = String::new();
        for (i, step) in steps.iter().enumerate() {
            let p = STEP_PARAMS[i];
            params.push((p, escape(step)));
            reached.push_str(&format!(", max(type = {{{p}:String}}) AS r{i}"));
            counts.push_str(&format!(", countIf(level > {i}), sum(r{i})"));
        }
        let sql = format!(
            "SELECT (SELECT count() FROM {sessions}){counts} FROM
                 (SELECT arrayFold((done, name) -> if(done < length({{steps:Array(String)}})
                              AND name = {{steps:Array(String)}}[done + 1], done + 1, done),
                          arrayMap(e -> e.3, arraySort(e -> (e.1, e.2), groupArray((ts, seq, type)))),
                          toUInt64(0)) AS level
                      {reached}
                  FROM {db}.events FINAL
                  WHERE site = {{site:String}} AND type != 'session_summary' AND sid IN (SELECT sid FROM {sessions})
                  GROUP BY sid)",
            db = self.db
        );
        let rows = self.rows(&sql, params).await?;
        let row = rows.first().cloned().unwrap_or_default();
        let closed = (0..steps.len()).map(|i| int(&row, 1 + 2 * i)).collect();
        let open = (0..steps.len()).map(|i| int(&row, 2 + 2 * i)).collect();
        Ok(query::finish(q.steps.clone(), closed, open, int(&row, 0)))
    }

    pub(super) async fn experiments(
        &self,
        site: &str,
        range: Range,
        key: Option<String>,
        weights: Option<Vec<f64>>,
        segment: Segment,
    ) -> Result<Vec<query::ExperimentResult>, StoreError> {
        let sessions = self.sessions_in(segment);
        let keys = match key {
            Some(k) => vec![k],
            None => self
                .rows(
                    &format!(
                        "SELECT DISTINCT arrayJoin(JSONExtractKeys(exp)) AS k FROM {sessions} AND exp != '' ORDER BY k"
                    ),
                    range_params(site, range),
                )
                .await?
                .iter()
                .map(|r| text(r, 0))
                .collect(),
        };
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let mut params = range_params(site, range);
            params.push(("key", escape(&key)));
            let mut counts = Vec::new();
            for r in self
                .rows(
                    &format!(
                        "SELECT JSONExtractInt(exp, {{key:String}}) AS v, count(), sum(converted) FROM {sessions}
                         AND JSONHas(exp, {{key:String}}) GROUP BY v ORDER BY v"
                    ),
                    params.clone(),
                )
                .await?
            {
                query::count_variation(&mut counts, int(&r, 0), int(&r, 1), int(&r, 2));
            }
            let money: Vec<(i64, String, i64, i64)> = self
                .rows(
                    &format!(
                        "SELECT JSONExtractInt(s.exp, {{key:String}}) AS v, o.currency, count(), sum(o.value)
                         FROM {db}.orders AS o FINAL
                         INNER JOIN (SELECT sid, exp FROM {sessions} AND JSONHas(exp, {{key:String}})) AS s ON s.sid = o.sid
                         WHERE o.site = {{site:String}} GROUP BY v, o.currency ORDER BY v, o.currency",
                        db = self.db
                    ),
                    params,
                )
                .await?
                .iter()
                .map(|r| (int(r, 0), text(r, 1), int(r, 2), int(r, 3)))
                .collect();
            results.push(query::experiment_result(&key, &counts, &money, weights.as_deref()));
        }
        Ok(results)
    }
}

/// Parameter names of funnel steps (a parameter name is `'static`).
pub(super) const STEP_PARAMS: [&str; 32] = [
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "s12", "s13", "s14", "s15", "s16", "s17",
    "s18", "s19", "s20", "s21", "s22", "s23", "s24", "s25", "s26", "s27", "s28", "s29", "s30", "s31",
];

/// The parameters `site`, `from` and `to`.
pub(super) fn range_params(site: &str, range: Range) -> Params {
    vec![("site", escape(site)), ("from", range.from.to_string()), ("to", range.to.to_string())]
}
