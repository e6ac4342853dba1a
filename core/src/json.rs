//! A small JSON value, parser and writer.
//!
//! The wire format (and the SDK's persisted queue) is JSON. Rather than pull serde_json into the
//! wasm build, the core carries this compact implementation, and the collector parses batches
//! with the very same code, so there is exactly one reading of the wire format. The wasm writes
//! JSON but reads none: values reach it in the tape form JS writes ([`read_tape`]), which needs
//! no parser of escapes, whitespace or error positions.
//!
//! Invariants:
//! - parsing never panics and never recurses deeper than [`MAX_DEPTH`];
//! - object member order is preserved (the writer emits members in insertion order);
//! - numbers are `f64`; non-finite numbers are written as `null`.
//!
//! Numbers are read and written without `core`'s float parsing and formatting machinery, which
//! would add about 40 KB to the wasm (see BENCHMARKS.md). Reading is exact (correctly rounded) for
//! every literal of at most 15 significant digits with a decimal exponent within ±22 — every
//! amount, price, timestamp and ordinary property value; longer literals are approximated within a
//! few units in the last place. Writing emits integers plainly and other numbers with the fewest
//! decimals (up to 17) that read back to the same `f64`.

/// Deepest nesting the parser accepts; deeper input is rejected with [`JsonError::TooDeep`].
pub const MAX_DEPTH: usize = 32;

/// A JSON value. Objects keep their members in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// Any JSON number.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Value>),
    /// An object, members in document order.
    Obj(Vec<(String, Value)>),
}

impl Value {
    /// The member `key` of an object, if this is an object that has it.
    ///
    /// ```
    /// use funnelcake_core::json::{parse, Value};
    /// let v = parse(r#"{"a":1}"#).unwrap();
    /// assert_eq!(v.get("a"), Some(&Value::Num(1.0)));
    /// assert_eq!(v.get("b"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A copy of the string member `key`, if this is an object whose `key` is a string (one
    /// shared function for a lookup the persisted forms, config and options all make).
    ///
    /// ```
    /// use funnelcake_core::json::parse;
    /// let v = parse(r#"{"a":"x","b":1}"#).unwrap();
    /// assert_eq!((v.text("a").as_deref(), v.text("b"), v.text("c")), (Some("x"), None, None));
    /// ```
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    /// The member `key` of an object, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Obj(members) => members.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Takes the member `key` out of an object (leaving `null` in its place), if this is an
    /// object that has it: readers that keep part of a value move it out instead of cloning it.
    ///
    /// ```
    /// use funnelcake_core::json::{parse, Value};
    /// let mut v = parse(r#"{"a":[1]}"#).unwrap();
    /// assert_eq!(v.take("a"), Some(Value::Arr(vec![Value::Num(1.0)])));
    /// assert_eq!(v.take("b"), None);
    /// assert_eq!(v.get("a"), Some(&Value::Null));
    /// ```
    pub fn take(&mut self, key: &str) -> Option<Value> {
        self.get_mut(key).map(core::mem::take)
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number inside, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            _ => None,
        }
    }

    /// The number inside as an integer, if it is a finite whole number within ±2^53.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Num(n) if n.is_finite() && n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 => Some(*n as i64),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Obj(m) => Some(m),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// `true` for `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The JSON text of this value.
    ///
    /// ```
    /// use funnelcake_core::json::Value;
    /// let v = Value::Obj(vec![("n".into(), Value::Num(3.0)), ("s".into(), Value::Str("a\"b".into()))]);
    /// assert_eq!(v.to_json(), r#"{"n":3,"s":"a\"b"}"#);
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    /// Appends the JSON text of this value to `out`.
    pub fn write_to(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Num(n) => write_num(out, *n),
            Value::Str(s) => write_str(out, s),
            Value::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_to(out);
                }
                out.push(']');
            }
            Value::Obj(members) => write_object(out, members),
        }
    }
}

/// Writes `members` as a JSON object (what [`Value::write_to`] writes for [`Value::Obj`]; an
/// event's properties are kept as members, not as a value).
pub fn write_object(out: &mut String, members: &[(String, Value)]) {
    out.push('{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, k);
        out.push(':');
        v.write_to(out);
    }
    out.push('}');
}

/// Reads a JSON array element by element: the positional forms the SDK persists (the session
/// state and its metrics), which name no keys and so need no lookups. Each read takes the next
/// element; `None` when there is none or it has the wrong type.
///
/// ```
/// use funnelcake_core::json::{parse, Cursor};
/// let v = parse(r#"["a",2,null,[3]]"#).unwrap();
/// let mut c = Cursor::new(&v).unwrap();
/// assert_eq!(c.text().as_deref(), Some("a"));
/// assert_eq!(c.int(), Some(2));
/// assert_eq!(c.opt_text(), Some(None));
/// assert_eq!(c.list().and_then(|mut l| l.int()), Some(3));
/// assert!(c.done() && c.int().is_none());
/// ```
pub struct Cursor<'a>(std::slice::Iter<'a, Value>);

impl<'a> Cursor<'a> {
    /// A cursor at the first element of `v`, if `v` is an array.
    pub fn new(v: &'a Value) -> Option<Cursor<'a>> {
        Some(Cursor(v.as_array()?.iter()))
    }

    /// `true` when every element has been read.
    pub fn done(&self) -> bool {
        self.0.as_slice().is_empty()
    }

    /// The next element.
    pub fn value(&mut self) -> Option<&'a Value> {
        self.0.next()
    }

    /// The next element, an integer (see [`Value::as_i64`]).
    pub fn int(&mut self) -> Option<i64> {
        self.value()?.as_i64()
    }

    /// The next element, an integer or anything else (read as `None`).
    pub fn opt_int(&mut self) -> Option<Option<i64>> {
        Some(self.value()?.as_i64())
    }

    /// A copy of the next element, a string.
    pub fn text(&mut self) -> Option<String> {
        self.value()?.as_str().map(str::to_owned)
    }

    /// A copy of the next element, a string or anything else (read as `None`).
    pub fn opt_text(&mut self) -> Option<Option<String>> {
        Some(self.value()?.as_str().map(str::to_owned))
    }

    /// Reads the next element, a string, into `slot`: one copy of the assignment (and of the
    /// drop of what `slot` held) for every field the persisted forms read.
    #[inline(never)]
    pub fn text_into(&mut self, slot: &mut String) -> Option<()> {
        *slot = self.text()?;
        Some(())
    }

    /// Reads the next element, a string or anything else (`None`), into `slot`.
    #[inline(never)]
    pub fn opt_text_into(&mut self, slot: &mut Option<String>) -> Option<()> {
        *slot = self.opt_text()?;
        Some(())
    }

    /// A cursor over the next element, an array.
    pub fn list(&mut self) -> Option<Cursor<'a>> {
        Cursor::new(self.value()?)
    }
}

/// Writes what [`Cursor`] reads: JSON arrays, element by element. Each element is followed by a
/// comma, which [`Row::close`] takes back; the outermost array's own comma is left to the caller.
///
/// ```
/// use funnelcake_core::json::Row;
/// let mut out = String::new();
/// let mut w = Row(&mut out);
/// w.open();
/// w.text("a");
/// w.opt_int(None);
/// w.open();
/// w.close();
/// w.close();
/// assert_eq!(out, r#"["a",null,[]],"#);
/// ```
pub struct Row<'a>(pub &'a mut String);

impl Row<'_> {
    /// Starts an array.
    pub fn open(&mut self) {
        self.0.push('[');
    }

    /// Ends the array started last.
    pub fn close(&mut self) {
        // By byte: `String::pop` would decode the last character.
        if matches!(self.0.as_bytes().last(), Some(b',')) {
            self.0.truncate(self.0.len() - 1);
        }
        self.0.push_str("],");
    }

    /// An integer element.
    pub fn int(&mut self, n: i64) {
        self.opt_int(Some(n));
    }

    /// An integer or `null` element.
    pub fn opt_int(&mut self, n: Option<i64>) {
        write_opt_int(self.0, n);
        self.0.push(',');
    }

    /// A string element.
    pub fn text(&mut self, s: &str) {
        self.opt_text(Some(s));
    }

    /// A string or `null` element.
    pub fn opt_text(&mut self, s: Option<&str>) {
        write_opt_str(self.0, s);
        self.0.push(',');
    }
}

/// Appends an integer, or `null` for `None`.
pub fn write_opt_int(out: &mut String, n: Option<i64>) {
    match n {
        Some(n) => write_int(out, n),
        None => out.push_str("null"),
    }
}

/// Appends a string, or `null` for `None`.
pub fn write_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.push_str("null"),
    }
}

/// Appends an integer in decimal.
pub fn write_int(out: &mut String, n: i64) {
    if n == 0 {
        out.push('0');
        return;
    }
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let neg = n < 0;
    let mut m = n.unsigned_abs();
    while m > 0 {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
    }
    if neg {
        out.push('-');
    }
    for &b in &buf[i..] {
        out.push(b as char);
    }
}

/// Appends a number: whole numbers without a fraction, non-finite numbers as `null`.
pub fn write_num(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
    } else if n.fract() == 0.0 && n.abs() < 9.2e18 {
        // Every integral `f64` below 2^63 is an `i64` exactly (all from 2^53 up are integral).
        write_int(out, n as i64);
    } else {
        write_fraction(out, n);
    }
}

/// Powers of ten exactly representable as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Writes a finite non-integer with the fewest decimals (≤ 17) that read back to `n`.
fn write_fraction(out: &mut String, n: f64) {
    let neg = n < 0.0;
    let a = n.abs();
    for k in 1..18usize {
        let scaled = (a * POW10[k]).round();
        if scaled >= 1.8e19 {
            break;
        }
        // `parse_number` reads `digits` back as `digits / 10^k`: the same operation as here.
        if scaled != 0.0 && scaled / POW10[k] == a {
            let digits = scaled as u64;
            // `POW10[k]` is exact for k ≤ 22 (no `u64::pow` in the wasm for this one use).
            let unit = POW10[k] as u64;
            let (int_part, frac) = (digits / unit, digits % unit);
            if neg && digits != 0 {
                out.push('-');
            }
            write_int(out, int_part as i64);
            if frac != 0 {
                out.push('.');
                let mut buf = [b'0'; 17];
                let mut f = frac;
                for i in (0..k).rev() {
                    buf[i] = b'0' + (f % 10) as u8;
                    f /= 10;
                }
                let len = buf[..k].iter().rposition(|d| *d != b'0').map_or(0, |p| p + 1);
                for &d in &buf[..len] {
                    out.push(d as char);
                }
            }
            return;
        }
    }
    // Magnitudes too small (or too large) for 17 decimals: exponent form, mantissa rounded to 14
    // decimals. The mantissa is `a` scaled by steps of exact powers of ten: `a / 10f64.powi(exp)`
    // divided a subnormal by 10^309 and more, which is infinite, and the infinite mantissa then
    // never left the loop below (a page that tracked 1e-310 hung).
    let exp = {
        let mut e = 0i32;
        let mut m = a;
        while m >= 10.0 {
            m /= 10.0;
            e += 1;
        }
        while m < 1.0 && m > 0.0 {
            m *= 10.0;
            e -= 1;
        }
        e
    };
    let mantissa = scale10(a, -exp);
    if neg {
        out.push('-');
    }
    write_fraction(out, (mantissa * 1e14).round() / 1e14);
    out.push('e');
    write_int(out, i64::from(exp));
}

/// Parses a JSON number literal (also used for numeric strings elsewhere in the core). `None`
/// for anything that is not `-?digits[.digits][e[+-]digits]`.
///
/// ```
/// use funnelcake_core::json::parse_number;
/// assert_eq!(parse_number("19.99"), Some(19.99));
/// assert_eq!(parse_number("-0.1e1"), Some(-1.0));
/// assert_eq!(parse_number("1e400"), Some(f64::INFINITY));
/// assert_eq!(parse_number("1."), None);
/// ```
pub fn parse_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = 0;
    let neg = matches!(b.first(), Some(b'-'));
    if neg {
        i += 1;
    }
    let mut mantissa: u64 = 0;
    let mut exp10: i64 = 0;
    let mut any = false;
    let mut take = |d: u8, exp_adjust: i64, exp10: &mut i64| {
        if mantissa == 0 && d == b'0' {
            *exp10 += exp_adjust.min(0);
            return;
        }
        // Significant digits are kept while they fit in a `u64` (19, or 20 up to 1.8e19: the
        // writer's longest digits), the rest counted in the exponent.
        if mantissa <= (u64::MAX - 9) / 10 {
            mantissa = mantissa * 10 + u64::from(d - b'0');
            *exp10 += exp_adjust.min(0);
        } else {
            *exp10 += 1 + exp_adjust.min(0);
        }
    };
    let int_start = i;
    while let Some(&d @ b'0'..=b'9') = b.get(i) {
        take(d, 0, &mut exp10);
        i += 1;
        any = true;
    }
    if i - int_start > 1 && b[int_start] == b'0' {
        return None; // leading zeros
    }
    if matches!(b.get(i), Some(b'.')) {
        i += 1;
        let frac_start = i;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            take(d, -1, &mut exp10);
            i += 1;
        }
        if i == frac_start {
            return None;
        }
    }
    if !any {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let eneg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            e = (e * 10 + i64::from(d - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if eneg { -e } else { e };
    }
    if i != b.len() {
        return None;
    }
    let v = if mantissa == 0 {
        0.0
    } else if exp10 > 308 + 19 {
        f64::INFINITY
    } else if exp10 < -343 {
        0.0
    } else {
        // Clinger's fast path when the mantissa is below 2^53 and |exp10| ≤ 22: both operands
        // exact, one correctly rounded operation.
        scale10(mantissa as f64, exp10 as i32)
    };
    Some(if neg { -v } else { v })
}

/// `v × 10^e`: one multiplication or division by an exact power of ten when |e| ≤ 22, in steps
/// of 10^22 beyond (no overflow on the way for results in range). Shared by the parser and the
/// exponent form of the writer (in place of `f64::powi`, a library function in the wasm).
pub(crate) fn scale10(mut v: f64, mut e: i32) -> f64 {
    while e > 22 {
        v *= 1e22;
        e -= 22;
    }
    while e < -22 {
        v /= 1e22;
        e += 22;
    }
    if e >= 0 {
        v * POW10[e as usize]
    } else {
        v / POW10[(-e) as usize]
    }
}

/// Appends a JSON string literal with the required escapes.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of characters that need no escape are copied whole (most strings are one run).
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or_default());
        run = i + 1;
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(s.get(run..).unwrap_or_default());
    out.push('"');
}

/// Why a JSON text could not be parsed. `at` is the byte offset where the problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    /// The text ended in the middle of a value.
    UnexpectedEnd,
    /// A character that cannot start or continue a value here.
    UnexpectedChar {
        /// Byte offset.
        at: usize,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep {
        /// Byte offset.
        at: usize,
    },
    /// A malformed number, escape or string.
    Invalid {
        /// Byte offset.
        at: usize,
    },
    /// Something other than whitespace after the value.
    TrailingCharacters {
        /// Byte offset.
        at: usize,
    },
}

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            JsonError::UnexpectedEnd => f.write_str("unexpected end of JSON"),
            JsonError::UnexpectedChar { at } => write!(f, "unexpected character at byte {at}"),
            JsonError::TooDeep { at } => write!(f, "nesting deeper than {MAX_DEPTH} at byte {at}"),
            JsonError::Invalid { at } => write!(f, "invalid number, string or escape at byte {at}"),
            JsonError::TrailingCharacters { at } => write!(f, "trailing characters at byte {at}"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads one value of the tape form that `js/env.js` writes (`tape`), in which page objects and
/// stored JSON text reach the wasm: JS's own `JSON.parse` and a walk over the value stand in for
/// a JSON parser in the wasm ([`parse`] stays, for the collector and the tests). Per value:
///
/// - `n`, `t`, `f`: null, true, false;
/// - `d<number>,`: a finite number, in JS's text of it (read by [`parse_number`]);
/// - `s<units>:<text>`: a string of `units` UTF-16 code units (its JS `length`), unescaped;
/// - `a<value>…e`: an array; `o<units>:<key><value>…e`: an object (each key as a string's
///   length and text, without the `s`).
///
/// `None` for anything else, or nesting deeper than [`MAX_DEPTH`]. Never panics. Text after the
/// first value is not looked at: the tape's one writer is ours (a check for it was 41 bytes
/// gzip).
///
/// ```
/// use funnelcake_core::json::{parse, read_tape, Value};
/// let v = read_tape("o1:as3:é😀4:listad-1.5,tfne0:ne").unwrap();
/// assert_eq!(v, parse(r#"{"a":"é😀","list":[-1.5,true,false,null],"":null}"#).unwrap());
/// assert_eq!(read_tape("s3:ab"), None);
/// assert_eq!(read_tape("s1:ab"), Some(Value::Str("a".into())));
/// ```
pub fn read_tape(tape: &str) -> Option<Value> {
    Tape { s: tape, i: 0 }.value(0)
}

/// The tape of `v`, as `js/env.js` writes it (string lengths in UTF-16 units; numbers in this
/// crate's text of them, which [`read_tape`] reads as it reads JS's), for tests and benchmarks:
/// the wasm reads tapes and never writes one, so it does not link this.
///
/// ```
/// use funnelcake_core::json::{parse, read_tape, write_tape};
/// let v = parse(r#"{"a":["é😀",1.5,null]}"#).unwrap();
/// let mut tape = String::new();
/// write_tape(&v, &mut tape);
/// assert_eq!(tape, "o1:aas3:é😀d1.5,nee");
/// assert_eq!(read_tape(&tape), Some(v));
/// ```
pub fn write_tape(v: &Value, out: &mut String) {
    fn text(s: &str, out: &mut String) {
        write_int(out, s.encode_utf16().count() as i64);
        out.push(':');
        out.push_str(s);
    }
    match v {
        Value::Null => out.push('n'),
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Num(n) => {
            out.push('d');
            write_num(out, *n);
            out.push(',');
        }
        Value::Str(s) => {
            out.push('s');
            text(s, out);
        }
        Value::Arr(items) => {
            out.push('a');
            items.iter().for_each(|i| write_tape(i, out));
            out.push('e');
        }
        Value::Obj(members) => {
            out.push('o');
            for (k, v) in members {
                text(k, out);
                write_tape(v, out);
            }
            out.push('e');
        }
    }
}

struct Tape<'a> {
    s: &'a str,
    i: usize,
}

impl Tape<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    /// `true` (and consumed) at the `e` that ends an array or object.
    fn end(&mut self) -> bool {
        let end = self.peek() == Some(b'e');
        self.i += usize::from(end);
        end
    }

    /// The text before the next `end`, which is consumed with it.
    fn until(&mut self, end: u8) -> Option<&str> {
        let start = self.i;
        while self.next()? != end {}
        self.s.get(start..self.i - 1)
    }

    /// `<units>:<text>`: the text of that many UTF-16 code units (a character past U+FFFF is
    /// two; the lone surrogates JS strings may hold arrive as U+FFFD, one).
    fn text(&mut self) -> Option<String> {
        let mut units = parse_number(self.until(b':')?)? as usize;
        let start = self.i;
        while units > 0 {
            let b = self.next()?;
            // A character's first byte (not a continuation byte), four bytes long from 0xF0.
            if b & 0xC0 != 0x80 {
                units = units.checked_sub(1 + usize::from(b >= 0xF0))?;
            }
        }
        while self.peek().is_some_and(|b| b & 0xC0 == 0x80) {
            self.i += 1;
        }
        self.s.get(start..self.i).map(str::to_owned)
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        Some(match self.next()? {
            b'n' => Value::Null,
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'd' => Value::Num(parse_number(self.until(b',')?)?),
            b's' => Value::Str(self.text()?),
            b'a' if depth < MAX_DEPTH => {
                let mut items = Vec::new();
                while !self.end() {
                    items.push(self.value(depth + 1)?);
                }
                Value::Arr(items)
            }
            b'o' if depth < MAX_DEPTH => {
                let mut members = Vec::new();
                while !self.end() {
                    let k = self.text()?;
                    members.push((k, self.value(depth + 1)?));
                }
                Value::Obj(members)
            }
            _ => return None,
        })
    }
}

/// Parses one JSON value (surrounding whitespace allowed).
///
/// ```
/// use funnelcake_core::json::{parse, JsonError, Value};
/// assert_eq!(parse(" [1, \"x\", null] ").unwrap().to_json(), r#"[1,"x",null]"#);
/// assert!(matches!(parse("[1,"), Err(JsonError::UnexpectedEnd)));
/// ```
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser { s: text, b: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(JsonError::TrailingCharacters { at: p.i });
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Result<u8, JsonError> {
        self.b.get(self.i).copied().ok_or(JsonError::UnexpectedEnd)
    }

    fn lit(&mut self, word: &[u8], v: Value) -> Result<Value, JsonError> {
        let end = self.i + word.len();
        match self.b.get(self.i..end) {
            Some(s) if s == word => {
                self.i = end;
                Ok(v)
            }
            Some(_) => Err(JsonError::UnexpectedChar { at: self.i }),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.ws();
        match self.peek()? {
            b'n' => self.lit(b"null", Value::Null),
            b't' => self.lit(b"true", Value::Bool(true)),
            b'f' => self.lit(b"false", Value::Bool(false)),
            b'"' => self.string().map(Value::Str),
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(JsonError::TooDeep { at: self.i });
                }
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Ok(Value::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Ok(Value::Arr(items));
                        }
                        _ => return Err(JsonError::UnexpectedChar { at: self.i }),
                    }
                }
            }
            b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(JsonError::TooDeep { at: self.i });
                }
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Ok(Value::Obj(members));
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return Err(JsonError::UnexpectedChar { at: self.i });
                    }
                    let k = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return Err(JsonError::UnexpectedChar { at: self.i });
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    members.push((k, v));
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Ok(Value::Obj(members));
                        }
                        _ => return Err(JsonError::UnexpectedChar { at: self.i }),
                    }
                }
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonError::UnexpectedChar { at: self.i }),
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        // The span of characters a number can hold; `parse_number` checks the grammar (one
        // check, not a second one here first).
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.i += 1;
        }
        let text = self.s.get(start..self.i).ok_or(JsonError::Invalid { at: start })?;
        parse_number(text).map(Value::Num).ok_or(JsonError::Invalid { at: start })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let s = self.b.get(self.i..self.i + 4).ok_or(JsonError::UnexpectedEnd)?;
        let mut n = 0u32;
        for &c in s {
            let d = (c as char).to_digit(16).ok_or(JsonError::Invalid { at: self.i })?;
            n = n * 16 + d;
        }
        self.i += 4;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        // Caller checked the opening quote.
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // The input is a &str and we only stop at ASCII bytes, so this is a char boundary.
            out.push_str(self.s.get(start..self.i).ok_or(JsonError::Invalid { at: start })?);
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let esc = self.peek()?;
                    self.i += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let at = self.i;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                // A high surrogate must be followed by an escaped low surrogate.
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err(JsonError::Invalid { at });
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(JsonError::Invalid { at });
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or(JsonError::Invalid { at })?);
                        }
                        _ => return Err(JsonError::Invalid { at: self.i - 1 }),
                    }
                }
                _ => return Err(JsonError::Invalid { at: self.i }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_nested_values() {
        let text = r#"{"a":[1,2.5,-3,true,false,null],"b":{"c":"d\ne\u0001"},"e":""}"#;
        assert_eq!(parse(text).unwrap().to_json(), text);
    }

    #[test]
    fn decodes_surrogate_pairs_and_rejects_lone_ones() {
        assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), Value::Str("😀".into()));
        assert!(parse(r#""\ud83d""#).is_err());
    }

    #[test]
    fn arrays_and_objects_close_with_their_own_bracket() {
        for bad in
            ["[}", "{]", "[1}", "{\"a\":1]", "{,}", "[,1]", "{\"a\":1,}", "{1:2}", "{\"a\"}", "[", "{", "[1", "{\"a\":"]
        {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
        for good in ["[]", "{}", " [ ] ", "{ }", "[[],{}]", "{\"a\":[],\"b\":{}}", "[{\"a\":[1,{\"b\":null}]}]"] {
            assert!(parse(good).is_ok(), "{good} should parse");
        }
        assert_eq!(parse(" { \"a\" : [ 1 , 2 ] } ").unwrap().to_json(), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn rejects_depth_beyond_limit() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(matches!(parse(&deep), Err(JsonError::TooDeep { .. })));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn rejects_malformed_numbers_and_trailing_text() {
        for bad in ["01", "-", "1.", "1e", "+1", "1 2", "{\"a\" 1}", "[1,]", "nul"] {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
        // Inside arrays and objects too, where a number ends at the next character that cannot
        // be part of one.
        for bad in ["[1.5.3]", "[1-2]", "[.5]", "[1.e5]", "[--1]", "[1e5e5]", "[-0x1]", "{\"a\":1+1}", "[1,-]", "[00]"]
        {
            assert!(parse(bad).is_err(), "{bad} should fail");
        }
        for (good, n) in [("[-0.0e+0]", -0.0), ("[1E-2]", 0.01), ("[0,1]", 0.0), ("{\"a\":12}", 12.0)] {
            let got = match parse(good) {
                Ok(Value::Arr(a)) => a[0].as_f64(),
                Ok(Value::Obj(o)) => o[0].1.as_f64(),
                _ => None,
            };
            assert_eq!(got, Some(n), "{good}");
        }
    }

    #[test]
    fn numbers_round_trip_through_the_writer_and_the_parser() {
        let cases = [
            0.5,
            2.5,
            -4.35,
            0.1,
            0.2 + 0.1,
            19.99,
            1.005,
            1.234_567_890_123_456_7,
            1e-7,
            123_456.789,
            -0.000_1,
            1.0 / 3.0,
            2.0 / 3.0,
            9_007_199_254_740.5,
            1e-300,
            6.02e23 + 0.5,
        ];
        for n in cases {
            let mut s = String::new();
            write_num(&mut s, n);
            let back = parse_number(&s).unwrap();
            let tol = if n.abs() < 1e-200 || n.abs() > 1e20 { n.abs() * 1e-13 } else { 0.0 };
            assert!((back - n).abs() <= tol, "{n} -> {s} -> {back}");
        }
        let mut s = String::new();
        for n in [0.5, 19.99, -4.35, 0.1 + 0.2] {
            write_num(&mut s, n);
            s.push(' ');
        }
        assert_eq!(s, "0.5 19.99 -4.35 0.30000000000000004 ");
    }

    #[test]
    fn subnormal_and_extreme_numbers_are_written_and_read_back() {
        // Subnormals: before, the writer's mantissa was infinite for these and it never returned.
        for (n, text) in [
            (1e-310, "9.99999999999997e-311"),
            (5e-324, "4.94065645841247e-324"),
            (-2.5e-315, "-2.49999999867454e-315"), // the subnormal nearest -2.5e-315
        ] {
            let mut s = String::new();
            write_num(&mut s, n);
            assert_eq!(s, text);
            assert_eq!(parse_number(&s), Some(n), "{s}");
        }
        for n in [2.225_073_858_507_201_4e-308, 1e-200, 1e300, -6.02e23 - 0.5, 1.797e308] {
            let mut s = String::new();
            write_num(&mut s, n);
            let back = parse_number(&s).unwrap();
            assert!(((back - n) / n).abs() <= 1e-13, "{n} -> {s} -> {back}");
        }
    }

    #[test]
    fn the_number_parser_agrees_with_std_on_ordinary_literals() {
        for t in [
            "0",
            "-0",
            "12",
            "19.99",
            "0.1",
            "1e3",
            "2.5E-3",
            "123456789012345",
            "0.000001",
            "1732270000000",
            "-7.25e2",
        ] {
            assert_eq!(parse_number(t), t.parse::<f64>().ok(), "{t}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "--1"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn writes_non_finite_as_null_and_integers_plainly() {
        let mut s = String::new();
        write_num(&mut s, f64::NAN);
        s.push(' ');
        write_num(&mut s, 1_732_270_000_000.0);
        s.push(' ');
        write_int(&mut s, i64::MIN);
        assert_eq!(s, "null 1732270000000 -9223372036854775808");
    }
}
