//! ISO 4217 currencies and their minor-unit exponents.
//!
//! The table lists every active code of ISO 4217 (list one, as amended through 2025, including
//! the fund codes such as CLF, USN, UYW), except the X-codes whose minor unit ISO gives as
//! "N.A." (precious metals XAU/XAG/XPD/XPT, units XBA–XBD, XDR, XSU, XUA, and XTS). Codes not listed (withdrawn codes, typos, crypto
//! tickers) are *unknown*: amounts in them are converted with exponent 2 and the event is
//! flagged `unknown_currency`, never silently guessed. `XXX` ("no currency") is the documented
//! bucket for amounts given without any currency.

use crate::text::{listed, words};

/// Codes whose exponent is 0.
const EXP0: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
/// Codes whose exponent is 3.
const EXP3: &str = "BHD IQD JOD KWD LYD OMR TND";
/// Codes whose exponent is 4.
const EXP4: &str = "CLF UYW";
/// Codes whose exponent is 2.
const EXP2: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD \
     CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS \
     GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL \
     MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK \
     PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB \
     TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL";

/// The code used for amounts that came without any currency.
pub const NO_CURRENCY: &str = "XXX";

/// The minor-unit exponent of an active ISO 4217 code (upper case), or `None` if unknown.
///
/// ```
/// use funnelcake_core::currency::exponent;
/// assert_eq!(exponent("JPY"), Some(0));
/// assert_eq!(exponent("USD"), Some(2));
/// assert_eq!(exponent("KWD"), Some(3));
/// assert_eq!(exponent("CLF"), Some(4));
/// assert_eq!(exponent("BTC"), None);
/// ```
pub fn exponent(code: &str) -> Option<u32> {
    if code == NO_CURRENCY || listed(EXP2, code) {
        Some(2)
    } else if listed(EXP0, code) {
        Some(0)
    } else if listed(EXP3, code) {
        Some(3)
    } else if listed(EXP4, code) {
        Some(4)
    } else {
        None
    }
}

/// Number of codes in the table (for tests and docs).
pub fn known_count() -> usize {
    [EXP0, EXP2, EXP3, EXP4].iter().map(|t| words(t).count()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicates_and_only_three_letter_upper_case_codes() {
        let mut all: Vec<&str> = [EXP0, EXP2, EXP3, EXP4].iter().flat_map(|t| words(t)).collect();
        assert!(all.iter().all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate code in the table");
        assert_eq!(known_count(), 168, "the active ISO 4217 codes that have a minor unit");
    }
}
