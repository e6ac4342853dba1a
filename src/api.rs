//! The JS-facing API. Every function catches its own failures: nothing throws into the page.
//!
//! State lives in one thread-local [`Sdk`]; each call borrows it briefly and never across an
//! `await`, so re-entrant calls (a callback tracking from inside `flush`) cannot panic.

use std::cell::RefCell;

use funnelcake_core::config::Config;
use funnelcake_core::session::SessionState;
use funnelcake_core::tracker::{PageContext, Tracker};
use wasm_bindgen::prelude::*;

use crate::convert;
use crate::env::{self, BrowserEntropy};
use crate::scheduler::Scheduler;
use crate::storage::Store;
use crate::transport;

const STATE_KEY: &str = "state";

struct Sdk {
    tracker: Tracker,
    store: Store,
    rng: BrowserEntropy,
    scheduler: Scheduler,
}

thread_local! {
    static SDK: RefCell<Option<Sdk>> = const { RefCell::new(None) };
}

/// Runs `f` on the SDK if it is initialised and not already borrowed.
fn with_sdk<R>(f: impl FnOnce(&mut Sdk) -> R) -> Option<R> {
    SDK.with(|cell| cell.try_borrow_mut().ok().and_then(|mut s| s.as_mut().map(f)))
}

/// Initialises the SDK. Returns `false` (and logs in debug mode) when the config is unusable.
/// Calling `init` again replaces the previous configuration.
#[wasm_bindgen]
pub fn init(config: JsValue) -> bool {
    #[cfg(feature = "debug")]
    console_error_panic_hook::set_once();
    let raw = match crate::settings::read(config) {
        Ok(raw) => raw,
        Err(msg) => {
            env::debug_log(true, &format!("funnelcake: init ignored, config unreadable: {msg}"));
            return false;
        }
    };
    let (cfg, issues) = match Config::resolve(&raw) {
        Ok(ok) => ok,
        Err(e) => {
            env::debug_log(true, &e.to_string());
            return false;
        }
    };
    for issue in &issues {
        env::debug_log(cfg.debug, &format!("funnelcake: config.{} {:?}", issue.field, issue.problem));
    }
    let mut rng = BrowserEntropy::new();
    let store = Store::new(&cfg.site, true);
    let state =
        store.get(STATE_KEY).and_then(|s| SessionState::from_json(&s)).unwrap_or_else(|| SessionState::new(&mut rng));
    let auto = cfg.auto_pageviews;
    let sdk = Sdk { tracker: Tracker::new(cfg, state), store, rng, scheduler: Scheduler::default() };
    let ok = SDK.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            *slot = Some(sdk);
            true
        }
        Err(_) => false,
    });
    if ok && auto {
        record("page_view", Vec::new(), None);
    }
    ok
}

/// Context captured by the pre-load stub: `{ts, url, ref, title}`. Missing parts are read now.
fn captured_context(ctx: &JsValue) -> (i64, PageContext) {
    let now = env::now_ms();
    if ctx.is_undefined() || ctx.is_null() {
        return (now, env::page_context());
    }
    let get = |k: &str| js_sys::Reflect::get(ctx, &JsValue::from_str(k)).ok();
    let ts = get("ts").and_then(|v| v.as_f64()).filter(|t| t.is_finite() && *t > 0.0).map_or(now, |t| t as i64);
    let mut page = env::page_context();
    if let Some(url) = get("url").and_then(|v| v.as_string()) {
        page.url = url;
    }
    if let Some(r) = get("ref").and_then(|v| v.as_string()) {
        page.referrer = Some(r).filter(|s| !s.is_empty());
    }
    if let Some(t) = get("title").and_then(|v| v.as_string()) {
        page.title = Some(t).filter(|s| !s.is_empty());
    }
    (ts, page)
}

fn record(t: &str, props: Vec<(String, funnelcake_core::json::Value)>, ctx: Option<&JsValue>) {
    let (ts, page) = match ctx {
        Some(c) => captured_context(c),
        None => (env::now_ms(), env::page_context()),
    };
    with_sdk(|sdk| {
        sdk.tracker.record(t, props, &page, ts, &mut sdk.rng);
        sdk.store.set(STATE_KEY, &sdk.tracker.state().to_json());
    });
    pump(false);
}

/// Records a page view. `props` is an optional plain object.
#[wasm_bindgen]
pub fn page(props: JsValue, ctx: JsValue) {
    record("page_view", convert::props(&props), Some(&ctx));
}

/// Records a custom or canonical event `name` with optional properties.
#[wasm_bindgen]
pub fn track(name: JsValue, props: JsValue, ctx: JsValue) {
    let Some(name) = name.as_string().filter(|n| !n.trim().is_empty()) else {
        let debug = with_sdk(|s| s.tracker.config().debug).unwrap_or(false);
        env::debug_log(debug, "funnelcake: track() needs an event name; call dropped");
        return;
    };
    record(name.trim(), convert::props(&props), Some(&ctx));
}

/// Sends a batch if one is due (or `force`), then re-arms the timer for the next due time.
fn pump(force: bool) {
    let now = env::now_ms();
    let next = with_sdk(|sdk| {
        let out = sdk.tracker.take_batch(now, force);
        let endpoint = sdk.tracker.config().endpoint.clone();
        (out, endpoint)
    });
    if let Some((Some(out), endpoint)) = next {
        wasm_bindgen_futures::spawn_local(async move {
            let result = transport::post(&endpoint, &out.body).await;
            let jitter = js_sys::Math::random();
            with_sdk(|sdk| sdk.tracker.complete(out.id, result, env::now_ms(), jitter));
            pump(false);
        });
    }
    arm_timer();
}

fn arm_timer() {
    let now = env::now_ms();
    with_sdk(|sdk| {
        if let Some(at) = sdk.tracker.next_wake() {
            sdk.scheduler.wake_at(at, now, || {
                with_sdk(|sdk| sdk.scheduler.fired());
                pump(false);
            });
        }
    });
}

/// Sends everything queued now. The promise resolves with the number of events still
/// pending afterwards (0 when all were delivered); it never rejects.
#[wasm_bindgen]
pub fn flush() -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        loop {
            let now = env::now_ms();
            let Some((Some(out), endpoint)) =
                with_sdk(|sdk| (sdk.tracker.take_batch(now, true), sdk.tracker.config().endpoint.clone()))
            else {
                break;
            };
            let result = transport::post(&endpoint, &out.body).await;
            let delivered = matches!(result, funnelcake_core::retry::SendResult::Status { code: 200..=299, .. });
            let jitter = js_sys::Math::random();
            with_sdk(|sdk| sdk.tracker.complete(out.id, result, env::now_ms(), jitter));
            if !delivered {
                break;
            }
        }
        arm_timer();
        let pending = with_sdk(|s| s.tracker.pending()).unwrap_or(0);
        Ok(JsValue::from_f64(pending as f64))
    })
}

/// The SDK's ids for debugging and tests: `{anonymousId, sessionId, pending}`; `null` before `init`.
#[wasm_bindgen(js_name = debugState)]
pub fn debug_state() -> JsValue {
    with_sdk(|sdk| {
        let o = js_sys::Object::new();
        let st = sdk.tracker.state();
        let sid = st.session.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        let _ = js_sys::Reflect::set(&o, &"anonymousId".into(), &st.anonymous_id.as_str().into());
        let _ = js_sys::Reflect::set(&o, &"sessionId".into(), &sid.into());
        let _ = js_sys::Reflect::set(&o, &"pending".into(), &(sdk.tracker.pending() as f64).into());
        let _ = js_sys::Reflect::set(&o, &"persistent".into(), &sdk.store.is_persistent().into());
        JsValue::from(o)
    })
    .unwrap_or(JsValue::NULL)
}
