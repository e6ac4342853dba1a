//! Wire format v1: the one definition of what the SDK sends and the collector accepts.
//!
//! `POST /v1/batch` carries `{"v":1,"site":…,"sent_at":…,"dropped":…,"events":[…]}` (DESIGN.md §9).
//! [`Batch::encode`] writes it (the SDK); [`decode_batch`] reads it (the collector), reporting
//! envelope problems as one [`WireError`] and event problems per event, so a batch can be
//! partially accepted. Golden files in `fixtures/` pin the exact bytes.
//!
//! Encoding omits absent optional fields and empty collections to save bytes; decoding accepts
//! them missing or `null`. Money is integer minor units throughout.

use crate::json::{self, write_int, write_str, Value};

/// The wire format version this module reads and writes.
pub const WIRE_VERSION: i64 = 1;

/// Longest page URL and referrer kept, characters: the SDK cuts the page's to this before it
/// records them, the collector cuts what arrives.
pub const MAX_URL_CHARS: usize = 2048;
/// Longest page title (the SDK's and the collector's cut, as for URLs), order id and event name
/// (the collector's) kept, characters.
pub const MAX_TITLE_CHARS: usize = 512;

/// One batch of events as sent to `POST /v1/batch`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Site id the events belong to.
    pub site: String,
    /// Client clock (epoch ms) when the batch was sent; the collector corrects skew with it.
    pub sent_at: i64,
    /// Events the client dropped (queue overflow, bad input) since the last delivered batch.
    pub dropped: u64,
    /// The events.
    pub events: Vec<Event>,
}

/// One event on the wire.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    /// Random 128-bit id as 32 lowercase hex characters; a retried event keeps it.
    pub id: String,
    /// Event type: a canonical name such as `page_view` or a custom name.
    pub t: String,
    /// Client time of the event, epoch ms.
    pub ts: i64,
    /// Session id.
    pub sid: String,
    /// Anonymous (device) id.
    pub aid: String,
    /// User id set by `identify`, if any.
    pub uid: Option<String>,
    /// Per-session sequence number, starting at 1.
    pub seq: u64,
    /// Page path and query at the time of the event.
    pub url: String,
    /// Referrer, if any.
    pub referrer: Option<String>,
    /// Page title, if any.
    pub title: Option<String>,
    /// Free-form properties (a JSON object's members).
    pub props: Vec<(String, Value)>,
    /// Items of an e-commerce event.
    pub items: Vec<Item>,
    /// Value in minor units of `cur`.
    pub value: Option<i64>,
    /// ISO 4217 currency code of `value` and item prices.
    pub cur: Option<String>,
    /// Order id of a purchase or refund.
    pub order: Option<String>,
    /// Active experiment assignments: key → variation index.
    pub exp: Vec<(String, u32)>,
    /// Traffic source of the session.
    pub src: Option<Source>,
}

/// A product line in an e-commerce event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item {
    /// Product id (SKU).
    pub id: String,
    /// Product name.
    pub name: Option<String>,
    /// Brand.
    pub brand: Option<String>,
    /// Category path, at most five levels.
    pub cat: Vec<String>,
    /// Variant (size, colour, …).
    pub variant: Option<String>,
    /// Unit price in minor units.
    pub price: Option<i64>,
    /// Quantity (≥ 1 once normalised).
    pub qty: i64,
    /// Discount per unit in minor units.
    pub discount: Option<i64>,
    /// Coupon code.
    pub coupon: Option<String>,
    /// Name of the list the item was shown in.
    pub list: Option<String>,
    /// Position in that list.
    pub pos: Option<i64>,
}

/// Where a session came from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    /// `direct`, `organic_search`, `paid_search`, `social`, `email` or `referral`.
    pub kind: String,
    /// utm_source or the referring host.
    pub source: Option<String>,
    /// utm_medium.
    pub medium: Option<String>,
    /// utm_campaign.
    pub campaign: Option<String>,
    /// utm_term.
    pub term: Option<String>,
    /// utm_content.
    pub content: Option<String>,
}

/// A problem with part of a batch: where it is (`events[3].ts`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Path of the offending field, e.g. `events[3].ts`; empty for the whole body.
    pub path: String,
    /// What is wrong, e.g. `expected an integer`.
    pub problem: &'static str,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.path.is_empty() {
            f.write_str(self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for WireError {}

/// A decoded batch: the envelope, and each event or the reason it was rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedBatch {
    /// Site id.
    pub site: String,
    /// Client send time, epoch ms.
    pub sent_at: i64,
    /// Client-side drop count carried by this batch.
    pub dropped: u64,
    /// Events in batch order; a rejected event keeps its index.
    pub events: Vec<Result<Event, WireError>>,
}

/// Writes a batch from events already encoded as wire JSON (the SDK's queue holds them so).
///
/// ```
/// use funnelcake_core::wire::{encode_batch_raw, Batch, Event};
/// let e = Event { id: "0".repeat(32), t: "x".into(), ..Event::default() };
/// let mut raw = String::new();
/// e.write_to(&mut raw);
/// let b = Batch { site: "s".into(), sent_at: 5, dropped: 1, events: vec![e] };
/// assert_eq!(encode_batch_raw("s", 5, 1, &[&raw]), b.encode());
/// ```
pub fn encode_batch_raw(site: &str, sent_at: i64, dropped: u64, events: &[&str]) -> String {
    let mut len = 64;
    for e in events {
        len += e.len() + 1;
    }
    let mut out = String::with_capacity(len);
    out.push_str("{\"v\":1,\"site\":");
    write_str(&mut out, site);
    out.push_str(",\"sent_at\":");
    write_int(&mut out, sent_at);
    out.push_str(",\"dropped\":");
    write_int(&mut out, dropped as i64);
    out.push_str(",\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(e);
    }
    out.push_str("]}");
    out
}

impl Batch {
    /// Writes the batch as wire-format JSON.
    ///
    /// ```
    /// use funnelcake_core::wire::{Batch, Event};
    /// let b = Batch { site: "s".into(), sent_at: 5, dropped: 0, events: vec![] };
    /// assert_eq!(b.encode(), r#"{"v":1,"site":"s","sent_at":5,"dropped":0,"events":[]}"#);
    /// ```
    pub fn encode(&self) -> String {
        let events: Vec<String> = self
            .events
            .iter()
            .map(|e| {
                let mut text = String::new();
                e.write_to(&mut text);
                text
            })
            .collect();
        let refs: Vec<&str> = events.iter().map(String::as_str).collect();
        encode_batch_raw(&self.site, self.sent_at, self.dropped, &refs)
    }
}

/// Writes `,"key":` then the string.
fn field_str(out: &mut String, key: &str, v: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    write_str(out, v);
}

fn field_opt_str(out: &mut String, key: &str, v: &Option<String>) {
    if let Some(v) = v {
        field_str(out, key, v);
    }
}

fn field_int(out: &mut String, key: &str, v: i64) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
    write_int(out, v);
}

impl Event {
    /// Appends this event's wire JSON to `out`.
    pub fn write_to(&self, out: &mut String) {
        self.write_with(out, None, None, None);
    }

    /// [`Event::write_to`], with `props` (JSON text of an object) written as it is in place of
    /// `self.props` when given (the session summary's metrics snapshot, which the wasm writes
    /// as text and has no parser to read back into values), and `exp` and `src` in place of
    /// `self.exp` and `self.src` (the session's experiments and traffic source, which the
    /// tracker writes from where they are instead of copying them into every event).
    pub fn write_with(
        &self,
        out: &mut String,
        props: Option<&str>,
        exp: Option<&[(String, u32)]>,
        src: Option<&Source>,
    ) {
        out.push_str("{\"id\":");
        write_str(out, &self.id);
        field_str(out, "t", &self.t);
        field_int(out, "ts", self.ts);
        field_str(out, "sid", &self.sid);
        field_str(out, "aid", &self.aid);
        field_opt_str(out, "uid", &self.uid);
        field_int(out, "seq", self.seq as i64);
        field_str(out, "url", &self.url);
        field_opt_str(out, "ref", &self.referrer);
        field_opt_str(out, "title", &self.title);
        if let Some(text) = props {
            out.push_str(",\"props\":");
            out.push_str(text);
        } else if !self.props.is_empty() {
            out.push_str(",\"props\":");
            crate::json::write_object(out, &self.props);
        }
        if !self.items.is_empty() {
            out.push_str(",\"items\":[");
            for (i, item) in self.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                item.write_to(out);
            }
            out.push(']');
        }
        if let Some(v) = self.value {
            field_int(out, "value", v);
        }
        field_opt_str(out, "cur", &self.cur);
        field_opt_str(out, "order", &self.order);
        let exp = exp.unwrap_or(&self.exp);
        if !exp.is_empty() {
            out.push_str(",\"exp\":{");
            for (i, (k, v)) in exp.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_int(out, i64::from(*v));
            }
            out.push('}');
        }
        if let Some(src) = src.or(self.src.as_ref()) {
            out.push_str(",\"src\":{\"kind\":");
            write_str(out, &src.kind);
            field_opt_str(out, "source", &src.source);
            field_opt_str(out, "medium", &src.medium);
            field_opt_str(out, "campaign", &src.campaign);
            field_opt_str(out, "term", &src.term);
            field_opt_str(out, "content", &src.content);
            out.push('}');
        }
        out.push('}');
    }

    /// Byte length of this event's wire JSON.
    pub fn encoded_len(&self) -> usize {
        let mut s = String::new();
        self.write_to(&mut s);
        s.len()
    }
}

impl Item {
    fn write_to(&self, out: &mut String) {
        out.push_str("{\"id\":");
        write_str(out, &self.id);
        field_opt_str(out, "name", &self.name);
        field_opt_str(out, "brand", &self.brand);
        if !self.cat.is_empty() {
            out.push_str(",\"cat\":[");
            for (i, c) in self.cat.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, c);
            }
            out.push(']');
        }
        field_opt_str(out, "variant", &self.variant);
        if let Some(p) = self.price {
            field_int(out, "price", p);
        }
        field_int(out, "qty", self.qty);
        if let Some(d) = self.discount {
            field_int(out, "discount", d);
        }
        field_opt_str(out, "coupon", &self.coupon);
        field_opt_str(out, "list", &self.list);
        if let Some(p) = self.pos {
            field_int(out, "pos", p);
        }
        out.push('}');
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

const EXPECTED_OBJECT: &str = "expected an object";
const EXPECTED_STRING: &str = "expected a string";
const EXPECTED_INTEGER: &str = "expected an integer";
const EXPECTED_ARRAY: &str = "expected an array";
const MISSING: &str = "missing required field";

/// Field reader over one JSON object, producing path-qualified errors.
struct Fields<'a> {
    obj: &'a Value,
    path: &'a str,
}

impl<'a> Fields<'a> {
    fn err(&self, key: &str, problem: &'static str) -> WireError {
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{}", self.path, key) };
        WireError { path, problem }
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<String, WireError> {
        match self.present(key) {
            Some(Value::Str(s)) => Ok(s.clone()),
            Some(_) => Err(self.err(key, EXPECTED_STRING)),
            None => Err(self.err(key, MISSING)),
        }
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, WireError> {
        match self.present(key) {
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(key, EXPECTED_STRING)),
            None => Ok(None),
        }
    }

    fn int(&self, key: &str) -> Result<i64, WireError> {
        match self.present(key) {
            Some(v) => v.as_i64().ok_or_else(|| self.err(key, EXPECTED_INTEGER)),
            None => Err(self.err(key, MISSING)),
        }
    }

    fn opt_int(&self, key: &str) -> Result<Option<i64>, WireError> {
        match self.present(key) {
            Some(v) => v.as_i64().map(Some).ok_or_else(|| self.err(key, EXPECTED_INTEGER)),
            None => Ok(None),
        }
    }
}

/// Decodes a wire-format batch from JSON text.
///
/// An unreadable body or a bad envelope is an `Err`; each event decodes on its own, so one bad
/// event does not sink the others.
///
/// ```
/// use funnelcake_core::wire::decode_batch;
/// let b = decode_batch(r#"{"v":1,"site":"s","sent_at":1,"dropped":0,"events":[{"t":"x"}]}"#).unwrap();
/// assert_eq!(b.events[0].as_ref().unwrap_err().to_string(), "events[0].id: missing required field");
/// assert_eq!(decode_batch("{}").unwrap_err().to_string(), "v: missing required field");
/// ```
pub fn decode_batch(text: &str) -> Result<DecodedBatch, WireError> {
    let root = json::parse(text).map_err(|e| WireError { path: String::new(), problem: json_problem(e) })?;
    if root.as_object().is_none() {
        return Err(WireError { path: String::new(), problem: "body must be a JSON object" });
    }
    let f = Fields { obj: &root, path: "" };
    if f.int("v")? != WIRE_VERSION {
        return Err(f.err("v", "unsupported wire version (expected 1)"));
    }
    let site = f.string("site")?;
    if !is_site_id(&site) {
        return Err(f.err("site", SITE_PROBLEM));
    }
    let sent_at = f.int("sent_at")?;
    let dropped = match f.opt_int("dropped")? {
        Some(n) if n < 0 => return Err(f.err("dropped", "must not be negative")),
        Some(n) => n as u64,
        None => 0,
    };
    let events = match f.present("events") {
        Some(Value::Arr(list)) => list,
        Some(_) => return Err(f.err("events", EXPECTED_ARRAY)),
        None => return Err(f.err("events", MISSING)),
    };
    let events = events.iter().enumerate().map(|(i, v)| decode_event(v, &format!("events[{i}]"))).collect();
    Ok(DecodedBatch { site, sent_at, dropped, events })
}

fn json_problem(e: json::JsonError) -> &'static str {
    match e {
        json::JsonError::UnexpectedEnd => "body is not valid JSON: unexpected end",
        json::JsonError::TooDeep { .. } => "body is nested too deeply",
        json::JsonError::TrailingCharacters { .. } => "body is not valid JSON: trailing characters",
        _ => "body is not valid JSON",
    }
}

/// Largest item quantity (the SDK drops an item with more, as it does one with none).
pub const MAX_QUANTITY: i64 = 1_000_000_000;

/// Longest site id, characters.
pub const MAX_SITE_CHARS: usize = 128;

/// What is wrong with a site id [`is_site_id`] refuses.
pub const SITE_PROBLEM: &str = "must be 1 to 128 characters, none of them an ASCII control character";

/// `true` for a site id the collector stores: 1 to [`MAX_SITE_CHARS`] characters, none of them an
/// ASCII control character (the id names the site's rows, its storage keys and its URLs).
///
/// ```
/// use funnelcake_core::wire::is_site_id;
/// assert!(is_site_id("shop-1") && is_site_id("Boutique Élise"));
/// assert!(!is_site_id("") && !is_site_id("shop\n1") && !is_site_id(&"s".repeat(129)));
/// ```
pub fn is_site_id(s: &str) -> bool {
    !s.is_empty()
        && crate::text::chars_len(s, MAX_SITE_CHARS) == s.len()
        && crate::text::all_bytes(s, |b| b >= b' ' && b != 0x7f)
}

/// `true` for a currency code as the SDK sends it: three upper-case ASCII letters (a code not in
/// ISO 4217 is kept, and flagged by the SDK; a lower-case one is not how the SDK writes any).
pub fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && crate::text::all_bytes(s, |b| b.is_ascii_uppercase())
}

/// `true` for a 32-character lowercase hex id.
pub fn is_event_id(s: &str) -> bool {
    s.len() == 32 && crate::text::all_bytes(s, |b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Decodes one event object; `path` prefixes error paths (e.g. `events[3]`).
pub fn decode_event(v: &Value, path: &str) -> Result<Event, WireError> {
    if v.as_object().is_none() {
        return Err(WireError { path: path.to_owned(), problem: EXPECTED_OBJECT });
    }
    let f = Fields { obj: v, path };
    let id = f.string("id")?;
    if !is_event_id(&id) {
        return Err(f.err("id", "must be 32 lowercase hex characters"));
    }
    let t = f.string("t")?;
    if t.is_empty() {
        return Err(f.err("t", "must not be empty"));
    }
    let seq = f.int("seq")?;
    if seq < 0 {
        return Err(f.err("seq", "must not be negative"));
    }
    let props = match f.present("props") {
        Some(Value::Obj(m)) => m.clone(),
        Some(_) => return Err(f.err("props", EXPECTED_OBJECT)),
        None => Vec::new(),
    };
    let items = match f.present("items") {
        Some(v) => decode_items(v, &format!("{path}.items"))?,
        None => Vec::new(),
    };
    let exp = match f.present("exp") {
        Some(v) => decode_exp(v, &format!("{path}.exp"))?,
        None => Vec::new(),
    };
    let src = match f.present("src") {
        Some(v) => Some(decode_source(v, &format!("{path}.src"))?),
        None => None,
    };
    let cur = f.opt_string("cur")?;
    if cur.as_deref().is_some_and(|c| !is_currency_code(c)) {
        return Err(f.err("cur", "must be a three-letter upper-case currency code"));
    }
    // The session and visitor ids group events into sessions and visitors: an empty one would
    // join unrelated visits, a control character would break the rows' exports. The SDK's are
    // 32 hex characters; other senders get the site id's rule.
    let visit_id = |key: &str| {
        let id = f.string(key)?;
        if is_site_id(&id) {
            Ok(id)
        } else {
            Err(f.err(key, SITE_PROBLEM))
        }
    };
    Ok(Event {
        id,
        t,
        ts: f.int("ts")?,
        sid: visit_id("sid")?,
        aid: visit_id("aid")?,
        uid: f.opt_string("uid")?,
        seq: seq as u64,
        url: f.opt_string("url")?.unwrap_or_default(),
        referrer: f.opt_string("ref")?,
        title: f.opt_string("title")?,
        props,
        items,
        value: f.opt_int("value")?,
        cur,
        order: f.opt_string("order")?,
        exp,
        src,
    })
}

/// Decodes an `items` array; `path` names it in errors (e.g. `events[0].items`).
pub fn decode_items(v: &Value, path: &str) -> Result<Vec<Item>, WireError> {
    match v {
        Value::Arr(list) => list.iter().enumerate().map(|(i, it)| decode_item(it, &format!("{path}[{i}]"))).collect(),
        _ => Err(WireError { path: path.to_owned(), problem: EXPECTED_ARRAY }),
    }
}

/// Decodes an `exp` object (experiment key → variation index).
pub fn decode_exp(v: &Value, path: &str) -> Result<Vec<(String, u32)>, WireError> {
    let Value::Obj(members) = v else { return Err(WireError { path: path.to_owned(), problem: EXPECTED_OBJECT }) };
    members
        .iter()
        .map(|(k, v)| match v.as_i64() {
            Some(n) if (0..=i64::from(u32::MAX)).contains(&n) => Ok((k.clone(), n as u32)),
            _ => Err(WireError { path: format!("{path}.{k}"), problem: "variation must be a non-negative integer" }),
        })
        .collect()
}

/// Decodes a `src` object.
pub fn decode_source(v: &Value, path: &str) -> Result<Source, WireError> {
    if v.as_object().is_none() {
        return Err(WireError { path: path.to_owned(), problem: EXPECTED_OBJECT });
    }
    let f = Fields { obj: v, path };
    Ok(Source {
        kind: f.string("kind")?,
        source: f.opt_string("source")?,
        medium: f.opt_string("medium")?,
        campaign: f.opt_string("campaign")?,
        term: f.opt_string("term")?,
        content: f.opt_string("content")?,
    })
}

fn decode_item(v: &Value, path: &str) -> Result<Item, WireError> {
    if v.as_object().is_none() {
        return Err(WireError { path: path.to_owned(), problem: EXPECTED_OBJECT });
    }
    let f = Fields { obj: v, path };
    let cat = match f.present("cat") {
        Some(Value::Arr(list)) => list
            .iter()
            .map(|c| c.as_str().map(str::to_owned).ok_or_else(|| f.err("cat", EXPECTED_STRING)))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(f.err("cat", EXPECTED_ARRAY)),
        None => Vec::new(),
    };
    // The bounds the SDK keeps (a cart line of -3 would take other lines' units away).
    let non_negative = |key: &str| match f.opt_int(key)? {
        Some(n) if n < 0 => Err(f.err(key, "must not be negative")),
        n => Ok(n),
    };
    let qty = match f.opt_int("qty")? {
        Some(n) if !(1..=MAX_QUANTITY).contains(&n) => {
            return Err(f.err("qty", "must be a whole number from 1 to 10^9"))
        }
        n => n.unwrap_or(1),
    };
    Ok(Item {
        id: f.string("id")?,
        name: f.opt_string("name")?,
        brand: f.opt_string("brand")?,
        cat,
        variant: f.opt_string("variant")?,
        price: non_negative("price")?,
        qty,
        discount: non_negative("discount")?,
        coupon: f.opt_string("coupon")?,
        list: f.opt_string("list")?,
        pos: non_negative("pos")?,
    })
}
