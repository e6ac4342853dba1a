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
    assert!(s.tracker.take_unload_batches(s.now).is_empty(), "not even on page hide");
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
    s.tracker.identify(Some("u-2".into()));
    s.page("/");
    assert!(s.tracker.may_send() && !s.tracker.may_persist());
    assert_eq!(s.tracker.queue_to_persist(s.now, true), None);
    let sent = s.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].uid, None, "no user id is sent");
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
