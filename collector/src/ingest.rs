//! `POST /v1/batch` and the dev-mode `GET /v1/sites/{site}/events`.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use funnelcake_core::wire::decode_batch;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::store::{StoredEvent, Tally};
use crate::{useragent, AppState};

/// Largest request body accepted, bytes (compressed or not).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Largest body after gunzip, bytes.
pub const MAX_INFLATED_BYTES: usize = 4 << 20;
/// Most events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 500;
/// Largest single event (its wire JSON), bytes: the core's limit, which the SDK drops by too
/// (`too_large`), so the two cannot disagree.
pub use funnelcake_core::tracker::MAX_EVENT_BYTES;

/// Query string of `POST /v1/batch`.
#[derive(Debug, Default, Deserialize)]
pub struct BatchQuery {
    /// `gzip` when the body is gzip-compressed (avoids a CORS-preflighted header).
    pub enc: Option<String>,
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(format!("body exceeds {MAX_BODY_BYTES} bytes")))
        }
        Err(_) => Err(ApiError::bad_request("unreadable_body", "request body could not be read")),
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    let mut reader = flate2::read::GzDecoder::new(bytes).take(MAX_INFLATED_BYTES as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|_| ApiError::bad_request("invalid_gzip", "body is marked gzip but is not valid gzip"))?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(ApiError::too_large(format!("body inflates beyond {MAX_INFLATED_BYTES} bytes")));
    }
    Ok(out)
}

/// Handles `POST /v1/batch`.
///
/// 200 `{"accepted":n,"duplicates":d,"rejected":[{"index":i,"reason":"…"}]}` (every event of a
/// known crawler or audit tool rejected as `bot`, unless `--keep-bots`); 400 names what is
/// wrong with the body; 403 for a site not accepted here; 413 for oversize; 503 when storage is
/// unavailable (nothing stored, the client retries).
pub async fn post_batch(
    State(state): State<AppState>,
    Query(q): Query<BatchQuery>,
    req: Request,
) -> Result<Json<JsonValue>, ApiError> {
    let received_at = (state.clock)();
    let ip = req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
    if let Some(ip) = &ip {
        state.limits.ip.take(ip, 1.0, received_at).map_err(|s| ApiError::rate_limited("client IP", s))?;
    }
    let (parts, body) = req.into_parts();
    let headers: HeaderMap = parts.headers;
    let raw = read_body(body).await?;
    let gzip = q.enc.as_deref() == Some("gzip")
        || headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let bytes = if gzip { gunzip(&raw)? } else { raw.to_vec() };
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request("invalid_body", "body is not UTF-8"))?;
    let batch = decode_batch(text).map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?;
    if !state.settings.site_allowed(&batch.site) {
        return Err(ApiError::forbidden_site(&batch.site));
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ApiError::too_large(format!(
            "batch has {} events; at most {MAX_EVENTS_PER_BATCH} are accepted",
            batch.events.len()
        )));
    }
    state
        .limits
        .site
        .take(&batch.site, batch.events.len() as f64, received_at)
        .map_err(|s| ApiError::rate_limited("site", s))?;
    let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let (ua_family, device) = useragent::reduce(ua);
    // A crawler's or audit tool's visit is not a shopper's: answered, not stored (`--keep-bots`).
    let bot = device == "bot" && !state.settings.keep_bots;
    let skew = received_at - batch.sent_at;
    let mut rejected = Vec::new();
    let mut rows = Vec::new();
    let mut bots = 0;
    for (index, ev) in batch.events.into_iter().enumerate() {
        match ev {
            Ok(_) if bot => {
                bots += 1;
                rejected.push(json!({"index": index, "reason": "bot"}));
            }
            Ok(event) if event.encoded_len() > MAX_EVENT_BYTES => {
                rejected.push(json!({"index": index, "reason": format!("event exceeds {MAX_EVENT_BYTES} bytes")}));
            }
            Ok(mut event) => rows.push(StoredEvent {
                site: batch.site.clone(),
                // No event happened after it arrived: a `sent_at` behind the events' own times
                // (a clock set back between recording and sending, or a forged batch) would
                // otherwise date them in the future.
                ts: event.ts.saturating_add(skew).clamp(0, received_at),
                event: {
                    // Before the cut, which could leave part of an address unrecognised.
                    if !state.settings.keep_emails {
                        crate::redact::redact_event(&mut event);
                    }
                    truncate_strings(&mut event);
                    event
                },
                received_at,
                ua_family,
                device,
            }),
            Err(e) => rejected.push(json!({"index": index, "reason": e.to_string()})),
        }
    }
    let tally = Tally {
        site: batch.site.clone(),
        received_at,
        rejected: rejected.len() as i64 - bots,
        bots,
        // A crawler's own losses are not the site's.
        client_dropped: if bot { 0 } else { batch.dropped as i64 },
    };
    let inserted = state.store.insert_batch(rows, tally).await?;
    let accepted = inserted.iter().filter(|new| **new).count();
    let duplicates = inserted.len() - accepted;
    if batch.dropped > 0 {
        tracing::info!(site = %batch.site, dropped = batch.dropped, "client reported dropped events");
    }
    Ok(Json(json!({ "accepted": accepted, "duplicates": duplicates, "rejected": rejected })))
}

pub use funnelcake_core::wire::{MAX_TITLE_CHARS, MAX_URL_CHARS};
/// Longest string property value kept, characters.
pub const MAX_PROP_CHARS: usize = 1024;

/// `s` cut to its first `max` characters (the core's `first_chars`, as the SDK cuts the page).
fn truncate(s: &mut String, max: usize) {
    let keep = funnelcake_core::text::first_chars(s, max).len();
    s.truncate(keep);
}

fn truncate_value(v: &mut funnelcake_core::json::Value) {
    use funnelcake_core::json::Value;
    match v {
        Value::Str(s) => truncate(s, MAX_PROP_CHARS),
        Value::Arr(items) => items.iter_mut().for_each(truncate_value),
        Value::Obj(members) => members.iter_mut().for_each(|(_, v)| truncate_value(v)),
        _ => {}
    }
}

/// Cuts long strings to the documented lengths (URL/referrer 2048, title/order/name 512, user id
/// 256, property values 1024 characters).
pub fn truncate_strings(e: &mut funnelcake_core::wire::Event) {
    truncate(&mut e.url, MAX_URL_CHARS);
    if let Some(r) = &mut e.referrer {
        truncate(r, MAX_URL_CHARS);
    }
    for s in [&mut e.title, &mut e.order].into_iter().flatten() {
        truncate(s, MAX_TITLE_CHARS);
    }
    // The SDK cuts a user id at the field limit; other senders get the same.
    if let Some(u) = &mut e.uid {
        truncate(u, funnelcake_core::event::MAX_FIELD_CHARS);
    }
    truncate(&mut e.t, MAX_TITLE_CHARS);
    e.props.iter_mut().for_each(|(_, v)| truncate_value(v));
}

/// Query of the events endpoint.
#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    /// Most events returned (default 100, at most 10000).
    pub limit: Option<usize>,
}

/// The dev-only endpoints' prelude: 404 outside `--dev`, else the row limit (default 100, at
/// most 10000).
fn dev_limit(state: &AppState, q: &EventsQuery, what: &str) -> Result<usize, ApiError> {
    if !state.settings.dev {
        return Err(ApiError::not_found(what));
    }
    Ok(q.limit.unwrap_or(100).clamp(1, 10_000))
}

/// Handles `GET /v1/sites/{site}/events?limit=N` (dev mode only): stored events, newest first,
/// in wire form plus `received_at` and the skew-corrected `ts_corrected`.
pub async fn get_events(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let limit = dev_limit(&state, &q, "the raw events endpoint (enabled by --dev)")?;
    let events = state.store.recent_events(&site, limit).await?;
    let list: Vec<JsonValue> = events
        .iter()
        .filter_map(|s| {
            let mut text = String::new();
            s.event.write_to(&mut text);
            let mut v: JsonValue = serde_json::from_str(&text).ok()?;
            if let Some(obj) = v.as_object_mut() {
                obj.insert("received_at".into(), json!(s.received_at));
                obj.insert("ts_corrected".into(), json!(s.ts));
                obj.insert("ua".into(), json!({"family": s.ua_family, "device": s.device}));
            }
            Some(v)
        })
        .collect();
    Ok(Json(json!({ "site": site, "events": list })))
}

/// Handles `GET /v1/sites/{site}/sessions?limit=N` (dev mode only): the latest summary of each
/// session (highest `seq`), most recent first.
pub async fn get_sessions(
    State(state): State<AppState>,
    Path(site): Path<String>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<JsonValue>, ApiError> {
    let limit = dev_limit(&state, &q, "the raw sessions endpoint (enabled by --dev)")?;
    let rows = state.store.sessions(&site, limit).await?;
    let list: Vec<JsonValue> = rows
        .iter()
        .map(|r| {
            json!({
                "sid": r.sid, "aid": r.aid, "seq": r.seq, "ts": r.ts, "final": r.final_,
                "summary": serde_json::from_str::<JsonValue>(&r.summary).unwrap_or(JsonValue::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "site": site, "sessions": list })))
}
