//! Email addresses in what an event says about its page are replaced by `(redacted)` before it
//! is stored, as GA4's data redaction does (README, Privacy): an order confirmation's
//! `?email=`, a newsletter link or an account page's title puts the visitor's address in the
//! page's URL, referrer or title, which every event carries, in the traffic source read from
//! that URL, and in the session summary's landing and exit pages. `--keep-emails` stores them
//! as sent.
//!
//! The SDK sends them as the page has them: redacting in the browser measured 400 to 460 bytes
//! gzip of wasm (BENCHMARKS.md), a feature the collector gives every sender for none.

use funnelcake_core::json::Value;
use funnelcake_core::wire::Event;

/// What replaces each address.
pub const REDACTED: &str = "(redacted)";

/// `true` for a byte of an address's domain: `A-Z a-z 0-9 . -`.
fn domain_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'-'
}

/// `true` for a byte of an address's local part: the domain's and `_ % +` (`%` for a local part
/// percent-encoded, as in `jane%2Btag%40example.com`).
fn local_byte(c: u8) -> bool {
    domain_byte(c) || matches!(c, b'_' | b'%' | b'+')
}

/// `s` with every email address in it replaced by [`REDACTED`], or `None` when it has none. An
/// address is a non-empty local part, then `@` (or `%40`, as a query string encodes it), then a
/// domain with a dot in it: a path's `/@shop` and a `user@localhost` are kept. It never goes
/// back: the domain read ahead of an `@` ends before the next `@` or `%40`, so each byte is read
/// at most three times (the main loop, that domain, its dot check) and no input makes it slow.
///
/// ```
/// use funnelcake_collector::redact::redact_emails;
/// assert_eq!(
///     redact_emails("/thanks?email=jane.doe%2Btag%40example.co.uk&x=1").as_deref(),
///     Some("/thanks?email=(redacted)&x=1")
/// );
/// assert_eq!(redact_emails("Welcome, jane@example.com!").as_deref(), Some("Welcome, (redacted)!"));
/// assert_eq!(redact_emails("/@shop.name?u=root@localhost"), None);
/// ```
pub fn redact_emails(s: &str) -> Option<String> {
    redact_counting(s, &mut 0)
}

/// [`redact_emails`], adding to `reads` each byte it reads (what its test of that bound counts).
fn redact_counting(s: &str, reads: &mut usize) -> Option<String> {
    let b = s.as_bytes();
    let mut out = String::new();
    // `s[..kept]` is in `out`; `run` is where the bytes before `i` that a local part may be
    // made of began.
    let (mut kept, mut run, mut i) = (0, 0, 0);
    while i < b.len() {
        *reads += 1;
        let at = match &b[i..] {
            [b'@', ..] => 1,
            [b'%', b'4', b'0', ..] => 3,
            _ => 0,
        };
        if at == 0 {
            i += 1;
            if !local_byte(b[i - 1]) {
                run = i;
            }
            continue;
        }
        let mut end = i + at;
        while end < b.len() && domain_byte(b[end]) {
            end += 1;
        }
        *reads += 2 * (end - i - at);
        if run < i && b[i + at..end].contains(&b'.') {
            // Every byte passed is ASCII, so `run` and `end` are character boundaries.
            out.push_str(&s[kept..run]);
            out.push_str(REDACTED);
            kept = end;
            i = end;
        } else {
            i += at;
        }
        run = i;
    }
    if kept == 0 {
        return None;
    }
    out.push_str(&s[kept..]);
    Some(out)
}

fn redact(s: &mut String) {
    if let Some(r) = redact_emails(s) {
        *s = r;
    }
}

/// Redacts a string property, and each string member of an object one.
fn redact_prop(v: &mut Value) {
    match v {
        Value::Str(s) => redact(s),
        Value::Obj(members) => members.iter_mut().for_each(|(_, v)| {
            if let Value::Str(s) = v {
                redact(s)
            }
        }),
        _ => {}
    }
}

/// Redacts the addresses in `e`'s page (`url`, `ref`, `title`) and traffic source (the `utm_*`
/// values the SDK read from that URL: an email platform's link may put the address in
/// `utm_term` or `utm_content`), and, in a session summary's properties, in its `landing_page`,
/// `exit_page` and `source` (its referrer and `utm_*` values).
pub fn redact_event(e: &mut Event) {
    redact(&mut e.url);
    let src = e.src.as_mut().map(|s| [&mut s.source, &mut s.medium, &mut s.campaign, &mut s.term, &mut s.content]);
    for s in [&mut e.referrer, &mut e.title].into_iter().chain(src.into_iter().flatten()).flatten() {
        redact(s);
    }
    if e.t != "session_summary" {
        return;
    }
    for (k, v) in &mut e.props {
        if matches!(k.as_str(), "landing_page" | "exit_page" | "source") {
            redact_prop(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_counting, redact_emails};

    #[test]
    fn addresses_in_urls_titles_and_text_are_redacted_and_nothing_else() {
        let cases = [
            ("/thanks?email=jane%40example.com", Some("/thanks?email=(redacted)")),
            ("/thanks?email=JANE%40EXAMPLE.COM&order=1", Some("/thanks?email=(redacted)&order=1")),
            ("/r?to=a@b.co&cc=c.d-e_f+g@h-i.example.org#x", Some("/r?to=(redacted)&cc=(redacted)#x")),
            ("mailto:jane@example.com", Some("mailto:(redacted)")),
            ("Ваш заказ — jane@example.com — ✓", Some("Ваш заказ — (redacted) — ✓")),
            ("https://user@example.com/path", Some("https://(redacted)/path")),
            ("/@shop.name", None),
            ("/profile/jane@localhost", None),
            ("/p?x=%41%40", None),
            ("@example.com", None),
            ("/a@@b.com", None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(redact_emails(input).as_deref(), want, "{input}");
        }
    }

    #[test]
    fn no_input_has_a_byte_read_more_than_three_times() {
        // Counted, not timed: runs of local-part bytes between markers that match nothing, long
        // local parts and domains, markers back to back, dots everywhere.
        let hostile = [
            ("a%40".repeat(50_000) + &"b".repeat(100_000) + "@x", false),
            ("a".repeat(100_000) + "@example.com", true),
            ("a@".repeat(50_000) + "b.c", true),
            ("x@a.".repeat(30_000), true),
            ("@".repeat(100_000) + &".".repeat(100_000), false),
            ("%40".repeat(60_000) + "a.b", false),
            ("a@b".repeat(40_000) + ".c", true),
        ];
        for (s, redacted) in hostile {
            let mut reads = 0;
            assert_eq!(redact_counting(&s, &mut reads).is_some(), redacted, "{}…", &s[..12]);
            assert!(reads <= 3 * s.len(), "{reads} reads of {} bytes ({}…)", s.len(), &s[..12]);
        }
    }
}
