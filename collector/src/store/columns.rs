//! The columns each store keeps of an event and of a session's summary, read from the wire
//! event once, so SQLite and ClickHouse store the same values.

use funnelcake_core::json::{self, Value};
use funnelcake_core::wire::{self, Event};

use super::StoredEvent;

/// Columns extracted from a `session_summary` for fast KPI and funnel queries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SummaryColumns {
    /// `final`: the summary sent when the session ended.
    pub final_: bool,
    /// `started_at`, corrected for the browser's clock as the summary's event time was.
    pub started_at: i64,
    /// `duration_ms`.
    pub duration_ms: i64,
    /// `page_views`.
    pub page_views: i64,
    /// `engaged`.
    pub engaged: bool,
    /// `new_visitor`.
    pub new_visitor: bool,
    /// `converted`.
    pub converted: bool,
    /// `cart_abandoned`.
    pub cart_abandoned: bool,
    /// `checkout_abandoned`.
    pub checkout_abandoned: bool,
    /// The default funnel's `add_to_cart` step was reached (any order).
    pub added_to_cart: bool,
    /// The default funnel's `begin_checkout` step was reached (any order).
    pub began_checkout: bool,
    /// Closed-funnel progress: the last default-funnel step completed in order, -1 for none.
    /// The browser's `furthest_index`, except for a session that converted by skipping steps
    /// (`skipped_steps`), whose furthest step is the last one: there it is the longest prefix of
    /// reached steps with non-decreasing first timestamps.
    pub closed_index: i64,
    /// Bit *i* set when default-funnel step *i* was reached in any order (open funnel).
    pub reached_mask: i64,
    /// `source.kind`.
    pub src_kind: String,
    /// `experiments` as JSON text, if any.
    pub exp: Option<String>,
    /// `landing_page` without its tracking parameters ([`landing_key`]).
    pub landing_page: String,
    /// `source.source`, `source.medium` and `source.campaign` (empty when absent).
    pub campaign: [String; 3],
}

impl SummaryColumns {
    /// Reads the columns from a stored summary's props (snake_case snapshot); missing fields
    /// default. `started_at` gets the clock correction the summary's own time got
    /// (`received_at − sent_at`, as every event time), so a session is counted on the
    /// collector's clock like its events and orders.
    pub fn of(s: &StoredEvent) -> SummaryColumns {
        let skew = s.ts.saturating_sub(s.event.ts);
        let v = Value::Obj(s.event.props.to_vec());
        let b = |k: &str| matches!(v.get(k), Some(Value::Bool(true)));
        let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let funnel = v.get("funnel");
        let steps = funnel.and_then(|f| f.get("steps")).and_then(Value::as_array).unwrap_or(&[]);
        let reached_at = |i: usize| steps.get(i).and_then(|s| s.get("reached_at")).and_then(Value::as_i64);
        let reached = |i: usize| reached_at(i).is_some();
        let furthest = funnel.and_then(|f| f.get("furthest_index")).and_then(Value::as_i64).unwrap_or(-1);
        let skipped = matches!(funnel.and_then(|f| f.get("skipped_steps")), Some(Value::Bool(true)));
        let closed_index = if skipped {
            let mut last = i64::MIN;
            let mut idx = -1;
            for i in 0..steps.len() {
                match reached_at(i) {
                    Some(t) if t >= last => {
                        last = t;
                        idx = i as i64;
                    }
                    _ => break,
                }
            }
            idx
        } else {
            furthest
        };
        let reached_mask = (0..steps.len().min(62)).filter(|i| reached(*i)).fold(0i64, |m, i| m | (1 << i));
        let exp = v.get("experiments").filter(|e| e.as_object().is_some_and(|o| !o.is_empty())).map(Value::to_json);
        SummaryColumns {
            final_: b("final"),
            started_at: match n("started_at") {
                0 => 0,
                t => t.saturating_add(skew),
            },
            duration_ms: n("duration_ms"),
            page_views: n("page_views"),
            engaged: b("engaged"),
            new_visitor: b("new_visitor"),
            converted: b("converted"),
            cart_abandoned: b("cart_abandoned"),
            checkout_abandoned: b("checkout_abandoned"),
            added_to_cart: reached(2),
            began_checkout: reached(3),
            closed_index,
            reached_mask,
            src_kind: v
                .get("source")
                .and_then(|s| s.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or("direct")
                .to_owned(),
            exp,
            landing_page: v.get("landing_page").and_then(Value::as_str).map(landing_key).unwrap_or_default(),
            campaign: campaign_of(v.get("source")),
        }
    }
}

/// Query parameters that say how a visitor arrived, not which page it is: campaign tags and
/// ad-click ids (GA4, Google Ads, Meta, Microsoft, TikTok, X, LinkedIn, Mailchimp, Yandex,
/// Instagram, GA's cross-domain linker) and the SDK's own forced-variation parameter, separated
/// by spaces. Names ending in `_` are prefixes.
const TRACKING_PARAMS: &str =
    "utm_ fc_exp_ gclid gclsrc gbraid wbraid dclid fbclid msclkid ttclid twclid li_fat_id mc_cid mc_eid yclid igshid _gl";

/// A summary's `source` as (source, medium, campaign), empty where absent. A source the SDK
/// classified from an ad click id alone (`gclid`: no source, medium or campaign) gets its kind
/// (`paid_search`) as the medium, so its sessions are listed among the campaigns.
pub(super) fn campaign_of(source: Option<&Value>) -> [String; 3] {
    let field = |k: &str| source.and_then(|s| s.get(k)).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut c = ["source", "medium", "campaign"].map(field);
    let kind = field("kind");
    if c.iter().all(String::is_empty) && !kind.is_empty() && kind != "direct" {
        c[1] = kind;
    }
    c
}

/// A page address without its tracking parameters (`utm_*`, ad-click ids such as `gclid`: the
/// list is `TRACKING_PARAMS`), so that one page reached from many campaigns is one landing page,
/// while parameters that pick the page (a product id) stay.
///
/// ```
/// use funnelcake_collector::store::landing_key;
/// assert_eq!(landing_key("/p?id=7&utm_source=x&GCLID=y"), "/p?id=7");
/// assert_eq!(landing_key("/?utm_medium=email&fc_exp_btn=1"), "/");
/// assert_eq!(landing_key("/search?q=utm_source&gbraid=1&page=2"), "/search?q=utm_source&page=2");
/// assert_eq!(landing_key("/cart"), "/cart");
/// ```
pub fn landing_key(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else { return url.to_owned() };
    let tracking = |param: &str| {
        let name = param.split('=').next().unwrap_or("").to_ascii_lowercase();
        TRACKING_PARAMS.split(' ').any(|t| if t.ends_with('_') { name.starts_with(t) } else { name == t })
    };
    let kept: Vec<&str> = query.split('&').filter(|p| !p.is_empty() && !tracking(p)).collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

pub(super) fn obj_json(members: &[(String, Value)]) -> Option<String> {
    if members.is_empty() {
        None
    } else {
        Some(Value::Obj(members.to_vec()).to_json())
    }
}

/// Writes the parts of an event stored as JSON text, in wire form.
fn part_json(e: &Event, key: &str) -> Option<String> {
    let mut wire = String::new();
    e.write_to(&mut wire);
    let v = json::parse(&wire).ok()?;
    v.get(key).map(Value::to_json)
}

/// A stored event's columns, as every store keeps them (named as the columns are): the wire
/// event's fields, its props as a JSON object, its items, experiments and source in wire form,
/// and what the collector added.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EventColumns {
    /// Site id.
    pub site: String,
    /// Event id.
    pub id: String,
    /// Event name.
    pub r#type: String,
    /// Skew-corrected time, epoch ms.
    pub ts: i64,
    /// The client's time, epoch ms.
    pub client_ts: i64,
    /// Server receive time, epoch ms.
    pub received_at: i64,
    /// Session id.
    pub sid: String,
    /// Anonymous id.
    pub aid: String,
    /// User id.
    pub uid: Option<String>,
    /// Sequence number in the session.
    pub seq: i64,
    /// Page address.
    pub url: String,
    /// Referrer.
    pub referrer: Option<String>,
    /// Page title.
    pub title: Option<String>,
    /// Properties, a JSON object (none when empty).
    pub props: Option<String>,
    /// Items in wire form (none when empty).
    pub items: Option<String>,
    /// Value, minor units.
    pub value: Option<i64>,
    /// ISO 4217 currency.
    pub currency: Option<String>,
    /// Order id.
    pub order_id: Option<String>,
    /// Experiments in wire form (none when empty).
    pub exp: Option<String>,
    /// Traffic source in wire form.
    pub src: Option<String>,
    /// Browser family.
    pub ua_family: Option<String>,
    /// Device class.
    pub device: Option<String>,
}

impl EventColumns {
    /// The columns of a stored event.
    pub fn of(s: &StoredEvent) -> EventColumns {
        let e = &s.event;
        EventColumns {
            site: s.site.clone(),
            id: e.id.clone(),
            r#type: e.t.clone(),
            ts: s.ts,
            client_ts: e.ts,
            received_at: s.received_at,
            sid: e.sid.clone(),
            aid: e.aid.clone(),
            uid: e.uid.clone(),
            seq: e.seq as i64,
            url: e.url.clone(),
            referrer: e.referrer.clone(),
            title: e.title.clone(),
            props: obj_json(&e.props),
            items: if e.items.is_empty() { None } else { part_json(e, "items") },
            value: e.value,
            currency: e.cur.clone(),
            order_id: e.order.clone(),
            exp: if e.exp.is_empty() { None } else { part_json(e, "exp") },
            src: e.src.as_ref().and_then(|_| part_json(e, "src")),
            ua_family: Some(s.ua_family.to_owned()),
            device: Some(s.device.to_owned()),
        }
    }

    /// The stored event back (items, experiments and source through the wire decoder; an
    /// unknown browser family or device is `Other`).
    pub fn into_stored(self) -> StoredEvent {
        let parse = |s: Option<String>| s.and_then(|s| json::parse(&s).ok());
        let props = parse(self.props).and_then(|v| v.as_object().map(<[_]>::to_vec)).unwrap_or_default();
        let mut event = Event {
            id: self.id,
            t: self.r#type,
            ts: self.client_ts,
            sid: self.sid,
            aid: self.aid,
            uid: self.uid,
            seq: self.seq as u64,
            url: self.url,
            referrer: self.referrer,
            title: self.title,
            props,
            value: self.value,
            cur: self.currency,
            order: self.order_id,
            ..Event::default()
        };
        if let Some(v) = parse(self.items) {
            event.items = wire::decode_items(&v, "items").unwrap_or_default();
        }
        if let Some(v) = parse(self.exp) {
            event.exp = wire::decode_exp(&v, "exp").unwrap_or_default();
        }
        if let Some(v) = parse(self.src) {
            event.src = wire::decode_source(&v, "src").ok();
        }
        let intern = |s: Option<String>, options: &[&'static str]| -> &'static str {
            s.and_then(|s| options.iter().find(|o| **o == s).copied()).unwrap_or("Other")
        };
        StoredEvent {
            site: self.site,
            event,
            ts: self.ts,
            received_at: self.received_at,
            ua_family: intern(
                self.ua_family,
                &["Chrome", "Edge", "Firefox", "Safari", "Opera", "Samsung Internet", "Bot", "Other"],
            ),
            device: intern(self.device, &["desktop", "mobile", "tablet", "bot"]),
        }
    }
}
