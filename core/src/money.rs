//! Converting amounts to integer minor units at the boundary.
//!
//! Inside the SDK and the collector money is always an `i64` count of minor units with its
//! currency code beside it. Strings are converted digit by digit (no float on the way), numbers
//! by scaling and rounding half away from zero, which absorbs binary float noise
//! (`19.99 * 100 = 1998.9999999999998` becomes 1999).

use crate::json::Value;

/// Largest amount accepted, in minor units (about 9·10^15, where f64 stays exact).
pub const MAX_MINOR: i64 = 9_000_000_000_000_000;

/// `price × quantity` for a non-negative price and quantity, `i64::MAX` when it overflows.
/// (Not `saturating_mul`, whose overflow check is a 128-bit multiply: a library function of its
/// own in the wasm.)
///
/// ```
/// use funnelcake_core::money::times;
/// assert_eq!(times(1_999, 3), 5_997);
/// assert_eq!(times(i64::MAX / 2, 3), i64::MAX);
/// assert_eq!(times(5, 0), 0);
/// ```
pub fn times(price: i64, quantity: i64) -> i64 {
    if quantity > 0 && price > i64::MAX / quantity {
        i64::MAX
    } else {
        price.wrapping_mul(quantity)
    }
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a number or numeric string (NaN, `"abc"`, an object…).
    NotANumber,
    /// Below zero where only non-negative amounts make sense.
    Negative,
    /// Larger than [`MAX_MINOR`].
    TooLarge,
}

/// Converts a JSON number or numeric string to minor units with `exponent` decimals.
///
/// ```
/// use funnelcake_core::{json::Value, money::to_minor};
/// assert_eq!(to_minor(&Value::Num(19.99), 2), Ok(1999));
/// assert_eq!(to_minor(&Value::Str(" 1,234.5 ".into()), 2), Ok(123450));
/// assert_eq!(to_minor(&Value::Num(1500.0), 0), Ok(1500));
/// assert_eq!(to_minor(&Value::Str("1.2345".into()), 3), Ok(1235));
/// assert!(to_minor(&Value::Str("abc".into()), 2).is_err());
/// ```
pub fn to_minor(v: &Value, exponent: u32) -> Result<i64, MoneyError> {
    match v {
        Value::Num(n) => f64_to_minor(*n, exponent),
        Value::Str(s) => str_to_minor(s, exponent),
        _ => Err(MoneyError::NotANumber),
    }
}

/// Converts a float amount (major units) to minor units.
pub fn f64_to_minor(n: f64, exponent: u32) -> Result<i64, MoneyError> {
    if !n.is_finite() {
        return Err(MoneyError::NotANumber);
    }
    let scaled = crate::json::scale10(n, exponent as i32);
    // Round half away from zero, after removing float noise below 1e-6 of a minor unit.
    let rounded = (scaled * 1e6).round() / 1e6;
    let r = rounded.round();
    if r.abs() > MAX_MINOR as f64 {
        return Err(MoneyError::TooLarge);
    }
    Ok(r as i64)
}

/// Parses a decimal string such as `"1,234.50"` or `"-3.1"` exactly (thousands commas and
/// surrounding spaces allowed), rounding half away from zero at `exponent` decimals.
pub fn str_to_minor(s: &str, exponent: u32) -> Result<i64, MoneyError> {
    let s = s.trim_ascii();
    let (neg, body) = match s.strip_prefix("-") {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix("+").unwrap_or(s)),
    };
    let (int_part, frac_part) = match crate::text::split_at_byte(body, b'.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    // The thousands commas are skipped by byte, not removed with `str::replace` (whose char
    // searcher is 0.4 KB of wasm).
    use crate::text::all_bytes;
    if all_bytes(int_part, |b| b == b',') && frac_part.is_empty() {
        return Err(MoneyError::NotANumber);
    }
    if !all_bytes(int_part, |b| b.is_ascii_digit() || b == b',') || !all_bytes(frac_part, |b| b.is_ascii_digit()) {
        return Err(MoneyError::NotANumber);
    }
    let mut minor: i64 = 0;
    // Bounded before each digit rather than by `checked_mul` (a 128-bit multiply in the wasm):
    // below `MAX_MINOR`, ten times it plus a digit is far inside an `i64`.
    let push = |minor: i64, d: u8| -> Result<i64, MoneyError> {
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(minor * 10 + i64::from(d - b'0'))
    };
    for b in int_part.bytes().filter(|b| *b != b',') {
        minor = push(minor, b)?;
    }
    let frac = frac_part.as_bytes();
    for i in 0..exponent as usize {
        minor = push(minor, frac.get(i).copied().unwrap_or(b'0'))?;
    }
    if frac.get(exponent as usize).is_some_and(|d| *d >= b'5') {
        minor += 1;
    }
    if minor > MAX_MINOR {
        return Err(MoneyError::TooLarge);
    }
    Ok(if neg { -minor } else { minor })
}

/// Adds `amount` to the entry for `currency` in a per-currency sum (never mixing currencies).
pub fn add_to(sums: &mut Vec<(String, i64)>, currency: &str, amount: i64) {
    match sums.iter_mut().find(|(c, _)| c == currency) {
        Some((_, v)) => *v = v.saturating_add(amount),
        None => sums.push((currency.to_owned(), amount)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_noise_is_absorbed() {
        for (n, want) in [(19.99, 1999), (0.1 + 0.2, 30), (1.005, 101), (2.675, 268), (-4.35, -435)] {
            assert_eq!(f64_to_minor(n, 2), Ok(want), "{n}");
        }
    }

    #[test]
    fn strings_are_exact() {
        assert_eq!(str_to_minor("0.125", 2), Ok(13));
        assert_eq!(str_to_minor("12", 3), Ok(12_000));
        assert_eq!(str_to_minor(".5", 0), Ok(1));
        assert_eq!(str_to_minor("-0.004", 2), Ok(0));
        for bad in ["", ".", "1.2.3", "1e3", "12abc", "--1", "NaN"] {
            assert!(str_to_minor(bad, 2).is_err(), "{bad}");
        }
        assert_eq!(str_to_minor("99999999999999999999", 2), Err(MoneyError::TooLarge));
        // The bound, exactly: MAX_MINOR itself is kept; one more unit, by a digit or by
        // rounding, is too large; and any number of digits past it stops without overflow.
        assert_eq!(str_to_minor("90000000000000.00", 2), Ok(MAX_MINOR));
        assert_eq!(str_to_minor("-90,000,000,000,000", 2), Ok(-MAX_MINOR));
        assert_eq!(str_to_minor("90000000000000.01", 2), Err(MoneyError::TooLarge));
        assert_eq!(str_to_minor("90000000000000.005", 2), Err(MoneyError::TooLarge));
        assert_eq!(str_to_minor(&"9".repeat(400), 0), Err(MoneyError::TooLarge));
        assert_eq!(str_to_minor(&format!("1.{}", "9".repeat(400)), 18), Err(MoneyError::TooLarge));
    }
}
