//! Small byte-level string helpers. `str`'s own `split`, `split_once`, `rsplit` and
//! `chars().count()` each instantiate a pattern searcher or a counting routine in the wasm
//! (BENCHMARKS.md, size steps); splitting at an ASCII byte needs none of that, and the result is
//! the same because an ASCII byte never occurs inside a multi-byte UTF-8 sequence.

/// Where the first of the ASCII bytes in `stops` occurs in `s`. One loop for [`split_at_byte`]
/// and [`until_any`] (each `position` closure was a function of its own in the wasm).
#[inline(never)]
fn find_any(s: &str, stops: &[u8]) -> Option<usize> {
    // `any` rather than `stops.contains`, which calls the 0.4 KB `memchr` for a list of bytes.
    #[allow(clippy::manual_contains)]
    s.bytes().position(|b| stops.iter().any(|x| *x == b))
}

/// `true` if `ok` holds for every byte of `s`: one loop for every such check (each closure given
/// to `bytes().all` was a function of its own in the wasm).
#[inline(never)]
pub fn all_bytes(s: &str, ok: fn(u8) -> bool) -> bool {
    s.bytes().all(ok)
}

/// `s` split at the first `sep` (an ASCII byte), without it.
pub fn split_at_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_any(s, &[sep])?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// The part of `s` before the first of the ASCII bytes in `stops` (all of `s` if none occurs).
pub fn until_any<'a>(s: &'a str, stops: &[u8]) -> &'a str {
    let end = find_any(s, stops).unwrap_or(s.len());
    s.get(..end).unwrap_or(s)
}

/// A copy of `s` in ASCII upper case (`upper`) or lower case, other characters as they are.
/// `str::to_ascii_uppercase` and `to_ascii_lowercase` each bring their own collecting loop into
/// the wasm; this is one copy changed in place.
///
/// ```
/// use funnelcake_core::text::ascii_cased;
/// assert_eq!(ascii_cased("Eur", true), "EUR");
/// assert_eq!(ascii_cased("WWW.Shop.Ünïcode", false), "www.shop.Ünïcode");
/// ```
pub fn ascii_cased(s: &str, upper: bool) -> String {
    let mut out = s.to_owned();
    if upper {
        out.make_ascii_uppercase();
    } else {
        out.make_ascii_lowercase();
    }
    out
}

/// The byte length of the first `n` characters of `s` (`s.len()` if it has `n` or fewer).
pub fn chars_len(s: &str, n: usize) -> usize {
    let mut seen = 0;
    for (i, b) in s.bytes().enumerate() {
        // A character starts at every byte that is not a UTF-8 continuation byte (0b10xx_xxxx).
        if b & 0xC0 != 0x80 {
            if seen == n {
                return i;
            }
            seen += 1;
        }
    }
    s.len()
}

/// The first `n` characters of `s` (all of `s` if it has `n` or fewer).
///
/// ```
/// use funnelcake_core::text::first_chars;
/// assert_eq!((first_chars("héllo", 2), first_chars("ab", 5)), ("hé", "ab"));
/// ```
pub fn first_chars(s: &str, n: usize) -> &str {
    s.get(..chars_len(s, n)).unwrap_or(s)
}

/// The words of a space-separated list (empty words skipped). Fixed lists (currency codes, host
/// fragments, property keys) are kept as one such string rather than a `&[&str]`, which costs 8
/// bytes of pointer and length per entry in the wasm.
pub fn words(list: &str) -> impl Iterator<Item = &str> {
    split_bytes(list, b' ').filter(|w| !w.is_empty())
}

/// `true` if `word` is one of the words of the space-separated `list`.
pub fn listed(list: &str, word: &str) -> bool {
    words(list).any(|w| w == word)
}

/// The parts of `s` between the ASCII byte `sep` (as `str::split`; `""` gives one empty part).
pub fn split_bytes(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match split_at_byte(r, sep) {
            Some((part, tail)) => {
                rest = Some(tail);
                Some(part)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// `b` as text if it is valid UTF-8, exactly as `String::from_utf8` decides (shortest forms only,
/// no surrogates, nothing above U+10FFFF), decoded character by character: the standard
/// library's validator is larger (the wasm was 636 bytes smaller without it). Used for
/// percent-decoded URL parts and for the page's strings as the shell copies them in.
///
/// ```
/// use funnelcake_core::text::utf8;
/// assert_eq!(utf8("café €".as_bytes()).as_deref(), Some("café €"));
/// assert_eq!(utf8(b"\xff"), None);
/// ```
pub fn utf8(b: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while let Some(&lead) = b.get(i) {
        // Continuation bytes, the smallest code point that needs them, the lead byte's bits.
        let (n, min, bits) = match lead {
            0x00..=0x7F => (0, 0, 0x7F),
            0xC0..=0xDF => (1, 0x80, 0x1F),
            0xE0..=0xEF => (2, 0x800, 0x0F),
            0xF0..=0xF7 => (3, 0x1_0000, 0x07),
            _ => return None,
        };
        let mut cp = u32::from(lead & bits);
        for k in 1..=n {
            let x = *b.get(i + k)?;
            if x & 0xC0 != 0x80 {
                return None;
            }
            cp = cp << 6 | u32::from(x & 0x3F);
        }
        if cp < min {
            return None; // an overlong form
        }
        out.push(char::from_u32(cp)?);
        i += n + 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_str() {
        for s in ["", "a", "a=b", "=b", "a=", "a=b=c", "é=ü=€", "==="] {
            assert_eq!(split_at_byte(s, b'='), s.split_once('='), "{s}");
            assert_eq!(split_bytes(s, b'=').collect::<Vec<_>>(), s.split('=').collect::<Vec<_>>(), "{s}");
        }
        assert_eq!(until_any("shop.example:8080/a?b#c", b":/?#"), "shop.example");
        assert_eq!(until_any("plain", b"/?#"), "plain");
        assert_eq!(words(" a  bc d ").collect::<Vec<_>>(), ["a", "bc", "d"]);
        assert!(listed("a bc", "bc") && !listed("a bc", "b") && !listed("a bc", ""));
    }

    #[test]
    fn counts_characters_not_bytes() {
        for (s, n) in [("", 3), ("abc", 2), ("abc", 3), ("abc", 9), ("héllo wörld €", 5), ("€€€", 2), ("😀a", 1)]
        {
            let want: String = s.chars().take(n).collect();
            assert_eq!(&s[..chars_len(s, n)], want, "{s} {n}");
        }
    }

    #[test]
    fn decodes_utf8_as_the_standard_library_decides() {
        let cases: [&[u8]; 14] = [
            b"",
            b"plain ascii",
            "é ü € 😀 \u{10FFFF}".as_bytes(),
            b"\xff",                  // never a lead byte
            b"\x80",                  // a continuation byte alone
            b"\xc3",                  // cut short
            b"\xe2\x82",              // cut short
            b"\xc0\x80",              // overlong NUL
            b"\xe0\x80\xaf",          // overlong '/'
            b"\xf0\x82\x82\xac",      // overlong '€'
            b"\xed\xa0\x80",          // a UTF-16 surrogate
            b"\xf4\x90\x80\x80",      // above U+10FFFF
            b"\xf8\x88\x80\x80\x80",  // a five-byte form
            b"ok\xe2\x82\xacok\xc3(", // valid, then a broken sequence
        ];
        for b in cases {
            assert_eq!(utf8(b), String::from_utf8(b.to_vec()).ok(), "{b:?}");
        }
    }
}
