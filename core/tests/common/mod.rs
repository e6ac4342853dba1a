//! Test harness: a tracker driven with an integer clock and JSON-text properties.
#![allow(dead_code)]

use funnelcake_core::config::{Config, RawConfig};
use funnelcake_core::event::DropReason;
use funnelcake_core::id::SplitMix64;
use funnelcake_core::json::{parse, Value};
use funnelcake_core::metrics::KeyStyle;
use funnelcake_core::session::SessionState;
use funnelcake_core::tracker::{PageContext, Tracker};
use funnelcake_core::wire::{decode_batch, Event};

pub const T0: i64 = 1_732_270_000_000;
pub const MIN: i64 = 60_000;

pub struct Shop {
    pub tracker: Tracker,
    pub rng: SplitMix64,
    pub now: i64,
    pub ctx: PageContext,
}

pub fn config(extra: impl FnOnce(&mut RawConfig)) -> Config {
    let mut raw = RawConfig { site: Some("shop-1".into()), ..RawConfig::default() };
    extra(&mut raw);
    Config::resolve(raw).unwrap().0
}

impl Shop {
    pub fn new() -> Shop {
        Shop::with_config(config(|_| {}))
    }

    pub fn with_config(cfg: Config) -> Shop {
        let mut rng = SplitMix64(7);
        let state = SessionState::new(&mut rng);
        Shop {
            tracker: Tracker::new(cfg, state),
            rng,
            now: T0,
            ctx: PageContext { url: "/".into(), host: "shop.example".into(), ..PageContext::default() },
        }
    }

    /// A new page load of the same browser: a fresh tracker from the persisted state JSON.
    pub fn reload(&mut self) {
        let json = self.tracker.state().to_json();
        let cfg = self.tracker.config().clone();
        self.tracker = Tracker::new(cfg, SessionState::from_json(&json).expect("state restores"));
        self.tracker.page_loaded();
    }

    pub fn advance(&mut self, ms: i64) -> &mut Self {
        self.now += ms;
        self
    }

    pub fn at_url(&mut self, url: &str) -> &mut Self {
        self.ctx.url = url.into();
        self
    }

    pub fn with_referrer(&mut self, r: &str) -> &mut Self {
        self.ctx.referrer = Some(r.into());
        self
    }

    /// Tracks `name` with properties given as JSON text.
    pub fn track(&mut self, name: &str, props: &str) -> Result<bool, DropReason> {
        let props = parse(props).unwrap().as_object().unwrap().to_vec();
        self.tracker.track(name, props, &self.ctx, self.now, &mut self.rng)
    }

    pub fn ok(&mut self, name: &str, props: &str) -> &mut Self {
        self.track(name, props).unwrap_or_else(|r| panic!("{name} dropped: {}", r.as_str()));
        self
    }

    pub fn page(&mut self, url: &str) -> &mut Self {
        self.at_url(url).ok("page_view", "{}")
    }

    /// The camelCase snapshot (what `metrics()` returns).
    pub fn snap(&self) -> Value {
        self.tracker.snapshot(self.now, KeyStyle::Camel)
    }

    /// Everything queued, decoded from the wire (taking the batches).
    pub fn sent(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(b) = self.tracker.take_batch(self.now, true) {
            let decoded = decode_batch(&b.body).unwrap();
            out.extend(decoded.events.into_iter().map(Result::unwrap));
            self.tracker.complete(
                b.id,
                funnelcake_core::retry::SendResult::Status { code: 200, retry_after_ms: None },
                self.now,
                0.0,
            );
        }
        out
    }
}

/// Follows a path like `funnel.steps.2.reachedAt` into a value.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for part in path.split('.') {
        cur = match part.parse::<usize>() {
            Ok(i) => cur.as_array().and_then(|a| a.get(i)),
            Err(_) => cur.get(part),
        }
        .unwrap_or_else(|| panic!("no {part} in {path}: {}", cur.to_json()));
    }
    cur
}

pub fn num(v: &Value, path: &str) -> i64 {
    at(v, path).as_i64().unwrap_or_else(|| panic!("{path} is not an integer: {}", at(v, path).to_json()))
}

pub fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path).as_str()
}

pub fn flag(v: &Value, path: &str) -> bool {
    match at(v, path) {
        Value::Bool(b) => *b,
        other => panic!("{path} is not a bool: {}", other.to_json()),
    }
}

pub fn json(v: &Value, path: &str) -> String {
    at(v, path).to_json()
}
