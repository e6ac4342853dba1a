//! ISO 4217 currencies and their minor-unit exponents.
//!
//! The table lists every active code of ISO 4217 (list one, as amended through 2025, including
//! the fund codes such as CLF, USN, UYW), except the X-codes whose minor unit ISO gives as
//! "N.A." (precious metals XAU/XAG/XPD/XPT, units XBA–XBD, XDR, XSU, XUA, and XTS). Codes not listed (withdrawn codes, typos, crypto
//! tickers) are *unknown*: amounts in them are converted with exponent 2 and the event is
//! flagged `unknown_currency`, never silently guessed. `XXX` ("no currency") is the documented
//! bucket for amounts given without any currency.

/// Codes whose exponent is 0 (three letters each, run together: no separators to store).
const EXP0: &str = "BIFCLPDJFGNFISKJPYKMFKRWPYGRWFUGXUYIVNDVUVXAFXOFXPF";
/// Codes whose exponent is 3.
const EXP3: &str = "BHDIQDJODKWDLYDOMRTND";
/// Codes whose exponent is 4.
const EXP4: &str = "CLFUYW";
/// Codes whose exponent is 2.
const EXP2: &str = "\
     AEDAFNALLAMDANGAOAARSAUDAWGAZNBAMBBDBDTBGNBMDBNDBOBBOVBRLBSDBTNBWPBYNBZDCADCDFCHECHFCHWCNY\
     COPCOUCRCCUPCVECZKDKKDOPDZDEGPERNETBEURFJDFKPGBPGELGHSGIPGMDGTQGYDHKDHNLHTGHUFIDRILSINRIRR\
     JMDKESKGSKHRKPWKYDKZTLAKLBPLKRLRDLSLMADMDLMGAMKDMMKMNTMOPMRUMURMVRMWKMXNMXVMYRMZNNADNGNNIO\
     NOKNPRNZDPABPENPGKPHPPKRPLNQARRONRSDRUBSARSBDSCRSDGSEKSGDSHPSLESLLSOSSRDSSPSTNSVCSYPSZLTHB\
     TJSTMTTOPTRYTTDTWDTZSUAHUSDUSNUYUUZSVEDVESWSTXCDXCGYERZARZMWZWGZWL";

/// `true` if `code` is one of the three-letter codes run together in `table`.
fn listed(table: &str, code: &str) -> bool {
    table.as_bytes().chunks_exact(3).any(|c| c == code.as_bytes())
}

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
    [EXP0, EXP2, EXP3, EXP4].iter().map(|t| t.len() / 3).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicates_and_only_three_letter_upper_case_codes() {
        let mut all: Vec<&[u8]> = [EXP0, EXP2, EXP3, EXP4].iter().flat_map(|t| t.as_bytes().chunks(3)).collect();
        assert!(all.iter().all(|c| c.len() == 3 && c.iter().all(u8::is_ascii_uppercase)));
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate code in the table");
        assert_eq!(known_count(), 168, "the active ISO 4217 codes that have a minor unit");
    }
}
