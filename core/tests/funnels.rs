//! Funnel metrics and the cart, including every edge case of DESIGN.md §7.

mod common;
use common::*;
use funnelcake_core::json::Value;

const SHOE: &str = r#"{"currency":"USD","items":[{"id":"SHOE","variant":"42","price":100,"quantity":1}]}"#;

fn buy(s: &mut Shop, order: &str, value: &str, cur: &str) {
    s.ok("purchase", &format!(r#"{{"transaction_id":"{order}","value":{value},"currency":"{cur}"}}"#));
}

#[test]
fn the_full_default_funnel_in_order_converts_without_skips() {
    let mut s = Shop::new();
    s.page("/");
    for (step, dt) in [
        ("view_item", 1000),
        ("add_to_cart", 2000),
        ("begin_checkout", 3000),
        ("add_shipping_info", 4000),
        ("add_payment_info", 5000),
    ] {
        s.advance(dt).ok(step, SHOE);
    }
    s.advance(6000);
    buy(&mut s, "O-1", "100", "USD");
    let f = s.snap();
    assert_eq!((text(&f, "funnel.furthestStep"), num(&f, "funnel.furthestIndex")), (Some("purchase"), 6));
    assert!(flag(&f, "funnel.converted") && !flag(&f, "funnel.skippedSteps"));
    assert!(at(&f, "funnel.dropOffStep").is_null());
    assert_eq!(num(&f, "funnel.steps.0.reachedAt"), T0);
    assert!(at(&f, "funnel.steps.0.sincePreviousMs").is_null());
    assert_eq!(num(&f, "funnel.steps.3.sincePreviousMs"), 3000);
    assert_eq!(num(&f, "funnel.steps.6.sincePreviousMs"), 6000);
    assert!(!flag(&f, "cartAbandoned") && !flag(&f, "checkoutAbandoned"));
    assert_eq!(num(&f, "cart.count"), 0, "a purchase empties the cart");
}

#[test]
fn other_events_between_steps_are_allowed_and_out_of_order_steps_do_not_advance() {
    let mut s = Shop::new();
    s.page("/").ok("search", r#"{"q":"x"}"#).ok("add_to_cart", SHOE).ok("view_item", SHOE).ok("custom", "{}");
    let f = s.snap();
    // add_to_cart came before view_item: the ordered prefix is page_view → view_item only…
    assert_eq!(text(&f, "funnel.furthestStep"), Some("view_item"));
    assert_eq!(text(&f, "funnel.dropOffStep"), Some("add_to_cart"));
    // …but every step's first timestamp is kept, so the collector can rebuild any-order funnels.
    assert!(!at(&f, "funnel.steps.2.reachedAt").is_null());
    s.ok("add_to_cart", SHOE);
    assert_eq!(text(&s.snap(), "funnel.furthestStep"), Some("add_to_cart"), "a later add completes the step in order");
}

#[test]
fn a_purchase_without_checkout_converts_and_is_flagged_skipped_steps() {
    let mut s = Shop::new();
    s.page("/").ok("add_to_cart", SHOE);
    buy(&mut s, "O-2", "100", "USD");
    let f = s.snap();
    assert!(flag(&f, "funnel.converted") && flag(&f, "funnel.skippedSteps") && flag(&f, "converted"));
    assert_eq!(text(&f, "funnel.furthestStep"), Some("purchase"));
    assert!(!flag(&f, "checkoutAbandoned"), "never began checkout");
}

#[test]
fn abandonment_flags() {
    let mut cart_left = Shop::new();
    cart_left.page("/").ok("view_item", SHOE).ok("add_to_cart", SHOE);
    assert!(flag(&cart_left.snap(), "cartAbandoned") && !flag(&cart_left.snap(), "checkoutAbandoned"));
    assert_eq!(text(&cart_left.snap(), "funnel.dropOffStep"), Some("begin_checkout"));

    let mut checkout_left = Shop::new();
    checkout_left.page("/").ok("view_item", SHOE).ok("add_to_cart", SHOE).ok("begin_checkout", SHOE);
    let f = checkout_left.snap();
    assert!(flag(&f, "cartAbandoned") && flag(&f, "checkoutAbandoned"));
    assert_eq!(
        (text(&f, "funnel.furthestStep"), text(&f, "funnel.dropOffStep")),
        (Some("begin_checkout"), Some("add_shipping_info"))
    );
}

#[test]
fn a_cart_emptied_by_removals_is_not_abandoned() {
    let mut s = Shop::new();
    s.page("/").ok("add_to_cart", SHOE).ok("add_to_cart", SHOE).ok("remove_from_cart", SHOE);
    assert_eq!(num(&s.snap(), "cart.count"), 1);
    s.ok("remove_from_cart", SHOE);
    let f = s.snap();
    assert_eq!((num(&f, "cart.count"), json(&f, "cart.items")), (0, "[]".into()));
    assert!(!flag(&f, "cartAbandoned"));
    assert_eq!(text(&f, "cart.state"), Some("known"));
}

#[test]
fn removing_what_was_never_added_means_the_cart_predates_the_session() {
    let mut s = Shop::new();
    s.page("/").ok("remove_from_cart", SHOE);
    let f = s.snap();
    assert_eq!((text(&f, "cart.state"), num(&f, "cart.count")), (Some("unknown"), 0));
    s.ok("view_cart", r#"{"currency":"USD","items":[{"id":"HAT","price":25,"quantity":2}]}"#);
    let f = s.snap();
    assert_eq!((text(&f, "cart.state"), num(&f, "cart.count")), (Some("known"), 2), "view_cart replaces the cart");
    assert_eq!(json(&f, "cart.value"), r#"{"USD":5000}"#);
}

#[test]
fn a_cart_past_its_line_bound_keeps_the_lines_it_has_and_becomes_unknown() {
    let mut s = Shop::new();
    s.page("/");
    let max = funnelcake_core::cart::MAX_LINES;
    for i in 0..max + 50 {
        s.ok("add_to_cart", &format!(r#"{{"currency":"USD","items":[{{"id":"P{i}","price":1}}]}}"#));
    }
    let f = s.snap();
    assert_eq!((num(&f, "cart.count"), text(&f, "cart.state")), (max as i64, Some("unknown")));
    // Lines it holds still change; a full snapshot makes it known again.
    s.ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"P0","price":1}]}"#);
    assert_eq!(num(&s.snap(), "cart.count"), max as i64 + 1);
    s.ok("view_cart", r#"{"currency":"USD","items":[{"id":"P0","price":1}]}"#);
    assert_eq!((num(&s.snap(), "cart.count"), text(&s.snap(), "cart.state")), (1, Some("known")));
}

#[test]
fn cart_lines_are_keyed_by_id_and_variant_and_valued_per_currency() {
    let mut s = Shop::new();
    s.ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"T","variant":"S","price":10,"quantity":2}]}"#);
    s.ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"T","variant":"M","price":12}]}"#);
    s.ok("add_to_cart", r#"{"currency":"EUR","items":[{"id":"C","price":"7.50","quantity":3}]}"#);
    s.ok("remove_from_cart", r#"{"items":[{"id":"T","variant":"S"}]}"#);
    let f = s.snap();
    assert_eq!(num(&f, "cart.count"), 5);
    assert_eq!(json(&f, "cart.value"), r#"{"USD":2200,"EUR":2250}"#);
    assert_eq!(json(&f, "cart.items.0"), r#"{"id":"T","variant":"S","quantity":1,"unitPrice":1000,"currency":"USD"}"#);
}

#[test]
fn several_orders_count_separately_and_mixed_currencies_never_add_up() {
    let mut s = Shop::new();
    s.page("/");
    buy(&mut s, "A", "10", "USD");
    buy(&mut s, "B", "30", "USD");
    buy(&mut s, "C", "25", "EUR");
    let f = s.snap();
    assert_eq!(num(&f, "orderCount"), 3);
    assert_eq!(json(&f, "revenue"), r#"{"USD":4000,"EUR":2500}"#);
    assert_eq!(json(&f, "aov"), r#"{"USD":2000,"EUR":2500}"#);
    assert_eq!(json(&f, "orders.2"), r#"{"id":"C","value":2500,"currency":"EUR"}"#);
}

#[test]
fn a_session_of_hundreds_of_orders_follows_its_first_fifty_and_sends_them_all() {
    let mut s = Shop::new();
    s.page("/");
    let mut sent = 0;
    for i in 0..600 {
        let (value, cur) = if i % 2 == 0 { ("3", "EUR") } else { ("10", "USD") };
        buy(&mut s, &format!("order-{i:04}-of-a-long-lived-kiosk-session"), value, cur);
        sent += s.sent().iter().filter(|e| e.t == "purchase").count();
    }
    assert_eq!(sent, 600, "every purchase is recorded and sent");
    let f = s.snap();
    let max = funnelcake_core::metrics::MAX_ORDERS as i64;
    assert_eq!(num(&f, "orderCount"), max);
    assert_eq!(json(&f, "revenue"), format!(r#"{{"EUR":{},"USD":{}}}"#, 300 * max / 2, 1000 * max / 2));
    assert_eq!(at(&f, "orders").as_array().unwrap().len() as i64, max);
    assert_eq!(text(&f, "orders.49.id"), Some("order-0049-of-a-long-lived-kiosk-session"));
    // The session's summary stays well within one event, and arrives.
    s.tracker.page_hidden(s.now, &mut s.rng);
    let summary = s.sent().into_iter().rfind(|e| e.t == "session_summary").expect("summary sent");
    assert_eq!(num(&Value::Obj(summary.props), "order_count"), max);
    assert_eq!(num(&s.snap(), "dropped.total"), 0);
}

#[test]
fn aov_rounds_half_up_in_minor_units() {
    let mut s = Shop::new();
    buy(&mut s, "A", "0.01", "USD");
    buy(&mut s, "B", "0.02", "USD");
    assert_eq!(json(&s.snap(), "aov"), r#"{"USD":2}"#, "3 cents / 2 orders = 1.5 → 2");
}

#[test]
fn a_refund_never_unconverts_a_session() {
    let mut s = Shop::new();
    s.page("/");
    buy(&mut s, "A", "50", "USD");
    s.ok("refund", r#"{"transaction_id":"A","value":50,"currency":"USD"}"#);
    let f = s.snap();
    assert!(flag(&f, "converted") && flag(&f, "funnel.converted"));
    assert_eq!(json(&f, "revenue"), r#"{"USD":5000}"#, "revenue stays gross");
    assert_eq!(json(&f, "refunds"), r#"{"USD":5000}"#);
}

#[test]
fn custom_funnels_with_property_conditions() {
    let funnels = funnelcake_core::json::parse(
        r#"[{"name":"shoes","steps":[
            {"event":"page_view","name":"landing","where":{"url":"/shoes*"}},
            {"event":"Product Viewed","where":{"category":"Shoes"}},
            "add_to_cart"]}]"#,
    )
    .unwrap();
    let mut s = Shop::with_config(config(|c| c.funnels = Some(funnels)));
    s.page("/");
    s.ok("view_item", r#"{"items":[{"id":"S","item_category":"Shoes"}]}"#);
    assert_eq!(at(&s.snap(), "funnels.shoes.furthestStep"), &Value::Null, "landing condition not met yet");
    s.page("/shoes/trail");
    s.ok("view_item", r#"{"items":[{"id":"H","item_category":"Hats"}]}"#);
    assert_eq!(text(&s.snap(), "funnels.shoes.furthestStep"), Some("landing"));
    s.ok("view_item", r#"{"items":[{"id":"S","item_category":"Shoes"}]}"#).ok("add_to_cart", SHOE);
    let f = s.snap();
    assert_eq!(text(&f, "funnels.shoes.furthestStep"), Some("add_to_cart"));
    assert!(flag(&f, "funnels.shoes.converted"));
    assert_eq!(text(&f, "funnels.shoes.steps.1.name"), Some("Product Viewed"));
    assert_eq!(text(&f, "funnel.furthestStep"), Some("add_to_cart"), "the default funnel runs alongside");
}

#[test]
fn step_conditions_read_the_event_its_properties_and_its_items() {
    let funnels = funnelcake_core::json::parse(
        r#"[{"name":"f","steps":[
            {"event":"search","name":"boots","where":{"search_term":"boots*"}},
            {"event":"view_item","name":"acme","where":{"brand":"Acme"}},
            {"event":"add_to_cart","name":"two","where":{"cur":"EUR","pack":2}}]}]"#,
    )
    .unwrap();
    let mut s = Shop::with_config(config(|c| c.funnels = Some(funnels)));
    let step = |s: &Shop| text(&s.snap(), "funnels.f.furthestStep").map(str::to_owned);
    s.page("/").ok("search", r#"{"search_term":"hats"}"#);
    assert_eq!(step(&s), None, "a property that does not match");
    s.ok("search", r#"{"search_term":"boots for winter"}"#);
    assert_eq!(step(&s).as_deref(), Some("boots"), "a property matching the prefix");
    s.ok("view_item", r#"{"items":[{"id":"A","item_brand":"Other"}]}"#);
    assert_eq!(step(&s).as_deref(), Some("boots"), "no item of the brand");
    s.ok("view_item", r#"{"items":[{"id":"B","item_brand":"Other"},{"id":"C","item_brand":"Acme"}]}"#);
    assert_eq!(step(&s).as_deref(), Some("acme"), "any item of the brand");
    s.ok("add_to_cart", r#"{"currency":"EUR","pack":"2","items":[{"id":"C","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("acme"), "a number condition is not met by a string");
    s.ok("add_to_cart", r#"{"currency":"USD","pack":2,"items":[{"id":"C","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("acme"), "the event's own currency must match too");
    s.ok("add_to_cart", r#"{"currency":"EUR","pack":2,"items":[{"id":"C","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("two"));
}

#[test]
fn conditions_on_numbers_flags_and_lists_compare_values_not_spellings() {
    let funnels = funnelcake_core::json::parse(
        r#"[{"name":"f","steps":[
            {"event":"view_item","name":"size","where":{"size":9.5}},
            {"event":"add_to_cart","name":"gift","where":{"gift":true,"tags":["a",1]}},
            {"event":"purchase","name":"none","where":{"note":null}}]}]"#,
    )
    .unwrap();
    let mut s = Shop::with_config(config(|c| c.funnels = Some(funnels)));
    let step = |s: &Shop| text(&s.snap(), "funnels.f.furthestStep").map(str::to_owned);
    s.page("/").ok("view_item", r#"{"size":9.25,"items":[{"id":"A"}]}"#);
    assert_eq!(step(&s), None, "another number");
    s.ok("view_item", r#"{"size":9.50,"items":[{"id":"A"}]}"#);
    assert_eq!(step(&s).as_deref(), Some("size"), "the same number, spelt otherwise");
    s.ok("add_to_cart", r#"{"gift":true,"tags":["a",1.0,2],"items":[{"id":"A","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("size"), "a longer list");
    s.ok("add_to_cart", r#"{"gift":"true","tags":["a",1],"items":[{"id":"A","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("size"), "a flag is not its text");
    s.ok("add_to_cart", r#"{"gift":true,"tags":["a",1.0],"items":[{"id":"A","price":5}]}"#);
    assert_eq!(step(&s).as_deref(), Some("gift"), "the same flag and list");
    s.ok("purchase", r#"{"transaction_id":"O1","value":5,"currency":"USD","note":null}"#);
    assert_eq!(step(&s).as_deref(), Some("none"), "null matches null");
}

#[test]
fn metrics_survive_a_reload_mid_session() {
    let mut s = Shop::new();
    s.page("/").ok("view_item", SHOE).ok("add_to_cart", SHOE);
    let before = s.snap();
    s.reload();
    assert_eq!(s.snap(), before);
    s.advance(1000).ok("begin_checkout", SHOE);
    assert_eq!(text(&s.snap(), "funnel.furthestStep"), Some("begin_checkout"));
}

#[test]
fn the_snapshot_has_exactly_the_documented_fields() {
    let mut s = Shop::new();
    s.page("/");
    let keys = |v: &Value| v.as_object().unwrap().iter().map(|(k, _)| k.clone()).collect::<Vec<_>>().join(",");
    let f = s.snap();
    assert_eq!(
        keys(&f),
        "sessionId,anonymousId,visitNumber,newVisitor,startedAt,lastActivityAt,durationMs,engagedMs,engaged,pageViews,\
         landingPage,exitPage,source,funnel,funnels,cart,cartAbandoned,checkoutAbandoned,orders,orderCount,revenue,aov,\
         refunds,converted,experiments,dropped"
    );
    assert_eq!(keys(at(&f, "source")), "kind,source,medium,campaign,term,content,referrer");
    assert_eq!(keys(at(&f, "funnel")), "name,steps,furthestStep,furthestIndex,dropOffStep,skippedSteps,converted");
    assert_eq!(keys(at(&f, "funnel.steps.0")), "name,reachedAt,sincePreviousMs");
    assert_eq!(keys(at(&f, "cart")), "state,items,count,value");
    assert_eq!(keys(at(&f, "dropped")), "total,byReason");
    let snake = s.tracker.snapshot(s.now, funnelcake_core::metrics::KeyStyle::Snake);
    assert!(keys(&snake).starts_with("session_id,anonymous_id,visit_number,new_visitor,started_at,last_activity_at"));
    assert_eq!(
        keys(at(&snake, "funnel")),
        "name,steps,furthest_step,furthest_index,drop_off_step,skipped_steps,converted"
    );
}
