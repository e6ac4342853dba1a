//! Wire format v1 is pinned by the golden files in `fixtures/`.

use funnelcake_core::json::Value;
use funnelcake_core::wire::{decode_batch, Batch, Event, Item, Source};

fn fixture(name: &str) -> String {
    let path = format!("{}/../fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn golden_batch() -> Batch {
    let sid = "0a1b2c3d4e5f60718293a4b5c6d7e8f9".to_string();
    let aid = "f0e1d2c3b4a5968778695a4b3c2d1e0f".to_string();
    Batch {
        site: "shop-1".into(),
        sent_at: 1_732_270_000_500,
        dropped: 2,
        events: vec![
            Event {
                id: "9f1c2a3b4c5d6e7f8091a2b3c4d5e6f7".into(),
                t: "page_view".into(),
                ts: 1_732_269_990_000,
                sid: sid.clone(),
                aid: aid.clone(),
                seq: 1,
                url: "/p/sku-1?utm_source=google&utm_medium=cpc".into(),
                referrer: Some("https://www.google.com/".into()),
                title: Some("Trail Runner – Shop".into()),
                src: Some(Source {
                    kind: "paid_search".into(),
                    source: Some("google".into()),
                    medium: Some("cpc".into()),
                    campaign: Some("autumn".into()),
                    ..Source::default()
                }),
                ..Event::default()
            },
            Event {
                id: "1b2c3d4e5f60718293a4b5c6d7e8f901".into(),
                t: "add_to_cart".into(),
                ts: 1_732_269_999_000,
                sid,
                aid,
                uid: Some("user-42".into()),
                seq: 7,
                url: "/p/sku-1".into(),
                title: Some("Trail Runner – Shop".into()),
                props: vec![
                    ("source".into(), Value::Str("pdp".into())),
                    (
                        "nested".into(),
                        Value::Obj(vec![
                            ("ok".into(), Value::Bool(true)),
                            ("n".into(), Value::Arr(vec![Value::Num(1.0), Value::Num(2.5)])),
                        ]),
                    ),
                ],
                items: vec![Item {
                    id: "SKU-1".into(),
                    name: Some("Trail Runner".into()),
                    brand: Some("Acme".into()),
                    cat: vec!["Shoes".into(), "Running".into()],
                    variant: Some("red".into()),
                    price: Some(1999),
                    qty: 2,
                    discount: Some(100),
                    list: Some("Search results".into()),
                    pos: Some(3),
                    ..Item::default()
                }],
                value: Some(3798),
                cur: Some("USD".into()),
                exp: vec![("checkout-button".into(), 1)],
                ..Event::default()
            },
        ],
    }
}

#[test]
fn encoder_writes_the_golden_bytes() {
    assert_eq!(golden_batch().encode(), fixture("batch-v1.json"));
}

#[test]
fn decoder_reads_the_golden_file_back_to_the_same_batch() {
    let decoded = decode_batch(&fixture("batch-v1.json")).unwrap();
    let want = golden_batch();
    assert_eq!((decoded.site.as_str(), decoded.sent_at, decoded.dropped), ("shop-1", want.sent_at, 2));
    let events: Vec<Event> = decoded.events.into_iter().map(Result::unwrap).collect();
    assert_eq!(events, want.events);
}

#[test]
fn decoder_accepts_explicit_nulls_as_in_the_design_example() {
    let decoded = decode_batch(&fixture("batch-v1-nulls.json")).unwrap();
    let e = decoded.events[0].as_ref().unwrap();
    assert_eq!((e.uid.as_deref(), e.order.as_deref(), e.value, e.items[0].qty), (None, None, Some(1999), 1));
    assert_eq!(e.exp, vec![("checkout-button".to_string(), 1)]);
}

#[test]
fn each_bad_event_is_rejected_alone_with_a_named_reason() {
    let body = r#"{"v":1,"site":"s","sent_at":1,"events":[
        {"id":"00000000000000000000000000000001","t":"a","ts":1,"sid":"s","aid":"a","seq":1,"url":"/"},
        {"id":"00000000000000000000000000000002","t":"a","ts":"soon","sid":"s","aid":"a","seq":1},
        {"id":"XYZ","t":"a","ts":1,"sid":"s","aid":"a","seq":1},
        {"id":"00000000000000000000000000000004","t":"a","ts":1,"sid":"s","aid":"a","seq":1,"items":[{"id":"x","price":1.5}]},
        7]}"#;
    let b = decode_batch(body).unwrap();
    let reasons: Vec<String> =
        b.events.iter().map(|r| r.as_ref().err().map(ToString::to_string).unwrap_or_default()).collect();
    assert_eq!(
        reasons,
        vec![
            String::new(),
            "events[1].ts: expected an integer".into(),
            "events[2].id: must be 32 lowercase hex characters".into(),
            "events[3].items[0].price: expected an integer".into(),
            "events[4]: expected an object".into(),
        ]
    );
}

/// What the SDK never sends is refused by name, so a forged or broken client cannot put a cart
/// line of -3 or a currency `usd` (a bucket of its own beside `USD`) into the totals.
#[test]
fn amounts_and_codes_outside_what_the_sdk_sends_are_rejected_by_name() {
    let event = |extra: &str| {
        format!(
            r#"{{"id":"00000000000000000000000000000001","t":"add_to_cart","ts":1,"sid":"s","aid":"a","seq":1{extra}}}"#
        )
    };
    let cases = [
        (r#","cur":"usd""#, "events[0].cur: must be a three-letter upper-case currency code"),
        (r#","cur":"US""#, "events[0].cur: must be a three-letter upper-case currency code"),
        (r#","cur":"U$D""#, "events[0].cur: must be a three-letter upper-case currency code"),
        (r#","items":[{"id":"x","qty":-3}]"#, "events[0].items[0].qty: must be a whole number from 1 to 10^9"),
        (r#","items":[{"id":"x","qty":0}]"#, "events[0].items[0].qty: must be a whole number from 1 to 10^9"),
        (r#","items":[{"id":"x","qty":1000000001}]"#, "events[0].items[0].qty: must be a whole number from 1 to 10^9"),
        (r#","items":[{"id":"x","price":-1}]"#, "events[0].items[0].price: must not be negative"),
        (r#","items":[{"id":"x","discount":-1}]"#, "events[0].items[0].discount: must not be negative"),
        (r#","items":[{"id":"x","pos":-1}]"#, "events[0].items[0].pos: must not be negative"),
    ];
    for (extra, want) in cases {
        let body = format!(r#"{{"v":1,"site":"s","sent_at":1,"events":[{}]}}"#, event(extra));
        let b = decode_batch(&body).unwrap();
        assert_eq!(b.events[0].as_ref().unwrap_err().to_string(), want, "{extra}");
    }
    // The edges the SDK does send: an unlisted code (flagged by the SDK), a quantity of 10^9,
    // zero prices, and a negative order value (an adjustment).
    let ok = event(r#","cur":"BTC","value":-500,"items":[{"id":"x","qty":1000000000,"price":0,"discount":0,"pos":0}]"#);
    let b = decode_batch(&format!(r#"{{"v":1,"site":"s","sent_at":1,"events":[{ok}]}}"#)).unwrap();
    let e = b.events[0].as_ref().unwrap();
    assert_eq!((e.cur.as_deref(), e.value, e.items[0].qty), (Some("BTC"), Some(-500), 1_000_000_000));
}

/// An empty session or visitor id would join unrelated visits into one; a control character
/// would break the rows' exports. Other senders' ids (not 32 hex like the SDK's) are kept.
#[test]
fn session_and_visitor_ids_are_one_to_128_printable_characters() {
    let decode = |sid: &str, aid: &str| {
        let body = format!(
            r#"{{"v":1,"site":"s","sent_at":1,"events":[{{"id":"00000000000000000000000000000001","t":"a","ts":1,"sid":"{sid}","aid":"{aid}","seq":1}}]}}"#
        );
        decode_batch(&body).unwrap().events.remove(0).map(|e| (e.sid, e.aid)).map_err(|e| e.to_string())
    };
    const RULE: &str = "must be 1 to 128 characters, none of them an ASCII control character";
    assert_eq!(decode("", "a"), Err(format!("events[0].sid: {RULE}")));
    assert_eq!(decode("s", ""), Err(format!("events[0].aid: {RULE}")));
    assert_eq!(decode("s\\t1", "a"), Err(format!("events[0].sid: {RULE}")));
    assert_eq!(decode("s", &"a".repeat(129)), Err(format!("events[0].aid: {RULE}")));
    let (sid, aid) = ("é".repeat(128), "visitor-1".to_owned());
    assert_eq!(decode(&sid, &aid), Ok((sid.clone(), aid)));
}

#[test]
fn envelope_problems_name_the_field() {
    const SITE: &str = "site: must be 1 to 128 characters, none of them an ASCII control character";
    let long = format!(r#"{{"v":1,"site":"{}","sent_at":1,"events":[]}}"#, "é".repeat(129));
    assert_eq!(decode_batch(&long).unwrap_err().to_string(), SITE);
    let longest = long.replacen('é', "", 1);
    assert_eq!(decode_batch(&longest).unwrap().site.chars().count(), 128);
    let cases = [
        ("", "body is not valid JSON: unexpected end"),
        ("[]", "body must be a JSON object"),
        (r#"{"v":2,"site":"s","sent_at":1,"events":[]}"#, "v: unsupported wire version (expected 1)"),
        (r#"{"v":1,"site":"","sent_at":1,"events":[]}"#, SITE),
        (r#"{"v":1,"site":"shop\u0000","sent_at":1,"events":[]}"#, SITE),
        (r#"{"v":1,"site":"shop\n1","sent_at":1,"events":[]}"#, SITE),
        (r#"{"v":1,"site":"s","sent_at":1.5,"events":[]}"#, "sent_at: expected an integer"),
        (r#"{"v":1,"site":"s","sent_at":1,"events":{}}"#, "events: expected an array"),
    ];
    for (body, want) in cases {
        assert_eq!(decode_batch(body).unwrap_err().to_string(), want, "{body}");
    }
}

/// The messages that state the site id's bound are written out as text (no formatting in the
/// wasm): they must say the bound the check keeps.
#[test]
fn site_id_messages_state_the_bound_the_check_keeps() {
    use funnelcake_core::config::ConfigError;
    use funnelcake_core::wire::{MAX_SITE_CHARS, SITE_PROBLEM};
    let bound = format!("1 to {MAX_SITE_CHARS} ");
    assert!(SITE_PROBLEM.contains(&bound), "{SITE_PROBLEM}");
    assert!(ConfigError::MissingSite.as_str().contains(&bound), "{}", ConfigError::MissingSite.as_str());
}
