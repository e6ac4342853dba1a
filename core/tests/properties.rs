//! Property tests over random shopping sessions.

mod common;
use common::*;
use funnelcake_core::json::Value;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Page,
    Event(&'static str),
    Cart { add: bool, id: u8, variant: u8, qty: i8, price: u16, cur: &'static str },
    Purchase { order: u8, value: u16, cur: &'static str },
    Refund { order: u8 },
    Wait(i64),
    Hide,
}

fn op() -> impl Strategy<Value = Op> {
    let cur = prop::sample::select(vec!["USD", "EUR", "JPY", "KWD"]);
    prop_oneof![
        Just(Op::Page),
        prop::sample::select(vec![
            "view_item",
            "begin_checkout",
            "add_shipping_info",
            "add_payment_info",
            "view_cart",
            "search"
        ])
        .prop_map(Op::Event),
        (any::<bool>(), 0u8..4, 0u8..2, -2i8..4, 0u16..5000, cur.clone())
            .prop_map(|(add, id, variant, qty, price, cur)| Op::Cart { add, id, variant, qty, price, cur }),
        (0u8..6, 0u16..50_000, cur).prop_map(|(order, value, cur)| Op::Purchase { order, value, cur }),
        (0u8..6).prop_map(|order| Op::Refund { order }),
        prop_oneof![1i64..120_000, Just(31 * MIN)].prop_map(Op::Wait),
        Just(Op::Hide),
    ]
}

fn apply(s: &mut Shop, op: &Op) {
    let _ = match op {
        Op::Page => s.track("page_view", "{}"),
        Op::Event(name) => s.track(name, r#"{"currency":"USD","items":[{"id":"I1","price":3}]}"#),
        Op::Cart { add, id, variant, qty, price, cur } => s.track(
            if *add { "add_to_cart" } else { "remove_from_cart" },
            &format!(r#"{{"currency":"{cur}","items":[{{"id":"I{id}","variant":"v{variant}","quantity":{qty},"price":{price}}}]}}"#),
        ),
        Op::Purchase { order, value, cur } => {
            s.track("purchase", &format!(r#"{{"transaction_id":"O{order}","value":{value},"currency":"{cur}"}}"#))
        }
        Op::Refund { order } => s.track("refund", &format!(r#"{{"transaction_id":"O{order}","value":1,"currency":"USD"}}"#)),
        Op::Wait(ms) => {
            s.advance(*ms);
            Ok(false)
        }
        Op::Hide => {
            s.tracker.page_hidden(s.now, &mut s.rng);
            Ok(false)
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn furthest_step_never_decreases_within_a_session(ops in prop::collection::vec(op(), 1..60)) {
        let mut s = Shop::new();
        let mut last: Option<(String, i64)> = None;
        for op in &ops {
            apply(&mut s, op);
            let snap = s.snap();
            let Some(sid) = text(&snap, "sessionId").map(str::to_owned) else { continue };
            let furthest = num(&snap, "funnel.furthestIndex");
            if let Some((prev_sid, prev)) = &last {
                if *prev_sid == sid {
                    prop_assert!(furthest >= *prev, "furthest went from {} to {} after {:?}", prev, furthest, op);
                }
            }
            last = Some((sid, furthest));
        }
    }

    #[test]
    fn cart_quantities_are_never_negative(ops in prop::collection::vec(op(), 1..60)) {
        let mut s = Shop::new();
        for op in &ops {
            apply(&mut s, op);
            let snap = s.snap();
            prop_assert!(num(&snap, "cart.count") >= 0);
            for item in at(&snap, "cart.items").as_array().unwrap() {
                prop_assert!(item.get("quantity").and_then(Value::as_i64).unwrap() >= 1);
            }
            for (_, v) in at(&snap, "cart.value").as_object().unwrap() {
                prop_assert!(v.as_i64().unwrap() >= 0);
            }
        }
    }

    #[test]
    fn revenue_never_mixes_currencies(ops in prop::collection::vec(op(), 1..60)) {
        let mut s = Shop::new();
        for op in &ops {
            apply(&mut s, op);
            let snap = s.snap();
            let orders = at(&snap, "orders").as_array().unwrap();
            let revenue = at(&snap, "revenue").as_object().unwrap();
            let mut currencies: Vec<&str> = revenue.iter().map(|(c, _)| c.as_str()).collect();
            let n = currencies.len();
            currencies.sort_unstable();
            currencies.dedup();
            prop_assert_eq!(currencies.len(), n, "a currency appears twice in revenue");
            for (cur, total) in revenue {
                let sum: i64 = orders
                    .iter()
                    .filter(|o| o.get("currency").and_then(Value::as_str) == Some(cur))
                    .map(|o| o.get("value").and_then(Value::as_i64).unwrap())
                    .sum();
                prop_assert_eq!(total.as_i64().unwrap(), sum, "revenue[{}] is the sum of that currency's orders only", cur);
            }
            prop_assert_eq!(
                num(&snap, "dropped.total"),
                at(&snap, "dropped.byReason").as_object().unwrap().iter().map(|(_, v)| v.as_i64().unwrap()).sum::<i64>()
            );
        }
    }

    #[test]
    fn every_event_on_the_wire_decodes_and_seq_increases_per_session(ops in prop::collection::vec(op(), 1..60)) {
        let mut s = Shop::new();
        for op in &ops {
            apply(&mut s, op);
        }
        let events = s.sent();
        let mut last_seq: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        for e in &events {
            let prev = last_seq.insert(e.sid.clone(), e.seq).unwrap_or(0);
            prop_assert!(e.seq > prev, "seq {} after {} in session {}", e.seq, prev, e.sid);
        }
    }
}

#[derive(Debug, Clone)]
enum Net {
    Track(u8),
    Send { code: u16, force: bool },
    Unload { accepted: u8 },
    Visible,
    Wait(i64),
}

fn net_op() -> impl Strategy<Value = Net> {
    prop_oneof![
        3 => (0u8..4).prop_map(Net::Track),
        3 => (prop::sample::select(vec![0u16, 200, 400, 413, 429, 500, 503]), any::<bool>())
            .prop_map(|(code, force)| Net::Send { code, force }),
        1 => (0u8..4).prop_map(|accepted| Net::Unload { accepted }),
        1 => Just(Net::Visible),
        1 => (1i64..20_000).prop_map(Net::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_stays_bounded_and_never_loses_an_event_without_counting_it(
        ops in prop::collection::vec(net_op(), 1..120),
    ) {
        use funnelcake_core::retry::SendResult;
        let mut s = Shop::with_config(config(|c| {
            c.max_queue_events = Some(12.0);
            c.max_queue_bytes = Some(12_000.0);
            c.flush_at = Some(4.0);
            c.max_attempts = Some(3.0);
        }));
        let mut delivered = 0u64;
        for op in &ops {
            match op {
                Net::Track(kind) => {
                    let name = ["page_view", "view_item", "custom", "add_to_wishlist"][*kind as usize];
                    s.ok(name, r#"{"note":"some text to take up bytes in the queue"}"#);
                }
                Net::Send { code, force } => {
                    if let Some(b) = s.tracker.take_batch(s.now, *force) {
                        let result = if *code == 0 { SendResult::NetworkError } else { SendResult::Status { code: *code, retry_after_ms: None } };
                        if (200..300).contains(code) {
                            delivered += b.count as u64;
                        }
                        s.tracker.complete(b.id, result, s.now, 0.5);
                    }
                }
                Net::Unload { accepted } => {
                    s.tracker.page_hidden(s.now, &mut s.rng);
                    let mut offered = 0;
                    s.tracker.send_unload(s.now, |_| {
                        offered += 1;
                        offered <= *accepted as usize
                    });
                }
                Net::Visible => s.tracker.page_visible(s.now),
                Net::Wait(ms) => { s.advance(*ms); }
            }
            let q = s.tracker.queue();
            prop_assert!(q.len() <= 12, "{} events held", q.len());
            prop_assert!(q.bytes() <= 12_000, "{} bytes held", q.bytes());
            prop_assert_eq!(
                s.tracker.enqueued_total(),
                delivered + s.tracker.pending() as u64 + s.tracker.dropped_total(),
                "every queued event is delivered, pending, or dropped and counted"
            );
        }
    }
}

/// Bytes that are mostly valid UTF-8 (a random string) with up to three bytes changed, or any
/// bytes at all: the cases the decoder can get wrong are near-valid ones.
fn near_utf8() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..12),
        (any::<String>(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3)).prop_map(
            |(s, changes)| {
                let mut b = s.into_bytes();
                for (at, byte) in changes {
                    if !b.is_empty() {
                        let i = at.index(b.len());
                        b[i] = byte;
                    }
                }
                b
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// `percent_decode` decides what is text as `String::from_utf8` does (it decodes UTF-8 by
    /// hand, without the standard library's validator): every byte escaped, the bytes come back
    /// as text exactly when they are valid UTF-8, else the escaped text is kept as written.
    #[test]
    fn percent_decoding_reads_utf8_as_the_standard_library_does(bytes in near_utf8()) {
        let escaped: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
        let want = String::from_utf8(bytes).unwrap_or_else(|_| escaped.clone());
        prop_assert_eq!(funnelcake_core::source::percent_decode(&escaped), want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    /// Every finite number the SDK may be handed (any bit pattern: subnormals, the largest, the
    /// smallest) is written as a JSON number and read back as itself, or, in the exponent form
    /// (mantissa cut to 14 decimals), within 1e-13 of itself; the largest finite values may read
    /// back as infinite. (A subnormal once made the writer loop for ever.)
    #[test]
    fn every_finite_number_is_written_and_read_back(bits in any::<u64>()) {
        let n = f64::from_bits(bits);
        prop_assume!(n.is_finite());
        let mut s = String::new();
        funnelcake_core::json::write_num(&mut s, n);
        let back = funnelcake_core::json::parse_number(&s);
        prop_assert!(back.is_some(), "{} -> {}", n, s);
        let back = back.unwrap();
        if s.contains('e') {
            prop_assert!(back == n || ((back - n) / n).abs() <= 1e-13 || (back.is_infinite() && n.abs() > 1.79e308),
                "{:e} -> {} -> {:e}", n, s, back);
        } else {
            prop_assert_eq!(back, n, "{}", s);
        }
    }
}
