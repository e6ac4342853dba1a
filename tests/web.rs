//! Browser tests of the wasm shell, run in headless Chromium by
//! `wasm-pack test --headless --chrome` (see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use funnelcake::api;
use funnelcake::storage::Store;
use funnelcake_core::retry::SendResult;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

fn config(site: &str) -> JsValue {
    let cfg = js_sys::Object::new();
    js_sys::Reflect::set(&cfg, &"site".into(), &site.into()).unwrap();
    // Nothing should leave the page in these tests: a very long interval and flushAt.
    js_sys::Reflect::set(&cfg, &"flushAt".into(), &500.into()).unwrap();
    js_sys::Reflect::set(&cfg, &"flushIntervalMs".into(), &60_000.into()).unwrap();
    cfg.into()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
fn storage_uses_versioned_keys_in_local_storage() {
    let mut store = Store::new("web-test-1", true);
    assert!(store.is_persistent());
    store.set("k", "v1");
    assert_eq!(local_storage().get_item("fc:v1:web-test-1:k").unwrap().as_deref(), Some("v1"));
    assert_eq!(store.get("k").as_deref(), Some("v1"));
}

#[wasm_bindgen_test]
fn storage_falls_back_to_memory_when_not_persisting() {
    let mut store = Store::new("web-test-2", false);
    assert!(!store.is_persistent());
    store.set("k", "in-memory");
    assert_eq!(store.get("k").as_deref(), Some("in-memory"));
    assert_eq!(local_storage().get_item("fc:v1:web-test-2:k").unwrap(), None);
}

#[wasm_bindgen_test]
fn storage_keeps_values_in_memory_when_local_storage_is_full() {
    let mut store = Store::new("web-test-3", true);
    // Larger than any browser's localStorage quota (5–10 MB): setItem throws QuotaExceededError.
    let huge = "x".repeat(12 * 1024 * 1024);
    store.set("big", &huge);
    assert_eq!(store.get("big").map(|v| v.len()), Some(huge.len()));
    assert_eq!(local_storage().get_item("fc:v1:web-test-3:big").unwrap(), None);
}

#[wasm_bindgen_test]
fn init_track_and_state_survive_in_local_storage() {
    assert!(api::init(config("web-test-4")));
    api::track("Custom Thing".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    let state = api::debug_state();
    // The automatic page_view plus the tracked event are waiting.
    assert_eq!(get(&state, "pending").as_f64(), Some(2.0));
    let sid = get(&state, "sessionId").as_string().unwrap();
    let aid = get(&state, "anonymousId").as_string().unwrap();
    assert!(funnelcake_core::wire::is_event_id(&sid) && funnelcake_core::wire::is_event_id(&aid));
    let stored = local_storage().get_item("fc:v1:web-test-4:state").unwrap().unwrap();
    assert!(stored.contains(&aid) && stored.contains(&sid), "{stored}");

    // A second init (a reload) keeps the anonymous id and the still-active session.
    assert!(api::init(config("web-test-4")));
    let again = api::debug_state();
    assert_eq!(get(&again, "anonymousId").as_string().unwrap(), aid);
    assert_eq!(get(&again, "sessionId").as_string().unwrap(), sid);
}

#[wasm_bindgen_test]
fn bad_calls_never_throw_and_are_not_recorded() {
    assert!(!api::init(JsValue::from_str("not an object")));
    assert!(!api::init(js_sys::Object::new().into()), "site is required");
    assert!(api::init(config("web-test-5")));
    let before = get(&api::debug_state(), "pending").as_f64().unwrap();
    api::track(JsValue::from_f64(42.0), JsValue::NULL, JsValue::UNDEFINED);
    api::track("".into(), JsValue::NULL, JsValue::UNDEFINED);
    assert_eq!(get(&api::debug_state(), "pending").as_f64().unwrap(), before);
}

/// `{name: "loop", self: <itself>, get boom() { throw }}`: a cycle and a throwing getter.
fn hostile_object() -> JsValue {
    let o = js_sys::Object::new();
    js_sys::Reflect::set(&o, &"name".into(), &"loop".into()).unwrap();
    js_sys::Reflect::set(&o, &"self".into(), &o).unwrap();
    let desc = js_sys::Object::new();
    let getter = js_sys::Function::new_no_args("throw new Error('hostile getter')");
    js_sys::Reflect::set(&desc, &"get".into(), &getter).unwrap();
    js_sys::Reflect::set(&desc, &"enumerable".into(), &true.into()).unwrap();
    js_sys::Object::define_property(&o, &"boom".into(), &desc);
    o.into()
}

#[wasm_bindgen_test]
fn hostile_property_objects_are_converted_without_panicking() {
    let cyclic = hostile_object();
    let props = funnelcake::convert::props(&cyclic);
    assert_eq!(props.first().map(|(k, _)| k.as_str()), Some("name"));
    // Depth is bounded, so the cycle ends in nulls instead of recursing forever.
    let text = funnelcake_core::json::Value::Obj(props).to_json();
    assert!(text.len() < 10_000, "{text}");
}

#[wasm_bindgen_test]
async fn transport_reports_a_refused_connection_as_a_network_error() {
    // Port 9 (discard) on loopback is closed here: the fetch rejects.
    let result = funnelcake::transport::post("http://127.0.0.1:9/v1/batch", "{}").await;
    assert_eq!(result, SendResult::NetworkError);
}
