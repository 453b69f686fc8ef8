//! Money as vendors write it: amounts as numbers or strings (`"1,234.50"`, `"49.90"`), and
//! currency codes checked against ISO 4217 (a typo such as `USS` is refused, not passed on
//! to every job downstream).

/// The active ISO 4217 alphabetic codes (the standard's list one, plus `XAU`-style units
/// left out: no shop sells in them).
pub const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// An amount in major units: `49.90`, `1,234.50`, `-3.00`; empty is `Some(0.0)` only when
/// `empty_is_zero` (Shopify leaves zero refunds empty). Not finite or not a number: `None`.
#[must_use]
pub fn parse_amount(v: &str, empty_is_zero: bool) -> Option<f64> {
    let t = v.trim();
    if t.is_empty() {
        return empty_is_zero.then_some(0.0);
    }
    t.replace(',', "").parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Checks a currency code; the error says what was expected.
pub fn currency(code: &str) -> Result<String, String> {
    let c = code.trim();
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
        let up = c.to_ascii_uppercase();
        if ISO_4217.binary_search(&up.as_str()).is_ok() {
            return Ok(up);
        }
        return Err(format!("`{c}` is not an ISO 4217 currency code"));
    }
    Err(format!("expected an ISO 4217 currency code such as USD or EUR, got `{c}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_list_is_sorted_and_codes_are_checked() {
        assert!(ISO_4217.windows(2).all(|w| w[0] < w[1]), "binary search needs a sorted list");
        assert_eq!(currency("eur"), Ok("EUR".into()));
        assert!(currency("USS").unwrap_err().contains("not an ISO 4217"));
        assert!(currency("dollars").unwrap_err().contains("expected an ISO 4217"));
    }

    #[test]
    fn amounts_read_strings_with_separators() {
        assert_eq!(parse_amount("1,234.50", false), Some(1234.5));
        assert_eq!(parse_amount("", true), Some(0.0));
        assert_eq!(parse_amount("", false), None);
        assert_eq!(parse_amount("NaN", false), None);
    }
}
