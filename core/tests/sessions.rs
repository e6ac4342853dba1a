//! Sessions and identity: timeout, visit numbers, landing/exit pages, traffic source, engagement,
//! and the session_summary events.

mod common;
use common::*;
use funnelcake_core::json::Value;
use funnelcake_core::source::classify;

#[test]
fn a_session_ends_after_thirty_minutes_of_inactivity() {
    let mut s = Shop::new();
    s.page("/a");
    let first = text(&s.snap(), "sessionId").unwrap().to_owned();
    s.advance(29 * MIN + 59_000).page("/b");
    assert_eq!(text(&s.snap(), "sessionId"), Some(first.as_str()), "activity within 30 min keeps the session");
    s.advance(30 * MIN).page("/c");
    let second = text(&s.snap(), "sessionId").unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!((num(&s.snap(), "visitNumber"), flag(&s.snap(), "newVisitor")), (2, false));
    assert_eq!(num(&s.snap(), "pageViews"), 1, "metrics restart with the session");
}

#[test]
fn the_ended_session_gets_a_final_summary_before_the_new_session_starts() {
    let mut s = Shop::new();
    s.page("/a").advance(60_000).page("/b");
    let ended_at = s.now;
    s.advance(45 * MIN).page("/c");
    let events = s.sent();
    let kinds: Vec<&str> = events.iter().map(|e| e.t.as_str()).collect();
    assert_eq!(kinds, vec!["page_view", "page_view", "session_summary", "page_view"]);
    let summary = &events[2];
    assert_eq!(summary.sid, events[0].sid);
    assert_eq!(summary.ts, ended_at, "stamped at the session's last activity");
    assert_eq!(summary.seq, 3, "the highest seq of its session");
    let props = Value::Obj(summary.props.clone());
    assert!(flag(&props, "final"));
    assert_eq!((num(&props, "page_views"), text(&props, "exit_page")), (2, Some("/b")));
    assert_eq!(num(&props, "duration_ms"), 60_000);
    assert_ne!(events[3].sid, summary.sid);
}

#[test]
fn a_timeout_in_the_middle_of_a_page_starts_the_new_session_on_that_page() {
    let mut s = Shop::new();
    s.page("/p/boot");
    s.advance(40 * MIN).ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"BOOT","price":90}]}"#);
    let snap = s.snap();
    assert_eq!(num(&snap, "visitNumber"), 2);
    assert_eq!((text(&snap, "landingPage"), num(&snap, "pageViews")), (Some("/p/boot"), 0));
    assert_eq!(num(&snap, "cart.count"), 1);
}

#[test]
fn visit_numbers_and_new_visitors_survive_reloads() {
    let mut s = Shop::new();
    s.page("/");
    assert!(flag(&s.snap(), "newVisitor"));
    s.reload();
    s.advance(MIN).page("/two");
    assert_eq!((num(&s.snap(), "visitNumber"), num(&s.snap(), "pageViews")), (1, 2), "same session after reload");
    s.reload();
    s.advance(31 * MIN).page("/three");
    assert_eq!((num(&s.snap(), "visitNumber"), flag(&s.snap(), "newVisitor")), (2, false));
}

#[test]
fn landing_and_exit_pages_and_source_come_from_the_session_start() {
    let mut s = Shop::new();
    s.with_referrer("https://www.google.com/search?q=boots").page("/?utm_campaign=x");
    s.ctx.referrer = Some("https://shop.example/".into());
    s.advance(1000).page("/p/1").advance(1000).page("/cart");
    let snap = s.snap();
    assert_eq!((text(&snap, "landingPage"), text(&snap, "exitPage")), (Some("/?utm_campaign=x"), Some("/cart")));
    assert_eq!(text(&snap, "source.kind"), Some("organic_search"));
    assert_eq!(text(&snap, "source.source"), Some("google.com"));
    assert_eq!(text(&snap, "source.referrer"), Some("https://www.google.com/search?q=boots"));
    assert_eq!(text(&snap, "source.campaign"), Some("x"));
    let first = &s.sent()[0];
    assert_eq!(first.src.as_ref().map(|x| x.kind.as_str()), Some("organic_search"), "first event carries src");
}

#[test]
fn traffic_sources_are_classified_into_each_class() {
    let own = "shop.example";
    let cases = [
        ("/", None, "direct"),
        ("/", Some("https://shop.example/other"), "direct"),
        ("/?gclid=Cj0", Some("https://www.google.com/"), "paid_search"),
        ("/?msclkid=1", None, "paid_search"),
        ("/?utm_source=google&utm_medium=cpc", None, "paid_search"),
        ("/?utm_source=bing&utm_medium=ppc", None, "paid_search"),
        ("/", Some("https://www.bing.com/"), "organic_search"),
        ("/", Some("https://duckduckgo.com/"), "organic_search"),
        ("/", Some("https://search.yahoo.co.jp/"), "organic_search"),
        ("/", Some("https://yandex.ru/"), "organic_search"),
        ("/", Some("https://l.facebook.com/"), "social"),
        ("/", Some("https://t.co/abc"), "social"),
        ("/?fbclid=IwAR", None, "social"),
        ("/?utm_source=instagram", None, "social"),
        ("/?utm_source=facebook&utm_medium=paid_social", None, "social"),
        ("/?utm_source=newsletter&utm_medium=email", None, "email"),
        ("/", Some("https://mail.google.com/"), "email"),
        ("/", Some("https://blog.example.org/post"), "referral"),
        ("/?utm_source=partner-site", None, "referral"),
    ];
    for (url, referrer, want) in cases {
        assert_eq!(classify(url, referrer, own).kind, want, "{url} {referrer:?}");
    }
    let s = classify("/?utm_source=news%20letter&utm_medium=email&utm_term=a+b&utm_content=hero", None, own);
    assert_eq!(
        (s.source.as_deref(), s.term.as_deref(), s.content.as_deref()),
        (Some("news letter"), Some("a b"), Some("hero"))
    );
}

#[test]
fn engaged_after_ten_visible_seconds_or_two_page_views_or_a_purchase() {
    let mut visible = Shop::new();
    visible.tracker.page_visible(visible.now);
    visible.page("/");
    visible.advance(9_999);
    assert!(!flag(&visible.snap(), "engaged"));
    visible.advance(1);
    assert!(flag(&visible.snap(), "engaged"));
    assert_eq!(num(&visible.snap(), "engagedMs"), 10_000);

    let mut hidden = Shop::new();
    hidden.page("/").advance(60_000);
    assert!(!flag(&hidden.snap(), "engaged"), "time while hidden does not count");
    hidden.page("/2");
    assert!(flag(&hidden.snap(), "engaged"), "two page views");

    let mut buyer = Shop::new();
    buyer.ok("purchase", r#"{"transaction_id":"X","value":1,"currency":"USD"}"#);
    assert!(flag(&buyer.snap(), "engaged"), "a purchase");
}

#[test]
fn engaged_time_counts_visible_spans_only_and_stops_at_a_crashed_page() {
    let mut s = Shop::new();
    s.tracker.page_visible(s.now);
    s.page("/");
    s.advance(4_000);
    s.tracker.page_hidden(s.now, &mut s.rng);
    s.advance(60_000);
    s.tracker.page_visible(s.now);
    s.advance(3_000).page("/2");
    s.advance(2_000);
    assert_eq!(num(&s.snap(), "engagedMs"), 9_000);
    // The tab dies without a hide event; the next page load closes the span at the last activity.
    s.reload();
    s.advance(600_000);
    assert_eq!(num(&s.snap(), "engagedMs"), 7_000);
}

#[test]
fn page_hide_queues_a_provisional_summary_with_a_higher_seq() {
    let mut s = Shop::new();
    s.page("/").ok("view_item", r#"{"id":"A"}"#);
    s.tracker.page_hidden(s.now, &mut s.rng);
    s.advance(1000);
    s.tracker.page_visible(s.now);
    s.ok("add_to_cart", r#"{"id":"A","price":3,"currency":"USD"}"#);
    s.tracker.page_hidden(s.now, &mut s.rng);
    let summaries: Vec<_> = s.sent().into_iter().filter(|e| e.t == "session_summary").collect();
    assert_eq!(summaries.len(), 2);
    assert!(summaries[1].seq > summaries[0].seq);
    let last = Value::Obj(summaries[1].props.clone());
    assert!(!flag(&last, "final"));
    assert_eq!(text(&last, "funnel.furthest_step"), Some("add_to_cart"));
    assert_eq!(json(&last, "cart.value"), r#"{"USD":300}"#);
}

#[test]
fn a_second_hide_while_hidden_summarises_only_what_was_queued_since_the_first() {
    let mut s = Shop::new();
    s.tracker.page_visible(s.now);
    s.page("/");
    s.tracker.page_hidden(s.now, &mut s.rng); // visibilitychange
    s.tracker.page_hidden(s.now, &mut s.rng); // pagehide: nothing new, no second summary
    let first: Vec<String> = s.sent().into_iter().map(|e| e.t).collect();
    assert_eq!(first, ["page_view", "session_summary"]);
    // An event while hidden (a timer's track), then the page closes: one more summary.
    s.advance(5_000).ok("add_to_cart", r#"{"id":"A","price":3,"currency":"USD"}"#);
    s.tracker.page_hidden(s.now, &mut s.rng);
    let second: Vec<String> = s.sent().into_iter().map(|e| e.t).collect();
    assert_eq!(second, ["add_to_cart", "session_summary"]);
}

#[test]
fn identify_and_reset() {
    let mut s = Shop::new();
    s.page("/");
    assert!(s.tracker.identify(Some("user-7".into())), "a new id");
    assert!(!s.tracker.identify(Some("user-7".into())), "the same id: the shell records no identify event");
    s.page("/account");
    let aid = text(&s.snap(), "anonymousId").unwrap().to_owned();
    s.tracker.reset(s.now, &mut s.rng);
    s.page("/");
    let events = s.sent();
    assert_eq!(events[1].uid.as_deref(), Some("user-7"));
    assert_eq!(events[2].t, "session_summary");
    assert!(flag(&Value::Obj(events[2].props.clone()), "final"));
    assert_eq!(events[3].uid, None);
    assert_ne!(events[3].aid, aid);
    assert_ne!(events[3].sid, events[0].sid);
}

#[test]
fn a_summary_too_large_for_one_event_lists_what_fits_and_says_so() {
    // 200 cart lines with ids at the field limit: the snapshot is 67 KB (measured), past the 32 KB
    // an event may have. The summary was dropped, and the session with it from the collector's
    // figures, which read its counts, sums and funnel (not its lists).
    let mut s = Shop::new();
    s.page("/a");
    for i in 0..200 {
        let id = format!("{i:03}{}", "x".repeat(253));
        let props =
            format!(r#"{{"currency":"USD","items":[{{"id":"{id}","variant":"{}","price":1}}]}}"#, "v".repeat(256));
        s.ok("add_to_cart", &props);
    }
    s.ok("purchase", r#"{"transaction_id":"O1","currency":"USD","value":5}"#);
    s.ok("add_to_cart", &format!(r#"{{"currency":"USD","items":[{{"id":"{}","price":2}}]}}"#, "y".repeat(256)));
    assert_eq!(num(&s.snap(), "cart.count"), 1, "the purchase emptied the cart");
    for i in 0..199 {
        s.ok(
            "add_to_cart",
            &format!(r#"{{"currency":"USD","items":[{{"id":"{i:03}{}","price":2}}]}}"#, "z".repeat(253)),
        );
    }
    assert_eq!(at(&s.snap(), "cart.items").as_array().map(<[_]>::len), Some(200), "metrics() keeps every line");
    s.advance(45 * MIN).page("/c");
    let events = s.sent();
    let summary = events.iter().find(|e| e.t == "session_summary").expect("the final summary is sent");
    let props = Value::Obj(summary.props.clone());
    assert!(flag(&props, "final") && flag(&props, "lists_cut"));
    // The cart's first lines, up to `SUMMARY_LISTS_BYTES` of text; the orders came after them.
    let lines = at(&props, "cart.items").as_array().unwrap();
    assert!(lines.len() > 10 && lines.len() < 200, "{} lines", lines.len());
    assert_eq!(text(&lines[0], "id").map(|id| &id[..3]), Some("yyy"));
    assert_eq!(json(&props, "orders"), "[]");
    assert!(summary_bytes(summary) < 32 * 1024);
    assert_eq!((num(&props, "cart.count"), num(&props, "order_count")), (200, 1), "counts and sums stay");
    assert_eq!(json(&props, "cart.value"), r#"{"USD":40000}"#);
    assert!(flag(&props, "converted") && !flag(&props, "cart_abandoned"), "it ordered");
    assert_eq!(num(&s.snap(), "dropped.total"), 0);

    // An ordinary summary has its lists, and no mark.
    let mut s = Shop::new();
    s.page("/a").ok("add_to_cart", r#"{"currency":"USD","items":[{"id":"A","price":1}]}"#);
    s.advance(45 * MIN).page("/c");
    let events = s.sent();
    let summary = events.iter().find(|e| e.t == "session_summary").unwrap();
    let props = Value::Obj(summary.props.clone());
    assert_eq!(at(&props, "cart.items").as_array().map(<[_]>::len), Some(1));
    assert_eq!(props.get("lists_cut"), None);
}

/// The summary's size on the wire.
fn summary_bytes(e: &funnelcake_core::wire::Event) -> usize {
    let mut out = String::new();
    e.write_to(&mut out);
    out.len()
}
