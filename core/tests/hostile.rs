//! Seeded random sessions fed hostile properties: numbers at the edges of `f64`, numeric
//! strings of every odd shape, lone surrogates, wrong types, deep and empty values, broken
//! URLs and referrers, experiment options of any shape, reloads and damaged stored state. The
//! tracker must never panic, and every event it queues must decode as the collector decodes it
//! (an event the collector rejects is lost). It found an item position the collector could not
//! read (a number past 2^53), an event value derived from its items past that (the largest
//! quantity of the dearest item) and, with the property test of numbers, a JSON writer that
//! never returned on subnormals.

mod common;
use common::*;
use funnelcake_core::experiment::{run, Context, Experiment};
use funnelcake_core::json::{parse, Value};
use funnelcake_core::session::SessionState;

/// xorshift64: a fixed sequence, so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

const ATOMS: &[&str] = &[
    "0",
    "-1",
    "1e-310",
    "5e-324",
    "1.7976931348623157e308",
    "1e400",
    "-0",
    "19.99",
    "9007199254740993",
    "123456789012345678901234567890",
    "1e22",
    "1e23",
    "1000000000",
    "90000000000000",
    "-1e-7",
    "0.1",
    "1.0e+2",
    "\"19.99\"",
    "\"1,234.5\"",
    "\"-3\"",
    "\"  7 \"",
    "\"1e3\"",
    "\"Infinity\"",
    "\"NaN\"",
    "\"0x10\"",
    "\"1.\"",
    "\".5\"",
    "\"--1\"",
    "\"+5\"",
    "\"1,,2\"",
    "\"1.2.3\"",
    "\"999999999999999999999\"",
    "\"abc\"",
    "\"\"",
    "null",
    "true",
    "false",
    "\"USD\"",
    "\"usd\"",
    "\"XXX\"",
    "\"€\"",
    "\"\\ud800\"",
    "\"a\\u0000b\"",
    "\"🍰\"",
    "\"%ZZ%e2%82\"",
    "[]",
    "{}",
];

const KEYS: &[&str] = &[
    "price",
    "quantity",
    "qty",
    "value",
    "currency",
    "items",
    "products",
    "item_id",
    "id",
    "sku",
    "name",
    "item_name",
    "transaction_id",
    "order_id",
    "discount",
    "tax",
    "shipping",
    "coupon",
    "step",
    "category",
    "item_category",
    "search_term",
    "x",
    "amount",
    "total",
    "revenue",
    "index",
    "position",
    "list",
    "variations",
    "weights",
    "coverage",
    "ranges",
    "force",
    "active",
    "namespace",
    "filters",
    "seed",
    "hashVersion",
    "hashAttribute",
    "attribute",
];

const NAMES: &[&str] = &[
    "add_to_cart",
    "purchase",
    "view_item",
    "begin_checkout",
    "refund",
    "remove_from_cart",
    "view_cart",
    "Order Completed",
    "Product Added",
    "checkout_step",
    "Checkout Step Completed",
    "search",
    "custom",
    "page_view",
    "experiment_viewed",
    "session_summary",
    "",
    " ",
    "🍰 Cake\u{0}",
    "\u{feff}purchase",
];

const URLS: &[&str] = &[
    "/",
    "/?utm_source=%ZZ&utm_medium=%E2%82",
    "/?gclid=1&utm_campaign=%F0%9F%8D%B0",
    "https://x/?a=%",
    "/?fc_exp_k=1e-310",
    "/?fc_exp_k=99999999999999999999",
    "",
    "?",
    "/#?q=1",
    "/?q=%00",
];

const REFERRERS: &[&str] = &[
    "https://www.google.com/search?q=x",
    "http://[::1]:80/",
    "https://user@@host:99999/",
    "not a url",
    "https://WWW.FACEBOOK.COM/",
    "android-app://com.google.android.gm/",
    "",
];

fn value(r: &mut Rng, depth: u32) -> String {
    match if depth > 3 { 0 } else { r.below(4) } {
        0 | 1 => r.pick(ATOMS).to_owned(),
        2 => {
            let parts: Vec<String> = (0..r.below(5)).map(|_| value(r, depth + 1)).collect();
            format!("[{}]", parts.join(","))
        }
        _ => object(r, depth + 1),
    }
}

fn object(r: &mut Rng, depth: u32) -> String {
    let parts: Vec<String> = (0..r.below(7))
        .map(|_| {
            let key = r.pick(KEYS);
            // Half the item lists are lists of items that pass the item checks (an id), with
            // hostile money fields: random values alone seldom make an item the SDK keeps.
            let v = if matches!(key, "items" | "products") && r.below(2) == 0 { items(r) } else { value(r, depth) };
            format!("\"{key}\":{v}")
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Money fields of the generated items: the bounds (the largest quantity, the largest price in
/// a two-decimal currency) among ordinary and broken amounts.
const MONEY: &[&str] = &["1", "19.99", "\"1,234.5\"", "1000000000", "90000000000000", "null", "-1", "1e400", "\"x\""];

fn items(r: &mut Rng) -> String {
    let list: Vec<String> = (0..1 + r.below(3))
        .map(|i| {
            let (price, qty, discount) = (r.pick(MONEY), r.pick(MONEY), r.pick(MONEY));
            format!(r#"{{"id":"I{i}","price":{price},"quantity":{qty},"discount":{discount}}}"#)
        })
        .collect();
    format!("[{}]", list.join(","))
}

#[test]
fn hostile_properties_never_panic_and_every_queued_event_decodes_at_the_collector() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    for _ in 0..20_000 {
        let mut s = Shop::new();
        s.ctx.url = r.pick(URLS).into();
        s.ctx.referrer = Some(r.pick(REFERRERS).to_owned()).filter(|x| !x.is_empty());
        for _ in 0..r.below(8) {
            let name = r.pick(NAMES);
            if let Ok(Value::Obj(props)) = parse(&object(&mut r, 0)) {
                let (ctx, now) = (s.ctx.clone(), s.now);
                let _ = s.tracker.track(name, props, &ctx, now, &mut s.rng);
            }
            if r.below(5) == 0 {
                s.advance(r.below(4_000_000) as i64);
            }
            if r.below(7) == 0 {
                s.reload();
            }
        }
        let _ = s.snap();
        // `sent()` decodes each batch as the collector does and fails on any event it rejects.
        let _ = s.sent();
        let mut stored = s.tracker.state().to_json().into_bytes();
        let cut = r.below(stored.len() + 1);
        stored.truncate(cut);
        let _ = SessionState::from_json(&String::from_utf8_lossy(&stored));
        if let Ok(opts) = parse(&object(&mut r, 0)) {
            if let Some(exp) = Experiment::from_options("k", &opts) {
                let ctx = Context {
                    attributes: &[("id", "visitor")],
                    url: &s.ctx.url,
                    query_prefix: "fc_exp_",
                    ..Context::default()
                };
                let _ = run(&ctx, &exp);
            }
        }
    }
}
