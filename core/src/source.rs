//! Traffic-source classification of a session's landing page.
//!
//! Decided once, when a session starts, from the landing URL's query and the referrer, in this
//! order (first match wins):
//!
//! 1. a paid click id (`gclid`, `gbraid`, `wbraid`, `dclid`, `msclkid`) → `paid_search`;
//! 2. `utm_medium` of `cpc`, `ppc`, `paid`, `paidsearch`, `paid_search`, `sem` → `paid_search`;
//!    `email`, `e-mail`, `newsletter` → `email`; `social`, `social-network`, `social-media`, `sm`,
//!    `paid_social`, `paidsocial` → `social`; `organic` → `organic_search`; `referral` →
//!    `referral`; a `fbclid`/`ttclid` click id → `social`;
//! 3. the referrer host is a known search engine → `organic_search` (or a known webmail host →
//!    `email`, a known social site → `social`);
//! 4. `utm_source` names a known search engine, social site or mail provider → that class;
//! 5. another site's referrer → `referral`; no referrer, or the same site → `direct`.
//!
//! `source` is `utm_source`, else the referring host (without `www.`); medium, campaign, term and
//! content come from the matching `utm_` parameters.

use crate::text::{ascii_cased, split_at_byte, split_bytes, until_any, words};
use crate::wire::Source;

/// Host fragments of search engines: a referrer host containing one is organic search.
pub const SEARCH_ENGINES: &str = "google. bing.com duckduckgo.com search.yahoo. yahoo.co baidu.com yandex. ecosia.org \
    search.brave.com naver.com seznam.cz qwant.com startpage.com ask.com sogou.com so.com \
    kagi.com";
/// Host fragments of social sites.
pub const SOCIAL_SITES: &str =
    "facebook.com fb.com instagram.com t.co twitter.com x.com linkedin.com lnkd.in pinterest. \
    reddit.com tiktok.com youtube.com youtu.be snapchat.com threads.net tumblr.com \
    whatsapp.com telegram.org t.me vk.com weibo.com mastodon. bsky.app";
/// Host fragments of webmail providers (a click from a mail is `email`).
pub const MAIL_HOSTS: &str = "mail.google.com outlook.live.com outlook.office.com mail.yahoo.com mail.proton.me \
    mail.aol.com";

/// The value of query parameter `key` in `query` (with or without the leading `?`), decoded.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    let q = split_at_byte(query, b'?').map_or(query, |(_, q)| q);
    split_bytes(until_any(q, b"#"), b'&').find_map(|pair| {
        let (k, v) = split_at_byte(pair, b'=').unwrap_or((pair, ""));
        if k == key {
            Some(percent_decode(v)).filter(|s| !s.is_empty())
        } else {
            None
        }
    })
}

/// Decodes `%XX` escapes and `+` (as space); invalid escapes are kept as written.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    // Not valid UTF-8 after decoding (a stray `%ff`): keep the text as written.
    crate::text::utf8(&out).unwrap_or_else(|| s.to_owned())
}

/// Index of the first occurrence of `needle` in `hay`.
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The host of an absolute URL, lower-cased, without user info, port or `www.`.
///
/// ```
/// use funnelcake_core::source::host_of;
/// assert_eq!(host_of("https://WWW.Shop.example:8443/a?b#c").as_deref(), Some("shop.example"));
/// assert_eq!(host_of("https://me:pw@a@mail.example/x@y").as_deref(), Some("mail.example"));
/// assert_eq!(host_of("/relative"), None);
/// assert_eq!(host_of("https://user@/"), None);
/// ```
pub fn host_of(url: &str) -> Option<String> {
    // Byte-level search: `str` substring search would pull ~6 KB of searcher and panic code into
    // the wasm.
    let start = find_bytes(url.as_bytes(), b"://")? + 3;
    let rest = url.get(start..)?;
    let mut host = until_any(rest, b"/?#");
    // After the last `@` (user info), by the forward split the other readers use.
    while let Some((_, h)) = split_at_byte(host, b'@') {
        host = h;
    }
    let host = ascii_cased(until_any(host, b":"), false);
    let host = host.strip_prefix("www.").map(str::to_owned).unwrap_or(host);
    if host.is_empty() {
        None
    } else {
        Some(host)
    }
}

/// `true` if `host` is one of the fragments in `list` (space-separated) or a subdomain of it; a
/// fragment ending in `.` (`google.`) matches any suffix (`google.de`, `www.google.co.uk`).
fn matches_any(host: &str, list: &str) -> bool {
    let h = host.as_bytes();
    words(list).any(|frag| {
        if frag.ends_with(".") {
            (0..h.len()).any(|i| (i == 0 || h[i - 1] == b'.') && h[i..].starts_with(frag.as_bytes()))
        } else {
            host.strip_suffix(frag).is_some_and(|rest| rest.is_empty() || rest.ends_with("."))
        }
    })
}

/// `utm_medium` values (lower case) that name a kind of traffic.
const MEDIUMS: [(&str, &str); 5] = [
    ("paid_search", "cpc ppc paid paidsearch paid_search paid-search sem"),
    ("email", "email e-mail e_mail newsletter"),
    ("social", "social social-network social-media social_media sm paid_social paidsocial paid-social"),
    ("organic_search", "organic"),
    ("referral", "referral"),
];

/// The kind of traffic a `utm_medium` names. (Word lists, not a `match` on strings: that was
/// one comparison's code per string.)
fn medium_kind(m: &str) -> Option<&'static str> {
    for (kind, list) in MEDIUMS {
        if crate::text::listed(list, m) {
            return Some(kind);
        }
    }
    None
}

/// Classifies a session's source from its landing `url` (path + query), the `referrer` and the
/// page's own `host`.
///
/// ```
/// use funnelcake_core::source::classify;
/// assert_eq!(classify("/?gclid=abc", None, "shop.example").kind, "paid_search");
/// assert_eq!(classify("/", Some("https://www.google.com/"), "shop.example").kind, "organic_search");
/// assert_eq!(classify("/", Some("https://shop.example/cart"), "shop.example").kind, "direct");
/// ```
pub fn classify(url: &str, referrer: Option<&str>, own_host: &str) -> Source {
    let p = |k: &str| query_param(url, k);
    let medium = p("utm_medium");
    let utm_source = p("utm_source");
    let ref_host = referrer.and_then(host_of);
    let own = ascii_cased(own_host, false);
    let own = until_any(own.strip_prefix("www.").unwrap_or(&own), b":");
    let external_ref = ref_host.filter(|h| h != own);
    let m = medium.as_deref().map(|s| ascii_cased(s, false));
    let src_l = utm_source.as_deref().map(|s| ascii_cased(s, false));

    let kind = if ["gclid", "gbraid", "wbraid", "dclid", "msclkid"].iter().any(|k| p(k).is_some()) {
        "paid_search"
    } else if let Some(kind) = m.as_deref().and_then(medium_kind) {
        kind
    } else if p("fbclid").is_some() || p("ttclid").is_some() {
        "social"
    } else if let Some(kind) = external_ref.as_deref().and_then(|h| {
        // Mail first: `mail.google.com` also matches the search engines' `google.`.
        if matches_any(h, MAIL_HOSTS) {
            Some("email")
        } else if matches_any(h, SEARCH_ENGINES) {
            Some("organic_search")
        } else if matches_any(h, SOCIAL_SITES) {
            Some("social")
        } else {
            None
        }
    }) {
        kind
    } else if let Some(s) = src_l.as_deref() {
        let mut probe = String::from(s);
        probe.push_str(".com");
        if matches_any(s, SOCIAL_SITES) || matches_any(&probe, SOCIAL_SITES) {
            "social"
        } else if matches_any(s, SEARCH_ENGINES) || matches_any(&probe, SEARCH_ENGINES) {
            "organic_search"
        } else if find_bytes(s.as_bytes(), b"mail").is_some() || find_bytes(s.as_bytes(), b"newsletter").is_some() {
            "email"
        } else {
            "referral"
        }
    } else if external_ref.is_some() {
        "referral"
    } else {
        "direct"
    };
    Source {
        kind: kind.to_owned(),
        source: utm_source.or(external_ref),
        medium,
        campaign: p("utm_campaign"),
        term: p("utm_term"),
        content: p("utm_content"),
    }
}
