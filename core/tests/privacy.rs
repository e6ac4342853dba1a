//! Consent and privacy signals (DESIGN.md §6): what is queued, sent and persisted in each mode.

mod common;
use common::*;
use funnelcake_core::config::Consent;

fn shop(privacy: &str, consent: &str) -> Shop {
    Shop::with_config(config(|c| {
        c.privacy = Some(privacy.into());
        c.consent = Some(consent.into());
    }))
}

#[test]
fn pending_consent_keeps_events_in_memory_unsent_until_granted() {
    let mut s = shop("respect", "pending");
    s.page("/").page("/2");
    assert!(!s.tracker.may_send() && !s.tracker.may_persist());
    assert!(s.tracker.take_batch(s.now, true).is_none(), "nothing is sent");
    assert_eq!(s.tracker.send_unload(s.now, |_| unreachable!("not even on page hide")), 0);
    assert_eq!(s.tracker.queue_to_persist(s.now, true), None, "nothing is written to storage");
    assert_eq!(s.tracker.next_wake(), None, "no timer spins while waiting");
    s.tracker.page_visible(s.now); // the hide parked them; back in the queue
    s.tracker.set_consent(Consent::Granted);
    assert!(s.tracker.queue_to_persist(s.now, true).is_some());
    let sent: Vec<String> = s.sent().into_iter().map(|e| e.url).collect();
    assert_eq!(sent, ["/", "/2"], "held events go out once consent is granted");
}

#[test]
fn denied_consent_discards_queued_and_new_events_and_counts_them() {
    let mut s = shop("respect", "granted");
    s.page("/").page("/2");
    s.tracker.set_consent(Consent::Denied);
    assert!(s.tracker.take_batch(s.now, true).is_none());
    assert_eq!(s.tracker.pending(), 0, "queued events are discarded");
    s.page("/3");
    assert_eq!(s.tracker.pending(), 0, "new events are not queued");
    assert_eq!(num(&s.snap(), "dropped.byReason.consent_denied"), 3);
    assert_eq!(s.tracker.queue_to_persist(s.now, true), None);
    // Granted again: tracking resumes with the next event.
    s.tracker.set_consent(Consent::Granted);
    s.page("/4");
    let sent: Vec<String> = s.sent().into_iter().map(|e| e.url).collect();
    assert_eq!(sent, ["/4"]);
}

#[test]
fn a_denied_start_sends_and_persists_nothing() {
    let mut s = shop("respect", "denied");
    s.page("/");
    assert!(s.sent().is_empty());
    assert_eq!(s.tracker.queue_to_persist(s.now, true), None);
}

#[test]
fn respect_with_a_privacy_signal_sends_anonymously_and_persists_nothing() {
    let mut s = shop("respect", "granted");
    s.tracker.identify(Some("u-1".into()));
    s.tracker.set_privacy_signal(true);
    assert!(!s.tracker.identify(Some("u-2".into())), "no id before (the signal cleared it), none after");
    s.page("/");
    // GA4's `user_id` beside an event's parameters (the dataLayer's) is not sent as a property.
    s.ok("view_item", r#"{"item_id":"SKU-1","user_id":"u-2"}"#);
    assert!(s.tracker.may_send() && !s.tracker.may_persist());
    assert_eq!(s.tracker.queue_to_persist(s.now, true), None);
    let sent = s.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|e| e.uid.is_none()), "no user id is sent");
    assert!(sent[1].props.is_empty(), "{:?}", sent[1].props);
}

#[test]
fn strict_with_a_privacy_signal_sends_nothing_at_all() {
    let mut s = shop("strict", "granted");
    s.tracker.set_privacy_signal(true);
    s.page("/");
    assert!(!s.tracker.may_send());
    assert!(s.sent().is_empty());
    assert_eq!(num(&s.snap(), "dropped.byReason.consent_denied"), 1);
}

#[test]
fn strict_or_respect_without_a_signal_and_ignore_with_one_track_normally() {
    for (privacy, signal) in [("strict", false), ("respect", false), ("ignore", true)] {
        let mut s = shop(privacy, "granted");
        s.tracker.set_privacy_signal(signal);
        s.tracker.identify(Some("u-1".into()));
        s.page("/");
        assert!(s.tracker.may_persist(), "{privacy}");
        let sent = s.sent();
        assert_eq!(sent[0].uid.as_deref(), Some("u-1"), "{privacy}");
    }
}

/// The shell's re-`init` for the same site: a new tracker (a new config, a state of its own:
/// read from storage, or new when none could be read) takes over from the old one.
fn init_again(old: &mut Shop, privacy: &str, consent: &str, signal: bool, fresh: bool) -> Shop {
    let mut new = shop(privacy, consent);
    let state = funnelcake_core::session::SessionState::new(&mut funnelcake_core::id::SplitMix64(99));
    new.tracker.adopt_state(state);
    new.now = old.now;
    new.tracker.set_privacy_signal(signal);
    assert!(new.tracker.take_over(&mut old.tracker, fresh), "the same site");
    new
}

fn cart_and_ids(s: &Shop) -> (String, String, i64) {
    let snap = s.snap();
    (
        text(&snap, "anonymousId").unwrap().into(),
        text(&snap, "sessionId").unwrap_or("none").into(),
        num(&snap, "cart.count"),
    )
}

#[test]
fn initialised_again_the_state_only_memory_held_is_kept_for_the_page() {
    let add = r#"{"items":[{"id":"sku-1","price":10,"quantity":2}],"currency":"EUR"}"#;
    // An honoured privacy signal: nothing was stored, nothing is read; the identity, the session
    // and the cart held in memory carry on, and the new config's rules apply to them.
    let mut old = shop("ignore", "granted");
    old.tracker.set_privacy_signal(true);
    old.tracker.identify(Some("u-1".into()));
    old.page("/").ok("add_to_cart", add);
    let before = cart_and_ids(&old);
    assert_eq!(before.2, 2);
    let mut new = init_again(&mut old, "respect", "granted", true, true);
    assert_eq!(cart_and_ids(&new), before);
    assert_eq!(new.tracker.state().user_id, None, "no user id under the honoured signal");
    new.page("/2");
    assert_eq!(num(&new.snap(), "pageViews"), 2, "the same session goes on");

    // Consent pending: the old tracker could not write its state, so storage holds an older one
    // (or none); what it held in memory is newer and is kept.
    let mut old = shop("respect", "pending");
    old.page("/").ok("add_to_cart", add);
    let before = cart_and_ids(&old);
    let new = init_again(&mut old, "respect", "granted", false, false);
    assert_eq!(cart_and_ids(&new), before);

    // Storage worked: the state read from it (written by the old tracker, or since by another
    // tab) is the current one, and is kept.
    let mut old = shop("respect", "granted");
    old.page("/").ok("add_to_cart", add);
    let new = init_again(&mut old, "respect", "granted", false, false);
    let (aid, _, count) = cart_and_ids(&new);
    assert_ne!(aid, cart_and_ids(&old).0);
    assert_eq!(count, 0);
}
