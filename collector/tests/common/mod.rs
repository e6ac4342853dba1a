//! What the store tests share.

use funnelcake_collector::store::StoredEvent;
use funnelcake_core::wire::Event;

/// An event of `site` as stored, its id made from `n`, received when it happened (no skew), from
/// a desktop Chrome.
pub fn stored(site: &str, n: u64, sid: &str, t: &str, ts: i64, seq: u64) -> StoredEvent {
    StoredEvent {
        site: site.into(),
        event: Event {
            id: format!("{n:032x}"),
            t: t.into(),
            ts,
            sid: sid.into(),
            aid: format!("a-{sid}"),
            seq,
            url: "/".into(),
            ..Event::default()
        },
        ts,
        received_at: ts,
        ua_family: "Chrome",
        device: "desktop",
    }
}
