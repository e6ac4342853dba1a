//! Browser tests of the wasm shell, run in headless Chromium by
//! `wasm-pack test --headless --chrome` (see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use funnelcake::api;
use funnelcake::lifecycle::signal;
use funnelcake::storage::Store;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap()
}

/// `init` as the loader calls it, without a captured page context, with the page scripts the
/// wasm asks for Web Locks, fetch, sendBeacon, storage and random bytes in place.
fn init(config: JsValue) -> bool {
    page_scripts();
    api::init(config, JsValue::UNDEFINED)
}

/// `metrics()` as the loader hands it to the page: the wasm's JSON text, parsed (`null` before
/// `init`).
fn metrics() -> JsValue {
    api::metrics().as_string().map_or(JsValue::NULL, |t| js_sys::JSON::parse(&t).unwrap())
}

/// `debugState()` as the loader hands it to the page.
fn debug_state() -> JsValue {
    api::debug_state().as_string().map_or(JsValue::NULL, |t| js_sys::JSON::parse(&t).unwrap())
}

/// `debugState().pending`: the events not yet delivered.
fn pending() -> f64 {
    get(&debug_state(), "pending").as_f64().unwrap()
}

/// `flush()` as the loader makes it: a promise whose body is `fcNet.flush` (js/net.js), which
/// steps the `flush` export and holds the waiting calls.
fn flush() -> wasm_bindgen_futures::JsFuture {
    let net = get(&js_sys::global(), "fcNet");
    let step: js_sys::Function = get(&net, "flush").into();
    js_sys::Promise::new(&mut |resolve, _| {
        step.call1(&net, &resolve).unwrap();
    })
    .into()
}

/// Installs js/tabs.js, js/net.js and js/env.js as funnelcake.js has them (`fcTabs`, `fcNet`,
/// `fcEnv`), calling back the SDK's `claimed`, `adopt`, `sent`, `wake` and `flush` exports and
/// reading this page's window, as the loader sets them up. Once per page.
fn page_scripts() {
    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    if DONE.with(|d| d.replace(true)) {
        return;
    }
    let src = concat!(
        include_str!("../js/native.js"),
        include_str!("../js/tabs.js"),
        include_str!("../js/net.js"),
        include_str!("../js/env.js"),
        "\nreturn [fcTabs, fcNet, fcEnv];"
    );
    let helpers: js_sys::Array = js_sys::Function::new_no_args(src).call0(&JsValue::NULL).unwrap().into();
    let sdk = js_sys::Object::new();
    let set = |o: &JsValue, k: &str, v: &JsValue| js_sys::Reflect::set(o, &JsValue::from_str(k), v).unwrap();
    let sent = |batch: f64, status: f64, retry_after: JsValue| api::sent(batch, status as u16, retry_after);
    set(&sdk, "sent", &Closure::<dyn FnMut(f64, f64, JsValue) -> i32>::new(sent).into_js_value());
    set(&sdk, "flush", &Closure::<dyn FnMut() -> i32>::new(api::flush).into_js_value());
    set(&sdk, "claimed", &Closure::<dyn FnMut(JsValue)>::new(api::claimed).into_js_value());
    set(&sdk, "adopt", &Closure::<dyn FnMut(JsValue) -> bool>::new(api::adopt).into_js_value());
    set(&sdk, "wake", &Closure::<dyn FnMut()>::new(api::wake).into_js_value());
    let window: JsValue = web_sys::window().unwrap().into();
    for (name, helper) in ["fcTabs", "fcNet", "fcEnv"].into_iter().zip(helpers.iter()) {
        set(&js_sys::global(), name, &helper);
        if name != "fcEnv" {
            let use_fn: js_sys::Function = get(&helper, "use").into();
            use_fn.call2(&helper, &sdk, &window).unwrap();
        }
    }
    use_window(&window);
}

/// `fcEnv.use(window)`: the window whose `localStorage` and `crypto` the SDK reaches.
fn use_window(window: &JsValue) {
    let env = get(&js_sys::global(), "fcEnv");
    let use_fn: js_sys::Function = get(&env, "use").into();
    use_fn.call1(&env, window).unwrap();
}

/// Config as the loader sends it (in tape form: [`js`]). Nothing should leave the page in
/// these tests: a very long interval and flushAt.
fn config_with(site: &str, extra: &str) -> JsValue {
    js(&format!(r#"{{"site":"{site}","flushAt":500,"flushIntervalMs":60000{extra}}}"#))
}

fn config(site: &str) -> JsValue {
    config_with(site, "")
}

/// Properties, options or config as the loader sends them: in the tape form js/env.js writes
/// (`fcEnv.json` of the JSON text; `null` if it is not JSON).
fn js(json: &str) -> JsValue {
    page_scripts();
    let env = get(&js_sys::global(), "fcEnv");
    let to_tape: js_sys::Function = get(&env, "json").into();
    to_tape.call1(&env, &JsValue::from_str(json)).unwrap()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
fn storage_uses_versioned_keys_in_local_storage() {
    page_scripts();
    let mut store = Store::new("web-test-1", true);
    assert!(store.is_persistent());
    store.set("k", &"v1".into());
    assert_eq!(local_storage().get_item("fc:v1:web-test-1:k").unwrap().as_deref(), Some("v1"));
    assert_eq!(store.get("k").as_deref(), Some("v1"));
}

#[wasm_bindgen_test]
fn storage_falls_back_to_memory_when_not_persisting() {
    page_scripts();
    let mut store = Store::new("web-test-2", false);
    assert!(!store.is_persistent());
    store.set("k", &"in-memory".into());
    assert_eq!(store.get("k").as_deref(), Some("in-memory"));
    assert_eq!(local_storage().get_item("fc:v1:web-test-2:k").unwrap(), None);
}

#[wasm_bindgen_test]
fn storage_keeps_values_in_memory_when_local_storage_is_full() {
    page_scripts();
    let mut store = Store::new("web-test-3", true);
    // Larger than any browser's localStorage quota (5–10 MB): setItem throws QuotaExceededError.
    let huge = "x".repeat(12 * 1024 * 1024);
    store.set("big", &huge.as_str().into());
    assert_eq!(store.get("big").map(|v| v.len()), Some(huge.len()));
    assert_eq!(local_storage().get_item("fc:v1:web-test-3:big").unwrap(), None);
    assert!(!store.is_persistent(), "a value storage refused is held in memory");
    store.set("big", &"small".into());
    assert!(store.is_persistent(), "until a write of it succeeds");
    assert_eq!(local_storage().get_item("fc:v1:web-test-3:big").unwrap().as_deref(), Some("small"));
}

/// Lets timers due now run (the SDK writes storage once per task, on a 0 ms timer).
async fn next_task() {
    gloo_timers::future::TimeoutFuture::new(1).await;
}

#[wasm_bindgen_test]
async fn init_track_and_state_survive_in_local_storage() {
    assert!(init(config("web-test-4")));
    api::track("Custom Thing".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    next_task().await;
    let state = debug_state();
    // The automatic page_view plus the tracked event are waiting.
    assert_eq!(get(&state, "pending").as_f64(), Some(2.0));
    let sid = get(&state, "sessionId").as_string().unwrap();
    let aid = get(&state, "anonymousId").as_string().unwrap();
    assert!(funnelcake_core::wire::is_event_id(&sid) && funnelcake_core::wire::is_event_id(&aid));
    let memory = get(&state, "memoryBytes").as_f64().unwrap();
    assert!(memory >= 65_536.0 && memory % 65_536.0 == 0.0, "whole wasm pages: {memory}");
    let stored = local_storage().get_item("fc:v1:web-test-4:state").unwrap().unwrap();
    assert!(stored.contains(&aid) && stored.contains(&sid), "{stored}");

    // A second init (a reload) keeps the anonymous id and the still-active session.
    assert!(init(config("web-test-4")));
    let again = debug_state();
    assert_eq!(get(&again, "anonymousId").as_string().unwrap(), aid);
    assert_eq!(get(&again, "sessionId").as_string().unwrap(), sid);
}

/// A first visit has no stored state: nothing is handed to `JSON.parse` (`fcEnv.json`), which
/// would throw on the empty text (caught, but a stop for a page developer's debugger paused on
/// caught exceptions).
#[wasm_bindgen_test]
async fn a_first_visit_reads_no_stored_state() {
    local_storage().remove_item("fc:v1:web-first:state").unwrap();
    let cfg = config("web-first");
    let seen = js_sys::Function::new_no_args(
        "var seen = [], real = fcEnv.json; fcEnv.json = function (t) { seen.push(t); return real(t); };\n\
         return { seen: seen, done: function () { fcEnv.json = real; } };",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    assert!(init(cfg));
    next_task().await;
    js_sys::Function::from(get(&seen, "done")).call0(&JsValue::NULL).unwrap();
    let seen = js_sys::Array::from(&get(&seen, "seen"));
    assert!(!seen.includes(&JsValue::from_str(""), 0), "the empty text handed over: {seen:?}");
    assert!(local_storage().get_item("fc:v1:web-first:state").unwrap().is_some(), "the new state written");
}

#[wasm_bindgen_test]
async fn state_in_a_form_this_build_cannot_read_starts_fresh_and_is_rewritten() {
    // The keyed form of development builds before 0.1.0: not read (a format this build cannot
    // read is damaged state to it; an incompatible form would take new `fc:v2:` keys).
    let old = format!(
        r#"{{"aid":"0123456789abcdef0123456789abcdef","visits":2,"s":{{"id":"00000000000000000000000000000001","start":1,"last":{},"seq":3,"visit":2,"m":{{}}}}}}"#,
        js_sys::Date::now()
    );
    local_storage().set_item("fc:v1:web-upgrade:state", &old).unwrap();
    assert!(init(config("web-upgrade")));
    next_task().await;
    let state = debug_state();
    let aid = get(&state, "anonymousId").as_string().unwrap();
    assert_ne!(aid, "0123456789abcdef0123456789abcdef", "a new visitor");
    let stored = local_storage().get_item("fc:v1:web-upgrade:state").unwrap().unwrap();
    assert!(stored.starts_with(&format!(r#"["{aid}",1,"#)), "rewritten in the current form, visit 1: {stored}");
}

#[wasm_bindgen_test]
async fn another_tabs_write_is_adopted_unless_it_is_in_a_form_this_build_cannot_read() {
    let key = "fc:v1:web-mixed:state";
    assert!(init(config("web-mixed")));
    next_task().await;
    let state = debug_state();
    let (aid, sid) = (get(&state, "anonymousId").as_string().unwrap(), get(&state, "sessionId").as_string().unwrap());
    let other = "0123456789abcdef0123456789abcdef";

    // A tab writes a form this build cannot read (the keyed one of development builds before
    // 0.1.0): not adopted, the session goes on.
    let old = format!(
        r#"{{"aid":"{other}","visits":9,"s":{{"id":"00000000000000000000000000000001","start":1,"last":{},"seq":3,"visit":9,"m":{{}}}}}}"#,
        js_sys::Date::now()
    );
    local_storage().set_item(key, &old).unwrap();
    api::lifecycle(signal::STORAGE);
    api::track("Custom Thing".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    next_task().await;
    let state = debug_state();
    assert_eq!(get(&state, "anonymousId").as_string().unwrap(), aid);
    assert_eq!(get(&state, "sessionId").as_string().unwrap(), sid);

    // A tab of this build writes (another visitor's identity, say after `reset()` there): adopted.
    let current = local_storage().get_item(key).unwrap().unwrap();
    assert!(current.starts_with('['), "{current}");
    local_storage().set_item(key, &current.replacen(&aid, other, 1)).unwrap();
    api::lifecycle(signal::STORAGE);
    api::track("Custom Thing".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    next_task().await;
    assert_eq!(get(&debug_state(), "anonymousId").as_string().as_deref(), Some(other));
}

#[wasm_bindgen_test]
fn bad_calls_never_throw_and_are_not_recorded() {
    assert!(!init(JsValue::from_str("not an object")));
    assert!(!init(js_sys::Object::new().into()), "not tape text");
    assert!(!init(JsValue::from_str(r#"{"site":"web-json"}"#)), "JSON text is not the tape form");
    assert!(!init(js("[1]")), "not an object");
    assert!(!init(js("{}")), "site is required");
    assert!(init(config("web-test-5")));
    let before = pending();
    api::track(JsValue::from_f64(42.0), JsValue::NULL, JsValue::UNDEFINED);
    api::track("".into(), JsValue::NULL, JsValue::UNDEFINED);
    assert_eq!(pending(), before);
}

#[wasm_bindgen_test]
fn odd_property_text_is_ignored_without_panicking() {
    assert!(init(config("web-odd")));
    let before = pending();
    // Not the tape form, not an object, too deep, too long: the event is kept without properties.
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let long = format!(r#"{{"x":"{}"}}"#, "y".repeat(70_000));
    for props in [js("{not json"), js("[1,2]"), js(&deep), js(&long), JsValue::from_f64(3.0), JsValue::NULL] {
        api::track("odd".into(), props, U);
    }
    assert_eq!(pending(), before + 6.0);
    // Numbers at the edges of f64 are kept and encoded (a subnormal once hung the encoder).
    api::track("odd".into(), js(r#"{"tiny":1e-310,"least":5e-324,"huge":1.7e308,"neg":-2.5e-315}"#), U);
    assert_eq!(pending(), before + 7.0);
}

#[wasm_bindgen_test]
async fn a_refused_connection_is_a_network_error_and_flush_reports_what_is_left() {
    // Port 9 (discard) on loopback is closed here: js/net.js's fetch rejects, `sent` gets 0.
    assert!(init(config_with("web-refused", r#","endpoint":"http://127.0.0.1:9/v1/batch""#)));
    api::track("refused".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    let left = flush().await.unwrap().as_f64().unwrap();
    assert!(left >= 2.0, "page_view and the event are still pending: {left}");
}

#[wasm_bindgen_test]
async fn on_a_page_whose_fetch_and_timers_throw_a_send_is_reported_failed_and_nothing_throws() {
    // js/net.js as funnelcake.js has it, on a page whose `fetch` and `setTimeout` throw and
    // which has no `sendBeacon`: the send is started, and its failure reported (status 0) from
    // the promise whose executor caught the throw, which needs no timer. The imports from
    // js/net.js have no `catch`: this is what keeps an exception from crossing into the wasm.
    page_scripts();
    let global = js_sys::global();
    let (real_net, real_timer) = (get(&global, "fcNet"), get(&global, "setTimeout"));
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&global, &JsValue::from_str(k), v).unwrap();
    let src = concat!(
        include_str!("../js/native.js"),
        include_str!("../js/net.js"),
        "\nvar heard = [];
        fcNet.use({sent: function (batch, status, retryAfter) { heard.push([batch, status, retryAfter]); return 0; }},
            {fetch: function () { throw new Error('blocked'); }, navigator: {}, document: {hidden: true}});
        fcNet.heard = heard;
        return fcNet;"
    );
    let net = js_sys::Function::new_no_args(src).call0(&JsValue::NULL).unwrap();
    set("fcNet", &net);
    set("setTimeout", &js_sys::Function::new_no_args("throw new Error('no timers');").into());
    let sent = funnelcake::transport::post("http://127.0.0.1:9/v1/batch", "{}", 1);
    let beacon = funnelcake::transport::beacon("http://127.0.0.1:9/v1/batch", "{}");
    set("setTimeout", &real_timer);
    set("fcNet", &real_net);
    assert_eq!(sent, Ok(()));
    assert!(!beacon);
    gloo_timers::future::TimeoutFuture::new(1).await;
    let heard = js_sys::JSON::stringify(&get(&net, "heard")).unwrap();
    assert_eq!(heard.as_string().as_deref(), Some("[[1,0,null]]"));
}

#[wasm_bindgen_test]
fn init_with_no_window_or_a_hostile_one_keeps_ids_and_state_in_memory() {
    page_scripts();
    let hostile = js_sys::Function::new_no_args(
        "return {get crypto() { throw new Error('no crypto'); }, get localStorage() { throw new Error('blocked'); }};",
    )
    .call0(&JsValue::NULL)
    .unwrap();
    for (site, window) in [("web-no-window", U), ("web-hostile-window", hostile)] {
        use_window(&window);
        assert!(api::init(config(site), U));
        api::track("x".into(), U, U);
        // The commit after the calls' task (the timer's `wake`), run now: storage refuses it.
        api::wake();
        let state = debug_state();
        assert_eq!(get(&state, "persistent"), JsValue::FALSE);
        let id = get(&state, "anonymousId").as_string().unwrap();
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_eq!(get(&state, "pending").as_f64(), Some(2.0), "the page view and the event");
    }
    use_window(&web_sys::window().unwrap().into());
}

/// A stand-in for `fcNet` that records the sends and timer requests the wasm makes, while the
/// test plays the browser: it reports each send's outcome and fires the timer itself.
fn recording_net() -> JsValue {
    let src = "var f = {posts: [], wakes: [], post: function (u, b, batch) { f.posts.push(batch); return true; },
        beacon: function () { return false; }, wake: function (ms) { f.wakes.push(ms); return true; },
        hide: function () {}};
        return f;";
    js_sys::Function::new_no_args(src).call0(&JsValue::NULL).unwrap()
}

/// The persisted queues of `site`'s tabs: (key, events in it).
fn queues(site: &str) -> Vec<(String, usize)> {
    let storage = local_storage();
    let prefix = format!("fc:v1:{site}:q:");
    let mut out = Vec::new();
    for i in 0..storage.length().unwrap() {
        let key = storage.key(i).unwrap().unwrap();
        if key.starts_with(&prefix) {
            let events = storage.get_item(&key).unwrap().unwrap().matches(r#""aid":"#).count();
            out.push((key, events));
        }
    }
    out
}

#[wasm_bindgen_test]
async fn into_the_back_forward_cache_the_queue_is_handed_on_and_taken_back_when_shown_again() {
    let site = "web-bfcache";
    assert!(init(config(site)));
    api::track("x".into(), U, U);
    // This tab's lock is granted (js/tabs.js, a browser round trip), then its queue is written.
    until(|| !queues(site).is_empty()).await;
    assert_eq!(queues(site).len(), 1, "the tab owns its queue");
    api::lifecycle(signal::CACHED);
    // The page view, x and the hide's summary (beaconed, parked in case the beacon is lost) are
    // in the queue's key, and only there: the lock is released for whichever tab takes them.
    assert_eq!(pending(), 0.0, "let go");
    let left = queues(site);
    assert_eq!(left.iter().map(|q| q.1).collect::<Vec<_>>(), [3], "{left:?}");
    api::lifecycle(signal::HIDDEN); // its visibilitychange: nothing more
    assert_eq!(queues(site), left);

    // Shown again: a new tab, which asks for its own lock and then takes over the old queue
    // (no other tab did).
    api::lifecycle(signal::VISIBLE);
    until(|| pending() > 0.0).await;
    assert_eq!(pending(), 3.0, "taken back");
    let now = queues(site);
    assert_eq!(now.len(), 1, "{now:?}");
    assert!(now[0].0 != left[0].0 && now[0].1 == 3, "under the new tab's key: {now:?}");
}

/// Waits (at most 50 tasks) for `done`.
async fn until(done: impl Fn() -> bool) {
    for _ in 0..50 {
        if done() {
            break;
        }
        next_task().await;
    }
}

#[wasm_bindgen_test]
async fn initialised_again_the_sdk_goes_on_as_the_same_tab_with_every_queued_event() {
    let (site, other) = ("web-again", "web-again-other");
    assert!(init(config(site)));
    api::track("x".into(), U, U);
    until(|| !queues(site).is_empty()).await;
    let first = queues(site);
    assert_eq!(first.iter().map(|q| q.1).collect::<Vec<_>>(), [2], "{first:?}");
    // The same site again: the same page, so no second page view; y joins the page view and
    // x under the same key.
    assert!(init(config(site)));
    assert_eq!(pending(), 2.0);
    api::track("y".into(), U, U);
    until(|| queues(site)[0].1 == 3).await;
    let again = queues(site);
    assert!(again.len() == 1 && again[0] == (first[0].0.clone(), 3), "{again:?}");

    // Another site: the first tab's lock is let go, so its written queue is taken over by the
    // next tab of that site (here this page, initialised for it once more).
    assert!(init(config(other)));
    assert!(init(config(site)));
    until(|| pending() == 4.0).await;
    assert_eq!(pending(), 4.0, "the three queued events and this site's new page view");
    let last = queues(site);
    assert!(last.len() == 1 && last[0].0 != first[0].0 && last[0].1 == 4, "{last:?}");
}

/// The SDK an `init` replaces is not freed (its drop code was 246 bytes gzip of the wasm, paid
/// by every page for a call most pages never make twice). What would be most of it is: its
/// queue goes on in the new SDK or, for another site, is emptied (it was written under that
/// site's key), and its last written state is let go. About 700 bytes stay behind per `init`.
#[wasm_bindgen_test]
async fn initialised_again_many_times_the_sdk_leaves_under_a_kilobyte_behind_each_time() {
    let memory = || get(&debug_state(), "memoryBytes").as_f64().unwrap();
    let site = |i: usize| config_with(["web-reinit-a", "web-reinit-b"][i % 2], r#","autoPageviews":false"#);
    for i in 0..20 {
        assert!(init(site(i)));
        api::track("x".into(), U, U);
    }
    let before = memory();
    for i in 0..1000 {
        assert!(init(site(i)));
        api::track("x".into(), U, U);
    }
    let grown = memory() - before;
    assert!(grown <= 1024.0 * 1024.0, "1,000 inits took {grown} bytes more");
    next_task().await;
}

#[wasm_bindgen_test]
async fn initialised_again_under_a_privacy_signal_the_visitor_session_and_cart_go_on() {
    // An honoured Do Not Track / Global Privacy Control signal: ids live in memory for the
    // page, so a second `init` (a single-page app mounting it again) must not start over.
    let init_signalled = || {
        page_scripts();
        api::init(config("web-signal"), js(r#"{"signal":true}"#))
    };
    let summary = |m: &JsValue| {
        let cart = get(m, "cart");
        (get(m, "anonymousId").as_string(), get(m, "sessionId").as_string(), get(&cart, "count").as_f64())
    };
    assert!(init_signalled());
    api::track("add_to_cart".into(), js(r#"{"items":[{"id":"a","price":5,"quantity":3}]}"#), U);
    next_task().await;
    let before = summary(&metrics());
    assert!(before.1.is_some() && before.2 == Some(3.0), "{before:?}");
    assert_eq!(local_storage().get_item("fc:v1:web-signal:state").unwrap(), None, "nothing is stored");
    assert!(init_signalled());
    assert_eq!(summary(&metrics()), before);
}

fn last_number(list: &JsValue) -> f64 {
    let list: js_sys::Array = list.clone().into();
    list.at(-1).as_f64().unwrap_or_else(|| panic!("empty: {list:?}"))
}

#[wasm_bindgen_test]
async fn a_retry_after_header_sets_when_the_timer_wakes_for_the_retry() {
    page_scripts();
    let global = js_sys::global();
    let real = get(&global, "fcNet");
    let mut retry_in = Vec::new();
    for (site, retry_after) in [("web-retry-after", JsValue::from_str("120")), ("web-no-retry-after", JsValue::NULL)] {
        let net = recording_net();
        js_sys::Reflect::set(&global, &JsValue::from_str("fcNet"), &net).unwrap();
        assert!(init(js(&format!(r#"{{"site":"{site}","flushAt":1}}"#))));
        api::track("x".into(), U, U);
        next_task().await; // this tab's Web Lock is granted (js/tabs.js): its queue is its own
        api::wake(); // the commit's timer fires: the batch is due (flushAt 1) and goes out
        let batch = last_number(&get(&net, "posts"));
        api::sent(batch, 503, retry_after);
        retry_in.push(last_number(&get(&net, "wakes")));
    }
    js_sys::Reflect::set(&global, &JsValue::from_str("fcNet"), &real).unwrap();
    // Retry-After: 120 s; without it the first backoff step (about a second).
    assert!((119_000.0..=120_000.0).contains(&retry_in[0]), "{retry_in:?}");
    assert!(retry_in[1] < 10_000.0, "{retry_in:?}");
}

fn path(v: &JsValue, dotted: &str) -> JsValue {
    dotted.split('.').fold(v.clone(), |cur, k| get(&cur, k))
}

const U: JsValue = JsValue::UNDEFINED;

#[wasm_bindgen_test]
fn helpers_drive_the_funnel_and_metrics_reads_it_back() {
    assert!(init(config("web-funnel")));
    let item = r#"{"item_id":"SKU-1","item_name":"Trail Runner","price":119,"currency":"USD"}"#;
    api::track("view_item".into(), js(item), U);
    api::track("add_to_cart".into(), js(item), U);
    api::track("begin_checkout".into(), js(r#"{"currency":"USD","items":[{"item_id":"SKU-1","price":119}]}"#), U);
    api::track("Checkout Step Completed".into(), js(r#"{"step":"shipping","shipping_tier":"ground"}"#), U);
    api::track("Checkout Step Completed".into(), js(r#"{"step":3}"#), U);
    let m = metrics();
    assert_eq!(path(&m, "funnel.furthestStep").as_string().as_deref(), Some("add_payment_info"));
    assert_eq!(path(&m, "checkoutAbandoned").as_bool(), Some(true));
    assert_eq!(path(&m, "cart.value.USD").as_f64(), Some(11_900.0));

    api::track(
        "purchase".into(),
        js(r#"{"transaction_id":"W-1","value":"119.00","currency":"USD","items":[{"item_id":"SKU-1","price":119}]}"#),
        U,
    );
    let m = metrics();
    assert_eq!(path(&m, "funnel.converted").as_bool(), Some(true));
    assert_eq!(path(&m, "funnel.skippedSteps").as_bool(), Some(false));
    assert_eq!(path(&m, "revenue.USD").as_f64(), Some(11_900.0));
    assert_eq!(path(&m, "orderCount").as_f64(), Some(1.0));
    assert_eq!(path(&m, "cartAbandoned").as_bool(), Some(false));
    assert_eq!(path(&m, "pageViews").as_f64(), Some(1.0), "the automatic page view");
}

#[wasm_bindgen_test]
fn bad_input_is_counted_in_metrics_dropped() {
    assert!(init(config("web-dropped")));
    api::track("add_to_cart".into(), js(r#"{"item_id":"A","quantity":-1}"#), U);
    api::track("add_to_cart".into(), js(r#"{"item_id":"A","quantity":"NaN"}"#), U);
    api::track("purchase".into(), js(r#"{"value":5}"#), U);
    api::track(JsValue::NULL, U, U);
    let m = metrics();
    assert_eq!(path(&m, "dropped.total").as_f64(), Some(4.0));
    assert_eq!(path(&m, "dropped.byReason.invalid_quantity").as_f64(), Some(2.0));
    assert_eq!(path(&m, "dropped.byReason.missing_order_id").as_f64(), Some(1.0));
    assert_eq!(path(&m, "dropped.byReason.missing_name").as_f64(), Some(1.0));
}

#[wasm_bindgen_test]
fn a_purchase_repeated_after_a_reload_is_dropped() {
    assert!(init(config("web-dupe")));
    let order = r#"{"transaction_id":"R-1","value":10,"currency":"EUR"}"#;
    api::track("purchase".into(), js(order), U);
    assert!(init(config("web-dupe")), "a reload re-initialises from localStorage");
    api::track("purchase".into(), js(order), U);
    let m = metrics();
    assert_eq!(path(&m, "orderCount").as_f64(), Some(1.0));
    assert_eq!(path(&m, "dropped.byReason.duplicate_order").as_f64(), Some(1.0));
}

/// Text crosses into the wasm through the allocator (js/env.js encodes it, the wasm allocates
/// its length and decodes what was copied), and out again: ids of many lengths and mixes of 1- to
/// 4-byte characters, each in its own size class, come back from `metrics()` as they went in.
#[wasm_bindgen_test]
fn text_of_every_length_and_width_survives_the_round_trip() {
    assert!(init(config("web-text")));
    let mut ids = Vec::new();
    for n in [0usize, 1, 3, 7, 12, 31, 60, 127, 200] {
        for (i, wide) in ["ü", "€", "🛒"].iter().enumerate() {
            let id = format!("{}{}{i}", "a".repeat(n % 17), wide.repeat(n.max(1)));
            let id: String = id.chars().take(256).collect();
            let props = format!(r#"{{"item_id":"{id}","price":1,"currency":"USD"}}"#);
            api::track("add_to_cart".into(), js(&props), U);
            ids.push(id);
        }
    }
    let items = js_sys::Array::from(&path(&metrics(), "cart.items"));
    let got: Vec<String> = items.iter().map(|it| get(&it, "id").as_string().unwrap_or_default()).collect();
    assert_eq!(got, ids);
}

/// The page's strings are decoded, not trusted: a lone surrogate (which UTF-8 cannot hold)
/// arrives as U+FFFD; a `TextEncoder` the page replaced with one writing invalid UTF-8 leaves the
/// call unrecorded, and nothing throws or panics.
#[wasm_bindgen_test]
fn page_strings_are_decoded_not_trusted() {
    assert!(init(config("web-text-in")));
    let run = |src: &str| js_sys::Function::new_no_args(src).call0(&JsValue::NULL).unwrap();
    api::track(
        "add_to_cart".into(),
        run(r#"return fcEnv.tape({ item_id: 'a\ud800b', price: 1, currency: 'USD' }, 0);"#),
        U,
    );
    let items = js_sys::Array::from(&path(&metrics(), "cart.items"));
    assert_eq!(get(&items.get(0), "id").as_string().as_deref(), Some("a\u{FFFD}b"));

    let global = js_sys::global();
    let real = get(&global, "fcEnv");
    let before = pending();
    let invalid = concat!(
        "var TextEncoder = function () {\n",
        "  this.encodeInto = function (s, dst) { dst.fill(0xff); return { read: s.length, written: s.length }; };\n",
        "};\n",
        include_str!("../js/env.js"),
        "\nfcEnv.use(self);\nreturn fcEnv;"
    );
    js_sys::Reflect::set(&global, &JsValue::from_str("fcEnv"), &run(invalid)).unwrap();
    api::track("odd_encoder_é".into(), U, U);
    assert_eq!(pending(), before, "a name that did not decode is not recorded");
    js_sys::Reflect::set(&global, &JsValue::from_str("fcEnv"), &real).unwrap();
    api::track("again".into(), U, U);
    assert_eq!(pending(), before + 1.0);
}

#[wasm_bindgen_test]
fn metrics_follow_each_tracked_call() {
    // `on('metrics')` listeners are the loader's (js/test/loader.test.mjs); they read this.
    assert!(init(config("web-on")));
    api::track("add_to_cart".into(), js(r#"{"item_id":"A","price":1,"currency":"USD"}"#), U);
    assert_eq!(path(&metrics(), "cart.count").as_f64(), Some(1.0));
    api::track("add_to_cart".into(), js(r#"{"item_id":"A","price":1,"currency":"USD","quantity":2}"#), U);
    assert_eq!(path(&metrics(), "cart.count").as_f64(), Some(3.0));
}

#[wasm_bindgen_test]
fn captured_context_from_the_preload_queue_is_used() {
    assert!(init(config("web-ctx")));
    let ctx = js(r#"{"ts":1700000000000,"url":"/queued?x=1","ref":"https://www.bing.com/","title":"Queued"}"#);
    api::track("page_view".into(), U, ctx);
    let m = metrics();
    assert_eq!(path(&m, "exitPage").as_string().as_deref(), Some("/queued?x=1"));
}

#[wasm_bindgen_test]
fn a_page_address_past_the_event_limit_is_cut_and_its_events_are_kept() {
    // An app keeping its state in the query string: an address of 20,000 characters (40,000
    // bytes), more than the 32 KB an event may have. Every event carries the page, so each was
    // dropped as `too_large`; the address, referrer and title are now cut to what the collector
    // keeps. (The whole context stays under the 64 KiB the shell copies in.)
    assert!(init(config("web-long-url")));
    let (long, mid) = ("é".repeat(20_000), "é".repeat(3_000));
    let ctx = js(&format!(r#"{{"url":"/list?state={long}","ref":"https://example.org/?{mid}","title":"{mid}"}}"#));
    let before = pending();
    api::track("page_view".into(), U, ctx);
    assert_eq!(pending(), before + 1.0, "the event is queued, not dropped");
    assert_eq!(path(&metrics(), "dropped.total").as_f64(), Some(0.0));
    let exit = path(&metrics(), "exitPage").as_string();
    let exit = exit.as_deref().unwrap_or_default();
    assert_eq!(exit.chars().count(), funnelcake_core::wire::MAX_URL_CHARS);
    assert!(exit.starts_with("/list?state=éé"), "{}", &exit[..20]);
}

#[wasm_bindgen_test]
fn experiment_is_sticky_exposes_once_and_shows_in_metrics() {
    assert!(init(config("web-exp")));
    let opts = js(r#"{"variations":["Checkout","Buy now"]}"#);
    let first = api::experiment("btn".into(), opts.clone(), U);
    assert!(first == 0 || first == 1, "{first}");
    let before = pending();
    // Same visitor, same experiment: the same variation and no second exposure.
    assert_eq!(api::experiment("btn".into(), opts, U), first);
    assert_eq!(pending(), before);
    assert_eq!(path(&metrics(), "experiments.btn").as_f64(), Some(f64::from(first)));
    // Not in the experiment: no variations, no key, zero coverage.
    assert_eq!(api::experiment("k".into(), js(r#"{"weights":[1]}"#), U), -1);
    assert_eq!(api::experiment(JsValue::NULL, js(r#"{"variations":2}"#), U), -1);
    assert_eq!(api::experiment("none".into(), js(r#"{"variations":2,"coverage":0}"#), U), -1);
    // The captured page URL can force a variation (QA).
    let ctx = js(r#"{"url":"/cart?fc_exp_forced=1"}"#);
    assert_eq!(api::experiment("forced".into(), js(r#"{"variations":["a","b"]}"#), ctx), 1);
}

#[wasm_bindgen_test]
fn consent_pending_holds_events_in_memory_denied_clears_storage() {
    assert!(init(config_with("web-consent", r#","consent":"pending""#)));
    api::track("view_item".into(), js(r#"{"item_id":"A"}"#), U);
    let state = debug_state();
    assert_eq!(get(&state, "persistent").as_bool(), Some(false), "nothing written while pending");
    assert_eq!(get(&state, "pending").as_f64(), Some(2.0), "page view and view_item held in memory");
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    assert_eq!(storage.get_item("fc:v1:web-consent:state").unwrap(), None);

    api::consent("granted".into());
    assert_eq!(get(&debug_state(), "persistent").as_bool(), Some(true));
    assert!(storage.get_item("fc:v1:web-consent:state").unwrap().is_some(), "written once granted");

    api::consent("denied".into());
    assert_eq!(get(&debug_state(), "pending").as_f64(), Some(0.0), "queued events discarded");
    assert_eq!(storage.get_item("fc:v1:web-consent:state").unwrap(), None, "stored state removed");
    api::track("view_item".into(), js(r#"{"item_id":"B"}"#), U);
    assert_eq!(path(&metrics(), "dropped.byReason.consent_denied").as_f64(), Some(3.0));
    api::consent("nonsense".into()); // ignored, never throws
}

/// GTM consent mode: a banner's default that does not grant reaches the SDK from the dataLayer
/// just after `init`, in the same task. `init` writes nothing itself; the commit after the task
/// finds consent pending and writes nothing either, and the page view waits in memory.
#[wasm_bindgen_test]
async fn a_consent_given_in_inits_task_decides_whether_its_state_is_written() {
    let key = "fc:v1:web-consent-mode:state";
    assert!(init(config("web-consent-mode")));
    api::consent("pending".into());
    next_task().await;
    assert_eq!(local_storage().get_item(key).unwrap(), None, "a new visitor's ids not stored before consent");
    assert_eq!(pending(), 1.0, "the page view held, not dropped");
    api::consent("granted".into());
    assert!(local_storage().get_item(key).unwrap().is_some(), "written once granted");
}

#[wasm_bindgen_test]
async fn flushes_waiting_on_a_batch_in_flight_resolve_even_when_init_runs_again() {
    // Port 9 on loopback is closed: every send fails, so both flushes report what is left.
    let cfg = || config_with("web-reinit", r#","endpoint":"http://127.0.0.1:9/v1/batch""#);
    assert!(init(cfg()));
    api::track("before".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    let first = flush(); // sends: in flight
    let second = flush(); // waits for that batch
    assert!(init(cfg()), "a re-init replaces the SDK while the batch is in flight");
    let first = first.await.unwrap().as_f64().unwrap();
    let second = second.await.unwrap().as_f64().unwrap();
    assert!(first >= 1.0 && second >= 1.0, "nothing was delivered: {first}, {second}");
}
