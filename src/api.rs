//! The JS-facing API. Every function catches its own failures: nothing throws into the page.
//!
//! State lives in one thread-local `Sdk`; each call borrows it briefly and never across a
//! call into JS that may call back at once (`js/tabs.js`), so re-entrant calls cannot panic.
//! `on('metrics')` listeners, `flush()`'s promise and the flushes waiting for a batch are the
//! loader's (`js/loader.js`, `js/net.js`).

use std::cell::RefCell;

use funnelcake_core::config::{Config, Consent, Privacy};
use funnelcake_core::event::checkout_step_event;
use funnelcake_core::experiment::Experiment;
use funnelcake_core::id::Entropy;
use funnelcake_core::json::Value;
use funnelcake_core::metrics::KeyStyle;
use funnelcake_core::retry::SendResult;
use funnelcake_core::session::SessionState;
use funnelcake_core::text::first_chars;
use funnelcake_core::tracker::{PageContext, Tracker};
use funnelcake_core::wire::{MAX_TITLE_CHARS, MAX_URL_CHARS};
use wasm_bindgen::prelude::*;

use crate::env::{self, BrowserEntropy};
use crate::lifecycle::{Change, PageLife};
use crate::outbox::Outbox;
use crate::scheduler::Scheduler;
use crate::storage::Store;
use crate::transport;

const STATE_KEY: &str = "state";

struct Sdk {
    tracker: Tracker,
    store: Store,
    rng: BrowserEntropy,
    scheduler: Scheduler,
    /// The state JSON this tab last wrote; a different stored value means another tab wrote.
    last_written: String,
    outbox: Outbox,
    life: PageLife,
    /// A [`commit`] is scheduled: state and queue changed since they were last written.
    commit_pending: bool,
}

thread_local! {
    // Leaked once per thread (the page, on the wasm target), so a borrow of it can be returned.
    static SDK: &'static RefCell<Option<Sdk>> = Box::leak(Box::new(RefCell::new(None)));
}

/// Runs `f` on the SDK if it is initialised and not already borrowed.
fn with_sdk<R>(f: impl FnOnce(&mut Sdk) -> R) -> Option<R> {
    let mut sdk = borrow_sdk()?;
    Some(f(&mut sdk))
}

/// The SDK, borrowed (`None` before `init` or while borrowed already): one function does the
/// thread-local access, the borrow check and the `Option` test for all fifteen instantiations of
/// [`with_sdk`], each of which had its own copy inside `LocalKey::with` (−475 bytes gzip before
/// the function order). The slot is a leaked `&'static` so that the borrow can be returned
/// without `unsafe`.
#[inline(never)]
fn borrow_sdk() -> Option<std::cell::RefMut<'static, Sdk>> {
    std::cell::RefMut::filter_map(slot().try_borrow_mut().ok()?, Option::as_mut).ok()
}

/// The SDK's slot (`None` until `init`).
fn slot() -> &'static RefCell<Option<Sdk>> {
    SDK.with(|cell| *cell)
}

fn debug_enabled() -> bool {
    with_sdk(|s| s.tracker.config().debug).unwrap_or(false)
}

impl Sdk {
    /// Adopts identity/session written by another tab since our last write. Reads storage only
    /// when a `storage` event said another tab wrote, and not while this tab has changes of its
    /// own to write (they are newer).
    fn sync_from_storage(&mut self) {
        if self.commit_pending || !self.life.take_state_changed() {
            return;
        }
        if let Some(stored) = self.store.get(STATE_KEY) {
            if stored != self.last_written {
                if let Some(state) = read_state(&stored) {
                    self.tracker.adopt_state(state);
                    self.last_written = stored;
                }
            }
        }
    }

    /// Asks for the [`commit`] that writes and sends, once per burst: the scheduler wakes at
    /// once, in the next task, after the page's synchronous calls.
    fn commit_soon(&mut self) {
        if !self.commit_pending {
            self.commit_pending = true;
            let now = env::now_ms();
            self.scheduler.wake_at(now, now);
        }
    }

    fn persist(&mut self) {
        let json = self.tracker.state().to_json();
        self.store.set(STATE_KEY, &json.as_str().into());
        self.last_written = json;
    }

    /// Writes this tab's queue when the core says it is due (or `force`, on hide).
    fn persist_queue(&mut self, force: bool) {
        if !self.outbox.owned() {
            return;
        }
        let now = env::now_ms();
        // `<now>|<queue JSON>`, put together in JS part by part (a rope: no copying), so the wasm
        // heap never holds the whole text (BENCHMARKS.md, memory).
        let mut stamp = String::new();
        funnelcake_core::json::write_int(&mut stamp, now);
        stamp.push('|');
        let mut text = js_sys::JsString::from(stamp);
        if self.tracker.queue_parts_to_persist(now, force, &mut |part| {
            text = text.concat(&JsValue::from_str(part));
        }) {
            let empty = self.tracker.queue().is_empty();
            self.outbox.write(&mut self.store, (!empty).then_some(&text));
        }
    }
}

/// Takes over the queues of tabs that are gone (see [`crate::outbox`]).
fn adopt_orphans() {
    // Without consent to persist, adopted events could be lost with this page: leave them.
    let Some(Some((site, tab))) = with_sdk(|sdk| {
        sdk.tracker.may_persist().then(|| (sdk.tracker.config().site.clone(), sdk.outbox.tab().to_owned()))
    }) else {
        return;
    };
    // Called without the SDK borrowed: `adopt` borrows it itself.
    Outbox::adopt_orphans(&site, &tab, env::now_ms());
}

/// `adopt(queue)`: the persisted queue JSON of a tab that is gone, handed over by `js/tabs.js`
/// (see [`crate::outbox`]). `true` once its events are in this tab's queue and persisted; only
/// then is the old key removed (dying in between can cause a duplicate send, which the
/// collector dedupes, never a loss). `false` while this tab cannot persist them: before it holds
/// its own lock, or without consent to persist.
#[wasm_bindgen]
pub fn adopt(queue: JsValue) -> bool {
    let adopted = with_sdk(|sdk| {
        if !(sdk.outbox.owned() && sdk.tracker.may_persist()) {
            return false;
        }
        sdk.tracker.restore_queue(&env::parse_json(&queue));
        sdk.persist_queue(true);
        true
    }) == Some(true);
    if adopted {
        pump();
    }
    adopted
}

/// `claimed(tab)`: tab `tab` holds its Web Lock (`js/tabs.js`); if that is this tab, its queue
/// is written now and queues of closed tabs are taken over.
#[wasm_bindgen]
pub fn claimed(tab: JsValue) {
    let Some(tab) = env::text(&tab) else { return };
    owning(Some(&tab));
}

/// Asks for this tab's lock unless it was asked for already: at `init`, and when the page is
/// shown again from the back/forward cache as a new tab. `true` when owned at once.
fn claim_own(sdk: &mut Sdk) -> bool {
    !sdk.outbox.asked() && sdk.outbox.claim(&sdk.tracker.config().site)
}

/// Writes this tab's queue and takes over queues of closed tabs when the tab has just come to
/// own its queue: tab `claimed` holds its lock, or (`None`) [`claim_own`] got it at once; `true`
/// when it did. Not generic over the two (a closure parameter was one copy each) and not
/// inlined into its callers (−43 bytes gzip).
#[inline(never)]
fn owning(claimed: Option<&str>) -> bool {
    let owned = with_sdk(|sdk| {
        let owned = match claimed {
            Some(tab) => sdk.outbox.claimed(tab),
            None => claim_own(sdk),
        };
        if owned {
            sdk.persist_queue(true);
        }
        owned
    });
    let owned = owned == Some(true);
    if owned {
        adopt_orphans();
    }
    owned
}

/// `init(config, ctx)`: initialises the SDK. Returns `false` (and logs) when the config is
/// unusable. Calling `init` again replaces the previous configuration. The page's `localStorage`
/// and `crypto` are reached through `js/env.js`, which the loader hands the window first.
#[wasm_bindgen]
pub fn init(config: JsValue, ctx: JsValue) -> bool {
    #[cfg(feature = "debug")]
    console_error_panic_hook::set_once();
    // A re-init replaces the SDK: first write what the current one has not written yet.
    with_sdk(|old| {
        if old.commit_pending {
            old.commit_pending = false;
            old.persist();
            old.persist_queue(true);
        }
    });
    let (cfg, issues) = match Config::from_value(json_arg(&config)) {
        Ok(ok) => ok,
        Err(e) => {
            env::debug_log(true, &[e.as_str()]);
            return false;
        }
    };
    for issue in &issues {
        env::debug_log(cfg.debug, &["config.", issue.field, " ", issue.problem.as_str()]);
    }
    let mut rng = BrowserEntropy::default();
    // What only `init` needs from the page, read by the loader with the page context: a Do Not
    // Track or Global Privacy Control signal (`signal`), and whether the document is `hidden`.
    let page = json_arg(&ctx);
    let flag = |k: &str| matches!(page.get(k), Some(Value::Bool(true)));
    let signal = flag("signal");
    // An honoured privacy signal: ids live in memory for this page only (storage is not read).
    let mut store = Store::new(&cfg.site, !signal || cfg.privacy == Privacy::Ignore);
    if cfg.consent == Consent::Denied {
        store.remove(STATE_KEY);
    }
    let stored = store.get(STATE_KEY).unwrap_or_default();
    // (Nothing stored, a first visit, is not handed to `JSON.parse`, which would throw on it.)
    let read = if stored.is_empty() { None } else { read_state(&stored) };
    let fresh = read.is_none();
    let state = read.unwrap_or_else(|| SessionState::new(&mut rng));
    let auto = cfg.auto_pageviews;
    let tab = funnelcake_core::id::new_id(&mut rng);
    let mut tracker = Tracker::new(cfg, state);
    tracker.set_privacy_signal(signal);
    store.set_writable(tracker.may_persist());
    tracker.page_loaded();
    if !flag("hidden") {
        tracker.page_visible(env::now_ms());
    }
    let mut sdk = Sdk {
        tracker,
        store,
        rng,
        scheduler: Scheduler::default(),
        last_written: stored,
        outbox: Outbox::new(tab),
        life: PageLife::default(),
        commit_pending: false,
    };
    // The SDK put in place (the slot's borrow ends with the block); `viewed`: this page's view
    // is queued already.
    let viewed = {
        let Ok(mut held) = slot().try_borrow_mut() else {
            std::mem::forget(sdk);
            return false;
        };
        let mut viewed = false;
        if let Some(old) = held.as_mut() {
            // Initialised again. For the same site, the new SDK carries on as the same tab: its
            // lock, its queue's key and every queued event, this page's view too (batch ids go
            // on, so the answer to a batch still in flight is ignored; its events are sent
            // again and the collector dedupes them). For another site, the old tab's lock is
            // let go: a page of that site takes its written queue over. For the same site, a
            // state storage could not hold (`fresh`, or the old SDK could not write it) is the
            // old SDK's, carried on.
            let same = sdk.tracker.take_over(&mut old.tracker, fresh);
            viewed = same && old.tracker.config().auto_pageviews;
            if same {
                std::mem::swap(&mut sdk.outbox, &mut old.outbox);
            } else {
                old.outbox.release();
            }
            old.last_written = String::new();
        }
        std::mem::forget(held.replace(sdk));
        viewed
    };
    // Written in the commit, not now: a consent the page gives in the same task (GTM consent
    // mode's default, replayed from the dataLayer just after this) decides whether it may be.
    with_sdk(Sdk::commit_soon);
    // Once this tab holds its lock (`claimed`; at once when there is no `fcTabs` to ask): write
    // its queue, then take over queues of closed tabs.
    owning(None);
    if auto && !viewed {
        record("page_view", Vec::new(), &ctx);
    }
    true
}

/// `lifecycle(code)`: the loader heard a page lifecycle event (codes in
/// [`crate::lifecycle::signal`]: the page became visible or hidden, page hide, page hide into
/// the back/forward cache, another tab wrote storage). On hide, what is unsent leaves by beacon
/// and the queue is persisted; into the cache, the queue is then handed on ([`crate::outbox`]).
#[wasm_bindgen]
pub fn lifecycle(code: u32) {
    let Some(Some(change)) = with_sdk(|sdk| sdk.life.signal(code)) else { return };
    let now = env::now_ms();
    match change {
        Change::Visible => {
            with_sdk(|sdk| {
                sdk.sync_from_storage();
                sdk.tracker.page_visible(now);
                sdk.persist();
                sdk.persist_queue(false);
            });
            // Back from the back/forward cache as a new tab, it asks for its own lock. When that
            // did not make it the owner just now (it owned its queue already, or the claim is
            // pending), it asks here for the queues of tabs closed while it was hidden (`adopt`
            // takes them once the tab owns its queue); when it did, `owning` asked already.
            if !owning(None) {
                adopt_orphans();
            }
            pump();
        }
        Change::Hidden | Change::Cached => {
            // The page may be going away: everything unsent leaves by beacon now, and the queue
            // (with the beaconed events parked, in case a beacon is lost) is persisted. (The
            // beacons go while the SDK is borrowed: `sendBeacon` calls nothing back.)
            with_sdk(|sdk| {
                sdk.sync_from_storage();
                sdk.tracker.page_hidden(now, &mut sdk.rng);
                sdk.persist();
                let endpoint = sdk.tracker.config().endpoint.clone();
                sdk.tracker.send_unload(now, |b| transport::beacon(&endpoint, &b.body));
                sdk.persist_queue(true);
                sdk.commit_pending = false;
                // Into the back/forward cache with the queue in localStorage: the lock is
                // released and the events are left to whichever tab takes the queue over (this
                // page too, shown again as a new tab).
                if change == Change::Cached && sdk.store.is_persistent() && sdk.outbox.release() {
                    sdk.tracker.hand_over_queue();
                    sdk.outbox = Outbox::new(funnelcake_core::id::new_id(&mut sdk.rng));
                }
            });
        }
    }
}

/// The call's time and page: `{ts, url, ref, title, host}` in tape form from the loader (captured
/// when the call was made, or read in JS just now: cheaper than reading the DOM from the wasm);
/// without it, now and an empty page.
fn captured_context(ctx: &JsValue) -> (i64, PageContext) {
    let now = env::now_ms();
    let c = json_arg(ctx);
    if c.as_object().is_none() {
        return (now, PageContext::default());
    }
    // The page's address, referrer and title are cut to what the collector keeps (every event
    // carries them: an address grown past the 32 KB an event may have, by an app keeping its
    // state in the query string, would otherwise have every event dropped as `too_large`).
    let text = |k: &str, max: usize| {
        c.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(|s| first_chars(s, max).to_owned())
    };
    let ts = c.get("ts").and_then(Value::as_f64).filter(|t| t.is_finite() && *t > 0.0).map_or(now, |t| t as i64);
    let page = PageContext {
        url: text("url", MAX_URL_CHARS).unwrap_or_default(),
        referrer: text("ref", MAX_URL_CHARS),
        title: text("title", MAX_TITLE_CHARS),
        host: text("host", MAX_URL_CHARS).unwrap_or_default(),
    };
    (ts, page)
}

/// Runs `f` on the SDK with the call's time and page (captured by the stub, else now), and
/// schedules the [`commit`] that persists and sends. (`on('metrics')` listeners live in the
/// loader, which hands them `metrics()` after each call.)
fn recording<R>(ctx: &JsValue, f: impl FnOnce(&mut Sdk, &PageContext, i64) -> R) -> Option<R> {
    let (ts, page) = captured_context(ctx);
    with_sdk(|sdk| {
        sdk.sync_from_storage();
        let r = f(sdk, &page, ts);
        sdk.commit_soon();
        r
    })
}

/// `wake()`: the flush timer fired (`js/net.js` holds it for the [`Scheduler`]): a due send or
/// retry, or the commit after a burst of calls.
#[wasm_bindgen]
pub fn wake() {
    with_sdk(|sdk| sdk.scheduler.fired());
    commit();
}

/// Writes state and queue and sends what is due: once per burst of calls (the first call of a
/// task asks the scheduler to wake at once), so a call itself only records in memory. Page hide
/// writes synchronously, so nothing recorded is lost when the page goes away.
fn commit() {
    with_sdk(|sdk| {
        if sdk.commit_pending {
            sdk.commit_pending = false;
            sdk.persist();
        }
    });
    pump();
}

/// Records one event.
fn record(name: &str, props: Vec<(String, Value)>, ctx: &JsValue) {
    recording(ctx, |sdk, page, ts| {
        if let Err(reason) = sdk.tracker.track(name, props, page, ts, &mut sdk.rng) {
            env::debug_log(sdk.tracker.config().debug, &[name, " dropped: ", reason.as_str()]);
        }
    });
}

/// Records a custom or canonical event `name` with optional properties. Segment and Shopify
/// Web Pixels names are mapped to their GA4 equivalents.
#[wasm_bindgen]
pub fn track(name: JsValue, props: JsValue, ctx: JsValue) {
    let Some(name) = env::text(&name).filter(|n| !n.trim_ascii().is_empty()) else {
        env::debug_log(debug_enabled(), &["track() needs an event name; call dropped"]);
        with_sdk(|sdk| sdk.tracker.count_drop(funnelcake_core::event::DropReason::MissingName, 1));
        return;
    };
    let mut members = object_arg(&props);
    if name == "Checkout Step Completed" {
        // `swap_remove` (−65 bytes gzip against `remove`): the last property takes the step's
        // place, which changes nothing for the helper, whose step is its last property.
        let step = members.iter().position(|(k, _)| k == "step").map_or(Value::Null, |i| members.swap_remove(i).1);
        return checkout_step(step, members, &ctx);
    }
    record(name.trim_ascii(), members, &ctx);
}

/// An object argument: the loader sends properties, options, config and page context as a
/// bounded plain copy in tape form (js/env.js, `tape`; [`funnelcake_core::json::read_tape`]):
/// one string crossing instead of a walk over the object from the wasm, and no JSON parser in
/// the wasm. `null` for anything else, an unreadable tape, or more than 64 KiB.
fn json_arg(v: &JsValue) -> Value {
    env::tape_within(v, 65_536)
}

/// The session state persisted as `stored` (JSON text, read by the page's `JSON.parse`:
/// [`env::parse_json`]); `None` if unreadable.
fn read_state(stored: &str) -> Option<SessionState> {
    SessionState::from_value(&env::parse_json(&JsValue::from_str(stored)))
}

/// The members of a JSON object argument; none for anything else.
fn object_arg(v: &JsValue) -> Vec<(String, Value)> {
    match json_arg(v) {
        Value::Obj(members) => members,
        _ => Vec::new(),
    }
}

/// `checkoutStep(step, props)`: `checkout_contact` (1, "contact"), `add_shipping_info`
/// (2, "shipping"), `add_payment_info` (3, "payment"); any other step is a `checkout_step`
/// event with a `step` property.
fn checkout_step(step: Value, mut members: Vec<(String, Value)>, ctx: &JsValue) {
    match checkout_step_event(&step) {
        Some(event) => record(event, members, ctx),
        None => {
            members.push(("step".into(), step));
            record("checkout_step", members, ctx);
        }
    }
}

/// `experiment(key, options)`: this visitor's variation index, or -1 when the visitor is not in
/// the experiment (the loader turns it into `{variation, value, inExperiment}`). Options follow
/// GrowthBook ([`Experiment::from_options`]); the assignment hashes the anonymous id, so it is
/// sticky per visitor, and `?fc_exp_<key>=<n>` forces a variation. The first exposure in a
/// session queues `experiment_viewed`; later events and the session summary carry it.
#[wasm_bindgen]
pub fn experiment(key: JsValue, options: JsValue, ctx: JsValue) -> i32 {
    let opts = json_arg(&options);
    let Some(exp) = env::text(&key).and_then(|k| Experiment::from_options(&k, &opts)) else {
        env::debug_log(debug_enabled(), &["experiment() needs a key (1 to 200 bytes) and variations"]);
        return -1;
    };
    let assigned = recording(&ctx, |sdk, page, ts| sdk.tracker.experiment(&exp, page, ts, &mut sdk.rng));
    match assigned {
        Some(a) if a.in_experiment => a.variation as i32,
        _ => -1,
    }
}

/// `consent('granted' | 'pending' | 'denied')`: `pending` keeps events in memory, unsent and
/// unpersisted; `denied` discards queued events, removes this site's stored state and queue, and
/// drops new events (counted as `consent_denied`); `granted` resumes sending and persisting.
#[wasm_bindgen]
pub fn consent(state: JsValue) {
    let Some(consent) = env::text(&state).and_then(|s| Consent::parse(&s)) else {
        env::debug_log(debug_enabled(), &["consent() needs granted, pending or denied"]);
        return;
    };
    recording(&JsValue::UNDEFINED, |sdk, _, _| {
        sdk.tracker.set_consent(consent);
        sdk.store.set_writable(sdk.tracker.may_persist());
        sdk.persist();
        if consent == Consent::Denied {
            sdk.store.remove(STATE_KEY);
            sdk.outbox.write(&mut sdk.store, None);
        }
    });
}

/// `identify(userId, traits?)`: later events carry the user id; an `identify` event carries the
/// traits. A non-string id clears it (the loader turns a numeric id into its text first). One
/// that changes nothing (the same id, no traits: a user id the dataLayer carries on every
/// page) records no event.
#[wasm_bindgen]
pub fn identify(user_id: JsValue, traits: JsValue, ctx: JsValue) {
    let id = env::text(&user_id);
    // Synced first, so another tab's state adopted by the `record` below cannot drop the id;
    // the write happens in that record's commit.
    let changed = with_sdk(|sdk| {
        sdk.sync_from_storage();
        sdk.tracker.identify(id)
    });
    let traits = object_arg(&traits);
    if changed == Some(true) || !traits.is_empty() {
        record("identify", traits, &ctx);
    }
}

/// `reset()`: ends the session (final summary) and starts a new anonymous identity, e.g. on
/// logout.
#[wasm_bindgen]
pub fn reset() {
    let now = env::now_ms();
    with_sdk(|sdk| {
        sdk.sync_from_storage();
        sdk.tracker.reset(now, &mut sdk.rng);
        sdk.persist();
    });
    pump();
}

/// `metrics()`: the current session's metrics snapshot (see METRICS.md) as JSON text, which the
/// loader parses (a `JSON.parse` import would need a `catch`); `undefined` before `init`.
#[wasm_bindgen]
pub fn metrics() -> JsValue {
    with_sdk(|sdk| {
        sdk.sync_from_storage();
        JsValue::from_str(&sdk.tracker.snapshot_json(env::now_ms(), KeyStyle::Camel))
    })
    .unwrap_or_default()
}

/// Takes the next batch (a due one, or any when `force`) and sends it. `false` when there was
/// nothing to send. When it lands ([`sent`]): the outcome is applied, [`pump`] sends what is due
/// next, and the [`flush`] calls waiting for it carry on (or report what is left if it failed).
fn send_next(force: bool) -> bool {
    let now = env::now_ms();
    let next = with_sdk(|sdk| (sdk.tracker.take_batch(now, force), sdk.tracker.config().endpoint.clone()));
    let Some((Some(out), endpoint)) = next else { return false };
    if let Err(result) = transport::post(&endpoint, &out.body, out.id) {
        landed(out.id, result);
    }
    true
}

/// `sent(batch, status, retryAfter)`: how the POST of a batch ended (`js/net.js`): the HTTP
/// status, 0 when no response came, and the `Retry-After` header (a string, or `null`). Taken as
/// a `JsValue` read with [`env::text`]: an `Option<String>` parameter brings wasm-bindgen's
/// own string conversion into the wasm. Answers the `flush()` calls waiting for a batch to land
/// (`js/net.js` holds them): −1 when it was delivered (they go on, see [`flush`]), else the
/// number of events still pending, which they resolve with (the retry schedule takes over).
#[wasm_bindgen]
pub fn sent(batch: f64, status: u16, retry_after: JsValue) -> i32 {
    let result = SendResult::from_response(status, env::text(&retry_after).as_deref());
    landed(batch as u64, result);
    if result.is_success() {
        -1
    } else {
        pending()
    }
}

/// Applies the outcome of batch `batch` (ignored by a tracker that did not send it: a re-init
/// since), then sends what is due.
fn landed(batch: u64, result: SendResult) {
    with_sdk(|sdk| {
        // Retry jitter in [0, 1) from the SDK's own random bytes (the top 53 bits of a word):
        // no `Math.random` import.
        let jitter = (sdk.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        sdk.tracker.complete(batch, result, env::now_ms(), jitter)
    });
    // The collector is reachable: a good moment to take over queues of closed tabs.
    if result.is_success() {
        adopt_orphans();
    }
    pump();
}

/// The number of events not yet delivered (0 before `init`).
fn pending() -> i32 {
    with_sdk(|s| s.tracker.pending() as i32).unwrap_or(0)
}

/// Sends a batch if one is due, writes the queue if it changed, and re-arms the timer for the
/// next due time.
fn pump() {
    send_next(false);
    with_sdk(|sdk| sdk.persist_queue(false));
    arm_timer();
}

fn arm_timer() {
    let now = env::now_ms();
    with_sdk(|sdk| {
        if let Some(at) = sdk.tracker.next_wake() {
            sdk.scheduler.wake_at(at, now);
        }
    });
}

/// `flush()`: one step of the page's `flush()`, whose promise and waiting list are the
/// loader's (`js/net.js`; made here they would cost a closure and its glue): sends the next
/// batch now, after any batch already in flight. −1 while a batch is in flight: the step is
/// taken again when [`sent`] says it was delivered, so everything queued goes out batch after
/// batch. Otherwise the number of events still pending, which the promise resolves with (0 when
/// all were delivered; more when a send failed and the retry schedule took over).
#[wasm_bindgen]
pub fn flush() -> i32 {
    // A send can fail at once (js/net.js could not start it), landing before this returns: then
    // nothing is in flight.
    let sending = || with_sdk(|sdk| sdk.tracker.sending()) == Some(true);
    if sending() || (send_next(true) && sending()) {
        return -1;
    }
    arm_timer();
    pending()
}

/// The SDK's ids and state for debugging and tests: `{anonymousId, sessionId, pending,
/// persistent, memoryBytes}` (`memoryBytes`: the wasm linear memory's size) as JSON text, which
/// the loader parses; `undefined` before `init`.
#[wasm_bindgen(js_name = debugState)]
pub fn debug_state() -> JsValue {
    with_sdk(|sdk| {
        let st = sdk.tracker.state();
        let mut out = String::from("{\"anonymousId\":");
        funnelcake_core::json::write_str(&mut out, &st.anonymous_id);
        out.push_str(",\"sessionId\":");
        funnelcake_core::json::write_str(&mut out, st.session.as_ref().map_or("", |s| s.id.as_str()));
        out.push_str(",\"pending\":");
        funnelcake_core::json::write_int(&mut out, sdk.tracker.pending() as i64);
        out.push_str(if sdk.store.is_persistent() { ",\"persistent\":true" } else { ",\"persistent\":false" });
        out.push_str(",\"memoryBytes\":");
        #[cfg(target_arch = "wasm32")]
        funnelcake_core::json::write_int(&mut out, (core::arch::wasm32::memory_size(0) * 65_536) as i64);
        #[cfg(not(target_arch = "wasm32"))]
        out.push('0');
        out.push('}');
        JsValue::from_str(&out)
    })
    .unwrap_or_default()
}
