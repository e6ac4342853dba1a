//! The tape form in which JS hands values to the wasm (`json::read_tape`; `js/env.js` writes
//! it): the shared cases in `fixtures/tape.json` (also checked against the JS writer by
//! `js/test/env.test.mjs`), damaged tapes, and random values and bytes.

use funnelcake_core::json::{parse, read_tape, write_tape, Value, MAX_DEPTH};
use proptest::prelude::*;

#[test]
fn each_shared_tape_reads_as_its_json_text() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tape.json");
    let cases = parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let (json, tape) =
            (case.as_array().unwrap()[0].as_str().unwrap(), case.as_array().unwrap()[1].as_str().unwrap());
        assert_eq!(read_tape(tape), Some(parse(json).unwrap()), "{tape:?}");
    }
}

#[test]
fn damaged_tapes_are_refused() {
    let bad: &[(&str, &str)] = &[
        ("", "empty"),
        ("x", "no value"),
        ("e", "an end without a start"),
        ("s", "no length"),
        ("sx:a", "no length"),
        ("s3:ab", "shorter than its length"),
        ("s1:😀", "one unit where the character is two"),
        ("d,", "no number"),
        ("d1.,", "not a number"),
        ("d12", "no end"),
        ("a", "unclosed"),
        ("ad1,", "unclosed"),
        ("o1:a", "a member without a value"),
        ("o1:ae", "a member without a value ('e' is none)"),
        ("oxe", "a key without a length"),
    ];
    for (tape, why) in bad {
        assert_eq!(read_tape(tape), None, "{tape:?}: {why}");
    }
    // Only the first value is read (the one writer is ours).
    assert_eq!(read_tape("s1:ab"), Some(Value::Str("a".into())));
    // Lone surrogates reach the wasm as U+FFFD (TextEncoder), one unit as in JS.
    assert_eq!(read_tape("s2:\u{FFFD}x"), Some(Value::Str("\u{FFFD}x".into())));
}

#[test]
fn nesting_stops_at_the_json_parsers_depth() {
    let deep = |n: usize| format!("{}n{}", "a".repeat(n), "e".repeat(n));
    assert!(read_tape(&deep(MAX_DEPTH)).is_some());
    assert_eq!(read_tape(&deep(MAX_DEPTH + 1)), None);
    // Far deeper than the wasm's stack could recurse: refused, not a crash.
    assert_eq!(read_tape(&deep(100_000)), None);
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1e6f64..1e6).prop_map(|n| Value::Num((n * 100.0).round() / 100.0)),
        any::<String>().prop_map(Value::Str),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Arr),
            prop::collection::vec((any::<String>(), inner), 0..8).prop_map(Value::Obj),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any value, strings of any characters included, reads back from its tape as itself.
    #[test]
    fn every_value_reads_back_from_its_tape(v in value()) {
        let mut tape = String::new();
        write_tape(&v, &mut tape);
        prop_assert_eq!(read_tape(&tape), Some(v));
    }

    /// Any text at all, and any tape cut short or with text put into it, is read or refused
    /// without a panic.
    #[test]
    fn any_text_is_read_or_refused_without_panicking(v in value(), cut in any::<prop::sample::Index>(), noise in any::<String>()) {
        let mut tape = String::new();
        write_tape(&v, &mut tape);
        let cuts: Vec<usize> = (0..=tape.len()).filter(|i| tape.is_char_boundary(*i)).collect();
        let at = cuts[cut.index(cuts.len())];
        let _ = read_tape(&tape[..at]);
        let _ = read_tape(&format!("{}{}{}", &tape[..at], noise, &tape[at..]));
        let _ = read_tape(&noise);
    }
}
