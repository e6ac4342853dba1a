//! The read API: KPIs, funnels and the live stream, behind a Bearer read token (open in
//! `--dev`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::query::{FunnelQuery, Range, Segment, DEVICES, SOURCE_KINDS};
use crate::AppState;

const DAY_MS: i64 = 86_400_000;

/// Query parameters shared by the read endpoints.
#[derive(Debug, Default, Deserialize)]
pub struct ReadQuery {
    /// Range start, epoch ms (default: 30 days before `to`).
    pub from: Option<i64>,
    /// Range end (exclusive), epoch ms (default: now).
    pub to: Option<i64>,
    /// Funnel steps, comma-separated event names (default: the default funnel).
    pub steps: Option<String>,
    /// Experiment variation filter, `key:index`.
    pub variant: Option<String>,
    /// The read token, for clients that cannot send headers (`EventSource`).
    pub token: Option<String>,
    /// Expected split of an experiment, comma-separated weights (default equal).
    pub weights: Option<String>,
    /// Only sessions from this traffic-source kind (`paid_search`, …; default all).
    pub source: Option<String>,
    /// Only sessions on this device class (`desktop`, `mobile`, `tablet`; default all).
    pub device: Option<String>,
    /// Most rows of a list (landing pages, campaigns: default 10, at most 100).
    pub limit: Option<usize>,
}

impl ReadQuery {
    /// Rows of a list asked for: `limit`, default 10, at most 100.
    fn list_limit(&self) -> usize {
        self.limit.unwrap_or(10).clamp(1, 100)
    }
}

/// The sessions a read counts, from `source` and `device`.
fn segment(q: &ReadQuery) -> Result<Segment, ApiError> {
    Segment::parse(q.source.as_deref(), q.device.as_deref()).map_err(|name| {
        let known = if name == "source" { &SOURCE_KINDS[..] } else { &DEVICES[..] };
        ApiError::bad_request(
            if name == "source" { "invalid_source" } else { "invalid_device" },
            format!("`{name}` must be one of {}", known.join(", ")),
        )
    })
}

fn weights(q: &ReadQuery) -> Result<Option<Vec<f64>>, ApiError> {
    let Some(text) = q.weights.as_deref().filter(|w| !w.is_empty()) else { return Ok(None) };
    let w: Result<Vec<f64>, _> = text.split(',').map(|x| x.trim().parse::<f64>()).collect();
    match w {
        Ok(w) if w.iter().all(|x| x.is_finite() && *x >= 0.0) && w.iter().sum::<f64>() > 0.0 => Ok(Some(w)),
        _ => Err(ApiError::bad_request(
            "invalid_weights",
            "`weights` must be comma-separated non-negative numbers, not all zero",
        )),
    }
}

/// `GET /v1/sites/{site}/experiments/{key}?from&to&weights&source&device`: per-variation results of one
/// experiment (METRICS.md, "Experiment results").
pub async fn get_experiment(
    State(state): State<AppState>,
    Path((site, key)): Path<(String, String)>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let w = weights(&q)?;
    let mut results = state.store.experiments(&site, r, Some(key), w, seg).await?;
    let result = results.pop();
    Ok(ranged(&site, r, "experiment", json!(result)))
}

/// `GET /v1/sites/{site}/experiments?from&to&source&device`: results of every experiment seen in the range.
pub async fn get_experiments(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let results = state.store.experiments(&site, r, None, None, seg).await?;
    Ok(ranged(&site, r, "experiments", json!(results)))
}

/// The answer of a ranged read: `{site, from, to, <key>: value}`.
fn ranged(site: &str, r: Range, key: &str, value: JsonValue) -> Json<JsonValue> {
    let mut body = json!({ "site": site, "from": r.from, "to": r.to });
    body[key] = value;
    Json(body)
}

/// Checks the Bearer token (or `?token=`), unless the collector runs with `--dev`.
pub fn authorize(state: &AppState, headers: &HeaderMap, query_token: Option<&str>) -> Result<(), ApiError> {
    if state.settings.dev {
        return Ok(());
    }
    let Some(expected) = state.settings.read_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(ApiError::unauthorized());
    };
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let given = header_token.or(query_token).unwrap_or("");
    // Compare without an early exit on the first differing byte.
    let same = given.len() == expected.len()
        && given.bytes().zip(expected.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::unauthorized())
    }
}

/// What every segmented read handler does first: check the token, then resolve the range and
/// the segment (`source`, `device`).
fn admit(state: &AppState, headers: &HeaderMap, q: &ReadQuery) -> Result<(Range, Segment), ApiError> {
    authorize(state, headers, q.token.as_deref())?;
    Ok((range(state, q)?, segment(q)?))
}

fn range(state: &AppState, q: &ReadQuery) -> Result<Range, ApiError> {
    let to = q.to.unwrap_or_else(|| (state.clock)() + 1);
    let from = q.from.unwrap_or(to - 30 * DAY_MS);
    if from >= to {
        return Err(ApiError::bad_request("invalid_range", "`from` must be before `to`"));
    }
    Ok(Range { from, to })
}

fn funnel_query(q: &ReadQuery) -> Result<FunnelQuery, ApiError> {
    let steps: Vec<String> = q
        .steps
        .as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if steps.len() > 20 {
        return Err(ApiError::bad_request("invalid_steps", "at most 20 funnel steps"));
    }
    let variant = match q.variant.as_deref() {
        None | Some("") => None,
        Some(v) => {
            let (key, idx) = v
                .rsplit_once(':')
                .ok_or_else(|| ApiError::bad_request("invalid_variant", "`variant` must be `key:index`"))?;
            let idx = idx
                .parse::<i64>()
                .map_err(|_| ApiError::bad_request("invalid_variant", "`variant` index must be an integer"))?;
            Some((key.to_owned(), idx))
        }
    };
    Ok(FunnelQuery { steps, variant })
}

/// `GET /v1/sites/{site}/metrics?from&to&source&device`: the KPIs (METRICS.md, "Collector KPIs").
pub async fn get_metrics(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let kpis = state.store.kpis(&site, r, seg).await?;
    Ok(ranged(&site, r, "kpis", json!(kpis)))
}

/// `GET /v1/sites/{site}/funnel?from&to&steps&variant&source&device`: closed and open counts per step.
pub async fn get_funnel(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let fq = funnel_query(&q)?;
    let funnel = state.store.funnel(&site, r, fq, seg).await?;
    Ok(ranged(&site, r, "funnel", json!(funnel)))
}

/// `GET /v1/sites/{site}/pages?from&to&source&device&limit`: landing pages (without tracking parameters)
/// with their sessions and conversions, most sessions first.
pub async fn get_pages(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let pages = state.store.landing_pages(&site, r, seg, q.list_limit()).await?;
    Ok(ranged(&site, r, "landing_pages", json!(pages)))
}

/// `GET /v1/sites/{site}/campaigns?from&to&source&device&limit`: sessions, conversions and
/// revenue per traffic source, medium and campaign, most sessions first.
pub async fn get_campaigns(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let campaigns = state.store.campaigns(&site, r, seg, q.list_limit()).await?;
    Ok(ranged(&site, r, "campaigns", json!(campaigns)))
}

/// `GET /v1/sites/{site}/daily?from&to&source&device`: sessions, conversions, orders and revenue
/// per UTC day.
pub async fn get_daily(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    let (r, seg) = admit(&state, &headers, &q)?;
    let days = state.store.daily(&site, r, seg).await?;
    Ok(ranged(&site, r, "days", json!(days)))
}

/// `GET /v1/sites/{site}/ingest?from&to`: delivery counts per UTC day of receipt (batches,
/// events stored, repeated, rejected, from bots, and dropped in browsers), with their totals.
pub async fn get_ingest(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<JsonValue>, ApiError> {
    authorize(&state, &headers, q.token.as_deref())?;
    let r = range(&state, &q)?;
    let ingest = state.store.ingest(&site, r).await?;
    Ok(ranged(&site, r, "ingest", json!(ingest)))
}

/// `GET /v1/sites/{site}/live`: Server-Sent Events, one `live` event per second with active
/// sessions (last 5 minutes) and today's default funnel.
pub async fn get_live(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    authorize(&state, &headers, q.token.as_deref())?;
    let stream = stream::unfold((state, site, true), |(mut state, site, first)| async move {
        if *state.shutdown.borrow() {
            return None;
        }
        if !first {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = state.shutdown.changed() => return None,
            }
        }
        let now = (state.clock)();
        let event = match state.store.live(&site, now).await {
            Ok(live) => Event::default().event("live").json_data(&live).unwrap_or_else(|_| Event::default()),
            Err(_) => Event::default().event("error").data("storage unavailable"),
        };
        Some((Ok(event), (state, site, false)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
