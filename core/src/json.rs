//! A small JSON value, parser and writer.
//!
//! The wire format (and the SDK's persisted queue) is JSON. Rather than pull serde_json into the
//! wasm build, the core carries this compact implementation, and the collector parses batches
//! with the very same code, so there is exactly one reading of the wire format.
//!
//! Invariants:
//! - parsing never panics and never recurses deeper than [`MAX_DEPTH`];
//! - object member order is preserved (the writer emits members in insertion order);
//! - numbers are `f64`; non-finite numbers are written as `null`.

use core::fmt::Write as _;

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
            Value::Obj(members) => {
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
        }
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
    } else if n.fract() == 0.0 && n.abs() < 9.0e15 {
        write_int(out, n as i64);
    } else {
        // Shortest round-trip representation; `{}` never uses exponent notation.
        let _ = write!(out, "{n}");
    }
}

/// Appends a JSON string literal with the required escapes.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
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

/// Parses one JSON value (surrounding whitespace allowed).
///
/// ```
/// use funnelcake_core::json::{parse, JsonError, Value};
/// assert_eq!(parse(" [1, \"x\", null] ").unwrap().to_json(), r#"[1,"x",null]"#);
/// assert!(matches!(parse("[1,"), Err(JsonError::UnexpectedEnd)));
/// ```
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let mut p = Parser { b: text.as_bytes(), i: 0 };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err(JsonError::TrailingCharacters { at: p.i });
    }
    Ok(v)
}

struct Parser<'a> {
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
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.b.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > s
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        if self.b.get(self.i) == Some(&b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(JsonError::Invalid { at: start });
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(JsonError::Invalid { at: start });
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(JsonError::Invalid { at: start });
            }
        }
        let text = core::str::from_utf8(&self.b[start..self.i]).map_err(|_| JsonError::Invalid { at: start })?;
        text.parse::<f64>().map(Value::Num).map_err(|_| JsonError::Invalid { at: start })
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
            // The input is a &str and we only stop at ASCII bytes, so this slice is valid UTF-8.
            out.push_str(core::str::from_utf8(&self.b[start..self.i]).map_err(|_| JsonError::Invalid { at: start })?);
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
