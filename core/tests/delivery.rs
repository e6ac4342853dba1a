//! Delivery policy: batching triggers, the retry table applied to a queue, 413 splits, bounds
//! with counted drops, unload beacons, persistence and restore.

mod common;
use common::*;
use funnelcake_core::queue::EventQueue;
use funnelcake_core::retry::SendResult;
use funnelcake_core::tracker::Outgoing;
use funnelcake_core::wire::decode_batch;

fn ok() -> SendResult {
    SendResult::Status { code: 200, retry_after_ms: None }
}

fn status(code: u16) -> SendResult {
    SendResult::Status { code, retry_after_ms: None }
}

fn ids(body: &str) -> Vec<String> {
    decode_batch(body).unwrap().events.into_iter().map(|e| e.unwrap().id).collect()
}

/// Page hide's beacons: every chunk `send_unload` offers, the first `accept` of them accepted.
fn unload(s: &mut Shop, accept: usize) -> Vec<Outgoing> {
    let mut offered = Vec::new();
    let accepted = s.tracker.send_unload(s.now, |b| {
        offered.push(b.clone());
        offered.len() <= accept
    });
    assert_eq!(accepted, accept.min(offered.len()));
    offered
}

/// The ids of the events queued (in flight, parked and unsent), in order.
fn queued_ids(s: &Shop) -> Vec<String> {
    s.tracker.queue().iter().map(|q| funnelcake_core::json::parse(&q.json).unwrap().text("id").unwrap()).collect()
}

fn shop_with(f: impl FnOnce(&mut funnelcake_core::config::RawConfig)) -> Shop {
    Shop::with_config(config(f))
}

#[test]
fn a_batch_is_due_at_flush_at_events_or_when_the_oldest_is_flush_interval_old() {
    let mut s = shop_with(|c| c.flush_at = Some(3.0));
    s.page("/").page("/2");
    assert!(s.tracker.take_batch(s.now, false).is_none());
    assert_eq!(s.tracker.next_wake(), Some(T0 + 5_000));
    s.page("/3");
    assert_eq!(s.tracker.take_batch(s.now, false).map(|b| b.count), Some(3));

    let mut aged = Shop::new();
    aged.page("/");
    aged.advance(4_999);
    assert!(aged.tracker.take_batch(aged.now, false).is_none());
    aged.advance(1);
    assert!(aged.tracker.take_batch(aged.now, false).is_some());
}

#[test]
fn only_the_batch_in_flight_can_complete_and_sending_says_when_one_is() {
    let mut s = Shop::new();
    s.page("/").page("/2");
    assert!(!s.tracker.sending());
    let b = s.tracker.take_batch(s.now, true).unwrap();
    assert!(s.tracker.sending());
    assert!(!s.tracker.complete(b.id + 1, ok(), s.now, 0.0), "not the batch in flight");
    assert!(s.tracker.sending() && s.tracker.pending() == 2, "nothing changed");
    assert!(s.tracker.complete(b.id, ok(), s.now, 0.0));
    assert!(!s.tracker.sending());
    assert!(!s.tracker.complete(b.id, ok(), s.now, 0.0), "a batch completes once");
    assert_eq!(s.tracker.pending(), 0);
}

#[test]
fn a_batch_is_due_when_max_batch_bytes_are_queued_and_never_exceeds_them() {
    let mut s = shop_with(|c| c.max_batch_bytes = Some(2_000.0));
    let blob = format!(r#"{{"note":"{}"}}"#, "n".repeat(400));
    for _ in 0..6 {
        s.ok("custom", &blob);
    }
    let b = s.tracker.take_batch(s.now, false).expect("due by bytes");
    assert!(b.body.len() <= 2_000, "{} bytes", b.body.len());
    assert!(b.count >= 2 && b.count < 6);
}

#[test]
fn a_retried_batch_keeps_its_event_ids_and_waits_for_the_backoff() {
    let mut s = Shop::new();
    s.page("/").page("/2");
    let first = s.tracker.take_batch(s.now, true).unwrap();
    assert!(s.tracker.take_batch(s.now, true).is_none(), "one batch in flight at a time");
    s.tracker.complete(first.id, SendResult::Status { code: 503, retry_after_ms: Some(2_000) }, s.now, 0.0);
    assert_eq!(s.tracker.pending(), 2);
    assert_eq!(s.tracker.next_wake(), Some(s.now + 2_000));
    assert!(s.tracker.take_batch(s.now + 1_999, false).is_none(), "backoff running");
    let again = s.tracker.take_batch(s.now + 2_000, false).unwrap();
    assert_eq!(ids(&first.body), ids(&again.body));
    s.tracker.complete(again.id, ok(), s.now, 0.0);
    assert_eq!(s.tracker.pending(), 0);
}

#[test]
fn a_rejected_batch_is_dropped_counted_never_retried_and_reported_in_the_next_batch() {
    let mut s = Shop::new();
    s.page("/");
    let b = s.tracker.take_batch(s.now, true).unwrap();
    s.tracker.complete(b.id, status(400), s.now, 0.5);
    assert_eq!(s.tracker.pending(), 0);
    assert_eq!(num(&s.snap(), "dropped.byReason.rejected"), 1);
    s.page("/2");
    let next = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(decode_batch(&next.body).unwrap().dropped, 1);
    s.tracker.complete(next.id, ok(), s.now, 0.0);
    s.page("/3");
    let after = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(decode_batch(&after.body).unwrap().dropped, 0, "the count travels once");
}

#[test]
fn events_are_given_up_after_max_attempts() {
    let mut s = shop_with(|c| c.max_attempts = Some(3.0));
    s.page("/");
    for attempt in 1..=3 {
        let b = s.tracker.take_batch(s.now, true).unwrap();
        s.tracker.complete(b.id, SendResult::NetworkError, s.now, 0.0);
        assert_eq!(s.tracker.pending(), usize::from(attempt < 3), "attempt {attempt}");
    }
    assert_eq!(num(&s.snap(), "dropped.byReason.expired"), 1);
}

#[test]
fn events_older_than_a_day_are_given_up_on_the_next_failure() {
    let mut s = Shop::new();
    s.page("/");
    s.advance(25 * 60 * MIN);
    let b = s.tracker.take_batch(s.now, true).unwrap();
    s.tracker.complete(b.id, status(500), s.now, 0.0);
    assert_eq!(s.tracker.pending(), 0);
}

#[test]
fn payload_too_large_halves_the_batch_until_it_passes_and_drops_a_single_oversized_event() {
    let mut s = shop_with(|c| c.flush_at = Some(100.0));
    for i in 0..8 {
        s.at_url(&format!("/{i}")).ok("page_view", "{}");
    }
    let b = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(b.count, 8);
    s.tracker.complete(b.id, status(413), s.now, 0.0);
    let half = s.tracker.take_batch(s.now, false).expect("retried at once");
    assert_eq!(half.count, 4);
    s.tracker.complete(half.id, status(413), s.now, 0.0);
    let quarter = s.tracker.take_batch(s.now, false).unwrap();
    assert_eq!(quarter.count, 2);
    s.tracker.complete(quarter.id, ok(), s.now, 0.0);
    assert_eq!(s.tracker.pending(), 6);
    let rest = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(rest.count, 6, "the limit lifts once a split batch is delivered");
    s.tracker.complete(rest.id, ok(), s.now, 0.0);

    s.page("/single");
    let one = s.tracker.take_batch(s.now, true).unwrap();
    s.tracker.complete(one.id, status(413), s.now, 0.0);
    assert_eq!(s.tracker.pending(), 0);
    assert_eq!(num(&s.snap(), "dropped.byReason.too_large"), 1);
}

#[test]
fn the_queue_is_bounded_by_events_and_drops_the_oldest_counted() {
    let mut s = shop_with(|c| {
        c.max_queue_events = Some(10.0);
        c.flush_at = Some(500.0);
    });
    for i in 0..15 {
        s.at_url(&format!("/{i}")).ok("page_view", "{}");
    }
    assert_eq!(s.tracker.pending(), 10);
    assert_eq!(num(&s.snap(), "dropped.byReason.queue_overflow"), 5);
    let b = s.tracker.take_batch(s.now, true).unwrap();
    let batch = decode_batch(&b.body).unwrap();
    assert_eq!(batch.dropped, 5, "the loss is visible at the collector");
    assert_eq!(batch.events[0].as_ref().unwrap().url, "/5", "the oldest went first");
}

#[test]
fn the_queue_is_bounded_by_bytes() {
    let mut s = shop_with(|c| {
        c.max_queue_bytes = Some(10_000.0);
        c.flush_at = Some(500.0);
    });
    let blob = format!(r#"{{"note":"{}"}}"#, "b".repeat(900));
    for _ in 0..30 {
        s.ok("custom", &blob);
    }
    assert!(s.tracker.queue().bytes() <= 10_000);
    assert!(
        s.tracker.queue_to_persist(s.now, true).unwrap().len() <= 10_000,
        "the persisted form stays within the bound"
    );
    assert!(num(&s.snap(), "dropped.byReason.queue_overflow") > 0);
}

#[test]
fn unload_sends_everything_unsent_in_beacon_sized_chunks() {
    let mut s = shop_with(|c| c.max_batch_bytes = Some(3_000.0));
    for i in 0..40 {
        s.at_url(&format!("/p/{i}")).ok("view_item", r#"{"id":"X","price":1,"currency":"USD"}"#);
    }
    let chunks = unload(&mut s, usize::MAX);
    assert!(chunks.len() > 1);
    assert!(chunks.iter().all(|c| c.body.len() <= 3_000));
    assert_eq!(chunks.iter().map(|c| c.count).sum::<usize>(), 40);
    let all: Vec<String> = chunks.iter().flat_map(|c| ids(&c.body)).collect();
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 40, "each event in exactly one chunk");
    assert!(s.tracker.take_batch(s.now, true).is_none(), "beaconed events are not resent by this page");
    assert_eq!(s.tracker.pending(), 40, "but they stay persisted until confirmed");
}

#[test]
fn unload_beacons_fit_the_browsers_keepalive_budget_even_with_the_default_batch_size() {
    let mut big = Shop::new();
    for i in 0..200 {
        big.at_url(&format!("/p/{i}")).ok("view_item", r#"{"id":"X","price":1,"currency":"USD"}"#);
    }
    let chunks = unload(&mut big, usize::MAX);
    assert!(
        chunks.iter().all(|c| c.body.len() <= funnelcake_core::delivery::KEEPALIVE_MAX_BYTES),
        "beacons fit the keepalive budget"
    );
    assert_eq!(chunks.iter().map(|c| c.count).sum::<usize>(), 200);
}

#[test]
fn a_refused_beacon_returns_its_events_to_the_queue() {
    let mut s = shop_with(|c| c.max_batch_bytes = Some(1_500.0));
    for i in 0..12 {
        s.at_url(&format!("/{i}")).ok("page_view", "{}");
    }
    let all = queued_ids(&s);
    let chunks = unload(&mut s, 1);
    assert_eq!(chunks.len(), 2, "nothing is encoded after the refused chunk");
    let b = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(b.count, 12 - chunks[0].count);
    assert_eq!(ids(&b.body), all[chunks[0].count..], "the refused chunk's events and the rest, in order");
    assert_eq!(ids(&chunks[1].body), all[chunks[0].count..chunks[0].count + chunks[1].count]);
}

#[test]
fn a_page_that_becomes_visible_again_resends_its_beaconed_events() {
    let mut s = Shop::new();
    s.page("/");
    let chunks = unload(&mut s, usize::MAX);
    s.tracker.page_visible(s.now + 1000);
    let again = s.tracker.take_batch(s.now, true).unwrap();
    assert_eq!(ids(&again.body), ids(&chunks[0].body), "same ids: the collector dedupes");
}

#[test]
fn a_reload_restores_the_persisted_queue_with_ids_attempts_and_beacons() {
    let mut s = Shop::new();
    s.page("/").page("/2").page("/3");
    let b = s.tracker.take_batch(s.now, true).unwrap();
    s.tracker.complete(b.id, SendResult::NetworkError, s.now, 0.0);
    let persisted = s.tracker.queue_to_persist(s.now, false).expect("a small queue is persisted eagerly");
    let before = ids(&b.body);

    s.reload();
    let (restored, skipped) = EventQueue::parse_persisted(&persisted);
    assert_eq!((restored.len(), skipped), (3, 0));
    assert!(restored.iter().all(|q| q.attempts == 1));
    s.tracker.restore_queue(&funnelcake_core::json::parse(&persisted).unwrap());
    s.page("/4");
    let sent = s.tracker.take_batch(s.now + 10_000, true).unwrap();
    let after = ids(&sent.body);
    assert_eq!(&after[..3], &before[..], "restored events keep their ids and come first");
    assert_eq!(after.len(), 4);
}

#[test]
fn a_queue_handed_over_is_let_go_whole_and_its_adopter_sends_each_event_once() {
    let mut s = shop_with(|c| c.max_batch_bytes = Some(1_500.0));
    for i in 0..12 {
        s.at_url(&format!("/{i}")).ok("page_view", "{}");
    }
    // A batch in flight, beacons taken on hide (one accepted), the queue persisted.
    let mut before = queued_ids(&s);
    let flying = s.tracker.take_batch(s.now, true).unwrap();
    unload(&mut s, 1);
    let persisted = s.tracker.queue_to_persist(s.now, true).unwrap();

    s.tracker.hand_over_queue();
    assert_eq!(s.tracker.pending(), 0, "in flight, parked and refused events all let go");
    assert!(!s.tracker.sending());
    assert!(!s.tracker.complete(flying.id, ok(), s.now, 0.0), "the late answer changes nothing");
    assert!(s.tracker.queue_to_persist(s.now, true).is_none(), "nothing of its own to write over the key");
    assert!(s.tracker.take_batch(s.now, true).is_none());
    assert_eq!(s.tracker.next_wake(), None);

    // Whoever adopts the persisted queue (this page itself, back from the cache) sends all 12.
    s.tracker.restore_queue(&funnelcake_core::json::parse(&persisted).unwrap());
    s.page("/back");
    let mut sent = Vec::new();
    while let Some(b) = s.tracker.take_batch(s.now, true) {
        sent.extend(ids(&b.body));
        s.tracker.complete(b.id, ok(), s.now, 0.0);
    }
    before.sort();
    let mut handed = sent[..12].to_vec();
    handed.sort();
    assert_eq!(handed, before, "the handed-over events first, each once, then the new one");
    assert_eq!(sent.len(), 13);
}

#[test]
fn a_tracker_that_replaces_another_takes_its_queue_and_goes_on_numbering_batches() {
    let mut old = Shop::new();
    old.page("/").page("/2");
    let flying = old.tracker.take_batch(old.now, true).unwrap();
    old.page("/3");
    let queued = old.tracker.pending();

    // The same site initialised again: every event, the one in flight too, moves over.
    let mut new = Shop::new();
    assert!(new.tracker.take_over(&mut old.tracker, false), "the same site");
    new.page("/again");
    assert_eq!((old.tracker.pending(), new.tracker.pending()), (0, queued + 1));
    let next = new.tracker.take_batch(new.now, true).unwrap();
    assert!(next.id > flying.id, "batch ids go on: {} after {}", next.id, flying.id);
    assert!(!new.tracker.complete(flying.id, ok(), new.now, 0.0), "the old batch's answer is not this one's");
    let sent = ids(&next.body);
    assert_eq!(sent.len(), queued + 1);
    assert!(ids(&flying.body).iter().all(|id| sent.contains(id)), "the batch in flight is sent again");
    assert!(new.tracker.complete(next.id, ok(), new.now, 0.0));
    assert_eq!(new.tracker.pending(), 0);

    // Another site: batch ids go on; the old tracker's queue, written under its own site's key
    // for a page of that site to take over, is emptied (the shell does not free the old
    // tracker, so what it held would only take memory).
    let mut other = shop_with(|c| c.site = Some("shop-2".into()));
    let mut old = Shop::new();
    old.page("/");
    let flying = old.tracker.take_batch(old.now, true).unwrap();
    assert!(!other.tracker.take_over(&mut old.tracker, false));
    assert_eq!((old.tracker.pending(), other.tracker.pending()), (0, 0));
    other.page("/");
    assert!(other.tracker.take_batch(other.now, true).unwrap().id > flying.id);
}

#[test]
fn a_tracker_that_takes_over_a_queue_keeps_its_own_bounds() {
    // Initialised again with a smaller queue (10, the least allowed): what the old tracker
    // queued moves over, and the next event brings it within the new bound, the oldest dropped
    // and counted.
    let mut old = Shop::new();
    for i in 0..12 {
        old.page(&format!("/{i}"));
    }
    old.tracker.take_batch(old.now, true).unwrap();
    let queued = old.tracker.pending();
    assert!(queued >= 12);
    let mut new = shop_with(|c| c.max_queue_events = Some(10.0));
    assert!(new.tracker.take_over(&mut old.tracker, false));
    assert_eq!(new.tracker.pending(), queued, "nothing is dropped before the next event");
    new.page("/new");
    assert_eq!(new.tracker.pending(), 10);
    assert_eq!(num(&new.snap(), "dropped.byReason.queue_overflow"), (queued + 1 - 10) as i64);
    let events = decode_batch(&new.tracker.take_batch(new.now, true).unwrap().body).unwrap().events;
    let urls: Vec<String> = events.into_iter().map(|e| e.unwrap().url).collect();
    assert_eq!(urls.last().map(String::as_str), Some("/new"));
    assert_eq!(urls[0], "/3", "the newest are kept: {urls:?}");
}

#[test]
fn large_queues_are_persisted_at_most_once_a_second_unless_forced() {
    let mut s = shop_with(|c| c.flush_at = Some(500.0));
    let blob = format!(r#"{{"note":"{}"}}"#, "p".repeat(2_000));
    for _ in 0..20 {
        s.ok("custom", &blob);
    }
    assert!(s.tracker.queue().bytes() > funnelcake_core::delivery::PERSIST_EAGER_BYTES);
    assert!(s.tracker.queue_to_persist(s.now, false).is_some(), "first write");
    s.ok("custom", &blob);
    assert!(s.tracker.queue_to_persist(s.now + 500, false).is_none(), "throttled");
    assert_eq!(s.tracker.next_wake(), Some(s.now + 1_000), "a wake-up is scheduled for the write");
    assert!(s.tracker.queue_to_persist(s.now + 500, true).is_some(), "forced on hide");
    assert!(s.tracker.queue_to_persist(s.now + 2_000, false).is_none(), "nothing changed since");
}
