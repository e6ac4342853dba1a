//! Canonical events: naming, item and money normalisation, validation.
//!
//! [`normalize`] turns what a page passed (`track(name, props)`, an e-commerce helper, a mapped
//! dataLayer push) into the canonical form of DESIGN.md §5: GA4 event names, items with integer
//! prices, a value in minor units with its currency, and an order id. When the meaning is clear
//! it repairs input (numeric strings, `quantity` missing → 1, Segment and Shopify names and
//! field spellings); otherwise it rejects the event with a [`DropReason`] that is counted.

use crate::currency::{self, NO_CURRENCY};
use crate::json::Value;
use crate::money::{self, MoneyError};
use crate::text::{listed, words};
use crate::wire::Item;

/// Most items kept on one event.
pub const MAX_ITEMS: usize = 200;
/// Longest event name accepted, characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest string kept in an item field, characters (longer ones are truncated).
pub const MAX_FIELD_CHARS: usize = 256;

/// Why an event was not recorded. Each is counted in `metrics().dropped.byReason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// No event name, or not a string.
    MissingName,
    /// Name longer than [`MAX_NAME_CHARS`].
    InvalidName,
    /// An item without id or name, or not an object.
    InvalidItem,
    /// A quantity that is not a positive whole number (NaN, negative, zero, fractional, text).
    InvalidQuantity,
    /// A price or discount that is not a non-negative amount.
    InvalidPrice,
    /// A value that is not an amount.
    InvalidValue,
    /// More than [`MAX_ITEMS`] items.
    TooManyItems,
    /// A purchase or refund without an order id.
    MissingOrderId,
    /// A purchase whose order id was already recorded (e.g. a thank-you page reload).
    DuplicateOrder,
    /// The encoded event is larger than the collector accepts.
    TooLarge,
    /// Dropped from a full queue (oldest first).
    QueueOverflow,
    /// The collector rejected the batch for good (4xx).
    Rejected,
    /// Gave up after `maxAttempts` attempts or 24 hours.
    Expired,
    /// Discarded because consent was denied.
    ConsentDenied,
}

impl DropReason {
    /// The stable snake_case name used in metrics and docs. Not inlined: where `api::record`
    /// inlined it, the wasm held the names twice, each copy with its own lookup table.
    #[inline(never)]
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::MissingName => "missing_name",
            DropReason::InvalidName => "invalid_name",
            DropReason::InvalidItem => "invalid_item",
            DropReason::InvalidQuantity => "invalid_quantity",
            DropReason::InvalidPrice => "invalid_price",
            DropReason::InvalidValue => "invalid_value",
            DropReason::TooManyItems => "too_many_items",
            DropReason::MissingOrderId => "missing_order_id",
            DropReason::DuplicateOrder => "duplicate_order",
            DropReason::TooLarge => "too_large",
            DropReason::QueueOverflow => "queue_overflow",
            DropReason::Rejected => "rejected",
            DropReason::Expired => "expired",
            DropReason::ConsentDenied => "consent_denied",
        }
    }

    /// Every reason, in a stable order.
    pub const ALL: [DropReason; 14] = [
        DropReason::MissingName,
        DropReason::InvalidName,
        DropReason::InvalidItem,
        DropReason::InvalidQuantity,
        DropReason::InvalidPrice,
        DropReason::InvalidValue,
        DropReason::TooManyItems,
        DropReason::MissingOrderId,
        DropReason::DuplicateOrder,
        DropReason::TooLarge,
        DropReason::QueueOverflow,
        DropReason::Rejected,
        DropReason::Expired,
        DropReason::ConsentDenied,
    ];

    /// Parses [`DropReason::as_str`] back.
    pub fn parse(s: &str) -> Option<DropReason> {
        DropReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Flag put in `props._flags` when a value came without a currency (summed under `XXX`).
pub const FLAG_MISSING_CURRENCY: &str = "missing_currency";
/// Flag put in `props._flags` when the currency code is not in the ISO 4217 table.
pub const FLAG_UNKNOWN_CURRENCY: &str = "unknown_currency";

/// A validated canonical event, ready for the tracker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// Canonical (or custom) event name.
    pub t: String,
    /// Remaining properties.
    pub props: Vec<(String, Value)>,
    /// Items, prices in minor units.
    pub items: Vec<Item>,
    /// Value in minor units of `cur`.
    pub value: Option<i64>,
    /// Currency of `value` and the item prices.
    pub cur: Option<String>,
    /// Order id (purchase, refund).
    pub order: Option<String>,
}

/// Maps Segment spec and Shopify Web Pixels names to GA4 names; other names pass through.
///
/// ```
/// use funnelcake_core::event::canonical_name;
/// assert_eq!(canonical_name("Order Completed"), "purchase");
/// assert_eq!(canonical_name("product_added_to_cart"), "add_to_cart");
/// assert_eq!(canonical_name("add_to_cart"), "add_to_cart");
/// assert_eq!(canonical_name("Newsletter Signup"), "Newsletter Signup");
/// ```
pub fn canonical_name(name: &str) -> &str {
    name_aliases().find(|(alias, _)| *alias == name).map_or(name, |(_, canon)| canon)
}

/// Segment and Shopify Web Pixels event names → canonical (GA4) names, as `alias=canonical;`
/// rows of one string (a slice of `&str` pairs costs 16 bytes of pointers per row in the wasm):
/// Segment e-commerce spec v2 first, then Shopify Web Pixels standard events.
/// `core/tests/events.rs` checks every row.
pub const NAME_ALIASES: &str = "\
    Products Searched=search;\
    Product List Viewed=view_item_list;\
    Product Clicked=select_item;\
    Product Viewed=view_item;\
    Product Added=add_to_cart;\
    Product Removed=remove_from_cart;\
    Product Added to Wishlist=add_to_wishlist;\
    Cart Viewed=view_cart;\
    Checkout Started=begin_checkout;\
    Payment Info Entered=add_payment_info;\
    Order Completed=purchase;\
    Order Refunded=refund;\
    Promotion Viewed=view_promotion;\
    Promotion Clicked=select_promotion;\
    Experiment Viewed=experiment_viewed;\
    page_viewed=page_view;\
    search_submitted=search;\
    collection_viewed=view_item_list;\
    product_viewed=view_item;\
    product_added_to_cart=add_to_cart;\
    product_removed_from_cart=remove_from_cart;\
    cart_viewed=view_cart;\
    checkout_started=begin_checkout;\
    checkout_contact_info_submitted=checkout_contact;\
    checkout_address_info_submitted=add_shipping_info;\
    checkout_shipping_info_submitted=add_shipping_info;\
    payment_info_submitted=add_payment_info;\
    checkout_completed=purchase";

/// The rows of [`NAME_ALIASES`]: `(alias, canonical)`.
pub fn name_aliases() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::text::split_bytes(NAME_ALIASES, b';').filter_map(|row| crate::text::split_at_byte(row, b'='))
}

/// The canonical event for a checkout step given by name or number (`checkoutStep(step)`,
/// Segment "Checkout Step Completed", UA `actionField.step`): 1/contact → `checkout_contact`,
/// 2/shipping → `add_shipping_info`, 3/payment → `add_payment_info`; `None` otherwise.
///
/// ```
/// use funnelcake_core::{event::checkout_step_event, json::Value};
/// assert_eq!(checkout_step_event(&Value::Str("shipping".into())), Some("add_shipping_info"));
/// assert_eq!(checkout_step_event(&Value::Num(3.0)), Some("add_payment_info"));
/// assert_eq!(checkout_step_event(&Value::Str("gift-wrap".into())), None);
/// ```
pub fn checkout_step_event(step: &Value) -> Option<&'static str> {
    let n = match step {
        Value::Num(n) => *n,
        Value::Str(s) => match crate::text::ascii_cased(s.trim_ascii(), false).as_str() {
            "contact" | "email" | "information" | "info" => 1.0,
            "shipping" | "address" | "delivery" => 2.0,
            "payment" | "billing" => 3.0,
            other => crate::json::parse_number(other).unwrap_or(0.0),
        },
        _ => return None,
    };
    match n as i64 {
        1 => Some("checkout_contact"),
        2 => Some("add_shipping_info"),
        3 => Some("add_payment_info"),
        _ => None,
    }
}

/// Events whose top-level properties describe one product when they carry no `items` list
/// (`viewItem(item)`, Segment "Product Added").
fn is_item_event(t: &str) -> bool {
    matches!(t, "view_item" | "add_to_cart" | "remove_from_cart" | "select_item" | "add_to_wishlist")
}

/// Property keys consumed by normalisation (not copied into `props`). The lists each field is
/// read from (in order of preference) are runs of these two, taken by [`within`], so the wasm
/// holds each key once. `user_id` (GA4's, beside an event's parameters) is the `uid` that
/// `identify` sets, never a property: as one it would be sent while a privacy signal is
/// honoured.
const CONSUMED: &str = "items products lineItems value total revenue currency currencyCode transaction_id \
    order_id orderId user_id";
const ITEM_KEYS: &str = "item_id id product_id productId sku item_name name title item_brand brand category \
    item_category item_category2 item_category3 item_category4 item_category5 item_variant variant \
    item_list_name list index position quantity qty price discount coupon";
const LIST_KEYS: &str = within(CONSUMED, "items products lineItems");
const VALUE_KEYS: &str = within(CONSUMED, "value total revenue");
const CURRENCY_KEYS: &str = within(CONSUMED, "currency currencyCode");
const ORDER_KEYS: &str = within(CONSUMED, "transaction_id order_id orderId");
const ID_KEYS: &str = within(ITEM_KEYS, "item_id id product_id productId sku");
/// What makes an item event's own properties its one item: an id or a name.
const ID_OR_NAME_KEYS: &str = within(ITEM_KEYS, "item_id id product_id productId sku item_name name");
const NAME_KEYS: &str = within(ITEM_KEYS, "item_name name title");

/// `part`, whole words of `all`, as a slice of `all`: found at compile time (a build error if
/// it is not there).
const fn within(all: &'static str, part: &str) -> &'static str {
    let (a, p) = (all.as_bytes(), part.as_bytes());
    let mut i = 0;
    while i + p.len() <= a.len() {
        let mut j = 0;
        while j < p.len() && a[i + j] == p[j] {
            j += 1;
        }
        let end = i + p.len();
        if j == p.len() && (i == 0 || a[i - 1] == b' ') && (end == a.len() || a[end] == b' ') {
            // (Bytes, then text: `str::split_at` is `const` only after the crate's MSRV.)
            if let Ok(s) = core::str::from_utf8(a.split_at(i).1.split_at(p.len()).0) {
                return s;
            }
        }
        i += 1;
    }
    panic!("a key list is not words of the list it is taken from");
}

/// Money-valued properties converted to minor units when present.
const MONEY_PROPS: &str = "tax shipping discount";

/// The first non-null property among the space-separated `list` of keys, in list order.
fn first<'a>(props: &'a [(String, Value)], list: &str) -> Option<&'a Value> {
    words(list).find_map(|k| props.iter().find(|(pk, v)| pk == k && !v.is_null()).map(|(_, v)| v))
}

fn text(v: Option<&Value>) -> Option<String> {
    let mut written = String::new();
    let s = match v? {
        Value::Str(s) => s,
        Value::Num(n) if n.is_finite() => {
            crate::json::write_num(&mut written, *n);
            &written
        }
        _ => return None,
    };
    clipped(s)
}

/// `s` trimmed of ASCII whitespace and cut to [`MAX_FIELD_CHARS`] characters; `None` when
/// nothing is left.
fn clipped(s: &str) -> Option<String> {
    let s = s.trim_ascii();
    if s.is_empty() {
        None
    } else {
        Some(crate::text::first_chars(s, MAX_FIELD_CHARS).to_owned())
    }
}

/// An amount that may be a number, a numeric string or a Shopify `{amount, currencyCode}`.
fn amount_of(v: &Value) -> &Value {
    v.get("amount").unwrap_or(v)
}

fn currency_of(v: Option<&Value>) -> Option<String> {
    let v = v?;
    let code = match v {
        Value::Str(s) => crate::text::ascii_cased(s.trim_ascii(), true),
        _ => return None,
    };
    if code.len() == 3 && crate::text::all_bytes(&code, |b| b.is_ascii_alphabetic()) {
        Some(code)
    } else {
        None
    }
}

fn non_negative(r: Result<i64, MoneyError>, reason: DropReason) -> Result<i64, DropReason> {
    match r {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(reason),
    }
}

fn quantity(v: Option<&Value>) -> Result<i64, DropReason> {
    let Some(v) = v else { return Ok(1) };
    let n = match v {
        Value::Num(n) => *n,
        Value::Str(s) => crate::json::parse_number(s.trim_ascii()).ok_or(DropReason::InvalidQuantity)?,
        _ => return Err(DropReason::InvalidQuantity),
    };
    if n.is_finite() && n >= 1.0 && n.fract() == 0.0 && n <= crate::wire::MAX_QUANTITY as f64 {
        Ok(n as i64)
    } else {
        Err(DropReason::InvalidQuantity)
    }
}

fn parse_item(v: &Value, exponent: u32) -> Result<Item, DropReason> {
    let Value::Obj(p) = v else { return Err(DropReason::InvalidItem) };
    item_of(p, exponent)
}

/// An item from its members: an item object's, or a single-item event's own properties (every
/// key read here is one of [`ITEM_KEYS`], so the event's other properties are not seen).
fn item_of(p: &[(String, Value)], exponent: u32) -> Result<Item, DropReason> {
    let id = text(first(p, ID_KEYS));
    let name = text(first(p, NAME_KEYS));
    let id = id.or_else(|| name.clone()).ok_or(DropReason::InvalidItem)?;
    let money = |list: &str| -> Result<Option<i64>, DropReason> {
        match first(p, list) {
            Some(v) => non_negative(money::to_minor(amount_of(v), exponent), DropReason::InvalidPrice).map(Some),
            None => Ok(None),
        }
    };
    // Checked before anything else is copied: an error then has less to drop (smaller wasm).
    let price = money("price")?;
    let qty = quantity(first(p, const { within(ITEM_KEYS, "quantity qty") }))?;
    let discount = money("discount")?;
    // UA-style "Apparel/Men/Shirts" is a path of levels (a string without `/` is one level); at
    // most five levels, as GA4 has (the bound checked at each push: a `truncate` was code of its
    // own).
    let mut cat: Vec<String> = Vec::new();
    let mut level = |c: Option<String>| {
        if let Some(c) = c.filter(|_| cat.len() < 5) {
            cat.push(c);
        }
    };
    match first(p, const { within(ITEM_KEYS, "category item_category") }) {
        Some(Value::Arr(list)) => {
            for c in list {
                level(text(Some(c)));
            }
        }
        Some(Value::Str(s)) => {
            for c in crate::text::split_bytes(s, b'/') {
                level(clipped(c));
            }
        }
        other => level(text(other)),
    }
    for key in crate::text::words("item_category2 item_category3 item_category4 item_category5") {
        level(text(first(p, key)));
    }
    Ok(Item {
        id,
        name,
        brand: text(first(p, const { within(ITEM_KEYS, "item_brand brand") })),
        cat,
        variant: text(first(p, const { within(ITEM_KEYS, "item_variant variant") })),
        price,
        qty,
        discount,
        coupon: text(first(p, const { within(ITEM_KEYS, "coupon") })),
        list: text(first(p, const { within(ITEM_KEYS, "item_list_name list") })),
        // A position past 10^9 is left out (as a bad one is): the wire's integers stop at 2^53,
        // and an event with a larger one was rejected by the collector.
        pos: match first(p, const { within(ITEM_KEYS, "index position") }).and_then(Value::as_f64) {
            Some(n) if n >= 0.0 && n <= 1e9 => Some(n as i64),
            _ => None,
        },
    })
}

/// The currency an event is in: its own field, else an item price's `currencyCode`, else the
/// configured default.
fn event_currency(
    props: &[(String, Value)],
    items: Option<&Value>,
    single: bool,
    default: Option<&str>,
) -> Option<String> {
    let price_currency = |price: Option<&Value>| currency_of(price.and_then(|p| p.get("currencyCode")));
    currency_of(first(props, CURRENCY_KEYS))
        .or_else(|| match items {
            Some(Value::Arr(list)) => list.iter().find_map(|i| price_currency(i.get("price"))),
            Some(one) => price_currency(one.get("price")),
            None if single => price_currency(first(props, "price")),
            None => None,
        })
        .or_else(|| currency_of(first(props, VALUE_KEYS).and_then(|v| v.get("currencyCode"))))
        .or_else(|| default.map(str::to_owned))
}

/// Normalises one event. `default_currency` is the config's `currency`.
///
/// ```
/// use funnelcake_core::{event::normalize, json::parse};
/// let props = parse(r#"{"currency":"usd","items":[{"item_id":"SKU-1","price":"19.99","quantity":"2"}]}"#).unwrap();
/// let e = normalize("Product Added", props.as_object().unwrap().to_vec(), None).unwrap();
/// assert_eq!((e.t.as_str(), e.value, e.cur.as_deref()), ("add_to_cart", Some(3998), Some("USD")));
/// assert_eq!((e.items[0].price, e.items[0].qty), (Some(1999), 2));
/// ```
pub fn normalize(
    name: &str,
    props: Vec<(String, Value)>,
    default_currency: Option<&str>,
) -> Result<Normalized, DropReason> {
    let name = name.trim_ascii();
    if name.is_empty() {
        return Err(DropReason::MissingName);
    }
    if crate::text::chars_len(name, MAX_NAME_CHARS) < name.len() {
        return Err(DropReason::InvalidName);
    }
    let t = canonical_name(name).to_owned();
    // The `_flags` list, made as the values it is sent as (a `Vec<&str>` converted afterwards
    // was a `push` and a loop of its own in the wasm).
    let mut flags: Vec<Value> = Vec::new();

    let list = first(&props, LIST_KEYS);
    // An item event without a list describes its one item in its own properties.
    let single = list.is_none() && is_item_event(&t) && first(&props, ID_OR_NAME_KEYS).is_some();
    let cur = event_currency(&props, list, single, default_currency);
    let (cur_code, exponent) = match &cur {
        Some(code) => match currency::exponent(code) {
            Some(e) => (code.clone(), e),
            None => {
                flags.push(Value::Str(FLAG_UNKNOWN_CURRENCY.into()));
                (code.clone(), 2)
            }
        },
        None => (NO_CURRENCY.to_owned(), 2),
    };

    let items: Vec<Item> = match (list, single) {
        (Some(Value::Arr(list)), _) => {
            if list.len() > MAX_ITEMS {
                return Err(DropReason::TooManyItems);
            }
            let mut items = Vec::with_capacity(list.len());
            for v in list {
                items.push(parse_item(v, exponent)?);
            }
            items
        }
        (Some(_), _) => return Err(DropReason::InvalidItem),
        (None, true) => vec![item_of(&props, exponent)?],
        (None, false) => Vec::new(),
    };

    let explicit_value = match first(&props, VALUE_KEYS) {
        Some(v) => Some(money::to_minor(amount_of(v), exponent).map_err(|_| DropReason::InvalidValue)?),
        None => None,
    };
    // The items' total, when any has a price (a plain loop: a `map(..).sum()` was its own
    // iterator code in the wasm).
    let mut derived: Option<i64> = None;
    for i in &items {
        if let Some(price) = i.price {
            let line = money::times((price - i.discount.unwrap_or(0)).max(0), i.qty);
            derived = Some(derived.unwrap_or(0).saturating_add(line));
        }
    }
    // A derived total past `MAX_MINOR` (a huge quantity of a dear item) is refused as a given
    // value that large is: the wire's integers stop at 2^53, and the collector rejected the event.
    if explicit_value.is_none() && derived.is_some_and(|d| d > money::MAX_MINOR) {
        return Err(DropReason::InvalidValue);
    }
    let value = explicit_value.or(derived);
    let has_money = value.is_some() || derived.is_some();
    if has_money && cur.is_none() {
        flags.push(Value::Str(FLAG_MISSING_CURRENCY.into()));
    }

    let order = text(first(&props, ORDER_KEYS));
    if matches!(t.as_str(), "purchase" | "refund") && order.is_none() {
        return Err(DropReason::MissingOrderId);
    }

    // A search's query, under whichever name it came, is sent as `search_term`. Consumed keys
    // are removed and money properties converted in one pass, by index (a `retain` was an
    // instantiation of its own per closure).
    const SEARCH_KEYS: &str = "search_term query q";
    let query = if t == "search" { text(first(&props, SEARCH_KEYS)) } else { None };
    let mut rest = props;
    let mut i = 0;
    while let Some((k, v)) = rest.get_mut(i) {
        let consumed_by_item = single && listed(ITEM_KEYS, k);
        if listed(CONSUMED, k) || consumed_by_item || (query.is_some() && listed(SEARCH_KEYS, k)) {
            rest.remove(i);
            continue;
        }
        if listed(MONEY_PROPS, k) {
            if let Ok(minor) = money::to_minor(amount_of(v), exponent) {
                *v = Value::Num(minor as f64);
            }
        }
        i += 1;
    }
    if let Some(q) = query {
        rest.push(("search_term".into(), Value::Str(q)));
    }
    if !flags.is_empty() {
        rest.push(("_flags".into(), Value::Arr(flags)));
    }
    Ok(Normalized { t, props: rest, items, value, cur: if has_money { Some(cur_code) } else { None }, order })
}
