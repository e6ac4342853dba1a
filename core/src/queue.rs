//! The bounded, persistable queue of unsent events.
//!
//! Invariants:
//! - never more than `max_events` events or `max_bytes` bytes (wire JSON) are held; past that the
//!   oldest events *not in flight* are dropped, and the caller counts them;
//! - events leave only through [`EventQueue::remove_front`] (delivered, rejected, expired) or
//!   overflow, so nothing is lost without being counted;
//! - the in-flight events are always a prefix of the queue (one batch in flight at a time);
//! - events are held as their wire JSON, encoded once when recorded: a batch is a
//!   concatenation, and a retry resends the very same bytes (same id);
//! - the persisted form ([`EventQueue::to_json`]) is that JSON plus the event time, the attempt
//!   count and whether it already went out in a beacon; reading it back re-checks each entry
//!   with the JSON parser, so a damaged entry is skipped, never trusted.

use crate::json::{self, Value};
use crate::wire::Event;

/// One queued event.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// The event's wire JSON, exactly as it will be (re)sent: a retry keeps its id.
    pub json: String,
    /// The event's client time, epoch ms (for batching by age and giving up after 24 h).
    pub ts: i64,
    /// Failed delivery attempts so far.
    pub attempts: u32,
    /// Sent in an unload beacon whose fate is unknown; resent on the next page load (the
    /// collector's dedupe by id makes that harmless).
    pub beaconed: bool,
    /// Bytes this entry takes in the persisted queue: `json` plus [`ENTRY_OVERHEAD`].
    pub bytes: usize,
}

/// Upper bound of the persisted form's per-entry framing (`[attempts,beaconed,ts,` … `],`),
/// counted in every entry's size so the persisted queue stays within `maxQueueBytes`.
pub const ENTRY_OVERHEAD: usize = 40;

impl Queued {
    /// A queued event from a wire event, with `props` (JSON text), `exp` and `src` in place of
    /// the event's own when given ([`Event::write_with`]).
    pub fn new(
        event: &Event,
        props: Option<&str>,
        exp: Option<&[(String, u32)]>,
        src: Option<&crate::wire::Source>,
    ) -> Queued {
        let mut json = String::new();
        event.write_with(&mut json, props, exp, src);
        Queued { bytes: json.len() + ENTRY_OVERHEAD, json, ts: event.ts, attempts: 0, beaconed: false }
    }
}

/// Bounded FIFO of unsent events.
#[derive(Debug, Clone, Default)]
pub struct EventQueue {
    // Plain `Vec`s: a `VecDeque` costs about 1.5 KB more wasm, and at most a few thousand
    // entries are held (removing from the front moves the rest in place: microseconds). The
    // per-batch removal must stay in place (`drain`): splitting the `Vec` on every batch churned
    // the allocator and nearly doubled the wasm memory in bench/browser. (Parking at page hide
    // and unparking split it, once per hide.)
    items: Vec<Queued>,
    /// Events sent in an unload beacon, unconfirmed: not resent by this page unless it becomes
    /// visible again or the beacon was refused; resent after a reload.
    parked: Vec<Queued>,
    bytes: usize,
    in_flight: usize,
    max_events: usize,
    max_bytes: usize,
}

/// The wire bytes of `items` (one plain loop for both sums: a `map(..).sum()` was its own code).
fn bytes_of(items: &[Queued]) -> usize {
    let mut n = 0;
    for q in items {
        n += q.bytes;
    }
    n
}

impl EventQueue {
    /// An empty queue with the given bounds.
    pub fn new(max_events: usize, max_bytes: usize) -> EventQueue {
        EventQueue { max_events: max_events.max(1), max_bytes: max_bytes.max(1), ..EventQueue::default() }
    }

    /// Number of events held (including in flight and parked).
    pub fn len(&self) -> usize {
        self.items.len() + self.parked.len()
    }

    /// `true` when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.parked.is_empty()
    }

    /// Events that can be sent now (not parked), including any in flight.
    pub fn sendable(&self) -> usize {
        self.items.len()
    }

    /// Wire bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Events currently in flight (a prefix).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The sendable events, oldest first (parked ones are not included).
    pub fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.items.iter()
    }

    /// The oldest event, if any.
    pub fn front(&self) -> Option<&Queued> {
        self.items.first()
    }

    /// Appends an event; returns how many of the oldest not-in-flight events were dropped to
    /// stay within the bounds. An event larger than the whole byte bound is itself dropped
    /// (counted in the return value).
    ///
    /// ```
    /// use funnelcake_core::{queue::EventQueue, wire::Event};
    /// let mut q = EventQueue::new(2, 1_000_000);
    /// let e = |t: &str| Event { t: t.into(), ..Event::default() };
    /// assert_eq!(q.push(e("a")) + q.push(e("b")), 0);
    /// assert_eq!(q.push(e("c")), 1);
    /// assert_eq!(q.iter().map(|x| x.json.as_str()).collect::<Vec<_>>(), [r#"{"id":"","t":"b","ts":0,"sid":"","aid":"","seq":0,"url":""}"#, r#"{"id":"","t":"c","ts":0,"sid":"","aid":"","seq":0,"url":""}"#]);
    /// ```
    pub fn push(&mut self, event: Event) -> u64 {
        self.push_queued(Queued::new(&event, None, None, None))
    }

    /// [`EventQueue::push`] of an event already encoded.
    pub fn push_queued(&mut self, q: Queued) -> u64 {
        if q.bytes > self.max_bytes {
            return 1;
        }
        self.bytes += q.bytes;
        self.items.push(q);
        let mut dropped = 0;
        while self.len() > self.max_events || self.bytes > self.max_bytes {
            // Drop the oldest event that is not in flight: parked ones first (they were sent
            // once already), then the oldest unsent.
            let (list, at) = if !self.parked.is_empty() {
                (&mut self.parked, 0)
            } else if self.items.len() > self.in_flight {
                (&mut self.items, self.in_flight)
            } else {
                break;
            };
            // One `drain` for both lists and `remove_front` (a `Vec::remove` was its own copy).
            self.bytes -= list[at].bytes;
            list.drain(at..at + 1);
            dropped += 1;
        }
        dropped
    }

    /// Takes every event `other` holds, the ones in flight as unsent, keeping this queue's
    /// bounds (the next [`EventQueue::push`] keeps to them, dropping the oldest as it does);
    /// `other` is left with what this queue held. For an SDK initialised again, whose new
    /// config may bound the queue differently.
    pub fn take_events(&mut self, other: &mut EventQueue) {
        let bounds = (self.max_events, self.max_bytes);
        std::mem::swap(self, other);
        (self.max_events, self.max_bytes) = bounds;
        self.land();
    }

    /// Marks the first `n` events as in flight.
    pub fn mark_in_flight(&mut self, n: usize) {
        self.in_flight = n.min(self.items.len());
    }

    /// Clears the in-flight mark (the send ended).
    pub fn land(&mut self) {
        self.in_flight = 0;
    }

    /// Removes the first `n` events (delivered, rejected or expired).
    pub fn remove_front(&mut self, n: usize) {
        let n = n.min(self.items.len());
        self.in_flight = self.in_flight.saturating_sub(n);
        self.bytes -= bytes_of(self.items.get(..n).unwrap_or_default());
        self.items.drain(0..n);
    }

    /// Removes every event that is not in flight (consent withdrawn); returns how many.
    pub fn discard_unsent(&mut self) -> usize {
        let n = self.items.len() - self.in_flight + self.parked.len();
        self.items.drain(self.in_flight..self.items.len()); // (`drain`: its code is linked already)
        self.parked.clear();
        self.bytes = bytes_of(&self.items);
        n
    }

    /// Mutable access to the first `n` events (to count attempts, mark beacons).
    pub fn front_mut(&mut self, n: usize) -> impl Iterator<Item = &mut Queued> {
        self.items.iter_mut().take(n)
    }

    /// Parks every event that is not in flight (they are being sent by beacon) and returns
    /// them, oldest first (read in place: a copy of their wire JSON was as much memory again as
    /// the queue, at the moment the page hides).
    pub fn park_unsent(&mut self) -> &[Queued] {
        let mut unsent = self.items.split_off(self.in_flight);
        for q in &mut unsent {
            q.beaconed = true;
        }
        let start = self.parked.len();
        self.parked.append(&mut unsent);
        &self.parked[start..]
    }

    /// Returns the newest `n` parked events to the sendable queue (their beacon was refused).
    pub fn unpark_newest(&mut self, n: usize) {
        let keep = self.parked.len().saturating_sub(n);
        let at = self.in_flight.min(self.items.len());
        let mut back = self.parked.split_off(keep);
        for q in &mut back {
            q.beaconed = false;
        }
        let mut newer = self.items.split_off(at);
        self.items.append(&mut back);
        self.items.append(&mut newer);
    }

    /// Returns every parked event to the sendable queue, ahead of newer events (the page is
    /// alive again: resend and let the collector's dedupe settle what the beacon delivered).
    pub fn unpark_all(&mut self) {
        let n = self.parked.len();
        self.unpark_newest(n);
    }

    /// Appends the events of a persisted queue (this tab's previous page, or a closed tab's
    /// queue, as [`EventQueue::to_json`] wrote it and the shell read it), keeping their ids and
    /// attempts; returns how many were dropped for the bounds. Read into the queue one by one
    /// (a `Vec` of them first was code of its own in the wasm).
    pub fn restore(&mut self, persisted: &Value) -> u64 {
        let mut dropped = 0;
        EventQueue::read_persisted(persisted, |mut q| {
            // A beacon's fate is unknown: resend (the collector dedupes by id).
            q.beaconed = false;
            dropped += self.push_queued(q);
        });
        dropped
    }

    /// The persisted form: `[[attempts, beaconed, ts, <wire event>], …]`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.bytes + 2);
        self.persisted_parts(&mut |part| out.push_str(part));
        out
    }

    /// [`EventQueue::to_json`] in parts, in order: `[`, one part per event (with its leading
    /// comma), `]`. The shell hands the parts to JS to be joined there, so the wasm heap never
    /// holds the queue's text a second time (up to `maxQueueBytes`; BENCHMARKS.md, memory).
    pub fn persisted_parts(&self, f: &mut dyn FnMut(&str)) {
        f("[");
        let mut part = String::new();
        for (i, q) in self.parked.iter().chain(self.items.iter()).enumerate() {
            part.clear();
            part.push_str(if i > 0 { ",[" } else { "[" });
            json::write_int(&mut part, i64::from(q.attempts));
            part.push_str(if q.beaconed { ",1," } else { ",0," });
            json::write_int(&mut part, q.ts);
            part.push(',');
            part.push_str(&q.json);
            part.push(']');
            f(&part);
        }
        f("]");
    }

    /// Reads [`EventQueue::to_json`]; unreadable entries are skipped (returned count).
    pub fn parse_persisted(text: &str) -> (Vec<Queued>, u64) {
        let mut out = Vec::new();
        let skipped = EventQueue::read_persisted(&json::parse(text).unwrap_or_default(), |q| out.push(q));
        (out, skipped)
    }

    /// Hands `each` the events of a persisted queue already read into a value (the wasm has it
    /// from `js/env.js` in tape form: [`json::read_tape`]), in order; returns how many entries
    /// were unreadable and skipped.
    pub fn read_persisted(v: &Value, mut each: impl FnMut(Queued)) -> u64 {
        let Value::Arr(list) = v else { return 0 };
        let mut skipped = 0;
        for entry in list {
            let parsed = entry.as_array().and_then(|a| {
                let attempts = u32::try_from(a.first()?.as_i64()?).ok()?;
                let beaconed = a.get(1)?.as_i64()? == 1;
                let ts = a.get(2)?.as_i64()?;
                // The minimum a sendable event needs: an object with a well-formed id. The
                // collector validates the rest, as it does for every event.
                let event =
                    a.get(3).filter(|e| e.get("id").and_then(Value::as_str).is_some_and(crate::wire::is_event_id))?;
                let json = event.to_json();
                Some(Queued { bytes: json.len() + ENTRY_OVERHEAD, json, ts, attempts, beaconed })
            });
            match parsed {
                Some(q) => each(q),
                None => skipped += 1,
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq_of(q: &Queued) -> u64 {
        json::parse(&q.json).unwrap().get("seq").unwrap().as_i64().unwrap() as u64
    }

    fn ev(id: u8, pad: usize) -> Event {
        Event {
            id: format!("{id:032x}"),
            t: "x".into(),
            sid: "s".into(),
            aid: "a".into(),
            seq: u64::from(id),
            url: "u".repeat(pad),
            ..Event::default()
        }
    }

    #[test]
    fn bytes_bound_drops_oldest_not_in_flight() {
        let one = ev(1, 100).encoded_len() + ENTRY_OVERHEAD;
        let mut q = EventQueue::new(100, one * 3);
        for i in 1..=3 {
            assert_eq!(q.push(ev(i, 100)), 0);
        }
        q.mark_in_flight(1);
        assert_eq!(q.push(ev(4, 100)), 1);
        let seqs: Vec<u64> = q.iter().map(seq_of).collect();
        assert_eq!(seqs, vec![1, 3, 4], "the in-flight event 1 stays; 2 is the oldest droppable");
        assert!(q.bytes() <= one * 3);
        assert_eq!(q.push(ev(5, one * 4)), 1, "an event larger than the whole bound is refused");
    }

    #[test]
    fn parked_events_persist_and_return_when_the_beacon_is_refused_or_the_page_lives_on() {
        let mut q = EventQueue::new(10, 100_000);
        for i in 1..=4 {
            q.push(ev(i, 1));
        }
        q.mark_in_flight(1);
        let parked = q.park_unsent().iter().map(seq_of).collect::<Vec<_>>();
        assert_eq!(parked, vec![2, 3, 4]);
        assert_eq!((q.len(), q.sendable()), (4, 1));
        assert!(q.to_json().contains("[0,1,"), "parked events are persisted, marked");
        q.unpark_newest(1);
        assert_eq!(q.iter().map(seq_of).collect::<Vec<_>>(), vec![1, 4]);
        q.push(ev(5, 1));
        q.unpark_all();
        assert_eq!(q.iter().map(seq_of).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        assert!(q.iter().all(|x| !x.beaconed));
    }

    #[test]
    fn persisted_parts_are_the_brackets_and_one_part_per_event() {
        let mut q = EventQueue::new(10, 100_000);
        let mut parts = Vec::new();
        q.persisted_parts(&mut |p| parts.push(p.to_owned()));
        assert_eq!(parts, ["[", "]"]);
        q.push(ev(1, 1));
        q.push(ev(2, 1));
        let mut parts = Vec::new();
        q.persisted_parts(&mut |p| parts.push(p.to_owned()));
        assert_eq!(parts.len(), 4);
        assert!(parts[1].starts_with("[0,0,") && parts[2].starts_with(",[0,0,"), "{parts:?}");
        assert_eq!(parts.concat(), q.to_json());
        assert_eq!(EventQueue::parse_persisted(&parts.concat()).0.len(), 2);
    }

    #[test]
    fn persisted_form_round_trips_and_skips_damage() {
        let mut q = EventQueue::new(10, 100_000);
        q.push(ev(1, 1));
        q.push(ev(2, 1));
        q.front_mut(1).for_each(|x| {
            x.attempts = 3;
            x.beaconed = true;
        });
        let text = q.to_json();
        let (back, skipped) = EventQueue::parse_persisted(&text);
        assert_eq!((back.len(), skipped), (2, 0));
        assert_eq!((back[0].attempts, back[0].beaconed, back[1].attempts), (3, true, 0));
        assert_eq!(back[0].json, q.front().unwrap().json);
        let damaged = text.replacen("[3,1,0,", "[3,1,0,{\"bad\":1},", 1);
        let (back, skipped) = EventQueue::parse_persisted(&damaged);
        assert_eq!((back.len(), skipped), (1, 1), "the damaged entry is skipped, the other kept");
        let (back, skipped) = EventQueue::parse_persisted("[[0,0,5,{\"t\":1}],[1],[0,0,5,{\"id\":\"XYZ\"}]]");
        assert_eq!((back.len(), skipped), (0, 3));
        assert_eq!(EventQueue::parse_persisted("not json").0.len(), 0);
    }

    #[test]
    fn a_restored_queue_comes_behind_resends_beaconed_events_and_keeps_the_bounds() {
        let mut old = EventQueue::new(10, 100_000);
        for i in 1..=4 {
            old.push(ev(i, 1));
        }
        old.front_mut(2).for_each(|x| {
            x.attempts = 2;
            x.beaconed = true;
        });
        let persisted = json::parse(&old.to_json().replacen("[2,1,", "[2,1,{\"bad\":1},", 1)).unwrap();
        let mut q = EventQueue::new(3, 100_000);
        q.push(ev(9, 1));
        // Three at most: the damaged entry skipped, then the oldest (the one queued) dropped.
        assert_eq!(q.restore(&persisted), 1);
        assert_eq!(q.iter().map(seq_of).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(q.restore(&json::parse("[]").unwrap()) + q.restore(&Value::Null), 0);
        let mut wide = EventQueue::new(10, 100_000);
        wide.push(ev(9, 1));
        assert_eq!(wide.restore(&persisted), 0);
        assert_eq!(wide.iter().map(seq_of).collect::<Vec<_>>(), vec![9, 2, 3, 4], "behind what was queued");
        assert!(wide.iter().all(|x| !x.beaconed), "a beacon's fate is unknown: resent");
        assert_eq!(wide.iter().map(|x| x.attempts).collect::<Vec<_>>(), vec![0, 2, 0, 0]);
    }
}
