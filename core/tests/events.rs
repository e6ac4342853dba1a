//! Event model: canonical names, items, money in minor units, validation and drop reasons.

mod common;
use common::*;
use funnelcake_core::event::DropReason;

#[test]
fn value_is_used_when_given_else_derived_from_items() {
    let mut s = Shop::new();
    s.ok("add_to_cart", r#"{"currency":"USD","value":50,"items":[{"id":"A","price":19.99,"quantity":2}]}"#);
    s.ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"B","price":19.99,"quantity":2,"discount":1}]}"#);
    let e = s.sent();
    assert_eq!(e[0].value, Some(5000), "explicit value wins");
    assert_eq!(e[1].value, Some((1999 - 100) * 2), "derived: (price − discount) × quantity");
    assert_eq!(e[1].items[0].discount, Some(100));
}

#[test]
fn numeric_strings_are_normalised() {
    let mut s = Shop::new();
    s.ok("add_to_cart", r#"{"currency":"eur","items":[{"item_id":"A","price":"1,299.50","quantity":"3"}]}"#);
    let e = &s.sent()[0];
    assert_eq!(
        (e.cur.as_deref(), e.items[0].price, e.items[0].qty, e.value),
        (Some("EUR"), Some(129_950), 3, Some(389_850))
    );
}

#[test]
fn zero_and_three_decimal_currencies_use_their_iso_exponent() {
    let mut s = Shop::new();
    s.ok("purchase", r#"{"transaction_id":"J1","currency":"JPY","value":1500}"#);
    s.ok("purchase", r#"{"transaction_id":"K1","currency":"KWD","value":"12.345"}"#);
    s.ok("purchase", r#"{"transaction_id":"U1","currency":"USD","value":12.345}"#);
    let v: Vec<_> = s.sent().iter().map(|e| (e.cur.clone().unwrap(), e.value.unwrap())).collect();
    assert_eq!(v, vec![("JPY".into(), 1500), ("KWD".into(), 12_345), ("USD".into(), 1235)]);
    assert_eq!(json(&s.snap(), "revenue"), r#"{"JPY":1500,"KWD":12345,"USD":1235}"#);
}

#[test]
fn nan_negative_zero_fractional_and_text_quantities_are_dropped_and_counted() {
    let mut s = Shop::new();
    s.page("/");
    for q in ["null", "-1", "0", "1.5", "\"two\"", "\"NaN\"", "{}"] {
        let props = format!(r#"{{"currency":"USD","items":[{{"id":"A","price":1,"quantity":{q}}}]}}"#);
        let r = s.track("add_to_cart", &props);
        if q == "null" {
            assert!(r.is_ok(), "a null quantity means the default 1");
        } else {
            assert_eq!(r, Err(DropReason::InvalidQuantity), "quantity {q}");
        }
    }
    let snap = s.snap();
    assert_eq!(num(&snap, "dropped.total"), 6);
    assert_eq!(num(&snap, "dropped.byReason.invalid_quantity"), 6);
    assert_eq!(num(&snap, "cart.count"), 1);
}

#[test]
fn bad_prices_values_items_and_names_have_their_own_reasons() {
    let mut s = Shop::new();
    s.page("/");
    let cases = [
        ("add_to_cart", r#"{"items":[{"id":"A","price":-5}]}"#, DropReason::InvalidPrice),
        ("add_to_cart", r#"{"items":[{"id":"A","price":"cheap"}]}"#, DropReason::InvalidPrice),
        ("add_to_cart", r#"{"items":[{"price":5}]}"#, DropReason::InvalidItem),
        ("add_to_cart", r#"{"items":"A"}"#, DropReason::InvalidItem),
        ("purchase", r#"{"transaction_id":"T","value":"lots"}"#, DropReason::InvalidValue),
        ("purchase", r#"{"value":5,"currency":"USD"}"#, DropReason::MissingOrderId),
        ("   ", "{}", DropReason::MissingName),
    ];
    for (name, props, reason) in cases {
        assert_eq!(s.track(name, props), Err(reason), "{name} {props}");
    }
    let long = "x".repeat(101);
    assert_eq!(s.track(&long, "{}"), Err(DropReason::InvalidName));
    let many = format!(r#"{{"items":[{}]}}"#, vec![r#"{"id":"A"}"#; 201].join(","));
    assert_eq!(s.track("view_item_list", &many), Err(DropReason::TooManyItems));
    let huge = format!(r#"{{"blob":"{}"}}"#, "y".repeat(40_000));
    assert_eq!(s.track("custom", &huge), Err(DropReason::TooLarge));
    assert_eq!(num(&s.snap(), "dropped.total"), 10);
    assert_eq!(s.sent().len(), 1, "only the page view was queued");
}

#[test]
fn missing_and_unknown_currencies_are_flagged_not_guessed_silently() {
    let mut s = Shop::new();
    s.ok("purchase", r#"{"transaction_id":"A","value":10}"#);
    s.ok("purchase", r#"{"transaction_id":"B","value":10,"currency":"BTC"}"#);
    let e = s.sent();
    assert_eq!((e[0].cur.as_deref(), e[0].value), (Some("XXX"), Some(1000)));
    assert_eq!(e[0].props.last().unwrap().1.to_json(), r#"["missing_currency"]"#);
    assert_eq!((e[1].cur.as_deref(), e[1].value), (Some("BTC"), Some(1000)));
    assert_eq!(e[1].props.last().unwrap().1.to_json(), r#"["unknown_currency"]"#);

    let mut with_default = Shop::with_config(config(|c| c.currency = Some("gbp".into())));
    with_default.ok("purchase", r#"{"transaction_id":"C","value":10}"#);
    let e = with_default.sent();
    assert_eq!(e[0].cur.as_deref(), Some("GBP"));
    assert!(e[0].props.iter().all(|(k, _)| k != "_flags"));
}

#[test]
fn every_segment_and_shopify_name_has_its_canonical_event() {
    // Written out independently of the table (DESIGN.md §5); a new table row without a line
    // here fails the count.
    let expected = [
        ("Products Searched", "search"),
        ("Product List Viewed", "view_item_list"),
        ("Product Clicked", "select_item"),
        ("Product Viewed", "view_item"),
        ("Product Added", "add_to_cart"),
        ("Product Removed", "remove_from_cart"),
        ("Product Added to Wishlist", "add_to_wishlist"),
        ("Cart Viewed", "view_cart"),
        ("Checkout Started", "begin_checkout"),
        ("Payment Info Entered", "add_payment_info"),
        ("Order Completed", "purchase"),
        ("Order Refunded", "refund"),
        ("Promotion Viewed", "view_promotion"),
        ("Promotion Clicked", "select_promotion"),
        ("Experiment Viewed", "experiment_viewed"),
        ("page_viewed", "page_view"),
        ("search_submitted", "search"),
        ("collection_viewed", "view_item_list"),
        ("product_viewed", "view_item"),
        ("product_added_to_cart", "add_to_cart"),
        ("product_removed_from_cart", "remove_from_cart"),
        ("cart_viewed", "view_cart"),
        ("checkout_started", "begin_checkout"),
        ("checkout_contact_info_submitted", "checkout_contact"),
        ("checkout_address_info_submitted", "add_shipping_info"),
        ("checkout_shipping_info_submitted", "add_shipping_info"),
        ("payment_info_submitted", "add_payment_info"),
        ("checkout_completed", "purchase"),
    ];
    for (name, want) in expected {
        assert_eq!(funnelcake_core::event::canonical_name(name), want, "{name}");
    }
    assert_eq!(expected.len(), funnelcake_core::event::name_aliases().count());
    // Canonical and custom names pass through unchanged.
    assert_eq!(funnelcake_core::event::canonical_name("add_to_cart"), "add_to_cart");
    assert_eq!(funnelcake_core::event::canonical_name("Newsletter Signup"), "Newsletter Signup");
}

#[test]
fn segment_and_shopify_names_map_to_canonical_events() {
    let mut s = Shop::new();
    for (name, want) in [
        ("Product Viewed", "view_item"),
        ("Product Added", "add_to_cart"),
        ("Product Removed", "remove_from_cart"),
        ("Cart Viewed", "view_cart"),
        ("Checkout Started", "begin_checkout"),
        ("Payment Info Entered", "add_payment_info"),
        ("Products Searched", "search"),
        ("product_viewed", "view_item"),
        ("product_added_to_cart", "add_to_cart"),
        ("checkout_started", "begin_checkout"),
        ("checkout_contact_info_submitted", "checkout_contact"),
        ("checkout_shipping_info_submitted", "add_shipping_info"),
        ("payment_info_submitted", "add_payment_info"),
    ] {
        s.ok(name, r#"{"product_id":"P1","price":5,"currency":"USD"}"#);
        assert_eq!(s.sent().last().unwrap().t, want, "{name}");
    }
    s.ok(
        "Order Completed",
        r#"{"order_id":"O1","total":"25.00","currency":"USD","products":[{"sku":"P1","price":25}]}"#,
    );
    let e = s.sent().pop().unwrap();
    assert_eq!(
        (e.t.as_str(), e.order.as_deref(), e.value, e.items[0].id.as_str()),
        ("purchase", Some("O1"), Some(2500), "P1")
    );
}

#[test]
fn single_item_helpers_and_item_field_spellings() {
    let mut s = Shop::new();
    s.ok(
        "view_item",
        r#"{"item_id":"SKU-9","item_name":"Boot","item_brand":"Acme","item_category":"Shoes","item_category2":"Hiking",
            "item_variant":"42","price":{"amount":"89.90","currencyCode":"CHF"},"index":4,"item_list_name":"Search","list_id":"x"}"#,
    );
    let e = s.sent().pop().unwrap();
    let i = &e.items[0];
    assert_eq!((i.id.as_str(), i.name.as_deref(), i.brand.as_deref()), ("SKU-9", Some("Boot"), Some("Acme")));
    assert_eq!(i.cat, vec!["Shoes".to_string(), "Hiking".to_string()]);
    assert_eq!(
        (i.variant.as_deref(), i.price, i.pos, i.list.as_deref()),
        (Some("42"), Some(8990), Some(4), Some("Search"))
    );
    assert_eq!(e.cur.as_deref(), Some("CHF"));
    assert_eq!(e.props.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), vec!["list_id"], "item fields consumed");
}

#[test]
fn item_categories_as_a_path_a_list_or_levels_at_most_five() {
    let mut s = Shop::new();
    let cats = |s: &mut Shop, item: &str| {
        s.ok("view_item", &format!(r#"{{"items":[{{"id":"A",{item}}}]}}"#));
        s.sent().pop().unwrap().items[0].cat.clone()
    };
    let v = |l: &[&str]| l.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    // UA's path: each level trimmed, empty levels left out.
    assert_eq!(cats(&mut s, r#""category":"Apparel/ Men //Shirts/""#), v(&["Apparel", "Men", "Shirts"]));
    // A list, a number and GA4's numbered levels after the first.
    assert_eq!(cats(&mut s, r#""item_category":["Shoes", 42, null, " "]"#), v(&["Shoes", "42"]));
    assert_eq!(cats(&mut s, r#""item_category":7,"item_category3":"Trail""#), v(&["7", "Trail"]));
    // Five levels at most, the first five kept.
    assert_eq!(
        cats(&mut s, r#""category":"A/B/C/D","item_category2":"E","item_category3":"F""#),
        v(&["A", "B", "C", "D", "E"])
    );
    assert_eq!(cats(&mut s, r#""category":"1/2/3/4/5/6/7""#), v(&["1", "2", "3", "4", "5"]));
}

#[test]
fn a_repeated_purchase_is_dropped_even_after_a_reload() {
    let mut s = Shop::new();
    s.page("/thanks").ok("purchase", r#"{"transaction_id":"T-1","value":30,"currency":"USD"}"#);
    assert_eq!(
        s.track("purchase", r#"{"transaction_id":"T-1","value":30,"currency":"USD"}"#),
        Err(DropReason::DuplicateOrder)
    );
    assert_eq!(s.sent().iter().filter(|e| e.t == "purchase").count(), 1);
    s.reload();
    s.advance(5_000);
    s.ok("page_view", "{}");
    assert_eq!(
        s.track("purchase", r#"{"transaction_id":"T-1","value":30,"currency":"USD"}"#),
        Err(DropReason::DuplicateOrder)
    );
    // Even in a later session.
    s.advance(2 * 60 * MIN);
    assert_eq!(
        s.track("purchase", r#"{"transaction_id":"T-1","value":30,"currency":"USD"}"#),
        Err(DropReason::DuplicateOrder)
    );
    assert_eq!(s.sent().iter().filter(|e| e.t == "purchase").count(), 0);
}

#[test]
fn money_props_become_minor_units_and_search_terms_are_canonical() {
    let mut s = Shop::new();
    s.ok("purchase", r#"{"transaction_id":"T","currency":"USD","value":10,"tax":"1.50","shipping":4.99}"#);
    s.ok("search", r#"{"query":"trail shoes"}"#);
    s.ok("search", r#"{"q":"a","query":null,"sort":"price","query ":"b"}"#);
    s.ok("custom", r#"{"q":"kept","query":"kept too"}"#);
    let e = s.sent();
    let get =
        |e: &funnelcake_core::wire::Event, k: &str| e.props.iter().find(|(p, _)| p == k).map(|(_, v)| v.to_json());
    let keys = |e: &funnelcake_core::wire::Event| e.props.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(",");
    assert_eq!((get(&e[0], "tax"), get(&e[0], "shipping")), (Some("150".into()), Some("499".into())));
    assert_eq!(get(&e[1], "search_term"), Some("\"trail shoes\"".into()));
    assert_eq!(keys(&e[1]), "search_term");
    // The first name with a value wins; the others are dropped; other keys stay.
    assert_eq!(get(&e[2], "search_term"), Some("\"a\"".into()));
    assert_eq!(keys(&e[2]), "sort,query ,search_term");
    assert_eq!(keys(&e[3]), "q,query", "only a search's query is renamed");
}

#[test]
fn a_derived_value_past_the_money_bound_is_refused_like_a_given_one() {
    let mut s = Shop::new();
    // Each line is within bounds (price ≤ MAX_MINOR, quantity ≤ 10^9); their total is not, and
    // the wire's integers stop at 2^53: queued, the event was rejected by the collector's decoder.
    let line = |id: &str| format!(r#"{{"id":"{id}","price":"90000000000","quantity":100000}}"#);
    let huge = format!(r#"{{"currency":"USD","items":[{},{}]}}"#, line("A"), line("B"));
    assert_eq!(s.track("add_to_cart", &huge), Err(DropReason::InvalidValue));
    let one = format!(r#"{{"currency":"USD","items":[{}]}}"#, line("A"));
    assert_eq!(s.track("add_to_cart", &one), Err(DropReason::InvalidValue), "one line past it");
    let given = format!(r#"{{"currency":"USD","value":10,"items":[{},{}]}}"#, line("A"), line("B"));
    s.ok("add_to_cart", &given);
    let at_bound = r#"{"currency":"USD","items":[{"id":"A","price":"90000000000","quantity":"1000"}]}"#;
    s.ok("add_to_cart", at_bound);
    let sent = s.sent();
    assert_eq!(sent.iter().map(|e| e.value).collect::<Vec<_>>(), vec![Some(1000), Some(9_000_000_000_000_000)]);
    assert_eq!(num(&s.snap(), "dropped.byReason.invalid_value"), 2);
}
